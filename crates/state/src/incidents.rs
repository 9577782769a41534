//! Incidents: correlation's view (replaced by each upsert) beside the analyst's triage
//! (status, assignee, verdict, times), which upserts never overwrite, and notes.

use crate::codec::{
    check_len, corrupt, parse_text, severity_of_rank, severity_rank, TEXT_BYTES_MAX,
};
use crate::error::{sql, sql_op, Result, StateError};
use crate::page::{List, Page, Paging, Where};
use crate::State;
use apiwatch_core::{ActorId, Incident, IncidentStatus, Severity};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Serialize, Serializer};

/// An analyst's conclusion about an incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    TruePositive,
    FalsePositive,
    Benign,
    /// Anything else the analyst wrote.
    Other(String),
}

impl Verdict {
    /// The stored text: a known name, or the analyst's own words.
    pub fn as_str(&self) -> &str {
        match self {
            Verdict::TruePositive => "true_positive",
            Verdict::FalsePositive => "false_positive",
            Verdict::Benign => "benign",
            Verdict::Other(text) => text,
        }
    }
    /// Reads a known name, or keeps the text as [`Verdict::Other`].
    pub fn parse(text: &str) -> Verdict {
        match text {
            "true_positive" => Verdict::TruePositive,
            "false_positive" => Verdict::FalsePositive,
            "benign" => Verdict::Benign,
            other => Verdict::Other(other.to_string()),
        }
    }
}

impl Serialize for Verdict {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The analyst's part of an incident.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Triage {
    pub status: IncidentStatus,
    /// Who set the status last (`None` while nobody has).
    pub status_by: Option<String>,
    pub assignee: Option<String>,
    pub verdict: Option<Verdict>,
    /// When it was first acknowledged (closing an incident acknowledges it too).
    pub acknowledged_at_ms: Option<i64>,
    /// When it was closed (resolved or a false positive); cleared when reopened.
    pub resolved_at_ms: Option<i64>,
}

/// An incident with its triage, as lists return it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IncidentRecord {
    pub incident: Incident,
    pub triage: Triage,
}

/// An incident with its triage and notes, as [`State::incident`] returns it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IncidentDetail {
    pub incident: Incident,
    pub triage: Triage,
    /// Oldest first.
    pub notes: Vec<Note>,
}

/// An analyst's note on an incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    pub id: i64,
    pub author: String,
    pub at_ms: i64,
    pub text: String,
}

/// Which incidents to list; every field set narrows the list. Newest opened first.
#[derive(Clone, Debug, Default)]
pub struct IncidentFilter {
    pub status: Option<IncidentStatus>,
    /// This severity or a higher one.
    pub severity_min: Option<Severity>,
    pub actor: Option<ActorId>,
    pub rule: Option<String>,
    pub assignee: Option<String>,
    /// `opened_at_ms >= since_ms`.
    pub since_ms: Option<i64>,
    /// `opened_at_ms < until_ms`.
    pub until_ms: Option<i64>,
    pub paging: Paging,
}

const COLUMNS: &str = "SELECT id, title, severity, risk, first_event_ms, opened_at_ms,
    updated_at_ms, actors_json, alert_ids_json, rules_json, status, status_by, assignee,
    verdict, acknowledged_at_ms, resolved_at_ms";

fn read_record(row: &Row<'_>, op: &'static str) -> Result<IncidentRecord> {
    let id: String = row.get(0).map_err(sql_op(op))?;
    let e = || sql(op, &id);
    let list = |i: usize, column: &str| -> Result<Vec<String>> {
        let text: String = row.get(i).map_err(sql(op, &id))?;
        serde_json::from_str(&text).map_err(|err| corrupt(op, &id, format!("{column}: {err}")))
    };
    let actors = list(7, "actors_json")?
        .iter()
        .map(|a| ActorId::parse(a).ok_or_else(|| corrupt(op, &id, format!("actor {a:?}"))))
        .collect::<Result<Vec<ActorId>>>()?;
    let alert_ids = list(8, "alert_ids_json")?;
    let rules = list(9, "rules_json")?;
    let status: String = row.get(10).map_err(e())?;
    let verdict: Option<String> = row.get(13).map_err(e())?;
    Ok(IncidentRecord {
        incident: Incident {
            title: row.get(1).map_err(e())?,
            severity: severity_of_rank(row.get(2).map_err(e())?, op, &id)?,
            risk: row.get(3).map_err(e())?,
            first_event_ms: row.get(4).map_err(e())?,
            opened_at_ms: row.get(5).map_err(e())?,
            updated_at_ms: row.get(6).map_err(e())?,
            actors,
            alert_ids,
            rules,
            id: id.clone(),
        },
        triage: Triage {
            status: parse_text(&status, IncidentStatus::parse, op, &id, "status")?,
            status_by: row.get(11).map_err(e())?,
            assignee: row.get(12).map_err(e())?,
            verdict: verdict.as_deref().map(Verdict::parse),
            acknowledged_at_ms: row.get(14).map_err(e())?,
            resolved_at_ms: row.get(15).map_err(e())?,
        },
    })
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("lists of strings serialise")
}

