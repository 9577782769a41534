//! Security KPIs over the incidents opened in a time range: how many, how fast they were
//! detected and answered, how many were false positives; overall and per rule.

use crate::error::{sql_op, Result};
use crate::State;
use rusqlite::{params, Row};
use serde::Serialize;

/// The KPIs of one set of incidents.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Kpis {
    pub incidents: u64,
    /// Resolved or false positive.
    pub closed: u64,
    pub false_positives: u64,
    /// Mean of first event → opened (how long detection took).
    pub mean_time_to_detect_ms: Option<f64>,
    /// Mean of opened → closed, over closed incidents.
    pub mean_time_to_respond_ms: Option<f64>,
    /// False positives / closed; `None` while nothing is closed.
    pub false_positive_rate: Option<f64>,
}

/// The KPIs of the incidents a rule took part in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleKpis {
    pub rule: String,
    #[serde(flatten)]
    pub kpis: Kpis,
}

/// KPIs of the incidents opened in `[since_ms, until_ms)`. An incident counts once
/// overall and once for each of its rules.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SecurityMetrics {
    pub since_ms: i64,
    pub until_ms: i64,
    pub overall: Kpis,
    /// By rule id.
    pub per_rule: Vec<RuleKpis>,
}

const AGGREGATES: &str = "count(*),
    total(i.status IN ('resolved', 'false_positive')),
    total(i.status = 'false_positive'),
    avg(i.opened_at_ms - i.first_event_ms),
    avg(CASE WHEN i.status IN ('resolved', 'false_positive')
        THEN i.resolved_at_ms - i.opened_at_ms END)";

fn read_kpis(row: &Row<'_>, first: usize) -> rusqlite::Result<Kpis> {
    let incidents: i64 = row.get(first)?;
    let closed: f64 = row.get(first + 1)?;
    let false_positives: f64 = row.get(first + 2)?;
    Ok(Kpis {
        incidents: incidents as u64,
        closed: closed as u64,
        false_positives: false_positives as u64,
        mean_time_to_detect_ms: row.get(first + 3)?,
        mean_time_to_respond_ms: row.get(first + 4)?,
        false_positive_rate: (closed > 0.0).then(|| false_positives / closed),
    })
}

impl State {
    /// KPIs of the incidents opened in `[since_ms, until_ms)`.
    pub fn security_metrics(&self, since_ms: i64, until_ms: i64) -> Result<SecurityMetrics> {
        const OP: &str = "security_metrics";
        let conn = self.lock();
        let overall = conn
            .query_row(
                &format!(
                    "SELECT {AGGREGATES} FROM incidents i
                     WHERE i.opened_at_ms >= ?1 AND i.opened_at_ms < ?2"
                ),
                params![since_ms, until_ms],
                |r| read_kpis(r, 0),
            )
            .map_err(sql_op(OP))?;
        let mut st = conn
            .prepare(&format!(
                "SELECT r.rule, {AGGREGATES} FROM incidents i
                 JOIN incident_rules r ON r.incident_id = i.id
                 WHERE i.opened_at_ms >= ?1 AND i.opened_at_ms < ?2
                 GROUP BY r.rule ORDER BY r.rule"
            ))
            .map_err(sql_op(OP))?;
        let per_rule = st
            .query_map(params![since_ms, until_ms], |r| {
                Ok(RuleKpis { rule: r.get(0)?, kpis: read_kpis(r, 1)? })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(sql_op(OP))?;
        Ok(SecurityMetrics { since_ms, until_ms, overall, per_rule })
    }
}
