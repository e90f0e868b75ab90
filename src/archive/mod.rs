//! Snapshot archives: logical dumps of every table as JSON Lines plus a manifest with row
//! counts and SHA-256, in `tar.zst`; verification; restore into an empty data folder; and the
//! daily/monthly/yearly retention policy.
//!
//! Layout of `helpdesk-<kind>-<YYYYMMDDTHHMMSSZ>.tar.zst`: `manifest.json` first, then
//! `tables/<name>.jsonl`. Readable with stock tools: `zstd -dc A | tar -t`.

mod reader;
mod retention;
mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

pub use reader::{RestoreReport, read_manifest, restore, verify};
pub use retention::{Keep, retention_plan};
pub use writer::write_snapshot;

/// Version of the archive layout written by this build.
pub const FORMAT_VERSION: u32 = 1;

/// Why a snapshot, verify or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{0}")]
    Io(String),
    #[error("the archive {path} is damaged: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The kinds of archive, each in its own folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Manual,
    Daily,
    Monthly,
    Yearly,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Manual, Kind::Daily, Kind::Monthly, Kind::Yearly];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Manual => "manual",
            Kind::Daily => "daily",
            Kind::Monthly => "monthly",
            Kind::Yearly => "yearly",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub app_version: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub kind: Kind,
    pub tables: BTreeMap<String, TableSum>,
}

/// Row count and SHA-256 (hex) of one `tables/<name>.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSum {
    pub rows: u64,
    pub sha256: String,
}

/// Runs `f` on a thread of its own with lowered CPU and I/O priority (nice +10, best-effort
/// I/O level 7; on Linux both apply to that one thread), so a snapshot or a verification
/// running inside the server leaves the cores and the disk to requests first and uses what
/// they leave idle. The thread ends with `f`, so the lowered priority never leaks to a pooled
/// thread. Runs `f` on the calling thread when no thread can be started; a panic in `f` is
/// passed on.
pub fn at_low_priority<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    let slot = std::sync::Mutex::new(Some(f));
    let take = || {
        slot.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .expect("the job runs once")
    };
    std::thread::scope(|s| {
        let spawned = std::thread::Builder::new()
            .name("helpdesk-archive".into())
            .spawn_scoped(s, || {
                lower_this_thread();
                take()()
            });
        match spawned {
            Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            Err(e) => {
                tracing::warn!(
                    "cannot start a low-priority thread ({e}); running at normal priority"
                );
                take()()
            }
        }
    })
}

/// Puts the calling thread in the `SCHED_IDLE` class (it runs when no normal thread wants the
/// core, and a waking request thread always preempts it), lowers its nice value by 10 steps (at
/// most 19; what counts where `SCHED_IDLE` is refused) and its I/O priority to best-effort
/// level 7. Failures leave the priority as it was. A release run of `benches/snapshot_load.rs`
/// with nice +10 alone kept the median at idle but not the p99 (4.3× idle).
#[cfg(target_os = "linux")]
fn lower_this_thread() {
    // SAFETY: gettid, getpriority, setpriority, sched_setscheduler and ioprio_set on this
    // thread's own id (0 = the calling thread), with plain integer arguments and a valid
    // sched_param; none of them keeps a pointer.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        libc::setpriority(libc::PRIO_PROCESS, tid, (now.max(0) + 10).min(19));
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
        // IOPRIO_WHO_PROCESS = 1; IOPRIO_CLASS_BE = 2 in the top bits, level 7 (lowest).
        libc::syscall(libc::SYS_ioprio_set, 1, tid, (2 << 13) | 7);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_thread() {}

/// The folder of archives of `kind`.
pub fn kind_dir(data_dir: &Path, kind: Kind) -> PathBuf {
    data_dir.join("archive").join(kind.as_str())
}

/// `helpdesk-<kind>-<YYYYMMDDTHHMMSSZ>.tar.zst`.
pub fn file_name(kind: Kind, at: DateTime<Utc>) -> String {
    format!(
        "helpdesk-{}-{}.tar.zst",
        kind.as_str(),
        at.format("%Y%m%dT%H%M%SZ")
    )
}

/// The kind and time in an archive's file name.
pub fn parse_file_name(name: &str) -> Option<(Kind, DateTime<Utc>)> {
    let rest = name.strip_prefix("helpdesk-")?.strip_suffix(".tar.zst")?;
    let (kind, stamp) = rest.split_once('-')?;
    let kind = Kind::parse(kind)?;
    let t = NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").ok()?;
    Some((kind, Utc.from_utc_datetime(&t)))
}

/// An archive found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveInfo {
    pub path: PathBuf,
    pub kind: Kind,
    pub created: DateTime<Utc>,
    pub size: u64,
}

