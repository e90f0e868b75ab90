//! The REST API `/api/v1` for office scripts and integrations: tickets, stock and the FAQ as
//! JSON, authenticated by bearer tokens made in the panel (`/api-tokens`), described by the
//! OpenAPI document at `/api/v1/openapi.json`.
//!
//! [`ROUTES`] is the one table of what the API answers: the router dispatches by it and the
//! tests check it against the OpenAPI document both ways. Every failure has one JSON shape,
//! `{"error":{"code":…,"message":…,"field":…}}` (see [`ApiError`]). Request bodies refuse
//! unknown fields and wrong types, naming the field. Handlers only translate: each change is
//! one service call with the token as the actor (`api:<name>` in the audit trail). Bearer
//! tokens are not cookies, so there is no CSRF check here.

// Handlers return `Result<Response, ApiError>`; the error is a small struct.
#![allow(clippy::result_large_err)]

use chrono::SecondsFormat;
use futures::StreamExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, Method, StatusCode, header};
use warp::reply::Response;
use warp::{Buf, Filter, Reply};

use super::tickets::{ListQuery, list_page, parse_query};
use super::{AppState, blocking};
use crate::domain::stock::StockError;
use crate::domain::*;
use crate::service::{NewTicket, ServiceError};
use crate::store::Reads;

/// Where the API lives.
pub const BASE: &str = "/api/v1";
/// Largest request body accepted (bytes).
pub const MAX_BODY: usize = 64 * 1024;
/// Tickets per page unless `per_page` says otherwise, and the most it may say.
pub const DEFAULT_PER_PAGE: usize = 50;
pub const MAX_PER_PAGE: usize = 200;

/// The OpenAPI 3 document, served as is.
pub const OPENAPI: &str = include_str!("openapi.json");

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    OpenApi,
    ListTickets,
    CreateTicket,
    GetTicket,
    ChangeStatus,
    Reply,
    ListStock,
    MoveStock,
    ListFaq,
    CreateFaq,
    UpdateFaq,
}

/// One route: method, path pattern (`{name}` is one path segment), and whether it changes
/// something (a read-only token may not call it).
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub op: Op,
    pub write: bool,
    /// Answered without a token.
    pub public: bool,
}

const fn r(method: &'static str, path: &'static str, op: Op, write: bool) -> Route {
    Route {
        method,
        path,
        op,
        write,
        public: false,
    }
}

/// Every route of the API (paths relative to [`BASE`]).
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/openapi.json",
        op: Op::OpenApi,
        write: false,
        public: true,
    },
    r("GET", "/tickets", Op::ListTickets, false),
    r("POST", "/tickets", Op::CreateTicket, true),
    r("GET", "/tickets/{id}", Op::GetTicket, false),
    r("POST", "/tickets/{id}/status", Op::ChangeStatus, true),
    r("POST", "/tickets/{id}/replies", Op::Reply, true),
    r("GET", "/stock", Op::ListStock, false),
    r("POST", "/stock/{sku}/moves", Op::MoveStock, true),
    r("GET", "/faq", Op::ListFaq, false),
    r("POST", "/faq", Op::CreateFaq, true),
    r("PUT", "/faq/{id}", Op::UpdateFaq, true),
];

