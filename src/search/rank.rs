//! How well an entry covers a query, the ranking and the answer decision. Pure functions.

use std::cmp::Ordering;

use super::analysis::{Analyzed, Gram, dice, grams, grams_into, within_one_edit};
use super::{Answer, Hit};

/// An entry needs at least this share of the query's meaningful words to be shown at all.
pub const MIN_COVERAGE: f32 = 1.0 / 3.0;
/// An entry needs at least this share ("most") of the query's words to be answered directly.
pub const CONFIDENT_COVERAGE: f32 = 2.0 / 3.0;
/// With equal coverage and precision, the top score must be this many times the runner-up's.
pub const CLEAR_RATIO: f32 = 2.0;
/// At most this many suggestions.
pub const MAX_SUGGESTIONS: usize = 3;
/// A word counts as found only in the answer text: this much of a word.
pub const ANSWER_ONLY_CREDIT: f32 = 0.5;
/// Trigram similarity from which two words count as the same word.
pub const GRAM_MATCH: f32 = 0.5;
/// Stems of at least this many characters tolerate one edit.
pub const FUZZY_MIN_CHARS: usize = 5;

/// Float comparisons of coverage and precision tolerate this much.
const EPS: f32 = 1e-4;

/// One meaningful word of the query.
#[derive(Debug, Clone)]
pub(crate) struct QueryTerm {
    pub stem: String,
    pub grams: Vec<Gram>,
    /// The stem is long enough to tolerate one edit ([`FUZZY_MIN_CHARS`]).
    pub fuzzy: bool,
}

impl QueryTerm {
    pub fn new(a: Analyzed) -> QueryTerm {
        QueryTerm {
            grams: grams(&a.word),
            fuzzy: a.stem.chars().count() >= FUZZY_MIN_CHARS,
            stem: a.stem,
        }
    }
}

/// What the ranking needs to know about one searchable entry, kept in memory beside the
/// tantivy index.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    pub question: String,
    /// The analysed question and alternatives (empty ones dropped).
    pub phrases: Vec<Vec<Analyzed>>,
    /// Stems of the answer, sorted and deduplicated.
    pub answer_stems: Vec<String>,
}

/// How a query and an entry overlap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Overlap {
    /// Share of the query's words found in the question or an alternative (a word found only
    /// in the answer counts [`ANSWER_ONLY_CREDIT`]).
    pub coverage: f32,
    /// Best share, over the question and alternatives, of a phrasing's words found in the
    /// query; 1.0 means the query says everything one phrasing says.
    pub precision: f32,
}

/// True when query word `t` and entry word `w` are close: one edit apart (stems of
/// [`FUZZY_MIN_CHARS`]+ characters) or trigram similarity ≥ [`GRAM_MATCH`]. `scratch` holds
/// `w`'s trigrams once computed.
fn close_words(t: &QueryTerm, w: &Analyzed, scratch: &mut Vec<Gram>) -> bool {
    if t.fuzzy && within_one_edit(&t.stem, &w.stem) {
        return true;
    }
    // Dice can reach GRAM_MATCH only when the gram counts are not too far apart.
    // A word of n characters has n padded trigrams.
    let (a, b) = (t.grams.len(), w.word.chars().count());
    let (small, big) = (a.min(b) as f32, a.max(b) as f32);
    if 2.0 * small / (small + big) < GRAM_MATCH {
        return false;
    }
    if scratch.is_empty() {
        grams_into(&w.word, scratch);
    }
    dice(&t.grams, scratch) >= GRAM_MATCH
}

/// Measures how `profile` covers `terms` (which must not be empty).
///
/// Query word and entry word are the same word when they have the same stem or are close
/// (see `close_words`).
pub(crate) fn overlap(terms: &[QueryTerm], profile: &Profile) -> Overlap {
    let mut found = vec![false; terms.len()];
    let mut precision = 0.0f32;
    let mut scratch = Vec::new();
    for phrase in &profile.phrases {
        let mut covered = 0usize;
        for w in phrase {
            let mut any = false;
            for (i, t) in terms.iter().enumerate() {
                if t.stem == w.stem {
                    found[i] = true;
                    any = true;
                }
            }
            scratch.clear();
            for (i, t) in terms.iter().enumerate() {
                // Nothing left to learn from this pair.
                if t.stem == w.stem || (any && found[i]) {
                    continue;
                }
                if close_words(t, w, &mut scratch) {
                    found[i] = true;
                    any = true;
                }
            }
            covered += usize::from(any);
        }
        if !phrase.is_empty() {
            precision = precision.max(covered as f32 / phrase.len() as f32);
        }
    }
    let credit: f32 = terms
        .iter()
        .zip(&found)
        .map(|(t, &f)| {
            if f {
                1.0
            } else if profile.answer_stems.binary_search(&t.stem).is_ok() {
                ANSWER_ONLY_CREDIT
            } else {
                0.0
            }
        })
        .sum();
    Overlap {
        coverage: credit / terms.len() as f32,
        precision,
    }
}

/// A candidate with everything the ranking looks at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ranked {
    pub hit: Hit,
    pub precision: f32,
}

/// Ranking order: coverage, then precision, then score (all descending), then id.
pub(crate) fn order(a: &Ranked, b: &Ranked) -> Ordering {
    let tier = |x: f32| (x / EPS).round() as i64;
    tier(b.hit.coverage)
        .cmp(&tier(a.hit.coverage))
        .then(tier(b.precision).cmp(&tier(a.precision)))
        .then(b.hit.score.total_cmp(&a.hit.score))
        .then(a.hit.id.cmp(&b.hit.id))
}

/// The answer decision over candidates sorted by [`order`] (see the module documentation of
/// `search` for the rule).
pub(crate) fn decide(ranked: &[Ranked]) -> Answer {
    let relevant: Vec<&Ranked> = ranked
        .iter()
        .filter(|r| r.hit.coverage + EPS >= MIN_COVERAGE)
        .collect();
    let Some(top) = relevant.first() else {
        return Answer::NoMatch;
    };
    if top.hit.coverage + EPS >= CONFIDENT_COVERAGE {
        let clear = match relevant.get(1) {
            None => true,
            Some(next) => {
                top.hit.coverage > next.hit.coverage + EPS
                    || (top.precision + EPS >= 1.0 && next.precision + EPS < 1.0)
                    || top.hit.score >= CLEAR_RATIO * next.hit.score
            }
        };
        if clear {
            return Answer::Confident(top.hit.clone());
        }
    }
    Answer::Suggestions(
        relevant
            .iter()
            .take(MAX_SUGGESTIONS)
            .map(|r| r.hit.clone())
            .collect(),
    )
}
