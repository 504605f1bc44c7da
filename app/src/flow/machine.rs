//! The renewal as a sans-IO state machine: [`Machine::handle`] takes an [`Event`] (a user
//! action, a change of the card, or the answer to the last [`Effect`]) and returns the next
//! effect, if any. It performs nothing itself: the shell in `mod.rs` runs each effect through
//! the ports and feeds the answer back. What the page shows is [`Machine::view`].
//!
//! Each [`Phase`] owns what it needs and nothing more, so the card read, the renewal issued
//! and the way back after a failure cannot be out of step. At most one effect is outstanding:
//! a phase that waits for an answer ([`Phase::awaits_answer`]) ignores the user, and an answer
//! that is not the one awaited is a [`Problem`], never dropped.
//!
//! The PIN enters only with [`Event::IdentitySubmitted`] or [`Event::PinSubmitted`] and leaves
//! at once in [`Effect::VerifyPin`]; no phase holds it. The ID number and birthday stay in
//! [`Holder`], whose `Debug` shows neither, until the request that carries them.

use std::fmt;

use card::{KeyRole, Pin, PinState, VerifyOutcome};
use renewal::api::{
    ApiError, ChallengeId, CompleteRequest, CompleteResponse, ErrorCode, HolderProof,
    ReceiptRequest, ReceiptResponse, RenewRequest, RenewResponse, ResumeRequest, ResumeResponse,
    ServerInfoResponse, VerdictRequest, VerdictResponse, API_VERSION,
};
use renewal::{proof, Birthday, NationalId, Receipt};

use super::identity::{birthday_error_message, national_id_error_message, wrong_pin_message};
use super::loaded::{
    birthday_code_message, is_certificate_refusal, is_stale_challenge, national_id_code_message,
    CardContents, CardRead, IssuedSerials, LoadedCard, Understood,
};
use super::ports::{AuthorityError, CardChange, CardPortError, ChooseError, UserCertificates};
use super::problems;
use super::state::{
    Completion, Deployment, FlowState, IdentityPurpose, IdentityStep, InsertNotice, PinStatus,
    Problem, ReaderProblem, Renewing, RenewingStep, UnsupportedReason,
};
use super::BrowserEnvironment;
use crate::i18n::{Key, Message};

/// Something that happened: what the user did, what the reader noticed, or the answer to the
/// effect the machine asked for.
#[derive(Debug)]
pub enum Event {
    /// The user opened the reader chooser (the shell shows it and answers with
    /// [`Event::ReaderOpened`]).
    ChooserShown,
    /// A reader was handed to the flow without the chooser (the page's tests, a kiosk's
    /// reader); everything read before is let go.
    ReaderAttached,
    /// The user asked to begin again.
    StartOverAsked,
    /// The user asked to read the card again.
    ReadCardAsked,
    /// The user went on from the card page to the identity form.
    ContinueAsked,
    /// The user asked to try again after a problem.
    TryAgainAsked,
    /// The identity form was sent.
    IdentitySubmitted {
        /// As typed.
        national_id: String,
        /// As typed.
        birthday: String,
        /// Handed straight on to the card.
        pin: Pin,
    },
    /// The PIN alone was sent (to finish a renewal already issued).
    PinSubmitted(Pin),
    /// The reader was put in or the card pulled out, or watching the reader failed.
    CardChanged(Result<CardChange, CardPortError>),
    /// The chooser's and the reader's answer: opened, or why not.
    ReaderOpened(Result<(), ReaderOpenFailure>),
    /// Answer to [`Effect::CheckCardPresent`].
    CardPresent(Result<bool, CardPortError>),
    /// Answer to [`Effect::ReadCard`].
    CardRead(Result<CardContents, CardPortError>),
    /// Answer to [`Effect::AskServerInfo`].
    ServerInfo(Result<ServerInfoResponse, AuthorityError>),
    /// Answer to [`Effect::AskVerdict`].
    Verdict(Result<VerdictResponse, AuthorityError>),
    /// Answer to [`Effect::ReadPinState`].
    PinState(Result<PinState, CardPortError>),
    /// Answer to [`Effect::VerifyPin`].
    PinVerified(Result<VerifyOutcome, CardPortError>),
    /// Answer to [`Effect::Sign`].
    Signed(Result<Vec<u8>, CardPortError>),
    /// Answer to [`Effect::Renew`].
    Renewed(Result<RenewResponse, AuthorityError>),
    /// Answer to [`Effect::Resume`].
    Resumed(Result<ResumeResponse, AuthorityError>),
    /// Answer to [`Effect::WriteCertificate`].
    Written(Result<(), CardPortError>),
    /// Answer to [`Effect::ReadBack`].
    ReadBack(Result<UserCertificates, CardPortError>),
    /// Answer to [`Effect::Complete`].
    Completed(Result<CompleteResponse, AuthorityError>),
    /// Answer to [`Effect::AskReceipt`].
    Receipt(Result<ReceiptResponse, AuthorityError>),
}

