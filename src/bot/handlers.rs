//! Update handlers: private chats (registration, menu, the new-ticket dialogue, FAQ, ticket
//! list) and the staff group (card buttons, replies to cards, rejection reasons, forum topics).
//! Every reply goes to the outbox through the service; rules live in the service.

use teloxide::dispatching::dialogue::Dialogue;
use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, ChatId, MediaKind, Message, MessageKind, User};

use super::Ctx;
use super::state::{Attachment, Draft, State};
use crate::domain::callback::Callback;
use crate::domain::texts::render;
use crate::domain::validate;
use crate::domain::{
    Action, Actor, Category, Direction, EventKind, Language, Markup, Media, Priority,
    Requester as Profile, Role, Source, StockItem, TicketAction, TicketStatus, role,
};
use crate::search::Answer;
use crate::service::{NewTicket, Service, ServiceError};
use crate::store::{Reads, TicketFilter};

type HandlerResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;
type Dlg = Dialogue<State, super::storage::RedbStorage>;

/// Longest text accepted from a requester in one message.
const MAX_INPUT: usize = validate::MAX_TEXT - 96;
/// Items of a list shown as buttons.
const MAX_BUTTONS: usize = 12;

/// Runs blocking service work off the async threads.
async fn svc<T: Send + 'static>(
    ctx: &Ctx,
    f: impl FnOnce(&Service) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    let s = ctx.svc.clone();
    tokio::task::spawn_blocking(move || f(&s))
        .await
        .unwrap_or_else(|e| Err(ServiceError::Conflict(format!("internal error: {e}"))))
}

fn cb(c: Callback) -> String {
    c.encode().unwrap_or_default()
}

/// Text `key` in `lang` with placeholders filled.
async fn txt(ctx: &Ctx, lang: Language, key: &'static str, args: &[(&str, &str)]) -> String {
    let args: Vec<(String, String)> = args
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let t = svc(ctx, move |s| s.text(&s.read()?, lang, key))
        .await
        .unwrap_or_else(|_| key.to_string());
    let refs: Vec<(&str, &str)> = args.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    render(&t, &refs)
}

/// Queues a message to `chat`.
async fn say(ctx: &Ctx, chat: i64, text: String, markup: Markup) {
    say_in(ctx, chat, text, markup, None, None).await
}

async fn say_in(
    ctx: &Ctx,
    chat: i64,
    text: String,
    markup: Markup,
    thread: Option<i64>,
    reply_to: Option<i64>,
) {
    if let Err(e) = svc(ctx, move |s| {
        s.send_message(chat, &text, markup, thread, reply_to)
    })
    .await
    {
        tracing::error!(chat, "cannot queue a reply: {e}");
    }
}

fn lang_of_user(user: Option<&User>, requester: Option<&Profile>, default: Language) -> Language {
    requester
        .map(|r| r.language)
        .or_else(|| Language::from_telegram(user.and_then(|u| u.language_code.as_deref())))
        .unwrap_or(default)
}

async fn main_menu(ctx: &Ctx, lang: Language) -> Markup {
    Markup::Keyboard(vec![
        vec![
            txt(ctx, lang, "menu.new", &[]).await,
            txt(ctx, lang, "menu.my", &[]).await,
        ],
        vec![
            txt(ctx, lang, "menu.ask", &[]).await,
            txt(ctx, lang, "menu.urgent", &[]).await,
        ],
        vec![txt(ctx, lang, "menu.about", &[]).await],
    ])
}

/// Which main-menu button a text is, in any language.
fn menu_choice(text: &str) -> Option<&'static str> {
    [
        "menu.new",
        "menu.my",
        "menu.ask",
        "menu.urgent",
        "menu.about",
    ]
    .into_iter()
    .find(|key| {
        Language::ALL
            .iter()
            .any(|&l| crate::domain::texts::default_text(l, key) == text)
    })
}

/// Every message: logged, then routed by chat.
pub async fn on_message(msg: Message, ctx: Ctx) -> HandlerResult {
    let chat = msg.chat.id.0;
    let user_id = msg.from.as_ref().map(|u| u.id.0 as i64);
    let logged = msg
        .text()
        .or(msg.caption())
        .unwrap_or("[media]")
        .to_string();
    let _ = svc(&ctx, move |s| {
        s.log_message(Direction::In, chat, user_id, &logged)
    })
    .await;
    if ctx.cfg.staff_chat_id != 0 && chat == ctx.cfg.staff_chat_id {
        return staff_group_message(&msg, &ctx).await;
    }
    if !msg.chat.is_private() {
        return Ok(());
    }
    private_message(&msg, &ctx).await
}

