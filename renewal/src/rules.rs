//! Who may renew, and what renewal produces (`RULES.md`), as one function: [`decide`].
//!
//! - **Term.** Calendar dates in Taiwan time: notAfter's date is notBefore's date + 5 years
//!   (an original certificate) or + 8 years (a renewed one); 29 February + n years is
//!   28 February when that year has none. Anything else is not an original 5-year certificate.
//! - **Window.** `notAfter − 60 days ≤ now ≤ notAfter + 3 years`, both ends included. The 60 days
//!   are counted to the second (60 × 86 400 s); the 3 years are calendar years in Taiwan time,
//!   so the window closes exactly when the renewed certificate would expire.
//! - **Renewed validity.** notBefore kept, notAfter + 3 calendar years (Taiwan time, time of day
//!   kept, 29 February → 28 February), whenever the renewal happens.
//!
//! When several reasons apply, the verdict names the one the holder can do least about first,
//! so nobody is sent on an errand that cannot help (**decision**; RULES.md gives no order):
//! not an original term → already renewed → revoked → too late → suspended → too early.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::calendar::{add_calendar_years, add_calendar_years_taiwan, taiwan_date};
use crate::language::Language;

/// Years an original certificate is valid.
pub const ORIGINAL_TERM_YEARS: i32 = 5;
/// Years a renewal adds to notAfter.
pub const RENEWAL_YEARS: i32 = 3;
/// How long before notAfter the window opens: 60 days, to the second (not "two months").
pub const WINDOW_OPENS_BEFORE_EXPIRY: Duration = Duration::seconds(60 * 86_400);
/// The IC card fee for a new card, in New Taiwan dollars.
pub const NEW_CARD_FEE_NTD: u32 = 250;

/// A certificate's validity period, in UTC; serialized as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Validity {
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity (the last valid second).
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
}

/// The certificate's status in the authority's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateStatus {
    /// Valid: neither revoked nor suspended.
    Valid,
    /// Revoked (廢止).
    Revoked,
    /// Suspended (停用).
    Suspended,
}

/// Whether the authority's records show this certificate's lineage already renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenewalRecord {
    /// Never renewed.
    NotRenewed,
    /// Renewed once already (the limit).
    Renewed,
}

/// The length of a certificate's term, by Taiwan calendar dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Term {
    /// 5 years: an original certificate.
    Original,
    /// 8 years: a renewed certificate (5 + 3).
    Renewed,
    /// Anything else.
    Other,
}

/// When renewal is possible for a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RenewalWindow {
    /// notAfter − 60 days: the first second renewal is possible.
    #[serde(with = "time::serde::rfc3339")]
    pub opens_at: OffsetDateTime,
    /// notAfter + 3 calendar years: the last second renewal is possible.
    #[serde(with = "time::serde::rfc3339")]
    pub closes_at: OffsetDateTime,
}

/// Why the authority's records or the certificate show a renewal already happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlreadyRenewedBasis {
    /// The authority's record says this lineage was renewed.
    AuthorityRecord,
    /// The certificate itself spans 8 years.
    EightYearTerm,
}

/// Where to apply for a new card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationPlace {
    /// Any household registration office (戶政事務所), in any city (不限戶籍地).
    AnyHouseholdRegistrationOffice,
}

/// What to bring when applying for a new card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationItem {
    /// The national ID card, the original (身分證正本).
    NationalIdCardOriginal,
    /// The IC card fee (IC卡工本費), [`NEW_CARD_FEE_NTD`].
    IcCardFee,
    /// An e-mail address (E-MAIL信箱).
    EmailAddress,
}

/// How to get a new card once renewal is impossible (RULES.md "After 8 years").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NewCardApplication {
    /// Where to go.
    pub at: ApplicationPlace,
    /// What to bring.
    pub bring: Vec<ApplicationItem>,
    /// The IC card fee in NT$.
    pub ic_card_fee_ntd: u32,
}

impl NewCardApplication {
    /// The official instructions.
    pub fn official() -> Self {
        Self {
            at: ApplicationPlace::AnyHouseholdRegistrationOffice,
            bring: vec![
                ApplicationItem::NationalIdCardOriginal,
                ApplicationItem::IcCardFee,
                ApplicationItem::EmailAddress,
            ],
            ic_card_fee_ntd: NEW_CARD_FEE_NTD,
        }
    }

