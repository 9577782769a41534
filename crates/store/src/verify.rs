//! Verification of a whole store with nothing but its public key: every block hash, the chain
//! across blocks and segments, every checkpoint signature, sealed segments' final
//! checkpoints, contiguous sequence numbers, and the retention log that accounts for deleted
//! segments. Stops at the first problem and places it precisely.
//!
//! What it cannot see: the newest segment cut back to an earlier checkpoint, or a store
//! replaced wholesale by someone holding the signing key. Copying checkpoint hashes or the
//! public key elsewhere closes those.

use std::fs;
use std::path::Path;

use crate::check::{check_segment, CheckContext, Problem, ProblemKind, UncommittedTail};
use crate::format::{Hash, HASH_BYTES};
use crate::keys;
use crate::layout;
use crate::retention::RetentionLog;
use crate::summary::Summary;
use crate::StoreError;

/// The outcome of [`verify`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub segments_checked: u64,
    pub blocks_checked: u64,
    pub checkpoints_checked: u64,
    pub records_committed: u64,
    /// Segments the retention log accounts for.
    pub retention_entries: u64,
    /// Segments logged as deleted whose files are still there (a crash mid-deletion).
    pub segments_pending_deletion: u64,
    pub first_segment_seq: Option<u64>,
    pub last_segment_seq: Option<u64>,
    /// Bytes after the newest segment's last checkpoint: not an error.
    pub uncommitted_tail: Option<UncommittedTail>,
    /// The first problem found, if any.
    pub problem: Option<Problem>,
}

impl VerifyReport {
    /// No problem was found.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// Verifies the store in `dir`. `Err` only when verification itself cannot run (no public
/// key, unreadable files); damage is reported in [`VerifyReport::problem`].
pub fn verify(dir: &Path) -> Result<VerifyReport, StoreError> {
    let public_key = keys::read_public_key(dir)?;
    let mut report = VerifyReport::default();
    let log_path = layout::retention_log_path(dir);
    let log = RetentionLog::read(dir, &public_key)?;
    let mut expected_seq = 0u64;
    let mut expected_prev_hash: Hash = [0; HASH_BYTES];
    for line in &log.lines {
        let entry = match &line.entry {
            Ok(entry) => entry,
            Err(reason) => {
                report.problem =
                    Some(log_problem(&log_path, ProblemKind::Altered, line.offset, None, reason));
                return Ok(report);
            }
        };
        if entry.seq != expected_seq {
            let kind = if entry.seq > expected_seq {
                ProblemKind::Removed
            } else {
                ProblemKind::Reordered
            };
            let detail = format!(
                "retention entry for segment {} where segment {expected_seq} belongs",
                entry.seq
            );
            report.problem =
                Some(log_problem(&log_path, kind, line.offset, Some(expected_seq), &detail));
            return Ok(report);
        }
        report.retention_entries += 1;
        expected_seq = entry.seq + 1;
        expected_prev_hash = entry.last_hash;
    }

    let mut seqs = layout::list_segments(dir)?;
    let before = seqs.len();
    seqs.retain(|&seq| seq >= expected_seq);
    report.segments_pending_deletion = (before - seqs.len()) as u64;
    if seqs.is_empty() {
        report.problem = Some(missing_segment(
            dir,
            expected_seq,
            "no segment files; the open segment is never deleted".into(),
        ));
        return Ok(report);
    }
    report.first_segment_seq = seqs.first().copied();
    report.last_segment_seq = seqs.last().copied();

    for (at, &seq) in seqs.iter().enumerate() {
        if seq != expected_seq {
            report.problem = Some(missing_segment(
                dir,
                expected_seq,
                format!("segment {expected_seq} is missing (next present is {seq})"),
            ));
            return Ok(report);
        }
        let path = layout::segment_path(dir, seq);
        let bytes = fs::read(&path).map_err(|e| StoreError::io("read", &path, e))?;
        let newest = at + 1 == seqs.len();
        let ctx = CheckContext {
            public_key: &public_key,
            expected_seq: seq,
            expected_prev_hash: Some(expected_prev_hash),
            newest,
        };
        let check = check_segment(&path, &bytes, &ctx);
        report.segments_checked += 1;
        report.blocks_checked += check.blocks.len() as u64;
        report.checkpoints_checked += u64::from(check.checkpoints);
        if let Some(problem) = check.problem {
            report.problem = Some(problem);
            return Ok(report);
        }
        report.uncommitted_tail = check.tail;
        let Some(checkpoint) = check.last_checkpoint else { break };
        report.records_committed += checkpoint.record_count;
        if !newest {
            if let Some(problem) = check_summary(dir, seq, &public_key, &checkpoint) {
                report.problem = Some(problem);
                return Ok(report);
            }
        }
        expected_prev_hash = checkpoint.last_hash;
        expected_seq = seq + 1;
    }
    Ok(report)
}

/// A sealed segment's `.sum`, when present, must be signed and agree with its final
/// checkpoint: an altered summary could hide the segment from searches.
fn check_summary(
    dir: &Path,
    seq: u64,
    public_key: &ed25519_dalek::VerifyingKey,
    checkpoint: &crate::format::Checkpoint,
) -> Option<Problem> {
    let path = layout::summary_path(dir, seq);
    let bytes = fs::read(&path).ok()?;
    let detail = match Summary::decode(&bytes, public_key) {
        Err(reason) => reason,
        Ok(summary)
            if summary.seq != seq
                || summary.record_count != checkpoint.record_count
                || summary.block_count != checkpoint.block_count
                || summary.last_hash != checkpoint.last_hash
                || summary.min_ms != checkpoint.min_ms
                || summary.max_ms != checkpoint.max_ms =>
        {
            "summary does not match the segment's final checkpoint".to_string()
        }
        Ok(_) => return None,
    };
    Some(Problem {
        kind: ProblemKind::Altered,
        path,
        segment_seq: Some(seq),
        block_index: None,
        offset_bytes: 0,
        detail,
    })
}

fn log_problem(
    path: &Path,
    kind: ProblemKind,
    offset: u64,
    seq: Option<u64>,
    detail: &str,
) -> Problem {
    Problem {
        kind,
        path: path.to_path_buf(),
        segment_seq: seq,
        block_index: None,
        offset_bytes: offset,
        detail: detail.to_string(),
    }
}

/// The problem of segment `seq` not being there.
fn missing_segment(dir: &Path, seq: u64, detail: String) -> Problem {
    Problem {
        kind: ProblemKind::Removed,
        path: layout::segment_path(dir, seq),
        segment_seq: Some(seq),
        block_index: None,
        offset_bytes: 0,
        detail,
    }
}
