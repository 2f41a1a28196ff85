//! A Passport node. This crate is being built issue by issue; today it re-exports
//! the protocol so that dependants can already name it.
//!
//! # Layout (target, see `../shared/DESIGN.md` and `docs/ARCHITECTURE.md` when written)
//!
//! - the encrypted store (sled, behind a storage trait with an in-memory twin),
//! - the consent engine and standing policies (sans-I/O: they take `now`),
//! - grants on both sides and the hash-chained audit log,
//! - the libp2p network (a cloneable client handle and an event loop owning the swarm),
//! - the local HTTP API.

pub use passport_protocol as protocol;
