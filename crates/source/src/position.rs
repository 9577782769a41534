//! Committed positions: where each followed file was read up to, in lines whose events are
//! stored. The service advances them only after a commit of the events and stores their
//! encoding inside that same commit, so that after a crash the follower resumes exactly after
//! the last stored line.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::{Fingerprint, SourceError};

/// Most files remembered. Far more than are followed at once (`follow::FOLLOWED_FILES_MAX`),
/// so only files that saw no new line while thousands of others did are forgotten: rotated
/// files long gone. Forgetting a file that is still followed means it is read again by
/// `ReadFrom` after a restart.
pub const POSITIONS_MAX: usize = 4096;

/// Longest path kept with a position; a longer one is stored empty. Paths are kept for people
/// reading positions; a file is found again by its fingerprint, never by its path.
pub const POSITION_PATH_BYTES_MAX: usize = 4096;

const MAGIC: &[u8; 4] = b"AWPS";
const VERSION: u8 = 1;
const HEADER_BYTES: usize = MAGIC.len() + 1 + 4;
const ENTRY_FIXED_BYTES: usize = 32 + 8 + 8 + 2;

/// Where each file was read up to, by fingerprint (see the module documentation).
#[derive(Clone, Default, PartialEq, Debug)]
pub struct Positions {
    entries: BTreeMap<Fingerprint, Entry>,
    /// Order of the next advance; the entry advanced longest ago is forgotten first.
    next_sequence: u64,
}

#[derive(Clone, PartialEq, Debug)]
struct Entry {
    offset: u64,
    sequence: u64,
    path: PathBuf,
}

impl Positions {
    /// No file read yet.
    pub fn new() -> Positions {
        Positions::default()
    }

    /// Records that the file with fingerprint `fingerprint` was stored up to `end_offset` (a
    /// [`crate::FileBatch::end_offset`] or [`crate::Line::end_offset`]). Call it only once the
    /// events of those lines are stored.
    pub fn advance(&mut self, fingerprint: &Fingerprint, path: &Path, end_offset: u64) {
        if !self.entries.contains_key(fingerprint) && self.entries.len() >= POSITIONS_MAX {
            self.forget_oldest();
        }
        let path = if path.as_os_str().len() <= POSITION_PATH_BYTES_MAX {
            path.to_path_buf()
        } else {
            PathBuf::new()
        };
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.entries.insert(*fingerprint, Entry { offset: end_offset, sequence, path });
        debug_assert!(self.entries.len() <= POSITIONS_MAX);
    }

    /// The committed offset of a file, if it has one.
    pub fn offset(&self, fingerprint: &Fingerprint) -> Option<u64> {
        self.entries.get(fingerprint).map(|e| e.offset)
    }

    /// Every remembered file: fingerprint, the path it was last read under, committed offset.
    pub fn iter(&self) -> impl Iterator<Item = (&Fingerprint, &Path, u64)> {
        self.entries.iter().map(|(fp, e)| (fp, e.path.as_path(), e.offset))
    }

    /// How many files are remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no file is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn forget_oldest(&mut self) {
        let oldest = self.entries.iter().min_by_key(|(_, e)| e.sequence).map(|(fp, _)| *fp);
        if let Some(fp) = oldest {
            self.entries.remove(&fp);
        }
    }

    /// The bytes to store: a versioned header, then entries in fingerprint order (so equal
    /// positions encode equally).
    pub fn encode(&self) -> Vec<u8> {
        let paths: usize = self.entries.values().map(|e| e.path.as_os_str().len()).sum();
        let mut out =
            Vec::with_capacity(HEADER_BYTES + self.entries.len() * ENTRY_FIXED_BYTES + paths);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for (fp, entry) in &self.entries {
            let path = entry.path.as_os_str().as_bytes();
            out.extend_from_slice(fp.as_bytes());
            out.extend_from_slice(&entry.offset.to_le_bytes());
            out.extend_from_slice(&entry.sequence.to_le_bytes());
            out.extend_from_slice(&(path.len() as u16).to_le_bytes());
            out.extend_from_slice(path);
        }
        out
    }

    /// Reads what [`Positions::encode`] wrote; anything else is an error naming the byte.
    pub fn decode(bytes: &[u8]) -> Result<Positions, SourceError> {
        let mut reader = Reader { bytes, at: 0 };
        if reader.take(MAGIC.len(), "ends inside the header")? != MAGIC {
            return Err(reader.error_at(0, "not a positions header"));
        }
        if reader.take(1, "ends before the version")?[0] != VERSION {
            return Err(reader.error_at(MAGIC.len(), "unknown version"));
        }
        let count = reader.u32()? as usize;
        if count > POSITIONS_MAX {
            return Err(reader.error_at(MAGIC.len() + 1, "more entries than POSITIONS_MAX"));
        }
        let mut positions = Positions::new();
        let mut previous: Option<Fingerprint> = None;
        for _ in 0..count {
            let entry_at = reader.at;
            let fp = Fingerprint::from_bytes(
                reader.take(32, "ends inside a fingerprint")?.try_into().unwrap(),
            );
            if previous.is_some_and(|p| p >= fp) {
                return Err(reader.error_at(entry_at, "fingerprints out of order or repeated"));
            }
            previous = Some(fp);
            let offset = reader.u64()?;
            let sequence = reader.u64()?;
            let path_at = reader.at;
            let path_len = reader.u16()? as usize;
            if path_len > POSITION_PATH_BYTES_MAX {
                return Err(reader.error_at(path_at, "path longer than POSITION_PATH_BYTES_MAX"));
            }
            let path =
                PathBuf::from(OsStr::from_bytes(reader.take(path_len, "ends inside a path")?));
            positions.next_sequence = positions.next_sequence.max(sequence.saturating_add(1));
            positions.entries.insert(fp, Entry { offset, sequence, path });
        }
        if reader.at != bytes.len() {
            return Err(reader.error_at(reader.at, "bytes after the last entry"));
        }
        Ok(positions)
    }
}

