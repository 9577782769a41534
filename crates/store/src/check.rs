//! Checks one segment file frame by frame: block hashes, the chain, checkpoint signatures and
//! their agreement with the blocks before them. Shared by `verify` (which reports the first
//! problem), recovery at open (which cuts the uncommitted tail) and the reader (which reads
//! only committed blocks).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;

use crate::format::{
    decode_block, decode_checkpoint, header_hash, walk_frames, BlockView, Checkpoint, FrameStop,
    Hash, SegmentHeader, CHECKPOINT_SIGNING_CONTEXT, FRAME_KIND_BLOCK, HEADER_BYTES,
};
use crate::keys;
use crate::records::BlockRef;

/// What kind of damage a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// Bytes changed: a hash that does not match, a signature that does not verify, a field
    /// that contradicts what signed data says.
    Altered,
    /// Something is missing: a block index, a segment, a final checkpoint, a retention entry.
    Removed,
    /// Things are out of order: a block index or segment number out of sequence, or a chain
    /// link pointing at another block.
    Reordered,
    /// A file ends in the middle of a frame (outside the newest segment's uncommitted tail).
    Truncated,
}

/// The first problem found, placed as precisely as possible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub path: PathBuf,
    pub segment_seq: Option<u64>,
    pub block_index: Option<u32>,
    pub offset_bytes: u64,
    pub detail: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.path.display())?;
        if let Some(seq) = self.segment_seq {
            write!(f, " segment {seq}")?;
        }
        if let Some(index) = self.block_index {
            write!(f, " block {index}")?;
        }
        write!(f, " at byte {}: {}", self.offset_bytes, self.detail)
    }
}

/// Bytes after the newest segment's last checkpoint: appended but never committed (a crash,
/// or a writer still running). Not an error; recovery cuts it off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UncommittedTail {
    pub path: PathBuf,
    pub segment_seq: u64,
    pub offset_bytes: u64,
    pub bytes: u64,
    pub detail: String,
}

/// What to check a segment against.
pub struct CheckContext<'a> {
    pub public_key: &'a VerifyingKey,
    /// The sequence number its file name says.
    pub expected_seq: u64,
    /// The previous segment's last block hash; `None` to not check the link.
    pub expected_prev_hash: Option<Hash>,
    /// The newest segment may end with an uncommitted tail and need not be sealed.
    pub newest: bool,
}

/// The outcome of checking one segment.
#[derive(Debug)]
pub struct SegmentCheck {
    pub header: Option<SegmentHeader>,
    /// Blocks up to the last valid checkpoint, in order.
    pub blocks: Vec<BlockRef>,
    pub last_checkpoint: Option<Checkpoint>,
    /// Offset just past the last valid checkpoint.
    pub committed_end: u64,
    pub checkpoints: u32,
    pub problem: Option<Problem>,
    pub tail: Option<UncommittedTail>,
}

