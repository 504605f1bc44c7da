//! The renewal rules of RULES.md, boundary by boundary, to the second.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use renewal::calendar::TAIWAN_OFFSET;
use renewal::rules::{
    classify_term, renewal_window, renewed_validity, AlreadyRenewedBasis, NewCardApplication, Term,
};
use renewal::{decide, CertificateStatus, RenewalRecord, RocDate, Validity, Verdict};
use time::macros::datetime;
use time::{Duration, OffsetDateTime, PrimitiveDateTime, Time};

use CertificateStatus::{Revoked, Suspended, Valid};
use RenewalRecord::{NotRenewed, Renewed};

/// A second-generation certificate: issued 2019-01-12 02:47:35 UTC, ending 23:59:59 Taiwan
/// time five years later (the real card quoted in RULES.md).
fn second_generation() -> Validity {
    Validity {
        not_before: datetime!(2019-01-12 02:47:35 UTC),
        not_after: datetime!(2024-01-12 15:59:59 UTC),
    }
}

const SECOND: Duration = Duration::seconds(1);

fn eligible(verdict: &Verdict) -> bool {
    verdict.is_eligible()
}

#[test]
fn window_opens_exactly_60_days_before_expiry() {
    let validity = second_generation();
    // 60 × 86 400 s before 2024-01-12 15:59:59 UTC.
    let opens = datetime!(2023-11-13 15:59:59 UTC);
    assert_eq!(validity.not_after - opens, Duration::seconds(60 * 86_400));
    assert!(eligible(&decide(&validity, Valid, NotRenewed, opens)));
    assert_eq!(
        decide(&validity, Valid, NotRenewed, opens - SECOND),
        Verdict::TooEarly {
            window_opens_at: opens,
            window_closes_at: datetime!(2027-01-12 15:59:59 UTC),
            renewed: Validity {
                not_before: validity.not_before,
                not_after: datetime!(2027-01-12 15:59:59 UTC),
            },
        }
    );
}

#[test]
fn window_closes_exactly_3_years_after_expiry() {
    let validity = second_generation();
    let closes = datetime!(2027-01-12 15:59:59 UTC);
    assert!(eligible(&decide(&validity, Valid, NotRenewed, closes)));
    assert_eq!(
        decide(&validity, Valid, NotRenewed, closes + SECOND),
        Verdict::TooLate {
            window_closed_at: closes,
            new_card: NewCardApplication::official()
        }
    );
}

#[test]
fn eligible_at_expiry_and_between() {
    let validity = second_generation();
    for now in [
        validity.not_after,
        validity.not_after + SECOND,
        datetime!(2025-06-01 00:00 UTC),
    ] {
        assert!(
            eligible(&decide(&validity, Valid, NotRenewed, now)),
            "{now}"
        );
    }
}

#[test]
fn renewed_validity_keeps_not_before_and_adds_three_calendar_years() {
    let renewed = renewed_validity(&second_generation()).unwrap();
    // The real renewed card of RULES.md: 2019-01-12 02:47:35 UTC → 2027-01-12 15:59:59 UTC.
    assert_eq!(renewed.not_before, datetime!(2019-01-12 02:47:35 UTC));
    assert_eq!(renewed.not_after, datetime!(2027-01-12 15:59:59 UTC));
    assert_eq!(classify_term(&renewed), Term::Renewed);
}

#[test]
fn renewal_result_does_not_depend_on_when_it_happens() {
    let validity = second_generation();
    let early = datetime!(2023-11-13 15:59:59 UTC);
    let late = datetime!(2026-01-12 00:00:00 UTC);
    let renewed_at = |now| match decide(&validity, Valid, NotRenewed, now) {
        Verdict::Eligible { renewed, .. } => renewed,
        other => panic!("not eligible: {other:?}"),
    };
    assert_eq!(renewed_at(early), renewed_at(late));
}

