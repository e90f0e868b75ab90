//! Secrets never leak: the real `helpdesk serve` runs with a known bot token (against the Bot
//! API emulator, webhook mode), a known webhook secret, a known SMTP password (from the
//! environment, as the README advises; the SMTP server is a fake on loopback that offers AUTH
//! and refuses it), known staff passwords, a REST API token made in the panel and a panel
//! session. The test signs in (wrong, then right), fetches every panel page, calls the REST
//! API, the Mini App API and the webhook (with and without the secret), drives the CLI
//! (`admin add` through the control socket, `snapshot`, `verify`, `check-config`,
//! `mail-test`, refused commands), and then asserts that none of the secrets appears in:
//!
//! * the server's stdout/stderr and every log file under `<data_dir>/logs`, at `log.level =
//!   "trace"` (the most an admin can turn on: what dependencies log counts too);
//! * any panel page, REST, Mini App or webhook answer (body and headers other than
//!   `Set-Cookie`), except the one page that shows a new API token once, by design;
//! * every snapshot archive: `manifest.json` and each `tables/*.jsonl`, decompressed;
//! * any file of the data folder, raw bytes (the redb file, search indexes, logs): passwords,
//!   tokens and the session cookie are stored only as argon2id / SHA-256 hashes;
//! * the output and error messages of every CLI command run.
//!
//! The archive is also checked positively: exactly the tables of
//! `helpdesk::store::ARCHIVED_TABLES`, no `sessions`, staff hashes are argon2id PHC strings and
//! the API token row holds the SHA-256 of the secret and its 9-character prefix only.
//!
//! `broken_configs_and_unreachable_telegram_never_echo_secrets` feeds `check-config` and
//! `serve` configurations that hold the token or the SMTP password in a broken way, a token
//! Telegram refuses, and a Telegram API that cannot be reached (the network error carries the
//! request URL, which contains the token) and scans every message.
//!
//! Each secret is also proven *used* (the emulator saw the token, Telegram was told the webhook
//! secret, the SMTP server received the password, sign-in and the API token work), so a scan
//! that finds nothing means something.

mod common;
mod miniapp_support;
mod tg_emulator;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::browser::{Browser, Resp, hidden_csrf, send};
use common::{Run, Sandbox, Server};
use sha2::{Digest, Sha256};
use tg_emulator::Emulator;

/// The bot token: `<bot id>:<secret>`; the id is public (getMe answers it), the rest is not.
const BOT_TOKEN: &str = "918273645:AAG7kZ-secretBotToken_Qw3Er5Ty7Ui9Op";
const WEBHOOK_SECRET: &str = "hook_S3cret-8d31b7a0c5";
const SMTP_USER: &str = "helpdesk-mailer";
const SMTP_PASSWORD: &str = "smtp-S3cret-4f9c2e71";
/// The 1C OData user's password (`onec.password`).
const ONEC_PASSWORD: &str = "onec-S3cret-7d2a9b40";
/// Staff passwords: `boss` (admin, made before the server runs), `olga` (operator, made
/// through the control socket), `anna` (operator, made in the panel).
const BOSS_PASSWORD: &str = "boss-Passw0rd-1c7e93";
const OLGA_PASSWORD: &str = "olga-Passw0rd-5a20d4";
const ANNA_PASSWORD: &str = "anna-Passw0rd-e8b6f2";
/// Typed but refused: a wrong password at sign-in, a new password whose change is refused,
/// a password too short to be accepted.
const WRONG_PASSWORD: &str = "wrong-Guess-9f3a61";
const REFUSED_NEW_PASSWORD: &str = "never-Set-Passw0rd-2b4d";
const SHORT_PASSWORD: &str = "s3Cr7xQ";
const STAFF_CHAT: i64 = -1001234567890;
const USER: i64 = 1001;
const WAIT: Duration = Duration::from_secs(15);

// ----- the scanner ---------------------------------------------------------------------------

/// What to look for, and everything to look in. Secrets added late (the session cookie, the
/// API token, the stored hashes) are looked for in everything collected before, too.
struct Scan {
    /// (what, value, whether it may rest in the database and archives: true for hashes).
    secrets: Vec<(String, String, bool)>,
    /// (place, bytes, whether it is data at rest: the data folder's files, archive entries).
    corpus: Vec<(String, Vec<u8>, bool)>,
}

