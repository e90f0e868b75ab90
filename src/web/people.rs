//! People pages: requesters (search, block/unblock, department), staff accounts (add, role,
//! disable/enable, Telegram link) and every staff member's own password change.
//!
//! Password hashes never reach a page: views take only the fields they show.

use std::collections::HashMap;

use maud::{Markup, html};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::common::{
    self, allow, csrf, either, error_page, field, fmt_time, html as page, redirect, service_error,
};
use super::panel::StaffSession;
use super::stock::{seg_decode, seg_encode};
use super::{AppState, blocking, i18n::t, views};
use crate::domain::*;
use crate::service::{NewStaff, ServiceError};
use crate::store::Reads;

/// Requesters per page.
const PAGE: usize = 100;
/// Longest search text.
const MAX_Q: usize = 200;
/// Longest password field read (the service allows 256 characters).
const MAX_PASSWORD_FIELD: usize = 1024;

/// (key, ru, uk, en)
const TEXTS: &[(&str, &str, &str, &str)] = &[
    ("requesters", "Заявители", "Заявники", "Requesters"),
    (
        "search",
        "Имя, телефон, отдел, @username",
        "Ім'я, телефон, відділ, @username",
        "Name, phone, department, @username",
    ),
    ("find", "Найти", "Знайти", "Search"),
    ("name", "Имя", "Ім'я", "Name"),
    ("phone", "Телефон", "Телефон", "Phone"),
    ("department", "Отдел", "Відділ", "Department"),
    ("language", "Язык", "Мова", "Language"),
    ("state", "Состояние", "Стан", "State"),
    (
        "registered",
        "Зарегистрирован",
        "Зареєстрований",
        "Registered",
    ),
    ("blocked", "заблокирован", "заблокований", "blocked"),
    ("active", "активен", "активний", "active"),
    (
        "inactive",
        "остановил бота",
        "зупинив бота",
        "stopped the bot",
    ),
    ("block", "Заблокировать", "Заблокувати", "Block"),
    ("unblock", "Разблокировать", "Розблокувати", "Unblock"),
    ("save", "Сохранить", "Зберегти", "Save"),
    (
        "nobody",
        "Никого не найдено.",
        "Нікого не знайдено.",
        "Nobody found.",
    ),
    ("prev", "Назад", "Назад", "Previous"),
    ("next", "Далее", "Далі", "Next"),
    ("page", "Страница", "Сторінка", "Page"),
    ("staff", "Сотрудники", "Співробітники", "Staff accounts"),
    ("login", "Логин", "Логін", "Login"),
    (
        "display_name",
        "Имя в панели",
        "Ім'я в панелі",
        "Display name",
    ),
    ("role", "Роль", "Роль", "Role"),
    ("telegram", "Telegram id", "Telegram id", "Telegram id"),
    (
        "telegram_hint",
        "пусто — отвязать",
        "порожньо — відв'язати",
        "empty unlinks",
    ),
    ("disabled", "отключён", "вимкнений", "disabled"),
    ("enabled", "включён", "увімкнений", "enabled"),
    ("disable", "Отключить", "Вимкнути", "Disable"),
    ("enable", "Включить", "Увімкнути", "Enable"),
    ("set_role", "Сменить роль", "Змінити роль", "Change role"),
    ("link", "Привязать", "Прив'язати", "Link"),
    (
        "add",
        "Добавить сотрудника",
        "Додати співробітника",
        "Add a staff member",
    ),
    ("password", "Пароль", "Пароль", "Password"),
    ("you", "это вы", "це ви", "you"),
    (
        "my_password",
        "Сменить мой пароль",
        "Змінити мій пароль",
        "Change my password",
    ),
    (
        "current",
        "Текущий пароль",
        "Поточний пароль",
        "Current password",
    ),
    ("new", "Новый пароль", "Новий пароль", "New password"),
    (
        "repeat",
        "Новый пароль ещё раз",
        "Новий пароль ще раз",
        "New password again",
    ),
    (
        "change",
        "Сменить пароль",
        "Змінити пароль",
        "Change password",
    ),
    (
        "changed",
        "Пароль изменён.",
        "Пароль змінено.",
        "The password was changed.",
    ),
    (
        "mismatch",
        "Новые пароли не совпадают.",
        "Нові паролі не збігаються.",
        "The new passwords differ.",
    ),
    (
        "too_long",
        "слишком длинное значение",
        "задовге значення",
        "the value is too long",
    ),
    (
        "not_tg",
        "не Telegram id",
        "не Telegram id",
        "is not a Telegram id",
    ),
    (
        "bad_page",
        "не номер страницы",
        "не номер сторінки",
        "is not a page number",
    ),
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
    let requesters = warp::path!("people")
        .and(warp::get())
        .and(s())
        .and(common::query())
        .then(requesters);
    let requester_act = warp::path!("people" / "requesters" / i64 / String)
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(|id, what, st, s, f| requester_act(st, s, id, what, f));
    let staff = warp::path!("people" / "staff")
        .and(warp::get())
        .and(s())
        .then(staff_page);
    let staff_add = warp::path!("people" / "staff" / "new")
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(staff_add);
    let staff_act = warp::path!("people" / "staff" / String / String)
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(|login, what, st, s, f| staff_act(st, s, login, what, f));
    let password_page = warp::path!("people" / "password")
        .and(warp::get())
        .and(s())
        .and(common::query())
        .then(password_page);
    let password_submit = warp::path!("people" / "password")
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(password_submit);
    requesters
        .or(requester_act)
        .unify()
        .or(staff)
        .unify()
        .or(staff_add)
        .unify()
        .or(staff_act)
        .unify()
        .or(password_page)
        .unify()
        .or(password_submit)
        .unify()
        .boxed()
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

/// Only the digits of `s`.
fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Does a requester match the search text (name, phone, department, username or Telegram id;
/// case-insensitive; a phone matches by its digits)?
pub fn matches(r: &Requester, q: &str) -> bool {
    let q = q.trim().to_lowercase();
    if q.is_empty() {
        return true;
    }
    let has = |v: Option<&str>| v.is_some_and(|v| v.to_lowercase().contains(&q));
    if has(Some(&r.name)) || has(r.department.as_deref()) || has(r.username.as_deref()) {
        return true;
    }
    if let Some(u) = &r.username
        && let Some(bare) = q.strip_prefix('@')
        && !bare.is_empty()
        && u.to_lowercase().contains(bare)
    {
        return true;
    }
    if r.tg_id.to_string() == q {
        return true;
    }
    let qd = digits(&q);
    let phone_like = q.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    phone_like && qd.len() >= 3 && r.phone.as_deref().is_some_and(|p| digits(p).contains(&qd))
}

/// The requesters list query: search text and page.
#[derive(Debug, Default, PartialEq)]
struct ListQuery {
    q: String,
    page: usize,
}

fn parse_query(lang: Language, q: &[(String, String)]) -> Result<ListQuery, String> {
    let mut out = ListQuery {
        q: String::new(),
        page: 1,
    };
    for (k, v) in q {
        let v = v.trim();
        match k.as_str() {
            "q" => {
                if v.chars().count() > MAX_Q {
                    return Err(format!("q: {} (> {MAX_Q})", tr(lang, "too_long")));
                }
                out.q = v.to_string();
            }
            "page" if !v.is_empty() => {
                out.page = v
                    .parse::<usize>()
                    .ok()
                    .filter(|p| (1..=100_000).contains(p))
                    .ok_or_else(|| format!("page: {}", tr(lang, "bad_page")))?
            }
            _ => {}
        }
    }
    Ok(out)
}

fn list_url(q: &str, page: usize) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        ser.append_pair("q", q);
    }
    if page > 1 {
        ser.append_pair("page", &page.to_string());
    }
    let qs = ser.finish();
    if qs.is_empty() {
        "/people".into()
    } else {
        format!("/people?{qs}")
    }
}

