//! The raw configuration as written in TOML, with defaults, environment overrides and the
//! validation step that turns it into [`Config`].

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    pub storage: RawStorage,
    pub web: RawWeb,
    pub telegram: RawTelegram,
    pub smtp: RawSmtp,
    pub archive: RawArchive,
    pub ui: RawUi,
    pub log: RawLog,
    pub bot: RawBot,
    pub sla: RawSla,
    pub business_hours: RawBusinessHours,
    pub reports: RawReports,
    pub health: RawHealth,
    pub onec: RawOnec,
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            storage: RawStorage {
                data_dir: "./data".into(),
            },
            web: RawWeb {
                listen: "0.0.0.0:8080".into(),
                public_url: String::new(),
                miniapp_max_age: 86_400,
            },
            telegram: RawTelegram {
                token: String::new(),
                api_url: "https://api.telegram.org".into(),
                staff_chat_id: 0,
                superadmins: vec![],
                mode: "polling".into(),
                webhook_secret: String::new(),
            },
            smtp: RawSmtp {
                enabled: false,
                host: "localhost".into(),
                port: 587,
                security: SmtpSecurity::Starttls,
                username: String::new(),
                password: String::new(),
                from: "helpdesk@localhost".into(),
            },
            archive: RawArchive {
                time: "02:30".into(),
                keep_daily: 14,
                keep_monthly: 12,
                keep_yearly: 5,
            },
            ui: RawUi {
                language: "ru".into(),
                timezone: "Europe/Moscow".into(),
            },
            sla: RawSla {
                enabled: true,
                remind_at_percent: 75,
                low_response_minutes: 480,
                low_resolve_minutes: 2880,
                normal_response_minutes: 120,
                normal_resolve_minutes: 960,
                high_response_minutes: 60,
                high_resolve_minutes: 480,
                critical_response_minutes: 15,
                critical_resolve_minutes: 240,
            },
            business_hours: RawBusinessHours {
                days: ["mon", "tue", "wed", "thu", "fri"]
                    .map(String::from)
                    .to_vec(),
                start: "09:00".into(),
                end: "18:00".into(),
                holidays: vec![],
            },
            reports: RawReports {
                digest_times: vec!["09:00".into(), "16:00".into()],
            },
            health: RawHealth {
                interval_minutes: 5,
                min_free_disk_mb: 500,
                max_snapshot_age_hours: 30,
                max_outbox_backlog: 1000,
                clock_jump_seconds: 120,
                clock_steady_minutes: 30,
                data_dir_retry_seconds: 10,
            },
            bot: RawBot {
                departments: vec![],
                urgent_cooldown_minutes: 10,
            },
            log: RawLog {
                level: "info".into(),
                keep_days: 30,
            },
            onec: RawOnec {
                url: String::new(),
                username: String::new(),
                password: String::new(),
                interval_minutes: 60,
                balance_entity: "AccumulationRegister_ТоварыНаСкладах/Balance".into(),
                item_field: "Номенклатура_Key".into(),
                quantity_field: "ВНаличииBalance".into(),
                filter: String::new(),
                catalog_entity: "Catalog_Номенклатура".into(),
                article_field: "Артикул".into(),
                name_field: "Description".into(),
                timeout_seconds: 60,
            },
        }
    }
}

macro_rules! section {
    ($name:ident / $field_of_config:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name { $(pub $field: $ty),* }

        impl Default for $name {
            fn default() -> Self {
                RawConfig::default().$field_of_config
            }
        }
    };
}

