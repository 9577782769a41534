//! Per-rule actor state: a hash index over a slab of slots, threaded on a least-recently-seen
//! list.
//!
//! The key text is stored once (in its slot); the index holds 4-byte slot numbers. Looking up
//! an existing key allocates nothing. The list gives eviction of the least recently seen actor
//! when the table is full, and expiry from the old end as event time passes, both O(1) per key
//! and both in an order that depends only on the events (never on hash order), so output
//! stays deterministic. The hasher's seed is random per process: it only places keys in the
//! index, which is never iterated, and it keeps crafted keys from degrading the table.

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

const NIL: u32 = u32::MAX;

/// Places keys in the tables of one engine. Tables sharing one `KeyHasher` (clones of it) hash
/// a key alike, so an event's key is hashed once for every rule that groups by the same
/// fields, instead of once per rule.
#[derive(Clone, Default)]
pub(crate) struct KeyHasher(DefaultHashBuilder);

impl KeyHasher {
    /// The key `text` with its hash for the tables built with this hasher.
    #[inline]
    pub fn key<'a>(&self, text: &'a str) -> Key<'a> {
        Key { text, hash: self.0.hash_one(text) }
    }
}

/// An actor key and its hash (from [`KeyHasher::key`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Key<'a> {
    pub text: &'a str,
    hash: u64,
}

impl<'a> Key<'a> {
    /// The hash part, to keep with the text and rebuild the key with [`Key::with_hash`].
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// A key from its text and the hash [`KeyHasher::key`] gave for that text.
    pub fn with_hash(text: &'a str, hash: u64) -> Key<'a> {
        Key { text, hash }
    }
}

/// One actor's slot.
pub(crate) struct Slot<S> {
    key: Box<str>,
    prev: u32,
    next: u32,
    /// The latest event time seen for the actor.
    pub last_seen_ms: i64,
    live: bool,
    pub state: S,
}

/// Actors of one rule.
pub(crate) struct KeyTable<S> {
    index: HashTable<u32>,
    hasher: KeyHasher,
    slots: Vec<Slot<S>>,
    free: Vec<u32>,
    /// Most recently seen.
    head: u32,
    /// Least recently seen.
    tail: u32,
    len: usize,
    max_keys: usize,
    /// Actors dropped because the table was full.
    pub evictions: u64,
    /// The most actors held at once.
    pub peak: usize,
}

impl<S: Default> KeyTable<S> {
    #[cfg(test)]
    pub fn new(max_keys: usize) -> KeyTable<S> {
        KeyTable::with_hasher(max_keys, KeyHasher::default())
    }

    /// A table whose keys come from `hasher` (see [`KeyHasher`]).
    pub fn with_hasher(max_keys: usize, hasher: KeyHasher) -> KeyTable<S> {
        assert!(max_keys >= 1, "a key table holds at least one key");
        KeyTable {
            index: HashTable::new(),
            hasher,
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            len: 0,
            max_keys,
            evictions: 0,
            peak: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The key `text` as this table hashes it.
    #[cfg(test)]
    pub fn key<'a>(&self, text: &'a str) -> Key<'a> {
        self.hasher.key(text)
    }

    /// The slot of `key`, if the actor is known.
    pub fn find(&self, key: Key<'_>) -> Option<u32> {
        debug_assert_eq!(key.hash, self.hasher.key(key.text).hash, "a key of another hasher");
        self.index.find(key.hash, |&i| same_text(&self.slots[i as usize].key, key.text)).copied()
    }

    /// The slot of `key`, created when new (evicting the least recently seen actor when the
    /// table is full), and marked as seen at `t_ms`. Returns the slot and whether it is new.
    pub fn touch_or_insert(&mut self, key: Key<'_>, t_ms: i64) -> (u32, bool) {
        if let Some(i) = self.find(key) {
            self.touch(i, t_ms);
            return (i, false);
        }
        if self.len >= self.max_keys {
            let victim = self.tail;
            debug_assert_ne!(victim, NIL, "a full table has a tail");
            self.remove(victim);
            self.evictions += 1;
        }
        let slot = Slot {
            key: key.text.into(),
            prev: NIL,
            next: self.head,
            last_seen_ms: t_ms,
            live: true,
            state: S::default(),
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 keys")
            }
        };
        if self.head != NIL {
            self.slots[self.head as usize].prev = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index.insert_unique(key.hash, i, |&j| hasher.key(&slots[j as usize].key).hash);
        self.len += 1;
        self.peak = self.peak.max(self.len);
        (i, true)
    }

