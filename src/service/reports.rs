//! Reports: pure computations over tickets and stock movements (tickets per day, category and
//! department; first-response and resolution times; ratings; consumables issued; SLA
//! compliance), one service call that reads a date range and computes them all, and the Excel
//! exports (`reports/xlsx.rs`).
//!
//! A report covers the tickets **created** in the range `[from, to)`; every figure (times,
//! ratings, SLA) is about those tickets. Stock issues are counted by the time of the movement.
//! Days are calendar days in the panel's time zone.

mod xlsx;

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, TimeZone};
use chrono_tz::Tz;

use super::*;
use crate::store::TicketFilter;

pub use xlsx::{summary_xlsx, tickets_xlsx};

/// Most tickets a report or an export reads; beyond it the report says it is truncated.
pub const TICKET_CAP: usize = 200_000;
/// Most stock movements read (newest first) when counting issues. The store answers only
/// "the newest N", so movements older than this window are not counted; the report says so
/// when the window was full and reached back into the range.
pub const MOVES_CAP: usize = 200_000;
/// Longest range a report covers, in days.
pub const MAX_DAYS: i64 = 1100;

/// Parses a `YYYY-MM-DD` date typed by a person; the error names `field`.
pub fn parse_day(field: &str, value: &str) -> std::result::Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{field}: '{value}' is not a date (YYYY-MM-DD)"))
}

/// The first second of local day `d` in `tz` (the earliest instant when midnight is ambiguous;
/// the first hour that exists when the day starts inside a DST gap).
pub fn day_start(d: NaiveDate, tz: Tz) -> Timestamp {
    (0..3)
        .find_map(|h| {
            let local = d.and_hms_opt(h, 0, 0)?;
            tz.from_local_datetime(&local).earliest()
        })
        .map(|t| t.timestamp())
        .unwrap_or_else(|| {
            d.and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp()
        })
}

/// The local calendar day of instant `t` in `tz`.
pub fn local_day(t: Timestamp, tz: Tz) -> NaiveDate {
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
        .date_naive()
}

/// Median and 90th percentile of some durations (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DurationStats {
    pub count: usize,
    pub median: Option<i64>,
    pub p90: Option<i64>,
}

/// Ratings given by requesters.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RatingStats {
    pub count: usize,
    pub average: Option<f64>,
    /// How many gave 1, 2, 3, 4, 5 stars.
    pub by_stars: [usize; 5],
}

/// SLA outcomes of one target (first response or resolution).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlaCount {
    /// Done by the due time.
    pub met: u64,
    /// Done late, or not done and already overdue.
    pub breached: u64,
    /// Not done yet and not yet due.
    pub pending: u64,
}

impl SlaCount {
    /// Share met of the decided ones (met + breached), in percent.
    pub fn percent(&self) -> Option<f64> {
        let decided = self.met + self.breached;
        (decided > 0).then(|| self.met as f64 * 100.0 / decided as f64)
    }
}

/// SLA compliance of the tickets in a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlaStats {
    pub response: SlaCount,
    pub resolve: SlaCount,
}

/// Units of one SKU issued in a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumption {
    pub sku: String,
    /// The item's name, or empty when the item no longer exists.
    pub name: String,
    pub quantity: i64,
    /// Number of issue movements.
    pub moves: usize,
}

/// Everything the reports page and the summary workbook show.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// First day (local), inclusive.
    pub from_day: NaiveDate,
    /// Last day (local), inclusive.
    pub to_day: NaiveDate,
    /// `[from, to)` as instants.
    pub from: Timestamp,
    pub to: Timestamp,
    pub tz: Tz,
    /// Tickets created in the range.
    pub total: usize,
    pub per_day: Vec<(NaiveDate, u64)>,
    pub per_category: Vec<(Category, u64)>,
    /// `None`: tickets with no department.
    pub per_department: Vec<(Option<String>, u64)>,
    pub first_response: DurationStats,
    pub resolution: DurationStats,
    pub ratings: RatingStats,
    pub consumption: Vec<Consumption>,
    /// `None` when no ticket in the range has an SLA target.
    pub sla: Option<SlaStats>,
    /// More than [`TICKET_CAP`] tickets: only the newest were counted.
    pub tickets_truncated: bool,
    /// The movement window ([`MOVES_CAP`]) did not reach back to the start of the range.
    pub moves_truncated: bool,
}