section!(RawStorage / storage { data_dir: String });
section!(
    RawWeb
        / web {
            listen: String,
            public_url: String,
            miniapp_max_age: u64
        }
);
section!(
    RawTelegram
        / telegram {
            token: String,
            api_url: String,
            staff_chat_id: i64,
            superadmins: Vec<i64>,
            mode: String,
            webhook_secret: String
        }
);
section!(
    RawSmtp
        / smtp {
            enabled: bool,
            host: String,
            port: u16,
            security: SmtpSecurity,
            username: String,
            password: String,
            from: String,
        }
);
section!(
    RawArchive
        / archive {
            time: String,
            keep_daily: u32,
            keep_monthly: u32,
            keep_yearly: u32
        }
);
section!(
    RawUi
        / ui {
            language: String,
            timezone: String
        }
);
section!(
    RawLog
        / log {
            level: String,
            keep_days: usize
        }
);
section!(
    RawSla
        / sla {
            enabled: bool,
            remind_at_percent: u32,
            low_response_minutes: u32,
            low_resolve_minutes: u32,
            normal_response_minutes: u32,
            normal_resolve_minutes: u32,
            high_response_minutes: u32,
            high_resolve_minutes: u32,
            critical_response_minutes: u32,
            critical_resolve_minutes: u32
        }
);
section!(
    RawBusinessHours
        / business_hours {
            days: Vec<String>,
            start: String,
            end: String,
            holidays: Vec<String>
        }
);
section!(
    RawReports
        / reports {
            digest_times: Vec<String>
        }
);
section!(
    RawHealth
        / health {
            interval_minutes: u32,
            min_free_disk_mb: u64,
            max_snapshot_age_hours: u32,
            max_outbox_backlog: u64,
            clock_jump_seconds: u32,
            clock_steady_minutes: u32,
            data_dir_retry_seconds: u32
        }
);
section!(
    RawOnec
        / onec {
            url: String,
            username: String,
            password: String,
            interval_minutes: u32,
            balance_entity: String,
            item_field: String,
            quantity_field: String,
            filter: String,
            catalog_entity: String,
            article_field: String,
            name_field: String,
            timeout_seconds: u64
        }
);
section!(
    RawBot
        / bot {
            departments: Vec<String>,
            urgent_cooldown_minutes: u32
        }
);

/// Where each `section.key` came from: the file's line, or an environment variable.
#[derive(Debug, Default)]
pub struct Origins {
    name: String,
    lines: HashMap<String, usize>,
    env: HashMap<String, String>,
}

impl Origins {
    fn locate(&self, key: &str) -> String {
        if let Some(var) = self.env.get(key) {
            format!("environment variable {var}")
        } else if let Some(line) = self.lines.get(key) {
            format!("{} line {line}", self.name)
        } else {
            "built-in default".to_string()
        }
    }

    fn err(&self, key: &str, problem: impl std::fmt::Display) -> ConfigError {
        ConfigError(format!("{}: {key}: {problem}", self.locate(key)))
    }
}

/// Parses the TOML text, applies the environment and deserialises, naming the line of any
/// unknown key or badly typed value.
pub fn parse(
    name: &str,
    text: &str,
    env: &[(String, String)],
) -> Result<(RawConfig, Origins), ConfigError> {
    let mut origins = Origins {
        name: name.to_string(),
        lines: key_lines(text),
        env: HashMap::new(),
    };
    // The file alone first, so that syntax errors, unknown keys and wrong types carry a line.
    let mut raw: RawConfig =
        toml::from_str(text).map_err(|e| toml_error(name, text, &origins, &e))?;

    // Environment overrides, typed after the default value of the same key.
    let mut table = toml::Table::try_from(&raw).expect("config serialises");
    let defaults = toml::Table::try_from(RawConfig::default()).expect("defaults serialise");
    let mut overridden = Vec::new();
    for (section, keys) in &defaults {
        let toml::Value::Table(keys) = keys else {
            continue;
        };
        for (key, default) in keys {
            let var = format!("HELPDESK_{}_{}", section.to_uppercase(), key.to_uppercase());
            let Some((_, value)) = env.iter().find(|(k, _)| *k == var) else {
                continue;
            };
            let dotted = format!("{section}.{key}");
            let parsed = env_value(default, value)
                .map_err(|p| ConfigError(format!("environment variable {var}: {dotted}: {p}")))?;
            if let Some(toml::Value::Table(sec)) = table.get_mut(section) {
                sec.insert(key.clone(), parsed);
            }
            origins.env.insert(dotted, var.clone());
            overridden.push(var);
        }
    }
    if !overridden.is_empty() {
        raw = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| {
                ConfigError(format!(
                    "environment variables {}: {}",
                    overridden.join(", "),
                    e.message().trim()
                ))
            })?;
    }
    Ok((raw, origins))
}

