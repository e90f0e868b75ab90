//! The LAN web panel in a real browser: headless Chromium driven over WebDriver
//! (`tests/webdriver`) against the real `helpdesk serve`, whose bot talks to the Telegram Bot
//! API emulator (`tests/tg_emulator`).
//!
//! One scenario, in order: a requester registers and files a ticket through the bot; in the
//! browser an admin signs in through the login form (after one wrong password), files a second
//! ticket for the same Telegram requester on `/tickets/new` (a phone call), finds the first by
//! full-text search, answers it publicly (the requester receives the text in Telegram), rejects
//! the second with a reason (the page shows the new status, the requester receives the reason),
//! creates and edits an FAQ entry and sees "try a question" answer with the edited text,
//! creates a stock item and records a receipt (the quantity changes), and downloads the tickets
//! XLSX export through the browser (checked as a ZIP whose first sheet lists both tickets, shared
//! strings resolved).
//!
//! Screenshots of the main pages go to `$HELPDESK_SCREENSHOTS`, or else `<target>/screenshots/`.
//!
//! Needs `chromium` and `chromium-driver` (Debian). Without them the test is skipped with a
//! message — unless `CI` is set, where it fails.

mod common;
mod tg_emulator;
mod webdriver;

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use common::{Sandbox, Server};
use tg_emulator::{Emulator, SentMessage};
use webdriver::Driver;

const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
const STAFF_CHAT: i64 = -1001234567890;
const SUPERADMIN: i64 = 700;
const USER: i64 = 1001;
const WAIT: Duration = Duration::from_secs(15);
const LOGIN: &str = "boss";
const PASSWORD: &str = "password1";

/// Chromium and its driver, or `None` (after saying so) when the test should be skipped.
fn browser_or_skip() -> Option<webdriver::Binaries> {
    match webdriver::browser_binaries() {
        Ok(b) => Some(b),
        Err(e) if std::env::var_os("CI").is_some() => panic!(
            "browser tests need Chromium and chromedriver ({e}); CI must install the Debian \
             packages `chromium chromium-driver`"
        ),
        Err(e) => {
            // Straight to stderr, past the test harness's capture, so the skip is seen.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: install chromium chromium-driver to run the browser tests ({e})"
            );
            None
        }
    }
}

/// Where screenshots go.
fn screenshot_dir() -> PathBuf {
    match std::env::var_os("HELPDESK_SCREENSHOTS").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        // CARGO_TARGET_TMPDIR is `<target>/tmp`, wherever the target folder is.
        None => PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("target folder")
            .join("screenshots"),
    }
}

/// The emulator, the sandbox and the server with the bot on.
struct Env {
    emu: Emulator,
    _sb: Sandbox,
    server: Server,
}

impl Env {
    fn start() -> Env {
        let emu = Emulator::start(TOKEN);
        let sb = Sandbox::new();
        sb.write(
            "config.toml",
            format!(
                "[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\nstaff_chat_id = {STAFF_CHAT}\n\
                 superadmins = [{SUPERADMIN}]\n\n[bot]\ndepartments = [\"Бухгалтерия\", \"Склад\"]\n",
                emu.api_url()
            ),
        );
        emu.set_user(USER, "Иван", Some("ivan"));
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
        // No wait for the first getUpdates: the emulator records a long poll only when it is
        // answered (after its timeout when idle), and updates pushed meanwhile are queued.
        assert_eq!(server.get("/healthz").json()["bot"], "polling");
        Env {
            emu,
            _sb: sb,
            server,
        }
    }

    fn mark(&self, chat: i64) -> usize {
        self.emu.sent_to(chat).len()
    }

