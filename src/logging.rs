//! Logging: tracing to stdout, and for the server also to daily files in `<data_dir>/logs`
//! (`helpdesk.log.YYYY-MM-DD`), pruned to `log.keep_days` files.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogConfig;

/// Keeps the file writer alive; drop it last so buffered lines reach the file.
pub struct LogGuard {
    _file: Option<WorkerGuard>,
    slot: Option<FileSlot>,
    keep_days: usize,
}

impl LogGuard {
    /// Starts writing the daily files in `logs_dir` when that was impossible at start-up (a
    /// read-only data folder); a no-op when they are already written.
    pub fn open_files(&self, logs_dir: &Path) -> anyhow::Result<()> {
        let Some(slot) = &self.slot else {
            return Ok(());
        };
        let mut file = slot.0.lock().unwrap_or_else(|e| e.into_inner());
        if file.is_none() {
            *file = Some(appender(logs_dir, self.keep_days)?);
        }
        Ok(())
    }
}

/// The log file writer, empty while the log folder cannot be written (lines then go to
/// stdout only).
#[derive(Clone, Default)]
struct FileSlot(Arc<Mutex<Option<RollingFileAppender>>>);

impl Write for FileSlot {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some(f) => f.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.0.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

fn appender(logs_dir: &Path, keep_days: usize) -> anyhow::Result<RollingFileAppender> {
    std::fs::create_dir_all(logs_dir)
        .map_err(|e| anyhow::anyhow!("cannot create the log folder {}: {e}", logs_dir.display()))?;
    Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix("helpdesk.log")
        .max_log_files(keep_days)
        .build(logs_dir)
        .map_err(|e| anyhow::anyhow!("cannot open a log file in {}: {e}", logs_dir.display()))
}

/// Server logging: stdout plus daily-rotated files in `logs_dir`. When the log folder cannot
/// be written (a read-only data folder) logging goes to stdout only and the second value says
/// why; [`LogGuard::open_files`] starts the files later.
pub fn init_server(cfg: &LogConfig, logs_dir: &Path) -> anyhow::Result<(LogGuard, Option<String>)> {
    let filter = EnvFilter::try_new(&cfg.level)?;
    let (first, problem) = match appender(logs_dir, cfg.keep_days) {
        Ok(a) => (Some(a), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let slot = FileSlot(Arc::new(Mutex::new(first)));
    let (file, guard) = tracing_appender::non_blocking(slot.clone());
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout())),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(file),
        )
        .try_init()
        .ok();
    Ok((
        LogGuard {
            _file: Some(guard),
            slot: Some(slot),
            keep_days: cfg.keep_days,
        },
        problem,
    ))
}

/// Command-line logging: warnings and errors to stderr only.
pub fn init_cli() -> LogGuard {
    let filter = EnvFilter::try_from_env("HELPDESK_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false),
        )
        .try_init()
        .ok();
    LogGuard {
        _file: None,
        slot: None,
        keep_days: 0,
    }
}
