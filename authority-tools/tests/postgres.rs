//! The same storage on PostgreSQL: runs when `AUTHORITY_TEST_POSTGRES_URL` names a database
//! this test may fill (e.g. `postgres://authority:authority@127.0.0.1/authority_test`; it must
//! be empty: the migrations create the tables), and says it is skipped otherwise — unless
//! `AUTHORITY_REQUIRE_POSTGRES` is set, as the test command does around its throwaway server
//! (`scripts/with-postgres`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use authority_tools::demo::DemoCase;
use common::Harness;
use renewal::api::{CompleteRequest, RenewResponse, COMPLETE_PATH, RENEW_PATH};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_on_postgresql() {
    let Ok(url) = std::env::var("AUTHORITY_TEST_POSTGRES_URL") else {
        // The test command runs this with a throwaway server (scripts/with-postgres) and asks
        // for it: there, no server is a failure, not a skip.
        assert!(
            std::env::var_os("AUTHORITY_REQUIRE_POSTGRES").is_none(),
            "AUTHORITY_REQUIRE_POSTGRES is set but AUTHORITY_TEST_POSTGRES_URL is not"
        );
        // Straight to stderr, past the test harness's capture, so the skip is seen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "renewal_on_postgresql: skipped: AUTHORITY_TEST_POSTGRES_URL is not set \
             (no PostgreSQL server to test on)"
        );
        return;
    };
    let harness = Harness::start_on(Some(url)).await;
    assert_eq!(
        harness.authority.storage().backend(),
        authority::storage::Backend::Postgres
    );
    let case = DemoCase::InWindow;

    // Ten concurrent renewals of one certificate: one renewal row, the same certificates.
    let mut requests = Vec::new();
    for _ in 0..10 {
        let offer = harness.challenge(case).await;
        requests.push(harness.honest_renew_request(case, &offer));
    }
    let before = harness.counts().await;
    let answers = futures_util::future::join_all(
        requests
            .iter()
            .map(|request| harness.post(RENEW_PATH, request)),
    )
    .await;
    let responses: Vec<RenewResponse> = answers
        .into_iter()
        .map(|(status, body)| {
            assert_eq!(status, 200, "{body}");
            serde_json::from_value(body).unwrap()
        })
        .collect();
    assert!(responses.iter().all(|response| response == &responses[0]));
    assert_eq!(harness.counts().await.renewals, before.renewals + 1);

    let renewed = &responses[0];
    let serial = |der: &[u8]| common::serial_of(der);
    let (status, body) = harness
        .post(
            COMPLETE_PATH,
            &CompleteRequest {
                renewal_number: renewed.renewal_number.clone(),
                signature_certificate_serial: serial(&renewed.signature_certificate.0),
                encryption_certificate_serial: serial(&renewed.encryption_certificate.0),
            },
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Identity failures and the audit log work the same.
    let holder = harness.card(DemoCase::InWindow).holder.clone();
    let offer = harness.challenge(DemoCase::ExpiredOneYearAgo).await;
    let answer = harness
        .post(
            RENEW_PATH,
            &harness.renew_request(
                DemoCase::ExpiredOneYearAgo,
                &offer,
                &holder.national_id,
                &holder.birthday,
            ),
        )
        .await;
    common::assert_refused(&answer, 403, "identity_mismatch");
    assert_eq!(harness.counts().await.identity_failures, 1);
}