impl Event {
    /// The event's name, for logs and support details (never its contents).
    pub fn name(&self) -> &'static str {
        match self {
            Event::ChooserShown => "chooser shown",
            Event::ReaderAttached => "reader attached",
            Event::StartOverAsked => "start over",
            Event::ReadCardAsked => "read card",
            Event::ContinueAsked => "continue",
            Event::TryAgainAsked => "try again",
            Event::IdentitySubmitted { .. } => "identity submitted",
            Event::PinSubmitted(_) => "PIN submitted",
            Event::CardChanged(_) => "card changed",
            Event::ReaderOpened(_) => "reader opened",
            Event::CardPresent(_) => "card present",
            Event::CardRead(_) => "card read",
            Event::ServerInfo(_) => "server info",
            Event::Verdict(_) => "verdict",
            Event::PinState(_) => "PIN state",
            Event::PinVerified(_) => "PIN verified",
            Event::Signed(_) => "signed",
            Event::Renewed(_) => "renewed",
            Event::Resumed(_) => "resumed",
            Event::Written(_) => "written",
            Event::ReadBack(_) => "read back",
            Event::Completed(_) => "completed",
            Event::Receipt(_) => "receipt",
        }
    }

    /// Whether the user (not a port) caused it.
    fn is_user_action(&self) -> bool {
        matches!(
            self,
            Event::ChooserShown
                | Event::StartOverAsked
                | Event::ReadCardAsked
                | Event::ContinueAsked
                | Event::TryAgainAsked
                | Event::IdentitySubmitted { .. }
                | Event::PinSubmitted(_)
        )
    }
}

/// Why no reader came out of the chooser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderOpenFailure {
    /// The chooser gave nothing, or the platform refused the device.
    Chooser(ChooseError),
    /// The chosen reader cannot be used here; there is guidance for it.
    Guidance(ReaderProblem),
}

/// What the machine asks the shell to do. Each has one answer [`Event`], except
/// [`Effect::ReleaseReader`], which has none.
#[derive(Debug)]
pub enum Effect {
    /// Power the card off and let the reader go.
    ReleaseReader,
    /// Is a card in the reader?
    CheckCardPresent,
    /// Power the card, read its number and both user certificates.
    ReadCard,
    /// `GET /api/v1/server-info`.
    AskServerInfo,
    /// `POST /api/v1/verdict`.
    AskVerdict(VerdictRequest),
    /// The PIN's tries left.
    ReadPinState,
    /// Hand the PIN to the card: the only place it goes.
    VerifyPin(Pin),
    /// The card signs `message` with its signature key, checked against `certificate`.
    Sign {
        /// The proof-of-possession message.
        message: Vec<u8>,
        /// The signature certificate (DER) the signature must verify with.
        certificate: Vec<u8>,
    },
    /// `POST /api/v1/renew`.
    Renew(RenewRequest),
    /// `POST /api/v1/resume`.
    Resume(ResumeRequest),
    /// Write a certificate into a user slot.
    WriteCertificate {
        /// Which slot.
        slot: KeyRole,
        /// The certificate (DER).
        der: Vec<u8>,
    },
    /// Read both user certificates back.
    ReadBack,
    /// `POST /api/v1/complete`.
    Complete(CompleteRequest),
    /// `POST /api/v1/receipt`.
    AskReceipt(ReceiptRequest),
}

impl Effect {
    /// The answer of a card effect when there is no reader to do it.
    pub fn answer_without_reader(self) -> Option<Event> {
        let gone = CardPortError::ReaderGone;
        Some(match self {
            Effect::ReleaseReader => return None,
            Effect::CheckCardPresent => Event::CardPresent(Err(gone)),
            Effect::ReadCard => Event::CardRead(Err(gone)),
            Effect::ReadPinState => Event::PinState(Err(gone)),
            Effect::VerifyPin(_) => Event::PinVerified(Err(gone)),
            Effect::Sign { .. } => Event::Signed(Err(gone)),
            Effect::WriteCertificate { .. } => Event::Written(Err(gone)),
            Effect::ReadBack => Event::ReadBack(Err(gone)),
            // Not card effects: they need no reader.
            Effect::AskServerInfo
            | Effect::AskVerdict(_)
            | Effect::Renew(_)
            | Effect::Resume(_)
            | Effect::Complete(_)
            | Effect::AskReceipt(_) => return None,
        })
    }
}

/// The ID number and birthday as typed and checked here. `Debug` shows neither.
#[derive(Clone)]
pub struct Holder {
    national_id: NationalId,
    birthday: Birthday,
}

impl fmt::Debug for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Holder(..)")
    }
}

/// Certificates the authority issued for this card and that are not yet confirmed written.
#[derive(Debug, Clone)]
pub struct Pending {
    issued: RenewResponse,
    /// Issued in an earlier run (or asked for again after the card was reset).
    resuming: bool,
}

/// What the identity form leads to.
#[derive(Debug, Clone)]
pub enum Asking {
    /// A new renewal.
    Renew,
    /// A renewal on record the card does not hold.
    Resume,
    /// The PIN only, to write a renewal already issued.
    FinishPending(Pending),
}

/// The identity form's feedback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pin_status: PinStatus,
    national_id_error: Option<Message>,
    birthday_error: Option<Message>,
    pin_error: Option<Message>,
    form_error: Option<Message>,
}

impl Form {
    fn new(pin_status: PinStatus) -> Self {
        Form {
            pin_status,
            national_id_error: None,
            birthday_error: None,
            pin_error: None,
            form_error: None,
        }
    }
}

