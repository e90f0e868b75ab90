//! Text analysis shared by indexing and querying: words, stop words, stems and character
//! trigrams.
//!
//! One pipeline serves Russian, Ukrainian and English text, because people mix them (a Russian
//! question about "Wi-Fi", a Ukrainian one about "1С"):
//!
//! 1. [`WordTokenizer`] splits on anything that is not a letter or digit, lowercases, folds
//!    `ё→е` and the Ukrainian-only letters `і ї→и`, `є→е`, `ґ→г` (so the Russian stemmer strips
//!    Ukrainian case endings too: "телефоні" and "телефоне" both stem to "телефон"), joins words
//!    split by a hyphen or an apostrophe ("Wi-Fi" → "wifi", "вай-фай" → "вайфай",
//!    "комп'ютер" → "компютер", "don't" → "dont") and maps Latin look-alike letters inside a
//!    Cyrillic word to Cyrillic ("1C" → "1с", "пpинтep" → "принтер").
//! 2. Stop words: tantivy's Russian and English lists plus [`EXTRA_STOP_WORDS`] (Ukrainian
//!    function words and politeness fillers such as "подскажите", "please").
//! 3. Stems: tantivy's Russian stemmer, then its English stemmer. Each leaves the other
//!    alphabet alone, so one stem field serves both languages.
//!
//! The unstemmed word is kept next to its stem: trigrams of the word (padded with `^` and `$`,
//! so "wifi" → `^wi wif ifi fi$`) match Ukrainian forms the Russian stemmer misses and typos.

use std::collections::HashSet;

use tantivy::tokenizer::{
    Language, Stemmer, StopWordFilter, TextAnalyzer, Token, TokenStream, Tokenizer,
};

/// Ukrainian function words and question words, politeness fillers in all three languages
/// and a few English words missing from tantivy's (Lucene's) short list. Normalised with
/// [`normalize_word`] before use.
#[rustfmt::skip]
pub(crate) const EXTRA_STOP_WORDS: &[&str] = &[
    // Ukrainian
    "і", "й", "та", "але", "а", "або", "чи", "як", "що", "де", "коли", "чому", "навіщо", "хто",
    "це", "ця", "цей", "ці", "цього", "той", "те", "ті", "я", "ти", "він", "вона", "ми", "ви",
    "вони", "мене", "мені", "мій", "моя", "моє", "мої", "мого", "моєї", "свій", "своя", "свого",
    "його", "її", "їх", "не", "ні", "на", "в", "у", "з", "із", "зі", "до", "від", "для", "про",
    "по", "за", "при", "під", "над", "без", "через", "є", "був", "була", "було", "буде", "щоб",
    "якщо", "тому", "бо", "вже", "ще", "тут", "там", "також", "теж", "ж", "же", "б", "би",
    "який", "яка", "яке", "які", "якого", "можна", "треба", "потрібно", "хочу", "можу",
    "немає", "нема", "будь", "ласка", "підкажіть", "допоможіть", "привіт", "вітаю",
    // Russian additions to the Snowball list
    "это", "эта", "эти", "почему", "какие", "какое", "каким", "каком", "нужно", "нужна",
    "нужен", "хочу", "могу", "можете", "пожалуйста", "подскажите", "скажите", "помогите",
    "здравствуйте", "привет", "мой", "мою", "моего", "моей", "свой", "своей", "своего",
    // English additions to the Lucene list
    "how", "what", "whats", "where", "when", "why", "who", "which", "do", "does", "did",
    "dont", "doesnt", "didnt", "cant", "cannot", "wont", "isnt", "arent", "i", "im", "my",
    "me", "we", "our", "you", "your", "can", "could", "should", "would", "need", "want",
    "please", "hi", "hello", "help", "get", "has", "have", "from", "about",
];

/// A meaningful word of a text: its normalised form and its stem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Analyzed {
    pub word: String,
    pub stem: String,
}

/// A character trigram of a padded word.
pub(crate) type Gram = [char; 3];

/// Words and stems of a text. Cheap to clone (one per query).
#[derive(Clone)]
pub(crate) struct Analyzer {
    words: TextAnalyzer,
    stems: TextAnalyzer,
}

impl Analyzer {
    pub fn new() -> Analyzer {
        let extra: Vec<String> = EXTRA_STOP_WORDS
            .iter()
            .filter_map(|w| normalize_word(w))
            .collect();
        let stops = || {
            TextAnalyzer::builder(WordTokenizer)
                .filter(
                    StopWordFilter::new(Language::Russian)
                        .expect("tantivy has a Russian stop list"),
                )
                .filter(
                    StopWordFilter::new(Language::English)
                        .expect("tantivy has an English stop list"),
                )
                .filter(StopWordFilter::remove(extra.clone()))
        };
        Analyzer {
            words: stops().build(),
            stems: stops()
                .filter(Stemmer::new(Language::Russian))
                .filter(Stemmer::new(Language::English))
                .build(),
        }
    }

