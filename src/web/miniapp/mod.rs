//! The Telegram Mini App: `/app` (one maud page, a stylesheet and a script embedded from
//! `assets/`) and its JSON API under `/app/api/`.
//!
//! Every API call carries `Authorization: tma <initData>`; the launch data is checked as
//! Telegram documents ([`init_data`]) with the bot token and the `web.miniapp_max_age` window
//! **before anything is read**. Refusals: 401 (missing, malformed, forged, stale or future
//! data — also for unknown `/app/api/` paths), 403 `not_registered` (a genuine Telegram user
//! who has not registered with the bot: the answer tells them to send /start) and 403
//! `blocked`. A ticket of someone else is 404, as if it did not exist.
//!
//! `/app` has its own security headers: Telegram shows the app in its WebView and, on
//! Telegram Web, in an iframe of `web.telegram.org`, and the page loads Telegram's
//! `telegram-web-app.js`. So: no `X-Frame-Options`, `frame-ancestors` limited to Telegram Web,
//! `script-src 'self' https://telegram.org`, still no inline script. The panel's stricter
//! headers are untouched.

pub mod init_data;
mod texts;

use std::convert::Infallible;

use serde::Deserialize;
use serde_json::{Value, json};
use warp::Filter;
use warp::Reply;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, Method, StatusCode, header};
use warp::reply::Response;

use super::{AppState, blocking};
use crate::config::Secret;
use crate::domain::{
    Actor, Category, EventKind, Language, Priority, Requester, Source, Ticket, TicketEvent,
    validate,
};
use crate::service::{NewTicket, Service, ServiceError};
use crate::store::{Reads, TicketFilter};

const APP_JS: &str = include_str!("../../../assets/miniapp.js");
const APP_CSS: &str = include_str!("../../../assets/miniapp.css");
/// Telegram's Mini App script (docs: core.telegram.org/bots/webapps#initializing-mini-apps).
pub const TELEGRAM_JS: &str = "https://telegram.org/js/telegram-web-app.js";
/// Largest JSON body accepted.
const MAX_BODY: u64 = 64 * 1024;
/// Tickets listed at most.
const LIST_LIMIT: usize = 50;

/// What the API needs to check launch data: the bot token and the age window.
#[derive(Clone, Default)]
pub struct MiniAppAuth {
    token: Secret,
    max_age: u64,
}

impl MiniAppAuth {
    /// `token` empty: every API call is refused (the bot is not configured).
    pub fn new(token: Secret, max_age: u64) -> MiniAppAuth {
        MiniAppAuth { token, max_age }
    }
}

impl std::fmt::Debug for MiniAppAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniAppAuth")
            .field("token", &"[hidden]")
            .field("max_age", &self.max_age)
            .finish()
    }
}

/// The `/app` routes, each answer with the Mini App's own security headers.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let st = move || {
        let s = state.clone();
        warp::any().map(move || s.clone())
    };
    let page = warp::path::end()
        .and(warp::get())
        .map(|| html_page(page().into_string()));
    let js = warp::path!("static" / "app.js")
        .and(warp::get())
        .map(|| asset(APP_JS, "text/javascript; charset=utf-8"));
    let css = warp::path!("static" / "app.css")
        .and(warp::get())
        .map(|| asset(APP_CSS, "text/css; charset=utf-8"));
    let auth = || warp::header::optional::<String>("authorization");
    let api_get = warp::path("api")
        .and(warp::get())
        .and(warp::path::tail())
        .and(st())
        .and(auth())
        .and(raw_query())
        .then(|tail: warp::path::Tail, state, auth, q| async move {
            api_get(state, auth, tail.as_str().to_string(), q).await
        });
    let api_post = warp::path("api")
        .and(warp::post())
        .and(warp::path::tail())
        .and(st())
        .and(auth())
        .and(warp::body::content_length_limit(MAX_BODY))
        .and(warp::body::bytes())
        .then(
            |tail: warp::path::Tail, state, auth, body: bytes::Bytes| async move {
                api_post(state, auth, tail.as_str().to_string(), body.to_vec()).await
            },
        );
    let api_other = warp::path("api")
        .and(warp::method())
        .and(st())
        .and(auth())
        .then(api_other);
    let inner = page
        .or(js)
        .unify()
        .or(css)
        .unify()
        .or(api_get)
        .unify()
        .or(api_post)
        .unify()
        .or(api_other)
        .unify()
        .recover(|_r: warp::Rejection| async {
            Ok::<_, Infallible>(plain(StatusCode::NOT_FOUND, "not found"))
        })
        .unify()
        .map(|mut r: Response| {
            r.headers_mut().extend(headers());
            r
        });
    warp::path("app").and(inner).boxed()
}

