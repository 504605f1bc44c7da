//! The audit log: one line per request that reached the API, whatever its outcome, in the
//! same transaction as the change it records (the database refuses to alter or delete a line).
//!
//! A line names the action, the outcome (`ok` or the error code), the client address, the
//! certificate serial and the renewal number when known, and a short detail. It never holds a
//! national ID number, a birthday, a signature or a challenge: the detail is written by this
//! crate, not copied from the request.

use renewal::ErrorCode;
use time::OffsetDateTime;

/// One audit line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When.
    pub at: OffsetDateTime,
    /// Which API action (`verdict`, `renew`, `complete`, `resume`, `receipt`, `server_info`,
    /// `request`).
    pub action: String,
    /// `ok`, or the error code answered.
    pub outcome: String,
    /// The client's address.
    pub client: Option<String>,
    /// The certificate concerned, upper-case hex.
    pub certificate_serial: Option<String>,
    /// The renewal concerned.
    pub renewal_number: Option<String>,
    /// What happened, in a few words.
    pub detail: String,
}

/// The outcome text for a success.
pub const OK: &str = "ok";

impl AuditEntry {
    /// A line for `action` at `at`, from `client`, with outcome `ok` so far.
    pub fn new(action: &str, at: OffsetDateTime, client: Option<String>) -> Self {
        Self {
            at,
            action: action.to_owned(),
            outcome: OK.to_owned(),
            client,
            certificate_serial: None,
            renewal_number: None,
            detail: String::new(),
        }
    }

    /// The same line about this certificate.
    pub fn certificate(mut self, serial: impl ToString) -> Self {
        self.certificate_serial = Some(serial.to_string());
        self
    }

    /// The same line about this renewal.
    pub fn renewal(mut self, renewal_number: impl ToString) -> Self {
        self.renewal_number = Some(renewal_number.to_string());
        self
    }

    /// The same line with this detail.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// The same line refused with `code`.
    pub fn refused(mut self, code: ErrorCode) -> Self {
        self.outcome = error_code_name(code);
        self
    }
}

/// An error code's wire name (`identity_mismatch`).
pub fn error_code_name(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{code:?}"))
}
