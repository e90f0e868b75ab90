//! A Telegram Bot API emulator for integration tests: a real HTTP server on `127.0.0.1:<free
//! port>` that answers like `api.telegram.org`, so the real bot (teloxide 0.17, pointed at
//! `telegram.api_url = emu.api_url()`) runs unchanged against it. Include it with
//! `mod tg_emulator;`.
//!
//! The server runs on its own thread with its own tokio runtime, and the whole test-side API is
//! synchronous and cheap (it only takes a mutex), so it works the same from a plain `#[test]`
//! that spawns the binary and from `#[tokio::test]`. The `wait_*` helpers sleep the calling
//! thread; inside an async test that runs the bot in the same runtime use the `*_async`
//! variants. Dropping the [`Emulator`] stops the server (open long polls end at once).
//!
//! # Protocol
//! * `GET|POST {api_url}/bot{token}/{method}`; parameters from the query string and the body
//!   (JSON, `application/x-www-form-urlencoded`, or `multipart/form-data`, where a part with a
//!   file name is an upload). Method names are case-insensitive, as in Telegram.
//! * Answers `{"ok":true,"result":…}` or `{"ok":false,"error_code":N,"description":"…"}`, plus
//!   `"parameters":{"retry_after":S}` on 429. A wrong token → 401 `Unauthorized`; an unknown
//!   method → 404 `Not Found: method not found`. Error descriptions are the exact strings
//!   teloxide maps to its `ApiError` variants.
//! * `GET {api_url}/file/bot{token}/{file_path}` serves the bytes of a known file (pushed with
//!   [`Emulator::push_photo`]/[`Emulator::push_document`], added with [`Emulator::add_file`],
//!   or uploaded by the bot).
//!
//! # Methods
//! `getMe`, `getUpdates` (long polling: `offset` confirms everything below it, a negative
//! offset keeps the last `-offset` updates, `limit` 1–100, `timeout` seconds; a second poller
//! ends the first with 409 `Conflict: terminated by other getUpdates request…`; while a webhook
//! is set → 409), `setWebhook` (`url`, `secret_token`; while set, pending updates are POSTed
//! to the URL one at a time in order with `X-Telegram-Bot-Api-Secret-Token`, removed on a 2xx
//! answer, retried after 100 ms otherwise; **test-only allowance:** `http://` URLs on
//! 127.0.0.1/localhost are accepted, Telegram wants https), `deleteWebhook`
//! (`drop_pending_updates`), `getWebhookInfo`,
//! `logOut`, `close`, `setMyCommands` (command names checked: `BOT_COMMAND_INVALID`),
//! `getMyCommands`, `deleteMyCommands`, `setChatMenuButton`, `getChatMenuButton`,
//! `setMyDescription`, `setMyShortDescription`, `setMyName`, `sendMessage`, `sendPhoto`,
//! `sendDocument`, `sendVoice`, `sendMediaGroup` (returns an array), `copyMessage` (returns
//! `{"message_id"}`), `forwardMessage`, `editMessageText`, `editMessageCaption`,
//! `editMessageReplyMarkup`, `deleteMessage`, `deleteMessages`, `answerCallbackQuery` (an id
//! is answerable once), `sendChatAction`, `getFile`, `getChat`, `getChatMember`,
//! `createForumTopic` (returns `message_thread_id`), `editForumTopic`, `closeForumTopic`,
//! `reopenForumTopic`, `deleteForumTopic`, `pinChatMessage`, `unpinChatMessage`,
//! `setMessageReaction`.
//!
//! Messages get increasing `message_id`s per chat (shared by user and bot messages, as in
//! Telegram) and come back as full `Message` objects: `chat` (`private` for positive ids,
//! `supergroup` for negative ones), `from` = the bot, `text`/`caption` (as Telegram stores them:
//! after parsing `parse_mode` markup), inline `reply_markup`, `message_thread_id`,
//! `reply_to_message`.
//!
//! Validation, like Telegram where cheap: text 1–4096 characters after markup parsing
//! (`message text is empty` / `message is too long`; edits: `MESSAGE_TOO_LONG`), captions
//! ≤ 1024; `parse_mode` `HTML` (supported tags only, balanced), `MarkdownV2` (reserved
//! characters must be escaped, entities closed) and `Markdown` → `can't parse entities: …`;
//! inline keyboards: `callback_data` 1–64 bytes (`BUTTON_DATA_INVALID`), a button needs an
//! action, Web App buttons need HTTPS; replies to unknown messages (`message to be replied not
//! found` unless `allow_sending_without_reply`); edits (`message to edit not found`, `message
//! can't be edited` for others' messages, `message is not modified`); deletes, copies and
//! forwards of unknown messages; unknown file ids; unknown forum threads in a group with
//! known topics (`message thread not found`). Unknown chat ids are fine, except chats deleted
//! with [`Emulator::delete_chat`] (400 `chat not found`) and users who blocked the bot
//! ([`Emulator::block_user`]: 403 `Forbidden: bot was blocked by the user`).
//!
//! # Test-side API
//! ```text
//! Emulator::start(token: &str) -> Emulator            // also Emulator::new() with DEFAULT_TOKEN
//! api_url() -> String, addr() -> SocketAddr, token() -> &str, bot_id() -> i64, bot_username()
//! // users and chats
//! set_user(user_id, first_name, username: Option<&str>), set_default_lang(Option<&str>) ("ru")
//! set_member_status(chat_id, user_id, "member"|"administrator"|"creator"|"left"|"kicked")
//! set_forum(chat_id), add_topic(chat_id, thread_id, name), add_file(file_id, bytes) -> file_path
//! // incoming updates (each returns the update_id unless said otherwise)
//! push_message(chat_id, from, text), push_message_lang(chat_id, from, text, Option<&str>)
//! push_reply(chat_id, from, text, reply_to_message_id)
//! push_callback(chat_id, from, message_id, data) -> String (callback query id)
//! push_contact(chat_id, from, phone), push_photo(chat_id, from, file_id, caption: Option<&str>)
//! push_document(chat_id, from, file_id, file_name, bytes, caption: Option<&str>)
//! push_topic_message(chat_id, thread_id, from, text), push_raw(update: Value)
//! last_message_id(chat_id) -> Option<i64>, pending_updates() -> usize
//! webhook() -> (url, secret), webhook_deliveries() -> Vec<(update_id, status)>
//! // recording
//! calls() -> Vec<Call>, calls_of(method) -> Vec<Call>, sent_messages() -> Vec<SentMessage>,
//! sent_to(chat_id) -> Vec<SentMessage>, message(chat_id, message_id) -> Option<Value> (current)
//! wait_for(|&[Call]| bool, timeout) -> bool, wait_for_sent(|&[SentMessage]| bool, timeout) -> bool
//! wait_for_text(chat_id, needle, timeout) -> Option<SentMessage>, and *_async versions
//! clear()   // forgets calls, sent messages and 429 windows (not chats, files or updates)
//! // faults
//! fail_next(method: Option<&str>, n, FaultKind), block_user(id), unblock_user(id),
//! delete_chat(id), set_outage(bool), enforce_limits(bool), set_rate_rules(RateRules)
//! check_rate_limits() -> Result<(), String>
//! ```
//!
//! # Faults
//! [`Emulator::fail_next`]`(method, n, kind)` answers the next `n` calls of `method` (`None`:
//! of any method except `getUpdates`, so a polling bot does not swallow it) with `kind`:
//! * [`FaultKind::TooManyRequests`] → 429 `Too Many Requests: retry after S` with
//!   `parameters.retry_after`; it also opens a flood window of `S` seconds (see below).
//! * [`FaultKind::ServerError`]`(code)` → that 5xx with a JSON description (note: teloxide
//!   sleeps 10 s after any 5xx before it returns the error).
//! * [`FaultKind::Timeout`]`(d)` → the connection is held for `d`, then the call takes effect
//!   and is answered — even if the client gave up meanwhile (as with a slow Telegram: a timed
//!   out `sendMessage` may still have been delivered).
//!
//! [`Emulator::set_outage`]`(true)` answers every call with 502 `Bad Gateway` until turned off.
//! Order of checks: outage, injected faults, live limits (if enforced), chat checks, the method.
//!
//! # Rate limits
//! [`Emulator::check_rate_limits`] audits the recorded *successful* sends — the methods in
//! [`RateRules::audited_methods`]: `sendMessage`, `sendPhoto`, `sendDocument`, `sendVoice`,
//! `sendMediaGroup` (counts one per item), `copyMessage`, `forwardMessage`, `editMessageText`
//! — against Telegram's published limits, read tolerantly (short bursts are fine):
//! * at most 30 in any 1 s window overall;
//! * at most 3 in any 1 s window per private chat (≈ 1/s with a short burst);
//! * at most 20 in any 60 s window per group chat (negative id).
//!
//! It also reports every successful call (any method except `getUpdates`) made while a 429
//! `retry_after` window handed out by the emulator was active (Telegram blocks the whole bot
//! then), except in the first [`RateRules::retry_grace`] (100 ms) of the window, when a call
//! already in flight could not have seen the 429 yet.
//! With [`Emulator::enforce_limits`]`(true)` the same rules are enforced live: a send that would
//! break one, and any call (but `getUpdates`) during an open window, gets 429 with a
//! `retry_after` (seconds until the window's oldest send leaves it, at least 1).

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use warp::Filter;

/// A well-formed token for tests that do not care.
pub const DEFAULT_TOKEN: &str = "123456789:AAEmulatorTestToken_abcdefghijklmnopq";

/// One API call as the emulator saw it.
#[derive(Clone, Debug)]
pub struct Call {
    /// The method name as the client spelled it (e.g. `sendMessage`); `downloadFile` for file
    /// downloads.
    pub method: String,
    /// All parameters as a JSON object. Form and multipart text fields are decoded to JSON where
    /// they hold JSON (numbers, objects such as `reply_markup`); texts stay strings. Uploaded
    /// files appear as `{"file_name": …, "len": …}` under their part name and in place of the
    /// `attach://…` reference of a top-level field.
    pub params: Value,
    /// When the call took effect (arrival, or the end of an injected `Timeout` hold).
    pub at: Instant,
    /// The `chat_id` parameter, when numeric.
    pub chat_id: Option<i64>,
    /// The HTTP status answered.
    pub status: u16,
    /// The full JSON answer.
    pub response: Value,
}

impl Call {
    /// Whether the call was answered `{"ok":true}`.
    pub fn is_ok(&self) -> bool {
        self.status == 200
    }
    /// The `result` of a successful call.
    pub fn result(&self) -> Option<&Value> {
        self.response.get("result")
    }
    /// The `description` of a failed call.
    pub fn description(&self) -> Option<&str> {
        self.response.get("description").and_then(Value::as_str)
    }
    /// A string parameter.
    pub fn param_str(&self, key: &str) -> Option<&str> {
        self.params.get(key).and_then(Value::as_str)
    }
    /// The `text` (or else `caption`) parameter, as sent (markup not parsed).
    pub fn text(&self) -> Option<&str> {
        self.param_str("text").or_else(|| self.param_str("caption"))
    }
}

/// What [`Emulator::fail_next`] injects.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// 429 with `parameters.retry_after`, opening a flood window of that many seconds.
    TooManyRequests { retry_after: u64 },
    /// This 5xx status with a JSON error body.
    ServerError(u16),
    /// Hold the connection this long, then execute and answer the call.
    Timeout(Duration),
}

/// A message the bot sent (sendMessage, sendPhoto, sendDocument, sendVoice, sendMediaGroup
/// items, copyMessage, forwardMessage), as created.
#[derive(Clone, Debug)]
pub struct SentMessage {
    pub method: String,
    pub chat_id: i64,
    pub message_id: i64,
    pub thread_id: Option<i64>,
    /// `text`, or else `caption`, after markup parsing.
    pub text: Option<String>,
    /// The inline keyboard, if any (reply keyboards are not echoed by Telegram; see
    /// [`SentMessage::params`]).
    pub reply_markup: Option<Value>,
    /// The full `Message` object returned.
    pub message: Value,
    /// The parameters of the call that sent it.
    pub params: Value,
    pub at: Instant,
}

