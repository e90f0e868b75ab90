//! Service tests: every change writes its record, audit entry and outbox rows in one
//! transaction; refused calls write nothing.

use super::testing::{TestService, service};
use super::*;
use crate::store::{Reads, Store, TicketFilter};

const REQ: i64 = 1001;

fn staff(login: &str, role: Role) -> Actor {
    Actor::Staff {
        login: login.into(),
        role,
    }
}

fn setup() -> TestService {
    let t = service();
    t.svc
        .register_requester(
            REQ,
            "Иван Петров",
            Some("+7 912 345 67 89"),
            Some("Бухгалтерия"),
            Some(Language::Ru),
            None,
        )
        .unwrap();
    for (login, role) in [
        ("olga", Role::Operator),
        ("petr", Role::Storekeeper),
        ("anna", Role::Admin),
    ] {
        t.svc
            .add_staff(
                &Actor::Cli,
                NewStaff {
                    login: login.into(),
                    password: "password1".into(),
                    role,
                    telegram_id: None,
                    display_name: None,
                },
            )
            .unwrap();
    }
    t
}

fn new_ticket(category: Category) -> NewTicket {
    NewTicket {
        requester: Some(REQ),
        requester_name: None,
        category,
        priority: Priority::Normal,
        subject: "Не печатает принтер".into(),
        description: "Бумага застряла".into(),
        order: vec![],
        source: Source::Telegram,
        idempotency_key: None,
        attachments: vec![],
    }
}

/// Counts of everything a change may write, to compare before and after.
#[derive(Debug, PartialEq, Eq)]
struct Counts {
    tables: Vec<(&'static str, u64)>,
    ticket_seq: Option<u64>,
}

fn counts(svc: &Service) -> Counts {
    let tx = svc.read().unwrap();
    Counts {
        tables: tx.table_counts().unwrap(),
        ticket_seq: tx.meta("seq.ticket").unwrap(),
    }
}

fn count(c: &Counts, table: &str) -> u64 {
    c.tables.iter().find(|(n, _)| *n == table).unwrap().1
}

#[test]
fn creating_a_ticket_writes_ticket_event_audit_and_outbox_together() {
    let t = setup();
    let before = counts(&t.svc);
    let ticket = t
        .svc
        .create_ticket(
            &Actor::Requester { tg_id: REQ },
            new_ticket(Category::Printer),
        )
        .unwrap();
    assert_eq!(ticket.id, 1);
    assert_eq!(ticket.number(), "#1");
    assert_eq!(ticket.status, TicketStatus::New);
    assert_eq!(ticket.department.as_deref(), Some("Бухгалтерия"));
    let after = counts(&t.svc);
    assert_eq!(count(&after, "tickets"), count(&before, "tickets") + 1);
    assert_eq!(
        count(&after, "ticket_events"),
        count(&before, "ticket_events") + 1
    );
    assert_eq!(count(&after, "audit"), count(&before, "audit") + 1);
    // One Telegram message to the requester and one staff card refresh.
    assert_eq!(count(&after, "outbox"), count(&before, "outbox") + 2);
    let tx = t.svc.read().unwrap();
    let rows = tx.outbox_all().unwrap();
    assert!(rows.iter().any(
        |r| matches!(&r.message, OutboxMessage::Telegram { chat_id, text, .. }
        if *chat_id == REQ && text.contains("#1") && text.contains("создана"))
    ));
    assert!(
        rows.iter()
            .any(|r| r.message == OutboxMessage::TicketCard { ticket_id: 1 })
    );
    let audit = tx.audit_recent(1).unwrap();
    assert_eq!(audit[0].action, "ticket.create");
    assert_eq!(audit[0].target, "ticket:#1");
}

#[test]
fn refused_calls_write_nothing() {
    let t = setup();
    let before = counts(&t.svc);
    let req = Actor::Requester { tg_id: REQ };
    let cases: Vec<(&str, NewTicket)> = vec![
        (
            "empty subject",
            NewTicket {
                subject: "   ".into(),
                ..new_ticket(Category::Printer)
            },
        ),
        (
            "huge description",
            NewTicket {
                description: "x".repeat(5000),
                ..new_ticket(Category::Printer)
            },
        ),
        (
            "cartridge order without items",
            new_ticket(Category::CartridgeOrder),
        ),
        (
            "items outside an order",
            NewTicket {
                order: vec![("X".into(), 1)],
                ..new_ticket(Category::Other)
            },
        ),
        (
            "unknown sku",
            NewTicket {
                order: vec![("NOPE".into(), 1)],
                ..new_ticket(Category::CartridgeOrder)
            },
        ),
        (
            "zero quantity",
            NewTicket {
                order: vec![("NOPE".into(), 0)],
                ..new_ticket(Category::CartridgeOrder)
            },
        ),
        (
            "unknown requester",
            NewTicket {
                requester: Some(999),
                ..new_ticket(Category::Printer)
            },
        ),
    ];
    for (what, nt) in cases {
        let actor = if nt.requester == Some(999) {
            staff("olga", Role::Operator)
        } else {
            req.clone()
        };
        assert!(
            t.svc.create_ticket(&actor, nt).is_err(),
            "{what} must be refused"
        );
        assert_eq!(counts(&t.svc), before, "{what} wrote something");
    }
    // A requester cannot file for someone else.
    let err = t
        .svc
        .create_ticket(
            &Actor::Requester { tg_id: 5 },
            new_ticket(Category::Printer),
        )
        .unwrap_err();
    assert_eq!(err.kind(), "forbidden");
    assert_eq!(counts(&t.svc), before);
}

#[test]
fn status_changes_follow_the_machine_and_notify_the_requester() {
    let t = setup();
    let req = Actor::Requester { tg_id: REQ };
    let olga = staff("olga", Role::Operator);
    let id = t
        .svc
        .create_ticket(&req, new_ticket(Category::Printer))
        .unwrap()
        .id;

    // Resolving a new ticket is illegal and writes nothing.
    let before = counts(&t.svc);
    let err = t
        .svc
        .change_status(&olga, id, TicketAction::Resolve)
        .unwrap_err();
    assert_eq!(err.kind(), "illegal_transition");
    assert_eq!(counts(&t.svc), before);

    // Rejecting without a reason is refused and writes nothing.
    let err = t
        .svc
        .change_status(&olga, id, TicketAction::Reject { reason: " ".into() })
        .unwrap_err();
    assert!(err.to_string().contains("reason"), "{err}");
    assert_eq!(counts(&t.svc), before);

    t.clock.advance(60);
    let taken = t.svc.change_status(&olga, id, TicketAction::Take).unwrap();
    assert_eq!(taken.status, TicketStatus::InProgress);
    assert_eq!(taken.assignee.as_deref(), Some("olga"));
    assert_eq!(taken.first_response_at, Some(t.svc.now()));
    let resolved = t
        .svc
        .change_status(&olga, id, TicketAction::Resolve)
        .unwrap();
    assert_eq!(resolved.status, TicketStatus::Resolved);

    // The requester may confirm (close) or reopen their own ticket, but not resolve it.
    assert_eq!(
        t.svc
            .change_status(&req, id, TicketAction::Take)
            .unwrap_err()
            .kind(),
        "forbidden"
    );
    let reopened = t.svc.change_status(&req, id, TicketAction::Reopen).unwrap();
    assert_eq!(reopened.status, TicketStatus::Reopened);
    t.svc.change_status(&olga, id, TicketAction::Take).unwrap();
    t.svc
        .change_status(&olga, id, TicketAction::Resolve)
        .unwrap();
    let closed = t.svc.change_status(&req, id, TicketAction::Close).unwrap();
    assert_eq!(closed.status, TicketStatus::Closed);
    let rated = t.svc.rate(&req, id, 5).unwrap();
    assert_eq!(rated.rating, Some(5));
    assert_eq!(t.svc.rate(&req, id, 6).unwrap_err().kind(), "invalid");

    let tx = t.svc.read().unwrap();
    let events = tx.ticket_events(id).unwrap();
    let statuses: Vec<TicketStatus> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::StatusChanged { to, .. } => Some(to),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            TicketStatus::InProgress,
            TicketStatus::Resolved,
            TicketStatus::Reopened,
            TicketStatus::InProgress,
            TicketStatus::Resolved,
            TicketStatus::Closed
        ]
    );
    let to_requester: Vec<String> = tx
        .outbox_all()
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.message {
            OutboxMessage::Telegram { chat_id, text, .. } if chat_id == REQ => Some(text),
            _ => None,
        })
        .collect();
    // Created + six status changes.
    assert_eq!(to_requester.len(), 7, "{to_requester:#?}");
    assert!(to_requester.iter().any(|t| t.contains("в работе")));
    assert!(to_requester.iter().any(|t| t.contains("решена")));
}