/// What a verified PIN leads to.
#[derive(Debug, Clone)]
pub enum AfterPin {
    /// The card proves its key for a renewal or a resume.
    Prove(Ask, Holder),
    /// The issued certificates are written.
    Write(Pending),
}

/// Which request a proof of possession goes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// `renew`.
    Renew,
    /// `resume`.
    Resume,
}

/// A proof of possession on its way: what it is for, the holder's identity, and whether the
/// challenge was replaced.
#[derive(Debug, Clone)]
pub struct Proof {
    ask: Ask,
    holder: Holder,
    /// A challenge that expired while the user typed is replaced once, not more.
    challenge_replaced: bool,
}

/// A renewal issued and checked against the card, on its way to the card and back.
#[derive(Debug, Clone)]
pub struct Issued {
    loaded: LoadedCard,
    pending: Pending,
    serials: IssuedSerials,
}

impl Issued {
    fn complete_request(&self) -> CompleteRequest {
        CompleteRequest {
            renewal_number: self.pending.issued.renewal_number.clone(),
            signature_certificate_serial: self.serials.signature.clone(),
            encryption_certificate_serial: self.serials.encryption.clone(),
        }
    }

    fn renewing(&self, step: RenewingStep) -> FlowState {
        FlowState::Renewing(Renewing {
            step,
            resuming: self.pending.resuming,
        })
    }
}

/// What "try again" does after a problem.
#[derive(Debug, Clone)]
pub enum Retry {
    /// Look for the card and read it again (which also resumes a renewal on record).
    LookForCard,
    /// The card holds the new certificates; tell the authority again.
    Complete(Box<Issued>),
    /// Begin from the first page (the reader is gone).
    Restart,
}

/// Where the renewal is.
#[derive(Debug)]
pub enum Phase {
    /// The first page.
    Start,
    /// This browser cannot renew.
    Unsupported(UnsupportedReason),
    /// The reader chooser is open.
    ChoosingReader,
    /// The chosen reader cannot be used here.
    ReaderGuidance(ReaderProblem),
    /// Asking the reader whether a card is in; `InsertNotice` is what to say if not.
    LookingForCard(InsertNotice),
    /// Waiting for the card.
    InsertCard(InsertNotice),
    /// Reading the card; what to say if it is pulled out meanwhile.
    ReadingCard(InsertNotice),
    /// Asking the authority's API version.
    AskingServerInfo(CardRead),
    /// Asking the authority's verdict on the card read.
    AskingVerdict(CardRead),
    /// The card and the verdict are shown.
    CardShown(LoadedCard),
    /// Asking the card for the PIN's tries left before the identity form.
    CheckingPin {
        /// The card.
        loaded: LoadedCard,
        /// What the form will be for.
        asking: Asking,
    },
    /// The identity form.
    Identity {
        /// The card.
        loaded: LoadedCard,
        /// What the form is for.
        asking: Asking,
        /// What is wrong with the last answer.
        form: Form,
    },
    /// The card checks the PIN.
    VerifyingPin {
        /// The card.
        loaded: LoadedCard,
        /// What follows a right PIN.
        after: AfterPin,
        /// The form to show again on a wrong PIN.
        form: Form,
    },
    /// The card signs the proof of possession.
    Signing {
        /// The card.
        loaded: LoadedCard,
        /// The proof.
        proof: Proof,
        /// The challenge signed.
        challenge_id: ChallengeId,
    },
    /// The authority checks the proof and issues (or hands back) the renewal.
    Issuing {
        /// The card.
        loaded: LoadedCard,
        /// The proof sent.
        proof: Proof,
    },
    /// The challenge expired: asking for a new one.
    ReplacingChallenge {
        /// The card.
        loaded: LoadedCard,
        /// The proof to sign again.
        proof: Proof,
    },
    /// A resume found nothing pending: asking what the authority says now.
    RecheckingVerdict(LoadedCard),
    /// Writing one issued certificate.
    Writing {
        /// The renewal.
        issued: Issued,
        /// The slot being written.
        slot: KeyRole,
    },
    /// Reading both certificates back.
    ReadingBack(Issued),
    /// Telling the authority the card holds the renewal.
    Completing(Issued),
    /// The completion's answer was lost: asking for the receipt.
    AskingReceipt {
        /// The renewal.
        issued: Issued,
        /// Why completing failed (shown if the receipt cannot be had either).
        failure: AuthorityError,
    },
    /// Renewed; the receipt.
    Done(Completion),
    /// A problem, and what "try again" does.
    Failed {
        /// What to tell the user.
        problem: Problem,
        /// What "try again" does.
        retry: Retry,
    },
}

impl Phase {
    /// Whether an effect is outstanding: the machine waits for its answer and ignores the
    /// user meanwhile.
    pub fn awaits_answer(&self) -> bool {
        !matches!(
            self,
            Phase::Start
                | Phase::Unsupported(_)
                | Phase::ReaderGuidance(_)
                | Phase::InsertCard(_)
                | Phase::CardShown(_)
                | Phase::Identity { .. }
                | Phase::Done(_)
                | Phase::Failed { .. }
        )
    }

