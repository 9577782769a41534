//! Decoding of raw values into the bytes an application behind the API would see.
//!
//! Attackers encode payloads so that byte patterns miss them: percent-encoding (once, twice,
//! `%uHHHH`), `+` for space, `\xHH` / `\uHHHH` escapes, overlong UTF-8 (`%c0%af` for `/`) and,
//! for markup, HTML entities. Every function here works on bytes (decoded payloads are often
//! not UTF-8), never fails, and returns the input borrowed when there is nothing to decode.

use std::borrow::Cow;

/// Decodes a raw value the way layered web stacks do: percent-encoding and `+` (then
/// percent-encoding once more, for double-encoded input), `\xHH` / `\uHHHH` escapes, and
/// overlong UTF-8 sequences that stand for ASCII.
pub(crate) fn url_decode(raw: &[u8]) -> Cow<'_, [u8]> {
    if !raw.iter().any(|&b| matches!(b, b'%' | b'+' | b'\\') || b >= 0xC0) {
        return Cow::Borrowed(raw);
    }
    let mut out = Cow::Borrowed(raw);
    if raw.iter().any(|&b| b == b'%' || b == b'+') {
        out = Cow::Owned(percent_decode(&out, true));
        // Double encoding (`%252e`) survives one pass as `%2e`; a second pass without `+`
        // handling, since a `+` here came from `%2b` and is a literal plus.
        if has_percent_escape(&out) {
            out = Cow::Owned(percent_decode(&out, false));
        }
    }
    if memchr::memchr(b'\\', &out).is_some() {
        if let Some(decoded) = backslash_decode(&out) {
            out = Cow::Owned(decoded);
        }
    }
    if out.iter().any(|&b| b >= 0xC0) {
        if let Some(decoded) = overlong_decode(&out) {
            out = Cow::Owned(decoded);
        }
    }
    out
}

use apiwatch_core::bytes::hex_value as hex;

/// The value of `n` hex digits at the start of `s`, if they are all there.
fn hex_n(s: &[u8], n: usize) -> Option<u32> {
    let digits = s.get(..n)?;
    digits.iter().try_fold(0u32, |acc, &b| Some(acc << 4 | u32::from(hex(b)?)))
}

fn has_percent_escape(s: &[u8]) -> bool {
    memchr::memchr_iter(b'%', s).any(|i| {
        hex_n(&s[i + 1..], 2).is_some()
            || (matches!(s.get(i + 1), Some(b'u' | b'U')) && hex_n(&s[i + 2..], 4).is_some())
    })
}