impl SentMessage {
    /// `(text, callback_data)` of every inline button, row by row.
    pub fn buttons(&self) -> Vec<(String, Option<String>)> {
        let mut out = Vec::new();
        let rows = self
            .reply_markup
            .as_ref()
            .and_then(|m| m.get("inline_keyboard"))
            .and_then(Value::as_array);
        for row in rows.into_iter().flatten() {
            for b in row.as_array().into_iter().flatten() {
                let text = b.get("text").and_then(Value::as_str).unwrap_or_default();
                let data = b.get("callback_data").and_then(Value::as_str);
                out.push((text.to_string(), data.map(str::to_string)));
            }
        }
        out
    }
    /// The `callback_data` of the first inline button whose text contains `needle`.
    pub fn callback_data(&self, needle: &str) -> Option<String> {
        self.buttons()
            .into_iter()
            .find(|(t, _)| t.contains(needle))
            .and_then(|(_, d)| d)
    }
    /// Whether the text (or caption) contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.text.as_deref().is_some_and(|t| t.contains(needle))
    }
}

/// The limits used by [`Emulator::check_rate_limits`] and [`Emulator::enforce_limits`].
#[derive(Clone, Debug)]
pub struct RateRules {
    /// Sends allowed in any 1 s window, all chats together (Telegram: ~30/s).
    pub global_per_second: usize,
    /// Sends allowed in any 1 s window to one private chat (Telegram: ~1/s, bursts ok).
    pub private_chat_per_second: usize,
    /// Sends allowed in any 60 s window to one group chat (Telegram: 20/min).
    pub group_per_minute: usize,
    /// Calls within this long after a 429 was handed out are not counted as ignoring it.
    pub retry_grace: Duration,
    /// Methods counted as sends (case-insensitive).
    pub audited_methods: Vec<String>,
}

