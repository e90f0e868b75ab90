//! Requesters (Telegram users who file tickets) and staff accounts.

use serde::{Deserialize, Serialize};

use super::Timestamp;
use super::role::Role;

/// A language helpdesk speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    Ru,
    Uk,
    En,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::Ru, Language::Uk, Language::En];

    pub fn as_str(self) -> &'static str {
        match self {
            Language::Ru => "ru",
            Language::Uk => "uk",
            Language::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// The language for a Telegram `language_code` such as `uk` or `en-US`, when supported.
    pub fn from_telegram(code: Option<&str>) -> Option<Language> {
        let code = code?.split(['-', '_']).next()?.to_ascii_lowercase();
        Language::parse(&code)
    }
}

/// A person who files tickets through Telegram, keyed by Telegram user id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    pub tg_id: i64,
    pub name: String,
    /// Normalised `+` and digits.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub department: Option<String>,
    pub username: Option<String>,
    pub language: Language,
    /// False once the user blocked the bot; set again when they write.
    pub active: bool,
    /// Blocked by staff: the bot ignores them.
    pub blocked: bool,
    pub registered_at: Timestamp,
}

/// A staff account of the panel (and, when linked, of the staff group in Telegram).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    pub login: String,
    pub display_name: String,
    /// argon2 PHC string.
    pub password_hash: String,
    pub role: Role,
    pub telegram_id: Option<i64>,
    pub email: Option<String>,
    pub language: Language,
    pub disabled: bool,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_language_codes() {
        assert_eq!(Language::from_telegram(Some("uk")), Some(Language::Uk));
        assert_eq!(Language::from_telegram(Some("en-US")), Some(Language::En));
        assert_eq!(Language::from_telegram(Some("RU")), Some(Language::Ru));
        assert_eq!(Language::from_telegram(Some("de")), None);
        assert_eq!(Language::from_telegram(None), None);
    }
}