/// Tickets created on each local day from `from` to `to` (both inclusive), days without
/// tickets included as zero.
pub fn tickets_per_day(
    tickets: &[Ticket],
    tz: Tz,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<(NaiveDate, u64)> {
    let mut out: Vec<(NaiveDate, u64)> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| (d, 0))
        .collect();
    for t in tickets {
        let i = (local_day(t.created_at, tz) - from).num_days();
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) {
            slot.1 += 1;
        }
    }
    out
}

/// Tickets per category, most first (ties in the categories' usual order); no zero rows.
pub fn tickets_per_category(tickets: &[Ticket]) -> Vec<(Category, u64)> {
    let mut out: Vec<(Category, u64)> = Category::ALL
        .into_iter()
        .map(|c| (c, tickets.iter().filter(|t| t.category == c).count() as u64))
        .filter(|(_, n)| *n > 0)
        .collect();
    out.sort_by_key(|c| std::cmp::Reverse(c.1));
    out
}

/// Tickets per department, most first, then by name; tickets without one are `None`, last
/// among equals.
pub fn tickets_per_department(tickets: &[Ticket]) -> Vec<(Option<String>, u64)> {
    let mut counts: HashMap<Option<String>, u64> = HashMap::new();
    for t in tickets {
        let d = t
            .department
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        *counts.entry(d.map(str::to_string)).or_default() += 1;
    }
    let mut out: Vec<_> = counts.into_iter().collect();
    out.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| a.0.is_none().cmp(&b.0.is_none()))
            .then_with(|| a.0.cmp(&b.0))
    });
    out
}

/// Median (the mean of the two middle values for an even count, rounded down) and 90th
/// percentile (nearest rank: the smallest value with at least 90 % of values at or below it).
pub fn duration_stats(mut values: Vec<i64>) -> DurationStats {
    values.sort_unstable();
    let n = values.len();
    if n == 0 {
        return DurationStats::default();
    }
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]).div_euclid(2)
    };
    let rank = (n * 9).div_ceil(10).max(1);
    DurationStats {
        count: n,
        median: Some(median),
        p90: Some(values[rank - 1]),
    }
}

/// Seconds from creation to the first staff response, for tickets that have one.
pub fn first_response_times(tickets: &[Ticket]) -> Vec<i64> {
    tickets
        .iter()
        .filter_map(|t| t.first_response_at.map(|r| (r - t.created_at).max(0)))
        .collect()
}

/// Seconds from creation to resolution, for resolved tickets.
pub fn resolution_times(tickets: &[Ticket]) -> Vec<i64> {
    tickets
        .iter()
        .filter_map(|t| t.resolved_at.map(|r| (r - t.created_at).max(0)))
        .collect()
}

/// Count, average and distribution of the ratings (1–5 stars; other values are ignored).
pub fn rating_stats(tickets: &[Ticket]) -> RatingStats {
    let mut s = RatingStats::default();
    let mut sum = 0u64;
    for r in tickets.iter().filter_map(|t| t.rating) {
        if (1..=5).contains(&r) {
            s.count += 1;
            s.by_stars[usize::from(r) - 1] += 1;
            sum += u64::from(r);
        }
    }
    s.average = (s.count > 0).then(|| sum as f64 / s.count as f64);
    s
}

/// Units issued per SKU by movements with reason `Issue` in `[from, to)`, most first.
pub fn consumption(
    moves: &[StockMove],
    items: &[StockItem],
    from: Timestamp,
    to: Timestamp,
) -> Vec<Consumption> {
    let mut by_sku: HashMap<&str, (i64, usize)> = HashMap::new();
    for m in moves
        .iter()
        .filter(|m| m.reason == MoveReason::Issue && m.at >= from && m.at < to)
    {
        let e = by_sku.entry(m.sku.as_str()).or_default();
        // Issues are stored as negative deltas; count units given out.
        e.0 += m.delta.abs();
        e.1 += 1;
    }
    let mut out: Vec<Consumption> = by_sku
        .into_iter()
        .map(|(sku, (quantity, moves))| Consumption {
            sku: sku.to_string(),
            name: items
                .iter()
                .find(|i| i.sku == sku)
                .map(|i| i.name.clone())
                .unwrap_or_default(),
            quantity,
            moves,
        })
        .collect();
    out.sort_by(|a, b| b.quantity.cmp(&a.quantity).then_with(|| a.sku.cmp(&b.sku)));
    out
}

