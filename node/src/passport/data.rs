//! Data back to the person on [`Passport`]: deliveries from merchants and
//! attestations from issuers, both sealed to the person's key from their peer
//! record, and what the person keeps of them; and the person's question
//! "what do you hold about me?".

use passport_protocol::{DataType, Delivered, FieldName, MessageId, PassportId};

use super::{Passport, PassportError, delivery::Sending};
use crate::{
    data::DeliveredData,
    net::Response,
    node::{Node, system_now as now},
    person::Statement,
};

impl Passport {
    /// Vouches (as an issuer) for `person`'s `field`, as they granted it to this
    /// node, for `lifetime_secs`; finds their node and delivers the attestation.
    pub async fn attest(
        &self,
        person: PassportId,
        field: FieldName,
        lifetime_secs: u64,
    ) -> Result<Sending, PassportError> {
        let client = self.net()?;
        // Local work before remote work: no lookup for a field this node cannot
        // vouch for.
        let check = field.clone();
        self.run(move |node| node.value_granted_by(person, &check, now()))
            .await?;
        let record = client.lookup(person).await?;
        let out = self
            .run(move |node| node.attest(person, &record.seal_key, &field, lifetime_secs, now()))
            .await?;
        Ok(self.deliver(out))
    }

    /// Sends `person` data of `data_type` (a receipt, an order …) for their
    /// vault; their node keeps it if their policy accepts it.
    pub async fn send_data(
        &self,
        person: PassportId,
        data_type: DataType,
        content: Delivered,
    ) -> Result<Sending, PassportError> {
        let record = self.net()?.lookup(person).await?;
        let out = self
            .run(move |node| node.deliver(person, &record.seal_key, data_type, &content, now()))
            .await?;
        Ok(self.deliver(out))
    }

    /// Data delivered to this person, newest first.
    pub async fn delivered(&self) -> Result<Vec<DeliveredData>, PassportError> {
        self.run(Node::delivered).await
    }

    /// Deletes delivered data.
    pub async fn delete_delivered(&self, id: MessageId) -> Result<(), PassportError> {
        self.run(move |node| node.delete_delivered(&id, now()))
            .await
    }
}

/// "What do you hold about me?"
impl Passport {
    /// Asks `merchant` what it holds about this person and returns its signed
    /// answer; `None` when the merchant's node is offline and the question waits
    /// at its mailboxes (the answer is kept when it comes:
    /// [`Passport::access_statement`]).
    pub async fn request_access(
        &self,
        merchant: PassportId,
    ) -> Result<Option<Statement>, PassportError> {
        let out = self
            .run(move |node| node.request_access(merchant, None, now()))
            .await?;
        let asked_at = now();
        match self.deliver(out).delivered().await? {
            Response::Queued(_) => Ok(None),
            _ => Ok(self
                .access_statement(merchant)
                .await?
                .filter(|s| s.received_at >= asked_at)),
        }
    }

    /// The newest answer `merchant` gave to "what do you hold about me?".
    pub async fn access_statement(
        &self,
        merchant: PassportId,
    ) -> Result<Option<Statement>, PassportError> {
        self.run(move |node| node.access_statement(&merchant)).await
    }
}
