//! Full-text search over tickets, for the panel's ticket list.
//!
//! Like the FAQ index this is derived data: a tantivy index in `<data_dir>/index/tickets`
//! built from redb and safe to delete. It never reads redb itself: the service hands it
//! [`TicketDoc`]s (a ticket's number, subject, description, requester, order lines and the
//! texts of its timeline) together with a *watermark* — the `(updated_at, id)` of the last
//! change it has seen — which is stored in tantivy's commit payload, so a restart resumes
//! where the last commit ended and a crash mid-write loses nothing (tantivy commits are
//! atomic; what was not committed is indexed again).
//!
//! Matching: every meaningful word of the query must occur in the ticket (stop words are
//! ignored). A word matches by stem (Russian and English Snowball, the FAQ's analysis), one
//! edit away from a stem of 5+ letters (typos), or as the start of a word (3+ letters:
//! "принт" finds "принтер"). A number matches the ticket number (`#12` or `12`).
//!
//! **Architecture invariant:** no tantivy type appears in this module's public API.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, FuzzyTermQuery, Occur, Query, RegexQuery, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term};

use super::analysis::{self, Analyzer};
use super::{MAX_QUERY_TERMS, SearchError, io_error, pre_tokenized};

/// Version of the ticket index's schema and analysis. Changing it rebuilds the index.
pub const TICKET_INDEX_VERSION: u32 = 1;
/// Indexing memory budget (tantivy's minimum is 15 MB).
const WRITER_MEMORY: usize = 15_000_000;
/// Shortest word used as a prefix.
const MIN_PREFIX: usize = 3;
/// Shortest stem for which one edit is tolerated.
const MIN_FUZZY: usize = 5;

/// What is indexed of one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketDoc {
    pub id: u64,
    /// Every text of the ticket, joined.
    pub text: String,
}

/// Position of the index in the stream of ticket changes: `(updated_at, ticket id)` of the
/// last change indexed.
pub type Watermark = (i64, u64);

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    stem: Field,
    word: Field,
}

fn schema() -> (Schema, Fields) {
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_index_option(IndexRecordOption::Basic),
    );
    let mut b = Schema::builder();
    let fields = Fields {
        id: b.add_u64_field("id", INDEXED | FAST),
        stem: b.add_text_field("stem", text.clone()),
        word: b.add_text_field("word", text),
    };
    (b.build(), fields)
}

fn payload(w: Watermark) -> String {
    format!("helpdesk tickets v{TICKET_INDEX_VERSION} {} {}", w.0, w.1)
}

fn parse_payload(p: &str) -> Option<Watermark> {
    let rest = p.strip_prefix(&format!("helpdesk tickets v{TICKET_INDEX_VERSION} "))?;
    let (t, id) = rest.split_once(' ')?;
    Some((t.parse().ok()?, id.parse().ok()?))
}

/// The ticket search index. `Send + Sync`; searches run in parallel, writes are serialised.
pub struct TicketIndex {
    fields: Fields,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    analyzer: Analyzer,
    watermark: Mutex<Option<Watermark>>,
    dir: Option<PathBuf>,
}

impl TicketIndex {
    /// Opens the index in `dir`, or starts an empty one there when it is missing, from
    /// another version, or unreadable (a damaged index is deleted: it is derived data).
    /// [`TicketIndex::watermark`] says how far the opened index got (`None`: index everything).
    pub fn open(dir: &Path) -> Result<TicketIndex, SearchError> {
        let (schema, fields) = schema();
        if let Ok((index, w)) = Self::try_open(dir, &schema) {
            // Fails with `Locked`, deleting nothing, when another process holds it.
            return Self::with_index(index, fields, w, Some(dir));
        }
        if dir.exists() {
            fs::remove_dir_all(dir).map_err(io_error(dir))?;
        }
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let index = Index::create_in_dir(dir, schema)?;
        Self::with_index(index, fields, None, Some(dir))
    }

    /// An empty index in RAM (tests).
    pub fn in_memory() -> Result<TicketIndex, SearchError> {
        let (schema, fields) = schema();
        Self::with_index(Index::create_in_ram(schema), fields, None, None)
    }

