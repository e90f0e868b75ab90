//! Stock import in the panel (storekeepers and admins): an upload form (1C `offers.xml` with
//! an optional `import.xml`, CSV or XLSX), the dry-run difference with an "apply" button, the
//! apply running in the background with a progress page, and the SKU mapping table.
//!
//! Addresses live under `/stock-import` (not `/stock/…`, where any segment is an item's SKU).
//! An upload is parsed and compared at once; the parsed balances wait in memory
//! ([`Pending`], per staff login, an hour at most) until applied — the apply recomputes the
//! difference in its transaction, so applying twice changes nothing the second time.

// Handlers return `Result<Response, Response>` (an error page is a response too).
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use maud::{Markup, html};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{StatusCode, header};
use warp::reply::Response;

use super::common::{self, allow, csrf, either, field, html as page, redirect, service_error};
use super::panel::StaffSession;
use super::stock::seg_encode;
use super::{AppState, blocking, views};
use crate::domain::*;
use crate::import::{self, Balance, Source};
use crate::service::{ImportDiff, ImportLine, ImportOptions};

/// Largest upload (all files of one import together).
pub const MAX_UPLOAD: usize = 20 * 1024 * 1024;
/// Largest multipart body read (the files plus the form's small fields).
const MAX_UPLOAD_BODY: u64 = MAX_UPLOAD as u64 + 64 * 1024;
/// Lines of each kind shown on the difference page.
const SHOWN: usize = 500;
/// How long a parsed upload waits to be applied.
const KEEP: Duration = Duration::from_secs(3600);
/// Uploads kept at once (the oldest goes first).
const MAX_PENDING: usize = 8;

