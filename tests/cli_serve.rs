//! End-to-end tests of `helpdesk serve` and the commands around it (admin, snapshot, verify,
//! restore, check-config, faq import), driving the real binary as a user or a script would.
//! See `tests/common/mod.rs` for the fixtures.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Sandbox, archive_entries, archive_entry, assert_no_panic, have_tool, tree};

const PASSWORD: &str = "correct horse battery\n";

/// Splits a command line on spaces (for arguments without spaces).
fn words(s: &str) -> Vec<&str> {
    s.split(' ').collect()
}

/// Checks `name` is `helpdesk-<kind>-YYYYMMDDTHHMMSSZ.tar.zst` with a plausible date.
#[track_caller]
fn assert_archive_name(name: &str, kind: &str) {
    let stamp = name
        .strip_prefix(&format!("helpdesk-{kind}-"))
        .and_then(|r| r.strip_suffix(".tar.zst"))
        .unwrap_or_else(|| panic!("archive name {name:?} is not helpdesk-{kind}-<stamp>.tar.zst"));
    let b = stamp.as_bytes();
    assert_eq!(b.len(), 16, "stamp {stamp:?} is not YYYYMMDDTHHMMSSZ");
    assert!(
        b[..8].iter().all(u8::is_ascii_digit),
        "date part of {stamp:?}"
    );
    assert_eq!(b[8], b'T', "separator in {stamp:?}");
    assert!(
        b[9..15].iter().all(u8::is_ascii_digit),
        "time part of {stamp:?}"
    );
    assert_eq!(b[15], b'Z', "UTC marker in {stamp:?}");
    let num = |r: std::ops::Range<usize>| stamp[r].parse::<u32>().unwrap();
    assert!((2020..=2200).contains(&num(0..4)), "year in {stamp:?}");
    assert!((1..=12).contains(&num(4..6)), "month in {stamp:?}");
    assert!((1..=31).contains(&num(6..8)), "day in {stamp:?}");
    assert!(
        num(9..11) < 24 && num(11..13) < 60 && num(13..15) < 61,
        "time in {stamp:?}"
    );
}

/// Takes a snapshot (through a server or directly) and returns the archive's absolute path.
#[track_caller]
fn snapshot(sb: &Sandbox, extra: &[&str]) -> PathBuf {
    let mut args = vec!["snapshot"];
    args.extend_from_slice(extra);
    let run = sb.run(&args);
    run.success();
    let last = run.last_stdout_line();
    let p = Path::new(&last);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        sb.join(p)
    };
    assert!(
        abs.is_file(),
        "the printed snapshot path {last:?} is not a file"
    );
    abs
}

/// A sandbox with some data (a staff account and FAQ entries) and a snapshot of it.
fn populated_archive() -> (Sandbox, PathBuf) {
    let sb = Sandbox::new();
    sb.run_stdin(
        words("admin add --login ivan --role admin --password-stdin"),
        PASSWORD,
    )
    .success();
    let csv = sb.write(
        "faq.csv",
        "question,answer,alternatives\nHow do I reset my password?,Ask the office admin.,password|reset\n\
         Where is the printer?,Second floor,printer|print\nWi-Fi password?,See the board,wifi\n",
    );
    sb.run(["faq".as_ref(), "import".as_ref(), csv.as_os_str()])
        .success();
    let archive = snapshot(&sb, &[]);
    (sb, archive)
}