#[test]
fn notice_example_107_5_1_renews_to_110_5_1() {
    let taiwan = |roc: RocDate, time: Time| -> OffsetDateTime {
        PrimitiveDateTime::new(roc.to_gregorian(), time).assume_offset(TAIWAN_OFFSET)
    };
    let end_of_day = Time::from_hms(23, 59, 59).unwrap();
    let validity = Validity {
        not_before: taiwan(
            RocDate::new(102, 5, 1).unwrap(),
            Time::from_hms(9, 30, 0).unwrap(),
        ),
        not_after: taiwan(RocDate::new(107, 5, 1).unwrap(), end_of_day),
    };
    let renewed = renewed_validity(&validity).unwrap();
    let renewed_end = RocDate::from_gregorian(renewed.not_after.to_offset(TAIWAN_OFFSET).date());
    assert_eq!(renewed_end, RocDate::new(110, 5, 1));
    assert_eq!(
        renewed.not_after,
        taiwan(RocDate::new(110, 5, 1).unwrap(), end_of_day)
    );
    // Renewing 60 days early or two years late gives the same 110/5/1.
    for now in [
        validity.not_after - Duration::days(60),
        validity.not_after + Duration::days(730),
    ] {
        match decide(&validity, Valid, NotRenewed, now) {
            Verdict::Eligible {
                renewed: at_now, ..
            } => assert_eq!(at_now, renewed),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn feb_29_expiry_renews_to_feb_28() {
    // A Feb 29 expiry (Taiwan time), time of day kept.
    let validity = Validity {
        not_before: datetime!(2019-02-28 03:00:00 UTC),
        not_after: datetime!(2024-02-29 15:59:59 UTC),
    };
    let renewed = renewed_validity(&validity).unwrap();
    assert_eq!(renewed.not_before, validity.not_before);
    assert_eq!(renewed.not_after, datetime!(2027-02-28 15:59:59 UTC));
    let window = renewal_window(&validity).unwrap();
    assert_eq!(window.closes_at, datetime!(2027-02-28 15:59:59 UTC));
    assert_eq!(window.opens_at, datetime!(2023-12-31 15:59:59 UTC));
}

#[test]
fn certificate_issued_on_feb_29_ends_feb_28_and_renews_to_feb_28() {
    // Issued 29 Feb 2020 (Taiwan): five years later has no 29 February.
    let validity = Validity {
        not_before: datetime!(2020-02-29 01:00:00 UTC),
        not_after: datetime!(2025-02-28 15:59:59 UTC),
    };
    assert_eq!(classify_term(&validity), Term::Original);
    let renewed = renewed_validity(&validity).unwrap();
    assert_eq!(renewed.not_after, datetime!(2028-02-28 15:59:59 UTC));
    // 2028 has a 29 February, but the renewed certificate still reads as renewed.
    assert_eq!(classify_term(&renewed), Term::Renewed);
    assert!(eligible(&decide(
        &validity,
        Valid,
        NotRenewed,
        datetime!(2025-02-01 00:00 UTC)
    )));
}

#[test]
fn both_real_term_endings_are_five_years() {
    // First generation: exactly 5 years to the second.
    let first = Validity {
        not_before: datetime!(2015-03-10 06:20:00 UTC),
        not_after: datetime!(2020-03-10 06:20:00 UTC),
    };
    // Second generation: 23:59:59 Taiwan time (15:59:59 UTC) on that date.
    let second = second_generation();
    for validity in [first, second] {
        assert_eq!(classify_term(&validity), Term::Original);
        assert!(eligible(&decide(
            &validity,
            Valid,
            NotRenewed,
            validity.not_after
        )));
    }
    // Issued at 07:00 Taiwan time (23:00 UTC the day before): dates compare in Taiwan time.
    let early_morning = Validity {
        not_before: datetime!(2019-05-31 23:00:00 UTC),
        not_after: datetime!(2024-06-01 15:59:59 UTC),
    };
    assert_eq!(classify_term(&early_morning), Term::Original);
}

#[test]
fn eight_year_certificate_is_already_renewed() {
    let eight_years = Validity {
        not_before: datetime!(2019-01-12 02:47:35 UTC),
        not_after: datetime!(2027-01-12 15:59:59 UTC),
    };
    assert_eq!(
        decide(
            &eight_years,
            Valid,
            NotRenewed,
            datetime!(2026-12-01 00:00 UTC)
        ),
        Verdict::AlreadyRenewed {
            basis: AlreadyRenewedBasis::EightYearTerm,
            expires_for_good_at: eight_years.not_after,
            new_card: NewCardApplication::official(),
        }
    );
}

#[test]
fn authority_record_decides_already_renewed() {
    let validity = second_generation();
    assert_eq!(
        decide(&validity, Valid, Renewed, validity.not_after),
        Verdict::AlreadyRenewed {
            basis: AlreadyRenewedBasis::AuthorityRecord,
            expires_for_good_at: datetime!(2027-01-12 15:59:59 UTC),
            new_card: NewCardApplication::official(),
        }
    );
}

#[test]
fn revoked_and_suspended_are_refused_with_their_status() {
    let validity = second_generation();
    let now = validity.not_after;
    assert_eq!(
        decide(&validity, Revoked, NotRenewed, now),
        Verdict::Revoked
    );
    assert_eq!(
        decide(&validity, Suspended, NotRenewed, now),
        Verdict::Suspended
    );
}

#[test]
fn four_year_and_other_terms_are_not_original() {
    let four_years = Validity {
        not_before: datetime!(2020-01-12 02:47:35 UTC),
        not_after: datetime!(2024-01-12 15:59:59 UTC),
    };
    assert_eq!(
        decide(&four_years, Valid, NotRenewed, four_years.not_after),
        Verdict::NotOriginalTerm {
            validity: four_years
        }
    );
    // A day off either way is not 5 years either.
    for not_after in [
        datetime!(2024-01-11 15:59:59 UTC),
        datetime!(2024-01-13 15:59:59 UTC),
    ] {
        let validity = Validity {
            not_after,
            ..second_generation()
        };
        assert_eq!(classify_term(&validity), Term::Other, "{not_after}");
    }
    // The test CA's two-month certificates, and an end before the start.
    let two_months = Validity {
        not_before: datetime!(2024-07-08 03:21:43 UTC),
        not_after: datetime!(2024-09-08 15:59:59 UTC),
    };
    assert_eq!(classify_term(&two_months), Term::Other);
    let backwards = Validity {
        not_before: datetime!(2024-01-01 0:00 UTC),
        not_after: datetime!(2019-01-01 0:00 UTC),
    };
    assert_eq!(classify_term(&backwards), Term::Other);
}

#[test]
fn the_least_fixable_reason_comes_first() {
    let validity = second_generation();
    let too_late = datetime!(2030-01-01 00:00 UTC);
    let too_early = datetime!(2023-01-01 00:00 UTC);
    // Revoked beats too late; too late beats suspended; suspended beats too early.
    assert_eq!(
        decide(&validity, Revoked, NotRenewed, too_late),
        Verdict::Revoked
    );
    assert!(matches!(
        decide(&validity, Suspended, NotRenewed, too_late),
        Verdict::TooLate { .. }
    ));
    assert_eq!(
        decide(&validity, Suspended, NotRenewed, too_early),
        Verdict::Suspended
    );
    // Already renewed beats revoked; not an original term beats everything.
    assert!(matches!(
        decide(&validity, Revoked, Renewed, validity.not_after),
        Verdict::AlreadyRenewed { .. }
    ));
    let four_years = Validity {
        not_before: datetime!(2020-01-12 02:47:35 UTC),
        ..validity
    };
    assert!(matches!(
        decide(&four_years, Revoked, Renewed, too_late),
        Verdict::NotOriginalTerm { .. }
    ));
}

#[test]
fn certificates_near_year_9999_do_not_panic() {
    let far = Validity {
        not_before: datetime!(9996-01-01 00:00 UTC),
        not_after: datetime!(9999-12-31 23:59:59 UTC),
    };
    assert_eq!(classify_term(&far), Term::Other);
    assert!(matches!(
        decide(&far, Valid, NotRenewed, datetime!(9999-12-31 23:00 UTC)),
        Verdict::NotOriginalTerm { .. }
    ));
    assert!(!renewal::roc_date::format_instant(far.not_after, renewal::Language::ZhTw).is_empty());
    let five = Validity {
        not_before: datetime!(9994-06-01 00:00 UTC),
        not_after: datetime!(9999-06-01 00:00 UTC),
    };
    assert_eq!(classify_term(&five), Term::Original);
    assert!(matches!(
        decide(&five, Valid, NotRenewed, datetime!(9999-05-01 0:00 UTC)),
        Verdict::NotOriginalTerm { .. }
    ));
}

#[test]
fn verdict_json_names_its_kind_in_english() {
    let validity = second_generation();
    let json =
        serde_json::to_value(decide(&validity, Valid, NotRenewed, validity.not_after)).unwrap();
    assert_eq!(json["kind"], "eligible");
    assert_eq!(json["window_closes_at"], "2027-01-12T15:59:59Z");
    assert_eq!(json["renewed"]["not_before"], "2019-01-12T02:47:35Z");
    assert_eq!(json["renewed"]["not_after"], "2027-01-12T15:59:59Z");

    let json =
        serde_json::to_value(decide(&validity, Revoked, NotRenewed, validity.not_after)).unwrap();
    assert_eq!(json, serde_json::json!({"kind": "revoked"}));

    let too_late = decide(&validity, Valid, NotRenewed, datetime!(2030-01-01 0:00 UTC));
    let json = serde_json::to_value(&too_late).unwrap();
    assert_eq!(json["kind"], "too_late");
    assert_eq!(json["new_card"]["ic_card_fee_ntd"], 250);
    assert_eq!(
        json["new_card"]["bring"],
        serde_json::json!(["national_id_card_original", "ic_card_fee", "email_address"])
    );
    let back: Verdict = serde_json::from_value(json).unwrap();
    assert_eq!(back, too_late);
}

#[test]
fn new_card_instructions_read_in_both_languages() {
    let application = NewCardApplication::official();
    let zh = application.describe(renewal::Language::ZhTw);
    assert!(
        zh.contains("國民身分證正本") && zh.contains("250元") && zh.contains("任一戶政事務所"),
        "{zh}"
    );
    let en = application.describe(renewal::Language::En);
    assert_eq!(
        en,
        "Apply for a new card at any household registration office, in any city. Bring your \
         national ID card (the original), the IC card fee of NT$250 and an e-mail address."
    );
}
