//! Inputs: opening files or stdin, reading gzip and zstd transparently, and cutting the byte
//! stream into chunks of whole lines for the decoding workers.

use apiwatch_parse::LINE_BYTES_MAX;
use crossbeam_channel::{bounded, Receiver, Sender};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Bytes of whole lines per chunk handed to a decoding worker: large enough to amortise the
/// channel hand-off, small enough that a chunk's events (~750 bytes each plus their strings)
/// stay in the decoding core's 2 MiB L2 cache until detection takes them. At 256 KiB a chunk
/// of nginx lines made ~1.4 MiB of events and the allocator's reads of freed blocks missed
/// the cache (8% of all cycles); 64 KiB replayed nginx ~15% faster in alternating runs, and
/// 32 or 16 KiB no faster than 64.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// One input as given on the command line.
#[derive(Clone, Debug)]
pub struct InputSpec {
    /// Position on the command line: orders events with equal times deterministically.
    pub index: u32,
    /// What the user wrote (for messages).
    pub display: String,
    /// `None` for stdin.
    pub path: Option<PathBuf>,
    /// The format the user named with FORMAT:PATH, if any.
    pub format: Option<String>,
}

/// Splits `FORMAT:PATH` when the prefix is a format name; anything else is a path.
pub fn parse_arg(index: u32, arg: &str, is_format: impl Fn(&str) -> bool) -> InputSpec {
    let (format, rest) = match arg.split_once(':') {
        Some((f, p)) if is_format(f) && !p.is_empty() => (Some(f.to_string()), p),
        _ => (None, arg),
    };
    let path = (rest != "-").then(|| PathBuf::from(rest));
    InputSpec { index, display: arg.to_string(), path, format }
}

/// Counts bytes as they are read from the underlying file (compressed bytes for compressed
/// inputs), for progress reporting.
struct Counting<R> {
    inner: R,
    read_bytes: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read_bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An opened input: a reader of decompressed bytes and the size of the file when known.
pub struct Opened {
    pub reader: Box<dyn Read + Send>,
    pub size_bytes: Option<u64>,
    pub compression: &'static str,
}

/// Opens an input, detecting gzip and zstd from their magic bytes.
pub fn open(spec: &InputSpec, read_bytes: Arc<AtomicU64>) -> io::Result<Opened> {
    let (raw, size_bytes): (Box<dyn Read + Send>, Option<u64>) = match &spec.path {
        None => (Box::new(io::stdin()), None),
        Some(p) => {
            let f = File::open(p)?;
            let size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
            (Box::new(f), size)
        }
    };
    let mut buffered = BufReader::with_capacity(CHUNK_BYTES, Counting { inner: raw, read_bytes });
    let head = buffered.fill_buf()?;
    let (reader, compression): (Box<dyn Read + Send>, &'static str) =
        if head.starts_with(&[0x1f, 0x8b]) {
            (Box::new(flate2::read::MultiGzDecoder::new(buffered)), "gzip")
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            (Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?), "zstd")
        } else {
            (Box::new(buffered), "none")
        };
    Ok(Opened { reader, size_bytes, compression })
}

/// A run of whole lines, or the report of one line too long to decode.
#[derive(Debug, Default)]
pub struct Chunk {
    /// Line number (1-based) of the first line in `data`.
    pub first_line: u64,
    /// Whole lines separated by `\n` (the last may lack it at end of input).
    pub data: Vec<u8>,
    /// How many `\n` `data` holds (counted once, when the chunk is cut).
    pub newlines: u64,
    /// Line numbers of lines longer than [`LINE_BYTES_MAX`], skipped (not in `data`).
    pub overlong_lines: Vec<u64>,
}

/// Cuts a byte stream into [`Chunk`]s. Memory stays bounded: a line longer than
/// [`LINE_BYTES_MAX`] is skipped (and reported), never buffered whole.
///
/// Buffers given back through [`Chunker::recycler`] once their chunk is decoded are read into
/// again: a fresh buffer per chunk costs an allocation, zeroing (safe Rust reads only
/// into initialised bytes) and page faults, about 4% of a Kong replay. A buffer's length marks
/// how much of it is initialised, so only the part beyond it is ever zeroed.
pub struct Chunker<R> {
    reader: R,
    /// Read but not yet handed out: `buf[..filled]` (between chunks, at most a partial line).
    /// `buf[filled..]` is stale (initialised) space to read into.
    buf: Vec<u8>,
    filled: usize,
    next_line: u64,
    eof: bool,
    /// Inside an overlong line being skipped.
    skipping: bool,
    recycled_tx: Sender<Vec<u8>>,
    recycled_rx: Receiver<Vec<u8>>,
}

/// Chunk buffers waiting to be read into again, per input.
const RECYCLED_BUFFERS_MAX: usize = 8;

impl<R: Read> Chunker<R> {
    pub fn new(reader: R) -> Chunker<R> {
        let (recycled_tx, recycled_rx) = bounded(RECYCLED_BUFFERS_MAX);
        Chunker {
            reader,
            buf: Vec::new(),
            filled: 0,
            next_line: 1,
            eof: false,
            skipping: false,
            recycled_tx,
            recycled_rx,
        }
    }