/// Why a request found no route.
#[derive(Debug, PartialEq, Eq)]
pub enum NoRoute {
    NotFound,
    /// The path exists with other methods (listed for the `Allow` header).
    Method(Vec<&'static str>),
}

/// The route for `method` and `path` (relative to [`BASE`]) with its path parameters,
/// percent-decoded.
pub fn match_route(method: &str, path: &str) -> Result<(&'static Route, Vec<String>), NoRoute> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let mut allowed = Vec::new();
    for route in ROUTES {
        let pat: Vec<&str> = route.path.split('/').skip(1).collect();
        if pat.len() != segs.len() {
            continue;
        }
        let mut params = Vec::new();
        let mut ok = true;
        for (p, s) in pat.iter().zip(&segs) {
            if p.starts_with('{') {
                match percent_decode(s) {
                    Some(v) if !v.is_empty() => params.push(v),
                    _ => ok = false,
                }
            } else if p != s {
                ok = false;
            }
        }
        if !ok {
            continue;
        }
        if route.method == method {
            return Ok((route, params));
        }
        allowed.push(route.method);
    }
    if allowed.is_empty() {
        Err(NoRoute::NotFound)
    } else {
        Err(NoRoute::Method(allowed))
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes: Vec<u8> =
        url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned().into_bytes())?;
    String::from_utf8(bytes).ok()
}

/// A failed call, answered as `{"error":{"code","message","field"}}` with its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable machine name: `bad_request`, `unauthorized`, `forbidden`, `not_found`,
    /// `method_not_allowed`, `illegal_transition`, `conflict`, `stock_rule`, `too_large`,
    /// `invalid`, `internal`.
    pub code: &'static str,
    pub message: String,
    /// The field (JSON path or query parameter) at fault, when there is one.
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    fn field(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    fn bad_field(field: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("{field}: {message}"),
        )
        .field(field)
    }

    fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn into_response(self) -> Response {
        let body = json!({"error": {
            "code": self.code,
            "message": self.message,
            "field": self.field,
        }});
        let mut r = warp::reply::with_status(warp::reply::json(&body), self.status).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                "Bearer realm=\"helpdesk\"".parse().expect("static header"),
            );
        }
        r
    }
}

/// The one translation of service errors into API errors.
impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        let message = e.to_string();
        match e {
            ServiceError::Invalid(v) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).field(v.field)
            }
            ServiceError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", message),
            ServiceError::Forbidden(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
            }
            ServiceError::Transition(TransitionError::Illegal { .. }) => {
                ApiError::new(StatusCode::CONFLICT, "illegal_transition", message).field("action")
            }
            ServiceError::Transition(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).field("reason")
            }
            // Not enough in stock is a conflict with the state; the rest are bad values.
            ServiceError::Stock(StockError::Insufficient { .. } | StockError::NegativeBalance) => {
                ApiError::new(StatusCode::CONFLICT, "stock_rule", message).field("quantity")
            }
            ServiceError::Stock(s) => {
                let field = if s == StockError::NoteRequired {
                    "note"
                } else {
                    "quantity"
                };
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).field(field)
            }
            ServiceError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            ServiceError::Store(_) => {
                tracing::error!("API request failed: {message}");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "storage error; nothing was changed",
                )
            }
        }
    }
}

/// Parses a JSON body into `T`, naming the field of an unknown key, a wrong type or a missing
/// value (`order[0].quantity`).
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "a JSON object is required as the request body",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = match parsed {
        Ok(v) => v,
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let full = inner.to_string();
            let msg = full
                .rfind(" at line ")
                .map_or(full.as_str(), |i| &full[..i])
                .to_string();
            if !inner.is_data() {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!("the body is not valid JSON: {full}"),
                ));
            }
            // A missing field is reported at its parent: add its name.
            let missing = msg
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next());
            let field = match (missing, path.as_str()) {
                (Some(n), "." | "") => n.to_string(),
                (Some(n), p) => format!("{p}.{n}"),
                (None, "." | "") => String::new(),
                (None, p) => p.to_string(),
            };
            if field.is_empty() {
                return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_request", msg));
            }
            return Err(ApiError::bad_field(&field, msg));
        }
    };
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    Ok(value)
}

/// The API's filter: answers every request under `/api/v1` (never rejects, so the panel's
/// HTML error pages never answer an API call).
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::path("api")
        .and(warp::path("v1"))
        .and(warp::any().map(move || state.clone()))
        .and(warp::method())
        .and(warp::path::full())
        .and(warp::header::headers_cloned())
        .and(query)
        .and(warp::body::stream())
        .then(
            |state: AppState, method: Method, full: warp::path::FullPath, headers, query, body| async move {
                let path = full.as_str().strip_prefix(BASE).unwrap_or("").to_string();
                let body = read_body(&headers, body);
                match handle(state, method, path, headers.clone(), query, body).await {
                    Ok(r) => r,
                    Err(e) => e.into_response(),
                }
            },
        )
        .boxed()
}

