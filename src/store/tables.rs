//! Every redb table definition. Keys that must sort are integers or tuples (big-endian in
//! redb's encoding); values are codec records (`&[u8]`).

use redb::TableDefinition;

pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub const SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("settings");
pub const REQUESTERS: TableDefinition<i64, &[u8]> = TableDefinition::new("users");
pub const STAFF: TableDefinition<&str, &[u8]> = TableDefinition::new("staff");
pub const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
pub const TICKETS: TableDefinition<u64, &[u8]> = TableDefinition::new("tickets");
pub const TICKET_EVENTS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("ticket_events");
pub const MESSAGES: TableDefinition<u64, &[u8]> = TableDefinition::new("messages");
pub const FAQ: TableDefinition<u64, &[u8]> = TableDefinition::new("faq");
pub const STOCK_ITEMS: TableDefinition<&str, &[u8]> = TableDefinition::new("stock_items");
pub const STOCK_MOVES: TableDefinition<u64, &[u8]> = TableDefinition::new("stock_moves");
pub const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
pub const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
pub const DIALOGS: TableDefinition<i64, &[u8]> = TableDefinition::new("dialogs");
pub const TICKET_CARDS: TableDefinition<u64, &[u8]> = TableDefinition::new("ticket_cards");
pub const IDEMPOTENCY: TableDefinition<&str, &[u8]> = TableDefinition::new("idempotency");
pub const SLA: TableDefinition<u64, &[u8]> = TableDefinition::new("sla");
/// REST API tokens by name (only hashes of the secrets).
pub const API_TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("api_tokens");
/// Stock import mapping: external code (1C article or Ид, a supplier's code) → our SKU.
pub const STOCK_SKU_MAP: TableDefinition<&str, &[u8]> = TableDefinition::new("stock_sku_map");

/// Index: (status code, ticket id).
pub const IDX_STATUS: TableDefinition<(u8, u64), ()> = TableDefinition::new("idx_tickets_status");
/// Index: (requester Telegram id, ticket id).
pub const IDX_REQUESTER: TableDefinition<(i64, u64), ()> =
    TableDefinition::new("idx_tickets_requester");
/// Index: (assignee login, ticket id).
pub const IDX_ASSIGNEE: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("idx_tickets_assignee");
/// Index: (updated time, ticket id).
pub const IDX_UPDATED: TableDefinition<(i64, u64), ()> =
    TableDefinition::new("idx_tickets_updated");
/// Index: (chat id, message id) of a card → ticket id.
pub const IDX_CARD_MESSAGE: TableDefinition<(i64, i64), u64> =
    TableDefinition::new("idx_card_message");
/// Index: (chat id, forum thread id) → ticket id.
pub const IDX_CARD_THREAD: TableDefinition<(i64, i64), u64> =
    TableDefinition::new("idx_card_thread");

/// Scratch table for the raw-insert benchmark baseline.
pub const BENCH_RAW: TableDefinition<u64, &[u8]> = TableDefinition::new("bench_raw");

/// Opens every table once so that read transactions always find them.
pub fn create_all_tables(txn: &redb::WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(META)?;
    txn.open_table(SETTINGS)?;
    txn.open_table(REQUESTERS)?;
    txn.open_table(STAFF)?;
    txn.open_table(SESSIONS)?;
    txn.open_table(TICKETS)?;
    txn.open_table(TICKET_EVENTS)?;
    txn.open_table(MESSAGES)?;
    txn.open_table(FAQ)?;
    txn.open_table(STOCK_ITEMS)?;
    txn.open_table(STOCK_MOVES)?;
    txn.open_table(OUTBOX)?;
    txn.open_table(AUDIT)?;
    txn.open_table(DIALOGS)?;
    txn.open_table(TICKET_CARDS)?;
    txn.open_table(IDEMPOTENCY)?;
    txn.open_table(SLA)?;
    txn.open_table(API_TOKENS)?;
    txn.open_table(STOCK_SKU_MAP)?;
    txn.open_table(IDX_CARD_MESSAGE)?;
    txn.open_table(IDX_CARD_THREAD)?;
    txn.open_table(IDX_STATUS)?;
    txn.open_table(IDX_REQUESTER)?;
    txn.open_table(IDX_ASSIGNEE)?;
    txn.open_table(IDX_UPDATED)?;
    Ok(())
}
