//! The whole renewal flow against `ccid`'s simulated reader holding a demo citizen card, and
//! the real authority (`authority`'s router and storage, in process, over HTTP on loopback,
//! with a SQLite file): `common/real_authority.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use app::flow::explain::explain_verdict;
use app::flow::machine::Effect;
use app::flow::{
    BrowserEnvironment, CcidCard, Deployment, FlowState, IdentityPurpose, InsertNotice, NextAction,
    PinStatus, ReaderProblem, RenewalFlow, RenewingStep, UnsupportedReason,
};
use app::i18n::{Key, Language};
use authority_tools::demo::{DemoCase, DemoHolder};
use card::files::Slot;
use card::virtual_card::SharedVirtualCard;
use card::Pin;
use ccid::sim::{SimReader, SimReaderConfig};
use common::real_authority::{HttpAuthorityPort, RealAuthority};
use common::{reader_with, slot_certificate, slot_term, BrowserLikeTransport, SimChooser, Tab};
use futures_executor::block_on;
use renewal::api::{COMPLETE_PATH, RENEW_PATH, RESUME_PATH, VERDICT_PATH};
use renewal::rules::{classify_term, Term};
use renewal::{CitizenCertificate, KeyRole, Verdict};

type Flow = RenewalFlow<CcidCard<BrowserLikeTransport>, HttpAuthorityPort>;

const ORDINARY_TAB: BrowserEnvironment = BrowserEnvironment {
    webusb: true,
    secure_context: true,
    deployment: Deployment::OrdinaryTab,
};

/// A PIN no demo card has (and digits that no certificate's or card's text holds, so the
/// search for it in traces finds only a leak).
const WRONG_PIN: &str = "975312";

/// A flow that records every state it enters.
struct Recorded {
    flow: Flow,
    states: Rc<RefCell<Vec<FlowState>>>,
}

