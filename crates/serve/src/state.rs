//! [`AppState`]: what every handler shares.

use std::sync::Arc;

use mnemo_app::parts::Parts;

use crate::auth::Guard;
use crate::db::Db;
use crate::live::Live;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: Arc<Db>,
    pub live: Live,
    pub guard: Guard,
    /// The data directory's parts: configuration, redactor, the searcher
    /// with its vectors kept in memory.
    pub parts: Arc<Parts>,
}
