//! The 1C OData pull end to end: a small HTTP server on loopback plays 1C's standard OData
//! interface (basic authentication, `AccumulationRegister_ТоварыНаСкладах/Balance` in two pages
//! linked by `odata.nextLink`, `Catalog_Номенклатура`, 1C's error bodies), and the real binary
//! pulls from it: `helpdesk stock pull-1c` directly and through a running server's control
//! socket, and the scheduled pull inside `serve`. The state is read back from snapshot archives.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Sandbox, Server, archive_entry, run_command};

const USER: &str = "Робот";
const PASSWORD: &str = "1c-Secret-Pa55";
const STAFF_PASSWORD: &str = "password1";
const G_HP85: &str = "6f8a1c2e-11d2-11ee-80c5-005056b3f2a1";
const G_PAPER: &str = "6f8a1c2f-11d2-11ee-80c5-005056b3f2a1";
const G_HP12: &str = "6f8a1c30-11d2-11ee-80c5-005056b3f2a1";
const G_OTHER: &str = "6f8a1c31-11d2-11ee-80c5-005056b3f2a1";
const G_CHAIR: &str = "6f8a1c32-11d2-11ee-80c5-005056b3f2a1";
const W1: &str = "0b5c4e10-11d2-11ee-80c5-005056b3f2a1";
const W2: &str = "0b5c4e11-11d2-11ee-80c5-005056b3f2a1";

/// A balance record as 1C writes it (УТ 11: warehouse, good, characteristic, resources).
fn rec(good: &str, wh: &str, qty: &str) -> String {
    format!(
        r#"{{"Склад_Key":"{wh}","Номенклатура_Key":"{good}","Характеристика_Key":"00000000-0000-0000-0000-000000000000","ВНаличииBalance":{qty},"ВРезервеСоСкладаBalance":0}}"#
    )
}

