//! The file follower against real files in a temporary directory: appends, rotation by
//! rename, copytruncate, truncation, new files, restarts from committed positions, overlong
//! lines.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use apiwatch_source::{FileBatch, FollowConfig, Follower, Positions, ReadFrom};
use proptest::prelude::*;

/// A configuration that scans at every poll and keeps rotated files until the test is done.
fn config<P: AsRef<Path>>(patterns: &[P]) -> FollowConfig {
    let mut config = FollowConfig::new(
        patterns.iter().map(|p| p.as_ref().to_str().unwrap().to_string()).collect(),
    );
    config.rescan_interval_ms = 0;
    config.rotated_linger_ms = 60_000;
    config
}

fn writer(path: &Path) -> File {
    OpenOptions::new().append(true).create(true).open(path).unwrap()
}

fn write(file: &mut File, text: &str) {
    file.write_all(text.as_bytes()).unwrap();
}

fn texts(batches: &[FileBatch]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| b.lines().map(|l| String::from_utf8(l.bytes.to_vec()).unwrap()))
        .collect()
}

/// Polls until a poll finds nothing new; returns every line.
fn drain(follower: &mut Follower) -> Vec<String> {
    let mut lines = Vec::new();
    for _ in 0..10_000 {
        let batches = follower.poll();
        if batches.is_empty() {
            return lines;
        }
        lines.extend(texts(&batches));
    }
    panic!("the follower never ran out of lines");
}

fn strings(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|s| s.to_string()).collect()
}

#[test]
fn appends_in_pieces_give_exactly_the_lines_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let mut log = writer(&path);
    let mut follower = Follower::new(config(&[&path]), Positions::new()).unwrap();

    // No whole first line yet: the file cannot be fingerprinted, nothing is returned.
    write(&mut log, "GET /a 200");
    assert!(follower.poll().is_empty());
    write(&mut log, "\nGET /b");
    let batches = follower.poll();
    assert_eq!(texts(&batches), strings(&["GET /a 200"]));
    assert_eq!(batches[0].end_offset, 11);
    write(&mut log, " 404\r\n\nGET /c 500\nGET /d");
    let batches = follower.poll();
    assert_eq!(texts(&batches), strings(&["GET /b 404", "", "GET /c 500"]));
    let ends: Vec<u64> = batches[0].lines().map(|l| l.end_offset).collect();
    assert_eq!(ends, [23, 24, 35]);
    assert_eq!(batches[0].text(), b"GET /b 404\n\nGET /c 500\n");
    assert!(follower.poll().is_empty(), "a partial line waits for its newline");
    write(&mut log, " 201\n");
    assert_eq!(drain(&mut follower), strings(&["GET /d 201"]));
    let stats = follower.stats();
    assert_eq!((stats.lines, stats.bytes_read, stats.files_followed), (5, 46, 1));
}

/// Lines 1–3 before the rename, 4–6 written to the renamed file by a writer that still holds
/// it (before and after the new file exists), 7–8 to the new file.
fn rotate_by_rename(patterns: &[&str], linger_ms: u64) -> (Vec<String>, Follower) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let patterns: Vec<PathBuf> = patterns.iter().map(|p| dir.path().join(p)).collect();
    let mut config = config(&patterns);
    config.rotated_linger_ms = linger_ms;
    let mut follower = Follower::new(config, Positions::new()).unwrap();
    let mut old = writer(&path);
    let mut lines = Vec::new();
    write(&mut old, "old 1\nold 2\nold 3\n");
    lines.extend(drain(&mut follower));
    fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    write(&mut old, "old 4\n");
    lines.extend(drain(&mut follower));
    write(&mut old, "old 5\n");
    lines.extend(drain(&mut follower));
    let mut new = writer(&path);
    write(&mut new, "new 7\n");
    write(&mut old, "old 6\n");
    lines.extend(drain(&mut follower));
    write(&mut new, "new 8\n");
    lines.extend(drain(&mut follower));
    (lines, follower)
}

