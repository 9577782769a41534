//! The free-text scan: secrets found by their shape or by the name before them, anywhere in a
//! string. Each finder is behind a cheap prefilter, so that the common string (a path, a user
//! agent) costs a pass over a byte table, a SWAR pass for card numbers, a SIMD search or two,
//! and no allocation.

use super::clean::Scan;
use super::edits::{
    is_masked, is_pseudonyms, pseudonym_at, Edit, Found, PRIORITY_SHAPE, PRIORITY_TEXT_NAMED,
};
use super::names::{classify, Secret};
use super::Redactor;
use aho_corasick::{AhoCorasick, MatchKind};
use memchr::{memchr, memchr2_iter, memchr3_iter, memchr_iter, memmem};
use std::sync::LazyLock;

/// The shortest string that can hold anything this scan finds (`pwd=x`); shorter strings are
/// returned untouched without looking.
const SECRET_BYTES_MIN: usize = 5;

/// Card numbers have 13 to 19 digits (ISO/IEC 7812).
const CARD_DIGITS_MIN: usize = 13;
const CARD_DIGITS_MAX: usize = 19;
/// Digit groups looked at in one separated run (`4111 1111 1111 1111` is four); a longer run
/// is cut, and the rest scanned as a new run.
const CARD_GROUPS_MAX: usize = 16;

/// How far back a name is looked for before `=` or `:`; longer names are not names.
const NAME_BYTES_MAX: usize = 128;
/// Spaces allowed between a name, its `=` or `:`, and its value (`"token" : "x"`).
const GAP_BYTES_MAX: usize = 8;
/// How far a private key block's label may run (`-----BEGIN ENCRYPTED PRIVATE KEY-----`).
const PEM_LABEL_BYTES_MAX: usize = 80;

/// Shortest header segment of a JWT: `{"alg":"none"}` already takes 19.
const JWT_HEADER_BYTES_MIN: usize = 16;
/// Shortest payload segment (`e30` is `{}`).
const JWT_PAYLOAD_BYTES_MIN: usize = 3;
/// JWS has 3 segments, JWE 5.
const JWT_SEGMENTS_MAX: usize = 5;

/// The characters that may follow a key prefix.
#[derive(Clone, Copy)]
enum Body {
    /// `[0-9A-Z]` (AWS access key ids).
    Upper,
    /// `[0-9A-Za-z]`.
    Alnum,
    /// `[0-9A-Za-z_]`.
    AlnumUnderscore,
    /// `[0-9A-Za-z-]` (Slack).
    AlnumDash,
    /// `[0-9A-Za-z_-]` (base64url).
    Base64Url,
    /// A JSON Web Token from its `eyJ`.
    Jwt,
    /// A PEM private key block from its `-----BEGIN`.
    Pem,
}

/// A well-known secret shape: a literal prefix, then at least `min` body characters.
struct Shape {
    prefix: &'static str,
    body: Body,
    min: usize,
}

const fn shape(prefix: &'static str, body: Body, min: usize) -> Shape {
    Shape { prefix, body, min }
}

const SHAPES: &[Shape] = &[
    shape("eyJ", Body::Jwt, 0),
    // AWS access key ids (long-lived and temporary).
    shape("AKIA", Body::Upper, 16),
    shape("ASIA", Body::Upper, 16),
    // Google API keys: `AIza` + 35.
    shape("AIza", Body::Base64Url, 35),
    // Stripe secret, restricted and webhook-signing keys.
    shape("sk_live_", Body::Alnum, 16),
    shape("sk_test_", Body::Alnum, 16),
    shape("rk_live_", Body::Alnum, 16),
    shape("rk_test_", Body::Alnum, 16),
    shape("whsec_", Body::Alnum, 16),
    // GitHub tokens (36 after the prefix today; 20 leaves room for older ones).
    shape("ghp_", Body::Alnum, 20),
    shape("gho_", Body::Alnum, 20),
    shape("ghs_", Body::Alnum, 20),
    shape("ghu_", Body::Alnum, 20),
    shape("ghr_", Body::Alnum, 20),
    shape("github_pat_", Body::AlnumUnderscore, 22),
    // GitLab personal access tokens.
    shape("glpat-", Body::Base64Url, 20),
    // Slack tokens.
    shape("xoxa-", Body::AlnumDash, 11),
    shape("xoxb-", Body::AlnumDash, 11),
    shape("xoxp-", Body::AlnumDash, 11),
    shape("xoxr-", Body::AlnumDash, 11),
    shape("xoxs-", Body::AlnumDash, 11),
    // npm access tokens.
    shape("npm_", Body::Alnum, 36),
    shape("-----BEGIN", Body::Pem, 0),
];

