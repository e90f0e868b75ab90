//! Panel area `/broadcast`: compose a message to every active, unblocked requester, preview it
//! exactly as it will be sent with the number of recipients, send it (one service call queues
//! every message in one transaction), then follow its delivery at `/broadcast/{batch}` until
//! the delivery report.

use std::collections::HashMap;

use maud::{Markup, html};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::common::{self, allow, csrf, either, fmt_time, html as page, redirect, service_error};
use super::panel::StaffSession;
use super::{AppState, blocking, views};
use crate::domain::validate::MAX_TEXT;
use crate::domain::*;
use crate::service::BroadcastProgress;
use crate::store::Reads;

/// Seconds between refreshes of the progress page while messages are pending.
const REFRESH_SECONDS: u32 = 3;
/// Recent broadcasts listed on the compose page (from the newest audit rows).
const RECENT: usize = 10;
/// Audit rows searched for recent broadcasts.
const AUDIT_WINDOW: usize = 5_000;

/// (key, ru, uk, en)
const TEXTS: &[(&str, &str, &str, &str)] = &[
    ("title", "Рассылка", "Розсилка", "Broadcast"),
    (
        "text",
        "Текст сообщения",
        "Текст повідомлення",
        "Message text",
    ),
    ("preview", "Предпросмотр", "Попередній перегляд", "Preview"),
    ("recipients", "Получателей", "Отримувачів", "Recipients"),
    (
        "recipients_hint",
        "Активные пользователи бота, кроме заблокированных.",
        "Активні користувачі бота, крім заблокованих.",
        "Active bot users, except blocked ones.",
    ),
    (
        "exactly",
        "Так сообщение увидят получатели:",
        "Так повідомлення побачать отримувачі:",
        "This is exactly what the recipients will get:",
    ),
    ("chars", "символов", "символів", "characters"),
    (
        "send",
        "Отправить получателям:",
        "Надіслати отримувачам:",
        "Send to recipients:",
    ),
    ("edit", "Изменить", "Змінити", "Edit"),
    (
        "no_recipients",
        "Получателей нет: отправлять некому.",
        "Отримувачів немає: надсилати нікому.",
        "There are no recipients to send to.",
    ),
    (
        "recent",
        "Последние рассылки",
        "Останні розсилки",
        "Recent broadcasts",
    ),
    ("when", "Когда", "Коли", "When"),
    ("who", "Кто", "Хто", "Who"),
    ("count", "Сообщений", "Повідомлень", "Messages"),
    (
        "progress",
        "Ход рассылки",
        "Хід розсилки",
        "Broadcast progress",
    ),
    (
        "report",
        "Отчёт о доставке",
        "Звіт про доставку",
        "Delivery report",
    ),
    ("total", "Всего", "Усього", "Total"),
    ("delivered", "Доставлено", "Доставлено", "Delivered"),
    ("failed", "Не доставлено", "Не доставлено", "Failed"),
    ("pending", "В очереди", "У черзі", "Pending"),
    (
        "refreshing",
        "Страница обновляется каждые 3 секунды.",
        "Сторінка оновлюється кожні 3 секунди.",
        "This page refreshes every 3 seconds.",
    ),
    (
        "failed_list",
        "Недоставленные",
        "Недоставлені",
        "Not delivered",
    ),
    ("chat", "Чат", "Чат", "Chat"),
    ("attempts", "Попыток", "Спроб", "Attempts"),
    ("error", "Ошибка", "Помилка", "Error"),
    ("new", "Новая рассылка", "Нова розсилка", "New broadcast"),
    (
        "none",
        "Рассылок ещё не было.",
        "Розсилок ще не було.",
        "No broadcasts yet.",
    ),
];

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
    let compose = warp::path!("broadcast")
        .and(warp::get())
        .and(s())
        .then(compose);
    let preview = warp::path!("broadcast" / "preview")
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(preview);
    let send = warp::path!("broadcast" / "send")
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(send);
    let progress = warp::path!("broadcast" / u64)
        .and(warp::get())
        .and(s())
        .then(|b, st, s| progress(st, s, b));
    compose
        .or(preview)
        .unify()
        .or(send)
        .unify()
        .or(progress)
        .unify()
        .boxed()
}

/// A broadcast found in the audit trail: (batch, when, who, messages queued).
struct Sent {
    batch: u64,
    at: Timestamp,
    actor: String,
    detail: String,
}

