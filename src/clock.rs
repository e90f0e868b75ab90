//! The one source of "now": injected everywhere so SLA, retention and schedules can be tested
//! with a simulated clock.

use std::sync::atomic::{AtomicI64, Ordering};

use crate::domain::Timestamp;

/// Tells the current UTC time in unix seconds.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now().timestamp()
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug, Default)]
pub struct FakeClock(AtomicI64);

impl FakeClock {
    pub fn new(start: Timestamp) -> Self {
        FakeClock(AtomicI64::new(start))
    }

    pub fn set(&self, t: Timestamp) {
        self.0.store(t, Ordering::SeqCst);
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        self.0.load(Ordering::SeqCst)
    }
}