fn push_char(out: &mut Vec<u8>, cp: u32) {
    let c = char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER);
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// `%HH` → byte, `%uHHHH` → UTF-8 of the code point (IIS style), and `+` → space when asked.
/// Malformed escapes stay as they are, so `100%` and `%zz` survive.
fn percent_decode(s: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b == b'%' {
            if let Some(v) = hex_n(&s[i + 1..], 2) {
                out.push(v as u8);
                i += 3;
                continue;
            }
            if matches!(s.get(i + 1), Some(b'u' | b'U')) {
                if let Some(cp) = hex_n(&s[i + 2..], 4) {
                    push_char(&mut out, cp);
                    i += 6;
                    continue;
                }
            }
        } else if b == b'+' && plus_is_space {
            out.push(b' ');
            i += 1;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

/// `\xHH` and `\uHHHH` (JavaScript, JSON, Python string escapes). `None` when there were none,
/// so that Windows paths such as `C:\users` stay borrowed.
fn backslash_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' {
            let (cp, len) = match s.get(i + 1) {
                Some(b'x' | b'X') => (hex_n(&s[i + 2..], 2), 4),
                Some(b'u') => (hex_n(&s[i + 2..], 4), 6),
                _ => (None, 0),
            };
            if let Some(cp) = cp {
                let buf = out.get_or_insert_with(|| Vec::with_capacity(s.len()));
                buf.extend_from_slice(&s[copied..i]);
                if len == 4 {
                    buf.push(cp as u8);
                } else {
                    push_char(buf, cp);
                }
                i += len;
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    let mut buf = out?;
    buf.extend_from_slice(&s[copied..]);
    Some(buf)
}

/// Overlong UTF-8 encodings of ASCII (`C0 AE` for `.`, `E0 80 AF` for `/`, up to the old
/// six-byte forms): strict decoders reject them, lenient ones (and some path normalisers) turn
/// them into the ASCII they stand for. `None` when there were none.
fn overlong_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < s.len() {
        let continuation = match s[i] {
            0xC0 | 0xC1 => 1,
            0xE0 => 2,
            0xF0 => 3,
            0xF8 => 4,
            0xFC => 5,
            _ => 0,
        };
        if continuation > 0 {
            if let Some(tail) = s.get(i + 1..i + 1 + continuation) {
                if tail.iter().all(|&b| (0x80..0xC0).contains(&b)) {
                    let lead_bits = u32::from(s[i] & (0x7F >> (continuation + 1)));
                    let cp = tail.iter().fold(lead_bits, |acc, &b| acc << 6 | u32::from(b & 0x3F));
                    if cp < 0x80 {
                        let buf = out.get_or_insert_with(|| Vec::with_capacity(s.len()));
                        buf.extend_from_slice(&s[copied..i]);
                        buf.push(cp as u8);
                        i += 1 + continuation;
                        copied = i;
                        continue;
                    }
                }
            }
        }
        i += 1;
    }
    let mut buf = out?;
    buf.extend_from_slice(&s[copied..]);
    Some(buf)
}

/// Named character references attackers use to hide markup and script, with the byte each
/// stands for. Names are matched ASCII case-insensitively (`&LT;` works in browsers too).
const HTML_ENTITIES: &[(&str, u8)] = &[
    ("lt", b'<'),
    ("gt", b'>'),
    ("amp", b'&'),
    ("quot", b'"'),
    ("apos", b'\''),
    ("colon", b':'),
    ("lpar", b'('),
    ("rpar", b')'),
    ("equals", b'='),
    ("sol", b'/'),
    ("bsol", b'\\'),
    ("tab", b'\t'),
    ("newline", b'\n'),
    ("nbsp", b' '),
    ("period", b'.'),
    ("comma", b','),
    ("excl", b'!'),
    ("num", b'#'),
    ("lsqb", b'['),
    ("rsqb", b']'),
    ("lbrack", b'['),
    ("rbrack", b']'),
    ("lcub", b'{'),
    ("rcub", b'}'),
    ("lbrace", b'{'),
    ("rbrace", b'}'),
    ("grave", b'`'),
    ("plus", b'+'),
    ("semi", b';'),
    ("quest", b'?'),
    ("percnt", b'%'),
    ("dollar", b'$'),
    ("ast", b'*'),
    ("lowbar", b'_'),
    ("verbar", b'|'),
    ("vert", b'|'),
    ("hat", b'^'),
];

/// Longest entity name above; bounds the look-ahead after `&`.
const HTML_ENTITY_NAME_MAX: usize = 7;

/// Decodes HTML character references: numeric (`&#60;`, `&#x3c;`, leading zeros and a missing
/// `;` as browsers accept them) and the named ones in [`HTML_ENTITIES`]. Applied twice, since
/// `&amp;lt;` is a common second layer.
pub(crate) fn html_unescape(s: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr(b'&', s).is_none() {
        return Cow::Borrowed(s);
    }
    match html_unescape_once(s) {
        None => Cow::Borrowed(s),
        Some(once) => match html_unescape_once(&once) {
            None => Cow::Owned(once),
            Some(twice) => Cow::Owned(twice),
        },
    }
}

fn html_unescape_once(s: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'&', &s[i..]) {
        let amp = i + off;
        i = amp + 1;
        let Some((cp, len)) = html_reference(&s[amp + 1..]) else { continue };
        let buf = out.get_or_insert_with(|| Vec::with_capacity(s.len()));
        buf.extend_from_slice(&s[copied..amp]);
        push_char(buf, cp);
        i = amp + 1 + len;
        copied = i;
    }
    let mut buf = out?;
    buf.extend_from_slice(&s[copied..]);
    Some(buf)
}