async fn private_message(msg: &Message, ctx: &Ctx) -> HandlerResult {
    let Some(user) = msg.from.as_ref() else {
        return Ok(());
    };
    let tg_id = user.id.0 as i64;
    let chat = msg.chat.id.0;
    let requester = svc(ctx, move |s| Ok(s.read()?.requester(tg_id)?)).await?;
    let lang = lang_of_user(
        Some(user),
        requester.as_ref(),
        ctx.svc.config().default_language,
    );
    if requester.as_ref().is_some_and(|r| r.blocked) {
        say(
            ctx,
            chat,
            txt(ctx, lang, "bot.blocked", &[]).await,
            Markup::None,
        )
        .await;
        return Ok(());
    }
    if let Some(r) = &requester
        && !r.active
    {
        // They wrote again after blocking the bot: deliver to them again.
        let _ = svc(ctx, move |s| s.set_requester_active(tg_id, true)).await;
    }
    let dialogue = Dlg::new(ctx.storage.clone(), msg.chat.id);
    let state = dialogue.get().await.ok().flatten().unwrap_or_default();
    let text = msg.text().map(str::trim);

    if let Some(t) = text
        && t.chars().count() > MAX_INPUT
    {
        say(
            ctx,
            chat,
            txt(
                ctx,
                lang,
                "bot.too_long",
                &[("max", &MAX_INPUT.to_string())],
            )
            .await,
            Markup::None,
        )
        .await;
        return Ok(());
    }

    // Commands work in every state.
    if let Some(t) = text
        && t.starts_with('/')
    {
        let (cmd, arg) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
        let cmd = cmd.split('@').next().unwrap_or(cmd);
        match cmd {
            "/start" => {
                if requester.is_none() {
                    dialogue.update(State::RegName).await?;
                    say(
                        ctx,
                        chat,
                        txt(ctx, lang, "bot.welcome", &[]).await,
                        Markup::RemoveKeyboard,
                    )
                    .await;
                } else {
                    dialogue.exit().await?;
                    say(
                        ctx,
                        chat,
                        txt(ctx, lang, "bot.menu", &[]).await,
                        main_menu(ctx, lang).await,
                    )
                    .await;
                    if let Some(url) = &ctx.cfg.miniapp_url {
                        let button = txt(ctx, lang, "btn.open_app", &[]).await;
                        let markup = super::miniapp::open_button(url, button);
                        say(ctx, chat, txt(ctx, lang, "bot.open_app", &[]).await, markup).await;
                    }
                }
                return Ok(());
            }
            "/help" => {
                let mut help = txt(ctx, lang, "bot.help", &[]).await;
                if super::staff_actor(&ctx.svc, tg_id).is_some() {
                    help.push_str("\n\n");
                    help.push_str(&txt(ctx, lang, "bot.help_staff", &[]).await);
                }
                say(ctx, chat, help, Markup::None).await;
                return Ok(());
            }
            "/cancel" => {
                dialogue.exit().await?;
                let markup = if requester.is_some() {
                    main_menu(ctx, lang).await
                } else {
                    Markup::RemoveKeyboard
                };
                say(
                    ctx,
                    chat,
                    txt(ctx, lang, "bot.cancelled", &[]).await,
                    markup,
                )
                .await;
                return Ok(());
            }
            "/queue" => {
                return match super::staff_actor(&ctx.svc, tg_id) {
                    Some(_) => queue(ctx, chat, lang, None).await,
                    None => reprompt(ctx, chat, lang, "bot.forbidden").await,
                };
            }
            "/broadcast" => {
                return match super::staff_actor(&ctx.svc, tg_id) {
                    Some(a) if role::allowed(a.role(), Action::Broadcast, None) => {
                        dialogue.update(State::BroadcastCompose).await?;
                        reprompt(ctx, chat, lang, "bot.bc_compose").await
                    }
                    _ => reprompt(ctx, chat, lang, "bot.forbidden").await,
                };
            }
            "/digest" => {
                return match super::staff_actor(&ctx.svc, tg_id) {
                    Some(a @ Actor::Staff { .. }) => {
                        let on = !matches!(arg.trim(), "off" | "0" | "stop");
                        let login = match &a {
                            Actor::Staff { login, .. } => login.clone(),
                            _ => unreachable!("matched above"),
                        };
                        svc(ctx, move |s| s.set_digest_subscription(&a, &login, on)).await?;
                        reprompt(
                            ctx,
                            chat,
                            lang,
                            if on {
                                "bot.digest_on"
                            } else {
                                "bot.digest_off"
                            },
                        )
                        .await
                    }
                    _ => reprompt(ctx, chat, lang, "bot.forbidden").await,
                };
            }
            "/staff" => {
                return match super::staff_actor(&ctx.svc, tg_id) {
                    Some(a) if role::allowed(a.role(), Action::ManageStaff, None) => {
                        staff_command(ctx, chat, lang, a, arg).await
                    }
                    _ => reprompt(ctx, chat, lang, "bot.forbidden").await,
                };
            }
            _ => {}
        }
        if requester.is_none() {
            say(
                ctx,
                chat,
                txt(ctx, lang, "bot.need_start", &[]).await,
                Markup::None,
            )
            .await;
            return Ok(());
        }
        match cmd {
            "/new" => return start_new_ticket(ctx, &dialogue, chat, lang).await,
            "/my" => return my_tickets(ctx, chat, tg_id, lang).await,
            "/status" => return status(ctx, chat, tg_id, lang, arg.trim()).await,
            "/email" => {
                let addr = arg.trim().to_string();
                let clear = addr.is_empty() || addr == "-";
                let a = addr.clone();
                let r = svc(ctx, move |s| {
                    s.set_requester_email(
                        &Actor::Requester { tg_id },
                        tg_id,
                        if clear { None } else { Some(&a) },
                    )
                })
                .await;
                let text = match r {
                    Ok(_) if clear => txt(ctx, lang, "bot.email_cleared", &[]).await,
                    Ok(_) => txt(ctx, lang, "bot.email_set", &[("email", &addr)]).await,
                    Err(e) => e.to_string(),
                };
                say(ctx, chat, text, Markup::None).await;
                return Ok(());
            }
            _ => {
                say(
                    ctx,
                    chat,
                    txt(ctx, lang, "bot.unknown_command", &[]).await,
                    Markup::None,
                )
                .await;
                return Ok(());
            }
        }
    }

    // A broadcast being written (staff need not be registered requesters).
    if state == State::BroadcastCompose {
        return broadcast_compose(ctx, &dialogue, msg, chat, lang).await;
    }

    // Registration.
    match (&state, requester.is_some()) {
        (State::RegName, _) => {
            let Some(t) = text else {
                return reprompt(ctx, chat, lang, "bot.welcome").await;
            };
            match validate::person_name(t) {
                Ok(name) => {
                    dialogue.update(State::RegPhone { name }).await?;
                    let label = txt(ctx, lang, "bot.share_phone", &[]).await;
                    say(
                        ctx,
                        chat,
                        txt(ctx, lang, "bot.ask_phone", &[]).await,
                        Markup::RequestContact(label),
                    )
                    .await;
                }
                Err(e) => {
                    say(
                        ctx,
                        chat,
                        format!("{e}\n{}", txt(ctx, lang, "bot.welcome", &[]).await),
                        Markup::None,
                    )
                    .await
                }
            }
            return Ok(());
        }
        (State::RegPhone { name }, _) => {
            let typed = match (msg.contact(), text) {
                (Some(c), _)
                    if c.user_id.map(|u| u.0 as i64) == Some(tg_id) || c.user_id.is_none() =>
                {
                    Some(c.phone_number.clone())
                }
                (None, Some(t)) => Some(t.to_string()),
                _ => None,
            };
            let Some(raw) = typed else {
                return reprompt(ctx, chat, lang, "bot.ask_phone").await;
            };
            match validate::phone(&raw) {
                Ok(phone) => {
                    if ctx.cfg.departments.is_empty() {
                        return finish_registration(
                            ctx,
                            &dialogue,
                            user,
                            name.clone(),
                            phone,
                            None,
                            lang,
                        )
                        .await;
                    }
                    dialogue
                        .update(State::RegDepartment {
                            name: name.clone(),
                            phone,
                        })
                        .await?;
                    let rows = ctx
                        .cfg
                        .departments
                        .iter()
                        .enumerate()
                        .map(|(i, d)| vec![(d.clone(), cb(Callback::Dialog(format!("dep:{i}"))))])
                        .collect();
                    say(
                        ctx,
                        chat,
                        txt(ctx, lang, "bot.ask_department", &[]).await,
                        Markup::inline(rows),
                    )
                    .await;
                }
                Err(e) => {
                    let label = txt(ctx, lang, "bot.share_phone", &[]).await;
                    say(
                        ctx,
                        chat,
                        format!("{e}\n{}", txt(ctx, lang, "bot.ask_phone", &[]).await),
                        Markup::RequestContact(label),
                    )
                    .await
                }
            }
            return Ok(());
        }
        (State::RegDepartment { .. }, _) => {
            return reprompt(ctx, chat, lang, "bot.ask_department").await;
        }
        (_, false) => {
            dialogue.update(State::RegName).await?;
            say(
                ctx,
                chat,
                txt(ctx, lang, "bot.welcome", &[]).await,
                Markup::RemoveKeyboard,
            )
            .await;
            return Ok(());
        }
        _ => {}
    }

    // A reply to one of the bot's messages about ticket #N continues that ticket's
    // conversation (outside a half-written ticket).
    if matches!(
        state,
        State::Idle | State::Question | State::FaqAnswered { .. }
    ) && let Some(t) = text
        && let Some(n) = msg
            .reply_to_message()
            .filter(|r| r.from.as_ref().is_some_and(|f| f.is_bot))
            .and_then(|r| r.text().or(r.caption()))
            .and_then(ticket_number_in)
    {
        let open = svc(ctx, move |s| {
            Ok(s.read()?
                .ticket(n)?
                .filter(|t| t.requester == Some(tg_id) && t.status.is_open()))
        })
        .await?;
        if let Some(ticket) = open {
            let body = t.to_string();
            let id = ticket.id;
            let text = match svc(ctx, move |s| s.requester_message(tg_id, id, &body)).await {
                Ok(_) => txt(ctx, lang, "bot.added_to", &[("n", &ticket.number())]).await,
                Err(e) => e.to_string(),
            };
            say(ctx, chat, text, Markup::None).await;
            return Ok(());
        }
    }

    // Main menu buttons work from anywhere outside a half-written ticket.
    if let Some(t) = text
        && let Some(choice) = menu_choice(t)
    {
        dialogue.exit().await?;
        return match choice {
            "menu.new" => start_new_ticket(ctx, &dialogue, chat, lang).await,
            "menu.my" => my_tickets(ctx, chat, tg_id, lang).await,
            "menu.ask" => {
                dialogue.update(State::Question).await?;
                say(
                    ctx,
                    chat,
                    txt(ctx, lang, "bot.ask_question", &[]).await,
                    Markup::None,
                )
                .await;
                Ok(())
            }
            "menu.urgent" => urgent(ctx, chat, tg_id, lang).await,
            _ => {
                say(
                    ctx,
                    chat,
                    txt(ctx, lang, "bot.about", &[]).await,
                    main_menu(ctx, lang).await,
                )
                .await;
                Ok(())
            }
        };
    }

    match state {
        State::Printer { mut draft } => {
            let Some(t) = text else {
                return reprompt(ctx, chat, lang, "bot.ask_printer").await;
            };
            // A known model (any spelling of its case) with nothing on the shelf is told so.
            let known = known_printer_models(ctx).await;
            let Some(model) = known.into_iter().find(|m| m.eq_ignore_ascii_case(t.trim())) else {
                return ask_printer(ctx, chat, lang, Some("bot.unknown_printer")).await;
            };
            if items_for(ctx, &model).await?.is_empty() {
                return ask_printer(ctx, chat, lang, Some("bot.no_stock_for_printer")).await;
            }
            draft.printer = Some(model);
            ask_item(ctx, &dialogue, chat, lang, draft, None).await
        }
        State::Quantity { mut draft } => {
            // The item's stock may have changed since it was chosen: check it again.
            let Some(item) = chosen_item(ctx, &draft).await? else {
                return ask_item(ctx, &dialogue, chat, lang, draft, Some("bot.item_gone")).await;
            };
            let max = item.orderable();
            match text.map(|t| t.parse::<i64>()) {
                Some(Ok(q)) if (1..=i64::from(max)).contains(&q) => {
                    draft.quantity = Some(q as u32);
                    ask_description(ctx, &dialogue, chat, lang, draft).await
                }
                Some(Ok(q)) if q > i64::from(max) && i64::from(max) == item.quantity => {
                    let (stock, max) = (item.quantity.to_string(), max.to_string());
                    say(
                        ctx,
                        chat,
                        txt(
                            ctx,
                            lang,
                            "bot.qty_over_stock",
                            &[("stock", &stock), ("max", &max)],
                        )
                        .await,
                        back_cancel(ctx, lang).await,
                    )
                    .await;
                    Ok(())
                }
                _ => {
                    say(
                        ctx,
                        chat,
                        txt(ctx, lang, "bot.bad_qty", &[("max", &max.to_string())]).await,
                        back_cancel(ctx, lang).await,
                    )
                    .await;
                    Ok(())
                }
            }
        }
        State::Description { mut draft } => {
            let Some(t) = text.filter(|t| !t.is_empty()) else {
                return reprompt(ctx, chat, lang, "bot.ask_description").await;
            };
            draft.description = t.to_string();
            ask_priority(ctx, &dialogue, chat, lang, draft).await
        }
        State::Attachments { mut draft } => {
            match attachment_of(msg) {
                Some(Ok(a)) if draft.attachments.len() < 10 => {
                    draft.attachments.push(a);
                    let n = draft.attachments.len().to_string();
                    dialogue.update(State::Attachments { draft }).await?;
                    say(
                        ctx,
                        chat,
                        txt(ctx, lang, "bot.attached", &[("n", &n)]).await,
                        attachments_buttons(ctx, lang).await,
                    )
                    .await;
                }
                Some(Err(())) => {
                    say(
                        ctx,
                        chat,
                        txt(ctx, lang, "bot.unsupported_media", &[]).await,
                        Markup::None,
                    )
                    .await;
                }
                _ => return reprompt(ctx, chat, lang, "bot.ask_attachments").await,
            }
            Ok(())
        }
        State::Category | State::Item { .. } | State::Priority { .. } | State::Confirm { .. } => {
            // These steps are answered with buttons; say so again.
            let key = match state {
                State::Category => "bot.choose_category",
                State::Item { .. } => "bot.ask_item",
                State::Priority { .. } => "bot.ask_priority",
                _ => "bot.confirm",
            };
            reprompt(ctx, chat, lang, key).await
        }
        State::Question | State::Idle | State::FaqAnswered { .. } => {
            if let Some(t) = text {
                free_text(ctx, &dialogue, chat, tg_id, lang, t).await
            } else if attachment_of(msg).is_some() {
                // A file outside a dialogue joins the open conversation, if any.
                say(
                    ctx,
                    chat,
                    txt(ctx, lang, "bot.menu", &[]).await,
                    main_menu(ctx, lang).await,
                )
                .await;
                Ok(())
            } else {
                say(
                    ctx,
                    chat,
                    txt(ctx, lang, "bot.unsupported_media", &[]).await,
                    Markup::None,
                )
                .await;
                Ok(())
            }
        }
        State::RegName | State::RegPhone { .. } | State::RegDepartment { .. } => Ok(()),
        State::BroadcastCompose | State::BroadcastConfirm { .. } => {
            reprompt(ctx, chat, lang, "bot.bc_compose").await
        }
    }
}

