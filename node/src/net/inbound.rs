//! Request-response traffic as it comes in: signed messages from peers (rate- and
//! load-limited, then handed to the node off the swarm's task) and the answers to
//! this node's own requests.

use std::sync::Arc;

use libp2p::{
    PeerId,
    request_response::{self, ResponseChannel},
};
use passport_protocol::ProtocolError;
use tokio::sync::{Semaphore, mpsc};

use super::{
    codec::{Codec, Response, Waiting, settle},
    config::NetConfig,
    limit,
};
use crate::{
    error::NodeError,
    metrics::Metrics,
    node::{Node, Reply, system_now as now},
};

/// This node's requests waiting for their answers, by request id.
pub(super) type Requests = Waiting<Response>;

/// An answer to an inbound message, ready for the swarm to send.
pub(super) type Answer = (ResponseChannel<Response>, Response);

/// What handling inbound messages needs: the node, the limits, and the way back to
/// the event loop for answers.
pub(super) struct Inbound {
    node: Node,
    /// Where answers go once the node has handled a message, for the event loop to
    /// send.
    answers_tx: mpsc::Sender<Answer>,
    /// Per-peer token buckets for inbound messages.
    rate: limit::RateLimiter<PeerId>,
    /// Bounds the inbound messages being handled at once.
    in_flight: Arc<Semaphore>,
    /// Counters for `/metrics` and the network's status.
    metrics: Metrics,
}

impl Inbound {
    /// Handles inbound messages for `node` within `config`'s limits, sending the
    /// answers on `answers_tx`.
    pub(super) fn new(
        node: Node,
        config: &NetConfig,
        answers_tx: mpsc::Sender<Answer>,
        metrics: Metrics,
    ) -> Self {
        Self {
            node,
            answers_tx,
            rate: limit::RateLimiter::new(config.peer_burst, config.peer_rate_per_sec, 4096),
            in_flight: Arc::new(Semaphore::new(config.max_inbound_in_flight)),
            metrics,
        }
    }

    /// The bound on inbound messages being handled at once: whoever holds every
    /// permit knows none is being handled.
    pub(super) fn in_flight(&self) -> Arc<Semaphore> {
        self.in_flight.clone()
    }

    /// Handles one event of the `messages` behaviour: an inbound request is answered
    /// busy at once or handed to the node; an answer to one of `requests` (or its
    /// failure) goes to whoever waits for it.
    pub(super) fn on_message_event(
        &mut self,
        messages: &mut request_response::Behaviour<Codec>,
        requests: &mut Requests,
        event: request_response::Event<Vec<u8>, Response>,
    ) {
        let Some((peer, request, channel)) = settle(requests, event) else {
            return;
        };
        let admitted = limit::admit(
            &mut self.rate,
            &self.in_flight,
            &peer,
            crate::clock::Instant::now(),
        );
        let Some(permit) = admitted else {
            self.metrics.count_throttled();
            self.metrics.message("unknown", "busy");
            let refusal = Response::Busy;
            let _ = messages.send_response(channel, refusal);
            return;
        };
        // The node's work may wait on disk: off the swarm's task.
        let node = self.node.clone();
        let answers = self.answers_tx.clone();
        let metrics = self.metrics.clone();
        tokio::task::spawn_blocking(move || {
            let verified = passport_protocol::verify_offline(&request);
            let kind = verified
                .as_ref()
                .map_or("invalid", |m| m.body.kind().name());
            let handled = verified
                .map_err(NodeError::from)
                .and_then(|message| node.receive_verified(message, &request, now()));
            let response = match handled {
                Ok(Reply::Message(bytes)) => Response::Message(bytes),
                Ok(Reply::Pending(id)) => Response::Pending(id),
                Ok(Reply::Nothing) => Response::Accepted,
                // Idempotent delivery: a retry of something already done.
                Err(NodeError::Protocol(ProtocolError::Replayed { .. })) => {
                    Response::AlreadyReceived
                }
                Err(e) => {
                    metrics.rejection(match &e {
                        NodeError::Protocol(p) => p.reason(),
                        _ => "node",
                    });
                    tracing::debug!(%peer, error = %e, "refused a message");
                    Response::Refused(e.to_string())
                }
            };
            let result = match &response {
                Response::Message(_) => "message",
                Response::Pending(_) => "pending",
                Response::Accepted => "accepted",
                Response::Refused(_) => "refused",
                Response::Busy => "busy",
                Response::AlreadyReceived => "already_received",
                Response::Queued(_) => "queued",
            };
            metrics.message(kind, result);
            drop(permit);
            let _ = answers.blocking_send((channel, response));
        });
    }
}
