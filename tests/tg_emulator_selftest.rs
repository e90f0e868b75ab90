//! Self-test of the Telegram Bot API emulator (`tests/tg_emulator`): raw HTTP through reqwest,
//! and one round through teloxide itself, so the answers are known to deserialize into
//! teloxide's types.

mod tg_emulator;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tg_emulator::{Emulator, FaultKind};

const TOKEN: &str = "4242:selftest-token";

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

fn call(emu: &Emulator, method: &str, params: Value) -> (u16, Value) {
    let url = format!("{}/bot{TOKEN}/{method}", emu.api_url());
    let r = client().post(url).json(&params).send().expect("request");
    let status = r.status().as_u16();
    (status, r.json().expect("json answer"))
}

#[test]
fn get_me() {
    let emu = Emulator::start(TOKEN);
    let (status, body) = call(&emu, "getMe", json!({}));
    assert_eq!(status, 200);
    assert_eq!(body["ok"], true);
    assert_eq!(body["result"]["id"], 4242);
    assert_eq!(body["result"]["is_bot"], true);
    assert_eq!(body["result"]["username"], emu.bot_username());
    // GET works too, method names are case-insensitive.
    let r = client()
        .get(format!("{}/bot{TOKEN}/getme", emu.api_url()))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[test]
fn send_message_is_recorded() {
    let emu = Emulator::start(TOKEN);
    let markup = json!({"inline_keyboard": [[{"text": "Open", "callback_data": "open:1"}]]});
    let (status, body) = call(
        &emu,
        "sendMessage",
        json!({"chat_id": 77, "text": "<b>Hello</b> &amp; welcome", "parse_mode": "HTML", "reply_markup": markup}),
    );
    assert_eq!(status, 200, "{body}");
    let msg = &body["result"];
    assert_eq!(msg["message_id"], 1);
    assert_eq!(msg["chat"]["id"], 77);
    assert_eq!(msg["chat"]["type"], "private");
    assert_eq!(msg["from"]["id"], 4242);
    assert_eq!(msg["text"], "Hello & welcome");
    assert_eq!(msg["reply_markup"], markup);

    // A form-encoded call to a group, in a topic pushed before.
    emu.push_topic_message(-100500, 9, 5, "hi");
    let r = client()
        .post(format!("{}/bot{TOKEN}/sendMessage", emu.api_url()))
        .form(&[
            ("chat_id", "-100500"),
            ("text", "42"),
            ("message_thread_id", "9"),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().unwrap();
    assert_eq!(body["result"]["chat"]["type"], "supergroup");
    assert_eq!(
        body["result"]["message_id"], 2,
        "ids are per chat, shared with users"
    );
    assert_eq!(body["result"]["message_thread_id"], 9);

    let calls = emu.calls_of("sendMessage");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].chat_id, Some(77));
    assert_eq!(calls[0].params["reply_markup"], markup);
    assert_eq!(calls[1].chat_id, Some(-100500));
    assert_eq!(calls[1].params["text"], "42", "texts stay strings");
    let sent = emu.sent_messages();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].text.as_deref(), Some("Hello & welcome"));
    assert_eq!(sent[0].callback_data("Open").as_deref(), Some("open:1"));
    assert_eq!(sent[1].thread_id, Some(9));

    // Edits: unknown message, not modified, then a real edit.
    let (s, b) = call(
        &emu,
        "editMessageText",
        json!({"chat_id": 77, "message_id": 99, "text": "x"}),
    );
    assert_eq!(
        (s, b["description"].as_str()),
        (400, Some("Bad Request: message to edit not found"))
    );
    let (s, b) = call(
        &emu,
        "editMessageText",
        json!({"chat_id": 77, "message_id": 1, "text": "Hello & welcome", "reply_markup": markup}),
    );
    assert_eq!(s, 400);
    assert!(
        b["description"]
            .as_str()
            .unwrap()
            .contains("message is not modified")
    );
    let (s, _) = call(
        &emu,
        "editMessageText",
        json!({"chat_id": 77, "message_id": 1, "text": "Bye"}),
    );
    assert_eq!(s, 200);
    let now = emu.message(77, 1).unwrap();
    assert_eq!(now["text"], "Bye");
    assert!(
        now.get("reply_markup").is_none(),
        "an edit without markup drops the keyboard"
    );
}

