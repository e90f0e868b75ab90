//! Reading stock balances from files: 1C CommerceML (`offers.xml` with `import.xml`), CSV and
//! XLSX. Pure: no storage, no async. A file becomes a list of [`Balance`]s (code, name,
//! quantity, where it was read); errors name the file, the line and the field.
//!
//! CommerceML is parsed as a stream (quick-xml over a buffered reader), so a large exchange
//! file is never held in memory whole; CSV and XLSX files are small in practice and read whole.
//! Balances pulled from 1C's OData interface are read by `odata.rs` into the same rows.
//! What happens with the balances (matching to stock items, the diff, applying it) is the
//! service's business (`service::stock_import`).

mod commerceml;
pub mod odata;
mod table;

use std::io::{BufRead, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use table::{CODE_HEADERS, NAME_HEADERS, QTY_HEADERS};

/// Largest quantity a file may give (the stock rules' limit for one balance).
pub const MAX_QUANTITY: i64 = crate::domain::stock::MAX_MOVE;

/// One balance read from a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// The code the file gives: the SKU / article column, or 1C's `Артикул` (its `Ид` when
    /// the good has no article).
    pub code: Box<str>,
    /// 1C's `Ид` of the good (the part before `#` for a characteristic), when the code is the
    /// article; the mapping table may key on either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_id: Option<Box<str>>,
    /// The name the file gives (may be empty).
    pub name: Box<str>,
    /// The balance: a whole number from 0 to [`MAX_QUANTITY`].
    pub quantity: i64,
    /// Where it was read: the index of the file in [`Parsed::files`], and the line.
    pub file: u16,
    pub line: u32,
}

impl Balance {
    /// Where it was read, e.g. `offers.xml line 12`; for a source whose name ends in `#`
    /// (records of an answer rather than lines of a file), the number follows it:
    /// `1C OData record #12`.
    pub fn source(&self, files: &[String]) -> String {
        let f = files
            .get(usize::from(self.file))
            .map_or("?", String::as_str);
        if f.ends_with('#') {
            format!("{f}{}", self.line)
        } else {
            format!("{f} line {}", self.line)
        }
    }
}

/// What a set of files gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub balances: Vec<Balance>,
    /// The CommerceML package says it holds only changes (`СодержитТолькоИзменения`).
    pub partial: bool,
    /// CommerceML offers that carry no quantity at all (price-only offers), left out.
    pub without_quantity: u64,
    /// Detected format of each file, e.g. `offers.xml: CommerceML 2.05`.
    pub formats: Vec<String>,
    /// The files' names, as [`Balance::file`] indexes them.
    pub files: Vec<String>,
}

/// Why a file cannot be imported: names the file, the line when known, and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct ImportError {
    pub file: String,
    pub line: Option<u64>,
    pub message: String,
}

impl ImportError {
    /// The message is kept on one line: control characters (a quoted value may hold line
    /// breaks or tabs, and the parsers' own messages quote the input) are shown escaped.
    pub fn new(file: &str, line: Option<u64>, message: impl Into<String>) -> ImportError {
        let message: String = message.into();
        let message = crate::domain::validate::one_line(&message).into_owned();
        ImportError {
            file: file.to_string(),
            line,
            message,
        }
    }
}

/// An input: a file on disk (read as a stream) or bytes already in memory (an upload).
pub enum Source<'a> {
    Path(&'a Path),
    Bytes { name: &'a str, bytes: &'a [u8] },
}

impl Source<'_> {
    fn name(&self) -> String {
        match self {
            Source::Path(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string()),
            Source::Bytes { name, .. } => name.to_string(),
        }
    }

    fn len(&self) -> u64 {
        match self {
            Source::Path(p) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            Source::Bytes { bytes, .. } => bytes.len() as u64,
        }
    }

    fn open(&self) -> Result<Box<dyn BufRead + '_>, ImportError> {
        match self {
            Source::Path(p) => {
                let f = std::fs::File::open(p).map_err(|e| {
                    ImportError::new(&p.display().to_string(), None, format!("cannot read: {e}"))
                })?;
                Ok(Box::new(std::io::BufReader::with_capacity(64 * 1024, f)))
            }
            Source::Bytes { bytes, .. } => Ok(Box::new(*bytes)),
        }
    }
}

/// Progress of reading: bytes read so far of all files, and their total.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// The kinds of file told apart by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Xml,
    Xlsx,
    Csv,
}

/// Tells the format from the first bytes; refuses what cannot be a stock file.
fn sniff(name: &str, head: &[u8]) -> Result<Kind, ImportError> {
    let refuse = |m: &str| Err(ImportError::new(name, None, m));
    if head.starts_with(b"PK\x03\x04") {
        return Ok(Kind::Xlsx);
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return refuse(
            "an old Excel 97-2003 (.xls) workbook: save it as .xlsx or CSV and import that",
        );
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return refuse(
            "the file is in UTF-16, which is not supported: save it as UTF-8 or Windows-1251",
        );
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let first = text.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'<') {
        return Ok(Kind::Xml);
    }
    if head.is_empty() || first.is_none() {
        return refuse("the file is empty");
    }
    if head.contains(&0) || head.starts_with(b"%PDF") {
        return refuse("not a CSV, XLSX or 1C CommerceML (XML) file");
    }
    Ok(Kind::Csv)
}

