//! The person's side: requests in, decisions out, grants issued, updates pushed,
//! revocations and erase requests sent, receipts checked.

use std::collections::BTreeSet;

use passport_protocol::{
    Body, Decision, EraseRequest, FieldName, FieldValues, Grant, GrantId, MessageId, Outcome,
    PassportId, Request, Revoke, Sealed, SealingPublicKey, Terms, Timestamp, Update, Verified,
    decode_trusted,
};
use serde::{Deserialize, Serialize};

use crate::{
    audit::AuditEvent,
    consent::{self, AskReason, Evaluation, FieldScope, Policy},
    error::NodeError,
    node::{Node, Outgoing, Reply, Tx, ended, expired},
    vault::{self, FieldRecord, Sensitivity},
};

const INBOX_PREFIX: &[u8] = b"i/";
const GRANT_PREFIX: &[u8] = b"g/";
const POLICY_PREFIX: &[u8] = b"p/";
const MERCHANT_PREFIX: &[u8] = b"m/";
const NEXT_POLICY_KEY: &[u8] = b"meta/next_policy";

fn inbox_key(id: &MessageId) -> Vec<u8> {
    [INBOX_PREFIX, id.as_bytes()].concat()
}

fn grant_key(id: &GrantId) -> Vec<u8> {
    [GRANT_PREFIX, id.as_bytes()].concat()
}

fn policy_key(id: u64) -> Vec<u8> {
    [POLICY_PREFIX, &id.to_be_bytes()[..]].concat()
}

fn merchant_key(id: &PassportId) -> Vec<u8> {
    [MERCHANT_PREFIX, id.public_key_bytes()].concat()
}

/// A request waiting for the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRequest {
    /// The request as received (signed bytes), re-verified when answered.
    #[serde(with = "serde_bytes")]
    pub message: Vec<u8>,
    /// The request's id.
    pub request_id: MessageId,
    /// The merchant.
    pub merchant: PassportId,
    /// When it arrived.
    pub received_at: Timestamp,
    /// When it stops being answerable.
    pub expires_at: Timestamp,
    /// Why it was not decided by a policy.
    pub reasons: Vec<AskReason>,
    /// The first request ever from this merchant.
    pub first_contact: bool,
}

/// A pending request, decoded, with what a person needs to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxItem {
    /// The stored entry.
    pub pending: PendingRequest,
    /// The request itself.
    pub request: Request,
    /// How to name the merchant to the person.
    pub merchant: MerchantRecord,
}

impl InboxItem {
    /// The request in one sentence, e.g. `"Brand X" (unverified name, id fmCy5x1H;
    /// first contact) asks for name.given, address.home for delivery, for 30 days,
    /// offering free shipping.`
    pub fn sentence(&self) -> String {
        let fields: Vec<&str> = self
            .request
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        let offer = self
            .request
            .offer
            .as_ref()
            .map(|o| format!(", offering {}", o.text))
            .unwrap_or_default();
        format!(
            "{} asks for {} for {}, for {}{}.",
            self.merchant
                .display(&self.pending.merchant, self.pending.first_contact),
            fields.join(", "),
            self.request.purpose,
            crate::human::duration(self.request.duration_secs),
            offer
        )
    }
}

/// What the person knows of a merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantRecord {
    /// The first request from it.
    pub first_seen: Timestamp,
    /// The name it last declared for itself (never verified).
    pub declared_name: String,
    /// The name the person gave it, shown instead from then on.
    pub petname: Option<String>,
}

impl MerchantRecord {
    /// The person's petname for it, or else the name it declared.
    pub fn name(&self) -> &str {
        self.petname.as_deref().unwrap_or(&self.declared_name)
    }

    /// How to show this merchant: the person's petname, or the declared name marked
    /// unverified; always with the short id.
    pub fn display(&self, id: &PassportId, first_contact: bool) -> String {
        let first = if first_contact { "; first contact" } else { "" };
        match &self.petname {
            Some(p) => format!("{p} (id {}{first})", id.fmt_short()),
            None => format!(
                "\"{}\" (unverified name, id {}{first})",
                self.declared_name,
                id.fmt_short()
            ),
        }
    }
}

