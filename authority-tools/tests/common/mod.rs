//! The test harness: an authority on a loopback port with a temporary SQLite file (or a fresh
//! database on the PostgreSQL server named by `AUTHORITY_TEST_SUITE_POSTGRES_URL`, or the one
//! named by `AUTHORITY_TEST_POSTGRES_URL` for the PostgreSQL test), the demo cards of every case,
//! and a clock the test sets. RSA keys are made once per test process and shared.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use authority::ca::CertificateAuthority;
use authority::clock::ManualClock;
use authority::routes::api_router;
use authority::server::{self, RunningServer};
use authority::signer::{generate_rsa_key, RsaSigner};
use authority::storage::TableCounts;
use authority::Authority;
use authority_tools::demo::{self, CardKeys, DemoCard, DemoCase};
use authority_tools::in_process::{self, InProcessAuthority};
use renewal::api::{
    Base64Bytes, ChallengeOffer, HolderProof, RenewRequest, VerdictRequest, VerdictResponse,
};
use renewal::proof::proof_message;
use renewal::{Birthday, CardNumber, CertificateSerial, CitizenCertificate, NationalId};
use serde::Serialize;
use serde_json::Value;
use time::macros::datetime;
use time::OffsetDateTime;

/// The authority's time when a test starts; demo validities are relative to it.
pub const START: OffsetDateTime = datetime!(2026-06-01 02:00:00 UTC);

/// Two card key pairs for every test in this process.
pub fn card_keys() -> &'static [CardKeys] {
    static KEYS: OnceLock<Vec<CardKeys>> = OnceLock::new();
    KEYS.get_or_init(|| demo::generate_card_keys(2).unwrap())
}

/// The CA key and certificate for every test in this process.
fn ca_files() -> &'static (Vec<u8>, Vec<u8>) {
    static CA: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    CA.get_or_init(|| {
        let key = generate_rsa_key().unwrap();
        let ca = CertificateAuthority::create(&key).unwrap();
        (key, ca.certificate_der().to_vec())
    })
}

/// Another key, for signatures that must not verify.
pub fn stranger_key() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| generate_rsa_key().unwrap())
}

/// The server the whole suite runs on instead of SQLite, when set (the test command's throwaway
/// one, `scripts/with-postgres`).
pub const SUITE_POSTGRES_URL: &str = "AUTHORITY_TEST_SUITE_POSTGRES_URL";

/// A database of a harness's own: a SQLite file in `dir`, or, when [`SUITE_POSTGRES_URL`] names
/// a PostgreSQL server, a new empty database there (each test its own, so they run in parallel).
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    let Ok(server) = std::env::var(SUITE_POSTGRES_URL) else {
        return authority::config::default_database_url(dir);
    };
    create_postgres_database(&server).await
}

/// A new empty database on the PostgreSQL server at `server` (a URL naming any database it
/// has), and its URL.
pub async fn create_postgres_database(server: &str) -> String {
    use sqlx::Connection;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "suite_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut connection = sqlx::PgConnection::connect(server).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
    let (server_base, _database) = server.rsplit_once('/').unwrap();
    format!("{server_base}/{name}")
}

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub database_url: String,
    pub clock: ManualClock,
    pub authority: Authority,
    pub server: Option<RunningServer>,
    pub url: String,
    pub http: reqwest::Client,
    pub cards: Vec<DemoCard>,
}

impl Harness {
    /// A fresh authority on SQLite with every demo card.
    pub async fn start() -> Harness {
        Self::start_on(None).await
    }

