//! Torn writes: the newest segment cut at many offsets inside its uncommitted tail and inside
//! its last checkpoint; reopening recovers the last commit exactly once and writes on.

mod common;

use apiwatch_store::format::{walk_frames, FRAME_KIND_CHECKPOINT, HEADER_BYTES};
use apiwatch_store::{verify, Store, StoreConfig};
use common::*;

fn config(dir: &std::path::Path) -> StoreConfig {
    let mut config = small_config(dir);
    // One segment, so both commits and the tail are in the file being cut.
    config.segment_bytes_max = 1 << 20;
    config
}

#[test]
fn torn_tail_and_torn_checkpoint_recover_to_the_last_commit() {
    let original = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(config(original.path()), 0).unwrap();
    append_range(&mut store, 0..300);
    store.commit(b"A", 1).unwrap();
    append_range(&mut store, 300..600);
    store.commit(b"B", 2).unwrap();
    append_range(&mut store, 600..900);
    assert!(store.stats().records_uncommitted == 300);
    drop(store); // a crash: no close, the uncommitted blocks stay in the file

    let segment = original.path().join("segments/000000000000.seg");
    let bytes = std::fs::read(&segment).unwrap();
    let (frames, stop) = walk_frames(&bytes[HEADER_BYTES..], HEADER_BYTES as u64);
    assert!(stop.is_none());
    let checkpoints: Vec<_> = frames.iter().filter(|f| f.kind == FRAME_KIND_CHECKPOINT).collect();
    let commit_b = *checkpoints.last().unwrap();
    let commit_a = checkpoints[checkpoints.len() - 2];
    assert!(commit_b.end() < bytes.len() as u64, "there is an uncommitted tail");

    // Checkpoint B's first and last bytes and a spread between, then a spread over the tail.
    let mut offsets: Vec<u64> = (commit_b.offset - 4..commit_b.offset + 8).collect();
    offsets.extend((commit_b.offset + 8..commit_b.end() - 8).step_by(9));
    offsets.extend(commit_b.end() - 8..commit_b.end() + 8);
    let tail = commit_b.end()..bytes.len() as u64;
    offsets.extend(tail.clone().step_by(((tail.end - tail.start) / 40).max(1) as usize));
    offsets.push(bytes.len() as u64 - 1);
    offsets.push(bytes.len() as u64);
    for cut in offsets {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(original.path(), copy.path());
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(copy.path().join("segments/000000000000.seg"))
            .unwrap();
        file.set_len(cut).unwrap();
        drop(file);
        let (expected_meta, expected_records) =
            if cut >= commit_b.end() { (&b"B"[..], 600) } else { (&b"A"[..], 300) };
        assert!(cut > commit_a.end());

        let (mut store, meta) = Store::open(config(copy.path()), 3).unwrap();
        assert_eq!(meta.as_deref(), Some(expected_meta), "cut at {cut}");
        assert_eq!(store.stats().records_committed, expected_records, "cut at {cut}");
        assert_holds(copy.path(), expected_records, None);
        append_range(&mut store, expected_records..expected_records + 50);
        store.commit(b"C", 4).unwrap();
        store.close().unwrap();
        assert_holds(copy.path(), expected_records + 50, None);
        let report = verify(copy.path()).unwrap();
        assert!(report.is_ok(), "cut at {cut}: {report:?}");
        assert!(report.uncommitted_tail.is_none(), "cut at {cut}: {report:?}");
    }
}

#[test]
fn verify_reports_an_uncommitted_tail_without_failing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(config(dir.path()), 0).unwrap();
    append_range(&mut store, 0..300);
    store.commit(b"A", 1).unwrap();
    append_range(&mut store, 300..600);
    drop(store);
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report:?}");
    let tail = report.uncommitted_tail.expect("tail reported");
    assert_eq!(tail.segment_seq, 0);
    assert!(tail.bytes > 0);
    assert_eq!(report.records_committed, 300);
}

#[test]
fn segment_torn_while_being_created_is_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.segment_bytes_max = 8192;
    let (mut store, _) = Store::open(cfg.clone(), 0).unwrap();
    for chunk in 0..5 {
        append_range(&mut store, chunk * 200..(chunk + 1) * 200);
        store.commit(format!("m{chunk}").as_bytes(), 1).unwrap();
    }
    // Sealed by age: the newest segment holds only its first checkpoint.
    assert!(store.maintain(cfg.segment_age_max_ms + 10).unwrap().rotated);
    let newest = store.stats().open_segment_seq;
    assert!(newest > 0);
    drop(store);
    let path = dir.path().join(format!("segments/{newest:012}.seg"));
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(40).unwrap(); // inside the header
    drop(file);
    let (store, meta) = Store::open(cfg, 2).unwrap();
    assert_eq!(meta.as_deref(), Some(&b"m4"[..]));
    store.close().unwrap();
    assert_holds(dir.path(), 1000, None);
    assert!(verify(dir.path()).unwrap().is_ok());
}
