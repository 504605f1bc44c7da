//! How the service's command-line programs (`authority`, `authority-tools`) run: logs to
//! stderr (`RUST_LOG`, default `info,sqlx=warn`), one Tokio runtime, and an exit status that
//! says whether the command succeeded, with the error on stderr.

use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

/// Runs `command` as the program `program` and returns its exit status.
pub fn run<E: Display>(program: &str, command: impl Future<Output = Result<(), E>>) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{program}: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{program}: {error}");
            ExitCode::FAILURE
        }
    }
}
