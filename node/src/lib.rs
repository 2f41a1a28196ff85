//! A Passport node.
//!
//! # Layout
//!
//! - [`home`]: the home directory (identity, key file, database) and unlocking it.
//! - [`crypt`]: encryption at rest (XChaCha20-Poly1305, AAD = record key).
//! - [`storage`]: the [`Storage`](storage::Storage) trait, sled and in-memory stores,
//!   and group commit ([`Durable`](storage::Durable)).
//! - [`error`]: [`NodeError`].

pub mod audit;
pub mod consent;
pub mod crypt;
pub mod error;
pub mod home;
pub mod merchant;
pub mod node;
pub mod person;
pub mod storage;
pub mod vault;

pub use crate::{
    error::NodeError,
    home::{Home, KdfParams, Keys, Unlock},
    merchant::{ReceivedGrant, RequestSpec, RequestStatus, SentRequest},
    node::{Node, NodeConfig, Outgoing, Reply},
    person::{Approval, InboxItem, IssuedGrant, MerchantRecord, PendingRequest},
};
pub use passport_protocol as protocol;
