//! The Telegram bot end to end: the real `helpdesk serve` binary talks over real HTTP to the
//! Bot API emulator (`tests/tg_emulator`), which records every call. Scenarios: registration,
//! a full ticket from the menu to confirmation, the staff card and its buttons, rejection that
//! demands a reason, requester notifications, the FAQ (answered / suggested / handed over),
//! a restart in the middle of a dialogue, 429 and 5xx answers, and a user who blocked the bot.

mod common;
mod tg_emulator;

use std::time::Duration;

use common::{Sandbox, Server};
use serde_json::Value;
use tg_emulator::{Emulator, FaultKind, SentMessage};

const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
const STAFF_CHAT: i64 = -1001234567890;
const ADMIN: i64 = 700;
const USER: i64 = 1001;
const WAIT: Duration = Duration::from_secs(15);

struct Env {
    emu: Emulator,
    sb: Sandbox,
    server: Option<Server>,
    /// How long to wait for each expected message.
    wait: Duration,
    /// A fixed port to listen on (webhook mode names it in web.public_url); else a free one.
    port: Option<u16>,
    /// What /healthz says of the bot once it runs: "polling" or "webhook".
    mode: &'static str,
}

impl Env {
    fn new(extra: &str) -> Env {
        Env::with(extra, |_| {})
    }

    /// Like [`Env::new`], with `setup` applied to the emulator before the server starts.
    fn with(extra: &str, setup: impl FnOnce(&Emulator)) -> Env {
        let emu = Emulator::start(TOKEN);
        setup(&emu);
        let sb = Sandbox::new();
        sb.write(
            "config.toml",
            format!(
                "[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\nstaff_chat_id = {STAFF_CHAT}\nsuperadmins = [{ADMIN}]\n\n[bot]\ndepartments = [\"Бухгалтерия\", \"Склад\"]\nurgent_cooldown_minutes = 10\n{extra}\n",
                emu.api_url()
            ),
        );
        emu.set_user(USER, "Иван", Some("ivan"));
        emu.set_user(ADMIN, "Админ", Some("boss"));
        let mut env = Env {
            emu,
            sb,
            server: None,
            wait: WAIT,
            port: None,
            mode: "polling",
        };
        env.start();
        env
    }

    /// The bot in webhook mode, `web.public_url` = `http://127.0.0.1:<port>` (the loopback
    /// exception to https).
    fn webhook(secret: &str) -> Env {
        let port = common::free_port();
        Env::with_mode(
            &format!("[web]\npublic_url = \"http://127.0.0.1:{port}\"\n"),
            &format!("mode = \"webhook\"\nwebhook_secret = \"{secret}\"\n"),
            Some(port),
            "webhook",
        )
    }

    fn with_mode(head: &str, telegram: &str, port: Option<u16>, mode: &'static str) -> Env {
        let emu = Emulator::start(TOKEN);
        let sb = Sandbox::new();
        sb.write(
            "config.toml",
            format!(
                "{head}[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\nstaff_chat_id = {STAFF_CHAT}\nsuperadmins = [{ADMIN}]\n{telegram}\n[bot]\ndepartments = [\"Бухгалтерия\", \"Склад\"]\n",
                emu.api_url()
            ),
        );
        emu.set_user(USER, "Иван", Some("ivan"));
        emu.set_user(ADMIN, "Админ", Some("boss"));
        let mut env = Env {
            emu,
            sb,
            server: None,
            wait: WAIT,
            port,
            mode,
        };
        env.start();
        env
    }