/// Reads the body up to [`MAX_BODY`]; `too_large` beyond.
async fn read_body<S, B>(headers: &HeaderMap, body: S) -> Result<Vec<u8>, ApiError>
where
    S: futures::Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is larger than {MAX_BODY} bytes"),
        )
    };
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > MAX_BODY as u64
    {
        return Err(too_large());
    }
    let mut body = body;
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("the request body could not be read: {e}"),
            )
        })?;
        while chunk.has_remaining() {
            let part = chunk.chunk();
            if out.len() + part.len() > MAX_BODY {
                return Err(too_large());
            }
            out.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    Ok(out)
}

/// The bearer secret of the `Authorization` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, secret) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| secret.trim())
        .filter(|s| !s.is_empty())
}

async fn handle<F>(
    state: AppState,
    method: Method,
    path: String,
    headers: HeaderMap,
    query: String,
    body: F,
) -> Result<Response, ApiError>
where
    F: std::future::Future<Output = Result<Vec<u8>, ApiError>>,
{
    let (route, params) = match match_route(method.as_str(), &path) {
        Ok(x) => x,
        Err(NoRoute::NotFound) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no API route {BASE}{path}"),
            ));
        }
        Err(NoRoute::Method(allowed)) => {
            let mut r = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!(
                    "{method} is not allowed here; allowed: {}",
                    allowed.join(", ")
                ),
            )
            .into_response();
            if let Ok(v) = allowed.join(", ").parse() {
                r.headers_mut().insert(header::ALLOW, v);
            }
            return Ok(r);
        }
    };
    if route.public {
        // The only route answered without a token.
        debug_assert_eq!(route.op, Op::OpenApi);
        return Ok(
            warp::reply::with_header(OPENAPI, "content-type", "application/json").into_response(),
        );
    }
    let Some(secret) = bearer(&headers).map(str::to_string) else {
        return Err(ApiError::unauthorized(
            "missing bearer token (header 'Authorization: Bearer <token>')",
        ));
    };
    let svc = state.service.clone();
    let write = route.write;
    let actor = blocking(move || svc.api_caller(&secret, write))
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))?;
    let body = body.await?;
    let query: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let ctx = Ctx {
        state,
        actor,
        params,
        query,
        body,
    };
    match route.op {
        Op::OpenApi => unreachable!("answered above"),
        Op::ListTickets => list_tickets(ctx).await,
        Op::CreateTicket => create_ticket(ctx).await,
        Op::GetTicket => get_ticket(ctx).await,
        Op::ChangeStatus => change_status(ctx).await,
        Op::Reply => reply(ctx).await,
        Op::ListStock => list_stock(ctx).await,
        Op::MoveStock => move_stock(ctx).await,
        Op::ListFaq => list_faq(ctx).await,
        Op::CreateFaq => upsert_faq(ctx, None).await,
        Op::UpdateFaq => {
            let id = id_param(&ctx, 0)?;
            upsert_faq(ctx, Some(id)).await
        }
    }
}

/// What a handler gets.
struct Ctx {
    state: AppState,
    actor: Actor,
    params: Vec<String>,
    query: Vec<(String, String)>,
    body: Vec<u8>,
}

fn ok(status: StatusCode, body: Value) -> Result<Response, ApiError> {
    Ok(warp::reply::with_status(warp::reply::json(&body), status).into_response())
}

fn id_param(ctx: &Ctx, i: usize) -> Result<u64, ApiError> {
    let v = &ctx.params[i];
    v.parse::<u64>()
        .map_err(|_| ApiError::bad_field("id", format!("'{v}' is not a number")))
}

/// Refuses a query string on a route that takes none.
fn no_query(ctx: &Ctx) -> Result<(), ApiError> {
    match ctx.query.first() {
        Some((k, _)) => Err(ApiError::bad_field(k, "unknown query parameter")),
        None => Ok(()),
    }
}