/// One automaton over every prefix: Teddy (SIMD) finds candidates, the body check confirms.
static SHAPE_PREFIXES: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostFirst)
        .build(SHAPES.iter().map(|s| s.prefix))
        .expect("the shape prefixes are a valid automaton")
});

/// Scans `s` and pushes an edit for every secret found.
///
/// Shapes and cards are found first; named values then treat their spans, and pseudonyms
/// already in the text, as opaque: a name is what follows the last of them, and an unquoted
/// value runs on through them. The first pass sees a secret where the second sees its
/// pseudonym, so both read the same names and values, which keeps redaction idempotent.
pub(super) fn scan(r: &Redactor, s: &str, out: &mut Vec<Edit>) {
    scan_skipping(r, s, &[], out);
}

/// Whether no scan (free text, URL or query) can find anything in `b`, by a test cheaper than
/// any of them: without `=` or `:` there is no named value and no query parameter, and under
/// 13 bytes no card number or key shape. Short values (a method, a version, a status) go no
/// further.
#[inline]
pub(super) fn holds_nothing_to_scan(b: &[u8]) -> bool {
    // A plain loop: for so few bytes, cheaper than a SIMD search's set-up.
    b.len() < CARD_DIGITS_MIN.min(SHAPE_BYTES_MIN) && !b.iter().any(|&c| c == b'=' || c == b':')
}

/// Whether `scan` (and so every settling pass after it) finds nothing in `b`, fills no id and
/// counts nothing, proved by the very prefilters the scans run behind, without their work
/// (the edits, the URL pass, the settling). `false` proves nothing: the full pass must run.
///
/// What it proves, finder by finder (see [`scan_skipping`] and `url.rs`):
/// - key shapes and JWTs: [`might_hold_shape`] says none can start here;
/// - card numbers: [`might_hold_card`] says no run of 13 card bytes is here;
/// - query parameters: only a `name=value` pair is ever looked at, so a query without `=`,
///   or a URL without `?` or without `=`, has none;
/// - values under a name: each `=` and `:` (but a URL's `://`, which the scan passes over too)
///   has before it a name that the name rule finds ordinary, read with no opaque span in the
///   way (none can be: there is no shape, no card, and no pseudonym in the value);
/// - `scheme://user:password@host`: no `@` after a `://`.
pub(super) fn finds_nothing(b: &[u8], scan: Scan) -> bool {
    if b.len() < SECRET_BYTES_MIN && scan == Scan::Text {
        return true;
    }
    let marks = Marks::of(b);
    let query_pairs = match scan {
        Scan::Text => false,
        Scan::Url | Scan::UrlFillingIds => marks.has(EQUALS) && marks.has(QUESTION),
        Scan::Query => marks.has(EQUALS),
    };
    if query_pairs || might_hold_shape(b, &marks) || might_hold_card(b) {
        return false;
    }
    if !marks.has(SEPARATOR) {
        return true;
    }
    if marks.has(AT) && memmem::find(b, b"://").is_some() {
        return false;
    }
    if marks.has(UNDERSCORE) && memchr_iter(b'_', b).any(|us| pseudonym_at(b, us).is_some()) {
        return false;
    }
    memchr2_iter(b'=', b':', b).all(|p| {
        (b[p] == b':' && b[p + 1..].starts_with(b"//"))
            || name_before(b, p, &[]).is_none_or(|name| classify(name).is_none())
    })
}

/// [`scan`], leaving alone the `=` at the positions in `handled` (sorted): the query pass has
/// already judged the names before them.
pub(super) fn scan_skipping(r: &Redactor, s: &str, handled: &[u32], out: &mut Vec<Edit>) {
    let b = s.as_bytes();
    if b.len() < SECRET_BYTES_MIN {
        return;
    }
    let first = out.len();
    let marks = Marks::of(b);
    if might_hold_shape(b, &marks) {
        shapes(r, b, out);
    }
    if might_hold_card(b) {
        cards(r, b, out);
    }
    if marks.has(SEPARATOR) {
        let mut opaque: Vec<(usize, usize)> =
            out[first..].iter().map(|e| (e.start, e.end)).collect();
        if marks.has(UNDERSCORE) {
            opaque.extend(memchr_iter(b'_', b).filter_map(|us| pseudonym_at(b, us)));
        }
        opaque.sort_unstable();
        named_values(r, b, memchr2_iter(b'=', b':', b), &opaque, handled, out);
        if marks.has(AT) {
            url_userinfo(r, b, out);
        }
    }
}

