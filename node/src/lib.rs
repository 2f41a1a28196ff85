//! A Passport node: one person's (or merchant's) passport, its encrypted store, its
//! consent decisions, its grants and its audit log. The core, [`Node`], is driven by
//! explicit synchronous calls with an explicit `now`, so tests run it
//! deterministically; [`Passport`] is the async handle over it and its network that
//! applications embed (see `examples/merchant.rs`).
//!
//! # Layout
//!
//! - [`home`]: the home directory (`identity.cbor`, `key`, `db/`) and unlocking it
//!   with a passphrase (Argon2id) or a 0600 key file.
//! - [`config`]: `config.toml`, [`Config`]: the core's [`NodeConfig`] at the top,
//!   `[network]` ([`NetworkSettings`]) and `[api]` ([`ApiSettings`]).
//! - [`crypt`]: encryption at rest, XChaCha20-Poly1305 with the record key as AAD.
//! - [`storage`]: the [`Storage`](storage::Storage) trait, the sled store, the
//!   in-memory store, and group commit ([`Durable`](storage::Durable)).
//! - [`node`]: [`Node`], the transaction pattern (one batch per operation, durable
//!   before anything is returned or sent), [`Node::receive`] for every incoming
//!   message, the persistent replay store, the vault operations and the sweeper.
//! - [`person`]: the person's side: inbox, approve/deny, grants issued, updates,
//!   revoke, erase, receipts, petnames.
//! - [`merchant`]: the merchant's side: requests sent, grants held, opening only
//!   while valid, fetch, erasure with signed deletion receipts.
//! - [`net`]: the libp2p network: [`net::Client`] and [`net::EventLoop`], DHT records
//!   validated before they are stored, signed messages over request-response.
//! - [`http`]: the local HTTP server (axum): the JSON API (loopback, bearer token,
//!   Host check) and, on the same server, the consent page (login, session cookie,
//!   CSRF tokens, server-rendered HTML, live updates by server-sent events); and
//!   [`http::LocalApi`], the same API in-process for the CLI when no node runs.
//! - [`human`]: times and durations in words, for the page and the command line.
//! - [`metrics`]: Prometheus counters and gauges, served at `/metrics`.
//! - [`passport`]: [`Passport`], the async handle an application embeds: the node,
//!   its network, the sweeper and the deliveries (a bounded, joined task set); both
//!   sides' operations, and the merchant's request flow, written once.
//! - [`events`]: [`Event`], told after each commit to bounded subscribers.
//! - [`mailbox`]: mailboxes, which hold sealed messages for nodes that are
//!   offline: serving one, signing deposits, drains and deletes, receiving what a
//!   drain brought.
//! - [`notify`]: an HTTP POST to the person's device when a request needs them.
//! - [`webhook`]: what a shop's backend is told, queued in the store with the
//!   change it tells and delivered signed (Standard Webhooks), with retries.
//! - [`backup`]: backups in the age format (made, verified, scheduled), restoring
//!   one as the next epoch, and how a copy learns that a later one took over.
//! - [`device`]: linked devices, the home node's side: pairing codes, the devices
//!   paired, checking their signed calls.
//! - [`daemon`]: the shutdown signal (Ctrl-C or SIGTERM).
//! - [`clock`]: the two clocks the node's own code reads, which a simulator can
//!   put on a paused runtime's virtual time.
//! - [`consent`]: the consent engine (pure): policies → allow / deny / ask.
//! - [`vault`]: field records and sensitivity classes.
//! - [`audit`]: the append-only, hash-chained, encrypted audit log and its verifier.
//! - [`tokens`]: scoped API tokens ([`tokens::Scope`]), kept as digests.
//! - [`error`]: the error type, [`NodeError`].
//!
//! # Keys in the store
//!
//! One sled tree, keys by prefix: `f/` fields, `p/` policies, `m/` merchants known,
//! `i/` inbox, `g/` grants issued, `q/` requests sent, `r/` grants received, `o/` the
//! outbox (messages made and not yet delivered), `t/` scoped API tokens (their
//! SHA-256 digests, never the tokens), `s/` and
//! `S/` seen message ids and their expiry index, `a/` audit entries, `d/` the grant
//! each decision carried, `x/` erasures awaiting the backend's confirmation, `w/`
//! webhooks (endpoints, queue, log), `mb/`, `mu/` and `mt/` what a mailbox holds
//! for others (deposits, per-recipient usage, deleted ids), `mr/` where this node's
//! own mailboxes were last found, `dp/` and `dv/` pairing codes and devices paired, `meta/`
//! counters, the audit head, the copy's
//! epoch and the other copy found, if any. Every value is encrypted except the seen-id entries (`s/`,
//! `S/`: random message ids and expiry times) and the policy counter in `meta/`,
//! none of which is personal data.

pub mod audit;
pub mod backup;
pub mod clock;
pub mod config;
pub mod consent;
pub mod crypt;
pub mod daemon;
pub mod data;
pub mod device;
pub mod error;
pub mod events;
pub mod home;
pub mod http;
pub mod human;
pub mod mailbox;
pub mod merchant;
pub mod metrics;
pub mod net;
pub mod node;
pub mod notify;
pub mod passport;
pub mod person;
pub mod storage;
pub mod tokens;
pub mod vault;
pub mod webhook;

pub use passport_protocol as protocol;

pub use crate::{
    config::{ApiSettings, Config, MerchantSettings, NetworkSettings, NodeConfig},
    error::NodeError,
    events::{Event, Events},
    home::{Home, KdfParams, Keys, Unlock},
    merchant::{ReceivedGrant, RequestSpec, RequestStatus, SentRequest},
    node::{Node, Outgoing, Reply},
    passport::{
        ApiCall, DeviceOp, Passport, PassportError, RequestAnswer, RequestOutcome, Sending,
    },
    person::{Approval, InboxItem, IssuedGrant, MerchantRecord, PendingRequest},
};
