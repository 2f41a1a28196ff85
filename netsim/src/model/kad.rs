//! libp2p-kad 0.49's closest-peers iterator (`query/peers/closest.rs`, the copy
//! in `netsim/patches/libp2p-kad`), rewritten over node indices and virtual
//! nanoseconds: the same states, the same α and stall rule, the same finishing
//! rule, so the model contacts peers in the order a real node would.
//!
//! What differs is only representation: peers are `u32` node indices; keys and
//! XOR distances are the first 128 of libp2p's 256 bits, compared as numbers
//! (so ordered as libp2p's `U256` orders them unless two keys share 128 bits,
//! odds of 2⁻¹²⁸ per pair); each peer carries the hop depth at which the lookup
//! learnt it.

/// The first 128 bits of a Kademlia key (`routing::Key`), big-endian.
pub type Key = u128;

/// libp2p's `K_VALUE`: a new iterator keeps at most this many of the peers it
/// starts with, whatever the configured k.
pub const K_VALUE: usize = 20;

/// The XOR distance between two keys: ordered as libp2p orders them.
pub type Distance = u128;

/// The XOR distance between `a` and `b`.
pub fn distance(a: &Key, b: &Key) -> Distance {
    a ^ b
}

/// The model's key of a Kademlia key: its first 128 bits.
pub fn key_of(full: &crate::routing::KadKey) -> Key {
    let mut high = [0u8; 16];
    high.copy_from_slice(&full[..16]);
    u128::from_be_bytes(high)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PeerState {
    NotContacted,
    /// Waiting for an answer until `Peer::timeout`.
    Waiting,
    Unresponsive,
    Failed,
    Succeeded,
}

#[derive(Debug, Clone, Copy)]
struct Peer {
    distance: Distance,
    /// While waiting: when the peer times out (virtual ns).
    timeout: u64,
    node: u32,
    state: PeerState,
    /// 1 for a peer of the querying node's own table, one more than the peer
    /// that named it otherwise.
    depth: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Iterating { no_progress: usize },
    Stalled,
    Finished,
}

/// What the iterator wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Send a request to this node.
    Contact(u32),
    /// At its parallelism limit: wait for answers.
    WaitingAtCapacity,
    /// Waiting for answers, with no one new to ask.
    Waiting,
    /// Done.
    Finished,
}

/// The iterator of one query.
#[derive(Debug, Clone)]
pub struct ClosestPeers {
    target: Key,
    /// libp2p's `BTreeMap` by distance, as a sorted vector: a third of the
    /// memory, which a million-node run holds hundreds of thousands of.
    peers: Vec<Peer>,
    state: State,
    num_waiting: usize,
    parallelism: usize,
    num_results: usize,
    peer_timeout_ns: u64,
}

impl ClosestPeers {
    /// Starts towards `target` from `known` (the querying node's table, in any
    /// order; the closest [`K_VALUE`] are kept, as libp2p keeps them).
    pub fn new(
        target: Key,
        known: impl IntoIterator<Item = (u32, Key)>,
        parallelism: usize,
        num_results: usize,
        peer_timeout_ns: u64,
    ) -> Self {
        let mut all: Vec<(Distance, u32)> = known
            .into_iter()
            .map(|(node, key)| (distance(&key, &target), node))
            .collect();
        let keep = all.len().min(K_VALUE);
        if keep > 0 && keep < all.len() {
            all.select_nth_unstable(keep - 1);
        }
        all.truncate(keep);
        all.sort_unstable();
        let mut peers = Vec::with_capacity(keep + 2 * K_VALUE);
        peers.extend(all.into_iter().map(|(distance, node)| Peer {
            distance,
            timeout: 0,
            node,
            state: PeerState::NotContacted,
            depth: 1,
        }));
        Self {
            target,
            peers,
            state: State::Iterating { no_progress: 0 },
            num_waiting: 0,
            parallelism: parallelism.max(1),
            num_results: num_results.max(1),
            peer_timeout_ns,
        }
    }

    /// The key it looks for.
    pub fn target(&self) -> &Key {
        &self.target
    }

    /// The hop depth of `node` in this query (0 if it is not known).
    pub fn depth(&self, node: u32, key: &Key) -> u8 {
        self.find(distance(key, &self.target))
            .ok()
            .map(|i| self.peers[i])
            .filter(|p| p.node == node)
            .map_or(0, |p| p.depth)
    }

    /// Where the peer at `distance` is, or would go.
    fn find(&self, distance: Distance) -> Result<usize, usize> {
        self.peers.binary_search_by_key(&distance, |p| p.distance)
    }

