//! Sending outbox rows to Telegram with teloxide's `Bot`, and classifying the answers.

use teloxide::prelude::*;
use teloxide::types::{
    ButtonRequest, ChatId, FileId, ForceReply, InlineKeyboardButton, InlineKeyboardMarkup,
    InputFile, KeyboardButton, KeyboardMarkup, KeyboardRemove, MessageId, ReplyMarkup,
    ReplyParameters, ThreadId,
};
use teloxide::{ApiError, RequestError};

use super::Outcome;
use crate::domain::{CardRef, Markup, Media, OutboxMessage, OutboxRow};
use crate::service::Service;
use crate::store::Reads;

/// The Telegram side of delivery.
#[derive(Clone)]
pub struct TelegramOut {
    bot: Bot,
    staff_chat_id: i64,
    /// The staff group is a forum: each ticket gets its own topic (learnt when the bot
    /// connects, which may be after start-up).
    staff_forum: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl TelegramOut {
    pub fn new(
        bot: Bot,
        staff_chat_id: i64,
        staff_forum: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> TelegramOut {
        TelegramOut {
            bot,
            staff_chat_id,
            staff_forum,
        }
    }

    pub fn staff_chat_id(&self) -> i64 {
        self.staff_chat_id
    }

    /// Delivers one row.
    pub async fn deliver(&self, svc: &Service, row: &OutboxRow) -> Outcome {
        match &row.message {
            OutboxMessage::Telegram {
                chat_id,
                text,
                markup,
                thread_id,
                reply_to,
                media,
            } => {
                let sent = match media {
                    None => {
                        self.send(*chat_id, text, markup, *thread_id, *reply_to)
                            .await
                    }
                    Some(m) => self.send_media(*chat_id, m, text, markup).await,
                };
                match sent {
                    Ok(_) => Outcome::Delivered {
                        chat_id: *chat_id,
                        text: text.clone(),
                    },
                    Err(e) => classify(e, *chat_id),
                }
            }
            OutboxMessage::TicketCard { ticket_id } => self.card(svc, *ticket_id).await,
            OutboxMessage::Email { .. } => Outcome::Permanent {
                error: "not a Telegram message".into(),
            },
        }
    }

    /// Sends a message; returns its message id.
    pub async fn send(
        &self,
        chat_id: i64,
        text: &str,
        markup: &Markup,
        thread_id: Option<i64>,
        reply_to: Option<i64>,
    ) -> Result<i64, RequestError> {
        let mut req = self.bot.send_message(ChatId(chat_id), text);
        if let Some(m) = reply_markup(markup) {
            req = req.reply_markup(m);
        }
        if let Some(t) = thread_id {
            req = req.message_thread_id(ThreadId(MessageId(t as i32)));
        }
        if let Some(r) = reply_to {
            req = req.reply_parameters(
                ReplyParameters::new(MessageId(r as i32)).allow_sending_without_reply(),
            );
        }
        Ok(i64::from(req.await?.id.0))
    }

    /// Sends a photo or document by file id with `caption`.
    async fn send_media(
        &self,
        chat_id: i64,
        media: &Media,
        caption: &str,
        markup: &Markup,
    ) -> Result<i64, RequestError> {
        let file = InputFile::file_id(FileId(media.file_id.clone()));
        let caption: String = caption.chars().take(1024).collect();
        let msg = if media.kind == "photo" {
            let mut req = self.bot.send_photo(ChatId(chat_id), file);
            if !caption.is_empty() {
                req = req.caption(caption);
            }
            if let Some(m) = reply_markup(markup) {
                req = req.reply_markup(m);
            }
            req.await?
        } else {
            let mut req = self.bot.send_document(ChatId(chat_id), file);
            if !caption.is_empty() {
                req = req.caption(caption);
            }
            if let Some(m) = reply_markup(markup) {
                req = req.reply_markup(m);
            }
            req.await?
        };
        Ok(i64::from(msg.id.0))
    }

    /// Creates or refreshes the card of a ticket in the staff group.
    async fn card(&self, svc: &Service, ticket_id: u64) -> Outcome {
        let s = svc.clone();
        let loaded = tokio::task::spawn_blocking(move || -> crate::service::Result<_> {
            let tx = s.read()?;
            let Some(t) = tx.ticket(ticket_id)? else {
                return Ok(None);
            };
            let card = tx.ticket_card(ticket_id)?;
            drop(tx);
            let (text, markup) =
                crate::bot::cards::render_card(&s, &t, s.config().default_language)?;
            Ok(Some((t, card, text, markup)))
        })
        .await;
        let (ticket, card, text, markup) = match loaded {
            Ok(Ok(Some(x))) => x,
            Ok(Ok(None)) => {
                return Outcome::Permanent {
                    error: format!("ticket #{ticket_id} does not exist"),
                };
            }
            Ok(Err(e)) => {
                return Outcome::Retry {
                    error: e.to_string(),
                    retry_at: None,
                };
            }
            Err(e) => {
                return Outcome::Retry {
                    error: e.to_string(),
                    retry_at: None,
                };
            }
        };
        let chat = self.staff_chat_id;
        if let Some(c) = &card {
            let mut req = self.bot.edit_message_text(
                ChatId(c.chat_id),
                MessageId(c.message_id as i32),
                &text,
            );
            if let Markup::Inline(_) = markup
                && let Some(ReplyMarkup::InlineKeyboard(kb)) = reply_markup(&markup)
            {
                req = req.reply_markup(kb);
            }
            match req.await {
                Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => {
                    return Outcome::Delivered {
                        chat_id: c.chat_id,
                        text,
                    };
                }
                Err(RequestError::Api(
                    ApiError::MessageToEditNotFound | ApiError::MessageCantBeEdited,
                )) => {
                    // The card was deleted: post a new one below.
                }
                Err(e) => return classify(e, c.chat_id),
            }
        }
        let mut thread_id = card.as_ref().and_then(|c| c.thread_id);
        if self.staff_forum.load(std::sync::atomic::Ordering::Relaxed) && thread_id.is_none() {
            let name: String = format!("{} {}", ticket.number(), ticket.subject)
                .chars()
                .take(120)
                .collect();
            match self.bot.create_forum_topic(ChatId(chat), name).await {
                Ok(topic) => thread_id = Some(i64::from(topic.thread_id.0.0)),
                Err(e) => {
                    tracing::warn!("cannot create a forum topic for {}: {e}", ticket.number())
                }
            }
        }
        match self.send(chat, &text, &markup, thread_id, None).await {
            Ok(message_id) => {
                let s = svc.clone();
                let rec = CardRef {
                    ticket_id,
                    chat_id: chat,
                    message_id,
                    thread_id,
                };
                match tokio::task::spawn_blocking(move || s.record_card(rec)).await {
                    Ok(Ok(())) => {}
                    other => tracing::error!("cannot record the card of #{ticket_id}: {other:?}"),
                }
                Outcome::Delivered {
                    chat_id: chat,
                    text,
                }
            }
            Err(e) => classify(e, chat),
        }
    }
}

/// Our markup as teloxide's.
pub fn reply_markup(m: &Markup) -> Option<ReplyMarkup> {
    Some(match m {
        Markup::None => return None,
        Markup::Inline(rows) => {
            ReplyMarkup::InlineKeyboard(InlineKeyboardMarkup::new(rows.iter().map(|r| {
                r.iter()
                    .map(
                        |b| match b.url.as_deref().and_then(|u| url::Url::parse(u).ok()) {
                            Some(url) if b.is_web_app() => InlineKeyboardButton::web_app(
                                b.label.clone(),
                                teloxide::types::WebAppInfo { url },
                            ),
                            Some(u) => InlineKeyboardButton::url(b.label.clone(), u),
                            None => InlineKeyboardButton::callback(b.label.clone(), b.data.clone()),
                        },
                    )
                    .collect::<Vec<_>>()
            })))
        }
        Markup::Keyboard(rows) => ReplyMarkup::Keyboard(
            KeyboardMarkup::new(
                rows.iter()
                    .map(|r| r.iter().map(KeyboardButton::new).collect::<Vec<_>>()),
            )
            .resize_keyboard(),
        ),
        Markup::RequestContact(label) => ReplyMarkup::Keyboard(
            KeyboardMarkup::new([[KeyboardButton::new(label).request(ButtonRequest::Contact)]])
                .resize_keyboard()
                .one_time_keyboard(),
        ),
        Markup::RemoveKeyboard => ReplyMarkup::KeyboardRemove(KeyboardRemove::new()),
        Markup::ForceReply => ReplyMarkup::ForceReply(ForceReply::new()),
    })
}

/// What a Telegram error means for the row.
pub fn classify(e: RequestError, chat_id: i64) -> Outcome {
    match e {
        RequestError::RetryAfter(s) => Outcome::RateLimited {
            seconds: u64::from(s.seconds()).max(1),
        },
        RequestError::Api(
            ApiError::BotBlocked | ApiError::UserDeactivated | ApiError::BotKicked,
        ) => Outcome::Blocked {
            chat_id,
            error: e.to_string(),
        },
        RequestError::Api(ApiError::Unknown(ref d))
            if d.starts_with("Internal") || d.contains("Gateway") =>
        {
            Outcome::Retry {
                error: e.to_string(),
                retry_at: None,
            }
        }
        RequestError::Api(_) | RequestError::MigrateToChatId(_) => Outcome::Permanent {
            error: e.to_string(),
        },
        _ => Outcome::Retry {
            error: e.to_string(),
            retry_at: None,
        },
    }
}
