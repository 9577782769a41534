//! Rotation by size and age, retention by age and by bytes, and search summaries.

mod common;

use std::ops::ControlFlow;

use apiwatch_store::{verify, Reader, Store, StoreConfig};
use common::*;

fn config(dir: &std::path::Path) -> StoreConfig {
    let mut config = small_config(dir);
    config.segment_bytes_max = 8192;
    config
}

/// Writes records 0..n in commits of 100.
fn fill(store: &mut Store, n: u64) {
    for chunk in 0..n / 100 {
        append_range(store, chunk * 100..(chunk + 1) * 100);
        store.commit(format!("{}", (chunk + 1) * 100).as_bytes(), 0).unwrap();
    }
}

#[test]
fn small_segments_rotate_and_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(config(dir.path()), 0).unwrap();
    fill(&mut store, 5000);
    let stats = store.stats();
    assert!(stats.segments >= 10, "{stats:?}");
    store.close().unwrap();
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.segments_checked, stats.segments);
    assert_holds(dir.path(), 5000, None);
    // Every sealed segment has a summary.
    let summaries = std::fs::read_dir(dir.path().join("segments"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "sum"))
        .count() as u64;
    assert_eq!(summaries, stats.segments - 1);
}

#[test]
fn rotation_by_age_waits_for_a_commit() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.segment_bytes_max = 1 << 20;
    cfg.segment_age_max_ms = 1000;
    let (mut store, _) = Store::open(cfg, 0).unwrap();
    append_range(&mut store, 0..10);
    store.commit(b"a", 10).unwrap();
    append_range(&mut store, 10..20);
    let report = store.maintain(5000).unwrap();
    assert!(report.rotation_deferred && !report.rotated, "{report:?}");
    store.commit(b"b", 5000).unwrap();
    assert_eq!(store.stats().open_segment_seq, 1, "commit sealed the old segment");
    append_range(&mut store, 20..30);
    store.commit(b"c", 5001).unwrap();
    let report = store.maintain(7000).unwrap();
    assert!(report.rotated, "{report:?}");
    assert_eq!(store.stats().open_segment_seq, 2);
    // An empty segment is not rotated however old.
    assert!(!store.maintain(100_000).unwrap().rotated);
    store.close().unwrap();
    assert!(verify(dir.path()).unwrap().is_ok());
    assert_holds(dir.path(), 30, None);
}

/// The records still readable: must be a suffix `first..n` of what was written.
fn assert_suffix(dir: &std::path::Path, n: u64) -> u64 {
    let all = read_all(dir, None);
    let first = n - all.len() as u64;
    for (at, (ts, bytes)) in all.iter().enumerate() {
        let i = first + at as u64;
        assert_eq!((*ts, bytes.as_slice()), (i as i64 * 10, record(i).as_slice()));
    }
    first
}

#[test]
fn retention_by_age_deletes_oldest_logs_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.retention_age_max_ms = Some(20_000);
    let (mut store, _) = Store::open(cfg.clone(), 0).unwrap();
    fill(&mut store, 5000); // event times 0..50_000 ms
    let before = store.stats();
    let report = store.maintain(50_000).unwrap();
    assert!(report.deleted_by_age > 0 && report.bytes_freed > 0, "{report:?}");
    assert_eq!(report.deleted_by_bytes, 0);
    let after = store.stats();
    assert_eq!(after.segments_deleted, u64::from(report.deleted_by_age));
    assert_eq!(after.segments + after.segments_deleted, before.segments);
    store.close().unwrap();

    let log = std::fs::read_to_string(dir.path().join("retention.log")).unwrap();
    assert_eq!(log.lines().count() as u64, after.segments_deleted);
    assert!(log.starts_with("v1 seq=0 "));
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.retention_entries, after.segments_deleted);
    assert_eq!(report.first_segment_seq, Some(after.segments_deleted));
    let first = assert_suffix(dir.path(), 5000);
    // Everything older than the horizon may go, nothing newer did.
    assert!(first > 0 && first * 10 <= 30_000, "first kept record {first}");

    // Reopen and write on after retention; verify still passes.
    let (mut store, meta) = Store::open(cfg, 60_000).unwrap();
    assert_eq!(meta.as_deref(), Some(&b"5000"[..]));
    append_range(&mut store, 5000..5100);
    store.commit(b"5100", 60_000).unwrap();
    store.close().unwrap();
    assert!(verify(dir.path()).unwrap().is_ok());

    // A deleted retention line is caught.
    let log = std::fs::read_to_string(dir.path().join("retention.log")).unwrap();
    let without_first: String = log.lines().skip(1).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.path().join("retention.log"), without_first).unwrap();
    let problem = verify(dir.path()).unwrap().problem.expect("caught");
    assert_eq!(problem.kind, apiwatch_store::ProblemKind::Removed, "{problem}");
}