fn time(t: Timestamp) -> Value {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| Value::String(d.to_rfc3339_opts(SecondsFormat::Secs, true)))
        .unwrap_or(Value::Null)
}

fn opt_time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, time)
}

fn ticket_json(t: &Ticket) -> Value {
    json!({
        "id": t.id,
        "number": t.number(),
        "status": t.status.as_str(),
        "priority": t.priority.as_str(),
        "category": t.category.as_str(),
        "subject": t.subject,
        "description": t.description,
        "requester": t.requester,
        "requester_name": t.requester_name,
        "department": t.department,
        "assignee": t.assignee,
        "source": t.source,
        "order": t.order_lines.iter().map(|l| json!({"sku": l.sku, "name": l.name, "quantity": l.quantity})).collect::<Vec<_>>(),
        "created_at": time(t.created_at),
        "updated_at": time(t.updated_at),
        "first_response_at": opt_time(t.first_response_at),
        "resolved_at": opt_time(t.resolved_at),
        "closed_at": opt_time(t.closed_at),
        "response_due": opt_time(t.response_due),
        "resolve_due": opt_time(t.resolve_due),
        "rejection_reason": t.rejection_reason,
        "rating": t.rating,
    })
}

fn event_json(e: &TicketEvent) -> Value {
    let mut v = json!({
        "seq": e.seq,
        "at": time(e.at),
        "actor": e.actor.to_string(),
    });
    let (kind, extra) = match &e.kind {
        EventKind::Created => ("created", json!({})),
        EventKind::StatusChanged { from, to } => (
            "status_changed",
            json!({"from": from.as_str(), "to": to.as_str()}),
        ),
        EventKind::Assigned { to } => ("assigned", json!({"to": to})),
        EventKind::PriorityChanged { from, to } => (
            "priority_changed",
            json!({"from": from.as_str(), "to": to.as_str()}),
        ),
        EventKind::PublicReply { text } => ("public_reply", json!({"text": text})),
        EventKind::InternalNote { text } => ("internal_note", json!({"text": text})),
        EventKind::InboundMessage { text } => ("inbound_message", json!({"text": text})),
        EventKind::Attachment { kind, name, .. } => {
            ("attachment", json!({"file_kind": kind, "name": name}))
        }
        EventKind::Rejected { reason } => ("rejected", json!({"reason": reason})),
        EventKind::Rated { stars } => ("rated", json!({"stars": stars})),
    };
    v["type"] = json!(kind);
    if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), extra) {
        obj.extend(extra);
    }
    v
}

fn stock_json(i: &StockItem) -> Value {
    json!({
        "sku": i.sku,
        "name": i.name,
        "kind": i.kind.as_str(),
        "printers": i.printers,
        "quantity": i.quantity,
        "min_level": i.min_level,
        "low": i.is_low(),
        "updated_at": time(i.updated_at),
    })
}

fn move_json(m: &StockMove) -> Value {
    json!({
        "id": m.id,
        "at": time(m.at),
        "sku": m.sku,
        "delta": m.delta,
        "reason": m.reason.as_str(),
        "ticket_id": m.ticket_id,
        "note": m.note,
        "balance_after": m.balance_after,
        "actor": m.actor.to_string(),
    })
}

fn faq_json(f: &FaqEntry) -> Value {
    json!({
        "id": f.id,
        "question": f.question,
        "alternatives": f.alternatives,
        "answer": f.answer,
        "enabled": f.enabled,
        "hits": f.hits,
        "helpful": f.helpful,
        "not_helpful": f.not_helpful,
        "updated_at": time(f.updated_at),
    })
}

/// Refuses (403) unless the token's role may do `action` (reads have no service call to ask).
fn allow(ctx: &Ctx, action: Action) -> Result<(), ApiError> {
    if role::allowed(ctx.actor.role(), action, None) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("not allowed: {action:?}"),
        ))
    }
}

