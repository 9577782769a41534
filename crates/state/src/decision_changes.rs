//! Changes of decisions: status moves, outcomes, expiry, and the change stream that
//! bouncers poll. Each status change takes the next number of one global sequence and
//! writes it on the decision, so "what changed since N" is an indexed range query.

use crate::codec::{check_len, TEXT_BYTES_MAX};
use crate::decisions::{decision_in, next_seq, read_decision, COLUMNS};
use crate::error::{sql, sql_op, Result, StateError};
use crate::State;
use apiwatch_core::{Decision, DecisionStatus};
use rusqlite::params;
use serde::Serialize;

/// The most decisions one poll of the change stream returns; a bouncer starting from 0 on
/// a long history pages on from `latest_seq`.
pub const DECISION_CHANGES_MAX: usize = 10_000;

/// What changed in the decisions since a sequence number.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DecisionChanges {
    /// Decisions now active (new, or approved) to enforce.
    pub active: Vec<Decision>,
    /// Decisions no longer active (lifted, expired, rejected) to stop enforcing. Proposed
    /// decisions are in neither list: nobody enforces them.
    pub inactive: Vec<Decision>,
    /// The number to ask from next time.
    pub latest_seq: i64,
    /// Whether more changes wait past `latest_seq` (the limit was reached).
    pub more: bool,
}

impl State {
    /// Moves a decision to `status` with a new end time; returns it as stored.
    pub fn update_decision_status(
        &self,
        id: i64,
        status: DecisionStatus,
        expires_at_ms: i64,
        by: &str,
    ) -> Result<Decision> {
        const OP: &str = "update_decision_status";
        self.write(OP, |tx| {
            let seq = next_seq(tx, OP)?;
            let n = tx
                .execute(
                    "UPDATE decisions SET status = ?2, expires_at_ms = ?3, status_by = ?4,
                         change_seq = ?5
                     WHERE id = ?1",
                    params![id, status.as_str(), expires_at_ms, by, seq],
                )
                .map_err(sql(OP, id))?;
            if n == 0 {
                return Err(StateError::NotFound { op: OP, what: "decision", key: id.to_string() });
            }
            decision_in(tx, OP, id)
        })
    }

    /// Records what the application's webhook answered for a decision.
    pub fn set_decision_outcome(&self, id: i64, outcome: &str) -> Result<()> {
        const OP: &str = "set_decision_outcome";
        check_len(OP, "outcome", outcome, TEXT_BYTES_MAX)?;
        self.write(OP, |tx| {
            let n = tx
                .execute("UPDATE decisions SET outcome = ?2 WHERE id = ?1", params![id, outcome])
                .map_err(sql(OP, id))?;
            if n == 0 {
                return Err(StateError::NotFound { op: OP, what: "decision", key: id.to_string() });
            }
            Ok(())
        })
    }

    /// Marks `expired` every active decision whose end is at or before `now_ms`; returns
    /// them as stored.
    pub fn expire_decisions(&self, now_ms: i64) -> Result<Vec<Decision>> {
        const OP: &str = "expire_decisions";
        self.write(OP, |tx| {
            let due: Vec<i64> = {
                let mut st = tx
                    .prepare_cached(
                        "SELECT id FROM decisions WHERE status = 'active' AND expires_at_ms <= ?1
                         ORDER BY expires_at_ms, id",
                    )
                    .map_err(sql_op(OP))?;
                let ids = st
                    .query_map([now_ms], |r| r.get(0))
                    .and_then(|rows| rows.collect::<rusqlite::Result<Vec<i64>>>())
                    .map_err(sql_op(OP))?;
                ids
            };
            let mut expired = Vec::with_capacity(due.len());
            for id in due {
                let seq = next_seq(tx, OP)?;
                tx.execute(
                    "UPDATE decisions SET status = 'expired', status_by = NULL, change_seq = ?2
                     WHERE id = ?1",
                    params![id, seq],
                )
                .map_err(sql(OP, id))?;
                expired.push(decision_in(tx, OP, id)?);
            }
            Ok(expired)
        })
    }

    /// The last change's sequence number (0 before any): where a bouncer that was just sent
    /// everything active goes on from.
    pub fn latest_decision_seq(&self) -> Result<i64> {
        const OP: &str = "latest_decision_seq";
        self.lock()
            .query_row("SELECT seq FROM decision_sequence WHERE only = 1", [], |r| r.get(0))
            .map_err(sql_op(OP))
    }

    /// The decisions whose status changed after sequence number `seq` (0: from the start),
    /// split into those to enforce and those to stop enforcing.
    pub fn decision_changes_since(&self, seq: i64) -> Result<DecisionChanges> {
        const OP: &str = "decision_changes_since";
        let mut conn = self.lock();
        // One read transaction: the rows and the sequence's end come from one snapshot.
        let tx = conn.transaction().map_err(sql_op(OP))?;
        let mut rows: Vec<(i64, Decision)> = Vec::new();
        {
            let mut st = tx
                .prepare_cached(&format!(
                    "{COLUMNS}, change_seq FROM decisions WHERE change_seq > ?1
                     ORDER BY change_seq LIMIT ?2"
                ))
                .map_err(sql_op(OP))?;
            let mut cursor =
                st.query(params![seq, DECISION_CHANGES_MAX as i64 + 1]).map_err(sql_op(OP))?;
            while let Some(row) = cursor.next().map_err(sql_op(OP))? {
                let decision = read_decision(row, OP)?;
                let change_seq: i64 = row.get(14).map_err(sql(OP, decision.id))?;
                rows.push((change_seq, decision));
            }
        }
        let global: i64 = tx
            .query_row("SELECT seq FROM decision_sequence WHERE only = 1", [], |r| r.get(0))
            .map_err(sql_op(OP))?;
        tx.finish().map_err(sql_op(OP))?;
        let more = rows.len() > DECISION_CHANGES_MAX;
        let mut changes = DecisionChanges {
            active: Vec::new(),
            inactive: Vec::new(),
            latest_seq: global.max(seq),
            more,
        };
        for (change_seq, decision) in rows.into_iter().take(DECISION_CHANGES_MAX) {
            if more {
                changes.latest_seq = change_seq;
            }
            match decision.status {
                DecisionStatus::Active => changes.active.push(decision),
                DecisionStatus::Proposed => {}
                DecisionStatus::Rejected | DecisionStatus::Lifted | DecisionStatus::Expired => {
                    changes.inactive.push(decision)
                }
            }
        }
        Ok(changes)
    }
}
