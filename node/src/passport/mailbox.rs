//! Mailboxes on the network: sending to a node that is offline by depositing at
//! its mailboxes, and draining this node's own (see [`crate::mailbox`]).

use std::time::Duration;

use passport_protocol::{MessageId, PassportId, PeerRecord};

use super::{Passport, PassportError, delivery::Delivery};
use crate::{
    mailbox::Drained,
    net::{Client, MailboxRequest, MailboxResponse, NetError, Response},
    node::{Node, system_now as now},
};

/// Mailboxes a message is deposited at, when the recipient lists that many.
pub const DEPOSIT_AT: usize = 2;

/// Sends `bytes` to the node `record` names; if that node cannot be reached and
/// the record lists mailboxes, deposits it there instead ([`Response::Queued`]).
pub(crate) async fn send_or_deposit(
    node: &Node,
    client: &Client,
    record: &PeerRecord,
    bytes: Vec<u8>,
) -> Result<Response, NetError> {
    let direct = client.send_to_record(record, bytes.clone()).await;
    match direct {
        Err(e @ (NetError::Unreachable(_) | NetError::Timeout(_)))
            if !record.mailboxes.is_empty() =>
        {
            let held = deposit(node, client, record, &bytes).await;
            if held == 0 {
                return Err(e);
            }
            tracing::info!(
                to = %record.id,
                mailboxes = held,
                "the recipient is offline; the message waits at its mailboxes"
            );
            Ok(Response::Queued(u8::try_from(held).unwrap_or(u8::MAX)))
        }
        other => other,
    }
}

/// Deposits `message` at the recipient's mailboxes, in the order its record lists
/// them, until [`DEPOSIT_AT`] hold it; returns how many do.
async fn deposit(node: &Node, client: &Client, recipient: &PeerRecord, message: &[u8]) -> usize {
    let signed = {
        let (node, recipient, message) = (node.clone(), recipient.clone(), message.to_vec());
        super::blocking(move || {
            node.sign_deposits(&recipient.mailboxes, &recipient, &message, now())
        })
        .await
    };
    let signed = match signed {
        Ok(signed) => signed,
        Err(e) => {
            tracing::warn!(error = %e, "could not sign the deposits");
            return 0;
        }
    };
    let mut held = 0;
    for (mailbox, deposit) in recipient.mailboxes.iter().zip(signed) {
        if held >= DEPOSIT_AT {
            break;
        }
        let answer = match client.lookup(*mailbox).await {
            Ok(at) => client.mailbox(&at, MailboxRequest::Deposit(deposit)).await,
            Err(e) => Err(e),
        };
        match answer {
            Ok(MailboxResponse::Deposited { .. }) => held += 1,
            Ok(other) => {
                tracing::info!(%mailbox, answer = ?other, "a mailbox did not take a deposit")
            }
            Err(e) => tracing::info!(%mailbox, error = %e, "a mailbox could not be reached"),
        }
    }
    held
}

/// What draining the mailboxes brought.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Messages received and committed.
    pub received: usize,
    /// Messages received before (from another mailbox, or directly).
    pub duplicates: usize,
    /// Messages refused by the normal checks (expired, forged, not for us).
    pub refused: usize,
    /// Messages left at a mailbox for the next drain (this node could not decide
    /// on them now, say with its inbox full).
    pub kept: usize,
    /// Mailboxes that could not be drained, with why.
    pub failed: Vec<(PassportId, String)>,
}

impl DrainReport {
    fn add(&mut self, other: Self) {
        self.received += other.received;
        self.duplicates += other.duplicates;
        self.refused += other.refused;
        self.kept += other.kept;
        self.failed.extend(other.failed);
    }
}

/// Most drain rounds (answers of up to 512 KiB) one mailbox gets per drain.
const MAX_ROUNDS: usize = 64;

impl Passport {
    /// Drains every mailbox this passport lists: receives what each holds through
    /// the normal verify path, sends the answers that makes, and deletes at each
    /// mailbox what it has committed. Done at start, on reconnecting and every
    /// `[mailbox] drain_every_secs` by itself.
    pub async fn drain_mailboxes(&self) -> Result<DrainReport, PassportError> {
        Ok(drain_all(self.node(), &self.inner.delivery, self.net()?).await)
    }
}

