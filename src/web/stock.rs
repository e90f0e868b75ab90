//! Stock pages: the items table with low-stock marks and the 30-day forecast, an item's page
//! (description, receipt / issue / adjustment forms, movement history), and the new-item form.
//!
//! Item URLs are `/stock/{sku}` with the SKU percent-encoded ([`seg_encode`]); the handlers
//! decode it ([`seg_decode`]).

use std::collections::HashMap;

use maud::{Markup, html};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::common::{self, allow, csrf, either, field, html as page, redirect, service_error};
use super::panel::StaffSession;
use super::{AppState, blocking, i18n::t, views};
use crate::domain::stock::{days_until_stockout, reorder_suggestion};
use crate::domain::*;
use crate::service::ServiceError;
use crate::store::Reads;

/// Days of issues the forecast looks back on.
const WINDOW_DAYS: u32 = 30;
/// Days of stock a reorder suggestion covers.
const COVER_DAYS: u32 = 30;
/// Movements shown on an item's page.
const HISTORY: usize = 200;
/// Movements shown on the list page.
const RECENT: usize = 30;
/// Largest count one movement may carry.
const MAX_AMOUNT: i64 = 1_000_000;
/// Most printer models of one item.
const MAX_PRINTERS: usize = 100;

/// (key, ru, uk, en)
const TEXTS: &[(&str, &str, &str, &str)] = &[
    ("new", "Новая позиция", "Нова позиція", "New item"),
    ("sku", "Артикул", "Артикул", "SKU"),
    ("name", "Название", "Назва", "Name"),
    ("kind", "Тип", "Тип", "Kind"),
    (
        "printers",
        "Модели принтеров",
        "Моделі принтерів",
        "Printer models",
    ),
    (
        "printers_hint",
        "по одной в строке",
        "по одній у рядку",
        "one per line",
    ),
    ("qty", "Остаток", "Залишок", "Quantity"),
    ("min", "Минимум", "Мінімум", "Minimum"),
    ("low", "мало", "мало", "low"),
    ("days", "Хватит на, дней", "Вистачить на, днів", "Days left"),
    (
        "reorder",
        "Заказать на 30 дней",
        "Замовити на 30 днів",
        "Order for 30 days",
    ),
    ("save", "Сохранить", "Зберегти", "Save"),
    ("create", "Создать", "Створити", "Create"),
    ("edit", "Описание позиции", "Опис позиції", "Item details"),
    ("receipt", "Приход", "Надходження", "Receipt"),
    ("issue", "Выдача", "Видача", "Issue"),
    ("adjustment", "Корректировка", "Коригування", "Adjustment"),
    ("import", "Импорт", "Імпорт", "Import"),
    ("amount", "Количество", "Кількість", "Quantity"),
    ("signed", "Изменение (+/−)", "Зміна (+/−)", "Change (+/−)"),
    ("ticket", "Заявка (#12)", "Заявка (#12)", "Ticket (#12)"),
    ("note", "Примечание", "Примітка", "Note"),
    ("reason", "Причина", "Причина", "Reason"),
    ("record", "Провести", "Провести", "Record"),
    ("history", "Движение", "Рух", "Movements"),
    (
        "recent",
        "Последние движения",
        "Останні рухи",
        "Recent movements",
    ),
    ("when", "Когда", "Коли", "When"),
    ("what", "Операция", "Операція", "Operation"),
    ("change", "Изменение", "Зміна", "Change"),
    ("balance", "Остаток после", "Залишок після", "Balance after"),
    ("who", "Кто", "Хто", "Who"),
    (
        "nothing",
        "Позиций пока нет.",
        "Позицій поки немає.",
        "No items yet.",
    ),
    (
        "no_moves",
        "Движений пока нет.",
        "Рухів поки немає.",
        "No movements yet.",
    ),
    (
        "exists",
        "Позиция с таким артикулом уже есть.",
        "Позиція з таким артикулом вже є.",
        "An item with this SKU already exists.",
    ),
    (
        "not_number",
        "не целое число",
        "не ціле число",
        "is not a whole number",
    ),
    (
        "too_big",
        "слишком большое число",
        "завелике число",
        "is too large",
    ),
    (
        "not_ticket",
        "не номер заявки",
        "не номер заявки",
        "is not a ticket number",
    ),
    (
        "too_many_printers",
        "не больше 100 моделей",
        "не більше 100 моделей",
        "at most 100 models",
    ),
    ("kind.cartridge", "картридж", "картридж", "cartridge"),
    ("kind.toner", "тонер", "тонер", "toner"),
    ("kind.drum", "фотобарабан", "фотобарабан", "drum"),
    ("kind.paper", "бумага", "папір", "paper"),
    ("kind.other", "другое", "інше", "other"),
];

