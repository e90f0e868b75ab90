//! Panel area `/archives`: snapshot archives by kind with size and date, download (streamed),
//! verification, and "snapshot now" (written and verified like `helpdesk snapshot`).
//!
//! A download names a kind and a file; the file name must be an archive name of that kind
//! (`archive::parse_file_name`) and a regular file directly in that kind's folder. Anything
//! else — other names, `..`, separators, symlinks — is 404, so nothing outside the archive
//! folders can be fetched.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use maud::{Markup, html};
use warp::Filter;
use warp::Reply;
use warp::filters::BoxedFilter;
use warp::http::{StatusCode, header};
use warp::reply::Response;

use super::common::{self, allow, csrf, either, html as page, redirect, service_error};
use super::panel::StaffSession;
use super::{AppState, blocking, views};
use crate::archive::{self, ArchiveInfo, Kind, Manifest};
use crate::cli::{self, Command};
use crate::domain::{Action, Language};

/// One panel snapshot at a time (two in the same second would race for one file name).
static SNAPSHOT: Mutex<()> = Mutex::new(());

/// Bytes read per chunk of a download.
const CHUNK: usize = 64 * 1024;

/// (key, ru, uk, en)
const TEXTS: &[(&str, &str, &str, &str)] = &[
    ("title", "Архивы", "Архіви", "Archives"),
    (
        "snapshot",
        "Сделать снимок сейчас",
        "Зробити знімок зараз",
        "Snapshot now",
    ),
    (
        "snapshot_hint",
        "Ручные снимки не удаляются автоматически.",
        "Ручні знімки не видаляються автоматично.",
        "Manual snapshots are never deleted automatically.",
    ),
    (
        "made",
        "Снимок записан и проверен:",
        "Знімок записано й перевірено:",
        "Snapshot written and verified:",
    ),
    ("kind.manual", "Ручные", "Ручні", "Manual"),
    ("kind.daily", "Ежедневные", "Щоденні", "Daily"),
    ("kind.monthly", "Ежемесячные", "Щомісячні", "Monthly"),
    ("kind.yearly", "Ежегодные", "Щорічні", "Yearly"),
    ("file", "Файл", "Файл", "File"),
    ("created", "Создан", "Створено", "Created"),
    ("size", "Размер", "Розмір", "Size"),
    ("download", "Скачать", "Завантажити", "Download"),
    ("verify", "Проверить", "Перевірити", "Verify"),
    ("none", "Нет архивов.", "Немає архівів.", "No archives."),
    ("ok", "Архив цел:", "Архів цілий:", "The archive is intact:"),
    ("tables", "таблиц", "таблиць", "tables"),
    ("rows", "строк", "рядків", "rows"),
    (
        "checksums",
        "все контрольные суммы совпадают",
        "усі контрольні суми збігаються",
        "every checksum matches",
    ),
    (
        "damaged",
        "Архив повреждён:",
        "Архів пошкоджено:",
        "The archive is damaged:",
    ),
    (
        "failed",
        "Снимок не удался:",
        "Знімок не вдався:",
        "The snapshot failed:",
    ),
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
    let list = warp::path!("archives")
        .and(warp::get())
        .and(s())
        .and(common::query())
        .then(list);
    let snapshot = warp::path!("archives" / "snapshot")
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(snapshot);
    let download = warp::path!("archives" / String / String)
        .and(warp::get())
        .and(s())
        .then(|kind, file, st, s| download(st, s, kind, file));
    let verify = warp::path!("archives" / String / String / "verify")
        .and(warp::post())
        .and(s())
        .and(common::form())
        .then(|kind, file, st, s, f| verify(st, s, kind, file, f));
    list.or(snapshot)
        .unify()
        .or(download)
        .unify()
        .or(verify)
        .unify()
        .boxed()
}

/// The data folder: the one holding the database file.
fn data_dir(state: &AppState) -> PathBuf {
    state
        .service
        .store()
        .path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The archive `file` of `kind` inside `data_dir`, when the names are valid and it is a regular
/// file right in that kind's folder; `None` for anything else.
pub fn archive_path(data_dir: &Path, kind: &str, file: &str) -> Option<PathBuf> {
    let kind = Kind::parse(kind)?;
    if file.contains(['/', '\\', '\0']) || file.contains("..") {
        return None;
    }
    let (k, _) = archive::parse_file_name(file)?;
    if k != kind {
        return None;
    }
    let path = archive::kind_dir(data_dir, kind).join(file);
    let meta = std::fs::symlink_metadata(&path).ok()?;
    meta.file_type().is_file().then_some(path)
}

/// Runs blocking file work off the async threads.
async fn on_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(format!("internal error: {e}")))
}

/// What to say above the list.
enum Notice {
    Made(String),
    Verified(String, Manifest),
    Damaged(String, String),
}

