//! Helpers shared by the notification tests: notifications, configs from YAML, waiting, and a
//! real HTTP receiver on loopback.
#![allow(dead_code)]

pub mod receiver;

use apiwatch_core::Severity;
use apiwatch_respond::notify::{Notification, NotificationKind, Notifier, NotifyConfig};
use std::time::Duration;

pub fn alert(id: &str, severity: Severity, rule: &str) -> Notification {
    Notification {
        kind: NotificationKind::Alert,
        severity,
        rule: Some(rule.to_string()),
        tags: vec!["auth".to_string()],
        title: format!("Password guessing against {id}"),
        summary: "40 failed logins in 5m".to_string(),
        actors: vec!["user:alice".to_string(), "ip:198.51.100.7".to_string()],
        id: id.to_string(),
        incident_id: None,
        at_ms: 1_763_900_000_000,
        link: Some(format!("https://apiwatch.example/alerts/{id}")),
        details: serde_json::json!({"count": 40, "route": "/login"}),
    }
}

pub fn incident(kind: NotificationKind, incident_id: &str) -> Notification {
    Notification {
        kind,
        severity: Severity::Critical,
        rule: None,
        tags: vec![],
        title: format!("Incident {incident_id}: credential stuffing"),
        summary: "3 alerts about ip:198.51.100.7".to_string(),
        actors: vec!["ip:198.51.100.7".to_string()],
        id: format!("{incident_id}-{}", kind.as_str()),
        incident_id: Some(incident_id.to_string()),
        at_ms: 1_763_900_100_000,
        link: None,
        details: serde_json::Value::Null,
    }
}

pub fn config(yaml: &str) -> NotifyConfig {
    serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("config does not parse: {e}\n{yaml}"))
}

pub fn notifier(yaml: &str) -> Notifier {
    Notifier::new(config(yaml)).unwrap_or_else(|errors| {
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("config does not validate:\n{}", text.join("\n"))
    })
}

/// Polls `check` every 20 ms until it holds, failing after `limit`.
pub async fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let end = tokio::time::Instant::now() + limit;
    while !check() {
        assert!(tokio::time::Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Lines of a JSON Lines file, parsed.
pub fn json_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}
