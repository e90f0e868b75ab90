//! Requesters and staff accounts: registration, blocking, staff creation with argon2 password
//! hashes, and the one-time first-run setup token.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};

use super::*;
use crate::domain::validate;

/// What is needed to create a staff account.
#[derive(Clone)]
pub struct NewStaff {
    pub login: String,
    pub password: String,
    pub role: Role,
    pub telegram_id: Option<i64>,
    pub display_name: Option<String>,
}

impl std::fmt::Debug for NewStaff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewStaff")
            .field("login", &self.login)
            .field("password", &"***")
            .field("role", &self.role)
            .field("telegram_id", &self.telegram_id)
            .finish()
    }
}

const SETUP_TOKEN_KEY: &str = "setup.token_hash";

/// SHA-256 of a secret token, hex; tokens are stored only this way.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh random token, 32 bytes as hex.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

impl Service {
    /// Registers a requester on first contact, or updates their profile.
    pub fn register_requester(
        &self,
        tg_id: i64,
        name: &str,
        phone: Option<&str>,
        department: Option<&str>,
        language: Option<Language>,
        username: Option<&str>,
    ) -> Result<Requester> {
        let name = validate::person_name(name)?;
        let phone = phone.map(validate::phone).transpose()?;
        let department = department
            .map(|d| validate::text("department", d, 1, 100))
            .transpose()?;
        let now = self.now();
        let mut tx = self.write()?;
        let existing = tx.requester(tg_id)?;
        let r = Requester {
            tg_id,
            name,
            phone: phone.or_else(|| existing.as_ref().and_then(|e| e.phone.clone())),
            email: existing.as_ref().and_then(|e| e.email.clone()),
            department: department.or_else(|| existing.as_ref().and_then(|e| e.department.clone())),
            username: username.map(str::to_string),
            language: language
                .or(existing.as_ref().map(|e| e.language))
                .unwrap_or(self.config().default_language),
            active: true,
            blocked: existing.as_ref().is_some_and(|e| e.blocked),
            registered_at: existing.as_ref().map(|e| e.registered_at).unwrap_or(now),
        };
        tx.put_requester(&r)?;
        let action = if existing.is_some() {
            "requester.update"
        } else {
            "requester.register"
        };
        tx.add_audit(
            now,
            &Actor::Requester { tg_id },
            action,
            format!("user:{tg_id}"),
            r.name.clone(),
        )?;
        self.commit(tx)?;
        Ok(r)
    }

    /// Sets a requester's e-mail address (or clears it with `None`).
    pub fn set_requester_email(
        &self,
        actor: &Actor,
        tg_id: i64,
        email: Option<&str>,
    ) -> Result<Requester> {
        if !matches!(actor, Actor::Requester { tg_id: me } if *me == tg_id) {
            require(actor, Action::ManageRequesters, None)?;
        }
        let email = email.map(validate::email).transpose()?;
        self.update_requester(actor, tg_id, "requester.email", |r| r.email = email)
    }

    /// Staff block or unblock a requester.
    pub fn set_requester_blocked(
        &self,
        actor: &Actor,
        tg_id: i64,
        blocked: bool,
    ) -> Result<Requester> {
        require(actor, Action::ManageRequesters, None)?;
        let action = if blocked {
            "requester.block"
        } else {
            "requester.unblock"
        };
        self.update_requester(actor, tg_id, action, |r| r.blocked = blocked)
    }

    /// Marks a requester active or inactive (inactive: they blocked the bot).
    pub fn set_requester_active(&self, tg_id: i64, active: bool) -> Result<Requester> {
        self.update_requester(
            &Actor::System,
            tg_id,
            if active {
                "requester.active"
            } else {
                "requester.inactive"
            },
            |r| r.active = active,
        )
    }

