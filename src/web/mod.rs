//! The HTTP side: `/healthz`, `/metrics` (and, as it grows, the panel, the Mini App and the
//! JSON API). Built with warp; pages with maud.
//!
//! **Architecture invariant:** only this module knows warp and maud; handlers call
//! [`crate::service`] and hold no business rule.

mod api;
mod api_tokens;
mod archives;
mod broadcast;
mod charts;
pub(crate) mod common;
pub mod degraded;
mod faq;
mod i18n;
mod logs;
pub mod miniapp;
pub mod panel;
mod people;
mod reports;
mod settings;
mod stock;
mod stock_import;
mod telegram;
mod tickets;
mod views;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::Serialize;
use warp::Filter;
use warp::http::StatusCode;

use crate::service::{Service, ServiceError};
use crate::store::Reads;

/// State of the Telegram bot as `/healthz` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum BotState {
    Disabled = 0,
    Polling = 1,
    Webhook = 2,
    Error = 3,
}

impl BotState {
    pub fn as_str(self) -> &'static str {
        match self {
            BotState::Disabled => "disabled",
            BotState::Polling => "polling",
            BotState::Webhook => "webhook",
            BotState::Error => "error",
        }
    }

    fn from_u8(v: u8) -> BotState {
        match v {
            1 => BotState::Polling,
            2 => BotState::Webhook,
            3 => BotState::Error,
            _ => BotState::Disabled,
        }
    }
}

/// Live health facts shared between the parts of the server.
#[derive(Debug, Default)]
pub struct Health {
    bot: AtomicU8,
}

impl Health {
    pub fn set_bot(&self, s: BotState) {
        self.bot.store(s as u8, Ordering::Relaxed);
    }
    pub fn bot(&self) -> BotState {
        BotState::from_u8(self.bot.load(Ordering::Relaxed))
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub health: Arc<Health>,
    pub started_at: std::time::Instant,
    pub throttle: Arc<panel::Throttle>,
    /// Downloads Telegram files for attachment links (when the bot runs).
    pub files: Option<crate::bot::FileFetcher>,
    /// Time zone for dates shown and typed in the panel.
    pub tz: chrono_tz::Tz,
    /// Checks the Mini App's Telegram launch data (empty token: the Mini App API refuses all).
    pub miniapp: miniapp::MiniAppAuth,
    /// In Telegram webhook mode: where `POST /telegram/webhook` hands updates to the bot.
    pub webhook: Option<crate::bot::WebhookInbox>,
    /// Stock import uploads parsed and waiting to be applied.
    pub imports: Arc<stock_import::Pending>,
}

impl AppState {
    pub fn new(service: Service, health: Arc<Health>) -> AppState {
        AppState {
            service,
            health,
            started_at: std::time::Instant::now(),
            throttle: Arc::default(),
            files: None,
            tz: chrono_tz::Europe::Moscow,
            miniapp: miniapp::MiniAppAuth::default(),
            webhook: None,
            imports: Arc::default(),
        }
    }
}

/// Runs blocking service work (redb, argon2) off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(ServiceError::Conflict(format!("internal error: {e}"))))
}

/// Largest form body accepted.
const MAX_FORM: u64 = 64 * 1024;

const STYLE_CSS: &str = include_str!("../../assets/style.css");

#[derive(Serialize)]
struct HealthBody {
    status: &'static str,
    version: &'static str,
    db: String,
    bot: &'static str,
    outbox_pending: u64,
    outbox_failed: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    failing: Vec<String>,
    /// Health checks of the scheduler that are failing (disk, snapshot age, Telegram …):
    /// reported and alerted, but the server itself still serves.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    warnings: std::collections::BTreeMap<String, String>,
}

