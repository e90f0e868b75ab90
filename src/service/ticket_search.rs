//! Keeps the ticket search index ([`crate::search::TicketIndex`]) in step with redb and
//! answers full-text queries for ticket lists.
//!
//! The index follows the `idx_tickets_updated` index of redb: every ticket change moves the
//! ticket there, so "what changed since the watermark" is one range read. Catching up is
//! cheap when nothing changed, runs before each search (results are never stale) and every
//! few seconds in the background (so a search after a burst of changes stays fast). Until the
//! first full catch-up after start-up has finished (a rebuild of 100,000 tickets takes
//! seconds), a search answers `None` and the caller falls back to the plain substring filter,
//! which is slower but complete.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::domain::{EventKind, Ticket, TicketEvent, Timestamp};
use crate::search::{TicketDoc, TicketIndex};
use crate::store::{Reads, TicketFilter};

use super::{Result, Service, ServiceError};

/// Changes read and committed to the index per step.
const BATCH: usize = 2_000;
/// Changes are re-read this many seconds before the watermark: a transaction that took its
/// time stamp before the last catch-up but committed after it is still picked up.
const MARGIN_SECS: i64 = 10;
/// Most hits a search returns.
pub const MAX_HITS: usize = 5_000;

/// The index and how far it got.
pub(super) struct TicketSearch {
    index: TicketIndex,
    sync: Mutex<SyncState>,
    /// `SyncState::complete`, readable without the lock.
    ready: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct SyncState {
    /// `(updated_at, id)` of the last change indexed.
    watermark: Option<(Timestamp, u64)>,
    /// Changes indexed within the margin (time stamp and digest of the text), so re-reading
    /// them does not index them again.
    recent: HashMap<u64, (Timestamp, u64)>,
    /// A catch-up has reached the end of the changes once.
    complete: bool,
}

impl TicketSearch {
    pub(super) fn new(index: TicketIndex) -> TicketSearch {
        let watermark = index.watermark();
        TicketSearch {
            index,
            ready: std::sync::atomic::AtomicBool::new(false),
            sync: Mutex::new(SyncState {
                watermark,
                ..SyncState::default()
            }),
        }
    }
}

fn digest(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// Everything searchable of a ticket.
fn document(t: &Ticket, events: &[TicketEvent]) -> TicketDoc {
    let mut text = String::with_capacity(t.subject.len() + t.description.len() + 64);
    let mut add = |s: &str| {
        text.push_str(s);
        text.push('\n');
    };
    add(&t.subject);
    add(&t.description);
    add(&t.requester_name);
    if let Some(d) = &t.department {
        add(d);
    }
    if let Some(a) = &t.assignee {
        add(a);
    }
    if let Some(r) = &t.rejection_reason {
        add(r);
    }
    for l in &t.order_lines {
        add(&l.name);
        add(&l.sku);
    }
    for e in events {
        match &e.kind {
            EventKind::PublicReply { text }
            | EventKind::InternalNote { text }
            | EventKind::InboundMessage { text } => add(text),
            EventKind::Rejected { reason } => add(reason),
            EventKind::Attachment { name, .. } => add(name),
            _ => {}
        }
    }
    TicketDoc { id: t.id, text }
}

impl Service {
    /// Opens (or starts) the on-disk ticket index in `dir`; call [`Service::sync_ticket_index`]
    /// afterwards to fill it.
    pub fn attach_ticket_index(&self, dir: &std::path::Path) -> Result<()> {
        let index = TicketIndex::open(dir).map_err(|e| ServiceError::Conflict(e.to_string()))?;
        let _ = self.inner.ticket_search.set(TicketSearch::new(index));
        Ok(())
    }

    /// The same index in RAM (tests).
    pub fn attach_ticket_index_in_memory(&self) -> Result<()> {
        let index = TicketIndex::in_memory().map_err(|e| ServiceError::Conflict(e.to_string()))?;
        let _ = self.inner.ticket_search.set(TicketSearch::new(index));
        Ok(())
    }

    /// Brings the index up to date with redb; returns how many tickets were (re)indexed.
    /// Does nothing without an index.
    pub fn sync_ticket_index(&self) -> Result<usize> {
        let Some(ts) = self.inner.ticket_search.get() else {
            return Ok(0);
        };
        let mut st = ts.sync.lock().unwrap_or_else(PoisonError::into_inner);
        self.catch_up(ts, &mut st)
    }

    fn catch_up(&self, ts: &TicketSearch, st: &mut SyncState) -> Result<usize> {
        let mut indexed = 0;
        loop {
            let from = match st.watermark {
                Some((t, _)) => (t.saturating_sub(MARGIN_SECS), 0),
                None => (Timestamp::MIN, 0),
            };
            let tx = self.read()?;
            let changes = tx.ticket_changes_since(from, BATCH + st.recent.len())?;
            let full = changes.len() == BATCH + st.recent.len();
            // A change within the same second as one already indexed keeps its key, so
            // within the margin the text itself tells whether it changed.
            let mut fresh = Vec::new();
            let mut docs = Vec::new();
            for &(t, id) in &changes {
                let Some(ticket) = tx.ticket(id)? else {
                    continue;
                };
                let doc = document(&ticket, &tx.ticket_events(id)?);
                let digest = digest(&doc.text);
                if st.recent.get(&id) == Some(&(t, digest)) {
                    continue;
                }
                fresh.push((id, t, digest));
                docs.push(doc);
            }
            if docs.is_empty() && !full {
                st.complete = true;
                ts.ready.store(true, std::sync::atomic::Ordering::Relaxed);
                return Ok(indexed);
            }
            drop(tx);
            let last = *changes.last().expect("a full batch is not empty");
            let watermark = st.watermark.map_or(last, |w| w.max(last));
            if !docs.is_empty() {
                ts.index
                    .apply(&docs, watermark)
                    .map_err(|e| ServiceError::Conflict(format!("ticket search index: {e}")))?;
            }
            indexed += docs.len();
            st.watermark = Some(watermark);
            for (id, t, digest) in fresh {
                st.recent.insert(id, (t, digest));
            }
            let keep_from = watermark.0.saturating_sub(MARGIN_SECS);
            st.recent.retain(|_, (t, _)| *t >= keep_from);
            if !full {
                st.complete = true;
                ts.ready.store(true, std::sync::atomic::Ordering::Relaxed);
                return Ok(indexed);
            }
        }
    }

    /// (caught up at least once since start, tickets indexed), or `None` without an index.
    pub fn ticket_index_state(&self) -> Option<(bool, u64)> {
        let ts = self.inner.ticket_search.get()?;
        let ready = ts.ready.load(std::sync::atomic::Ordering::Relaxed);
        Some((ready, ts.index.len()))
    }

    /// Ids of tickets matching `query` in full text, highest first; `None` when there is no
    /// usable index yet (or the query has no meaningful word): filter by substring instead.
    pub fn search_ticket_ids(&self, query: &str) -> Result<Option<Vec<u64>>> {
        let Some(ts) = self.inner.ticket_search.get() else {
            return Ok(None);
        };
        if !ts.ready.load(std::sync::atomic::Ordering::Relaxed) {
            // The first build after start-up is still running: the substring filter is
            // slower but complete.
            return Ok(None);
        }
        // Catch up first, so a ticket changed a moment ago is found. When another search or
        // the background task is catching up right now, search what is committed: it is at
        // most that moment behind.
        if let Ok(mut st) = ts.sync.try_lock() {
            self.catch_up(ts, &mut st)?;
        }
        ts.index
            .search(query, MAX_HITS)
            .map_err(|e| ServiceError::Conflict(format!("ticket search: {e}")))
    }

    /// A ticket list page, using the full-text index for `filter.text` when it can.
    pub fn ticket_page(
        &self,
        filter: &TicketFilter,
        offset: usize,
        limit: usize,
    ) -> Result<crate::store::TicketPage> {
        let filter = self.with_text_hits(filter)?;
        Ok(self.read()?.tickets(&filter, offset, limit)?)
    }

    /// `filter` with its text turned into index hits (or left for the substring filter).
    pub fn with_text_hits(&self, filter: &TicketFilter) -> Result<TicketFilter> {
        let mut f = filter.clone();
        if let Some(q) = f.text.as_deref()
            && let Some(ids) = self.search_ticket_ids(q)?
        {
            f.ids = Some(match f.ids.take() {
                Some(mine) => ids.into_iter().filter(|i| mine.contains(i)).collect(),
                None => ids,
            });
            f.text = None;
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{Actor, Category, Priority, Role, Source};
    use crate::service::NewTicket;
    use crate::service::Service;
    use crate::service::testing::service;
    use crate::store::TicketFilter;

    const OLGA: fn() -> Actor = || Actor::Staff {
        login: "olga".into(),
        role: Role::Admin,
    };

    fn file(svc: &Service, subject: &str, description: &str) -> u64 {
        svc.create_ticket(
            &OLGA(),
            NewTicket {
                requester: None,
                requester_name: Some("Звонок из приёмной".into()),
                category: Category::Other,
                priority: Priority::Normal,
                subject: subject.into(),
                description: description.into(),
                order: vec![],
                source: Source::Panel,
                idempotency_key: None,
                attachments: vec![],
            },
        )
        .unwrap()
        .id
    }

    fn found(svc: &Service, q: &str) -> Vec<u64> {
        let f = TicketFilter {
            text: Some(q.into()),
            ..Default::default()
        };
        svc.ticket_page(&f, 0, 100)
            .unwrap()
            .tickets
            .iter()
            .map(|t| t.id)
            .collect()
    }

    #[test]
    fn search_follows_every_change_without_waiting() {
        let t = service();
        let svc = &t.svc;
        svc.attach_ticket_index_in_memory().unwrap();
        let a = file(svc, "Принтер не печатает", "В бухгалтерии");
        let b = file(svc, "Сканер", "Не сканирует в папку");
        // Before the first catch-up the list falls back to the substring filter.
        assert_eq!(found(svc, "Принтер"), vec![a]);
        assert_eq!(svc.sync_ticket_index().unwrap(), 2);
        assert_eq!(found(svc, "принтеры"), vec![a], "stems need the index");
        // A later note is found at once (the search catches up first).
        t.clock.advance(30);
        svc.note(&OLGA(), b, "заменили ролик подачи").unwrap();
        assert_eq!(found(svc, "ролик"), vec![b]);
        let c = file(svc, "Ролик мыши", "");
        assert_eq!(found(svc, "ролик"), vec![c, b], "newest first");
        // Nothing new: nothing indexed again.
        assert_eq!(svc.sync_ticket_index().unwrap(), 0);
        // Other filters still apply to the hits.
        let f = TicketFilter {
            text: Some("ролик".into()),
            ids: Some(vec![b]),
            ..Default::default()
        };
        let ids: Vec<u64> = svc
            .ticket_page(&f, 0, 10)
            .unwrap()
            .tickets
            .iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(ids, vec![b]);
    }

    #[test]
    fn changes_in_the_same_second_and_late_commits_are_not_missed() {
        let t = service();
        let svc = &t.svc;
        svc.attach_ticket_index_in_memory().unwrap();
        let a = file(svc, "Монитор мигает", "");
        svc.sync_ticket_index().unwrap();
        // Same clock second as the watermark, lower and higher ids alike.
        svc.note(&OLGA(), a, "кабель HDMI заменён").unwrap();
        let b = file(svc, "Кабель", "нужен кабель HDMI");
        assert_eq!(found(svc, "hdmi"), vec![b, a]);
        // A change stamped a few seconds before the watermark (a slow transaction).
        t.clock.advance(100);
        let c = file(svc, "Клавиатура", "");
        svc.sync_ticket_index().unwrap();
        t.clock.advance(-5);
        svc.note(&OLGA(), a, "и клавиатура тоже").unwrap();
        assert_eq!(found(svc, "клавиатура"), vec![c, a]);
    }

    #[test]
    fn many_tickets_are_indexed_in_batches() {
        let t = service();
        let svc = &t.svc;
        for i in 0..2_500 {
            file(
                svc,
                &format!("Заявка {}", i + 100_000),
                if i % 500 == 0 {
                    "редкое слово"
                } else {
                    ""
                },
            );
        }
        svc.attach_ticket_index_in_memory().unwrap();
        assert_eq!(svc.sync_ticket_index().unwrap(), 2_500);
        assert_eq!(found(svc, "редкое").len(), 5);
        assert_eq!(found(svc, "#1250"), vec![1250]);
    }
}