    /// Waits for a message to `chat`, sent after `mark`, containing `needle`.
    #[track_caller]
    fn expect(&self, chat: i64, mark: usize, needle: &str) -> SentMessage {
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

    #[track_caller]
    fn say(&self, text: &str, needle: &str) -> SentMessage {
        let m = self.mark(USER);
        self.emu.push_message(USER, USER, text);
        self.expect(USER, m, needle)
    }

    #[track_caller]
    fn press(&self, msg: &SentMessage, data: &str, needle: &str) -> SentMessage {
        let m = self.mark(USER);
        self.emu.push_callback(USER, USER, msg.message_id, data);
        self.expect(USER, m, needle)
    }

    /// Registers `USER` through the bot's dialogue.
    fn register(&self) {
        self.say("/start", "Как вас зовут");
        self.say("Иван Петров", "номер телефона");
        let m = self.mark(USER);
        self.emu.push_contact(USER, USER, "+79123456789");
        let deps = self.expect(USER, m, "Выберите ваш отдел");
        self.press(&deps, "d:dep:0", "Готово, Иван Петров");
    }

    /// Files a ticket from the bot's menu; `n` is the number it must get.
    fn file_ticket(&self, category: &str, description: &str, n: u64) {
        let cats = self.say("📝 Новая заявка", "Шаг 1");
        self.press(&cats, &format!("d:cat:{category}"), "Опишите проблему");
        let prio = self.say(description, "Насколько срочно");
        let att = self.press(&prio, "d:pri:high", "Прикрепите");
        let confirm = self.press(&att, "d:done", "Проверьте заявку");
        self.press(&confirm, "d:send", &format!("Заявка #{n} создана"));
    }
}

/// Takes screenshots into one folder, named `NN-name.png` in the order taken.
struct Shots {
    dir: PathBuf,
    n: usize,
}

impl Shots {
    fn new() -> Shots {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        Shots { dir, n: 0 }
    }

    fn take(&mut self, d: &Driver, name: &str) {
        self.n += 1;
        d.full_screenshot(&self.dir.join(format!("{:02}-{name}.png", self.n)));
    }
}

/// Texts of the `#`-column links of the ticket table.
fn listed_numbers(d: &Driver) -> Option<Vec<String>> {
    d.find_all("table#tickets tbody tr td:first-child a")
        .iter()
        .map(|a| a.try_text().ok())
        .collect()
}

/// The text of entry `name` of a ZIP file held in memory.
#[track_caller]
fn zip_entry(bytes: &[u8], name: &str) -> String {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("the export is a ZIP");
    let mut e = z
        .by_name(name)
        .unwrap_or_else(|_| panic!("no {name} in the export"));
    let mut s = String::new();
    e.read_to_string(&mut s).expect("UTF-8 entry");
    s
}

/// Texts between `<tag ...>` and `</tag>` in document order (no nesting of the same tag).
fn elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        // `<t` must not match `<tr`: the tag name ends at `>`, `/` or a space.
        if !after.starts_with(['>', ' ', '/']) {
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        if after[..gt].ends_with('/') {
            out.push("");
            rest = &after[gt + 1..];
            continue;
        }
        let body = &after[gt + 1..];
        let Some(end) = body.find(&close) else { break };
        out.push(&body[..end]);
        rest = &body[end + close.len()..];
    }
    out
}

/// The values of column A of the first sheet, shared strings resolved.
fn first_column(xlsx: &[u8]) -> Vec<String> {
    let sheet = zip_entry(xlsx, "xl/worksheets/sheet1.xml");
    let shared: Vec<String> = {
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).expect("ZIP");
        let has = z.by_name("xl/sharedStrings.xml").is_ok();
        if has {
            elements(&zip_entry(xlsx, "xl/sharedStrings.xml"), "si")
                .into_iter()
                .map(|si| elements(si, "t").concat())
                .collect()
        } else {
            Vec::new()
        }
    };
    let mut out = Vec::new();
    let mut rest = sheet.as_str();
    while let Some(at) = rest.find("<c r=\"A") {
        let cell = &rest[at..];
        let end = cell
            .find("</c>")
            .map(|e| e + 4)
            .or_else(|| cell.find("/>").map(|e| e + 2))
            .unwrap_or(cell.len());
        let c = &cell[..end];
        let head = &c[..c.find('>').unwrap_or(c.len())];
        let value = if head.contains("t=\"s\"") {
            elements(c, "v")
                .first()
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| shared.get(i).cloned())
                .unwrap_or_default()
        } else if head.contains("t=\"inlineStr\"") {
            elements(c, "t").concat()
        } else {
            elements(c, "v").first().unwrap_or(&"").to_string()
        };
        out.push(value);
        rest = &cell[end..];
    }
    out
}

