//! Webhooks: what a shop's backend is told (a grant arrived, a request was refused
//! or expired, a grant was revoked or expired, the person asked for erasure, new
//! values arrived), signed the Standard Webhooks way and delivered at least once.
//!
//! Each event is queued in the store by the same transaction as the change it
//! tells, so nothing the node committed goes untold, even across a crash; the
//! delivery task ([`dispatch`]) posts it, retries with backoff for 25 hours, and
//! deletes it once the backend answered 2xx. Events about one person go out in the
//! order they happened (a later one waits for an earlier one that is being
//! retried); events about different persons do not wait for each other. The same
//! events also go to the node's [`Event`] stream, and so to `GET /v1/events`.
//!
//! Bodies carry ids and field names, never values.
//!
//! # Layout
//!
//! - this file: [`WebhookPayload`] (the events), [`Webhook`] (an endpoint), the
//!   queue's records, and the node's operations on them.
//! - [`sign`]: [`WebhookSecret`] and the `webhook-signature` header.
//! - [`dispatch`]: the delivery task.
//!
//! # Keys in the store
//!
//! `w/e/<id>` endpoints, `w/d/<seq><n><endpoint>` deliveries waiting (in order of
//! the audit entry that made them), `w/l/<seq>` the last [`LOG_CAPACITY`]
//! attempts.

pub(crate) mod dispatch;
pub mod sign;

use passport_protocol::{FieldName, GrantId, MessageId, PassportId, Timestamp};
use serde::{Deserialize, Serialize};

pub use self::sign::WebhookSecret;
use crate::{
    audit::AuditEvent,
    error::NodeError,
    events::Event,
    node::{Node, Tx},
};

/// Endpoints one node may have.
pub const MAX_WEBHOOKS: usize = 16;
/// Attempts kept in the delivery log (`passport webhook log`).
pub const LOG_CAPACITY: u64 = 1000;
/// Deliveries waiting, across endpoints, past which the oldest are given up (with
/// a warning and the `given_up` count): a backend down for a day behind a busy
/// shop must not fill the disk.
pub const MAX_QUEUED: usize = 100_000;

const ENDPOINT_PREFIX: &[u8] = b"w/e/";
pub(crate) const DELIVERY_PREFIX: &[u8] = b"w/d/";
pub(crate) const LOG_PREFIX: &[u8] = b"w/l/";

/// The event types, as `type` in a body and in `events = [...]`.
pub const EVENT_TYPES: [&str; 7] = [
    "grant.received",
    "request.refused",
    "request.expired",
    "update.received",
    "grant.revoked",
    "grant.expired",
    "erase.requested",
];

/// What a backend is told: the `type` and `data` of a webhook's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", content = "data")]
#[non_exhaustive]
pub enum WebhookPayload {
    /// A grant arrived: read its values with `GET /v1/received/{grant_id}/values`.
    #[serde(rename = "grant.received")]
    GrantReceived {
        /// The request it answers (none for grants of requests sent before this
        /// was recorded).
        #[schema(required = true)]
        request_id: Option<MessageId>,
        /// The grant.
        grant_id: GrantId,
        /// The person.
        person: PassportId,
        /// The fields granted.
        fields: Vec<FieldName>,
        /// When it ends, RFC 3339.
        expires_at: String,
    },
    /// The person refused a request.
    #[serde(rename = "request.refused")]
    RequestRefused {
        /// The request.
        request_id: MessageId,
        /// The person.
        person: PassportId,
        /// The person's reason.
        reason: String,
    },
    /// A request expired unanswered.
    #[serde(rename = "request.expired")]
    RequestExpired {
        /// The request.
        request_id: MessageId,
        /// The person.
        person: PassportId,
    },
    /// New values arrived under a grant.
    #[serde(rename = "update.received")]
    UpdateReceived {
        /// The grant.
        grant_id: GrantId,
        /// The person.
        person: PassportId,
    },
    /// The person revoked a grant: delete what you copied from it.
    #[serde(rename = "grant.revoked")]
    GrantRevoked {
        /// The grant (one).
        grant_ids: Vec<GrantId>,
        /// The person.
        person: PassportId,
        /// Whether the node waits for the backend's confirmation before it sends
        /// the person a deletion receipt.
        confirm_erasure: bool,
    },
    /// Grants ended with their retention: delete what you copied from them.
    #[serde(rename = "grant.expired")]
    GrantExpired {
        /// The grants.
        grant_ids: Vec<GrantId>,
        /// The person.
        person: PassportId,
        /// As for `grant.revoked`.
        confirm_erasure: bool,
    },
    /// The person asked for everything about them to be erased.
    #[serde(rename = "erase.requested")]
    EraseRequested {
        /// Every grant from that person.
        grant_ids: Vec<GrantId>,
        /// The person.
        person: PassportId,
        /// As for `grant.revoked`.
        confirm_erasure: bool,
    },
    /// `passport webhook test`.
    #[serde(rename = "webhook.test")]
    Test {},
}

