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

/// How many enabled superadmins there are.
fn enabled_superadmins(tx: &impl Reads) -> Result<usize> {
    Ok(tx
        .staff_all()?
        .iter()
        .filter(|s| s.role == Role::Superadmin && !s.disabled)
        .count())
}

impl Service {
    /// Staff set (or clear, with `None` or an empty text) a requester's department.
    pub fn set_requester_department(
        &self,
        actor: &Actor,
        tg_id: i64,
        department: Option<&str>,
    ) -> Result<Requester> {
        require(actor, Action::ManageRequesters, None)?;
        let department = department
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| validate::text("department", d, 1, 100))
            .transpose()?;
        self.update_requester(actor, tg_id, "requester.department", |r| {
            r.department = department
        })
    }

    /// Changes a staff account's role. Only superadmins give or take the superadmin role, and
    /// the last enabled superadmin keeps it.
    pub fn set_staff_role(&self, actor: &Actor, login: &str, role: Role) -> Result<Staff> {
        require(actor, Action::ManageStaff, None)?;
        if !role.is_staff() {
            return Err(ValidationError::new(
                "role",
                "must be operator, storekeeper, admin or superadmin",
            )
            .into());
        }
        if role == Role::Superadmin {
            require(actor, Action::ManageSuperadmins, None)?;
        }
        let now = self.now();
        let mut tx = self.write()?;
        let mut target = tx
            .staff(login)?
            .ok_or_else(|| ServiceError::NotFound(format!("staff account '{login}'")))?;
        if target.role == role {
            return Ok(target);
        }
        if target.role == Role::Superadmin {
            require(actor, Action::ManageSuperadmins, None)?;
            if !target.disabled && enabled_superadmins(&tx)? <= 1 {
                return Err(ServiceError::Conflict(
                    "the last superadmin cannot lose the role".into(),
                ));
            }
        }
        let from = target.role;
        target.role = role;
        tx.put_staff(&target)?;
        tx.add_audit(
            now,
            actor,
            "staff.role",
            format!("staff:{}", target.login),
            format!("{from} -> {role}"),
        )?;
        self.commit(tx)?;
        Ok(target)
    }

    /// Disables or enables a staff account (a disabled account cannot sign in and its sessions
    /// stop working). Nobody disables themselves; only superadmins touch superadmins; the last
    /// enabled superadmin stays enabled.
    pub fn set_staff_disabled(&self, actor: &Actor, login: &str, disabled: bool) -> Result<Staff> {
        require(actor, Action::ManageStaff, None)?;
        if disabled
            && let Actor::Staff { login: me, .. } = actor
            && me == login
        {
            return Err(ServiceError::Conflict(
                "you cannot disable your own account".into(),
            ));
        }
        let now = self.now();
        let mut tx = self.write()?;
        let mut target = tx
            .staff(login)?
            .ok_or_else(|| ServiceError::NotFound(format!("staff account '{login}'")))?;
        if target.role == Role::Superadmin {
            require(actor, Action::ManageSuperadmins, None)?;
        }
        if target.disabled == disabled {
            return Ok(target);
        }
        if disabled && target.role == Role::Superadmin && enabled_superadmins(&tx)? <= 1 {
            return Err(ServiceError::Conflict(
                "the last superadmin cannot be disabled".into(),
            ));
        }
        target.disabled = disabled;
        tx.put_staff(&target)?;
        tx.add_audit(
            now,
            actor,
            if disabled {
                "staff.disable"
            } else {
                "staff.enable"
            },
            format!("staff:{}", target.login),
            String::new(),
        )?;
        self.commit(tx)?;
        Ok(target)
    }

    /// Links a Telegram user id to a staff account, or unlinks it with `None`. An id linked to
    /// another account is refused; only superadmins touch superadmin accounts.
    pub fn set_staff_telegram(
        &self,
        actor: &Actor,
        login: &str,
        telegram_id: Option<i64>,
    ) -> Result<Staff> {
        require(actor, Action::ManageStaff, None)?;
        if let Some(id) = telegram_id
            && id <= 0
        {
            return Err(
                ValidationError::new("telegram_id", "must be a positive Telegram user id").into(),
            );
        }
        let now = self.now();
        let mut tx = self.write()?;
        let mut target = tx
            .staff(login)?
            .ok_or_else(|| ServiceError::NotFound(format!("staff account '{login}'")))?;
        if target.role == Role::Superadmin {
            require(actor, Action::ManageSuperadmins, None)?;
        }
        if target.telegram_id == telegram_id {
            return Ok(target);
        }
        if let Some(id) = telegram_id
            && let Some(other) = tx.staff_by_telegram(id)?
            && other.login != target.login
        {
            return Err(ServiceError::Conflict(format!(
                "Telegram id {id} is already linked to '{}'",
                other.login
            )));
        }
        target.telegram_id = telegram_id;
        tx.put_staff(&target)?;
        tx.add_audit(
            now,
            actor,
            if telegram_id.is_some() {
                "staff.telegram_link"
            } else {
                "staff.telegram_unlink"
            },
            format!("staff:{}", target.login),
            telegram_id.map(|id| id.to_string()).unwrap_or_default(),
        )?;
        self.commit(tx)?;
        Ok(target)
    }

    /// A staff member changes their own password; the current one is required. A wrong
    /// current password is an `invalid` error naming the field `current`.
    ///
    /// Other sessions of the account are not ended yet: the store has no query of sessions by
    /// login.
    pub fn change_password(&self, login: &str, current: &str, new: &str) -> Result<Staff> {
        validate::password(new).map_err(|e| ValidationError::new("new", e.problem))?;
        let now = self.now();
        let existing = self
            .read()?
            .staff(login)?
            .filter(|s| !s.disabled)
            .ok_or_else(|| ServiceError::NotFound(format!("staff account '{login}'")))?;
        if !verify_password(&existing.password_hash, current) {
            return Err(ValidationError::new("current", "the current password is wrong").into());
        }
        let password_hash = hash_password(new)?;
        let mut tx = self.write()?;
        let mut staff = tx
            .staff(login)?
            .filter(|s| !s.disabled)
            .ok_or_else(|| ServiceError::NotFound(format!("staff account '{login}'")))?;
        if staff.password_hash != existing.password_hash {
            return Err(ServiceError::Conflict(
                "the password was changed meanwhile; try again".into(),
            ));
        }
        staff.password_hash = password_hash;
        tx.put_staff(&staff)?;
        // Every session of the account ends; the panel signs the person in afresh.
        tx.delete_sessions_of(&staff.login)?;
        let actor = Actor::Staff {
            login: staff.login.clone(),
            role: staff.role,
        };
        tx.add_audit(
            now,
            &actor,
            "staff.password",
            format!("staff:{}", staff.login),
            String::new(),
        )?;
        self.commit(tx)?;
        Ok(staff)
    }
}

