//! [`Passport`]: one node as an async handle, what an application embeds.
//!
//! ```no_run
//! # async fn run() -> Result<(), passport_node::PassportError> {
//! use futures::StreamExt as _;
//! use passport_node::{Home, Passport, Unlock, net::NetConfig};
//!
//! let (passport, mut events) = Passport::builder(Home::new("/var/lib/shop"))
//!     .unlock(Unlock::KeyFile)
//!     .network(NetConfig::default())
//!     .spawn()
//!     .await?;
//! println!("running as {}", passport.id());
//! while let Some(event) = events.next().await {
//!     println!("{event:?}");
//! }
//! # Ok(()) }
//! ```
//!
//! The handle owns the node core, its network (when it has one), the sweeper and
//! the deliveries; every method is async and does the blocking store work on
//! tokio's blocking pool, here and nowhere else. Both sides of the protocol are
//! here: the merchant's request flow ([`Passport::request`]) and fetch, and the
//! person's inbox, decisions, revocations and erasure. Without a network
//! ([`Builder::network`] not called) the same methods work on the store alone, and
//! messages they make wait in the durable outbox for the next start: that is what
//! the command line does when no node runs.

use std::{sync::Arc, time::Duration};

use passport_protocol::{FieldName, FieldValue, GrantId, MessageId, PassportId};
use tokio::{
    sync::{Mutex, watch},
    task::JoinHandle,
};
use zeroize::Zeroizing;

mod backend;
mod builder;
mod data;
mod delivery;
mod device;
mod error;
mod mailbox;
mod merchant;

pub use self::{
    builder::Builder,
    delivery::{MAX_DELIVERIES, Sending},
    device::{ApiCall, CHANGES_WAIT, DeviceOp},
    error::PassportError,
    mailbox::{DEPOSIT_AT, DrainReport},
    merchant::{RequestAnswer, RequestOutcome},
};
use self::{builder::Source, delivery::Delivery};
use crate::{
    audit::{AuditEntry, AuditReport},
    backup::{BackupSummary, copies::OtherCopy},
    consent::Policy,
    error::NodeError,
    events::Events,
    home::{Home, Unlock},
    metrics::Metrics,
    net::{Client, NetError, Status},
    node::{Node, Outgoing, system_now as now},
    person::{Approval, InboxItem, IssuedGrant},
    tokens::{ApiToken, NewToken, Scope},
    vault::{FieldRecord, Sensitivity},
};

/// What a request says when neither it nor `[merchant] name` names the shop.
pub const UNNAMED_MERCHANT: &str = "unnamed merchant";

/// How often expired requests and grants are swept, unless told otherwise.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// One passport, running: cheap to clone, clones share everything.
#[derive(Clone)]
pub struct Passport {
    inner: Arc<Inner>,
}

struct Inner {
    node: Node,
    network: Option<Network>,
    delivery: Delivery,
    /// What requests that do not name themselves say.
    merchant_name: Option<String>,
}

struct Network {
    client: Client,
    metrics: Metrics,
    /// Set when another live copy of this passport outranks this one.
    other_copy: watch::Receiver<Option<OtherCopy>>,
    /// The background tasks, until shutdown takes them.
    tasks: Mutex<Option<Tasks>>,
}

struct Tasks {
    event_loop: JoinHandle<()>,
    sweeper: JoinHandle<()>,
    /// Webhook deliveries: aborting it loses nothing (an attempt cut short is
    /// made again after the restart).
    webhooks: JoinHandle<()>,
    /// Draining this node's mailboxes: aborting it loses nothing (a deposit is
    /// deleted only after its message is committed).
    mailboxes: JoinHandle<()>,
    /// Notifications: best effort, so aborting loses at most one being sent.
    notifications: JoinHandle<()>,
    /// Publishing the record and looking for another copy: aborting loses
    /// nothing.
    copies: JoinHandle<()>,
    /// Checking merchants' domains: aborting loses a check, made again on the
    /// merchant's next request.
    domains: JoinHandle<()>,
    /// Scheduled backups: aborting one mid-way leaves only its temporary file.
    backups: JoinHandle<()>,
    /// Serving linked devices: aborting loses a call being answered (the device
    /// is told the node stopped).
    devices: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Passport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passport")
            .field("id", &self.id())
            .field("online", &self.inner.network.is_some())
            .finish_non_exhaustive()
    }
}

/// Runs blocking store work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, NodeError> + Send + 'static,
) -> Result<T, PassportError> {
    Ok(tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PassportError::Interrupted(e.to_string()))??)
}

