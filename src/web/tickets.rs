//! Ticket pages: the list with filters, text search, sorting and pagination (all kept in the
//! URL); the detail with its whole timeline, public reply, internal note and every action;
//! attachments fetched from Telegram through the server; a ticket filed for a caller.

use std::collections::HashMap;

use chrono::{NaiveDate, TimeZone};
use maud::{Markup, html};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::common::{
    self, Esc, LocalTime, allow, csrf, either, field, fmt_time, html as page, redirect,
    service_error,
};
use super::panel::StaffSession;
use super::{AppState, blocking, i18n::t, i18n::th, views};
use crate::domain::texts::default_text;
use crate::domain::*;
use crate::service::NewTicket;
use crate::store::{Reads, TicketFilter};

/// Tickets per page.
pub const PAGE: usize = 50;
/// Most tickets sorted in memory for sorts other than "newest".
const SORT_CAP: usize = 5_000;

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let s = || common::with_state(state.clone()).and(common::session(state.clone()));
    let list = warp::path!("tickets")
        .and(warp::get())
        .and(s())
        .and(common::query())
        .then(list);
    let new_page = warp::path!("tickets" / "new")
        .and(warp::get())
        .and(s())
        .then(new_page);
    let create = warp::path!("tickets" / "new")
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(create);
    let detail = warp::path!("tickets" / u64)
        .and(warp::get())
        .and(s())
        .then(|id, st, s| detail(st, s, id));
    let act = warp::path!("tickets" / u64 / String)
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(|id, action, st, s, f| act(st, s, id, action, f));
    let file = warp::path!("tickets" / u64 / "files" / u64)
        .and(warp::get())
        .and(s())
        .then(|id, seq, st, s| file(st, s, id, seq));
    list.or(new_page)
        .unify()
        .or(create)
        .unify()
        .or(detail)
        .unify()
        .or(act)
        .unify()
        .or(file)
        .unify()
        .boxed()
}

fn status_word(lang: Language, s: TicketStatus) -> &'static str {
    default_text(lang, s.text_key())
}

/// The parsed list query, or which field is wrong.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: TicketFilter,
    pub sort: String,
    pub page: usize,
    pub raw: Vec<(String, String)>,
}

/// Parses the list's query string; a bad value names its field.
pub fn parse_query(q: &[(String, String)], tz: chrono_tz::Tz) -> Result<ListQuery, String> {
    let mut out = ListQuery {
        sort: "newest".into(),
        page: 1,
        ..Default::default()
    };
    let day = |name: &str, v: &str| -> Result<i64, String> {
        let d = NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map_err(|_| format!("{name}: '{v}' is not a date (YYYY-MM-DD)"))?;
        let local = d.and_hms_opt(0, 0, 0).expect("midnight");
        tz.from_local_datetime(&local)
            .earliest()
            .map(|t| t.timestamp())
            .ok_or_else(|| format!("{name}: '{v}' does not exist in this time zone"))
    };
    for (k, v) in q {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        out.raw.push((k.clone(), v.to_string()));
        match k.as_str() {
            "status" if v == "open" => {
                out.filter.statuses = TicketStatus::ALL
                    .into_iter()
                    .filter(|s| s.is_open())
                    .collect();
            }
            "status" => out.filter.statuses.push(
                TicketStatus::parse(v).ok_or_else(|| format!("status: unknown value '{v}'"))?,
            ),
            "priority" => {
                out.filter.priority = Some(
                    Priority::parse(v).ok_or_else(|| format!("priority: unknown value '{v}'"))?,
                )
            }
            "category" => {
                out.filter.category = Some(
                    Category::parse(v).ok_or_else(|| format!("category: unknown value '{v}'"))?,
                )
            }
            "assignee" => out.filter.assignee = Some(v.to_lowercase()),
            "requester" => {
                out.filter.requester = Some(
                    v.parse::<i64>()
                        .map_err(|_| format!("requester: '{v}' is not a Telegram id"))?,
                )
            }
            "department" => out.filter.department = Some(v.to_string()),
            "from" => out.filter.created_from = Some(day("from", v)?),
            "to" => out.filter.created_to = Some(day("to", v)? + 86_400),
            "q" => {
                if v.chars().count() > 200 {
                    return Err("q: the search text is too long (at most 200 characters)".into());
                }
                out.filter.text = Some(v.to_string());
            }
            "sort" => {
                if !["newest", "oldest", "priority", "updated"].contains(&v) {
                    return Err(format!("sort: unknown value '{v}'"));
                }
                out.sort = v.to_string();
            }
            "page" => {
                out.page = v
                    .parse::<usize>()
                    .ok()
                    .filter(|p| (1..=100_000).contains(p))
                    .ok_or_else(|| format!("page: '{v}' is not a page number"))?
            }
            _ => return Err(format!("{k}: unknown filter")),
        }
    }
    if let (Some(f), Some(t)) = (out.filter.created_from, out.filter.created_to)
        && f >= t
    {
        return Err("from: must be before to".into());
    }
    Ok(out)
}

