//! The Telegram adapter (teloxide): long polling or a webhook, dialogue storage over redb, and handlers that
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

use crate::config::{BotMode, Config};
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
    /// In webhook mode: where the web server hands the POSTed updates.
    pub webhook: Option<WebhookInbox>,
}

/// Path of the webhook route on the web server (under `web.public_url`).
pub const WEBHOOK_PATH: &str = "telegram/webhook";

/// Largest webhook body accepted (Telegram's updates are a few kilobytes).
pub const WEBHOOK_MAX_BODY: u64 = 1024 * 1024;

/// Updates the web server received and the dispatcher has not taken yet.
const WEBHOOK_QUEUE: usize = 4096;

/// The webhook's entrance: checks Telegram's secret header and feeds parsed updates to the
/// same dispatcher polling would.
#[derive(Clone)]
pub struct WebhookInbox {
    secret: Arc<crate::config::Secret>,
    tx: tokio::sync::mpsc::Sender<Update>,
}

/// Why a webhook request was not taken.
#[derive(Debug, PartialEq, Eq)]
pub enum WebhookRefusal {
    /// Missing or wrong `X-Telegram-Bot-Api-Secret-Token`: nothing was read.
    Unauthorized,
    /// The bot is stopping or its queue is full: Telegram retries later.
    Unavailable,
}

impl WebhookInbox {
    /// Takes one POSTed update. A body with the right secret that is not an update is logged
    /// and acknowledged (so Telegram does not hold every later update behind it).
    pub fn accept(&self, secret: Option<&str>, body: &[u8]) -> Result<(), WebhookRefusal> {
        let given = secret.unwrap_or("").as_bytes();
        if !crate::service::constant_time_eq(given, self.secret.expose().as_bytes()) {
            tracing::warn!("webhook request with a missing or wrong secret token refused");
            return Err(WebhookRefusal::Unauthorized);
        }
        let update: Update = match serde_json::from_slice(body) {
            Ok(u) => u,
            Err(e) => {
                tracing::error!(
                    "cannot parse a webhook update ({e}); {} bytes acknowledged and dropped",
                    body.len()
                );
                return Ok(());
            }
        };
        self.tx.try_send(update).map_err(|e| {
            tracing::warn!("webhook update not taken ({e}); Telegram will send it again");
            WebhookRefusal::Unavailable
        })
    }
}

/// A teloxide update listener over the channel the webhook route fills; stops with the
/// dispatcher's stop token.
fn webhook_listener(
    rx: tokio::sync::mpsc::Receiver<Update>,
) -> impl teloxide::update_listeners::UpdateListener<Err = std::convert::Infallible> {
    use futures::StreamExt;
    use teloxide::stop::{StopToken, mk_stop_token};
    type UpdateStream = std::pin::Pin<
        Box<dyn futures::Stream<Item = Result<Update, std::convert::Infallible>> + Send>,
    >;
    fn stream_of(state: &mut (UpdateStream, StopToken)) -> &mut UpdateStream {
        &mut state.0
    }
    let (token, flag) = mk_stop_token();
    let stream: UpdateStream = Box::pin(
        futures::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|u| (Ok(u), rx)) },
        )
        .take_until(flag),
    );
    teloxide::update_listeners::StatefulListener::new(
        (stream, token),
        stream_of,
        |state: &mut (UpdateStream, StopToken)| state.1.clone(),
    )
}

