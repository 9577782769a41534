//! CRLF injection / HTTP response splitting: a line break followed by a header (`Set-Cookie:`,
//! `Location:`, `X-…:`), a status line, or a blank line and markup — the shape that adds
//! headers or a body when a value is copied into a response header. Also the Unicode trick
//! where a character whose low byte is CR or LF (`嘍`, U+560D) is truncated to that byte.
//!
//! A line break followed by an ordinary word and a colon ("Note: …") is text, not a header.

use super::prefilter::byte;

/// Longest header name considered.
const HEADER_NAME_BYTES_MAX: usize = 64;

/// Response and request headers an injected line would set.
const HEADERS: &[&str] = &[
    "set-cookie",
    "location",
    "content-type",
    "content-length",
    "content-disposition",
    "content-security-policy",
    "content-encoding",
    "transfer-encoding",
    "refresh",
    "cache-control",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-headers",
    "access-control-allow-methods",
    "link",
    "host",
    "cookie",
    "connection",
    "strict-transport-security",
    "server",
    "vary",
    "etag",
    "last-modified",
    "expires",
    "pragma",
    "www-authenticate",
    "authorization",
    "referer",
    "user-agent",
    "upgrade",
    "proxy-authorization",
    "origin",
    "accept",
];

/// A line break, or a non-ASCII byte (for the truncation trick), is needed.
pub(crate) fn candidate_by_bytes(kinds: u32) -> bool {
    kinds & (byte::NEWLINE | byte::HIGH) != 0
}

/// Whether the decoded value would inject a header line (or a body) into a response.
pub(crate) fn detect(v: &[u8]) -> bool {
    for i in memchr::memchr2_iter(b'\r', b'\n', v) {
        let after = &v[i + 1..];
        let start = after.iter().position(|&b| !matches!(b, b'\r' | b'\n' | b' ' | b'\t'));
        let Some(start) = start else { continue };
        let line = &after[start..];
        // Two line feeds before the text: a blank line, after which a body begins.
        let blank_line = v[i..i + 1 + start].iter().filter(|&&b| b == b'\n').count() >= 2;
        if header_line(line, true)
            || starts_with_ignore_case(line, b"http/1.")
            || (blank_line && line.first() == Some(&b'<'))
        {
            return true;
        }
    }
    if v.iter().any(|&b| b >= 0x80) {
        return truncated_line_break(v);
    }
    false
}

/// `Name:` at the start of `line`, where the name is a known header (or `X-…` when
/// `allow_extension`).
fn header_line(line: &[u8], allow_extension: bool) -> bool {
    let name_len = line
        .iter()
        .take(HEADER_NAME_BYTES_MAX + 1)
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
        .count();
    if name_len == 0 || name_len > HEADER_NAME_BYTES_MAX {
        return false;
    }
    let name = &line[..name_len];
    let colon = line[name_len..].iter().find(|&&b| b != b' ' && b != b'\t') == Some(&b':');
    let known = HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h.as_bytes()))
        || (allow_extension && starts_with_ignore_case(name, b"x-") && name_len > 2);
    colon && known
}

/// A character above U+00FF whose low byte is CR or LF, followed by a known header: servers
/// that keep only the low byte of each character turn it into a line break.
fn truncated_line_break(v: &[u8]) -> bool {
    let text = String::from_utf8_lossy(v);
    for (i, c) in text.char_indices() {
        let cp = c as u32;
        if cp > 0xFF && matches!(cp & 0xFF, 0x0A | 0x0D) {
            let rest = text[i + c.len_utf8()..].as_bytes();
            if header_line(rest, false) {
                return true;
            }
        }
    }
    false
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::injection::decode::url_decode;

    fn crlf(s: &str) -> bool {
        detect(&url_decode(s.as_bytes()))
    }

    #[test]
    fn injected_headers() {
        for v in [
            "%0d%0aSet-Cookie:crlf=injection",
            "%0a%0dSet-cookie:crlf=injection",
            "%25%30%41Set-cookie:crlf=injection",
            "%25%30%41%25%30%44Set-cookie:crlf=injection",
            "%25%0a%0aSet-cookie:crlf=injection",
            "%e5%98%8dSet-cookie%3acrlf%3dinjection",
            "/x%0d%0aLocation: http://evil.example/",
            "a%0d%0aX-Injected: 1",
            "a%0d%0a%0d%0a<script>alert(1)</script>",
            "a%0d%0aHTTP/1.1 200 OK",
        ] {
            assert!(crlf(v), "{v}");
        }
    }

    #[test]
    fn multi_line_text() {
        for v in [
            "Hello%0ANote: bring snacks",
            "line one%0d%0aline two",
            "\u{010D}esky: text",
            "\nRCPT TO: test@evil.com\n",
            "a%0a",
        ] {
            assert!(!crlf(v), "{v}");
        }
    }
}