impl Passport {
    /// A handle for the passport in `home` (its `config.toml` applies).
    pub fn builder(home: Home) -> Builder {
        Builder::new(Source::Home {
            home,
            unlock: Unlock::KeyFile,
        })
    }

    /// A handle for a node already open: the simulator starts and stops the network
    /// of the same node this way.
    pub fn with_node(node: Node) -> Builder {
        Builder::new(Source::Node(node))
    }

    /// A handle over `node` without a network, at once (no task is started):
    /// what [`Builder::spawn`] makes when no network is asked for.
    pub fn offline(node: Node) -> Self {
        let delivery = Delivery::offline(node.clone());
        Self::assemble(node, None, delivery, None)
    }

    fn assemble(
        node: Node,
        network: Option<Network>,
        delivery: Delivery,
        merchant_name: Option<String>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                node,
                network,
                delivery,
                merchant_name,
            }),
        }
    }

    /// The name persons see on this node's requests that do not name themselves
    /// ([`Builder::merchant_name`]).
    pub fn merchant_name(&self) -> &str {
        self.inner
            .merchant_name
            .as_deref()
            .unwrap_or(UNNAMED_MERCHANT)
    }

    /// Resolves when this copy finds another live copy of its passport that
    /// outranks it (a restore made elsewhere); its network has stopped by then,
    /// and the node should stop. Never resolves without a network.
    pub async fn other_copy_found(&self) -> OtherCopy {
        let Some(network) = &self.inner.network else {
            return std::future::pending().await;
        };
        let mut found = network.other_copy.clone();
        let copy = found
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|copy| copy.clone());
        match copy {
            Some(copy) => copy,
            // The watcher ended without finding one (the node shut down).
            None => std::future::pending().await,
        }
    }

    /// A backup of this passport, encrypted to `passphrase`, with `config` (the
    /// text of `config.toml`) in it: the bytes of the age file and what it holds.
    /// The store is read in one consistent snapshot while the node keeps running.
    pub async fn backup(
        &self,
        passphrase: age::secrecy::SecretString,
        config: Option<String>,
    ) -> Result<(Vec<u8>, BackupSummary), PassportError> {
        let node = self.inner.node.clone();
        tokio::task::spawn_blocking(move || {
            let mut bytes = Vec::new();
            let summary = node.backup(passphrase, None, config, now(), &mut bytes)?;
            Ok((bytes, summary))
        })
        .await
        .map_err(|e| PassportError::Interrupted(e.to_string()))?
    }

    /// This passport's id.
    pub fn id(&self) -> PassportId {
        self.inner.node.id()
    }

    /// The node core, for synchronous reads (a page rendering the store) and tests.
    pub fn node(&self) -> &Node {
        &self.inner.node
    }

    /// The network client, when the network runs: status, lookups, peers.
    pub fn client(&self) -> Option<&Client> {
        self.inner.network.as_ref().map(|n| &n.client)
    }

    /// The network's counters, when it runs (for `/metrics`).
    pub fn metrics(&self) -> Option<&Metrics> {
        self.inner.network.as_ref().map(|n| &n.metrics)
    }

    fn net(&self) -> Result<&Client, PassportError> {
        self.client().ok_or(PassportError::Offline)
    }

    /// Every change committed from now on (see [`crate::events`]).
    pub fn events(&self) -> Events {
        self.inner.node.subscribe()
    }

    /// Deliveries running now.
    pub fn deliveries_in_flight(&self) -> usize {
        self.inner.delivery.in_flight()
    }

    /// Reads the store with `f` on the blocking pool: for a view that composes
    /// several reads (a page showing the inbox beside the fields, say) in one hop.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Node) -> Result<T, NodeError> + Send + 'static,
    ) -> Result<T, PassportError> {
        self.run(f).await
    }

    /// Runs `f` on the node on the blocking pool.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Node) -> Result<T, NodeError> + Send + 'static,
    ) -> Result<T, PassportError> {
        let node = self.inner.node.clone();
        blocking(move || f(&node)).await
    }

    /// Delivers what an operation made, in the background.
    fn send(&self, outgoing: Vec<Outgoing>) -> Vec<Sending> {
        outgoing
            .into_iter()
            .map(|out| self.inner.delivery.spawn(out))
            .collect()
    }

    fn send_one(&self, outgoing: Outgoing) -> Sending {
        self.inner.delivery.spawn(outgoing)
    }

    /// Delivers a message this node made (it is in the node's outbox already, as
    /// everything [`Node`] makes for others is): sent on its own task, retried while
    /// the other node is unreachable until the message expires, taken out of the
    /// outbox once the outcome is final. For callers that work on the [`Node`]
    /// directly; the methods of this handle deliver what they make themselves.
    pub fn deliver(&self, outgoing: Outgoing) -> Sending {
        self.send_one(outgoing)
    }

    /// The network's state now.
    pub async fn status(&self) -> Result<Status, PassportError> {
        Ok(self.net()?.status().await?)
    }

    /// Stops gracefully: in-flight messages finish and are answered, the network and
    /// the sweeper stop, deliveries end (what is undelivered stays in the outbox).
    /// Calls after this one find the network stopped.
    pub async fn shutdown(&self) {
        if let Some(network) = &self.inner.network
            && let Some(tasks) = network.tasks.lock().await.take()
        {
            tasks.sweeper.abort();
            tasks.webhooks.abort();
            tasks.mailboxes.abort();
            tasks.notifications.abort();
            tasks.copies.abort();
            tasks.backups.abort();
            tasks.domains.abort();
            if let Some(devices) = tasks.devices {
                devices.abort();
            }
            let _ = network.client.shutdown().await;
            let _ = tasks.event_loop.await;
        }
        self.inner.delivery.shutdown().await;
    }
}

