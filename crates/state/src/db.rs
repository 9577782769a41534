//! Opening the database: pragmas, migrations, and the one connection every operation uses.
//!
//! `State` holds a single connection behind a mutex. SQLite serialises writers anyway, the
//! service's reads are small indexed lookups, and one connection keeps every operation in
//! one order; a reader that would hold the lock for long (`alerts_in_order`) reads in
//! batches, taking the lock once per batch.

use crate::error::{Result, StateError};
use crate::schema::{MIGRATIONS, SCHEMA_VERSION};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How long a statement waits for another process's write lock (the CLI beside the
/// service) before it fails with "database is locked"; writes here take milliseconds.
pub const BUSY_TIMEOUT_MS: u64 = 5_000;

/// The state database. Safe to share between threads (`Arc<State>`); each call is
/// synchronous, so async callers use a dedicated thread or `spawn_blocking`.
pub struct State {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").field("path", &self.path).finish_non_exhaustive()
    }
}

impl State {
    /// Opens or creates the database at `path` and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<State> {
        let path = path.as_ref().to_path_buf();
        let fail = |what: &'static str| {
            let path = path.clone();
            move |source| StateError::Open { path, what, source }
        };
        let mut conn = Connection::open(&path).map_err(fail("open"))?;
        conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS)).map_err(fail("busy_timeout"))?;
        // WAL: readers do not block the writer. FULL: the WAL is synced at every commit,
        // so a committed change survives kill -9 and power loss (NORMAL would not survive
        // the latter).
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(fail("journal_mode=WAL"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StateError::NoWal { path, mode });
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(fail("synchronous=FULL"))?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(fail("foreign_keys=ON"))?;
        migrate(&mut conn, &path)?;
        Ok(State { conn: Mutex::new(conn), path })
    }

    /// The file this state lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database (always [`SCHEMA_VERSION`] once open).
    pub fn schema_version(&self) -> Result<u32> {
        user_version(&self.lock()).map_err(crate::error::sql_op("schema_version"))
    }

    /// The connection. A thread that panicked while holding it left no transaction open
    /// (a dropped `Transaction` rolls back), so a poisoned lock is still usable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` in a write transaction, committed when `f` succeeds. Immediate: the write
    /// lock is taken at the start, so a read-then-write cannot fail halfway on a busy lock.
    /// Reads every row `query` selects (its first column the row's id) through `row`, which
    /// gets the row, its id and the error mapper for that id.
    pub(crate) fn list_by_id<T>(
        &self,
        op: &'static str,
        query: &str,
        params: impl rusqlite::Params,
        mut row: impl FnMut(&rusqlite::Row<'_>, i64) -> Result<T>,
    ) -> Result<Vec<T>> {
        use crate::error::sql_op;
        let conn = self.lock();
        let mut st = conn.prepare_cached(query).map_err(sql_op(op))?;
        let mut rows = st.query(params).map_err(sql_op(op))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(sql_op(op))? {
            let id: i64 = r.get(0).map_err(sql_op(op))?;
            out.push(row(r, id)?);
        }
        Ok(out)
    }

    /// Deletes row `id` of `table` in its own transaction; `false` when there was none.
    /// `table` is one of the schema's names, never input.
    pub(crate) fn delete_row(
        &self,
        op: &'static str,
        table: &'static str,
        id: i64,
    ) -> Result<bool> {
        self.write(op, |tx| {
            let deleted = tx
                .execute(&format!("DELETE FROM {table} WHERE id = ?1"), [id])
                .map_err(crate::error::sql(op, id))?;
            Ok(deleted > 0)
        })
    }

    pub(crate) fn write<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(crate::error::sql_op(op))?;
        let out = f(&tx)?;
        tx.commit().map_err(crate::error::sql_op(op))?;
        Ok(out)
    }
}

fn user_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Applies the missing steps, each in its own transaction with its version number, so a
/// crash between steps leaves a database at a known version.
fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| StateError::Open { path: path.into(), what: "migrate", source })?;
        // Read inside the transaction: another process may have migrated meanwhile.
        let found = user_version(&tx).map_err(|source| StateError::Open {
            path: path.into(),
            what: "user_version",
            source,
        })?;
        if found > SCHEMA_VERSION {
            return Err(StateError::NewerSchema {
                path: path.into(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        if found == SCHEMA_VERSION {
            return Ok(());
        }
        let version = found + 1;
        let step = |source| StateError::Migrate { version, source };
        tx.execute_batch(MIGRATIONS[found as usize]).map_err(step)?;
        tx.pragma_update(None, "user_version", version).map_err(step)?;
        tx.commit().map_err(step)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_syncs_fully_and_enforces_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path().join("state.db")).unwrap();
        let conn = state.lock();
        let synchronous: i64 = conn.pragma_query_value(None, "synchronous", |r| r.get(0)).unwrap();
        assert_eq!(synchronous, 2, "FULL");
        let foreign_keys: i64 =
            conn.pragma_query_value(None, "foreign_keys", |r| r.get(0)).unwrap();
        assert_eq!(foreign_keys, 1);
        let busy_ms: i64 = conn.pragma_query_value(None, "busy_timeout", |r| r.get(0)).unwrap();
        assert_eq!(busy_ms, BUSY_TIMEOUT_MS as i64);
        // A note on a missing incident is refused by the schema itself.
        let err = conn
            .execute(
                "INSERT INTO incident_notes (incident_id, author, at_ms, text)
                 VALUES ('missing', 'a', 1, 't')",
                [],
            )
            .unwrap_err();
        assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
    }

    #[test]
    fn every_migration_step_is_applied_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(State::open(&path).unwrap());
        // Reopening runs no step again (a second CREATE TABLE would fail).
        let state = State::open(&path).unwrap();
        assert_eq!(state.schema_version().unwrap(), SCHEMA_VERSION);
    }
}