fn sla_outcome(done: Option<Timestamp>, due: Timestamp, now: Timestamp, c: &mut SlaCount) {
    match done {
        Some(t) if t <= due => c.met += 1,
        Some(_) => c.breached += 1,
        None if now > due => c.breached += 1,
        None => c.pending += 1,
    }
}

/// SLA compliance at `now`; `None` when no ticket has a response or resolution target.
/// Rejected tickets count for the response target only (they are never resolved).
pub fn sla_stats(tickets: &[Ticket], now: Timestamp) -> Option<SlaStats> {
    let mut s = SlaStats::default();
    let mut any = false;
    for t in tickets {
        if let Some(due) = t.response_due {
            any = true;
            sla_outcome(t.first_response_at, due, now, &mut s.response);
        }
        if let Some(due) = t.resolve_due {
            any = true;
            if t.status != TicketStatus::Rejected {
                sla_outcome(t.resolved_at, due, now, &mut s.resolve);
            }
        }
    }
    any.then_some(s)
}

/// Computes a report over tickets created in `[from, to)` (local days `from_day..=to_day`),
/// given the stock movements and items and the current time.
pub fn compute(
    tickets: &[Ticket],
    moves: &[StockMove],
    items: &[StockItem],
    from_day: NaiveDate,
    to_day: NaiveDate,
    tz: Tz,
    now: Timestamp,
) -> Report {
    let from = day_start(from_day, tz);
    let to = day_start(to_day + chrono::Days::new(1), tz);
    let tickets: Vec<Ticket> = tickets
        .iter()
        .filter(|t| t.created_at >= from && t.created_at < to)
        .cloned()
        .collect();
    Report {
        from_day,
        to_day,
        from,
        to,
        tz,
        total: tickets.len(),
        per_day: tickets_per_day(&tickets, tz, from_day, to_day),
        per_category: tickets_per_category(&tickets),
        per_department: tickets_per_department(&tickets),
        first_response: duration_stats(first_response_times(&tickets)),
        resolution: duration_stats(resolution_times(&tickets)),
        ratings: rating_stats(&tickets),
        consumption: consumption(moves, items, from, to),
        sla: sla_stats(&tickets, now),
        tickets_truncated: false,
        moves_truncated: false,
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("cannot build the Excel file: {0}")]
    Xlsx(String),
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
}

