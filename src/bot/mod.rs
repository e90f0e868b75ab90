//! The Telegram adapter (teloxide): long polling, dialogue storage over redb, and handlers that
//! turn updates into service calls. Handlers hold no business rule; every reply is queued in
//! the outbox through the service and delivered by `notify`.
//!
//! **Architecture invariant:** only `bot/` and the Telegram sender in `notify/` know teloxide.

pub mod cards;
mod handlers;
pub mod miniapp;
pub mod state;
pub mod storage;

use std::sync::Arc;
use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::{BotCommand, ChatId};
use teloxide::update_listeners::Polling;
use teloxide::{ApiError, RequestError};

use crate::config::Config;
use crate::domain::Actor;
use crate::notify::TelegramOut;
use crate::service::Service;
use crate::web::{BotState, Health};

/// What the handlers need besides the update.
#[derive(Clone)]
pub struct BotConfig {
    pub staff_chat_id: i64,
    pub superadmins: Vec<i64>,
    /// Departments offered at registration (empty: the step is skipped).
    pub departments: Vec<String>,
    /// Seconds between two urgent calls of one requester.
    pub urgent_cooldown: i64,
    /// The Mini App's address (`web.public_url` + `/app`), when there is one.
    pub miniapp_url: Option<String>,
}

/// Shared by every handler.
#[derive(Clone)]
pub struct Ctx {
    pub svc: Service,
    pub bot: Bot,
    pub storage: Arc<storage::RedbStorage>,
    pub cfg: BotConfig,
}

/// The bot built from the config: checked with getMe, commands set, staff group looked up.
pub struct Started {
    pub out: TelegramOut,
    pub task: tokio::task::JoinHandle<()>,
    pub files: FileFetcher,
}

/// Builds the teloxide `Bot` for `config` (pointed at `telegram.api_url`).
pub fn make_bot(config: &Config) -> Bot {
    let url = config
        .telegram
        .api_url
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let bot = Bot::new(config.telegram.token.expose());
    match reqwest_url(&url) {
        Some(u) => bot.set_api_url(u),
        None => bot,
    }
}

fn reqwest_url(s: &str) -> Option<url::Url> {
    url::Url::parse(s).ok()
}

