//! Incidents: opened for an actor, folded into by later alerts of that actor or of an actor
//! linked to it, until an analyst closes them or they stay idle for `incident_idle_ms`.

use apiwatch_core::{ActorId, Incident, Severity};
use std::collections::{BTreeMap, BTreeSet};

/// What one alert brings to an incident.
pub(crate) struct Member<'a> {
    pub id: &'a str,
    pub rule: &'a str,
    pub severity: Severity,
    pub first_seen_ms: i64,
    /// The actors it blames: later alerts about them (or linked to them) fold in.
    pub blamed: &'a [ActorId],
    pub all: &'a [ActorId],
    pub risk: f64,
}

struct IncidentState {
    incident: Incident,
    closed: bool,
    alert_ids: BTreeSet<String>,
    actors: BTreeSet<ActorId>,
    rules: BTreeSet<String>,
    /// The actors later alerts are matched on (each also in `by_actor`).
    blamed: BTreeSet<ActorId>,
}

/// Incidents by id, capped at `incidents_max` (the least recently updated goes first).
pub(crate) struct IncidentTable {
    by_id: BTreeMap<String, IncidentState>,
    by_actor: BTreeMap<ActorId, BTreeSet<String>>,
    by_update: BTreeSet<(i64, String)>,
    idle_ms: i64,
    incidents_max: usize,
    alert_ids_max: usize,
    actors_max: usize,
    pub evicted: u64,
    pub expired: u64,
    pub alert_ids_dropped: u64,
    pub actors_dropped: u64,
}

