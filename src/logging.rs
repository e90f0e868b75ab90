//! Logging: tracing to stdout, and for the server also to daily files in `<data_dir>/logs`
//! (`helpdesk.log.YYYY-MM-DD`), pruned to `log.keep_days` files.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogConfig;

/// Keeps the file writer alive; drop it last so buffered lines reach the file.
pub struct LogGuard {
    _file: Option<WorkerGuard>,
}

/// Server logging: stdout plus daily-rotated files in `logs_dir`.
pub fn init_server(cfg: &LogConfig, logs_dir: &Path) -> anyhow::Result<LogGuard> {
    std::fs::create_dir_all(logs_dir)
        .map_err(|e| anyhow::anyhow!("cannot create the log folder {}: {e}", logs_dir.display()))?;
    let appender = Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix("helpdesk.log")
        .max_log_files(cfg.keep_days)
        .build(logs_dir)
        .map_err(|e| anyhow::anyhow!("cannot open a log file in {}: {e}", logs_dir.display()))?;
    let (file, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_new(&cfg.level)?;
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
    Ok(LogGuard { _file: Some(guard) })
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
    LogGuard { _file: None }
}
