//! Alerts: the JSON line as written, plus the columns the filters use, and every actor of
//! an alert in `alert_actors` so a search by actor finds it whatever its group-by order.

use crate::codec::{corrupt, severity_rank};
use crate::error::{sql, sql_op, Result};
use crate::page::{List, Page, Paging, Where};
use crate::State;
use apiwatch_core::{ActorId, Alert, Severity};
use rusqlite::{params, OptionalExtension};
use std::collections::VecDeque;

/// Which alerts to list; every field set narrows the list. Newest first.
#[derive(Clone, Debug, Default)]
pub struct AlertFilter {
    pub rule: Option<String>,
    /// This severity or a higher one.
    pub severity_min: Option<Severity>,
    /// Alerts with this actor among their group-by values.
    pub actor: Option<ActorId>,
    pub incident_id: Option<String>,
    /// `detected_at_ms >= since_ms`.
    pub since_ms: Option<i64>,
    /// `detected_at_ms < until_ms`.
    pub until_ms: Option<i64>,
    pub paging: Paging,
}

/// Alerts read per lock by [`State::alerts_in_order`], so other threads get their turn.
const ALERTS_IN_ORDER_BATCH_MAX: u32 = 256;

/// The actors of an alert's group-by pairs that name one, without repeats, in pair order.
pub(crate) fn actors_of(alert: &Alert) -> Vec<ActorId> {
    let mut actors: Vec<ActorId> = Vec::new();
    for (field, value) in &alert.actor {
        if let Some(actor) = ActorId::of_field(field, value) {
            if !actors.contains(&actor) {
                actors.push(actor);
            }
        }
    }
    actors
}

fn read_alert(row: &rusqlite::Row<'_>, op: &'static str) -> Result<Alert> {
    let id: String = row.get(0).map_err(sql_op(op))?;
    let json: String = row.get(1).map_err(sql(op, &id))?;
    Alert::from_json(&json).map_err(|e| corrupt(op, &id, e))
}

impl State {
    /// Stores an alert, or replaces it when its id is known (an alert is emitted again,
    /// with the same id, when it grows). An existing incident link is kept when
    /// `incident_id` is `None`.
    pub fn upsert_alert(&self, alert: &Alert, incident_id: Option<&str>) -> Result<()> {
        const OP: &str = "upsert_alert";
        let actors = actors_of(alert);
        let primary = actors.first().map(ToString::to_string);
        self.write(OP, |tx| {
            let err = || sql(OP, &alert.id);
            tx.prepare_cached(
                "INSERT INTO alerts (id, rule, severity, detected_at_ms, first_seen_ms,
                     last_seen_ms, primary_actor, incident_id, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (id) DO UPDATE SET
                     rule = excluded.rule,
                     severity = excluded.severity,
                     detected_at_ms = excluded.detected_at_ms,
                     first_seen_ms = excluded.first_seen_ms,
                     last_seen_ms = excluded.last_seen_ms,
                     primary_actor = excluded.primary_actor,
                     incident_id = coalesce(excluded.incident_id, alerts.incident_id),
                     json = excluded.json",
            )
            .and_then(|mut st| {
                st.execute(params![
                    alert.id,
                    alert.rule,
                    severity_rank(alert.severity),
                    alert.detected_at_ms,
                    alert.first_seen_ms,
                    alert.last_seen_ms,
                    primary,
                    incident_id,
                    alert.to_json_line(),
                ])
            })
            .map_err(err())?;
            tx.execute("DELETE FROM alert_actors WHERE alert_id = ?1", [&alert.id])
                .map_err(err())?;
            let mut insert = tx
                .prepare_cached("INSERT INTO alert_actors (alert_id, actor) VALUES (?1, ?2)")
                .map_err(err())?;
            for actor in &actors {
                insert.execute(params![alert.id, actor.to_string()]).map_err(err())?;
            }
            Ok(())
        })
    }

