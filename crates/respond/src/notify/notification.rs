//! What is notified: one alert, incident change or decision, as the caller describes it.
//!
//! A notification carries only what the caller puts in it; events are redacted upstream, so
//! nothing here is secret. Channel credentials live in the channels, never in a notification.

use apiwatch_core::Severity;
use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Alert,
    IncidentOpened,
    IncidentUpdated,
    IncidentResolved,
    Decision,
    /// Made by a channel's rate limit: the notifications it held back, counted.
    Summary,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 6] = [
        NotificationKind::Alert,
        NotificationKind::IncidentOpened,
        NotificationKind::IncidentUpdated,
        NotificationKind::IncidentResolved,
        NotificationKind::Decision,
        NotificationKind::Summary,
    ];

    /// The name used in configuration and payloads (`incident_opened`).
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Alert => "alert",
            NotificationKind::IncidentOpened => "incident_opened",
            NotificationKind::IncidentUpdated => "incident_updated",
            NotificationKind::IncidentResolved => "incident_resolved",
            NotificationKind::Decision => "decision",
            NotificationKind::Summary => "summary",
        }
    }

    /// Reads a name written by [`NotificationKind::as_str`].
    pub fn parse(s: &str) -> Option<NotificationKind> {
        NotificationKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One thing to tell people about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub kind: NotificationKind,
    pub severity: Severity,
    /// The rule that fired, for alerts (and decisions a rule caused).
    pub rule: Option<String>,
    pub tags: Vec<String>,
    pub title: String,
    pub summary: String,
    /// The actors involved, written `kind:value` (`ip:198.51.100.7`).
    pub actors: Vec<String>,
    /// The alert's, incident's or decision's id.
    pub id: String,
    /// The incident this belongs to, if any.
    pub incident_id: Option<String>,
    /// Event time, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Where to look at it (a dashboard URL).
    pub link: Option<String>,
    /// Anything else the caller wants receivers to have.
    pub details: serde_json::Value,
}

impl Notification {
    /// The key that ties the notifications about one thing together (PagerDuty's `dedup_key`):
    /// the incident when there is one, so an incident's opening, updates and resolution land on
    /// one page.
    pub fn dedup_key(&self) -> &str {
        self.incident_id.as_deref().unwrap_or(&self.id)
    }

    /// The rule, or else the kind: what a one-word classification (CEF's signature id, a
    /// summary's group) names.
    pub fn rule_or_kind(&self) -> &str {
        self.rule.as_deref().unwrap_or(self.kind.as_str())
    }
}
