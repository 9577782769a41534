//! Decisions: storing, reading and listing them. Status changes, expiry and the change
//! stream bouncers poll are in `decision_changes.rs`.

use crate::codec::{check_len, parse_text, TEXT_BYTES_MAX};
use crate::error::{sql, sql_op, Result, StateError};
use crate::page::{List, Page, Paging, Where};
use crate::State;
use apiwatch_core::{Action, Decision, DecisionOrigin, DecisionStatus, ScopeKind};
use rusqlite::{params, OptionalExtension, Row, Transaction};
use serde::Serialize;

/// Who decided, without the name: a filter of [`State::list_decisions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OriginKind {
    Rule,
    Person,
}

impl OriginKind {
    /// The stored text (`rule`, `person`).
    pub fn as_str(self) -> &'static str {
        match self {
            OriginKind::Rule => "rule",
            OriginKind::Person => "person",
        }
    }
    /// Reads the stored text.
    pub fn parse(s: &str) -> Option<OriginKind> {
        [OriginKind::Rule, OriginKind::Person].into_iter().find(|k| k.as_str() == s)
    }
    /// The kind of an origin.
    pub fn of(origin: &DecisionOrigin) -> OriginKind {
        match origin {
            DecisionOrigin::Rule(_) => OriginKind::Rule,
            DecisionOrigin::Person(_) => OriginKind::Person,
        }
    }
}

/// Which decisions to list; every field set narrows the list. Newest first.
#[derive(Clone, Debug, Default)]
pub struct DecisionFilter {
    pub status: Option<DecisionStatus>,
    pub scope: Option<ScopeKind>,
    pub value: Option<String>,
    pub action: Option<Action>,
    pub origin: Option<OriginKind>,
    pub alert_id: Option<String>,
    pub incident_id: Option<String>,
    pub paging: Paging,
}

/// What the database keeps about a decision beside [`Decision`] itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DecisionMeta {
    /// Who changed the status last; `None` when it was created so or expired.
    pub status_by: Option<String>,
    /// The change sequence number of its last status change.
    pub change_seq: i64,
}

pub(crate) const COLUMNS: &str = "SELECT id, action, scope, value, duration_ms, origin_kind,
    origin_name, reason, status, created_at_ms, expires_at_ms, alert_id, incident_id, outcome";

pub(crate) fn read_decision(row: &Row<'_>, op: &'static str) -> Result<Decision> {
    let id: i64 = row.get(0).map_err(sql_op(op))?;
    let key = id.to_string();
    let e = || sql(op, id);
    let text = |i: usize| -> Result<String> { row.get(i).map_err(sql(op, id)) };
    let origin_name = text(6)?;
    let origin = match parse_text(&text(5)?, OriginKind::parse, op, &key, "origin_kind")? {
        OriginKind::Rule => DecisionOrigin::Rule(origin_name),
        OriginKind::Person => DecisionOrigin::Person(origin_name),
    };
    Ok(Decision {
        id,
        action: parse_text(&text(1)?, Action::parse, op, &key, "action")?,
        scope: parse_text(&text(2)?, ScopeKind::parse, op, &key, "scope")?,
        value: text(3)?,
        duration_ms: row.get(4).map_err(e())?,
        origin,
        reason: text(7)?,
        status: parse_text(&text(8)?, DecisionStatus::parse, op, &key, "status")?,
        created_at_ms: row.get(9).map_err(e())?,
        expires_at_ms: row.get(10).map_err(e())?,
        alert_id: row.get(11).map_err(e())?,
        incident_id: row.get(12).map_err(e())?,
        outcome: row.get(13).map_err(e())?,
    })
}

/// Takes the next change sequence number.
pub(crate) fn next_seq(tx: &Transaction<'_>, op: &'static str) -> Result<i64> {
    tx.query_row(
        "UPDATE decision_sequence SET seq = seq + 1 WHERE only = 1 RETURNING seq",
        [],
        |r| r.get(0),
    )
    .map_err(sql_op(op))
}

/// Runs a query of decisions.
pub(crate) fn query_decisions(
    conn: &rusqlite::Connection,
    op: &'static str,
    sql_text: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Decision>> {
    let mut st = conn.prepare_cached(sql_text).map_err(sql_op(op))?;
    let mut rows = st.query(params).map_err(sql_op(op))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sql_op(op))? {
        out.push(read_decision(row, op)?);
    }
    Ok(out)
}

/// The decision with this id, read inside a write.
pub(crate) fn decision_in(tx: &Transaction<'_>, op: &'static str, id: i64) -> Result<Decision> {
    query_decisions(tx, op, &format!("{COLUMNS} FROM decisions WHERE id = ?1"), [id])?
        .pop()
        .ok_or(StateError::NotFound { op, what: "decision", key: id.to_string() })
}

