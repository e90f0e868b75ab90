//! FAQ search: the bot answers common questions from the FAQ by itself.
//!
//! The index is derived data: it is built from the FAQ entries in redb and can be deleted at
//! any time. This module applies no business rules and never writes redb; the service layer
//! calls [`FaqIndex::upsert`] / [`FaqIndex::remove`] after it has committed a change.
//!
//! **Architecture invariant:** only `search/` imports tantivy; no tantivy type appears in this
//! module's public API.
//!
//! # API
//!
//! - [`FaqIndex::open_or_rebuild`]`(dir, entries)` opens the on-disk index in `dir` (the
//!   server uses `<data_dir>/index/faq`; the folder belongs to the index alone). It rebuilds
//!   from `entries` (deleting whatever is in `dir`) when the index is missing, stale or
//!   corrupt, and says which in [`FaqIndex::opened`]:
//!   - *stale*: the file [`FINGERPRINT_FILE`] in `dir` holds a fingerprint of the entries the
//!     index was built from: an order-independent sum of per-entry SHA-256 digests over id,
//!     `updated_at`, `enabled`, question, alternatives and answer, plus [`INDEX_VERSION`] (bumped
//!     when the schema or the text analysis changes). [`FaqIndex::upsert`] and
//!     [`FaqIndex::remove`] keep it current, so the index survives restarts after edits;
//!   - *corrupt*: any error opening it, a different schema, a failed file checksum, an
//!     unreadable segment, or a document count that does not fit the entries.
//!
//!   When another process holds the index's writer lock, it fails with
//!   [`SearchError::Locked`] and deletes nothing.
//! - [`FaqIndex::in_memory`]`(entries)`: the same index in RAM (tests, benchmarks).
//! - [`FaqIndex::upsert`]`(&entry)` and [`FaqIndex::remove`]`(id)` commit at once (the index is
//!   small). Disabled entries are not searchable; upserting one removes it from the results.
//! - [`FaqIndex::search`]`(query, limit) -> Vec<`[`Hit`]`>`: ranked entries that match at least
//!   one query word; [`FaqIndex::answer`]`(query) -> `[`Answer`]: `Confident(hit)`,
//!   `Suggestions(hits)` (1–3) or `NoMatch`.
//!
//! # Text analysis
//!
//! See `analysis.rs`: one pipeline for Russian, Ukrainian and English (lowercasing, `ё→е`,
//! Ukrainian letters folded for the Russian stemmer, hyphen/apostrophe joining, stop words,
//! Russian + English Snowball stems). Each phrasing (the question and every alternative) is
//! its own tantivy document with a stem field and a trigram field (trigrams of the unstemmed
//! words); the answer is one more document with a stem field only, weighted
//! [`ANSWER_BOOST`]. An entry's score is the best score of its documents.
//!
//! Retrieval, per distinct query word:
//!
//! - its stem occurs in some question or alternative: that term, exactly;
//! - otherwise (a typo, a word form the stemmers miss, a word only answers use): the indexed
//!   stems one edit away (the `FuzzyTermQuery` automaton, distance 1, a transposition counts
//!   1, stems of 5+ characters; at most 8, each weighted 0.8); when there are none, its
//!   trigrams (the 8 rarest of those in the index, at least half of them must match; skipped
//!   when fewer than a third of the word's trigrams are in the index, since a trigram
//!   similarity of 0.5 needs that many; weighted so a full match is worth about one word);
//!   and its stem in the answers, weighted [`ANSWER_BOOST`].
//!
//! Retrieval only proposes candidates: whether a word really matches is decided in memory by
//! the coverage check below, over all trigrams.
//!
//! Only the first [`MAX_QUERY_TERMS`] distinct words of a query count.
//!
//! # Ranking and the answer rule
//!
//! BM25 scores have no fixed scale, so the decision does not use an absolute score. For the
//! best-scoring candidates (`max(4·limit, 20)` entries) it measures:
//!
//! - **coverage**: the share of the query's meaningful words (stop words removed) that the
//!   entry's question or alternatives contain: same stem, one edit away (5+ characters), or
//!   trigram similarity ≥ 0.5. A word found only in the answer counts half.
//! - **precision**: the best share, over the entry's phrasings, of a phrasing's words that the
//!   query contains (1.0 = the query says everything that phrasing says).
//!
//! Hits are ordered by coverage, then precision, then score. Entries with coverage 0 are
//! dropped (trigram noise). Then:
//!
//! - **Confident** when the top hit covers at least ⅔ of the query ([`CONFIDENT_COVERAGE`])
//!   and clearly beats the runner-up: it covers strictly more of the query, or only it has a
//!   phrasing the query fully contains (precision 1), or its score is at least
//!   [`CLEAR_RATIO`] (2×) the runner-up's. Runners-up under the suggestion threshold do not
//!   count.
//! - otherwise **Suggestions**: the first [`MAX_SUGGESTIONS`] hits covering at least ⅓ of the
//!   query ([`MIN_COVERAGE`]);
//! - otherwise **NoMatch** (also for an empty query or one made of stop words only).
//!
//! So "принтер" with three printer entries is ambiguous (equal coverage, no phrasing fully
//! said) and gives suggestions; "принтер не печатал" is confident for "Принтер не печатает"
//! even though "принтер печатает бледно" (cartridge) also covers both words, because only the
//! former's phrasing is fully said; "когда зарплата" matches nothing.

