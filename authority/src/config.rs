//! Where the authority listens and keeps its data: flags, or the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The address `serve` listens on unless told otherwise: loopback only.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:8080";
/// The data directory unless told otherwise.
pub const DEFAULT_DATA_DIR: &str = "authority-data";
/// The SQLite file in the data directory when no database URL is given.
pub const DEFAULT_DATABASE_FILE: &str = "authority.sqlite";

/// Where the data lives: the directory (CA key and certificate, identity key, demo cards) and
/// the database.
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    /// Directory holding the CA key and certificate, the identity key, the SQLite file and the
    /// demo cards.
    #[arg(long, env = "AUTHORITY_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Database URL: `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`. Default: the SQLite
    /// file `authority.sqlite` in the data directory.
    #[arg(long, env = "AUTHORITY_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl DataArgs {
    /// The database URL to use.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| default_database_url(&self.data_dir))
    }
}

/// `serve`'s settings.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "AUTHORITY_ADDRESS", default_value = DEFAULT_ADDRESS)]
    pub address: SocketAddr,
    /// Also serve the built app (Trunk's `dist/`) from this directory.
    #[arg(long, env = "AUTHORITY_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// Another web origin allowed to call the API from a browser (CORS), exactly as the browser
    /// names it: the Isolated Web App's `isolated-app://<web bundle ID>`. Repeatable, or
    /// comma-separated in the environment. None by default: only the page served here.
    #[arg(
        long = "allow-origin",
        env = "AUTHORITY_ALLOW_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<crate::cors::AllowedOrigin>,
    /// Data directory and database.
    #[command(flatten)]
    pub data: DataArgs,
}

/// The default database: a SQLite file in the data directory.
pub fn default_database_url(data_dir: &Path) -> String {
    format!(
        "sqlite://{}",
        data_dir.join(DEFAULT_DATABASE_FILE).display()
    )
}