/// A grant this person issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedGrant {
    /// Its id.
    pub grant_id: GrantId,
    /// To whom.
    pub merchant: PassportId,
    /// The request it answered.
    pub request_id: MessageId,
    /// Fields released.
    pub fields: Vec<FieldName>,
    /// The person's terms.
    pub terms: Terms,
    /// When issued.
    pub issued_at: Timestamp,
    /// When it ends.
    pub expires_at: Timestamp,
    /// The merchant's key, for updates.
    pub seal_to: SealingPublicKey,
    /// Where the merchant asked to be answered.
    pub reply_to: Vec<String>,
    /// When revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// The merchant's deletion receipt, when one arrived.
    pub receipt: Option<MessageId>,
}

impl IssuedGrant {
    /// Live: not revoked and not past its end.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && !ended(self.expires_at, now)
    }
}

/// The person's answer to a pending request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Approval {
    /// Release only these fields (all asked fields the person has, if `None`).
    pub only: Option<Vec<FieldName>>,
    /// Grant for at most this long, in seconds (as long as asked, if `None`).
    pub duration_secs: Option<u64>,
    /// Also trust this merchant from now on (adds a standing policy).
    pub always: bool,
}

impl Node {
    /// Pending requests, oldest first.
    pub fn inbox(&self) -> Result<Vec<InboxItem>, NodeError> {
        let mut items = Vec::new();
        for (_, pending) in self.scan::<PendingRequest>(INBOX_PREFIX)? {
            let request = decode_request(&pending.message)?;
            let merchant = self
                .get::<MerchantRecord>(&merchant_key(&pending.merchant))?
                .unwrap_or(MerchantRecord {
                    first_seen: pending.received_at,
                    declared_name: request.requester_name.clone(),
                    petname: None,
                });
            items.push(InboxItem {
                pending,
                request,
                merchant,
            });
        }
        items.sort_by_key(|i| i.pending.received_at);
        Ok(items)
    }

    /// How many requests wait, without decoding them: for a count on every page.
    pub fn inbox_len(&self) -> Result<usize, NodeError> {
        Ok(self.storage().scan_prefix(INBOX_PREFIX)?.len())
    }

    /// What this person knows of a merchant that has asked it for something.
    pub fn merchant(&self, id: &PassportId) -> Result<Option<MerchantRecord>, NodeError> {
        self.get::<MerchantRecord>(&merchant_key(id))
    }

    /// Grants issued, newest first.
    pub fn grants(&self) -> Result<Vec<IssuedGrant>, NodeError> {
        let mut grants: Vec<IssuedGrant> = self
            .scan(GRANT_PREFIX)?
            .into_iter()
            .map(|(_, g)| g)
            .collect();
        grants.sort_by_key(|g| std::cmp::Reverse(g.issued_at));
        Ok(grants)
    }

    /// Standing policies.
    pub fn policies(&self) -> Result<Vec<Policy>, NodeError> {
        Ok(self
            .scan(POLICY_PREFIX)?
            .into_iter()
            .map(|(_, p)| p)
            .collect())
    }

    /// Adds a standing policy (its `id` and `created_at` are assigned) and returns it.
    pub fn add_policy(&self, policy: Policy, now: Timestamp) -> Result<Policy, NodeError> {
        self.tx(now, |tx| tx.add_policy(policy))
    }

    /// Removes a standing policy.
    pub fn remove_policy(&self, id: u64, now: Timestamp) -> Result<(), NodeError> {
        self.tx(now, |tx| {
            if tx.get::<Policy>(&policy_key(id))?.is_none() {
                return Err(NodeError::UnknownPolicy(id));
            }
            tx.batch.delete(policy_key(id));
            tx.audit(
                AuditEvent::PolicyChanged {
                    policy: id,
                    added: false,
                },
                None,
            );
            Ok(())
        })
    }

    /// Names a merchant; the name is shown instead of its declared one from now on.
    pub fn set_petname(
        &self,
        merchant: &PassportId,
        petname: Option<String>,
        now: Timestamp,
    ) -> Result<(), NodeError> {
        self.tx(now, |tx| {
            let mut record = tx
                .get::<MerchantRecord>(&merchant_key(merchant))?
                .unwrap_or(MerchantRecord {
                    first_seen: now,
                    declared_name: String::new(),
                    petname: None,
                });
            record.petname = petname;
            tx.put(merchant_key(merchant), &record);
            Ok(())
        })
    }

