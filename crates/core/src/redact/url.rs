//! Query strings: secret parameters by (percent-decoded) name, and secrets hidden one
//! percent-encoding deeper (`redirect_uri=https%3A%2F%2Fapp%2Fcb%3Fcode%3D…`).

use super::edits::{is_masked, is_pseudonym, Edit, Found, PRIORITY_NAMED};
use super::names::{classify_encoded, query_id_slot};
use super::Pass;
use memchr::memchr;
use std::borrow::Cow;
use std::ops::Range;

/// How many percent-encodings deep a value is decoded and looked into. Two covers a URL in a
/// parameter of a URL in a parameter (a login redirect through an identity provider).
const NESTED_DEPTH_MAX: u8 = 2;

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` (and `+` as a space when `plus_is_space`); malformed escapes stay as they are.
pub(super) fn percent_decode(s: &[u8], plus_is_space: bool) -> Cow<'_, [u8]> {
    if memchr(b'%', s).is_none() && !(plus_is_space && memchr(b'+', s).is_some()) {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'%' {
            let hex = |k: usize| s.get(k).copied().and_then(hex_value);
            if let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2)) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(if c == b'+' && plus_is_space { b' ' } else { c });
        i += 1;
    }
    Cow::Owned(out)
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len() + s.len() / 2);
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(c));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(c >> 4)]));
            out.push(char::from(HEX[usize::from(c & 15)]));
        }
    }
    out
}

/// Whether a value may hide a secret that only decoding shows: an encoded `=`, `:`, `"` or
/// `@` (a nested query, JSON or URL), or enough digits for a card number with encoded spaces.
fn worth_decoding(raw: &[u8]) -> bool {
    if memchr::memchr2(b'%', b'+', raw).is_none() {
        return false;
    }
    let has_escape = raw.windows(3).any(|w| {
        w[0] == b'%' && matches!(&[w[1], w[2].to_ascii_uppercase()], b"3D" | b"3A" | b"22" | b"40")
    });
    has_escape || raw.iter().filter(|c| c.is_ascii_digit()).count() >= 13
}

/// How many `=` positions a query pass remembers for the free-text scan to skip; beyond
/// that the scan judges the names again, which costs time, not correctness.
const HANDLED_MAX: usize = 16;

/// The `=` of each `name=value` pair the query pass judged, in order.
pub(super) struct Handled {
    positions: [u32; HANDLED_MAX],
    len: usize,
}

impl Handled {
    pub(super) fn new() -> Handled {
        Handled { positions: [0; HANDLED_MAX], len: 0 }
    }
    fn push(&mut self, position: usize) {
        if let (true, Ok(position)) = (self.len < HANDLED_MAX, u32::try_from(position)) {
            self.positions[self.len] = position;
            self.len += 1;
        }
    }
    pub(super) fn as_slice(&self) -> &[u32] {
        &self.positions[..self.len]
    }
}

/// Pushes edits for the query string `s[range]` (`a=1&b=2`, no `?`). `set_ids`: the query is
/// the request's own, so `api_key`/`access_token` parameters may fill the event's ids.
pub(super) fn query_edits(
    pass: &mut Pass<'_>,
    s: &str,
    range: Range<usize>,
    set_ids: bool,
    depth: u8,
    handled: &mut Handled,
    out: &mut Vec<Edit>,
) {
    let b = s.as_bytes();
    // One plain pass: query strings are short, shorter than what pays for memchr's setup.
    let mut pair_start = range.start;
    let mut eq = None;
    for i in range.start..=range.end {
        match b.get(i).filter(|_| i < range.end) {
            Some(b'=') if eq.is_none() => eq = Some(i),
            Some(b'&') | None => {
                if let Some(eq) = eq.take() {
                    let value = eq + 1..i;
                    if pair_edit(pass, s, pair_start..eq, value, set_ids, depth, out) {
                        handled.push(eq);
                    }
                }
                pair_start = i + 1;
            }
            _ => {}
        }
    }
}

/// Looks at one `name=value` pair. Returns whether the name is ordinary: the free-text scan
/// may then skip it. A secret name is looked at again by that scan, whose value runs on
/// where a query's ends (`password=a#b`, a password with an unencoded `#`).
fn pair_edit(
    pass: &mut Pass<'_>,
    s: &str,
    name: Range<usize>,
    value: Range<usize>,
    set_ids: bool,
    depth: u8,
    out: &mut Vec<Edit>,
) -> bool {
    let b = s.as_bytes();
    let raw = &b[value.clone()];
    let Some(class) = classify_encoded(&b[name.clone()]) else {
        if raw.is_empty() {
            return true;
        }
        if depth < NESTED_DEPTH_MAX && worth_decoding(raw) {
            let decoded = percent_decode(raw, true);
            let text = String::from_utf8_lossy(&decoded);
            if let Cow::Owned(redacted) = pass.url(&text, false, depth + 1) {
                out.push(Edit {
                    start: value.start,
                    end: value.end,
                    priority: PRIORITY_NAMED,
                    found: Found::Nested,
                    kind: None,
                    replacement: percent_encode(&redacted),
                });
            }
        }
        return true;
    };
    if raw.is_empty() {
        return false;
    }
    let slot = if set_ids { query_id_slot(&percent_decode(&b[name], true)) } else { None };
    if is_pseudonym(raw) {
        if let Some(slot) = slot {
            pass.ids.fill(slot, &s[value]);
        }
        return false;
    }
    // The decoded value, so that the key in `?api_key=a%2Bb` and in `X-Api-Key: a+b` share
    // one pseudonym.
    let decoded = percent_decode(raw, false);
    if is_masked(&decoded) {
        return false;
    }
    let kind = class.kind();
    let replacement = pass.r.pseudonym_bytes(kind, &decoded);
    if let Some(slot) = slot {
        pass.ids.fill(slot, &replacement);
    }
    out.push(Edit {
        start: value.start,
        end: value.end,
        priority: PRIORITY_NAMED,
        found: Found::Named,
        kind: Some(kind),
        replacement,
    });
    false
}

/// Where a URL's query (after the first `?`) or fragment ends: a request line or free text
/// goes on after a space.
fn part_end(b: &[u8], from: usize, stop_at_hash: bool) -> usize {
    from + b[from..]
        .iter()
        .position(|&c| (stop_at_hash && c == b'#') || c <= b' ' || c == b'"' || c == 0x7f)
        .unwrap_or(b.len() - from)
}

/// Pushes edits for the query and the fragment of the URL in `s` (fragments carry tokens in
/// OAuth's implicit flow: `#access_token=…`).
pub(super) fn url_edits(
    pass: &mut Pass<'_>,
    s: &str,
    set_ids: bool,
    depth: u8,
    handled: &mut Handled,
    out: &mut Vec<Edit>,
) {
    let b = s.as_bytes();
    let Some(q) = memchr(b'?', b) else { return };
    let query_end = part_end(b, q + 1, true);
    query_edits(pass, s, q + 1..query_end, set_ids, depth, handled, out);
    if b.get(query_end) == Some(&b'#') {
        let fragment_end = part_end(b, query_end + 1, false);
        query_edits(pass, s, query_end + 1..fragment_end, false, depth, handled, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_codec() {
        assert_eq!(&*percent_decode(b"a%2Bb+c%zz%4", false), b"a+b+c%zz%4");
        assert_eq!(&*percent_decode(b"a%2bb+c", true), b"a+b c");
        assert_eq!(percent_encode("a b/c?d=é"), "a%20b%2Fc%3Fd%3D%C3%A9");
    }
}
