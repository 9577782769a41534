//! Source threads: followed files and stdin. Each blocks on the pipeline's queue when it is
//! full (backpressure: a file is simply read later), and stops when `stop` is set.

use super::feed::{Feed, Mark, BATCH_LINES_MAX};
use super::metrics::Metrics;
use crate::config::live::ReadFrom;
use apiwatch_source::{FollowConfig, Follower, Positions};
use crossbeam_channel::{SendTimeoutError, Sender};
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a follower sleeps when its files had nothing new.
pub const FOLLOW_IDLE_POLL: Duration = Duration::from_millis(50);
/// How often new files matching the patterns (and rotations) are looked for.
const FOLLOW_RESCAN_MS: u64 = 250;
/// How long a blocked send waits before looking at `stop` again.
const SEND_RETRY: Duration = Duration::from_millis(100);
/// Bytes read from stdin at once.
const STDIN_READ_BYTES: usize = 256 * 1024;

/// Sends, waiting while the queue is full; false when the service is stopping or gone.
fn send(feed_tx: &Sender<Feed>, mut feed: Feed, stop: &AtomicBool) -> bool {
    loop {
        match feed_tx.send_timeout(feed, SEND_RETRY) {
            Ok(()) => return true,
            Err(SendTimeoutError::Timeout(f)) => {
                if stop.load(Ordering::Relaxed) {
                    return false;
                }
                feed = f;
            }
            Err(SendTimeoutError::Disconnected(_)) => return false,
        }
    }
}

pub struct FileSource {
    pub index: usize,
    pub name: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub read_from: ReadFrom,
}

/// Follows a file source's files until `stop`; positions start from the last commit.
pub fn follow_files(
    src: FileSource,
    positions: Positions,
    feed_tx: Sender<Feed>,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let mut config = FollowConfig::new(src.include.clone());
    config.exclude = src.exclude.clone();
    config.rescan_interval_ms = FOLLOW_RESCAN_MS;
    config.read_from = match src.read_from {
        ReadFrom::Beginning => apiwatch_source::ReadFrom::Beginning,
        ReadFrom::End => apiwatch_source::ReadFrom::End,
    };
    let mut follower = Follower::new(config, positions)
        .map_err(|e| anyhow::anyhow!("source `{}`: {e}", src.name))?;
    let label = Metrics::source(&src.name);
    let mut last = follower.stats();
    while !stop.load(Ordering::Relaxed) {
        let batches = follower.poll();
        for e in follower.take_errors() {
            tracing::warn!(source = %src.name, error = %e, "file source");
        }
        let st = follower.stats();
        metrics.files_followed.get_or_create(&label).set(st.files_followed as i64);
        metrics.file_rotations.get_or_create(&label).inc_by(st.rotations - last.rotations);
        metrics.file_truncations.get_or_create(&label).inc_by(st.truncations - last.truncations);
        let overlong = st.overlong_lines - last.overlong_lines;
        if overlong > 0 {
            metrics.dropped(&src.name, "line_too_long", overlong);
        }
        last = st;
        if batches.is_empty() {
            std::thread::sleep(FOLLOW_IDLE_POLL);
            continue;
        }
        for b in batches {
            let lines: Vec<Vec<u8>> = b.lines().map(|l| l.bytes.to_vec()).collect();
            let more = std::fs::metadata(&b.path).is_ok_and(|m| m.len() > b.end_offset);
            let mark = Mark::File {
                fingerprint: b.fingerprint,
                path: b.path.clone(),
                end_offset: b.end_offset,
                more,
            };
            if !send(&feed_tx, Feed::Lines { source: src.index, lines, mark, ack: None }, &stop) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Reads stdin to its end (or `stop`), a batch per read.
pub fn read_stdin(
    index: usize,
    feed_tx: Sender<Feed>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let mut stdin = std::io::stdin().lock();
    let mut buf = vec![0u8; STDIN_READ_BYTES];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(anyhow::anyhow!("stdin: {e}")),
        };
        carry.extend_from_slice(&buf[..n]);
        let Some(last_nl) = memchr::memrchr(b'\n', &carry) else { continue };
        let rest = carry.split_off(last_nl + 1);
        let text = std::mem::replace(&mut carry, rest);
        for lines in split_lines(&text).chunks(BATCH_LINES_MAX) {
            if !send(
                &feed_tx,
                Feed::Lines { source: index, lines: lines.to_vec(), mark: Mark::None, ack: None },
                &stop,
            ) {
                return Ok(());
            }
        }
    }
    if !carry.is_empty() {
        let _ = send(
            &feed_tx,
            Feed::Lines { source: index, lines: vec![carry], mark: Mark::None, ack: None },
            &stop,
        );
    }
    Ok(())
}

fn split_lines(text: &[u8]) -> Vec<Vec<u8>> {
    text.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .collect()
}