/// The first ticket number (`#N`) in a text.
fn ticket_number_in(text: &str) -> Option<u64> {
    text.split('#').skip(1).find_map(|rest| {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u64>().ok().filter(|&n| n > 0)
    })
}

/// `/staff` in a private chat (superadmins and admins).
async fn staff_command(
    ctx: &Ctx,
    chat: i64,
    lang: Language,
    actor: Actor,
    arg: &str,
) -> HandlerResult {
    let words: Vec<&str> = arg.split_whitespace().collect();
    let reply = match words.as_slice() {
        [] => {
            let list = svc(ctx, |s| Ok(s.read()?.staff_all()?)).await?;
            let mut text = String::new();
            for st in list {
                let tg = st
                    .telegram_id
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "—".into());
                text.push_str(&format!(
                    "{} · {} · {} · tg {}\n",
                    st.login, st.display_name, st.role, tg
                ));
            }
            text.push('\n');
            text.push_str(&txt(ctx, lang, "bot.staff_usage", &[]).await);
            text
        }
        ["add", id, role] => {
            let (Some(id), Some(role)) = (
                id.parse::<i64>().ok(),
                Role::parse(role).filter(|r| r.is_staff()),
            ) else {
                return reprompt(ctx, chat, lang, "bot.staff_usage").await;
            };
            match svc(ctx, move |s| s.add_staff_telegram(&actor, id, role)).await {
                Ok(st) => {
                    txt(
                        ctx,
                        lang,
                        "bot.staff_added",
                        &[("id", &id.to_string()), ("role", st.role.as_str())],
                    )
                    .await
                }
                Err(e) => refusal(ctx, lang, &e).await,
            }
        }
        ["remove", id] => {
            let Some(id) = id.parse::<i64>().ok() else {
                return reprompt(ctx, chat, lang, "bot.staff_usage").await;
            };
            let r = svc(ctx, move |s| {
                let st = s.read()?.staff_by_telegram(id)?.ok_or_else(|| {
                    ServiceError::NotFound(format!("staff with Telegram id {id}"))
                })?;
                s.remove_staff(&actor, &st.login)
            })
            .await;
            match r {
                Ok(_) => txt(ctx, lang, "bot.staff_removed", &[("id", &id.to_string())]).await,
                Err(e) => refusal(ctx, lang, &e).await,
            }
        }
        _ => txt(ctx, lang, "bot.staff_usage", &[]).await,
    };
    say(ctx, chat, reply, Markup::None).await;
    Ok(())
}

/// A refused service call as the bot says it: a missing permission in the user's language,
/// anything else as the service worded it.
async fn refusal(ctx: &Ctx, lang: Language, e: &ServiceError) -> String {
    if e.kind() == "forbidden" {
        txt(ctx, lang, "bot.forbidden", &[]).await
    } else {
        e.to_string()
    }
}

/// The broadcast text (or a photo/document with a caption) arrived: preview it.
async fn broadcast_compose(
    ctx: &Ctx,
    dialogue: &Dlg,
    msg: &Message,
    chat: i64,
    lang: Language,
) -> HandlerResult {
    let media = match attachment_of(msg) {
        Some(Ok(a)) if a.kind == "photo" || a.kind == "document" => Some(Media {
            kind: a.kind,
            file_id: a.file_id,
        }),
        Some(_) => return reprompt(ctx, chat, lang, "bot.unsupported_media").await,
        None => None,
    };
    let text = msg
        .text()
        .or(msg.caption())
        .unwrap_or("")
        .trim()
        .to_string();
    if text.is_empty() && media.is_none() {
        return reprompt(ctx, chat, lang, "bot.bc_compose").await;
    }
    let n = svc(ctx, |s| {
        Ok(s.read()?
            .requesters()?
            .iter()
            .filter(|r| r.active && !r.blocked)
            .count())
    })
    .await?;
    dialogue
        .update(State::BroadcastConfirm {
            text: text.clone(),
            media: media.clone(),
        })
        .await?;
    // The preview: the message exactly as recipients will get it, then the question.
    let preview = text.clone();
    let m = media.clone();
    let _ = svc(ctx, move |s| {
        s.queue_telegram(chat, &preview, Markup::None, m)
    })
    .await;
    let markup = Markup::inline(vec![vec![
        (
            txt(ctx, lang, "btn.bc_send", &[]).await,
            cb(Callback::Dialog("bc_send".into())),
        ),
        (
            txt(ctx, lang, "btn.cancel", &[]).await,
            cb(Callback::Dialog("cancel".into())),
        ),
    ]]);
    say(
        ctx,
        chat,
        txt(ctx, lang, "bot.bc_preview", &[("n", &n.to_string())]).await,
        markup,
    )
    .await;
    Ok(())
}

/// "Send" pressed on a previewed broadcast: queue it and report progress until it is done.
async fn broadcast_send(
    ctx: &Ctx,
    dialogue: &Dlg,
    chat: i64,
    tg_id: i64,
    lang: Language,
    text: String,
    media: Option<Media>,
) -> HandlerResult {
    let Some(actor) = super::staff_actor(&ctx.svc, tg_id) else {
        return reprompt(ctx, chat, lang, "bot.forbidden").await;
    };
    dialogue.exit().await?;
    let (batch, n) = match svc(ctx, move |s| s.broadcast(&actor, &text, media)).await {
        Ok(x) => x,
        Err(e) => {
            say(ctx, chat, e.to_string(), Markup::None).await;
            return Ok(());
        }
    };
    let (b, total) = (batch.to_string(), n.to_string());
    say(
        ctx,
        chat,
        txt(ctx, lang, "bot.bc_queued", &[("b", &b), ("n", &total)]).await,
        Markup::None,
    )
    .await;
    let ctx = ctx.clone();
    tokio::spawn(async move {
        let mut last_report = std::time::Instant::now();
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            let Ok(p) = svc(&ctx, move |s| s.broadcast_progress(batch)).await else {
                return;
            };
            if p.pending == 0 {
                let t = txt(
                    &ctx,
                    lang,
                    "bot.bc_done",
                    &[
                        ("b", &b),
                        ("d", &p.delivered.to_string()),
                        ("n", &total),
                        ("f", &p.failed.to_string()),
                    ],
                )
                .await;
                say(&ctx, chat, t, Markup::None).await;
                return;
            }
            if last_report.elapsed() >= std::time::Duration::from_secs(10) {
                last_report = std::time::Instant::now();
                let t = txt(
                    &ctx,
                    lang,
                    "bot.bc_progress",
                    &[("b", &b), ("d", &p.delivered.to_string()), ("n", &total)],
                )
                .await;
                say(&ctx, chat, t, Markup::None).await;
            }
        }
    });
    Ok(())
}

