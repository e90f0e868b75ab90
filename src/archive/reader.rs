//! Reads archives: [`verify`] checks the manifest against every table's rows and SHA-256 (and
//! zstd's own frame checksum); [`restore`] loads a verified archive into an empty data folder
//! and rebuilds the derived indexes.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::*;
use crate::store::{ARCHIVED_TABLES, Store};

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    pub manifest: Manifest,
    /// Rows loaded per table.
    pub rows: BTreeMap<String, u64>,
}

fn corrupt(path: &Path, reason: impl std::fmt::Display) -> ArchiveError {
    // Library messages may quote the damaged bytes: control characters are shown escaped so
    // the reason stays on one line.
    let reason = crate::domain::validate::one_line(&reason.to_string()).into_owned();
    ArchiveError::Corrupt {
        path: path.to_path_buf(),
        reason,
    }
}

fn open(
    path: &Path,
) -> Result<tar::Archive<zstd::Decoder<'static, BufReader<File>>>, ArchiveError> {
    let file = File::open(path)
        .map_err(|e| ArchiveError::Io(format!("cannot open {}: {e}", path.display())))?;
    let dec =
        zstd::Decoder::new(file).map_err(|e| corrupt(path, format!("not a zstd stream: {e}")))?;
    Ok(tar::Archive::new(dec))
}

/// Walks the archive, calling `table(name, reader)` for each table entry after the manifest
/// has been read and checked; every byte of the zstd frame is read so its checksum is checked.
fn walk(
    path: &Path,
    mut table: impl FnMut(&Manifest, &str, &mut dyn BufRead) -> Result<(), ArchiveError>,
) -> Result<Manifest, ArchiveError> {
    let mut archive = open(path)?;
    let mut manifest: Option<Manifest> = None;
    let mut seen = std::collections::BTreeSet::new();
    {
        let entries = archive.entries().map_err(|e| corrupt(path, e))?;
        for entry in entries {
            let mut entry =
                entry.map_err(|e| corrupt(path, format!("truncated or unreadable: {e}")))?;
            let name = entry
                .path()
                .map_err(|e| corrupt(path, e))?
                .to_string_lossy()
                .to_string();
            if manifest.is_none() {
                if name != "manifest.json" {
                    return Err(corrupt(
                        path,
                        format!("the first entry must be manifest.json, found '{name}'"),
                    ));
                }
                let mut buf = Vec::new();
                entry
                    .read_to_end(&mut buf)
                    .map_err(|e| corrupt(path, format!("manifest unreadable: {e}")))?;
                let m: Manifest = serde_json::from_slice(&buf)
                    .map_err(|e| corrupt(path, format!("manifest.json is not valid: {e}")))?;
                if m.format_version > FORMAT_VERSION {
                    return Err(ArchiveError::Refused(format!(
                        "{} has archive format {}, newer than this helpdesk understands ({FORMAT_VERSION}): upgrade helpdesk",
                        path.display(),
                        m.format_version
                    )));
                }
                manifest = Some(m);
                continue;
            }
            if name.starts_with("attachments/") {
                continue;
            }
            let Some(tname) = name
                .strip_prefix("tables/")
                .and_then(|n| n.strip_suffix(".jsonl"))
            else {
                return Err(corrupt(path, format!("unexpected entry '{name}'")));
            };
            let m = manifest.as_ref().expect("manifest read first");
            if !m.tables.contains_key(tname) {
                return Err(corrupt(
                    path,
                    format!("table '{tname}' is not in the manifest"),
                ));
            }
            if !seen.insert(tname.to_string()) {
                return Err(corrupt(path, format!("table '{tname}' appears twice")));
            }
            let mut reader = BufReader::with_capacity(1 << 16, &mut entry);
            table(m, tname, &mut reader)?;
            // Whatever the callback left unread still counts for the entry's integrity.
            std::io::copy(&mut reader, &mut std::io::sink()).map_err(|e| corrupt(path, e))?;
        }
    }
    let Some(manifest) = manifest else {
        return Err(corrupt(
            path,
            "it holds no manifest.json (empty or truncated)",
        ));
    };
    if let Some(missing) = manifest.tables.keys().find(|t| !seen.contains(*t)) {
        return Err(corrupt(
            path,
            format!("table '{missing}' is missing (truncated archive?)"),
        ));
    }
    // Read to the end of the zstd frame so its checksum is verified too.
    let mut dec = archive.into_inner();
    std::io::copy(&mut dec, &mut std::io::sink())
        .map_err(|e| corrupt(path, format!("truncated or damaged: {e}")))?;
    Ok(manifest)
}