    /// `node` (with key `key`) answered, naming `closer` (node and key each).
    /// False if the iterator was not waiting for it (libp2p's `on_success`).
    pub fn on_success(
        &mut self,
        node: u32,
        key: &Key,
        closer: impl IntoIterator<Item = (u32, Key)>,
    ) -> bool {
        if self.state == State::Finished {
            return false;
        }
        let distance_of = distance(key, &self.target);
        let Ok(at) = self.find(distance_of) else {
            return false;
        };
        let peer = &mut self.peers[at];
        let depth = match peer.state {
            PeerState::Waiting => {
                self.num_waiting -= 1;
                peer.state = PeerState::Succeeded;
                peer.depth
            }
            PeerState::Unresponsive => {
                peer.state = PeerState::Succeeded;
                peer.depth
            }
            PeerState::NotContacted | PeerState::Failed | PeerState::Succeeded => return false,
        };
        debug_assert_eq!(peer.node, node);
        // The furthest of the `num_results` closest known, or the furthest known.
        let cur_range = self
            .peers
            .get(self.num_results - 1)
            .or_else(|| self.peers.last())
            .map_or(distance_of, |p| p.distance);
        let mut progress = self.peers.len() < self.num_results;
        for (peer, peer_key) in closer {
            let d = distance(&peer_key, &self.target);
            let first = match self.find(d) {
                Ok(_) => false,
                Err(at) => {
                    self.peers.insert(
                        at,
                        Peer {
                            distance: d,
                            timeout: 0,
                            node: peer,
                            state: PeerState::NotContacted,
                            depth: depth.saturating_add(1),
                        },
                    );
                    true
                }
            };
            progress = (first && d < cur_range) || progress;
        }
        self.state = match self.state {
            State::Iterating { no_progress } => {
                let no_progress = if progress { 0 } else { no_progress + 1 };
                if no_progress >= self.parallelism {
                    State::Stalled
                } else {
                    State::Iterating { no_progress }
                }
            }
            State::Stalled if progress => State::Iterating { no_progress: 0 },
            other => other,
        };
        true
    }

    /// The request to `node` failed (libp2p's `on_failure`).
    pub fn on_failure(&mut self, key: &Key) -> bool {
        if self.state == State::Finished {
            return false;
        }
        let Ok(at) = self.find(distance(key, &self.target)) else {
            return false;
        };
        let peer = &mut self.peers[at];
        match peer.state {
            PeerState::Waiting => {
                self.num_waiting -= 1;
                peer.state = PeerState::Failed;
                true
            }
            PeerState::Unresponsive => {
                peer.state = PeerState::Failed;
                true
            }
            _ => false,
        }
    }

    /// Advances at virtual time `now` (ns): libp2p's `next`.
    pub fn next(&mut self, now: u64) -> Next {
        if self.state == State::Finished {
            return Next::Finished;
        }
        let mut result_counter = Some(0usize);
        let at_capacity = self.at_capacity();
        for peer in &mut self.peers {
            match peer.state {
                PeerState::Waiting => {
                    if now >= peer.timeout {
                        self.num_waiting -= 1;
                        peer.state = PeerState::Unresponsive;
                    } else if at_capacity {
                        return Next::WaitingAtCapacity;
                    } else {
                        result_counter = None;
                    }
                }
                PeerState::Succeeded => {
                    if let Some(count) = result_counter.as_mut() {
                        *count += 1;
                        if *count >= self.num_results {
                            self.state = State::Finished;
                            return Next::Finished;
                        }
                    }
                }
                PeerState::NotContacted => {
                    if at_capacity {
                        return Next::WaitingAtCapacity;
                    }
                    peer.state = PeerState::Waiting;
                    peer.timeout = now + self.peer_timeout_ns;
                    self.num_waiting += 1;
                    return Next::Contact(peer.node);
                }
                PeerState::Unresponsive | PeerState::Failed => {}
            }
        }
        if self.num_waiting > 0 {
            Next::Waiting
        } else {
            self.state = State::Finished;
            Next::Finished
        }
    }

    /// Ends it now (libp2p's `finish`).
    pub fn finish(&mut self) {
        self.state = State::Finished;
    }

