//! Searching a store: segments are skipped by their summaries (time bounds, Bloom filter of
//! actor keys), blocks by their time bounds; the rest is decrypted, decompressed and its
//! records handed to the caller in the order they were appended. Only committed data is
//! read: the newest segment up to its last valid checkpoint.

use std::fs;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;

use crate::check::{check_segment, CheckContext};
use crate::crypto::BlockCipher;
use crate::format::{corrupt, decode_block};
use crate::keys;
use crate::layout;
use crate::records::{for_each_record, BlockDecoder};
use crate::summary::Summary;
use crate::StoreError;

/// A segment as the reader found it at open.
#[derive(Clone, Debug)]
pub struct SegmentInfo {
    pub seq: u64,
    pub path: PathBuf,
    /// From the `.sum` file of a sealed segment, or from the newest segment's last
    /// checkpoint (without a key filter). `None` when a summary file is missing or does not
    /// verify: the segment is then always scanned.
    pub summary: Option<Summary>,
    /// The newest segment, possibly still being written.
    pub newest: bool,
}

/// What a scan did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub segments_total: u64,
    pub segments_skipped_by_time: u64,
    pub segments_skipped_by_key: u64,
    pub segments_read: u64,
    pub blocks_read: u64,
    pub blocks_skipped_by_time: u64,
    pub blocks_skipped_by_key: u64,
    pub records_yielded: u64,
}

/// What a scan looks for among actor keys: given a test of whether a key may be held (a
/// Bloom filter's, or a record's own keys), whether what is sought may be there.
pub type KeyNeed<'a> = &'a dyn Fn(&dyn Fn(&[u8]) -> bool) -> bool;

/// A read-only view of a store's segments.
pub struct Reader {
    segments: Vec<SegmentInfo>,
    public_key: VerifyingKey,
    cipher: Option<BlockCipher>,
    decoder: BlockDecoder,
}

impl Reader {
    /// Lists the segments and their summaries. `encryption_key` is needed only to read
    /// encrypted blocks.
    pub fn open(dir: &Path, encryption_key: Option<[u8; 32]>) -> Result<Reader, StoreError> {
        let public_key = keys::read_public_key(dir)?;
        let seqs = layout::list_segments(dir)?;
        let mut segments = Vec::with_capacity(seqs.len());
        for (at, &seq) in seqs.iter().enumerate() {
            let newest = at + 1 == seqs.len();
            let summary = match fs::read(layout::summary_path(dir, seq)) {
                Ok(bytes) => Summary::decode(&bytes, &public_key).ok().filter(|s| s.seq == seq),
                Err(_) => None,
            };
            let summary = match (summary, newest) {
                (Some(summary), _) => Some(summary),
                (None, false) => None,
                (None, true) => newest_summary(dir, seq, &public_key)?,
            };
            segments.push(SegmentInfo {
                seq,
                path: layout::segment_path(dir, seq),
                summary,
                newest,
            });
        }
        Ok(Reader {
            segments,
            public_key,
            cipher: encryption_key.as_ref().map(BlockCipher::new),
            decoder: BlockDecoder::new()?,
        })
    }

    /// The segments found at open, oldest first.
    pub fn segments(&self) -> &[SegmentInfo] {
        &self.segments
    }

    /// Calls `each(ts_ms, record)` for every committed record with `from_ms <= ts_ms <=
    /// to_ms` (and, given `key_filter`, carrying that actor key), in append order, until it
    /// returns `Break`.
    pub fn scan(
        &mut self,
        from_ms: i64,
        to_ms: i64,
        key_filter: Option<&[u8]>,
        each: impl FnMut(i64, &[u8]) -> ControlFlow<()>,
    ) -> Result<ScanStats, StoreError> {
        match key_filter {
            Some(key) => {
                let need = |holds: &dyn Fn(&[u8]) -> bool| holds(key);
                self.scan_filtered(from_ms, to_ms, Some(&need), each)
            }
            None => self.scan_filtered(from_ms, to_ms, None, each),
        }
    }

