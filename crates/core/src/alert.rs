//! Alerts: a rule fired for an actor over an event-time span.

use crate::time::{format_duration_ms, format_rfc3339_ms};
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

/// How bad a finding is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] =
        [Severity::Low, Severity::Medium, Severity::High, Severity::Critical];
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// What a response would do to the actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseAction {
    Block,
    Throttle,
    Lock,
}

impl ResponseAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseAction::Block => "block",
            ResponseAction::Throttle => "throttle",
            ResponseAction::Lock => "lock",
        }
    }
    pub fn parse(s: &str) -> Option<ResponseAction> {
        [ResponseAction::Block, ResponseAction::Throttle, ResponseAction::Lock]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A decision a rule proposes; replay reports it, it does not enforce it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProposedResponse {
    pub action: ResponseAction,
    /// The actor field the decision applies to (`source.ip`, `user.name`, `token.id`, …).
    pub scope_field: String,
    /// The value of that field for this alert.
    pub scope_value: String,
    pub duration_ms: i64,
}

impl Serialize for ProposedResponse {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ProposedResponse", 4)?;
        st.serialize_field("action", self.action.as_str())?;
        st.serialize_field("scope", &self.scope_field)?;
        st.serialize_field("value", &self.scope_value)?;
        st.serialize_field("duration", &format_duration_ms(self.duration_ms))?;
        st.end()
    }
}

/// One alert. Serialised as one JSON line with the documented field names, event times in
/// RFC 3339 (UTC, milliseconds).
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// Deterministic: derived from rule, actor and `detected_at_ms`.
    pub id: String,
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    /// OWASP API Security Top 10 2023 category (`API2:2023`).
    pub owasp: String,
    /// ATT&CK technique (`T1110.004`), when one fits.
    pub attack: Option<String>,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub detected_at_ms: i64,
    /// The group-by values, in the rule's order: (`source.ip`, `198.51.100.7`).
    pub actor: Vec<(String, String)>,
    pub count: u64,
    pub summary: String,
    /// Up to five redacted events, as ECS JSON.
    pub evidence: Vec<serde_json::Value>,
    pub response: Option<ProposedResponse>,
}

/// The most evidence events an alert carries.
pub const EVIDENCE_MAX: usize = 5;

struct Actor<'a>(&'a [(String, String)]);

impl Serialize for Actor<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Serialize for Alert {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Alert", 14)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("rule", &self.rule)?;
        st.serialize_field("title", &self.title)?;
        st.serialize_field("severity", self.severity.as_str())?;
        st.serialize_field("owasp", &self.owasp)?;
        st.serialize_field("attack", &self.attack)?;
        st.serialize_field("first_seen", &format_rfc3339_ms(self.first_seen_ms))?;
        st.serialize_field("last_seen", &format_rfc3339_ms(self.last_seen_ms))?;
        st.serialize_field("detected_at", &format_rfc3339_ms(self.detected_at_ms))?;
        st.serialize_field("actor", &Actor(&self.actor))?;
        st.serialize_field("count", &self.count)?;
        st.serialize_field("summary", &self.summary)?;
        st.serialize_field("evidence", &self.evidence)?;
        st.serialize_field("response", &self.response)?;
        st.end()
    }
}

impl Alert {
    /// A deterministic id: the same rule, actor and detection time always give the same id.
    pub fn make_id(rule: &str, actor: &[(String, String)], detected_at_ms: i64) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(rule.as_bytes());
        for (k, v) in actor {
            h.update([0u8]);
            h.update(k.as_bytes());
            h.update([0u8]);
            h.update(v.as_bytes());
        }
        h.update(detected_at_ms.to_be_bytes());
        let d = h.finalize();
        d[..10].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The order alerts are written in: by detection time, then rule, then actor.
    pub fn sort_key(&self) -> (i64, &str, &[(String, String)]) {
        (self.detected_at_ms, &self.rule, &self.actor)
    }

    /// One JSON line (no trailing newline).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("alerts serialise: all keys are strings")
    }
}

/// Why an alert's JSON line could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("alert JSON: {0}")]
pub struct AlertReadError(String);