/// The query string, or empty.
fn raw_query() -> BoxedFilter<(String,)> {
    warp::query::raw()
        .or(warp::any().map(String::new))
        .unify()
        .boxed()
}

/// Security headers of every `/app` answer.
pub fn headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    let mut put = |k: &'static str, v: &str| {
        h.insert(k, v.parse().expect("static header"));
    };
    put("x-content-type-options", "nosniff");
    put("referrer-policy", "no-referrer");
    put(
        "content-security-policy",
        "default-src 'self'; script-src 'self' https://telegram.org; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors https://web.telegram.org \
         https://webk.telegram.org https://webz.telegram.org",
    );
    h
}

fn html_page(body: String) -> Response {
    let mut r = warp::reply::html(body).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, "no-cache".parse().expect("static"));
    r
}

fn asset(body: &'static str, ctype: &'static str) -> Response {
    let mut r = Response::new(body.into());
    r.headers_mut()
        .insert(header::CONTENT_TYPE, ctype.parse().expect("static"));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, "no-cache".parse().expect("static"));
    r
}

fn plain(code: StatusCode, text: &'static str) -> Response {
    warp::reply::with_status(text, code).into_response()
}

/// The page: a frame the script fills. Without Telegram it says where to open it.
fn page() -> maud::Markup {
    maud::html! {
        (maud::DOCTYPE)
        html lang="ru" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover";
                meta name="color-scheme" content="light dark";
                title { "Helpdesk" }
                link rel="stylesheet" href="/app/static/app.css";
                script src=(TELEGRAM_JS) async id="tg-sdk" {}
                script src="/app/static/app.js" defer {}
            }
            body {
                header #top {
                    h1 #title { "Helpdesk" }
                    nav #tabs hidden {
                        button type="button" #tab-tickets .tab .active data-view="list" {}
                        button type="button" #tab-new .tab data-view="new" {}
                    }
                }
                p #notice role="status" hidden {}
                main {
                    section #boot {
                        p .muted {
                            "Откройте приложение из Telegram-бота. · "
                            "Відкрийте застосунок із Telegram-бота. · "
                            "Open this app from the Telegram bot."
                        }
                    }
                    section #view-list hidden {
                        ul #tickets {}
                        p #empty .muted hidden {}
                        p #updated .muted {}
                    }
                    section #view-detail hidden {
                        button type="button" #back .link {}
                        div #detail {}
                    }
                    section #view-new hidden {
                        form #new-form novalidate {
                            label for="f-category" #l-category {}
                            select #f-category name="category" required {}
                            div #order-fields hidden {
                                label for="f-printer" #l-printer {}
                                select #f-printer name="printer" {}
                                label for="f-item" #l-item {}
                                select #f-item name="sku" {}
                                p #no-items .muted hidden {}
                                label for="f-quantity" #l-quantity {}
                                input #f-quantity name="quantity" type="number" min="1" step="1" value="1";
                            }
                            label for="f-description" #l-description {}
                            textarea #f-description name="description" rows="4" {}
                            label for="f-priority" #l-priority {}
                            select #f-priority name="priority" {}
                            p #form-error .error role="alert" hidden {}
                            button type="submit" #submit .primary {}
                        }
                    }
                }
            }
        }
    }
}

// ----- authentication -----

/// A registered requester whose launch data checked out.
struct Caller {
    requester: Requester,
}

impl Caller {
    fn actor(&self) -> Actor {
        Actor::Requester {
            tg_id: self.requester.tg_id,
        }
    }
    fn lang(&self) -> Language {
        self.requester.language
    }
}

/// A JSON answer, never cached.
fn json_reply(code: StatusCode, body: &Value) -> Response {
    let mut r = warp::reply::with_status(warp::reply::json(body), code).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
    r
}

fn error(code: StatusCode, kind: &str, message: &str) -> Response {
    json_reply(code, &json!({ "error": kind, "message": message }))
}

fn unauthorized(message: &str) -> Response {
    let mut r = error(StatusCode::UNAUTHORIZED, "unauthorized", message);
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, "tma".parse().expect("static"));
    r
}

