//! A fast reader for decoders that take a few members of a line and skip the rest: it checks
//! the JSON as it goes, borrows strings without escapes, and skips unwanted values without
//! building anything or calling a visitor per token.
//!
//! It reads only what it can read with certainty and gives up ([`Bail`]) on anything else:
//! invalid JSON, `\u` escapes, large exponents, long numbers, deep nesting. The caller then decodes
//! the line with the full sonic-rs parser, which gives the exact value or error. So every line
//! this reader accepts is one the full parser accepts, read to the same values; lines it
//! refuses only cost a second reading.

use super::value::Scalar;
use std::borrow::Cow;

/// The fast reader stopped: the line goes to the full parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bail;

/// A result of the fast reader.
pub(crate) type Fast<T> = Result<T, Bail>;

/// Deepest nesting of arrays and objects followed (the line's own object is level 1); deeper
/// lines go to the full parser. Well under its [`super::value::NESTING_DEPTH_MAX`], so that
/// this reader never accepts a line the full parser refuses as too deep. Also bounds the
/// recursion of [`Scanner::skip_value`] and [`Scanner::scalar`].
const FAST_DEPTH_MAX: u32 = 16;

/// Longest number read, in bytes: longer ones might not fit a float, which the full parser
/// judges. Log numbers (epoch milliseconds, sizes, latencies) are far shorter.
const NUMBER_LEN_MAX: usize = 24;

/// Largest power of ten read. With at most [`NUMBER_LEN_MAX`] bytes, a number then lies well
/// inside the normal range of a float, neither infinite nor subnormal, so the full parser reads
/// it too. Kong writes some nanosecond times this way (`1.7267838395395e+18`).
const EXPONENT_MAX: u32 = 280;

/// Longest integer read here rather than by sonic-rs: every 19-digit integer fits a `u64`.
const PLAIN_INT_LEN_MAX: usize = 19;

/// Bytes of a string scanned a word at a time before handing the rest to memchr, whose calls
/// cost more than a few words.
const SHORT_STRING_LEN: usize = 64;

/// Reads one JSON text front to back.
pub(crate) struct Scanner<'a> {
    /// The text up to its trailing whitespace, free of control bytes.
    text: &'a str,
    pos: usize,
    /// Containers entered and not yet left.
    depth: u32,
    /// Whether the last token was an opening `{` or `[`: the next member or element needs no
    /// comma before it.
    fresh: bool,
}

impl<'a> Scanner<'a> {
    /// A reader of `text`, or [`Bail`] when the text holds a control byte anywhere but in its
    /// trailing whitespace: JSON allows them only as whitespace between tokens, which one-line
    /// logs do not use, so that strings are then scanned for quotes and backslashes alone.
    pub(crate) fn new(text: &'a str) -> Fast<Self> {
        let text = text.trim_end_matches([' ', '\t', '\n', '\r']);
        if has_control_byte(text.as_bytes()) {
            return Err(Bail);
        }
        Ok(Scanner { text, pos: 0, depth: 0, fresh: false })
    }

    /// The next byte after whitespace, not consumed.
    #[inline]
    pub(crate) fn peek(&mut self) -> Fast<u8> {
        match self.text.as_bytes().get(self.pos) {
            Some(&c) if c != b' ' => Ok(c),
            _ => self.peek_after_spaces(),
        }
    }

    #[cold]
    fn peek_after_spaces(&mut self) -> Fast<u8> {
        let b = self.text.as_bytes();
        while let Some(&c) = b.get(self.pos) {
            if c != b' ' {
                return Ok(c);
            }
            self.pos += 1;
        }
        Err(Bail)
    }

    /// Requires that the value read was the whole text.
    pub(crate) fn end(self) -> Fast<()> {
        // Trailing whitespace was cut off by `new`.
        if self.pos == self.text.len() && self.depth == 0 {
            Ok(())
        } else {
            Err(Bail)
        }
    }

    fn enter(&mut self) -> Fast<()> {
        if self.depth >= FAST_DEPTH_MAX {
            return Err(Bail);
        }
        self.depth += 1;
        self.pos += 1;
        self.fresh = true;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
        self.pos += 1;
        self.fresh = false;
    }