    /// Marks a slot as seen at `t_ms` (its last-seen time never goes back).
    pub fn touch(&mut self, i: u32, t_ms: i64) {
        let s = &mut self.slots[i as usize];
        s.last_seen_ms = s.last_seen_ms.max(t_ms);
        if self.head == i {
            return;
        }
        self.unlink(i);
        let s = &mut self.slots[i as usize];
        s.prev = NIL;
        s.next = self.head;
        if self.head != NIL {
            self.slots[self.head as usize].prev = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next) = {
            let s = &self.slots[i as usize];
            (s.prev, s.next)
        };
        if prev != NIL {
            self.slots[prev as usize].next = next;
        } else {
            self.head = next;
        }
        if next != NIL {
            self.slots[next as usize].prev = prev;
        } else {
            self.tail = prev;
        }
    }

    /// Drops an actor.
    pub fn remove(&mut self, i: u32) {
        debug_assert!(self.slots[i as usize].live);
        self.unlink(i);
        let hash = self.hasher.key(&self.slots[i as usize].key).hash;
        if let Ok(entry) = self.index.find_entry(hash, |&j| j == i) {
            entry.remove();
        }
        let s = &mut self.slots[i as usize];
        s.key = Box::from("");
        s.state = S::default();
        s.live = false;
        s.prev = NIL;
        s.next = NIL;
        self.free.push(i);
        self.len -= 1;
    }

    /// Drops actors from the least recently seen end while their last event is at or before
    /// `cutoff_ms`. Returns how many were dropped.
    pub fn expire(&mut self, cutoff_ms: i64) -> usize {
        let mut n = 0;
        while self.tail != NIL && self.slots[self.tail as usize].last_seen_ms <= cutoff_ms {
            self.remove(self.tail);
            n += 1;
        }
        n
    }

    /// The last-seen time of the least recently seen actor.
    pub fn oldest_seen_ms(&self) -> Option<i64> {
        (self.tail != NIL).then(|| self.slots[self.tail as usize].last_seen_ms)
    }

    #[cfg(test)]
    pub fn slot(&self, i: u32) -> &Slot<S> {
        &self.slots[i as usize]
    }

    pub fn slot_mut(&mut self, i: u32) -> &mut Slot<S> {
        &mut self.slots[i as usize]
    }

    /// Whether slot `i` holds an actor (slots are reused after removal).
    pub fn is_live(&self, i: u32) -> bool {
        self.slots.get(i as usize).is_some_and(|s| s.live)
    }

    /// Slots from the most to the least recently seen.
    #[cfg(test)]
    pub fn iter_recent(&self) -> impl Iterator<Item = u32> + '_ {
        let mut cur = self.head;
        std::iter::from_fn(move || {
            if cur == NIL {
                return None;
            }
            let i = cur;
            cur = self.slots[i as usize].next;
            Some(i)
        })
    }
}

/// Whether two texts are equal, short ones compared without a library call (keys are mostly
/// short: an address, a user name).
#[inline]
pub(crate) fn same_text(a: &str, b: &str) -> bool {
    apiwatch_core::bytes::same_bytes(a.as_bytes(), b.as_bytes())
}

impl<S> Slot<S> {
    pub fn key(&self) -> &str {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word comparison agrees with plain equality at every length and at every position
    /// of a difference.
    #[test]
    fn same_text_agrees_with_equality() {
        let base: String = "0123456789abcdefghijklmnopqrstuvwxyz".repeat(2);
        for n in 0..base.len() {
            let a = &base[..n];
            assert!(same_text(a, a));
            // Equal text elsewhere in memory.
            let copy = String::from(a);
            assert!(same_text(a, &copy));
            for at in 0..n {
                let mut b = a.as_bytes().to_vec();
                b[at] = b'#';
                let b = String::from_utf8(b).unwrap();
                assert_eq!(same_text(a, &b), a == b, "{a} {b}");
                assert!(!same_text(a, &b));
            }
            assert!(!same_text(a, &base[..n + 1]));
            assert_eq!(same_text(&base[1..n + 1], a), &base[1..n + 1] == a);
        }
    }

    #[test]
    fn evicts_least_recently_seen_and_expires_in_order() {
        let mut t: KeyTable<u32> = KeyTable::new(3);
        t.touch_or_insert(t.key("a"), 1);
        t.touch_or_insert(t.key("b"), 2);
        t.touch_or_insert(t.key("c"), 3);
        t.touch_or_insert(t.key("a"), 4); // a is now the most recent
        let (_, new) = t.touch_or_insert(t.key("d"), 5); // evicts b
        assert!(new);
        assert_eq!(t.evictions, 1);
        assert!(t.find(t.key("b")).is_none());
        let order: Vec<&str> = t.iter_recent().map(|i| t.slot(i).key()).collect();
        assert_eq!(order, ["d", "a", "c"]);
        assert_eq!(t.expire(4), 2); // c (3) and a (4)
        assert_eq!(t.len(), 1);
        assert!(t.find(t.key("d")).is_some());
        assert_eq!(t.peak, 3);
        // A reused slot is found under its new key only.
        t.touch_or_insert(t.key("e"), 6);
        assert!(t.find(t.key("a")).is_none() && t.find(t.key("e")).is_some());
    }
}