    /// Where the consumers of chunks give their `data` back (`try_send`: a full queue just
    /// drops the buffer).
    pub fn recycler(&self) -> Sender<Vec<u8>> {
        self.recycled_tx.clone()
    }

    /// The next chunk, `None` at end of input.
    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        let mut chunk = Chunk { first_line: self.next_line, ..Default::default() };
        loop {
            if self.eof {
                if self.filled == 0 && chunk.overlong_lines.is_empty() {
                    return Ok(None);
                }
                chunk.first_line = self.next_line;
                if self.filled > 0 {
                    self.next_line += 1;
                }
                let mut data = std::mem::take(&mut self.buf);
                data.truncate(self.filled);
                self.filled = 0;
                chunk.data = data;
                return Ok(Some(chunk));
            }
            let start = self.filled;
            if self.buf.len() < start + CHUNK_BYTES {
                self.buf.resize(start + CHUNK_BYTES, 0);
            }
            let n = read_retrying(&mut self.reader, &mut self.buf[start..start + CHUNK_BYTES])?;
            self.filled += n;
            if n == 0 {
                self.eof = true;
                if self.skipping {
                    self.filled = 0;
                    self.skipping = false;
                }
                continue;
            }
            if self.skipping {
                match memchr::memchr(b'\n', &self.buf[..self.filled]) {
                    Some(i) => {
                        self.buf.copy_within(i + 1..self.filled, 0);
                        self.filled -= i + 1;
                        self.skipping = false;
                    }
                    None => {
                        self.filled = 0;
                        continue;
                    }
                }
            }
            match memchr::memrchr(b'\n', &self.buf[..self.filled]) {
                Some(last) => {
                    // The partial line after `last` starts the next buffer.
                    let rest = last + 1..self.filled;
                    let mut next = self.recycled_rx.try_recv().unwrap_or_default();
                    if next.len() < rest.len() {
                        next.resize(rest.len(), 0);
                    }
                    next[..rest.len()].copy_from_slice(&self.buf[rest.clone()]);
                    self.filled = rest.len();
                    let mut data = std::mem::replace(&mut self.buf, next);
                    data.truncate(last + 1);
                    let lines = memchr::memchr_iter(b'\n', &data).count() as u64;
                    chunk.first_line = self.next_line;
                    self.next_line += lines;
                    chunk.data = data;
                    chunk.newlines = lines;
                    self.check_overlong_carry(&mut chunk);
                    return Ok(Some(chunk));
                }
                None => self.check_overlong_carry(&mut chunk),
            }
            if !chunk.overlong_lines.is_empty() && chunk.data.is_empty() {
                return Ok(Some(chunk));
            }
        }
    }

    /// A partial line that already exceeds the limit is dropped and its number recorded.
    fn check_overlong_carry(&mut self, chunk: &mut Chunk) {
        if self.filled > LINE_BYTES_MAX {
            // The overlong line's number is the next one to be assigned.
            let line = self.next_line;
            self.next_line += 1;
            self.filled = 0;
            self.skipping = true;
            if chunk.data.is_empty() {
                chunk.first_line = self.next_line;
            }
            chunk.overlong_lines.push(line);
        }
    }
}