/// Starts the bot: returns `None` (and says why in the log and in `/healthz`) when the token is
/// refused; otherwise polls until `shutdown` fires.
pub async fn start(
    config: &Config,
    svc: Service,
    health: Arc<Health>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Option<Started> {
    let bot = make_bot(config);
    // getMe: a bad token is a configuration error; a network error is retried.
    let mut delay = Duration::from_millis(500);
    let me = loop {
        match bot.get_me().await {
            Ok(me) => break me,
            Err(RequestError::Api(ApiError::InvalidToken)) => {
                tracing::error!(
                    "Telegram refused the bot token (telegram.token): check it with @BotFather; the bot stays off"
                );
                health.set_bot(BotState::Error);
                return None;
            }
            Err(e) => {
                tracing::warn!("Telegram is not reachable yet ({e}); retrying in {delay:?}");
                health.set_bot(BotState::Error);
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.changed() => return None,
                }
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    };
    tracing::info!(username = ?me.username, "Telegram bot connected");

    let staff_chat_id = config.telegram.staff_chat_id;
    let mut forum = false;
    if staff_chat_id != 0 {
        match bot.get_chat(ChatId(staff_chat_id)).await {
            Ok(chat) => {
                forum = serde_json::to_value(&chat)
                    .ok()
                    .and_then(|v| v.get("is_forum")?.as_bool())
                    .unwrap_or(false)
            }
            Err(e) => tracing::error!(
                "telegram.staff_chat_id {staff_chat_id}: the staff group cannot be reached ({e}); cards will be retried"
            ),
        }
    }
    let commands = [
        BotCommand::new("start", "Start / menu"),
        BotCommand::new("new", "New ticket"),
        BotCommand::new("my", "My tickets"),
        BotCommand::new("status", "Ticket status: /status N"),
        BotCommand::new("cancel", "Cancel the current step"),
        BotCommand::new("help", "Help"),
    ];
    if let Err(e) = bot.set_my_commands(commands).await {
        tracing::warn!("cannot set the bot's commands: {e}");
    }
    if let Some(url) = miniapp::app_url(config.web.public_url.as_ref()) {
        miniapp::set_menu_button(&bot, &url, config.ui.language).await;
    }

    // Superadmins named in the config act with a staff account of their own.
    for &id in &config.telegram.superadmins {
        let s = svc.clone();
        match tokio::task::spawn_blocking(move || s.ensure_telegram_superadmin(id)).await {
            Ok(Ok(_)) => {}
            other => tracing::error!("cannot set up superadmin {id}: {other:?}"),
        }
    }

    let ctx = Ctx {
        svc: svc.clone(),
        bot: bot.clone(),
        storage: storage::RedbStorage::new(svc.clone()),
        cfg: BotConfig {
            staff_chat_id,
            superadmins: config.telegram.superadmins.clone(),
            departments: config.bot.departments.clone(),
            urgent_cooldown: config.bot.urgent_cooldown_minutes as i64 * 60,
            miniapp_url: miniapp::app_url(config.web.public_url.as_ref()),
        },
    };
    let handler = dptree::entry()
        .branch(Update::filter_message().endpoint(handlers::on_message))
        .branch(Update::filter_callback_query().endpoint(handlers::on_callback));
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler)
        .dependencies(dptree::deps![ctx])
        .default_handler(|_| async {})
        .build();
    let token = dispatcher.shutdown_token();
    let listener = Polling::builder(bot.clone())
        .timeout(Duration::from_secs(10))
        .delete_webhook()
        .await
        .build();
    health.set_bot(BotState::Polling);
    let h = health.clone();
    let task = tokio::spawn(async move {
        let stopper = tokio::spawn(async move {
            let _ = shutdown.changed().await;
            if let Ok(f) = token.shutdown() {
                f.await;
            }
        });
        dispatcher
            .dispatch_with_listener(
                listener,
                LoggingErrorHandler::with_custom_text("Telegram update handling failed"),
            )
            .await;
        stopper.abort();
        h.set_bot(BotState::Disabled);
    });
    Some(Started {
        out: TelegramOut::new(bot.clone(), staff_chat_id, forum),
        task,
        files: FileFetcher::new(bot),
    })
}

/// The actor of a Telegram user who is staff, if they are.
pub fn staff_actor(svc: &Service, tg_id: i64) -> Option<Actor> {
    use crate::store::Reads;
    let staff = svc.read().ok()?.staff_by_telegram(tg_id).ok()??;
    (!staff.disabled).then_some(Actor::Staff {
        login: staff.login,
        role: staff.role,
    })
}

/// Fetches files people sent to the bot, for the panel's attachment links (≤ 20 MB, as the
/// Bot API allows).
#[derive(Clone)]
pub struct FileFetcher {
    bot: Bot,
}

impl FileFetcher {
    pub fn new(bot: Bot) -> FileFetcher {
        FileFetcher { bot }
    }

    /// Checks Telegram answers (getMe).
    pub async fn ping(&self) -> Result<(), String> {
        self.bot
            .get_me()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// The bytes of a Telegram file and its path on Telegram's side (for the file name).
    pub async fn fetch(&self, file_id: &str) -> Result<(Vec<u8>, String), String> {
        use teloxide::net::Download;
        let f = self
            .bot
            .get_file(teloxide::types::FileId(file_id.to_string()))
            .await
            .map_err(|e| format!("Telegram could not find the file: {e}"))?;
        let mut buf: Vec<u8> = Vec::new();
        self.bot
            .download_file(&f.path, &mut buf)
            .await
            .map_err(|e| format!("download failed: {e}"))?;
        Ok((buf, f.path))
    }
}
