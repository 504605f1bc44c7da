//! The renewal domain of the citizen digital certificate (自然人憑證, MOICA): what the page and
//! the renewal authority both need to agree on. Pure: no I/O and no clock — the authority's time
//! is always a parameter.
//!
//! A citizen certificate card holds two user certificates (signature and encryption), valid for
//! 5 years. Once, from 60 days before expiry until 3 years after it, the holder may renew them
//! for 3 more years (8 in all), online or at a household registration office. This crate holds:
//!
//! - [`certificate`]: a MOICA certificate read from DER with typed ASN.1 — holder name, subject
//!   serialNumber, last 4 ID digits, type, validity, issuer, serial, key identifiers, key and
//!   key usage — into [`CitizenCertificate`];
//! - [`rules`]: the rules of `RULES.md` as one function, [`decide`], giving a [`Verdict`], and
//!   the renewed validity;
//! - [`roc_date`]: 民國 dates both ways, and display in zh-TW and English;
//! - [`national_id`] and [`birthday`]: what the user types, checked, with the reason for a
//!   refusal;
//! - [`proof`]: the exact bytes the card signs to prove possession of its key;
//! - [`api`]: the HTTP API's paths, bodies and error codes;
//! - [`receipt`]: the printable receipt, with the masked holder name;
//! - [`calendar`], [`language`]: small shared pieces;
//! - [`CardNumber`] and [`KeyRole`]: the words shared with the `card` crate, owned by `terms`
//!   and re-exported here.
//!
//! ```
//! use renewal::{decide, CertificateStatus, RenewalRecord, Validity, Verdict};
//! use time::macros::datetime;
//!
//! // Issued 2019-01-12, ending 23:59:59 Taiwan time five years later.
//! let validity = Validity {
//!     not_before: datetime!(2019-01-12 02:47:35 UTC),
//!     not_after: datetime!(2024-01-12 15:59:59 UTC),
//! };
//! let verdict = decide(
//!     &validity,
//!     CertificateStatus::Valid,
//!     RenewalRecord::NotRenewed,
//!     datetime!(2024-01-01 00:00:00 UTC),
//! );
//! let Verdict::Eligible { renewed, .. } = verdict else { unreachable!() };
//! assert_eq!(renewed.not_after, datetime!(2027-01-12 15:59:59 UTC));
//! ```
//!
//! Everything here builds for `wasm32-unknown-unknown`; nothing reads a clock, a file or the
//! network, and nothing panics on data from a card, a user or the network.

#![warn(missing_docs)]

pub mod api;
pub mod birthday;
pub mod calendar;
pub mod certificate;
pub mod language;
pub mod national_id;
pub mod proof;
pub mod receipt;
pub mod roc_date;
pub mod rules;
mod text;
mod wire;

pub use api::{ApiError, ErrorCode};
pub use birthday::{Birthday, BirthdayError};
pub use certificate::{CertificateError, CertificateSerial, CertificateView, CitizenCertificate};
pub use language::Language;
pub use national_id::{NationalId, NationalIdError};
pub use proof::Challenge;
pub use receipt::{mask_holder_name, Receipt, RenewalNumber};
pub use roc_date::RocDate;
pub use rules::{decide, CertificateStatus, RenewalRecord, Validity, Verdict};
pub use terms::{CardNumber, CardNumberError, KeyRole};