impl Default for RateRules {
    fn default() -> Self {
        RateRules {
            global_per_second: 30,
            private_chat_per_second: 3,
            group_per_minute: 20,
            retry_grace: Duration::from_millis(100),
            audited_methods: [
                "sendMessage",
                "sendPhoto",
                "sendDocument",
                "sendVoice",
                "sendMediaGroup",
                "copyMessage",
                "forwardMessage",
                "editMessageText",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }
}

impl RateRules {
    fn audits(&self, method: &str) -> bool {
        self.audited_methods
            .iter()
            .any(|m| m.eq_ignore_ascii_case(method))
    }
}

// ---------------------------------------------------------------------------------------------
// State

struct ApiErr {
    code: u16,
    desc: String,
    retry_after: Option<u64>,
}

impl ApiErr {
    fn new(code: u16, desc: impl Into<String>) -> Self {
        ApiErr {
            code,
            desc: desc.into(),
            retry_after: None,
        }
    }
    fn bad(desc: impl AsRef<str>) -> Self {
        Self::new(400, format!("Bad Request: {}", desc.as_ref()))
    }
    fn retry(secs: u64) -> Self {
        ApiErr {
            code: 429,
            desc: format!("Too Many Requests: retry after {secs}"),
            retry_after: Some(secs),
        }
    }
    fn blocked() -> Self {
        Self::new(403, "Forbidden: bot was blocked by the user")
    }
    fn chat_not_found() -> Self {
        Self::bad("chat not found")
    }
}

type Answer = (u16, Value);

fn ok_answer(v: Value) -> Answer {
    (200, json!({"ok": true, "result": v}))
}

fn err_answer(e: &ApiErr) -> Answer {
    let mut b = json!({"ok": false, "error_code": e.code, "description": e.desc});
    if let Some(s) = e.retry_after {
        b["parameters"] = json!({ "retry_after": s });
    }
    (e.code, b)
}

struct Upload {
    file_name: String,
    bytes: Vec<u8>,
}

type Uploads = HashMap<String, Upload>;

struct FileEntry {
    unique_id: String,
    path: String,
    bytes: Vec<u8>,
}

#[derive(Clone)]
struct FileRef {
    id: String,
    unique_id: String,
    size: usize,
    name: Option<String>,
}

struct UserInfo {
    first_name: String,
    username: Option<String>,
}

#[derive(Default)]
struct ChatState {
    last_message_id: i64,
    messages: HashMap<i64, Value>,
}

struct Fault {
    method: Option<String>,
    remaining: usize,
    kind: FaultKind,
}

struct RetryWindow {
    start: Instant,
    end: Instant,
    method: String,
}

struct State {
    started: Instant,
    bot_id: i64,
    next_update_id: i64,
    updates: VecDeque<Value>,
    poll_generation: u64,
    webhook_url: String,
    webhook_secret: String,
    /// (update_id, HTTP status or 0 for a connection failure) of each webhook POST.
    webhook_deliveries: Vec<(i64, u16)>,
    calls: Vec<Call>,
    sent: Vec<SentMessage>,
    chats: HashMap<i64, ChatState>,
    users: HashMap<i64, UserInfo>,
    default_lang: Option<String>,
    members: HashMap<(i64, i64), String>,
    forums: HashSet<i64>,
    topics: HashMap<i64, HashSet<i64>>,
    files: HashMap<String, FileEntry>,
    file_paths: HashMap<String, String>,
    next_file: u64,
    callbacks: HashSet<String>,
    next_callback: u64,
    commands: HashMap<String, Value>,
    menu_buttons: HashMap<String, Value>,
    faults: Vec<Fault>,
    blocked: HashSet<i64>,
    deleted: HashSet<i64>,
    outage: bool,
    enforce: bool,
    rules: RateRules,
    windows: Vec<RetryWindow>,
}

struct Shared {
    token: String,
    state: Mutex<State>,
    wake: tokio::sync::Notify,
    closing: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

const BOT_FIRST_NAME: &str = "Helpdesk Test Bot";
const BOT_USERNAME: &str = "helpdesk_test_bot";
const FAKE_JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9,
];

const KNOWN_METHODS: &[&str] = &[
    "getme",
    "getupdates",
    "deletewebhook",
    "setwebhook",
    "getwebhookinfo",
    "logout",
    "close",
    "setmycommands",
    "getmycommands",
    "deletemycommands",
    "setchatmenubutton",
    "getchatmenubutton",
    "setmydescription",
    "setmyshortdescription",
    "setmyname",
    "sendmessage",
    "sendphoto",
    "senddocument",
    "sendvoice",
    "sendmediagroup",
    "copymessage",
    "forwardmessage",
    "editmessagetext",
    "editmessagecaption",
    "editmessagereplymarkup",
    "deletemessage",
    "deletemessages",
    "answercallbackquery",
    "sendchataction",
    "getfile",
    "getchat",
    "getchatmember",
    "createforumtopic",
    "editforumtopic",
    "closeforumtopic",
    "reopenforumtopic",
    "deleteforumtopic",
    "pinchatmessage",
    "unpinchatmessage",
    "setmessagereaction",
];

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn p_i64(p: &Map<String, Value>, k: &str) -> Option<i64> {
    p.get(k).and_then(as_i64)
}

fn p_str<'a>(p: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    p.get(k).and_then(Value::as_str)
}

fn p_bool(p: &Map<String, Value>, k: &str) -> bool {
    match p.get(k) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

/// A JSON value that may arrive as a JSON string (form/multipart fields).
fn p_json(p: &Map<String, Value>, k: &str) -> Option<Value> {
    match p.get(k)? {
        Value::String(s) => serde_json::from_str(s).ok(),
        Value::Null => None,
        v => Some(v.clone()),
    }
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

impl State {
    fn new(bot_id: i64) -> Self {
        State {
            started: Instant::now(),
            bot_id,
            next_update_id: 100_001,
            updates: VecDeque::new(),
            poll_generation: 0,
            webhook_url: String::new(),
            webhook_secret: String::new(),
            webhook_deliveries: Vec::new(),
            calls: Vec::new(),
            sent: Vec::new(),
            chats: HashMap::new(),
            users: HashMap::new(),
            default_lang: Some("ru".into()),
            members: HashMap::new(),
            forums: HashSet::new(),
            topics: HashMap::new(),
            files: HashMap::new(),
            file_paths: HashMap::new(),
            next_file: 1,
            callbacks: HashSet::new(),
            next_callback: 1,
            commands: HashMap::new(),
            menu_buttons: HashMap::new(),
            faults: Vec::new(),
            blocked: HashSet::new(),
            deleted: HashSet::new(),
            outage: false,
            enforce: false,
            rules: RateRules::default(),
            windows: Vec::new(),
        }
    }

    // --- objects -----------------------------------------------------------------------------

    fn bot_user(&self) -> Value {
        json!({"id": self.bot_id, "is_bot": true, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME})
    }

    fn me(&self) -> Value {
        let mut me = self.bot_user();
        let m = me.as_object_mut().expect("object");
        m.insert("can_join_groups".into(), json!(true));
        m.insert("can_read_all_group_messages".into(), json!(false));
        m.insert("supports_inline_queries".into(), json!(false));
        m.insert("can_connect_to_business".into(), json!(false));
        m.insert("has_main_web_app".into(), json!(false));
        me
    }

    fn user_names(&self, id: i64) -> (String, Option<String>) {
        match self.users.get(&id) {
            Some(u) => (u.first_name.clone(), u.username.clone()),
            None => (format!("User{id}"), Some(format!("user{id}"))),
        }
    }

    fn user_json(&self, id: i64, lang: Option<&str>) -> Value {
        if id == self.bot_id {
            return self.bot_user();
        }
        let (first, username) = self.user_names(id);
        let mut u = json!({"id": id, "is_bot": false, "first_name": first});
        if let Some(n) = username {
            u["username"] = json!(n);
        }
        if let Some(l) = lang {
            u["language_code"] = json!(l);
        }
        u
    }

    fn chat_json(&self, id: i64) -> Value {
        if id > 0 {
            let (first, username) = self.user_names(id);
            let mut c = json!({"id": id, "type": "private", "first_name": first});
            if let Some(n) = username {
                c["username"] = json!(n);
            }
            c
        } else {
            let mut c = json!({"id": id, "type": "supergroup", "title": format!("Group {id}")});
            if self.forums.contains(&id) {
                c["is_forum"] = json!(true);
            }
            c
        }
    }

    fn chat_full_json(&self, id: i64) -> Value {
        let mut c = self.chat_json(id);
        c["accepted_gift_types"] = json!({
            "unlimited_gifts": false, "limited_gifts": false,
            "unique_gifts": false, "premium_subscription": false
        });
        c["max_reaction_count"] = json!(11);
        c
    }

    fn chat_member_json(&self, chat: i64, user: i64) -> Value {
        let status = match self.members.get(&(chat, user)) {
            Some(s) => s.clone(),
            None if user == self.bot_id && chat < 0 => "administrator".into(),
            None => "member".into(),
        };
        let mut m = json!({"user": self.user_json(user, None), "status": status});
        match status.as_str() {
            "creator" => m["is_anonymous"] = json!(false),
            "administrator" => {
                for k in [
                    "can_be_edited",
                    "is_anonymous",
                    "can_manage_chat",
                    "can_delete_messages",
                    "can_manage_video_chats",
                    "can_restrict_members",
                    "can_promote_members",
                    "can_change_info",
                    "can_invite_users",
                    "can_post_stories",
                    "can_edit_stories",
                    "can_delete_stories",
                    "can_pin_messages",
                    "can_manage_topics",
                ] {
                    m[k] = json!(!matches!(k, "is_anonymous" | "can_be_edited"));
                }
            }
            "kicked" => m["until_date"] = json!(0),
            _ => {}
        }
        m
    }

    // --- messages ----------------------------------------------------------------------------

    fn next_message_id(&mut self, chat: i64) -> i64 {
        let c = self.chats.entry(chat).or_default();
        c.last_message_id += 1;
        c.last_message_id
    }

    fn get_message(&self, chat: i64, id: i64) -> Option<&Value> {
        self.chats.get(&chat)?.messages.get(&id)
    }

    fn store_message(&mut self, msg: &Value) {
        let (Some(chat), Some(id)) = (
            msg.pointer("/chat/id").and_then(as_i64),
            msg.get("message_id").and_then(as_i64),
        ) else {
            return;
        };
        let c = self.chats.entry(chat).or_default();
        c.last_message_id = c.last_message_id.max(id);
        c.messages.insert(id, msg.clone());
    }

    /// A message by a user: id, date, chat, from.
    fn user_message(&mut self, chat: i64, from: i64, lang: Option<&str>) -> Map<String, Value> {
        let id = self.next_message_id(chat);
        let mut m = Map::new();
        m.insert("message_id".into(), json!(id));
        m.insert("from".into(), self.user_json(from, lang));
        m.insert("chat".into(), self.chat_json(chat));
        m.insert("date".into(), json!(unix_now()));
        m
    }

    fn set_text(m: &mut Map<String, Value>, text: &str) {
        m.insert("text".into(), json!(text));
        if text.starts_with('/') {
            let cmd = text.split_whitespace().next().unwrap_or(text);
            m.insert(
                "entities".into(),
                json!([{"type": "bot_command", "offset": 0, "length": utf16_len(cmd)}]),
            );
        }
    }

    fn push_update(&mut self, mut update: Value) -> i64 {
        let id = match update.get("update_id").and_then(as_i64) {
            Some(id) => id,
            None => {
                let id = self.next_update_id;
                update["update_id"] = json!(id);
                id
            }
        };
        self.next_update_id = self.next_update_id.max(id + 1);
        for k in [
            "message",
            "edited_message",
            "channel_post",
            "business_message",
        ] {
            if let Some(m) = update.get(k).cloned() {
                self.store_message(&m);
            }
        }
        if let Some(q) = update.pointer("/callback_query/id").and_then(Value::as_str) {
            self.callbacks.insert(q.to_string());
        }
        self.updates.push_back(update);
        id
    }

    fn push_user_message(&mut self, m: Map<String, Value>) -> i64 {
        self.push_update(json!({ "message": Value::Object(m) }))
    }

    // --- files -------------------------------------------------------------------------------

    fn register_file(&mut self, id: &str, bytes: Vec<u8>, path: Option<String>) -> FileRef {
        if let Some(f) = self.files.get(id) {
            return FileRef {
                id: id.to_string(),
                unique_id: f.unique_id.clone(),
                size: f.bytes.len(),
                name: None,
            };
        }
        let n = self.next_file;
        self.next_file += 1;
        let path = path.unwrap_or_else(|| format!("files/file_{n}"));
        let unique_id = format!("AgU{n:06}");
        self.file_paths.insert(path.clone(), id.to_string());
        let size = bytes.len();
        self.files.insert(
            id.to_string(),
            FileEntry {
                unique_id: unique_id.clone(),
                path,
                bytes,
            },
        );
        FileRef {
            id: id.to_string(),
            unique_id,
            size,
            name: None,
        }
    }

    fn register_upload(&mut self, kind: &str, up: &Upload) -> FileRef {
        let n = self.next_file;
        let ext = up
            .file_name
            .rsplit_once('.')
            .map(|(_, e)| format!(".{e}"))
            .unwrap_or_default();
        let id = format!("EMU{}{n:06}", kind.to_ascii_uppercase());
        let path = format!("{kind}s/file_{n}{ext}");
        let mut f = self.register_file(&id, up.bytes.clone(), Some(path));
        f.name = Some(up.file_name.clone());
        f
    }

    /// The file a send refers to: an upload (`attach://name` or a direct part), a URL, or a
    /// known file id.
    fn resolve_file(
        &mut self,
        v: Option<&Value>,
        field: &str,
        up: &Uploads,
    ) -> Result<FileRef, ApiErr> {
        let wrong = || ApiErr::bad("wrong file identifier/HTTP URL specified");
        match v {
            None | Some(Value::Null) => {
                Err(ApiErr::bad(format!("there is no {field} in the request")))
            }
            Some(Value::String(s)) => {
                if let Some(name) = s.strip_prefix("attach://") {
                    let u = up.get(name).ok_or_else(wrong)?;
                    Ok(self.register_upload(field, u))
                } else if s.starts_with("http://") || s.starts_with("https://") {
                    let n = self.next_file;
                    Ok(self.register_file(&format!("EMUURL{n:06}"), Vec::new(), None))
                } else {
                    let f = self.files.get(s.as_str()).ok_or_else(wrong)?;
                    Ok(FileRef {
                        id: s.clone(),
                        unique_id: f.unique_id.clone(),
                        size: f.bytes.len(),
                        name: f.path.rsplit('/').next().map(str::to_string),
                    })
                }
            }
            Some(_) => {
                let u = up.get(field).ok_or_else(wrong)?;
                Ok(self.register_upload(field, u))
            }
        }
    }

    // --- recording ---------------------------------------------------------------------------

    fn record(&mut self, method: &str, params: &Value, at: Instant, answer: &Answer) {
        let chat_id = params.get("chat_id").and_then(as_i64);
        self.calls.push(Call {
            method: method.to_string(),
            params: params.clone(),
            at,
            chat_id,
            status: answer.0,
            response: answer.1.clone(),
        });
    }

    fn note_sent(&mut self, method: &str, chat: i64, msg: &Value, params: &Value, at: Instant) {
        let text = msg
            .get("text")
            .or_else(|| msg.get("caption"))
            .and_then(Value::as_str)
            .map(str::to_string);
        self.sent.push(SentMessage {
            method: method.to_string(),
            chat_id: chat,
            message_id: msg.get("message_id").and_then(as_i64).unwrap_or_default(),
            thread_id: msg.get("message_thread_id").and_then(as_i64),
            text,
            reply_markup: msg.get("reply_markup").cloned(),
            message: msg.clone(),
            params: params.clone(),
            at,
        });
    }

    // --- faults and limits -------------------------------------------------------------------

    fn take_fault(&mut self, method: &str) -> Option<FaultKind> {
        let is_poll = method.eq_ignore_ascii_case("getUpdates");
        let i = self.faults.iter().position(|f| match &f.method {
            Some(m) => m.eq_ignore_ascii_case(method),
            None => !is_poll,
        })?;
        let f = &mut self.faults[i];
        let kind = f.kind.clone();
        f.remaining -= 1;
        if f.remaining == 0 {
            self.faults.remove(i);
        }
        Some(kind)
    }

    fn open_window(&mut self, at: Instant, secs: u64, method: &str) {
        self.windows.push(RetryWindow {
            start: at,
            end: at + Duration::from_secs(secs),
            method: method.to_string(),
        });
    }

    fn active_window(&self, at: Instant) -> Option<u64> {
        self.windows
            .iter()
            .filter(|w| w.start <= at && at < w.end)
            .map(|w| (w.end - at).as_secs_f64().ceil().max(1.0) as u64)
            .max()
    }

    fn weight(method: &str, params: &Value) -> usize {
        if method.eq_ignore_ascii_case("sendMediaGroup") {
            let media = match params.get("media") {
                Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
                v => v.cloned(),
            };
            media
                .as_ref()
                .and_then(Value::as_array)
                .map_or(1, |a| a.len().max(1))
        } else {
            1
        }
    }

    /// Successful audited sends: (time, chat, weight, method).
    fn sends(&self) -> Vec<(Instant, Option<i64>, usize, String)> {
        let mut v: Vec<_> = self
            .calls
            .iter()
            .filter(|c| c.is_ok() && self.rules.audits(&c.method))
            .map(|c| {
                (
                    c.at,
                    c.chat_id,
                    Self::weight(&c.method, &c.params),
                    c.method.clone(),
                )
            })
            .collect();
        v.sort_by_key(|s| s.0);
        v
    }

    /// Whether one more send of `weight` to `chat` at `at` would break a rule; if so, how
    /// long until it would not (rounded up to whole seconds, ≥ 1).
    fn would_exceed(&self, at: Instant, chat: Option<i64>, weight: usize) -> Option<u64> {
        let sends = self.sends();
        let check = |window: Duration, limit: usize, filter: &dyn Fn(Option<i64>) -> bool| {
            let inside: Vec<_> = sends
                .iter()
                .filter(|s| filter(s.1) && at.saturating_duration_since(s.0) < window)
                .collect();
            let count: usize = inside.iter().map(|s| s.2).sum();
            if count + weight > limit {
                let oldest = inside.first().map_or(at, |s| s.0);
                let wait = (oldest + window).saturating_duration_since(at);
                Some(wait.as_secs_f64().ceil().max(1.0) as u64)
            } else {
                None
            }
        };
        let mut wait = check(
            Duration::from_secs(1),
            self.rules.global_per_second,
            &|_| true,
        );
        if let Some(c) = chat {
            let w = if c > 0 {
                check(
                    Duration::from_secs(1),
                    self.rules.private_chat_per_second,
                    &|x| x == Some(c),
                )
            } else {
                check(Duration::from_secs(60), self.rules.group_per_minute, &|x| {
                    x == Some(c)
                })
            };
            wait = wait.max(w);
        }
        wait
    }

    fn audit(&self) -> Vec<String> {
        let ms = |t: Instant| t.saturating_duration_since(self.started).as_millis();
        let sends = self.sends();
        let mut out = Vec::new();
        let mut check = |list: &[&(Instant, Option<i64>, usize, String)],
                         window: Duration,
                         limit: usize,
                         what: String| {
            let mut j = 0;
            let mut sum = 0;
            for i in 0..list.len() {
                sum += list[i].2;
                while list[i].0.saturating_duration_since(list[j].0) >= window {
                    sum -= list[j].2;
                    j += 1;
                }
                if sum > limit {
                    let methods: Vec<&str> = list[j..=i].iter().map(|s| s.3.as_str()).collect();
                    out.push(format!(
                        "{what}: {sum} sends within {} s (limit {limit}), from +{} ms to +{} ms: {}",
                        window.as_secs(),
                        ms(list[j].0),
                        ms(list[i].0),
                        methods.join(", ")
                    ));
                    return;
                }
            }
        };
        let all: Vec<_> = sends.iter().collect();
        check(
            &all,
            Duration::from_secs(1),
            self.rules.global_per_second,
            "all chats".into(),
        );
        let mut chats: Vec<i64> = sends.iter().filter_map(|s| s.1).collect();
        chats.sort_unstable();
        chats.dedup();
        for c in chats {
            let list: Vec<_> = sends.iter().filter(|s| s.1 == Some(c)).collect();
            if c > 0 {
                check(
                    &list,
                    Duration::from_secs(1),
                    self.rules.private_chat_per_second,
                    format!("private chat {c}"),
                );
            } else {
                check(
                    &list,
                    Duration::from_secs(60),
                    self.rules.group_per_minute,
                    format!("group chat {c}"),
                );
            }
        }
        for w in &self.windows {
            for c in &self.calls {
                if c.is_ok()
                    && !c.method.eq_ignore_ascii_case("getUpdates")
                    && c.at >= w.start + self.rules.retry_grace
                    && c.at < w.end
                {
                    out.push(format!(
                        "{} at +{} ms (chat {:?}) ignored the retry_after window opened by a 429 \
                         on {} at +{} ms until +{} ms",
                        c.method,
                        ms(c.at),
                        c.chat_id,
                        w.method,
                        ms(w.start),
                        ms(w.end)
                    ));
                }
            }
        }
        out
    }

    // --- dispatch ----------------------------------------------------------------------------

    fn require_chat(&self, p: &Map<String, Value>) -> Result<i64, ApiErr> {
        match p.get("chat_id") {
            None | Some(Value::Null) => Err(ApiErr::bad("chat_id is empty")),
            Some(v) => as_i64(v).ok_or_else(ApiErr::chat_not_found),
        }
    }

    fn dispatch(
        &mut self,
        name: &str,
        p: &Map<String, Value>,
        recorded: &Value,
        up: &Uploads,
        at: Instant,
    ) -> Result<Value, ApiErr> {
        let m = name.to_ascii_lowercase();
        if !KNOWN_METHODS.contains(&m.as_str()) {
            return Err(ApiErr::new(404, "Not Found: method not found"));
        }
        let chat = p_i64(p, "chat_id");
        if self.enforce && m != "getupdates" {
            if let Some(secs) = self.active_window(at) {
                return Err(ApiErr::retry(secs));
            }
            if self.rules.audits(name) {
                let weight = Self::weight(name, recorded);
                if let Some(secs) = self.would_exceed(at, chat, weight) {
                    self.open_window(at, secs, name);
                    return Err(ApiErr::retry(secs));
                }
            }
        }
        if let Some(c) = chat {
            if self.deleted.contains(&c) {
                return Err(ApiErr::chat_not_found());
            }
            if self.blocked.contains(&c) && !matches!(m.as_str(), "getchat" | "getchatmember") {
                return Err(ApiErr::blocked());
            }
        }
        if let Some(c) = p_i64(p, "from_chat_id")
            && self.deleted.contains(&c)
        {
            return Err(ApiErr::chat_not_found());
        }
        match m.as_str() {
            "getme" => Ok(self.me()),
            "deletewebhook" => {
                self.webhook_url.clear();
                self.webhook_secret.clear();
                if p_bool(p, "drop_pending_updates") {
                    self.updates.clear();
                }
                Ok(json!(true))
            }
            "setwebhook" => {
                let url = p_str(p, "url").unwrap_or_default();
                // Test-only allowance: http:// on loopback, so a test server can be reached.
                let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
                    .iter()
                    .any(|l| url.starts_with(l));
                if !url.is_empty() && !url.starts_with("https://") && !loopback {
                    return Err(ApiErr::bad(
                        "bad webhook: HTTPS url must be provided for webhook",
                    ));
                }
                let secret = p_str(p, "secret_token").unwrap_or_default();
                if secret.len() > 256
                    || !secret
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err(ApiErr::bad("secret token contains unallowed characters"));
                }
                self.webhook_url = url.to_string();
                self.webhook_secret = secret.to_string();
                if p_bool(p, "drop_pending_updates") {
                    self.updates.clear();
                }
                Ok(json!(true))
            }
            "getwebhookinfo" => Ok(json!({
                "url": self.webhook_url,
                "has_custom_certificate": false,
                "pending_update_count": self.updates.len(),
            })),
            "logout"
            | "close"
            | "setmydescription"
            | "setmyshortdescription"
            | "setmyname"
            | "pinchatmessage"
            | "unpinchatmessage"
            | "setmessagereaction" => Ok(json!(true)),
            "setmycommands" => {
                let cmds = p_json(p, "commands").unwrap_or(Value::Null);
                let list = cmds
                    .as_array()
                    .ok_or_else(|| ApiErr::bad("parameter \"commands\" is required"))?;
                if list.len() > 100 {
                    return Err(ApiErr::bad("BOT_COMMANDS_TOO_MUCH"));
                }
                for c in list {
                    let name = c.get("command").and_then(Value::as_str).unwrap_or_default();
                    let good = (1..=32).contains(&name.len())
                        && name
                            .chars()
                            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
                    if !good {
                        return Err(ApiErr::bad("BOT_COMMAND_INVALID"));
                    }
                    let desc = c
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if desc.trim().is_empty() || desc.chars().count() > 256 {
                        return Err(ApiErr::bad("BOT_COMMAND_DESCRIPTION_INVALID"));
                    }
                }
                self.commands.insert(commands_key(p), cmds.clone());
                Ok(json!(true))
            }
            "getmycommands" => Ok(self
                .commands
                .get(&commands_key(p))
                .cloned()
                .unwrap_or(json!([]))),
            "deletemycommands" => {
                self.commands.remove(&commands_key(p));
                Ok(json!(true))
            }
            "setchatmenubutton" => {
                let key = chat.map_or("default".to_string(), |c| c.to_string());
                let button = p_json(p, "menu_button").unwrap_or(json!({"type": "default"}));
                if let Some(url) = button.pointer("/web_app/url").and_then(Value::as_str)
                    && !url.starts_with("https://")
                {
                    return Err(ApiErr::bad(format!(
                        "menu button Web App URL '{url}' is invalid: Only HTTPS links are allowed"
                    )));
                }
                self.menu_buttons.insert(key, button);
                Ok(json!(true))
            }
            "getchatmenubutton" => {
                let key = chat.map_or("default".to_string(), |c| c.to_string());
                Ok(self
                    .menu_buttons
                    .get(&key)
                    .or_else(|| self.menu_buttons.get("default"))
                    .cloned()
                    .unwrap_or(json!({"type": "default"})))
            }
            "sendmessage" => self.send_message(name, p, recorded, at),
            "sendphoto" | "senddocument" | "sendvoice" => {
                self.send_media(name, &m[4..], p, recorded, up, at)
            }
            "sendmediagroup" => self.send_media_group(name, p, recorded, up, at),
            "copymessage" | "forwardmessage" => {
                self.copy_message(name, m == "forwardmessage", p, recorded, at)
            }
            "editmessagetext" | "editmessagecaption" | "editmessagereplymarkup" => {
                self.edit_message(&m, p)
            }
            "deletemessage" => {
                let c = self.require_chat(p)?;
                let id = p_i64(p, "message_id")
                    .ok_or_else(|| ApiErr::bad("message identifier is not specified"))?;
                self.chats
                    .get_mut(&c)
                    .and_then(|s| s.messages.remove(&id))
                    .ok_or_else(|| ApiErr::bad("message to delete not found"))?;
                Ok(json!(true))
            }
            "deletemessages" => {
                let c = self.require_chat(p)?;
                let ids = p_json(p, "message_ids").unwrap_or(json!([]));
                if let Some(s) = self.chats.get_mut(&c) {
                    for id in ids.as_array().into_iter().flatten().filter_map(as_i64) {
                        s.messages.remove(&id);
                    }
                }
                Ok(json!(true))
            }
            "answercallbackquery" => {
                let id = p_str(p, "callback_query_id").unwrap_or_default();
                if !self.callbacks.remove(id) {
                    return Err(ApiErr::bad(
                        "query is too old and response timeout expired or query id is invalid",
                    ));
                }
                if p_str(p, "text").is_some_and(|t| t.chars().count() > 200) {
                    return Err(ApiErr::bad("MESSAGE_TOO_LONG"));
                }
                Ok(json!(true))
            }
            "sendchataction" => {
                self.require_chat(p)?;
                const ACTIONS: &[&str] = &[
                    "typing",
                    "upload_photo",
                    "record_video",
                    "upload_video",
                    "record_voice",
                    "upload_voice",
                    "upload_document",
                    "choose_sticker",
                    "find_location",
                    "record_video_note",
                    "upload_video_note",
                ];
                if !ACTIONS.contains(&p_str(p, "action").unwrap_or_default()) {
                    return Err(ApiErr::bad("wrong parameter action in request"));
                }
                Ok(json!(true))
            }
            "getfile" => {
                let id = p_str(p, "file_id").unwrap_or_default();
                let f = self
                    .files
                    .get(id)
                    .ok_or_else(|| ApiErr::bad("invalid file id"))?;
                Ok(json!({
                    "file_id": id, "file_unique_id": f.unique_id,
                    "file_size": f.bytes.len(), "file_path": f.path,
                }))
            }
            "getchat" => {
                let c = self.require_chat(p)?;
                Ok(self.chat_full_json(c))
            }
            "getchatmember" => {
                let c = self.require_chat(p)?;
                let u = p_i64(p, "user_id").ok_or_else(|| ApiErr::bad("user not found"))?;
                Ok(self.chat_member_json(c, u))
            }
            "createforumtopic" => {
                let c = self.require_chat(p)?;
                if c > 0 {
                    return Err(ApiErr::bad(
                        "method is available only for supergroups and channel",
                    ));
                }
                let name = p_str(p, "name").unwrap_or_default().to_string();
                if name.trim().is_empty() || name.chars().count() > 128 {
                    return Err(ApiErr::bad("TOPIC_TITLE_EMPTY"));
                }
                let color = p_i64(p, "icon_color").unwrap_or(7_322_096);
                self.forums.insert(c);
                let id = self.next_message_id(c);
                let service = json!({
                    "message_id": id, "message_thread_id": id, "is_topic_message": true,
                    "date": unix_now(), "chat": self.chat_json(c), "from": self.bot_user(),
                    "forum_topic_created": {"name": name, "icon_color": color},
                });
                self.store_message(&service);
                self.topics.entry(c).or_default().insert(id);
                Ok(json!({"message_thread_id": id, "name": name, "icon_color": color}))
            }
            "editforumtopic" | "closeforumtopic" | "reopenforumtopic" | "deleteforumtopic" => {
                let c = self.require_chat(p)?;
                let t = p_i64(p, "message_thread_id").unwrap_or_default();
                let known = self.topics.get(&c).is_some_and(|s| s.contains(&t));
                if !known {
                    return Err(ApiErr::bad("TOPIC_ID_INVALID"));
                }
                if m == "deleteforumtopic"
                    && let Some(s) = self.topics.get_mut(&c)
                {
                    s.remove(&t);
                }
                Ok(json!(true))
            }
            // getupdates is served by `get_updates`; anything else was rejected above.
            _ => Err(ApiErr::new(404, "Not Found: method not found")),
        }
    }

    /// Common fields of a message the bot is about to send; checks markup, thread and reply.
    /// Does not allocate a message id.
    fn prepare_bot_message(
        &self,
        chat: i64,
        p: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ApiErr> {
        let markup = check_markup(p_json(p, "reply_markup").as_ref())?;
        let mut m = Map::new();
        m.insert("from".into(), self.bot_user());
        m.insert("chat".into(), self.chat_json(chat));
        if let Some(t) = p_i64(p, "message_thread_id") {
            if chat < 0
                && t != 1
                && self
                    .topics
                    .get(&chat)
                    .is_some_and(|known| !known.contains(&t))
            {
                return Err(ApiErr::bad("message thread not found"));
            }
            m.insert("message_thread_id".into(), json!(t));
            if self.forums.contains(&chat) {
                m.insert("is_topic_message".into(), json!(true));
            }
        }
        let reply_params = p_json(p, "reply_parameters");
        let reply_id = reply_params
            .as_ref()
            .and_then(|r| r.get("message_id"))
            .and_then(as_i64)
            .or_else(|| p_i64(p, "reply_to_message_id"));
        if let Some(r) = reply_id {
            match self.get_message(chat, r) {
                Some(orig) => {
                    let mut orig = orig.clone();
                    if let Some(o) = orig.as_object_mut() {
                        o.remove("reply_to_message");
                    }
                    m.insert("reply_to_message".into(), orig);
                }
                None => {
                    let allow = p_bool(p, "allow_sending_without_reply")
                        || reply_params
                            .as_ref()
                            .and_then(|r| r.get("allow_sending_without_reply"))
                            .and_then(Value::as_bool)
                            .unwrap_or(false);
                    if !allow {
                        return Err(ApiErr::bad("message to be replied not found"));
                    }
                }
            }
        }
        if let Some(k) = markup {
            m.insert("reply_markup".into(), k);
        }
        Ok(m)
    }

    fn commit_message(&mut self, chat: i64, mut m: Map<String, Value>) -> Value {
        let id = self.next_message_id(chat);
        m.insert("message_id".into(), json!(id));
        m.insert("date".into(), json!(unix_now()));
        let v = Value::Object(m);
        self.store_message(&v);
        v
    }

    fn send_message(
        &mut self,
        name: &str,
        p: &Map<String, Value>,
        rec: &Value,
        at: Instant,
    ) -> Result<Value, ApiErr> {
        let chat = self.require_chat(p)?;
        let text = parse_entities(p_str(p, "text").unwrap_or_default(), p_str(p, "parse_mode"))?;
        if text.trim().is_empty() {
            return Err(ApiErr::bad("message text is empty"));
        }
        if text.chars().count() > 4096 {
            return Err(ApiErr::bad("message is too long"));
        }
        let mut m = self.prepare_bot_message(chat, p)?;
        m.insert("text".into(), json!(text));
        let msg = self.commit_message(chat, m);
        self.note_sent(name, chat, &msg, rec, at);
        Ok(msg)
    }

    fn caption(p: &Map<String, Value>) -> Result<Option<String>, ApiErr> {
        match p_str(p, "caption") {
            None => Ok(None),
            Some(c) => {
                let c = parse_entities(c, p_str(p, "parse_mode"))?;
                if c.chars().count() > 1024 {
                    return Err(ApiErr::bad("message caption is too long"));
                }
                Ok(Some(c).filter(|c| !c.is_empty()))
            }
        }
    }

    fn media_object(kind: &str, f: &FileRef, p: &Map<String, Value>) -> Value {
        match kind {
            "photo" => json!([{
                "file_id": f.id, "file_unique_id": f.unique_id, "file_size": f.size,
                "width": 1280, "height": 960,
            }]),
            "voice" => json!({
                "file_id": f.id, "file_unique_id": f.unique_id, "file_size": f.size,
                "duration": p_i64(p, "duration").unwrap_or(1), "mime_type": "audio/ogg",
            }),
            _ => {
                let name = f.name.clone().unwrap_or_else(|| "file".into());
                json!({
                    "file_id": f.id, "file_unique_id": f.unique_id, "file_size": f.size,
                    "mime_type": guess_mime(&name), "file_name": name,
                })
            }
        }
    }

    fn send_media(
        &mut self,
        name: &str,
        kind: &str,
        p: &Map<String, Value>,
        rec: &Value,
        up: &Uploads,
        at: Instant,
    ) -> Result<Value, ApiErr> {
        let chat = self.require_chat(p)?;
        let caption = Self::caption(p)?;
        let mut m = self.prepare_bot_message(chat, p)?;
        let f = self.resolve_file(p.get(kind), kind, up)?;
        m.insert(kind.into(), Self::media_object(kind, &f, p));
        if let Some(c) = caption {
            m.insert("caption".into(), json!(c));
        }
        let msg = self.commit_message(chat, m);
        self.note_sent(name, chat, &msg, rec, at);
        Ok(msg)
    }

    fn send_media_group(
        &mut self,
        name: &str,
        p: &Map<String, Value>,
        rec: &Value,
        up: &Uploads,
        at: Instant,
    ) -> Result<Value, ApiErr> {
        let chat = self.require_chat(p)?;
        let media = p_json(p, "media").unwrap_or(Value::Null);
        let items = media
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| ApiErr::bad("parameter \"media\" is required"))?;
        if items.len() > 10 {
            return Err(ApiErr::bad("Too much messages to send as an album"));
        }
        let mut base = self.prepare_bot_message(chat, p)?;
        base.remove("reply_markup");
        let mut prepared = Vec::new();
        for it in items {
            let it = it.as_object().cloned().unwrap_or_default();
            let kind = match p_str(&it, "type") {
                Some("photo") => "photo",
                Some("document") => "document",
                Some("audio") => "audio",
                Some("video") => "video",
                _ => return Err(ApiErr::bad("wrong media type")),
            };
            let caption = Self::caption(&it)?;
            let f = self.resolve_file(it.get("media"), kind, up)?;
            let obj = if kind == "photo" || kind == "document" {
                Self::media_object(kind, &f, &it)
            } else {
                json!({"file_id": f.id, "file_unique_id": f.unique_id, "file_size": f.size, "duration": 1})
            };
            prepared.push((kind, obj, caption));
        }
        let group = format!("{}{}", chat.unsigned_abs(), self.next_file);
        let mut out = Vec::new();
        for (kind, obj, caption) in prepared {
            let mut m = base.clone();
            m.insert(kind.into(), obj);
            m.insert("media_group_id".into(), json!(group));
            if let Some(c) = caption {
                m.insert("caption".into(), json!(c));
            }
            let msg = self.commit_message(chat, m);
            self.note_sent(name, chat, &msg, rec, at);
            out.push(msg);
        }
        Ok(Value::Array(out))
    }

    fn copy_message(
        &mut self,
        name: &str,
        forward: bool,
        p: &Map<String, Value>,
        rec: &Value,
        at: Instant,
    ) -> Result<Value, ApiErr> {
        let chat = self.require_chat(p)?;
        let what = if forward { "forward" } else { "copy" };
        let from_chat = p_i64(p, "from_chat_id").ok_or_else(ApiErr::chat_not_found)?;
        let id = p_i64(p, "message_id")
            .ok_or_else(|| ApiErr::bad("message identifier is not specified"))?;
        let src = self
            .get_message(from_chat, id)
            .cloned()
            .ok_or_else(|| ApiErr::bad(format!("message to {what} not found")))?;
        let caption = if forward { None } else { Self::caption(p)? };
        let mut m = self.prepare_bot_message(chat, p)?;
        const CONTENT: &[&str] = &[
            "text",
            "entities",
            "caption",
            "caption_entities",
            "photo",
            "document",
            "voice",
            "audio",
            "video",
            "contact",
            "location",
            "sticker",
            "animation",
        ];
        let mut any = false;
        for k in CONTENT {
            if let Some(v) = src.get(*k) {
                m.insert((*k).into(), v.clone());
                any = true;
            }
        }
        if !any {
            return Err(ApiErr::bad(format!("message can't be {what}ed")));
        }
        if let Some(c) = caption {
            m.insert("caption".into(), json!(c));
        }
        if forward {
            m.remove("reply_markup");
            if let Some(from) = src.get("from") {
                m.insert(
                    "forward_origin".into(),
                    json!({"type": "user", "sender_user": from, "date": src.get("date").cloned().unwrap_or(json!(0))}),
                );
            }
        }
        let msg = self.commit_message(chat, m);
        self.note_sent(name, chat, &msg, rec, at);
        if forward {
            Ok(msg)
        } else {
            Ok(json!({"message_id": msg["message_id"]}))
        }
    }

    fn edit_message(&mut self, m: &str, p: &Map<String, Value>) -> Result<Value, ApiErr> {
        let markup = check_markup(p_json(p, "reply_markup").as_ref())?;
        let new_text = match m {
            "editmessagetext" => {
                let t =
                    parse_entities(p_str(p, "text").unwrap_or_default(), p_str(p, "parse_mode"))?;
                if t.trim().is_empty() {
                    return Err(ApiErr::bad("message text is empty"));
                }
                if t.chars().count() > 4096 {
                    return Err(ApiErr::bad("MESSAGE_TOO_LONG"));
                }
                Some(t)
            }
            _ => None,
        };
        let new_caption = if m == "editmessagecaption" {
            Some(Self::caption(p)?.unwrap_or_default())
        } else {
            None
        };
        if p.contains_key("inline_message_id") {
            return Ok(json!(true));
        }
        let chat = self.require_chat(p)?;
        let id = p_i64(p, "message_id")
            .ok_or_else(|| ApiErr::bad("message identifier is not specified"))?;
        let bot = self.bot_id;
        let msg = self
            .chats
            .get_mut(&chat)
            .and_then(|c| c.messages.get_mut(&id))
            .ok_or_else(|| ApiErr::bad("message to edit not found"))?;
        if msg.pointer("/from/id").and_then(as_i64) != Some(bot) {
            return Err(ApiErr::bad("message can't be edited"));
        }
        let obj = msg.as_object_mut().expect("stored messages are objects");
        let mut changed = obj.get("reply_markup") != markup.as_ref();
        if let Some(t) = &new_text {
            if !obj.contains_key("text") {
                return Err(ApiErr::bad("there is no text in the message to edit"));
            }
            changed |= obj.get("text").and_then(Value::as_str) != Some(t.as_str());
            obj.insert("text".into(), json!(t));
        }
        if let Some(c) = &new_caption {
            if obj.contains_key("text") {
                return Err(ApiErr::bad("there is no caption in the message to edit"));
            }
            changed |= obj
                .get("caption")
                .and_then(Value::as_str)
                .unwrap_or_default()
                != c;
            if c.is_empty() {
                obj.remove("caption");
            } else {
                obj.insert("caption".into(), json!(c));
            }
        }
        if !changed {
            return Err(ApiErr::bad(
                "message is not modified: specified new message content and reply markup are \
                 exactly the same as a current content and reply markup of the message",
            ));
        }
        match markup {
            Some(k) => obj.insert("reply_markup".into(), k),
            None => obj.remove("reply_markup"),
        };
        obj.insert("edit_date".into(), json!(unix_now()));
        Ok(msg.clone())
    }
}

fn commands_key(p: &Map<String, Value>) -> String {
    let scope = p_json(p, "scope")
        .map(|s| s.to_string())
        .unwrap_or_else(|| "{\"type\":\"default\"}".into());
    format!("{scope}|{}", p_str(p, "language_code").unwrap_or_default())
}

fn guess_mime(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("pdf") => "application/pdf",
        Some("txt" | "log") => "text/plain",
        Some("csv") => "text/csv",
        Some("xml") => "application/xml",
        Some("json") => "application/json",
        Some("zip") => "application/zip",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    }
}

/// Checks a `reply_markup`; returns the inline keyboard to echo in the message, if any.
fn check_markup(markup: Option<&Value>) -> Result<Option<Value>, ApiErr> {
    let Some(markup) = markup else {
        return Ok(None);
    };
    if let Some(rows) = markup.get("inline_keyboard") {
        let rows = rows
            .as_array()
            .ok_or_else(|| ApiErr::bad("field \"inline_keyboard\" must be an Array"))?;
        for row in rows {
            let row = row.as_array().ok_or_else(|| {
                ApiErr::bad(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object",
                )
            })?;
            for b in row {
                if b.get("text")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    return Err(ApiErr::bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
                    ));
                }
                if let Some(d) = b.get("callback_data") {
                    let len = d.as_str().map_or(0, str::len);
                    if !(1..=64).contains(&len) {
                        return Err(ApiErr::bad("BUTTON_DATA_INVALID"));
                    }
                }
                if let Some(u) = b.get("url") {
                    let u = u.as_str().unwrap_or_default();
                    if !(u.starts_with("http://")
                        || u.starts_with("https://")
                        || u.starts_with("tg://"))
                    {
                        return Err(ApiErr::bad("BUTTON_URL_INVALID"));
                    }
                }
                if let Some(u) = b.pointer("/web_app/url") {
                    let u = u.as_str().unwrap_or_default();
                    if !u.starts_with("https://") {
                        return Err(ApiErr::bad(format!(
                            "inline keyboard button Web App URL '{u}' is invalid: Only HTTPS links are allowed"
                        )));
                    }
                }
                const ACTIONS: &[&str] = &[
                    "callback_data",
                    "url",
                    "web_app",
                    "login_url",
                    "switch_inline_query",
                    "switch_inline_query_current_chat",
                    "switch_inline_query_chosen_chat",
                    "copy_text",
                    "callback_game",
                    "pay",
                ];
                if !ACTIONS.iter().any(|a| b.get(*a).is_some()) {
                    return Err(ApiErr::bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
                    ));
                }
            }
        }
        return Ok(Some(markup.clone()));
    }
    if let Some(rows) = markup.get("keyboard").and_then(Value::as_array) {
        for b in rows.iter().filter_map(Value::as_array).flatten() {
            let text = b.as_str().or_else(|| b.get("text").and_then(Value::as_str));
            if text.is_none_or(str::is_empty) {
                return Err(ApiErr::bad("keyboard button text must be non-empty"));
            }
            if let Some(u) = b.pointer("/web_app/url").and_then(Value::as_str)
                && !u.starts_with("https://")
            {
                return Err(ApiErr::bad(format!(
                    "keyboard button Web App URL '{u}' is invalid: Only HTTPS links are allowed"
                )));
            }
        }
    }
    Ok(None)
}

