//! Panel area `/settings` (role permission `EditSettings`): the bot's texts in Russian,
//! Ukrainian and English — every key of [`crate::domain::texts`], "about us" (`bot.about`)
//! first — with the current value, whether it is customised, editing (placeholders kept) and
//! reset to the default. No configuration value is ever shown here.

use std::collections::HashMap;

use maud::{Markup, html};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::common::{self, allow, csrf, either, field, html as page, redirect, service_error};
use super::panel::StaffSession;
use super::{AppState, blocking, i18n::t, views};
use crate::domain::{Action, Actor, Language};

/// The text key of "about us".
const ABOUT: &str = "bot.about";
/// Characters of a value shown in the list before it is cut.
const LIST_EXCERPT: usize = 160;
/// Longest text (what `Service::set_text` accepts).
const MAX_TEXT: usize = 4096;

/// (key, ru, uk, en)
const TEXTS: &[(&str, &str, &str, &str)] = &[
    (
        "intro",
        "Здесь можно изменить любое сообщение бота на каждом языке. Слова в фигурных скобках, например {n}, бот заменяет данными — их нужно сохранить.",
        "Тут можна змінити будь-яке повідомлення бота кожною мовою. Слова у фігурних дужках, наприклад {n}, бот замінює даними — їх треба зберегти.",
        "Change any message of the bot in each language here. Words in braces such as {n} are filled in by the bot and must be kept.",
    ),
    ("about", "О нас", "Про нас", "About us"),
    (
        "about.hint",
        "Что бот рассказывает о службе поддержки.",
        "Що бот розповідає про службу підтримки.",
        "What the bot tells people about the helpdesk.",
    ),
    ("all", "Все тексты", "Усі тексти", "All texts"),
    ("col.key", "Текст", "Текст", "Text"),
    ("custom", "изменён", "змінено", "customised"),
    ("default", "исходный", "початковий", "default"),
    ("edit", "Изменить", "Змінити", "Edit"),
    ("save", "Сохранить", "Зберегти", "Save"),
    (
        "reset",
        "Вернуть исходный текст",
        "Повернути початковий текст",
        "Reset to the default",
    ),
    (
        "default_text",
        "Исходный текст",
        "Початковий текст",
        "Default text",
    ),
    ("placeholders", "Подстановки", "Підстановки", "Placeholders"),
    ("no_placeholders", "нет", "немає", "none"),
    ("saved", "Сохранено.", "Збережено.", "Saved."),
    (
        "reset_done",
        "Восстановлен исходный текст.",
        "Відновлено початковий текст.",
        "The default text is back.",
    ),
    ("find", "Найти", "Знайти", "Find"),
    ("back", "← Все тексты", "← Усі тексти", "← All texts"),
    (
        "nothing",
        "Ничего не найдено.",
        "Нічого не знайдено.",
        "Nothing found.",
    ),
    ("lang.ru", "Русский", "Російська", "Russian"),
    ("lang.uk", "Украинский", "Українська", "Ukrainian"),
    ("lang.en", "Английский", "Англійська", "English"),
    (
        "bad_lang",
        "Неизвестный язык.",
        "Невідома мова.",
        "Unknown language.",
    ),
];

/// This page's text `key` in `lang`.
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
    let list = warp::path!("settings")
        .and(warp::get())
        .and(s())
        .and(common::query())
        .then(list);
    let edit = warp::path!("settings" / String)
        .and(warp::get())
        .and(s())
        .and(common::query())
        .then(|key, st, s, q| edit(st, s, key, q));
    let save = warp::path!("settings" / String)
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(|key, st, s, f| save(st, s, key, f));
    let reset = warp::path!("settings" / String / "reset")
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(|key, st, s, f| reset(st, s, key, f));
    list.or(edit)
        .unify()
        .or(save)
        .unify()
        .or(reset)
        .unify()
        .boxed()
}

fn actor(s: &StaffSession) -> Actor {
    Actor::Staff {
        login: s.staff.login.clone(),
        role: s.staff.role,
    }
}

/// One text in one language, as shown.
struct Row {
    key: &'static str,
    lang: Language,
    default: &'static str,
    value: String,
    custom: bool,
}

/// Every text (or only `key`'s) from the service.
async fn rows(state: &AppState, key: Option<String>) -> crate::service::Result<Vec<Row>> {
    let svc = state.service.clone();
    let texts = blocking(move || svc.bot_texts(key.as_deref())).await?;
    Ok(texts
        .into_iter()
        .map(|b| Row {
            key: b.key,
            lang: b.lang,
            default: b.default,
            value: b.value,
            custom: b.custom,
        })
        .collect())
}

fn lang_name(lang: Language, of: Language) -> &'static str {
    tr(lang, &format!("lang.{}", of.as_str()))
}

fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(LIST_EXCERPT).collect();
    if s.chars().count() > LIST_EXCERPT {
        out.push('…');
    }
    out
}

