//! The renewal as a state machine, in plain Rust: no DOM, no web APIs, testable natively.
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
pub mod ports;
pub mod problems;
pub mod state;

use std::time::Duration;

use card::{Pin, PinState, VerifyOutcome};
use ccid::{Reader, TransportError, UsbTransport};
use renewal::api::{
    ApiError, ChallengeOffer, CompleteRequest, ErrorCode, HolderProof, ReceiptRequest,
    RenewRequest, RenewResponse, RenewalOnRecord, ResumeRequest, ResumeResponse, VerdictRequest,
    API_VERSION,
};
use renewal::certificate::CertificateSerial;
use renewal::rules::{classify_term, Term};
use renewal::{proof, Birthday, CardNumber, CertificateView, NationalId, Receipt, Verdict};

pub use ccid_card::CcidCard;
pub use ports::{
    AuthorityError, AuthorityPort, CardChange, CardPort, CardPortError, ChooseError, ReaderChooser,
    UserCertificates, UserSlot,
};
pub use state::{
    CardOverview, CertificateSummary, Completion, Deployment, FlowState, IdentityPurpose,
    IdentityStep, InsertNotice, NextAction, PinStatus, Problem, ReaderProblem, Renewing,
    RenewingStep, UnsupportedReason,
};

use identity::{birthday_error_message, national_id_error_message, wrong_pin_message};

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

/// What was read of the card's user certificates.
struct CardRead {
    /// The signature slot's certificate bytes (empty when the slot holds none).
    signature_der: Vec<u8>,
    signature: Option<CertificateView>,
    encryption: Option<CertificateView>,
    /// What to tell the user when a certificate is missing or unreadable and the authority
    /// has no interrupted renewal that explains it.
    unreadable: Option<Problem>,
}

/// The card as read, with what the authority said about it. Kept out of the displayed state
/// because it holds whole certificates and the challenge.
#[derive(Debug, Clone)]
struct LoadedCard {
    number: CardNumber,
    /// The signature certificate the authority's verdict and challenge are about.
    signature: CertificateView,
    /// The card's copy of it is damaged (an interrupted write); `signature` is the authority's.
    signature_damaged: bool,
    /// `None` when the slot is damaged (an interrupted write).
    encryption: Option<CertificateView>,
    overview: CardOverview,
    challenge: Option<ChallengeOffer>,
}

impl LoadedCard {
    /// Serials of the certificates the card holds intact.
    fn serials_on_card(&self) -> Vec<CertificateSerial> {
        let signature = (!self.signature_damaged).then(|| self.signature.serial().clone());
        signature
            .into_iter()
            .chain(self.encryption.iter().map(|e| e.serial().clone()))
            .collect()
    }
}

/// Certificates the authority issued for this card and that are not yet confirmed written.
#[derive(Debug, Clone)]
struct PendingRenewal {
    issued: RenewResponse,
    resuming: bool,
}

/// Which request a proof of possession goes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    Renew,
    Resume,
}

/// The authority's answer to a proven request.
enum Answer {
    Issued(RenewResponse),
    Resumed(ResumeResponse),
}

/// What "try again" does after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RetryPoint {
    /// Read the card again (this also resumes a pending renewal).
    ReadCard,
    /// The card holds the new certificates; tell the authority again.
    Complete,
}

/// The renewal flow over a card port `C` and an authority port `A`.
pub struct RenewalFlow<C: CardPort, A: AuthorityPort> {
    state: FlowState,
    deployment: Deployment,
    authority: A,
    card: Option<C>,
    loaded: Option<LoadedCard>,
    pending: Option<PendingRenewal>,
    retry: RetryPoint,
    observer: Option<StateObserver>,
}

/// Card changes a freshly opened reader may still report from before it was opened.
const STALE_CARD_CHANGES: usize = 4;

/// What the flow calls with each new state.
type StateObserver = Box<dyn FnMut(&FlowState)>;