/// Every archive under `<data_dir>/archive`, newest first.
pub fn list(data_dir: &Path) -> Vec<ArchiveInfo> {
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let Ok(entries) = std::fs::read_dir(kind_dir(data_dir, kind)) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if let Some((k, created)) = parse_file_name(&name)
                && k == kind
            {
                let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                out.push(ArchiveInfo {
                    path: e.path(),
                    kind,
                    created,
                    size,
                });
            }
        }
    }
    out.sort_by(|a, b| b.created.cmp(&a.created).then(a.kind.cmp(&b.kind)));
    out
}

/// Applies the retention policy to the archives on disk; returns the deleted paths.
pub fn apply_retention(data_dir: &Path, keep: Keep) -> std::io::Result<Vec<PathBuf>> {
    let all = list(data_dir);
    let items: Vec<(Kind, DateTime<Utc>)> = all.iter().map(|a| (a.kind, a.created)).collect();
    let mut deleted = Vec::new();
    for i in retention_plan(&items, keep) {
        std::fs::remove_file(&all[i].path)?;
        deleted.push(all[i].path.clone());
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod name_tests {
    use super::*;

    #[cfg(target_os = "linux")]
    fn nice_of_this_thread() -> i32 {
        // SAFETY: plain syscalls on this thread's own id.
        unsafe {
            libc::getpriority(
                libc::PRIO_PROCESS,
                libc::syscall(libc::SYS_gettid) as libc::id_t,
            )
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn low_priority_work_runs_on_a_niced_thread_and_leaves_the_caller_alone() {
        let mine = nice_of_this_thread();
        // SAFETY: sched_getscheduler(0) reads the calling thread's policy.
        let policy = || unsafe { libc::sched_getscheduler(0) };
        let my_policy = policy();
        let (inside, name, inside_policy) = at_low_priority(|| {
            (
                nice_of_this_thread(),
                std::thread::current().name().map(str::to_string),
                policy(),
            )
        });
        assert_eq!(inside, (mine.max(0) + 10).min(19), "nice +10 inside");
        assert_eq!(inside_policy, libc::SCHED_IDLE, "SCHED_IDLE inside");
        assert_eq!(policy(), my_policy, "the caller keeps its policy");
        assert_eq!(name.as_deref(), Some("helpdesk-archive"));
        assert_eq!(nice_of_this_thread(), mine, "the caller keeps its priority");
        // A panic inside is passed on to the caller.
        let r = std::panic::catch_unwind(|| at_low_priority(|| panic!("boom")));
        assert!(r.is_err());
    }

    #[test]
    fn file_names_round_trip() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 2, 30, 5).unwrap();
        let n = file_name(Kind::Daily, at);
        assert_eq!(n, "helpdesk-daily-20261121T023005Z.tar.zst");
        assert_eq!(parse_file_name(&n), Some((Kind::Daily, at)));
        assert_eq!(
            parse_file_name("helpdesk-weekly-20261121T023005Z.tar.zst"),
            None
        );
        assert_eq!(parse_file_name("helpdesk-daily-2026.tar.zst"), None);
        assert_eq!(parse_file_name("other.tar.zst"), None);
    }
}
