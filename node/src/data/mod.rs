//! Data that comes back to the person: what merchants deliver (receipts, orders,
//! warranties, loyalty points) and attestations issuers vouch for fields with.
//!
//! - Merchant side: [`Node::deliver`] seals data to a person and
//!   [`Node::attest`] vouches for a value the person granted this node.
//! - Person side: a [`Delivery`](passport_protocol::Delivery) is accepted by the
//!   person's [`DeliveryPolicy`] (by default only from merchants they hold a
//!   live grant with), within [`MAX_DELIVERED_PER_SENDER`] and
//!   [`MAX_DELIVERED_TOTAL`]; data lands under `dl/`, an attestation beside its
//!   field ([`attest`]). A refusal is audited with its reason and stores
//!   nothing else.

pub mod attest;

use std::collections::BTreeMap;

use passport_protocol::{
    Body, DataType, Delivered, Delivery, MessageId, PassportId, SealingPublicKey, Timestamp,
    Verified, delivery,
};
use serde::{Deserialize, Serialize};

use crate::{
    audit::AuditEvent,
    error::NodeError,
    node::{Node, Outgoing, Reply, Tx},
};

/// Most deliveries kept from one sender; more are refused until the person
/// deletes some.
pub const MAX_DELIVERED_PER_SENDER: usize = 256;

/// Most deliveries kept in all.
pub const MAX_DELIVERED_TOTAL: usize = 4096;

const DELIVERED_PREFIX: &[u8] = b"dl/";

/// `dl/<sender's key><delivery id>`: counted per sender by key alone, without
/// opening a record.
fn delivered_key(from: &PassportId, id: &MessageId) -> Vec<u8> {
    [DELIVERED_PREFIX, from.public_key_bytes(), id.as_bytes()].concat()
}

fn sender_prefix(from: &PassportId) -> Vec<u8> {
    [DELIVERED_PREFIX, from.public_key_bytes()].concat()
}

/// Whose deliveries the person accepts. In `config.toml`:
/// `accept_deliveries = "live_grant"` (the default), `"anyone"` or `"nobody"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryPolicy {
    /// From merchants the person holds a live grant with (the default): a shop
    /// they bought from can send the receipt; a stranger cannot fill the vault.
    #[default]
    LiveGrant,
    /// From any node.
    Anyone,
    /// From no one.
    Nobody,
}

/// Data a merchant delivered, as the person keeps it (encrypted at rest like
/// every record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveredData {
    /// The delivery message's id.
    pub id: MessageId,
    /// Who sent it.
    pub from: PassportId,
    /// What it is.
    #[serde(with = "data_type_name")]
    pub data_type: DataType,
    /// Its title.
    pub title: String,
    /// Its content.
    pub items: BTreeMap<String, String>,
    /// When it arrived.
    pub received_at: Timestamp,
}

mod data_type_name {
    use passport_protocol::DataType;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &DataType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.name())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DataType, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl Node {
    /// Data delivered to this person, newest first.
    pub fn delivered(&self) -> Result<Vec<DeliveredData>, NodeError> {
        let mut all: Vec<DeliveredData> = self
            .scan(DELIVERED_PREFIX)?
            .into_iter()
            .map(|(_, d)| d)
            .collect();
        all.sort_by_key(|d| std::cmp::Reverse(d.received_at));
        Ok(all)
    }

    /// Deletes delivered data.
    pub fn delete_delivered(&self, id: &MessageId, now: Timestamp) -> Result<(), NodeError> {
        self.tx(now, |tx| {
            let key = tx
                .node
                .storage()
                .scan_prefix(DELIVERED_PREFIX)?
                .into_iter()
                .map(|(key, _)| key)
                .find(|key| key.ends_with(id.as_bytes()))
                .ok_or(NodeError::UnknownDelivered(*id))?;
            let data = tx
                .get::<DeliveredData>(&key)?
                .ok_or(NodeError::UnknownDelivered(*id))?;
            tx.delete(key);
            tx.audit(
                AuditEvent::DataDeleted {
                    delivery: *id,
                    from: data.from,
                },
                None,
            );
            Ok(())
        })
    }

    /// Seals `content` of `data_type` to `person` (whose sealing key is
    /// `seal_to`, from their peer record) as a delivery. Returns it to send.
    pub fn deliver(
        &self,
        person: PassportId,
        seal_to: &SealingPublicKey,
        data_type: DataType,
        content: &Delivered,
        now: Timestamp,
    ) -> Result<Outgoing, NodeError> {
        if data_type == DataType::Attestation {
            return Err(NodeError::InvalidInput(
                "attestations are made with `passport attest`, not delivered as data".into(),
            ));
        }
        self.tx(now, |tx| {
            let out = tx.sign_delivery(person, seal_to, data_type, content)?;
            tx.audit(
                AuditEvent::DataDelivered {
                    to: person,
                    data_type: data_type.name().to_string(),
                    title: content.title.clone(),
                },
                Some(out.bytes.clone()),
            );
            Ok(out)
        })
    }
}

