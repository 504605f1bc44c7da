//! Runs the flow in the page: one task owns the [`RenewalFlow`], takes the user's actions from
//! a queue in order, watches the card between actions, and mirrors every state into a signal
//! the pages render.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use card::Pin;
use leptos::prelude::*;

use crate::flow::{AuthorityPort, CcidCard, FlowState, ReaderChooser, RenewalFlow};
use crate::platform;

/// How long one look for the card being put in or pulled out waits (readers with a
/// notification endpoint answer within it; others are asked once).
const CARD_WATCH: Duration = Duration::from_millis(250);
/// Pause between looks, in slices, so a click never waits long for the card watch.
const IDLE_SLICE: Duration = Duration::from_millis(50);
const IDLE_SLICES: usize = 5;

/// What the user asked for.
pub enum UserAction {
    /// Open the reader chooser.
    ChooseReader,
    /// Read the card (again).
    ReadCard,
    /// From the card page to the identity form.
    ContinueToIdentity,
    /// The identity form: ID number and birthday as typed, and the PIN.
    SubmitIdentity {
        /// As typed.
        national_id: String,
        /// As typed.
        birthday: String,
        /// Wiped when dropped.
        pin: Pin,
    },
    /// The PIN to finish a pending renewal.
    SubmitPin(Pin),
    /// The "try again" of a problem.
    TryAgain,
    /// Back to the first page.
    StartOver,
}

impl std::fmt::Debug for UserAction {
    /// Names the action only: what the user typed stays out of any log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UserAction::ChooseReader => "ChooseReader",
            UserAction::ReadCard => "ReadCard",
            UserAction::ContinueToIdentity => "ContinueToIdentity",
            UserAction::SubmitIdentity { .. } => "SubmitIdentity",
            UserAction::SubmitPin(_) => "SubmitPin",
            UserAction::TryAgain => "TryAgain",
            UserAction::StartOver => "StartOver",
        })
    }
}

type ActionQueue = Rc<RefCell<VecDeque<UserAction>>>;

/// Sends the user's actions to the flow. Copy, so every page and handler can hold it.
#[derive(Clone, Copy)]
pub struct Dispatch {
    queue: StoredValue<ActionQueue, LocalStorage>,
}

impl Dispatch {
    /// Queues `action`; the flow takes it as soon as the current step is over.
    pub fn send(self, action: UserAction) {
        if let Some(queue) = self.queue.try_get_value() {
            queue.borrow_mut().push_back(action);
        }
    }
}

/// The flow as the pages see it.
#[derive(Clone, Copy)]
pub struct FlowHandle {
    /// The state to render.
    pub state: ReadSignal<FlowState>,
    /// Whether the flow is working on an action (buttons wait).
    pub busy: ReadSignal<bool>,
    /// Where actions go.
    pub dispatch: Dispatch,
}

/// Starts the flow over `chooser` and `authority` and returns the handle the pages use. Must
/// be called inside the reactive owner of the page.
pub fn start_flow<R, A>(
    chooser: R,
    authority: A,
    environment: crate::flow::BrowserEnvironment,
) -> FlowHandle
where
    R: ReaderChooser + 'static,
    A: AuthorityPort + 'static,
{
    let mut flow: RenewalFlow<CcidCard<R::Transport>, A> = RenewalFlow::new(authority, environment);
    let (state, set_state) = signal(flow.state().clone());
    let (busy, set_busy) = signal(false);
    flow.set_observer(move |next| set_state.set(next.clone()));
    let queue: ActionQueue = Rc::new(RefCell::new(VecDeque::new()));
    let dispatch = Dispatch {
        queue: StoredValue::new_local(Rc::clone(&queue)),
    };
    leptos::task::spawn_local(drive(flow, chooser, queue, set_busy));
    FlowHandle {
        state,
        busy,
        dispatch,
    }
}

async fn drive<R, A>(
    mut flow: RenewalFlow<CcidCard<R::Transport>, A>,
    mut chooser: R,
    queue: ActionQueue,
    set_busy: WriteSignal<bool>,
) where
    R: ReaderChooser,
    A: AuthorityPort,
{
    loop {
        let next = queue.borrow_mut().pop_front();
        if let Some(action) = next {
            set_busy.set(true);
            handle(&mut flow, &mut chooser, action).await;
            set_busy.set(false);
            continue;
        }
        if flow.state().watches_card() {
            flow.watch_card(CARD_WATCH).await;
        }
        for _ in 0..IDLE_SLICES {
            if !queue.borrow().is_empty() {
                break;
            }
            platform::sleep(IDLE_SLICE).await;
        }
    }
}

async fn handle<R, A>(
    flow: &mut RenewalFlow<CcidCard<R::Transport>, A>,
    chooser: &mut R,
    action: UserAction,
) where
    R: ReaderChooser,
    A: AuthorityPort,
{
    match action {
        UserAction::ChooseReader => flow.connect(chooser).await,
        UserAction::ReadCard => flow.read_card().await,
        UserAction::ContinueToIdentity => flow.continue_to_identity().await,
        UserAction::SubmitIdentity {
            national_id,
            birthday,
            pin,
        } => flow.submit_identity(&national_id, &birthday, pin).await,
        UserAction::SubmitPin(pin) => flow.submit_pin(pin).await,
        UserAction::TryAgain => flow.try_again().await,
        UserAction::StartOver => flow.start_over().await,
    }
}
