//! The whole renewal flow against `ccid`'s simulated reader holding `card`'s virtual card, and
//! an authority double built on `renewal`'s rules (`common/authority.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use app::flow::explain::explain_verdict;
use app::flow::{
    BrowserEnvironment, CcidCard, Deployment, FlowState, IdentityPurpose, InsertNotice, NextAction,
    PinStatus, ReaderProblem, RenewalFlow, RenewingStep, UnsupportedReason,
};
use app::i18n::{Key, Language};
use card::files::Slot;
use card::virtual_card::SharedVirtualCard;
use card::Pin;
use ccid::sim::{SimReader, SimReaderConfig};
use common::authority::AuthorityDouble;
use common::{
    reader_with, virtual_card, BrowserLikeTransport, SimChooser, Tab, BIRTHDAY, ELIGIBLE_TIME,
    NATIONAL_ID, PIN, TOO_EARLY_TIME, TOO_LATE_TIME, WRONG_PIN,
};
use futures_executor::block_on;
use renewal::rules::{classify_term, Term};
use renewal::{CertificateStatus, CitizenCertificate, Verdict};

type Flow = RenewalFlow<CcidCard<BrowserLikeTransport>, AuthorityDouble>;

const ORDINARY_TAB: BrowserEnvironment = BrowserEnvironment {
    webusb: true,
    secure_context: true,
    deployment: Deployment::OrdinaryTab,
};

/// A flow that records every state it enters.
struct Recorded {
    flow: Flow,
    states: Rc<RefCell<Vec<FlowState>>>,
}

fn flow(authority: &AuthorityDouble, environment: BrowserEnvironment) -> Recorded {
    let mut flow = Flow::new(authority.clone(), environment);
    let states = Rc::new(RefCell::new(vec![flow.state().clone()]));
    let seen = Rc::clone(&states);
    flow.set_observer(move |state| seen.borrow_mut().push(state.clone()));
    Recorded { flow, states }
}

impl Recorded {
    fn state(&self) -> FlowState {
        self.flow.state().clone()
    }

    /// No state ever shown holds the PIN, the ID number or the birthday, and every failure
    /// offers a next action.
    fn check_states(&self) {
        for state in self.states.borrow().iter() {
            let shown = format!("{state:?}");
            for secret in [PIN, NATIONAL_ID, BIRTHDAY, WRONG_PIN] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
            if let FlowState::Failed(problem) = state {
                assert!(!problem.actions.is_empty(), "dead end: {problem:?}");
            }
        }
    }

    fn renewing_steps(&self) -> Vec<RenewingStep> {
        let mut steps: Vec<RenewingStep> = Vec::new();
        for state in self.states.borrow().iter() {
            if let FlowState::Renewing(renewing) = state {
                if steps.last() != Some(&renewing.step) {
                    steps.push(renewing.step);
                }
            }
        }
        steps
    }
}

fn pin(text: &str) -> Pin {
    Pin::new(text).unwrap()
}

/// An EZ100PU (outside the protected class) holding the test card, connected in an ordinary
/// tab, at the authority's `now`.
fn connected(
    now: time::OffsetDateTime,
    status: CertificateStatus,
) -> (Recorded, AuthorityDouble, SimReader, SharedVirtualCard) {
    let card = virtual_card();
    let config = SimReaderConfig::ez100pu();
    let reader = reader_with(config.clone(), &card);
    let authority = AuthorityDouble::new(now, status);
    let mut recorded = flow(&authority, ORDINARY_TAB);
    let mut chooser = SimChooser::new(&reader, &config, Tab::Ordinary);
    block_on(recorded.flow.connect(&mut chooser));
    (recorded, authority, reader, card)
}

fn verdict_of(state: &FlowState) -> Verdict {
    match state {
        FlowState::Card(overview) => overview.verdict.clone().expect("a verdict"),
        other => panic!("not the card page: {other:?}"),
    }
}

fn slot_certificate(card: &SharedVirtualCard, slot: Slot) -> CitizenCertificate {
    let bytes = card.borrow().slot_bytes(slot).to_vec();
    let length = card::files::der_length(&bytes).unwrap();
    CitizenCertificate::from_der(&bytes[..length]).unwrap()
}

