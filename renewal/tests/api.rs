//! The API's wire format: paths, JSON shapes, error codes, and the receipt.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use renewal::api::{
    ApiError, Base64Bytes, ChallengeId, ChallengeOffer, CompleteRequest, CompleteResponse,
    ErrorCode, HolderProof, ReceiptRequest, RenewRequest, RenewResponse, RenewalOnRecord,
    ResumeRequest, ResumeResponse, ServerInfoResponse, VerdictRequest, VerdictResponse, API_PREFIX,
    COMPLETE_PATH, RECEIPT_PATH, RENEW_PATH, RESUME_PATH, SERVER_INFO_PATH, VERDICT_PATH,
};
use renewal::receipt::ReceiptLine;
use renewal::{
    decide, mask_holder_name, CardNumber, CertificateSerial, CertificateStatus, Challenge,
    Language, Receipt, RenewalNumber, RenewalRecord, Validity, Verdict,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;
use time::macros::datetime;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    value: &T,
) -> serde_json::Value {
    let json = serde_json::to_value(value).unwrap();
    let back: T = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(&back, value);
    json
}

fn old_validity() -> Validity {
    Validity {
        not_before: datetime!(2019-01-12 02:47:35 UTC),
        not_after: datetime!(2024-01-12 15:59:59 UTC),
    }
}

fn new_validity() -> Validity {
    Validity {
        not_after: datetime!(2027-01-12 15:59:59 UTC),
        ..old_validity()
    }
}

fn receipt() -> Receipt {
    Receipt {
        renewal_number: RenewalNumber::parse("R20240101-000001").unwrap(),
        holder_name_masked: mask_holder_name("王小明"),
        card_number: CardNumber::parse("TP03000000000123").unwrap(),
        signature_certificate_serial: CertificateSerial::from_hex("0A1B").unwrap(),
        encryption_certificate_serial: CertificateSerial::from_hex("0A1C").unwrap(),
        old_validity: old_validity(),
        new_validity: new_validity(),
        renewed_at: datetime!(2024-01-01 02:30:00 UTC),
    }
}

#[test]
fn paths_are_versioned() {
    for path in [
        SERVER_INFO_PATH,
        VERDICT_PATH,
        RENEW_PATH,
        COMPLETE_PATH,
        RESUME_PATH,
        RECEIPT_PATH,
    ] {
        assert!(
            path.starts_with(API_PREFIX) && path.len() > API_PREFIX.len() + 1,
            "{path}"
        );
    }
    assert_eq!(API_PREFIX, "/api/v1");
}

#[test]
fn server_info_and_verdict_bodies() {
    let info = ServerInfoResponse {
        api_version: 1,
        server_time: datetime!(2024-01-01 00:00:00 UTC),
        ca_certificates: vec![Base64Bytes(vec![0x30, 0x82, 0x01])],
    };
    assert_eq!(
        round_trip(&info),
        json!({"api_version": 1, "server_time": "2024-01-01T00:00:00Z", "ca_certificates": ["MIIB"]})
    );

    assert_eq!(
        round_trip(&VerdictRequest {
            certificate: Base64Bytes(vec![1, 2, 3]),
            card_number: None,
        }),
        json!({"certificate": "AQID"})
    );
    assert_eq!(
        round_trip(&VerdictRequest {
            certificate: Base64Bytes(vec![1, 2, 3]),
            card_number: Some(CardNumber::parse("DM00000000000001").unwrap()),
        }),
        json!({"certificate": "AQID", "card_number": "DM00000000000001"})
    );

    let verdict = decide(
        &old_validity(),
        CertificateStatus::Valid,
        RenewalRecord::NotRenewed,
        info.server_time,
    );
    let response = VerdictResponse {
        server_time: info.server_time,
        certificate_serial: CertificateSerial::from_hex("88:d0:5a").unwrap(),
        verdict,
        challenge: Some(ChallengeOffer {
            challenge_id: ChallengeId("c-1".into()),
            challenge: Challenge::new([7; 32]),
            expires_at: datetime!(2024-01-01 00:05:00 UTC),
        }),
        certificate_on_record: None,
        renewal_on_record: None,
    };
    let json = round_trip(&response);
    assert!(json.get("certificate_on_record").is_none());
    assert!(json.get("renewal_on_record").is_none());
    let interrupted = round_trip(&VerdictResponse {
        renewal_on_record: Some(RenewalOnRecord::Issued),
        ..response.clone()
    });
    assert_eq!(interrupted["renewal_on_record"], "issued");
    assert_eq!(json["certificate_serial"], "88D05A");
    assert_eq!(json["verdict"]["kind"], "eligible");
    assert_eq!(json["challenge"]["challenge_id"], "c-1");
    assert_eq!(json["challenge"]["expires_at"], "2024-01-01T00:05:00Z");
}

