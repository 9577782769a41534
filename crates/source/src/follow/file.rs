//! One followed file: an open handle (so a renamed or deleted file is still read to its end),
//! its identity once enough of it is written, and how far it was read.

use std::collections::{HashMap, HashSet};
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;
use std::time::Instant;

use super::lines::{BatchBuilder, FileBatch, LineSplitter};
use super::FollowStats;
use crate::fingerprint::{read_at_most, FINGERPRINT_BYTES};
use crate::{Fingerprint, Positions};

/// Bytes asked of the kernel per read: large enough that a busy log costs few system calls,
/// small enough to stay in cache while it is cut into lines.
pub(crate) const READ_CHUNK_BYTES: usize = 64 * 1024;

/// A file as the kernel knows it, whatever its name: renames keep it, rotation by create
/// gives the path a new one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    pub(crate) fn of(metadata: &Metadata) -> FileId {
        FileId { dev: metadata.dev(), ino: metadata.ino() }
    }
}

/// Where a file starts being read once it has a fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Start {
    /// Where this run or a committed position left it, else at 0.
    Resume,
    /// As `Resume`, but a file with no position starts at this offset: its size when it was
    /// found by the first scan with `ReadFrom::End`.
    End(u64),
    /// At 0 whatever was remembered: its content was replaced (truncation, copytruncate).
    Zero,
}

enum Identity {
    /// Too little written to fingerprint yet.
    Pending(Start),
    Known {
        fingerprint: Fingerprint,
        head_bytes: usize,
    },
    /// Another followed file has the same fingerprint (a copy made by copytruncate, a second
    /// name): not read while that one is, so no line is returned twice.
    Duplicate(Start),
}

/// What reading a file may consult and update beyond the file itself.
pub(crate) struct ReadContext<'a> {
    /// How far this run has read each fingerprint, in complete lines.
    pub(crate) seen: &'a mut SeenOffsets,
    /// Positions given at start-up: where a restart resumes.
    pub(crate) committed: &'a Positions,
    /// Fingerprints of the files being read now (each followed by one file only).
    pub(crate) reading: &'a mut HashSet<Fingerprint>,
    pub(crate) stats: &'a mut FollowStats,
    pub(crate) buf: &'a mut [u8],
    /// Bytes this poll may still read, over all files.
    pub(crate) budget_bytes: &'a mut usize,
    pub(crate) now: Instant,
    /// Whether to check every file's first line even if it looks unchanged.
    pub(crate) recheck_head: bool,
}

pub(crate) struct Followed {
    /// The path the file was found under; after a rotation, possibly no longer its name.
    pub(crate) path: PathBuf,
    file: File,
    pub(crate) id: FileId,
    identity: Identity,
    /// Offset of the next byte to read.
    read_offset: u64,
    /// Offset after the last complete line returned: `read_offset` less the partial line.
    line_start: u64,
    splitter: LineSplitter,
    /// The path leads elsewhere or nowhere: read on until idle, then dropped.
    pub(crate) rotated: bool,
    /// Since when nothing new was found in the file.
    idle_since: Option<Instant>,
    /// Size and modification time at the last poll: whether anything happened since.
    last_version: (u64, i64, i64),
}

impl Followed {
    pub(crate) fn new(
        path: PathBuf,
        file: File,
        id: FileId,
        start: Start,
        line_bytes_max: usize,
    ) -> Followed {
        Followed {
            path,
            file,
            id,
            identity: Identity::Pending(start),
            read_offset: 0,
            line_start: 0,
            splitter: LineSplitter::new(line_bytes_max),
            rotated: false,
            idle_since: None,
            last_version: (0, 0, 0),
        }
    }

    /// The fingerprint of a file being read.
    pub(crate) fn reading(&self) -> Option<Fingerprint> {
        match self.identity {
            Identity::Known { fingerprint, .. } => Some(fingerprint),
            _ => None,
        }
    }

    pub(crate) fn is_duplicate(&self) -> bool {
        matches!(self.identity, Identity::Duplicate(_))
    }

    /// Whether nothing new was found in the file for `linger_ms` (an idle rotated file is
    /// done: its writer has moved to the new file).
    pub(crate) fn idle_for(&self, now: Instant, linger_ms: u64) -> bool {
        self.idle_since
            .is_some_and(|since| now.duration_since(since).as_millis() >= u128::from(linger_ms))
    }

    /// Bytes of an unfinished last line, lost if the file is dropped now.
    pub(crate) fn partial_bytes(&self) -> usize {
        self.splitter.partial_bytes()
    }