    /// The meaningful words of `text`, in order (duplicates kept).
    pub fn analyze(&mut self, text: &str) -> Vec<Analyzed> {
        let mut words = Vec::new();
        let mut stream = self.words.token_stream(text);
        while stream.advance() {
            words.push(stream.token().text.clone());
        }
        let mut out = Vec::with_capacity(words.len());
        let mut stream = self.stems.token_stream(text);
        let mut words = words.into_iter();
        while stream.advance() {
            // Both pipelines tokenize and drop stop words identically; stemming is 1:1.
            let Some(word) = words.next() else { break };
            out.push(Analyzed {
                word,
                stem: stream.token().text.clone(),
            });
        }
        out
    }
}

/// Tokenizer of step 1 (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WordTokenizer;

/// The tokens of one text, computed up front.
pub(crate) struct WordStream {
    tokens: Vec<Token>,
    next: usize,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream {
        let tokens = split_words(text)
            .into_iter()
            .enumerate()
            .map(|(position, (offset_from, offset_to, text))| Token {
                offset_from,
                offset_to,
                position,
                text,
                position_length: 1,
            })
            .collect();
        WordStream { tokens, next: 0 }
    }
}

impl TokenStream for WordStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

/// Longest word kept, in characters (longer ones are URLs, hashes, noise).
const MAX_WORD_CHARS: usize = 40;

/// Hyphens and apostrophes that join the two halves of one word.
fn is_joiner(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}' | '\u{2011}' | '\'' | '\u{2019}' | '\u{02BC}' | '`'
    )
}

/// Lowercases and folds one character into `out`.
fn push_folded(out: &mut String, c: char) {
    for l in c.to_lowercase() {
        out.push(match l {
            'ё' => 'е',
            'і' | 'ї' => 'и',
            'є' => 'е',
            'ґ' => 'г',
            other => other,
        });
    }
}

fn is_cyrillic(c: char) -> bool {
    ('\u{0400}'..='\u{04FF}').contains(&c)
}

/// Latin letters that look like Cyrillic ones (after lowercasing).
fn latin_lookalike(c: char) -> Option<char> {
    Some(match c {
        'a' => 'а',
        'b' => 'в',
        'c' => 'с',
        'e' => 'е',
        'h' => 'н',
        'i' => 'и',
        'k' => 'к',
        'm' => 'м',
        'o' => 'о',
        'p' => 'р',
        't' => 'т',
        'x' => 'х',
        'y' => 'у',
        _ => return None,
    })
}

/// Fixes mixed-alphabet words: Latin look-alikes inside a Cyrillic word become Cyrillic, and
/// digits followed by `c` ("1c", the accounting system) become "1с".
fn fix_alphabet(word: String) -> String {
    let has_cyrillic = word.chars().any(is_cyrillic);
    let has_latin = word.chars().any(|c| c.is_ascii_alphabetic());
    if has_cyrillic && has_latin {
        return word
            .chars()
            .map(|c| latin_lookalike(c).unwrap_or(c))
            .collect();
    }
    if !has_cyrillic
        && word.ends_with('c')
        && word.len() > 1
        && word[..word.len() - 1].chars().all(|c| c.is_ascii_digit())
    {
        let mut fixed = word[..word.len() - 1].to_string();
        fixed.push('с');
        return fixed;
    }
    word
}

/// Splits `text` into normalised words with their byte offsets.
pub(crate) fn split_words(text: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut start = 0;
    let mut end = 0;
    let mut chars = text.char_indices().peekable();
    let mut flush = |word: &mut String, start: usize, end: usize| {
        if !word.is_empty() {
            let w = fix_alphabet(std::mem::take(word));
            if w.chars().count() <= MAX_WORD_CHARS {
                out.push((start, end, w));
            }
        }
    };
    while let Some((i, c)) = chars.next() {
        if c.is_alphanumeric() {
            if word.is_empty() {
                start = i;
            }
            push_folded(&mut word, c);
            end = i + c.len_utf8();
        } else if is_joiner(c)
            && !word.is_empty()
            && chars.peek().is_some_and(|&(_, n)| n.is_alphanumeric())
        {
            // "wi-fi", "комп'ютер": one word.
        } else {
            flush(&mut word, start, end);
        }
    }
    flush(&mut word, start, end);
    out
}

/// The normalised form of a single word, if it is one word.
pub(crate) fn normalize_word(word: &str) -> Option<String> {
    let mut words = split_words(word);
    (words.len() == 1).then(|| words.remove(0).2)
}

/// Trigrams of `^word$`, sorted (duplicates kept) for [`dice`].
pub(crate) fn grams(word: &str) -> Vec<Gram> {
    let mut out = Vec::new();
    grams_into(word, &mut out);
    out
}

