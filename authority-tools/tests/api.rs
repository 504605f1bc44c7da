//! The authority over real HTTP on loopback with a temporary SQLite file — or, when
//! `AUTHORITY_TEST_SUITE_POSTGRES_URL` names a PostgreSQL server (the test command runs it so on
//! a throwaway one), a fresh database there per test: the whole renewal with a virtual card,
//! every refusal of RULES.md, bad input, 50 concurrent renewals of one certificate, and a
//! restart between renew and complete.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use authority::issuance::{self, citizen_subject, CertificateOrder};
use authority::signer::RsaSigner;
use authority_tools::demo::DemoCase;
use card::virtual_card::VirtualCard;
use card::{identify, CitizenCard, KeyRole, Pin, Slot, VerifyOutcome};
use ccid::sim::{SimReader, SimReaderConfig};
use ccid::Reader;
use common::{assert_refused, serial_of, Harness, START};
use renewal::api::{
    Base64Bytes, ChallengeId, CompleteRequest, CompleteResponse, HolderProof, ReceiptRequest,
    RenewResponse, ResumeRequest, ResumeResponse, ServerInfoResponse, VerdictRequest,
    VerdictResponse, COMPLETE_PATH, RECEIPT_PATH, RENEW_PATH, RESUME_PATH, SERVER_INFO_PATH,
    VERDICT_PATH,
};
use renewal::proof::proof_message;
use renewal::rules::{renewal_window, renewed_validity};
use renewal::{
    Birthday, CardNumber, CertificateStatus, CitizenCertificate, NationalId, Validity, Verdict,
};
use time::Duration;

fn renew_response(answer: (u16, serde_json::Value)) -> RenewResponse {
    assert_eq!(answer.0, 200, "{}", answer.1);
    serde_json::from_value(answer.1).unwrap()
}