fn custom_badge(lang: Language, custom: bool) -> Markup {
    html! {
        @if custom { span.status.custom { (tr(lang, "custom")) } }
        @else { span.muted { (tr(lang, "default")) } }
    }
}

/// The `{name}` placeholders of `text`, each once, in order (for display; the service
/// enforces them).
fn placeholders(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let n = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if n > 0 && rest[n..].starts_with('}') {
            let p = format!("{{{}}}", &rest[..n]);
            if !out.contains(&p) {
                out.push(p);
            }
            rest = &rest[n + 1..];
        }
    }
    out
}

// ----- List -----

async fn list(state: AppState, s: StaffSession, q: Vec<(String, String)>) -> Response {
    either(
        async {
            allow(&s, Action::EditSettings)?;
            let find = q
                .iter()
                .find(|(k, _)| k == "q")
                .map(|(_, v)| v.trim().chars().take(200).collect::<String>())
                .unwrap_or_default();
            let rows = rows(&state, None)
                .await
                .map_err(|e| service_error(&s, &e))?;
            Ok(page(list_view(&s, &rows, &find), StatusCode::OK))
        }
        .await,
    )
}

fn list_view(s: &StaffSession, rows: &[Row], find: &str) -> Markup {
    let lang = s.lang();
    let needle = find.to_lowercase();
    let mut keys: Vec<&'static str> = Vec::new();
    for r in rows {
        if !keys.contains(&r.key) {
            keys.push(r.key);
        }
    }
    let of = |key: &'static str| rows.iter().filter(move |r| r.key == key);
    let shown: Vec<&'static str> = keys
        .into_iter()
        .filter(|k| {
            needle.is_empty()
                || k.contains(&needle)
                || of(k).any(|r| r.value.to_lowercase().contains(&needle))
        })
        .collect();
    let body = html! {
        h1 { (t(lang, "nav.settings")) }
        p.muted { (tr(lang, "intro")) }
        div.card #about {
            h2 { (tr(lang, "about")) }
            p.muted { (tr(lang, "about.hint")) }
            @for r in of(ABOUT) {
                p data-lang=(r.lang.as_str()) data-custom=(if r.custom { "true" } else { "false" }) {
                    b { (lang_name(lang, r.lang)) } " " (custom_badge(lang, r.custom))
                }
                pre.value { (r.value) }
            }
            a.button href={ "/settings/" (ABOUT) } { (tr(lang, "edit")) }
        }
        form.card.filters method="get" action="/settings" {
            div.row {
                input type="search" name="q" value=(find) maxlength="200";
                button type="submit" { (tr(lang, "find")) }
            }
        }
        div.card {
            h2 { (tr(lang, "all")) }
            table #texts {
                thead { tr {
                    th { (tr(lang, "col.key")) }
                    @for l in Language::ALL { th { (lang_name(lang, l)) } }
                } }
                tbody {
                    @for key in &shown {
                        tr data-key=(key) {
                            td { a href={ "/settings/" (key) } { code { (key) } } }
                            @for r in of(key) {
                                td data-lang=(r.lang.as_str()) data-custom=(if r.custom { "true" } else { "false" }) {
                                    (custom_badge(lang, r.custom))
                                    pre.value { (excerpt(&r.value)) }
                                }
                            }
                        }
                    }
                }
            }
            @if shown.is_empty() { p.muted { (tr(lang, "nothing")) } }
        }
    };
    views::layout(
        lang,
        t(lang, "nav.settings"),
        Some((&s.staff, &s.csrf)),
        body,
    )
}

// ----- One text -----