    /// Whether it has finished (the model learns it from `next`).
    #[cfg(test)]
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    /// The closest peers that answered, closest first, at most `num_results`
    /// (libp2p's `into_result`).
    pub fn result(&self) -> impl Iterator<Item = u32> + '_ {
        self.peers
            .iter()
            .filter(|p| p.state == PeerState::Succeeded)
            .map(|p| p.node)
            .take(self.num_results)
    }

    /// When the earliest peer waited on times out, if any (the model schedules
    /// its wake-ups when it sends instead).
    #[cfg(test)]
    pub fn earliest_timeout(&self) -> Option<u64> {
        self.peers
            .iter()
            .filter(|p| p.state == PeerState::Waiting)
            .map(|p| p.timeout)
            .min()
    }

    fn at_capacity(&self) -> bool {
        match self.state {
            State::Stalled => self.num_waiting >= self.num_results.max(self.parallelism),
            State::Iterating { .. } => self.num_waiting >= self.parallelism,
            State::Finished => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> Key {
        use sha2::Digest as _;
        key_of(&sha2::Sha256::digest(i.to_be_bytes()).into())
    }

    /// A full mesh: every node knows every other; answers name each node's 20
    /// closest to the target.
    fn closest_known(nodes: u32, target: &Key, except: u32) -> Vec<(u32, Key)> {
        let mut all: Vec<(u32, Key)> = (0..nodes)
            .filter(|&n| n != except)
            .map(|n| (n, key(n)))
            .collect();
        all.sort_by_key(|(_, k)| distance(k, target));
        all.truncate(K_VALUE);
        all
    }

    #[test]
    fn it_keeps_alpha_in_flight_and_finds_the_closest() {
        let target = key(10_000);
        let own: Vec<(u32, Key)> = (0..40).map(|n| (n, key(n))).collect();
        let mut it = ClosestPeers::new(target, own, 3, 20, 10_000_000_000);
        let mut waiting = Vec::new();
        // α = 3: three contacts, then it waits.
        for _ in 0..3 {
            match it.next(0) {
                Next::Contact(n) => waiting.push(n),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(it.next(0), Next::WaitingAtCapacity);
        // Answer everything with the true closest until it finishes.
        let mut rounds = 0;
        while let Some(n) = waiting.pop() {
            rounds += 1;
            assert!(it.on_success(n, &key(n), closest_known(500, &target, n)));
            loop {
                match it.next(0) {
                    Next::Contact(m) => waiting.insert(0, m),
                    Next::Finished => {
                        waiting.clear();
                        break;
                    }
                    _ => break,
                }
            }
            assert!(rounds < 500);
        }
        let found: Vec<u32> = it.result().collect();
        let truth: Vec<u32> = closest_known(500, &target, u32::MAX)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(found, truth);
    }

    #[test]
    fn failures_and_timeouts_free_the_slot() {
        let target = key(7);
        let own: Vec<(u32, Key)> = (0..5).map(|n| (n, key(n))).collect();
        let mut it = ClosestPeers::new(target, own, 1, 20, 1_000);
        let Next::Contact(first) = it.next(0) else {
            panic!()
        };
        assert_eq!(it.next(10), Next::WaitingAtCapacity);
        assert_eq!(it.earliest_timeout(), Some(1_000));
        // Past its timeout it no longer counts; as in libp2p, the capacity is
        // judged before the timeouts, so the next peer is asked on the next call.
        assert_eq!(it.next(1_000), Next::WaitingAtCapacity);
        let Next::Contact(second) = it.next(1_000) else {
            panic!()
        };
        assert_ne!(first, second);
        // A late answer from the unresponsive one still counts.
        assert!(it.on_success(first, &key(first), []));
        assert!(it.on_failure(&key(second)));
        assert!(!it.on_failure(&key(second)));
        let mut asked = 2;
        while let Next::Contact(n) = it.next(2_000) {
            asked += 1;
            assert!(it.on_failure(&key(n)));
        }
        assert_eq!(asked, 5);
        assert!(it.is_finished());
        assert_eq!(it.result().collect::<Vec<_>>(), vec![first]);
    }

    #[test]
    fn it_keeps_only_k_value_of_the_starting_peers_and_tracks_depth() {
        let target = key(1);
        let own: Vec<(u32, Key)> = (2..100).map(|n| (n, key(n))).collect();
        // 30 results wanted: every peer is asked.
        let mut it = ClosestPeers::new(target, own, 3, 30, u64::MAX / 2);
        let mut contacted = 0;
        while let Next::Contact(n) = it.next(0) {
            contacted += 1;
            assert_eq!(it.depth(n, &key(n)), if n == 500 { 2 } else { 1 });
            assert!(it.on_success(n, &key(n), [(500, key(500))]));
        }
        // 20 own peers, plus 500 named by the first answer.
        assert_eq!(contacted, 21);
        assert_eq!(it.depth(500, &key(500)), 2);
    }
}
