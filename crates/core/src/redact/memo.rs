//! Pseudonyms already computed, per redactor: the same token, key or session id comes back on
//! request after request, and its HMAC costs a SHA-256 block per 64 bytes of it (a JWT is
//! about fifteen) where a look-up costs one hash of it.
//!
//! The cache holds secrets in the clear, as the events being redacted do, so it stays inside
//! the redactor: it is never printed (the redactor's `Debug` hides it), serialized or shared,
//! and a clone of the redactor starts with an empty one.

use hashbrown::HashTable;
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;

/// Distinct secrets one redactor remembers; when full, the cache starts over.
const CACHED_SECRETS_MAX: usize = 4096;
/// Bytes of secrets (with their kinds) the cache holds at most; when they would be exceeded,
/// the cache starts over.
const CACHED_BYTES_MAX: usize = 2 << 20;
/// Secrets longer than this are not remembered: rare, and one would take a large share.
const CACHED_SECRET_BYTES_MAX: usize = 4096;

/// The bytes of the HMAC that a pseudonym shows (in hex).
pub(super) type ShownDigest = [u8; super::edits::PSEUDONYM_HEX_DIGITS / 2];

struct Entry {
    hash: u64,
    /// `kind ‖ 0 ‖ secret`: the HMAC's message.
    message: Box<[u8]>,
    digest: ShownDigest,
}

impl Entry {
    /// Whether this entry's message is `kind ‖ 0 ‖ secret`, compared in place so that a
    /// look-up copies nothing.
    fn holds(&self, kind: &[u8], secret: &[u8]) -> bool {
        let m = &self.message;
        m.len() == kind.len() + 1 + secret.len()
            && m[..kind.len()] == *kind
            && m[kind.len()] == 0
            && m[kind.len() + 1..] == *secret
    }
}

#[derive(Default)]
struct Entries {
    /// The remembered messages and their digests' first 64 bits. The hasher is seeded at
    /// random, so chosen secrets do not pile up in one bucket; and were they to, the bound on
    /// entries bounds the cost of a look-up.
    table: HashTable<Entry>,
    hasher: foldhash::fast::RandomState,
    /// Bytes of the messages in `table`.
    bytes: usize,
}

impl Entries {
    /// The hash of `kind ‖ 0 ‖ secret`, fed in parts (the kind has no 0 in it, and its
    /// length goes in too, so that no two messages share their parts).
    fn hash(&self, kind: &[u8], secret: &[u8]) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write_usize(kind.len());
        h.write(kind);
        h.write(secret);
        h.finish()
    }
}

/// A bounded map from (kind, secret) to its pseudonym's digest.
#[derive(Default)]
pub(super) struct PseudonymCache {
    // A redactor is cloned per worker thread, so the lock is never contended in the pipeline;
    // a redactor shared between threads computes without the cache rather than wait.
    entries: Mutex<Entries>,
}

impl PseudonymCache {
    /// The digest of `kind ‖ 0 ‖ secret`, remembered or computed by `compute` (given that
    /// message in parts) and then remembered.
    pub(super) fn get_or_compute(
        &self,
        kind: &str,
        secret: &[u8],
        compute: impl FnOnce(&[&[u8]]) -> ShownDigest,
    ) -> ShownDigest {
        let kind = kind.as_bytes();
        let parts: [&[u8]; 3] = [kind, &[0], secret];
        if secret.len() > CACHED_SECRET_BYTES_MAX {
            return compute(&parts);
        }
        let Ok(mut guard) = self.entries.try_lock() else {
            return compute(&parts);
        };
        let entries = &mut *guard;
        let hash = entries.hash(kind, secret);
        if let Some(e) = entries.table.find(hash, |e| e.hash == hash && e.holds(kind, secret)) {
            return e.digest;
        }
        let digest = compute(&parts);
        let len = kind.len() + 1 + secret.len();
        if entries.table.len() >= CACHED_SECRETS_MAX || entries.bytes + len > CACHED_BYTES_MAX {
            entries.table.clear();
            entries.bytes = 0;
        }
        let mut message = Vec::with_capacity(len);
        for part in parts {
            message.extend_from_slice(part);
        }
        entries.table.insert_unique(
            hash,
            Entry { hash, message: message.into_boxed_slice(), digest },
            |e| e.hash,
        );
        entries.bytes += len;
        digest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_starts_over_when_full() {
        let cache = PseudonymCache::default();
        let computed = std::cell::Cell::new(0);
        let digest_of = |secret: &[u8]| {
            cache.get_or_compute("tok", secret, |parts| {
                computed.set(computed.get() + 1);
                let n = parts.iter().map(|p| p.len()).sum::<usize>();
                [u8::try_from(n % 256).unwrap(); 8]
            })
        };
        assert_eq!(digest_of(b"abc"), [7; 8]);
        assert_eq!(digest_of(b"abc"), [7; 8]);
        assert_eq!(computed.get(), 1);
        for i in 0..CACHED_SECRETS_MAX + 10 {
            digest_of(format!("secret-{i}").as_bytes());
        }
        let entries = cache.entries.lock().unwrap();
        assert!(entries.table.len() <= CACHED_SECRETS_MAX);
        assert!(entries.bytes <= CACHED_BYTES_MAX);
    }

    #[test]
    fn kinds_and_secrets_are_told_apart() {
        let cache = PseudonymCache::default();
        let computed = std::cell::Cell::new(0u8);
        let digest_of = |kind: &str, secret: &[u8]| {
            cache.get_or_compute(kind, secret, |parts| {
                computed.set(computed.get() + 1);
                let message: Vec<u8> = parts.concat();
                assert_eq!(message, [kind.as_bytes(), &[0], secret].concat());
                [computed.get(); 8]
            })
        };
        // Messages that share their bytes once the separator is left out, and a secret that
        // starts with the separator, each get their own digest.
        let cases: [(&str, &[u8]); 6] = [
            ("ab", b"c"),
            ("a", b"bc"),
            ("abc", b""),
            ("a", b"\0bc"),
            ("tok", b"x"),
            ("key", b"x"),
        ];
        let first: Vec<_> = cases.iter().map(|&(k, s)| digest_of(k, s)).collect();
        assert_eq!(computed.get(), 6);
        for (i, &(k, s)) in cases.iter().enumerate() {
            assert_eq!(digest_of(k, s), first[i], "{k} {s:?}");
        }
        assert_eq!(computed.get(), 6);
    }

    #[test]
    fn long_secrets_are_not_kept() {
        let cache = PseudonymCache::default();
        let long = vec![b'a'; CACHED_SECRET_BYTES_MAX + 1];
        cache.get_or_compute("tok", &long, |_| [1; 8]);
        assert!(cache.entries.lock().unwrap().table.is_empty());
    }
}
