//! Writing, reopening and reading back, with and without encryption.

mod common;

use std::ops::ControlFlow;

use apiwatch_store::{verify, Reader, Store, StoreConfig, StoreError};
use common::*;

const RECORDS: u64 = 100_000;
const KEY: [u8; 32] = [0x42; 32];

fn round_trip(encryption_key: Option<[u8; 32]>) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path());
    config.block_bytes_target = 64 * 1024;
    config.segment_bytes_max = 256 * 1024;
    config.encryption_key = encryption_key;
    let (mut store, meta) = Store::open(config.clone(), 0).unwrap();
    assert_eq!(meta, None, "a new store has no committed meta");
    for chunk in 0..10 {
        append_range(&mut store, chunk * RECORDS / 10..(chunk + 1) * RECORDS / 10);
        store.commit(format!("offset={chunk}").as_bytes(), 1000).unwrap();
    }
    let stats = store.stats();
    assert_eq!(stats.records_committed, RECORDS);
    assert!(stats.segments > 3, "{stats:?}");
    store.close().unwrap();

    let (store, meta) = Store::open(config, 2000).unwrap();
    assert_eq!(meta.as_deref(), Some(&b"offset=9"[..]));
    assert_eq!(store.stats().records_committed, RECORDS);
    store.close().unwrap();
    assert_holds(dir.path(), RECORDS, encryption_key);
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.records_committed, RECORDS);
    assert!(report.blocks_checked > 10);
}

#[test]
fn round_trip_plain() {
    round_trip(None);
}

#[test]
fn round_trip_encrypted() {
    round_trip(Some(KEY));
}

#[test]
fn encrypted_store_needs_its_key_and_hides_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(dir.path());
    config.encryption_key = Some(KEY);
    let (mut store, _) = Store::open(config, 0).unwrap();
    for i in 0..2000u64 {
        let marker = format!("PLAINTEXT-MARKER-{i}");
        store.append(i as i64, &[b"10.1.2.3"], marker.as_bytes()).unwrap();
    }
    store.commit(b"m", 0).unwrap();
    store.close().unwrap();

    for entry in std::fs::read_dir(dir.path().join("segments")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(16).any(|w| w == b"PLAINTEXT-MARKER"), "plaintext on disk");
        assert!(!bytes.windows(8).any(|w| w == b"10.1.2.3"), "actor key on disk");
    }
    for key in [None, Some([0x43; 32])] {
        let mut reader = Reader::open(dir.path(), key).unwrap();
        let error =
            reader.scan(i64::MIN, i64::MAX, None, |_, _| ControlFlow::Continue(())).unwrap_err();
        assert!(matches!(error, StoreError::Decrypt { block_index: 0, .. }), "{error}");
        assert!(
            error.to_string().contains("block 0: cannot decrypt (wrong or missing encryption key)"),
            "{error}"
        );
    }
    let mut reader = Reader::open(dir.path(), Some(KEY)).unwrap();
    let mut count = 0;
    reader
        .scan(i64::MIN, i64::MAX, None, |_, _| {
            count += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(count, 2000);
    // Verifying needs no encryption key.
    assert!(verify(dir.path()).unwrap().is_ok());
}

#[test]
fn uncommitted_appends_are_not_read_and_are_dropped_by_close() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(dir.path());
    let (mut store, _) = Store::open(config.clone(), 0).unwrap();
    append_range(&mut store, 0..100);
    store.commit(b"a", 0).unwrap();
    append_range(&mut store, 100..1000);
    assert_eq!(read_all(dir.path(), None).len(), 100, "reader sees only committed records");
    store.close().unwrap();
    let (store, meta) = Store::open(config, 0).unwrap();
    assert_eq!(meta.as_deref(), Some(&b"a"[..]));
    assert_eq!(store.stats().records_committed, 100);
    assert_holds(dir.path(), 100, None);
}

#[test]
fn scan_honours_time_range_and_break() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(small_config(dir.path()), 0).unwrap();
    for chunk in 0..10 {
        append_range(&mut store, chunk * 500..(chunk + 1) * 500);
        store.commit(b"", 0).unwrap();
    }
    let mut reader = Reader::open(dir.path(), None).unwrap();
    let mut seen = Vec::new();
    let stats = reader
        .scan(10_000, 10_990, None, |ts, _| {
            seen.push(ts);
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(seen, (1000..1100).map(|i| i * 10).collect::<Vec<i64>>());
    assert!(stats.segments_skipped_by_time > 0 && stats.blocks_skipped_by_time > 0, "{stats:?}");
    let mut first = Vec::new();
    reader
        .scan(i64::MIN, i64::MAX, None, |ts, _| {
            first.push(ts);
            if first.len() == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(first, vec![0, 10, 20]);
}

#[test]
fn limits_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(small_config(dir.path()), 0).unwrap();
    let big = vec![0u8; apiwatch_store::format::RECORD_BYTES_MAX + 1];
    assert!(matches!(store.append(0, &[], &big), Err(StoreError::RecordTooLarge { .. })));
    let keys: Vec<&[u8]> = vec![b"k"; 17];
    assert!(matches!(store.append(0, &keys, b"x"), Err(StoreError::TooManyKeys { .. })));
    let meta = vec![0u8; apiwatch_store::format::META_BYTES_MAX + 1];
    assert!(matches!(store.commit(&meta, 0), Err(StoreError::MetaTooLarge { .. })));
    let mut config = small_config(dir.path());
    config.zstd_level = 0;
    assert!(matches!(Store::open(config, 0), Err(StoreError::Config { field: "zstd_level", .. })));
}

#[cfg(unix)]
#[test]
fn signing_key_is_created_0600_and_reused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(small_config(dir.path()), 0).unwrap();
    store.close().unwrap();
    let key_path = dir.path().join("keys/signing.key");
    let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let seed = std::fs::read(&key_path).unwrap();
    assert_eq!(seed.len(), 32);
    let public = std::fs::read_to_string(dir.path().join("keys/signing.pub")).unwrap();
    assert_eq!(public.trim().len(), 64);
    let (store, _) = Store::open(small_config(dir.path()), 0).unwrap();
    store.close().unwrap();
    assert_eq!(std::fs::read(&key_path).unwrap(), seed, "the key is reused");
    // A key others can read is refused.
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(matches!(Store::open(small_config(dir.path()), 0), Err(StoreError::SigningKey { .. })));
}