#[test]
fn rejection_records_the_reason_and_tells_the_requester() {
    let t = setup();
    let id = t
        .svc
        .create_ticket(
            &Actor::Requester { tg_id: REQ },
            new_ticket(Category::Printer),
        )
        .unwrap()
        .id;
    let rejected = t
        .svc
        .change_status(
            &staff("olga", Role::Operator),
            id,
            TicketAction::Reject {
                reason: "дубликат #0".into(),
            },
        )
        .unwrap();
    assert_eq!(rejected.status, TicketStatus::Rejected);
    assert_eq!(rejected.rejection_reason.as_deref(), Some("дубликат #0"));
    let tx = t.svc.read().unwrap();
    assert!(tx.outbox_all().unwrap().iter().any(|r| matches!(&r.message,
        OutboxMessage::Telegram { text, .. } if text.contains("Причина: дубликат #0"))));
}

#[test]
fn roles_are_checked_by_the_service() {
    let t = setup();
    let req = Actor::Requester { tg_id: REQ };
    let printer = t
        .svc
        .create_ticket(&req, new_ticket(Category::Printer))
        .unwrap()
        .id;
    let petr = staff("petr", Role::Storekeeper);
    // A storekeeper works cartridge orders only.
    assert_eq!(
        t.svc
            .change_status(&petr, printer, TicketAction::Take)
            .unwrap_err()
            .kind(),
        "forbidden"
    );
    assert_eq!(
        t.svc.reply(&petr, printer, "hi").unwrap_err().kind(),
        "forbidden"
    );
    t.svc
        .upsert_stock_item(
            &petr,
            "CE285A",
            "HP 85A",
            StockKind::Cartridge,
            &["HP P1102".into()],
            2,
        )
        .unwrap();
    t.svc
        .move_stock(&petr, "CE285A", MoveReason::Receipt, 5, None, "")
        .unwrap();
    let order = t
        .svc
        .create_ticket(
            &req,
            NewTicket {
                order: vec![("CE285A".into(), 2)],
                ..new_ticket(Category::CartridgeOrder)
            },
        )
        .unwrap();
    assert_eq!(order.order_lines[0].name, "HP 85A");
    // More than is on the shelf is refused, naming the field; nothing is filed.
    let over = t
        .svc
        .create_ticket(
            &req,
            NewTicket {
                order: vec![("CE285A".into(), 6)],
                ..new_ticket(Category::CartridgeOrder)
            },
        )
        .unwrap_err();
    assert_eq!(over.kind(), "invalid");
    assert!(
        over.to_string().contains("only 5 of CE285A in stock"),
        "{over}"
    );
    assert_eq!(
        t.svc
            .change_status(&petr, order.id, TicketAction::Take)
            .unwrap()
            .assignee
            .as_deref(),
        Some("petr")
    );
    // An operator cannot manage stock; a requester cannot reply.
    assert_eq!(
        t.svc
            .move_stock(
                &staff("olga", Role::Operator),
                "CE285A",
                MoveReason::Receipt,
                1,
                None,
                ""
            )
            .unwrap_err()
            .kind(),
        "forbidden"
    );
    assert_eq!(
        t.svc.reply(&req, order.id, "x").unwrap_err().kind(),
        "forbidden"
    );
    // Assigning to a storekeeper is refused for non-cartridge tickets.
    let err = t
        .svc
        .assign(&staff("anna", Role::Admin), printer, "petr")
        .unwrap_err();
    assert_eq!(err.kind(), "conflict");
    let a = t
        .svc
        .assign(&staff("anna", Role::Admin), printer, "olga")
        .unwrap();
    assert_eq!(
        (a.status, a.assignee.as_deref()),
        (TicketStatus::InProgress, Some("olga"))
    );
}

