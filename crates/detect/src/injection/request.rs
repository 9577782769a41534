//! Which client-controlled parts of a request are scanned, and for which classes.
//!
//! The path and every query parameter (name and value) are scanned for every class; the user
//! agent, the referrer and the other request headers for every class but SSRF, since the
//! server does not fetch them and a `localhost` referrer is ordinary in development. Headers
//! that redaction turned into pseudonyms are skipped: there is nothing of the client's left.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::Ordering;

use apiwatch_core::bytes::same_bytes;
use apiwatch_core::EventData;
use hashbrown::{DefaultHashBuilder, HashTable};

use super::{AttackClass, AttackSet, InjectionDetector};

/// Values scanned per request at most (path, parameter names and values, user agent,
/// referrer, headers). A real request has a few dozen; the rest of a request stuffed with
/// thousands of parameters is counted in `request_values_skipped`, not scanned.
pub const REQUEST_VALUES_MAX: usize = 256;

/// Request headers not scanned: the secrets redaction replaced by pseudonyms. (`user-agent`
/// and `referer` headers are skipped too when the event has those fields, which are scanned.)
pub const HEADERS_NOT_SCANNED: &[&str] =
    &["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"];

/// Distinct values remembered per [`ValueMemo`]. Paths, parameters, user agents, referrers
/// and header values repeat across requests, and scanning one costs from a few hundred
/// nanoseconds to microseconds where a lookup costs tens. When full, the memo is cleared
/// (counted), which keeps it bounded and simple: values seen once are what fills it, and the
/// repeated ones come back after one scan each.
pub const VALUE_MEMO_ENTRIES_MAX: usize = 8_192;

/// Bytes of values a [`ValueMemo`] holds at most (besides [`VALUE_MEMO_ENTRIES_MAX`]).
pub const VALUE_MEMO_BYTES_MAX: usize = 1 << 20;

/// Longest value remembered, in bytes: longer ones are scanned every time (they are rarely
/// repeated, and would crowd out the ones that are).
pub const VALUE_MEMO_VALUE_BYTES_MAX: usize = 1024;

/// Scan results of repeated request values, owned by one caller (one detection thread), so
/// no locking is needed. The hasher is seeded at random per process: the keys are attacker
/// text, and nothing depends on the table's order.
#[derive(Default)]
pub struct ValueMemo {
    entries: HashTable<MemoEntry>,
    hasher: DefaultHashBuilder,
    /// Bytes of the values in `entries`.
    bytes: usize,
    /// Times the memo was full and cleared.
    pub clears: u64,
}

struct MemoEntry {
    /// The full hash of `value`: compared before the bytes, and reused when the table grows.
    hash: u64,
    value: Box<[u8]>,
    /// Classes scanned for, and the classes found among them.
    scanned: AttackSet,
    found: AttackSet,
}

impl MemoEntry {
    fn holds(&self, hash: u64, value: &[u8]) -> bool {
        self.hash == hash && same_bytes(&self.value, value)
    }
}

impl fmt::Debug for ValueMemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValueMemo")
            .field("entries", &self.entries.len())
            .field("bytes", &self.bytes)
            .field("clears", &self.clears)
            .finish()
    }
}

impl ValueMemo {
    /// The key of a value the memo may hold, `None` for one it never holds.
    fn hash_of(&self, value: &[u8], scan_bytes_max: usize) -> Option<u64> {
        // A value over `scan_bytes_max` is counted as truncated each time it is scanned.
        (value.len() <= VALUE_MEMO_VALUE_BYTES_MAX.min(scan_bytes_max)).then(|| {
            // The bytes alone, in one call: every key is hashed the same way, so the length
            // prefix `Hash for [u8]` adds would only cost a second round.
            let mut h = self.hasher.build_hasher();
            h.write(value);
            h.finish()
        })
    }

    /// The classes found in `value` among `wanted`, when all of `wanted` were scanned for.
    fn get(&self, hash: u64, value: &[u8], wanted: AttackSet) -> Option<AttackSet> {
        let e = self.entries.find(hash, |e| e.holds(hash, value))?;
        wanted.difference(e.scanned).is_empty().then(|| e.found.intersection(wanted))
    }