impl Tx<'_> {
    /// A signed delivery to `person`, kept in the outbox.
    pub(crate) fn sign_delivery(
        &mut self,
        person: PassportId,
        seal_to: &SealingPublicKey,
        data_type: DataType,
        content: &Delivered,
    ) -> Result<Outgoing, NodeError> {
        let lifetime = self.node.config().message_lifetime_secs;
        let claims =
            passport_protocol::Claims::new(self.me(), person, self.now, lifetime, &mut *self.rng);
        let sealed = delivery::seal_delivery(
            data_type,
            content,
            seal_to,
            &claims.id,
            &person,
            &mut *self.rng,
        )?;
        let bytes = passport_protocol::Message {
            claims,
            body: Body::Delivery(Delivery { data_type, sealed }),
        }
        .sign(&self.node.keys().identity)?;
        Ok(self.send_later(Outgoing {
            to: person,
            reply_to: Vec::new(),
            bytes,
        }))
    }

    /// A delivery arrived (person side). A refusal by policy, bound or content
    /// is audited and stored nothing else; it is returned through
    /// [`Tx::refuse_after_commit`].
    pub(crate) fn on_delivery(
        &mut self,
        verified: Verified,
        bytes: &[u8],
    ) -> Result<Reply, NodeError> {
        let from = *verified.signer();
        let message = verified.into_message();
        let Body::Delivery(d) = message.body else {
            unreachable!("dispatched on kind")
        };
        match self.accept_delivery(from, message.claims.id, &d) {
            Ok(()) => Ok(Reply::Nothing),
            Err(reason) => {
                self.audit(
                    AuditEvent::DeliveryRefused {
                        from,
                        data_type: d.data_type.name().to_string(),
                        reason: reason.clone(),
                    },
                    Some(bytes.to_vec()),
                );
                self.refuse_after_commit(NodeError::DeliveryRefused(reason));
                Ok(Reply::Nothing)
            }
        }
    }

    /// Checks and stores a delivery; `Err` is the reason it is refused.
    fn accept_delivery(
        &mut self,
        from: PassportId,
        id: MessageId,
        d: &Delivery,
    ) -> Result<(), String> {
        let policy = self.node.config().accept_deliveries;
        let allowed = match policy {
            DeliveryPolicy::Anyone => true,
            DeliveryPolicy::Nobody => false,
            DeliveryPolicy::LiveGrant => self
                .holds_live_grant_with(&from)
                .map_err(|e| e.to_string())?,
        };
        if !allowed {
            return Err(match policy {
                DeliveryPolicy::Nobody => "this person accepts no deliveries".into(),
                _ => "unsolicited: this person accepts deliveries only from merchants they hold a live grant with".into(),
            });
        }
        let content = delivery::open_delivery(
            d.data_type,
            &d.sealed,
            &self.node.keys().sealing,
            &id,
            &self.me(),
        )
        .map_err(|e| e.to_string())?;
        if d.data_type == DataType::Attestation {
            return self.accept_attestation(from, content);
        }
        // Counted by key, without opening a record.
        let count = |prefix: &[u8]| {
            self.node
                .storage()
                .scan_prefix(prefix)
                .map(|all| all.len())
                .map_err(|e| e.to_string())
        };
        if count(DELIVERED_PREFIX)? >= MAX_DELIVERED_TOTAL {
            return Err(format!(
                "this person keeps at most {MAX_DELIVERED_TOTAL} deliveries; they must delete some first"
            ));
        }
        if count(&sender_prefix(&from))? >= MAX_DELIVERED_PER_SENDER {
            return Err(format!(
                "this person keeps at most {MAX_DELIVERED_PER_SENDER} deliveries from one sender"
            ));
        }
        let data = DeliveredData {
            id,
            from,
            data_type: d.data_type,
            title: content.title.clone(),
            items: content.items.clone(),
            received_at: self.now,
        };
        self.put(delivered_key(&from, &id), &data);
        self.audit(
            AuditEvent::DataReceived {
                delivery: id,
                from,
                data_type: d.data_type.name().to_string(),
                title: content.title,
            },
            None,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests;