#[test]
fn rename_rotation_reads_the_old_file_to_its_end_and_the_new_one_from_zero() {
    let expected =
        strings(&["old 1", "old 2", "old 3", "old 4", "old 5", "new 7", "old 6", "new 8"]);
    for patterns in [&["app.log"][..], &["app.log*"], &["*.log", "*.log.1"]] {
        let (lines, follower) = rotate_by_rename(patterns, 60_000);
        assert_eq!(lines, expected, "patterns {patterns:?}");
        assert_eq!(follower.stats().rotations, 1, "patterns {patterns:?}");
    }
}

#[test]
fn a_rotated_file_is_dropped_once_idle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut config = config(&[&path]);
    config.rotated_linger_ms = 0;
    let mut follower = Follower::new(config, Positions::new()).unwrap();
    let mut old = writer(&path);
    write(&mut old, "old 1\n");
    assert_eq!(drain(&mut follower), strings(&["old 1"]));
    fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    write(&mut old, "old 2\n");
    write(&mut writer(&path), "new 1\n");
    let mut lines = drain(&mut follower);
    lines.sort();
    assert_eq!(lines, strings(&["new 1", "old 2"]));
    follower.poll();
    follower.poll();
    assert_eq!(follower.stats().files_followed, 1);
}

#[test]
fn copytruncate_reads_the_new_lines_from_zero() {
    for patterns in [&["app.log"][..], &["app.log*"]] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let patterns: Vec<PathBuf> = patterns.iter().map(|p| dir.path().join(p)).collect();
        let mut follower = Follower::new(config(&patterns), Positions::new()).unwrap();
        let mut log = writer(&path);
        write(&mut log, "before 1\nbefore 2\n");
        assert_eq!(drain(&mut follower), strings(&["before 1", "before 2"]));
        // copytruncate: copy, then truncate in place; the writer's appends land at 0.
        fs::copy(&path, dir.path().join("app.log.1")).unwrap();
        log.set_len(0).unwrap();
        write(&mut log, "after 1\n");
        assert_eq!(drain(&mut follower), strings(&["after 1"]), "patterns {patterns:?}");
        write(&mut log, "after 2\n");
        assert_eq!(drain(&mut follower), strings(&["after 2"]), "patterns {patterns:?}");
        assert_eq!(follower.stats().truncations, 1);
    }
}

#[test]
fn copytruncate_recovers_from_the_copy_lines_written_just_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut follower =
        Follower::new(config(&[dir.path().join("app.log*")]), Positions::new()).unwrap();
    let mut log = writer(&path);
    write(&mut log, "line 1\n");
    assert_eq!(drain(&mut follower), strings(&["line 1"]));
    write(&mut log, "line 2\n");
    fs::copy(&path, dir.path().join("app.log.1")).unwrap();
    log.set_len(0).unwrap();
    write(&mut log, "line 3\n");
    let mut lines = drain(&mut follower);
    lines.sort();
    assert_eq!(lines, strings(&["line 2", "line 3"]));
}

#[test]
fn truncation_starts_again_at_zero_and_loses_nothing_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut follower = Follower::new(config(&[&path]), Positions::new()).unwrap();
    let mut log = writer(&path);
    write(&mut log, "aaaa 1\naaaa 2\n");
    assert_eq!(drain(&mut follower).len(), 2);
    log.set_len(0).unwrap();
    assert!(follower.poll().is_empty());
    write(&mut log, "b\n");
    assert_eq!(drain(&mut follower), strings(&["b"]));
    // Truncated, then written past the old offset before the next poll: the first line
    // changed, so the new content is still read from 0.
    log.set_len(0).unwrap();
    write(&mut log, "c 1 is longer than before\nc 2\n");
    assert_eq!(drain(&mut follower), strings(&["c 1 is longer than before", "c 2"]));
    assert_eq!(follower.stats().truncations, 2);
}

