//! Plain types and business rules of helpdesk: tickets and their status machine, roles and
//! permissions, requesters and staff, stock, FAQ and input validation.
//!
//! **Architecture invariant:** nothing here does I/O or knows an async runtime. Times are UTC
//! unix seconds (`i64`) so that rules can be tested with any clock.

pub mod api_token;
pub mod callback;
pub mod faq;
pub mod people;
pub mod record;
pub mod role;
pub mod sla;
pub mod stock;
pub mod texts;
pub mod ticket;
pub mod validate;

pub use api_token::{ApiScope, ApiToken};
pub use faq::FaqEntry;
pub use people::{Language, Requester, Staff};
pub use record::{
    AuditEntry, Button, CardRef, DialogRow, Direction, EmailAttachment, IdempotencyRow, Markup,
    Media, MessageLog, OutboxMessage, OutboxRow, Session, Setting, SlaPlan,
};
pub use role::{Action, Actor, Role};
pub use stock::{MoveReason, SkuMapping, StockItem, StockKind, StockMove};
pub use ticket::{
    Category, EventKind, OrderLine, Priority, Source, Ticket, TicketAction, TicketEvent,
    TicketStatus, TransitionError,
};
pub use validate::ValidationError;

/// UTC unix time in seconds.
pub type Timestamp = i64;