mod analysis;
mod rank;
#[cfg(test)]
mod tests;
mod tickets;

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, RwLock};

use sha2::{Digest, Sha256};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{PreTokenizedString, Token};
use tantivy::{
    DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, Searcher, SegmentOrdinal,
    SegmentReader, TantivyDocument, TantivyError, Term,
};

use crate::domain::FaqEntry;
use analysis::{Analyzed, Analyzer};
pub use rank::{CLEAR_RATIO, CONFIDENT_COVERAGE, MAX_SUGGESTIONS, MIN_COVERAGE};
use rank::{Profile, QueryTerm, Ranked};
pub use tickets::{TICKET_INDEX_VERSION, TicketDoc, TicketIndex, Watermark};

/// Version of the schema and text analysis; part of the fingerprint, so changing it rebuilds
/// every index on the next start.
pub const INDEX_VERSION: u32 = 1;
/// Name of the fingerprint file inside the index folder.
pub const FINGERPRINT_FILE: &str = "helpdesk-fingerprint";
/// Weight of a match in the answer text, relative to the question and alternatives.
pub const ANSWER_BOOST: f32 = 0.3;
/// Only this many distinct meaningful words of a query are used.
pub const MAX_QUERY_TERMS: usize = 12;

/// Weight of a stem one edit away from an unknown query word.
const FUZZY_BOOST: f32 = 0.8;
/// At most this many such stems per query word.
const MAX_FUZZY_TERMS: usize = 8;
/// At most this many trigrams (the rarest) of an unknown word are looked up.
const MAX_QUERY_GRAMS: usize = 8;
/// Weight of a trigram match of an unknown word, divided by its number of trigrams.
const GRAM_BOOST: f32 = 1.0;
/// Indexing memory budget (tantivy's minimum is 15 MB).
const WRITER_MEMORY: usize = 20_000_000;
/// Name of tantivy's writer lock file.
const WRITER_LOCK_FILE: &str = ".tantivy-writer.lock";

/// One found FAQ entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: u64,
    /// The entry's best BM25 score (only comparable within one query).
    pub score: f32,
    /// Share of the query's meaningful words the entry covers, 0..=1 (see the module docs).
    pub coverage: f32,
    pub question: String,
}

/// What the bot should do with a question.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Answer with this entry.
    Confident(Hit),
    /// Offer these entries (1 to [`MAX_SUGGESTIONS`]), best first.
    Suggestions(Vec<Hit>),
    /// Nothing fits: hand over to a person.
    NoMatch,
}

/// How [`FaqIndex::open_or_rebuild`] got its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// The on-disk index was current and sound.
    Reused,
    /// It was rebuilt from the entries.
    Rebuilt(RebuildReason),
    /// Built in memory.
    InMemory,
}

/// Why the index was rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebuildReason {
    /// No index (or no fingerprint) in the folder.
    Missing,
    /// Built from other entries, or by another version of the analysis.
    Stale,
    /// Unreadable; the text says why.
    Corrupt(String),
}

/// What went wrong in search.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// Another process holds the index's writer lock.
    #[error("the FAQ index {0} is in use by another helpdesk process")]
    Locked(PathBuf),
    #[error("FAQ index file error at {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("FAQ index error: {0}")]
    Index(String),
}

