//! Event-order fuzz: seeded random interleavings of the card pulled out and put back, the
//! reader unplugged, the authority unreachable for a while, wrong PINs and the page reloaded
//! (a new flow) at any effect boundary, against the real authority. After each run's chaos the
//! user carries on calmly. Invariants: never two renewals for one card; a started renewal is
//! always finished (here, or by a later page); the flow always rests on a page that offers the
//! user something to do; no panic.
//!
//! `FLOW_FUZZ_RUNS` sets the number of runs (default 2000), `FLOW_FUZZ_SEED` the first seed;
//! `FLOW_FUZZ_TRACE` prints each phase, effect and chaos event (to follow one seed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use app::flow::machine::Phase;
use app::flow::{
    BrowserEnvironment, CcidCard, ChooseError, Deployment, FlowState, IdentityPurpose, NextAction,
    PinStatus, ReaderChooser, RenewalFlow,
};
use authority_tools::demo::{DemoCase, DemoHolder};
use card::files::Slot;
use card::virtual_card::SharedVirtualCard;
use card::Pin;
use ccid::sim::{SimReader, SimReaderConfig};
use ccid::TransportError;
use common::real_authority::{HttpAuthorityPort, Outage, RealAuthority};
use common::{slot_term, HookedTransport, TransferHook};
use futures_executor::block_on;
use renewal::rules::Term;

const KIOSK: BrowserEnvironment = BrowserEnvironment {
    webusb: true,
    secure_context: true,
    deployment: Deployment::Unrestricted,
};

const WRONG_PIN: &str = "975312";

/// SplitMix64: a small, seeded, reproducible source of choices.
struct Choices(u64);

impl Choices {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `per_mille`/1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// The world the page lives in: the reader (plugged or not, with the card in or out), the
/// authority's reachability, and whether the page is still alive.
struct World {
    reader: SimReader,
    card: SharedVirtualCard,
    card_in: Cell<bool>,
    plugged: Cell<bool>,
    /// The transport of the last opening; a reader unplugged makes it fail for good.
    transport_alive: RefCell<Rc<Cell<bool>>>,
    /// False once the page is "reloaded": nothing it does reaches the reader or the authority.
    page_alive: RefCell<Rc<Cell<bool>>>,
    outage: Outage,
    /// Chaos happens while this is true.
    chaotic: Cell<bool>,
    choices: RefCell<Choices>,
    /// A reload was asked at an effect boundary; the driver starts a new page.
    reload_asked: Cell<bool>,
}

impl World {
    fn pull_card(&self) {
        if self.card_in.replace(false) {
            self.reader.remove();
        }
    }

    fn insert_card(&self) {
        if !self.card_in.replace(true) {
            self.reader.insert(Box::new(self.card.clone()));
        }
    }

    fn unplug(&self) {
        self.plugged.set(false);
        self.transport_alive.borrow().set(false);
    }

    /// At an effect boundary or a USB transfer, maybe something happens.
    fn maybe_chaos(&self, per_mille: u64) {
        if !self.chaotic.get() {
            return;
        }
        let mut choices = self.choices.borrow_mut();
        if !choices.chance(per_mille) {
            return;
        }
        let what = choices.below(6);
        if std::env::var("FLOW_FUZZ_TRACE").is_ok() {
            eprintln!("chaos {what}");
        }
        match what {
            0 | 1 => self.pull_card(),
            2 => self.insert_card(),
            3 => self.unplug(),
            4 => self.outage.fail_next(1 + choices.below(3) as u32),
            _ => {
                // The page dies here: nothing more of it reaches the reader or the authority.
                self.page_alive.borrow().set(false);
                self.outage.fail_next(u32::MAX);
                self.reload_asked.set(true);
            }
        }
    }
}

/// The reader as the browser would give it, failing like an unplugged device once the reader
/// is unplugged or the page is gone.
struct Chaos {
    world: Rc<World>,
    alive: Rc<Cell<bool>>,
    page: Rc<Cell<bool>>,
}

impl TransferHook for Chaos {
    fn claim(&mut self) -> Result<(), TransportError> {
        self.before()
    }

