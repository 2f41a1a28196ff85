//! DHT lookups and records: a [`Lookup`] under way and what it cost
//! ([`LookupTrace`]), one node's [`RoutingView`] of a key, and the filter every
//! inbound record passes before it is stored ([`accept_record`]).

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

/// Stores an inbound DHT record only if it is a valid Passport record for the id its
/// key names and is not older (by sequence) than the one already held.
pub(super) fn accept_record(
    store: &mut MemoryStore,
    record: kad::Record,
) -> Result<(), ProtocolError> {
    use kad::store::RecordStore as _;
    let id = std::str::from_utf8(record.key.as_ref())
        .ok()
        .and_then(|k| k.strip_prefix("/passport/"))
        .and_then(|id| id.parse::<PassportId>().ok())
        .ok_or_else(|| ProtocolError::MalformedPayload {
            detail: "record key is not /passport/<id>".into(),
        })?;
    let now = now();
    let incoming = verify_record(&record.value, &id, now)?;
    // A held record that no longer verifies (expired) may be replaced by anything valid.
    let held_sequence = store
        .get(&record.key)
        .and_then(|held| verify_record(&held.value, &id, now).ok())
        .map(|held| held.sequence);
    if held_sequence.is_some_and(|held| held > incoming.sequence) {
        return Err(ProtocolError::MalformedPayload {
            detail: "stale record sequence".into(),
        });
    }
    store
        .put(record)
        .map_err(|_| ProtocolError::MalformedPayload {
            detail: "record store full".into(),
        })
}

#[cfg(test)]
mod tests {
    use kad::store::RecordStore as _;
    use passport_protocol::{IdentityKey, SealingKey};

    use super::*;

    fn signed(key: &IdentityKey, id: PassportId, sequence: u64) -> Vec<u8> {
        PeerRecord {
            id,
            sequence,
            peers: vec![PeerId::random().to_bytes()],
            addresses: vec!["/ip4/127.0.0.1/tcp/4001".into()],
            seal_key: SealingKey::derive(&[1; 32]).public_key(),
            issued_at: now(),
            expires_at: now().plus_secs(3600),
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
            Err(ProtocolError::RecordForOtherId { .. })
        ));
        // An older record of the victim's does not replace the newer one.
        let stale = kad::Record::new(key.clone(), signed(&victim, victim.id(), 9));
        assert!(accept_record(&mut store, stale).is_err());
        // Junk, and keys that are not Passport ids.
        assert!(accept_record(&mut store, kad::Record::new(key.clone(), vec![0xff; 40])).is_err());
        let odd = kad::Record::new(
            kad::RecordKey::new(&b"/other/key".to_vec()),
            genuine.value.clone(),
        );
        assert!(accept_record(&mut store, odd).is_err());
        assert_eq!(store.get(&key).unwrap().value, genuine.value);
        // A newer genuine record replaces it.
        let newer = kad::Record::new(key.clone(), signed(&victim, victim.id(), 11));
        accept_record(&mut store, newer.clone()).unwrap();
        assert_eq!(store.get(&key).unwrap().value, newer.value);
    }
}
