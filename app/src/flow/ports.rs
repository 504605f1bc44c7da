//! The flow's only ways out: a card in a reader ([`CardPort`]), the renewal authority
//! ([`AuthorityPort`]) and the browser's reader chooser ([`ReaderChooser`]).
//!
//! Futures need not be `Send`: in the browser everything runs on one thread, and WebUSB's and
//! `fetch`'s futures are not `Send`.

use std::time::Duration;

use card::{KeyRole, Pin, PinState, VerifyOutcome};
use renewal::api::{
    ApiError, CompleteRequest, CompleteResponse, ReceiptRequest, ReceiptResponse, RenewRequest,
    RenewResponse, ResumeRequest, ResumeResponse, ServerInfoResponse, VerdictRequest,
    VerdictResponse,
};
use renewal::CardNumber;

/// The DER bytes of the two user certificates as the card holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCertificates {
    /// User certificate 2 (signature).
    pub signature: Vec<u8>,
    /// User certificate 1 (encryption).
    pub encryption: Vec<u8>,
}

/// A change of the card in the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardChange {
    /// A card was put in.
    Inserted,
    /// The card was pulled out.
    Removed,
}

/// What went wrong with the reader or the card, sorted by what the user can do about it.
/// Never carries the PIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardPortError {
    /// No card in the reader, or it was pulled out.
    #[error("the card was removed")]
    CardRemoved,
    /// The reader was unplugged or closed by the platform.
    #[error("the reader is gone")]
    ReaderGone,
    /// The card in the reader is not a citizen digital certificate card.
    #[error("not a citizen card: {0}")]
    NotCitizenCard(String),
    /// A citizen card this page can read but not renew (the second generation).
    #[error("this card generation cannot be renewed online")]
    RenewalNotSupported,
    /// A user certificate slot is empty or does not hold a certificate.
    #[error("the {slot:?} certificate on the card is missing or damaged: {detail}")]
    CertificateMissing {
        /// Which one.
        slot: KeyRole,
        /// What was found.
        detail: String,
    },
    /// The card refused a private-key operation or a write because the PIN is not verified
    /// (the card was reset in between).
    #[error("the card asks for the PIN again")]
    PinNotVerified,
    /// The PIN is locked.
    #[error("the PIN is locked")]
    PinLocked,
    /// The card's signature did not verify with its own certificate.
    #[error("the card's signature does not match its certificate")]
    BadSignature,
    /// What the card holds after a write differs from what was written.
    #[error("the written certificate reads back differently")]
    ReadBackMismatch,
    /// Anything else between the page and the card (timeouts, protocol failures, refusals).
    #[error("the card or reader failed: {0}")]
    Failed(String),
}

/// A citizen card in a reader, as the renewal needs it.
#[allow(async_fn_in_trait)]
pub trait CardPort {
    /// Whether a card is in the reader now.
    async fn card_present(&mut self) -> Result<bool, CardPortError>;
    /// Powers the card and checks that it is a citizen card this page can renew.
    async fn power_on(&mut self) -> Result<(), CardPortError>;
    /// Powers the card off: a verified PIN does not outlive the power. No card: nothing to do.
    async fn power_off(&mut self) -> Result<(), CardPortError>;
    /// The card number (EF 0903).
    async fn read_card_number(&mut self) -> Result<CardNumber, CardPortError>;
    /// Both user certificates.
    async fn read_user_certificates(&mut self) -> Result<UserCertificates, CardPortError>;
    /// Tries left, verified or locked.
    async fn pin_state(&mut self) -> Result<PinState, CardPortError>;
    /// Verifies the PIN with the card; wrong and locked are outcomes, not errors.
    async fn verify_pin(&mut self, pin: &Pin) -> Result<VerifyOutcome, CardPortError>;
    /// Signs `message` (SHA-256, PKCS#1 v1.5) with the signature key, checked against
    /// `signature_certificate` (DER) before it is returned.
    async fn sign(
        &mut self,
        message: &[u8],
        signature_certificate: &[u8],
    ) -> Result<Vec<u8>, CardPortError>;
    /// Writes a certificate into a user slot and reads it back.
    async fn write_certificate(&mut self, slot: KeyRole, der: &[u8]) -> Result<(), CardPortError>;
    /// Waits up to `wait` for the card to be put in or pulled out.
    async fn wait_card_change(
        &mut self,
        wait: Duration,
    ) -> Result<Option<CardChange>, CardPortError>;
}

