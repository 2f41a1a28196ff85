//! The audit log: append-only, hash-chained, encrypted at rest.
//!
//! Entry `n` is stored under `a/<n as 8 big-endian bytes>`, encrypted under the data
//! key with the constant AAD `passport/v1 audit` (not the key, so that an entry
//! moved to another slot still decrypts and is reported as moved rather than as
//! damaged). Its plaintext carries its own sequence number, the hash of the previous
//! entry and its own hash: SHA-256 over the previous hash and the CBOR of
//! `(seq, at, event, message)`. The head (`meta/audit_head`: entry count and last hash) is
//! written in the same batch as each entry, so a removed tail is detected too.
//!
//! What an entry says, [`AuditEvent`], is in `event.rs`.

mod event;

use passport_protocol::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use self::event::AuditEvent;
use crate::{
    crypt::DataKey,
    error::NodeError,
    storage::{Batch, Storage},
};

const AAD_AUDIT: &[u8] = b"passport/v1 audit";
const AAD_HEAD: &[u8] = b"passport/v1 audit head";
const HEAD_KEY: &[u8] = b"meta/audit_head";
const PREFIX: &[u8] = b"a/";

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position, from 0.
    pub seq: u64,
    /// When.
    pub at: Timestamp,
    /// What.
    pub event: AuditEvent,
    /// The signed message involved, if any (raw COSE bytes an auditor can verify).
    #[serde(with = "serde_bytes")]
    pub message: Option<Vec<u8>>,
    /// Hash of the previous entry (zeros for the first).
    #[serde(with = "serde_bytes")]
    pub prev: [u8; 32],
    /// This entry's hash.
    #[serde(with = "serde_bytes")]
    pub hash: [u8; 32],
}

fn entry_hash(
    prev: &[u8; 32],
    seq: u64,
    at: Timestamp,
    event: &AuditEvent,
    message: &Option<Vec<u8>>,
) -> [u8; 32] {
    let mut body = Vec::new();
    // Serializing our own types to a Vec cannot fail.
    let message = message.as_deref().map(serde_bytes::Bytes::new);
    let _ = ciborium::ser::into_writer(&(seq, at, event, message), &mut body);
    let mut h = Sha256::new();
    h.update(prev);
    h.update(&body);
    h.finalize().into()
}

fn entry_key(seq: u64) -> Vec<u8> {
    let mut k = PREFIX.to_vec();
    k.extend(seq.to_be_bytes());
    k
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) count: u64,
    #[serde(with = "serde_bytes")]
    pub(crate) last: [u8; 32],
}

pub(crate) fn read_head(storage: &dyn Storage, key: &DataKey) -> Result<Head, NodeError> {
    match storage.get(HEAD_KEY)? {
        Some(sealed) => key.open_record(AAD_HEAD, &sealed),
        None => Ok(Head::default()),
    }
}

/// Adds the entry after `head` to `batch` and returns the new head.
pub(crate) fn append(
    batch: &mut Batch,
    key: &DataKey,
    head: Head,
    at: Timestamp,
    event: AuditEvent,
    message: Option<Vec<u8>>,
) -> Head {
    let seq = head.count;
    let hash = entry_hash(&head.last, seq, at, &event, &message);
    let entry = AuditEntry {
        seq,
        at,
        event,
        message,
        prev: head.last,
        hash,
    };
    batch.put(entry_key(seq), key.seal_record(AAD_AUDIT, &entry));
    let head = Head {
        count: seq + 1,
        last: hash,
    };
    batch.put(HEAD_KEY.to_vec(), key.seal_record(AAD_HEAD, &head));
    head
}

