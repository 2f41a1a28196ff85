//! DHT lookups and records: a [`Lookup`] under way and what it cost
//! ([`LookupTrace`]), one node's [`RoutingView`] of a key, and the filter every
//! inbound record passes before it is stored ([`accept_record`]), with why it may
//! refuse one ([`RecordRejection`]).

use std::collections::HashMap;

use libp2p::{
    PeerId,
    kad::{self, store::MemoryStore},
};
use passport_protocol::{PassportId, PeerRecord, ProtocolError, verify_record};
use tokio::sync::oneshot;

use super::error::NetError;
use crate::node::system_now as now;

/// What a DHT lookup cost, from Kademlia's own count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LookupTrace {
    /// Requests sent to peers.
    pub requests: u32,
    /// Of those, the ones answered.
    pub successes: u32,
    /// Of those, the ones that failed (unreachable peer, timeout).
    pub failures: u32,
}

/// One node's local view of a key; see `Client::routing_view`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingView {
    /// The closest peers to the key in its routing table, closest first, as many as
    /// it would answer a request with.
    pub closest: Vec<PeerId>,
    /// Whether its record store holds a valid record for the key.
    pub holds_record: bool,
}

pub(super) type LookupAnswer = (Result<PeerRecord, NetError>, LookupTrace);

/// Valid records a lookup gathers before it answers with the newest of them (or
/// fewer, if the query ends first). A node that moved (a new relay, say) stores its
/// new record on the peers closest to its key *then*; peers that held the old one
/// keep it until it expires, so the first record found can be stale.
const LOOKUP_RECORDS: usize = 3;

/// A lookup under way.
pub(super) struct Lookup {
    /// The id looked up.
    pub(super) id: PassportId,
    reply: oneshot::Sender<LookupAnswer>,
    /// The newest valid record found so far.
    newest: Option<PeerRecord>,
    /// Valid records found so far.
    found: usize,
}

impl Lookup {
    pub(super) fn new(id: PassportId, reply: oneshot::Sender<LookupAnswer>) -> Self {
        Self {
            id,
            reply,
            newest: None,
            found: 0,
        }
    }

    /// Keeps `record` if it is newer than any found so far; true once enough
    /// records are gathered to answer.
    pub(super) fn offer(&mut self, record: PeerRecord) -> bool {
        self.found += 1;
        if self
            .newest
            .as_ref()
            .is_none_or(|newest| record.sequence > newest.sequence)
        {
            self.newest = Some(record);
        }
        self.found >= LOOKUP_RECORDS
    }
}

impl From<&kad::QueryStats> for LookupTrace {
    fn from(stats: &kad::QueryStats) -> Self {
        Self {
            requests: stats.num_requests(),
            successes: stats.num_successes(),
            failures: stats.num_failures(),
        }
    }
}

/// Answers the lookup `query`, if it still waits, with the newest valid record it
/// found, or "not found".
pub(super) fn answer_lookup(
    lookups: &mut HashMap<kad::QueryId, Lookup>,
    query: kad::QueryId,
    stats: kad::QueryStats,
) {
    if let Some(lookup) = lookups.remove(&query) {
        let answer = lookup.newest.ok_or(NetError::NotFound(lookup.id));
        let _ = lookup.reply.send((answer, (&stats).into()));
    }
}