async fn compose(state: AppState, s: StaffSession) -> Response {
    either(
        async {
            allow(&s, Action::Broadcast)?;
            let svc = state.service.clone();
            let (n, recent) = blocking(move || {
                let tx = svc.read()?;
                let recent: Vec<Sent> = tx
                    .audit_recent(AUDIT_WINDOW)?
                    .into_iter()
                    .filter(|e| e.action == "broadcast.send")
                    .filter_map(|e| {
                        let batch = e.target.strip_prefix("broadcast:")?.parse().ok()?;
                        Some(Sent {
                            batch,
                            at: e.at,
                            actor: e.actor.to_string(),
                            detail: e.detail,
                        })
                    })
                    .take(RECENT)
                    .collect();
                drop(tx);
                Ok((svc.broadcast_recipients()?, recent))
            })
            .await
            .map_err(|e| service_error(&s, &e))?;
            Ok(page(
                compose_view(&s, n, "", None, &recent, state.tz),
                StatusCode::OK,
            ))
        }
        .await,
    )
}

fn compose_form(s: &StaffSession, text: &str) -> Markup {
    let lang = s.lang();
    html! {
        form.card method="post" action="/broadcast/preview" {
            input type="hidden" name="csrf" value=(s.csrf);
            label for="text" { (tr(lang, "text")) }
            textarea #text name="text" rows="8" maxlength=(MAX_TEXT) required { (text) }
            button type="submit" { (tr(lang, "preview")) }
        }
    }
}

fn compose_view(
    s: &StaffSession,
    n: u64,
    text: &str,
    error: Option<&str>,
    recent: &[Sent],
    tz: chrono_tz::Tz,
) -> Markup {
    let lang = s.lang();
    let body = html! {
        h1 { (tr(lang, "title")) }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        p { (tr(lang, "recipients")) ": " b #recipients { (n) } " " span.muted { (tr(lang, "recipients_hint")) } }
        (compose_form(s, text))
        div.card {
            h2 { (tr(lang, "recent")) }
            @if recent.is_empty() {
                p.muted { (tr(lang, "none")) }
            } @else {
                table {
                    thead { tr { th { "#" } th { (tr(lang, "when")) } th { (tr(lang, "who")) } th { (tr(lang, "count")) } } }
                    tbody {
                        @for r in recent {
                            tr {
                                td { a href={ "/broadcast/" (r.batch) } { (r.batch) } }
                                td { (fmt_time(r.at, tz)) }
                                td { (r.actor) }
                                td { (r.detail) }
                            }
                        }
                    }
                }
            }
        }
    };
    views::layout(lang, tr(lang, "title"), Some((&s.staff, &s.csrf)), body)
}

async fn preview(state: AppState, s: StaffSession, form: HashMap<String, String>) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            allow(&s, Action::Broadcast)?;
            let raw = form.get("text").cloned().unwrap_or_default();
            let svc = state.service.clone();
            let actor = Actor::Staff {
                login: s.staff.login.clone(),
                role: s.staff.role,
            };
            let text = raw.clone();
            match blocking(move || svc.broadcast_preview(&actor, &text, false)).await {
                Ok((text, n)) => Ok(page(preview_view(&s, &text, n), StatusCode::OK)),
                Err(crate::service::ServiceError::Invalid(e)) => {
                    let svc = state.service.clone();
                    let n = blocking(move || svc.broadcast_recipients())
                        .await
                        .map_err(|e| service_error(&s, &e))?;
                    Err(page(
                        compose_view(&s, n, &raw, Some(&e.to_string()), &[], state.tz),
                        StatusCode::BAD_REQUEST,
                    ))
                }
                Err(e) => Err(service_error(&s, &e)),
            }
        }
        .await,
    )
}

fn preview_view(s: &StaffSession, text: &str, n: u64) -> Markup {
    let lang = s.lang();
    let body = html! {
        h1 { (tr(lang, "preview")) }
        div.card {
            p { (tr(lang, "exactly")) }
            pre #preview { (text) }
            p.muted { (text.chars().count()) " " (tr(lang, "chars")) }
            p { (tr(lang, "recipients")) ": " b #recipients { (n) } " " span.muted { (tr(lang, "recipients_hint")) } }
            @if n == 0 {
                p.error { (tr(lang, "no_recipients")) }
            }
            form method="post" action="/broadcast/send" {
                input type="hidden" name="csrf" value=(s.csrf);
                input type="hidden" name="text" value=(text);
                button type="submit" { (tr(lang, "send")) " " (n) }
            }
        }
        h2 { (tr(lang, "edit")) }
        (compose_form(s, text))
    };
    views::layout(lang, tr(lang, "preview"), Some((&s.staff, &s.csrf)), body)
}

async fn send(state: AppState, s: StaffSession, form: HashMap<String, String>) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            allow(&s, Action::Broadcast)?;
            let raw = form.get("text").cloned().unwrap_or_default();
            let actor = Actor::Staff {
                login: s.staff.login.clone(),
                role: s.staff.role,
            };
            let svc = state.service.clone();
            let text = raw.clone();
            match blocking(move || svc.broadcast(&actor, &text, None)).await {
                Ok((batch, _)) => Ok(redirect(&format!("/broadcast/{batch}"))),
                Err(e) if e.kind() == "invalid" => {
                    let svc = state.service.clone();
                    let n = blocking(move || svc.broadcast_recipients())
                        .await
                        .unwrap_or(0);
                    Err(page(
                        compose_view(&s, n, &raw, Some(&e.to_string()), &[], state.tz),
                        StatusCode::BAD_REQUEST,
                    ))
                }
                Err(e) => Err(service_error(&s, &e)),
            }
        }
        .await,
    )
}

