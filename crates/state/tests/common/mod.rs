//! Builders shared by the state database's tests.
#![allow(dead_code)]

use apiwatch_core::{
    Action, ActorId, Alert, Decision, DecisionOrigin, DecisionStatus, Incident, ScopeKind, Severity,
};
use apiwatch_state::State;
use std::path::PathBuf;

/// A fresh database in its own temporary directory (kept alive by the returned guard).
pub fn fresh() -> (tempfile::TempDir, State, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let state = State::open(&path).unwrap();
    (dir, state, path)
}

/// An alert of `rule` on the given group-by pairs, detected at `at_ms`.
pub fn alert(rule: &str, actor: &[(&str, &str)], at_ms: i64, severity: Severity) -> Alert {
    let actor: Vec<(String, String)> =
        actor.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Alert {
        id: Alert::make_id(rule, &actor, at_ms),
        rule: rule.into(),
        title: format!("{rule} fired"),
        severity,
        owasp: "API2:2023".into(),
        attack: None,
        first_seen_ms: at_ms - 1_000,
        last_seen_ms: at_ms,
        detected_at_ms: at_ms,
        actor,
        count: 3,
        summary: "three hits".into(),
        evidence: vec![serde_json::json!({"source": {"ip": "198.51.100.7"}})],
        response: None,
    }
}

/// An incident opened at `opened_at_ms` on the given actors and rules.
pub fn incident(id: &str, actors: &[&str], rules: &[&str], opened_at_ms: i64) -> Incident {
    Incident {
        id: id.into(),
        title: format!("incident {id}"),
        severity: Severity::High,
        actors: actors.iter().map(|a| ActorId::parse(a).unwrap()).collect(),
        alert_ids: vec![format!("{id}-a1")],
        rules: rules.iter().map(|r| r.to_string()).collect(),
        risk: 42.5,
        first_event_ms: opened_at_ms - 10_000,
        opened_at_ms,
        updated_at_ms: opened_at_ms,
    }
}

/// A decision by rule `r` on `scope:value`, created at `at_ms` for an hour.
pub fn decision(
    action: Action,
    scope: ScopeKind,
    value: &str,
    status: DecisionStatus,
    at_ms: i64,
) -> Decision {
    Decision {
        id: 0,
        action,
        scope,
        value: value.into(),
        duration_ms: 3_600_000,
        origin: DecisionOrigin::Rule("r".into()),
        reason: "too many failed logins".into(),
        status,
        created_at_ms: at_ms,
        expires_at_ms: at_ms + 3_600_000,
        alert_id: Some("a1".into()),
        incident_id: None,
        outcome: None,
    }
}
