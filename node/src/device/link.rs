//! The device's side: the invitation a home node shows (`passport device add`),
//! the file a device keeps (`<home>/device.json`), and [`DeviceLink`], a device's
//! connection to its home node that pairs and sends signed calls.

use std::{fmt, path::Path, str::FromStr};

use libp2p::{Multiaddr, PeerId, multiaddr::Protocol};
use passport_protocol::{
    Claims, PassportId,
    device::{
        DEVICE_CALL_LIFETIME_SECS, DeviceBody, DeviceCall, DeviceMessage, PAIRING_SECRET_BYTES,
        Pairing, pairing_proof,
    },
};
use serde::{Deserialize, Serialize};

use crate::{
    error::NodeError,
    net::{
        Client, NetError,
        device::{DeviceRequest, DeviceResponse},
    },
    node::{Node, system_now as now},
    passport::DeviceOp,
};

/// What a pairing invitation starts with.
pub const INVITE_MARK: &str = "passport-pair:";

/// The file a device keeps beside its keys: whose device it is and its delegation.
pub const DEVICE_FILE: &str = "device.json";

/// Most addresses an invitation carries.
const MAX_INVITE_ADDRESSES: usize = 8;

/// A one-time invitation to pair: `passport-pair:<secret>@<passport id>@<addr>,…`,
/// the secret in hex, the home node's addresses each ending in `/p2p/<PeerId>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Invite {
    /// The passport the device will act for.
    pub person: PassportId,
    /// The code's secret.
    pub secret: [u8; PAIRING_SECRET_BYTES],
    /// Where the home node listens.
    pub addresses: Vec<Multiaddr>,
}

impl fmt::Debug for Invite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invite")
            .field("person", &self.person)
            .field("addresses", &self.addresses)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Invite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret: String = self.secret.iter().map(|b| format!("{b:02x}")).collect();
        let addresses: Vec<String> = self.addresses.iter().map(ToString::to_string).collect();
        write!(
            f,
            "{INVITE_MARK}{secret}@{}@{}",
            self.person,
            addresses.join(",")
        )
    }
}

/// Why an invitation does not read.
#[derive(Debug, thiserror::Error)]
#[error(
    "not a pairing code ({0}): copy the whole code `passport device add` printed, starting with {INVITE_MARK}"
)]
pub struct InviteError(String);

impl FromStr for Invite {
    type Err = InviteError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let rest = text
            .trim()
            .strip_prefix(INVITE_MARK)
            .ok_or_else(|| InviteError("it does not start with the mark".into()))?;
        let mut parts = rest.splitn(3, '@');
        let (Some(secret), Some(person), Some(addresses)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(InviteError("it lacks a part".into()));
        };
        let mut bytes = [0u8; PAIRING_SECRET_BYTES];
        if secret.len() != 2 * PAIRING_SECRET_BYTES || !secret.is_ascii() {
            return Err(InviteError("its secret is cut or changed".into()));
        }
        for (byte, pair) in bytes.iter_mut().zip(secret.as_bytes().chunks_exact(2)) {
            let pair = std::str::from_utf8(pair).map_err(|e| InviteError(e.to_string()))?;
            *byte = u8::from_str_radix(pair, 16)
                .map_err(|_| InviteError("its secret is cut or changed".into()))?;
        }
        let person = person
            .parse()
            .map_err(|e| InviteError(format!("its passport id: {e}")))?;
        let addresses = addresses
            .split(',')
            .filter(|a| !a.is_empty())
            .take(MAX_INVITE_ADDRESSES)
            .map(|a| {
                a.parse()
                    .map_err(|e| InviteError(format!("address {a:?}: {e}")))
            })
            .collect::<Result<Vec<Multiaddr>, _>>()?;
        if addresses.is_empty() || home_peer(&addresses).is_none() {
            return Err(InviteError(
                "it names no address ending in /p2p/<PeerId>".into(),
            ));
        }
        Ok(Self {
            person,
            secret: bytes,
            addresses,
        })
    }
}

/// The PeerId the addresses end in (the home node's).
pub fn home_peer(addresses: &[Multiaddr]) -> Option<PeerId> {
    addresses.iter().find_map(|a| match a.iter().last() {
        Some(Protocol::P2p(peer)) => Some(peer),
        _ => None,
    })
}

/// What a device keeps in `<home>/device.json`: public, no secret (its key is in
/// `identity.cbor` like any passport's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceFile {
    /// The passport this device acts for.
    pub person: PassportId,
    /// This device's name.
    pub name: String,
    /// Where its home node was last reached.
    pub addresses: Vec<String>,
    /// The signed delegation (base64).
    pub delegation: String,
}

impl DeviceFile {
    /// What a device paired with `person` under `name` keeps.
    pub fn new(person: PassportId, name: &str, addresses: &[Multiaddr], delegation: &[u8]) -> Self {
        use base64::Engine as _;
        Self {
            person,
            name: name.to_string(),
            addresses: addresses.iter().map(ToString::to_string).collect(),
            delegation: base64::engine::general_purpose::STANDARD.encode(delegation),
        }
    }