/// The person's side.
impl Passport {
    /// Pending requests, oldest first.
    pub async fn inbox(&self) -> Result<Vec<InboxItem>, PassportError> {
        self.run(Node::inbox).await
    }

    /// Approves a pending request; the grant is on its way when this returns.
    pub async fn approve(
        &self,
        request: MessageId,
        approval: Approval,
    ) -> Result<Sending, PassportError> {
        let out = self
            .run(move |node| node.approve(&request, approval, now()))
            .await?;
        Ok(self.send_one(out))
    }

    /// Refuses a pending request, with a reason for the merchant (may be empty).
    pub async fn deny(&self, request: MessageId, reason: String) -> Result<Sending, PassportError> {
        let out = self
            .run(move |node| node.deny(&request, &reason, now()))
            .await?;
        Ok(self.send_one(out))
    }

    /// Grants issued, newest first.
    pub async fn grants(&self) -> Result<Vec<IssuedGrant>, PassportError> {
        self.run(Node::grants).await
    }

    /// Revokes a grant; the merchant is told to erase.
    pub async fn revoke(&self, grant: GrantId) -> Result<Sending, PassportError> {
        let out = self.run(move |node| node.revoke(&grant, now())).await?;
        Ok(self.send_one(out))
    }

    /// Asks a merchant to erase everything it holds about this person.
    pub async fn erase(&self, merchant: PassportId) -> Result<Sending, PassportError> {
        let out = self.run(move |node| node.erase(&merchant, now())).await?;
        Ok(self.send_one(out))
    }

    /// Sets a field; merchants holding live grants over it get the new value.
    pub async fn set_field(
        &self,
        name: FieldName,
        value: FieldValue,
    ) -> Result<Vec<Sending>, PassportError> {
        let out = self
            .run(move |node| node.set_field(name, value, now()))
            .await?;
        Ok(self.send(out))
    }

    /// Removes a field; merchants holding live grants over it are told.
    pub async fn remove_field(&self, name: FieldName) -> Result<Vec<Sending>, PassportError> {
        let out = self
            .run(move |node| node.remove_field(&name, now()))
            .await?;
        Ok(self.send(out))
    }

    /// Sets a field's tags, and its sensitivity when given.
    pub async fn tag_field(
        &self,
        name: FieldName,
        tags: std::collections::BTreeSet<String>,
        sensitivity: Option<Sensitivity>,
    ) -> Result<(), PassportError> {
        self.run(move |node| node.tag_field(&name, tags, sensitivity, now()))
            .await
    }

    /// Every field, by name.
    pub async fn fields(&self) -> Result<Vec<(FieldName, FieldRecord)>, PassportError> {
        self.run(Node::fields).await
    }

    /// One field.
    pub async fn field(&self, name: FieldName) -> Result<Option<FieldRecord>, PassportError> {
        self.run(move |node| node.field(&name)).await
    }

    /// Standing policies.
    pub async fn policies(&self) -> Result<Vec<Policy>, PassportError> {
        self.run(Node::policies).await
    }

    /// Adds a standing policy; returns it with its id.
    pub async fn add_policy(&self, policy: Policy) -> Result<Policy, PassportError> {
        self.run(move |node| node.add_policy(policy, now())).await
    }

