//! The renewal flow, in plain Rust: no DOM, no web APIs, testable natively. The decisions are
//! [`machine`]'s, a sans-IO state machine; [`RenewalFlow`] is its shell, which runs the
//! machine's effects through the ports and feeds their answers back.
//!
//! The business sequence is that of `DESIGN.md` "The flow":
//!
//! | step | event (method) | what happens | state after |
//! | --- | --- | --- | --- |
//! | 1 | [`RenewalFlow::new`] | browser check | [`FlowState::Start`] or [`FlowState::Unsupported`] |
//! | 1 | [`RenewalFlow::connect`] | chooser, open the reader, claim its interface | [`FlowState::InsertCard`], or [`FlowState::ReaderGuidance`] |
//! | 2–3 | [`RenewalFlow::read_card`] (also on card insertion) | power on, card number, certificates; the authority's time, pending renewal, verdict | [`FlowState::Card`] |
//! | 4 | [`RenewalFlow::continue_to_identity`] | tries left | [`FlowState::Identity`] |
//! | 4–6 | [`RenewalFlow::submit_identity`] | local checks, PIN, sign, issue, write, verify, complete | [`FlowState::Renewing`] → [`FlowState::Done`] |
//! | 7 | [`RenewalFlow::read_card`] in a later run | the authority's verdict offers a challenge for a renewal the card does not hold | [`FlowState::Identity`] ([`IdentityPurpose::Resume`]) → [`RenewalFlow::submit_identity`] → resume, write, verify, complete → [`FlowState::Done`] |
//! | — | [`RenewalFlow::watch_card`] | card pulled out or put in | [`FlowState::InsertCard`] / reading again |
//! | — | [`RenewalFlow::try_again`], [`RenewalFlow::start_over`] | the next action of a [`Problem`] | |
//!
//! The PIN is a [`card::Pin`] handed to the method that verifies it and dropped (wiped) when
//! that method returns; it never enters a state, a log, or a request to the authority. The ID
//! number and birthday go to the authority only inside the renewal request.

mod ccid_card;
pub mod explain;
pub mod identity;
mod loaded;
pub mod machine;
pub mod ports;
pub mod problems;
pub mod state;

use std::time::Duration;

use card::Pin;
use ccid::{Reader, TransportError, UsbTransport};

pub use ccid_card::CcidCard;
pub use loaded::CardContents;
use machine::{Effect, Event, Machine, Phase, ReaderOpenFailure};
pub use ports::{
    AuthorityError, AuthorityPort, CardChange, CardPort, CardPortError, ChooseError, ReaderChooser,
    UserCertificates,
};
pub use state::{
    CardOverview, CertificateSummary, Completion, Deployment, FlowState, IdentityPurpose,
    IdentityStep, InsertNotice, NextAction, PinStatus, Problem, ReaderProblem, Renewing,
    RenewingStep, UnsupportedReason,
};

/// What the page found out about the browser before the flow starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrowserEnvironment {
    /// `navigator.usb` exists.
    pub webusb: bool,
    /// The page is a secure context (HTTPS or the local machine).
    pub secure_context: bool,
    /// Where the page runs.
    pub deployment: Deployment,
}

/// What the flow calls with each new state.
type StateObserver = Box<dyn FnMut(&FlowState)>;

/// What the flow calls with every phase the machine enters and the effect it asks for (a
/// support trace, or a test's).
type StepObserver = Box<dyn FnMut(&Phase, Option<&Effect>)>;

/// Card changes a freshly opened reader may still report from before it was opened.
const STALE_CARD_CHANGES: usize = 4;

/// The renewal flow over a card port `C` and an authority port `A`: the [`Machine`], and the
/// ports its effects run through.
pub struct RenewalFlow<C: CardPort, A: AuthorityPort> {
    machine: Machine,
    /// The machine's view as last shown.
    shown: FlowState,
    authority: A,
    card: Option<C>,
    observer: Option<StateObserver>,
    step_observer: Option<StepObserver>,
}

impl<C: CardPort, A: AuthorityPort> std::fmt::Debug for RenewalFlow<C, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenewalFlow")
            .field("phase", &self.machine.phase().name())
            .finish_non_exhaustive()
    }
}

impl<C: CardPort, A: AuthorityPort> RenewalFlow<C, A> {
    /// A flow in a browser described by `environment`, talking to `authority`.
    pub fn new(authority: A, environment: BrowserEnvironment) -> Self {
        let machine = Machine::new(environment);
        Self {
            shown: machine.view(),
            machine,
            authority,
            card: None,
            observer: None,
            step_observer: None,
        }
    }

    /// The state to show.
    pub fn state(&self) -> &FlowState {
        &self.shown
    }

    /// Where the machine is (for tests and diagnostics).
    pub fn phase(&self) -> &Phase {
        self.machine.phase()
    }

    /// Calls `observer` with every new state (the page mirrors it into a signal, and shows
    /// each renewal step as it starts).
    pub fn set_observer(&mut self, observer: impl FnMut(&FlowState) + 'static) {
        self.observer = Some(Box::new(observer));
    }

