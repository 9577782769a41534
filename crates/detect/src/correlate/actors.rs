//! Who an alert is about: the actors its rule grouped by, and those in its evidence events,
//! with the groups of actors each event showed together.

use apiwatch_core::time::parse_rfc3339_ms;
use apiwatch_core::{ActorId, Alert};
use serde_json::Value as Json;

/// The evidence fields that name an actor.
pub(crate) const EVIDENCE_FIELDS: [&str; 7] =
    ["source.ip", "user.name", "user.id", "token.id", "api_key.id", "consumer.name", "session.id"];

/// The actors of one alert.
pub(crate) struct AlertActors {
    /// Who the alert blames: the actors its rule grouped by (rule order, no repeats) or, when
    /// the rule grouped by no actor (a route, a country), every actor of its evidence, sorted.
    pub blamed: Vec<ActorId>,
    /// Every actor, sorted, without repeats.
    pub all: Vec<ActorId>,
    /// Actors seen together, each group with its event time: the rule's own actors, and the
    /// actors of each evidence event.
    pub together: Vec<(i64, Vec<ActorId>)>,
    /// The alert's group-by pairs as `field=value`, for an alert that blames nobody (a
    /// silent source, a route), so such alerts are told apart when suppressing.
    group_key: String,
}

impl AlertActors {
    /// Reads the actors of `alert`; `at_ms` is the alert's event time, the latest a link it
    /// shows may carry.
    pub fn of(alert: &Alert, at_ms: i64) -> AlertActors {
        let mut own: Vec<ActorId> = Vec::new();
        for (field, value) in &alert.actor {
            if let Some(a) = ActorId::of_field(field, value) {
                if !own.contains(&a) {
                    own.push(a);
                }
            }
        }
        let mut together = Vec::new();
        if own.len() > 1 {
            let mut group = own.clone();
            group.sort();
            together.push((at_ms, group));
        }
        let mut all = own.clone();
        let mut in_evidence = Vec::new();
        for event in &alert.evidence {
            let mut group: Vec<ActorId> = EVIDENCE_FIELDS
                .iter()
                .filter_map(|f| lookup(event, f).and_then(|v| ActorId::of_field(f, &v)))
                .collect();
            group.sort();
            group.dedup();
            in_evidence.extend(group.iter().cloned());
            if group.len() > 1 {
                let event_ms = lookup(event, "@timestamp")
                    .and_then(|s| parse_rfc3339_ms(&s).ok())
                    .unwrap_or(alert.last_seen_ms)
                    .min(at_ms);
                together.push((event_ms, group));
            }
        }
        all.extend(in_evidence.iter().cloned());
        all.sort();
        all.dedup();
        let blamed = if own.is_empty() {
            in_evidence.sort();
            in_evidence.dedup();
            in_evidence
        } else {
            own
        };
        let group_key: Vec<String> = alert.actor.iter().map(|(k, v)| format!("{k}={v}")).collect();
        AlertActors { blamed, all, together, group_key: group_key.join(" ") }
    }

    /// The actor an alert is first about, written `kind:value`; for an alert that blames
    /// nobody, its group-by pairs (`observer.name=edge`), or empty.
    pub fn primary(&self) -> String {
        match self.blamed.first() {
            Some(a) => a.to_string(),
            None => self.group_key.clone(),
        }
    }
}

/// A field of an ECS event, nested (`{"source":{"ip":…}}`) or dotted (`{"source.ip":…}`),
/// as text; numbers (a numeric `user.id`) are written out.
fn lookup(event: &Json, field: &str) -> Option<String> {
    let value = event
        .get(field)
        .or_else(|| field.split('.').try_fold(event, |node, part| node.get(part)))?;
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evidence_actors_are_read_nested_dotted_and_numeric() {
        let alert = Alert {
            id: "a".into(),
            rule: "r".into(),
            title: "t".into(),
            severity: apiwatch_core::Severity::Low,
            owasp: String::new(),
            attack: None,
            first_seen_ms: 0,
            last_seen_ms: 10,
            detected_at_ms: 10,
            actor: vec![("user.name".into(), "alice".into()), ("url.path".into(), "/x".into())],
            count: 1,
            summary: String::new(),
            evidence: vec![
                json!({"source": {"ip": "192.0.2.1"}, "user": {"id": 42}}),
                json!({"source.ip": "192.0.2.2", "api_key.id": "k1", "session": {"id": ""}}),
            ],
            response: None,
        };
        let actors = AlertActors::of(&alert, 10);
        let names: Vec<String> = actors.all.iter().map(|a| a.to_string()).collect();
        assert_eq!(names, ["ip:192.0.2.1", "ip:192.0.2.2", "user:42", "user:alice", "token:k1"]);
        assert_eq!(actors.primary(), "user:alice");
        assert_eq!(actors.together.len(), 2, "two events with two actors each");
        assert!(actors.together.iter().all(|(at, _)| *at == 10));
    }

    /// Two sources falling silent within the suppression window were one key (empty), so
    /// the second was never notified.
    #[test]
    fn an_alert_blaming_nobody_is_keyed_by_its_group_by_pairs() {
        let silent = |name: &str| Alert {
            id: name.into(),
            rule: "source-silent".into(),
            title: "t".into(),
            severity: apiwatch_core::Severity::Medium,
            owasp: String::new(),
            attack: None,
            first_seen_ms: 0,
            last_seen_ms: 10,
            detected_at_ms: 10,
            actor: vec![("observer.name".into(), name.into())],
            count: 1,
            summary: String::new(),
            evidence: vec![],
            response: None,
        };
        let edge = AlertActors::of(&silent("edge"), 10);
        assert!(edge.blamed.is_empty());
        assert_eq!(edge.primary(), "observer.name=edge");
        assert_ne!(edge.primary(), AlertActors::of(&silent("app"), 10).primary());
    }
}