    /// The alert with this id.
    pub fn alert(&self, id: &str) -> Result<Option<Alert>> {
        const OP: &str = "alert";
        let conn = self.lock();
        let json: Option<String> = conn
            .query_row("SELECT json FROM alerts WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(sql(OP, id))?;
        json.map(|j| Alert::from_json(&j).map_err(|e| corrupt(OP, id, e))).transpose()
    }

    /// Alerts raised per rule with `detected_at_ms` in `[since_ms, until_ms)`, by rule id (an
    /// alert raised again as it grew is one alert).
    pub fn alert_counts_by_rule(
        &self,
        since_ms: i64,
        until_ms: i64,
    ) -> Result<std::collections::BTreeMap<String, u64>> {
        const OP: &str = "alert_counts_by_rule";
        let conn = self.lock();
        let mut st = conn
            .prepare_cached(
                "SELECT rule, count(*) FROM alerts
                 WHERE detected_at_ms >= ?1 AND detected_at_ms < ?2 GROUP BY rule",
            )
            .map_err(sql_op(OP))?;
        let rows = st
            .query_map(params![since_ms, until_ms], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(sql_op(OP))?;
        let mut out = std::collections::BTreeMap::new();
        for row in rows {
            let (rule, n) = row.map_err(sql_op(OP))?;
            out.insert(rule, u64::try_from(n).unwrap_or(0));
        }
        Ok(out)
    }

    /// The incident an alert is linked to.
    pub fn alert_incident(&self, id: &str) -> Result<Option<String>> {
        const OP: &str = "alert_incident";
        let conn = self.lock();
        let found: Option<Option<String>> = conn
            .query_row("SELECT incident_id FROM alerts WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(sql(OP, id))?;
        Ok(found.flatten())
    }

    /// One page of the alerts matching `filter`, newest first.
    pub fn list_alerts(&self, filter: &AlertFilter) -> Result<Page<Alert>> {
        const OP: &str = "list_alerts";
        let mut w = Where::default();
        if let Some(rule) = &filter.rule {
            w.and("rule = ?", rule.clone());
        }
        if let Some(severity) = filter.severity_min {
            w.and("severity >= ?", severity_rank(severity));
        }
        if let Some(actor) = &filter.actor {
            w.and("id IN (SELECT alert_id FROM alert_actors WHERE actor = ?)", actor.to_string());
        }
        if let Some(incident) = &filter.incident_id {
            w.and("incident_id = ?", incident.clone());
        }
        if let Some(since) = filter.since_ms {
            w.and("detected_at_ms >= ?", since);
        }
        if let Some(until) = filter.until_ms {
            w.and("detected_at_ms < ?", until);
        }
        let conn = self.lock();
        w.page(
            &conn,
            &List {
                op: OP,
                select: "SELECT id, json",
                from: "alerts",
                order: "ORDER BY detected_at_ms DESC, id DESC",
            },
            filter.paging,
            |row| read_alert(row, OP),
        )
    }

    /// Every alert detected at or after `from_detected_ms`, in (`detected_at_ms`, id)
    /// order: what correlation replays at start. Reads in batches, so it does not hold the
    /// database while the caller works.
    pub fn alerts_in_order(&self, from_detected_ms: i64) -> AlertsInOrder<'_> {
        AlertsInOrder {
            state: self,
            from_detected_ms,
            last: None,
            buffer: VecDeque::new(),
            done: false,
        }
    }

    fn alerts_batch_after(&self, from_ms: i64, last: Option<&(i64, String)>) -> Result<Vec<Alert>> {
        const OP: &str = "alerts_in_order";
        let conn = self.lock();
        let mut out = Vec::new();
        let mut push = |row: &rusqlite::Row<'_>| -> Result<()> {
            out.push(read_alert(row, OP)?);
            Ok(())
        };
        match last {
            None => {
                let mut st = conn
                    .prepare_cached(
                        "SELECT id, json FROM alerts WHERE detected_at_ms >= ?1
                         ORDER BY detected_at_ms, id LIMIT ?2",
                    )
                    .map_err(sql_op(OP))?;
                let mut rows =
                    st.query(params![from_ms, ALERTS_IN_ORDER_BATCH_MAX]).map_err(sql_op(OP))?;
                while let Some(row) = rows.next().map_err(sql_op(OP))? {
                    push(row)?;
                }
            }
            Some((at, id)) => {
                let mut st = conn
                    .prepare_cached(
                        "SELECT id, json FROM alerts WHERE (detected_at_ms, id) > (?1, ?2)
                         ORDER BY detected_at_ms, id LIMIT ?3",
                    )
                    .map_err(sql_op(OP))?;
                let mut rows =
                    st.query(params![at, id, ALERTS_IN_ORDER_BATCH_MAX]).map_err(sql_op(OP))?;
                while let Some(row) = rows.next().map_err(sql_op(OP))? {
                    push(row)?;
                }
            }
        }
        Ok(out)
    }
}

/// Alerts in detection order, read a batch at a time; see [`State::alerts_in_order`].
pub struct AlertsInOrder<'a> {
    state: &'a State,
    from_detected_ms: i64,
    last: Option<(i64, String)>,
    buffer: VecDeque<Alert>,
    done: bool,
}

impl Iterator for AlertsInOrder<'_> {
    type Item = Result<Alert>;

    fn next(&mut self) -> Option<Result<Alert>> {
        if self.buffer.is_empty() && !self.done {
            match self.state.alerts_batch_after(self.from_detected_ms, self.last.as_ref()) {
                Ok(batch) => {
                    self.done = batch.len() < ALERTS_IN_ORDER_BATCH_MAX as usize;
                    if let Some(last) = batch.last() {
                        self.last = Some((last.detected_at_ms, last.id.clone()));
                    }
                    self.buffer.extend(batch);
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        self.buffer.pop_front().map(Ok)
    }
}