/// The page of the list `q` asks for (filters, sort, page of `per_page` tickets), and whether
/// more follow. Shared by the panel and the REST API.
pub fn list_page(
    svc: &crate::service::Service,
    q: &ListQuery,
    per_page: usize,
) -> crate::service::Result<(Vec<Ticket>, bool)> {
    // Full-text words become index hits (or stay a substring filter until the index is ready).
    let filter = svc.with_text_hits(&q.filter)?;
    let tx = svc.read()?;
    list_page_in(&tx, &filter, q, per_page, true)
}

/// [`list_page`] in a read transaction, for `filter` with its text already turned into index
/// hits; `with_description: false` leaves each ticket's description empty (the panel's list
/// shows none).
fn list_page_in(
    tx: &impl Reads,
    filter: &TicketFilter,
    q: &ListQuery,
    per_page: usize,
    with_description: bool,
) -> crate::service::Result<(Vec<Ticket>, bool)> {
    let read = |offset, limit| {
        if with_description {
            tx.tickets(filter, offset, limit)
        } else {
            tx.ticket_rows(filter, offset, limit)
        }
    };
    let offset = (q.page - 1) * per_page;
    if q.sort == "newest" {
        let p = read(offset, per_page)?;
        return Ok((p.tickets, p.has_more));
    }
    let mut all = read(0, SORT_CAP)?.tickets;
    match q.sort.as_str() {
        "oldest" => all.reverse(),
        "priority" => all.sort_by(|a, b| b.priority.cmp(&a.priority).then(b.id.cmp(&a.id))),
        _ => all.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id))),
    }
    let has_more = all.len() > offset + per_page;
    Ok((
        all.into_iter().skip(offset).take(per_page).collect(),
        has_more,
    ))
}

fn url_with(raw: &[(String, String)], key: &str, value: &str) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in raw.iter().filter(|(k, _)| k != key && k != "page") {
        ser.append_pair(k, v);
    }
    if !value.is_empty() {
        ser.append_pair(key, value);
    }
    format!("/tickets?{}", ser.finish())
}

async fn list(state: AppState, s: StaffSession, q: Vec<(String, String)>) -> Response {
    either(
        async {
            allow(&s, Action::ViewAllTickets)?;
            let lang = s.lang();
            let tz = state.tz;
            let query = match parse_query(&q, tz) {
                Ok(x) => x,
                Err(e) => return Err(common::error_page(&s, StatusCode::BAD_REQUEST, &e)),
            };
            let svc = state.service.clone();
            let qq = query.clone();
            // One page of reads (plus a full-text search when asked): run inline, the hop to
            // the blocking pool cost more than the reads (benches/panel_load.rs).
            let read = || -> Result<_, crate::service::ServiceError> {
                let filter = svc.with_text_hits(&qq.filter)?;
                let tx = svc.read()?;
                let (tickets, has_more) = list_page_in(&tx, &filter, &qq, PAGE, false)?;
                Ok((tickets, has_more, tx.staff_all()?))
            };
            let (tickets, has_more, staff) = read().map_err(|e| service_error(&s, &e))?;
            Ok(page(
                list_view(lang, &s, &query, &tickets, has_more, &staff, tz),
                StatusCode::OK,
            ))
        }
        .await,
    )
}

