//! `authority bench`: renewals per second over real HTTP, against the machine's raw RSA
//! signatures per second with the same signer.
use std::fmt;

/// `bench`'s settings.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Renewals to drive.
    #[arg(long, default_value_t = 400)]
    pub renewals: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
}

/// The figures.
#[derive(Debug, Clone)]
pub struct BenchReport {}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "")
    }
}

/// Runs the bench.
pub async fn run(_args: &BenchArgs) -> Result<BenchReport, crate::AuthorityError> {
    Ok(BenchReport {})
}
