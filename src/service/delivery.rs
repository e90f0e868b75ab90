//! Bookkeeping of the Telegram side: where ticket cards are, saved dialogues, the message log.
//!
//! These record delivery facts rather than business changes, so they write no audit entry.

use super::*;

/// A broadcast's text as it will be sent: browser line breaks (CR LF) become LF, then the rule
/// for message texts (trimmed, no control characters; 1–4096 characters, or up to 1024 as a
/// media caption, which may be empty).
fn broadcast_text(text: &str, with_media: bool) -> Result<String> {
    let max = if with_media {
        1024
    } else {
        crate::domain::validate::MAX_TEXT
    };
    Ok(crate::domain::validate::text(
        "text",
        &text.replace("\r\n", "\n"),
        if with_media { 0 } else { 1 },
        max,
    )?)
}

impl Service {
    /// What [`Service::broadcast`] would send and to how many requesters (active, not
    /// blocked), without sending: the same permission and text rules.
    pub fn broadcast_preview(
        &self,
        actor: &Actor,
        text: &str,
        with_media: bool,
    ) -> Result<(String, u64)> {
        require(actor, Action::Broadcast, None)?;
        let text = broadcast_text(text, with_media)?;
        Ok((text, self.broadcast_recipients()?))
    }

    /// How many requesters a broadcast reaches now.
    pub fn broadcast_recipients(&self) -> Result<u64> {
        Ok(self
            .read()?
            .requesters()?
            .iter()
            .filter(|r| r.active && !r.blocked)
            .count() as u64)
    }

    /// Remembers where a ticket's card is in the staff group.
    pub fn record_card(&self, card: CardRef) -> Result<()> {
        let mut tx = self.write()?;
        tx.put_ticket_card(&card)?;
        self.commit(tx)?;
        Ok(())
    }

    /// Saves a bot dialogue (JSON) for a chat.
    pub fn save_dialog(&self, chat_id: i64, state: String) -> Result<()> {
        let mut tx = self.write()?;
        tx.put_dialog(&DialogRow { chat_id, state })?;
        self.commit(tx)?;
        Ok(())
    }

    /// Forgets a chat's dialogue; true when there was one.
    pub fn remove_dialog(&self, chat_id: i64) -> Result<bool> {
        let mut tx = self.write()?;
        let existed = tx.delete_dialog(chat_id)?;
        self.commit(tx)?;
        Ok(existed)
    }

    /// Appends to the message log.
    pub fn log_message(
        &self,
        direction: Direction,
        chat_id: i64,
        user_id: Option<i64>,
        text: &str,
    ) -> Result<u64> {
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
        self.commit(tx)?;
        Ok(id)
    }

    /// Marks an outbox row delivered and logs the outgoing message in the same transaction.
    pub fn outbox_delivered_logged(&self, id: u64, chat_id: i64, text: &str) -> Result<bool> {
        let now = self.now();
        let mut tx = self.write()?;
        let existed = tx.delete_outbox(id)?;
        super::outbox::release_claim(&mut tx, id)?;
        tx.add_message_log(MessageLog {
            id: 0,
            at: now,
            direction: Direction::Out,
            chat_id,
            user_id: None,
            text: text.chars().take(4096).collect(),
        })?;
        self.commit(tx)?;
        Ok(existed)
    }
}

impl Service {
    /// Queues a bot message with an optional photo or document (a broadcast preview).
    pub fn queue_telegram(
        &self,
        chat_id: i64,
        text: &str,
        markup: Markup,
        media: Option<Media>,
    ) -> Result<u64> {
        if media.is_none() {
            return self.send_message(chat_id, text, markup, None, None);
        }
        let now = self.now();
        let mut tx = self.write()?;
        let text: String = text.chars().take(1024).collect();
        let id = tx.add_outbox(
            now,
            OutboxMessage::Telegram {
                chat_id,
                text,
                markup,
                thread_id: None,
                reply_to: None,
                media,
            },
            None,
        )?;
        self.commit(tx)?;
        Ok(id)
    }

    /// Queues a bot message (a reply or prompt) for delivery.
    pub fn send_message(
        &self,
        chat_id: i64,
        text: &str,
        markup: Markup,
        thread_id: Option<i64>,
        reply_to: Option<i64>,
    ) -> Result<u64> {
        let text = fit_message(text);
        if text.trim().is_empty() {
            return Err(ValidationError::new("text", "must not be empty").into());
        }
        let now = self.now();
        let mut tx = self.write()?;
        let id = tx.add_outbox(
            now,
            OutboxMessage::Telegram {
                chat_id,
                text,
                markup,
                thread_id,
                reply_to,
                media: None,
            },
            None,
        )?;
        self.commit(tx)?;
        Ok(id)
    }