    /// `Ok` with the index and its watermark; `Err` when it must be started afresh.
    fn try_open(dir: &Path, schema: &Schema) -> Result<(Index, Option<Watermark>), ()> {
        if !dir.join("meta.json").is_file() {
            return Err(());
        }
        let index = match Index::open_in_dir(dir) {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), "ticket index unreadable ({e}); rebuilding");
                return Err(());
            }
        };
        if index.schema() != *schema {
            return Err(());
        }
        match index.validate_checksum() {
            Ok(bad) if bad.is_empty() => {}
            _ => {
                tracing::warn!(dir = %dir.display(), "ticket index damaged; rebuilding");
                return Err(());
            }
        }
        let metas = index.load_metas().map_err(|_| ())?;
        let w = match metas.payload.as_deref() {
            Some(p) => match parse_payload(p) {
                Some(w) => Some(w),
                None => return Err(()),
            },
            None if metas.segments.is_empty() => None,
            None => return Err(()),
        };
        Ok((index, w))
    }

    fn with_index(
        index: Index,
        fields: Fields,
        watermark: Option<Watermark>,
        dir: Option<&Path>,
    ) -> Result<TicketIndex, SearchError> {
        let writer = match index.writer::<TantivyDocument>(WRITER_MEMORY) {
            Ok(w) => w,
            Err(tantivy::TantivyError::LockFailure(..)) => {
                return Err(SearchError::Locked(
                    dir.map(Path::to_path_buf).unwrap_or_default(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(TicketIndex {
            fields,
            reader,
            writer: Mutex::new(writer),
            analyzer: Analyzer::new(),
            watermark: Mutex::new(watermark),
            dir: dir.map(Path::to_path_buf),
        })
    }

    /// How far the index got: the last change committed, `None` when it is empty.
    pub fn watermark(&self) -> Option<Watermark> {
        *self
            .watermark
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The folder of an on-disk index.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Number of indexed tickets.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds or replaces `docs` and commits them together with the new watermark.
    pub fn apply(&self, docs: &[TicketDoc], watermark: Watermark) -> Result<(), SearchError> {
        let mut analyzer = self.analyzer.clone();
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        for d in docs {
            writer.delete_term(Term::from_field_u64(self.fields.id, d.id));
            let words = analyzer.analyze(&format!("#{} {}", d.id, d.text));
            let mut doc = TantivyDocument::default();
            doc.add_u64(self.fields.id, d.id);
            doc.add_pre_tokenized_text(
                self.fields.stem,
                pre_tokenized(words.iter().map(|a| a.stem.clone())),
            );
            doc.add_pre_tokenized_text(
                self.fields.word,
                pre_tokenized(words.into_iter().map(|a| a.word)),
            );
            writer.add_document(doc)?;
        }
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&payload(watermark));
        prepared.commit()?;
        self.reader.reload()?;
        *self
            .watermark
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(watermark);
        Ok(())
    }

    /// Ids of the tickets containing every meaningful word of `query`, highest id first, at
    /// most `limit`. `None` when the query has no meaningful word (the caller shows all).
    pub fn search(&self, query: &str, limit: usize) -> Result<Option<Vec<u64>>, SearchError> {
        let words = analysis::dedup(self.analyzer.clone().analyze(query));
        if words.is_empty() {
            return Ok(None);
        }
        let mut musts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for w in words.iter().take(MAX_QUERY_TERMS) {
            let mut shoulds: Vec<(Occur, Box<dyn Query>)> = vec![(
                Occur::Should,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.fields.stem, &w.stem),
                    IndexRecordOption::Basic,
                )),
            )];
            if w.stem.chars().count() >= MIN_FUZZY {
                shoulds.push((
                    Occur::Should,
                    Box::new(FuzzyTermQuery::new(
                        Term::from_field_text(self.fields.stem, &w.stem),
                        1,
                        true,
                    )),
                ));
            }
            if w.word.chars().count() >= MIN_PREFIX {
                let q = RegexQuery::from_pattern(&prefix_pattern(&w.word), self.fields.word)?;
                shoulds.push((Occur::Should, Box::new(q)));
            }
            musts.push((Occur::Must, Box::new(BooleanQuery::new(shoulds))));
        }
        let query = BooleanQuery::new(musts);
        let searcher = self.reader.searcher();
        // The newest `limit` hits by ticket number, kept in a heap: no sorting of all hits.
        let top = TopDocs::with_limit(limit.max(1)).order_by_fast_field::<u64>("id", Order::Desc);
        let hits = searcher.search(&query, &top)?;
        Ok(Some(hits.into_iter().filter_map(|(id, _)| id).collect()))
    }
}

/// A regex matching words that start with `word` (punctuation inside a word made literal).
fn prefix_pattern(word: &str) -> String {
    let mut p = String::with_capacity(word.len() + 4);
    for c in word.chars() {
        if c.is_alphanumeric() {
            p.push(c);
        } else {
            p.push('[');
            p.push(c);
            p.push(']');
        }
    }
    p.push_str(".*");
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: u64, text: &str) -> TicketDoc {
        TicketDoc {
            id,
            text: text.into(),
        }
    }

    fn sample() -> TicketIndex {
        let ix = TicketIndex::in_memory().unwrap();
        ix.apply(
            &[
                doc(1, "Принтер в бухгалтерии не печатает, замятие бумаги"),
                doc(2, "Нужен картридж для HP LaserJet 1020"),
                doc(3, "VPN does not connect from home"),
                doc(4, "Не работает почта, ответ: перезапустили сервер"),
            ],
            (100, 4),
        )
        .unwrap();
        ix
    }

    #[test]
    fn every_word_must_match_by_stem_prefix_or_typo() {
        let ix = sample();
        let s = |q: &str| ix.search(q, 100).unwrap().unwrap();
        assert_eq!(s("принтеры"), vec![1], "stem");
        assert_eq!(s("принт"), vec![1], "prefix");
        assert_eq!(s("принетр бухгалтерия"), vec![1], "typo + stem");
        assert_eq!(
            s("принтер почта"),
            Vec::<u64>::new(),
            "all words must match"
        );
        assert_eq!(s("laserjet"), vec![2], "latin, case folded");
        assert_eq!(s("connecting"), vec![3], "english stem");
        assert_eq!(s("#3"), vec![3], "ticket number");
        assert_eq!(s("сервер"), vec![4], "timeline text is in the doc");
        assert!(
            ix.search("и в на", 100).unwrap().is_none(),
            "stop words only"
        );
    }

    #[test]
    fn apply_replaces_a_ticket_and_keeps_the_watermark() {
        let ix = sample();
        assert_eq!(ix.watermark(), Some((100, 4)));
        ix.apply(&[doc(1, "Сканер сломался")], (120, 1)).unwrap();
        assert_eq!(
            ix.search("принтер", 10).unwrap().unwrap(),
            Vec::<u64>::new()
        );
        assert_eq!(ix.search("сканер", 10).unwrap().unwrap(), vec![1]);
        assert_eq!(ix.len(), 4);
        assert_eq!(ix.watermark(), Some((120, 1)));
    }

    #[test]
    fn results_are_newest_first_and_limited() {
        let ix = TicketIndex::in_memory().unwrap();
        let docs: Vec<_> = (1..=30).map(|i| doc(i, "монитор мигает")).collect();
        ix.apply(&docs, (1, 30)).unwrap();
        let got = ix.search("монитор", 5).unwrap().unwrap();
        assert_eq!(got, vec![30, 29, 28, 27, 26]);
    }

    #[test]
    fn on_disk_index_resumes_from_its_watermark_and_survives_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickets");
        {
            let ix = TicketIndex::open(&path).unwrap();
            assert_eq!(ix.watermark(), None);
            ix.apply(&[doc(7, "клавиатура залита чаем")], (555, 7))
                .unwrap();
        }
        {
            let ix = TicketIndex::open(&path).unwrap();
            assert_eq!(ix.watermark(), Some((555, 7)));
            assert_eq!(ix.search("клавиатура", 10).unwrap().unwrap(), vec![7]);
        }
        // Damage: meta.json garbage → a fresh, empty index that will be refilled.
        fs::write(path.join("meta.json"), b"{ not json").unwrap();
        let ix = TicketIndex::open(&path).unwrap();
        assert_eq!(ix.watermark(), None);
        assert!(ix.is_empty());
    }

    #[test]
    fn a_second_process_is_told_the_index_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickets");
        let _first = TicketIndex::open(&path).unwrap();
        match TicketIndex::open(&path) {
            Err(SearchError::Locked(p)) => assert_eq!(p, path),
            Err(e) => panic!("expected Locked, got {e}"),
            Ok(_) => panic!("expected Locked, got an index"),
        }
        assert!(path.join("meta.json").is_file(), "nothing deleted");
    }
}
