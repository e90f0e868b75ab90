//! Tables of balances: CSV (delimiter `,` `;` or tab, UTF-8 with or without BOM or
//! Windows-1251, detected) and XLSX (the first sheet, calamine).
//!
//! The header row is the first of the first [`HEADER_SEARCH`] rows that names both a code
//! column and a quantity column (title rows above it, as in 1C's printed reports, are skipped).
//! Column names are recognised in Russian, Ukrainian and English, case, spaces and punctuation
//! ignored: see [`CODE_HEADERS`], [`NAME_HEADERS`], [`QTY_HEADERS`].

use super::{Balance, ImportError, parse_quantity};

/// Rows searched for the header.
const HEADER_SEARCH: usize = 20;

/// Column names taken as the SKU / article (normalised: lower case, letters and digits only).
pub const CODE_HEADERS: &[&str] = &[
    "sku",
    "article",
    "articul",
    "code",
    "itemcode",
    "productcode",
    "vendorcode",
    "partnumber",
    "pn",
    "артикул",
    "код",
    "кодтовара",
    "артикултовара",
    "кодноменклатуры",
    "артикулноменклатуры",
    "ид",
    "id",
];

/// Column names taken as the item's name.
pub const NAME_HEADERS: &[&str] = &[
    "name",
    "title",
    "description",
    "item",
    "product",
    "наименование",
    "название",
    "номенклатура",
    "товар",
    "наименованиетовара",
    "назва",
    "найменування",
    "назватовару",
];

/// Column names taken as the quantity (the balance).
pub const QTY_HEADERS: &[&str] = &[
    "quantity",
    "qty",
    "stock",
    "balance",
    "onhand",
    "instock",
    "count",
    "количество",
    "колво",
    "остаток",
    "остатки",
    "остатокнаскладе",
    "конечныйостаток",
    "кількість",
    "ксть",
    "залишок",
    "залишокнаскладі",
];

fn norm(h: &str) -> String {
    h.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Where the columns are.
struct Columns {
    code: usize,
    name: Option<usize>,
    qty: usize,
    headers: Vec<String>,
}

fn find_columns(row: &[String]) -> Option<Columns> {
    let find = |list: &[&str]| row.iter().position(|h| list.contains(&norm(h).as_str()));
    Some(Columns {
        code: find(CODE_HEADERS)?,
        name: find(NAME_HEADERS),
        qty: find(QTY_HEADERS)?,
        headers: row.iter().map(|h| h.trim().to_string()).collect(),
    })
}

fn is_total(name: &str) -> bool {
    let n = norm(name);
    ["итог", "всего", "разом", "усього", "total"]
        .iter()
        .any(|w| n.starts_with(w))
}

/// Turns rows (line number, cells) into balances.
fn balances(
    file: &str,
    index: u16,
    rows: impl Iterator<Item = Result<(u64, Vec<String>), ImportError>>,
) -> Result<Vec<Balance>, ImportError> {
    let mut cols: Option<Columns> = None;
    let mut searched = 0;
    let mut out = Vec::new();
    for row in rows {
        let (line, cells) = row?;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let Some(c) = &cols else {
            cols = find_columns(&cells);
            searched += 1;
            if cols.is_none() && searched >= HEADER_SEARCH {
                break;
            }
            continue;
        };
        let cell = |i: usize| cells.get(i).map(|s| s.trim()).unwrap_or("");
        let code = cell(c.code);
        let name = c.name.map(cell).unwrap_or("");
        if code.is_empty() {
            if name.is_empty() || is_total(name) {
                continue;
            }
            return Err(ImportError::new(
                file,
                Some(line),
                format!(
                    "column '{}': the SKU is empty (for '{name}')",
                    c.headers[c.code]
                ),
            ));
        }
        let quantity = parse_quantity(cell(c.qty)).map_err(|m| {
            ImportError::new(
                file,
                Some(line),
                format!("column '{}': {m}", c.headers[c.qty]),
            )
        })?;
        out.push(Balance {
            code: code.into(),
            ext_id: None,
            name: name.into(),
            quantity,
            file: index,
            line: u32::try_from(line).unwrap_or(u32::MAX),
        });
    }
    if cols.is_none() {
        return Err(ImportError::new(
            file,
            Some(1),
            format!(
                "no header row naming the SKU and quantity columns in the first {HEADER_SEARCH} \
                 rows (for example 'Артикул;Наименование;Остаток' or 'sku,name,quantity')"
            ),
        ));
    }
    if out.is_empty() {
        return Err(ImportError::new(
            file,
            None,
            "no rows with balances under the header",
        ));
    }
    Ok(out)
}

/// The text of a CSV file and the encoding found: UTF-8 (a BOM is dropped) or Windows-1251.
fn decode(bytes: &[u8]) -> (std::borrow::Cow<'_, str>, &'static str) {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF");
    match std::str::from_utf8(body.unwrap_or(bytes)) {
        Ok(s) if body.is_some() => (s.into(), "UTF-8 with BOM"),
        Ok(s) => (s.into(), "UTF-8"),
        Err(_) => (
            encoding_rs::WINDOWS_1251
                .decode_without_bom_handling(bytes)
                .0,
            "Windows-1251",
        ),
    }
}

/// The delimiter used most often (outside quotes) in the first lines: `;`, tab or `,`.
fn delimiter(text: &str) -> u8 {
    let mut counts = [0usize; 3];
    const CANDIDATES: [u8; 3] = [b';', b'\t', b','];
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(HEADER_SEARCH)
    {
        let mut quoted = false;
        for b in line.bytes() {
            if b == b'"' {
                quoted = !quoted;
            } else if !quoted && let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
                counts[i] += 1;
            }
        }
    }
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
    CANDIDATES[best]
}