#[test]
fn happy_path_to_the_receipt() {
    let (mut recorded, authority, _reader, card) =
        connected(ELIGIBLE_TIME, CertificateStatus::Valid);
    let FlowState::Card(overview) = recorded.state() else {
        panic!("{:?}", recorded.state());
    };
    assert_eq!(overview.card_number.as_str(), common::CARD_NUMBER);
    assert_eq!(overview.holder_name, common::HOLDER);
    assert!(overview.verdict.as_ref().is_some_and(Verdict::is_eligible));
    assert_eq!(overview.signature.validity.not_after, common::NOT_AFTER);
    // Nothing was asked of the PIN before the user typed anything.
    assert_eq!(card.borrow().tries_left(), 3);
    // The page keeps watching the card: nothing changed, so nothing is read again.
    block_on(recorded.flow.watch_card(Duration::from_millis(10)));
    assert!(matches!(recorded.state(), FlowState::Card(_)));
    assert_eq!(authority.calls("verdict"), 1);

    block_on(recorded.flow.continue_to_identity());
    let FlowState::Identity(step) = recorded.state() else {
        panic!("{:?}", recorded.state());
    };
    assert_eq!(step.purpose, IdentityPurpose::Renew);
    assert_eq!(step.pin_status, PinStatus::TriesLeft(3));

    block_on(
        recorded
            .flow
            .submit_identity(NATIONAL_ID, BIRTHDAY, pin(PIN)),
    );
    let FlowState::Done(completion) = recorded.state() else {
        panic!("{:?}", recorded.state());
    };
    assert!(!completion.earlier);
    assert_eq!(
        recorded.renewing_steps(),
        [
            RenewingStep::Sign,
            RenewingStep::Issue,
            RenewingStep::Write,
            RenewingStep::Verify
        ]
    );
    let receipt = completion.receipt;
    assert_eq!(receipt.holder_name_masked, "王○明");
    assert_eq!(receipt.card_number.as_str(), common::CARD_NUMBER);
    assert_eq!(classify_term(&receipt.old_validity), Term::Original);
    assert_eq!(classify_term(&receipt.new_validity), Term::Renewed);
    // The card holds the renewed certificates, 8 years from the same start.
    for slot in [Slot::Signature, Slot::Encryption] {
        let on_card = slot_certificate(&card, slot);
        assert_eq!(on_card.validity().not_before, common::NOT_BEFORE);
        assert_eq!(classify_term(&on_card.validity()), Term::Renewed);
    }
    assert_eq!(
        slot_certificate(&card, Slot::Signature).serial(),
        &receipt.signature_certificate_serial
    );
    assert_eq!(authority.calls("renew"), 1);
    assert_eq!(authority.calls("complete"), 1);
    assert!(authority.state().renewals[0].completed);
    recorded.check_states();
}

#[test]
fn wrong_pin_then_right_pin_shows_tries_left() {
    let (mut recorded, _authority, _reader, card) =
        connected(ELIGIBLE_TIME, CertificateStatus::Valid);
    block_on(recorded.flow.continue_to_identity());
    block_on(
        recorded
            .flow
            .submit_identity(NATIONAL_ID, BIRTHDAY, pin(WRONG_PIN)),
    );
    let FlowState::Identity(step) = recorded.state() else {
        panic!("{:?}", recorded.state());
    };
    assert_eq!(step.pin_status, PinStatus::TriesLeft(2));
    let message = step.pin_error.expect("a PIN message");
    assert_eq!(message.key, Key::PinWrong);
    assert_eq!(
        message.render(Language::ZhTw),
        "PIN碼錯誤，還可以輸入 2 次。"
    );
    assert_eq!(message.render(Language::En), "Wrong PIN: 2 tries left.");
    assert_eq!(card.borrow().tries_left(), 2);

    block_on(
        recorded
            .flow
            .submit_identity(NATIONAL_ID, BIRTHDAY, pin(PIN)),
    );
    assert!(matches!(recorded.state(), FlowState::Done(_)));
    recorded.check_states();
}

