//! mnemo's retrieval: reading memories back, arranged by who asks.
//!
//! - [`search`](mod@search): finding memories by what a query says (full
//!   text fused with vectors, passages, dates and order), for the CLI, MCP,
//!   the HTTP API and recall.
//! - [`fetch`]: memories by id, a project's timeline, session summaries and
//!   prompts, and the tool calls behind a memory.
//! - [`context`]: what a session is told (the index at its start, the
//!   memories a prompt recalls, the note before a file is read).
//! - [`viewer`]: the web viewer's pages and its live feed.
//! - [`projects`]: the projects mnemo knows, for every audience.
//! - [`quote`] and [`time`]: stored text made inert for a model, and times
//!   read and written the same way everywhere.
//!
//! The store owns the schema and every write; this crate only reads (through
//! [`mnemo_store::Store::conn`]) and asks the store's methods to write (the
//! queued vectors, the memories a session was given).

#![warn(missing_docs)]

pub mod context;
pub mod fetch;
pub mod projects;
pub mod quote;
pub mod search;
pub mod time;
pub mod viewer;

pub use fetch::records::{Record, RecordHit, RecordKind, get_record, search_records};
pub use fetch::{Observation, get_observations, timeline};
pub use search::{Fusion, Hit, SearchQuery, Searcher, search, search_with};