/// Reads a CSV file; returns its balances and a description (`CSV, Windows-1251, ';'`).
pub(super) fn read_csv(
    file: &str,
    index: u16,
    bytes: &[u8],
) -> Result<(Vec<Balance>, String), ImportError> {
    let (text, enc) = decode(bytes);
    let delim = delimiter(&text);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delim)
        .from_reader(text.as_bytes());
    let rows = rdr.records().map(|r| {
        let r = r.map_err(|e| {
            let line = e.position().map(|p| p.line());
            ImportError::new(file, line, format!("malformed CSV: {e}"))
        })?;
        let line = r.position().map(|p| p.line()).unwrap_or(0);
        Ok((line, r.iter().map(str::to_string).collect()))
    });
    let out = balances(file, index, rows)?;
    let d = match delim {
        b'\t' => "tab".to_string(),
        d => format!("'{}'", d as char),
    };
    Ok((out, format!("CSV, {enc}, delimiter {d}")))
}

/// Non-empty cells an XLSX sheet may hold (a stock list has a few columns of a few thousand
/// rows; a 2 MiB upload can inflate to far more).
pub(super) const MAX_XLSX_CELLS: usize = 1_000_000;
/// Columns read from an XLSX sheet; cells further right are ignored.
pub(super) const MAX_XLSX_COLUMNS: u32 = 256;

/// Reads the first sheet of an XLSX workbook.
///
/// Cells are streamed and kept sparse, so a sheet whose cells sit at far-apart references
/// (a used range of a million rows by 16384 columns) costs only what it holds; and a panic
/// inside the workbook library on a damaged file is a refusal of the file.
pub(super) fn read_xlsx(
    file: &str,
    index: u16,
    bytes: Vec<u8>,
) -> Result<Vec<Balance>, ImportError> {
    let rows = std::panic::catch_unwind(move || xlsx_rows(file, bytes)).unwrap_or_else(|_| {
        Err(ImportError::new(
            file,
            None,
            "not a readable XLSX workbook: the file is damaged",
        ))
    })?;
    balances(file, index, rows.into_iter().map(Ok))
}

