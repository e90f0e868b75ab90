//! Outage: the wall clock of the running server jumps back two hours, then forward again. The
//! server notices (wall clock against monotonic clock), reports the health check `clock` in
//! `/healthz` with a readable detail, and keeps serving.
//!
//! The clock of the real binary is moved with libfaketime (`apt-get install libfaketime`):
//! `LD_PRELOAD` with `FAKETIME_TIMESTAMP_FILE` re-read on every call (`FAKETIME_NO_CACHE=1`)
//! and the monotonic clock left alone (`FAKETIME_DONT_FAKE_MONOTONIC=1`). Without the library
//! the test says it was skipped.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Sandbox, Server, free_port};

const LIBS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
];

fn libfaketime() -> Option<PathBuf> {
    LIBS.iter().map(PathBuf::from).find(|p| p.is_file())
}

fn serve_faked(sb: &Sandbox, lib: &Path, stamp: &Path) -> Server {
    let port = free_port();
    let mut cmd = sb.command(["serve", "--listen", &format!("127.0.0.1:{port}")]);
    cmd.env("LD_PRELOAD", lib)
        .env("FAKETIME_TIMESTAMP_FILE", stamp)
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    let mut s = Server::spawn(cmd, port);
    s.wait_ready(common::READY_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    s
}

/// Waits until `/healthz` reports the `clock` check with a detail containing `needle`.
#[track_caller]
fn wait_clock_warning(server: &Server, needle: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let h = server.get("/healthz");
        let body = h.json();
        if body["warnings"]["clock"]
            .as_str()
            .is_some_and(|d| d.contains(needle))
        {
            assert_eq!(h.status, 200, "a clock warning does not stop the server");
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/healthz never reported {needle:?}: {body}\nstdout:\n{}",
            server.stdout()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_wall_clock_jump_is_reported_in_healthz_and_the_server_keeps_serving() {
    let Some(lib) = libfaketime() else {
        eprintln!("skipped: libfaketime is not installed (apt-get install libfaketime)");
        return;
    };
    let sb = Sandbox::new();
    let stamp = sb.write("faketime", "+0\n");
    let mut server = serve_faked(&sb, &lib, &stamp);
    assert!(
        server.get("/healthz").json()["warnings"]["clock"].is_null(),
        "no clock warning before a jump"
    );
    std::fs::write(&stamp, "-2h\n").unwrap();
    let body = wait_clock_warning(&server, "wall clock jumped back 2 h 0");
    assert_eq!(body["db"], "ok", "{body}");
    assert_eq!(server.get("/login").status, 200, "the panel serves");
    // Put right again: a second jump, the check stays failing (it clears after a steady
    // period, see jobs::clock_watch).
    std::fs::write(&stamp, "+0\n").unwrap();
    std::thread::sleep(Duration::from_secs(12));
    let body = server.get("/healthz").json();
    assert!(body["warnings"]["clock"].is_string(), "{body}");
    common::assert_no_panic(&server.stderr());
    assert!(server.terminate().success());
}
