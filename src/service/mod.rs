//! The application API: the only place business rules are enforced.
//!
//! Every change of state is one call here = one redb write transaction that also writes the
//! audit entry and any outgoing notifications (outbox rows). Bot, web, jobs and CLI are thin
//! callers. A call that fails validation or a permission check writes nothing.

mod api_tokens;
mod dashboard;
mod delivery;
mod faq;
mod jobs;
mod outbox;
mod people;
pub mod reports;
mod sessions;
mod settings;
mod stock;
pub mod stock_import;
mod ticket_search;
mod tickets;

use std::sync::Arc;

use crate::clock::Clock;
use crate::domain::texts::{default_text, render};
use crate::domain::*;
use crate::store::{Reads, Store, StoreError, WriteTx};

pub use api_tokens::{API_TOKEN_PREFIX, api_token_hash, api_token_matches, new_api_secret};
pub use dashboard::{DashboardFacts, SlaAlert};
pub use delivery::{BroadcastProgress, fit_message};
pub use faq::FaqImportReport;
pub use jobs::{HEALTH_CHECKS, SlaScan};
pub use outbox::{IN_FLIGHT_KEY, InFlight, UNCERTAIN_ERROR};
pub use people::{NewStaff, constant_time_eq, random_token, token_hash};
pub use sessions::SESSION_SECONDS;
pub use stock_import::{ImportDiff, ImportLine, ImportOptions};
pub use ticket_search::MAX_HITS as MAX_TICKET_HITS;
pub use tickets::NewTicket;

/// Why a service call was refused or failed. [`ServiceError::kind`] is a stable machine name.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input is wrong; the field is named.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The actor's role does not allow this.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// The ticket's status does not allow this change.
    #[error("{0}")]
    Transition(#[from] TransitionError),
    /// A stock movement breaks a stock rule.
    #[error("{0}")]
    Stock(#[from] crate::domain::stock::StockError),
    /// The change conflicts with what exists (a duplicate login, the last superadmin …).
    #[error("{0}")]
    Conflict(String),
    /// Storage failed; nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ServiceError {
    /// Stable, machine-readable kind for APIs and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            ServiceError::Invalid(_) => "invalid",
            ServiceError::NotFound(_) => "not_found",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::Transition(_) => "illegal_transition",
            ServiceError::Stock(_) => "stock_rule",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::Store(_) => "storage",
        }
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// What the service needs to know of the configuration.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Telegram group where ticket cards appear; 0 when there is none.
    pub staff_chat_id: i64,
    /// Language for people whose language is unknown.
    pub default_language: Language,
    /// Whether e-mail notifications are queued.
    pub email_enabled: bool,
    /// SLA targets; `None`: tickets get no due times.
    pub sla: Option<crate::domain::sla::Policy>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            staff_chat_id: 0,
            default_language: Language::Ru,
            email_enabled: false,
            sla: None,
        }
    }
}

/// The application service, shared by every adapter.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    config: ServiceConfig,
    /// Called after a commit that queued outgoing messages, to wake the sender.
    waker: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
    /// The FAQ search index (derived data), updated after each committed FAQ change.
    faq_index: std::sync::OnceLock<crate::search::FaqIndex>,
    /// The ticket search index (derived data), caught up from redb before each search.
    ticket_search: std::sync::OnceLock<ticket_search::TicketSearch>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("store", &self.inner.store)
            .finish()
    }
}

impl Service {
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: ServiceConfig) -> Service {
        Service {
            inner: Arc::new(Inner {
                store,
                clock,
                config,
                waker: std::sync::OnceLock::new(),
                faq_index: std::sync::OnceLock::new(),
                ticket_search: std::sync::OnceLock::new(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.inner.config
    }

    /// A read transaction for queries.
    pub fn read(&self) -> Result<crate::store::ReadTx> {
        Ok(self.inner.store.read()?)
    }

    /// Checks that the database answers a read.
    pub fn db_ok(&self) -> Result<()> {
        self.read()?.meta("schema_version")?;
        Ok(())
    }

    /// Sets the function called whenever a commit queued outgoing messages (once).
    pub fn set_outbox_waker(&self, f: impl Fn() + Send + Sync + 'static) {
        let _ = self.inner.waker.set(Box::new(f));
    }

    /// Commits `tx`, waking the sender when it queued messages.
    fn commit(&self, tx: WriteTx) -> Result<()> {
        let wake = tx.outbox_added();
        tx.commit()?;
        if wake && let Some(w) = self.inner.waker.get() {
            w();
        }
        Ok(())
    }

    fn write(&self) -> Result<WriteTx> {
        Ok(self.inner.store.write()?)
    }

    /// The text `key` in `lang`, with the panel's override when there is one.
    pub fn text(&self, tx: &impl Reads, lang: Language, key: &str) -> Result<String> {
        let custom = tx.setting(&format!("text.{key}.{}", lang.as_str()))?;
        Ok(custom
            .map(|s| s.value)
            .unwrap_or_else(|| default_text(lang, key).to_string()))
    }

    fn text_with(
        &self,
        tx: &impl Reads,
        lang: Language,
        key: &str,
        args: &[(&str, &str)],
    ) -> Result<String> {
        Ok(render(&self.text(tx, lang, key)?, args))
    }
}

/// Refuses unless `actor` may do `action` (on a ticket of `category`, when given).
fn require(actor: &Actor, action: Action, category: Option<Category>) -> Result<()> {
    if role::allowed(actor.role(), action, category) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!(
            "{} may not {action:?}",
            actor.role()
        )))
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::clock::FakeClock;

    /// A service over a fresh store in a temp folder, with a fake clock at a fixed time.
    pub struct TestService {
        pub svc: Service,
        pub clock: Arc<FakeClock>,
        pub _dir: tempfile::TempDir,
    }

    pub fn service() -> TestService {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let clock = Arc::new(FakeClock::new(1_750_000_000));
        let cfg = ServiceConfig {
            staff_chat_id: -100500,
            default_language: Language::En,
            email_enabled: true,
            sla: None,
        };
        let svc = Service::new(store, clock.clone(), cfg);
        TestService {
            svc,
            clock,
            _dir: dir,
        }
    }
}

#[cfg(test)]
mod tests;
