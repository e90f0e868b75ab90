//! Fixtures for the Mini App tests: the real `helpdesk serve` with its bot on the Bot API
//! emulator and `web.public_url` set, requesters registered through the bot's own dialogue,
//! stock items created through the panel, a signed-in panel client, and Telegram `initData`
//! signed here (independently of the server's code) with the test bot token.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::common::{Sandbox, Server};
use crate::tg_emulator::{Emulator, SentMessage};

pub const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
pub const STAFF_CHAT: i64 = -1001234567890;
pub const USER: i64 = 1001;
pub const OTHER: i64 = 1002;
pub const STRANGER: i64 = 1003;
pub const LOGIN: &str = "boss";
pub const PASSWORD: &str = "password1";
pub const PUBLIC_URL: &str = "https://helpdesk.example.test";
pub const WAIT: Duration = Duration::from_secs(15);

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Launch data as Telegram builds it for `user_id`, signed for `token`.
pub fn init_data_for(user_id: i64, first_name: &str, auth_date: i64, token: &str) -> String {
    let user = serde_json::json!({
        "id": user_id,
        "first_name": first_name,
        "language_code": "ru",
        "allows_write_to_pm": true,
    })
    .to_string();
    let fields: BTreeMap<&str, String> = [
        ("query_id", "AAHdF6IQAAAAAN0XohDhrOrc".to_string()),
        ("user", user),
        ("auth_date", auth_date.to_string()),
        ("signature", "test-signature_value".to_string()),
    ]
    .into_iter()
    .collect();
    let check = fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut key = Hmac::<Sha256>::new_from_slice(b"WebAppData").unwrap();
    key.update(token.as_bytes());
    let secret = key.finalize().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret).unwrap();
    mac.update(check.as_bytes());
    let hash = hex::encode(mac.finalize().into_bytes());
    let mut q: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    q.push(format!("hash={hash}"));
    q.join("&")
}

/// Fresh, valid launch data for `user_id`.
pub fn init_data(user_id: i64) -> String {
    init_data_for(user_id, "Иван", now() - 5, TOKEN)
}

/// `init` with the user id inside changed (the hash no longer matches).
pub fn tampered(init: &str, from: i64, to: i64) -> String {
    let t = init.replace(&format!("%22id%22%3A{from}"), &format!("%22id%22%3A{to}"));
    assert_ne!(t, init, "the user id was found and changed");
    t
}

/// The emulator, the sandbox and the server (bot on, `web.public_url` set).
pub struct Env {
    pub emu: Emulator,
    pub sb: Sandbox,
    pub server: Server,
}

impl Env {
    pub fn start() -> Env {
        Env::start_with(PUBLIC_URL)
    }

    /// Like [`Env::start`] with `web.public_url = public_url` (empty: none).
    pub fn start_with(public_url: &str) -> Env {
        let emu = Emulator::start(TOKEN);
        let sb = Sandbox::new();
        sb.write(
            "config.toml",
            format!(
                "[web]\npublic_url = \"{public_url}\"\nminiapp_max_age = 3600\n\n\
                 [telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\nstaff_chat_id = {STAFF_CHAT}\n",
                emu.api_url()
            ),
        );
        for (id, name) in [(USER, "Иван"), (OTHER, "Ольга"), (STRANGER, "Пётр")] {
            emu.set_user(id, name, None);
        }
        sb.run_stdin(
            [
                "--config",
                "config.toml",
                "admin",
                "add",
                "--login",
                LOGIN,
                "--role",
                "admin",
                "--password-stdin",
            ],
            &format!("{PASSWORD}\n"),
        )
        .success();
        let server = sb.serve(&["--config", "config.toml"]);
        assert_eq!(server.get("/healthz").json()["bot"], "polling");
        Env { emu, sb, server }
    }

    pub fn mark(&self, chat: i64) -> usize {
        self.emu.sent_to(chat).len()
    }

    /// Waits for a message to `chat`, sent after `mark`, containing `needle`.
    #[track_caller]
    pub fn expect(&self, chat: i64, mark: usize, needle: &str) -> SentMessage {
        let has = |m: &SentMessage| m.text.as_deref().is_some_and(|t| t.contains(needle));
        let found = self.emu.wait_for_sent(
            |all| all.iter().filter(|m| m.chat_id == chat).skip(mark).any(has),
            WAIT,
        );
        let sent: Vec<String> = self
            .emu
            .sent_to(chat)
            .iter()
            .skip(mark)
            .filter_map(|m| m.text.clone())
            .collect();
        assert!(
            found,
            "no message to {chat} containing {needle:?}; got {sent:#?}\nserver log:\n{}",
            self.server.stdout()
        );
        self.emu
            .sent_to(chat)
            .into_iter()
            .skip(mark)
            .find(has)
            .unwrap()
    }

