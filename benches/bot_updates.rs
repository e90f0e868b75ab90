//! Inbound Telegram updates per second, end to end: the real `helpdesk serve` binary (built
//! with the bench profile) long-polls the Bot API emulator (`tests/tg_emulator`) over loopback
//! HTTP. N registered requesters each send M messages at once; every message produces one
//! reply. Two rates are measured from the first update pushed:
//!
//! * **handled/s**: until every update has been handled (its reply is committed to the outbox:
//!   replies delivered, seen by the emulator, + rows still pending, from `/healthz`);
//! * **replied/s**: until the emulator has received every reply — bounded by the outbox's
//!   Telegram limits (25 messages/s overall, ≥ 1.05 s apart per chat), not by the bot.
//!
//! Run: `cargo bench --bench bot_updates` (env `BOT_BENCH_USERS`, default 100, and
//! `BOT_BENCH_MESSAGES`, default 5, per user). Prints one line per scenario and the peak RSS
//! of the server.
//!
//! `BOT_BENCH_TARGET=aiogram` runs the same dialogue in the minimal aiogram 3 + SQLite bot of
//! `benches/aiogram/` instead (its `run.sh` makes a virtualenv and installs aiogram from PyPI
//! on first use). That bot replies directly, without an outbox or rate limits, so for it
//! handled/s = replied/s, and the emulator's audit of Telegram's limits is only reported.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/tg_emulator/mod.rs"]
mod tg_emulator;

use std::time::{Duration, Instant};

use common::{Sandbox, Server};
use tg_emulator::Emulator;

