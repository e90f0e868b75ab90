//! Outage: the data folder cannot be written when `serve` starts (a read-only mount, the wrong
//! owner after a restore). The server must not exit (no crash loop under systemd): it serves
//! `/healthz` (503, check `data_dir`), `/metrics` and a maintenance page, tells the
//! superadmins through Telegram (the emulator), and when the folder becomes writable it starts
//! the full application by itself and says so.
//!
//! As root (as CI runs) the folder is made read-only with a read-only bind mount (a mode does
//! not stop root); otherwise with mode 0555.

mod common;
mod tg_emulator;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Sandbox, Server, free_port};
use tg_emulator::Emulator;

const TOKEN: &str = "123456:AAHdF6IQAAAAAN0XohDhrOrcAAHdF6IQAAA";
const ADMIN: i64 = 5150;
const WAIT: Duration = Duration::from_secs(20);

/// A folder (or file) that refuses writes while the guard lives.
struct ReadOnly {
    path: PathBuf,
    mounted: bool,
}

impl ReadOnly {
    fn new(path: &Path) -> ReadOnly {
        use std::os::unix::fs::PermissionsExt;
        // SAFETY: geteuid has no preconditions.
        let mounted = unsafe { libc::geteuid() } == 0;
        if mounted {
            let ok = |c: &mut Command| c.status().is_ok_and(|s| s.success());
            assert!(ok(Command::new("mount").arg("--bind").arg(path).arg(path)));
            assert!(ok(Command::new("mount")
                .args(["-o", "remount,ro,bind"])
                .arg(path)));
        } else {
            let mode = if path.is_dir() { 0o555 } else { 0o444 };
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        ReadOnly {
            path: path.to_path_buf(),
            mounted,
        }
    }

    fn release(self) {}
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.mounted {
            let _ = Command::new("umount").arg(&self.path).status();
        } else {
            let mode = if self.path.is_dir() { 0o755 } else { 0o644 };
            let _ = std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(mode));
        }
    }
}

/// (status, body) of `GET path`, or `None` while nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let r = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(3))
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{port}{path}"))
        .send()
        .ok()?;
    let status = r.status().as_u16();
    Some((status, r.text().unwrap_or_default()))
}