impl From<TantivyError> for SearchError {
    fn from(e: TantivyError) -> Self {
        SearchError::Index(e.to_string())
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SearchError + '_ {
    move |source| SearchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The index fields.
#[derive(Clone, Copy)]
struct Fields {
    /// Entry id (indexed for deletes, fast for collecting).
    id: Field,
    /// Stems of one phrasing (question or alternative).
    stem: Field,
    /// Trigrams of the words of one phrasing.
    gram: Field,
    /// Stems of the answer.
    answer: Field,
}

const ID: &str = "id";

fn schema() -> (Schema, Fields) {
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_index_option(IndexRecordOption::WithFreqs),
    );
    let mut b = Schema::builder();
    let fields = Fields {
        id: b.add_u64_field(ID, INDEXED | FAST),
        stem: b.add_text_field("stem", text.clone()),
        gram: b.add_text_field("gram", text.clone()),
        answer: b.add_text_field("answer", text),
    };
    (b.build(), fields)
}

/// Tokens already analysed by [`analysis`].
fn pre_tokenized(texts: impl IntoIterator<Item = String>) -> PreTokenizedString {
    let tokens = texts
        .into_iter()
        .enumerate()
        .map(|(position, text)| Token {
            offset_from: 0,
            offset_to: 0,
            position,
            text,
            position_length: 1,
        })
        .collect();
    PreTokenizedString {
        text: String::new(),
        tokens,
    }
}

/// The in-memory profile of an enabled entry.
fn profile(analyzer: &mut Analyzer, e: &FaqEntry) -> Profile {
    let phrases = std::iter::once(&e.question)
        .chain(&e.alternatives)
        .map(|p| analyzer.analyze(p))
        .filter(|p| !p.is_empty())
        .collect();
    let mut answer_stems: Vec<String> = analyzer
        .analyze(&e.answer)
        .into_iter()
        .map(|a| a.stem)
        .collect();
    answer_stems.sort_unstable();
    answer_stems.dedup();
    Profile {
        question: e.question.clone(),
        phrases,
        answer_stems,
    }
}

/// The tantivy documents of one entry: one per phrasing, one for the answer.
fn documents(fields: Fields, id: u64, p: &Profile) -> Vec<TantivyDocument> {
    let mut docs = Vec::with_capacity(p.phrases.len() + 1);
    for phrase in &p.phrases {
        let mut doc = TantivyDocument::default();
        doc.add_u64(fields.id, id);
        doc.add_pre_tokenized_text(
            fields.stem,
            pre_tokenized(phrase.iter().map(|a| a.stem.clone())),
        );
        doc.add_pre_tokenized_text(
            fields.gram,
            pre_tokenized(
                phrase
                    .iter()
                    .flat_map(|a| analysis::grams(&a.word))
                    .map(|g| analysis::gram_text(&g)),
            ),
        );
        docs.push(doc);
    }
    if !p.answer_stems.is_empty() {
        let mut doc = TantivyDocument::default();
        doc.add_u64(fields.id, id);
        doc.add_pre_tokenized_text(fields.answer, pre_tokenized(p.answer_stems.iter().cloned()));
        docs.push(doc);
    }
    docs
}

fn expected_docs(profiles: &HashMap<u64, Profile>) -> u64 {
    profiles
        .values()
        .map(|p| p.phrases.len() as u64 + u64::from(!p.answer_stems.is_empty()))
        .sum()
}

/// Digest of everything about an entry the index depends on.
fn entry_digest(e: &FaqEntry) -> u128 {
    let mut h = Sha256::new();
    let text = |h: &mut Sha256, s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    h.update(e.id.to_le_bytes());
    h.update(e.updated_at.to_le_bytes());
    h.update([u8::from(e.enabled)]);
    text(&mut h, &e.question);
    h.update((e.alternatives.len() as u64).to_le_bytes());
    for a in &e.alternatives {
        text(&mut h, a);
    }
    text(&mut h, &e.answer);
    let d = h.finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&d[..16]);
    u128::from_le_bytes(first)
}

/// The fingerprint text of a set of entry digests (order-independent).
fn fingerprint(digests: &HashMap<u64, u128>) -> String {
    let sum = digests.values().fold(0u128, |s, d| s.wrapping_add(*d));
    format!(
        "helpdesk faq index v{INDEX_VERSION} entries {} sum {sum:032x}\n",
        digests.len()
    )
}