fn list_view(
    lang: Language,
    s: &StaffSession,
    q: &ListQuery,
    tickets: &[Ticket],
    has_more: bool,
    staff: &[Staff],
    tz: chrono_tz::Tz,
) -> Markup {
    let get = |k: &str| {
        q.raw
            .iter()
            .find(|(kk, _)| kk == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let body = html! {
        h1 { (th(lang, "nav.tickets")) }
        form.card.filters method="get" action="/tickets" {
            div.row {
                input type="search" name="q" value=(get("q")) placeholder=(th(lang, "tk.search")) maxlength="200";
                select name="status" {
                    option value="" { (th(lang, "tk.any_status")) }
                    option value="open" selected[get("status") == "open"] { (th(lang, "tk.open")) }
                    @for st in TicketStatus::ALL {
                        option value=(st.as_str()) selected[get("status") == st.as_str()] { (status_word(lang, st)) }
                    }
                }
                select name="priority" {
                    option value="" { (th(lang, "tk.any_priority")) }
                    @for p in Priority::ALL { option value=(p.as_str()) selected[get("priority") == p.as_str()] { (p.as_str()) } }
                }
                select name="category" {
                    option value="" { (th(lang, "tk.any_category")) }
                    @for c in Category::ALL { option value=(c.as_str()) selected[get("category") == c.as_str()] { (c.as_str()) } }
                }
                select name="assignee" {
                    option value="" { (th(lang, "tk.any_assignee")) }
                    @for st in staff { option value=(st.login) selected[get("assignee") == st.login] { (st.display_name) } }
                }
                input type="text" name="department" value=(get("department")) placeholder=(th(lang, "tk.department")) maxlength="100";
                input type="text" name="requester" value=(get("requester")) placeholder=(th(lang, "tk.requester_id")) maxlength="20";
                label { (th(lang, "tk.from")) input type="date" name="from" value=(get("from")); }
                label { (th(lang, "tk.to")) input type="date" name="to" value=(get("to")); }
                select name="sort" {
                    @for (v, key) in [("newest", "tk.sort_newest"), ("oldest", "tk.sort_oldest"), ("priority", "tk.sort_priority"), ("updated", "tk.sort_updated")] {
                        option value=(v) selected[q.sort == v] { (t(lang, key)) }
                    }
                }
                button type="submit" { (th(lang, "tk.apply")) }
                @if role::allowed(s.staff.role, Action::CreateTicketForOther, None) {
                    a.button href="/tickets/new" { (th(lang, "tk.new")) }
                }
            }
        }
        div.card {
            table #tickets {
                thead { tr {
                    th { "#" } th { (th(lang, "col.subject")) } th { (th(lang, "col.status")) } th { (th(lang, "col.priority")) }
                    th { (th(lang, "col.requester")) } th { (th(lang, "col.assignee")) } th { (th(lang, "tk.updated")) }
                } }
                tbody {
                    @for tk in tickets {
                        tr {
                            td { a href={ "/tickets/" (tk.id) } { "#" (tk.id) } }
                            td { a href={ "/tickets/" (tk.id) } { (Esc(&tk.subject)) } }
                            td { span.status { (status_word(lang, tk.status)) } }
                            td { (tk.priority.as_str()) }
                            td { (Esc(&tk.requester_name)) @if let Some(d) = &tk.department { " · " (Esc(d)) } }
                            td { (Esc(tk.assignee.as_deref().unwrap_or("—"))) }
                            td { (LocalTime(tk.updated_at, tz)) }
                        }
                    }
                }
            }
            @if tickets.is_empty() { p.muted { (th(lang, "tk.nothing")) } }
            p.pager {
                @if q.page > 1 { a href={ (url_with(&q.raw, "page", &(q.page - 1).to_string())) } { "← " (th(lang, "tk.prev")) } " " }
                span.muted { (th(lang, "tk.page")) " " (q.page) }
                @if has_more { " " a href={ (url_with(&q.raw, "page", &(q.page + 1).to_string())) } { (th(lang, "tk.next")) " →" } }
            }
        }
    };
    views::layout(
        lang,
        t(lang, "nav.tickets"),
        Some((&s.staff, &s.csrf)),
        body,
    )
}

async fn detail(state: AppState, s: StaffSession, id: u64) -> Response {
    either(
        async {
            allow(&s, Action::ViewAllTickets)?;
            let svc = state.service.clone();
            let actor = actor(&s);
            let (ticket, events, staff, requester) = blocking(move || {
                let t = svc.ticket_for(&actor, id)?;
                let tx = svc.read()?;
                let requester = match t.requester {
                    Some(r) => tx.requester(r)?,
                    None => None,
                };
                Ok((t, tx.ticket_events(id)?, tx.staff_all()?, requester))
            })
            .await
            .map_err(|e| service_error(&s, &e))?;
            Ok(page(
                detail_view(
                    &s,
                    &ticket,
                    &events,
                    &staff,
                    requester.as_ref(),
                    state.tz,
                    None,
                ),
                StatusCode::OK,
            ))
        }
        .await,
    )
}

fn actor(s: &StaffSession) -> Actor {
    Actor::Staff {
        login: s.staff.login.clone(),
        role: s.staff.role,
    }
}

fn detail_view(
    s: &StaffSession,
    tk: &Ticket,
    events: &[TicketEvent],
    staff: &[Staff],
    requester: Option<&Requester>,
    tz: chrono_tz::Tz,
    error: Option<&str>,
) -> Markup {
    let lang = s.lang();
    let can = |a: Action| role::allowed(s.staff.role, a, Some(tk.category));
    let form = |action: &str, body: Markup| {
        html! {
            form.inline method="post" action={ "/tickets/" (tk.id) "/" (action) } {
                input type="hidden" name="csrf" value=(s.csrf);
                (body)
            }
        }
    };
    let body = html! {
        h1 { (tk.number()) " " (tk.subject) }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        div.card {
            p {
                span.status #status { (status_word(lang, tk.status)) } " · " (tk.category.as_str()) " · " (tk.priority.as_str())
                " · " (t(lang, "col.assignee")) ": " (tk.assignee.as_deref().unwrap_or("—"))
            }
            p { (t(lang, "col.requester")) ": " (tk.requester_name)
                @if let Some(r) = requester {
                    @if let Some(p) = &r.phone { " · " (p) }
                    @if let Some(d) = &r.department { " · " (d) }
                    " · tg " (r.tg_id)
                }
            }
            p.muted { (t(lang, "tk.created")) " " (fmt_time(tk.created_at, tz)) " · " (t(lang, "tk.updated")) " " (fmt_time(tk.updated_at, tz)) }
            @if (tk.response_due.is_some() && tk.first_response_at.is_none()) || (tk.resolve_due.is_some() && tk.status.is_open()) {
                p #sla {
                    "SLA: "
                    @if let (Some(d), None) = (tk.response_due, tk.first_response_at) { (t(lang, "tk.response_due")) " " (fmt_time(d, tz)) " · " }
                    @if let (Some(d), true) = (tk.resolve_due, tk.status.is_open()) { (t(lang, "tk.resolve_due")) " " (fmt_time(d, tz)) }
                }
            }
            @if !tk.description.is_empty() { pre.description { (tk.description) } }
            @if !tk.order_lines.is_empty() {
                ul { @for l in &tk.order_lines { li { (l.name) " (" (l.sku) ") × " (l.quantity) } } }
            }
            @if let Some(r) = &tk.rejection_reason { p.error { "⛔ " (r) } }
            @if let Some(r) = tk.rating { p { "★ " (r) "/5" } }
        }
        div.card.actions {
            @if can(Action::TakeTicket) && matches!(tk.status, TicketStatus::New | TicketStatus::Reopened | TicketStatus::WaitingRequester) {
                (form("take", html! { button type="submit" { (t(lang, "tk.take")) } }))
            }
            @if can(Action::TakeTicket) && tk.status == TicketStatus::InProgress {
                (form("ask", html! { button type="submit" { (t(lang, "tk.ask")) } }))
            }
            @if can(Action::ResolveTicket) && tk.status == TicketStatus::InProgress {
                (form("resolve", html! { button type="submit" { (t(lang, "tk.resolve")) } }))
            }
            @if can(Action::ReopenTicket) && matches!(tk.status, TicketStatus::Resolved | TicketStatus::Closed | TicketStatus::Rejected) {
                (form("reopen", html! { button type="submit" { (t(lang, "tk.reopen")) } }))
            }
            @if can(Action::AssignTicket) && tk.status.is_open() {
                (form("assign", html! {
                    select name="login" {
                        @for st in staff.iter().filter(|st| !st.disabled && role::allowed(st.role, Action::TakeTicket, Some(tk.category))) {
                            option value=(st.login) selected[tk.assignee.as_deref() == Some(st.login.as_str())] { (st.display_name) }
                        }
                    }
                    button type="submit" { (t(lang, "tk.assign")) }
                }))
            }
            @if can(Action::ChangePriority) {
                (form("priority", html! {
                    select name="priority" {
                        @for p in Priority::ALL { option value=(p.as_str()) selected[p == tk.priority] { (p.as_str()) } }
                    }
                    button type="submit" { (t(lang, "tk.set_priority")) }
                }))
            }
            @if can(Action::RejectTicket) && matches!(tk.status, TicketStatus::New | TicketStatus::InProgress) {
                (form("reject", html! {
                    input type="text" name="reason" placeholder=(t(lang, "tk.reason")) maxlength="1000" required;
                    button type="submit" { (t(lang, "tk.reject")) }
                }))
            }
        }
        div.card {
            h2 { (t(lang, "tk.timeline")) }
            ol.timeline {
                @for e in events {
                    li {
                        span.muted { (fmt_time(e.at, tz)) " · " (e.actor.to_string()) } " "
                        @match &e.kind {
                            EventKind::Created => { (t(lang, "ev.created")) }
                            EventKind::StatusChanged { from, to } => { (status_word(lang, *from)) " → " b { (status_word(lang, *to)) } }
                            EventKind::Assigned { to } => { (t(lang, "ev.assigned")) " " (to) }
                            EventKind::PriorityChanged { from, to } => { (t(lang, "ev.priority")) " " (from.as_str()) " → " (to.as_str()) }
                            EventKind::PublicReply { text } => { b { (t(lang, "ev.reply")) } pre { (text) } }
                            EventKind::InternalNote { text } => { b { (t(lang, "ev.note")) } pre.note { (text) } }
                            EventKind::InboundMessage { text } => { b { (t(lang, "ev.inbound")) } pre { (text) } }
                            EventKind::Attachment { kind, name, .. } => {
                                (t(lang, "ev.attachment")) " "
                                a href={ "/tickets/" (tk.id) "/files/" (e.seq) } { (name) } " (" (kind) ")"
                            }
                            EventKind::Rejected { reason } => { (t(lang, "ev.rejected")) ": " (reason) }
                            EventKind::Rated { stars } => { "★ " (stars) "/5" }
                        }
                    }
                }
            }
        }
        @if can(Action::ReplyTicket) {
            div.card {
                (form("reply", html! {
                    label for="reply" { (t(lang, "tk.reply")) }
                    textarea #reply name="text" rows="4" maxlength="3800" required {}
                    button type="submit" { (t(lang, "tk.send_reply")) }
                }))
            }
        }
        @if can(Action::NoteTicket) {
            div.card {
                (form("note", html! {
                    label for="note" { (t(lang, "tk.note")) }
                    textarea #note name="text" rows="3" maxlength="4000" required {}
                    button type="submit" { (t(lang, "tk.add_note")) }
                }))
            }
        }
    };
    views::layout(lang, &tk.number(), Some((&s.staff, &s.csrf)), body)
}

