//! Two live copies of one passport: how a copy learns that another one took over.
//!
//! Every copy has an epoch: 0 for a passport never restored, the backup's plus one
//! for a restored one (`meta/epoch`, not personal data). The epoch is the high
//! part of every record's sequence ([`PeerRecord::sequence_for`]), so the DHT keeps
//! the later epoch's record and refuses the earlier one's as stale, and lookups
//! find the later copy. A copy looks its own record up when it starts and every
//! [`COPY_CHECK_EVERY`] (publishing meanwhile as always); if the record found names another node and
//! [`other_copy`] says it outranks this one, this copy records that (an audit
//! entry and `meta/other_copy`), stops its network, and refuses to start it again.
//! Its store stays readable; the person moves to the live copy (or backs the live
//! copy up and restores it here).

use std::time::Duration;

use passport_protocol::{PeerRecord, Timestamp};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::{
    audit::AuditEvent,
    error::NodeError,
    net::Client,
    node::{Node, Tx, system_now},
};

/// How often a running node looks its own record up for another copy: 5 minutes.
pub const COPY_CHECK_EVERY: Duration = Duration::from_secs(300);

/// The copy's epoch (a big-endian u64; absent means 0).
const EPOCH_KEY: &[u8] = b"meta/epoch";
/// The other copy found, once one is.
const OTHER_COPY_KEY: &[u8] = b"meta/other_copy";

/// Another live copy of this passport, as its record showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherCopy {
    /// Its epoch.
    pub epoch: u64,
    /// Its network identity (PeerId), as text.
    pub peer: String,
    /// When it made the record seen.
    pub published_at: Timestamp,
    /// When this copy saw it.
    pub seen_at: Timestamp,
}

impl std::fmt::Display for OtherCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "another copy of this passport is live (epoch {}, node {}, seen {}): this copy stopped its network so the two cannot diverge; use the other copy, or back it up and restore it here",
            self.epoch,
            self.peer,
            crate::human::time(self.seen_at)
        )
    }
}

/// Whether `found`, this passport's record as the DHT gave it, comes from another
/// copy that outranks this one: one at a later epoch, or one at the same epoch
/// (the same backup restored twice) that published after this copy started. A
/// record naming this node (`my_peer`, a PeerId's bytes) is this copy's own.
pub fn other_copy(
    found: &PeerRecord,
    my_epoch: u64,
    my_peer: &[u8],
    started_at: Timestamp,
    now: Timestamp,
) -> Option<OtherCopy> {
    if found.peers.iter().any(|peer| peer == my_peer) {
        return None;
    }
    let outranks =
        found.epoch() > my_epoch || (found.epoch() == my_epoch && found.issued_at > started_at);
    outranks.then(|| OtherCopy {
        epoch: found.epoch(),
        peer: found
            .peers
            .first()
            .and_then(|bytes| libp2p::PeerId::from_bytes(bytes).ok())
            .map_or_else(|| "unknown".to_string(), |peer| peer.to_string()),
        published_at: found.issued_at,
        seen_at: now,
    })
}

impl Node {
    /// This copy's epoch: 0 until the passport is first restored from a backup.
    pub fn epoch(&self) -> Result<u64, NodeError> {
        Ok(self
            .storage()
            .get(EPOCH_KEY)?
            .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_slice()).ok())
            .map_or(0, u64::from_be_bytes))
    }

    /// The other live copy this one found, if it ever found one: then it must not
    /// start its network again.
    pub fn other_copy(&self) -> Result<Option<OtherCopy>, NodeError> {
        self.get(OTHER_COPY_KEY)
    }

    /// Records that `copy` outranks this one (an audit entry and the marker
    /// [`Node::other_copy`] reads).
    pub fn record_other_copy(&self, copy: &OtherCopy) -> Result<(), NodeError> {
        self.tx(copy.seen_at, |tx| {
            tx.put(OTHER_COPY_KEY.to_vec(), copy);
            tx.audit(
                AuditEvent::OtherCopyFound {
                    epoch: copy.epoch,
                    peer: copy.peer.clone(),
                },
                None,
            );
            Ok(())
        })
    }
}

/// Longest a starting node waits for its first peer before its first look: the
/// look finds nothing without one.
const FIRST_PEER_WAIT: Duration = Duration::from_secs(10);

