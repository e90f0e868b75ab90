//! The outbox from the sender's side: what is due, in flight, delivered, to retry, or failed.
//!
//! Crash safety: the sender delivers one row at a time, and before each call to Telegram or
//! the SMTP server it durably records that row as in flight ([`Service::outbox_claim`]). The
//! transaction that records the outcome (delivered, retry, failed) clears the mark. A mark
//! still present at start-up means the process died while the far side may or may not have
//! taken the message: [`Service::outbox_recover_in_flight`] then gives a message to a person
//! up as failed ("uncertain", visible and retryable) instead of resending it blindly, so a
//! crash never sends a requester the same message twice. A ticket card is re-queued instead:
//! it is rendered at delivery time and edited in place once recorded, and a lost card would
//! hide a ticket from the staff.

use super::*;

/// Retries before a row is marked failed.
pub const MAX_ATTEMPTS: u32 = 12;

/// Settings key naming the outbox row whose delivery call is under way.
pub const IN_FLIGHT_KEY: &str = "outbox.in_flight";

/// The error recorded on a row whose delivery a crash interrupted.
pub const UNCERTAIN_ERROR: &str = "delivery uncertain: the server stopped while sending; not \
     resent automatically so that nobody gets it twice (retry it if it did not arrive)";

/// What start-up found in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InFlight {
    /// A message to a person: marked failed as uncertain.
    Uncertain(u64),
    /// A ticket card: queued again.
    Requeued(u64),
    /// The mark named a row that no longer exists; cleared.
    Gone(u64),
}

/// Clears the in-flight mark when it names row `id` (inside the outcome's transaction).
pub(super) fn release_claim(tx: &mut WriteTx, id: u64) -> Result<()> {
    if let Some(s) = tx.setting(IN_FLIGHT_KEY)?
        && s.value == id.to_string()
    {
        tx.delete_setting(IN_FLIGHT_KEY)?;
    }
    Ok(())
}

impl Service {
    /// Rows due for delivery now, oldest first.
    pub fn outbox_due(&self, limit: usize) -> Result<Vec<OutboxRow>> {
        Ok(self.read()?.outbox_due(self.now(), limit)?)
    }

    /// Deletes a delivered row. Delivering the same row twice is harmless: the second call
    /// finds nothing.
    pub fn outbox_delivered(&self, id: u64) -> Result<bool> {
        let mut tx = self.write()?;
        let existed = tx.delete_outbox(id)?;
        release_claim(&mut tx, id)?;
        self.commit(tx)?;
        Ok(existed)
    }

    /// Durably marks row `id` as being sent, before the call to the far side. The sender
    /// delivers one row at a time, so one mark is enough; a new claim replaces an old one.
    pub fn outbox_claim(&self, id: u64) -> Result<()> {
        let now = self.now();
        let mut tx = self.write()?;
        tx.put_setting(&Setting {
            key: IN_FLIGHT_KEY.into(),
            value: id.to_string(),
            updated_at: now,
        })?;
        self.commit(tx)?;
        Ok(())
    }

    /// Settles a delivery that a crash interrupted (call once, before the sender's first
    /// pass): a message to a person is marked failed as uncertain rather than sent twice; a
    /// ticket card is queued again. Returns what was found, if anything.
    pub fn outbox_recover_in_flight(&self) -> Result<Option<InFlight>> {
        let now = self.now();
        let mut tx = self.write()?;
        let Some(mark) = tx.setting(IN_FLIGHT_KEY)? else {
            return Ok(None);
        };
        tx.delete_setting(IN_FLIGHT_KEY)?;
        let Ok(id) = mark.value.parse::<u64>() else {
            self.commit(tx)?;
            return Ok(None);
        };
        let found = match tx.outbox_row(id)? {
            None => InFlight::Gone(id),
            Some(row) if matches!(row.message, OutboxMessage::TicketCard { .. }) => {
                InFlight::Requeued(id)
            }
            Some(mut row) => {
                row.attempts += 1;
                row.failed = true;
                row.last_error = Some(UNCERTAIN_ERROR.into());
                tx.put_outbox(&row)?;
                tx.add_audit(
                    now,
                    &Actor::System,
                    "outbox.uncertain",
                    format!("outbox:{id}"),
                    "interrupted while sending; not resent".into(),
                )?;
                InFlight::Uncertain(id)
            }
        };
        self.commit(tx)?;
        Ok(Some(found))
    }

