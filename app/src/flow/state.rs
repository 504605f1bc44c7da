//! What the flow shows: every state is plain data a page can render. No state holds the PIN,
//! the typed ID number or birthday, or anything else secret.

use renewal::certificate::CertificateSerial;
use renewal::{CardNumber, Receipt, Validity, Verdict};
use time::OffsetDateTime;

use crate::i18n::Message;

/// Why this browser cannot do the renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsupportedReason {
    /// No WebUSB: Firefox, Safari, or a Chromium with it turned off.
    NoWebUsb,
    /// WebUSB exists only on HTTPS (or the local machine); this page was opened over plain
    /// HTTP.
    InsecureContext,
}

/// Where the page runs, which decides which readers can work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Deployment {
    /// An ordinary browser tab: WebUSB refuses the smart-card interface class 0x0B.
    #[default]
    OrdinaryTab,
    /// An Isolated Web App or kiosk granted `usb-unrestricted`: any reader works.
    Unrestricted,
}

/// Why a chosen reader could not be used, each with its own guidance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderProblem {
    /// WebUSB protects the smart-card class 0x0B in ordinary tabs (`SecurityError`).
    ProtectedInterface,
    /// The operating system or another program holds the reader (Windows without WinUSB,
    /// Linux with pcscd, no udev rule).
    HeldByOperatingSystem {
        /// The platform's words, for a support call.
        detail: String,
    },
    /// The device is not a CCID reader this page can drive (character level, ICCD, no CCID
    /// interface).
    UnsupportedReader {
        /// What the driver found.
        detail: String,
    },
}

/// What to tell a user who is asked to insert the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertNotice {
    /// The reader is ready; no card yet.
    NoCardYet,
    /// The card was pulled out; nothing is lost, put it back.
    CardRemoved,
    /// The card was pulled out while the new certificates were being written: put it back and
    /// the same renewal is finished.
    RenewalInterrupted,
    /// The card in the reader is not a citizen certificate card (or lies the wrong way).
    NotCitizenCard,
}

/// One of the card's two user certificates, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    /// Its serial number.
    pub serial: CertificateSerial,
    /// Its validity.
    pub validity: Validity,
}

/// What the card and the authority say, shown before the user types anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardOverview {
    /// The card number.
    pub card_number: CardNumber,
    /// The holder's name as the certificate carries it.
    pub holder_name: String,
    /// User certificate 2 (signature).
    pub signature: CertificateSummary,
    /// User certificate 1 (encryption); `None` when its slot is damaged.
    pub encryption: Option<CertificateSummary>,
    /// The authority's clock when the card was read.
    pub authority_time: OffsetDateTime,
    /// The authority's verdict on the signature certificate; `None` while a renewal the
    /// authority already issued is being finished.
    pub verdict: Option<Verdict>,
}

/// What the identity step asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityPurpose {
    /// A new renewal: ID number, birthday and PIN.
    Renew,
    /// The authority issued a renewal for this card that the card does not hold yet (an
    /// earlier run was interrupted): ID number, birthday and PIN again, so the card proves
    /// its key and the holder is checked before the issued certificates are handed back.
    Resume,
    /// A renewal issued before but not written to the card: the PIN only (the card needs it
    /// to accept the write).
    FinishPending,
}

/// What is known about the PIN before the user types it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinStatus {
    /// This many tries left.
    TriesLeft(u8),
    /// Already verified in this session of the card.
    Verified,
}

/// The identity form's state: what to ask, and what was wrong with the last answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityStep {
    /// The card.
    pub overview: CardOverview,
    /// New renewal or finishing one.
    pub purpose: IdentityPurpose,
    /// Tries left.
    pub pin_status: PinStatus,
    /// What is wrong with the ID number, if anything.
    pub national_id_error: Option<Message>,
    /// What is wrong with the birthday, if anything.
    pub birthday_error: Option<Message>,
    /// What is wrong with the PIN (wrong PIN and tries left, its form), if anything.
    pub pin_error: Option<Message>,
    /// A refusal of the whole form (the ID number and birthday are not the holder's).
    pub form_error: Option<Message>,
}

/// The steps of writing a renewal, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RenewingStep {
    /// The card signs the authority's challenge.
    Sign,
    /// The authority checks and issues the renewed certificates.
    Issue,
    /// The new certificates are written to the card.
    Write,
    /// They are read back, compared, and the authority is told.
    Verify,
}

impl RenewingStep {
    /// Every step, in order.
    pub const ALL: [RenewingStep; 4] = [
        RenewingStep::Sign,
        RenewingStep::Issue,
        RenewingStep::Write,
        RenewingStep::Verify,
    ];
}

/// Progress of the renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewing {
    /// The step running now.
    pub step: RenewingStep,
    /// Whether this finishes a renewal issued in an earlier run.
    pub resuming: bool,
}

/// How the renewal ended well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The receipt (收執聯).
    pub receipt: Receipt,
    /// Whether the renewal was completed in an earlier visit (the receipt is shown again).
    pub earlier: bool,
}

/// The next thing the user can do after a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NextAction {
    /// Do the same again (the flow knows what).
    TryAgain,
    /// Open the reader chooser again.
    ChooseReader,
    /// Begin again from the first page.
    StartOver,
    /// See the household registration offices (counter), hours and what to bring.
    Counter,
    /// The official renewal program and site.
    OfficialProgram,
    /// Load the page again (a newer version of it).
    Reload,
}

/// A failure the user should know about, with what to do next. Never a dead end: `actions`
/// is never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Title: what happened.
    pub title: Message,
    /// Explanation: why, and what to do.
    pub explanation: Message,
    /// What can be done now, the most useful first.
    pub actions: Vec<NextAction>,
    /// Technical words for a support call or a bug report (never the PIN).
    pub detail: Option<String>,
}

/// Where the flow is: what the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowState {
    /// What this does and what you need; the button to connect the reader.
    Start,
    /// This browser cannot renew; the other channels.
    Unsupported(UnsupportedReason),
    /// The reader chooser is open.
    ChoosingReader,
    /// The chosen reader cannot be used here; what works.
    ReaderGuidance {
        /// What went wrong.
        problem: ReaderProblem,
        /// Where the page runs.
        deployment: Deployment,
    },
    /// The reader is ready; waiting for the card.
    InsertCard(InsertNotice),
    /// Reading the card and asking the authority.
    ReadingCard,
    /// The card, its certificates and the authority's verdict (eligible or not).
    Card(CardOverview),
    /// ID number, birthday and PIN (or the PIN only, to finish a pending renewal).
    Identity(IdentityStep),
    /// Signing, issuing, writing, verifying. Do not remove the card.
    Renewing(Renewing),
    /// 展期作業成功, and the receipt.
    Done(Completion),
    /// Something failed; what to do next.
    Failed(Problem),
}

impl FlowState {
    /// Whether the page should watch for the card being put in or pulled out in this state.
    pub fn watches_card(&self) -> bool {
        matches!(
            self,
            FlowState::InsertCard(_) | FlowState::Card(_) | FlowState::Identity(_)
        )
    }
}