    /// Enters the object that starts here; its members come from [`Scanner::next_key`].
    pub(crate) fn begin_object(&mut self) -> Fast<()> {
        if self.peek()? != b'{' {
            return Err(Bail);
        }
        self.enter()
    }

    /// The key of the next member of the object entered last, positioned at its value (which
    /// the caller must read or skip), or `None` past the object's end. Keys with escapes are
    /// left to the full parser: log keys have none.
    #[inline]
    pub(crate) fn next_key(&mut self) -> Fast<Option<&'a str>> {
        match self.next_key_span()? {
            Some((start, stop)) => self.text.get(start..stop).map(Some).ok_or(Bail),
            None => Ok(None),
        }
    }

    /// [`Scanner::next_key`] as bytes, for keys only compared with known names: it spares the
    /// check that the key's ends are character boundaries (they are, next to its quotes).
    #[inline]
    pub(crate) fn next_key_bytes(&mut self) -> Fast<Option<&'a [u8]>> {
        let b: &'a [u8] = self.text.as_bytes();
        match self.next_key_span()? {
            Some((start, stop)) => b.get(start..stop).map(Some).ok_or(Bail),
            None => Ok(None),
        }
    }

    /// Where the next key lies in the text, from its first byte to its closing quote.
    #[inline]
    fn next_key_span(&mut self) -> Fast<Option<(usize, usize)>> {
        // Log lines are compact (`,"key":value`): such a key is read without a peek per token,
        // anything else (spaces, the object's end, an escape) by the general path.
        let b = self.text.as_bytes();
        let quote = self.pos + usize::from(!self.fresh);
        if b.get(quote) == Some(&b'"') && (self.fresh || b[self.pos] == b',') {
            let start = quote + 1;
            let stop = self.string_stop(start)?;
            if b[stop] == b'"' && b.get(stop + 1) == Some(&b':') {
                self.pos = stop + 2;
                self.fresh = false;
                return Ok(Some((start, stop)));
            }
        }
        self.next_key_spaced()
    }

    /// [`Scanner::next_key`] for any spacing, and at the object's end.
    #[inline(never)]
    fn next_key_spaced(&mut self) -> Fast<Option<(usize, usize)>> {
        let mut c = self.peek()?;
        if c == b'}' {
            self.leave();
            return Ok(None);
        }
        if !self.fresh {
            if c != b',' {
                return Err(Bail);
            }
            self.pos += 1;
            c = self.peek()?;
        }
        self.fresh = false;
        if c != b'"' {
            return Err(Bail);
        }
        let start = self.pos + 1;
        let stop = self.string_stop(start)?;
        if self.text.as_bytes()[stop] != b'"' {
            return Err(Bail);
        }
        self.pos = stop + 1;
        if self.peek()? != b':' {
            return Err(Bail);
        }
        self.pos += 1;
        Ok(Some((start, stop)))
    }

    /// Enters the array that starts here; its elements come from [`Scanner::next_element`].
    fn begin_array(&mut self) -> Fast<()> {
        if self.peek()? != b'[' {
            return Err(Bail);
        }
        self.enter()
    }

    /// Whether the array entered last has another element, positioned at it (which the
    /// caller must read or skip); `false` past the array's end.
    fn next_element(&mut self) -> Fast<bool> {
        let c = self.peek()?;
        if c == b']' {
            self.leave();
            return Ok(false);
        }
        if !self.fresh {
            if c != b',' {
                return Err(Bail);
            }
            self.pos += 1;
        }
        self.fresh = false;
        Ok(true)
    }

    /// Reads `null` if it is next.
    pub(crate) fn null(&mut self) -> Fast<bool> {
        if self.peek()? != b'n' {
            return Ok(false);
        }
        self.literal(b"null")?;
        Ok(true)
    }

    fn literal(&mut self, word: &[u8]) -> Fast<()> {
        let b = self.text.as_bytes();
        if b.get(self.pos..self.pos + word.len()) != Some(word) {
            return Err(Bail);
        }
        self.pos += word.len();
        Ok(())
    }

    /// The end of the run of plain string bytes from `from`: a quote or a backslash (control
    /// bytes were refused by `new`).
    #[inline]
    fn string_stop(&self, from: usize) -> Fast<usize> {
        // Most strings of a log line (keys, ids, names) end within a few words: those are
        // scanned here a word at a time, long ones (tokens, user agents) by memchr's vectors.
        // The words lie in a span known to be inside the text, so that none needs a bounds
        // check of its own; strings that start in the text's last bytes go the careful way.
        let Some(span) =
            self.text.as_bytes().get(from..).and_then(<[u8]>::first_chunk::<SHORT_STRING_LEN>)
        else {
            return self.string_stop_near_end(from);
        };
        for k in 0..SHORT_STRING_LEN / 8 {
            let Some(word) = span[8 * k..].first_chunk::<8>() else {
                break;
            };
            let hit = quote_or_backslash(u64::from_le_bytes(*word));
            if hit != 0 {
                return Ok(from + 8 * k + (hit.trailing_zeros() / 8) as usize);
            }
        }
        self.long_string_stop(from + SHORT_STRING_LEN)
    }

    /// [`Scanner::string_stop`] past the words it tests itself; out of line, so that the short
    /// strings' path keeps its registers.
    #[inline(never)]
    fn long_string_stop(&self, from: usize) -> Fast<usize> {
        let rest = self.text.as_bytes().get(from..).ok_or(Bail)?;
        memchr::memchr2(b'"', b'\\', rest).map(|n| from + n).ok_or(Bail)
    }

    /// [`Scanner::string_stop`] from a place less than [`SHORT_STRING_LEN`] bytes before the
    /// text's end.
    #[inline(never)]
    fn string_stop_near_end(&self, from: usize) -> Fast<usize> {
        let rest = self.text.as_bytes().get(from..).ok_or(Bail)?;
        let mut words = rest.chunks_exact(8);
        let mut at = from;
        for word in words.by_ref() {
            let Some(word) = word.first_chunk::<8>() else {
                break;
            };
            let hit = quote_or_backslash(u64::from_le_bytes(*word));
            if hit != 0 {
                return Ok(at + (hit.trailing_zeros() / 8) as usize);
            }
            at += 8;
        }
        let tail = words.remainder();
        tail.iter().position(|&c| c == b'"' || c == b'\\').map(|n| at + n).ok_or(Bail)
    }

    /// The string that starts here (at its quote), borrowed when it has no escapes.
    #[inline]
    pub(crate) fn string(&mut self) -> Fast<Cow<'a, str>> {
        let start = self.pos + 1;
        let stop = self.string_stop(start)?;
        if self.text.as_bytes()[stop] == b'"' {
            self.pos = stop + 1;
            return self.text.get(start..stop).map(Cow::Borrowed).ok_or(Bail);
        }
        self.unescape(start, stop).map(Cow::Owned)
    }

    /// The rest of a string with escapes, from `start`; `stop` is its first backslash.
    #[cold]
    fn unescape(&mut self, start: usize, mut stop: usize) -> Fast<String> {
        let b = self.text.as_bytes();
        let mut out = String::with_capacity(stop - start + 16);
        let mut from = start;
        loop {
            out.push_str(self.text.get(from..stop).ok_or(Bail)?);
            if b[stop] == b'"' {
                self.pos = stop + 1;
                return Ok(out);
            }
            out.push(escaped(b.get(stop + 1))?);
            from = stop + 2;
            stop = self.string_stop(from)?;
        }
    }

    #[inline]
    fn skip_string(&mut self) -> Fast<()> {
        let b = self.text.as_bytes();
        let stop = self.string_stop(self.pos + 1)?;
        if b[stop] == b'"' {
            self.pos = stop + 1;
            return Ok(());
        }
        self.skip_escaped_string(stop)
    }

    /// The rest of [`Scanner::skip_string`] from the string's first backslash at `stop`.
    #[cold]
    fn skip_escaped_string(&mut self, mut stop: usize) -> Fast<()> {
        let b = self.text.as_bytes();
        while b[stop] == b'\\' {
            escaped(b.get(stop + 1))?;
            stop = self.string_stop(stop + 2)?;
        }
        self.pos = stop + 1;
        Ok(())
    }

    /// The number that starts here, as written.
    fn number(&mut self) -> Fast<&'a str> {
        let b = self.text.as_bytes();
        // A word at a time: log numbers (times, sizes) run to 13 digits.
        let digits = |i: usize| digits_end(b, i);
        let start = self.pos;
        let mut i = start + usize::from(b.get(start) == Some(&b'-'));
        i = match b.get(i) {
            Some(b'0') => i + 1,
            Some(b'1'..=b'9') => digits(i + 1),
            _ => return Err(Bail),
        };
        if b.get(i) == Some(&b'.') {
            let fraction = i + 1;
            i = digits(fraction);
            if i == fraction {
                return Err(Bail);
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1 + usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
            let exponent = i;
            i = digits(exponent);
            let power = self.text.get(exponent..i).ok_or(Bail)?;
            if power.is_empty()
                || power.len() > 3
                || power.parse::<u32>().map_err(|_| Bail)? > EXPONENT_MAX
            {
                return Err(Bail);
            }
        }
        if i - start > NUMBER_LEN_MAX {
            return Err(Bail);
        }
        self.pos = i;
        self.text.get(start..i).ok_or(Bail)
    }

    /// Skips a value that is not a container.
    #[inline]
    fn skip_atom(&mut self, c: u8) -> Fast<()> {
        match c {
            b'"' => self.skip_string(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'1'..=b'9' => self.skip_plain_uint(),
            b'-' | b'0' => self.number().map(drop),
            _ => Err(Bail),
        }
    }

    /// Skips the number that starts here (at a digit other than `0`), accepting exactly what
    /// [`Scanner::number`] accepts: plain integers, nearly all numbers of a log line, end at
    /// their first non-digit without the checks of fractions and exponents.
    #[inline]
    fn skip_plain_uint(&mut self) -> Fast<()> {
        let b = self.text.as_bytes();
        let start = self.pos;
        let i = digits_end(b, start + 1);
        if matches!(b.get(i), Some(b'.' | b'e' | b'E')) || i - start > NUMBER_LEN_MAX {
            return self.number().map(drop);
        }
        self.pos = i;
        Ok(())
    }

    /// Skips the key and colon of a member, positioned at its first byte.
    #[inline]
    fn skip_key(&mut self) -> Fast<()> {
        // Compact (`"key":`) keys without escapes, as log lines write them, in one scan.
        let b = self.text.as_bytes();
        if b.get(self.pos) == Some(&b'"') {
            let stop = self.string_stop(self.pos + 1)?;
            if b[stop] == b'"' && b.get(stop + 1) == Some(&b':') {
                self.pos = stop + 2;
                return Ok(());
            }
        }
        self.skip_spaced_key()
    }

    /// [`Scanner::skip_key`] for any spacing and escapes.
    #[inline(never)]
    fn skip_spaced_key(&mut self) -> Fast<()> {
        if self.peek()? != b'"' {
            return Err(Bail);
        }
        self.skip_string()?;
        if self.peek()? != b':' {
            return Err(Bail);
        }
        self.pos += 1;
        Ok(())
    }

    /// Skips the value that starts here, checking it as the full parser would. One loop over
    /// the tokens, with the open containers as bits of a word (set for an object), instead of
    /// a call per value.
    pub(crate) fn skip_value(&mut self) -> Fast<()> {
        // Most skipped values are strings (ids, upstream URIs): those without the loop.
        if self.text.as_bytes().get(self.pos) == Some(&b'"') {
            self.skip_string()?;
            self.fresh = false;
            return Ok(());
        }
        let base = self.depth;
        let mut objects: u32 = 0;
        loop {
            // At a value.
            let c = self.peek()?;
            match c {
                b'{' | b'[' => {
                    let object = c == b'{';
                    self.enter()?;
                    let level = self.depth - base - 1;
                    let close = if object { b'}' } else { b']' };
                    if self.peek()? == close {
                        self.leave();
                    } else {
                        if object {
                            objects |= 1 << level;
                            self.skip_key()?;
                        } else {
                            objects &= !(1 << level);
                        }
                        continue;
                    }
                }
                _ => self.skip_atom(c)?,
            }
            // After a value: close what ends here, then find the next value.
            loop {
                if self.depth == base {
                    self.fresh = false;
                    return Ok(());
                }
                let level = self.depth - base - 1;
                let object = objects & (1 << level) != 0;
                // Compact text has the comma or bracket right after the value.
                let c = match self.text.as_bytes().get(self.pos) {
                    Some(&c) if c != b' ' => c,
                    _ => self.peek()?,
                };
                match c {
                    b',' => {
                        self.pos += 1;
                        if object {
                            self.skip_key()?;
                        }
                        break;
                    }
                    b'}' if object => self.leave(),
                    b']' if !object => self.leave(),
                    _ => return Err(Bail),
                }
            }
        }
    }

    /// Reads the value that starts here as the full parser reads a [`Scalar`]: an object is
    /// skipped and noted, a list is read element by element.
    #[inline]
    pub(crate) fn scalar(&mut self) -> Fast<Scalar<'a>> {
        // Most values read are strings: those without a call.
        if self.text.as_bytes().get(self.pos) == Some(&b'"') {
            return self.string().map(Scalar::Str);
        }
        self.any_scalar()
    }

    /// [`Scanner::scalar`] for any value.
    fn any_scalar(&mut self) -> Fast<Scalar<'a>> {
        Ok(match self.peek()? {
            b'"' => Scalar::Str(self.string()?),
            b'{' => {
                self.skip_value()?;
                Scalar::Object
            }
            b'[' => {
                self.begin_array()?;
                let mut items = Vec::new();
                while self.next_element()? {
                    items.push(self.scalar()?);
                }
                Scalar::List(items)
            }
            b't' => {
                self.literal(b"true")?;
                Scalar::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                Scalar::Bool(false)
            }
            b'n' => {
                self.literal(b"null")?;
                Scalar::Null
            }
            b'1'..=b'9' => match self.plain_uint() {
                Some(n) => Scalar::UInt(n),
                None => number_scalar(self.number()?)?,
            },
            b'-' | b'0' => number_scalar(self.number()?)?,
            _ => return Err(Bail),
        })
    }

    /// The plain integer that starts here (at a digit other than `0`), read as
    /// [`number_scalar`] reads it; `None`, with nothing consumed, for a longer number or one
    /// with a fraction or an exponent, which [`Scanner::number`] reads. Its end is found a word
    /// at a time and its digits read eight at a time: log times run to 13 digits.
    #[inline]
    fn plain_uint(&mut self) -> Option<u64> {
        let b = self.text.as_bytes();
        let start = self.pos;
        let stop = digits_end(b, start);
        // At most PLAIN_INT_LEN_MAX digits: every such integer fits a u64.
        if stop - start > PLAIN_INT_LEN_MAX || matches!(b.get(stop), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let mut digits = b.get(start..stop)?;
        let mut n: u64 = 0;
        while let Some((eight, rest)) = digits.split_first_chunk::<8>() {
            n = n * 100_000_000 + eight_digits(*eight);
            digits = rest;
        }
        for &c in digits {
            n = n * 10 + u64::from(c - b'0');
        }
        self.pos = stop;
        Some(n)
    }
}