// The bytes the finders start from.
const SEPARATOR: u8 = 1;
const AT: u8 = 2;
const UNDERSCORE: u8 = 4;
const DASH: u8 = 8;
const CAPITAL_J: u8 = 16;
const CAPITAL_A: u8 = 32;
// Not starts of their own, but what the query passes need before they can find anything.
const EQUALS: u8 = 64;
const QUESTION: u8 = 128;

const fn byte_flag_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    t[b'=' as usize] = SEPARATOR | EQUALS;
    t[b'?' as usize] = QUESTION;
    t[b':' as usize] = SEPARATOR;
    t[b'@' as usize] = AT;
    t[b'_' as usize] = UNDERSCORE;
    t[b'-' as usize] = DASH;
    t[b'J' as usize] = CAPITAL_J;
    t[b'A' as usize] = CAPITAL_A;
    t
}
static BYTE_FLAGS: [u8; 256] = byte_flag_table();

/// Which marked bytes a string holds: one pass over a table, so that the SIMD searches run
/// only for the kinds of byte that are there.
struct Marks {
    flags: u8,
}

impl Marks {
    fn of(b: &[u8]) -> Marks {
        Marks { flags: b.iter().fold(0, |flags, &c| flags | BYTE_FLAGS[usize::from(c)]) }
    }

    fn has(&self, flags: u8) -> bool {
        self.flags & flags != 0
    }
}

/// A shape holds at least this many bytes (`xoxb-` + 11 is the shortest).
const SHAPE_BYTES_MIN: usize = 16;

/// A cheap necessary condition for [`shapes`], from SIMD searches for the bytes that anchor
/// each prefix (`J` of `eyJ`, the first `_` or `-` after a prefix, the `A` of `AKIA`): a user
/// agent or a path seldom has one, and then skips the automaton. `shape_prefixes_are_anchored`
/// keeps it in step with [`SHAPES`].
fn might_hold_shape(b: &[u8], marks: &Marks) -> bool {
    if b.len() < SHAPE_BYTES_MIN {
        return false;
    }
    let ends = |i: usize, prefixes: &[&[u8]]| prefixes.iter().any(|p| b[..i].ends_with(p));
    let anchored = marks.has(CAPITAL_J | UNDERSCORE | DASH)
        && memchr3_iter(b'J', b'_', b'-', b).any(|i| match b[i] {
            b'J' => ends(i, &[b"ey"]),
            b'_' => {
                ends(i, &[b"sk", b"rk", b"whsec", b"ghp", b"gho", b"ghs", b"ghu", b"ghr"])
                    || ends(i, &[b"github", b"npm"])
            }
            _ => {
                ends(i, &[b"glpat", b"xoxa", b"xoxb", b"xoxp", b"xoxr", b"xoxs"])
                    || b[i..].starts_with(b"-----BEGIN")
            }
        });
    anchored
        || (marks.has(CAPITAL_A)
            && memchr_iter(b'A', b)
                .any(|i| matches!(b.get(i + 1..i + 4), Some(b"KIA" | b"SIA" | b"Iza"))))
}

const fn repeat(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}
const HIGH_BITS: u64 = repeat(0x80);

/// The high bit of each byte of `w` set where that byte is `lo..=hi` (SWAR, ASCII ranges).
fn in_range(w: u64, lo: u8, hi: u8) -> u64 {
    let x = w & !HIGH_BITS;
    // Below 0x80 no byte carries into the next: x + (0x80 - lo) has its high bit set iff
    // x >= lo.
    let ge_lo = x + repeat(0x80 - lo);
    let gt_hi = x + repeat(0x80 - hi - 1);
    ge_lo & !gt_hi & !w & HIGH_BITS
}

/// The high bit of each byte of `w` set where that byte is `byte` (SWAR).
fn equal_to(w: u64, byte: u8) -> u64 {
    let v = w ^ repeat(byte);
    !(((v & !HIGH_BITS) + !HIGH_BITS) | v) & HIGH_BITS
}