async fn act(
    state: AppState,
    s: StaffSession,
    id: u64,
    action: String,
    form: HashMap<String, String>,
) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            let actor = actor(&s);
            let svc = state.service.clone();
            let f = form.clone();
            let result = blocking(move || -> crate::service::Result<()> {
                match action.as_str() {
                    "take" => svc
                        .change_status(&actor, id, TicketAction::Take)
                        .map(|_| ()),
                    "ask" => svc
                        .change_status(&actor, id, TicketAction::AskRequester)
                        .map(|_| ()),
                    "resolve" => svc
                        .change_status(&actor, id, TicketAction::Resolve)
                        .map(|_| ()),
                    "reopen" => svc
                        .change_status(&actor, id, TicketAction::Reopen)
                        .map(|_| ()),
                    "reject" => svc
                        .change_status(
                            &actor,
                            id,
                            TicketAction::Reject {
                                reason: field(&f, "reason").to_string(),
                            },
                        )
                        .map(|_| ()),
                    "assign" => svc.assign(&actor, id, field(&f, "login")).map(|_| ()),
                    "priority" => {
                        let p = Priority::parse(field(&f, "priority"))
                            .ok_or_else(|| ValidationError::new("priority", "unknown value"))?;
                        svc.set_priority(&actor, id, p).map(|_| ())
                    }
                    "reply" => svc.reply(&actor, id, field(&f, "text")).map(|_| ()),
                    "note" => svc.note(&actor, id, field(&f, "text")).map(|_| ()),
                    other => Err(crate::service::ServiceError::NotFound(format!(
                        "action '{other}'"
                    ))),
                }
            })
            .await;
            match result {
                Ok(()) => Ok(redirect(&format!("/tickets/{id}"))),
                Err(e) => Err(service_error(&s, &e)),
            }
        }
        .await,
    )
}