fn env_value(default: &toml::Value, value: &str) -> Result<toml::Value, String> {
    Ok(match default {
        toml::Value::String(_) => toml::Value::String(value.to_string()),
        toml::Value::Integer(_) => toml::Value::Integer(
            value
                .trim()
                .parse()
                .map_err(|_| format!("'{value}' is not a whole number"))?,
        ),
        toml::Value::Boolean(_) => toml::Value::Boolean(match value.trim() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => return Err(format!("'{value}' is not true or false")),
        }),
        toml::Value::Array(_) => {
            // Comma-separated; whole numbers stay numbers, anything else is a string.
            let items = value.split(',').map(str::trim).filter(|s| !s.is_empty());
            toml::Value::Array(
                items
                    .map(|s| {
                        s.parse::<i64>()
                            .map(toml::Value::Integer)
                            .unwrap_or_else(|_| toml::Value::String(s.to_string()))
                    })
                    .collect(),
            )
        }
        _ => return Err("cannot be set from the environment".into()),
    })
}

/// One line for a TOML error: `file line N: section.key: message`.
/// Keys whose values are secrets: an error about them never quotes the value.
const SECRET_KEYS: &[&str] = &[
    "telegram.token",
    "telegram.webhook_secret",
    "smtp.password",
    "onec.password",
];

fn toml_error(name: &str, text: &str, origins: &Origins, e: &toml::de::Error) -> ConfigError {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
    let msg = e.message().trim().replace('\n', " ");
    match line {
        Some(l) => {
            let key = origins
                .lines
                .iter()
                .filter(|(_, kl)| **kl == l)
                .map(|(k, _)| k.as_str())
                .max_by_key(|k| k.len());
            match key {
                // serde quotes the offending value ("invalid type: integer `2025`"): never for
                // a secret.
                Some(k) if SECRET_KEYS.contains(&k) => ConfigError(format!(
                    "{name} line {l}: {k}: must be a quoted string (the value is a secret and is not shown)"
                )),
                Some(k) if !msg.contains(k) => ConfigError(format!("{name} line {l}: {k}: {msg}")),
                _ => ConfigError(format!("{name} line {l}: {msg}")),
            }
        }
        None => ConfigError(format!("{name}: {msg}")),
    }
}

/// Maps `section.key` (and bare `section` headers) to their line numbers.
fn key_lines(text: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    let mut section = String::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') && !t.starts_with("[[") {
            // The name only (bare-key characters): whatever follows on the line, say a key
            // written on the header's line with a secret, is not part of what errors quote.
            section = t[1..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || "_-. ".contains(*c))
                .collect::<String>()
                .trim()
                .to_string();
            out.entry(section.clone()).or_insert(i + 1);
        } else if let Some((k, _)) = t.split_once('=')
            && !t.starts_with('#')
        {
            // The key's bare-key characters only: a line missing its '=' (`secret "…" x = 1`)
            // must not make the value part of the key that errors quote.
            let k: String = k
                .trim()
                .trim_start_matches('"')
                .chars()
                .take_while(|c| c.is_alphanumeric() || "_-.".contains(*c))
                .collect();
            let key = if section.is_empty() {
                k.to_string()
            } else {
                format!("{section}.{k}")
            };
            out.entry(key).or_insert(i + 1);
        }
    }
    out
}

