//! `authority-tools bench`: renewals per second over real HTTP, against the machine's raw RSA-2048
//! signatures per second with the same signer, in the same run.
//!
//! It starts the authority on loopback with a fresh SQLite database in a temporary directory,
//! records N holders with in-window certificates (all cards share one pre-made key pair: the
//! authority's work does not depend on it), then C clients each run whole renewals — verdict,
//! the card's signature (made here with the card key, as the card would), renew, complete —
//! until N are done. It prints renewals/s, p50 and p99 latency of a whole renewal, the raw
//! signatures/s on all cores with `ring` (the issuance signer) and on one core with the
//! RustCrypto `rsa` crate for comparison, and the ratio renewals/s ÷ (signatures/s ÷ 2): each
//! renewal signs two certificates, so 1.0 would mean nothing but those two signatures cost
//! anything. The clients' own signatures (one per renewal) run on the same cores.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use renewal::api::{
    Base64Bytes, CompleteRequest, HolderProof, RenewRequest, RenewResponse, VerdictRequest,
    VerdictResponse, COMPLETE_PATH, RENEW_PATH, VERDICT_PATH,
};
use renewal::proof::proof_message;
use renewal::{Birthday, CardNumber, CertificateStatus, CitizenCertificate, KeyRole, NationalId};
use time::{Duration, OffsetDateTime};

use authority::clock::Clock;
use authority::issuance::{self, citizen_subject, CertificateOrder};
use authority::routes::api_router;
use authority::signer::RsaSigner;
use authority::storage::NewCertificate;
use authority::Authority;

use crate::demo::{
    fictional_national_id, generate_card_keys, second_generation_validity, CardKeys,
};
use crate::error::ToolsError;

/// `bench`'s settings.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Renewals to drive.
    #[arg(long, default_value_t = 1000)]
    pub renewals: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Seconds spent measuring raw signatures per second.
    #[arg(long, default_value_t = 3)]
    pub signature_seconds: u64,
}

/// The figures of one run.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Renewals done.
    pub renewals: usize,
    /// Concurrent clients.
    pub clients: usize,
    /// Wall time of the renewals.
    pub elapsed: StdDuration,
    /// Renewals per second.
    pub renewals_per_second: f64,
    /// Median latency of a whole renewal (verdict, renew, complete).
    pub p50: StdDuration,
    /// 99th percentile latency.
    pub p99: StdDuration,
    /// Threads used for the raw signature rate.
    pub signature_threads: usize,
    /// Raw RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second with `ring`, all threads.
    pub signatures_per_second: f64,
    /// The same on one thread.
    pub signatures_per_second_one_thread: f64,
    /// The RustCrypto `rsa` crate's signatures per second on one thread.
    pub rustcrypto_signatures_per_second_one_thread: f64,
}

impl BenchReport {
    /// renewals/s ÷ (signatures/s ÷ 2).
    pub fn ratio(&self) -> f64 {
        self.renewals_per_second / (self.signatures_per_second / 2.0)
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "renewals:            {} by {} clients in {:.2} s (verdict + renew + complete over HTTP)",
            self.renewals,
            self.clients,
            self.elapsed.as_secs_f64()
        )?;
        writeln!(f, "renewals/s:          {:.1}", self.renewals_per_second)?;
        writeln!(
            f,
            "latency p50:         {:.1} ms",
            self.p50.as_secs_f64() * 1000.0
        )?;
        writeln!(
            f,
            "latency p99:         {:.1} ms",
            self.p99.as_secs_f64() * 1000.0
        )?;
        writeln!(
            f,
            "RSA-2048 signatures/s (ring, {} threads): {:.0}",
            self.signature_threads, self.signatures_per_second
        )?;
        writeln!(
            f,
            "RSA-2048 signatures/s (ring, 1 thread):   {:.0}",
            self.signatures_per_second_one_thread
        )?;
        writeln!(
            f,
            "RSA-2048 signatures/s (RustCrypto rsa, 1 thread): {:.0} ({:.1}× slower than ring)",
            self.rustcrypto_signatures_per_second_one_thread,
            self.signatures_per_second_one_thread
                / self.rustcrypto_signatures_per_second_one_thread
        )?;
        write!(
            f,
            "ratio renewals/s ÷ (signatures/s ÷ 2): {:.2} (target ≥ 0.5)",
            self.ratio()
        )
    }
}

