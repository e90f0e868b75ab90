//! Delivery: drains the outbox. Telegram messages go out within Telegram's limits (see
//! [`limits`]); a 429 pauses every call for its `retry_after`; a user who blocked the bot is
//! marked inactive; other failures are retried with back-off by the service; rows that give up
//! stay visible as failed. E-mail goes out through SMTP (lettre). A row is deleted only after
//! delivery, in the same transaction that logs the outgoing message.
//!
//! This layer retries; teloxide's `Throttle` adaptor is deliberately not used, so that exactly
//! one layer owns retries.
//!
//! Crash safety: rows go out one at a time, each durably claimed as in flight before the call
//! (`Service::outbox_claim`); at start the sender settles a claim a crash left behind
//! (`Service::outbox_recover_in_flight`: uncertain messages are flagged, not resent). See
//! `docs/crash-safety.md`.

pub mod limits;
mod mail;
mod telegram;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::domain::{OutboxMessage, OutboxRow};
use crate::service::{InFlight, Service};
pub use mail::Mailer;
pub use telegram::TelegramOut;

/// What happened to one delivery attempt.
#[derive(Debug)]
pub enum Outcome {
    /// Delivered; `chat_id` and `text` go to the message log.
    Delivered { chat_id: i64, text: String },
    /// Try again later: at `retry_at` (unix seconds) when the far side said so.
    Retry {
        error: String,
        retry_at: Option<i64>,
    },
    /// Telegram asked to slow down: pause every call for `seconds`.
    RateLimited { seconds: u64 },
    /// The recipient blocked the bot or was deleted: mark them inactive, give up the row.
    Blocked { chat_id: i64, error: String },
    /// Retrying cannot help (bad request, unknown chat): give up the row.
    Permanent { error: String },
}

/// The outbox drain loop.
pub struct Sender {
    svc: Service,
    telegram: Option<TelegramOut>,
    mail: Option<Mailer>,
    wake: Arc<Notify>,
    limiter: limits::Limiter,
    epoch: Instant,
}

