//! What can fail in the state database, each variant naming the operation and the row.

use std::path::PathBuf;

/// A failure of the state database. Never carries an API token's secret or hash.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file could not be opened or configured.
    #[error("state database {path}: {what}: {source}")]
    Open { path: PathBuf, what: &'static str, source: rusqlite::Error },
    /// The file cannot be put in WAL mode (an in-memory database, or a file system
    /// without shared memory support).
    #[error("state database {path}: journal_mode=WAL refused, the mode is {mode:?}")]
    NoWal { path: PathBuf, mode: String },
    /// A migration step failed (the database keeps the version before it).
    #[error("state database migration to version {version}: {source}")]
    Migrate { version: u32, source: rusqlite::Error },
    /// The file was written by a newer apiwatch.
    #[error(
        "state database {path} has schema version {found}, newer than this apiwatch knows \
         ({known}); run a newer apiwatch or restore a backup"
    )]
    NewerSchema { path: PathBuf, found: u32, known: u32 },
    /// An SQL statement failed; `key` names the row when there is one.
    #[error("state: {op}{}: {source}", key_suffix(.key))]
    Sql { op: &'static str, key: String, source: rusqlite::Error },
    /// The row an operation needs is not there.
    #[error("state: {op}: no {what} {key}")]
    NotFound { op: &'static str, what: &'static str, key: String },
    /// A unique name or value is taken.
    #[error("state: {op}: {what} {key} already exists")]
    Conflict { op: &'static str, what: &'static str, key: String },
    /// An argument is out of bounds (too long, empty, out of range).
    #[error("state: {op}: {reason}")]
    Invalid { op: &'static str, reason: String },
    /// A stored value does not read back (edited by hand, or written by a broken build).
    #[error("state: {op} {key}: stored value unreadable: {reason}")]
    Corrupt { op: &'static str, key: String, reason: String },
    /// The audit trail's hash chain breaks at entry `id`.
    #[error("audit trail: entry {id} {reason}")]
    AuditChain { id: i64, reason: &'static str },
    /// The operating system's random source failed.
    #[error("state: {op}: random source: {reason}")]
    Random { op: &'static str, reason: String },
}

fn key_suffix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!(" {key}")
    }
}

/// Shorthand for the results of this crate.
pub type Result<T> = std::result::Result<T, StateError>;

/// Wraps an SQL error with the operation (and row) it belongs to.
pub(crate) fn sql(
    op: &'static str,
    key: impl ToString,
) -> impl FnOnce(rusqlite::Error) -> StateError {
    move |source| StateError::Sql { op, key: key.to_string(), source }
}

/// Wraps an SQL error of an operation on no particular row.
pub(crate) fn sql_op(op: &'static str) -> impl FnOnce(rusqlite::Error) -> StateError {
    move |source| StateError::Sql { op, key: String::new(), source }
}

/// Whether an insert failed on a UNIQUE constraint (a name or value already taken).
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}
