//! Panel area `/reports`: for a range of days (by default the last 30, in the panel's time
//! zone) tickets per day, category and department; first-response and resolution times
//! (median, 90th percentile); ratings; consumables issued; SLA compliance. Charts are SVG drawn
//! on the server (no scripts). Excel exports: `/reports/tickets.xlsx` (every ticket of the
//! range) and `/reports/summary.xlsx` (the report's tables).

use chrono::NaiveDate;
use maud::{Markup, html};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{StatusCode, header};
use warp::reply::Response;

use super::charts::{day_chart, hbar};
use super::common::{self, allow, either, html as page, service_error};
use super::panel::StaffSession;
use super::{AppState, blocking, views};
use crate::domain::*;
use crate::service::reports::{
    self, DurationStats, MAX_DAYS, Report, SlaCount, day_start, local_day, parse_day,
};
use crate::store::Reads;

/// Days covered when the range is not given.
pub const DEFAULT_DAYS: u64 = 30;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// (key, ru, uk, en)
const TEXTS: &[(&str, &str, &str, &str)] = &[
    ("title", "Отчёты", "Звіти", "Reports"),
    ("from", "С", "З", "From"),
    ("to", "По", "По", "To"),
    ("apply", "Показать", "Показати", "Show"),
    (
        "export",
        "Выгрузить в Excel:",
        "Вивантажити в Excel:",
        "Export to Excel:",
    ),
    ("export_tickets", "все заявки", "усі заявки", "all tickets"),
    (
        "export_summary",
        "таблицы отчёта",
        "таблиці звіту",
        "report tables",
    ),
    ("total", "Заявок", "Заявок", "Tickets"),
    (
        "per_day",
        "Заявки по дням",
        "Заявки по днях",
        "Tickets per day",
    ),
    (
        "per_category",
        "По категориям",
        "За категоріями",
        "Per category",
    ),
    (
        "per_department",
        "По отделам",
        "За відділами",
        "Per department",
    ),
    (
        "no_department",
        "без отдела",
        "без відділу",
        "no department",
    ),
    ("times", "Время реакции", "Час реакції", "Response times"),
    (
        "first_response",
        "Первый ответ",
        "Перша відповідь",
        "First response",
    ),
    ("resolution", "Решение", "Вирішення", "Resolution"),
    ("count", "Заявок", "Заявок", "Tickets"),
    ("median", "Медиана", "Медіана", "Median"),
    (
        "p90",
        "90-й перцентиль",
        "90-й перцентиль",
        "90th percentile",
    ),
    ("ratings", "Оценки", "Оцінки", "Ratings"),
    ("average", "Средняя", "Середня", "Average"),
    ("ratings_count", "Оценок", "Оцінок", "Ratings given"),
    (
        "consumption",
        "Выдано расходников",
        "Видано витратних матеріалів",
        "Consumables issued",
    ),
    ("sku", "Артикул", "Артикул", "SKU"),
    ("name", "Наименование", "Найменування", "Name"),
    ("issued", "Выдано, шт.", "Видано, шт.", "Issued, units"),
    ("moves", "Выдач", "Видач", "Issues"),
    ("sla", "Соблюдение SLA", "Дотримання SLA", "SLA compliance"),
    (
        "sla_none",
        "Цели SLA не настроены.",
        "Цілі SLA не налаштовані.",
        "No SLA targets configured.",
    ),
    (
        "sla_response",
        "Первый ответ",
        "Перша відповідь",
        "First response",
    ),
    ("sla_resolve", "Решение", "Вирішення", "Resolution"),
    ("met", "В срок", "Вчасно", "On time"),
    ("breached", "Просрочено", "Прострочено", "Late"),
    (
        "pending",
        "Ещё не наступил срок",
        "Термін ще не настав",
        "Not yet due",
    ),
    ("share", "В срок, %", "Вчасно, %", "On time, %"),
    ("nothing", "Нет данных.", "Немає даних.", "No data."),
    ("category", "Категория", "Категорія", "Category"),
    ("department", "Отдел", "Відділ", "Department"),
    (
        "truncated",
        "Заявок больше 200 000: учтены только самые новые.",
        "Заявок понад 200 000: враховано лише найновіші.",
        "More than 200,000 tickets: only the newest were counted.",
    ),
    (
        "moves_truncated",
        "Учтены только последние 200 000 движений склада.",
        "Враховано лише останні 200 000 рухів складу.",
        "Only the newest 200,000 stock movements were counted.",
    ),
    (
        "scope",
        "Считаются заявки, созданные в эти дни.",
        "Враховуються заявки, створені в ці дні.",
        "Counts tickets created on these days.",
    ),
    ("min", "мин", "хв", "min"),
    ("h", "ч", "год", "h"),
    ("d", "д", "д", "d"),
    ("s", "с", "с", "s"),
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
    let show = warp::path!("reports")
        .and(warp::get())
        .and(s())
        .and(common::query())
        .then(show);
    let tickets = warp::path!("reports" / "tickets.xlsx")
        .and(warp::get())
        .and(s())
        .and(common::query())
        .then(tickets_xlsx);
    let summary = warp::path!("reports" / "summary.xlsx")
        .and(warp::get())
        .and(s())
        .and(common::query())
        .then(summary_xlsx);
    show.or(tickets).unify().or(summary).unify().boxed()
}

