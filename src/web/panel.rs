//! Panel authentication and pages: login (with per-account and per-address throttling), logout,
//! first-run setup through the one-time link, and the dashboard.
//!
//! CSRF: forms before a session use a double-submit cookie (`hd_csrf`, HttpOnly, SameSite=Strict)
//! matched against the hidden `csrf` input; forms behind a session carry the session's own token.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use warp::Reply;
use warp::http::{StatusCode, header};
use warp::reply::Response;

use super::views;
use super::{AppState, blocking, i18n::t};
use crate::domain::{Language, Staff};
use crate::service::{SESSION_SECONDS, constant_time_eq, random_token};
use crate::store::{Reads, TicketFilter};

pub const SESSION_COOKIE: &str = "hd_session";
pub const CSRF_COOKIE: &str = "hd_csrf";

/// Failed logins allowed per account and per address in [`THROTTLE_WINDOW`].
const MAX_FAILURES: u32 = 5;
const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Counts failed logins per key (`login:<name>`, `addr:<ip>`).
#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    fn blocked(&self, key: &str) -> bool {
        let map = self.failures.lock().expect("throttle lock");
        map.get(key)
            .is_some_and(|(n, since)| *n >= MAX_FAILURES && since.elapsed() < THROTTLE_WINDOW)
    }

    fn fail(&self, key: &str) {
        let mut map = self.failures.lock().expect("throttle lock");
        if map.len() > 100_000 {
            map.retain(|_, (_, since)| since.elapsed() < THROTTLE_WINDOW);
        }
        let e = map.entry(key.to_string()).or_insert((0, Instant::now()));
        if e.1.elapsed() >= THROTTLE_WINDOW {
            *e = (0, Instant::now());
        }
        e.0 += 1;
    }

    fn clear(&self, key: &str) {
        self.failures.lock().expect("throttle lock").remove(key);
    }
}

/// A signed-in staff member, as the auth filter yields it.
#[derive(Debug, Clone)]
pub struct StaffSession {
    pub staff: Staff,
    pub csrf: String,
    pub token: String,
}

impl StaffSession {
    pub fn lang(&self) -> Language {
        self.staff.language
    }
}

/// Rejection: no valid session; answered with a redirect to `/login`.
#[derive(Debug)]
pub struct NoSession;
impl warp::reject::Reject for NoSession {}

/// Looks up the session cookie; rejects with [`NoSession`] when there is none or it is invalid.
pub async fn authenticate(
    state: AppState,
    cookie: Option<String>,
) -> Result<StaffSession, warp::Rejection> {
    let Some(token) = cookie else {
        return Err(warp::reject::custom(NoSession));
    };
    // Two B-tree reads and a SHA-256: cheaper inline than a hop to the blocking pool, and
    // every panel request makes it. (An expired session is deleted: a rare short write.)
    match state.service.session(&token) {
        Ok(Some((staff, s))) => Ok(StaffSession {
            staff,
            csrf: s.csrf,
            token,
        }),
        _ => Err(warp::reject::custom(NoSession)),
    }
}

fn html(markup: maud::Markup, code: StatusCode) -> Response {
    let mut r =
        warp::reply::with_status(warp::reply::html(markup.into_string()), code).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        "no-store".parse().expect("static header"),
    );
    r
}

fn redirect(to: &str) -> Response {
    let mut r = Response::new(Default::default());
    *r.status_mut() = StatusCode::SEE_OTHER;
    r.headers_mut().insert(
        header::LOCATION,
        to.parse().expect("redirect target is a path"),
    );
    r
}