/// One bench card: what a client needs to renew it.
struct BenchCard {
    signature_certificate: Vec<u8>,
    encryption_serial: renewal::CertificateSerial,
    national_id: NationalId,
    birthday: Birthday,
    card_number: CardNumber,
}

/// Runs the bench (see the module documentation).
pub async fn run(args: &BenchArgs) -> Result<BenchReport, ToolsError> {
    let renewals = args.renewals.max(1);
    let clients = args.clients.clamp(1, renewals);
    let data_dir = scratch_directory()?;
    let result = run_in(&data_dir, renewals, clients, args.signature_seconds).await;
    // The scratch database is of no further use.
    let _ = std::fs::remove_dir_all(&data_dir);
    result
}

async fn run_in(
    data_dir: &std::path::Path,
    renewals: usize,
    clients: usize,
    signature_seconds: u64,
) -> Result<BenchReport, ToolsError> {
    let now = OffsetDateTime::now_utc();
    let url = authority::config::default_database_url(data_dir);
    let authority = authority::server::open(data_dir, &url, Clock::system()).await?;
    eprintln!("bench: preparing {renewals} holders and their certificates…");
    let keys = tokio::task::spawn_blocking(|| generate_card_keys(1))
        .await
        .map_err(|error| ToolsError::Worker(error.to_string()))??;
    let card_key = keys
        .first()
        .ok_or_else(|| ToolsError::Worker("no bench key".into()))?
        .clone();
    let cards = prepare_cards(&authority, &card_key, renewals, now).await?;

    let signer = Arc::new(RsaSigner::from_pkcs8(&card_key.signature)?);
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let seconds = StdDuration::from_secs(signature_seconds.max(1));
    eprintln!("bench: measuring raw RSA-2048 signatures…");
    let (all_threads, one_thread, rustcrypto) = {
        let signer = Arc::clone(&signer);
        let key = card_key.signature.clone();
        tokio::task::spawn_blocking(move || {
            let all = signatures_per_second(&signer, threads, seconds);
            let one = signatures_per_second(&signer, 1, seconds);
            let rustcrypto = rustcrypto_signatures_per_second(&key, seconds);
            (all, one, rustcrypto)
        })
        .await
        .map_err(|error| ToolsError::Worker(error.to_string()))?
    };

    let server = authority::server::spawn(
        api_router(authority.clone()),
        "127.0.0.1:0"
            .parse()
            .map_err(|_| ToolsError::Bench("address".into()))?,
    )
    .await?;
    eprintln!(
        "bench: {renewals} renewals, {clients} clients, on {}…",
        server.url()
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .map_err(|error| ToolsError::Bench(error.to_string()))?;
    let cards = Arc::new(cards);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (http, cards, next, signer, base) = (
            http.clone(),
            Arc::clone(&cards),
            Arc::clone(&next),
            Arc::clone(&signer),
            server.url(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(card) = cards.get(index) else {
                    return Ok::<_, ToolsError>(latencies);
                };
                let begun = Instant::now();
                renew_one(&http, &base, card, &signer).await?;
                latencies.push(begun.elapsed());
            }
        }));
    }
    let mut latencies = Vec::with_capacity(renewals);
    for task in tasks {
        latencies.extend(
            task.await
                .map_err(|error| ToolsError::Worker(error.to_string()))??,
        );
    }
    let elapsed = started.elapsed();
    server.stop().await?;
    let recorded = authority.storage().counts().await?.renewals;
    authority.storage().close().await;
    if usize::try_from(recorded).ok() != Some(renewals) {
        return Err(ToolsError::Bench(format!(
            "{renewals} renewals driven, {recorded} recorded"
        )));
    }
    latencies.sort();
    Ok(BenchReport {
        renewals,
        clients,
        elapsed,
        renewals_per_second: renewals as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 50),
        p99: percentile(&latencies, 99),
        signature_threads: threads,
        signatures_per_second: all_threads,
        signatures_per_second_one_thread: one_thread,
        rustcrypto_signatures_per_second_one_thread: rustcrypto,
    })
}