/// The report's days, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Parses `from`/`to` (`YYYY-MM-DD`); missing ends default to the last [`DEFAULT_DAYS`] days
/// up to `today`. A bad value names its field.
pub fn parse_range(q: &[(String, String)], today: NaiveDate) -> Result<Range, String> {
    let (mut from, mut to) = (None, None);
    for (k, v) in q {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        match k.as_str() {
            "from" => from = Some(parse_day("from", v)?),
            "to" => to = Some(parse_day("to", v)?),
            _ => return Err(format!("{k}: unknown parameter")),
        }
    }
    let to = to.unwrap_or(today);
    let from = from.unwrap_or_else(|| to - chrono::Days::new(DEFAULT_DAYS - 1));
    if from > to {
        return Err("from: must not be after to".into());
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(format!("to: a report covers at most {MAX_DAYS} days"));
    }
    Ok(Range { from, to })
}

fn range_of(state: &AppState, q: &[(String, String)]) -> Result<Range, String> {
    parse_range(q, local_day(state.service.now(), state.tz))
}

async fn show(state: AppState, s: StaffSession, q: Vec<(String, String)>) -> Response {
    either(
        async {
            allow(&s, Action::ViewReports)?;
            let range = range_of(&state, &q)
                .map_err(|e| common::error_page(&s, StatusCode::BAD_REQUEST, &e))?;
            let svc = state.service.clone();
            let tz = state.tz;
            let report = blocking(move || svc.report(range.from, range.to, tz))
                .await
                .map_err(|e| service_error(&s, &e))?;
            Ok(page(view(&s, &report), StatusCode::OK))
        }
        .await,
    )
}

