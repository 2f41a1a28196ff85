//! Data back to the person on [`Passport`]: deliveries from merchants and
//! attestations from issuers, both sealed to the person's key from their peer
//! record, and what the person keeps of them.

use passport_protocol::{DataType, Delivered, FieldName, MessageId, PassportId};

use super::{Passport, PassportError, delivery::Sending};
use crate::{
    data::DeliveredData,
    node::{Node, system_now as now},
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