#[test]
fn renew_complete_resume_receipt_bodies() {
    let request = RenewRequest {
        challenge_id: ChallengeId("c-1".into()),
        proof: HolderProof {
            national_id: "a123456789".into(),
            birthday: "0790101".into(),
            card_signature: Base64Bytes(vec![0xFF; 4]),
        },
        signature_certificate_serial: CertificateSerial::from_hex("0A").unwrap(),
        encryption_certificate_serial: CertificateSerial::from_hex("0B").unwrap(),
        card_number: CardNumber::parse("TP03000000000123").unwrap(),
    };
    let json = round_trip(&request);
    assert_eq!(json["card_signature"], "/////w==");
    assert_eq!(json["card_number"], "TP03000000000123");
    let (id, birthday) = request.proof.identity().unwrap();
    assert_eq!(
        (id.as_str(), birthday.normalized().as_str()),
        ("A123456789", "1990-01-01")
    );

    let renewed = RenewResponse {
        renewal_number: RenewalNumber::parse("R20240101-000001").unwrap(),
        signature_certificate: Base64Bytes(vec![0x30]),
        encryption_certificate: Base64Bytes(vec![0x31]),
        renewed_validity: new_validity(),
    };
    assert_eq!(
        round_trip(&renewed)["renewed_validity"]["not_after"],
        "2027-01-12T15:59:59Z"
    );

    round_trip(&CompleteRequest {
        renewal_number: renewed.renewal_number.clone(),
        signature_certificate_serial: CertificateSerial::from_hex("1A").unwrap(),
        encryption_certificate_serial: CertificateSerial::from_hex("1B").unwrap(),
    });
    round_trip(&CompleteResponse { receipt: receipt() });
    let resume = ResumeRequest {
        card_number: CardNumber::parse("TP03000000000123").unwrap(),
        certificate_serials: vec![CertificateSerial::from_hex("0A").unwrap()],
        challenge_id: ChallengeId("c1".into()),
        signature_certificate_serial: CertificateSerial::from_hex("0A").unwrap(),
        proof: HolderProof {
            national_id: "a123456789".into(),
            birthday: "0790101".into(),
            card_signature: Base64Bytes(vec![1, 2, 3]),
        },
    };
    assert_eq!(round_trip(&resume)["card_signature"], "AQID");
    assert_eq!(resume.proof.identity().unwrap().0.as_str(), "A123456789");
    assert_eq!(
        round_trip(&ResumeResponse::NothingPending),
        json!({"state": "nothing_pending"})
    );
    assert_eq!(
        round_trip(&ResumeResponse::WritePending { renewal: renewed })["state"],
        "write_pending"
    );
    assert_eq!(
        round_trip(&ResumeResponse::Completed { receipt: receipt() })["state"],
        "completed"
    );
    round_trip(&ReceiptRequest {
        renewal_number: RenewalNumber::parse("R1").unwrap(),
        card_number: CardNumber::parse("TP03000000000123").unwrap(),
    });
}

#[test]
fn every_verdict_reads_back_from_its_flat_json() {
    use renewal::rules::{AlreadyRenewedBasis, NewCardApplication};
    let verdicts = [
        Verdict::Eligible {
            window_closes_at: datetime!(2027-01-12 15:59:59 UTC),
            renewed: new_validity(),
        },
        Verdict::TooEarly {
            window_opens_at: datetime!(2023-11-13 15:59:59 UTC),
            window_closes_at: datetime!(2027-01-12 15:59:59 UTC),
            renewed: new_validity(),
        },
        Verdict::TooLate {
            window_closed_at: datetime!(2027-01-12 15:59:59 UTC),
            new_card: NewCardApplication::official(),
        },
        Verdict::AlreadyRenewed {
            basis: AlreadyRenewedBasis::EightYearTerm,
            expires_for_good_at: datetime!(2027-01-12 15:59:59 UTC),
            new_card: NewCardApplication::official(),
        },
        Verdict::Revoked,
        Verdict::Suspended,
        Verdict::NotOriginalTerm {
            validity: old_validity(),
        },
    ];
    for verdict in &verdicts {
        let json = round_trip(verdict);
        assert_eq!(json["kind"], verdict.kind());
        // Inside an error body too.
        round_trip(&ApiError {
            code: ErrorCode::TooEarly,
            message: "refused".into(),
            verdict: Some(verdict.clone()),
        });
    }
    // Fields of other kinds and unknown fields are ignored, as a newer authority may add some.
    let json = json!({"kind": "revoked", "renewed": null, "note": "from a newer authority"});
    assert_eq!(
        serde_json::from_value::<Verdict>(json).unwrap(),
        Verdict::Revoked
    );
}