fn page(records: &[String], next: Option<&str>) -> String {
    let next = next
        .map(|n| format!(r#","odata.nextLink":"{n}""#))
        .unwrap_or_default();
    format!(
        r#"{{"odata.metadata":"http://1c/ut/odata/standard.odata/$metadata#AccumulationRegister_ТоварыНаСкладах_Balance","value":[{}]{next}}}"#,
        records.join(",")
    )
}

fn catalog() -> String {
    let good = |key: &str, article: &str, name: &str| {
        format!(r#"{{"Ref_Key":"{key}","Артикул":"{article}","Description":"{name}"}}"#)
    };
    format!(
        r#"{{"odata.metadata":"http://1c/ut/odata/standard.odata/$metadata#Catalog_Номенклатура","value":[{}]}}"#,
        [
            good(G_HP85, "CE285A ", "Картридж HP 85A"),
            good(G_PAPER, "", r#"Бумага А4 \"Снегурочка\""#),
            good(G_HP12, "Q2612A", "Картридж HP 12A"),
            good(G_OTHER, "ZZ-999", "Неизвестный товар"),
            good(G_CHAIR, "CHAIR-1", "Кресло офисное"),
        ]
        .join(",")
    )
}

/// What the fake 1C serves: answers by entity, and the requests it saw.
struct Fake1c {
    port: u16,
    answers: Arc<Mutex<Answers>>,
}

#[derive(Clone)]
struct Answers {
    /// Pages of the balance table; page N+1 is asked for with `$skiptoken=N+1`.
    balances: Vec<String>,
    catalog: String,
    /// Requests seen: decoded path and query, and whether the credentials were right.
    seen: Vec<(String, bool)>,
    /// Misbehaviour: answer only after this long; claim a body larger than the cap.
    delay: Option<Duration>,
    huge: bool,
}

impl Fake1c {
    fn start() -> Fake1c {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let answers = Arc::new(Mutex::new(Answers {
            balances: vec![
                page(
                    &[rec(G_HP85, W1, "3"), rec(G_PAPER, W1, "40.000")],
                    Some("AccumulationRegister_ТоварыНаСкладах/Balance?$format=json&$skiptoken=2"),
                ),
                page(&[rec(G_HP85, W2, "4"), rec(G_OTHER, W2, "2")], None),
            ],
            catalog: catalog(),
            seen: vec![],
            delay: None,
            huge: false,
        }));
        let a = answers.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let a = a.clone();
                std::thread::spawn(move || serve_one(stream, &a));
            }
        });
        Fake1c { port, answers }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/ut", self.port)
    }

    fn set(&self, f: impl FnOnce(&mut Answers)) {
        f(&mut self.answers.lock().unwrap());
    }

    fn seen(&self) -> Vec<(String, bool)> {
        std::mem::take(&mut self.answers.lock().unwrap().seen)
    }
}

fn serve_one(stream: std::net::TcpStream, answers: &Mutex<Answers>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() {
        return;
    }
    let mut auth = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("authorization")
        {
            auth = v.trim().to_string();
        }
    }
    let target = percent_decode(first.split_whitespace().nth(1).unwrap_or(""));
    let authorized = auth == format!("Basic {}", base64(&format!("{USER}:{PASSWORD}")));
    let (status, body) = {
        let mut a = answers.lock().unwrap();
        a.seen.push((target.clone(), authorized));
        if !authorized {
            (
                401,
                "<html><body>401 Unauthorized</body></html>".to_string(),
            )
        } else if target
            .starts_with("/ut/odata/standard.odata/AccumulationRegister_ТоварыНаСкладах/Balance?")
        {
            let n = target
                .split("$skiptoken=")
                .nth(1)
                .and_then(|s| s.split('&').next()?.parse::<usize>().ok())
                .unwrap_or(1);
            (200, a.balances.get(n - 1).cloned().unwrap_or_default())
        } else if target.starts_with("/ut/odata/standard.odata/Catalog_Номенклатура?") {
            (200, a.catalog.clone())
        } else {
            (
                404,
                r#"{"odata.error":{"code":"-1","message":{"lang":"ru","value":"Не найден ресурс"}}}"#
                    .to_string(),
            )
        }
    };
    let reason = if status == 200 { "OK" } else { "Error" };
    let mut out = stream;
    let (delay, huge) = {
        let a = answers.lock().unwrap();
        (a.delay, a.huge)
    };
    if let Some(d) = delay {
        std::thread::sleep(d);
    }
    if huge {
        // 65 MiB announced; the client must refuse before reading it.
        let _ = write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 68157440\r\n\r\n{{\"value\":["
        );
        let _ = out.flush();
        return;
    }
    let _ = write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json;charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = out.flush();
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in s.as_bytes().chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The config pointing at the fake (the password comes from the environment).
fn config(sb: &Sandbox, url: &str, interval: u32) -> String {
    sb.write(
        "config.toml",
        format!(
            "[onec]\nurl = \"{url}\"\nusername = \"{USER}\"\ninterval_minutes = {interval}\ntimeout_seconds = 10\n"
        ),
    );
    "config.toml".to_string()
}

fn pull(sb: &Sandbox, password: &str, args: &[&str]) -> common::Run {
    let mut cmd = sb.command(["--config", "config.toml", "stock", "pull-1c"]);
    cmd.args(args).env("HELPDESK_ONEC_PASSWORD", password);
    run_command(cmd, None)
}

/// Stock items CE285A = 2, Q2612A = 5, PAPER = 10, created by a CSV import.
fn seed(sb: &Sandbox) {
    sb.write(
        "seed.csv",
        "sku;name;quantity\nCE285A;HP 85A;2\nQ2612A;HP 12A;5\nPAPER;Бумага А4;10\n",
    );
    sb.run(["stock", "import", "seed.csv", "--create-new"])
        .success();
}

/// Rows per table, each item's quantity, and the movements' and audit rows' text.
#[derive(Debug, PartialEq, Eq)]
struct State {
    rows: BTreeMap<String, u64>,
    qty: BTreeMap<String, i64>,
    moves: String,
    audit: String,
}

#[track_caller]
fn state(sb: &Sandbox) -> State {
    let run = sb.run(["snapshot"]);
    run.success();
    let path = sb.join(run.last_stdout_line());
    let manifest: serde_json::Value =
        serde_json::from_slice(&archive_entry(&path, "manifest.json")).unwrap();
    let rows = manifest["tables"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v["rows"].as_u64().unwrap()))
        .collect();
    let items = String::from_utf8(archive_entry(&path, "tables/stock_items.jsonl")).unwrap();
    let qty = items
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["sku"].as_str().unwrap().to_string(),
                v["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    let text = |t: &str| String::from_utf8(archive_entry(&path, t)).unwrap();
    let s = State {
        rows,
        qty,
        moves: text("tables/stock_moves.jsonl"),
        audit: text("tables/audit.jsonl"),
    };
    std::fs::remove_file(&path).unwrap();
    s
}

fn qty(s: &State) -> Vec<(&str, i64)> {
    s.qty.iter().map(|(k, v)| (k.as_str(), *v)).collect()
}

#[test]
fn pull_dry_run_apply_and_a_second_identical_pull() {
    let t0 = Instant::now();
    let fake = Fake1c::start();
    let sb = Sandbox::new();
    seed(&sb);
    config(&sb, &fake.url(), 0);
    let before = state(&sb);

    // Dry run: the difference, nothing written.
    let r = pull(&sb, PASSWORD, &["--dry-run"]);
    r.success();
    assert!(
        r.stderr
            .contains("read 4 balance records and 5 goods of the catalogue from 1C in 3 requests"),
        "{}",
        r.stderr
    );
    for want in [
        "CE285A  HP 85A: 2 -> 7 (+5)  [1C OData record #1]",
        "Q2612A  HP 12A: 5 -> 0 (-5)  [1C OData catalogue record #3]",
        "unknown SKUs, not imported (2):",
        &format!("{G_PAPER}  Бумага А4 \"Снегурочка\": 40  [1C OData record #2]"),
        "ZZ-999  Неизвестный товар: 2  [1C OData record #4]",
        "1 goods at 0 that match no stock item left out",
        "stock import (dry run, nothing changed): 2 changed, 0 new, 2 unknown, 0 unchanged, 1 items not in the file kept",
    ] {
        assert!(r.stdout.contains(want), "{want}\n{}", r.stdout);
    }
    assert_eq!(state(&sb), before);
    // What 1C was asked: JSON, only the needed fields, the next page, with the credentials.
    let seen = fake.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.iter().all(|(_, ok)| *ok), "{seen:?}");
    assert_eq!(
        seen[0].0,
        "/ut/odata/standard.odata/AccumulationRegister_ТоварыНаСкладах/Balance?$format=json&$select=Номенклатура_Key,ВНаличииBalance"
    );
    assert!(seen[1].0.contains("$skiptoken=2"), "{seen:?}");
    assert_eq!(
        seen[2].0,
        "/ut/odata/standard.odata/Catalog_Номенклатура?$format=json&$select=Ref_Key,Артикул,Description"
    );

    // Applied: movements with reason "import" labelled 1C OData, one audit row.
    let r = pull(&sb, PASSWORD, &[]);
    r.success();
    assert!(
        r.stdout
            .contains("stock import (imported): 2 changed, 0 new, 2 unknown"),
        "{}",
        r.stdout
    );
    let after = state(&sb);
    assert_eq!(
        qty(&after),
        vec![("CE285A", 7), ("PAPER", 10), ("Q2612A", 0)]
    );
    assert_eq!(after.rows["stock_moves"], before.rows["stock_moves"] + 2);
    assert_eq!(after.rows["audit"], before.rows["audit"] + 1);
    let new_moves: Vec<&str> = after
        .moves
        .lines()
        .filter(|l| !before.moves.contains(*l))
        .collect();
    assert_eq!(new_moves.len(), 2);
    for m in &new_moves {
        assert!(
            m.contains("\"import\"") && m.contains("import: 1C OData"),
            "{m}"
        );
    }
    assert!(
        after
            .audit
            .contains("1C OData: 2 changed, 0 created, 0 unchanged, 2 unknown"),
        "{}",
        after.audit
    );

    // The same balances again: nothing to change, nothing written.
    let r = pull(&sb, PASSWORD, &[]);
    r.success();
    assert!(
        r.stdout
            .contains("stock import (nothing to change): 0 changed, 0 new, 2 unknown, 2 unchanged"),
        "{}",
        r.stdout
    );
    assert_eq!(state(&sb), after);
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
}

#[test]
fn failures_say_what_to_check_and_change_nothing() {
    let fake = Fake1c::start();
    let sb = Sandbox::new();
    seed(&sb);
    config(&sb, &fake.url(), 0);
    let before = state(&sb);

    let check = |r: &common::Run, want: &str| {
        r.failure();
        let e = r.one_line_error();
        assert!(e.contains(want), "{want}: {e}");
        assert!(
            !r.stdout.contains(PASSWORD) && !r.stderr.contains(PASSWORD),
            "{r:?}"
        );
        assert_eq!(state(&sb), before);
    };

    // Wrong password.
    check(
        &pull(&sb, "wrong-password-1", &[]),
        "1C OData pull: 1C refused the user name or password (HTTP 401 Unauthorized): check onec.username and onec.password",
    );
    assert!(fake.seen().iter().all(|(_, ok)| !ok));

    // A malformed record on the second page: named, nothing applied.
    fake.set(|a| {
        a.balances[1] = page(&[rec(G_HP85, W2, "4"), rec(G_OTHER, W2, "2")], None)
            .replace(r#""ВНаличииBalance":2,"#, r#""ВНаличииBalance":2 "#);
    });
    check(
        &pull(&sb, PASSWORD, &[]),
        "1C OData AccumulationRegister_ТоварыНаСкладах/Balance: record 4: malformed JSON: expected `,` or `}`",
    );
    // A negative balance and a fractional one, named by record and field.
    fake.set(|a| a.balances[1] = page(&[rec(G_HP85, W2, "-4")], None));
    check(
        &pull(&sb, PASSWORD, &["--dry-run"]),
        "record 3: ВНаличииBalance: '-4' is negative (a balance cannot be below zero)",
    );
    fake.set(|a| a.balances[1] = page(&[rec(G_HP85, W2, "1.5")], None));
    check(
        &pull(&sb, PASSWORD, &[]),
        "record 3: ВНаличииBalance: '1.5' is not a whole number",
    );
    // 1C too slow (onec.timeout_seconds = 1 here), and an answer above the size cap.
    sb.write(
        "config.toml",
        format!(
            "[onec]\nurl = \"{}\"\nusername = \"{USER}\"\ntimeout_seconds = 1\n",
            fake.url()
        ),
    );
    fake.set(|a| a.delay = Some(Duration::from_secs(3)));
    check(
        &pull(&sb, PASSWORD, &[]),
        &format!(
            "1C OData pull: 1C at 127.0.0.1:{} did not answer within 1 s (onec.timeout_seconds)",
            fake.port
        ),
    );
    fake.set(|a| {
        a.delay = None;
        a.huge = true;
    });
    check(
        &pull(&sb, PASSWORD, &[]),
        "AccumulationRegister_ТоварыНаСкладах/Balance: the answer is larger than 64 MiB; narrow it with onec.filter",
    );
    fake.set(|a| a.huge = false);
    // A register the configuration does not have.
    sb.write(
        "config.toml",
        format!(
            "[onec]\nurl = \"{}\"\nusername = \"{USER}\"\nbalance_entity = \"AccumulationRegister_ЗапасыНаСкладах/Balance\"\n",
            fake.url()
        ),
    );
    check(
        &pull(&sb, PASSWORD, &[]),
        "1C has no entity 'AccumulationRegister_ЗапасыНаСкладах/Balance' (HTTP 404 Not Found): check onec.balance_entity",
    );
    // Nobody listening.
    let dead = common::free_port();
    config(&sb, &format!("http://127.0.0.1:{dead}/ut"), 0);
    check(
        &pull(&sb, PASSWORD, &[]),
        &format!("cannot connect to 1C at 127.0.0.1:{dead}: connection refused"),
    );
    // Not configured at all.
    sb.write("config.toml", "");
    check(
        &pull(&sb, PASSWORD, &[]),
        "the 1C pull is off: set onec.url",
    );
}

/// A signed-in panel session (for the mapping page).
struct Browser {
    http: reqwest::blocking::Client,
    base: String,
    cookie: String,
}

impl Browser {
    fn sign_in(server: &Server) -> Browser {
        let mut b = Browser {
            http: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .no_proxy()
                .build()
                .unwrap(),
            base: server.url(""),
            cookie: String::new(),
        };
        let csrf = b.csrf("/login");
        let r = b.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("login", "boss"),
                ("password", STAFF_PASSWORD),
            ],
        );
        assert_eq!(r.0, 303, "{}", r.1);
        b
    }

    fn send(&mut self, req: reqwest::blocking::RequestBuilder) -> (u16, String) {
        let r = req.header("cookie", &self.cookie).send().unwrap();
        for v in r.headers().get_all("set-cookie") {
            let kv = v.to_str().unwrap().split(';').next().unwrap().to_string();
            if !self.cookie.is_empty() {
                self.cookie.push_str("; ");
            }
            self.cookie.push_str(&kv);
        }
        (r.status().as_u16(), r.text().unwrap())
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(req)
    }

    fn csrf(&mut self, path: &str) -> String {
        let req = self.http.get(format!("{}{path}", self.base));
        let body = self.send(req).1;
        let marker = "name=\"csrf\" value=\"";
        let at = body.find(marker).expect("a csrf field") + marker.len();
        body[at..].split('"').next().unwrap().to_string()
    }
}

