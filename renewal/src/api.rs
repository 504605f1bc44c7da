//! The HTTP API between the page and the authority: paths, request and response bodies (JSON),
//! and error codes. Both sides use these types, so they cannot drift apart.
//!
//! Binary values (certificates, signatures, challenges) are standard base64 with padding;
//! times are RFC 3339 in UTC; serials are upper-case hex.
//!
//! | step | method and path | request | response |
//! | --- | --- | --- | --- |
//! | 3 | `GET` [`SERVER_INFO_PATH`] | — | [`ServerInfoResponse`] |
//! | 3 | `POST` [`VERDICT_PATH`] | [`VerdictRequest`] | [`VerdictResponse`] |
//! | 5 | `POST` [`RENEW_PATH`] | [`RenewRequest`] | [`RenewResponse`] |
//! | 6 | `POST` [`COMPLETE_PATH`] | [`CompleteRequest`] | [`CompleteResponse`] |
//! | 7 | `POST` [`RESUME_PATH`] | [`ResumeRequest`] | [`ResumeResponse`] |
//! | — | `POST` [`RECEIPT_PATH`] | [`ReceiptRequest`] | [`ReceiptResponse`] |
//!
//! Any refusal is an HTTP error status ([`ErrorCode::http_status`]) with an [`ApiError`] body.
//! Steps are those of `DESIGN.md` "The flow".

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::birthday::{Birthday, BirthdayError};
use crate::certificate::CertificateSerial;
use crate::national_id::{NationalId, NationalIdError};
use crate::proof::Challenge;
use crate::receipt::{Receipt, RenewalNumber};
use crate::rules::{Validity, Verdict};
use crate::CardNumber;

/// Version of the API these types describe; it is also the `/v1` in every path.
pub const API_VERSION: u32 = 1;
/// Prefix of every API path.
pub const API_PREFIX: &str = "/api/v1";
/// `GET`: the authority's time and its CA certificates.
pub const SERVER_INFO_PATH: &str = "/api/v1/server-info";
/// `POST`: the verdict for a certificate and, when eligible, a challenge.
pub const VERDICT_PATH: &str = "/api/v1/verdict";
/// `POST`: renew with identity and proof of possession; returns both renewed certificates.
pub const RENEW_PATH: &str = "/api/v1/renew";
/// `POST`: the page wrote and read back both certificates; returns the receipt.
pub const COMPLETE_PATH: &str = "/api/v1/complete";
/// `POST`: a run interrupted between issue and write asks what is pending for a card.
pub const RESUME_PATH: &str = "/api/v1/resume";
/// `POST`: the receipt of a completed renewal, again.
pub const RECEIPT_PATH: &str = "/api/v1/receipt";

/// Bytes carried as a standard base64 string (with padding).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Base64Bytes(pub Vec<u8>);

impl Serialize for Base64Bytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(Base64Bytes)
            .map_err(|error| serde::de::Error::custom(format!("invalid base64: {error}")))
    }
}

impl From<Vec<u8>> for Base64Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

/// The authority's identifier for a challenge it issued (opaque to the page).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChallengeId(pub String);

/// Response to `GET` [`SERVER_INFO_PATH`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfoResponse {
    /// [`API_VERSION`] of the authority.
    pub api_version: u32,
    /// The authority's clock: the time every rule uses.
    #[serde(with = "time::serde::rfc3339")]
    pub server_time: OffsetDateTime,
    /// The CA certificates (DER) the authority recognises as issuers of citizen certificates.
    pub ca_certificates: Vec<Base64Bytes>,
}

/// Request to `POST` [`VERDICT_PATH`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictRequest {
    /// The card's signature certificate (DER), as read from the card.
    pub certificate: Base64Bytes,
    /// The card's number. With it, a card whose signature certificate was damaged by an
    /// interrupted write (it no longer parses, or is not byte for byte a certificate on record)
    /// still gets the verdict and challenge of its renewal on record, with
    /// [`VerdictResponse::certificate_on_record`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_number: Option<CardNumber>,
}

