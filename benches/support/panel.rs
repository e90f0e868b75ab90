//! What the panel benches share (`#[path]`-included by benches/panel_load.rs and
//! benches/snapshot_load.rs): the admin account, a store filled with tickets through the
//! public store API, and a signed-in session.

#![allow(dead_code)] // each bench uses a different part

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use helpdesk::clock::SystemClock;
use helpdesk::domain::{
    Actor, Category, EventKind, Language, Priority, Role, Source, Ticket, TicketStatus,
};
use helpdesk::service::{NewStaff, Service, ServiceConfig};
use helpdesk::store::{Seq, Store};

pub const LOGIN: &str = "bench";
pub const PASSWORD: &str = "bench-password-1";
const BATCH: u64 = 5_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "принтер",
    "не",
    "печатает",
    "бумага",
    "застряла",
    "картридж",
    "закончился",
    "компьютер",
    "включается",
    "после",
    "обновления",
    "ноутбук",
    "медленно",
    "сеть",
    "пропала",
    "интернет",
    "Wi-Fi",
    "этаже",
    "доступа",
    "папке",
    "бухгалтерии",
    "1С",
    "ошибку",
    "пароль",
    "учётная",
    "запись",
    "монитор",
    "мигает",
    "клавиатура",
    "мышь",
    "проектор",
    "сканер",
    "почта",
    "VPN",
];
const NAMES: &[&str] = &["Иван Петров", "Анна Смирнова", "Олег Ким", "Мария Козлова"];
const DEPARTMENTS: &[&str] = &["Бухгалтерия", "Склад", "Продажи", "Кадры"];

fn words(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| *rng.pick(WORDS))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `n` tickets (with `Created` event and audit row), 5,000 per transaction, fixed-seed
/// statuses, priorities, categories and Russian words, and the admin account.
pub fn fill(dir: &Path, n: u64) -> Duration {
    let started = Instant::now();
    let svc = Service::new(
        Store::open(dir).expect("open store"),
        Arc::new(SystemClock),
        ServiceConfig {
            staff_chat_id: 0,
            default_language: Language::Ru,
            email_enabled: false,
            sla: None,
        },
    );
    svc.add_staff(
        &Actor::Cli,
        NewStaff {
            login: LOGIN.into(),
            password: PASSWORD.into(),
            role: Role::Admin,
            telegram_id: None,
            display_name: None,
        },
    )
    .expect("staff account");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start = svc.now() - n as i64 * 60;
    let mut done = 0;
    while done < n {
        let mut tx = svc.store().write().expect("write tx");
        for _ in 0..BATCH.min(n - done) {
            let id = tx.next_id(Seq::Ticket).expect("id");
            let at = start + id as i64 * 60;
            let status = *rng.pick(&[
                TicketStatus::New,
                TicketStatus::InProgress,
                TicketStatus::Resolved,
                TicketStatus::Closed,
                TicketStatus::Closed,
                TicketStatus::Closed,
            ]);
            let t = Ticket {
                id,
                requester: None,
                requester_name: rng.pick(NAMES).to_string(),
                department: Some(rng.pick(DEPARTMENTS).to_string()),
                category: *rng.pick(&Category::ALL),
                priority: *rng.pick(&Priority::ALL),
                status,
                assignee: None,
                subject: words(&mut rng, 4),
                description: words(&mut rng, 14),
                order_lines: Vec::new(),
                source: Source::Panel,
                created_at: at,
                updated_at: at,
                first_response_at: None,
                resolved_at: None,
                closed_at: None,
                response_due: None,
                resolve_due: None,
                rejection_reason: None,
                rating: None,
            };
            tx.put_ticket(&t).expect("ticket");
            tx.add_event(id, at, Actor::Cli, EventKind::Created)
                .expect("event");
            tx.add_audit(
                at,
                &Actor::Cli,
                "ticket.create",
                t.number(),
                t.subject.clone(),
            )
            .expect("audit");
        }
        tx.commit().expect("commit");
        done = (done + BATCH).min(n);
    }
    started.elapsed()
}

/// A client that does not follow redirects.
pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()
        .expect("client")
}

/// Signs in; returns the `Cookie` header value.
pub fn login(base: &str) -> String {
    let client = http();
    let page = client
        .get(format!("{base}/login"))
        .send()
        .expect("login page");
    let csrf_cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("hd_csrf="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("csrf cookie");
    let html = page.text().expect("login html");
    let token = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("csrf field")
        .to_string();
    let r = client
        .post(format!("{base}/login"))
        .header("cookie", &csrf_cookie)
        .form(&[
            ("csrf", token.as_str()),
            ("login", LOGIN),
            ("password", PASSWORD),
        ])
        .send()
        .expect("login");
    assert_eq!(r.status().as_u16(), 303, "login failed");
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("hd_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("session cookie")
}
