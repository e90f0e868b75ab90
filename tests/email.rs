//! E-mail through a real SMTP server on loopback (mailin-embedded): requester notifications
//! and the digest with its XLSX attachment; an SMTP outage delays but loses nothing; a refused
//! recipient is given up and stays visible as failed.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use helpdesk::clock::SystemClock;
use helpdesk::config::{Secret, SmtpConfig, SmtpSecurity};
use helpdesk::domain::{Actor, Category, Priority, Role, Source};
use helpdesk::notify::{Mailer, Sender};
use helpdesk::service::{NewStaff, NewTicket, Service, ServiceConfig};
use helpdesk::store::{Reads, Store};
use mailin_embedded::{Handler, Response, Server, response};

/// A received mail: recipients and the raw message.
type Mail = (Vec<String>, String);

#[derive(Clone, Default)]
struct Inbox {
    mails: Arc<Mutex<Vec<Mail>>>,
    current: Arc<Mutex<(Vec<String>, Vec<u8>)>>,
}

impl Handler for Inbox {
    fn rcpt(&mut self, to: &str) -> Response {
        if to.starts_with("bad") {
            response::NO_MAILBOX
        } else {
            response::OK
        }
    }
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        *self.current.lock().unwrap() = (to.to_vec(), Vec::new());
        response::OK
    }
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.lock().unwrap().1.extend_from_slice(buf);
        Ok(())
    }
    fn data_end(&mut self) -> Response {
        let (to, data) = std::mem::take(&mut *self.current.lock().unwrap());
        self.mails
            .lock()
            .unwrap()
            .push((to, String::from_utf8_lossy(&data).to_string()));
        response::OK
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the SMTP server on `port` in a thread (it runs until the test process ends).
fn start_smtp(port: u16) -> Inbox {
    let inbox = Inbox::default();
    let mut server = Server::new(inbox.clone());
    server
        .with_name("mail.test")
        .with_addr(("127.0.0.1", port))
        .unwrap();
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    inbox
}

fn wait(mut f: impl FnMut() -> bool, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    f()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_and_digest_reach_a_real_smtp_server_even_after_an_outage() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServiceConfig {
        email_enabled: true,
        ..ServiceConfig::default()
    };
    let svc = Service::new(Store::open(dir.path()).unwrap(), Arc::new(SystemClock), cfg);
    let smtp = SmtpConfig {
        enabled: true,
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        username: String::new(),
        password: Secret::default(),
        from: "helpdesk@office.test".into(),
    };
    let mailer = Mailer::new(&smtp).unwrap();
    let wake = Arc::new(tokio::sync::Notify::new());
    let w = wake.clone();
    svc.set_outbox_waker(move || w.notify_one());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let sender = tokio::spawn(Sender::new(svc.clone(), None, Some(mailer), wake).run(stop_rx));

    // SMTP is down: a ticket is filed and its e-mail waits.
    let s = svc.clone();
    tokio::task::spawn_blocking(move || {
        s.register_requester(501, "Иван Петров", None, None, None, None)
            .unwrap();
        s.set_requester_email(
            &Actor::Requester { tg_id: 501 },
            501,
            Some("ivan@office.test"),
        )
        .unwrap();
        s.create_ticket(
            &Actor::Requester { tg_id: 501 },
            NewTicket {
                requester: Some(501),
                requester_name: None,
                category: Category::Printer,
                priority: Priority::Normal,
                subject: "Не печатает принтер".into(),
                description: String::new(),
                order: vec![],
                source: Source::Telegram,
                idempotency_key: None,
                attachments: vec![],
            },
        )
        .unwrap();
    })
    .await
    .unwrap();
    let s = svc.clone();
    let tried = tokio::task::spawn_blocking(move || {
        wait(
            || {
                s.read()
                    .unwrap()
                    .outbox_all()
                    .unwrap()
                    .iter()
                    .any(|r| r.attempts > 0 && r.last_error.is_some())
            },
            Duration::from_secs(10),
        )
    })
    .await
    .unwrap();
    assert!(tried, "a delivery was attempted while SMTP was down");
    assert_eq!(
        svc.read().unwrap().outbox_counts().unwrap().1,
        0,
        "not given up: only delayed"
    );

    // SMTP comes back: the e-mail arrives, once.
    let inbox = start_smtp(port);
    let got = {
        let i = inbox.clone();
        tokio::task::spawn_blocking(move || {
            wait(
                || !i.mails.lock().unwrap().is_empty(),
                Duration::from_secs(30),
            )
        })
        .await
        .unwrap()
    };
    assert!(got, "the delayed e-mail never arrived");
    {
        let mails = inbox.mails.lock().unwrap();
        assert_eq!(mails.len(), 1);
        let (to, data) = &mails[0];
        assert_eq!(to, &vec!["ivan@office.test".to_string()]);
        assert!(data.contains("From: helpdesk@office.test"), "{data}");
        assert!(data.contains("To: ivan@office.test"), "{data}");
        assert!(data.contains("Subject:"), "{data}");
        assert!(
            data.contains("=?utf-8?") || data.contains("#1"),
            "encoded subject: {data}"
        );
    }

    // The digest goes to a subscribed admin by e-mail with the open tickets as XLSX.
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
        let boss = Actor::Staff {
            login: "boss".into(),
            role: Role::Admin,
        };
        s.set_staff_email(&boss, "boss", Some("boss@office.test"))
            .unwrap();
        s.set_digest_subscription(&boss, "boss", true).unwrap();
        s.send_digest("2026-11-21", (0, 1)).unwrap();
    })
    .await
    .unwrap();
    let i = inbox.clone();
    let got = tokio::task::spawn_blocking(move || {
        wait(
            || i.mails.lock().unwrap().len() >= 2,
            Duration::from_secs(20),
        )
    })
    .await
    .unwrap();
    assert!(got, "digest never arrived");
    let digest = inbox.mails.lock().unwrap()[1].1.clone();
    assert!(digest.contains("multipart/mixed"), "{digest}");
    assert!(digest.contains("open-tickets-2026-11-21.xlsx"), "{digest}");
    assert!(digest.contains("spreadsheetml"), "{digest}");
    let xlsx = attachment_bytes(&digest, "open-tickets-2026-11-21.xlsx");
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(xlsx)).expect("the attachment is an XLSX (zip)");
    let mut sheet = String::new();
    let shared = zip.by_name("xl/sharedStrings.xml").map(|mut f| {
        std::io::Read::read_to_string(&mut f, &mut sheet).unwrap();
        sheet.clone()
    });
    let text = shared.unwrap_or_default();
    assert!(
        text.contains("#1") && text.contains("Не печатает принтер"),
        "{text}"
    );

    // A recipient the server refuses: given up (failed), not retried forever.
    let s = svc.clone();
    tokio::task::spawn_blocking(move || {
        s.set_requester_email(
            &Actor::Requester { tg_id: 501 },
            501,
            Some("bad@office.test"),
        )
        .unwrap();
        let t = s.read().unwrap().ticket(1).unwrap().unwrap();
        s.add_staff(
            &Actor::Cli,
            NewStaff {
                login: "olga".into(),
                password: "password1".into(),
                role: Role::Operator,
                telegram_id: None,
                display_name: None,
            },
        )
        .unwrap();
        s.reply(
            &Actor::Staff {
                login: "olga".into(),
                role: Role::Operator,
            },
            t.id,
            "Проверьте бумагу",
        )
        .unwrap();
    })
    .await
    .unwrap();
    let s = svc.clone();
    let failed = tokio::task::spawn_blocking(move || {
        wait(
            || s.read().unwrap().outbox_counts().unwrap().1 == 1,
            Duration::from_secs(20),
        )
    })
    .await
    .unwrap();
    assert!(failed, "the refused recipient's row is marked failed");
    let row = svc
        .read()
        .unwrap()
        .outbox_all()
        .unwrap()
        .into_iter()
        .find(|r| r.failed)
        .unwrap();
    assert!(row.last_error.unwrap().contains("550"));
    stop_tx.send(true).unwrap();
    sender.await.unwrap();
}

