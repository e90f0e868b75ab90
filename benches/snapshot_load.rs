//! Server latency while snapshots run under write load (issue 7: "the server's latency stays
//! within 2× of idle").
//!
//! Run: `cargo bench --bench snapshot_load` (env `SNAP_BENCH_TICKETS`, default 20,000 tickets
//! already in the database; `SNAP_BENCH_SECS`, default 15 s per phase; `SNAP_BENCH_USERS`,
//! default 50 writers; `SNAP_BENCH_BIN=path` serves with another build of helpdesk, for a
//! before/after comparison on the same machine). `cargo test --bench snapshot_load` runs it
//! on the debug build instead (quicker to build, slower to run).
//!
//! Method:
//! 1. A data folder is filled with `SNAP_BENCH_TICKETS` tickets through the store API (ticket,
//!    indexes, `Created` event, audit row; as in `benches/panel_load.rs`) and one admin account,
//!    so a snapshot has real work to do.
//! 2. The release binary (`CARGO_BIN_EXE_helpdesk`, bench profile) serves it, its bot
//!    long-polling the Telegram Bot API emulator (`tests/tg_emulator`) in this process. The
//!    bench waits for the ticket search index, then signs in to the panel.
//! 3. The probe: one keep-alive HTTP client asks `GET /tickets` (the panel's ticket list,
//!    page 1, with the session cookie) every 20 ms (at once when the previous answer took
//!    longer) and records each answer's latency.
//! 4. Phases, each `SNAP_BENCH_SECS` long, in the order idle, writers, writers+snapshots,
//!    writers, writers+snapshots, idle, so drift of the shared machine hits every kind alike;
//!    samples of the same kind are pooled:
//!    * **idle**: only the probe;
//!    * **writers**: 50 requesters file tickets and follow-ups through the bot in a closed
//!      loop (`tests/snapshot_support`: each acts as soon as the answer to its last action
//!      arrives, so they run as fast as Telegram's sending limits let the bot answer);
//!    * **writers + snapshots**: the same, while another thread runs `helpdesk snapshot`
//!      (CLI → control socket → the server writes and verifies the archive) back to back.
//!
//!    The writers register before the first writers phase (not measured); before the second
//!    idle phase the bench waits for the outbox to drain.
//! 5. Reported: p50/p95/p99/max per kind, the ratios of writers+snapshots to idle (the
//!    issue's baseline: the server without snapshots and without load) and to writers (the
//!    same load without snapshots), and the snapshots taken (count, seconds each, size).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/panel.rs"]
mod panel_support;
#[path = "../tests/snapshot_support/mod.rs"]
mod snapshot_support;
#[path = "../tests/tg_emulator/mod.rs"]
mod tg_emulator;

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::Sandbox;
use panel_support::{fill, http, login};
use snapshot_support::{Progress, TOKEN};
use tg_emulator::Emulator;