/// Scenario 1: `serve` with no config in an empty folder runs on defaults, answers /healthz
/// and /metrics, prints a setup link, and stops cleanly on SIGTERM leaving a log file.
#[test]
fn serve_defaults_health_metrics_setup_link_and_clean_stop() {
    let sb = Sandbox::new();
    let mut server = sb.serve(&[]);

    let h = server.get("/healthz");
    assert_eq!(h.status, 200, "{h:?}");
    assert!(h.content_type.starts_with("application/json"), "{h:?}");
    let j = h.json();
    assert_eq!(j["status"], "ok", "{j}");
    assert_eq!(j["db"], "ok", "{j}");
    assert_eq!(j["bot"], "disabled", "{j}");
    assert!(
        j["outbox_pending"].is_u64(),
        "outbox_pending is not a number: {j}"
    );
    assert_eq!(j["outbox_pending"], 0, "{j}");
    assert_eq!(j["version"], env!("CARGO_PKG_VERSION"), "{j}");

    let m = server.get("/metrics");
    assert_eq!(m.status, 200, "{m:?}");
    assert!(m.content_type.starts_with("text/plain"), "{m:?}");
    assert!(m.body.lines().any(|l| l == "helpdesk_up 1"), "{}", m.body);
    assert!(
        m.body.contains("helpdesk_tickets{status=\"new\"}"),
        "{}",
        m.body
    );

    // The one-time setup link: /setup/<64 hex>, on a line of its own.
    let out = server.wait_stdout("/setup/", common::READY_TIMEOUT);
    let token = out
        .split("/setup/")
        .nth(1)
        .map(|rest| rest.split_whitespace().next().unwrap_or(""))
        .unwrap_or("");
    assert_eq!(token.len(), 64, "setup token {token:?} in:\n{out}");
    assert!(
        token.bytes().all(|b| b.is_ascii_hexdigit()),
        "setup token {token:?} is not hex"
    );
    assert!(
        out.contains(&format!("http://127.0.0.1:{}/setup/{token}", server.port())),
        "{out}"
    );
    // The bot being off is said at start-up.
    assert!(
        out.lines().any(|l| {
            let l = l.to_lowercase();
            l.contains("bot") && (l.contains(" off") || l.contains("disabled"))
        }),
        "start-up output does not say the bot is off:\n{out}"
    );

    assert!(
        sb.join("data/helpdesk.redb").is_file(),
        "./data/helpdesk.redb was not created"
    );

    let status = server.terminate();
    assert_eq!(
        status.code(),
        Some(0),
        "exit after SIGTERM: {status}\nstderr:\n{}",
        server.stderr()
    );
    assert_no_panic(&server.stderr());
    assert!(
        !sb.join("data/control.sock").exists(),
        "control.sock left behind after a clean stop"
    );

    let logs: Vec<String> = std::fs::read_dir(sb.join("data/logs"))
        .expect("data/logs exists")
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    let log = logs
        .iter()
        .find(|n| n.starts_with("helpdesk.log."))
        .unwrap_or_else(|| panic!("no helpdesk.log.* in {logs:?}"));
    let text = std::fs::read_to_string(sb.join("data/logs").join(log)).unwrap();
    assert!(
        text.contains("helpdesk starting"),
        "log file lacks the start line:\n{text}"
    );
    assert!(
        text.contains("SIGTERM"),
        "log file lacks the stop reason:\n{text}"
    );
}

/// Scenario 2: a second `serve` on the same data folder refuses with one clear line while the
/// first keeps serving.
#[test]
fn second_serve_on_same_data_folder_refuses() {
    let sb = Sandbox::new();
    let mut first = sb.serve(&[]);

    let port = common::free_port();
    let listen = format!("127.0.0.1:{port}");
    let second = sb.run(["serve", "--listen", &listen]);
    let line = second.one_line_error();
    let lower = line.to_lowercase();
    assert!(
        lower.contains("another helpdesk") || lower.contains("locked"),
        "the refusal does not say another helpdesk holds the data: {line}"
    );

    let h = first.get("/healthz");
    assert_eq!(h.status, 200, "{h:?}");
    assert_eq!(h.json()["db"], "ok");
    assert!(first.is_running());
    // SIGINT (Ctrl-C) stops it as cleanly as SIGTERM.
    first.signal(libc::SIGINT);
    let status = first.wait_exit(common::STOP_TIMEOUT);
    assert_eq!(
        status.code(),
        Some(0),
        "exit after SIGINT: {status}\nstderr:\n{}",
        first.stderr()
    );
}

