//! Crash safety, end to end: the real `helpdesk serve` binary talks to the Telegram Bot API
//! emulator while many requesters register and file tickets through the bot dialogue at once,
//! and the test kills the server with SIGKILL at random moments (seeded; the seed is printed,
//! `CRASH_SEED=N` repeats a run's schedule), restarting it on the same data folder each time.
//!
//! At the end (after a clean restart with a damaged FAQ index, and once the outbox is drained)
//! it checks, through the product's own interfaces (the emulator's record of what the bot
//! sent, `/healthz`, `helpdesk snapshot` + `helpdesk verify` and the archive's tables):
//! * every restart opened the redb file and came back healthy;
//! * every ticket the bot confirmed to a requester exists, belongs to them, and no ticket was
//!   filed twice for one dialogue (redelivered updates and repeated presses of the same
//!   "send" button are idempotent);
//! * every ticket's confirmation reached its requester exactly once, or — when a kill hit
//!   the narrow window in which Telegram may have taken it but the outbox had not recorded
//!   it — is kept visible as a failed ("uncertain") outbox row instead of being sent twice;
//! * every ticket got its card in the staff group;
//! * a damaged FAQ index is rebuilt and answers again.

mod common;
mod tg_emulator;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use common::{Sandbox, Server, archive_entry};
use serde_json::Value;
use tg_emulator::Emulator;

const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
const STAFF_CHAT: i64 = -1001234567890;
const ADMIN: i64 = 700;
/// Requesters filing tickets at once (ids FIRST_USER..).
const REQUESTERS: i64 = 24;
const FIRST_USER: i64 = 5001;
/// SIGKILLs, each after a random uptime in `UPTIME_MS`.
const KILLS: u32 = 22;
const UPTIME_MS: (u64, u64) = (300, 1600);
/// How long a requester waits (while the server is up) for an answer before repeating.
const PATIENCE: Duration = Duration::from_secs(6);
/// Repeats before the requester starts over with /cancel and /start.
const RETRIES: u32 = 2;
const READY: Duration = Duration::from_secs(20);

/// A small, seeded random number generator (splitmix64): the kill schedule is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// Where a requester is in its script, and what it does there.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Start,
    Name,
    Phone,
    /// Buttons are pressed on the message that carried them.
    Department(i64),
    NewTicket,
    Category(i64),
    Describe,
    Priority(i64),
    Attachments(i64),
    Send(i64),
    /// Not filing any more.
    Idle,
}

struct Requester {
    id: i64,
    step: Step,
    /// Messages to this chat already looked at.
    mark: usize,
    acted_at: Instant,
    retries: u32,
    /// Dialogues started (numbers the descriptions, so each dialogue's ticket is unique).
    flows: u32,
    description: String,
}

/// A needle in the bot's answer, and the step it leads to (given the answer's message id).
type Expect = (&'static str, fn(i64) -> Step);

/// Every needle the answer to a step may contain, and the step it leads to (steps that press
/// buttons take the id of the message that carries them).
fn expectations(step: &Step) -> &'static [Expect] {
    match step {
        Step::Start => &[
            ("Как вас зовут", |_| Step::Name),
            ("Выберите действие", |_| Step::NewTicket),
        ],
        Step::Name => &[("номер телефона", |_| Step::Phone)],
        Step::Phone => &[("Выберите ваш отдел", Step::Department)],
        Step::Department(_) => &[("Готово,", |_| Step::NewTicket)],
        Step::NewTicket => &[("Шаг 1", Step::Category)],
        Step::Category(_) => &[("Опишите проблему", |_| Step::Describe)],
        Step::Describe => &[("Насколько срочно", Step::Priority)],
        Step::Priority(_) => &[("Прикрепите", Step::Attachments)],
        Step::Attachments(_) => &[("Проверьте заявку", Step::Send)],
        Step::Send(_) => &[("создана", |_| Step::NewTicket)],
        Step::Idle => &[],
    }
}

impl Requester {
    fn new(id: i64) -> Requester {
        Requester {
            id,
            step: Step::Start,
            mark: 0,
            acted_at: Instant::now(),
            retries: 0,
            flows: 0,
            description: String::new(),
        }
    }

