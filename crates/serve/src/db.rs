//! Store connections for request handlers: a few kept open and reused (their
//! prepared statements with them), each used on tokio's blocking pool so a
//! slow or locked database never stalls the async workers.

use std::sync::{Arc, Mutex, PoisonError};

use mnemo_app::parts::Opener;
use mnemo_store::Store;

use crate::error::ApiError;

/// Connections kept open between requests; more are opened under load and
/// closed after.
const KEEP_IDLE: usize = 4;

/// The database the handlers use.
pub struct Db {
    open: Opener,
    idle: Mutex<Vec<Store>>,
}

impl Db {
    /// Handlers' access to the database `open` connects to; opens nothing yet.
    pub fn new(open: Opener) -> Arc<Db> {
        Arc::new(Db {
            open,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Run `work` with a connection on the blocking pool.
    pub async fn run<T, F>(self: &Arc<Self>, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
    {
        let db = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut store = db.take()?;
            let result = work(&mut store);
            db.give_back(store);
            result
        })
        .await
        .map_err(|e| ApiError::internal(format!("request task failed: {e}")))?
    }

    fn take(&self) -> Result<Store, ApiError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(store) => Ok(store),
            None => Ok((self.open)()?),
        }
    }

    fn give_back(&self, store: Store) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < KEEP_IDLE {
            idle.push(store);
        }
    }
}