/// The first sheet's rows that hold something, as (line, cells by column).
fn xlsx_rows(file: &str, bytes: Vec<u8>) -> Result<Vec<(u64, Vec<String>)>, ImportError> {
    use calamine::{Data, Reader};
    check_shared_strings(file, &bytes)?;
    let text = |d: &Data| match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d.to_string(),
        Data::Error(e) => format!("#{e:?}"),
    };
    let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| ImportError::new(file, None, format!("not a readable XLSX workbook: {e}")))?;
    let mut sparse: std::collections::BTreeMap<u32, Vec<(u32, String)>> = Default::default();
    let mut count = 0usize;
    let mut keep = |row: u32, col: u32, value: String| -> Result<(), ImportError> {
        if col >= MAX_XLSX_COLUMNS || value.trim().is_empty() {
            return Ok(());
        }
        count += 1;
        if count > MAX_XLSX_CELLS {
            return Err(ImportError::new(
                file,
                None,
                format!("the sheet holds more than {MAX_XLSX_CELLS} cells: not a list of balances"),
            ));
        }
        sparse.entry(row).or_default().push((col, value));
        Ok(())
    };
    let sheet_error = |e: &dyn std::fmt::Display| {
        ImportError::new(file, None, format!("cannot read the first sheet: {e}"))
    };
    match &mut wb {
        calamine::Sheets::Xlsx(x) => {
            let name = x
                .sheet_names()
                .first()
                .cloned()
                .ok_or_else(|| ImportError::new(file, None, "the workbook has no sheet"))?;
            let mut cells = x
                .worksheet_cells_reader(&name)
                .map_err(|e| sheet_error(&e))?;
            while let Some(cell) = cells.next_cell().map_err(|e| sheet_error(&e))? {
                let (r, c) = cell.get_position();
                keep(r, c, text(&Data::from(cell.get_value().clone())))?;
            }
        }
        other => {
            let range = other
                .worksheet_range_at(0)
                .ok_or_else(|| ImportError::new(file, None, "the workbook has no sheet"))?
                .map_err(|e| sheet_error(&e))?;
            for (r, c, d) in range.used_cells() {
                let (r0, c0) = range.start().unwrap_or((0, 0));
                keep(r0 + r as u32, c0 + c as u32, text(d))?;
            }
        }
    }
    Ok(sparse
        .into_iter()
        .map(|(row, cells)| {
            let width = cells
                .iter()
                .map(|(c, _)| *c as usize + 1)
                .max()
                .unwrap_or(0);
            let mut line = vec![String::new(); width];
            for (c, v) in cells {
                line[c as usize] = v;
            }
            (u64::from(row) + 1, line)
        })
        .collect())
}

/// calamine reserves room for as many shared strings as the workbook's `<sst uniqueCount="N">`
/// claims before reading any, and a failed allocation aborts the whole process (it cannot be
/// caught). So a count the part could not hold (each string takes at least `<si/>`, 5 bytes)
/// refuses the file first. Every XML part is checked, since the relationships name the part.
fn check_shared_strings(file: &str, bytes: &[u8]) -> Result<(), ImportError> {
    use std::io::Read;
    let Ok(mut zip) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else {
        return Ok(()); // calamine says why it cannot open it
    };
    for i in 0..zip.len() {
        let Ok(entry) = zip.by_index(i) else {
            continue;
        };
        if !entry
            .name()
            .is_ok_and(|n| n.to_ascii_lowercase().ends_with(".xml"))
        {
            continue;
        }
        let mut reader = quick_xml::Reader::from_reader(std::io::BufReader::new(entry));
        let mut buf = Vec::new();
        let claimed = loop {
            buf.clear();
            match reader.read_event_into(&mut buf) {
                Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                    if e.local_name().as_ref() != "sst" {
                        break None;
                    }
                    break e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == "uniqueCount")
                        .and_then(|a| a.value.trim().parse::<u64>().ok());
                }
                Ok(quick_xml::events::Event::Eof) | Err(_) => break None,
                Ok(_) => {}
            }
        };
        let Some(claimed) = claimed else {
            continue;
        };
        let read = reader.buffer_position();
        let rest = std::io::copy(
            &mut reader.into_inner().take(u64::MAX),
            &mut std::io::sink(),
        )
        .unwrap_or(0);
        if claimed > (read + rest) / 5 + 1 {
            return Err(ImportError::new(
                file,
                None,
                format!(
                    "not a readable XLSX workbook: its shared strings claim {claimed} entries, more than the part holds"
                ),
            ));
        }
    }
    Ok(())
}
