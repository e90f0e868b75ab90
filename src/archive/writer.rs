//! Writes a snapshot from one read transaction while the server keeps serving.
//!
//! Two passes over the same read transaction: the first computes each table's row count and
//! SHA-256 (so `manifest.json` can come first), the second streams the rows into the archive.
//! Nothing is buffered whole and no temporary files are needed. The archive is written as
//! `<name>.partial`, synced and renamed; on any error the partial file is removed and older
//! archives are untouched.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use sha2::{Digest, Sha256};

use super::*;
use crate::domain::Timestamp;
use crate::store::{ARCHIVED_TABLES, ReadTx, Store};

/// zstd level: good ratio for JSON at a fraction of the time of higher levels.
const ZSTD_LEVEL: i32 = 6;

/// Writes a `kind` snapshot of `store` under `<data_dir>/archive/<kind>/` at time `now`;
/// returns the archive's path. The work runs on a thread of lowered priority
/// ([`at_low_priority`]), so requests served meanwhile keep their latency.
pub fn write_snapshot(
    store: &Store,
    data_dir: &Path,
    kind: Kind,
    now: Timestamp,
) -> Result<PathBuf, ArchiveError> {
    at_low_priority(|| write_snapshot_here(store, data_dir, kind, now))
}

fn write_snapshot_here(
    store: &Store,
    data_dir: &Path,
    kind: Kind,
    now: Timestamp,
) -> Result<PathBuf, ArchiveError> {
    let dir = kind_dir(data_dir, kind);
    std::fs::create_dir_all(&dir).map_err(|e| {
        ArchiveError::Io(format!(
            "cannot create the archive folder {}: {e}",
            dir.display()
        ))
    })?;
    // One name per second: if taken (two snapshots in one second), use the next free second.
    let mut at = Utc.timestamp_opt(now, 0).single().unwrap_or_else(Utc::now);
    let mut path = dir.join(file_name(kind, at));
    while path.exists() {
        at += chrono::Duration::seconds(1);
        path = dir.join(file_name(kind, at));
    }
    let partial = path.with_extension("zst.partial");
    let txn = store.read()?;
    let result = write_to(&txn, &partial, kind, at);
    drop(txn);
    match result {
        Ok(()) => std::fs::rename(&partial, &path).map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            ArchiveError::Io(format!("cannot rename {}: {e}", partial.display()))
        })?,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    }
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(path)
}

fn io_err(path: &Path, e: std::io::Error) -> ArchiveError {
    let hint = if e.raw_os_error() == Some(libc::ENOSPC) {
        " (the disk is full; the partial archive was removed, older archives are untouched)"
    } else {
        ""
    };
    ArchiveError::Io(format!(
        "cannot write the archive {}: {e}{hint}",
        path.display()
    ))
}

fn write_to(
    txn: &ReadTx,
    partial: &Path,
    kind: Kind,
    at: chrono::DateTime<Utc>,
) -> Result<(), ArchiveError> {
    // Pass 1: row counts and checksums.
    let mut tables = BTreeMap::new();
    let mut sizes = BTreeMap::new();
    for &name in ARCHIVED_TABLES {
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let rows = txn.export_table(name, &mut |line| {
            hasher.update(line);
            size += line.len() as u64;
            Ok(())
        })?;
        tables.insert(
            name.to_string(),
            TableSum {
                rows,
                sha256: hex::encode(hasher.finalize()),
            },
        );
        sizes.insert(name, size);
    }
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        app_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        kind,
        tables,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");

    // Pass 2: the archive itself.
    let file = File::create_new(partial).map_err(|e| io_err(partial, e))?;
    let mut enc = zstd::Encoder::new(BufWriter::with_capacity(1 << 20, file), ZSTD_LEVEL)
        .map_err(|e| io_err(partial, e))?;
    enc.include_checksum(true).map_err(|e| io_err(partial, e))?;
    let mtime = at.timestamp().max(0) as u64;
    write_entry_header(&mut enc, "manifest.json", manifest_json.len() as u64, mtime)
        .map_err(|e| io_err(partial, e))?;
    enc.write_all(&manifest_json)
        .map_err(|e| io_err(partial, e))?;
    pad(&mut enc, manifest_json.len() as u64).map_err(|e| io_err(partial, e))?;
    for &name in ARCHIVED_TABLES {
        let size = sizes[name];
        write_entry_header(&mut enc, &format!("tables/{name}.jsonl"), size, mtime)
            .map_err(|e| io_err(partial, e))?;
        let mut hasher = Sha256::new();
        let mut written = 0u64;
        let mut failure: Option<std::io::Error> = None;
        let res = txn.export_table(name, &mut |line| {
            hasher.update(line);
            written += line.len() as u64;
            enc.write_all(line).map_err(|e| {
                let kind = e.kind();
                failure = Some(e);
                std::io::Error::from(kind)
            })
        });
        if let Some(e) = failure {
            return Err(io_err(partial, e));
        }
        res?;
        if written != size || hex::encode(hasher.finalize()) != manifest.tables[name].sha256 {
            return Err(ArchiveError::Io(format!(
                "table {name} changed between passes; snapshot aborted"
            )));
        }
        pad(&mut enc, size).map_err(|e| io_err(partial, e))?;
    }
    // End of tar: two zero blocks.
    enc.write_all(&[0u8; 1024])
        .map_err(|e| io_err(partial, e))?;
    let buf = enc.finish().map_err(|e| io_err(partial, e))?;
    let file = buf
        .into_inner()
        .map_err(|e| io_err(partial, e.into_error()))?;
    file.sync_all().map_err(|e| io_err(partial, e))?;
    Ok(())
}

fn write_entry_header(
    w: &mut impl Write,
    path: &str,
    size: u64,
    mtime: u64,
) -> std::io::Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_path(path)?;
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(mtime);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    w.write_all(h.as_bytes())
}

fn pad(w: &mut impl Write, size: u64) -> std::io::Result<()> {
    let rem = (size % 512) as usize;
    if rem != 0 {
        w.write_all(&[0u8; 512][..512 - rem])?;
    }
    Ok(())
}