/// Records `count` holders, each with an in-window certificate pair.
async fn prepare_cards(
    authority: &Authority,
    key: &CardKeys,
    count: usize,
    now: OffsetDateTime,
) -> Result<Vec<BenchCard>, ToolsError> {
    let validity = second_generation_validity(now + Duration::days(30));
    let signature_key = RsaSigner::from_pkcs8(&key.signature)?.public_key().spki()?;
    let encryption_key = RsaSigner::from_pkcs8(&key.encryption)?
        .public_key()
        .spki()?;
    let birthday =
        Birthday::parse("1980-01-01").map_err(|error| ToolsError::Bench(error.to_string()))?;
    let mut cards = Vec::with_capacity(count);
    let mut certificates = Vec::with_capacity(2 * count);
    for index in 0..count {
        let national_id = NationalId::parse(&fictional_national_id('B', index as u64 + 1))
            .map_err(|error| ToolsError::Bench(error.to_string()))?;
        let holder_id = authority
            .storage()
            .upsert_holder(
                &authority.identity_key().national_id_hash(&national_id),
                birthday,
                now,
            )
            .await?;
        let card_number = CardNumber::parse(&format!("BN{:014}", index + 1))
            .map_err(|error| ToolsError::Bench(error.to_string()))?;
        let subject = citizen_subject(
            "測試者",
            &format!("{:016}", 8_800_000_000_000_000u64 + index as u64),
        )?;
        let mut pair = Vec::new();
        for (role, public_key) in [
            (KeyRole::Signature, &signature_key),
            (KeyRole::Encryption, &encryption_key),
        ] {
            let der = issuance::issue(
                authority.ca(),
                &CertificateOrder {
                    subject: subject.clone(),
                    public_key: public_key.clone(),
                    role,
                    id_last_four: national_id.last_four().to_owned(),
                    validity,
                },
            )?;
            let parsed = CitizenCertificate::from_der(&der)
                .map_err(|error| ToolsError::Bench(error.to_string()))?;
            pair.push(parsed.serial().clone());
            certificates.push(NewCertificate {
                serial: parsed.serial().clone(),
                holder_id,
                card_number: card_number.clone(),
                role,
                status: CertificateStatus::Valid,
                validity,
                der: der.clone(),
            });
        }
        let signature_der = certificates
            .get(certificates.len() - 2)
            .map(|certificate| certificate.der.clone())
            .unwrap_or_default();
        cards.push(BenchCard {
            signature_certificate: signature_der,
            encryption_serial: pair
                .get(1)
                .cloned()
                .ok_or_else(|| ToolsError::Bench("bench pair".into()))?,
            national_id,
            birthday,
            card_number,
        });
    }
    authority
        .storage()
        .insert_certificates(&certificates, now)
        .await?;
    Ok(cards)
}