async fn new_page(state: AppState, s: StaffSession) -> Response {
    either(
        async {
            allow(&s, Action::CreateTicketForOther)?;
            let _ = state;
            Ok(page(new_view(&s, None, &HashMap::new()), StatusCode::OK))
        }
        .await,
    )
}

fn new_view(s: &StaffSession, error: Option<&str>, form: &HashMap<String, String>) -> Markup {
    let lang = s.lang();
    let v = |k: &str| form.get(k).cloned().unwrap_or_default();
    let body = html! {
        h1 { (t(lang, "tk.new")) }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        form.card method="post" action="/tickets/new" {
            input type="hidden" name="csrf" value=(s.csrf);
            label for="requester_name" { (t(lang, "tk.caller")) }
            input #requester_name type="text" name="requester_name" value=(v("requester_name")) maxlength="100" required;
            label for="requester" { (t(lang, "tk.requester_id")) }
            input #requester type="text" name="requester" value=(v("requester")) maxlength="20";
            label for="category" { (t(lang, "tk.category")) }
            select #category name="category" {
                @for c in Category::ALL.into_iter().filter(|c| *c != Category::CartridgeOrder) {
                    option value=(c.as_str()) selected[v("category") == c.as_str()] { (c.as_str()) }
                }
            }
            label for="priority" { (t(lang, "col.priority")) }
            select #priority name="priority" {
                @for p in Priority::ALL { option value=(p.as_str()) selected[v("priority") == p.as_str() || (v("priority").is_empty() && p == Priority::Normal)] { (p.as_str()) } }
            }
            label for="subject" { (t(lang, "col.subject")) }
            input #subject type="text" name="subject" value=(v("subject")) maxlength="200" required;
            label for="description" { (t(lang, "tk.description")) }
            textarea #description name="description" rows="5" maxlength="4000" { (v("description")) }
            button type="submit" { (t(lang, "tk.create")) }
        }
    };
    views::layout(lang, t(lang, "tk.new"), Some((&s.staff, &s.csrf)), body)
}