/// Why the DHT filter refused a record offered for storage ([`accept_record`]).
#[derive(Debug, thiserror::Error)]
pub(super) enum RecordRejection {
    /// The key is not `/passport/<id>` with a valid passport id: not a Passport record.
    #[error("record key is not /passport/<id>; this DHT stores only Passport peer records")]
    BadKey,
    /// The value is not a well-formed signed peer record (not CBOR, not COSE, too
    /// large, an unknown version or kind, a missing or malformed field).
    #[error("record is not a well-formed signed peer record: {0}")]
    Malformed(#[source] ProtocolError),
    /// The record is not signed by the passport whose key it is stored under: another
    /// passport's record, a signer that is not its issuer, or a signature that does
    /// not verify.
    #[error("record is forged: it is not signed by the passport its key names ({0})")]
    Forged(#[source] ProtocolError),
    /// The record has expired, or is not valid yet.
    #[error("record is outside its validity window: {0}")]
    Expired(#[source] ProtocolError),
    /// Older (by sequence) than the record held for the same key: its node has
    /// published a newer one since.
    #[error(
        "record is stale: sequence {offered} is older than the held {held}; its node must publish a fresh record"
    )]
    Stale {
        /// The sequence of the record held.
        held: u64,
        /// The sequence of the record offered.
        offered: u64,
    },
    /// The record store has no room for the record.
    #[error("record store is full ({0}); this node takes no new records until held ones expire")]
    StoreFull(#[source] kad::store::Error),
}

impl RecordRejection {
    /// Sorts a verification failure: forged, expired, or else malformed.
    fn from_verify(e: ProtocolError) -> Self {
        match e {
            ProtocolError::RecordForOtherId { .. }
            | ProtocolError::KidMismatch
            | ProtocolError::BadSignature { .. } => Self::Forged(e),
            ProtocolError::Expired { .. } | ProtocolError::NotYetValid { .. } => Self::Expired(e),
            other => Self::Malformed(other),
        }
    }

    /// A stable lowercase name, for logs.
    pub(super) fn reason(&self) -> &'static str {
        match self {
            Self::BadKey => "bad_key",
            Self::Malformed(_) => "malformed",
            Self::Forged(_) => "forged",
            Self::Expired(_) => "expired",
            Self::Stale { .. } => "stale",
            Self::StoreFull(_) => "store_full",
        }
    }
}

/// Stores an inbound DHT record only if it is a valid Passport record for the id its
/// key names and is not older (by sequence) than the one already held.
pub(super) fn accept_record(
    store: &mut MemoryStore,
    record: kad::Record,
) -> Result<(), RecordRejection> {
    use kad::store::RecordStore as _;
    let id = std::str::from_utf8(record.key.as_ref())
        .ok()
        .and_then(|k| k.strip_prefix("/passport/"))
        .and_then(|id| id.parse::<PassportId>().ok())
        .ok_or(RecordRejection::BadKey)?;
    let now = now();
    let incoming = verify_record(&record.value, &id, now).map_err(RecordRejection::from_verify)?;
    // A held record that no longer verifies (expired) may be replaced by anything valid.
    let held_sequence = store
        .get(&record.key)
        .and_then(|held| verify_record(&held.value, &id, now).ok())
        .map(|held| held.sequence);
    if let Some(held) = held_sequence.filter(|held| *held > incoming.sequence) {
        return Err(RecordRejection::Stale {
            held,
            offered: incoming.sequence,
        });
    }
    store.put(record).map_err(RecordRejection::StoreFull)
}

#[cfg(test)]
mod tests {
    use kad::store::RecordStore as _;
    use passport_protocol::{IdentityKey, SealingKey, Timestamp};

    use super::*;

    fn signed(key: &IdentityKey, id: PassportId, sequence: u64) -> Vec<u8> {
        PeerRecord {
            id,
            sequence,
            peers: vec![PeerId::random().to_bytes()],
            addresses: vec!["/ip4/127.0.0.1/tcp/4001".into()],
            seal_key: SealingKey::derive(&[1; 32]).public_key(),
            mailboxes: Vec::new(),
            issued_at: now(),
            expires_at: now().plus_secs(3600),
        }
        .sign(key)
        .unwrap()
    }

    /// A record of `key`'s, issued at `issued_at` and valid for `lifetime` seconds.
    fn signed_at(key: &IdentityKey, sequence: u64, issued_at: Timestamp, lifetime: u64) -> Vec<u8> {
        PeerRecord {
            id: key.id(),
            sequence,
            peers: vec![PeerId::random().to_bytes()],
            addresses: vec!["/ip4/127.0.0.1/tcp/4001".into()],
            seal_key: SealingKey::derive(&[1; 32]).public_key(),
            mailboxes: Vec::new(),
            issued_at,
            expires_at: issued_at.plus_secs(lifetime),
        }
        .sign(key)
        .unwrap()
    }

    fn record(sequence: u64) -> PeerRecord {
        let key = IdentityKey::from_secret_bytes(&[1; 32]);
        verify_record(&signed(&key, key.id(), sequence), &key.id(), now()).unwrap()
    }

    #[test]
    fn a_lookup_answers_with_the_newest_of_the_records_it_gathers() {
        let (reply, _) = oneshot::channel();
        let mut lookup = Lookup::new(IdentityKey::from_secret_bytes(&[1; 32]).id(), reply);
        // A holder that missed the last publication answers first.
        assert!(!lookup.offer(record(10)));
        assert!(!lookup.offer(record(12)));
        assert!(lookup.offer(record(11)));
        assert_eq!(lookup.newest.map(|r| r.sequence), Some(12));
        assert_eq!(LOOKUP_RECORDS, 3);
    }

