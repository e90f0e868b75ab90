//! Panel area `/logs`: the audit trail (`/logs`, who changed what) and the message log
//! (`/logs/messages`, every bot message in and out), each filtered by text, actor or chat and a
//! date range, newest first, 100 per page; every filter is kept in the URL.
//!
//! The store answers only "the newest N rows" for both logs, so filtering happens in memory
//! over a window of the newest [`WINDOW`] rows; the page says so when the window is full.

use chrono::NaiveDate;
use maud::{Markup, html};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::common::{self, allow, either, html as page, service_error};
use super::panel::StaffSession;
use super::{AppState, blocking, views};
use crate::domain::*;
use crate::service::reports::{day_start, parse_day};
use crate::store::Reads;

/// Rows per page.
pub const PAGE: usize = 100;
/// Newest rows of a log searched by the filters (the store has no range queries on logs).
pub const WINDOW: usize = 20_000;

/// (key, ru, uk, en)
const TEXTS: &[(&str, &str, &str, &str)] = &[
    ("title", "Журналы", "Журнали", "Logs"),
    ("audit", "Журнал действий", "Журнал дій", "Audit log"),
    (
        "messages",
        "Сообщения бота",
        "Повідомлення бота",
        "Bot messages",
    ),
    ("q", "Текст содержит", "Текст містить", "Text contains"),
    (
        "actor",
        "Кто (логин, cli, system, tg:…)",
        "Хто (логін, cli, system, tg:…)",
        "Who (login, cli, system, tg:…)",
    ),
    (
        "chat",
        "Чат или пользователь (id)",
        "Чат або користувач (id)",
        "Chat or user (id)",
    ),
    ("dir", "Направление", "Напрямок", "Direction"),
    ("any", "любое", "будь-який", "any"),
    ("in", "входящее", "вхідне", "incoming"),
    ("out", "исходящее", "вихідне", "outgoing"),
    ("from", "С", "З", "From"),
    ("to", "По", "По", "To"),
    ("apply", "Показать", "Показати", "Show"),
    ("reset", "Сбросить", "Скинути", "Reset"),
    ("time", "Время", "Час", "Time"),
    ("who", "Кто", "Хто", "Actor"),
    ("action", "Действие", "Дія", "Action"),
    ("target", "Объект", "Об'єкт", "Target"),
    ("detail", "Подробности", "Подробиці", "Detail"),
    ("chat_col", "Чат", "Чат", "Chat"),
    ("user", "Пользователь", "Користувач", "User"),
    ("text", "Текст", "Текст", "Text"),
    (
        "nothing",
        "Ничего не найдено.",
        "Нічого не знайдено.",
        "Nothing found.",
    ),
    ("prev", "Назад", "Назад", "Previous"),
    ("next", "Дальше", "Далі", "Next"),
    ("page", "Страница", "Сторінка", "Page"),
    ("found", "Найдено", "Знайдено", "Found"),
    (
        "window",
        "Поиск идёт по последним 20 000 записям; более старые не показаны.",
        "Пошук іде останніми 20 000 записами; старіші не показано.",
        "Only the newest 20,000 entries are searched; older ones are not shown.",
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
    let audit = warp::path!("logs")
        .or(warp::path!("logs" / "audit"))
        .unify()
        .and(warp::get())
        .and(s())
        .and(common::query())
        .then(|st, s, q| show(st, s, q, Log::Audit));
    let messages = warp::path!("logs" / "messages")
        .and(warp::get())
        .and(s())
        .and(common::query())
        .then(|st, s, q| show(st, s, q, Log::Messages));
    audit.or(messages).unify().boxed()
}

/// Which log a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log {
    Audit,
    Messages,
}

impl Log {
    fn path(self) -> &'static str {
        match self {
            Log::Audit => "/logs",
            Log::Messages => "/logs/messages",
        }
    }
}

/// A parsed log query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogQuery {
    /// Lower-cased text that must appear.
    pub text: Option<String>,
    /// Audit: lower-cased part of the actor (`staff:ivan`, `cli`, `system`, `tg:42`).
    pub actor: Option<String>,
    /// Messages: a chat or user id.
    pub chat: Option<i64>,
    pub direction: Option<Direction>,
    /// At or after.
    pub from: Option<Timestamp>,
    /// Before.
    pub to: Option<Timestamp>,
    pub page: usize,
    pub raw: Vec<(String, String)>,
}

