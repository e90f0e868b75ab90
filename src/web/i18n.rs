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
];

/// The panel text `key` in `lang`.
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