impl Sender {
    pub fn new(
        svc: Service,
        telegram: Option<TelegramOut>,
        mail: Option<Mailer>,
        wake: Arc<Notify>,
    ) -> Sender {
        Sender {
            svc,
            telegram,
            mail,
            wake,
            limiter: limits::Limiter::default(),
            epoch: Instant::now(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Runs until `shutdown` fires.
    pub async fn run(mut self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        self.recover().await;
        loop {
            let next = self.pass().await;
            let wait = next
                .unwrap_or(Duration::from_secs(1))
                .min(Duration::from_secs(1));
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// Settles a delivery that the previous process left in flight.
    async fn recover(&self) {
        let svc = self.svc.clone();
        match tokio::task::spawn_blocking(move || svc.outbox_recover_in_flight()).await {
            Ok(Ok(None)) => {}
            Ok(Ok(Some(InFlight::Uncertain(id)))) => tracing::warn!(
                row = id,
                "a message was being sent when the server stopped; it may or may not have \
                 arrived, so it is marked failed (uncertain) instead of being sent twice"
            ),
            Ok(Ok(Some(InFlight::Requeued(id)))) => {
                tracing::warn!(
                    row = id,
                    "a ticket card was being sent when the server stopped; queued again"
                )
            }
            Ok(Ok(Some(InFlight::Gone(_)))) => {}
            Ok(Err(e)) => tracing::error!("cannot settle the interrupted delivery: {e}"),
            Err(e) => tracing::error!("outbox recovery panicked: {e}"),
        }
    }

    /// Durably marks a row as in flight; false (and logged) when that cannot be written, in
    /// which case the row is not sent now.
    async fn claim(&self, id: u64) -> bool {
        let svc = self.svc.clone();
        match tokio::task::spawn_blocking(move || svc.outbox_claim(id)).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::error!(
                    row = id,
                    "cannot mark the row in flight, not sending it: {e}"
                );
                false
            }
            Err(e) => {
                tracing::error!(row = id, "outbox claim panicked: {e}");
                false
            }
        }
    }

    /// One pass over the due rows; returns how long until a deferred row may go.
    async fn pass(&mut self) -> Option<Duration> {
        let svc = self.svc.clone();
        let rows = match tokio::task::spawn_blocking(move || svc.outbox_due(500)).await {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => {
                tracing::error!("cannot read the outbox: {e}");
                return Some(Duration::from_secs(1));
            }
            Err(e) => {
                tracing::error!("outbox reader panicked: {e}");
                return Some(Duration::from_secs(1));
            }
        };
        let mut held: HashSet<i64> = HashSet::new();
        let mut earliest: Option<u64> = None;
        for row in rows {
            let Some(chat) = self.chat_of(&row) else {
                // E-mail: no Telegram limits.
                if let OutboxMessage::Email { .. } = row.message {
                    self.deliver_mail(row).await;
                }
                continue;
            };
            // Keep each chat's messages in order: once one waits, the rest of that chat waits.
            if held.contains(&chat) {
                continue;
            }
            let now = self.now_ms();
            if let Err(at) = self.limiter.check(chat, now) {
                held.insert(chat);
                earliest = Some(earliest.map_or(at, |e| e.min(at)));
                continue;
            }
            let Some(tg) = self.telegram.as_ref() else {
                continue;
            };
            if !self.claim(row.id).await {
                held.insert(chat);
                earliest = Some(earliest.map_or(now + 1000, |e| e.min(now + 1000)));
                continue;
            }
            self.limiter.record(chat, now);
            let outcome = tg.deliver(&self.svc, &row).await;
            if matches!(outcome, Outcome::RateLimited { .. }) {
                held.insert(chat);
            }
            if let Outcome::Retry { .. } | Outcome::Permanent { .. } = outcome {
                held.insert(chat);
            }
            let paused = self.settle(&row, outcome).await;
            if paused {
                break;
            }
        }
        earliest.map(|at| Duration::from_millis(at.saturating_sub(self.now_ms()).max(20)))
    }

    /// The chat a Telegram row goes to; `None` for e-mail (and for Telegram rows when the bot is
    /// off, which then simply wait).
    fn chat_of(&self, row: &OutboxRow) -> Option<i64> {
        match &row.message {
            OutboxMessage::Telegram { chat_id, .. } => Some(*chat_id),
            OutboxMessage::TicketCard { .. } => self.telegram.as_ref().map(|t| t.staff_chat_id()),
            OutboxMessage::Email { .. } => None,
        }
    }

    async fn deliver_mail(&mut self, row: OutboxRow) {
        let Some(mail) = self.mail.as_ref() else {
            return;
        };
        if !self.claim(row.id).await {
            return;
        }
        let outcome = mail.deliver(&row).await;
        self.settle(&row, outcome).await;
    }

    /// Records an outcome; true when every call must now pause.
    async fn settle(&mut self, row: &OutboxRow, outcome: Outcome) -> bool {
        let svc = self.svc.clone();
        let id = row.id;
        let mut paused = false;
        let res = match outcome {
            Outcome::Delivered { chat_id, text } => {
                tokio::task::spawn_blocking(move || {
                    svc.outbox_delivered_logged(id, chat_id, &text).map(|_| ())
                })
                .await
            }
            Outcome::Retry { error, retry_at } => {
                tracing::warn!(row = id, "delivery failed, will retry: {error}");
                tokio::task::spawn_blocking(move || {
                    svc.outbox_attempt_failed(id, &error, retry_at, false)
                })
                .await
            }
            Outcome::RateLimited { seconds } => {
                tracing::warn!(
                    row = id,
                    "Telegram asked to wait {seconds} s (429); pausing all calls"
                );
                self.limiter.pause_until(self.now_ms() + seconds * 1000);
                paused = true;
                let at = svc.now() + seconds as i64;
                tokio::task::spawn_blocking(move || {
                    svc.outbox_attempt_failed(id, "429 Too Many Requests", Some(at), false)
                })
                .await
            }
            Outcome::Blocked { chat_id, error } => {
                tracing::info!(chat_id, "user blocked the bot; marked inactive");
                tokio::task::spawn_blocking(move || {
                    if svc.read()?.requester(chat_id)?.is_some() {
                        svc.set_requester_active(chat_id, false)?;
                    }
                    svc.outbox_attempt_failed(id, &error, None, true)
                })
                .await
            }
            Outcome::Permanent { error } => {
                tracing::error!(row = id, "delivery failed for good: {error}");
                tokio::task::spawn_blocking(move || {
                    svc.outbox_attempt_failed(id, &error, None, true)
                })
                .await
            }
        };
        match res {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(row = id, "cannot record delivery: {e}"),
            Err(e) => tracing::error!(row = id, "delivery bookkeeping panicked: {e}"),
        }
        paused
    }
}

use crate::store::Reads;