async fn requesters(state: AppState, s: StaffSession, q: Vec<(String, String)>) -> Response {
    either(
        async {
            allow(&s, Action::ViewRequesters)?;
            let lang = s.lang();
            let query =
                parse_query(lang, &q).map_err(|e| error_page(&s, StatusCode::BAD_REQUEST, &e))?;
            let svc = state.service.clone();
            let text = query.q.clone();
            let offset = (query.page - 1) * PAGE;
            let (found, has_more) = blocking(move || {
                let mut all: Vec<Requester> = svc
                    .read()?
                    .requesters()?
                    .into_iter()
                    .filter(|r| matches(r, &text))
                    .collect();
                all.sort_by(|a, b| {
                    a.name
                        .to_lowercase()
                        .cmp(&b.name.to_lowercase())
                        .then(a.tg_id.cmp(&b.tg_id))
                });
                let has_more = all.len() > offset + PAGE;
                Ok((
                    all.into_iter().skip(offset).take(PAGE).collect::<Vec<_>>(),
                    has_more,
                ))
            })
            .await
            .map_err(|e| service_error(&s, &e))?;
            Ok(page(
                requesters_view(&s, &query, &found, has_more, state.tz),
                StatusCode::OK,
            ))
        }
        .await,
    )
}

fn people_links(s: &StaffSession) -> Markup {
    let lang = s.lang();
    html! {
        p.links {
            @if can(s, Action::ViewRequesters) { a href="/people" { (tr(lang, "requesters")) } " · " }
            @if can(s, Action::ManageStaff) { a href="/people/staff" { (tr(lang, "staff")) } " · " }
            a href="/people/password" { (tr(lang, "my_password")) }
        }
    }
}