/// The page text `key` in `lang`.
fn tr(lang: Language, key: &str) -> &'static str {
    TEXTS
        .iter()
        .find(|(k, ..)| *k == key)
        .map(|(_, ru, uk, en)| match lang {
            Language::Ru => *ru,
            Language::Uk => *uk,
            Language::En => *en,
        })
        .unwrap_or("?")
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let s = || common::with_state(state.clone()).and(common::session(state.clone()));
    let list = warp::path!("stock").and(warp::get()).and(s()).then(list);
    let new_page = warp::path!("stock" / "new")
        .and(warp::get())
        .and(s())
        .then(new_page);
    let create = warp::path!("stock" / "new")
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(create);
    let item = warp::path!("stock" / String)
        .and(warp::get())
        .and(s())
        .then(|sku, st, s| item_page(st, s, sku));
    let save = warp::path!("stock" / String)
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(|sku, st, s, f| save(st, s, sku, f));
    let movement = warp::path!("stock" / String / String)
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(|sku, what, st, s, f| movement(st, s, sku, what, f));
    list.or(new_page)
        .unify()
        .or(create)
        .unify()
        .or(item)
        .unify()
        .or(save)
        .unify()
        .or(movement)
        .unify()
        .boxed()
}

/// Percent-encodes a path segment: everything but ASCII letters, digits, `-`, `_` and `~`
/// (so `.` and `..` stay segments), and `new` as `%6Eew` so it never means the new-item page.
pub(super) fn seg_encode(s: &str) -> String {
    if s == "new" {
        return "%6Eew".into();
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes a percent-encoded path segment; `None` when it is malformed or not UTF-8.
pub(super) fn seg_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn actor(s: &StaffSession) -> Actor {
    Actor::Staff {
        login: s.staff.login.clone(),
        role: s.staff.role,
    }
}

fn can(s: &StaffSession, a: Action) -> bool {
    role::allowed(s.staff.role, a, None)
}

fn kind_word(lang: Language, k: StockKind) -> &'static str {
    tr(lang, &format!("kind.{}", k.as_str()))
}

fn reason_word(lang: Language, r: MoveReason) -> &'static str {
    tr(lang, r.as_str())
}

fn fmt_time(t: Timestamp, tz: chrono_tz::Tz) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// An item with its forecast.
struct Row {
    item: StockItem,
    days: Option<f64>,
    reorder: i64,
}

fn row(item: StockItem, issued: &HashMap<String, i64>) -> Row {
    let n = issued.get(&item.sku).copied().unwrap_or(0);
    Row {
        days: days_until_stockout(item.quantity, n, WINDOW_DAYS),
        reorder: reorder_suggestion(item.quantity, item.min_level, n, WINDOW_DAYS, COVER_DAYS),
        item,
    }
}

fn window_start(state: &AppState) -> Timestamp {
    state.service.now() - i64::from(WINDOW_DAYS) * 86_400
}

async fn list(state: AppState, s: StaffSession) -> Response {
    either(
        async {
            allow(&s, Action::ViewStock)?;
            let svc = state.service.clone();
            let since = window_start(&state);
            let (rows, recent) = blocking(move || {
                let issued = svc.stock_issued_since(since)?;
                let tx = svc.read()?;
                let rows: Vec<Row> = tx
                    .stock_items()?
                    .into_iter()
                    .map(|i| row(i, &issued))
                    .collect();
                Ok((rows, tx.stock_moves_recent(RECENT)?))
            })
            .await
            .map_err(|e| service_error(&s, &e))?;
            Ok(page(
                list_view(&s, &rows, &recent, state.tz),
                StatusCode::OK,
            ))
        }
        .await,
    )
}