/// Checks the header; reads nothing before the launch data is proven genuine and fresh.
async fn authenticate(state: &AppState, auth: Option<String>) -> Result<Caller, Response> {
    let Some(value) = auth else {
        return Err(unauthorized("missing header Authorization: tma <initData>"));
    };
    let (scheme, data) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if !scheme.eq_ignore_ascii_case("tma") {
        return Err(unauthorized(
            "the Authorization scheme must be tma (Authorization: tma <initData>)",
        ));
    }
    let auth = &state.miniapp;
    if auth.token.is_empty() {
        return Err(unauthorized(
            "the Mini App is off: the server has no bot token (telegram.token)",
        ));
    }
    let now = state.service.now();
    let data = init_data::validate(data.trim(), auth.token.expose(), now, auth.max_age)
        .map_err(|e| unauthorized(&e.to_string()))?;
    let user = data.user;
    let svc = state.service.clone();
    let found = blocking(move || Ok(svc.read()?.requester(user.id)?)).await;
    let lang = Language::from_telegram(user.language_code.as_deref())
        .unwrap_or(state.service.config().default_language);
    match found {
        Ok(Some(r)) if r.blocked => Err(error(
            StatusCode::FORBIDDEN,
            "blocked",
            texts::t(r.language, "err.blocked"),
        )),
        Ok(Some(requester)) => Ok(Caller { requester }),
        Ok(None) => Err(error(
            StatusCode::FORBIDDEN,
            "not_registered",
            texts::t(lang, "err.not_registered"),
        )),
        Err(e) => Err(service_error(&e)),
    }
}

fn service_error(e: &ServiceError) -> Response {
    let code = super::common::status_of(e);
    if code == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!("Mini App request failed: {e}");
    }
    let mut body = json!({ "error": e.kind(), "message": e.to_string() });
    if let ServiceError::Invalid(v) = e {
        body["field"] = json!(v.field);
    }
    json_reply(code, &body)
}

// ----- API -----

async fn api_get(state: AppState, auth: Option<String>, path: String, query: String) -> Response {
    let caller = match authenticate(&state, auth).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let svc = state.service.clone();
    let result = match parts.as_slice() {
        ["me"] => blocking(move || me(&svc, &caller)).await,
        ["tickets"] => blocking(move || list(&svc, &caller)).await,
        ["tickets", id] => match id.parse::<u64>() {
            Ok(id) => blocking(move || detail(&svc, &caller, id)).await,
            Err(_) => return error(StatusCode::NOT_FOUND, "not_found", "no such ticket"),
        },
        ["printers"] => {
            blocking(move || Ok(json!({ "printers": svc.printer_models(true)? }))).await
        }
        ["items"] => {
            let printer = url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "printer")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            blocking(move || items(&svc, &printer)).await
        }
        _ => return error(StatusCode::NOT_FOUND, "not_found", "no such API path"),
    };
    match result {
        Ok(v) => json_reply(StatusCode::OK, &v),
        Err(e) => service_error(&e),
    }
}

async fn api_post(state: AppState, auth: Option<String>, path: String, body: Vec<u8>) -> Response {
    let caller = match authenticate(&state, auth).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if path.trim_end_matches('/') != "tickets" {
        return error(StatusCode::NOT_FOUND, "not_found", "no such API path");
    }
    let form: NewTicketForm = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid",
                &format!("the body is not a ticket form: {e}"),
            );
        }
    };
    let svc = state.service.clone();
    match blocking(move || create(&svc, &caller, form)).await {
        Ok(v) => json_reply(StatusCode::CREATED, &v),
        Err(e) => service_error(&e),
    }
}

async fn api_other(method: Method, state: AppState, auth: Option<String>) -> Response {
    if let Err(r) = authenticate(&state, auth).await {
        return r;
    }
    if method == Method::POST {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid",
            "the body must have a length of at most 64 KiB",
        );
    }
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed",
    )
}

/// Words for a ticket's status, category and priority in `lang` (the bot's texts).
fn word(svc: &Service, tx: &impl Reads, lang: Language, key: &str) -> Result<String, ServiceError> {
    svc.text(tx, lang, key)
}

