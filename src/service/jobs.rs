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
    /// Writes the audit row of a panel snapshot or archive download (`action` is
    /// `archive.snapshot` or `archive.download`, `target` the archive's kind/file name): who
    /// took a copy of the whole database must be on record, not only in the log.
    pub fn record_archive_access(&self, actor: &Actor, action: &str, target: &str) -> Result<()> {
        require(actor, Action::ManageArchives, None)?;
        if !matches!(action, "archive.snapshot" | "archive.download") {
            return Err(ServiceError::Conflict(format!(
                "unknown archive action {action}"
            )));
        }
        let mut tx = self.write()?;
        tx.add_audit(self.now(), actor, action, target.to_string(), String::new())?;
        self.commit(tx)
    }
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

impl Service {
    /// A scheduler bookkeeping value (`job.<key>` setting).
    pub fn job_state(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .read()?
            .setting(&format!("job.{key}"))?
            .map(|s| s.value))
    }

    /// Records a scheduler bookkeeping value.
    pub fn set_job_state(&self, key: &str, value: &str) -> Result<()> {
        let now = self.now();
        let mut tx = self.write()?;
        tx.put_setting(&Setting {
            key: format!("job.{key}"),
            value: value.to_string(),
            updated_at: now,
        })?;
        self.commit(tx)?;
        Ok(())
    }

    /// Queues an alert to every superadmin with a linked Telegram account (and by e-mail when
    /// they gave one and e-mail is on), in their language.
    pub fn alert_superadmins(&self, key: &str, args: &[(&str, &str)]) -> Result<usize> {
        let now = self.now();
        let mut tx = self.write()?;
        let n = self.queue_alert(
            &mut tx,
            |s| s.role == Role::Superadmin,
            key,
            args,
            vec![],
            now,
        )?;
        tx.add_audit(
            now,
            &Actor::System,
            "alert",
            key.to_string(),
            args.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
        )?;
        self.commit(tx)?;
        Ok(n)
    }

    /// Queues text `key` to the enabled staff accounts `who` selects; returns how many.
    pub(super) fn queue_alert(
        &self,
        tx: &mut WriteTx,
        who: impl Fn(&Staff) -> bool,
        key: &str,
        args: &[(&str, &str)],
        attach: Vec<EmailAttachment>,
        now: Timestamp,
    ) -> Result<usize> {
        let mut n = 0;
        for s in tx
            .staff_all()?
            .into_iter()
            .filter(|s| !s.disabled && who(s))
        {
            let text = render(&self.text(tx, s.language, key)?, args);
            if let Some(chat_id) = s.telegram_id {
                tx.add_outbox(
                    now,
                    OutboxMessage::Telegram {
                        chat_id,
                        text: text.clone(),
                        markup: Markup::None,
                        thread_id: None,
                        reply_to: None,
                        media: None,
                    },
                    None,
                )?;
                n += 1;
            }
            if let (true, Some(to)) = (self.config().email_enabled, s.email.clone()) {
                let subject: String = text
                    .lines()
                    .next()
                    .unwrap_or("helpdesk")
                    .chars()
                    .take(120)
                    .collect();
                tx.add_outbox(
                    now,
                    OutboxMessage::Email {
                        to,
                        subject,
                        text,
                        html: None,
                        attachments: attach.clone(),
                    },
                    None,
                )?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Records a health check's result; when it changed, alerts the superadmins (once on
    /// failure, once on recovery). Returns true when it changed.
    pub fn record_health(&self, check: &str, ok: bool, detail: &str) -> Result<bool> {
        let key = format!("health.{check}");
        let before = self.read()?.setting(&key)?.map(|s| s.value);
        let was_ok = before.as_deref().is_none_or(|v| v == "ok");
        if was_ok == ok {
            return Ok(false);
        }
        let now = self.now();
        let mut tx = self.write()?;
        let value = if ok {
            "ok".to_string()
        } else {
            format!("fail: {detail}")
        };
        tx.put_setting(&Setting {
            key,
            value,
            updated_at: now,
        })?;
        let text = if ok {
            "alert.health_ok"
        } else {
            "alert.health_fail"
        };
        self.queue_alert(
            &mut tx,
            |s| s.role == Role::Superadmin,
            text,
            &[("check", check), ("detail", detail)],
            vec![],
            now,
        )?;
        tx.add_audit(
            now,
            &Actor::System,
            if ok { "health.ok" } else { "health.fail" },
            check.to_string(),
            detail.to_string(),
        )?;
        self.commit(tx)?;
        Ok(true)
    }

    /// Health checks currently failing: (check, detail).
    pub fn failing_health(&self) -> Result<Vec<(String, String)>> {
        let tx = self.read()?;
        let mut out = Vec::new();
        for check in HEALTH_CHECKS {
            if let Some(s) = tx.setting(&format!("health.{check}"))?
                && let Some(detail) = s.value.strip_prefix("fail: ")
            {
                out.push((check.to_string(), detail.to_string()));
            }
        }
        Ok(out)
    }

    /// Whether a staff account gets the daily digest.
    pub fn digest_subscribed(&self, login: &str) -> Result<bool> {
        Ok(self
            .read()?
            .setting(&format!("digest.{login}"))?
            .is_some_and(|s| s.value == "1"))
    }

    /// Subscribes a staff account to the daily digest or unsubscribes it (oneself, or admins
    /// for anyone).
    pub fn set_digest_subscription(&self, actor: &Actor, login: &str, on: bool) -> Result<()> {
        if !matches!(actor, Actor::Staff { login: me, .. } if me == login) {
            require(actor, Action::ManageStaff, None)?;
        }
        let now = self.now();
        let mut tx = self.write()?;
        if tx.staff(login)?.is_none() {
            return Err(ServiceError::NotFound(format!("staff account '{login}'")));
        }
        tx.put_setting(&Setting {
            key: format!("digest.{login}"),
            value: if on { "1" } else { "0" }.into(),
            updated_at: now,
        })?;
        tx.add_audit(
            now,
            actor,
            if on {
                "digest.subscribe"
            } else {
                "digest.unsubscribe"
            },
            format!("staff:{login}"),
            String::new(),
        )?;
        self.commit(tx)?;
        Ok(())
    }

    /// Queues the digest (open and overdue tickets, yesterday's figures, low stock) to every
    /// subscribed staff member; `date` is the local date shown, `yesterday` the UTC range of
    /// the previous local day.
    pub fn send_digest(&self, date: &str, yesterday: (Timestamp, Timestamp)) -> Result<usize> {
        let now = self.now();
        let mut tx = self.write()?;
        let counts: std::collections::HashMap<TicketStatus, u64> =
            tx.ticket_status_counts()?.into_iter().collect();
        let open: u64 = counts
            .iter()
            .filter(|(s, _)| s.is_open())
            .map(|(_, n)| n)
            .sum();
        let open_filter = crate::store::TicketFilter {
            statuses: TicketStatus::ALL
                .into_iter()
                .filter(|s| s.is_open())
                .collect(),
            ..Default::default()
        };
        let overdue = tx
            .tickets(&open_filter, 0, 100_000)?
            .tickets
            .iter()
            .filter(|t| t.resolve_due.is_some_and(|d| d < now))
            .count();
        let changed = tx.tickets_updated_between(yesterday.0, yesterday.1)?;
        let created = changed
            .iter()
            .filter(|t| (yesterday.0..yesterday.1).contains(&t.created_at))
            .count();
        let resolved = changed
            .iter()
            .filter(|t| {
                t.resolved_at
                    .is_some_and(|r| (yesterday.0..yesterday.1).contains(&r))
            })
            .count();
        let low: Vec<String> = tx
            .stock_items()?
            .into_iter()
            .filter(|i| i.is_low())
            .map(|i| format!("{} ({})", i.name, i.quantity))
            .collect();
        let subscribed: Vec<String> = tx
            .staff_all()?
            .into_iter()
            .filter(|s| {
                tx.setting(&format!("digest.{}", s.login))
                    .ok()
                    .flatten()
                    .is_some_and(|v| v.value == "1")
            })
            .map(|s| s.login)
            .collect();
        let args_owned = [
            ("date", date.to_string()),
            ("open", open.to_string()),
            (
                "new",
                counts
                    .get(&TicketStatus::New)
                    .copied()
                    .unwrap_or(0)
                    .to_string(),
            ),
            (
                "in_progress",
                counts
                    .get(&TicketStatus::InProgress)
                    .copied()
                    .unwrap_or(0)
                    .to_string(),
            ),
            ("overdue", overdue.to_string()),
            ("created", created.to_string()),
            ("resolved", resolved.to_string()),
            (
                "low",
                if low.is_empty() {
                    "—".to_string()
                } else {
                    low.join(", ")
                },
            ),
        ];
        let args: Vec<(&str, &str)> = args_owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let open_tickets = tx.tickets(&open_filter, 0, 100_000)?.tickets;
        let xlsx = tickets_xlsx(&open_tickets).map_err(|e| {
            ServiceError::Conflict(format!("cannot build the digest spreadsheet: {e}"))
        })?;
        let attach = vec![EmailAttachment {
            name: format!("open-tickets-{date}.xlsx"),
            mime: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into(),
            data: xlsx,
        }];
        let n = self.queue_alert(
            &mut tx,
            |s| subscribed.contains(&s.login),
            "digest",
            &args,
            attach,
            now,
        )?;
        tx.add_audit(
            now,
            &Actor::System,
            "digest.send",
            date.to_string(),
            format!("{n} messages"),
        )?;
        self.commit(tx)?;
        Ok(n)
    }
}

/// The health checks, by name.
pub const HEALTH_CHECKS: &[&str] = &[
    "disk", "database", "data_dir", "snapshot", "archive", "clock", "telegram", "outbox", "smtp",
    "onec",
];

/// A spreadsheet of tickets (number, created, status, priority, category, requester,
/// department, assignee, subject, due), for digests.
pub fn tickets_xlsx(tickets: &[Ticket]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("tickets")?;
    let head = [
        "#",
        "created (UTC)",
        "status",
        "priority",
        "category",
        "requester",
        "department",
        "assignee",
        "subject",
        "resolve due (UTC)",
    ];
    for (c, h) in head.iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    let fmt = |t: Option<Timestamp>| {
        t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    };
    for (i, t) in tickets.iter().enumerate() {
        let r = (i + 1) as u32;
        let cells = [
            t.number(),
            fmt(Some(t.created_at)),
            t.status.as_str().to_string(),
            t.priority.as_str().to_string(),
            t.category.as_str().to_string(),
            t.requester_name.clone(),
            t.department.clone().unwrap_or_default(),
            t.assignee.clone().unwrap_or_default(),
            t.subject.clone(),
            fmt(t.resolve_due),
        ];
        for (c, v) in cells.iter().enumerate() {
            ws.write_string(r, c as u16, v)?;
        }
    }
    wb.save_to_buffer()
}
