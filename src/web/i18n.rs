//! Panel texts in Russian, Ukrainian and English.

use crate::domain::Language;

/// (key, ru, uk, en)
const TEXTS: &[(&str, &str, &str, &str)] = &[
    ("login.title", "Вход", "Вхід", "Sign in"),
    ("login.login", "Логин", "Логін", "Login"),
    ("login.password", "Пароль", "Пароль", "Password"),
    ("login.submit", "Войти", "Увійти", "Sign in"),
    (
        "login.failed",
        "Неверный логин или пароль.",
        "Невірний логін або пароль.",
        "Wrong login or password.",
    ),
    (
        "login.throttled",
        "Слишком много неудачных попыток. Попробуйте позже.",
        "Забагато невдалих спроб. Спробуйте пізніше.",
        "Too many failed attempts. Try again later.",
    ),
    (
        "form.expired",
        "Форма устарела. Обновите страницу и повторите.",
        "Форма застаріла. Оновіть сторінку й повторіть.",
        "The form has expired. Reload the page and try again.",
    ),
    ("logout", "Выйти", "Вийти", "Sign out"),
    ("nav.dashboard", "Сводка", "Зведення", "Dashboard"),
    ("nav.tickets", "Заявки", "Заявки", "Tickets"),
    ("nav.faq", "FAQ", "FAQ", "FAQ"),
    ("nav.stock", "Склад", "Склад", "Stock"),
    ("nav.people", "Люди", "Люди", "People"),
    ("nav.broadcast", "Рассылка", "Розсилка", "Broadcast"),
    ("nav.logs", "Журналы", "Журнали", "Logs"),
    ("nav.reports", "Отчёты", "Звіти", "Reports"),
    ("nav.archives", "Архивы", "Архіви", "Archives"),
    ("nav.api_tokens", "API", "API", "API"),
    (
        "nav.password",
        "Сменить пароль",
        "Змінити пароль",
        "Change password",
    ),
    ("nav.settings", "Тексты бота", "Тексти бота", "Bot texts"),
    (
        "setup.title",
        "Первый администратор",
        "Перший адміністратор",
        "First administrator",
    ),
    (
        "setup.repeat",
        "Пароль ещё раз",
        "Пароль ще раз",
        "Password again",
    ),
    ("setup.submit", "Создать", "Створити", "Create"),
    (
        "setup.mismatch",
        "Пароли не совпадают.",
        "Паролі не збігаються.",
        "The passwords differ.",
    ),
    (
        "setup.invalid",
        "Ссылка недействительна или уже использована.",
        "Посилання недійсне або вже використане.",
        "The link is invalid or was already used.",
    ),
    (
        "setup.done",
        "Администратор создан. Войдите.",
        "Адміністратора створено. Увійдіть.",
        "The administrator was created. Sign in.",
    ),
    ("dash.title", "Сводка", "Зведення", "Dashboard"),
    (
        "dash.recent",
        "Последние заявки",
        "Останні заявки",
        "Recent tickets",
    ),
    ("col.subject", "Тема", "Тема", "Subject"),
    ("col.status", "Статус", "Статус", "Status"),
    ("col.priority", "Приоритет", "Пріоритет", "Priority"),
    ("col.requester", "Заявитель", "Заявник", "Requester"),
    ("col.assignee", "Исполнитель", "Виконавець", "Assignee"),
    ("none", "нет", "немає", "none"),
    ("tk.response_due", "ответ до", "відповідь до", "respond by"),
    ("tk.resolve_due", "решить до", "вирішити до", "resolve by"),
    ("dash.health", "Проблемы", "Проблеми", "Problems"),
    ("dash.overdue", "Просрочены", "Прострочені", "Overdue"),
    (
        "dash.low_stock",
        "Мало на складе",
        "Мало на складі",
        "Low stock",
    ),
    (
        "dash.digest",
        "Ежедневная сводка мне",
        "Щоденне зведення мені",
        "Send me the daily digest",
    ),
    ("dash.digest_on", "включена", "увімкнено", "on"),
    ("dash.digest_off", "выключена", "вимкнено", "off"),
    ("dash.toggle", "Переключить", "Перемкнути", "Switch"),
    (
        "dash.by_status",
        "Открытые по статусам",
        "Відкриті за статусами",
        "Open tickets by status",
    ),
    (
        "dash.by_priority",
        "Открытые по приоритету",
        "Відкриті за пріоритетом",
        "Open tickets by priority",
    ),
    (
        "dash.two_weeks",
        "Две недели",
        "Два тижні",
        "Last two weeks",
    ),
    ("dash.created", "создано", "створено", "created"),
    ("dash.resolved", "решено", "вирішено", "resolved"),
    ("dash.changed", "изменено", "змінено", "changed"),
    ("dash.today", "Сегодня", "Сьогодні", "Today"),
    (
        "dash.breached",
        "SLA нарушен",
        "SLA порушено",
        "SLA breached",
    ),
    (
        "dash.soon",
        "SLA истекает в ближайшие 2 часа",
        "SLA спливає протягом 2 годин",
        "SLA due within 2 hours",
    ),
    (
        "dash.first_response",
        "первый ответ",
        "перша відповідь",
        "first response",
    ),
    ("dash.resolution", "решение", "вирішення", "resolution"),
    (
        "dash.truncated",
        "Открытых заявок очень много: учтены самые новые.",
        "Відкритих заявок дуже багато: враховано найновіші.",
        "Very many open tickets: the newest were counted.",
    ),
    (
        "tk.search",
        "Поиск по тексту",
        "Пошук за текстом",
        "Search text",
    ),
    (
        "tk.any_status",
        "Любой статус",
        "Будь-який статус",
        "Any status",
    ),
    ("tk.open", "Открытые", "Відкриті", "Open"),
    (
        "tk.any_priority",
        "Любой приоритет",
        "Будь-який пріоритет",
        "Any priority",
    ),
    (
        "tk.any_category",
        "Любая категория",
        "Будь-яка категорія",
        "Any category",
    ),
    (
        "tk.any_assignee",
        "Любой исполнитель",
        "Будь-який виконавець",
        "Any assignee",
    ),
    ("tk.department", "Отдел", "Відділ", "Department"),
    (
        "tk.requester_id",
        "Telegram ID заявителя",
        "Telegram ID заявника",
        "Requester's Telegram id",
    ),
    ("tk.from", "С", "З", "From"),
    ("tk.to", "По", "По", "To"),
    (
        "tk.sort_newest",
        "Сначала новые",
        "Спочатку нові",
        "Newest first",
    ),
    (
        "tk.sort_oldest",
        "Сначала старые",
        "Спочатку старі",
        "Oldest first",
    ),
    (
        "tk.sort_priority",
        "По приоритету",
        "За пріоритетом",
        "By priority",
    ),
    (
        "tk.sort_updated",
        "По изменению",
        "За зміною",
        "Recently changed",
    ),
    ("tk.apply", "Показать", "Показати", "Show"),
    ("tk.new", "Новая заявка", "Нова заявка", "New ticket"),
    ("tk.updated", "Изменена", "Змінено", "Updated"),
    ("tk.created", "Создана", "Створено", "Created"),
    (
        "tk.nothing",
        "Ничего не найдено.",
        "Нічого не знайдено.",
        "Nothing found.",
    ),
    ("tk.prev", "назад", "назад", "previous"),
    ("tk.next", "дальше", "далі", "next"),
    ("tk.page", "Страница", "Сторінка", "Page"),
    ("tk.take", "Взять", "Взяти", "Take"),
    (
        "tk.ask",
        "Запросить у заявителя",
        "Запитати заявника",
        "Ask the requester",
    ),
    ("tk.resolve", "Решено", "Вирішено", "Resolve"),
    ("tk.reopen", "Открыть заново", "Відкрити знову", "Reopen"),
    ("tk.assign", "Назначить", "Призначити", "Assign"),
    (
        "tk.set_priority",
        "Изменить приоритет",
        "Змінити пріоритет",
        "Set priority",
    ),
    (
        "tk.reason",
        "Причина отклонения",
        "Причина відхилення",
        "Reason for rejecting",
    ),
    ("tk.reject", "Отклонить", "Відхилити", "Reject"),
    ("tk.timeline", "История", "Історія", "Timeline"),
    (
        "tk.reply",
        "Ответ заявителю (уйдёт в Telegram)",
        "Відповідь заявнику (піде в Telegram)",
        "Reply to the requester (sent in Telegram)",
    ),
    (
        "tk.send_reply",
        "Отправить ответ",
        "Надіслати відповідь",
        "Send reply",
    ),
    (
        "tk.note",
        "Внутренняя заметка (видят только сотрудники)",
        "Внутрішня нотатка (бачать лише співробітники)",
        "Internal note (staff only)",
    ),
    (
        "tk.add_note",
        "Добавить заметку",
        "Додати нотатку",
        "Add note",
    ),
    (
        "tk.caller",
        "Имя звонившего",
        "Ім'я того, хто телефонував",
        "Caller's name",
    ),
    ("tk.category", "Категория", "Категорія", "Category"),
    ("tk.description", "Описание", "Опис", "Description"),
    (
        "tk.create",
        "Создать заявку",
        "Створити заявку",
        "Create ticket",
    ),
    (
        "tk.no_bot",
        "Бот не запущен: файл из Telegram недоступен.",
        "Бот не запущений: файл із Telegram недоступний.",
        "The bot is not running: the Telegram file is unavailable.",
    ),
    ("ev.created", "создана", "створено", "created"),
    ("ev.assigned", "назначена:", "призначено:", "assigned to"),
    ("ev.priority", "приоритет", "пріоритет", "priority"),
    ("ev.reply", "Ответ:", "Відповідь:", "Reply:"),
    ("ev.note", "Заметка:", "Нотатка:", "Note:"),
    (
        "ev.inbound",
        "Сообщение заявителя:",
        "Повідомлення заявника:",
        "Requester wrote:",
    ),
    ("ev.attachment", "Файл:", "Файл:", "File:"),
    ("ev.rejected", "отклонена", "відхилено", "rejected"),
    (
        "err.forbidden",
        "Доступ запрещён",
        "Доступ заборонено",
        "Forbidden",
    ),
    (
        "err.forbidden_text",
        "Вашей роли это действие не разрешено.",
        "Вашій ролі ця дія не дозволена.",
        "Your role does not allow this.",
    ),
    ("err.not_found", "Не найдено", "Не знайдено", "Not found"),
    (
        "err.bad_request",
        "Неверный запрос",
        "Невірний запит",
        "Bad request",
    ),
    (
        "err.conflict",
        "Действие невозможно",
        "Дія неможлива",
        "Not possible",
    ),
    (
        "err.internal",
        "Ошибка сервера",
        "Помилка сервера",
        "Server error",
    ),
];