/// The end of the run of ASCII digits in `b` from `from`, found a word at a time.
#[inline]
fn digits_end(b: &[u8], mut i: usize) -> usize {
    while let Some(word) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let n = leading_digits(u64::from_le_bytes(*word));
        i += n;
        if n < 8 {
            return i;
        }
    }
    while matches!(b.get(i), Some(b'0'..=b'9')) {
        i += 1;
    }
    i
}

/// The value of eight ASCII digits, the first the most significant: pairs, then quads, then
/// the whole, each step a few multiplications on one word.
#[inline]
fn eight_digits(digits: [u8; 8]) -> u64 {
    const MASK: u64 = 0x0000_00ff_0000_00ff;
    let mut v = u64::from_le_bytes(digits).wrapping_sub(u64::from_ne_bytes([b'0'; 8]));
    // Each byte pair (low byte the first digit) becomes its two-digit value in the low byte.
    v = v.wrapping_mul(10).wrapping_add(v >> 8);
    // The four pair values become one eight-digit value in the upper half.
    let high = (v & MASK).wrapping_mul(100 + (1_000_000 << 32));
    let low = ((v >> 16) & MASK).wrapping_mul(1 + (10_000 << 32));
    high.wrapping_add(low) >> 32
}

/// The high bit set in each byte of `w` (read little-endian) that may be a quote or a
/// backslash: exact for the lowest such byte, the only one used.
#[inline]
fn quote_or_backslash(w: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let quote = w ^ (ONES * u64::from(b'"'));
    let slash = w ^ (ONES * u64::from(b'\\'));
    ((quote.wrapping_sub(ONES) & !quote) | (slash.wrapping_sub(ONES) & !slash)) & HIGH
}