#[test]
fn multipart_upload_and_download() {
    let emu = Emulator::start(TOKEN);
    let boundary = "XyZ123";
    let mut body = Vec::new();
    let mut field = |name: &str, file: Option<&str>, data: &[u8]| {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    };
    field("chat_id", None, b"77");
    field("caption", None, "отчёт".as_bytes());
    field("document", None, b"attach://f1");
    field(
        "f1",
        Some("report.pdf"),
        b"%PDF-1.4 \r\n--not-a-boundary\r\n",
    );
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let r = client()
        .post(format!("{}/bot{TOKEN}/sendDocument", emu.api_url()))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let b: Value = r.json().unwrap();
    let doc = &b["result"]["document"];
    assert_eq!(doc["file_name"], "report.pdf");
    assert_eq!(doc["mime_type"], "application/pdf");
    assert_eq!(b["result"]["caption"], "отчёт");
    let call = &emu.calls_of("sendDocument")[0];
    assert_eq!(call.chat_id, Some(77));
    assert_eq!(
        call.params["document"],
        json!({"file_name": "report.pdf", "len": 29})
    );

    let (s, f) = call_get_file(&emu, doc["file_id"].as_str().unwrap());
    assert_eq!(s, 200);
    let path = f["result"]["file_path"].as_str().unwrap();
    let bytes = client()
        .get(format!("{}/file/bot{TOKEN}/{path}", emu.api_url()))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(&bytes[..], b"%PDF-1.4 \r\n--not-a-boundary\r\n");
}

fn call_get_file(emu: &Emulator, id: &str) -> (u16, Value) {
    call(emu, "getFile", json!({ "file_id": id }))
}

#[test]
fn long_poll_returns_pushed_update_and_offset_confirms() {
    let emu = Emulator::start(TOKEN);
    let started = Instant::now();
    let (s, b) = call(&emu, "getUpdates", json!({"timeout": 0}));
    assert_eq!((s, b["result"].clone()), (200, json!([])));
    assert!(started.elapsed() < Duration::from_millis(500));

    let update_id = std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(200));
            emu.push_message(31, 31, "/start")
        });
        let started = Instant::now();
        let (s, b) = call(&emu, "getUpdates", json!({"timeout": 10, "offset": 0}));
        let waited = started.elapsed();
        assert_eq!(s, 200);
        assert!(
            waited >= Duration::from_millis(150) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        let ups = b["result"].as_array().unwrap();
        assert_eq!(ups.len(), 1);
        let m = &ups[0]["message"];
        assert_eq!(m["text"], "/start");
        assert_eq!(m["chat"]["type"], "private");
        assert_eq!(m["from"]["language_code"], "ru");
        assert_eq!(m["entities"][0]["type"], "bot_command");
        ups[0]["update_id"].as_i64().unwrap()
    });
    // Not confirmed yet: delivered again.
    let (_, b) = call(&emu, "getUpdates", json!({"timeout": 0}));
    assert_eq!(b["result"][0]["update_id"], update_id);
    assert_eq!(emu.pending_updates(), 1);
    // Confirmed by a higher offset.
    let (_, b) = call(
        &emu,
        "getUpdates",
        json!({"timeout": 0, "offset": update_id + 1}),
    );
    assert_eq!(b["result"], json!([]));
    assert_eq!(emu.pending_updates(), 0);

    // limit, and a callback that is answerable once.
    emu.push_message_lang(-5, 8, "a", None);
    let cb = emu.push_callback(-5, 8, 1, "x:1");
    let (_, b) = call(&emu, "getUpdates", json!({"limit": 1}));
    assert_eq!(b["result"].as_array().unwrap().len(), 1);
    assert!(
        b["result"][0]["message"]["from"]
            .get("language_code")
            .is_none()
    );
    let (s, _) = call(
        &emu,
        "answerCallbackQuery",
        json!({"callback_query_id": cb}),
    );
    assert_eq!(s, 200);
    let (s, _) = call(
        &emu,
        "answerCallbackQuery",
        json!({"callback_query_id": cb}),
    );
    assert_eq!(s, 400);
}

