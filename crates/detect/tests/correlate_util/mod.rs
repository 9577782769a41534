//! Alerts for correlation tests, written briefly.
#![allow(dead_code)]

use apiwatch_core::{Alert, Severity};
use serde_json::{json, Value};

/// 2026-01-01T00:00:00Z.
pub const T0: i64 = 1_767_225_600_000;
pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 3_600_000;

/// An alert of `rule` at `at_ms` (first seen a minute earlier) about `actor`, with the
/// evidence events given.
pub fn alert(
    id: &str,
    rule: &str,
    severity: Severity,
    at_ms: i64,
    actor: &[(&str, &str)],
    evidence: Vec<Value>,
) -> Alert {
    Alert {
        id: id.to_string(),
        rule: rule.to_string(),
        title: format!("Title of {rule}"),
        severity,
        owasp: "API2:2023".into(),
        attack: None,
        first_seen_ms: at_ms - MINUTE_MS,
        last_seen_ms: at_ms,
        detected_at_ms: at_ms,
        actor: actor.iter().map(|(f, v)| (f.to_string(), v.to_string())).collect(),
        count: 1,
        summary: String::new(),
        evidence,
        response: None,
    }
}

/// One evidence event with an address and, when given, a user and a token.
pub fn event(ip: &str, user: Option<&str>, token: Option<&str>) -> Value {
    let mut e = json!({"@timestamp": "2026-01-01T00:00:00Z", "source": {"ip": ip}});
    if let Some(u) = user {
        e["user"] = json!({"name": u});
    }
    if let Some(t) = token {
        e["token"] = json!({"id": t});
    }
    e
}

/// The same event, timed at `at_ms`.
pub fn event_at(at_ms: i64, ip: &str, user: Option<&str>, token: Option<&str>) -> Value {
    let mut e = event(ip, user, token);
    e["@timestamp"] = json!(apiwatch_core::time::format_rfc3339_ms(at_ms));
    e
}