fn requesters_view(
    s: &StaffSession,
    q: &ListQuery,
    found: &[Requester],
    has_more: bool,
    tz: chrono_tz::Tz,
) -> Markup {
    let lang = s.lang();
    let manage = can(s, Action::ManageRequesters);
    let hidden = html! {
        input type="hidden" name="csrf" value=(s.csrf);
        input type="hidden" name="q" value=(q.q);
        input type="hidden" name="page" value=(q.page);
    };
    let body = html! {
        h1 { (tr(lang, "requesters")) }
        (people_links(s))
        form.card.filters method="get" action="/people" {
            div.row {
                input type="search" name="q" value=(q.q) placeholder=(tr(lang, "search")) maxlength=(MAX_Q);
                button type="submit" { (tr(lang, "find")) }
            }
        }
        div.card {
            table #requesters {
                thead { tr {
                    th { "Telegram id" } th { (tr(lang, "name")) } th { "@" } th { (tr(lang, "phone")) }
                    th { (tr(lang, "department")) } th { (tr(lang, "language")) } th { (tr(lang, "state")) }
                    th { (tr(lang, "registered")) }
                    @if manage { th {} }
                } }
                tbody {
                    @for r in found {
                        tr {
                            td { a href={ "/tickets?requester=" (r.tg_id) } { (r.tg_id) } }
                            td { (r.name) }
                            td { @if let Some(u) = &r.username { "@" (u) } }
                            td { (r.phone.as_deref().unwrap_or("")) }
                            td {
                                @if manage {
                                    form.inline method="post" action={ "/people/requesters/" (r.tg_id) "/department" } {
                                        (hidden)
                                        input type="text" name="department" value=(r.department.as_deref().unwrap_or("")) maxlength="100";
                                        button type="submit" { (tr(lang, "save")) }
                                    }
                                } @else {
                                    (r.department.as_deref().unwrap_or(""))
                                }
                            }
                            td { (r.language.as_str()) }
                            td {
                                @if r.blocked { span.error { (tr(lang, "blocked")) } }
                                @else if r.active { (tr(lang, "active")) }
                                @else { span.muted { (tr(lang, "inactive")) } }
                            }
                            td { (fmt_time(r.registered_at, tz)) }
                            @if manage {
                                td {
                                    @let (what, label) = if r.blocked { ("unblock", "unblock") } else { ("block", "block") };
                                    form.inline method="post" action={ "/people/requesters/" (r.tg_id) "/" (what) } {
                                        (hidden)
                                        button type="submit" { (tr(lang, label)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if found.is_empty() { p.muted { (tr(lang, "nobody")) } }
            p.pager {
                @if q.page > 1 { a href=(list_url(&q.q, q.page - 1)) { "← " (tr(lang, "prev")) } " " }
                span.muted { (tr(lang, "page")) " " (q.page) }
                @if has_more { " " a href=(list_url(&q.q, q.page + 1)) { (tr(lang, "next")) " →" } }
            }
        }
    };
    views::layout(
        lang,
        tr(lang, "requesters"),
        Some((&s.staff, &s.csrf)),
        body,
    )
}

async fn requester_act(
    state: AppState,
    s: StaffSession,
    tg_id: i64,
    what: String,
    form: HashMap<String, String>,
) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            allow(&s, Action::ManageRequesters)?;
            let lang = s.lang();
            let department = field(&form, "department").to_string();
            if department.chars().count() > 100 {
                return Err(error_page(
                    &s,
                    StatusCode::BAD_REQUEST,
                    &format!("department: {} (> 100)", tr(lang, "too_long")),
                ));
            }
            let svc = state.service.clone();
            let actor = actor(&s);
            let result = blocking(move || match what.as_str() {
                "block" => svc.set_requester_blocked(&actor, tg_id, true),
                "unblock" => svc.set_requester_blocked(&actor, tg_id, false),
                "department" => {
                    svc.set_requester_department(&actor, tg_id, Some(department.as_str()))
                }
                other => Err(ServiceError::NotFound(format!("action '{other}'"))),
            })
            .await;
            match result {
                Ok(_) => {
                    let page = field(&form, "page").parse::<usize>().unwrap_or(1);
                    Ok(redirect(&list_url(field(&form, "q"), page)))
                }
                Err(e) => Err(service_error(&s, &e)),
            }
        }
        .await,
    )
}

/// A staff account as the staff page shows it (no password hash).
struct StaffRow {
    login: String,
    display_name: String,
    role: Role,
    telegram_id: Option<i64>,
    disabled: bool,
    created_at: Timestamp,
}

impl From<Staff> for StaffRow {
    fn from(s: Staff) -> StaffRow {
        StaffRow {
            login: s.login,
            display_name: s.display_name,
            role: s.role,
            telegram_id: s.telegram_id,
            disabled: s.disabled,
            created_at: s.created_at,
        }
    }
}

async fn staff_page(state: AppState, s: StaffSession) -> Response {
    either(
        async {
            allow(&s, Action::ManageStaff)?;
            Ok(render_staff(&state, &s, None, &HashMap::new(), StatusCode::OK).await)
        }
        .await,
    )
}

async fn render_staff(
    state: &AppState,
    s: &StaffSession,
    error: Option<&str>,
    add: &HashMap<String, String>,
    code: StatusCode,
) -> Response {
    let svc = state.service.clone();
    match blocking(move || Ok(svc.read()?.staff_all()?)).await {
        Ok(all) => {
            let rows: Vec<StaffRow> = all.into_iter().map(StaffRow::from).collect();
            page(staff_view(s, &rows, error, add, state.tz), code)
        }
        Err(e) => service_error(s, &e),
    }
}

fn staff_view(
    s: &StaffSession,
    rows: &[StaffRow],
    error: Option<&str>,
    add: &HashMap<String, String>,
    tz: chrono_tz::Tz,
) -> Markup {
    let lang = s.lang();
    let supers = can(s, Action::ManageSuperadmins);
    let roles: Vec<Role> = Role::STAFF
        .into_iter()
        .filter(|r| supers || *r != Role::Superadmin)
        .collect();
    let v = |k: &str| add.get(k).cloned().unwrap_or_default();
    let row_form = |login: &str, what: &str, body: Markup| {
        html! {
            form.inline method="post" action={ "/people/staff/" (seg_encode(login)) "/" (what) } {
                input type="hidden" name="csrf" value=(s.csrf);
                (body)
            }
        }
    };
    let body = html! {
        h1 { (tr(lang, "staff")) }
        (people_links(s))
        @if let Some(e) = error { p.error role="alert" { (e) } }
        div.card {
            table #staff {
                thead { tr {
                    th { (tr(lang, "login")) } th { (tr(lang, "display_name")) } th { (tr(lang, "role")) }
                    th { (tr(lang, "telegram")) } th { (tr(lang, "state")) } th { (tr(lang, "registered")) }
                } }
                tbody {
                    @for r in rows {
                        @let touch = supers || r.role != Role::Superadmin;
                        @let me = r.login == s.staff.login;
                        tr {
                            td { (r.login) @if me { " " span.muted { "(" (tr(lang, "you")) ")" } } }
                            td { (r.display_name) }
                            td {
                                @if touch {
                                    (row_form(&r.login, "role", html! {
                                        select name="role" {
                                            @for role in &roles {
                                                option value=(role.as_str()) selected[*role == r.role] { (role.as_str()) }
                                            }
                                        }
                                        button type="submit" { (tr(lang, "set_role")) }
                                    }))
                                } @else {
                                    (r.role.as_str())
                                }
                            }
                            td {
                                @if touch {
                                    (row_form(&r.login, "telegram", html! {
                                        input type="text" name="telegram_id" value=(r.telegram_id.map(|i| i.to_string()).unwrap_or_default())
                                            maxlength="20" placeholder=(tr(lang, "telegram_hint"));
                                        button type="submit" { (tr(lang, "link")) }
                                    }))
                                } @else {
                                    (r.telegram_id.map(|i| i.to_string()).unwrap_or_default())
                                }
                            }
                            td {
                                @if r.disabled { span.error { (tr(lang, "disabled")) } } @else { (tr(lang, "enabled")) }
                                @if touch && !me {
                                    " "
                                    @if r.disabled {
                                        (row_form(&r.login, "enable", html! { button type="submit" { (tr(lang, "enable")) } }))
                                    } @else {
                                        (row_form(&r.login, "disable", html! { button type="submit" { (tr(lang, "disable")) } }))
                                    }
                                }
                            }
                            td { (fmt_time(r.created_at, tz)) }
                        }
                    }
                }
            }
        }
        form.card #add method="post" action="/people/staff/new" {
            h2 { (tr(lang, "add")) }
            input type="hidden" name="csrf" value=(s.csrf);
            label for="login" { (tr(lang, "login")) }
            input #login type="text" name="login" value=(v("login")) maxlength="32" required autocomplete="off";
            label for="display_name" { (tr(lang, "display_name")) }
            input #display_name type="text" name="display_name" value=(v("display_name")) maxlength="100";
            label for="role" { (tr(lang, "role")) }
            select #role name="role" {
                @for role in &roles {
                    option value=(role.as_str()) selected[v("role") == role.as_str() || (v("role").is_empty() && *role == Role::Operator)] { (role.as_str()) }
                }
            }
            label for="telegram_id" { (tr(lang, "telegram")) }
            input #telegram_id type="text" name="telegram_id" value=(v("telegram_id")) maxlength="20";
            label for="password" { (tr(lang, "password")) }
            input #password type="password" name="password" autocomplete="new-password" required minlength="8" maxlength="256";
            button type="submit" { (tr(lang, "add")) }
        }
    };
    views::layout(lang, tr(lang, "staff"), Some((&s.staff, &s.csrf)), body)
}

/// An optional Telegram id typed in a form.
fn parse_tg(lang: Language, v: &str) -> Result<Option<i64>, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<i64>().map(Some).map_err(|_| {
        let shown: String = v.chars().take(30).collect();
        format!("telegram_id: '{shown}' {}", tr(lang, "not_tg"))
    })
}

/// Refuses (400 page) fields longer than `max` characters.
fn check_lengths(
    s: &StaffSession,
    form: &HashMap<String, String>,
    limits: &[(&str, usize)],
) -> Result<(), Box<Response>> {
    for (name, max) in limits {
        if form.get(*name).is_some_and(|v| v.chars().count() > *max) {
            return Err(Box::new(error_page(
                s,
                StatusCode::BAD_REQUEST,
                &format!("{name}: {} (> {max})", tr(s.lang(), "too_long")),
            )));
        }
    }
    Ok(())
}

async fn staff_add(state: AppState, s: StaffSession, form: HashMap<String, String>) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            allow(&s, Action::ManageStaff)?;
            let lang = s.lang();
            // Never echo the password back.
            let mut shown = form.clone();
            shown.remove("password");
            shown.remove("csrf");
            check_lengths(
                &s,
                &form,
                &[
                    ("login", 64),
                    ("display_name", 200),
                    ("telegram_id", 40),
                    ("password", MAX_PASSWORD_FIELD),
                ],
            )
            .map_err(|r| *r)?;
            let role = match Role::parse(field(&form, "role")).filter(|r| r.is_staff()) {
                Some(r) => r,
                None => {
                    return Err(render_staff(
                        &state,
                        &s,
                        Some("role: unknown value"),
                        &shown,
                        StatusCode::BAD_REQUEST,
                    )
                    .await);
                }
            };
            let telegram_id = match parse_tg(lang, field(&form, "telegram_id")) {
                Ok(x) => x,
                Err(e) => {
                    return Err(render_staff(
                        &state,
                        &s,
                        Some(&e),
                        &shown,
                        StatusCode::BAD_REQUEST,
                    )
                    .await);
                }
            };
            let new = NewStaff {
                login: field(&form, "login").to_string(),
                password: form.get("password").cloned().unwrap_or_default(),
                role,
                telegram_id,
                display_name: Some(field(&form, "display_name").to_string())
                    .filter(|n| !n.is_empty()),
            };
            let svc = state.service.clone();
            let actor = actor(&s);
            match blocking(move || svc.add_staff(&actor, new)).await {
                Ok(_) => Ok(redirect("/people/staff")),
                Err(e) if matches!(e.kind(), "invalid" | "conflict") => Err(render_staff(
                    &state,
                    &s,
                    Some(&e.to_string()),
                    &shown,
                    common::status_of(&e),
                )
                .await),
                Err(e) => Err(service_error(&s, &e)),
            }
        }
        .await,
    )
}