    /// The phase's name, for logs and support details.
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Start => "start",
            Phase::Unsupported(_) => "unsupported",
            Phase::ChoosingReader => "choosing reader",
            Phase::ReaderGuidance(_) => "reader guidance",
            Phase::LookingForCard(_) => "looking for card",
            Phase::InsertCard(_) => "insert card",
            Phase::ReadingCard(_) => "reading card",
            Phase::AskingServerInfo(_) => "asking server info",
            Phase::AskingVerdict(_) => "asking verdict",
            Phase::CardShown(_) => "card shown",
            Phase::CheckingPin { .. } => "checking PIN",
            Phase::Identity { .. } => "identity",
            Phase::VerifyingPin { .. } => "verifying PIN",
            Phase::Signing { .. } => "signing",
            Phase::Issuing { .. } => "issuing",
            Phase::ReplacingChallenge { .. } => "replacing challenge",
            Phase::RecheckingVerdict(_) => "rechecking verdict",
            Phase::Writing { .. } => "writing",
            Phase::ReadingBack(_) => "reading back",
            Phase::Completing(_) => "completing",
            Phase::AskingReceipt { .. } => "asking receipt",
            Phase::Done(_) => "done",
            Phase::Failed { .. } => "failed",
        }
    }

    /// Whether a renewal issued by the authority but not confirmed written is in hand (a
    /// card pulled out now interrupts it).
    fn holds_pending(&self) -> bool {
        match self {
            Phase::CheckingPin { asking, .. } | Phase::Identity { asking, .. } => {
                matches!(asking, Asking::FinishPending(_))
            }
            Phase::VerifyingPin { after, .. } => matches!(after, AfterPin::Write(_)),
            Phase::Writing { .. }
            | Phase::ReadingBack(_)
            | Phase::Completing(_)
            | Phase::AskingReceipt { .. } => true,
            _ => false,
        }
    }
}

type Step = (Phase, Option<Effect>);

fn rest(phase: Phase) -> Step {
    (phase, None)
}

fn failed(problem: Problem) -> Step {
    rest(Phase::Failed {
        problem,
        retry: Retry::LookForCard,
    })
}

/// The renewal flow's state machine.
#[derive(Debug)]
pub struct Machine {
    phase: Phase,
    deployment: Deployment,
}

impl Machine {
    /// The first phase in a browser described by `environment`.
    pub fn new(environment: BrowserEnvironment) -> Self {
        let phase = if !environment.secure_context {
            Phase::Unsupported(UnsupportedReason::InsecureContext)
        } else if !environment.webusb {
            Phase::Unsupported(UnsupportedReason::NoWebUsb)
        } else {
            Phase::Start
        };
        Machine {
            phase,
            deployment: environment.deployment,
        }
    }

    /// Where the renewal is.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// What the page shows.
    pub fn view(&self) -> FlowState {
        match &self.phase {
            Phase::Start => FlowState::Start,
            Phase::Unsupported(reason) => FlowState::Unsupported(*reason),
            Phase::ChoosingReader => FlowState::ChoosingReader,
            Phase::ReaderGuidance(problem) => FlowState::ReaderGuidance {
                problem: problem.clone(),
                deployment: self.deployment,
            },
            Phase::InsertCard(notice) => FlowState::InsertCard(*notice),
            Phase::LookingForCard(_)
            | Phase::ReadingCard(_)
            | Phase::AskingServerInfo(_)
            | Phase::AskingVerdict(_)
            | Phase::CheckingPin {
                asking: Asking::Resume,
                ..
            } => FlowState::ReadingCard,
            Phase::CardShown(loaded)
            | Phase::CheckingPin {
                loaded,
                asking: Asking::Renew,
            } => FlowState::Card(loaded.overview.clone()),
            Phase::CheckingPin {
                asking: Asking::FinishPending(pending),
                ..
            } => FlowState::Renewing(Renewing {
                step: RenewingStep::Write,
                resuming: pending.resuming,
            }),
            Phase::Identity {
                loaded,
                asking,
                form,
            } => identity_view(loaded, asking.purpose(), form),
            Phase::VerifyingPin {
                loaded,
                after,
                form,
            } => identity_view(loaded, after.asking().purpose(), form),
            Phase::Signing { .. } => FlowState::Renewing(Renewing {
                step: RenewingStep::Sign,
                resuming: false,
            }),
            Phase::Issuing { .. }
            | Phase::ReplacingChallenge { .. }
            | Phase::RecheckingVerdict(_) => FlowState::Renewing(Renewing {
                step: RenewingStep::Issue,
                resuming: false,
            }),
            Phase::Writing { issued, .. } => issued.renewing(RenewingStep::Write),
            Phase::ReadingBack(issued)
            | Phase::Completing(issued)
            | Phase::AskingReceipt { issued, .. } => issued.renewing(RenewingStep::Verify),
            Phase::Done(completion) => FlowState::Done(completion.clone()),
            Phase::Failed { problem, .. } => FlowState::Failed(problem.clone()),
        }
    }

    /// Takes `event` and returns what to do next.
    pub fn handle(&mut self, event: Event) -> Option<Effect> {
        let phase = std::mem::replace(&mut self.phase, Phase::Start);
        let (phase, effect) = step(phase, event);
        self.phase = phase;
        effect
    }
}

