//! Kiosk mode, for an unattended machine in a public place: switched on by the query parameter
//! `kiosk` on the page's address (`/?kiosk`, optionally `&idle=SECONDS&receipt=SECONDS`; an
//! Isolated Web App built with `scripts/iwa --kiosk` starts there). The page then uses a touch
//! layout with an on-screen keypad, opens nothing outside itself, and goes back to the start
//! page, clearing the screen, after a while without input — never while the card is being
//! written.
//!
//! This module is the policy as plain data and functions; the page's shell runs it.

use std::time::Duration;

use crate::flow::{FlowState, IdentityPurpose, InsertNotice};

/// How long the page waits without input before it starts over, unless told otherwise.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(120);
/// How long a finished renewal's receipt stays, unless told otherwise.
pub const DEFAULT_RECEIPT: Duration = Duration::from_secs(60);
/// How long before starting over the page shows a countdown (at most half the wait).
pub const COUNTDOWN: Duration = Duration::from_secs(15);
/// The shortest wait accepted from the address (a shorter one leaves no time to read).
pub const SHORTEST_WAIT: Duration = Duration::from_secs(5);
/// The longest wait accepted from the address.
pub const LONGEST_WAIT: Duration = Duration::from_secs(3600);

/// The kiosk's timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KioskSettings {
    /// Without input this long, the page starts over.
    pub idle: Duration,
    /// A finished renewal's receipt stays this long without input.
    pub receipt: Duration,
}

impl Default for KioskSettings {
    fn default() -> Self {
        Self {
            idle: DEFAULT_IDLE,
            receipt: DEFAULT_RECEIPT,
        }
    }
}

impl KioskSettings {
    /// The settings named by a page address's query (`?kiosk&idle=120&receipt=60`, with or
    /// without the `?`), or `None` when it does not ask for kiosk mode. A wait that is not a
    /// whole number of seconds keeps its default; one out of range is brought into range.
    pub fn from_query(query: &str) -> Option<KioskSettings> {
        let mut kiosk = false;
        let mut settings = KioskSettings::default();
        for pair in query.trim_start_matches('?').split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "kiosk" => kiosk = !matches!(value, "0" | "false" | "no" | "off"),
                "idle" => settings.idle = seconds(value).unwrap_or(settings.idle),
                "receipt" => settings.receipt = seconds(value).unwrap_or(settings.receipt),
                _ => {}
            }
        }
        kiosk.then_some(settings)
    }
}

fn seconds(value: &str) -> Option<Duration> {
    let seconds: u64 = value.parse().ok()?;
    Some(Duration::from_secs(seconds).clamp(SHORTEST_WAIT, LONGEST_WAIT))
}

/// What the idle watch does now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleState {
    /// Nothing to show.
    Quiet,
    /// Starting over soon: this many whole seconds left (at least 1).
    Countdown(u64),
    /// Start over now.
    Reset,
}

/// What the page is doing, as far as starting over is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Nothing to clear: the start page as it first appears.
    AtRest,
    /// A step that may be left: after `idle` without input, start over.
    Waiting,
    /// The receipt of a finished renewal: after `receipt`, start over.
    Receipt,
    /// The flow is working (reading the card, asking the authority, writing the card), or a
    /// renewal is issued that the card does not wholly hold yet (pulled out while writing; put
    /// back, it asks for the PIN to finish): never start over. The wait begins again once the
    /// card is consistent.
    Working,
}

impl Activity {
    /// The activity of `state`; `busy` when the flow is working on an action (reading,
    /// asking the authority, writing), `something_shown` when the start page has more on it
    /// than at first (the information page, the other language).
    pub fn of(state: &FlowState, busy: bool, something_shown: bool) -> Activity {
        match state {
            _ if busy => Activity::Working,
            FlowState::Renewing(_)
            | FlowState::InsertCard(InsertNotice::RenewalInterrupted)
            | FlowState::ReadingCard
            | FlowState::ChoosingReader => Activity::Working,
            // A renewal issued but not (wholly) on the card: the card is consistent again only
            // once the holder finishes it.
            FlowState::Identity(step) if step.purpose != IdentityPurpose::Renew => {
                Activity::Working
            }
            FlowState::Done(_) => Activity::Receipt,
            FlowState::Start | FlowState::Unsupported(_) if !something_shown => Activity::AtRest,
            _ => Activity::Waiting,
        }
    }
}