    /// Calls `observer` with every phase the machine enters and the effect it asks for.
    pub fn set_step_observer(&mut self, observer: impl FnMut(&Phase, Option<&Effect>) + 'static) {
        self.step_observer = Some(Box::new(observer));
    }

    /// The authority port (for tests and diagnostics).
    pub fn authority(&self) -> &A {
        &self.authority
    }

    /// Whether a reader is connected.
    pub fn has_reader(&self) -> bool {
        self.card.is_some()
    }

    /// Back to the first page: the reader and everything read are let go.
    pub async fn start_over(&mut self) {
        self.run(Event::StartOverAsked).await;
    }

    /// Uses `card` as the reader (a reader opened by [`RenewalFlow::connect`], or another
    /// card port) and reads the card if one is in.
    pub async fn attach_card(&mut self, card: C) {
        self.card = Some(Self::without_stale_changes(card).await);
        self.run(Event::ReaderAttached).await;
    }

    /// A reader announces the card it already holds when it is opened; that news is stale
    /// once the slot is asked directly, and would only make the card be read twice.
    async fn without_stale_changes(mut card: C) -> C {
        for _ in 0..STALE_CARD_CHANGES {
            match card.wait_card_change(Duration::ZERO).await {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        card
    }

    /// Waits up to `wait` for the card to be put in or pulled out, and follows: a card put in
    /// is read; a card pulled out brings back "insert the card" with nothing lost. Called
    /// periodically by the page in the states where [`FlowState::watches_card`] is true.
    pub async fn watch_card(&mut self, wait: Duration) {
        if !self.shown.watches_card() || self.machine.phase().awaits_answer() {
            return;
        }
        let Some(card) = self.card.as_mut() else {
            return;
        };
        let change = match card.wait_card_change(wait).await {
            Ok(Some(change)) => Ok(change),
            Ok(None) => return,
            Err(error) => Err(error),
        };
        self.run(Event::CardChanged(change)).await;
    }

    /// Reads the card and asks the authority about it: card number, both certificates, the
    /// authority's time, whether a renewal of this card is on record, and the verdict.
    pub async fn read_card(&mut self) {
        self.run(Event::ReadCardAsked).await;
    }

    /// From the card page (eligible verdict) to the identity form, with the PIN tries left.
    pub async fn continue_to_identity(&mut self) {
        self.run(Event::ContinueAsked).await;
    }

    /// The identity form was sent: the ID number and birthday are checked here first (a
    /// mistake costs no PIN try), then the card verifies the PIN, then the renewal runs.
    pub async fn submit_identity(&mut self, national_id: &str, birthday: &str, pin: Pin) {
        self.run(Event::IdentitySubmitted {
            national_id: national_id.to_owned(),
            birthday: birthday.to_owned(),
            pin,
        })
        .await;
    }

    /// The PIN for finishing a renewal issued in an earlier run.
    pub async fn submit_pin(&mut self, pin: Pin) {
        self.run(Event::PinSubmitted(pin)).await;
    }

    /// The "try again" of a problem: reads the card again (which also picks up a renewal on
    /// record), or, when the card already holds the new certificates, tells the authority
    /// again.
    pub async fn try_again(&mut self) {
        self.run(Event::TryAgainAsked).await;
    }

    /// Hands `event` to the machine and runs the effects it asks for, each answer fed back,
    /// until it rests.
    async fn run(&mut self, event: Event) {
        let mut next = Some(event);
        while let Some(event) = next.take() {
            let effect = self.machine.handle(event);
            self.publish(effect.as_ref());
            if let Some(effect) = effect {
                next = self.perform(effect).await;
            }
        }
    }

    fn publish(&mut self, effect: Option<&Effect>) {
        if let Some(observer) = self.step_observer.as_mut() {
            observer(self.machine.phase(), effect);
        }
        let view = self.machine.view();
        if page_changed(&self.shown, &view, self.machine.phase()) {
            self.shown = view;
            if let Some(observer) = self.observer.as_mut() {
                observer(&self.shown);
            }
        }
    }

    /// Runs one effect through its port; the answer is the machine's next event.
    async fn perform(&mut self, effect: Effect) -> Option<Event> {
        let authority = &mut self.authority;
        let event = match effect {
            Effect::ReleaseReader => {
                // Whoever uses the reader next finds the card unpowered, its PIN state gone.
                if let Some(mut card) = self.card.take() {
                    if let Err(error) = card.power_off().await {
                        tracing::debug!(%error, "the card could not be powered off");
                    }
                }
                return None;
            }
            Effect::AskServerInfo => Event::ServerInfo(authority.server_info().await),
            Effect::AskVerdict(request) => Event::Verdict(authority.verdict(&request).await),
            Effect::Renew(request) => Event::Renewed(authority.renew(&request).await),
            Effect::Resume(request) => Event::Resumed(authority.resume(&request).await),
            Effect::Complete(request) => Event::Completed(authority.complete(&request).await),
            Effect::AskReceipt(request) => Event::Receipt(authority.receipt(&request).await),
            card_effect => {
                let Some(card) = self.card.as_mut() else {
                    return card_effect.answer_without_reader();
                };
                perform_on_card(card, card_effect).await?
            }
        };
        Some(event)
    }
}

/// Whether `view` is a new page to show after `shown`: every phase that waits for the user is
/// shown, and a working phase only when it changes what is on screen (a new kind of page, or
/// the next renewal step). Working phases that look the same (the identity form while the card
/// checks the PIN) keep the page as it is, so nothing the user typed is redrawn away. Judged
/// by kind rather than by comparing whole states, which would cost the page code.
fn page_changed(shown: &FlowState, view: &FlowState, phase: &Phase) -> bool {
    if !phase.awaits_answer() || std::mem::discriminant(shown) != std::mem::discriminant(view) {
        return true;
    }
    matches!((shown, view), (FlowState::Renewing(a), FlowState::Renewing(b)) if a != b)
}

/// Runs a card effect; `None` for an effect that is not the card's.
async fn perform_on_card<C: CardPort>(card: &mut C, effect: Effect) -> Option<Event> {
    Some(match effect {
        Effect::CheckCardPresent => Event::CardPresent(card.card_present().await),
        Effect::ReadCard => Event::CardRead(read_card(card).await),
        Effect::ReadPinState => Event::PinState(card.pin_state().await),
        Effect::VerifyPin(pin) => {
            let outcome = card.verify_pin(&pin).await;
            // The PIN's one use is over: wipe it now, before anything else can happen.
            drop(pin);
            Event::PinVerified(outcome)
        }
        Effect::Sign {
            message,
            certificate,
        } => Event::Signed(card.sign(&message, &certificate).await),
        Effect::WriteCertificate { slot, der } => {
            Event::Written(card.write_certificate(slot, &der).await)
        }
        Effect::ReadBack => Event::ReadBack(card.read_user_certificates().await),
        Effect::ReleaseReader
        | Effect::AskServerInfo
        | Effect::AskVerdict(_)
        | Effect::Renew(_)
        | Effect::Resume(_)
        | Effect::Complete(_)
        | Effect::AskReceipt(_) => return None,
    })
}

/// Powers the card and reads its number and both user certificates. A slot that holds no
/// certificate may be one torn by an interrupted write; the authority may know the card's
/// renewal by its number, so that is not yet a failure.
async fn read_card<C: CardPort>(card: &mut C) -> Result<CardContents, CardPortError> {
    card.power_on().await?;
    let number = card.read_card_number().await?;
    let certificates = match card.read_user_certificates().await {
        Ok(certificates) => Ok(certificates),
        Err(CardPortError::CertificateMissing { slot, detail }) => Err((slot, detail)),
        Err(other) => return Err(other),
    };
    Ok(CardContents {
        number,
        certificates,
    })
}

impl<T: UsbTransport, A: AuthorityPort> RenewalFlow<CcidCard<T>, A> {
    /// Step 1: the user picks a reader in the chooser; the page opens it, claims its CCID
    /// interface, and reads the card if one is in.
    pub async fn connect<R: ReaderChooser<Transport = T>>(&mut self, chooser: &mut R) {
        self.run(Event::ChooserShown).await;
        if !matches!(self.machine.phase(), Phase::ChoosingReader) {
            return;
        }
        let opened = match chooser.choose_reader().await {
            Ok(transport) => match Reader::open(transport).await {
                Ok(reader) => {
                    let card = Self::without_stale_changes(CcidCard::new(reader)).await;
                    self.card = Some(card);
                    Ok(())
                }
                Err(error) => Err(match reader_problem(&error) {
                    Some(problem) => ReaderOpenFailure::Guidance(problem),
                    None => ReaderOpenFailure::Chooser(ChooseError::Failed(error.to_string())),
                }),
            },
            Err(error) => Err(ReaderOpenFailure::Chooser(error)),
        };
        self.run(Event::ReaderOpened(opened)).await;
    }
}

/// The guidance for a reader that could not be opened, when there is specific guidance.
fn reader_problem(error: &ccid::Error) -> Option<ReaderProblem> {
    match error {
        ccid::Error::Transport(TransportError::AccessDenied(_)) => {
            Some(ReaderProblem::ProtectedInterface)
        }
        // Claiming fails with a generic error when the operating system's driver (Windows
        // without WinUSB, Linux's pcscd) holds the interface.
        ccid::Error::Transport(TransportError::Other(detail)) => {
            Some(ReaderProblem::HeldByOperatingSystem {
                detail: detail.clone(),
            })
        }
        ccid::Error::Transport(TransportError::Stall) => {
            Some(ReaderProblem::HeldByOperatingSystem {
                detail: error.to_string(),
            })
        }
        ccid::Error::Descriptor(_)
        | ccid::Error::CharacterLevelReader
        | ccid::Error::IccdNotSupported(_)
        | ccid::Error::UnknownInterfaceProtocol(_) => Some(ReaderProblem::UnsupportedReader {
            detail: error.to_string(),
        }),
        _ => None,
    }
}