#[test]
fn a_locked_card_is_explained_with_the_counter() {
    let (mut recorded, authority, _reader, card) =
        connected(ELIGIBLE_TIME, CertificateStatus::Valid);
    block_on(recorded.flow.continue_to_identity());
    block_on(
        recorded
            .flow
            .submit_identity(NATIONAL_ID, BIRTHDAY, pin(WRONG_PIN)),
    );
    block_on(
        recorded
            .flow
            .submit_identity(NATIONAL_ID, BIRTHDAY, pin(WRONG_PIN)),
    );
    let FlowState::Identity(step) = recorded.state() else {
        panic!("{:?}", recorded.state());
    };
    assert_eq!(step.pin_error.map(|m| m.key), Some(Key::PinWrongLastTry));
    block_on(
        recorded
            .flow
            .submit_identity(NATIONAL_ID, BIRTHDAY, pin(WRONG_PIN)),
    );
    let FlowState::Failed(problem) = recorded.state() else {
        panic!("{:?}", recorded.state());
    };
    assert_eq!(problem.title.key, Key::PinLockedTitle);
    assert_eq!(problem.actions, [NextAction::Counter]);
    assert_eq!(card.borrow().tries_left(), 0);
    assert_eq!(authority.calls("renew"), 0);

    // Reading the locked card again goes straight to the explanation, before any typing.
    block_on(recorded.flow.read_card());
    block_on(recorded.flow.continue_to_identity());
    let FlowState::Failed(problem) = recorded.state() else {
        panic!("{:?}", recorded.state());
    };
    assert_eq!(problem.title.key, Key::PinLockedTitle);
    recorded.check_states();
}

#[test]
fn too_early_shows_the_opening_date_and_asks_no_pin() {
    let (mut recorded, authority, _reader, card) =
        connected(TOO_EARLY_TIME, CertificateStatus::Valid);
    let verdict = verdict_of(&recorded.state());
    let Verdict::TooEarly {
        window_opens_at, ..
    } = verdict
    else {
        panic!("{verdict:?}");
    };
    assert_eq!(
        window_opens_at,
        time::macros::datetime!(2023-11-13 15:59:59 UTC)
    );
    let explained = explain_verdict(&verdict_of(&recorded.state()));
    assert_eq!(explained.title.key, Key::VerdictTooEarlyTitle);
    let text = explained.explanation.render(Language::ZhTw);
    assert!(
        text.contains("民國112年11月13日 23:59:59（2023-11-13）"),
        "{text}"
    );
    let english = explained.explanation.render(Language::En);
    assert!(english.contains("13 November 2023"), "{english}");
    assert!(!explained.actions.is_empty());

    // The identity step does not open: no PIN is asked, no challenge was offered.
    block_on(recorded.flow.continue_to_identity());
    assert!(matches!(recorded.state(), FlowState::Card(_)));
    assert_eq!(card.borrow().tries_left(), 3);
    assert_eq!(authority.calls("renew"), 0);
    assert!(authority.state().challenges.is_empty());
    recorded.check_states();
}

#[test]
fn too_late_sends_the_holder_for_a_new_card() {
    let (recorded, _authority, _reader, _card) = connected(TOO_LATE_TIME, CertificateStatus::Valid);
    let verdict = verdict_of(&recorded.state());
    assert!(matches!(verdict, Verdict::TooLate { .. }), "{verdict:?}");
    let explained = explain_verdict(&verdict);
    let new_card = explained.new_card.expect("new card instructions");
    let text = new_card.render(Language::ZhTw);
    assert!(
        text.contains("250元") && text.contains("任一戶政事務所"),
        "{text}"
    );
    assert!(new_card.render(Language::En).contains("NT$250"));
    assert_eq!(explained.actions, [NextAction::Counter]);
    recorded.check_states();
}

#[test]
fn a_revoked_certificate_goes_to_the_counter() {
    let (recorded, _authority, _reader, _card) =
        connected(ELIGIBLE_TIME, CertificateStatus::Revoked);
    let verdict = verdict_of(&recorded.state());
    assert_eq!(verdict, Verdict::Revoked);
    let explained = explain_verdict(&verdict);
    assert_eq!(explained.title.key, Key::VerdictRevokedTitle);
    assert_eq!(explained.actions, [NextAction::Counter]);
}