#[test]
fn replies_and_notes() {
    let t = setup();
    let id = t
        .svc
        .create_ticket(
            &Actor::Requester { tg_id: REQ },
            new_ticket(Category::Printer),
        )
        .unwrap()
        .id;
    let olga = staff("olga", Role::Operator);
    let before = counts(&t.svc);
    t.svc.reply(&olga, id, "Сейчас подойду").unwrap();
    let after = counts(&t.svc);
    assert_eq!(count(&after, "outbox"), count(&before, "outbox") + 1);
    t.svc.note(&olga, id, "<b>internal</b>").unwrap();
    assert_eq!(
        count(&counts(&t.svc), "outbox"),
        count(&after, "outbox"),
        "a note notifies nobody"
    );
    assert!(t.svc.reply(&olga, id, "").is_err());
    assert!(t.svc.reply(&olga, 999, "x").unwrap_err().kind() == "not_found");
    // A message from the requester moves a waiting ticket back to work.
    t.svc.change_status(&olga, id, TicketAction::Take).unwrap();
    t.svc
        .change_status(&olga, id, TicketAction::AskRequester)
        .unwrap();
    t.svc.requester_message(REQ, id, "Модель HP P1102").unwrap();
    assert_eq!(
        t.svc.read().unwrap().ticket(id).unwrap().unwrap().status,
        TicketStatus::InProgress
    );
    assert_eq!(
        t.svc
            .requester_message(REQ + 1, id, "x")
            .unwrap_err()
            .kind(),
        "not_found"
    );
}

#[test]
fn lists_filter_and_page_newest_first() {
    let t = setup();
    let req = Actor::Requester { tg_id: REQ };
    let olga = staff("olga", Role::Operator);
    for i in 0..30 {
        let id = t
            .svc
            .create_ticket(&req, new_ticket(Category::Printer))
            .unwrap()
            .id;
        if i % 3 == 0 {
            t.svc.change_status(&olga, id, TicketAction::Take).unwrap();
        }
    }
    let tx = t.svc.read().unwrap();
    let new = TicketFilter {
        statuses: vec![TicketStatus::New],
        ..Default::default()
    };
    let p1 = tx.tickets(&new, 0, 15).unwrap();
    assert_eq!(p1.tickets.len(), 15);
    assert!(p1.has_more);
    assert!(p1.tickets.windows(2).all(|w| w[0].id > w[1].id));
    let p2 = tx.tickets(&new, 15, 15).unwrap();
    assert_eq!(p2.tickets.len(), 5);
    assert!(!p2.has_more);
    let by_assignee = TicketFilter {
        assignee: Some("olga".into()),
        ..Default::default()
    };
    assert_eq!(tx.tickets(&by_assignee, 0, 100).unwrap().tickets.len(), 10);
    let by_req = TicketFilter {
        requester: Some(REQ),
        statuses: vec![TicketStatus::InProgress],
        ..Default::default()
    };
    assert_eq!(tx.tickets(&by_req, 0, 100).unwrap().tickets.len(), 10);
    let counts: std::collections::HashMap<_, _> =
        tx.ticket_status_counts().unwrap().into_iter().collect();
    assert_eq!(counts[&TicketStatus::New], 20);
    assert_eq!(counts[&TicketStatus::InProgress], 10);
}