#[test]
fn injected_429_carries_retry_after_and_is_audited() {
    let emu = Emulator::start(TOKEN);
    emu.fail_next(
        Some("sendMessage"),
        1,
        FaultKind::TooManyRequests { retry_after: 7 },
    );
    let (s, b) = call(&emu, "sendMessage", json!({"chat_id": 1, "text": "a"}));
    assert_eq!(s, 429);
    assert_eq!(b["ok"], false);
    assert_eq!(b["error_code"], 429);
    assert_eq!(b["parameters"]["retry_after"], 7);
    assert_eq!(emu.check_rate_limits(), Ok(()));
    std::thread::sleep(Duration::from_millis(150));
    // The emulator lets it through (not enforcing) but the audit catches it.
    let (s, _) = call(&emu, "sendMessage", json!({"chat_id": 2, "text": "b"}));
    assert_eq!(s, 200);
    let err = emu.check_rate_limits().unwrap_err();
    assert!(err.contains("retry_after"), "{err}");

    emu.fail_next(None, 1, FaultKind::ServerError(502));
    let (s, b) = call(&emu, "getMe", json!({}));
    assert_eq!((s, b["description"].as_str()), (502, Some("Bad Gateway")));
    emu.fail_next(
        Some("getMe"),
        1,
        FaultKind::Timeout(Duration::from_millis(300)),
    );
    let t = Instant::now();
    let (s, _) = call(&emu, "getMe", json!({}));
    assert_eq!(s, 200);
    assert!(t.elapsed() >= Duration::from_millis(290));
    emu.set_outage(true);
    assert_eq!(call(&emu, "getMe", json!({})).0, 502);
    emu.set_outage(false);
    assert_eq!(call(&emu, "getMe", json!({})).0, 200);
}

#[test]
fn blocked_user_and_deleted_chat() {
    let emu = Emulator::start(TOKEN);
    emu.block_user(66);
    let (s, b) = call(&emu, "sendMessage", json!({"chat_id": 66, "text": "hi"}));
    assert_eq!(s, 403);
    assert_eq!(b["description"], "Forbidden: bot was blocked by the user");
    emu.delete_chat(-77);
    let (s, b) = call(&emu, "sendMessage", json!({"chat_id": -77, "text": "hi"}));
    assert_eq!(
        (s, b["description"].as_str()),
        (400, Some("Bad Request: chat not found"))
    );
    assert_eq!(
        call(
            &emu,
            "sendMessage",
            json!({"chat_id": 123456, "text": "hi"})
        )
        .0,
        200
    );
}

#[test]
fn unknown_method_and_wrong_token() {
    let emu = Emulator::start(TOKEN);
    let (s, b) = call(&emu, "sendTelepathy", json!({}));
    assert_eq!(
        (s, b["description"].as_str()),
        (404, Some("Not Found: method not found"))
    );
    let r = client()
        .post(format!("{}/bot1:wrong/getMe", emu.api_url()))
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let b: Value = r.json().unwrap();
    assert_eq!(
        b,
        json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
    );
}

