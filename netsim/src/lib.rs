//! Passport's network simulator: many real nodes in one process over an in-memory
//! transport. Built on `passport-node` once the node crate has a network; today it
//! only names its dependencies.

pub use passport_protocol as protocol;
