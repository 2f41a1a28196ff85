//! What happened, told after it was committed: the typed event stream that pages,
//! backends and the simulator follow instead of polling the store.
//!
//! Every transaction that writes an audit entry emits that entry's [`AuditEvent`]
//! once the transaction is durable (never before: a subscriber never sees a change
//! that a crash could undo). Events carry ids, field names and the words a merchant
//! or person chose (purpose, refusal reason), never field values.
//!
//! Subscribers are bounded: each has room for [`EVENT_CAPACITY`] events. One that
//! falls further behind gets [`Event::Lagged`] with the count it missed instead of
//! stalling the node, and should reread whatever state it shows.

use std::{pin::Pin, sync::Arc};

use futures::Stream;
use passport_protocol::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::audit::AuditEvent;

/// Events a subscriber may fall behind by before it is told it lagged.
pub const EVENT_CAPACITY: usize = 1024;

/// Something that happened on this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum Event {
    /// A change was committed and is durable.
    Committed {
        /// Its entry's sequence number in the audit log (`passport audit`).
        seq: u64,
        /// When it happened.
        at: Timestamp,
        /// What happened: a request arrived or was sent, decided, a grant issued or
        /// received, a refusal, an update, a revocation, an erasure, a receipt, an
        /// expiry, a policy change, an API token made or revoked (by id).
        event: AuditEvent,
    },
    /// A change with no audit entry was committed (a field, its tags, a petname,
    /// the outbox), or one that was under way when this subscriber joined: whoever
    /// shows the store rereads it. Carries nothing.
    StoreChanged,
    /// What a shop's backend is told, as its webhooks are (see [`crate::webhook`]).
    Webhook {
        /// The `webhook-id` the same event carries.
        id: String,
        /// When it happened.
        at: Timestamp,
        /// Its `type` and `data`.
        #[serde(flatten)]
        payload: crate::webhook::WebhookPayload,
    },
    /// This subscriber fell behind and missed `missed` events: reread the state it
    /// shows.
    Lagged {
        /// How many events it missed.
        missed: u64,
    },
}

/// A subscription to a node's events: a [`Stream`] that ends when the node is
/// dropped.
pub type Events = Pin<Box<dyn Stream<Item = Event> + Send>>;

/// Where a node's events go out: one sender, any number of bounded subscribers.
///
/// The channel holds `Arc`s: its [`EVENT_CAPACITY`] slots are allocated with
/// it, and at an event's size they took 180 KiB per node, paid by every one of
/// a simulation's thousands of nodes.
#[derive(Debug)]
pub(crate) struct EventSender(broadcast::Sender<Arc<Event>>);

impl Default for EventSender {
    fn default() -> Self {
        Self(broadcast::Sender::new(EVENT_CAPACITY))
    }
}

impl EventSender {
    /// Tells every subscriber; a node with no subscribers drops the events.
    pub(crate) fn send(&self, events: Vec<Event>) {
        if !self.has_subscribers() {
            return;
        }
        for event in events {
            // An error means the last subscriber just left: nothing to do.
            let _ = self.0.send(Arc::new(event));
        }
    }

    /// Whether anyone listens now.
    pub(crate) fn has_subscribers(&self) -> bool {
        self.0.receiver_count() > 0
    }

    /// A new subscriber, seeing events committed from now on.
    pub(crate) fn subscribe(&self) -> Events {
        Box::pin(futures::stream::unfold(
            self.0.subscribe(),
            |mut receiver| async move {
                let event = match receiver.recv().await {
                    Ok(event) => Arc::unwrap_or_clone(event),
                    Err(broadcast::error::RecvError::Lagged(missed)) => Event::Lagged { missed },
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                Some((event, receiver))
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt as _;
    use passport_protocol::{IdentityKey, MessageId};
    use rand::SeedableRng as _;

    use super::*;

    /// The same event for the same `seq`, so that tests can compare.
    fn committed(seq: u64) -> Event {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seq);
        Event::Committed {
            seq,
            at: Timestamp::from_secs(seq),
            event: AuditEvent::RequestExpired {
                request: MessageId::random(&mut rng),
                from: IdentityKey::generate(&mut rng).id(),
            },
        }
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_it_lagged_and_then_sees_what_is_new() {
        let sender = EventSender::default();
        let mut slow = sender.subscribe();
        let total = EVENT_CAPACITY as u64 + 10;
        sender.send((0..total).map(committed).collect());
        assert_eq!(slow.next().await, Some(Event::Lagged { missed: 10 }));
        assert_eq!(slow.next().await, Some(committed(10)));
        // A subscriber that keeps up sees every event, in order.
        let mut fast = sender.subscribe();
        sender.send(vec![committed(1), committed(2)]);
        assert_eq!(fast.next().await, Some(committed(1)));
        assert_eq!(fast.next().await, Some(committed(2)));
    }

    #[tokio::test]
    async fn the_stream_ends_when_the_node_goes() {
        let sender = EventSender::default();
        let mut events = sender.subscribe();
        drop(sender);
        assert_eq!(events.next().await, None);
    }

    #[tokio::test]
    async fn a_commit_tells_its_audit_events_and_one_without_any_says_the_store_changed() {
        use futures::FutureExt as _;

        use crate::{Node, NodeConfig, consent::Policy};
        let node = Node::in_memory(NodeConfig::default()).unwrap();
        let mut events = node.subscribe();
        let now = Timestamp::from_secs(1_800_000_000);
        node.set_field(
            "name.given".parse().unwrap(),
            passport_protocol::FieldValue::Text("Ada".into()),
            now,
        )
        .unwrap();
        assert_eq!(events.next().await, Some(Event::StoreChanged));
        let policy = node
            .add_policy(Policy::allow_normal_fields(None), now)
            .unwrap();
        let Some(Event::Committed { seq, at, event }) = events.next().await else {
            panic!("expected the policy change");
        };
        assert_eq!((seq, at), (0, now));
        assert_eq!(
            event,
            AuditEvent::PolicyChanged {
                policy: policy.id,
                added: true
            }
        );
        // A read, and a transaction that fails, tell nothing.
        node.fields().unwrap();
        assert!(node.remove_policy(policy.id + 1, now).is_err());
        assert_eq!(events.next().now_or_never(), None);
        assert_eq!(node.commits(), 2);
    }

    #[test]
    fn events_serialize_with_their_kind() {
        let json = serde_json::to_value(committed(3)).unwrap();
        assert_eq!(json["kind"], "committed");
        assert_eq!(json["event"]["event"], "request_expired");
        let lagged = serde_json::to_value(Event::Lagged { missed: 4 }).unwrap();
        assert_eq!(lagged, serde_json::json!({ "kind": "lagged", "missed": 4 }));
    }
}