const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
const FIRST_USER: i64 = 5_000_001;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Messages the bot has sent to user chats (positive ids).
fn replies(emu: &Emulator) -> usize {
    emu.sent_messages().iter().filter(|m| m.chat_id > 0).count()
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Pushes `messages` from each user at once; returns (handled/s, replied/s, seconds to handle,
/// seconds to reply). Without `server` (aiogram), handled = replied.
fn measure(
    emu: &Emulator,
    server: Option<&Server>,
    users: &[i64],
    messages: &[&str],
    per_user: usize,
) -> (f64, f64, f64, f64) {
    let total = users.len() * per_user;
    let before = replies(emu);
    let start = Instant::now();
    for round in 0..per_user {
        for &u in users {
            emu.push_message(u, u, messages[(round + u as usize) % messages.len()]);
        }
    }
    let mut handled_at = None;
    wait_until("every reply", Duration::from_secs(600), || {
        let delivered = replies(emu) - before;
        if handled_at.is_none()
            && let Some(server) = server
        {
            let pending = server.get("/healthz").json()["outbox_pending"]
                .as_u64()
                .unwrap_or(0) as usize;
            // Replies delivered meanwhile are counted again by the second read.
            if delivered.max(replies(emu) - before) + pending >= total {
                handled_at = Some(start.elapsed());
            }
        }
        delivered >= total
    });
    let replied = start.elapsed().as_secs_f64();
    let handled = handled_at.map_or(replied, |d| d.as_secs_f64());
    (
        total as f64 / handled,
        total as f64 / replied,
        handled,
        replied,
    )
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let n = env_or("BOT_BENCH_USERS", 100);
    let per_user = env_or("BOT_BENCH_MESSAGES", 5);
    let emu = Emulator::start(TOKEN);
    let sb = Sandbox::new();
    sb.write(
        "config.toml",
        format!(
            "[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\n\n[log]\nlevel = \"warn\"\n",
            emu.api_url()
        ),
    );
    sb.write(
        "faq.csv",
        "question,answer,alternatives\n\
         Как подключить VPN?,Откройте FortiClient и войдите с доменным паролем.,vpn не работает|удалённый доступ\n\
         Принтер не печатает,Проверьте бумагу и перезапустите принтер.,принтер жуёт бумагу\n\
         Как сменить пароль?,Нажмите Ctrl+Alt+Del и выберите «Сменить пароль».,забыл пароль\n\
         Как подключиться к Wi-Fi?,Сеть Office, пароль у администратора.,wifi не работает\n",
    );
    sb.run(["--config", "config.toml", "faq", "import", "faq.csv"])
        .success();
    let aiogram = std::env::var("BOT_BENCH_TARGET").is_ok_and(|t| t == "aiogram");
    let (server, mut python) = if aiogram {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/aiogram/run.sh");
        let child = std::process::Command::new(script)
            .env("API_URL", emu.api_url())
            .env("BOT_TOKEN", TOKEN)
            .env("DB", sb.join("aiogram.sqlite"))
            .env("FAQ", sb.join("faq.csv"))
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("run benches/aiogram/run.sh");
        // Ready when it answers a first message (the first run also installs aiogram).
        let warm = FIRST_USER - 1;
        emu.push_message(warm, warm, "/status 1");
        wait_until("the aiogram bot", Duration::from_secs(300), || {
            !emu.sent_to(warm).is_empty()
        });
        (None, Some(child))
    } else {
        let server = sb.serve(&["--config", "config.toml"]);
        wait_until("polling", Duration::from_secs(30), || {
            server.get("/healthz").json()["bot"] == "polling"
        });
        (Some(server), None)
    };
    let base = replies(&emu);

    // N requesters register through the dialogue (3 updates each).
    let users: Vec<i64> = (0..n as i64).map(|i| FIRST_USER + i).collect();
    let t = Instant::now();
    for &u in &users {
        emu.set_user(u, "Иван", None);
        emu.push_message(u, u, "/start");
    }
    wait_until("name prompts", Duration::from_secs(300), || {
        replies(&emu) >= base + n
    });
    for &u in &users {
        emu.push_message(u, u, "Иван Петров");
    }
    wait_until("phone prompts", Duration::from_secs(300), || {
        replies(&emu) >= base + 2 * n
    });
    for (i, &u) in users.iter().enumerate() {
        emu.push_contact(u, u, &format!("+7912{:07}", i));
    }
    wait_until("registrations", Duration::from_secs(300), || {
        replies(&emu) >= base + 3 * n
    });
    println!(
        "setup: {n} requesters registered through the dialogue in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let scenarios: [(&str, &[&str]); 2] = [
        (
            "FAQ question -> answer (search, dialogue, log)",
            &[
                "Как подключить VPN?",
                "как сменить пароль",
                "принтер не печатает",
                "не работает wifi",
            ],
        ),
        (
            "/status N -> reply (light path)",
            &["/status 1", "/status 2"],
        ),
    ];
    for (name, messages) in scenarios {
        let (handled, replied, th, tr) = measure(&emu, server.as_ref(), &users, messages, per_user);
        println!(
            "{name}: {} updates from {n} users; handled {handled:.0}/s ({th:.2} s); \
             replies delivered {replied:.1}/s ({tr:.2} s)",
            n * per_user
        );
    }
    let (what, pid) = match (&server, &python) {
        (Some(s), _) => ("helpdesk", s.pid()),
        (None, Some(p)) => ("aiogram bot (python)", p.id()),
        (None, None) => unreachable!("one of them runs"),
    };
    match peak_rss_kib(pid) {
        Some(k) => println!("{what} peak RSS: {:.1} MiB", k as f64 / 1024.0),
        None => println!("{what} peak RSS: unknown"),
    }
    println!(
        "emulator peak RSS (whole bench process): {:.1} MiB",
        peak_rss_kib(std::process::id()).unwrap_or(0) as f64 / 1024.0
    );
    let audit = emu.check_rate_limits();
    if let Some(p) = python.as_mut() {
        let _ = p.kill();
        let _ = p.wait();
        let breaches = audit.err().map_or(0, |e| e.lines().count());
        println!("Telegram limit breaches (no outbox in the aiogram bot): {breaches}");
    } else {
        assert_eq!(audit, Ok(()), "Telegram's limits kept");
    }
}
