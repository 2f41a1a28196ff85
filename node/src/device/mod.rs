//! Linked devices, the home node's side (sans I/O): one-time pairing codes, the
//! devices paired, and checking a device's signed calls. The identity key never
//! leaves the home node: a device holds its own key and a delegation the home node
//! signed ([`passport_protocol::device`]); what a call asks, the home node does and
//! signs.
//!
//! Store: `dp/<8-byte code id>` pending pairing codes (their secrets, encrypted
//! like every record), `dv/<delegation id>` the devices paired. A code is used
//! once and lives [`PAIRING_CODE_LIFETIME_SECS`]; a removed device's record is
//! deleted, so its next call is refused at once whatever its delegation says.
//! Call ids go into the replay store like messages' ids.

pub mod link;
pub mod page;

use passport_protocol::{
    MessageId, PassportId, ProtocolError, SeenIds as _, Timestamp,
    device::{
        DeviceBody, DeviceMessage, PAIRING_SECRET_BYTES, pairing_proof, sign_delegation,
        verify_delegation, verify_device_message,
    },
};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use zeroize::Zeroizing;

use crate::{audit::AuditEvent, error::NodeError, node::Node, tokens::Scope};

/// How long a pairing code may be used: 10 minutes.
pub const PAIRING_CODE_LIFETIME_SECS: u64 = 600;

/// Pairing codes waiting at once; making one more drops the oldest.
pub const MAX_PENDING_CODES: usize = 4;

/// Devices paired at once.
pub const MAX_DEVICES: usize = 16;

/// How long a delegation lasts: 90 days; the device pairs again after.
pub const DELEGATION_LIFETIME_SECS: u64 = 90 * 86_400;

const CODE_PREFIX: &[u8] = b"dp/";
const DEVICE_PREFIX: &[u8] = b"dv/";
const DEVICE_TOKEN_PREFIX: &[u8] = b"dk/";

fn code_key(id: &[u8; 8]) -> Vec<u8> {
    [CODE_PREFIX, &id[..]].concat()
}

fn device_key(id: &MessageId) -> Vec<u8> {
    [DEVICE_PREFIX, &id.as_bytes()[..]].concat()
}

fn device_token_key(id: &MessageId) -> Vec<u8> {
    [DEVICE_TOKEN_PREFIX, &id.as_bytes()[..]].concat()
}

/// The person-scoped API token a device's calls are made with on the home node
/// (kept encrypted like every record; never sent to the device).
#[derive(Serialize, Deserialize)]
struct DeviceToken {
    token: String,
}

impl Drop for DeviceToken {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.token);
    }
}

/// Why a device's pairing or call was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// No pending code matches the device's proof: wrong, used, or expired.
    #[error(
        "the pairing code is wrong, used already or expired: make a new one on the home node with `passport device add`"
    )]
    BadCode,
    /// The device is not (or no longer) paired: removed, or never paired.
    #[error(
        "this device is not paired with this passport (it was removed, or its pairing expired): pair it again with a new code from `passport device add`"
    )]
    NotPaired,
    /// The object names another connection than the one it came on.
    #[error("this was signed for another connection: it cannot be replayed from here")]
    WrongConnection,
    /// The home node has as many devices as it keeps.
    #[error(
        "this passport has {MAX_DEVICES} devices paired already: remove one with `passport device remove`"
    )]
    TooManyDevices,
    /// The signed object was refused by the protocol rules (signature, audience,
    /// time, replay, delegation).
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The store failed.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// A pending one-time pairing code.
#[derive(Serialize, Deserialize)]
struct PendingCode {
    #[serde(with = "serde_bytes")]
    secret: [u8; PAIRING_SECRET_BYTES],
    made_at: Timestamp,
    expires_at: Timestamp,
}

impl Drop for PendingCode {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret);
    }
}