fn days_text(d: Option<f64>) -> String {
    d.map(|d| format!("{:.0}", d.floor()))
        .unwrap_or_else(|| "—".into())
}

fn list_view(s: &StaffSession, rows: &[Row], recent: &[StockMove], tz: chrono_tz::Tz) -> Markup {
    let lang = s.lang();
    let body = html! {
        h1 { (t(lang, "nav.stock")) }
        @if can(s, Action::ManageStock) {
            p {
                a.button href="/stock/new" { (tr(lang, "new")) } " "
                a.button #import-link href="/stock-import" { (tr(lang, "import")) }
            }
        }
        div.card {
            table #stock {
                thead { tr {
                    th { (tr(lang, "sku")) } th { (tr(lang, "name")) } th { (tr(lang, "kind")) }
                    th { (tr(lang, "printers")) } th { (tr(lang, "qty")) } th { (tr(lang, "min")) }
                    th { (tr(lang, "days")) } th { (tr(lang, "reorder")) }
                } }
                tbody {
                    @for r in rows {
                        tr {
                            td { a href={ "/stock/" (seg_encode(&r.item.sku)) } { (r.item.sku) } }
                            td { a href={ "/stock/" (seg_encode(&r.item.sku)) } { (r.item.name) } }
                            td { (kind_word(lang, r.item.kind)) }
                            td { (r.item.printers.join(", ")) }
                            td {
                                (r.item.quantity)
                                @if r.item.is_low() { " " span.error.low { "⚠ " (tr(lang, "low")) } }
                            }
                            td { (r.item.min_level) }
                            td { (days_text(r.days)) }
                            td { (r.reorder) }
                        }
                    }
                }
            }
            @if rows.is_empty() { p.muted { (tr(lang, "nothing")) } }
        }
        div.card {
            h2 { (tr(lang, "recent")) }
            (moves_table(lang, recent, tz, true))
        }
    };
    views::layout(lang, t(lang, "nav.stock"), Some((&s.staff, &s.csrf)), body)
}

fn moves_table(lang: Language, moves: &[StockMove], tz: chrono_tz::Tz, with_sku: bool) -> Markup {
    html! {
        @if moves.is_empty() {
            p.muted { (tr(lang, "no_moves")) }
        } @else {
            table.moves {
                thead { tr {
                    th { (tr(lang, "when")) }
                    @if with_sku { th { (tr(lang, "sku")) } }
                    th { (tr(lang, "what")) } th { (tr(lang, "change")) } th { (tr(lang, "balance")) }
                    th { (tr(lang, "ticket")) } th { (tr(lang, "who")) } th { (tr(lang, "note")) }
                } }
                tbody {
                    @for m in moves {
                        tr {
                            td { (fmt_time(m.at, tz)) }
                            @if with_sku { td { a href={ "/stock/" (seg_encode(&m.sku)) } { (m.sku) } } }
                            td { (reason_word(lang, m.reason)) }
                            td { (format!("{:+}", m.delta)) }
                            td { (m.balance_after) }
                            td { @if let Some(id) = m.ticket_id { a href={ "/tickets/" (id) } { "#" (id) } } }
                            td { (m.actor.to_string()) }
                            td { (m.note) }
                        }
                    }
                }
            }
        }
    }
}

/// The item form's fields: posted values, or the item's own.
fn item_fields(
    item: Option<&StockItem>,
    form: Option<&HashMap<String, String>>,
) -> HashMap<String, String> {
    if let Some(f) = form {
        return f.clone();
    }
    let mut m = HashMap::new();
    if let Some(i) = item {
        m.insert("sku".into(), i.sku.clone());
        m.insert("name".into(), i.name.clone());
        m.insert("kind".into(), i.kind.as_str().into());
        m.insert("printers".into(), i.printers.join("\n"));
        m.insert("min_level".into(), i.min_level.to_string());
    }
    m
}

