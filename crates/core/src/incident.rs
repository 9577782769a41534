//! Incidents: alerts about the same actors folded together, with a status an analyst moves.
//!
//! The vocabulary only; folding lives in `apiwatch-detect::correlate`, storage in
//! `apiwatch-state`.

use crate::decision::ScopeKind;
use crate::Severity;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Who is behind traffic: an address, a user, a token pseudonym, a consumer, a session.
/// Written `kind:value` (`ip:198.51.100.7`, `user:alice`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActorId {
    pub kind: ScopeKind,
    pub value: String,
}

impl ActorId {
    pub fn new(kind: ScopeKind, value: impl Into<String>) -> ActorId {
        ActorId { kind, value: value.into() }
    }
    /// The actor of an ECS field's value (`source.ip` = `1.2.3.4` → `ip:1.2.3.4`); `None` for a
    /// field that names no actor (a route, a country).
    pub fn of_field(field: &str, value: &str) -> Option<ActorId> {
        let kind = ScopeKind::of_field(field)?;
        (kind != ScopeKind::Country && kind != ScopeKind::Range && !value.is_empty())
            .then(|| ActorId::new(kind, value))
    }
    /// Reads `kind:value`.
    pub fn parse(s: &str) -> Option<ActorId> {
        let (kind, value) = s.split_once(':')?;
        let kind = ScopeKind::parse(kind)?;
        (!value.is_empty()).then(|| ActorId::new(kind, value))
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.value)
    }
}

impl Serialize for ActorId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ActorId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ActorId, D::Error> {
        let s = String::deserialize(d)?;
        ActorId::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not an actor: {s:?}")))
    }
}

/// An incident's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Open,
    Acknowledged,
    Resolved,
    FalsePositive,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 4] = [
        IncidentStatus::Open,
        IncidentStatus::Acknowledged,
        IncidentStatus::Resolved,
        IncidentStatus::FalsePositive,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Acknowledged => "acknowledged",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::FalsePositive => "false_positive",
        }
    }
    pub fn parse(s: &str) -> Option<IncidentStatus> {
        IncidentStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// Resolved or a false positive: new alerts open a new incident.
    pub fn is_closed(self) -> bool {
        matches!(self, IncidentStatus::Resolved | IncidentStatus::FalsePositive)
    }
}

/// One incident as correlation made it. The analyst's part (status, assignee, notes, verdict)
/// is kept beside it by the state database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Deterministic: derived from the alert that opened it.
    pub id: String,
    pub title: String,
    /// The highest severity among its alerts.
    pub severity: Severity,
    /// Every actor folded in, sorted.
    pub actors: Vec<ActorId>,
    /// Alert ids, in the order they joined.
    pub alert_ids: Vec<String>,
    /// Rule ids, sorted, without repeats.
    pub rules: Vec<String>,
    /// The highest risk an actor of it reached (0-100).
    pub risk: f64,
    /// The first event behind any of its alerts.
    pub first_event_ms: i64,
    /// When the alert that opened it was detected.
    pub opened_at_ms: i64,
    pub updated_at_ms: i64,
}
