//! The authority's clock: the time every rule is decided at (RULES.md: "the authority's clock,
//! to the second, not the browser's").
//!
//! It is injected so that tests, the demo and the bench can set the authority's time; `serve`
//! uses the system clock.

use std::sync::{Arc, Mutex, PoisonError};

use time::{Duration, OffsetDateTime};

/// A source of the current time, shared by every request.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> OffsetDateTime + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(OffsetDateTime::now_utc))
    }

    /// A clock that always reads `instant`.
    pub fn fixed(instant: OffsetDateTime) -> Self {
        Self(Arc::new(move || instant))
    }

    /// A clock reading whatever `now` returns.
    pub fn from_fn(now: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// The current time in UTC, to the second: certificates and the rules count whole seconds,
    /// and a stored time must compare equal to the one a verdict showed.
    pub fn now(&self) -> OffsetDateTime {
        let now = (self.0)();
        now.replace_nanosecond(0).unwrap_or(now)
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

/// A clock that a test sets and moves by hand.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    /// Sets the time.
    pub fn set(&self, instant: OffsetDateTime) {
        // A poisoned lock still holds a valid time; keep going with it.
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = instant;
    }

    /// Moves the time forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }

    /// The time it reads.
    pub fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A [`Clock`] reading this manual clock.
    pub fn clock(&self) -> Clock {
        let shared = self.clone();
        Clock::from_fn(move || shared.now())
    }
}