    /// Remembers that `value` was scanned for `scanned` and `found` among them.
    fn put(&mut self, hash: u64, value: &[u8], scanned: AttackSet, found: AttackSet) {
        if let Some(e) = self.entries.find_mut(hash, |e| e.holds(hash, value)) {
            e.found = e.found.difference(scanned).union(found);
            e.scanned = e.scanned.union(scanned);
            return;
        }
        if self.entries.len() >= VALUE_MEMO_ENTRIES_MAX
            || self.bytes + value.len() > VALUE_MEMO_BYTES_MAX
        {
            self.entries.clear();
            self.bytes = 0;
            self.clears += 1;
        }
        self.bytes += value.len();
        let entry = MemoEntry { hash, value: value.into(), scanned, found };
        self.entries.insert_unique(hash, entry, |e| e.hash);
    }
}

/// Bytes of a value that cannot carry any class: ASCII letters, digits, `_` and `-`.
const WORD_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
        b += 1;
    }
    t
};

/// Whether the detector finds nothing in `value` whatever is wanted, by the rule it applies
/// first: letters, digits, `_` and single dashes (ids, page numbers, enum values, dates,
/// UUIDs) carry no class, and need no decoding. Such values (most query parameters) are
/// answered here, without hashing them for the memo.
fn is_plain_word(value: &[u8]) -> bool {
    let mut previous = 0u8;
    for &b in value {
        if !WORD_BYTES[usize::from(b)] || (b == b'-' && previous == b'-') {
            return false;
        }
        previous = b;
    }
    true
}

/// Whether a header is one of [`HEADERS_NOT_SCANNED`]; by length first, since most headers
/// of a request are none of them and this runs for each.
fn is_not_scanned(name: &str) -> bool {
    match name.len() {
        6 => name == "cookie",
        9 => name == "x-api-key",
        10 => name == "set-cookie",
        13 => name == "authorization",
        19 => name == "proxy-authorization",
        _ => false,
    }
}

/// Scans values against a shared budget until every wanted class is found.
struct RequestScan<'a> {
    detector: &'a InjectionDetector,
    memo: Option<&'a mut ValueMemo>,
    wanted: AttackSet,
    found: AttackSet,
    budget: usize,
    skipped: u64,
}

impl RequestScan<'_> {
    fn done(&self) -> bool {
        self.found == self.wanted
    }

    /// Scans one value for `classes` (those still wanted), taking one value of the budget.
    fn scan(&mut self, value: &[u8], classes: AttackSet) {
        self.scan_value(value, classes, false);
    }

    /// Like `scan`, but a value the memo already knows costs no budget (user agents and
    /// referrers, which were remembered before the other parts were).
    fn scan_repeated(&mut self, value: &[u8], classes: AttackSet) {
        self.scan_value(value, classes, true);
    }

    fn scan_value(&mut self, value: &[u8], classes: AttackSet, free_when_known: bool) {
        let remaining = classes.intersection(self.wanted).difference(self.found);
        if remaining.is_empty() || value.is_empty() {
            return;
        }
        let scan_bytes_max = self.detector.scan_bytes_max;
        if !free_when_known {
            if self.budget == 0 {
                self.skipped += 1;
                return;
            }
            self.budget -= 1;
            // A longer value is scanned to be counted as truncated.
            if value.len() <= scan_bytes_max && is_plain_word(value) {
                return;
            }
        }
        let hash = self.memo.as_deref().and_then(|m| m.hash_of(value, scan_bytes_max));
        if let (Some(m), Some(h)) = (self.memo.as_deref(), hash) {
            if let Some(found) = m.get(h, value, remaining) {
                self.found = self.found.union(found);
                return;
            }
        }
        if free_when_known {
            if self.budget == 0 {
                self.skipped += 1;
                return;
            }
            self.budget -= 1;
        }
        let found = self.detector.scan_bytes(value, remaining);
        if let (Some(m), Some(h)) = (self.memo.as_deref_mut(), hash) {
            m.put(h, value, remaining, found);
        }
        self.found = self.found.union(found);
    }
}

impl InjectionDetector {
    /// Classes found, among `wanted`, anywhere the client controls in a request: the decoded
    /// path, each query parameter's name and value, the user agent, the referrer and the
    /// request headers (not those in [`HEADERS_NOT_SCANNED`]).
    pub fn scan_request(&self, ev: &EventData, wanted: AttackSet) -> AttackSet {
        self.scan_request_parts(ev, wanted, None)
    }

    /// [`Self::scan_request`], remembering the result for each value in `memo` (the caller
    /// keeps one per thread) and answering from it for values seen before.
    pub fn scan_request_memo(
        &self,
        ev: &EventData,
        wanted: AttackSet,
        memo: &mut ValueMemo,
    ) -> AttackSet {
        self.scan_request_parts(ev, wanted, Some(memo))
    }