async fn staff_act(
    state: AppState,
    s: StaffSession,
    login: String,
    what: String,
    form: HashMap<String, String>,
) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            allow(&s, Action::ManageStaff)?;
            let lang = s.lang();
            let login = seg_decode(&login)
                .ok_or_else(|| error_page(&s, StatusCode::NOT_FOUND, t(lang, "err.not_found")))?;
            check_lengths(&s, &form, &[("role", 40), ("telegram_id", 40)]).map_err(|r| *r)?;
            enum Change {
                Role(Role),
                Disabled(bool),
                Telegram(Option<i64>),
            }
            let change = match what.as_str() {
                "role" => match Role::parse(field(&form, "role")) {
                    Some(r) => Change::Role(r),
                    None => {
                        return Err(render_staff(
                            &state,
                            &s,
                            Some("role: unknown value"),
                            &HashMap::new(),
                            StatusCode::BAD_REQUEST,
                        )
                        .await);
                    }
                },
                "disable" => Change::Disabled(true),
                "enable" => Change::Disabled(false),
                "telegram" => match parse_tg(lang, field(&form, "telegram_id")) {
                    Ok(id) => Change::Telegram(id),
                    Err(e) => {
                        return Err(render_staff(
                            &state,
                            &s,
                            Some(&e),
                            &HashMap::new(),
                            StatusCode::BAD_REQUEST,
                        )
                        .await);
                    }
                },
                _ => {
                    return Err(error_page(
                        &s,
                        StatusCode::NOT_FOUND,
                        t(lang, "err.not_found"),
                    ));
                }
            };
            let svc = state.service.clone();
            let actor = actor(&s);
            let result = blocking(move || match change {
                Change::Role(r) => svc.set_staff_role(&actor, &login, r),
                Change::Disabled(d) => svc.set_staff_disabled(&actor, &login, d),
                Change::Telegram(id) => svc.set_staff_telegram(&actor, &login, id),
            })
            .await;
            match result {
                Ok(_) => Ok(redirect("/people/staff")),
                Err(e) if matches!(e.kind(), "invalid" | "conflict") => Err(render_staff(
                    &state,
                    &s,
                    Some(&e.to_string()),
                    &HashMap::new(),
                    common::status_of(&e),
                )
                .await),
                Err(e) => Err(service_error(&s, &e)),
            }
        }
        .await,
    )
}