/// Parses a log page's query; a bad value names its field.
pub fn parse_query(
    q: &[(String, String)],
    tz: chrono_tz::Tz,
    log: Log,
) -> Result<LogQuery, String> {
    let mut out = LogQuery {
        page: 1,
        ..Default::default()
    };
    let mut days: (Option<NaiveDate>, Option<NaiveDate>) = (None, None);
    for (k, v) in q {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        out.raw.push((k.clone(), v.to_string()));
        match (k.as_str(), log) {
            ("q", _) => {
                if v.chars().count() > 200 {
                    return Err("q: the search text is too long (at most 200 characters)".into());
                }
                out.text = Some(v.to_lowercase());
            }
            ("actor", Log::Audit) => {
                if v.chars().count() > 100 {
                    return Err("actor: too long (at most 100 characters)".into());
                }
                out.actor = Some(v.to_lowercase());
            }
            ("chat", Log::Messages) => {
                out.chat = Some(
                    v.parse::<i64>()
                        .map_err(|_| format!("chat: '{v}' is not a Telegram id"))?,
                )
            }
            ("dir", Log::Messages) => {
                out.direction = Some(match v {
                    "in" => Direction::In,
                    "out" => Direction::Out,
                    _ => return Err(format!("dir: unknown value '{v}' (in or out)")),
                })
            }
            ("from", _) => days.0 = Some(parse_day("from", v)?),
            ("to", _) => days.1 = Some(parse_day("to", v)?),
            ("page", _) => {
                out.page = v
                    .parse::<usize>()
                    .ok()
                    .filter(|p| (1..=100_000).contains(p))
                    .ok_or_else(|| format!("page: '{v}' is not a page number"))?
            }
            _ => return Err(format!("{k}: unknown filter")),
        }
    }
    if let (Some(f), Some(t)) = days
        && f > t
    {
        return Err("from: must not be after to".into());
    }
    out.from = days.0.map(|d| day_start(d, tz));
    out.to = days.1.map(|d| day_start(d + chrono::Days::new(1), tz));
    Ok(out)
}

impl LogQuery {
    fn in_range(&self, at: Timestamp) -> bool {
        self.from.is_none_or(|f| at >= f) && self.to.is_none_or(|t| at < t)
    }

    /// Whether an audit row passes the filters.
    pub fn audit_matches(&self, e: &AuditEntry) -> bool {
        self.in_range(e.at)
            && self
                .actor
                .as_deref()
                .is_none_or(|a| e.actor.to_string().to_lowercase().contains(a))
            && self.text.as_deref().is_none_or(|q| {
                [&e.action, &e.target, &e.detail]
                    .iter()
                    .any(|f| f.to_lowercase().contains(q))
            })
    }

    /// Whether a logged message passes the filters.
    pub fn message_matches(&self, m: &MessageLog) -> bool {
        self.in_range(m.at)
            && self
                .chat
                .is_none_or(|c| m.chat_id == c || m.user_id == Some(c))
            && self.direction.is_none_or(|d| m.direction == d)
            && self
                .text
                .as_deref()
                .is_none_or(|q| m.text.to_lowercase().contains(q))
    }
}

/// One page of filtered rows.
struct Found<T> {
    rows: Vec<T>,
    matched: usize,
    window_full: bool,
}

fn paginate<T>(all: Vec<T>, window_full: bool, keep: impl Fn(&T) -> bool, page: usize) -> Found<T> {
    let matched: Vec<T> = all.into_iter().filter(|r| keep(r)).collect();
    let n = matched.len();
    Found {
        rows: matched
            .into_iter()
            .skip((page - 1) * PAGE)
            .take(PAGE)
            .collect(),
        matched: n,
        window_full,
    }
}

enum Rows {
    Audit(Found<AuditEntry>),
    Messages(Found<MessageLog>),
}

