//! SLA arithmetic over business hours: working days and hours in a time zone, with holidays.
//! Pure functions of time; daylight-saving changes are handled by resolving each working day's
//! local opening and closing times in the zone.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use super::Timestamp;
use super::ticket::Priority;

/// When the office works.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub tz: Tz,
    /// Working weekdays.
    pub days: Vec<Weekday>,
    pub start: NaiveTime,
    pub end: NaiveTime,
    /// Days off besides the weekend.
    pub holidays: Vec<NaiveDate>,
}

/// SLA targets of one priority, in business minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub first_response_minutes: i64,
    pub resolve_minutes: i64,
}

/// Targets per priority and the reminder threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub calendar: Calendar,
    pub low: Target,
    pub normal: Target,
    pub high: Target,
    pub critical: Target,
    /// Remind at this share of the target (e.g. 0.75).
    pub remind_at: f64,
}

/// Why a calendar is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("no working days")]
    NoWorkingDays,
    #[error("the working day must end after it starts")]
    EmptyDay,
}

impl Calendar {
    pub fn new(
        tz: Tz,
        days: Vec<Weekday>,
        start: NaiveTime,
        end: NaiveTime,
        holidays: Vec<NaiveDate>,
    ) -> Result<Calendar, CalendarError> {
        if days.is_empty() {
            return Err(CalendarError::NoWorkingDays);
        }
        if end <= start {
            return Err(CalendarError::EmptyDay);
        }
        Ok(Calendar {
            tz,
            days,
            start,
            end,
            holidays,
        })
    }

    fn is_working_day(&self, d: NaiveDate) -> bool {
        self.days.contains(&d.weekday()) && !self.holidays.contains(&d)
    }

    /// The UTC opening and closing of working day `d` (None on days off).
    fn hours(&self, d: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.is_working_day(d) {
            return None;
        }
        let open = resolve(self.tz, d.and_time(self.start))?;
        let close = resolve(self.tz, d.and_time(self.end))?;
        (close > open).then_some((open, close))
    }

    /// `start` plus `minutes` of working time.
    pub fn add_business_minutes(&self, start: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        let mut left = Duration::minutes(minutes.max(0));
        if left.is_zero() {
            return start;
        }
        let mut t = start;
        let mut day = t.with_timezone(&self.tz).date_naive();
        // Ten years of days is far beyond any target; stops a degenerate calendar.
        for _ in 0..3_700 {
            if let Some((open, close)) = self.hours(day) {
                if t < open {
                    t = open;
                }
                if t < close {
                    let avail = close - t;
                    if left <= avail {
                        return t + left;
                    }
                    left -= avail;
                }
            }
            day = day.succ_opt().expect("date in range");
            t = t.max(resolve(self.tz, day.and_time(NaiveTime::MIN)).unwrap_or(t));
        }
        t + left
    }

    /// Working minutes between `a` and `b` (0 when `b <= a`).
    pub fn business_minutes_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        if b <= a {
            return 0;
        }
        let mut total = Duration::zero();
        let mut day = a.with_timezone(&self.tz).date_naive();
        let last = b.with_timezone(&self.tz).date_naive();
        while day <= last {
            if let Some((open, close)) = self.hours(day) {
                let from = open.max(a);
                let to = close.min(b);
                if to > from {
                    total += to - from;
                }
            }
            day = day.succ_opt().expect("date in range");
        }
        total.num_minutes()
    }
}

/// A local time as UTC; in a DST gap the moment the clocks jump to.
fn resolve(tz: Tz, local: chrono::NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(a, _) => Some(a.with_timezone(&Utc)),
        chrono::LocalResult::None => (1..=180)
            .find_map(|m| {
                tz.from_local_datetime(&(local + Duration::minutes(m)))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc)),
    }
}

/// Due times of a ticket created at `created` with `priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub response_due: Timestamp,
    pub resolve_due: Timestamp,
    /// When to remind about the first response / the resolution.
    pub response_remind: Timestamp,
    pub resolve_remind: Timestamp,
}

impl Policy {
    pub fn target(&self, p: Priority) -> Target {
        match p {
            Priority::Low => self.low,
            Priority::Normal => self.normal,
            Priority::High => self.high,
            Priority::Critical => self.critical,
        }
    }

