//! The maintenance mode the server starts in while its data folder cannot be written (a
//! read-only mount, the wrong owner after a restore): `/healthz` answers 503 naming the check
//! `data_dir`, `/metrics` says `helpdesk_up 0`, and every other address shows a maintenance
//! page saying what is wrong and what to do. `server.rs` retries the folder on an interval and
//! switches to the full application by itself.
//!
//! No route here reaches the service (there is none yet), so one handler dispatches by path.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use maud::{DOCTYPE, html};
use warp::Filter;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

use crate::domain::Language;
use crate::domain::texts::{TextTable, render};

/// What the maintenance mode knows and shows.
pub struct Outage {
    pub data_dir: PathBuf,
    /// Seconds between two attempts to open the data folder.
    pub retry_seconds: u32,
    pub language: Language,
    /// Whether the bot is configured (it is not running in this mode).
    pub bot_configured: bool,
    detail: RwLock<String>,
}

impl Outage {
    pub fn new(
        data_dir: PathBuf,
        detail: String,
        retry_seconds: u32,
        language: Language,
        bot_configured: bool,
    ) -> Outage {
        Outage {
            data_dir,
            retry_seconds,
            language,
            bot_configured,
            detail: RwLock::new(detail),
        }
    }

    /// What is wrong now (the latest attempt's error).
    pub fn detail(&self) -> String {
        self.detail
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_detail(&self, d: String) {
        *self.detail.write().unwrap_or_else(|e| e.into_inner()) = d;
    }
}

const TEXTS: &[(&str, &str, &str, &str)] = &[
    (
        "title",
        "Папка данных недоступна для записи",
        "Тека даних недоступна для запису",
        "The data folder cannot be written",
    ),
    (
        "what",
        "helpdesk работает в режиме обслуживания: папка данных {dir} доступна только для чтения или принадлежит другому пользователю. Заявки, панель и бот не работают, пока это не исправлено; данные не повреждены.",
        "helpdesk працює в режимі обслуговування: тека даних {dir} доступна лише для читання або належить іншому користувачеві. Заявки, панель і бот не працюють, доки це не виправлено; дані не пошкоджені.",
        "helpdesk is in maintenance mode: the data folder {dir} is read-only or belongs to another user. Tickets, the panel and the bot are stopped until this is fixed; no data is damaged.",
    ),
    (
        "todo",
        "Что сделать: дайте пользователю, от имени которого запущен helpdesk, право записи в папку и файл helpdesk.redb (например, chown -R helpdesk: {dir}) или перемонтируйте диск в режиме записи.",
        "Що зробити: дайте користувачеві, від імені якого запущено helpdesk, право запису в теку та файл helpdesk.redb (наприклад, chown -R helpdesk: {dir}) або перемонтуйте диск у режимі запису.",
        "What to do: give the user helpdesk runs as write access to the folder and to helpdesk.redb (for example chown -R helpdesk: {dir}), or remount the disk read-write.",
    ),
    (
        "retry",
        "Сервер проверяет папку каждые {n} с и запустится сам — перезапуск не нужен.",
        "Сервер перевіряє теку кожні {n} с і запуститься сам — перезапуск не потрібен.",
        "The server checks the folder every {n} s and starts by itself; no restart is needed.",
    ),
    ("error", "Ошибка", "Помилка", "Error"),
];

static T: TextTable = TextTable::new(TEXTS);

fn t(lang: Language, key: &str) -> &'static str {
    T.get(lang, key).unwrap_or("?")
}

/// The maintenance routes: every method and path.
pub fn routes(
    outage: Arc<Outage>,
) -> impl Filter<Extract = (Response,), Error = Infallible> + Clone {
    warp::path::full().map(move |p: warp::path::FullPath| answer(&outage, p.as_str()))
}

/// Serves the maintenance mode on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    outage: Arc<Outage>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    warp::serve(routes(outage).with(warp::reply::with::headers(super::security_headers())))
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
}

fn answer(o: &Outage, path: &str) -> Response {
    let detail = o.detail();
    match path {
        "/healthz" => {
            let body = super::HealthBody {
                status: "error",
                version: env!("CARGO_PKG_VERSION"),
                db: format!("error: {detail}"),
                bot: if o.bot_configured { "error" } else { "disabled" },
                outbox_pending: 0,
                outbox_failed: 0,
                failing: vec!["data_dir".to_string()],
                warnings: [("data_dir".to_string(), detail)].into_iter().collect(),
            };
            warp::reply::with_status(warp::reply::json(&body), StatusCode::SERVICE_UNAVAILABLE)
                .into_response()
        }
        "/metrics" => warp::reply::with_header(
            format!(
                "# HELP helpdesk_up 1 when the database answers.\n# TYPE helpdesk_up gauge\nhelpdesk_up 0\n\
                 # HELP helpdesk_info Build information.\n# TYPE helpdesk_info gauge\nhelpdesk_info{{version=\"{}\"}} 1\n\
                 # HELP helpdesk_data_dir_writable 1 when the data folder can be written.\n# TYPE helpdesk_data_dir_writable gauge\nhelpdesk_data_dir_writable 0\n",
                env!("CARGO_PKG_VERSION")
            ),
            "content-type",
            "text/plain; version=0.0.4",
        )
        .into_response(),
        "/static/style.css" => {
            warp::reply::with_header(super::STYLE_CSS, "content-type", "text/css; charset=utf-8")
                .into_response()
        }
        _ => {
            let lang = o.language;
            let dir = o.data_dir.display().to_string();
            let n = o.retry_seconds.to_string();
            let page = html! {
                (DOCTYPE)
                html lang=(lang.as_str()) {
                    head {
                        meta charset="utf-8";
                        meta name="viewport" content="width=device-width, initial-scale=1";
                        title { (t(lang, "title")) " — helpdesk" }
                        link rel="stylesheet" href="/static/style.css";
                    }
                    body {
                        header.top { span.brand { "helpdesk" } }
                        main {
                            div.card {
                                h1 { (t(lang, "title")) }
                                p { (render(t(lang, "what"), &[("dir", &dir)])) }
                                p.error role="alert" { (t(lang, "error")) ": " (detail) }
                                p { (render(t(lang, "todo"), &[("dir", &dir)])) }
                                p.muted { (render(t(lang, "retry"), &[("n", &n)])) }
                            }
                        }
                    }
                }
            };
            let mut r = super::common::html(page, StatusCode::SERVICE_UNAVAILABLE);
            r.headers_mut().insert(
                "retry-after",
                n.parse().expect("digits are a valid header value"),
            );
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_has_three_languages() {
        for (key, ..) in TEXTS {
            for lang in [Language::Ru, Language::Uk, Language::En] {
                assert!(T.get(lang, key).is_some_and(|s| !s.is_empty()), "{key}");
            }
        }
    }
}
