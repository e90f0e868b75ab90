//! Tickets: categories, priorities, the status machine and the timeline entries.
//!
//! The lifecycle is `new → in_progress → (waiting_requester ↔ in_progress) → resolved → closed`;
//! `new|in_progress → rejected` (a reason is required); `resolved|closed|rejected → reopened`,
//! and a reopened ticket is taken again like a new one. Every other move is an error.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::Timestamp;
use super::role::Actor;

/// Where a ticket is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    New,
    InProgress,
    WaitingRequester,
    Resolved,
    Closed,
    Rejected,
    Reopened,
}

impl TicketStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [TicketStatus; 7] = [
        TicketStatus::New,
        TicketStatus::InProgress,
        TicketStatus::WaitingRequester,
        TicketStatus::Resolved,
        TicketStatus::Closed,
        TicketStatus::Rejected,
        TicketStatus::Reopened,
    ];

    /// Stable machine name, as used in URLs, JSON and config.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::New => "new",
            TicketStatus::InProgress => "in_progress",
            TicketStatus::WaitingRequester => "waiting_requester",
            TicketStatus::Resolved => "resolved",
            TicketStatus::Closed => "closed",
            TicketStatus::Rejected => "rejected",
            TicketStatus::Reopened => "reopened",
        }
    }

    /// Key of the status's name among the bot texts (`status.<name>`).
    pub fn text_key(self) -> &'static str {
        match self {
            TicketStatus::New => "status.new",
            TicketStatus::InProgress => "status.in_progress",
            TicketStatus::WaitingRequester => "status.waiting_requester",
            TicketStatus::Resolved => "status.resolved",
            TicketStatus::Closed => "status.closed",
            TicketStatus::Rejected => "status.rejected",
            TicketStatus::Reopened => "status.reopened",
        }
    }

    pub fn parse(s: &str) -> Option<TicketStatus> {
        TicketStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// One byte code used in storage keys; stable across versions.
    pub fn code(self) -> u8 {
        match self {
            TicketStatus::New => 1,
            TicketStatus::InProgress => 2,
            TicketStatus::WaitingRequester => 3,
            TicketStatus::Resolved => 4,
            TicketStatus::Closed => 5,
            TicketStatus::Rejected => 6,
            TicketStatus::Reopened => 7,
        }
    }

    /// A ticket in an open status still needs work from staff or the requester.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TicketStatus::New
                | TicketStatus::InProgress
                | TicketStatus::WaitingRequester
                | TicketStatus::Reopened
        )
    }
}

impl fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What someone does to a ticket's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketAction {
    /// A staff member takes the ticket for themselves.
    Take,
    /// The ticket is given to a staff member (a status move only from new/reopened).
    Assign,
    /// Staff asks the requester for more information.
    AskRequester,
    /// The requester answered while the ticket waited for them.
    RequesterReplied,
    Resolve,
    /// The requester confirms the resolution (or it is closed automatically).
    Close,
    /// Rejection always carries a non-empty reason.
    Reject {
        reason: String,
    },
    Reopen,
}

impl TicketAction {
    pub fn name(&self) -> &'static str {
        match self {
            TicketAction::Take => "take",
            TicketAction::Assign => "assign",
            TicketAction::AskRequester => "ask_requester",
            TicketAction::RequesterReplied => "requester_replied",
            TicketAction::Resolve => "resolve",
            TicketAction::Close => "close",
            TicketAction::Reject { .. } => "reject",
            TicketAction::Reopen => "reopen",
        }
    }
}

/// Why a status change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("a ticket that is {from} cannot be {action}: not allowed")]
    Illegal {
        from: TicketStatus,
        action: &'static str,
    },
    #[error("a reason is required to reject a ticket")]
    ReasonRequired,
    #[error("the rejection reason is too long (at most {max} characters)")]
    ReasonTooLong { max: usize },
}

/// Longest rejection reason accepted.
pub const MAX_REASON_CHARS: usize = 1000;

