//! Which client-controlled parts of a request are scanned, and for which classes.
//!
//! The path and every query parameter (name and value) are scanned for every class; the user
//! agent, the referrer and the other request headers for every class but SSRF, since the
//! server does not fetch them and a `localhost` referrer is ordinary in development. Headers
//! that redaction turned into pseudonyms are skipped: there is nothing of the client's left.

use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::Ordering;

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
    value: Box<str>,
    /// Classes scanned for, and the classes found among them.
    scanned: AttackSet,
    found: AttackSet,
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
    fn hash_of(&self, value: &str, scan_bytes_max: usize) -> Option<u64> {
        // A value over `scan_bytes_max` is counted as truncated each time it is scanned.
        (value.len() <= VALUE_MEMO_VALUE_BYTES_MAX.min(scan_bytes_max))
            .then(|| self.hasher.hash_one(value.as_bytes()))
    }

    /// The classes found in `value` among `wanted`, when all of `wanted` were scanned for.
    fn get(&self, hash: u64, value: &str, wanted: AttackSet) -> Option<AttackSet> {
        let e = self.entries.find(hash, |e| *e.value == *value)?;
        wanted.difference(e.scanned).is_empty().then(|| e.found.intersection(wanted))
    }

    /// Remembers that `value` was scanned for `scanned` and `found` among them.
    fn put(&mut self, hash: u64, value: &str, scanned: AttackSet, found: AttackSet) {
        if let Some(e) = self.entries.find_mut(hash, |e| *e.value == *value) {
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
        let hasher = &self.hasher;
        self.entries.insert_unique(hash, MemoEntry { value: value.into(), scanned, found }, |e| {
            hasher.hash_one(e.value.as_bytes())
        });
    }
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
    fn scan(&mut self, value: &str, classes: AttackSet) {
        self.scan_value(value, classes, false);
    }

    /// Like `scan`, but a value the memo already knows costs no budget (user agents and
    /// referrers, which were remembered before the other parts were).
    fn scan_repeated(&mut self, value: &str, classes: AttackSet) {
        self.scan_value(value, classes, true);
    }

    fn scan_value(&mut self, value: &str, classes: AttackSet, free_when_known: bool) {
        let remaining = classes.intersection(self.wanted).difference(self.found);
        if remaining.is_empty() || value.is_empty() {
            return;
        }
        let scan_bytes_max = self.detector.scan_bytes_max;
        let hash = self.memo.as_deref().and_then(|m| m.hash_of(value, scan_bytes_max));
        let known = |memo: &Option<&mut ValueMemo>| match (memo.as_deref(), hash) {
            (Some(m), Some(h)) => m.get(h, value, remaining),
            _ => None,
        };
        if free_when_known {
            if let Some(found) = known(&self.memo) {
                self.found = self.found.union(found);
                return;
            }
        }
        if self.budget == 0 {
            self.skipped += 1;
            return;
        }
        self.budget -= 1;
        if !free_when_known {
            if let Some(found) = known(&self.memo) {
                self.found = self.found.union(found);
                return;
            }
        }
        let found = self.detector.scan_value(value, remaining);
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
            scan.scan(path, AttackSet::ALL);
        }
        if let Some(query) = &ev.url_query {
            for pair in query.split('&') {
                if scan.done() {
                    break;
                }
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                scan.scan(name, AttackSet::ALL);
                scan.scan(value, AttackSet::ALL);
            }
        }
        if let Some(agent) = &ev.user_agent {
            scan.scan_repeated(agent, not_fetched);
        }
        if let Some(referrer) = &ev.referrer {
            scan.scan_repeated(referrer, not_fetched);
        }
        for (name, value) in &ev.headers {
            if scan.done() {
                break;
            }
            let already_scanned = (name == "user-agent" && ev.user_agent.is_some())
                || (name == "referer" && ev.referrer.is_some());
            if !already_scanned && !is_not_scanned(name) {
                scan.scan(value, not_fetched);
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

    fn event(path: &str, query: Option<&str>, agent: &str, headers: &[(&str, &str)]) -> EventData {
        EventData {
            url_path: Some(path.to_string()),
            url_query: query.map(str::to_string),
            user_agent: Some(agent.to_string()),
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
            let ev = EventData { url_path: Some(format!("/p/{i}")), ..EventData::default() };
            d.scan_request_memo(&ev, AttackSet::ALL, &mut memo);
        }
        assert_eq!(memo.clears, 1);
        assert!(memo.entries.len() <= VALUE_MEMO_ENTRIES_MAX && memo.bytes <= VALUE_MEMO_BYTES_MAX);
        let long = "a/".repeat(VALUE_MEMO_VALUE_BYTES_MAX);
        let ev = EventData { url_path: Some(long), ..EventData::default() };
        let before = memo.entries.len();
        d.scan_request_memo(&ev, AttackSet::ALL, &mut memo);
        assert_eq!(memo.entries.len(), before, "long values are not remembered");
    }
}