fn me(svc: &Service, c: &Caller) -> Result<Value, ServiceError> {
    let tx = svc.read()?;
    let lang = c.lang();
    let mut categories = Vec::new();
    for cat in Category::ALL
        .into_iter()
        .filter(|c| *c != Category::Conversation)
    {
        categories.push(json!({
            "value": cat.as_str(),
            "label": word(svc, &tx, lang, &format!("cat.{}", cat.as_str()))?,
        }));
    }
    let mut priorities = Vec::new();
    for p in Priority::ALL {
        priorities.push(json!({
            "value": p.as_str(),
            "label": word(svc, &tx, lang, &format!("prio.{}", p.as_str()))?,
        }));
    }
    Ok(json!({
        "id": c.requester.tg_id,
        "name": c.requester.name,
        "lang": lang.as_str(),
        "texts": texts::all(lang),
        "categories": categories,
        "priorities": priorities,
        "default_priority": Priority::Normal.as_str(),
        "max_quantity": validate::MAX_ORDER_QUANTITY,
        "max_text": validate::MAX_TEXT,
    }))
}

fn ticket_json(
    svc: &Service,
    tx: &impl Reads,
    lang: Language,
    t: &Ticket,
) -> Result<Value, ServiceError> {
    Ok(json!({
        "id": t.id,
        "number": t.number(),
        "subject": t.subject,
        "status": t.status.as_str(),
        "status_label": word(svc, tx, lang, t.status.text_key())?,
        "category": t.category.as_str(),
        "category_label": word(svc, tx, lang, &format!("cat.{}", t.category.as_str()))?,
        "priority": t.priority.as_str(),
        "priority_label": word(svc, tx, lang, &format!("prio.{}", t.priority.as_str()))?,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    }))
}

fn list(svc: &Service, c: &Caller) -> Result<Value, ServiceError> {
    let tx = svc.read()?;
    let filter = TicketFilter {
        requester: Some(c.requester.tg_id),
        ..Default::default()
    };
    let page = tx.tickets(&filter, 0, LIST_LIMIT)?;
    let mut out = Vec::with_capacity(page.tickets.len());
    for t in &page.tickets {
        out.push(ticket_json(svc, &tx, c.lang(), t)?);
    }
    Ok(json!({ "tickets": out, "now": svc.now() }))
}

fn fill(text: &str, args: &[(&str, &str)]) -> String {
    crate::domain::texts::render(text, args)
}

fn event_json(
    svc: &Service,
    tx: &impl Reads,
    lang: Language,
    e: &TicketEvent,
) -> Result<Option<Value>, ServiceError> {
    let status = |s: crate::domain::TicketStatus| word(svc, tx, lang, s.text_key());
    let prio = |p: Priority| word(svc, tx, lang, &format!("prio.{}", p.as_str()));
    let (kind, text, body) = match &e.kind {
        EventKind::Created => ("created", texts::t(lang, "ev.created").to_string(), None),
        EventKind::StatusChanged { from, to } => (
            "status",
            fill(
                texts::t(lang, "ev.status"),
                &[("from", &status(*from)?), ("to", &status(*to)?)],
            ),
            None,
        ),
        EventKind::Assigned { to } => (
            "assigned",
            fill(texts::t(lang, "ev.assigned"), &[("to", to)]),
            None,
        ),
        EventKind::PriorityChanged { from, to } => (
            "priority",
            fill(
                texts::t(lang, "ev.priority"),
                &[("from", &prio(*from)?), ("to", &prio(*to)?)],
            ),
            None,
        ),
        EventKind::PublicReply { text } => (
            "reply",
            texts::t(lang, "ev.reply").to_string(),
            Some(text.clone()),
        ),
        EventKind::InboundMessage { text } => (
            "message",
            texts::t(lang, "ev.message").to_string(),
            Some(text.clone()),
        ),
        EventKind::Attachment { name, .. } => (
            "attachment",
            fill(texts::t(lang, "ev.attachment"), &[("name", name)]),
            None,
        ),
        EventKind::Rejected { reason } => (
            "rejected",
            fill(texts::t(lang, "ev.rejected"), &[("reason", reason)]),
            None,
        ),
        EventKind::Rated { stars } => (
            "rated",
            fill(texts::t(lang, "ev.rated"), &[("stars", &stars.to_string())]),
            None,
        ),
        // Staff-only: never shown (the service already leaves them out for requesters).
        EventKind::InternalNote { .. } => return Ok(None),
    };
    Ok(Some(
        json!({ "at": e.at, "kind": kind, "text": text, "body": body }),
    ))
}