    /// The instructions as a sentence.
    pub fn describe(&self, language: Language) -> String {
        let items: Vec<String> = self
            .bring
            .iter()
            .map(|item| match (item, language) {
                (ApplicationItem::NationalIdCardOriginal, Language::ZhTw) => {
                    "國民身分證正本".into()
                }
                (ApplicationItem::IcCardFee, Language::ZhTw) => {
                    format!("IC卡工本費新臺幣{}元", self.ic_card_fee_ntd)
                }
                (ApplicationItem::EmailAddress, Language::ZhTw) => "電子郵件信箱".into(),
                (ApplicationItem::NationalIdCardOriginal, Language::En) => {
                    "your national ID card (the original)".into()
                }
                (ApplicationItem::IcCardFee, Language::En) => {
                    format!("the IC card fee of NT${}", self.ic_card_fee_ntd)
                }
                (ApplicationItem::EmailAddress, Language::En) => "an e-mail address".into(),
            })
            .collect();
        match language {
            Language::ZhTw => format!(
                "請攜帶{}，親至任一戶政事務所重新申請自然人憑證（不限戶籍地，可跨縣市辦理）。",
                items.join("、")
            ),
            Language::En => format!(
                "Apply for a new card at any household registration office, in any city. Bring {}.",
                english_list(&items)
            ),
        }
    }
}

fn english_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The answer for one certificate at one instant. Serialized with its kind as `kind`
/// (`eligible`, `too_early`, `too_late`, `already_renewed`, `revoked`, `suspended`,
/// `not_original_term`) and times as RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    try_from = "crate::wire::FlatVerdict"
)]
pub enum Verdict {
    /// Renewal is possible now.
    Eligible {
        /// When the window closes (notAfter + 3 years).
        #[serde(with = "time::serde::rfc3339")]
        window_closes_at: OffsetDateTime,
        /// The renewed certificate's validity.
        renewed: Validity,
    },
    /// The window has not opened yet.
    TooEarly {
        /// When the window opens (notAfter − 60 days).
        #[serde(with = "time::serde::rfc3339")]
        window_opens_at: OffsetDateTime,
        /// When the window closes.
        #[serde(with = "time::serde::rfc3339")]
        window_closes_at: OffsetDateTime,
        /// The validity the renewal will give, whenever it happens.
        renewed: Validity,
    },
    /// More than 3 years after expiry: renewal is impossible; apply for a new card.
    TooLate {
        /// When the window closed.
        #[serde(with = "time::serde::rfc3339")]
        window_closed_at: OffsetDateTime,
        /// How to get a new card.
        new_card: NewCardApplication,
    },
    /// Renewed once already (the limit); after the 8 years, apply for a new card.
    AlreadyRenewed {
        /// Why we know.
        basis: AlreadyRenewedBasis,
        /// When the renewed certificate expires for good.
        #[serde(with = "time::serde::rfc3339")]
        expires_for_good_at: OffsetDateTime,
        /// How to get a new card then.
        new_card: NewCardApplication,
    },
    /// The certificate was revoked.
    Revoked,
    /// The certificate is suspended (停用).
    Suspended,
    /// The term is neither 5 nor 8 years: not an original 5-year certificate (see a counter).
    NotOriginalTerm {
        /// The validity found.
        validity: Validity,
    },
}

impl Verdict {
    /// Whether renewal may go ahead now.
    pub fn is_eligible(&self) -> bool {
        matches!(self, Verdict::Eligible { .. })
    }

    /// The English name of the verdict's kind, as serialized (`too_early`…).
    pub fn kind(&self) -> &'static str {
        match self {
            Verdict::Eligible { .. } => "eligible",
            Verdict::TooEarly { .. } => "too_early",
            Verdict::TooLate { .. } => "too_late",
            Verdict::AlreadyRenewed { .. } => "already_renewed",
            Verdict::Revoked => "revoked",
            Verdict::Suspended => "suspended",
            Verdict::NotOriginalTerm { .. } => "not_original_term",
        }
    }
}

