//! The outbox from the sender's side: what is due, delivered, to retry, or failed.

use super::*;

/// Retries before a row is marked failed.
pub const MAX_ATTEMPTS: u32 = 12;

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
        self.commit(tx)?;
        Ok(existed)
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
        let Some(mut row) = tx.outbox_row(id)? else {
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
