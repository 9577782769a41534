//! Which client-controlled parts of a request are scanned, and for which classes.
//!
//! The path and every query parameter (name and value) are scanned for every class; the user
//! agent, the referrer and the other request headers for every class but SSRF, since the
//! server does not fetch them and a `localhost` referrer is ordinary in development. Headers
//! that redaction turned into pseudonyms are skipped: there is nothing of the client's left.

use std::sync::atomic::Ordering;

use apiwatch_core::EventData;

use super::{AttackClass, AttackSet, InjectionDetector};

/// Values scanned per request at most (path, parameter names and values, user agent,
/// referrer, headers). A real request has a few dozen; the rest of a request stuffed with
/// thousands of parameters is counted in `request_values_skipped`, not scanned.
pub const REQUEST_VALUES_MAX: usize = 256;

/// Request headers not scanned: the secrets redaction replaced by pseudonyms. (`user-agent`
/// and `referer` headers are skipped too when the event has those fields, which are scanned.)
pub const HEADERS_NOT_SCANNED: &[&str] =
    &["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"];

/// Scans values against a shared budget until every wanted class is found.
/// Distinct user agents and referrers remembered per [`ValueMemo`]: they repeat across a
/// client's requests, and scanning one costs microseconds where a lookup costs tens of
/// nanoseconds. When full, the memo is cleared (counted), which keeps it bounded and simple.
pub const VALUE_MEMO_ENTRIES_MAX: usize = 8_192;

/// Scan results of repeated request values (user agents, referrers), owned by one caller
/// (one detection thread), so no locking is needed.
#[derive(Debug, Default)]
pub struct ValueMemo {
    /// value → (classes scanned for, classes found among them)
    entries: std::collections::HashMap<Box<str>, (AttackSet, AttackSet)>,
    /// Times the memo was full and cleared.
    pub clears: u64,
}

struct RequestScan<'a> {
    detector: &'a InjectionDetector,
    wanted: AttackSet,
    found: AttackSet,
    budget: usize,
    skipped: u64,
}

impl RequestScan<'_> {
    fn done(&self) -> bool {
        self.found == self.wanted
    }

    fn scan(&mut self, value: &str, classes: AttackSet) {
        let remaining = classes.intersection(self.wanted).difference(self.found);
        if remaining.is_empty() || value.is_empty() {
            return;
        }
        if self.budget == 0 {
            self.skipped += 1;
            return;
        }
        self.budget -= 1;
        self.found = self.found.union(self.detector.scan_value(value, remaining));
    }

    /// Like `scan`, for values that repeat across requests: answered from the memo when it
    /// already holds the classes asked for.
    fn scan_memo(&mut self, value: &str, classes: AttackSet, memo: &mut ValueMemo) {
        let remaining = classes.intersection(self.wanted).difference(self.found);
        if remaining.is_empty() || value.is_empty() {
            return;
        }
        if let Some(&(scanned, found)) = memo.entries.get(value) {
            if remaining.difference(scanned).is_empty() {
                self.found = self.found.union(found.intersection(remaining));
                return;
            }
        }
        if self.budget == 0 {
            // Out of budget: counted by `scan`, and nothing learnt to remember.
            self.scan(value, remaining);
            return;
        }
        let before = self.found;
        self.scan(value, remaining);
        let found_here = self.found.difference(before);
        if memo.entries.len() >= VALUE_MEMO_ENTRIES_MAX {
            memo.entries.clear();
            memo.clears += 1;
        }
        let entry =
            memo.entries.entry(value.into()).or_insert((AttackSet::EMPTY, AttackSet::EMPTY));
        entry.0 = entry.0.union(remaining);
        entry.1 = entry.1.difference(remaining).union(found_here);
    }
}

impl InjectionDetector {
    /// Classes found, among `wanted`, anywhere the client controls in a request: the decoded
    /// path, each query parameter's name and value, the user agent, the referrer and the
    /// request headers (not those in [`HEADERS_NOT_SCANNED`]).
    pub fn scan_request(&self, ev: &EventData, wanted: AttackSet) -> AttackSet {
        self.scan_request_memo(ev, wanted, &mut ValueMemo::default())
    }

    /// [`Self::scan_request`], remembering the results for user agents and referrers in
    /// `memo` (the caller keeps one per thread).
    pub fn scan_request_memo(
        &self,
        ev: &EventData,
        wanted: AttackSet,
        memo: &mut ValueMemo,
    ) -> AttackSet {
        let mut scan = RequestScan {
            detector: self,
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
            scan.scan_memo(agent, not_fetched, memo);
        }
        if let Some(referrer) = &ev.referrer {
            scan.scan_memo(referrer, not_fetched, memo);
        }
        for (name, value) in &ev.headers {
            if scan.done() {
                break;
            }
            let already_scanned = (name == "user-agent" && ev.user_agent.is_some())
                || (name == "referer" && ev.referrer.is_some());
            if !already_scanned && !HEADERS_NOT_SCANNED.contains(&name.as_str()) {
                scan.scan(value, not_fetched);
            }
        }
        if scan.skipped > 0 {
            self.request_values_skipped.fetch_add(scan.skipped, Ordering::Relaxed);
        }
        scan.found
    }
}
