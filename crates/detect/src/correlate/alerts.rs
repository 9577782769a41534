//! The alerts seen recently, by id: a known id is an update of an alert that grew, never a
//! new alert, and an alert stays in the incident it joined.

use apiwatch_core::{ActorId, Severity};
use std::collections::{BTreeMap, BTreeSet};

/// What correlation remembers of one alert.
#[derive(Clone, Debug)]
pub(crate) struct KnownAlert {
    pub rule: String,
    pub severity: Severity,
    pub first_seen_ms: i64,
    /// Its latest event time (`max(detected_at, last_seen)`).
    pub at_ms: i64,
    pub blamed: Vec<ActorId>,
    pub all: Vec<ActorId>,
    /// The incident it belongs to, if any.
    pub incident: Option<String>,
}

/// Known alerts, capped at `alerts_max` (the oldest goes first) and forgotten `alert_ttl_ms`
/// after their last event.
pub(crate) struct AlertTable {
    by_id: BTreeMap<String, KnownAlert>,
    by_time: BTreeSet<(i64, String)>,
    alerts_max: usize,
    ttl_ms: i64,
    pub evicted: u64,
    pub expired: u64,
}

impl AlertTable {
    pub fn new(alerts_max: usize, ttl_ms: i64) -> AlertTable {
        AlertTable {
            by_id: BTreeMap::new(),
            by_time: BTreeSet::new(),
            alerts_max,
            ttl_ms,
            evicted: 0,
            expired: 0,
        }
    }

    pub fn get(&self, id: &str) -> Option<&KnownAlert> {
        self.by_id.get(id)
    }

    /// Records an alert, replacing what was known of it.
    pub fn put(&mut self, id: &str, alert: KnownAlert) {
        if let Some(old) = self.by_id.remove(id) {
            self.by_time.remove(&(old.at_ms, id.to_string()));
        } else if self.by_id.len() >= self.alerts_max {
            if let Some((_, oldest)) = self.by_time.pop_first() {
                self.by_id.remove(&oldest);
                self.evicted += 1;
            }
        }
        self.by_time.insert((alert.at_ms, id.to_string()));
        self.by_id.insert(id.to_string(), alert);
        debug_assert_eq!(self.by_id.len(), self.by_time.len());
    }

    /// Moves an alert into an incident.
    pub fn set_incident(&mut self, id: &str, incident: &str) {
        if let Some(a) = self.by_id.get_mut(id) {
            a.incident = Some(incident.to_string());
        }
    }

    /// Forgets alerts whose last event is `alert_ttl_ms` or more before `now_ms`.
    pub fn prune(&mut self, now_ms: i64) {
        while let Some((at_ms, _)) = self.by_time.first() {
            if at_ms.saturating_add(self.ttl_ms) > now_ms {
                break;
            }
            let (_, id) = self.by_time.pop_first().expect("just seen");
            self.by_id.remove(&id);
            self.expired += 1;
        }
    }

    /// How many alerts are remembered.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }
}