/// Runs `publish` at once, and looks for another live copy at start (waiting up to
/// [`FIRST_PEER_WAIT`] for a peer when there are bootstrap peers to wait for) and
/// then every `every`. Publishing need not wait for the look: DHT peers holding a
/// later epoch's record refuse this copy's as stale, and a lookup of this node's
/// own key finds the later one. When a copy outranks this one: records it, stops
/// the network and tells `found`. A look that fails (no peer answers) is simply
/// made again at the next tick.
pub(crate) async fn watch(
    node: Node,
    client: Client,
    every: Duration,
    found: watch::Sender<Option<OtherCopy>>,
    publish: impl Future<Output = ()> + Send + 'static,
) {
    let publishing = tokio::spawn(publish);
    let started_at = system_now();
    let me = client.peer_id().to_bytes();
    if !client.config().bootstrap.is_empty() {
        let deadline = tokio::time::Instant::now() + FIRST_PEER_WAIT;
        while tokio::time::Instant::now() < deadline
            && client.status().await.is_ok_and(|s| s.connected_peers == 0)
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    loop {
        if let Ok(record) = client.lookup(node.id()).await {
            let epoch = node.epoch().unwrap_or_default();
            if let Some(copy) = other_copy(&record, epoch, &me, started_at, system_now()) {
                tracing::error!("{copy}");
                let recording = (node.clone(), copy.clone());
                let recorded = tokio::task::spawn_blocking(move || {
                    recording.0.record_other_copy(&recording.1)
                })
                .await;
                if !matches!(recorded, Ok(Ok(()))) {
                    tracing::warn!("could not record the other copy in the store");
                }
                publishing.abort();
                let _ = client.shutdown().await;
                let _ = found.send(Some(copy));
                return;
            }
        }
        tokio::time::sleep(every).await;
    }
}

impl Tx<'_> {
    /// Sets this copy's epoch.
    pub(crate) fn set_epoch(&mut self, epoch: u64) {
        self.batch
            .put(EPOCH_KEY.to_vec(), epoch.to_be_bytes().to_vec());
    }
}

#[cfg(test)]
mod tests {
    use passport_protocol::{IdentityKey, SealingPublicKey};

    use super::*;

    fn record(epoch: u64, peer: u8, issued_at: u64) -> PeerRecord {
        let key = IdentityKey::from_secret_bytes(&[1; 32]);
        PeerRecord {
            id: key.id(),
            sequence: PeerRecord::sequence_for(epoch, Timestamp::from_secs(issued_at)),
            peers: vec![vec![peer]],
            addresses: Vec::new(),
            seal_key: SealingPublicKey::from_bytes([9; 32]),
            mailboxes: Vec::new(),
            issued_at: Timestamp::from_secs(issued_at),
            expires_at: Timestamp::from_secs(issued_at + 3600),
        }
    }

    #[test]
    fn only_another_node_at_a_later_epoch_or_newer_at_the_same_one_outranks_this_copy() {
        let started = Timestamp::from_secs(1_000);
        let now = Timestamp::from_secs(2_000);
        let me = [7u8];
        // This copy's own record, whatever its epoch.
        assert_eq!(other_copy(&record(3, 7, 1_500), 0, &me, started, now), None);
        // The old copy's record (an earlier epoch) seen by the restored one.
        assert_eq!(other_copy(&record(0, 8, 1_500), 1, &me, started, now), None);
        // A restored copy seen by the old one.
        let found = other_copy(&record(1, 8, 500), 0, &me, started, now).unwrap();
        assert_eq!(
            (found.epoch, found.published_at),
            (1, Timestamp::from_secs(500))
        );
        // Same epoch: a record from before this copy started is a predecessor (a
        // replaced network key); one published since is a second live copy.
        assert_eq!(other_copy(&record(1, 8, 900), 1, &me, started, now), None);
        assert!(other_copy(&record(1, 8, 1_100), 1, &me, started, now).is_some());
    }

    #[test]
    fn the_epoch_and_the_other_copy_survive_in_the_store() {
        let node = Node::in_memory(crate::NodeConfig::default()).unwrap();
        assert_eq!(node.epoch().unwrap(), 0);
        assert_eq!(node.other_copy().unwrap(), None);
        node.tx(Timestamp::from_secs(10), |tx| {
            tx.set_epoch(4);
            Ok(())
        })
        .unwrap();
        assert_eq!(node.epoch().unwrap(), 4);
        let copy = OtherCopy {
            epoch: 5,
            peer: "12D3Koo".into(),
            published_at: Timestamp::from_secs(11),
            seen_at: Timestamp::from_secs(12),
        };
        node.record_other_copy(&copy).unwrap();
        assert_eq!(node.other_copy().unwrap(), Some(copy));
        let last = node.audit_entries().unwrap().pop().unwrap();
        assert!(matches!(
            last.event,
            AuditEvent::OtherCopyFound { epoch: 5, .. }
        ));
    }
}