    fn before(&mut self) -> Result<(), TransportError> {
        self.world.maybe_chaos(2);
        if self.alive.get() && self.page.get() {
            Ok(())
        } else {
            Err(TransportError::Disconnected)
        }
    }
}

type ChaosTransport = HookedTransport<Chaos>;

struct Chooser(Rc<World>);

impl ReaderChooser for Chooser {
    type Transport = ChaosTransport;

    async fn choose_reader(&mut self) -> Result<ChaosTransport, ChooseError> {
        let world = &self.0;
        if !world.plugged.get() {
            return Err(ChooseError::NothingChosen);
        }
        let alive = Rc::new(Cell::new(true));
        *world.transport_alive.borrow_mut() = Rc::clone(&alive);
        Ok(HookedTransport {
            inner: world.reader.transport(),
            hook: Chaos {
                world: Rc::clone(world),
                alive,
                page: Rc::clone(&world.page_alive.borrow()),
            },
        })
    }
}

type Flow = RenewalFlow<CcidCard<ChaosTransport>, HttpAuthorityPort>;

/// A new page: a new flow whose effects may meet chaos at every boundary.
fn new_page(world: &Rc<World>, port: &HttpAuthorityPort) -> Flow {
    *world.page_alive.borrow_mut() = Rc::new(Cell::new(true));
    world.outage.fail_next(0);
    world.reload_asked.set(false);
    let mut flow = Flow::new(port.clone(), KIOSK);
    let at_boundary = Rc::clone(world);
    flow.set_step_observer(move |phase, effect| {
        if std::env::var("FLOW_FUZZ_TRACE").is_ok() {
            eprintln!(
                "{} {:?}",
                phase.name(),
                effect.map(|e| format!("{e:?}").chars().take(60).collect::<String>())
            );
        }
        if effect.is_some() {
            at_boundary.maybe_chaos(60);
        }
    });
    flow
}

/// The page offers the user something to do (or is working, which the caller rules out).
fn offers_an_action(state: &FlowState) -> bool {
    match state {
        FlowState::Failed(problem) => !problem.actions.is_empty(),
        FlowState::ReadingCard | FlowState::Renewing(_) | FlowState::ChoosingReader => false,
        _ => true,
    }
}

/// What the user does on `state`; false when there is nothing more to do (renewed, or the
/// card page says the card needs nothing).
fn user_acts(flow: &mut Flow, world: &Rc<World>, holder: &DemoHolder) -> bool {
    let mut chooser = Chooser(Rc::clone(world));
    let calm = !world.chaotic.get();
    let wrong_pin = !calm && world.choices.borrow_mut().chance(150);
    match flow.state().clone() {
        FlowState::Start | FlowState::ReaderGuidance { .. } => {
            world.plugged.set(true);
            block_on(flow.connect(&mut chooser));
        }
        // The card is put in and the reader tells; if it was in already, the page's "read
        // the card" button.
        FlowState::InsertCard(_) if world.card_in.get() => block_on(flow.read_card()),
        FlowState::InsertCard(_) => {
            world.insert_card();
            block_on(flow.watch_card(Duration::from_millis(1)));
        }
        FlowState::Card(overview) => match overview.verdict {
            Some(verdict) if verdict.is_eligible() => block_on(flow.continue_to_identity()),
            // Renewed (or not eligible): nothing more to do.
            _ => return false,
        },
        FlowState::Identity(step) => {
            let tries = match step.pin_status {
                PinStatus::TriesLeft(tries) => tries,
                PinStatus::Verified => 3,
            };
            let pin = if wrong_pin && tries >= 2 {
                WRONG_PIN
            } else {
                &holder.pin
            };
            let pin = Pin::new(pin).unwrap();
            if step.purpose == IdentityPurpose::FinishPending {
                block_on(flow.submit_pin(pin));
            } else {
                block_on(flow.submit_identity(&holder.national_id, &holder.birthday, pin));
            }
        }
        FlowState::Done(_) => return false,
        FlowState::Failed(problem) => match problem.actions[0] {
            NextAction::TryAgain => {
                world.insert_card();
                block_on(flow.try_again());
            }
            NextAction::ChooseReader => {
                world.plugged.set(true);
                block_on(flow.connect(&mut chooser));
            }
            NextAction::StartOver => block_on(flow.start_over()),
            // A person would reload the page or go to a counter; here the page is reloaded.
            NextAction::Reload | NextAction::Counter | NextAction::OfficialProgram => {
                world.reload_asked.set(true);
            }
        },
        other => panic!("the page rests on a working state: {other:?}"),
    }
    true
}

/// One run from `seed`; returns how many pages (flows) it took.
fn run(seed: u64) -> u32 {
    let real = RealAuthority::start(&[DemoCase::InWindow]);
    let holder = real.card(DemoCase::InWindow).holder.clone();
    let card = real.virtual_card(DemoCase::InWindow);
    let mut choices = Choices(seed);
    let config = if choices.chance(500) {
        SimReaderConfig::tpdu()
    } else {
        SimReaderConfig::extended_apdu()
    };
    let reader = SimReader::new(config);
    reader.insert(Box::new(card.clone()));
    let port = real.port();
    let world = Rc::new(World {
        reader,
        card: card.clone(),
        card_in: Cell::new(true),
        plugged: Cell::new(true),
        transport_alive: RefCell::new(Rc::new(Cell::new(true))),
        page_alive: RefCell::new(Rc::new(Cell::new(true))),
        outage: port.outage.clone(),
        chaotic: Cell::new(true),
        choices: RefCell::new(choices),
        reload_asked: Cell::new(false),
    });
    let context = |step: u32, flow: &Flow| format!("seed {seed}, step {step}: {:?}", flow.state());
    let mut flow = new_page(&world, &port);
    let mut pages = 1;
    let mut finished = false;
    for step in 0..120 {
        // The chaos ends after a while; then the user carries on in peace.
        if step == 40 {
            world.chaotic.set(false);
        }
        if world.reload_asked.get() {
            flow = new_page(&world, &port);
            pages += 1;
        }
        let acted = user_acts(&mut flow, &world, &holder);
        assert!(
            !flow.phase().awaits_answer(),
            "stuck waiting, {}",
            context(step, &flow)
        );
        assert!(
            world.reload_asked.get() || offers_an_action(flow.state()),
            "no way on, {}",
            context(step, &flow)
        );
        assert!(
            real.counts().renewals <= 1,
            "two renewals, {}",
            context(step, &flow)
        );
        if !acted && !world.chaotic.get() {
            finished = true;
            break;
        }
        if !acted {
            // Renewed while the chaos went on: the chaos ends, and a later page must still
            // see the card renewed.
            world.chaotic.set(false);
            world.reload_asked.set(true);
        }
    }
    assert!(
        finished,
        "not finished after 120 steps, {}",
        context(0, &flow)
    );
    assert!(
        matches!(flow.phase(), Phase::Done(_) | Phase::CardShown(_)),
        "{}",
        context(0, &flow)
    );
    for slot in [Slot::Signature, Slot::Encryption] {
        assert_eq!(
            slot_term(&card, slot),
            Some(Term::Renewed),
            "{slot:?}, seed {seed}"
        );
    }
    assert_eq!(real.counts().renewals, 1, "seed {seed}");
    assert!(
        !real.has_unfinished_renewal(&holder.card_number),
        "unfinished, seed {seed}"
    );
    pages
}

/// Runs `FLOW_FUZZ_RUNS` seeds (default 2000) from `FLOW_FUZZ_SEED` (default 1), the share
/// `part` of `PARTS`: the parts are separate tests so the test harness runs them in parallel.
fn run_part(part: u64) {
    const PARTS: u64 = 4;
    let runs: u64 = std::env::var("FLOW_FUZZ_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(2000);
    let first_seed: u64 = std::env::var("FLOW_FUZZ_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(1);
    let seeds: Vec<u64> = (first_seed..first_seed + runs)
        .filter(|seed| seed % PARTS == part)
        .collect();
    let pages: u32 = seeds.iter().map(|seed| run(*seed)).sum();
    println!(
        "part {part}: {} runs from seed {first_seed}: every card renewed exactly once, {pages} pages in all",
        seeds.len()
    );
}

#[test]
fn random_event_orders_never_lose_or_double_a_renewal_0() {
    run_part(0);
}

#[test]
fn random_event_orders_never_lose_or_double_a_renewal_1() {
    run_part(1);
}

#[test]
fn random_event_orders_never_lose_or_double_a_renewal_2() {
    run_part(2);
}

#[test]
fn random_event_orders_never_lose_or_double_a_renewal_3() {
    run_part(3);
}