/// A cheap necessary condition for [`cards`]: 13 bytes in a row that are digits, spaces or
/// dashes (or `.` and `/`, which cost less to let through than to keep out), as any card
/// number has. Eight bytes at a time (SWAR), carrying the run from one word to the next.
fn might_hold_card(b: &[u8]) -> bool {
    if b.len() < CARD_DIGITS_MIN || !has_digits(b, CARD_DIGITS_MIN) {
        return false;
    }
    let mut run = 0u32;
    let mut at = 0;
    while at < b.len() {
        let w = word_at(b, at);
        at += 8;
        // `-` to `9` takes in `.` and `/` too: a wider net, checked exactly afterwards.
        let cardish = in_range(w, b'-', b'9') | equal_to(w, b' ');
        // One bit per byte, the first byte lowest: the high bits gathered by a multiply.
        let bits = ((cardish >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8;
        if bits == 0xff {
            run += 8;
        } else {
            // A run inside one word is at most 7 bytes: only runs across words can reach 13.
            if run + bits.trailing_ones() >= CARD_DIGITS_MIN as u32 {
                return true;
            }
            run = bits.leading_ones();
        }
        if run >= CARD_DIGITS_MIN as u32 {
            return true;
        }
    }
    false
}

/// Whether `b` holds at least `n` ASCII digits (a card number has 13): eight bytes at a time
/// (SWAR), far cheaper than the run test, which only values with that many digits then take.
fn has_digits(b: &[u8], n: usize) -> bool {
    let mut digits = 0;
    let mut at = 0;
    while at < b.len() {
        let w = word_at(b, at);
        at += 8;
        // One bit per digit, at each byte's bottom; the multiply sums the bytes into the top.
        let ones = in_range(w, b'0', b'9') >> 7;
        digits += (ones.wrapping_mul(repeat(1)) >> 56) as usize;
        if digits >= n {
            return true;
        }
    }
    false
}

/// The eight bytes of `b` from `at` as a little-endian word, the first byte lowest; past the
/// end of `b`, zero bytes (which no finder looks for). A tail is read as the last eight bytes
/// and shifted rather than copied, which would cost a `memcpy` call.
fn word_at(b: &[u8], at: usize) -> u64 {
    if let Some(word) = b.get(at..at + 8) {
        return u64::from_le_bytes(word.try_into().expect("8 bytes"));
    }
    let rest = b.len() - at;
    if b.len() >= 8 {
        let last: [u8; 8] = b[b.len() - 8..].try_into().expect("8 bytes");
        u64::from_le_bytes(last) >> (8 * (8 - rest))
    } else {
        b[at..].iter().rev().fold(0u64, |w, &c| w << 8 | u64::from(c))
    }
}

/// An edit replacing `b[span]` with its pseudonym of `kind`.
fn edit(
    r: &Redactor,
    b: &[u8],
    span: (usize, usize),
    priority: u8,
    found: Found,
    kind: &'static str,
) -> Edit {
    let (start, end) = span;
    let replacement = r.pseudonym_bytes(kind, &b[start..end]);
    Edit { start, end, priority, found, kind: Some(kind), replacement }
}

// ---------------------------------------------------------------------------------------------
// `name=value`, `name: value`, `"name": "value"`

fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'[' | b']')
}

/// Where an unquoted value ends. Passwords may hold these characters too; stopping early
/// would show the rest, so the list keeps to what ends a value in query strings, JSON, logfmt
/// and header-like text.
fn is_value_end(c: u8) -> bool {
    c <= b' '
        || c == 0x7f
        || matches!(c, b'&' | b',' | b';' | b'"' | b'\'' | b'}' | b']' | b')' | b'<' | b'>' | b'|')
}