#[test]
fn pulling_the_card_at_the_card_step_goes_back_to_insert_card() {
    let (mut recorded, _authority, reader, card) =
        connected(ELIGIBLE_TIME, CertificateStatus::Valid);
    assert!(matches!(recorded.state(), FlowState::Card(_)));
    reader.remove();
    block_on(recorded.flow.watch_card(Duration::from_millis(10)));
    assert_eq!(
        recorded.state(),
        FlowState::InsertCard(InsertNotice::CardRemoved)
    );
    // Nothing happens while the slot stays empty.
    block_on(recorded.flow.watch_card(Duration::from_millis(10)));
    assert_eq!(
        recorded.state(),
        FlowState::InsertCard(InsertNotice::CardRemoved)
    );
    reader.insert(Box::new(card.clone()));
    block_on(recorded.flow.watch_card(Duration::from_millis(10)));
    assert!(
        matches!(recorded.state(), FlowState::Card(_)),
        "{:?}",
        recorded.state()
    );
    recorded.check_states();
}

/// The next run of an interrupted renewal: a fresh page connects to `reader`, is asked for the
/// identity again (the card proves its key and the holder is checked before the issued
/// certificates are handed back), and the form is sent.
fn resumed_in_a_new_page(authority: &AuthorityDouble, reader: &SimReader) -> Recorded {
    let mut next = flow(authority, ORDINARY_TAB);
    let config = SimReaderConfig::ez100pu();
    block_on(
        next.flow
            .connect(&mut SimChooser::new(reader, &config, Tab::Ordinary)),
    );
    let FlowState::Identity(step) = next.state() else {
        panic!("{:?}", next.state());
    };
    assert_eq!(step.purpose, IdentityPurpose::Resume);
    block_on(next.flow.submit_identity(NATIONAL_ID, BIRTHDAY, pin(PIN)));
    next
}

/// A renewal of the eligible card whose card is pulled out `commands` commands into writing
/// the new certificates: the page says the renewal was interrupted.
fn interrupted_while_writing(
    commands: u32,
) -> (Recorded, AuthorityDouble, SimReader, SharedVirtualCard) {
    let (mut recorded, authority, reader, card) =
        connected(ELIGIBLE_TIME, CertificateStatus::Valid);
    let puller = reader.clone();
    recorded.flow.set_observer(move |state| {
        if let FlowState::Renewing(renewing) = state {
            if renewing.step == RenewingStep::Write {
                puller.remove_card_after(commands);
            }
        }
    });
    block_on(recorded.flow.continue_to_identity());
    block_on(
        recorded
            .flow
            .submit_identity(NATIONAL_ID, BIRTHDAY, pin(PIN)),
    );
    assert_eq!(
        recorded.state(),
        FlowState::InsertCard(InsertNotice::RenewalInterrupted)
    );
    (recorded, authority, reader, card)
}

#[test]
fn pulling_the_card_while_writing_is_finished_by_the_next_run() {
    // The card is pulled out a few commands into writing.
    let (recorded, authority, reader, card) = interrupted_while_writing(3);
    assert_eq!(authority.calls("renew"), 1);
    assert!(!authority.state().renewals[0].completed);
    // The card was not fully rewritten.
    let signature = card.borrow().slot_bytes(Slot::Signature).to_vec();
    assert_ne!(
        &signature[..authority.state().renewals[0]
            .response
            .signature_certificate
            .0
            .len()],
        authority.state().renewals[0]
            .response
            .signature_certificate
            .0
            .as_slice()
    );

    // The page dies. Next run: the same card in the same reader, a fresh page.
    drop(recorded);
    reader.insert(Box::new(card.clone()));
    let next = resumed_in_a_new_page(&authority, &reader);
    assert_eq!(authority.calls("resume"), 1);
    let FlowState::Done(completion) = next.state() else {
        panic!("{:?}", next.state());
    };
    assert!(!completion.earlier);
    assert!(next
        .states
        .borrow()
        .iter()
        .any(|state| matches!(state, FlowState::Renewing(r) if r.resuming)));
    // One renewal, issued once, now complete and on the card.
    assert_eq!(authority.calls("renew"), 1);
    assert_eq!(authority.state().renewals.len(), 1);
    assert!(authority.state().renewals[0].completed);
    for slot in [Slot::Signature, Slot::Encryption] {
        assert_eq!(
            classify_term(&slot_certificate(&card, slot).validity()),
            Term::Renewed
        );
    }

    // A third visit finds the card renewed: the card page says so, nothing is asked.
    let config = SimReaderConfig::ez100pu();
    let mut third = flow(&authority, ORDINARY_TAB);
    block_on(
        third
            .flow
            .connect(&mut SimChooser::new(&reader, &config, Tab::Ordinary)),
    );
    let verdict = verdict_of(&third.state());
    assert!(!verdict.is_eligible(), "{verdict:?}");
    assert_eq!(authority.calls("resume"), 1);
    next.check_states();
}