    /// Approves a pending request, wholly or in part. Returns the grant to send.
    pub fn approve(
        &self,
        request_id: &MessageId,
        approval: Approval,
        now: Timestamp,
    ) -> Result<Outgoing, NodeError> {
        self.tx(now, |tx| {
            let (pending, request) = tx.take_pending(request_id)?;
            let asked: BTreeSet<&FieldName> = request.fields.iter().map(|f| &f.name).collect();
            let fields: Vec<FieldName> = match approval.only {
                Some(only) => {
                    if let Some(extra) = only.iter().find(|f| !asked.contains(f)) {
                        return Err(NodeError::InvalidChoice(format!(
                            "{extra} was not asked for"
                        )));
                    }
                    only
                }
                None => {
                    let mut have = Vec::new();
                    for f in &request.fields {
                        if tx.get::<FieldRecord>(&vault::field_key(&f.name))?.is_some() {
                            have.push(f.name.clone());
                        }
                    }
                    have
                }
            };
            if fields.is_empty() {
                return Err(NodeError::InvalidChoice(
                    "no field chosen; deny the request instead".into(),
                ));
            }
            let duration_secs = approval
                .duration_secs
                .map_or(request.duration_secs, |d| d.min(request.duration_secs));
            if approval.always {
                // Sensitive fields (by the person's own classification) are
                // named, so the policy releases them too; normal ones are covered.
                let mut named = std::collections::BTreeSet::new();
                for f in &fields {
                    if tx.field_class(f)? == Some(Sensitivity::Sensitive) {
                        named.insert(f.clone());
                    }
                }
                tx.add_policy(Policy {
                    fields: FieldScope {
                        any_normal: true,
                        named,
                    },
                    ..Policy::allow_normal_fields(Some(pending.merchant))
                })?;
            }
            let partial =
                fields.len() < request.fields.len() || duration_secs < request.duration_secs;
            let bytes =
                tx.issue_grant(&pending, &request, fields, duration_secs, partial, false)?;
            Ok(tx.send_later(Outgoing {
                to: pending.merchant,
                reply_to: request.reply_to,
                bytes,
            }))
        })
    }

    /// Refuses a pending request. Returns the refusal to send.
    pub fn deny(
        &self,
        request_id: &MessageId,
        reason: &str,
        now: Timestamp,
    ) -> Result<Outgoing, NodeError> {
        self.tx(now, |tx| {
            let (pending, request) = tx.take_pending(request_id)?;
            let bytes = tx.refuse(&pending, reason, false)?;
            Ok(tx.send_later(Outgoing {
                to: pending.merchant,
                reply_to: request.reply_to,
                bytes,
            }))
        })
    }

    /// Revokes a grant. Returns the revocation to send.
    pub fn revoke(&self, grant_id: &GrantId, now: Timestamp) -> Result<Outgoing, NodeError> {
        self.tx(now, |tx| {
            let mut grant = tx
                .get::<IssuedGrant>(&grant_key(grant_id))?
                .ok_or(NodeError::UnknownGrant(*grant_id))?;
            if grant.revoked_at.is_some() {
                return Err(NodeError::GrantRevoked(*grant_id));
            }
            grant.revoked_at = Some(now);
            tx.put(grant_key(grant_id), &grant);
            let lifetime = tx.node.config().message_lifetime_secs;
            let (bytes, _) = tx.sign(
                grant.merchant,
                lifetime,
                Body::Revoke(Revoke {
                    grant_id: *grant_id,
                    reason: None,
                }),
            )?;
            tx.audit(
                AuditEvent::GrantRevoked {
                    grant: *grant_id,
                    to: grant.merchant,
                },
                Some(bytes.clone()),
            );
            Ok(tx.send_later(Outgoing {
                to: grant.merchant,
                reply_to: grant.reply_to,
                bytes,
            }))
        })
    }

