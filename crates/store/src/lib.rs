//! An embedded, append-only, tamper-evident record log.
//!
//! Records are opaque bytes (in practice the ECS JSON of one API event), each with an event
//! time in ms and a few actor keys (an address, a user name...) that go into per-segment
//! summaries for search. Records are gathered into zstd-compressed blocks, optionally
//! encrypted, chained by BLAKE3 hashes across blocks and segments, and committed by
//! Ed25519-signed checkpoints that also carry the caller's opaque `meta` (its source
//! offsets), so storing events and remembering how far the sources were read is one atomic
//! step. [`verify`] checks it all with the public key alone.
//!
//! The crate knows nothing of HTTP or of the event type, and reads no clock: callers pass
//! `now_ms`. The file format is described in `format.rs`, the directory layout in
//! `layout.rs`.
#![forbid(unsafe_code)]

mod check;
mod config;
mod crypto;
mod error;
pub mod format;
mod keys;
mod layout;
mod reader;
mod records;
mod retention;
mod summary;
mod verify;
mod writer;

pub use check::{Problem, ProblemKind, UncommittedTail};
pub use config::StoreConfig;
pub use error::StoreError;
pub use layout::{segment_path, summary_path, RETENTION_LOG_FILE, SEGMENTS_DIR};
pub use reader::{KeyNeed, Reader, ScanStats, SegmentInfo};
pub use retention::RetentionEntry;
pub use summary::{Bloom, Summary};
pub use verify::{verify, VerifyReport};
pub use writer::{MaintainReport, Store, StoreStats};

/// Paths of the key files under a data directory.
pub mod key_files {
    pub use crate::keys::{KEYS_DIR, PUBLIC_KEY_FILE, SIGNING_KEY_FILE};
}