impl Asking {
    fn purpose(&self) -> IdentityPurpose {
        match self {
            Asking::Renew => IdentityPurpose::Renew,
            Asking::Resume => IdentityPurpose::Resume,
            Asking::FinishPending(_) => IdentityPurpose::FinishPending,
        }
    }
}

impl From<Ask> for Asking {
    fn from(ask: Ask) -> Asking {
        match ask {
            Ask::Renew => Asking::Renew,
            Ask::Resume => Asking::Resume,
        }
    }
}

impl AfterPin {
    fn asking(&self) -> Asking {
        match self {
            AfterPin::Prove(ask, _) => (*ask).into(),
            AfterPin::Write(pending) => Asking::FinishPending(pending.clone()),
        }
    }
}

fn identity_view(loaded: &LoadedCard, purpose: IdentityPurpose, form: &Form) -> FlowState {
    FlowState::Identity(IdentityStep {
        overview: loaded.overview.clone(),
        purpose,
        pin_status: form.pin_status,
        national_id_error: form.national_id_error.clone(),
        birthday_error: form.birthday_error.clone(),
        pin_error: form.pin_error.clone(),
        form_error: form.form_error.clone(),
    })
}

/// The transition function.
fn step(phase: Phase, event: Event) -> Step {
    use Event as E;
    use Phase as P;
    // Decided before the phase is taken apart: a card pulled out now interrupts a renewal.
    let holds_pending = phase.holds_pending();
    match (phase, event) {
        // A new reader: everything read before is let go, whatever was happening.
        (_, E::ReaderAttached) => look_for_card(InsertNotice::NoCardYet),

        // The user. A phase waiting for an answer ignores them (the page disables its
        // buttons meanwhile; a click that slips through changes nothing).
        (phase, event) if event.is_user_action() && phase.awaits_answer() => {
            tracing::debug!(action = event.name(), phase = phase.name(), "ignored");
            rest(phase)
        }
        (_, E::ChooserShown) => rest(P::ChoosingReader),
        (_, E::StartOverAsked) => (P::Start, Some(Effect::ReleaseReader)),
        (P::InsertCard(notice), E::ReadCardAsked) => read_card(notice),
        (P::CardShown(_), E::ReadCardAsked) => read_card(InsertNotice::CardRemoved),
        (P::CardShown(loaded), E::ContinueAsked) if is_eligible(&loaded) => {
            check_pin(loaded, Asking::Renew)
        }
        (P::Failed { retry, .. }, E::TryAgainAsked) => try_again(retry),
        (
            P::Identity {
                loaded,
                asking,
                form,
            },
            E::IdentitySubmitted {
                national_id,
                birthday,
                pin,
            },
        ) => submit_identity(loaded, asking, form, &national_id, &birthday, pin),
        (
            P::Identity {
                loaded,
                asking: Asking::FinishPending(pending),
                form,
            },
            E::PinSubmitted(pin),
        ) => verify_pin(loaded, AfterPin::Write(pending), form, pin),
        (phase, event) if event.is_user_action() => {
            tracing::debug!(action = event.name(), phase = phase.name(), "ignored");
            rest(phase)
        }

        // The reader's news.
        (P::InsertCard(notice), E::CardChanged(Ok(CardChange::Inserted))) => read_card(notice),
        (P::CardShown(_) | P::Identity { .. }, E::CardChanged(Ok(CardChange::Inserted))) => {
            read_card(InsertNotice::CardRemoved)
        }
        (P::CardShown(_) | P::Identity { .. }, E::CardChanged(Ok(CardChange::Removed))) => {
            card_removed(holds_pending, InsertNotice::CardRemoved)
        }
        (P::InsertCard(_) | P::CardShown(_) | P::Identity { .. }, E::CardChanged(Err(error))) => {
            card_failure(holds_pending, error, InsertNotice::CardRemoved)
        }
        // Late news: already waiting for the card, or busy with it (the running step finds
        // out itself), or past it.
        (phase, E::CardChanged(_)) => rest(phase),

        // Connecting.
        (P::ChoosingReader, E::ReaderOpened(opened)) => match opened {
            Ok(()) => look_for_card(InsertNotice::NoCardYet),
            Err(ReaderOpenFailure::Guidance(problem)) => rest(P::ReaderGuidance(problem)),
            Err(ReaderOpenFailure::Chooser(error)) => rest(P::Failed {
                problem: problems::chooser(&error),
                retry: Retry::Restart,
            }),
        },
        (P::LookingForCard(notice), E::CardPresent(present)) => match present {
            Ok(true) => read_card(InsertNotice::CardRemoved),
            Ok(false) => rest(P::InsertCard(notice)),
            Err(error) => card_failure(holds_pending, error, InsertNotice::NoCardYet),
        },

        // Reading the card and asking the authority about it.
        (P::ReadingCard(notice), E::CardRead(read)) => match read {
            Ok(contents) => (
                P::AskingServerInfo(CardRead::new(contents)),
                Some(Effect::AskServerInfo),
            ),
            Err(error) => card_failure(holds_pending, error, notice),
        },
        (P::AskingServerInfo(read), E::ServerInfo(answer)) => match answer {
            Ok(info) if info.api_version == API_VERSION => {
                let request = read.verdict_request();
                (P::AskingVerdict(read), Some(Effect::AskVerdict(request)))
            }
            Ok(info) => failed(problems::version_mismatch(format!(
                "the authority speaks API version {}, this page {API_VERSION}",
                info.api_version
            ))),
            Err(error) => failed(problems::authority(&error)),
        },
        (P::AskingVerdict(read), E::Verdict(answer)) => verdict_answered(read, answer),

        // The identity form and the PIN.
        (P::CheckingPin { loaded, asking }, E::PinState(state)) => match state {
            Ok(PinState::TriesLeft(tries)) => rest(P::Identity {
                loaded,
                asking,
                form: Form::new(PinStatus::TriesLeft(tries)),
            }),
            Ok(PinState::Verified) => rest(P::Identity {
                loaded,
                asking,
                form: Form::new(PinStatus::Verified),
            }),
            Ok(PinState::Locked) => failed(problems::pin_locked()),
            Err(error) => card_failure(holds_pending, error, InsertNotice::CardRemoved),
        },
        (
            P::VerifyingPin {
                loaded,
                after,
                form,
            },
            E::PinVerified(outcome),
        ) => match outcome {
            Ok(VerifyOutcome::Verified) => match after {
                AfterPin::Prove(ask, holder) => prove(
                    loaded,
                    Proof {
                        ask,
                        holder,
                        challenge_replaced: false,
                    },
                ),
                AfterPin::Write(pending) => write_issued(loaded, pending),
            },
            Ok(VerifyOutcome::Wrong { tries_left }) => rest(P::Identity {
                loaded,
                asking: after.asking(),
                form: Form {
                    pin_status: PinStatus::TriesLeft(tries_left),
                    pin_error: Some(wrong_pin_message(tries_left)),
                    form_error: None,
                    ..form
                },
            }),
            Ok(VerifyOutcome::Locked) | Err(CardPortError::PinLocked) => {
                failed(problems::pin_locked())
            }
            Err(error) => card_failure(holds_pending, error, InsertNotice::CardRemoved),
        },

        // The proof of possession and the authority's renewal.
        (
            P::Signing {
                loaded,
                proof,
                challenge_id,
            },
            E::Signed(signed),
        ) => match signed {
            Ok(card_signature) => ask_renewal(loaded, proof, challenge_id, card_signature),
            Err(error) => card_failure(holds_pending, error, InsertNotice::CardRemoved),
        },
        (P::Issuing { loaded, proof }, E::Renewed(answer)) if proof.ask == Ask::Renew => {
            match answer {
                Ok(issued) => write_issued(
                    loaded,
                    Pending {
                        issued,
                        resuming: false,
                    },
                ),
                Err(error) => renewal_refused(loaded, proof, error),
            }
        }
        (P::Issuing { loaded, proof }, E::Resumed(answer)) if proof.ask == Ask::Resume => {
            match answer {
                Ok(ResumeResponse::WritePending { renewal }) => write_issued(
                    loaded,
                    Pending {
                        issued: renewal,
                        resuming: true,
                    },
                ),
                Ok(ResumeResponse::Completed { receipt }) => done(receipt, true),
                // The records changed since the verdict (another page finished it): show the
                // card with what the authority says now.
                Ok(ResumeResponse::NothingPending) => {
                    let request = loaded.verdict_request();
                    (
                        P::RecheckingVerdict(loaded),
                        Some(Effect::AskVerdict(request)),
                    )
                }
                Err(error) => renewal_refused(loaded, proof, error),
            }
        }
        (P::ReplacingChallenge { mut loaded, proof }, E::Verdict(answer)) => match answer {
            Ok(answer) => {
                loaded.refresh(answer);
                prove(
                    loaded,
                    Proof {
                        challenge_replaced: true,
                        ..proof
                    },
                )
            }
            Err(error) => failed(problems::authority(&error)),
        },
        (P::RecheckingVerdict(mut loaded), E::Verdict(answer)) => match answer {
            Ok(answer) => {
                let verdict = answer.verdict.clone();
                loaded.refresh(answer);
                loaded.overview.verdict = Some(verdict);
                rest(P::CardShown(loaded))
            }
            Err(error) => failed(problems::authority(&error)),
        },

        // Writing, reading back, completing.
        (P::Writing { issued, slot }, E::Written(written)) => match (written, slot) {
            (Ok(()), KeyRole::Signature) => {
                let der = issued.pending.issued.encryption_certificate.0.clone();
                (
                    P::Writing {
                        issued,
                        slot: KeyRole::Encryption,
                    },
                    Some(Effect::WriteCertificate {
                        slot: KeyRole::Encryption,
                        der,
                    }),
                )
            }
            (Ok(()), KeyRole::Encryption) => (P::ReadingBack(issued), Some(Effect::ReadBack)),
            // The card was reset between the PIN and the write: ask for the PIN again.
            (Err(CardPortError::PinNotVerified), _) => check_pin(
                issued.loaded,
                Asking::FinishPending(Pending {
                    resuming: true,
                    ..issued.pending
                }),
            ),
            (Err(error), _) => card_failure(holds_pending, error, InsertNotice::RenewalInterrupted),
        },
        (P::ReadingBack(issued), E::ReadBack(read)) => match read {
            Ok(on_card)
                if on_card.signature == issued.pending.issued.signature_certificate.0
                    && on_card.encryption == issued.pending.issued.encryption_certificate.0 =>
            {
                complete(issued)
            }
            Ok(_) => failed(problems::written_certificates_differ(
                "the certificates read back are not the issued ones".into(),
            )),
            Err(error) => card_failure(holds_pending, error, InsertNotice::RenewalInterrupted),
        },
        (P::Completing(issued), E::Completed(answer)) => match answer {
            Ok(answer) => done(answer.receipt, false),
            // A completion whose answer was lost may have gone through: ask for the receipt
            // before giving up.
            Err(failure) => {
                let request = ReceiptRequest {
                    renewal_number: issued.pending.issued.renewal_number.clone(),
                    card_number: issued.loaded.number.clone(),
                };
                (
                    P::AskingReceipt { issued, failure },
                    Some(Effect::AskReceipt(request)),
                )
            }
        },
        (P::AskingReceipt { issued, failure }, E::Receipt(answer)) => match answer {
            Ok(answer) => done(answer.receipt, false),
            Err(_) => rest(P::Failed {
                problem: problems::authority(&failure),
                retry: Retry::Complete(Box::new(issued)),
            }),
        },

        // An answer this phase did not ask for: a defect somewhere between the page and its
        // ports. Stop and say so rather than act on it.
        (phase, event) => {
            tracing::warn!(
                answer = event.name(),
                phase = phase.name(),
                "an answer that does not fit the renewal's step"
            );
            failed(problems::out_of_step(format!(
                "{} while {}",
                event.name(),
                phase.name()
            )))
        }
    }
}

