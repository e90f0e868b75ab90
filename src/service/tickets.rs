//! Ticket operations: create, status changes, assignment, replies, notes, ratings.
//!
//! Each public function is one transaction writing the ticket, its timeline entry, an audit
//! row and the notifications it causes.

use super::*;
use crate::domain::callback::Callback;
use crate::domain::validate;

/// What is needed to file a ticket.
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// Telegram id of the requester (must be registered); `None` for a caller without one.
    pub requester: Option<i64>,
    /// Name to show when there is no registered requester.
    pub requester_name: Option<String>,
    pub category: Category,
    pub priority: Priority,
    pub subject: String,
    pub description: String,
    /// (sku, quantity) for cartridge orders.
    pub order: Vec<(String, i64)>,
    pub source: Source,
    /// A key unique to the request (e.g. the Telegram update that confirmed it): a second call
    /// with the same key returns the ticket the first one created instead of filing another.
    pub idempotency_key: Option<String>,
    /// Files sent with the ticket: (Telegram file id, kind, name).
    pub attachments: Vec<(String, String, String)>,
}

impl Service {
    /// Files a ticket. A requester files for themselves; staff may file for anyone.
    pub fn create_ticket(&self, actor: &Actor, new: NewTicket) -> Result<Ticket> {
        match (actor, new.requester) {
            (Actor::Requester { tg_id }, Some(r)) if *tg_id == r => {
                require(actor, Action::CreateOwnTicket, None)?
            }
            (Actor::Requester { .. }, _) => {
                return Err(ServiceError::Forbidden(
                    "a requester files tickets only for themselves".into(),
                ));
            }
            _ => require(actor, Action::CreateTicketForOther, None)?,
        }
        let subject = validate::text("subject", &new.subject, 1, validate::MAX_SUBJECT)?;
        let description = validate::text("description", &new.description, 0, validate::MAX_TEXT)?;
        if new.category == Category::CartridgeOrder && new.order.is_empty() {
            return Err(
                ValidationError::new("order", "a cartridge order needs at least one item").into(),
            );
        }
        if new.category != Category::CartridgeOrder && !new.order.is_empty() {
            return Err(ValidationError::new("order", "only cartridge orders carry items").into());
        }
        let mut quantities = Vec::with_capacity(new.order.len());
        for (sku, q) in &new.order {
            quantities.push((validate::sku(sku)?, validate::order_quantity(*q)?));
        }
        let now = self.now();
        let mut tx = self.write()?;
        if let Some(key) = new.idempotency_key.as_deref()
            && let Some(done) = tx.idempotency(key)?
        {
            return load_ticket(&tx, done.ticket_id);
        }
        let requester = match new.requester {
            Some(id) => {
                let r = tx
                    .requester(id)?
                    .ok_or_else(|| ServiceError::NotFound(format!("requester {id}")))?;
                if r.blocked {
                    return Err(ServiceError::Forbidden("this requester is blocked".into()));
                }
                Some(r)
            }
            None => None,
        };
        let requester_name = match (&requester, new.requester_name.as_deref()) {
            (Some(r), _) => r.name.clone(),
            (None, Some(n)) => validate::person_name(n)?,
            (None, None) => {
                return Err(ValidationError::new("requester", "name the requester").into());
            }
        };
        let mut order_lines = Vec::new();
        for (sku, quantity) in quantities {
            let item = tx
                .stock_item(&sku)?
                .ok_or_else(|| ServiceError::NotFound(format!("stock item {sku}")))?;
            // An order asks for what is on the shelf (the bot offers no more).
            if quantity > item.orderable() {
                return Err(ValidationError::new(
                    "quantity",
                    format!("only {} of {sku} in stock", item.quantity.max(0)),
                )
                .into());
            }
            order_lines.push(OrderLine {
                sku,
                name: item.name,
                quantity,
            });
        }
        let id = tx.next_id(crate::store::Seq::Ticket)?;
        let mut ticket = Ticket {
            id,
            requester: new.requester,
            requester_name,
            department: requester.as_ref().and_then(|r| r.department.clone()),
            category: new.category,
            priority: new.priority,
            status: TicketStatus::New,
            assignee: None,
            subject,
            description,
            order_lines,
            source: new.source,
            created_at: now,
            updated_at: now,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
            response_due: None,
            resolve_due: None,
            rejection_reason: None,
            rating: None,
        };
        self.plan_sla(&mut tx, &mut ticket, now, false)?;
        tx.put_ticket(&ticket)?;
        if let Some(key) = new.idempotency_key {
            tx.put_idempotency(&IdempotencyRow {
                key,
                ticket_id: id,
                at: now,
            })?;
        }
        tx.add_event(id, now, actor.clone(), EventKind::Created)?;
        for (file_id, kind, name) in new.attachments.iter().take(20) {
            tx.add_event(
                id,
                now,
                actor.clone(),
                EventKind::Attachment {
                    file_id: file_id.clone(),
                    kind: kind.clone(),
                    name: name.clone(),
                },
            )?;
        }
        tx.add_audit(
            now,
            actor,
            "ticket.create",
            format!("ticket:{}", ticket.number()),
            ticket.subject.clone(),
        )?;
        if let Some(r) = &requester {
            let text = self.text_with(
                &tx,
                r.language,
                "ticket_created",
                &[("n", &ticket.number()), ("subject", &ticket.subject)],
            )?;
            self.notify_requester(&mut tx, r, &ticket, text, Markup::None, now)?;
        }
        self.refresh_card(&mut tx, &ticket, now)?;
        self.commit(tx)?;
        Ok(ticket)
    }

