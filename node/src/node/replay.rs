//! The persistent replay store: the ids of accepted messages, kept until they
//! expire, so that a replayed message is refused. Entries are `s/<id>` (keep-until,
//! 8 big-endian bytes) and an expiry index `S/<keep-until><id>`, written in the
//! transaction that accepts the message; bounded by
//! [`NodeConfig::seen_ids_capacity`](crate::NodeConfig::seen_ids_capacity).

use passport_protocol::{MessageId, ProtocolError, SeenIds, Timestamp};

use super::Tx;
use crate::error::NodeError;

pub(crate) const SEEN_PREFIX: &[u8] = b"s/";
pub(crate) const SEEN_EXPIRY_PREFIX: &[u8] = b"S/";

fn seen_key(id: &MessageId) -> Vec<u8> {
    [SEEN_PREFIX, id.as_bytes()].concat()
}

fn seen_expiry_key(at: Timestamp, id: &MessageId) -> Vec<u8> {
    [
        SEEN_EXPIRY_PREFIX,
        &at.as_secs().to_be_bytes()[..],
        id.as_bytes(),
    ]
    .concat()
}

impl Tx<'_> {
    /// Removes seen ids whose keep time has passed.
    pub(crate) fn purge_seen(&mut self) -> Result<(), NodeError> {
        let now = self.now.as_secs();
        for (k, _) in self.node.storage().scan_prefix(SEEN_EXPIRY_PREFIX)? {
            let Some(at) = k
                .get(2..10)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
            else {
                continue;
            };
            if at >= now {
                break;
            }
            if let Some(id) = k.get(10..26) {
                self.batch.delete([SEEN_PREFIX, id].concat());
            }
            self.batch.delete(k);
            self.seen_count = self.seen_count.saturating_sub(1);
        }
        Ok(())
    }
}

impl SeenIds for Tx<'_> {
    fn check_and_insert(
        &mut self,
        id: MessageId,
        keep_until: Timestamp,
        now: Timestamp,
    ) -> Result<(), ProtocolError> {
        let key = seen_key(&id);
        match self.node.storage().get(&key) {
            Ok(Some(v)) => {
                let until = <[u8; 8]>::try_from(v.as_slice())
                    .map(u64::from_be_bytes)
                    .unwrap_or(u64::MAX);
                if until >= now.as_secs() {
                    return Err(ProtocolError::Replayed { id });
                }
            }
            Ok(None) => {}
            Err(e) => {
                // The typed storage error is what the caller reports (see
                // `Tx::check_received`).
                self.storage_error = Some(e);
                return Err(ProtocolError::ReplayStoreUnavailable);
            }
        }
        let capacity = self.node.config().seen_ids_capacity;
        if self.seen_count >= capacity {
            if let Err(e) = self.purge_seen() {
                self.storage_error = Some(e);
            }
            if self.seen_count >= capacity {
                return Err(ProtocolError::ReplayStoreFull {
                    capacity: capacity as usize,
                });
            }
        }
        self.batch
            .put(key, keep_until.as_secs().to_be_bytes().to_vec());
        self.batch.put(seen_expiry_key(keep_until, &id), Vec::new());
        self.seen_count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{
        Node, NodeConfig,
        home::Keys,
        storage::{Batch, Entries, MemoryStorage, Storage},
    };

    /// A store whose reads of seen message ids fail, as a broken disk's would.
    struct UnreadableSeenIds(MemoryStorage);

    impl Storage for UnreadableSeenIds {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, NodeError> {
            if key.starts_with(SEEN_PREFIX) {
                return Err(NodeError::Storage("input/output error".into()));
            }
            self.0.get(key)
        }
        fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries, NodeError> {
            self.0.scan_prefix(prefix)
        }
        fn apply(&self, batch: Batch) -> Result<(), NodeError> {
            self.0.apply(batch)
        }
        fn flush(&self) -> Result<(), NodeError> {
            Ok(())
        }
    }

    #[test]
    fn a_replay_store_that_cannot_be_read_reports_the_storage_error_not_a_full_store() {
        let now = Timestamp::from_secs(1_800_000_000);
        let person = Node::with_storage(
            Keys::generate(),
            Arc::new(UnreadableSeenIds(MemoryStorage::new())),
            NodeConfig::default(),
            None,
        )
        .unwrap();
        let merchant = Node::in_memory(NodeConfig::default()).unwrap();
        let spec =
            crate::RequestSpec::new("Shop", ["name.given".parse().unwrap()], "delivery", 86_400);
        let request = merchant.request(person.id(), spec, now).unwrap();
        let err = person.receive(&request, now).unwrap_err();
        assert!(
            matches!(&err, NodeError::Storage(detail) if detail.contains("input/output")),
            "{err:?}"
        );
        assert!(
            !err.to_string().contains("too many recent messages"),
            "{err}"
        );
        // What the replay check itself says, should anyone read it.
        let seen = person.tx(now, |tx| {
            Ok(tx.check_and_insert(MessageId::random(&mut rand::rng()), now, now))
        });
        assert!(
            matches!(seen, Ok(Err(ProtocolError::ReplayStoreUnavailable))),
            "{seen:?}"
        );
    }
}
