//! Mutes: an analyst silences one rule for one actor, for a while or until deleted.

use crate::codec::{check_len, corrupt, TEXT_BYTES_MAX};
use crate::error::{sql, Result};
use crate::State;
use apiwatch_core::ActorId;
use rusqlite::params;
use serde::Serialize;

/// A rule muted for an actor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mute {
    pub id: i64,
    pub rule: String,
    pub actor: ActorId,
    pub reason: String,
    pub created_by: String,
    pub created_at_ms: i64,
    /// `None`: until deleted.
    pub expires_at_ms: Option<i64>,
}

impl State {
    /// Mutes `rule` for `actor`; returns the mute's id.
    pub fn add_mute(
        &self,
        rule: &str,
        actor: &ActorId,
        reason: &str,
        by: &str,
        created_at_ms: i64,
        expires_at_ms: Option<i64>,
    ) -> Result<i64> {
        const OP: &str = "add_mute";
        check_len(OP, "reason", reason, TEXT_BYTES_MAX)?;
        self.write(OP, |tx| {
            tx.execute(
                "INSERT INTO mutes (rule, actor, reason, created_by, created_at_ms, expires_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![rule, actor.to_string(), reason, by, created_at_ms, expires_at_ms],
            )
            .map_err(sql(OP, format!("{rule} {actor}")))?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// The mutes not expired at `now_ms`, oldest first.
    pub fn list_mutes(&self, now_ms: i64) -> Result<Vec<Mute>> {
        const OP: &str = "list_mutes";
        let query = "SELECT id, rule, actor, reason, created_by, created_at_ms, expires_at_ms
                 FROM mutes WHERE expires_at_ms IS NULL OR expires_at_ms > ?1 ORDER BY id";
        self.list_by_id(OP, query, [now_ms], |r, id| {
            let e = || sql(OP, id);
            let actor: String = r.get(2).map_err(e())?;
            Ok(Mute {
                id,
                rule: r.get(1).map_err(e())?,
                actor: ActorId::parse(&actor)
                    .ok_or_else(|| corrupt(OP, id, format!("actor {actor:?}")))?,
                reason: r.get(3).map_err(e())?,
                created_by: r.get(4).map_err(e())?,
                created_at_ms: r.get(5).map_err(e())?,
                expires_at_ms: r.get(6).map_err(e())?,
            })
        })
    }

    /// Deletes a mute; `false` when there was none with this id.
    pub fn delete_mute(&self, id: i64) -> Result<bool> {
        self.delete_row("delete_mute", "mutes", id)
    }
}
