//! Per-segment summaries for search: time bounds, counts, and Bloom filters over the actor
//! keys (one for the segment, one per block), in a signed sidecar `NNNNNNNNNNNN.sum` next to
//! each sealed segment. The segment's filter lets a search skip the segment; the blocks'
//! filters let it skip, inside a segment it must read, the blocks the actor is not in.
//!
//! Layout (little-endian): magic `APIWSM2\0` (8), segment seq (8), record count (8), block
//! count (4), min ms (8), max ms (8), last block hash (32), the segment's filter, a count of
//! block filters (4; 0 = none, or the block count), the block filters in block order, then an
//! Ed25519 signature (64) of `SUMMARY_SIGNING_CONTEXT` and everything before it. A filter is
//! its bit count (8; 0 = no filter, every key may be present), hash count (4) and bits (bit
//! count / 8). A summary of an older layout does not decode; the writer rebuilds it. A summary
//! only decides what a search may skip, but an altered one could hide a segment from a search,
//! hence the signature; one that does not verify is ignored and its segment scanned.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::format::{Cursor, Hash};
use crate::keys;

/// The first 8 bytes of a summary file.
pub const SUMMARY_MAGIC: [u8; 8] = *b"APIWSM2\0";
/// Prefix of signed summary messages.
pub const SUMMARY_SIGNING_CONTEXT: &[u8] = b"apiwatch-store summary v2\0";
/// Distinct actor keys tracked per segment. Past this the segment gets no filter (searches
/// scan it): 1 Mi keys cost ~16 MiB of hashes while writing and a 1.2 MiB filter.
pub const SUMMARY_KEYS_DISTINCT_MAX: usize = 1 << 20;
/// Bits per distinct key for ~1% false positives (-ln(0.01) / ln(2)^2).
const BLOOM_BITS_PER_KEY: f64 = 9.59;
/// Hash functions for ~1% false positives (bits per key × ln 2).
const BLOOM_HASHES: u32 = 7;
/// Smallest filter, so tiny segments still get a meaningful one.
const BLOOM_BITS_MIN: u64 = 64;
/// Largest filter a summary file may declare: the filter for the tracked maximum, rounded up.
const BLOOM_BITS_MAX: u64 = 16 << 20;

/// A stable 64-bit hash of an actor key: FNV-1a, then a SplitMix64 finaliser to spread it.
/// It is part of the file format (filters are built from it), so it must never change;
/// std's hashers do not promise that.
pub fn key_hash(key: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    mix64(hash)
}

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A hasher for keys that are already hashes.
#[derive(Default)]
pub struct HashedKeyHasher(u64);

impl Hasher for HashedKeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 << 8) | u64::from(*byte);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// The distinct key hashes of a segment, bounded by [`SUMMARY_KEYS_DISTINCT_MAX`].
#[derive(Default)]
pub struct KeySet {
    hashes: HashSet<u64, BuildHasherDefault<HashedKeyHasher>>,
    /// More distinct keys than the limit were seen: the segment gets no filter.
    pub overflowed: bool,
}

impl KeySet {
    pub fn insert(&mut self, key: &[u8]) {
        if self.overflowed {
            return;
        }
        self.hashes.insert(key_hash(key));
        if self.hashes.len() > SUMMARY_KEYS_DISTINCT_MAX {
            self.overflowed = true;
            self.hashes = HashSet::default();
        }
    }

    /// The Bloom filter of these keys, `None` when there were too many.
    pub fn bloom(&self) -> Option<Bloom> {
        if self.overflowed {
            return None;
        }
        let mut bloom = Bloom::with_capacity(self.hashes.len());
        for hash in &self.hashes {
            bloom.insert_hash(*hash);
        }
        Some(bloom)
    }
}

/// A Bloom filter with double hashing over [`key_hash`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bloom {
    bits: Vec<u8>,
    bit_count: u64,
    hash_count: u32,
}

