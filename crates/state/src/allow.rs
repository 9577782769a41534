//! The allow-list: scope values (an address, a CIDR network, a user, …) that responses
//! must never act on. Stored as written; matching (CIDR containment) is the caller's job.

use crate::codec::{check_len, parse_text, TEXT_BYTES_MAX};
use crate::error::{is_unique_violation, sql, Result, StateError};
use crate::State;
use apiwatch_core::ScopeKind;
use rusqlite::params;
use serde::Serialize;

/// One allow-list entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AllowEntry {
    pub id: i64,
    pub scope: ScopeKind,
    /// The value, or for `range` a CIDR network, as written.
    pub value: String,
    pub reason: String,
    pub created_by: String,
    pub created_at_ms: i64,
}

impl State {
    /// Adds an entry; returns its id. The same scope value twice is a `Conflict`.
    pub fn add_allow(
        &self,
        scope: ScopeKind,
        value: &str,
        reason: &str,
        by: &str,
        created_at_ms: i64,
    ) -> Result<i64> {
        const OP: &str = "add_allow";
        check_len(OP, "value", value, TEXT_BYTES_MAX)?;
        check_len(OP, "reason", reason, TEXT_BYTES_MAX)?;
        let key = format!("{}:{value}", scope.as_str());
        self.write(OP, |tx| {
            tx.execute(
                "INSERT INTO allow_entries (scope, value, reason, created_by, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![scope.as_str(), value, reason, by, created_at_ms],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StateError::Conflict { op: OP, what: "allow-list entry", key: key.clone() }
                } else {
                    sql(OP, &key)(e)
                }
            })?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// Every allow-list entry, oldest first.
    pub fn list_allow(&self) -> Result<Vec<AllowEntry>> {
        const OP: &str = "list_allow";
        let query = "SELECT id, scope, value, reason, created_by, created_at_ms FROM allow_entries
                 ORDER BY id";
        self.list_by_id(OP, query, [], |r, id| {
            let e = || sql(OP, id);
            let scope: String = r.get(1).map_err(e())?;
            Ok(AllowEntry {
                id,
                scope: parse_text(&scope, ScopeKind::parse, OP, &id.to_string(), "scope")?,
                value: r.get(2).map_err(e())?,
                reason: r.get(3).map_err(e())?,
                created_by: r.get(4).map_err(e())?,
                created_at_ms: r.get(5).map_err(e())?,
            })
        })
    }

    /// Deletes an entry; `false` when there was none with this id.
    pub fn delete_allow(&self, id: i64) -> Result<bool> {
        self.delete_row("delete_allow", "allow_entries", id)
    }
}