impl<C: CardPort, A: AuthorityPort> std::fmt::Debug for RenewalFlow<C, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenewalFlow")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<C: CardPort, A: AuthorityPort> RenewalFlow<C, A> {
    /// A flow in a browser described by `environment`, talking to `authority`.
    pub fn new(authority: A, environment: BrowserEnvironment) -> Self {
        let state = if !environment.secure_context {
            FlowState::Unsupported(UnsupportedReason::InsecureContext)
        } else if !environment.webusb {
            FlowState::Unsupported(UnsupportedReason::NoWebUsb)
        } else {
            FlowState::Start
        };
        Self {
            state,
            deployment: environment.deployment,
            authority,
            card: None,
            loaded: None,
            pending: None,
            retry: RetryPoint::ReadCard,
            observer: None,
        }
    }

    /// The state to show.
    pub fn state(&self) -> &FlowState {
        &self.state
    }

    /// Calls `observer` with every new state (the page mirrors it into a signal, and shows
    /// each renewal step as it starts).
    pub fn set_observer(&mut self, observer: impl FnMut(&FlowState) + 'static) {
        self.observer = Some(Box::new(observer));
    }

    /// The authority port (for tests and diagnostics).
    pub fn authority(&self) -> &A {
        &self.authority
    }

    /// Whether a reader is connected.
    pub fn has_reader(&self) -> bool {
        self.card.is_some()
    }

    fn enter(&mut self, state: FlowState) {
        self.state = state;
        if let Some(observer) = self.observer.as_mut() {
            observer(&self.state);
        }
    }

    fn fail(&mut self, problem: Problem) {
        self.enter(FlowState::Failed(problem));
    }

    /// Back to the first page: the reader and everything read are let go.
    pub fn start_over(&mut self) {
        self.card = None;
        self.loaded = None;
        self.pending = None;
        self.enter(FlowState::Start);
    }

    /// Uses `card` as the reader (a reader opened by [`RenewalFlow::connect`], or another
    /// card port) and reads the card if one is in.
    pub async fn attach_card(&mut self, mut card: C) {
        // A reader announces the card it already holds when it is opened; that news is
        // stale once the slot is asked directly below, and would only make the card be read
        // twice.
        for _ in 0..STALE_CARD_CHANGES {
            match card.wait_card_change(Duration::ZERO).await {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        self.card = Some(card);
        self.loaded = None;
        self.pending = None;
        self.look_for_card(InsertNotice::NoCardYet).await;
    }

    async fn look_for_card(&mut self, notice: InsertNotice) {
        let Some(card) = self.card.as_mut() else {
            self.enter(FlowState::Start);
            return;
        };
        match card.card_present().await {
            Ok(true) => self.read_card().await,
            Ok(false) => self.enter(FlowState::InsertCard(notice)),
            Err(error) => self.card_failure(error, InsertNotice::NoCardYet),
        }
    }

    /// Waits up to `wait` for the card to be put in or pulled out, and follows: a card put in
    /// is read; a card pulled out brings back "insert the card" with nothing lost. Called
    /// periodically by the page in the states where [`FlowState::watches_card`] is true.
    pub async fn watch_card(&mut self, wait: Duration) {
        if !self.state.watches_card() {
            return;
        }
        let Some(card) = self.card.as_mut() else {
            return;
        };
        match card.wait_card_change(wait).await {
            Ok(Some(CardChange::Removed)) => self.card_removed(),
            Ok(Some(CardChange::Inserted)) => self.read_card().await,
            Ok(None) => {}
            Err(error) => self.card_failure(error, InsertNotice::CardRemoved),
        }
    }

    fn card_removed(&mut self) {
        // Already waiting for the card: the reader's news is late, and the reason given when
        // the card was found missing (an interrupted renewal) is the one to keep.
        if matches!(self.state, FlowState::InsertCard(_)) {
            return;
        }
        self.loaded = None;
        let notice = if self.pending.take().is_some() {
            InsertNotice::RenewalInterrupted
        } else {
            InsertNotice::CardRemoved
        };
        self.retry = RetryPoint::ReadCard;
        self.enter(FlowState::InsertCard(notice));
    }

    /// A card port error where the card was expected to be there: pulled out means "insert
    /// it again", anything else is a problem with its next actions.
    fn card_failure(&mut self, error: CardPortError, removed: InsertNotice) {
        tracing::debug!(%error, "card step failed");
        match error {
            CardPortError::CardRemoved => {
                self.loaded = None;
                let notice = if self.pending.take().is_some() {
                    InsertNotice::RenewalInterrupted
                } else {
                    removed
                };
                self.retry = RetryPoint::ReadCard;
                self.enter(FlowState::InsertCard(notice));
            }
            CardPortError::NotCitizenCard(_) => {
                self.loaded = None;
                self.enter(FlowState::InsertCard(InsertNotice::NotCitizenCard));
            }
            CardPortError::ReaderGone => {
                self.card = None;
                self.loaded = None;
                self.pending = None;
                self.fail(problems::card(&error));
            }
            other => {
                self.retry = RetryPoint::ReadCard;
                self.fail(problems::card(&other));
            }
        }
    }

    /// Reads the card and asks the authority about it: card number, both certificates, the
    /// authority's time, whether a renewal of this card is pending, and the verdict.
    pub async fn read_card(&mut self) {
        // Asked to read with no card in: keep saying why the card is awaited.
        let no_card = match self.state {
            FlowState::InsertCard(notice) => notice,
            _ => InsertNotice::CardRemoved,
        };
        self.enter(FlowState::ReadingCard);
        self.loaded = None;
        self.pending = None;
        self.retry = RetryPoint::ReadCard;
        let Some(card) = self.card.as_mut() else {
            self.enter(FlowState::Start);
            return;
        };
        let read = async {
            card.power_on().await?;
            let number = card.read_card_number().await?;
            // A slot that holds no certificate may be one torn by an interrupted write; the
            // authority may know the card's renewal by its number (see `ask_authority`).
            let certificates = match card.read_user_certificates().await {
                Ok(certificates) => Ok(certificates),
                Err(CardPortError::CertificateMissing { slot, detail }) => Err((slot, detail)),
                Err(other) => return Err(other),
            };
            Ok::<_, CardPortError>((number, certificates))
        };
        let (number, certificates) = match read.await {
            Ok(read) => read,
            Err(error) => return self.card_failure(error, no_card),
        };
        let read = match certificates {
            Ok(certificates) => {
                let signature = CertificateView::from_der(&certificates.signature);
                let encryption = CertificateView::from_der(&certificates.encryption);
                let unreadable = match (&signature, &encryption) {
                    (Err(error), _) | (_, Err(error)) => {
                        Some(problems::certificate_unreadable(error.to_string()))
                    }
                    _ => None,
                };
                CardRead {
                    signature_der: certificates.signature,
                    signature: signature.ok(),
                    encryption: encryption.ok(),
                    unreadable,
                }
            }
            Err((slot, detail)) => CardRead {
                signature_der: Vec::new(),
                signature: None,
                encryption: None,
                unreadable: Some(problems::card(&CardPortError::CertificateMissing {
                    slot,
                    detail,
                })),
            },
        };
        if let Err(error) = self.ask_authority(number, read).await {
            self.fail(problems::authority(&error));
        }
    }

    async fn ask_authority(
        &mut self,
        number: CardNumber,
        read: CardRead,
    ) -> Result<(), AuthorityError> {
        let info = self.authority.server_info().await?;
        if info.api_version != API_VERSION {
            self.fail(problems::version_mismatch(format!(
                "the authority speaks API version {}, this page {API_VERSION}",
                info.api_version
            )));
            return Ok(());
        }
        let asked = self
            .authority
            .verdict(&VerdictRequest {
                certificate: read.signature_der.clone().into(),
                card_number: Some(number.clone()),
            })
            .await;
        let answer = match (asked, &read.unreadable) {
            (Ok(answer), _) => answer,
            // The card's certificates are damaged and the authority has no renewal of this
            // card on record: the damage is the news.
            (Err(AuthorityError::Refused(refusal)), Some(unreadable))
                if is_certificate_refusal(&refusal) =>
            {
                self.fail(unreadable.clone());
                return Ok(());
            }
            (Err(error), _) => return Err(error),
        };
        // The signature certificate the verdict is about: the one on record when the card's
        // copy was damaged by an interrupted write, else the card's.
        let (signature, damaged) = match (&answer.certificate_on_record, read.signature) {
            (Some(der), _) => match CertificateView::from_der(&der.0) {
                Ok(on_record) => (on_record, true),
                Err(error) => {
                    self.fail(problems::issued_certificates_wrong(format!(
                        "the certificate on record: {error}"
                    )));
                    return Ok(());
                }
            },
            (None, Some(signature)) => (signature, false),
            (None, None) => {
                let unreadable = read.unreadable.unwrap_or_else(|| {
                    problems::certificate_unreadable("no signature certificate".into())
                });
                self.fail(unreadable);
                return Ok(());
            }
        };
        let encryption = read.encryption;
        // The authority says whether it holds a renewal of this card. One it issued but was
        // never told is on the card is finished, whatever the card holds now (it may hold the
        // new certificates already, written before the card was pulled). A completed one is
        // the card's state unless the card no longer holds both renewed certificates intact;
        // then its receipt is shown again.
        let card_renewed = !damaged
            && classify_term(&signature.validity()) == Term::Renewed
            && encryption
                .as_ref()
                .is_some_and(|encryption| classify_term(&encryption.validity()) == Term::Renewed);
        let interrupted = match answer.renewal_on_record {
            Some(RenewalOnRecord::Issued) => true,
            Some(RenewalOnRecord::Completed) => !card_renewed,
            None => false,
        };
        if !interrupted {
            if let Some(unreadable) = read.unreadable {
                self.fail(unreadable);
                return Ok(());
            }
        }
        let overview = CardOverview {
            card_number: number.clone(),
            holder_name: signature.holder_name().unwrap_or_default().to_owned(),
            signature: summary(&signature),
            encryption: encryption.as_ref().map(summary),
            authority_time: answer.server_time,
            verdict: (!interrupted).then_some(answer.verdict),
        };
        self.loaded = Some(LoadedCard {
            number,
            signature,
            signature_damaged: damaged,
            encryption,
            overview: overview.clone(),
            challenge: answer.challenge,
        });
        if interrupted {
            self.ask_identity(IdentityPurpose::Resume).await;
        } else {
            self.enter(FlowState::Card(overview));
        }
        Ok(())
    }

    /// From the card page (eligible verdict) to the identity form, with the PIN tries left.
    pub async fn continue_to_identity(&mut self) {
        let eligible = self
            .loaded
            .as_ref()
            .and_then(|loaded| loaded.overview.verdict.as_ref())
            .is_some_and(Verdict::is_eligible);
        if !matches!(self.state, FlowState::Card(_)) || !eligible {
            return;
        }
        self.ask_identity(IdentityPurpose::Renew).await;
    }

    async fn ask_identity(&mut self, purpose: IdentityPurpose) {
        let (Some(card), Some(loaded)) = (self.card.as_mut(), self.loaded.as_ref()) else {
            return self.enter(FlowState::Start);
        };
        let overview = loaded.overview.clone();
        let pin_status = match card.pin_state().await {
            Ok(PinState::TriesLeft(tries)) => PinStatus::TriesLeft(tries),
            Ok(PinState::Verified) => PinStatus::Verified,
            Ok(PinState::Locked) => return self.fail(problems::pin_locked()),
            Err(error) => return self.card_failure(error, InsertNotice::CardRemoved),
        };
        self.enter(FlowState::Identity(IdentityStep {
            overview,
            purpose,
            pin_status,
            national_id_error: None,
            birthday_error: None,
            pin_error: None,
            form_error: None,
        }));
    }

    fn identity_step(&self) -> Option<IdentityStep> {
        match &self.state {
            FlowState::Identity(step) => Some(step.clone()),
            _ => None,
        }
    }

    /// Verifies the PIN; `Ok(())` when verified, otherwise the identity form is shown again
    /// with the reason (or the locked-card problem).
    async fn verify(&mut self, step: IdentityStep, pin: Pin) -> Result<(), ()> {
        let Some(card) = self.card.as_mut() else {
            self.enter(FlowState::Start);
            return Err(());
        };
        let outcome = card.verify_pin(&pin).await;
        // The PIN's one use is over: wipe it now, before anything else can happen.
        drop(pin);
        match outcome {
            Ok(VerifyOutcome::Verified) => Ok(()),
            Ok(VerifyOutcome::Wrong { tries_left }) => {
                self.enter(FlowState::Identity(IdentityStep {
                    pin_status: PinStatus::TriesLeft(tries_left),
                    pin_error: Some(wrong_pin_message(tries_left)),
                    form_error: None,
                    ..step
                }));
                Err(())
            }
            Ok(VerifyOutcome::Locked) | Err(CardPortError::PinLocked) => {
                self.fail(problems::pin_locked());
                Err(())
            }
            Err(error) => {
                self.card_failure(error, InsertNotice::CardRemoved);
                Err(())
            }
        }
    }

    /// The identity form was sent: the ID number and birthday are checked here first (a
    /// mistake costs no PIN try), then the card verifies the PIN, then the renewal runs.
    pub async fn submit_identity(&mut self, national_id: &str, birthday: &str, pin: Pin) {
        let Some(step) = self.identity_step() else {
            return;
        };
        if step.purpose == IdentityPurpose::FinishPending {
            return self.submit_pin(pin).await;
        }
        let national_id = NationalId::parse(national_id);
        let birthday = Birthday::parse(birthday);
        let (national_id, birthday) = match (national_id, birthday) {
            (Ok(national_id), Ok(birthday)) => (national_id, birthday),
            (national_id, birthday) => {
                return self.enter(FlowState::Identity(IdentityStep {
                    national_id_error: national_id
                        .err()
                        .map(|error| national_id_error_message(&error)),
                    birthday_error: birthday.err().map(|error| birthday_error_message(&error)),
                    pin_error: None,
                    form_error: None,
                    ..step
                }));
            }
        };
        let step = IdentityStep {
            national_id_error: None,
            birthday_error: None,
            ..step
        };
        let purpose = step.purpose;
        if self.verify(step.clone(), pin).await.is_err() {
            return;
        }
        match purpose {
            IdentityPurpose::Resume => self.resume(step, &national_id, birthday).await,
            IdentityPurpose::Renew | IdentityPurpose::FinishPending => {
                self.renew(step, &national_id, birthday).await
            }
        }
    }

    /// The PIN for finishing a renewal issued in an earlier run.
    pub async fn submit_pin(&mut self, pin: Pin) {
        let Some(step) = self.identity_step() else {
            return;
        };
        if step.purpose != IdentityPurpose::FinishPending {
            return;
        }
        if self.verify(step, pin).await.is_err() {
            return;
        }
        self.write_and_complete().await;
    }

    fn renewing(&mut self, step: RenewingStep) {
        let resuming = self
            .pending
            .as_ref()
            .is_some_and(|pending| pending.resuming);
        self.enter(FlowState::Renewing(Renewing { step, resuming }));
    }

    /// Steps 5 and 6: sign the challenge, have the authority issue, write, verify, complete.
    async fn renew(&mut self, step: IdentityStep, national_id: &NationalId, birthday: Birthday) {
        let Some(Answer::Issued(issued)) = self
            .prove_and_ask(&step, national_id, birthday, Ask::Renew)
            .await
        else {
            return;
        };
        self.pending = Some(PendingRenewal {
            issued,
            resuming: false,
        });
        self.write_and_complete().await;
    }

    /// Step 7: the card proves its key again and the authority hands back the renewal it
    /// issued before; it is written and completed as in a first run.
    async fn resume(&mut self, step: IdentityStep, national_id: &NationalId, birthday: Birthday) {
        let Some(Answer::Resumed(resumed)) = self
            .prove_and_ask(&step, national_id, birthday, Ask::Resume)
            .await
        else {
            return;
        };
        match resumed {
            ResumeResponse::WritePending { renewal } => {
                self.pending = Some(PendingRenewal {
                    issued: renewal,
                    resuming: true,
                });
                self.write_and_complete().await;
            }
            ResumeResponse::Completed { receipt } => {
                self.pending = None;
                self.loaded = None;
                self.enter(FlowState::Done(Completion {
                    receipt,
                    earlier: true,
                }));
            }
            // The records changed since the verdict (another page finished it): show the card
            // with what the authority says now.
            ResumeResponse::NothingPending => match self.refresh_challenge().await {
                Ok(verdict) => match self.loaded.as_mut() {
                    Some(loaded) if verdict.is_some() => {
                        loaded.overview.verdict = verdict;
                        let overview = loaded.overview.clone();
                        self.enter(FlowState::Card(overview));
                    }
                    _ => self.enter(FlowState::Start),
                },
                Err(error) => self.fail(problems::authority(&error)),
            },
        }
    }

    /// Signs the proof of possession over the offered challenge and sends it with the typed
    /// identity (renew or resume). A challenge that expired while the user was typing is
    /// replaced once. `None` when the flow has moved to another state (refused, card gone).
    async fn prove_and_ask(
        &mut self,
        step: &IdentityStep,
        national_id: &NationalId,
        birthday: Birthday,
        ask: Ask,
    ) -> Option<Answer> {
        let mut fresh_challenge_asked = false;
        loop {
            self.renewing(RenewingStep::Sign);
            let Some(loaded) = self.loaded.clone() else {
                self.enter(FlowState::Start);
                return None;
            };
            let Some(challenge) = loaded.challenge.clone() else {
                self.enter(FlowState::Card(loaded.overview));
                return None;
            };
            let message = proof::proof_message(
                &challenge.challenge,
                loaded.signature.serial(),
                national_id,
                birthday,
            );
            let Some(card) = self.card.as_mut() else {
                self.enter(FlowState::Start);
                return None;
            };
            let card_signature = match card.sign(&message, loaded.signature.der()).await {
                Ok(signature) => signature,
                Err(error) => {
                    self.card_failure(error, InsertNotice::CardRemoved);
                    return None;
                }
            };
            self.renewing(RenewingStep::Issue);
            let proof = HolderProof {
                national_id: national_id.as_str().to_owned(),
                birthday: birthday.normalized(),
                card_signature: card_signature.into(),
            };
            let answer = match ask {
                Ask::Renew => self
                    .authority
                    .renew(&RenewRequest {
                        challenge_id: challenge.challenge_id.clone(),
                        proof: proof.clone(),
                        signature_certificate_serial: loaded.signature.serial().clone(),
                        encryption_certificate_serial: match &loaded.encryption {
                            Some(encryption) => encryption.serial().clone(),
                            // Only a resume follows a damaged read; a renewal needs both.
                            None => {
                                self.enter(FlowState::Card(loaded.overview));
                                return None;
                            }
                        },
                        card_number: loaded.number.clone(),
                    })
                    .await
                    .map(Answer::Issued),
                Ask::Resume => self
                    .authority
                    .resume(&ResumeRequest {
                        card_number: loaded.number.clone(),
                        certificate_serials: loaded.serials_on_card(),
                        challenge_id: challenge.challenge_id.clone(),
                        signature_certificate_serial: loaded.signature.serial().clone(),
                        proof,
                    })
                    .await
                    .map(Answer::Resumed),
            };
            match answer {
                Ok(answer) => return Some(answer),
                Err(AuthorityError::Refused(refusal))
                    if is_stale_challenge(&refusal) && !fresh_challenge_asked =>
                {
                    fresh_challenge_asked = true;
                    if let Err(error) = self.refresh_challenge().await {
                        self.fail(problems::authority(&error));
                        return None;
                    }
                }
                Err(AuthorityError::Refused(refusal)) => {
                    self.renewal_refused(step.clone(), refusal);
                    return None;
                }
                Err(error) => {
                    self.retry = RetryPoint::ReadCard;
                    self.fail(problems::authority(&error));
                    return None;
                }
            }
        }
    }

    /// A new verdict and challenge for the card read. The verdict shown is replaced unless a
    /// renewal is being resumed (then none is shown); the new verdict is returned.
    async fn refresh_challenge(&mut self) -> Result<Option<Verdict>, AuthorityError> {
        let Some(loaded) = self.loaded.as_mut() else {
            return Ok(None);
        };
        let answer = self
            .authority
            .verdict(&VerdictRequest {
                certificate: loaded.signature.der().to_vec().into(),
                card_number: Some(loaded.number.clone()),
            })
            .await?;
        if loaded.overview.verdict.is_some() {
            loaded.overview.verdict = Some(answer.verdict.clone());
        }
        loaded.overview.authority_time = answer.server_time;
        loaded.challenge = answer.challenge;
        Ok(Some(answer.verdict))
    }

    /// The authority refused to renew: a rule (the verdict changed), the identity, or
    /// something else.
    fn renewal_refused(&mut self, step: IdentityStep, refusal: ApiError) {
        if let Some(verdict) = refusal.verdict.clone() {
            if let Some(loaded) = self.loaded.as_mut() {
                loaded.overview.verdict = Some(verdict);
                loaded.challenge = None;
                let overview = loaded.overview.clone();
                return self.enter(FlowState::Card(overview));
            }
        }
        let national_id_error = national_id_code_message(refusal.code);
        let birthday_error = birthday_code_message(refusal.code);
        if refusal.code == ErrorCode::IdentityMismatch
            || national_id_error.is_some()
            || birthday_error.is_some()
        {
            // The card still holds the verified PIN: the user need not type it again.
            let form_error = (refusal.code == ErrorCode::IdentityMismatch)
                .then(|| crate::i18n::Message::new(crate::i18n::Key::IdentityMismatchExplanation));
            return self.enter(FlowState::Identity(IdentityStep {
                pin_status: PinStatus::Verified,
                national_id_error,
                birthday_error,
                pin_error: None,
                form_error,
                ..step
            }));
        }
        self.retry = RetryPoint::ReadCard;
        self.fail(problems::authority(&AuthorityError::Refused(refusal)));
    }

    /// Step 6 (and 7): write both issued certificates, read them back, compare, and tell the
    /// authority.
    async fn write_and_complete(&mut self) {
        let Some(pending) = self.pending.clone() else {
            return self.enter(FlowState::Start);
        };
        let Some(loaded) = self.loaded.clone() else {
            return self.enter(FlowState::Start);
        };
        let issued = &pending.issued;
        // Certificates for another key would make the card useless: check before writing.
        let checked = check_issued(&loaded, issued);
        let (new_signature, new_encryption) = match checked {
            Ok(checked) => checked,
            Err(detail) => return self.fail(problems::issued_certificates_wrong(detail)),
        };
        self.renewing(RenewingStep::Write);
        let Some(card) = self.card.as_mut() else {
            return self.enter(FlowState::Start);
        };
        let written = async {
            card.write_certificate(UserSlot::Signature, &issued.signature_certificate.0)
                .await?;
            card.write_certificate(UserSlot::Encryption, &issued.encryption_certificate.0)
                .await
        };
        if let Err(error) = written.await {
            return match error {
                CardPortError::PinNotVerified => {
                    // The card was reset between the PIN and the write: ask for the PIN again.
                    if let Some(pending) = self.pending.as_mut() {
                        pending.resuming = true;
                    }
                    self.ask_identity(IdentityPurpose::FinishPending).await
                }
                other => self.card_failure(other, InsertNotice::RenewalInterrupted),
            };
        }
        self.renewing(RenewingStep::Verify);
        let Some(card) = self.card.as_mut() else {
            return self.enter(FlowState::Start);
        };
        let on_card = match card.read_user_certificates().await {
            Ok(on_card) => on_card,
            Err(error) => return self.card_failure(error, InsertNotice::RenewalInterrupted),
        };
        if on_card.signature != issued.signature_certificate.0
            || on_card.encryption != issued.encryption_certificate.0
        {
            return self.fail(problems::written_certificates_differ(
                "the certificates read back are not the issued ones".into(),
            ));
        }
        self.retry = RetryPoint::Complete;
        self.complete(
            issued.renewal_number.clone(),
            new_signature.serial().clone(),
            new_encryption.serial().clone(),
            loaded.number.clone(),
        )
        .await;
    }

    async fn complete(
        &mut self,
        renewal_number: renewal::RenewalNumber,
        signature_serial: CertificateSerial,
        encryption_serial: CertificateSerial,
        card_number: CardNumber,
    ) {
        let answer = self
            .authority
            .complete(&CompleteRequest {
                renewal_number: renewal_number.clone(),
                signature_certificate_serial: signature_serial,
                encryption_certificate_serial: encryption_serial,
            })
            .await;
        let receipt = match answer {
            Ok(answer) => answer.receipt,
            Err(error) => {
                // A completion whose answer was lost may have gone through: ask for the
                // receipt before giving up.
                match self
                    .authority
                    .receipt(&ReceiptRequest {
                        renewal_number,
                        card_number,
                    })
                    .await
                {
                    Ok(answer) => answer.receipt,
                    Err(_) => return self.fail(problems::authority(&error)),
                }
            }
        };
        self.done(receipt);
    }

    fn done(&mut self, receipt: Receipt) {
        self.pending = None;
        self.loaded = None;
        self.retry = RetryPoint::ReadCard;
        self.enter(FlowState::Done(Completion {
            receipt,
            earlier: false,
        }));
    }

    /// The "try again" of a problem: reads the card again (which also picks up a pending
    /// renewal), or, when the card already holds the new certificates, tells the authority
    /// again.
    pub async fn try_again(&mut self) {
        if self.card.is_none() {
            return self.enter(FlowState::Start);
        }
        match self.retry {
            RetryPoint::Complete => {
                let completion =
                    self.pending
                        .clone()
                        .zip(self.loaded.clone())
                        .and_then(|(pending, loaded)| {
                            let issued = check_issued(&loaded, &pending.issued).ok()?;
                            Some((pending.issued.renewal_number, issued, loaded.number))
                        });
                match completion {
                    Some((number, (signature, encryption), card_number)) => {
                        self.renewing(RenewingStep::Verify);
                        self.complete(
                            number,
                            signature.serial().clone(),
                            encryption.serial().clone(),
                            card_number,
                        )
                        .await;
                    }
                    None => self.read_card().await,
                }
            }
            RetryPoint::ReadCard => self.look_for_card(InsertNotice::NoCardYet).await,
        }
    }
}

impl<T: UsbTransport, A: AuthorityPort> RenewalFlow<CcidCard<T>, A> {
    /// Step 1: the user picks a reader in the chooser; the page opens it, claims its CCID
    /// interface, and reads the card if one is in.
    pub async fn connect<R: ReaderChooser<Transport = T>>(&mut self, chooser: &mut R) {
        self.enter(FlowState::ChoosingReader);
        let transport = match chooser.choose_reader().await {
            Ok(transport) => transport,
            Err(error) => return self.fail(problems::chooser(&error)),
        };
        match Reader::open(transport).await {
            Ok(reader) => self.attach_card(CcidCard::new(reader)).await,
            Err(error) => {
                let problem = reader_problem(&error);
                match problem {
                    Some(problem) => self.enter(FlowState::ReaderGuidance {
                        problem,
                        deployment: self.deployment,
                    }),
                    None => self.fail(problems::chooser(&ChooseError::Failed(error.to_string()))),
                }
            }
        }
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

/// The authority's refusal of a certificate it cannot place.
fn is_certificate_refusal(refusal: &ApiError) -> bool {
    matches!(
        refusal.code,
        ErrorCode::MalformedCertificate
            | ErrorCode::NotCitizenCertificate
            | ErrorCode::UnknownCertificate
            | ErrorCode::UnknownIssuer
    )
}

fn is_stale_challenge(refusal: &ApiError) -> bool {
    matches!(
        refusal.code,
        ErrorCode::ChallengeExpired | ErrorCode::ChallengeUnknown | ErrorCode::ChallengeUsed
    )
}

fn national_id_code_message(code: ErrorCode) -> Option<crate::i18n::Message> {
    use renewal::NationalIdError as E;
    let error = match code {
        ErrorCode::NationalIdLength => E::Length { found: 0 },
        ErrorCode::NationalIdFirstLetter => E::FirstLetter { found: '?' },
        ErrorCode::NationalIdSecondDigit => E::SecondDigit { found: '?' },
        ErrorCode::NationalIdDigit => E::Digit {
            position: 0,
            found: '?',
        },
        ErrorCode::NationalIdChecksum => E::Checksum,
        _ => return None,
    };
    // The authority does not say which character; the local check already passed, so this
    // is rare (a page and authority of different versions).
    Some(match error {
        E::Checksum => national_id_error_message(&error),
        _ => crate::i18n::Message::new(crate::i18n::Key::IdRefusedByAuthority),
    })
}

fn birthday_code_message(code: ErrorCode) -> Option<crate::i18n::Message> {
    matches!(
        code,
        ErrorCode::BirthdayEmpty
            | ErrorCode::BirthdayFormat
            | ErrorCode::BirthdayRocYearZero
            | ErrorCode::BirthdayNoSuchDate
    )
    .then(|| crate::i18n::Message::new(crate::i18n::Key::BirthdayRefusedByAuthority))
}

fn summary(certificate: &CertificateView) -> CertificateSummary {
    CertificateSummary {
        serial: certificate.serial().clone(),
        validity: certificate.validity(),
    }
}

/// The issued certificates, parsed and checked against the card's: same public keys, 8-year
/// term. `Err` says what is wrong.
fn check_issued(
    loaded: &LoadedCard,
    issued: &RenewResponse,
) -> Result<(CertificateView, CertificateView), String> {
    let parse = |der: &[u8], what: &str| {
        CertificateView::from_der(der).map_err(|error| format!("issued {what}: {error}"))
    };
    let signature = parse(&issued.signature_certificate.0, "signature certificate")?;
    let encryption = parse(&issued.encryption_certificate.0, "encryption certificate")?;
    let same_key = |new: &CertificateView, old: &CertificateView| {
        matches!(
            (new.subject_public_key_info_der(), old.subject_public_key_info_der()),
            (Ok(new), Ok(old)) if new == old
        )
    };
    // A damaged encryption slot cannot be compared; the signature key is, and the card proved
    // it holds that key.
    let encryption_matches = loaded
        .encryption
        .as_ref()
        .is_none_or(|on_card| same_key(&encryption, on_card));
    if !same_key(&signature, &loaded.signature) || !encryption_matches {
        return Err("an issued certificate is not for the card's key".into());
    }
    for certificate in [&signature, &encryption] {
        if classify_term(&certificate.validity()) != Term::Renewed {
            return Err(format!(
                "an issued certificate does not span 8 years: {:?}",
                certificate.validity()
            ));
        }
    }
    Ok((signature, encryption))
}
