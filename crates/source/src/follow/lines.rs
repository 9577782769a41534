//! Cutting a file's bytes into lines as they arrive: a partial last line waits in a carry
//! buffer until its newline is read, and a line longer than the limit is skipped to its
//! newline, never buffered whole.

use std::path::PathBuf;

use crate::Fingerprint;

/// One complete line of a followed file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// The line without its `\n` (nor a `\r` before it).
    pub bytes: &'a [u8],
    /// File offset just after the line's `\n`: where reading resumes once this line is stored.
    pub end_offset: u64,
}

/// The new complete lines of one file from one poll.
#[derive(Clone, Debug)]
pub struct FileBatch {
    /// The path the file was read under (after a rotation, possibly no longer its name).
    pub path: PathBuf,
    pub fingerprint: Fingerprint,
    /// Offset just after the last line this batch covers, overlong lines included: what to give
    /// [`crate::Positions::advance`] once the batch's events are stored.
    pub end_offset: u64,
    /// Lines longer than `line_bytes_max` that were skipped within this batch.
    pub overlong: u64,
    /// The lines, each followed by `\n`.
    text: Vec<u8>,
    /// Per line: where it ends in `text` (before its `\n`) and its file end offset.
    ends: Vec<(usize, u64)>,
}

impl FileBatch {
    /// The batch's lines in file order.
    pub fn lines(&self) -> impl ExactSizeIterator<Item = Line<'_>> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&(text_end, end_offset)| {
            let bytes = &self.text[start..text_end];
            start = text_end + 1;
            Line { bytes, end_offset }
        })
    }

    /// How many lines the batch holds.
    pub fn line_count(&self) -> usize {
        self.ends.len()
    }

    /// The lines as one buffer, each ending in `\n` (`\r\n` endings made `\n`; overlong lines
    /// left out): the shape of a decoding chunk.
    pub fn text(&self) -> &[u8] {
        &self.text
    }
}

/// A batch being filled by [`LineSplitter::feed`].
pub(crate) struct BatchBuilder {
    text: Vec<u8>,
    ends: Vec<(usize, u64)>,
    start_offset: u64,
    end_offset: u64,
    overlong: u64,
}

impl BatchBuilder {
    /// A batch for lines after `line_start`, the end of the last line already returned.
    pub(crate) fn new(line_start: u64) -> BatchBuilder {
        BatchBuilder {
            text: Vec::new(),
            ends: Vec::new(),
            start_offset: line_start,
            end_offset: line_start,
            overlong: 0,
        }
    }

    /// The end of the last line covered so far.
    pub(crate) fn end_offset(&self) -> u64 {
        self.end_offset
    }

    pub(crate) fn line_count(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn overlong(&self) -> u64 {
        self.overlong
    }

    /// The batch, or `None` when it covers no line (nothing for the caller to store).
    pub(crate) fn finish(self, path: PathBuf, fingerprint: Fingerprint) -> Option<FileBatch> {
        if self.end_offset == self.start_offset {
            debug_assert!(self.ends.is_empty() && self.overlong == 0);
            return None;
        }
        Some(FileBatch {
            path,
            fingerprint,
            end_offset: self.end_offset,
            overlong: self.overlong,
            text: self.text,
            ends: self.ends,
        })
    }
}

/// The state between reads of one file: the partial last line, or the overlong line being
/// skipped.
pub(crate) struct LineSplitter {
    carry: Vec<u8>,
    skip: Skip,
    line_bytes_max: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Skip {
    No,
    /// Skipping a line longer than the limit; counted when its newline is found.
    Overlong,
    /// Skipping the rest of a line that was being written when reading started from a
    /// file's end; not an error.
    Partial,
}

impl LineSplitter {
    pub(crate) fn new(line_bytes_max: usize) -> LineSplitter {
        assert!(line_bytes_max > 0);
        LineSplitter { carry: Vec::new(), skip: Skip::No, line_bytes_max }
    }

    /// Forgets the partial line: the file was truncated, or reading moves elsewhere.
    pub(crate) fn reset(&mut self) {
        self.carry = Vec::new();
        self.skip = Skip::No;
    }