fn set_cookie(r: &mut Response, value: String) {
    if let Ok(v) = value.parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn csrf_cookie(token: &str) -> String {
    format!("{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600")
}

fn form_csrf_ok(cookie: Option<&str>, form: &HashMap<String, String>) -> bool {
    match (cookie, form.get("csrf")) {
        (Some(c), Some(f)) if c.len() == 64 => constant_time_eq(c.as_bytes(), f.as_bytes()),
        _ => false,
    }
}

/// Checks a signed-in form's CSRF token against the session's.
pub fn session_csrf_ok(s: &StaffSession, form: &HashMap<String, String>) -> bool {
    form.get("csrf")
        .is_some_and(|f| constant_time_eq(f.as_bytes(), s.csrf.as_bytes()))
}

fn default_lang(state: &AppState) -> Language {
    state.service.config().default_language
}

/// A fresh pre-session CSRF token, reusing the cookie's when it is well-formed.
fn pre_session_csrf(cookie: Option<String>) -> String {
    cookie
        .filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(random_token)
}

pub async fn login_page(
    state: AppState,
    csrf: Option<String>,
    query: HashMap<String, String>,
) -> Response {
    let lang = default_lang(&state);
    let token = pre_session_csrf(csrf);
    let notice = query.get("done").map(|_| t(lang, "setup.done"));
    let mut r = html(views::login(lang, &token, None, notice, ""), StatusCode::OK);
    set_cookie(&mut r, csrf_cookie(&token));
    r
}

pub async fn login_submit(
    state: AppState,
    addr: Option<SocketAddr>,
    csrf: Option<String>,
    form: HashMap<String, String>,
) -> Response {
    let lang = default_lang(&state);
    let token = pre_session_csrf(csrf.clone());
    let login = form
        .get("login")
        .map(|s| s.trim().to_lowercase())
        .unwrap_or_default();
    let fail = |msg: &str, code: StatusCode| {
        let mut r = html(views::login(lang, &token, Some(msg), None, &login), code);
        set_cookie(&mut r, csrf_cookie(&token));
        r
    };
    if !form_csrf_ok(csrf.as_deref(), &form) {
        return fail(t(lang, "form.expired"), StatusCode::FORBIDDEN);
    }
    let password = form.get("password").cloned().unwrap_or_default();
    if login.is_empty() || login.len() > 64 || password.is_empty() || password.len() > 1024 {
        return fail(t(lang, "login.failed"), StatusCode::UNAUTHORIZED);
    }
    let acct_key = format!("login:{login}");
    let addr_key = format!(
        "addr:{}",
        addr.map(|a| a.ip().to_string()).unwrap_or_default()
    );
    if state.throttle.blocked(&acct_key) || state.throttle.blocked(&addr_key) {
        return fail(t(lang, "login.throttled"), StatusCode::TOO_MANY_REQUESTS);
    }
    let svc = state.service.clone();
    let l = login.clone();
    let checked = blocking(move || {
        let Some(staff) = svc.check_password(&l, &password)? else {
            return Ok(None);
        };
        svc.create_session(&staff).map(|(token, _)| Some(token))
    })
    .await;
    match checked {
        Ok(Some(session_token)) => {
            state.throttle.clear(&acct_key);
            let mut r = redirect("/");
            set_cookie(
                &mut r,
                format!(
                    "{SESSION_COOKIE}={session_token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}"
                ),
            );
            set_cookie(
                &mut r,
                format!("{CSRF_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
            );
            r
        }
        Ok(None) => {
            state.throttle.fail(&acct_key);
            state.throttle.fail(&addr_key);
            tracing::info!(login = %login, addr = %addr_key, "failed login");
            fail(t(lang, "login.failed"), StatusCode::UNAUTHORIZED)
        }
        Err(e) => {
            tracing::error!("login failed: {e}");
            fail(&e.to_string(), StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

pub async fn logout(state: AppState, s: StaffSession, form: HashMap<String, String>) -> Response {
    if !session_csrf_ok(&s, &form) {
        let lang = s.lang();
        return html(
            views::message(lang, t(lang, "logout"), t(lang, "form.expired")),
            StatusCode::FORBIDDEN,
        );
    }
    let svc = state.service.clone();
    let token = s.token.clone();
    if let Err(e) = blocking(move || svc.end_session(&token)).await {
        tracing::error!("logout failed: {e}");
    }
    let mut r = redirect("/login");
    set_cookie(
        &mut r,
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}

pub async fn setup_page(state: AppState, token: String, csrf: Option<String>) -> Response {
    let lang = default_lang(&state);
    let svc = state.service.clone();
    let open = blocking(move || Ok(svc.read()?.staff_count()? == 0))
        .await
        .unwrap_or(false);
    if !open {
        return html(
            views::message(lang, t(lang, "setup.title"), t(lang, "setup.invalid")),
            StatusCode::NOT_FOUND,
        );
    }
    let c = pre_session_csrf(csrf);
    let mut r = html(views::setup(lang, &token, &c, None), StatusCode::OK);
    set_cookie(&mut r, csrf_cookie(&c));
    r
}

pub async fn setup_submit(
    state: AppState,
    token: String,
    csrf: Option<String>,
    form: HashMap<String, String>,
) -> Response {
    let lang = default_lang(&state);
    let c = pre_session_csrf(csrf.clone());
    let again = |msg: &str, code| {
        let mut r = html(views::setup(lang, &token, &c, Some(msg)), code);
        set_cookie(&mut r, csrf_cookie(&c));
        r
    };
    if !form_csrf_ok(csrf.as_deref(), &form) {
        return again(t(lang, "form.expired"), StatusCode::FORBIDDEN);
    }
    let login = form.get("login").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    if form.get("password2") != Some(&password) {
        return again(t(lang, "setup.mismatch"), StatusCode::BAD_REQUEST);
    }
    let svc = state.service.clone();
    let tk = token.clone();
    match blocking(move || svc.complete_setup(&tk, &login, &password)).await {
        Ok(_) => redirect("/login?done=1"),
        Err(e) if e.kind() == "forbidden" => html(
            views::message(lang, t(lang, "setup.title"), t(lang, "setup.invalid")),
            StatusCode::FORBIDDEN,
        ),
        Err(e) => again(&e.to_string(), StatusCode::BAD_REQUEST),
    }
}

pub async fn dashboard(state: AppState, s: StaffSession) -> Response {
    let svc = state.service.clone();
    let login = s.staff.login.clone();
    let tz = state.tz;
    let data = blocking(move || {
        let facts = svc.dashboard(tz)?;
        let recent = svc
            .read()?
            .tickets(&TicketFilter::default(), 0, 20)?
            .tickets;
        let problems = svc.failing_health()?;
        let digest = svc.digest_subscribed(&login)?;
        Ok((facts, recent, problems, digest))
    })
    .await;
    let lang = s.lang();
    match data {
        Ok((facts, recent, problems, digest)) => html(
            views::dashboard(
                lang,
                &views::Dashboard {
                    staff: &s.staff,
                    csrf: &s.csrf,
                    facts: &facts,
                    recent: &recent,
                    problems: &problems,
                    digest,
                    tz,
                },
            ),
            StatusCode::OK,
        ),
        Err(e) => html(
            views::message(lang, "helpdesk", &e.to_string()),
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    }
}

/// Turns the signed-in staff member's daily digest on or off.
pub async fn digest_toggle(
    state: AppState,
    s: StaffSession,
    form: HashMap<String, String>,
) -> Response {
    if !session_csrf_ok(&s, &form) {
        let lang = s.lang();
        return html(
            views::message(lang, "helpdesk", t(lang, "form.expired")),
            StatusCode::FORBIDDEN,
        );
    }
    let on = form.get("on").is_some_and(|v| v == "1");
    let svc = state.service.clone();
    let actor = crate::domain::Actor::Staff {
        login: s.staff.login.clone(),
        role: s.staff.role,
    };
    let login = s.staff.login.clone();
    match blocking(move || svc.set_digest_subscription(&actor, &login, on)).await {
        Ok(()) => redirect("/"),
        Err(e) => html(
            views::message(s.lang(), "helpdesk", &e.to_string()),
            StatusCode::BAD_REQUEST,
        ),
    }
}