    /// The urgent ("server room") alarm: alerts the staff group and every staff member with a
    /// linked Telegram account at once. Refused with the seconds left while the requester's
    /// previous call is younger than `cooldown`.
    pub fn urgent_call(&self, tg_id: i64, cooldown: i64) -> Result<Result<(), i64>> {
        let now = self.now();
        let mut tx = self.write()?;
        let r = tx
            .requester(tg_id)?
            .ok_or_else(|| ServiceError::NotFound(format!("requester {tg_id}")))?;
        if r.blocked {
            return Err(ServiceError::Forbidden("this requester is blocked".into()));
        }
        let key = format!("flood.urgent.{tg_id}");
        if let Some(last) = tx.setting(&key)?.and_then(|s| s.value.parse::<i64>().ok())
            && now - last < cooldown
        {
            return Ok(Err(cooldown - (now - last)));
        }
        tx.put_setting(&Setting {
            key,
            value: now.to_string(),
            updated_at: now,
        })?;
        let mut chats: Vec<(i64, Language)> = tx
            .staff_all()?
            .into_iter()
            .filter(|s| !s.disabled)
            .filter_map(|s| s.telegram_id.map(|id| (id, s.language)))
            .collect();
        if self.config().staff_chat_id != 0 {
            chats.push((self.config().staff_chat_id, self.config().default_language));
        }
        for (chat_id, lang) in chats {
            let text = self.text_with(
                &tx,
                lang,
                "bot.urgent_alert",
                &[
                    ("name", &r.name),
                    ("phone", r.phone.as_deref().unwrap_or("-")),
                    ("department", r.department.as_deref().unwrap_or("-")),
                ],
            )?;
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
                None,
            )?;
        }
        tx.add_audit(
            now,
            &Actor::Requester { tg_id },
            "urgent.call",
            format!("user:{tg_id}"),
            String::new(),
        )?;
        self.commit(tx)?;
        Ok(Ok(()))
    }
}

/// Cuts a text to Telegram's 4096 characters, marking the cut.
pub fn fit_message(text: &str) -> String {
    const MAX: usize = 4096;
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    let mut s: String = text.chars().take(MAX - 1).collect();
    s.push('…');
    s
}

/// How far a broadcast has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BroadcastProgress {
    pub total: u64,
    pub delivered: u64,
    pub failed: u64,
    pub pending: u64,
}

impl Service {
    /// Queues `text` (with an optional photo or document) to every active, unblocked requester
    /// in one transaction; returns the broadcast's id and how many messages were queued.
    pub fn broadcast(&self, actor: &Actor, text: &str, media: Option<Media>) -> Result<(u64, u64)> {
        require(actor, Action::Broadcast, None)?;
        let text = broadcast_text(text, media.is_some())?;
        let now = self.now();
        let mut tx = self.write()?;
        let batch = tx.next_id(crate::store::Seq::Broadcast)?;
        let mut n = 0;
        for r in tx.requesters()? {
            if !r.active || r.blocked {
                continue;
            }
            let message = OutboxMessage::Telegram {
                chat_id: r.tg_id,
                text: text.clone(),
                markup: Markup::None,
                thread_id: None,
                reply_to: None,
                media: media.clone(),
            };
            tx.add_outbox_in_batch(now, message, batch)?;
            n += 1;
        }
        tx.put_setting(&Setting {
            key: format!("broadcast.{batch}.total"),
            value: n.to_string(),
            updated_at: now,
        })?;
        tx.add_audit(
            now,
            actor,
            "broadcast.send",
            format!("broadcast:{batch}"),
            format!("{n} recipients"),
        )?;
        self.commit(tx)?;
        Ok((batch, n))
    }

    /// Progress of broadcast `batch`.
    pub fn broadcast_progress(&self, batch: u64) -> Result<BroadcastProgress> {
        let tx = self.read()?;
        let total = tx
            .setting(&format!("broadcast.{batch}.total"))?
            .and_then(|s| s.value.parse().ok())
            .ok_or_else(|| ServiceError::NotFound(format!("broadcast {batch}")))?;
        let (pending, failed) = tx.outbox_batch_counts(batch)?;
        Ok(BroadcastProgress {
            total,
            delivered: total.saturating_sub(pending + failed),
            failed,
            pending,
        })
    }
}