async fn create(state: AppState, s: StaffSession, form: HashMap<String, String>) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            allow(&s, Action::CreateTicketForOther)?;
            let bad = |msg: String| page(new_view(&s, Some(&msg), &form), StatusCode::BAD_REQUEST);
            let category = Category::parse(field(&form, "category"))
                .ok_or_else(|| bad("category: unknown value".into()))?;
            let priority = Priority::parse(field(&form, "priority"))
                .ok_or_else(|| bad("priority: unknown value".into()))?;
            let requester = match field(&form, "requester") {
                "" => None,
                v => Some(
                    v.parse::<i64>()
                        .map_err(|_| bad(format!("requester: '{v}' is not a Telegram id")))?,
                ),
            };
            let new = NewTicket {
                requester,
                requester_name: Some(field(&form, "requester_name").to_string())
                    .filter(|n| !n.is_empty()),
                category,
                priority,
                subject: field(&form, "subject").to_string(),
                description: field(&form, "description").to_string(),
                order: vec![],
                source: Source::Panel,
                idempotency_key: None,
                attachments: vec![],
            };
            let actor = actor(&s);
            let svc = state.service.clone();
            match blocking(move || svc.create_ticket(&actor, new)).await {
                Ok(t) => Ok(redirect(&format!("/tickets/{}", t.id))),
                Err(e) if e.kind() == "invalid" || e.kind() == "not_found" => {
                    Err(bad(e.to_string()))
                }
                Err(e) => Err(service_error(&s, &e)),
            }
        }
        .await,
    )
}

