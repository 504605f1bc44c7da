//! An authority with demo cards, in this process, on a loopback port: what the end-to-end tests
//! of the authority and of the page start for each test.

use std::path::Path;

use authority::ca::{CA_CERTIFICATE_FILE, CA_KEY_FILE};
use authority::clock::Clock;
use authority::routes::api_router;
use authority::server::{self, RunningServer};
use authority::{files, Authority};

use crate::demo::{self, CardKeys, DemoCard, DemoCase};
use crate::error::ToolsError;

/// A running authority and the demo cards on its records.
pub struct InProcessAuthority {
    /// The service.
    pub authority: Authority,
    /// Its HTTP API on `127.0.0.1`, on a port the system chose.
    pub server: RunningServer,
    /// The demo cards of the cases asked for.
    pub cards: Vec<DemoCard>,
}

/// Starts an authority in `dir` on the records at `database_url`, with the CA key and
/// certificate given (made once per test process: RSA key generation is slow), the demo cards
/// of `cases` (with `keys`) and `clock`.
pub async fn start(
    dir: &Path,
    database_url: &str,
    ca_key: &[u8],
    ca_certificate: &[u8],
    clock: Clock,
    cases: &[DemoCase],
    keys: &[CardKeys],
) -> Result<InProcessAuthority, ToolsError> {
    files::write_private(&dir.join(CA_KEY_FILE), ca_key)?;
    files::write_public(&dir.join(CA_CERTIFICATE_FILE), ca_certificate)?;
    let authority = server::open(dir, database_url, clock).await?;
    let cards = demo::create_cards(&authority, cases, keys).await?;
    let address = ([127, 0, 0, 1], 0).into();
    let server = server::spawn(api_router(authority.clone()), address).await?;
    Ok(InProcessAuthority {
        authority,
        server,
        cards,
    })
}
