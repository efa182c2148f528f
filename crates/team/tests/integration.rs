//! mnemo-team against a real PostgreSQL (a throwaway cluster from
//! mnemo-pgtest; each test makes its own team database). One test binary,
//! one module per area.

mod common;

mod conflicts;
mod faults;
mod push_pull;
mod security;
mod tls;