/// Reads every source into balances. CommerceML files are combined (offers in `offers.xml`
/// find their articles and names in `import.xml` by `Ид`, in either order); CSV and XLSX rows
/// are added as they are. Duplicate codes within a file are an error naming both lines.
pub fn parse(sources: &[Source<'_>], progress: Progress<'_>) -> Result<Parsed, ImportError> {
    if sources.is_empty() {
        return Err(ImportError::new("", None, "no file given"));
    }
    if sources.len() > usize::from(u16::MAX) {
        return Err(ImportError::new("", None, "too many files"));
    }
    let total: u64 = sources.iter().map(Source::len).sum();
    let mut done_before = 0u64;
    let mut out = Parsed::default();
    let mut cml = commerceml::Collector::default();
    let mut catalogues: Vec<u16> = Vec::new();
    for (index, src) in sources.iter().enumerate() {
        let name = src.name();
        let index = index as u16;
        out.files.push(name.clone());
        let mut reader = src.open()?;
        let head = reader
            .fill_buf()
            .map_err(|e| ImportError::new(&name, None, format!("cannot read: {e}")))?
            .to_vec();
        let kind = sniff(&name, &head)?;
        match kind {
            Kind::Xml => {
                let base = done_before;
                let (format, catalogue) = commerceml::read(
                    &name,
                    index,
                    reader,
                    &mut cml,
                    commerceml::Pass::Offers,
                    &mut |n| progress(base + n, total),
                )?;
                if catalogue {
                    catalogues.push(index);
                }
                out.formats.push(format!("{name}: {format}"));
            }
            Kind::Xlsx => {
                let mut bytes = Vec::new();
                reader
                    .read_to_end(&mut bytes)
                    .map_err(|e| ImportError::new(&name, None, format!("cannot read: {e}")))?;
                let rows = table::read_xlsx(&name, index, bytes)?;
                check_duplicates(&rows, &out.files, "SKU", |b| &b.code)?;
                out.balances.extend(rows);
                out.formats.push(format!("{name}: XLSX"));
            }
            Kind::Csv => {
                let mut bytes = Vec::new();
                reader
                    .read_to_end(&mut bytes)
                    .map_err(|e| ImportError::new(&name, None, format!("cannot read: {e}")))?;
                let (rows, what) = table::read_csv(&name, index, &bytes)?;
                check_duplicates(&rows, &out.files, "SKU", |b| &b.code)?;
                out.balances.extend(rows);
                out.formats.push(format!("{name}: {what}"));
            }
        }
        done_before += src.len();
        progress(done_before, total);
    }
    if cml.seen_xml() {
        // The catalogue pass: articles and names for the offers that lack them.
        cml.prepare(&out.files)?;
        for &i in &catalogues {
            let src = &sources[usize::from(i)];
            let name = &out.files[usize::from(i)];
            commerceml::read(
                name,
                i,
                src.open()?,
                &mut cml,
                commerceml::Pass::Catalogue,
                &mut |_| {},
            )?;
        }
        let (balances, partial, without) = cml.finish()?;
        out.balances.extend(balances);
        out.partial = partial;
        out.without_quantity = without;
    }
    Ok(out)
}

/// Parses a quantity as a balance: a whole number from 0 to [`MAX_QUANTITY`]. Spaces
/// (thousands separators) are ignored; a decimal comma or point is accepted when the fraction
/// is zero (`12,000` is 12). Errors say what is wrong with the value.
pub fn parse_quantity(raw: &str) -> Result<i64, String> {
    let s: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}')
        .collect();
    if s.is_empty() {
        return Err("is empty".into());
    }
    let s = s.replace(',', ".");
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(&s)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() && frac.is_empty()
        || !all_digits(int)
        || !all_digits(frac)
        || frac.contains('.')
    {
        return Err(format!("'{}' is not a number", raw.trim()));
    }
    if frac.bytes().any(|b| b != b'0') {
        return Err(format!(
            "'{}' is not a whole number (stock is counted in pieces)",
            raw.trim()
        ));
    }
    let int = int.trim_start_matches('0');
    if int.len() > 12 {
        return Err(format!(
            "'{}' is too large (at most {MAX_QUANTITY})",
            raw.trim()
        ));
    }
    let v: i64 = if int.is_empty() {
        0
    } else {
        int.parse()
            .map_err(|_| format!("'{}' is not a number", raw.trim()))?
    };
    if neg && v != 0 {
        return Err(format!(
            "'{}' is negative (a balance cannot be below zero)",
            raw.trim()
        ));
    }
    if v > MAX_QUANTITY {
        return Err(format!(
            "'{}' is too large (at most {MAX_QUANTITY})",
            raw.trim()
        ));
    }
    Ok(v)
}

/// Refuses a code that appears twice among `rows`, naming both lines (the earliest pair by
/// the later line). Sorts indexes rather than keeping a set of copies: no memory per row
/// beyond four bytes.
fn check_duplicates(
    rows: &[Balance],
    files: &[String],
    what: &str,
    key: impl Fn(&Balance) -> &str,
) -> Result<(), ImportError> {
    let mut idx: Vec<u32> = (0..rows.len() as u32).collect();
    idx.sort_unstable_by(|&a, &b| {
        let (a, b) = (&rows[a as usize], &rows[b as usize]);
        key(a)
            .cmp(key(b))
            .then((a.file, a.line).cmp(&(b.file, b.line)))
    });
    let dup = idx
        .windows(2)
        .map(|w| (&rows[w[0] as usize], &rows[w[1] as usize]))
        .filter(|(a, b)| key(a) == key(b))
        .min_by_key(|(_, b)| (b.file, b.line));
    match dup {
        None => Ok(()),
        Some((first, again)) => {
            let name = files
                .get(usize::from(again.file))
                .map_or("?", String::as_str);
            let at = if first.file == again.file {
                format!("line {}", first.line)
            } else {
                first.source(files)
            };
            Err(ImportError::new(
                name,
                Some(u64::from(again.line)),
                format!(
                    "{what} '{}' appears twice (first at {at}); each may appear once",
                    key(again)
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests;
