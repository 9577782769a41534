//! Injection detection: which attack classes (SQL injection, XSS, command injection, path
//! traversal, template injection, NoSQL, SSRF, JNDI, CRLF) a client-controlled value carries.
//!
//! Each value is decoded once (percent, `+`, double encoding, `\xHH`/`\uHHHH`, overlong
//! UTF-8), looked at cheaply (the kinds of bytes it holds, then, only when those bytes allow a
//! class, Aho-Corasick passes over trigger words) and only then, for the classes that could be
//! present, checked precisely. Ordinary API values stop after the cheap look.
//!
//! Everything here is a pure function of its input: no I/O, no clock, and no panic on any
//! input, since every value is attacker bytes (a proptest feeds it arbitrary strings).

mod class;
mod cmdi;
mod crlf;
mod decode;
mod jndi;
mod lexicon;
mod nosql;
mod prefilter;
mod request;
mod sqli;
mod ssrf;
mod ssti;
mod traversal;
mod xss;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

pub use class::{AttackClass, AttackSet};
pub use request::{
    ValueMemo, HEADERS_NOT_SCANNED, REQUEST_VALUES_MAX, VALUE_MEMO_BYTES_MAX,
    VALUE_MEMO_ENTRIES_MAX, VALUE_MEMO_VALUE_BYTES_MAX,
};

use prefilter::{Trigger, TriggerWords, Triggers};

/// Default for [`InjectionDetector::scan_bytes_max`]. Every payload in the measured corpora
/// is shorter; values longer than this are scanned at their head and tail (see
/// [`InjectionDetector::scan_value`]) so that one huge value costs a bounded time.
pub const SCAN_BYTES_MAX_DEFAULT: usize = 8 * 1024;

/// Smallest accepted [`InjectionDetector::scan_bytes_max`]: below it payloads themselves
/// would be cut.
pub const SCAN_BYTES_MAX_MIN: usize = 256;

/// The injection detector: built once (automatons, compiled patterns, word lists), then shared
/// by every thread that scans (`Send + Sync`, `&self` only).
pub struct InjectionDetector {
    scan_bytes_max: usize,
    triggers: TriggerWords,
    sqli: sqli::Sqli,
    xss: xss::Xss,
    cmdi: cmdi::Cmdi,
    traversal: traversal::Traversal,
    ssti: ssti::Ssti,
    nosql: nosql::Nosql,
    ssrf: ssrf::Ssrf,
    values_truncated: AtomicU64,
    request_values_skipped: AtomicU64,
}

/// What the detector's limits refused so far, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InjectionStats {
    /// Values longer than `scan_bytes_max`, scanned at head and tail only.
    pub values_truncated: u64,
    /// Values of a request beyond [`REQUEST_VALUES_MAX`], not scanned.
    pub request_values_skipped: u64,
}