#[test]
fn staff_accounts_and_passwords() {
    let t = setup();
    let anna = staff("anna", Role::Admin);
    let mk = |login: &str, role| NewStaff {
        login: login.into(),
        password: "password1".into(),
        role,
        telegram_id: Some(77),
        display_name: None,
    };
    // Duplicate login, a short password, and an admin making a superadmin are all refused.
    assert_eq!(
        t.svc
            .add_staff(&anna, mk("olga", Role::Operator))
            .unwrap_err()
            .kind(),
        "conflict"
    );
    assert_eq!(
        t.svc
            .add_staff(
                &anna,
                NewStaff {
                    password: "short".into(),
                    ..mk("vera", Role::Operator)
                }
            )
            .unwrap_err()
            .kind(),
        "invalid"
    );
    assert_eq!(
        t.svc
            .add_staff(&anna, mk("boss", Role::Superadmin))
            .unwrap_err()
            .kind(),
        "forbidden"
    );
    assert_eq!(
        t.svc
            .add_staff(&staff("olga", Role::Operator), mk("x1", Role::Operator))
            .unwrap_err()
            .kind(),
        "forbidden"
    );
    t.svc.add_staff(&anna, mk("vera", Role::Operator)).unwrap();
    assert_eq!(
        t.svc
            .add_staff(&anna, mk("vlad", Role::Operator))
            .unwrap_err()
            .kind(),
        "conflict",
        "telegram id reused"
    );
    let s = t.svc.read().unwrap().staff("vera").unwrap().unwrap();
    assert!(s.password_hash.starts_with("$argon2id$"));
    assert!(!s.password_hash.contains("password1"));
    assert!(t.svc.check_password("VERA", "password1").unwrap().is_some());
    assert!(t.svc.check_password("vera", "password2").unwrap().is_none());
    assert!(
        t.svc
            .check_password("nobody", "password1")
            .unwrap()
            .is_none()
    );
}

#[test]
fn the_setup_token_works_once() {
    let t = service();
    let token = t.svc.begin_setup().unwrap().expect("no staff yet");
    assert_eq!(token.len(), 64);
    assert_eq!(
        t.svc
            .complete_setup("wrong", "root", "password1")
            .unwrap_err()
            .kind(),
        "forbidden"
    );
    let s = t.svc.complete_setup(&token, "root", "password1").unwrap();
    assert_eq!(s.role, Role::Superadmin);
    assert_eq!(
        t.svc
            .complete_setup(&token, "root2", "password1")
            .unwrap_err()
            .kind(),
        "forbidden"
    );
    assert_eq!(t.svc.begin_setup().unwrap(), None);
}

#[test]
fn stock_moves_keep_balance_and_history() {
    let t = setup();
    let petr = staff("petr", Role::Storekeeper);
    t.svc
        .upsert_stock_item(&petr, "CE285A", "HP 85A", StockKind::Cartridge, &[], 2)
        .unwrap();
    t.svc
        .move_stock(&petr, "CE285A", MoveReason::Receipt, 5, None, "")
        .unwrap();
    let m = t
        .svc
        .move_stock(&petr, "CE285A", MoveReason::Issue, 4, None, "")
        .unwrap();
    assert_eq!((m.delta, m.balance_after), (-4, 1));
    let before = counts(&t.svc);
    assert_eq!(
        t.svc
            .move_stock(&petr, "CE285A", MoveReason::Issue, 2, None, "")
            .unwrap_err()
            .kind(),
        "stock_rule"
    );
    assert_eq!(
        t.svc
            .move_stock(&petr, "CE285A", MoveReason::Adjustment, -1, None, "")
            .unwrap_err()
            .kind(),
        "stock_rule"
    );
    assert_eq!(
        t.svc
            .move_stock(&petr, "NOPE", MoveReason::Receipt, 1, None, "")
            .unwrap_err()
            .kind(),
        "not_found"
    );
    assert_eq!(
        t.svc
            .move_stock(&petr, "CE285A", MoveReason::Issue, 1, Some(42), "")
            .unwrap_err()
            .kind(),
        "not_found"
    );
    assert_eq!(counts(&t.svc), before);
    let item = t.svc.read().unwrap().stock_item("CE285A").unwrap().unwrap();
    assert_eq!(item.quantity, 1);
    assert!(item.is_low());
    let edited = t
        .svc
        .upsert_stock_item(
            &petr,
            "CE285A",
            "HP 85A black",
            StockKind::Cartridge,
            &[],
            3,
        )
        .unwrap();
    assert_eq!(edited.quantity, 1, "editing an item keeps its balance");
    assert_eq!(
        t.svc.read().unwrap().stock_moves_recent(10).unwrap().len(),
        2
    );
}