impl Bloom {
    /// A filter sized for `keys` distinct keys at ~1% false positives.
    pub fn with_capacity(keys: usize) -> Bloom {
        let wanted = (keys as f64 * BLOOM_BITS_PER_KEY).ceil() as u64;
        let bit_count = wanted.clamp(BLOOM_BITS_MIN, BLOOM_BITS_MAX).next_multiple_of(8);
        Bloom { bits: vec![0; (bit_count / 8) as usize], bit_count, hash_count: BLOOM_HASHES }
    }

    fn positions(&self, hash: u64) -> impl Iterator<Item = u64> + '_ {
        let step = mix64(hash ^ 0x9e37_79b9_7f4a_7c15) | 1;
        (0..u64::from(self.hash_count))
            .map(move |i| hash.wrapping_add(i.wrapping_mul(step)) % self.bit_count)
    }

    pub fn insert_hash(&mut self, hash: u64) {
        let positions: Vec<u64> = self.positions(hash).collect();
        for bit in positions {
            self.bits[(bit / 8) as usize] |= 1 << (bit % 8);
        }
    }

    /// `false` means the key is certainly absent.
    pub fn may_contain(&self, key: &[u8]) -> bool {
        let hash = key_hash(key);
        self.positions(hash).all(|bit| self.bits[(bit / 8) as usize] & (1 << (bit % 8)) != 0)
    }
}

/// What a search needs to know about a segment without reading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub seq: u64,
    pub record_count: u64,
    pub block_count: u32,
    pub min_ms: i64,
    pub max_ms: i64,
    pub last_hash: Hash,
    /// `None`: no filter (too many keys), any key may be present.
    pub bloom: Option<Bloom>,
    /// One filter per block, in block order; empty when unknown (every block may hold any
    /// key).
    pub block_blooms: Vec<Option<Bloom>>,
}

impl Summary {
    /// Whether records with event times in `from_ms..=to_ms` may be in the segment.
    pub fn overlaps(&self, from_ms: i64, to_ms: i64) -> bool {
        self.record_count > 0 && self.min_ms <= to_ms && self.max_ms >= from_ms
    }

    /// Whether records with `key` may be in the segment.
    pub fn may_contain(&self, key: &[u8]) -> bool {
        self.bloom.as_ref().is_none_or(|bloom| bloom.may_contain(key))
    }

    /// Whether records with `key` may be in block `index`.
    pub fn block_may_contain(&self, index: u32, key: &[u8]) -> bool {
        match self.block_blooms.get(index as usize) {
            Some(Some(bloom)) => bloom.may_contain(key),
            _ => true,
        }
    }

    /// The signed file contents.
    pub fn encode(&self, signing_key: &SigningKey) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&SUMMARY_MAGIC);
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.record_count.to_le_bytes());
        out.extend_from_slice(&self.block_count.to_le_bytes());
        out.extend_from_slice(&self.min_ms.to_le_bytes());
        out.extend_from_slice(&self.max_ms.to_le_bytes());
        out.extend_from_slice(&self.last_hash);
        encode_bloom(self.bloom.as_ref(), &mut out);
        assert!(
            self.block_blooms.is_empty() || self.block_blooms.len() == self.block_count as usize
        );
        out.extend_from_slice(&(self.block_blooms.len() as u32).to_le_bytes());
        for b in &self.block_blooms {
            encode_bloom(b.as_ref(), &mut out);
        }
        let signature = keys::sign(signing_key, SUMMARY_SIGNING_CONTEXT, &out);
        out.extend_from_slice(&signature);
        out
    }

    /// Reads a summary file's contents, checking its signature.
    pub fn decode(bytes: &[u8], public_key: &VerifyingKey) -> Result<Summary, String> {
        if bytes.len() < 8 + 64 {
            return Err("summary file is too short".into());
        }
        let (signed, signature) = bytes.split_at(bytes.len() - 64);
        let signature: [u8; 64] = signature.try_into().expect("split at 64");
        if !keys::signature_is_valid(public_key, SUMMARY_SIGNING_CONTEXT, signed, &signature) {
            return Err("summary signature does not verify".into());
        }
        let mut r = Cursor::new(signed);
        if r.array::<8>()? != SUMMARY_MAGIC {
            return Err("not a summary file (bad magic)".into());
        }
        let seq = r.u64()?;
        let record_count = r.u64()?;
        let block_count = r.u32()?;
        let min_ms = r.i64()?;
        let max_ms = r.i64()?;
        let last_hash = r.hash()?;
        let bloom = decode_bloom(&mut r)?;
        let filters = r.u32()?;
        if filters != 0 && filters != block_count {
            return Err(format!("{filters} block filters for {block_count} blocks"));
        }
        let mut block_blooms = Vec::with_capacity(filters.min(1 << 16) as usize);
        for _ in 0..filters {
            block_blooms.push(decode_bloom(&mut r)?);
        }
        if r.remaining() != 0 {
            return Err("trailing bytes after the summary".into());
        }
        Ok(Summary {
            seq,
            record_count,
            block_count,
            min_ms,
            max_ms,
            last_hash,
            bloom,
            block_blooms,
        })
    }
}