    fn update_requester(
        &self,
        actor: &Actor,
        tg_id: i64,
        action: &str,
        f: impl FnOnce(&mut Requester),
    ) -> Result<Requester> {
        let now = self.now();
        let mut tx = self.write()?;
        let mut r = tx
            .requester(tg_id)?
            .ok_or_else(|| ServiceError::NotFound(format!("requester {tg_id}")))?;
        f(&mut r);
        tx.put_requester(&r)?;
        tx.add_audit(now, actor, action, format!("user:{tg_id}"), String::new())?;
        self.commit(tx)?;
        Ok(r)
    }

    /// Creates a staff account. Only a superadmin (or the server's CLI) creates superadmins.
    pub fn add_staff(&self, actor: &Actor, new: NewStaff) -> Result<Staff> {
        require(actor, Action::ManageStaff, None)?;
        if new.role == Role::Superadmin {
            require(actor, Action::ManageSuperadmins, None)?;
        }
        if !new.role.is_staff() {
            return Err(ValidationError::new(
                "role",
                "must be operator, storekeeper, admin or superadmin",
            )
            .into());
        }
        let login = validate::login(&new.login)?;
        validate::password(&new.password)?;
        if let Some(id) = new.telegram_id
            && id <= 0
        {
            return Err(
                ValidationError::new("telegram_id", "must be a positive Telegram user id").into(),
            );
        }
        let display_name = match new.display_name.as_deref() {
            Some(n) => validate::text("display_name", n, 1, validate::MAX_NAME)?,
            None => login.clone(),
        };
        let password_hash = hash_password(&new.password)?;
        let now = self.now();
        let mut tx = self.write()?;
        if tx.staff(&login)?.is_some() {
            return Err(ServiceError::Conflict(format!(
                "a staff account '{login}' already exists"
            )));
        }
        if let Some(id) = new.telegram_id
            && let Some(other) = tx.staff_by_telegram(id)?
        {
            return Err(ServiceError::Conflict(format!(
                "Telegram id {id} is already linked to '{}'",
                other.login
            )));
        }
        let staff = Staff {
            login: login.clone(),
            display_name,
            password_hash,
            role: new.role,
            telegram_id: new.telegram_id,
            email: None,
            language: self.config().default_language,
            disabled: false,
            created_at: now,
        };
        tx.put_staff(&staff)?;
        tx.delete_setting(SETUP_TOKEN_KEY)?;
        tx.add_audit(
            now,
            actor,
            "staff.add",
            format!("staff:{login}"),
            new.role.to_string(),
        )?;
        self.commit(tx)?;
        Ok(staff)
    }

    /// Makes sure a superadmin named in the config (by Telegram id) has a staff account linked
    /// to it, creating `tg<id>` with a random password when there is none.
    pub fn ensure_telegram_superadmin(&self, tg_id: i64) -> Result<Staff> {
        if let Some(s) = self.read()?.staff_by_telegram(tg_id)? {
            if s.role == Role::Superadmin {
                return Ok(s);
            }
            let now = self.now();
            let mut tx = self.write()?;
            let mut s = s;
            s.role = Role::Superadmin;
            tx.put_staff(&s)?;
            tx.add_audit(
                now,
                &Actor::System,
                "staff.role",
                format!("staff:{}", s.login),
                "superadmin (config)".into(),
            )?;
            self.commit(tx)?;
            return Ok(s);
        }
        self.add_staff(
            &Actor::System,
            NewStaff {
                login: format!("tg{tg_id}"),
                password: random_token(),
                role: Role::Superadmin,
                telegram_id: Some(tg_id),
                display_name: None,
            },
        )
    }

    /// Adds a staff member by Telegram id (as `/staff add` in the bot): the account `tg<id>`
    /// gets a random password (set one in the panel to use it there).
    pub fn add_staff_telegram(&self, actor: &Actor, tg_id: i64, role: Role) -> Result<Staff> {
        self.add_staff(
            actor,
            NewStaff {
                login: format!("tg{tg_id}"),
                password: random_token(),
                role,
                telegram_id: Some(tg_id),
                display_name: None,
            },
        )
    }