    /// Due and reminder times for a ticket created (or re-prioritised) at `at`.
    pub fn due(&self, at: Timestamp, p: Priority) -> Due {
        let start = DateTime::from_timestamp(at, 0).unwrap_or_default();
        let tg = self.target(p);
        let add = |m: i64| self.calendar.add_business_minutes(start, m).timestamp();
        let share = |m: i64| ((m as f64) * self.remind_at).round() as i64;
        Due {
            response_due: add(tg.first_response_minutes),
            resolve_due: add(tg.resolve_minutes),
            response_remind: add(share(tg.first_response_minutes)),
            resolve_remind: add(share(tg.resolve_minutes)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal(tz: Tz) -> Calendar {
        Calendar::new(
            tz,
            vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
            vec![
                NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
            ],
        )
        .unwrap()
    }

    fn local(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        tz.with_ymd_and_hms(y, m, d, h, min, 0)
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn within_one_day() {
        let tz = chrono_tz::Europe::Moscow;
        let c = cal(tz);
        // Wednesday 25 Nov 2026, 10:00 + 4 h = 14:00.
        assert_eq!(
            c.add_business_minutes(local(tz, 2026, 11, 25, 10, 0), 240),
            local(tz, 2026, 11, 25, 14, 0)
        );
        // Before opening: the clock starts at 09:00.
        assert_eq!(
            c.add_business_minutes(local(tz, 2026, 11, 25, 7, 30), 60),
            local(tz, 2026, 11, 25, 10, 0)
        );
        // Exactly at closing with zero minutes stays put.
        assert_eq!(
            c.add_business_minutes(local(tz, 2026, 11, 25, 18, 0), 0),
            local(tz, 2026, 11, 25, 18, 0)
        );
    }

    #[test]
    fn over_the_weekend() {
        let tz = chrono_tz::Europe::Moscow;
        let c = cal(tz);
        // Friday 27 Nov 16:00 + 4 h: 2 h on Friday, 2 h on Monday → Monday 30 Nov 11:00.
        assert_eq!(
            c.add_business_minutes(local(tz, 2026, 11, 27, 16, 0), 240),
            local(tz, 2026, 11, 30, 11, 0)
        );
        // Filed on Saturday: counts from Monday 09:00.
        assert_eq!(
            c.add_business_minutes(local(tz, 2026, 11, 28, 12, 0), 30),
            local(tz, 2026, 11, 30, 9, 30)
        );
        assert_eq!(
            c.business_minutes_between(
                local(tz, 2026, 11, 27, 16, 0),
                local(tz, 2026, 11, 30, 11, 0)
            ),
            240
        );
    }

    #[test]
    fn over_holidays() {
        let tz = chrono_tz::Europe::Moscow;
        let c = cal(tz);
        // Wednesday 31 Dec 2025 17:00 + 2 h: 1 h on the 31st, holidays 1–2 Jan, weekend 3–4 Jan,
        // 1 h on Monday 5 Jan → 10:00.
        assert_eq!(
            c.add_business_minutes(local(tz, 2025, 12, 31, 17, 0), 120),
            local(tz, 2026, 1, 5, 10, 0)
        );
        // A two-day target spans the gap the same way.
        assert_eq!(
            c.add_business_minutes(local(tz, 2025, 12, 31, 9, 0), 9 * 60 * 2),
            local(tz, 2026, 1, 5, 18, 0)
        );
    }

    #[test]
    fn across_a_daylight_saving_change() {
        // Berlin springs forward on Sunday 29 March 2026 and falls back on 25 October 2026.
        let tz = chrono_tz::Europe::Berlin;
        let c = cal(tz);
        // Friday 27 Mar 17:00 (UTC+1) + 2 h → Monday 30 Mar 10:00 (UTC+2): local hours hold.
        let due = c.add_business_minutes(local(tz, 2026, 3, 27, 17, 0), 120);
        assert_eq!(due, local(tz, 2026, 3, 30, 10, 0));
        assert_eq!(due.with_timezone(&tz).format("%H:%M").to_string(), "10:00");
        let due = c.add_business_minutes(local(tz, 2026, 10, 23, 17, 0), 120);
        assert_eq!(
            due.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
            "2026-10-26 10:00"
        );
    }

    #[test]
    fn policy_due_and_reminders() {
        let tz = chrono_tz::Europe::Moscow;
        let t = Target {
            first_response_minutes: 60,
            resolve_minutes: 8 * 60,
        };
        let p = Policy {
            calendar: cal(tz),
            low: t,
            normal: t,
            high: t,
            critical: t,
            remind_at: 0.75,
        };
        let created = local(tz, 2026, 11, 25, 9, 0).timestamp();
        let d = p.due(created, Priority::Normal);
        assert_eq!(d.response_due, local(tz, 2026, 11, 25, 10, 0).timestamp());
        assert_eq!(
            d.response_remind,
            local(tz, 2026, 11, 25, 9, 45).timestamp()
        );
        assert_eq!(d.resolve_due, local(tz, 2026, 11, 25, 17, 0).timestamp());
        assert_eq!(d.resolve_remind, local(tz, 2026, 11, 25, 15, 0).timestamp());
    }

    #[test]
    fn bad_calendars_are_refused() {
        let tz = chrono_tz::Europe::Moscow;
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        assert_eq!(
            Calendar::new(tz, vec![], nine, nine, vec![]),
            Err(CalendarError::NoWorkingDays)
        );
        assert_eq!(
            Calendar::new(tz, vec![Weekday::Mon], nine, nine, vec![]),
            Err(CalendarError::EmptyDay)
        );
    }
}
