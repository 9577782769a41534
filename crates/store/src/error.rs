//! The one error type of the crate: what failed and where.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while writing, reading or verifying a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{op} {path}: {source}")]
    Io { op: &'static str, path: PathBuf, source: io::Error },

    #[error("invalid store configuration: {field}: {reason}")]
    Config { field: &'static str, reason: String },

    #[error("record of {bytes} bytes is over the limit of {max_bytes} bytes")]
    RecordTooLarge { bytes: usize, max_bytes: usize },

    #[error("{count} actor keys on one record, over the limit of {max}")]
    TooManyKeys { count: usize, max: usize },

    #[error("actor key of {bytes} bytes is over the limit of {max_bytes} bytes")]
    KeyTooLarge { bytes: usize, max_bytes: usize },

    #[error("commit meta of {bytes} bytes is over the limit of {max_bytes} bytes")]
    MetaTooLarge { bytes: usize, max_bytes: usize },

    #[error("signing key {path}: {reason}")]
    SigningKey { path: PathBuf, reason: String },

    #[error("{path}: segment {seq} at byte {offset}: {reason}")]
    Corrupt { path: PathBuf, seq: u64, offset: u64, reason: String },

    #[error("segment {seq} block {block_index}: cannot decrypt (wrong or missing encryption key)")]
    Decrypt { seq: u64, block_index: u32 },

    #[error("random number generator failed: {0}")]
    Random(String),

    #[error("compression failed: {0}")]
    Compression(io::Error),

    #[error("an earlier write failed; reopen the store to recover to its last commit")]
    Poisoned,
}

impl StoreError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StoreError::Io { op, path: path.into(), source }
    }
}