fn is_eligible(loaded: &LoadedCard) -> bool {
    loaded
        .overview
        .verdict
        .as_ref()
        .is_some_and(renewal::Verdict::is_eligible)
}

fn look_for_card(notice: InsertNotice) -> Step {
    (
        Phase::LookingForCard(notice),
        Some(Effect::CheckCardPresent),
    )
}

fn read_card(notice: InsertNotice) -> Step {
    (Phase::ReadingCard(notice), Some(Effect::ReadCard))
}

fn check_pin(loaded: LoadedCard, asking: Asking) -> Step {
    (
        Phase::CheckingPin { loaded, asking },
        Some(Effect::ReadPinState),
    )
}

fn try_again(retry: Retry) -> Step {
    match retry {
        Retry::LookForCard => look_for_card(InsertNotice::NoCardYet),
        Retry::Complete(issued) => complete(*issued),
        Retry::Restart => (Phase::Start, Some(Effect::ReleaseReader)),
    }
}

fn done(receipt: Receipt, earlier: bool) -> Step {
    rest(Phase::Done(Completion { receipt, earlier }))
}

/// The card was pulled out: "insert it again", and nothing is lost (a renewal in hand is on
/// record at the authority and is finished when the card is read again).
fn card_removed(holds_pending: bool, notice: InsertNotice) -> Step {
    let notice = if holds_pending {
        InsertNotice::RenewalInterrupted
    } else {
        notice
    };
    rest(Phase::InsertCard(notice))
}

