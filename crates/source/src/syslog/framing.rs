//! Cutting a syslog TCP stream into messages (RFC 6587): octet counting (`LEN SP MSG`) or
//! non-transparent framing (one message per line), told apart by a connection's first byte;
//! and the one-message-per-datagram rule of UDP.

use thiserror::Error;

/// Largest `frame_bytes_max` accepted: a frame is held whole when it arrives in pieces.
pub const FRAME_BYTES_LIMIT: usize = 16 * 1024 * 1024;

/// Most digits in an octet count: 8 digits already exceed [`FRAME_BYTES_LIMIT`], and the
/// count must stay far from overflowing.
const LENGTH_DIGITS_MAX: usize = 9;

/// How a stream's messages are delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Decided by the first byte: a digit means octet counting, anything else lines.
    Auto,
    /// `LEN SP MSG`: the message's length in bytes, a space, the message (RFC 6587 3.4.1).
    OctetCounting,
    /// Messages ended by `\n` (RFC 6587 3.4.2); a `\r` before it is dropped.
    NonTransparent,
}

/// A stream that cannot be cut any further: an octet count that is not one. The connection
/// has lost its framing and should be closed.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
#[error("syslog framing: byte {offset} of the stream: expected {expected}")]
pub struct FramingError {
    /// 0-based offset in the stream.
    pub offset: u64,
    pub expected: &'static str,
}

/// What a framer has cut.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FramerStats {
    /// Messages given out.
    pub frames: u64,
    /// Messages longer than `frame_bytes_max`, skipped.
    pub oversize_frames: u64,
    /// Octet-counted messages cut short by the end of the stream.
    pub truncated_frames: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Between frames.
    Start,
    /// Reading an octet count.
    Length {
        length: usize,
        digits: usize,
    },
    /// Reading an octet-counted message; `skip` when it is over the limit.
    Body {
        remaining: usize,
        skip: bool,
    },
    /// Reading a line; `skip` when it is over the limit.
    Line {
        skip: bool,
    },
    Failed(FramingError),
}

/// Cuts one connection's bytes into messages (see the module documentation).
pub struct Framer {
    framing: Framing,
    frame_bytes_max: usize,
    state: State,
    /// A frame that arrived in pieces; frames within one `feed` are given out in place.
    partial: Vec<u8>,
    /// Stream offset of the next byte fed.
    offset: u64,
    stats: FramerStats,
}

impl Framer {
    /// A framer for one connection. `frame_bytes_max` must be within 1..=[`FRAME_BYTES_LIMIT`].
    pub fn new(framing: Framing, frame_bytes_max: usize) -> Framer {
        assert!((1..=FRAME_BYTES_LIMIT).contains(&frame_bytes_max), "frame_bytes_max out of range");
        Framer {
            framing,
            frame_bytes_max,
            state: State::Start,
            partial: Vec::new(),
            offset: 0,
            stats: FramerStats::default(),
        }
    }

