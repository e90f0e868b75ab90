//! Storage: the one redb file, every table definition, secondary indexes, sequences and the
//! schema version.
//!
//! **Architecture invariant:** only this module imports redb and names tables. Callers get a
//! [`ReadTx`] or [`WriteTx`] and speak in domain types; [`Reads`] gives both the same queries.

pub mod codec;
mod tables;

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::*;
pub use codec::CodecError;
use tables::*;

/// The schema version this build writes. Bump it together with a new arm in [`migrate`].
pub const SCHEMA_VERSION: u64 = 1;

/// Name of the database file inside the data folder.
pub const DB_FILE: &str = "helpdesk.redb";

/// The furthest ahead an outbox retry is planned by back-off (at most an hour), with a margin.
/// A row planned further ahead is offered again: a clock set back would otherwise hold it for
/// as long as the jump. (A longer Telegram `retry_after` is still honoured: the sender pauses
/// every call for it by the monotonic clock.)
const OUTBOX_MAX_DELAY: i64 = 3600 + 300;
/// redb's page cache. Its default (1 GiB) would let a long-running server grow with the
/// database; the operating system's file cache still holds the rest of the file.
const CACHE_BYTES: usize = 32 << 20;

/// What went wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (usually a running `helpdesk serve`) holds the file lock.
    #[error("the database {0} is in use by another helpdesk process")]
    Locked(PathBuf),
    #[error(
        "the database {path} was written by a newer helpdesk (schema {found}; this build knows up to {supported}): upgrade helpdesk"
    )]
    TooNew {
        path: PathBuf,
        found: u64,
        supported: u64,
    },
    #[error("cannot open the database {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("a record in table '{table}' is damaged: {source}")]
    Codec {
        table: &'static str,
        source: CodecError,
    },
    #[error("table '{table}' line {line}: {reason}")]
    Import {
        table: String,
        line: u64,
        reason: String,
    },
    #[error("database error: {0}")]
    Db(String),
}

macro_rules! db_error {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.to_string())
            }
        }
    )*};
}
db_error!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::Error
);

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Named sequences handing out ids.
#[derive(Debug, Clone, Copy)]
pub enum Seq {
    Ticket,
    Outbox,
    Audit,
    Message,
    StockMove,
    Faq,
    Broadcast,
}

impl Seq {
    fn key(self) -> &'static str {
        match self {
            Seq::Ticket => "seq.ticket",
            Seq::Outbox => "seq.outbox",
            Seq::Audit => "seq.audit",
            Seq::Message => "seq.message",
            Seq::StockMove => "seq.stock_move",
            Seq::Faq => "seq.faq",
            Seq::Broadcast => "seq.broadcast",
        }
    }
}

/// The open database.
pub struct Store {
    db: Database,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (or creates) `helpdesk.redb` in `data_dir`, creating the folder, every table and
    /// running migrations. Fails with [`StoreError::Locked`] when another process has it open.
    pub fn open(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Open {
            path: data_dir.to_path_buf(),
            reason: format!("cannot create the data folder: {e}"),
        })?;
        let path = data_dir.join(DB_FILE);
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked(path.clone()),
                other => StoreError::Open {
                    path: path.clone(),
                    reason: other.to_string(),
                },
            })?;
        let store = Store { db, path };
        store.init()?;
        Ok(store)
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size of the database file in bytes.
    pub fn file_size(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }

    fn init(&self) -> Result<()> {
        let txn = self.db.begin_write()?;
        create_all_tables(&txn)?;
        let found = {
            let meta = txn.open_table(META)?;
            meta.get("schema_version")?.map(|v| v.value())
        };
        match found {
            None => {
                txn.open_table(META)?
                    .insert("schema_version", SCHEMA_VERSION)?;
            }
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StoreError::TooNew {
                    path: self.path.clone(),
                    found: v,
                    supported: SCHEMA_VERSION,
                });
            }
            Some(v) if v < SCHEMA_VERSION => {
                migrate(&txn, v)?;
                txn.open_table(META)?
                    .insert("schema_version", SCHEMA_VERSION)?;
            }
            Some(_) => {}
        }
        txn.commit()?;
        Ok(())
    }

    /// Starts a read transaction: a consistent view while writers go on.
    pub fn read(&self) -> Result<ReadTx> {
        Ok(ReadTx {
            txn: self.db.begin_read()?,
        })
    }

    /// Starts the (single) write transaction; durable on commit.
    pub fn write(&self) -> Result<WriteTx> {
        Ok(WriteTx {
            txn: self.db.begin_write()?,
            outbox_added: false,
        })
    }

    /// Durable single-row insert into a scratch table: the raw redb baseline for benchmarks.
    pub fn bench_raw_insert(&self, key: u64, value: &[u8]) -> Result<()> {
        let txn = self.db.begin_write()?;
        txn.open_table(BENCH_RAW)?.insert(key, value)?;
        txn.commit()?;
        Ok(())
    }
}

/// Upgrades a database from schema `from` to [`SCHEMA_VERSION`] inside the open transaction.
fn migrate(_txn: &redb::WriteTransaction, from: u64) -> Result<()> {
    match from {
        // Schema 1 is the first; later versions add an arm per step here.
        1 => Ok(()),
        other => Err(StoreError::Db(format!("no migration from schema {other}"))),
    }
}

/// A read transaction.
pub struct ReadTx {
    txn: redb::ReadTransaction,
}

/// The write transaction: everything in it commits together or not at all.
pub struct WriteTx {
    txn: redb::WriteTransaction,
    outbox_added: bool,
}

/// Gives read queries access to tables; implemented by both transactions.
#[doc(hidden)]
pub trait TableSource {
    type Table<'a, K: redb::Key + 'static, V: redb::Value + 'static>: ReadableTable<K, V>
    where
        Self: 'a;
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<Self::Table<'_, K, V>>;
}

impl TableSource for ReadTx {
    type Table<'a, K: redb::Key + 'static, V: redb::Value + 'static> = redb::ReadOnlyTable<K, V>;
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<Self::Table<'_, K, V>> {
        Ok(self.txn.open_table(def)?)
    }
}