async fn file(state: AppState, s: StaffSession, id: u64, seq: u64) -> Response {
    use warp::Reply;
    either(
        async {
            allow(&s, Action::ViewAllTickets)?;
            let svc = state.service.clone();
            let events = blocking(move || Ok(svc.read()?.ticket_events(id)?))
                .await
                .map_err(|e| service_error(&s, &e))?;
            let Some((file_id, name)) =
                events
                    .into_iter()
                    .find(|e| e.seq == seq)
                    .and_then(|e| match e.kind {
                        EventKind::Attachment { file_id, name, .. } => Some((file_id, name)),
                        _ => None,
                    })
            else {
                return Err(common::error_page(
                    &s,
                    StatusCode::NOT_FOUND,
                    t(s.lang(), "err.not_found"),
                ));
            };
            let Some(files) = state.files.as_ref() else {
                return Err(common::error_page(
                    &s,
                    StatusCode::SERVICE_UNAVAILABLE,
                    t(s.lang(), "tk.no_bot"),
                ));
            };
            let (bytes, _path) = files
                .fetch(&file_id)
                .await
                .map_err(|e| common::error_page(&s, StatusCode::BAD_GATEWAY, &e))?;
            let safe: String = name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || ".-_".contains(*c))
                .collect();
            let mut r = warp::reply::with_header(bytes, "content-type", "application/octet-stream")
                .into_response();
            if let Ok(v) = format!(
                "attachment; filename=\"{}\"",
                if safe.is_empty() { "file" } else { &safe }
            )
            .parse()
            {
                r.headers_mut().insert("content-disposition", v);
            }
            Ok(r)
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn parses_filters_and_names_bad_fields() {
        let tz = chrono_tz::Europe::Moscow;
        let p = parse_query(
            &q(&[
                ("status", "new"),
                ("priority", "high"),
                ("from", "2026-01-01"),
                ("to", "2026-01-31"),
                ("page", "2"),
            ]),
            tz,
        )
        .unwrap();
        assert_eq!(p.filter.statuses, vec![TicketStatus::New]);
        assert_eq!(p.filter.priority, Some(Priority::High));
        assert_eq!(p.page, 2);
        assert_eq!(
            p.filter.created_to.unwrap() - p.filter.created_from.unwrap(),
            31 * 86_400
        );
        for (k, v, needle) in [
            ("status", "bogus", "status"),
            ("priority", "1", "priority"),
            ("from", "2026-13-01", "from"),
            ("to", "yesterday", "to"),
            ("page", "0", "page"),
            ("page", "x", "page"),
            ("requester", "abc", "requester"),
            ("sort", "random", "sort"),
            ("nope", "1", "nope"),
        ] {
            let e = parse_query(&q(&[(k, v)]), tz).unwrap_err();
            assert!(e.starts_with(needle), "{k}={v}: {e}");
        }
        assert!(parse_query(&q(&[("from", "2026-02-01"), ("to", "2026-01-01")]), tz).is_err());
        let open = parse_query(&q(&[("status", "open")]), tz).unwrap();
        assert_eq!(open.filter.statuses.len(), 4);
    }
}