fn detail(svc: &Service, c: &Caller, id: u64) -> Result<Value, ServiceError> {
    let (t, events) = svc.timeline_for(&c.actor(), id)?;
    let tx = svc.read()?;
    let mut v = ticket_json(svc, &tx, c.lang(), &t)?;
    v["description"] = json!(t.description);
    v["assignee"] = json!(t.assignee);
    v["order_lines"] = json!(
        t.order_lines
            .iter()
            .map(|l| json!({ "sku": l.sku, "name": l.name, "quantity": l.quantity }))
            .collect::<Vec<_>>()
    );
    let mut timeline = Vec::new();
    for e in &events {
        if let Some(j) = event_json(svc, &tx, c.lang(), e)? {
            timeline.push(j);
        }
    }
    Ok(json!({ "ticket": v, "timeline": timeline }))
}

fn items(svc: &Service, printer: &str) -> Result<Value, ServiceError> {
    let items = svc.items_fitting(printer)?;
    Ok(json!({
        "printer": printer,
        "items": items
            .iter()
            .map(|i| json!({ "sku": i.sku, "name": i.name, "quantity": i.quantity }))
            .collect::<Vec<_>>(),
    }))
}

/// The new-ticket form as the page sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTicketForm {
    category: String,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    printer: Option<String>,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    quantity: Option<i64>,
    /// A random id the page makes per form: sending twice files one ticket.
    request_id: String,
}

fn invalid(field: &'static str, problem: impl Into<String>) -> ServiceError {
    validate::ValidationError::new(field, problem).into()
}

fn create(svc: &Service, c: &Caller, f: NewTicketForm) -> Result<Value, ServiceError> {
    let request_id = f.request_id.trim();
    if !(8..=64).contains(&request_id.len())
        || !request_id
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
    {
        return Err(invalid(
            "request_id",
            "must be 8 to 64 letters, digits, '-' or '_'",
        ));
    }
    let category = Category::parse(f.category.trim())
        .filter(|c| *c != Category::Conversation)
        .ok_or_else(|| invalid("category", "unknown value"))?;
    let priority = match f.priority.as_deref().map(str::trim) {
        None | Some("") => Priority::Normal,
        Some(p) => Priority::parse(p).ok_or_else(|| invalid("priority", "unknown value"))?,
    };
    // As in the bot: a description is required; its length is checked like the service does.
    let description = validate::text("description", &f.description, 1, validate::MAX_TEXT)?;
    let order = if category == Category::CartridgeOrder {
        let printer = f.printer.as_deref().map(str::trim).unwrap_or_default();
        if printer.is_empty() {
            return Err(invalid("printer", "choose the printer model"));
        }
        let sku = f.sku.as_deref().map(str::trim).unwrap_or_default();
        if sku.is_empty() {
            return Err(invalid("sku", "choose a cartridge"));
        }
        // Only what the form offered for this printer (the bot's list, the same query).
        if !svc.items_fitting(printer)?.iter().any(|i| i.sku == sku) {
            return Err(invalid("sku", format!("'{sku}' does not fit '{printer}'")));
        }
        let quantity = f
            .quantity
            .ok_or_else(|| invalid("quantity", "give a quantity"))?;
        let q = validate::order_quantity(quantity)?;
        vec![(sku.to_string(), i64::from(q))]
    } else {
        if f.sku.as_deref().is_some_and(|s| !s.trim().is_empty()) {
            return Err(invalid("order", "only cartridge orders carry items"));
        }
        vec![]
    };
    let fallback = svc.text(
        &svc.read()?,
        c.lang(),
        &format!("cat.{}", category.as_str()),
    )?;
    let new = NewTicket {
        requester: Some(c.requester.tg_id),
        requester_name: None,
        category,
        priority,
        subject: crate::domain::ticket::subject_from(&description, &fallback),
        description,
        order,
        source: Source::MiniApp,
        idempotency_key: Some(format!("app:{}:{request_id}", c.requester.tg_id)),
        attachments: vec![],
    };
    let t = svc.create_ticket(&c.actor(), new)?;
    let tx = svc.read()?;
    let ticket = ticket_json(svc, &tx, c.lang(), &t)?;
    Ok(json!({
        "ticket": ticket,
        "message": fill(texts::t(c.lang(), "new.sent"), &[("n", &t.number())]),
    }))
}