/// Why the authority did not answer with what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorityError {
    /// The authority refused, with its code (and verdict, for a rule's refusal).
    #[error("the authority refused: {0}")]
    Refused(ApiError),
    /// The authority could not be reached (offline, DNS, TLS, connection reset).
    #[error("the authority could not be reached: {0}")]
    Unreachable(String),
    /// The authority answered with something that is not the API's (a proxy's page, a
    /// changed API).
    #[error("the authority's answer is not understood: {0}")]
    BadAnswer(String),
}

/// The authority's HTTP answer as the API defines it: a 2xx body is the answer `R`; any other
/// status carries an [`ApiError`] body. Anything else (a proxy's page, a changed API) is
/// [`AuthorityError::BadAnswer`]. Shared by every transport to the authority.
pub fn decode_answer<R: serde::de::DeserializeOwned>(
    status: u16,
    body: &str,
) -> Result<R, AuthorityError> {
    if (200..300).contains(&status) {
        return serde_json::from_str(body)
            .map_err(|error| AuthorityError::BadAnswer(format!("HTTP {status}: {error}")));
    }
    match serde_json::from_str::<ApiError>(body) {
        Ok(refusal) => Err(AuthorityError::Refused(refusal)),
        Err(_) => Err(AuthorityError::BadAnswer(format!(
            "HTTP {status} without an API error body"
        ))),
    }
}

/// The renewal authority, as `renewal::api` describes it (paths `/api/v1/...`).
#[allow(async_fn_in_trait)]
pub trait AuthorityPort {
    /// `GET /api/v1/server-info`.
    async fn server_info(&mut self) -> Result<ServerInfoResponse, AuthorityError>;
    /// `POST /api/v1/verdict`.
    async fn verdict(
        &mut self,
        request: &VerdictRequest,
    ) -> Result<VerdictResponse, AuthorityError>;
    /// `POST /api/v1/renew`.
    async fn renew(&mut self, request: &RenewRequest) -> Result<RenewResponse, AuthorityError>;
    /// `POST /api/v1/complete`.
    async fn complete(
        &mut self,
        request: &CompleteRequest,
    ) -> Result<CompleteResponse, AuthorityError>;
    /// `POST /api/v1/resume`.
    async fn resume(&mut self, request: &ResumeRequest) -> Result<ResumeResponse, AuthorityError>;
    /// `POST /api/v1/receipt`.
    async fn receipt(
        &mut self,
        request: &ReceiptRequest,
    ) -> Result<ReceiptResponse, AuthorityError>;
}

/// Why no reader came out of the chooser.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChooseError {
    /// The user closed the chooser without choosing (or no reader was plugged in).
    #[error("no reader was chosen")]
    NothingChosen,
    /// The browser has no WebUSB, or refuses it here (insecure context, permissions policy).
    #[error("WebUSB is not available: {0}")]
    WebUsbUnavailable(String),
    /// The platform refused the chosen device.
    #[error("the reader could not be opened: {0}")]
    Failed(String),
}

/// Lets the user pick a reader (the WebUSB chooser, filtered to smart-card readers) and hands
/// back a transport to it.
#[allow(async_fn_in_trait)]
pub trait ReaderChooser {
    /// The transport to the chosen reader.
    type Transport: ccid::UsbTransport;
    /// Shows the chooser and waits for the user's choice.
    async fn choose_reader(&mut self) -> Result<Self::Transport, ChooseError>;
}