impl Service {
    /// Sets (or clears) a staff account's e-mail address, used for alerts and digests.
    pub fn set_staff_email(
        &self,
        actor: &Actor,
        login: &str,
        email: Option<&str>,
    ) -> Result<Staff> {
        if !matches!(actor, Actor::Staff { login: me, .. } if me == login) {
            require(actor, Action::ManageStaff, None)?;
        }
        let email = email
            .filter(|e| !e.trim().is_empty())
            .map(validate::email)
            .transpose()?;
        let now = self.now();
        let mut tx = self.write()?;
        let mut s = tx
            .staff(login)?
            .ok_or_else(|| ServiceError::NotFound(format!("staff account '{login}'")))?;
        s.email = email;
        tx.put_staff(&s)?;
        tx.add_audit(
            now,
            actor,
            "staff.email",
            format!("staff:{login}"),
            s.email.clone().unwrap_or_default(),
        )?;
        self.commit(tx)?;
        Ok(s)
    }
}

#[cfg(test)]
mod panel_tests {
    use super::*;
    use crate::service::testing::{TestService, service};

    fn staff(login: &str, role: Role) -> Actor {
        Actor::Staff {
            login: login.into(),
            role,
        }
    }

    fn add(t: &TestService, login: &str, role: Role, tg: Option<i64>) {
        t.svc
            .add_staff(
                &Actor::Cli,
                NewStaff {
                    login: login.into(),
                    password: "password1".into(),
                    role,
                    telegram_id: tg,
                    display_name: None,
                },
            )
            .unwrap();
    }

    /// A service with superadmin `root`, admin `anna`, operator `olga`, storekeeper `petr`
    /// and requester 1001.
    fn setup() -> TestService {
        let t = service();
        add(&t, "root", Role::Superadmin, Some(500));
        add(&t, "anna", Role::Admin, None);
        add(&t, "olga", Role::Operator, Some(700));
        add(&t, "petr", Role::Storekeeper, None);
        t.svc
            .register_requester(1001, "Иван", None, Some("Бухгалтерия"), None, None)
            .unwrap();
        t
    }

