//! The Mini App's JSON API (`/app/api/*`) over HTTP against the real binary, whose bot runs on
//! the Bot API emulator with `web.public_url` set.
//!
//! * Refusals: a missing header, another scheme, a forged or tampered hash, data signed with
//!   another token, stale and future `auth_date`, no hash — each 401 on every route (unknown
//!   ones too), and nothing was filed; a Telegram user who never registered gets 403
//!   `not_registered` telling them to /start the bot; a blocked requester gets 403 `blocked`.
//! * Tickets: a cartridge order filed through the API (validated like the bot: quantity range,
//!   an item that fits the printer, a description) is idempotent per `request_id`, reaches the
//!   staff group, is listed for its requester only; another requester's ticket is 404.
//! * Headers: `/app` may be framed by Telegram Web and load telegram.org's script; the panel
//!   keeps `X-Frame-Options: DENY` and `frame-ancestors 'none'`.
//! * The bot: the menu button opens `<public_url>/app`; `/start` offers an inline web_app
//!   button.

mod common;
mod miniapp_support;
mod tg_emulator;

use miniapp_support::*;
use serde_json::{Value, json};

fn order(request_id: &str, quantity: i64) -> Value {
    json!({
        "category": "cartridge_order",
        "printer": "hp laserjet p1102",
        "sku": "CE285A",
        "quantity": quantity,
        "priority": "high",
        "description": "Кабинет 305: картридж закончился",
        "request_id": request_id,
    })
}

