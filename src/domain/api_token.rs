//! Bearer tokens of the REST API (`/api/v1`): what a token may do (its scope), the record kept
//! of it (only a hash of the secret), and the rules for token names.

use serde::{Deserialize, Serialize};

use super::Timestamp;
use super::validate::ValidationError;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiScope {
    /// Only reading calls (`GET`).
    Read,
    /// Reading and changing calls.
    ReadWrite,
}

impl ApiScope {
    pub const ALL: [ApiScope; 2] = [ApiScope::Read, ApiScope::ReadWrite];

    /// Stable name, as shown in the panel and the docs.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::Read => "read",
            ApiScope::ReadWrite => "read-write",
        }
    }

    pub fn parse(s: &str) -> Option<ApiScope> {
        ApiScope::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// May a token of this scope make a call that changes something?
    pub fn allows_write(self) -> bool {
        self == ApiScope::ReadWrite
    }
}

/// An API token, keyed by its name. The secret itself is never stored: only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Unique for ever (a revoked token keeps its name, so audit entries stay unambiguous).
    pub name: String,
    /// Hex SHA-256 of the secret.
    pub hash: String,
    /// The first characters of the secret, to tell tokens apart in the list.
    pub prefix: String,
    pub scope: ApiScope,
    /// Who created it, as audit entries name actors (`staff:<login>`).
    pub created_by: String,
    pub created_at: Timestamp,
    /// Roughly when it was last used (updated at most once a minute).
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// Longest token name.
pub const MAX_TOKEN_NAME: usize = 64;

/// A token name: 1–64 of `A-Z a-z 0-9 . _ -` (it appears in audit entries as `api:<name>`).
pub fn token_name(value: &str) -> Result<String, ValidationError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ValidationError::new("name", "must not be empty"));
    }
    if v.chars().count() > MAX_TOKEN_NAME {
        return Err(ValidationError::new(
            "name",
            format!("must be at most {MAX_TOKEN_NAME} characters"),
        ));
    }
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(ValidationError::new(
            "name",
            "may contain only latin letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_and_only_read_write_writes() {
        for s in ApiScope::ALL {
            assert_eq!(ApiScope::parse(s.as_str()), Some(s));
        }
        assert_eq!(ApiScope::parse("write"), None);
        assert!(!ApiScope::Read.allows_write());
        assert!(ApiScope::ReadWrite.allows_write());
    }

    #[test]
    fn token_names() {
        assert_eq!(token_name("  1c-sync ").unwrap(), "1c-sync");
        assert_eq!(token_name("monitoring.v2_x").unwrap(), "monitoring.v2_x");
        for bad in ["", "   ", "has space", "ключ", "a/b", &"x".repeat(65)] {
            let e = token_name(bad).unwrap_err();
            assert_eq!(e.field, "name", "{bad:?}");
        }
        assert!(token_name(&"x".repeat(64)).is_ok());
    }
}
