//! A small JSON reader over a body prefix: skips values without building them, reads member
//! keys and scalar values, and counts array elements. It is lenient where leniency costs
//! nothing (bracket kinds are not paired when skipping), never recursive when skipping (so
//! nesting depth cannot overflow the stack) and tells a body that ended early from one that is
//! not JSON, because a truncated prefix is the normal case here.

use memchr::memchr2;
use std::borrow::Cow;

/// Why a read stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stop {
    /// The bytes ended inside a value (a truncated prefix).
    End,
    /// The bytes are not JSON.
    Malformed,
}

/// A read that may stop early.
pub(super) type Scan<T> = Result<T, Stop>;

/// The index of the first byte at or after `i` that is not JSON whitespace.
pub(super) fn skip_ws(buf: &[u8], mut i: usize) -> usize {
    while i < buf.len() && matches!(buf[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The first non-whitespace byte of the body, if any.
pub(super) fn first_byte(buf: &[u8]) -> Option<u8> {
    buf.get(skip_ws(buf, 0)).copied()
}

/// Skips the value at `i` (whitespace first); returns the index just after it.
pub(super) fn skip_value(buf: &[u8], i: usize) -> Scan<usize> {
    let i = skip_ws(buf, i);
    match buf.get(i) {
        None => Err(Stop::End),
        Some(b'"') => skip_string(buf, i),
        Some(b'{' | b'[') => skip_container(buf, i),
        Some(_) => scalar_end(buf, i),
    }
}

/// Skips the string whose opening quote is at `i`.
fn skip_string(buf: &[u8], i: usize) -> Scan<usize> {
    let mut j = i + 1;
    loop {
        if j >= buf.len() {
            return Err(Stop::End);
        }
        match memchr2(b'"', b'\\', &buf[j..]) {
            None => return Err(Stop::End),
            Some(k) if buf[j + k] == b'"' => return Ok(j + k + 1),
            // An escape: the next byte is taken whatever it is.
            Some(k) => j += k + 2,
        }
    }
}

/// Skips the object or array opening at `i`, counting depth in a loop rather than recursing.
fn skip_container(buf: &[u8], i: usize) -> Scan<usize> {
    let mut depth = 0usize;
    let mut j = i;
    while j < buf.len() {
        match buf[j] {
            b'"' => {
                j = skip_string(buf, j)?;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(j + 1);
                }
            }
            _ => {}
        }
        j += 1;
    }
    Err(Stop::End)
}

/// The end of the number or literal at `i`. A scalar running to the end of the bytes may have
/// been cut, so that is [`Stop::End`].
fn scalar_end(buf: &[u8], i: usize) -> Scan<usize> {
    if !matches!(buf[i], b'-' | b'0'..=b'9' | b't' | b'f' | b'n') {
        return Err(Stop::Malformed);
    }
    let mut j = i + 1;
    while j < buf.len() {
        match buf[j] {
            b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'.' | b'+' | b'-' => j += 1,
            b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r' => return Ok(j),
            _ => return Err(Stop::Malformed),
        }
    }
    Err(Stop::End)
}

/// A scalar value read from the body.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Scalar<'a> {
    /// A string, unescaped.
    Str(Cow<'a, str>),
    /// A number, literal, or `null`, as written.
    Bare(&'a str),
}

/// Reads the value at `i` if it is a scalar; `Ok(None)` (value skipped) for objects and arrays.
/// Returns the index after the value too.
pub(super) fn read_scalar(buf: &[u8], i: usize) -> Scan<(Option<Scalar<'_>>, usize)> {
    let i = skip_ws(buf, i);
    match buf.get(i) {
        None => Err(Stop::End),
        Some(b'"') => {
            let (s, end) = read_string(buf, i)?;
            Ok((Some(Scalar::Str(s)), end))
        }
        Some(b'{' | b'[') => Ok((None, skip_container(buf, i)?)),
        Some(_) => {
            let end = scalar_end(buf, i)?;
            let text = std::str::from_utf8(&buf[i..end]).map_err(|_| Stop::Malformed)?;
            Ok((Some(Scalar::Bare(text)), end))
        }
    }
}

/// Reads the string whose opening quote is at `i`: borrowed when it has no escapes.
pub(super) fn read_string(buf: &[u8], i: usize) -> Scan<(Cow<'_, str>, usize)> {
    let end = skip_string(buf, i)?;
    let raw = &buf[i + 1..end - 1];
    let text = std::str::from_utf8(raw).map_err(|_| Stop::Malformed)?;
    if !raw.contains(&b'\\') {
        return Ok((Cow::Borrowed(text), end));
    }
    Ok((Cow::Owned(unescape(text).ok_or(Stop::Malformed)?), end))
}

fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let c = match chars.next()? {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let hi = hex4(&mut chars)?;
                if (0xD800..0xDC00).contains(&hi) {
                    // A surrogate pair: `\uD83D\uDE00`.
                    if chars.next()? != '\\' || chars.next()? != 'u' {
                        return None;
                    }
                    let lo = hex4(&mut chars)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                } else {
                    char::from_u32(hi)?
                }
            }
            _ => return None,
        };
        out.push(c);
    }
    Some(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let mut v = 0;
    for _ in 0..4 {
        v = v * 16 + chars.next()?.to_digit(16)?;
    }
    Some(v)
}

/// Reads the members of one object in order.
pub(super) struct Members<'a> {
    buf: &'a [u8],
    pos: usize,
    started: bool,
    /// The last key's value has not been consumed by the caller: skip it first.
    pending: bool,
}

