//! What is told to people: notifications built from alerts, incidents and decisions. They
//! carry only what is already redacted (alert text comes from redacted events).

use apiwatch_core::{ActorId, Alert, Decision, Incident, IncidentStatus, Severity};
use apiwatch_respond::notify::{Notification, NotificationKind};

fn link(base: Option<&str>, path: &str) -> Option<String> {
    base.map(|b| format!("{}/{path}", b.trim_end_matches('/')))
}

fn tags(alert: &Alert) -> Vec<String> {
    let mut t = vec![alert.owasp.clone()];
    t.extend(alert.attack.clone());
    t
}

pub fn alert(a: &Alert, incident_id: Option<&str>, base: Option<&str>) -> Notification {
    Notification {
        kind: NotificationKind::Alert,
        severity: a.severity,
        rule: Some(a.rule.clone()),
        tags: tags(a),
        title: a.title.clone(),
        summary: a.summary.clone(),
        actors: a
            .actor
            .iter()
            .filter_map(|(k, v)| ActorId::of_field(k, v).map(|x| x.to_string()))
            .collect(),
        id: a.id.clone(),
        incident_id: incident_id.map(str::to_string),
        at_ms: a.detected_at_ms,
        link: link(base, &format!("alerts/{}", a.id)),
        details: serde_json::json!({
            "count": a.count,
            "first_seen_ms": a.first_seen_ms,
            "last_seen_ms": a.last_seen_ms,
            "owasp": a.owasp,
            "attack": a.attack,
        }),
    }
}

fn incident_notice(
    i: &Incident,
    kind: NotificationKind,
    summary: String,
    base: Option<&str>,
) -> Notification {
    Notification {
        kind,
        severity: i.severity,
        rule: i.rules.first().cloned(),
        tags: Vec::new(),
        title: i.title.clone(),
        summary,
        actors: i.actors.iter().map(ToString::to_string).collect(),
        id: i.id.clone(),
        incident_id: Some(i.id.clone()),
        at_ms: i.updated_at_ms,
        link: link(base, &format!("incidents/{}", i.id)),
        details: serde_json::json!({
            "rules": i.rules,
            "alerts": i.alert_ids.len(),
            "risk": i.risk,
        }),
    }
}

pub fn incident_opened(i: &Incident, base: Option<&str>) -> Notification {
    let summary = format!(
        "{} alert(s) from {} rule(s), risk {:.0}",
        i.alert_ids.len(),
        i.rules.len(),
        i.risk
    );
    incident_notice(i, NotificationKind::IncidentOpened, summary, base)
}

pub fn incident_resolved(i: &Incident, status: IncidentStatus, base: Option<&str>) -> Notification {
    let summary = format!("marked {}", status.as_str());
    incident_notice(i, NotificationKind::IncidentResolved, summary, base)
}

pub fn decision(d: &Decision, base: Option<&str>) -> Notification {
    let (severity, rule) = match &d.origin {
        apiwatch_core::DecisionOrigin::Rule(r) => (Severity::High, Some(r.clone())),
        apiwatch_core::DecisionOrigin::Person(_) => (Severity::Medium, None),
    };
    Notification {
        kind: NotificationKind::Decision,
        severity,
        rule,
        tags: Vec::new(),
        title: format!(
            "{} {} {} ({})",
            d.action.as_str(),
            d.scope.as_str(),
            d.value,
            d.status.as_str()
        ),
        summary: d.reason.clone(),
        actors: vec![format!("{}:{}", d.scope.as_str(), d.value)],
        id: d.id.to_string(),
        incident_id: d.incident_id.clone(),
        at_ms: d.created_at_ms,
        link: link(base, &format!("decisions/{}", d.id)),
        details: serde_json::json!({
            "duration_ms": d.duration_ms,
            "expires_at_ms": d.expires_at_ms,
            "alert_id": d.alert_id,
        }),
    }
}