async fn reprompt(ctx: &Ctx, chat: i64, lang: Language, key: &'static str) -> HandlerResult {
    say(ctx, chat, txt(ctx, lang, key, &[]).await, Markup::None).await;
    Ok(())
}

async fn finish_registration(
    ctx: &Ctx,
    dialogue: &Dlg,
    user: &User,
    name: String,
    phone: String,
    department: Option<String>,
    lang: Language,
) -> HandlerResult {
    let tg_id = user.id.0 as i64;
    let chat = tg_id;
    let username = user.username.clone();
    let telegram_lang = Language::from_telegram(user.language_code.as_deref());
    let r = svc(ctx, move |s| {
        s.register_requester(
            tg_id,
            &name,
            Some(&phone),
            department.as_deref(),
            telegram_lang,
            username.as_deref(),
        )
    })
    .await;
    match r {
        Ok(r) => {
            dialogue.exit().await?;
            say(
                ctx,
                chat,
                txt(ctx, lang, "bot.registered", &[("name", &r.name)]).await,
                main_menu(ctx, lang).await,
            )
            .await;
        }
        Err(e) => say(ctx, chat, e.to_string(), Markup::None).await,
    }
    Ok(())
}

/// A file of a supported kind, `Err` for an unsupported one, `None` for no file.
fn attachment_of(msg: &Message) -> Option<Result<Attachment, ()>> {
    let MessageKind::Common(common) = &msg.kind else {
        return None;
    };
    match &common.media_kind {
        MediaKind::Photo(p) => {
            let best = p.photo.iter().max_by_key(|s| s.width * s.height)?;
            Some(Ok(Attachment {
                file_id: best.file.id.0.clone(),
                kind: "photo".into(),
                name: "photo.jpg".into(),
            }))
        }
        MediaKind::Document(d) => Some(Ok(Attachment {
            file_id: d.document.file.id.0.clone(),
            kind: "document".into(),
            name: d
                .document
                .file_name
                .clone()
                .unwrap_or_else(|| "document".into()),
        })),
        MediaKind::Voice(v) => Some(Ok(Attachment {
            file_id: v.voice.file.id.0.clone(),
            kind: "voice".into(),
            name: "voice.ogg".into(),
        })),
        MediaKind::Text(_) | MediaKind::Contact(_) => None,
        _ => Some(Err(())),
    }
}

async fn back_cancel(ctx: &Ctx, lang: Language) -> Markup {
    Markup::inline(vec![vec![
        (
            txt(ctx, lang, "btn.back", &[]).await,
            cb(Callback::Dialog("back".into())),
        ),
        (
            txt(ctx, lang, "btn.cancel", &[]).await,
            cb(Callback::Dialog("cancel".into())),
        ),
    ]])
}

async fn with_back_cancel(
    ctx: &Ctx,
    lang: Language,
    mut rows: Vec<Vec<(String, String)>>,
) -> Markup {
    rows.push(vec![
        (
            txt(ctx, lang, "btn.back", &[]).await,
            cb(Callback::Dialog("back".into())),
        ),
        (
            txt(ctx, lang, "btn.cancel", &[]).await,
            cb(Callback::Dialog("cancel".into())),
        ),
    ]);
    Markup::inline(rows)
}

async fn start_new_ticket(ctx: &Ctx, dialogue: &Dlg, chat: i64, lang: Language) -> HandlerResult {
    dialogue.update(State::Category).await?;
    let mut rows = Vec::new();
    let cats: Vec<Category> = Category::ALL
        .into_iter()
        .filter(|c| *c != Category::Conversation)
        .collect();
    for pair in cats.chunks(2) {
        let mut row = Vec::new();
        for c in pair {
            row.push((
                txt(ctx, lang, cat_key(*c), &[]).await,
                cb(Callback::Dialog(format!("cat:{}", c.as_str()))),
            ));
        }
        rows.push(row);
    }
    rows.push(vec![(
        txt(ctx, lang, "btn.cancel", &[]).await,
        cb(Callback::Dialog("cancel".into())),
    )]);
    say(
        ctx,
        chat,
        txt(ctx, lang, "bot.choose_category", &[]).await,
        Markup::inline(rows),
    )
    .await;
    Ok(())
}

fn cat_key(c: Category) -> &'static str {
    match c {
        Category::Hardware => "cat.hardware",
        Category::Software => "cat.software",
        Category::Network => "cat.network",
        Category::Printer => "cat.printer",
        Category::CartridgeOrder => "cat.cartridge_order",
        Category::Access => "cat.access",
        Category::Conversation => "cat.conversation",
        Category::Other => "cat.other",
    }
}

fn prio_key(p: Priority) -> &'static str {
    match p {
        Priority::Low => "prio.low",
        Priority::Normal => "prio.normal",
        Priority::High => "prio.high",
        Priority::Critical => "prio.critical",
    }
}

/// Printer models named by any stock item, sorted, one spelling each.
async fn known_printer_models(ctx: &Ctx) -> Vec<String> {
    models_of(ctx, false).await
}

/// Printer models for which some fitting item is in stock: the ones offered as buttons.
async fn printer_models(ctx: &Ctx) -> Vec<String> {
    svc(ctx, |s| s.printer_models(true))
        .await
        .unwrap_or_default()
}

async fn models_of(ctx: &Ctx, in_stock_only: bool) -> Vec<String> {
    svc(ctx, move |s| s.printer_models(in_stock_only))
        .await
        .unwrap_or_default()
}

/// Callback data naming a choice by its value when it fits in 64 bytes, else by its position
/// (`prn:`/`itm:` + value, `prn#`/`itm#` + index). By value, a list that changed between
/// showing and pressing cannot make a press pick a different entry.
fn choice_data(prefix: &str, value: &str, index: usize) -> String {
    Callback::Dialog(format!("{prefix}:{value}"))
        .encode()
        .unwrap_or_else(|| cb(Callback::Dialog(format!("{prefix}#{index}"))))
}

/// The entry of `list` a `choice_data` press names (`rest` is what follows the prefix).
fn pick<'a, T>(list: &'a [T], rest: &str, key: impl Fn(&T) -> &str) -> Option<&'a T> {
    if let Some(v) = rest.strip_prefix(':') {
        return list.iter().find(|x| key(x) == v);
    }
    let i = rest.strip_prefix('#')?.parse::<usize>().ok()?;
    list.get(i)
}

async fn ask_printer(
    ctx: &Ctx,
    chat: i64,
    lang: Language,
    prefix: Option<&'static str>,
) -> HandlerResult {
    let models = printer_models(ctx).await;
    let rows = models
        .iter()
        .take(MAX_BUTTONS)
        .enumerate()
        .map(|(i, m)| vec![(m.clone(), choice_data("prn", m, i))])
        .collect();
    let mut text = txt(ctx, lang, "bot.ask_printer", &[]).await;
    if models.is_empty() {
        text = txt(ctx, lang, "bot.no_stock_at_all", &[]).await;
    }
    if let Some(p) = prefix {
        text = format!("{}\n{text}", txt(ctx, lang, p, &[]).await);
    }
    say(ctx, chat, text, with_back_cancel(ctx, lang, rows).await).await;
    Ok(())
}

async fn ask_item(
    ctx: &Ctx,
    dialogue: &Dlg,
    chat: i64,
    lang: Language,
    draft: Draft,
    prefix: Option<&'static str>,
) -> HandlerResult {
    let items = items_for(ctx, draft.printer.as_deref().unwrap_or_default()).await?;
    if items.is_empty() {
        // Everything for this printer ran out meanwhile: choose the printer again.
        dialogue.update(State::Printer { draft }).await?;
        return ask_printer(ctx, chat, lang, Some("bot.no_stock_for_printer")).await;
    }
    dialogue.update(State::Item { draft }).await?;
    let rows = items
        .iter()
        .take(MAX_BUTTONS)
        .enumerate()
        .map(|(i, it)| {
            vec![(
                format!("{} ({})", it.name, it.quantity),
                choice_data("itm", &it.sku, i),
            )]
        })
        .collect();
    let mut text = txt(ctx, lang, "bot.ask_item", &[]).await;
    if let Some(p) = prefix {
        text = format!("{}\n{text}", txt(ctx, lang, p, &[]).await);
    }
    say(ctx, chat, text, with_back_cancel(ctx, lang, rows).await).await;
    Ok(())
}