impl TableSource for WriteTx {
    type Table<'a, K: redb::Key + 'static, V: redb::Value + 'static> = redb::Table<'a, K, V>;
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<Self::Table<'_, K, V>> {
        Ok(self.txn.open_table(def)?)
    }
}

fn dec<T: DeserializeOwned>(table: &'static str, bytes: &[u8]) -> Result<T> {
    codec::decode(bytes).map_err(|source| StoreError::Codec { table, source })
}

/// Filter for ticket lists; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    /// Any of these statuses (empty: any status).
    pub statuses: Vec<TicketStatus>,
    pub priority: Option<Priority>,
    pub category: Option<Category>,
    pub assignee: Option<String>,
    pub requester: Option<i64>,
    pub department: Option<String>,
    /// Created at or after.
    pub created_from: Option<Timestamp>,
    /// Created before.
    pub created_to: Option<Timestamp>,
    /// Words that must all appear (case-insensitive) in the number, subject, description or
    /// requester's name.
    pub text: Option<String>,
    /// Only these tickets (the hits of a full-text search), visited highest id first.
    pub ids: Option<Vec<u64>>,
}

impl TicketFilter {
    fn matches(&self, t: &Ticket) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&t.status))
            && self.priority.is_none_or(|p| p == t.priority)
            && self.category.is_none_or(|c| c == t.category)
            && self
                .assignee
                .as_ref()
                .is_none_or(|a| t.assignee.as_ref() == Some(a))
            && self.requester.is_none_or(|r| t.requester == Some(r))
            && self
                .department
                .as_ref()
                .is_none_or(|d| t.department.as_ref() == Some(d))
            && self.created_from.is_none_or(|f| t.created_at >= f)
            && self.created_to.is_none_or(|to| t.created_at < to)
            && self.text.as_deref().is_none_or(|q| text_matches(t, q))
    }
}

fn text_matches(t: &Ticket, q: &str) -> bool {
    let hay = format!(
        "#{} {} {} {}",
        t.id, t.subject, t.description, t.requester_name
    )
    .to_lowercase();
    q.to_lowercase().split_whitespace().all(|w| hay.contains(w))
}

/// A stored ticket without its description: `Ticket`'s fields in `Ticket`'s order (bincode is
/// positional), the description read past as bytes — no UTF-8 check, no copy. A unit test
/// decodes a full ticket through it, so a field added to `Ticket` only fails there first.
#[derive(serde::Deserialize)]
struct TicketHead {
    id: u64,
    requester: Option<i64>,
    requester_name: String,
    department: Option<String>,
    category: Category,
    priority: Priority,
    status: TicketStatus,
    assignee: Option<String>,
    subject: String,
    #[allow(dead_code)] // read past, never used
    description: SkippedBytes,
    order_lines: Vec<crate::domain::OrderLine>,
    source: crate::domain::Source,
    created_at: crate::domain::Timestamp,
    updated_at: crate::domain::Timestamp,
    first_response_at: Option<crate::domain::Timestamp>,
    resolved_at: Option<crate::domain::Timestamp>,
    closed_at: Option<crate::domain::Timestamp>,
    response_due: Option<crate::domain::Timestamp>,
    resolve_due: Option<crate::domain::Timestamp>,
    rejection_reason: Option<String>,
    rating: Option<u8>,
}

impl From<TicketHead> for Ticket {
    fn from(h: TicketHead) -> Ticket {
        Ticket {
            id: h.id,
            requester: h.requester,
            requester_name: h.requester_name,
            department: h.department,
            category: h.category,
            priority: h.priority,
            status: h.status,
            assignee: h.assignee,
            subject: h.subject,
            description: String::new(),
            order_lines: h.order_lines,
            source: h.source,
            created_at: h.created_at,
            updated_at: h.updated_at,
            first_response_at: h.first_response_at,
            resolved_at: h.resolved_at,
            closed_at: h.closed_at,
            response_due: h.response_due,
            resolve_due: h.resolve_due,
            rejection_reason: h.rejection_reason,
            rating: h.rating,
        }
    }
}

/// A string (or bytes) field consumed without being checked or kept.
struct SkippedBytes;

impl<'de> serde::Deserialize<'de> for SkippedBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Skip;
        impl serde::de::Visitor<'_> for Skip {
            type Value = SkippedBytes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_bytes<E: serde::de::Error>(
                self,
                _: &[u8],
            ) -> std::result::Result<SkippedBytes, E> {
                Ok(SkippedBytes)
            }
            fn visit_str<E: serde::de::Error>(
                self,
                _: &str,
            ) -> std::result::Result<SkippedBytes, E> {
                Ok(SkippedBytes)
            }
        }
        // bincode writes a string as its length and bytes, the same as a byte string.
        d.deserialize_bytes(Skip)
    }
}

/// One page of a ticket list, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketPage {
    pub tickets: Vec<Ticket>,
    pub has_more: bool,
}

/// Queries both transactions answer.
pub trait Reads: TableSource {
    fn meta(&self, key: &str) -> Result<Option<u64>> {
        Ok(self.table(META)?.get(key)?.map(|v| v.value()))
    }

    fn ticket(&self, id: u64) -> Result<Option<Ticket>> {
        get_rec(&self.table(TICKETS)?, "tickets", id)
    }

    /// How many tickets exist (the highest number handed out).
    fn ticket_count(&self) -> Result<u64> {
        Ok(self.table(TICKETS)?.len()?)
    }

    /// Tickets matching `filter`, newest first, skipping `offset` and returning up to `limit`.
    fn tickets(&self, filter: &TicketFilter, offset: usize, limit: usize) -> Result<TicketPage> {
        self.ticket_list(filter, offset, limit, true)
    }

    /// [`Reads::tickets`] for lists that show no description: each ticket's `description` is
    /// left empty and read past undecoded (on a list page, checking and copying it cost a tenth
    /// of the CPU). A text filter (the substring fallback) still reads it to match.
    fn ticket_rows(
        &self,
        filter: &TicketFilter,
        offset: usize,
        limit: usize,
    ) -> Result<TicketPage> {
        self.ticket_list(filter, offset, limit, filter.text.is_some())
    }

