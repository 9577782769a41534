//! The writer: appends records into blocks, commits with signed checkpoints, rotates
//! segments and applies retention. It reads no clock: every call that needs the time takes
//! `now_ms`.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;

use crate::check::{check_segment, CheckContext, SegmentCheck};
use crate::config::StoreConfig;
use crate::crypto::BlockCipher;
use crate::format::{
    corrupt, decode_block, header_hash, push_frame_header, BlockHeader, Checkpoint, Hash,
    SegmentHeader, CHECKPOINT_SIGNING_CONTEXT, FRAME_KIND_CHECKPOINT, HASH_BYTES, HEADER_BYTES,
    KEYS_PER_RECORD_MAX, KEY_BYTES_MAX, META_BYTES_MAX, RECORD_BYTES_MAX,
};
use crate::keys;
use crate::layout;
use crate::records::{encode_record, for_each_record, BlockDecoder, BlockEncoder};
use crate::retention::{self, RetentionEntry, RetentionLog};
use crate::summary::{Bloom, KeySet, Summary};
use crate::StoreError;

/// What one `maintain` call did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MaintainReport {
    /// The open segment was sealed and a new one started.
    pub rotated: bool,
    /// Rotation was due but records appended since the last commit kept the segment open
    /// (sealing would commit them with a stale meta); the next commit seals it.
    pub rotation_deferred: bool,
    pub deleted_by_age: u32,
    pub deleted_by_bytes: u32,
    pub bytes_freed: u64,
}

/// Figures about the store as the writer sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Segment and summary files.
    pub bytes_on_disk: u64,
    /// Segments kept, the open one included.
    pub segments: u64,
    /// Records in committed blocks of kept segments.
    pub records_committed: u64,
    /// Records appended since the last commit (in blocks written or still buffered).
    pub records_uncommitted: u64,
    /// Blocks in kept segments, uncommitted ones included.
    pub blocks: u64,
    /// Segments deleted by retention over the store's life.
    pub segments_deleted: u64,
    /// Sequence number of the open segment.
    pub open_segment_seq: u64,
}

struct SealedSegment {
    bytes: u64,
    summary: Summary,
}

struct OpenSegment {
    file: File,
    path: PathBuf,
    header: SegmentHeader,
    header_hash: Hash,
    len_bytes: u64,
    committed_len_bytes: u64,
    block_count: u32,
    record_count: u64,
    committed_record_count: u64,
    min_ms: i64,
    max_ms: i64,
    last_hash: Hash,
    keys: KeySet,
    /// The keys of the block being gathered, and the filters of the blocks written.
    block_keys: KeySet,
    block_blooms: Vec<Option<Bloom>>,
}

/// An open store: the only writer of its directory.
pub struct Store {
    config: StoreConfig,
    signing_key: SigningKey,
    encoder: BlockEncoder,
    open: OpenSegment,
    sealed: VecDeque<SealedSegment>,
    pending: Vec<u8>,
    pending_count: u32,
    pending_min_ms: i64,
    pending_max_ms: i64,
    frame: Vec<u8>,
    has_meta: bool,
    meta: Vec<u8>,
    retention_torn_at: Option<u64>,
    segments_deleted: u64,
    poisoned: bool,
}

