//! A broadcast to 500 requesters through the real delivery runtime (the outbox sender and
//! teloxide) against the Bot API emulator over HTTP, which enforces Telegram's limits live:
//! every message arrives exactly once, no limit is broken, and no 429 is ever needed.

mod tg_emulator;

use std::sync::Arc;
use std::time::{Duration, Instant};

use helpdesk::clock::SystemClock;
use helpdesk::config::Config;
use helpdesk::domain::{Actor, Role};
use helpdesk::notify::{Sender, TelegramOut};
use helpdesk::service::{NewStaff, Service, ServiceConfig};
use helpdesk::store::Store;
use tg_emulator::Emulator;

const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
const USERS: i64 = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_to_500_users_respects_the_limits_and_loses_nothing() {
    let emu = Emulator::start(TOKEN);
    emu.enforce_limits(true);
    let dir = tempfile::tempdir().unwrap();
    let svc = Service::new(
        Store::open(dir.path()).unwrap(),
        Arc::new(SystemClock),
        ServiceConfig::default(),
    );
    let admin = {
        let s = svc.clone();
        tokio::task::spawn_blocking(move || {
            s.add_staff(
                &Actor::Cli,
                NewStaff {
                    login: "boss".into(),
                    password: "password1".into(),
                    role: Role::Admin,
                    telegram_id: None,
                    display_name: None,
                },
            )
            .unwrap();
            for i in 0..USERS {
                s.register_requester(10_000 + i, "Сотрудник Тестов", None, None, None, None)
                    .unwrap();
            }
        })
        .await
        .unwrap();
        Actor::Staff {
            login: "boss".into(),
            role: Role::Admin,
        }
    };
    let env = vec![
        ("HELPDESK_TELEGRAM_TOKEN".to_string(), TOKEN.to_string()),
        ("HELPDESK_TELEGRAM_API_URL".to_string(), emu.api_url()),
    ];
    let config = Config::from_parts(None, "", &env).unwrap();
    let bot = helpdesk::bot::make_bot(&config);
    let wake = Arc::new(tokio::sync::Notify::new());
    let w = wake.clone();
    svc.set_outbox_waker(move || w.notify_one());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let sender = tokio::spawn(
        Sender::new(
            svc.clone(),
            Some(TelegramOut::new(bot, 0, Default::default())),
            None,
            wake,
        )
        .run(stop_rx),
    );

    let started = Instant::now();
    let s = svc.clone();
    let (batch, n) =
        tokio::task::spawn_blocking(move || s.broadcast(&admin, "Плановые работы в субботу", None))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(n, USERS as u64);
    let done = emu
        .wait_for_sent_async(
            |sent| sent.len() >= USERS as usize,
            Duration::from_secs(120),
        )
        .await;
    let elapsed = started.elapsed();
    assert!(
        done,
        "only {} of {USERS} delivered",
        emu.sent_messages().len()
    );
    // Give a duplicate, if any, the chance to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = emu.sent_messages();
    assert_eq!(sent.len(), USERS as usize, "each user exactly once");
    let mut chats: Vec<i64> = sent.iter().map(|m| m.chat_id).collect();
    chats.sort_unstable();
    chats.dedup();
    assert_eq!(chats.len(), USERS as usize);
    assert_eq!(emu.check_rate_limits(), Ok(()));
    assert!(
        emu.calls().iter().all(|c| c.status != 429),
        "the sender never needed a 429"
    );
    // 500 messages at under 30/s cannot take less than ~17 s.
    assert!(
        elapsed >= Duration::from_secs(16),
        "too fast for Telegram's limits: {elapsed:?}"
    );
    let s = svc.clone();
    let p = tokio::task::spawn_blocking(move || s.broadcast_progress(batch))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p.delivered, p.pending, p.failed), (USERS as u64, 0, 0));
    println!(
        "broadcast of {USERS}: {elapsed:?} ({:.1} msg/s)",
        USERS as f64 / elapsed.as_secs_f64()
    );
    stop_tx.send(true).unwrap();
    sender.await.unwrap();
}
