//! The writer's configuration, checked once by `Store::open`.

use std::fmt;
use std::path::PathBuf;

use crate::format::{BLOCK_BYTES_TARGET_MAX, META_BYTES_MAX};
use crate::StoreError;

/// Smallest segment size a configuration may ask for: a segment must hold at least a header,
/// a checkpoint with a full meta and a block.
pub const SEGMENT_BYTES_MAX_MIN: u64 = 4096;
/// Largest segment size: segments are read whole by `verify` and the reader.
pub const SEGMENT_BYTES_MAX_LIMIT: u64 = 1 << 30;
/// Smallest block target: below this, per-block overhead (hash, header, zstd frame) dominates.
pub const BLOCK_BYTES_TARGET_MIN: usize = 256;
/// zstd levels allowed: above 19 compression is far too slow for a write path.
pub const ZSTD_LEVEL_MAX: i32 = 19;

/// How a store writes, rotates and expires its segments.
#[derive(Clone)]
pub struct StoreConfig {
    /// The data directory (keys, segments, retention log).
    pub dir: PathBuf,
    /// A segment is sealed at the first commit after it reaches this size.
    pub segment_bytes_max: u64,
    /// A segment is sealed at the first commit (or `maintain`) after it is this old.
    pub segment_age_max_ms: i64,
    /// Raw bytes of records gathered before a block is compressed and written.
    pub block_bytes_target: usize,
    /// Sealed segments whose newest event is older than this are deleted.
    pub retention_age_max_ms: Option<i64>,
    /// Oldest sealed segments are deleted while the store is bigger than this.
    pub retention_bytes_max: Option<u64>,
    /// Encrypts block bodies of new segments (ChaCha20-Poly1305).
    pub encryption_key: Option<[u8; 32]>,
    /// zstd level of block bodies, 1..=19.
    pub zstd_level: i32,
}

impl StoreConfig {
    /// Defaults: 64 MiB / 1 day segments, 512 KiB blocks, zstd level 1, no retention, no
    /// encryption.
    pub fn new(dir: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            dir: dir.into(),
            segment_bytes_max: 64 << 20,
            segment_age_max_ms: 24 * 3600 * 1000,
            block_bytes_target: 512 << 10,
            retention_age_max_ms: None,
            retention_bytes_max: None,
            encryption_key: None,
            zstd_level: 1,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        let bad = |field, reason: String| Err(StoreError::Config { field, reason });
        if !(SEGMENT_BYTES_MAX_MIN..=SEGMENT_BYTES_MAX_LIMIT).contains(&self.segment_bytes_max) {
            return bad(
                "segment_bytes_max",
                format!(
                    "{} is outside {SEGMENT_BYTES_MAX_MIN}..={SEGMENT_BYTES_MAX_LIMIT}",
                    self.segment_bytes_max
                ),
            );
        }
        if self.segment_age_max_ms <= 0 {
            return bad(
                "segment_age_max_ms",
                format!("{} is not positive", self.segment_age_max_ms),
            );
        }
        if !(BLOCK_BYTES_TARGET_MIN..=BLOCK_BYTES_TARGET_MAX).contains(&self.block_bytes_target) {
            return bad(
                "block_bytes_target",
                format!(
                    "{} is outside {BLOCK_BYTES_TARGET_MIN}..={BLOCK_BYTES_TARGET_MAX}",
                    self.block_bytes_target
                ),
            );
        }
        if self.retention_age_max_ms.is_some_and(|age| age <= 0) {
            return bad("retention_age_max_ms", "is not positive".into());
        }
        if self.retention_bytes_max == Some(0) {
            return bad("retention_bytes_max", "is zero".into());
        }
        if !(1..=ZSTD_LEVEL_MAX).contains(&self.zstd_level) {
            return bad(
                "zstd_level",
                format!("{} is outside 1..={ZSTD_LEVEL_MAX}", self.zstd_level),
            );
        }
        // A segment must fit its first checkpoint, which may carry a full meta.
        debug_assert!(META_BYTES_MAX as u64 <= SEGMENT_BYTES_MAX_LIMIT);
        Ok(())
    }
}

impl fmt::Debug for StoreConfig {
    // Never prints the encryption key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("dir", &self.dir)
            .field("segment_bytes_max", &self.segment_bytes_max)
            .field("segment_age_max_ms", &self.segment_age_max_ms)
            .field("block_bytes_target", &self.block_bytes_target)
            .field("retention_age_max_ms", &self.retention_age_max_ms)
            .field("retention_bytes_max", &self.retention_bytes_max)
            .field("encryption_key", &self.encryption_key.map(|_| "<set>"))
            .field("zstd_level", &self.zstd_level)
            .finish()
    }
}