/// The description form (new item when `sku` is `None`).
fn item_form(s: &StaffSession, sku: Option<&str>, v: &HashMap<String, String>) -> Markup {
    let lang = s.lang();
    let get = |k: &str| v.get(k).cloned().unwrap_or_default();
    let action = match sku {
        Some(sku) => format!("/stock/{}", seg_encode(sku)),
        None => "/stock/new".into(),
    };
    html! {
        form.card #item method="post" action=(action) {
            input type="hidden" name="csrf" value=(s.csrf);
            @if sku.is_none() {
                label for="sku" { (tr(lang, "sku")) }
                input #sku type="text" name="sku" value=(get("sku")) maxlength="64" required;
            }
            label for="name" { (tr(lang, "name")) }
            input #name type="text" name="name" value=(get("name")) maxlength="200" required;
            label for="kind" { (tr(lang, "kind")) }
            select #kind name="kind" {
                @for k in StockKind::ALL {
                    option value=(k.as_str()) selected[get("kind") == k.as_str()] { (kind_word(lang, k)) }
                }
            }
            label for="printers" { (tr(lang, "printers")) " (" (tr(lang, "printers_hint")) ")" }
            textarea #printers name="printers" rows="4" maxlength="10000" { (get("printers")) }
            label for="min_level" { (tr(lang, "min")) }
            input #min_level type="number" name="min_level" value=(get("min_level")) min="0" max="1000000" required;
            button type="submit" { (tr(lang, if sku.is_some() { "save" } else { "create" })) }
        }
    }
}

async fn new_page(state: AppState, s: StaffSession) -> Response {
    let _ = state;
    either(
        async {
            allow(&s, Action::ManageStock)?;
            let mut v = HashMap::new();
            v.insert("min_level".to_string(), "0".to_string());
            Ok(page(new_view(&s, None, &v), StatusCode::OK))
        }
        .await,
    )
}

fn new_view(s: &StaffSession, error: Option<&str>, v: &HashMap<String, String>) -> Markup {
    let lang = s.lang();
    let body = html! {
        p { a href="/stock" { "← " (t(lang, "nav.stock")) } }
        h1 { (tr(lang, "new")) }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        (item_form(s, None, v))
    };
    views::layout(lang, tr(lang, "new"), Some((&s.staff, &s.csrf)), body)
}

/// The description typed in a form, or what is wrong with it.
fn parse_item(
    lang: Language,
    form: &HashMap<String, String>,
) -> Result<(StockKind, Vec<String>, i64), String> {
    let kind =
        StockKind::parse(field(form, "kind")).ok_or_else(|| "kind: unknown value".to_string())?;
    let printers: Vec<String> = field(form, "printers")
        .lines()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    if printers.len() > MAX_PRINTERS {
        return Err(format!("printers: {}", tr(lang, "too_many_printers")));
    }
    let min = field(form, "min_level");
    let min_level = min
        .parse::<i64>()
        .map_err(|_| format!("min_level: '{}' {}", clip(min), tr(lang, "not_number")))?;
    Ok((kind, printers, min_level))
}

/// At most 40 characters of `s`, for echoing a bad value in a message.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

async fn create(state: AppState, s: StaffSession, form: HashMap<String, String>) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            allow(&s, Action::ManageStock)?;
            let lang = s.lang();
            let again = |msg: &str, code| page(new_view(&s, Some(msg), &form), code);
            let (kind, printers, min_level) =
                parse_item(lang, &form).map_err(|e| again(&e, StatusCode::BAD_REQUEST))?;
            let sku = field(&form, "sku").to_string();
            let name = field(&form, "name").to_string();
            let svc = state.service.clone();
            let actor = actor(&s);
            let result = blocking(move || {
                if svc.read()?.stock_item(sku.trim())?.is_some() {
                    return Ok(None);
                }
                svc.upsert_stock_item(&actor, &sku, &name, kind, &printers, min_level)
                    .map(Some)
            })
            .await;
            match result {
                Ok(Some(item)) => Ok(redirect(&format!("/stock/{}", seg_encode(&item.sku)))),
                Ok(None) => Err(again(tr(lang, "exists"), StatusCode::CONFLICT)),
                Err(e) if e.kind() == "invalid" => {
                    Err(again(&e.to_string(), StatusCode::BAD_REQUEST))
                }
                Err(e) => Err(service_error(&s, &e)),
            }
        }
        .await,
    )
}

