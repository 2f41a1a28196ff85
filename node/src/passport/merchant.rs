//! The merchant's side of [`Passport`]: the request flow, written once here, and
//! the grants it brings.

use std::time::Duration;

use passport_protocol::{FieldValues, GrantId, MessageId, PassportId, PeerRecord};

use super::{Passport, PassportError};
use crate::{
    error::NodeError,
    events::Event,
    merchant::{ReceivedGrant, RequestSpec, RequestStatus, SentRequest},
    net::{NetError, Response},
    node::{Node, system_now as now},
};

/// A wait longer than any run: what a wait too long to add to "now" becomes.
const FAR_AHEAD: Duration = Duration::from_secs(100 * 365 * 86_400);

/// What became of a request a merchant sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOutcome {
    /// The request's id: ask [`Passport::sent_request`] or wait with
    /// [`Passport::decision`] when it is pending.
    pub request_id: MessageId,
    /// Where it stands.
    pub answer: RequestAnswer,
}

/// Where a sent request stands when [`Passport::request`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestAnswer {
    /// Decided (by a standing policy at once, or by the person within the wait).
    Decided(RequestStatus),
    /// The person has not decided yet.
    Pending,
    /// The other node took the message and had nothing to answer.
    Accepted,
    /// The other node had this very request already.
    AlreadyReceived,
    /// The person's node was offline: the request waits at its mailboxes, and the
    /// decision comes when the node is back ([`Passport::decision`]).
    Queued {
        /// At how many mailboxes.
        mailboxes: u8,
    },
}

/// The merchant's side.
impl Passport {
    /// Asks `to` for fields: signs and records the request, finds the person's node
    /// and sends it, stores the answer, and if the person must decide waits up to
    /// `wait` for the decision. The request is durable before this returns, whatever
    /// happened on the network (one flush when an answer comes straight back).
    pub async fn request(
        &self,
        to: PassportId,
        spec: RequestSpec,
        wait: Duration,
    ) -> Result<RequestOutcome, PassportError> {
        self.request_via(to, None, spec, wait).await
    }

    /// [`Passport::request`] to the node a record found earlier names, without a new
    /// lookup.
    pub async fn request_to_record(
        &self,
        record: &PeerRecord,
        spec: RequestSpec,
        wait: Duration,
    ) -> Result<RequestOutcome, PassportError> {
        self.request_via(record.id, Some(record), spec, wait).await
    }

    /// The merchant's request flow, the one place it is written.
    async fn request_via(
        &self,
        to: PassportId,
        record: Option<&PeerRecord>,
        mut spec: RequestSpec,
        wait: Duration,
    ) -> Result<RequestOutcome, PassportError> {
        let client = self.net()?;
        if spec.requester_name.trim().is_empty() {
            spec.requester_name = self.merchant_name().to_string();
        }
        let prepared = self
            .run(move |node| node.prepare_request(to, spec, now()))
            .await?;
        let request_id = prepared.request_id;
        let sent = match record {
            Some(record) => Ok(record.clone()),
            None => client.lookup(to).await,
        };
        let sent = match sent {
            Ok(record) => {
                super::mailbox::send_or_deposit(self.node(), client, &record, prepared.bytes).await
            }
            Err(e) => Err(e),
        };
        // The request's record becomes durable with the answer's when one comes
        // back (one flush instead of two); in every case it is durable before this
        // returns, even when sending or storing the answer failed.
        let (decision, sent) = match sent {
            Ok(Response::Message(decision)) => (Some(decision), Ok(None)),
            Ok(other) => (None, Ok(Some(other))),
            Err(e) => (None, Err(e)),
        };
        // What the request's record says when no answer did.
        let delivered = match &sent {
            Ok(None | Some(Response::Message(_))) => None,
            Ok(Some(Response::Pending(_) | Response::Accepted | Response::AlreadyReceived)) => {
                Some(RequestStatus::Waiting)
            }
            Ok(Some(Response::Queued(mailboxes))) => Some(RequestStatus::Queued {
                mailboxes: *mailboxes,
            }),
            Ok(Some(Response::Busy)) => Some(RequestStatus::Failed {
                reason: NetError::Busy.to_string(),
            }),
            Ok(Some(Response::Refused(reason))) => Some(RequestStatus::Failed {
                reason: format!("the person's node refused it: {reason}"),
            }),
            Err(e) => Some(RequestStatus::Failed {
                reason: e.to_string(),
            }),
        };
        let unsettled = prepared.unsettled;
        let status = self
            .run(move |node| {
                let received = decision.map(|d| node.receive(&d, now())).transpose();
                let note = match (&received, delivered) {
                    (Err(e), _) => Some(RequestStatus::Failed {
                        reason: format!("its answer could not be used: {e}"),
                    }),
                    (Ok(_), note) => note,
                };
                let noted = note
                    .map(|status| node.note_sent(&request_id, status, now()))
                    .transpose()?;
                node.settle(unsettled)?;
                if let Some(noted) = noted {
                    node.settle(noted)?;
                }
                received?;
                Ok(node.sent_request(&request_id)?.map(|sent| sent.status))
            })
            .await?;
        let answer = match sent? {
            // (A message in answer was taken out above.)
            None | Some(Response::Message(_)) => {
                RequestAnswer::Decided(status.ok_or(NodeError::UnknownRequest(request_id))?)
            }
            Some(Response::Pending(_)) => match self.decision(request_id, wait).await? {
                Some(status) if !status.is_open() => RequestAnswer::Decided(status),
                _ => RequestAnswer::Pending,
            },
            Some(Response::Accepted) => RequestAnswer::Accepted,
            Some(Response::AlreadyReceived) => RequestAnswer::AlreadyReceived,
            Some(Response::Queued(mailboxes)) => RequestAnswer::Queued { mailboxes },
            Some(Response::Busy) => return Err(NetError::Busy.into()),
            Some(Response::Refused(reason)) => return Err(NetError::Refused(reason).into()),
        };
        Ok(RequestOutcome { request_id, answer })
    }