#[tokio::test]
async fn whole_renewal_with_a_virtual_card_from_verdict_to_receipt() {
    let harness = Harness::start().await;
    let demo = harness.card(DemoCase::InWindow);

    // The page: power on the card in a simulated reader, read the number and certificates.
    let virtual_card: VirtualCard = demo.virtual_card().unwrap();
    let device = SimReader::new(SimReaderConfig::tpdu());
    device.insert(Box::new(virtual_card.clone()));
    let mut reader = Reader::open(device.transport()).await.unwrap();
    let atr = reader.power_on().await.unwrap();
    let mut card = CitizenCard::new(reader, identify(atr.bytes()).unwrap());
    let card_number = card.read_card_number().await.unwrap();
    let on_card = card.read_certificates().await.unwrap();
    let signature_slot = on_card.get(Slot::Signature).certificate().unwrap().clone();
    let encryption_slot = on_card.get(Slot::Encryption).certificate().unwrap().clone();

    // 3: the authority's time and CAs, then the verdict, before the user types anything.
    let (status, info) = harness.get(SERVER_INFO_PATH).await;
    assert_eq!(status, 200);
    let info: ServerInfoResponse = serde_json::from_value(info).unwrap();
    assert_eq!(info.server_time, START);
    assert_eq!(
        info.ca_certificates[0].0,
        on_card.get(Slot::IssuingCa).certificate().unwrap().der()
    );
    let verdict = harness.verdict(signature_slot.der()).await;
    assert!(verdict.verdict.is_eligible(), "{:?}", verdict.verdict);
    let offer = verdict.challenge.unwrap();

    // 4–5: identity as typed (ROC birthday, lower case), PIN to the card, the card signs.
    let typed_id = demo.holder.national_id.to_lowercase();
    let birthday = Birthday::parse(&demo.holder.birthday).unwrap();
    let roc = birthday.roc().unwrap();
    let typed_birthday = format!("{:03}{:02}{:02}", roc.year(), roc.month(), roc.day());
    assert_eq!(
        card.verify_pin(&Pin::new(&demo.holder.pin).unwrap())
            .await
            .unwrap(),
        VerifyOutcome::Verified
    );
    let serial = serial_of(signature_slot.der());
    let message = proof_message(
        &offer.challenge,
        &serial,
        &NationalId::parse(&typed_id).unwrap(),
        Birthday::parse(&typed_birthday).unwrap(),
    );
    let card_signature = card
        .sign(KeyRole::Signature, &message, signature_slot.certificate())
        .await
        .unwrap();
    let request = renewal::api::RenewRequest {
        challenge_id: offer.challenge_id.clone(),
        proof: HolderProof {
            national_id: typed_id,
            birthday: typed_birthday,
            card_signature: Base64Bytes(card_signature.as_bytes().to_vec()),
        },
        signature_certificate_serial: serial.clone(),
        encryption_certificate_serial: serial_of(encryption_slot.der()),
        card_number: CardNumber::parse(card_number.as_str()).unwrap(),
    };
    let renewed = renew_response(harness.post(RENEW_PATH, &request).await);

    // The renewed certificates: same subject and key, notBefore kept, notAfter + 3 years.
    let original = CitizenCertificate::from_der(signature_slot.der()).unwrap();
    let new_signature = CitizenCertificate::from_der(&renewed.signature_certificate.0).unwrap();
    let new_encryption = CitizenCertificate::from_der(&renewed.encryption_certificate.0).unwrap();
    let expected = renewed_validity(&original.validity()).unwrap();
    assert_eq!(renewed.renewed_validity, expected);
    for (new, old_der, role) in [
        (&new_signature, signature_slot.der(), KeyRole::Signature),
        (&new_encryption, encryption_slot.der(), KeyRole::Encryption),
    ] {
        let old = CitizenCertificate::from_der(old_der).unwrap();
        assert_eq!(new.subject(), old.subject());
        assert_eq!(
            new.subject_public_key_info_der().unwrap(),
            old.subject_public_key_info_der().unwrap()
        );
        assert_eq!(new.validity().not_before, old.validity().not_before);
        assert_eq!(new.validity(), renewed_validity(&old.validity()).unwrap());
        assert_ne!(new.serial(), old.serial());
        assert_eq!(new.holder().unwrap(), old.holder().unwrap());
        assert_eq!(new.key_role(), Some(role));
        assert_eq!(new.issuer(), "C=TW, O=行政院, OU=內政部憑證管理中心");
        assert_eq!(
            new.authority_key_id(),
            Some(harness.authority.ca().key_id())
        );
        assert!(harness.authority.ca().issued(new));
        assert_eq!(
            renewal::rules::classify_term(&new.validity()),
            renewal::rules::Term::Renewed
        );
    }

    // Asking again with the same request: the same certificates.
    let again = renew_response(harness.post(RENEW_PATH, &request).await);
    assert_eq!(again, renewed);

    // 6: write both to the card, read back, complete.
    card.write_certificate(Slot::Signature, &renewed.signature_certificate.0)
        .await
        .unwrap();
    card.write_certificate(Slot::Encryption, &renewed.encryption_certificate.0)
        .await
        .unwrap();
    let read_back = card.read_certificates().await.unwrap();
    let written_signature = read_back
        .get(Slot::Signature)
        .certificate()
        .unwrap()
        .der()
        .to_vec();
    let written_encryption = read_back
        .get(Slot::Encryption)
        .certificate()
        .unwrap()
        .der()
        .to_vec();
    assert_eq!(written_signature, renewed.signature_certificate.0);
    harness.clock.advance(Duration::seconds(20));
    let (status, body) = harness
        .post(
            COMPLETE_PATH,
            &CompleteRequest {
                renewal_number: renewed.renewal_number.clone(),
                signature_certificate_serial: serial_of(&written_signature),
                encryption_certificate_serial: serial_of(&written_encryption),
            },
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let receipt = serde_json::from_value::<CompleteResponse>(body)
        .unwrap()
        .receipt;
    assert_eq!(receipt.renewal_number, renewed.renewal_number);
    assert_eq!(receipt.holder_name_masked, "陳○展");
    assert_eq!(receipt.card_number.as_str(), demo.holder.card_number);
    assert_eq!(
        receipt.signature_certificate_serial,
        *new_signature.serial()
    );
    assert_eq!(
        receipt.encryption_certificate_serial,
        *new_encryption.serial()
    );
    assert_eq!(receipt.old_validity, original.validity());
    assert_eq!(receipt.new_validity, expected);
    assert_eq!(receipt.renewed_at, START);

    // The receipt again, by renewal number and card number.
    let (status, body) = harness
        .post(
            RECEIPT_PATH,
            &ReceiptRequest {
                renewal_number: renewed.renewal_number.clone(),
                card_number: CardNumber::parse(&demo.holder.card_number).unwrap(),
            },
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["receipt"], serde_json::to_value(&receipt).unwrap());

    // The renewed card now reads "already renewed" (8 years, and the records say so).
    let verdict = harness.verdict(&written_signature).await;
    assert!(
        matches!(verdict.verdict, Verdict::AlreadyRenewed { .. }),
        "{:?}",
        verdict.verdict
    );
    let counts = harness.counts().await;
    assert_eq!(
        counts.renewals, 2,
        "the demo's already-renewed card and this one"
    );
    // No PIN ever reached the authority: nothing it stored holds one.
    let audit = harness.authority.storage().audit_lines().await.unwrap();
    for line in &audit {
        let text = format!("{line:?}");
        assert!(!text.contains(&demo.holder.pin), "{text}");
        assert!(!text.contains(&demo.holder.national_id), "{text}");
    }
}

#[tokio::test]
async fn each_demo_case_gets_its_verdict() {
    let harness = Harness::start().await;
    for card in &harness.cards {
        let verdict = harness.verdict(&card.signature_certificate).await;
        let expected = match card.case {
            DemoCase::InWindow | DemoCase::ExpiredOneYearAgo | DemoCase::PinLocked => "eligible",
            DemoCase::TooEarly => "too_early",
            DemoCase::AlreadyRenewed => "already_renewed",
            DemoCase::ExpiredFourYearsAgo => "too_late",
            DemoCase::Revoked => "revoked",
            DemoCase::Suspended => "suspended",
        };
        assert_eq!(verdict.verdict.kind(), expected, "{:?}", card.case);
        // A challenge comes with an eligible verdict, and with a renewal on record (resume).
        let offered = verdict.verdict.is_eligible() || card.case == DemoCase::AlreadyRenewed;
        assert_eq!(verdict.challenge.is_some(), offered, "{:?}", card.case);
    }
}

/// Takes a challenge while eligible, then moves the clock or the records so that renewing is
/// refused with `code`.
#[tokio::test]
async fn every_rule_refuses_renewal_with_its_code() {
    let harness = Harness::start().await;
    let case = DemoCase::InWindow;
    let original = CitizenCertificate::from_der(&harness.card(case).signature_certificate)
        .unwrap()
        .validity();
    let window = renewal_window(&original).unwrap();

    // Too early: the challenge at the first second of the window, the renewal a second before.
    harness.clock.set(window.opens_at);
    let offer = harness.challenge(case).await;
    harness.clock.set(window.opens_at - Duration::seconds(1));
    let answer = harness
        .post(RENEW_PATH, &harness.honest_renew_request(case, &offer))
        .await;
    assert_refused(&answer, 409, "too_early");
    assert_eq!(answer.1["verdict"]["kind"], "too_early");

    // Too late: the challenge at the last second, the renewal a second after.
    harness.clock.set(window.closes_at);
    let offer = harness.challenge(case).await;
    harness.clock.set(window.closes_at + Duration::seconds(1));
    let answer = harness
        .post(RENEW_PATH, &harness.honest_renew_request(case, &offer))
        .await;
    assert_refused(&answer, 409, "too_late");
    assert_eq!(answer.1["verdict"]["new_card"]["ic_card_fee_ntd"], 250);

    // Revoked and suspended after the challenge was offered.
    harness.clock.set(START);
    let serial = serial_of(&harness.card(case).signature_certificate);
    for (status, code) in [
        (CertificateStatus::Suspended, "suspended"),
        (CertificateStatus::Revoked, "revoked"),
    ] {
        harness
            .authority
            .storage()
            .set_status(&serial, CertificateStatus::Valid)
            .await
            .unwrap();
        let offer = harness.challenge(case).await;
        harness
            .authority
            .storage()
            .set_status(&serial, status)
            .await
            .unwrap();
        let answer = harness
            .post(RENEW_PATH, &harness.honest_renew_request(case, &offer))
            .await;
        assert_refused(&answer, 409, code);
    }

    // Already renewed: the demo card holding 8-year certificates gets a challenge (to resume)
    // but not a renewal.
    let offer = harness.challenge(DemoCase::AlreadyRenewed).await;
    let answer = harness
        .post(
            RENEW_PATH,
            &harness.honest_renew_request(DemoCase::AlreadyRenewed, &offer),
        )
        .await;
    assert_refused(&answer, 409, "already_renewed");

    let counts = harness.counts().await;
    assert_eq!(counts.renewals, 1, "only the demo's already-renewed card");
    assert_eq!(
        counts.challenges_used, 0,
        "a rule's refusal leaves the challenge unused"
    );
}

#[tokio::test]
async fn a_term_neither_5_nor_8_years_is_refused() {
    let harness = Harness::start().await;
    // A 4-year certificate for the in-window holder, on another card.
    let demo = harness.card(DemoCase::InWindow);
    let validity = Validity {
        not_before: START - Duration::days(4 * 365),
        not_after: START + Duration::days(10),
    };
    let storage = harness.authority.storage();
    let holder_id = storage
        .certificate_by_serial(&serial_of(&demo.signature_certificate))
        .await
        .unwrap()
        .unwrap()
        .holder_id;
    let mut ders = Vec::new();
    for (role, key) in [
        (KeyRole::Signature, &demo.keys.signature),
        (KeyRole::Encryption, &demo.keys.encryption),
    ] {
        let signer = RsaSigner::from_pkcs8(key).unwrap();
        let der = issuance::issue(
            harness.authority.ca(),
            &CertificateOrder {
                subject: citizen_subject(&demo.holder.name, &demo.holder.subject_serial_number)
                    .unwrap(),
                public_key: signer.public_key().spki().unwrap(),
                role,
                id_last_four: demo.holder.national_id[6..].to_owned(),
                validity,
            },
        )
        .unwrap();
        storage
            .insert_certificate(
                &authority::storage::NewCertificate {
                    serial: serial_of(&der),
                    holder_id,
                    card_number: CardNumber::parse("DM00000000000099").unwrap(),
                    role,
                    status: CertificateStatus::Valid,
                    validity,
                    der: der.clone(),
                },
                START,
            )
            .await
            .unwrap();
        ders.push(der);
    }
    let verdict = harness.verdict(&ders[0]).await;
    assert_eq!(verdict.verdict.kind(), "not_original_term");
    assert!(verdict.challenge.is_none());
}

#[tokio::test]
async fn identity_and_proof_of_possession_are_checked_and_failures_lock() {
    let harness = Harness::start().await;
    let case = DemoCase::ExpiredOneYearAgo;
    let holder = harness.card(case).holder.clone();

    // A typed ID that is not an ID number: its own code, before anything else.
    let offer = harness.challenge(case).await;
    for (id, birthday, code) in [
        ("D10000001", holder.birthday.as_str(), "national_id_length"),
        (
            "110000001X",
            holder.birthday.as_str(),
            "national_id_first_letter",
        ),
        (
            "D300000011",
            holder.birthday.as_str(),
            "national_id_second_digit",
        ),
        (
            "D100000012",
            holder.birthday.as_str(),
            "national_id_checksum",
        ),
        (holder.national_id.as_str(), "", "birthday_empty"),
        (holder.national_id.as_str(), "79-13-01x", "birthday_format"),
        (
            holder.national_id.as_str(),
            "1990-02-30",
            "birthday_no_such_date",
        ),
    ] {
        let answer = harness
            .post(
                RENEW_PATH,
                &harness.renew_request(case, &offer, id, birthday),
            )
            .await;
        assert_refused(&answer, 400, code);
    }

    // Signed by another key: proof of possession fails, nothing but the audit line written.
    let before = harness.counts().await;
    let request = common::renew_request(
        harness.card(case),
        &offer,
        &holder.national_id,
        &holder.birthday,
        common::stranger_key(),
    );
    assert_refused(
        &harness.post(RENEW_PATH, &request).await,
        403,
        "proof_of_possession_failed",
    );
    let after = harness.counts().await;
    assert_eq!(after.audit_log, before.audit_log + 1);
    assert_eq!(
        (
            after.challenges_used,
            after.identity_failures,
            after.renewals
        ),
        (
            before.challenges_used,
            before.identity_failures,
            before.renewals
        )
    );

    // Another holder's (valid) ID number and a wrong birthday: identity mismatch, 5 times.
    let other = harness.card(DemoCase::InWindow).holder.clone();
    let wrong = [
        (other.national_id.as_str(), holder.birthday.as_str()),
        (holder.national_id.as_str(), "1990-05-01"),
        (other.national_id.as_str(), other.birthday.as_str()),
        (holder.national_id.as_str(), "1991-04-30"),
        (other.national_id.as_str(), "1990-04-30"),
    ];
    for (id, birthday) in wrong {
        let offer = harness.challenge(case).await;
        let answer = harness
            .post(
                RENEW_PATH,
                &harness.renew_request(case, &offer, id, birthday),
            )
            .await;
        assert_refused(&answer, 403, "identity_mismatch");
        // The challenge is used up by the attempt.
        let again = harness
            .post(RENEW_PATH, &harness.honest_renew_request(case, &offer))
            .await;
        assert_refused(&again, 409, "challenge_used");
    }
    // The sixth try, even the right one, is refused for 15 minutes.
    let offer = harness.challenge(case).await;
    let answer = harness
        .post(RENEW_PATH, &harness.honest_renew_request(case, &offer))
        .await;
    assert_refused(&answer, 429, "rate_limited");
    harness.clock.advance(Duration::minutes(14));
    let offer = harness.challenge(case).await;
    let answer = harness
        .post(RENEW_PATH, &harness.honest_renew_request(case, &offer))
        .await;
    assert_refused(&answer, 429, "rate_limited");
    harness.clock.advance(Duration::minutes(1));
    let offer = harness.challenge(case).await;
    renew_response(
        harness
            .post(RENEW_PATH, &harness.honest_renew_request(case, &offer))
            .await,
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_its_code_and_writes_only_the_audit_line() {
    let harness = Harness::start().await;
    let case = DemoCase::InWindow;
    let demo = harness.card(case).clone();
    let offer = harness.challenge(case).await;
    let good = harness.honest_renew_request(case, &offer);

    // A certificate from our CA that the records do not hold, and one from a stranger CA with
    // the same name.
    let signer = RsaSigner::from_pkcs8(&demo.keys.signature).unwrap();
    let order = CertificateOrder {
        subject: citizen_subject("查無人", "9900000000000099").unwrap(),
        public_key: signer.public_key().spki().unwrap(),
        role: KeyRole::Signature,
        id_last_four: "0099".into(),
        validity: CitizenCertificate::from_der(&demo.signature_certificate)
            .unwrap()
            .validity(),
    };
    let unrecorded = issuance::issue(harness.authority.ca(), &order).unwrap();
    let stranger_ca = authority::ca::CertificateAuthority::create(common::stranger_key()).unwrap();
    let foreign = issuance::issue(&stranger_ca, &order).unwrap();
    let verdict_of = |der: Vec<u8>| {
        serde_json::to_vec(&VerdictRequest {
            certificate: Base64Bytes(der),
            card_number: None,
        })
        .unwrap()
    };

    let mut tampered = good.clone();
    let last = tampered.proof.card_signature.0.len() - 1;
    tampered.proof.card_signature.0[last] ^= 1;
    let mut unknown_challenge = good.clone();
    unknown_challenge.challenge_id = ChallengeId("00".repeat(16));
    let mut wrong_card = good.clone();
    wrong_card.card_number = CardNumber::parse("DM00000000000099").unwrap();
    let mut wrong_pair = good.clone();
    wrong_pair.encryption_certificate_serial =
        serial_of(&harness.card(DemoCase::TooEarly).encryption_certificate);
    let json = |value: &renewal::api::RenewRequest| serde_json::to_vec(value).unwrap();

    let oversized = format!(
        "{{\"certificate\":\"{}\"}}",
        "A".repeat(authority::routes::BODY_LIMIT_BYTES + 16)
    );
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            VERDICT_PATH,
            "application/json",
            b"{\"certificate\":".to_vec(),
            400,
            "malformed_request",
        ),
        (
            VERDICT_PATH,
            "application/json",
            b"{\"certificate\":42}".to_vec(),
            400,
            "malformed_request",
        ),
        (
            VERDICT_PATH,
            "application/json",
            b"{\"certificate\":\"***\"}".to_vec(),
            400,
            "malformed_request",
        ),
        (
            VERDICT_PATH,
            "text/plain",
            b"{}".to_vec(),
            400,
            "malformed_request",
        ),
        (
            VERDICT_PATH,
            "application/json",
            oversized.into_bytes(),
            413,
            "request_too_large",
        ),
        (
            VERDICT_PATH,
            "application/json",
            verdict_of(b"not a certificate".to_vec()),
            400,
            "malformed_certificate",
        ),
        (
            VERDICT_PATH,
            "application/json",
            verdict_of(demo.encryption_certificate.clone()),
            422,
            "not_citizen_certificate",
        ),
        (
            VERDICT_PATH,
            "application/json",
            verdict_of(harness.authority.ca().certificate_der().to_vec()),
            422,
            "not_citizen_certificate",
        ),
        (
            VERDICT_PATH,
            "application/json",
            verdict_of(foreign),
            422,
            "unknown_issuer",
        ),
        (
            VERDICT_PATH,
            "application/json",
            verdict_of(unrecorded),
            404,
            "unknown_certificate",
        ),
        (
            RENEW_PATH,
            "application/json",
            b"{\"challenge_id\":1}".to_vec(),
            400,
            "malformed_request",
        ),
        (
            RENEW_PATH,
            "application/json",
            json(&tampered),
            403,
            "proof_of_possession_failed",
        ),
        (
            RENEW_PATH,
            "application/json",
            json(&unknown_challenge),
            404,
            "challenge_unknown",
        ),
        (
            RENEW_PATH,
            "application/json",
            json(&wrong_card),
            400,
            "invalid_card_number",
        ),
        (
            RENEW_PATH,
            "application/json",
            json(&wrong_pair),
            422,
            "certificates_not_same_card",
        ),
        (
            COMPLETE_PATH,
            "application/json",
            b"{\"renewal_number\":\"r1\"}".to_vec(),
            400,
            "malformed_request",
        ),
        (
            RECEIPT_PATH,
            "application/json",
            b"{\"renewal_number\":\"R1\",\"card_number\":\"DM00000000000001\"}".to_vec(),
            404,
            "renewal_unknown",
        ),
        (
            "/api/v1/nothing-here",
            "application/json",
            b"{}".to_vec(),
            404,
            "unknown_endpoint",
        ),
    ];
    for (path, content_type, body, status, code) in cases {
        let before = harness.counts().await;
        let answer = harness.post_raw(path, content_type, body).await;
        assert_refused(&answer, status, code);
        let after = harness.counts().await;
        let expected_audit = if path.ends_with("nothing-here") { 0 } else { 1 };
        assert_eq!(
            after.audit_log,
            before.audit_log + expected_audit,
            "{path} {code}"
        );
        assert_eq!(
            TableCountsWithoutAudit::from(after),
            TableCountsWithoutAudit::from(before),
            "{path} {code}: only the audit line may be written"
        );
    }

    // Wrong method on a known path.
    let response = harness
        .http
        .get(format!("{}{RENEW_PATH}", harness.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["code"],
        "unknown_endpoint"
    );

    // An expired challenge.
    harness
        .clock
        .advance(Duration::minutes(10) + Duration::seconds(1));
    let before = harness.counts().await;
    assert_refused(
        &harness.post(RENEW_PATH, &good).await,
        409,
        "challenge_expired",
    );
    let after = harness.counts().await;
    assert_eq!(
        TableCountsWithoutAudit::from(after),
        TableCountsWithoutAudit::from(before)
    );

    // A replayed challenge: used by one request, then presented with another request.
    harness.clock.set(START);
    let offer = harness.challenge(case).await;
    let first = harness.honest_renew_request(case, &offer);
    renew_response(harness.post(RENEW_PATH, &first).await);
    // The same request again is a retry (same certificates); another identity is a replay.
    renew_response(harness.post(RENEW_PATH, &first).await);
    let mut replay = first.clone();
    replay.proof.national_id = harness.card(DemoCase::TooEarly).holder.national_id.clone();
    let before = harness.counts().await;
    assert_refused(
        &harness.post(RENEW_PATH, &replay).await,
        409,
        "challenge_used",
    );
    let after = harness.counts().await;
    assert_eq!(
        TableCountsWithoutAudit::from(after),
        TableCountsWithoutAudit::from(before)
    );
    assert_eq!(after.audit_log, before.audit_log + 1);
}

/// Table counts other than the audit log.
#[derive(Debug, PartialEq, Eq)]
struct TableCountsWithoutAudit([i64; 6]);

impl From<authority::storage::TableCounts> for TableCountsWithoutAudit {
    fn from(counts: authority::storage::TableCounts) -> Self {
        Self([
            counts.holders,
            counts.certificates,
            counts.renewals,
            counts.challenges,
            counts.challenges_used,
            counts.identity_failures,
        ])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_renewals_of_one_certificate_issue_once() {
    let harness = Harness::start().await;
    let case = DemoCase::InWindow;
    let mut requests = Vec::new();
    for _ in 0..50 {
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
    let responses: Vec<RenewResponse> = answers.into_iter().map(renew_response).collect();
    assert!(responses.iter().all(|response| response == &responses[0]));
    let after = harness.counts().await;
    assert_eq!(after.renewals, before.renewals + 1);
    assert_eq!(after.certificates, before.certificates + 2);
    assert_eq!(after.challenges_used, before.challenges_used + 50);
}

#[tokio::test]
async fn a_restart_between_renew_and_complete_loses_nothing() {
    let mut harness = Harness::start().await;
    let case = DemoCase::ExpiredOneYearAgo;
    let demo = harness.card(case).clone();
    let offer = harness.challenge(case).await;
    let renewed = renew_response(
        harness
            .post(RENEW_PATH, &harness.honest_renew_request(case, &offer))
            .await,
    );

    // The page died before writing; the authority restarts too.
    harness.restart().await;
    harness.clock.advance(Duration::hours(2));

    // The card still holds the originals: the verdict says renewed (records) and offers a
    // challenge to resume with.
    let verdict = harness.verdict(&demo.signature_certificate).await;
    assert!(
        matches!(verdict.verdict, Verdict::AlreadyRenewed { .. }),
        "{:?}",
        verdict.verdict
    );
    let offer = verdict.challenge.unwrap();
    let serial = serial_of(&demo.signature_certificate);
    let resume = resume_request(
        &demo,
        &offer,
        &serial,
        vec![serial.clone(), serial_of(&demo.encryption_certificate)],
    );
    let (status, body) = harness.post(RESUME_PATH, &resume).await;
    assert_eq!(status, 200, "{body}");
    match serde_json::from_value(body).unwrap() {
        ResumeResponse::WritePending { renewal } => assert_eq!(renewal, renewed),
        other => panic!("{other:?}"),
    }
    // The proof is checked on resume too.
    let offer = harness.challenge(case).await;
    let mut forged = resume.clone();
    forged.challenge_id = offer.challenge_id.clone();
    assert_refused(
        &harness.post(RESUME_PATH, &forged).await,
        403,
        "proof_of_possession_failed",
    );

    // The write happens; another restart; complete.
    harness.restart().await;
    let complete = CompleteRequest {
        renewal_number: renewed.renewal_number.clone(),
        signature_certificate_serial: serial_of(&renewed.signature_certificate.0),
        encryption_certificate_serial: serial_of(&renewed.encryption_certificate.0),
    };
    let mut wrong = complete.clone();
    wrong.encryption_certificate_serial = serial.clone();
    assert_refused(
        &harness.post(COMPLETE_PATH, &wrong).await,
        422,
        "written_certificates_mismatch",
    );
    let receipt_request = ReceiptRequest {
        renewal_number: renewed.renewal_number.clone(),
        card_number: CardNumber::parse(&demo.holder.card_number).unwrap(),
    };
    assert_refused(
        &harness.post(RECEIPT_PATH, &receipt_request).await,
        409,
        "renewal_not_completed",
    );
    let (status, first) = harness.post(COMPLETE_PATH, &complete).await;
    assert_eq!(status, 200, "{first}");
    harness.clock.advance(Duration::minutes(5));
    let (status, second) = harness.post(COMPLETE_PATH, &complete).await;
    assert_eq!(status, 200);
    assert_eq!(first, second, "completing again gives the same receipt");
    assert_eq!(first["receipt"]["renewed_at"], "2026-06-01T02:00:00Z");

    // Resuming with the renewed certificate now on the card: completed, with the receipt.
    let verdict = harness.verdict(&renewed.signature_certificate.0).await;
    let offer = verdict.challenge.unwrap();
    let new_serial = serial_of(&renewed.signature_certificate.0);
    let resume = resume_request(
        &demo,
        &offer,
        &new_serial,
        vec![
            new_serial.clone(),
            complete.encryption_certificate_serial.clone(),
        ],
    );
    let (status, body) = harness.post(RESUME_PATH, &resume).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "completed");
    assert_eq!(body["receipt"], first["receipt"]);
    let (status, body) = harness.post(RECEIPT_PATH, &receipt_request).await;
    assert_eq!(status, 200);
    assert_eq!(body["receipt"], first["receipt"]);
    // Another card's number does not get the receipt.
    let mut other = receipt_request.clone();
    other.card_number = CardNumber::parse("DM00000000000001").unwrap();
    assert_refused(
        &harness.post(RECEIPT_PATH, &other).await,
        404,
        "renewal_unknown",
    );
}

#[tokio::test]
async fn a_card_with_a_torn_signature_certificate_resumes_by_its_number() {
    let harness = Harness::start().await;
    let case = DemoCase::InWindow;
    let demo = harness.card(case).clone();
    let card_number = CardNumber::parse(&demo.holder.card_number).unwrap();
    let verdict_of = |certificate: Vec<u8>, card_number: Option<CardNumber>| VerdictRequest {
        certificate: Base64Bytes(certificate),
        card_number,
    };
    // Before any renewal, a damaged copy is refused, card number or not.
    let mut torn = demo.signature_certificate.clone();
    torn[..4].copy_from_slice(&[0x30, 0x82, 0x7F, 0xFF]);
    assert_refused(
        &harness
            .post(
                VERDICT_PATH,
                &verdict_of(torn.clone(), Some(card_number.clone())),
            )
            .await,
        400,
        "malformed_certificate",
    );

    let offer = harness.challenge(case).await;
    let renewed = renew_response(
        harness
            .post(RENEW_PATH, &harness.honest_renew_request(case, &offer))
            .await,
    );
    let renewals = harness.counts().await.renewals;
    // The write was torn: the new certificate's start over the old one's rest, which parses
    // but is neither; and a header that no longer parses.
    let mut mixed = demo.signature_certificate.clone();
    mixed[..200].copy_from_slice(&renewed.signature_certificate.0[..200]);
    for damaged in [mixed, torn] {
        // Without the card number there is nothing to go by.
        let (status, _) = harness
            .post(VERDICT_PATH, &verdict_of(damaged.clone(), None))
            .await;
        assert!((400..500).contains(&status), "{status}");
        // Another card's number gets nothing either.
        let stranger = CardNumber::parse("DM99999999999999").unwrap();
        let (status, _) = harness
            .post(VERDICT_PATH, &verdict_of(damaged.clone(), Some(stranger)))
            .await;
        assert!((400..500).contains(&status), "{status}");

        let (status, body) = harness
            .post(
                VERDICT_PATH,
                &verdict_of(damaged, Some(card_number.clone())),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let verdict: VerdictResponse = serde_json::from_value(body).unwrap();
        assert_eq!(
            verdict
                .certificate_on_record
                .as_ref()
                .map(|der| der.0.clone()),
            Some(demo.signature_certificate.clone()),
            "the original on record is handed back"
        );
        let serial = serial_of(&demo.signature_certificate);
        assert_eq!(verdict.certificate_serial, serial);
        let offer = verdict.challenge.expect("a challenge to resume with");
        let resume = resume_request(
            &demo,
            &offer,
            &serial,
            vec![serial_of(&demo.encryption_certificate)],
        );
        let (status, body) = harness.post(RESUME_PATH, &resume).await;
        assert_eq!(status, 200, "{body}");
        match serde_json::from_value(body).unwrap() {
            ResumeResponse::WritePending { renewal } => assert_eq!(renewal, renewed),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        harness.counts().await.renewals,
        renewals,
        "nothing issued again"
    );
}

/// A resume request from a demo card holding `on_card`, proving its key over `offer` for the
/// signature certificate `serial`, with the holder's identity.
fn resume_request(
    demo: &authority_tools::demo::DemoCard,
    offer: &renewal::api::ChallengeOffer,
    serial: &renewal::CertificateSerial,
    on_card: Vec<renewal::CertificateSerial>,
) -> ResumeRequest {
    ResumeRequest {
        card_number: CardNumber::parse(&demo.holder.card_number).unwrap(),
        certificate_serials: on_card,
        challenge_id: offer.challenge_id.clone(),
        signature_certificate_serial: serial.clone(),
        proof: HolderProof {
            national_id: demo.holder.national_id.clone(),
            birthday: demo.holder.birthday.clone(),
            card_signature: Base64Bytes(common::sign_proof(
                &demo.keys.signature,
                offer,
                serial,
                &demo.holder.national_id,
                &demo.holder.birthday,
            )),
        },
    }
}