impl Scan {
    fn new() -> Scan {
        let mut s = Scan {
            secrets: Vec::new(),
            corpus: Vec::new(),
        };
        s.add("bot token", BOT_TOKEN);
        s.add(
            "bot token (secret part)",
            BOT_TOKEN.split_once(':').unwrap().1,
        );
        s.add("webhook secret", WEBHOOK_SECRET);
        s.add("SMTP password", SMTP_PASSWORD);
        s.add("1C OData password", ONEC_PASSWORD);
        for (who, p) in [
            ("boss's password", BOSS_PASSWORD),
            ("olga's password", OLGA_PASSWORD),
            ("anna's password", ANNA_PASSWORD),
            ("a wrong password typed at sign-in", WRONG_PASSWORD),
            ("a refused new password", REFUSED_NEW_PASSWORD),
            ("a too short password", SHORT_PASSWORD),
        ] {
            s.add(who, p);
        }
        s
    }

    /// A secret that must appear nowhere.
    fn add(&mut self, what: &str, value: &str) {
        assert!(value.len() >= 6, "{what}: too short to search for");
        self.secrets
            .push((what.to_string(), value.to_string(), false));
    }

    /// A stored hash: expected in the database and archives, nowhere else (logs, pages, CLI).
    fn add_hash(&mut self, what: &str, value: &str) {
        assert!(value.len() >= 32, "{what}: not a hash");
        self.secrets
            .push((what.to_string(), value.to_string(), true));
    }

    /// Output: an answer, a log, a command's output.
    fn bytes(&mut self, place: &str, bytes: &[u8]) {
        self.corpus.push((place.to_string(), bytes.to_vec(), false));
    }

    fn text(&mut self, place: &str, text: &str) {
        self.bytes(place, text.as_bytes());
    }

    /// Data at rest: a file of the data folder, an archive entry.
    fn stored(&mut self, place: &str, bytes: &[u8]) {
        self.corpus.push((place.to_string(), bytes.to_vec(), true));
    }

    fn run(&mut self, place: &str, r: &Run) {
        self.text(&format!("{place} (stdout)"), &r.stdout);
        self.text(&format!("{place} (stderr)"), &r.stderr);
    }

    /// Fails listing every secret found anywhere it must not be, with some context.
    #[track_caller]
    fn assert_clean(&self, at_least: usize) {
        let mut leaks = Vec::new();
        for (place, bytes, at_rest) in &self.corpus {
            for (what, value, may_rest) in &self.secrets {
                if *at_rest && *may_rest {
                    continue;
                }
                let needle = value.as_bytes();
                if let Some(at) = bytes.windows(needle.len()).position(|w| w == needle) {
                    let from = at.saturating_sub(100);
                    let to = (at + needle.len() + 100).min(bytes.len());
                    leaks.push(format!(
                        "{what} found in {place}: …{}…",
                        String::from_utf8_lossy(&bytes[from..to])
                    ));
                }
            }
        }
        assert!(
            leaks.is_empty(),
            "secrets leaked ({} finds):\n\n{}",
            leaks.len(),
            leaks.join("\n\n")
        );
        assert!(
            self.corpus.len() >= at_least,
            "only {} places scanned, expected at least {at_least}",
            self.corpus.len()
        );
    }
}

/// Scans an HTTP answer: its body and every header but `Set-Cookie` (which carries the
/// session cookie by design).
fn scan_resp(scan: &mut Scan, place: &str, r: &Resp) {
    scan.text(place, &r.body);
    for (name, value) in &r.headers {
        if name.as_str() != "set-cookie" {
            scan.bytes(&format!("{place} header {name}"), value.as_bytes());
        }
    }
}

// ----- a fake SMTP server --------------------------------------------------------------------

/// An SMTP server on loopback that offers AUTH PLAIN/LOGIN, refuses every login (535) and
/// records every line it receives.
struct FakeSmtp {
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl FakeSmtp {
    fn start() -> FakeSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind SMTP");
        let port = listener.local_addr().unwrap().port();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let rec = lines.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(stream) = conn else { continue };
                let rec = rec.clone();
                std::thread::spawn(move || smtp_session(stream, &rec));
            }
        });
        FakeSmtp { port, lines }
    }

    /// Whether some AUTH exchange carried `password` (base64, as SMTP sends it).
    fn received_password(&self, password: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| {
            l.split_whitespace().any(|word| {
                let decoded = b64_decode(word);
                decoded
                    .windows(password.len())
                    .any(|w| w == password.as_bytes())
            })
        })
    }
}