// ---------------------------------------------------------------------------------------------
// Markup parsing (text as Telegram stores it, or the `can't parse entities` error)

fn parse_entities(text: &str, mode: Option<&str>) -> Result<String, ApiErr> {
    let r = match mode {
        Some(m) if m.eq_ignore_ascii_case("html") => parse_html(text),
        Some(m) if m.eq_ignore_ascii_case("markdownv2") => parse_markdown_v2(text),
        Some(m) if m.eq_ignore_ascii_case("markdown") => parse_markdown_legacy(text),
        None | Some("") => Ok(text.to_string()),
        Some(m) => return Err(ApiErr::bad(format!("unsupported parse_mode \"{m}\""))),
    };
    r.map_err(|e| ApiErr::bad(format!("can't parse entities: {e}")))
}

fn parse_html(s: &str) -> Result<String, String> {
    const TAGS: &[&str] = &[
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    ];
    let mut out = String::with_capacity(s.len());
    let mut stack: Vec<String> = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        let c = rest.chars().next().expect("non-empty");
        match c {
            '<' => {
                let end = rest
                    .find('>')
                    .ok_or_else(|| format!("Unclosed start tag at byte offset {i}"))?;
                let inner = &rest[1..end];
                if let Some(name) = inner.strip_prefix('/') {
                    let name = name.trim().to_ascii_lowercase();
                    match stack.pop() {
                        Some(open) if open == name || name.is_empty() => {}
                        Some(open) => {
                            return Err(format!(
                                "Unmatched end tag at byte offset {i}, expected \"</{open}>\", found \"</{name}>\""
                            ));
                        }
                        None => return Err(format!("Unexpected end tag at byte offset {i}")),
                    }
                } else {
                    let name = inner
                        .split(|ch: char| ch.is_whitespace() || ch == '/')
                        .next()
                        .unwrap_or_default()
                        .to_ascii_lowercase();
                    if !TAGS.contains(&name.as_str()) {
                        return Err(format!(
                            "Unsupported start tag \"{name}\" at byte offset {i}"
                        ));
                    }
                    stack.push(name);
                }
                i += end + 1;
            }
            '&' => {
                let semi = rest[..rest.len().min(12)].find(';');
                let decoded = semi.and_then(|k| {
                    let ent = &rest[1..k];
                    let ch = match ent {
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "amp" => Some('&'),
                        "quot" => Some('"'),
                        _ => {
                            if let Some(h) =
                                ent.strip_prefix("#x").or_else(|| ent.strip_prefix("#X"))
                            {
                                u32::from_str_radix(h, 16).ok().and_then(char::from_u32)
                            } else if let Some(d) = ent.strip_prefix('#') {
                                d.parse().ok().and_then(char::from_u32)
                            } else {
                                None
                            }
                        }
                    };
                    ch.map(|ch| (ch, k + 1))
                });
                match decoded {
                    Some((ch, len)) => {
                        out.push(ch);
                        i += len;
                    }
                    None => {
                        out.push('&');
                        i += 1;
                    }
                }
            }
            _ => {
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    if let Some(open) = stack.pop() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{open}\""
        ));
    }
    Ok(out)
}