#[test]
fn a_glob_picks_up_files_created_later_and_leaves_out_excluded_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&[dir.path().join("*.log")]);
    config.exclude = vec![dir.path().join("skip*").to_str().unwrap().to_string()];
    let mut follower = Follower::new(config, Positions::new()).unwrap();
    assert!(follower.poll().is_empty());
    write(&mut writer(&dir.path().join("a.log")), "from a\n");
    write(&mut writer(&dir.path().join("skip.log")), "from skip\n");
    write(&mut writer(&dir.path().join("a.txt")), "from txt\n");
    assert_eq!(drain(&mut follower), strings(&["from a"]));
    write(&mut writer(&dir.path().join("b.log")), "from b\n");
    assert_eq!(drain(&mut follower), strings(&["from b"]));
    fs::remove_file(dir.path().join("a.log")).unwrap();
    follower.poll();
    assert_eq!(follower.stats().rotations, 1);
}

#[test]
fn a_restart_repeats_exactly_the_lines_not_committed() {
    let dir = tempfile::tempdir().unwrap();
    let patterns = [dir.path().join("*.log")];
    write(&mut writer(&dir.path().join("a.log")), "a 1\na 2\n");
    write(&mut writer(&dir.path().join("b.log")), "b 1\nb 2\n");
    let mut follower = Follower::new(config(&patterns), Positions::new()).unwrap();
    let batches = follower.poll();
    assert_eq!(batches.len(), 2);
    let mut positions = Positions::new();
    for batch in batches.iter().filter(|b| b.path.ends_with("a.log")) {
        positions.advance(&batch.fingerprint, &batch.path, batch.end_offset);
    }
    drop(follower);

    let positions = Positions::decode(&positions.encode()).unwrap();
    let mut follower = Follower::new(config(&patterns), positions).unwrap();
    assert_eq!(drain(&mut follower), strings(&["b 1", "b 2"]));
    write(&mut writer(&dir.path().join("a.log")), "a 3\n");
    assert_eq!(drain(&mut follower), strings(&["a 3"]));
}

#[test]
fn a_restart_after_a_rotation_resumes_the_renamed_file_at_its_committed_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let patterns = [dir.path().join("app.log*")];
    let mut old = writer(&path);
    write(&mut old, "old 1\nold 2\nold 3\n");
    let mut follower = Follower::new(config(&patterns), Positions::new()).unwrap();
    let batches = follower.poll();
    // Only the first two lines' events were stored before the crash.
    let second = batches[0].lines().nth(1).unwrap();
    let mut positions = Positions::new();
    positions.advance(&batches[0].fingerprint, &batches[0].path, second.end_offset);
    drop(follower);

    fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    write(&mut old, "old 4\n");
    write(&mut writer(&path), "new 1\n");
    let positions = Positions::decode(&positions.encode()).unwrap();
    let mut follower = Follower::new(config(&patterns), positions).unwrap();
    let mut lines = drain(&mut follower);
    lines.sort();
    assert_eq!(lines, strings(&["new 1", "old 3", "old 4"]));
}

#[test]
fn small_batches_committed_one_by_one_survive_a_restart_in_between() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut log = writer(&path);
    let expected: Vec<String> = (0..500).map(|i| format!("line {i:04}")).collect();
    for line in &expected {
        write(&mut log, &format!("{line}\n"));
    }
    let mut config = config(&[path]);
    config.batch_bytes_max = 100;
    let mut stored = Vec::new();
    let mut positions = Positions::new();
    for round in 0.. {
        let mut follower = Follower::new(config.clone(), positions.clone()).unwrap();
        // Each follower stores a few batches, then reads one more it never stores.
        let mut read_some = false;
        for _ in 0..7 {
            for batch in follower.poll() {
                read_some = true;
                stored.extend(texts(std::slice::from_ref(&batch)));
                positions.advance(&batch.fingerprint, &batch.path, batch.end_offset);
            }
        }
        follower.poll();
        positions = Positions::decode(&positions.encode()).unwrap();
        if !read_some {
            break;
        }
        assert!(round < 500);
    }
    assert_eq!(stored, expected);
}

