//! teloxide's dialogue `Storage` over redb, through the service (no table is touched here).
//! Dialogues are JSON; finished ones are removed rather than stored as defaults (teloxide#731).

use std::sync::Arc;

use futures::future::BoxFuture;
use teloxide::dispatching::dialogue::Storage;
use teloxide::types::ChatId;

use super::state::State;
use crate::service::{Service, ServiceError};
use crate::store::Reads;

/// Dialogue storage backed by the `dialogs` table.
pub struct RedbStorage {
    svc: Service,
}

impl RedbStorage {
    pub fn new(svc: Service) -> Arc<RedbStorage> {
        Arc::new(RedbStorage { svc })
    }
}

/// Why a dialogue could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("saved dialogue is unreadable: {0}")]
    Json(#[from] serde_json::Error),
    #[error("storage task failed: {0}")]
    Join(String),
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StorageError::Join(e.to_string()))?
}

impl Storage<State> for RedbStorage {
    type Error = StorageError;

    fn remove_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<(), Self::Error>> {
        Box::pin(blocking(move || {
            self.svc.remove_dialog(chat_id.0)?;
            Ok(())
        }))
    }

    fn update_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
        dialogue: State,
    ) -> BoxFuture<'static, Result<(), Self::Error>> {
        Box::pin(blocking(move || {
            if dialogue == State::Idle {
                self.svc.remove_dialog(chat_id.0)?;
            } else {
                self.svc
                    .save_dialog(chat_id.0, serde_json::to_string(&dialogue)?)?;
            }
            Ok(())
        }))
    }

    fn get_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<Option<State>, Self::Error>> {
        Box::pin(blocking(move || {
            let row = self.svc.read()?.dialog(chat_id.0)?;
            match row {
                None => Ok(None),
                Some(r) => match serde_json::from_str(&r.state) {
                    Ok(s) => Ok(Some(s)),
                    Err(e) => {
                        // A dialogue saved by another version: start over rather than fail.
                        tracing::warn!(
                            chat = chat_id.0,
                            "dropping an unreadable saved dialogue: {e}"
                        );
                        Ok(None)
                    }
                },
            }
        }))
    }
}