    /// Registers `user` as `name` through the bot's dialogue (no departments configured).
    #[track_caller]
    pub fn register(&self, user: i64, name: &str) {
        let m = self.mark(user);
        self.emu.push_message(user, user, "/start");
        self.expect(user, m, "Как вас зовут");
        let m = self.mark(user);
        self.emu.push_message(user, user, name);
        self.expect(user, m, "номер телефона");
        let m = self.mark(user);
        self.emu.push_contact(user, user, "+79123456789");
        self.expect(user, m, &format!("Готово, {name}"));
    }

    /// A panel client signed in as the admin.
    pub fn panel(&self) -> Panel {
        Panel::login(&self.server)
    }

    /// An API call with `Authorization: <auth>` (none when `None`).
    pub fn api(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .unwrap();
        let mut req = http.request(method.parse().unwrap(), self.server.url(path));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req
            .send()
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status().as_u16();
        let text = r.text().unwrap_or_default();
        let v = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, v)
    }

    /// The API as `user` with fresh launch data.
    pub fn api_as(
        &self,
        user: i64,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let auth = format!("tma {}", init_data(user));
        self.api(method, path, Some(&auth), body)
    }
}

/// A signed-in panel session: cookies kept by hand, redirects not followed.
pub struct Panel {
    http: reqwest::blocking::Client,
    base: String,
    cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: u16,
    pub body: String,
}

fn csrf_of(body: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let at = body
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf field in:\n{body}"))
        + marker.len();
    body[at..].split('"').next().unwrap().to_string()
}

impl Panel {
    fn login(server: &Server) -> Panel {
        let mut p = Panel {
            http: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .no_proxy()
                .build()
                .unwrap(),
            base: server.url(""),
            cookies: HashMap::new(),
        };
        let page = p.get("/login");
        assert_eq!(page.status, 200);
        let token = csrf_of(&page.body);
        let r = p.post(
            "/login",
            &[("csrf", &token), ("login", LOGIN), ("password", PASSWORD)],
        );
        assert_eq!(r.status, 303, "login: {}", r.body);
        p
    }

    fn send(&mut self, req: reqwest::blocking::RequestBuilder) -> Page {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let req = if cookie.is_empty() {
            req
        } else {
            req.header("cookie", cookie)
        };
        let r = req.send().expect("request");
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().expect("ascii cookie");
            let pair = v.split(';').next().unwrap_or("");
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() || v.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        Page {
            status: r.status().as_u16(),
            body: r.text().unwrap_or_default(),
        }
    }

    pub fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req)
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(req)
    }

    /// GET `from` for its CSRF token, then POST `fields` to `path`.
    #[track_caller]
    pub fn submit(&mut self, from: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(from);
        assert_eq!(page.status, 200, "GET {from}: {}", page.body);
        let token = csrf_of(&page.body);
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all)
    }

    /// Creates a cartridge fitting `printers` and receives `quantity` of it (if any).
    #[track_caller]
    pub fn cartridge(&mut self, sku: &str, name: &str, printers: &[&str], quantity: u32) {
        let printers = printers.join("\r\n");
        let r = self.submit(
            "/stock/new",
            "/stock/new",
            &[
                ("sku", sku),
                ("name", name),
                ("kind", "cartridge"),
                ("printers", &printers),
                ("min_level", "1"),
            ],
        );
        assert_eq!(r.status, 303, "create {sku}: {}", r.body);
        if quantity == 0 {
            return;
        }
        let item = format!("/stock/{sku}");
        let r = self.submit(
            &item,
            &format!("{item}/receipt"),
            &[("amount", &quantity.to_string())],
        );
        assert_eq!(r.status, 303, "receipt {sku}: {}", r.body);
    }

    /// Blocks requester `tg_id`.
    #[track_caller]
    pub fn block(&mut self, tg_id: i64) {
        let r = self.submit("/people", &format!("/people/requesters/{tg_id}/block"), &[]);
        assert!(r.status == 303 || r.status == 200, "block: {}", r.body);
    }
}