async fn show(state: AppState, s: StaffSession, q: Vec<(String, String)>, log: Log) -> Response {
    either(
        async {
            allow(&s, Action::ViewAudit)?;
            let query = parse_query(&q, state.tz, log)
                .map_err(|e| common::error_page(&s, StatusCode::BAD_REQUEST, &e))?;
            let svc = state.service.clone();
            let qq = query.clone();
            let rows = blocking(move || {
                let tx = svc.read()?;
                Ok(match log {
                    Log::Audit => {
                        let all = tx.audit_recent(WINDOW)?;
                        let full = all.len() == WINDOW;
                        Rows::Audit(paginate(all, full, |e| qq.audit_matches(e), qq.page))
                    }
                    Log::Messages => {
                        let all = tx.messages_recent(WINDOW)?;
                        let full = all.len() == WINDOW;
                        Rows::Messages(paginate(all, full, |m| qq.message_matches(m), qq.page))
                    }
                })
            })
            .await
            .map_err(|e| service_error(&s, &e))?;
            Ok(page(view(&s, log, &query, &rows, state.tz), StatusCode::OK))
        }
        .await,
    )
}

fn fmt_time(t: Timestamp, tz: chrono_tz::Tz) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn url_with(log: Log, raw: &[(String, String)], page: usize) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in raw.iter().filter(|(k, _)| k != "page") {
        ser.append_pair(k, v);
    }
    ser.append_pair("page", &page.to_string());
    format!("{}?{}", log.path(), ser.finish())
}

