//! Wall-clock jump detection: the wall clock (what [`crate::clock::Clock`] tells) should move
//! as fast as the monotonic clock of the process. When, between two observations, one moved
//! more than `health.clock_jump_seconds` further than the other, the wall clock jumped (a
//! mis-set clock, NTP stepping it, a restored VM). The health check `clock` then fails once
//! and is ok again after `health.clock_steady_minutes` without a new jump.
//!
//! Pure: observations are passed in, so tests drive it with made-up times.

use std::time::Duration;

use chrono::DateTime;
use chrono_tz::Tz;

/// What an observation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockEvent {
    /// The wall clock moved `by` seconds more than the monotonic one (negative: back); `at` is
    /// the wall time after the jump.
    Jumped { by: i64, at: i64 },
    /// No jump for the steady period after one: the check is ok again.
    Steady,
}

/// Compares successive (monotonic, wall) observations.
#[derive(Debug)]
pub struct ClockWatch {
    threshold: f64,
    steady: Duration,
    last: Option<(Duration, i64)>,
    last_jump: Option<Duration>,
    failing: bool,
}

impl ClockWatch {
    /// `failing`: the check was failing when the process started (it clears after the steady
    /// period unless the clock jumps again).
    pub fn new(threshold_secs: u32, steady: Duration, failing: bool) -> ClockWatch {
        ClockWatch {
            threshold: f64::from(threshold_secs),
            steady,
            last: None,
            last_jump: None,
            failing,
        }
    }

    /// Records one observation: `mono` is monotonic time since any fixed origin, `wall` the
    /// wall clock in unix seconds.
    pub fn observe(&mut self, mono: Duration, wall: i64) -> Option<ClockEvent> {
        let event = match self.last {
            None => {
                if self.failing {
                    self.last_jump = Some(mono);
                }
                None
            }
            Some((m0, w0)) => {
                let mono_d = mono.saturating_sub(m0).as_secs_f64();
                let drift = (wall - w0) as f64 - mono_d;
                if drift.abs() > self.threshold {
                    self.last_jump = Some(mono);
                    self.failing = true;
                    Some(ClockEvent::Jumped {
                        by: drift.round() as i64,
                        at: wall,
                    })
                } else if self.failing
                    && self
                        .last_jump
                        .is_none_or(|j| mono.saturating_sub(j) >= self.steady)
                {
                    self.failing = false;
                    Some(ClockEvent::Steady)
                } else {
                    None
                }
            }
        };
        self.last = Some((mono, wall));
        event
    }
}

/// "wall clock jumped back 2 h 03 min at 2026-11-21 10:15 (Europe/Moscow)".
pub fn describe(by: i64, at: i64, tz: Tz) -> String {
    let dir = if by < 0 { "back" } else { "forward" };
    let secs = by.unsigned_abs();
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    let amount = if d > 0 {
        format!("{d} d {h} h {m:02} min")
    } else if h > 0 {
        format!("{h} h {m:02} min")
    } else {
        format!("{m} min {s:02} s")
    };
    let when = DateTime::from_timestamp(at, 0)
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default();
    format!("wall clock jumped {dir} {amount} at {when} ({tz})")
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_steady_clock_and_small_drift_are_no_jump() {
        let mut w = ClockWatch::new(120, S(1800), false);
        let mut wall = 1_000_000;
        for i in 0..100u64 {
            // NTP slews a few seconds: under the threshold.
            wall += 10 + i64::from(i % 7 == 0);
            assert_eq!(w.observe(S(10 * i), wall - 10), None);
        }
    }

    #[test]
    fn a_backward_jump_is_reported_once_and_clears_after_the_steady_period() {
        let mut w = ClockWatch::new(120, S(1800), false);
        assert_eq!(w.observe(S(0), 1_000_000), None);
        assert_eq!(w.observe(S(10), 1_000_010), None);
        // Ten monotonic seconds later the wall clock is 2 h 3 min behind.
        let at = 1_000_020 - 7380;
        assert_eq!(
            w.observe(S(20), at),
            Some(ClockEvent::Jumped { by: -7380, at })
        );
        // Steady again: nothing until the steady period has passed, then one Steady.
        let mut events = vec![];
        for i in 1..=200u64 {
            if let Some(e) = w.observe(S(20 + 10 * i), at + 10 * i as i64) {
                events.push((i, e));
            }
        }
        assert_eq!(events, vec![(180, ClockEvent::Steady)]);
    }

    #[test]
    fn a_forward_jump_and_a_second_jump_restart_the_steady_period() {
        let mut w = ClockWatch::new(120, S(600), false);
        w.observe(S(0), 0);
        assert_eq!(
            w.observe(S(10), 10 + 86_400),
            Some(ClockEvent::Jumped {
                by: 86_400,
                at: 86_410
            })
        );
        assert_eq!(w.observe(S(310), 86_710), None);
        // Back again after 5 minutes: a new jump, and the steady period starts over.
        assert_eq!(
            w.observe(S(320), 320),
            Some(ClockEvent::Jumped {
                by: -86_400,
                at: 320
            })
        );
        assert_eq!(w.observe(S(900), 900), None);
        assert_eq!(w.observe(S(920), 920), Some(ClockEvent::Steady));
        assert_eq!(w.observe(S(1920), 1920), None, "reported once");
    }

    #[test]
    fn a_check_failing_at_start_clears_after_the_steady_period() {
        let mut w = ClockWatch::new(120, S(600), true);
        assert_eq!(w.observe(S(5), 100), None);
        assert_eq!(w.observe(S(300), 395), None);
        assert_eq!(w.observe(S(605), 700), Some(ClockEvent::Steady));
    }

    #[test]
    fn a_jump_reads_well() {
        let tz = chrono_tz::Europe::Moscow;
        // 2026-11-21 07:15 UTC is 10:15 in Moscow.
        let at = 1_795_245_300;
        assert_eq!(
            describe(-7380, at, tz),
            "wall clock jumped back 2 h 03 min at 2026-11-21 10:15 (Europe/Moscow)"
        );
        assert_eq!(
            describe(300, at, tz),
            "wall clock jumped forward 5 min 00 s at 2026-11-21 10:15 (Europe/Moscow)"
        );
        assert!(describe(3 * 86_400 + 60, at, tz).contains("forward 3 d 0 h 01 min"));
    }
}
