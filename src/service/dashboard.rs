//! What the panel's dashboard shows: open tickets by status and priority, SLA breaches and
//! tickets about to breach, low stock, today's activity and the last two weeks in numbers.
//!
//! Everything is read from indexes (tickets by status, tickets by time of change), so the
//! dashboard costs the same with 100 or 100,000 tickets in the database.

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::domain::{Priority, StockItem, Ticket, TicketStatus, Timestamp};
use crate::store::{Reads, TicketFilter};

use super::reports::{day_start, local_day};
use super::{Result, Service};

/// A ticket whose target falls within this many seconds counts as about to breach.
pub const SOON_SECS: i64 = 2 * 3600;
/// Days in the activity chart (today included).
pub const CHART_DAYS: i64 = 14;
/// Most open tickets looked at (beyond that the lists say so).
const OPEN_CAP: usize = 20_000;
/// Most tickets listed as breached or about to breach.
const LIST_CAP: usize = 20;

/// An SLA target that is missed or close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaAlert {
    pub ticket: Ticket,
    /// The first response (not the resolution) is the target at stake.
    pub first_response: bool,
    pub due: Timestamp,
}

/// One day of the activity chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayActivity {
    pub day: NaiveDate,
    pub created: u64,
    pub resolved: u64,
}

/// The dashboard's facts.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardFacts {
    pub by_status: Vec<(TicketStatus, u64)>,
    /// Open tickets per priority, highest first.
    pub open_by_priority: Vec<(Priority, u64)>,
    /// Targets already missed, most overdue first.
    pub breached: Vec<SlaAlert>,
    pub breached_total: usize,
    /// Targets due within [`SOON_SECS`], soonest first.
    pub soon: Vec<SlaAlert>,
    pub soon_total: usize,
    pub low_stock: Vec<StockItem>,
    pub created_today: u64,
    pub resolved_today: u64,
    /// Tickets changed today (replies, notes, status changes …).
    pub changed_today: u64,
    /// The last [`CHART_DAYS`] days, oldest first.
    pub days: Vec<DayActivity>,
    /// More than the cap of open tickets: counts are of the newest.
    pub truncated: bool,
}

/// The target at stake for an open ticket: the first response while none was given, then
/// the resolution.
fn target(t: &Ticket) -> Option<(bool, Timestamp)> {
    if t.first_response_at.is_none()
        && let Some(d) = t.response_due
    {
        return Some((true, d));
    }
    t.resolve_due.map(|d| (false, d))
}

type Classified = (Vec<(Priority, u64)>, Vec<SlaAlert>, Vec<SlaAlert>);

/// Open tickets per priority (highest first), breached targets (most overdue first) and
/// targets due within [`SOON_SECS`] (soonest first).
fn classify(open: Vec<Ticket>, now: Timestamp) -> Classified {
    let mut by_priority: Vec<(Priority, u64)> =
        Priority::ALL.iter().rev().map(|p| (*p, 0)).collect();
    let mut breached = Vec::new();
    let mut soon = Vec::new();
    for t in open {
        if let Some(slot) = by_priority.iter_mut().find(|(p, _)| *p == t.priority) {
            slot.1 += 1;
        }
        if let Some((first_response, due)) = target(&t) {
            let alert = SlaAlert {
                ticket: t,
                first_response,
                due,
            };
            if due < now {
                breached.push(alert);
            } else if due - now <= SOON_SECS {
                soon.push(alert);
            }
        }
    }
    breached.sort_by_key(|a| (a.due, a.ticket.id));
    soon.sort_by_key(|a| (a.due, a.ticket.id));
    (by_priority, breached, soon)
}

