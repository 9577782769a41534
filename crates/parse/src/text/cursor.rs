//! A cursor over one log line that reads bare (space-delimited) and quoted fields.

use memchr::memchr2;

/// Digits of the longest count [`Cursor::count_then_space`] reads: 19 always fit a `u64`.
const COUNT_DIGITS_MAX: usize = 19;

/// A position in a line. Columns reported to users are 1-based byte offsets.
pub(crate) struct Cursor<'a> {
    line: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(line: &'a [u8]) -> Cursor<'a> {
        Cursor { line, pos: 0 }
    }

    /// A cursor at `pos` (clamped to the end of the line).
    pub(crate) fn at(line: &'a [u8], pos: usize) -> Cursor<'a> {
        Cursor { line, pos: pos.min(line.len()) }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The whole line the cursor moves over.
    pub(crate) fn line(&self) -> &'a [u8] {
        self.line
    }

    /// Moves the cursor to `pos` (clamped to the end of the line), after a reader has read
    /// the fields before it by other means.
    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.line.len());
    }

    /// 1-based byte column of the cursor, for error messages.
    pub(crate) fn column(&self) -> usize {
        self.pos + 1
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.line.len()
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.line.get(self.pos).copied()
    }

    /// Consumes `b` when it is next.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    /// A bare field: the bytes up to the next space or the end of the line.
    pub(crate) fn bare(&mut self) -> &'a [u8] {
        let rest = &self.line[self.pos..];
        // Bare fields are short (addresses, codes, counts): a plain loop that stops at the
        // first space beats memchr's setup, which pays off only on long haystacks.
        let len = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// Three ASCII digits followed by a space, read and consumed (the space left for the
    /// next field), or `None` with the cursor unmoved: an HTTP status as almost every line
    /// writes it, which [`crate::access::text::number::status`] reads the same from
    /// [`Cursor::bare`].
    #[inline]
    pub(crate) fn three_digits_then_space(&mut self) -> Option<u16> {
        let &[a, b, c, b' '] = self.line.get(self.pos..self.pos + 4)? else {
            return None;
        };
        let [a, b, c] = [a, b, c].map(|d| d.wrapping_sub(b'0'));
        if a > 9 || b > 9 || c > 9 {
            return None;
        }
        self.pos += 3;
        Some(u16::from(a) * 100 + u16::from(b) * 10 + u16::from(c))
    }

    /// A decimal count (1 to 19 digits) followed by a space or the end of the line, read and
    /// consumed, or `None` with the cursor unmoved: what
    /// [`crate::access::text::number::count`] reads from [`Cursor::bare`], in one pass.
    #[inline(always)]
    pub(crate) fn count_then_space(&mut self) -> Option<u64> {
        let rest = &self.line[self.pos..];
        let digits = &rest[..rest.len().min(COUNT_DIGITS_MAX)];
        let mut value = 0u64;
        let mut len = 0;
        while let Some(&b) = digits.get(len) {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                break;
            }
            value = value * 10 + u64::from(digit);
            len += 1;
        }
        if len == 0 || !matches!(rest.get(len), None | Some(b' ')) {
            return None;
        }
        self.pos += len;
        Some(value)
    }

    /// A bare field that may be a list written with separators servers put spaces around:
    /// `10.0.0.2, 10.0.0.1` (X-Forwarded-For) or `0.004, 0.002 : 0.001` (nginx upstream
    /// times). Returns the whole list as one slice.
    pub(crate) fn bare_list(&mut self) -> &'a [u8] {
        let start = self.pos;
        loop {
            let token = self.bare();
            let after = self.pos;
            let continues = token.ends_with(b",") || token == b":" || self.next_token_is_colon();
            if !continues {
                break;
            }
            self.skip_spaces();
            if self.at_end() || self.peek() == Some(b'"') {
                // A list never ends with its separator: give back the spaces.
                self.pos = after;
                break;
            }
        }
        &self.line[start..self.pos]
    }

    fn next_token_is_colon(&self) -> bool {
        let rest = &self.line[self.pos..];
        let trimmed = rest.iter().position(|&b| b != b' ').map_or(&rest[..0], |i| &rest[i..]);
        trimmed.len() < rest.len() && (trimmed == b":" || trimmed.starts_with(b": "))
    }

    /// A quoted field, the cursor on its opening quote. Returns the content between the
    /// quotes with escapes still in it, or `None` when the quote never closes.
    ///
    /// A backslash escapes the next byte (Apache writes `\"` and `\\`; nginx writes `\x22`,
    /// which needs no help). A quote closes the field only when a space or the end of the
    /// line follows, so a stray unescaped quote inside a user agent (servers that do not
    /// escape, such as Envoy) does not cut the field short.
    pub(crate) fn quoted(&mut self) -> Option<&'a [u8]> {
        self.quoted_field().map(|(content, _)| content)
    }

    /// [`Cursor::quoted`], and whether the content holds a backslash: the search stops at
    /// each one anyway, so a reader learns for free whether the field needs unescaping.
    pub(crate) fn quoted_field(&mut self) -> Option<(&'a [u8], bool)> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.pos + 1;
        // One byte and its closing quote (`"-"`, the usual empty referer): settled without a
        // search, whose set-up costs more than the field.
        if let Some(&[only, b'"']) = self.line.get(start..start + 2) {
            if !matches!(only, b'"' | b'\\')
                && matches!(self.line.get(start + 2), None | Some(b' '))
            {
                self.pos = start + 2;
                return Some((&self.line[start..start + 1], false));
            }
        }
        let mut i = start;
        let mut escaped = false;
        loop {
            let j = i + memchr2(b'"', b'\\', self.line.get(i..)?)?;
            if self.line[j] == b'\\' {
                escaped = true;
                i = j + 2;
                continue;
            }
            match self.line.get(j + 1) {
                None | Some(b' ') => {
                    self.pos = j + 1;
                    return Some((&self.line[start..j], escaped));
                }
                Some(_) => i = j + 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_honour_escapes_and_stray_quotes() {
        let mut c = Cursor::new(br#""a \"b\" c" x"#);
        assert_eq!(c.quoted(), Some(&br#"a \"b\" c"#[..]));
        assert_eq!(c.pos(), 11);
        // The quote before `b` is followed by a letter: not the end of the field.
        let mut c = Cursor::new(br#""a "b c" 200"#);
        assert_eq!(c.quoted(), Some(&br#"a "b c"#[..]));
        let mut c = Cursor::new(br#""never closed"#);
        assert_eq!(c.quoted(), None);
        let mut c = Cursor::new(b"\"ends in a backslash\\");
        assert_eq!(c.quoted(), None);
        let mut c = Cursor::new(b"\"\\");
        assert_eq!(c.quoted(), None);
        let mut c = Cursor::new(br#""-" "ua""#);
        assert_eq!((c.quoted(), c.pos()), (Some(&b"-"[..]), 3));
        let mut c = Cursor::new(br#""-"x" 1"#);
        assert_eq!(c.quoted(), Some(&br#"-"x"#[..]));
        let mut c = Cursor::new(br#""\" 1"#);
        assert_eq!(c.quoted(), None);
    }

    /// The search [`Cursor::quoted`] must agree with, without its short-field shortcut.
    fn quoted_by_definition(line: &[u8]) -> Option<(&[u8], usize)> {
        if line.first() != Some(&b'"') {
            return None;
        }
        let mut i = 1;
        loop {
            let j = i + line.get(i..)?.iter().position(|&b| b == b'"' || b == b'\\')?;
            if line[j] == b'\\' {
                i = j + 2;
                continue;
            }
            match line.get(j + 1) {
                None | Some(b' ') => return Some((&line[1..j], j + 1)),
                Some(_) => i = j + 1,
            }
        }
    }

    proptest::proptest! {
        /// Short fields (`"-"`, `""`, `"x"`), stray quotes and escapes read as the plain
        /// search reads them.
        #[test]
        fn quoted_fields_read_as_the_definition(line in "\"[-x\" \\\\]{0,6}") {
            let mut c = Cursor::new(line.as_bytes());
            let got = c.quoted().map(|field| (field, c.pos()));
            proptest::prop_assert_eq!(got, quoted_by_definition(line.as_bytes()));
            let mut c = Cursor::new(line.as_bytes());
            let flagged = c.quoted_field().map(|(field, escaped)| (field, escaped, c.pos()));
            let expected = quoted_by_definition(line.as_bytes())
                .map(|(field, pos)| (field, field.contains(&b'\\'), pos));
            proptest::prop_assert_eq!(flagged, expected);
        }
    }

    #[test]
    fn three_digit_statuses_read_as_bare_fields_do() {
        for line in [
            &b"200 1"[..],
            b"200",
            b"20 1",
            b"2000 1",
            b"2x0 1",
            b"-",
            b"099 x",
            b"999 ",
            b"",
            b"/00 1",
            b":00 1",
            b"0000",
            b" 200",
        ] {
            let mut fast = Cursor::new(line);
            let got = fast.three_digits_then_space();
            let mut bare = Cursor::new(line);
            let field = bare.bare();
            match got {
                Some(code) => {
                    assert_eq!(crate::access::text::number::status(field), Some(code));
                    assert_eq!(fast.pos(), bare.pos());
                    assert!(fast.peek() == Some(b' '));
                }
                None => {
                    assert_eq!(fast.pos(), 0, "{line:?}");
                    assert!(
                        field.len() != 3 || bare.at_end() || !field.iter().all(u8::is_ascii_digit)
                    );
                }
            }
        }
    }

    proptest::proptest! {
        /// Counts read in place as the bare field and the count reader read them.
        #[test]
        fn counts_read_as_bare_fields_do(line in "[0-9]{0,21}[ x-]?[0-9 ]{0,3}") {
            let line = line.as_bytes();
            let mut fast = Cursor::new(line);
            let got = fast.count_then_space();
            let mut bare = Cursor::new(line);
            let expected = crate::access::text::number::count(bare.bare());
            match got {
                Some(v) => {
                    proptest::prop_assert_eq!(Some(v), expected);
                    proptest::prop_assert_eq!(fast.pos(), bare.pos());
                }
                None => {
                    proptest::prop_assert_eq!(fast.pos(), 0);
                    proptest::prop_assert_eq!(expected, None);
                }
            }
        }
    }

    #[test]
    fn lists_are_one_field() {
        let mut c = Cursor::new(b"10.0.0.2, 10.0.0.1, 127.0.0.1 - -");
        assert_eq!(c.bare_list(), b"10.0.0.2, 10.0.0.1, 127.0.0.1");
        let mut c = Cursor::new(b"0.004, 0.002 : 0.001 \"x\"");
        assert_eq!(c.bare_list(), b"0.004, 0.002 : 0.001");
        let mut c = Cursor::new(b"0.004, ");
        assert_eq!(c.bare_list(), b"0.004,");
        let mut c = Cursor::new(b"a, \"b\"");
        assert_eq!(c.bare_list(), b"a,");
        let mut c = Cursor::new(b"0.1 :");
        assert_eq!(c.bare_list(), b"0.1 :");
    }
}
