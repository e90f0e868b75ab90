//! Work the scheduler asks for: SLA reminders and escalations. Each ticket's alerts are sent
//! once: the plan records what was sent in the same transaction as the outbox rows.

use super::*;
use crate::domain::texts::render;

/// What one SLA scan did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlaScan {
    pub reminders: usize,
    pub escalations: usize,
}

impl Service {
    /// Sends the SLA reminders and escalations that are due at the service clock's now.
    pub fn sla_scan(&self) -> Result<SlaScan> {
        let Some(policy) = self.config().sla.clone() else {
            return Ok(SlaScan::default());
        };
        let now = self.now();
        let mut report = SlaScan::default();
        let plans = self.read()?.sla_plans()?;
        for candidate in plans {
            if due_bits(&candidate, None, now).is_empty() {
                continue;
            }
            let mut tx = self.write()?;
            let Some(mut plan) = tx.sla_plan(candidate.ticket_id)? else {
                continue;
            };
            let Some(t) = tx.ticket(plan.ticket_id)? else {
                tx.delete_sla_plan(plan.ticket_id)?;
                self.commit(tx)?;
                continue;
            };
            if !t.status.is_open() {
                tx.delete_sla_plan(t.id)?;
                self.commit(tx)?;
                continue;
            }
            // The clock is paused while the ticket waits for the requester.
            if t.status == TicketStatus::WaitingRequester {
                continue;
            }
            let bits = due_bits(&plan, Some(&t), now);
            if bits.is_empty() {
                continue;
            }
            for (bit, key, due) in bits {
                // A breach makes the matching reminder moot: mark both.
                let breach = matches!(bit, SlaPlan::RESPONSE_BREACHED | SlaPlan::RESOLVE_BREACHED);
                plan.sent |= bit;
                if breach {
                    plan.sent |= bit >> 1;
                }
                let when = chrono::DateTime::from_timestamp(due, 0)
                    .map(|d| {
                        d.with_timezone(&policy.calendar.tz)
                            .format("%d.%m %H:%M")
                            .to_string()
                    })
                    .unwrap_or_default();
                let recipients = self.sla_recipients(&tx, &t, breach)?;
                for (chat_id, lang) in recipients {
                    let text = render(
                        &self.text(&tx, lang, key)?,
                        &[("n", &t.number()), ("subject", &t.subject), ("due", &when)],
                    );
                    tx.add_outbox(
                        now,
                        OutboxMessage::Telegram {
                            chat_id,
                            text,
                            markup: Markup::None,
                            thread_id: None,
                            reply_to: None,
                            media: None,
                        },
                        Some(t.id),
                    )?;
                }
                tx.add_audit(
                    now,
                    &Actor::System,
                    if breach { "sla.breach" } else { "sla.remind" },
                    format!("ticket:{}", t.number()),
                    key.to_string(),
                )?;
                if breach {
                    report.escalations += 1;
                } else {
                    report.reminders += 1;
                }
            }
            tx.put_sla_plan(&plan)?;
            self.commit(tx)?;
        }
        Ok(report)
    }

    /// Who hears of an SLA alert: the assignee (or the staff group when nobody took the
    /// ticket) for a reminder; admins, superadmins and the staff group for a breach.
    fn sla_recipients(
        &self,
        tx: &WriteTx,
        t: &Ticket,
        breach: bool,
    ) -> Result<Vec<(i64, Language)>> {
        let mut out = Vec::new();
        let staff = tx.staff_all()?;
        if breach {
            for s in staff
                .iter()
                .filter(|s| !s.disabled && matches!(s.role, Role::Admin | Role::Superadmin))
            {
                if let Some(id) = s.telegram_id {
                    out.push((id, s.language));
                }
            }
        } else if let Some(a) = t
            .assignee
            .as_deref()
            .and_then(|a| staff.iter().find(|s| s.login == a))
            && let Some(id) = a.telegram_id
        {
            out.push((id, a.language));
        }
        if (breach || out.is_empty()) && self.config().staff_chat_id != 0 {
            out.push((self.config().staff_chat_id, self.config().default_language));
        }
        out.dedup_by_key(|(id, _)| *id);
        Ok(out)
    }
}

/// The alerts of `plan` due at `now` and not yet sent: (bit, text key, due time). With a
/// ticket, phases already done (responded, resolved) are skipped.
fn due_bits(
    plan: &SlaPlan,
    t: Option<&Ticket>,
    now: Timestamp,
) -> Vec<(u8, &'static str, Timestamp)> {
    let mut out = Vec::new();
    let responded = t.is_some_and(|t| t.first_response_at.is_some());
    let resolved = t.is_some_and(|t| t.resolved_at.is_some() && !t.status.is_open());
    let unsent = |bit: u8| plan.sent & bit == 0;
    if !responded {
        if now >= plan.response_due && unsent(SlaPlan::RESPONSE_BREACHED) {
            out.push((
                SlaPlan::RESPONSE_BREACHED,
                "sla.breach_response",
                plan.response_due,
            ));
        } else if now >= plan.response_remind
            && now < plan.response_due
            && unsent(SlaPlan::RESPONSE_REMINDED)
        {
            out.push((
                SlaPlan::RESPONSE_REMINDED,
                "sla.remind_response",
                plan.response_due,
            ));
        }
    }
    if !resolved {
        if now >= plan.resolve_due && unsent(SlaPlan::RESOLVE_BREACHED) {
            out.push((
                SlaPlan::RESOLVE_BREACHED,
                "sla.breach_resolve",
                plan.resolve_due,
            ));
        } else if now >= plan.resolve_remind
            && now < plan.resolve_due
            && unsent(SlaPlan::RESOLVE_REMINDED)
        {
            out.push((
                SlaPlan::RESOLVE_REMINDED,
                "sla.remind_resolve",
                plan.resolve_due,
            ));
        }
    }
    out
}