impl Store {
    /// Opens or creates a store; after a crash, cuts the newest segment back to its last valid
    /// checkpoint (a torn frame, blocks never committed). Returns the last committed `meta`
    /// (`None` if nothing was ever committed) so the caller can resume its sources there.
    /// Committed data that fails its checks is never cut: opening fails with `Corrupt`.
    pub fn open(config: StoreConfig, now_ms: i64) -> Result<(Store, Option<Vec<u8>>), StoreError> {
        config.validate()?;
        let dir = config.dir.clone();
        let segments_dir = layout::segments_dir(&dir);
        fs::create_dir_all(&segments_dir)
            .map_err(|e| StoreError::io("create", &segments_dir, e))?;
        let signing_key = keys::load_or_create_signing_key(&dir)?;
        let public_key = signing_key.verifying_key();
        let cipher = config.encryption_key.as_ref().map(BlockCipher::new);

        let log = RetentionLog::read(&dir, &public_key)?;
        let log_path = layout::retention_log_path(&dir);
        for line in &log.lines {
            if let Err(reason) = &line.entry {
                return Err(corrupt(&log_path, 0, line.offset, reason.clone()));
            }
        }
        let last_retained = log.last_entry().cloned();

        let mut seqs = layout::list_segments(&dir)?;
        if let Some(retained) = &last_retained {
            // A crash between logging a deletion and deleting the files leaves them behind.
            for seq in seqs.iter().filter(|&&seq| seq <= retained.seq) {
                remove_if_present(&layout::summary_path(&dir, *seq))?;
                remove_if_present(&layout::segment_path(&dir, *seq))?;
            }
            seqs.retain(|&seq| seq > retained.seq);
        }

        let mut decoder = BlockDecoder::new()?;
        let mut sealed = VecDeque::new();
        let newest = seqs.pop();
        for &seq in &seqs {
            sealed.push_back(load_sealed(&dir, seq, &signing_key, cipher.as_ref(), &mut decoder)?);
        }

        let encoder = BlockEncoder::new(
            config.zstd_level,
            config.encryption_key.as_ref().map(BlockCipher::new),
        )?;
        let mut has_meta = false;
        let mut meta = Vec::new();
        let mut reopened: Option<OpenSegment> = None;
        let mut next_seq = last_retained.as_ref().map_or(0, |r| r.seq + 1);
        let mut next_prev_hash = last_retained.as_ref().map_or([0; HASH_BYTES], |r| r.last_hash);
        if let Some(last) = sealed.back() {
            next_seq = last.summary.seq + 1;
            next_prev_hash = last.summary.last_hash;
        }
        if let Some(seq) = newest {
            let path = layout::segment_path(&dir, seq);
            let bytes = fs::read(&path).map_err(|e| StoreError::io("read", &path, e))?;
            let ctx = CheckContext {
                public_key: &public_key,
                expected_seq: seq,
                expected_prev_hash: None,
                newest: true,
            };
            let check = check_segment(&path, &bytes, &ctx);
            if let Some(problem) = &check.problem {
                return Err(corrupt(&path, seq, problem.offset_bytes, problem.detail.clone()));
            }
            match check.last_checkpoint.clone() {
                None => {
                    // Torn while being created: nothing in it was ever committed.
                    remove_if_present(&path)?;
                    if let Some(previous) = seqs.last() {
                        let previous_path = layout::segment_path(&dir, *previous);
                        let previous_bytes = fs::read(&previous_path)
                            .map_err(|e| StoreError::io("read", &previous_path, e))?;
                        let ctx = CheckContext { newest: false, expected_seq: *previous, ..ctx };
                        let previous_check = check_segment(&previous_path, &previous_bytes, &ctx);
                        if let Some(cp) = previous_check.last_checkpoint {
                            has_meta = cp.has_meta;
                            meta = cp.meta;
                        }
                    }
                    next_seq = seq;
                }
                Some(cp) => {
                    has_meta = cp.has_meta;
                    meta = cp.meta.clone();
                    if check.tail.is_some() {
                        truncate_to(&path, check.committed_end)?;
                    }
                    if cp.is_final {
                        let summary =
                            rebuild_summary(&path, &bytes, &check, cipher.as_ref(), &mut decoder)?;
                        let bytes_on_disk =
                            write_summary(&dir, &summary, &signing_key)? + check.committed_end;
                        next_seq = seq + 1;
                        next_prev_hash = cp.last_hash;
                        sealed.push_back(SealedSegment { bytes: bytes_on_disk, summary });
                    } else {
                        let header = check.header.clone().expect("a checkpoint implies a header");
                        if header.encrypted && cipher.is_none() && cp.block_count > 0 {
                            return Err(StoreError::Decrypt { seq, block_index: 0 });
                        }
                        let mut keys_seen = KeySet::default();
                        let block_blooms = collect_keys(
                            &path,
                            &bytes,
                            &check,
                            header.encrypted,
                            cipher.as_ref(),
                            &mut decoder,
                            &mut keys_seen,
                        )?;
                        let file = OpenOptions::new()
                            .write(true)
                            .open(&path)
                            .map_err(|e| StoreError::io("open", &path, e))?;
                        let header_bytes = header.encode();
                        reopened = Some(OpenSegment {
                            file,
                            path: path.clone(),
                            header_hash: header_hash(&header_bytes),
                            header,
                            len_bytes: check.committed_end,
                            committed_len_bytes: check.committed_end,
                            block_count: cp.block_count,
                            record_count: cp.record_count,
                            committed_record_count: cp.record_count,
                            min_ms: cp.min_ms,
                            max_ms: cp.max_ms,
                            last_hash: cp.last_hash,
                            keys: keys_seen,
                            block_keys: KeySet::default(),
                            block_blooms,
                        });
                    }
                }
            }
        }
        let returned_meta = has_meta.then(|| meta.clone());
        let open = match reopened {
            Some(mut open) => {
                use std::io::Seek;
                open.file
                    .seek(std::io::SeekFrom::Start(open.len_bytes))
                    .map_err(|e| StoreError::io("seek", &open.path, e))?;
                open
            }
            None => create_segment(
                &dir,
                next_seq,
                next_prev_hash,
                now_ms,
                encoder.encrypted(),
                has_meta,
                &meta,
                &signing_key,
            )?,
        };
        let mut store = Store {
            config,
            signing_key,
            encoder,
            open,
            sealed,
            pending: Vec::new(),
            pending_count: 0,
            pending_min_ms: i64::MAX,
            pending_max_ms: i64::MIN,
            frame: Vec::new(),
            has_meta,
            meta,
            retention_torn_at: log.torn_at,
            segments_deleted: log.lines.len() as u64,
            poisoned: false,
        };
        // The encryption setting applies per segment: a reopened segment written with the
        // other setting is sealed so that new blocks follow the configuration.
        if store.open.header.encrypted != store.encoder.encrypted() {
            store.guard(|store| store.seal_open(now_ms))?;
        }
        Ok((store, returned_meta))
    }