#[test]
fn outbox_delivery_retry_and_failure() {
    let t = setup();
    t.svc
        .create_ticket(
            &Actor::Requester { tg_id: REQ },
            new_ticket(Category::Printer),
        )
        .unwrap();
    let due = t.svc.outbox_due(10).unwrap();
    assert_eq!(due.len(), 2);
    let (a, b) = (due[0].id, due[1].id);
    assert!(t.svc.outbox_delivered(a).unwrap());
    assert!(
        !t.svc.outbox_delivered(a).unwrap(),
        "delivering twice finds nothing the second time"
    );
    t.svc
        .outbox_attempt_failed(b, "502 Bad Gateway", None, false)
        .unwrap();
    assert!(t.svc.outbox_due(10).unwrap().is_empty(), "backed off");
    t.clock.advance(2);
    assert_eq!(t.svc.outbox_due(10).unwrap().len(), 1);
    t.svc
        .outbox_attempt_failed(b, "429", Some(t.svc.now() + 500), false)
        .unwrap();
    t.clock.advance(499);
    assert!(
        t.svc.outbox_due(10).unwrap().is_empty(),
        "retry_after honoured"
    );
    t.clock.advance(1);
    assert_eq!(t.svc.outbox_due(10).unwrap().len(), 1);
    t.svc
        .outbox_attempt_failed(b, "403 blocked", None, true)
        .unwrap();
    assert!(t.svc.outbox_due(10).unwrap().is_empty());
    assert_eq!(t.svc.read().unwrap().outbox_counts().unwrap(), (0, 1));
    t.svc.outbox_retry(&staff("anna", Role::Admin), b).unwrap();
    assert_eq!(t.svc.read().unwrap().outbox_counts().unwrap(), (1, 0));
}

#[test]
fn the_outbox_keeps_order_and_pace_when_the_clock_jumps() {
    let t = setup();
    let first = t
        .svc
        .create_ticket(
            &Actor::Requester { tg_id: REQ },
            new_ticket(Category::Printer),
        )
        .unwrap();
    let before: Vec<u64> = t.svc.outbox_due(10).unwrap().iter().map(|r| r.id).collect();
    assert_eq!(before.len(), 2);
    // One of them failed once and waits a back-off.
    t.svc
        .outbox_attempt_failed(before[1], "502 Bad Gateway", None, false)
        .unwrap();
    // The clock goes back two hours; a new message is queued.
    t.clock.advance(-7200);
    let second = t
        .svc
        .create_ticket(
            &Actor::Requester { tg_id: REQ },
            new_ticket(Category::Other),
        )
        .unwrap();
    assert_eq!(
        second.id,
        first.id + 1,
        "numbering does not follow the clock"
    );
    let due: Vec<u64> = t.svc.outbox_due(10).unwrap().iter().map(|r| r.id).collect();
    assert_eq!(due[0], before[0], "older messages are not held back");
    assert!(
        due.windows(2).all(|w| w[0] < w[1]),
        "queue order is the row order, not the clock: {due:?}"
    );
    assert!(
        due.contains(&before[1]),
        "a back-off planned two hours ahead of the new clock is not waited out"
    );
    // A back-off within reach is still honoured.
    t.svc
        .outbox_attempt_failed(before[1], "502 Bad Gateway", None, false)
        .unwrap();
    assert!(
        !t.svc
            .outbox_due(10)
            .unwrap()
            .iter()
            .any(|r| r.id == before[1])
    );
}

#[test]
fn sessions_survive_small_clock_jumps_and_never_become_immortal() {
    let t = setup();
    let olga = t.svc.read().unwrap().staff("olga").unwrap().unwrap();
    let (token, _) = t.svc.create_session(&olga).unwrap();
    // Back two hours, forward an hour: still signed in.
    t.clock.advance(-7200);
    assert!(t.svc.session(&token).unwrap().is_some());
    t.clock.advance(3 * 3600);
    assert!(t.svc.session(&token).unwrap().is_some());
    // A session made while the clock was a year ahead ends when the clock is put right.
    t.clock.advance(365 * 86_400);
    let (ahead, _) = t.svc.create_session(&olga).unwrap();
    t.clock.advance(-365 * 86_400);
    assert!(t.svc.session(&ahead).unwrap().is_none(), "not immortal");
    assert!(
        t.svc.session(&token).unwrap().is_some(),
        "others unaffected"
    );
    // And the normal end still applies.
    t.clock.advance(SESSION_SECONDS);
    assert!(t.svc.session(&token).unwrap().is_none());
}

#[test]
fn faq_import_is_idempotent_and_all_or_nothing() {
    let t = setup();
    let olga = staff("olga", Role::Operator);
    let entries = vec![
        (
            "Как подключить VPN?".to_string(),
            "Откройте …".to_string(),
            vec!["vpn не работает".to_string()],
        ),
        (
            "Как сменить пароль?".to_string(),
            "Нажмите Ctrl+Alt+Del".to_string(),
            vec![],
        ),
    ];
    let r = t.svc.import_faq(&olga, &entries).unwrap();
    assert_eq!((r.added, r.updated, r.unchanged), (2, 0, 0));
    let r = t.svc.import_faq(&olga, &entries).unwrap();
    assert_eq!((r.added, r.updated, r.unchanged), (0, 0, 2));
    let mut bad = entries.clone();
    bad.push(("?".into(), "".into(), vec![]));
    let before = counts(&t.svc);
    let err = t.svc.import_faq(&olga, &bad).unwrap_err();
    assert!(err.to_string().contains("entry 3"), "{err}");
    assert_eq!(counts(&t.svc), before);
    assert_eq!(
        t.svc
            .import_faq(&Actor::Requester { tg_id: REQ }, &entries)
            .unwrap_err()
            .kind(),
        "forbidden"
    );
}

