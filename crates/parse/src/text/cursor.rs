//! A cursor over one log line that reads bare (space-delimited) and quoted fields.

use memchr::memchr2;

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
