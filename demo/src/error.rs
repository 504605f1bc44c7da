//! What can stop the demo server.

use std::path::PathBuf;

/// Why the demo server could not start, or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The authority (its data, database, keys) failed.
    #[error("authority: {0}")]
    Authority(#[from] authority::AuthorityError),
    /// The demo data (holders, certificates, virtual cards) could not be made or read.
    #[error("demo data: {0}")]
    DemoData(#[from] authority_tools::ToolsError),
    /// The simulated readers could not start.
    #[error("USB bridge: {0}")]
    Bridge(#[from] crate::bridge::BridgeSetupError),
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The data directory is not one this server may use (or wipe).
    #[error("data directory {path}: {reason}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A demo card's state could not be saved.
    #[error("demo card: {0}")]
    Cards(String),
    /// A worker thread could not start.
    #[error("starting a thread: {0}")]
    Thread(String),
}

impl DemoError {
    /// A file error for `path`.
    pub fn file(path: impl Into<PathBuf>, source: std::io::Error) -> DemoError {
        DemoError::File {
            path: path.into(),
            source,
        }
    }
}
