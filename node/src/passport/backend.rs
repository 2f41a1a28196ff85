//! What a shop's backend does with [`Passport`] beyond asking: follow its
//! requests, manage webhooks, confirm erasures, export proof of consent.

use passport_protocol::{GrantId, MessageId};

use super::{Passport, PassportError, Sending};
use crate::{
    error::NodeError,
    merchant::{AwaitingErasure, RequestStatus, SentRequest},
    node::{Outgoing, system_now as now},
    webhook::{DeliveryAttempt, Webhook, WebhookSettings, dispatch},
};

/// The merchant backend's side.
impl Passport {
    /// Sent requests, newest first, at most `limit`; with `state`, only those in it
    /// ([`RequestStatus::NAMES`]).
    pub async fn requests(
        &self,
        state: Option<String>,
        limit: usize,
    ) -> Result<Vec<SentRequest>, PassportError> {
        if let Some(state) = &state
            && !RequestStatus::NAMES.contains(&state.as_str())
        {
            return Err(NodeError::InvalidInput(format!(
                "unknown request state {state:?}; the states are {}",
                RequestStatus::NAMES.join(", ")
            ))
            .into());
        }
        self.run(move |node| node.sent_requests(state.as_deref(), limit, now()))
            .await
    }

    /// One sent request, where it stands (an open one past its end reads expired).
    pub async fn request_state(&self, id: MessageId) -> Result<SentRequest, PassportError> {
        self.run(move |node| {
            let mut sent = node
                .sent_request(&id)?
                .ok_or(NodeError::UnknownSentRequest(id))?;
            if sent.status.is_open() && crate::node::ended(sent.expires_at, now()) {
                sent.status = RequestStatus::Expired;
            }
            Ok(sent)
        })
        .await
    }

    /// The grant `id` names, a grant id or the id of the decision that carried it;
    /// `id` itself as a grant id when it names neither.
    pub async fn grant_named(&self, id: [u8; 16]) -> Result<GrantId, PassportError> {
        Ok(self
            .run(move |node| node.grant_named(id))
            .await?
            .unwrap_or(GrantId::from_bytes(id)))
    }

    /// The signed decision that granted `grant`: proof of consent an auditor
    /// verifies offline (`passport message verify`).
    pub async fn grant_proof(&self, grant: GrantId) -> Result<Vec<u8>, PassportError> {
        self.run(move |node| node.grant_proof(&grant)).await
    }

    /// The backend erased its copies of `grant`'s data: the node signs the deletion
    /// receipt saying so and delivers it.
    pub async fn confirm_erasure(&self, grant: GrantId) -> Result<Sending, PassportError> {
        let out = self
            .run(move |node| node.confirm_erasure(&grant, now()))
            .await?;
        Ok(self.send_one(out))
    }

    /// Erasures whose receipt waits for the backend, oldest first.
    pub async fn unconfirmed_erasures(&self) -> Result<Vec<AwaitingErasure>, PassportError> {
        self.run(|node| node.unconfirmed_erasures()).await
    }

    /// Messages made and not yet delivered: revocations, erase requests, receipts
    /// waiting for their recipient's node.
    pub async fn outbox(&self) -> Result<Vec<Outgoing>, PassportError> {
        self.run(|node| node.outbox()).await
    }

    /// The webhooks.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, PassportError> {
        self.run(|node| node.webhooks()).await
    }

    /// Adds a webhook; returns it and its secret (shown once).
    pub async fn add_webhook(
        &self,
        settings: WebhookSettings,
    ) -> Result<(Webhook, String), PassportError> {
        self.run(move |node| node.add_webhook(settings, now()))
            .await
    }

    /// Removes a webhook added by the API, and the events waiting for it.
    pub async fn remove_webhook(&self, id: String) -> Result<Webhook, PassportError> {
        self.run(move |node| node.remove_webhook(&id, now())).await
    }

    /// Posts a `webhook.test` event to webhook `id` now and returns the attempt.
    pub async fn test_webhook(&self, id: String) -> Result<DeliveryAttempt, PassportError> {
        let webhook = self
            .run(move |node| {
                node.webhooks()?
                    .into_iter()
                    .find(|w| w.id == id)
                    .ok_or(NodeError::UnknownWebhook(id))
            })
            .await?;
        Ok(dispatch::test_once(self.node(), webhook).await?)
    }

    /// The last `limit` delivery attempts, newest first.
    pub async fn webhook_log(&self, limit: usize) -> Result<Vec<DeliveryAttempt>, PassportError> {
        self.run(move |node| node.webhook_log(limit)).await
    }
}