#[test]
fn requester_registration_and_blocking() {
    let t = setup();
    assert_eq!(
        t.svc
            .register_requester(5, "1", None, None, None, None)
            .unwrap_err()
            .kind(),
        "invalid"
    );
    assert_eq!(
        t.svc
            .register_requester(5, "Олена", Some("12"), None, None, None)
            .unwrap_err()
            .kind(),
        "invalid"
    );
    let r = t
        .svc
        .register_requester(
            5,
            "Олена",
            Some("+380441234567"),
            None,
            Some(Language::Uk),
            None,
        )
        .unwrap();
    assert_eq!(r.phone.as_deref(), Some("+380441234567"));
    t.svc
        .set_requester_blocked(&staff("anna", Role::Admin), 5, true)
        .unwrap();
    let err = t.svc.create_ticket(
        &Actor::Requester { tg_id: 5 },
        NewTicket {
            requester: Some(5),
            ..new_ticket(Category::Other)
        },
    );
    assert_eq!(err.unwrap_err().kind(), "forbidden");
    assert_eq!(
        t.svc
            .set_requester_blocked(&staff("olga", Role::Operator), 5, false)
            .unwrap_err()
            .kind(),
        "forbidden"
    );
    // Re-registering keeps the block and the registration time.
    let again = t
        .svc
        .register_requester(5, "Олена К.", None, None, None, None)
        .unwrap();
    assert!(again.blocked);
    assert_eq!(again.registered_at, r.registered_at);
    assert_eq!(again.phone, r.phone);
}

#[test]
fn an_idempotency_key_files_a_ticket_once() {
    let t = setup();
    let req = Actor::Requester { tg_id: REQ };
    let nt = NewTicket {
        idempotency_key: Some("tg:update:42".into()),
        ..new_ticket(Category::Printer)
    };
    let a = t.svc.create_ticket(&req, nt.clone()).unwrap();
    let before = counts(&t.svc);
    let b = t.svc.create_ticket(&req, nt).unwrap();
    assert_eq!(a, b);
    assert_eq!(counts(&t.svc), before, "the repeat wrote nothing");
    let c = t
        .svc
        .create_ticket(&req, new_ticket(Category::Printer))
        .unwrap();
    assert_eq!(c.id, a.id + 1);
}

#[test]
fn staff_removal_rules() {
    let t = setup();
    let root = Actor::Staff {
        login: "root".into(),
        role: Role::Superadmin,
    };
    let root_acc = t.svc.add_staff(
        &Actor::Cli,
        NewStaff {
            login: "root".into(),
            password: "password1".into(),
            role: Role::Superadmin,
            telegram_id: Some(1),
            display_name: None,
        },
    );
    root_acc.unwrap();
    assert_eq!(
        t.svc.remove_staff(&root, "root").unwrap_err().kind(),
        "conflict",
        "not oneself"
    );
    assert_eq!(
        t.svc
            .remove_staff(&staff("anna", Role::Admin), "root")
            .unwrap_err()
            .kind(),
        "forbidden",
        "an admin cannot remove a superadmin"
    );
    assert_eq!(
        t.svc.remove_staff(&Actor::Cli, "root").unwrap_err().kind(),
        "conflict",
        "the last superadmin stays"
    );
    let second = t
        .svc
        .add_staff_telegram(&root, 2, Role::Superadmin)
        .unwrap();
    assert_eq!(second.login, "tg2");
    t.svc.remove_staff(&root, "tg2").unwrap();
    assert_eq!(
        t.svc
            .remove_staff(&staff("olga", Role::Operator), "petr")
            .unwrap_err()
            .kind(),
        "forbidden"
    );
    t.svc.remove_staff(&root, "petr").unwrap();
    assert!(t.svc.read().unwrap().staff("petr").unwrap().is_none());
    assert_eq!(
        t.svc.remove_staff(&root, "petr").unwrap_err().kind(),
        "not_found"
    );
}