fn smtp_session(stream: TcpStream, rec: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut w) = stream.try_clone() else {
        return;
    };
    let mut r = BufReader::new(stream);
    let _ = w.write_all(b"220 fake.test ESMTP\r\n");
    // 0: commands; 1: AUTH LOGIN wants the user; 2: the password; 3: AUTH PLAIN wants the
    // credentials.
    let mut step = 0;
    loop {
        let mut line = String::new();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let line = line.trim_end().to_string();
        rec.lock().unwrap().push(line.clone());
        let up = line.to_ascii_uppercase();
        let refuse: &[u8] = b"535 5.7.8 Authentication credentials invalid\r\n";
        let reply: &[u8] = match step {
            1 => {
                step = 2;
                b"334 UGFzc3dvcmQ6\r\n"
            }
            2 | 3 => {
                step = 0;
                refuse
            }
            _ if up.starts_with("EHLO") => b"250-fake.test\r\n250 AUTH PLAIN LOGIN\r\n",
            _ if up.starts_with("HELO") => b"250 fake.test\r\n",
            _ if up == "AUTH PLAIN" => {
                step = 3;
                b"334 \r\n"
            }
            _ if up.starts_with("AUTH PLAIN ") => refuse,
            _ if up.starts_with("AUTH LOGIN") => {
                step = 1;
                b"334 VXNlcm5hbWU6\r\n"
            }
            _ if up.starts_with("NOOP") || up.starts_with("RSET") => b"250 OK\r\n",
            _ if up.starts_with("QUIT") => {
                let _ = w.write_all(b"221 bye\r\n");
                return;
            }
            _ => b"502 5.5.2 not implemented\r\n",
        };
        if w.write_all(reply).is_err() {
            return;
        }
    }
}