impl RawConfig {
    /// The validation step: every value checked, cross-field rules applied.
    pub fn validate(self, o: &Origins) -> Result<Config, ConfigError> {
        let data_dir = self.storage.data_dir.trim();
        if data_dir.is_empty() {
            return Err(o.err("storage.data_dir", "must not be empty"));
        }
        let listen: SocketAddr = self.web.listen.trim().parse().map_err(|_| {
            o.err(
                "web.listen",
                format!("'{}' is not an address like 0.0.0.0:8080", self.web.listen),
            )
        })?;
        let public_url = match self.web.public_url.trim() {
            "" => None,
            s => {
                let u = url::Url::parse(s)
                    .map_err(|e| o.err("web.public_url", format!("'{s}' is not a URL: {e}")))?;
                // http:// only on this machine (127.0.0.1, ::1, localhost): for local tests
                // against a Bot API emulator; Telegram itself needs HTTPS.
                let loopback = match u.host() {
                    Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                    Some(url::Host::Ipv4(a)) => a.is_loopback(),
                    Some(url::Host::Ipv6(a)) => a.is_loopback(),
                    None => false,
                };
                if u.scheme() != "https" && !(u.scheme() == "http" && loopback) {
                    return Err(o.err(
                        "web.public_url",
                        "must be an https:// URL (Telegram opens Mini Apps and sends webhooks only over HTTPS; http:// is accepted only for 127.0.0.1/localhost, for local tests)",
                    ));
                }
                Some(u)
            }
        };
        let miniapp_max_age = self.web.miniapp_max_age;
        if !(60..=7 * 86_400).contains(&miniapp_max_age) {
            return Err(o.err(
                "web.miniapp_max_age",
                "must be from 60 to 604800 seconds (1 minute to 7 days)",
            ));
        }
        let token = self.telegram.token.trim().to_string();
        if !token.is_empty() && !valid_token_shape(&token) {
            return Err(o.err(
                "telegram.token",
                "does not look like a bot token (digits:letters, from @BotFather)",
            ));
        }
        let api_url = url::Url::parse(self.telegram.api_url.trim()).map_err(|e| {
            o.err(
                "telegram.api_url",
                format!("'{}' is not a URL: {e}", self.telegram.api_url),
            )
        })?;
        if !matches!(api_url.scheme(), "http" | "https") {
            return Err(o.err("telegram.api_url", "must be an http:// or https:// URL"));
        }
        if self.telegram.superadmins.iter().any(|&id| id <= 0) {
            return Err(o.err(
                "telegram.superadmins",
                "Telegram user ids are positive numbers",
            ));
        }
        let mode = match self.telegram.mode.trim() {
            "polling" => BotMode::Polling,
            "webhook" => BotMode::Webhook,
            other => {
                return Err(o.err(
                    "telegram.mode",
                    format!("'{other}' is not \"polling\" or \"webhook\""),
                ));
            }
        };
        let webhook_secret = self.telegram.webhook_secret.trim().to_string();
        if !webhook_secret.is_empty()
            && (webhook_secret.len() > 256
                || !webhook_secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        {
            return Err(o.err(
                "telegram.webhook_secret",
                "must be 1 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)",
            ));
        }
        if mode == BotMode::Webhook && !token.is_empty() && public_url.is_none() {
            return Err(o.err(
                "telegram.mode",
                "\"webhook\" needs web.public_url: the https:// address where Telegram reaches this server",
            ));
        }
        if self.telegram.staff_chat_id > 0 {
            return Err(o.err(
                "telegram.staff_chat_id",
                "a group's chat id is negative (like -1001234567890); 0 turns the staff group off",
            ));
        }
        if self.smtp.enabled {
            if self.smtp.host.trim().is_empty() {
                return Err(o.err("smtp.host", "must be set when smtp.enabled = true"));
            }
            if self.smtp.port == 0 {
                return Err(o.err("smtp.port", "must be from 1 to 65535"));
            }
            if !self.smtp.username.is_empty() && self.smtp.password.is_empty() {
                return Err(o.err("smtp.password", "is empty while smtp.username is set"));
            }
        }
        let from = self.smtp.from.trim();
        if !from
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !d.contains('@'))
            || from.contains(char::is_whitespace)
        {
            return Err(o.err(
                "smtp.from",
                format!("'{}' is not an e-mail address", self.smtp.from),
            ));
        }
        let time =
            chrono::NaiveTime::parse_from_str(self.archive.time.trim(), "%H:%M").map_err(|_| {
                o.err(
                    "archive.time",
                    format!("must be HH:MM, like 02:30 (got '{}')", self.archive.time),
                )
            })?;
        for (key, v) in [
            ("archive.keep_daily", self.archive.keep_daily),
            ("archive.keep_monthly", self.archive.keep_monthly),
            ("archive.keep_yearly", self.archive.keep_yearly),
        ] {
            if v > 10_000 {
                return Err(o.err(key, "must be at most 10000"));
            }
        }
        let language = Language::parse(self.ui.language.trim()).ok_or_else(|| {
            o.err(
                "ui.language",
                format!(
                    "must be \"ru\", \"uk\" or \"en\" (got '{}')",
                    self.ui.language
                ),
            )
        })?;
        let timezone: chrono_tz::Tz = self.ui.timezone.trim().parse().map_err(|_| {
            o.err(
                "ui.timezone",
                format!(
                    "'{}' is not a known time zone (like Europe/Moscow)",
                    self.ui.timezone
                ),
            )
        })?;
        tracing_subscriber::EnvFilter::try_new(&self.log.level).map_err(|e| {
            o.err(
                "log.level",
                format!("'{}' is not a log filter: {e}", self.log.level),
            )
        })?;
        if self.bot.departments.iter().any(|d| d.chars().count() > 60) {
            return Err(o.err("bot.departments", "each name must be at most 60 characters"));
        }
        if self.bot.urgent_cooldown_minutes > 24 * 60 {
            return Err(o.err(
                "bot.urgent_cooldown_minutes",
                "must be at most 1440 (a day)",
            ));
        }
        let sla = self
            .sla
            .validate(o, self.business_hours.validate(o, timezone)?)?;
        let mut digest_times = Vec::new();
        for t in &self.reports.digest_times {
            digest_times.push(
                chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| {
                    o.err(
                        "reports.digest_times",
                        format!("'{t}' is not a time like 09:00"),
                    )
                })?,
            );
        }
        if self.health.interval_minutes == 0 || self.health.interval_minutes > 1440 {
            return Err(o.err("health.interval_minutes", "must be from 1 to 1440"));
        }
        if self.health.clock_jump_seconds < 10 || self.health.clock_jump_seconds > 86_400 {
            return Err(o.err("health.clock_jump_seconds", "must be from 10 to 86400"));
        }
        if self.health.clock_steady_minutes == 0 || self.health.clock_steady_minutes > 10_080 {
            return Err(o.err("health.clock_steady_minutes", "must be from 1 to 10080"));
        }
        if self.health.data_dir_retry_seconds == 0 || self.health.data_dir_retry_seconds > 3600 {
            return Err(o.err("health.data_dir_retry_seconds", "must be from 1 to 3600"));
        }
        if self.log.keep_days == 0 {
            return Err(o.err("log.keep_days", "must be at least 1"));
        }
        let onec = self.onec.validate(o)?;
        Ok(Config {
            storage: StorageConfig {
                data_dir: PathBuf::from(data_dir),
            },
            web: WebConfig {
                listen,
                public_url,
                miniapp_max_age,
            },
            telegram: TelegramConfig {
                token: Secret::new(token),
                api_url,
                staff_chat_id: self.telegram.staff_chat_id,
                superadmins: self.telegram.superadmins,
                mode,
                webhook_secret: Secret::new(webhook_secret),
            },
            smtp: SmtpConfig {
                enabled: self.smtp.enabled,
                host: self.smtp.host.trim().to_string(),
                port: self.smtp.port,
                security: self.smtp.security,
                username: self.smtp.username,
                password: Secret::new(self.smtp.password),
                from: self.smtp.from.trim().to_string(),
            },
            archive: ArchiveConfig {
                time,
                keep_daily: self.archive.keep_daily,
                keep_monthly: self.archive.keep_monthly,
                keep_yearly: self.archive.keep_yearly,
            },
            ui: UiConfig { language, timezone },
            bot: BotSettings {
                departments: self
                    .bot
                    .departments
                    .iter()
                    .map(|d| d.trim().to_string())
                    .filter(|d| !d.is_empty())
                    .collect(),
                urgent_cooldown_minutes: self.bot.urgent_cooldown_minutes,
            },
            sla,
            reports: ReportsConfig { digest_times },
            health: HealthConfig {
                interval_minutes: self.health.interval_minutes,
                min_free_disk_mb: self.health.min_free_disk_mb,
                max_snapshot_age_hours: self.health.max_snapshot_age_hours,
                max_outbox_backlog: self.health.max_outbox_backlog,
                clock_jump_seconds: self.health.clock_jump_seconds,
                clock_steady_minutes: self.health.clock_steady_minutes,
                data_dir_retry_seconds: self.health.data_dir_retry_seconds,
            },
            log: LogConfig {
                level: self.log.level,
                keep_days: self.log.keep_days,
            },
            onec,
            source: None,
            warnings: Vec::new(),
        })
    }
}

