//! Deserializing the API's tagged enums ([`Verdict`], [`ResumeResponse`]) through one flat
//! struct each. Serde's derive for an internally tagged enum buffers the whole object into a
//! generic tree before picking the variant, which cost the page about 40 KB of WebAssembly
//! (9 KB brotli-compressed); a flat struct with optional fields reads the same JSON in one
//! pass. The wire format is unchanged: the tag names the variant, the variant's fields sit
//! beside it, and unknown fields are ignored, as before.

use serde::Deserialize;
use time::OffsetDateTime;

use crate::api::{RenewResponse, ResumeResponse};
use crate::receipt::Receipt;
use crate::rules::{AlreadyRenewedBasis, NewCardApplication, Validity, Verdict};

/// A variant's field was absent (or `null`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("missing field `{field}` for `{variant}`")]
pub struct MissingField {
    variant: &'static str,
    field: &'static str,
}

fn required<T>(
    value: Option<T>,
    variant: &'static str,
    field: &'static str,
) -> Result<T, MissingField> {
    value.ok_or(MissingField { variant, field })
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum VerdictKind {
    Eligible,
    TooEarly,
    TooLate,
    AlreadyRenewed,
    Revoked,
    Suspended,
    NotOriginalTerm,
}

/// Every field any [`Verdict`] variant has, beside its `kind`.
#[derive(Deserialize)]
pub(crate) struct FlatVerdict {
    kind: VerdictKind,
    #[serde(default, with = "time::serde::rfc3339::option")]
    window_opens_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    window_closes_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    window_closed_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    expires_for_good_at: Option<OffsetDateTime>,
    #[serde(default)]
    renewed: Option<Validity>,
    #[serde(default)]
    validity: Option<Validity>,
    #[serde(default)]
    new_card: Option<NewCardApplication>,
    #[serde(default)]
    basis: Option<AlreadyRenewedBasis>,
}

impl TryFrom<FlatVerdict> for Verdict {
    type Error = MissingField;

    fn try_from(flat: FlatVerdict) -> Result<Self, Self::Error> {
        Ok(match flat.kind {
            VerdictKind::Eligible => Verdict::Eligible {
                window_closes_at: required(flat.window_closes_at, "eligible", "window_closes_at")?,
                renewed: required(flat.renewed, "eligible", "renewed")?,
            },
            VerdictKind::TooEarly => Verdict::TooEarly {
                window_opens_at: required(flat.window_opens_at, "too_early", "window_opens_at")?,
                window_closes_at: required(flat.window_closes_at, "too_early", "window_closes_at")?,
                renewed: required(flat.renewed, "too_early", "renewed")?,
            },
            VerdictKind::TooLate => Verdict::TooLate {
                window_closed_at: required(flat.window_closed_at, "too_late", "window_closed_at")?,
                new_card: required(flat.new_card, "too_late", "new_card")?,
            },
            VerdictKind::AlreadyRenewed => Verdict::AlreadyRenewed {
                basis: required(flat.basis, "already_renewed", "basis")?,
                expires_for_good_at: required(
                    flat.expires_for_good_at,
                    "already_renewed",
                    "expires_for_good_at",
                )?,
                new_card: required(flat.new_card, "already_renewed", "new_card")?,
            },
            VerdictKind::Revoked => Verdict::Revoked,
            VerdictKind::Suspended => Verdict::Suspended,
            VerdictKind::NotOriginalTerm => Verdict::NotOriginalTerm {
                validity: required(flat.validity, "not_original_term", "validity")?,
            },
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ResumeState {
    NothingPending,
    WritePending,
    Completed,
}

/// Every field any [`ResumeResponse`] variant has, beside its `state`.
#[derive(Deserialize)]
pub(crate) struct FlatResumeResponse {
    state: ResumeState,
    #[serde(default)]
    renewal: Option<RenewResponse>,
    #[serde(default)]
    receipt: Option<Receipt>,
}

impl TryFrom<FlatResumeResponse> for ResumeResponse {
    type Error = MissingField;

    fn try_from(flat: FlatResumeResponse) -> Result<Self, Self::Error> {
        Ok(match flat.state {
            ResumeState::NothingPending => ResumeResponse::NothingPending,
            ResumeState::WritePending => ResumeResponse::WritePending {
                renewal: required(flat.renewal, "write_pending", "renewal")?,
            },
            ResumeState::Completed => ResumeResponse::Completed {
                receipt: required(flat.receipt, "completed", "receipt")?,
            },
        })
    }
}