    /// Performs the current step's action (again, when repeating).
    fn act(&mut self, emu: &Emulator, filing: bool) {
        let u = self.id;
        self.mark = emu.sent_to(u).len();
        self.acted_at = Instant::now();
        match self.step.clone() {
            Step::Start => {
                emu.push_message(u, u, "/start");
            }
            Step::Name => {
                emu.push_message(u, u, &name(u));
            }
            Step::Phone => {
                emu.push_contact(u, u, &format!("+7912{u:07}"));
            }
            Step::Department(m) => {
                emu.push_callback(u, u, m, "d:dep:0");
            }
            Step::NewTicket => {
                if !filing {
                    self.step = Step::Idle;
                    return;
                }
                emu.push_message(u, u, "📝 Новая заявка");
            }
            Step::Category(m) => {
                emu.push_callback(u, u, m, "d:cat:printer");
            }
            Step::Describe => {
                emu.push_message(u, u, &self.description);
            }
            Step::Priority(m) => {
                emu.push_callback(u, u, m, "d:pri:high");
            }
            Step::Attachments(m) => {
                emu.push_callback(u, u, m, "d:done");
            }
            Step::Send(m) => {
                emu.push_callback(u, u, m, "d:send");
            }
            Step::Idle => {}
        }
    }

    /// Moves on when the expected answer came; repeats (or starts over) when it did not come
    /// within [`PATIENCE`] of the server being up. Returns true when it repeated.
    fn poll(&mut self, emu: &Emulator, up_since: Instant, filing: bool) -> bool {
        if self.step == Step::Idle {
            return false;
        }
        let sent = emu.sent_to(self.id);
        for (i, m) in sent.iter().enumerate().skip(self.mark) {
            let text = m.text.as_deref().unwrap_or("");
            if let Some((_, next)) = expectations(&self.step)
                .iter()
                .find(|(needle, _)| text.contains(needle))
            {
                self.mark = i + 1;
                self.retries = 0;
                self.step = next(m.message_id);
                if self.step == Step::Describe {
                    self.flows += 1;
                    self.description = format!("Сбой принтера {}-{}", self.id, self.flows);
                }
                self.act(emu, filing);
                return false;
            }
        }
        if self.acted_at.max(up_since).elapsed() < PATIENCE {
            return false;
        }
        // No answer: the update or the reply was lost to a kill. Repeat, then start over.
        self.retries += 1;
        if self.retries > RETRIES {
            self.retries = 0;
            emu.push_message(self.id, self.id, "/cancel");
            self.step = Step::Start;
        }
        self.act(emu, filing);
        true
    }
}

/// A person's name for requester `u` (letters only, as a name must be).
fn name(u: i64) -> String {
    let letters: Vec<char> = "абвгдежзик".chars().collect();
    let tail: String = u
        .to_string()
        .chars()
        .map(|d| letters[d.to_digit(10).unwrap() as usize])
        .collect();
    format!("Тест Тестов{tail}")
}

fn config(emu: &Emulator) -> String {
    format!(
        "[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\nstaff_chat_id = {STAFF_CHAT}\nsuperadmins = [{ADMIN}]\n\n[bot]\ndepartments = [\"Бухгалтерия\", \"Склад\"]\n",
        emu.api_url()
    )
}

