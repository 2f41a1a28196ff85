//! [`AuditEvent`]: what an audit entry says happened, and its one-line
//! description for the page and the command line.

use passport_protocol::{FieldName, GrantId, MessageId, PassportId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::tokens::Scope;

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum AuditEvent {
    /// A request arrived.
    RequestReceived {
        /// Its id.
        request: MessageId,
        /// The merchant.
        from: PassportId,
        /// Fields asked.
        fields: Vec<FieldName>,
        /// Purpose stated.
        purpose: String,
    },
    /// A request was sent.
    RequestSent {
        /// Its id.
        request: MessageId,
        /// The person.
        to: PassportId,
        /// Fields asked.
        fields: Vec<FieldName>,
    },
    /// A request waited in the inbox until it expired.
    RequestExpired {
        /// Its id.
        request: MessageId,
        /// The merchant.
        from: PassportId,
    },
    /// A request was refused.
    RequestRefused {
        /// Its id.
        request: MessageId,
        /// The merchant.
        to: PassportId,
        /// Why.
        reason: String,
        /// Decided by a policy (true) or the person (false).
        by_policy: bool,
    },
    /// A grant was issued.
    GrantIssued {
        /// The grant.
        grant: GrantId,
        /// The request it answers.
        request: MessageId,
        /// The merchant.
        to: PassportId,
        /// Fields released.
        fields: Vec<FieldName>,
        /// Until when.
        expires_at: Timestamp,
        /// Decided by a policy (true) or the person (false).
        by_policy: bool,
    },
    /// A grant arrived (merchant side).
    GrantReceived {
        /// The grant.
        grant: GrantId,
        /// The person.
        from: PassportId,
        /// Fields received.
        fields: Vec<FieldName>,
        /// Until when.
        expires_at: Timestamp,
    },
    /// A refusal arrived (merchant side).
    RefusalReceived {
        /// The request.
        request: MessageId,
        /// The person.
        from: PassportId,
        /// Their reason.
        reason: String,
    },
    /// Current values were sent under a grant (answer to a fetch, or a push).
    UpdateSent {
        /// The grant.
        grant: GrantId,
        /// The merchant.
        to: PassportId,
        /// Fields sent.
        fields: Vec<FieldName>,
    },
    /// Current values arrived under a grant (merchant side).
    UpdateReceived {
        /// The grant.
        grant: GrantId,
        /// The person.
        from: PassportId,
    },
    /// This merchant asked a person for current values.
    FetchSent {
        /// The grant.
        grant: GrantId,
        /// The person.
        to: PassportId,
    },
    /// A merchant asked for current values.
    FetchReceived {
        /// The grant.
        grant: GrantId,
        /// The merchant.
        from: PassportId,
    },
    /// A grant was revoked by the person.
    GrantRevoked {
        /// The grant.
        grant: GrantId,
        /// The merchant.
        to: PassportId,
    },
    /// The person asked a merchant to erase everything.
    EraseRequested {
        /// The request id.
        request: MessageId,
        /// The merchant.
        to: PassportId,
    },
    /// A revocation or erase request arrived (merchant side).
    ErasureDemanded {
        /// The message id.
        message: MessageId,
        /// The person.
        from: PassportId,
    },
    /// Data was erased and a receipt signed (merchant side).
    DataErased {
        /// The grants erased.
        grants: Vec<GrantId>,
        /// The person.
        about: PassportId,
        /// The receipt's id.
        receipt: MessageId,
    },
    /// A deletion receipt arrived and verified (person side).
    ReceiptReceived {
        /// The grants erased.
        grants: Vec<GrantId>,
        /// The merchant.
        from: PassportId,
        /// The receipt's id.
        receipt: MessageId,
        /// The merchant's backend confirmed the erasure of its own copies too
        /// (absent in entries written before receipts could say so).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        backend_confirmed: bool,
    },
    /// A request this merchant sent expired unanswered (merchant side).
    SentRequestExpired {
        /// The request.
        request: MessageId,
        /// The person.
        to: PassportId,
    },
    /// The node erased grants' data and waits for its backend to confirm that the
    /// shop's own copies are gone before it signs the receipt (merchant side,
    /// `[merchant] confirm_erasure`).
    ErasureAwaitingBackend {
        /// The grants erased.
        grants: Vec<GrantId>,
        /// The person.
        about: PassportId,
    },
    /// A message was given up undelivered: it expired in the outbox before its
    /// recipient's node took it.
    DeliveryGivenUp {
        /// The message.
        message: MessageId,
        /// Its kind.
        kind: String,
        /// The recipient.
        to: PassportId,
    },
    /// A webhook was added or removed.
    WebhookChanged {
        /// Its id.
        webhook: String,
        /// Where it posts.
        url: String,
        /// Added (true) or removed (false).
        added: bool,
    },
    /// A standing policy was added or removed.
    PolicyChanged {
        /// The policy id.
        policy: u64,
        /// Added (true) or removed (false).
        added: bool,
    },
    /// A scoped API token was made (its id, never the token).
    TokenCreated {
        /// The token's id.
        token: String,
        /// What it reaches.
        scope: Scope,
        /// Its name.
        name: String,
    },
    /// A scoped API token was revoked.
    TokenRevoked {
        /// The token's id.
        token: String,
        /// What it reached.
        scope: Scope,
        /// Its name.
        name: String,
    },
    /// Everything in the store was written to an encrypted backup file.
    BackupMade {
        /// Records in the backup.
        records: u64,
    },
    /// This copy was restored from a backup; its epoch grew, so copies at earlier
    /// epochs stop when they see its record.
    Restored {
        /// When the backup was made.
        backup_made_at: Timestamp,
        /// This copy's epoch now.
        epoch: u64,
    },
    /// A device was paired: it may act for the person until it is removed or its
    /// delegation ends.
    DeviceAdded {
        /// The device's id (its delegation's).
        device: MessageId,
        /// Its name.
        name: String,
        /// Its key.
        key: PassportId,
    },
    /// A device was removed: its next call is refused.
    DeviceRemoved {
        /// The device's id.
        device: MessageId,
        /// Its name.
        name: String,
    },
    /// A device did something for the person (the entries its action made
    /// follow this one).
    DeviceAction {
        /// The device's id.
        device: MessageId,
        /// Its name.
        name: String,
        /// What it did, in one line.
        action: String,
    },
    /// Data was delivered to a person (merchant side).
    DataDelivered {
        /// The person.
        to: PassportId,
        /// Its type (receipt, order, …).
        data_type: String,
        /// Its title.
        title: String,
    },
    /// Data a merchant delivered was kept (person side).
    DataReceived {
        /// The delivery's id.
        delivery: MessageId,
        /// The sender.
        from: PassportId,
        /// Its type.
        data_type: String,
        /// Its title.
        title: String,
    },
    /// A delivery was refused; nothing of it was kept (person side).
    DeliveryRefused {
        /// The sender.
        from: PassportId,
        /// Its type.
        data_type: String,
        /// Why.
        reason: String,
    },
    /// The person deleted delivered data.
    DataDeleted {
        /// The delivery's id.
        delivery: MessageId,
        /// Who had sent it.
        from: PassportId,
    },
    /// This node vouched for a person's field (issuer side).
    AttestationIssued {
        /// The person.
        to: PassportId,
        /// The field.
        field: FieldName,
        /// Until when.
        expires_at: Timestamp,
    },
    /// An issuer's attestation was kept beside its field (person side).
    AttestationReceived {
        /// The field.
        field: FieldName,
        /// The issuer.
        issuer: PassportId,
        /// Until when.
        expires_at: Timestamp,
    },
    /// A field's value changed, so attestations of the old value were dropped.
    AttestationLost {
        /// The field.
        field: FieldName,
        /// Whose attestations.
        issuers: Vec<PassportId>,
    },
    /// A grant or update came with an attestation that does not vouch for its
    /// value, or by an issuer the request did not name: it was refused and
    /// nothing of it kept (merchant side).
    AttestationRefused {
        /// The person.
        from: PassportId,
        /// The field.
        field: FieldName,
        /// Why, as `AttestationError::reason` names it.
        reason: String,
    },
    /// The person asked a merchant what it holds about them.
    AccessRequested {
        /// The merchant.
        to: PassportId,
    },
    /// A merchant's signed answer arrived (person side).
    AccessStatementReceived {
        /// The merchant.
        from: PassportId,
        /// How many grants it lists.
        grants: u64,
    },
    /// This node answered an access request (merchant side).
    AccessAnswered {
        /// The person.
        to: PassportId,
        /// How many grants it listed.
        grants: u64,
    },
    /// This node refused an access request (merchant side).
    AccessRefused {
        /// Who asked.
        from: PassportId,
        /// Why.
        reason: String,
    },
    /// A merchant's web domain was checked: its `/.well-known/passport` names
    /// the merchant (verified) or not.
    DomainChecked {
        /// The merchant.
        merchant: PassportId,
        /// The domain.
        domain: String,
        /// Whether it names the merchant.
        verified: bool,
        /// Why not, when not.
        reason: Option<String>,
    },
    /// Another live copy of this passport publishes its record (a restore made
    /// elsewhere): this copy stopped its network.
    OtherCopyFound {
        /// The other copy's epoch.
        epoch: u64,
        /// The other copy's network identity (PeerId).
        peer: String,
    },
}

impl AuditEvent {
    /// The event in one sentence, with short ids, as the consent page shows it.
    pub fn describe(&self) -> String {
        let list = |fields: &[FieldName]| {
            fields
                .iter()
                .map(FieldName::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Self::RequestReceived {
                from,
                fields,
                purpose,
                ..
            } => format!(
                "Request from {} for {} ({purpose})",
                from.fmt_short(),
                list(fields)
            ),
            Self::RequestSent { to, fields, .. } => {
                format!("Request sent to {} for {}", to.fmt_short(), list(fields))
            }
            Self::RequestExpired { from, .. } => {
                format!("Request from {} expired unanswered", from.fmt_short())
            }
            Self::RequestRefused {
                to,
                reason,
                by_policy,
                ..
            } => format!(
                "Refused {}{}{}",
                to.fmt_short(),
                if *by_policy {
                    " by a standing policy"
                } else {
                    ""
                },
                if reason.is_empty() {
                    String::new()
                } else {
                    format!(": {reason}")
                }
            ),
            Self::GrantIssued {
                to,
                fields,
                expires_at,
                by_policy,
                ..
            } => format!(
                "Shared {} with {} until {}{}",
                list(fields),
                to.fmt_short(),
                crate::human::time(*expires_at),
                if *by_policy { " (standing policy)" } else { "" }
            ),
            Self::GrantReceived { from, fields, .. } => {
                format!(
                    "Grant received from {} for {}",
                    from.fmt_short(),
                    list(fields)
                )
            }
            Self::RefusalReceived { from, reason, .. } => {
                format!("Refusal received from {}: {reason}", from.fmt_short())
            }
            Self::UpdateSent { to, fields, .. } => {
                format!("Sent current {} to {}", list(fields), to.fmt_short())
            }
            Self::UpdateReceived { from, .. } => {
                format!("Current values received from {}", from.fmt_short())
            }
            Self::FetchSent { to, .. } => format!("Asked {} for current values", to.fmt_short()),
            Self::FetchReceived { from, .. } => {
                format!("{} asked for current values", from.fmt_short())
            }
            Self::GrantRevoked { to, .. } => format!("Revoked a grant to {}", to.fmt_short()),
            Self::EraseRequested { to, .. } => {
                format!("Asked {} to erase everything", to.fmt_short())
            }
            Self::ErasureDemanded { from, .. } => {
                format!("{} revoked or asked for erasure", from.fmt_short())
            }
            Self::DataErased { grants, about, .. } => format!(
                "Erased {} grant{} about {} and signed a deletion receipt",
                grants.len(),
                if grants.len() == 1 { "" } else { "s" },
                about.fmt_short()
            ),
            Self::ReceiptReceived {
                grants,
                from,
                backend_confirmed,
                ..
            } => format!(
                "Deletion receipt from {} for {} grant{}{}",
                from.fmt_short(),
                grants.len(),
                if grants.len() == 1 { "" } else { "s" },
                if *backend_confirmed {
                    " (erased by the node and confirmed by the backend)"
                } else {
                    " (erased by the node)"
                }
            ),
            Self::SentRequestExpired { to, .. } => {
                format!("Request to {} expired unanswered", to.fmt_short())
            }
            Self::ErasureAwaitingBackend { grants, about } => format!(
                "Erased {} grant{} about {} on the node; waiting for the backend to confirm",
                grants.len(),
                if grants.len() == 1 { "" } else { "s" },
                about.fmt_short()
            ),
            Self::DeliveryGivenUp { kind, to, .. } => format!(
                "Gave up delivering a {} to {}: it expired before their node took it",
                kind.replace('_', " "),
                to.fmt_short()
            ),
            Self::WebhookChanged {
                webhook,
                url,
                added,
            } => format!(
                "Webhook {webhook} ({url}) {}",
                if *added { "added" } else { "removed" }
            ),
            Self::PolicyChanged { policy, added } => format!(
                "Standing policy {policy} {}",
                if *added { "added" } else { "removed" }
            ),
            Self::TokenCreated { token, scope, name } => {
                format!("API token {token} ({scope}{}) made", quoted(name))
            }
            Self::TokenRevoked { token, scope, name } => {
                format!("API token {token} ({scope}{}) revoked", quoted(name))
            }
            Self::BackupMade { records } => {
                format!("Backed up everything ({records} records) to an encrypted file")
            }
            Self::Restored {
                backup_made_at,
                epoch,
            } => format!(
                "Restored from a backup made {}; this copy is epoch {epoch}",
                crate::human::time(*backup_made_at)
            ),
            Self::DeviceAdded { name, device, .. } => {
                format!("Device {name:?} paired ({})", short(device))
            }
            Self::DeviceRemoved { name, device } => {
                format!("Device {name:?} removed ({})", short(device))
            }
            Self::DeviceAction {
                name,
                device,
                action,
            } => format!("Device {name:?} ({}) {action}", short(device)),
            Self::DataDelivered {
                to,
                data_type,
                title,
            } => format!("Delivered a {data_type} ({title:?}) to {}", to.fmt_short()),
            Self::DataReceived {
                from,
                data_type,
                title,
                ..
            } => format!(
                "Received a {data_type} ({title:?}) from {}",
                from.fmt_short()
            ),
            Self::DeliveryRefused {
                from,
                data_type,
                reason,
            } => format!("Refused a {data_type} from {}: {reason}", from.fmt_short()),
            Self::DataDeleted { delivery, from } => {
                format!("Deleted data {} from {}", short(delivery), from.fmt_short())
            }
            Self::AttestationIssued {
                to,
                field,
                expires_at,
            } => format!(
                "Attested {}'s {field} until {}",
                to.fmt_short(),
                crate::human::time(*expires_at)
            ),
            Self::AttestationReceived {
                field,
                issuer,
                expires_at,
            } => format!(
                "{field} attested by {} until {}",
                issuer.fmt_short(),
                crate::human::time(*expires_at)
            ),
            Self::AttestationLost { field, issuers } => format!(
                "{field} changed: its attestation by {} no longer applies",
                issuers
                    .iter()
                    .map(PassportId::fmt_short)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::AttestationRefused {
                from,
                field,
                reason,
            } => format!(
                "Refused a grant from {}: the attestation of {field} is {}",
                from.fmt_short(),
                reason.replace('_', " ")
            ),
            Self::AccessRequested { to } => {
                format!("Asked {} what it holds about you", to.fmt_short())
            }
            Self::AccessStatementReceived { from, grants } => format!(
                "{} says it holds {grants} grant{} from you",
                from.fmt_short(),
                if *grants == 1 { "" } else { "s" }
            ),
            Self::AccessAnswered { to, grants } => format!(
                "Told {} the {grants} grant{} held from them",
                to.fmt_short(),
                if *grants == 1 { "" } else { "s" }
            ),
            Self::AccessRefused { from, reason } => {
                format!("Refused {}'s access request: {reason}", from.fmt_short())
            }
            Self::DomainChecked {
                merchant,
                domain,
                verified,
                reason,
            } => match (verified, reason) {
                (true, _) => format!("{domain} verified as {}'s website", merchant.fmt_short()),
                (false, reason) => format!(
                    "{domain} not verified as {}'s website: {}",
                    merchant.fmt_short(),
                    reason.as_deref().unwrap_or("no reason given")
                ),
            },
            Self::OtherCopyFound { epoch, peer } => format!(
                "Stopped: another copy of this passport (epoch {epoch}, peer {peer}) is live"
            ),
        }
    }
}

/// The first 8 hex digits of an id.
fn short(id: &MessageId) -> String {
    id.to_string().chars().take(8).collect()
}

/// `, "name"`, or nothing for an empty name.
fn quoted(name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!(", {name:?}")
    }
}
