//! Storage behind a small trait: one ordered keyspace with atomic batches and an
//! explicit flush. [`SledStorage`] is the default; [`MemoryStorage`] lets the
//! simulator run thousands of nodes without touching disk.
//!
//! Durability is [`Durable::commit`]: apply a batch, then wait until it is on disk.
//! Concurrent commits share one flush (group commit), so throughput does not
//! collapse to one fsync per grant.

use std::{
    collections::BTreeMap,
    sync::{Arc, Condvar, Mutex, PoisonError},
    time::{Duration, Instant},
};

use crate::error::NodeError;

/// Puts and deletes applied together or not at all.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: Vec<u8>) {
        self.ops.push((key.into(), Some(value)));
    }

    /// Removes `key`.
    pub fn delete(&mut self, key: impl Into<Vec<u8>>) {
        self.ops.push((key.into(), None));
    }

    /// Whether the batch does nothing.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Appends another batch's operations.
    pub fn extend(&mut self, other: Batch) {
        self.ops.extend(other.ops);
    }
}

/// Key-value pairs in key order, as a prefix scan returns them.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// An ordered key-value store with atomic batches.
pub trait Storage: Send + Sync + 'static {
    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, NodeError>;
    /// Every entry whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries, NodeError>;
    /// The first `limit` entries whose keys start with `prefix`, in key order.
    fn scan_prefix_limit(&self, prefix: &[u8], limit: usize) -> Result<Entries, NodeError> {
        let mut entries = self.scan_prefix(prefix)?;
        entries.truncate(limit);
        Ok(entries)
    }
    /// Applies every operation of `batch` atomically (not yet durably).
    fn apply(&self, batch: Batch) -> Result<(), NodeError>;
    /// Makes every applied batch durable.
    fn flush(&self) -> Result<(), NodeError>;
}

/// A read-only store over records held in memory in key order (a backup's
/// snapshot), for reading them as a node would without copying them into a
/// [`MemoryStorage`].
pub struct Snapshot {
    entries: Entries,
}

impl Snapshot {
    /// The store of `entries`, sorted here by key.
    pub fn new(mut entries: Entries) -> Self {
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Self { entries }
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Its records, in key order.
    pub fn entries(&self) -> &Entries {
        &self.entries
    }
}

impl Storage for Snapshot {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, NodeError> {
        Ok(self
            .entries
            .binary_search_by(|(k, _)| k.as_slice().cmp(key))
            .ok()
            .map(|at| self.entries[at].1.clone()))
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries, NodeError> {
        let start = self.entries.partition_point(|(k, _)| k.as_slice() < prefix);
        Ok(self.entries[start..]
            .iter()
            .take_while(|(k, _)| k.starts_with(prefix))
            .cloned()
            .collect())
    }

    fn apply(&self, _batch: Batch) -> Result<(), NodeError> {
        Err(NodeError::Storage("a snapshot is read-only".into()))
    }

