//! `authority`: the renewal authority service. Demo data and the load benchmark are
//! `authority-tools`'; `DEMO.md` shows each command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use authority::config::ServeArgs;
use authority::{server, AuthorityError};

/// The renewal authority for citizen digital certificates (自然人憑證).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (and optionally the built app).
    Serve(ServeArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("authority: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("authority: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), AuthorityError> {
    match command {
        Command::Serve(args) => server::serve(&args).await,
    }
}
