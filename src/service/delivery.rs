//! Bookkeeping of the Telegram side: where ticket cards are, saved dialogues, the message log.
//!
//! These record delivery facts rather than business changes, so they write no audit entry.

use super::*;

impl Service {
    /// Remembers where a ticket's card is in the staff group.
    pub fn record_card(&self, card: CardRef) -> Result<()> {
        let mut tx = self.write()?;
        tx.put_ticket_card(&card)?;
        tx.commit()?;
        Ok(())
    }

    /// Saves a bot dialogue (JSON) for a chat.
    pub fn save_dialog(&self, chat_id: i64, state: String) -> Result<()> {
        let mut tx = self.write()?;
        tx.put_dialog(&DialogRow { chat_id, state })?;
        tx.commit()?;
        Ok(())
    }

    /// Forgets a chat's dialogue; true when there was one.
    pub fn remove_dialog(&self, chat_id: i64) -> Result<bool> {
        let mut tx = self.write()?;
        let existed = tx.delete_dialog(chat_id)?;
        tx.commit()?;
        Ok(existed)
    }

    /// Appends to the message log.
    pub fn log_message(&self, direction: Direction, chat_id: i64, user_id: Option<i64>, text: &str) -> Result<u64> {
        let now = self.now();
        let mut tx = self.write()?;
        let id = tx.add_message_log(MessageLog {
            id: 0,
            at: now,
            direction,
            chat_id,
            user_id,
            text: text.chars().take(4096).collect(),
        })?;
        tx.commit()?;
        Ok(id)
    }

    /// Marks an outbox row delivered and logs the outgoing message in the same transaction.
    pub fn outbox_delivered_logged(&self, id: u64, chat_id: i64, text: &str) -> Result<bool> {
        let now = self.now();
        let mut tx = self.write()?;
        let existed = tx.delete_outbox(id)?;
        tx.add_message_log(MessageLog {
            id: 0,
            at: now,
            direction: Direction::Out,
            chat_id,
            user_id: None,
            text: text.chars().take(4096).collect(),
        })?;
        tx.commit()?;
        Ok(existed)
    }
}