#[test]
fn the_panel_works_in_a_real_browser() {
    let Some(bins) = browser_or_skip() else {
        return;
    };
    let env = Env::start();
    env.register();
    // #1 comes from Telegram; #2 is filed in the panel for the same requester (a phone call).
    env.file_ticket("printer", "Принтер в 305 жуёт бумагу", 1);

    let d = Driver::start(&bins).unwrap_or_else(|e| panic!("{e}"));
    let mut shots = Shots::new();
    let url = |p: &str| env.server.url(p);

    // ----- Sign in through the form -----
    d.goto(&url("/tickets"));
    d.wait_until("the redirect to /login", webdriver::WAIT, || {
        d.current_url().ends_with("/login").then_some(())
    });
    let csrf = d.find("form[action='/login'] input[name=csrf]");
    assert_eq!(
        csrf.attribute("value").map(|v| v.len()),
        Some(64),
        "a hidden CSRF token"
    );
    shots.take(&d, "login");
    // A wrong password keeps us on the form with an error.
    d.find("input[name=login]").send_keys(LOGIN);
    d.find("input[name=password]").send_keys("wrong-password");
    d.mark_page();
    d.find("form[action='/login'] button[type=submit]").click();
    d.wait_new_page();
    d.find("p.error[role=alert]");
    assert!(d.current_url().ends_with("/login"));
    assert_eq!(
        d.find("input[name=login]").property("value"),
        LOGIN,
        "the login is kept"
    );
    d.find("input[name=password]").send_keys(PASSWORD);
    d.mark_page();
    d.find("form[action='/login'] button[type=submit]").click();
    d.wait_new_page();
    assert_eq!(d.current_url(), url("/"), "signed in, on the dashboard");
    d.find("form[action='/logout']");
    assert!(
        d.find("header.top").text().contains(LOGIN),
        "the header names the signed-in account"
    );
    assert!(
        d.cookies().iter().any(|(n, _)| n == "hd_session"),
        "a session cookie"
    );
    shots.take(&d, "dashboard");

    // ----- File a ticket for a caller -----
    d.find("header.top nav a[href='/tickets']").click();
    d.wait_until("the tickets list", webdriver::WAIT, || {
        (listed_numbers(&d)? == ["#1"]).then_some(())
    });
    d.find("a[href='/tickets/new']").click();
    d.find("#requester_name").send_keys("Иван Петров");
    d.find("#requester").send_keys(&USER.to_string());
    d.find("#category option[value=network]").click();
    d.find("#priority option[value=high]").click();
    d.find("#subject")
        .send_keys("Сканер на третьем этаже не видит сеть");
    d.find("#description")
        .send_keys("Звонок по телефону: сканер пропал из сети после переезда.");
    d.mark_page();
    d.find("form[action='/tickets/new'] button[type=submit]")
        .click();
    d.wait_new_page();
    assert!(
        d.current_url().ends_with("/tickets/2"),
        "{}",
        d.describe_page()
    );
    assert_eq!(d.find("#status").text(), "новая");
    d.find("header.top nav a[href='/tickets']").click();
    d.wait_until("both tickets listed", webdriver::WAIT, || {
        (listed_numbers(&d)? == ["#2", "#1"]).then_some(())
    });
    shots.take(&d, "tickets");

    // ----- Find the Telegram ticket by full-text search -----
    // Other word forms than the ticket's ("жуёт бумагу"): only the stemming index finds it. It
    // is filled in the background after start-up: submit again until the search finds it.
    let found = d.wait_until("the search to find #1", WAIT, || {
        let q = d.find("form.filters input[name=q]");
        q.clear();
        q.send_keys("принтеры бумага");
        d.mark_page();
        d.find("form.filters button[type=submit]").click();
        d.wait_new_page();
        let n = listed_numbers(&d)?;
        (n == ["#1"]).then_some(n)
    });
    assert_eq!(found, ["#1"]);
    assert!(d.current_url().contains("q="), "{}", d.current_url());
    assert_eq!(
        d.find("form.filters input[name=q]").property("value"),
        "принтеры бумага",
        "the search box keeps the query"
    );
    shots.take(&d, "tickets-search");

    // ----- Reply publicly; the requester receives it in Telegram -----
    d.find("table#tickets tbody tr td:first-child a").click();
    d.wait_until("the ticket page", webdriver::WAIT, || {
        d.current_url().ends_with("/tickets/1").then_some(())
    });
    assert!(
        d.find("h1").text().contains("#1"),
        "{}",
        d.find("h1").text()
    );
    assert!(d.find("main").text().contains("Иван Петров"));
    shots.take(&d, "ticket-detail");
    let reply = "Заменили ролик подачи, проверьте принтер";
    let before = env.mark(USER);
    d.find("form[action='/tickets/1/reply'] textarea[name=text]")
        .send_keys(reply);
    d.mark_page();
    d.find("form[action='/tickets/1/reply'] button[type=submit]")
        .click();
    d.wait_new_page();
    assert!(d.current_url().ends_with("/tickets/1"));
    d.wait_text("ol.timeline", "the reply", |t| t.contains(reply));
    let sent = env.expect(USER, before, reply);
    assert!(
        sent.method.eq_ignore_ascii_case("sendMessage"),
        "{}",
        sent.method
    );
    assert!(
        sent.text.as_deref().unwrap_or("").contains("#1"),
        "the message names the ticket: {:?}",
        sent.text
    );
    shots.take(&d, "ticket-replied");

    // ----- Reject the other ticket with a reason -----
    d.goto(&url("/tickets/2"));
    let status = d.find("#status").text();
    assert_eq!(status, "новая");
    let reason = "Дубликат заявки, сканер уже в ремонте";
    let before = env.mark(USER);
    d.find("form[action='/tickets/2/reject'] input[name=reason]")
        .send_keys(reason);
    d.mark_page();
    d.find("form[action='/tickets/2/reject'] button[type=submit]")
        .click();
    d.wait_new_page();
    d.wait_text("#status", "the status rejected", |t| t == "отклонена");
    assert!(
        d.find("main").text().contains(&format!("⛔ {reason}")),
        "the page shows the reason"
    );
    assert!(
        d.try_find("form[action='/tickets/2/reject']").is_err(),
        "no reject form on a rejected ticket"
    );
    d.find("form[action='/tickets/2/reopen']");
    let sent = env.expect(USER, before, reason);
    assert!(
        sent.text.as_deref().unwrap_or("").contains("#2"),
        "{:?}",
        sent.text
    );
    shots.take(&d, "ticket-rejected");

    // ----- FAQ: create, edit, try a question -----
    d.find("header.top nav a[href='/faq']").click();
    d.find("a[href='/faq/new']").click();
    let question = "Как добавить сетевой принтер?";
    let old_answer = "Позвоните в поддержку.";
    let new_answer = "Пуск → Параметры → Принтеры → Добавить: \\\\print01\\305.";
    d.find("#faq-form #question").send_keys(question);
    d.find("#faq-form #alternatives")
        .send_keys("подключить принтер\nпринтер не виден в сети");
    d.find("#faq-form #answer").send_keys(old_answer);
    d.mark_page();
    d.find("#faq-form button[type=submit]").click();
    d.wait_new_page();
    let faq_url = d.current_url();
    assert!(
        faq_url.contains("/faq/") && faq_url.ends_with("?saved=1"),
        "{faq_url}"
    );
    d.find("#notice");
    assert_eq!(d.find("#faq-form #question").property("value"), question);
    let answer = d.find("#faq-form #answer");
    answer.clear();
    answer.send_keys(new_answer);
    d.mark_page();
    d.find("#faq-form button[type=submit]").click();
    d.wait_new_page();
    assert_eq!(d.current_url(), faq_url);
    assert_eq!(d.find("#faq-form #answer").property("value"), new_answer);
    d.find("header.top nav a[href='/faq']").click();
    d.wait_text("table#faq tbody", "the entry", |t| t.contains(question));
    shots.take(&d, "faq");
    d.find("#try-form #q")
        .send_keys("как подключить сетевой принтер");
    d.mark_page();
    d.find("#try-form button[type=submit]").click();
    d.wait_new_page();
    assert!(d.current_url().contains("/faq/try?q="));
    let shown = d.find("#try-answer").text();
    assert_eq!(
        shown, new_answer,
        "the try page answers with the edited text"
    );
    assert_eq!(
        d.find("#try-result").attribute("data-decision").as_deref(),
        Some("confident")
    );
    shots.take(&d, "faq-try");

    // ----- Stock: new item, receipt -----
    d.find("header.top nav a[href='/stock']").click();
    d.find("a[href='/stock/new']").click();
    d.find("#item #sku").send_keys("CE285A");
    d.find("#item #name").send_keys("Картридж HP 85A");
    d.find("#item #kind option[value=cartridge]").click();
    d.find("#item #printers").send_keys("HP LaserJet P1102");
    let min = d.find("#item #min_level");
    min.clear();
    min.send_keys("2");
    d.mark_page();
    d.find("#item button[type=submit]").click();
    d.wait_new_page();
    assert!(
        d.current_url().ends_with("/stock/CE285A"),
        "{}",
        d.current_url()
    );
    assert_eq!(d.find("#quantity").text(), "0");
    d.find("form#receipt input[name=amount]").send_keys("12");
    d.find("form#receipt input[name=note]")
        .send_keys("Поставка от 1 марта");
    d.mark_page();
    d.find("form#receipt button[type=submit]").click();
    d.wait_new_page();
    d.wait_text("#quantity", "12", |t| t == "12");
    assert!(d.find("main").text().contains("Поставка от 1 марта"));
    shots.take(&d, "stock-item");
    d.find("header.top nav a[href='/stock']").click();
    let row = d.wait_text("table#stock tbody", "the item", |t| t.contains("CE285A"));
    assert!(
        row.contains("Картридж HP 85A") && row.contains("12"),
        "{row}"
    );
    shots.take(&d, "stock");

    // ----- Reports: the tickets export, downloaded by the browser -----
    d.find("header.top nav a[href='/reports']").click();
    d.wait_text("#total", "two tickets", |t| t == "2");
    shots.take(&d, "reports");
    let link = d.find("a#export-tickets");
    let href = link.attribute("href").unwrap_or_default();
    assert!(href.starts_with("/reports/tickets.xlsx"), "{href}");
    link.click();
    let file = d.wait_download(".xlsx", WAIT);
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("tickets-"), "{name}");
    let bytes = std::fs::read(&file).expect("read the download");
    assert!(bytes.starts_with(b"PK\x03\x04"), "a ZIP file");
    let col_a = first_column(&bytes);
    assert_eq!(
        col_a.get(1..),
        Some(&["#1".to_string(), "#2".to_string()][..]),
        "{col_a:?}"
    );
    let strings = zip_entry(&bytes, "xl/sharedStrings.xml");
    assert!(
        strings.contains("отклонена"),
        "the rejected status is exported"
    );

    eprintln!("screenshots: {}", shots.dir.display());
    assert_eq!(env.emu.check_rate_limits(), Ok(()));
}
