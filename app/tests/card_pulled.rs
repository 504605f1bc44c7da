//! The promise "remove the card whenever you like, nothing is lost", proven against the real
//! authority (in process, over HTTP, SQLite): a whole renewal is run once to count its USB
//! transfers N; then for every k in 1..=N the card is pulled out right after transfer k, put
//! back, and a fresh page (a new flow, as after a reload) is started on the same card and
//! authority. Every k must end with the card holding both renewed certificates (read back,
//! 8-year span, the same keys) and exactly one renewal on record, completed. Run for the
//! EZ100PU's dialect and for a standard TPDU T=1 reader; the test prints N and each outcome.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::cell::Cell;
use std::rc::Rc;

use app::flow::{
    BrowserEnvironment, CcidCard, ChooseError, Deployment, FlowState, IdentityPurpose,
    ReaderChooser, RenewalFlow,
};
use authority_tools::demo::{DemoCase, DemoHolder};
use card::files::Slot;
use card::Pin;
use ccid::sim::{SimReader, SimReaderConfig};
use common::real_authority::{HttpAuthorityPort, RealAuthority};
use common::{slot_certificate, HookedTransport, TransferHook};
use futures_executor::block_on;
use renewal::rules::{classify_term, Term};
use renewal::CitizenCertificate;

/// A kiosk may use any reader, so both readers are opened the same way.
const KIOSK: BrowserEnvironment = BrowserEnvironment {
    webusb: true,
    secure_context: true,
    deployment: Deployment::Unrestricted,
};

/// Counts every USB transfer and pulls the card out of the reader right after transfer number
/// `pull_after`.
struct Pulling {
    reader: SimReader,
    transfers: Rc<Cell<u64>>,
    pull_after: Option<u64>,
}

impl TransferHook for Pulling {
    fn after(&mut self) {
        let count = self.transfers.get() + 1;
        self.transfers.set(count);
        if self.pull_after == Some(count) {
            self.reader.remove();
        }
    }
}

type PullingTransport = HookedTransport<Pulling>;

/// The user picks the one reader.
struct Chooser {
    reader: SimReader,
    transfers: Rc<Cell<u64>>,
    pull_after: Option<u64>,
}

impl ReaderChooser for Chooser {
    type Transport = PullingTransport;

    async fn choose_reader(&mut self) -> Result<PullingTransport, ChooseError> {
        Ok(HookedTransport {
            inner: self.reader.transport(),
            hook: Pulling {
                reader: self.reader.clone(),
                transfers: Rc::clone(&self.transfers),
                pull_after: self.pull_after,
            },
        })
    }
}

type Flow = RenewalFlow<CcidCard<PullingTransport>, HttpAuthorityPort>;

/// What a user does on each page until the renewal is done or nothing more can be done
/// without a person (the card is out, a problem is shown). The last state.
fn run_page(flow: &mut Flow, chooser: &mut Chooser, holder: &DemoHolder) -> FlowState {
    block_on(flow.connect(chooser));
    for _ in 0..8 {
        match flow.state().clone() {
            FlowState::Card(overview)
                if overview.verdict.as_ref().is_some_and(|v| v.is_eligible()) =>
            {
                block_on(flow.continue_to_identity());
            }
            FlowState::Identity(step) if step.purpose == IdentityPurpose::FinishPending => {
                block_on(flow.submit_pin(Pin::new(&holder.pin).unwrap()));
            }
            FlowState::Identity(_) => block_on(flow.submit_identity(
                &holder.national_id,
                &holder.birthday,
                Pin::new(&holder.pin).unwrap(),
            )),
            other => return other,
        }
    }
    flow.state().clone()
}

/// A short name for a page, for the printed outcomes.
fn label(state: &FlowState) -> String {
    match state {
        FlowState::InsertCard(notice) => format!("InsertCard({notice:?})"),
        FlowState::Card(overview) => format!(
            "Card({:?})",
            overview
                .verdict
                .as_ref()
                .map(|verdict| verdict.is_eligible())
        ),
        FlowState::Identity(step) => format!("Identity({:?})", step.purpose),
        FlowState::Done(completion) => format!("Done(earlier: {})", completion.earlier),
        FlowState::Failed(problem) => format!("Failed({:?})", problem.title),
        other => format!("{other:?}"),
    }
}

