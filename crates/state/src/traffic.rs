//! Traffic counts by minute, saved as the service counts them so that a restart keeps the
//! last day of the dashboard's charts. Each row is one minute of one kind of count, as text
//! the caller writes and reads back; the database only keys, replaces and prunes them.

use crate::error::{sql_op, Result};
use crate::State;
use rusqlite::params;

impl State {
    /// Saves `minutes` (minute number, data) of `kind`, replacing those saved before, and
    /// deletes the minutes of `kind` before `keep_from_minute`, in one transaction.
    pub fn save_traffic_minutes(
        &self,
        kind: &str,
        minutes: &[(i64, String)],
        keep_from_minute: i64,
    ) -> Result<()> {
        const OP: &str = "save_traffic_minutes";
        self.write(OP, |tx| {
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO traffic_minutes (kind, minute, data) VALUES (?1, ?2, ?3)
                     ON CONFLICT (kind, minute) DO UPDATE SET data = excluded.data",
                )
                .map_err(sql_op(OP))?;
            for (minute, data) in minutes {
                put.execute(params![kind, minute, data]).map_err(sql_op(OP))?;
            }
            tx.execute(
                "DELETE FROM traffic_minutes WHERE kind = ?1 AND minute < ?2",
                params![kind, keep_from_minute],
            )
            .map_err(sql_op(OP))?;
            Ok(())
        })
    }

    /// The saved minutes of `kind` from `from_minute` on, oldest first.
    pub fn traffic_minutes(&self, kind: &str, from_minute: i64) -> Result<Vec<(i64, String)>> {
        const OP: &str = "traffic_minutes";
        let conn = self.lock();
        let mut st = conn
            .prepare_cached(
                "SELECT minute, data FROM traffic_minutes
                 WHERE kind = ?1 AND minute >= ?2 ORDER BY minute",
            )
            .map_err(sql_op(OP))?;
        let rows = st
            .query_map(params![kind, from_minute], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sql_op(OP))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_op(OP))
    }
}
