//! Default texts helpdesk sends people, in Russian, Ukrainian and English, in one place.
//!
//! A text may hold `{name}` placeholders filled by [`render`]. The panel can override any key
//! (stored as a setting `text.<key>.<lang>`); these are the defaults.

use super::people::Language;

/// (key, ru, uk, en)
const TEXTS: &[(&str, &str, &str, &str)] = &[
    (
        "ticket_created",
        "Заявка {n} создана: {subject}. Мы сообщим, когда её возьмут в работу.",
        "Заявку {n} створено: {subject}. Ми повідомимо, коли її візьмуть у роботу.",
        "Ticket {n} created: {subject}. We will tell you when someone takes it.",
    ),
    (
        "status_changed",
        "Заявка {n}: статус — {status}.",
        "Заявка {n}: статус — {status}.",
        "Ticket {n}: status is now {status}.",
    ),
    (
        "rejected",
        "Заявка {n} отклонена. Причина: {reason}",
        "Заявку {n} відхилено. Причина: {reason}",
        "Ticket {n} was rejected. Reason: {reason}",
    ),
    (
        "public_reply",
        "Ответ по заявке {n}:\n{text}",
        "Відповідь щодо заявки {n}:\n{text}",
        "Reply on ticket {n}:\n{text}",
    ),
    (
        "resolved",
        "Заявка {n} решена. Подтвердите или откройте заново, и оцените работу.",
        "Заявку {n} вирішено. Підтвердьте або відкрийте знову, і оцініть роботу.",
        "Ticket {n} is resolved. Please confirm or reopen it, and rate the work.",
    ),
    (
        "email_subject",
        "Заявка {n}: {subject}",
        "Заявка {n}: {subject}",
        "Ticket {n}: {subject}",
    ),
    ("status.new", "новая", "нова", "new"),
    ("status.in_progress", "в работе", "в роботі", "in progress"),
    (
        "status.waiting_requester",
        "ждёт вашего ответа",
        "чекає на вашу відповідь",
        "waiting for your reply",
    ),
    ("status.resolved", "решена", "вирішена", "resolved"),
    ("status.closed", "закрыта", "закрита", "closed"),
    ("status.rejected", "отклонена", "відхилена", "rejected"),
    (
        "status.reopened",
        "открыта заново",
        "відкрита знову",
        "reopened",
    ),
];

/// The default text for `key` in `lang`, or the key itself when unknown.
pub fn default_text(lang: Language, key: &str) -> &str {
    TEXTS
        .iter()
        .find(|(k, ..)| *k == key)
        .map(|(_, ru, uk, en)| match lang {
            Language::Ru => *ru,
            Language::Uk => *uk,
            Language::En => *en,
        })
        .unwrap_or(key)
}

/// Every text key.
pub fn keys() -> impl Iterator<Item = &'static str> {
    TEXTS.iter().map(|(k, ..)| *k)
}

/// Fills `{name}` placeholders.
pub fn render(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_exists_in_every_language() {
        for (k, ru, uk, en) in TEXTS {
            assert!(!ru.is_empty() && !uk.is_empty() && !en.is_empty(), "{k}");
        }
        for s in crate::domain::TicketStatus::ALL {
            let key = format!("status.{}", s.as_str());
            assert_ne!(default_text(Language::En, &key), key.as_str());
        }
    }

    #[test]
    fn renders_placeholders() {
        let t = default_text(Language::En, "ticket_created");
        assert_eq!(
            render(t, &[("n", "#5"), ("subject", "Printer")]),
            "Ticket #5 created: Printer. We will tell you when someone takes it."
        );
        assert_eq!(default_text(Language::Ru, "nope"), "nope");
    }
}