/// All routes of the server.
pub fn routes(
    state: AppState,
) -> impl Filter<Extract = (impl warp::Reply,), Error = Infallible> + Clone {
    // The Mini App answers with its own security headers (framed by Telegram Web, loads
    // Telegram's script), so it is composed outside the panel's header layer.
    let app = miniapp::routes(state.clone());
    let areas = api::routes(state.clone())
        .or(api_tokens::routes(state.clone()))
        .unify()
        .or(telegram::routes(state.clone()))
        .unify()
        .or(tickets::routes(state.clone()))
        .unify()
        .or(faq::routes(state.clone()))
        .unify()
        .or(stock_import::routes(state.clone()))
        .unify()
        .or(stock::routes(state.clone()))
        .unify()
        .or(people::routes(state.clone()))
        .unify()
        .or(logs::routes(state.clone()))
        .unify()
        .or(broadcast::routes(state.clone()))
        .unify()
        .or(archives::routes(state.clone()))
        .unify()
        .or(reports::routes(state.clone()))
        .unify()
        .or(settings::routes(state.clone()))
        .unify();
    let with_state = warp::any().map(move || state.clone());
    let form = warp::body::content_length_limit(MAX_FORM)
        .and(warp::body::form::<HashMap<String, String>>());
    let session = with_state
        .clone()
        .and(warp::cookie::optional::<String>(panel::SESSION_COOKIE))
        .and_then(panel::authenticate);
    let csrf_cookie = warp::cookie::optional::<String>(panel::CSRF_COOKIE);

    let healthz = warp::path!("healthz")
        .and(warp::get())
        .and(with_state.clone())
        .then(healthz);
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(with_state.clone())
        .then(metrics);
    let style = warp::path!("static" / "style.css")
        .and(warp::get())
        .map(|| {
            warp::reply::with_header(
                warp::reply::with_header(STYLE_CSS, "content-type", "text/css; charset=utf-8"),
                "cache-control",
                "public, max-age=3600",
            )
        });
    let login_page = warp::path!("login")
        .and(warp::get())
        .and(with_state.clone())
        .and(csrf_cookie)
        .and(warp::query::<HashMap<String, String>>())
        .then(panel::login_page);
    let login_submit = warp::path!("login")
        .and(warp::post())
        .and(with_state.clone())
        .and(warp::addr::remote())
        .and(csrf_cookie)
        .and(form)
        .then(panel::login_submit);
    let logout = warp::path!("logout")
        .and(warp::post())
        .and(with_state.clone())
        .and(session.clone())
        .and(form)
        .then(panel::logout);
    let setup_page = warp::path!("setup" / String)
        .and(warp::get())
        .and(with_state.clone())
        .and(csrf_cookie)
        .then(|token, state, csrf| panel::setup_page(state, token, csrf));
    let setup_submit = warp::path!("setup" / String)
        .and(warp::post())
        .and(with_state.clone())
        .and(csrf_cookie)
        .and(form)
        .then(|token, state, csrf, form| panel::setup_submit(state, token, csrf, form));
    let digest = warp::path!("digest")
        .and(warp::post())
        .and(with_state.clone())
        .and(session.clone())
        .and(form)
        .then(panel::digest_toggle);
    let dashboard = warp::path::end()
        .and(warp::get())
        .and(with_state.clone())
        .and(session.clone())
        .then(panel::dashboard);

    let panel = healthz
        .or(metrics)
        .or(style)
        .or(login_page)
        .or(login_submit)
        .or(logout)
        .or(setup_page)
        .or(setup_submit)
        .or(dashboard)
        .or(digest)
        .or(areas)
        .recover(handle_rejection)
        .with(warp::reply::with::headers(security_headers()));
    app.or(panel)
}

fn security_headers() -> warp::http::HeaderMap {
    let mut h = warp::http::HeaderMap::new();
    h.insert(
        "x-content-type-options",
        "nosniff".parse().expect("static header"),
    );
    h.insert("x-frame-options", "DENY".parse().expect("static header"));
    h.insert(
        "referrer-policy",
        "same-origin".parse().expect("static header"),
    );
    h.insert(
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
            .parse()
            .expect("static header"),
    );
    h
}

/// (outbox pending, outbox failed, failing health checks).
type HealthFacts = (u64, u64, Vec<(String, String)>);

async fn healthz(state: AppState) -> warp::reply::Response {
    let svc = state.service.clone();
    let facts = tokio::task::spawn_blocking(move || -> Result<HealthFacts, String> {
        svc.db_ok().map_err(|e| e.to_string())?;
        let failing = svc.failing_health().map_err(|e| e.to_string())?;
        let (p, f) = svc
            .read()
            .and_then(|tx| Ok(tx.outbox_counts()?))
            .map_err(|e| e.to_string())?;
        Ok((p, f, failing))
    })
    .await
    .unwrap_or_else(|e| Err(format!("health check panicked: {e}")));
    let bot = state.health.bot();
    let mut failing = Vec::new();
    let (db, pending, failed, checks) = match facts {
        Ok((p, f, c)) => ("ok".to_string(), p, f, c),
        Err(e) => {
            failing.push("db".to_string());
            (format!("error: {e}"), 0, 0, vec![])
        }
    };
    if bot == BotState::Error {
        failing.push("bot".to_string());
    }
    let ok = failing.is_empty();
    let body = HealthBody {
        status: if ok { "ok" } else { "error" },
        version: env!("CARGO_PKG_VERSION"),
        db,
        bot: bot.as_str(),
        outbox_pending: pending,
        outbox_failed: failed,
        failing,
        warnings: checks.into_iter().collect(),
    };
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    warp::reply::with_status(warp::reply::json(&body), code).into_response()
}

use warp::Reply;