/// How many of the bytes of `w` (read little-endian) are ASCII digits before the first that
/// is not; 8 when all are.
#[inline]
fn leading_digits(w: u64) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // A digit less '0' is 0..=9, and stays below 0x80 with 0x76 added; any other byte has its
    // high bit set in one or the other. Borrows and carries only travel upwards from a byte
    // that is not a digit, so the lowest such byte is found exactly.
    let x = w.wrapping_sub(ONES * u64::from(b'0'));
    let not_digit = (x | x.wrapping_add(ONES * 0x76)) & HIGH;
    (not_digit.trailing_zeros() / 8) as usize
}

/// Whether any byte is below 0x20. The least byte of each block, branch-free so that it
/// vectorizes.
fn has_control_byte(b: &[u8]) -> bool {
    const BLOCK: usize = 256;
    b.chunks(BLOCK).any(|block| block.iter().fold(u8::MAX, |least, &c| least.min(c)) < 0x20)
}

/// A number as the full parser reads it into a [`Scalar`]. Plain integers, nearly all numbers
/// of a log line, are read here; the others (signs, fractions) by sonic-rs itself, so that
/// their type and rounding are its own.
fn number_scalar(raw: &str) -> Fast<Scalar<'_>> {
    if raw.len() <= PLAIN_INT_LEN_MAX && raw.bytes().all(|c| c.is_ascii_digit()) {
        return raw.parse().map(Scalar::UInt).map_err(|_| Bail);
    }
    sonic_rs::from_str(raw).map_err(|_| Bail)
}