#[test]
fn read_from_end_skips_history_and_the_line_being_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut log = writer(&path);
    write(&mut log, "history 1\nhistory 2\nhalf of a li");
    let mut config = config(&[dir.path().join("*.log")]);
    config.read_from = ReadFrom::End;
    let mut follower = Follower::new(config, Positions::new()).unwrap();
    assert!(follower.poll().is_empty());
    write(&mut log, "ne\nfresh 1\n");
    // Files created after start-up are new: read from their first line.
    write(&mut writer(&dir.path().join("later.log")), "later 1\n");
    let mut lines = drain(&mut follower);
    lines.sort();
    assert_eq!(lines, strings(&["fresh 1", "later 1"]));
    assert_eq!(follower.stats().overlong_lines, 0);
}

#[test]
fn a_10_mib_line_is_counted_overlong_and_the_next_lines_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut log = writer(&path);
    write(&mut log, "before\n");
    let mut follower = Follower::new(config(&[path]), Positions::new()).unwrap();
    assert_eq!(drain(&mut follower), strings(&["before"]));
    let chunk = "x".repeat(1024 * 1024);
    for _ in 0..10 {
        write(&mut log, &chunk);
        assert!(follower.poll().is_empty());
    }
    write(&mut log, "\nafter 1\nafter 2\n");
    let mut overlong = 0;
    let mut end_offset = 0;
    let mut lines = Vec::new();
    for _ in 0..100 {
        for batch in follower.poll() {
            overlong += batch.overlong;
            end_offset = batch.end_offset;
            lines.extend(texts(&[batch]));
        }
    }
    assert_eq!(lines, strings(&["after 1", "after 2"]));
    assert_eq!(overlong, 1);
    assert_eq!(follower.stats().overlong_lines, 1);
    assert_eq!(end_offset, 7 + 10 * 1024 * 1024 + 1 + 16);
}

#[test]
fn pattern_errors_name_the_pattern() {
    let err = Follower::new(FollowConfig::new(vec!["/var/log/[a.log".into()]), Positions::new())
        .err()
        .unwrap();
    assert!(err.to_string().contains("\"/var/log/[a.log\""), "{err}");
    assert!(Follower::new(FollowConfig::new(vec![]), Positions::new()).is_err());
}

#[test]
fn an_unreadable_file_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    // A symbolic link to itself cannot be opened, even by root.
    let path = dir.path().join("loop.log");
    std::os::unix::fs::symlink(&path, &path).unwrap();
    write(&mut writer(&dir.path().join("fine.log")), "fine\n");
    let mut follower =
        Follower::new(config(&[dir.path().join("*.log")]), Positions::new()).unwrap();
    assert_eq!(drain(&mut follower), strings(&["fine"]));
    follower.poll();
    let errors = follower.take_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].to_string().contains("loop.log"), "{}", errors[0]);
    assert_eq!(follower.stats().errors, 1);
}

proptest! {
    #[test]
    fn decoding_garbage_is_an_error_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Positions::decode(&bytes);
    }

    #[test]
    fn decoding_a_damaged_encoding_never_panics(
        offsets in proptest::collection::vec(any::<u64>(), 1..5),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let mut positions = Positions::new();
        for (i, offset) in offsets.iter().enumerate() {
            let fp = apiwatch_source::Fingerprint::from_bytes([i as u8; 32]);
            positions.advance(&fp, Path::new("/var/log/app.log"), *offset);
        }
        let bytes = positions.encode();
        prop_assert_eq!(Positions::decode(&bytes).unwrap(), positions);
        prop_assert!(Positions::decode(&bytes[..cut.index(bytes.len())]).is_err());
        let mut damaged = bytes.clone();
        damaged[flip.index(bytes.len())] = value;
        let _ = Positions::decode(&damaged);
    }
}
