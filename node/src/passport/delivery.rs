//! Delivering the messages a node makes (decisions, updates, revocations, erase
//! requests, receipts): node policy on top of [`net`](crate::net), which only
//! moves bytes.
//!
//! Every such message is already in the node's durable outbox when it reaches
//! here ([`Node::outbox`]). [`Delivery`] sends it on a task of its own, retries
//! while the other node is unreachable until the message expires, feeds any signed
//! answer (a receipt) back into the node, and takes the message out of the outbox
//! once the outcome is final. Its tasks live in one bounded, joined set: at most
//! [`MAX_DELIVERIES`] run at once (a message beyond that waits in the outbox for
//! the next sweep), and [`Delivery::shutdown`] waits for them.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use passport_protocol::PassportId;
use tokio::{sync::oneshot, task::JoinSet};

use crate::{
    net::{Client, NetError, Response},
    node::{Node, Outgoing, system_now as now},
};

use super::error::PassportError;

/// Deliveries in flight at once; more wait in the durable outbox.
pub const MAX_DELIVERIES: usize = 1024;

/// How long [`Delivery::shutdown`] lets deliveries end on their own before it
/// stops them (they stay in the outbox for the next start).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// When to try again after the other node could not be reached.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    /// The first wait. Default 1 s.
    pub(crate) initial: Duration,
    /// The longest wait. Default 60 s.
    pub(crate) max: Duration,
}

impl From<&crate::net::NetConfig> for Backoff {
    fn from(config: &crate::net::NetConfig) -> Self {
        Self {
            initial: config.retry_initial,
            max: config.retry_max,
        }
    }
}

/// A message on its way. Dropping it leaves the delivery running.
#[derive(Debug)]
pub struct Sending {
    /// The recipient.
    pub to: PassportId,
    outcome: oneshot::Receiver<Result<Response, PassportError>>,
}

impl Sending {
    /// Waits for the final outcome: the other node's answer, a refusal, or the
    /// message expiring undelivered. Without a network the message waits in the
    /// outbox and this says so at once ([`PassportError::Offline`]).
    pub async fn delivered(self) -> Result<Response, PassportError> {
        self.outcome
            .await
            .unwrap_or(Err(PassportError::Net(NetError::Stopped)))
    }
}

/// The deliveries of one node; cheap to clone.
#[derive(Clone)]
pub(crate) struct Delivery {
    node: Node,
    client: Option<Client>,
    backoff: Backoff,
    /// Deliveries in flight at once.
    limit: usize,
    tasks: Arc<Mutex<Tasks>>,
}

#[derive(Default)]
struct Tasks {
    set: JoinSet<()>,
    /// The bytes' outbox keys of the messages being delivered, so that a sweep
    /// does not start a second delivery of the same message.
    in_flight: HashSet<Vec<u8>>,
    closed: bool,
}

