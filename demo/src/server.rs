//! The demo server in one process: the authority with its demo data under `/api/v1/…`, the
//! simulated readers and the demo cards behind the USB bridge, and the page with the stand-in
//! and the demo panel.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use authority::clock::Clock;
use authority::server::RunningServer;
use authority::Authority;
use authority_tools::demo::{load_index, DemoCardEntry, DemoCase};
use ccid::sim::SimReaderConfig;

use crate::bridge::{Bridge, DemoReader};
use crate::cards::{CardSheet, CardStore, StoredCards};
use crate::data::{self, Prepared};
use crate::error::DemoError;
use crate::page;

/// The vendor-class reader (works in an ordinary Chromium tab).
pub const EZ100PU: &str = "ez100pu";
/// A standard (class 0x0B) TPDU-level reader: the driver runs T=1 itself.
pub const TPDU_T1: &str = "tpdu-t1";
/// A standard (class 0x0B) extended-APDU reader.
pub const EXTENDED_APDU: &str = "extended-apdu";

/// How long stopping waits for requests in flight.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// How to run the demo server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where to listen (port 0: any free port).
    pub address: SocketAddr,
    /// The data directory (authority records, CA, demo cards).
    pub data_dir: PathBuf,
    /// Trunk's output: the release build of the page.
    pub dist: PathBuf,
    /// Start over with new demo data.
    pub fresh: bool,
    /// Other origins allowed to call the authority's API (an Isolated Web App's).
    pub allowed_origins: Vec<authority::cors::AllowedOrigin>,
}

/// The simulated readers, all empty, with ids stable across restarts (the panel and the
/// browser tests name them).
pub fn readers() -> Vec<DemoReader> {
    vec![
        DemoReader::new(EZ100PU, SimReaderConfig::ez100pu())
            .named("Castles Technology", "EZ100PU (simulated)"),
        DemoReader::new(TPDU_T1, SimReaderConfig::tpdu())
            .named("Simulated", "CCID TPDU reader, T=1 (class 0x0B)"),
        DemoReader::new(EXTENDED_APDU, SimReaderConfig::extended_apdu())
            .named("Simulated", "CCID extended-APDU reader (class 0x0B)"),
    ]
}

/// A running demo server.
#[derive(Debug)]
pub struct DemoServer {
    http: RunningServer,
    authority: Authority,
    bridge: Bridge,
    store: Arc<CardStore>,
    cards: Vec<DemoCardEntry>,
    prepared: Prepared,
}

impl DemoServer {
    /// Prepares the data directory (first start or `fresh`: new demo data), then serves.
    pub async fn start(config: &Config) -> Result<DemoServer, DemoError> {
        let prepared = data::prepare(&config.data_dir, config.fresh).await?;
        let authority = authority::server::open(
            &config.data_dir,
            &data::database_url(&config.data_dir),
            Clock::system(),
        )
        .await?;
        let cards_dir = data::cards_dir(&config.data_dir);
        let cards = load_index(&cards_dir)?;
        let store = CardStore::start(&cards_dir)?;
        let bridge = Bridge::start(
            readers(),
            StoredCards::new(cards.clone(), Arc::clone(&store)),
        )?;
        let sheets = cards.iter().map(CardSheet::new).collect();
        let api = authority::cors::allow_origins(
            authority::routes::api_router(authority.clone()),
            &config.allowed_origins,
        );
        let router = api
            .merge(bridge.router())
            .merge(page::router(config.dist.clone(), sheets));
        let http = authority::server::spawn(router, config.address).await?;
        if !config.dist.join("index.html").is_file() {
            tracing::warn!(
                dist = %config.dist.display(),
                "no index.html in the dist directory: build the page with `trunk build --release`"
            );
        }
        tracing::info!(
            address = %http.address,
            data_dir = %config.data_dir.display(),
            dist = %config.dist.display(),
            ?prepared,
            "demo server running"
        );
        Ok(DemoServer {
            http,
            authority,
            bridge,
            store,
            cards,
            prepared,
        })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.http.address
    }

    /// The page's URL, `http://ADDRESS/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.http.address)
    }

    /// Whether this start made the demo data or found it.
    pub fn prepared(&self) -> Prepared {
        self.prepared
    }

    /// The demo cards (the authority's index: case, holder, serials, validity).
    pub fn cards(&self) -> &[DemoCardEntry] {
        &self.cards
    }

    /// The card to try a renewal with.
    pub fn renewable_card(&self) -> Option<&DemoCardEntry> {
        self.cards
            .iter()
            .find(|entry| entry.case == DemoCase::InWindow)
    }

    /// The USB bridge (its readers).
    pub fn bridge(&self) -> &Bridge {
        &self.bridge
    }

    /// Stops serving, saves the cards' states, closes the database.
    pub async fn stop(self) -> Result<(), DemoError> {
        match tokio::time::timeout(STOP_GRACE, self.http.stop()).await {
            Ok(result) => result?,
            Err(_) => tracing::warn!("requests still running at stop; not waiting for them"),
        }
        // A round trip through the bridge's thread: every command it had begun has finished,
        // and the changes it made are with the store.
        let _ = self.bridge.with_reader("", |_| ()).await;
        let store = Arc::clone(&self.store);
        let saved = tokio::task::spawn_blocking(move || store.stop())
            .await
            .map_err(|error| DemoError::Thread(error.to_string()))??;
        tracing::info!(saved, "demo cards saved");
        self.authority.storage().close().await;
        Ok(())
    }
}