/// A cursor over encoded positions whose errors say where they happened.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// The next `len` bytes; `short` says what was cut when there are fewer.
    fn take(&mut self, len: usize, short: &'static str) -> Result<&'a [u8], SourceError> {
        let Some(taken) = self.bytes.get(self.at..self.at.saturating_add(len)) else {
            return Err(SourceError::Positions { offset: self.bytes.len(), reason: short });
        };
        self.at += len;
        Ok(taken)
    }

    fn u16(&mut self) -> Result<u16, SourceError> {
        Ok(u16::from_le_bytes(self.take(2, "ends before a path length")?.try_into().unwrap()))
    }

    fn u32(&mut self) -> Result<u32, SourceError> {
        Ok(u32::from_le_bytes(self.take(4, "ends before the entry count")?.try_into().unwrap()))
    }

    fn u64(&mut self) -> Result<u64, SourceError> {
        Ok(u64::from_le_bytes(self.take(8, "ends inside an offset")?.try_into().unwrap()))
    }

    fn error_at(&self, offset: usize, reason: &'static str) -> SourceError {
        SourceError::Positions { offset, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(n: u8) -> Fingerprint {
        Fingerprint::from_bytes([n; 32])
    }

    #[test]
    fn round_trip() {
        let mut positions = Positions::new();
        positions.advance(&fp(2), Path::new("/var/log/nginx/access.log"), 1234);
        positions.advance(&fp(1), Path::new("/var/log/nginx/access.log.1"), 99);
        positions.advance(&fp(2), Path::new("/var/log/nginx/access.log"), 2000);
        let decoded = Positions::decode(&positions.encode()).unwrap();
        assert_eq!(decoded, positions);
        assert_eq!(decoded.offset(&fp(2)), Some(2000));
        assert_eq!(Positions::decode(&Positions::new().encode()).unwrap(), Positions::new());
    }

    #[test]
    fn forgets_the_file_advanced_longest_ago() {
        let mut positions = Positions::new();
        for i in 0..POSITIONS_MAX as u32 {
            let mut bytes = [0u8; 32];
            bytes[..4].copy_from_slice(&i.to_le_bytes());
            positions.advance(&Fingerprint::from_bytes(bytes), Path::new("a"), u64::from(i));
        }
        // The first file is advanced again, so the second is now the oldest.
        positions.advance(&Fingerprint::from_bytes([0; 32]), Path::new("a"), 7);
        positions.advance(&fp(0xff), Path::new("b"), 1);
        assert_eq!(positions.len(), POSITIONS_MAX);
        assert_eq!(positions.offset(&Fingerprint::from_bytes([0; 32])), Some(7));
        let mut second = [0u8; 32];
        second[0] = 1;
        assert_eq!(positions.offset(&Fingerprint::from_bytes(second)), None);
        assert_eq!(Positions::decode(&positions.encode()).unwrap(), positions);
    }

    #[test]
    fn errors_say_where() {
        let mut positions = Positions::new();
        positions.advance(&fp(1), Path::new("a.log"), 5);
        let bytes = positions.encode();
        let err = Positions::decode(&bytes[..bytes.len() - 1]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("positions: ends inside a path at byte {}", bytes.len() - 1)
        );
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(matches!(
            Positions::decode(&extra),
            Err(SourceError::Positions { reason: "bytes after the last entry", .. })
        ));
        assert!(Positions::decode(b"JUNK").is_err());
    }
}
