//! The mailbox protocol, `/passport/mailbox/1`: request-response beside the
//! message protocol, with its own codec and limits.
//!
//! A request or a response is one CBOR item in a frame with a 4-byte big-endian
//! length (the enums below in serde's externally tagged form). A drain or delete
//! answers a challenge: the requester asks for one ([`MailboxRequest::Challenge`]),
//! signs it into its drain, and every drain or delete answer carries the next one.
//! A challenge is kept per peer for [`CHALLENGE_LIFETIME`] and used once.

use std::{collections::HashMap, sync::Arc, time::Duration};

use libp2p::{
    PeerId, StreamProtocol,
    request_response::{self, ResponseChannel},
};
use passport_protocol::mailbox::{MAX_MAILBOX_MESSAGE_BYTES, NONCE_BYTES};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, mpsc};

use super::{
    cbor_codec::CborCodec,
    codec::{Waiting, settle},
    config::NetConfig,
    limit,
};
use crate::{
    clock::Instant,
    mailbox::{Deposited, Held, MailboxError, MailboxSettings},
    metrics::Metrics,
    node::{Node, system_now as now},
};

/// The mailbox protocol's name.
pub const MAILBOX_PROTOCOL: StreamProtocol = StreamProtocol::new("/passport/mailbox/1");

/// About the most sealed bytes one drain answer carries (it carries one deposit
/// whatever its size).
pub const MAX_BATCH_BYTES: usize = 512 * 1024;

/// Largest frame: a batch, plus one more deposit and room for the CBOR around it.
const MAX_MAILBOX_FRAME: usize = MAX_BATCH_BYTES + 2 * MAX_MAILBOX_MESSAGE_BYTES;

/// How long a challenge may be answered.
pub const CHALLENGE_LIFETIME: Duration = Duration::from_secs(60);

/// Peers holding a challenge at once.
const MAX_CHALLENGES: usize = 4096;

/// What a peer asks a mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailboxRequest {
    /// A challenge to answer in a drain or delete.
    Challenge,
    /// Hold this signed deposit.
    Deposit(#[serde(with = "serde_bytes")] Vec<u8>),
    /// A signed drain: what is held for me?
    Drain(#[serde(with = "serde_bytes")] Vec<u8>),
    /// A signed delete: I have committed these.
    Delete(#[serde(with = "serde_bytes")] Vec<u8>),
}

/// What a mailbox answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailboxResponse {
    /// The challenge, [`NONCE_BYTES`] bytes.
    Challenge(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The deposit is held, durably; `already` if it was before.
    Deposited {
        /// This very deposit was held (or delivered) before.
        already: bool,
    },
    /// What is held for the requester, oldest first.
    Batch {
        /// The deposits.
        held: Vec<Held>,
        /// More is held than this answer carries: drain again.
        more: bool,
        /// The next challenge.
        #[serde(with = "serde_bytes")]
        next: Vec<u8>,
    },
    /// How many of the named deposits were held and are dropped now.
    Deleted {
        /// Deposits dropped.
        count: u32,
        /// The next challenge.
        #[serde(with = "serde_bytes")]
        next: Vec<u8>,
    },
    /// Refused, with the reason for a person to read. Final for this request.
    Refused(String),
    /// Not handled now (the sender's rate or the mailbox's load): retry later.
    Busy,
}

impl MailboxResponse {
    /// The challenge an answer carries, if any.
    pub fn challenge(&self) -> Option<[u8; NONCE_BYTES]> {
        match self {
            Self::Challenge(n) | Self::Batch { next: n, .. } | Self::Deleted { next: n, .. } => {
                n.as_slice().try_into().ok()
            }
            _ => None,
        }
    }
}

/// The codec of the mailbox protocol.
pub type MailboxCodec = CborCodec<MailboxRequest, MailboxResponse>;

/// A mailbox codec with the protocol's frame cap.
pub(super) fn mailbox_codec() -> MailboxCodec {
    CborCodec::new(MAX_MAILBOX_FRAME)
}

/// This node's mailbox requests waiting for their answers.
pub(super) type MailboxRequests = Waiting<MailboxResponse>;

/// An answer to an inbound mailbox request, ready for the swarm to send.
pub(super) type MailboxAnswer = (ResponseChannel<MailboxResponse>, MailboxResponse);

/// A mailbox operation that reaches the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Deposit,
    Drain,
    Delete,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Self::Deposit => "mailbox_deposit",
            Self::Drain => "mailbox_drain",
            Self::Delete => "mailbox_delete",
        }
    }
}