    /// Reads what is new, up to the context's budget; returns the complete lines.
    pub(crate) fn poll(&mut self, cx: &mut ReadContext<'_>) -> io::Result<Option<FileBatch>> {
        let metadata = self.file.metadata()?;
        let size = metadata.len();
        let version = (size, metadata.mtime(), metadata.mtime_nsec());
        let changed = version != self.last_version;
        self.last_version = version;
        if let Identity::Known { fingerprint, head_bytes } = self.identity {
            // Shorter than what was read, or a different first line: the content was
            // replaced (copytruncate, truncation, rewrite), so it is read again from 0. The
            // first line is checked on every change, since a file truncated and written again
            // between two polls may be as long as before; and at every scan, since a change
            // within one tick of the kernel's coarse clock leaves the modification time as
            // it was.
            let replaced = (changed || cx.recheck_head)
                && (size < self.read_offset || !self.head_matches(fingerprint, head_bytes)?);
            if replaced {
                cx.stats.truncations += 1;
                cx.reading.remove(&fingerprint);
                self.identity = Identity::Pending(Start::Zero);
                self.read_offset = 0;
                self.line_start = 0;
                self.splitter.reset();
            }
        }
        match self.identity {
            Identity::Known { .. } => {}
            Identity::Pending(start) | Identity::Duplicate(start) => {
                self.identify(start, size, cx)?;
                if self.reading().is_none() {
                    self.note_idle(!changed, cx.now);
                    return Ok(None);
                }
            }
        }
        let Identity::Known { fingerprint, .. } = self.identity else { unreachable!() };

        let mut batch = BatchBuilder::new(self.line_start);
        let mut at_end = false;
        while *cx.budget_bytes > 0 {
            let want = (*cx.budget_bytes).min(cx.buf.len());
            let read = match self.file.read_at(&mut cx.buf[..want], self.read_offset) {
                Ok(read) => read,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if read == 0 {
                at_end = true;
                break;
            }
            self.splitter.feed(&cx.buf[..read], self.read_offset, &mut batch);
            self.read_offset += read as u64;
            *cx.budget_bytes -= read;
            cx.stats.bytes_read += read as u64;
            at_end = false;
        }
        self.note_idle(at_end && !changed, cx.now);
        self.line_start = batch.end_offset();
        debug_assert!(self.line_start <= self.read_offset);
        cx.stats.lines += batch.line_count() as u64;
        cx.stats.overlong_lines += batch.overlong();
        cx.seen.insert(fingerprint, self.line_start);
        Ok(batch.finish(self.path.clone(), fingerprint))
    }

    fn note_idle(&mut self, idle: bool, now: Instant) {
        if idle {
            self.idle_since.get_or_insert(now);
        } else {
            self.idle_since = None;
        }
    }

    /// Fingerprints the file once enough is written, and places the read offset.
    fn identify(&mut self, start: Start, size: u64, cx: &mut ReadContext<'_>) -> io::Result<()> {
        let Some((fingerprint, head_bytes)) = Fingerprint::of_file(&self.file)? else {
            self.identity = Identity::Pending(start);
            return Ok(());
        };
        if cx.reading.contains(&fingerprint) {
            self.identity = Identity::Duplicate(start);
            return Ok(());
        }
        let remembered = cx.seen.get(&fingerprint).or_else(|| cx.committed.offset(&fingerprint));
        let offset = match (start, remembered) {
            (Start::Zero, _) => 0,
            // A remembered offset past the end is another file with the same first line, or
            // this one truncated while nobody watched: either way its content is new.
            (_, Some(offset)) => {
                if offset <= size {
                    offset
                } else {
                    0
                }
            }
            (Start::End(end), None) => end.min(size),
            (Start::Resume, None) => 0,
        };
        self.splitter.reset();
        if offset > 0 && remembered.is_none() && !self.ends_a_line(offset)? {
            self.splitter.skip_partial_line();
        }
        self.read_offset = offset;
        self.line_start = offset;
        self.identity = Identity::Known { fingerprint, head_bytes };
        cx.reading.insert(fingerprint);
        cx.seen.insert(fingerprint, offset);
        Ok(())
    }

    /// Whether the byte before `offset` is a newline, so that a line starts at `offset`.
    fn ends_a_line(&self, offset: u64) -> io::Result<bool> {
        let mut byte = [0u8; 1];
        let read = read_at_most(&self.file, &mut byte, offset - 1)?;
        Ok(read == 1 && byte[0] == b'\n')
    }

    /// Whether the file still begins with the bytes it was fingerprinted by.
    fn head_matches(&self, fingerprint: Fingerprint, head_bytes: usize) -> io::Result<bool> {
        debug_assert!(head_bytes <= FINGERPRINT_BYTES);
        let mut head = [0u8; FINGERPRINT_BYTES];
        let filled = read_at_most(&self.file, &mut head[..head_bytes], 0)?;
        Ok(Fingerprint::of_head(&head[..filled]).is_some_and(|(fp, _)| fp == fingerprint))
    }
}

/// How far this run read each fingerprint, so that a file seen again under another name or
/// inode (a rotated file matched by the pattern, a copy made by copytruncate) resumes where
/// reading stopped rather than where the last commit did. At most `SEEN_MAX` entries.
#[derive(Default)]
pub(crate) struct SeenOffsets {
    offsets: HashMap<Fingerprint, u64>,
}

/// Same bound as the committed positions, for the same files.
const SEEN_MAX: usize = crate::position::POSITIONS_MAX;

impl SeenOffsets {
    fn get(&self, fingerprint: &Fingerprint) -> Option<u64> {
        self.offsets.get(fingerprint).copied()
    }

    fn insert(&mut self, fingerprint: Fingerprint, offset: u64) {
        if self.offsets.len() >= SEEN_MAX && !self.offsets.contains_key(&fingerprint) {
            return;
        }
        self.offsets.insert(fingerprint, offset);
    }

    /// Forgets every file not in `keep` when the table is full: those are files no longer
    /// followed, the only ones that could need it are copies found later.
    pub(crate) fn trim(&mut self, keep: &HashSet<Fingerprint>) {
        if self.offsets.len() >= SEEN_MAX {
            self.offsets.retain(|fp, _| keep.contains(fp));
        }
    }
}