/// Writes the fingerprint file atomically (temporary file, then rename).
fn write_fingerprint(dir: &Path, text: &str) -> Result<(), SearchError> {
    let path = dir.join(FINGERPRINT_FILE);
    let tmp = dir.join(format!("{FINGERPRINT_FILE}.tmp"));
    fs::write(&tmp, text).map_err(io_error(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_error(&path))
}

/// The writer and the fingerprint state, changed together under one lock.
struct WriteSide {
    writer: IndexWriter,
    digests: HashMap<u64, u128>,
}

/// The FAQ search index. `Send + Sync`: share it in an `Arc`; searches run in parallel,
/// changes are serialised.
pub struct FaqIndex {
    fields: Fields,
    reader: IndexReader,
    write: Mutex<WriteSide>,
    profiles: RwLock<HashMap<u64, Profile>>,
    analyzer: Analyzer,
    dir: Option<PathBuf>,
    opened: Opened,
}

/// Why an existing index cannot be used as is.
enum Unusable {
    Locked,
    Rebuild(RebuildReason),
}

impl FaqIndex {
    /// Opens the index in `dir`, or rebuilds it there from `entries` when it is missing,
    /// stale or corrupt (see the module docs). `entries` are all FAQ entries, disabled ones
    /// included.
    pub fn open_or_rebuild(dir: &Path, entries: &[FaqEntry]) -> Result<FaqIndex, SearchError> {
        let mut analyzer = Analyzer::new();
        let digests: HashMap<u64, u128> = entries.iter().map(|e| (e.id, entry_digest(e))).collect();
        let profiles = profiles(&mut analyzer, entries);
        let (schema, fields) = schema();
        let reason = match Self::try_open(dir, &schema, &fingerprint(&digests), &profiles) {
            Ok((writer, reader)) => {
                return Ok(FaqIndex {
                    fields,
                    reader,
                    write: Mutex::new(WriteSide { writer, digests }),
                    profiles: RwLock::new(profiles),
                    analyzer,
                    dir: Some(dir.to_path_buf()),
                    opened: Opened::Reused,
                });
            }
            Err(Unusable::Locked) => return Err(SearchError::Locked(dir.to_path_buf())),
            Err(Unusable::Rebuild(reason)) => reason,
        };
        match &reason {
            RebuildReason::Corrupt(why) => {
                tracing::warn!(dir = %dir.display(), "FAQ index is damaged ({why}); rebuilding")
            }
            other => {
                tracing::info!(dir = %dir.display(), reason = ?other, "building the FAQ index")
            }
        }
        Self::ensure_unlocked(dir)?;
        if dir.exists() {
            fs::remove_dir_all(dir).map_err(io_error(dir))?;
        }
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let index = Index::create_in_dir(dir, schema)?;
        let (writer, reader) = Self::fill(&index, fields, &profiles)?;
        write_fingerprint(dir, &fingerprint(&digests))?;
        Ok(FaqIndex {
            fields,
            reader,
            write: Mutex::new(WriteSide { writer, digests }),
            profiles: RwLock::new(profiles),
            analyzer,
            dir: Some(dir.to_path_buf()),
            opened: Opened::Rebuilt(reason),
        })
    }

    /// The same index in RAM.
    pub fn in_memory(entries: &[FaqEntry]) -> Result<FaqIndex, SearchError> {
        let mut analyzer = Analyzer::new();
        let digests = entries.iter().map(|e| (e.id, entry_digest(e))).collect();
        let profiles = profiles(&mut analyzer, entries);
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        let (writer, reader) = Self::fill(&index, fields, &profiles)?;
        Ok(FaqIndex {
            fields,
            reader,
            write: Mutex::new(WriteSide { writer, digests }),
            profiles: RwLock::new(profiles),
            analyzer,
            dir: None,
            opened: Opened::InMemory,
        })
    }

    /// How this index was obtained.
    pub fn opened(&self) -> &Opened {
        &self.opened
    }

    /// Number of searchable (enabled) entries.
    pub fn len(&self) -> usize {
        self.profiles
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// True when no entry is searchable.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds or replaces an entry (a disabled one becomes unsearchable) and commits.
    pub fn upsert(&self, entry: &FaqEntry) -> Result<(), SearchError> {
        let profile = entry
            .enabled
            .then(|| profile(&mut self.analyzer.clone(), entry));
        self.change(entry.id, profile, Some(entry_digest(entry)))
    }

    /// Removes an entry (deleted from the FAQ) and commits. Unknown ids are fine.
    pub fn remove(&self, id: u64) -> Result<(), SearchError> {
        self.change(id, None, None)
    }

    /// Ranked entries matching `query` (see the module docs for the order), at most `limit`.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<Hit>, SearchError> {
        Ok(self
            .ranked(query, limit)?
            .into_iter()
            .take(limit)
            .map(|r| r.hit)
            .collect())
    }

    /// What the bot should answer to `query` (the rule is in the module docs).
    pub fn answer(&self, query: &str) -> Result<Answer, SearchError> {
        Ok(rank::decide(&self.ranked(query, MAX_SUGGESTIONS)?))
    }

    fn try_open(
        dir: &Path,
        schema: &Schema,
        expected: &str,
        profiles: &HashMap<u64, Profile>,
    ) -> Result<(IndexWriter, IndexReader), Unusable> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            Unusable::Rebuild(RebuildReason::Corrupt(format!("{what}: {e}")))
        };
        if !dir.join("meta.json").is_file() {
            return Err(Unusable::Rebuild(RebuildReason::Missing));
        }
        match fs::read_to_string(dir.join(FINGERPRINT_FILE)) {
            Ok(found) if found == expected => {}
            Ok(_) => return Err(Unusable::Rebuild(RebuildReason::Stale)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Unusable::Rebuild(RebuildReason::Missing));
            }
            Err(e) => return Err(corrupt("fingerprint", &e)),
        }
        let index = Index::open_in_dir(dir).map_err(|e| corrupt("open", &e))?;
        if index.schema() != *schema {
            return Err(Unusable::Rebuild(RebuildReason::Corrupt(
                "unexpected schema".into(),
            )));
        }
        let damaged = index
            .validate_checksum()
            .map_err(|e| corrupt("checksum", &e))?;
        if !damaged.is_empty() {
            return Err(corrupt("damaged files", &format!("{damaged:?}")));
        }
        let writer = match index.writer_with_num_threads(1, WRITER_MEMORY) {
            Ok(w) => w,
            Err(TantivyError::LockFailure(..)) => return Err(Unusable::Locked),
            Err(e) => return Err(corrupt("writer", &e)),
        };
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e: TantivyError| corrupt("reader", &e))?;
        let searcher = reader.searcher();
        let (_, fields) = self::schema();
        for segment in searcher.segment_readers() {
            for field in [fields.stem, fields.gram, fields.answer] {
                segment
                    .inverted_index(field)
                    .map_err(|e| corrupt("segment", &e))?;
            }
            segment
                .fast_fields()
                .u64(ID)
                .map_err(|e| corrupt("segment", &e))?;
        }
        let (found, wanted) = (searcher.num_docs(), expected_docs(profiles));
        if found != wanted {
            return Err(corrupt(
                "document count",
                &format!("{found} documents, the entries make {wanted}"),
            ));
        }
        Ok((writer, reader))
    }

    /// Fails with [`SearchError::Locked`] when another writer holds `dir`'s lock file, so a
    /// rebuild never deletes an index in use.
    fn ensure_unlocked(dir: &Path) -> Result<(), SearchError> {
        let path = dir.join(WRITER_LOCK_FILE);
        let file = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(SearchError::Io { path, source: e }),
        };
        match file.try_lock() {
            Ok(()) => Ok(()),
            Err(fs::TryLockError::WouldBlock) => Err(SearchError::Locked(dir.to_path_buf())),
            Err(fs::TryLockError::Error(e)) => Err(SearchError::Io { path, source: e }),
        }
    }

    /// Indexes every profile into the fresh `index` and commits.
    fn fill(
        index: &Index,
        fields: Fields,
        profiles: &HashMap<u64, Profile>,
    ) -> Result<(IndexWriter, IndexReader), SearchError> {
        let mut writer = match index.writer_with_num_threads(1, WRITER_MEMORY) {
            Ok(w) => w,
            Err(TantivyError::LockFailure(..)) => {
                return Err(SearchError::Index("the index writer lock is taken".into()));
            }
            Err(e) => return Err(e.into()),
        };
        for (&id, p) in profiles {
            for doc in documents(fields, id, p) {
                writer.add_document(doc)?;
            }
        }
        writer.commit()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok((writer, reader))
    }

    /// Replaces entry `id` by `profile` (none: not searchable), records its digest (none:
    /// deleted) and commits.
    fn change(
        &self,
        id: u64,
        profile: Option<Profile>,
        digest: Option<u128>,
    ) -> Result<(), SearchError> {
        let mut w = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        let result = self.apply(&mut w, id, profile, digest);
        if result.is_err() {
            // The next start must not trust the index.
            if let Some(dir) = &self.dir {
                let _ = fs::remove_file(dir.join(FINGERPRINT_FILE));
            }
        }
        result
    }

    fn apply(
        &self,
        w: &mut WriteSide,
        id: u64,
        profile: Option<Profile>,
        digest: Option<u128>,
    ) -> Result<(), SearchError> {
        w.writer
            .delete_term(Term::from_field_u64(self.fields.id, id));
        if let Some(p) = &profile {
            for doc in documents(self.fields, id, p) {
                w.writer.add_document(doc)?;
            }
        }
        if let Err(e) = w.writer.commit() {
            let _ = w.writer.rollback();
            return Err(e.into());
        }
        self.reader.reload()?;
        {
            let mut profiles = self
                .profiles
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            match profile {
                Some(p) => profiles.insert(id, p),
                None => profiles.remove(&id),
            };
        }
        match digest {
            Some(d) => w.digests.insert(id, d),
            None => w.digests.remove(&id),
        };
        if let Some(dir) = &self.dir {
            write_fingerprint(dir, &fingerprint(&w.digests))?;
        }
        Ok(())
    }

    /// The tantivy query for `terms` (see "Text analysis" in the module docs).
    fn query(&self, searcher: &Searcher, terms: &[QueryTerm]) -> Result<BooleanQuery, SearchError> {
        let f = self.fields;
        let term_query = |term: Term, boost: f32| -> Box<dyn Query> {
            let q = Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
            if boost == 1.0 {
                q
            } else {
                Box::new(BoostQuery::new(q, boost))
            }
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for t in terms {
            let stem = Term::from_field_text(f.stem, &t.stem);
            if searcher.doc_freq(&stem)? > 0 {
                clauses.push((Occur::Should, term_query(stem, 1.0)));
                continue;
            }
            // Unknown to the question and alternatives: a typo, another word form, or a word
            // only the answers use.
            let near = if t.fuzzy {
                fuzzy_neighbours(searcher, &stem)?
            } else {
                Vec::new()
            };
            if near.is_empty() {
                // Dice ≥ GRAM_MATCH needs at least a third of the word's trigrams in common.
                let need = t.grams.len().div_ceil(3);
                let mut grams = Vec::with_capacity(t.grams.len());
                for g in &t.grams {
                    let term = Term::from_field_text(f.gram, &analysis::gram_text(g));
                    let df = searcher.doc_freq(&term)?;
                    if df > 0 {
                        grams.push((df, term));
                    }
                }
                let existing = grams.len();
                if existing > 0 && existing >= need {
                    // The rarest ones; at least half of them must match, and never fewer than
                    // the dropped common ones leave necessary.
                    grams.sort_by_key(|(df, _)| *df);
                    grams.truncate(MAX_QUERY_GRAMS);
                    let n = grams.len();
                    let required = n.div_ceil(2).max(need.saturating_sub(existing - n)).min(n);
                    let grams: Vec<(Occur, Box<dyn Query>)> = grams
                        .into_iter()
                        .map(|(_, term)| (Occur::Should, term_query(term, 1.0)))
                        .collect();
                    clauses.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(
                            Box::new(BooleanQuery::with_minimum_required_clauses(grams, required)),
                            GRAM_BOOST / n as f32,
                        )),
                    ));
                }
            } else {
                // Flat clauses rather than a max: cheaper, and a phrasing rarely holds two.
                for s in near {
                    let term = Term::from_field_text(f.stem, &s);
                    clauses.push((Occur::Should, term_query(term, FUZZY_BOOST)));
                }
            }
            let answer = Term::from_field_text(f.answer, &t.stem);
            if searcher.doc_freq(&answer)? > 0 {
                clauses.push((Occur::Should, term_query(answer, ANSWER_BOOST)));
            }
        }
        Ok(BooleanQuery::new(clauses))
    }

    /// The query words, the tantivy query, the candidates measured and sorted.
    fn ranked(&self, query: &str, limit: usize) -> Result<Vec<Ranked>, SearchError> {
        let mut analyzer = self.analyzer.clone();
        let mut terms: Vec<Analyzed> = analysis::dedup(analyzer.analyze(query));
        terms.truncate(MAX_QUERY_TERMS);
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let terms: Vec<QueryTerm> = terms.into_iter().map(QueryTerm::new).collect();
        let searcher = self.reader.searcher();
        let query = self.query(&searcher, &terms)?;
        let best = searcher.search(&query, &BestPerEntry)?;
        let mut candidates: Vec<(u64, Score)> = best.into_iter().collect();
        let best_first =
            |a: &(u64, Score), b: &(u64, Score)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        let keep = (limit.max(MAX_SUGGESTIONS) * 4).max(20);
        if candidates.len() > keep {
            candidates.select_nth_unstable_by(keep, best_first);
            candidates.truncate(keep);
        }
        candidates.sort_unstable_by(best_first);
        let profiles = self.profiles.read().unwrap_or_else(PoisonError::into_inner);
        let mut ranked: Vec<Ranked> = candidates
            .into_iter()
            .filter_map(|(id, score)| {
                let p = profiles.get(&id)?;
                let o = rank::overlap(&terms, p);
                (o.coverage > 0.0).then(|| Ranked {
                    hit: Hit {
                        id,
                        score,
                        coverage: o.coverage,
                        question: p.question.clone(),
                    },
                    precision: o.precision,
                })
            })
            .collect();
        ranked.sort_by(rank::order);
        Ok(ranked)
    }
}