static PANEL: crate::domain::texts::TextTable = crate::domain::texts::TextTable::new(TEXTS);

/// The panel text `key` in `lang`.
pub fn t(lang: Language, key: &str) -> &'static str {
    PANEL.get(lang, key).unwrap_or("?")
}

/// The panel text `key` in `lang` for a `html!` block, without the escaping pass: the panel
/// texts hold none of `& < > "` (a unit test checks), so they are HTML as they are.
pub fn th(lang: Language, key: &str) -> maud::PreEscaped<&'static str> {
    maud::PreEscaped(t(lang, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `th` hands texts out unescaped: none may need escaping.
    #[test]
    fn panel_texts_need_no_html_escaping() {
        for (key, ru, uk, en) in TEXTS {
            for text in [ru, uk, en] {
                assert!(
                    !text.contains(['&', '<', '>', '"']),
                    "panel text {key:?} holds a character HTML must escape: {text:?}"
                );
            }
        }
    }

    /// Every key the panel asks for exists (a missing one would show as "?").
    #[test]
    fn keys_used_by_the_panel_exist() {
        let used = [
            include_str!("views.rs"),
            include_str!("panel.rs"),
            include_str!("tickets.rs"),
            include_str!("common.rs"),
        ];
        for src in used {
            for part in src
                .split("t(lang, \"")
                .skip(1)
                .chain(src.split("t(s.lang(), \"").skip(1))
                .chain(src.split("th(lang, \"").skip(1))
            {
                let key = part.split('"').next().unwrap();
                assert_ne!(t(Language::En, key), "?", "missing panel text {key:?}");
            }
        }
    }
}