    /// Applies a status action (take, resolve, reject, reopen, close …) to a ticket.
    pub fn change_status(&self, actor: &Actor, id: u64, action: TicketAction) -> Result<Ticket> {
        let now = self.now();
        let mut tx = self.write()?;
        let mut t = load_ticket(&tx, id)?;
        check_ticket_action(actor, &t, &action)?;
        let from = t.status;
        let to = ticket::transition(from, &action)?;
        match &action {
            TicketAction::Take => {
                if let Actor::Staff { login, .. } = actor {
                    t.assignee = Some(login.clone());
                    tx.add_event(
                        id,
                        now,
                        actor.clone(),
                        EventKind::Assigned { to: login.clone() },
                    )?;
                }
                t.first_response_at.get_or_insert(now);
            }
            TicketAction::Reject { reason } => {
                let reason = reason.trim().to_string();
                t.rejection_reason = Some(reason.clone());
                t.first_response_at.get_or_insert(now);
                tx.add_event(id, now, actor.clone(), EventKind::Rejected { reason })?;
            }
            TicketAction::Resolve => t.resolved_at = Some(now),
            TicketAction::Close => t.closed_at = Some(now),
            TicketAction::Reopen => {
                t.resolved_at = None;
                t.closed_at = None;
                t.rejection_reason = None;
                t.rating = None;
            }
            TicketAction::Assign => {
                return Err(ValidationError::new(
                    "assignee",
                    "use assign to give a ticket to someone",
                )
                .into());
            }
            TicketAction::AskRequester | TicketAction::RequesterReplied => {}
        }
        t.status = to;
        t.updated_at = now;
        match to {
            TicketStatus::Resolved | TicketStatus::Closed | TicketStatus::Rejected => {
                tx.delete_sla_plan(id)?;
            }
            // A reopened ticket gets a fresh resolution target from now.
            TicketStatus::Reopened => self.plan_sla(&mut tx, &mut t, now, true)?,
            _ => {}
        }
        tx.put_ticket(&t)?;
        if from != to {
            tx.add_event(
                id,
                now,
                actor.clone(),
                EventKind::StatusChanged { from, to },
            )?;
        }
        tx.add_audit(
            now,
            actor,
            &format!("ticket.{}", action.name()),
            format!("ticket:{}", t.number()),
            format!("{from} -> {to}"),
        )?;
        if from != to {
            self.notify_status(&mut tx, &t, now)?;
        }
        self.refresh_card(&mut tx, &t, now)?;
        self.commit(tx)?;
        Ok(t)
    }

    /// Resolves a ticket from a card button: a ticket nobody has taken yet (new, reopened or
    /// waiting for the requester) is taken by the actor first, each step checked as usual.
    pub fn resolve_taking(&self, actor: &Actor, id: u64) -> Result<Ticket> {
        let t = load_ticket(&self.read()?, id)?;
        if matches!(
            t.status,
            TicketStatus::New | TicketStatus::Reopened | TicketStatus::WaitingRequester
        ) {
            self.change_status(actor, id, TicketAction::Take)?;
        }
        self.change_status(actor, id, TicketAction::Resolve)
    }

