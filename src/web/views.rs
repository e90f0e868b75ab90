//! maud views: pure functions from view data to HTML. Every value is escaped by maud; no raw
//! HTML from data ever.

use maud::{Markup, PreEscaped, html};

use super::i18n::{t, th};
use crate::domain::texts::default_text;
use crate::domain::{Action, Language, Staff, Ticket, TicketStatus, role};

/// The panel's sections: (path, text key, permission needed to see the link).
pub const NAV: &[(&str, &str, Option<Action>)] = &[
    ("/", "nav.dashboard", None),
    ("/tickets", "nav.tickets", Some(Action::ViewAllTickets)),
    ("/faq", "nav.faq", Some(Action::ManageFaq)),
    ("/stock", "nav.stock", Some(Action::ViewStock)),
    ("/people", "nav.people", Some(Action::ViewRequesters)),
    ("/broadcast", "nav.broadcast", Some(Action::Broadcast)),
    ("/logs", "nav.logs", Some(Action::ViewAudit)),
    ("/reports", "nav.reports", Some(Action::ViewReports)),
    ("/archives", "nav.archives", Some(Action::ManageArchives)),
    ("/settings", "nav.settings", Some(Action::EditSettings)),
    (
        "/api-tokens",
        "nav.api_tokens",
        Some(Action::ManageApiTokens),
    ),
];

/// An error page (inside the frame when signed in).
pub fn error(lang: Language, staff: Option<(&Staff, &str)>, title: &str, text: &str) -> Markup {
    layout(
        lang,
        title,
        staff,
        html! { div.card { h1 { (title) } p.error role="alert" { (text) } p { a href="/" { "←" } } } },
    )
}

/// The page frame. `staff` and `csrf` are set on pages behind a session.
pub fn layout(lang: Language, title: &str, staff: Option<(&Staff, &str)>, body: Markup) -> Markup {
    let top = html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " — helpdesk" }
            link rel="stylesheet" href="/static/style.css";
        }
        body {
            header.top {
                span.brand { a href="/" { "helpdesk" } }
                @if let Some((s, csrf)) = staff {
                    nav {
                        @for (href, key, action) in NAV {
                            @if action.is_none_or(|a| role::allowed(s.role, a, None)) {
                                a href=(href) { (th(lang, key)) }
                            }
                        }
                    }
                    a.muted href="/people/password" title=(th(lang, "nav.password")) { (s.display_name) " (" (s.role.as_str()) ")" }
                    form method="post" action="/logout" {
                        input type="hidden" name="csrf" value=(csrf);
                        button.link type="submit" { (th(lang, "logout")) }
                    }
                }
            }
            main { "\u{0}" }
        }
    }
    .into_string();
    // The page body goes where the marker stands: one buffer sized for the whole page, rather
    // than maud copying the (large) body into a layout string that grows as it goes.
    let (open, close) = top.split_once("<main>\u{0}").expect("layout marker");
    let mut out = String::with_capacity(64 + open.len() + body.0.len() + close.len());
    out.push_str("<!DOCTYPE html><html lang=\"");
    out.push_str(lang.as_str());
    out.push_str("\">");
    out.push_str(open);
    out.push_str("<main>");
    out.push_str(&body.0);
    out.push_str(close);
    out.push_str("</html>");
    PreEscaped(out)
}

/// The login form: inputs `login`, `password` and a hidden `csrf`.
pub fn login(
    lang: Language,
    csrf: &str,
    error: Option<&str>,
    notice: Option<&str>,
    login: &str,
) -> Markup {
    let body = html! {
        div.card.narrow {
            h1 { (t(lang, "login.title")) }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            @if let Some(n) = notice { p.notice { (n) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                label for="login" { (t(lang, "login.login")) }
                input #login type="text" name="login" value=(login) autocomplete="username" required maxlength="64" autofocus;
                label for="password" { (t(lang, "login.password")) }
                input #password type="password" name="password" autocomplete="current-password" required maxlength="256";
                button type="submit" { (t(lang, "login.submit")) }
            }
        }
    };
    layout(lang, t(lang, "login.title"), None, body)
}

/// The first-run form creating the first superadmin.
pub fn setup(lang: Language, token: &str, csrf: &str, error: Option<&str>) -> Markup {
    let body = html! {
        div.card.narrow {
            h1 { (t(lang, "setup.title")) }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form method="post" action={ "/setup/" (token) } {
                input type="hidden" name="csrf" value=(csrf);
                label for="login" { (t(lang, "login.login")) }
                input #login type="text" name="login" required maxlength="32" autofocus;
                label for="password" { (t(lang, "login.password")) }
                input #password type="password" name="password" autocomplete="new-password" required minlength="8" maxlength="256";
                label for="password2" { (t(lang, "setup.repeat")) }
                input #password2 type="password" name="password2" autocomplete="new-password" required minlength="8" maxlength="256";
                button type="submit" { (t(lang, "setup.submit")) }
            }
        }
    };
    layout(lang, t(lang, "setup.title"), None, body)
}

/// A page with one message, for errors and dead ends.
pub fn message(lang: Language, title: &str, text: &str) -> Markup {
    layout(
        lang,
        title,
        None,
        html! { div.card.narrow { h1 { (title) } p { (text) } p { a href="/" { "helpdesk" } } } },
    )
}

/// View data of the dashboard.
pub struct Dashboard<'a> {
    pub staff: &'a Staff,
    pub csrf: &'a str,
    pub facts: &'a crate::service::DashboardFacts,
    pub recent: &'a [Ticket],
    /// Failing health checks: (check, detail).
    pub problems: &'a [(String, String)],
    /// Whether the signed-in person gets the daily digest.
    pub digest: bool,
    pub tz: chrono_tz::Tz,
}