/// One whole renewal as the page does it: verdict, the card's signature, renew, complete.
async fn renew_one(
    http: &reqwest::Client,
    base: &str,
    card: &BenchCard,
    signer: &RsaSigner,
) -> Result<(), ToolsError> {
    let verdict: VerdictResponse = post(
        http,
        &format!("{base}{VERDICT_PATH}"),
        &VerdictRequest {
            certificate: Base64Bytes(card.signature_certificate.clone()),
            card_number: None,
        },
    )
    .await?;
    let offer = verdict
        .challenge
        .ok_or_else(|| ToolsError::Bench(format!("no challenge: {:?}", verdict.verdict)))?;
    let serial = verdict.certificate_serial;
    let message = proof_message(&offer.challenge, &serial, &card.national_id, card.birthday);
    let renewed: RenewResponse = post(
        http,
        &format!("{base}{RENEW_PATH}"),
        &RenewRequest {
            challenge_id: offer.challenge_id,
            proof: HolderProof {
                national_id: card.national_id.as_str().to_owned(),
                birthday: card.birthday.normalized(),
                card_signature: Base64Bytes(signer.sign_pkcs1_sha256(&message)?),
            },
            signature_certificate_serial: serial,
            encryption_certificate_serial: card.encryption_serial.clone(),
            card_number: card.card_number.clone(),
        },
    )
    .await?;
    let serial_of = |der: &[u8]| {
        CitizenCertificate::from_der(der)
            .map(|certificate| certificate.serial().clone())
            .map_err(|error| ToolsError::Bench(error.to_string()))
    };
    let _: serde_json::Value = post(
        http,
        &format!("{base}{COMPLETE_PATH}"),
        &CompleteRequest {
            renewal_number: renewed.renewal_number,
            signature_certificate_serial: serial_of(&renewed.signature_certificate.0)?,
            encryption_certificate_serial: serial_of(&renewed.encryption_certificate.0)?,
        },
    )
    .await?;
    Ok(())
}

async fn post<Q: serde::Serialize, R: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    body: &Q,
) -> Result<R, ToolsError> {
    let network = |error: reqwest::Error| ToolsError::Bench(error.to_string());
    let response = http.post(url).json(body).send().await.map_err(network)?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(network)?;
    if !status.is_success() {
        return Err(ToolsError::Bench(format!(
            "{url}: {status}: {}",
            String::from_utf8_lossy(&bytes)
        )));
    }
    serde_json::from_slice(&bytes).map_err(|error| ToolsError::Bench(format!("{url}: {error}")))
}

/// Signatures per second with `threads` threads signing for `duration`.
fn signatures_per_second(signer: &RsaSigner, threads: usize, duration: StdDuration) -> f64 {
    let message = [0x5Au8; 64];
    let started = Instant::now();
    let total: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut count = 0usize;
                    while started.elapsed() < duration {
                        if signer.sign_pkcs1_sha256(&message).is_ok() {
                            count += 1;
                        }
                    }
                    count
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or(0))
            .sum()
    });
    total as f64 / started.elapsed().as_secs_f64()
}

/// The RustCrypto `rsa` crate's signatures per second on one thread, for comparison.
fn rustcrypto_signatures_per_second(key_pkcs8: &[u8], duration: StdDuration) -> f64 {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::Signer;
    let Ok(key) = rsa::PrivateKey::from_pkcs8_der(key_pkcs8) else {
        return 0.0;
    };
    let signing_key = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
    let message = [0x5Au8; 64];
    let started = Instant::now();
    let mut count = 0usize;
    while started.elapsed() < duration {
        let _signature: rsa::pkcs1v15::Signature = signing_key.sign(&message);
        count += 1;
    }
    count as f64 / started.elapsed().as_secs_f64()
}

fn percentile(sorted: &[StdDuration], percent: usize) -> StdDuration {
    if sorted.is_empty() {
        return StdDuration::ZERO;
    }
    let rank = (sorted.len() * percent).div_ceil(100).saturating_sub(1);
    sorted.get(rank).copied().unwrap_or(StdDuration::ZERO)
}

fn scratch_directory() -> Result<PathBuf, ToolsError> {
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    let path = std::env::temp_dir().join(format!("authority-bench-{}-{nanos}", std::process::id()));
    authority::files::create_dir(&path)?;
    Ok(path)
}