#[test]
fn through_a_running_server_with_a_mapped_good_and_on_schedule() {
    let fake = Fake1c::start();
    let sb = Sandbox::new();
    seed(&sb);
    sb.run_stdin(
        [
            "admin",
            "add",
            "--login",
            "boss",
            "--role",
            "admin",
            "--password-stdin",
        ],
        STAFF_PASSWORD,
    )
    .success();

    // The server holds the database; the command goes through its control socket. The good
    // without an article is mapped by its 1C reference on the panel's mapping page.
    config(&sb, &fake.url(), 0);
    let mut cmd = sb.command(["--config", "config.toml", "serve", "--listen"]);
    let port = common::free_port();
    cmd.arg(format!("127.0.0.1:{port}"))
        .env("HELPDESK_ONEC_PASSWORD", PASSWORD);
    let mut server = Server::spawn(cmd, port);
    server.wait_ready(common::READY_TIMEOUT).unwrap();
    // interval_minutes = 0: the server itself does not pull.
    assert!(fake.seen().is_empty());
    let mut b = Browser::sign_in(&server);
    let csrf = b.csrf("/stock-import/mapping");
    let r = b.post(
        "/stock-import/mapping",
        &[("csrf", &csrf), ("code", G_PAPER), ("sku", "PAPER")],
    );
    assert_eq!(r.0, 303, "{}", r.1);
    let r = pull(&sb, PASSWORD, &[]);
    r.success();
    assert!(
        r.stdout
            .contains("PAPER  Бумага А4: 10 -> 40 (+30)  [1C OData record #2]"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("3 changed, 0 new, 1 unknown"),
        "{}",
        r.stdout
    );
    let s = state(&sb);
    assert_eq!(qty(&s), vec![("CE285A", 7), ("PAPER", 40), ("Q2612A", 0)]);
    server.terminate();

    // On schedule: the pull runs at start-up; 1C's new balance arrives as an import movement
    // by "system".
    fake.set(|a| a.balances[1] = page(&[rec(G_HP85, W2, "9")], None));
    config(&sb, &fake.url(), 60);
    let mut cmd = sb.command(["--config", "config.toml", "serve", "--listen"]);
    let port = common::free_port();
    cmd.arg(format!("127.0.0.1:{port}"))
        .env("HELPDESK_ONEC_PASSWORD", PASSWORD);
    let mut server = Server::spawn(cmd, port);
    server.wait_ready(common::READY_TIMEOUT).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let s = loop {
        let s = state(&sb);
        if s.qty["CE285A"] == 12 || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(qty(&s), vec![("CE285A", 12), ("PAPER", 40), ("Q2612A", 0)]);
    let last = s
        .moves
        .lines()
        .find(|l| l.contains("\"balance_after\":12"))
        .unwrap_or_else(|| panic!("{}", s.moves));
    assert!(
        last.contains("\"system\"") && last.contains("import: 1C OData"),
        "{last}"
    );
    let h = server.get("/healthz").json();
    assert_eq!(h["status"], "ok", "{h}");
    assert!(!h.to_string().contains("onec"), "{h}");
    server.terminate();

    // A failed scheduled pull (the password was changed in 1C) is a failing health check,
    // shown in /healthz; nothing changes, and the password is in no log.
    let sb = Sandbox::new();
    seed(&sb);
    let before = state(&sb);
    config(&sb, &fake.url(), 60);
    let mut cmd = sb.command(["--config", "config.toml", "serve", "--listen"]);
    let port = common::free_port();
    let bad = "changed-in-1c-77";
    cmd.arg(format!("127.0.0.1:{port}"))
        .env("HELPDESK_ONEC_PASSWORD", bad);
    let mut server = Server::spawn(cmd, port);
    server.wait_ready(common::READY_TIMEOUT).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let h = loop {
        let h = server.get("/healthz").json();
        if h.to_string().contains("onec") || Instant::now() > deadline {
            break h;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        h.to_string().contains("HTTP 401 Unauthorized"),
        "the failed pull is not in /healthz: {h}"
    );
    // The health record and job state are written; the stock is not.
    let after = state(&sb);
    assert_eq!(qty(&after), qty(&before));
    assert_eq!(after.moves, before.moves);
    server.terminate();
    let mut logs = server.stdout() + &server.stderr();
    for f in std::fs::read_dir(sb.data_dir().join("logs")).unwrap() {
        logs.push_str(&std::fs::read_to_string(f.unwrap().path()).unwrap_or_default());
    }
    assert!(logs.contains("HTTP 401"), "{logs}");
    assert!(!logs.contains(bad) && !logs.contains(PASSWORD), "{logs}");

    // The scheduled pull turned off: the stale failure is cleared at start-up.
    config(&sb, &fake.url(), 0);
    let mut cmd = sb.command(["--config", "config.toml", "serve", "--listen"]);
    let port = common::free_port();
    cmd.arg(format!("127.0.0.1:{port}"))
        .env("HELPDESK_ONEC_PASSWORD", bad);
    let mut server = Server::spawn(cmd, port);
    server.wait_ready(common::READY_TIMEOUT).unwrap();
    let h = server.get("/healthz").json();
    assert!(!h.to_string().contains("onec"), "{h}");
    server.terminate();
}
