//! Following log files named by paths and glob patterns: complete new lines with their
//! offsets, across rotation by rename and create, copytruncate, truncation, files that appear
//! later and files deleted.
//!
//! Reading and committing are separate. [`Follower::poll`] returns lines and moves only the
//! follower's own read offsets; the caller moves its [`Positions`] once the lines' events are
//! stored, and gives them back to [`Follower::new`] after a restart, which then resumes after
//! the last stored line: nothing lost, nothing repeated.
//!
//! A rotated file (its path now leads to another file, or nowhere) stays open and is read on
//! until nothing new was written to it for `rotated_linger_ms`: a server keeps writing to the
//! renamed file until it reopens its log, which may come after the new file is created.

mod file;
mod lines;

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use file::{FileId, Followed, ReadContext, SeenOffsets, Start, READ_CHUNK_BYTES};
pub use lines::{FileBatch, Line};

use crate::{Positions, SourceError};

/// Most files followed at once, each an open descriptor: a process's usual soft limit is
/// 1024 descriptors and the service needs some for sockets and its store. Files over it are
/// counted (`FollowStats::files_over_limit`) and picked up when others are dropped.
pub const FOLLOWED_FILES_MAX: usize = 512;

/// Largest `line_bytes_max` accepted: a line is held whole in memory before it is returned.
pub const LINE_BYTES_LIMIT: usize = 16 * 1024 * 1024;

/// Largest `batch_bytes_max` accepted.
pub const BATCH_BYTES_LIMIT: usize = 256 * 1024 * 1024;

/// Errors kept for [`Follower::take_errors`] between two calls; more are only counted.
pub const ERRORS_KEPT_MAX: usize = 64;

/// Paths whose last error is remembered, so that a file that stays unreadable is reported
/// once rather than at every scan.
const REPORTED_PATHS_MAX: usize = 1024;

/// Where to start in a file that has no position yet.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum ReadFrom {
    /// From its first line.
    #[default]
    Beginning,
    /// From its end, for files found at start-up: what they hold is history. A file that
    /// appears later is read from its first line (it was created since).
    End,
}

/// What to follow and within which limits.
#[derive(Clone, Debug)]
pub struct FollowConfig {
    /// Paths or glob patterns (`/var/log/nginx/*.log`) of the files to follow.
    pub include: Vec<String>,
    /// Glob patterns of matched paths to leave out (`*.gz`).
    pub exclude: Vec<String>,
    pub read_from: ReadFrom,
    /// Longest line returned, without its newline; longer ones are skipped and counted.
    pub line_bytes_max: usize,
    /// Most bytes read by one poll over all files (lines completed by it may add up to
    /// `line_bytes_max` per file of bytes read earlier).
    pub batch_bytes_max: usize,
    /// How often the patterns are matched again, for new and rotated files.
    pub rescan_interval_ms: u64,
    /// How long a rotated file is read on after nothing new was written to it.
    pub rotated_linger_ms: u64,
}

impl FollowConfig {
    /// Following `include` with the usual limits: 64 KiB lines (the decoders' own limit),
    /// 1 MiB per poll, a scan every second, rotated files kept 5 s after their last write.
    pub fn new(include: Vec<String>) -> FollowConfig {
        FollowConfig {
            include,
            exclude: Vec::new(),
            read_from: ReadFrom::Beginning,
            line_bytes_max: 64 * 1024,
            batch_bytes_max: 1024 * 1024,
            rescan_interval_ms: 1000,
            rotated_linger_ms: 5000,
        }
    }
}

/// What a follower did since it was built; `files_*` are as of the last poll.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FollowStats {
    /// Files open: being read, waiting for a first line, or rotated and being drained.
    pub files_followed: usize,
    /// Files not read because another followed file has the same fingerprint.
    pub files_duplicate: usize,
    /// Files matched by the last scan but not followed, over [`FOLLOWED_FILES_MAX`].
    pub files_over_limit: usize,
    pub bytes_read: u64,
    /// Complete lines returned.
    pub lines: u64,
    /// Lines longer than `line_bytes_max`, skipped.
    pub overlong_lines: u64,
    /// Files whose content was replaced (shorter than what was read, or a new first line),
    /// read again from 0.
    pub truncations: u64,
    /// Files whose path stopped leading to them (renamed or deleted).
    pub rotations: u64,
    /// Unfinished last lines of rotated files dropped when the file was.
    pub partial_lines_dropped: u64,
    /// Errors opening, listing or reading files (each also in [`Follower::take_errors`]).
    pub errors: u64,
}