impl Service {
    /// Tickets created in `[from, to)` (either end open when `None`), newest first, and
    /// whether there were more than [`TICKET_CAP`].
    pub fn tickets_created_between(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<(Vec<Ticket>, bool)> {
        let filter = TicketFilter {
            created_from: from,
            created_to: to,
            ..TicketFilter::default()
        };
        let page = self.read()?.tickets(&filter, 0, TICKET_CAP)?;
        Ok((page.tickets, page.has_more))
    }

    /// The report for local days `from_day..=to_day` in `tz`.
    pub fn report(&self, from_day: NaiveDate, to_day: NaiveDate, tz: Tz) -> Result<Report> {
        if to_day < from_day {
            return Err(ValidationError::new("from", "must not be after to").into());
        }
        if (to_day - from_day).num_days() >= MAX_DAYS {
            return Err(ValidationError::new(
                "to",
                format!("a report covers at most {MAX_DAYS} days"),
            )
            .into());
        }
        let from = day_start(from_day, tz);
        let to = day_start(to_day + chrono::Days::new(1), tz);
        let tx = self.read()?;
        let filter = TicketFilter {
            created_from: Some(from),
            created_to: Some(to),
            ..TicketFilter::default()
        };
        let page = tx.tickets(&filter, 0, TICKET_CAP)?;
        // The store gives the newest movements only; see MOVES_CAP.
        let moves = tx.stock_moves_recent(MOVES_CAP)?;
        let moves_truncated =
            moves.len() == MOVES_CAP && moves.last().is_some_and(|m| m.at >= from);
        let items = tx.stock_items()?;
        let mut report = compute(
            &page.tickets,
            &moves,
            &items,
            from_day,
            to_day,
            tz,
            self.now(),
        );
        report.tickets_truncated = page.has_more;
        report.moves_truncated = moves_truncated;
        Ok(report)
    }

    /// Writes every ticket created in `[from, to)` (either end open when `None`) to an Excel
    /// file at `path` (through `<path>.partial`, then renamed); times in `tz`, statuses in the
    /// default language. Returns how many tickets were written.
    pub fn export_tickets_xlsx(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        tz: Tz,
        path: &Path,
    ) -> std::result::Result<u64, ExportError> {
        let (tickets, _) = self.tickets_created_between(from, to)?;
        let staff = self.read()?.staff_all().map_err(ServiceError::from)?;
        let bytes = tickets_xlsx(&tickets, &staff, tz, self.config().default_language)?;
        let write_err = |e: std::io::Error| ExportError::Write {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = std::path::PathBuf::from(partial);
        std::fs::write(&partial, &bytes).map_err(write_err)?;
        std::fs::rename(&partial, path).map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            write_err(e)
        })?;
        Ok(tickets.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Actor;

    const TZ: Tz = chrono_tz::Europe::Moscow;

    fn day(s: &str) -> NaiveDate {
        parse_day("d", s).unwrap()
    }

    /// Noon (Moscow) on `d`, plus `secs`.
    fn at(d: &str, secs: i64) -> Timestamp {
        day_start(day(d), TZ) + 12 * 3600 + secs
    }

    fn ticket(id: u64, created: Timestamp) -> Ticket {
        Ticket {
            id,
            requester: Some(1),
            requester_name: "Ivan".into(),
            department: None,
            category: Category::Printer,
            priority: Priority::Normal,
            status: TicketStatus::New,
            assignee: None,
            subject: format!("ticket {id}"),
            description: String::new(),
            order_lines: vec![],
            source: Source::Telegram,
            created_at: created,
            updated_at: created,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
            response_due: None,
            resolve_due: None,
            rejection_reason: None,
            rating: None,
        }
    }

    fn issue(id: u64, at: Timestamp, sku: &str, delta: i64, reason: MoveReason) -> StockMove {
        StockMove {
            id,
            at,
            sku: sku.into(),
            delta,
            reason,
            ticket_id: None,
            actor: Actor::System,
            note: String::new(),
            balance_after: 0,
        }
    }

    #[test]
    fn days_are_local_and_complete() {
        // 23:30 UTC on 1 March is 02:30 on 2 March in Moscow.
        let late = day_start(day("2026-03-02"), TZ) + 2 * 3600 + 1800;
        let ts = [
            ticket(1, at("2026-03-01", 0)),
            ticket(2, late),
            ticket(3, at("2026-03-02", 60)),
            ticket(4, at("2026-03-05", 0)), // after the range
            ticket(5, at("2026-02-28", 0)), // before it
        ];
        let d = tickets_per_day(&ts, TZ, day("2026-03-01"), day("2026-03-03"));
        assert_eq!(
            d,
            vec![
                (day("2026-03-01"), 1),
                (day("2026-03-02"), 2),
                (day("2026-03-03"), 0)
            ]
        );
        assert_eq!(
            day_start(day("2026-03-02"), TZ) - day_start(day("2026-03-01"), TZ),
            86_400
        );
        assert_eq!(local_day(late, TZ), day("2026-03-02"));
        assert!(
            parse_day("from", "2026-13-01")
                .unwrap_err()
                .starts_with("from:")
        );
        assert!(parse_day("to", "yesterday").unwrap_err().starts_with("to:"));
    }

    #[test]
    fn day_start_survives_dst() {
        // Europe/Berlin: 29 March 2026 has 23 hours.
        let tz = chrono_tz::Europe::Berlin;
        let a = day_start(day("2026-03-29"), tz);
        let b = day_start(day("2026-03-30"), tz);
        assert_eq!(b - a, 23 * 3600);
        // America/Santiago skips midnight (00:00 → 01:00) on 6 September 2026.
        let s = chrono_tz::America::Santiago;
        let c = day_start(day("2026-09-06"), s);
        assert_eq!(local_day(c, s), day("2026-09-06"));
    }

    #[test]
    fn categories_and_departments_most_first() {
        let mut ts: Vec<Ticket> = (1..=6).map(|i| ticket(i, at("2026-03-01", 0))).collect();
        ts[0].category = Category::Network;
        ts[1].category = Category::Network;
        ts[2].category = Category::Access;
        ts[0].department = Some("Бухгалтерия".into());
        ts[1].department = Some("Бухгалтерия".into());
        ts[2].department = Some("IT".into());
        ts[3].department = Some("  ".into());
        assert_eq!(
            tickets_per_category(&ts),
            vec![
                (Category::Printer, 3),
                (Category::Network, 2),
                (Category::Access, 1)
            ]
        );
        assert_eq!(
            tickets_per_department(&ts),
            vec![
                (None, 3),
                (Some("Бухгалтерия".into()), 2),
                (Some("IT".into()), 1)
            ]
        );
        ts[4].department = Some("IT".into());
        ts[5].department = Some("IT".into());
        let d = tickets_per_department(&ts);
        assert_eq!(d[0], (Some("IT".into()), 3));
        assert_eq!(d[1], (Some("Бухгалтерия".into()), 2));
        assert_eq!(d[2], (None, 1));
    }

    #[test]
    fn median_and_p90() {
        assert_eq!(duration_stats(vec![]), DurationStats::default());
        assert_eq!(
            duration_stats(vec![7]),
            DurationStats {
                count: 1,
                median: Some(7),
                p90: Some(7)
            }
        );
        let s = duration_stats(vec![40, 10, 30, 20]);
        assert_eq!((s.median, s.p90), (Some(25), Some(40)));
        let s = duration_stats((1..=10).rev().collect());
        assert_eq!((s.median, s.p90), (Some(5), Some(9)));
        let s = duration_stats((1..=100).collect());
        assert_eq!((s.count, s.median, s.p90), (100, Some(50), Some(90)));
        let s = duration_stats((1..=11).collect());
        assert_eq!((s.median, s.p90), (Some(6), Some(10)));
    }

    #[test]
    fn response_and_resolution_times() {
        let t0 = at("2026-03-01", 0);
        let mut a = ticket(1, t0);
        a.first_response_at = Some(t0 + 600);
        a.resolved_at = Some(t0 + 7200);
        let mut b = ticket(2, t0);
        b.first_response_at = Some(t0 + 1800);
        let c = ticket(3, t0);
        let mut d = ticket(4, t0);
        d.first_response_at = Some(t0 - 5); // clock skew never gives a negative time
        let ts = [a, b, c, d];
        assert_eq!(first_response_times(&ts), vec![600, 1800, 0]);
        assert_eq!(resolution_times(&ts), vec![7200]);
        let r = compute(&ts, &[], &[], day("2026-03-01"), day("2026-03-01"), TZ, t0);
        assert_eq!(r.total, 4);
        assert_eq!(r.first_response.median, Some(600));
        assert_eq!(r.first_response.p90, Some(1800));
        assert_eq!(r.resolution.count, 1);
    }

    #[test]
    fn ratings() {
        let t0 = at("2026-03-01", 0);
        let mut ts: Vec<Ticket> = (1..=5).map(|i| ticket(i, t0)).collect();
        ts[0].rating = Some(5);
        ts[1].rating = Some(4);
        ts[2].rating = Some(4);
        ts[3].rating = Some(9); // not a rating
        let r = rating_stats(&ts);
        assert_eq!(r.count, 3);
        assert!((r.average.unwrap() - 13.0 / 3.0).abs() < 1e-9);
        assert_eq!(r.by_stars, [0, 0, 0, 2, 1]);
        assert_eq!(rating_stats(&ts[4..]).average, None);
    }

    #[test]
    fn consumption_counts_issues_in_range_per_sku() {
        let from = at("2026-03-01", 0);
        let to = at("2026-03-10", 0);
        let items = vec![StockItem {
            sku: "CE285A".into(),
            name: "HP 85A".into(),
            kind: StockKind::Cartridge,
            printers: vec![],
            quantity: 3,
            min_level: 1,
            updated_at: from,
        }];
        let moves = vec![
            issue(1, from, "CE285A", -2, MoveReason::Issue),
            issue(2, from + 10, "CE285A", -1, MoveReason::Issue),
            issue(3, from + 20, "Q2612A", -5, MoveReason::Issue),
            issue(4, from + 30, "CE285A", 10, MoveReason::Receipt),
            issue(5, from - 1, "CE285A", -7, MoveReason::Issue),
            issue(6, to, "CE285A", -7, MoveReason::Issue),
            issue(7, from + 40, "CE285A", -4, MoveReason::Adjustment),
        ];
        let c = consumption(&moves, &items, from, to);
        assert_eq!(
            c,
            vec![
                Consumption {
                    sku: "Q2612A".into(),
                    name: String::new(),
                    quantity: 5,
                    moves: 1
                },
                Consumption {
                    sku: "CE285A".into(),
                    name: "HP 85A".into(),
                    quantity: 3,
                    moves: 2
                },
            ]
        );
    }

    #[test]
    fn sla_compliance() {
        let t0 = at("2026-03-01", 0);
        let now = t0 + 10_000;
        let none: Vec<Ticket> = (1..=3).map(|i| ticket(i, t0)).collect();
        assert_eq!(sla_stats(&none, now), None);
        let mut met = ticket(1, t0);
        met.response_due = Some(t0 + 3600);
        met.first_response_at = Some(t0 + 100);
        met.resolve_due = Some(t0 + 7200);
        met.resolved_at = Some(t0 + 7200);
        let mut late = ticket(2, t0);
        late.response_due = Some(t0 + 3600);
        late.first_response_at = Some(t0 + 3601);
        late.resolve_due = Some(t0 + 7200);
        let mut waiting = ticket(3, t0);
        waiting.response_due = Some(now + 1);
        waiting.resolve_due = Some(now + 100);
        let mut rejected = ticket(4, t0);
        rejected.status = TicketStatus::Rejected;
        rejected.resolve_due = Some(t0 + 1);
        let s = sla_stats(&[met, late, waiting, rejected, ticket(5, t0)], now).unwrap();
        assert_eq!(
            s.response,
            SlaCount {
                met: 1,
                breached: 1,
                pending: 1
            }
        );
        assert_eq!(
            s.resolve,
            SlaCount {
                met: 1,
                breached: 1,
                pending: 1
            }
        );
        assert_eq!(s.response.percent(), Some(50.0));
        assert_eq!(SlaCount::default().percent(), None);
    }

    #[test]
    fn service_report_reads_the_range() {
        use crate::service::testing::service;
        let t = service();
        let now = t.svc.now();
        let today = local_day(now, TZ);
        let r = t.svc.report(today, today, TZ).unwrap();
        assert_eq!(r.total, 0);
        assert_eq!(r.per_day, vec![(today, 0)]);
        assert_eq!(r.sla, None);
        let new = NewTicket {
            requester: None,
            requester_name: Some("Caller".into()),
            category: Category::Network,
            priority: Priority::High,
            subject: "No network".into(),
            description: String::new(),
            order: vec![],
            source: Source::Panel,
            idempotency_key: None,
            attachments: vec![],
        };
        t.svc.create_ticket(&Actor::Cli, new).unwrap();
        let r = t
            .svc
            .report(today - chrono::Days::new(29), today, TZ)
            .unwrap();
        assert_eq!(r.total, 1);
        assert_eq!(r.per_day.len(), 30);
        assert_eq!(r.per_day[29], (today, 1));
        assert_eq!(r.per_category, vec![(Category::Network, 1)]);
        let yesterday = today - chrono::Days::new(1);
        assert_eq!(t.svc.report(yesterday, yesterday, TZ).unwrap().total, 0);
        assert!(
            t.svc
                .report(today, today - chrono::Days::new(1), TZ)
                .is_err()
        );
        assert!(
            t.svc
                .report(today - chrono::Days::new(MAX_DAYS as u64), today, TZ)
                .is_err()
        );
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("t.xlsx");
        assert_eq!(t.svc.export_tickets_xlsx(None, None, TZ, &out).unwrap(), 1);
        assert_eq!(&std::fs::read(&out).unwrap()[..2], b"PK");
    }
}