    /// Removes a staff account. Nobody removes themselves, only superadmins remove superadmins,
    /// and the last superadmin stays.
    pub fn remove_staff(&self, actor: &Actor, login: &str) -> Result<Staff> {
        require(actor, Action::ManageStaff, None)?;
        if let Actor::Staff { login: me, .. } = actor
            && me == login
        {
            return Err(ServiceError::Conflict(
                "you cannot remove your own account".into(),
            ));
        }
        let now = self.now();
        let mut tx = self.write()?;
        let target = tx
            .staff(login)?
            .ok_or_else(|| ServiceError::NotFound(format!("staff account '{login}'")))?;
        if target.role == Role::Superadmin {
            require(actor, Action::ManageSuperadmins, None)?;
            let supers = tx
                .staff_all()?
                .iter()
                .filter(|s| s.role == Role::Superadmin && !s.disabled)
                .count();
            if supers <= 1 {
                return Err(ServiceError::Conflict(
                    "the last superadmin cannot be removed".into(),
                ));
            }
        }
        tx.delete_staff(login)?;
        tx.add_audit(
            now,
            actor,
            "staff.remove",
            format!("staff:{login}"),
            target.role.to_string(),
        )?;
        self.commit(tx)?;
        Ok(target)
    }

    /// Checks a login and password; the same `None` for an unknown login and a wrong password.
    pub fn check_password(&self, login: &str, password: &str) -> Result<Option<Staff>> {
        let Ok(login) = validate::login(login) else {
            return Ok(None);
        };
        let staff = self.read()?.staff(&login)?;
        let Some(staff) = staff else {
            // Spend the same time as a real check so unknown logins cannot be told apart.
            let _ = verify_password(DUMMY_HASH, password);
            return Ok(None);
        };
        if staff.disabled || !verify_password(&staff.password_hash, password) {
            return Ok(None);
        }
        Ok(Some(staff))
    }

    /// When no staff account exists, makes a new one-time setup token (replacing any older
    /// one) and returns it; `None` once staff exist.
    pub fn begin_setup(&self) -> Result<Option<String>> {
        let now = self.now();
        let mut tx = self.write()?;
        if tx.staff_count()? > 0 {
            return Ok(None);
        }
        let token = random_token();
        tx.put_setting(&Setting {
            key: SETUP_TOKEN_KEY.into(),
            value: token_hash(&token),
            updated_at: now,
        })?;
        tx.add_audit(
            now,
            &Actor::System,
            "setup.token",
            "setup".into(),
            String::new(),
        )?;
        self.commit(tx)?;
        Ok(Some(token))
    }

    /// Uses the one-time setup token to create the first superadmin.
    pub fn complete_setup(&self, token: &str, login: &str, password: &str) -> Result<Staff> {
        {
            let tx = self.read()?;
            let stored = tx.setting(SETUP_TOKEN_KEY)?;
            let valid = stored.is_some_and(|s| {
                constant_time_eq(s.value.as_bytes(), token_hash(token).as_bytes())
            });
            if !valid || tx.staff_count()? > 0 {
                return Err(ServiceError::Forbidden(
                    "the setup link is invalid or was already used".into(),
                ));
            }
        }
        self.add_staff(
            &Actor::System,
            NewStaff {
                login: login.into(),
                password: password.into(),
                role: Role::Superadmin,
                telegram_id: None,
                display_name: None,
            },
        )
    }
}

/// argon2id hash of a password (PHC string).
pub fn hash_password(password: &str) -> Result<String> {
    let bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&bytes)
        .map_err(|e| ServiceError::Conflict(format!("cannot make a salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Conflict(format!("cannot hash the password: {e}")))
}

/// Checks a password against a PHC hash; false for a malformed hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A valid argon2 hash of a random password, checked against for unknown logins.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$5Vv0Fz8hX4cO7aS1fJ8bq0m7Zr1W0rM9v6GqkqQyq0k";

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