    /// Gives a ticket to a staff member (a new or reopened ticket moves to in progress).
    pub fn assign(&self, actor: &Actor, id: u64, login: &str) -> Result<Ticket> {
        let now = self.now();
        let mut tx = self.write()?;
        let mut t = load_ticket(&tx, id)?;
        check_ticket_action(actor, &t, &TicketAction::Assign)?;
        let staff = tx
            .staff(login)?
            .ok_or_else(|| ServiceError::NotFound(format!("staff account '{login}'")))?;
        if staff.disabled {
            return Err(ServiceError::Conflict(format!(
                "staff account '{login}' is disabled"
            )));
        }
        if !role::allowed(staff.role, Action::TakeTicket, Some(t.category)) {
            return Err(ServiceError::Conflict(format!(
                "'{login}' ({}) cannot work this ticket",
                staff.role
            )));
        }
        let from = t.status;
        let to = ticket::transition(from, &TicketAction::Assign)?;
        t.assignee = Some(staff.login.clone());
        t.status = to;
        t.updated_at = now;
        t.first_response_at.get_or_insert(now);
        tx.put_ticket(&t)?;
        tx.add_event(
            id,
            now,
            actor.clone(),
            EventKind::Assigned {
                to: staff.login.clone(),
            },
        )?;
        if from != to {
            tx.add_event(
                id,
                now,
                actor.clone(),
                EventKind::StatusChanged { from, to },
            )?;
        }
        tx.add_audit(
            now,
            actor,
            "ticket.assign",
            format!("ticket:{}", t.number()),
            staff.login.clone(),
        )?;
        if from != to {
            self.notify_status(&mut tx, &t, now)?;
        }
        self.refresh_card(&mut tx, &t, now)?;
        self.commit(tx)?;
        Ok(t)
    }

    /// A staff reply to the requester, delivered through the outbox and kept on the timeline.
    pub fn reply(&self, actor: &Actor, id: u64, text: &str) -> Result<TicketEvent> {
        let text = validate::text("text", text, 1, validate::MAX_TEXT - 200)?;
        let now = self.now();
        let mut tx = self.write()?;
        let mut t = load_ticket(&tx, id)?;
        require(actor, Action::ReplyTicket, Some(t.category))?;
        t.first_response_at.get_or_insert(now);
        t.updated_at = now;
        tx.put_ticket(&t)?;
        let ev = tx.add_event(
            id,
            now,
            actor.clone(),
            EventKind::PublicReply { text: text.clone() },
        )?;
        tx.add_audit(
            now,
            actor,
            "ticket.reply",
            format!("ticket:{}", t.number()),
            String::new(),
        )?;
        if let Some(r) = t.requester.map(|r| tx.requester(r)).transpose()?.flatten() {
            let msg = self.text_with(
                &tx,
                r.language,
                "public_reply",
                &[("n", &t.number()), ("text", &text)],
            )?;
            self.notify_requester(&mut tx, &r, &t, msg, Markup::None, now)?;
        }
        self.commit(tx)?;
        Ok(ev)
    }

    /// An internal note, seen by staff only.
    pub fn note(&self, actor: &Actor, id: u64, text: &str) -> Result<TicketEvent> {
        let text = validate::text("text", text, 1, validate::MAX_TEXT)?;
        let now = self.now();
        let mut tx = self.write()?;
        let mut t = load_ticket(&tx, id)?;
        require(actor, Action::NoteTicket, Some(t.category))?;
        t.updated_at = now;
        tx.put_ticket(&t)?;
        let ev = tx.add_event(id, now, actor.clone(), EventKind::InternalNote { text })?;
        tx.add_audit(
            now,
            actor,
            "ticket.note",
            format!("ticket:{}", t.number()),
            String::new(),
        )?;
        self.commit(tx)?;
        Ok(ev)
    }