    fn start(&mut self) {
        let server = match self.port {
            None => self.sb.serve(&["--config", "config.toml"]),
            Some(port) => {
                let cmd = self.sb.command([
                    "serve",
                    "--config",
                    "config.toml",
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                ]);
                let mut s = Server::spawn(cmd, port);
                s.wait_ready(WAIT).unwrap_or_else(|e| panic!("{e}"));
                s
            }
        };
        // The emulator records a long poll only when it is answered; the bot reports polling
        // as soon as it starts, and updates pushed meanwhile wait in the emulator's queue.
        let deadline = std::time::Instant::now() + WAIT;
        let mut polling = false;
        while std::time::Instant::now() < deadline {
            if server.get("/healthz").json()["bot"] == self.mode {
                polling = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let calls: Vec<String> = self
            .emu
            .calls()
            .iter()
            .map(|c| format!("{} {} {}", c.method, c.status, c.response))
            .collect();
        assert!(
            polling,
            "the bot never polled: {}\n{calls:#?}",
            server.stdout()
        );
        self.server = Some(server);
    }

    fn stop(&mut self) {
        let mut s = self.server.take().expect("running");
        assert!(s.terminate().success(), "clean stop: {}", s.stderr());
    }

    fn server(&self) -> &Server {
        self.server.as_ref().expect("running")
    }

    /// How many messages `chat` has received so far.
    fn mark(&self, chat: i64) -> usize {
        self.emu.sent_to(chat).len()
    }

    /// Waits for a message to `chat`, sent after `mark`, containing `needle`.
    #[track_caller]
    fn expect(&self, chat: i64, mark: usize, needle: &str) -> SentMessage {
        let found = self.emu.wait_for_sent(
            |all| {
                all.iter()
                    .filter(|m| m.chat_id == chat)
                    .skip(mark)
                    .any(|m| m.text.as_deref().is_some_and(|t| t.contains(needle)))
            },
            self.wait,
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
            self.server().stdout()
        );
        self.emu
            .sent_to(chat)
            .into_iter()
            .skip(mark)
            .find(|m| m.text.as_deref().is_some_and(|t| t.contains(needle)))
            .unwrap()
    }

    /// Sends a text as `user` and waits for a reply containing `needle`.
    #[track_caller]
    fn say(&self, user: i64, text: &str, needle: &str) -> SentMessage {
        let m = self.mark(user);
        self.emu.push_message(user, user, text);
        self.expect(user, m, needle)
    }

    /// Presses an inline button of `msg` as `user` and waits for a message to `chat`
    /// containing `needle`.
    #[track_caller]
    fn press(
        &self,
        chat: i64,
        user: i64,
        msg: &SentMessage,
        data: &str,
        needle: &str,
    ) -> SentMessage {
        assert!(
            buttons(msg).iter().any(|(_, d)| d == data),
            "no button {data:?} in {:?}",
            buttons(msg)
        );
        let m = self.mark(chat);
        self.emu.push_callback(chat, user, msg.message_id, data);
        self.expect(chat, m, needle)
    }

    /// Registers `USER` through the dialogue.
    fn register(&self) {
        self.say(USER, "/start", "Как вас зовут");
        self.say(USER, "Иван Петров", "номер телефона");
        let m = self.mark(USER);
        self.emu.push_contact(USER, USER, "+79123456789");
        let deps = self.expect(USER, m, "Выберите ваш отдел");
        self.press(USER, USER, &deps, "d:dep:0", "Готово, Иван Петров");
    }

    /// Files a printer ticket from the menu and returns the confirmation.
    fn file_ticket(&self, description: &str) -> SentMessage {
        let cats = self.say(USER, "📝 Новая заявка", "Шаг 1");
        self.press(USER, USER, &cats, "d:cat:printer", "Опишите проблему");
        let prio = self.say(USER, description, "Насколько срочно");
        let att = self.press(USER, USER, &prio, "d:pri:high", "Прикрепите");
        let confirm = self.press(USER, USER, &att, "d:done", "Проверьте заявку");
        self.press(USER, USER, &confirm, "d:send", "создана")
    }

    /// The latest card of ticket `n` in the staff group (as currently edited).
    fn card(&self, n: u64) -> (i64, String, Vec<(String, String)>) {
        let needle = format!("#{n} ·");
        let sent = self.emu.sent_to(STAFF_CHAT);
        let first = sent
            .iter()
            .find(|m| m.text.as_deref().is_some_and(|t| t.starts_with(&needle)))
            .expect("card sent");
        let now = self
            .emu
            .message(STAFF_CHAT, first.message_id)
            .expect("card exists");
        let text = now["text"].as_str().unwrap_or("").to_string();
        (first.message_id, text, inline(&now["reply_markup"]))
    }

    /// Waits until card `n` contains `needle`.
    #[track_caller]
    fn card_shows(&self, n: u64, needle: &str) {
        let deadline = std::time::Instant::now() + self.wait;
        loop {
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.card(n).1.contains(needle)
            }));
            if ok.unwrap_or(false) {
                return;
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "card #{n} never showed {needle:?}: {:?}",
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.card(n).1))
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A signed-in panel session over HTTP (cookies and CSRF by hand, redirects not followed).
struct Panel {
    http: reqwest::blocking::Client,
    base: String,
    cookies: std::collections::BTreeMap<String, String>,
}

impl Panel {
    /// Creates staff account `login` (through the running server's control socket) and signs in.
    #[track_caller]
    fn sign_in(env: &Env, login: &str, role: &str) -> Panel {
        env.sb
            .run_stdin(
                [
                    "--config",
                    "config.toml",
                    "admin",
                    "add",
                    "--login",
                    login,
                    "--role",
                    role,
                    "--password-stdin",
                ],
                "password1\n",
            )
            .success();
        let mut p = Panel {
            http: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .no_proxy()
                .build()
                .expect("http client"),
            base: env.server().url(""),
            cookies: Default::default(),
        };
        let r = p.submit(
            "/login",
            "/login",
            &[("login", login), ("password", "password1")],
        );
        assert_eq!(r.0, 303, "login: {}", r.1);
        p
    }