    /// Starts in the middle of a line (reading from a file's end): its rest is skipped.
    pub(crate) fn skip_partial_line(&mut self) {
        self.reset();
        self.skip = Skip::Partial;
    }

    /// Bytes of a line started but not finished.
    pub(crate) fn partial_bytes(&self) -> usize {
        self.carry.len()
    }

    /// Cuts `bytes`, read at file offset `offset`, into lines appended to `batch`.
    pub(crate) fn feed(&mut self, bytes: &[u8], offset: u64, batch: &mut BatchBuilder) {
        let mut at = 0;
        while at < bytes.len() {
            let Some(newline) = memchr::memchr(b'\n', &bytes[at..]) else {
                let rest = &bytes[at..];
                if self.skip == Skip::No {
                    if self.carry.len() + rest.len() > self.line_bytes_max {
                        // Too long already: drop what was kept rather than grow past the limit.
                        self.carry = Vec::new();
                        self.skip = Skip::Overlong;
                    } else {
                        self.carry.extend_from_slice(rest);
                    }
                }
                return;
            };
            let piece = &bytes[at..at + newline];
            let end_offset = offset + (at + newline + 1) as u64;
            match self.skip {
                Skip::Overlong => batch.overlong += 1,
                Skip::Partial => {}
                Skip::No if self.carry.len() + piece.len() > self.line_bytes_max => {
                    batch.overlong += 1;
                }
                Skip::No => {
                    batch.text.extend_from_slice(&self.carry);
                    batch.text.extend_from_slice(piece);
                    if batch.text.last() == Some(&b'\r') {
                        batch.text.pop();
                    }
                    batch.ends.push((batch.text.len(), end_offset));
                    batch.text.push(b'\n');
                }
            }
            self.carry.clear();
            self.skip = Skip::No;
            debug_assert!(end_offset > batch.end_offset);
            batch.end_offset = end_offset;
            at += newline + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(batch: &BatchBuilder) -> Vec<(String, u64)> {
        let mut start = 0;
        batch
            .ends
            .iter()
            .map(|&(end, off)| {
                let s = String::from_utf8(batch.text[start..end].to_vec()).unwrap();
                start = end + 1;
                (s, off)
            })
            .collect()
    }

    #[test]
    fn partial_lines_wait_for_their_newline() {
        let mut splitter = LineSplitter::new(100);
        let mut batch = BatchBuilder::new(0);
        splitter.feed(b"ab", 0, &mut batch);
        assert_eq!(batch.end_offset(), 0);
        splitter.feed(b"c\r\nde\n\nf", 2, &mut batch);
        assert_eq!(
            lines(&batch),
            [("abc".to_string(), 5), ("de".to_string(), 8), (String::new(), 9)]
        );
        assert_eq!(splitter.partial_bytes(), 1);
        assert_eq!(batch.text, b"abc\nde\n\n");
    }

    #[test]
    fn overlong_lines_are_skipped_to_their_newline() {
        let mut splitter = LineSplitter::new(4);
        let mut batch = BatchBuilder::new(10);
        splitter.feed(b"abcd\nabc", 10, &mut batch);
        splitter.feed(b"de", 18, &mut batch);
        splitter.feed(b"fgh", 20, &mut batch);
        assert_eq!(splitter.partial_bytes(), 0);
        splitter.feed(b"i\nok\nabcde\n", 23, &mut batch);
        assert_eq!(lines(&batch), [("abcd".to_string(), 15), ("ok".to_string(), 28)]);
        assert_eq!(batch.overlong(), 2);
        assert_eq!(batch.end_offset(), 34);
    }

    #[test]
    fn a_partial_first_line_is_skipped_silently() {
        let mut splitter = LineSplitter::new(100);
        splitter.skip_partial_line();
        let mut batch = BatchBuilder::new(50);
        splitter.feed(b"tail\nnext\n", 50, &mut batch);
        assert_eq!(lines(&batch), [("next".to_string(), 60)]);
        assert_eq!(batch.overlong(), 0);
    }
}