#[test]
fn a_tagged_answer_missing_its_fields_is_refused_by_name() {
    let error = serde_json::from_value::<Verdict>(json!({
        "kind": "too_early",
        "window_opens_at": "2023-11-13T15:59:59Z",
        "renewed": {"not_before": "2019-01-12T02:47:35Z", "not_after": "2027-01-12T15:59:59Z"},
    }))
    .unwrap_err();
    assert!(
        error.to_string().contains("window_closes_at") && error.to_string().contains("too_early"),
        "{error}"
    );
    assert!(serde_json::from_value::<Verdict>(json!({"kind": "maybe"})).is_err());
    assert!(serde_json::from_value::<Verdict>(json!({"renewed": null})).is_err());
    assert!(serde_json::from_value::<Verdict>(json!({
        "kind": "eligible",
        "window_closes_at": "not a time",
        "renewed": {"not_before": "2019-01-12T02:47:35Z", "not_after": "2027-01-12T15:59:59Z"},
    }))
    .is_err());
    let error =
        serde_json::from_value::<ResumeResponse>(json!({"state": "write_pending"})).unwrap_err();
    assert!(error.to_string().contains("renewal"), "{error}");
    assert!(serde_json::from_value::<ResumeResponse>(json!({"state": "completed"})).is_err());
}

#[test]
fn validated_fields_refuse_bad_values_on_the_wire() {
    assert!(serde_json::from_value::<CardNumber>(json!("TP0300")).is_err());
    assert!(serde_json::from_value::<CertificateSerial>(json!("xyz")).is_err());
    assert!(serde_json::from_value::<RenewalNumber>(json!("")).is_err());
    assert!(serde_json::from_value::<Base64Bytes>(json!("@@")).is_err());
}

#[test]
fn bad_identity_gets_its_own_code() {
    let mut proof = HolderProof {
        national_id: "A123456788".into(),
        birthday: "0790101".into(),
        card_signature: Base64Bytes::default(),
    };
    assert_eq!(
        proof.identity().unwrap_err().code,
        ErrorCode::NationalIdChecksum
    );
    proof.national_id = "A123456789".into();
    proof.birthday = "79/02/30".into();
    assert_eq!(
        proof.identity().unwrap_err().code,
        ErrorCode::BirthdayNoSuchDate
    );
}

#[test]
fn error_codes_are_snake_case_strings_with_statuses() {
    let codes = [
        (ErrorCode::MalformedRequest, "malformed_request", 400),
        (
            ErrorCode::NationalIdFirstLetter,
            "national_id_first_letter",
            400,
        ),
        (
            ErrorCode::BirthdayRocYearZero,
            "birthday_roc_year_zero",
            400,
        ),
        (ErrorCode::IdentityMismatch, "identity_mismatch", 403),
        (
            ErrorCode::ProofOfPossessionFailed,
            "proof_of_possession_failed",
            403,
        ),
        (ErrorCode::ChallengeUnknown, "challenge_unknown", 404),
        (ErrorCode::TooEarly, "too_early", 409),
        (ErrorCode::NotOriginalTerm, "not_original_term", 409),
        (
            ErrorCode::CertificatesNotSameCard,
            "certificates_not_same_card",
            422,
        ),
        (ErrorCode::RateLimited, "rate_limited", 429),
        (ErrorCode::RequestTooLarge, "request_too_large", 413),
        (ErrorCode::UnknownEndpoint, "unknown_endpoint", 404),
        (ErrorCode::Internal, "internal", 500),
    ];
    for (code, text, status) in codes {
        assert_eq!(serde_json::to_value(code).unwrap(), json!(text));
        assert_eq!(
            serde_json::from_value::<ErrorCode>(json!(text)).unwrap(),
            code
        );
        assert_eq!(code.http_status(), status, "{text}");
    }
}