#[test]
fn broadcast_queues_one_message_per_active_requester() {
    let t = setup();
    for id in 2000..2010 {
        t.svc
            .register_requester(id, "Сотрудник Тестов", None, None, None, None)
            .unwrap();
    }
    t.svc.set_requester_active(2000, false).unwrap();
    t.svc
        .set_requester_blocked(&staff("anna", Role::Admin), 2001, true)
        .unwrap();
    assert_eq!(
        t.svc
            .broadcast(&staff("olga", Role::Operator), "hi", None)
            .unwrap_err()
            .kind(),
        "forbidden"
    );
    assert_eq!(
        t.svc
            .broadcast(&staff("anna", Role::Admin), " ", None)
            .unwrap_err()
            .kind(),
        "invalid"
    );
    let (batch, n) = t
        .svc
        .broadcast(&staff("anna", Role::Admin), "Офис закрыт 1 мая", None)
        .unwrap();
    // 10 new + REQ, minus one inactive and one blocked.
    assert_eq!(n, 9);
    let p = t.svc.broadcast_progress(batch).unwrap();
    assert_eq!((p.total, p.pending, p.delivered, p.failed), (9, 9, 0, 0));
    let rows = t.svc.outbox_due(100).unwrap();
    let ids: Vec<u64> = rows
        .iter()
        .filter(|r| r.batch == Some(batch))
        .map(|r| r.id)
        .collect();
    t.svc.outbox_delivered(ids[0]).unwrap();
    t.svc
        .outbox_attempt_failed(ids[1], "403", None, true)
        .unwrap();
    let p = t.svc.broadcast_progress(batch).unwrap();
    assert_eq!((p.total, p.pending, p.delivered, p.failed), (9, 7, 1, 1));
}

mod sla {
    use super::*;
    use crate::clock::FakeClock;
    use crate::domain::sla::{Calendar, Policy, Target};
    use chrono::{NaiveTime, TimeZone, Weekday};

    fn policy() -> Policy {
        let tz = chrono_tz::Europe::Moscow;
        let cal = Calendar::new(
            tz,
            vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
            vec![],
        )
        .unwrap();
        let t = Target {
            first_response_minutes: 60,
            resolve_minutes: 240,
        };
        Policy {
            calendar: cal,
            low: t,
            normal: t,
            high: t,
            critical: t,
            remind_at: 0.75,
        }
    }

    fn at(h: u32, m: u32) -> i64 {
        // Wednesday 25 Nov 2026, Moscow time.
        chrono_tz::Europe::Moscow
            .with_ymd_and_hms(2026, 11, 25, h, m, 0)
            .unwrap()
            .timestamp()
    }

    fn open(dir: &std::path::Path, clock: Arc<FakeClock>) -> Service {
        let cfg = ServiceConfig {
            staff_chat_id: -100,
            default_language: Language::Ru,
            email_enabled: false,
            sla: Some(policy()),
        };
        Service::new(Store::open(dir).unwrap(), clock, cfg)
    }

    fn alerts(svc: &Service) -> Vec<(i64, String)> {
        svc.read()
            .unwrap()
            .outbox_all()
            .unwrap()
            .into_iter()
            .filter_map(|r| match r.message {
                OutboxMessage::Telegram { chat_id, text, .. }
                    if text.contains('⏰') || text.contains('🔥') =>
                {
                    Some((chat_id, text))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn due_times_reminders_and_escalations_fire_once_even_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FakeClock::new(at(10, 0)));
        let svc = open(dir.path(), clock.clone());
        svc.register_requester(REQ, "Иван Петров", None, None, None, None)
            .unwrap();
        svc.add_staff(
            &Actor::Cli,
            NewStaff {
                login: "boss".into(),
                password: "password1".into(),
                role: Role::Admin,
                telegram_id: Some(77),
                display_name: None,
            },
        )
        .unwrap();
        let t = svc
            .create_ticket(
                &Actor::Requester { tg_id: REQ },
                new_ticket(Category::Printer),
            )
            .unwrap();
        assert_eq!(t.response_due, Some(at(11, 0)));
        assert_eq!(t.resolve_due, Some(at(14, 0)));
        assert_eq!(
            svc.sla_scan().unwrap(),
            SlaScan::default(),
            "nothing due yet"
        );
        clock.set(at(10, 46));
        assert_eq!(
            svc.sla_scan().unwrap(),
            SlaScan {
                reminders: 1,
                escalations: 0
            }
        );
        assert_eq!(svc.sla_scan().unwrap(), SlaScan::default(), "sent once");
        let a = alerts(&svc);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].0, -100, "nobody took it: the staff group is reminded");
        // Restart: the plan and what was sent survive.
        drop(svc);
        let svc = open(dir.path(), clock.clone());
        clock.set(at(11, 1));
        assert_eq!(
            svc.sla_scan().unwrap(),
            SlaScan {
                reminders: 0,
                escalations: 1
            }
        );
        let a = alerts(&svc);
        assert!(
            a.iter().any(|(c, t)| *c == 77 && t.contains("нарушен")),
            "{a:?}"
        );
        assert_eq!(svc.sla_scan().unwrap(), SlaScan::default());
        // Taken: the response phase is over; the resolution is still watched.
        let boss = Actor::Staff {
            login: "boss".into(),
            role: Role::Admin,
        };
        svc.change_status(&boss, t.id, TicketAction::Take).unwrap();
        clock.set(at(13, 16));
        assert_eq!(
            svc.sla_scan().unwrap(),
            SlaScan {
                reminders: 1,
                escalations: 0
            }
        );
        assert!(
            alerts(&svc)
                .iter()
                .any(|(c, t)| *c == 77 && t.contains("решить")),
            "the assignee is reminded"
        );
        // Resolved: the plan is gone, no more alerts.
        svc.change_status(&boss, t.id, TicketAction::Resolve)
            .unwrap();
        clock.set(at(17, 0));
        assert_eq!(svc.sla_scan().unwrap(), SlaScan::default());
        assert!(svc.read().unwrap().sla_plans().unwrap().is_empty());
    }