    /// A message from the requester on their ticket; a ticket waiting for them goes back to work.
    pub fn requester_message(&self, tg_id: i64, id: u64, text: &str) -> Result<TicketEvent> {
        let text = validate::text("text", text, 1, validate::MAX_TEXT)?;
        let actor = Actor::Requester { tg_id };
        let now = self.now();
        let mut tx = self.write()?;
        let mut t = load_ticket(&tx, id)?;
        if t.requester != Some(tg_id) {
            return Err(ServiceError::NotFound(format!("ticket #{id}")));
        }
        // In a forum staff group the ticket's topic is its conversation: the message goes there.
        if let Some(card) = tx.ticket_card(id)?
            && let Some(thread) = card.thread_id
        {
            let lang = self.config().default_language;
            let body = self.text_with(
                &tx,
                lang,
                "staff.requester_wrote",
                &[
                    ("name", &t.requester_name),
                    ("n", &t.number()),
                    ("text", &text),
                ],
            )?;
            tx.add_outbox(
                now,
                OutboxMessage::Telegram {
                    chat_id: card.chat_id,
                    text: fit_message(&body),
                    markup: Markup::None,
                    thread_id: Some(thread),
                    reply_to: None,
                    media: None,
                },
                Some(id),
            )?;
        }
        let ev = tx.add_event(id, now, actor.clone(), EventKind::InboundMessage { text })?;
        if t.status == TicketStatus::WaitingRequester {
            let to = ticket::transition(t.status, &TicketAction::RequesterReplied)?;
            tx.add_event(
                id,
                now,
                actor.clone(),
                EventKind::StatusChanged { from: t.status, to },
            )?;
            t.status = to;
        }
        t.updated_at = now;
        tx.put_ticket(&t)?;
        tx.add_audit(
            now,
            &actor,
            "ticket.message",
            format!("ticket:{}", t.number()),
            String::new(),
        )?;
        self.refresh_card(&mut tx, &t, now)?;
        self.commit(tx)?;
        Ok(ev)
    }

    /// The requester rates a resolved or closed ticket (1–5).
    pub fn rate(&self, actor: &Actor, id: u64, stars: i64) -> Result<Ticket> {
        let stars = validate::rating(stars)?;
        let now = self.now();
        let mut tx = self.write()?;
        let mut t = load_ticket(&tx, id)?;
        match actor {
            Actor::Requester { tg_id } if t.requester == Some(*tg_id) => {}
            _ => {
                return Err(ServiceError::Forbidden(
                    "only the requester rates a ticket".into(),
                ));
            }
        }
        if !matches!(t.status, TicketStatus::Resolved | TicketStatus::Closed) {
            return Err(ServiceError::Conflict(format!(
                "ticket {} is {}, not resolved",
                t.number(),
                t.status
            )));
        }
        t.rating = Some(stars);
        t.updated_at = now;
        tx.put_ticket(&t)?;
        tx.add_event(id, now, actor.clone(), EventKind::Rated { stars })?;
        tx.add_audit(
            now,
            actor,
            "ticket.rate",
            format!("ticket:{}", t.number()),
            stars.to_string(),
        )?;
        self.commit(tx)?;
        Ok(t)
    }

    /// Changes a ticket's priority.
    pub fn set_priority(&self, actor: &Actor, id: u64, priority: Priority) -> Result<Ticket> {
        let now = self.now();
        let mut tx = self.write()?;
        let mut t = load_ticket(&tx, id)?;
        require(actor, Action::ChangePriority, Some(t.category))?;
        let from = t.priority;
        if from == priority {
            return Ok(t);
        }
        t.priority = priority;
        t.updated_at = now;
        if t.status.is_open() {
            // New targets count from the change.
            let responded = t.first_response_at.is_some();
            self.plan_sla(&mut tx, &mut t, now, responded)?;
        }
        tx.put_ticket(&t)?;
        tx.add_event(
            id,
            now,
            actor.clone(),
            EventKind::PriorityChanged { from, to: priority },
        )?;
        tx.add_audit(
            now,
            actor,
            "ticket.priority",
            format!("ticket:{}", t.number()),
            format!("{from} -> {priority}"),
        )?;
        self.refresh_card(&mut tx, &t, now)?;
        self.commit(tx)?;
        Ok(t)
    }

    /// A ticket as `actor` may see it: staff see every ticket, requesters only theirs.
    pub fn ticket_for(&self, actor: &Actor, id: u64) -> Result<Ticket> {
        let tx = self.read()?;
        let t = load_ticket(&tx, id)?;
        match actor {
            Actor::Requester { tg_id } if t.requester != Some(*tg_id) => {
                Err(ServiceError::NotFound(format!("ticket #{id}")))
            }
            Actor::Requester { .. } => Ok(t),
            _ => {
                require(actor, Action::ViewAllTickets, None)?;
                Ok(t)
            }
        }
    }

