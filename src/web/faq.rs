//! Panel area `/faq` (role permission `ManageFaq`): the list of entries with their counters,
//! create and edit (question, other phrasings one per line, answer, enabled), enable/disable,
//! a "try a question" box showing what the bot would answer and why, CSV import (multipart,
//! at most 2 MiB, all or nothing) and CSV export (UTF-8 with a BOM, for Excel).

use std::collections::HashMap;

use futures::StreamExt;
use maud::{Markup, html};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{StatusCode, header};
use warp::reply::Response;

use super::common::{self, allow, csrf, either, field, html as page, redirect, service_error};
use super::panel::StaffSession;
use super::{AppState, blocking, i18n::t, views};
use crate::domain::{Action, Actor, FaqEntry, Language};
use crate::search::{Answer, Hit};
use crate::store::Reads;

/// Largest CSV file accepted by the import.
pub const MAX_UPLOAD: usize = 2 * 1024 * 1024;
/// Largest multipart body read for an import (the file plus the form's other parts); a
/// bigger one is refused before it is read.
const MAX_UPLOAD_BODY: u64 = 4 * 1024 * 1024;
/// Longest question in the try box (what `Service::faq_try` accepts).
const MAX_TRY: usize = 500;

/// (key, ru, uk, en)
const TEXTS: &[(&str, &str, &str, &str)] = &[
    ("new", "Новый вопрос", "Нове питання", "New entry"),
    ("edit", "Вопрос FAQ", "Питання FAQ", "FAQ entry"),
    ("col.question", "Вопрос", "Питання", "Question"),
    (
        "col.alts",
        "Других формулировок",
        "Інших формулювань",
        "Other phrasings",
    ),
    ("col.enabled", "Включён", "Увімкнено", "Enabled"),
    (
        "col.hits",
        "Ответов ботом",
        "Відповідей ботом",
        "Answered by the bot",
    ),
    (
        "col.helpful",
        "Помогло / нет",
        "Допомогло / ні",
        "Helpful / not",
    ),
    ("col.score", "Оценка", "Оцінка", "Score"),
    ("col.coverage", "Покрытие", "Покриття", "Coverage"),
    ("col.role", "Роль", "Роль", "Role"),
    ("yes", "да", "так", "yes"),
    ("no", "нет", "ні", "no"),
    ("f.question", "Вопрос", "Питання", "Question"),
    (
        "f.alts",
        "Другие формулировки — по одной в строке",
        "Інші формулювання — по одному в рядку",
        "Other phrasings — one per line",
    ),
    ("f.answer", "Ответ", "Відповідь", "Answer"),
    (
        "f.enabled",
        "Бот может отвечать этим вопросом",
        "Бот може відповідати цим питанням",
        "The bot may answer with this entry",
    ),
    ("save", "Сохранить", "Зберегти", "Save"),
    ("saved", "Сохранено.", "Збережено.", "Saved."),
    ("disable", "Выключить", "Вимкнути", "Disable"),
    ("enable", "Включить", "Увімкнути", "Enable"),
    ("back", "← Все вопросы", "← Усі питання", "← All entries"),
    (
        "empty",
        "Вопросов пока нет.",
        "Питань поки немає.",
        "No entries yet.",
    ),
    (
        "try",
        "Проверить вопрос",
        "Перевірити питання",
        "Try a question",
    ),
    (
        "try.hint",
        "Что ответит бот, если ему написать так? Ничего не записывается и не считается.",
        "Що відповість бот, якщо йому написати так? Нічого не записується й не рахується.",
        "What would the bot answer to this? Nothing is saved or counted.",
    ),
    ("try.submit", "Проверить", "Перевірити", "Try"),
    (
        "try.confident",
        "Бот ответит сам",
        "Бот відповість сам",
        "The bot answers by itself",
    ),
    (
        "try.suggestions",
        "Бот предложит варианты на выбор",
        "Бот запропонує варіанти на вибір",
        "The bot offers suggestions to choose from",
    ),
    (
        "try.no_match",
        "Подходящего ответа нет — вопрос уйдёт сотруднику",
        "Відповідної відповіді немає — питання піде співробітнику",
        "No match — the question goes to a person",
    ),
    (
        "try.entry",
        "Ответ из вопроса",
        "Відповідь із питання",
        "Answer from",
    ),
    (
        "try.best_match",
        "Лучшее совпадение",
        "Найкращий збіг",
        "Best match",
    ),
    (
        "try.runner_up",
        "Второй кандидат",
        "Другий кандидат",
        "Runner-up",
    ),
    ("try.candidates", "Кандидаты", "Кандидати", "Candidates"),
    ("try.none", "нет", "немає", "none"),
    ("try.chosen", "ответ", "відповідь", "answer"),
    ("try.suggested", "вариант", "варіант", "suggestion"),
    ("try.best", "лучший", "найкращий", "best"),
    ("try.second", "второй", "другий", "runner-up"),
    (
        "import",
        "Импорт из CSV",
        "Імпорт із CSV",
        "Import from CSV",
    ),
    (
        "import.hint",
        "Первая строка — заголовок question,answer[,alternatives]; формулировки разделяются знаком |. Кодировка UTF-8 или Windows-1251, до 2 МиБ. Вопрос, который уже есть, обновляется; при любой ошибке ничего не меняется.",
        "Перший рядок — заголовок question,answer[,alternatives]; формулювання розділяються знаком |. Кодування UTF-8 або Windows-1251, до 2 МіБ. Питання, яке вже є, оновлюється; за будь-якої помилки нічого не змінюється.",
        "The first row is the header question,answer[,alternatives]; phrasings are separated by |. UTF-8 or Windows-1251, at most 2 MiB. A question that exists is updated; on any error nothing changes.",
    ),
    ("import.submit", "Загрузить", "Завантажити", "Upload"),
    (
        "import.done",
        "Импорт выполнен: добавлено {added}, обновлено {updated}, без изменений {unchanged}.",
        "Імпорт виконано: додано {added}, оновлено {updated}, без змін {unchanged}.",
        "Imported: {added} added, {updated} updated, {unchanged} unchanged.",
    ),
    ("export", "Скачать CSV", "Завантажити CSV", "Download CSV"),
    (
        "err.too_large",
        "Файл больше 2 МиБ. Разделите его на части.",
        "Файл більший за 2 МіБ. Розділіть його на частини.",
        "The file is larger than 2 MiB. Split it into parts.",
    ),
    (
        "err.no_file",
        "Выберите CSV-файл.",
        "Оберіть CSV-файл.",
        "Choose a CSV file.",
    ),
    (
        "err.xlsx",
        "Это книга Excel, а не CSV. Сохраните её как «CSV UTF-8 (разделитель — запятая)».",
        "Це книга Excel, а не CSV. Збережіть її як «CSV UTF-8 (роздільник — кома)».",
        "This is an Excel workbook, not CSV. Save it as \"CSV UTF-8 (comma delimited)\".",
    ),
    (
        "err.utf16",
        "Файл в кодировке UTF-16. Сохраните его как «CSV UTF-8».",
        "Файл у кодуванні UTF-16. Збережіть його як «CSV UTF-8».",
        "The file is UTF-16. Save it as \"CSV UTF-8\".",
    ),
    (
        "err.upload",
        "Не удалось прочитать загрузку. Отправьте CSV-файл через форму импорта (до 2 МиБ).",
        "Не вдалося прочитати завантаження. Надішліть CSV-файл через форму імпорту (до 2 МіБ).",
        "The upload could not be read. Send a CSV file through the import form (at most 2 MiB).",
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
    let list = warp::path!("faq")
        .and(warp::get())
        .and(s())
        .and(common::query())
        .then(list);
    let try_page = warp::path!("faq" / "try")
        .and(warp::get())
        .and(s())
        .and(common::query())
        .then(try_page);
    let export = warp::path!("faq" / "export.csv")
        .and(warp::get())
        .and(s())
        .then(export);
    let import = warp::path!("faq" / "import")
        .and(warp::post())
        .and(s())
        .and(warp::multipart::form().max_length(MAX_UPLOAD_BODY))
        .then(import);
    // The same address when the upload filter refused the request (too large, no length,
    // not multipart): a page saying so instead of a bare status.
    let import_refused = warp::path!("faq" / "import")
        .and(warp::post())
        .and(s())
        .and(warp::header::optional::<u64>("content-length"))
        .then(import_refused);
    let new_page = warp::path!("faq" / "new")
        .and(warp::get())
        .and(s())
        .then(new_page);
    let create = warp::path!("faq" / "new")
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(|st, s, f| save(st, s, None, f));
    let edit = warp::path!("faq" / u64)
        .and(warp::get())
        .and(s())
        .and(common::query())
        .then(|id, st, s, q| edit_page(st, s, id, q));
    let update = warp::path!("faq" / u64)
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(|id, st, s, f| save(st, s, Some(id), f));
    let toggle = warp::path!("faq" / u64 / String)
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(|id, action, st, s, f| toggle(st, s, id, action, f));
    list.or(try_page)
        .unify()
        .or(export)
        .unify()
        .or(import)
        .unify()
        .or(import_refused)
        .unify()
        .or(new_page)
        .unify()
        .or(create)
        .unify()
        .or(edit)
        .unify()
        .or(update)
        .unify()
        .or(toggle)
        .unify()
        .boxed()
}

fn actor(s: &StaffSession) -> Actor {
    Actor::Staff {
        login: s.staff.login.clone(),
        role: s.staff.role,
    }
}

fn yes_no(lang: Language, b: bool) -> &'static str {
    tr(lang, if b { "yes" } else { "no" })
}