#[test]
fn a_browser_without_webusb_is_told_the_other_channels() {
    let authority = AuthorityDouble::new(ELIGIBLE_TIME, CertificateStatus::Valid);
    let no_webusb = flow(
        &authority,
        BrowserEnvironment {
            webusb: false,
            ..ORDINARY_TAB
        },
    );
    assert_eq!(
        no_webusb.state(),
        FlowState::Unsupported(UnsupportedReason::NoWebUsb)
    );
    let insecure = flow(
        &authority,
        BrowserEnvironment {
            webusb: false,
            secure_context: false,
            ..ORDINARY_TAB
        },
    );
    assert_eq!(
        insecure.state(),
        FlowState::Unsupported(UnsupportedReason::InsecureContext)
    );
}

#[test]
fn a_protected_class_reader_gets_guidance_and_works_in_a_kiosk() {
    let card = virtual_card();
    let config = SimReaderConfig::extended_apdu();
    let reader = reader_with(config.clone(), &card);
    let authority = AuthorityDouble::new(ELIGIBLE_TIME, CertificateStatus::Valid);

    let mut tab = flow(&authority, ORDINARY_TAB);
    block_on(
        tab.flow
            .connect(&mut SimChooser::new(&reader, &config, Tab::Ordinary)),
    );
    assert_eq!(
        tab.state(),
        FlowState::ReaderGuidance {
            problem: ReaderProblem::ProtectedInterface,
            deployment: Deployment::OrdinaryTab,
        }
    );

    let mut kiosk = flow(
        &authority,
        BrowserEnvironment {
            deployment: Deployment::Unrestricted,
            ..ORDINARY_TAB
        },
    );
    block_on(
        kiosk
            .flow
            .connect(&mut SimChooser::new(&reader, &config, Tab::Unrestricted)),
    );
    assert!(
        matches!(kiosk.state(), FlowState::Card(_)),
        "{:?}",
        kiosk.state()
    );
}

#[test]
fn closing_the_chooser_offers_to_choose_again() {
    let authority = AuthorityDouble::new(ELIGIBLE_TIME, CertificateStatus::Valid);
    let mut recorded = flow(&authority, ORDINARY_TAB);
    let mut chooser = SimChooser {
        reader: None,
        interface_class: 0x0B,
        tab: Tab::Ordinary,
        claim_error: None,
    };
    block_on(recorded.flow.connect(&mut chooser));
    let FlowState::Failed(problem) = recorded.state() else {
        panic!("{:?}", recorded.state());
    };
    assert_eq!(problem.title.key, Key::NoReaderChosenTitle);
    assert_eq!(problem.actions[0], NextAction::ChooseReader);
}

#[test]
fn id_and_birthday_mistakes_are_named_before_any_pin_try() {
    let (mut recorded, authority, _reader, card) =
        connected(ELIGIBLE_TIME, CertificateStatus::Valid);
    block_on(recorded.flow.continue_to_identity());
    block_on(
        recorded
            .flow
            .submit_identity("A123456788", "79/02/30", pin(PIN)),
    );
    let FlowState::Identity(step) = recorded.state() else {
        panic!("{:?}", recorded.state());
    };
    assert_eq!(step.national_id_error.map(|m| m.key), Some(Key::IdChecksum));
    let birthday = step.birthday_error.expect("a birthday message");
    assert_eq!(birthday.key, Key::BirthdayNoSuchRocDate);
    assert_eq!(
        birthday.render(Language::ZhTw),
        "民國79年2月30日不是有效的日期。"
    );
    block_on(recorded.flow.submit_identity("A1234", BIRTHDAY, pin(PIN)));
    let FlowState::Identity(step) = recorded.state() else {
        panic!("{:?}", recorded.state());
    };
    let id = step.national_id_error.expect("an ID message");
    assert_eq!(
        id.render(Language::En),
        "A national ID number has 10 characters; you typed 5."
    );
    assert_eq!(step.birthday_error, None);
    // No PIN try was spent on a form with mistakes.
    assert_eq!(card.borrow().tries_left(), 3);
    assert_eq!(authority.calls("renew"), 0);
    recorded.check_states();
}