/// What is wrong with one place in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "problem")]
pub enum AuditProblem {
    /// The entry in slot `seq` was altered (does not decrypt, or its hash is wrong).
    Modified {
        /// The slot.
        seq: u64,
    },
    /// Entries `from..to` are missing.
    Deleted {
        /// First missing.
        from: u64,
        /// One past the last missing.
        to: u64,
    },
    /// Slot `seq` holds a copy of an entry that belongs elsewhere, or an entry
    /// beyond the recorded end.
    Inserted {
        /// The slot.
        seq: u64,
    },
    /// Slot `seq` holds the entry that belongs in slot `belongs_at`.
    Reordered {
        /// The slot.
        seq: u64,
        /// Where the entry belongs.
        belongs_at: u64,
    },
    /// The entry's link to the previous one is broken (forged with the data key).
    ChainBroken {
        /// The slot.
        seq: u64,
    },
}

/// The result of [`Node::verify_audit`](crate::Node::verify_audit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Entries found.
    pub entries: u64,
    /// Everything wrong, in slot order. Empty means the log is intact.
    pub problems: Vec<AuditProblem>,
}

impl AuditReport {
    /// Whether the log is intact.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Reads every entry, in order.
pub(crate) fn read_all(storage: &dyn Storage, key: &DataKey) -> Result<Vec<AuditEntry>, NodeError> {
    storage
        .scan_prefix(PREFIX)?
        .into_iter()
        .map(|(_, sealed)| key.open_record(AAD_AUDIT, &sealed))
        .collect()
}

/// Checks the whole log: every entry decrypts, hashes correctly, sits in its own
/// slot, links to the one before, and the count matches the head.
pub(crate) fn verify(storage: &dyn Storage, key: &DataKey) -> Result<AuditReport, NodeError> {
    let head = read_head(storage, key)?;
    let mut problems = Vec::new();
    let mut expected_seq = 0u64;
    let mut expected_prev = Some([0u8; 32]);
    let mut seen_seqs = std::collections::BTreeSet::new();
    let slots = storage.scan_prefix(PREFIX)?;
    let entries = slots.len() as u64;
    for (k, sealed) in slots {
        let Some(slot) = k
            .get(PREFIX.len()..)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes)
        else {
            problems.push(AuditProblem::Inserted { seq: expected_seq });
            continue;
        };
        if slot > expected_seq {
            problems.push(AuditProblem::Deleted {
                from: expected_seq,
                to: slot,
            });
            expected_prev = None;
        }
        expected_seq = slot + 1;
        let Ok(entry) = key.open_record::<AuditEntry>(AAD_AUDIT, &sealed) else {
            problems.push(AuditProblem::Modified { seq: slot });
            expected_prev = None;
            continue;
        };
        if entry_hash(
            &entry.prev,
            entry.seq,
            entry.at,
            &entry.event,
            &entry.message,
        ) != entry.hash
        {
            problems.push(AuditProblem::Modified { seq: slot });
            expected_prev = None;
            continue;
        }
        let first_time = seen_seqs.insert(entry.seq);
        if entry.seq != slot {
            problems.push(if !first_time || entry.seq >= head.count {
                AuditProblem::Inserted { seq: slot }
            } else {
                AuditProblem::Reordered {
                    seq: slot,
                    belongs_at: entry.seq,
                }
            });
            expected_prev = None;
            continue;
        }
        if slot >= head.count {
            problems.push(AuditProblem::Inserted { seq: slot });
            continue;
        }
        if expected_prev.is_some_and(|p| p != entry.prev) {
            problems.push(AuditProblem::ChainBroken { seq: slot });
        }
        expected_prev = Some(entry.hash);
    }
    if head.count > expected_seq {
        problems.push(AuditProblem::Deleted {
            from: expected_seq,
            to: head.count,
        });
    }
    Ok(AuditReport { entries, problems })
}

#[cfg(test)]
mod tests {
    use zeroize::Zeroizing;

    use super::*;
    use crate::storage::MemoryStorage;

    fn log_of(n: u64) -> (MemoryStorage, DataKey) {
        let storage = MemoryStorage::new();
        let key = DataKey::new(&Zeroizing::new([3; 32]));
        let mut head = Head::default();
        for i in 0..n {
            let mut batch = Batch::new();
            let event = AuditEvent::PolicyChanged {
                policy: i,
                added: true,
            };
            head = append(&mut batch, &key, head, Timestamp::from_secs(i), event, None);
            storage.apply(batch).unwrap();
        }
        (storage, key)
    }

