//! Alerts: a rule fired for an actor over an event-time span.

use crate::time::{format_duration_ms, format_rfc3339_ms};
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
