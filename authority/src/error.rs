//! Failures of the authority itself (storage, files, keys, encoding), as opposed to refusals
//! of a request, which are [`renewal::ApiError`]s with a code.

use std::path::PathBuf;

use thiserror::Error;

/// Something in the authority failed; the request that met it is answered `internal`.
#[derive(Debug, Error)]
pub enum AuthorityError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A batch of writes failed to commit; nothing in it was recorded.
    #[error("database: a batch of writes failed, nothing in it was recorded: {0}")]
    Commit(std::sync::Arc<sqlx::Error>),
    /// The database writer's thread could not be started.
    #[error("database: starting the writer: {0}")]
    WriterStart(std::io::Error),
    /// The database writer has stopped (the storage was closed); nothing was written.
    #[error("database: the writer has stopped (storage closed); nothing was written")]
    WriterStopped,
    /// The read connections are closed (the storage was closed).
    #[error("database: the read connections are closed (storage closed)")]
    ReadersClosed,
    /// The schema migrations failed.
    #[error("database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A file in the data directory could not be read or written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A key is unusable.
    #[error("key: {0}")]
    Key(String),
    /// Building or encoding a certificate failed.
    #[error("certificate: {0}")]
    Certificate(String),
    /// Signing failed.
    #[error("signing failed")]
    Signing,
    /// The random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// Stored data contradicts itself (a record the schema should have prevented).
    #[error("inconsistent records: {0}")]
    Inconsistent(String),
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// Networking (binding the listener).
    #[error("network: {0}")]
    Network(String),
}

impl AuthorityError {
    /// A file error for `path`.
    pub fn file(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::File {
            path: path.into(),
            source,
        }
    }
}

impl From<der::Error> for AuthorityError {
    fn from(error: der::Error) -> Self {
        Self::Certificate(error.to_string())
    }
}

impl From<x509_cert::builder::Error> for AuthorityError {
    fn from(error: x509_cert::builder::Error) -> Self {
        Self::Certificate(error.to_string())
    }
}