/// One whole renewal with the card pulled after transfer `pull_after` (never if `None`), then,
/// if it was pulled, a fresh page on the card put back. The transfers of the first page and
/// what each page ended on.
fn renewal_pulled_after(
    config: &SimReaderConfig,
    pull_after: Option<u64>,
) -> (u64, FlowState, Option<FlowState>) {
    let authority = RealAuthority::start(&[DemoCase::InWindow]);
    let demo = authority.card(DemoCase::InWindow).clone();
    let card = authority.virtual_card(DemoCase::InWindow);
    let reader = SimReader::new(config.clone());
    reader.insert(Box::new(card.clone()));
    let transfers = Rc::new(Cell::new(0));
    let mut chooser = Chooser {
        reader: reader.clone(),
        transfers: Rc::clone(&transfers),
        pull_after,
    };
    let mut first = Flow::new(authority.port(), KIOSK);
    let first_end = run_page(&mut first, &mut chooser, &demo.holder);
    let counted = transfers.get();
    if let FlowState::Failed(problem) = &first_end {
        assert!(!problem.actions.is_empty(), "dead end: {problem:?}");
    }

    let second_end = pull_after.filter(|k| *k <= counted).map(|_| {
        // The page is reloaded with the card back in the reader.
        drop(first);
        reader.insert(Box::new(card.clone()));
        let mut chooser = Chooser {
            reader: reader.clone(),
            transfers: Rc::new(Cell::new(0)),
            pull_after: None,
        };
        let mut second = Flow::new(authority.port(), KIOSK);
        run_page(&mut second, &mut chooser, &demo.holder)
    });

    // The card holds both renewed certificates, for the same keys, 8 years from the same start.
    let context = format!("pulled after {pull_after:?}: {first_end:?} then {second_end:?}");
    for (slot, original) in [
        (Slot::Signature, &demo.signature_certificate),
        (Slot::Encryption, &demo.encryption_certificate),
    ] {
        let original = CitizenCertificate::from_der(original).unwrap();
        let on_card = slot_certificate(&card, slot);
        assert_eq!(
            classify_term(&on_card.validity()),
            Term::Renewed,
            "{slot:?}, {context}"
        );
        assert_eq!(
            on_card.validity().not_before,
            original.validity().not_before,
            "{context}"
        );
        assert_eq!(
            on_card.subject_public_key_info_der().unwrap(),
            original.subject_public_key_info_der().unwrap(),
            "{context}"
        );
    }
    assert_eq!(authority.counts().renewals, 1, "{context}");
    assert!(
        !authority.has_unfinished_renewal(&demo.holder.card_number),
        "{context}"
    );
    (counted, first_end, second_end)
}

fn pulled_at_every_transfer(name: &str, config: SimReaderConfig) {
    let (n, end, _) = renewal_pulled_after(&config, None);
    assert!(matches!(end, FlowState::Done(_)), "{end:?}");
    println!("{name}: a whole renewal takes N = {n} USB transfers");
    for k in 1..=n {
        let (_, first, second) = renewal_pulled_after(&config, Some(k));
        let second = second.as_ref().map_or("-".to_owned(), label);
        println!(
            "{name}: pulled after transfer {k}/{n}: {} → {second}: renewed",
            label(&first)
        );
    }
    println!("{name}: {n} of {n} renewed");
}

#[test]
fn pulled_after_every_transfer_with_the_ez100pu() {
    pulled_at_every_transfer("EZ100PU", SimReaderConfig::ez100pu());
}

#[test]
fn pulled_after_every_transfer_with_a_tpdu_t1_reader() {
    pulled_at_every_transfer("TPDU T=1", SimReaderConfig::tpdu());
}