    /// Records a failed attempt: retries with exponential back-off (or at `retry_at` when the
    /// far side said when), and marks the row failed after [`MAX_ATTEMPTS`] or when `permanent`.
    pub fn outbox_attempt_failed(
        &self,
        id: u64,
        error: &str,
        retry_at: Option<Timestamp>,
        permanent: bool,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.write()?;
        release_claim(&mut tx, id)?;
        let Some(mut row) = tx.outbox_row(id)? else {
            self.commit(tx)?;
            return Ok(());
        };
        row.attempts += 1;
        row.last_error = Some(error.chars().take(500).collect());
        if permanent || row.attempts >= MAX_ATTEMPTS {
            row.failed = true;
            tx.add_audit(
                now,
                &Actor::System,
                "outbox.failed",
                format!("outbox:{id}"),
                error.chars().take(200).collect(),
            )?;
        } else {
            let backoff = 2i64.pow(row.attempts.min(10)).min(3600);
            row.next_attempt_at = retry_at.unwrap_or(now + backoff).max(now);
        }
        tx.put_outbox(&row)?;
        self.commit(tx)?;
        Ok(())
    }

    /// Puts a failed row back in the queue.
    pub fn outbox_retry(&self, actor: &Actor, id: u64) -> Result<()> {
        require(actor, Action::EditSettings, None)?;
        let now = self.now();
        let mut tx = self.write()?;
        let mut row = tx
            .outbox_row(id)?
            .ok_or_else(|| ServiceError::NotFound(format!("outbox row {id}")))?;
        row.failed = false;
        row.attempts = 0;
        row.next_attempt_at = now;
        tx.put_outbox(&row)?;
        tx.add_audit(
            now,
            actor,
            "outbox.retry",
            format!("outbox:{id}"),
            String::new(),
        )?;
        self.commit(tx)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{TestService, service};
    use super::*;
    use crate::store::{Reads, Store};

    const REQ: i64 = 1001;

    /// A service with one requester and one ticket: returns (confirmation row, card row).
    fn with_ticket() -> (TestService, u64, u64) {
        let t = service();
        t.svc
            .register_requester(REQ, "Иван Петров", None, None, Some(Language::Ru), None)
            .unwrap();
        t.svc
            .create_ticket(
                &Actor::Requester { tg_id: REQ },
                NewTicket {
                    requester: Some(REQ),
                    requester_name: None,
                    category: Category::Printer,
                    priority: Priority::Normal,
                    subject: "Принтер".into(),
                    description: "Не печатает".into(),
                    order: vec![],
                    source: Source::Telegram,
                    idempotency_key: None,
                    attachments: vec![],
                },
            )
            .unwrap();
        let due = t.svc.outbox_due(10).unwrap();
        let text = due
            .iter()
            .find(|r| matches!(r.message, OutboxMessage::Telegram { chat_id: REQ, .. }))
            .expect("confirmation queued")
            .id;
        let card = due
            .iter()
            .find(|r| matches!(r.message, OutboxMessage::TicketCard { .. }))
            .expect("card queued")
            .id;
        (t, text, card)
    }

    /// Simulates a crash and a restart: the service is dropped without any clean-up and the
    /// store is opened again from the same folder.
    fn restart(t: TestService) -> TestService {
        let TestService { svc, clock, _dir } = t;
        let cfg = svc.config().clone();
        drop(svc);
        let store = Store::open(_dir.path()).unwrap();
        TestService {
            svc: Service::new(store, clock.clone(), cfg),
            clock,
            _dir,
        }
    }

    fn mark(t: &TestService) -> Option<String> {
        t.svc
            .read()
            .unwrap()
            .setting(IN_FLIGHT_KEY)
            .unwrap()
            .map(|s| s.value)
    }

    #[test]
    fn every_outcome_clears_the_in_flight_mark() {
        let (t, text, card) = with_ticket();
        t.svc.outbox_claim(text).unwrap();
        assert_eq!(mark(&t), Some(text.to_string()));
        t.svc.outbox_delivered_logged(text, REQ, "hi").unwrap();
        assert_eq!(mark(&t), None, "delivered clears it");
        t.svc.outbox_claim(card).unwrap();
        t.svc
            .outbox_attempt_failed(card, "502 Bad Gateway", None, false)
            .unwrap();
        assert_eq!(mark(&t), None, "a retry clears it");
        t.svc.outbox_claim(card).unwrap();
        t.svc.outbox_delivered(card).unwrap();
        assert_eq!(mark(&t), None);
        let t = restart(t);
        assert_eq!(t.svc.outbox_recover_in_flight().unwrap(), None);
    }

    #[test]
    fn a_message_in_flight_at_a_crash_is_flagged_not_resent() {
        let (t, text, card) = with_ticket();
        t.svc.outbox_claim(text).unwrap();
        let t = restart(t);
        assert_eq!(
            t.svc.outbox_recover_in_flight().unwrap(),
            Some(InFlight::Uncertain(text))
        );
        let due: Vec<u64> = t.svc.outbox_due(10).unwrap().iter().map(|r| r.id).collect();
        assert_eq!(due, vec![card], "the uncertain message is not due again");
        let tx = t.svc.read().unwrap();
        let row = tx.outbox_row(text).unwrap().expect("kept visible");
        assert!(row.failed);
        assert_eq!(row.last_error.as_deref(), Some(UNCERTAIN_ERROR));
        assert_eq!(tx.outbox_counts().unwrap(), (1, 1));
        assert!(tx.setting(IN_FLIGHT_KEY).unwrap().is_none());
        assert!(
            tx.audit_recent(10)
                .unwrap()
                .iter()
                .any(|a| a.action == "outbox.uncertain")
        );
        drop(tx);
        assert_eq!(
            t.svc.outbox_recover_in_flight().unwrap(),
            None,
            "settled once"
        );
        // An operator who finds it did not arrive can send it again.
        t.svc
            .outbox_retry(
                &Actor::Staff {
                    login: "anna".into(),
                    role: Role::Admin,
                },
                text,
            )
            .unwrap();
        assert_eq!(t.svc.outbox_due(10).unwrap().len(), 2);
    }

    #[test]
    fn a_card_in_flight_at_a_crash_is_queued_again() {
        let (t, _text, card) = with_ticket();
        t.svc.outbox_claim(card).unwrap();
        let t = restart(t);
        assert_eq!(
            t.svc.outbox_recover_in_flight().unwrap(),
            Some(InFlight::Requeued(card))
        );
        assert!(t.svc.outbox_due(10).unwrap().iter().any(|r| r.id == card));
        assert_eq!(mark(&t), None);
    }

    #[test]
    fn a_mark_for_a_delivered_row_is_just_cleared() {
        let (t, text, _card) = with_ticket();
        t.svc.outbox_claim(text).unwrap();
        // Another path deleted the row without going through the sender's outcome.
        let mut tx = t.svc.write().unwrap();
        tx.delete_outbox(text).unwrap();
        t.svc.commit(tx).unwrap();
        assert_eq!(mark(&t), Some(text.to_string()));
        assert_eq!(
            t.svc.outbox_recover_in_flight().unwrap(),
            Some(InFlight::Gone(text))
        );
        assert_eq!(mark(&t), None);
    }
}