const FIRST_USER: i64 = 8_000_001;
const PROBE_EVERY: Duration = Duration::from_millis(20);

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn probe(client: &reqwest::blocking::Client, base: &str, cookie: &str, secs: u64) -> Vec<f64> {
    let url = format!("{base}/tickets");
    let end = Instant::now() + Duration::from_secs(secs);
    let mut out = Vec::new();
    let mut next = Instant::now();
    while Instant::now() < end {
        let t = Instant::now();
        let r = client
            .get(&url)
            .header("cookie", cookie)
            .send()
            .expect("GET /tickets");
        assert_eq!(r.status().as_u16(), 200, "GET /tickets");
        let body = r.bytes().expect("body");
        assert!(!body.is_empty());
        out.push(t.elapsed().as_secs_f64() * 1000.0);
        next += PROBE_EVERY;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
    out
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[derive(Clone, Copy)]
struct Stats {
    n: usize,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

fn stats(mut v: Vec<f64>) -> Stats {
    v.sort_by(f64::total_cmp);
    Stats {
        n: v.len(),
        p50: pct(&v, 0.50),
        p95: pct(&v, 0.95),
        p99: pct(&v, 0.99),
        max: v.last().copied().unwrap_or(f64::NAN),
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "{} × {cpu}; load average at start {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

#[derive(Default)]
struct Snaps {
    secs: Vec<f64>,
    bytes: u64,
    rows: u64,
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let tickets = env_or("SNAP_BENCH_TICKETS", 20_000);
    let secs = env_or("SNAP_BENCH_SECS", 15);
    let users = env_or("SNAP_BENCH_USERS", 50) as i64;
    let machine = machine();

    let emu = Emulator::start(TOKEN);
    let sb = Sandbox::new();
    sb.write("config.toml", snapshot_support::config(&emu, ""));
    std::fs::create_dir_all(sb.data_dir()).expect("data dir");
    let fill_time = fill(&sb.data_dir(), tickets);
    // `SNAP_BENCH_BIN=path` serves with another build of helpdesk (e.g. one from before a
    // change, for a before/after comparison on the same machine); the CLI calls stay this one.
    let (server, binary) = match std::env::var_os("SNAP_BENCH_BIN") {
        None => (
            sb.serve(&["--config", "config.toml"]),
            common::BIN.to_string(),
        ),
        Some(bin) => {
            let port = common::free_port();
            let mut cmd = std::process::Command::new(&bin);
            cmd.current_dir(sb.path()).args([
                "serve",
                "--config",
                "config.toml",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ]);
            let mut s = common::Server::spawn(cmd, port);
            s.wait_ready(Duration::from_secs(60))
                .unwrap_or_else(|e| panic!("{e}"));
            (s, bin.to_string_lossy().into_owned())
        }
    };
    let base = server.url("");
    let client = http();
    let ready = Instant::now();
    loop {
        let h = server.get("/healthz").json();
        let m = server.get("/metrics").body;
        if h["bot"] == "polling" && m.lines().any(|l| l == "helpdesk_ticket_index_ready 1") {
            break;
        }
        assert!(
            ready.elapsed() < Duration::from_secs(600),
            "the server never got ready: {h}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let cookie = login(&base);
    // Warm-up.
    probe(&client, &base, &cookie, 2);

    let stop_writers = AtomicBool::new(false);
    let stop_snaps = AtomicBool::new(false);
    let progress = Mutex::new(Progress::default());
    let snaps = Mutex::new(Snaps::default());
    let mut idle = Vec::new();
    let mut writers = Vec::new();
    let mut snapping = Vec::new();
    let mut load_secs = 0.0;
    let mut load_answers = 0u64;

    idle.extend(probe(&client, &base, &cookie, secs));
    let stalled = std::thread::scope(|scope| {
        let load = scope.spawn(|| {
            snapshot_support::run(
                &emu,
                FIRST_USER,
                users,
                &stop_writers,
                &progress,
                Duration::from_secs(60),
            )
        });
        let t = Instant::now();
        while progress.lock().unwrap().registered < users as u64 {
            assert!(
                t.elapsed() < Duration::from_secs(300),
                "registration stalled"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        println!(
            "setup: {tickets} tickets filled in {:.1} s; {users} writers registered through the bot in {:.1} s",
            fill_time.as_secs_f64(),
            t.elapsed().as_secs_f64()
        );
        let answers0 = progress.lock().unwrap().answers;
        let load_start = Instant::now();
        for _round in 0..2 {
            writers.extend(probe(&client, &base, &cookie, secs));
            stop_snaps.store(false, Ordering::Relaxed);
            let snapper = scope.spawn(|| {
                while !stop_snaps.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let run = sb.run(["--config", "config.toml", "snapshot"]);
                    run.success();
                    let took = t.elapsed().as_secs_f64();
                    let path = std::path::PathBuf::from(run.last_stdout_line());
                    let path = if path.is_absolute() {
                        path
                    } else {
                        sb.join(path)
                    };
                    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                    let rows: u64 = run
                        .stdout
                        .split(" tables, ")
                        .nth(1)
                        .and_then(|s| s.split(' ').next())
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    let _ = std::fs::remove_file(&path);
                    let mut s = snaps.lock().unwrap();
                    s.secs.push(took);
                    s.bytes = size;
                    s.rows = rows;
                }
            });
            snapping.extend(probe(&client, &base, &cookie, secs));
            stop_snaps.store(true, Ordering::Relaxed);
            snapper.join().expect("snapshot thread");
        }
        load_secs = load_start.elapsed().as_secs_f64();
        load_answers = progress.lock().unwrap().answers - answers0;
        stop_writers.store(true, Ordering::Relaxed);
        load.join().expect("load thread")
    });
    // Let the bot deliver what the writers left queued, then idle again.
    let drained = Instant::now();
    while server.get("/healthz").json()["outbox_pending"] != 0 {
        assert!(
            drained.elapsed() < Duration::from_secs(120),
            "outbox drains"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    idle.extend(probe(&client, &base, &cookie, secs));

    let (a, b, c) = (stats(idle), stats(writers), stats(snapping));
    let s = snaps.lock().unwrap();
    let p = progress.lock().unwrap();
    let mean = s.secs.iter().sum::<f64>() / s.secs.len().max(1) as f64;
    let mut out = String::new();
    out.push_str(&format!("machine: {machine}\nserver binary: {binary}\n"));
    out.push_str(&format!(
        "probe: GET /tickets (panel list, page 1, signed in) every {} ms, one keep-alive client; {secs} s per phase, \
         order idle, writers, writers+snapshots, writers, writers+snapshots, idle (same kinds pooled)\n",
        PROBE_EVERY.as_millis()
    ));
    out.push_str(&format!(
        "database: {tickets} filled tickets + {} filed by the writers during the run\n",
        p.tickets.len()
    ));
    out.push_str(&format!(
        "writers: {users} requesters through the bot, {load_answers} bot answers in {load_secs:.1} s ({:.1}/s), \
         {} tickets and {} follow-ups confirmed; stalled: {stalled:?}\n",
        load_answers as f64 / load_secs.max(0.001),
        p.tickets.len(),
        p.follow_ups.len()
    ));
    out.push_str(&format!(
        "snapshots: {} back to back (written + verified by the server), {mean:.2} s each on average \
         (min {:.2}, max {:.2}), {} rows, {:.1} MiB each\n\n",
        s.secs.len(),
        s.secs.iter().copied().fold(f64::INFINITY, f64::min),
        s.secs.iter().copied().fold(0.0, f64::max),
        s.rows,
        s.bytes as f64 / 1048576.0
    ));
    out.push_str("| phase | requests | p50 ms | p95 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|\n");
    for (name, st) in [
        ("idle", a),
        ("50 writers", b),
        ("50 writers + snapshots back to back", c),
    ] {
        out.push_str(&format!(
            "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.1} |\n",
            st.n, st.p50, st.p95, st.p99, st.max
        ));
    }
    out.push_str(&format!(
        "\nratios, writers+snapshots vs idle (the issue's baseline): p50 {:.2}×, p95 {:.2}×, p99 {:.2}×\n\
         ratios, writers+snapshots vs writers (same load, no snapshots): p50 {:.2}×, p95 {:.2}×, p99 {:.2}×\n\
         ratios, writers vs idle: p50 {:.2}×, p95 {:.2}×, p99 {:.2}×\n",
        c.p50 / a.p50,
        c.p95 / a.p95,
        c.p99 / a.p99,
        c.p50 / b.p50,
        c.p95 / b.p95,
        c.p99 / b.p99,
        b.p50 / a.p50,
        b.p95 / a.p95,
        b.p99 / a.p99,
    ));
    print!("{out}");
    let _ = std::io::stdout().flush();
    drop(server);
}