fn read_retrying(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Iterates the lines of a chunk with their numbers, without terminators (`\n`, `\r\n`).
pub fn lines(chunk: &Chunk) -> impl Iterator<Item = (u64, &[u8])> {
    let data = chunk.data.strip_suffix(b"\n").unwrap_or(&chunk.data);
    let empty = chunk.data.is_empty();
    // memchr finds line ends many bytes at a time (a byte-by-byte split cost ~1,000
    // instructions per log line).
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr(b'\n', r) {
            Some(i) => {
                rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
    .filter(move |_| !empty)
    .enumerate()
    .map(move |(i, l)| (chunk.first_line + i as u64, l.strip_suffix(b"\r").unwrap_or(l)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_lines(input: &[u8]) -> (Vec<(u64, Vec<u8>)>, Vec<u64>) {
        let mut c = Chunker::new(input);
        let (mut out, mut long) = (Vec::new(), Vec::new());
        while let Some(ch) = c.next_chunk().unwrap() {
            long.extend(&ch.overlong_lines);
            out.extend(lines(&ch).map(|(n, l)| (n, l.to_vec())));
        }
        (out, long)
    }

    /// As [`all_lines`], giving every chunk's buffer back scribbled over, as a decoding worker
    /// would give it back once done with it.
    fn all_lines_recycled(input: &[u8]) -> (Vec<(u64, Vec<u8>)>, Vec<u64>) {
        let mut c = Chunker::new(input);
        let recycler = c.recycler();
        let (mut out, mut long) = (Vec::new(), Vec::new());
        while let Some(ch) = c.next_chunk().unwrap() {
            long.extend(&ch.overlong_lines);
            out.extend(lines(&ch).map(|(n, l)| (n, l.to_vec())));
            let mut used = ch.data;
            used.fill(b'\n');
            let _ = recycler.try_send(used);
        }
        (out, long)
    }

    #[test]
    fn recycled_buffers_give_the_same_lines() {
        let mut input = Vec::new();
        for i in 1..=60_000 {
            // Lines of varied length, so that chunk ends fall everywhere.
            input.extend(format!("line {i} {}\n", "y".repeat(i % 97)).as_bytes());
            if i % 20_000 == 0 {
                input.extend(vec![b'x'; CHUNK_BYTES * 2 + 10]);
                input.push(b'\n');
            }
        }
        input.extend(b"last without newline");
        assert_eq!(all_lines_recycled(&input), all_lines(&input));
        let (lines, long) = all_lines(&input);
        assert_eq!((lines.len(), long.len()), (60_001, 3));
    }

    #[test]
    fn numbers_lines_across_chunks_and_strips_terminators() {
        let mut input = Vec::new();
        for i in 1..=100_000 {
            input.extend(format!("line {i}\r\n").as_bytes());
        }
        input.extend(b"last without newline");
        let (lines, long) = all_lines(&input);
        assert!(long.is_empty());
        assert_eq!(lines.len(), 100_001);
        assert_eq!(lines[41_999], (42_000, b"line 42000".to_vec()));
        assert_eq!(lines[100_000], (100_001, b"last without newline".to_vec()));
    }

    #[test]
    fn overlong_lines_are_reported_and_skipped() {
        let mut input = b"first\n".to_vec();
        input.extend(vec![b'x'; CHUNK_BYTES * 3]);
        input.extend(b"\nthird\n");
        let (lines, long) = all_lines(&input);
        assert_eq!(long, vec![2]);
        assert_eq!(lines, vec![(1, b"first".to_vec()), (3, b"third".to_vec())]);
    }

    #[test]
    fn format_prefix_only_when_known() {
        let known = |f: &str| f == "nginx";
        let s = parse_arg(0, "nginx:/var/log/a.log", known);
        assert_eq!(
            (s.format.as_deref(), s.path.unwrap()),
            (Some("nginx"), PathBuf::from("/var/log/a.log"))
        );
        let s = parse_arg(1, "c:weird", known);
        assert_eq!(s.format, None);
        assert!(parse_arg(2, "-", known).path.is_none());
        assert!(parse_arg(3, "nginx:-", known).path.is_none());
    }
}