async fn list_tickets(ctx: Ctx) -> Result<Response, ApiError> {
    allow(&ctx, Action::ViewAllTickets)?;
    let mut per_page = DEFAULT_PER_PAGE;
    let mut rest = Vec::new();
    for (k, v) in ctx.query {
        if k == "per_page" {
            per_page = v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_field(
                        "per_page",
                        format!("'{v}' is not a number from 1 to {MAX_PER_PAGE}"),
                    )
                })?;
        } else {
            rest.push((k, v));
        }
    }
    let q: ListQuery = parse_query(&rest, ctx.state.tz).map_err(|e| {
        let field = e.split(':').next().unwrap_or("").to_string();
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e).field(field)
    })?;
    let svc = ctx.state.service.clone();
    let page = q.page;
    let (tickets, has_more) = blocking(move || list_page(&svc, &q, per_page)).await?;
    ok(
        StatusCode::OK,
        json!({
            "tickets": tickets.iter().map(ticket_json).collect::<Vec<_>>(),
            "page": page,
            "per_page": per_page,
            "has_more": has_more,
        }),
    )
}

async fn get_ticket(ctx: Ctx) -> Result<Response, ApiError> {
    no_query(&ctx)?;
    let id = id_param(&ctx, 0)?;
    let svc = ctx.state.service.clone();
    let actor = ctx.actor.clone();
    let (t, events) = blocking(move || {
        let t = svc.ticket_for(&actor, id)?;
        Ok((t, svc.read()?.ticket_events(id)?))
    })
    .await?;
    ok(
        StatusCode::OK,
        json!({
            "ticket": ticket_json(&t),
            "timeline": events.iter().map(event_json).collect::<Vec<_>>(),
        }),
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTicketIn {
    /// Telegram id of a registered requester.
    #[serde(default)]
    requester: Option<i64>,
    /// The caller's name when there is no registered requester.
    #[serde(default)]
    requester_name: Option<String>,
    category: Category,
    #[serde(default = "normal")]
    priority: Priority,
    subject: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    order: Vec<OrderLineIn>,
    /// A key unique to this request: repeating the call returns the same ticket.
    #[serde(default)]
    idempotency_key: Option<String>,
}

fn normal() -> Priority {
    Priority::Normal
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderLineIn {
    sku: String,
    quantity: i64,
}

/// Longest idempotency key.
const MAX_IDEMPOTENCY_KEY: usize = 200;

async fn create_ticket(ctx: Ctx) -> Result<Response, ApiError> {
    no_query(&ctx)?;
    let input: NewTicketIn = parse_body(&ctx.body)?;
    if let Some(k) = &input.idempotency_key
        && (k.is_empty() || k.chars().count() > MAX_IDEMPOTENCY_KEY)
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("idempotency_key: must be 1 to {MAX_IDEMPOTENCY_KEY} characters"),
        )
        .field("idempotency_key"));
    }
    let token = ctx.actor.to_string();
    let new = NewTicket {
        requester: input.requester,
        requester_name: input.requester_name.filter(|n| !n.trim().is_empty()),
        category: input.category,
        priority: input.priority,
        subject: input.subject,
        description: input.description,
        order: input
            .order
            .into_iter()
            .map(|l| (l.sku, l.quantity))
            .collect(),
        source: Source::Api,
        // Keys of different tokens never collide.
        idempotency_key: input.idempotency_key.map(|k| format!("{token}:{k}")),
        attachments: vec![],
    };
    let svc = ctx.state.service.clone();
    let actor = ctx.actor.clone();
    let t = blocking(move || svc.create_ticket(&actor, new)).await?;
    ok(StatusCode::CREATED, json!({"ticket": ticket_json(&t)}))
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StatusActionIn {
    Take,
    AskRequester,
    Resolve,
    Close,
    Reopen,
    Reject,
    Assign,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusIn {
    action: StatusActionIn,
    /// Required for `reject`.
    #[serde(default)]
    reason: Option<String>,
    /// Required for `assign`: a staff login.
    #[serde(default)]
    assignee: Option<String>,
}

async fn change_status(ctx: Ctx) -> Result<Response, ApiError> {
    no_query(&ctx)?;
    let id = id_param(&ctx, 0)?;
    let input: StatusIn = parse_body(&ctx.body)?;
    use StatusActionIn as A;
    if input.reason.is_some() && !matches!(input.action, A::Reject) {
        return Err(ApiError::bad_field(
            "reason",
            "only the action 'reject' takes a reason",
        ));
    }
    if input.assignee.is_some() && !matches!(input.action, A::Assign) {
        return Err(ApiError::bad_field(
            "assignee",
            "only the action 'assign' takes an assignee",
        ));
    }
    let svc = ctx.state.service.clone();
    let actor = ctx.actor.clone();
    let t = blocking(move || {
        let action = match input.action {
            A::Take => TicketAction::Take,
            A::AskRequester => TicketAction::AskRequester,
            A::Resolve => TicketAction::Resolve,
            A::Close => TicketAction::Close,
            A::Reopen => TicketAction::Reopen,
            A::Reject => TicketAction::Reject {
                reason: input.reason.unwrap_or_default(),
            },
            A::Assign => {
                let login = input.assignee.unwrap_or_default();
                if login.trim().is_empty() {
                    return Err(ValidationError::new(
                        "assignee",
                        "name the staff login to assign the ticket to",
                    )
                    .into());
                }
                return svc.assign(&actor, id, login.trim());
            }
        };
        svc.change_status(&actor, id, action)
    })
    .await?;
    ok(StatusCode::OK, json!({"ticket": ticket_json(&t)}))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyIn {
    text: String,
}

async fn reply(ctx: Ctx) -> Result<Response, ApiError> {
    no_query(&ctx)?;
    let id = id_param(&ctx, 0)?;
    let input: ReplyIn = parse_body(&ctx.body)?;
    let svc = ctx.state.service.clone();
    let actor = ctx.actor.clone();
    let ev = blocking(move || svc.reply(&actor, id, &input.text)).await?;
    ok(StatusCode::CREATED, json!({"event": event_json(&ev)}))
}

async fn list_stock(ctx: Ctx) -> Result<Response, ApiError> {
    no_query(&ctx)?;
    allow(&ctx, Action::ViewStock)?;
    let svc = ctx.state.service.clone();
    let items = blocking(move || Ok(svc.read()?.stock_items()?)).await?;
    ok(
        StatusCode::OK,
        json!({"items": items.iter().map(stock_json).collect::<Vec<_>>()}),
    )
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum MoveReasonIn {
    Receipt,
    Issue,
    Adjustment,
    Import,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveIn {
    reason: MoveReasonIn,
    /// A positive count for receipts and issues, a signed correction for adjustments, the new
    /// balance for imports.
    quantity: i64,
    #[serde(default)]
    ticket_id: Option<u64>,
    #[serde(default)]
    note: String,
}

async fn move_stock(ctx: Ctx) -> Result<Response, ApiError> {
    no_query(&ctx)?;
    let sku = ctx.params[0].clone();
    let input: MoveIn = parse_body(&ctx.body)?;
    let reason = match input.reason {
        MoveReasonIn::Receipt => MoveReason::Receipt,
        MoveReasonIn::Issue => MoveReason::Issue,
        MoveReasonIn::Adjustment => MoveReason::Adjustment,
        MoveReasonIn::Import => MoveReason::Import,
    };
    let svc = ctx.state.service.clone();
    let actor = ctx.actor.clone();
    let (m, item) = blocking(move || {
        let m = svc.move_stock(
            &actor,
            &sku,
            reason,
            input.quantity,
            input.ticket_id,
            &input.note,
        )?;
        let item = svc.read()?.stock_item(&m.sku)?;
        Ok((m, item))
    })
    .await?;
    ok(
        StatusCode::CREATED,
        json!({"move": move_json(&m), "item": item.as_ref().map(stock_json)}),
    )
}

async fn list_faq(ctx: Ctx) -> Result<Response, ApiError> {
    no_query(&ctx)?;
    allow(&ctx, Action::ManageFaq)?;
    let svc = ctx.state.service.clone();
    let entries = blocking(move || Ok(svc.read()?.faq_all()?)).await?;
    ok(
        StatusCode::OK,
        json!({"entries": entries.iter().map(faq_json).collect::<Vec<_>>()}),
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaqIn {
    question: String,
    answer: String,
    #[serde(default)]
    alternatives: Vec<String>,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

async fn upsert_faq(ctx: Ctx, id: Option<u64>) -> Result<Response, ApiError> {
    no_query(&ctx)?;
    let input: FaqIn = parse_body(&ctx.body)?;
    let svc = ctx.state.service.clone();
    let actor = ctx.actor.clone();
    let e = blocking(move || {
        svc.upsert_faq(
            &actor,
            id,
            &input.question,
            &input.alternatives,
            &input.answer,
            input.enabled,
        )
    })
    .await?;
    let status = if id.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    ok(status, json!({"entry": faq_json(&e)}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// (METHOD, path) of every operation the OpenAPI document describes.
    fn documented() -> BTreeSet<(String, String)> {
        let doc: Value = serde_json::from_str(OPENAPI).expect("openapi.json is valid JSON");
        assert!(
            doc["openapi"].as_str().unwrap_or("").starts_with("3."),
            "an OpenAPI 3 document"
        );
        assert_eq!(doc["servers"][0]["url"], BASE);
        let mut out = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                if method == "parameters" {
                    continue;
                }
                assert!(
                    op["operationId"].is_string(),
                    "{method} {path}: operationId"
                );
                assert!(op["responses"].is_object(), "{method} {path}: responses");
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
        out
    }

    #[test]
    fn every_route_is_documented_and_every_documented_operation_is_routed() {
        let routed: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        assert_eq!(routed.len(), ROUTES.len(), "a route is listed twice");
        let documented = documented();
        let missing: Vec<_> = routed.difference(&documented).collect();
        assert!(
            missing.is_empty(),
            "routes missing from openapi.json: {missing:?}"
        );
        let extra: Vec<_> = documented.difference(&routed).collect();
        assert!(extra.is_empty(), "documented but not routed: {extra:?}");
    }

    #[test]
    fn documented_bodies_refuse_unknown_fields_and_writes_need_a_token() {
        let doc: Value = serde_json::from_str(OPENAPI).unwrap();
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            if name.ends_with("In") {
                assert_eq!(
                    schema["additionalProperties"],
                    Value::Bool(false),
                    "request schema {name} must say additionalProperties: false"
                );
            }
        }
        for route in ROUTES {
            let op = &doc["paths"][route.path][route.method.to_lowercase()];
            let security = op.get("security");
            if route.public {
                assert_eq!(
                    security,
                    Some(&json!([])),
                    "{} {}",
                    route.method,
                    route.path
                );
            } else {
                assert!(
                    security.is_none(),
                    "{} {} uses the global bearer scheme",
                    route.method,
                    route.path
                );
                assert!(
                    op["responses"]["401"].is_object(),
                    "{} {}: 401",
                    route.method,
                    route.path
                );
            }
            if route.write {
                assert!(
                    op["responses"]["403"].is_object(),
                    "{} {}: 403",
                    route.method,
                    route.path
                );
                assert!(
                    op["requestBody"].is_object(),
                    "{} {}: requestBody",
                    route.method,
                    route.path
                );
            }
        }
    }

    #[test]
    fn the_router_finds_every_route_by_its_table() {
        for route in ROUTES {
            let path = route.path.replace("{id}", "12").replace("{sku}", "CE285A");
            let (found, params) = match_route(route.method, &path).unwrap();
            assert_eq!(found.op, route.op, "{} {path}", route.method);
            assert_eq!(params.len(), route.path.matches('{').count());
        }
        let (_, p) = match_route("POST", "/stock/HP%2085A%2F2/moves").unwrap();
        assert_eq!(p, vec!["HP 85A/2".to_string()]);
        let (_, p) = match_route("GET", "/tickets/").unwrap();
        assert!(p.is_empty());
        assert_eq!(match_route("GET", "/nope").unwrap_err(), NoRoute::NotFound);
        assert_eq!(match_route("GET", "").unwrap_err(), NoRoute::NotFound);
        assert_eq!(
            match_route("GET", "/tickets/1/nope").unwrap_err(),
            NoRoute::NotFound
        );
        assert_eq!(
            match_route("DELETE", "/tickets").unwrap_err(),
            NoRoute::Method(vec!["GET", "POST"])
        );
    }

    #[test]
    fn bodies_name_the_field_at_fault() {
        let e = parse_body::<NewTicketIn>(br#"{"subject":"x","category":"network","colour":1}"#)
            .unwrap_err();
        assert_eq!(
            (e.status, e.field.as_deref()),
            (StatusCode::BAD_REQUEST, Some("colour"))
        );
        assert!(
            e.message.starts_with("colour: unknown field"),
            "{}",
            e.message
        );

        let e = parse_body::<NewTicketIn>(br#"{"subject":5,"category":"network"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("subject"));
        assert!(e.message.contains("invalid type"), "{}", e.message);

        let e = parse_body::<NewTicketIn>(br#"{"subject":"x","category":"coffee"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("category"));

        let e = parse_body::<NewTicketIn>(br#"{"subject":"x"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("category"));
        assert!(e.message.contains("missing field"), "{}", e.message);

        let e = parse_body::<NewTicketIn>(
            br#"{"subject":"x","category":"cartridge_order","order":[{"sku":"A","quantity":"two"}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("order[0].quantity"));
        let e = parse_body::<NewTicketIn>(
            br#"{"subject":"x","category":"cartridge_order","order":[{"sku":"A","quantity":1,"x":0}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("order[0].x"));

        for bad in [
            &b"{"[..],
            b"[1,2",
            b"{\"subject\":\"x\",\"category\":\"network\"} trailing",
            b"",
        ] {
            let e = parse_body::<NewTicketIn>(bad).unwrap_err();
            assert_eq!(
                (e.status, e.code, e.field.clone()),
                (StatusCode::BAD_REQUEST, "bad_request", None),
                "{bad:?}"
            );
        }
        let ok: NewTicketIn = parse_body(br#"{"subject":"x","category":"network"}"#).unwrap();
        assert_eq!(ok.priority, Priority::Normal);
    }

    #[test]
    fn service_errors_map_to_one_status_each() {
        let cases: Vec<(ServiceError, StatusCode, &str, Option<&str>)> = vec![
            (
                ValidationError::new("subject", "must not be empty").into(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some("subject"),
            ),
            (
                ServiceError::NotFound("ticket #9".into()),
                StatusCode::NOT_FOUND,
                "not_found",
                None,
            ),
            (
                ServiceError::Forbidden("no".into()),
                StatusCode::FORBIDDEN,
                "forbidden",
                None,
            ),
            (
                TransitionError::Illegal {
                    from: TicketStatus::Closed,
                    action: "resolve",
                }
                .into(),
                StatusCode::CONFLICT,
                "illegal_transition",
                Some("action"),
            ),
            (
                TransitionError::ReasonRequired.into(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some("reason"),
            ),
            (
                StockError::Insufficient {
                    available: 1,
                    requested: 2,
                }
                .into(),
                StatusCode::CONFLICT,
                "stock_rule",
                Some("quantity"),
            ),
            (
                StockError::NoteRequired.into(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                Some("note"),
            ),
            (
                ServiceError::Conflict("dup".into()),
                StatusCode::CONFLICT,
                "conflict",
                None,
            ),
        ];
        for (e, status, code, field) in cases {
            let a = ApiError::from(e);
            assert_eq!(
                (a.status, a.code, a.field.as_deref()),
                (status, code, field)
            );
        }
    }
}