/// A form to show again with what was typed and what went wrong.
struct Again<'a> {
    /// `item`, `receipt`, `issue` or `adjustment`.
    form: &'a str,
    values: &'a HashMap<String, String>,
    error: &'a str,
}

/// Loads an item and renders its page (404 page when there is no such SKU).
async fn render_item(
    state: &AppState,
    s: &StaffSession,
    sku: String,
    again: Option<Again<'_>>,
    code: StatusCode,
) -> Response {
    let svc = state.service.clone();
    let since = window_start(state);
    let key = sku.clone();
    let loaded = blocking(move || {
        let Some(item) = svc.read()?.stock_item(&key)? else {
            return Ok(None);
        };
        let issued = svc.stock_issued_since(since)?;
        let moves = svc.stock_moves_of(&key, HISTORY)?;
        Ok(Some((row(item, &issued), moves)))
    })
    .await;
    match loaded {
        Ok(Some((r, moves))) => page(item_view(s, &r, &moves, again, state.tz), code),
        Ok(None) => service_error(s, &ServiceError::NotFound(format!("stock item {sku}"))),
        Err(e) => service_error(s, &e),
    }
}

async fn item_page(state: AppState, s: StaffSession, sku: String) -> Response {
    either(
        async {
            allow(&s, Action::ViewStock)?;
            let sku = decode_or_404(&s, &sku).map_err(|r| *r)?;
            Ok(render_item(&state, &s, sku, None, StatusCode::OK).await)
        }
        .await,
    )
}

/// The SKU of an item URL's segment, or the 404 page to answer with.
fn decode_or_404(s: &StaffSession, raw: &str) -> Result<String, Box<Response>> {
    seg_decode(raw).ok_or_else(|| {
        Box::new(service_error(
            s,
            &ServiceError::NotFound(format!("stock item {raw}")),
        ))
    })
}