/// The serving side: challenges, limits, and handing requests to the node.
pub(super) struct MailboxService {
    node: Node,
    /// The `[mailbox]` settings, shared with the tasks that handle requests.
    settings: Arc<MailboxSettings>,
    challenges: HashMap<PeerId, ([u8; NONCE_BYTES], Instant)>,
    rate: limit::RateLimiter<PeerId>,
    in_flight: Arc<Semaphore>,
    answers_tx: mpsc::Sender<MailboxAnswer>,
    metrics: Metrics,
}

impl MailboxService {
    pub(super) fn new(
        node: Node,
        config: &NetConfig,
        answers_tx: mpsc::Sender<MailboxAnswer>,
        metrics: Metrics,
    ) -> Self {
        Self {
            node,
            settings: Arc::new(config.mailbox.clone()),
            challenges: HashMap::new(),
            rate: limit::RateLimiter::new(config.peer_burst, config.peer_rate_per_sec, 4096),
            in_flight: Arc::new(Semaphore::new(config.max_inbound_in_flight)),
            answers_tx,
            metrics,
        }
    }

    /// A fresh challenge for `peer`, replacing any it held; `None` when too many
    /// peers hold one.
    fn challenge(&mut self, peer: PeerId, at: Instant) -> Option<[u8; NONCE_BYTES]> {
        if !self.challenges.contains_key(&peer) && self.challenges.len() >= MAX_CHALLENGES {
            self.challenges
                .retain(|_, (_, given)| at.saturating_duration_since(*given) < CHALLENGE_LIFETIME);
            if self.challenges.len() >= MAX_CHALLENGES {
                return None;
            }
        }
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        self.challenges.insert(peer, (nonce, at));
        Some(nonce)
    }

    /// Takes `peer`'s challenge, if it holds a live one.
    fn take_challenge(&mut self, peer: &PeerId, at: Instant) -> Option<[u8; NONCE_BYTES]> {
        let (nonce, given) = self.challenges.remove(peer)?;
        (at.saturating_duration_since(given) < CHALLENGE_LIFETIME).then_some(nonce)
    }

    /// Handles one event of the `mailbox` behaviour.
    pub(super) fn on_event(
        &mut self,
        behaviour: &mut request_response::Behaviour<MailboxCodec>,
        requests: &mut MailboxRequests,
        event: request_response::Event<MailboxRequest, MailboxResponse>,
    ) {
        if let Some((peer, request, channel)) = settle(requests, event) {
            self.on_request(behaviour, peer, request, channel);
        }
    }

