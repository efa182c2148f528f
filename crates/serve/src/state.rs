//! [`AppState`]: what every handler shares.

use std::sync::Arc;

use mnemo_app::parts::Parts;

use crate::auth::Guard;
use crate::db::Db;
use crate::live::Live;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// Pooled store connections for handlers.
    pub db: Arc<Db>,
    /// The live stream's fan-out.
    pub live: Live,
    /// Who may call the API.
    pub guard: Guard,
    /// The data directory's parts: configuration, redactor, the searcher
    /// with its vectors kept in memory.
    pub parts: Arc<Parts>,
}