/// `123456:ABC-def_…`: digits, a colon, then at least 30 of `A-Za-z0-9_-`.
fn valid_token_shape(t: &str) -> bool {
    match t.split_once(':') {
        Some((id, secret)) => {
            !id.is_empty()
                && id.chars().all(|c| c.is_ascii_digit())
                && secret.len() >= 30
                && secret
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        }
        None => false,
    }
}

impl RawBusinessHours {
    fn validate(
        &self,
        o: &Origins,
        tz: chrono_tz::Tz,
    ) -> Result<crate::domain::sla::Calendar, ConfigError> {
        use chrono::Weekday;
        let mut days = Vec::new();
        for d in &self.days {
            let wd = match d.trim().to_lowercase().as_str() {
                "mon" => Weekday::Mon,
                "tue" => Weekday::Tue,
                "wed" => Weekday::Wed,
                "thu" => Weekday::Thu,
                "fri" => Weekday::Fri,
                "sat" => Weekday::Sat,
                "sun" => Weekday::Sun,
                other => {
                    return Err(o.err(
                        "business_hours.days",
                        format!("'{other}' is not a day (mon … sun)"),
                    ));
                }
            };
            if !days.contains(&wd) {
                days.push(wd);
            }
        }
        let time = |key: &str, v: &str| {
            chrono::NaiveTime::parse_from_str(v.trim(), "%H:%M")
                .map_err(|_| o.err(key, format!("must be HH:MM (got '{v}')")))
        };
        let start = time("business_hours.start", &self.start)?;
        let end = time("business_hours.end", &self.end)?;
        let mut holidays = Vec::new();
        for h in &self.holidays {
            let d = chrono::NaiveDate::parse_from_str(h.trim(), "%Y-%m-%d").map_err(|_| {
                o.err(
                    "business_hours.holidays",
                    format!("'{h}' is not a date like 2027-01-01"),
                )
            })?;
            // Listing a day twice (or overlapping lists) is harmless: keep one.
            if !holidays.contains(&d) {
                holidays.push(d);
            }
        }
        crate::domain::sla::Calendar::new(tz, days, start, end, holidays).map_err(|e| match e {
            crate::domain::sla::CalendarError::NoWorkingDays => {
                o.err("business_hours.days", "name at least one working day")
            }
            crate::domain::sla::CalendarError::EmptyDay => o.err(
                "business_hours.end",
                "must be later than business_hours.start",
            ),
        })
    }
}