/// A challenge for the card to sign, offered with an eligible verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeOffer {
    /// Names the challenge in [`RenewRequest::challenge_id`].
    pub challenge_id: ChallengeId,
    /// The bytes that go into the proof message.
    pub challenge: Challenge,
    /// After this the challenge is refused ([`ErrorCode::ChallengeExpired`]).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// Response to `POST` [`VERDICT_PATH`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictResponse {
    /// The authority's time the verdict was made at.
    #[serde(with = "time::serde::rfc3339")]
    pub server_time: OffsetDateTime,
    /// The certificate the verdict is about.
    pub certificate_serial: CertificateSerial,
    /// The verdict.
    pub verdict: Verdict,
    /// Present when the verdict is eligible (renew with it), and when the authority's records
    /// show this certificate in a renewal already issued (resume with it, [`RESUME_PATH`]).
    pub challenge: Option<ChallengeOffer>,
    /// The signature certificate on record for the card, when the one asked about is a copy
    /// damaged by an interrupted write of a renewal on record: the verdict, serial and challenge
    /// are this certificate's, and the card proves possession of its key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_on_record: Option<Base64Bytes>,
    /// The authority's record of a renewal of this card, when it holds one (asked about the
    /// original certificate, the renewed one, or a torn copy found by card number). The page
    /// resumes an [`RenewalOnRecord::Issued`] renewal with the offered challenge; it never
    /// infers one from the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_on_record: Option<RenewalOnRecord>,
}

/// Where a renewal on record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenewalOnRecord {
    /// Issued, and the authority was never told it was written to the card
    /// ([`COMPLETE_PATH`]): resume it ([`RESUME_PATH`]).
    Issued,
    /// Completed: the card was confirmed to hold the renewed certificates.
    Completed,
}

/// The holder's part of a [`RenewRequest`] and a [`ResumeRequest`], flattened into both: the ID
/// number and birthday as typed, and the card's signature over the proof message made with them.
/// The authority checks the identity with [`HolderProof::identity`] so that a bad one gets its
/// own error code, then the signature, then the identity against its records.
///
/// Only these three fields: the requests' other shared fields (challenge id, signature
/// certificate serial, card number) stand in different orders in the two bodies, and a
/// flattened struct keeps its own order, so moving them here would reorder today's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderProof {
    /// The national ID number as typed.
    pub national_id: String,
    /// The birthday as typed.
    pub birthday: String,
    /// The card's signature over [`crate::proof::proof_message`] (RSASSA-PKCS1-v1_5, SHA-256).
    pub card_signature: Base64Bytes,
}

impl HolderProof {
    /// The typed ID number and birthday, checked; the error is the code to answer with.
    pub fn identity(&self) -> Result<(NationalId, Birthday), ApiError> {
        let national_id = NationalId::parse(&self.national_id)
            .map_err(|error| ApiError::new(ErrorCode::from(&error), error.to_string()))?;
        let birthday = Birthday::parse(&self.birthday)
            .map_err(|error| ApiError::new(ErrorCode::from(&error), error.to_string()))?;
        Ok((national_id, birthday))
    }
}

/// Request to `POST` [`RENEW_PATH`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewRequest {
    /// The challenge the card signed.
    pub challenge_id: ChallengeId,
    /// The typed identity and the card's signature.
    #[serde(flatten)]
    pub proof: HolderProof,
    /// Serial of the card's signature certificate being renewed.
    pub signature_certificate_serial: CertificateSerial,
    /// Serial of the card's encryption certificate being renewed.
    pub encryption_certificate_serial: CertificateSerial,
    /// The card's number, for the receipt and for resuming.
    pub card_number: CardNumber,
}

/// Response to `POST` [`RENEW_PATH`]: both renewed certificates, to write to the card. Asking
/// again with the same challenge returns the same certificates (idempotent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewResponse {
    /// The renewal's number.
    pub renewal_number: RenewalNumber,
    /// The renewed signature certificate (DER).
    pub signature_certificate: Base64Bytes,
    /// The renewed encryption certificate (DER).
    pub encryption_certificate: Base64Bytes,
    /// The renewed validity (both certificates share it).
    pub renewed_validity: Validity,
}

/// Request to `POST` [`COMPLETE_PATH`]: the certificates read back from the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteRequest {
    /// The renewal being completed.
    pub renewal_number: RenewalNumber,
    /// Serial of the signature certificate now on the card.
    pub signature_certificate_serial: CertificateSerial,
    /// Serial of the encryption certificate now on the card.
    pub encryption_certificate_serial: CertificateSerial,
}

