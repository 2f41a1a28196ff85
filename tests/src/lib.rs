//! End-to-end tests across Passport nodes and processes live in `tests/tests/`.
//!
//! # Layout
//!
//! - `src/bin/crash_child.rs`: a person's node that issues and revokes grants as fast
//!   as it can and reports each one once it is durable; `tests/crash.rs` kills it
//!   with SIGKILL at random moments and checks nothing acknowledged was lost.

pub use passport_node as node;
pub use passport_protocol as protocol;