/// [`grams`] into a reused buffer (cleared first).
pub(crate) fn grams_into(word: &str, out: &mut Vec<Gram>) {
    out.clear();
    let mut window = ['^', '^', '^'];
    let mut seen = 1;
    for c in word.chars().chain(std::iter::once('$')) {
        window = [window[1], window[2], c];
        seen += 1;
        if seen >= 3 {
            out.push(window);
        }
    }
    out.sort_unstable();
}

/// A trigram as an index term.
pub(crate) fn gram_text(g: &Gram) -> String {
    g.iter().collect()
}

/// Dice similarity of two sorted trigram lists: 2·|A∩B| / (|A| + |B|), in 0..=1.
pub(crate) fn dice(a: &[Gram], b: &[Gram]) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    (2 * common) as f32 / (a.len() + b.len()) as f32
}

/// True when `a` and `b` differ by at most one edit (insertion, deletion, substitution or
/// swap of two neighbours). Allocates nothing: it runs for every word of every candidate.
pub(crate) fn within_one_edit(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    // One character is at most four bytes.
    if a.len().abs_diff(b.len()) > 4 {
        return false;
    }
    // Skip the common prefix.
    let mut skip = 0;
    for (x, y) in a.chars().zip(b.chars()) {
        if x != y {
            break;
        }
        skip += x.len_utf8();
    }
    let (ra, rb) = (&a[skip..], &b[skip..]);
    let first = |s: &str| s.chars().next().map_or(0, char::len_utf8);
    let (fa, fb) = (first(ra), first(rb));
    let substitution = fa > 0 && fb > 0 && ra[fa..] == rb[fb..];
    let deletion = fa > 0 && ra[fa..] == *rb;
    let insertion = fb > 0 && *ra == rb[fb..];
    let swap = || {
        let mut ca = ra.chars();
        let mut cb = rb.chars();
        match (ca.next(), ca.next(), cb.next(), cb.next()) {
            (Some(a1), Some(a2), Some(b1), Some(b2)) => {
                a1 == b2 && a2 == b1 && ca.as_str() == cb.as_str()
            }
            _ => false,
        }
    };
    substitution || deletion || insertion || swap()
}

/// Distinct stop-word-free words of a query, first occurrence kept.
pub(crate) fn dedup(terms: Vec<Analyzed>) -> Vec<Analyzed> {
    let mut seen = HashSet::new();
    terms
        .into_iter()
        .filter(|t| seen.insert(t.stem.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stems(text: &str) -> Vec<String> {
        Analyzer::new()
            .analyze(text)
            .into_iter()
            .map(|a| a.stem)
            .collect()
    }

    fn words(text: &str) -> Vec<String> {
        split_words(text).into_iter().map(|w| w.2).collect()
    }

    #[test]
    fn words_are_normalised_joined_and_fixed() {
        assert_eq!(words("Wi-Fi, вай-фай!"), ["wifi", "вайфай"]);
        assert_eq!(
            words("комп'ютер Ёлка ДОСТУП"),
            ["компютер", "елка", "доступ"]
        );
        assert_eq!(words("1C и 1С"), ["1с", "и", "1с"]);
        assert_eq!(words("пpинтep e-mail"), ["принтер", "email"]);
        assert_eq!(words("- -a- b'"), ["a", "b"]);
        assert_eq!(words("пошті, їжа, ґанок"), ["пошти", "ижа", "ганок"]);
    }

    #[test]
    fn stop_words_go_and_stems_match_across_word_forms() {
        assert_eq!(stems("Принтер не печатает"), stems("принтер не печатал"));
        assert_eq!(stems("Как подключиться к VPN?"), ["подключ", "vpn"]);
        assert_eq!(stems("printers printing"), ["printer", "print"]);
        assert_eq!(stems("телефоні"), stems("телефоне"));
        assert!(stems("как что где когда the how please будь ласка").is_empty());
    }

    #[test]
    fn edit_distance_one() {
        assert!(within_one_edit("password", "pasword"));
        assert!(within_one_edit("pasword", "password"));
        assert!(within_one_edit("принтер", "пирнтер"));
        assert!(within_one_edit("принтер", "прентер"));
        assert!(within_one_edit("abc", "abc"));
        assert!(!within_one_edit("принтер", "пирнтр"));
        assert!(!within_one_edit("abcd", "badc"));
        assert!(!within_one_edit("ab", "abcd"));
    }

    #[test]
    fn trigram_similarity() {
        assert_eq!(grams("wifi").len(), 4);
        assert!(dice(&grams("вайфая"), &grams("вайфай")) >= 0.5);
        assert!(dice(&grams("pasword"), &grams("password")) >= 0.5);
        assert!(dice(&grams("зарплата"), &grams("заказать")) < 0.5);
        assert_eq!(dice(&grams("abc"), &grams("abc")), 1.0);
        assert_eq!(gram_text(&['^', 'a', 'b']), "^ab");
    }
}