fn numbers(v: &Value) -> Vec<String> {
    v["tickets"]
        .as_array()
        .unwrap_or_else(|| panic!("no ticket list in {v}"))
        .iter()
        .map(|t| t["number"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn forged_stale_or_missing_launch_data_is_401_and_changes_nothing() {
    let env = Env::start();
    env.register(USER, "Иван Петров");
    env.panel()
        .cartridge("CE285A", "HP 85A", &["HP LaserJet P1102"], 10);

    let good = init_data(USER);
    let no_hash = good.split("&hash=").next().unwrap().to_string();
    let bad: Vec<(&str, Option<String>)> = vec![
        ("missing header", None),
        ("wrong scheme", Some(format!("Bearer {good}"))),
        ("no data", Some("tma".into())),
        (
            "tampered user",
            Some(format!("tma {}", tampered(&good, USER, OTHER))),
        ),
        (
            "forged hash",
            Some(format!("tma {no_hash}&hash={}", "ab".repeat(32))),
        ),
        ("missing hash", Some(format!("tma {no_hash}"))),
        (
            "another bot's token",
            Some(format!(
                "tma {}",
                init_data_for(
                    USER,
                    "Иван",
                    now(),
                    "987654321:AAOtherBotTokenOtherBotTokenOther"
                )
            )),
        ),
        (
            "stale auth_date (window 3600 s)",
            Some(format!(
                "tma {}",
                init_data_for(USER, "Иван", now() - 7200, TOKEN)
            )),
        ),
        (
            "future auth_date",
            Some(format!(
                "tma {}",
                init_data_for(USER, "Иван", now() + 3600, TOKEN)
            )),
        ),
        (
            "duplicate user field",
            Some(format!("tma {good}&user=%7B%22id%22%3A{OTHER}%7D")),
        ),
    ];
    let routes: &[(&str, &str)] = &[
        ("GET", "/app/api/me"),
        ("GET", "/app/api/tickets"),
        ("GET", "/app/api/tickets/1"),
        ("GET", "/app/api/printers"),
        ("GET", "/app/api/items?printer=HP%20LaserJet%20P1102"),
        ("POST", "/app/api/tickets"),
        ("GET", "/app/api/no-such-thing"),
        ("DELETE", "/app/api/tickets/1"),
    ];
    let body = order("req-forged-0001", 2);
    for (what, auth) in &bad {
        for (method, path) in routes {
            let b = (*method == "POST").then_some(&body);
            let (status, v) = env.api(method, path, auth.as_deref(), b);
            assert_eq!(status, 401, "{what}: {method} {path} → {v}");
            assert_eq!(v["error"], "unauthorized", "{what}: {v}");
            let msg = v["message"].as_str().unwrap_or("");
            assert!(!msg.is_empty(), "{what}: the 401 says why");
            assert!(!msg.contains(TOKEN), "{what}: the token never shows");
        }
    }
    // The stale answer says what to do.
    let (_, v) = env.api("GET", "/app/api/tickets", bad[7].1.as_deref(), None);
    assert!(v["message"].as_str().unwrap().contains("too old"), "{v}");

    // Nothing was filed: the genuine caller has no ticket, the staff group got no card.
    let (status, v) = env.api_as(USER, "GET", "/app/api/tickets", None);
    assert_eq!(status, 200, "{v}");
    assert!(numbers(&v).is_empty(), "nothing was created: {v}");
    assert!(
        env.emu.sent_to(STAFF_CHAT).is_empty(),
        "no card in the staff group"
    );
    let metrics = env.server.get("/metrics").body;
    assert!(
        !metrics
            .lines()
            .any(|l| l.starts_with("helpdesk_tickets{") && !l.ends_with(" 0")),
        "no ticket in the database:\n{metrics}"
    );
}

#[test]
fn orders_are_validated_idempotent_private_and_reach_the_staff_group() {
    let env = Env::start();
    env.register(USER, "Иван Петров");
    env.register(OTHER, "Ольга Сидорова");
    let mut panel = env.panel();
    panel.cartridge("CE285A", "HP 85A", &["HP LaserJet P1102", "HP M1132"], 10);
    panel.cartridge("Q2612A", "HP 12A", &["HP LaserJet 1010"], 0);

    // Who the caller is, in their language, with the form's choices.
    let (status, me) = env.api_as(USER, "GET", "/app/api/me", None);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], USER);
    assert_eq!(me["name"], "Иван Петров");
    assert_eq!(me["lang"], "ru");
    assert_eq!(me["texts"]["title"], "Мои заявки");
    assert_eq!(me["max_quantity"], 100);
    assert!(
        me["categories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["value"] == "cartridge_order")
    );

    // The printer → cartridges query is the bot's (case-insensitive model match); only
    // printers with a fitting item in stock are offered (HP LaserJet 1010's is out of stock).
    let (_, p) = env.api_as(USER, "GET", "/app/api/printers", None);
    assert_eq!(p["printers"], json!(["HP LaserJet P1102", "HP M1132"]));
    let (_, items) = env.api_as(USER, "GET", "/app/api/items?printer=hp%20m1132", None);
    assert_eq!(items["items"][0]["sku"], "CE285A");
    assert_eq!(items["items"][0]["quantity"], 10);
    assert_eq!(items["items"].as_array().unwrap().len(), 1);

    // Bad forms: 400 naming the field, nothing filed.
    let bad = [
        (order("req-bad-00001", 0), "quantity"),
        (order("req-bad-00002", 101), "quantity"),
        (
            {
                let mut o = order("req-bad-00003", 1);
                o["sku"] = json!("Q2612A");
                o
            },
            "sku",
        ),
        (
            {
                let mut o = order("req-bad-00004", 1);
                o["description"] = json!("   ");
                o
            },
            "description",
        ),
        (
            {
                let mut o = order("req-bad-00005", 1);
                o["category"] = json!("conversation");
                o
            },
            "category",
        ),
        (
            {
                let mut o = order("req-bad-00006", 1);
                o["description"] = json!("x".repeat(5000));
                o
            },
            "description",
        ),
        (order("short", 1), "request_id"),
    ];
    for (body, field) in &bad {
        let (status, v) = env.api_as(USER, "POST", "/app/api/tickets", Some(body));
        assert_eq!(status, 400, "{field}: {v}");
        assert_eq!(v["field"], *field, "{v}");
        assert!(v["message"].as_str().unwrap().starts_with(field), "{v}");
    }
    let (status, v) = env.api_as(USER, "POST", "/app/api/tickets", Some(&json!({"x": 1})));
    assert_eq!(status, 400, "{v}");
    let (_, v) = env.api_as(USER, "GET", "/app/api/tickets", None);
    assert!(numbers(&v).is_empty(), "no ticket from bad forms: {v}");

    // A good order: 201, #1, and sending it again files nothing new.
    let body = order("req-good-0001", 2);
    let (status, v) = env.api_as(USER, "POST", "/app/api/tickets", Some(&body));
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["ticket"]["number"], "#1");
    assert_eq!(v["ticket"]["status"], "new");
    assert_eq!(v["ticket"]["status_label"], "новая");
    assert!(v["message"].as_str().unwrap().contains("#1"), "{v}");
    let (status, again) = env.api_as(USER, "POST", "/app/api/tickets", Some(&body));
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["ticket"]["id"], 1, "same request, same ticket");
    // The staff group gets the card; the requester the bot's confirmation.
    let card = env.expect(STAFF_CHAT, 0, "#1");
    assert!(card.text.as_deref().unwrap().contains("HP 85A"), "{card:?}");
    env.expect(USER, 0, "#1");

    // Another requester's ticket is not found; theirs is listed for them only.
    let mut other = order("req-other-001", 1);
    other["category"] = json!("printer");
    other.as_object_mut().unwrap().remove("sku");
    other.as_object_mut().unwrap().remove("printer");
    other.as_object_mut().unwrap().remove("quantity");
    other["description"] = json!("Принтер мнёт бумагу\nв 210");
    let (status, v) = env.api_as(OTHER, "POST", "/app/api/tickets", Some(&other));
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["ticket"]["number"], "#2");
    assert_eq!(v["ticket"]["subject"], "Принтер мнёт бумагу");
    let (status, v) = env.api_as(USER, "GET", "/app/api/tickets/2", None);
    assert_eq!(status, 404, "{v}");
    let (status, _) = env.api_as(USER, "GET", "/app/api/tickets/999", None);
    assert_eq!(status, 404);
    let (status, _) = env.api_as(USER, "GET", "/app/api/tickets/abc", None);
    assert_eq!(status, 404);
    let (_, v) = env.api_as(USER, "GET", "/app/api/tickets", None);
    assert_eq!(numbers(&v), ["#1"]);
    let (_, v) = env.api_as(OTHER, "GET", "/app/api/tickets", None);
    assert_eq!(numbers(&v), ["#2"]);

    // The ticket with its order and timeline.
    let (status, d) = env.api_as(USER, "GET", "/app/api/tickets/1", None);
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["ticket"]["order_lines"][0]["sku"], "CE285A");
    assert_eq!(d["ticket"]["order_lines"][0]["quantity"], 2);
    assert_eq!(d["ticket"]["priority"], "high");
    assert_eq!(d["timeline"][0]["kind"], "created");

    // The panel shows the order as filed from the Mini App.
    let page = panel.get("/tickets/1");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("HP 85A"), "{}", page.body);

    // A genuine Telegram user who never registered: 403 with what to do.
    let (status, v) = env.api_as(STRANGER, "GET", "/app/api/tickets", None);
    assert_eq!(status, 403, "{v}");
    assert_eq!(v["error"], "not_registered");
    assert!(v["message"].as_str().unwrap().contains("/start"), "{v}");
    let (status, v) = env.api_as(
        STRANGER,
        "POST",
        "/app/api/tickets",
        Some(&order("req-str-0001", 1)),
    );
    assert_eq!(status, 403, "{v}");

    // A blocked requester: 403, and they cannot file.
    panel.block(OTHER);
    let (status, v) = env.api_as(OTHER, "GET", "/app/api/tickets", None);
    assert_eq!(status, 403, "{v}");
    assert_eq!(v["error"], "blocked");
    let (status, _) = env.api_as(
        OTHER,
        "POST",
        "/app/api/tickets",
        Some(&order("req-blk-0001", 1)),
    );
    assert_eq!(status, 403);
    let (_, v) = env.api_as(USER, "GET", "/app/api/tickets", None);
    assert_eq!(numbers(&v), ["#1"], "nothing else was filed");
}