    #[doc(hidden)]
    fn ticket_list(
        &self,
        filter: &TicketFilter,
        offset: usize,
        limit: usize,
        with_description: bool,
    ) -> Result<TicketPage> {
        let decode = |bytes: &[u8]| -> Result<Ticket> {
            if with_description {
                dec("tickets", bytes)
            } else {
                dec::<TicketHead>("tickets", bytes).map(Ticket::from)
            }
        };
        let tickets = self.table(TICKETS)?;
        let mut out = Vec::new();
        let mut skipped = 0usize;
        let mut has_more = false;
        // `known`: the row when the caller already read it (the full scan), else looked up.
        let mut visit = |id: u64, known: Option<Ticket>| -> Result<bool> {
            let t = match known {
                Some(t) => t,
                None => match tickets.get(id)? {
                    Some(v) => decode(v.value())?,
                    None => return Ok(true),
                },
            };
            if !filter.matches(&t) {
                return Ok(true);
            }
            if skipped < offset {
                skipped += 1;
                return Ok(true);
            }
            if out.len() == limit {
                has_more = true;
                return Ok(false);
            }
            out.push(t);
            Ok(true)
        };
        if let Some(ids) = &filter.ids {
            let mut ids = ids.clone();
            ids.sort_unstable_by(|a, b| b.cmp(a));
            ids.dedup();
            for id in ids {
                if !visit(id, None)? {
                    break;
                }
            }
        } else if let Some(r) = filter.requester {
            let idx = self.table(IDX_REQUESTER)?;
            for row in idx.range((r, 0u64)..=(r, u64::MAX))?.rev() {
                if !visit(row?.0.value().1, None)? {
                    break;
                }
            }
        } else if let Some(a) = filter.assignee.as_deref() {
            let idx = self.table(IDX_ASSIGNEE)?;
            for row in idx.range((a, 0u64)..=(a, u64::MAX))?.rev() {
                if !visit(row?.0.value().1, None)? {
                    break;
                }
            }
        } else if let [status] = filter.statuses.as_slice() {
            let idx = self.table(IDX_STATUS)?;
            let code = status.code();
            for row in idx.range((code, 0u64)..=(code, u64::MAX))?.rev() {
                if !visit(row?.0.value().1, None)? {
                    break;
                }
            }
        } else {
            // The table already open: a write transaction may not open it twice.
            for row in tickets.iter()?.rev() {
                let (k, v) = row?;
                if !visit(k.value(), Some(decode(v.value())?))? {
                    break;
                }
            }
        }
        Ok(TicketPage {
            tickets: out,
            has_more,
        })
    }

    /// Number of tickets per status.
    fn ticket_status_counts(&self) -> Result<Vec<(TicketStatus, u64)>> {
        let idx = self.table(IDX_STATUS)?;
        let mut out = Vec::new();
        for s in TicketStatus::ALL {
            let n = idx.range((s.code(), 0u64)..=(s.code(), u64::MAX))?.count() as u64;
            out.push((s, n));
        }
        Ok(out)
    }

    /// Up to `limit` ticket changes `(updated_at, id)` at or after `from`, oldest first (what
    /// the ticket search index has not seen yet).
    fn ticket_changes_since(
        &self,
        from: (Timestamp, u64),
        limit: usize,
    ) -> Result<Vec<(Timestamp, u64)>> {
        let idx = self.table(IDX_UPDATED)?;
        let mut out = Vec::new();
        for row in idx.range(from..)?.take(limit) {
            out.push(row?.0.value());
        }
        Ok(out)
    }

