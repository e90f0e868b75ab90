//! Telegram's sending limits as a pure rate limiter: about 30 messages per second overall,
//! one per second per private chat, 20 per minute per group. Times are milliseconds on any
//! monotonic clock, so tests drive it without sleeping.

use std::collections::{HashMap, VecDeque};

/// Messages per second overall (Telegram allows about 30; we keep a margin).
pub const GLOBAL_PER_SECOND: usize = 25;
/// Minimum spacing between messages to one private chat, in milliseconds.
pub const PRIVATE_SPACING_MS: u64 = 1_050;
/// Messages per minute to one group.
pub const GROUP_PER_MINUTE: usize = 19;

/// Decides when the next message to a chat may go.
#[derive(Debug, Default)]
pub struct Limiter {
    global: VecDeque<u64>,
    private_last: HashMap<i64, u64>,
    groups: HashMap<i64, VecDeque<u64>>,
    /// No call at all before this time (a 429's retry_after).
    paused_until: u64,
}

impl Limiter {
    /// `Ok` when a message to `chat_id` may be sent at `now`, else the earliest time it may.
    pub fn check(&mut self, chat_id: i64, now: u64) -> Result<(), u64> {
        if now < self.paused_until {
            return Err(self.paused_until);
        }
        while self.global.front().is_some_and(|&t| now >= t + 1_000) {
            self.global.pop_front();
        }
        if self.global.len() >= GLOBAL_PER_SECOND {
            return Err(self.global[0] + 1_000);
        }
        if chat_id > 0 {
            if let Some(&last) = self.private_last.get(&chat_id)
                && now < last + PRIVATE_SPACING_MS
            {
                return Err(last + PRIVATE_SPACING_MS);
            }
        } else if let Some(q) = self.groups.get_mut(&chat_id) {
            while q.front().is_some_and(|&t| now >= t + 60_000) {
                q.pop_front();
            }
            if q.len() >= GROUP_PER_MINUTE {
                return Err(q[0] + 60_000);
            }
        }
        Ok(())
    }

    /// Records a message sent to `chat_id` at `now`.
    pub fn record(&mut self, chat_id: i64, now: u64) {
        self.global.push_back(now);
        if chat_id > 0 {
            self.private_last.insert(chat_id, now);
            if self.private_last.len() > 50_000 {
                self.private_last
                    .retain(|_, t| now < *t + PRIVATE_SPACING_MS);
            }
        } else {
            self.groups.entry(chat_id).or_default().push_back(now);
        }
    }

    /// Stops every call until `until` (Telegram's retry_after applies to the whole bot).
    pub fn pause_until(&mut self, until: u64) {
        self.paused_until = self.paused_until.max(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_chats_get_one_message_a_second() {
        let mut l = Limiter::default();
        assert!(l.check(5, 0).is_ok());
        l.record(5, 0);
        assert_eq!(l.check(5, 500), Err(PRIVATE_SPACING_MS));
        assert!(l.check(6, 500).is_ok(), "other chats are not held up");
        assert!(l.check(5, PRIVATE_SPACING_MS).is_ok());
    }

    #[test]
    fn groups_get_twenty_a_minute() {
        let mut l = Limiter::default();
        for i in 0..GROUP_PER_MINUTE as u64 {
            assert!(l.check(-100, i * 100).is_ok());
            l.record(-100, i * 100);
        }
        assert_eq!(l.check(-100, 5_000), Err(60_000));
        assert!(l.check(-100, 60_000).is_ok());
    }

    #[test]
    fn at_most_the_global_rate_in_any_second() {
        let mut l = Limiter::default();
        let mut sent = Vec::new();
        let mut now = 0;
        let mut chat = 1;
        while now < 10_000 {
            match l.check(chat, now) {
                Ok(()) => {
                    l.record(chat, now);
                    sent.push(now);
                    chat += 1;
                }
                Err(at) => now = at,
            }
        }
        for (i, &t) in sent.iter().enumerate() {
            let in_window = sent[i..].iter().take_while(|&&u| u < t + 1_000).count();
            assert!(
                in_window <= GLOBAL_PER_SECOND,
                "{in_window} in the second after {t}"
            );
        }
        assert!(
            sent.len() >= GLOBAL_PER_SECOND * 9,
            "and it does not starve: {}",
            sent.len()
        );
    }

    #[test]
    fn a_pause_stops_everything() {
        let mut l = Limiter::default();
        l.pause_until(30_000);
        assert_eq!(l.check(1, 10), Err(30_000));
        assert_eq!(l.check(-1, 29_999), Err(30_000));
        assert!(l.check(1, 30_000).is_ok());
    }
}