impl Alert {
    /// Reads back a line written by [`Alert::to_json_line`]; the actor keeps its order.
    pub fn from_json(text: &str) -> Result<Alert, AlertReadError> {
        use crate::time::{parse_duration_ms, parse_rfc3339_ms};
        let w: wire::Alert =
            serde_json::from_str(text).map_err(|e| AlertReadError(e.to_string()))?;
        let time = |field: &str, s: &str| {
            parse_rfc3339_ms(s).map_err(|e| AlertReadError(format!("{field}: {e}")))
        };
        let severity = Severity::parse(&w.severity)
            .ok_or_else(|| AlertReadError(format!("severity: {:?}", w.severity)))?;
        let response = match w.response {
            None => None,
            Some(r) => Some(ProposedResponse {
                action: ResponseAction::parse(&r.action)
                    .ok_or_else(|| AlertReadError(format!("response.action: {:?}", r.action)))?,
                scope_field: r.scope,
                scope_value: r.value,
                duration_ms: parse_duration_ms(&r.duration)
                    .map_err(|e| AlertReadError(format!("response.duration: {e}")))?,
            }),
        };
        Ok(Alert {
            id: w.id,
            rule: w.rule,
            title: w.title,
            severity,
            owasp: w.owasp,
            attack: w.attack,
            first_seen_ms: time("first_seen", &w.first_seen)?,
            last_seen_ms: time("last_seen", &w.last_seen)?,
            detected_at_ms: time("detected_at", &w.detected_at)?,
            actor: w.actor.0,
            count: w.count,
            summary: w.summary,
            evidence: w.evidence,
            response,
        })
    }
}

/// The serialised shape, read back.
mod wire {
    use serde::de::{MapAccess, Visitor};
    use serde::{Deserialize, Deserializer};
    use std::fmt;

    #[derive(Deserialize)]
    pub struct Alert {
        pub id: String,
        pub rule: String,
        pub title: String,
        pub severity: String,
        pub owasp: String,
        pub attack: Option<String>,
        pub first_seen: String,
        pub last_seen: String,
        pub detected_at: String,
        pub actor: OrderedPairs,
        pub count: u64,
        pub summary: String,
        pub evidence: Vec<serde_json::Value>,
        pub response: Option<Response>,
    }

    #[derive(Deserialize)]
    pub struct Response {
        pub action: String,
        pub scope: String,
        pub value: String,
        pub duration: String,
    }

    /// A JSON object read as its pairs in written order (group-by order matters).
    pub struct OrderedPairs(pub Vec<(String, String)>);

    impl<'de> Deserialize<'de> for OrderedPairs {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<OrderedPairs, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = OrderedPairs;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("an object of strings")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<OrderedPairs, A::Error> {
                    let mut pairs = Vec::new();
                    while let Some((k, v)) = m.next_entry::<String, String>()? {
                        pairs.push((k, v));
                    }
                    Ok(OrderedPairs(pairs))
                }
            }
            d.deserialize_map(V)
        }
    }
}

#[cfg(test)]
mod read_tests {
    use super::*;

    #[test]
    fn a_json_line_reads_back_to_the_same_alert() {
        let alert = Alert {
            id: Alert::make_id("r", &[("user.name".into(), "zed".into())], 1_700_000_000_123),
            rule: "r".into(),
            title: "T".into(),
            severity: Severity::High,
            owasp: "API2:2023".into(),
            attack: Some("T1110".into()),
            first_seen_ms: 1_700_000_000_000,
            last_seen_ms: 1_700_000_000_100,
            detected_at_ms: 1_700_000_000_123,
            // Not sorted: the order must survive.
            actor: vec![
                ("user.name".into(), "zed".into()),
                ("source.ip".into(), "10.0.0.1".into()),
            ],
            count: 7,
            summary: "s".into(),
            evidence: vec![serde_json::json!({"source": {"ip": "10.0.0.1"}})],
            response: Some(ProposedResponse {
                action: ResponseAction::Block,
                scope_field: "source.ip".into(),
                scope_value: "10.0.0.1".into(),
                duration_ms: 3_600_000,
            }),
        };
        let back = Alert::from_json(&alert.to_json_line()).unwrap();
        assert_eq!(back, alert);
        assert!(Alert::from_json(r#"{"id":"x"}"#).is_err());
    }
}
