//! Pseudonyms already computed, per redactor: the same token, key or session id comes back on
//! request after request, and its HMAC costs a SHA-256 block per 64 bytes of it (a JWT is
//! about fifteen) where a look-up costs one hash of it.
//!
//! The cache holds secrets in the clear, as the events being redacted do, so it stays inside
//! the redactor: it is never printed (the redactor's `Debug` hides it), serialized or shared,
//! and a clone of the redactor starts with an empty one.

use std::collections::HashMap;
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

#[derive(Default)]
struct Entries {
    /// `kind ‖ 0 ‖ secret` (the HMAC's message) → the digest's first 64 bits. The hasher is
    /// seeded at random, so chosen secrets do not pile up in one bucket; and were they to,
    /// the bound on entries bounds the cost of a look-up.
    map: HashMap<Box<[u8]>, ShownDigest, foldhash::fast::RandomState>,
    /// Bytes of the keys in `map`.
    bytes: usize,
    /// The message being looked up, reused so that a hit allocates nothing.
    message: Vec<u8>,
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
    /// message) and then remembered.
    pub(super) fn get_or_compute(
        &self,
        kind: &str,
        secret: &[u8],
        compute: impl FnOnce(&[&[u8]]) -> ShownDigest,
    ) -> ShownDigest {
        let parts: [&[u8]; 3] = [kind.as_bytes(), &[0], secret];
        if secret.len() > CACHED_SECRET_BYTES_MAX {
            return compute(&parts);
        }
        let Ok(mut guard) = self.entries.try_lock() else {
            return compute(&parts);
        };
        let entries = &mut *guard;
        entries.message.clear();
        for part in parts {
            entries.message.extend_from_slice(part);
        }
        if let Some(&digest) = entries.map.get(entries.message.as_slice()) {
            return digest;
        }
        let digest = compute(&parts);
        let len = entries.message.len();
        if entries.map.len() >= CACHED_SECRETS_MAX || entries.bytes + len > CACHED_BYTES_MAX {
            entries.map.clear();
            entries.bytes = 0;
        }
        entries.map.insert(entries.message.as_slice().into(), digest);
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
        assert!(entries.map.len() <= CACHED_SECRETS_MAX);
        assert!(entries.bytes <= CACHED_BYTES_MAX);
    }

    #[test]
    fn long_secrets_are_not_kept() {
        let cache = PseudonymCache::default();
        let long = vec![b'a'; CACHED_SECRET_BYTES_MAX + 1];
        cache.get_or_compute("tok", &long, |_| [1; 8]);
        assert!(cache.entries.lock().unwrap().map.is_empty());
    }
}
