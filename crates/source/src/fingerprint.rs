//! A followed file's identity by content: the BLAKE3 hash of its first line (or of its first
//! [`FINGERPRINT_BYTES`] when that line is longer).
//!
//! A path says nothing about which file it is after a rotation, and an inode number is reused
//! once a file is deleted; the first line of a log (with its timestamp) is what stays with the
//! content. So positions are kept per fingerprint: a file renamed by logrotate keeps its
//! fingerprint and resumes where it was, and a file truncated and written again gets a new one
//! and starts at 0. Files whose first lines are identical (a fixed header line) cannot be told
//! apart this way.

use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// How much of a file's beginning identifies it when its first line is longer. 256 bytes hold
/// the first line of most access logs, timestamp included; a file is not read until it holds
/// this much or a whole first line, so that a file being created is not given a fingerprint
/// of its first few bytes that it would lose a moment later.
pub const FINGERPRINT_BYTES: usize = 256;

/// The identity of a file's content (see the module documentation).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// A fingerprint from its stored bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Fingerprint {
        Fingerprint(bytes)
    }

    /// The fingerprint's bytes, as [`crate::Positions::encode`] stores them.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The fingerprint of a file that begins with `head`, and how many bytes of it were hashed;
    /// `None` while `head` holds neither a whole first line nor [`FINGERPRINT_BYTES`].
    pub fn of_head(head: &[u8]) -> Option<(Fingerprint, usize)> {
        let head = &head[..head.len().min(FINGERPRINT_BYTES)];
        let len = match memchr::memchr(b'\n', head) {
            Some(newline) => newline + 1,
            None if head.len() == FINGERPRINT_BYTES => FINGERPRINT_BYTES,
            None => return None,
        };
        Some((Fingerprint(*blake3::hash(&head[..len]).as_bytes()), len))
    }

    /// Reads the beginning of `file` and fingerprints it ([`Fingerprint::of_head`]).
    pub(crate) fn of_file(file: &File) -> io::Result<Option<(Fingerprint, usize)>> {
        let mut head = [0u8; FINGERPRINT_BYTES];
        let filled = read_at_most(file, &mut head, 0)?;
        Ok(Fingerprint::of_head(&head[..filled]))
    }
}

/// Reads from `offset` until `buf` is full or the file ends; returns how much was read.
pub(crate) fn read_at_most(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    // Eight bytes tell fingerprints apart in test output and logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint(")?;
        self.0[..8].iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        write!(f, "…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_is_the_identity() {
        let (a, a_len) = Fingerprint::of_head(b"first line\nsecond").unwrap();
        let (b, _) = Fingerprint::of_head(b"first line\nother second line\n").unwrap();
        assert_eq!((a, a_len), (b, 11));
        assert_ne!(a, Fingerprint::of_head(b"first lime\n").unwrap().0);
    }

    #[test]
    fn waits_for_a_line_or_enough_bytes() {
        assert!(Fingerprint::of_head(b"").is_none());
        assert!(Fingerprint::of_head(b"no newline yet").is_none());
        let long = vec![b'x'; FINGERPRINT_BYTES + 10];
        let (fp, len) = Fingerprint::of_head(&long).unwrap();
        assert_eq!(len, FINGERPRINT_BYTES);
        assert_eq!(fp, Fingerprint::of_head(&long[..FINGERPRINT_BYTES]).unwrap().0);
    }
}