/// The term of a validity period, comparing Taiwan calendar dates (not seconds): real
/// certificates end either exactly 5 years after issue to the second, or at 23:59:59 Taiwan
/// time on that date; both are 5 years.
pub fn classify_term(validity: &Validity) -> Term {
    let (Some(start), Some(end)) = (
        taiwan_date(validity.not_before),
        taiwan_date(validity.not_after),
    ) else {
        return Term::Other;
    };
    let original_end = add_calendar_years(start, ORIGINAL_TERM_YEARS);
    if original_end == Some(end) {
        return Term::Original;
    }
    // A renewal adds 3 years to the original end, so 29 Feb 2020 → 28 Feb 2025 → 28 Feb 2028,
    // though 2028 has a 29 February; a plain + 8 years is accepted too.
    let renewed_end = original_end.and_then(|date| add_calendar_years(date, RENEWAL_YEARS));
    let eight_years = add_calendar_years(start, ORIGINAL_TERM_YEARS + RENEWAL_YEARS);
    if renewed_end == Some(end) || eight_years == Some(end) {
        return Term::Renewed;
    }
    Term::Other
}

/// The validity a renewal gives: notBefore kept, notAfter + 3 calendar years in Taiwan time
/// (time of day kept, 29 February → 28 February). `None` past the year 9999.
pub fn renewed_validity(original: &Validity) -> Option<Validity> {
    Some(Validity {
        not_before: original.not_before,
        not_after: add_calendar_years_taiwan(original.not_after, RENEWAL_YEARS)?,
    })
}

/// The renewal window: `[notAfter − 60 days, notAfter + 3 years]`, both ends included.
/// `None` past the year 9999.
pub fn renewal_window(validity: &Validity) -> Option<RenewalWindow> {
    Some(RenewalWindow {
        opens_at: validity.not_after.checked_sub(WINDOW_OPENS_BEFORE_EXPIRY)?,
        closes_at: add_calendar_years_taiwan(validity.not_after, RENEWAL_YEARS)?,
    })
}

/// The rules of RULES.md: may this certificate be renewed at the authority's time `now`?
///
/// `status` and `record` come from the authority's records, `now` from its clock (never the
/// browser's). Identity and proof of possession (rule 5) are checked by the authority at
/// renewal, not here.
pub fn decide(
    validity: &Validity,
    status: CertificateStatus,
    record: RenewalRecord,
    now: OffsetDateTime,
) -> Verdict {
    let not_original = Verdict::NotOriginalTerm {
        validity: *validity,
    };
    let term = classify_term(validity);
    if term == Term::Other {
        return not_original;
    }
    if term == Term::Renewed || record == RenewalRecord::Renewed {
        let (basis, expires_for_good_at) = if record == RenewalRecord::Renewed {
            let expires = match term {
                // Renewed by the authority but the card still holds the original certificate
                // (for example the write was interrupted): the renewed one ends 3 years later.
                Term::Original => renewed_validity(validity).map(|renewed| renewed.not_after),
                Term::Renewed | Term::Other => None,
            };
            (
                AlreadyRenewedBasis::AuthorityRecord,
                expires.unwrap_or(validity.not_after),
            )
        } else {
            (AlreadyRenewedBasis::EightYearTerm, validity.not_after)
        };
        return Verdict::AlreadyRenewed {
            basis,
            expires_for_good_at,
            new_card: NewCardApplication::official(),
        };
    }
    let (Some(window), Some(renewed)) = (renewal_window(validity), renewed_validity(validity))
    else {
        return not_original;
    };
    match status {
        CertificateStatus::Revoked => return Verdict::Revoked,
        CertificateStatus::Suspended if now <= window.closes_at => return Verdict::Suspended,
        CertificateStatus::Valid | CertificateStatus::Suspended => {}
    }
    if now > window.closes_at {
        Verdict::TooLate {
            window_closed_at: window.closes_at,
            new_card: NewCardApplication::official(),
        }
    } else if now < window.opens_at {
        Verdict::TooEarly {
            window_opens_at: window.opens_at,
            window_closes_at: window.closes_at,
            renewed,
        }
    } else {
        Verdict::Eligible {
            window_closes_at: window.closes_at,
            renewed,
        }
    }
}