/// A one-time pairing code, as `passport device add` shows it.
pub struct PairingCode {
    /// The secret the device proves it knows.
    pub secret: zeroize::Zeroizing<[u8; PAIRING_SECRET_BYTES]>,
    /// When it stops working.
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for PairingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairingCode")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A device paired with this passport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Its delegation's id: the device's id in listings, removal and the audit log.
    pub id: MessageId,
    /// The device's key (as an id).
    pub key: PassportId,
    /// Its name.
    pub name: String,
    /// When it was paired.
    pub paired_at: Timestamp,
    /// When its delegation ends.
    pub expires_at: Timestamp,
    /// The signed delegation it was given.
    #[serde(with = "serde_bytes")]
    pub delegation: Vec<u8>,
    /// The id of the person-scoped API token its calls are made with.
    pub token_id: String,
}

/// A device's call, checked: who made it and what it asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCall {
    /// The device.
    pub device: Device,
    /// The call, in the node's encoding.
    pub call: Vec<u8>,
}

impl Node {
    /// Makes a one-time pairing code, valid [`PAIRING_CODE_LIFETIME_SECS`]. At most
    /// [`MAX_PENDING_CODES`] wait at once: the oldest is dropped for a new one.
    pub fn new_pairing_code(&self, now: Timestamp) -> Result<PairingCode, NodeError> {
        self.tx(now, |tx| {
            let mut pending: Vec<(Vec<u8>, PendingCode)> = tx.scan(CODE_PREFIX)?;
            pending.retain(|(key, code)| {
                let stale = code.expires_at <= now;
                if stale {
                    tx.delete(key.clone());
                }
                !stale
            });
            pending.sort_by_key(|(_, code)| code.made_at);
            let excess = (pending.len() + 1).saturating_sub(MAX_PENDING_CODES);
            for (key, _) in pending.iter().take(excess) {
                tx.delete(key.clone());
            }
            // The OS's generator, not the node's (seeded in simulations): a code is
            // a secret.
            let mut id = [0u8; 8];
            let mut secret = [0u8; PAIRING_SECRET_BYTES];
            rand::rng().fill_bytes(&mut id);
            rand::rng().fill_bytes(&mut secret);
            let expires_at = now.plus_secs(PAIRING_CODE_LIFETIME_SECS);
            tx.put(
                code_key(&id),
                &PendingCode {
                    secret,
                    made_at: now,
                    expires_at,
                },
            );
            Ok(PairingCode {
                secret: zeroize::Zeroizing::new(secret),
                expires_at,
            })
        })
    }

    /// Pairs the device whose signed pairing `bytes` came on the connection from
    /// `peer` (a PeerId's bytes): checks it and its proof against the pending
    /// codes, uses the code up, and signs and keeps the device's delegation.
    pub fn pair_device(
        &self,
        bytes: &[u8],
        peer: &[u8],
        now: Timestamp,
    ) -> Result<Device, DeviceError> {
        let message = verify_device_message(bytes, &self.id(), now)?;
        let DeviceBody::Pairing(pairing) = message.body else {
            return Err(ProtocolError::UnknownKind {
                found: message.body.kind(),
            }
            .into());
        };
        if pairing.peer != peer {
            return Err(DeviceError::WrongConnection);
        }
        let key = message.claims.issuer;
        let device = self.tx(now, |tx| {
            let codes: Vec<(Vec<u8>, PendingCode)> = tx.scan(CODE_PREFIX)?;
            let used = codes.iter().find(|(_, code)| {
                code.expires_at > now
                    && bool::from(pairing_proof(&code.secret, &key).ct_eq(&pairing.proof))
            });
            let Some((code, _)) = used else {
                return Ok(Err(DeviceError::BadCode));
            };
            if tx.scan::<Device>(DEVICE_PREFIX)?.len() >= MAX_DEVICES {
                return Ok(Err(DeviceError::TooManyDevices));
            }
            tx.delete(code.clone());
            let delegation = sign_delegation(
                &tx.node.keys().identity,
                key,
                &pairing.name,
                now,
                DELEGATION_LIFETIME_SECS,
                &mut *tx.rng,
            )?;
            let (claims, _) = verify_delegation(&delegation, &tx.me(), &key, now)?;
            // The device reaches the person's routes and no others: its calls go
            // through the API with a person-scoped token of its own.
            let token_name: String = format!("device {}", pairing.name)
                .chars()
                .take(48)
                .collect();
            let token = tx.create_token(Scope::Person, &token_name)?;
            let device = Device {
                id: claims.id,
                key,
                name: pairing.name.clone(),
                paired_at: now,
                expires_at: claims.expires_at,
                delegation,
                token_id: token.record.id.clone(),
            };
            tx.put(device_key(&device.id), &device);
            tx.put(
                device_token_key(&device.id),
                &DeviceToken {
                    token: token.token.to_string(),
                },
            );
            tx.audit(
                AuditEvent::DeviceAdded {
                    device: device.id,
                    name: device.name.clone(),
                    key,
                },
                None,
            );
            Ok(Ok(device))
        })??;
        Ok(device)
    }