/// The name just before the `=` or `:` at `p`: bare (`token=`) or quoted (`"token":`), and
/// only what follows the last opaque span in it.
fn name_before<'b>(b: &'b [u8], p: usize, opaque: &[(usize, usize)]) -> Option<&'b [u8]> {
    let mut end = p;
    while end > 0 && p - end < GAP_BYTES_MAX && matches!(b[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    let mut start = match end.checked_sub(1).map(|i| b[i]) {
        Some(q @ (b'"' | b'\'')) => {
            let close = end - 1;
            let from = close.saturating_sub(NAME_BYTES_MAX);
            from + memchr::memrchr(q, &b[from..close])? + 1
        }
        _ => {
            let mut start = end;
            while start > 0 && end - start < NAME_BYTES_MAX && is_name_byte(b[start - 1]) {
                start -= 1;
            }
            start
        }
    };
    for &(_, oe) in opaque.iter().take_while(|(os, _)| *os < end) {
        if oe > start {
            start = oe.min(end);
        }
    }
    let name = &b[start..end];
    (!name.is_empty()).then_some(name)
}

/// The end of the opaque span that `at` is strictly inside, if any.
fn inside_opaque(opaque: &[(usize, usize)], at: usize) -> Option<usize> {
    opaque.iter().take_while(|(os, _)| *os < at).filter(|(_, oe)| *oe > at).map(|(_, oe)| *oe).max()
}

/// Where an unquoted value from `start` ends: at a value end that is not inside an opaque
/// span (a card's spaces, a private key block's lines belong to the value).
fn unquoted_end(b: &[u8], start: usize, opaque: &[(usize, usize)]) -> usize {
    let mut end = start;
    loop {
        end += b[end..].iter().position(|&c| is_value_end(c)).unwrap_or(b.len() - end);
        match inside_opaque(opaque, end) {
            Some(oe) if oe > end => end = oe,
            _ => return end,
        }
    }
}

/// A value after `=` or `:`: `start..end` is what to hide, `resume` where scanning goes on.
struct ValueSpan {
    start: usize,
    end: usize,
    resume: usize,
    quoted: bool,
}

fn value_after(b: &[u8], mut i: usize, opaque: &[(usize, usize)]) -> Option<ValueSpan> {
    let gap_end = (i + GAP_BYTES_MAX).min(b.len());
    while i < gap_end && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    match *b.get(i)? {
        q @ (b'"' | b'\'') => {
            // A closing quote inside an opaque span belongs to the secret: look on after it.
            let mut j = i + 1;
            loop {
                while j < b.len() && b[j] != q {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                match inside_opaque(opaque, j) {
                    Some(oe) if j < b.len() => j = oe,
                    _ => break,
                }
            }
            let end = j.min(b.len());
            Some(ValueSpan { start: i + 1, end, resume: end + 1, quoted: true })
        }
        // JSON inside a JSON string: `\"token\":\"x\"`.
        b'\\' if b.get(i + 1) == Some(&b'"') => {
            let start = i + 2;
            let mut end = start;
            loop {
                end += memmem::find(&b[end..], b"\\\"").unwrap_or(b.len() - end);
                match inside_opaque(opaque, end) {
                    Some(oe) if end < b.len() => end = oe,
                    _ => break,
                }
            }
            Some(ValueSpan { start, end, resume: end + 2, quoted: true })
        }
        // A nested object or list: its own names are looked at one by one.
        b'{' | b'[' | b'=' | b':' => None,
        _ => {
            let end = unquoted_end(b, i, opaque);
            Some(ValueSpan { start: i, end, resume: end, quoted: false })
        }
    }
}

/// `Bearer`, `Basic`, `Token`, `Digest` before credentials: the scheme stays readable.
fn scheme_kind(word: &[u8]) -> Option<&'static str> {
    if word.eq_ignore_ascii_case(b"bearer") || word.eq_ignore_ascii_case(b"token") {
        Some("tok")
    } else if word.eq_ignore_ascii_case(b"basic") {
        Some("pwd")
    } else if word.eq_ignore_ascii_case(b"digest") {
        Some("cred")
    } else {
        None
    }
}

/// JSON and config literals that are no secret even under a secret name.
fn is_literal(v: &[u8]) -> bool {
    [&b"null"[..], b"true", b"false", b"undefined", b"none", b"nil"]
        .iter()
        .any(|l| v.eq_ignore_ascii_case(l))
}

fn named_values(
    r: &Redactor,
    b: &[u8],
    separators: impl Iterator<Item = usize>,
    opaque: &[(usize, usize)],
    handled: &[u32],
    out: &mut Vec<Edit>,
) {
    let mut next = 0;
    for p in separators {
        if p < next
            // A URL's scheme (`https://`): its userinfo is looked at by `url_userinfo`.
            || (b[p] == b':' && b[p + 1..].starts_with(b"//"))
            || (b[p] == b'=' && u32::try_from(p).is_ok_and(|p| handled.binary_search(&p).is_ok()))
            || inside_opaque(opaque, p).is_some()
        {
            continue;
        }
        let Some(name) = name_before(b, p, opaque) else { continue };
        let Some(class) = classify(name) else { continue };
        let Some(mut v) = value_after(b, p + 1, opaque) else { continue };
        next = v.resume;
        let mut kind = class.kind();
        // `Authorization: Bearer x` or `"authorization": "Basic x"`.
        let first_word_end =
            b[v.start..v.end].iter().position(|&c| c == b' ').map_or(v.end, |k| v.start + k);
        if let Some(scheme) = scheme_kind(&b[v.start..first_word_end]) {
            let mut cred = first_word_end;
            if !v.quoted {
                // The unquoted value stopped at the space; the credentials are the next word.
                while cred < b.len() && cred - first_word_end < GAP_BYTES_MAX && b[cred] == b' ' {
                    cred += 1;
                }
                let end = unquoted_end(b, cred, opaque);
                v.end = end;
                next = end;
            } else {
                while cred < v.end && b[cred] == b' ' {
                    cred += 1;
                }
            }
            if cred < v.end {
                v.start = cred;
                kind = scheme;
            }
        }
        let value = &b[v.start..v.end];
        if value.is_empty()
            || is_pseudonyms(value)
            || is_masked(&super::url::percent_decode(value, false))
            || (!v.quoted && is_literal(value))
        {
            continue;
        }
        out.push(edit(r, b, (v.start, v.end), PRIORITY_TEXT_NAMED, Found::Named, kind));
    }
}

/// `scheme://user:password@host`: the password.
fn url_userinfo(r: &Redactor, b: &[u8], out: &mut Vec<Edit>) {
    for m in memmem::find_iter(b, b"://") {
        let start = m + 3;
        let len = b[start..]
            .iter()
            .position(|&c| matches!(c, b'/' | b'?' | b'#') || is_value_end(c))
            .unwrap_or(b.len() - start);
        let authority = &b[start..start + len];
        let Some(at) = memchr::memrchr(b'@', authority) else { continue };
        let Some(colon) = memchr(b':', &authority[..at]) else { continue };
        let (ps, pe) = (start + colon + 1, start + at);
        if ps < pe && !is_pseudonyms(&b[ps..pe]) {
            let kind = Secret::Password.kind();
            out.push(edit(r, b, (ps, pe), PRIORITY_TEXT_NAMED, Found::Named, kind));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Key shapes and JWTs

fn run_len(b: &[u8], from: usize, ok: impl Fn(u8) -> bool) -> usize {
    b[from..].iter().position(|&c| !ok(c)).unwrap_or(b.len() - from)
}

fn is_base64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// The end of a JWT starting at `start` (on its `eyJ`), or `None` when it is not one:
/// `header.payload.signature` (signature may be empty), up to five segments (JWE), or a
/// token cut after its payload when that payload is JSON too (`eyJ…`).
fn jwt_end(b: &[u8], start: usize) -> Option<usize> {
    let header_end = start + run_len(b, start, is_base64url);
    if header_end - start < JWT_HEADER_BYTES_MIN || b.get(header_end) != Some(&b'.') {
        return None;
    }
    let payload_start = header_end + 1;
    let mut end = payload_start + run_len(b, payload_start, is_base64url);
    if end - payload_start < JWT_PAYLOAD_BYTES_MIN {
        return None;
    }
    let mut segments = 2;
    while segments < JWT_SEGMENTS_MAX && b.get(end) == Some(&b'.') {
        let next = end + 1 + run_len(b, end + 1, is_base64url);
        if next == end + 1 {
            if segments == 2 {
                // An unsecured JWT (`alg: none`) ends with its empty signature's dot.
                end += 1;
                segments += 1;
            }
            break;
        }
        end = next;
        segments += 1;
    }
    (segments > 2 || b[payload_start..].starts_with(b"eyJ")).then_some(end)
}

/// The end of a private key block starting at `start` (on `-----BEGIN`); a block cut off
/// before its `-----END` runs to the end of the string.
fn pem_end(b: &[u8], start: usize) -> Option<usize> {
    let label_start = start + "-----BEGIN".len();
    let window = &b[label_start..(label_start + PEM_LABEL_BYTES_MAX).min(b.len())];
    let label_len = memmem::find(window, b"-----")?;
    memmem::find(&window[..label_len], b"PRIVATE")?;
    let body = label_start + label_len + 5;
    let Some(end_at) = memmem::find(&b[body..], b"-----END").map(|k| body + k) else {
        return Some(b.len());
    };
    let after = end_at + "-----END".len();
    let tail = &b[after..(after + PEM_LABEL_BYTES_MAX).min(b.len())];
    Some(memmem::find(tail, b"-----").map_or(b.len(), |k| after + k + 5))
}

/// Where the first pseudonym at or after `from` starts (or the end of `b`). A shape's body
/// stops there, so that text glued to a pseudonym (`sk_live_abc` + `key_…`) reads the same
/// after redaction as before it.
fn next_pseudonym(b: &[u8], from: usize) -> usize {
    memchr::memchr_iter(b'_', &b[from..])
        .filter_map(|k| pseudonym_at(b, from + k))
        .map(|(start, _)| start)
        .find(|&start| start >= from)
        .unwrap_or(b.len())
}

fn shapes(r: &Redactor, b: &[u8], out: &mut Vec<Edit>) {
    let mut covered = 0;
    for m in SHAPE_PREFIXES.find_iter(b) {
        if m.start() < covered {
            continue;
        }
        let b = &b[..next_pseudonym(b, m.start())];
        if b.len() < m.end() {
            continue;
        }
        let shape = &SHAPES[m.pattern().as_usize()];
        let end = match shape.body {
            Body::Jwt => jwt_end(b, m.start()),
            Body::Pem => pem_end(b, m.start()),
            body => {
                let ok = |c: u8| match body {
                    Body::Upper => c.is_ascii_uppercase() || c.is_ascii_digit(),
                    Body::Alnum => c.is_ascii_alphanumeric(),
                    Body::AlnumUnderscore => c.is_ascii_alphanumeric() || c == b'_',
                    Body::AlnumDash => c.is_ascii_alphanumeric() || c == b'-',
                    Body::Base64Url | Body::Jwt | Body::Pem => is_base64url(c),
                };
                let n = run_len(b, m.end(), ok);
                (n >= shape.min).then_some(m.end() + n)
            }
        };
        let Some(end) = end else { continue };
        let (found, kind) = match shape.body {
            Body::Jwt => (Found::Jwt, "jwt"),
            _ => (Found::KeyShape, "key"),
        };
        out.push(edit(r, b, (m.start(), end), PRIORITY_SHAPE, found, kind));
        covered = end;
    }
}

// ---------------------------------------------------------------------------------------------
// Payment card numbers

/// Letters, digits and `_` glue a digit run into a word (a hex id, a pseudonym, `id_123…`),
/// which is then not a card number.
fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Luhn's check over ASCII digits.
fn luhn_ok(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 {
                    d2 - 9
                } else {
                    d2
                }
            } else {
                d
            }
        })
        .sum();
    // (`is_multiple_of` is newer than the workspace's minimum Rust.)
    sum.checked_rem(10) == Some(0)
}

/// 13–19 digits, a payment-card major industry identifier (2 Mastercard, 3 Amex/JCB/Diners,
/// 4 Visa, 5 Mastercard/Maestro, 6 Discover/UnionPay/Maestro) and Luhn-valid. The first digit
/// rule keeps epoch timestamps in ms, µs and ns (which start with 1) out.
fn is_card(digits: &[u8]) -> bool {
    (CARD_DIGITS_MIN..=CARD_DIGITS_MAX).contains(&digits.len())
        && matches!(digits[0], b'2'..=b'6')
        && luhn_ok(digits)
}

/// Digit runs with single-space or single-dash separators (one kind per run), not glued to a
/// word, looked at group window by group window: the longest card number from each group on.
fn cards(r: &Redactor, b: &[u8], out: &mut Vec<Edit>) {
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        if i > 0 && is_word_byte(b[i - 1]) {
            while i < b.len() && is_word_byte(b[i]) {
                i += 1;
            }
            continue;
        }
        let mut groups = [(0usize, 0usize); CARD_GROUPS_MAX];
        let mut n = 0;
        let mut sep = None;
        let mut j = i;
        // Whether the run stopped on a group that may begin another run (a different
        // separator, or the group cap): `42 4000-0000-0000-0002` is two runs sharing `4000`.
        let overlaps_next;
        loop {
            let start = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            groups[n] = (start, j);
            n += 1;
            let next_sep = b.get(j).copied().filter(|c| matches!(c, b' ' | b'-'));
            let more = next_sep.is_some() && b.get(j + 1).is_some_and(u8::is_ascii_digit);
            if more && n < CARD_GROUPS_MAX && (sep.is_none() || sep == next_sep) {
                sep = next_sep;
                j += 1;
                continue;
            }
            overlaps_next = more && n > 1;
            break;
        }
        let last_start = groups[n - 1].0;
        // A last group glued to letters is part of a word, not of a card number.
        if j < b.len() && is_word_byte(b[j]) {
            n -= 1;
        }
        card_windows(r, b, &groups[..n], out);
        i = if overlaps_next { last_start } else { j };
    }
}

