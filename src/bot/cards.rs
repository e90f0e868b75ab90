//! The ticket card shown in the staff group: text and action buttons for the ticket's status.

use crate::domain::callback::Callback;
use crate::domain::texts::render;
use crate::domain::{Language, Markup, Ticket, TicketStatus};
use crate::service::{Result, Service};

fn cb(c: Callback) -> String {
    c.encode().expect("card callbacks fit in 64 bytes")
}

/// The card of `t` in `lang`.
pub fn render_card(svc: &Service, t: &Ticket, lang: Language) -> Result<(String, Markup)> {
    let tx = svc.read()?;
    let text_of = |key: &str| svc.text(&tx, lang, key);
    let mut description = t.description.clone();
    for l in &t.order_lines {
        description.push_str(&format!("\n• {} ({}) × {}", l.name, l.sku, l.quantity));
    }
    if let (Some(due), true, Some(policy)) = (t.resolve_due, t.status.is_open(), &svc.config().sla)
    {
        let when = chrono::DateTime::from_timestamp(due, 0)
            .map(|d| {
                d.with_timezone(&policy.calendar.tz)
                    .format("%d.%m %H:%M")
                    .to_string()
            })
            .unwrap_or_default();
        description.push_str(&format!("\n⏱ SLA: {when}"));
    }
    if let Some(r) = &t.rejection_reason {
        description.push_str(&format!("\n⛔ {r}"));
    }
    let requester = match (&t.department, t.requester) {
        (Some(d), _) => format!("{} ({d})", t.requester_name),
        (None, _) => t.requester_name.clone(),
    };
    let text = render(
        &text_of("card")?,
        &[
            ("n", &t.number()),
            ("status", &text_of(t.status.text_key())?),
            (
                "category",
                &text_of(&format!("cat.{}", t.category.as_str()))?,
            ),
            (
                "priority",
                &text_of(&format!("prio.{}", t.priority.as_str()))?,
            ),
            ("requester", &requester),
            ("assignee", t.assignee.as_deref().unwrap_or("—")),
            ("subject", &t.subject),
            ("description", &description),
        ],
    );
    let b = |key: &str, c: Callback| -> Result<(String, String)> { Ok((text_of(key)?, cb(c))) };
    let id = t.id;
    let rows = match t.status {
        TicketStatus::New | TicketStatus::Reopened => vec![
            vec![
                b("btn.take", Callback::Take(id))?,
                b("btn.assign", Callback::AssignMenu(id))?,
            ],
            vec![b("btn.reject", Callback::Reject(id))?],
        ],
        TicketStatus::InProgress => vec![
            vec![
                b("btn.resolve", Callback::Resolve(id))?,
                b("btn.assign", Callback::AssignMenu(id))?,
            ],
            vec![b("btn.reject", Callback::Reject(id))?],
        ],
        TicketStatus::WaitingRequester => vec![vec![
            b("btn.take", Callback::Take(id))?,
            b("btn.assign", Callback::AssignMenu(id))?,
        ]],
        TicketStatus::Resolved | TicketStatus::Closed | TicketStatus::Rejected => {
            vec![vec![b("btn.reopen_staff", Callback::Reopen(id))?]]
        }
    };
    Ok((crate::service::fit_message(&text), Markup::inline(rows)))
}