impl<'a> Members<'a> {
    /// The object at `i`, or `Ok(None)` when the value there is not an object.
    pub(super) fn open(buf: &'a [u8], i: usize) -> Scan<Option<Members<'a>>> {
        let i = skip_ws(buf, i);
        match buf.get(i) {
            None => Err(Stop::End),
            Some(b'{') => Ok(Some(Members { buf, pos: i + 1, started: false, pending: false })),
            Some(_) => Ok(None),
        }
    }

    /// The next member's key and the index of its value; `None` after the closing brace. The
    /// caller may read the value and report its end with [`Members::consumed`]; otherwise it is
    /// skipped.
    pub(super) fn next_key(&mut self) -> Scan<Option<(Cow<'a, str>, usize)>> {
        let buf = self.buf;
        if self.pending {
            self.pos = skip_value(buf, self.pos)?;
            self.pending = false;
        }
        let mut j = skip_ws(buf, self.pos);
        match buf.get(j) {
            None => return Err(Stop::End),
            Some(b'}') => {
                self.pos = j + 1;
                return Ok(None);
            }
            Some(b',') if self.started => j = skip_ws(buf, j + 1),
            Some(b'"') if !self.started => {}
            Some(_) => return Err(Stop::Malformed),
        }
        if j >= buf.len() {
            return Err(Stop::End);
        }
        if buf[j] != b'"' {
            return Err(Stop::Malformed);
        }
        let (key, after) = read_string(buf, j)?;
        let colon = skip_ws(buf, after);
        match buf.get(colon) {
            None => return Err(Stop::End),
            Some(b':') => {}
            Some(_) => return Err(Stop::Malformed),
        }
        let value = skip_ws(buf, colon + 1);
        if value >= buf.len() {
            return Err(Stop::End);
        }
        self.started = true;
        self.pending = true;
        self.pos = value;
        Ok(Some((key, value)))
    }

    /// The index after the closing brace, once [`Members::next_key`] has returned `None`.
    pub(super) fn end(&self) -> usize {
        self.pos
    }

    /// Tells the reader the current value was read up to `end`.
    pub(super) fn consumed(&mut self, end: usize) {
        debug_assert!(end > self.pos, "a value is at least one byte");
        self.pos = end;
        self.pending = false;
    }
}

/// Elements of an array counted from a prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ElementCount {
    /// Complete elements seen.
    pub(super) count: u64,
    /// The closing bracket was seen.
    pub(super) closed: bool,
    /// Index after the array (meaningful when `closed`).
    pub(super) end: usize,
}