async fn password_page(state: AppState, s: StaffSession, q: Vec<(String, String)>) -> Response {
    let _ = state;
    let done = q.iter().any(|(k, _)| k == "done");
    let notice = done.then(|| tr(s.lang(), "changed"));
    page(password_view(&s, None, notice), StatusCode::OK)
}

fn password_view(s: &StaffSession, error: Option<&str>, notice: Option<&str>) -> Markup {
    let lang = s.lang();
    let body = html! {
        h1 { (tr(lang, "my_password")) }
        (people_links(s))
        @if let Some(e) = error { p.error role="alert" { (e) } }
        @if let Some(n) = notice { p.notice role="status" { (n) } }
        form.card.narrow #password method="post" action="/people/password" {
            input type="hidden" name="csrf" value=(s.csrf);
            label for="current" { (tr(lang, "current")) }
            input #current type="password" name="current" autocomplete="current-password" required maxlength="256";
            label for="new" { (tr(lang, "new")) }
            input #new type="password" name="new" autocomplete="new-password" required minlength="8" maxlength="256";
            label for="new2" { (tr(lang, "repeat")) }
            input #new2 type="password" name="new2" autocomplete="new-password" required minlength="8" maxlength="256";
            button type="submit" { (tr(lang, "change")) }
        }
    };
    views::layout(
        lang,
        tr(lang, "my_password"),
        Some((&s.staff, &s.csrf)),
        body,
    )
}