/// Follows files: see the module documentation.
pub struct Follower {
    config: FollowConfig,
    exclude: Vec<glob::Pattern>,
    committed: Positions,
    seen: SeenOffsets,
    files: Vec<Followed>,
    /// Where the next poll starts reading, so that a busy file cannot starve the others.
    next_file: usize,
    last_scan: Option<Instant>,
    reported: HashMap<PathBuf, io::ErrorKind>,
    errors: Vec<SourceError>,
    stats: FollowStats,
    buf: Vec<u8>,
}

const MATCH_OPTIONS: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

impl Follower {
    /// A follower of `config`'s files that resumes each where `positions` says it was stored
    /// up to. Nothing is read until the first poll.
    pub fn new(config: FollowConfig, positions: Positions) -> Result<Follower, SourceError> {
        let pattern = |text: &String| {
            glob::Pattern::new(text).map_err(|e| SourceError::Pattern {
                pattern: text.clone(),
                position: e.pos,
                reason: e.msg,
            })
        };
        if config.include.is_empty() {
            return Err(SourceError::Config("include names no file".into()));
        }
        config.include.iter().try_for_each(|p| pattern(p).map(drop))?;
        let exclude = config.exclude.iter().map(pattern).collect::<Result<Vec<_>, _>>()?;
        if !(1..=LINE_BYTES_LIMIT).contains(&config.line_bytes_max) {
            return Err(SourceError::Config(format!(
                "line_bytes_max must be within 1..={LINE_BYTES_LIMIT}, not {}",
                config.line_bytes_max
            )));
        }
        if !(1..=BATCH_BYTES_LIMIT).contains(&config.batch_bytes_max) {
            return Err(SourceError::Config(format!(
                "batch_bytes_max must be within 1..={BATCH_BYTES_LIMIT}, not {}",
                config.batch_bytes_max
            )));
        }
        Ok(Follower {
            config,
            exclude,
            committed: positions,
            seen: SeenOffsets::default(),
            files: Vec::new(),
            next_file: 0,
            last_scan: None,
            reported: HashMap::new(),
            errors: Vec::new(),
            stats: FollowStats::default(),
            buf: vec![0; READ_CHUNK_BYTES],
        })
    }

    /// Reads what is new in every followed file, up to `batch_bytes_max` in all, and returns
    /// the complete lines, one batch per file that has any. Never waits for data. Matches the
    /// patterns again first when `rescan_interval_ms` has passed.
    pub fn poll(&mut self) -> Vec<FileBatch> {
        let now = Instant::now();
        let scan_due = self.last_scan.is_none_or(|at| {
            now.duration_since(at).as_millis() >= u128::from(self.config.rescan_interval_ms)
        });
        if scan_due {
            self.scan();
            self.last_scan = Some(now);
        }

        let mut reading: HashSet<_> = self.files.iter().filter_map(Followed::reading).collect();
        let mut budget_bytes = self.config.batch_bytes_max;
        let mut batches = Vec::new();
        let mut failed = Vec::new();
        let count = self.files.len();
        let first = if count == 0 { 0 } else { self.next_file % count };
        for k in 0..count {
            let index = (first + k) % count;
            let mut cx = ReadContext {
                seen: &mut self.seen,
                committed: &self.committed,
                reading: &mut reading,
                stats: &mut self.stats,
                buf: &mut self.buf,
                budget_bytes: &mut budget_bytes,
                now,
                recheck_head: scan_due,
            };
            match self.files[index].poll(&mut cx) {
                Ok(Some(batch)) => batches.push(batch),
                Ok(None) => {}
                Err(e) => failed.push((index, e)),
            }
        }
        self.next_file = first + 1;

        // A file that failed is dropped; if its path still leads to it, the next scan opens
        // it again and it resumes where this run read it up to.
        failed.sort_by_key(|&(index, _)| std::cmp::Reverse(index));
        for (index, error) in failed {
            let file = self.files.swap_remove(index);
            self.report(&file.path, error);
        }
        let linger_ms = self.config.rotated_linger_ms;
        let stats = &mut self.stats;
        self.files.retain(|file| {
            let done = file.rotated && file.idle_for(now, linger_ms);
            if done && file.partial_bytes() > 0 {
                stats.partial_lines_dropped += 1;
            }
            !done
        });
        let keep: HashSet<_> = self.files.iter().filter_map(Followed::reading).collect();
        self.seen.trim(&keep);
        batches
    }