fn item_view(
    s: &StaffSession,
    r: &Row,
    moves: &[StockMove],
    again: Option<Again<'_>>,
    tz: chrono_tz::Tz,
) -> Markup {
    let lang = s.lang();
    let item = &r.item;
    let base = format!("/stock/{}", seg_encode(&item.sku));
    let empty = HashMap::new();
    let (err, which, vals) = match &again {
        Some(a) => (Some(a.error), a.form, a.values),
        None => (None, "", &empty),
    };
    let val = |form: &str, k: &str| {
        if which == form {
            vals.get(k).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let move_form = |what: &str, title: &str, body: Markup| {
        html! {
            form.card.movement #(what) method="post" action={ (base) "/" (what) } {
                h2 { (title) }
                input type="hidden" name="csrf" value=(s.csrf);
                (body)
                button type="submit" { (tr(lang, "record")) }
            }
        }
    };
    let body = html! {
        p { a href="/stock" { "← " (t(lang, "nav.stock")) } }
        h1 { (item.sku) " — " (item.name) }
        @if let Some(e) = err { p.error role="alert" { (e) } }
        div.card {
            p {
                (tr(lang, "qty")) ": " b #quantity { (item.quantity) }
                @if item.is_low() { " " span.error.low { "⚠ " (tr(lang, "low")) } }
                " · " (tr(lang, "min")) ": " (item.min_level)
                " · " (tr(lang, "kind")) ": " (kind_word(lang, item.kind))
            }
            p { (tr(lang, "days")) ": " (days_text(r.days)) " · " (tr(lang, "reorder")) ": " (r.reorder) }
            @if !item.printers.is_empty() {
                p { (tr(lang, "printers")) ": " (item.printers.join(", ")) }
            }
        }
        @if can(s, Action::ManageStock) {
            (move_form("receipt", tr(lang, "receipt"), html! {
                label { (tr(lang, "amount")) input type="number" name="amount" value=(val("receipt", "amount")) min="1" max=(MAX_AMOUNT) required; }
                label { (tr(lang, "note")) input type="text" name="note" value=(val("receipt", "note")) maxlength="500"; }
            }))
        }
        @if can(s, Action::IssueStock) {
            (move_form("issue", tr(lang, "issue"), html! {
                label { (tr(lang, "amount")) input type="number" name="amount" value=(val("issue", "amount")) min="1" max=(MAX_AMOUNT) required; }
                label { (tr(lang, "ticket")) input type="text" name="ticket" value=(val("issue", "ticket")) maxlength="21"; }
                label { (tr(lang, "note")) input type="text" name="note" value=(val("issue", "note")) maxlength="500"; }
            }))
        }
        @if can(s, Action::ManageStock) {
            (move_form("adjustment", tr(lang, "adjustment"), html! {
                label { (tr(lang, "signed")) input type="number" name="amount" value=(val("adjustment", "amount")) min=(-MAX_AMOUNT) max=(MAX_AMOUNT) required; }
                label { (tr(lang, "reason")) input type="text" name="note" value=(val("adjustment", "note")) maxlength="500" required; }
            }))
        }
        @if can(s, Action::ManageStock) {
            h2 { (tr(lang, "edit")) }
            (item_form(s, Some(&item.sku), &item_fields(Some(item), (which == "item").then_some(vals))))
        }
        div.card {
            h2 { (tr(lang, "history")) }
            (moves_table(lang, moves, tz, false))
        }
    };
    views::layout(lang, &item.sku, Some((&s.staff, &s.csrf)), body)
}

async fn save(
    state: AppState,
    s: StaffSession,
    sku: String,
    form: HashMap<String, String>,
) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            allow(&s, Action::ManageStock)?;
            let sku = decode_or_404(&s, &sku).map_err(|r| *r)?;
            let lang = s.lang();
            let fail = |e: String, code| {
                let sku = sku.clone();
                let form = &form;
                let state = &state;
                let s = &s;
                async move {
                    render_item(
                        state,
                        s,
                        sku,
                        Some(Again {
                            form: "item",
                            values: form,
                            error: &e,
                        }),
                        code,
                    )
                    .await
                }
            };
            let (kind, printers, min_level) = match parse_item(lang, &form) {
                Ok(x) => x,
                Err(e) => return Err(fail(e, StatusCode::BAD_REQUEST).await),
            };
            let name = field(&form, "name").to_string();
            let svc = state.service.clone();
            let actor = actor(&s);
            let key = sku.clone();
            let result = blocking(move || {
                if svc.read()?.stock_item(&key)?.is_none() {
                    return Err(ServiceError::NotFound(format!("stock item {key}")));
                }
                svc.upsert_stock_item(&actor, &key, &name, kind, &printers, min_level)
            })
            .await;
            match result {
                Ok(item) => Ok(redirect(&format!("/stock/{}", seg_encode(&item.sku)))),
                Err(e) if e.kind() == "invalid" => {
                    Err(fail(e.to_string(), StatusCode::BAD_REQUEST).await)
                }
                Err(e) => Err(service_error(&s, &e)),
            }
        }
        .await,
    )
}

/// A whole number typed in a form, within ±[`MAX_AMOUNT`].
fn parse_amount(lang: Language, v: &str) -> Result<i64, String> {
    let n = v
        .parse::<i64>()
        .map_err(|_| format!("amount: '{}' {}", clip(v), tr(lang, "not_number")))?;
    if n.abs() > MAX_AMOUNT {
        return Err(format!("amount: {} (> {MAX_AMOUNT})", tr(lang, "too_big")));
    }
    Ok(n)
}

/// An optional ticket number, `#12` or `12`.
pub fn parse_ticket(lang: Language, v: &str) -> Result<Option<u64>, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.strip_prefix('#')
        .unwrap_or(v)
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .map(Some)
        .ok_or_else(|| format!("ticket: '{}' {}", clip(v), tr(lang, "not_ticket")))
}