/// Stock items that fit printer `model` and are in stock.
async fn items_for(ctx: &Ctx, model: &str) -> Result<Vec<StockItem>, ServiceError> {
    let model = model.to_string();
    svc(ctx, move |s| s.items_fitting(&model)).await
}

/// The item a draft names, if it still fits the printer and is in stock.
async fn chosen_item(ctx: &Ctx, draft: &Draft) -> Result<Option<StockItem>, ServiceError> {
    let items = items_for(ctx, draft.printer.as_deref().unwrap_or_default()).await?;
    Ok(items
        .into_iter()
        .find(|i| Some(&i.sku) == draft.sku.as_ref()))
}

/// Asks how many of the chosen item (at most what is in stock).
async fn ask_quantity(
    ctx: &Ctx,
    dialogue: &Dlg,
    chat: i64,
    lang: Language,
    draft: Draft,
) -> HandlerResult {
    let Some(item) = chosen_item(ctx, &draft).await? else {
        return ask_item(ctx, dialogue, chat, lang, draft, Some("bot.item_gone")).await;
    };
    dialogue.update(State::Quantity { draft }).await?;
    let max = item.orderable().to_string();
    say(
        ctx,
        chat,
        txt(
            ctx,
            lang,
            "bot.ask_qty",
            &[("max", &max), ("item", &item.name)],
        )
        .await,
        back_cancel(ctx, lang).await,
    )
    .await;
    Ok(())
}

/// Answers with an FAQ entry and asks whether it helped; counts the answer.
async fn send_faq_answer(ctx: &Ctx, chat: i64, lang: Language, e: &crate::domain::FaqEntry) {
    let id = e.id;
    let _ = svc(ctx, move |s| s.faq_feedback(id, None)).await;
    let markup = Markup::inline(vec![vec![
        (
            txt(ctx, lang, "btn.yes", &[]).await,
            cb(Callback::FaqHelpful(id)),
        ),
        (
            txt(ctx, lang, "btn.no", &[]).await,
            cb(Callback::FaqNotHelpful(id)),
        ),
    ]]);
    let text = format!(
        "{}\n\n{}",
        e.answer,
        txt(ctx, lang, "bot.faq_helped", &[]).await
    );
    say(ctx, chat, text, markup).await;
}

async fn ask_description(
    ctx: &Ctx,
    dialogue: &Dlg,
    chat: i64,
    lang: Language,
    draft: Draft,
) -> HandlerResult {
    dialogue.update(State::Description { draft }).await?;
    say(
        ctx,
        chat,
        txt(ctx, lang, "bot.ask_description", &[]).await,
        back_cancel(ctx, lang).await,
    )
    .await;
    Ok(())
}

async fn ask_priority(
    ctx: &Ctx,
    dialogue: &Dlg,
    chat: i64,
    lang: Language,
    draft: Draft,
) -> HandlerResult {
    dialogue.update(State::Priority { draft }).await?;
    let mut rows = Vec::new();
    for p in Priority::ALL {
        rows.push(vec![(
            txt(ctx, lang, prio_key(p), &[]).await,
            cb(Callback::Dialog(format!("pri:{}", p.as_str()))),
        )]);
    }
    say(
        ctx,
        chat,
        txt(ctx, lang, "bot.ask_priority", &[]).await,
        with_back_cancel(ctx, lang, rows).await,
    )
    .await;
    Ok(())
}

async fn attachments_buttons(ctx: &Ctx, lang: Language) -> Markup {
    with_back_cancel(
        ctx,
        lang,
        vec![vec![(
            txt(ctx, lang, "btn.done", &[]).await,
            cb(Callback::Dialog("done".into())),
        )]],
    )
    .await
}

async fn ask_attachments(
    ctx: &Ctx,
    dialogue: &Dlg,
    chat: i64,
    lang: Language,
    draft: Draft,
) -> HandlerResult {
    dialogue.update(State::Attachments { draft }).await?;
    say(
        ctx,
        chat,
        txt(ctx, lang, "bot.ask_attachments", &[]).await,
        attachments_buttons(ctx, lang).await,
    )
    .await;
    Ok(())
}

async fn ask_confirm(
    ctx: &Ctx,
    dialogue: &Dlg,
    chat: i64,
    lang: Language,
    draft: Draft,
) -> HandlerResult {
    let mut summary = format!("{}\n", txt(ctx, lang, cat_key(draft.category), &[]).await);
    if let (Some(p), Some(sku)) = (&draft.printer, &draft.sku) {
        summary.push_str(&format!("🖨 {p}: {sku} × {}\n", draft.quantity.unwrap_or(1)));
    }
    summary.push_str(&draft.description);
    if let Some(p) = draft.priority {
        summary.push_str(&format!("\n⏱ {}", txt(ctx, lang, prio_key(p), &[]).await));
    }
    if !draft.attachments.is_empty() {
        summary.push_str(&format!("\n📎 {}", draft.attachments.len()));
    }
    dialogue.update(State::Confirm { draft }).await?;
    let markup = with_back_cancel(
        ctx,
        lang,
        vec![vec![(
            txt(ctx, lang, "btn.send", &[]).await,
            cb(Callback::Dialog("send".into())),
        )]],
    )
    .await;
    say(
        ctx,
        chat,
        txt(ctx, lang, "bot.confirm", &[("summary", &summary)]).await,
        markup,
    )
    .await;
    Ok(())
}

/// A button pressed inside the dialogue.
async fn dialog_choice(
    ctx: &Ctx,
    q: &CallbackQuery,
    choice: &str,
    lang: Language,
) -> HandlerResult {
    let Some(chat) = q.message.as_ref().map(|m| m.chat().id) else {
        return Ok(());
    };
    let dialogue = Dlg::new(ctx.storage.clone(), chat);
    let chat = chat.0;
    let state = dialogue.get().await.ok().flatten().unwrap_or_default();
    let tg_id = q.from.id.0 as i64;
    if choice == "cancel" {
        dialogue.exit().await?;
        say(
            ctx,
            chat,
            txt(ctx, lang, "bot.cancelled", &[]).await,
            main_menu(ctx, lang).await,
        )
        .await;
        return Ok(());
    }
    if let Some(rest) = choice.strip_prefix("faq_none") {
        let _ = rest;
        let question = match state {
            State::FaqAnswered { question } => question,
            _ => return stale_dialog(ctx, chat, lang).await,
        };
        dialogue.exit().await?;
        return hand_over(ctx, chat, tg_id, lang, &question).await;
    }
    match (state, choice) {
        (State::RegDepartment { name, phone }, c) if c.starts_with("dep:") => {
            let Some(dep) = c[4..]
                .parse::<usize>()
                .ok()
                .and_then(|i| ctx.cfg.departments.get(i).cloned())
            else {
                return stale_dialog(ctx, chat, lang).await;
            };
            finish_registration(ctx, &dialogue, &q.from, name, phone, Some(dep), lang).await
        }
        (State::Category, c) if c.starts_with("cat:") => {
            let Some(category) = Category::parse(&c[4..]).filter(|c| *c != Category::Conversation)
            else {
                return stale_dialog(ctx, chat, lang).await;
            };
            let draft = Draft::new(category);
            if category == Category::CartridgeOrder {
                dialogue.update(State::Printer { draft }).await?;
                ask_printer(ctx, chat, lang, None).await
            } else {
                ask_description(ctx, &dialogue, chat, lang, draft).await
            }
        }
        (State::Printer { mut draft }, c) if c.starts_with("prn") => {
            let models = printer_models(ctx).await;
            let Some(model) = pick(&models, &c[3..], |m| m.as_str()).cloned() else {
                return stale_then(ctx, q, lang, State::Printer { draft }, chat, &dialogue).await;
            };
            draft.printer = Some(model);
            ask_item(ctx, &dialogue, chat, lang, draft, None).await
        }
        (State::Item { mut draft }, c) if c.starts_with("itm") => {
            let items = items_for(ctx, draft.printer.as_deref().unwrap_or_default()).await?;
            let Some(item) = pick(&items, &c[3..], |i| i.sku.as_str()).cloned() else {
                return stale_then(ctx, q, lang, State::Item { draft }, chat, &dialogue).await;
            };
            draft.sku = Some(item.sku);
            ask_quantity(ctx, &dialogue, chat, lang, draft).await
        }
        (State::Priority { mut draft }, c) if c.starts_with("pri:") => {
            let Some(p) = Priority::parse(&c[4..]) else {
                return stale_dialog(ctx, chat, lang).await;
            };
            draft.priority = Some(p);
            ask_attachments(ctx, &dialogue, chat, lang, draft).await
        }
        (State::Attachments { draft }, "done") => {
            ask_confirm(ctx, &dialogue, chat, lang, draft).await
        }
        (State::BroadcastConfirm { text, media }, "bc_send") => {
            broadcast_send(ctx, &dialogue, chat, tg_id, lang, text, media).await
        }
        (State::Confirm { draft }, "send") => {
            // Keyed by the confirmation message, not the callback: a redelivered update and a
            // second press of the same button (say, after a crash lost the first answer) file
            // one ticket.
            let key = match q.message.as_ref() {
                Some(m) => format!("tg:confirm:{chat}:{}", m.id().0),
                None => format!("tg:confirm:{}", q.id.0),
            };
            submit(ctx, &dialogue, chat, tg_id, lang, draft, key).await
        }
        (state, "back") => back(ctx, &dialogue, chat, lang, state).await,
        _ => stale_dialog(ctx, chat, lang).await,
    }
}