/// (key, ru, uk, en)
const TEXTS: &[(&str, &str, &str, &str)] = &[
    (
        "title",
        "Импорт остатков",
        "Імпорт залишків",
        "Stock import",
    ),
    (
        "intro",
        "Файл из 1С (offers.xml, и import.xml рядом с ним), CSV или XLSX со столбцами «Артикул», «Наименование», «Остаток». Сначала показывается разница; ничего не меняется, пока вы не нажмёте «Применить».",
        "Файл з 1С (offers.xml, і import.xml поруч із ним), CSV або XLSX зі стовпцями «Артикул», «Назва», «Залишок». Спочатку показується різниця; нічого не змінюється, доки ви не натиснете «Застосувати».",
        "A 1C file (offers.xml, with import.xml beside it), or CSV or XLSX with columns SKU, name, quantity. The difference is shown first; nothing changes until you press Apply.",
    ),
    ("file", "Файл остатков", "Файл залишків", "Balances file"),
    (
        "catalog",
        "import.xml из 1С (необязательно)",
        "import.xml з 1С (необов'язково)",
        "1C import.xml (optional)",
    ),
    (
        "create_new",
        "Создавать новые позиции для неизвестных артикулов",
        "Створювати нові позиції для невідомих артикулів",
        "Create new items for unknown SKUs",
    ),
    (
        "check",
        "Показать разницу",
        "Показати різницю",
        "Show the difference",
    ),
    ("apply", "Применить", "Застосувати", "Apply"),
    (
        "mapping",
        "Сопоставление кодов",
        "Зіставлення кодів",
        "Code mapping",
    ),
    (
        "mapping_intro",
        "Код из файла (артикул или Ид 1С, код поставщика) → артикул позиции на складе. Импорт сначала ищет код здесь, потом позицию с таким же артикулом.",
        "Код із файлу (артикул або Ід 1С, код постачальника) → артикул позиції на складі. Імпорт спершу шукає код тут, потім позицію з таким самим артикулом.",
        "A code in the file (1C article or Ид, a supplier's code) → the SKU of a stock item. The import looks the code up here first, then an item with the same SKU.",
    ),
    ("code", "Код в файле", "Код у файлі", "Code in the file"),
    ("sku", "Артикул на складе", "Артикул на складі", "Our SKU"),
    ("save", "Сохранить", "Зберегти", "Save"),
    ("delete", "Удалить", "Видалити", "Delete"),
    (
        "no_mapping",
        "Сопоставлений пока нет.",
        "Зіставлень поки немає.",
        "No mappings yet.",
    ),
    ("changed", "Изменятся", "Зміняться", "Will change"),
    (
        "created",
        "Будут созданы",
        "Буде створено",
        "Will be created",
    ),
    (
        "unknown",
        "Неизвестные артикулы (не импортируются)",
        "Невідомі артикули (не імпортуються)",
        "Unknown SKUs (not imported)",
    ),
    (
        "unknown_hint",
        "Сопоставьте их коды с позициями на странице «Сопоставление кодов» или загрузите файл снова с галочкой «Создавать новые позиции».",
        "Зіставте їхні коди з позиціями на сторінці «Зіставлення кодів» або завантажте файл знову з позначкою «Створювати нові позиції».",
        "Map their codes to items on the Code mapping page, or upload again with \"Create new items\" ticked.",
    ),
    ("unchanged", "Без изменений", "Без змін", "Unchanged"),
    (
        "untouched",
        "Позиций нет в файле (останутся как есть)",
        "Позицій немає у файлі (залишаться як є)",
        "Items not in the file (kept as they are)",
    ),
    ("name", "Название", "Назва", "Name"),
    ("from", "Было", "Було", "Was"),
    ("to", "Станет", "Стане", "Becomes"),
    ("where", "Где в файле", "Де у файлі", "Where in the file"),
    ("more", "ещё", "ще", "more"),
    (
        "nothing",
        "Применять нечего: остатки совпадают.",
        "Застосовувати нічого: залишки збігаються.",
        "Nothing to apply: the balances match.",
    ),
    ("running", "Импорт идёт…", "Імпорт триває…", "Importing…"),
    (
        "done",
        "Импорт выполнен.",
        "Імпорт виконано.",
        "Import done.",
    ),
    (
        "failed",
        "Импорт не выполнен",
        "Імпорт не виконано",
        "Import failed",
    ),
    (
        "partial",
        "Пакет 1С содержит только изменения.",
        "Пакет 1С містить лише зміни.",
        "The 1C package holds changes only.",
    ),
    (
        "no_qty",
        "предложений без количества пропущено",
        "пропозицій без кількості пропущено",
        "offers without a quantity left out",
    ),
    (
        "gone",
        "Эта загрузка устарела или не найдена: загрузите файл снова.",
        "Це завантаження застаріло або не знайдене: завантажте файл знову.",
        "This upload expired or was not found: upload the file again.",
    ),
    (
        "too_large",
        "Файл слишком большой: не больше 20 МБ. Для больших выгрузок используйте команду helpdesk stock import.",
        "Файл завеликий: не більше 20 МБ. Для великих вивантажень використовуйте команду helpdesk stock import.",
        "The file is too large: at most 20 MB. For larger exports use the command helpdesk stock import.",
    ),
    (
        "no_file",
        "Выберите файл.",
        "Виберіть файл.",
        "Choose a file.",
    ),
    (
        "bad_upload",
        "Загрузка не прочитана: отправьте форму ещё раз.",
        "Завантаження не прочитано: надішліть форму ще раз.",
        "The upload could not be read: send the form again.",
    ),
    ("back", "К складу", "До складу", "Back to stock"),
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

/// Progress and outcome of an apply.
#[derive(Default)]
struct JobState {
    started: AtomicBool,
    done: AtomicU64,
    total: AtomicU64,
    result: Mutex<Option<Result<ImportDiff, String>>>,
}

/// A parsed upload waiting to be applied.
struct Job {
    owner: String,
    created: Instant,
    rows: Arc<Vec<Balance>>,
    options: ImportOptions,
    diff: ImportDiff,
    notes: Vec<String>,
    state: Arc<JobState>,
}

/// Parsed uploads by id.
#[derive(Default)]
pub struct Pending {
    jobs: Mutex<HashMap<String, Job>>,
}

impl Pending {
    fn insert(&self, job: Job) -> String {
        let id = crate::service::random_token();
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.retain(|_, j| j.created.elapsed() < KEEP);
        while jobs.len() >= MAX_PENDING {
            let Some(oldest) = jobs
                .iter()
                .filter(|(_, j)| !j.state.started.load(Ordering::Relaxed))
                .min_by_key(|(_, j)| j.created)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            jobs.remove(&oldest);
        }
        jobs.insert(id.clone(), job);
        id
    }

    fn with<T>(&self, id: &str, owner: &str, f: impl FnOnce(&Job) -> T) -> Option<T> {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.get(id)
            .filter(|j| j.owner == owner && j.created.elapsed() < KEEP)
            .map(f)
    }
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let s = || common::with_state(state.clone()).and(common::session(state.clone()));
    let form_page = warp::path!("stock-import")
        .and(warp::get())
        .and(s())
        .then(|st, s| upload_page(st, s, None, StatusCode::OK));
    let upload = warp::path!("stock-import")
        .and(warp::post())
        .and(s())
        .and(warp::multipart::form().max_length(MAX_UPLOAD_BODY))
        .then(upload);
    // A refused upload whose body is still unread (too large by its length): read and drop it
    // first, up to a bound, so the browser gets the page instead of a connection reset while
    // it is still sending.
    let refused_unread = warp::path!("stock-import")
        .and(warp::post())
        .and(s())
        .and(warp::header::optional::<u64>("content-length"))
        .and(warp::body::stream())
        .then(|st, s, length, body| async move {
            common::drain(body, DRAIN_LIMIT).await;
            upload_refused(st, s, length).await
        });
    let refused = warp::path!("stock-import")
        .and(warp::post())
        .and(s())
        .and(warp::header::optional::<u64>("content-length"))
        .then(upload_refused);
    let mapping = warp::path!("stock-import" / "mapping")
        .and(warp::get())
        .and(s())
        .then(|st, s| mapping_page(st, s, None, StatusCode::OK));
    let mapping_save = warp::path!("stock-import" / "mapping")
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(mapping_save);
    let mapping_delete = warp::path!("stock-import" / "mapping" / "delete")
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(mapping_delete);
    let job = warp::path!("stock-import" / String)
        .and(warp::get())
        .and(s())
        .then(|id, st, s| job_page(st, s, id));
    let apply = warp::path!("stock-import" / String / "apply")
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(|id, st, s, f| apply(st, s, id, f));
    form_page
        .or(upload)
        .unify()
        .or(refused_unread)
        .unify()
        .or(refused)
        .unify()
        .or(mapping)
        .unify()
        .or(mapping_save)
        .unify()
        .or(mapping_delete)
        .unify()
        .or(job)
        .unify()
        .or(apply)
        .unify()
        .boxed()
}

fn actor(s: &StaffSession) -> Actor {
    Actor::Staff {
        login: s.staff.login.clone(),
        role: s.staff.role,
    }
}

fn frame(s: &StaffSession, body: Markup) -> Markup {
    let lang = s.lang();
    views::layout(lang, tr(lang, "title"), Some((&s.staff, &s.csrf)), body)
}

fn nav(lang: Language) -> Markup {
    html! {
        p {
            a href="/stock" { (tr(lang, "back")) } " · "
            a href="/stock-import" { (tr(lang, "title")) } " · "
            a href="/stock-import/mapping" { (tr(lang, "mapping")) }
        }
    }
}

async fn upload_page(
    _state: AppState,
    s: StaffSession,
    error: Option<String>,
    code: StatusCode,
) -> Response {
    if let Err(r) = allow(&s, Action::ManageStock) {
        return r;
    }
    let lang = s.lang();
    let body = html! {
        h1 { (tr(lang, "title")) }
        (nav(lang))
        p.muted { (tr(lang, "intro")) }
        @if let Some(e) = &error { p.error #import-error role="alert" { (e) } }
        form.card #import method="post" action="/stock-import" enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(s.csrf);
            label for="file" { (tr(lang, "file")) }
            input #file type="file" name="file" accept=".xml,.csv,.txt,.tsv,.xlsx" required;
            label for="catalog" { (tr(lang, "catalog")) }
            input #catalog type="file" name="catalog" accept=".xml";
            label {
                input type="checkbox" name="create_new" value="1";
                " " (tr(lang, "create_new"))
            }
            button type="submit" { (tr(lang, "check")) }
        }
    };
    page(frame(&s, body), code)
}

#[derive(Default)]
struct Upload {
    fields: HashMap<String, String>,
    files: Vec<(String, String, Vec<u8>)>,
    too_large: bool,
}

/// Reads the form: small text fields, and the file parts (`file`, `catalog`) up to
/// [`MAX_UPLOAD`] bytes together (the rest of a bigger one is read and dropped).
async fn read_upload(mut form: warp::multipart::FormData) -> Result<Upload, warp::Error> {
    let mut up = Upload::default();
    let mut total = 0usize;
    while let Some(part) = form.next().await {
        let mut part = part?;
        let name = part.name().to_string();
        let is_file = name == "file" || name == "catalog";
        let filename = part.filename().unwrap_or(&name).to_string();
        let limit = if is_file { MAX_UPLOAD - total } else { 4096 };
        let (buf, over) = common::read_part(&mut part, limit).await?;
        if is_file {
            up.too_large |= over;
            total += buf.len();
            if !buf.is_empty() {
                up.files.push((name, filename, buf));
            }
        } else if !over {
            up.fields
                .insert(name, String::from_utf8_lossy(&buf).into_owned());
        }
    }
    Ok(up)
}

async fn upload(state: AppState, s: StaffSession, form: warp::multipart::FormData) -> Response {
    let lang = s.lang();
    let up = match read_upload(form).await {
        Ok(up) => up,
        Err(e) => {
            tracing::info!("stock import: unreadable upload: {e}");
            let msg = tr(lang, "bad_upload").to_string();
            return upload_page(state, s, Some(msg), StatusCode::BAD_REQUEST).await;
        }
    };
    if let Err(r) = csrf(&s, &up.fields).and_then(|_| allow(&s, Action::ManageStock)) {
        return r;
    }
    if up.too_large {
        let msg = tr(lang, "too_large").to_string();
        return upload_page(state, s, Some(msg), StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    if !up.files.iter().any(|(n, ..)| n == "file") {
        let msg = tr(lang, "no_file").to_string();
        return upload_page(state, s, Some(msg), StatusCode::BAD_REQUEST).await;
    }
    let create_new = field(&up.fields, "create_new") == "1";
    let svc = state.service.clone();
    let who = actor(&s);
    let files = up.files;
    let parsed = tokio::task::spawn_blocking(move || {
        let sources: Vec<Source> = files
            .iter()
            .map(|(_, name, bytes)| Source::Bytes { name, bytes })
            .collect();
        let parsed = import::parse(&sources, &mut |_, _| {}).map_err(|e| e.to_string())?;
        let label: String = files
            .iter()
            .map(|(_, n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
            .chars()
            .take(500)
            .collect();
        let options = ImportOptions {
            create_new,
            label,
            files: parsed.files.clone(),
            ignore_unknown_zero: false,
        };
        let diff = svc
            .import_stock(&who, &parsed.balances, &options, false, &mut |_, _| {})
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((parsed, options, diff))
    })
    .await
    .unwrap_or_else(|e| Err(format!("internal error: {e}")));
    let (parsed, options, diff) = match parsed {
        Ok(p) => p,
        Err(msg) => return upload_page(state, s, Some(msg), StatusCode::BAD_REQUEST).await,
    };
    let mut notes = parsed.formats.clone();
    if parsed.partial {
        notes.push(tr(lang, "partial").to_string());
    }
    if parsed.without_quantity > 0 {
        notes.push(format!(
            "{} {}",
            parsed.without_quantity,
            tr(lang, "no_qty")
        ));
    }
    let id = state.imports.insert(Job {
        owner: s.staff.login.clone(),
        created: Instant::now(),
        rows: Arc::new(parsed.balances),
        options,
        diff,
        notes,
        state: Arc::default(),
    });
    redirect(&format!("/stock-import/{id}"))
}

/// Most of a refused upload read (and dropped) before answering; beyond it the connection is
/// closed.
const DRAIN_LIMIT: u64 = 4 * MAX_UPLOAD_BODY;

async fn upload_refused(state: AppState, s: StaffSession, length: Option<u64>) -> Response {
    let lang = s.lang();
    let (key, code) = match length {
        Some(n) if n > MAX_UPLOAD_BODY => ("too_large", StatusCode::PAYLOAD_TOO_LARGE),
        _ => ("bad_upload", StatusCode::BAD_REQUEST),
    };
    upload_page(state, s, Some(tr(lang, key).to_string()), code).await
}

/// What the difference pages show: the lines refer to the parsed rows.
struct DiffView<'a> {
    diff: &'a ImportDiff,
    rows: &'a [Balance],
    files: &'a [String],
}

fn lines_table(
    lang: Language,
    v: &DiffView<'_>,
    title: &str,
    lines: &[ImportLine],
    with_from: bool,
) -> Markup {
    let (rows, files) = (v.rows, v.files);
    html! {
        @if !lines.is_empty() {
            h2 { (title) " (" (lines.len()) ")" }
            table.import {
                thead { tr {
                    th { (tr(lang, "sku")) } th { (tr(lang, "name")) }
                    @if with_from { th { (tr(lang, "from")) } }
                    th { (tr(lang, "to")) } th { (tr(lang, "where")) }
                } }
                tbody {
                    @for l in lines.iter().take(SHOWN) {
                        tr {
                            td { @if with_from { a href={ "/stock/" (seg_encode(l.sku(rows))) } { (l.sku(rows)) } } @else { (l.code(rows)) } }
                            td { (l.name(rows)) }
                            @if with_from { td { (l.from) } }
                            td { (l.to) }
                            td.muted { (l.source(rows, files)) }
                        }
                    }
                }
            }
            @if lines.len() > SHOWN { p.muted { "… " (tr(lang, "more")) " " (lines.len() - SHOWN) } }
        }
    }
}

fn diff_view(lang: Language, v: &DiffView<'_>) -> Markup {
    let d = v.diff;
    html! {
        div.card #diff {
            p #summary {
                (tr(lang, "changed")) ": " (d.changed.len()) " · "
                (tr(lang, "created")) ": " (d.created.len()) " · "
                (tr(lang, "unknown")) ": " (d.unknown.len()) " · "
                (tr(lang, "unchanged")) ": " (d.unchanged) " · "
                (tr(lang, "untouched")) ": " (d.untouched)
            }
            (lines_table(lang, v, tr(lang, "changed"), &d.changed, true))
            (lines_table(lang, v, tr(lang, "created"), &d.created, false))
            (lines_table(lang, v, tr(lang, "unknown"), &d.unknown, false))
            @if !d.unknown.is_empty() { p.muted { (tr(lang, "unknown_hint")) } }
        }
    }
}

async fn job_page(state: AppState, s: StaffSession, id: String) -> Response {
    if let Err(r) = allow(&s, Action::ManageStock) {
        return r;
    }
    let lang = s.lang();
    let view = state.imports.with(&id, &s.staff.login, |j| {
        (
            j.diff.clone(),
            j.notes.clone(),
            j.state.clone(),
            j.rows.clone(),
            j.options.files.clone(),
        )
    });
    let Some((diff, notes, st, rows, files)) = view else {
        return common::error_page(&s, StatusCode::NOT_FOUND, tr(lang, "gone"));
    };
    let started = st.started.load(Ordering::Relaxed);
    let result = st.result.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let running = started && result.is_none();
    let body = html! {
        h1 { (tr(lang, "title")) }
        (nav(lang))
        @for n in &notes { p.muted { (n) } }
        @match (&result, running) {
            (Some(Ok(done)), _) => {
                p.notice #notice role="status" { (tr(lang, "done")) }
                (diff_view(lang, &DiffView { diff: done, rows: &rows, files: &files }))
            }
            (Some(Err(e)), _) => {
                p.error #import-error role="alert" { (tr(lang, "failed")) ": " (e) }
            }
            (None, true) => {
                p.notice #progress role="status" {
                    (tr(lang, "running")) " "
                    (st.done.load(Ordering::Relaxed)) " / " (st.total.load(Ordering::Relaxed))
                }
            }
            (None, false) => {
                (diff_view(lang, &DiffView { diff: &diff, rows: &rows, files: &files }))
                @if diff.is_empty() {
                    p.notice #notice role="status" { (tr(lang, "nothing")) }
                } @else {
                    form #apply method="post" action={ "/stock-import/" (id) "/apply" } {
                        input type="hidden" name="csrf" value=(s.csrf);
                        button type="submit" { (tr(lang, "apply")) }
                    }
                }
            }
        }
    };
    let mut r = page(frame(&s, body), StatusCode::OK);
    if running && let Ok(v) = "1".parse() {
        r.headers_mut().insert(header::REFRESH, v);
    }
    r
}