#[test]
fn headers_page_and_bot_buttons() {
    let env = Env::start();
    let http = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap();
    let get = |p: &str| http.get(env.server.url(p)).send().unwrap();
    let header = |r: &reqwest::blocking::Response, n: &str| {
        r.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };

    // The Mini App: framable by Telegram Web only, Telegram's script allowed, no inline script.
    let app = get("/app");
    assert_eq!(app.status(), 200);
    assert!(header(&app, "x-frame-options").is_empty());
    let csp = header(&app, "content-security-policy");
    assert!(
        csp.contains("frame-ancestors https://web.telegram.org"),
        "{csp}"
    );
    assert!(
        csp.contains("script-src 'self' https://telegram.org;"),
        "{csp}"
    );
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert!(!csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = app.text().unwrap();
    assert!(html.contains("https://telegram.org/js/telegram-web-app.js"));
    assert!(html.contains("/app/static/app.js"));
    assert!(
        !html.contains("<script>") && !html.contains(" onclick="),
        "no inline script"
    );
    let js = get("/app/static/app.js");
    assert!(header(&js, "content-type").starts_with("text/javascript"));
    assert!(js.text().unwrap().contains("Authorization"));
    let css = get("/app/static/app.css");
    assert!(header(&css, "content-type").starts_with("text/css"));
    // The API's refusals carry the Mini App's headers too.
    let api = get("/app/api/tickets");
    assert_eq!(api.status(), 401);
    assert_eq!(header(&api, "www-authenticate"), "tma");
    assert!(header(&api, "content-security-policy").contains("web.telegram.org"));

    // The panel is unchanged.
    for path in ["/login", "/healthz", "/tickets", "/app-not-the-app"] {
        let r = get(path);
        assert_eq!(header(&r, "x-frame-options"), "DENY", "{path}");
        let csp = header(&r, "content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self';"), "{path}: {csp}");
    }

    // The bot: the menu button opens the app; /start offers it inline.
    let app_url = format!("{PUBLIC_URL}/app");
    let menu = env.emu.calls_of("setChatMenuButton");
    assert!(
        menu.iter().any(|c| c.is_ok()
            && c.params["menu_button"]["type"] == "web_app"
            && c.params["menu_button"]["web_app"]["url"] == app_url.as_str()),
        "{menu:#?}"
    );
    env.register(USER, "Иван Петров");
    let m = env.mark(USER);
    env.emu.push_message(USER, USER, "/start");
    let offer = env.expect(USER, m, "приложении");
    let button = &offer.reply_markup.as_ref().expect("inline keyboard")["inline_keyboard"][0][0];
    assert_eq!(button["web_app"]["url"], app_url.as_str(), "{button}");
}

#[test]
fn without_a_public_url_the_bot_offers_no_mini_app_but_the_api_still_answers() {
    let env = Env::start_with("");
    env.register(USER, "Иван Петров");
    let m = env.mark(USER);
    env.emu.push_message(USER, USER, "/start");
    let menu = env.expect(USER, m, "Выберите действие");
    assert!(menu.reply_markup.is_none(), "{menu:?}");
    // The bot answers /start with the menu only (no second message offering the app).
    env.emu.push_message(USER, USER, "/help");
    env.expect(USER, m, "/new");
    assert!(
        env.emu
            .sent_to(USER)
            .iter()
            .skip(m)
            .all(|s| !s.contains("приложении")),
        "no Mini App offer"
    );
    assert!(env.emu.calls_of("setChatMenuButton").is_empty());
    // A LAN user reaching /app directly (http) still gets a working API.
    let (status, v) = env.api_as(USER, "GET", "/app/api/tickets", None);
    assert_eq!(status, 200, "{v}");
}