impl Delivery {
    /// Deliveries for `node` over `client`, at most `limit` at once; with no
    /// client, messages wait in the outbox.
    pub(crate) fn new(node: Node, client: Option<Client>, backoff: Backoff, limit: usize) -> Self {
        Self {
            node,
            client,
            backoff,
            limit,
            tasks: Arc::new(Mutex::new(Tasks::default())),
        }
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, Tasks> {
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Deliveries for a node without a network: messages wait in the outbox.
    pub(crate) fn offline(node: Node) -> Self {
        // Never used without a client; any value would do.
        let backoff = Backoff::from(&crate::net::NetConfig::default());
        Self::new(node, None, backoff, MAX_DELIVERIES)
    }

    /// Delivers `outgoing` on its own task (see the module docs).
    pub(crate) fn spawn(&self, outgoing: Outgoing) -> Sending {
        let (reply, outcome) = oneshot::channel();
        let sending = Sending {
            to: outgoing.to,
            outcome,
        };
        let Some(client) = self.client.clone() else {
            let _ = reply.send(Err(PassportError::Offline));
            return sending;
        };
        let key = crate::node::outbox_key(&outgoing.bytes);
        let mut tasks = self.tasks();
        // Reap finished tasks so the set holds only running ones.
        while tasks.set.try_join_next().is_some() {}
        if tasks.closed {
            let _ = reply.send(Err(PassportError::Net(NetError::Stopped)));
            return sending;
        }
        if tasks.in_flight.contains(&key) {
            let _ = reply.send(Err(PassportError::AlreadySending));
            return sending;
        }
        if tasks.set.len() >= self.limit {
            tracing::warn!(
                to = %outgoing.to,
                "too many deliveries in flight; the message waits in the outbox for the next sweep"
            );
            let _ = reply.send(Err(PassportError::Net(NetError::Busy)));
            return sending;
        }
        tasks.in_flight.insert(key.clone());
        let this = self.clone();
        tasks.set.spawn(async move {
            let to = outgoing.to;
            let result = this.deliver_durably(&client, outgoing).await;
            this.tasks().in_flight.remove(&key);
            if let Err(e) = &result {
                tracing::warn!(%to, error = %e, "a message could not be delivered");
            }
            let _ = reply.send(result.map_err(PassportError::from));
        });
        sending
    }

    /// Starts delivering everything the outbox holds that is not being delivered
    /// already: messages made before the node last stopped, or left over when too
    /// many were in flight. Returns how many the outbox held.
    pub(crate) async fn resume(&self) -> Result<usize, PassportError> {
        if self.client.is_none() {
            return Ok(0);
        }
        let reading = self.node.clone();
        let pending = tokio::task::spawn_blocking(move || reading.outbox())
            .await
            .map_err(|e| PassportError::Interrupted(e.to_string()))??;
        let count = pending.len();
        for out in pending {
            // One already being delivered is not started twice (see `spawn`).
            drop(self.spawn(out));
        }
        Ok(count)
    }

    /// Sends once (or deposits at the recipient's mailboxes when it is offline) and
    /// feeds a signed answer back into the node.
    async fn deliver(&self, client: &Client, outgoing: Outgoing) -> Result<Response, NetError> {
        let record = client.lookup(outgoing.to).await?;
        let response =
            super::mailbox::send_or_deposit(&self.node, client, &record, outgoing.bytes).await?;
        match &response {
            Response::Message(bytes) => {
                let (node, bytes) = (self.node.clone(), bytes.clone());
                tokio::task::spawn_blocking(move || node.receive(&bytes, now()))
                    .await
                    .map_err(|e| NetError::Interrupted(e.to_string()))??;
            }
            Response::Refused(reason) => return Err(NetError::Refused(reason.clone())),
            Response::Busy => return Err(NetError::Busy),
            Response::Pending(_)
            | Response::Accepted
            | Response::AlreadyReceived
            | Response::Queued(_) => {}
        }
        Ok(response)
    }

    /// [`Delivery::deliver`], retried with exponential backoff while the other node
    /// is unreachable, until the message itself expires. A refusal is final.
    async fn deliver_with_retry(
        &self,
        client: &Client,
        outgoing: Outgoing,
    ) -> Result<Response, NetError> {
        let expires_at = passport_protocol::decode_trusted(&outgoing.bytes)?
            .claims
            .expires_at;
        let mut wait = self.backoff.initial;
        loop {
            match self.deliver(client, outgoing.clone()).await {
                Err(
                    NetError::NotFound(_)
                    | NetError::Timeout(_)
                    | NetError::Unreachable(_)
                    | NetError::Busy,
                ) if now() < expires_at => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(self.backoff.max);
                }
                other => return other,
            }
        }
    }

    /// [`Delivery::deliver_with_retry`], then takes the message out of the outbox
    /// once the outcome is final: delivered, refused, or expired. If the network
    /// stops first, the message stays in the outbox for the next start.
    async fn deliver_durably(
        &self,
        client: &Client,
        outgoing: Outgoing,
    ) -> Result<Response, NetError> {
        let result = self.deliver_with_retry(client, outgoing.clone()).await;
        if matches!(result, Err(NetError::Stopped)) {
            return result;
        }
        let (settling, at) = (self.node.clone(), now());
        let settled = tokio::task::spawn_blocking(move || settling.outbox_done(&outgoing, at))
            .await
            .map_err(|e| NetError::Interrupted(e.to_string()))?;
        if let Err(e) = settled {
            tracing::warn!(error = %e, "could not take a delivered message out of the outbox");
        }
        result
    }

    /// Takes no new deliveries, waits a little for those running (the network is
    /// stopped first, so they end quickly), then stops the rest: they stay in the
    /// outbox for the next start.
    pub(crate) async fn shutdown(&self) {
        let mut set = {
            let mut tasks = self.tasks();
            tasks.closed = true;
            std::mem::take(&mut tasks.set)
        };
        let joined = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while set.join_next().await.is_some() {}
        })
        .await;
        if joined.is_err() {
            tracing::info!(
                count = set.len(),
                "stopping deliveries still retrying; they stay in the outbox"
            );
            set.shutdown().await;
        }
        // Stopped tasks could not take themselves off the list.
        self.tasks().in_flight.clear();
    }

    /// Deliveries running now.
    pub(crate) fn in_flight(&self) -> usize {
        self.tasks().in_flight.len()
    }
}
