//! Values a scan found nothing in, per redactor: user agents, header values, referrers,
//! routes and user names come back on request after request, and scanning one again costs
//! hundreds of instructions where a look-up costs one hash of it and one comparison.
//!
//! Only outcomes that are a pure function of the value are kept: a scan that found nothing,
//! counted nothing and filled no id. Such a scan of the same value under the same key finds
//! nothing again, so skipping it changes nothing. Each value is kept whole, with the kind of
//! scan that judged it, and a look-up compares it byte for byte: a hash collision can only
//! cost a scan, never let a secret through.
//!
//! Values without secrets may still be personal data (a user name), so the memo stays inside
//! the redactor like the pseudonym cache: never printed (the redactor's `Debug` hides it),
//! serialized or shared, and a clone of the redactor starts with an empty one.

use crate::bytes::same_bytes;
use hashbrown::HashTable;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard};

/// Distinct clean values one redactor remembers; when full, the memo starts over.
const CLEAN_VALUES_MAX: usize = 8192;
/// Bytes of clean values the memo holds at most; when they would be exceeded, it starts over.
const CLEAN_BYTES_MAX: usize = 1 << 20;
/// Values longer than this are scanned every time: rare, and one would take a large share.
const CLEAN_VALUE_BYTES_MAX: usize = 2048;

/// The scan that judged a value clean. One value can be clean for one scan and not for
/// another (`a=tok_0123456789abcdef` fills no id as text, but may as the request's query).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scan {
    /// The free-text scan.
    Text,
    /// A URL whose query fills no ids (a referrer, a URL header).
    Url,
    /// A URL whose query may fill the event's ids (`url.path` with a `?`).
    UrlFillingIds,
    /// The request's own query string (fills ids).
    Query,
}

/// Kinds of [`Scan`]: one table each.
const SCANS: usize = 4;

struct Entry {
    hash: u64,
    value: Box<str>,
}

/// The clean values, locked for the length of one redaction.
#[derive(Default)]
pub(super) struct CleanValues {
    /// By scan (`Scan as usize`), so that the scan stays out of the hash and the comparison.
    tables: [HashTable<Entry>; SCANS],
    /// Values in all tables.
    len: usize,
    /// Bytes of the values in `tables`.
    bytes: usize,
    /// Seeded at random, so that chosen values do not pile up in one bucket; and were they
    /// to, the bound on entries bounds the cost of a look-up.
    hasher: foldhash::fast::RandomState,
}

/// A look-up that missed, ready to remember the value once the scan has judged it clean.
pub(super) struct Miss {
    hash: u64,
}

impl CleanValues {
    /// Whether `value` is known clean for `scan`; `Err` with what [`Self::remember`] needs
    /// when it is not (or is too long to be remembered: `Err(None)`).
    #[inline]
    pub(super) fn look_up(&self, scan: Scan, value: &str) -> Result<(), Option<Miss>> {
        if value.len() > CLEAN_VALUE_BYTES_MAX {
            return Err(None);
        }
        let hash = self.hasher.hash_one(value);
        let found = self.tables[scan as usize]
            .find(hash, |e| e.hash == hash && same_bytes(e.value.as_bytes(), value.as_bytes()))
            .is_some();
        if found {
            Ok(())
        } else {
            Err(Some(Miss { hash }))
        }
    }

    /// Values remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Remembers `value`, which `scan` found clean after `miss`.
    pub(super) fn remember(&mut self, miss: Miss, scan: Scan, value: &str) {
        if self.len >= CLEAN_VALUES_MAX || self.bytes + value.len() > CLEAN_BYTES_MAX {
            for table in &mut self.tables {
                table.clear();
            }
            self.len = 0;
            self.bytes = 0;
        }
        self.len += 1;
        self.bytes += value.len();
        self.tables[scan as usize].insert_unique(
            miss.hash,
            Entry { hash: miss.hash, value: value.into() },
            |e| e.hash,
        );
    }
}

/// A redactor's clean values.
#[derive(Default)]
pub(super) struct CleanMemo {
    // A redactor is cloned per worker thread, so the lock is never contended in the pipeline;
    // a redactor shared between threads scans without the memo rather than wait.
    values: Mutex<CleanValues>,
}

impl CleanMemo {
    /// The memo for one redaction, unless another holds it.
    pub(super) fn lock(&self) -> Option<MutexGuard<'_, CleanValues>> {
        self.values.try_lock().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remember(values: &mut CleanValues, scan: Scan, value: &str) {
        let miss = values.look_up(scan, value).expect_err("not remembered yet");
        values.remember(miss.expect("short enough"), scan, value);
    }

    #[test]
    fn remembers_by_scan_and_whole_value() {
        let memo = CleanMemo::default();
        let mut values = memo.lock().unwrap();
        remember(&mut values, Scan::Text, "curl/8.5.0");
        assert!(values.look_up(Scan::Text, "curl/8.5.0").is_ok());
        for other in [Scan::Url, Scan::UrlFillingIds, Scan::Query] {
            assert!(values.look_up(other, "curl/8.5.0").is_err());
        }
        remember(&mut values, Scan::Query, "page=2");
        assert!(values.look_up(Scan::Query, "page=2").is_ok());
        assert!(values.look_up(Scan::Text, "page=2").is_err());
        assert!(values.look_up(Scan::Text, "curl/8.5.0").is_ok());
        assert!(values.look_up(Scan::Text, "curl/8.5.").is_err());
        assert!(values.look_up(Scan::Text, "curl/8.5.00").is_err());
        // Held: a second redaction at once goes without.
        assert!(memo.lock().is_none());
    }

    #[test]
    fn starts_over_when_full_and_skips_long_values() {
        let mut values = CleanValues::default();
        for i in 0..CLEAN_VALUES_MAX + 10 {
            remember(&mut values, Scan::Text, &format!("value-{i}"));
            assert!(values.len() <= CLEAN_VALUES_MAX);
            assert_eq!(values.len(), values.tables.iter().map(HashTable::len).sum::<usize>());
        }
        assert!(values.look_up(Scan::Text, &format!("value-{}", CLEAN_VALUES_MAX + 9)).is_ok());
        assert!(values.look_up(Scan::Text, "value-0").is_err());
        let long = "x".repeat(CLEAN_VALUE_BYTES_MAX + 1);
        assert!(matches!(values.look_up(Scan::Text, &long), Err(None)));
        let mut values = CleanValues::default();
        let big = "y".repeat(CLEAN_VALUE_BYTES_MAX);
        for i in 0..2 * CLEAN_BYTES_MAX / CLEAN_VALUE_BYTES_MAX {
            remember(&mut values, Scan::Url, &format!("{i}{big}")[..CLEAN_VALUE_BYTES_MAX]);
            assert!(values.bytes <= CLEAN_BYTES_MAX);
        }
    }
}