/// The character a two-byte escape stands for; `\u` escapes are left to the full parser.
fn escaped(c: Option<&u8>) -> Fast<char> {
    Ok(match c {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        _ => return Err(Bail),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scalar(text: &str) -> Fast<Scalar<'_>> {
        let mut sc = Scanner::new(text)?;
        let v = sc.scalar()?;
        sc.end()?;
        Ok(v)
    }

    /// What the full parser reads, or `None` when it refuses the text or finds it too deep.
    fn full(text: &str) -> Option<Scalar<'_>> {
        sonic_rs::from_str(text).ok()
    }

    #[test]
    fn plain_strings_are_borrowed() {
        assert!(matches!(scalar(r#""abc""#), Ok(Scalar::Str(Cow::Borrowed("abc")))));
        let long = format!("\"{}\"", "x".repeat(100));
        assert!(matches!(scalar(&long), Ok(Scalar::Str(Cow::Borrowed(_)))));
        assert_eq!(scalar(r#""a\/b\"c\\\n""#), Ok(Scalar::Str("a/b\"c\\\n".into())));
    }

    #[test]
    fn plain_integers_are_read_as_the_full_parser_reads_them() {
        for text in [
            "1",
            "7,",
            "9]",
            "1795392000000",
            "999999999999999999",
            "9999999999999999999",
            "1000000000000000000",
            "10000000000000000000",
            "18446744073709551615",
            "18446744073709551616",
            "12.5",
            "12e3",
            "12E-3",
            "1.0",
            "0",
            "0.5",
            "-12",
        ] {
            let mut sc = Scanner::new(text).unwrap();
            let read = sc.scalar().ok();
            let rest = read.as_ref().map(|_| &text[sc.pos..]);
            let number = text.trim_end_matches([',', ']']);
            assert_eq!(read, full(number), "{text}");
            if let Some(rest) = rest {
                assert_eq!(rest, &text[number.len()..], "{text}");
            }
        }
    }

    #[test]
    fn what_it_cannot_read_with_certainty_goes_to_the_full_parser() {
        for text in [
            r#""\u0041""#,
            "1e300",
            "1e",
            "1e+",
            "1e0001",
            "12345678901234567890123456789",
            "\"a\tb\"",
            "\"abc",
            "01",
            "1.",
            "-",
            "[1,]",
            "[,1]",
            "[1 2]",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{"a":}"#,
            "tru",
            "nul",
            "1 2",
            "",
            "+1",
        ] {
            assert_eq!(scalar(text), Err(Bail), "{text}");
        }
        let deep = format!("{}1{}", "[".repeat(17), "]".repeat(17));
        assert_eq!(scalar(&deep), Err(Bail));
        let fits = format!("{}1{}", "[".repeat(16), "]".repeat(16));
        assert!(scalar(&fits).is_ok());
    }

    #[test]
    fn control_bytes_are_found_anywhere_but_in_trailing_whitespace() {
        for len in 0..140 {
            for control in [0x00, b'\t', b'\n', 0x1f] {
                let mut text = vec![b'a'; len];
                text.push(control);
                text.extend_from_slice(b"zz");
                assert!(has_control_byte(&text), "{len}");
            }
            // Bytes at and above 0x20, non-ASCII ones included, are plain.
            let text: Vec<u8> =
                (0..len).map(|i| [0x20, 0x7f, 0x80, 0xff, b'#', b']'][i % 6]).collect();
            assert!(!has_control_byte(&text));
        }
        assert!(Scanner::new("{\"a\":1}\r\n \t").is_ok());
        assert!(Scanner::new("{\"a\":1,\n\"b\":2}").is_err());
    }

    #[test]
    fn skipping_checks_what_it_skips() {
        let skips =
            |t: &str| Scanner::new(t).and_then(|mut sc| sc.skip_value().and_then(|()| sc.end()));
        for good in [
            r#"{"a":[1,{"b":[]},{}],"c\"":"d\\","e":null}"#,
            "[]",
            "{}",
            "[[[]],[{}]]",
            r#"  "x" "#,
        ] {
            assert_eq!(skips(good), Ok(()), "{good}");
        }
        for bad in [
            r#"{"a":1,}"#,
            r#"{"a":1 "b":2}"#,
            "[1,]",
            "[1}",
            r#"{"a"}"#,
            r#"{1:2}"#,
            "[",
            "{",
            "]",
            r#""\x""#,
        ] {
            assert_eq!(skips(bad), Err(Bail), "{bad}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// Eight digits read in one word are the integer `str::parse` reads.
        #[test]
        fn eight_digits_reads_as_parse(digits in "[0-9]{8}") {
            let bytes: [u8; 8] = digits.as_bytes().try_into().unwrap();
            prop_assert_eq!(eight_digits(bytes), digits.parse::<u64>().unwrap());
        }

        /// A plain integer of any length, followed by any byte, reads as the full parser reads
        /// it, or goes to the general path with nothing consumed.
        #[test]
        fn plain_integers_of_any_length_read_as_the_full_parser(
            digits in "[1-9][0-9]{0,24}",
            after in prop::sample::select(vec!["", ",", "]", "}", ".5", "e3", "E-1", " ", "x"]),
        ) {
            let text = format!("{digits}{after}");
            let mut sc = Scanner::new(&text).unwrap();
            match sc.plain_uint() {
                Some(n) => {
                    prop_assert_eq!(Some(Scalar::UInt(n)), full(&digits), "{}", text);
                    prop_assert_eq!(text[sc.pos..].trim_end(), after.trim_end(), "{}", text);
                }
                None => prop_assert_eq!(sc.pos, 0, "{}", text),
            }
            // Skipping accepts what reading as a number accepts, and stops at the same place.
            let mut skipper = Scanner::new(&text).unwrap();
            let mut reader = Scanner::new(&text).unwrap();
            let skipped = skipper.skip_plain_uint().map(|()| skipper.pos);
            let read = reader.number().map(|_| reader.pos);
            prop_assert_eq!(skipped, read, "{}", text);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// The digits counted a word at a time are those counted a byte at a time, whatever
        /// the bytes (digits, their neighbours `/` and `:`, non-ASCII ones).
        #[test]
        fn leading_digits_counts_as_a_byte_loop(
            bytes in prop::array::uniform8(prop_oneof![
                b'0'..=b'9',
                Just(b'/'),
                Just(b':'),
                any::<u8>(),
            ]),
        ) {
            let expected = bytes.iter().take_while(|c| c.is_ascii_digit()).count();
            prop_assert_eq!(leading_digits(u64::from_le_bytes(bytes)), expected, "{:?}", bytes);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// The end of a run of plain string bytes found a word at a time is the one a byte loop
        /// finds, wherever the quote or backslash falls (or none, past the short scan).
        #[test]
        fn string_stop_finds_the_first_quote_or_backslash(
            // Quotes rare enough that many runs pass the words tested one by one.
            bytes in prop::collection::vec(prop_oneof![
                1 => Just(b'"'),
                1 => Just(b'\\'),
                4 => prop::sample::select(vec![b'!', b'#', b'[', b']', b'a', 0xa2, 0xdc, 0x22 | 0x80]),
                40 => 0x20u8..0x7f,
            ], 0..200),
            from in 0usize..80,
        ) {
            // Valid UTF-8 and free of control bytes, as `Scanner::new` requires.
            let text: String = bytes.iter().map(|&c| if c < 0x80 { c as char } else { 'é' }).collect();
            let sc = Scanner { text: &text, pos: 0, depth: 0, fresh: false };
            let from = from.min(text.len());
            let expected = text.as_bytes()[from..].iter().position(|&c| c == b'"' || c == b'\\');
            prop_assert_eq!(sc.string_stop(from).ok(), expected.map(|n| from + n), "{}", text);
        }
    }

    fn json_text() -> impl Strategy<Value = String> {
        let atom = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            (-1e12f64..1e12).prop_map(|f| f.to_string()),
            "[0-9.eE+-]{1,8}",
            r#""([ -~]|\\[nt"/\\u]|é){0,30}""#,
        ];
        atom.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec(("[a-c\\\\\"]{0,3}", inner), 0..5).prop_map(|m| {
                    let members: Vec<String> =
                        m.into_iter().map(|(k, v)| format!("\"{k}\" : {v}")).collect();
                    format!("{{ {} }}", members.join(" , "))
                }),
            ]
        })
    }

    /// Short runs of JSON tokens in any order: mostly invalid, in every way a token can be out
    /// of place (a comma before a closing bracket, a key without its colon, …).
    fn token_soup() -> impl Strategy<Value = String> {
        let token = prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            r#""k""#,
            r#""a\"b""#,
            "1",
            "-2.5",
            "null",
            "true",
            " ",
        ]);
        prop::collection::vec(token, 1..12).prop_map(|tokens| tokens.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// Whatever the fast reader skips or reads from any run of tokens, the full parser
        /// accepts, and reads to the same value.
        #[test]
        fn it_accepts_no_more_than_the_full_parser(text in token_soup()) {
            if let Ok(v) = scalar(&text) {
                prop_assert_eq!(Some(v), full(&text), "{}", text);
            }
            let skipped =
                Scanner::new(&text).and_then(|mut sc| sc.skip_value().and_then(|()| sc.end()));
            if skipped.is_ok() {
                prop_assert!(full(&text).is_some(), "{}", text);
            }
        }
    }

    proptest! {
        /// Whatever the fast reader reads, the full parser reads the same; whatever it skips,
        /// the full parser accepts.
        #[test]
        fn it_agrees_with_the_full_parser(text in json_text(), cut in 0usize..200, byte in any::<u8>()) {
            let mut edited = text.clone().into_bytes();
            let at = cut.min(edited.len());
            if cut % 3 == 0 {
                edited.insert(at, byte);
            } else if at < edited.len() {
                edited.remove(at);
            }
            for t in [text.as_str(), std::str::from_utf8(&edited).unwrap_or("\"")] {
                if let Ok(v) = scalar(t) {
                    prop_assert_eq!(Some(v), full(t), "{}", t);
                }
                let skipped = Scanner::new(t).and_then(|mut sc| sc.skip_value().and_then(|()| sc.end()));
                if skipped.is_ok() {
                    prop_assert!(full(t).is_some(), "{}", t);
                }
            }
        }
    }
}