async fn list(state: AppState, s: StaffSession, q: Vec<(String, String)>) -> Response {
    either(
        async {
            allow(&s, Action::ManageArchives)?;
            // Only a real archive name is echoed back.
            let notice = q
                .iter()
                .find(|(k, _)| k == "made")
                .filter(|(_, v)| archive::parse_file_name(v).is_some())
                .map(|(_, v)| Notice::Made(v.clone()));
            render(&state, &s, notice, StatusCode::OK).await
        }
        .await,
    )
}

async fn render(
    state: &AppState,
    s: &StaffSession,
    notice: Option<Notice>,
    code: StatusCode,
) -> Result<Response, Response> {
    let dir = data_dir(state);
    let all = on_thread(move || Ok(archive::list(&dir)))
        .await
        .map_err(|e| common::error_page(s, StatusCode::INTERNAL_SERVER_ERROR, &e))?;
    Ok(page(view(s, &all, notice.as_ref(), state.tz), code))
}

fn staff_actor(s: &StaffSession) -> crate::domain::Actor {
    crate::domain::Actor::Staff {
        login: s.staff.login.clone(),
        role: s.staff.role,
    }
}

async fn snapshot(state: AppState, s: StaffSession, form: HashMap<String, String>) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            allow(&s, Action::ManageArchives)?;
            let svc = state.service.clone();
            let dir = data_dir(&state);
            let lines = on_thread(move || {
                let _one = SNAPSHOT.lock().unwrap_or_else(|e| e.into_inner());
                cli::execute(&svc, &dir, Command::Snapshot { kind: Kind::Manual })
            })
            .await
            .map_err(|e| {
                tracing::error!("panel snapshot failed: {e}");
                common::error_page(
                    &s,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("{} {e}", tr(s.lang(), "failed")),
                )
            })?;
            tracing::info!(by = %s.staff.login, "snapshot from the panel: {}", lines.join("; "));
            let name = lines
                .last()
                .and_then(|p| Path::new(p).file_name())
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let (svc, actor, target) = (
                state.service.clone(),
                staff_actor(&s),
                format!("manual/{name}"),
            );
            blocking(move || svc.record_archive_access(&actor, "archive.snapshot", &target))
                .await
                .map_err(|e| service_error(&s, &e))?;
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            ser.append_pair("made", &name);
            Ok(redirect(&format!("/archives?{}", ser.finish())))
        }
        .await,
    )
}

async fn verify(
    state: AppState,
    s: StaffSession,
    kind: String,
    file: String,
    form: HashMap<String, String>,
) -> Response {
    either(
        async {
            csrf(&s, &form)?;
            allow(&s, Action::ManageArchives)?;
            let not_found = || {
                common::error_page(
                    &s,
                    StatusCode::NOT_FOUND,
                    super::i18n::t(s.lang(), "err.not_found"),
                )
            };
            let path = archive_path(&data_dir(&state), &kind, &file).ok_or_else(not_found)?;
            let result =
                on_thread(move || Ok(archive::verify(&path).map_err(|e| e.to_string()))).await;
            let notice = match result {
                Ok(Ok(m)) => Notice::Verified(file, m),
                Ok(Err(e)) | Err(e) => Notice::Damaged(file, e),
            };
            render(&state, &s, Some(notice), StatusCode::OK).await
        }
        .await,
    )
}

async fn download(state: AppState, s: StaffSession, kind: String, file: String) -> Response {
    use tokio::io::AsyncReadExt;
    either(
        async {
            allow(&s, Action::ManageArchives)?;
            let not_found = || {
                common::error_page(
                    &s,
                    StatusCode::NOT_FOUND,
                    super::i18n::t(s.lang(), "err.not_found"),
                )
            };
            let dir = data_dir(&state);
            let (k, f) = (kind.clone(), file.clone());
            let path = on_thread(move || Ok(archive_path(&dir, &k, &f)))
                .await
                .ok()
                .flatten()
                .ok_or_else(not_found)?;
            let f = tokio::fs::File::open(&path)
                .await
                .map_err(|_| not_found())?;
            let len = f
                .metadata()
                .await
                .map(|m| m.len())
                .map_err(|_| not_found())?;
            tracing::info!(by = %s.staff.login, "archive downloaded: {kind}/{file}");
            let (svc, actor, target) = (
                state.service.clone(),
                staff_actor(&s),
                format!("{kind}/{file}"),
            );
            blocking(move || svc.record_archive_access(&actor, "archive.download", &target))
                .await
                .map_err(|e| service_error(&s, &e))?;
            let body = futures::stream::unfold(Some(f), |f| async move {
                let mut f = f?;
                let mut buf = vec![0u8; CHUNK];
                match f.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok::<Vec<u8>, std::io::Error>(buf), Some(f)))
                    }
                    Err(e) => Some((Err(e), None)),
                }
            });
            let mut r = warp::reply::stream(body).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                "application/zstd".parse().expect("static header"),
            );
            h.insert(header::CONTENT_LENGTH, len.into());
            h.insert(
                header::CACHE_CONTROL,
                "no-store".parse().expect("static header"),
            );
            // The name passed archive_path: ASCII letters, digits, '-', '.', so it needs no quoting.
            if let Ok(v) = format!("attachment; filename=\"{file}\"").parse() {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(r)
        }
        .await,
    )
}

