//! `authority-tools`: demo data and the load benchmark for the renewal authority.
//! `authority/DEMO.md` shows each command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use authority::config::{DataArgs, ServeArgs};
use authority_tools::bench::{self, BenchArgs};
use authority_tools::{demo, ToolsError};

/// Beside the renewal authority for citizen digital certificates (自然人憑證).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the CA, demo holders and one virtual card per case in a fresh data directory.
    InitDemo(DataArgs),
    /// Measure renewals per second over HTTP against raw RSA signatures per second.
    Bench(BenchArgs),
    /// `authority serve`, exactly (the process the kill test and the bench start).
    Serve(ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    authority::command::run("authority-tools", run(cli.command))
}

async fn run(command: Command) -> Result<(), ToolsError> {
    match command {
        Command::InitDemo(data) => {
            let report = demo::init_demo(&data.data_dir, &data.database_url()).await?;
            print_demo(&report);
            Ok(())
        }
        Command::Bench(args) => {
            let report = bench::run(&args).await?;
            println!("{report}");
            Ok(())
        }
        Command::Serve(args) => Ok(authority::server::serve(&args).await?),
    }
}

fn print_demo(report: &demo::InitDemoReport) {
    println!("data directory: {}", report.data_dir.display());
    println!("database:       {}", report.database_url);
    println!();
    println!(
        "{:<24} {:<8} {:<12} {:<12} {:<8} {:<18} validity (UTC)",
        "case", "holder", "ID number", "birthday", "PIN", "card number"
    );
    for card in &report.cards {
        println!(
            "{:<24} {:<5} {:<12} {:<12} {:<8} {:<18} {} → {}",
            card.case_name(),
            card.holder.name,
            card.holder.national_id,
            card.holder.birthday,
            card.holder.pin,
            card.holder.card_number,
            card.validity.not_before.date(),
            card.validity.not_after.date(),
        );
    }
    println!();
    for file in &report.card_files {
        println!("wrote {}", file.display());
    }
}
