//! What a session is told: the index of memories it starts with
//! ([`session_context`]), the memories that answer a new prompt
//! ([`recall()`]), and the note before Claude reads a file it has worked on
//! ([`file_note`]). Every memory shown is quoted inert ([`crate::quote`]) and
//! wrapped in `<mnemo-context>`, which capture strips if it comes back.

mod recall;
mod session_start;

pub use recall::{RecallOptions, file_note, recall};
pub use session_start::{ContextOptions, estimate_tokens, session_context, symbol};