    /// Reads `<dir>/device.json`, if this home is a device.
    pub fn read(dir: &Path) -> Result<Option<Self>, NodeError> {
        let path = dir.join(DEVICE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| NodeError::Corrupt {
                    path,
                    detail: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(NodeError::Io {
                action: "read",
                path,
                source,
            }),
        }
    }

    /// The delegation's bytes.
    pub fn delegation_bytes(&self) -> Option<Vec<u8>> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&self.delegation)
            .ok()
    }

    /// The home node's addresses that parse.
    pub fn multiaddrs(&self) -> Vec<Multiaddr> {
        self.addresses
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect()
    }
}

/// Why a device could not pair or call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The home node could not be reached.
    #[error("could not reach the home node: {0}")]
    Net(#[from] NetError),
    /// The home node refused, with its reason.
    #[error("the home node refused: {0}")]
    Refused(String),
    /// The home node is busy: retry in a moment.
    #[error("the home node is busy; try again in a moment")]
    Busy,
    /// The home node answered something else than expected.
    #[error("the home node answered something unexpected: is it another version of Passport?")]
    Unexpected,
    /// Signing failed (the device's own store or keys).
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// Tries after a busy answer before the device says so; waits 250 ms, then
/// twice as long each time (1.75 s in all).
const BUSY_RETRIES: u32 = 3;
const BUSY_FIRST_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

/// A device's connection to its home node over a running network.
#[derive(Debug, Clone)]
pub struct DeviceLink {
    /// The device's own node (its key signs).
    node: Node,
    client: Client,
    person: PassportId,
    home: PeerId,
    addresses: Vec<Multiaddr>,
}

impl DeviceLink {
    /// A link from the device `node` over `client` to `person`'s home node at
    /// `addresses` (each ending in its PeerId).
    pub fn new(
        node: Node,
        client: Client,
        person: PassportId,
        addresses: Vec<Multiaddr>,
    ) -> Option<Self> {
        let home = home_peer(&addresses)?;
        Some(Self {
            node,
            client,
            person,
            home,
            addresses,
        })
    }

    /// Sends the request `make` builds (signed afresh each time), waiting and
    /// trying again while the home node answers busy: a device's own bursts
    /// (a live page refreshing beside a command) pass its per-peer rate limit.
    async fn send(
        &self,
        make: impl Fn() -> Result<DeviceRequest, LinkError>,
    ) -> Result<DeviceResponse, LinkError> {
        let (mut wait, mut retries_left) = (BUSY_FIRST_WAIT, BUSY_RETRIES);
        loop {
            let response = self
                .client
                .device(self.home, self.addresses.clone(), make()?)
                .await?;
            match response {
                DeviceResponse::Refused(reason) => return Err(LinkError::Refused(reason)),
                DeviceResponse::Busy if retries_left > 0 => {
                    retries_left -= 1;
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                DeviceResponse::Busy => return Err(LinkError::Busy),
                other => return Ok(other),
            }
        }
    }

    fn sign(&self, body: DeviceBody) -> Result<Vec<u8>, LinkError> {
        let now = now();
        let claims = self.node.with_rng(|rng| {
            Claims::new(
                self.node.id(),
                self.person,
                now,
                DEVICE_CALL_LIFETIME_SECS,
                rng,
            )
        });
        Ok(self
            .node
            .sign_device_message(&DeviceMessage { claims, body })?)
    }

    /// Pairs with the code's `secret` under `name`; returns the delegation.
    pub async fn pair(
        &self,
        secret: &[u8; PAIRING_SECRET_BYTES],
        name: &str,
    ) -> Result<Vec<u8>, LinkError> {
        let pairing = self.sign(DeviceBody::Pairing(Pairing {
            proof: pairing_proof(secret, &self.node.id()),
            name: name.to_string(),
            peer: self.client.peer_id().to_bytes(),
        }))?;
        match self
            .send(|| Ok(DeviceRequest::Pair(pairing.clone())))
            .await?
        {
            DeviceResponse::Paired(delegation) => Ok(delegation),
            _ => Err(LinkError::Unexpected),
        }
    }

    /// Sends `op` with `delegation`; returns the answer's status and body.
    pub async fn call(
        &self,
        delegation: &[u8],
        op: &DeviceOp,
    ) -> Result<(u16, Vec<u8>), LinkError> {
        let call = || {
            let signed = self.sign(DeviceBody::Call(DeviceCall {
                delegation: delegation.to_vec(),
                peer: self.client.peer_id().to_bytes(),
                call: op.encode(),
            }))?;
            Ok(DeviceRequest::Call(signed))
        };
        match self.send(call).await? {
            DeviceResponse::Answer { status, body } => Ok((status, body)),
            _ => Err(LinkError::Unexpected),
        }
    }
}