impl State {
    /// Stores a new decision and returns its id (`decision.id` is ignored). Its creation is
    /// a change of the stream bouncers poll.
    pub fn insert_decision(&self, decision: &Decision) -> Result<i64> {
        const OP: &str = "insert_decision";
        check_len(OP, "reason", &decision.reason, TEXT_BYTES_MAX)?;
        let origin_name = match &decision.origin {
            DecisionOrigin::Rule(name) | DecisionOrigin::Person(name) => name,
        };
        self.write(OP, |tx| {
            let seq = next_seq(tx, OP)?;
            tx.prepare_cached(
                "INSERT INTO decisions (action, scope, value, duration_ms, origin_kind,
                     origin_name, reason, status, created_at_ms, expires_at_ms, alert_id,
                     incident_id, outcome, change_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    decision.action.as_str(),
                    decision.scope.as_str(),
                    decision.value,
                    decision.duration_ms,
                    OriginKind::of(&decision.origin).as_str(),
                    origin_name,
                    decision.reason,
                    decision.status.as_str(),
                    decision.created_at_ms,
                    decision.expires_at_ms,
                    decision.alert_id,
                    decision.incident_id,
                    decision.outcome,
                    seq,
                ])
            })
            .map_err(sql(OP, format!("{}:{}", decision.scope.as_str(), decision.value)))?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// The decision with this id.
    pub fn decision(&self, id: i64) -> Result<Option<Decision>> {
        const OP: &str = "decision";
        let conn = self.lock();
        Ok(query_decisions(&conn, OP, &format!("{COLUMNS} FROM decisions WHERE id = ?1"), [id])?
            .pop())
    }

    /// Who changed a decision's status last, and the sequence number of that change.
    pub fn decision_meta(&self, id: i64) -> Result<Option<DecisionMeta>> {
        const OP: &str = "decision_meta";
        let conn = self.lock();
        conn.query_row("SELECT status_by, change_seq FROM decisions WHERE id = ?1", [id], |r| {
            Ok(DecisionMeta { status_by: r.get(0)?, change_seq: r.get(1)? })
        })
        .optional()
        .map_err(sql(OP, id))
    }

    /// One page of the decisions matching `filter`, newest first.
    pub fn list_decisions(&self, filter: &DecisionFilter) -> Result<Page<Decision>> {
        const OP: &str = "list_decisions";
        let mut w = Where::default();
        if let Some(status) = filter.status {
            w.and("status = ?", status.as_str().to_string());
        }
        if let Some(scope) = filter.scope {
            w.and("scope = ?", scope.as_str().to_string());
        }
        if let Some(value) = &filter.value {
            w.and("value = ?", value.clone());
        }
        if let Some(action) = filter.action {
            w.and("action = ?", action.as_str().to_string());
        }
        if let Some(origin) = filter.origin {
            w.and("origin_kind = ?", origin.as_str().to_string());
        }
        if let Some(alert) = &filter.alert_id {
            w.and("alert_id = ?", alert.clone());
        }
        if let Some(incident) = &filter.incident_id {
            w.and("incident_id = ?", incident.clone());
        }
        let conn = self.lock();
        w.page(
            &conn,
            &List { op: OP, select: COLUMNS, from: "decisions", order: "ORDER BY id DESC" },
            filter.paging,
            |row| read_decision(row, OP),
        )
    }

    /// Active decisions still running at `now_ms`, oldest first.
    pub fn active_decisions(&self, now_ms: i64) -> Result<Vec<Decision>> {
        let conn = self.lock();
        query_decisions(
            &conn,
            "active_decisions",
            &format!(
                "{COLUMNS} FROM decisions WHERE status = 'active' AND expires_at_ms > ?1
                 ORDER BY id"
            ),
            [now_ms],
        )
    }

    /// Active decisions on one scope value (`ip`, `198.51.100.7`) still running at `now_ms`.
    pub fn active_decisions_for(
        &self,
        scope: ScopeKind,
        value: &str,
        now_ms: i64,
    ) -> Result<Vec<Decision>> {
        let conn = self.lock();
        query_decisions(
            &conn,
            "active_decisions_for",
            &format!(
                "{COLUMNS} FROM decisions
                 WHERE scope = ?1 AND value = ?2 AND status = 'active' AND expires_at_ms > ?3
                 ORDER BY id"
            ),
            params![scope.as_str(), value, now_ms],
        )
    }

    /// The newest decision taking the same action on the same scope value that is still
    /// proposed, or active at `now_ms`: what a new decision would duplicate.
    pub fn open_decision_for(
        &self,
        action: Action,
        scope: ScopeKind,
        value: &str,
        now_ms: i64,
    ) -> Result<Option<Decision>> {
        let conn = self.lock();
        Ok(query_decisions(
            &conn,
            "open_decision_for",
            &format!(
                "{COLUMNS} FROM decisions
                 WHERE scope = ?1 AND value = ?2 AND action = ?3
                   AND (status = 'proposed' OR (status = 'active' AND expires_at_ms > ?4))
                 ORDER BY id DESC LIMIT 1"
            ),
            params![scope.as_str(), value, action.as_str(), now_ms],
        )?
        .pop())
    }
}
