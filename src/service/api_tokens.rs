//! REST API tokens: created and revoked by admins (each with its audit entry), checked on every
//! API call. The secret is shown once at creation; only its SHA-256 is stored, and the check
//! compares hashes in constant time.

use super::people::{constant_time_eq, token_hash};
use super::*;
use crate::domain::api_token::token_name;

/// What every API token starts with (so secret scanners and people recognise one).
pub const API_TOKEN_PREFIX: &str = "hd_";

/// How often (seconds) "last used" is written for a token in steady use.
const LAST_USED_EVERY: i64 = 60;

/// A fresh API token secret: `hd_` and 64 hex digits (256 random bits).
pub fn new_api_secret() -> String {
    format!("{API_TOKEN_PREFIX}{}", super::people::random_token())
}

/// The stored hash of an API token secret.
pub fn api_token_hash(secret: &str) -> String {
    token_hash(secret)
}

/// Whether `secret` is the token stored with `hash` (compared in constant time).
pub fn api_token_matches(secret: &str, hash: &str) -> bool {
    constant_time_eq(api_token_hash(secret).as_bytes(), hash.as_bytes())
}

impl Service {
    /// Creates a named token; returns the secret (shown once, never stored) and the record.
    pub fn create_api_token(
        &self,
        actor: &Actor,
        name: &str,
        scope: ApiScope,
    ) -> Result<(String, ApiToken)> {
        require(actor, Action::ManageApiTokens, None)?;
        let name = token_name(name)?;
        let now = self.now();
        let mut tx = self.write()?;
        if tx.api_token(&name)?.is_some() {
            return Err(ServiceError::Conflict(format!(
                "a token named '{name}' already exists (names are never reused)"
            )));
        }
        let secret = new_api_secret();
        let token = ApiToken {
            name: name.clone(),
            hash: api_token_hash(&secret),
            prefix: secret.chars().take(API_TOKEN_PREFIX.len() + 6).collect(),
            scope,
            created_by: actor.to_string(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        tx.put_api_token(&token)?;
        tx.add_audit(
            now,
            actor,
            "api_token.create",
            format!("api_token:{name}"),
            scope.as_str().to_string(),
        )?;
        self.commit(tx)?;
        Ok((secret, token))
    }

    /// Revokes a token: every later call with it is refused.
    pub fn revoke_api_token(&self, actor: &Actor, name: &str) -> Result<ApiToken> {
        require(actor, Action::ManageApiTokens, None)?;
        let now = self.now();
        let mut tx = self.write()?;
        let mut token = tx
            .api_token(name)?
            .ok_or_else(|| ServiceError::NotFound(format!("API token '{name}'")))?;
        if token.revoked_at.is_some() {
            return Err(ServiceError::Conflict(format!(
                "the token '{name}' is already revoked"
            )));
        }
        token.revoked_at = Some(now);
        tx.put_api_token(&token)?;
        tx.add_audit(
            now,
            actor,
            "api_token.revoke",
            format!("api_token:{name}"),
            String::new(),
        )?;
        self.commit(tx)?;
        Ok(token)
    }

    /// Every token, newest first (for the panel; secrets are not there to show).
    pub fn api_tokens(&self, actor: &Actor) -> Result<Vec<ApiToken>> {
        require(actor, Action::ManageApiTokens, None)?;
        let mut all = self.read()?.api_tokens()?;
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.name.cmp(&b.name)));
        Ok(all)
    }