async fn metrics(state: AppState) -> warp::reply::Response {
    let svc = state.service.clone();
    let uptime = state.started_at.elapsed().as_secs_f64();
    let bot = state.health.bot();
    let text = tokio::task::spawn_blocking(move || -> Result<String, String> {
        let tx = svc.read().map_err(|e| e.to_string())?;
        let mut out = String::new();
        out.push_str("# HELP helpdesk_up 1 when the database answers.\n# TYPE helpdesk_up gauge\nhelpdesk_up 1\n");
        out.push_str(&format!(
            "# HELP helpdesk_info Build information.\n# TYPE helpdesk_info gauge\nhelpdesk_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        ));
        out.push_str(&format!(
            "# HELP helpdesk_uptime_seconds Seconds since start.\n# TYPE helpdesk_uptime_seconds gauge\nhelpdesk_uptime_seconds {uptime:.0}\n"
        ));
        out.push_str("# HELP helpdesk_tickets Tickets by status.\n# TYPE helpdesk_tickets gauge\n");
        for (status, n) in tx.ticket_status_counts().map_err(|e| e.to_string())? {
            out.push_str(&format!("helpdesk_tickets{{status=\"{status}\"}} {n}\n"));
        }
        let (pending, failed) = tx.outbox_counts().map_err(|e| e.to_string())?;
        out.push_str(&format!(
            "# HELP helpdesk_outbox_pending Messages waiting for delivery.\n# TYPE helpdesk_outbox_pending gauge\nhelpdesk_outbox_pending {pending}\n"
        ));
        out.push_str(&format!(
            "# HELP helpdesk_outbox_failed Messages whose delivery gave up.\n# TYPE helpdesk_outbox_failed gauge\nhelpdesk_outbox_failed {failed}\n"
        ));
        out.push_str(&format!(
            "# HELP helpdesk_db_bytes Size of the database file.\n# TYPE helpdesk_db_bytes gauge\nhelpdesk_db_bytes {}\n",
            svc.store().file_size()
        ));
        if let Some((ready, docs)) = svc.ticket_index_state() {
            out.push_str(&format!(
                "# HELP helpdesk_ticket_index_ready 1 when full-text ticket search has caught up with the database.\n# TYPE helpdesk_ticket_index_ready gauge\nhelpdesk_ticket_index_ready {}\n",
                u8::from(ready)
            ));
            out.push_str(&format!(
                "# HELP helpdesk_ticket_index_docs Tickets in the full-text index.\n# TYPE helpdesk_ticket_index_docs gauge\nhelpdesk_ticket_index_docs {docs}\n"
            ));
        }
        let failing = svc.failing_health().map_err(|e| e.to_string())?;
        out.push_str("# HELP helpdesk_health_ok 1 when the scheduled health check passes.\n# TYPE helpdesk_health_ok gauge\n");
        for check in crate::service::HEALTH_CHECKS {
            let ok = !failing.iter().any(|(c, _)| c == check);
            out.push_str(&format!("helpdesk_health_ok{{check=\"{check}\"}} {}\n", u8::from(ok)));
        }
        out.push_str(&format!(
            "# HELP helpdesk_bot_up 1 when the Telegram bot is running.\n# TYPE helpdesk_bot_up gauge\nhelpdesk_bot_up{{state=\"{}\"}} {}\n",
            bot.as_str(),
            u8::from(matches!(bot, BotState::Polling | BotState::Webhook))
        ));
        Ok(out)
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    match text {
        Ok(t) => warp::reply::with_header(
            t,
            "content-type",
            "text/plain; version=0.0.4; charset=utf-8",
        )
        .into_response(),
        Err(e) => warp::reply::with_status(
            warp::reply::with_header(
                format!("# database error: {e}\nhelpdesk_up 0\n"),
                "content-type",
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            StatusCode::SERVICE_UNAVAILABLE,
        )
        .into_response(),
    }
}

/// Turns every rejection into a plain answer with the right status.
async fn handle_rejection(r: warp::Rejection) -> Result<warp::reply::Response, Infallible> {
    if r.find::<panel::NoSession>().is_some() {
        let mut resp = warp::reply::with_status("", StatusCode::SEE_OTHER).into_response();
        resp.headers_mut().insert(
            warp::http::header::LOCATION,
            "/login".parse().expect("static header"),
        );
        return Ok(resp);
    }
    let (code, msg) = if r.is_not_found() {
        (StatusCode::NOT_FOUND, "not found")
    } else if r.find::<warp::reject::MethodNotAllowed>().is_some() {
        (StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
    } else if r.find::<warp::reject::PayloadTooLarge>().is_some() {
        (StatusCode::PAYLOAD_TOO_LARGE, "request too large")
    } else {
        (StatusCode::BAD_REQUEST, "bad request")
    };
    Ok(warp::reply::with_status(msg, code).into_response())
}
