//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::ops::ControlFlow;
use std::path::Path;

use apiwatch_store::{Reader, ScanStats, Store, StoreConfig};

/// Small limits so that a few thousand records make several blocks and segments.
pub fn small_config(dir: &Path) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.block_bytes_target = 4096;
    config.segment_bytes_max = 32 * 1024;
    config
}

/// A record with a recognisable body.
pub fn record(i: u64) -> Vec<u8> {
    format!(
        r#"{{"@timestamp":{i},"source":{{"ip":"10.0.{}.{}"}},"url":{{"path":"/api/items/{}"}},"n":{i}}}"#,
        (i / 256) % 256,
        i % 256,
        i % 97
    )
    .into_bytes()
}

pub fn ip_key(i: u64) -> Vec<u8> {
    format!("10.0.{}.{}", (i / 256) % 256, i % 256).into_bytes()
}

/// Appends records `range` with event time `i * 10` and the record's address as key.
pub fn append_range(store: &mut Store, range: std::ops::Range<u64>) {
    for i in range {
        let key = ip_key(i);
        store.append(i as i64 * 10, &[&key], &record(i)).unwrap();
    }
}

/// Every record in the store, in order.
pub fn read_all(dir: &Path, key: Option<[u8; 32]>) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut reader = Reader::open(dir, key).unwrap();
    reader
        .scan(i64::MIN, i64::MAX, None, |ts, bytes| {
            out.push((ts, bytes.to_vec()));
            ControlFlow::Continue(())
        })
        .unwrap();
    out
}

pub fn scan_key(dir: &Path, key: &[u8]) -> (Vec<i64>, ScanStats) {
    let mut out = Vec::new();
    let mut reader = Reader::open(dir, None).unwrap();
    let stats = reader
        .scan(i64::MIN, i64::MAX, Some(key), |ts, _| {
            out.push(ts);
            ControlFlow::Continue(())
        })
        .unwrap();
    (out, stats)
}

/// Asserts the store holds exactly records `0..n`, in order.
pub fn assert_holds(dir: &Path, n: u64, key: Option<[u8; 32]>) {
    let all = read_all(dir, key);
    assert_eq!(all.len() as u64, n, "record count");
    for (i, (ts, bytes)) in all.iter().enumerate() {
        assert_eq!(*ts, i as i64 * 10, "time of record {i}");
        assert_eq!(*bytes, record(i as u64), "body of record {i}");
    }
}

/// Copies a directory tree (for crash simulations on copies).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