    /// [`Reader::scan`] with the actor test left to `need`: given a test of whether a key may
    /// be held (a sealed segment's Bloom filter, then each record's own keys), it says
    /// whether what is sought may be there. A search for any of several actors, or for two
    /// at once, asks for each.
    pub fn scan_filtered(
        &mut self,
        from_ms: i64,
        to_ms: i64,
        need: Option<KeyNeed<'_>>,
        mut each: impl FnMut(i64, &[u8]) -> ControlFlow<()>,
    ) -> Result<ScanStats, StoreError> {
        let mut stats = ScanStats::default();
        for segment in &self.segments {
            stats.segments_total += 1;
            // The newest segment's summary is a snapshot from open; a writer may have
            // committed more since, so it is always read.
            if let Some(summary) = segment.summary.as_ref().filter(|_| !segment.newest) {
                if !summary.overlaps(from_ms, to_ms) {
                    stats.segments_skipped_by_time += 1;
                    continue;
                }
                if need.is_some_and(|n| !n(&|key| summary.may_contain(key))) {
                    stats.segments_skipped_by_key += 1;
                    continue;
                }
            }
            stats.segments_read += 1;
            let path = &segment.path;
            let bytes = fs::read(path).map_err(|e| StoreError::io("read", path, e))?;
            let ctx = CheckContext {
                public_key: &self.public_key,
                expected_seq: segment.seq,
                expected_prev_hash: None,
                newest: segment.newest,
            };
            let check = check_segment(path, &bytes, &ctx);
            if let Some(problem) = check.problem {
                return Err(corrupt(path, segment.seq, problem.offset_bytes, problem.detail));
            }
            let encrypted = check.header.as_ref().is_some_and(|h| h.encrypted);
            for block in &check.blocks {
                if block.record_count == 0 || block.max_ms < from_ms || block.min_ms > to_ms {
                    stats.blocks_skipped_by_time += 1;
                    continue;
                }
                let sealed_summary = segment.summary.as_ref().filter(|_| !segment.newest);
                if let (Some(n), Some(summary)) = (need, sealed_summary) {
                    if !n(&|key| summary.block_may_contain(block.index, key)) {
                        stats.blocks_skipped_by_key += 1;
                        continue;
                    }
                }
                stats.blocks_read += 1;
                let frame = block.frame;
                let payload = &bytes[frame.payload_offset as usize..frame.end() as usize];
                let view = decode_block(payload, encrypted)
                    .map_err(|reason| corrupt(path, segment.seq, frame.offset, reason))?;
                let raw =
                    self.decoder.decode(&view, self.cipher.as_ref()).map_err(
                        |reason| match reason {
                            None => {
                                StoreError::Decrypt { seq: segment.seq, block_index: block.index }
                            }
                            Some(reason) => corrupt(path, segment.seq, frame.offset, reason),
                        },
                    )?;
                let mut stopped = false;
                for_each_record(raw, block.record_count, |record| {
                    if record.ts_ms < from_ms || record.ts_ms > to_ms {
                        return true;
                    }
                    if need.is_some_and(|n| !n(&|key| record.has_key(key))) {
                        return true;
                    }
                    stats.records_yielded += 1;
                    stopped = each(record.ts_ms, record.record).is_break();
                    !stopped
                })
                .map_err(|reason| corrupt(path, segment.seq, frame.offset, reason))?;
                if stopped {
                    return Ok(stats);
                }
            }
        }
        Ok(stats)
    }
}

/// The newest segment's bounds from its last valid checkpoint (it has no `.sum` yet).
fn newest_summary(
    dir: &Path,
    seq: u64,
    public_key: &VerifyingKey,
) -> Result<Option<Summary>, StoreError> {
    let path = layout::segment_path(dir, seq);
    let bytes = fs::read(&path).map_err(|e| StoreError::io("read", &path, e))?;
    let ctx =
        CheckContext { public_key, expected_seq: seq, expected_prev_hash: None, newest: true };
    let check = check_segment(&path, &bytes, &ctx);
    if let Some(problem) = check.problem {
        return Err(corrupt(&path, seq, problem.offset_bytes, problem.detail));
    }
    Ok(check.last_checkpoint.map(|cp| Summary {
        seq,
        record_count: cp.record_count,
        block_count: cp.block_count,
        min_ms: cp.min_ms,
        max_ms: cp.max_ms,
        last_hash: cp.last_hash,
        bloom: None,
        block_blooms: Vec::new(),
    }))
}