async fn password_submit(
    state: AppState,
    s: StaffSession,
    form: HashMap<String, String>,
) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            let lang = s.lang();
            let bad = |msg: &str| page(password_view(&s, Some(msg), None), StatusCode::BAD_REQUEST);
            let get = |k: &str| form.get(k).cloned().unwrap_or_default();
            let (current, new) = (get("current"), get("new"));
            for (name, v) in [("current", &current), ("new", &new)] {
                if v.chars().count() > MAX_PASSWORD_FIELD {
                    return Err(bad(&format!("{name}: {}", tr(lang, "too_long"))));
                }
            }
            if new != get("new2") {
                return Err(bad(tr(lang, "mismatch")));
            }
            let svc = state.service.clone();
            let login = s.staff.login.clone();
            match blocking(move || {
                let staff = svc.change_password(&login, &current, &new)?;
                svc.create_session(&staff).map(|(token, _)| token)
            })
            .await
            {
                Ok(token) => {
                    // Other sessions ended with the change; this one is renewed (rotation).
                    let mut r = redirect("/people/password?done=1");
                    if let Ok(v) = format!(
                        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
                        super::panel::SESSION_COOKIE,
                        crate::service::SESSION_SECONDS
                    )
                    .parse()
                    {
                        r.headers_mut().append(warp::http::header::SET_COOKIE, v);
                    }
                    Ok(r)
                }
                Err(e) if e.kind() == "invalid" => Err(bad(&e.to_string())),
                Err(e) => Err(service_error(&s, &e)),
            }
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(name: &str, phone: Option<&str>, dept: Option<&str>, user: Option<&str>) -> Requester {
        Requester {
            tg_id: 4242,
            name: name.into(),
            phone: phone.map(str::to_string),
            email: None,
            department: dept.map(str::to_string),
            username: user.map(str::to_string),
            language: Language::Ru,
            active: true,
            blocked: false,
            registered_at: 0,
        }
    }

    #[test]
    fn search_matches_name_phone_department_username_and_id() {
        let r = req(
            "Иван Петров",
            Some("+79123456789"),
            Some("Бухгалтерия"),
            Some("ivan_p"),
        );
        for q in [
            "",
            "иван",
            "ПЕТРОВ",
            "бухгалт",
            "ivan_p",
            "@ivan",
            "912 345",
            "+7 (912) 345-67-89",
            "4242",
        ] {
            assert!(matches(&r, q), "{q:?} should match");
        }
        for q in ["Сидоров", "@", "12", "555", "кадры", "@olga"] {
            assert!(!matches(&r, q), "{q:?} should not match");
        }
        assert!(!matches(&req("A", None, None, None), "912"));
    }

    #[test]
    fn query_parsing() {
        let l = Language::En;
        let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            parse_query(l, &q(&[("q", " x "), ("page", "3")])),
            Ok(ListQuery {
                q: "x".into(),
                page: 3
            })
        );
        assert!(parse_query(l, &q(&[("page", "0")])).is_err());
        assert!(parse_query(l, &q(&[("q", &"x".repeat(201))])).is_err());
        assert_eq!(list_url("", 1), "/people");
        assert_eq!(list_url("a b&c", 2), "/people?q=a+b%26c&page=2");
        assert_eq!(parse_tg(l, ""), Ok(None));
        assert_eq!(parse_tg(l, " 77 "), Ok(Some(77)));
        assert!(parse_tg(l, "abc").is_err());
    }

    #[test]
    fn every_text_has_three_languages() {
        for (k, ru, uk, en) in TEXTS {
            assert!(!ru.is_empty() && !uk.is_empty() && !en.is_empty(), "{k}");
        }
    }
}
