//! The workspace's patched libp2p-kad (netsim/patches/PATCH.md) answers as
//! upstream does: the closest-peers iterator, which now skips empty buckets
//! without moving its buffer, still yields every peer of the table in order of
//! distance, and lazily allocated buckets still fill to k.

#![allow(clippy::unwrap_used)]

mod common;

use libp2p::{PeerId, kad::KBucketKey};

#[test]
fn the_closest_peers_come_in_order_of_distance_and_none_is_missed() {
    let mut kad = common::kad_table_of(3_000);
    let in_table: Vec<PeerId> = kad
        .kbuckets()
        .flat_map(|bucket| {
            bucket
                .iter()
                .map(|entry| *entry.node.key.preimage())
                .collect::<Vec<_>>()
        })
        .collect();
    // Buckets hold k = 20 each, so most of the 3,000 were turned away; the
    // nearest buckets hold fewer.
    assert!(
        in_table.len() > 100 && in_table.len() < 400,
        "{}",
        in_table.len()
    );
    let full = kad.kbuckets().filter(|b| b.num_entries() == 20).count();
    assert!(full >= 5, "{full} full buckets");
    for _ in 0..50 {
        let target = KBucketKey::from(PeerId::random());
        let mut expected = in_table.clone();
        expected.sort_by_key(|peer| target.distance(&KBucketKey::from(*peer)));
        let got: Vec<PeerId> = kad
            .get_closest_local_peers(&target)
            .map(|key| *key.preimage())
            .collect();
        assert_eq!(got, expected);
        // What the node answers a FIND_NODE with: the first k of the same order.
        let source = PeerId::random();
        let answered: Vec<PeerId> = kad
            .find_closest_local_peers(&target, &source)
            .map(|peer| peer.node_id)
            .collect();
        assert_eq!(answered, expected[..20]);
    }
}