    /// The devices paired, in the order of their ids.
    pub fn devices(&self) -> Result<Vec<Device>, NodeError> {
        Ok(self
            .scan::<Device>(DEVICE_PREFIX)?
            .into_iter()
            .map(|(_, device)| device)
            .collect())
    }

    /// Removes device `id`: its next call is refused and its token revoked. (A
    /// device removing another one shows in the audit log as its own action just
    /// before.)
    pub fn remove_device(&self, id: &MessageId, now: Timestamp) -> Result<Device, DeviceError> {
        self.tx(now, |tx| {
            let Some(device) = tx.get::<Device>(&device_key(id))? else {
                return Ok(Err(DeviceError::NotPaired));
            };
            tx.delete(device_key(id));
            tx.delete(device_token_key(id));
            tx.revoke_token(&device.token_id)?;
            tx.audit(
                AuditEvent::DeviceRemoved {
                    device: device.id,
                    name: device.name.clone(),
                },
                None,
            );
            Ok(Ok(device))
        })?
    }

    /// The API token device `id`'s calls are made with.
    pub fn device_token(&self, id: &MessageId) -> Result<Zeroizing<String>, DeviceError> {
        let stored: Option<DeviceToken> = self.get(&device_token_key(id))?;
        stored
            .map(|t| Zeroizing::new(t.token.clone()))
            .ok_or(DeviceError::NotPaired)
    }

    /// Signs a device object with this node's key (a device's own node signs its
    /// pairings and calls this way).
    pub fn sign_device_message(&self, message: &DeviceMessage) -> Result<Vec<u8>, NodeError> {
        Ok(message.sign(&self.keys().identity)?)
    }

    /// Checks a device's signed call that came on the connection from `peer`:
    /// signature, audience and time; its delegation (signed by this passport, to
    /// the call's signer, not ended); the device still paired with that very
    /// delegation; the connection; and that the call was not seen before. The
    /// call's id is kept in the replay store.
    pub fn check_device_call(
        &self,
        bytes: &[u8],
        peer: &[u8],
        now: Timestamp,
    ) -> Result<CheckedCall, DeviceError> {
        let message = verify_device_message(bytes, &self.id(), now)?;
        let DeviceBody::Call(call) = message.body else {
            return Err(ProtocolError::UnknownKind {
                found: message.body.kind(),
            }
            .into());
        };
        if call.peer != peer {
            return Err(DeviceError::WrongConnection);
        }
        let (delegation, _) =
            verify_delegation(&call.delegation, &self.id(), &message.claims.issuer, now)?;
        let Some(device) = self.get::<Device>(&device_key(&delegation.id))? else {
            return Err(DeviceError::NotPaired);
        };
        if device.key != message.claims.issuer {
            return Err(DeviceError::NotPaired);
        }
        let claims = message.claims;
        self.tx(now, |tx| {
            Ok(tx.check_and_insert(claims.id, claims.expires_at, now))
        })??;
        Ok(CheckedCall {
            device,
            call: call.call,
        })
    }

    /// Records in the audit log that `device` did `action` (one line, e.g.
    /// "approved request 5f3a…").
    pub fn audit_device_action(
        &self,
        device: &Device,
        action: String,
        now: Timestamp,
    ) -> Result<(), NodeError> {
        self.tx(now, |tx| {
            tx.audit(
                AuditEvent::DeviceAction {
                    device: device.id,
                    name: device.name.clone(),
                    action,
                },
                None,
            );
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests;