    fn raw(storage: &MemoryStorage, seq: u64) -> Vec<u8> {
        storage.get(&entry_key(seq)).unwrap().unwrap()
    }

    fn put_raw(storage: &MemoryStorage, seq: u64, value: Vec<u8>) {
        let mut b = Batch::new();
        b.put(entry_key(seq), value);
        storage.apply(b).unwrap();
    }

    #[test]
    fn an_untouched_log_verifies() {
        let (s, k) = log_of(6);
        let report = verify(&s, &k).unwrap();
        assert_eq!(
            report,
            AuditReport {
                entries: 6,
                problems: vec![]
            }
        );
    }

    #[test]
    fn a_modified_entry_is_reported() {
        let (s, k) = log_of(6);
        let mut bytes = raw(&s, 2);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        put_raw(&s, 2, bytes);
        assert_eq!(
            verify(&s, &k).unwrap().problems,
            vec![AuditProblem::Modified { seq: 2 }]
        );
        // Rewritten with the data key (content changed, hash not recomputed).
        let (s, k) = log_of(6);
        let mut entry: AuditEntry = k.open_record(AAD_AUDIT, &raw(&s, 3)).unwrap();
        entry.at = Timestamp::from_secs(999);
        put_raw(&s, 3, k.seal_record(AAD_AUDIT, &entry));
        assert_eq!(
            verify(&s, &k).unwrap().problems,
            vec![AuditProblem::Modified { seq: 3 }]
        );
    }

    #[test]
    fn a_deleted_entry_is_reported_in_the_middle_and_at_the_end() {
        let (s, k) = log_of(6);
        let mut b = Batch::new();
        b.delete(entry_key(2));
        s.apply(b).unwrap();
        assert_eq!(
            verify(&s, &k).unwrap().problems,
            vec![AuditProblem::Deleted { from: 2, to: 3 }]
        );
        let (s, k) = log_of(6);
        let mut b = Batch::new();
        b.delete(entry_key(5));
        s.apply(b).unwrap();
        assert_eq!(
            verify(&s, &k).unwrap().problems,
            vec![AuditProblem::Deleted { from: 5, to: 6 }]
        );
    }

    #[test]
    fn an_inserted_entry_is_reported() {
        let (s, k) = log_of(6);
        put_raw(&s, 6, raw(&s, 1)); // a copy of entry 1 appended at the end
        assert_eq!(
            verify(&s, &k).unwrap().problems,
            vec![AuditProblem::Inserted { seq: 6 }]
        );
    }

    #[test]
    fn reordered_entries_are_reported() {
        let (s, k) = log_of(6);
        let (two, three) = (raw(&s, 2), raw(&s, 3));
        put_raw(&s, 2, three);
        put_raw(&s, 3, two);
        assert_eq!(
            verify(&s, &k).unwrap().problems,
            vec![
                AuditProblem::Reordered {
                    seq: 2,
                    belongs_at: 3
                },
                AuditProblem::Reordered {
                    seq: 3,
                    belongs_at: 2
                }
            ]
        );
    }

    #[test]
    fn a_forged_entry_with_the_data_key_breaks_the_chain() {
        let (s, k) = log_of(6);
        let entry: AuditEntry = k.open_record(AAD_AUDIT, &raw(&s, 3)).unwrap();
        let event = AuditEvent::PolicyChanged {
            policy: 77,
            added: false,
        };
        let forged_prev = [9u8; 32];
        let hash = entry_hash(&forged_prev, 3, entry.at, &event, &None);
        let forged = AuditEntry {
            event,
            prev: forged_prev,
            hash,
            ..entry
        };
        put_raw(&s, 3, k.seal_record(AAD_AUDIT, &forged));
        assert!(
            verify(&s, &k)
                .unwrap()
                .problems
                .contains(&AuditProblem::ChainBroken { seq: 3 })
        );
    }
}
