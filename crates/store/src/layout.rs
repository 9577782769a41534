//! Where things live in the data directory.
//!
//! ```text
//! keys/signing.key            Ed25519 seed (0600)
//! keys/signing.pub            public key, hex
//! segments/000000000042.seg   segment 42
//! segments/000000000042.sum   summary of segment 42, once sealed
//! retention.log               one signed line per segment deleted by retention
//! ```
//!
//! Segments sit in one flat directory, named by their sequence number on 12 digits so that
//! lexical order is sequence order. No day partitions: a store of 64 MiB segments keeps
//! ~16 000 files per TiB, which a directory handles well, and one listing finds them all.

use std::fs;
use std::path::{Path, PathBuf};

use crate::StoreError;

/// Directory of the segment files.
pub const SEGMENTS_DIR: &str = "segments";
/// The retention log file.
pub const RETENTION_LOG_FILE: &str = "retention.log";
/// Extension of segment files.
pub const SEGMENT_EXTENSION: &str = "seg";
/// Extension of summary files.
pub const SUMMARY_EXTENSION: &str = "sum";

pub fn segments_dir(dir: &Path) -> PathBuf {
    dir.join(SEGMENTS_DIR)
}

pub fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    segments_dir(dir).join(format!("{seq:012}.{SEGMENT_EXTENSION}"))
}

pub fn summary_path(dir: &Path, seq: u64) -> PathBuf {
    segments_dir(dir).join(format!("{seq:012}.{SUMMARY_EXTENSION}"))
}

pub fn retention_log_path(dir: &Path) -> PathBuf {
    dir.join(RETENTION_LOG_FILE)
}

/// Sequence numbers of the segment files present, in order. Other files are ignored.
pub fn list_segments(dir: &Path) -> Result<Vec<u64>, StoreError> {
    let segments = segments_dir(dir);
    let entries = match fs::read_dir(&segments) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io("list", segments, e)),
    };
    let mut seqs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io("list", &segments, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(".seg") else { continue };
        if stem.len() == 12 && stem.bytes().all(|b| b.is_ascii_digit()) {
            seqs.push(stem.parse::<u64>().expect("12 ASCII digits"));
        }
    }
    seqs.sort_unstable();
    Ok(seqs)
}

/// Makes renames, creations and deletions in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    let handle = fs::File::open(dir).map_err(|e| StoreError::io("open", dir, e))?;
    handle.sync_all().map_err(|e| StoreError::io("sync", dir, e))
}

/// Bytes of a file, 0 if it is gone.
pub fn file_bytes(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