    /// A ticket and the part of its timeline `actor` may see: requesters see their own
    /// tickets without internal notes; staff who may view tickets see everything.
    pub fn timeline_for(&self, actor: &Actor, id: u64) -> Result<(Ticket, Vec<TicketEvent>)> {
        let t = self.ticket_for(actor, id)?;
        let events = self.read()?.ticket_events(id)?;
        let events = match actor {
            Actor::Requester { .. } => events
                .into_iter()
                .filter(|e| !matches!(e.kind, EventKind::InternalNote { .. }))
                .collect(),
            _ => events,
        };
        Ok((t, events))
    }

    fn notify_status(&self, tx: &mut WriteTx, t: &Ticket, now: Timestamp) -> Result<()> {
        let Some(r) = t.requester.map(|r| tx.requester(r)).transpose()?.flatten() else {
            return Ok(());
        };
        let number = t.number();
        let text = match t.status {
            TicketStatus::Rejected => self.text_with(
                tx,
                r.language,
                "rejected",
                &[
                    ("n", &number),
                    ("reason", t.rejection_reason.as_deref().unwrap_or("")),
                ],
            )?,
            TicketStatus::Resolved => {
                self.text_with(tx, r.language, "resolved", &[("n", &number)])?
            }
            s => {
                let status = self.text(tx, r.language, &format!("status.{}", s.as_str()))?;
                self.text_with(
                    tx,
                    r.language,
                    "status_changed",
                    &[("n", &number), ("status", &status)],
                )?
            }
        };
        let markup = match t.status {
            TicketStatus::Resolved => Markup::inline(vec![vec![
                (
                    self.text(tx, r.language, "btn.confirm")?,
                    cb(Callback::Confirm(t.id)),
                ),
                (
                    self.text(tx, r.language, "btn.reopen")?,
                    cb(Callback::ReopenOwn(t.id)),
                ),
            ]]),
            TicketStatus::Closed if t.rating.is_none() => Markup::inline(vec![
                (1..=5u8)
                    .map(|s| ("⭐".repeat(s as usize), cb(Callback::Rate(t.id, s))))
                    .collect(),
            ]),
            _ => Markup::None,
        };
        self.notify_requester(tx, &r, t, text, markup, now)
    }

    /// Queues a Telegram message (and an e-mail, when enabled and known) to the requester.
    fn notify_requester(
        &self,
        tx: &mut WriteTx,
        r: &Requester,
        t: &Ticket,
        text: String,
        markup: Markup,
        now: Timestamp,
    ) -> Result<()> {
        if let (true, Some(to)) = (self.config().email_enabled, r.email.clone()) {
            let subject = self.text_with(
                tx,
                r.language,
                "email_subject",
                &[("n", &t.number()), ("subject", &t.subject)],
            )?;
            tx.add_outbox(
                now,
                OutboxMessage::Email {
                    to,
                    subject,
                    text: text.clone(),
                    html: None,
                    attachments: vec![],
                },
                Some(t.id),
            )?;
        }
        if r.active && !r.blocked {
            tx.add_outbox(
                now,
                OutboxMessage::Telegram {
                    chat_id: r.tg_id,
                    text,
                    markup,
                    thread_id: None,
                    reply_to: None,
                    media: None,
                },
                Some(t.id),
            )?;
        }
        Ok(())
    }

    /// Queues a refresh of the ticket's card in the staff group, when there is one.
    fn refresh_card(&self, tx: &mut WriteTx, t: &Ticket, now: Timestamp) -> Result<()> {
        if self.config().staff_chat_id != 0 {
            tx.add_outbox(
                now,
                OutboxMessage::TicketCard { ticket_id: t.id },
                Some(t.id),
            )?;
        }
        Ok(())
    }
}

impl Service {
    /// Sets a ticket's due times from the SLA policy, counted from `now`, and (re)writes its
    /// SLA plan. `responded`: the first response already happened, so only the resolution
    /// target is watched.
    fn plan_sla(
        &self,
        tx: &mut WriteTx,
        t: &mut Ticket,
        now: Timestamp,
        responded: bool,
    ) -> Result<()> {
        let Some(policy) = &self.config().sla else {
            return Ok(());
        };
        let due = policy.due(now, t.priority);
        if !responded {
            t.response_due = Some(due.response_due);
        }
        t.resolve_due = Some(due.resolve_due);
        let sent = if responded {
            SlaPlan::RESPONSE_REMINDED | SlaPlan::RESPONSE_BREACHED
        } else {
            0
        };
        tx.put_sla_plan(&SlaPlan {
            ticket_id: t.id,
            response_remind: due.response_remind,
            response_due: due.response_due,
            resolve_remind: due.resolve_remind,
            resolve_due: due.resolve_due,
            sent,
        })?;
        Ok(())
    }
}