/// A card port error where the card was expected to be there: pulled out means "insert it
/// again", anything else is a problem with its next actions.
fn card_failure(holds_pending: bool, error: CardPortError, removed: InsertNotice) -> Step {
    tracing::debug!(%error, "card step failed");
    match error {
        CardPortError::CardRemoved => card_removed(holds_pending, removed),
        CardPortError::NotCitizenCard(_) => rest(Phase::InsertCard(InsertNotice::NotCitizenCard)),
        CardPortError::ReaderGone => (
            Phase::Failed {
                problem: problems::card(&error),
                retry: Retry::Restart,
            },
            Some(Effect::ReleaseReader),
        ),
        other => failed(problems::card(&other)),
    }
}

fn verdict_answered(read: CardRead, answer: Result<VerdictResponse, AuthorityError>) -> Step {
    let answer = match answer {
        Ok(answer) => answer,
        // The card's certificates are damaged and the authority has no renewal of this card
        // on record: the damage is the news.
        Err(AuthorityError::Refused(refusal)) if is_certificate_refusal(&refusal) => {
            match read.into_unreadable() {
                Some(unreadable) => return failed(unreadable),
                None => return failed(problems::authority(&AuthorityError::Refused(refusal))),
            }
        }
        Err(error) => return failed(problems::authority(&error)),
    };
    match LoadedCard::understand(read, answer) {
        Understood::Show(loaded) => rest(Phase::CardShown(loaded)),
        Understood::Resume(loaded) => check_pin(loaded, Asking::Resume),
        Understood::Problem(problem) => failed(problem),
    }
}

fn submit_identity(
    loaded: LoadedCard,
    asking: Asking,
    form: Form,
    national_id: &str,
    birthday: &str,
    pin: Pin,
) -> Step {
    let ask = match asking {
        Asking::Renew => Ask::Renew,
        Asking::Resume => Ask::Resume,
        // Only the PIN is asked for; the rest of the form is not shown.
        Asking::FinishPending(pending) => {
            return verify_pin(loaded, AfterPin::Write(pending), form, pin)
        }
    };
    match (NationalId::parse(national_id), Birthday::parse(birthday)) {
        (Ok(national_id), Ok(birthday)) => {
            let form = Form {
                national_id_error: None,
                birthday_error: None,
                ..form
            };
            let holder = Holder {
                national_id,
                birthday,
            };
            verify_pin(loaded, AfterPin::Prove(ask, holder), form, pin)
        }
        // A mistake in the ID number or birthday costs no PIN try: the PIN is dropped (wiped)
        // here, unsent.
        (national_id, birthday) => rest(Phase::Identity {
            loaded,
            asking,
            form: Form {
                national_id_error: national_id
                    .err()
                    .map(|error| national_id_error_message(&error)),
                birthday_error: birthday.err().map(|error| birthday_error_message(&error)),
                pin_error: None,
                form_error: None,
                ..form
            },
        }),
    }
}

