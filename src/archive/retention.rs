//! The retention policy, as a pure function: for each scheduled kind keep the newest N
//! archives; manual archives are never deleted automatically.

use chrono::{DateTime, Utc};

use super::Kind;

/// How many archives of each scheduled kind to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep {
    pub daily: u32,
    pub monthly: u32,
    pub yearly: u32,
}

/// Indices into `archives` that the policy deletes.
pub fn retention_plan(archives: &[(Kind, DateTime<Utc>)], keep: Keep) -> Vec<usize> {
    let mut delete = Vec::new();
    for (kind, n) in [
        (Kind::Daily, keep.daily),
        (Kind::Monthly, keep.monthly),
        (Kind::Yearly, keep.yearly),
    ] {
        let mut of_kind: Vec<usize> = (0..archives.len())
            .filter(|&i| archives[i].0 == kind)
            .collect();
        // Newest first; ties broken by position so the plan is deterministic.
        of_kind.sort_by(|&a, &b| archives[b].1.cmp(&archives[a].1).then(a.cmp(&b)));
        delete.extend(of_kind.into_iter().skip(n as usize));
    }
    delete.sort_unstable();
    delete
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Duration, TimeZone};

    const KEEP: Keep = Keep {
        daily: 14,
        monthly: 12,
        yearly: 5,
    };

    /// Simulates `days` daily runs from `start`: a daily archive every day, a monthly one on
    /// the 1st, a yearly one on 1 January, the policy applied after each run.
    fn simulate(start: DateTime<Utc>, days: i64, keep: Keep) -> Vec<(Kind, DateTime<Utc>)> {
        let mut have: Vec<(Kind, DateTime<Utc>)> = Vec::new();
        for d in 0..days {
            let now = start + Duration::days(d);
            have.push((Kind::Daily, now));
            if now.day() == 1 {
                have.push((Kind::Monthly, now));
                if now.month() == 1 {
                    have.push((Kind::Yearly, now));
                }
            }
            let gone = retention_plan(&have, keep);
            for i in gone.into_iter().rev() {
                have.remove(i);
            }
        }
        have
    }

    fn count(have: &[(Kind, DateTime<Utc>)], k: Kind) -> usize {
        have.iter().filter(|(kind, _)| *kind == k).count()
    }

    #[test]
    fn after_400_days_of_dailies() {
        let start = Utc.with_ymd_and_hms(2025, 1, 1, 2, 30, 0).unwrap();
        let have = simulate(start, 400, KEEP);
        assert_eq!(count(&have, Kind::Daily), 14);
        // 1 Jan 2025 … 1 Feb 2026: 14 firsts of the month, of which the newest 12 survive.
        assert_eq!(count(&have, Kind::Monthly), 12);
        // 1 Jan 2025 and 1 Jan 2026.
        assert_eq!(count(&have, Kind::Yearly), 2);
        let last = start + Duration::days(399);
        let newest_daily = have
            .iter()
            .filter(|(k, _)| *k == Kind::Daily)
            .map(|(_, t)| *t)
            .max()
            .unwrap();
        let oldest_daily = have
            .iter()
            .filter(|(k, _)| *k == Kind::Daily)
            .map(|(_, t)| *t)
            .min()
            .unwrap();
        assert_eq!(newest_daily, last);
        assert_eq!(oldest_daily, last - Duration::days(13));
        let oldest_monthly = have
            .iter()
            .filter(|(k, _)| *k == Kind::Monthly)
            .map(|(_, t)| *t)
            .min()
            .unwrap();
        assert_eq!(
            oldest_monthly,
            Utc.with_ymd_and_hms(2025, 3, 1, 2, 30, 0).unwrap()
        );
    }

    #[test]
    fn a_simulated_decade_keeps_five_yearlies() {
        let start = Utc.with_ymd_and_hms(2020, 6, 15, 2, 30, 0).unwrap();
        let have = simulate(start, 3650, KEEP);
        assert_eq!(count(&have, Kind::Daily), 14);
        assert_eq!(count(&have, Kind::Monthly), 12);
        assert_eq!(count(&have, Kind::Yearly), 5);
        let years: Vec<i32> = have
            .iter()
            .filter(|(k, _)| *k == Kind::Yearly)
            .map(|(_, t)| t.year())
            .collect();
        assert_eq!(years, vec![2026, 2027, 2028, 2029, 2030]);
    }

    #[test]
    fn manual_archives_are_never_deleted_and_zero_keeps_none() {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let items = vec![
            (Kind::Manual, t),
            (Kind::Daily, t),
            (Kind::Manual, t - Duration::days(900)),
        ];
        let keep = Keep {
            daily: 0,
            monthly: 0,
            yearly: 0,
        };
        assert_eq!(retention_plan(&items, keep), vec![1]);
        assert!(retention_plan(&items, KEEP).is_empty());
    }
}