// ----- List -----

/// What the list shows above the table.
#[derive(Default)]
struct Notes {
    notice: Option<String>,
    import_error: Option<String>,
}

async fn list(state: AppState, s: StaffSession, q: Vec<(String, String)>) -> Response {
    either(
        async {
            allow(&s, Action::ManageFaq)?;
            let lang = s.lang();
            let num = |k: &str| {
                q.iter()
                    .find(|(kk, _)| kk == k)
                    .and_then(|(_, v)| v.parse::<usize>().ok())
            };
            let mut notes = Notes::default();
            if let (Some(a), Some(u), Some(n)) = (num("added"), num("updated"), num("unchanged")) {
                notes.notice = Some(crate::domain::texts::render(
                    tr(lang, "import.done"),
                    &[
                        ("added", &a.to_string()),
                        ("updated", &u.to_string()),
                        ("unchanged", &n.to_string()),
                    ],
                ));
            }
            list_response(&state, &s, notes, StatusCode::OK).await
        }
        .await,
    )
}

async fn list_response(
    state: &AppState,
    s: &StaffSession,
    notes: Notes,
    code: StatusCode,
) -> Result<Response, Response> {
    let svc = state.service.clone();
    let mut entries = blocking(move || Ok(svc.read()?.faq_all()?))
        .await
        .map_err(|e| service_error(s, &e))?;
    entries.sort_by_key(|e| e.id);
    Ok(page(list_view(s, &entries, &notes), code))
}