/// Indexed stems one edit away from `stem` (at most [`MAX_FUZZY_TERMS`]), the way
/// `FuzzyTermQuery` finds them; they are then scored as ordinary terms.
fn fuzzy_neighbours(searcher: &Searcher, stem: &Term) -> Result<Vec<String>, SearchError> {
    let automaton = FuzzyTermQuery::new(stem.clone(), 1, true).automaton()?;
    let mut found = BTreeSet::new();
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(stem.field())?;
        let mut stream = inverted
            .terms()
            .search(&automaton)
            .into_stream()
            .map_err(|e| SearchError::Index(e.to_string()))?;
        while stream.advance() && found.len() < MAX_FUZZY_TERMS {
            if let Ok(text) = std::str::from_utf8(stream.key()) {
                found.insert(text.to_string());
            }
        }
    }
    Ok(found.into_iter().collect())
}

fn profiles(analyzer: &mut Analyzer, entries: &[FaqEntry]) -> HashMap<u64, Profile> {
    entries
        .iter()
        .filter(|e| e.enabled)
        .map(|e| (e.id, profile(analyzer, e)))
        .collect()
}

/// A cheap hasher for entry ids (our own sequential numbers, not outside input).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Best score per entry id.
type BestScores = HashMap<u64, Score, BuildHasherDefault<IdHasher>>;

