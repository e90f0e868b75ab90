//! Commands that change data, runnable two ways with the same code: directly on an opened
//! store, or inside a running `helpdesk serve` through the control channel when the server
//! holds the database lock.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::archive::{self, Kind};
use crate::domain::{Actor, Role};
use crate::service::{NewStaff, Service};

/// A data-changing command.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    Snapshot {
        kind: Kind,
    },
    AdminAdd {
        login: String,
        role: Role,
        telegram_id: Option<i64>,
        password: String,
    },
    /// Excel export of the tickets created in `[from, to)` (either end open when `None`), times
    /// in time zone `tz` (an IANA name); `out` is an absolute path.
    ExportTickets {
        out: PathBuf,
        from: Option<i64>,
        to: Option<i64>,
        tz: String,
    },
    FaqImport {
        entries: Vec<(String, String, Vec<String>)>,
    },
    /// Stock balances read from files (parsed by the CLI, so only the balances travel).
    StockImport {
        rows: Vec<crate::import::Balance>,
        options: crate::service::ImportOptions,
        dry_run: bool,
        /// List every line of the difference (else the first [`LIST_LIMIT`] of each kind).
        full: bool,
        /// Show apply progress on stderr (a direct run, not inside the server).
        #[serde(default)]
        progress: bool,
    },
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Snapshot { kind } => write!(f, "Snapshot({kind})"),
            Command::AdminAdd { login, role, .. } => write!(f, "AdminAdd({login}, {role})"),
            Command::FaqImport { entries } => write!(f, "FaqImport({} entries)", entries.len()),
            Command::ExportTickets { out, .. } => write!(f, "ExportTickets({})", out.display()),
            Command::StockImport { rows, dry_run, .. } => {
                write!(f, "StockImport({} rows, dry run {dry_run})", rows.len())
            }
        }
    }
}

/// Runs `cmd` on `svc`; returns the lines to print (the last one is the result).
pub fn execute(svc: &Service, data_dir: &Path, cmd: Command) -> Result<Vec<String>, String> {
    match cmd {
        Command::Snapshot { kind } => {
            let path = archive::write_snapshot(svc.store(), data_dir, kind, svc.now())
                .map_err(|e| e.to_string())?;
            let manifest = archive::verify(&path)
                .map_err(|e| format!("the new archive failed verification: {e}"))?;
            let rows: u64 = manifest.tables.values().map(|t| t.rows).sum();
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            Ok(vec![
                format!(
                    "snapshot written and verified: {} tables, {rows} rows, {} bytes",
                    manifest.tables.len(),
                    size
                ),
                path.display().to_string(),
            ])
        }
        Command::AdminAdd {
            login,
            role,
            telegram_id,
            password,
        } => {
            let s = svc
                .add_staff(
                    &Actor::Cli,
                    NewStaff {
                        login,
                        password,
                        role,
                        telegram_id,
                        display_name: None,
                    },
                )
                .map_err(|e| e.to_string())?;
            Ok(vec![format!(
                "staff account '{}' created with role {}",
                s.login, s.role
            )])
        }
        Command::ExportTickets { out, from, to, tz } => {
            let tz: chrono_tz::Tz = tz
                .parse()
                .map_err(|_| format!("unknown time zone '{tz}'"))?;
            let n = svc
                .export_tickets_xlsx(from, to, tz, &out)
                .map_err(|e| e.to_string())?;
            Ok(vec![
                format!("{n} tickets exported"),
                out.display().to_string(),
            ])
        }
        Command::FaqImport { entries } => {
            let r = svc
                .import_faq(&Actor::Cli, &entries)
                .map_err(|e| e.to_string())?;
            Ok(vec![format!(
                "FAQ imported: {} added, {} updated, {} unchanged",
                r.added, r.updated, r.unchanged
            )])
        }
        Command::StockImport {
            rows,
            options,
            dry_run,
            full,
            progress,
        } => {
            let mut shown = 0;
            let mut show = |done: u64, total: u64| {
                let pct = (done * 10).checked_div(total).unwrap_or(10);
                if progress && total >= 1000 && pct > shown {
                    shown = pct;
                    eprintln!("applying: {done} of {total} items");
                }
            };
            let d = svc
                .import_stock(&Actor::Cli, &rows, &options, !dry_run, &mut show)
                .map_err(|e| e.to_string())?;
            Ok(stock_import_lines(
                &d,
                &rows,
                &options.files,
                dry_run,
                options.create_new,
                full,
            ))
        }
    }
}

/// Lines of a stock import's difference listed per kind unless `--full`.
pub const LIST_LIMIT: usize = 50;