/// One step back in the new-ticket dialogue.
async fn back(ctx: &Ctx, dialogue: &Dlg, chat: i64, lang: Language, state: State) -> HandlerResult {
    match state {
        State::Printer { .. } => start_new_ticket(ctx, dialogue, chat, lang).await,
        State::Item { draft } => {
            dialogue.update(State::Printer { draft }).await?;
            ask_printer(ctx, chat, lang, None).await
        }
        State::Quantity { draft } => ask_item(ctx, dialogue, chat, lang, draft, None).await,
        State::Description { draft } => {
            if draft.category == Category::CartridgeOrder {
                ask_quantity(ctx, dialogue, chat, lang, draft).await
            } else {
                start_new_ticket(ctx, dialogue, chat, lang).await
            }
        }
        State::Priority { draft } => ask_description(ctx, dialogue, chat, lang, draft).await,
        State::Attachments { draft } => ask_priority(ctx, dialogue, chat, lang, draft).await,
        State::Confirm { draft } => ask_attachments(ctx, dialogue, chat, lang, draft).await,
        _ => {
            dialogue.exit().await?;
            say(
                ctx,
                chat,
                txt(ctx, lang, "bot.menu", &[]).await,
                main_menu(ctx, lang).await,
            )
            .await;
            Ok(())
        }
    }
}

async fn submit(
    ctx: &Ctx,
    dialogue: &Dlg,
    chat: i64,
    tg_id: i64,
    lang: Language,
    draft: Draft,
    key: String,
) -> HandlerResult {
    let subject = crate::domain::ticket::subject_from(
        &draft.description,
        &txt(ctx, lang, cat_key(draft.category), &[]).await,
    );
    let order = match (&draft.sku, draft.quantity) {
        (Some(sku), Some(q)) => vec![(sku.clone(), i64::from(q))],
        _ => vec![],
    };
    let new = NewTicket {
        requester: Some(tg_id),
        requester_name: None,
        category: draft.category,
        priority: draft.priority.unwrap_or(Priority::Normal),
        subject,
        description: draft.description.clone(),
        order,
        source: Source::Telegram,
        idempotency_key: Some(key),
        attachments: draft
            .attachments
            .iter()
            .map(|a| (a.file_id.clone(), a.kind.clone(), a.name.clone()))
            .collect(),
    };
    match svc(ctx, move |s| {
        s.create_ticket(&Actor::Requester { tg_id }, new)
    })
    .await
    {
        Ok(_) => {
            // The service queued "ticket #N created"; show the menu again.
            dialogue.exit().await?;
            say(
                ctx,
                chat,
                txt(ctx, lang, "bot.menu", &[]).await,
                main_menu(ctx, lang).await,
            )
            .await;
        }
        Err(e) => {
            say(ctx, chat, e.to_string(), back_cancel(ctx, lang).await).await;
            dialogue.update(State::Confirm { draft }).await?;
        }
    }
    Ok(())
}

/// Free text outside a dialogue: joins an open conversation, else goes to the FAQ.
async fn free_text(
    ctx: &Ctx,
    dialogue: &Dlg,
    chat: i64,
    tg_id: i64,
    lang: Language,
    text: &str,
) -> HandlerResult {
    let open = svc(ctx, move |s| {
        let f = TicketFilter {
            requester: Some(tg_id),
            category: Some(Category::Conversation),
            ..Default::default()
        };
        Ok(s.read()?
            .tickets(&f, 0, 20)?
            .tickets
            .into_iter()
            .find(|t| t.status.is_open()))
    })
    .await?;
    if let Some(t) = open {
        let body = text.to_string();
        let id = t.id;
        svc(ctx, move |s| s.requester_message(tg_id, id, &body)).await?;
        say(
            ctx,
            chat,
            txt(ctx, lang, "bot.added_to", &[("n", &t.number())]).await,
            Markup::None,
        )
        .await;
        return Ok(());
    }
    let q = text.to_string();
    let (answer, entries) = svc(ctx, move |s| s.faq_answer(&q)).await?;
    match answer {
        Answer::Confident(_) if !entries.is_empty() => {
            let e = entries[0].clone();
            dialogue
                .update(State::FaqAnswered {
                    question: text.to_string(),
                })
                .await?;
            send_faq_answer(ctx, chat, lang, &e).await;
            Ok(())
        }
        Answer::Suggestions(_) if !entries.is_empty() => {
            dialogue
                .update(State::FaqAnswered {
                    question: text.to_string(),
                })
                .await?;
            let mut rows: Vec<Vec<(String, String)>> = entries
                .iter()
                .take(3)
                .map(|e| vec![(e.question.clone(), cb(Callback::FaqPick(e.id)))])
                .collect();
            rows.push(vec![(
                txt(ctx, lang, "bot.faq_none_fit", &[]).await,
                cb(Callback::Dialog("faq_none".into())),
            )]);
            say(
                ctx,
                chat,
                txt(ctx, lang, "bot.faq_suggest", &[]).await,
                Markup::inline(rows),
            )
            .await;
            Ok(())
        }
        _ => {
            dialogue.exit().await?;
            hand_over(ctx, chat, tg_id, lang, text).await
        }
    }
}

/// Files the question as a conversation ticket for a person to answer.
async fn hand_over(
    ctx: &Ctx,
    chat: i64,
    tg_id: i64,
    lang: Language,
    question: &str,
) -> HandlerResult {
    let new = NewTicket {
        requester: Some(tg_id),
        requester_name: None,
        category: Category::Conversation,
        priority: Priority::Normal,
        subject: question.chars().take(80).collect(),
        description: question.to_string(),
        order: vec![],
        source: Source::Telegram,
        idempotency_key: None,
        attachments: vec![],
    };
    match svc(ctx, move |s| {
        s.create_ticket(&Actor::Requester { tg_id }, new)
    })
    .await
    {
        Ok(t) => {
            say(
                ctx,
                chat,
                txt(ctx, lang, "bot.handover", &[("n", &t.number())]).await,
                Markup::None,
            )
            .await
        }
        Err(e) => say(ctx, chat, e.to_string(), Markup::None).await,
    }
    Ok(())
}

async fn urgent(ctx: &Ctx, chat: i64, tg_id: i64, lang: Language) -> HandlerResult {
    let cooldown = ctx.cfg.urgent_cooldown;
    match svc(ctx, move |s| s.urgent_call(tg_id, cooldown)).await? {
        Ok(()) => {
            say(
                ctx,
                chat,
                txt(ctx, lang, "bot.urgent_sent", &[]).await,
                Markup::None,
            )
            .await
        }
        Err(left) => {
            let m = ((left + 59) / 60).max(1).to_string();
            say(
                ctx,
                chat,
                txt(ctx, lang, "bot.urgent_cooldown", &[("m", &m)]).await,
                Markup::None,
            )
            .await
        }
    }
    Ok(())
}

async fn status_word(ctx: &Ctx, lang: Language, s: TicketStatus) -> String {
    txt(ctx, lang, s.text_key(), &[]).await
}

async fn my_tickets(ctx: &Ctx, chat: i64, tg_id: i64, lang: Language) -> HandlerResult {
    let tickets = svc(ctx, move |s| {
        let f = TicketFilter {
            requester: Some(tg_id),
            ..Default::default()
        };
        Ok(s.read()?.tickets(&f, 0, 10)?.tickets)
    })
    .await?;
    if tickets.is_empty() {
        say(
            ctx,
            chat,
            txt(ctx, lang, "bot.my_none", &[]).await,
            main_menu(ctx, lang).await,
        )
        .await;
        return Ok(());
    }
    let mut text = txt(ctx, lang, "bot.my_title", &[]).await;
    let mut rows = Vec::new();
    for t in &tickets {
        let st = status_word(ctx, lang, t.status).await;
        text.push_str(&format!("\n{} — {} — {}", t.number(), st, t.subject));
        rows.push(vec![(
            format!(
                "{} {}",
                t.number(),
                t.subject.chars().take(30).collect::<String>()
            ),
            cb(Callback::MyTicket(t.id)),
        )]);
    }
    say(ctx, chat, text, Markup::inline(rows)).await;
    Ok(())
}