#[test]
fn every_refusing_verdict_has_an_error_code() {
    let validity = old_validity();
    let cases = [
        (
            decide(
                &validity,
                CertificateStatus::Valid,
                RenewalRecord::NotRenewed,
                datetime!(2023-01-01 0:00 UTC),
            ),
            ErrorCode::TooEarly,
        ),
        (
            decide(
                &validity,
                CertificateStatus::Valid,
                RenewalRecord::NotRenewed,
                datetime!(2030-01-01 0:00 UTC),
            ),
            ErrorCode::TooLate,
        ),
        (
            decide(
                &validity,
                CertificateStatus::Valid,
                RenewalRecord::Renewed,
                validity.not_after,
            ),
            ErrorCode::AlreadyRenewed,
        ),
        (Verdict::Revoked, ErrorCode::Revoked),
        (Verdict::Suspended, ErrorCode::Suspended),
        (
            Verdict::NotOriginalTerm { validity },
            ErrorCode::NotOriginalTerm,
        ),
    ];
    for (verdict, code) in cases {
        let error = ApiError::from_verdict(&verdict).unwrap();
        assert_eq!(error.code, code);
        let json = round_trip(&error);
        assert_eq!(json["verdict"]["kind"], verdict.kind());
    }
    let eligible = decide(
        &validity,
        CertificateStatus::Valid,
        RenewalRecord::NotRenewed,
        validity.not_after,
    );
    assert!(ApiError::from_verdict(&eligible).is_none());
    // A plain error has no verdict field at all.
    assert_eq!(
        serde_json::to_value(ApiError::new(ErrorCode::Internal, "x")).unwrap(),
        json!({"code": "internal", "message": "x"})
    );
}

#[test]
fn receipt_prints_in_both_languages() {
    let receipt = receipt();
    let json = round_trip(&receipt);
    assert_eq!(json["holder_name_masked"], "王○明");
    assert_eq!(json["renewed_at"], "2024-01-01T02:30:00Z");

    let zh = receipt.lines(Language::ZhTw);
    assert_eq!(Receipt::title(Language::ZhTw), "自然人憑證展期收執聯");
    assert_eq!(
        zh[0],
        ReceiptLine {
            label: "展期編號",
            value: "R20240101-000001".into()
        }
    );
    assert_eq!(zh[1].value, "王○明");
    assert_eq!(zh[3].value, "0A1B");
    assert_eq!(
        zh[6].value,
        "民國108年1月12日 10:47:35（2019-01-12） 至 民國116年1月12日 23:59:59（2027-01-12）"
    );
    assert_eq!(zh[7].value, "民國113年1月1日 10:30:00（2024-01-01）");

    let en = receipt.lines(Language::En);
    assert_eq!(
        en[2],
        ReceiptLine {
            label: "Card number",
            value: "TP03000000000123".into()
        }
    );
    assert_eq!(
        en[5].value,
        "12 January 2019, 10:47:35 Taiwan time (ROC 108/01/12) to 12 January 2024, 23:59:59 \
         Taiwan time (ROC 113/01/12)"
    );
}

/// The renew and resume bodies as the page sent them before the holder's part was shared
/// (`HolderProof`, flattened): read and written again, they are the same bytes.
#[test]
fn renew_and_resume_bodies_keep_their_bytes() {
    let renew = r#"{"challenge_id":"c-1","national_id":"a123456789","birthday":"0790101","card_signature":"/////w==","signature_certificate_serial":"0A","encryption_certificate_serial":"0B","card_number":"TP03000000000123"}"#;
    let request: RenewRequest = serde_json::from_str(renew).unwrap();
    assert_eq!(serde_json::to_string(&request).unwrap(), renew);

    let resume = r#"{"card_number":"TP03000000000123","certificate_serials":["0A","1B"],"challenge_id":"c1","signature_certificate_serial":"0A","national_id":"a123456789","birthday":"0790101","card_signature":"AQID"}"#;
    let request: ResumeRequest = serde_json::from_str(resume).unwrap();
    assert_eq!(serde_json::to_string(&request).unwrap(), resume);
}