async fn movement(
    state: AppState,
    s: StaffSession,
    sku: String,
    what: String,
    form: HashMap<String, String>,
) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            let reason = match what.as_str() {
                "receipt" => MoveReason::Receipt,
                "issue" => MoveReason::Issue,
                "adjustment" => MoveReason::Adjustment,
                _ => {
                    return Err(common::error_page(
                        &s,
                        StatusCode::NOT_FOUND,
                        t(s.lang(), "err.not_found"),
                    ));
                }
            };
            allow(
                &s,
                if reason == MoveReason::Issue {
                    Action::IssueStock
                } else {
                    Action::ManageStock
                },
            )?;
            let sku = decode_or_404(&s, &sku).map_err(|r| *r)?;
            let lang = s.lang();
            let parsed = parse_amount(lang, field(&form, "amount")).and_then(|a| {
                let ticket = if reason == MoveReason::Issue {
                    parse_ticket(lang, field(&form, "ticket"))?
                } else {
                    None
                };
                Ok((a, ticket))
            });
            let fail = |e: String, code| {
                let sku = sku.clone();
                let (state, s, form, what) = (&state, &s, &form, what.as_str());
                async move {
                    render_item(
                        state,
                        s,
                        sku,
                        Some(Again {
                            form: what,
                            values: form,
                            error: &e,
                        }),
                        code,
                    )
                    .await
                }
            };
            let (amount, ticket) = match parsed {
                Ok(x) => x,
                Err(e) => return Err(fail(e, StatusCode::BAD_REQUEST).await),
            };
            let note = field(&form, "note").to_string();
            let svc = state.service.clone();
            let actor = actor(&s);
            let key = sku.clone();
            match blocking(move || svc.move_stock(&actor, &key, reason, amount, ticket, &note))
                .await
            {
                Ok(_) => Ok(redirect(&format!("/stock/{}", seg_encode(&sku)))),
                // An unknown ticket is shown on the item's page; an unknown SKU gives the 404 page.
                Err(e) if matches!(e.kind(), "invalid" | "stock_rule" | "not_found") => {
                    let code = common::status_of(&e);
                    Err(fail(e.to_string(), code).await)
                }
                Err(e) => Err(service_error(&s, &e)),
            }
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_round_trip() {
        for sku in [
            "CE285A",
            "HP 85A/B",
            "..",
            ".",
            "new",
            "Тонер №1",
            "a%b",
            "x?y#z",
        ] {
            let enc = seg_encode(sku);
            assert!(
                enc.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_~%".contains(&b)),
                "{enc}"
            );
            assert_eq!(seg_decode(&enc).as_deref(), Some(sku));
        }
        assert_ne!(seg_encode("new"), "new");
        assert_eq!(seg_decode("%E2%82"), None);
        assert_eq!(seg_decode("%zz"), None);
        assert_eq!(seg_decode("%4"), None);
        assert_eq!(seg_decode("CE285A").as_deref(), Some("CE285A"));
    }

    #[test]
    fn ticket_numbers() {
        let l = Language::En;
        assert_eq!(parse_ticket(l, ""), Ok(None));
        assert_eq!(parse_ticket(l, "#12"), Ok(Some(12)));
        assert_eq!(parse_ticket(l, " 12 "), Ok(Some(12)));
        assert!(parse_ticket(l, "#0").is_err());
        assert!(parse_ticket(l, "twelve").is_err());
        assert!(parse_ticket(l, "-3").is_err());
        assert!(parse_amount(l, "5").is_ok());
        assert!(parse_amount(l, "-5").is_ok());
        assert!(parse_amount(l, "5000000").is_err());
        assert!(parse_amount(l, "x").is_err());
    }

    #[test]
    fn every_text_has_three_languages() {
        for (k, ru, uk, en) in TEXTS {
            assert!(!ru.is_empty() && !uk.is_empty() && !en.is_empty(), "{k}");
        }
        for k in StockKind::ALL {
            assert_ne!(kind_word(Language::Uk, k), "?");
        }
        for r in [
            MoveReason::Receipt,
            MoveReason::Issue,
            MoveReason::Adjustment,
            MoveReason::Import,
        ] {
            assert_ne!(reason_word(Language::Ru, r), "?");
        }
    }
}
