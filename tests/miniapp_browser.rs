//! The Telegram Mini App in a real browser: headless Chromium (`tests/webdriver`) opens `/app`
//! of the real `helpdesk serve`, whose bot runs on the Bot API emulator (`tests/tg_emulator`).
//!
//! Telegram is simulated: before the page's scripts run, a `Telegram.WebApp` object is
//! injected through chromedriver's CDP endpoint (`Page.addScriptToEvaluateOnNewDocument`) with
//! `initData` signed in the test from the test bot token, a dark `themeParams` and `ready()`.
//! (telegram.org's script cannot load here: there is no internet.)
//!
//! One scenario: the list renders in the dark theme; a status change made in the panel shows
//! up without a reload (the `visibilitychange` refresh); the ticket's timeline opens; a
//! cartridge order is placed through the form (printer model → compatible cartridge in stock
//! → quantity) and appears in the list, in the panel (checked over HTTP as a signed-in admin)
//! and in the staff group (emulator). Then the launch data is tampered with: the page shows
//! the refusal, every API call answers 401 (checked over HTTP) and nothing was created.
//! Finally the app also starts from the `#tgWebAppData=` fragment alone, as Telegram passes it.
//!
//! Screenshots go to `$HELPDESK_SCREENSHOTS/miniapp`, or else `<target>/screenshots/miniapp/`
//! (not committed). Needs `chromium` and `chromium-driver`; skipped with a message without
//! them unless `CI` is set.

mod common;
mod miniapp_support;
mod tg_emulator;
mod webdriver;

use std::path::PathBuf;

use miniapp_support::*;
use serde_json::{Value, json};
use webdriver::Driver;

fn browser_or_skip() -> Option<webdriver::Binaries> {
    match webdriver::browser_binaries() {
        Ok(b) => Some(b),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("browser tests need Chromium and chromedriver ({e})")
        }
        Err(e) => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: install chromium chromium-driver to run the browser tests ({e})"
            );
            None
        }
    }
}

fn screenshot_dir() -> PathBuf {
    match std::env::var_os("HELPDESK_SCREENSHOTS").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d).join("miniapp"),
        None => PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("target folder")
            .join("screenshots")
            .join("miniapp"),
    }
}

struct Shots {
    dir: PathBuf,
    n: usize,
}

impl Shots {
    fn take(&mut self, d: &Driver, name: &str) {
        self.n += 1;
        d.screenshot(&self.dir.join(format!("{:02}-{name}.png", self.n)));
    }
}

/// A script defining `Telegram.WebApp` as Telegram's client would, with `init` as initData.
fn fake_telegram(init: &str) -> String {
    let web_app = json!({
        "initData": init,
        "version": "8.0",
        "platform": "tdesktop",
        "colorScheme": "dark",
        "themeParams": {
            "bg_color": "#17212b",
            "text_color": "#f5f5f5",
            "hint_color": "#708499",
            "link_color": "#6ab3f3",
            "button_color": "#5288c1",
            "button_text_color": "#ffffff",
            "secondary_bg_color": "#232e3c",
        },
    });
    format!(
        "(function () {{
            var wa = {web_app};
            wa.ready = function () {{ window.__tgReady = true; }};
            wa.expand = function () {{ window.__tgExpanded = true; }};
            wa.onEvent = function () {{}};
            wa.BackButton = {{ show: function () {{}}, hide: function () {{}}, onClick: function () {{}} }};
            wa.HapticFeedback = {{ notificationOccurred: function (k) {{ window.__tgHaptic = k; }} }};
            window.Telegram = {{ WebApp: wa }};
        }})();"
    )
}

/// Injects `source` into every document opened from now on; returns its CDP identifier.
#[track_caller]
fn inject(d: &Driver, source: &str) -> String {
    let v = d
        .cmd(
            "POST",
            "/goog/cdp/execute",
            Some(json!({
                "cmd": "Page.addScriptToEvaluateOnNewDocument",
                "params": { "source": source },
            })),
        )
        .unwrap_or_else(|e| panic!("CDP addScriptToEvaluateOnNewDocument: {e}"));
    let id = v["identifier"].as_str().unwrap_or("").to_string();
    assert!(!id.is_empty(), "no script identifier in {v}");
    id
}

#[track_caller]
fn remove_injected(d: &Driver, id: &str) {
    d.cmd(
        "POST",
        "/goog/cdp/execute",
        Some(json!({
            "cmd": "Page.removeScriptToEvaluateOnNewDocument",
            "params": { "identifier": id },
        })),
    )
    .unwrap_or_else(|e| panic!("CDP removeScriptToEvaluateOnNewDocument: {e}"));
}