    /// Waits up to `wait` for the person's decision on `request_id`; returns where
    /// the request stands then (`None`: no such request).
    pub async fn decision(
        &self,
        request_id: MessageId,
        wait: Duration,
    ) -> Result<Option<RequestStatus>, PassportError> {
        use futures::StreamExt as _;
        if wait.is_zero() {
            return self.sent_status(request_id).await;
        }
        let now = tokio::time::Instant::now();
        let deadline = now.checked_add(wait).unwrap_or(now + FAR_AHEAD);
        // Subscribed before the first read, so a decision stored in between is
        // not missed.
        let mut events = self.events();
        loop {
            let status = self.sent_status(request_id).await?;
            if !status.as_ref().is_some_and(RequestStatus::is_open) {
                return Ok(status);
            }
            // Reread only when an answer (or a lag) may have changed it.
            loop {
                match tokio::time::timeout_at(deadline, events.next()).await {
                    Err(_) | Ok(None) => return Ok(status),
                    Ok(Some(Event::Lagged { .. })) => break,
                    Ok(Some(Event::StoreChanged | Event::Webhook { .. })) => {}
                    Ok(Some(Event::Committed { event, .. })) => {
                        use crate::audit::AuditEvent::{GrantReceived, RefusalReceived};
                        if matches!(event, GrantReceived { .. } | RefusalReceived { .. }) {
                            break;
                        }
                    }
                }
            }
        }
    }

    async fn sent_status(
        &self,
        request_id: MessageId,
    ) -> Result<Option<RequestStatus>, PassportError> {
        Ok(self.sent_request(request_id).await?.map(|sent| sent.status))
    }

    /// A sent request and where it stands.
    pub async fn sent_request(
        &self,
        request_id: MessageId,
    ) -> Result<Option<SentRequest>, PassportError> {
        self.run(move |node| node.sent_request(&request_id)).await
    }

    /// Asks the person's node for the current values under a grant, stores them and
    /// returns them.
    pub async fn fetch(&self, grant: GrantId) -> Result<FieldValues, PassportError> {
        let client = self.net()?;
        let (person, bytes) = self
            .run(move |node| {
                let person = node
                    .received_grant(&grant)?
                    .ok_or(NodeError::UnknownGrant(grant))?
                    .person;
                Ok((person, node.fetch(&grant, now())?))
            })
            .await?;
        match client.send_to(person, bytes).await? {
            Response::Message(update) => {
                self.run(move |node| node.receive(&update, now()).map(drop))
                    .await?;
            }
            Response::Refused(reason) => return Err(NetError::Refused(reason).into()),
            Response::Busy => return Err(NetError::Busy.into()),
            other => {
                return Err(NetError::Unreachable(format!(
                    "unexpected answer to a fetch: {other:?}"
                ))
                .into());
            }
        }
        self.open_grant(grant).await
    }

    /// Grants held, newest first.
    pub async fn received(&self) -> Result<Vec<ReceivedGrant>, PassportError> {
        self.run(Node::received).await
    }

    /// The values under a grant held, while it is valid.
    pub async fn open_grant(&self, grant: GrantId) -> Result<FieldValues, PassportError> {
        self.run(move |node| node.open_grant(&grant, now())).await
    }
}
