//! The panel's `/faq` and `/settings` areas over HTTP, against the real binary: sign in,
//! create/edit FAQ entries and see the try box follow, CSRF and role refusals, escaping,
//! CSV export/import, bot text overrides and placeholder checks.
//!
//! The client keeps cookies by hand (reqwest is built without its cookie store) and does not
//! follow redirects, so every 303 is checked.

mod common;

use common::browser::Browser;
use common::{Sandbox, Server};

const PASSWORD: &str = "password1";

/// The value of attribute `attr` on the element with `id="{id}"`, if there is one.
fn attr_of(html: &str, id: &str, attr: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let key = format!("{attr}=\"");
    let v = tag.find(&key)? + key.len();
    Some(tag[v..].split('"').next().unwrap_or("").to_string())
}

/// The rows (`data-id`) of the FAQ list table.
fn list_ids(b: &mut Browser) -> Vec<u64> {
    let page = b.get("/faq");
    assert_eq!(page.status, 200);
    let html = page.text();
    let table = &html[html.find("id=\"faq\"").expect("faq table")..];
    table
        .split("<tr data-id=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().parse().unwrap())
        .collect()
}

/// What the try box says: (decision, entry id, runner-up id).
fn try_q(b: &mut Browser, q: &str) -> (String, String, String) {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    ser.append_pair("q", q);
    let page = b.get(&format!("/faq/try?{}", ser.finish()));
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    (
        attr_of(&html, "try-result", "data-decision").expect("decision"),
        attr_of(&html, "try-entry", "data-id").unwrap_or_default(),
        attr_of(&html, "try-runner-up", "data-id").unwrap_or_default(),
    )
}

/// A sandbox with an admin `boss` and an operator `olga`, and its server.
fn start() -> (Sandbox, Server) {
    let sb = Sandbox::new();
    for (login, role) in [("boss", "admin"), ("olga", "operator")] {
        sb.run_stdin(
            [
                "admin",
                "add",
                "--login",
                login,
                "--role",
                role,
                "--password-stdin",
            ],
            &format!("{PASSWORD}\n"),
        )
        .success();
    }
    let server = sb.serve(&[]);
    (sb, server)
}

fn create_entry(b: &mut Browser, csrf: &str, q: &str, alts: &str, answer: &str) -> u64 {
    let r = b.post(
        "/faq/new",
        &[
            ("csrf", csrf),
            ("question", q),
            ("alternatives", alts),
            ("answer", answer),
            ("enabled", "on"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let loc = r.header("location");
    loc.strip_prefix("/faq/")
        .and_then(|s| s.split('?').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("unexpected location {loc:?}"))
}

#[test]
fn faq_create_try_edit_refusals_escaping_and_csv() {
    let (_sb, server) = start();
    let mut b = Browser::login(&server, "boss", PASSWORD);
    let csrf = b.csrf();

    // Create; it is listed; the try box answers with it.
    let vpn = create_entry(
        &mut b,
        &csrf,
        "How do I connect to the VPN?",
        "vpn does not work\nremote access",
        "Open the VPN client and sign in with your office login.",
    );
    let pwd = create_entry(
        &mut b,
        &csrf,
        "Как сменить пароль?",
        "забыл пароль",
        "Нажмите Ctrl+Alt+Del и выберите «Сменить пароль».",
    );
    assert_eq!(list_ids(&mut b), vec![vpn, pwd]);
    let (decision, entry, _) = try_q(&mut b, "vpn does not work");
    assert_eq!(
        (decision.as_str(), entry.clone()),
        ("confident", vpn.to_string())
    );
    let page = b.get("/faq/try?q=vpn%20does%20not%20work").text();
    assert!(page.contains("Open the VPN client"), "{page}");

    // Edit: the try box follows at once.
    let r = b.post(
        &format!("/faq/{vpn}"),
        &[
            ("csrf", &csrf),
            ("question", "Where is the printer?"),
            ("alternatives", "printer offline"),
            ("answer", "Second floor, next to the kitchen."),
            ("enabled", "on"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let (decision, entry, _) = try_q(&mut b, "printer offline");
    assert_eq!((decision.as_str(), entry), ("confident", vpn.to_string()));
    let (_, entry, runner_up) = try_q(&mut b, "vpn does not work");
    assert_ne!(entry, vpn.to_string());
    assert_ne!(runner_up, vpn.to_string());

    // Validation: 400, the form refilled, nothing created.
    let r = b.post(
        "/faq/new",
        &[
            ("csrf", &csrf),
            ("question", "x"),
            ("answer", "An answer typed 7731"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("An answer typed 7731"));
    assert!(attr_of(&r.text(), "form-error", "role").is_some());
    assert_eq!(list_ids(&mut b), vec![vpn, pwd]);

    // No CSRF token (or a wrong one): 403, nothing changed.
    for token in [None, Some("0".repeat(64))] {
        let mut form = vec![
            ("question", "Hijacked question?"),
            ("answer", "Hijacked."),
            ("enabled", "on"),
        ];
        if let Some(t) = &token {
            form.push(("csrf", t));
        }
        assert_eq!(b.post(&format!("/faq/{vpn}"), &form).status, 403);
        assert_eq!(b.post("/faq/new", &form).status, 403);
        assert_eq!(b.post(&format!("/faq/{vpn}/disable"), &form).status, 403);
    }
    let page = b.get(&format!("/faq/{vpn}")).text();
    assert!(page.contains("Where is the printer?"));
    assert!(!page.contains("Hijacked"));
    assert_eq!(list_ids(&mut b), vec![vpn, pwd]);

    // Disable / enable.
    let r = b.post(&format!("/faq/{vpn}/disable"), &[("csrf", &csrf)]);
    assert_eq!(r.status, 303);
    assert_ne!(try_q(&mut b, "printer offline").1, vpn.to_string());
    assert!(b.get("/faq").text().contains("data-enabled=\"false\""));
    let r = b.post(&format!("/faq/{vpn}/enable"), &[("csrf", &csrf)]);
    assert_eq!(r.status, 303);
    assert_eq!(try_q(&mut b, "printer offline").1, vpn.to_string());

    // Escaping.
    let xss = create_entry(
        &mut b,
        &csrf,
        "<script>alert(1)</script> what?",
        "<img src=x onerror=alert(2)>",
        "<b>bold</b>",
    );
    for path in [
        "/faq".to_string(),
        format!("/faq/{xss}"),
        "/faq/try?q=script%20alert".into(),
    ] {
        let html = b.get(&path).text();
        assert!(
            !html.contains("<script>alert(1)</script>"),
            "{path}: {html}"
        );
        assert!(!html.contains("<img src=x"), "{path}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}: {html}"
        );
    }

    // Export: CSV with a BOM and a header row.
    let csv = b.get("/faq/export.csv");
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert!(
        csv.bytes
            .starts_with(b"\xEF\xBB\xBFquestion,answer,alternatives\r\n")
    );
    let text = String::from_utf8(csv.bytes.clone()).expect("UTF-8");
    assert!(text.contains("Как сменить пароль?"));
    assert!(text.contains("забыл пароль"));

    // Import without CSRF: 403, nothing changed.
    let extra = "New entry from CSV?,Yes it is,csv alt one|csv alt two\r\n";
    let mut changed = csv.bytes.clone();
    changed.extend_from_slice(extra.as_bytes());
    assert_eq!(
        b.post_multipart("/faq/import", &[], &[("file", "faq.csv", &changed)])
            .status,
        403
    );
    assert_eq!(list_ids(&mut b), vec![vpn, pwd, xss]);

    // Import the export as is: all unchanged (round trip); then with one more row.
    let r = b.post_multipart(
        "/faq/import",
        &[("csrf", &csrf)],
        &[("file", "faq.csv", &csv.bytes)],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), "/faq?added=0&updated=0&unchanged=3");
    let r = b.post_multipart(
        "/faq/import",
        &[("csrf", &csrf)],
        &[("file", "faq.csv", &changed)],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), "/faq?added=1&updated=0&unchanged=3");
    let ids = list_ids(&mut b);
    assert_eq!(ids.len(), 4);
    assert_eq!(try_q(&mut b, "csv alt two").1, ids[3].to_string());

    // A bad file names its line and changes nothing.
    let bad = "question,answer\nFine question?,Fine\nNo answer here?,\n";
    let r = b.post_multipart(
        "/faq/import",
        &[("csrf", &csrf)],
        &[("file", "faq.csv", bad.as_bytes())],
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("line 3"), "{}", r.text());
    let big = vec![b'a'; 2 * 1024 * 1024 + 10];
    let r = b.post_multipart(
        "/faq/import",
        &[("csrf", &csrf)],
        &[("file", "faq.csv", &big)],
    );
    assert_eq!(r.status, 400);
    assert!(attr_of(&r.text(), "import-error", "role").is_some());
    assert_eq!(list_ids(&mut b), ids);
    let again = b.get("/faq/export.csv");
    assert!(String::from_utf8_lossy(&again.bytes).contains("New entry from CSV?"));
}

#[test]
fn bot_texts_and_roles() {
    let (_sb, server) = start();
    let mut b = Browser::login(&server, "boss", PASSWORD);
    let csrf = b.csrf();

    let list = b.get("/settings");
    assert_eq!(list.status, 200);
    assert!(list.text().contains("data-key=\"ticket_created\""));
    assert_eq!(
        attr_of(
            &b.get("/settings/bot.about").text(),
            "lang-en",
            "data-custom"
        )
        .as_deref(),
        Some("false")
    );

    // An override appears (escaped) and is marked customised.
    let about = "We are the IT team <b>on floor 2</b>. Call 1234.";
    let r = b.post(
        "/settings/bot.about",
        &[("csrf", &csrf), ("lang", "en"), ("value", about)],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let page = b.get("/settings/bot.about").text();
    assert_eq!(
        attr_of(&page, "lang-en", "data-custom").as_deref(),
        Some("true")
    );
    assert_eq!(
        attr_of(&page, "lang-ru", "data-custom").as_deref(),
        Some("false")
    );
    assert!(page.contains("We are the IT team &lt;b&gt;on floor 2&lt;/b&gt;. Call 1234."));
    assert!(!page.contains("<b>on floor 2</b>"));
    assert!(b.get("/settings").text().contains("Call 1234."));

    // A missing placeholder is refused, naming it; the value typed comes back; nothing stored.
    let r = b.post(
        "/settings/ticket_created",
        &[
            ("csrf", &csrf),
            ("lang", "en"),
            ("value", "Ticket {n} is ours now"),
        ],
    );
    assert_eq!(r.status, 400);
    let html = r.text();
    assert!(attr_of(&html, "error-en", "role").is_some(), "{html}");
    assert!(html.contains("{subject}"));
    assert!(html.contains("Ticket {n} is ours now"));
    let page = b.get("/settings/ticket_created").text();
    assert_eq!(
        attr_of(&page, "lang-en", "data-custom").as_deref(),
        Some("false")
    );
    // An unknown one too; a fitting one is accepted.
    let r = b.post(
        "/settings/ticket_created",
        &[
            ("csrf", &csrf),
            ("lang", "en"),
            ("value", "{subject} is {n} by {who}"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("{who}"));
    let r = b.post(
        "/settings/ticket_created",
        &[
            ("csrf", &csrf),
            ("lang", "uk"),
            ("value", "Заявка {n}: {subject} — прийнято"),
        ],
    );
    assert_eq!(r.status, 303);
    // Too long: 400 with a message.
    let long = "x".repeat(5000);
    let r = b.post(
        "/settings/bot.about",
        &[("csrf", &csrf), ("lang", "ru"), ("value", &long)],
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("4096"));
    // Unknown key and language.
    assert_eq!(b.get("/settings/no.such.key").status, 404);
    let r = b.post(
        "/settings/bot.about",
        &[("csrf", &csrf), ("lang", "de"), ("value", "Hallo")],
    );
    assert_eq!(r.status, 400);

    // Without CSRF: 403 and nothing changes.
    let r = b.post(
        "/settings/bot.about",
        &[("lang", "en"), ("value", "Hijacked")],
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        b.post("/settings/bot.about/reset", &[("lang", "en")])
            .status,
        403
    );
    let page = b.get("/settings/bot.about").text();
    assert!(page.contains("Call 1234.") && !page.contains("Hijacked"));

    // Reset brings the default back.
    let r = b.post(
        "/settings/bot.about/reset",
        &[("csrf", &csrf), ("lang", "en")],
    );
    assert_eq!(r.status, 303);
    let page = b.get("/settings/bot.about").text();
    assert_eq!(
        attr_of(&page, "lang-en", "data-custom").as_deref(),
        Some("false")
    );
    assert!(!page.contains("Call 1234."));

    // An operator may use /faq but not /settings.
    let mut op = Browser::login(&server, "olga", PASSWORD);
    let op_csrf = op.csrf();
    assert_eq!(op.get("/faq").status, 200);
    assert_eq!(op.get("/faq/new").status, 200);
    let id = create_entry(
        &mut op,
        &op_csrf,
        "Operator question?",
        "",
        "Operator answer.",
    );
    assert!(list_ids(&mut op).contains(&id));
    assert_eq!(op.get("/settings").status, 403);
    assert_eq!(op.get("/settings/bot.about").status, 403);
    let r = op.post(
        "/settings/bot.about",
        &[
            ("csrf", &op_csrf),
            ("lang", "en"),
            ("value", "Operator was here"),
        ],
    );
    assert_eq!(r.status, 403);
    assert!(
        !b.get("/settings/bot.about")
            .text()
            .contains("Operator was here")
    );

    // Without a session: to the login page.
    let mut anon = Browser::new(&server);
    for path in ["/faq", "/settings", "/faq/export.csv"] {
        let r = anon.get(path);
        assert_eq!(
            (r.status, r.header("location")),
            (303, "/login".into()),
            "{path}"
        );
    }
}