fn parse_markdown_v2(s: &str) -> Result<String, String> {
    const RESERVED: &str = "_*[]()~`>#+-=|{}.!";
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let at = |k: usize| chars.get(k).map(|x| x.1);
    let mut out = String::with_capacity(s.len());
    let mut open: Vec<(&'static str, usize)> = Vec::new();
    let mut k = 0;
    let mut line_start = true;
    let toggle = |open: &mut Vec<(&'static str, usize)>, kind: &'static str, off: usize| {
        if let Some(pos) = open.iter().rposition(|e| e.0 == kind) {
            open.remove(pos);
        } else {
            open.push((kind, off));
        }
    };
    while k < chars.len() {
        let (off, c) = chars[k];
        let was_line_start = line_start;
        line_start = c == '\n';
        match c {
            '\\' => {
                match at(k + 1) {
                    Some(n) => out.push(n),
                    None => out.push('\\'),
                }
                k += 2;
            }
            '`' => {
                let pre = at(k + 1) == Some('`') && at(k + 2) == Some('`');
                let mut j = if pre { k + 3 } else { k + 1 };
                let mut body = String::new();
                let mut closed = false;
                while j < chars.len() {
                    let ch = chars[j].1;
                    if ch == '\\' {
                        if let Some(n) = at(j + 1) {
                            body.push(n);
                        }
                        j += 2;
                        continue;
                    }
                    if ch == '`' && (!pre || (at(j + 1) == Some('`') && at(j + 2) == Some('`'))) {
                        j += if pre { 3 } else { 1 };
                        closed = true;
                        break;
                    }
                    body.push(ch);
                    j += 1;
                }
                if !closed {
                    let kind = if pre { "Pre" } else { "Code" };
                    return Err(format!(
                        "Can't find end of {kind} entity at byte offset {off}"
                    ));
                }
                if pre {
                    // An optional language name on the first line.
                    if let Some((first, rest)) = body.split_once('\n')
                        && !first.is_empty()
                        && !first.contains(char::is_whitespace)
                    {
                        body = rest.to_string();
                    }
                }
                out.push_str(&body);
                k = j;
            }
            '*' => {
                toggle(&mut open, "Bold", off);
                k += 1;
            }
            '~' => {
                toggle(&mut open, "Strikethrough", off);
                k += 1;
            }
            '_' => {
                if at(k + 1) == Some('_') {
                    toggle(&mut open, "Underline", off);
                    k += 2;
                } else {
                    toggle(&mut open, "Italic", off);
                    k += 1;
                }
            }
            '|' if at(k + 1) == Some('|') => {
                toggle(&mut open, "Spoiler", off);
                k += 2;
            }
            '[' => {
                open.push(("TextUrl", off));
                k += 1;
            }
            '!' if at(k + 1) == Some('[') => {
                open.push(("CustomEmoji", off));
                k += 2;
            }
            ']' if open
                .last()
                .is_some_and(|e| e.0 == "TextUrl" || e.0 == "CustomEmoji") =>
            {
                open.pop();
                if at(k + 1) != Some('(') {
                    return Err(format!("Can't find end of a URL at byte offset {off}"));
                }
                let mut j = k + 2;
                let mut closed = false;
                while j < chars.len() {
                    match chars[j].1 {
                        '\\' => j += 2,
                        ')' => {
                            closed = true;
                            j += 1;
                            break;
                        }
                        _ => j += 1,
                    }
                }
                if !closed {
                    return Err(format!("Can't find end of a URL at byte offset {off}"));
                }
                k = j;
            }
            '>' if was_line_start => k += 1,
            c if RESERVED.contains(c) => {
                return Err(format!(
                    "Character '{c}' is reserved and must be escaped with the preceding '\\'"
                ));
            }
            c => {
                out.push(c);
                k += 1;
            }
        }
    }
    if let Some((kind, off)) = open.first() {
        return Err(format!(
            "Can't find end of {kind} entity at byte offset {off}"
        ));
    }
    Ok(out)
}

fn parse_markdown_legacy(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        let c = rest.chars().next().expect("non-empty");
        match c {
            '*' | '_' | '`' => {
                let marker = if rest.starts_with("```") {
                    "```"
                } else {
                    &rest[..1]
                };
                let body_start = i + marker.len();
                let end = s[body_start..].find(marker).ok_or_else(|| {
                    format!("Can't find end of the entity starting at byte offset {i}")
                })?;
                out.push_str(&s[body_start..body_start + end]);
                i = body_start + end + marker.len();
            }
            '[' => {
                let close = rest.find("](");
                let paren = close.and_then(|c| rest[c..].find(')').map(|p| c + p));
                match (close, paren) {
                    (Some(cl), Some(pa)) => {
                        out.push_str(&rest[1..cl]);
                        i += pa + 1;
                    }
                    _ => {
                        out.push('[');
                        i += 1;
                    }
                }
            }
            '\\' if rest.len() > 1 => {
                let n = rest[1..].chars().next().expect("non-empty");
                out.push(n);
                i += 1 + n.len_utf8();
            }
            _ => {
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// Form and multipart fields that always stay strings, even when they look like JSON.
const STRING_FIELDS: &[&str] = &[
    "text",
    "caption",
    "callback_query_id",
    "name",
    "title",
    "description",
    "short_description",
    "query",
    "url",
    "parse_mode",
    "action",
    "question",
    "secret_token",
    "emoji",
    "phone_number",
    "first_name",
    "last_name",
    "file_id",
    "custom_title",
    "inline_message_id",
    "business_connection_id",
    "message_effect_id",
    "ip_address",
    "language_code",
    "photo",
    "document",
    "voice",
    "audio",
    "video",
    "animation",
    "sticker",
    "thumbnail",
    "vcard",
];

fn field_value(key: &str, s: &str) -> Value {
    if STRING_FIELDS.contains(&key) {
        return Value::String(s.to_string());
    }
    match serde_json::from_str::<Value>(s) {
        Ok(v) if !v.is_string() && !v.is_null() => v,
        _ => Value::String(s.to_string()),
    }
}

struct Part {
    name: String,
    file_name: Option<String>,
    data: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() || needle.is_empty() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn header_param(header: &str, key: &str) -> Option<String> {
    for piece in header.split(';').skip(1) {
        let (k, v) = piece.split_once('=')?;
        if k.trim().eq_ignore_ascii_case(key) {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            return Some(v.replace("\\\"", "\""));
        }
    }
    None
}

fn parse_multipart(body: &[u8], boundary: &str) -> Result<Vec<Part>, String> {
    let delim = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut pos = find(body, &delim, 0).ok_or("multipart: no boundary")? + delim.len();
    loop {
        if body[pos..].starts_with(b"--") {
            break;
        }
        if body[pos..].starts_with(b"\r\n") {
            pos += 2;
        }
        let head_end = find(body, b"\r\n\r\n", pos).ok_or("multipart: no part headers end")?;
        let head = String::from_utf8_lossy(&body[pos..head_end]).to_string();
        let data_start = head_end + 4;
        let mut next_delim = b"\r\n".to_vec();
        next_delim.extend_from_slice(&delim);
        let data_end = find(body, &next_delim, data_start).ok_or("multipart: unterminated part")?;
        let mut name = None;
        let mut file_name = None;
        for line in head.split("\r\n") {
            if let Some((k, v)) = line.split_once(':')
                && k.trim().eq_ignore_ascii_case("content-disposition")
            {
                name = header_param(v, "name");
                file_name = header_param(v, "filename");
            }
        }
        parts.push(Part {
            name: name.ok_or("multipart: part without a name")?,
            file_name,
            data: body[data_start..data_end].to_vec(),
        });
        pos = data_end + next_delim.len();
        if pos >= body.len() {
            break;
        }
    }
    Ok(parts)
}

/// Parameters from the query string and body; uploads by part name; the recorded form of the
/// parameters (uploads as `{"file_name","len"}`).
fn parse_params(
    query: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(Map<String, Value>, Uploads, Value), String> {
    let mut p = Map::new();
    let mut uploads = Uploads::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        p.insert(k.to_string(), field_value(&k, &v));
    }
    let ct = content_type.unwrap_or_default().to_ascii_lowercase();
    if ct.starts_with("application/json") || (ct.is_empty() && body.first() == Some(&b'{')) {
        if !body.iter().all(u8::is_ascii_whitespace) {
            let v: Value =
                serde_json::from_slice(body).map_err(|e| format!("can't parse JSON: {e}"))?;
            match v {
                Value::Object(m) => p.extend(m),
                _ => return Err("JSON body must be an object".into()),
            }
        }
    } else if ct.starts_with("application/x-www-form-urlencoded") {
        for (k, v) in url::form_urlencoded::parse(body) {
            p.insert(k.to_string(), field_value(&k, &v));
        }
    } else if ct.starts_with("multipart/form-data") {
        let boundary = header_param(content_type.unwrap_or_default(), "boundary")
            .ok_or("multipart without boundary")?;
        for part in parse_multipart(body, &boundary)? {
            match part.file_name {
                Some(file_name) => {
                    uploads.insert(
                        part.name.clone(),
                        Upload {
                            file_name,
                            bytes: part.data,
                        },
                    );
                    p.insert(part.name, json!({}));
                }
                None => {
                    let s = String::from_utf8_lossy(&part.data);
                    p.insert(part.name.clone(), field_value(&part.name, &s));
                }
            }
        }
    }
    let mut recorded = p.clone();
    for (k, v) in recorded.iter_mut() {
        let up = match v {
            Value::String(s) => s.strip_prefix("attach://").and_then(|n| uploads.get(n)),
            Value::Object(_) => uploads.get(k),
            _ => None,
        };
        if let Some(u) = up {
            *v = json!({"file_name": u.file_name, "len": u.bytes.len()});
        }
    }
    Ok((p, uploads, Value::Object(recorded)))
}

/// `%XX` sequences of a URL path decoded (no `+` → space, unlike forms).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn json_reply(answer: Answer) -> warp::reply::Response {
    use warp::Reply;
    let status =
        warp::http::StatusCode::from_u16(answer.0).unwrap_or(warp::http::StatusCode::BAD_GATEWAY);
    warp::reply::with_status(warp::reply::json(&answer.1), status).into_response()
}

async fn handle(
    shared: Arc<Shared>,
    path: String,
    query: String,
    content_type: Option<String>,
    body: Vec<u8>,
) -> warp::reply::Response {
    let path = percent_decode(&path);
    let path = path.trim_start_matches('/');
    if let Some(rest) = path.strip_prefix("file/") {
        return download(&shared, rest);
    }
    let not_found = || json_reply(err_answer(&ApiErr::new(404, "Not Found")));
    let Some((first, method)) = path.split_once('/') else {
        return not_found();
    };
    let Some(token) = first.strip_prefix("bot") else {
        return not_found();
    };
    if method.is_empty() || method.contains('/') {
        return not_found();
    }
    let method = method.to_string();
    let at = Instant::now();
    let (params, uploads, recorded) = match parse_params(&query, content_type.as_deref(), &body) {
        Ok(x) => x,
        Err(e) => {
            let a = err_answer(&ApiErr::bad(e));
            shared.lock().record(&method, &json!({}), at, &a);
            return json_reply(a);
        }
    };
    if token != shared.token {
        let a = err_answer(&ApiErr::new(401, "Unauthorized"));
        shared.lock().record(&method, &recorded, at, &a);
        return json_reply(a);
    }
    json_reply(api_call(shared, method, params, uploads, recorded).await)
}

fn download(shared: &Shared, rest: &str) -> warp::reply::Response {
    use warp::Reply;
    let at = Instant::now();
    let mut st = shared.lock();
    let (token, file_path) = rest
        .strip_prefix("bot")
        .and_then(|r| r.split_once('/'))
        .unwrap_or(("", ""));
    let params = json!({ "file_path": file_path });
    if token != shared.token {
        let a = err_answer(&ApiErr::new(401, "Unauthorized"));
        st.record("downloadFile", &params, at, &a);
        return json_reply(a);
    }
    let bytes = st
        .file_paths
        .get(file_path)
        .and_then(|id| st.files.get(id))
        .map(|f| f.bytes.clone());
    match bytes {
        Some(b) => {
            let a = (200, json!({ "len": b.len() }));
            st.record("downloadFile", &params, at, &a);
            b.into_response()
        }
        None => {
            let a = err_answer(&ApiErr::new(404, "Not Found"));
            st.record("downloadFile", &params, at, &a);
            json_reply(a)
        }
    }
}

async fn api_call(
    shared: Arc<Shared>,
    method: String,
    params: Map<String, Value>,
    uploads: Uploads,
    recorded: Value,
) -> Answer {
    let at = Instant::now();
    let fault = {
        let mut st = shared.lock();
        if st.outage {
            Some(Err(ApiErr::new(502, "Bad Gateway")))
        } else {
            match st.take_fault(&method) {
                Some(FaultKind::TooManyRequests { retry_after }) => {
                    st.open_window(at, retry_after, &method);
                    Some(Err(ApiErr::retry(retry_after)))
                }
                Some(FaultKind::ServerError(code)) => {
                    let desc = match code {
                        500 => "Internal Server Error",
                        502 => "Bad Gateway",
                        503 => "Service Unavailable",
                        504 => "Gateway Timeout",
                        _ => "Server Error",
                    };
                    Some(Err(ApiErr::new(code, desc)))
                }
                Some(FaultKind::Timeout(d)) => Some(Ok(d)),
                None => None,
            }
        }
    };
    match fault {
        Some(Err(e)) => {
            let a = err_answer(&e);
            shared.lock().record(&method, &recorded, at, &a);
            a
        }
        Some(Ok(hold)) => {
            // Detached: the call takes effect even if the client stops waiting.
            let task = tokio::spawn(async move {
                tokio::time::sleep(hold).await;
                execute(shared, method, params, uploads, recorded).await
            });
            task.await
                .unwrap_or_else(|_| err_answer(&ApiErr::new(500, "Internal Server Error")))
        }
        None => execute(shared, method, params, uploads, recorded).await,
    }
}

async fn execute(
    shared: Arc<Shared>,
    method: String,
    params: Map<String, Value>,
    uploads: Uploads,
    recorded: Value,
) -> Answer {
    if method.eq_ignore_ascii_case("getUpdates") {
        return get_updates(shared, method, params, recorded).await;
    }
    let mut st = shared.lock();
    let at = Instant::now();
    let a = match st.dispatch(&method, &params, &recorded, &uploads, at) {
        Ok(v) => ok_answer(v),
        Err(e) => err_answer(&e),
    };
    st.record(&method, &recorded, at, &a);
    a
}

async fn get_updates(
    shared: Arc<Shared>,
    method: String,
    p: Map<String, Value>,
    recorded: Value,
) -> Answer {
    let at = Instant::now();
    let offset = p_i64(&p, "offset");
    let limit = p_i64(&p, "limit").unwrap_or(100).clamp(1, 100) as usize;
    let timeout = p_i64(&p, "timeout").unwrap_or(0).clamp(0, 3600) as u64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    let finish = |a: Answer| {
        shared.lock().record(&method, &recorded, at, &a);
        a
    };
    let generation = {
        let mut st = shared.lock();
        if !st.webhook_url.is_empty() {
            drop(st);
            return finish(err_answer(&ApiErr::new(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            )));
        }
        match offset {
            Some(o) if o < 0 => {
                let keep = o.unsigned_abs() as usize;
                while st.updates.len() > keep {
                    st.updates.pop_front();
                }
            }
            Some(o) => st
                .updates
                .retain(|u| u.get("update_id").and_then(as_i64).unwrap_or(0) >= o),
            None => {}
        }
        st.poll_generation += 1;
        st.poll_generation
    };
    // Ends a poll that is still waiting: Telegram answers it 409.
    shared.wake.notify_waiters();
    loop {
        let notified = shared.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let st = shared.lock();
            if st.poll_generation != generation {
                drop(st);
                return finish(err_answer(&ApiErr::new(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )));
            }
            let batch: Vec<Value> = st.updates.iter().take(limit).cloned().collect();
            if !batch.is_empty() || shared.closing.load(Ordering::SeqCst) {
                drop(st);
                return finish(ok_answer(Value::Array(batch)));
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return finish(ok_answer(json!([])));
        }
        let _ = tokio::time::timeout_at(deadline, notified).await;
    }
}

/// While a webhook is set, POSTs the pending updates to it one at a time, in order, with the
/// secret header; an update leaves the queue on a 2xx answer and is retried (after 100 ms)
/// otherwise, as Telegram does.
async fn webhook_pump(shared: Arc<Shared>) {
    let client = match reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(_) => return,
    };
    loop {
        if shared.closing.load(Ordering::SeqCst) {
            return;
        }
        let notified = shared.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let job = {
            let st = shared.lock();
            if st.webhook_url.is_empty() {
                None
            } else {
                st.updates
                    .front()
                    .cloned()
                    .map(|u| (st.webhook_url.clone(), st.webhook_secret.clone(), u))
            }
        };
        let Some((url, secret, update)) = job else {
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
            continue;
        };
        let id = update.get("update_id").and_then(as_i64).unwrap_or(0);
        let mut req = client.post(&url).json(&update);
        if !secret.is_empty() {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        let status = match req.send().await {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        let ok = (200..300).contains(&status);
        {
            let mut st = shared.lock();
            st.webhook_deliveries.push((id, status));
            if ok {
                st.updates
                    .retain(|u| u.get("update_id").and_then(as_i64) != Some(id));
            }
        }
        if !ok {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The emulator

/// A running emulator; see the module documentation. Dropping it stops the server.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Emulator {
    /// An emulator with [`DEFAULT_TOKEN`].
    pub fn new() -> Emulator {
        Self::start(DEFAULT_TOKEN)
    }

    /// Starts a server on `127.0.0.1:<free port>` that accepts `token`. The bot's user id is
    /// the token's numeric prefix (or 1000 without one).
    pub fn start(token: &str) -> Emulator {
        Emulator::start_on(token, 0)
    }

    /// Like [`Emulator::start`], on a chosen port (`0`: any free one) — for a server that
    /// was pointed at Telegram before Telegram was there.
    pub fn start_on(token: &str, port: u16) -> Emulator {
        let bot_id = token
            .split_once(':')
            .and_then(|(id, _)| id.parse().ok())
            .unwrap_or(1000);
        let shared = Arc::new(Shared {
            token: token.to_string(),
            state: Mutex::new(State::new(bot_id)),
            wake: tokio::sync::Notify::new(),
            closing: AtomicBool::new(false),
        });
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("bind 127.0.0.1:{port}: {e}"));
        listener.set_nonblocking(true).expect("set_nonblocking");
        let addr = listener.local_addr().expect("local_addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("tg-emulator".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("emulator runtime");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    let s = server_shared;
                    tokio::spawn(webhook_pump(s.clone()));
                    let routes = warp::path::full()
                        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
                        .and(warp::header::optional::<String>("content-type"))
                        .and(warp::body::bytes())
                        .and_then(
                            move |path: warp::path::FullPath,
                                  query: String,
                                  ct: Option<String>,
                                  body: warp::hyper::body::Bytes| {
                                let s = s.clone();
                                let body = body.to_vec();
                                async move {
                                    Ok::<_, Infallible>(
                                        handle(s, path.as_str().to_string(), query, ct, body).await,
                                    )
                                }
                            },
                        );
                    let server = warp::serve(routes).incoming(listener).run();
                    tokio::select! {
                        _ = server => {}
                        _ = stopped => {}
                    }
                });
                rt.shutdown_timeout(Duration::from_millis(200));
            })
            .expect("spawn emulator thread");
        Emulator {
            shared,
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn st(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }

    /// Wakes waiting long polls after a push.
    fn wake(&self) {
        self.shared.wake.notify_waiters();
    }

    /// `http://127.0.0.1:PORT` — the value for `telegram.api_url`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    pub fn token(&self) -> &str {
        &self.shared.token
    }
    pub fn bot_id(&self) -> i64 {
        self.st().bot_id
    }
    pub fn bot_username(&self) -> String {
        BOT_USERNAME.to_string()
    }

    // --- users and chats ---------------------------------------------------------------------

    /// Names a user (default: first name `User<id>`, username `user<id>`).
    pub fn set_user(&self, user_id: i64, first_name: &str, username: Option<&str>) {
        self.st().users.insert(
            user_id,
            UserInfo {
                first_name: first_name.to_string(),
                username: username.map(str::to_string),
            },
        );
    }
    /// The `language_code` of users in pushed updates (default `Some("ru")`).
    pub fn set_default_lang(&self, lang: Option<&str>) {
        self.st().default_lang = lang.map(str::to_string);
    }
    /// What `getChatMember(chat_id, user_id)` answers: "member" (default), "administrator",
    /// "creator", "left" or "kicked". The bot itself is an administrator of groups by default.
    pub fn set_member_status(&self, chat_id: i64, user_id: i64, status: &str) {
        self.st()
            .members
            .insert((chat_id, user_id), status.to_string());
    }
    /// Makes group `chat_id` a forum supergroup (`is_forum` in getChat and messages) with no
    /// topics yet; `createForumTopic` adds them.
    pub fn set_forum(&self, chat_id: i64) {
        self.st().forums.insert(chat_id);
    }
    /// Makes `chat_id` a forum with topic `thread_id` (sends to unknown threads of a chat with
    /// known topics fail with `message thread not found`).
    pub fn add_topic(&self, chat_id: i64, thread_id: i64, name: &str) {
        let _ = name;
        let mut st = self.st();
        st.forums.insert(chat_id);
        st.topics.entry(chat_id).or_default().insert(thread_id);
    }
    /// Registers file bytes under `file_id` for `getFile` and download; returns its file_path.
    pub fn add_file(&self, file_id: &str, bytes: &[u8]) -> String {
        let mut st = self.st();
        st.register_file(file_id, bytes.to_vec(), None);
        st.files[file_id].path.clone()
    }
    /// The bytes of a file the bot uploaded or that was registered, by file id.
    pub fn file_bytes(&self, file_id: &str) -> Option<Vec<u8>> {
        self.st().files.get(file_id).map(|f| f.bytes.clone())
    }

    // --- incoming updates --------------------------------------------------------------------

    /// A text message from `from` in `chat_id` (private when equal, group otherwise); returns
    /// the update_id. Texts starting with `/` get a `bot_command` entity.
    pub fn push_message(&self, chat_id: i64, from: i64, text: &str) -> i64 {
        let mut st = self.st();
        let lang = st.default_lang.clone();
        let mut m = st.user_message(chat_id, from, lang.as_deref());
        State::set_text(&mut m, text);
        let id = st.push_user_message(m);
        drop(st);
        self.wake();
        id
    }
    /// [`Emulator::push_message`] with an explicit `language_code` (`None`: absent).
    pub fn push_message_lang(
        &self,
        chat_id: i64,
        from: i64,
        text: &str,
        lang: Option<&str>,
    ) -> i64 {
        let mut st = self.st();
        let mut m = st.user_message(chat_id, from, lang);
        State::set_text(&mut m, text);
        let id = st.push_user_message(m);
        drop(st);
        self.wake();
        id
    }
    /// A text message replying to message `reply_to_message_id` of the same chat.
    pub fn push_reply(&self, chat_id: i64, from: i64, text: &str, reply_to_message_id: i64) -> i64 {
        let mut st = self.st();
        let lang = st.default_lang.clone();
        let mut m = st.user_message(chat_id, from, lang.as_deref());
        State::set_text(&mut m, text);
        // Like Telegram, a reply to a deleted (or unknown) message carries no reply_to_message.
        if let Some(mut orig) = st.get_message(chat_id, reply_to_message_id).cloned() {
            if let Some(o) = orig.as_object_mut() {
                o.remove("reply_to_message");
            }
            m.insert("reply_to_message".into(), orig);
        }
        let id = st.push_user_message(m);
        drop(st);
        self.wake();
        id
    }
    /// A press of an inline button with `data` under message `message_id`; returns the callback
    /// query id (answerable once with answerCallbackQuery).
    pub fn push_callback(&self, chat_id: i64, from: i64, message_id: i64, data: &str) -> String {
        let mut st = self.st();
        let id = format!("{}{:08}", st.bot_id, st.next_callback);
        st.next_callback += 1;
        let message = st
            .get_message(chat_id, message_id)
            .cloned()
            .unwrap_or_else(|| {
                // Telegram's InaccessibleMessage.
                json!({"chat": st.chat_json(chat_id), "message_id": message_id, "date": 0})
            });
        let lang = st.default_lang.clone();
        let q = json!({
            "id": id,
            "from": st.user_json(from, lang.as_deref()),
            "message": message,
            "chat_instance": format!("ci{chat_id}"),
            "data": data,
        });
        st.push_update(json!({ "callback_query": q }));
        drop(st);
        self.wake();
        id
    }
    /// A shared contact (the user's own phone, `user_id` = `from`).
    pub fn push_contact(&self, chat_id: i64, from: i64, phone: &str) -> i64 {
        let mut st = self.st();
        let lang = st.default_lang.clone();
        let mut m = st.user_message(chat_id, from, lang.as_deref());
        let (first, _) = st.user_names(from);
        m.insert(
            "contact".into(),
            json!({"phone_number": phone, "first_name": first, "user_id": from}),
        );
        let id = st.push_user_message(m);
        drop(st);
        self.wake();
        id
    }
    /// A photo; `file_id` is registered (with tiny JPEG bytes unless already added with
    /// [`Emulator::add_file`]) for getFile and download.
    pub fn push_photo(&self, chat_id: i64, from: i64, file_id: &str, caption: Option<&str>) -> i64 {
        let mut st = self.st();
        let f = st.register_file(
            file_id,
            FAKE_JPEG.to_vec(),
            Some(format!("photos/{file_id}.jpg")),
        );
        let lang = st.default_lang.clone();
        let mut m = st.user_message(chat_id, from, lang.as_deref());
        m.insert(
            "photo".into(),
            json!([{"file_id": f.id, "file_unique_id": f.unique_id, "file_size": f.size, "width": 1280, "height": 960}]),
        );
        if let Some(c) = caption {
            m.insert("caption".into(), json!(c));
        }
        let id = st.push_user_message(m);
        drop(st);
        self.wake();
        id
    }
    /// A document with these bytes, registered under `file_id`.
    pub fn push_document(
        &self,
        chat_id: i64,
        from: i64,
        file_id: &str,
        file_name: &str,
        bytes: &[u8],
        caption: Option<&str>,
    ) -> i64 {
        let mut st = self.st();
        let f = st.register_file(
            file_id,
            bytes.to_vec(),
            Some(format!("documents/{file_id}/{file_name}")),
        );
        let lang = st.default_lang.clone();
        let mut m = st.user_message(chat_id, from, lang.as_deref());
        m.insert(
            "document".into(),
            json!({"file_id": f.id, "file_unique_id": f.unique_id, "file_size": f.size,
                   "file_name": file_name, "mime_type": guess_mime(file_name)}),
        );
        if let Some(c) = caption {
            m.insert("caption".into(), json!(c));
        }
        let id = st.push_user_message(m);
        drop(st);
        self.wake();
        id
    }
    /// A text message in forum topic `thread_id` of group `chat_id` (registers the topic). When
    /// the topic was created with `createForumTopic`, the message replies to its creation
    /// message, as in Telegram.
    pub fn push_topic_message(&self, chat_id: i64, thread_id: i64, from: i64, text: &str) -> i64 {
        let mut st = self.st();
        st.forums.insert(chat_id);
        st.topics.entry(chat_id).or_default().insert(thread_id);
        let lang = st.default_lang.clone();
        let mut m = st.user_message(chat_id, from, lang.as_deref());
        State::set_text(&mut m, text);
        m.insert("message_thread_id".into(), json!(thread_id));
        m.insert("is_topic_message".into(), json!(true));
        // Like Telegram, a message in a topic that replies to nothing else carries the topic's
        // creation message as `reply_to_message`.
        if let Some(created) = st.get_message(chat_id, thread_id).cloned()
            && created.get("forum_topic_created").is_some()
        {
            m.insert("reply_to_message".into(), created);
        }
        let id = st.push_user_message(m);
        drop(st);
        self.wake();
        id
    }
    /// Any update as JSON; `update_id` is assigned when absent. Messages in it are stored (for
    /// replies, edits, copies) and callback query ids become answerable.
    pub fn push_raw(&self, update: Value) -> i64 {
        let id = self.st().push_update(update);
        self.wake();
        id
    }
    /// The newest message id in a chat (user's or bot's).
    pub fn last_message_id(&self, chat_id: i64) -> Option<i64> {
        self.st()
            .chats
            .get(&chat_id)
            .map(|c| c.last_message_id)
            .filter(|&id| id > 0)
    }
    /// The webhook URL and secret set with setWebhook (empty when polling).
    pub fn webhook(&self) -> (String, String) {
        let st = self.st();
        (st.webhook_url.clone(), st.webhook_secret.clone())
    }
    /// (update_id, HTTP status, 0 for no connection) of every webhook delivery attempt.
    pub fn webhook_deliveries(&self) -> Vec<(i64, u16)> {
        self.st().webhook_deliveries.clone()
    }
    /// Updates not yet confirmed by a getUpdates offset (or a webhook's 2xx).
    pub fn pending_updates(&self) -> usize {
        self.st().updates.len()
    }

    // --- recording ---------------------------------------------------------------------------

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.st().calls.clone()
    }
    /// The calls of one method (case-insensitive).
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.st()
            .calls
            .iter()
            .filter(|c| c.method.eq_ignore_ascii_case(method))
            .cloned()
            .collect()
    }
    /// Every message the bot sent, in order.
    pub fn sent_messages(&self) -> Vec<SentMessage> {
        self.st().sent.clone()
    }
    /// The messages the bot sent after the first `from` (an index into [`Emulator::sent_messages`]),
    /// so a load driver can follow the stream without copying all of it each time.
    pub fn sent_since(&self, from: usize) -> Vec<SentMessage> {
        self.st()
            .sent
            .get(from..)
            .map(<[_]>::to_vec)
            .unwrap_or_default()
    }
    /// The messages the bot sent to one chat.
    pub fn sent_to(&self, chat_id: i64) -> Vec<SentMessage> {
        self.st()
            .sent
            .iter()
            .filter(|m| m.chat_id == chat_id)
            .cloned()
            .collect()
    }
    /// A message as it is now (after edits), or `None` if unknown or deleted.
    pub fn message(&self, chat_id: i64, message_id: i64) -> Option<Value> {
        self.st().get_message(chat_id, message_id).cloned()
    }
    /// Polls `pred` over the calls every 10 ms until it holds (true) or `timeout` passes.
    pub fn wait_for(&self, pred: impl Fn(&[Call]) -> bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(&self.calls()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    /// Polls `pred` over the sent messages every 10 ms until it holds or `timeout` passes.
    pub fn wait_for_sent(&self, pred: impl Fn(&[SentMessage]) -> bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(&self.sent_messages()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    /// The first message sent to `chat_id` whose text or caption contains `needle`.
    pub fn wait_for_text(
        &self,
        chat_id: i64,
        needle: &str,
        timeout: Duration,
    ) -> Option<SentMessage> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self
                .sent_to(chat_id)
                .into_iter()
                .find(|m| m.contains(needle))
            {
                return Some(m);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    /// [`Emulator::wait_for`] that yields to the async runtime between polls.
    pub async fn wait_for_async(&self, pred: impl Fn(&[Call]) -> bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(&self.calls()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    /// [`Emulator::wait_for_sent`] that yields to the async runtime between polls.
    pub async fn wait_for_sent_async(
        &self,
        pred: impl Fn(&[SentMessage]) -> bool,
        timeout: Duration,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(&self.sent_messages()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    /// [`Emulator::wait_for_text`] that yields to the async runtime between polls.
    pub async fn wait_for_text_async(
        &self,
        chat_id: i64,
        needle: &str,
        timeout: Duration,
    ) -> Option<SentMessage> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self
                .sent_to(chat_id)
                .into_iter()
                .find(|m| m.contains(needle))
            {
                return Some(m);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    /// Forgets the recorded calls, sent messages and 429 windows (chats, messages, files and
    /// pending updates stay).
    pub fn clear(&self) {
        let mut st = self.st();
        st.calls.clear();
        st.sent.clear();
        st.windows.clear();
    }

    // --- faults ------------------------------------------------------------------------------

    /// Answers the next `n` calls of `method` (`None`: any method but getUpdates) with `kind`.
    /// Faults queue up in the order given.
    pub fn fail_next(&self, method: Option<&str>, n: usize, kind: FaultKind) {
        if n == 0 {
            return;
        }
        self.st().faults.push(Fault {
            method: method.map(str::to_string),
            remaining: n,
            kind,
        });
    }
    /// Calls with this `chat_id` get 403 `Forbidden: bot was blocked by the user` (getChat
    /// and getChatMember still work).
    pub fn block_user(&self, chat_id: i64) {
        self.st().blocked.insert(chat_id);
    }
    pub fn unblock_user(&self, chat_id: i64) {
        self.st().blocked.remove(&chat_id);
    }
    /// Calls with this `chat_id` (or `from_chat_id`) get 400 `Bad Request: chat not found`.
    pub fn delete_chat(&self, chat_id: i64) {
        self.st().deleted.insert(chat_id);
    }
    /// While on, every call is answered 502 `Bad Gateway`.
    pub fn set_outage(&self, on: bool) {
        self.st().outage = on;
    }
    /// Enforce the rate rules live with 429 + retry_after, as Telegram does.
    pub fn enforce_limits(&self, on: bool) {
        self.st().enforce = on;
    }
    pub fn set_rate_rules(&self, rules: RateRules) {
        self.st().rules = rules;
    }
    /// Audits the recorded calls against the rate rules and handed-out 429 windows; `Err` lists
    /// every breach, one per line.
    pub fn check_rate_limits(&self) -> Result<(), String> {
        let v = self.st().audit();
        if v.is_empty() {
            Ok(())
        } else {
            Err(v.join("\n"))
        }
    }
}

impl Default for Emulator {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        self.shared.wake.notify_waiters();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