#[test]
fn validation_like_telegram() {
    let emu = Emulator::start(TOKEN);
    let long = "я".repeat(4097);
    let (s, b) = call(&emu, "sendMessage", json!({"chat_id": 1, "text": long}));
    assert_eq!(
        (s, b["description"].as_str()),
        (400, Some("Bad Request: message is too long"))
    );
    assert_eq!(
        call(
            &emu,
            "sendMessage",
            json!({"chat_id": 1, "text": "я".repeat(4096)})
        )
        .0,
        200
    );
    let (s, b) = call(&emu, "sendMessage", json!({"chat_id": 1, "text": "  "}));
    assert_eq!(
        (s, b["description"].as_str()),
        (400, Some("Bad Request: message text is empty"))
    );
    let data = "x".repeat(65);
    let (s, b) = call(
        &emu,
        "sendMessage",
        json!({"chat_id": 1, "text": "t", "reply_markup": {"inline_keyboard": [[{"text": "b", "callback_data": data}]]}}),
    );
    assert_eq!(
        (s, b["description"].as_str()),
        (400, Some("Bad Request: BUTTON_DATA_INVALID"))
    );
    let (s, b) = call(
        &emu,
        "sendMessage",
        json!({"chat_id": 1, "text": "Ticket #12.", "parse_mode": "MarkdownV2"}),
    );
    assert_eq!(s, 400);
    assert!(
        b["description"]
            .as_str()
            .unwrap()
            .starts_with("Bad Request: can't parse entities: Character '#'")
    );
    let (s, b) = call(
        &emu,
        "sendMessage",
        json!({"chat_id": 1, "text": "*Ticket* \\#12\\.", "parse_mode": "MarkdownV2"}),
    );
    assert_eq!(
        (s, b["result"]["text"].as_str()),
        (200, Some("Ticket #12."))
    );
    let (s, _) = call(
        &emu,
        "sendMessage",
        json!({"chat_id": 1, "text": "a<br>b", "parse_mode": "HTML"}),
    );
    assert_eq!(s, 400);
}

#[test]
fn rate_audit_catches_a_burst_to_one_private_chat() {
    let emu = Emulator::start(TOKEN);
    for i in 0..3 {
        call(
            &emu,
            "sendMessage",
            json!({"chat_id": 10 + i, "text": "ok"}),
        );
    }
    assert_eq!(emu.check_rate_limits(), Ok(()));
    let t = Instant::now();
    for i in 0..5 {
        call(
            &emu,
            "sendMessage",
            json!({"chat_id": 500, "text": format!("m{i}")}),
        );
    }
    assert!(t.elapsed() < Duration::from_millis(1000));
    let err = emu.check_rate_limits().unwrap_err();
    assert!(err.contains("private chat 500"), "{err}");

    // Enforced live: the 4th send within a second is refused with retry_after.
    let emu = Emulator::start(TOKEN);
    emu.enforce_limits(true);
    let statuses: Vec<u16> = (0..4)
        .map(|i| {
            call(
                &emu,
                "sendMessage",
                json!({"chat_id": 9, "text": format!("m{i}")}),
            )
            .0
        })
        .collect();
    assert_eq!(statuses, [200, 200, 200, 429]);
    let last = emu.calls_of("sendMessage").pop().unwrap();
    assert!(last.response["parameters"]["retry_after"].as_u64().unwrap() >= 1);
    // The whole bot is blocked during the window.
    assert_eq!(call(&emu, "getMe", json!({})).0, 429);
    assert_eq!(emu.check_rate_limits(), Ok(()));
}