fn try_form(lang: Language, q: &str) -> Markup {
    html! {
        form.card #try-form method="get" action="/faq/try" {
            label for="q" { (tr(lang, "try")) }
            p.muted { (tr(lang, "try.hint")) }
            input #q type="search" name="q" value=(q) maxlength=(MAX_TRY) required;
            button type="submit" { (tr(lang, "try.submit")) }
        }
    }
}

fn toggle_form(s: &StaffSession, e: &FaqEntry, back: &str) -> Markup {
    let lang = s.lang();
    let (action, label) = if e.enabled {
        ("disable", tr(lang, "disable"))
    } else {
        ("enable", tr(lang, "enable"))
    };
    html! {
        form.inline method="post" action={ "/faq/" (e.id) "/" (action) } {
            input type="hidden" name="csrf" value=(s.csrf);
            input type="hidden" name="back" value=(back);
            button type="submit" { (label) }
        }
    }
}

fn list_view(s: &StaffSession, entries: &[FaqEntry], notes: &Notes) -> Markup {
    let lang = s.lang();
    let body = html! {
        h1 { (t(lang, "nav.faq")) }
        @if let Some(n) = &notes.notice { p.notice #notice role="status" { (n) } }
        p {
            a.button href="/faq/new" { (tr(lang, "new")) } " "
            a.button href="/faq/export.csv" { (tr(lang, "export")) }
        }
        (try_form(lang, ""))
        div.card {
            table #faq {
                thead { tr {
                    th { "#" }
                    th { (tr(lang, "col.question")) }
                    th { (tr(lang, "col.alts")) }
                    th { (tr(lang, "col.enabled")) }
                    th { (tr(lang, "col.hits")) }
                    th { (tr(lang, "col.helpful")) }
                    th {}
                } }
                tbody {
                    @for e in entries {
                        tr data-id=(e.id) data-enabled=(if e.enabled { "true" } else { "false" }) {
                            td { (e.id) }
                            td { a href={ "/faq/" (e.id) } { (e.question) } }
                            td { (e.alternatives.len()) }
                            td { (yes_no(lang, e.enabled)) }
                            td { (e.hits) }
                            td { (e.helpful) " / " (e.not_helpful) }
                            td { (toggle_form(s, e, "list")) }
                        }
                    }
                }
            }
            @if entries.is_empty() { p.muted { (tr(lang, "empty")) } }
        }
        form.card #import method="post" action="/faq/import" enctype="multipart/form-data" {
            h2 { (tr(lang, "import")) }
            @if let Some(e) = &notes.import_error { p.error #import-error role="alert" { (e) } }
            p.muted { (tr(lang, "import.hint")) }
            input type="hidden" name="csrf" value=(s.csrf);
            input type="file" name="file" accept=".csv,text/csv,text/plain" required;
            button type="submit" { (tr(lang, "import.submit")) }
        }
    };
    views::layout(lang, t(lang, "nav.faq"), Some((&s.staff, &s.csrf)), body)
}

