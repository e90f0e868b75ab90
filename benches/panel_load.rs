//! Load benchmark of the web panel and footprint of the server, at 100,000 tickets.
//!
//! Run: `cargo bench --bench panel_load` (needs `wrk`: `apt-get install wrk`).
//!
//! Method:
//! 1. A data folder is filled with `HELPDESK_BENCH_TICKETS` tickets (default 100,000) through
//!    the public store API, 5,000 per transaction (ticket + indexes + `Created` event + audit
//!    row, no outbox rows, so the server starts with nothing to deliver): statuses, priorities,
//!    categories and words drawn from a fixed-seed generator. One staff account is added
//!    through the service.
//! 2. The release binary (`CARGO_BIN_EXE_helpdesk`, built with the bench profile) is started
//!    on it with the bot off; the time from spawn to the first `200` of `/healthz` is
//!    "start-up to healthy". The same is done on an empty data folder for the idle figures.
//! 3. The benchmark waits until `/metrics` says the ticket search index has caught up, signs
//!    in through `/login`, checks every page below answers `200` with the expected content,
//!    then runs `wrk --latency -t2 -c16 -d<HELPDESK_BENCH_SECS, default 8>s` against each
//!    route in turn, for two rounds, interleaved (static, list, …, static, list, …) so that
//!    both see the same machine. The best round per route is reported, and the list page's
//!    requests/s as a share of the static route's in the same round.
//! 4. RSS is read from `/proc/<pid>/status` (`VmRSS` now, `VmHWM` peak).
//!
//! `HELPDESK_BENCH_PAUSE_SECS=N` keeps the filled server up N seconds before the load (its pid,
//! address and session cookie are printed), for profiling by hand (`perf record -e cpu-clock`).
//!
//! Targets (issue 4 and 7): list ≥ 25 % of the static route's requests/s with p99 < 50 ms;
//! idle RSS < 40 MiB; RSS at 100k < 150 MiB; start-up to healthy < 300 ms at 100k.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/panel.rs"]
mod panel_support;

use panel_support::{fill, http, login};

