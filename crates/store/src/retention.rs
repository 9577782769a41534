//! The retention log: one signed line per segment deleted by retention, appended (and made
//! durable) before the segment is deleted, so `verify` can tell a segment retention removed
//! from one an attacker removed.
//!
//! A line (ASCII, `\n`-terminated, at most [`RETENTION_LINE_BYTES_MAX`] bytes):
//!
//! ```text
//! v1 seq=42 blocks=17 records=81920 min_ms=1767225600000 max_ms=1767229200000 last_hash=<64 hex> deleted_ms=1769904000000 sig=<128 hex>
//! ```
//!
//! `sig` is an Ed25519 signature of `RETENTION_SIGNING_CONTEXT` followed by the line up to
//! (not including) ` sig=`. Retention deletes oldest first, so the logged sequence numbers are
//! 0, 1, 2, ... and the oldest kept segment's header must chain to the last `last_hash`.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::format::Hash;
use crate::keys::{self, hex, unhex};
use crate::layout;
use crate::StoreError;

/// Prefix of signed retention lines.
pub const RETENTION_SIGNING_CONTEXT: &[u8] = b"apiwatch-store retention v1\0";
/// Longest valid line: the fields above at their widest are ~330 bytes.
pub const RETENTION_LINE_BYTES_MAX: usize = 512;

/// One segment deleted by retention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionEntry {
    pub seq: u64,
    pub block_count: u32,
    pub record_count: u64,
    pub min_ms: i64,
    pub max_ms: i64,
    pub last_hash: Hash,
    pub deleted_ms: i64,
}

impl RetentionEntry {
    fn unsigned_line(&self) -> String {
        format!(
            "v1 seq={} blocks={} records={} min_ms={} max_ms={} last_hash={} deleted_ms={}",
            self.seq,
            self.block_count,
            self.record_count,
            self.min_ms,
            self.max_ms,
            hex(&self.last_hash),
            self.deleted_ms
        )
    }

    /// The signed line, with its newline.
    pub fn encode(&self, signing_key: &SigningKey) -> String {
        let unsigned = self.unsigned_line();
        let signature = keys::sign(signing_key, RETENTION_SIGNING_CONTEXT, unsigned.as_bytes());
        format!("{unsigned} sig={}\n", hex(&signature))
    }

    /// Parses a line (without its newline) and checks its signature.
    pub fn decode(line: &str, public_key: &VerifyingKey) -> Result<RetentionEntry, String> {
        let (unsigned, signature) =
            line.rsplit_once(" sig=").ok_or("retention line without a signature")?;
        let signature: [u8; 64] = unhex(signature)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or("retention signature is not 64 hex bytes")?;
        if !keys::signature_is_valid(
            public_key,
            RETENTION_SIGNING_CONTEXT,
            unsigned.as_bytes(),
            &signature,
        ) {
            return Err("retention line signature does not verify".into());
        }
        let mut fields = unsigned.split(' ');
        if fields.next() != Some("v1") {
            return Err("retention line is not version v1".into());
        }
        let mut field = |name: &str| -> Result<&str, String> {
            let item = fields.next().ok_or(format!("retention line lacks {name}"))?;
            item.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .ok_or(format!("retention line has {item:?} where {name} belongs"))
        };
        fn number<T: std::str::FromStr>(name: &str, text: &str) -> Result<T, String> {
            text.parse().map_err(|_| format!("retention {name} {text:?} is not a number"))
        }
        let seq = number("seq", field("seq")?)?;
        let block_count = number("blocks", field("blocks")?)?;
        let record_count = number("records", field("records")?)?;
        let min_ms = number("min_ms", field("min_ms")?)?;
        let max_ms = number("max_ms", field("max_ms")?)?;
        let last_hash = unhex(field("last_hash")?)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or("retention last_hash is not 32 hex bytes")?;
        let deleted_ms = number("deleted_ms", field("deleted_ms")?)?;
        Ok(RetentionEntry { seq, block_count, record_count, min_ms, max_ms, last_hash, deleted_ms })
    }
}

/// A line of the retention log as found on disk.
pub struct RetentionLine {
    /// Byte offset of the line in the file.
    pub offset: u64,
    pub entry: Result<RetentionEntry, String>,
}

/// The retention log read back: its lines and, when the last one has no newline (a crash
/// while appending it), where that torn line starts.
pub struct RetentionLog {
    pub lines: Vec<RetentionLine>,
    pub torn_at: Option<u64>,
}

impl RetentionLog {
    /// Reads the log; a missing file is an empty log.
    pub fn read(dir: &Path, public_key: &VerifyingKey) -> Result<RetentionLog, StoreError> {
        let path = layout::retention_log_path(dir);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(StoreError::io("read", path, e)),
        };
        let mut lines = Vec::new();
        let mut offset = 0usize;
        let mut torn_at = None;
        while offset < bytes.len() {
            let Some(newline) = bytes[offset..].iter().position(|&b| b == b'\n') else {
                torn_at = Some(offset as u64);
                break;
            };
            let line = &bytes[offset..offset + newline];
            let entry = if line.len() > RETENTION_LINE_BYTES_MAX {
                Err(format!("retention line of {} bytes is over the limit", line.len()))
            } else {
                std::str::from_utf8(line)
                    .map_err(|_| "retention line is not text".to_string())
                    .and_then(|line| RetentionEntry::decode(line, public_key))
            };
            lines.push(RetentionLine { offset: offset as u64, entry });
            offset += newline + 1;
        }
        Ok(RetentionLog { lines, torn_at })
    }

    /// The last valid entry, if the log is all valid.
    pub fn last_entry(&self) -> Option<&RetentionEntry> {
        self.lines.last().and_then(|line| line.entry.as_ref().ok())
    }
}

/// Appends an entry and makes it durable; first cuts off a torn last line if there is one.
pub fn append(
    dir: &Path,
    torn_at: Option<u64>,
    entry: &RetentionEntry,
    signing_key: &SigningKey,
) -> Result<(), StoreError> {
    let path = layout::retention_log_path(dir);
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| StoreError::io("open", &path, e))?;
    if let Some(torn_at) = torn_at {
        file.set_len(torn_at).map_err(|e| StoreError::io("truncate", &path, e))?;
    }
    file.write_all(entry.encode(signing_key).as_bytes())
        .map_err(|e| StoreError::io("write", &path, e))?;
    file.sync_all().map_err(|e| StoreError::io("sync", &path, e))?;
    layout::sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_round_trips_and_rejects_tampering() {
        let key = SigningKey::from_bytes(&[8; 32]);
        let entry = RetentionEntry {
            seq: 42,
            block_count: 3,
            record_count: 99,
            min_ms: -1,
            max_ms: 5,
            last_hash: [0xab; 32],
            deleted_ms: 77,
        };
        let line = entry.encode(&key);
        assert!(line.len() <= RETENTION_LINE_BYTES_MAX);
        let public = key.verifying_key();
        assert_eq!(RetentionEntry::decode(line.trim_end(), &public).unwrap(), entry);
        let altered = line.trim_end().replace("seq=42", "seq=43");
        assert!(RetentionEntry::decode(&altered, &public).is_err());
    }
}