/// What to do after `quiet` without input during `activity`.
pub fn idle_state(settings: KioskSettings, activity: Activity, quiet: Duration) -> IdleState {
    let limit = match activity {
        Activity::AtRest | Activity::Working => return IdleState::Quiet,
        Activity::Waiting => settings.idle,
        Activity::Receipt => settings.receipt,
    };
    let Some(left) = limit.checked_sub(quiet).filter(|left| !left.is_zero()) else {
        return IdleState::Reset;
    };
    if left > COUNTDOWN.min(limit / 2) {
        IdleState::Quiet
    } else {
        // Whole seconds, rounded up: the last one shown is 1.
        IdleState::Countdown(left.as_millis().div_ceil(1000).max(1) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn the_query_switches_kiosk_mode_on_with_its_waits() {
        assert_eq!(KioskSettings::from_query(""), None);
        assert_eq!(KioskSettings::from_query("?usb=normal"), None);
        assert_eq!(KioskSettings::from_query("?kiosk=0"), None);
        assert_eq!(
            KioskSettings::from_query("?kiosk"),
            Some(KioskSettings::default())
        );
        assert_eq!(
            KioskSettings::from_query("usb=normal&kiosk=1&idle=30&receipt=20"),
            Some(KioskSettings {
                idle: 30 * SECOND,
                receipt: 20 * SECOND
            })
        );
        // Nonsense keeps the default; out of range is brought into range.
        assert_eq!(
            KioskSettings::from_query("?kiosk&idle=soon&receipt=1"),
            Some(KioskSettings {
                idle: DEFAULT_IDLE,
                receipt: SHORTEST_WAIT
            })
        );
        assert_eq!(
            KioskSettings::from_query("?kiosk&idle=999999").map(|s| s.idle),
            Some(LONGEST_WAIT)
        );
    }

    #[test]
    fn a_countdown_comes_before_the_reset() {
        let settings = KioskSettings::default();
        let at = |quiet| idle_state(settings, Activity::Waiting, quiet);
        assert_eq!(at(Duration::ZERO), IdleState::Quiet);
        assert_eq!(at(104 * SECOND + SECOND / 2), IdleState::Quiet);
        assert_eq!(at(105 * SECOND), IdleState::Countdown(15));
        assert_eq!(at(105 * SECOND + SECOND / 10), IdleState::Countdown(15));
        assert_eq!(at(119 * SECOND), IdleState::Countdown(1));
        assert_eq!(at(119 * SECOND + SECOND / 2), IdleState::Countdown(1));
        assert_eq!(at(120 * SECOND), IdleState::Reset);
        assert_eq!(at(600 * SECOND), IdleState::Reset);
        let receipt = |quiet| idle_state(settings, Activity::Receipt, quiet);
        assert_eq!(receipt(45 * SECOND), IdleState::Countdown(15));
        assert_eq!(receipt(60 * SECOND), IdleState::Reset);
    }

    #[test]
    fn a_short_wait_counts_down_its_second_half() {
        let settings = KioskSettings {
            idle: 6 * SECOND,
            receipt: 6 * SECOND,
        };
        let at = |quiet| idle_state(settings, Activity::Waiting, quiet);
        assert_eq!(at(2 * SECOND), IdleState::Quiet);
        assert_eq!(at(3 * SECOND), IdleState::Countdown(3));
        assert_eq!(at(6 * SECOND), IdleState::Reset);
    }

    #[test]
    fn working_and_the_first_page_never_start_over() {
        let settings = KioskSettings::default();
        for activity in [Activity::Working, Activity::AtRest] {
            assert_eq!(
                idle_state(settings, activity, 3600 * SECOND),
                IdleState::Quiet
            );
        }
    }

    #[test]
    fn activities_follow_the_flow() {
        use crate::flow::{Renewing, RenewingStep};
        let renewing = FlowState::Renewing(Renewing {
            step: RenewingStep::Write,
            resuming: false,
        });
        assert_eq!(Activity::of(&renewing, false, false), Activity::Working);
        assert_eq!(
            Activity::of(
                &FlowState::InsertCard(InsertNotice::RenewalInterrupted),
                false,
                false
            ),
            Activity::Working
        );
        assert_eq!(
            Activity::of(
                &FlowState::InsertCard(InsertNotice::NoCardYet),
                false,
                false
            ),
            Activity::Waiting
        );
        assert_eq!(
            Activity::of(&FlowState::InsertCard(InsertNotice::NoCardYet), true, false),
            Activity::Working
        );
        assert_eq!(
            Activity::of(&FlowState::Start, false, false),
            Activity::AtRest
        );
        assert_eq!(
            Activity::of(&FlowState::Start, false, true),
            Activity::Waiting
        );
    }
}