/// The report of a stock import: the lines of the difference, then the summary (last).
pub fn stock_import_lines(
    d: &crate::service::ImportDiff,
    rows: &[crate::import::Balance],
    files: &[String],
    dry_run: bool,
    create_new: bool,
    full: bool,
) -> Vec<String> {
    use crate::service::ImportLine;
    let mut out = Vec::new();
    let limit = if full { usize::MAX } else { LIST_LIMIT };
    let mut list = |title: &str, lines: &[ImportLine], f: &dyn Fn(&ImportLine) -> String| {
        if lines.is_empty() {
            return;
        }
        out.push(format!("{title} ({}):", lines.len()));
        for l in lines.iter().take(limit) {
            out.push(format!("  {}  [{}]", f(l), l.source(rows, files)));
        }
        if lines.len() > limit {
            out.push(format!(
                "  … and {} more (--full lists all)",
                lines.len() - limit
            ));
        }
    };
    list("changed quantities", &d.changed, &|l| {
        format!(
            "{}  {}: {} -> {} ({:+})",
            l.sku(rows),
            l.name(rows),
            l.from,
            l.to,
            l.to - l.from
        )
    });
    list("new items created", &d.created, &|l| {
        format!("{}  {}: {}", l.sku(rows), l.name(rows), l.to)
    });
    list("unknown SKUs, not imported", &d.unknown, &|l| {
        format!("{}  {}: {}", l.code(rows), l.name(rows), l.to)
    });
    if !d.unknown.is_empty() && !create_new {
        out.push(
            "  to import them: map their codes to items on the panel's Stock → Import → \
             Mapping page, or run again with --create-new to create them"
                .into(),
        );
    }
    if d.ignored > 0 {
        out.push(format!(
            "{} goods at 0 that match no stock item left out (1C's catalogue lists every good)",
            d.ignored
        ));
    }
    let what = if dry_run {
        "dry run, nothing changed"
    } else if d.applied {
        "imported"
    } else {
        "nothing to change"
    };
    out.push(format!(
        "stock import ({what}): {} changed, {} new, {} unknown, {} unchanged, {} items not in the file kept",
        d.changed.len(),
        d.created.len(),
        d.unknown.len(),
        d.unchanged,
        d.untouched
    ));
    out
}

/// Reads FAQ entries from CSV (`question,answer[,alternatives]` with a header row,
/// alternatives separated by `|`) or TOML (`[[faq]]` tables with `question`, `answer`,
/// `alternatives`). Errors name the line.
pub fn read_faq_file(path: &Path) -> Result<Vec<(String, String, Vec<String>)>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "toml" => read_faq_toml(path, text),
        "csv" | "txt" | "" => read_faq_csv(path, text),
        other => Err(format!(
            "{}: unsupported file type '.{other}' (use .csv or .toml)",
            path.display()
        )),
    }
}

fn read_faq_csv(path: &Path, text: &str) -> Result<Vec<(String, String, Vec<String>)>, String> {
    let delimiter = if text
        .lines()
        .next()
        .is_some_and(|h| h.contains(';') && !h.contains(','))
    {
        b';'
    } else {
        b','
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(q), Some(a)) = (col("question"), col("answer")) else {
        return Err(format!(
            "{} line 1: the header must name the columns question,answer[,alternatives]",
            path.display()
        ));
    };
    let alt = col("alternatives");
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let question = rec.get(q).unwrap_or("").to_string();
        let answer = rec.get(a).unwrap_or("").to_string();
        if question.trim().is_empty() || answer.trim().is_empty() {
            return Err(format!(
                "{} line {line}: both question and answer are required",
                path.display()
            ));
        }
        let alternatives = alt
            .and_then(|i| rec.get(i))
            .map(|s| {
                s.split('|')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        out.push((question, answer, alternatives));
    }
    if out.is_empty() {
        return Err(format!("{}: no FAQ entries found", path.display()));
    }
    Ok(out)
}

fn read_faq_toml(path: &Path, text: &str) -> Result<Vec<(String, String, Vec<String>)>, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        faq: Vec<Entry>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        question: String,
        answer: String,
        #[serde(default)]
        alternatives: Vec<String>,
    }
    let f: File = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(0);
        format!("{} line {line}: {}", path.display(), e.message().trim())
    })?;
    Ok(f.faq
        .into_iter()
        .map(|e| (e.question, e.answer, e.alternatives))
        .collect())
}

/// The data folder the command works on: `--data-dir` when given, else the config's.
pub fn data_dir(config: &crate::config::Config, over: Option<&Path>) -> PathBuf {
    over.map(Path::to_path_buf)
        .unwrap_or_else(|| config.storage.data_dir.clone())
}
