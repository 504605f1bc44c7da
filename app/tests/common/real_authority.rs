//! The real renewal authority (the `authority` crate's router and storage), in this process,
//! over HTTP on loopback, with a SQLite file in a temporary directory and a clock the test
//! sets; and the page's side of it, an [`AuthorityPort`] that speaks HTTP and decodes answers
//! exactly as the page does ([`decode_answer`]).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::OnceLock;

use app::flow::ports::decode_answer;
use app::flow::{AuthorityError, AuthorityPort};
use authority::ca::CertificateAuthority;
use authority::clock::ManualClock;
use authority::server::RunningServer;
use authority::signer::generate_rsa_key;
use authority::storage::TableCounts;
use authority::Authority;
use authority_tools::demo::{self, CardKeys, DemoCard, DemoCase};
use authority_tools::in_process::{self, InProcessAuthority};
use card::virtual_card::{SharedVirtualCard, VirtualCard};
use renewal::api::{
    CompleteRequest, CompleteResponse, ReceiptRequest, ReceiptResponse, RenewRequest,
    RenewResponse, ResumeRequest, ResumeResponse, ServerInfoResponse, VerdictRequest,
    VerdictResponse, COMPLETE_PATH, RECEIPT_PATH, RENEW_PATH, RESUME_PATH, SERVER_INFO_PATH,
    VERDICT_PATH,
};
use renewal::CardNumber;
use serde::de::DeserializeOwned;
use serde::Serialize;
use time::macros::datetime;
use time::OffsetDateTime;

/// The authority's time when a test starts; the demo cards' validities are relative to it.
pub const START: OffsetDateTime = datetime!(2026-06-01 02:00:00 UTC);

/// The CA key and certificate for every authority in this process.
fn ca_files() -> &'static (Vec<u8>, Vec<u8>) {
    static CA: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    CA.get_or_init(|| {
        let key = generate_rsa_key().unwrap();
        let ca = CertificateAuthority::create(&key).unwrap();
        (key, ca.certificate_der().to_vec())
    })
}

/// Card keys for every test in this process (RSA key generation is slow).
fn card_keys() -> &'static [CardKeys] {
    static KEYS: OnceLock<Vec<CardKeys>> = OnceLock::new();
    KEYS.get_or_init(|| demo::generate_card_keys(1).unwrap())
}

/// A running authority with the demo cards of `cases` on record.
pub struct RealAuthority {
    // Dropped last: the server and the database live in it.
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
    pub clock: ManualClock,
    pub authority: Authority,
    server: Option<RunningServer>,
    pub url: String,
    pub cards: Vec<DemoCard>,
}

impl RealAuthority {
    pub fn start(cases: &[DemoCase]) -> RealAuthority {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (key, certificate) = ca_files();
        let clock = ManualClock::new(START);
        let InProcessAuthority {
            authority,
            server,
            cards,
        } = runtime
            .block_on(in_process::start(
                dir.path(),
                &authority::config::default_database_url(dir.path()),
                key,
                certificate,
                clock.clock(),
                cases,
                card_keys(),
            ))
            .unwrap();
        RealAuthority {
            url: server.url(),
            runtime,
            _dir: dir,
            clock,
            authority,
            server: Some(server),
            cards,
        }
    }

    pub fn card(&self, case: DemoCase) -> &DemoCard {
        self.cards.iter().find(|card| card.case == case).unwrap()
    }

    /// The demo card of `case` as a virtual card a simulated reader can hold.
    pub fn virtual_card(&self, case: DemoCase) -> SharedVirtualCard {
        let card: VirtualCard = self.card(case).virtual_card().unwrap();
        SharedVirtualCard::new(card)
    }

    /// The page's side: HTTP to this authority.
    pub fn port(&self) -> HttpAuthorityPort {
        HttpAuthorityPort {
            base_url: self.url.clone(),
            http: reqwest::Client::new(),
            runtime: self.runtime.handle().clone(),
            outage: Outage::default(),
            calls: Rc::default(),
        }
    }

    /// Rows in the authority's tables.
    pub fn counts(&self) -> TableCounts {
        self.runtime
            .block_on(self.authority.storage().counts())
            .unwrap()
    }