/// FNV-1a, 64 bits: a stable hash for ids (std's hashers may change between releases).
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl IncidentTable {
    pub fn new(
        idle_ms: i64,
        incidents_max: usize,
        alert_ids_max: usize,
        actors_max: usize,
    ) -> IncidentTable {
        IncidentTable {
            by_id: BTreeMap::new(),
            by_actor: BTreeMap::new(),
            by_update: BTreeSet::new(),
            idle_ms,
            incidents_max,
            alert_ids_max,
            actors_max,
            evicted: 0,
            expired: 0,
            alert_ids_dropped: 0,
            actors_dropped: 0,
        }
    }

    pub fn get(&self, id: &str) -> Option<&Incident> {
        self.by_id.get(id).map(|s| &s.incident)
    }

    pub fn is_closed(&self, id: &str) -> Option<bool> {
        self.by_id.get(id).map(|s| s.closed)
    }

    /// Every incident kept, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Incident> {
        self.by_id.values().map(|s| &s.incident)
    }

    /// Whether an alert at `at_ms` may still fold into the incident.
    pub fn foldable(&self, id: &str, at_ms: i64) -> bool {
        self.by_id.get(id).is_some_and(|s| {
            !s.closed && at_ms.saturating_sub(s.incident.updated_at_ms) <= self.idle_ms
        })
    }

    /// The oldest foldable incident matched on any of `actors`.
    pub fn find(&self, actors: &[ActorId], at_ms: i64) -> Option<String> {
        actors
            .iter()
            .filter_map(|a| self.by_actor.get(a))
            .flatten()
            .filter(|id| self.foldable(id, at_ms))
            .map(|id| (self.by_id[id].incident.opened_at_ms, id))
            .min()
            .map(|(_, id)| id.clone())
    }

    /// Opens an incident with `opener` and the `earlier` alerts that built up its risk.
    pub fn open(
        &mut self,
        title: String,
        opener: &Member,
        opened_at_ms: i64,
        earlier: &[Member],
        at_ms: i64,
    ) -> Incident {
        if self.by_id.len() >= self.incidents_max {
            if let Some((_, id)) = self.by_update.pop_first() {
                self.remove(&id);
                self.evicted += 1;
            }
        }
        let mut id = format!("inc-{:016x}", fnv1a64(opener.id.as_bytes()));
        let mut n = 0u32;
        while self.by_id.contains_key(&id) {
            n += 1;
            id = format!("inc-{:016x}", fnv1a64(format!("{}#{n}", opener.id).as_bytes()));
        }
        let state = IncidentState {
            incident: Incident {
                id: id.clone(),
                title,
                severity: opener.severity,
                actors: Vec::new(),
                alert_ids: Vec::new(),
                rules: Vec::new(),
                risk: 0.0,
                first_event_ms: opener.first_seen_ms,
                opened_at_ms,
                updated_at_ms: at_ms,
            },
            closed: false,
            alert_ids: BTreeSet::new(),
            actors: BTreeSet::new(),
            rules: BTreeSet::new(),
            blamed: BTreeSet::new(),
        };
        self.by_update.insert((at_ms, id.clone()));
        self.by_id.insert(id.clone(), state);
        for m in earlier.iter().chain([opener]) {
            self.add(&id, m, at_ms);
        }
        self.by_id[&id].incident.clone()
    }

    /// Folds an alert into an incident; returns the incident as it now is.
    pub fn fold(&mut self, id: &str, member: &Member, at_ms: i64) -> Incident {
        self.add(id, member, at_ms);
        self.by_id[id].incident.clone()
    }

    fn add(&mut self, id: &str, m: &Member, at_ms: i64) {
        let state = self.by_id.get_mut(id).expect("folding into a kept incident");
        let inc = &mut state.incident;
        if !state.alert_ids.contains(m.id) {
            if state.alert_ids.len() < self.alert_ids_max {
                state.alert_ids.insert(m.id.to_string());
                inc.alert_ids.push(m.id.to_string());
            } else {
                self.alert_ids_dropped += 1;
            }
        }
        state.rules.insert(m.rule.to_string());
        for a in m.all {
            if !state.actors.contains(a) {
                if state.actors.len() < self.actors_max {
                    state.actors.insert(a.clone());
                } else {
                    self.actors_dropped += 1;
                }
            }
        }
        for a in m.blamed {
            if state.actors.contains(a) && state.blamed.insert(a.clone()) {
                self.by_actor.entry(a.clone()).or_default().insert(id.to_string());
            }
        }
        if inc.rules.len() != state.rules.len() {
            inc.rules = state.rules.iter().cloned().collect();
        }
        if inc.actors.len() != state.actors.len() {
            inc.actors = state.actors.iter().cloned().collect();
        }
        inc.severity = inc.severity.max(m.severity);
        inc.risk = inc.risk.max(m.risk);
        inc.first_event_ms = inc.first_event_ms.min(m.first_seen_ms);
        if at_ms > inc.updated_at_ms {
            self.by_update.remove(&(inc.updated_at_ms, id.to_string()));
            inc.updated_at_ms = at_ms;
            self.by_update.insert((at_ms, id.to_string()));
        }
        debug_assert_eq!(inc.alert_ids.len(), state.alert_ids.len());
    }

    /// Marks an incident closed (resolved or a false positive); false if unknown or closed.
    pub fn close(&mut self, id: &str) -> bool {
        self.by_id.get_mut(id).is_some_and(|s| !std::mem::replace(&mut s.closed, true))
    }

    /// Undoes [`IncidentTable::close`]; false if unknown or open.
    pub fn reopen(&mut self, id: &str) -> bool {
        self.by_id.get_mut(id).is_some_and(|s| std::mem::replace(&mut s.closed, false))
    }

    fn remove(&mut self, id: &str) {
        let Some(state) = self.by_id.remove(id) else { return };
        self.by_update.remove(&(state.incident.updated_at_ms, id.to_string()));
        for a in &state.blamed {
            if let Some(ids) = self.by_actor.get_mut(a) {
                ids.remove(id);
                if ids.is_empty() {
                    self.by_actor.remove(a);
                }
            }
        }
    }

    /// Drops incidents idle for more than `incident_idle_ms` at `now_ms`: nothing can fold
    /// into them any more.
    pub fn prune(&mut self, now_ms: i64) {
        while let Some((updated_ms, _)) = self.by_update.first() {
            if now_ms.saturating_sub(*updated_ms) <= self.idle_ms {
                break;
            }
            let (_, id) = self.by_update.first().cloned().expect("just seen");
            self.remove(&id);
            self.expired += 1;
        }
    }

    /// How many incidents are kept.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }
}