// ----- Try a question -----

async fn try_page(state: AppState, s: StaffSession, q: Vec<(String, String)>) -> Response {
    either(
        async {
            allow(&s, Action::ManageFaq)?;
            let question = q
                .iter()
                .find(|(k, _)| k == "q")
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default();
            if question.is_empty() {
                return Ok(page(try_view(&s, "", None, None), StatusCode::OK));
            }
            let svc = state.service.clone();
            let actor = actor(&s);
            let qq = question.clone();
            let result = blocking(move || {
                let (answer, hits) = svc.faq_try(&actor, &qq)?;
                let tx = svc.read()?;
                let mut entries = HashMap::new();
                let ids = hits.iter().map(|h| h.id).chain(match &answer {
                    Answer::Confident(h) => vec![h.id],
                    Answer::Suggestions(hs) => hs.iter().map(|h| h.id).collect(),
                    Answer::NoMatch => vec![],
                });
                for id in ids {
                    if let Some(e) = tx.faq_entry(id)? {
                        entries.insert(id, e);
                    }
                }
                Ok(TryResult {
                    answer,
                    hits,
                    entries,
                })
            })
            .await;
            match result {
                Ok(r) => Ok(page(
                    try_view(&s, &question, Some(&r), None),
                    StatusCode::OK,
                )),
                Err(e) if e.kind() == "invalid" => Err(page(
                    try_view(&s, &question, None, Some(&e.to_string())),
                    StatusCode::BAD_REQUEST,
                )),
                Err(e) => Err(service_error(&s, &e)),
            }
        }
        .await,
    )
}

struct TryResult {
    answer: Answer,
    hits: Vec<Hit>,
    entries: HashMap<u64, FaqEntry>,
}

impl TryResult {
    fn decision(&self) -> &'static str {
        match self.answer {
            Answer::Confident(_) => "confident",
            Answer::Suggestions(_) => "suggestions",
            Answer::NoMatch => "no_match",
        }
    }

    /// The entry the decision is about: the answer, the first suggestion, or else the best
    /// candidate (not good enough).
    fn best(&self) -> Option<&Hit> {
        match &self.answer {
            Answer::Confident(h) => Some(h),
            Answer::Suggestions(hs) => hs.first().or(self.hits.first()),
            Answer::NoMatch => self.hits.first(),
        }
    }

    /// The best candidate after [`TryResult::best`].
    fn runner_up(&self) -> Option<&Hit> {
        let best = self.best().map(|h| h.id);
        let from_suggestions = match &self.answer {
            Answer::Suggestions(hs) => hs.iter().find(|h| Some(h.id) != best),
            _ => None,
        };
        from_suggestions.or_else(|| self.hits.iter().find(|h| Some(h.id) != best))
    }
}