impl State {
    /// Stores correlation's view of an incident, or replaces it; the triage is kept (a new
    /// incident starts `open`).
    pub fn upsert_incident(&self, incident: &Incident) -> Result<()> {
        const OP: &str = "upsert_incident";
        self.write(OP, |tx| {
            let err = || sql(OP, &incident.id);
            tx.prepare_cached(
                "INSERT INTO incidents (id, title, severity, risk, first_event_ms, opened_at_ms,
                     updated_at_ms, actors_json, alert_ids_json, rules_json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (id) DO UPDATE SET
                     title = excluded.title,
                     severity = excluded.severity,
                     risk = excluded.risk,
                     first_event_ms = excluded.first_event_ms,
                     opened_at_ms = excluded.opened_at_ms,
                     updated_at_ms = excluded.updated_at_ms,
                     actors_json = excluded.actors_json,
                     alert_ids_json = excluded.alert_ids_json,
                     rules_json = excluded.rules_json",
            )
            .and_then(|mut st| {
                st.execute(params![
                    incident.id,
                    incident.title,
                    severity_rank(incident.severity),
                    incident.risk,
                    incident.first_event_ms,
                    incident.opened_at_ms,
                    incident.updated_at_ms,
                    to_json(&incident.actors),
                    to_json(&incident.alert_ids),
                    to_json(&incident.rules),
                ])
            })
            .map_err(err())?;
            tx.execute("DELETE FROM incident_actors WHERE incident_id = ?1", [&incident.id])
                .map_err(err())?;
            tx.execute("DELETE FROM incident_rules WHERE incident_id = ?1", [&incident.id])
                .map_err(err())?;
            let mut actor = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO incident_actors (incident_id, actor) VALUES (?1, ?2)",
                )
                .map_err(err())?;
            for a in &incident.actors {
                actor.execute(params![incident.id, a.to_string()]).map_err(err())?;
            }
            let mut rule = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO incident_rules (incident_id, rule) VALUES (?1, ?2)",
                )
                .map_err(err())?;
            for r in &incident.rules {
                rule.execute(params![incident.id, r]).map_err(err())?;
            }
            Ok(())
        })
    }

    /// The incident with this id, its triage and its notes.
    pub fn incident(&self, id: &str) -> Result<Option<IncidentDetail>> {
        const OP: &str = "incident";
        let conn = self.lock();
        let mut st = conn
            .prepare_cached(&format!("{COLUMNS} FROM incidents WHERE id = ?1"))
            .map_err(sql(OP, id))?;
        let mut rows = st.query([id]).map_err(sql(OP, id))?;
        let Some(row) = rows.next().map_err(sql(OP, id))? else {
            return Ok(None);
        };
        let record = read_record(row, OP)?;
        let mut st = conn
            .prepare_cached(
                "SELECT id, author, at_ms, text FROM incident_notes WHERE incident_id = ?1
                 ORDER BY at_ms, id",
            )
            .map_err(sql(OP, id))?;
        let notes = st
            .query_map([id], |r| {
                Ok(Note { id: r.get(0)?, author: r.get(1)?, at_ms: r.get(2)?, text: r.get(3)? })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<Note>>>())
            .map_err(sql(OP, id))?;
        Ok(Some(IncidentDetail { incident: record.incident, triage: record.triage, notes }))
    }

    /// One page of the incidents matching `filter`, newest opened first.
    pub fn list_incidents(&self, filter: &IncidentFilter) -> Result<Page<IncidentRecord>> {
        const OP: &str = "list_incidents";
        let mut w = Where::default();
        if let Some(status) = filter.status {
            w.and("status = ?", status.as_str().to_string());
        }
        if let Some(severity) = filter.severity_min {
            w.and("severity >= ?", severity_rank(severity));
        }
        if let Some(actor) = &filter.actor {
            w.and(
                "id IN (SELECT incident_id FROM incident_actors WHERE actor = ?)",
                actor.to_string(),
            );
        }
        if let Some(rule) = &filter.rule {
            w.and("id IN (SELECT incident_id FROM incident_rules WHERE rule = ?)", rule.clone());
        }
        if let Some(assignee) = &filter.assignee {
            w.and("assignee = ?", assignee.clone());
        }
        if let Some(since) = filter.since_ms {
            w.and("opened_at_ms >= ?", since);
        }
        if let Some(until) = filter.until_ms {
            w.and("opened_at_ms < ?", until);
        }
        let conn = self.lock();
        w.page(
            &conn,
            &List {
                op: OP,
                select: COLUMNS,
                from: "incidents",
                order: "ORDER BY opened_at_ms DESC, id DESC",
            },
            filter.paging,
            |row| read_record(row, OP),
        )
    }

    /// Moves an incident to `status`. Acknowledging or closing records the first
    /// acknowledgement; closing (resolved, false positive) records when, once; reopening
    /// clears the closing time.
    pub fn set_incident_status(
        &self,
        id: &str,
        status: IncidentStatus,
        by: &str,
        at_ms: i64,
    ) -> Result<()> {
        const OP: &str = "set_incident_status";
        self.write(OP, |tx| {
            let n = tx
                .execute(
                    "UPDATE incidents SET
                         status = ?2,
                         status_by = ?3,
                         acknowledged_at_ms = CASE WHEN ?2 = 'open' THEN acknowledged_at_ms
                             ELSE coalesce(acknowledged_at_ms, ?4) END,
                         resolved_at_ms = CASE WHEN ?2 IN ('resolved', 'false_positive')
                             THEN coalesce(resolved_at_ms, ?4) ELSE NULL END
                     WHERE id = ?1",
                    params![id, status.as_str(), by, at_ms],
                )
                .map_err(sql(OP, id))?;
            found(n, OP, id)
        })
    }

    /// Assigns an incident to someone, or to nobody.
    pub fn assign_incident(&self, id: &str, assignee: Option<&str>) -> Result<()> {
        const OP: &str = "assign_incident";
        if let Some(a) = assignee {
            check_len(OP, "assignee", a, TEXT_BYTES_MAX)?;
        }
        self.write(OP, |tx| {
            let n = tx
                .execute("UPDATE incidents SET assignee = ?2 WHERE id = ?1", params![id, assignee])
                .map_err(sql(OP, id))?;
            found(n, OP, id)
        })
    }

    /// Records the analyst's verdict, or clears it.
    pub fn set_verdict(&self, id: &str, verdict: Option<&Verdict>) -> Result<()> {
        const OP: &str = "set_verdict";
        let text = verdict.map(Verdict::as_str);
        if let Some(t) = text {
            check_len(OP, "verdict", t, TEXT_BYTES_MAX)?;
        }
        self.write(OP, |tx| {
            let n = tx
                .execute("UPDATE incidents SET verdict = ?2 WHERE id = ?1", params![id, text])
                .map_err(sql(OP, id))?;
            found(n, OP, id)
        })
    }

    /// Adds a note to an incident; returns the note's id.
    pub fn add_note(&self, id: &str, author: &str, at_ms: i64, text: &str) -> Result<i64> {
        const OP: &str = "add_note";
        check_len(OP, "note", text, TEXT_BYTES_MAX)?;
        self.write(OP, |tx| {
            let exists: Option<i64> = tx
                .query_row("SELECT 1 FROM incidents WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .map_err(sql(OP, id))?;
            found(exists.map_or(0, |_| 1), OP, id)?;
            tx.execute(
                "INSERT INTO incident_notes (incident_id, author, at_ms, text)
                 VALUES (?1, ?2, ?3, ?4)",
                params![id, author, at_ms, text],
            )
            .map_err(sql(OP, id))?;
            Ok(tx.last_insert_rowid())
        })
    }
}

/// `NotFound` when an update touched no incident.
fn found(changed: usize, op: &'static str, id: &str) -> Result<()> {
    if changed == 0 {
        return Err(StateError::NotFound { op, what: "incident", key: id.to_string() });
    }
    Ok(())
}
