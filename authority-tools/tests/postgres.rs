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

/// The server named by `AUTHORITY_TEST_POSTGRES_URL`; without one, `test` says it is skipped —
/// or fails, when `AUTHORITY_REQUIRE_POSTGRES` is set (the test command runs these tests with a
/// throwaway server, scripts/with-postgres, and asks for it).
fn postgres_server(test: &str) -> Option<String> {
    if let Ok(url) = std::env::var("AUTHORITY_TEST_POSTGRES_URL") {
        return Some(url);
    }
    assert!(
        std::env::var_os("AUTHORITY_REQUIRE_POSTGRES").is_none(),
        "AUTHORITY_REQUIRE_POSTGRES is set but AUTHORITY_TEST_POSTGRES_URL is not"
    );
    // Straight to stderr, past the test harness's capture, so the skip is seen.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "{test}: skipped: AUTHORITY_TEST_POSTGRES_URL is not set (no PostgreSQL server to test on)"
    );
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_on_postgresql() {
    let Some(url) = postgres_server("renewal_on_postgresql") else {
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

/// A second authority instance beside a harness's: its own server, the same records.
struct OtherInstance {
    authority: authority::Authority,
    server: authority::server::RunningServer,
}

impl OtherInstance {
    async fn stop(self) {
        self.server.stop().await.unwrap();
        self.authority.storage().close().await;
    }
}

/// A harness on a new database of `server`, and a second instance on the same database with
/// the same CA and identity key files, as a deployment runs them on two machines.
async fn two_instances(server: &str) -> (Harness, OtherInstance) {
    let database = common::create_postgres_database(server).await;
    let harness = Harness::start_on(Some(database.clone())).await;
    let authority = authority::server::open(harness.dir.path(), &database, harness.clock.clock())
        .await
        .unwrap();
    let server = authority::server::spawn(
        authority::routes::api_router(authority.clone()),
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .unwrap();
    (harness, OtherInstance { authority, server })
}

/// Two authority instances on one PostgreSQL database, as a deployment that outgrows one
/// machine runs them: 50 renewals of one card spread over both, each with a challenge that the
/// other instance issued, make exactly one renewal, and every challenge is used once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_renew_a_card_once() {
    let Some(server) = postgres_server("two_instances_on_one_database_renew_a_card_once") else {
        return;
    };
    let (mut harness, other) = two_instances(&server).await;
    let instances = [harness.url.clone(), other.server.url()];
    let case = DemoCase::InWindow;
    let mut requests = Vec::new();
    for turn in 0..50 {
        harness.url = instances[turn % 2].clone();
        let offer = harness.challenge(case).await;
        let request = harness.honest_renew_request(case, &offer);
        requests.push((instances[(turn + 1) % 2].clone(), request));
    }
    harness.url = instances[0].clone();
    let before = harness.counts().await;
    let answers = futures_util::future::join_all(
        requests
            .iter()
            .map(|(instance, request)| harness.post_at(instance, RENEW_PATH, request)),
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
    let after = harness.counts().await;
    assert_eq!(after.renewals, before.renewals + 1, "one renewal");
    assert_eq!(after.certificates, before.certificates + 2);
    assert_eq!(after.challenges_used, before.challenges_used + 50);
    other.stop().await;
}

/// The identity-guessing limit lives in the database, not in one instance's memory: five wrong
/// guesses spread over two instances (each with a challenge the other issued) lock the card on
/// both, and a challenge used on one is refused by the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guessing_limit_and_challenges_hold_across_instances() {
    let Some(server) = postgres_server("the_guessing_limit_and_challenges_hold_across_instances")
    else {
        return;
    };
    let (mut harness, other) = two_instances(&server).await;
    let instances = [harness.url.clone(), other.server.url()];
    let case = DemoCase::ExpiredOneYearAgo;
    let holder = harness.card(case).holder.clone();
    let stranger = harness.card(DemoCase::InWindow).holder.clone();
    for turn in 0..5 {
        // The challenge from one instance, the wrong guess and the replay at the other.
        harness.url = instances[turn % 2].clone();
        let offer = harness.challenge(case).await;
        harness.url = instances[(turn + 1) % 2].clone();
        let guess = harness.renew_request(case, &offer, &stranger.national_id, &holder.birthday);
        common::assert_refused(
            &harness.post(RENEW_PATH, &guess).await,
            403,
            "identity_mismatch",
        );
        harness.url = instances[turn % 2].clone();
        let replay = harness.honest_renew_request(case, &offer);
        common::assert_refused(
            &harness.post(RENEW_PATH, &replay).await,
            409,
            "challenge_used",
        );
    }
    // Locked on both instances, even for the right answer.
    for instance in &instances {
        harness.url = instance.clone();
        let offer = harness.challenge(case).await;
        let right = harness.honest_renew_request(case, &offer);
        common::assert_refused(&harness.post(RENEW_PATH, &right).await, 429, "rate_limited");
    }
    other.stop().await;
}
