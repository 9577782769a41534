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
}

impl InjectionDetector {
    /// Classes found, among `wanted`, anywhere the client controls in a request: the decoded
    /// path, each query parameter's name and value, the user agent, the referrer and the
    /// request headers (not those in [`HEADERS_NOT_SCANNED`]).
    pub fn scan_request(&self, ev: &EventData, wanted: AttackSet) -> AttackSet {
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
            scan.scan(agent, not_fetched);
        }
        if let Some(referrer) = &ev.referrer {
            scan.scan(referrer, not_fetched);
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
