//! The REST API `/api/v1` against the real binary on loopback: tokens made and revoked in the
//! panel (`/api-tokens`, with CSRF), authentication (missing, wrong, revoked, read-only token
//! on a write — and nothing changed), every route (tickets with the panel's filters, one
//! ticket with its timeline, create, status changes including an illegal one, a reply; stock
//! list and movements; FAQ list and upsert), bodies with unknown fields or wrong types (400
//! naming the field), the error shape, and every operation of the OpenAPI document answered.
//! A second test runs the bot against the Telegram emulator to show that a reply sent through
//! the API reaches the requester.

mod common;
mod tg_emulator;

use std::time::Duration;

use common::browser::{Browser, Resp, client, send};
use common::{Sandbox, Server};
use serde_json::{Value, json};

const PASSWORD: &str = "password1";

/// The API's one error shape.
trait ErrorShape {
    fn error(&self, status: u16) -> (String, Option<String>);
}

impl ErrorShape for Resp {
    /// Asserts the one error shape and returns (code, field).
    #[track_caller]
    fn error(&self, status: u16) -> (String, Option<String>) {
        assert_eq!(self.status, status, "{}", self.text());
        let v = self.json();
        let e = v["error"].as_object().expect("an error object");
        assert_eq!(e.len(), 3, "code, message, field: {v}");
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        assert!(self.header("content-type").starts_with("application/json"));
        (
            e["code"].as_str().expect("code").to_string(),
            e["field"].as_str().map(str::to_string),
        )
    }
}

/// Creates an API token in the panel; returns the secret shown once.
#[track_caller]
fn create_token(b: &mut Browser, name: &str, scope: &str) -> String {
    let csrf = b.csrf();
    let r = b.post(
        "/api-tokens",
        &[("csrf", &csrf), ("name", name), ("scope", scope)],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    let at = html
        .find("<pre id=\"secret\">")
        .expect("the secret is shown")
        + 17;
    let secret = html[at..].split('<').next().unwrap().to_string();
    assert!(secret.starts_with("hd_") && secret.len() == 67, "{secret}");
    secret
}

/// An API client holding one bearer token.
struct Api {
    http: reqwest::blocking::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    fn new(server: &Server, token: Option<&str>) -> Api {
        Api {
            http: client(),
            base: server.url("/api/v1"),
            token: token.map(str::to_string),
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&[u8]>) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_vec());
        }
        send(req)
    }

    fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None)
    }

    fn send_json(&self, method: &str, path: &str, body: &Value) -> Resp {
        self.call(method, path, Some(body.to_string().as_bytes()))
    }

    fn post(&self, path: &str, body: &Value) -> Resp {
        self.send_json("POST", path, body)
    }

    /// Ticket ids a list query returns.
    #[track_caller]
    fn ids(&self, query: &str) -> Vec<u64> {
        let r = self.get(&format!("/tickets{query}"));
        assert_eq!(r.status, 200, "{query}: {}", r.text());
        r.json()["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_u64().unwrap())
            .collect()
    }
}