/// Decodes the base64 body of the MIME part whose headers name `file`.
fn attachment_bytes(mail: &str, file: &str) -> Vec<u8> {
    let start = mail.find(file).expect("attachment header");
    let rest = &mail[start..];
    let body_start = rest.find("\r\n\r\n").map(|i| i + 4).expect("part body");
    let body = &rest[body_start..];
    let end = body.find("\r\n--").unwrap_or(body.len());
    let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
    decode_base64(&b64)
}

fn decode_base64(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => 0,
        }
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c) << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

#[test]
fn mail_test_command_reports_the_servers_answer() {
    let port = free_port();
    let inbox = start_smtp(port);
    let dir = tempfile::tempdir().unwrap();
    let run = |to: &str, enabled: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_helpdesk"))
            .args(["mail-test", "--to", to])
            .current_dir(dir.path())
            .env("HELPDESK_SMTP_ENABLED", enabled)
            .env("HELPDESK_SMTP_HOST", "127.0.0.1")
            .env("HELPDESK_SMTP_PORT", port.to_string())
            .env("HELPDESK_SMTP_SECURITY", "none")
            .env("HELPDESK_SMTP_FROM", "helpdesk@office.test")
            .output()
            .unwrap()
    };
    let ok = run("admin@office.test", "true");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("sent to admin@office.test"));
    assert!(wait(
        || inbox.mails.lock().unwrap().len() == 1,
        Duration::from_secs(5)
    ));
    let refused = run("bad@office.test", "true");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("550"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let off = run("admin@office.test", "false");
    assert!(!off.status.success());
    assert!(String::from_utf8_lossy(&off.stderr).contains("smtp.enabled"));
}
