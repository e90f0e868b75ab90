//! The panel's operations areas over HTTP, against the real binary: `/logs` (audit trail and
//! message log, filters, 400 naming a bad field), `/broadcast` (preview, send, delivery
//! report), `/archives` ("snapshot now", list, download byte for byte, verify, no path
//! traversal) and `/reports` (page, Excel exports that are real XLSX files), plus CSRF and role
//! refusals.
//!
//! The client keeps cookies by hand (reqwest is built without its cookie store) and does not
//! follow redirects, so every 303 is checked.

mod common;

use std::io::Read;

use common::browser::Browser;
use common::{Sandbox, Server};

const PASSWORD: &str = "password1";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

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

/// Reads entry `name` of a ZIP file held in memory.
#[track_caller]
fn zip_entry(bytes: &[u8], name: &str) -> String {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP file");
    let mut e = z
        .by_name(name)
        .unwrap_or_else(|_| panic!("no {name} in the file"));
    let mut s = String::new();
    e.read_to_string(&mut s).expect("UTF-8 XML");
    s
}

#[test]
fn logs_reports_and_exports() {
    let (_sb, server) = start();
    let mut boss = Browser::login(&server, "boss", PASSWORD);

    // The audit trail shows the sign-in, newest first.
    let logs = boss.get("/logs");
    assert_eq!(logs.status, 200, "{}", logs.text());
    let html = logs.text();
    assert!(html.contains("session.login"), "{html}");
    assert!(html.contains("staff:boss"), "{html}");
    let only_olga = boss.get("/logs?actor=olga");
    assert_eq!(only_olga.status, 200);
    assert!(!only_olga.text().contains("staff:boss"));

    // Malformed values are refused with a page naming the field.
    for (path, field) in [
        ("/logs?from=2026-13-01", "from"),
        ("/logs?to=yesterday", "to"),
        ("/logs?page=0", "page"),
        ("/logs/messages?chat=abc", "chat"),
        ("/reports?from=01.02.2026", "from"),
        ("/reports/tickets.xlsx?to=x", "to"),
    ] {
        let r = boss.get(path);
        assert_eq!(r.status, 400, "{path}");
        assert!(
            r.text().contains(&format!("{field}:")),
            "{path}: {}",
            r.text()
        );
    }
    assert_eq!(boss.get("/logs/messages").status, 200);

    // A ticket to report on.
    let csrf = boss.csrf();
    let r = boss.post(
        "/tickets/new",
        &[
            ("csrf", &csrf),
            ("requester_name", "Анна Caller"),
            ("category", "network"),
            ("priority", "high"),
            ("subject", "Нет сети <b>на 3 этаже</b>"),
            ("description", ""),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());

    let page = boss.get("/reports");
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains(r#"<b id="total">1</b>"#), "{html}");
    assert!(html.contains("<svg"), "charts are SVG");
    assert!(!html.contains("<script"), "no scripts");
    assert!(html.contains("network"));

    // Every ticket of the range as a real XLSX workbook.
    let x = boss.get("/reports/tickets.xlsx");
    assert_eq!(x.status, 200);
    assert_eq!(x.header("content-type"), XLSX);
    assert!(x.header("content-disposition").starts_with("attachment;"));
    assert_eq!(&x.bytes[..4], b"PK\x03\x04", "a ZIP file");
    assert!(zip_entry(&x.bytes, "[Content_Types].xml").contains("spreadsheetml"));
    let sheet = zip_entry(&x.bytes, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains(r#"<row r="2""#), "a row per ticket: {sheet}");
    let strings = zip_entry(&x.bytes, "xl/sharedStrings.xml");
    assert!(strings.contains(">#1<"), "{strings}");
    assert!(strings.contains("Анна Caller"));
    assert!(strings.contains("Нет сети &lt;b&gt;на 3 этаже&lt;/b&gt;"));

    // A range without tickets has only the header row.
    let empty = boss.get("/reports/tickets.xlsx?from=2020-01-01&to=2020-01-31");
    assert_eq!(empty.status, 200);
    assert!(!zip_entry(&empty.bytes, "xl/worksheets/sheet1.xml").contains(r#"<row r="2""#));

    let s = boss.get("/reports/summary.xlsx");
    assert_eq!(s.status, 200);
    assert_eq!(s.header("content-type"), XLSX);
    assert!(zip_entry(&s.bytes, "xl/workbook.xml").contains("<sheet "));

    // An operator may see reports but not the logs.
    let mut olga = Browser::login(&server, "olga", PASSWORD);
    assert_eq!(olga.get("/reports").status, 200);
    assert_eq!(olga.get("/logs").status, 403);
    assert_eq!(olga.get("/logs/messages").status, 403);
}

#[test]
fn archives_and_broadcast() {
    let (sb, server) = start();
    let mut boss = Browser::login(&server, "boss", PASSWORD);
    let manual = sb.data_dir().join("archive").join("manual");
    let count = || std::fs::read_dir(&manual).map(|d| d.count()).unwrap_or(0);

    let page = boss.get("/archives");
    assert_eq!(page.status, 200, "{}", page.text());

    // Without the CSRF token nothing is written.
    assert_eq!(boss.post("/archives/snapshot", &[]).status, 403);
    assert_eq!(
        boss.post("/archives/snapshot", &[("csrf", "forged")])
            .status,
        403
    );
    assert_eq!(count(), 0);

    let csrf = boss.csrf();
    let r = boss.post("/archives/snapshot", &[("csrf", &csrf)]);
    assert_eq!(r.status, 303, "{}", r.text());
    let location = r.header("location");
    let name = location
        .strip_prefix("/archives?made=")
        .unwrap_or_else(|| panic!("redirect to {location}"))
        .to_string();
    assert!(name.starts_with("helpdesk-manual-") && name.ends_with(".tar.zst"));
    assert_eq!(count(), 1);
    let on_disk = std::fs::read(manual.join(&name)).expect("the archive is on disk");

    let list = boss.get(&location);
    assert_eq!(list.status, 200);
    assert!(list.text().contains(&format!("/archives/manual/{name}")));

    let dl = boss.get(&format!("/archives/manual/{name}"));
    assert_eq!(dl.status, 200);
    assert!(dl.header("content-disposition").contains(&name));
    assert_eq!(dl.bytes, on_disk, "downloaded bytes equal the file");
    // Who took a copy of the database is on record.
    let audit = boss.get("/logs/audit").text();
    assert!(
        audit.contains("archive.snapshot") && audit.contains("archive.download"),
        "{audit}"
    );
    assert!(audit.contains(&format!("manual/{name}")), "{audit}");

    let v = boss.post(
        &format!("/archives/manual/{name}/verify"),
        &[("csrf", &csrf)],
    );
    assert_eq!(v.status, 200);
    assert!(v.text().contains(r#"id="verified""#), "{}", v.text());
    assert_eq!(
        boss.post(&format!("/archives/manual/{name}/verify"), &[])
            .status,
        403
    );

    // Nothing outside the kind's folder, and no other names.
    for path in [
        "/archives/manual/..%2F..%2Fhelpdesk.redb".to_string(),
        "/archives/manual/..%2Fdaily%2Fx.tar.zst".to_string(),
        "/archives/manual/helpdesk.redb".to_string(),
        format!("/archives/daily/{name}"),
        format!("/archives/..%2F..%2Fmanual/{name}"),
    ] {
        let r = boss.get(&path);
        assert_eq!(r.status, 404, "{path}");
        assert!(
            !r.bytes.starts_with(b"\x28\xb5\x2f\xfd"),
            "{path}: no zstd data"
        );
    }

    // Broadcast: preview shows exactly the text to send; send needs the CSRF token.
    let compose = boss.get("/broadcast");
    assert_eq!(compose.status, 200);
    assert!(compose.text().contains(r#"<b id="recipients">0</b>"#));
    assert_eq!(
        boss.post("/broadcast/preview", &[("text", "hi")]).status,
        403
    );
    let p = boss.post(
        "/broadcast/preview",
        &[("csrf", &csrf), ("text", "  Hello <all>\r\nsecond line  ")],
    );
    assert_eq!(p.status, 200);
    assert!(
        p.text()
            .contains("<pre id=\"preview\">Hello &lt;all&gt;\nsecond line</pre>"),
        "{}",
        p.text()
    );
    let empty = boss.post("/broadcast/preview", &[("csrf", &csrf), ("text", "   ")]);
    assert_eq!(empty.status, 400);
    assert_eq!(boss.post("/broadcast/send", &[("text", "hi")]).status, 403);
    assert!(
        !boss
            .get("/logs?q=broadcast")
            .text()
            .contains("broadcast.send")
    );
    let sent = boss.post("/broadcast/send", &[("csrf", &csrf), ("text", "hi")]);
    assert_eq!(sent.status, 303, "{}", sent.text());
    let progress = sent.header("location");
    assert!(progress.starts_with("/broadcast/"), "{progress}");
    let report = boss.get(&progress);
    assert_eq!(report.status, 200);
    assert!(report.text().contains(r#"<b id="pending">0</b>"#));
    assert_eq!(
        report.header("refresh"),
        "",
        "a finished broadcast does not refresh"
    );
    assert!(
        boss.get("/logs?q=broadcast")
            .text()
            .contains("broadcast.send")
    );
    assert_eq!(boss.get("/broadcast/999").status, 404);

    // An operator gets none of it.
    let mut olga = Browser::login(&server, "olga", PASSWORD);
    let olga_csrf = olga.csrf();
    assert_eq!(olga.get("/archives").status, 403);
    assert_eq!(olga.get(&format!("/archives/manual/{name}")).status, 403);
    assert_eq!(
        olga.post("/archives/snapshot", &[("csrf", &olga_csrf)])
            .status,
        403
    );
    assert_eq!(count(), 1);
    assert_eq!(olga.get("/broadcast").status, 403);
    assert_eq!(
        olga.post("/broadcast/send", &[("csrf", &olga_csrf), ("text", "x")])
            .status,
        403
    );
}

#[test]
fn dashboard_digest_toggle_and_sla_due_times() {
    let (_sb, server) = start();
    let mut b = Browser::login(&server, "boss", PASSWORD);
    let page = b.get("/").text();
    assert!(page.contains("id=\"digest\">выключена"), "{page}");
    let csrf = b.csrf();
    // Without the token nothing changes.
    assert_eq!(b.post("/digest", &[("on", "1")]).status, 403);
    assert!(b.get("/").text().contains("id=\"digest\">выключена"));
    assert_eq!(
        b.post("/digest", &[("csrf", &csrf), ("on", "1")]).status,
        303
    );
    assert!(b.get("/").text().contains("id=\"digest\">включена"));
    // SLA is on by default: a new ticket shows its due times.
    let made = b.post(
        "/tickets/new",
        &[
            ("csrf", &csrf),
            ("requester_name", "Гость Тестов"),
            ("category", "network"),
            ("priority", "high"),
            ("subject", "Нет сети"),
            ("description", ""),
        ],
    );
    assert_eq!(made.status, 303);
    let detail = b.get(&made.header("location")).text();
    assert!(detail.contains("id=\"sla\""), "{detail}");
    assert!(
        detail.contains("ответ до") && detail.contains("решить до"),
        "{detail}"
    );
    // The dashboard counts it: today's activity, open by priority, the two-week SVG chart.
    let dash = b.get("/").text();
    let card = |id: &str| {
        let from = dash
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no #{id}: {dash}"));
        dash[from..].split("</div>").next().unwrap().to_string()
    };
    assert!(
        card("today").contains("<b>1</b><span>создано</span>"),
        "{}",
        card("today")
    );
    let prio = dash
        .split("id=\"priority-bars\"")
        .nth(1)
        .expect("priority bars");
    let urgent = prio
        .split("<tr>")
        .find(|r| r.contains("Срочно"))
        .expect("a row for high");
    assert!(urgent.contains("<td class=\"num\">1</td>"), "{urgent}");
    assert!(urgent.contains("<svg"), "{urgent}");
    let chart = card("two-weeks");
    assert!(
        chart.contains("<svg") && chart.contains("создано: 1</title>"),
        "{chart}"
    );
    assert!(!dash.contains("<script"), "charts are drawn without script");
}