fn encode_bloom(bloom: Option<&Bloom>, out: &mut Vec<u8>) {
    match bloom {
        Some(bloom) => {
            out.extend_from_slice(&bloom.bit_count.to_le_bytes());
            out.extend_from_slice(&bloom.hash_count.to_le_bytes());
            out.extend_from_slice(&bloom.bits);
        }
        None => out.extend_from_slice(&[0; 12]),
    }
}

fn decode_bloom(r: &mut Cursor<'_>) -> Result<Option<Bloom>, String> {
    let bit_count = r.u64()?;
    let hash_count = r.u32()?;
    if bit_count == 0 {
        return Ok(None);
    }
    if bit_count & 7 != 0 || bit_count > BLOOM_BITS_MAX || !(1..=32).contains(&hash_count) {
        return Err(format!("bad Bloom filter shape ({bit_count} bits, {hash_count} hashes)"));
    }
    let bits = r.take((bit_count / 8) as usize)?.to_vec();
    Ok(Some(Bloom { bits, bit_count, hash_count }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bloom_has_no_false_negatives_and_few_false_positives() {
        let mut keys = KeySet::default();
        for i in 0..10_000 {
            keys.insert(format!("10.0.{}.{}", i / 256, i % 256).as_bytes());
        }
        let bloom = keys.bloom().unwrap();
        for i in 0..10_000 {
            assert!(bloom.may_contain(format!("10.0.{}.{}", i / 256, i % 256).as_bytes()));
        }
        let false_positives =
            (0..10_000).filter(|i| bloom.may_contain(format!("user-{i}").as_bytes())).count();
        assert!(false_positives < 250, "{false_positives} false positives in 10000");
    }

    #[test]
    fn summary_round_trips_and_rejects_tampering() {
        let signing_key = SigningKey::from_bytes(&[5; 32]);
        let mut keys = KeySet::default();
        keys.insert(b"alice");
        let summary = Summary {
            seq: 7,
            record_count: 3,
            block_count: 1,
            min_ms: 1,
            max_ms: 9,
            last_hash: [4; 32],
            bloom: keys.bloom(),
            block_blooms: vec![keys.bloom()],
        };
        let mut bytes = summary.encode(&signing_key);
        let public = signing_key.verifying_key();
        let decoded = Summary::decode(&bytes, &public).unwrap();
        assert_eq!(decoded, summary);
        assert!(decoded.block_may_contain(0, b"alice"));
        assert!(!decoded.block_may_contain(0, b"mallory"));
        assert!(decoded.block_may_contain(1, b"mallory"), "no filter: anything may be there");
        bytes[20] ^= 1;
        assert!(Summary::decode(&bytes, &public).is_err());
    }
}
