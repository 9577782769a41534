//! What can go wrong in a source, said with the pattern, path or byte offset it concerns.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// An error of a file source: bad configuration, an unreadable file, undecodable positions.
#[derive(Debug, Error)]
pub enum SourceError {
    /// A glob pattern in `include` or `exclude` does not parse.
    #[error("pattern {pattern:?}: {reason} at character {position}")]
    Pattern { pattern: String, position: usize, reason: &'static str },
    /// A configuration value out of its range.
    #[error("configuration: {0}")]
    Config(String),
    /// A file matched by a pattern could not be opened, read or listed.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// Stored positions that are not what [`crate::Positions::encode`] writes.
    #[error("positions: {reason} at byte {offset}")]
    Positions { offset: usize, reason: &'static str },
}