    fn flush(&self) -> Result<(), NodeError> {
        Ok(())
    }
}

/// sled, the default store.
#[derive(Clone)]
pub struct SledStorage {
    db: sled::Db,
}

impl SledStorage {
    /// Opens (or creates) the database in `dir`. A lock still held when the call
    /// starts is waited for up to [`LOCK_WAIT`] before the store is reported in use:
    /// sled's I/O threads release a closed database's lock a moment after it is
    /// dropped, so reopening a store just closed (a restart in the same process)
    /// would otherwise fail now and then.
    #[expect(
        clippy::disallowed_methods,
        reason = "waiting on and timing the file system is wall-clock time"
    )]
    pub fn open(dir: &std::path::Path) -> Result<Self, NodeError> {
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match Self::try_open(dir) {
                Err(NodeError::StoreInUse { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    fn try_open(dir: &std::path::Path) -> Result<Self, NodeError> {
        // Flushing is ours to decide (group commit); sled's own timer stays off so an
        // idle node does not wake up every half second.
        let db = sled::Config::new()
            .path(dir)
            .flush_every_ms(None)
            .cache_capacity(16 * 1024 * 1024)
            .open()
            .map_err(|e| match e {
                // sled reports a held lock as an error of kind `Other` whose text
                // carries the OS's EWOULDBLOCK; its kind alone never says so.
                sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                    NodeError::StoreInUse {
                        path: dir.to_path_buf(),
                    }
                }
                other => other.into(),
            })?;
        Ok(Self { db })
    }
}

/// How long [`SledStorage::open`] waits for a store's lock before reporting it in
/// use: long enough for a just-closed store to let go, short enough that a person
/// whose node runs elsewhere is told at once.
pub const LOCK_WAIT: Duration = Duration::from_secs(1);

impl Storage for SledStorage {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, NodeError> {
        Ok(self.db.get(key)?.map(|v| v.to_vec()))
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries, NodeError> {
        self.scan_prefix_limit(prefix, usize::MAX)
    }

    fn scan_prefix_limit(&self, prefix: &[u8], limit: usize) -> Result<Entries, NodeError> {
        self.db
            .scan_prefix(prefix)
            .take(limit)
            .map(|r| {
                r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(NodeError::from)
            })
            .collect()
    }

    fn apply(&self, batch: Batch) -> Result<(), NodeError> {
        let mut sled_batch = sled::Batch::default();
        for (k, v) in batch.ops {
            match v {
                Some(v) => sled_batch.insert(k, v),
                None => sled_batch.remove(k),
            }
        }
        Ok(self.db.apply_batch(sled_batch)?)
    }

    fn flush(&self) -> Result<(), NodeError> {
        self.db.flush()?;
        Ok(())
    }
}

/// An in-memory store for simulations and tests. `flush` does nothing.
#[derive(Default, Clone)]
pub struct MemoryStorage {
    map: Arc<Mutex<BTreeMap<Vec<u8>, Vec<u8>>>>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Storage for MemoryStorage {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, NodeError> {
        Ok(self
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned())
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries, NodeError> {
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(map
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn apply(&self, batch: Batch) -> Result<(), NodeError> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        for (k, v) in batch.ops {
            match v {
                Some(v) => map.insert(k, v),
                None => map.remove(&k),
            };
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), NodeError> {
        Ok(())
    }
}

#[derive(Default)]
struct CommitState {
    /// Batches applied so far.
    applied: u64,
    /// Batches known durable.
    durable: u64,
    /// A flush is under way.
    flushing: bool,
    /// Flushes performed and their time (for tests, benchmarks and metrics).
    stats: FlushStats,
}

/// What a store's flushes have cost so far; see [`Durable::flush_stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushStats {
    /// Flushes performed (each an fsync on sled).
    pub flushes: u64,
    /// Time spent flushing, summed over those flushes.
    pub flushing_for: Duration,
}

impl std::ops::Add for FlushStats {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self {
            flushes: self.flushes + other.flushes,
            flushing_for: self.flushing_for + other.flushing_for,
        }
    }
}

impl std::ops::Sub for FlushStats {
    type Output = Self;
    /// What happened between two readings (`later - earlier`).
    fn sub(self, earlier: Self) -> Self {
        Self {
            flushes: self.flushes.saturating_sub(earlier.flushes),
            flushing_for: self.flushing_for.saturating_sub(earlier.flushing_for),
        }
    }
}

/// A batch applied but perhaps not yet durable; see [`Durable::wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[must_use = "a batch is not durable until its ticket is waited on"]
pub struct Ticket(u64);

/// A store plus group commit: [`Durable::commit`] returns once the batch is on disk,
/// and concurrent commits share flushes.
#[derive(Clone)]
pub struct Durable {
    storage: Arc<dyn Storage>,
    state: Arc<(Mutex<CommitState>, Condvar)>,
}

impl Durable {
    /// Wraps a store.
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self {
            storage,
            state: Arc::default(),
        }
    }

    /// The underlying store, for reads.
    pub fn storage(&self) -> &dyn Storage {
        &*self.storage
    }

    /// Applies `batch` and returns once it (and every batch applied before it) is
    /// durable. If a flush is already under way, waits for the next one instead of
    /// issuing its own: one fsync serves every writer that arrived meanwhile.
    pub fn commit(&self, batch: Batch) -> Result<(), NodeError> {
        let ticket = self.apply(batch)?;
        self.wait(ticket)
    }

    /// Applies `batch` (visible to reads, not yet durable) and returns the ticket to
    /// [`Durable::wait`] on. Callers that must order batches apply them under their
    /// own lock and wait outside it, so waits overlap and share flushes.
    pub fn apply(&self, batch: Batch) -> Result<Ticket, NodeError> {
        let mut state = self.state.0.lock().unwrap_or_else(PoisonError::into_inner);
        // Apply under the lock so ticket order matches application order.
        self.storage.apply(batch)?;
        state.applied += 1;
        Ok(Ticket(state.applied))
    }

    /// Returns once the batch behind `ticket`, and every one before it, is durable.
    #[expect(
        clippy::disallowed_methods,
        reason = "waiting on and timing the file system is wall-clock time"
    )]
    pub fn wait(&self, ticket: Ticket) -> Result<(), NodeError> {
        let Ticket(ticket) = ticket;
        let (lock, wake) = &*self.state;
        let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if state.durable >= ticket {
                return Ok(());
            }
            if state.flushing {
                state = wake.wait(state).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.flushing = true;
            let target = state.applied;
            drop(state);
            let started = Instant::now();
            let result = self.storage.flush();
            let took = started.elapsed();
            state = lock.lock().unwrap_or_else(PoisonError::into_inner);
            state.flushing = false;
            state.stats.flushes += 1;
            state.stats.flushing_for += took;
            if result.is_ok() {
                state.durable = state.durable.max(target);
            }
            wake.notify_all();
            result?;
        }
    }

    /// Returns once every batch applied so far is durable (at once if none is
    /// waiting).
    pub fn sync(&self) -> Result<(), NodeError> {
        let applied = self
            .state
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .applied;
        self.wait(Ticket(applied))
    }

    /// Every entry of the store as of one moment: no batch is applied while they
    /// are read, so a snapshot never holds half of a transaction (a backup's
    /// consistency). Writers wait meanwhile; reads do not.
    pub fn snapshot(&self) -> Result<Entries, NodeError> {
        let _applying = self.state.0.lock().unwrap_or_else(PoisonError::into_inner);
        self.storage.scan_prefix(&[])
    }

    /// How many flushes were performed and how long they took in all.
    pub fn flush_stats(&self) -> FlushStats {
        self.state
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[expect(
        clippy::disallowed_methods,
        reason = "waiting on and timing the file system is wall-clock time"
    )]
    fn a_store_closed_a_moment_ago_opens_and_one_held_open_is_reported_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let held = SledStorage::open(dir.path()).unwrap();
        // Held for longer than the wait: in use, named by its path.
        let start = std::time::Instant::now();
        let second = SledStorage::open(dir.path()).map(|_| ());
        assert!(matches!(
            second,
            Err(NodeError::StoreInUse { path }) if path == dir.path()
        ));
        assert!(start.elapsed() >= LOCK_WAIT);
        // Let go while the second open waits: it gets the store.
        let closing = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(held);
        });
        SledStorage::open(dir.path()).unwrap();
        closing.join().unwrap();
    }

    /// A store whose flush is slow, like an fsync on a real disk.
    struct SlowFlush(MemoryStorage);

    impl Storage for SlowFlush {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, NodeError> {
            self.0.get(key)
        }
        fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries, NodeError> {
            self.0.scan_prefix(prefix)
        }
        fn apply(&self, batch: Batch) -> Result<(), NodeError> {
            self.0.apply(batch)
        }
        fn flush(&self) -> Result<(), NodeError> {
            std::thread::sleep(Duration::from_millis(20));
            Ok(())
        }
    }

    #[test]
    fn concurrent_commits_share_flushes() {
        let durable = Durable::new(Arc::new(SlowFlush(MemoryStorage::new())));
        let writers = 16;
        std::thread::scope(|s| {
            for n in 0..writers {
                let durable = durable.clone();
                s.spawn(move || {
                    let mut b = Batch::new();
                    b.put(format!("k{n}"), vec![1]);
                    durable.commit(b).unwrap();
                });
            }
        });
        for n in 0..writers {
            assert!(
                durable
                    .storage()
                    .get(format!("k{n}").as_bytes())
                    .unwrap()
                    .is_some()
            );
        }
        // Without group commit this would be 16 flushes.
        let flushes = durable.flush_stats().flushes;
        assert!(flushes < writers, "{flushes} flushes");
    }

    #[test]
    fn memory_storage_scans_by_prefix_in_order() {
        let s = MemoryStorage::new();
        let mut b = Batch::new();
        b.put("a/2", vec![2]);
        b.put("a/1", vec![1]);
        b.put("b/1", vec![3]);
        s.apply(b).unwrap();
        let keys: Vec<_> = s
            .scan_prefix(b"a/")
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec![b"a/1".to_vec(), b"a/2".to_vec()]);
    }
}