    /// Removes a standing policy.
    pub async fn remove_policy(&self, id: u64) -> Result<(), PassportError> {
        self.run(move |node| node.remove_policy(id, now())).await
    }
}

/// Both sides.
impl Passport {
    /// The audit log, oldest first.
    pub async fn audit(&self) -> Result<Vec<AuditEntry>, PassportError> {
        self.run(Node::audit_entries).await
    }

    /// Checks the audit log's hash chain.
    pub async fn verify_audit(&self) -> Result<AuditReport, PassportError> {
        self.run(Node::verify_audit).await
    }

    /// A sent or received message's signed bytes, by id, from the audit log.
    pub async fn message(&self, id: MessageId) -> Result<Option<Vec<u8>>, PassportError> {
        self.run(move |node| node.message(&id)).await
    }
}

/// Scoped API tokens (see [`crate::tokens`]).
impl Passport {
    /// Makes a token reaching `scope`, named `name`; the answer holds the token,
    /// which is shown this once.
    pub async fn create_token(
        &self,
        scope: Scope,
        name: String,
    ) -> Result<NewToken, PassportError> {
        self.run(move |node| node.create_token(scope, &name, now()))
            .await
    }

    /// Every scoped token, oldest first (never the tokens themselves).
    pub async fn tokens(&self) -> Result<Vec<ApiToken>, PassportError> {
        self.run(Node::tokens).await
    }

    /// Revokes token `id`: it is refused from now on. Returns what it was.
    pub async fn revoke_token(&self, id: String) -> Result<ApiToken, PassportError> {
        self.run(move |node| node.revoke_token(&id, now())).await
    }

    /// The scope of a presented scoped token, or `None` if it is not one this node
    /// made and still honours.
    pub async fn token_scope(
        &self,
        token: Zeroizing<String>,
    ) -> Result<Option<Scope>, PassportError> {
        self.run(move |node| node.token_scope(&token)).await
    }

    /// The stored digest of token `id` (for `GET /v1/hello`).
    pub async fn token_digest(&self, id: String) -> Result<Option<[u8; 32]>, PassportError> {
        self.run(move |node| node.token_digest(&id)).await
    }
}

/// Publishes the record, retrying with backoff until the DHT takes it or the
/// network stops.
async fn publish_until_taken(client: Client) {
    let mut wait = Duration::from_millis(200);
    while let Err(e) = client.publish().await {
        if matches!(e, NetError::Stopped) {
            return;
        }
        tracing::debug!(error = %e, "publishing the record failed; retrying");
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(60));
    }
}

/// Sweeps every `every`, delivers the receipts the sweep makes, and picks up what
/// waited in the outbox.
async fn sweep_forever(node: Node, delivery: Delivery, every: Duration, mailbox: bool) {
    let mut last_alert: Option<tokio::time::Instant> = None;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let sweeping = node.clone();
        let receipts = match tokio::task::spawn_blocking(move || sweeping.sweep(now())).await {
            Ok(Ok(receipts)) => receipts,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "sweeping failed");
                Vec::new()
            }
            Err(_) => return,
        };
        for receipt in receipts {
            drop(delivery.spawn(receipt));
        }
        if mailbox {
            let sweeping = node.clone();
            match tokio::task::spawn_blocking(move || sweeping.mailbox_sweep(now())).await {
                Ok(Ok(0)) | Err(_) => {}
                Ok(Ok(dropped)) => {
                    tracing::info!(dropped, "mailbox: dropped deposits past their hold time");
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "sweeping the mailbox failed"),
            }
        }
        if let Err(e) = delivery.resume().await {
            tracing::warn!(error = %e, "reading the outbox failed");
        }
        if last_alert.is_none_or(|at: tokio::time::Instant| at.elapsed() >= ALERT_EVERY) {
            let reading = node.clone();
            if let Ok(Ok(awaiting)) =
                tokio::task::spawn_blocking(move || reading.unconfirmed_erasures()).await
                && let Some(oldest) = awaiting.first()
                && now().as_secs() >= oldest.erased_at.as_secs() + ALERT_AFTER.as_secs()
            {
                tracing::warn!(
                    count = awaiting.len(),
                    oldest_grant = %oldest.grant_id,
                    "erasures wait for the backend's confirmation (GET /v1/erasures); their deletion receipts are held"
                );
                last_alert = Some(tokio::time::Instant::now());
            }
        }
    }
}

/// An erasure unconfirmed this long is warned about, and again every
/// [`ALERT_EVERY`] while any is.
const ALERT_AFTER: Duration = Duration::from_secs(3600);
const ALERT_EVERY: Duration = Duration::from_secs(3600);