    /// Asks a merchant to erase everything it holds about this person; every live
    /// grant to it ends now. Returns the erase request to send.
    pub fn erase(&self, merchant: &PassportId, now: Timestamp) -> Result<Outgoing, NodeError> {
        self.tx(now, |tx| {
            let mut reply_to = Vec::new();
            for (k, mut grant) in tx.scan::<IssuedGrant>(GRANT_PREFIX)? {
                if grant.merchant == *merchant && grant.revoked_at.is_none() {
                    grant.revoked_at = Some(now);
                    reply_to.clone_from(&grant.reply_to);
                    tx.put(k, &grant);
                }
            }
            let lifetime = tx.node.config().message_lifetime_secs;
            let (bytes, id) = tx.sign(
                *merchant,
                lifetime,
                Body::EraseRequest(EraseRequest { reason: None }),
            )?;
            tx.audit(
                AuditEvent::EraseRequested {
                    request: id,
                    to: *merchant,
                },
                Some(bytes.clone()),
            );
            Ok(tx.send_later(Outgoing {
                to: *merchant,
                reply_to,
                bytes,
            }))
        })
    }
}

/// A pending request read back from the store (verified when it arrived).
fn decode_request(message: &[u8]) -> Result<Request, NodeError> {
    match decode_trusted(message)?.body {
        Body::Request(r) => Ok(r),
        other => Err(NodeError::UnexpectedKind {
            expected: "request",
            got: other.kind().name(),
        }),
    }
}