fn view(s: &StaffSession, log: Log, q: &LogQuery, rows: &Rows, tz: chrono_tz::Tz) -> Markup {
    let lang = s.lang();
    let get = |k: &str| {
        q.raw
            .iter()
            .find(|(kk, _)| kk == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let (matched, window_full, shown) = match rows {
        Rows::Audit(f) => (f.matched, f.window_full, f.rows.len()),
        Rows::Messages(f) => (f.matched, f.window_full, f.rows.len()),
    };
    let has_more = matched > q.page * PAGE;
    let title = match log {
        Log::Audit => tr(lang, "audit"),
        Log::Messages => tr(lang, "messages"),
    };
    let body = html! {
        h1 { (tr(lang, "title")) }
        p.tabs {
            @for (l, key) in [(Log::Audit, "audit"), (Log::Messages, "messages")] {
                @if l == log { b { (tr(lang, key)) } } @else { a href=(l.path()) { (tr(lang, key)) } }
                " "
            }
        }
        form.card.filters method="get" action=(log.path()) {
            label for="q" { (tr(lang, "q")) }
            input #q type="search" name="q" value=(get("q")) maxlength="200";
            @match log {
                Log::Audit => {
                    label for="actor" { (tr(lang, "actor")) }
                    input #actor type="text" name="actor" value=(get("actor")) maxlength="100";
                }
                Log::Messages => {
                    label for="chat" { (tr(lang, "chat")) }
                    input #chat type="text" name="chat" value=(get("chat")) maxlength="20";
                    label for="dir" { (tr(lang, "dir")) }
                    select #dir name="dir" {
                        option value="" { (tr(lang, "any")) }
                        option value="in" selected[get("dir") == "in"] { (tr(lang, "in")) }
                        option value="out" selected[get("dir") == "out"] { (tr(lang, "out")) }
                    }
                }
            }
            label for="from" { (tr(lang, "from")) }
            input #from type="date" name="from" value=(get("from"));
            label for="to" { (tr(lang, "to")) }
            input #to type="date" name="to" value=(get("to"));
            button type="submit" { (tr(lang, "apply")) }
            " "
            a href=(log.path()) { (tr(lang, "reset")) }
        }
        div.card {
            h2 { (title) }
            p.muted { (tr(lang, "found")) ": " (matched) }
            @if window_full { p.muted { (tr(lang, "window")) } }
            @match rows {
                Rows::Audit(f) => {
                    table #audit {
                        thead { tr {
                            th { (tr(lang, "time")) } th { (tr(lang, "who")) } th { (tr(lang, "action")) }
                            th { (tr(lang, "target")) } th { (tr(lang, "detail")) }
                        } }
                        tbody {
                            @for e in &f.rows {
                                tr {
                                    td { (fmt_time(e.at, tz)) }
                                    td { (e.actor.to_string()) }
                                    td { code { (e.action) } }
                                    td { (e.target) }
                                    td { (e.detail) }
                                }
                            }
                        }
                    }
                }
                Rows::Messages(f) => {
                    table #messages {
                        thead { tr {
                            th { (tr(lang, "time")) } th { (tr(lang, "dir")) } th { (tr(lang, "chat_col")) }
                            th { (tr(lang, "user")) } th { (tr(lang, "text")) }
                        } }
                        tbody {
                            @for m in &f.rows {
                                tr {
                                    td { (fmt_time(m.at, tz)) }
                                    td { @match m.direction { Direction::In => { "→ " (tr(lang, "in")) } Direction::Out => { "← " (tr(lang, "out")) } } }
                                    td { (m.chat_id) }
                                    td { @if let Some(u) = m.user_id { (u) } @else { "—" } }
                                    td { (m.text) }
                                }
                            }
                        }
                    }
                }
            }
            @if shown == 0 { p.muted { (tr(lang, "nothing")) } }
            p.pager {
                @if q.page > 1 { a href=(url_with(log, &q.raw, q.page - 1)) { "← " (tr(lang, "prev")) } " " }
                span.muted { (tr(lang, "page")) " " (q.page) }
                @if has_more { " " a href=(url_with(log, &q.raw, q.page + 1)) { (tr(lang, "next")) " →" } }
            }
        }
    };
    views::layout(lang, title, Some((&s.staff, &s.csrf)), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TZ: chrono_tz::Tz = chrono_tz::Europe::Moscow;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn entry(at: Timestamp, actor: Actor, action: &str, detail: &str) -> AuditEntry {
        AuditEntry {
            id: 1,
            at,
            actor,
            action: action.into(),
            target: "ticket:#7".into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn bad_values_name_their_field() {
        for (log, k, v) in [
            (Log::Audit, "from", "2026-02-30"),
            (Log::Audit, "to", "tomorrow"),
            (Log::Audit, "page", "0"),
            (Log::Audit, "chat", "1"),
            (Log::Messages, "chat", "abc"),
            (Log::Messages, "dir", "up"),
            (Log::Messages, "actor", "x"),
            (Log::Messages, "bogus", "1"),
        ] {
            let e = parse_query(&q(&[(k, v)]), TZ, log).unwrap_err();
            assert!(e.starts_with(k), "{k}={v}: {e}");
        }
        let e = parse_query(
            &q(&[("from", "2026-03-02"), ("to", "2026-03-01")]),
            TZ,
            Log::Audit,
        )
        .unwrap_err();
        assert!(e.starts_with("from"));
        assert!(
            parse_query(
                &q(&[("from", "2026-03-01"), ("to", "2026-03-01")]),
                TZ,
                Log::Audit
            )
            .is_ok()
        );
    }

    #[test]
    fn audit_filters() {
        let p = parse_query(
            &q(&[
                ("from", "2026-03-01"),
                ("to", "2026-03-01"),
                ("actor", "BOSS"),
                ("q", "LOGIN"),
            ]),
            TZ,
            Log::Audit,
        )
        .unwrap();
        let day = day_start(parse_day("d", "2026-03-01").unwrap(), TZ);
        let boss = Actor::Staff {
            login: "boss".into(),
            role: Role::Admin,
        };
        assert!(p.audit_matches(&entry(day, boss.clone(), "session.login", "")));
        assert!(p.audit_matches(&entry(day + 86_399, boss.clone(), "x", "after login")));
        assert!(!p.audit_matches(&entry(day + 86_400, boss.clone(), "session.login", "")));
        assert!(!p.audit_matches(&entry(day - 1, boss.clone(), "session.login", "")));
        assert!(!p.audit_matches(&entry(day, Actor::Cli, "session.login", "")));
        assert!(!p.audit_matches(&entry(day, boss, "ticket.create", "")));
    }

    #[test]
    fn message_filters_and_pages() {
        let p = parse_query(
            &q(&[("chat", "42"), ("dir", "in"), ("q", "принтер")]),
            TZ,
            Log::Messages,
        )
        .unwrap();
        let m = |chat_id, user_id, direction, text: &str| MessageLog {
            id: 1,
            at: 0,
            direction,
            chat_id,
            user_id,
            text: text.into(),
        };
        assert!(p.message_matches(&m(42, None, Direction::In, "Не работает ПРИНТЕР")));
        assert!(p.message_matches(&m(-100, Some(42), Direction::In, "принтер")));
        assert!(!p.message_matches(&m(42, None, Direction::Out, "принтер")));
        assert!(!p.message_matches(&m(43, None, Direction::In, "принтер")));
        let f = paginate((0..250).collect::<Vec<u32>>(), false, |n| n % 2 == 0, 2);
        assert_eq!(f.matched, 125);
        assert_eq!(f.rows.first(), Some(&200));
        assert_eq!(f.rows.len(), 25);
    }
}