    /// Buffers a record with its event time and actor keys; writes a block once the buffered
    /// records reach `block_bytes_target`. Nothing is durable before `commit`.
    pub fn append(&mut self, ts_ms: i64, keys: &[&[u8]], record: &[u8]) -> Result<(), StoreError> {
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        if record.len() > RECORD_BYTES_MAX {
            return Err(StoreError::RecordTooLarge {
                bytes: record.len(),
                max_bytes: RECORD_BYTES_MAX,
            });
        }
        if keys.len() > KEYS_PER_RECORD_MAX {
            return Err(StoreError::TooManyKeys { count: keys.len(), max: KEYS_PER_RECORD_MAX });
        }
        if let Some(key) = keys.iter().find(|key| key.len() > KEY_BYTES_MAX) {
            return Err(StoreError::KeyTooLarge { bytes: key.len(), max_bytes: KEY_BYTES_MAX });
        }
        encode_record(&mut self.pending, ts_ms, keys, record);
        self.pending_count += 1;
        self.pending_min_ms = self.pending_min_ms.min(ts_ms);
        self.pending_max_ms = self.pending_max_ms.max(ts_ms);
        for key in keys {
            self.open.keys.insert(key);
            self.open.block_keys.insert(key);
        }
        if self.pending.len() >= self.config.block_bytes_target {
            self.guard(Store::write_block)?;
        }
        Ok(())
    }

    /// The durability point: writes the buffered block and a signed checkpoint carrying
    /// `meta` (the caller's source offsets, so that "store the events, then remember the
    /// offsets" is one atomic step), then fsyncs. Everything appended before is then durable
    /// and visible to readers. Seals the segment when it is due for rotation.
    pub fn commit(&mut self, meta: &[u8], now_ms: i64) -> Result<(), StoreError> {
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        if meta.len() > META_BYTES_MAX {
            return Err(StoreError::MetaTooLarge { bytes: meta.len(), max_bytes: META_BYTES_MAX });
        }
        self.guard(|store| {
            store.write_block()?;
            store.has_meta = true;
            store.meta.clear();
            store.meta.extend_from_slice(meta);
            if store.rotation_due(now_ms) {
                store.seal_open(now_ms)
            } else {
                store.write_checkpoint(false, now_ms)
            }
        })
    }