fn pct(x: f32) -> String {
    format!("{:.0}%", x * 100.0)
}

fn hit_line(h: &Hit, lang: Language) -> Markup {
    html! {
        a href={ "/faq/" (h.id) } { (h.question) }
        span.muted {
            " · " (tr(lang, "col.score")) " " span.score { (format!("{:.2}", h.score)) }
            " · " (tr(lang, "col.coverage")) " " span.coverage { (pct(h.coverage)) }
        }
    }
}

fn try_view(
    s: &StaffSession,
    question: &str,
    r: Option<&TryResult>,
    error: Option<&str>,
) -> Markup {
    let lang = s.lang();
    let body = html! {
        h1 { (tr(lang, "try")) }
        p { a href="/faq" { (tr(lang, "back")) } }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        (try_form(lang, question))
        @if let Some(r) = r {
            div.card #try-result data-decision=(r.decision()) {
                h2 #try-decision { (tr(lang, &format!("try.{}", r.decision()))) }
                @if let Some(b) = r.best() {
                    p #try-entry data-id=(b.id) {
                        @if matches!(r.answer, Answer::Confident(_)) { (tr(lang, "try.entry")) }
                        @else { (tr(lang, "try.best_match")) }
                        ": " (hit_line(b, lang))
                    }
                    @if let (Answer::Confident(_), Some(e)) = (&r.answer, r.entries.get(&b.id)) {
                        pre #try-answer { (e.answer) }
                    }
                }
                @if let Answer::Suggestions(hs) = &r.answer {
                    ol #try-suggestions {
                        @for h in hs { li data-id=(h.id) { (hit_line(h, lang)) } }
                    }
                }
                p #try-runner-up data-id=(r.runner_up().map(|h| h.id.to_string()).unwrap_or_default()) {
                    (tr(lang, "try.runner_up")) ": "
                    @if let Some(h) = r.runner_up() { (hit_line(h, lang)) } @else { (tr(lang, "try.none")) }
                }
            }
            @if !r.hits.is_empty() {
                div.card {
                    h2 { (tr(lang, "try.candidates")) }
                    table #try-hits {
                        thead { tr {
                            th { "#" } th { (tr(lang, "col.question")) } th { (tr(lang, "col.score")) }
                            th { (tr(lang, "col.coverage")) } th { (tr(lang, "col.role")) }
                        } }
                        tbody {
                            @for h in &r.hits {
                                tr data-id=(h.id) {
                                    td { (h.id) }
                                    td { a href={ "/faq/" (h.id) } { (h.question) } }
                                    td { (format!("{:.2}", h.score)) }
                                    td { (pct(h.coverage)) }
                                    td { (role_of(r, h, lang)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    views::layout(lang, tr(lang, "try"), Some((&s.staff, &s.csrf)), body)
}

fn role_of(r: &TryResult, h: &Hit, lang: Language) -> &'static str {
    match &r.answer {
        Answer::Confident(c) if c.id == h.id => return tr(lang, "try.chosen"),
        Answer::Suggestions(hs) if hs.iter().any(|x| x.id == h.id) => {
            return tr(lang, "try.suggested");
        }
        _ => {}
    }
    if r.best().is_some_and(|b| b.id == h.id) {
        tr(lang, "try.best")
    } else if r.runner_up().is_some_and(|b| b.id == h.id) {
        tr(lang, "try.second")
    } else {
        ""
    }
}

// ----- Create and edit -----

/// The form's values, as typed.
struct FaqForm {
    question: String,
    alternatives: String,
    answer: String,
    enabled: bool,
}

impl FaqForm {
    fn of(e: &FaqEntry) -> FaqForm {
        FaqForm {
            question: e.question.clone(),
            alternatives: e.alternatives.join("\n"),
            answer: e.answer.clone(),
            enabled: e.enabled,
        }
    }

    fn from_form(f: &HashMap<String, String>) -> FaqForm {
        FaqForm {
            question: field(f, "question").to_string(),
            alternatives: f.get("alternatives").cloned().unwrap_or_default(),
            answer: field(f, "answer").to_string(),
            enabled: f.contains_key("enabled"),
        }
    }

    fn alternatives(&self) -> Vec<String> {
        self.alternatives
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    }
}

async fn new_page(_state: AppState, s: StaffSession) -> Response {
    either(
        async {
            allow(&s, Action::ManageFaq)?;
            let f = FaqForm {
                question: String::new(),
                alternatives: String::new(),
                answer: String::new(),
                enabled: true,
            };
            Ok(page(
                form_view(&s, None, None, &f, None, None),
                StatusCode::OK,
            ))
        }
        .await,
    )
}

async fn edit_page(
    state: AppState,
    s: StaffSession,
    id: u64,
    q: Vec<(String, String)>,
) -> Response {
    either(
        async {
            allow(&s, Action::ManageFaq)?;
            let svc = state.service.clone();
            let entry = blocking(move || {
                svc.read()?.faq_entry(id)?.ok_or_else(|| {
                    crate::service::ServiceError::NotFound(format!("FAQ entry {id}"))
                })
            })
            .await
            .map_err(|e| service_error(&s, &e))?;
            let notice = q
                .iter()
                .any(|(k, _)| k == "saved")
                .then(|| tr(s.lang(), "saved"));
            Ok(page(
                form_view(
                    &s,
                    Some(id),
                    Some(&entry),
                    &FaqForm::of(&entry),
                    None,
                    notice,
                ),
                StatusCode::OK,
            ))
        }
        .await,
    )
}

fn form_view(
    s: &StaffSession,
    id: Option<u64>,
    entry: Option<&FaqEntry>,
    f: &FaqForm,
    error: Option<&str>,
    notice: Option<&str>,
) -> Markup {
    let lang = s.lang();
    let title = if id.is_some() {
        tr(lang, "edit")
    } else {
        tr(lang, "new")
    };
    let action = match id {
        Some(id) => format!("/faq/{id}"),
        None => "/faq/new".to_string(),
    };
    let body = html! {
        h1 { (title) @if let Some(id) = id { " #" (id) } }
        p { a href="/faq" { (tr(lang, "back")) } }
        @if let Some(n) = notice { p.notice #notice role="status" { (n) } }
        @if let Some(e) = error { p.error #form-error role="alert" { (e) } }
        form.card #faq-form method="post" action=(action) {
            input type="hidden" name="csrf" value=(s.csrf);
            label for="question" { (tr(lang, "f.question")) }
            input #question type="text" name="question" value=(f.question) maxlength="500" required;
            label for="alternatives" { (tr(lang, "f.alts")) }
            textarea #alternatives name="alternatives" rows="5" { (f.alternatives) }
            label for="answer" { (tr(lang, "f.answer")) }
            textarea #answer name="answer" rows="8" maxlength="4096" required { (f.answer) }
            label {
                input #enabled type="checkbox" name="enabled" value="on" checked[f.enabled];
                " " (tr(lang, "f.enabled"))
            }
            button type="submit" { (tr(lang, "save")) }
        }
        @if let Some(e) = entry {
            div.card.actions {
                p.muted {
                    (tr(lang, "col.enabled")) ": " (yes_no(lang, e.enabled))
                    " · " (tr(lang, "col.hits")) ": " (e.hits)
                    " · " (tr(lang, "col.helpful")) ": " (e.helpful) " / " (e.not_helpful)
                }
                (toggle_form(s, e, "edit"))
            }
            (try_form(lang, &e.question))
        }
    };
    views::layout(lang, title, Some((&s.staff, &s.csrf)), body)
}

async fn save(
    state: AppState,
    s: StaffSession,
    id: Option<u64>,
    form: HashMap<String, String>,
) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            allow(&s, Action::ManageFaq)?;
            let f = FaqForm::from_form(&form);
            let svc = state.service.clone();
            let actor = actor(&s);
            let (question, alts, answer, enabled) = (
                f.question.clone(),
                f.alternatives(),
                f.answer.clone(),
                f.enabled,
            );
            let result =
                blocking(move || svc.upsert_faq(&actor, id, &question, &alts, &answer, enabled))
                    .await;
            match result {
                Ok(e) => Ok(redirect(&format!("/faq/{}?saved=1", e.id))),
                Err(e) if e.kind() == "invalid" => Err(page(
                    form_view(&s, id, None, &f, Some(&e.to_string()), None),
                    StatusCode::BAD_REQUEST,
                )),
                Err(e) => Err(service_error(&s, &e)),
            }
        }
        .await,
    )
}

async fn toggle(
    state: AppState,
    s: StaffSession,
    id: u64,
    action: String,
    form: HashMap<String, String>,
) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            allow(&s, Action::ManageFaq)?;
            let enabled = match action.as_str() {
                "enable" => true,
                "disable" => false,
                _ => {
                    return Err(common::error_page(
                        &s,
                        StatusCode::NOT_FOUND,
                        t(s.lang(), "err.not_found"),
                    ));
                }
            };
            let svc = state.service.clone();
            let actor = actor(&s);
            blocking(move || svc.set_faq_enabled(&actor, id, enabled))
                .await
                .map_err(|e| service_error(&s, &e))?;
            let back = if field(&form, "back") == "edit" {
                format!("/faq/{id}")
            } else {
                "/faq".to_string()
            };
            Ok(redirect(&back))
        }
        .await,
    )
}