/// Checks a whole segment file's bytes.
pub fn check_segment(path: &Path, bytes: &[u8], ctx: &CheckContext<'_>) -> SegmentCheck {
    let mut check = SegmentCheck {
        header: None,
        blocks: Vec::new(),
        last_checkpoint: None,
        committed_end: 0,
        checkpoints: 0,
        problem: None,
        tail: None,
    };
    let problem = |kind, block_index, offset_bytes, detail: String| Problem {
        kind,
        path: path.to_path_buf(),
        segment_seq: Some(ctx.expected_seq),
        block_index,
        offset_bytes,
        detail,
    };
    if bytes.len() < HEADER_BYTES {
        let detail = format!("file of {} bytes ends inside the header", bytes.len());
        if ctx.newest {
            check.tail = Some(UncommittedTail {
                path: path.to_path_buf(),
                segment_seq: ctx.expected_seq,
                offset_bytes: 0,
                bytes: bytes.len() as u64,
                detail,
            });
        } else {
            check.problem = Some(problem(ProblemKind::Truncated, None, 0, detail));
        }
        return check;
    }
    let header = match SegmentHeader::decode(bytes) {
        Ok(header) => header,
        Err(reason) => {
            check.problem = Some(problem(ProblemKind::Altered, None, 0, reason));
            return check;
        }
    };
    let header_bytes: &[u8; HEADER_BYTES] = bytes[..HEADER_BYTES].try_into().expect("length");
    let expected_header_hash = header_hash(header_bytes);
    check.header = Some(header.clone());
    check.committed_end = HEADER_BYTES as u64;
    if header.seq != ctx.expected_seq {
        let detail = format!("file named {} holds segment {}", ctx.expected_seq, header.seq);
        check.problem = Some(problem(ProblemKind::Reordered, None, 16, detail));
        return check;
    }
    if let Some(expected) = ctx.expected_prev_hash {
        if header.prev_hash != expected {
            let detail = "header's prev hash does not link to the previous segment's last block";
            check.problem = Some(problem(ProblemKind::Reordered, None, 32, detail.into()));
            return check;
        }
    }

    let (frames, stop) = walk_frames(&bytes[HEADER_BYTES..], HEADER_BYTES as u64);
    let payload = |frame: &crate::format::FrameRef| {
        &bytes[frame.payload_offset as usize..frame.end() as usize]
    };
    // Every block index present, to tell a reordered block from a removed one.
    let present: HashSet<(u32, usize)> = frames
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind == FRAME_KIND_BLOCK)
        .filter_map(|(at, f)| {
            decode_block(payload(f), header.encrypted).ok().map(|b| (b.header.index, at))
        })
        .collect();
    let index_later =
        |index: u32, after: usize| present.iter().any(|&(i, at)| i == index && at > after);

    let mut chain = header.prev_hash;
    let mut next_index = 0u32;
    let mut record_count = 0u64;
    let mut min_ms = i64::MAX;
    let mut max_ms = i64::MIN;
    let mut committed_blocks = 0usize;
    let mut sealed_at: Option<u64> = None;
    let mut first_problem: Option<Problem> = None;
    let mut signed_after_problem = false;

    for (at, frame) in frames.iter().enumerate() {
        let payload = payload(frame);
        if first_problem.is_some() {
            // Past a problem the chain means nothing; only ask whether the writer signed a
            // checkpoint later, which proves the damaged part had been committed.
            if frame.kind != FRAME_KIND_BLOCK {
                if let Ok(view) = decode_checkpoint(payload) {
                    if keys::signature_is_valid(
                        ctx.public_key,
                        CHECKPOINT_SIGNING_CONTEXT,
                        view.signed,
                        &view.signature,
                    ) {
                        signed_after_problem = true;
                    }
                }
            }
            continue;
        }
        if let Some(final_end) = sealed_at {
            let detail = format!("frame after the final checkpoint ending at byte {final_end}");
            first_problem = Some(problem(ProblemKind::Altered, None, frame.offset, detail));
            continue;
        }
        if frame.kind == FRAME_KIND_BLOCK {
            let view = match decode_block(payload, header.encrypted) {
                Ok(view) => view,
                Err(reason) => {
                    first_problem = Some(problem(ProblemKind::Altered, None, frame.offset, reason));
                    continue;
                }
            };
            let index = view.header.index;
            if index != next_index {
                first_problem = Some(if index > next_index && !index_later(next_index, at) {
                    let detail = format!("block {next_index} is missing (found block {index})");
                    problem(ProblemKind::Removed, Some(next_index), frame.offset, detail)
                } else {
                    let detail = format!("block {index} where block {next_index} belongs");
                    problem(ProblemKind::Reordered, Some(index), frame.offset, detail)
                });
                continue;
            }
            if BlockView::computed_hash(payload) != view.stored_hash {
                let detail = "block hash does not match its contents".to_string();
                first_problem =
                    Some(problem(ProblemKind::Altered, Some(index), frame.offset, detail));
                continue;
            }
            if view.header.prev_hash != chain {
                let detail = if index == 0 {
                    "block's prev hash does not link to the segment header".to_string()
                } else {
                    format!("block's prev hash does not link to block {}", index - 1)
                };
                first_problem =
                    Some(problem(ProblemKind::Reordered, Some(index), frame.offset, detail));
                continue;
            }
            chain = view.stored_hash;
            next_index += 1;
            record_count += u64::from(view.header.record_count);
            if view.header.record_count > 0 {
                min_ms = min_ms.min(view.header.min_ms);
                max_ms = max_ms.max(view.header.max_ms);
            }
            check.blocks.push(BlockRef {
                frame: *frame,
                index,
                record_count: view.header.record_count,
                min_ms: view.header.min_ms,
                max_ms: view.header.max_ms,
            });
            continue;
        }
        // A checkpoint.
        let view = match decode_checkpoint(payload) {
            Ok(view) => view,
            Err(reason) => {
                first_problem = Some(problem(ProblemKind::Altered, None, frame.offset, reason));
                continue;
            }
        };
        if !keys::signature_is_valid(
            ctx.public_key,
            CHECKPOINT_SIGNING_CONTEXT,
            view.signed,
            &view.signature,
        ) {
            let detail = "checkpoint signature does not verify".to_string();
            first_problem = Some(problem(ProblemKind::Altered, None, frame.offset, detail));
            continue;
        }
        let cp = view.checkpoint;
        let mismatch = if cp.seq != header.seq {
            Some((ProblemKind::Reordered, None, format!("checkpoint of segment {}", cp.seq)))
        } else if cp.header_hash != expected_header_hash {
            Some((ProblemKind::Altered, None, "segment header was changed".to_string()))
        } else if cp.block_count > next_index {
            let detail =
                format!("checkpoint counts {} blocks, {next_index} precede it", cp.block_count);
            Some((ProblemKind::Removed, Some(next_index), detail))
        } else if cp.block_count < next_index {
            let detail =
                format!("checkpoint counts {} blocks, {next_index} precede it", cp.block_count);
            Some((ProblemKind::Reordered, Some(cp.block_count), detail))
        } else if cp.last_hash != chain
            || cp.record_count != record_count
            || (record_count > 0 && (cp.min_ms != min_ms || cp.max_ms != max_ms))
        {
            let detail = "checkpoint does not match the blocks before it".to_string();
            Some((ProblemKind::Altered, next_index.checked_sub(1), detail))
        } else {
            None
        };
        if let Some((kind, block_index, detail)) = mismatch {
            first_problem = Some(problem(kind, block_index, frame.offset, detail));
            continue;
        }
        check.checkpoints += 1;
        check.committed_end = frame.end();
        committed_blocks = check.blocks.len();
        if cp.is_final {
            sealed_at = Some(frame.end());
        }
        check.last_checkpoint = Some(cp);
    }

    if first_problem.is_none() {
        first_problem = match stop {
            Some(FrameStop::Torn { offset }) => {
                let detail = "file ends inside a frame".to_string();
                Some(problem(ProblemKind::Truncated, None, offset, detail))
            }
            Some(FrameStop::Malformed { offset, reason }) => {
                Some(problem(ProblemKind::Altered, None, offset, reason))
            }
            None => None,
        };
    }
    check.blocks.truncate(committed_blocks);
    let end = bytes.len() as u64;
    if ctx.newest {
        match first_problem {
            Some(found) if !signed_after_problem && found.offset_bytes >= check.committed_end => {
                check.tail = Some(UncommittedTail {
                    path: path.to_path_buf(),
                    segment_seq: header.seq,
                    offset_bytes: check.committed_end,
                    bytes: end - check.committed_end,
                    detail: found.detail,
                });
            }
            Some(found) => check.problem = Some(found),
            None if check.committed_end < end => {
                check.tail = Some(UncommittedTail {
                    path: path.to_path_buf(),
                    segment_seq: header.seq,
                    offset_bytes: check.committed_end,
                    bytes: end - check.committed_end,
                    detail: "blocks appended after the last checkpoint".into(),
                });
            }
            None => {}
        }
    } else {
        check.problem = first_problem;
        if check.problem.is_none() && sealed_at.is_none() {
            let detail = "sealed segment has no final checkpoint".to_string();
            check.problem = Some(problem(ProblemKind::Removed, None, end, detail));
        }
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{decode_block, decode_checkpoint, walk_frames, SegmentHeader};
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;

    fn check_bytes(bytes: &[u8], newest: bool) -> SegmentCheck {
        let public_key = SigningKey::from_bytes(&[1; 32]).verifying_key();
        let ctx = CheckContext {
            public_key: &public_key,
            expected_seq: 0,
            expected_prev_hash: None,
            newest,
        };
        check_segment(Path::new("fuzz.seg"), bytes, &ctx)
    }

    proptest! {
        /// Arbitrary bytes never make the frame decoders or the checker panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = SegmentHeader::decode(&bytes);
            let (frames, _) = walk_frames(&bytes, 0);
            for frame in frames {
                let payload = &bytes[frame.payload_offset as usize..frame.end() as usize];
                let _ = decode_block(payload, true);
                let _ = decode_block(payload, false);
                let _ = decode_checkpoint(payload);
            }
            let _ = decode_block(&bytes, false);
            let _ = decode_checkpoint(&bytes);
            check_bytes(&bytes, true);
            check_bytes(&bytes, false);
        }

        /// A valid header followed by arbitrary frames (kinds forced valid so the walk goes
        /// deep) never panics either.
        #[test]
        fn valid_header_arbitrary_frames_never_panic(
            frames in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..8),
            encrypted in any::<bool>(),
        ) {
            let header = SegmentHeader { seq: 0, created_ms: 0, encrypted, prev_hash: [0; 32] };
            let mut bytes = header.encode().to_vec();
            for (block, payload) in frames {
                let kind = if block { crate::format::FRAME_KIND_BLOCK } else { crate::format::FRAME_KIND_CHECKPOINT };
                crate::format::push_frame_header(&mut bytes, kind, payload.len());
                bytes.extend_from_slice(&payload);
            }
            let check = check_bytes(&bytes, true);
            prop_assert!(check.committed_end <= bytes.len() as u64);
            check_bytes(&bytes, false);
        }
    }
}
