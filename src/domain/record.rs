//! Bookkeeping records: outgoing messages (the outbox), the audit trail, the message log,
//! editable settings, panel sessions and saved bot dialogues.

use serde::{Deserialize, Serialize};

use super::Timestamp;
use super::role::Actor;

/// A message waiting to be delivered. It is written in the same transaction as the change
/// that caused it and deleted only after delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRow {
    pub id: u64,
    pub created_at: Timestamp,
    pub message: OutboxMessage,
    /// Ticket the message is about, if any.
    pub ticket_id: Option<u64>,
    /// Broadcast this message belongs to, if any (for progress reports).
    pub batch: Option<u64>,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    /// Delivery gave up: the row stays visible until someone retries or drops it.
    pub failed: bool,
}

/// What to deliver, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxMessage {
    /// A text to a Telegram chat (private chat or group) with optional keyboard.
    Telegram {
        chat_id: i64,
        text: String,
        markup: Markup,
        /// Forum topic to post in.
        thread_id: Option<i64>,
        /// Message this one answers.
        reply_to: Option<i64>,
        /// A photo or document (Telegram file id) sent with `text` as its caption.
        media: Option<Media>,
    },
    /// Create or refresh the ticket's card in the staff group, rendered at delivery time.
    TicketCard { ticket_id: u64 },
    /// An e-mail with a plain-text body, an optional HTML body and attachments.
    Email {
        to: String,
        subject: String,
        text: String,
        html: Option<String>,
        attachments: Vec<EmailAttachment>,
    },
}

/// A file attached to an e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailAttachment {
    pub name: String,
    pub mime: String,
    pub data: Vec<u8>,
}

/// A file already on Telegram's servers, sent again by its file id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// `photo` or `document`.
    pub kind: String,
    pub file_id: String,
}

/// The keyboard sent with a Telegram message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Markup {
    #[default]
    None,
    /// Inline buttons under the message.
    Inline(Vec<Vec<Button>>),
    /// A persistent reply keyboard (the main menu).
    Keyboard(Vec<Vec<String>>),
    /// One button that shares the user's phone number, labelled so.
    RequestContact(String),
    /// Removes the reply keyboard.
    RemoveKeyboard,
    /// Asks the client to reply to this message (used to ask for a rejection reason).
    ForceReply,
}

impl Markup {
    /// Inline buttons from (label, data) rows.
    pub fn inline(rows: Vec<Vec<(String, String)>>) -> Markup {
        Markup::Inline(
            rows.into_iter()
                .map(|r| {
                    r.into_iter()
                        .map(|(label, data)| Button {
                            label,
                            data,
                            url: None,
                        })
                        .collect()
                })
                .collect(),
        )
    }
}

/// An inline button: a label and the callback data it carries, or a URL to open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub label: String,
    pub data: String,
    /// Opens this URL (or Mini App) instead of sending callback data.
    pub url: Option<String>,
}

impl Button {
    /// `data` of a button that opens [`Button::url`] as a Telegram Mini App (`web_app`), with
    /// the signed launch data, rather than as a plain link.
    pub const WEB_APP: &'static str = "web_app";

    /// A button opening the Mini App at `url` (https).
    pub fn web_app(label: impl Into<String>, url: impl Into<String>) -> Button {
        Button {
            label: label.into(),
            data: Button::WEB_APP.to_string(),
            url: Some(url.into()),
        }
    }

    /// Whether it opens a Mini App.
    pub fn is_web_app(&self) -> bool {
        self.data == Button::WEB_APP && self.url.is_some()
    }
}

/// One row of the audit trail: who changed what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: u64,
    pub at: Timestamp,
    pub actor: Actor,
    /// Machine name of the action, e.g. `ticket.create`.
    pub action: String,
    /// What it was done to, e.g. `ticket:#12`.
    pub target: String,
    pub detail: String,
}

/// Direction of a logged bot message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

/// Every message the bot received or sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageLog {
    pub id: u64,
    pub at: Timestamp,
    pub direction: Direction,
    pub chat_id: i64,
    pub user_id: Option<i64>,
    pub text: String,
}

/// An editable setting (bot texts, menu buttons, overrides), keyed by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    pub key: String,
    pub value: String,
    pub updated_at: Timestamp,
}

/// A panel session; the key is the SHA-256 of the cookie value, never the value itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub token_hash: String,
    pub login: String,
    pub csrf: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A bot dialogue saved between updates, as JSON text, keyed by chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialogRow {
    pub chat_id: i64,
    pub state: String,
}

/// Where a ticket's card lives in the staff group (edited in place as the ticket changes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRef {
    pub ticket_id: u64,
    pub chat_id: i64,
    pub message_id: i64,
    /// Forum topic of the ticket, when the staff group is a forum.
    pub thread_id: Option<i64>,
}

/// An idempotency key already used, and the ticket it created (so a redelivered update or a
/// double-pressed button never files a ticket twice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRow {
    pub key: String,
    pub ticket_id: u64,
    pub at: Timestamp,
}

/// A ticket's SLA schedule and which alerts were already sent (so a restart neither repeats
/// nor forgets one). Deleted when the ticket is resolved, closed or rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaPlan {
    pub ticket_id: u64,
    pub response_remind: Timestamp,
    pub response_due: Timestamp,
    pub resolve_remind: Timestamp,
    pub resolve_due: Timestamp,
    /// Bits of [`SlaPlan::RESPONSE_REMINDED`] and friends.
    pub sent: u8,
}

impl SlaPlan {
    pub const RESPONSE_REMINDED: u8 = 1;
    pub const RESPONSE_BREACHED: u8 = 2;
    pub const RESOLVE_REMINDED: u8 = 4;
    pub const RESOLVE_BREACHED: u8 = 8;
}