/// Response to `POST` [`COMPLETE_PATH`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteResponse {
    /// The receipt to show and print.
    pub receipt: Receipt,
}

/// Request to `POST` [`RESUME_PATH`]: what the card holds now, and a fresh proof that it holds
/// the key. The challenge comes from a verdict asked for the signature certificate now on the
/// card (the original or the renewed one); the proof is the same message as for renewing,
/// [`crate::proof::proof_message`] over that challenge, that certificate's serial and the typed
/// identity, so the card signs nothing of a new kind and the identity is checked again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeRequest {
    /// The card's number.
    pub card_number: CardNumber,
    /// Serials of the user certificates on the card now (old, new, or one of each).
    pub certificate_serials: Vec<CertificateSerial>,
    /// The challenge the card signed (from the verdict for the signature certificate).
    pub challenge_id: ChallengeId,
    /// Serial of the signature certificate the challenge was issued for (now on the card).
    pub signature_certificate_serial: CertificateSerial,
    /// The typed identity and the card's signature.
    #[serde(flatten)]
    pub proof: HolderProof,
}

/// Response to `POST` [`RESUME_PATH`], tagged by `state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "state",
    rename_all = "snake_case",
    try_from = "crate::wire::FlatResumeResponse"
)]
pub enum ResumeResponse {
    /// No renewal is pending for this card: start from the verdict.
    NothingPending,
    /// Certificates were issued but not confirmed written: write these, then complete.
    WritePending {
        /// The issued certificates, as [`RENEW_PATH`] returned them.
        renewal: RenewResponse,
    },
    /// The renewal is complete.
    Completed {
        /// Its receipt.
        receipt: Receipt,
    },
}

/// Request to `POST` [`RECEIPT_PATH`]. The card number guards the receipt against guessed
/// renewal numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptRequest {
    /// The renewal.
    pub renewal_number: RenewalNumber,
    /// The card it renewed.
    pub card_number: CardNumber,
}

/// Response to `POST` [`RECEIPT_PATH`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptResponse {
    /// The receipt.
    pub receipt: Receipt,
}

/// Every reason the authority refuses a request; serialized as `snake_case` strings that never
/// change meaning (new reasons get new codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not valid JSON of the expected shape.
    MalformedRequest,
    /// The body is larger than the authority accepts.
    RequestTooLarge,
    /// No API endpoint has this path and method.
    UnknownEndpoint,
    /// A certificate is not DER X.509.
    MalformedCertificate,
    /// A certificate is readable but not a citizen certificate (CA, wrong type, fields missing).
    NotCitizenCertificate,
    /// The certificate was not issued by a CA this authority serves.
    UnknownIssuer,
    /// The authority has no record of this certificate.
    UnknownCertificate,
    /// The two certificates are not the same card's signature and encryption certificates.
    CertificatesNotSameCard,
    /// The card number is malformed or is not this certificate's card.
    InvalidCardNumber,
    /// National ID: not 10 characters.
    NationalIdLength,
    /// National ID: the first character is not a letter A–Z.
    NationalIdFirstLetter,
    /// National ID: the second character is not 1, 2, 8 or 9.
    NationalIdSecondDigit,
    /// National ID: a character after the second is not a digit.
    NationalIdDigit,
    /// National ID: the check digit does not match.
    NationalIdChecksum,
    /// Birthday: empty.
    BirthdayEmpty,
    /// Birthday: not a form we read.
    BirthdayFormat,
    /// Birthday: ROC year 0.
    BirthdayRocYearZero,
    /// Birthday: not a date (30 February…).
    BirthdayNoSuchDate,
    /// The ID number and birthday do not match the holder's record.
    IdentityMismatch,
    /// The challenge id is unknown.
    ChallengeUnknown,
    /// The challenge expired.
    ChallengeExpired,
    /// The challenge was already used for a different request.
    ChallengeUsed,
    /// The card's signature does not verify.
    ProofOfPossessionFailed,
    /// Renewal window not open yet.
    TooEarly,
    /// Renewal window closed: apply for a new card.
    TooLate,
    /// Already renewed once.
    AlreadyRenewed,
    /// The certificate is revoked.
    Revoked,
    /// The certificate is suspended.
    Suspended,
    /// The certificate's term is neither 5 nor 8 years.
    NotOriginalTerm,
    /// No such renewal (complete, receipt).
    RenewalUnknown,
    /// The serials read back from the card are not the issued certificates'.
    WrittenCertificatesMismatch,
    /// The renewal is not completed yet (receipt asked too early).
    RenewalNotCompleted,
    /// Too many requests; try again later.
    RateLimited,
    /// The authority failed; nothing was changed.
    Internal,
}

