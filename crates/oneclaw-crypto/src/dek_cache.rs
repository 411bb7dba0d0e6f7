//! A bounded cache of unwrapped data keys, so repeated reads of a secret make no key-provider
//! call (with an HSM, that is a round trip to the HSM).
//!
//! Entries are keyed by the SHA-256 of the stored wrapped DEK (unique per version and KEK
//! version), live at most `ttl`, and the oldest are evicted past `capacity`. An evicted or
//! expired key is dropped, and `DataKey` wipes itself on drop. Capacity 0 turns the cache off.
//! Plaintext values are never cached: only data keys, which are useless without the ciphertext.

use oneclaw_core::ports::{DataKey, KeyOperations};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Cache sizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DekCacheConfig {
    /// Most keys held; 0 disables the cache.
    pub capacity: usize,
    /// How long a key may be used from the cache.
    pub ttl: Duration,
}

impl Default for DekCacheConfig {
    fn default() -> Self {
        Self { capacity: 10_000, ttl: Duration::from_secs(300) }
    }
}

/// Counters of key-provider work, for metrics and benchmarks.
#[derive(Debug, Default)]
pub struct KeyOpCounters {
    /// DEKs unwrapped by the key provider.
    pub unwraps: AtomicU64,
    /// DEKs wrapped by the key provider.
    pub wraps: AtomicU64,
    /// Opens served from the cache.
    pub cache_hits: AtomicU64,
    /// Opens the cache could not serve.
    pub cache_misses: AtomicU64,
}

impl KeyOpCounters {
    /// The counts so far; `cache_evictions` is the cache's own.
    pub fn snapshot(&self, cache: &DekCache) -> KeyOperations {
        KeyOperations {
            unwraps: self.unwraps.load(Ordering::Relaxed),
            wraps: self.wraps.load(Ordering::Relaxed),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            cache_misses: self.cache_misses.load(Ordering::Relaxed),
            cache_evictions: cache.evictions(),
        }
    }
}

struct Entry {
    key: DataKey,
    stored_at: Instant,
}

/// The entries and the order they came in (oldest first), for eviction.
#[derive(Default)]
struct Slots {
    map: HashMap<[u8; 32], Entry>,
    order: VecDeque<[u8; 32]>,
}

/// The cache.
pub struct DekCache {
    config: DekCacheConfig,
    inner: Mutex<Slots>,
    evictions: AtomicU64,
}

impl std::fmt::Debug for DekCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DekCache").field("config", &self.config).finish_non_exhaustive()
    }
}

impl DekCache {
    /// An empty cache.
    pub fn new(config: DekCacheConfig) -> Self {
        Self { config, inner: Mutex::new(Slots::default()), evictions: AtomicU64::new(0) }
    }

    /// The cache key of a stored wrapped DEK.
    pub fn slot(wrapped_dek: &[u8]) -> [u8; 32] {
        Sha256::digest(wrapped_dek).into()
    }

    /// The key for a slot, if cached and fresh.
    pub fn get(&self, slot: &[u8; 32]) -> Option<DataKey> {
        if self.config.capacity == 0 {
            return None;
        }
        let mut guard = self.inner.lock().ok()?;
        let map = &mut guard.map;
        match map.get(slot) {
            Some(entry) if entry.stored_at.elapsed() < self.config.ttl => Some(entry.key.clone()),
            Some(_) => {
                map.remove(slot);
                self.evictions.fetch_add(1, Ordering::Relaxed);
                None
            }
            None => None,
        }
    }

    /// Keeps a key, evicting the oldest entries past capacity.
    pub fn put(&self, slot: [u8; 32], key: &DataKey) {
        if self.config.capacity == 0 {
            return;
        }
        let Ok(mut guard) = self.inner.lock() else { return };
        let Slots { map, order } = &mut *guard;
        if map.insert(slot, Entry { key: key.clone(), stored_at: Instant::now() }).is_none() {
            order.push_back(slot);
        }
        while map.len() > self.config.capacity {
            match order.pop_front() {
                Some(oldest) => {
                    if map.remove(&oldest).is_some() {
                        self.evictions.fetch_add(1, Ordering::Relaxed);
                    }
                }
                None => break,
            }
        }
        // Forget order entries whose keys already expired and were removed by `get`.
        while order.front().is_some_and(|oldest| !map.contains_key(oldest)) {
            order.pop_front();
        }
    }

    /// Keys dropped so far: past capacity, or found expired.
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|guard| guard.map.len()).unwrap_or(0)
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    fn key(byte: u8) -> DataKey {
        DataKey(Zeroizing::new([byte; 32]))
    }

    #[test]
    fn keys_expire_and_the_oldest_are_evicted() {
        let cache = DekCache::new(DekCacheConfig { capacity: 2, ttl: Duration::from_millis(50) });
        cache.put([1; 32], &key(1));
        cache.put([2; 32], &key(2));
        cache.put([3; 32], &key(3));
        assert!(cache.get(&[1; 32]).is_none(), "evicted past capacity");
        assert_eq!(cache.evictions(), 1);
        assert_eq!(*cache.get(&[3; 32]).unwrap().0, [3; 32]);
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get(&[2; 32]).is_none(), "expired");
        assert_eq!(cache.evictions(), 2, "an expired key found is dropped, and counted");
    }

    #[test]
    fn capacity_zero_turns_it_off() {
        let cache = DekCache::new(DekCacheConfig { capacity: 0, ttl: Duration::from_secs(60) });
        cache.put([1; 32], &key(1));
        assert!(cache.get(&[1; 32]).is_none());
        assert!(cache.is_empty());
    }
}