impl Default for InjectionDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for InjectionDetector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InjectionDetector")
            .field("scan_bytes_max", &self.scan_bytes_max)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl InjectionDetector {
    /// Builds the detector with [`SCAN_BYTES_MAX_DEFAULT`].
    pub fn new() -> Self {
        let system_files = lexicon::system_files();
        let internal_hosts = lexicon::internal_hosts();
        InjectionDetector {
            scan_bytes_max: SCAN_BYTES_MAX_DEFAULT,
            triggers: TriggerWords::new(&internal_hosts),
            sqli: sqli::Sqli::new(),
            xss: xss::Xss::new(),
            cmdi: cmdi::Cmdi::new(),
            traversal: traversal::Traversal::new(&system_files),
            ssti: ssti::Ssti::new(),
            nosql: nosql::Nosql::new(),
            ssrf: ssrf::Ssrf::new(internal_hosts),
            values_truncated: AtomicU64::new(0),
            request_values_skipped: AtomicU64::new(0),
        }
    }

    /// The same detector with another cap on the bytes scanned per value (at least
    /// [`SCAN_BYTES_MAX_MIN`]).
    pub fn with_scan_bytes_max(mut self, scan_bytes_max: usize) -> Self {
        self.scan_bytes_max = scan_bytes_max.max(SCAN_BYTES_MAX_MIN);
        self
    }

    /// The cap on the bytes scanned per value.
    pub fn scan_bytes_max(&self) -> usize {
        self.scan_bytes_max
    }

    /// What the limits refused since the detector was built.
    pub fn stats(&self) -> InjectionStats {
        InjectionStats {
            values_truncated: self.values_truncated.load(Ordering::Relaxed),
            request_values_skipped: self.request_values_skipped.load(Ordering::Relaxed),
        }
    }

    /// Classes found in one raw value, among `wanted` (only those are computed). The value is
    /// URL-decoded first: percent-encoding, `+`, double encoding once more, `\xHH` / `\uHHHH`,
    /// overlong UTF-8; HTML entities too for XSS.
    ///
    /// A value longer than `scan_bytes_max` is counted in [`InjectionStats::values_truncated`]
    /// and scanned as two windows, its first and its last `scan_bytes_max / 2` bytes, since
    /// padding is put before or after a payload, rarely around it.
    pub fn scan_value(&self, raw: &str, wanted: AttackSet) -> AttackSet {
        self.scan_bytes(raw.as_bytes(), wanted)
    }

    /// [`scan_value`](Self::scan_value) for a value that is not (known to be) UTF-8.
    pub fn scan_bytes(&self, raw: &[u8], wanted: AttackSet) -> AttackSet {
        if wanted.is_empty() || raw.is_empty() {
            return AttackSet::EMPTY;
        }
        if raw.len() <= self.scan_bytes_max {
            return self.scan_window(raw, wanted);
        }
        self.values_truncated.fetch_add(1, Ordering::Relaxed);
        let half = self.scan_bytes_max / 2;
        let head = self.scan_window(&raw[..half], wanted);
        head.union(self.scan_window(&raw[raw.len() - half..], wanted.difference(head)))
    }

    fn scan_window(&self, raw: &[u8], wanted: AttackSet) -> AttackSet {
        if wanted.is_empty() {
            return AttackSet::EMPTY;
        }
        // One pass over the raw bytes; a second over the decoded ones only when decoding
        // changed something.
        let raw_kinds = prefilter::byte_kinds(raw);
        let (decoded, kinds) = if raw_kinds & NEEDS_DECODING == 0 {
            (std::borrow::Cow::Borrowed(raw), raw_kinds)
        } else {
            let decoded = decode::url_decode(raw);
            let kinds = prefilter::byte_kinds(&decoded);
            (decoded, kinds)
        };
        let v: &[u8] = &decoded;
        // Letters, digits, `_` and single dashes (ids, enum values, dates, UUIDs, `en-US`)
        // cannot carry any class: no class's check can succeed without some other byte.
        if kinds & !prefilter::byte::DASH == 0 && memchr::memmem::find(v, b"--").is_none() {
            return AttackSet::EMPTY;
        }
        let mut candidates = AttackSet::EMPTY;
        let mut need = Triggers::default();
        for class in wanted.iter() {
            if candidate_by_bytes(class, kinds, v) {
                candidates.insert(class);
            } else if kinds & trigger_bytes(class) != 0 {
                for t in triggers_of(class) {
                    need.add(*t);
                }
            }
        }
        if !need.is_empty() {
            let present = self.triggers.scan(v, kinds, need);
            for class in wanted.iter() {
                if triggers_of(class).iter().any(|t| present.has(*t)) {
                    candidates.insert(class);
                }
            }
        }
        candidates.iter().filter(|class| self.detect(*class, v)).collect()
    }

    /// The precise check of one class on a decoded value.
    fn detect(&self, class: AttackClass, v: &[u8]) -> bool {
        match class {
            AttackClass::Sqli => self.sqli.detect(v),
            AttackClass::Xss => self.xss.detect(v),
            AttackClass::Cmdi => self.cmdi.detect(v),
            AttackClass::PathTraversal => self.traversal.detect(v),
            AttackClass::Ssti => self.ssti.detect(v),
            AttackClass::Nosql => self.nosql.detect(v),
            AttackClass::Ssrf => self.ssrf.detect(v),
            AttackClass::Jndi => jndi::detect(v),
            AttackClass::Crlf => crlf::detect(v),
        }
    }
}

/// Bytes that make [`decode::url_decode`] change a value (`%`, `+`, `\`, lead bytes of
/// overlong UTF-8).
const NEEDS_DECODING: u32 = prefilter::byte::PERCENT
    | prefilter::byte::PLUS
    | prefilter::byte::BACKSLASH
    | prefilter::byte::HIGH;

/// Whether the bytes alone make a value a candidate for a class.
fn candidate_by_bytes(class: AttackClass, kinds: u32, v: &[u8]) -> bool {
    match class {
        AttackClass::Sqli => sqli::candidate_by_bytes(kinds, v),
        AttackClass::Xss => xss::Xss::candidate_by_bytes(kinds),
        AttackClass::Cmdi => cmdi::Cmdi::candidate_by_bytes(kinds, v),
        AttackClass::PathTraversal => traversal::Traversal::candidate_by_bytes(kinds),
        AttackClass::Ssti => ssti::Ssti::candidate_by_bytes(kinds),
        AttackClass::Nosql => nosql::Nosql::candidate_by_bytes(kinds),
        AttackClass::Ssrf => ssrf::Ssrf::candidate_by_bytes(kinds),
        AttackClass::Jndi => jndi::candidate_by_bytes(kinds),
        AttackClass::Crlf => crlf::candidate_by_bytes(kinds),
    }
}

/// The byte kinds without which a class's trigger words cannot matter.
fn trigger_bytes(class: AttackClass) -> u32 {
    match class {
        AttackClass::Sqli => sqli::TRIGGER_BYTES,
        AttackClass::Xss => xss::TRIGGER_BYTES,
        AttackClass::PathTraversal => traversal::TRIGGER_BYTES,
        AttackClass::Nosql => nosql::TRIGGER_BYTES,
        AttackClass::Ssrf => ssrf::TRIGGER_BYTES,
        AttackClass::Cmdi | AttackClass::Ssti | AttackClass::Jndi | AttackClass::Crlf => 0,
    }
}

/// The trigger-word families that make a value a candidate for a class when its bytes
/// alone do not.
fn triggers_of(class: AttackClass) -> &'static [Trigger] {
    match class {
        AttackClass::Sqli => sqli::TRIGGERS,
        AttackClass::Xss => xss::TRIGGERS,
        AttackClass::PathTraversal => traversal::TRIGGERS,
        AttackClass::Nosql => nosql::TRIGGERS,
        AttackClass::Ssrf => ssrf::TRIGGERS,
        AttackClass::Cmdi | AttackClass::Ssti | AttackClass::Jndi | AttackClass::Crlf => &[],
    }
}

#[cfg(test)]
mod tests;
