//! The renewal verdict for a certificate's validity, status and record at an instant, as JSON.
//!
//! ```sh
//! cargo run -p renewal --example verdict -- \
//!     2019-01-12T02:47:35Z 2024-01-12T15:59:59Z valid false 2024-01-01T00:00:00Z
//! ```
//!
//! Arguments: notBefore, notAfter and now as RFC 3339 times; the status `valid`, `revoked` or
//! `suspended`; whether the authority's record shows the card renewed (`true`/`false`).
//! Prints the verdict (`kind`: eligible, too_early, too_late, already_renewed, revoked,
//! suspended, not_original_term) with its dates, the term and, for an original 5-year term,
//! the window and the renewed validity.
//! Bad arguments print `{"error": …}` and exit with status 1.

use renewal::roc_date::format_instant;
use renewal::rules::{classify_term, renewal_window, renewed_validity, RenewalWindow, Term};
use renewal::{decide, CertificateStatus, Language, RenewalRecord, Validity, Verdict};
use serde::Serialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

const USAGE: &str = "usage: verdict <notBefore> <notAfter> <valid|revoked|suspended> \
                     <renewed:true|false> <now> (times in RFC 3339, e.g. 2024-01-12T15:59:59Z)";

fn main() {
    match run(std::env::args().skip(1).collect()) {
        Ok(output) => println!("{output}"),
        Err(problem) => {
            println!("{:#}", json!({ "error": problem }));
            std::process::exit(1);
        }
    }
}

fn instant(label: &str, text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(|time| time.to_offset(UtcOffset::UTC))
        .map_err(|e| format!("{label}: {text:?} is not an RFC 3339 time ({e})"))
}

/// What the example prints: the verdict's own fields first, then the context around it.
#[derive(Serialize)]
struct Output {
    #[serde(flatten)]
    verdict: Verdict,
    term: Term,
    // Window and renewed validity only for an original term: nothing else can be renewed.
    #[serde(skip_serializing_if = "Option::is_none")]
    window: Option<RenewalWindow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    renewed_validity: Option<Validity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    window_taiwan_time: Option<WindowInTaiwan>,
}

#[derive(Serialize)]
struct WindowInTaiwan {
    opens_at: BothLanguages,
    closes_at: BothLanguages,
}

#[derive(Serialize)]
struct BothLanguages {
    #[serde(rename = "zh-TW")]
    zh_tw: String,
    en: String,
}

fn both_languages(instant: OffsetDateTime) -> BothLanguages {
    BothLanguages {
        zh_tw: format_instant(instant, Language::ZhTw),
        en: format_instant(instant, Language::En),
    }
}

fn run(args: Vec<String>) -> Result<String, String> {
    let [not_before, not_after, status, renewed, now] = args.as_slice() else {
        return Err(format!("expected 5 arguments, got {}; {USAGE}", args.len()));
    };
    let validity = Validity {
        not_before: instant("notBefore", not_before)?,
        not_after: instant("notAfter", not_after)?,
    };
    let status = match status.as_str() {
        "valid" => CertificateStatus::Valid,
        "revoked" => CertificateStatus::Revoked,
        "suspended" => CertificateStatus::Suspended,
        other => {
            return Err(format!(
                "status: {other:?} is not valid, revoked or suspended"
            ))
        }
    };
    let record = match renewed.as_str() {
        "true" => RenewalRecord::Renewed,
        "false" => RenewalRecord::NotRenewed,
        other => return Err(format!("renewed: {other:?} is not true or false")),
    };
    let now = instant("now", now)?;

    let term = classify_term(&validity);
    let original = term == Term::Original;
    let window = renewal_window(&validity).filter(|_| original);
    let output = Output {
        verdict: decide(&validity, status, record, now),
        term,
        window,
        renewed_validity: renewed_validity(&validity).filter(|_| original),
        window_taiwan_time: window.map(|window| WindowInTaiwan {
            opens_at: both_languages(window.opens_at),
            closes_at: both_languages(window.closes_at),
        }),
    };
    // Straight to text: a `Value` would sort the keys and bury `kind`.
    serde_json::to_string_pretty(&output).map_err(|e| e.to_string())
}