    #[test]
    fn the_dht_filter_stores_genuine_records_and_refuses_forged_stale_or_junk_ones() {
        let mut store = MemoryStore::new(PeerId::random());
        let victim = IdentityKey::from_secret_bytes(&[1; 32]);
        let mallory = IdentityKey::from_secret_bytes(&[2; 32]);
        let key = kad::RecordKey::new(&PeerRecord::dht_key(&victim.id()));

        let genuine = kad::Record::new(key.clone(), signed(&victim, victim.id(), 10));
        accept_record(&mut store, genuine.clone()).unwrap();
        assert_eq!(store.get(&key).unwrap().value, genuine.value);

        // Mallory's own valid record, stored under the victim's key.
        let forged = kad::Record::new(key.clone(), signed(&mallory, mallory.id(), u64::MAX));
        assert!(matches!(
            accept_record(&mut store, forged),
            Err(RecordRejection::Forged(
                ProtocolError::RecordForOtherId { .. }
            ))
        ));
        // The victim's record with its signature altered.
        let mut tampered = signed(&victim, victim.id(), u64::MAX);
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(matches!(
            accept_record(&mut store, kad::Record::new(key.clone(), tampered)),
            Err(RecordRejection::Forged(ProtocolError::BadSignature { .. }))
        ));
        // An older record of the victim's does not replace the newer one.
        let stale = kad::Record::new(key.clone(), signed(&victim, victim.id(), 9));
        assert!(matches!(
            accept_record(&mut store, stale),
            Err(RecordRejection::Stale {
                held: 10,
                offered: 9
            })
        ));
        // A record past its expiry, however new its sequence.
        let expired = signed_at(&victim, u64::MAX, now().minus_secs(7200), 3600);
        assert!(matches!(
            accept_record(&mut store, kad::Record::new(key.clone(), expired)),
            Err(RecordRejection::Expired(ProtocolError::Expired { .. }))
        ));
        // Junk, and keys that are not Passport ids.
        assert!(matches!(
            accept_record(&mut store, kad::Record::new(key.clone(), vec![0xff; 40])),
            Err(RecordRejection::Malformed(_))
        ));
        let odd = kad::Record::new(
            kad::RecordKey::new(&b"/other/key".to_vec()),
            genuine.value.clone(),
        );
        assert!(matches!(
            accept_record(&mut store, odd),
            Err(RecordRejection::BadKey)
        ));
        assert_eq!(store.get(&key).unwrap().value, genuine.value);
        // A newer genuine record replaces it.
        let newer = kad::Record::new(key.clone(), signed(&victim, victim.id(), 11));
        accept_record(&mut store, newer.clone()).unwrap();
        assert_eq!(store.get(&key).unwrap().value, newer.value);
    }

    #[test]
    fn a_full_record_store_refuses_a_new_key_but_takes_a_newer_record_for_a_held_one() {
        let mut store = MemoryStore::with_config(
            PeerId::random(),
            kad::store::MemoryStoreConfig {
                max_records: 1,
                ..Default::default()
            },
        );
        let alice = IdentityKey::from_secret_bytes(&[1; 32]);
        let bob = IdentityKey::from_secret_bytes(&[3; 32]);
        let alice_key = kad::RecordKey::new(&PeerRecord::dht_key(&alice.id()));
        let bob_key = kad::RecordKey::new(&PeerRecord::dht_key(&bob.id()));
        accept_record(
            &mut store,
            kad::Record::new(alice_key.clone(), signed(&alice, alice.id(), 1)),
        )
        .unwrap();

        let refused = accept_record(
            &mut store,
            kad::Record::new(bob_key.clone(), signed(&bob, bob.id(), 1)),
        );
        assert!(
            matches!(
                refused,
                Err(RecordRejection::StoreFull(kad::store::Error::MaxRecords))
            ),
            "{refused:?}"
        );
        assert!(store.get(&bob_key).is_none());
        // Replacing a held record takes no new room.
        accept_record(
            &mut store,
            kad::Record::new(alice_key.clone(), signed(&alice, alice.id(), 2)),
        )
        .unwrap();
    }

    #[test]
    fn every_record_rejection_reads_in_lowercase_and_has_a_reason() {
        let id = IdentityKey::from_secret_bytes(&[1; 32]).id();
        let protocol = || ProtocolError::RecordForOtherId {
            expected: id,
            found: id,
        };
        for rejection in [
            RecordRejection::BadKey,
            RecordRejection::Malformed(ProtocolError::Truncated),
            RecordRejection::Forged(protocol()),
            RecordRejection::Expired(protocol()),
            RecordRejection::Stale {
                held: 2,
                offered: 1,
            },
            RecordRejection::StoreFull(kad::store::Error::MaxRecords),
        ] {
            let text = rejection.to_string();
            assert!(text.starts_with(|c: char| c.is_lowercase()), "{text}");
            assert!(!rejection.reason().is_empty());
        }
    }
}
