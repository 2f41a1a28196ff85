//! Converged routing tables, computed from the plan instead of learned by
//! joining: what each node's Kademlia table would hold once the network has
//! settled (`[protocol] routing_tables = "converged"`).
//!
//! Joining by bootstrap costs each node CPU that grows with the network (every
//! join is a storm of lookups that every other node answers), so past a couple
//! of thousand nodes the join, not the workload, is the run. A converged table
//! holds, for each bucket of the node's key space, up to *k* DHT servers drawn
//! at random (seeded) from the servers at that distance: every server when there
//! are fewer, as a real table has once it has met them all.
//!
//! Keys are Kademlia's (SHA-256 of the PeerId, `kad::KBucketKey`). The servers
//! are sorted by key once; the servers at bucket distance *i* from a key are then
//! one contiguous run of that order, found by halving, so the tables of N nodes
//! cost O(N log² N).

use libp2p::{PeerId, kad::KBucketKey};
use rand::{SeedableRng as _, seq::index};
use rand_chacha::ChaCha8Rng;

/// A node's Kademlia key: 256 bits, compared as a big-endian number.
pub type KadKey = [u8; 32];

/// Kademlia's key of `peer`.
pub fn kad_key(peer: &PeerId) -> KadKey {
    let mut key = [0u8; 32];
    key.copy_from_slice(KBucketKey::from(*peer).hashed_bytes());
    key
}

fn bit(key: &KadKey, position: usize) -> bool {
    key[position / 8] >> (7 - position % 8) & 1 == 1
}

/// For every node, the servers its converged table holds (indices into `keys`),
/// at most `k` per bucket. `servers[i]` says whether node `i` serves the DHT
/// (only servers are in tables); `seed` fixes the random choice in each bucket.
pub fn converged(keys: &[KadKey], servers: &[bool], k: usize, seed: u64) -> Vec<Vec<u32>> {
    let mut sorted: Vec<u32> = (0..keys.len() as u32)
        .filter(|&i| servers[i as usize])
        .collect();
    sorted.sort_unstable_by_key(|&i| keys[i as usize]);
    keys.iter()
        .enumerate()
        .map(|(node, key)| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (node as u64).wrapping_mul(0x9e37_79b9));
            let mut table = Vec::new();
            // Servers sharing the first `position` bits with `key`.
            let (mut low, mut high) = (0, sorted.len());
            for position in 0..256 {
                if low >= high {
                    break;
                }
                let run = &sorted[low..high];
                let split = low + run.partition_point(|&i| !bit(&keys[i as usize], position));
                // The other half differs first at `position`: one bucket.
                let (bucket, ours) = if bit(key, position) {
                    (low..split, (split, high))
                } else {
                    (split..high, (low, split))
                };
                let members = &sorted[bucket];
                if members.len() <= k {
                    table.extend(members.iter().filter(|&&i| i as usize != node));
                } else {
                    for chosen in index::sample(&mut rng, members.len(), k) {
                        table.push(members[chosen]);
                    }
                }
                (low, high) = ours;
                // Only the node itself left: no nearer bucket.
                if high - low == 1 && sorted[low] as usize == node {
                    break;
                }
            }
            table
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> Vec<KadKey> {
        (0..n).map(|_| kad_key(&PeerId::random())).collect()
    }

    /// The bucket of `b` in `a`'s table: 255 minus the leading bits they share.
    fn bucket(a: &KadKey, b: &KadKey) -> usize {
        let shared = (0..256).take_while(|&p| bit(a, p) == bit(b, p)).count();
        255 - shared
    }

    #[test]
    fn each_bucket_holds_k_servers_at_its_distance_or_all_of_them() {
        let n = 2_000;
        let keys = keys(n);
        let servers: Vec<bool> = (0..n).map(|i| i % 5 != 0).collect();
        let k = 20;
        let tables = converged(&keys, &servers, k, 7);
        for (node, table) in tables.iter().enumerate().step_by(97) {
            let mut by_bucket = std::collections::BTreeMap::<usize, Vec<usize>>::new();
            for &peer in table {
                let peer = peer as usize;
                assert_ne!(peer, node, "a node is not in its own table");
                assert!(servers[peer], "only servers are in tables");
                by_bucket
                    .entry(bucket(&keys[node], &keys[peer]))
                    .or_default()
                    .push(peer);
            }
            // Brute force: every server at each distance.
            let mut all = std::collections::BTreeMap::<usize, usize>::new();
            for peer in (0..n).filter(|&p| p != node && servers[p]) {
                *all.entry(bucket(&keys[node], &keys[peer])).or_default() += 1;
            }
            for (b, count) in &all {
                let held = by_bucket.get(b).map_or(0, Vec::len);
                assert_eq!(held, (*count).min(k), "node {node}, bucket {b}");
            }
            for held in by_bucket.values() {
                let mut unique = held.clone();
                unique.sort_unstable();
                unique.dedup();
                assert_eq!(unique.len(), held.len(), "no server twice");
            }
        }
        // Same seed, same tables; another seed, other choices in full buckets.
        assert_eq!(tables, converged(&keys, &servers, k, 7));
        assert_ne!(tables, converged(&keys, &servers, k, 8));
    }

    #[test]
    fn the_key_is_kademlias() {
        let peer = PeerId::random();
        let ours = kad_key(&peer);
        let other = PeerId::random();
        let distance = KBucketKey::from(peer).distance(&KBucketKey::from(other));
        let expected = distance.ilog2().map(|d| d as usize);
        assert_eq!(Some(bucket(&ours, &kad_key(&other))), expected);
    }
}