struct Server {
    child: Child,
    base: String,
    started_in: Duration,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn start(dir: &Path) -> Server {
    let port = free_port();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = \"{}\"\n\n[web]\nlisten = \"127.0.0.1:{port}\"\n",
            dir.join("data").display()
        ),
    )
    .expect("config");
    let spawned = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_helpdesk"))
        .args(["serve", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start helpdesk");
    let base = format!("http://127.0.0.1:{port}");
    let client = http();
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send()
            && r.status().as_u16() == 200
        {
            break;
        }
        assert!(
            spawned.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    Server {
        child,
        base,
        started_in: spawned.elapsed(),
    }
}

/// (VmRSS, VmHWM) in KiB.
fn rss(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn wait_index_ready(base: &str) -> Duration {
    let started = Instant::now();
    let client = http();
    loop {
        let text = client
            .get(format!("{base}/metrics"))
            .send()
            .and_then(|r| r.text())
            .unwrap_or_default();
        if text.lines().any(|l| l == "helpdesk_ticket_index_ready 1") {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "index never ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct WrkResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: bool,
}

fn parse_ms(s: &str) -> f64 {
    let (num, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map(|i| s.split_at(i))
        .unwrap_or((s, "ms"));
    let v: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => v / 1000.0,
        "ms" => v,
        "s" => v * 1000.0,
        "m" => v * 60_000.0,
        _ => f64::NAN,
    }
}

fn wrk(url: &str, cookie: &str, secs: u64) -> WrkResult {
    let out = Command::new("wrk")
        .args(["--latency", "-t2", "-c16", &format!("-d{secs}s"), "-H"])
        .arg(format!("Cookie: {cookie}"))
        .arg(url)
        .output()
        .expect("run wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut r = WrkResult::default();
    for line in text.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("Requests/sec:") {
            r.rps = v.trim().parse().unwrap_or(0.0);
        } else if let Some(v) = t.strip_prefix("50%") {
            r.p50_ms = parse_ms(v.trim());
        } else if let Some(v) = t.strip_prefix("99%") {
            r.p99_ms = parse_ms(v.trim());
        } else if t.starts_with("Non-2xx") || t.starts_with("Socket errors") {
            r.errors = true;
        }
    }
    r
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let n: u64 = std::env::var("HELPDESK_BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let secs: u64 = std::env::var("HELPDESK_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_helpdesk"));
    let size = std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0);

    // Idle, empty database.
    let empty = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(empty.path().join("data")).expect("data dir");
    let (idle_start, idle_rss) = {
        let s = start(empty.path());
        std::thread::sleep(Duration::from_secs(2));
        (s.started_in, rss(s.child.id()).0)
    };

    // 100k tickets.
    let big = tempfile::tempdir().expect("tempdir");
    let data = big.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let fill_time = fill(&data, n);
    let db_size = std::fs::metadata(data.join("helpdesk.redb"))
        .map(|m| m.len())
        .unwrap_or(0);
    // A first start builds the search index (as after an upgrade); the second start is the
    // everyday one and is the start-up figure.
    let first = start(big.path());
    let index_build = wait_index_ready(&first.base);
    let first_rss = rss(first.child.id());
    drop(first);
    let server = start(big.path());
    let index_resume = wait_index_ready(&server.base);
    let pid = server.child.id();
    let after_start_rss = rss(pid).0;
    let cookie = login(&server.base);

    let mid = n / 2;
    let routes: Vec<(&str, String, &str)> = vec![
        (
            "static /static/style.css",
            "/static/style.css".into(),
            "body",
        ),
        (
            "list /tickets (page 1, 50 rows)",
            "/tickets".into(),
            "table",
        ),
        (
            "list filtered status+priority",
            "/tickets?status=in_progress&priority=high".into(),
            "table",
        ),
        (
            "list full-text q=принтер",
            "/tickets?q=%D0%BF%D1%80%D0%B8%D0%BD%D1%82%D0%B5%D1%80".into(),
            "table",
        ),
        (
            "detail /tickets/{mid}",
            format!("/tickets/{mid}"),
            "timeline",
        ),
    ];
    let client = http();
    for (name, path, needle) in &routes {
        let r = client
            .get(format!("{}{path}", server.base))
            .header("cookie", &cookie)
            .send()
            .expect("warm-up request");
        assert_eq!(r.status().as_u16(), 200, "{name}");
        let body = r.text().unwrap_or_default();
        assert!(body.contains(needle), "{name}: no {needle:?} in the page");
    }
    if let Some(secs) = std::env::var("HELPDESK_BENCH_PAUSE_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        // For profiling by hand: the server with 100k tickets stays up this long.
        println!(
            "paused {secs} s: pid {pid}, {} , cookie {cookie}",
            server.base
        );
        let _ = std::io::stdout().flush();
        std::thread::sleep(Duration::from_secs(secs));
    }
    let mut results: Vec<Vec<WrkResult>> = vec![Vec::new(); routes.len()];
    for _round in 0..2 {
        for (i, (_, path, _)) in routes.iter().enumerate() {
            results[i].push(wrk(&format!("{}{path}", server.base), &cookie, secs));
        }
    }
    let (load_rss, load_hwm) = rss(pid);

    let mib = |kib: u64| kib as f64 / 1024.0;
    let mut out = String::new();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    out.push_str(&format!(
        "machine: {} × {cpu}; wrk -t2 -c16 -d{secs}s --latency, 2 interleaved rounds, best round shown\n\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    ));
    out.push_str("| route | req/s | p50 ms | p99 ms | req/s vs static (same round) |\n|---|---:|---:|---:|---:|\n");
    for (i, (name, _, _)) in routes.iter().enumerate() {
        let best = (0..results[i].len())
            .max_by(|a, b| results[i][*a].rps.total_cmp(&results[i][*b].rps))
            .unwrap_or(0);
        let r = results[i][best];
        let share = r.rps / results[0][best].rps.max(1.0) * 100.0;
        out.push_str(&format!(
            "| {name}{} | {:.0} | {:.2} | {:.2} | {share:.0} % |\n",
            if results[i].iter().any(|r| r.errors) {
                " (errors!)"
            } else {
                ""
            },
            r.rps,
            r.p50_ms,
            r.p99_ms
        ));
    }
    out.push_str(&format!(
        "\nbinary: {:.1} MiB ({})\n\
         tickets: {n} (fill {:.1} s, redb file {:.1} MiB)\n\
         idle, empty database: start-up to healthy {:.0} ms, RSS {:.1} MiB\n\
         {n} tickets: start-up to healthy {:.0} ms (index already built; search ready after {:.2} s more)\n\
         first start at {n} tickets: search index built in {:.1} s, RSS then {:.1} MiB (peak {:.1} MiB)\n\
         RSS at {n} tickets: after start {:.1} MiB, after the load {:.1} MiB (peak {:.1} MiB)\n",
        size as f64 / 1048576.0,
        binary.display(),
        fill_time.as_secs_f64(),
        db_size as f64 / 1048576.0,
        idle_start.as_secs_f64() * 1000.0,
        mib(idle_rss),
        server.started_in.as_secs_f64() * 1000.0,
        index_resume.as_secs_f64(),
        index_build.as_secs_f64(),
        mib(first_rss.0),
        mib(first_rss.1),
        mib(after_start_rss),
        mib(load_rss),
        mib(load_hwm),
    ));
    print!("{out}");
    let _ = std::io::stdout().flush();
}