/// The status machine: where `action` takes a ticket that is `from`.
///
/// `Assign` on a ticket already in progress or waiting changes the assignee only, so it returns
/// the same status.
pub fn transition(
    from: TicketStatus,
    action: &TicketAction,
) -> Result<TicketStatus, TransitionError> {
    use TicketAction as A;
    use TicketStatus as S;
    if let A::Reject { reason } = action {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(TransitionError::ReasonRequired);
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(TransitionError::ReasonTooLong {
                max: MAX_REASON_CHARS,
            });
        }
    }
    let to = match (from, action) {
        (S::New | S::Reopened, A::Take | A::Assign) => S::InProgress,
        (S::InProgress, A::Take | A::Assign) => S::InProgress,
        (S::WaitingRequester, A::Assign) => S::WaitingRequester,
        (S::InProgress, A::AskRequester) => S::WaitingRequester,
        (S::WaitingRequester, A::RequesterReplied | A::Take) => S::InProgress,
        (S::InProgress, A::Resolve) => S::Resolved,
        (S::Resolved, A::Close) => S::Closed,
        (S::New | S::InProgress, A::Reject { .. }) => S::Rejected,
        (S::Resolved | S::Closed | S::Rejected, A::Reopen) => S::Reopened,
        _ => {
            return Err(TransitionError::Illegal {
                from,
                action: action.name(),
            });
        }
    };
    Ok(to)
}

/// How urgent a ticket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Critical,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a ticket is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Hardware,
    Software,
    Network,
    Printer,
    /// An order of printer cartridges or other consumables; carries order lines.
    CartridgeOrder,
    Access,
    /// A question the FAQ could not answer, handed to a human.
    Conversation,
    Other,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Hardware,
        Category::Software,
        Category::Network,
        Category::Printer,
        Category::CartridgeOrder,
        Category::Access,
        Category::Conversation,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Hardware => "hardware",
            Category::Software => "software",
            Category::Network => "network",
            Category::Printer => "printer",
            Category::CartridgeOrder => "cartridge_order",
            Category::Access => "access",
            Category::Conversation => "conversation",
            Category::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a ticket came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Telegram,
    MiniApp,
    Panel,
    Api,
    Cli,
}

/// One line of a cartridge order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
}

/// A request for help, numbered 1, 2, 3 … and shown as `#N`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: u64,
    /// Telegram id of the requester; `None` for a ticket filed by staff for a caller.
    pub requester: Option<i64>,
    /// Requester's name as known when the ticket was filed.
    pub requester_name: String,
    pub department: Option<String>,
    pub category: Category,
    pub priority: Priority,
    pub status: TicketStatus,
    /// Login of the staff member working on it.
    pub assignee: Option<String>,
    pub subject: String,
    pub description: String,
    pub order_lines: Vec<OrderLine>,
    pub source: Source,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub first_response_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    /// SLA: when the first response is due.
    pub response_due: Option<Timestamp>,
    /// SLA: when the resolution is due.
    pub resolve_due: Option<Timestamp>,
    pub rejection_reason: Option<String>,
    /// 1–5 stars given by the requester.
    pub rating: Option<u8>,
}

impl Ticket {
    /// `#N`, as tickets are shown everywhere.
    pub fn number(&self) -> String {
        format!("#{}", self.id)
    }
}

/// Longest subject derived from a description.
pub const DERIVED_SUBJECT: usize = 80;

/// The subject of a ticket filed by a requester: the first line of the description, or
/// `fallback` (the category's name) when that is empty, cut to [`DERIVED_SUBJECT`] characters.
pub fn subject_from(description: &str, fallback: &str) -> String {
    let first = description.lines().next().unwrap_or("").trim();
    let base = if first.is_empty() {
        fallback.trim()
    } else {
        first
    };
    base.chars().take(DERIVED_SUBJECT).collect()
}

/// One entry of a ticket's timeline, keyed by (ticket id, sequence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEvent {
    pub ticket_id: u64,
    pub seq: u64,
    pub at: Timestamp,
    pub actor: Actor,
    pub kind: EventKind,
}