fn add_staff(sb: &Sandbox, login: &str, role: &str) {
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

/// The audit trail as the panel shows it.
fn audit(boss: &mut Browser) -> String {
    let r = boss.get("/logs");
    assert_eq!(r.status, 200);
    r.text()
}

#[test]
fn tokens_from_the_panel_drive_every_route() {
    let sb = Sandbox::new();
    add_staff(&sb, "boss", "admin");
    add_staff(&sb, "olga", "operator");
    let server = sb.serve(&[]);
    let mut boss = Browser::login(&server, "boss", PASSWORD);

    // --- Tokens in the panel: admins only, CSRF, the secret shown once. ---
    let page = boss.get("/api-tokens");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("href=\"/api-tokens\""), "nav link");
    let no_csrf = boss.post("/api-tokens", &[("name", "x"), ("scope", "read")]);
    assert_eq!(no_csrf.status, 403);
    let mut olga = Browser::login(&server, "olga", PASSWORD);
    assert_eq!(olga.get("/api-tokens").status, 403);
    assert!(!olga.get("/").text().contains("href=\"/api-tokens\""));
    let olga_csrf = olga.csrf();
    let r = olga.post(
        "/api-tokens",
        &[
            ("csrf", &olga_csrf),
            ("name", "sneaky"),
            ("scope", "read-write"),
        ],
    );
    assert_eq!(r.status, 403);

    let rw = create_token(&mut boss, "1c-sync", "read-write");
    let ro = create_token(&mut boss, "monitoring", "read");
    let list = boss.get("/api-tokens").text();
    assert!(list.contains("1c-sync") && list.contains("monitoring"));
    assert!(!list.contains(&rw[3..]), "the secret is shown only once");
    assert!(!list.contains("sneaky") && !list.contains(">x<"));
    // A duplicate name and a bad name are refused, naming the problem.
    let csrf = boss.csrf();
    let dup = boss.post(
        "/api-tokens",
        &[("csrf", &csrf), ("name", "1c-sync"), ("scope", "read")],
    );
    assert_eq!(dup.status, 409, "{}", dup.text());
    let bad = boss.post(
        "/api-tokens",
        &[("csrf", &csrf), ("name", "bad name"), ("scope", "read")],
    );
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("name:"), "{}", bad.text());
    let log = audit(&mut boss);
    assert!(log.contains("api_token.create") && log.contains("api_token:1c-sync"));

    let api = Api::new(&server, Some(&rw));
    let read_only = Api::new(&server, Some(&ro));

    // --- The OpenAPI document needs no token. ---
    let doc = Api::new(&server, None).get("/openapi.json");
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));

    // --- Authentication: 401 without, with a wrong token; 403 for a read-only write. ---
    let new_ticket = json!({
        "requester_name": "Анна Caller",
        "category": "network",
        "priority": "high",
        "subject": "VPN не подключается",
        "description": "С утра ошибка 809",
    });
    for (who, expected) in [
        (Api::new(&server, None), 401),
        (Api::new(&server, Some("hd_0000")), 401),
        (
            Api::new(&server, Some(&format!("{}0", &rw[..rw.len() - 1]))),
            401,
        ),
        (Api::new(&server, Some(&ro)), 403),
    ] {
        let r = who.post("/tickets", &new_ticket);
        let (code, _) = r.error(expected);
        assert_eq!(
            code,
            if expected == 401 {
                "unauthorized"
            } else {
                "forbidden"
            }
        );
        if expected == 401 {
            assert!(r.headers.contains_key("www-authenticate"));
        }
    }
    // A basic-auth header is no bearer token.
    let basic = send(
        client()
            .get(server.url("/api/v1/tickets"))
            .header("authorization", "Basic Ym9zczpwYXNzd29yZDE="),
    );
    basic.error(401);
    // Nothing was filed.
    assert!(read_only.ids("").is_empty());

    // --- Create (on behalf of a caller), with the token as the actor. ---
    let r = api.post("/tickets", &new_ticket);
    assert_eq!(r.status, 201, "{}", r.text());
    let t1 = r.json()["ticket"].clone();
    assert_eq!(t1["status"], "new");
    assert_eq!(t1["source"], "api");
    assert_eq!(t1["requester_name"], "Анна Caller");
    let id1 = t1["id"].as_u64().unwrap();
    let r = api.post(
        "/tickets",
        &json!({"requester_name": "Пётр", "category": "printer", "priority": "low",
                "subject": "Принтер жуёт бумагу", "idempotency_key": "mail-4711"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id2 = r.json()["ticket"]["id"].as_u64().unwrap();
    // The same idempotency key files nothing new.
    let again = api.post(
        "/tickets",
        &json!({"requester_name": "Пётр", "category": "printer", "priority": "low",
                "subject": "Принтер жуёт бумагу", "idempotency_key": "mail-4711"}),
    );
    assert_eq!(again.json()["ticket"]["id"].as_u64(), Some(id2));
    // Validation names the field (422); an unknown requester is 404.
    let (code, field) = api
        .post(
            "/tickets",
            &json!({"requester_name": "X", "category": "network", "subject": "  "}),
        )
        .error(422);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("invalid", Some("subject"))
    );
    let (code, _) = api
        .post(
            "/tickets",
            &json!({"requester": 555, "category": "network", "subject": "s"}),
        )
        .error(404);
    assert_eq!(code, "not_found");
    let log = audit(&mut boss);
    assert!(
        log.contains("ticket.create") && log.contains("api:1c-sync"),
        "{log}"
    );

    // --- List with the panel's filters and pagination. ---
    assert_eq!(read_only.ids(""), vec![id2, id1]);
    assert_eq!(api.ids("?priority=high"), vec![id1]);
    assert_eq!(api.ids("?category=printer"), vec![id2]);
    assert_eq!(api.ids("?q=vpn"), vec![id1]);
    assert_eq!(api.ids("?status=new"), vec![id2, id1]);
    assert_eq!(api.ids("?status=open&sort=oldest"), vec![id1, id2]);
    assert_eq!(api.ids("?from=2000-01-01&to=2999-12-31"), vec![id2, id1]);
    assert!(api.ids("?to=2001-01-01").is_empty());
    assert!(api.ids("?requester=42").is_empty());
    assert!(api.ids("?department=IT").is_empty());
    let p1 = api.get("/tickets?per_page=1").json();
    assert_eq!(
        (p1["tickets"][0]["id"].as_u64(), p1["has_more"].as_bool()),
        (Some(id2), Some(true))
    );
    let p2 = api.get("/tickets?per_page=1&page=2").json();
    assert_eq!(
        (p2["tickets"][0]["id"].as_u64(), p2["has_more"].as_bool()),
        (Some(id1), Some(false))
    );
    for (query, field) in [
        ("?status=bogus", "status"),
        ("?priority=urgent", "priority"),
        ("?from=31.12.2025", "from"),
        ("?per_page=0", "per_page"),
        ("?per_page=1000", "per_page"),
        ("?page=x", "page"),
        ("?colour=red", "colour"),
    ] {
        let (code, f) = api.get(&format!("/tickets{query}")).error(400);
        assert_eq!(
            (code.as_str(), f.as_deref()),
            ("bad_request", Some(field)),
            "{query}"
        );
    }

    // --- Status changes, assignment, an illegal change (409) that changes nothing. ---
    let post_status = |id: u64, body: Value| api.post(&format!("/tickets/{id}/status"), &body);
    let r = post_status(id1, json!({"action": "assign", "assignee": "olga"}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["ticket"]["status"], "in_progress");
    assert_eq!(api.ids("?assignee=olga"), vec![id1]);
    let r = post_status(id1, json!({"action": "resolve"}));
    assert_eq!(r.json()["ticket"]["status"], "resolved");
    let (code, field) = post_status(id1, json!({"action": "resolve"})).error(409);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("illegal_transition", Some("action"))
    );
    let (code, field) = post_status(id2, json!({"action": "reject"})).error(422);
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("invalid", Some("reason"))
    );
    let (_, field) = post_status(id2, json!({"action": "take", "reason": "x"})).error(400);
    assert_eq!(field.as_deref(), Some("reason"));
    let (_, field) = post_status(id2, json!({"action": "fly"})).error(400);
    assert_eq!(field.as_deref(), Some("action"));
    post_status(99, json!({"action": "take"})).error(404);
    let (_, field) = read_only
        .post(
            &format!("/tickets/{id2}/status"),
            &json!({"action": "take"}),
        )
        .error(403);
    assert_eq!(field, None);
    let r = post_status(id2, json!({"action": "reject", "reason": "Дубликат"}));
    assert_eq!(r.json()["ticket"]["status"], "rejected");
    assert_eq!(r.json()["ticket"]["rejection_reason"], "Дубликат");

    // --- A public reply; one ticket with its timeline. ---
    let r = api.post(
        &format!("/tickets/{id1}/replies"),
        &json!({"text": "Перезагрузите роутер"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["event"]["type"], "public_reply");
    let (_, field) = api
        .post(&format!("/tickets/{id1}/replies"), &json!({"text": ""}))
        .error(422);
    assert_eq!(field.as_deref(), Some("text"));
    let one = read_only.get(&format!("/tickets/{id1}"));
    assert_eq!(one.status, 200, "{}", one.text());
    let one = one.json();
    assert_eq!(one["ticket"]["status"], "resolved");
    assert_eq!(one["ticket"]["assignee"], "olga");
    let kinds: Vec<&str> = one["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "assigned",
            "status_changed",
            "status_changed",
            "public_reply"
        ]
    );
    assert!(
        one["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == "api:1c-sync")
    );
    assert_eq!(one["timeline"][4]["text"], "Перезагрузите роутер");
    api.get("/tickets/999").error(404);
    let (_, field) = api.get("/tickets/abc").error(400);
    assert_eq!(field.as_deref(), Some("id"));
    // The panel shows the API's work too.
    let page = boss.get(&format!("/tickets/{id1}")).text();
    assert!(page.contains("api:1c-sync") && page.contains("Перезагрузите роутер"));

    // --- Stock: an item made in the panel, listed and moved through the API. ---
    let csrf = boss.csrf();
    let r = boss.post(
        "/stock/new",
        &[
            ("csrf", &csrf),
            ("sku", "CE285A"),
            ("name", "HP 85A"),
            ("kind", "cartridge"),
            ("printers", "HP P1102"),
            ("min_level", "2"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let items = read_only.get("/stock").json();
    assert_eq!(items["items"][0]["sku"], "CE285A");
    assert_eq!(items["items"][0]["quantity"], 0);
    let r = api.post(
        "/stock/CE285A/moves",
        &json!({"reason": "receipt", "quantity": 10, "note": "поставка"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let moved = r.json();
    assert_eq!(moved["move"]["balance_after"], 10);
    assert_eq!(moved["item"]["quantity"], 10);
    assert_eq!(moved["move"]["actor"], "api:1c-sync");
    let r = api.post(
        "/stock/CE285A/moves",
        &json!({"reason": "issue", "quantity": 3, "ticket_id": id1}),
    );
    assert_eq!(r.json()["item"]["quantity"], 7);
    let (code, _) = api
        .post(
            "/stock/CE285A/moves",
            &json!({"reason": "issue", "quantity": 50}),
        )
        .error(409);
    assert_eq!(code, "stock_rule");
    let (code, field) = api
        .post(
            "/stock/CE285A/moves",
            &json!({"reason": "adjustment", "quantity": -1}),
        )
        .error(422);
    assert_eq!((code.as_str(), field.as_deref()), ("invalid", Some("note")));
    api.post(
        "/stock/NOPE/moves",
        &json!({"reason": "receipt", "quantity": 1}),
    )
    .error(404);
    read_only
        .post(
            "/stock/CE285A/moves",
            &json!({"reason": "receipt", "quantity": 1}),
        )
        .error(403);
    let (_, field) = api
        .post(
            "/stock/CE285A/moves",
            &json!({"reason": "receipt", "quantity": 1.5}),
        )
        .error(400);
    assert_eq!(field.as_deref(), Some("quantity"));
    assert_eq!(
        api.get("/stock").json()["items"][0]["quantity"],
        7,
        "refusals moved nothing"
    );

    // --- FAQ: list, create, update (upsert). ---
    assert_eq!(api.get("/faq").json()["entries"], json!([]));
    let r = api.post(
        "/faq",
        &json!({"question": "Как подключить VPN?", "answer": "Откройте клиент…", "alternatives": ["vpn"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let faq_id = r.json()["entry"]["id"].as_u64().unwrap();
    let r = api.send_json(
        "PUT",
        &format!("/faq/{faq_id}"),
        &json!({"question": "Как подключить VPN?", "answer": "Новый ответ", "enabled": false}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let entries = read_only.get("/faq").json()["entries"].clone();
    assert_eq!(entries.as_array().unwrap().len(), 1);
    assert_eq!(entries[0]["answer"], "Новый ответ");
    assert_eq!(entries[0]["enabled"], false);
    assert_eq!(entries[0]["alternatives"], json!([]));
    api.send_json(
        "PUT",
        "/faq/999",
        &json!({"question": "Где принтер?", "answer": "В коридоре"}),
    )
    .error(404);
    let (_, field) = api
        .post("/faq", &json!({"question": "", "answer": "a"}))
        .error(422);
    assert_eq!(field.as_deref(), Some("question"));
    read_only
        .post(
            "/faq",
            &json!({"question": "Где принтер?", "answer": "В коридоре"}),
        )
        .error(403);

    // --- Bodies: unknown fields and wrong types name the field; bad JSON; too large. ---
    for (body, field) in [
        (
            json!({"category": "network", "subject": "s", "colour": "red"}),
            "colour",
        ),
        (json!({"category": "network", "subject": 5}), "subject"),
        (
            json!({"category": "network", "subject": "s", "priority": "asap"}),
            "priority",
        ),
        (json!({"subject": "s"}), "category"),
        (
            json!({"category": "cartridge_order", "subject": "s", "order": [{"sku": "CE285A", "quantity": "two"}]}),
            "order[0].quantity",
        ),
    ] {
        let r = api.post("/tickets", &body);
        let (code, f) = r.error(400);
        assert_eq!(
            (code.as_str(), f.as_deref()),
            ("bad_request", Some(field)),
            "{body}"
        );
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains(field)
        );
    }
    let (_, field) = api
        .post(
            &format!("/tickets/{id1}/replies"),
            &json!({"text": "hi", "silent": true}),
        )
        .error(400);
    assert_eq!(field.as_deref(), Some("silent"));
    let (_, field) = api
        .post("/faq", &json!({"question": "q", "answer": ["a"]}))
        .error(400);
    assert_eq!(field.as_deref(), Some("answer"));
    for raw in [&b"{\"subject\": "[..], b"not json", b"[]", b""] {
        let (code, field) = api.call("POST", "/tickets", Some(raw)).error(400);
        assert_eq!((code.as_str(), field), ("bad_request", None));
    }
    let huge = json!({"category": "network", "subject": "s", "description": "x".repeat(70_000)});
    let (code, _) = api.post("/tickets", &huge).error(413);
    assert_eq!(code, "too_large");
    let (code, _) = api.get("/nope").error(404);
    assert_eq!(code, "not_found");
    let r = api.call("DELETE", "/tickets", None);
    let (code, _) = r.error(405);
    assert_eq!(code, "method_not_allowed");
    assert_eq!(r.headers["allow"], "GET, POST");
    assert_eq!(api.ids("").len(), 2, "no refused call filed a ticket");

    // --- Every operation of the OpenAPI document is served (never 404/405). ---
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .replace(
                    "{id}",
                    &if path.starts_with("/faq") {
                        faq_id
                    } else {
                        id1
                    }
                    .to_string(),
                )
                .replace("{sku}", "CE285A");
            // An empty object: writes answer 400 (a required field is missing) and change
            // nothing; reads answer 200.
            let body = (method != "get").then_some(&b"{}"[..]);
            let r = api.call(&method.to_uppercase(), &concrete, body);
            assert!(
                ![404, 405].contains(&r.status),
                "{method} {path}: {} {}",
                r.status,
                r.text()
            );
            assert!(r.status < 500, "{method} {path}: {}", r.text());
            checked += 1;
        }
    }
    assert_eq!(checked, 11);

    // --- Revocation: the token stops working at once; the panel shows when it was used. ---
    let csrf = boss.csrf();
    let r = boss.post(
        "/api-tokens/revoke",
        &[("csrf", &csrf), ("name", "1c-sync")],
    );
    assert_eq!(r.status, 303);
    let (code, _) = api.post("/tickets", &new_ticket).error(401);
    assert_eq!(code, "unauthorized");
    api.get("/tickets").error(401);
    assert_eq!(
        read_only.ids("").len(),
        2,
        "the revoked token filed nothing"
    );
    let list = boss.get("/api-tokens").text();
    assert_eq!(
        list.matches("/api-tokens/revoke").count(),
        1,
        "only monitoring can still be revoked"
    );
    let log = audit(&mut boss);
    assert!(log.contains("api_token.revoke"));
    // Secrets never reach the log output.
    assert!(!server.stdout().contains(&rw[3..]));
}

mod bot {
    //! A reply through the API reaches the requester in Telegram.
    use super::*;
    use crate::tg_emulator::Emulator;

    const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
    const USER: i64 = 1001;
    const WAIT: Duration = Duration::from_secs(15);

    #[track_caller]
    fn expect(
        emu: &Emulator,
        chat: i64,
        mark: usize,
        needle: &str,
    ) -> crate::tg_emulator::SentMessage {
        let found = emu.wait_for_sent(
            |all| {
                all.iter()
                    .filter(|m| m.chat_id == chat)
                    .skip(mark)
                    .any(|m| m.text.as_deref().is_some_and(|t| t.contains(needle)))
            },
            WAIT,
        );
        let sent: Vec<String> = emu
            .sent_to(chat)
            .iter()
            .filter_map(|m| m.text.clone())
            .collect();
        assert!(found, "no message containing {needle:?}; got {sent:#?}");
        emu.sent_to(chat)
            .into_iter()
            .skip(mark)
            .find(|m| m.text.as_deref().is_some_and(|t| t.contains(needle)))
            .unwrap()
    }

    #[track_caller]
    fn say(emu: &Emulator, text: &str, needle: &str) -> crate::tg_emulator::SentMessage {
        let m = emu.sent_to(USER).len();
        emu.push_message(USER, USER, text);
        expect(emu, USER, m, needle)
    }

    #[test]
    fn a_reply_through_the_api_reaches_the_requester() {
        let emu = Emulator::start(TOKEN);
        let sb = Sandbox::new();
        sb.write(
            "config.toml",
            format!(
                "[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\n\n[bot]\ndepartments = [\"Бухгалтерия\"]\n",
                emu.api_url()
            ),
        );
        emu.set_user(USER, "Иван", Some("ivan"));
        add_staff(&sb, "boss", "admin");
        let server = sb.serve(&["--config", "config.toml"]);
        let deadline = std::time::Instant::now() + WAIT;
        while server.get("/healthz").json()["bot"] != "polling" {
            assert!(std::time::Instant::now() < deadline, "the bot never polled");
            std::thread::sleep(Duration::from_millis(50));
        }

        // The requester registers with the bot.
        say(&emu, "/start", "Как вас зовут");
        say(&emu, "Иван Петров", "номер телефона");
        let m = emu.sent_to(USER).len();
        emu.push_contact(USER, USER, "+79123456789");
        let deps = expect(&emu, USER, m, "Выберите ваш отдел");
        let data = deps
            .callback_data("Бухгалтерия")
            .expect("department button");
        let m = emu.sent_to(USER).len();
        emu.push_callback(USER, USER, deps.message_id, &data);
        expect(&emu, USER, m, "Готово");

        let mut boss = Browser::login(&server, "boss", PASSWORD);
        let secret = create_token(&mut boss, "crm", "read-write");
        let api = Api::new(&server, Some(&secret));

        // A ticket filed for the registered requester tells them; a reply reaches them.
        let m = emu.sent_to(USER).len();
        let r = api.post(
            "/tickets",
            &json!({"requester": USER, "category": "software", "subject": "Не открывается 1С"}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let ticket = r.json()["ticket"].clone();
        assert_eq!(ticket["requester_name"], "Иван Петров");
        assert_eq!(ticket["department"], "Бухгалтерия");
        assert_eq!(api.ids("?department=Бухгалтерия").len(), 1);
        assert_eq!(api.ids(&format!("?requester={USER}")).len(), 1);
        let number = ticket["number"].as_str().unwrap().to_string();
        expect(&emu, USER, m, &number);

        let m = emu.sent_to(USER).len();
        let id = ticket["id"].as_u64().unwrap();
        let r = api.post(
            &format!("/tickets/{id}/replies"),
            &json!({"text": "Переустановили клиент, попробуйте снова"}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        expect(&emu, USER, m, "Переустановили клиент, попробуйте снова");
        // Delivered: nothing waits in the outbox.
        let deadline = std::time::Instant::now() + WAIT;
        while server.get("/healthz").json()["outbox_pending"] != 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the outbox never drained"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
