//! [`Node`]: one passport's state and every operation on it, person side and
//! merchant side. Sans-I/O in time: every operation takes `now`.
//!
//! Each operation runs as one transaction: it reads the store, builds one batch
//! (records, audit entries, seen message ids), applies it under the node's lock (so
//! audit entries land in order) and waits for it to be durable outside the lock (so
//! concurrent operations share one flush). Only then does it return the message to
//! send: nothing leaves the node that the node could forget.

use std::sync::{Arc, Mutex, PoisonError};

use passport_protocol::{
    Body, Claims, FieldName, FieldValue, Message, MessageId, PassportId, SealingPublicKey,
    Timestamp, Verified, check_received, limits::CLOCK_SKEW_SECS, verify_offline,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

mod replay;

use self::replay::SEEN_PREFIX;
use crate::{
    audit::{self, AuditEntry, AuditEvent, AuditReport, Head},
    config::NodeConfig,
    error::NodeError,
    events::{Event, EventSender, Events},
    home::{Home, Keys, Unlock},
    storage::{Batch, Durable, SledStorage, Storage, Ticket},
    vault::{self, FieldRecord, MAX_TAG_BYTES, MAX_TAGS, Sensitivity},
};

/// What [`Node::receive`] answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Send these bytes back to the sender (a decision, an update or a receipt).
    Message(Vec<u8>),
    /// The request waits for the person; tell the merchant it is pending.
    Pending(MessageId),
    /// Nothing to send back.
    Nothing,
}

/// Writes applied but perhaps not yet durable, and the events they make;
/// [`Node::settle`] waits for the writes, then tells subscribers the events.
#[derive(Debug)]
#[must_use = "writes are not durable until settled"]
pub(crate) struct Unsettled {
    ticket: Option<Ticket>,
    events: Vec<Event>,
}

/// A message this node made for someone else.
///
/// Every one is also kept in the node's durable outbox, written in the same
/// transaction as the change that made it, until [`Node::outbox_done`] says it was
/// delivered (or will never be): a node that stops before delivering sends it after
/// restarting ([`Node::outbox`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    /// The recipient.
    pub to: PassportId,
    /// Where the recipient asked to be answered (multiaddrs), if it said.
    pub reply_to: Vec<String>,
    /// The signed message.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

/// Where the outbox keeps messages waiting for delivery.
const OUTBOX_PREFIX: &[u8] = b"o/";

pub(crate) fn outbox_key(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(bytes);
    [OUTBOX_PREFIX, &digest[..16]].concat()
}

struct State {
    head: Head,
    rng: ChaCha20Rng,
    seen_count: u64,
}

struct Inner {
    keys: Keys,
    durable: Durable,
    config: NodeConfig,
    state: Mutex<State>,
    /// Transactions that wrote something, since the node was opened.
    commits: std::sync::atomic::AtomicU64,
    /// Every committed change, typed.
    events: EventSender,
    /// Woken when a transaction queued webhook events.
    webhook_wake: Arc<tokio::sync::Notify>,
}

/// One passport: its keys, its store, and every operation on them. Cheap to clone;
/// clones share state and may be used from several threads.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

impl Node {
    /// Unlocks the passport in `home` and opens its database, with the settings of
    /// `home`'s `config.toml`.
    pub fn open_home(home: &Home, unlock: &Unlock) -> Result<Self, NodeError> {
        let config = home.config()?.node;
        Self::open(home, unlock, config)
    }

    /// Unlocks the passport in `home` and opens its database with `config`.
    pub fn open(home: &Home, unlock: &Unlock, config: NodeConfig) -> Result<Self, NodeError> {
        let keys = home.open(unlock)?;
        let storage = SledStorage::open(&home.db_path())?;
        Self::with_storage(keys, Arc::new(storage), config, None)
    }

