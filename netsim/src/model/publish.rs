//! Publishing a node's record: the PutRecord query, its timeout and the first
//! publication's retries, and storing at the closest peers.

use super::{Ev, Model, Query, QueryKind, RECORD_BYTES};

/// A first publication that timed out is tried again after 200 ms, then twice as
/// long each time up to a minute (`publish_until_taken`).
pub(super) const FIRST_RETRY_MS: u32 = 200;
/// See `FIRST_RETRY_MS`.
const MAX_RETRY_MS: u32 = 60_000;

impl Model {
    /// Publishes `node`'s record; `retry_ms` as in [`QueryKind::Publish`].
    pub(super) fn publish(&mut self, node: u32, retry_ms: Option<u32>) {
        // put_record stores locally first.
        self.store(node, node);
        let target = self.record_keys[node as usize];
        let query = self.new_query(
            node,
            target,
            QueryKind::Publish {
                owner: node,
                retry_ms,
            },
            self.replication,
        );
        self.drive(query);
    }

    /// A publication timed out: a first one is tried again after its backoff,
    /// which doubles up to a minute.
    pub(super) fn publish_failed(&mut self, q: &Query) {
        if let QueryKind::Publish {
            owner,
            retry_ms: Some(wait),
        } = q.kind
        {
            self.at(
                self.now + u64::from(wait) * 1_000_000,
                Ev::Republish {
                    node: owner,
                    session: q.session,
                    retry_ms: Some((wait * 2).min(MAX_RETRY_MS)),
                },
            );
        }
    }

    pub(super) fn put(&mut self, owner: u32, from: u32, peer: u32) {
        let Some(took) = self.exchange(from, peer, RECORD_BYTES, Some(RECORD_BYTES)) else {
            return;
        };
        self.counters[peer as usize].put_record += 1;
        let session = self.sessions[peer as usize];
        self.at(
            self.now + took,
            Ev::Stored {
                owner,
                holder: peer,
                session,
            },
        );
    }
}