    /// The framing in use: `Auto` until the first byte arrives.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    pub fn stats(&self) -> FramerStats {
        self.stats
    }

    /// Cuts `bytes`, the next bytes of the stream, and calls `on_frame` with every message
    /// completed. After an error the stream cannot be read further: every later call returns
    /// the same error.
    pub fn feed(
        &mut self,
        mut bytes: &[u8],
        mut on_frame: impl FnMut(&[u8]),
    ) -> Result<(), FramingError> {
        if self.framing == Framing::Auto {
            match bytes.first() {
                None => return Ok(()),
                Some(b'0'..=b'9') => self.framing = Framing::OctetCounting,
                Some(_) => self.framing = Framing::NonTransparent,
            }
        }
        while !bytes.is_empty() {
            let used = match self.framing {
                Framing::OctetCounting => self.octet_counted(bytes, &mut on_frame)?,
                _ => self.line(bytes, &mut on_frame)?,
            };
            debug_assert!(used > 0 && used <= bytes.len());
            self.offset += used as u64;
            bytes = &bytes[used..];
        }
        Ok(())
    }

    /// The stream ended: a last line without its newline is a message; an octet-counted
    /// message cut short is counted.
    pub fn finish(&mut self, mut on_frame: impl FnMut(&[u8])) {
        match self.state {
            State::Line { skip: false } if !self.partial.is_empty() => {
                let line = std::mem::take(&mut self.partial);
                self.give(trim_cr(&line), &mut on_frame);
            }
            State::Line { skip: true } => self.stats.oversize_frames += 1,
            State::Body { .. } | State::Length { .. } => self.stats.truncated_frames += 1,
            _ => {}
        }
        self.partial.clear();
        self.state = State::Start;
    }

    fn give(&mut self, frame: &[u8], on_frame: &mut impl FnMut(&[u8])) {
        self.stats.frames += 1;
        on_frame(frame);
    }

    /// Reads from `bytes` in octet-counting state; returns how many bytes were used.
    fn octet_counted(
        &mut self,
        bytes: &[u8],
        on_frame: &mut impl FnMut(&[u8]),
    ) -> Result<usize, FramingError> {
        match self.state {
            State::Failed(error) => Err(error),
            State::Start => match bytes[0] {
                // Some senders end octet-counted frames with a newline anyway.
                b'\n' | b'\r' | b'\0' => Ok(1),
                b @ b'1'..=b'9' => {
                    self.state = State::Length { length: usize::from(b - b'0'), digits: 1 };
                    Ok(1)
                }
                _ => self.fail("a message length (a digit from 1 to 9)"),
            },
            State::Length { length, digits } => match bytes[0] {
                b @ b'0'..=b'9' if digits < LENGTH_DIGITS_MAX => {
                    self.state = State::Length {
                        length: length * 10 + usize::from(b - b'0'),
                        digits: digits + 1,
                    };
                    Ok(1)
                }
                b'0'..=b'9' => self.fail("a space: message lengths have at most 9 digits"),
                b' ' => {
                    let skip = length > self.frame_bytes_max;
                    if skip {
                        self.stats.oversize_frames += 1;
                    }
                    self.state = State::Body { remaining: length, skip };
                    Ok(1)
                }
                _ => self.fail("a digit or a space after the message length"),
            },
            State::Body { remaining, skip } => {
                let used = remaining.min(bytes.len());
                let done = used == remaining;
                if !skip {
                    if done && self.partial.is_empty() {
                        self.give(&bytes[..used], on_frame);
                    } else {
                        self.partial.extend_from_slice(&bytes[..used]);
                        if done {
                            // Taken out and put back, so its capacity serves the next frame.
                            let mut frame = std::mem::take(&mut self.partial);
                            self.give(&frame, on_frame);
                            frame.clear();
                            self.partial = frame;
                        }
                    }
                }
                self.state = if done {
                    State::Start
                } else {
                    State::Body { remaining: remaining - used, skip }
                };
                Ok(used)
            }
            State::Line { .. } => unreachable!("octet counting never reads lines"),
        }
    }

    /// Reads from `bytes` in non-transparent state; returns how many bytes were used.
    fn line(
        &mut self,
        bytes: &[u8],
        on_frame: &mut impl FnMut(&[u8]),
    ) -> Result<usize, FramingError> {
        let skip = match self.state {
            State::Failed(error) => return Err(error),
            State::Line { skip } => skip,
            _ => false,
        };
        let Some(newline) = memchr::memchr(b'\n', bytes) else {
            if !skip && self.partial.len() + bytes.len() > self.frame_bytes_max + 1 {
                // One byte over, for a `\r` that may come before the newline.
                self.partial.clear();
                self.state = State::Line { skip: true };
            } else {
                if !skip {
                    self.partial.extend_from_slice(bytes);
                }
                self.state = State::Line { skip };
            }
            return Ok(bytes.len());
        };
        let piece = &bytes[..newline];
        if skip {
            self.stats.oversize_frames += 1;
        } else if self.partial.is_empty() {
            self.emit_line(piece, on_frame);
        } else {
            let mut line = std::mem::take(&mut self.partial);
            line.extend_from_slice(piece);
            self.emit_line(&line, on_frame);
            line.clear();
            self.partial = line;
        }
        self.state = State::Start;
        Ok(newline + 1)
    }

    /// Gives out a line unless it is empty or over the limit.
    fn emit_line(&mut self, line: &[u8], on_frame: &mut impl FnMut(&[u8])) {
        let line = trim_cr(line);
        if line.len() > self.frame_bytes_max {
            self.stats.oversize_frames += 1;
        } else if !line.is_empty() {
            self.give(line, on_frame);
        }
    }

    fn fail<T>(&mut self, expected: &'static str) -> Result<T, FramingError> {
        let error = FramingError { offset: self.offset, expected };
        self.state = State::Failed(error);
        self.partial = Vec::new();
        Err(error)
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The message in one UDP datagram: the datagram less the newlines (and NULs) some senders
/// end it with.
pub fn datagram_message(datagram: &[u8]) -> &[u8] {
    let end =
        datagram.iter().rposition(|b| !matches!(b, b'\n' | b'\r' | b'\0')).map_or(0, |i| i + 1);
    &datagram[..end]
}
