//! Replaying a lookup's hops on the routing tables, for the hop counts the report
//! gives (libp2p does not expose a live query's path).

use std::collections::{BTreeMap, HashSet};

use libp2p::{
    PeerId,
    kad::{KBucketDistance, KBucketKey},
};
use passport_node::protocol::{PassportId, PeerRecord};

use super::Sim;

impl Sim {
    /// The hops of a lookup for `id` from `merchant`, replayed on the routing
    /// tables as they are now: closest-first, each peer's depth one more than that
    /// of the first peer that named it, until a peer holds the record. libp2p does
    /// not expose a live query's path; see the README for what this does and does
    /// not measure.
    pub(super) async fn replay_hops(&self, merchant: usize, id: PassportId) -> Option<u32> {
        let target = KBucketKey::new(PeerRecord::dht_key(&id));
        let distance =
            |peer: &PeerId| -> KBucketDistance { KBucketKey::from(*peer).distance(&target) };
        let start = self.client(merchant)?.routing_view(id).await.ok()?;
        if start.holds_record {
            return Some(0);
        }
        let mut seen: HashSet<PeerId> = start.closest.iter().copied().collect();
        seen.insert(self.peer_of(merchant));
        let mut queue: BTreeMap<KBucketDistance, (PeerId, u32)> = start
            .closest
            .iter()
            .map(|p| (distance(p), (*p, 1)))
            .collect();
        let mut contacted = 0;
        while let Some((_, (peer, depth))) = queue.pop_first() {
            contacted += 1;
            if contacted > 200 {
                return None;
            }
            // Unknown, NAT'd or offline peers fail, as a real dial to them would.
            let Some(&index) = self.by_peer.get(&peer) else {
                continue;
            };
            if self.plan.nodes[index].behind_nat {
                continue;
            }
            let Some(client) = self.client(index) else {
                continue;
            };
            let Ok(view) = client.routing_view(id).await else {
                continue;
            };
            if view.holds_record {
                return Some(depth);
            }
            for p in view.closest {
                if seen.insert(p) {
                    queue.insert(distance(&p), (p, depth + 1));
                }
            }
        }
        None
    }
}
