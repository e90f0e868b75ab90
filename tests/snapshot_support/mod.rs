//! A write load through the bot, shared by `tests/snapshot_load.rs` and
//! `benches/snapshot_load.rs`: N requesters talk to the real `helpdesk serve` through the
//! Telegram Bot API emulator, each in a closed loop (it acts again as soon as the bot's answer
//! to its previous action arrives): register once, then file a ticket through the dialogue
//! (menu → category → description → priority → attachments → confirm → send) and answer the
//! confirmation with a follow-up message that joins the ticket, again and again.
//!
//! [`run`] drives them on the calling thread until `stop` is set, recording in [`Progress`]
//! what the bot confirmed (ticket numbers with their requester and description, follow-ups
//! acknowledged), so a test can tell what was committed before a given moment.

#![allow(dead_code)] // the test and the bench use different parts

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::tg_emulator::{Emulator, SentMessage};

pub const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";

/// The config of a server whose bot talks to `emu` (no staff group: no cards, so the only
/// limits on the load are Telegram's private-chat ones).
pub fn config(emu: &Emulator, extra: &str) -> String {
    format!(
        "[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\n\n[bot]\ndepartments = [\"Бухгалтерия\", \"Склад\"]\n\n[log]\nlevel = \"warn\"\n{extra}",
        emu.api_url()
    )
}

/// Where a requester is in its script. Steps that press a button carry the id of the message
/// that has it; `FollowUp` carries the confirmation's id (the follow-up replies to it).
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Start,
    Name,
    Phone,
    Department(i64),
    NewTicket,
    Category(i64),
    Describe,
    Priority(i64),
    Attachments(i64),
    Send(i64),
    FollowUp { ticket: u64, reply_to: i64 },
}

/// What the bot has confirmed so far.
#[derive(Debug, Default, Clone)]
pub struct Progress {
    /// Ticket number → (requester, description), for every "ticket #N created" received.
    pub tickets: BTreeMap<u64, (i64, String)>,
    /// (ticket number, text) of every follow-up the bot acknowledged as added.
    pub follow_ups: Vec<(u64, String)>,
    /// Bot answers received by the requesters (each one moved a requester on).
    pub answers: u64,
    /// Requesters that registered.
    pub registered: u64,
}

struct Requester {
    id: i64,
    step: Step,
    acted_at: Instant,
    flows: u32,
    description: String,
    follow_up: String,
}

/// Every needle the answer to a step may contain.
fn needles(step: &Step) -> &'static [&'static str] {
    match step {
        Step::Start => &["Как вас зовут"],
        Step::Name => &["номер телефона"],
        Step::Phone => &["Выберите ваш отдел"],
        Step::Department(_) => &["Готово,"],
        Step::NewTicket => &["Шаг 1"],
        Step::Category(_) => &["Опишите проблему"],
        Step::Describe => &["Насколько срочно"],
        Step::Priority(_) => &["Прикрепите"],
        Step::Attachments(_) => &["Проверьте заявку"],
        Step::Send(_) => &["создана"],
        Step::FollowUp { .. } => &["Добавлено к заявке"],
    }
}

/// The `#N` in a bot text.
pub fn ticket_number(text: &str) -> Option<u64> {
    text.split('#')
        .nth(1)?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
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

impl Requester {
    fn act(&mut self, emu: &Emulator) {
        let u = self.id;
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
                emu.push_message(u, u, "📝 Новая заявка");
            }
            Step::Category(m) => {
                emu.push_callback(u, u, m, "d:cat:printer");
            }
            Step::Describe => {
                self.flows += 1;
                self.description = format!("Сбой принтера {}-{}", self.id, self.flows);
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
            Step::FollowUp { reply_to, .. } => {
                self.follow_up = format!("Уточнение {}-{}: лоток 2", self.id, self.flows);
                emu.push_reply(u, u, &self.follow_up, reply_to);
            }
        }
    }

    /// Moves on if `m` answers the current step; records what it confirms.
    fn answer(&mut self, m: &SentMessage, progress: &Mutex<Progress>) -> bool {
        let text = m.text.as_deref().unwrap_or("");
        if !needles(&self.step).iter().any(|n| text.contains(n)) {
            return false;
        }
        let mut p = progress.lock().unwrap();
        p.answers += 1;
        self.step = match self.step.clone() {
            Step::Start => Step::Name,
            Step::Name => Step::Phone,
            Step::Phone => Step::Department(m.message_id),
            Step::Department(_) => {
                p.registered += 1;
                Step::NewTicket
            }
            Step::NewTicket => Step::Category(m.message_id),
            Step::Category(_) => Step::Describe,
            Step::Describe => Step::Priority(m.message_id),
            Step::Priority(_) => Step::Attachments(m.message_id),
            Step::Attachments(_) => Step::Send(m.message_id),
            Step::Send(_) => {
                let n = ticket_number(text).expect("#N in the confirmation");
                p.tickets.insert(n, (self.id, self.description.clone()));
                Step::FollowUp {
                    ticket: n,
                    reply_to: m.message_id,
                }
            }
            Step::FollowUp { ticket, .. } => {
                assert_eq!(
                    ticket_number(text),
                    Some(ticket),
                    "the follow-up joined another ticket: {text}"
                );
                p.follow_ups.push((ticket, self.follow_up.clone()));
                Step::NewTicket
            }
        };
        true
    }
}

/// Runs `users` requesters (ids `first..first + users`) against the bot until `stop` is set.
/// Returns the ids of requesters that waited longer than `patience` for an answer (none,
/// when the server keeps up).
pub fn run(
    emu: &Emulator,
    first: i64,
    users: i64,
    stop: &AtomicBool,
    progress: &Mutex<Progress>,
    patience: Duration,
) -> Vec<i64> {
    let mut rs: Vec<Requester> = (0..users)
        .map(|i| Requester {
            id: first + i,
            step: Step::Start,
            acted_at: Instant::now(),
            flows: 0,
            description: String::new(),
            follow_up: String::new(),
        })
        .collect();
    let index: HashMap<i64, usize> = rs.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let mut cursor = emu.sent_messages().len();
    for r in &mut rs {
        r.act(emu);
    }
    let mut stalled = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let new = emu.sent_since(cursor);
        cursor += new.len();
        for m in &new {
            if let Some(&i) = index.get(&m.chat_id)
                && rs[i].answer(m, progress)
            {
                rs[i].act(emu);
            }
        }
        for r in &rs {
            if r.acted_at.elapsed() > patience && !stalled.contains(&r.id) {
                stalled.push(r.id);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    stalled
}