/// Reads one table entry line by line, hashing and counting it and checking each line is a
/// JSON object; `each` gets every line.
fn check_table(
    path: &Path,
    name: &str,
    reader: &mut dyn BufRead,
    expected: &TableSum,
    mut each: impl FnMut(&str) -> Result<(), ArchiveError>,
) -> Result<(), ArchiveError> {
    let mut hasher = Sha256::new();
    let mut rows = 0u64;
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| corrupt(path, format!("tables/{name}.jsonl line {}: {e}", rows + 1)))?;
        if n == 0 {
            break;
        }
        hasher.update(line.as_bytes());
        rows += 1;
        let body = line
            .strip_suffix('\n')
            .ok_or_else(|| corrupt(path, format!("tables/{name}.jsonl ends mid-line")))?;
        each(body)?;
    }
    if rows != expected.rows {
        return Err(corrupt(
            path,
            format!(
                "tables/{name}.jsonl has {rows} rows, the manifest says {}",
                expected.rows
            ),
        ));
    }
    let sum = hex::encode(hasher.finalize());
    if sum != expected.sha256 {
        return Err(corrupt(
            path,
            format!("tables/{name}.jsonl checksum mismatch"),
        ));
    }
    Ok(())
}

/// Checks an archive: manifest present and readable, every table present once with the row
/// count and SHA-256 the manifest says, every row a JSON object, zstd frame checksum intact.
/// Runs on a thread of lowered priority ([`at_low_priority`]): the server verifies each new
/// snapshot while it serves.
pub fn verify(path: &Path) -> Result<Manifest, ArchiveError> {
    at_low_priority(|| verify_here(path))
}

fn verify_here(path: &Path) -> Result<Manifest, ArchiveError> {
    walk(path, |manifest, name, reader| {
        check_table(path, name, reader, &manifest.tables[name], |line| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line)
                .map(|_| ())
                .map_err(|e| {
                    corrupt(
                        path,
                        format!("tables/{name}.jsonl: a row is not a JSON object: {e}"),
                    )
                })
        })
    })
}

/// Reads only `manifest.json`.
pub fn read_manifest(path: &Path) -> Result<Manifest, ArchiveError> {
    let mut archive = open(path)?;
    let mut entries = archive.entries().map_err(|e| corrupt(path, e))?;
    let mut first = entries
        .next()
        .ok_or_else(|| corrupt(path, "it is empty"))?
        .map_err(|e| corrupt(path, format!("truncated or unreadable: {e}")))?;
    let mut buf = Vec::new();
    first.read_to_end(&mut buf).map_err(|e| corrupt(path, e))?;
    serde_json::from_slice(&buf)
        .map_err(|e| corrupt(path, format!("manifest.json is not valid: {e}")))
}

/// Restores `archive` into `data_dir`, which must be missing or empty. The archive is verified
/// first; on any failure the folder is left as it was found.
pub fn restore(archive: &Path, data_dir: &Path) -> Result<RestoreReport, ArchiveError> {
    let existed = data_dir.exists();
    if existed {
        let mut entries = std::fs::read_dir(data_dir)
            .map_err(|e| ArchiveError::Io(format!("cannot read {}: {e}", data_dir.display())))?;
        if entries.next().is_some() {
            return Err(ArchiveError::Refused(format!(
                "refusing to restore into {}: the folder is not empty (restore needs a missing or empty folder)",
                data_dir.display()
            )));
        }
    }
    let manifest = verify_here(archive)?;
    for t in manifest.tables.keys() {
        if !ARCHIVED_TABLES.contains(&t.as_str()) {
            return Err(ArchiveError::Refused(format!(
                "the archive has a table '{t}' this helpdesk does not know"
            )));
        }
    }
    let result = load(archive, data_dir, &manifest);
    if result.is_err() {
        // Leave the folder as found: remove what this restore created.
        if existed {
            if let Ok(entries) = std::fs::read_dir(data_dir) {
                for e in entries.flatten() {
                    let p = e.path();
                    let _ = if p.is_dir() {
                        std::fs::remove_dir_all(&p)
                    } else {
                        std::fs::remove_file(&p)
                    };
                }
            }
        } else {
            let _ = std::fs::remove_dir_all(data_dir);
        }
    }
    let rows = result?;
    Ok(RestoreReport { manifest, rows })
}

fn load(
    archive: &Path,
    data_dir: &Path,
    manifest: &Manifest,
) -> Result<BTreeMap<String, u64>, ArchiveError> {
    let store = Store::open(data_dir)?;
    let mut tx = store.write()?;
    let mut rows = BTreeMap::new();
    walk(archive, |_, name, reader| {
        let expected = &manifest.tables[name];
        // Lines are checked (count and checksum) while they are loaded; a mismatch aborts the
        // transaction, so nothing is committed.
        let mut lines: Vec<String> = Vec::new();
        let mut loaded = 0u64;
        let mut flush =
            |tx: &mut crate::store::WriteTx, lines: &mut Vec<String>| -> Result<(), ArchiveError> {
                let mut it = lines.drain(..).map(Ok);
                loaded += tx.import_table(name, loaded, &mut it)?;
                Ok(())
            };
        let mut failure: Option<ArchiveError> = None;
        check_table(archive, name, reader, expected, |line| {
            lines.push(line.to_string());
            if lines.len() >= 10_000
                && let Err(e) = flush(&mut tx, &mut lines)
            {
                failure = Some(e);
                return Err(ArchiveError::Refused("stopped".into()));
            }
            Ok(())
        })
        .map_err(|e| failure.take().unwrap_or(e))?;
        flush(&mut tx, &mut lines)?;
        rows.insert(name.to_string(), loaded);
        Ok(())
    })?;
    tx.rebuild_indexes()?;
    tx.commit()?;
    Ok(rows)
}