#[test]
fn retention_by_bytes_keeps_the_store_under_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.retention_bytes_max = Some(40_000);
    let (mut store, _) = Store::open(cfg, 0).unwrap();
    fill(&mut store, 5000);
    assert!(store.stats().bytes_on_disk > 40_000);
    let report = store.maintain(0).unwrap();
    assert!(report.deleted_by_bytes > 0, "{report:?}");
    let stats = store.stats();
    assert!(stats.bytes_on_disk <= 40_000, "{stats:?}");
    store.close().unwrap();
    let disk: u64 = std::fs::read_dir(dir.path().join("segments"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert_eq!(disk, stats.bytes_on_disk, "stats count what is on disk");
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert!(assert_suffix(dir.path(), 5000) > 0);
}

#[test]
fn key_filter_skips_segments_by_summary() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(config(dir.path()), 0).unwrap();
    // Each commit of 100 records has its own user; segments hold a few commits each.
    for chunk in 0..40u64 {
        let user = format!("user-{chunk}");
        for i in chunk * 100..(chunk + 1) * 100 {
            store.append(i as i64, &[user.as_bytes(), &ip_key(i)], &record(i)).unwrap();
        }
        store.commit(b"", 0).unwrap();
    }
    let segments = store.stats().segments;
    assert!(segments >= 6, "{segments}");
    store.close().unwrap();

    let (found, stats) = scan_key(dir.path(), b"user-3");
    assert_eq!(found, (300..400).collect::<Vec<i64>>());
    assert_eq!(stats.records_yielded, 100);
    assert_eq!(stats.segments_total, segments);
    // At most the segments holding user-3, the open one and a false positive are read.
    assert!(stats.segments_skipped_by_key >= segments - 4, "{stats:?}");
    let (found, stats) = scan_key(dir.path(), b"nobody");
    assert!(found.is_empty());
    assert!(stats.segments_skipped_by_key >= segments - 2, "{stats:?}");

    // Inside one big segment, the blocks' filters skip the blocks a key is not in.
    let big = tempfile::tempdir().unwrap();
    let mut cfg = small_config(big.path());
    cfg.segment_bytes_max = 64 << 20;
    cfg.block_bytes_target = 4096;
    let (mut store, _) = Store::open(cfg, 0).unwrap();
    for chunk in 0..40u64 {
        let user = format!("user-{chunk}");
        for i in chunk * 100..(chunk + 1) * 100 {
            store.append(i as i64, &[user.as_bytes(), &ip_key(i)], &record(i)).unwrap();
        }
        store.commit(b"", 0).unwrap();
    }
    // Sealed (with its summary) by the next open's rotation once it is old enough.
    store.maintain(i64::MAX / 2).unwrap();
    store.close().unwrap();
    let (found, stats) = scan_key(big.path(), b"user-17");
    assert_eq!(found, (1700..1800).collect::<Vec<i64>>());
    assert!(
        stats.blocks_skipped_by_key > 0 && stats.blocks_read < stats.blocks_skipped_by_key / 4,
        "{stats:?}"
    );

    // A summary that does not verify is ignored: its segment is scanned, nothing is lost.
    let summary = dir.path().join("segments/000000000000.sum");
    let mut bytes = std::fs::read(&summary).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&summary, bytes).unwrap();
    let mut reader = Reader::open(dir.path(), None).unwrap();
    assert!(reader.segments()[0].summary.is_none());
    let mut count = 0;
    reader
        .scan(i64::MIN, i64::MAX, Some(b"user-0"), |_, _| {
            count += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(count, 100);
}