/// Scenario 3: `admin add` reaches a running server through data/control.sock; duplicates and
/// bad roles are refused; without a server it works directly on the store.
#[test]
fn admin_add_through_control_socket_and_directly() {
    let sb = Sandbox::new();
    // Listen address from the environment this time (the other tests use --listen).
    let mut server = sb.serve_via_env(&[]);
    let sock = sb.join("data/control.sock");
    let meta =
        std::fs::symlink_metadata(&sock).expect("the running server has no data/control.sock");
    {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        assert!(
            meta.file_type().is_socket(),
            "data/control.sock is not a socket"
        );
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "control.sock must be private to its owner"
        );
    }

    let add = words("admin add --login ivan --role operator --password-stdin");
    let ok = sb.run_stdin(&add, PASSWORD);
    ok.success();
    assert!(
        ok.stdout.contains("ivan") && ok.stdout.contains("operator"),
        "{ok:?}"
    );

    let dup = sb.run_stdin(&add, PASSWORD);
    let line = dup.one_line_error();
    assert!(
        line.contains("ivan") && line.contains("already exists"),
        "unclear duplicate message: {line}"
    );

    let bogus = sb.run_stdin(
        words("admin add --login olga --role bogus --password-stdin"),
        PASSWORD,
    );
    assert_eq!(
        bogus.status.code(),
        Some(2),
        "clap usage errors exit 2: {bogus:?}"
    );
    assert!(
        bogus.stderr.contains("bogus") && bogus.stderr.contains("--role"),
        "{bogus:?}"
    );
    assert_no_panic(&bogus.stderr);

    // No password on stdin: refused with a hint, not a hang.
    let nopw = sb.run(words(
        "admin add --login olga --role operator --password-stdin",
    ));
    assert!(nopw.one_line_error().contains("password"), "{nopw:?}");

    // Other data commands go through the socket too.
    let csv = sb.write(
        "faq.csv",
        "question,answer\nWhere is the printer?,Second floor\n",
    );
    let faq = sb.run(["faq".as_ref(), "import".as_ref(), csv.as_os_str()]);
    faq.success();
    assert!(faq.stdout.contains("1 added"), "{faq:?}");

    // The server handled them on its control channel (and is still healthy).
    assert_eq!(server.get("/healthz").status, 200);
    assert_eq!(server.terminate().code(), Some(0));
    let log = std::fs::read_dir(sb.join("data/logs"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect::<String>();
    assert!(
        log.contains("control request"),
        "the server log shows no control request:\n{log}"
    );

    // Directly, with no server: works, and what was added through the server persisted.
    let direct = sb.run_stdin(
        words("admin add --login petr --role storekeeper --password-stdin"),
        PASSWORD,
    );
    direct.success();
    assert!(direct.stdout.contains("petr"), "{direct:?}");
    let again = sb.run_stdin(&add, PASSWORD);
    assert!(
        again.one_line_error().contains("already exists"),
        "{again:?}"
    );
    let faq = sb.run(["faq".as_ref(), "import".as_ref(), csv.as_os_str()]);
    assert!(faq.success().stdout.contains("1 unchanged"), "{faq:?}");

    // A staff account now exists, so a new start prints no setup link.
    let mut server = sb.serve(&[]);
    let out = server.wait_stdout("listening on", common::READY_TIMEOUT);
    assert!(
        !out.contains("/setup/"),
        "setup link printed although staff accounts exist:\n{out}"
    );
    assert_eq!(server.terminate().code(), Some(0));
}

/// After a crash (SIGKILL) the stale control.sock does not get in the way: CLI commands work
/// directly, and a new `serve` starts, replaces the socket and serves the same data.
#[test]
fn recovers_after_a_crash() {
    let sb = Sandbox::new();
    let mut server = sb.serve(&[]);
    server.signal(libc::SIGKILL);
    let status = server.wait_exit(common::STOP_TIMEOUT);
    assert_eq!(status.code(), None, "expected death by signal: {status}");
    assert!(
        sb.join("data/control.sock").exists(),
        "a killed server cannot have removed its socket"
    );

    let add = sb.run_stdin(
        words("admin add --login anna --role admin --password-stdin"),
        PASSWORD,
    );
    add.success();
    let archive = snapshot(&sb, &[]);
    sb.run(["verify".as_ref(), archive.as_os_str()]).success();

    let mut server = sb.serve(&[]);
    let out = server.wait_stdout("listening on", common::READY_TIMEOUT);
    assert!(
        !out.contains("/setup/"),
        "the account added after the crash is missing:\n{out}"
    );
    assert_eq!(server.get("/healthz").json()["db"], "ok");
    // The new server answers on the socket it re-created.
    let dup = sb.run_stdin(
        words("admin add --login anna --role admin --password-stdin"),
        PASSWORD,
    );
    assert!(dup.one_line_error().contains("already exists"), "{dup:?}");
    assert_eq!(server.terminate().code(), Some(0));
}

/// Scenario 4: `snapshot` while serving prints the archive path last; the archive is named by
/// the contract, verifies, lists with stock tools, and carries the documented manifest.
#[test]
fn snapshot_while_serving_verify_and_manifest() {
    let sb = Sandbox::new();
    let mut server = sb.serve(&[]);
    let archive = snapshot(&sb, &[]);

    let dir = archive.parent().unwrap();
    assert_eq!(
        dir.canonicalize().unwrap(),
        sb.join("data/archive/manual").canonicalize().unwrap(),
        "archive not in data/archive/manual: {}",
        archive.display()
    );
    assert_archive_name(archive.file_name().unwrap().to_str().unwrap(), "manual");

    let v = sb.run(["verify".as_ref(), archive.as_os_str()]);
    v.success();
    assert!(
        v.stderr.trim().is_empty(),
        "verify printed on stderr: {}",
        v.stderr
    );

    // With the crates: manifest first, tickets table present.
    let entries = archive_entries(&archive);
    assert_eq!(
        entries.first().map(String::as_str),
        Some("manifest.json"),
        "{entries:?}"
    );
    assert!(
        entries.iter().any(|e| e == "tables/tickets.jsonl"),
        "{entries:?}"
    );

    // With stock tools, as the contract promises. (.ci/run installs zstd; skipped only where
    // the zstd command is missing.)
    if have_tool("zstd") && have_tool("tar") {
        let out = Command::new("sh")
            .arg("-c")
            .arg("zstd -dc \"$1\" | tar -t")
            .arg("sh")
            .arg(&archive)
            .output()
            .expect("run zstd | tar");
        assert!(
            out.status.success(),
            "zstd -dc | tar -t failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listing = String::from_utf8_lossy(&out.stdout);
        let names: Vec<&str> = listing.lines().collect();
        assert_eq!(names.first().copied(), Some("manifest.json"), "{listing}");
        assert!(names.contains(&"tables/tickets.jsonl"), "{listing}");
    } else {
        eprintln!("note: zstd or tar not installed; skipping the `zstd -dc | tar -t` check");
    }

    let m: serde_json::Value =
        serde_json::from_slice(&archive_entry(&archive, "manifest.json")).expect("manifest JSON");
    for key in [
        "format_version",
        "app_version",
        "created_at",
        "kind",
        "tables",
    ] {
        assert!(m.get(key).is_some(), "manifest lacks {key}: {m}");
    }
    assert!(m["format_version"].is_u64(), "{m}");
    assert_eq!(m["app_version"], env!("CARGO_PKG_VERSION"), "{m}");
    assert_eq!(m["kind"], "manual", "{m}");
    assert!(
        m["created_at"]
            .as_str()
            .is_some_and(|s| s.starts_with("20") && s.ends_with('Z')),
        "{m}"
    );
    let t = &m["tables"]["tickets"];
    assert!(t["rows"].is_u64(), "{m}");
    let sha = t["sha256"].as_str().unwrap_or_default();
    assert!(
        sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
        "tickets sha256 {sha:?}"
    );

    assert_eq!(server.get("/healthz").status, 200);
    assert_eq!(server.terminate().code(), Some(0));
}

/// Scenario 5: restore into an empty folder gives a working data folder; restore into a
/// non-empty one is refused and touches nothing.
#[test]
fn restore_into_empty_folder_serves_and_refuses_non_empty() {
    let (sb, archive) = populated_archive();

    let target = sb.join("restored");
    std::fs::create_dir(&target).unwrap();
    let r = sb.run([
        "restore".as_ref(),
        archive.as_os_str(),
        "--data-dir".as_ref(),
        target.as_os_str(),
    ]);
    r.success();
    assert!(
        target.join("helpdesk.redb").is_file(),
        "no helpdesk.redb after restore: {r:?}"
    );

    let mut server = sb.serve(&["--data-dir", target.to_str().unwrap()]);
    let h = server.get("/healthz");
    assert_eq!(h.status, 200, "{h:?}");
    assert_eq!(h.json()["db"], "ok");
    // The restored staff account is there: no first-run setup link.
    let out = server.wait_stdout("listening on", common::READY_TIMEOUT);
    assert!(
        !out.contains("/setup/"),
        "restored data lost its staff account:\n{out}"
    );
    assert_eq!(server.terminate().code(), Some(0));
    // And the restored data holds the account and the FAQ.
    let cfg = sb.write(
        "restored.toml",
        format!("[storage]\ndata_dir = {:?}\n", target.to_str().unwrap()),
    );
    let dup = sb.run_stdin(
        [
            "admin".as_ref(),
            "add".as_ref(),
            "--login".as_ref(),
            "ivan".as_ref(),
            "--role".as_ref(),
            "admin".as_ref(),
            "--password-stdin".as_ref(),
            "--config".as_ref(),
            cfg.as_os_str(),
        ],
        PASSWORD,
    );
    assert!(
        dup.one_line_error().contains("already exists"),
        "restored data lost the staff account: {dup:?}"
    );
    let again = sb.run([
        "--config".as_ref(),
        cfg.as_os_str(),
        "faq".as_ref(),
        "import".as_ref(),
        sb.join("faq.csv").as_os_str(),
    ]);
    again.success();
    assert!(
        again.stdout.contains("3 unchanged"),
        "restored FAQ differs: {again:?}"
    );

    // A missing folder is fine too (created by the restore).
    let fresh = sb.join("nested/fresh");
    sb.run([
        "restore".as_ref(),
        archive.as_os_str(),
        "--data-dir".as_ref(),
        fresh.as_os_str(),
    ])
    .success();
    assert!(
        fresh.join("helpdesk.redb").is_file(),
        "restore into a missing folder wrote no database"
    );

    // A non-empty folder is refused and left exactly as it was.
    let busy = sb.join("busy");
    std::fs::create_dir_all(busy.join("sub")).unwrap();
    std::fs::write(busy.join("notes.txt"), b"keep me\n").unwrap();
    std::fs::write(busy.join("sub/blob.bin"), [0u8, 1, 2, 3, 255]).unwrap();
    let before = tree(&busy);
    let refused = sb.run([
        "restore".as_ref(),
        archive.as_os_str(),
        "--data-dir".as_ref(),
        busy.as_os_str(),
    ]);
    let line = refused.one_line_error();
    assert!(line.contains("not empty"), "unclear refusal: {line}");
    assert_eq!(
        tree(&busy),
        before,
        "restore changed a non-empty folder it refused"
    );
}

/// Scenario 6: damaged archives and non-archives fail verification with one line, no panic.
#[test]
fn verify_rejects_damaged_archives() {
    let (sb, archive) = populated_archive();
    let bytes = std::fs::read(&archive).unwrap();
    assert!(
        bytes.len() > 100,
        "archive unexpectedly small: {} bytes",
        bytes.len()
    );
    sb.run(["verify".as_ref(), archive.as_os_str()]).success();

    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xFF;
    let flipped_path = sb.write("flipped.tar.zst", &flipped);

    let truncated_path = sb.write("truncated.tar.zst", &bytes[..bytes.len() / 2]);
    let text_path = sb.write(
        "notes.tar.zst",
        "this is just a text file\nnot an archive\n",
    );
    let empty_path = sb.write("empty.tar.zst", "");
    let missing_path = sb.join("does-not-exist.tar.zst");

    for p in [
        &flipped_path,
        &truncated_path,
        &text_path,
        &empty_path,
        &missing_path,
    ] {
        let r = sb.run(["verify".as_ref(), p.as_os_str()]);
        let line = r.one_line_error();
        assert!(
            line.contains(p.file_name().unwrap().to_str().unwrap()),
            "message does not name the file: {line}"
        );
    }
    // The original is still fine (verify never writes).
    sb.run(["verify".as_ref(), archive.as_os_str()]).success();
    assert_eq!(std::fs::read(&archive).unwrap(), bytes);
}

/// Scenario 7: `check-config` names the line and key of an unknown key; `faq import` reports
/// added/unchanged counts and names the line of a bad row.
#[test]
fn check_config_and_faq_import() {
    let sb = Sandbox::new();
    let bad = sb.write(
        "bad.toml",
        "[storage]\ndata_dir = \"./data\"\ncolour = \"blue\"\n[web]\nlisten = \"127.0.0.1:8080\"\n",
    );
    let r = sb.run([
        "check-config".as_ref(),
        "--config".as_ref(),
        bad.as_os_str(),
    ]);
    let line = r.one_line_error();
    assert!(line.contains("line 3"), "the line is not named: {line}");
    assert!(line.contains("colour"), "the key is not named: {line}");

    let good = sb.write(
        "good.toml",
        "[storage]\ndata_dir = \"./data\"\n\n[web]\nlisten = \"127.0.0.1:8080\"\n\n[ui]\nlanguage = \"en\"\n",
    );
    // --config is global: before or after the subcommand.
    let ok = sb.run([
        "check-config".as_ref(),
        "--config".as_ref(),
        good.as_os_str(),
    ]);
    ok.success();
    assert!(
        ok.stderr.trim().is_empty(),
        "warnings on a good config: {}",
        ok.stderr
    );
    sb.run([
        "--config".as_ref(),
        good.as_os_str(),
        "check-config".as_ref(),
    ])
    .success();
    // A bad value is named with its line too.
    let badval = sb.write(
        "badval.toml",
        "[ui]\nlanguage = \"en\"\ntimezone = \"Mars/Olympus\"\n",
    );
    let line = sb
        .run([
            "check-config".as_ref(),
            "--config".as_ref(),
            badval.as_os_str(),
        ])
        .one_line_error();
    assert!(
        line.contains("line 3") && line.contains("timezone"),
        "{line}"
    );

    let csv = sb.write(
        "faq.csv",
        "question,answer,alternatives\nHow do I reset my password?,Ask the office admin.,password|reset|forgot\n\
         Where is the printer?,Second floor,printer|print\n\"Wi-Fi, guest?\",\"See the board, by the door\",wifi|guest\n",
    );
    let first = sb.run(["faq".as_ref(), "import".as_ref(), csv.as_os_str()]);
    first.success();
    assert!(first.stdout.contains("3 added"), "{first:?}");
    let second = sb.run(["faq".as_ref(), "import".as_ref(), csv.as_os_str()]);
    second.success();
    assert!(second.stdout.contains("3 unchanged"), "{second:?}");
    assert!(second.stdout.contains("0 added"), "{second:?}");

    let missing = sb.write(
        "faq-bad.csv",
        "question,answer,alternatives\nQ one,A one,x\nQ two,,y|z\n",
    );
    let line = sb
        .run(["faq".as_ref(), "import".as_ref(), missing.as_os_str()])
        .one_line_error();
    assert!(
        line.contains("line 3"),
        "the bad row's line is not named: {line}"
    );
    assert!(line.contains("answer"), "the problem is not named: {line}");
}

/// Scenario 8: a data_dir that cannot be created (under a regular file) stops `serve` with one
/// clear line.
#[test]
fn serve_with_uncreatable_data_dir_fails_clearly() {
    let sb = Sandbox::new();
    sb.write("blocker", "a regular file, not a folder\n");
    let data_dir = sb.join("blocker/data");
    let port = common::free_port();
    let cfg = sb.write(
        "config.toml",
        format!(
            "[storage]\ndata_dir = {:?}\n\n[web]\nlisten = \"127.0.0.1:{port}\"\n",
            data_dir.to_str().unwrap()
        ),
    );
    let r = sb.run(["serve".as_ref(), "--config".as_ref(), cfg.as_os_str()]);
    let line = r.one_line_error();
    assert!(
        line.contains(data_dir.to_str().unwrap()),
        "the folder is not named: {line}"
    );
    assert!(line.contains("data folder"), "unclear message: {line}");
    assert!(!sb.join("blocker").is_dir());
}

/// PRODUCT BUG (fails until fixed): the one-line error drops the operating system's reason.
/// `ensure_writable` (src/server.rs) wraps the io::Error with `with_context`, and `one_line`
/// (src/main.rs) prints `e.to_string()`, which for anyhow shows only the outermost context;
/// the user reads "cannot create the data folder X" without "Not a directory" (or
/// "Permission denied", "Read-only file system"). Printing `format!("{e:#}")` keeps the chain.
#[test]
fn uncreatable_data_dir_error_names_the_os_reason() {
    let sb = Sandbox::new();
    sb.write("blocker", "a regular file, not a folder\n");
    let line = sb
        .run(["snapshot", "--data-dir", "blocker/data"])
        .one_line_error();
    assert!(
        line.contains("blocker/data"),
        "the folder is not named: {line}"
    );
    assert!(
        line.contains("Not a directory"),
        "PRODUCT BUG: the reason is missing: {line}"
    );
}

/// PRODUCT BUG (fails until fixed): `serve` writes ANSI colour escapes into its stdout log
/// even when stdout is a pipe or a file (systemd/journald, `> serve.log`), because
/// `logging::init_server` (src/logging.rs) builds the stdout layer with tracing-subscriber's
/// default `with_ansi(true)`. It should colour only a terminal:
/// `.with_ansi(std::io::stdout().is_terminal())`. (The other tests set NO_COLOR=1, which the
/// subscriber honours, so they are unaffected.)
#[test]
fn serve_log_on_a_pipe_has_no_colour_codes() {
    let sb = Sandbox::new();
    let port = common::free_port();
    let mut cmd = sb.command(["serve", "--listen", &format!("127.0.0.1:{port}")]);
    cmd.env_remove("NO_COLOR");
    let mut server = common::Server::spawn(cmd, port);
    server
        .wait_ready(common::READY_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    server.terminate();
    let out = server.stdout();
    assert!(out.contains("helpdesk starting"), "{out}");
    assert!(
        !out.contains('\u{1b}'),
        "PRODUCT BUG: ANSI escape codes in piped stdout:\n{out:?}"
    );
}

#[test]
fn export_tickets_writes_an_xlsx_and_checks_dates() {
    let sb = Sandbox::new();
    let run = sb.run([
        "export",
        "tickets",
        "--out",
        "t.xlsx",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
    ]);
    run.success();
    assert_eq!(
        run.last_stdout_line(),
        sb.join("t.xlsx").display().to_string()
    );
    let bytes = std::fs::read(sb.join("t.xlsx")).unwrap();
    assert_eq!(&bytes[..2], b"PK", "an XLSX is a zip");
    let bad = sb.run([
        "export",
        "tickets",
        "--out",
        "t.xlsx",
        "--from",
        "2026-02-01",
        "--to",
        "2026-01-01",
    ]);
    assert!(bad.failure().one_line_error().contains("after"));
    sb.run([
        "export",
        "tickets",
        "--out",
        "t.xlsx",
        "--from",
        "2026-13-01",
    ])
    .failure();
}