    #[test]
    fn sla_alerts_are_not_sent_twice_when_the_clock_goes_back() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FakeClock::new(at(10, 0)));
        let svc = open(dir.path(), clock.clone());
        svc.register_requester(REQ, "Иван Петров", None, None, None, None)
            .unwrap();
        svc.create_ticket(
            &Actor::Requester { tg_id: REQ },
            new_ticket(Category::Printer),
        )
        .unwrap();
        clock.set(at(10, 46));
        assert_eq!(svc.sla_scan().unwrap().reminders, 1);
        // Back before the reminder point, then through it again.
        clock.set(at(10, 30));
        assert_eq!(svc.sla_scan().unwrap(), SlaScan::default());
        clock.set(at(10, 50));
        assert_eq!(svc.sla_scan().unwrap(), SlaScan::default());
        clock.set(at(11, 1));
        assert_eq!(svc.sla_scan().unwrap().escalations, 1);
        clock.set(at(10, 0));
        assert_eq!(svc.sla_scan().unwrap(), SlaScan::default());
        clock.set(at(11, 5));
        assert_eq!(svc.sla_scan().unwrap(), SlaScan::default());
        assert_eq!(alerts(&svc).len(), 2, "one reminder, one breach");
    }

    #[test]
    fn downtime_past_both_thresholds_sends_only_the_breach() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FakeClock::new(at(10, 0)));
        let svc = open(dir.path(), clock.clone());
        svc.register_requester(REQ, "Иван Петров", None, None, None, None)
            .unwrap();
        svc.create_ticket(
            &Actor::Requester { tg_id: REQ },
            new_ticket(Category::Printer),
        )
        .unwrap();
        // The server was off from 10:00 until the next morning.
        clock.set(at(10, 0) + 86_400);
        assert_eq!(
            svc.sla_scan().unwrap(),
            SlaScan {
                reminders: 0,
                escalations: 2
            }
        );
        assert_eq!(svc.sla_scan().unwrap(), SlaScan::default());
    }

    #[test]
    fn a_priority_change_restarts_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FakeClock::new(at(10, 0)));
        let svc = open(dir.path(), clock.clone());
        svc.register_requester(REQ, "Иван Петров", None, None, None, None)
            .unwrap();
        svc.add_staff(
            &Actor::Cli,
            NewStaff {
                login: "boss".into(),
                password: "password1".into(),
                role: Role::Admin,
                telegram_id: None,
                display_name: None,
            },
        )
        .unwrap();
        let t = svc
            .create_ticket(
                &Actor::Requester { tg_id: REQ },
                new_ticket(Category::Printer),
            )
            .unwrap();
        clock.set(at(12, 0));
        let t2 = svc
            .set_priority(
                &Actor::Staff {
                    login: "boss".into(),
                    role: Role::Admin,
                },
                t.id,
                Priority::High,
            )
            .unwrap();
        assert_eq!(t2.response_due, Some(at(13, 0)));
        assert_eq!(t2.resolve_due, Some(at(16, 0)));
    }
}

#[test]
fn resolving_from_a_card_takes_an_untaken_ticket_first() {
    let t = setup();
    let id = t
        .svc
        .create_ticket(
            &Actor::Requester { tg_id: REQ },
            new_ticket(Category::Printer),
        )
        .unwrap()
        .id;
    let olga = staff("olga", Role::Operator);
    let done = t.svc.resolve_taking(&olga, id).unwrap();
    assert_eq!(
        (done.status, done.assignee.as_deref()),
        (TicketStatus::Resolved, Some("olga"))
    );
    assert_eq!(
        t.svc.resolve_taking(&olga, id).unwrap_err().kind(),
        "illegal_transition"
    );
    assert_eq!(
        t.svc
            .resolve_taking(&staff("petr", Role::Storekeeper), id)
            .unwrap_err()
            .kind(),
        "forbidden"
    );
}

#[test]
fn broadcast_preview_applies_the_send_rules_and_writes_nothing() {
    let t = setup();
    let before = counts(&t.svc);
    let (text, n) = t
        .svc
        .broadcast_preview(
            &staff("anna", Role::Admin),
            "  Привет,\r\nмир!  \r\n",
            false,
        )
        .unwrap();
    assert_eq!((text.as_str(), n), ("Привет,\nмир!", 1));
    assert!(matches!(
        t.svc
            .broadcast_preview(&staff("olga", Role::Operator), "x", false),
        Err(ServiceError::Forbidden(_))
    ));
    let long = "я".repeat(crate::domain::validate::MAX_TEXT + 1);
    assert!(matches!(
        t.svc
            .broadcast_preview(&staff("anna", Role::Admin), &long, false),
        Err(ServiceError::Invalid(_))
    ));
    assert!(
        t.svc
            .broadcast_preview(&staff("anna", Role::Admin), "  ", false)
            .is_err()
    );
    assert!(
        t.svc
            .broadcast_preview(&staff("anna", Role::Admin), "", true)
            .is_ok(),
        "a caption may be empty"
    );
    assert_eq!(counts(&t.svc), before);
}