impl WebhookPayload {
    /// Its `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::GrantReceived { .. } => "grant.received",
            Self::RequestRefused { .. } => "request.refused",
            Self::RequestExpired { .. } => "request.expired",
            Self::UpdateReceived { .. } => "update.received",
            Self::GrantRevoked { .. } => "grant.revoked",
            Self::GrantExpired { .. } => "grant.expired",
            Self::EraseRequested { .. } => "erase.requested",
            Self::Test {} => "webhook.test",
        }
    }

    /// The grants whose erasure a backend may confirm by answering it
    /// `{"erased": true}`.
    pub fn erased_grants(&self) -> &[GrantId] {
        match self {
            Self::GrantRevoked { grant_ids, .. }
            | Self::GrantExpired { grant_ids, .. }
            | Self::EraseRequested { grant_ids, .. } => grant_ids,
            _ => &[],
        }
    }

    /// The whole body: `{"type", "timestamp", "data"}`.
    pub fn body(&self, at: Timestamp) -> Vec<u8> {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("timestamp".into(), crate::human::time(at).into());
            map.entry("data").or_insert_with(|| serde_json::json!({}));
        }
        serde_json::to_vec(&value).unwrap_or_default()
    }
}

/// One event queued for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Delivery {
    /// The `webhook-id`: the same for every endpoint and every retry.
    pub(crate) id: String,
    pub(crate) endpoint: String,
    /// Events with the same order key go out one after the other.
    pub(crate) person: Option<PassportId>,
    pub(crate) at: Timestamp,
    pub(crate) payload: WebhookPayload,
    pub(crate) attempts: u32,
    pub(crate) next_at: Timestamp,
    pub(crate) last_error: Option<String>,
}

/// An endpoint the node posts events to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// Its id (`wh_` and 8 hex digits), for `passport webhook remove|test`.
    pub id: String,
    /// Where events are posted: `http://` or `https://`.
    pub url: String,
    /// The event types it gets; empty: every type.
    pub events: Vec<String>,
    /// Set when it comes from `[[webhook]]` in config.toml (then it is changed
    /// there, not with `passport webhook`).
    pub from_config: bool,
    /// When it was added.
    pub created_at: Timestamp,
    pub(crate) secret: WebhookSecret,
}

impl Webhook {
    fn wants(&self, type_name: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == type_name)
    }
}

/// One delivery attempt, as `passport webhook log` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeliveryAttempt {
    /// The event's `webhook-id`.
    pub webhook_id: String,
    /// The endpoint.
    pub endpoint: String,
    /// The event's type.
    pub event_type: String,
    /// Which attempt, from 1.
    pub attempt: u32,
    /// When it was made.
    pub at: Timestamp,
    /// The HTTP status the endpoint answered, if it answered.
    #[schema(required = true)]
    pub status: Option<u16>,
    /// What went wrong, if anything.
    #[schema(required = true)]
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub millis: u64,
    /// What became of the event: `delivered`, `retrying` (with the next attempt's
    /// time) or `given_up`.
    pub outcome: String,
    /// When the next attempt is due, while retrying.
    #[schema(required = true)]
    pub next_at: Option<Timestamp>,
}

/// A webhook as `[[webhook]]` in config.toml or `passport webhook add` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Where to post events: an `http://` or `https://` URL. Required.
    pub url: String,
    /// The signing secret, `whsec_` and base64 (Standard Webhooks). Required in
    /// config.toml; `passport webhook add` makes one when not given.
    pub secret: WebhookSecret,
    /// The event types to send (see [`EVENT_TYPES`]). Default: every type.
    #[serde(default)]
    pub events: Vec<String>,
}

