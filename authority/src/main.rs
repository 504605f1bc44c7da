//! `authority`: the renewal authority service. Demo data and the load benchmark are
//! `authority-tools`'; `DEMO.md` shows each command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    let cli = Cli::parse();
    authority::command::run("authority", run(cli.command))
}

async fn run(command: Command) -> Result<(), AuthorityError> {
    match command {
        Command::Serve(args) => server::serve(&args).await,
    }
}
