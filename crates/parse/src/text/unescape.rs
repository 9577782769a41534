//! Turning logged text back into what the client sent: nginx's `\xHH`, Apache's `\"`, `\\`,
//! `\n`-style escapes; invalid UTF-8 becomes U+FFFD (lossy) rather than an error, because a
//! hostile user agent is still worth recording.

use apiwatch_core::Text;

/// The fields of one line as text. The whole line is checked once (valid UTF-8, no
/// backslash); fields of such a line are then copied out without scanning each again, which
/// is most of the per-field cost on the access-log hot path. Other lines take [`text`].
#[derive(Clone, Copy)]
pub(crate) struct LineText<'a> {
    line: &'a [u8],
    /// The line, when it is valid UTF-8 and no field read through this value holds a
    /// backslash: fields are then slices of it.
    plain: Option<&'a str>,
    /// The line, when it is valid UTF-8, whatever its backslashes.
    utf8: Option<&'a str>,
}

impl<'a> LineText<'a> {
    pub(crate) fn new(line: &'a [u8]) -> LineText<'a> {
        let plain = match memchr::memchr(b'\\', line) {
            Some(_) => None,
            None => utf8(line),
        };
        LineText { line, plain, utf8: plain }
    }

    /// The line checked for UTF-8 only, for a reader that scans its fields for backslashes
    /// itself (the quoted-field search does): fields read through this value take the
    /// per-field path, and those of [`LineText::unescaped`] are slices again.
    pub(crate) fn utf8_checked(line: &'a [u8]) -> LineText<'a> {
        LineText { line, plain: None, utf8: utf8(line) }
    }

    /// This line for fields the caller has seen to hold no backslash: nothing in them needs
    /// decoding, so on a valid UTF-8 line they are copied as they are.
    pub(crate) fn unescaped(&self) -> LineText<'a> {
        LineText { plain: self.utf8, ..*self }
    }

    /// The text of `raw`, escapes decoded. `raw` is normally a part of the line; anything
    /// else is still decoded correctly, on the slower path.
    ///
    /// Inlined, with the slower path kept out of line: this runs for every field of every
    /// line, and a call that carries the unescaping code pays for its registers each time.
    #[inline]
    pub(crate) fn text(&self, raw: &[u8]) -> Text {
        if let Some(plain) = self.plain {
            // Where `raw` sits in the line. A slice of the line lies inside its address range
            // and nothing else can, so an in-range offset names the same bytes.
            let start = (raw.as_ptr() as usize).wrapping_sub(self.line.as_ptr() as usize);
            if let Some(s) = start.checked_add(raw.len()).and_then(|end| plain.get(start..end)) {
                debug_assert_eq!(s.as_bytes(), raw);
                debug_assert!(!raw.contains(&b'\\'), "an escape in a field read as plain");
                return Text::new(s);
            }
        }
        text(raw)
    }

    /// [`LineText::text`], or `None` for an empty field or the `-` placeholder.
    #[inline]
    pub(crate) fn opt_text(&self, raw: &[u8]) -> Option<Text> {
        if raw.is_empty() || raw == b"-" {
            None
        } else {
            Some(self.text(raw))
        }
    }
}

/// `line` as text when it is valid UTF-8. The SIMD check is several times faster than the
/// standard one on whole lines, and accepts exactly the same input; no caller here needs the
/// place of a bad byte, so the standard check is never run again.
fn utf8(line: &[u8]) -> Option<&str> {
    simdutf8::basic::from_utf8(line).ok()
}

/// The text of a field, escapes decoded.
#[inline(never)]
pub(crate) fn text(raw: &[u8]) -> Text {
    if !raw.contains(&b'\\') {
        // `from_utf8` has an ASCII fast path that the lossy decoder lacks; most fields are ASCII.
        return match std::str::from_utf8(raw) {
            Ok(s) => Text::new(s),
            Err(_) => Text::from_utf8_lossy(raw),
        };
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let (decoded, used) = match raw.get(i + 1) {
            Some(b'x' | b'X') => match (raw.get(i + 2).and_then(hex), raw.get(i + 3).and_then(hex))
            {
                (Some(h), Some(l)) => (Some(h << 4 | l), 4),
                _ => (None, 1),
            },
            Some(b'"') => (Some(b'"'), 2),
            Some(b'\\') => (Some(b'\\'), 2),
            Some(b'n') => (Some(b'\n'), 2),
            Some(b'r') => (Some(b'\r'), 2),
            Some(b't') => (Some(b'\t'), 2),
            Some(b'b') => (Some(0x08), 2),
            Some(b'v') => (Some(0x0b), 2),
            // Anything else was not an escape: keep the backslash as written.
            _ => (None, 1),
        };
        out.push(decoded.unwrap_or(b'\\'));
        i += used;
    }
    Text::from_utf8_lossy(&out)
}

fn hex(b: &u8) -> Option<u8> {
    apiwatch_core::bytes::hex_value(*b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_of_both_servers_decode() {
        assert_eq!(text(br"a\x22b\x5Cc"), "a\"b\\c");
        assert_eq!(text(br#"say \"hi\" \\ done"#), r#"say "hi" \ done"#);
        assert_eq!(text(br"tab\there\nnl"), "tab\there\nnl");
        // nginx escapes each byte of a multi-byte character separately.
        assert_eq!(text(br"caf\xC3\xA9"), "café");
        assert_eq!(text(br"bad \xFF byte"), "bad \u{FFFD} byte");
        assert_eq!(text(b"raw \xff byte"), "raw \u{FFFD} byte");
        // Not escapes: kept as written.
        assert_eq!(text(br"C:\dir \x4"), r"C:\dir \x4");
        assert_eq!(text(br"trailing\"), r"trailing\");
        let t = LineText::new(b"- x");
        assert_eq!(t.opt_text(b"-"), None);
        assert_eq!(t.opt_text(b""), None);
        assert_eq!(t.opt_text(b"x").as_deref(), Some("x"));
    }

    proptest::proptest! {
        /// The SIMD check accepts exactly the lines the standard one accepts.
        #[test]
        fn utf8_check_agrees_with_std(line in crate::test_bytes::utf8_edge_lines()) {
            proptest::prop_assert_eq!(utf8(&line), std::str::from_utf8(&line).ok());
        }
    }

    #[test]
    fn line_text_matches_field_text() {
        for line in
            [&b"plain ascii \"quoted\" caf\xc3\xa9"[..], b"with \\x22 escape", b"bad \xff utf8"]
        {
            let t = LineText::new(line);
            for start in 0..line.len() {
                for end in start..=line.len() {
                    assert_eq!(t.text(&line[start..end]), text(&line[start..end]));
                }
            }
            // Not a part of the line: decoded on the per-field path.
            assert_eq!(t.text(b"elsewhere"), "elsewhere");
        }
    }
}
