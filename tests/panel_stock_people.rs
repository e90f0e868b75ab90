//! The panel's `/stock` and `/people` areas over HTTP, against the real binary: sign-in with
//! CSRF, stock items and movements, role checks, escaping, staff management with the
//! last-superadmin rule, and the password change. Cookies are handled by hand.

mod common;

use common::browser::{Browser, hidden_csrf};
use common::{Sandbox, Server};

const PASSWORD: &str = "password1";

/// A sandbox with the given accounts (login, role) and a server on it.
fn start(accounts: &[(&str, &str)]) -> (Sandbox, Server) {
    let sb = Sandbox::new();
    for (login, role) in accounts {
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

/// The quantity shown on an item's page.
#[track_caller]
fn quantity(b: &mut Browser, path: &str) -> i64 {
    let p = b.get(path);
    assert_eq!(p.status, 200, "{}", p.body);
    let marker = "id=\"quantity\">";
    let at = p.body.find(marker).expect("quantity on the page") + marker.len();
    p.body[at..].split('<').next().unwrap().parse().unwrap()
}

#[test]
fn stock_items_receipts_issues_and_escaping() {
    let (_sb, server) = start(&[("boss", "admin")]);
    let mut b = Browser::login(&server, "boss", PASSWORD);
    assert_eq!(b.get("/stock").status, 200);

    // Without the CSRF token: 403, nothing created.
    let new_item = [
        ("sku", "CE285A"),
        ("name", "<script>alert(1)</script> HP 85A"),
        ("kind", "cartridge"),
        ("printers", "HP LaserJet P1102\r\nHP M1132\r\n"),
        ("min_level", "2"),
    ];
    assert_eq!(b.post("/stock/new", &new_item).status, 403);
    assert_eq!(b.get("/stock/CE285A").status, 404);

    let r = b.submit("/stock/new", "/stock/new", &new_item);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/stock/CE285A");
    let list = b.get("/stock").body;
    assert!(list.contains("&lt;script&gt;alert(1)&lt;/script&gt; HP 85A"));
    assert!(!list.contains("<script>alert(1)"));
    assert!(list.contains("HP LaserJet P1102, HP M1132"));
    assert_eq!(quantity(&mut b, "/stock/CE285A"), 0);

    // The same SKU again is refused with the form refilled.
    let r = b.submit("/stock/new", "/stock/new", &new_item);
    assert_eq!(r.status, 409);
    assert!(r.body.contains("value=\"CE285A\""));

    // Validation errors: 400, message, form refilled, nothing created.
    let r = b.submit(
        "/stock/new",
        "/stock/new",
        &[
            ("sku", "Q2612A"),
            ("name", "HP 12A"),
            ("kind", "toner"),
            ("min_level", "lots"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("min_level"));
    assert!(r.body.contains("value=\"Q2612A\"") && r.body.contains("value=\"HP 12A\""));
    let long = "x".repeat(201);
    let r = b.submit(
        "/stock/new",
        "/stock/new",
        &[
            ("sku", "Q2612A"),
            ("name", &long),
            ("kind", "toner"),
            ("min_level", "1"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("at most 200 characters"), "{}", r.body);
    assert_eq!(b.get("/stock/Q2612A").status, 404);

    // Receipt +10.
    let item = "/stock/CE285A";
    let r = b.submit(item, "/stock/CE285A/receipt", &[("amount", "10")]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(quantity(&mut b, item), 10);

    // An issue larger than the stock: refused with a message, nothing changed.
    let r = b.submit(item, "/stock/CE285A/issue", &[("amount", "11")]);
    assert_eq!(r.status, 409);
    assert!(r.body.contains("not enough in stock"), "{}", r.body);
    assert!(r.body.contains("value=\"11\""));
    assert_eq!(quantity(&mut b, item), 10);
    // Against a ticket that does not exist: refused, nothing changed.
    let r = b.submit(
        item,
        "/stock/CE285A/issue",
        &[("amount", "3"), ("ticket", "#999")],
    );
    assert_eq!(r.status, 404);
    assert!(r.body.contains("#999"));
    let r = b.submit(
        item,
        "/stock/CE285A/issue",
        &[("amount", "3"), ("ticket", "soon")],
    );
    assert_eq!(r.status, 400);
    assert_eq!(quantity(&mut b, item), 10);
    // An adjustment needs a reason.
    let r = b.submit(item, "/stock/CE285A/adjustment", &[("amount", "-1")]);
    assert_eq!(r.status, 409);
    assert!(r.body.contains("note"), "{}", r.body);
    assert_eq!(quantity(&mut b, item), 10);

    let r = b.submit(
        item,
        "/stock/CE285A/issue",
        &[("amount", "3"), ("note", "кабинет 12")],
    );
    assert_eq!(r.status, 303);
    let r = b.submit(
        item,
        "/stock/CE285A/adjustment",
        &[("amount", "-1"), ("note", "inventory")],
    );
    assert_eq!(r.status, 303);
    assert_eq!(quantity(&mut b, item), 6);
    let page = b.get(item).body;
    assert!(page.contains("кабинет 12") && page.contains("inventory"));
    assert!(page.contains("staff:boss"));
    let (newest, oldest) = (
        page.find("inventory").unwrap(),
        page.find("кабинет 12").unwrap(),
    );
    assert!(newest < oldest, "history is newest first");

    // Editing: a bad minimum is refused with the form refilled; a good edit saves.
    let r = b.submit(
        item,
        item,
        &[
            ("name", "HP 85A"),
            ("kind", "toner"),
            ("printers", ""),
            ("min_level", "-1"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("min_level"));
    assert!(r.body.contains("value=\"HP 85A\""));
    assert!(b.get(item).body.contains("&lt;script&gt;"));
    let r = b.submit(
        item,
        item,
        &[
            ("name", "HP 85A"),
            ("kind", "cartridge"),
            ("printers", "HP P1102"),
            ("min_level", "8"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get(item).body;
    assert!(!page.contains("&lt;script&gt;") && page.contains("HP 85A"));
    assert!(page.contains("⚠"), "6 < 8 is low stock");
    assert_eq!(quantity(&mut b, item), 6);

    // SKUs with spaces and slashes live at percent-encoded URLs.
    let r = b.submit(
        "/stock/new",
        "/stock/new",
        &[
            ("sku", "HP 85A/B"),
            ("name", "Spare"),
            ("kind", "other"),
            ("min_level", "0"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/stock/HP%2085A%2FB");
    assert!(b.get("/stock/HP%2085A%2FB").body.contains("HP 85A/B"));
    let r = b.submit(
        "/stock/new",
        "/stock/new",
        &[
            ("sku", "50%"),
            ("name", "Half"),
            ("kind", "other"),
            ("min_level", "0"),
        ],
    );
    assert_eq!(r.location(), "/stock/50%25");
    let r = b.submit("/stock/50%25", "/stock/50%25/receipt", &[("amount", "4")]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(quantity(&mut b, "/stock/50%25"), 4);
    assert_eq!(b.get("/stock/nothing-here").status, 404);
    assert_eq!(b.get("/stock/bad%zz").status, 404);
}

#[test]
fn storekeepers_and_operators_on_stock_and_people() {
    let (_sb, server) = start(&[
        ("petr", "storekeeper"),
        ("olga", "operator"),
        ("root", "superadmin"),
    ]);
    let mut petr = Browser::login(&server, "petr", PASSWORD);
    let r = petr.submit(
        "/stock/new",
        "/stock/new",
        &[
            ("sku", "A4"),
            ("name", "Paper A4"),
            ("kind", "paper"),
            ("min_level", "5"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let r = petr.submit("/stock/A4", "/stock/A4/receipt", &[("amount", "20")]);
    assert_eq!(r.status, 303);
    // No staff management for a storekeeper.
    assert_eq!(petr.get("/people/staff").status, 403);
    assert_eq!(petr.get("/people").status, 403);
    let token = hidden_csrf(&petr.get("/stock").body);
    for (path, fields) in [
        ("/people/staff/olga/disable", vec![]),
        ("/people/staff/olga/role", vec![("role", "admin")]),
        (
            "/people/staff/new",
            vec![
                ("login", "evil"),
                ("role", "admin"),
                ("password", "password1"),
            ],
        ),
    ] {
        let mut all = vec![("csrf", token.as_str())];
        all.extend(fields);
        assert_eq!(petr.post(path, &all).status, 403, "{path}");
    }
    // The password page is open to every staff member.
    assert_eq!(petr.get("/people/password").status, 200);

    let mut olga = Browser::login(&server, "olga", PASSWORD);
    let page = olga.get("/stock");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Paper A4"));
    assert!(!page.body.contains("href=\"/stock/new\""));
    let r = olga.submit("/stock/A4", "/stock/A4/receipt", &[("amount", "5")]);
    assert_eq!(r.status, 403);
    let r = olga.submit(
        "/stock/A4",
        "/stock/A4/adjustment",
        &[("amount", "5"), ("note", "x")],
    );
    assert_eq!(r.status, 403);
    assert_eq!(olga.get("/stock/new").status, 403);
    assert_eq!(quantity(&mut olga, "/stock/A4"), 20);
    // Operators issue.
    let r = olga.submit("/stock/A4", "/stock/A4/issue", &[("amount", "2")]);
    assert_eq!(r.status, 303);
    assert_eq!(quantity(&mut olga, "/stock/A4"), 18);
    // Operators see requesters but do not manage staff.
    let r = olga.get("/people?q=%D0%98%D0%B2%D0%B0%D0%BD");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("value=\"Иван\""));
    assert_eq!(olga.get("/people/staff").status, 403);
    let r = olga.submit("/people", "/people/requesters/123/block", &[]);
    assert_eq!(r.status, 403);

    // An unknown requester is a 404 for someone who may manage them.
    let mut root = Browser::login(&server, "root", PASSWORD);
    let r = root.submit("/people", "/people/requesters/123/block", &[]);
    assert_eq!(r.status, 404);
    let long = "x".repeat(300);
    assert_eq!(root.get(&format!("/people?q={long}")).status, 400);
    // Without the token: 403.
    assert_eq!(root.post("/people/requesters/123/block", &[]).status, 403);
}

#[test]
fn staff_roles_last_superadmin_and_password_change() {
    let (_sb, server) = start(&[
        ("root", "superadmin"),
        ("anna", "admin"),
        ("olga", "operator"),
    ]);
    let staff = "/people/staff";

    // Admins cannot hand out or take the superadmin role.
    let mut anna = Browser::login(&server, "anna", PASSWORD);
    let page = anna.get(staff).body;
    assert!(!page.contains("$argon2"), "no password hashes on pages");
    assert!(!page.contains("value=\"superadmin\""));
    let r = anna.submit(staff, "/people/staff/olga/role", &[("role", "superadmin")]);
    assert_eq!(r.status, 403);
    let r = anna.submit(staff, "/people/staff/root/disable", &[]);
    assert_eq!(r.status, 403);
    let r = anna.submit(staff, "/people/staff/olga/role", &[("role", "storekeeper")]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        anna.get(staff)
            .body
            .contains("value=\"storekeeper\" selected")
    );

    // The last superadmin keeps the role and cannot disable themselves.
    let mut root = Browser::login(&server, "root", PASSWORD);
    let r = root.submit(staff, "/people/staff/root/role", &[("role", "admin")]);
    assert_eq!(r.status, 409);
    assert!(r.body.contains("last superadmin"), "{}", r.body);
    let r = root.submit(staff, "/people/staff/root/disable", &[]);
    assert_eq!(r.status, 409);
    assert_eq!(root.get("/").status, 200, "root is still signed in");
    let r = root.submit(staff, "/people/staff/ghost/role", &[("role", "admin")]);
    assert_eq!(r.status, 404);
    // Without the token: 403, nothing changed.
    let r = root.post("/people/staff/anna/role", &[("role", "operator")]);
    assert_eq!(r.status, 403);

    // Adding an account through the form; bad input comes back refilled, no password echoed.
    let r = root.submit(
        staff,
        "/people/staff/new",
        &[
            ("login", "vera"),
            ("display_name", "Вера <b>"),
            ("role", "operator"),
            ("telegram_id", "abc"),
            ("password", "secret-pass"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("value=\"vera\"") && !r.body.contains("secret-pass"));
    let r = root.submit(
        staff,
        "/people/staff/new",
        &[
            ("login", "vera"),
            ("display_name", "Вера <b>"),
            ("role", "operator"),
            ("telegram_id", "777"),
            ("password", "secret-pass"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = root.get(staff).body;
    assert!(page.contains("Вера &lt;b&gt;") && page.contains("value=\"777\""));
    // A Telegram id linked to another account is refused.
    let r = root.submit(
        staff,
        "/people/staff/olga/telegram",
        &[("telegram_id", "777")],
    );
    assert_eq!(r.status, 409);
    assert!(r.body.contains("already linked"));
    let r = root.submit(staff, "/people/staff/vera/telegram", &[("telegram_id", "")]);
    assert_eq!(r.status, 303);
    let r = root.submit(
        staff,
        "/people/staff/olga/telegram",
        &[("telegram_id", "777")],
    );
    assert_eq!(r.status, 303);

    // Promote anna, then root may step down; a disabled account cannot sign in.
    let r = root.submit(staff, "/people/staff/anna/role", &[("role", "superadmin")]);
    assert_eq!(r.status, 303);
    let r = root.submit(staff, "/people/staff/vera/disable", &[]);
    assert_eq!(r.status, 303);
    let mut b = Browser::new(&server);
    assert_eq!(b.try_login("vera", "secret-pass").status, 401);
    let r = root.submit(staff, "/people/staff/root/role", &[("role", "admin")]);
    assert_eq!(r.status, 303);

    // Password change: the current password is required, the new one typed twice.
    let mut olga = Browser::login(&server, "olga", PASSWORD);
    let pw = "/people/password";
    let r = olga.submit(
        pw,
        pw,
        &[
            ("current", "wrong-password"),
            ("new", "brand-new-pass"),
            ("new2", "brand-new-pass"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("current"));
    let r = olga.submit(
        pw,
        pw,
        &[
            ("current", PASSWORD),
            ("new", "brand-new-pass"),
            ("new2", "brand-new-typo"),
        ],
    );
    assert_eq!(r.status, 400);
    let r = olga.post(
        pw,
        &[
            ("current", PASSWORD),
            ("new", "brand-new-pass"),
            ("new2", "brand-new-pass"),
        ],
    );
    assert_eq!(r.status, 403, "no csrf");
    let r = olga.submit(
        pw,
        pw,
        &[
            ("current", PASSWORD),
            ("new", "brand-new-pass"),
            ("new2", "brand-new-pass"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/people/password?done=1");
    let mut b = Browser::new(&server);
    assert_eq!(b.try_login("olga", PASSWORD).status, 401);
    Browser::login(&server, "olga", "brand-new-pass");
}