    /// What the follower did, and the files it follows now.
    pub fn stats(&self) -> FollowStats {
        FollowStats {
            files_followed: self.files.len(),
            files_duplicate: self.files.iter().filter(|f| f.is_duplicate()).count(),
            ..self.stats.clone()
        }
    }

    /// Errors since the last call (at most [`ERRORS_KEPT_MAX`]; all are counted in
    /// [`FollowStats::errors`]). A file that stays unreadable is reported once.
    pub fn take_errors(&mut self) -> Vec<SourceError> {
        std::mem::take(&mut self.errors)
    }

    /// Notices files whose path leads elsewhere, and opens files newly matched.
    fn scan(&mut self) {
        for file in self.files.iter_mut().filter(|f| !f.rotated) {
            let moved = match fs::metadata(&file.path) {
                Ok(metadata) => FileId::of(&metadata) != file.id,
                Err(e) => e.kind() == io::ErrorKind::NotFound,
            };
            if moved {
                file.rotated = true;
                self.stats.rotations += 1;
            }
        }
        let mut index: HashMap<FileId, usize> =
            self.files.iter().enumerate().map(|(i, f)| (f.id, i)).collect();
        let mut over_limit = 0;
        for pattern in self.config.include.clone() {
            let paths = match glob::glob_with(&pattern, MATCH_OPTIONS) {
                Ok(paths) => paths,
                Err(_) => unreachable!("include patterns are checked by Follower::new"),
            };
            for entry in paths {
                match entry {
                    Ok(path) => {
                        if !self.consider(path, &mut index) {
                            over_limit += 1;
                        }
                    }
                    Err(e) => {
                        let path = e.path().to_path_buf();
                        self.report(&path, e.into());
                    }
                }
            }
        }
        self.stats.files_over_limit = over_limit;
    }

    /// Follows `path` if it is a new file; returns false when it is refused for the limit.
    fn consider(&mut self, path: PathBuf, index: &mut HashMap<FileId, usize>) -> bool {
        if self.exclude.iter().any(|p| p.matches_path_with(&path, MATCH_OPTIONS)) {
            return true;
        }
        let metadata = match fs::metadata(&path) {
            Ok(metadata) => metadata,
            // Gone between the listing and now: the next scan will tell.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return true,
            Err(e) => {
                self.report(&path, e);
                return true;
            }
        };
        if !metadata.is_file() {
            return true;
        }
        if let Some(&known) = index.get(&FileId::of(&metadata)) {
            let file = &mut self.files[known];
            // A rotated file renamed to a name the patterns match: it is followed on under
            // that name. A file with two matching names keeps the first.
            if file.rotated {
                file.path = path;
                file.rotated = false;
            }
            return true;
        }
        if self.files.len() >= FOLLOWED_FILES_MAX {
            return false;
        }
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) => {
                self.report(&path, e);
                return true;
            }
        };
        // The descriptor, not the earlier look-up, says which file was opened.
        let metadata = match file.metadata() {
            Ok(metadata) => metadata,
            Err(e) => {
                self.report(&path, e);
                return true;
            }
        };
        let id = FileId::of(&metadata);
        if index.contains_key(&id) {
            return true;
        }
        self.reported.remove(&path);
        let start = match self.config.read_from {
            ReadFrom::End if self.last_scan.is_none() => Start::End(metadata.len()),
            _ => Start::Resume,
        };
        index.insert(id, self.files.len());
        self.files.push(Followed::new(path, file, id, start, self.config.line_bytes_max));
        true
    }

    /// Keeps an error for the caller, unless this path's last error was of the same kind.
    fn report(&mut self, path: &Path, error: io::Error) {
        if self.reported.get(path) == Some(&error.kind()) {
            return;
        }
        if self.reported.len() >= REPORTED_PATHS_MAX {
            self.reported.clear();
        }
        self.reported.insert(path.to_path_buf(), error.kind());
        self.stats.errors += 1;
        if self.errors.len() < ERRORS_KEPT_MAX {
            self.errors.push(SourceError::Io { path: path.to_path_buf(), source: error });
        }
    }
}