    fn keep_cookies(&mut self, r: &reqwest::blocking::Response) {
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().expect("ascii cookie");
            let pair = v.split(';').next().unwrap_or("");
            if let Some((k, val)) = pair.split_once('=') {
                if val.is_empty() || v.contains("Max-Age=0") {
                    self.cookies.remove(k.trim());
                } else {
                    self.cookies.insert(k.trim().to_string(), val.to_string());
                }
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// (status, body).
    #[track_caller]
    fn get(&mut self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        self.keep_cookies(&r);
        (r.status().as_u16(), r.text().expect("body"))
    }

    /// POSTs a form to `path` with the CSRF token of the page at `from`; (status, body).
    #[track_caller]
    fn submit(&mut self, from: &str, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let (status, page) = self.get(from);
        assert_eq!(status, 200, "GET {from}: {page}");
        let marker = "name=\"csrf\" value=\"";
        let at = page.find(marker).expect("csrf field") + marker.len();
        let token = page[at..].split('"').next().unwrap().to_string();
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        ser.append_pair("csrf", &token);
        for (k, v) in fields {
            ser.append_pair(k, v);
        }
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(ser.finish())
            .send()
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        self.keep_cookies(&r);
        (r.status().as_u16(), r.text().expect("body"))
    }

    /// Creates a stock item with the printers it fits and receives `quantity` of it.
    #[track_caller]
    fn stock_item(&mut self, sku: &str, name: &str, printers: &[&str], quantity: u32) {
        let printers = printers.join("\r\n");
        let r = self.submit(
            "/stock/new",
            "/stock/new",
            &[
                ("sku", sku),
                ("name", name),
                ("kind", "cartridge"),
                ("printers", &printers),
                ("min_level", "0"),
            ],
        );
        assert_eq!(r.0, 303, "new item {sku}: {}", r.1);
        if quantity > 0 {
            let page = format!("/stock/{sku}");
            let r = self.submit(
                &page,
                &format!("/stock/{sku}/receipt"),
                &[("amount", &quantity.to_string())],
            );
            assert_eq!(r.0, 303, "receipt {sku}: {}", r.1);
        }
    }
}

fn inline(markup: &Value) -> Vec<(String, String)> {
    markup["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().into_iter().flatten())
        .map(|b| {
            (
                b["text"].as_str().unwrap_or("").to_string(),
                b["callback_data"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn buttons(m: &SentMessage) -> Vec<(String, String)> {
    m.reply_markup.as_ref().map(inline).unwrap_or_default()
}

#[test]
fn registration_then_a_full_ticket_reaches_the_staff_group() {
    let env = Env::new("");
    assert_eq!(env.server().get("/healthz").json()["bot"], "polling");
    // Polling mode looks for a webhook to remove first (see the webhook test) and sets none.
    assert!(!env.emu.calls_of("getWebhookInfo").is_empty());
    assert!(env.emu.calls_of("setWebhook").is_empty());
    env.register();
    // The main menu is a reply keyboard with the five buttons.
    let menu = env
        .emu
        .sent_to(USER)
        .into_iter()
        .rev()
        .find(|m| m.params["reply_markup"]["keyboard"].is_array())
        .unwrap();
    let labels = menu.params["reply_markup"]["keyboard"].to_string();
    for b in [
        "Новая заявка",
        "Мои заявки",
        "Задать вопрос",
        "Срочный вызов",
        "О нас",
    ] {
        assert!(labels.contains(b), "{labels}");
    }

    // Validation re-prompts without moving on.
    let cats = env.say(USER, "📝 Новая заявка", "Шаг 1");
    let back = env.press(USER, USER, &cats, "d:cat:printer", "Опишите проблему");
    assert!(buttons(&back).iter().any(|(_, d)| d == "d:back"));
    let prio = env.say(USER, "Принтер в 305 жуёт бумагу", "Насколько срочно");
    let m = env.mark(USER);
    env.emu.push_message(USER, USER, "очень");
    env.expect(USER, m, "Насколько срочно");
    let att = env.press(USER, USER, &prio, "d:pri:high", "Прикрепите");
    let m = env.mark(USER);
    env.emu.push_photo(USER, USER, "photo-file-1", None);
    let att2 = env.expect(USER, m, "Прикреплено: 1");
    let confirm = env.press(USER, USER, &att2, "d:done", "Проверьте заявку");
    assert!(confirm.text.as_deref().unwrap().contains("жуёт бумагу"));
    let _ = att;
    let done = env.press(USER, USER, &confirm, "d:send", "Заявка #1 создана");
    assert!(done.text.unwrap().contains("Принтер в 305"));

    // The card reaches the staff group with its buttons.
    env.card_shows(1, "Иван Петров");
    let (_, text, kb) = env.card(1);
    assert!(
        text.contains("новая") && text.contains("Бухгалтерия"),
        "{text}"
    );
    let data: Vec<&str> = kb.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(data, vec!["tk:1", "am:1", "rj:1"]);

    // My tickets and /status show it.
    env.say(USER, "📋 Мои заявки", "#1 — новая");
    env.say(USER, "/status 1", "Статус: новая");
    env.say(USER, "/status 99", "не найдена");
    env.say(USER, "/frobnicate", "Не знаю такой команды");
    assert_eq!(env.emu.check_rate_limits(), Ok(()));
}

#[test]
fn staff_buttons_rejection_reason_replies_and_rating() {
    let env = Env::new("");
    env.register();
    env.file_ticket("Не печатает принтер");
    env.card_shows(1, "#1");
    let (card_id, _, _) = env.card(1);

    // Someone without a staff role cannot press the buttons.
    env.emu.set_user(555, "Посторонний", None);
    let q = env.emu.push_callback(STAFF_CHAT, 555, card_id, "tk:1");
    assert!(env.emu.wait_for(
        |c| {
            c.iter().any(|c| {
                c.method.eq_ignore_ascii_case("answerCallbackQuery")
                    && c.params["callback_query_id"] == q.as_str()
            })
        },
        WAIT
    ));
    let answer = env
        .emu
        .calls_of("answerCallbackQuery")
        .into_iter()
        .find(|c| c.params["callback_query_id"] == q.as_str())
        .unwrap();
    assert!(
        answer.params["text"]
            .as_str()
            .unwrap()
            .contains("Недостаточно прав"),
        "{:?}",
        answer.params
    );

    // Take: the card changes in place and the requester hears of it.
    let m = env.mark(USER);
    env.emu.push_callback(STAFF_CHAT, ADMIN, card_id, "tk:1");
    env.expect(USER, m, "в работе");
    env.card_shows(1, "в работе");
    assert_eq!(env.card(1).0, card_id, "edited in place");

    // A reply to the card goes to the requester.
    let m = env.mark(USER);
    env.emu
        .push_reply(STAFF_CHAT, ADMIN, "Заменили картридж, проверьте", card_id);
    env.expect(USER, m, "Заменили картридж, проверьте");

    // Reject asks for a reason and changes nothing until one is given.
    let m_staff = env.mark(STAFF_CHAT);
    let m_user = env.mark(USER);
    env.emu.push_callback(STAFF_CHAT, ADMIN, card_id, "rj:1");
    let prompt = env.expect(STAFF_CHAT, m_staff, "Причина отклонения заявки #1");
    assert_eq!(prompt.params["reply_markup"]["force_reply"], true);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        env.emu.sent_to(USER).iter().skip(m_user).all(|s| !s
            .text
            .as_deref()
            .unwrap_or("")
            .contains("отклонена"))
    );
    assert!(env.card(1).1.contains("в работе"));
    env.emu
        .push_reply(STAFF_CHAT, ADMIN, "Дубликат заявки", prompt.message_id);
    env.expect(USER, m_user, "Причина: Дубликат заявки");
    env.card_shows(1, "⛔ Дубликат заявки");
    let (_, _, kb) = env.card(1);
    assert_eq!(
        kb.iter().map(|(_, d)| d.as_str()).collect::<Vec<_>>(),
        vec!["ro:1"]
    );

    // Reopen, then resolve from the card; the requester confirms and rates.
    env.emu.push_callback(STAFF_CHAT, ADMIN, card_id, "ro:1");
    env.card_shows(1, "открыта заново");
    let m = env.mark(USER);
    env.emu.push_callback(STAFF_CHAT, ADMIN, card_id, "rs:1");
    let resolved = env.expect(USER, m, "решена");
    let rate = env.press(USER, USER, &resolved, "cf:1", "закрыта");
    let thanks_mark = env.mark(USER);
    env.emu.push_callback(USER, USER, rate.message_id, "rt:1:5");
    assert!(env.emu.wait_for(
        |c| c.iter().any(|c| {
            c.method.eq_ignore_ascii_case("answerCallbackQuery")
                && c.params["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("Спасибо за оценку"))
        }),
        WAIT
    ));
    let _ = thanks_mark;
    env.card_shows(1, "закрыта");
    assert_eq!(env.emu.check_rate_limits(), Ok(()));
}

#[test]
fn faq_answers_suggests_and_hands_over() {
    let mut env = Env::new("");
    env.stop();
    env.sb.write(
        "faq.csv",
        "question,answer,alternatives\n\
         Как подключить VPN?,Откройте FortiClient и войдите с доменным паролем.,vpn не работает|удалённый доступ\n\
         Принтер не печатает,Проверьте бумагу и перезапустите принтер.,принтер жуёт бумагу\n\
         Как заправить картридж принтера?,Оформите заказ картриджа через новую заявку.,картридж закончился\n\
         Как сменить пароль?,Нажмите Ctrl+Alt+Del и выберите «Сменить пароль».,забыл пароль\n",
    );
    env.sb
        .run(["--config", "config.toml", "faq", "import", "faq.csv"])
        .success();
    env.start();
    env.register();

    // Confident: the answer with "did this help?"; "no" turns the question into a ticket.
    let ans = env.say(USER, "Как подключить VPN?", "FortiClient");
    assert!(ans.text.as_deref().unwrap().contains("Помог ли этот ответ"));
    let no = buttons(&ans)
        .into_iter()
        .find(|(_, d)| d.starts_with("fn:"))
        .unwrap()
        .1;
    env.press(
        USER,
        USER,
        &ans,
        &no,
        "Вопрос передан специалисту (заявка #1)",
    );
    // Further messages join that conversation.
    env.say(USER, "Ошибка 651 при подключении", "Добавлено к заявке #1");
    env.card_shows(1, "Как подключить VPN?");
    // A helpful answer ends there.
    let close_conversation = |env: &Env| {
        let (card, _, _) = env.card(1);
        env.emu.push_callback(STAFF_CHAT, ADMIN, card, "rj:1");
        let prompt = env.expect(STAFF_CHAT, 0, "Причина отклонения заявки #1");
        env.emu
            .push_reply(STAFF_CHAT, ADMIN, "Решено в чате", prompt.message_id);
        env.card_shows(1, "отклонена");
    };
    close_conversation(&env);
    let ans = env.say(USER, "как сменить пароль", "Ctrl+Alt+Del");
    let yes = buttons(&ans)
        .into_iter()
        .find(|(_, d)| d.starts_with("fy:"))
        .unwrap()
        .1;
    env.press(USER, USER, &ans, &yes, "Рады помочь");

    // Vague: suggestions as buttons, plus "none of these".
    let sugg = env.say(USER, "принтер", "Возможно, вы имели в виду");
    let b = buttons(&sugg);
    assert!(
        b.iter().filter(|(_, d)| d.starts_with("fp:")).count() >= 2,
        "{b:?}"
    );
    assert!(b.iter().any(|(_, d)| d == "d:faq_none"));
    let pick = b
        .iter()
        .find(|(t, _)| t.contains("не печатает"))
        .unwrap()
        .1
        .clone();
    env.press(USER, USER, &sugg, &pick, "Проверьте бумагу");

    // Nothing fits: straight to a person.
    env.say(
        USER,
        "Когда будет зарплата?",
        "Вопрос передан специалисту (заявка #2)",
    );
}

#[test]
fn a_restart_mid_dialogue_resumes_where_the_user_was() {
    let mut env = Env::new("");
    env.register();
    let cats = env.say(USER, "/new", "Шаг 1");
    env.press(USER, USER, &cats, "d:cat:network", "Опишите проблему");
    env.stop();
    env.start();
    let prio = env.say(USER, "Нет интернета на 3 этаже", "Насколько срочно");
    let att = env.press(USER, USER, &prio, "d:pri:critical", "Прикрепите");
    let confirm = env.press(USER, USER, &att, "d:done", "Нет интернета на 3 этаже");
    env.press(USER, USER, &confirm, "d:send", "Заявка #1 создана");
    // Pressing "send" again (a redelivered update) does not file a second ticket.
    env.emu
        .push_callback(USER, USER, confirm.message_id, "d:send");
    std::thread::sleep(Duration::from_millis(800));
    env.say(USER, "📋 Мои заявки", "#1");
    assert!(
        !env.emu
            .sent_to(USER)
            .iter()
            .any(|m| m.text.as_deref().unwrap_or("").contains("#2"))
    );
}

#[test]
fn telegram_429_and_5xx_lose_no_notification_and_break_no_limit() {
    let mut env = Env::new("");
    env.register();
    // Each refusal delays delivery (retry_after, back-off, and teloxide's own 10 s after a 5xx).
    env.wait = Duration::from_secs(90);
    // Three tickets; while Telegram refuses (429, then 502), notifications wait.
    env.emu.fail_next(
        Some("sendMessage"),
        2,
        FaultKind::TooManyRequests { retry_after: 2 },
    );
    env.emu
        .fail_next(Some("sendMessage"), 1, FaultKind::ServerError(502));
    for i in 1..=3 {
        env.file_ticket(&format!("Проблема номер {i}"));
    }
    for i in 1..=3 {
        env.card_shows(i, &format!("Проблема номер {i}"));
        env.expect(USER, 0, &format!("Заявка #{i} создана"));
    }
    // Exactly one "created" message per ticket: nothing lost, nothing doubled.
    for i in 1..=3 {
        let n = env
            .emu
            .sent_to(USER)
            .iter()
            .filter(|m| {
                m.text
                    .as_deref()
                    .unwrap_or("")
                    .contains(&format!("Заявка #{i} создана"))
            })
            .count();
        assert_eq!(n, 1, "ticket #{i}");
    }
    assert_eq!(env.emu.check_rate_limits(), Ok(()));
    let h = env.server().get("/healthz").json();
    assert_eq!(h["outbox_failed"], 0, "{h}");
}

#[test]
fn a_user_who_blocked_the_bot_is_marked_inactive_and_not_retried() {
    let env = Env::new("");
    env.register();
    env.file_ticket("Сломалась мышь");
    env.card_shows(1, "#1");
    env.emu.block_user(USER);
    let (card, _, _) = env.card(1);
    env.emu.push_callback(STAFF_CHAT, ADMIN, card, "tk:1");
    env.card_shows(1, "в работе");
    // The notification is refused with 403 once, then the row is given up (failed), not retried.
    let refused = |env: &Env| {
        env.emu
            .calls_of("sendMessage")
            .iter()
            .filter(|c| c.params["chat_id"] == USER)
            .count()
    };
    // Wait until nothing is pending and the refused row has been given up.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let h = env.server().get("/healthz").json();
        if h["outbox_pending"] == 0 && h["outbox_failed"].as_u64().unwrap_or(0) >= 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the row never failed: {h}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let n = refused(&env);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(refused(&env), n, "no retries to a user who blocked the bot");
}

#[test]
fn broadcast_is_composed_previewed_confirmed_and_reported() {
    let env = Env::new("");
    env.register();
    env.emu.set_user(1002, "Олена", None);
    let m = env.mark(1002);
    env.emu.push_message_lang(1002, 1002, "/start", Some("uk"));
    env.expect(1002, m, "Як вас звати");
    let m = env.mark(1002);
    env.emu
        .push_message_lang(1002, 1002, "Олена Коваль", Some("uk"));
    env.expect(1002, m, "номер телефону");
    let m = env.mark(1002);
    // (The emulator's contact and callback updates carry its default language, Russian.)
    env.emu.push_contact(1002, 1002, "+380441234567");
    let deps = env.expect(1002, m, "Выберите ваш отдел");
    env.press(1002, 1002, &deps, "d:dep:1", "Готово, Олена Коваль");

    // A requester cannot broadcast.
    env.say(USER, "/broadcast", "Недостаточно прав");
    // The superadmin can: compose, preview, send.
    env.say(ADMIN, "/broadcast", "Пришлите текст рассылки");
    let m = env.mark(ADMIN);
    env.emu
        .push_message(ADMIN, ADMIN, "Завтра отключат интернет с 9 до 10");
    env.expect(ADMIN, m, "Завтра отключат интернет");
    let preview = env.expect(ADMIN, m, "увидят сообщение 2 получателей");
    env.press(ADMIN, ADMIN, &preview, "d:bc_send", "2 сообщений в очереди");
    env.expect(USER, 0, "Завтра отключат интернет с 9 до 10");
    env.expect(1002, 0, "Завтра отключат интернет с 9 до 10");
    env.expect(ADMIN, 0, "завершена: доставлено 2 из 2, ошибок 0");
}

#[test]
fn staff_are_managed_from_the_bot() {
    let env = Env::new("");
    env.say(ADMIN, "/staff", "tg700");
    env.say(
        ADMIN,
        "/staff add 800 operator",
        "Сотрудник 800 добавлен с ролью operator",
    );
    env.say(ADMIN, "/staff", "tg800");
    env.say(ADMIN, "/staff remove 700", "cannot remove your own account");
    env.say(ADMIN, "/staff add 800 admin", "already");
    env.emu.set_user(800, "Оператор", None);
    env.say(800, "/staff", "Недостаточно прав");
    env.say(ADMIN, "/staff remove 800", "Сотрудник 800 удалён");
    env.say(ADMIN, "/staff bogus", "/staff add ID");
}

#[test]
fn staff_subscribe_to_the_digest_from_the_bot() {
    let env = Env::new("");
    env.say(ADMIN, "/digest on", "Ежедневная сводка включена");
    env.say(ADMIN, "/digest off", "Ежедневная сводка выключена");
    env.say(USER, "/digest on", "Недостаточно прав");
}

#[test]
fn requesters_give_an_email_address_for_notifications() {
    let env = Env::new("");
    env.register();
    env.say(USER, "/email ivan@office.test", "ivan@office.test сохранён");
    env.say(USER, "/email not-an-address", "email");
    env.say(USER, "/email", "удалён");
}

/// The body of the first `503` from `/healthz` (the bot is not running).
fn healthz_503(server: &Server) -> serde_json::Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let r = server.get("/healthz");
        if r.status == 503 {
            return r.json();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no 503 from /healthz: {} {}",
            r.status,
            server.stdout()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_refused_token_turns_the_bot_off_and_healthz_says_so() {
    let emu = Emulator::start(TOKEN);
    let sb = Sandbox::new();
    let wrong = "987654321:AAWrongTokenWrongTokenWrongTokenXYZ";
    sb.write(
        "config.toml",
        format!(
            "[telegram]\ntoken = \"{wrong}\"\napi_url = \"{}\"\n",
            emu.api_url()
        ),
    );
    let port = common::free_port();
    let mut cmd = sb.command([
        "serve",
        "--config",
        "config.toml",
        "--listen",
        &format!("127.0.0.1:{port}"),
    ]);
    cmd.env("HELPDESK_LOG_LEVEL", "info");
    let server = Server::spawn(cmd, port);
    server.wait_stdout("listening on", WAIT);
    let body = healthz_503(&server);
    assert_eq!(body["bot"], "error", "{body}");
    assert_eq!(body["db"], "ok");
    assert!(body["failing"].to_string().contains("bot"), "{body}");
    let log = server.wait_stdout("refused the bot token", WAIT);
    assert!(!log.contains(wrong), "the token never appears in the log");
}

#[test]
fn the_panel_serves_while_telegram_is_unreachable_and_the_bot_connects_later() {
    // Telegram's address answers nothing yet (the office's internet is down at boot).
    let tg_port = common::free_port();
    let sb = Sandbox::new();
    sb.write(
        "config.toml",
        format!("[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"http://127.0.0.1:{tg_port}\"\n"),
    );
    let port = common::free_port();
    let server = Server::spawn(
        sb.command([
            "serve",
            "--config",
            "config.toml",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ]),
        port,
    );
    server.wait_stdout("listening on", WAIT);
    let body = healthz_503(&server);
    assert_eq!(body["bot"], "error", "{body}");
    assert_eq!(body["db"], "ok", "{body}");
    assert_eq!(
        server.get("/login").status,
        200,
        "the panel serves meanwhile"
    );
    // Telegram comes back: the bot connects by itself and answers.
    let emu = Emulator::start_on(TOKEN, tg_port);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while server.get("/healthz").json()["bot"] != "polling" {
        assert!(
            std::time::Instant::now() < deadline,
            "the bot never connected: {}",
            server.stdout()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    emu.push_message(USER, USER, "/start");
    assert!(
        emu.wait_for_sent(|sent| sent.iter().any(|m| m.chat_id == USER), WAIT),
        "the bot answers once connected"
    );
}

#[test]
fn a_deleted_staff_group_fails_the_card_but_not_the_requester() {
    let env = Env::new("");
    env.register();
    env.emu.delete_chat(STAFF_CHAT);
    env.file_ticket("Клавиатура залита чаем");
    // The requester is told as usual; the card row is given up and shows as failed.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let h = env.server().get("/healthz").json();
        if h["outbox_failed"].as_u64().unwrap_or(0) >= 1 && h["outbox_pending"] == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the card row never failed: {h}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        env.server().stdout().contains("chat not found"),
        "a clear log line"
    );
}

#[test]
fn a_cartridge_order_offers_only_fitting_items_in_stock() {
    let env = Env::new("");
    // Stock is set up by a storekeeper through the panel, over HTTP.
    let mut panel = Panel::sign_in(&env, "sklad", "storekeeper");
    panel.stock_item("CE285A", "HP 85A", &["HP LaserJet P1102", "HP M1132"], 3);
    panel.stock_item("CF283A", "HP 83A", &["HP LaserJet P1102"], 0);
    panel.stock_item("Q2612A", "HP 12A", &["HP LaserJet 1018"], 0);
    panel.stock_item("TN2375", "Brother TN-2375", &["Brother HL-L2300"], 5);
    env.register();

    let cats = env.say(USER, "📝 Новая заявка", "Шаг 1");
    let printers = env.press(
        USER,
        USER,
        &cats,
        "d:cat:cartridge_order",
        "модель принтера",
    );
    // Only printers something in stock fits are offered.
    let offered: Vec<String> = buttons(&printers)
        .into_iter()
        .map(|(_, d)| d)
        .filter(|d| d.starts_with("d:prn"))
        .collect();
    assert_eq!(
        offered,
        vec![
            "d:prn:Brother HL-L2300",
            "d:prn:HP LaserJet P1102",
            "d:prn:HP M1132"
        ]
    );
    // A typed model: known but out of stock, unknown, then one in stock (any case).
    env.say(USER, "hp laserjet 1018", "нет картриджей на складе");
    env.say(USER, "Canon LBP-9000", "Такой модели нет в списке");
    let items = env.say(USER, "hp laserjet p1102", "Выберите картридж");
    assert_eq!(
        buttons(&items)
            .into_iter()
            .filter(|(_, d)| d.starts_with("d:itm"))
            .collect::<Vec<_>>(),
        vec![("HP 85A (3)".to_string(), "d:itm:CE285A".to_string())],
        "only the fitting item in stock, with its stock"
    );
    // A forged press for an item out of stock is refused and the list shown again.
    let m = env.mark(USER);
    env.emu
        .push_callback(USER, USER, items.message_id, "d:itm:CF283A");
    env.expect(USER, m, "Эта кнопка устарела");
    env.expect(USER, m, "Выберите картридж");

    let qty = env.press(USER, USER, &items, "d:itm:CE285A", "Сколько штук");
    assert!(
        qty.text.as_deref().unwrap().contains("от 1 до 3"),
        "{:?}",
        qty.text
    );
    env.say(USER, "много", "Нужно число от 1 до 3");
    env.say(USER, "5", "На складе сейчас только 3 шт.");
    env.say(USER, "0", "Нужно число от 1 до 3");
    env.say(USER, "-2", "Нужно число от 1 до 3");
    env.say(USER, "2", "Опишите проблему");
    let prio = env.say(USER, "Для бухгалтерии, кабинет 204", "Насколько срочно");
    let att = env.press(USER, USER, &prio, "d:pri:normal", "Прикрепите");
    let confirm = env.press(USER, USER, &att, "d:done", "Проверьте заявку");
    assert!(
        confirm
            .text
            .as_deref()
            .unwrap()
            .contains("HP LaserJet P1102: CE285A × 2"),
        "{:?}",
        confirm.text
    );
    env.press(USER, USER, &confirm, "d:send", "Заявка #1 создана");

    // The staff card names the item and quantity.
    env.card_shows(1, "HP 85A (CE285A) × 2");
    let (_, card, _) = env.card(1);
    assert!(card.contains("Заказ картриджей"), "{card}");
    // The ticket as the panel shows it.
    let (status, page) = panel.get("/tickets/1");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("HP 85A (CE285A) × 2"), "{page}");
    assert!(page.contains("Для бухгалтерии, кабинет 204"));

    // A stale item button pressed outside the dialogue changes nothing.
    let m = env.mark(USER);
    env.emu
        .push_callback(USER, USER, items.message_id, "d:itm:CE285A");
    env.expect(USER, m, "Эта кнопка устарела");
    env.say(USER, "📋 Мои заявки", "#1");
    assert!(
        !env.emu
            .sent_to(USER)
            .iter()
            .any(|m| m.text.as_deref().unwrap_or("").contains("#2")),
        "no second ticket"
    );
    assert_eq!(env.emu.check_rate_limits(), Ok(()));
}

#[test]
fn a_forum_staff_group_gives_each_ticket_its_topic() {
    // The staff group is a forum supergroup (topics on).
    let env = Env::with("", |emu| emu.set_forum(STAFF_CHAT));
    env.register();
    env.file_ticket("Не включается монитор");
    env.card_shows(1, "Не включается монитор");

    // A topic was created for the ticket and the card posted in it.
    let topics = env.emu.calls_of("createForumTopic");
    assert_eq!(topics.len(), 1, "one topic per ticket");
    assert_eq!(topics[0].params["chat_id"], STAFF_CHAT);
    assert!(
        topics[0].params["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("#1 ")),
        "{:?}",
        topics[0].params
    );
    let thread = topics[0].result().unwrap()["message_thread_id"]
        .as_i64()
        .unwrap();
    let card = env
        .emu
        .sent_to(STAFF_CHAT)
        .into_iter()
        .find(|m| m.text.as_deref().is_some_and(|t| t.starts_with("#1 ·")))
        .unwrap();
    assert_eq!(
        card.params["message_thread_id"], thread,
        "card in the topic"
    );

    // A staff message in the topic reaches the requester as a public reply and is recorded.
    let m_user = env.mark(USER);
    let m_staff = env.mark(STAFF_CHAT);
    env.emu.push_topic_message(
        STAFF_CHAT,
        thread,
        ADMIN,
        "Проверьте, включён ли кабель питания",
    );
    let reply = env.expect(USER, m_user, "Проверьте, включён ли кабель питания");
    assert!(
        reply
            .text
            .as_deref()
            .unwrap()
            .contains("Ответ по заявке #1"),
        "{:?}",
        reply.text
    );
    let ack = env.expect(STAFF_CHAT, m_staff, "Ответ отправлен заявителю (#1)");
    assert_eq!(ack.params["message_thread_id"], thread, "ack in the topic");
    let mut panel = Panel::sign_in(&env, "boss", "admin");
    let (_, page) = panel.get("/tickets/1");
    assert!(
        page.contains("Проверьте, включён ли кабель питания"),
        "on the ticket's timeline: {page}"
    );

    // The requester answers that message: the answer joins the ticket and shows in the topic.
    let m_user = env.mark(USER);
    let m_staff = env.mark(STAFF_CHAT);
    env.emu.push_reply(
        USER,
        USER,
        "Кабель включён, всё равно не работает",
        reply.message_id,
    );
    env.expect(USER, m_user, "Добавлено к заявке #1");
    let follow = env.expect(STAFF_CHAT, m_staff, "Кабель включён, всё равно не работает");
    assert_eq!(
        follow.params["message_thread_id"], thread,
        "{:?}",
        follow.params
    );
    assert!(follow.text.as_deref().unwrap().contains("Иван Петров"));
    let (_, page) = panel.get("/tickets/1");
    assert!(page.contains("Кабель включён, всё равно не работает"));

    // Someone without a staff role writing in the topic is refused; nothing reaches the
    // requester. A message in a topic of no ticket is ignored.
    env.emu.set_user(555, "Посторонний", None);
    let m_user = env.mark(USER);
    let m_staff = env.mark(STAFF_CHAT);
    env.emu
        .push_topic_message(STAFF_CHAT, thread, 555, "Я тоже хочу ответить");
    env.expect(STAFF_CHAT, m_staff, "Недостаточно прав");
    env.emu
        .push_topic_message(STAFF_CHAT, 9999, ADMIN, "Всем привет");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(env.mark(USER), m_user, "nothing reached the requester");

    // A second ticket gets a topic of its own.
    env.file_ticket("Сломалась клавиатура");
    env.card_shows(2, "Сломалась клавиатура");
    let topics = env.emu.calls_of("createForumTopic");
    assert_eq!(topics.len(), 2);
    assert_ne!(
        topics[1].result().unwrap()["message_thread_id"],
        thread,
        "a new topic"
    );
    assert_eq!(env.emu.check_rate_limits(), Ok(()));
}

#[test]
fn webhook_mode_checks_the_secret_and_serves_updates() {
    const SECRET: &str = "Wh_secret-0123456789";
    let mut env = Env::webhook(SECRET);
    let port = env.port.unwrap();
    // At start-up: setWebhook with the URL under web.public_url, the secret and the update
    // kinds; no long polling at all.
    let set = env.emu.calls_of("setWebhook");
    assert_eq!(set.len(), 1, "{set:?}");
    assert_eq!(
        set[0].params["url"],
        format!("http://127.0.0.1:{port}/telegram/webhook")
    );
    assert_eq!(set[0].params["secret_token"], SECRET);
    let allowed = set[0].params["allowed_updates"].to_string();
    assert!(
        allowed.contains("message") && allowed.contains("callback_query"),
        "{allowed}"
    );
    assert_eq!(env.emu.webhook().1, SECRET);

    // A forged update (wrong or missing secret) is refused with 401 and nothing happens.
    let forged = serde_json::json!({
        "update_id": 900001,
        "message": {
            "message_id": 1, "date": 1700000000,
            "chat": {"id": USER, "type": "private", "first_name": "Иван"},
            "from": {"id": USER, "is_bot": false, "first_name": "Иван"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}]
        }
    });
    let http = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap();
    let url = env.server().url("/telegram/webhook");
    for secret in [
        Some("wrong"),
        Some(""),
        None,
        Some(&SECRET[..SECRET.len() - 1]),
    ] {
        let mut req = http.post(&url).json(&forged);
        if let Some(s) = secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        assert_eq!(req.send().unwrap().status().as_u16(), 401, "{secret:?}");
    }
    // Not a webhook route for GET; a body that is no update (right secret) is acknowledged
    // and logged, not processed.
    let get = http.get(&url).send().unwrap().status().as_u16();
    assert!(get == 404 || get == 405, "GET {get}");
    let garbage = http
        .post(&url)
        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
        .body("{\"not\": \"an update\"")
        .send()
        .unwrap();
    assert_eq!(garbage.status().as_u16(), 200);
    env.server()
        .wait_stdout("cannot parse a webhook update", WAIT);
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        env.emu.sent_to(USER).is_empty(),
        "nothing processed: {:?}",
        env.emu.sent_to(USER)
    );
    assert!(
        !env.server().stdout().contains(SECRET),
        "the secret never appears in the log"
    );

    // Updates Telegram (the emulator) POSTs with the secret flow to replies: a registration
    // and a button press.
    env.register();
    env.say(USER, "/status 1", "не найдена");
    assert!(env.emu.calls_of("getUpdates").is_empty(), "no polling");
    let deliveries = env.emu.webhook_deliveries();
    assert!(deliveries.len() >= 5, "{deliveries:?}");
    assert!(
        deliveries.iter().all(|&(_, s)| s == 200 || s == 0),
        "{deliveries:?}"
    );
    assert_eq!(env.emu.pending_updates(), 0);
    assert_eq!(env.server().get("/healthz").json()["bot"], "webhook");

    // Back to polling: an update sent while the server was down is kept by Telegram, the
    // webhook is deleted at start and the update is then polled and answered.
    env.stop();
    let m = env.mark(USER);
    env.emu.push_message(USER, USER, "/status 7");
    let config = env.sb.join("config.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("mode = \"webhook\"", "mode = \"polling\"");
    env.sb.write("config.toml", text);
    env.mode = "polling";
    env.port = None;
    env.start();
    env.expect(USER, m, "не найдена");
    assert_eq!(env.emu.calls_of("deleteWebhook").len(), 1);
    assert!(env.emu.webhook().0.is_empty());
}

#[test]
fn webhook_mode_without_a_public_url_is_a_config_error() {
    let sb = Sandbox::new();
    sb.write(
        "config.toml",
        format!("[telegram]\ntoken = \"{TOKEN}\"\nmode = \"webhook\"\n"),
    );
    let r = sb.run(["--config", "config.toml", "check-config"]);
    r.failure();
    let line = r.one_line_error();
    assert!(
        line.contains("telegram.mode") && line.contains("web.public_url"),
        "{line}"
    );
    sb.write(
        "config.toml",
        "[web]\npublic_url = \"https://help.example.org\"\n[telegram]\nwebhook_secret = \"bad secret!\"\n",
    );
    let r = sb.run(["--config", "config.toml", "check-config"]);
    r.failure();
    assert!(
        r.one_line_error().contains("telegram.webhook_secret"),
        "{}",
        r.one_line_error()
    );
}