/// Polls `GET path` until `pred` holds for its answer; panics with the server output if not.
#[track_caller]
fn wait_get(server: &Server, path: &str, pred: impl Fn(u16, &str) -> bool) -> (u16, String) {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some((s, b)) = get(server.port(), path)
            && pred(s, &b)
        {
            return (s, b);
        }
        assert!(
            Instant::now() < deadline,
            "GET {path} never gave the expected answer\nstdout:\n{}\nstderr:\n{}",
            server.stdout(),
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn setup(emu: &Emulator) -> Sandbox {
    emu.set_user(ADMIN, "Админ", Some("boss"));
    let sb = Sandbox::new();
    sb.write(
        "config.toml",
        format!(
            "[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\nsuperadmins = [{ADMIN}]\n\n[health]\ndata_dir_retry_seconds = 1\n",
            emu.api_url()
        ),
    );
    // A first, normal run creates the database and the superadmin's staff account.
    let mut s = sb.serve(&["--config", "config.toml"]);
    let deadline = Instant::now() + WAIT;
    while s.get("/healthz").json()["bot"] != "polling" {
        assert!(Instant::now() < deadline, "the bot did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(s.terminate().success());
    sb
}

fn serve(sb: &Sandbox) -> Server {
    let port = free_port();
    let cmd = sb.command([
        "serve",
        "--config",
        "config.toml",
        "--listen",
        &format!("127.0.0.1:{port}"),
    ]);
    Server::spawn(cmd, port)
}

#[test]
fn a_read_only_data_folder_serves_maintenance_and_recovers_by_itself() {
    let emu = Emulator::start(TOKEN);
    let sb = setup(&emu);
    let before = emu.sent_to(ADMIN).len();
    let ro = ReadOnly::new(&sb.data_dir());
    let mut server = serve(&sb);

    let (_, body) = wait_get(&server, "/healthz", |s, _| s == 503);
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "error", "{health}");
    assert_eq!(
        health["failing"],
        serde_json::json!(["data_dir"]),
        "{health}"
    );
    let detail = health["warnings"]["data_dir"].as_str().unwrap_or_default();
    assert!(
        detail.contains("not writable")
            && (detail.contains("Read-only") || detail.contains("ermission denied")),
        "{health}"
    );
    let (status, metrics) = get(server.port(), "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(metrics.contains("helpdesk_up 0"), "{metrics}");
    assert!(
        metrics.contains("helpdesk_data_dir_writable 0"),
        "{metrics}"
    );
    let (status, page) = get(server.port(), "/login").unwrap();
    assert_eq!(status, 503);
    assert!(
        page.contains("Папка данных недоступна для записи"),
        "{page}"
    );
    let shown = sb.data_dir().canonicalize().unwrap();
    assert!(page.contains(&shown.display().to_string()), "{page}");
    // The superadmin hears of it directly (the outbox cannot be written).
    assert!(
        emu.wait_for(
            |_| emu.sent_to(ADMIN)[before..].iter().any(|m| m
                .text
                .as_deref()
                .is_some_and(|t| t.contains("режиме обслуживания"))),
            WAIT
        ),
        "no maintenance alert: {:?}\n{}",
        emu.sent_to(ADMIN),
        server.stdout()
    );
    // Still there a few retries later: no exit, no crash loop, nothing written.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(server.is_running(), "{}", server.stderr());
    assert_eq!(get(server.port(), "/healthz").unwrap().0, 503);
    common::assert_no_panic(&server.stderr());

    // Writable again: the full server starts by itself on the same port.
    ro.release();
    server
        .wait_ready(WAIT)
        .unwrap_or_else(|e| panic!("did not recover: {e}"));
    let (status, page) = get(server.port(), "/login").unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("name=\"password\""), "{page}");
    assert!(
        emu.wait_for(
            |_| emu.sent_to(ADMIN)[before..].iter().any(|m| m
                .text
                .as_deref()
                .is_some_and(|t| t.contains("снова доступна"))),
            WAIT
        ),
        "no recovery alert: {:?}",
        emu.sent_to(ADMIN)
    );
    // File logging started once the folder could be written.
    let logs: Vec<_> = std::fs::read_dir(sb.data_dir().join("logs"))
        .unwrap()
        .filter_map(|e| e.ok())
        .collect();
    assert!(!logs.is_empty());
    assert!(server.terminate().success());
}

#[test]
fn a_read_only_database_file_gives_maintenance_and_sigterm_stops_it_cleanly() {
    let emu = Emulator::start(TOKEN);
    let sb = setup(&emu);
    let db = sb.data_dir().join("helpdesk.redb");
    let _ro = ReadOnly::new(&db);
    let mut server = serve(&sb);
    let (_, body) = wait_get(&server, "/healthz", |s, _| s == 503);
    assert!(
        body.contains("database file") && body.contains("cannot be opened for writing"),
        "{body}"
    );
    assert!(server.terminate().success(), "{}", server.stderr());
    common::assert_no_panic(&server.stderr());
}

/// While running, the archive folder turns read-only (a full or remounted backup disk): a
/// snapshot through the running server fails with one clear line and leaves nothing behind;
/// the server keeps serving; once writable the next snapshot succeeds.
#[test]
fn a_read_only_archive_folder_fails_a_snapshot_cleanly_and_the_next_one_works() {
    let sb = Sandbox::new();
    let mut server = sb.serve(&[]);
    let manual = sb.data_dir().join("archive").join("manual");
    std::fs::create_dir_all(&manual).unwrap();
    let ro = ReadOnly::new(&manual);
    let out = sb.run(["snapshot"]);
    let line = out.failure().one_line_error();
    assert!(
        line.contains("Read-only") || line.contains("ermission denied"),
        "{line}"
    );
    assert_eq!(
        std::fs::read_dir(&manual).unwrap().count(),
        0,
        "nothing partial"
    );
    assert_eq!(
        server.get("/healthz").status,
        200,
        "the server keeps serving"
    );
    ro.release();
    let out = sb.run(["snapshot"]);
    out.success();
    let archive = PathBuf::from(out.last_stdout_line());
    assert!(
        sb.join(&archive).is_file() || archive.is_file(),
        "{archive:?}"
    );
    sb.run(["verify", archive.to_str().unwrap()]).success();
    assert!(server.terminate().success());
}