fn xlsx_reply(bytes: Vec<u8>, name: &str) -> Response {
    let mut r = Response::new(bytes.into());
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, XLSX.parse().expect("static header"));
    h.insert(
        header::CACHE_CONTROL,
        "no-store".parse().expect("static header"),
    );
    if let Ok(v) = format!("attachment; filename=\"{name}\"").parse() {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

async fn tickets_xlsx(state: AppState, s: StaffSession, q: Vec<(String, String)>) -> Response {
    either(
        async {
            allow(&s, Action::ViewReports)?;
            let range = range_of(&state, &q)
                .map_err(|e| common::error_page(&s, StatusCode::BAD_REQUEST, &e))?;
            let (svc, tz, lang) = (state.service.clone(), state.tz, s.lang());
            let from = day_start(range.from, tz);
            let to = day_start(range.to + chrono::Days::new(1), tz);
            let built = blocking(move || {
                let (tickets, _) = svc.tickets_created_between(Some(from), Some(to))?;
                let staff = svc.read()?.staff_all()?;
                Ok(reports::tickets_xlsx(&tickets, &staff, tz, lang))
            })
            .await
            .map_err(|e| service_error(&s, &e))?
            .map_err(|e| {
                common::error_page(&s, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
            })?;
            Ok(xlsx_reply(
                built,
                &format!("tickets-{}-{}.xlsx", range.from, range.to),
            ))
        }
        .await,
    )
}

async fn summary_xlsx(state: AppState, s: StaffSession, q: Vec<(String, String)>) -> Response {
    either(
        async {
            allow(&s, Action::ViewReports)?;
            let range = range_of(&state, &q)
                .map_err(|e| common::error_page(&s, StatusCode::BAD_REQUEST, &e))?;
            let (svc, tz, lang) = (state.service.clone(), state.tz, s.lang());
            let built = blocking(move || {
                Ok(reports::summary_xlsx(
                    &svc.report(range.from, range.to, tz)?,
                    lang,
                ))
            })
            .await
            .map_err(|e| service_error(&s, &e))?
            .map_err(|e| {
                common::error_page(&s, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
            })?;
            Ok(xlsx_reply(
                built,
                &format!("report-{}-{}.xlsx", range.from, range.to),
            ))
        }
        .await,
    )
}

/// A duration in words: `45 s`, `12 min`, `3 h 05 min`, `2 d 4 h`.
pub fn fmt_duration(lang: Language, secs: i64) -> String {
    let secs = secs.max(0);
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86_400);
    if secs < 60 {
        format!("{secs} {}", tr(lang, "s"))
    } else if h == 0 {
        format!("{m} {}", tr(lang, "min"))
    } else if d < 2 {
        format!("{h} {} {:02} {}", tr(lang, "h"), m % 60, tr(lang, "min"))
    } else {
        format!("{d} {} {} {}", tr(lang, "d"), h % 24, tr(lang, "h"))
    }
}

fn opt_duration(lang: Language, v: Option<i64>) -> String {
    v.map(|s| fmt_duration(lang, s))
        .unwrap_or_else(|| "—".into())
}

fn bars_table(lang: Language, id: &str, head: &str, rows: &[(String, u64)]) -> Markup {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0);
    html! {
        @if rows.is_empty() {
            p.muted { (tr(lang, "nothing")) }
        } @else {
            table id=(id) {
                thead { tr { th { (head) } th { (tr(lang, "count")) } th {} } }
                tbody {
                    @for (label, n) in rows {
                        tr { td { (label) } td { (n) } td { (hbar(*n, max)) } }
                    }
                }
            }
        }
    }
}

fn sla_row(lang: Language, key: &str, c: &SlaCount) -> Markup {
    html! {
        tr {
            td { (tr(lang, key)) }
            td { (c.met) } td { (c.breached) } td { (c.pending) }
            td { @if let Some(p) = c.percent() { (format!("{p:.1}")) } @else { "—" } }
        }
    }
}

fn times_row(lang: Language, key: &str, d: &DurationStats) -> Markup {
    html! {
        tr {
            td { (tr(lang, key)) }
            td { (d.count) }
            td { (opt_duration(lang, d.median)) }
            td { (opt_duration(lang, d.p90)) }
        }
    }
}

fn view(s: &StaffSession, r: &Report) -> Markup {
    let lang = s.lang();
    let range_q = format!("from={}&to={}", r.from_day, r.to_day);
    let categories: Vec<(String, u64)> = r
        .per_category
        .iter()
        .map(|(c, n)| (c.as_str().to_string(), *n))
        .collect();
    let departments: Vec<(String, u64)> = r
        .per_department
        .iter()
        .map(|(d, n)| {
            (
                d.clone()
                    .unwrap_or_else(|| tr(lang, "no_department").to_string()),
                *n,
            )
        })
        .collect();
    let body = html! {
        h1 { (tr(lang, "title")) }
        form.card.filters method="get" action="/reports" {
            label for="from" { (tr(lang, "from")) }
            input #from type="date" name="from" value=(r.from_day);
            label for="to" { (tr(lang, "to")) }
            input #to type="date" name="to" value=(r.to_day);
            button type="submit" { (tr(lang, "apply")) }
            p.muted { (tr(lang, "scope")) }
            p {
                (tr(lang, "export")) " "
                a #export-tickets href={ "/reports/tickets.xlsx?" (range_q) } { (tr(lang, "export_tickets")) } " · "
                a #export-summary href={ "/reports/summary.xlsx?" (range_q) } { (tr(lang, "export_summary")) }
            }
        }
        @if r.tickets_truncated { p.error { (tr(lang, "truncated")) } }
        div.stats {
            div.stat { b #total { (r.total) } span { (tr(lang, "total")) } }
            div.stat { b { (opt_duration(lang, r.first_response.median)) } span { (tr(lang, "first_response")) ", " (tr(lang, "median")) } }
            div.stat { b { (opt_duration(lang, r.resolution.median)) } span { (tr(lang, "resolution")) ", " (tr(lang, "median")) } }
            div.stat {
                b { @if let Some(a) = r.ratings.average { (format!("{a:.2}")) " ★" } @else { "—" } }
                span { (tr(lang, "ratings")) " (" (r.ratings.count) ")" }
            }
        }
        div.card {
            h2 { (tr(lang, "per_day")) }
            (day_chart(&r.per_day))
        }
        div.card {
            h2 { (tr(lang, "per_category")) }
            (bars_table(lang, "per-category", tr(lang, "category"), &categories))
        }
        div.card {
            h2 { (tr(lang, "per_department")) }
            (bars_table(lang, "per-department", tr(lang, "department"), &departments))
        }
        div.card {
            h2 { (tr(lang, "times")) }
            table #times {
                thead { tr { th {} th { (tr(lang, "count")) } th { (tr(lang, "median")) } th { (tr(lang, "p90")) } } }
                tbody {
                    (times_row(lang, "first_response", &r.first_response))
                    (times_row(lang, "resolution", &r.resolution))
                }
            }
        }
        div.card {
            h2 { (tr(lang, "ratings")) }
            p { (tr(lang, "ratings_count")) ": " (r.ratings.count) " · " (tr(lang, "average")) ": "
                @if let Some(a) = r.ratings.average { (format!("{a:.2}")) } @else { "—" } }
            @if r.ratings.count > 0 {
                @let stars: Vec<(String, u64)> = (1..=5).rev().map(|i| ("★".repeat(i), r.ratings.by_stars[i - 1] as u64)).collect();
                (bars_table(lang, "ratings", "★", &stars))
            }
        }
        div.card {
            h2 { (tr(lang, "sla")) }
            @match &r.sla {
                None => { p.muted #sla-none { (tr(lang, "sla_none")) } }
                Some(sla) => {
                    table #sla {
                        thead { tr {
                            th {} th { (tr(lang, "met")) } th { (tr(lang, "breached")) } th { (tr(lang, "pending")) } th { (tr(lang, "share")) }
                        } }
                        tbody {
                            (sla_row(lang, "sla_response", &sla.response))
                            (sla_row(lang, "sla_resolve", &sla.resolve))
                        }
                    }
                }
            }
        }
        div.card {
            h2 { (tr(lang, "consumption")) }
            @if r.moves_truncated { p.muted { (tr(lang, "moves_truncated")) } }
            @if r.consumption.is_empty() {
                p.muted { (tr(lang, "nothing")) }
            } @else {
                @let max = r.consumption.iter().map(|c| c.quantity).max().unwrap_or(0).max(0) as u64;
                table #consumption {
                    thead { tr { th { (tr(lang, "sku")) } th { (tr(lang, "name")) } th { (tr(lang, "issued")) } th { (tr(lang, "moves")) } th {} } }
                    tbody {
                        @for c in &r.consumption {
                            tr {
                                td { (c.sku) } td { (c.name) } td { (c.quantity) } td { (c.moves) }
                                td { (hbar(c.quantity.max(0) as u64, max)) }
                            }
                        }
                    }
                }
            }
        }
    };
    views::layout(lang, tr(lang, "title"), Some((&s.staff, &s.csrf)), body)
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

    fn d(s: &str) -> NaiveDate {
        parse_day("d", s).unwrap()
    }

    #[test]
    fn range_defaults_and_errors() {
        let today = d("2026-03-31");
        assert_eq!(
            parse_range(&[], today).unwrap(),
            Range {
                from: d("2026-03-02"),
                to: today
            }
        );
        assert_eq!(
            parse_range(&q(&[("to", "2026-02-10")]), today).unwrap(),
            Range {
                from: d("2026-01-12"),
                to: d("2026-02-10")
            }
        );
        assert_eq!(
            parse_range(&q(&[("from", "2026-03-31"), ("to", "2026-03-31")]), today).unwrap(),
            Range {
                from: today,
                to: today
            }
        );
        for (k, v, needle) in [
            ("from", "31.03.2026", "from"),
            ("to", "x", "to"),
            ("days", "7", "days"),
        ] {
            let e = parse_range(&q(&[(k, v)]), today).unwrap_err();
            assert!(e.starts_with(needle), "{e}");
        }
        assert!(
            parse_range(&q(&[("from", "2026-04-01")]), today)
                .unwrap_err()
                .starts_with("from")
        );
        assert!(
            parse_range(&q(&[("from", "2020-01-01")]), today)
                .unwrap_err()
                .starts_with("to")
        );
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(fmt_duration(Language::En, 42), "42 s");
        assert_eq!(fmt_duration(Language::En, 12 * 60 + 5), "12 min");
        assert_eq!(fmt_duration(Language::En, 3 * 3600 + 5 * 60), "3 h 05 min");
        assert_eq!(fmt_duration(Language::En, 26 * 3600), "26 h 00 min");
        assert_eq!(fmt_duration(Language::Ru, 2 * 86_400 + 4 * 3600), "2 д 4 ч");
    }
}
