//! Mini App texts in Russian, Ukrainian and English. Status, category and priority words come
//! from the bot's texts (`domain::texts`, with the admins' overrides) so both say the same.

use crate::domain::Language;

/// (key, ru, uk, en). `{name}` placeholders are filled by the page script.
pub const TEXTS: &[(&str, &str, &str, &str)] = &[
    ("title", "Мои заявки", "Мої заявки", "My tickets"),
    ("tab.tickets", "Заявки", "Заявки", "Tickets"),
    ("tab.new", "Новая заявка", "Нова заявка", "New ticket"),
    (
        "list.empty",
        "Заявок пока нет. Нажмите «Новая заявка».",
        "Заявок поки немає. Натисніть «Нова заявка».",
        "No tickets yet. Press “New ticket”.",
    ),
    ("list.updated", "Обновлено", "Оновлено", "Updated"),
    (
        "new.category",
        "Что случилось?",
        "Що сталося?",
        "What is it about?",
    ),
    (
        "new.printer",
        "Модель принтера",
        "Модель принтера",
        "Printer model",
    ),
    ("new.item", "Картридж", "Картридж", "Cartridge"),
    (
        "new.quantity",
        "Количество (1–{max})",
        "Кількість (1–{max})",
        "Quantity (1–{max})",
    ),
    ("new.description", "Описание", "Опис", "Description"),
    (
        "new.description_hint",
        "Кабинет, что именно нужно, что уже пробовали",
        "Кабінет, що саме потрібно, що вже пробували",
        "Room, what exactly is needed, what you tried",
    ),
    ("new.priority", "Срочность", "Терміновість", "Urgency"),
    ("new.submit", "Отправить", "Надіслати", "Send"),
    ("new.sending", "Отправляем…", "Надсилаємо…", "Sending…"),
    (
        "new.sent",
        "Заявка {n} создана.",
        "Заявку {n} створено.",
        "Ticket {n} created.",
    ),
    ("new.choose", "— выберите —", "— оберіть —", "— choose —"),
    (
        "new.no_printers",
        "На складе нет картриджей с указанными моделями принтеров. Опишите заказ в заявке другой категории.",
        "На складі немає картриджів із зазначеними моделями принтерів. Опишіть замовлення в заявці іншої категорії.",
        "No stock item names a printer model. Describe the order in a ticket of another category.",
    ),
    (
        "new.no_items",
        "Для этой модели нет подходящих позиций.",
        "Для цієї моделі немає відповідних позицій.",
        "Nothing in stock fits this model.",
    ),
    (
        "new.in_stock",
        "в наличии: {n}",
        "в наявності: {n}",
        "in stock: {n}",
    ),
    ("detail.back", "← Назад", "← Назад", "← Back"),
    ("detail.timeline", "История", "Історія", "History"),
    ("detail.order", "Заказ", "Замовлення", "Order"),
    ("detail.assignee", "Исполнитель", "Виконавець", "Assignee"),
    ("detail.created", "Создана", "Створена", "Created"),
    (
        "ev.created",
        "Заявка создана",
        "Заявку створено",
        "Ticket created",
    ),
    (
        "ev.status",
        "Статус: {from} → {to}",
        "Статус: {from} → {to}",
        "Status: {from} → {to}",
    ),
    (
        "ev.assigned",
        "Исполнитель: {to}",
        "Виконавець: {to}",
        "Assigned to {to}",
    ),
    (
        "ev.priority",
        "Срочность: {from} → {to}",
        "Терміновість: {from} → {to}",
        "Urgency: {from} → {to}",
    ),
    (
        "ev.reply",
        "Ответ специалиста",
        "Відповідь фахівця",
        "Reply from support",
    ),
    (
        "ev.message",
        "Ваше сообщение",
        "Ваше повідомлення",
        "Your message",
    ),
    (
        "ev.attachment",
        "Вложение: {name}",
        "Вкладення: {name}",
        "Attachment: {name}",
    ),
    (
        "ev.rejected",
        "Отклонена: {reason}",
        "Відхилена: {reason}",
        "Rejected: {reason}",
    ),
    (
        "ev.rated",
        "Оценка: {stars} из 5",
        "Оцінка: {stars} з 5",
        "Rated {stars} of 5",
    ),
    (
        "err.network",
        "Нет связи с сервером. Повторим автоматически.",
        "Немає зв'язку з сервером. Повторимо автоматично.",
        "The server cannot be reached. Retrying automatically.",
    ),
    (
        "err.auth",
        "Данные Telegram устарели или неверны. Закройте и снова откройте приложение.",
        "Дані Telegram застаріли або невірні. Закрийте й знову відкрийте застосунок.",
        "The Telegram launch data is stale or invalid. Close and reopen the app.",
    ),
    (
        "err.not_registered",
        "Вы ещё не зарегистрированы. Откройте чат с ботом и отправьте /start, затем вернитесь сюда.",
        "Ви ще не зареєстровані. Відкрийте чат із ботом і надішліть /start, потім поверніться сюди.",
        "You are not registered yet. Open the chat with the bot, send /start, then come back here.",
    ),
    (
        "err.blocked",
        "Ваш доступ к службе поддержки заблокирован. Обратитесь к администратору.",
        "Ваш доступ до служби підтримки заблоковано. Зверніться до адміністратора.",
        "Your access to the helpdesk is blocked. Contact the administrator.",
    ),
];

/// The text `key` in `lang` (the key itself when unknown, so a gap is visible, not empty).
pub fn t(lang: Language, key: &str) -> &'static str {
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

/// Every text in `lang`, for the page script.
pub fn all(lang: Language) -> serde_json::Map<String, serde_json::Value> {
    TEXTS
        .iter()
        .map(|(k, ..)| (k.to_string(), serde_json::Value::from(t(lang, k))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_exists_in_every_language_with_the_same_placeholders() {
        let holes = |s: &str| {
            let mut v: Vec<String> = s
                .split('{')
                .skip(1)
                .filter_map(|p| p.split_once('}').map(|(h, _)| h.to_string()))
                .collect();
            v.sort();
            v
        };
        let mut keys = std::collections::HashSet::new();
        for (k, ru, uk, en) in TEXTS {
            assert!(keys.insert(*k), "duplicate key {k}");
            for s in [ru, uk, en] {
                assert!(!s.trim().is_empty(), "{k} is empty");
            }
            assert_eq!(holes(ru), holes(uk), "{k}");
            assert_eq!(holes(ru), holes(en), "{k}");
        }
        assert_eq!(t(Language::Uk, "tab.new"), "Нова заявка");
        assert_eq!(all(Language::En)["title"], "My tickets");
    }
}