/// Callback data of a button; ids keep every form well under Telegram's 64 bytes.
fn cb(c: Callback) -> String {
    c.encode().expect("ticket callbacks fit in 64 bytes")
}

fn load_ticket(tx: &impl Reads, id: u64) -> Result<Ticket> {
    tx.ticket(id)?
        .ok_or_else(|| ServiceError::NotFound(format!("ticket #{id}")))
}

/// Who may apply a status action: staff by role (storekeepers on cartridge orders only), the
/// requester on their own ticket to confirm (close) or reopen.
fn check_ticket_action(actor: &Actor, t: &Ticket, action: &TicketAction) -> Result<()> {
    if let Actor::Requester { tg_id } = actor {
        if t.requester != Some(*tg_id) {
            return Err(ServiceError::NotFound(format!("ticket #{}", t.id)));
        }
        return match action {
            TicketAction::Close | TicketAction::Reopen | TicketAction::RequesterReplied => {
                require(actor, Action::ActOnOwnTicket, None)
            }
            _ => Err(ServiceError::Forbidden(format!(
                "a requester cannot {} a ticket",
                action.name()
            ))),
        };
    }
    let needed = match action {
        TicketAction::Take | TicketAction::AskRequester | TicketAction::RequesterReplied => {
            Action::TakeTicket
        }
        TicketAction::Assign => Action::AssignTicket,
        TicketAction::Resolve | TicketAction::Close => Action::ResolveTicket,
        TicketAction::Reject { .. } => Action::RejectTicket,
        TicketAction::Reopen => Action::ReopenTicket,
    };
    require(actor, needed, Some(t.category))
}

#[cfg(test)]
mod timeline_tests {
    use super::*;
    use crate::service::testing::service;

    #[test]
    fn requesters_see_their_timeline_without_internal_notes_and_never_anothers() {
        let t = service();
        for (id, name) in [(1, "Иван Петров"), (2, "Ольга Сидорова")] {
            t.svc
                .register_requester(id, name, None, None, None, None)
                .unwrap();
        }
        let new = |r: i64| NewTicket {
            requester: Some(r),
            requester_name: None,
            category: Category::Printer,
            priority: Priority::Normal,
            subject: "Принтер".into(),
            description: "Мнёт бумагу".into(),
            order: vec![],
            source: Source::MiniApp,
            idempotency_key: None,
            attachments: vec![],
        };
        let mine = t
            .svc
            .create_ticket(&Actor::Requester { tg_id: 1 }, new(1))
            .unwrap();
        let theirs = t
            .svc
            .create_ticket(&Actor::Requester { tg_id: 2 }, new(2))
            .unwrap();
        t.svc
            .note(&Actor::Cli, mine.id, "internal: toner on order")
            .unwrap();
        t.svc.reply(&Actor::Cli, mine.id, "We are on it").unwrap();

        let me = Actor::Requester { tg_id: 1 };
        let (tk, events) = t.svc.timeline_for(&me, mine.id).unwrap();
        assert_eq!(tk.id, mine.id);
        assert_eq!(tk.source, Source::MiniApp);
        assert!(matches!(events[0].kind, EventKind::Created));
        assert!(
            events.iter().any(
                |e| matches!(&e.kind, EventKind::PublicReply { text } if text == "We are on it")
            )
        );
        assert!(
            !events
                .iter()
                .any(|e| matches!(e.kind, EventKind::InternalNote { .. })),
            "internal notes are staff-only"
        );
        // Staff see everything.
        let (_, all) = t.svc.timeline_for(&Actor::Cli, mine.id).unwrap();
        assert!(
            all.iter()
                .any(|e| matches!(e.kind, EventKind::InternalNote { .. }))
        );
        // Someone else's ticket does not exist for me.
        let e = t.svc.timeline_for(&me, theirs.id).unwrap_err();
        assert_eq!(e.kind(), "not_found");
    }
}