impl WebhookSettings {
    /// Checks the URL and the event names.
    pub fn check(&self) -> Result<(), NodeError> {
        check_url(&self.url)?;
        if let Some(unknown) = self
            .events
            .iter()
            .find(|e| !EVENT_TYPES.contains(&e.as_str()))
        {
            return Err(NodeError::InvalidInput(format!(
                "unknown webhook event {unknown:?}; the events are {}",
                EVENT_TYPES.join(", ")
            )));
        }
        Ok(())
    }
}

fn check_url(url: &str) -> Result<(), NodeError> {
    let bad = |why: &str| NodeError::InvalidInput(format!("webhook URL {url:?}: {why}"));
    let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("use an http:// or https:// URL"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("it names no host"));
    }
    Ok(())
}

fn endpoint_key(id: &str) -> Vec<u8> {
    [ENDPOINT_PREFIX, id.as_bytes()].concat()
}

fn config_id(url: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(url.as_bytes());
    format!("wh_{}", hex4(&digest[..4]))
}

fn hex4(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Tx<'_> {
    /// Queues `payload` for every endpoint that wants it and tells the event
    /// stream; written with this transaction, so told if and only if the change is
    /// durable. Call after the change's audit entry.
    pub(crate) fn notify_backend(
        &mut self,
        person: Option<PassportId>,
        payload: WebhookPayload,
    ) -> Result<(), NodeError> {
        use rand::Rng as _;
        let mut raw = [0u8; 12];
        self.rng.fill_bytes(&mut raw);
        let id = format!("evt_{}", hex4(&raw));
        let seq = self.audit_count();
        let type_name = payload.type_name();
        for (_, endpoint) in self.scan::<Webhook>(ENDPOINT_PREFIX)? {
            if !endpoint.wants(type_name) {
                continue;
            }
            let n = self.next_delivery_index();
            let key = [
                DELIVERY_PREFIX,
                &seq.to_be_bytes(),
                &n.to_be_bytes(),
                endpoint.id.as_bytes(),
            ]
            .concat();
            self.put(
                key,
                &Delivery {
                    id: id.clone(),
                    endpoint: endpoint.id,
                    person,
                    at: self.now,
                    payload: payload.clone(),
                    attempts: 0,
                    next_at: self.now,
                    last_error: None,
                },
            );
        }
        self.emit(Event::Webhook {
            id,
            at: self.now,
            payload,
        });
        Ok(())
    }
}

impl Node {
    /// The endpoints, config's and the API's.
    pub fn webhooks(&self) -> Result<Vec<Webhook>, NodeError> {
        Ok(self
            .scan::<Webhook>(ENDPOINT_PREFIX)?
            .into_iter()
            .map(|(_, w)| w)
            .collect())
    }

    /// Adds an endpoint; returns it and its secret's text, shown once.
    pub fn add_webhook(
        &self,
        settings: WebhookSettings,
        now: Timestamp,
    ) -> Result<(Webhook, String), NodeError> {
        settings.check()?;
        self.tx(now, |tx| {
            let existing = tx.scan::<Webhook>(ENDPOINT_PREFIX)?;
            if existing.len() >= MAX_WEBHOOKS {
                return Err(NodeError::InvalidInput(format!(
                    "this node has {MAX_WEBHOOKS} webhooks already; remove one first"
                )));
            }
            if let Some((_, same)) = existing.iter().find(|(_, w)| w.url == settings.url) {
                return Err(NodeError::InvalidInput(format!(
                    "webhook {} already posts to {}; remove it first to change it",
                    same.id, settings.url
                )));
            }
            use rand::Rng as _;
            let mut raw = [0u8; 4];
            tx.rng.fill_bytes(&mut raw);
            let webhook = Webhook {
                id: format!("wh_{}", hex4(&raw)),
                url: settings.url,
                events: settings.events,
                from_config: false,
                created_at: tx.now,
                secret: settings.secret,
            };
            tx.put(endpoint_key(&webhook.id), &webhook);
            tx.audit(
                AuditEvent::WebhookChanged {
                    webhook: webhook.id.clone(),
                    url: webhook.url.clone(),
                    added: true,
                },
                None,
            );
            let secret = webhook.secret.to_text();
            Ok((webhook, secret))
        })
    }