/// Starts the server and waits until it is healthy and polling.
fn start(sb: &Sandbox) -> Server {
    let server = sb.serve(&["--config", "config.toml"]);
    let deadline = Instant::now() + READY;
    loop {
        let h = server.get("/healthz").json();
        assert_eq!(h["db"], "ok", "the database opens cleanly: {h}");
        if h["bot"] == "polling" {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "the bot never polled: {h}\n{}",
            server.stdout()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `#N` in a confirmation text.
fn ticket_number(text: &str) -> u64 {
    let after = text.split('#').nth(1).expect("#N in the confirmation");
    after
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("a ticket number")
}

fn jsonl(archive: &std::path::Path, table: &str) -> Vec<Value> {
    let bytes = archive_entry(archive, &format!("tables/{table}.jsonl"));
    String::from_utf8(bytes)
        .expect("UTF-8")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON row"))
        .collect()
}

#[test]
fn sigkill_under_load_loses_nothing_confirmed_and_sends_nothing_twice() {
    let began = Instant::now();
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("crash_safety seed: {seed} (CRASH_SEED={seed} repeats the kill schedule)");
    let mut rng = Rng(seed);

    let emu = Emulator::start(TOKEN);
    let sb = Sandbox::new();
    sb.write("config.toml", config(&emu));
    sb.write(
        "faq.csv",
        "question,answer,alternatives\n\
         Как подключить VPN?,Откройте FortiClient и войдите с доменным паролем.,vpn не работает\n\
         Как сменить пароль?,Нажмите Ctrl+Alt+Del и выберите «Сменить пароль».,забыл пароль\n",
    );
    sb.run(["--config", "config.toml", "faq", "import", "faq.csv"])
        .success();

    let mut requesters: Vec<Requester> = (0..REQUESTERS)
        .map(|i| Requester::new(FIRST_USER + i))
        .collect();
    let mut server = start(&sb);
    let mut up_since = Instant::now();
    // Everyone starts at once: one burst of updates.
    for r in &mut requesters {
        r.act(&emu, true);
    }
    let mut kills = 0u32;
    let mut repeats = 0u32;
    let mut next_kill =
        Instant::now() + Duration::from_millis(rng.between(UPTIME_MS.0, UPTIME_MS.1));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let filing = kills < KILLS;
        for r in &mut requesters {
            if r.poll(&emu, up_since, filing) {
                repeats += 1;
            }
        }
        if filing && Instant::now() >= next_kill {
            server.signal(libc::SIGKILL);
            let status = server.wait_exit(Duration::from_secs(10));
            assert!(!status.success(), "killed, not exited: {status}");
            kills += 1;
            server = start(&sb);
            up_since = Instant::now();
            next_kill =
                Instant::now() + Duration::from_millis(rng.between(UPTIME_MS.0, UPTIME_MS.1));
        }
        if !filing && requesters.iter().all(|r| r.step == Step::Idle) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "requesters did not finish: {:?}\nserver log:\n{}",
            requesters
                .iter()
                .filter(|r| r.step != Step::Idle)
                .map(|r| (
                    r.id,
                    r.step.clone(),
                    emu.sent_to(r.id)
                        .iter()
                        .rev()
                        .take(3)
                        .filter_map(|m| m.text.clone())
                        .collect::<Vec<_>>()
                ))
                .collect::<Vec<_>>(),
            server.stdout()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    let load_done = began.elapsed();

    // A clean stop, then the FAQ index damaged as if a write had been cut short: meta.json
    // truncated and a segment file gone.
    assert!(
        server.terminate().success(),
        "clean stop: {}",
        server.stderr()
    );
    let faq_dir = sb.data_dir().join("index/faq");
    let meta = faq_dir.join("meta.json");
    assert!(
        meta.exists(),
        "the FAQ index lives in {}",
        faq_dir.display()
    );
    let len = std::fs::metadata(&meta).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&meta)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    if let Some(seg) = std::fs::read_dir(&faq_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "idx"))
    {
        std::fs::remove_file(seg).unwrap();
    }
    let server = start(&sb);
    server.wait_stdout("FAQ index is damaged", Duration::from_secs(10));
    let asker = FIRST_USER;
    let before = emu.sent_to(asker).len();
    emu.push_message(asker, asker, "Как подключить VPN?");
    assert!(
        emu.wait_for_sent(
            |all| all
                .iter()
                .filter(|m| m.chat_id == asker)
                .skip(before)
                .any(|m| m.text.as_deref().is_some_and(|t| t.contains("FortiClient"))),
            Duration::from_secs(15)
        ),
        "the rebuilt FAQ index answers\n{}",
        server.stdout()
    );

    // Drain: every row committed before any kill goes out (or is flagged failed).
    let drained = Instant::now() + Duration::from_secs(30);
    let health = loop {
        let h = server.get("/healthz").json();
        if h["outbox_pending"] == 0 {
            break h;
        }
        assert!(Instant::now() < drained, "the outbox does not drain: {h}");
        std::thread::sleep(Duration::from_millis(100));
    };

    // A snapshot through the running server, verified by the CLI.
    let snap = sb.run(["--config", "config.toml", "snapshot"]);
    snap.success();
    let archive = sb.join(snap.last_stdout_line());
    let archive = if archive.exists() {
        archive
    } else {
        std::path::PathBuf::from(snap.last_stdout_line())
    };
    sb.run([
        "--config",
        "config.toml",
        "verify",
        archive.to_str().unwrap(),
    ])
    .success();

    let tickets = jsonl(&archive, "tickets");
    let outbox = jsonl(&archive, "outbox");
    let by_id: HashMap<u64, &Value> = tickets
        .iter()
        .map(|t| (t["id"].as_u64().expect("ticket id"), t))
        .collect();

    // No dialogue filed two tickets: descriptions are unique per dialogue.
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for t in &tickets {
        let d = t["description"].as_str().unwrap_or("").to_string();
        if let Some(first) = seen.insert(d.clone(), t["id"].as_u64().unwrap()) {
            panic!(
                "one dialogue filed two tickets: #{first} and #{} ({d:?})",
                t["id"]
            );
        }
    }

    // Confirmations: each exactly once, each for an existing ticket of that requester.
    let mut confirmed: BTreeSet<u64> = BTreeSet::new();
    for r in &requesters {
        for m in emu.sent_to(r.id) {
            let Some(text) = m.text.as_deref().filter(|t| t.contains("создана")) else {
                continue;
            };
            let n = ticket_number(text);
            assert!(
                confirmed.insert(n),
                "ticket #{n} was confirmed twice (duplicate delivery)"
            );
            let t = by_id
                .get(&n)
                .unwrap_or_else(|| panic!("confirmed ticket #{n} does not exist"));
            assert_eq!(
                t["requester"].as_i64(),
                Some(r.id),
                "#{n} belongs to {}",
                r.id
            );
        }
    }
    // Each ticket's confirmation was delivered, or kept visible as an uncertain failed row.
    let uncertain: Vec<&Value> = outbox
        .iter()
        .filter(|o| {
            o["failed"] == true
                && o["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("uncertain"))
        })
        .collect();
    let flagged: BTreeSet<u64> = uncertain
        .iter()
        .filter(|o| o.to_string().contains("создана"))
        .filter_map(|o| o["ticket_id"].as_u64())
        .collect();
    for id in by_id.keys() {
        assert!(
            confirmed.contains(id) || flagged.contains(id),
            "ticket #{id} was neither confirmed to its requester nor flagged"
        );
    }
    assert_eq!(
        health["outbox_failed"].as_u64(),
        Some(uncertain.len() as u64),
        "the only failed rows are the uncertain ones: {health}"
    );
    // Every ticket has its card (cards are re-sent after a crash: a duplicate is possible).
    let staff = emu.sent_to(STAFF_CHAT);
    let mut cards: BTreeMap<u64, usize> = BTreeMap::new();
    for m in &staff {
        if let Some(t) = m.text.as_deref()
            && let Some(rest) = t.strip_prefix('#')
            && let Some((n, _)) = rest.split_once(" ·")
            && let Ok(n) = n.parse::<u64>()
        {
            *cards.entry(n).or_default() += 1;
        }
    }
    for id in by_id.keys() {
        assert!(cards.contains_key(id), "ticket #{id} has no card");
    }
    let duplicate_cards = cards.values().filter(|&&c| c > 1).count();
    // Flagged rows Telegram had in fact taken (the requester saw them once) vs. never sent.
    let flagged_but_arrived = flagged.intersection(&confirmed).count();

    assert!(kills >= 20, "{kills} kills");
    assert!(
        tickets.len() >= REQUESTERS as usize,
        "only {} tickets were filed",
        tickets.len()
    );
    println!(
        "crash_safety: {kills} SIGKILLs, {} tickets, {} confirmations, {} flagged uncertain ({flagged_but_arrived} of them had arrived), \
         {duplicate_cards} duplicate cards, {repeats} repeated requester actions; load {:.1} s, \
         total {:.1} s",
        tickets.len(),
        confirmed.len(),
        flagged.len(),
        load_done.as_secs_f64(),
        began.elapsed().as_secs_f64()
    );
}