fn verify_pin(loaded: LoadedCard, after: AfterPin, form: Form, pin: Pin) -> Step {
    (
        Phase::VerifyingPin {
            loaded,
            after,
            form,
        },
        Some(Effect::VerifyPin(pin)),
    )
}

/// Steps 5 and 7: the card signs the proof of possession over the offered challenge.
fn prove(loaded: LoadedCard, proof: Proof) -> Step {
    let Some(challenge) = loaded.challenge.clone() else {
        // No challenge is offered (the verdict is not eligible): the card page says why.
        return rest(Phase::CardShown(loaded));
    };
    let message = proof::proof_message(
        &challenge.challenge,
        loaded.signature.serial(),
        &proof.holder.national_id,
        proof.holder.birthday,
    );
    let certificate = loaded.signature.der().to_vec();
    (
        Phase::Signing {
            loaded,
            proof,
            challenge_id: challenge.challenge_id,
        },
        Some(Effect::Sign {
            message,
            certificate,
        }),
    )
}

/// The signed proof goes to the authority with the typed identity.
fn ask_renewal(
    loaded: LoadedCard,
    proof: Proof,
    challenge_id: ChallengeId,
    card_signature: Vec<u8>,
) -> Step {
    let holder = HolderProof {
        national_id: proof.holder.national_id.as_str().to_owned(),
        birthday: proof.holder.birthday.normalized(),
        card_signature: card_signature.into(),
    };
    let effect = match proof.ask {
        Ask::Renew => {
            // Only a resume follows a damaged read; a renewal needs both certificates.
            let Some(encryption) = &loaded.encryption else {
                return rest(Phase::CardShown(loaded));
            };
            Effect::Renew(RenewRequest {
                challenge_id,
                proof: holder,
                signature_certificate_serial: loaded.signature.serial().clone(),
                encryption_certificate_serial: encryption.serial().clone(),
                card_number: loaded.number.clone(),
            })
        }
        Ask::Resume => Effect::Resume(ResumeRequest {
            card_number: loaded.number.clone(),
            certificate_serials: loaded.serials_on_card(),
            challenge_id,
            signature_certificate_serial: loaded.signature.serial().clone(),
            proof: holder,
        }),
    };
    (Phase::Issuing { loaded, proof }, Some(effect))
}

/// The authority did not renew: a challenge that expired while the user typed (replaced
/// once), a rule (the verdict changed), the identity, or something else.
fn renewal_refused(mut loaded: LoadedCard, proof: Proof, error: AuthorityError) -> Step {
    let refusal: ApiError = match error {
        AuthorityError::Refused(refusal) => refusal,
        other => return failed(problems::authority(&other)),
    };
    if is_stale_challenge(&refusal) && !proof.challenge_replaced {
        let request = loaded.verdict_request();
        return (
            Phase::ReplacingChallenge { loaded, proof },
            Some(Effect::AskVerdict(request)),
        );
    }
    if let Some(verdict) = refusal.verdict.clone() {
        loaded.overview.verdict = Some(verdict);
        loaded.challenge = None;
        return rest(Phase::CardShown(loaded));
    }
    let national_id_error = national_id_code_message(refusal.code);
    let birthday_error = birthday_code_message(refusal.code);
    let identity_refused = refusal.code == ErrorCode::IdentityMismatch;
    if identity_refused || national_id_error.is_some() || birthday_error.is_some() {
        // The card still holds the verified PIN: the user need not type it again.
        return rest(Phase::Identity {
            loaded,
            asking: proof.ask.into(),
            form: Form {
                pin_status: PinStatus::Verified,
                national_id_error,
                birthday_error,
                pin_error: None,
                form_error: identity_refused
                    .then(|| Message::new(Key::IdentityMismatchExplanation)),
            },
        });
    }
    failed(problems::authority(&AuthorityError::Refused(refusal)))
}

/// Step 6 (and 7): certificates for another key would make the card useless, so they are
/// checked before the first is written.
fn write_issued(loaded: LoadedCard, pending: Pending) -> Step {
    let serials = match loaded.check_issued(&pending.issued) {
        Ok(serials) => serials,
        Err(detail) => return failed(problems::issued_certificates_wrong(detail)),
    };
    let der = pending.issued.signature_certificate.0.clone();
    let issued = Issued {
        loaded,
        pending,
        serials,
    };
    (
        Phase::Writing {
            issued,
            slot: KeyRole::Signature,
        },
        Some(Effect::WriteCertificate {
            slot: KeyRole::Signature,
            der,
        }),
    )
}

fn complete(issued: Issued) -> Step {
    let request = issued.complete_request();
    (Phase::Completing(issued), Some(Effect::Complete(request)))
}