/// Drains every mailbox `client`'s settings list (see [`Passport::drain_mailboxes`]).
async fn drain_all(node: &Node, delivery: &Delivery, client: &Client) -> DrainReport {
    let mut report = DrainReport::default();
    for mailbox in client.config().mailbox.mailboxes.clone() {
        match drain_one(node, delivery, client, mailbox).await {
            Ok(one) => report.add(one),
            Err(e) => {
                tracing::info!(%mailbox, error = %e, "could not drain a mailbox");
                report.failed.push((mailbox, e.to_string()));
            }
        }
    }
    report
}

/// Drains one mailbox (see [`Passport::drain_mailboxes`]).
async fn drain_one(
    node: &Node,
    delivery: &Delivery,
    client: &Client,
    mailbox: PassportId,
) -> Result<DrainReport, PassportError> {
    // Where it was last found first: a node just back online drains at once.
    let known = {
        let node = node.clone();
        super::blocking(move || node.known_mailbox(&mailbox, now())).await?
    };
    let opened = match known {
        Some(at) => client
            .mailbox(&at, MailboxRequest::Challenge)
            .await
            .map(|answer| (at, answer)),
        None => Err(NetError::NotFound(mailbox)),
    };
    let (at, answer) = match opened {
        Ok(opened) => opened,
        Err(_) => {
            let at = client.lookup(mailbox).await?;
            let answer = client.mailbox(&at, MailboxRequest::Challenge).await?;
            let (node, found) = (node.clone(), at.clone());
            super::blocking(move || node.remember_mailbox(&found, now())).await?;
            (at, answer)
        }
    };
    let me = client.peer_id().to_bytes();
    let mut nonce = challenge(&answer)?;
    let mut report = DrainReport::default();
    for _ in 0..MAX_ROUNDS {
        let signed = {
            let (node, me) = (node.clone(), me.clone());
            super::blocking(move || node.sign_drain(&mailbox, nonce, me, now())).await?
        };
        let answer = client.mailbox(&at, MailboxRequest::Drain(signed)).await?;
        nonce = challenge(&answer)?;
        let MailboxResponse::Batch { held, more, .. } = answer else {
            return Err(unexpected(&answer));
        };
        if held.is_empty() {
            break;
        }
        let mut done: Vec<MessageId> = Vec::new();
        for deposit in held {
            let (receiving, id) = (node.clone(), deposit.id);
            let outcome =
                super::blocking(move || receiving.receive_from_mailbox(&deposit, now())).await;
            match outcome {
                Ok(Drained::Received { answer, .. }) => {
                    report.received += 1;
                    if let Some(answer) = answer {
                        drop(delivery.spawn(answer));
                    }
                }
                Ok(Drained::Duplicate) => report.duplicates += 1,
                Ok(Drained::Refused(reason)) => {
                    tracing::info!(%mailbox, %reason, "refused a message from a mailbox");
                    report.refused += 1;
                }
                Err(e) => {
                    tracing::info!(%mailbox, error = %e, "a message stays at its mailbox for now");
                    report.kept += 1;
                    continue;
                }
            }
            done.push(id);
        }
        if !done.is_empty() {
            let signed = {
                let (node, me) = (node.clone(), me.clone());
                super::blocking(move || node.sign_delete(&mailbox, nonce, me, done, now())).await?
            };
            let answer = client.mailbox(&at, MailboxRequest::Delete(signed)).await?;
            nonce = challenge(&answer)?;
        }
        if !more || report.kept > 0 {
            break;
        }
    }
    Ok(report)
}

fn challenge(answer: &MailboxResponse) -> Result<[u8; 32], PassportError> {
    answer.challenge().ok_or_else(|| unexpected(answer))
}

fn unexpected(answer: &MailboxResponse) -> PassportError {
    PassportError::Net(match answer {
        MailboxResponse::Refused(reason) => NetError::Refused(reason.clone()),
        MailboxResponse::Busy => NetError::Busy,
        other => NetError::Unreachable(format!("unexpected mailbox answer: {other:?}")),
    })
}

/// Drains at start, whenever the node reconnects, and every `every`.
pub(super) async fn drain_forever(node: Node, delivery: Delivery, client: Client, every: Duration) {
    if client.config().mailbox.mailboxes.is_empty() {
        return;
    }
    let reconnected = client.reconnected();
    loop {
        let report = drain_all(&node, &delivery, &client).await;
        if report.received + report.refused + report.duplicates > 0 {
            tracing::info!(?report, "drained the mailboxes");
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = reconnected.notified() => {}
        }
    }
}
