//! The kiosk's idle watch: any touch, click, key or typing keeps the page going (and takes the
//! countdown away at the next tick); after the kiosk's
//! wait without input it starts over (see [`crate::kiosk`] for when it never does), with a
//! countdown first.

use std::time::Duration;

use leptos::prelude::*;

use super::PageContext;
use crate::i18n::{Arg, Key, Message};
use crate::kiosk::{idle_state, Activity, IdleState, KioskSettings};
use crate::platform;

/// How often the watch looks at the clock.
const TICK: Duration = Duration::from_millis(500);

/// The countdown, shown over the page in its last seconds; `something_shown` says whether the
/// start page has more on it than at first, `start_over` clears the screen and starts over.
#[component]
pub fn IdleWatch(
    ctx: PageContext,
    settings: KioskSettings,
    something_shown: Signal<bool>,
    start_over: Callback<()>,
) -> impl IntoView {
    let last_input = StoredValue::new(platform::now_millis());
    let countdown = RwSignal::new(None::<u64>);
    // The countdown goes at the next tick, not at once: a tap that removed it under the
    // finger would land on whatever lies beneath.
    let keep_going = move || last_input.set_value(platform::now_millis());
    for input in ["pointerdown", "keydown", "input", "wheel"] {
        let listener = window_event_listener_untyped(input, move |_| keep_going());
        on_cleanup(move || listener.remove());
    }
    // A new page, or the end of the flow's work, starts the wait again: the time the card
    // took is not the citizen's.
    Effect::new(move |_| {
        ctx.flow.state.track();
        ctx.flow.busy.track();
        keep_going();
    });

    let tick = move || {
        let activity = Activity::of(
            &ctx.flow.state.read_untracked(),
            ctx.flow.busy.get_untracked(),
            something_shown.get_untracked(),
        );
        let quiet = Duration::from_millis((platform::now_millis() - last_input.get_value()) as u64);
        match idle_state(settings, activity, quiet) {
            IdleState::Quiet => countdown.set(None),
            IdleState::Countdown(seconds) => countdown.set(Some(seconds)),
            IdleState::Reset => {
                keep_going();
                start_over.run(());
            }
        }
    };
    if let Ok(handle) = set_interval_with_handle(tick, TICK) {
        on_cleanup(move || handle.clear());
    }

    move || {
        countdown.get().map(|seconds| {
            let message = Message::new(Key::KioskIdleCountdown).with("n", Arg::Number(seconds as i64));
            view! {
                <div class="idle-countdown" role="alertdialog" aria-labelledby="idle-title" aria-describedby="idle-message">
                    <p id="idle-title" class="idle-title">{ctx.text(Key::KioskIdleTitle)}</p>
                    <p id="idle-message" aria-live="assertive">{ctx.message(message)}</p>
                    <button
                        type="button"
                        class="button primary"
                        on:click=move |_| {
                            keep_going();
                            countdown.set(None);
                        }
                    >
                        {ctx.text(Key::KioskKeepGoing)}
                    </button>
                </div>
            }
        })
    }
}
