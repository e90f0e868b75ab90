//! Configuration: `config.toml` (optional) → environment overrides → one validation step →
//! a typed [`Config`] passed explicitly to whoever needs it. No global config static.
//!
//! Every key may also come from the environment as `HELPDESK_<SECTION>_<KEY>` (for example
//! `HELPDESK_TELEGRAM_TOKEN`, `HELPDESK_SMTP_PASSWORD`, `HELPDESK_WEB_LISTEN`). Unknown keys and
//! bad values are refused with one message naming the key and its line (or variable).

mod raw;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::domain::Language;
pub use raw::RawConfig;

/// A secret string: never printed by `Debug` or `Display`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// A masked form for display: the last 4 characters at most.
    pub fn masked(&self) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let tail: String = self
            .0
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if self.0.chars().count() <= 8 {
            "********".into()
        } else {
            format!("********{tail}")
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// A configuration problem, said in one line (control characters in a quoted value, say a
/// line break in an environment variable, are shown escaped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", crate::domain::validate::one_line(&self.0))]
pub struct ConfigError(pub String);

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    Starttls,
    Tls,
    None,
}

#[derive(Debug, Clone)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct WebConfig {
    pub listen: SocketAddr,
    pub public_url: Option<url::Url>,
    /// How old (in seconds) Telegram Mini App `initData` may be before the API refuses it.
    pub miniapp_max_age: u64,
}

#[derive(Debug, Clone)]
pub struct TelegramConfig {
    /// Empty: the bot is disabled.
    pub token: Secret,
    pub api_url: url::Url,
    pub staff_chat_id: i64,
    pub superadmins: Vec<i64>,
    /// How updates arrive: long polling, or a webhook on this server.
    pub mode: BotMode,
    /// `X-Telegram-Bot-Api-Secret-Token` of the webhook; empty: a random one per start.
    pub webhook_secret: Secret,
}

/// How the bot receives updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotMode {
    /// The bot asks Telegram (getUpdates); works behind NAT, needs no public address.
    Polling,
    /// Telegram POSTs updates to `<web.public_url>/telegram/webhook`.
    Webhook,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: String,
    pub password: Secret,
    pub from: String,
}

#[derive(Debug, Clone)]
pub struct ArchiveConfig {
    /// Local time of the daily snapshot.
    pub time: chrono::NaiveTime,
    pub keep_daily: u32,
    pub keep_monthly: u32,
    pub keep_yearly: u32,
}

#[derive(Debug, Clone)]
pub struct UiConfig {
    pub language: Language,
    pub timezone: chrono_tz::Tz,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    /// A tracing filter, e.g. `info` or `helpdesk=debug,warn`.
    pub level: String,
    /// Daily log files kept in `<data_dir>/logs`.
    pub keep_days: usize,
}

#[derive(Debug, Clone)]
pub struct ReportsConfig {
    /// Local times of the daily digest.
    pub digest_times: Vec<chrono::NaiveTime>,
}

#[derive(Debug, Clone)]
pub struct HealthConfig {
    pub interval_minutes: u32,
    pub min_free_disk_mb: u64,
    pub max_snapshot_age_hours: u32,
    pub max_outbox_backlog: u64,
    /// A wall clock that moves this many seconds more or less than the monotonic clock
    /// between two observations has jumped.
    pub clock_jump_seconds: u32,
    /// Minutes without a new jump before the "clock" check is ok again.
    pub clock_steady_minutes: u32,
    /// While the data folder is read-only at start-up: seconds between two attempts to open it.
    pub data_dir_retry_seconds: u32,
}

#[derive(Debug, Clone)]
pub struct BotSettings {
    /// Departments offered at registration; empty: the question is skipped.
    pub departments: Vec<String>,
    /// Minutes between two urgent calls of one requester.
    pub urgent_cooldown_minutes: u32,
}

/// The scheduled pull of stock balances from 1C's standard OData interface.
#[derive(Debug, Clone)]
pub struct OnecConfig {
    /// `<publication>/odata/standard.odata` (the suffix added when the config lacks it).
    pub url: url::Url,
    pub username: String,
    pub password: Secret,
    /// Minutes between scheduled pulls; 0: only `helpdesk stock pull-1c`.
    pub interval_minutes: u32,
    /// The balances, e.g. `AccumulationRegister_ТоварыНаСкладах/Balance`.
    pub balance_entity: String,
    /// The balance record's field naming the good (its `Ref_Key`).
    pub item_field: String,
    /// The balance record's quantity field, e.g. `ВНаличииBalance`.
    pub quantity_field: String,
    /// An OData `$filter` for the balances (e.g. one warehouse); empty: none.
    pub filter: String,
    /// The goods' catalogue, for articles and names; empty: codes are the goods' `Ref_Key`.
    pub catalog_entity: String,
    pub article_field: String,
    pub name_field: String,
    /// For each HTTP request.
    pub timeout: std::time::Duration,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub storage: StorageConfig,
    pub web: WebConfig,
    pub telegram: TelegramConfig,
    pub smtp: SmtpConfig,
    pub archive: ArchiveConfig,
    pub ui: UiConfig,
    pub log: LogConfig,
    pub bot: BotSettings,
    /// SLA policy; `None` when `sla.enabled = false`.
    pub sla: Option<crate::domain::sla::Policy>,
    pub reports: ReportsConfig,
    pub health: HealthConfig,
    /// The 1C OData pull; `None` when `onec.url` is empty.
    pub onec: Option<OnecConfig>,
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    /// Things worth saying at start-up that are not errors.
    pub warnings: Vec<String>,
}

impl Config {
    /// Built-in defaults, with environment overrides.
    pub fn defaults() -> Result<Config, ConfigError> {
        Config::from_parts(None, "", &std::env::vars().collect::<Vec<_>>())
    }

    /// Loads `path` when given (it must exist), else the built-in defaults; then applies the
    /// environment and validates.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        match path {
            None => Config::from_parts(None, "", &env),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    ConfigError(format!("cannot read config file {}: {e}", p.display()))
                })?;
                let mut cfg = Config::from_parts(Some(p), &text, &env)?;
                if let Some(w) = permission_warning(p, &cfg) {
                    cfg.warnings.push(w);
                }
                Ok(cfg)
            }
        }
    }

    /// Parses `text` (the file named `path`, for messages) with environment `env`.
    pub fn from_parts(
        path: Option<&Path>,
        text: &str,
        env: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let name = path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "config".into());
        let (raw, origins) = raw::parse(&name, text, env)?;
        raw.validate(&origins).map(|mut c| {
            c.source = path.map(Path::to_path_buf);
            c
        })
    }

    /// The bot is on when a token is set.
    pub fn bot_enabled(&self) -> bool {
        !self.telegram.token.is_empty()
    }
}

/// Warns when a config file holding secrets can be read by other users.
fn permission_warning(path: &Path, cfg: &Config) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let has_secret = !cfg.telegram.token.is_empty()
        || !cfg.telegram.webhook_secret.is_empty()
        || !cfg.smtp.password.is_empty()
        || cfg.onec.as_ref().is_some_and(|o| !o.password.is_empty());
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (has_secret && mode & 0o004 != 0).then(|| {
        format!(
            "{} holds secrets and can be read by every user (mode {:o}): run 'chmod 600 {}' or move the secrets to HELPDESK_TELEGRAM_TOKEN / HELPDESK_TELEGRAM_WEBHOOK_SECRET / HELPDESK_SMTP_PASSWORD / HELPDESK_ONEC_PASSWORD",
            path.display(),
            mode & 0o777,
            path.display()
        )
    })
}

#[cfg(test)]
mod tests;