/// Registers the webhook with Telegram: `<public_url>/telegram/webhook`, the secret, and the
/// update kinds the handlers use.
async fn set_webhook(bot: &Bot, config: &Config, secret: &str) -> Result<String, String> {
    use teloxide::types::AllowedUpdate;
    let base = config
        .web
        .public_url
        .as_ref()
        .ok_or("web.public_url is not set")?;
    let url = format!("{}/{WEBHOOK_PATH}", base.as_str().trim_end_matches('/'));
    let parsed = url::Url::parse(&url).map_err(|e| format!("{url}: {e}"))?;
    bot.set_webhook(parsed)
        .secret_token(secret.to_string())
        .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery])
        .await
        .map_err(|e| e.to_string())?;
    Ok(url)
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
/// refused; otherwise polls (or takes webhook updates) until `shutdown` fires.
///
/// When Telegram cannot be reached at start-up (the office's internet is down), the server must
/// not wait for it: the handles are returned at once, `/healthz` says `"bot":"error"`, and a
/// background task keeps trying and starts the bot when Telegram answers. Messages queue in the
/// outbox meanwhile.
pub async fn start(
    config: &Config,
    svc: Service,
    health: Arc<Health>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Option<Started> {
    let bot = make_bot(config);
    let forum = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (inbox, inbox_rx) = match config.telegram.mode {
        BotMode::Polling => (None, None),
        BotMode::Webhook => {
            let secret = match config.telegram.webhook_secret.expose() {
                "" => crate::service::random_token(),
                s => s.to_string(),
            };
            let (tx, rx) = tokio::sync::mpsc::channel(WEBHOOK_QUEUE);
            let inbox = WebhookInbox {
                secret: Arc::new(crate::config::Secret::new(secret)),
                tx,
            };
            (Some(inbox), Some(rx))
        }
    };
    let first = bot.get_me().await;
    if let Err(RequestError::Api(ApiError::InvalidToken)) = first {
        tracing::error!(
            "Telegram refused the bot token (telegram.token): check it with @BotFather; the bot stays off"
        );
        health.set_bot(BotState::Error);
        return None;
    }
    let out = TelegramOut::new(bot.clone(), config.telegram.staff_chat_id, forum.clone());
    let files = FileFetcher::new(bot.clone());
    let run = Run {
        config: config.clone(),
        svc,
        health: health.clone(),
        shutdown,
        bot,
        forum,
        webhook: inbox.as_ref().map(|w| w.secret.clone()).zip(inbox_rx),
    };
    let task = match first {
        Ok(me) => run.connected(me).await?,
        Err(e) => {
            tracing::warn!(
                "Telegram is not reachable yet ({e}); the panel serves meanwhile and the bot starts when Telegram answers"
            );
            health.set_bot(BotState::Error);
            tokio::spawn(async move {
                if let Some(task) = run.retry().await {
                    let _ = task.await;
                }
            })
        }
    };
    Some(Started {
        out,
        task,
        files,
        webhook: inbox,
    })
}

/// What the bot needs once Telegram answers.
struct Run {
    config: Config,
    svc: Service,
    health: Arc<Health>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    bot: Bot,
    forum: Arc<std::sync::atomic::AtomicBool>,
    /// Webhook mode: the secret and the receiving end of the inbox.
    webhook: Option<WebhookParts>,
}

type WebhookParts = (
    Arc<crate::config::Secret>,
    tokio::sync::mpsc::Receiver<Update>,
);

impl Run {
    /// getMe until it answers (back-off up to 30 s), then [`Run::connected`].
    async fn retry(mut self) -> Option<tokio::task::JoinHandle<()>> {
        let mut delay = Duration::from_millis(500);
        let me = loop {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = self.shutdown.changed() => return None,
            }
            match self.bot.get_me().await {
                Ok(me) => break me,
                Err(RequestError::Api(ApiError::InvalidToken)) => {
                    tracing::error!(
                        "Telegram refused the bot token (telegram.token): check it with @BotFather; the bot stays off"
                    );
                    self.health.set_bot(BotState::Error);
                    return None;
                }
                Err(e) => {
                    delay = (delay * 2).min(Duration::from_secs(30));
                    tracing::warn!("Telegram is not reachable yet ({e}); retrying in {delay:?}");
                }
            }
        };
        self.connected(me).await
    }

    /// Sets the bot up and starts the dispatcher; `None` when Telegram refuses the webhook.
    async fn connected(self, me: teloxide::types::Me) -> Option<tokio::task::JoinHandle<()>> {
        let Run {
            config,
            svc,
            health,
            shutdown,
            bot,
            forum: forum_flag,
            webhook,
        } = self;
        let config = &config;
        tracing::info!(username = ?me.username, "Telegram bot connected");

        let staff_chat_id = config.telegram.staff_chat_id;
        if staff_chat_id != 0 {
            match bot.get_chat(ChatId(staff_chat_id)).await {
                Ok(chat) => {
                    let forum = serde_json::to_value(&chat)
                        .ok()
                        .and_then(|v| v.get("is_forum")?.as_bool())
                        .unwrap_or(false);
                    forum_flag.store(forum, std::sync::atomic::Ordering::Relaxed);
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
        let dispatcher = Dispatcher::builder(bot.clone(), handler)
            .dependencies(dptree::deps![ctx])
            .default_handler(|_| async {})
            .build();
        let token = dispatcher.shutdown_token();
        let h = health.clone();
        let errors = LoggingErrorHandler::with_custom_text("Telegram update handling failed");
        let task = match config.telegram.mode {
            BotMode::Polling => {
                // Polling and a webhook exclude each other: the builder calls deleteWebhook.
                let listener = Polling::builder(bot.clone())
                    .timeout(Duration::from_secs(10))
                    .delete_webhook()
                    .await
                    .build();
                health.set_bot(BotState::Polling);
                tokio::spawn(dispatch(dispatcher, listener, errors, token, shutdown, h))
            }
            BotMode::Webhook => {
                let Some((secret, rx)) = webhook else {
                    tracing::error!("webhook mode without an inbox; the bot stays off");
                    health.set_bot(BotState::Error);
                    return None;
                };
                match set_webhook(&bot, config, secret.expose()).await {
                    Ok(url) => tracing::info!(%url, "Telegram webhook set"),
                    Err(e) => {
                        tracing::error!(
                            "Telegram refused the webhook ({e}): check web.public_url (Telegram needs https:// on port 443, 80, 88 or 8443); the bot stays off"
                        );
                        health.set_bot(BotState::Error);
                        return None;
                    }
                }
                let listener = webhook_listener(rx);
                health.set_bot(BotState::Webhook);
                // The webhook stays set while the server is down: Telegram keeps the updates
                // and delivers them after a restart.
                tokio::spawn(dispatch(dispatcher, listener, errors, token, shutdown, h))
            }
        };
        Some(task)
    }
}

/// Runs the dispatcher on `listener` until `shutdown` fires, then marks the bot off.
async fn dispatch<L>(
    mut dispatcher: Dispatcher<
        Bot,
        Box<dyn std::error::Error + Send + Sync>,
        teloxide::dispatching::DefaultKey,
    >,
    listener: L,
    errors: Arc<LoggingErrorHandler>,
    token: teloxide::dispatching::ShutdownToken,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    health: Arc<Health>,
) where
    L: teloxide::update_listeners::UpdateListener + Send,
    L::Err: std::fmt::Debug,
{
    let stopper = tokio::spawn(async move {
        let _ = shutdown.changed().await;
        if let Ok(f) = token.shutdown() {
            f.await;
        }
    });
    dispatcher.dispatch_with_listener(listener, errors).await;
    stopper.abort();
    health.set_bot(BotState::Disabled);
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

/// Sends `text` straight to every `telegram.superadmins` id, without the outbox: for the
/// maintenance mode, when the database cannot be written. Returns how many were sent.
pub async fn alert_superadmins_direct(config: &Config, text: &str) -> Result<usize, String> {
    let bot = make_bot(config);
    let mut sent = 0;
    let mut last_err = None;
    for &id in &config.telegram.superadmins {
        match bot.send_message(ChatId(id), text.to_string()).await {
            Ok(_) => sent += 1,
            Err(e) => last_err = Some(e.to_string()),
        }
    }
    match (sent, last_err) {
        (0, Some(e)) => Err(e),
        _ => Ok(sent),
    }
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