fn card_windows(r: &Redactor, b: &[u8], groups: &[(usize, usize)], out: &mut Vec<Edit>) {
    let mut digits = [0u8; CARD_DIGITS_MAX];
    let mut first = 0;
    while first < groups.len() {
        let mut best = None;
        let mut count = 0;
        for (last, &(gs, ge)) in groups.iter().enumerate().skip(first) {
            if count + (ge - gs) > CARD_DIGITS_MAX {
                break;
            }
            digits[count..count + ge - gs].copy_from_slice(&b[gs..ge]);
            count += ge - gs;
            if is_card(&digits[..count]) {
                best = Some(last);
            }
        }
        match best {
            Some(last) => {
                let (start, end) = (groups[first].0, groups[last].1);
                out.push(edit(r, b, (start, end), PRIORITY_SHAPE, Found::Card, "card"));
                first = last + 1;
            }
            None => first += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn() {
        assert!(luhn_ok(b"4111111111111111"));
        assert!(luhn_ok(b"378282246310005"));
        assert!(!luhn_ok(b"4111111111111112"));
        assert!(!is_card(b"1700000000000")); // a timestamp in ms, whatever its check digit
    }

    #[test]
    fn shape_prefixes_are_anchored() {
        for shape in SHAPES {
            let text = format!("x {}{} y", shape.prefix, "A".repeat(40));
            assert!(
                might_hold_shape(text.as_bytes(), &Marks::of(text.as_bytes())),
                "{}",
                shape.prefix
            );
        }
        let ua = b"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit";
        assert!(!might_hold_shape(ua, &Marks::of(ua)));
    }

    #[test]
    fn card_prefilter() {
        assert!(might_hold_card(b"4111111111111111"));
        assert!(might_hold_card(b"x 4 1 1 1 1 1 1 1 1 1 1 1 1"));
        assert!(might_hold_card(b"abcdefg 411-1111-1111-1111"));
        assert!(!might_hold_card(b"abcdefg411-1111-111x1111"));
        assert!(!might_hold_card(b"xxxxxxx_123456789012_xxxxxxxxxxxxxxxxxxxx"));
        assert!(!might_hold_card(b"Chrome/120.0.0.0 Safari/537.36 (Win64; x64) 12.34.56"));
        assert!(!might_hold_card(b"Gecko/20100101 Firefox/128.0 and 1-2 3"));
        for byte in 0..=255u8 {
            let w = u64::from_le_bytes([byte; 8]);
            assert_eq!(equal_to(w, b'-') != 0, byte == b'-', "{byte}");
            assert_eq!(in_range(w, b'0', b'9') != 0, byte.is_ascii_digit(), "{byte}");
        }
        for len in 13..40 {
            let digits = "4".repeat(len);
            for pad in 0..9 {
                let text = format!("{}{digits}{}", "x".repeat(pad), "y".repeat(pad));
                assert!(might_hold_card(text.as_bytes()), "{text}");
            }
        }
    }

    #[test]
    fn digit_counts_and_card_runs_match_a_byte_by_byte_reading() {
        let naive_run = |b: &[u8]| {
            let mut run = 0;
            b.iter().any(|&c| {
                run = if (b'-'..=b'9').contains(&c) || c == b' ' { run + 1 } else { 0 };
                run >= CARD_DIGITS_MIN
            })
        };
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let alphabet = b"0123456789 -./xA_";
        for len in 0..70 {
            for _ in 0..60 {
                let b: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        alphabet[usize::try_from(seed % 17).unwrap()]
                    })
                    .collect();
                let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
                for n in [1, CARD_DIGITS_MIN, 40] {
                    assert_eq!(has_digits(&b, n), digits >= n, "{:?}", String::from_utf8_lossy(&b));
                }
                let run = naive_run(&b) && digits >= CARD_DIGITS_MIN;
                assert_eq!(might_hold_card(&b), run, "{:?}", String::from_utf8_lossy(&b));
            }
        }
    }

    #[test]
    fn jwt_bounds() {
        let t = b"x eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln y";
        assert_eq!(jwt_end(t, 2), Some(t.len() - 2));
        let unsecured = b"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.";
        assert_eq!(jwt_end(unsecured, 0), Some(unsecured.len()));
        assert_eq!(jwt_end(b"eyJhbGciOiJIUzI1NiJ9.json", 0), None);
        assert_eq!(jwt_end(b"eyJ.a.b", 0), None);
    }
}
