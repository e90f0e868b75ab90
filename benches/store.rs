//! Store, service and archive benchmark (see BENCHMARKS.md, "Store, service and archive").
//!
//! One run measures, on the same machine and disk, so that ratios are meaningful even on a
//! noisy box:
//!
//! 1. raw redb durable single-row commits (`Store::bench_raw_insert`, 300-byte value);
//! 2. `Service::create_ticket` (ticket + indexes + timeline event + audit row + two outbox
//!    rows, one durable commit), plus an interleaved raw/service comparison;
//! 3. get-by-id and list-50-by-status on a store holding 100,000 tickets;
//! 4. snapshot and restore of that store (wall time, MB/s, archive size vs redb file size).
//!
//! Run: `cargo bench --bench store`. The 100k store is filled through `Service::create_ticket`,
//! one durable commit per ticket (the fill is timed and reported). Where durable commits are
//! slow (a disk with real flushes), `HELPDESK_BENCH_FILL=batched` writes the same rows with
//! 5,000 tickets per commit through the public `Store::write`/`WriteTx` API instead.
//! `HELPDESK_BENCH_TICKETS=<n>` changes the store size (default 100000).

use std::cell::RefCell;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};

use helpdesk::archive::{self, Kind};
use helpdesk::clock::{Clock, SystemClock};
use helpdesk::domain::texts::render;
use helpdesk::domain::{
    Actor, Category, EventKind, Language, Markup, OutboxMessage, Priority, Source, Ticket,
    TicketStatus, Timestamp,
};
use helpdesk::service::{NewTicket, Service, ServiceConfig};
use helpdesk::store::{Reads, Seq, Store, TicketFilter};

/// Requesters registered in every store.
const REQUESTERS: i64 = 200;
/// First requester's Telegram id.
const FIRST_TG: i64 = 10_000_000;
/// Tickets per write transaction when filling the big store in batch mode.
const FILL_BATCH: usize = 5_000;
/// Default time the 100k fill may spend in `Service::create_ticket` before batching the rest.
const FILL_SERVICE_BUDGET_SECS: u64 = 150;
/// Timed repetitions of snapshot and restore.
const ONE_SHOT_RUNS: usize = 3;
/// Rounds and commits per round of the interleaved raw/service comparison.
const PAIRED_ROUNDS: usize = 7;
const PAIRED_COMMITS: u64 = 1_000;
const PAIRED_BLOCK: u64 = 25;

// ---------------------------------------------------------------------------------------------
// Deterministic test data.

/// xorshift64*: small, deterministic, good enough for test data.
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
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
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
    "тонер",
    "компьютер",
    "не",
    "включается",
    "после",
    "обновления",
    "Windows",
    "ноутбук",
    "медленно",
    "работает",
    "сеть",
    "пропала",
    "интернет",
    "Wi-Fi",
    "на",
    "третьем",
    "этаже",
    "нет",
    "доступа",
    "к",
    "папке",
    "бухгалтерии",
    "1С",
    "выдаёт",
    "ошибку",
    "при",
    "запуске",
    "пароль",
    "истёк",
    "учётная",
    "запись",
    "заблокирована",
    "монитор",
    "мигает",
    "клавиатура",
    "мышь",
    "сломалась",
    "проектор",
    "в",
    "переговорной",
    "телефон",
    "IP",
    "гудит",
    "сканер",
    "сохраняет",
    "файлы",
    "почта",
    "Outlook",
    "письма",
    "приходят",
    "VPN",
    "подключается",
    "из",
    "дома",
    "нужно",
    "установить",
    "программу",
    "лицензия",
    "Office",
    "срочно",
    "пожалуйста",
    "помогите",
    "с",
    "утра",
    "вчера",
    "вечером",
    "уже",
    "третий",
    "день",
    "кабинет",
    "отдел",
    "кадров",
    "продаж",
    "склад",
    "юристы",
    "директор",
    "просит",
    "заменить",
    "настроить",
    "проверить",
    "подключить",
    "второй",
    "экран",
    "док-станция",
    "USB",
    "порт",
    "зарядка",
    "батарея",
    "держит",
    "шумит",
    "вентилятор",
    "перегревается",
    "синий",
    "экран",
    "перезагружается",
    "сам",
    "по",
    "себе",
    "Teams",
    "Zoom",
    "камера",
    "микрофон",
    "звук",
    "printer",
    "error",
    "code",
    "0x80070005",
    "access",
    "denied",
    "driver",
    "update",
    "failed",
    "disk",
    "full",
    "backup",
    "restore",
    "share",
    "drive",
    "mapped",
    "missing",
    "and",
    "the",
    "is",
    "после",
    "того",
    "как",
    "переехали",
    "новый",
    "стол",
    "розетка",
    "кабель",
    "патч-корд",
];