// ----- CSV -----

async fn export(state: AppState, s: StaffSession) -> Response {
    use warp::Reply;
    either(
        async {
            allow(&s, Action::ManageFaq)?;
            let svc = state.service.clone();
            let actor = actor(&s);
            let csv = blocking(move || svc.faq_export_csv(&actor))
                .await
                .map_err(|e| service_error(&s, &e))?;
            let mut r = warp::reply::with_header(
                format!("\u{feff}{csv}"),
                header::CONTENT_TYPE,
                "text/csv; charset=utf-8",
            )
            .into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"faq.csv\""
                    .parse()
                    .expect("static header"),
            );
            h.insert(
                header::CACHE_CONTROL,
                "no-store".parse().expect("static header"),
            );
            Ok(r)
        }
        .await,
    )
}

/// What an import form sent.
#[derive(Default)]
struct Upload {
    fields: HashMap<String, String>,
    file: Option<Vec<u8>>,
    too_large: bool,
}

/// Reads the parts of an import form: small text fields, and the `file` part up to
/// [`MAX_UPLOAD`] bytes (the rest of a bigger one is read and dropped).
async fn read_upload(mut form: warp::multipart::FormData) -> Result<Upload, warp::Error> {
    let mut up = Upload::default();
    while let Some(part) = form.next().await {
        let mut part = part?;
        let name = part.name().to_string();
        let limit = if name == "file" { MAX_UPLOAD } else { 4096 };
        let (buf, over) = common::read_part(&mut part, limit).await?;
        if name == "file" {
            up.too_large |= over;
            up.file = Some(buf);
        } else if !over {
            up.fields
                .insert(name, String::from_utf8_lossy(&buf).into_owned());
        }
    }
    Ok(up)
}