/// What the edit page shows besides the stored values.
#[derive(Default)]
struct EditNotes<'a> {
    notice: Option<(Language, &'static str)>,
    /// A refused value: its language, the message and what was typed.
    error: Option<(Language, String, &'a str)>,
}

async fn edit(state: AppState, s: StaffSession, key: String, q: Vec<(String, String)>) -> Response {
    either(
        async {
            allow(&s, Action::EditSettings)?;
            let rows = load_key(&state, &s, key).await?;
            let get = |k: &str| {
                q.iter()
                    .find(|(kk, _)| kk == k)
                    .and_then(|(_, v)| Language::parse(v))
            };
            let notice = get("saved")
                .map(|l| (l, "saved"))
                .or_else(|| get("reset").map(|l| (l, "reset_done")));
            let notes = EditNotes {
                notice,
                error: None,
            };
            Ok(page(edit_view(&s, &rows, &notes), StatusCode::OK))
        }
        .await,
    )
}

/// The rows of `key`; a 404 page when the key is unknown.
async fn load_key(state: &AppState, s: &StaffSession, key: String) -> Result<Vec<Row>, Response> {
    match rows(state, Some(key)).await {
        Ok(r) => Ok(r),
        Err(e) if e.kind() == "invalid" => {
            Err(common::error_page(s, StatusCode::NOT_FOUND, &e.to_string()))
        }
        Err(e) => Err(service_error(s, &e)),
    }
}

fn edit_view(s: &StaffSession, rows: &[Row], notes: &EditNotes<'_>) -> Markup {
    let lang = s.lang();
    let key = rows.first().map(|r| r.key).unwrap_or_default();
    let title = if key == ABOUT { tr(lang, "about") } else { key };
    let body = html! {
        h1 { @if key == ABOUT { (title) " " } code { (key) } }
        p { a href="/settings" { (tr(lang, "back")) } }
        p.muted { (tr(lang, "intro")) }
        @for r in rows {
            @let l = r.lang.as_str();
            @let error = notes.error.as_ref().filter(|(el, ..)| *el == r.lang);
            div.card.text id={ "lang-" (l) } data-lang=(l) data-custom=(if r.custom { "true" } else { "false" }) {
                h2 { (lang_name(lang, r.lang)) " " (custom_badge(lang, r.custom)) }
                @if let Some((nl, n)) = notes.notice && nl == r.lang {
                    p.notice.saved role="status" { (tr(lang, n)) }
                }
                @if let Some((_, msg, _)) = error {
                    p.error id={ "error-" (l) } role="alert" { (msg) }
                }
                form method="post" action={ "/settings/" (r.key) } {
                    input type="hidden" name="csrf" value=(s.csrf);
                    input type="hidden" name="lang" value=(l);
                    textarea id={ "value-" (l) } name="value" rows="5" maxlength=(MAX_TEXT) required {
                        (error.map(|(_, _, typed)| *typed).unwrap_or(r.value.as_str()))
                    }
                    button type="submit" { (tr(lang, "save")) }
                }
                @if r.custom {
                    form method="post" action={ "/settings/" (r.key) "/reset" } {
                        input type="hidden" name="csrf" value=(s.csrf);
                        input type="hidden" name="lang" value=(l);
                        button type="submit" { (tr(lang, "reset")) }
                    }
                }
                p.muted {
                    (tr(lang, "placeholders")) ": "
                    @let ps = placeholders(r.default);
                    @if ps.is_empty() { (tr(lang, "no_placeholders")) }
                    @for (i, p) in ps.iter().enumerate() { @if i > 0 { ", " } code { (p) } }
                }
                details {
                    summary { (tr(lang, "default_text")) }
                    pre.default { (r.default) }
                }
            }
        }
    };
    views::layout(lang, title, Some((&s.staff, &s.csrf)), body)
}

/// A 400 page: the form's `lang` is not a language.
fn bad_lang(s: &StaffSession) -> Response {
    common::error_page(s, StatusCode::BAD_REQUEST, tr(s.lang(), "bad_lang"))
}

async fn save(
    state: AppState,
    s: StaffSession,
    key: String,
    form: HashMap<String, String>,
) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            allow(&s, Action::EditSettings)?;
            let lang = Language::parse(field(&form, "lang")).ok_or_else(|| bad_lang(&s))?;
            let value = form.get("value").cloned().unwrap_or_default();
            let svc = state.service.clone();
            let actor = actor(&s);
            let (k, v) = (key.clone(), value.clone());
            match blocking(move || svc.set_text(&actor, &k, lang, &v)).await {
                Ok(text) => Ok(redirect(&format!(
                    "/settings/{}?saved={}",
                    text.key,
                    lang.as_str()
                ))),
                Err(e) if e.kind() == "invalid" => {
                    let rows = load_key(&state, &s, key).await?;
                    let notes = EditNotes {
                        notice: None,
                        error: Some((lang, e.to_string(), value.as_str())),
                    };
                    Err(page(edit_view(&s, &rows, &notes), StatusCode::BAD_REQUEST))
                }
                Err(e) => Err(service_error(&s, &e)),
            }
        }
        .await,
    )
}

async fn reset(
    state: AppState,
    s: StaffSession,
    key: String,
    form: HashMap<String, String>,
) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            allow(&s, Action::EditSettings)?;
            let lang = Language::parse(field(&form, "lang")).ok_or_else(|| bad_lang(&s))?;
            let svc = state.service.clone();
            let actor = actor(&s);
            let k = key.clone();
            match blocking(move || svc.reset_text(&actor, &k, lang)).await {
                Ok(_) => Ok(redirect(&format!(
                    "/settings/{key}?reset={}",
                    lang.as_str()
                ))),
                Err(e) if e.kind() == "invalid" => Err(common::error_page(
                    &s,
                    StatusCode::NOT_FOUND,
                    &e.to_string(),
                )),
                Err(e) => Err(service_error(&s, &e)),
            }
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_exists_in_every_language() {
        for (k, ru, uk, en) in TEXTS {
            assert!(!ru.is_empty() && !uk.is_empty() && !en.is_empty(), "{k}");
        }
        for l in Language::ALL {
            assert_ne!(lang_name(Language::Uk, l), "?");
        }
    }

    #[test]
    fn lists_placeholders_once() {
        assert_eq!(
            placeholders("{n}: {subject} {n} {} {x"),
            vec!["{n}", "{subject}"]
        );
    }
}
