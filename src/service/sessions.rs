//! Panel sessions: created on login (the cookie value is returned once; only its SHA-256 is
//! stored), looked up per request, ended on logout. Expired sessions are refused and removed.

use super::people::{random_token, token_hash};
use super::*;

/// How long a panel session lasts.
pub const SESSION_SECONDS: i64 = 12 * 3600;

impl Service {
    /// Starts a session for a staff member who has just proved their password; returns the
    /// cookie value and the session.
    pub fn create_session(&self, staff: &Staff) -> Result<(String, Session)> {
        let now = self.now();
        let token = random_token();
        let session = Session {
            token_hash: token_hash(&token),
            login: staff.login.clone(),
            csrf: random_token(),
            created_at: now,
            expires_at: now + SESSION_SECONDS,
        };
        let mut tx = self.write()?;
        tx.put_session(&session)?;
        let actor = Actor::Staff {
            login: staff.login.clone(),
            role: staff.role,
        };
        tx.add_audit(
            now,
            &actor,
            "session.login",
            format!("staff:{}", staff.login),
            String::new(),
        )?;
        self.commit(tx)?;
        Ok((token, session))
    }

    /// The staff member and session behind a cookie value, if it is valid and unexpired and
    /// the account is still enabled.
    pub fn session(&self, token: &str) -> Result<Option<(Staff, Session)>> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let tx = self.read()?;
        let Some(s) = tx.session(&token_hash(token))? else {
            return Ok(None);
        };
        // Expired, or ending further ahead than a session ever lasts: created under a clock
        // that was ahead and has been set back (such a session must not live for years).
        let now = self.now();
        if s.expires_at <= now || s.expires_at - now > 2 * SESSION_SECONDS {
            drop(tx);
            let mut w = self.write()?;
            w.delete_session(&s.token_hash)?;
            self.commit(w)?;
            return Ok(None);
        }
        match tx.staff(&s.login)? {
            Some(staff) if !staff.disabled => Ok(Some((staff, s))),
            _ => Ok(None),
        }
    }

    /// Ends a session; true when it existed.
    pub fn end_session(&self, token: &str) -> Result<bool> {
        let now = self.now();
        let hash = token_hash(token);
        let mut tx = self.write()?;
        let Some(s) = tx.session(&hash)? else {
            return Ok(false);
        };
        tx.delete_session(&hash)?;
        tx.add_audit(
            now,
            &Actor::System,
            "session.logout",
            format!("staff:{}", s.login),
            String::new(),
        )?;
        self.commit(tx)?;
        Ok(true)
    }
}