/// Numbers of the tickets listed on the page, once at least `n` are.
#[track_caller]
fn listed(d: &Driver, n: usize) -> Vec<String> {
    d.wait_until(&format!("{n} tickets listed"), webdriver::WAIT, || {
        let items = d.find_all("#tickets li.ticket .number");
        let texts: Option<Vec<String>> = items.iter().map(|e| e.try_text().ok()).collect();
        texts.filter(|t| t.len() >= n)
    })
}

#[track_caller]
fn select(d: &Driver, css: &str, value: &str) {
    let opt = format!("{css} option[value=\"{value}\"]");
    d.find(&opt).click();
    d.wait_until(&format!("{css} = {value}"), webdriver::WAIT, || {
        (d.find(css).property("value") == value).then_some(())
    });
}

#[test]
fn the_mini_app_lists_tracks_and_orders_in_a_browser() {
    let Some(bins) = browser_or_skip() else {
        return;
    };
    let env = Env::start();
    env.register(USER, "Иван Петров");
    let mut panel = env.panel();
    panel.cartridge("CE285A", "HP 85A", &["HP LaserJet P1102"], 10);
    panel.cartridge("Q2612A", "HP 12A", &["HP LaserJet 1010"], 4);
    // #1 exists before the app opens (filed through the API as the app would).
    let (status, v) = env.api_as(
        USER,
        "POST",
        "/app/api/tickets",
        Some(&json!({
            "category": "printer",
            "description": "Принтер в 305 жуёт бумагу",
            "request_id": "browser-first-1",
        })),
    );
    assert_eq!(status, 201, "{v}");

    let d = Driver::start(&bins).unwrap_or_else(|e| panic!("{e}"));
    let mut shots = Shots {
        dir: screenshot_dir(),
        n: 0,
    };
    let _ = d.cmd(
        "POST",
        "/window/rect",
        Some(json!({ "width": 420, "height": 860 })),
    );
    let good = init_data(USER);
    let fake = inject(&d, &fake_telegram(&good));

    // ----- The list, in Telegram's dark theme -----
    d.goto(&env.server.url("/app"));
    assert_eq!(listed(&d, 1), ["#1"]);
    d.wait_text("#title", "the Russian title", |t| t == "Мои заявки");
    assert_eq!(d.execute("return window.__tgReady === true;", vec![]), true);
    assert_eq!(
        d.execute("return window.__tgExpanded === true;", vec![]),
        true
    );
    let bg = d.execute(
        "return getComputedStyle(document.body).backgroundColor;",
        vec![],
    );
    assert_eq!(bg, "rgb(23, 33, 43)", "themeParams.bg_color applied");
    d.wait_text("#tickets li[data-id='1'] .status", "status new", |t| {
        t == "новая"
    });
    shots.take(&d, "list-dark");

    // ----- Live status: taken in the panel, shown without a reload -----
    d.mark_page();
    let r = panel.submit("/tickets/1", "/tickets/1/take", &[]);
    assert_eq!(r.status, 303, "take #1: {}", r.body);
    d.execute(
        "document.dispatchEvent(new Event('visibilitychange')); return true;",
        vec![],
    );
    d.wait_text(
        "#tickets li[data-id='1'] .status",
        "status in progress",
        |t| t == "в работе",
    );
    assert_eq!(
        d.execute("return window.__helpdesk_old_page === true;", vec![]),
        true,
        "the same document: no reload"
    );

    // ----- A ticket's timeline -----
    d.find("#tickets li[data-id='1']").click();
    d.wait_text("#detail h2", "the ticket", |t| t.contains("#1"));
    let timeline = d.wait_text("#timeline", "created and taken", |t| {
        t.contains("Заявка создана") && t.contains("в работе")
    });
    assert!(timeline.contains("boss"), "the assignee: {timeline}");
    shots.take(&d, "timeline");
    d.find("#back").click();
    listed(&d, 1);

    // ----- A cartridge order through the form -----
    d.find("#tab-new").click();
    d.find("#view-new:not([hidden])");
    select(&d, "#f-category", "cartridge_order");
    d.find("#order-fields:not([hidden])");
    select(&d, "#f-printer", "HP LaserJet P1102");
    // Only the cartridge fitting that printer is offered, with its stock.
    let offered = d.wait_until("the cartridges for P1102", webdriver::WAIT, || {
        let opts = d.find_all("#f-item option[value='CE285A']");
        (!opts.is_empty()).then(|| opts[0].text())
    });
    assert!(
        offered.contains("HP 85A") && offered.contains("10"),
        "{offered}"
    );
    assert!(d.find_all("#f-item option[value='Q2612A']").is_empty());
    select(&d, "#f-item", "CE285A");
    // Out of range first: the server's validation message shows, nothing is filed.
    let qty = d.find("#f-quantity");
    qty.clear();
    qty.send_keys("500");
    d.find("#f-description")
        .send_keys("Бухгалтерия, 2 этаж: картридж закончился");
    select(&d, "#f-priority", "high");
    d.find("#submit").click();
    let err = d.wait_text("#form-error", "the quantity error", |t| {
        t.contains("quantity")
    });
    assert!(err.contains("100"), "{err}");
    qty.clear();
    qty.send_keys("3");
    shots.take(&d, "order-form");
    d.find("#submit").click();
    d.wait_text("#notice", "the confirmation", |t| t.contains("#2"));
    assert_eq!(listed(&d, 2), ["#2", "#1"]);
    assert_eq!(
        d.execute("return window.__tgHaptic || null;", vec![]),
        "success"
    );
    shots.take(&d, "ordered");

    // In the panel (over HTTP, signed in) and in the staff group.
    let page = panel.get("/tickets/2");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("HP 85A (CE285A) × 3"),
        "the order in the panel: {}",
        page.body
    );
    let card = env.expect(STAFF_CHAT, 0, "#2");
    assert!(card.text.as_deref().unwrap().contains("HP 85A"), "{card:?}");
    let (_, v) = env.api_as(USER, "GET", "/app/api/tickets/2", None);
    assert_eq!(v["ticket"]["order_lines"][0]["quantity"], 3);
    assert_eq!(v["ticket"]["priority"], "high");

    // ----- Tampered launch data: refused everywhere, nothing created -----
    let bad = tampered(&good, USER, OTHER);
    let tamper = inject(
        &d,
        &format!(
            "window.Telegram.WebApp.initData = {};",
            Value::from(bad.clone())
        ),
    );
    d.goto(&env.server.url("/app"));
    let shown = d.wait_text("#fatal", "the refusal", |t| !t.is_empty());
    assert!(
        shown.contains("invalid") || shown.contains("signature"),
        "{shown}"
    );
    assert!(d.find_all("#tickets li.ticket").is_empty());
    shots.take(&d, "tampered");
    let auth = format!("tma {bad}");
    for (method, path) in [
        ("GET", "/app/api/me"),
        ("GET", "/app/api/tickets"),
        ("GET", "/app/api/tickets/1"),
        ("GET", "/app/api/printers"),
        ("GET", "/app/api/items?printer=HP%20LaserJet%20P1102"),
        ("POST", "/app/api/tickets"),
    ] {
        let body = json!({
            "category": "cartridge_order", "printer": "HP LaserJet P1102", "sku": "CE285A",
            "quantity": 1, "description": "x", "request_id": "tampered-0001",
        });
        let (status, v) = env.api(
            method,
            path,
            Some(&auth),
            Some(&body).filter(|_| method == "POST"),
        );
        assert_eq!(status, 401, "{method} {path}: {v}");
    }
    let (_, v) = env.api_as(USER, "GET", "/app/api/tickets", None);
    assert_eq!(
        v["tickets"].as_array().unwrap().len(),
        2,
        "nothing created: {v}"
    );
    assert!(panel.get("/tickets/3").status == 404, "no ticket #3");

    // ----- Launch data from the URL fragment alone (no Telegram object) -----
    remove_injected(&d, &tamper);
    remove_injected(&d, &fake);
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let theme = r##"{"bg_color":"#fdf6e3","text_color":"#222222","button_color":"#b58900"}"##;
    let fragment = format!(
        "/app#tgWebAppData={}&tgWebAppVersion=8.0&tgWebAppPlatform=weba&tgWebAppThemeParams={}",
        enc(&good),
        enc(theme)
    );
    // A new document (from /app only the fragment would change, keeping this one).
    d.goto("about:blank");
    d.goto(&env.server.url(&fragment));
    assert_eq!(
        d.execute("return typeof window.Telegram;", vec![]),
        "undefined"
    );
    assert_eq!(listed(&d, 2), ["#2", "#1"]);
    let bg = d.execute(
        "return getComputedStyle(document.body).backgroundColor;",
        vec![],
    );
    assert_eq!(bg, "rgb(253, 246, 227)", "the fragment's light theme");
    shots.take(&d, "fragment-light");
}