    /// Every table's row count and every staff and requester record, to show that a refused
    /// call wrote nothing.
    fn snapshot(svc: &Service) -> (Vec<(&'static str, u64)>, Vec<Staff>, Vec<Requester>) {
        let tx = svc.read().unwrap();
        (
            tx.table_counts().unwrap(),
            tx.staff_all().unwrap(),
            tx.requesters().unwrap(),
        )
    }

    #[track_caller]
    fn refused<T: std::fmt::Debug>(t: &TestService, kind: &str, f: impl FnOnce() -> Result<T>) {
        let before = snapshot(&t.svc);
        let e = f().unwrap_err();
        assert_eq!(e.kind(), kind, "{e}");
        assert_eq!(snapshot(&t.svc), before, "a refused call wrote something");
    }

    fn last_audit(svc: &Service) -> AuditEntry {
        svc.read().unwrap().audit_recent(1).unwrap().remove(0)
    }

    #[test]
    fn department_is_set_and_cleared_by_requester_managers_only() {
        let t = setup();
        let anna = staff("anna", Role::Admin);
        let r = t
            .svc
            .set_requester_department(&anna, 1001, Some("  Склад "))
            .unwrap();
        assert_eq!(r.department.as_deref(), Some("Склад"));
        assert_eq!(last_audit(&t.svc).action, "requester.department");
        let r = t
            .svc
            .set_requester_department(&anna, 1001, Some(" "))
            .unwrap();
        assert_eq!(r.department, None);
        t.svc
            .set_requester_department(&anna, 1001, Some("Склад"))
            .unwrap();
        let r = t.svc.set_requester_department(&anna, 1001, None).unwrap();
        assert_eq!(r.department, None);

        refused(&t, "forbidden", || {
            t.svc
                .set_requester_department(&staff("olga", Role::Operator), 1001, Some("X"))
        });
        refused(&t, "invalid", || {
            t.svc
                .set_requester_department(&anna, 1001, Some(&"x".repeat(101)))
        });
        refused(&t, "not_found", || {
            t.svc.set_requester_department(&anna, 9999, Some("X"))
        });
    }

    #[test]
    fn role_changes_follow_the_superadmin_rules() {
        let t = setup();
        let anna = staff("anna", Role::Admin);
        let root = staff("root", Role::Superadmin);
        let s = t
            .svc
            .set_staff_role(&anna, "olga", Role::Storekeeper)
            .unwrap();
        assert_eq!(s.role, Role::Storekeeper);
        let a = last_audit(&t.svc);
        assert_eq!(
            (a.action.as_str(), a.target.as_str(), a.detail.as_str()),
            ("staff.role", "staff:olga", "operator -> storekeeper")
        );
        // Admins neither give nor take the superadmin role.
        refused(&t, "forbidden", || {
            t.svc.set_staff_role(&anna, "olga", Role::Superadmin)
        });
        refused(&t, "forbidden", || {
            t.svc.set_staff_role(&anna, "root", Role::Operator)
        });
        refused(&t, "forbidden", || {
            t.svc
                .set_staff_role(&staff("olga", Role::Operator), "petr", Role::Admin)
        });
        refused(&t, "invalid", || {
            t.svc.set_staff_role(&root, "olga", Role::User)
        });
        refused(&t, "not_found", || {
            t.svc.set_staff_role(&root, "ghost", Role::Admin)
        });
        // The last enabled superadmin keeps the role, even when they ask themselves.
        refused(&t, "conflict", || {
            t.svc.set_staff_role(&root, "root", Role::Admin)
        });
        // With a second superadmin the first may step down.
        t.svc
            .set_staff_role(&root, "anna", Role::Superadmin)
            .unwrap();
        t.svc.set_staff_role(&root, "root", Role::Admin).unwrap();
        let anna_super = staff("anna", Role::Superadmin);
        refused(&t, "conflict", || {
            t.svc.set_staff_role(&anna_super, "anna", Role::Operator)
        });
        // A disabled superadmin does not count as the other one.
        t.svc
            .set_staff_role(&anna_super, "root", Role::Superadmin)
            .unwrap();
        t.svc.set_staff_disabled(&anna_super, "root", true).unwrap();
        refused(&t, "conflict", || {
            t.svc.set_staff_role(&anna_super, "anna", Role::Admin)
        });
        // Same role: nothing to do, nothing written.
        let before = snapshot(&t.svc);
        t.svc
            .set_staff_role(&anna_super, "petr", Role::Storekeeper)
            .unwrap();
        assert_eq!(snapshot(&t.svc), before);
    }

    #[test]
    fn disabling_refuses_oneself_and_the_last_superadmin() {
        let t = setup();
        let anna = staff("anna", Role::Admin);
        let root = staff("root", Role::Superadmin);
        let s = t.svc.set_staff_disabled(&anna, "olga", true).unwrap();
        assert!(s.disabled);
        assert_eq!(last_audit(&t.svc).action, "staff.disable");
        assert!(t.svc.check_password("olga", "password1").unwrap().is_none());
        let s = t.svc.set_staff_disabled(&anna, "olga", false).unwrap();
        assert!(!s.disabled);
        assert_eq!(last_audit(&t.svc).action, "staff.enable");
        assert!(t.svc.check_password("olga", "password1").unwrap().is_some());

        refused(&t, "conflict", || {
            t.svc.set_staff_disabled(&anna, "anna", true)
        });
        refused(&t, "conflict", || {
            t.svc.set_staff_disabled(&root, "root", true)
        });
        refused(&t, "forbidden", || {
            t.svc.set_staff_disabled(&anna, "root", true)
        });
        refused(&t, "forbidden", || {
            t.svc
                .set_staff_disabled(&staff("petr", Role::Storekeeper), "olga", true)
        });
        refused(&t, "not_found", || {
            t.svc.set_staff_disabled(&anna, "ghost", true)
        });
        // The CLI (acting as superadmin) cannot disable the only superadmin either.
        refused(&t, "conflict", || {
            t.svc.set_staff_disabled(&Actor::Cli, "root", true)
        });
        add(&t, "boss", Role::Superadmin, None);
        t.svc.set_staff_disabled(&root, "boss", true).unwrap();
        refused(&t, "conflict", || {
            t.svc.set_staff_disabled(&Actor::Cli, "root", true)
        });
        t.svc.set_staff_disabled(&root, "boss", false).unwrap();
        t.svc.set_staff_disabled(&Actor::Cli, "root", true).unwrap();
    }

    #[test]
    fn telegram_links_are_unique() {
        let t = setup();
        let anna = staff("anna", Role::Admin);
        let s = t.svc.set_staff_telegram(&anna, "petr", Some(800)).unwrap();
        assert_eq!(s.telegram_id, Some(800));
        assert_eq!(last_audit(&t.svc).action, "staff.telegram_link");
        assert_eq!(
            t.svc
                .read()
                .unwrap()
                .staff_by_telegram(800)
                .unwrap()
                .unwrap()
                .login,
            "petr"
        );
        // Linking the same id again changes nothing.
        let before = snapshot(&t.svc);
        t.svc.set_staff_telegram(&anna, "petr", Some(800)).unwrap();
        assert_eq!(snapshot(&t.svc), before);
        let s = t.svc.set_staff_telegram(&anna, "petr", None).unwrap();
        assert_eq!(s.telegram_id, None);
        assert_eq!(last_audit(&t.svc).action, "staff.telegram_unlink");

        refused(&t, "conflict", || {
            t.svc.set_staff_telegram(&anna, "petr", Some(700))
        });
        refused(&t, "invalid", || {
            t.svc.set_staff_telegram(&anna, "petr", Some(0))
        });
        refused(&t, "invalid", || {
            t.svc.set_staff_telegram(&anna, "petr", Some(-5))
        });
        refused(&t, "forbidden", || {
            t.svc.set_staff_telegram(&anna, "root", Some(900))
        });
        refused(&t, "forbidden", || {
            t.svc
                .set_staff_telegram(&staff("olga", Role::Operator), "olga", None)
        });
        refused(&t, "not_found", || {
            t.svc.set_staff_telegram(&anna, "ghost", Some(900))
        });
        t.svc
            .set_staff_telegram(&staff("root", Role::Superadmin), "root", Some(501))
            .unwrap();
    }

    #[test]
    fn password_change_needs_the_current_password() {
        let t = setup();
        let s = t
            .svc
            .change_password("olga", "password1", "new password")
            .unwrap();
        assert!(!s.password_hash.contains("new password"));
        assert_eq!(last_audit(&t.svc).action, "staff.password");
        assert_eq!(last_audit(&t.svc).actor, staff("olga", Role::Operator));
        assert!(t.svc.check_password("olga", "password1").unwrap().is_none());
        assert!(
            t.svc
                .check_password("olga", "new password")
                .unwrap()
                .is_some()
        );

        let e = t.svc.change_password("olga", "password1", "other password");
        assert!(
            matches!(&e, Err(ServiceError::Invalid(v)) if v.field == "current"),
            "{e:?}"
        );
        refused(&t, "invalid", || {
            t.svc.change_password("olga", "password1", "other password")
        });
        refused(&t, "invalid", || {
            t.svc.change_password("olga", "new password", "short")
        });
        refused(&t, "invalid", || {
            t.svc
                .change_password("olga", "new password", &"x".repeat(257))
        });
        refused(&t, "not_found", || {
            t.svc.change_password("ghost", "password1", "new password")
        });
        t.svc
            .set_staff_disabled(&staff("anna", Role::Admin), "olga", true)
            .unwrap();
        refused(&t, "not_found", || {
            t.svc
                .change_password("olga", "new password", "third password")
        });
    }
}