async fn status(ctx: &Ctx, chat: i64, tg_id: i64, lang: Language, arg: &str) -> HandlerResult {
    let Some(id) = arg
        .trim_start_matches('#')
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
    else {
        return reprompt(ctx, chat, lang, "bot.status_usage").await;
    };
    detail(ctx, chat, tg_id, lang, id).await
}

async fn detail(ctx: &Ctx, chat: i64, tg_id: i64, lang: Language, id: u64) -> HandlerResult {
    let actor = Actor::Requester { tg_id };
    let found = svc(ctx, move |s| {
        let t = s.ticket_for(&actor, id)?;
        let last = s
            .read()?
            .ticket_events(id)?
            .into_iter()
            .rev()
            .find_map(|e| match e.kind {
                EventKind::PublicReply { text } => Some(text),
                _ => None,
            });
        Ok((t, last))
    })
    .await;
    let (t, last) = match found {
        Ok(x) => x,
        Err(_) => {
            say(
                ctx,
                chat,
                txt(ctx, lang, "bot.not_found", &[("n", &format!("#{id}"))]).await,
                Markup::None,
            )
            .await;
            return Ok(());
        }
    };
    let st = status_word(ctx, lang, t.status).await;
    let nobody = txt(ctx, lang, "bot.nobody", &[]).await;
    let last = match last {
        Some(l) => txt(ctx, lang, "bot.last_reply", &[("text", &l)]).await,
        None => String::new(),
    };
    let created = chrono::DateTime::from_timestamp(t.created_at, 0)
        .map(|d| {
            d.with_timezone(&chrono_tz::Tz::UTC)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        })
        .unwrap_or_default();
    let text = txt(
        ctx,
        lang,
        "bot.detail",
        &[
            ("n", &t.number()),
            ("subject", &t.subject),
            ("status", &st),
            ("assignee", t.assignee.as_deref().unwrap_or(&nobody)),
            ("created", &created),
            ("last", &last),
        ],
    )
    .await;
    say(ctx, chat, text, Markup::None).await;
    Ok(())
}

/// `/queue`: open tickets by priority, then age.
async fn queue(ctx: &Ctx, chat: i64, lang: Language, thread: Option<i64>) -> HandlerResult {
    let mut open = svc(ctx, |s| {
        let f = TicketFilter {
            statuses: vec![
                TicketStatus::New,
                TicketStatus::Reopened,
                TicketStatus::InProgress,
                TicketStatus::WaitingRequester,
            ],
            ..Default::default()
        };
        Ok(s.read()?.tickets(&f, 0, 200)?.tickets)
    })
    .await?;
    if open.is_empty() {
        say_in(
            ctx,
            chat,
            txt(ctx, lang, "bot.queue_empty", &[]).await,
            Markup::None,
            thread,
            None,
        )
        .await;
        return Ok(());
    }
    open.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then(
                a.resolve_due
                    .unwrap_or(i64::MAX)
                    .cmp(&b.resolve_due.unwrap_or(i64::MAX)),
            )
            .then(a.id.cmp(&b.id))
    });
    let mut text = txt(ctx, lang, "bot.queue_title", &[]).await;
    for t in open.iter().take(40) {
        let st = status_word(ctx, lang, t.status).await;
        text.push_str(&format!(
            "\n{} [{}] {} — {} ({})",
            t.number(),
            t.priority.as_str(),
            t.subject.chars().take(50).collect::<String>(),
            st,
            t.assignee.as_deref().unwrap_or("—")
        ));
    }
    say_in(ctx, chat, text, Markup::None, thread, None).await;
    Ok(())
}

/// A dialogue button that no longer applies (its query is already answered): say so in the
/// chat and show the current step again.
async fn stale_then(
    ctx: &Ctx,
    _q: &CallbackQuery,
    lang: Language,
    state: State,
    chat: i64,
    dialogue: &Dlg,
) -> HandlerResult {
    let stale = txt(ctx, lang, "bot.stale", &[]).await;
    say(ctx, chat, stale, Markup::None).await;
    match state {
        State::Printer { .. } => ask_printer(ctx, chat, lang, None).await,
        State::Item { draft } => ask_item(ctx, dialogue, chat, lang, draft, None).await,
        _ => Ok(()),
    }
}

/// A dialogue button pressed out of turn: the query is already answered, so the chat is told.
async fn stale_dialog(ctx: &Ctx, chat: i64, lang: Language) -> HandlerResult {
    let stale = txt(ctx, lang, "bot.stale", &[]).await;
    say(ctx, chat, stale, Markup::None).await;
    Ok(())
}

async fn stale(ctx: &Ctx, q: &CallbackQuery, lang: Language) -> HandlerResult {
    let t = txt(ctx, lang, "bot.stale", &[]).await;
    ctx.bot.answer_callback_query(q.id.clone()).text(t).await?;
    Ok(())
}

/// Every button press.
pub async fn on_callback(q: CallbackQuery, ctx: Ctx) -> HandlerResult {
    let tg_id = q.from.id.0 as i64;
    let requester = svc(&ctx, move |s| Ok(s.read()?.requester(tg_id)?))
        .await
        .ok()
        .flatten();
    let lang = lang_of_user(
        Some(&q.from),
        requester.as_ref(),
        ctx.svc.config().default_language,
    );
    let Some(action) = q.data.as_deref().and_then(Callback::decode) else {
        return stale(&ctx, &q, lang).await;
    };
    if requester.as_ref().is_some_and(|r| r.blocked) {
        let t = txt(&ctx, lang, "bot.blocked", &[]).await;
        ctx.bot.answer_callback_query(q.id.clone()).text(t).await?;
        return Ok(());
    }
    let me = Actor::Requester { tg_id };
    let staff = || super::staff_actor(&ctx.svc, tg_id);
    let result: Result<Option<String>, ServiceError> = match action {
        Callback::Dialog(choice) => {
            ctx.bot.answer_callback_query(q.id.clone()).await?;
            return dialog_choice(&ctx, &q, &choice, lang).await;
        }
        Callback::MyTicket(id) => {
            ctx.bot.answer_callback_query(q.id.clone()).await?;
            return detail(&ctx, tg_id, tg_id, lang, id).await;
        }
        Callback::MyPage(_) => {
            ctx.bot.answer_callback_query(q.id.clone()).await?;
            return my_tickets(&ctx, tg_id, tg_id, lang).await;
        }
        Callback::Confirm(id) => {
            svc(&ctx, move |s| {
                s.change_status(&me, id, TicketAction::Close).map(|_| None)
            })
            .await
        }
        Callback::ReopenOwn(id) => {
            svc(&ctx, move |s| {
                s.change_status(&me, id, TicketAction::Reopen).map(|_| None)
            })
            .await
        }
        Callback::Rate(id, stars) => {
            match svc(&ctx, move |s| s.rate(&me, id, i64::from(stars))).await {
                Ok(_) => Ok(Some(txt(&ctx, lang, "bot.rated", &[]).await)),
                Err(e) => Err(e),
            }
        }
        Callback::FaqHelpful(id) | Callback::FaqNotHelpful(id) => {
            let helpful = matches!(action, Callback::FaqHelpful(_));
            let _ = svc(&ctx, move |s| s.faq_feedback(id, Some(helpful))).await;
            ctx.bot.answer_callback_query(q.id.clone()).await?;
            let dialogue = Dlg::new(ctx.storage.clone(), ChatId(tg_id));
            let question = match dialogue.get().await.ok().flatten() {
                Some(State::FaqAnswered { question }) => Some(question),
                _ => None,
            };
            dialogue.exit().await?;
            if helpful {
                say(
                    &ctx,
                    tg_id,
                    txt(&ctx, lang, "bot.faq_thanks", &[]).await,
                    main_menu(&ctx, lang).await,
                )
                .await;
            } else if let Some(question) = question {
                hand_over(&ctx, tg_id, tg_id, lang, &question).await?;
            } else {
                say(
                    &ctx,
                    tg_id,
                    txt(&ctx, lang, "bot.ask_question", &[]).await,
                    Markup::None,
                )
                .await;
            }
            return Ok(());
        }
        Callback::FaqPick(id) => {
            ctx.bot.answer_callback_query(q.id.clone()).await?;
            let entry = svc(&ctx, move |s| Ok(s.read()?.faq_entry(id)?)).await?;
            match entry.filter(|e| e.enabled) {
                Some(e) => send_faq_answer(&ctx, tg_id, lang, &e).await,
                None => return stale_dialog(&ctx, tg_id, lang).await,
            }
            return Ok(());
        }
        // Staff actions: the presser's role is checked by the service.
        Callback::Take(id)
        | Callback::Resolve(id)
        | Callback::Reopen(id)
        | Callback::AssignTo(id, _)
        | Callback::AssignMenu(id)
        | Callback::Reject(id) => {
            let Some(actor) = staff() else {
                let t = txt(&ctx, lang, "bot.forbidden", &[]).await;
                ctx.bot
                    .answer_callback_query(q.id.clone())
                    .text(t)
                    .show_alert(true)
                    .await?;
                return Ok(());
            };
            staff_action(&ctx, &q, actor, action.clone(), id, lang).await
        }
    };
    match result {
        Ok(text) => {
            let t = match text {
                Some(t) => t,
                None => txt(&ctx, lang, "bot.done_ok", &[]).await,
            };
            ctx.bot.answer_callback_query(q.id.clone()).text(t).await?;
        }
        Err(e) => {
            let t = match e.kind() {
                "forbidden" => txt(&ctx, lang, "bot.forbidden", &[]).await,
                "not_found" => txt(&ctx, lang, "bot.stale", &[]).await,
                _ => e.to_string(),
            };
            ctx.bot
                .answer_callback_query(q.id.clone())
                .text(t.chars().take(190).collect::<String>())
                .show_alert(true)
                .await?;
        }
    }
    Ok(())
}