impl RawOnec {
    /// The 1C OData pull; `None` when `onec.url` is empty (the pull is off).
    fn validate(&self, o: &Origins) -> Result<Option<OnecConfig>, ConfigError> {
        let raw_url = self.url.trim();
        if raw_url.is_empty() {
            return Ok(None);
        }
        // An address with '@' may hold a password: never quote it.
        let shown = if raw_url.contains('@') {
            "the address".to_string()
        } else {
            format!("'{raw_url}'")
        };
        let mut url = url::Url::parse(raw_url)
            .map_err(|e| o.err("onec.url", format!("{shown} is not a URL: {e}")))?;
        if url.password().is_some() || !url.username().is_empty() {
            // Never quote it: the URL holds a password.
            return Err(o.err(
                "onec.url",
                "must not hold a user name or password: set onec.username and onec.password \
                 (or HELPDESK_ONEC_PASSWORD) instead",
            ));
        }
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(o.err(
                "onec.url",
                format!(
                    "{shown} must be an http:// or https:// address of the 1C publication, \
                     like https://1c.example.local/trade"
                ),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(o.err(
                "onec.url",
                "must be the publication's address without ?query or #fragment",
            ));
        }
        // The standard OData interface lives under <publication>/odata/standard.odata.
        let path = url.path().trim_end_matches('/').to_string();
        if !path.ends_with("/odata/standard.odata") {
            url.set_path(&format!("{path}/odata/standard.odata"));
        } else {
            url.set_path(&path);
        }
        if self.password.is_empty() && !self.username.trim().is_empty() {
            return Err(o.err(
                "onec.password",
                "is empty while onec.username is set (set it here or in HELPDESK_ONEC_PASSWORD)",
            ));
        }
        if self.username.contains(':') {
            return Err(o.err(
                "onec.username",
                "must not contain ':' (HTTP basic authentication cannot carry it)",
            ));
        }
        if self.interval_minutes > 7 * 24 * 60 {
            return Err(o.err(
                "onec.interval_minutes",
                "must be from 0 (no scheduled pull) to 10080 (a week)",
            ));
        }
        if !(1..=3600).contains(&self.timeout_seconds) {
            return Err(o.err("onec.timeout_seconds", "must be from 1 to 3600"));
        }
        let name = |key: &str, v: &str, may_be_empty: bool| -> Result<String, ConfigError> {
            let v = v.trim();
            if v.is_empty() && !may_be_empty {
                return Err(o.err(key, "must not be empty"));
            }
            if v.chars()
                .any(|c| c.is_control() || c == '#' || c == '?' || c == '&')
            {
                return Err(o.err(
                    key,
                    format!("'{v}' must not contain ?, &, # or line breaks"),
                ));
            }
            Ok(v.to_string())
        };
        let balance_entity = name("onec.balance_entity", &self.balance_entity, false)?;
        if balance_entity.starts_with('/') || balance_entity.contains("://") {
            return Err(o.err(
                "onec.balance_entity",
                "is the entity's name after /odata/standard.odata/, like \
                 AccumulationRegister_ТоварыНаСкладах/Balance",
            ));
        }
        let item_field = name("onec.item_field", &self.item_field, false)?;
        let quantity_field = name("onec.quantity_field", &self.quantity_field, false)?;
        let catalog_entity = name("onec.catalog_entity", &self.catalog_entity, true)?;
        let article_field = name(
            "onec.article_field",
            &self.article_field,
            catalog_entity.is_empty(),
        )?;
        let name_field = name("onec.name_field", &self.name_field, true)?;
        if self.filter.chars().any(|c| c.is_control()) {
            return Err(o.err("onec.filter", "must be on one line"));
        }
        Ok(Some(OnecConfig {
            url,
            username: self.username.trim().to_string(),
            password: Secret::new(self.password.clone()),
            interval_minutes: self.interval_minutes,
            balance_entity,
            item_field,
            quantity_field,
            filter: self.filter.trim().to_string(),
            catalog_entity,
            article_field,
            name_field,
            timeout: std::time::Duration::from_secs(self.timeout_seconds),
        }))
    }
}

impl RawSla {
    fn validate(
        &self,
        o: &Origins,
        calendar: crate::domain::sla::Calendar,
    ) -> Result<Option<crate::domain::sla::Policy>, ConfigError> {
        use crate::domain::sla::Target;
        if !(1..=100).contains(&self.remind_at_percent) {
            return Err(o.err("sla.remind_at_percent", "must be from 1 to 100"));
        }
        let pairs = [
            ("low", self.low_response_minutes, self.low_resolve_minutes),
            (
                "normal",
                self.normal_response_minutes,
                self.normal_resolve_minutes,
            ),
            (
                "high",
                self.high_response_minutes,
                self.high_resolve_minutes,
            ),
            (
                "critical",
                self.critical_response_minutes,
                self.critical_resolve_minutes,
            ),
        ];
        let mut targets = Vec::new();
        for (name, response, resolve) in pairs {
            if response == 0 || resolve == 0 {
                return Err(o.err(
                    &format!("sla.{name}_response_minutes"),
                    "targets must be at least 1 minute",
                ));
            }
            if resolve < response {
                return Err(o.err(
                    &format!("sla.{name}_resolve_minutes"),
                    "must not be shorter than the first-response target",
                ));
            }
            targets.push(Target {
                first_response_minutes: i64::from(response),
                resolve_minutes: i64::from(resolve),
            });
        }
        if !self.enabled {
            return Ok(None);
        }
        Ok(Some(crate::domain::sla::Policy {
            calendar,
            low: targets[0],
            normal: targets[1],
            high: targets[2],
            critical: targets[3],
            remind_at: f64::from(self.remind_at_percent) / 100.0,
        }))
    }
}