fn sla_card(
    lang: Language,
    id: &str,
    title: &str,
    total: usize,
    alerts: &[crate::service::SlaAlert],
    tz: chrono_tz::Tz,
) -> Markup {
    html! {
        div.card id=(id) {
            h2 { (title) " (" (total) ")" }
            ul {
                @for a in alerts {
                    li {
                        a href={ "/tickets/" (a.ticket.id) } { (a.ticket.number()) " " (a.ticket.subject) }
                        " — " (t(lang, if a.first_response { "dash.first_response" } else { "dash.resolution" }))
                        " " (super::common::fmt_time(a.due, tz))
                    }
                }
            }
        }
    }
}

pub fn dashboard(lang: Language, d: &Dashboard<'_>) -> Markup {
    let status_word = |s: TicketStatus| default_text(lang, s.text_key()).to_string();
    let f = d.facts;
    let by_status: Vec<(String, u64)> = f
        .by_status
        .iter()
        .filter(|(s, _)| s.is_open())
        .map(|(s, n)| (status_word(*s), *n))
        .collect();
    let by_priority: Vec<(String, u64)> = f
        .open_by_priority
        .iter()
        .map(|(p, n)| {
            (
                default_text(lang, &format!("prio.{}", p.as_str())).to_string(),
                *n,
            )
        })
        .collect();
    let days: Vec<_> = f
        .days
        .iter()
        .map(|x| (x.day, x.created, x.resolved))
        .collect();
    let body = html! {
        h1 { (t(lang, "dash.title")) }
        div.stats {
            @for (s, n) in &f.by_status {
                div.stat { b { (n) } span { (status_word(*s)) } }
            }
        }
        @if !d.problems.is_empty() {
            div.card #problems {
                h2.error { (t(lang, "dash.health")) }
                ul { @for (c, detail) in d.problems { li { b { (c) } ": " (detail) } } }
            }
        }
        @if f.truncated { p.muted { (t(lang, "dash.truncated")) } }
        @if f.breached_total > 0 {
            (sla_card(lang, "overdue", t(lang, "dash.breached"), f.breached_total, &f.breached, d.tz))
        }
        @if f.soon_total > 0 {
            (sla_card(lang, "due-soon", t(lang, "dash.soon"), f.soon_total, &f.soon, d.tz))
        }
        div.grid {
            div.card #today {
                h2 { (t(lang, "dash.today")) }
                div.stats {
                    div.stat { b { (f.created_today) } span { (t(lang, "dash.created")) } }
                    div.stat { b { (f.resolved_today) } span { (t(lang, "dash.resolved")) } }
                    div.stat { b { (f.changed_today) } span { (t(lang, "dash.changed")) } }
                }
            }
            div.card #by-status {
                h2 { (t(lang, "dash.by_status")) }
                (super::charts::bar_rows("status-bars", &by_status))
            }
            div.card #by-priority {
                h2 { (t(lang, "dash.by_priority")) }
                (super::charts::bar_rows("priority-bars", &by_priority))
            }
        }
        div.card #two-weeks {
            h2 { (t(lang, "dash.two_weeks")) }
            (super::charts::paired_day_chart(&days, (t(lang, "dash.created"), t(lang, "dash.resolved"))))
        }
        @if !f.low_stock.is_empty() {
            div.card #low-stock {
                h2 { (t(lang, "dash.low_stock")) }
                ul { @for i in &f.low_stock { li { (i.name) " (" (i.sku) "): " (i.quantity) " / " (i.min_level) } } }
            }
        }
        form.inline method="post" action="/digest" {
            input type="hidden" name="csrf" value=(d.csrf);
            input type="hidden" name="on" value=(if d.digest { "0" } else { "1" });
            span { (t(lang, "dash.digest")) ": " b #digest { (t(lang, if d.digest { "dash.digest_on" } else { "dash.digest_off" })) } }
            button type="submit" { (t(lang, "dash.toggle")) }
        }
        div.card {
            h2 { (t(lang, "dash.recent")) }
            table {
                thead { tr {
                    th { "#" } th { (t(lang, "col.subject")) } th { (t(lang, "col.status")) }
                    th { (t(lang, "col.priority")) } th { (t(lang, "col.requester")) } th { (t(lang, "col.assignee")) }
                } }
                tbody {
                    @for tk in d.recent {
                        tr {
                            td { a href={ "/tickets/" (tk.id) } { (tk.number()) } }
                            td { a href={ "/tickets/" (tk.id) } { (tk.subject) } }
                            td { span.status { (status_word(tk.status)) } }
                            td { (tk.priority.as_str()) }
                            td { (tk.requester_name) }
                            td { (tk.assignee.as_deref().unwrap_or(t(lang, "none"))) }
                        }
                    }
                }
            }
        }
    };
    layout(lang, t(lang, "dash.title"), Some((d.staff, d.csrf)), body)
}