impl Tx<'_> {
    /// The sensitivity class the person gave a field they hold, or `None` if they do
    /// not hold it.
    fn field_class(&self, name: &FieldName) -> Result<Option<Sensitivity>, NodeError> {
        Ok(self
            .get::<FieldRecord>(&vault::field_key(name))?
            .map(|r| r.sensitivity))
    }

    pub(crate) fn on_request(
        &mut self,
        verified: Verified,
        bytes: &[u8],
    ) -> Result<Reply, NodeError> {
        let merchant = *verified.signer();
        let message = verified.into_message();
        let Body::Request(request) = message.body else {
            unreachable!("dispatched on kind")
        };
        let request_id = message.claims.id;
        self.audit(
            AuditEvent::RequestReceived {
                request: request_id,
                from: merchant,
                fields: request.fields.iter().map(|f| f.name.clone()).collect(),
                purpose: request.purpose.clone(),
            },
            Some(bytes.to_vec()),
        );
        let existing = self.get::<MerchantRecord>(&merchant_key(&merchant))?;
        let first_contact = existing.is_none();
        let mut record = existing.unwrap_or(MerchantRecord {
            first_seen: self.now,
            declared_name: String::new(),
            petname: None,
        });
        record.declared_name.clone_from(&request.requester_name);
        self.put(merchant_key(&merchant), &record);

        let policies = self.node.policies()?;
        let mut classes = std::collections::BTreeMap::new();
        for f in &request.fields {
            if let Some(class) = self.field_class(&f.name)? {
                classes.insert(f.name.clone(), class);
            }
        }
        let pending = PendingRequest {
            message: bytes.to_vec(),
            request_id,
            merchant,
            received_at: self.now,
            expires_at: message.claims.expires_at,
            reasons: Vec::new(),
            first_contact,
        };
        match consent::evaluate(&request, &merchant, &policies, |f| classes.get(f).copied()) {
            Evaluation::Allow {
                fields,
                duration_secs,
                partial,
                ..
            } => Ok(Reply::Message(self.issue_grant(
                &pending,
                &request,
                fields,
                duration_secs,
                partial,
                true,
            )?)),
            Evaluation::Deny { .. } => Ok(Reply::Message(self.refuse(
                &pending,
                "declined by a standing policy",
                true,
            )?)),
            Evaluation::Ask { reasons } => {
                let inbox = self.scan::<PendingRequest>(INBOX_PREFIX)?;
                let config = self.node.config();
                if inbox.len() >= config.inbox_total {
                    return Err(NodeError::InboxFull("too many pending requests in total"));
                }
                if inbox.iter().filter(|(_, p)| p.merchant == merchant).count()
                    >= config.inbox_per_merchant
                {
                    return Err(NodeError::InboxFull(
                        "too many pending requests from this merchant",
                    ));
                }
                self.put(
                    inbox_key(&request_id),
                    &PendingRequest { reasons, ..pending },
                );
                Ok(Reply::Pending(request_id))
            }
        }
    }

    fn take_pending(
        &mut self,
        request_id: &MessageId,
    ) -> Result<(PendingRequest, Request), NodeError> {
        let pending = self
            .get::<PendingRequest>(&inbox_key(request_id))?
            .ok_or(NodeError::UnknownRequest(*request_id))?;
        if expired(pending.expires_at, self.now) {
            return Err(NodeError::UnknownRequest(*request_id));
        }
        self.batch.delete(inbox_key(request_id));
        let request = decode_request(&pending.message)?;
        Ok((pending, request))
    }

    pub(crate) fn add_policy(&mut self, mut policy: Policy) -> Result<Policy, NodeError> {
        let id = self
            .node
            .storage()
            .get(NEXT_POLICY_KEY)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map_or(1, u64::from_be_bytes);
        policy.id = id;
        policy.created_at = self.now;
        self.batch
            .put(NEXT_POLICY_KEY.to_vec(), (id + 1).to_be_bytes().to_vec());
        self.put(policy_key(id), &policy);
        self.audit(
            AuditEvent::PolicyChanged {
                policy: id,
                added: true,
            },
            None,
        );
        Ok(policy)
    }

    /// Current values of `fields`, skipping any the person no longer has.
    fn values_of(&self, fields: &[FieldName]) -> Result<FieldValues, NodeError> {
        let mut values = FieldValues::new();
        for f in fields {
            if let Some(r) = self.get::<FieldRecord>(&vault::field_key(f))? {
                values.insert(f.clone(), r.value);
            }
        }
        Ok(values)
    }

    fn issue_grant(
        &mut self,
        pending: &PendingRequest,
        request: &Request,
        fields: Vec<FieldName>,
        duration_secs: u64,
        partial: bool,
        by_policy: bool,
    ) -> Result<Vec<u8>, NodeError> {
        let values = self.values_of(&fields)?;
        if let Some(missing) = fields.iter().find(|f| !values.contains_key(*f)) {
            return Err(NodeError::UnknownField(missing.clone()));
        }
        let grant_id = GrantId::random(&mut *self.rng);
        let sealed = Sealed::seal(
            &values,
            &request.seal_to,
            &grant_id,
            &pending.merchant,
            &mut *self.rng,
        )?;
        let terms = Terms {
            retention_secs: request
                .retention_secs
                .min(self.node.config().max_retention_secs),
            no_resale: true,
            purpose: request.purpose.clone(),
        };
        let grant = Grant {
            grant_id,
            partial,
            fields: fields.clone(),
            terms: terms.clone(),
            sealed,
        };
        let body = Body::Decision(Decision {
            request_id: pending.request_id,
            outcome: Outcome::Granted(grant),
        });
        let (bytes, _) = self.sign(pending.merchant, duration_secs, body)?;
        let expires_at = self.now.plus_secs(duration_secs);
        self.put(
            grant_key(&grant_id),
            &IssuedGrant {
                grant_id,
                merchant: pending.merchant,
                request_id: pending.request_id,
                fields: fields.clone(),
                terms,
                issued_at: self.now,
                expires_at,
                seal_to: request.seal_to,
                reply_to: request.reply_to.clone(),
                revoked_at: None,
                receipt: None,
            },
        );
        self.audit(
            AuditEvent::GrantIssued {
                grant: grant_id,
                request: pending.request_id,
                to: pending.merchant,
                fields,
                expires_at,
                by_policy,
            },
            Some(bytes.clone()),
        );
        Ok(bytes)
    }

    fn refuse(
        &mut self,
        pending: &PendingRequest,
        reason: &str,
        by_policy: bool,
    ) -> Result<Vec<u8>, NodeError> {
        let body = Body::Decision(Decision {
            request_id: pending.request_id,
            outcome: Outcome::Refused {
                reason: reason.to_owned(),
            },
        });
        let lifetime = self.node.config().message_lifetime_secs;
        let (bytes, _) = self.sign(pending.merchant, lifetime, body)?;
        self.audit(
            AuditEvent::RequestRefused {
                request: pending.request_id,
                to: pending.merchant,
                reason: reason.to_owned(),
                by_policy,
            },
            Some(bytes.clone()),
        );
        Ok(bytes)
    }

    /// Seals `values` to the grant's merchant as an Update, with its audit entry.
    fn send_update(
        &mut self,
        grant: &IssuedGrant,
        values: &FieldValues,
    ) -> Result<Vec<u8>, NodeError> {
        let fields: Vec<FieldName> = values.keys().cloned().collect();
        let sealed = Sealed::seal(
            values,
            &grant.seal_to,
            &grant.grant_id,
            &grant.merchant,
            &mut *self.rng,
        )?;
        let lifetime = self.node.config().message_lifetime_secs;
        let (bytes, _) = self.sign(
            grant.merchant,
            lifetime,
            Body::Update(Update {
                grant_id: grant.grant_id,
                fields: fields.clone(),
                sealed,
            }),
        )?;
        self.audit(
            AuditEvent::UpdateSent {
                grant: grant.grant_id,
                to: grant.merchant,
                fields,
            },
            Some(bytes.clone()),
        );
        Ok(bytes)
    }

    /// Updates for every live grant that includes `changed`, with `new` standing in
    /// for the value this transaction is writing (`None`: removed).
    pub(crate) fn push_updates(
        &mut self,
        changed: &FieldName,
        new: Option<&passport_protocol::FieldValue>,
    ) -> Result<Vec<Outgoing>, NodeError> {
        let mut out = Vec::new();
        for (_, grant) in self.scan::<IssuedGrant>(GRANT_PREFIX)? {
            if !grant.is_live(self.now) || !grant.fields.contains(changed) {
                continue;
            }
            // Reads see the store before this transaction: patch in the new value.
            let mut values = self.values_of(&grant.fields)?;
            match new {
                Some(value) => values.insert(changed.clone(), value.clone()),
                None => values.remove(changed),
            };
            if values.is_empty() {
                continue;
            }
            let bytes = self.send_update(&grant, &values)?;
            let queued = self.send_later(Outgoing {
                to: grant.merchant,
                reply_to: grant.reply_to.clone(),
                bytes,
            });
            out.push(queued);
        }
        Ok(out)
    }

    pub(crate) fn on_fetch(
        &mut self,
        verified: Verified,
        bytes: &[u8],
    ) -> Result<Reply, NodeError> {
        let merchant = *verified.signer();
        let Body::Fetch(fetch) = &verified.message().body else {
            unreachable!("dispatched on kind")
        };
        let grant = self
            .get::<IssuedGrant>(&grant_key(&fetch.grant_id))?
            .filter(|g| g.merchant == merchant)
            .ok_or(NodeError::UnknownGrant(fetch.grant_id))?;
        if grant.revoked_at.is_some() {
            return Err(NodeError::GrantRevoked(grant.grant_id));
        }
        if ended(grant.expires_at, self.now) {
            return Err(NodeError::GrantExpired(grant.grant_id));
        }
        self.audit(
            AuditEvent::FetchReceived {
                grant: grant.grant_id,
                from: merchant,
            },
            Some(bytes.to_vec()),
        );
        let values = self.values_of(&grant.fields)?;
        Ok(Reply::Message(self.send_update(&grant, &values)?))
    }

    pub(crate) fn on_receipt(
        &mut self,
        verified: Verified,
        bytes: &[u8],
    ) -> Result<Reply, NodeError> {
        let merchant = *verified.signer();
        let receipt_id = verified.message().claims.id;
        let Body::DeletionReceipt(receipt) = &verified.message().body else {
            unreachable!("dispatched on kind")
        };
        for grant_id in &receipt.grant_ids {
            let mut grant = self
                .get::<IssuedGrant>(&grant_key(grant_id))?
                .filter(|g| g.merchant == merchant)
                .ok_or(NodeError::NotYours { from: merchant })?;
            grant.receipt = Some(receipt_id);
            self.put(grant_key(grant_id), &grant);
        }
        self.audit(
            AuditEvent::ReceiptReceived {
                grants: receipt.grant_ids.clone(),
                from: merchant,
                receipt: receipt_id,
            },
            Some(bytes.to_vec()),
        );
        Ok(Reply::Nothing)
    }

    pub(crate) fn expire_inbox(&mut self) -> Result<(), NodeError> {
        for (k, pending) in self.scan::<PendingRequest>(INBOX_PREFIX)? {
            if expired(pending.expires_at, self.now) {
                self.batch.delete(k);
                self.audit(
                    AuditEvent::RequestExpired {
                        request: pending.request_id,
                        from: pending.merchant,
                    },
                    None,
                );
            }
        }
        Ok(())
    }
}