/// The code point of the reference that starts right after a `&`, and its length.
fn html_reference(s: &[u8]) -> Option<(u32, usize)> {
    if s.first() == Some(&b'#') {
        let (radix, start) = match s.get(1) {
            Some(b'x' | b'X') => (16, 2),
            _ => (10, 1),
        };
        // Browsers read every digit (leading zeros pad); the value saturates below.
        let digits = s[start..].iter().take_while(|b| match radix {
            16 => b.is_ascii_hexdigit(),
            _ => b.is_ascii_digit(),
        });
        let n = digits.count();
        if n == 0 {
            return None;
        }
        let mut cp: u32 = 0;
        for &b in &s[start..start + n] {
            cp = cp.saturating_mul(radix).saturating_add(u32::from(hex(b)?));
        }
        let mut len = start + n;
        if s.get(len) == Some(&b';') {
            len += 1;
        }
        return Some((cp, len));
    }
    let name_len = s.iter().take(HTML_ENTITY_NAME_MAX + 1).take_while(|b| b.is_ascii_alphabetic());
    let name_len = name_len.count();
    let name = &s[..name_len];
    let &(_, byte) = HTML_ENTITIES.iter().find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))?;
    if s.get(name_len) == Some(&b';') {
        return Some((u32::from(byte), name_len + 1));
    }
    // Without `;` browsers decode only the legacy entities; the others stay text.
    let legacy = [&b"lt"[..], b"gt", b"amp", b"quot", b"nbsp"];
    legacy.iter().any(|l| l.eq_ignore_ascii_case(name)).then_some((u32::from(byte), name_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> String {
        String::from_utf8_lossy(&url_decode(s.as_bytes())).into_owned()
    }
    fn html(s: &str) -> String {
        String::from_utf8_lossy(&html_unescape(s.as_bytes())).into_owned()
    }

    #[test]
    fn plain_values_stay_borrowed() {
        assert!(matches!(url_decode(b"/api/v1/users/123"), Cow::Borrowed(_)));
        assert!(matches!(html_unescape(b"rock and roll"), Cow::Borrowed(_)));
        assert!(matches!(url_decode(br"C:\users\xavier"), Cow::Borrowed(_)));
    }

    #[test]
    fn percent_plus_and_double_encoding() {
        assert_eq!(url("q=rock+%26+roll"), "q=rock & roll");
        assert_eq!(url("%252e%252e%252f"), "../");
        assert_eq!(url("%%32%65%%32%65"), "..");
        assert_eq!(url("100%"), "100%");
        assert_eq!(url("%zz%4"), "%zz%4");
        assert_eq!(url("a%2bb"), "a+b", "an encoded plus stays a plus");
        assert_eq!(url("%u002e%u002E%u2216"), "..\u{2216}");
        assert_eq!(url("%ud800"), "\u{fffd}");
    }

    #[test]
    fn backslash_escapes() {
        assert_eq!(url(r"\x3cscript\x3e"), "<script>");
        assert_eq!(url(r"aaaa\u0027%2b#{16*8787}"), "aaaa'+#{16*8787}");
        assert_eq!(url(r"\x4"), r"\x4");
    }

    #[test]
    fn overlong_utf8() {
        assert_eq!(url("%c0%ae%c0%ae%c0%af"), "../");
        assert_eq!(url("%e0%80%af"), "/");
        assert_eq!(url("%f0%80%80%ae"), ".");
        assert_eq!(url("%fc%80%80%80%80%ae"), ".");
        assert_eq!(url("%c1%9c"), "\\");
        // A real two-byte character is left alone.
        assert_eq!(url("%c3%a9"), "é");
        // A lone lead byte stays the invalid byte it is.
        assert_eq!(url_decode(b"%c0").as_ref(), &[0xC0]);
    }

    #[test]
    fn html_entities() {
        assert_eq!(html("&lt;svg/onload&equals;alert(1)&gt;"), "<svg/onload=alert(1)>");
        assert_eq!(html("j&#X41vascript:"), "jAvascript:");
        assert_eq!(html("confirm&#0000000040document.domain)"), "confirm(document.domain)");
        assert_eq!(html("confirm&amp;lpar;1&amp;rpar;"), "confirm(1)");
        assert_eq!(html("AT&T &copy x&y"), "AT&T &copy x&y");
        assert_eq!(html("&#99999999999999999999;"), "\u{fffd}");
    }
}