/// The text of an uploaded file: UTF-8 (a BOM is fine), else Windows-1251 (what Excel on a
/// Russian or Ukrainian Windows writes); a workbook or UTF-16 is refused with a text key.
fn decode_upload(bytes: &[u8]) -> Result<String, &'static str> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Err("err.xlsx");
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err("err.utf16");
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(_) => Ok(bytes.iter().map(|&b| cp1251(b)).collect()),
    }
}

/// One Windows-1251 byte as a character.
fn cp1251(b: u8) -> char {
    const HIGH: [u16; 64] = [
        0x0402, 0x0403, 0x201A, 0x0453, 0x201E, 0x2026, 0x2020, 0x2021, 0x20AC, 0x2030, 0x0409,
        0x2039, 0x040A, 0x040C, 0x040B, 0x040F, 0x0452, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0xFFFD, 0x2122, 0x0459, 0x203A, 0x045A, 0x045C, 0x045B, 0x045F, 0x00A0,
        0x040E, 0x045E, 0x0408, 0x00A4, 0x0490, 0x00A6, 0x00A7, 0x0401, 0x00A9, 0x0404, 0x00AB,
        0x00AC, 0x00AD, 0x00AE, 0x0407, 0x00B0, 0x00B1, 0x0406, 0x0456, 0x0491, 0x00B5, 0x00B6,
        0x00B7, 0x0451, 0x2116, 0x0454, 0x00BB, 0x0458, 0x0405, 0x0455, 0x0457,
    ];
    let code = match b {
        0x00..=0x7F => u32::from(b),
        0x80..=0xBF => u32::from(HIGH[usize::from(b - 0x80)]),
        _ => 0x0410 + u32::from(b - 0xC0),
    };
    char::from_u32(code).unwrap_or('\u{FFFD}')
}