#[test]
fn another_persons_id_number_is_refused_by_the_authority() {
    let (mut recorded, authority, _reader, _card) =
        connected(ELIGIBLE_TIME, CertificateStatus::Valid);
    block_on(recorded.flow.continue_to_identity());
    // A well-formed ID number that is not the holder's.
    let other = (0..10)
        .map(|digit| format!("B12345678{digit}"))
        .find(|id| renewal::NationalId::parse(id).is_ok())
        .unwrap();
    block_on(recorded.flow.submit_identity(&other, BIRTHDAY, pin(PIN)));
    let FlowState::Identity(step) = recorded.state() else {
        panic!("{:?}", recorded.state());
    };
    assert_eq!(
        step.form_error.map(|m| m.key),
        Some(Key::IdentityMismatchExplanation)
    );
    assert_eq!(step.pin_status, PinStatus::Verified);
    assert_eq!(authority.state().renewals.len(), 0);
    // Corrected, the same session renews.
    block_on(
        recorded
            .flow
            .submit_identity(NATIONAL_ID, BIRTHDAY, pin(PIN)),
    );
    assert!(matches!(recorded.state(), FlowState::Done(_)));
    recorded.check_states();
}

#[test]
fn a_lost_completion_answer_is_tried_again_without_a_second_renewal() {
    let (mut recorded, authority, _reader, _card) =
        connected(ELIGIBLE_TIME, CertificateStatus::Valid);
    authority.0.borrow_mut().unreachable_once = Some("complete");
    block_on(recorded.flow.continue_to_identity());
    block_on(
        recorded
            .flow
            .submit_identity(NATIONAL_ID, BIRTHDAY, pin(PIN)),
    );
    let FlowState::Failed(problem) = recorded.state() else {
        panic!("{:?}", recorded.state());
    };
    assert_eq!(problem.title.key, Key::AuthorityUnreachableTitle);
    assert_eq!(problem.actions[0], NextAction::TryAgain);
    block_on(recorded.flow.try_again());
    assert!(
        matches!(recorded.state(), FlowState::Done(_)),
        "{:?}",
        recorded.state()
    );
    assert_eq!(authority.calls("renew"), 1);
    recorded.check_states();
}

#[test]
fn a_challenge_that_expired_while_typing_is_replaced_once() {
    let (mut recorded, authority, _reader, _card) =
        connected(ELIGIBLE_TIME, CertificateStatus::Valid);
    block_on(recorded.flow.continue_to_identity());
    // The user took a quarter of an hour over the form.
    authority.0.borrow_mut().now += time::Duration::minutes(15);
    block_on(
        recorded
            .flow
            .submit_identity(NATIONAL_ID, BIRTHDAY, pin(PIN)),
    );
    assert!(
        matches!(recorded.state(), FlowState::Done(_)),
        "{:?}",
        recorded.state()
    );
    assert_eq!(authority.calls("renew"), 2);
    assert_eq!(authority.calls("verdict"), 2);
    assert_eq!(authority.state().renewals.len(), 1);
    recorded.check_states();
}

#[test]
fn a_second_generation_card_is_sent_to_the_program_or_counter() {
    let card = SharedVirtualCard::new(
        common::unshared_virtual_card().with_atr(&card::virtual_card::SECOND_GENERATION_ATR),
    );
    let config = SimReaderConfig::ez100pu();
    let reader = reader_with(config.clone(), &card);
    let authority = AuthorityDouble::new(ELIGIBLE_TIME, CertificateStatus::Valid);
    let mut recorded = flow(&authority, ORDINARY_TAB);
    block_on(
        recorded
            .flow
            .connect(&mut SimChooser::new(&reader, &config, Tab::Ordinary)),
    );
    let FlowState::Failed(problem) = recorded.state() else {
        panic!("{:?}", recorded.state());
    };
    assert_eq!(problem.title.key, Key::CardGenerationTitle);
    assert_eq!(
        problem.actions,
        [NextAction::Counter, NextAction::OfficialProgram]
    );
}

