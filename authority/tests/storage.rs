//! The records on their own (SQLite): a write that fails in a group commit fails alone, and
//! challenges long expired are purged by the next one offered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use authority::audit::AuditEntry;
use authority::storage::{ChallengeRecord, NewCertificate, Storage};
use renewal::{Birthday, CardNumber, CertificateSerial, CertificateStatus, KeyRole, Validity};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-06-01 02:00:00 UTC);

async fn storage() -> (tempfile::TempDir, Storage) {
    let (dir, storage, _) = storage_at().await;
    (dir, storage)
}

/// The storage, and its database URL for a connection of the test's own.
async fn storage_at() -> (tempfile::TempDir, Storage, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = authority::config::default_database_url(dir.path());
    let storage = Storage::connect(&url).await.unwrap();
    (dir, storage, url)
}

/// A certificate record; the records never read the DER, so any bytes do.
fn certificate(serial: u8, holder_id: i64) -> NewCertificate {
    NewCertificate {
        serial: CertificateSerial::from_der_integer_bytes(&[0x40, serial]),
        holder_id,
        card_number: CardNumber::parse("DM00000000000001").unwrap(),
        role: KeyRole::Signature,
        status: CertificateStatus::Valid,
        validity: Validity {
            not_before: NOW - Duration::days(365),
            not_after: NOW + Duration::days(20),
        },
        der: vec![serial],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_fails_in_a_batch_fails_alone() {
    let (_dir, storage) = storage().await;
    let holder = storage
        .upsert_holder(&[7; 32], Birthday::parse("1980-01-15").unwrap(), NOW)
        .await
        .unwrap();
    storage
        .insert_certificate(&certificate(1, holder), NOW)
        .await
        .unwrap();

    // Sent together, so that they are committed together; the last repeats serial 1, which
    // the unique constraint refuses.
    let mut certificates: Vec<NewCertificate> =
        (2..40).map(|serial| certificate(serial, holder)).collect();
    certificates.push(certificate(1, holder));
    let results = futures_util::future::join_all(
        certificates
            .iter()
            .map(|certificate| storage.insert_certificate(certificate, NOW)),
    )
    .await;

    let (duplicate, others) = results.split_last().unwrap();
    assert!(duplicate.is_err(), "{duplicate:?}");
    assert!(others.iter().all(Result::is_ok), "{others:?}");
    assert_eq!(storage.counts().await.unwrap().certificates, 39);
    storage.close().await;
}

#[tokio::test]
async fn challenges_expired_over_a_day_ago_are_purged_by_the_next_offer() {
    let (_dir, storage) = storage().await;
    let holder = storage
        .upsert_holder(&[7; 32], Birthday::parse("1980-01-15").unwrap(), NOW)
        .await
        .unwrap();
    let certificate_id = storage
        .insert_certificate(&certificate(1, holder), NOW)
        .await
        .unwrap();
    let offer = |id: &str, created_at: OffsetDateTime| {
        let challenge = ChallengeRecord {
            id: id.into(),
            certificate_id,
            challenge: vec![0; 32],
            created_at,
            expires_at: created_at + Duration::minutes(10),
            used_at: None,
            request_fingerprint: None,
        };
        let storage = storage.clone();
        async move {
            storage
                .insert_challenge(
                    &challenge,
                    &AuditEntry::new("verdict", created_at, None).detail("challenge offered"),
                )
                .await
                .unwrap();
        }
    };

    offer("old", NOW - Duration::days(3)).await;
    // Three days on: "old" expired long ago and goes; "recent" expires within the day.
    offer("recent", NOW - Duration::hours(12)).await;
    assert!(storage
        .challenge_context("old", None)
        .await
        .unwrap()
        .is_none());
    assert!(storage
        .challenge_context("recent", None)
        .await
        .unwrap()
        .is_some());
    // Twelve hours on, "recent" has been expired for less than a day: it stays (a late
    // request still hears "expired").
    offer("new", NOW).await;
    assert!(storage
        .challenge_context("recent", None)
        .await
        .unwrap()
        .is_some());
    let counts = storage.counts().await.unwrap();
    assert_eq!(counts.challenges, 2);
    // The audit log keeps every offer.
    assert_eq!(counts.audit_log, 3);
    storage.close().await;
}

#[tokio::test]
async fn the_audit_log_is_append_only() {
    let (_dir, storage, url) = storage_at().await;
    storage
        .audit(&AuditEntry::new("verdict", NOW, None).detail("a line"))
        .await
        .unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for statement in [
        "UPDATE audit_log SET outcome = 'x'",
        "DELETE FROM audit_log",
    ] {
        let error = sqlx::query(statement).execute(&pool).await.unwrap_err();
        assert!(error.to_string().contains("append-only"), "{error}");
    }
}
