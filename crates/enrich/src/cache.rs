//! A bounded per-worker memo: a hash map that is cleared when it reaches its limit.
//!
//! Clearing instead of LRU keeps a hit to one hash lookup and no bookkeeping; the entries that
//! matter (hot addresses, common paths and agents) come back within a few events. Keys
//! (addresses, paths, agents) are chosen by clients, so the hasher is seeded at random (foldhash,
//! hashbrown's default): without the seed, colliding keys cannot be prepared, and a map that is
//! cleared at its limit bounds what any collisions could cost. SipHash would cost as much as the
//! rest of enrichment for a hit on a 150-byte user agent.

use crate::stats::CacheStats;
use hashbrown::HashMap;
use std::borrow::Borrow;
use std::hash::Hash;

/// A map with at most `entries_max` entries that counts hits, misses and evictions.
pub(crate) struct BoundedCache<K, V> {
    map: HashMap<K, V>,
    entries_max: usize,
    stats: CacheStats,
}

impl<K: Hash + Eq, V: Clone> BoundedCache<K, V> {
    /// The remembered value, counting a hit or a miss.
    pub(crate) fn get<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get_ref(key).cloned()
    }
}

impl<K: Hash + Eq, V> BoundedCache<K, V> {
    pub(crate) fn new(entries_max: usize) -> Self {
        debug_assert!(entries_max > 0, "limits are validated when the enricher is built");
        BoundedCache { map: HashMap::new(), entries_max, stats: CacheStats::default() }
    }

    /// The remembered value by reference (for values not worth cloning), counting a hit or a
    /// miss.
    pub(crate) fn get_ref<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let found = self.map.get(key);
        match found {
            Some(_) => self.stats.hits += 1,
            None => self.stats.misses += 1,
        }
        found
    }

    /// Remembers a value; when the map is full it is emptied first and the dropped entries are
    /// counted as evictions.
    pub(crate) fn insert(&mut self, key: K, value: V) {
        if self.map.len() >= self.entries_max {
            self.stats.evictions += self.map.len() as u64;
            self.stats.clears += 1;
            self.map.clear();
        }
        self.map.insert(key, value);
        debug_assert!(self.map.len() <= self.entries_max);
    }

    /// Counts a value that was computed but not remembered (its key was too long).
    pub(crate) fn count_uncacheable(&mut self) {
        self.stats.uncacheable += 1;
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats { entries: self.map.len() as u64, ..self.stats }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_cache_is_cleared_and_the_evictions_counted() {
        let mut c: BoundedCache<u32, u32> = BoundedCache::new(3);
        for k in 0..3 {
            assert_eq!(c.get(&k), None);
            c.insert(k, k * 10);
        }
        assert_eq!(c.get(&1), Some(10));
        c.insert(3, 30);
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.evictions, s.clears, s.entries), (1, 3, 3, 1, 1));
        assert_eq!(c.get(&1), None);
        assert_eq!(c.get(&3), Some(30));
    }
}
