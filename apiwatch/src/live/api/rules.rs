//! `GET /v1/rules`: the rules running now, each with how it fared over a period: alerts it
//! raised, incidents it took part in, and how many of those people closed as false positives.

use super::auth::Reader;
use super::blocking;
use apiwatch_core::time::DAY_MS;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

/// The query of `GET /v1/rules`.
#[derive(serde::Deserialize)]
pub struct RulesQuery {
    /// RFC 3339 or a duration back from now; default the last 24 hours.
    since: Option<String>,
    until: Option<String>,
}

pub async fn rules(Reader(st): Reader, Query(q): Query<RulesQuery>) -> Response {
    let (since_ms, until_ms) = ok!(super::traffic::period(&st, q.since, q.until, DAY_MS));
    let db = Arc::clone(&st.responder.state);
    let (fired, metrics) = ok!(blocking(move || {
        Ok((db.alert_counts_by_rule(since_ms, until_ms)?, db.security_metrics(since_ms, until_ms)?))
    })
    .await);
    let rules = st.rules.read().expect("rules lock").clone();
    let items: Vec<serde_json::Value> = rules
        .iter()
        .flat_map(|set| set.rules())
        .map(|r| {
            let kpis = metrics.per_rule.iter().find(|k| k.rule == r.id).map(|k| &k.kpis);
            serde_json::json!({
                "id": r.id, "title": r.title, "description": r.description,
                "severity": r.severity, "owasp": r.owasp, "attack": r.attack, "kind": r.kind,
                "group_by": r.group_by, "mode": st.responder.mode(&r.id).as_str(),
                "fired": fired.get(&r.id).copied().unwrap_or(0),
                "incidents": kpis.map_or(0, |k| k.incidents),
                "false_positives": kpis.map_or(0, |k| k.false_positives),
                "false_positive_rate": kpis.and_then(|k| k.false_positive_rate),
            })
        })
        .collect();
    Json(serde_json::json!({
        "items": items,
        "total": items.len(),
        "since_ms": since_ms,
        "until_ms": until_ms,
    }))
    .into_response()
}
