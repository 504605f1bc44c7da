//! `demo`: the no-hardware demo server (authority with demo data, simulated readers with the
//! demo cards, the page with a demo panel), in one process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use demo::server::{Config, DemoServer};
use tracing_subscriber::EnvFilter;

/// The citizen certificate renewal, without hardware: the authority with its demo data,
/// simulated card readers holding the demo cards, and the page (from `--dist`) with a demo
/// panel to insert them.
#[derive(Debug, Parser)]
#[command(name = "demo", version)]
struct Cli {
    /// Where to listen (port 0: any free port; the line `demo server at …` tells which).
    #[arg(long, env = "DEMO_ADDRESS", default_value = "127.0.0.1:8080")]
    address: SocketAddr,
    /// The data directory: authority records, CA, demo cards (made on first start).
    #[arg(long, env = "DEMO_DATA_DIR", default_value = "demo-data")]
    data_dir: PathBuf,
    /// Trunk's release build of the page (`trunk build --release`).
    #[arg(long, env = "DEMO_DIST", default_value = "dist")]
    dist: PathBuf,
    /// Start over: new demo data (the data directory is wiped, if it holds demo data).
    #[arg(long)]
    fresh: bool,
    /// Another origin allowed to call the authority's API (CORS), such as the Isolated Web
    /// App's `isolated-app://<web bundle ID>`. Repeatable.
    #[arg(long = "allow-origin")]
    allowed_origins: Vec<authority::cors::AllowedOrigin>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = Config {
        address: cli.address,
        data_dir: cli.data_dir,
        dist: cli.dist,
        fresh: cli.fresh,
        allowed_origins: cli.allowed_origins,
    };
    let server = match DemoServer::start(&config).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("demo: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Listening before the address is printed: whoever reads it may press Ctrl-C at once, and
    // a signal that comes before the handler is installed kills the server uncleanly.
    let stop = Stop::listen();
    print_guidance(&server);
    stop.wait().await;
    tracing::info!("stopping");
    match server.stop().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo: stopping: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The line tests parse, then what a visitor needs (the demo PIN is meant to be read).
fn print_guidance(server: &DemoServer) {
    let url = server.url();
    println!("demo server at {url}");
    println!(
        "  Open it in Chromium; the 示範控制台 Demo controls panel (bottom right) inserts cards."
    );
    if let Some(card) = server.renewable_card() {
        let holder = &card.holder;
        println!(
            "  To renew, insert {}'s card `{}`: ID {}, birthday {}, PIN {}.",
            holder.name,
            card.case_name(),
            holder.national_id,
            holder.birthday,
            holder.pin
        );
    }
    println!("  Every demo holder: {url}demo/cards.json");
    println!(
        "  Browser: {url}?usb=protected-class (ordinary tab, default), ?usb=normal (kiosk), \
         ?usb=no-webusb (Firefox/Safari); &choose=ez100pu|tpdu-t1|extended-apdu picks the reader."
    );
    println!("  Ctrl-C stops it; the cards' states are kept in the data directory.");
}

/// Ctrl-C, or a service manager's SIGTERM, listened for from the moment it is made.
struct Stop {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Stop {
    fn listen() -> Stop {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let signals = match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(interrupt), Ok(terminate)) => Some((interrupt, terminate)),
                (Err(error), _) | (_, Err(error)) => {
                    tracing::warn!(%error, "signals cannot be caught; Ctrl-C still stops");
                    None
                }
            };
            Stop { signals }
        }
        #[cfg(not(unix))]
        Stop {}
    }

    async fn wait(self) {
        #[cfg(unix)]
        if let Some((mut interrupt, mut terminate)) = self.signals {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot wait for Ctrl-C; stopping");
        }
    }
}