/// Counts the elements of the array at `i` (`Ok(None)` if the value there is not an array). An
/// element is complete when a comma or the closing bracket follows it, or when it is a string
/// or container whose closing byte is the last byte of the prefix.
pub(super) fn count_elements(buf: &[u8], i: usize) -> Scan<Option<ElementCount>> {
    let i = skip_ws(buf, i);
    match buf.get(i) {
        None => return Err(Stop::End),
        Some(b'[') => {}
        Some(_) => return Ok(None),
    }
    let cut = |count| Ok(Some(ElementCount { count, closed: false, end: buf.len() }));
    let mut count = 0u64;
    let mut j = skip_ws(buf, i + 1);
    match buf.get(j) {
        None => return cut(0),
        Some(b']') => return Ok(Some(ElementCount { count: 0, closed: true, end: j + 1 })),
        Some(_) => {}
    }
    loop {
        let end = match skip_value(buf, j) {
            Ok(end) => end,
            Err(Stop::End) => return cut(count),
            Err(Stop::Malformed) => return Err(Stop::Malformed),
        };
        let k = skip_ws(buf, end);
        match buf.get(k) {
            Some(b',') => {
                count += 1;
                j = k + 1;
            }
            Some(b']') => {
                return Ok(Some(ElementCount { count: count + 1, closed: true, end: k + 1 }));
            }
            None => {
                // Strings and containers end with their own closing byte; scalars never get
                // here (they need a delimiter to end).
                return cut(count + 1);
            }
            Some(_) => return Err(Stop::Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_nested_values_and_strings_with_brackets() {
        let buf = br#"{"a": [1, {"b": "]}\"["}], "c": null} tail"#;
        assert_eq!(skip_value(buf, 0), Ok(buf.len() - 5));
        assert_eq!(skip_value(b"  \"abc", 0), Err(Stop::End));
        assert_eq!(skip_value(b"123", 0), Err(Stop::End));
        assert_eq!(skip_value(b"123,", 0), Ok(3));
        assert_eq!(skip_value(b"@", 0), Err(Stop::Malformed));
    }

    #[test]
    fn counts_elements_of_whole_and_cut_arrays() {
        let full = br#"[{"a":1}, "x", 3, [4]]"#;
        let got = count_elements(full, 0).unwrap().unwrap();
        assert_eq!((got.count, got.closed, got.end), (4, true, full.len()));
        for (prefix, count) in [(9, 1), (8, 1), (7, 0), (14, 2), (16, 2), (17, 3)] {
            let got = count_elements(&full[..prefix], 0).unwrap().unwrap();
            assert_eq!((got.count, got.closed), (count, false), "prefix {prefix}");
        }
        assert_eq!(count_elements(b"[]", 0).unwrap().unwrap().count, 0);
        assert_eq!(count_elements(b"[1,]", 0), Err(Stop::Malformed));
        assert_eq!(count_elements(b"{}", 0), Ok(None));
    }

    #[test]
    fn reads_members_and_unescapes() {
        let buf = br#"{"a\u00e9": "x\"y", "n": 12, "o": {"p": 1}}"#;
        let mut m = Members::open(buf, 0).unwrap().unwrap();
        let (k, v) = m.next_key().unwrap().unwrap();
        assert_eq!(k, "a\u{e9}");
        let (s, end) = read_scalar(buf, v).unwrap();
        assert_eq!(s, Some(Scalar::Str("x\"y".into())));
        m.consumed(end);
        assert_eq!(m.next_key().unwrap().unwrap().0, "n");
        assert_eq!(m.next_key().unwrap().unwrap().0, "o");
        assert_eq!(m.next_key().unwrap(), None);
        assert_eq!(unescape(r"\ud83d\ude00").as_deref(), Some("\u{1F600}"));
        assert_eq!(unescape(r"\ud83d"), None);
    }
}