    /// Seals the open segment when it is due (size or age), and applies retention: sealed
    /// segments whose newest event is older than `now_ms - retention_age_max_ms`, then the
    /// oldest while the store is over `retention_bytes_max`. The open segment is never
    /// deleted, and each deletion is logged, signed, before the files go.
    pub fn maintain(&mut self, now_ms: i64) -> Result<MaintainReport, StoreError> {
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        let mut report = MaintainReport::default();
        if self.rotation_due(now_ms) {
            if self.has_uncommitted() {
                report.rotation_deferred = true;
            } else {
                self.guard(|store| store.seal_open(now_ms))?;
                report.rotated = true;
            }
        }
        if let Some(age_max_ms) = self.config.retention_age_max_ms {
            let horizon_ms = now_ms.saturating_sub(age_max_ms);
            // Oldest first: the retention log must stay a prefix of the sequence.
            while self
                .sealed
                .front()
                .is_some_and(|s| s.summary.record_count == 0 || s.summary.max_ms < horizon_ms)
            {
                report.bytes_freed += self.guard(|store| store.delete_oldest(now_ms))?;
                report.deleted_by_age += 1;
            }
        }
        if let Some(bytes_max) = self.config.retention_bytes_max {
            while self.bytes_on_disk() > bytes_max && !self.sealed.is_empty() {
                report.bytes_freed += self.guard(|store| store.delete_oldest(now_ms))?;
                report.deleted_by_bytes += 1;
            }
        }
        Ok(report)
    }

    /// Figures about the store.
    pub fn stats(&self) -> StoreStats {
        let sealed_records: u64 = self.sealed.iter().map(|s| s.summary.record_count).sum();
        let sealed_blocks: u64 = self.sealed.iter().map(|s| u64::from(s.summary.block_count)).sum();
        StoreStats {
            bytes_on_disk: self.bytes_on_disk(),
            segments: self.sealed.len() as u64 + 1,
            records_committed: sealed_records + self.open.committed_record_count,
            records_uncommitted: self.open.record_count - self.open.committed_record_count
                + u64::from(self.pending_count),
            blocks: sealed_blocks + u64::from(self.open.block_count),
            segments_deleted: self.segments_deleted,
            open_segment_seq: self.open.header.seq,
        }
    }

    /// Closes the store. Seals nothing: records appended since the last commit are
    /// discarded (their blocks cut off the file), exactly as a crash would; call `commit`
    /// first to keep them.
    pub fn close(self) -> Result<(), StoreError> {
        if self.open.len_bytes > self.open.committed_len_bytes && !self.poisoned {
            self.open
                .file
                .set_len(self.open.committed_len_bytes)
                .map_err(|e| StoreError::io("truncate", &self.open.path, e))?;
            self.open.file.sync_data().map_err(|e| StoreError::io("sync", &self.open.path, e))?;
        }
        Ok(())
    }

    fn has_uncommitted(&self) -> bool {
        self.pending_count > 0 || self.open.len_bytes > self.open.committed_len_bytes
    }

    fn rotation_due(&self, now_ms: i64) -> bool {
        self.open.len_bytes >= self.config.segment_bytes_max
            || (self.open.block_count > 0
                && now_ms.saturating_sub(self.open.header.created_ms)
                    >= self.config.segment_age_max_ms)
    }

    fn bytes_on_disk(&self) -> u64 {
        self.sealed.iter().map(|s| s.bytes).sum::<u64>() + self.open.len_bytes
    }