    /// Whether the authority's records hold a renewal of `card_number` that was issued but
    /// whose completion it was never told of.
    pub fn has_unfinished_renewal(&self, card_number: &str) -> bool {
        let card_number = CardNumber::parse(card_number).unwrap();
        self.runtime
            .block_on(
                self.authority
                    .storage()
                    .interrupted_renewal_of_card(&card_number),
            )
            .unwrap()
            .is_some()
    }
}

impl Drop for RealAuthority {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = self.runtime.block_on(server.stop());
        }
    }
}

/// Calls the port fails as if the network were down, shared between a test and the port.
#[derive(Debug, Clone, Default)]
pub struct Outage {
    /// The next this many calls fail before they are sent.
    before_sending: Rc<Cell<u32>>,
    /// The next this many calls are sent and answered, but the answer is lost.
    answers_lost: Rc<Cell<u32>>,
    /// The next call to this path is sent and answered, but the answer is lost.
    answer_lost_of: Rc<RefCell<Option<&'static str>>>,
}

impl Outage {
    pub fn fail_next(&self, calls: u32) {
        self.before_sending.set(calls);
    }

    pub fn lose_next_answers(&self, calls: u32) {
        self.answers_lost.set(calls);
    }

    /// The next call to `path` gets through, but its answer is lost on the way back.
    pub fn lose_answer_of(&self, path: &'static str) {
        *self.answer_lost_of.borrow_mut() = Some(path);
    }

    fn answer_lost(&self, path: &str) -> bool {
        let mut of = self.answer_lost_of.borrow_mut();
        let lost = *of == Some(path);
        if lost {
            *of = None;
        }
        Outage::take(&self.answers_lost) || lost
    }

    fn take(counter: &Cell<u32>) -> bool {
        let left = counter.get();
        counter.set(left.saturating_sub(1));
        left > 0
    }
}

/// An [`AuthorityPort`] over HTTP with `reqwest`, decoding as the page does.
#[derive(Debug, Clone)]
pub struct HttpAuthorityPort {
    base_url: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
    pub outage: Outage,
    /// Requests sent, by path (shared by clones).
    calls: Rc<RefCell<HashMap<String, u32>>>,
}

impl HttpAuthorityPort {
    /// How many requests to `path` were sent (`RENEW_PATH`, ...).
    pub fn calls(&self, path: &str) -> u32 {
        self.calls.borrow().get(path).copied().unwrap_or(0)
    }

    fn call<Q: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: Option<&Q>,
    ) -> Result<R, AuthorityError> {
        if Outage::take(&self.outage.before_sending) {
            return Err(AuthorityError::Unreachable("network down (test)".into()));
        }
        *self.calls.borrow_mut().entry(path.to_owned()).or_default() += 1;
        let url = format!("{}{path}", self.base_url);
        let request = match body {
            Some(body) => self
                .http
                .post(url)
                .header("content-type", "application/json")
                .body(serde_json::to_vec(body).unwrap()),
            None => self.http.get(url),
        };
        let (status, text) = self
            .runtime
            .block_on(async {
                let response = request.send().await?;
                let status = response.status().as_u16();
                Ok::<_, reqwest::Error>((status, response.text().await?))
            })
            .map_err(|error| AuthorityError::Unreachable(error.to_string()))?;
        if self.outage.answer_lost(path) {
            return Err(AuthorityError::Unreachable("answer lost (test)".into()));
        }
        decode_answer(status, &text)
    }
}

impl AuthorityPort for HttpAuthorityPort {
    async fn server_info(&mut self) -> Result<ServerInfoResponse, AuthorityError> {
        self.call::<(), _>(SERVER_INFO_PATH, None)
    }

    async fn verdict(
        &mut self,
        request: &VerdictRequest,
    ) -> Result<VerdictResponse, AuthorityError> {
        self.call(VERDICT_PATH, Some(request))
    }

    async fn renew(&mut self, request: &RenewRequest) -> Result<RenewResponse, AuthorityError> {
        self.call(RENEW_PATH, Some(request))
    }

    async fn complete(
        &mut self,
        request: &CompleteRequest,
    ) -> Result<CompleteResponse, AuthorityError> {
        self.call(COMPLETE_PATH, Some(request))
    }

    async fn resume(&mut self, request: &ResumeRequest) -> Result<ResumeResponse, AuthorityError> {
        self.call(RESUME_PATH, Some(request))
    }

    async fn receipt(
        &mut self,
        request: &ReceiptRequest,
    ) -> Result<ReceiptResponse, AuthorityError> {
        self.call(RECEIPT_PATH, Some(request))
    }
}