    /// A fresh authority on `database_url` (if `None`, a fresh database: see
    /// [`fresh_database_url`]).
    pub async fn start_on(database_url: Option<String>) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let (key, certificate) = ca_files();
        let database_url = match database_url {
            Some(url) => url,
            None => fresh_database_url(dir.path()).await,
        };
        let clock = ManualClock::new(START);
        let InProcessAuthority {
            authority,
            server,
            cards,
        } = in_process::start(
            dir.path(),
            &database_url,
            key,
            certificate,
            clock.clock(),
            &DemoCase::ALL,
            card_keys(),
        )
        .await
        .unwrap();
        Harness {
            url: server.url(),
            dir,
            database_url,
            clock,
            authority,
            server: Some(server),
            http: reqwest::Client::new(),
            cards,
        }
    }

    /// Stops the server, closes the database, and opens both again from the same files.
    pub async fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.unwrap();
        }
        self.authority.storage().close().await;
        self.authority = server::open(self.dir.path(), &self.database_url, self.clock.clock())
            .await
            .unwrap();
        let server = server::spawn(
            api_router(self.authority.clone()),
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        self.url = server.url();
        self.server = Some(server);
    }

    pub fn card(&self, case: DemoCase) -> &DemoCard {
        self.cards.iter().find(|card| card.case == case).unwrap()
    }

    pub async fn counts(&self) -> TableCounts {
        self.authority.storage().counts().await.unwrap()
    }

    /// POSTs JSON; the status and the JSON answer.
    pub async fn post<Q: Serialize>(&self, path: &str, body: &Q) -> (u16, Value) {
        self.post_at(&self.url, path, body).await
    }

    /// POSTs JSON to the authority at `base` (another instance on the same records).
    pub async fn post_at<Q: Serialize>(&self, base: &str, path: &str, body: &Q) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{base}{path}"))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// POSTs raw bytes with a content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// The verdict for a certificate, which must be answered 200.
    pub async fn verdict(&self, certificate: &[u8]) -> VerdictResponse {
        let (status, body) = self
            .post(
                renewal::api::VERDICT_PATH,
                &VerdictRequest {
                    certificate: Base64Bytes(certificate.to_vec()),
                    card_number: None,
                },
            )
            .await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_value(body).unwrap()
    }

    /// The verdict's challenge for a demo card.
    pub async fn challenge(&self, case: DemoCase) -> ChallengeOffer {
        let verdict = self.verdict(&self.card(case).signature_certificate).await;
        verdict
            .challenge
            .unwrap_or_else(|| panic!("no challenge: {:?}", verdict.verdict))
    }

    /// A renew request for a demo card, signed with its signature key, as typed.
    pub fn renew_request(
        &self,
        case: DemoCase,
        offer: &ChallengeOffer,
        national_id: &str,
        birthday: &str,
    ) -> RenewRequest {
        let card = self.card(case);
        renew_request(card, offer, national_id, birthday, &card.keys.signature)
    }

    /// A renew request with the holder's own identity.
    pub fn honest_renew_request(&self, case: DemoCase, offer: &ChallengeOffer) -> RenewRequest {
        let holder = self.card(case).holder.clone();
        self.renew_request(case, offer, &holder.national_id, &holder.birthday)
    }
}

pub fn serial_of(der: &[u8]) -> CertificateSerial {
    CitizenCertificate::from_der(der).unwrap().serial().clone()
}

/// What the card does: RSASSA-PKCS1-v1_5 SHA-256 over the proof bytes with its key.
pub fn sign_proof(
    key_pkcs8: &[u8],
    offer: &ChallengeOffer,
    serial: &CertificateSerial,
    national_id: &str,
    birthday: &str,
) -> Vec<u8> {
    // A typed identity that does not parse is signed as the holder's would be; the authority
    // refuses it before looking at the signature anyway.
    let id =
        NationalId::parse(national_id).unwrap_or_else(|_| NationalId::parse("A123456789").unwrap());
    let birthday =
        Birthday::parse(birthday).unwrap_or_else(|_| Birthday::parse("1990-01-01").unwrap());
    let message = proof_message(&offer.challenge, serial, &id, birthday);
    RsaSigner::from_pkcs8(key_pkcs8)
        .unwrap()
        .sign_pkcs1_sha256(&message)
        .unwrap()
}

pub fn renew_request(
    card: &DemoCard,
    offer: &ChallengeOffer,
    national_id: &str,
    birthday: &str,
    key: &[u8],
) -> RenewRequest {
    let serial = serial_of(&card.signature_certificate);
    RenewRequest {
        challenge_id: offer.challenge_id.clone(),
        proof: HolderProof {
            national_id: national_id.to_owned(),
            birthday: birthday.to_owned(),
            card_signature: Base64Bytes(sign_proof(key, offer, &serial, national_id, birthday)),
        },
        signature_certificate_serial: serial,
        encryption_certificate_serial: serial_of(&card.encryption_certificate),
        card_number: CardNumber::parse(&card.holder.card_number).unwrap(),
    }
}

/// Asserts an error answer's status and code.
pub fn assert_refused(answer: &(u16, Value), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["code"], code, "{}", answer.1);
    assert!(answer.1["message"].is_string(), "{}", answer.1);
}