/// Standard base64 (padding optional); anything that is not base64 decodes to little garbage.
fn b64_decode(s: &str) -> Vec<u8> {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().take_while(|&c| c != b'=') {
        let Some(v) = ABC.iter().position(|&a| a == c) else {
            return Vec::new();
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

// ----- helpers -------------------------------------------------------------------------------

/// `helpdesk ARGS` in `sb` with the SMTP password in the environment (as every command of the
/// installation would get it), `stdin` piped in when given.
fn cli(sb: &Sandbox, args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = sb.command(args);
    cmd.env("HELPDESK_SMTP_PASSWORD", SMTP_PASSWORD);
    common::run_command(cmd, stdin)
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Every regular file under `dir` (recursively).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            out.extend(files_under(&e.path()));
        } else if ft.is_file() {
            out.push(e.path());
        }
    }
    out.sort();
    out
}

/// Every entry of a `tar.zst` archive: (name, bytes), in order.
fn archive_contents(path: &Path) -> Vec<(String, Vec<u8>)> {
    let file = std::fs::File::open(path).expect("open archive");
    let dec = zstd::Decoder::new(file).expect("zstd decoder");
    let mut ar = tar::Archive::new(dec);
    let mut out = Vec::new();
    for e in ar.entries().expect("tar entries") {
        let mut e = e.expect("tar entry");
        let name = e.path().expect("entry path").to_string_lossy().to_string();
        let mut buf = Vec::new();
        e.read_to_end(&mut buf).expect("read entry");
        out.push((name, buf));
    }
    out
}

/// What `/healthz` says of the bot, once the server answers at all (200 or 503).
fn bot_state(server: &Server) -> Option<String> {
    let r = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
        .ok()?
        .get(server.url("/healthz"))
        .send()
        .ok()?;
    let v: serde_json::Value = r.json().ok()?;
    v["bot"].as_str().map(str::to_string)
}

/// Polls `f` until it holds or `limit` passes.
fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ----- the tests -----------------------------------------------------------------------------

#[test]
fn no_secret_reaches_logs_pages_archives_or_cli_output() {
    let mut scan = Scan::new();
    let emu = Emulator::start(BOT_TOKEN);
    emu.set_user(USER, "Иван", Some("ivan"));
    let smtp = FakeSmtp::start();
    let sb = Sandbox::new();
    let port = common::free_port();
    // The token and the webhook secret in the file (left readable by others on purpose: the
    // warning about it must not quote them), the SMTP password in the environment.
    sb.write(
        "config.toml",
        format!(
            "[web]\npublic_url = \"http://127.0.0.1:{port}\"\n\n\
             [telegram]\ntoken = \"{BOT_TOKEN}\"\napi_url = \"{api}\"\nstaff_chat_id = {STAFF_CHAT}\n\
             mode = \"webhook\"\nwebhook_secret = \"{WEBHOOK_SECRET}\"\n\n\
             [smtp]\nenabled = true\nhost = \"127.0.0.1\"\nport = {smtp}\nsecurity = \"none\"\n\
             username = \"{SMTP_USER}\"\nfrom = \"helpdesk@example.test\"\n\n\
             [log]\nlevel = \"trace\"\n",
            api = emu.api_url(),
            smtp = smtp.port,
        ),
    );
    // An admin made directly on the store (no server yet).
    let r = cli(
        &sb,
        &[
            "--config",
            "config.toml",
            "admin",
            "add",
            "--login",
            "boss",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some(&format!("{BOSS_PASSWORD}\n")),
    );
    r.success();
    scan.run("admin add boss (direct)", &r);

    // The server, in webhook mode on a known port.
    let mut cmd = sb.command([
        "serve",
        "--config",
        "config.toml",
        "--listen",
        &format!("127.0.0.1:{port}"),
    ]);
    cmd.env("HELPDESK_SMTP_PASSWORD", SMTP_PASSWORD);
    let mut server = Server::spawn(cmd, port);
    server.wait_ready(WAIT).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        wait_until(WAIT, || server.get("/healthz").json()["bot"] == "webhook"),
        "the bot never reached webhook mode:\n{}",
        server.stdout()
    );
    // Proof the secrets are in use: Telegram was given the webhook secret; the bot talks.
    assert_eq!(emu.webhook().1, WEBHOOK_SECRET);
    emu.push_message(USER, USER, "/start");
    assert!(
        emu.wait_for_sent(|m| m.iter().any(|m| m.chat_id == USER), WAIT),
        "the bot never answered /start; deliveries {:?}\n{}",
        emu.webhook_deliveries(),
        server.stdout()
    );
    assert!(
        emu.webhook_deliveries().iter().any(|&(_, s)| s == 200),
        "{:?}",
        emu.webhook_deliveries()
    );

    let http = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    // The webhook: a forged update (wrong, cut or missing secret) is refused.
    let update = serde_json::json!({
        "update_id": 990001,
        "message": {
            "message_id": 1, "date": 1700000000,
            "chat": {"id": USER, "type": "private", "first_name": "Иван"},
            "from": {"id": USER, "is_bot": false, "first_name": "Иван"},
            "text": "/help"
        }
    });
    let hook = server.url("/telegram/webhook");
    for secret in [
        Some("wrong"),
        Some(&WEBHOOK_SECRET[..WEBHOOK_SECRET.len() - 1]),
        None,
    ] {
        let mut req = http.post(&hook).json(&update);
        if let Some(s) = secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        let r = send(req);
        assert_eq!(r.status, 401, "webhook with secret {secret:?}");
        scan_resp(&mut scan, "POST /telegram/webhook (refused)", &r);
    }

    // Sign-in: a wrong password, then the right one.
    let mut boss = Browser::new(&server);
    let r = boss.try_login("boss", WRONG_PASSWORD);
    assert_eq!(r.status, 401, "{}", r.body);
    scan_resp(&mut scan, "POST /login (wrong password)", &r);
    let r = boss.try_login("nobody", WRONG_PASSWORD);
    assert_eq!(r.status, 401, "{}", r.body);
    scan_resp(&mut scan, "POST /login (unknown login)", &r);
    let r = boss.try_login("boss", BOSS_PASSWORD);
    assert_eq!(r.status, 303, "sign-in as boss: {}", r.body);
    let session = boss.cookies.get("hd_session").cloned().expect("session");
    scan.add("the panel session cookie", &session);
    let csrf = hidden_csrf(&boss.get("/").body);

    // A staff account through the control socket while the server runs, and refused ones.
    let add = |login: &str, pw: &str| {
        let args = [
            "--config",
            "config.toml",
            "admin",
            "add",
            "--login",
            login,
            "--role",
            "operator",
            "--password-stdin",
        ];
        cli(&sb, &args, Some(&format!("{pw}\n")))
    };
    let r = add("olga", OLGA_PASSWORD);
    r.success();
    scan.run("admin add olga (control socket)", &r);
    for (login, pw, why) in [
        ("olga", OLGA_PASSWORD, "existing login"),
        ("shorty", SHORT_PASSWORD, "too short password"),
        ("bad login!", BOSS_PASSWORD, "bad login"),
    ] {
        let r = add(login, pw);
        r.failure();
        scan.run(&format!("admin add refused ({why})"), &r);
    }

    // Staff made in the panel: refused (bad login: the form comes back), then accepted.
    for (login, code) in [("bad login!", 400), ("anna", 303)] {
        let r = boss.post(
            "/people/staff/new",
            &[
                ("csrf", &csrf),
                ("login", login),
                ("role", "operator"),
                ("password", ANNA_PASSWORD),
            ],
        );
        assert_eq!(r.status, code, "add staff {login}: {}", r.body);
        scan_resp(&mut scan, &format!("POST /people/staff/new ({login})"), &r);
    }
    // A password change with a wrong current password is refused without echoing either.
    let r = boss.post(
        "/people/password",
        &[
            ("csrf", &csrf),
            ("current", WRONG_PASSWORD),
            ("new", REFUSED_NEW_PASSWORD),
            ("new2", REFUSED_NEW_PASSWORD),
        ],
    );
    assert_eq!(r.status, 400, "{}", r.body);
    scan_resp(&mut scan, "POST /people/password (refused)", &r);

    // A REST API token: shown once on the page that creates it (that page is not scanned),
    // stored only as its SHA-256.
    let r = boss.post(
        "/api-tokens",
        &[("csrf", &csrf), ("name", "ci"), ("scope", "read-write")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let at = r
        .body
        .find("id=\"secret\">")
        .expect("the new token is shown")
        + 12;
    let api_token = r.body[at..].split('<').next().unwrap().to_string();
    assert!(api_token.starts_with("hd_"), "{api_token}");
    scan.add("the REST API token", &api_token);
    let api = server.url("/api/v1/tickets");
    let r = send(
        http.post(&api)
            .bearer_auth(&api_token)
            .json(&serde_json::json!({
                "requester_name": "Анна Петрова", "category": "network",
                "subject": "VPN не подключается", "description": "Ошибка 809 с утра"
            })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    scan_resp(&mut scan, "POST /api/v1/tickets", &r);
    let r = send(http.get(&api).bearer_auth(&api_token));
    assert_eq!(r.status, 200, "{}", r.body);
    scan_resp(&mut scan, "GET /api/v1/tickets", &r);
    let r = send(http.get(&api).bearer_auth(format!("hd_{}", "0".repeat(64))));
    assert_eq!(r.status, 401, "{}", r.body);
    scan_resp(&mut scan, "GET /api/v1/tickets (unknown token)", &r);

    // The Mini App API with launch data signed for another bot: 401, the token not named.
    let forged = miniapp_support::init_data_for(
        USER,
        "Иван",
        miniapp_support::now() - 5,
        "111111111:AAnotTheRightTokenAtAll_0123456789abc",
    );
    let r = send(
        http.get(server.url("/app/api/tickets"))
            .header("authorization", format!("tma {forged}")),
    );
    assert_eq!(r.status, 401, "{}", r.body);
    scan_resp(&mut scan, "GET /app/api/tickets (forged)", &r);

    // Every page of the panel, as the admin sees it.
    for path in [
        "/",
        "/tickets",
        "/tickets/new",
        "/tickets/1",
        "/faq",
        "/faq/new",
        "/faq/export.csv",
        "/stock",
        "/stock/new",
        "/stock-import",
        "/stock-import/mapping",
        "/people",
        "/people/staff",
        "/people/password",
        "/logs",
        "/logs/audit",
        "/logs/messages",
        "/broadcast",
        "/archives",
        "/reports",
        "/settings",
        "/settings/bot.about",
        "/api-tokens",
        "/healthz",
        "/metrics",
        "/login",
        "/api/v1/openapi.json",
        "/app",
    ] {
        let r = boss.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        scan_resp(&mut scan, &format!("GET {path}"), &r);
    }

    // CLI while the server runs: snapshot (through the control socket), verify, check-config,
    // mail-test (the fake server refuses the login).
    let r = cli(&sb, &["--config", "config.toml", "snapshot"], None);
    r.success();
    scan.run("snapshot", &r);
    let archive = sb.join(r.last_stdout_line());
    assert!(archive.is_file(), "{}", archive.display());
    let r = cli(
        &sb,
        &[
            "--config",
            "config.toml",
            "verify",
            archive.to_str().unwrap(),
        ],
        None,
    );
    r.success();
    scan.run("verify", &r);
    let r = cli(&sb, &["--config", "config.toml", "check-config"], None);
    r.success();
    assert!(
        r.stderr.contains("can be read by every user"),
        "the config file holds secrets and is world-readable: a warning is due\n{}",
        r.stderr
    );
    scan.run("check-config", &r);
    let r = cli(
        &sb,
        &[
            "--config",
            "config.toml",
            "mail-test",
            "--to",
            "someone@example.test",
        ],
        None,
    );
    r.failure();
    scan.run("mail-test (login refused)", &r);
    assert!(
        smtp.received_password(SMTP_PASSWORD),
        "the SMTP server never received the password; it saw {:?}",
        smtp.lines.lock().unwrap()
    );

    // Login throttling: failures from this address are counted; after a few, even the right
    // password is refused with 429 (and no session is made).
    let mut intruder = Browser::new(&server);
    let mut throttled = false;
    for _ in 0..6 {
        let r = intruder.try_login("boss", WRONG_PASSWORD);
        scan_resp(&mut scan, "POST /login (guessing)", &r);
        if r.status == 429 {
            throttled = true;
            break;
        }
        assert_eq!(r.status, 401, "{}", r.body);
    }
    assert!(
        throttled,
        "five wrong passwords in a row were never throttled"
    );
    let r = intruder.try_login("boss", BOSS_PASSWORD);
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(!intruder.cookies.contains_key("hd_session"));

    // Stop, then scan everything the server wrote.
    assert!(server.terminate().success());
    scan.text("server stdout", &server.stdout());
    scan.text("server stderr", &server.stderr());
    let data = sb.data_dir();
    let logs = files_under(&data.join("logs"));
    assert!(!logs.is_empty(), "no log file in {}", data.display());
    let log_text: String = logs
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    assert!(
        log_text.contains("failed login"),
        "the log files do not show the sign-in attempts"
    );
    for f in files_under(&data) {
        let bytes = std::fs::read(&f).expect("read data file");
        scan.stored(&format!("data file {}", f.display()), &bytes);
    }

    // Every archive in the data folder (the catch-up snapshot too, if one was written),
    // decompressed.
    let archives: Vec<PathBuf> = files_under(&data.join("archive"))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tar.zst"))
        .collect();
    assert!(
        archives
            .iter()
            .any(|a| a.file_name() == archive.file_name()),
        "{} is not under the data folder",
        archive.display()
    );
    for a in &archives {
        for (name, bytes) in archive_contents(a) {
            scan.stored(&format!("archive {} entry {name}", a.display()), &bytes);
        }
    }

    // What the archive holds: exactly the archived tables (no sessions); hashes, not secrets.
    let entries = archive_contents(&archive);
    assert_eq!(entries[0].0, "manifest.json");
    let tables: BTreeSet<String> = entries[1..]
        .iter()
        .map(|(n, _)| {
            n.strip_prefix("tables/")
                .and_then(|n| n.strip_suffix(".jsonl"))
                .unwrap_or_else(|| panic!("unexpected archive entry {n}"))
                .to_string()
        })
        .collect();
    let expected: BTreeSet<String> = helpdesk::store::ARCHIVED_TABLES
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(tables, expected);
    assert!(!tables.contains("sessions"), "panel sessions are archived");
    let table = |name: &str| -> Vec<serde_json::Value> {
        let bytes = &entries
            .iter()
            .find(|(n, _)| *n == format!("tables/{name}.jsonl"))
            .unwrap()
            .1;
        String::from_utf8_lossy(bytes)
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON row"))
            .collect()
    };
    let staff = table("staff");
    let logins: BTreeSet<&str> = staff.iter().filter_map(|s| s["login"].as_str()).collect();
    for login in ["boss", "olga", "anna"] {
        assert!(logins.contains(login), "{login} not archived: {logins:?}");
    }
    for s in &staff {
        let hash = s["password_hash"].as_str().unwrap_or("");
        assert!(hash.starts_with("$argon2id$"), "not an argon2id hash: {s}");
        // The hash itself belongs in the database and archives only.
        scan.add_hash(&format!("the password hash of {}", s["login"]), hash);
    }
    let tokens = table("api_tokens");
    let ci = tokens
        .iter()
        .find(|t| t["name"] == "ci")
        .expect("the API token is archived");
    assert_eq!(ci["hash"], sha256_hex(&api_token), "{ci}");
    assert_eq!(ci["prefix"], api_token[..9], "{ci}");
    let all_rows: String = entries
        .iter()
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert!(
        !all_rows.contains(&sha256_hex(&session)),
        "the session's hash is in the archive"
    );
    scan.add_hash("the API token's hash", &sha256_hex(&api_token));
    scan.add_hash("the session cookie's hash", &sha256_hex(&session));

    scan.assert_clean(60);
}

#[test]
fn broken_configs_and_unreachable_telegram_never_echo_secrets() {
    let mut scan = Scan::new();
    let sb = Sandbox::new();
    let secret_part = BOT_TOKEN.split_once(':').unwrap().1;
    // Config files that hold a secret but are wrong: each is refused with one line that names
    // the key and its line, never the value.
    let cases: Vec<(&str, String)> = vec![
        (
            "unquoted token",
            format!("[telegram]\ntoken = {BOT_TOKEN}\n"),
        ),
        (
            "unterminated token",
            format!("[telegram]\ntoken = \"{BOT_TOKEN}\n"),
        ),
        (
            "literal string never closed",
            format!("[telegram]\ntoken = '{BOT_TOKEN}\n"),
        ),
        (
            "token without the bot id",
            format!("[telegram]\ntoken = \"{secret_part}\"\n"),
        ),
        (
            "token with junk after it",
            format!("[telegram]\ntoken = \"{BOT_TOKEN}/x\"\n"),
        ),
        (
            "token as a list",
            format!("[telegram]\ntoken = [\"{BOT_TOKEN}\"]\n"),
        ),
        (
            "token given twice",
            format!("[telegram]\ntoken = \"{BOT_TOKEN}\"\ntoken = \"{BOT_TOKEN}\"\n"),
        ),
        (
            "a misspelt key beside the token",
            format!("[telegram]\ntoken = \"{BOT_TOKEN}\"\ntokn = \"{BOT_TOKEN}\"\n"),
        ),
        (
            "a bad value elsewhere",
            format!("[telegram]\ntoken = \"{BOT_TOKEN}\"\n[web]\nlisten = \"everywhere\"\n"),
        ),
        (
            "token pasted without a key",
            format!("[telegram]\n{BOT_TOKEN}\n"),
        ),
        (
            "YAML habit",
            format!("[telegram]\ntoken: \"{BOT_TOKEN}\"\n"),
        ),
        (
            "webhook secret with a character Telegram refuses",
            format!("[telegram]\nwebhook_secret = \"{WEBHOOK_SECRET}!\"\n"),
        ),
        (
            "unterminated SMTP password",
            format!("[smtp]\npassword = \"{SMTP_PASSWORD}\n"),
        ),
        (
            "unquoted SMTP password",
            format!("[smtp]\npassword = {SMTP_PASSWORD}\n"),
        ),
        (
            "SMTP password as a table",
            format!("[smtp]\npassword = {{ value = \"{SMTP_PASSWORD}\" }}\n"),
        ),
        (
            "unterminated 1C password",
            format!("[onec]\nurl = \"http://1c.local/ut\"\npassword = \"{ONEC_PASSWORD}\n"),
        ),
        (
            "unquoted 1C password",
            format!("[onec]\npassword = {ONEC_PASSWORD}\n"),
        ),
        (
            "1C password in the publication's URL",
            format!("[onec]\nurl = \"http://robot:{ONEC_PASSWORD}@1c.local/ut\"\n"),
        ),
        (
            "1C password in a URL that is not one",
            format!("[onec]\nurl = \"http://robot:{ONEC_PASSWORD}@[1c.local/ut\"\n"),
        ),
    ];
    for (what, text) in &cases {
        sb.write("bad.toml", text);
        for cmd in ["check-config", "serve"] {
            let r = sb.run(["--config", "bad.toml", cmd]);
            let line = r.one_line_error();
            assert!(line.contains("bad.toml"), "{what}: {cmd}: {line}");
            scan.run(&format!("{cmd} with {what}"), &r);
        }
    }
    // Secrets from the environment that are wrong.
    for (var, value) in [
        ("HELPDESK_TELEGRAM_TOKEN", format!("x{BOT_TOKEN}")),
        ("HELPDESK_TELEGRAM_TOKEN", secret_part.to_string()),
        (
            "HELPDESK_TELEGRAM_WEBHOOK_SECRET",
            format!("{WEBHOOK_SECRET}!"),
        ),
    ] {
        let mut cmd = sb.command(["check-config"]);
        cmd.env(var, &value);
        let r = common::run_command(cmd, None);
        let line = r.one_line_error();
        assert!(line.contains(var), "{line}");
        scan.run(&format!("check-config with a bad {var}"), &r);
    }

    // A token Telegram refuses: the bot turns off and says so, without quoting the token.
    let emu = Emulator::start(tg_emulator::DEFAULT_TOKEN);
    let refused = Sandbox::new();
    refused.write(
        "config.toml",
        format!(
            "[telegram]\ntoken = \"{BOT_TOKEN}\"\napi_url = \"{}\"\n",
            emu.api_url()
        ),
    );
    // `/healthz` answers 503 while the bot is in error: wait for the answer, not for a 200.
    let port = common::free_port();
    let mut server = Server::spawn(
        refused.command([
            "serve",
            "--config",
            "config.toml",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ]),
        port,
    );
    assert!(
        wait_until(WAIT, || bot_state(&server).as_deref() == Some("error")),
        "the refused token did not turn the bot off:\n{}",
        server.stdout()
    );
    assert!(!emu.calls_of("getMe").is_empty(), "the bot never asked");
    assert!(server.terminate().success());
    scan.text("serve with a refused token (stdout)", &server.stdout());
    scan.text("serve with a refused token (stderr)", &server.stderr());
    for f in files_under(&refused.join("data/logs")) {
        scan.bytes(
            &format!("log {}", f.display()),
            &std::fs::read(&f).unwrap_or_default(),
        );
    }

    // Telegram cannot be reached: the network error names the request URL, which holds the
    // token; the message must hide it.
    let down = Sandbox::new();
    let closed = common::free_port();
    down.write(
        "config.toml",
        format!(
            "[telegram]\ntoken = \"{BOT_TOKEN}\"\napi_url = \"http://127.0.0.1:{closed}\"\n\
             [log]\nlevel = \"trace\"\n"
        ),
    );
    let port = common::free_port();
    let mut server = Server::spawn(
        down.command([
            "serve",
            "--config",
            "config.toml",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ]),
        port,
    );
    assert!(
        wait_until(WAIT, || server.stdout().contains("not reachable")),
        "no word of Telegram being unreachable:\n{}\n{}",
        server.stdout(),
        server.stderr()
    );
    server.signal(libc::SIGTERM);
    server.wait_exit(Duration::from_secs(20));
    scan.text("serve, Telegram unreachable (stdout)", &server.stdout());
    scan.text("serve, Telegram unreachable (stderr)", &server.stderr());
    for f in files_under(&down.join("data/logs")) {
        scan.bytes(
            &format!("log {}", f.display()),
            &std::fs::read(&f).unwrap_or_default(),
        );
    }

    scan.assert_clean(cases.len() * 4 + 6 + 4);
}

/// A secret written with the wrong TOML type (`smtp.password = 20252025`, an all-digit password
/// without quotes; floats, booleans; `telegram.token`, `telegram.webhook_secret`) is not quoted
/// back by `check-config` or `serve`: serde's message would name the value (`invalid type:
/// integer `20252025``), so `toml_error` in `src/config/raw.rs` says only which key is wrong.
#[test]
fn a_secret_of_the_wrong_type_is_not_quoted_back() {
    let sb = Sandbox::new();
    for (key, text) in [
        ("smtp.password", "[smtp]\npassword = 20252025\n"),
        ("smtp.password", "[smtp]\npassword = 2025.2025\n"),
        (
            "telegram.webhook_secret",
            "[telegram]\nwebhook_secret = 20252025\n",
        ),
        ("onec.password", "[onec]\npassword = 20252025\n"),
    ] {
        sb.write("bad.toml", text);
        for cmd in ["check-config", "serve"] {
            let r = sb.run(["--config", "bad.toml", cmd]);
            let line = r.one_line_error();
            assert!(line.contains(key), "{line}");
            assert!(
                !line.contains("20252025") && !line.contains("2025.2025"),
                "{cmd} quotes the value of {key}: {line}"
            );
        }
    }
}