fn flow(port: &HttpAuthorityPort, environment: BrowserEnvironment) -> Recorded {
    let mut flow = Flow::new(port.clone(), environment);
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
    fn check_states(&self, holder: &DemoHolder) {
        for state in self.states.borrow().iter() {
            let shown = format!("{state:?}");
            for secret in [&holder.pin, &holder.national_id, &holder.birthday] {
                assert!(!shown.contains(secret.as_str()), "{secret} in {shown}");
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

    fn submit(&mut self, holder: &DemoHolder, pin_text: &str) {
        block_on(
            self.flow
                .submit_identity(&holder.national_id, &holder.birthday, pin(pin_text)),
        );
    }
}

fn pin(text: &str) -> Pin {
    Pin::new(text).unwrap()
}

/// A demo card of one case, in an EZ100PU (outside the protected class), the authority that
/// has it on record, and a page connected to both in an ordinary tab.
struct Setup {
    recorded: Recorded,
    real: RealAuthority,
    port: HttpAuthorityPort,
    reader: SimReader,
    card: SharedVirtualCard,
    holder: DemoHolder,
}

fn connected(case: DemoCase) -> Setup {
    let real = RealAuthority::start(&[case]);
    let card = real.virtual_card(case);
    let holder = real.card(case).holder.clone();
    let config = SimReaderConfig::ez100pu();
    let reader = reader_with(config.clone(), &card);
    let port = real.port();
    let mut recorded = flow(&port, ORDINARY_TAB);
    block_on(
        recorded
            .flow
            .connect(&mut SimChooser::new(&reader, &config, Tab::Ordinary)),
    );
    Setup {
        recorded,
        real,
        port,
        reader,
        card,
        holder,
    }
}

fn verdict_of(state: &FlowState) -> Verdict {
    match state {
        FlowState::Card(overview) => overview.verdict.clone().expect("a verdict"),
        other => panic!("not the card page: {other:?}"),
    }
}

/// Exactly one renewal of the card on record, and none left unfinished.
fn one_finished_renewal(setup: &Setup) {
    assert_eq!(setup.real.counts().renewals, 1);
    assert!(!setup.real.has_unfinished_renewal(&setup.holder.card_number));
}

#[test]
fn happy_path_to_the_receipt() {
    let mut setup = connected(DemoCase::InWindow);
    let original = setup.real.card(DemoCase::InWindow).clone();
    let FlowState::Card(overview) = setup.recorded.state() else {
        panic!("{:?}", setup.recorded.state());
    };
    assert_eq!(overview.card_number.as_str(), setup.holder.card_number);
    assert_eq!(overview.holder_name, setup.holder.name);
    assert!(overview.verdict.as_ref().is_some_and(Verdict::is_eligible));
    let original_validity = DemoCase::InWindow.original_validity(common::real_authority::START);
    assert_eq!(overview.signature.validity, original_validity);
    // Nothing was asked of the PIN before the user typed anything.
    assert_eq!(setup.card.borrow().tries_left(), 3);
    // The page keeps watching the card: nothing changed, so nothing is read again.
    block_on(setup.recorded.flow.watch_card(Duration::from_millis(10)));
    assert!(matches!(setup.recorded.state(), FlowState::Card(_)));
    assert_eq!(setup.port.calls(VERDICT_PATH), 1);

    block_on(setup.recorded.flow.continue_to_identity());
    let FlowState::Identity(step) = setup.recorded.state() else {
        panic!("{:?}", setup.recorded.state());
    };
    assert_eq!(step.purpose, IdentityPurpose::Renew);
    assert_eq!(step.pin_status, PinStatus::TriesLeft(3));

    let holder = setup.holder.clone();
    setup.recorded.submit(&holder, &holder.pin);
    let FlowState::Done(completion) = setup.recorded.state() else {
        panic!("{:?}", setup.recorded.state());
    };
    assert!(!completion.earlier);
    assert_eq!(
        setup.recorded.renewing_steps(),
        [
            RenewingStep::Sign,
            RenewingStep::Issue,
            RenewingStep::Write,
            RenewingStep::Verify
        ]
    );
    let receipt = completion.receipt;
    assert_eq!(receipt.holder_name_masked, "陳○展");
    assert_eq!(receipt.card_number.as_str(), holder.card_number);
    assert_eq!(receipt.old_validity, original_validity);
    assert_eq!(classify_term(&receipt.new_validity), Term::Renewed);
    // The card holds the renewed certificates, 8 years from the same start, same keys.
    for (slot, before) in [
        (Slot::Signature, &original.signature_certificate),
        (Slot::Encryption, &original.encryption_certificate),
    ] {
        let on_card = slot_certificate(&setup.card, slot);
        let before = CitizenCertificate::from_der(before).unwrap();
        assert_eq!(on_card.validity().not_before, original_validity.not_before);
        assert_eq!(classify_term(&on_card.validity()), Term::Renewed);
        assert_eq!(
            on_card.subject_public_key_info_der().unwrap(),
            before.subject_public_key_info_der().unwrap()
        );
    }
    assert_eq!(
        slot_certificate(&setup.card, Slot::Signature).serial(),
        &receipt.signature_certificate_serial
    );
    assert_eq!(setup.port.calls(RENEW_PATH), 1);
    assert_eq!(setup.port.calls(COMPLETE_PATH), 1);
    one_finished_renewal(&setup);
    setup.recorded.check_states(&holder);
}

#[test]
fn no_phase_or_effect_shows_the_pin_once_it_is_handed_to_the_card() {
    let mut setup = connected(DemoCase::InWindow);
    let holder = setup.holder.clone();
    // Everything the machine held or asked for, from the first PIN handed to the card on.
    let trace = Rc::new(RefCell::new(Vec::<(String, String)>::new()));
    let handed = Rc::new(RefCell::new(false));
    let (seen, started) = (Rc::clone(&trace), Rc::clone(&handed));
    setup.recorded.flow.set_step_observer(move |phase, effect| {
        if matches!(effect, Some(Effect::VerifyPin(_))) {
            *started.borrow_mut() = true;
        }
        if *started.borrow() {
            seen.borrow_mut()
                .push((format!("{phase:?}"), format!("{effect:?}")));
        }
    });
    block_on(setup.recorded.flow.continue_to_identity());
    setup.recorded.submit(&holder, WRONG_PIN);
    setup.recorded.submit(&holder, &holder.pin);
    assert!(matches!(setup.recorded.state(), FlowState::Done(_)));
    let trace = trace.borrow();
    // Both PIN tries, a signature, the renewal, both writes and the completion were traced.
    assert!(trace.len() >= 10, "{}", trace.len());
    for (phase, effect) in trace.iter() {
        for pin in [holder.pin.as_str(), WRONG_PIN] {
            assert!(!phase.contains(pin), "the PIN in {phase}");
            assert!(!effect.contains(pin), "the PIN in {effect}");
        }
        // The ID number goes only into the request that carries it, never into a phase.
        assert!(!phase.contains(&holder.national_id), "the ID in {phase}");
    }
}

#[test]
fn wrong_pin_then_right_pin_shows_tries_left() {
    let mut setup = connected(DemoCase::InWindow);
    let holder = setup.holder.clone();
    block_on(setup.recorded.flow.continue_to_identity());
    setup.recorded.submit(&holder, WRONG_PIN);
    let FlowState::Identity(step) = setup.recorded.state() else {
        panic!("{:?}", setup.recorded.state());
    };
    assert_eq!(step.pin_status, PinStatus::TriesLeft(2));
    let message = step.pin_error.expect("a PIN message");
    assert_eq!(message.key, Key::PinWrong);
    assert_eq!(
        message.render(Language::ZhTw),
        "PIN碼錯誤，還可以輸入 2 次。"
    );
    assert_eq!(message.render(Language::En), "Wrong PIN: 2 tries left.");
    assert_eq!(setup.card.borrow().tries_left(), 2);

    setup.recorded.submit(&holder, &holder.pin);
    assert!(matches!(setup.recorded.state(), FlowState::Done(_)));
    one_finished_renewal(&setup);
    setup.recorded.check_states(&holder);
}

#[test]
fn a_locked_card_is_explained_with_the_counter() {
    let mut setup = connected(DemoCase::InWindow);
    let holder = setup.holder.clone();
    block_on(setup.recorded.flow.continue_to_identity());
    setup.recorded.submit(&holder, WRONG_PIN);
    setup.recorded.submit(&holder, WRONG_PIN);
    let FlowState::Identity(step) = setup.recorded.state() else {
        panic!("{:?}", setup.recorded.state());
    };
    assert_eq!(step.pin_error.map(|m| m.key), Some(Key::PinWrongLastTry));
    setup.recorded.submit(&holder, WRONG_PIN);
    let FlowState::Failed(problem) = setup.recorded.state() else {
        panic!("{:?}", setup.recorded.state());
    };
    assert_eq!(problem.title.key, Key::PinLockedTitle);
    assert_eq!(problem.actions, [NextAction::Counter]);
    assert_eq!(setup.card.borrow().tries_left(), 0);
    assert_eq!(setup.port.calls(RENEW_PATH), 0);
    assert_eq!(setup.real.counts().renewals, 0);

    // Reading the locked card again goes straight to the explanation, before any typing.
    block_on(setup.recorded.flow.try_again());
    block_on(setup.recorded.flow.continue_to_identity());
    let FlowState::Failed(problem) = setup.recorded.state() else {
        panic!("{:?}", setup.recorded.state());
    };
    assert_eq!(problem.title.key, Key::PinLockedTitle);
    setup.recorded.check_states(&holder);
}

#[test]
fn a_card_locked_before_the_visit_is_explained_before_any_typing() {
    let mut setup = connected(DemoCase::PinLocked);
    assert!(verdict_of(&setup.recorded.state()).is_eligible());
    block_on(setup.recorded.flow.continue_to_identity());
    let FlowState::Failed(problem) = setup.recorded.state() else {
        panic!("{:?}", setup.recorded.state());
    };
    assert_eq!(problem.title.key, Key::PinLockedTitle);
    assert_eq!(setup.real.counts().renewals, 0);
}

#[test]
fn too_early_shows_the_opening_date_and_asks_no_pin() {
    let mut setup = connected(DemoCase::TooEarly);
    let verdict = verdict_of(&setup.recorded.state());
    let Verdict::TooEarly {
        window_opens_at, ..
    } = verdict
    else {
        panic!("{verdict:?}");
    };
    // The window opens 60 days before the certificate expires.
    let not_after = DemoCase::TooEarly
        .original_validity(common::real_authority::START)
        .not_after;
    assert!(window_opens_at < not_after, "{window_opens_at} {not_after}");
    assert!(window_opens_at > common::real_authority::START);
    let explained = explain_verdict(&verdict_of(&setup.recorded.state()));
    assert_eq!(explained.title.key, Key::VerdictTooEarlyTitle);
    let text = explained.explanation.render(Language::ZhTw);
    let roc_year = format!("民國{}年", window_opens_at.year() - 1911);
    assert!(text.contains(&roc_year), "{text}");
    let english = explained.explanation.render(Language::En);
    assert!(
        english.contains(&window_opens_at.year().to_string()),
        "{english}"
    );
    assert!(!explained.actions.is_empty());

    // The identity step does not open: no PIN is asked, no challenge was offered.
    block_on(setup.recorded.flow.continue_to_identity());
    assert!(matches!(setup.recorded.state(), FlowState::Card(_)));
    assert_eq!(setup.card.borrow().tries_left(), 3);
    assert_eq!(setup.port.calls(RENEW_PATH), 0);
    assert_eq!(setup.real.counts().challenges, 0);
    setup.recorded.check_states(&setup.holder);
}

#[test]
fn too_late_sends_the_holder_for_a_new_card() {
    let setup = connected(DemoCase::ExpiredFourYearsAgo);
    let verdict = verdict_of(&setup.recorded.state());
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
    setup.recorded.check_states(&setup.holder);
}

#[test]
fn a_revoked_certificate_goes_to_the_counter() {
    let setup = connected(DemoCase::Revoked);
    let verdict = verdict_of(&setup.recorded.state());
    assert_eq!(verdict, Verdict::Revoked);
    let explained = explain_verdict(&verdict);
    assert_eq!(explained.title.key, Key::VerdictRevokedTitle);
    assert_eq!(explained.actions, [NextAction::Counter]);
}

#[test]
fn pulling_the_card_at_the_card_step_goes_back_to_insert_card() {
    let mut setup = connected(DemoCase::InWindow);
    assert!(matches!(setup.recorded.state(), FlowState::Card(_)));
    setup.reader.remove();
    block_on(setup.recorded.flow.watch_card(Duration::from_millis(10)));
    assert_eq!(
        setup.recorded.state(),
        FlowState::InsertCard(InsertNotice::CardRemoved)
    );
    // Nothing happens while the slot stays empty.
    block_on(setup.recorded.flow.watch_card(Duration::from_millis(10)));
    assert_eq!(
        setup.recorded.state(),
        FlowState::InsertCard(InsertNotice::CardRemoved)
    );
    setup.reader.insert(Box::new(setup.card.clone()));
    block_on(setup.recorded.flow.watch_card(Duration::from_millis(10)));
    assert!(
        matches!(setup.recorded.state(), FlowState::Card(_)),
        "{:?}",
        setup.recorded.state()
    );
    setup.recorded.check_states(&setup.holder);
}

/// The next run of an interrupted renewal: a fresh page connects to the reader, is asked for
/// the identity again (the card proves its key and the holder is checked before the issued
/// certificates are handed back), and the form is sent.
fn resumed_in_a_new_page(setup: &Setup) -> Recorded {
    let mut next = flow(&setup.port, ORDINARY_TAB);
    let config = SimReaderConfig::ez100pu();
    block_on(
        next.flow
            .connect(&mut SimChooser::new(&setup.reader, &config, Tab::Ordinary)),
    );
    let FlowState::Identity(step) = next.state() else {
        panic!("{:?}", next.state());
    };
    assert_eq!(step.purpose, IdentityPurpose::Resume);
    next.submit(&setup.holder, &setup.holder.pin);
    next
}

/// A renewal of the eligible card whose card is pulled out `commands` commands into writing
/// the new certificates: the page says the renewal was interrupted. Returns the renewed
/// signature certificate the page was writing.
fn interrupted_while_writing(commands: u32) -> (Setup, Vec<u8>) {
    let mut setup = connected(DemoCase::InWindow);
    let puller = setup.reader.clone();
    setup.recorded.flow.set_observer(move |state| {
        if let FlowState::Renewing(renewing) = state {
            if renewing.step == RenewingStep::Write {
                puller.remove_card_after(commands);
            }
        }
    });
    let written = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&written);
    setup.recorded.flow.set_step_observer(move |_, effect| {
        if let Some(Effect::WriteCertificate {
            slot: KeyRole::Signature,
            der,
        }) = effect
        {
            *seen.borrow_mut() = der.clone();
        }
    });
    block_on(setup.recorded.flow.continue_to_identity());
    let holder = setup.holder.clone();
    setup.recorded.submit(&holder, &holder.pin);
    assert_eq!(
        setup.recorded.state(),
        FlowState::InsertCard(InsertNotice::RenewalInterrupted)
    );
    let renewed_signature = written.borrow().clone();
    assert!(!renewed_signature.is_empty());
    (setup, renewed_signature)
}

#[test]
fn pulling_the_card_while_writing_is_finished_by_the_next_run() {
    // The card is pulled out a few commands into writing.
    let (setup, renewed_signature) = interrupted_while_writing(3);
    assert_eq!(setup.port.calls(RENEW_PATH), 1);
    assert!(setup.real.has_unfinished_renewal(&setup.holder.card_number));
    // The card was not fully rewritten.
    let signature = setup.card.borrow().slot_bytes(Slot::Signature).to_vec();
    assert_ne!(&signature[..renewed_signature.len()], renewed_signature);

    // The page dies. Next run: the same card in the same reader, a fresh page.
    let Setup {
        recorded,
        real,
        port,
        reader,
        card,
        holder,
    } = setup;
    drop(recorded);
    reader.insert(Box::new(card.clone()));
    let setup = Setup {
        recorded: flow(&port, ORDINARY_TAB),
        real,
        port,
        reader,
        card,
        holder,
    };
    let next = resumed_in_a_new_page(&setup);
    assert_eq!(setup.port.calls(RESUME_PATH), 1);
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
    assert_eq!(setup.port.calls(RENEW_PATH), 1);
    one_finished_renewal(&setup);
    for slot in [Slot::Signature, Slot::Encryption] {
        assert_eq!(slot_term(&setup.card, slot), Some(Term::Renewed));
    }

    // A third visit finds the card renewed: the card page says so, nothing is asked.
    let config = SimReaderConfig::ez100pu();
    let mut third = flow(&setup.port, ORDINARY_TAB);
    block_on(
        third
            .flow
            .connect(&mut SimChooser::new(&setup.reader, &config, Tab::Ordinary)),
    );
    let verdict = verdict_of(&third.state());
    assert!(!verdict.is_eligible(), "{verdict:?}");
    assert_eq!(setup.port.calls(RESUME_PATH), 1);
    next.check_states(&setup.holder);
}

#[test]
fn a_browser_without_webusb_is_told_the_other_channels() {
    let real = RealAuthority::start(&[]);
    let no_webusb = flow(
        &real.port(),
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
        &real.port(),
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
    let real = RealAuthority::start(&[DemoCase::InWindow]);
    let card = real.virtual_card(DemoCase::InWindow);
    let config = SimReaderConfig::extended_apdu();
    let reader = reader_with(config.clone(), &card);

    let mut tab = flow(&real.port(), ORDINARY_TAB);
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
        &real.port(),
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
    let real = RealAuthority::start(&[]);
    let mut recorded = flow(&real.port(), ORDINARY_TAB);
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
    let mut setup = connected(DemoCase::InWindow);
    let holder = setup.holder.clone();
    block_on(setup.recorded.flow.continue_to_identity());
    block_on(
        setup
            .recorded
            .flow
            .submit_identity("A123456788", "79/02/30", pin(&holder.pin)),
    );
    let FlowState::Identity(step) = setup.recorded.state() else {
        panic!("{:?}", setup.recorded.state());
    };
    assert_eq!(step.national_id_error.map(|m| m.key), Some(Key::IdChecksum));
    let birthday = step.birthday_error.expect("a birthday message");
    assert_eq!(birthday.key, Key::BirthdayNoSuchRocDate);
    assert_eq!(
        birthday.render(Language::ZhTw),
        "民國79年2月30日不是有效的日期。"
    );
    block_on(
        setup
            .recorded
            .flow
            .submit_identity("A1234", &holder.birthday, pin(&holder.pin)),
    );
    let FlowState::Identity(step) = setup.recorded.state() else {
        panic!("{:?}", setup.recorded.state());
    };
    let id = step.national_id_error.expect("an ID message");
    assert_eq!(
        id.render(Language::En),
        "A national ID number has 10 characters; you typed 5."
    );
    assert_eq!(step.birthday_error, None);
    // No PIN try was spent on a form with mistakes.
    assert_eq!(setup.card.borrow().tries_left(), 3);
    assert_eq!(setup.port.calls(RENEW_PATH), 0);
    setup.recorded.check_states(&holder);
}

#[test]
fn another_persons_id_number_is_refused_by_the_authority() {
    let mut setup = connected(DemoCase::InWindow);
    let holder = setup.holder.clone();
    block_on(setup.recorded.flow.continue_to_identity());
    // A well-formed ID number that is not the holder's.
    let other = (0..10)
        .map(|digit| format!("B12345678{digit}"))
        .find(|id| renewal::NationalId::parse(id).is_ok())
        .unwrap();
    block_on(
        setup
            .recorded
            .flow
            .submit_identity(&other, &holder.birthday, pin(&holder.pin)),
    );
    let FlowState::Identity(step) = setup.recorded.state() else {
        panic!("{:?}", setup.recorded.state());
    };
    assert_eq!(
        step.form_error.map(|m| m.key),
        Some(Key::IdentityMismatchExplanation)
    );
    assert_eq!(step.pin_status, PinStatus::Verified);
    assert_eq!(setup.real.counts().renewals, 0);
    // Corrected, the same session renews.
    setup.recorded.submit(&holder, &holder.pin);
    assert!(matches!(setup.recorded.state(), FlowState::Done(_)));
    one_finished_renewal(&setup);
    setup.recorded.check_states(&holder);
}

#[test]
fn a_lost_completion_answer_is_recovered_with_the_receipt() {
    let mut setup = connected(DemoCase::InWindow);
    let holder = setup.holder.clone();
    setup.port.outage.lose_answer_of(COMPLETE_PATH);
    block_on(setup.recorded.flow.continue_to_identity());
    setup.recorded.submit(&holder, &holder.pin);
    assert!(
        matches!(setup.recorded.state(), FlowState::Done(_)),
        "{:?}",
        setup.recorded.state()
    );
    assert_eq!(setup.port.calls(COMPLETE_PATH), 1);
    assert_eq!(setup.port.calls(renewal::api::RECEIPT_PATH), 1);
    one_finished_renewal(&setup);
}

#[test]
fn an_authority_unreachable_at_completion_is_tried_again_without_a_second_renewal() {
    let mut setup = connected(DemoCase::InWindow);
    let holder = setup.holder.clone();
    // The network goes down once the certificates are being read back: both the completion
    // and the receipt fail before they reach the authority.
    let outage = setup.port.outage.clone();
    let mut down = false;
    setup.recorded.flow.set_observer(move |state| {
        if matches!(state, FlowState::Renewing(r) if r.step == RenewingStep::Verify) && !down {
            down = true;
            outage.fail_next(2);
        }
    });
    block_on(setup.recorded.flow.continue_to_identity());
    setup.recorded.submit(&holder, &holder.pin);
    let FlowState::Failed(problem) = setup.recorded.state() else {
        panic!("{:?}", setup.recorded.state());
    };
    assert_eq!(problem.title.key, Key::AuthorityUnreachableTitle);
    assert_eq!(problem.actions[0], NextAction::TryAgain);
    assert!(setup.real.has_unfinished_renewal(&holder.card_number));
    block_on(setup.recorded.flow.try_again());
    assert!(
        matches!(setup.recorded.state(), FlowState::Done(_)),
        "{:?}",
        setup.recorded.state()
    );
    assert_eq!(setup.port.calls(RENEW_PATH), 1);
    one_finished_renewal(&setup);
}

#[test]
fn a_challenge_that_expired_while_typing_is_replaced_once() {
    let mut setup = connected(DemoCase::InWindow);
    let holder = setup.holder.clone();
    block_on(setup.recorded.flow.continue_to_identity());
    // The user took a quarter of an hour over the form.
    setup.real.clock.advance(time::Duration::minutes(15));
    setup.recorded.submit(&holder, &holder.pin);
    assert!(
        matches!(setup.recorded.state(), FlowState::Done(_)),
        "{:?}",
        setup.recorded.state()
    );
    assert_eq!(setup.port.calls(RENEW_PATH), 2);
    assert_eq!(setup.port.calls(VERDICT_PATH), 2);
    one_finished_renewal(&setup);
    setup.recorded.check_states(&holder);
}

#[test]
fn a_second_generation_card_is_sent_to_the_program_or_counter() {
    let real = RealAuthority::start(&[DemoCase::InWindow]);
    let card = SharedVirtualCard::new(
        real.card(DemoCase::InWindow)
            .virtual_card()
            .unwrap()
            .with_atr(&card::virtual_card::SECOND_GENERATION_ATR),
    );
    let config = SimReaderConfig::ez100pu();
    let reader = reader_with(config.clone(), &card);
    let mut recorded = flow(&real.port(), ORDINARY_TAB);
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
    let real = RealAuthority::start(&[DemoCase::InWindow]);
    let config = SimReaderConfig::ez100pu();
    let reader = SimReader::new(config.clone());
    reader.insert(Box::new(ccid::sim::TestCard::new()));
    let mut recorded = flow(&real.port(), ORDINARY_TAB);
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
    reader.insert(Box::new(real.virtual_card(DemoCase::InWindow)));
    block_on(recorded.flow.watch_card(Duration::from_millis(10)));
    assert!(
        matches!(recorded.state(), FlowState::Card(_)),
        "{:?}",
        recorded.states.borrow()
    );
}

#[test]
fn a_reader_held_by_the_operating_system_gets_the_os_hints() {
    let real = RealAuthority::start(&[DemoCase::InWindow]);
    let card = real.virtual_card(DemoCase::InWindow);
    let config = SimReaderConfig::ez100pu();
    let reader = reader_with(config.clone(), &card);
    let mut recorded = flow(&real.port(), ORDINARY_TAB);
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
    let (setup, renewed_signature) = interrupted_while_writing(1);
    let old = setup.card.borrow().slot_bytes(Slot::Signature).to_vec();
    let torn = damage(&old, &renewed_signature);
    setup
        .card
        .borrow_mut()
        .set_slot_bytes(Slot::Signature, &torn)
        .unwrap();

    setup.reader.insert(Box::new(setup.card.clone()));
    let next = resumed_in_a_new_page(&setup);
    assert!(
        matches!(next.state(), FlowState::Done(_)),
        "{:?}",
        next.state()
    );
    assert_eq!(setup.port.calls(RENEW_PATH), 1);
    one_finished_renewal(&setup);
    for slot in [Slot::Signature, Slot::Encryption] {
        assert_eq!(slot_term(&setup.card, slot), Some(Term::Renewed));
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