/// A card button pressed by staff.
async fn staff_action(
    ctx: &Ctx,
    q: &CallbackQuery,
    actor: Actor,
    action: Callback,
    id: u64,
    lang: Language,
) -> Result<Option<String>, ServiceError> {
    let chat = q
        .message
        .as_ref()
        .map(|m| m.chat().id.0)
        .unwrap_or(q.from.id.0 as i64);
    let msg_id = q.message.as_ref().map(|m| i64::from(m.id().0));
    let thread = q
        .message
        .as_ref()
        .and_then(|m| m.regular_message())
        .and_then(|m| m.thread_id)
        .map(|t| i64::from(t.0.0));
    match action {
        Callback::Take(_) => svc(ctx, move |s| {
            s.change_status(&actor, id, TicketAction::Take)
        })
        .await
        .map(|_| None),
        Callback::Resolve(_) => svc(ctx, move |s| s.resolve_taking(&actor, id))
            .await
            .map(|_| None),
        Callback::Reopen(_) => svc(ctx, move |s| {
            s.change_status(&actor, id, TicketAction::Reopen)
        })
        .await
        .map(|_| None),
        Callback::AssignTo(_, login) => svc(ctx, move |s| s.assign(&actor, id, &login))
            .await
            .map(|_| None),
        Callback::AssignMenu(_) => {
            if !role::allowed(actor.role(), Action::AssignTicket, None) {
                return Err(ServiceError::Forbidden("assign".into()));
            }
            let staff = svc(ctx, move |s| {
                let t = s
                    .read()?
                    .ticket(id)?
                    .ok_or_else(|| ServiceError::NotFound(format!("ticket #{id}")))?;
                Ok(s.read()?
                    .staff_all()?
                    .into_iter()
                    .filter(|st| {
                        !st.disabled && role::allowed(st.role, Action::TakeTicket, Some(t.category))
                    })
                    .collect::<Vec<_>>())
            })
            .await?;
            let rows = staff
                .iter()
                .take(MAX_BUTTONS)
                .filter_map(|st| {
                    Callback::AssignTo(id, st.login.clone())
                        .encode()
                        .map(|d| vec![(st.display_name.clone(), d)])
                })
                .collect();
            let text = txt(ctx, lang, "bot.assign_prompt", &[("n", &format!("#{id}"))]).await;
            say_in(ctx, chat, text, Markup::inline(rows), thread, msg_id).await;
            Ok(None)
        }
        Callback::Reject(_) => {
            let category = svc(ctx, move |s| Ok(s.read()?.ticket(id)?.map(|t| t.category))).await?;
            let Some(category) = category else {
                return Err(ServiceError::NotFound(format!("ticket #{id}")));
            };
            if !role::allowed(actor.role(), Action::RejectTicket, Some(category)) {
                return Err(ServiceError::Forbidden("reject".into()));
            }
            // Nothing changes until a reason arrives as a reply to this prompt.
            let text = txt(ctx, lang, "bot.reject_prompt", &[("n", &format!("#{id}"))]).await;
            say_in(ctx, chat, text, Markup::ForceReply, thread, msg_id).await;
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// Is `text` a rejection prompt the bot sent, and for which ticket?
fn reject_prompt_ticket(svc: &Service, text: &str) -> Option<u64> {
    let tx = svc.read().ok()?;
    for word in text.split(|c: char| !(c.is_ascii_digit() || c == '#')) {
        let Some(n) = word.strip_prefix('#').and_then(|n| n.parse::<u64>().ok()) else {
            continue;
        };
        for lang in Language::ALL {
            let prompt = svc.text(&tx, lang, "bot.reject_prompt").ok()?;
            if render(&prompt, &[("n", &format!("#{n}"))]) == text {
                return Some(n);
            }
        }
    }
    None
}

/// Messages in the staff group: replies to cards become public replies, replies to a
/// rejection prompt give the reason, messages in a ticket's forum topic go to the requester.
async fn staff_group_message(msg: &Message, ctx: &Ctx) -> HandlerResult {
    let Some(user) = msg.from.as_ref() else {
        return Ok(());
    };
    if user.is_bot {
        return Ok(());
    }
    let tg_id = user.id.0 as i64;
    let chat = msg.chat.id.0;
    let lang = ctx.svc.config().default_language;
    let thread = msg.thread_id.map(|t| i64::from(t.0.0));
    let Some(text) = msg.text().map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(());
    };
    if text.starts_with("/queue") {
        if super::staff_actor(&ctx.svc, tg_id).is_some() {
            return queue(ctx, chat, lang, thread).await;
        }
        return Ok(());
    }
    if text.starts_with('/') {
        return Ok(());
    }
    // Which ticket, and what kind of message?
    let replied = msg.reply_to_message();
    let target: Option<(u64, bool)> = {
        let s = ctx.svc.clone();
        let replied_id = replied.map(|r| i64::from(r.id.0));
        let replied_text = replied
            .filter(|r| r.from.as_ref().is_some_and(|f| f.is_bot))
            .and_then(|r| r.text())
            .map(str::to_string);
        tokio::task::spawn_blocking(move || -> Option<(u64, bool)> {
            if let Some(t) = replied_text
                .as_deref()
                .and_then(|t| reject_prompt_ticket(&s, t))
            {
                return Some((t, true));
            }
            let tx = s.read().ok()?;
            if let Some(r) = replied_id
                && let Some(t) = tx.ticket_by_card_message(chat, r).ok()?
            {
                return Some((t, false));
            }
            let th = thread?;
            tx.ticket_by_thread(chat, th).ok()?.map(|t| (t, false))
        })
        .await
        .ok()
        .flatten()
    };
    let Some((ticket_id, is_reason)) = target else {
        return Ok(());
    };
    let Some(actor) = super::staff_actor(&ctx.svc, tg_id) else {
        say_in(
            ctx,
            chat,
            txt(ctx, lang, "bot.forbidden", &[]).await,
            Markup::None,
            thread,
            Some(i64::from(msg.id.0)),
        )
        .await;
        return Ok(());
    };
    let body = text.to_string();
    let result = if is_reason {
        svc(ctx, move |s| {
            s.change_status(&actor, ticket_id, TicketAction::Reject { reason: body })
                .map(|_| None)
        })
        .await
    } else {
        svc(ctx, move |s| {
            s.reply(&actor, ticket_id, &body).map(|_| Some(()))
        })
        .await
    };
    match result {
        Ok(Some(())) => {
            let t = txt(
                ctx,
                lang,
                "bot.reply_sent",
                &[("n", &format!("#{ticket_id}"))],
            )
            .await;
            say_in(
                ctx,
                chat,
                t,
                Markup::None,
                thread,
                Some(i64::from(msg.id.0)),
            )
            .await;
        }
        Ok(None) => {}
        Err(e) => {
            let t = if e.kind() == "forbidden" {
                txt(ctx, lang, "bot.forbidden", &[]).await
            } else {
                e.to_string()
            };
            say_in(
                ctx,
                chat,
                t,
                Markup::None,
                thread,
                Some(i64::from(msg.id.0)),
            )
            .await;
        }
    }
    Ok(())
}