    fn on_request(
        &mut self,
        behaviour: &mut request_response::Behaviour<MailboxCodec>,
        peer: PeerId,
        request: MailboxRequest,
        channel: ResponseChannel<MailboxResponse>,
    ) {
        let at = Instant::now();
        let settings = self.settings.clone();
        if !settings.serve {
            let refusal = MailboxResponse::Refused(MailboxError::NotServing.to_string());
            let _ = behaviour.send_response(channel, refusal);
            return;
        }
        let Some(permit) = limit::admit(&mut self.rate, &self.in_flight, &peer, at) else {
            self.metrics.count_throttled();
            let _ = behaviour.send_response(channel, MailboxResponse::Busy);
            return;
        };
        let (op, signed) = match request {
            MailboxRequest::Challenge => {
                let answer = match self.challenge(peer, at) {
                    Some(nonce) => MailboxResponse::Challenge(nonce.to_vec()),
                    None => MailboxResponse::Busy,
                };
                let _ = behaviour.send_response(channel, answer);
                return;
            }
            MailboxRequest::Deposit(signed) => (Op::Deposit, signed),
            MailboxRequest::Drain(signed) => (Op::Drain, signed),
            MailboxRequest::Delete(signed) => (Op::Delete, signed),
        };
        let nonce = if op == Op::Deposit {
            [0; NONCE_BYTES]
        } else {
            let Some(nonce) = self.take_challenge(&peer, at) else {
                let refusal = MailboxResponse::Refused(MailboxError::BadChallenge.to_string());
                let _ = behaviour.send_response(channel, refusal);
                return;
            };
            nonce
        };
        // The next challenge goes out with a drain's or delete's answer, so a drain
        // loop needs no extra round trip.
        let next = match op {
            Op::Deposit => Vec::new(),
            Op::Drain | Op::Delete => self
                .challenge(peer, at)
                .map(|n| n.to_vec())
                .unwrap_or_default(),
        };
        let node = self.node.clone();
        let answers = self.answers_tx.clone();
        let metrics = self.metrics.clone();
        let requester = peer.to_bytes();
        tokio::task::spawn_blocking(move || {
            let now = now();
            let response = match op {
                Op::Deposit => node
                    .mailbox_deposit(&settings, &signed, now)
                    .map(|deposited| MailboxResponse::Deposited {
                        already: deposited == Deposited::AlreadyHeld,
                    }),
                Op::Drain => node
                    .mailbox_drain(&settings, &signed, &requester, &nonce, MAX_BATCH_BYTES, now)
                    .map(|(held, more)| MailboxResponse::Batch { held, more, next }),
                Op::Delete => node
                    .mailbox_delete(&settings, &signed, &requester, &nonce, now)
                    .map(|count| MailboxResponse::Deleted {
                        count: u32::try_from(count).unwrap_or(u32::MAX),
                        next,
                    }),
            };
            let response = response.unwrap_or_else(|e| {
                tracing::debug!(%peer, error = %e, "refused a mailbox request");
                MailboxResponse::Refused(e.to_string())
            });
            metrics.message(
                op.name(),
                match &response {
                    MailboxResponse::Refused(_) => "refused",
                    _ => "accepted",
                },
            );
            drop(permit);
            let _ = answers.blocking_send((channel, response));
        });
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use futures::io::Cursor;
    use passport_protocol::{MessageId, Timestamp};

    use super::*;
    use crate::net::cbor_codec::{read_item, write_item};

    #[test]
    fn requests_and_answers_round_trip_and_oversize_frames_are_refused_unread() {
        futures::executor::block_on(async {
            let held = Held {
                id: MessageId::from_bytes([1; 16]),
                from: passport_protocol::IdentityKey::from_secret_bytes(&[2; 32]).id(),
                at: Timestamp::from_secs(5),
                expires_at: Timestamp::from_secs(9),
                sealed: vec![7; 40],
            };
            for response in [
                MailboxResponse::Challenge(vec![3; 32]),
                MailboxResponse::Deposited { already: true },
                MailboxResponse::Batch {
                    held: vec![held],
                    more: false,
                    next: vec![4; 32],
                },
                MailboxResponse::Deleted {
                    count: 1,
                    next: vec![5; 32],
                },
                MailboxResponse::Refused("mailbox full for this recipient".into()),
                MailboxResponse::Busy,
            ] {
                let mut wire = Cursor::new(Vec::new());
                write_item(&mut wire, &response, MAX_MAILBOX_FRAME)
                    .await
                    .unwrap();
                let mut wire = Cursor::new(wire.into_inner());
                let read: MailboxResponse = read_item(&mut wire, MAX_MAILBOX_FRAME).await.unwrap();
                assert_eq!(read, response);
            }
            let mut wire = Cursor::new(Vec::new());
            write_item(
                &mut wire,
                &MailboxRequest::Drain(vec![1, 2]),
                MAX_MAILBOX_FRAME,
            )
            .await
            .unwrap();
            let mut wire = Cursor::new(wire.into_inner());
            let read: MailboxRequest = read_item(&mut wire, MAX_MAILBOX_FRAME).await.unwrap();
            assert_eq!(read, MailboxRequest::Drain(vec![1, 2]));
            // A claimed length over the cap is refused before anything is read.
            let mut claim = ((MAX_MAILBOX_FRAME + 1) as u32).to_be_bytes().to_vec();
            claim.extend([0u8; 8]);
            let refused =
                read_item::<MailboxRequest, _>(&mut Cursor::new(claim), MAX_MAILBOX_FRAME).await;
            assert_eq!(refused.unwrap_err().kind(), io::ErrorKind::InvalidData);
            // Not CBOR of a request: refused, not a panic.
            let mut junk = 3u32.to_be_bytes().to_vec();
            junk.extend([0xff, 0x00, 0x01]);
            assert!(
                read_item::<MailboxRequest, _>(&mut Cursor::new(junk), MAX_MAILBOX_FRAME)
                    .await
                    .is_err()
            );
        });
    }
}