    /// A node with fresh random keys over an in-memory store: for simulations and
    /// tests (nothing survives the process).
    pub fn in_memory(config: NodeConfig) -> Result<Self, NodeError> {
        Self::with_storage(
            Keys::generate(),
            Arc::new(crate::storage::MemoryStorage::new()),
            config,
            None,
        )
    }

    /// A node over any store (an in-memory one for simulations). With `rng_seed`,
    /// every message id, grant id and HPKE key it makes is reproducible (the nonces
    /// of encryption at rest stay random).
    pub fn with_storage(
        keys: Keys,
        storage: Arc<dyn Storage>,
        config: NodeConfig,
        rng_seed: Option<[u8; 32]>,
    ) -> Result<Self, NodeError> {
        let head = audit::read_head(&*storage, &keys.data_key)?;
        let seen_count = storage.scan_prefix(SEEN_PREFIX)?.len() as u64;
        let rng = match rng_seed {
            Some(seed) => ChaCha20Rng::from_seed(seed),
            None => {
                let mut seed = [0u8; 32];
                rand::rng().fill_bytes(&mut seed);
                ChaCha20Rng::from_seed(seed)
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                keys,
                durable: Durable::new(storage),
                config,
                state: Mutex::new(State {
                    head,
                    rng,
                    seen_count,
                }),
                commits: std::sync::atomic::AtomicU64::new(0),
                events: EventSender::default(),
                webhook_wake: Arc::default(),
            }),
        })
    }

    /// Returns once every write applied so far is durable: what the webhook
    /// delivery task waits for before telling anything it read.
    pub(crate) fn sync(&self) -> Result<(), NodeError> {
        self.inner.durable.sync()
    }

    /// What wakes the webhook delivery task.
    pub(crate) fn webhook_wake(&self) -> Arc<tokio::sync::Notify> {
        self.inner.webhook_wake.clone()
    }

    /// This passport's public id.
    pub fn id(&self) -> PassportId {
        self.inner.keys.identity.id()
    }

    /// The key others seal data to for this node.
    pub fn sealing_public_key(&self) -> SealingPublicKey {
        self.inner.keys.sealing.public_key()
    }

    /// Signs a DHT record with this passport's identity key.
    pub fn sign_record(
        &self,
        record: &passport_protocol::PeerRecord,
    ) -> Result<Vec<u8>, NodeError> {
        Ok(record.sign(&self.inner.keys.identity)?)
    }

    /// The configuration in force.
    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    /// How many transactions that wrote something have become durable since the node
    /// was opened: a page rendered at one count knows it is out of date at another.
    pub fn commits(&self) -> u64 {
        self.inner.commits.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Every change committed from now on, as it becomes durable (see
    /// [`crate::events`]). Bounded: a subscriber that falls behind is told it lagged.
    pub fn subscribe(&self) -> Events {
        // Under the node's lock: a transaction that ran before is applied (a read
        // after this sees it), one that runs after sees the subscriber and keeps its
        // events (see `Tx::audit`).
        let _state = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.inner.events.subscribe()
    }

    /// How many flushes the store has performed (each an fsync on sled) and how long
    /// they took in all.
    pub fn flush_stats(&self) -> crate::storage::FlushStats {
        self.inner.durable.flush_stats()
    }

    pub(crate) fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    pub(crate) fn storage(&self) -> &dyn Storage {
        self.inner.durable.storage()
    }

    /// Every record of the store as of one moment (see [`Durable::snapshot`]).
    pub(crate) fn snapshot(&self) -> Result<crate::storage::Entries, NodeError> {
        self.inner.durable.snapshot()
    }

    /// Runs `f` as one transaction (see the module docs).
    pub(crate) fn tx<T>(
        &self,
        now: Timestamp,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, NodeError>,
    ) -> Result<T, NodeError> {
        let (out, unsettled) = self.tx_deferred(now, f)?;
        self.settle(unsettled)?;
        Ok(out)
    }

    /// [`Node::tx`] without waiting for the writes to be durable: they are visible
    /// at once, and durable once [`Node::settle`] returns for them, or once any later
    /// transaction has been.
    pub(crate) fn tx_deferred<T>(
        &self,
        now: Timestamp,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, NodeError>,
    ) -> Result<(T, Unsettled), NodeError> {
        let mut guard = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let state = &mut *guard;
        let mut tx = Tx {
            node: self,
            now,
            batch: Batch::new(),
            head: state.head,
            seen_count: state.seen_count,
            rng: &mut state.rng,
            storage_error: None,
            events: Vec::new(),
            deliveries: 0,
            refused: None,
        };
        let out = f(&mut tx)?;
        let wake = tx.deliveries > 0;
        let (batch, head, seen_count, events) = (tx.batch, tx.head, tx.seen_count, tx.events);
        let ticket = if batch.is_empty() {
            None
        } else {
            Some(self.inner.durable.apply(batch)?)
        };
        state.head = head;
        state.seen_count = seen_count;
        drop(guard);
        if wake {
            // Applied, so visible to the delivery task's next read (durable
            // soon; a delivery sent before that is at worst sent again).
            self.inner.webhook_wake.notify_one();
        }
        Ok((out, Unsettled { ticket, events }))
    }

    /// Returns once the writes behind `unsettled` (and all before them) are durable,
    /// then tells subscribers of [`Node::subscribe`] what they did.
    pub(crate) fn settle(&self, unsettled: Unsettled) -> Result<(), NodeError> {
        if let Some(ticket) = unsettled.ticket {
            self.inner.durable.wait(ticket)?;
            self.inner
                .commits
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if self.inner.events.has_subscribers() {
                let mut events = unsettled.events;
                if events.is_empty() {
                    events.push(Event::StoreChanged);
                }
                self.inner.events.send(events);
            }
        }
        Ok(())
    }

    /// Verifies a received message and acts on it: the one entry point for bytes
    /// from the network. Whatever it returns is durable.
    pub fn receive(&self, bytes: &[u8], now: Timestamp) -> Result<Reply, NodeError> {
        // The signature check is the costly part and needs no state: do it before
        // taking the lock, so concurrent receives verify in parallel.
        let message = verify_offline(bytes)?;
        self.receive_verified(message, bytes, now)
    }

    /// [`Node::receive`] for a message the caller already passed through
    /// `verify_offline` (`message` must be what it returned for `bytes`).
    pub fn receive_verified(
        &self,
        message: Message,
        bytes: &[u8],
        now: Timestamp,
    ) -> Result<Reply, NodeError> {
        let (reply, refused) = self.tx(now, |tx| {
            let reply = tx.receive(message, bytes)?;
            Ok((reply, tx.refused.take()))
        })?;
        // A refusal whose audit entry is now durable.
        match refused {
            Some(error) => Err(error),
            None => Ok(reply),
        }
    }

    /// Runs `f` with the node's random number generator (seeded for simulations).
    pub(crate) fn with_rng<T>(&self, f: impl FnOnce(&mut ChaCha20Rng) -> T) -> T {
        let mut state = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f(&mut state.rng)
    }

    /// Drops what has expired: pending requests (with an audit entry), seen message
    /// ids past their keep time, and (merchant side) the data of grants past their
    /// end plus retention, returning a signed receipt for each person affected.
    pub fn sweep(&self, now: Timestamp) -> Result<Vec<Outgoing>, NodeError> {
        self.tx(now, |tx| {
            tx.expire_inbox()?;
            tx.purge_seen()?;
            tx.drop_expired_outbox()?;
            tx.expire_sent_requests()?;
            tx.erase_expired_grants()
        })
    }

    /// Messages made but not yet delivered (oldest first by key, not by time): what a
    /// starting node sends again.
    pub fn outbox(&self) -> Result<Vec<Outgoing>, NodeError> {
        Ok(self
            .scan::<Outgoing>(OUTBOX_PREFIX)?
            .into_iter()
            .map(|(_, out)| out)
            .collect())
    }

    /// Takes a message out of the outbox: it was delivered, refused for good, or
    /// expired undelivered.
    pub fn outbox_done(&self, out: &Outgoing, now: Timestamp) -> Result<(), NodeError> {
        let key = outbox_key(&out.bytes);
        self.tx(now, |tx| {
            if tx.get::<Outgoing>(&key)?.is_some() {
                tx.batch.delete(key);
            }
            Ok(())
        })
    }

    // ---- the vault ----

    /// Sets a field. Returns the updates to push to merchants holding live grants
    /// that include it.
    pub fn set_field(
        &self,
        name: FieldName,
        value: FieldValue,
        now: Timestamp,
    ) -> Result<Vec<Outgoing>, NodeError> {
        self.tx(now, |tx| {
            let key = vault::field_key(&name);
            let me = tx.me();
            let record = match tx.get::<FieldRecord>(&key)? {
                Some(mut r) => {
                    r.value = value;
                    r.updated_at = now;
                    // An attestation vouches for one value: a new one loses it.
                    let (kept, lost): (Vec<_>, Vec<_>) = std::mem::take(&mut r.attestations)
                        .into_iter()
                        .partition(|a| a.check(&me, &name, &r.value, now).is_ok());
                    r.attestations = kept;
                    if !lost.is_empty() {
                        tx.audit(
                            AuditEvent::AttestationLost {
                                field: name.clone(),
                                issuers: lost.iter().map(|a| a.issuer).collect(),
                            },
                            None,
                        );
                    }
                    r
                }
                None => FieldRecord {
                    value,
                    tags: Default::default(),
                    sensitivity: Sensitivity::default_for(&name),
                    updated_at: now,
                    attestations: Vec::new(),
                },
            };
            tx.put(key, &record);
            tx.push_updates(&name, Some(&record.value))
        })
    }

    /// A field's record, if set.
    pub fn field(&self, name: &FieldName) -> Result<Option<FieldRecord>, NodeError> {
        self.get(&vault::field_key(name))
    }

    /// Every field, by name.
    pub fn fields(&self) -> Result<Vec<(FieldName, FieldRecord)>, NodeError> {
        self.scan::<FieldRecord>(vault::FIELD_PREFIX)?
            .into_iter()
            .map(|(k, r)| {
                let name = std::str::from_utf8(&k[vault::FIELD_PREFIX.len()..])
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .ok_or(NodeError::CorruptRecord {
                        key: String::from_utf8_lossy(&k).into_owned(),
                        detail: "bad field name",
                    })?;
                Ok((name, r))
            })
            .collect()
    }

    /// Removes a field. Live grants that included it get an update without it.
    pub fn remove_field(
        &self,
        name: &FieldName,
        now: Timestamp,
    ) -> Result<Vec<Outgoing>, NodeError> {
        self.tx(now, |tx| {
            let key = vault::field_key(name);
            if tx.get::<FieldRecord>(&key)?.is_none() {
                return Err(NodeError::UnknownField(name.clone()));
            }
            tx.batch.delete(key);
            tx.push_updates(name, None)
        })
    }

    /// Replaces a field's tags and, if given, its sensitivity class.
    pub fn tag_field(
        &self,
        name: &FieldName,
        tags: std::collections::BTreeSet<String>,
        sensitivity: Option<Sensitivity>,
        now: Timestamp,
    ) -> Result<(), NodeError> {
        if tags.len() > MAX_TAGS || tags.iter().any(|t| t.is_empty() || t.len() > MAX_TAG_BYTES) {
            return Err(NodeError::InvalidChoice(format!(
                "at most {MAX_TAGS} tags of 1 to {MAX_TAG_BYTES} bytes each"
            )));
        }
        self.tx(now, |tx| {
            let key = vault::field_key(name);
            let mut record = tx
                .get::<FieldRecord>(&key)?
                .ok_or_else(|| NodeError::UnknownField(name.clone()))?;
            record.tags = tags;
            if let Some(s) = sensitivity {
                record.sensitivity = s;
            }
            tx.put(key, &record);
            Ok(())
        })
    }

    // ---- the audit log ----

    /// The raw bytes of a message this node sent or received, found by its id in the
    /// audit log.
    pub fn message(&self, id: &MessageId) -> Result<Option<Vec<u8>>, NodeError> {
        Ok(self.audit_entries()?.into_iter().find_map(|entry| {
            let bytes = entry.message?;
            let found = passport_protocol::decode_trusted(&bytes).ok()?.claims.id == *id;
            found.then_some(bytes)
        }))
    }

    /// Every audit entry, oldest first.
    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>, NodeError> {
        audit::read_all(self.storage(), &self.keys().data_key)
    }

    /// Checks the audit log for modified, deleted, inserted or reordered entries.
    pub fn verify_audit(&self) -> Result<AuditReport, NodeError> {
        audit::verify(self.storage(), &self.keys().data_key)
    }

    // ---- helpers ----

    pub(crate) fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, NodeError> {
        self.storage()
            .get(key)?
            .map(|sealed| self.keys().data_key.open_record(key, &sealed))
            .transpose()
    }

    pub(crate) fn scan<T: DeserializeOwned>(
        &self,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, T)>, NodeError> {
        self.storage()
            .scan_prefix(prefix)?
            .into_iter()
            .map(|(k, sealed)| {
                let record = self.keys().data_key.open_record(&k, &sealed)?;
                Ok((k, record))
            })
            .collect()
    }
}

/// One transaction in progress: reads see the store as it was when it started.
pub(crate) struct Tx<'a> {
    pub(crate) node: &'a Node,
    pub(crate) now: Timestamp,
    pub(crate) batch: Batch,
    head: Head,
    seen_count: u64,
    pub(crate) rng: &'a mut ChaCha20Rng,
    storage_error: Option<NodeError>,
    /// What this transaction's audit entries say, told once it is durable.
    events: Vec<Event>,
    /// Webhook deliveries this transaction queued.
    deliveries: u16,
    /// A refusal to return once this transaction (its audit entry) commits.
    pub(crate) refused: Option<NodeError>,
}