/// A row of the delivery report that gave up.
struct Failed {
    chat_id: i64,
    attempts: u32,
    error: String,
}

async fn progress(state: AppState, s: StaffSession, batch: u64) -> Response {
    either(
        async {
            allow(&s, Action::Broadcast)?;
            let svc = state.service.clone();
            let (p, failed) = blocking(move || {
                let p = svc.broadcast_progress(batch)?;
                let mut failed = Vec::new();
                if p.pending == 0 && p.failed > 0 {
                    for r in svc.read()?.outbox_all()? {
                        if r.batch == Some(batch) && r.failed {
                            let chat_id = match &r.message {
                                OutboxMessage::Telegram { chat_id, .. } => *chat_id,
                                _ => 0,
                            };
                            failed.push(Failed {
                                chat_id,
                                attempts: r.attempts,
                                error: r.last_error.unwrap_or_default(),
                            });
                        }
                    }
                }
                Ok((p, failed))
            })
            .await
            .map_err(|e| service_error(&s, &e))?;
            let mut r = page(progress_view(&s, batch, &p, &failed), StatusCode::OK);
            if p.pending > 0
                && let Ok(v) = REFRESH_SECONDS.to_string().parse()
            {
                r.headers_mut().insert("refresh", v);
            }
            Ok(r)
        }
        .await,
    )
}

/// A horizontal bar: delivered (green), failed (red), pending (grey), to scale.
fn progress_bar(p: &BroadcastProgress) -> Markup {
    let total = p.total.max(1) as f64;
    let w = |n: u64| n as f64 * 600.0 / total;
    let (d, f) = (w(p.delivered), w(p.failed));
    html! {
        svg.progress viewBox="0 0 600 24" width="600" height="24" role="img" aria-label={ (p.delivered) " / " (p.total) } {
            rect x="0" y="0" width="600" height="24" fill="#eef1f4" {}
            rect x="0" y="0" width=(format!("{d:.1}")) height="24" fill="#2e7d32" {}
            rect x=(format!("{d:.1}")) y="0" width=(format!("{f:.1}")) height="24" fill="#c62828" {}
        }
    }
}

fn progress_view(s: &StaffSession, batch: u64, p: &BroadcastProgress, failed: &[Failed]) -> Markup {
    let lang = s.lang();
    let done = p.pending == 0;
    let title = if done {
        tr(lang, "report")
    } else {
        tr(lang, "progress")
    };
    let body = html! {
        @if !done { meta http-equiv="refresh" content=(REFRESH_SECONDS); }
        h1 { (title) " #" (batch) }
        div.stats {
            div.stat { b #total { (p.total) } span { (tr(lang, "total")) } }
            div.stat { b #delivered { (p.delivered) } span { (tr(lang, "delivered")) } }
            div.stat { b #failed { (p.failed) } span { (tr(lang, "failed")) } }
            div.stat { b #pending { (p.pending) } span { (tr(lang, "pending")) } }
        }
        div.card {
            (progress_bar(p))
            @if !done { p.muted { (tr(lang, "refreshing")) } }
        }
        @if done && !failed.is_empty() {
            div.card {
                h2 { (tr(lang, "failed_list")) }
                table {
                    thead { tr { th { (tr(lang, "chat")) } th { (tr(lang, "attempts")) } th { (tr(lang, "error")) } } }
                    tbody {
                        @for f in failed {
                            tr { td { (f.chat_id) } td { (f.attempts) } td { (f.error) } }
                        }
                    }
                }
            }
        }
        p { a href="/broadcast" { (tr(lang, "new")) } }
    };
    views::layout(lang, title, Some((&s.staff, &s.csrf)), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_is_to_scale() {
        let p = BroadcastProgress {
            total: 4,
            delivered: 2,
            failed: 1,
            pending: 1,
        };
        let svg = progress_bar(&p).into_string();
        assert!(svg.contains(r#"width="300.0""#), "{svg}");
        assert!(svg.contains(r#"x="300.0" y="0" width="150.0""#), "{svg}");
        assert!(svg.contains("</rect>"));
    }
}