/// The emulator's answers deserialize into teloxide's types, including multipart uploads.
#[test]
fn teloxide_round_trip() {
    use teloxide::net::Download;
    use teloxide::prelude::*;
    use teloxide::types::{
        ChatId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, InputMedia, InputMediaPhoto,
        MessageId, ThreadId, UpdateKind,
    };

    let emu = Emulator::start(TOKEN);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let bot = Bot::new(TOKEN).set_api_url(url::Url::parse(&emu.api_url()).unwrap());
        let me = bot.get_me().await.unwrap();
        assert_eq!(me.id.0, 4242);

        let kb = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Go", "go")]]);
        let m = bot
            .send_message(ChatId(7), "hello")
            .reply_markup(kb.clone())
            .await
            .unwrap();
        assert_eq!(m.text(), Some("hello"));
        assert_eq!(m.reply_markup(), Some(&kb));
        let m2 = bot
            .edit_message_text(ChatId(7), m.id, "edited")
            .await
            .unwrap();
        assert_eq!(m2.text(), Some("edited"));
        let err = bot
            .edit_message_text(ChatId(7), MessageId(999), "x")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                teloxide::RequestError::Api(teloxide::ApiError::MessageToEditNotFound)
            ),
            "{err:?}"
        );

        let p = bot
            .send_photo(
                ChatId(7),
                InputFile::memory(b"jpegbytes".to_vec()).file_name("a.jpg"),
            )
            .caption("pic")
            .await
            .unwrap();
        let photo = p.photo().unwrap().last().unwrap().clone();
        assert_eq!(p.caption(), Some("pic"));
        let file = bot.get_file(photo.file.id.clone()).await.unwrap();
        let mut buf = Vec::new();
        bot.download_file(&file.path, &mut buf).await.unwrap();
        assert_eq!(buf, b"jpegbytes");
        assert_eq!(emu.calls_of("sendPhoto")[0].params["caption"], "pic");

        let d = bot
            .send_document(
                ChatId(7),
                InputFile::memory(b"%PDF".to_vec()).file_name("r.pdf"),
            )
            .await
            .unwrap();
        assert_eq!(d.document().unwrap().file_name.as_deref(), Some("r.pdf"));
        let v = bot
            .send_voice(
                ChatId(7),
                InputFile::memory(b"ogg".to_vec()).file_name("v.ogg"),
            )
            .await
            .unwrap();
        assert!(v.voice().is_some());
        let group = bot
            .send_media_group(
                ChatId(7),
                [
                    InputMedia::Photo(InputMediaPhoto::new(InputFile::memory(b"1".to_vec()))),
                    InputMedia::Photo(InputMediaPhoto::new(InputFile::file_id(
                        photo.file.id.clone(),
                    ))),
                ],
            )
            .await
            .unwrap();
        assert_eq!(group.len(), 2);
        let copied = bot.copy_message(ChatId(8), ChatId(7), m.id).await.unwrap();
        assert_eq!(emu.message(8, copied.0 as i64).unwrap()["text"], "edited");
        let fwd = bot
            .forward_message(ChatId(8), ChatId(7), m.id)
            .await
            .unwrap();
        assert!(fwd.forward_origin().is_some());
        bot.send_chat_action(ChatId(7), teloxide::types::ChatAction::Typing)
            .await
            .unwrap();
        bot.delete_message(ChatId(7), v.id).await.unwrap();
        assert!(emu.message(7, v.id.0 as i64).is_none());

        let chat = bot.get_chat(ChatId(7)).await.unwrap();
        assert!(chat.is_private());
        let group_chat = bot.get_chat(ChatId(-1001)).await.unwrap();
        assert!(group_chat.is_supergroup());
        let member = bot.get_chat_member(ChatId(-1001), UserId(7)).await.unwrap();
        assert!(member.is_present());
        let topic = bot
            .create_forum_topic(ChatId(-1001), "Ticket 1")
            .await
            .unwrap();
        let in_topic = bot
            .send_message(ChatId(-1001), "in topic")
            .message_thread_id(topic.thread_id)
            .await
            .unwrap();
        assert_eq!(in_topic.thread_id, Some(topic.thread_id));
        let err = bot
            .send_message(ChatId(-1001), "nowhere")
            .message_thread_id(ThreadId(MessageId(424242)))
            .await
            .unwrap_err();
        assert!(format!("{err:?}").contains("thread not found"), "{err:?}");
        bot.set_my_commands([teloxide::types::BotCommand::new("start", "Start")])
            .await
            .unwrap();
        bot.delete_webhook().await.unwrap();
        bot.get_webhook_info().await.unwrap();

        emu.block_user(99);
        let err = bot.send_message(ChatId(99), "x").await.unwrap_err();
        assert!(matches!(
            err,
            teloxide::RequestError::Api(teloxide::ApiError::BotBlocked)
        ));
        emu.fail_next(
            Some("sendMessage"),
            1,
            FaultKind::TooManyRequests { retry_after: 3 },
        );
        let err = bot.send_message(ChatId(5), "x").await.unwrap_err();
        assert!(
            matches!(err, teloxide::RequestError::RetryAfter(s) if s.seconds() == 3),
            "{err:?}"
        );

        // Every kind of pushed update parses.
        emu.push_message(7, 7, "/start");
        emu.push_reply(7, 7, "reply", m2.id.0 as i64);
        emu.push_callback(7, 7, in_topic.id.0 as i64, "cb");
        emu.push_callback(7, 7, 12345, "gone");
        emu.push_contact(7, 7, "+79990001122");
        emu.push_photo(7, 7, "PHOTO1", Some("broken printer"));
        emu.push_document(7, 7, "DOC1", "stock.xml", b"<xml/>", None);
        emu.push_topic_message(-1001, topic.thread_id.0.0 as i64, 7, "topic text");
        let ups = bot.get_updates().timeout(1).await.unwrap();
        assert_eq!(ups.len(), 8);
        for u in &ups {
            assert!(!matches!(u.kind, UpdateKind::Error(_)), "{u:?}");
        }
        let UpdateKind::Message(reply) = &ups[1].kind else {
            panic!()
        };
        assert_eq!(reply.reply_to_message().unwrap().text(), Some("edited"));
        let UpdateKind::CallbackQuery(q) = &ups[2].kind else {
            panic!()
        };
        assert_eq!(q.data.as_deref(), Some("cb"));
        bot.answer_callback_query(q.id.clone()).await.unwrap();
        let UpdateKind::Message(contact) = &ups[4].kind else {
            panic!()
        };
        assert_eq!(contact.contact().unwrap().phone_number, "+79990001122");
        let UpdateKind::Message(ph) = &ups[5].kind else {
            panic!()
        };
        let f = bot
            .get_file(ph.photo().unwrap()[0].file.id.clone())
            .await
            .unwrap();
        let mut buf = Vec::new();
        bot.download_file(&f.path, &mut buf).await.unwrap();
        assert!(buf.starts_with(&[0xFF, 0xD8]));
        let UpdateKind::Message(t) = &ups[7].kind else {
            panic!()
        };
        assert_eq!(t.thread_id, Some(topic.thread_id));
        let next = ups.last().unwrap().id.0 as i32 + 1;
        let ups = bot.get_updates().offset(next).timeout(0).await.unwrap();
        assert!(ups.is_empty());
    });
}

#[test]
fn second_poller_ends_the_first_and_drop_ends_polls() {
    let emu = Emulator::start(TOKEN);
    std::thread::scope(|scope| {
        let first = scope.spawn(|| call(&emu, "getUpdates", json!({"timeout": 10})));
        assert!(emu.wait_for(|c| c.is_empty(), Duration::from_secs(1)));
        std::thread::sleep(Duration::from_millis(200));
        let second = scope.spawn(|| call(&emu, "getUpdates", json!({"timeout": 1})));
        let (s, b) = first.join().unwrap();
        assert_eq!(s, 409);
        assert!(
            b["description"]
                .as_str()
                .unwrap()
                .starts_with("Conflict: terminated by other getUpdates")
        );
        assert_eq!(second.join().unwrap().0, 200);
    });

    let url = format!("{}/bot{TOKEN}/getUpdates", emu.api_url());
    let poll = std::thread::spawn(move || {
        let t = Instant::now();
        let _ = client().post(url).json(&json!({"timeout": 30})).send();
        t.elapsed()
    });
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    drop(emu);
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(poll.join().unwrap() < Duration::from_secs(3));
}