/// What happened on a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Created,
    StatusChanged {
        from: TicketStatus,
        to: TicketStatus,
    },
    Assigned {
        to: String,
    },
    PriorityChanged {
        from: Priority,
        to: Priority,
    },
    /// A reply staff sent to the requester.
    PublicReply {
        text: String,
    },
    /// A note only staff see.
    InternalNote {
        text: String,
    },
    /// A message the requester sent.
    InboundMessage {
        text: String,
    },
    Attachment {
        file_id: String,
        kind: String,
        name: String,
    },
    Rejected {
        reason: String,
    },
    Rated {
        stars: u8,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use TicketAction as A;
    use TicketStatus as S;

    #[test]
    fn subject_is_the_first_line_or_the_category() {
        assert_eq!(
            subject_from("  Paper jam\nin room 5", "Printer"),
            "Paper jam"
        );
        assert_eq!(subject_from("\nsecond line", "Printer"), "Printer");
        assert_eq!(subject_from("", " Cartridge order "), "Cartridge order");
        assert_eq!(
            subject_from(&"я".repeat(100), "x").chars().count(),
            DERIVED_SUBJECT
        );
    }

    fn actions() -> Vec<TicketAction> {
        vec![
            A::Take,
            A::Assign,
            A::AskRequester,
            A::RequesterReplied,
            A::Resolve,
            A::Close,
            A::Reject {
                reason: "duplicate".into(),
            },
            A::Reopen,
        ]
    }

    /// The whole legal table; every (status, action) pair not listed must be refused.
    const LEGAL: &[(S, &str, S)] = &[
        (S::New, "take", S::InProgress),
        (S::New, "assign", S::InProgress),
        (S::New, "reject", S::Rejected),
        (S::Reopened, "take", S::InProgress),
        (S::Reopened, "assign", S::InProgress),
        (S::InProgress, "take", S::InProgress),
        (S::InProgress, "assign", S::InProgress),
        (S::InProgress, "ask_requester", S::WaitingRequester),
        (S::InProgress, "resolve", S::Resolved),
        (S::InProgress, "reject", S::Rejected),
        (S::WaitingRequester, "assign", S::WaitingRequester),
        (S::WaitingRequester, "requester_replied", S::InProgress),
        (S::WaitingRequester, "take", S::InProgress),
        (S::Resolved, "close", S::Closed),
        (S::Resolved, "reopen", S::Reopened),
        (S::Closed, "reopen", S::Reopened),
        (S::Rejected, "reopen", S::Reopened),
    ];

    #[test]
    fn every_transition_is_legal_exactly_as_the_table_says() {
        let mut legal_seen = 0;
        for from in S::ALL {
            for action in actions() {
                let expected = LEGAL
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action.name())
                    .map(|(_, _, to)| *to);
                let got = transition(from, &action);
                match expected {
                    Some(to) => {
                        assert_eq!(got, Ok(to), "{from} --{}-->", action.name());
                        legal_seen += 1;
                    }
                    None => assert_eq!(
                        got,
                        Err(TransitionError::Illegal {
                            from,
                            action: action.name()
                        }),
                        "{from} --{}--> must be refused",
                        action.name()
                    ),
                }
            }
        }
        assert_eq!(legal_seen, LEGAL.len());
    }

    #[test]
    fn rejection_needs_a_reason() {
        for reason in ["", "   ", "\n\t"] {
            assert_eq!(
                transition(
                    S::New,
                    &A::Reject {
                        reason: reason.into()
                    }
                ),
                Err(TransitionError::ReasonRequired)
            );
        }
        let long = "x".repeat(MAX_REASON_CHARS + 1);
        assert_eq!(
            transition(S::New, &A::Reject { reason: long }),
            Err(TransitionError::ReasonTooLong {
                max: MAX_REASON_CHARS
            })
        );
        let exact = "я".repeat(MAX_REASON_CHARS);
        assert_eq!(
            transition(S::InProgress, &A::Reject { reason: exact }),
            Ok(S::Rejected)
        );
    }

    #[test]
    fn terminal_states_only_reopen() {
        for from in [S::Closed, S::Rejected] {
            for action in actions() {
                let ok = transition(from, &action).is_ok();
                assert_eq!(ok, action == A::Reopen, "{from} {}", action.name());
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
        for p in Priority::ALL {
            assert_eq!(Priority::parse(p.as_str()), Some(p));
        }
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
        }
        let codes: std::collections::BTreeSet<u8> = S::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(codes.len(), S::ALL.len());
        assert_eq!(S::parse("bogus"), None);
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        fn action_strategy() -> impl Strategy<Value = TicketAction> {
            prop_oneof![
                Just(A::Take),
                Just(A::Assign),
                Just(A::AskRequester),
                Just(A::RequesterReplied),
                Just(A::Resolve),
                Just(A::Close),
                ".{0,20}".prop_map(|r| A::Reject { reason: r }),
                Just(A::Reopen),
            ]
        }

        proptest! {
            /// Any sequence of actions, applying only the accepted ones, keeps the invariants:
            /// rejected is reached only with a reason, closed only from resolved, and a
            /// refused action never changes the status.
            #[test]
            fn random_walks_keep_invariants(seq in proptest::collection::vec(action_strategy(), 0..60)) {
                let mut status = S::New;
                for action in seq {
                    if let Ok(to) = transition(status, &action) {
                        if to == S::Rejected {
                            if let A::Reject { reason } = &action {
                                prop_assert!(!reason.trim().is_empty());
                            } else {
                                prop_assert!(false, "rejected without reject");
                            }
                        }
                        if to == S::Closed { prop_assert_eq!(status, S::Resolved); }
                        if to == S::Reopened { prop_assert!(!status.is_open()); }
                        status = to;
                    }
                }
            }
        }
    }
}