impl Tx<'_> {
    pub(crate) fn me(&self) -> PassportId {
        self.node.id()
    }

    pub(crate) fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, NodeError> {
        self.node.get(key)
    }

    pub(crate) fn scan<T: DeserializeOwned>(
        &self,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, T)>, NodeError> {
        self.node.scan(prefix)
    }

    pub(crate) fn put<T: Serialize>(&mut self, key: Vec<u8>, record: &T) {
        let sealed = self.node.keys().data_key.seal_record(&key, record);
        self.batch.put(key, sealed);
    }

    pub(crate) fn delete(&mut self, key: Vec<u8>) {
        self.batch.delete(key);
    }

    /// The sequence number the next audit entry will take: orders what this
    /// transaction queues after everything earlier ones did.
    pub(crate) fn audit_count(&self) -> u64 {
        self.head.count
    }

    /// Numbers the webhook deliveries one transaction queues.
    pub(crate) fn next_delivery_index(&mut self) -> u16 {
        self.deliveries = self.deliveries.saturating_add(1);
        self.deliveries
    }

    /// Commits this transaction (the refusal's audit entry) and then refuses
    /// the message with `error`: a refusal that leaves a trace.
    pub(crate) fn refuse_after_commit(&mut self, error: NodeError) {
        self.refused = Some(error);
    }

    /// Tells `event` to subscribers once this transaction is durable.
    pub(crate) fn emit(&mut self, event: Event) {
        if self.node.inner.events.has_subscribers() {
            self.events.push(event);
        }
    }

    /// Keeps `out` in the durable outbox (with this transaction's other writes) and
    /// returns it for sending now.
    pub(crate) fn send_later(&mut self, out: Outgoing) -> Outgoing {
        self.put(outbox_key(&out.bytes), &out);
        out
    }

    /// Gives up outbox messages that expired undelivered (nobody would accept
    /// them), each with an audit entry, so that the person (or the merchant) sees
    /// that a revocation, an erase request or a receipt never arrived.
    fn drop_expired_outbox(&mut self) -> Result<(), NodeError> {
        for (key, out) in self.scan::<Outgoing>(OUTBOX_PREFIX)? {
            let message = passport_protocol::decode_trusted(&out.bytes).ok();
            if message
                .as_ref()
                .is_some_and(|m| m.claims.expires_at > self.now)
            {
                continue;
            }
            tracing::warn!(to = %out.to, "giving up a message that expired undelivered");
            self.batch.delete(key);
            if let Some(message) = message {
                self.audit(
                    AuditEvent::DeliveryGivenUp {
                        message: message.claims.id,
                        kind: message.body.kind().name().to_string(),
                        to: out.to,
                    },
                    Some(out.bytes),
                );
            }
        }
        Ok(())
    }

    pub(crate) fn audit(&mut self, event: AuditEvent, message: Option<Vec<u8>>) {
        // Copied only when someone listens: most commits of a busy merchant or
        // person have no subscriber.
        if self.node.inner.events.has_subscribers() {
            self.events.push(Event::Committed {
                seq: self.head.count,
                at: self.now,
                event: event.clone(),
            });
        }
        self.head = audit::append(
            &mut self.batch,
            &self.node.keys().data_key,
            self.head,
            self.now,
            event,
            message,
        );
    }

    /// Signs a message from this node to `to`, living `lifetime_secs`.
    pub(crate) fn sign(
        &mut self,
        to: PassportId,
        lifetime_secs: u64,
        body: Body,
    ) -> Result<(Vec<u8>, MessageId), NodeError> {
        let claims = Claims::new(self.me(), to, self.now, lifetime_secs, &mut *self.rng);
        let id = claims.id;
        let bytes = Message { claims, body }.sign(&self.node.keys().identity)?;
        Ok((bytes, id))
    }

    /// Checks a message that passed `verify_offline` and acts on it, in this
    /// transaction.
    pub(crate) fn receive(&mut self, message: Message, bytes: &[u8]) -> Result<Reply, NodeError> {
        use passport_protocol::MessageKind;
        let verified = self.check_received(message)?;
        match verified.message().body.kind() {
            MessageKind::Request => self.on_request(verified, bytes),
            MessageKind::Fetch => self.on_fetch(verified, bytes),
            MessageKind::DeletionReceipt => self.on_receipt(verified, bytes),
            MessageKind::Decision => self.on_decision(verified, bytes),
            MessageKind::Update => self.on_update(verified, bytes),
            MessageKind::Revoke | MessageKind::EraseRequest => self.on_erasure(verified, bytes),
            MessageKind::Delivery => self.on_delivery(verified, bytes),
            MessageKind::AccessRequest => self.on_access_request(verified, bytes),
            MessageKind::AccessStatement => self.on_access_statement(verified, bytes),
        }
    }

    fn check_received(&mut self, message: Message) -> Result<Verified, NodeError> {
        let me = self.me();
        let now = self.now;
        let result = check_received(message, now, &me, self);
        if let Some(e) = self.storage_error.take() {
            return Err(e);
        }
        Ok(result?)
    }
}

/// The protocol's clock, whole seconds since the Unix epoch: see [`crate::clock`].
/// The node core never calls it; the network, daemon and API pass it in.
pub use crate::clock::system_now;

/// Whether `now` is past `expires_at` by more than the allowed skew.
pub(crate) fn expired(expires_at: Timestamp, now: Timestamp) -> bool {
    now.minus_secs(CLOCK_SKEW_SECS) > expires_at
}

/// Whether a grant this node holds has ended by its own clock: no leeway, since no
/// other party's clock is involved in using data one holds.
pub(crate) fn ended(expires_at: Timestamp, now: Timestamp) -> bool {
    now >= expires_at
}
