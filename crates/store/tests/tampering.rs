//! Each kind of tampering is caught by `verify` with the right kind, segment and block.

mod common;

use std::path::{Path, PathBuf};

use apiwatch_store::format::{
    decode_block, walk_frames, FrameRef, FRAME_KIND_BLOCK, FRAME_KIND_CHECKPOINT, HEADER_BYTES,
};
use apiwatch_store::{verify, ProblemKind, Store, VerifyReport};
use common::*;

/// A store with several sealed segments and an open one holding committed blocks.
fn build_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(dir.path());
    config.segment_bytes_max = 8192;
    let (mut store, _) = Store::open(config, 0).unwrap();
    for chunk in 0..12 {
        append_range(&mut store, chunk * 250..(chunk + 1) * 250);
        store.commit(format!("chunk {chunk}").as_bytes(), 0).unwrap();
    }
    // A smaller last commit stays in the open segment.
    append_range(&mut store, 3000..3150);
    store.commit(b"last", 0).unwrap();
    let stats = store.stats();
    assert!(stats.segments >= 4, "{stats:?}");
    store.close().unwrap();
    let open = open_seq(dir.path());
    assert!(blocks(dir.path(), open).len() >= 3, "the open segment holds committed blocks");
    assert!(verify(dir.path()).unwrap().is_ok());
    dir
}

fn seg(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("segments/{seq:012}.seg"))
}

fn open_seq(dir: &Path) -> u64 {
    let mut seqs: Vec<u64> = std::fs::read_dir(dir.join("segments"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.strip_suffix(".seg")?.parse().ok())
        .collect();
    seqs.sort();
    *seqs.last().unwrap()
}

fn frames(dir: &Path, seq: u64) -> Vec<FrameRef> {
    let bytes = std::fs::read(seg(dir, seq)).unwrap();
    walk_frames(&bytes[HEADER_BYTES..], HEADER_BYTES as u64).0
}

/// Block frames of a segment with their indices.
fn blocks(dir: &Path, seq: u64) -> Vec<(u32, FrameRef)> {
    let bytes = std::fs::read(seg(dir, seq)).unwrap();
    frames(dir, seq)
        .into_iter()
        .filter(|f| f.kind == FRAME_KIND_BLOCK)
        .map(|f| {
            let payload = &bytes[f.payload_offset as usize..f.end() as usize];
            (decode_block(payload, false).unwrap().header.index, f)
        })
        .collect()
}

fn flip(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x20;
    std::fs::write(path, bytes).unwrap();
}

fn problem(dir: &Path) -> apiwatch_store::Problem {
    let report: VerifyReport = verify(dir).unwrap();
    match report.problem {
        Some(problem) => problem,
        None => panic!("tampering not caught: {report:?}"),
    }
}

#[test]
fn clean_store_passes() {
    let dir = build_store();
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.records_committed, 3150);
    assert_eq!(report.first_segment_seq, Some(0));
}

#[test]
fn flipped_byte_in_sealed_block_body_is_altered() {
    let dir = build_store();
    let (index, frame) = blocks(dir.path(), 1)[1];
    flip(&seg(dir.path(), 1), frame.end() - 40); // inside the body, before the hash
    let found = problem(dir.path());
    assert_eq!(found.kind, ProblemKind::Altered, "{found}");
    assert_eq!(found.segment_seq, Some(1));
    assert_eq!(found.block_index, Some(index));
    assert_eq!(found.offset_bytes, frame.offset);
    assert_eq!(found.path, seg(dir.path(), 1));
}

#[test]
fn flipped_byte_in_open_block_body_is_altered() {
    let dir = build_store();
    let open = open_seq(dir.path());
    let (index, frame) = blocks(dir.path(), open)[1];
    flip(&seg(dir.path(), open), frame.end() - 40);
    let found = problem(dir.path());
    assert_eq!(
        (found.kind, found.segment_seq, found.block_index),
        (ProblemKind::Altered, Some(open), Some(index)),
        "{found}"
    );
    assert_eq!(found.offset_bytes, frame.offset);
}

#[test]
fn flipped_byte_in_checkpoint_signature_is_altered() {
    let dir = build_store();
    let checkpoint =
        *frames(dir.path(), 2).iter().rfind(|f| f.kind == FRAME_KIND_CHECKPOINT).unwrap();
    flip(&seg(dir.path(), 2), checkpoint.end() - 3);
    let found = problem(dir.path());
    assert_eq!((found.kind, found.segment_seq), (ProblemKind::Altered, Some(2)), "{found}");
    assert_eq!(found.offset_bytes, checkpoint.offset);
    assert!(found.detail.contains("signature"), "{found}");
}