    /// Removes an endpoint added with [`Node::add_webhook`], and what waits for it.
    pub fn remove_webhook(&self, id: &str, now: Timestamp) -> Result<Webhook, NodeError> {
        self.tx(now, |tx| {
            let webhook = tx
                .get::<Webhook>(&endpoint_key(id))?
                .ok_or_else(|| NodeError::UnknownWebhook(id.to_string()))?;
            if webhook.from_config {
                return Err(NodeError::InvalidInput(format!(
                    "webhook {id} comes from [[webhook]] in config.toml; remove it there and restart the node"
                )));
            }
            tx.remove_endpoint(&webhook)?;
            Ok(webhook)
        })
    }

    /// Makes the endpoints from config.toml the ones marked `from_config`: adds new
    /// ones, updates changed ones, removes those no longer listed.
    pub fn sync_config_webhooks(
        &self,
        settings: &[WebhookSettings],
        now: Timestamp,
    ) -> Result<(), NodeError> {
        for s in settings {
            s.check()?;
        }
        self.tx(now, |tx| {
            let existing = tx.scan::<Webhook>(ENDPOINT_PREFIX)?;
            for (_, old) in existing.iter().filter(|(_, w)| w.from_config) {
                if !settings.iter().any(|s| config_id(&s.url) == old.id) {
                    tx.remove_endpoint(old)?;
                }
            }
            for s in settings {
                let id = config_id(&s.url);
                let old = existing.iter().find(|(_, w)| w.id == id).map(|(_, w)| w);
                let webhook = Webhook {
                    id: id.clone(),
                    url: s.url.clone(),
                    events: s.events.clone(),
                    from_config: true,
                    created_at: old.map_or(tx.now, |w| w.created_at),
                    secret: s.secret.clone(),
                };
                if old != Some(&webhook) {
                    if old.is_none() {
                        tx.audit(
                            AuditEvent::WebhookChanged {
                                webhook: id.clone(),
                                url: s.url.clone(),
                                added: true,
                            },
                            None,
                        );
                    }
                    tx.put(endpoint_key(&id), &webhook);
                }
            }
            Ok(())
        })
    }

    /// The last `limit` delivery attempts, newest first.
    pub fn webhook_log(&self, limit: usize) -> Result<Vec<DeliveryAttempt>, NodeError> {
        let mut log: Vec<DeliveryAttempt> = self
            .scan::<DeliveryAttempt>(LOG_PREFIX)?
            .into_iter()
            .rev()
            .take(limit)
            .map(|(_, a)| a)
            .collect();
        log.truncate(limit);
        Ok(log)
    }

    /// The oldest `limit` deliveries waiting, in order.
    pub(crate) fn deliveries(&self, limit: usize) -> Result<Vec<(Vec<u8>, Delivery)>, NodeError> {
        self.storage()
            .scan_prefix_limit(DELIVERY_PREFIX, limit)?
            .into_iter()
            .map(|(k, sealed)| {
                let delivery = self.keys().data_key.open_record(&k, &sealed)?;
                Ok((k, delivery))
            })
            .collect()
    }

    /// Events waiting for delivery, per endpoint id.
    pub fn webhook_backlog(&self) -> Result<std::collections::BTreeMap<String, usize>, NodeError> {
        let mut backlog = std::collections::BTreeMap::new();
        for (_, delivery) in self.scan::<Delivery>(DELIVERY_PREFIX)? {
            *backlog.entry(delivery.endpoint).or_default() += 1;
        }
        Ok(backlog)
    }
}

impl Tx<'_> {
    fn remove_endpoint(&mut self, webhook: &Webhook) -> Result<(), NodeError> {
        self.batch.delete(endpoint_key(&webhook.id));
        for (key, delivery) in self.scan::<Delivery>(DELIVERY_PREFIX)? {
            if delivery.endpoint == webhook.id {
                self.batch.delete(key);
            }
        }
        self.audit(
            AuditEvent::WebhookChanged {
                webhook: webhook.id.clone(),
                url: webhook.url.clone(),
                added: false,
            },
            None,
        );
        Ok(())
    }
}
