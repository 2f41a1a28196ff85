//! End-to-end tests across Passport nodes and processes live in `tests/tests/`.
//! Today they exercise the protocol crate through its public API only, as another
//! implementation would.

pub use passport_protocol as protocol;