const SUBJECTS: &[&str] = &[
    "Не печатает принтер",
    "Замятие бумаги в МФУ",
    "Закончился картридж",
    "Не работает интернет",
    "Нет доступа к общей папке",
    "Ошибка 1С при запуске",
    "Сбросить пароль",
    "Медленно работает компьютер",
    "Не подключается VPN",
    "Не приходят письма",
    "Установить программу",
    "Настроить второй монитор",
    "Не работает камера в Teams",
    "Проектор в переговорной",
    "Телефон не звонит",
];

const DEPARTMENTS: &[&str] = &[
    "Бухгалтерия",
    "Отдел кадров",
    "Продажи",
    "Склад",
    "Юридический отдел",
    "Дирекция",
    "Маркетинг",
    "ИТ",
];

const FIRST_NAMES: &[&str] = &[
    "Анна",
    "Иван",
    "Мария",
    "Сергей",
    "Ольга",
    "Алексей",
    "Елена",
    "Дмитрий",
    "Наталья",
    "Павел",
    "Ирина",
    "Андрей",
    "Татьяна",
    "Михаил",
    "Светлана",
    "Николай",
];

const LAST_NAMES: &[&str] = &[
    "Иванова",
    "Петров",
    "Смирнова",
    "Кузнецов",
    "Попова",
    "Васильев",
    "Соколова",
    "Михайлов",
    "Новикова",
    "Фёдоров",
    "Морозова",
    "Волков",
    "Лебедева",
    "Семёнов",
    "Егорова",
    "Павлов",
];

const CATEGORIES: &[Category] = &[
    Category::Hardware,
    Category::Software,
    Category::Network,
    Category::Printer,
    Category::Access,
    Category::Other,
];

fn sentence(rng: &mut Rng, min_chars: usize, max_chars: usize) -> String {
    let target = min_chars + rng.below((max_chars - min_chars) as u64) as usize;
    let mut s = String::with_capacity(target * 2);
    while s.chars().count() < target {
        if !s.is_empty() {
            s.push(if rng.below(9) == 0 { '.' } else { ' ' });
            if s.ends_with('.') {
                s.push(' ');
            }
        }
        let word: &&str = rng.pick(WORDS);
        s.push_str(word);
    }
    s
}

fn new_ticket(rng: &mut Rng, tg_id: i64) -> NewTicket {
    let mut subject = rng.pick(SUBJECTS).to_string();
    if rng.below(2) == 0 {
        subject.push_str(&format!(" (каб. {})", 100 + rng.below(400)));
    }
    NewTicket {
        requester: Some(tg_id),
        requester_name: None,
        category: *rng.pick(CATEGORIES),
        priority: *rng.pick(&[
            Priority::Low,
            Priority::Normal,
            Priority::Normal,
            Priority::High,
            Priority::Critical,
        ]),
        subject,
        description: sentence(rng, 40, 400),
        order: Vec::new(),
        source: *rng.pick(&[Source::Telegram, Source::Telegram, Source::MiniApp]),
        idempotency_key: None,
        attachments: vec![],
    }
}

/// A clock that ticks `step` seconds each time it is read: spreads created/updated times.
struct StepClock {
    now: AtomicI64,
    step: i64,
}

impl Clock for StepClock {
    fn now(&self) -> Timestamp {
        self.now.fetch_add(self.step, Ordering::Relaxed)
    }
}

fn config() -> ServiceConfig {
    ServiceConfig {
        staff_chat_id: -100,
        default_language: Language::Ru,
        email_enabled: false,
        sla: None,
    }
}

fn register_requesters(svc: &Service, rng: &mut Rng) {
    for i in 0..REQUESTERS {
        let tg = FIRST_TG + i;
        let dept = *rng.pick(DEPARTMENTS);
        let lang = if i % 5 == 0 {
            Language::En
        } else {
            Language::Ru
        };
        svc.register_requester(
            tg,
            &format!("{} {}", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES)),
            Some("+79001234567"),
            Some(dept),
            Some(lang),
            None,
        )
        .expect("register requester");
    }
}

fn open_service(dir: &Path, clock: Arc<dyn Clock>) -> Service {
    Service::new(Store::open(dir).expect("open store"), clock, config())
}

// ---------------------------------------------------------------------------------------------
// Sample collection: criterion prints its own statistics, but the summary table needs numbers.