#[test]
fn another_card_in_the_reader_asks_for_the_citizen_card() {
    let config = SimReaderConfig::ez100pu();
    let reader = SimReader::new(config.clone());
    reader.insert(Box::new(ccid::sim::TestCard::new()));
    let authority = AuthorityDouble::new(ELIGIBLE_TIME, CertificateStatus::Valid);
    let mut recorded = flow(&authority, ORDINARY_TAB);
    block_on(
        recorded
            .flow
            .connect(&mut SimChooser::new(&reader, &config, Tab::Ordinary)),
    );
    assert_eq!(
        recorded.state(),
        FlowState::InsertCard(InsertNotice::NotCitizenCard)
    );
    // The right card put in instead is read.
    reader.remove();
    block_on(recorded.flow.watch_card(Duration::from_millis(10)));
    reader.insert(Box::new(virtual_card()));
    block_on(recorded.flow.watch_card(Duration::from_millis(10)));
    assert!(
        matches!(recorded.state(), FlowState::Card(_)),
        "{:?}",
        recorded.states.borrow()
    );
}

#[test]
fn a_reader_held_by_the_operating_system_gets_the_os_hints() {
    let card = virtual_card();
    let config = SimReaderConfig::ez100pu();
    let reader = reader_with(config.clone(), &card);
    let authority = AuthorityDouble::new(ELIGIBLE_TIME, CertificateStatus::Valid);
    let mut recorded = flow(&authority, ORDINARY_TAB);
    let mut chooser = SimChooser::new(&reader, &config, Tab::Ordinary);
    chooser.claim_error = Some(ccid::TransportError::Other(
        "NetworkError: Unable to claim interface.".into(),
    ));
    block_on(recorded.flow.connect(&mut chooser));
    assert!(
        matches!(
            recorded.state(),
            FlowState::ReaderGuidance {
                problem: ReaderProblem::HeldByOperatingSystem { .. },
                ..
            }
        ),
        "{:?}",
        recorded.state()
    );
}

/// Runs a renewal that is interrupted while writing, then damages the card's signature slot
/// as a write torn at `damage` would, and checks that the next run finishes the same renewal.
fn torn_signature_slot_is_finished(damage: impl Fn(&[u8], &[u8]) -> Vec<u8>) {
    let (recorded, authority, reader, card) = interrupted_while_writing(1);
    drop(recorded);
    let old = card.borrow().slot_bytes(Slot::Signature).to_vec();
    let new = authority.state().renewals[0]
        .response
        .signature_certificate
        .0
        .clone();
    let torn = damage(&old, &new);
    card.borrow_mut()
        .set_slot_bytes(Slot::Signature, &torn)
        .unwrap();

    reader.insert(Box::new(card.clone()));
    let next = resumed_in_a_new_page(&authority, &reader);
    assert!(
        matches!(next.state(), FlowState::Done(_)),
        "{:?}",
        next.state()
    );
    assert_eq!(authority.calls("renew"), 1);
    assert!(authority.state().renewals[0].completed);
    for slot in [Slot::Signature, Slot::Encryption] {
        assert_eq!(
            classify_term(&slot_certificate(&card, slot).validity()),
            Term::Renewed
        );
    }
}

#[test]
fn a_signature_certificate_torn_mid_write_is_finished_by_card_number() {
    // The new certificate's first 200 bytes over the old one: it parses, but is neither.
    torn_signature_slot_is_finished(|old, new| {
        let mut torn = old.to_vec();
        torn[..200].copy_from_slice(&new[..200]);
        torn
    });
}

#[test]
fn a_signature_slot_that_no_longer_parses_is_finished_by_card_number() {
    // A header that announces more than the slot holds.
    torn_signature_slot_is_finished(|old, _| {
        let mut torn = old.to_vec();
        torn[..4].copy_from_slice(&[0x30, 0x82, 0x7F, 0xFF]);
        torn
    });
}