    /// Tickets changed in `[from, to)`, oldest change first.
    fn tickets_updated_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Ticket>> {
        let idx = self.table(IDX_UPDATED)?;
        let tickets = self.table(TICKETS)?;
        let mut out = Vec::new();
        for row in idx.range((from, 0u64)..(to, 0u64))? {
            let id = row?.0.value().1;
            if let Some(t) = get_rec(&tickets, "tickets", id)? {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// The timeline of a ticket, in order.
    fn ticket_events(&self, ticket_id: u64) -> Result<Vec<TicketEvent>> {
        let t = self.table(TICKET_EVENTS)?;
        let mut out = Vec::new();
        for row in t.range((ticket_id, 0u64)..=(ticket_id, u64::MAX))? {
            out.push(dec("ticket_events", row?.1.value())?);
        }
        Ok(out)
    }

    fn requester(&self, tg_id: i64) -> Result<Option<Requester>> {
        get_rec(&self.table(REQUESTERS)?, "users", tg_id)
    }

    /// Every requester, by Telegram id.
    fn requesters(&self) -> Result<Vec<Requester>> {
        all_recs(&self.table(REQUESTERS)?, "users")
    }

    fn staff(&self, login: &str) -> Result<Option<Staff>> {
        get_rec(&self.table(STAFF)?, "staff", login)
    }

    fn staff_all(&self) -> Result<Vec<Staff>> {
        all_recs(&self.table(STAFF)?, "staff")
    }

    fn staff_count(&self) -> Result<u64> {
        Ok(self.table(STAFF)?.len()?)
    }

    fn staff_by_telegram(&self, tg_id: i64) -> Result<Option<Staff>> {
        Ok(self
            .staff_all()?
            .into_iter()
            .find(|s| s.telegram_id == Some(tg_id)))
    }

    fn setting(&self, key: &str) -> Result<Option<Setting>> {
        get_rec(&self.table(SETTINGS)?, "settings", key)
    }

    fn session(&self, token_hash: &str) -> Result<Option<Session>> {
        get_rec(&self.table(SESSIONS)?, "sessions", token_hash)
    }

    fn faq_entry(&self, id: u64) -> Result<Option<FaqEntry>> {
        get_rec(&self.table(FAQ)?, "faq", id)
    }

    fn faq_all(&self) -> Result<Vec<FaqEntry>> {
        all_recs(&self.table(FAQ)?, "faq")
    }

    fn stock_item(&self, sku: &str) -> Result<Option<StockItem>> {
        get_rec(&self.table(STOCK_ITEMS)?, "stock_items", sku)
    }

    fn stock_items(&self) -> Result<Vec<StockItem>> {
        all_recs(&self.table(STOCK_ITEMS)?, "stock_items")
    }

    /// Stock movements, newest first, up to `limit`.
    fn sku_mapping(&self, code: &str) -> Result<Option<SkuMapping>> {
        get_rec(&self.table(STOCK_SKU_MAP)?, "stock_sku_map", code)
    }

    /// Every import mapping, by external code.
    fn sku_mappings(&self) -> Result<Vec<SkuMapping>> {
        all_recs(&self.table(STOCK_SKU_MAP)?, "stock_sku_map")
    }

    fn stock_moves_recent(&self, limit: usize) -> Result<Vec<StockMove>> {
        let t = self.table(STOCK_MOVES)?;
        let mut out = Vec::new();
        for row in t.iter()?.rev().take(limit) {
            out.push(dec("stock_moves", row?.1.value())?);
        }
        Ok(out)
    }

    fn outbox_row(&self, id: u64) -> Result<Option<OutboxRow>> {
        get_rec(&self.table(OUTBOX)?, "outbox", id)
    }

    /// Pending (not failed) rows due at `now`, oldest first, up to `limit`.
    fn outbox_due(&self, now: Timestamp, limit: usize) -> Result<Vec<OutboxRow>> {
        let t = self.table(OUTBOX)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let r: OutboxRow = dec("outbox", row?.1.value())?;
            // A row never tried is due at once whatever the clock says (a clock set back must
            // not hold new messages back, nor let newer ones overtake them); a retry planned
            // further ahead than any back-off can only come from a clock that went back.
            let due = r.attempts == 0
                || r.next_attempt_at <= now
                || r.next_attempt_at - now > OUTBOX_MAX_DELAY;
            if !r.failed && due {
                out.push(r);
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// (pending, failed) outbox rows.
    fn outbox_counts(&self) -> Result<(u64, u64)> {
        let t = self.table(OUTBOX)?;
        let (mut pending, mut failed) = (0, 0);
        for row in t.iter()? {
            let r: OutboxRow = dec("outbox", row?.1.value())?;
            if r.failed {
                failed += 1;
            } else {
                pending += 1;
            }
        }
        Ok((pending, failed))
    }

    /// (pending, failed) rows of broadcast `batch`.
    fn outbox_batch_counts(&self, batch: u64) -> Result<(u64, u64)> {
        let t = self.table(OUTBOX)?;
        let (mut pending, mut failed) = (0, 0);
        for row in t.iter()? {
            let r: OutboxRow = dec("outbox", row?.1.value())?;
            if r.batch == Some(batch) {
                if r.failed {
                    failed += 1;
                } else {
                    pending += 1;
                }
            }
        }
        Ok((pending, failed))
    }

    /// Every outbox row, oldest first.
    fn outbox_all(&self) -> Result<Vec<OutboxRow>> {
        all_recs(&self.table(OUTBOX)?, "outbox")
    }

    /// Audit rows, newest first, up to `limit`.
    fn audit_recent(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        let t = self.table(AUDIT)?;
        let mut out = Vec::new();
        for row in t.iter()?.rev().take(limit) {
            out.push(dec("audit", row?.1.value())?);
        }
        Ok(out)
    }

    fn audit_count(&self) -> Result<u64> {
        Ok(self.table(AUDIT)?.len()?)
    }

    fn dialog(&self, chat_id: i64) -> Result<Option<DialogRow>> {
        get_rec(&self.table(DIALOGS)?, "dialogs", chat_id)
    }

    fn ticket_card(&self, ticket_id: u64) -> Result<Option<CardRef>> {
        get_rec(&self.table(TICKET_CARDS)?, "ticket_cards", ticket_id)
    }

    /// The ticket whose card is message `message_id` in chat `chat_id`.
    fn ticket_by_card_message(&self, chat_id: i64, message_id: i64) -> Result<Option<u64>> {
        Ok(self
            .table(IDX_CARD_MESSAGE)?
            .get((chat_id, message_id))?
            .map(|v| v.value()))
    }

    /// The ticket whose forum topic is `thread_id` in chat `chat_id`.
    fn ticket_by_thread(&self, chat_id: i64, thread_id: i64) -> Result<Option<u64>> {
        Ok(self
            .table(IDX_CARD_THREAD)?
            .get((chat_id, thread_id))?
            .map(|v| v.value()))
    }

    fn sla_plan(&self, ticket_id: u64) -> Result<Option<SlaPlan>> {
        get_rec(&self.table(SLA)?, "sla", ticket_id)
    }

    /// Every SLA plan (one per open ticket with targets).
    fn sla_plans(&self) -> Result<Vec<SlaPlan>> {
        all_recs(&self.table(SLA)?, "sla")
    }

    fn api_token(&self, name: &str) -> Result<Option<ApiToken>> {
        get_rec(&self.table(API_TOKENS)?, "api_tokens", name)
    }

    /// Every API token (revoked ones too), by name.
    fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        all_recs(&self.table(API_TOKENS)?, "api_tokens")
    }

    fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRow>> {
        get_rec(&self.table(IDEMPOTENCY)?, "idempotency", key)
    }

    /// Messages of the log, newest first, up to `limit`.
    fn messages_recent(&self, limit: usize) -> Result<Vec<MessageLog>> {
        let t = self.table(MESSAGES)?;
        let mut out = Vec::new();
        for row in t.iter()?.rev().take(limit) {
            out.push(dec("messages", row?.1.value())?);
        }
        Ok(out)
    }

    /// Row count of every archived table, by name.
    fn table_counts(&self) -> Result<Vec<(&'static str, u64)>> {
        ARCHIVED_TABLES
            .iter()
            .map(|&name| Ok((name, self.count_table(name)?)))
            .collect()
    }

    #[doc(hidden)]
    fn count_table(&self, name: &str) -> Result<u64> {
        Ok(match name {
            "meta" => self.table(META)?.len()?,
            "settings" => self.table(SETTINGS)?.len()?,
            "users" => self.table(REQUESTERS)?.len()?,
            "staff" => self.table(STAFF)?.len()?,
            "tickets" => self.table(TICKETS)?.len()?,
            "ticket_events" => self.table(TICKET_EVENTS)?.len()?,
            "messages" => self.table(MESSAGES)?.len()?,
            "faq" => self.table(FAQ)?.len()?,
            "stock_items" => self.table(STOCK_ITEMS)?.len()?,
            "stock_moves" => self.table(STOCK_MOVES)?.len()?,
            "outbox" => self.table(OUTBOX)?.len()?,
            "audit" => self.table(AUDIT)?.len()?,
            "dialogs" => self.table(DIALOGS)?.len()?,
            "ticket_cards" => self.table(TICKET_CARDS)?.len()?,
            "idempotency" => self.table(IDEMPOTENCY)?.len()?,
            "sla" => self.table(SLA)?.len()?,
            "api_tokens" => self.table(API_TOKENS)?.len()?,
            "stock_sku_map" => self.table(STOCK_SKU_MAP)?.len()?,
            other => return Err(StoreError::Db(format!("unknown table '{other}'"))),
        })
    }
}

impl<T: TableSource> Reads for T {}

fn get_rec<'k, T, K>(
    table: &impl ReadableTable<K, &'static [u8]>,
    name: &'static str,
    key: impl std::borrow::Borrow<K::SelfType<'k>>,
) -> Result<Option<T>>
where
    T: DeserializeOwned,
    K: redb::Key + 'static,
{
    match table.get(key)? {
        Some(v) => Ok(Some(dec(name, v.value())?)),
        None => Ok(None),
    }
}

fn all_recs<T, K>(
    table: &impl ReadableTable<K, &'static [u8]>,
    name: &'static str,
) -> Result<Vec<T>>
where
    T: DeserializeOwned,
    K: redb::Key + 'static,
{
    let mut out = Vec::new();
    for row in table.iter()? {
        out.push(dec(name, row?.1.value())?);
    }
    Ok(out)
}

impl WriteTx {
    /// Whether this transaction queued outgoing messages.
    pub fn outbox_added(&self) -> bool {
        self.outbox_added
    }

    /// Commits durably.
    pub fn commit(self) -> Result<()> {
        self.txn.commit()?;
        Ok(())
    }

    /// Hands out the next id of a sequence (1, 2, 3 …).
    pub fn next_id(&mut self, seq: Seq) -> Result<u64> {
        let mut meta = self.txn.open_table(META)?;
        let next = meta.get(seq.key())?.map(|v| v.value()).unwrap_or(0) + 1;
        meta.insert(seq.key(), next)?;
        Ok(next)
    }

    pub fn set_meta(&mut self, key: &str, value: u64) -> Result<()> {
        self.txn.open_table(META)?.insert(key, value)?;
        Ok(())
    }

    /// Writes a ticket and keeps every index in step with it.
    pub fn put_ticket(&mut self, t: &Ticket) -> Result<()> {
        let old: Option<Ticket> = self.ticket(t.id)?;
        self.txn
            .open_table(TICKETS)?
            .insert(t.id, codec::encode(t).as_slice())?;
        if let Some(old) = &old {
            unindex_ticket(&self.txn, old)?;
        }
        index_ticket(&self.txn, t)?;
        Ok(())
    }

    /// Appends an entry to a ticket's timeline, numbering it after the last one.
    pub fn add_event(
        &mut self,
        ticket_id: u64,
        at: Timestamp,
        actor: Actor,
        kind: EventKind,
    ) -> Result<TicketEvent> {
        let mut t = self.txn.open_table(TICKET_EVENTS)?;
        let seq = t
            .range((ticket_id, 0u64)..=(ticket_id, u64::MAX))?
            .next_back()
            .transpose()?
            .map(|(k, _)| k.value().1 + 1)
            .unwrap_or(1);
        let ev = TicketEvent {
            ticket_id,
            seq,
            at,
            actor,
            kind,
        };
        t.insert((ticket_id, seq), codec::encode(&ev).as_slice())?;
        Ok(ev)
    }

    /// Appends an audit row.
    pub fn add_audit(
        &mut self,
        at: Timestamp,
        actor: &Actor,
        action: &str,
        target: String,
        detail: String,
    ) -> Result<u64> {
        let id = self.next_id(Seq::Audit)?;
        let e = AuditEntry {
            id,
            at,
            actor: actor.clone(),
            action: action.to_string(),
            target,
            detail,
        };
        self.txn
            .open_table(AUDIT)?
            .insert(id, codec::encode(&e).as_slice())?;
        Ok(id)
    }

    /// Queues a message for delivery; returns its row id.
    pub fn add_outbox(
        &mut self,
        at: Timestamp,
        message: OutboxMessage,
        ticket_id: Option<u64>,
    ) -> Result<u64> {
        let id = self.next_id(Seq::Outbox)?;
        let row = OutboxRow {
            id,
            created_at: at,
            message,
            ticket_id,
            batch: None,
            attempts: 0,
            next_attempt_at: at,
            last_error: None,
            failed: false,
        };
        self.put_outbox(&row)?;
        self.outbox_added = true;
        Ok(id)
    }

    /// Queues a message that belongs to broadcast `batch`.
    pub fn add_outbox_in_batch(
        &mut self,
        at: Timestamp,
        message: OutboxMessage,
        batch: u64,
    ) -> Result<u64> {
        let id = self.add_outbox(at, message, None)?;
        let mut row = self.outbox_row(id)?.expect("just written");
        row.batch = Some(batch);
        self.put_outbox(&row)?;
        Ok(id)
    }

    pub fn put_outbox(&mut self, row: &OutboxRow) -> Result<()> {
        self.txn
            .open_table(OUTBOX)?
            .insert(row.id, codec::encode(row).as_slice())?;
        Ok(())
    }

    /// Removes a delivered row; true when it existed.
    pub fn delete_outbox(&mut self, id: u64) -> Result<bool> {
        Ok(self.txn.open_table(OUTBOX)?.remove(id)?.is_some())
    }

    pub fn add_message_log(&mut self, mut m: MessageLog) -> Result<u64> {
        m.id = self.next_id(Seq::Message)?;
        self.txn
            .open_table(MESSAGES)?
            .insert(m.id, codec::encode(&m).as_slice())?;
        Ok(m.id)
    }

    pub fn put_requester(&mut self, r: &Requester) -> Result<()> {
        self.txn
            .open_table(REQUESTERS)?
            .insert(r.tg_id, codec::encode(r).as_slice())?;
        Ok(())
    }

    pub fn put_staff(&mut self, s: &Staff) -> Result<()> {
        self.txn
            .open_table(STAFF)?
            .insert(s.login.as_str(), codec::encode(s).as_slice())?;
        Ok(())
    }

    pub fn delete_staff(&mut self, login: &str) -> Result<bool> {
        Ok(self.txn.open_table(STAFF)?.remove(login)?.is_some())
    }

    pub fn put_setting(&mut self, s: &Setting) -> Result<()> {
        self.txn
            .open_table(SETTINGS)?
            .insert(s.key.as_str(), codec::encode(s).as_slice())?;
        Ok(())
    }

    pub fn delete_setting(&mut self, key: &str) -> Result<bool> {
        Ok(self.txn.open_table(SETTINGS)?.remove(key)?.is_some())
    }

    pub fn put_session(&mut self, s: &Session) -> Result<()> {
        self.txn
            .open_table(SESSIONS)?
            .insert(s.token_hash.as_str(), codec::encode(s).as_slice())?;
        Ok(())
    }

    /// Ends every session of `login`; returns how many.
    pub fn delete_sessions_of(&mut self, login: &str) -> Result<usize> {
        let sessions: Vec<Session> = all_recs(&self.txn.open_table(SESSIONS)?, "sessions")?;
        let mut t = self.txn.open_table(SESSIONS)?;
        let mut n = 0;
        for s in sessions.iter().filter(|s| s.login == login) {
            t.remove(s.token_hash.as_str())?;
            n += 1;
        }
        Ok(n)
    }

    pub fn delete_session(&mut self, token_hash: &str) -> Result<bool> {
        Ok(self.txn.open_table(SESSIONS)?.remove(token_hash)?.is_some())
    }

    pub fn put_faq(&mut self, f: &FaqEntry) -> Result<()> {
        self.txn
            .open_table(FAQ)?
            .insert(f.id, codec::encode(f).as_slice())?;
        Ok(())
    }

    pub fn put_stock_item(&mut self, i: &StockItem) -> Result<()> {
        self.txn
            .open_table(STOCK_ITEMS)?
            .insert(i.sku.as_str(), codec::encode(i).as_slice())?;
        Ok(())
    }

    pub fn put_sku_mapping(&mut self, m: &SkuMapping) -> Result<()> {
        self.txn
            .open_table(STOCK_SKU_MAP)?
            .insert(m.code.as_str(), codec::encode(m).as_slice())?;
        Ok(())
    }

    pub fn delete_sku_mapping(&mut self, code: &str) -> Result<bool> {
        Ok(self.txn.open_table(STOCK_SKU_MAP)?.remove(code)?.is_some())
    }

    pub fn add_stock_move(&mut self, mut m: StockMove) -> Result<StockMove> {
        m.id = self.next_id(Seq::StockMove)?;
        self.txn
            .open_table(STOCK_MOVES)?
            .insert(m.id, codec::encode(&m).as_slice())?;
        Ok(m)
    }

    pub fn put_dialog(&mut self, d: &DialogRow) -> Result<()> {
        self.txn
            .open_table(DIALOGS)?
            .insert(d.chat_id, codec::encode(d).as_slice())?;
        Ok(())
    }

    pub fn delete_dialog(&mut self, chat_id: i64) -> Result<bool> {
        Ok(self.txn.open_table(DIALOGS)?.remove(chat_id)?.is_some())
    }

    /// Records where a ticket's card is, keeping the reverse indexes in step.
    pub fn put_ticket_card(&mut self, c: &CardRef) -> Result<()> {
        if let Some(old) = self.ticket_card(c.ticket_id)? {
            self.txn
                .open_table(IDX_CARD_MESSAGE)?
                .remove((old.chat_id, old.message_id))?;
            if let Some(t) = old.thread_id {
                self.txn
                    .open_table(IDX_CARD_THREAD)?
                    .remove((old.chat_id, t))?;
            }
        }
        self.txn
            .open_table(TICKET_CARDS)?
            .insert(c.ticket_id, codec::encode(c).as_slice())?;
        index_card(&self.txn, c)
    }

    pub fn put_sla_plan(&mut self, p: &SlaPlan) -> Result<()> {
        self.txn
            .open_table(SLA)?
            .insert(p.ticket_id, codec::encode(p).as_slice())?;
        Ok(())
    }

    pub fn delete_sla_plan(&mut self, ticket_id: u64) -> Result<bool> {
        Ok(self.txn.open_table(SLA)?.remove(ticket_id)?.is_some())
    }

    pub fn put_api_token(&mut self, t: &ApiToken) -> Result<()> {
        self.txn
            .open_table(API_TOKENS)?
            .insert(t.name.as_str(), codec::encode(t).as_slice())?;
        Ok(())
    }

    pub fn put_idempotency(&mut self, r: &IdempotencyRow) -> Result<()> {
        self.txn
            .open_table(IDEMPOTENCY)?
            .insert(r.key.as_str(), codec::encode(r).as_slice())?;
        Ok(())
    }
}

fn index_ticket(txn: &redb::WriteTransaction, t: &Ticket) -> Result<()> {
    txn.open_table(IDX_STATUS)?
        .insert((t.status.code(), t.id), ())?;
    txn.open_table(IDX_UPDATED)?
        .insert((t.updated_at, t.id), ())?;
    if let Some(r) = t.requester {
        txn.open_table(IDX_REQUESTER)?.insert((r, t.id), ())?;
    }
    if let Some(a) = t.assignee.as_deref() {
        txn.open_table(IDX_ASSIGNEE)?.insert((a, t.id), ())?;
    }
    Ok(())
}

fn index_card(txn: &redb::WriteTransaction, c: &CardRef) -> Result<()> {
    txn.open_table(IDX_CARD_MESSAGE)?
        .insert((c.chat_id, c.message_id), c.ticket_id)?;
    if let Some(t) = c.thread_id {
        txn.open_table(IDX_CARD_THREAD)?
            .insert((c.chat_id, t), c.ticket_id)?;
    }
    Ok(())
}

fn unindex_ticket(txn: &redb::WriteTransaction, t: &Ticket) -> Result<()> {
    txn.open_table(IDX_STATUS)?
        .remove((t.status.code(), t.id))?;
    txn.open_table(IDX_UPDATED)?.remove((t.updated_at, t.id))?;
    if let Some(r) = t.requester {
        txn.open_table(IDX_REQUESTER)?.remove((r, t.id))?;
    }
    if let Some(a) = t.assignee.as_deref() {
        txn.open_table(IDX_ASSIGNEE)?.remove((a, t.id))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Logical export and import, for snapshot archives.

/// Tables written to snapshot archives, in order. Indexes are derived and rebuilt on restore;
/// panel sessions are left out on purpose (a stolen backup must not log anyone in).
pub const ARCHIVED_TABLES: &[&str] = &[
    "meta",
    "settings",
    "users",
    "staff",
    "tickets",
    "ticket_events",
    "messages",
    "faq",
    "stock_items",
    "stock_moves",
    "outbox",
    "audit",
    "dialogs",
    "ticket_cards",
    "idempotency",
    "sla",
    "api_tokens",
    "stock_sku_map",
];

/// A `meta` row as it appears in an archive.
#[derive(Debug, Serialize, serde::Deserialize)]
struct MetaRow {
    key: String,
    value: u64,
}

fn export_recs<T, K>(
    table: &impl ReadableTable<K, &'static [u8]>,
    name: &'static str,
    out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<u64>
where
    T: DeserializeOwned + Serialize,
    K: redb::Key + 'static,
{
    let mut n = 0;
    let mut line = Vec::with_capacity(512);
    for row in table.iter()? {
        let rec: T = dec(name, row?.1.value())?;
        line.clear();
        serde_json::to_writer(&mut line, &rec).map_err(|e| StoreError::Db(e.to_string()))?;
        line.push(b'\n');
        out(&line).map_err(|e| StoreError::Db(format!("writing table {name}: {e}")))?;
        n += 1;
    }
    Ok(n)
}

impl ReadTx {
    /// Writes every row of table `name` as one JSON object per line; returns the row count.
    pub fn export_table(
        &self,
        name: &str,
        out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<u64> {
        match name {
            "meta" => {
                let t = self.table(META)?;
                let mut n = 0;
                for row in t.iter()? {
                    let (k, v) = row?;
                    let mut line = serde_json::to_vec(&MetaRow {
                        key: k.value().to_string(),
                        value: v.value(),
                    })
                    .map_err(|e| StoreError::Db(e.to_string()))?;
                    line.push(b'\n');
                    out(&line).map_err(|e| StoreError::Db(format!("writing table meta: {e}")))?;
                    n += 1;
                }
                Ok(n)
            }
            "settings" => export_recs::<Setting, _>(&self.table(SETTINGS)?, "settings", out),
            "users" => export_recs::<Requester, _>(&self.table(REQUESTERS)?, "users", out),
            "staff" => export_recs::<Staff, _>(&self.table(STAFF)?, "staff", out),
            "tickets" => export_recs::<Ticket, _>(&self.table(TICKETS)?, "tickets", out),
            "ticket_events" => {
                export_recs::<TicketEvent, _>(&self.table(TICKET_EVENTS)?, "ticket_events", out)
            }
            "messages" => export_recs::<MessageLog, _>(&self.table(MESSAGES)?, "messages", out),
            "faq" => export_recs::<FaqEntry, _>(&self.table(FAQ)?, "faq", out),
            "stock_items" => {
                export_recs::<StockItem, _>(&self.table(STOCK_ITEMS)?, "stock_items", out)
            }
            "stock_moves" => {
                export_recs::<StockMove, _>(&self.table(STOCK_MOVES)?, "stock_moves", out)
            }
            "outbox" => export_recs::<OutboxRow, _>(&self.table(OUTBOX)?, "outbox", out),
            "audit" => export_recs::<AuditEntry, _>(&self.table(AUDIT)?, "audit", out),
            "dialogs" => export_recs::<DialogRow, _>(&self.table(DIALOGS)?, "dialogs", out),
            "ticket_cards" => {
                export_recs::<CardRef, _>(&self.table(TICKET_CARDS)?, "ticket_cards", out)
            }
            "idempotency" => {
                export_recs::<IdempotencyRow, _>(&self.table(IDEMPOTENCY)?, "idempotency", out)
            }
            "sla" => export_recs::<SlaPlan, _>(&self.table(SLA)?, "sla", out),
            "api_tokens" => export_recs::<ApiToken, _>(&self.table(API_TOKENS)?, "api_tokens", out),
            "stock_sku_map" => {
                export_recs::<SkuMapping, _>(&self.table(STOCK_SKU_MAP)?, "stock_sku_map", out)
            }
            other => Err(StoreError::Db(format!("unknown table '{other}'"))),
        }
    }
}

fn parse_row<T: DeserializeOwned>(table: &str, line_no: u64, line: &str) -> Result<T> {
    serde_json::from_str(line).map_err(|e| StoreError::Import {
        table: table.to_string(),
        line: line_no,
        reason: e.to_string(),
    })
}

impl WriteTx {
    /// Loads rows exported by [`ReadTx::export_table`] into table `name`.
    /// `first_line` is the number of rows of this table loaded before (for error messages).
    pub fn import_table(
        &mut self,
        name: &str,
        first_line: u64,
        lines: &mut dyn Iterator<Item = std::io::Result<String>>,
    ) -> Result<u64> {
        let mut n = first_line;
        macro_rules! load {
            ($def:expr, $ty:ty, |$r:ident| $key:expr) => {{
                let mut t = self.txn.open_table($def)?;
                for line in lines {
                    let line = line.map_err(|e| StoreError::Import {
                        table: name.to_string(),
                        line: n + 1,
                        reason: e.to_string(),
                    })?;
                    n += 1;
                    let $r: $ty = parse_row(name, n, &line)?;
                    t.insert($key, codec::encode(&$r).as_slice())?;
                }
            }};
        }
        match name {
            "meta" => {
                let mut t = self.txn.open_table(META)?;
                for line in lines {
                    let line = line.map_err(|e| StoreError::Import {
                        table: name.into(),
                        line: n + 1,
                        reason: e.to_string(),
                    })?;
                    n += 1;
                    let r: MetaRow = parse_row(name, n, &line)?;
                    if r.key == "schema_version" && r.value > SCHEMA_VERSION {
                        return Err(StoreError::Import {
                            table: name.into(),
                            line: n,
                            reason: format!(
                                "schema {} is newer than this build ({SCHEMA_VERSION})",
                                r.value
                            ),
                        });
                    }
                    // Schema 0 was never written: a store restored with it would not open.
                    if r.key == "schema_version" && r.value == 0 {
                        return Err(StoreError::Import {
                            table: name.into(),
                            line: n,
                            reason: "schema 0 is not a schema any helpdesk wrote".into(),
                        });
                    }
                    t.insert(r.key.as_str(), r.value)?;
                }
            }
            "settings" => load!(SETTINGS, Setting, |r| r.key.as_str()),
            "users" => load!(REQUESTERS, Requester, |r| r.tg_id),
            "staff" => load!(STAFF, Staff, |r| r.login.as_str()),
            "tickets" => load!(TICKETS, Ticket, |r| r.id),
            "ticket_events" => load!(TICKET_EVENTS, TicketEvent, |r| (r.ticket_id, r.seq)),
            "messages" => load!(MESSAGES, MessageLog, |r| r.id),
            "faq" => load!(FAQ, FaqEntry, |r| r.id),
            "stock_items" => load!(STOCK_ITEMS, StockItem, |r| r.sku.as_str()),
            "stock_moves" => load!(STOCK_MOVES, StockMove, |r| r.id),
            "outbox" => load!(OUTBOX, OutboxRow, |r| r.id),
            "audit" => load!(AUDIT, AuditEntry, |r| r.id),
            "dialogs" => load!(DIALOGS, DialogRow, |r| r.chat_id),
            "ticket_cards" => load!(TICKET_CARDS, CardRef, |r| r.ticket_id),
            "idempotency" => load!(IDEMPOTENCY, IdempotencyRow, |r| r.key.as_str()),
            "sla" => load!(SLA, SlaPlan, |r| r.ticket_id),
            "api_tokens" => load!(API_TOKENS, ApiToken, |r| r.name.as_str()),
            "stock_sku_map" => load!(STOCK_SKU_MAP, SkuMapping, |r| r.code.as_str()),
            other => return Err(StoreError::Db(format!("unknown table '{other}'"))),
        }
        Ok(n - first_line)
    }

    /// Rebuilds every ticket index from the tickets table (after a restore).
    pub fn rebuild_indexes(&mut self) -> Result<()> {
        self.txn.delete_table(IDX_STATUS)?;
        self.txn.delete_table(IDX_REQUESTER)?;
        self.txn.delete_table(IDX_ASSIGNEE)?;
        self.txn.delete_table(IDX_UPDATED)?;
        self.txn.delete_table(IDX_CARD_MESSAGE)?;
        self.txn.delete_table(IDX_CARD_THREAD)?;
        create_all_tables(&self.txn)?;
        let tickets: Vec<Ticket> = all_recs(&self.txn.open_table(TICKETS)?, "tickets")?;
        for t in &tickets {
            index_ticket(&self.txn, t)?;
        }
        let cards: Vec<CardRef> = all_recs(&self.txn.open_table(TICKET_CARDS)?, "ticket_cards")?;
        for c in &cards {
            index_card(&self.txn, c)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod ticket_head_tests {
    use super::*;

    /// Every field set (so a shifted field shows), and a description with every kind of text.
    fn full() -> Ticket {
        Ticket {
            id: 42,
            requester: Some(-100_123),
            requester_name: "Олена «Бухгалтерія»".into(),
            department: Some("Склад".into()),
            category: Category::CartridgeOrder,
            priority: Priority::Critical,
            status: TicketStatus::Reopened,
            assignee: Some("olga".into()),
            subject: "Картридж <85A>".into(),
            description: "Длинное описание ✓ & \"кавычки\"\n".repeat(40),
            order_lines: vec![OrderLine {
                sku: "CE285A".into(),
                name: "HP 85A".into(),
                quantity: 3,
            }],
            source: Source::MiniApp,
            created_at: 1_700_000_000,
            updated_at: 1_700_000_500,
            first_response_at: Some(1_700_000_100),
            resolved_at: Some(1_700_000_200),
            closed_at: Some(1_700_000_300),
            response_due: Some(1_700_003_600),
            resolve_due: Some(1_700_086_400),
            rejection_reason: Some("дубль".into()),
            rating: Some(5),
        }
    }

    #[test]
    fn a_ticket_head_is_the_ticket_without_its_description() {
        for t in [
            full(),
            Ticket {
                description: String::new(),
                ..full()
            },
        ] {
            let bytes = codec::encode(&t);
            let head: Ticket = dec::<TicketHead>("tickets", &bytes).unwrap().into();
            assert_eq!(
                head,
                Ticket {
                    description: String::new(),
                    ..t
                }
            );
        }
    }

    #[test]
    fn list_rows_leave_out_descriptions_unless_a_text_filter_needs_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut tx = store.write().unwrap();
        tx.put_ticket(&full()).unwrap();
        tx.commit().unwrap();
        let r = store.read().unwrap();
        let all = TicketFilter::default();
        assert_eq!(r.tickets(&all, 0, 10).unwrap().tickets, vec![full()]);
        let rows = r.ticket_rows(&all, 0, 10).unwrap().tickets;
        assert_eq!(rows[0].description, "");
        assert_eq!(rows[0].subject, "Картридж <85A>");
        let text = TicketFilter {
            text: Some("кавычки".into()),
            ..Default::default()
        };
        assert_eq!(r.ticket_rows(&text, 0, 10).unwrap().tickets, vec![full()]);
    }
}