async fn apply(
    state: AppState,
    s: StaffSession,
    id: String,
    form: HashMap<String, String>,
) -> Response {
    if let Err(r) = csrf(&s, &form).and_then(|_| allow(&s, Action::ManageStock)) {
        return r;
    }
    let job = state.imports.with(&id, &s.staff.login, |j| {
        (j.rows.clone(), j.options.clone(), j.state.clone())
    });
    let Some((rows, options, st)) = job else {
        return common::error_page(&s, StatusCode::NOT_FOUND, tr(s.lang(), "gone"));
    };
    // Only the first press applies; a second one just shows the progress.
    if !st.started.swap(true, Ordering::SeqCst) {
        let svc = state.service.clone();
        let who = actor(&s);
        st.total.store(rows.len() as u64, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            let r = svc.import_stock(&who, &rows, &options, true, &mut |done, total| {
                st.done.store(done, Ordering::Relaxed);
                st.total.store(total, Ordering::Relaxed);
            });
            if let Err(e) = &r {
                tracing::warn!("stock import failed: {e}");
            }
            *st.result.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(r.map_err(|e| e.to_string()));
        });
    }
    redirect(&format!("/stock-import/{id}"))
}

async fn mapping_page(
    state: AppState,
    s: StaffSession,
    error: Option<String>,
    code: StatusCode,
) -> Response {
    either(
        async {
            allow(&s, Action::ManageStock)?;
            let svc = state.service.clone();
            let rows = blocking(move || svc.sku_mappings())
                .await
                .map_err(|e| service_error(&s, &e))?;
            let lang = s.lang();
            let body = html! {
                h1 { (tr(lang, "mapping")) }
                (nav(lang))
                p.muted { (tr(lang, "mapping_intro")) }
                @if let Some(e) = &error { p.error #form-error role="alert" { (e) } }
                form.card #mapping-form method="post" action="/stock-import/mapping" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    label for="code" { (tr(lang, "code")) }
                    input #code type="text" name="code" maxlength="200" required;
                    label for="sku" { (tr(lang, "sku")) }
                    input #sku type="text" name="sku" maxlength="64" required;
                    button type="submit" { (tr(lang, "save")) }
                }
                div.card {
                    @if rows.is_empty() {
                        p.muted { (tr(lang, "no_mapping")) }
                    } @else {
                        table #mapping {
                            thead { tr { th { (tr(lang, "code")) } th { (tr(lang, "sku")) } th {} } }
                            tbody {
                                @for m in &rows {
                                    tr {
                                        td { (m.code) }
                                        td { a href={ "/stock/" (seg_encode(&m.sku)) } { (m.sku) } }
                                        td {
                                            form method="post" action="/stock-import/mapping/delete" {
                                                input type="hidden" name="csrf" value=(s.csrf);
                                                input type="hidden" name="code" value=(m.code);
                                                button.link type="submit" { (tr(lang, "delete")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            };
            Ok(page(frame(&s, body), code))
        }
        .await,
    )
}

async fn mapping_save(state: AppState, s: StaffSession, form: HashMap<String, String>) -> Response {
    if let Err(r) = csrf(&s, &form).and_then(|_| allow(&s, Action::ManageStock)) {
        return r;
    }
    let (code, sku) = (
        field(&form, "code").to_string(),
        field(&form, "sku").to_string(),
    );
    let svc = state.service.clone();
    let who = actor(&s);
    match blocking(move || svc.set_sku_mapping(&who, &code, &sku)).await {
        Ok(_) => redirect("/stock-import/mapping"),
        Err(e) if matches!(e.kind(), "invalid" | "not_found") => {
            let code = common::status_of(&e);
            mapping_page(state, s, Some(e.to_string()), code).await
        }
        Err(e) => service_error(&s, &e),
    }
}

async fn mapping_delete(
    state: AppState,
    s: StaffSession,
    form: HashMap<String, String>,
) -> Response {
    if let Err(r) = csrf(&s, &form).and_then(|_| allow(&s, Action::ManageStock)) {
        return r;
    }
    let code = field(&form, "code").to_string();
    let svc = state.service.clone();
    let who = actor(&s);
    match blocking(move || svc.delete_sku_mapping(&who, &code)).await {
        Ok(()) => redirect("/stock-import/mapping"),
        Err(e) => service_error(&s, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_exists_in_every_language() {
        for (k, ru, uk, en) in TEXTS {
            assert!(!ru.is_empty() && !uk.is_empty() && !en.is_empty(), "{k}");
        }
    }
}