/// (iterations, elapsed) of every call of an `iter_custom` routine; the last `sample_size`
/// calls are criterion's measured samples (the earlier ones are its warm-up).
#[derive(Default)]
struct Samples(RefCell<Vec<(u64, Duration)>>);

impl Samples {
    fn record(&self, iters: u64, d: Duration) -> Duration {
        self.0.borrow_mut().push((iters, d));
        d
    }

    /// Median over the measured samples of the mean time per iteration, in seconds.
    fn median(&self, sample_size: usize) -> Option<f64> {
        let v = self.0.borrow();
        if v.len() < sample_size || sample_size == 0 {
            return None;
        }
        let mut per: Vec<f64> = v[v.len() - sample_size..]
            .iter()
            .map(|(n, d)| d.as_secs_f64() / *n as f64)
            .collect();
        Some(median(&mut per))
    }

    /// Iterations run in total, warm-up included (for durable benches: commits made).
    fn total_iters(&self) -> u64 {
        self.0.borrow().iter().map(|(n, _)| n).sum()
    }
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

// ---------------------------------------------------------------------------------------------
// The 100k store.

struct BigStore {
    svc: Service,
    tickets: u64,
    /// Tickets filed through `Service::create_ticket` (one durable commit each), and how long.
    via_service: u64,
    service_secs: f64,
    /// How long the batched rest took (`fill_batched`).
    batched_secs: f64,
    /// Service fill: tickets/s of each tenth of the fill (does creation slow as the store grows?).
    chunk_rates: Vec<f64>,
}

/// Writes exactly the rows `Service::create_ticket` writes for a registered, active requester
/// without e-mail, with a staff chat configured: ticket (+ indexes), `Created` event, audit row,
/// Telegram outbox row to the requester, ticket-card outbox row. Many tickets per transaction.
fn fill_batched(svc: &Service, rng: &mut Rng, n: u64, start: Timestamp) {
    let store = svc.store();
    let mut now = start;
    let mut done = 0u64;
    while done < n {
        let mut tx = store.write().expect("write tx");
        let batch = (n - done).min(FILL_BATCH as u64);
        for _ in 0..batch {
            let tg = FIRST_TG + rng.below(REQUESTERS as u64) as i64;
            let nt = new_ticket(rng, tg);
            let r = tx
                .requester(tg)
                .expect("read requester")
                .expect("requester registered");
            let id = tx.next_id(Seq::Ticket).expect("next id");
            let actor = Actor::Requester { tg_id: tg };
            now += 300;
            let ticket = Ticket {
                id,
                requester: Some(tg),
                requester_name: r.name.clone(),
                department: r.department.clone(),
                category: nt.category,
                priority: nt.priority,
                status: TicketStatus::New,
                assignee: None,
                subject: nt.subject.trim().to_string(),
                description: nt.description.trim().to_string(),
                order_lines: Vec::new(),
                source: nt.source,
                created_at: now,
                updated_at: now,
                first_response_at: None,
                resolved_at: None,
                closed_at: None,
                response_due: None,
                resolve_due: None,
                rejection_reason: None,
                rating: None,
            };
            tx.put_ticket(&ticket).expect("put ticket");
            tx.add_event(id, now, actor.clone(), EventKind::Created)
                .expect("event");
            tx.add_audit(
                now,
                &actor,
                "ticket.create",
                format!("ticket:{}", ticket.number()),
                ticket.subject.clone(),
            )
            .expect("audit");
            let template = svc.text(&tx, r.language, "ticket_created").expect("text");
            let text = render(
                &template,
                &[("n", &ticket.number()), ("subject", &ticket.subject)],
            );
            tx.add_outbox(
                now,
                OutboxMessage::Telegram {
                    chat_id: tg,
                    text,
                    markup: Markup::None,
                    thread_id: None,
                    reply_to: None,
                    media: None,
                },
                Some(id),
            )
            .expect("outbox");
            tx.add_outbox(now, OutboxMessage::TicketCard { ticket_id: id }, Some(id))
                .expect("outbox card");
        }
        tx.commit().expect("commit");
        done += batch;
    }
}

/// The shape of a JSON value: object keys and value kinds, values left out.
fn shape(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Null => Value::String("null".into()),
        Value::Bool(_) => Value::String("bool".into()),
        Value::Number(_) => Value::String("number".into()),
        Value::String(_) => Value::String("string".into()),
        Value::Array(xs) => Value::Array(xs.iter().map(shape).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

fn json<T: serde::Serialize>(x: &T) -> serde_json::Value {
    serde_json::to_value(x).expect("serialisable")
}

/// Guards the batched fill against drifting from `Service::create_ticket`: files one ticket
/// each way in a scratch store and checks that both wrote the same number of rows to every
/// table and rows of the same shape (ticket, timeline, outbox).
fn check_batched_fill_matches_service(root: &Path) {
    let clock = Arc::new(StepClock {
        now: AtomicI64::new(1_735_689_600),
        step: 300,
    });
    let svc = open_service(&root.join("guard"), clock.clone());
    let mut rng = Rng(3);
    register_requesters(&svc, &mut rng);
    let counts = |svc: &Service| -> Vec<(&'static str, u64)> {
        svc.read().expect("read").table_counts().expect("counts")
    };
    let tg = FIRST_TG + 1;
    // A first ticket creates the sequences in `meta`; compare the second with a batched one.
    svc.create_ticket(&Actor::Requester { tg_id: tg }, new_ticket(&mut rng, tg))
        .expect("create ticket");
    let c0 = counts(&svc);
    let by_service = svc
        .create_ticket(&Actor::Requester { tg_id: tg }, new_ticket(&mut rng, tg))
        .expect("create ticket");
    let c1 = counts(&svc);
    fill_batched(&svc, &mut rng, 1, clock.now());
    let c2 = counts(&svc);
    for ((name, a), ((_, b), (_, c))) in c0.iter().zip(c1.iter().zip(c2.iter())) {
        assert_eq!(
            b - a,
            c - b,
            "table '{name}': create_ticket wrote {} rows, the batched fill {}; update fill_batched",
            b - a,
            c - b
        );
    }
    let tx = svc.read().expect("read");
    let by_batch = tx
        .ticket(by_service.id + 1)
        .expect("read")
        .expect("batched ticket");
    assert_eq!(
        shape(&json(&by_service)),
        shape(&json(&by_batch)),
        "ticket rows differ in shape; update fill_batched"
    );
    let events = |id| json(&tx.ticket_events(id).expect("events"));
    assert_eq!(
        shape(&events(by_service.id)),
        shape(&events(by_batch.id)),
        "timeline rows differ"
    );
    let outbox = tx.outbox_due(i64::MAX, usize::MAX).expect("outbox");
    let rows_of = |id| {
        let rows: Vec<_> = outbox
            .iter()
            .filter(|r| r.ticket_id == Some(id))
            .map(|r| shape(&json(&r.message)))
            .collect();
        rows
    };
    assert_eq!(
        rows_of(by_service.id),
        rows_of(by_batch.id),
        "outbox rows differ; update fill_batched"
    );
}

fn build_big_store(root: &Path, n: u64) -> BigStore {
    let data_dir = root.join("big");
    let mode = std::env::var("HELPDESK_BENCH_FILL").unwrap_or_else(|_| "auto".into());
    // How long the service part of the fill may take before the rest is batched.
    let budget = match mode.as_str() {
        "batched" => Duration::ZERO,
        "service" => Duration::MAX,
        _ => Duration::from_secs(
            std::env::var("HELPDESK_BENCH_FILL_BUDGET")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(FILL_SERVICE_BUDGET_SECS),
        ),
    };
    let clock = Arc::new(StepClock {
        now: AtomicI64::new(1_735_689_600),
        step: 300,
    });
    let svc = open_service(&data_dir, clock.clone());
    let mut rng = Rng(0x5EED_0000_0000_0001);
    register_requesters(&svc, &mut rng);
    eprintln!(
        "[store bench] filling a store with {n} tickets (mode {mode}, service budget {budget:?})…"
    );
    let started = Instant::now();
    let mut chunk_rates = Vec::new();
    let chunk = (n / 10).max(1);
    let mut chunk_start = Instant::now();
    let mut via_service = 0u64;
    while via_service < n && started.elapsed() < budget {
        let tg = FIRST_TG + rng.below(REQUESTERS as u64) as i64;
        svc.create_ticket(&Actor::Requester { tg_id: tg }, new_ticket(&mut rng, tg))
            .expect("create ticket");
        via_service += 1;
        if via_service.is_multiple_of(chunk) {
            let rate = chunk as f64 / chunk_start.elapsed().as_secs_f64();
            chunk_rates.push(rate);
            eprintln!(
                "[store bench]   {via_service} tickets, {:.0} s, last {chunk} at {rate:.0}/s",
                started.elapsed().as_secs_f64()
            );
            chunk_start = Instant::now();
        }
    }
    let service_secs = started.elapsed().as_secs_f64();
    let batch_started = Instant::now();
    if via_service < n {
        eprintln!(
            "[store bench]   {via_service} tickets through the service in {service_secs:.0} s; \
             batching the other {}",
            n - via_service
        );
        fill_batched(&svc, &mut rng, n - via_service, clock.now());
    }
    let batched_secs = batch_started.elapsed().as_secs_f64();
    // Sanity: the store holds what create_ticket writes.
    let tx = svc.read().expect("read");
    let counts: std::collections::BTreeMap<_, _> =
        tx.table_counts().expect("counts").into_iter().collect();
    assert_eq!(counts["tickets"], n);
    assert_eq!(counts["ticket_events"], n);
    assert_eq!(counts["outbox"], 2 * n);
    assert_eq!(counts["audit"], n + REQUESTERS as u64);
    drop(tx);
    eprintln!(
        "[store bench] filled in {:.1} s; redb file {:.1} MB",
        service_secs + batched_secs,
        mb(svc.store().file_size())
    );
    BigStore {
        svc,
        tickets: n,
        via_service,
        service_secs,
        batched_secs,
        chunk_rates,
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

// ---------------------------------------------------------------------------------------------

struct OneShot {
    snapshot_secs: Vec<f64>,
    restore_secs: Vec<f64>,
    archive_bytes: u64,
    restored_redb_bytes: u64,
}

fn snapshot_and_restore(big: &BigStore, root: &Path) -> OneShot {
    let store = big.svc.store();
    let mut snapshot_secs = Vec::new();
    let mut archive: Option<PathBuf> = None;
    for i in 0..ONE_SHOT_RUNS {
        let dest = root.join(format!("snap-{i}"));
        let started = Instant::now();
        let path = archive::write_snapshot(store, &dest, Kind::Manual, 1_767_225_600 + i as i64)
            .expect("snapshot");
        let secs = started.elapsed().as_secs_f64();
        eprintln!("[store bench] snapshot {}: {secs:.2} s", i + 1);
        snapshot_secs.push(secs);
        if let Some(old) = archive.replace(path) {
            let _ = std::fs::remove_file(old);
        }
    }
    let archive = archive.expect("an archive");
    let archive_bytes = std::fs::metadata(&archive).expect("archive size").len();
    let mut restore_secs = Vec::new();
    let mut restored_redb_bytes = 0;
    for i in 0..ONE_SHOT_RUNS {
        let dest = root.join(format!("restored-{i}"));
        let started = Instant::now();
        let report = archive::restore(&archive, &dest).expect("restore");
        let secs = started.elapsed().as_secs_f64();
        eprintln!("[store bench] restore {}: {secs:.2} s", i + 1);
        assert_eq!(report.rows["tickets"], big.tickets);
        restore_secs.push(secs);
        restored_redb_bytes = std::fs::metadata(dest.join(helpdesk::store::DB_FILE))
            .map(|m| m.len())
            .unwrap_or(0);
        if i == 0 {
            // The restored store answers the same list query.
            let s = Store::open(&dest).expect("open restored");
            let page = s
                .read()
                .expect("read")
                .tickets(&status_new(), 0, 50)
                .expect("list");
            assert_eq!(page.tickets.len(), 50);
        }
        let _ = std::fs::remove_dir_all(&dest);
    }
    OneShot {
        snapshot_secs,
        restore_secs,
        archive_bytes,
        restored_redb_bytes,
    }
}

fn status_new() -> TicketFilter {
    TicketFilter {
        statuses: vec![TicketStatus::New],
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------

/// Alternates short blocks of raw commits and service commits so both see the same disk
/// weather (on this box the flush latency swings by 10x within seconds); returns
/// (raw commits/s, service tickets/s) per round of `PAIRED_COMMITS` of each.
fn interleaved(raw: &Store, raw_key: &mut u64, svc: &Service, pool: &[NewTicket]) -> Paired {
    let value = raw_value();
    let mut p = Paired::default();
    let mut k = 0usize;
    let (mut raw_cost, mut svc_cost) = (Cost::default(), Cost::default());
    for _ in 0..PAIRED_ROUNDS {
        let (mut raw_time, mut svc_time) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..PAIRED_COMMITS / PAIRED_BLOCK {
            let before = Cost::now();
            let started = Instant::now();
            for _ in 0..PAIRED_BLOCK {
                *raw_key += 1;
                raw.bench_raw_insert(*raw_key, &value).expect("raw insert");
            }
            raw_time += started.elapsed();
            raw_cost.add(before, Cost::now());
            let batch: Vec<NewTicket> = (0..PAIRED_BLOCK)
                .map(|_| {
                    k += 1;
                    pool[k % pool.len()].clone()
                })
                .collect();
            let before = Cost::now();
            let started = Instant::now();
            for nt in batch {
                let tg = nt.requester.expect("requester");
                svc.create_ticket(&Actor::Requester { tg_id: tg }, nt)
                    .expect("create ticket");
            }
            svc_time += started.elapsed();
            svc_cost.add(before, Cost::now());
        }
        p.rounds.push((
            PAIRED_COMMITS as f64 / raw_time.as_secs_f64(),
            PAIRED_COMMITS as f64 / svc_time.as_secs_f64(),
        ));
    }
    let commits = (PAIRED_ROUNDS as u64 * PAIRED_COMMITS) as f64;
    p.raw_cpu_us = raw_cost.cpu_us / commits;
    p.svc_cpu_us = svc_cost.cpu_us / commits;
    p.raw_write_kib = raw_cost.write_bytes.map(|b| b as f64 / 1024.0 / commits);
    p.svc_write_kib = svc_cost.write_bytes.map(|b| b as f64 / 1024.0 / commits);
    p
}

/// What the interleaved comparison found.
#[derive(Default)]
struct Paired {
    /// (raw commits/s, service tickets/s) per round.
    rounds: Vec<(f64, f64)>,
    /// CPU time (user + system) of this process per commit, µs.
    raw_cpu_us: f64,
    svc_cpu_us: f64,
    /// Bytes this process sent to storage per commit (`write_bytes` of /proc/self/io), KiB.
    raw_write_kib: Option<f64>,
    svc_write_kib: Option<f64>,
}

/// CPU time and storage writes of this process, to explain where a commit's time goes.
#[derive(Default, Clone, Copy)]
struct Cost {
    cpu_us: f64,
    write_bytes: Option<u64>,
}

impl Cost {
    fn now() -> Cost {
        // SAFETY: getrusage only writes into the zeroed struct we pass.
        let cpu_us = unsafe {
            let mut ru: libc::rusage = std::mem::zeroed();
            if libc::getrusage(libc::RUSAGE_SELF, &mut ru) == 0 {
                let us = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
                us(ru.ru_utime) + us(ru.ru_stime)
            } else {
                0.0
            }
        };
        let write_bytes = std::fs::read_to_string("/proc/self/io")
            .ok()
            .and_then(|io| {
                io.lines()
                    .find_map(|l| l.strip_prefix("write_bytes:"))
                    .and_then(|v| v.trim().parse().ok())
            });
        Cost {
            cpu_us,
            write_bytes,
        }
    }

    fn add(&mut self, before: Cost, after: Cost) {
        self.cpu_us += after.cpu_us - before.cpu_us;
        self.write_bytes = match (before.write_bytes, after.write_bytes) {
            (Some(b), Some(a)) => Some(self.write_bytes.unwrap_or(0) + (a - b)),
            _ => None,
        };
    }
}

fn raw_value() -> Vec<u8> {
    // ~300 bytes, not all zeros: a plausible encoded record.
    let mut rng = Rng(42);
    (0..300).map(|_| (rng.next() >> 56) as u8).collect()
}

fn fmt_rate(per_iter: Option<f64>) -> String {
    per_iter
        .map(|s| format!("{:.0}/s ({:.2} ms)", 1.0 / s, s * 1e3))
        .unwrap_or_else(|| "n/a".into())
}

fn fmt_us(per_iter: Option<f64>) -> String {
    per_iter
        .map(|s| format!("{:.1} µs", s * 1e6))
        .unwrap_or_else(|| "n/a".into())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "MET" } else { "MISSED" }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path();
    let n_big: u64 = std::env::var("HELPDESK_BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);

    // --- 1 and 2: durable commits -------------------------------------------------------------
    let raw_store = Store::open(&root.join("raw")).expect("open raw store");
    let svc = open_service(&root.join("svc"), Arc::new(SystemClock));
    let mut rng = Rng(7);
    register_requesters(&svc, &mut rng);
    let pool: Vec<NewTicket> = (0..1000)
        .map(|_| {
            let tg = FIRST_TG + rng.below(REQUESTERS as u64) as i64;
            new_ticket(&mut rng, tg)
        })
        .collect();
    let value = raw_value();
    let mut raw_key = 0u64;

    const DURABLE_SAMPLES: usize = 20;
    let raw_samples = Samples::default();
    let svc_samples = Samples::default();
    {
        let mut g = c.benchmark_group("durable_commit");
        g.sample_size(DURABLE_SAMPLES)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(2))
            .measurement_time(Duration::from_secs(10))
            .throughput(Throughput::Elements(1));
        g.bench_function("raw_insert_300B", |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                for _ in 0..iters {
                    raw_key += 1;
                    raw_store
                        .bench_raw_insert(raw_key, black_box(&value))
                        .expect("raw insert");
                }
                raw_samples.record(iters, started.elapsed())
            })
        });
        let mut k = 0usize;
        g.bench_function("service_create_ticket", |b| {
            b.iter_custom(|iters| {
                let batch: Vec<NewTicket> = (0..iters)
                    .map(|_| {
                        k += 1;
                        pool[k % pool.len()].clone()
                    })
                    .collect();
                let started = Instant::now();
                for nt in batch {
                    let tg = nt.requester.expect("requester");
                    black_box(
                        svc.create_ticket(&Actor::Requester { tg_id: tg }, nt)
                            .expect("create ticket"),
                    );
                }
                svc_samples.record(iters, started.elapsed())
            })
        });
        g.finish();
    }
    let paired = if raw_samples.total_iters() > 0 && svc_samples.total_iters() > 0 {
        eprintln!("[store bench] interleaved raw/service rounds…");
        Some(interleaved(&raw_store, &mut raw_key, &svc, &pool))
    } else {
        None
    };
    let svc_store_tickets = svc.read().expect("read").ticket_count().expect("count");
    let svc_store_bytes = svc.store().file_size();
    drop(svc);
    drop(raw_store);

    // --- 3: reads at 100k ---------------------------------------------------------------------
    check_batched_fill_matches_service(root);
    let big = build_big_store(root, n_big);
    let big_redb_bytes = big.svc.store().file_size();
    let store = big.svc.store();
    let mut id_rng = Rng(99);
    let ids: Vec<u64> = (0..4096).map(|_| 1 + id_rng.below(big.tickets)).collect();
    const READ_SAMPLES: usize = 50;
    let get_samples = Samples::default();
    let list_samples = Samples::default();
    let filter = status_new();
    {
        let mut g = c.benchmark_group(format!("reads_at_{}k", big.tickets / 1000));
        g.sample_size(READ_SAMPLES)
            .warm_up_time(Duration::from_secs(2))
            .measurement_time(Duration::from_secs(5))
            .throughput(Throughput::Elements(1));
        let mut i = 0usize;
        g.bench_function("get_by_id", |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                for _ in 0..iters {
                    i = (i + 1) % ids.len();
                    let tx = store.read().expect("read");
                    let t = tx
                        .ticket(black_box(ids[i]))
                        .expect("get")
                        .expect("ticket exists");
                    black_box(t);
                }
                get_samples.record(iters, started.elapsed())
            })
        });
        g.bench_function("list_50_by_status_new", |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                for _ in 0..iters {
                    let tx = store.read().expect("read");
                    let page = tx.tickets(black_box(&filter), 0, 50).expect("list");
                    assert!(page.tickets.len() == 50 && page.has_more);
                    black_box(page);
                }
                list_samples.record(iters, started.elapsed())
            })
        });
        g.finish();
    }

    // --- 4: snapshot and restore --------------------------------------------------------------
    eprintln!("[store bench] snapshot and restore, {ONE_SHOT_RUNS} runs each…");
    let o = snapshot_and_restore(&big, root);

    c.final_summary();

    // --- summary ------------------------------------------------------------------------------
    let raw_med = raw_samples.median(DURABLE_SAMPLES);
    let svc_med = svc_samples.median(DURABLE_SAMPLES);
    let get_med = get_samples.median(READ_SAMPLES);
    let list_med = list_samples.median(READ_SAMPLES);
    println!();
    println!("== helpdesk store bench: summary (all figures from this run) ==");
    println!(
        "{:<52} {}",
        "raw redb durable insert (300 B), median",
        fmt_rate(raw_med)
    );
    println!(
        "{:<52} {}",
        "service create_ticket (durable), median",
        fmt_rate(svc_med)
    );
    if let (Some(r), Some(s)) = (raw_med, svc_med) {
        let ratio = r / s;
        println!(
            "{:<52} {:.0}%   target >= 50%: {}",
            "service / raw rate (criterion medians)",
            ratio * 100.0,
            verdict(ratio >= 0.5)
        );
    }
    if let Some(p) = &paired {
        let mut ratios: Vec<f64> = p.rounds.iter().map(|(r, s)| s / r).collect();
        let rounds: Vec<String> = p
            .rounds
            .iter()
            .map(|(r, s)| format!("{r:.0}/{s:.0}"))
            .collect();
        let m = median(&mut ratios);
        println!(
            "{:<52} {:.0}%   target >= 50%: {}",
            format!("service / raw rate (interleaved, median of {PAIRED_ROUNDS})"),
            m * 100.0,
            verdict(m >= 0.5)
        );
        println!(
            "{:<52} {}",
            "  raw/s / service/s per round",
            rounds.join(", ")
        );
        println!(
            "{:<52} raw {:.0} µs, service {:.0} µs",
            "  CPU time per commit (user + system)", p.raw_cpu_us, p.svc_cpu_us
        );
        if let (Some(r), Some(s)) = (p.raw_write_kib, p.svc_write_kib) {
            println!(
                "{:<52} raw {r:.1} KiB, service {s:.1} KiB",
                "  bytes written to storage per commit"
            );
        }
    }
    println!(
        "{:<52} {} tickets, {:.1} MB ({:.0} B/ticket)",
        "service-bench store after the run",
        svc_store_tickets,
        mb(svc_store_bytes),
        svc_store_bytes as f64 / svc_store_tickets.max(1) as f64
    );
    let service_rate = big.via_service as f64 / big.service_secs.max(1e-9);
    println!(
        "{:<52} {} tickets in {:.1} s = {:.0} tickets/s (one durable commit each)",
        format!(
            "fill {}k: through Service::create_ticket",
            big.tickets / 1000
        ),
        big.via_service,
        big.service_secs,
        service_rate
    );
    if !big.chunk_rates.is_empty() {
        let rates: Vec<String> = big.chunk_rates.iter().map(|r| format!("{r:.0}")).collect();
        println!(
            "{:<52} {} tickets/s",
            format!("  rate per {} tickets", (big.tickets / 10).max(1)),
            rates.join(", ")
        );
    }
    if big.via_service < big.tickets {
        println!(
            "{:<52} {} tickets in {:.1} s = {:.0} tickets/s ({FILL_BATCH} per durable commit)",
            "fill: the rest, same rows batched via WriteTx",
            big.tickets - big.via_service,
            big.batched_secs,
            (big.tickets - big.via_service) as f64 / big.batched_secs.max(1e-9)
        );
        if big.via_service > 0 {
            println!(
                "{:<52} ~{:.0} s at the rate above",
                "  a full fill through the service would take",
                big.tickets as f64 / service_rate
            );
        }
    }
    println!(
        "{:<52} {:.1} MB ({:.0} B/ticket)",
        "redb file of the big store",
        mb(big_redb_bytes),
        big_redb_bytes as f64 / big.tickets as f64
    );
    println!(
        "{:<52} {}",
        "get-by-id (new read tx each), median",
        fmt_us(get_med)
    );
    if let Some(l) = list_med {
        println!(
            "{:<52} {}   target < 1 ms: {}",
            "list-50-by-status New (new read tx each), median",
            fmt_us(list_med),
            verdict(l < 1e-3)
        );
    }
    {
        let mut snap = o.snapshot_secs.clone();
        let mut rest = o.restore_secs.clone();
        let snap_med = median(&mut snap);
        let rest_med = median(&mut rest);
        let fmt_runs = |v: &[f64]| {
            v.iter()
                .map(|s| format!("{s:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "{:<52} median {:.2} s (runs: {} s) = {:.1} MB/s of redb file, {:.1} MB/s of archive",
            "snapshot",
            snap_med,
            fmt_runs(&o.snapshot_secs),
            mb(big_redb_bytes) / snap_med,
            mb(o.archive_bytes) / snap_med
        );
        println!(
            "{:<52} median {:.2} s (runs: {} s) = {:.1} MB/s of archive, {:.1} MB/s of redb file",
            "restore (verify + load + rebuild indexes)",
            rest_med,
            fmt_runs(&o.restore_secs),
            mb(o.archive_bytes) / rest_med,
            mb(big_redb_bytes) / rest_med
        );
        let ratio = o.archive_bytes as f64 / big_redb_bytes as f64;
        println!(
            "{:<52} {:.2} MB / {:.1} MB = {:.1}%   target <= 30%: {}",
            "archive size / redb file size",
            mb(o.archive_bytes),
            mb(big_redb_bytes),
            ratio * 100.0,
            verdict(ratio <= 0.3)
        );
        println!(
            "{:<52} {:.1} MB (archive / restored file = {:.1}%)",
            "redb file after restore (compact, one transaction)",
            mb(o.restored_redb_bytes),
            o.archive_bytes as f64 / o.restored_redb_bytes.max(1) as f64 * 100.0
        );
    }
}
