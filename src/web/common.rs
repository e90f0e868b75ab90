//! What every panel area shares: filters (state, session, form, query), responses (HTML with
//! no-store, redirects, error pages), CSRF and permission checks, and the one mapping from
//! service errors to HTTP statuses.

// Handlers return `Result<Response, Response>` (an error page is a response too).
#![allow(clippy::result_large_err)]

use std::collections::HashMap;

use warp::Filter;
use warp::Reply;
use warp::filters::BoxedFilter;
use warp::http::{StatusCode, header};
use warp::reply::Response;

use super::i18n::t;
use super::panel::{self, StaffSession};
use super::{AppState, MAX_FORM, views};
use crate::domain::{Action, role};
use crate::service::ServiceError;

/// The app state.
pub fn with_state(state: AppState) -> BoxedFilter<(AppState,)> {
    warp::any().map(move || state.clone()).boxed()
}

/// A signed-in staff member (unauthenticated requests are redirected to `/login`).
pub fn session(state: AppState) -> BoxedFilter<(StaffSession,)> {
    with_state(state)
        .and(warp::cookie::optional::<String>(panel::SESSION_COOKIE))
        .and_then(panel::authenticate)
        .boxed()
}

/// A url-encoded form body of at most `MAX_FORM` bytes.
pub fn form() -> BoxedFilter<(HashMap<String, String>,)> {
    warp::body::content_length_limit(MAX_FORM)
        .and(warp::body::form::<HashMap<String, String>>())
        .boxed()
}

/// The query string as pairs (never rejects: values are checked by the page, which says what
/// is wrong).
pub fn query() -> BoxedFilter<(Vec<(String, String)>,)> {
    warp::query::raw()
        .or(warp::any().map(String::new))
        .unify()
        .map(|q: String| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .boxed()
}

/// Escapes `text` for HTML text and attribute values onto `out`: the runs between special
/// bytes are copied whole (maud's own escaper pushes byte by byte, which showed in the list
/// page's profile).
pub fn escape_into(text: &str, out: &mut String) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        out.push_str(entity);
        start = i + 1;
    }
    out.push_str(&text[start..]);
}

/// User text rendered with [`escape_into`]: `(Esc(&ticket.subject))` in a `html!` block.
pub struct Esc<'a>(pub &'a str);

impl maud::Render for Esc<'_> {
    fn render_to(&self, out: &mut String) {
        escape_into(self.0, out);
    }
}