#[test]
fn dropped_block_frame_is_removed() {
    let dir = build_store();
    let (_, frame) = blocks(dir.path(), 1)[1];
    let path = seg(dir.path(), 1);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.drain(frame.offset as usize..frame.end() as usize);
    std::fs::write(&path, bytes).unwrap();
    let found = problem(dir.path());
    assert_eq!(
        (found.kind, found.segment_seq, found.block_index),
        (ProblemKind::Removed, Some(1), Some(1)),
        "{found}"
    );
    assert_eq!(found.offset_bytes, frame.offset);
}

#[test]
fn swapped_blocks_are_reordered() {
    let dir = build_store();
    let list = blocks(dir.path(), 1);
    let (a, b) = (list[1].1, list[2].1);
    let path = seg(dir.path(), 1);
    let bytes = std::fs::read(&path).unwrap();
    let range = |f: FrameRef| f.offset as usize..f.end() as usize;
    let mut swapped = bytes[..a.offset as usize].to_vec();
    swapped.extend_from_slice(&bytes[range(b)]);
    swapped.extend_from_slice(&bytes[a.end() as usize..b.offset as usize]);
    swapped.extend_from_slice(&bytes[range(a)]);
    swapped.extend_from_slice(&bytes[b.end() as usize..]);
    std::fs::write(&path, swapped).unwrap();
    let found = problem(dir.path());
    assert_eq!(
        (found.kind, found.segment_seq, found.block_index),
        (ProblemKind::Reordered, Some(1), Some(2)),
        "{found}"
    );
    assert_eq!(found.offset_bytes, a.offset);
}

#[test]
fn swapped_segment_files_are_reordered() {
    let dir = build_store();
    let temporary = dir.path().join("segments/swap");
    std::fs::rename(seg(dir.path(), 1), &temporary).unwrap();
    std::fs::rename(seg(dir.path(), 2), seg(dir.path(), 1)).unwrap();
    std::fs::rename(&temporary, seg(dir.path(), 2)).unwrap();
    let found = problem(dir.path());
    assert_eq!((found.kind, found.segment_seq), (ProblemKind::Reordered, Some(1)), "{found}");
    assert_eq!(found.path, seg(dir.path(), 1));
}

#[test]
fn deleted_middle_segment_is_removed() {
    let dir = build_store();
    std::fs::remove_file(seg(dir.path(), 2)).unwrap();
    let found = problem(dir.path());
    assert_eq!((found.kind, found.segment_seq), (ProblemKind::Removed, Some(2)), "{found}");
}

#[test]
fn deleted_oldest_segment_without_retention_entry_is_removed() {
    let dir = build_store();
    std::fs::remove_file(seg(dir.path(), 0)).unwrap();
    let found = problem(dir.path());
    assert_eq!((found.kind, found.segment_seq), (ProblemKind::Removed, Some(0)), "{found}");
}

#[test]
fn missing_final_checkpoint_is_removed() {
    let dir = build_store();
    let checkpoint = *frames(dir.path(), 1).last().unwrap();
    assert_eq!(checkpoint.kind, FRAME_KIND_CHECKPOINT);
    let file = std::fs::OpenOptions::new().write(true).open(seg(dir.path(), 1)).unwrap();
    file.set_len(checkpoint.offset).unwrap();
    let found = problem(dir.path());
    assert_eq!((found.kind, found.segment_seq), (ProblemKind::Removed, Some(1)), "{found}");
}

#[test]
fn sealed_segment_cut_mid_frame_is_truncated() {
    let dir = build_store();
    let checkpoint = *frames(dir.path(), 1).last().unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(seg(dir.path(), 1)).unwrap();
    file.set_len(checkpoint.offset + 10).unwrap();
    let found = problem(dir.path());
    assert_eq!(
        (found.kind, found.segment_seq, found.offset_bytes),
        (ProblemKind::Truncated, Some(1), checkpoint.offset),
        "{found}"
    );
}

#[test]
fn altered_summary_is_altered() {
    let dir = build_store();
    let path = dir.path().join("segments/000000000001.sum");
    flip(&path, 30);
    let found = problem(dir.path());
    assert_eq!((found.kind, found.segment_seq), (ProblemKind::Altered, Some(1)), "{found}");
    assert_eq!(found.path, path);
}

#[test]
fn altered_segment_header_is_caught() {
    let dir = build_store();
    flip(&seg(dir.path(), 1), 25); // creation time
    let found = problem(dir.path());
    assert_eq!((found.kind, found.segment_seq), (ProblemKind::Altered, Some(1)), "{found}");
}
