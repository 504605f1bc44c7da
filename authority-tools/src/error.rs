//! What can go wrong making demo data or running the bench.

/// Why a tool failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolsError {
    /// The authority (its data, database, CA, keys) failed.
    #[error("authority: {0}")]
    Authority(#[from] authority::AuthorityError),
    /// A demo holder, certificate or card could not be made or read.
    #[error("demo data: {0}")]
    DemoData(String),
    /// A virtual card could not be made or read.
    #[error("virtual card: {0}")]
    Card(String),
    /// A bench request failed, or the authority answered what a renewal does not.
    #[error("bench: {0}")]
    Bench(String),
    /// A worker (thread or task) failed.
    #[error("worker failed: {0}")]
    Worker(String),
}