impl ErrorCode {
    /// The HTTP status the authority answers with.
    pub fn http_status(self) -> u16 {
        use ErrorCode::*;
        match self {
            MalformedRequest
            | MalformedCertificate
            | NationalIdLength
            | NationalIdFirstLetter
            | NationalIdSecondDigit
            | NationalIdDigit
            | NationalIdChecksum
            | BirthdayEmpty
            | BirthdayFormat
            | BirthdayRocYearZero
            | BirthdayNoSuchDate
            | InvalidCardNumber => 400,
            IdentityMismatch | ProofOfPossessionFailed => 403,
            UnknownCertificate | RenewalUnknown | ChallengeUnknown | UnknownEndpoint => 404,
            ChallengeExpired | ChallengeUsed | TooEarly | TooLate | AlreadyRenewed | Revoked
            | Suspended | NotOriginalTerm | RenewalNotCompleted => 409,
            NotCitizenCertificate
            | UnknownIssuer
            | CertificatesNotSameCard
            | WrittenCertificatesMismatch => 422,
            RequestTooLarge => 413,
            RateLimited => 429,
            Internal => 500,
        }
    }
}

impl ErrorCode {
    /// The code refusing a renewal for this verdict; `None` when it is eligible.
    pub fn refusing(verdict: &Verdict) -> Option<Self> {
        Some(match verdict {
            Verdict::Eligible { .. } => return None,
            Verdict::TooEarly { .. } => ErrorCode::TooEarly,
            Verdict::TooLate { .. } => ErrorCode::TooLate,
            Verdict::AlreadyRenewed { .. } => ErrorCode::AlreadyRenewed,
            Verdict::Revoked => ErrorCode::Revoked,
            Verdict::Suspended => ErrorCode::Suspended,
            Verdict::NotOriginalTerm { .. } => ErrorCode::NotOriginalTerm,
        })
    }
}

impl From<&NationalIdError> for ErrorCode {
    fn from(error: &NationalIdError) -> Self {
        match error {
            NationalIdError::Length { .. } => ErrorCode::NationalIdLength,
            NationalIdError::FirstLetter { .. } => ErrorCode::NationalIdFirstLetter,
            NationalIdError::SecondDigit { .. } => ErrorCode::NationalIdSecondDigit,
            NationalIdError::Digit { .. } => ErrorCode::NationalIdDigit,
            NationalIdError::Checksum => ErrorCode::NationalIdChecksum,
        }
    }
}

impl From<&BirthdayError> for ErrorCode {
    fn from(error: &BirthdayError) -> Self {
        match error {
            BirthdayError::Empty => ErrorCode::BirthdayEmpty,
            BirthdayError::Format(_) => ErrorCode::BirthdayFormat,
            BirthdayError::RocYearZero => ErrorCode::BirthdayRocYearZero,
            BirthdayError::NoSuchDate { .. } => ErrorCode::BirthdayNoSuchDate,
        }
    }
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong, for programs (the page words it for people).
    pub code: ErrorCode,
    /// What went wrong, in English, for logs.
    pub message: String,
    /// The verdict, when the refusal is a rule's (too early, revoked…), so the page can explain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            verdict: None,
        }
    }

    /// The refusal for a verdict that is not eligible; `None` when it is.
    pub fn from_verdict(verdict: &Verdict) -> Option<Self> {
        let code = ErrorCode::refusing(verdict)?;
        Some(Self {
            code,
            message: format!("renewal refused: {}", verdict.kind()),
            verdict: Some(verdict.clone()),
        })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}