async fn import(state: AppState, s: StaffSession, form: warp::multipart::FormData) -> Response {
    either(
        async {
            let lang = s.lang();
            let bad = |msg: String| Notes {
                notice: None,
                import_error: Some(msg),
            };
            let up = match read_upload(form).await {
                Ok(up) => up,
                Err(e) => {
                    allow(&s, Action::ManageFaq)?;
                    tracing::info!("FAQ import: unreadable upload: {e}");
                    // No CSRF token could be read either: nothing changes.
                    return Err(list_response(
                        &state,
                        &s,
                        bad(tr(lang, "err.upload").into()),
                        StatusCode::BAD_REQUEST,
                    )
                    .await
                    .unwrap_or_else(|r| r));
                }
            };
            csrf(&s, &up.fields)?;
            allow(&s, Action::ManageFaq)?;
            let refuse = |key: &str| bad(tr(lang, key).to_string());
            let text = match (&up.file, up.too_large) {
                (_, true) => Err(refuse("err.too_large")),
                (None, _) => Err(refuse("err.no_file")),
                (Some(f), _) if f.iter().all(|b| b.is_ascii_whitespace()) => {
                    Err(refuse("err.no_file"))
                }
                (Some(f), _) => decode_upload(f).map_err(refuse),
            };
            let text = match text {
                Ok(t) => t,
                Err(notes) => {
                    return Err(list_response(&state, &s, notes, StatusCode::BAD_REQUEST)
                        .await
                        .unwrap_or_else(|r| r));
                }
            };
            let svc = state.service.clone();
            let actor = actor(&s);
            match blocking(move || svc.import_faq_csv(&actor, &text)).await {
                Ok(r) => Ok(redirect(&format!(
                    "/faq?added={}&updated={}&unchanged={}",
                    r.added, r.updated, r.unchanged
                ))),
                Err(e) if e.kind() == "invalid" => {
                    Err(
                        list_response(&state, &s, bad(e.to_string()), StatusCode::BAD_REQUEST)
                            .await
                            .unwrap_or_else(|r| r),
                    )
                }
                Err(e) => Err(service_error(&s, &e)),
            }
        }
        .await,
    )
}

async fn import_refused(state: AppState, s: StaffSession, length: Option<u64>) -> Response {
    if let Err(r) = allow(&s, Action::ManageFaq) {
        return r;
    }
    let lang = s.lang();
    let (key, code) = match length {
        Some(n) if n > MAX_UPLOAD_BODY => ("err.too_large", StatusCode::PAYLOAD_TOO_LARGE),
        _ => ("err.upload", StatusCode::BAD_REQUEST),
    };
    let notes = Notes {
        notice: None,
        import_error: Some(tr(lang, key).to_string()),
    };
    either(list_response(&state, &s, notes, code).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_exists_in_every_language() {
        for (k, ru, uk, en) in TEXTS {
            assert!(!ru.is_empty() && !uk.is_empty() && !en.is_empty(), "{k}");
        }
        for d in ["confident", "suggestions", "no_match"] {
            assert_ne!(tr(Language::Uk, &format!("try.{d}")), "?");
        }
    }

    #[test]
    fn decodes_utf8_and_windows_1251() {
        assert_eq!(decode_upload("Вопрос,ї".as_bytes()).unwrap(), "Вопрос,ї");
        // "Привет, Їжак ёЁ №" in Windows-1251.
        let cp = [
            0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2, 0x2C, 0x20, 0xAF, 0xE6, 0xE0, 0xEA, 0x20, 0xB8,
            0xA8, 0x20, 0xB9,
        ];
        assert_eq!(decode_upload(&cp).unwrap(), "Привет, Їжак ёЁ №");
        assert_eq!(decode_upload(b"PK\x03\x04rest"), Err("err.xlsx"));
        assert_eq!(decode_upload(&[0xFF, 0xFE, b'q', 0]), Err("err.utf16"));
    }
}