fn keep_best(best: &mut BestScores, id: u64, score: Score) {
    let slot = best.entry(id).or_insert(score);
    *slot = slot.max(score);
}

/// Collects the best score of each entry id.
struct BestPerEntry;

struct BestPerEntrySegment {
    ids: Column<u64>,
    best: BestScores,
}

impl Collector for BestPerEntry {
    type Fruit = BestScores;
    type Child = BestPerEntrySegment;

    fn for_segment(
        &self,
        _segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<BestPerEntrySegment> {
        Ok(BestPerEntrySegment {
            ids: segment.fast_fields().u64(ID)?,
            best: BestScores::with_capacity_and_hasher(
                (segment.max_doc() as usize / 4).min(4096),
                Default::default(),
            ),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, mut segment_fruits: Vec<BestScores>) -> tantivy::Result<BestScores> {
        segment_fruits.sort_by_key(|f| std::cmp::Reverse(f.len()));
        let mut fruits = segment_fruits.into_iter();
        let mut all = fruits.next().unwrap_or_default();
        for fruit in fruits {
            for (id, score) in fruit {
                keep_best(&mut all, id, score);
            }
        }
        Ok(all)
    }
}

impl SegmentCollector for BestPerEntrySegment {
    type Fruit = BestScores;

    fn collect(&mut self, doc: DocId, score: Score) {
        if let Some(id) = self.ids.first(doc) {
            keep_best(&mut self.best, id, score);
        }
    }

    fn harvest(self) -> BestScores {
        self.best
    }
}
