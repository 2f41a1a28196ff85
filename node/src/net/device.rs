//! The device protocol, `/passport/device/1`: a linked device pairs with its home
//! node and sends it signed calls (see [`crate::device`]). Request-response beside
//! the message protocol, CBOR frames ([`CborCodec`]).
//!
//! The event loop only admits (per-peer rate, a bounded queue) and hands each
//! request, with the connection's PeerId, to whoever serves devices: the
//! [`Passport`](crate::Passport) handle, which checks and does the work
//! ([`crate::passport`]'s device task). A node that serves none refuses.

use crate::clock::Instant;

use libp2p::{
    PeerId, StreamProtocol,
    request_response::{self, ResponseChannel},
};
use passport_protocol::device::MAX_DEVICE_MESSAGE_BYTES;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::{
    cbor_codec::CborCodec,
    codec::{Waiting, settle},
    config::NetConfig,
    limit,
};

/// The device protocol's name.
pub const DEVICE_PROTOCOL: StreamProtocol = StreamProtocol::new("/passport/device/1");

/// Largest answer a call gets: the API's answer (an inbox, say) and its frame.
pub const MAX_DEVICE_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Device requests waiting for the handle at once; more are answered "busy".
const DEVICE_QUEUE: usize = 64;

/// What a device asks its home node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceRequest {
    /// A signed pairing (kind 13): make me a device of this passport.
    Pair(#[serde(with = "serde_bytes")] Vec<u8>),
    /// A signed call (kind 14).
    Call(#[serde(with = "serde_bytes")] Vec<u8>),
}

/// What the home node answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceResponse {
    /// Paired: the signed delegation the device keeps and carries in its calls.
    Paired(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The call's answer: the local API's status and body.
    Answer {
        /// The HTTP status.
        status: u16,
        /// The body (JSON).
        #[serde(with = "serde_bytes")]
        body: Vec<u8>,
    },
    /// Refused, with the reason for a person to read. Final for this request.
    Refused(String),
    /// Not handled now: retry later.
    Busy,
}

/// The codec of the device protocol.
pub type DeviceCodec = CborCodec<DeviceRequest, DeviceResponse>;

/// A device codec with the protocol's frame cap.
pub(super) fn device_codec() -> DeviceCodec {
    CborCodec::new(MAX_DEVICE_ANSWER_BYTES.max(MAX_DEVICE_MESSAGE_BYTES + 64))
}

/// One device request for the handle to serve: answer on `reply`.
#[derive(Debug)]
pub struct DeviceJob {
    /// The connection's remote end, which the signed request must name.
    pub peer: PeerId,
    /// What it asks.
    pub request: DeviceRequest,
    /// Where the answer goes.
    pub reply: oneshot::Sender<DeviceResponse>,
}

/// This node's device requests waiting for their answers.
pub(super) type DeviceRequests = Waiting<DeviceResponse>;

/// An answer to an inbound device request, ready for the swarm to send.
pub(super) type DeviceAnswer = (ResponseChannel<DeviceResponse>, DeviceResponse);

/// The serving side: admission and hand-off.
pub(super) struct DeviceService {
    jobs: mpsc::Sender<DeviceJob>,
    rate: limit::RateLimiter<PeerId>,
    answers: mpsc::Sender<DeviceAnswer>,
}

impl DeviceService {
    /// The service, and the receiver of its jobs (taken by the handle; dropped, it
    /// makes every request refused).
    pub(super) fn new(
        config: &NetConfig,
        answers: mpsc::Sender<DeviceAnswer>,
    ) -> (Self, mpsc::Receiver<DeviceJob>) {
        let (jobs, receiver) = mpsc::channel(DEVICE_QUEUE);
        let service = Self {
            jobs,
            rate: limit::RateLimiter::new(config.peer_burst, config.peer_rate_per_sec, 4096),
            answers,
        };
        (service, receiver)
    }

    /// Handles one event of the `device` behaviour.
    pub(super) fn on_event(
        &mut self,
        behaviour: &mut request_response::Behaviour<DeviceCodec>,
        requests: &mut DeviceRequests,
        event: request_response::Event<DeviceRequest, DeviceResponse>,
    ) {
        let Some((peer, request, channel)) = settle(requests, event) else {
            return;
        };
        if !self.rate.allow(&peer, Instant::now()) {
            let _ = behaviour.send_response(channel, DeviceResponse::Busy);
            return;
        }
        let (reply, answer) = oneshot::channel();
        let job = DeviceJob {
            peer,
            request,
            reply,
        };
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                let _ = behaviour.send_response(channel, DeviceResponse::Busy);
                return;
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                let refusal = DeviceResponse::Refused(
                    "this node does not serve linked devices (it is not a running home node)"
                        .into(),
                );
                let _ = behaviour.send_response(channel, refusal);
                return;
            }
        }
        let answers = self.answers.clone();
        tokio::spawn(async move {
            let response = answer.await.unwrap_or_else(|_| {
                DeviceResponse::Refused("the home node stopped before it answered".into())
            });
            let _ = answers.send((channel, response)).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use futures::io::Cursor;

    use super::*;
    use crate::net::cbor_codec::{read_item, write_item};

    #[test]
    fn requests_and_answers_round_trip_and_oversize_frames_are_refused_unread() {
        futures::executor::block_on(async {
            let max = MAX_DEVICE_ANSWER_BYTES;
            for response in [
                DeviceResponse::Paired(vec![1, 2]),
                DeviceResponse::Answer {
                    status: 200,
                    body: b"[]".to_vec(),
                },
                DeviceResponse::Refused("not paired".into()),
                DeviceResponse::Busy,
            ] {
                let mut wire = Cursor::new(Vec::new());
                write_item(&mut wire, &response, max).await.unwrap();
                let mut wire = Cursor::new(wire.into_inner());
                let read: DeviceResponse = read_item(&mut wire, max).await.unwrap();
                assert_eq!(read, response);
            }
            let mut claim = ((max + 1) as u32).to_be_bytes().to_vec();
            claim.extend([0u8; 8]);
            let refused = read_item::<DeviceRequest, _>(&mut Cursor::new(claim), max).await;
            assert_eq!(refused.unwrap_err().kind(), std::io::ErrorKind::InvalidData);
        });
    }
}