    fn scan_request_parts(
        &self,
        ev: &EventData,
        wanted: AttackSet,
        memo: Option<&mut ValueMemo>,
    ) -> AttackSet {
        let mut scan = RequestScan {
            detector: self,
            memo,
            wanted,
            found: AttackSet::EMPTY,
            budget: REQUEST_VALUES_MAX,
            skipped: 0,
        };
        let mut not_fetched = AttackSet::ALL;
        not_fetched.remove(AttackClass::Ssrf);
        if let Some(path) = &ev.url_path {
            scan.scan(path.as_bytes(), AttackSet::ALL);
        }
        if let Some(query) = &ev.url_query {
            // Split as bytes: queries are short, and a byte loop beats a string searcher's
            // set-up (`&` and `=` are ASCII, so the parts are what `str::split` gives).
            for pair in query.as_bytes().split(|&b| b == b'&') {
                if scan.done() {
                    break;
                }
                let (name, value) = match pair.iter().position(|&b| b == b'=') {
                    Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                    None => (pair, &pair[..0]),
                };
                scan.scan(name, AttackSet::ALL);
                scan.scan(value, AttackSet::ALL);
            }
        }
        if let Some(agent) = &ev.user_agent {
            scan.scan_repeated(agent.as_bytes(), not_fetched);
        }
        if let Some(referrer) = &ev.referrer {
            scan.scan_repeated(referrer.as_bytes(), not_fetched);
        }
        for (name, value) in &ev.headers {
            if scan.done() {
                break;
            }
            let already_scanned = (name == "user-agent" && ev.user_agent.is_some())
                || (name == "referer" && ev.referrer.is_some());
            if !already_scanned && !is_not_scanned(name) {
                scan.scan(value.as_bytes(), not_fetched);
            }
        }
        if scan.skipped > 0 {
            self.request_values_skipped.fetch_add(scan.skipped, Ordering::Relaxed);
        }
        scan.found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::injection::SCAN_BYTES_MAX_MIN;

    fn event(path: &str, query: Option<&str>, agent: &str, headers: &[(&str, &str)]) -> EventData {
        EventData {
            url_path: Some(path.into()),
            url_query: query.map(str::to_string).map(Into::into),
            user_agent: Some(agent.into()),
            referrer: Some("https://shop.example/products".into()),
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            ..EventData::default()
        }
    }

    #[test]
    fn memo_answers_as_a_fresh_scan_does() {
        let d = InjectionDetector::new();
        let accept = ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        let events = [
            event("/api/v1/products/1", Some("page=2"), "Mozilla/5.0 (X11)", &[accept]),
            event("/api/v1/products/1", Some("q=1%27%20or%201%3D1--"), "curl/8.0", &[accept]),
            event("/files/..%2f..%2fetc%2fpasswd", None, "Mozilla/5.0 (X11)", &[accept]),
            event("/", Some("url=http%3A%2F%2Flocalhost%2F"), "${jndi:ldap://x/a}", &[]),
            event("/x", None, "Mozilla/5.0 (X11)", &[("x-note", "<script>alert(1)</script>")]),
        ];
        let mut sqli_xss = AttackSet::of(AttackClass::Sqli);
        sqli_xss.insert(AttackClass::Xss);
        let mut memo = ValueMemo::default();
        // Twice round, with overlapping class sets, so that entries are both made and
        // widened before they answer.
        for _ in 0..2 {
            for wanted in [sqli_xss, AttackSet::of(AttackClass::PathTraversal), AttackSet::ALL] {
                for ev in &events {
                    let fresh = d.scan_request(ev, wanted);
                    assert_eq!(d.scan_request_memo(ev, wanted, &mut memo), fresh, "{ev:?}");
                }
            }
        }
    }

    #[test]
    fn memo_keeps_the_value_budget() {
        let d = InjectionDetector::new();
        let query: Vec<String> = (0..REQUEST_VALUES_MAX).map(|i| format!("p{i}=v")).collect();
        let query = format!("{}&late=%3Cscript%3Ealert(1)%3C/script%3E", query.join("&"));
        let ev = event("/", Some(&query), "Mozilla/5.0 (X11)", &[]);
        let mut memo = ValueMemo::default();
        for _ in 0..2 {
            // Known values still count against the budget: the late payload stays unscanned.
            assert_eq!(d.scan_request_memo(&ev, AttackSet::ALL, &mut memo), AttackSet::EMPTY);
        }
    }

    #[test]
    fn plain_words_are_what_the_detector_finds_nothing_in() {
        let d = InjectionDetector::new();
        let mut plain = 0;
        // Every string of up to four bytes from letters, digits, `_`, `-` and a few bytes that
        // are not plain, and longer words around trigger words and dashes.
        let alphabet = [b'a', b'Z', b'0', b'_', b'-', b'/', b'%', b'.', b'\'', 0xC3];
        let mut values: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..4 {
            let longer: Vec<Vec<u8>> = values
                .iter()
                .flat_map(|v| alphabet.iter().map(move |&b| [v.as_slice(), &[b]].concat()))
                .collect();
            values.extend(longer);
        }
        for word in [
            "select",
            "union-select",
            "or-1-1",
            "script",
            "alert",
            "etc-passwd",
            "localhost",
            "169-254-169-254",
            "jndi",
            "where",
            "drop-table",
            "sleep-5",
            "a--b",
            "a-b-c",
            "x-1",
            "ne",
            "gt",
            "passwd",
            "win-ini",
            "metadata",
            "-",
            "--",
            "-a-",
            "2026-11-23",
        ] {
            values.push(word.as_bytes().to_vec());
            values.push(format!("{word}_{word}-1").into_bytes());
        }
        for v in &values {
            if is_plain_word(v) {
                plain += 1;
                assert_eq!(d.scan_bytes(v, AttackSet::ALL), AttackSet::EMPTY, "{v:?}");
            }
            let by_definition =
                v.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    && !v.windows(2).any(|w| w == b"--");
            assert_eq!(is_plain_word(v), by_definition, "{v:?}");
        }
        assert!(plain > 1000, "the plain path was exercised");
    }

    #[test]
    fn short_values_compare_as_slices_do() {
        let values: Vec<Vec<u8>> = (0..40)
            .flat_map(|n| {
                let base: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
                let mut out = vec![base.clone()];
                for at in 0..n {
                    let mut v = base.clone();
                    v[at] = b'#';
                    out.push(v);
                }
                out
            })
            .collect();
        for a in &values {
            for b in &values {
                assert_eq!(same_bytes(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn plain_values_keep_the_budget_and_the_truncation_count() {
        let d = InjectionDetector::new().with_scan_bytes_max(SCAN_BYTES_MAX_MIN);
        let long = "a".repeat(SCAN_BYTES_MAX_MIN + 1);
        let ev = EventData { url_path: Some(long.into()), ..EventData::default() };
        let mut memo = ValueMemo::default();
        d.scan_request_memo(&ev, AttackSet::ALL, &mut memo);
        assert_eq!(d.stats().values_truncated, 1, "a long plain value is still scanned");
        let query: Vec<String> = (0..REQUEST_VALUES_MAX).map(|i| format!("p{i}")).collect();
        let ev = EventData {
            url_query: Some(
                format!("{}&x=%3Cscript%3Ealert(1)%3C/script%3E", query.join("&")).into(),
            ),
            ..EventData::default()
        };
        assert_eq!(d.scan_request_memo(&ev, AttackSet::ALL, &mut memo), AttackSet::EMPTY);
        assert_eq!(d.stats().request_values_skipped, 2);
    }

    #[test]
    fn headers_not_scanned_by_length() {
        for name in HEADERS_NOT_SCANNED {
            assert!(is_not_scanned(name), "{name}");
        }
        for name in ["accept", "host", "x-api-version", "cookies", "authorization2", "user-agent"] {
            assert!(!is_not_scanned(name), "{name}");
        }
    }

    #[test]
    fn memo_is_bounded() {
        let d = InjectionDetector::new();
        let mut memo = ValueMemo::default();
        for i in 0..VALUE_MEMO_ENTRIES_MAX + 10 {
            let ev = EventData { url_path: Some(format!("/p/{i}").into()), ..EventData::default() };
            d.scan_request_memo(&ev, AttackSet::ALL, &mut memo);
        }
        assert_eq!(memo.clears, 1);
        assert!(memo.entries.len() <= VALUE_MEMO_ENTRIES_MAX && memo.bytes <= VALUE_MEMO_BYTES_MAX);
        let long = "a/".repeat(VALUE_MEMO_VALUE_BYTES_MAX);
        let ev = EventData { url_path: Some(long.into()), ..EventData::default() };
        let before = memo.entries.len();
        d.scan_request_memo(&ev, AttackSet::ALL, &mut memo);
        assert_eq!(memo.entries.len(), before, "long values are not remembered");
    }
}