    /// Runs a step that writes; a failure leaves the files in an unknown state, so the store
    /// refuses further writes until it is reopened (which recovers to the last commit).
    fn guard<T>(
        &mut self,
        step: impl FnOnce(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = step(self);
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    fn write_block(&mut self) -> Result<(), StoreError> {
        if self.pending_count == 0 {
            return Ok(());
        }
        let open = &mut self.open;
        assert!(
            open.header.encrypted == self.encoder.encrypted(),
            "segment and encoder agree on encryption"
        );
        let header = BlockHeader {
            prev_hash: open.last_hash,
            index: open.block_count,
            record_count: self.pending_count,
            min_ms: self.pending_min_ms,
            max_ms: self.pending_max_ms,
            raw_len: self.pending.len() as u32,
            nonce: None,
        };
        self.frame.clear();
        let hash = self.encoder.encode(header, &self.pending, &mut self.frame)?;
        open.file.write_all(&self.frame).map_err(|e| StoreError::io("write", &open.path, e))?;
        open.len_bytes += self.frame.len() as u64;
        open.block_count = open.block_count.checked_add(1).expect("segment size bounds its blocks");
        open.record_count += u64::from(self.pending_count);
        open.min_ms = open.min_ms.min(self.pending_min_ms);
        open.max_ms = open.max_ms.max(self.pending_max_ms);
        open.last_hash = hash;
        open.block_blooms.push(std::mem::take(&mut open.block_keys).bloom());
        self.pending.clear();
        self.pending_count = 0;
        self.pending_min_ms = i64::MAX;
        self.pending_max_ms = i64::MIN;
        Ok(())
    }

    fn write_checkpoint(&mut self, is_final: bool, now_ms: i64) -> Result<(), StoreError> {
        debug_assert_eq!(self.pending_count, 0, "pending records are written before a checkpoint");
        let open = &mut self.open;
        let checkpoint = Checkpoint {
            seq: open.header.seq,
            header_hash: open.header_hash,
            block_count: open.block_count,
            record_count: open.record_count,
            last_hash: open.last_hash,
            min_ms: open.min_ms,
            max_ms: open.max_ms,
            committed_ms: now_ms,
            is_final,
            has_meta: self.has_meta,
            meta: std::mem::take(&mut self.meta),
        };
        self.frame.clear();
        encode_checkpoint(&checkpoint, &self.signing_key, &mut self.frame);
        self.meta = checkpoint.meta;
        open.file.write_all(&self.frame).map_err(|e| StoreError::io("write", &open.path, e))?;
        open.file.sync_data().map_err(|e| StoreError::io("sync", &open.path, e))?;
        open.len_bytes += self.frame.len() as u64;
        open.committed_len_bytes = open.len_bytes;
        open.committed_record_count = open.record_count;
        Ok(())
    }

    /// Seals the open segment (final checkpoint, summary) and starts the next one.
    fn seal_open(&mut self, now_ms: i64) -> Result<(), StoreError> {
        self.write_checkpoint(true, now_ms)?;
        let open = &self.open;
        let summary = Summary {
            seq: open.header.seq,
            record_count: open.record_count,
            block_count: open.block_count,
            min_ms: open.min_ms,
            max_ms: open.max_ms,
            last_hash: open.last_hash,
            bloom: open.keys.bloom(),
            block_blooms: open.block_blooms.clone(),
        };
        let summary_bytes = write_summary(&self.config.dir, &summary, &self.signing_key)?;
        let next = create_segment(
            &self.config.dir,
            open.header.seq + 1,
            open.last_hash,
            now_ms,
            self.encoder.encrypted(),
            self.has_meta,
            &self.meta,
            &self.signing_key,
        )?;
        let sealed = std::mem::replace(&mut self.open, next);
        self.sealed.push_back(SealedSegment { bytes: sealed.len_bytes + summary_bytes, summary });
        Ok(())
    }

    /// Logs the oldest sealed segment's deletion, then deletes it; returns the bytes freed.
    fn delete_oldest(&mut self, now_ms: i64) -> Result<u64, StoreError> {
        let oldest = self.sealed.front().expect("callers check there is a sealed segment");
        let summary = &oldest.summary;
        let entry = RetentionEntry {
            seq: summary.seq,
            block_count: summary.block_count,
            record_count: summary.record_count,
            min_ms: summary.min_ms,
            max_ms: summary.max_ms,
            last_hash: summary.last_hash,
            deleted_ms: now_ms,
        };
        retention::append(
            &self.config.dir,
            self.retention_torn_at.take(),
            &entry,
            &self.signing_key,
        )?;
        remove_if_present(&layout::summary_path(&self.config.dir, summary.seq))?;
        remove_if_present(&layout::segment_path(&self.config.dir, summary.seq))?;
        layout::sync_dir(&layout::segments_dir(&self.config.dir))?;
        let bytes = oldest.bytes;
        self.sealed.pop_front();
        self.segments_deleted += 1;
        Ok(bytes)
    }
}

/// Frames and signs a checkpoint into `out`.
pub(crate) fn encode_checkpoint(
    checkpoint: &Checkpoint,
    signing_key: &SigningKey,
    out: &mut Vec<u8>,
) {
    let unsigned = checkpoint.encode_unsigned();
    let signature = keys::sign(signing_key, CHECKPOINT_SIGNING_CONTEXT, &unsigned);
    push_frame_header(out, FRAME_KIND_CHECKPOINT, unsigned.len() + signature.len());
    out.extend_from_slice(&unsigned);
    out.extend_from_slice(&signature);
}

/// Creates a segment with its header and first checkpoint, durably.
#[allow(clippy::too_many_arguments)]
fn create_segment(
    dir: &Path,
    seq: u64,
    prev_hash: Hash,
    now_ms: i64,
    encrypted: bool,
    has_meta: bool,
    meta: &[u8],
    signing_key: &SigningKey,
) -> Result<OpenSegment, StoreError> {
    let path = layout::segment_path(dir, seq);
    let header = SegmentHeader { seq, created_ms: now_ms, encrypted, prev_hash };
    let header_bytes = header.encode();
    let header_hash = header_hash(&header_bytes);
    let checkpoint = Checkpoint {
        seq,
        header_hash,
        block_count: 0,
        record_count: 0,
        last_hash: prev_hash,
        min_ms: i64::MAX,
        max_ms: i64::MIN,
        committed_ms: now_ms,
        is_final: false,
        has_meta,
        meta: meta.to_vec(),
    };
    let mut bytes = header_bytes.to_vec();
    encode_checkpoint(&checkpoint, signing_key, &mut bytes);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| StoreError::io("create", &path, e))?;
    file.write_all(&bytes).map_err(|e| StoreError::io("write", &path, e))?;
    file.sync_all().map_err(|e| StoreError::io("sync", &path, e))?;
    layout::sync_dir(&layout::segments_dir(dir))?;
    Ok(OpenSegment {
        file,
        path,
        header,
        header_hash,
        len_bytes: bytes.len() as u64,
        committed_len_bytes: bytes.len() as u64,
        block_count: 0,
        record_count: 0,
        committed_record_count: 0,
        min_ms: i64::MAX,
        max_ms: i64::MIN,
        last_hash: prev_hash,
        keys: KeySet::default(),
        block_keys: KeySet::default(),
        block_blooms: Vec::new(),
    })
}

/// Writes a summary file (through a temporary file and a rename); returns its size.
fn write_summary(
    dir: &Path,
    summary: &Summary,
    signing_key: &SigningKey,
) -> Result<u64, StoreError> {
    let path = layout::summary_path(dir, summary.seq);
    let temporary = path.with_extension("sum.tmp");
    let bytes = summary.encode(signing_key);
    let mut file = File::create(&temporary).map_err(|e| StoreError::io("create", &temporary, e))?;
    file.write_all(&bytes).map_err(|e| StoreError::io("write", &temporary, e))?;
    file.sync_all().map_err(|e| StoreError::io("sync", &temporary, e))?;
    fs::rename(&temporary, &path).map_err(|e| StoreError::io("rename", &temporary, e))?;
    layout::sync_dir(&layout::segments_dir(dir))?;
    Ok(bytes.len() as u64)
}

/// A sealed segment's summary from its `.sum` file, rebuilt from the segment when the file
/// is missing or does not verify.
fn load_sealed(
    dir: &Path,
    seq: u64,
    signing_key: &SigningKey,
    cipher: Option<&BlockCipher>,
    decoder: &mut BlockDecoder,
) -> Result<SealedSegment, StoreError> {
    let segment_path = layout::segment_path(dir, seq);
    let summary_path = layout::summary_path(dir, seq);
    let segment_bytes = layout::file_bytes(&segment_path);
    if let Ok(bytes) = fs::read(&summary_path) {
        if let Ok(summary) = Summary::decode(&bytes, &signing_key.verifying_key()) {
            if summary.seq == seq {
                return Ok(SealedSegment { bytes: segment_bytes + bytes.len() as u64, summary });
            }
        }
    }
    let bytes = fs::read(&segment_path).map_err(|e| StoreError::io("read", &segment_path, e))?;
    let public_key = signing_key.verifying_key();
    let ctx = CheckContext {
        public_key: &public_key,
        expected_seq: seq,
        expected_prev_hash: None,
        newest: false,
    };
    let check = check_segment(&segment_path, &bytes, &ctx);
    if let Some(problem) = &check.problem {
        return Err(corrupt(&segment_path, seq, problem.offset_bytes, problem.detail.clone()));
    }
    let summary = rebuild_summary(&segment_path, &bytes, &check, cipher, decoder)?;
    let summary_bytes = write_summary(dir, &summary, signing_key)?;
    Ok(SealedSegment { bytes: segment_bytes + summary_bytes, summary })
}

/// A segment's summary from its committed blocks. Without the key of an encrypted segment
/// the summary gets no filter (every key may be present), so searches still find everything.
fn rebuild_summary(
    path: &Path,
    bytes: &[u8],
    check: &SegmentCheck,
    cipher: Option<&BlockCipher>,
    decoder: &mut BlockDecoder,
) -> Result<Summary, StoreError> {
    let header = check.header.as_ref().expect("a checked segment has a header");
    let checkpoint = check.last_checkpoint.as_ref().expect("a committed segment has a checkpoint");
    let mut keys_seen = KeySet::default();
    let mut block_blooms = Vec::new();
    if header.encrypted && cipher.is_none() {
        keys_seen.overflowed = true;
    } else {
        block_blooms =
            collect_keys(path, bytes, check, header.encrypted, cipher, decoder, &mut keys_seen)?;
    }
    Ok(Summary {
        seq: header.seq,
        record_count: checkpoint.record_count,
        block_count: checkpoint.block_count,
        min_ms: checkpoint.min_ms,
        max_ms: checkpoint.max_ms,
        last_hash: checkpoint.last_hash,
        bloom: keys_seen.bloom(),
        block_blooms,
    })
}

fn collect_keys(
    path: &Path,
    bytes: &[u8],
    check: &SegmentCheck,
    encrypted: bool,
    cipher: Option<&BlockCipher>,
    decoder: &mut BlockDecoder,
    keys_seen: &mut KeySet,
) -> Result<Vec<Option<Bloom>>, StoreError> {
    let seq = check.header.as_ref().map_or(0, |h| h.seq);
    let mut block_blooms = Vec::with_capacity(check.blocks.len());
    for block in &check.blocks {
        let mut block_keys = KeySet::default();
        let frame = block.frame;
        let payload = &bytes[frame.payload_offset as usize..frame.end() as usize];
        let view =
            decode_block(payload, encrypted).map_err(|r| corrupt(path, seq, frame.offset, r))?;
        let raw = decoder.decode(&view, cipher).map_err(|reason| match reason {
            None => StoreError::Decrypt { seq, block_index: block.index },
            Some(reason) => corrupt(path, seq, frame.offset, reason),
        })?;
        for_each_record(raw, block.record_count, |record| {
            for key in record.keys() {
                keys_seen.insert(key);
                block_keys.insert(key);
            }
            true
        })
        .map_err(|reason| corrupt(path, seq, frame.offset, reason))?;
        block_blooms.push(block_keys.bloom());
    }
    Ok(block_blooms)
}

fn truncate_to(path: &Path, len: u64) -> Result<(), StoreError> {
    let file =
        OpenOptions::new().write(true).open(path).map_err(|e| StoreError::io("open", path, e))?;
    file.set_len(len).map_err(|e| StoreError::io("truncate", path, e))?;
    file.sync_all().map_err(|e| StoreError::io("sync", path, e))
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io("remove", path, e)),
    }
}

const _: () = assert!(HEADER_BYTES == 64);