impl Service {
    /// The dashboard at `now`, days counted in `tz`.
    pub fn dashboard(&self, tz: Tz) -> Result<DashboardFacts> {
        let now = self.now();
        let tx = self.read()?;
        let by_status = tx.ticket_status_counts()?;
        let open = TicketFilter {
            statuses: TicketStatus::ALL
                .into_iter()
                .filter(|s| s.is_open())
                .collect(),
            ..Default::default()
        };
        let mut open_tickets = Vec::new();
        let mut truncated = false;
        for s in &open.statuses {
            let f = TicketFilter {
                statuses: vec![*s],
                ..Default::default()
            };
            let page = tx.tickets(&f, 0, OPEN_CAP)?;
            truncated |= page.has_more;
            open_tickets.extend(page.tickets);
        }
        let (open_by_priority, mut breached, mut soon) = classify(open_tickets, now);
        let (breached_total, soon_total) = (breached.len(), soon.len());
        breached.truncate(LIST_CAP);
        soon.truncate(LIST_CAP);

        let today = local_day(now, tz);
        let first = today - chrono::Duration::days(CHART_DAYS - 1);
        let mut days: Vec<DayActivity> = first
            .iter_days()
            .take(CHART_DAYS as usize)
            .map(|day| DayActivity {
                day,
                created: 0,
                resolved: 0,
            })
            .collect();
        let today_start = day_start(today, tz);
        let mut changed_today = 0;
        // Every ticket created or resolved in the window changed in it.
        for t in tx.tickets_updated_between(day_start(first, tz), now + 1)? {
            if t.updated_at >= today_start {
                changed_today += 1;
            }
            let mut count = |at: Timestamp, resolved: bool| {
                let i = (local_day(at, tz) - first).num_days();
                if let Some(d) = usize::try_from(i).ok().and_then(|i| days.get_mut(i)) {
                    if resolved {
                        d.resolved += 1;
                    } else {
                        d.created += 1;
                    }
                }
            };
            count(t.created_at, false);
            if let Some(r) = t.resolved_at {
                count(r, true);
            }
        }
        let last = days.last().copied();
        let low_stock = tx
            .stock_items()?
            .into_iter()
            .filter(|i| i.is_low())
            .collect();
        Ok(DashboardFacts {
            by_status,
            open_by_priority,
            breached,
            breached_total,
            soon,
            soon_total,
            low_stock,
            created_today: last.map_or(0, |d| d.created),
            resolved_today: last.map_or(0, |d| d.resolved),
            changed_today,
            days,
            truncated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Actor, Category, Role, Source};
    use crate::service::NewTicket;
    use crate::service::testing::service;

    fn admin() -> Actor {
        Actor::Staff {
            login: "anna".into(),
            role: Role::Admin,
        }
    }

    fn file(svc: &Service, priority: Priority) -> Ticket {
        svc.create_ticket(
            &admin(),
            NewTicket {
                requester: None,
                requester_name: Some("Звонок".into()),
                category: Category::Hardware,
                priority,
                subject: "Не включается".into(),
                description: String::new(),
                order: vec![],
                source: Source::Panel,
                idempotency_key: None,
                attachments: vec![],
            },
        )
        .unwrap()
    }

    #[test]
    fn counts_priorities_today_and_the_two_weeks() {
        let t = service();
        let svc = &t.svc;
        let tz = chrono_tz::Europe::Moscow;
        file(svc, Priority::Low);
        t.clock.advance(-3 * 86_400);
        let old = file(svc, Priority::High);
        t.clock.advance(3 * 86_400);
        file(svc, Priority::High);
        svc.change_status(&admin(), old.id, crate::domain::TicketAction::Take)
            .unwrap();
        svc.change_status(&admin(), old.id, crate::domain::TicketAction::Resolve)
            .unwrap();
        let d = svc.dashboard(tz).unwrap();
        assert_eq!(d.days.len(), CHART_DAYS as usize);
        assert_eq!(d.created_today, 2);
        assert_eq!(d.resolved_today, 1);
        assert_eq!(d.changed_today, 3);
        let three_days_ago = d.days[d.days.len() - 4];
        assert_eq!((three_days_ago.created, three_days_ago.resolved), (1, 0));
        assert_eq!(d.days.iter().map(|d| d.created).sum::<u64>(), 3);
        assert_eq!(
            d.open_by_priority[1],
            (Priority::High, 1),
            "resolved is not open"
        );
        assert_eq!(d.open_by_priority[3], (Priority::Low, 1));
        assert!(!d.truncated);
    }

    #[test]
    fn first_response_then_resolution_targets_are_breached_or_soon() {
        let t = service();
        let now = t.svc.now();
        let base = file(&t.svc, Priority::Normal);
        let with = |id: u64, response: Option<i64>, first: Option<i64>, resolve: Option<i64>| {
            let mut tk = base.clone();
            tk.id = id;
            tk.response_due = response;
            tk.first_response_at = first;
            tk.resolve_due = resolve;
            tk
        };
        let (_, breached, soon) = classify(
            vec![
                with(1, Some(now - 60), None, Some(now + 86_400)), // no answer yet: late
                with(2, Some(now - 60), Some(now - 120), Some(now + 600)), // answered; soon
                with(3, None, None, Some(now - 7_200)),            // resolution late
                with(4, None, None, Some(now + SOON_SECS + 1)),    // fine
                with(5, None, None, None),                         // no SLA
            ],
            now,
        );
        let ids = |v: &[SlaAlert]| {
            v.iter()
                .map(|a| (a.ticket.id, a.first_response))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(&breached),
            vec![(3, false), (1, true)],
            "most overdue first"
        );
        assert_eq!(ids(&soon), vec![(2, false)]);
    }
}