/// An HTML page, never cached.
pub fn html(markup: maud::Markup, code: StatusCode) -> Response {
    let mut r =
        warp::reply::with_status(warp::reply::html(markup.into_string()), code).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

/// 303 See Other to `to`.
pub fn redirect(to: &str) -> Response {
    let mut r = Response::new(Default::default());
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = to.parse() {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A page saying what went wrong, with its status.
pub fn error_page(s: &StaffSession, code: StatusCode, text: &str) -> Response {
    let lang = s.lang();
    let title = match code {
        StatusCode::FORBIDDEN => t(lang, "err.forbidden"),
        StatusCode::NOT_FOUND => t(lang, "err.not_found"),
        StatusCode::BAD_REQUEST => t(lang, "err.bad_request"),
        StatusCode::CONFLICT => t(lang, "err.conflict"),
        _ => t(lang, "err.internal"),
    };
    html(
        views::error(lang, Some((&s.staff, &s.csrf)), title, text),
        code,
    )
}

/// The HTTP status of a service error.
pub fn status_of(e: &ServiceError) -> StatusCode {
    match e.kind() {
        "invalid" => StatusCode::BAD_REQUEST,
        "not_found" => StatusCode::NOT_FOUND,
        "forbidden" => StatusCode::FORBIDDEN,
        "illegal_transition" | "conflict" | "stock_rule" => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A service error as a page.
pub fn service_error(s: &StaffSession, e: &ServiceError) -> Response {
    if status_of(e) == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!("panel request failed: {e}");
    }
    error_page(s, status_of(e), &e.to_string())
}

/// Refuses (403 page) unless the session's role may do `action`.
pub fn allow(s: &StaffSession, action: Action) -> Result<(), Response> {
    if role::allowed(s.staff.role, action, None) {
        Ok(())
    } else {
        Err(error_page(
            s,
            StatusCode::FORBIDDEN,
            t(s.lang(), "err.forbidden_text"),
        ))
    }
}

/// Refuses (403 page, nothing changed) a form without the session's CSRF token.
pub fn csrf(s: &StaffSession, form: &HashMap<String, String>) -> Result<(), Response> {
    if panel::session_csrf_ok(s, form) {
        Ok(())
    } else {
        Err(error_page(
            s,
            StatusCode::FORBIDDEN,
            t(s.lang(), "form.expired"),
        ))
    }
}

/// A form field, trimmed; empty when missing.
pub fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(|s| s.trim()).unwrap_or("")
}

/// Maps `Ok(response) | Err(response)` to the response.
pub fn either(r: Result<Response, Response>) -> Response {
    r.unwrap_or_else(|e| e)
}

/// Reads one part of a multipart upload, keeping at most `limit` bytes; `true` when the part
/// was longer (the rest is read and dropped, so the form's other parts can still be read).
pub async fn read_part(
    part: &mut warp::multipart::Part,
    limit: usize,
) -> Result<(Vec<u8>, bool), warp::Error> {
    use bytes::Buf;
    let mut buf: Vec<u8> = Vec::new();
    let mut over = false;
    while let Some(chunk) = part.data().await {
        let chunk = chunk?;
        let bytes = chunk.chunk();
        if !over && buf.len() + bytes.len() <= limit {
            buf.extend_from_slice(bytes);
        } else {
            over = true;
        }
    }
    Ok((buf, over))
}

/// Reads and drops a request body, at most `limit` bytes.
pub async fn drain<B: bytes::Buf>(
    body: impl futures::Stream<Item = Result<B, warp::Error>>,
    limit: u64,
) {
    use futures::StreamExt;
    let mut body = std::pin::pin!(body);
    let mut seen = 0u64;
    while seen <= limit {
        match body.next().await {
            Some(Ok(chunk)) => seen += chunk.remaining() as u64,
            _ => break,
        }
    }
}

/// A moment as the panel shows it: local date and time to the minute.
pub fn fmt_time(t: crate::domain::Timestamp, tz: chrono_tz::Tz) -> String {
    let mut out = String::with_capacity(16);
    push_time(t, tz, &mut out);
    out
}

/// [`fmt_time`] written onto `out`: digits pushed by hand rather than through a strftime
/// pattern (parsed on every call) or `format!` — a list page shows fifty of these.
pub fn push_time(t: crate::domain::Timestamp, tz: chrono_tz::Tz, out: &mut String) {
    use chrono::{Datelike, Timelike};
    fn two(n: u32, out: &mut String) {
        out.push(char::from(b'0' + (n / 10 % 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
    }
    let Some(d) = chrono::DateTime::from_timestamp(t, 0) else {
        return;
    };
    let d = d.with_timezone(&tz);
    let year = d.year();
    if (0..10_000).contains(&year) {
        two(year as u32 / 100, out);
        two(year as u32 % 100, out);
    } else {
        out.push_str(&year.to_string());
    }
    out.push('-');
    two(d.month(), out);
    out.push('-');
    two(d.day(), out);
    out.push(' ');
    two(d.hour(), out);
    out.push(':');
    two(d.minute(), out);
}

/// A time as [`fmt_time`] shows it, rendered straight into a `html!` block.
pub struct LocalTime(pub crate::domain::Timestamp, pub chrono_tz::Tz);

impl maud::Render for LocalTime {
    fn render_to(&self, out: &mut String) {
        push_time(self.0, self.1, out);
    }
}

#[cfg(test)]
mod time_tests {
    #[test]
    fn fmt_time_is_local_to_the_minute() {
        assert_eq!(
            super::fmt_time(1_750_000_000, chrono_tz::Europe::Moscow),
            "2025-06-15 18:06"
        );
        assert_eq!(super::fmt_time(0, chrono_tz::UTC), "1970-01-01 00:00");
        assert_eq!(
            super::fmt_time(-62_135_596_800 - 86_400, chrono_tz::UTC),
            "0000-12-31 00:00"
        );
    }

    #[test]
    fn escaping_copies_runs_and_replaces_the_four_specials() {
        let mut out = String::new();
        super::escape_into("", &mut out);
        assert_eq!(out, "");
        super::escape_into("<b a=\"x\">Принтер & Co</b>", &mut out);
        assert_eq!(out, "&lt;b a=&quot;x&quot;&gt;Принтер &amp; Co&lt;/b&gt;");
        for s in ["plain", "&", "a<", ">b", "\"\"", "Ünïcödé & <ок>"] {
            let mut ours = String::new();
            super::escape_into(s, &mut ours);
            assert_eq!(ours, maud::html! { (s) }.into_string(), "{s}");
        }
    }
}