    /// The actor behind an API call's bearer secret: `Ok(None)` when the secret is unknown or
    /// revoked (401), `Forbidden` when a read-only token attempts a change (403).
    ///
    /// Notes when the token was last used (at most once a minute; bookkeeping, no audit row).
    pub fn api_caller(&self, secret: &str, write: bool) -> Result<Option<Actor>> {
        let tx = self.read()?;
        let hash = api_token_hash(secret);
        // Every stored hash is compared, in constant time: the answer's timing tells nothing.
        let mut found = None;
        for t in tx.api_tokens()? {
            if constant_time_eq(hash.as_bytes(), t.hash.as_bytes()) {
                found = Some(t);
            }
        }
        drop(tx);
        let Some(token) = found.filter(|t| t.revoked_at.is_none()) else {
            return Ok(None);
        };
        if write && !token.scope.allows_write() {
            return Err(ServiceError::Forbidden(format!(
                "the token '{}' is read-only",
                token.name
            )));
        }
        let now = self.now();
        if token
            .last_used_at
            .is_none_or(|at| now - at >= LAST_USED_EVERY)
        {
            let mut w = self.write()?;
            if let Some(mut t) = w.api_token(&token.name)? {
                t.last_used_at = Some(now);
                w.put_api_token(&t)?;
            }
            self.commit(w)?;
        }
        Ok(Some(Actor::Api { token: token.name }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::service;

    fn admin() -> Actor {
        Actor::Staff {
            login: "boss".into(),
            role: Role::Admin,
        }
    }

    #[test]
    fn secrets_are_random_prefixed_and_hashed_with_sha256() {
        let a = new_api_secret();
        let b = new_api_secret();
        assert_ne!(a, b);
        assert!(a.starts_with("hd_"));
        assert_eq!(a.len(), 3 + 64);
        assert!(a[3..].bytes().all(|c| c.is_ascii_hexdigit()));
        // SHA-256 of "abc", the FIPS 180-2 test vector.
        assert_eq!(
            api_token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let h = api_token_hash(&a);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&a[3..]));
        assert!(api_token_matches(&a, &h));
        assert!(!api_token_matches(&b, &h));
        assert!(!api_token_matches("", &h));
        // One character off, or the hash itself presented as the secret, does not match.
        let mut off = a.clone();
        off.pop();
        off.push(if a.ends_with('0') { '1' } else { '0' });
        assert!(!api_token_matches(&off, &h));
        assert!(!api_token_matches(&h, &h));
    }

    #[test]
    fn create_check_and_revoke_with_audit() {
        let t = service();
        let svc = &t.svc;
        let (secret, token) = svc
            .create_api_token(&admin(), "1c-sync", ApiScope::ReadWrite)
            .unwrap();
        assert_eq!(token.hash, api_token_hash(&secret));
        assert!(secret.starts_with(&token.prefix));
        let stored = svc.read().unwrap().api_token("1c-sync").unwrap().unwrap();
        assert!(
            !format!("{stored:?}").contains(&secret[3..]),
            "secret stored"
        );

        let caller = svc.api_caller(&secret, true).unwrap();
        assert_eq!(
            caller,
            Some(Actor::Api {
                token: "1c-sync".into()
            })
        );
        assert!(svc.api_caller("hd_wrong", false).unwrap().is_none());
        let used = svc.read().unwrap().api_token("1c-sync").unwrap().unwrap();
        assert_eq!(used.last_used_at, Some(svc.now()));

        // Names are unique; bad names and roles are refused, writing nothing.
        let audit_before = svc.read().unwrap().audit_count().unwrap();
        let e = svc
            .create_api_token(&admin(), "1c-sync", ApiScope::Read)
            .unwrap_err();
        assert_eq!(e.kind(), "conflict");
        let e = svc
            .create_api_token(&admin(), "bad name", ApiScope::Read)
            .unwrap_err();
        assert_eq!(e.kind(), "invalid");
        let op = Actor::Staff {
            login: "olga".into(),
            role: Role::Operator,
        };
        assert_eq!(
            svc.create_api_token(&op, "x", ApiScope::Read)
                .unwrap_err()
                .kind(),
            "forbidden"
        );
        assert_eq!(
            svc.revoke_api_token(&op, "1c-sync").unwrap_err().kind(),
            "forbidden"
        );
        assert_eq!(svc.read().unwrap().audit_count().unwrap(), audit_before);

        // A read-only token reads but may not write.
        let (ro, _) = svc
            .create_api_token(&admin(), "monitoring", ApiScope::Read)
            .unwrap();
        assert!(svc.api_caller(&ro, false).unwrap().is_some());
        assert_eq!(svc.api_caller(&ro, true).unwrap_err().kind(), "forbidden");

        svc.revoke_api_token(&admin(), "1c-sync").unwrap();
        assert!(svc.api_caller(&secret, false).unwrap().is_none());
        assert_eq!(
            svc.revoke_api_token(&admin(), "1c-sync")
                .unwrap_err()
                .kind(),
            "conflict"
        );
        let audit = svc.read().unwrap().audit_recent(10).unwrap();
        let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(
            actions[..3],
            ["api_token.revoke", "api_token.create", "api_token.create"]
        );
        assert_eq!(audit[0].target, "api_token:1c-sync");
        let list = svc.api_tokens(&admin()).unwrap();
        assert_eq!(list.len(), 2);
        assert!(list.iter().any(|t| t.revoked_at.is_some()));
    }
}