fn fmt_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn file_name(a: &ArchiveInfo) -> String {
    a.path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

fn view(
    s: &StaffSession,
    all: &[ArchiveInfo],
    notice: Option<&Notice>,
    tz: chrono_tz::Tz,
) -> Markup {
    let lang = s.lang();
    let body = html! {
        h1 { (tr(lang, "title")) }
        @match notice {
            Some(Notice::Made(name)) => { p.notice role="status" { (tr(lang, "made")) " " code #made { (name) } } }
            Some(Notice::Verified(name, m)) => {
                p.notice role="status" #verified {
                    (tr(lang, "ok")) " " code { (name) } " — " (m.kind) ", " (m.created_at) ", helpdesk " (m.app_version) ", "
                    (m.tables.len()) " " (tr(lang, "tables")) ", " (m.tables.values().map(|t| t.rows).sum::<u64>()) " " (tr(lang, "rows")) "; "
                    (tr(lang, "checksums"))
                }
            }
            Some(Notice::Damaged(name, e)) => { p.error role="alert" #damaged { (tr(lang, "damaged")) " " code { (name) } " — " (e) } }
            None => {}
        }
        form.card method="post" action="/archives/snapshot" {
            input type="hidden" name="csrf" value=(s.csrf);
            button type="submit" { (tr(lang, "snapshot")) }
            " " span.muted { (tr(lang, "snapshot_hint")) }
        }
        @for kind in Kind::ALL {
            div.card {
                h2 { (tr(lang, &format!("kind.{}", kind.as_str()))) }
                @let mine: Vec<&ArchiveInfo> = all.iter().filter(|a| a.kind == kind).collect();
                @if mine.is_empty() {
                    p.muted { (tr(lang, "none")) }
                } @else {
                    table.archives {
                        thead { tr { th { (tr(lang, "file")) } th { (tr(lang, "created")) } th { (tr(lang, "size")) } th {} } }
                        tbody {
                            @for a in mine {
                                @let name = file_name(a);
                                tr {
                                    td { a href={ "/archives/" (kind.as_str()) "/" (name) } { (name) } }
                                    td { (a.created.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S")) }
                                    td { (fmt_size(a.size)) }
                                    td {
                                        form.inline method="post" action={ "/archives/" (kind.as_str()) "/" (name) "/verify" } {
                                            input type="hidden" name="csrf" value=(s.csrf);
                                            a href={ "/archives/" (kind.as_str()) "/" (name) } download { (tr(lang, "download")) }
                                            " "
                                            button type="submit" { (tr(lang, "verify")) }
                                        }
                                    }
                                }
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

    #[test]
    fn only_archive_files_of_the_kind_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        let name = "helpdesk-manual-20260301T101500Z.tar.zst";
        let manual = archive::kind_dir(data, Kind::Manual);
        std::fs::create_dir_all(&manual).unwrap();
        std::fs::write(manual.join(name), b"x").unwrap();
        std::fs::write(data.join("helpdesk.redb"), b"db").unwrap();
        assert_eq!(archive_path(data, "manual", name), Some(manual.join(name)));
        for (kind, file) in [
            ("daily", name),
            ("weekly", name),
            ("manual", "helpdesk-manual-20260301T101501Z.tar.zst"),
            ("manual", "../../helpdesk.redb"),
            ("manual", "..%2F..%2Fhelpdesk.redb"),
            ("manual", "helpdesk.redb"),
            ("manual", "helpdesk-manual-20260301T101500Z.tar.zst/../x"),
            ("..", name),
        ] {
            assert_eq!(archive_path(data, kind, file), None, "{kind}/{file}");
        }
        // A folder or a symlink with an archive's name is refused too.
        let other = "helpdesk-manual-20260301T101502Z.tar.zst";
        std::fs::create_dir(manual.join(other)).unwrap();
        assert_eq!(archive_path(data, "manual", other), None);
        let link = "helpdesk-manual-20260301T101503Z.tar.zst";
        std::os::unix::fs::symlink(data.join("helpdesk.redb"), manual.join(link)).unwrap();
        assert_eq!(archive_path(data, "manual", link), None);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(fmt_size(512), "512 B");
        assert_eq!(fmt_size(2048), "2.0 KiB");
        assert_eq!(fmt_size(5 * 1024 * 1024 + 512 * 1024), "5.5 MiB");
    }
}
