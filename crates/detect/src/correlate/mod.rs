//! Correlation: alerts into incidents, by actor risk and links between actors.
//!
//! A pure, deterministic fold over alerts in the order given: event time comes from the
//! alerts (`max(detected_at, last_seen)`; the correlator's clock is the latest seen), no
//! clock is read and no hash-map order reaches the output (every table is a `BTreeMap`).
//! Replaying the same alerts gives the same observations, which is how the service rebuilds
//! correlation at start.
//!
//! - Actors: the rule's own actor fields blame an actor; evidence events add actors and
//!   link those seen together ([`links`]). When the rule grouped by no actor, its evidence
//!   actors are blamed.
//! - Risk: each new alert adds its severity's weight to each blamed actor; risk halves
//!   every `half_life_ms` and is capped at 100. An update of a known alert id adds nothing.
//! - Incidents: a critical alert, or a blamed actor's risk reaching `risk_threshold`, opens
//!   one, with the blamed actors' recent alerts not yet in an incident. Later alerts whose
//!   blamed actors, or actors linked to them, are blamed in a foldable incident join it;
//!   when two match, the older one takes the alert. Incidents are never merged: two open
//!   incidents stay two, and an analyst sees both. Only blamed actors are matched, so an
//!   address in the evidence of many users' alerts does not join their incidents unless the
//!   address itself is blamed, and then only its `links_per_actor_max` links count.
//! - Notifications: a new alert notifies unless the same rule notified for the same primary
//!   actor within `suppress_ms` or a mute matches; opening an incident notifies unless muted;
//!   an update notifies only when it opens an incident. A mute silences, it does not hide:
//!   muted alerts still raise risk and join incidents.

mod actors;
mod alerts;
mod config;
mod incidents;
mod links;
mod risk;
mod suppress;

pub use config::{CorrelateConfig, CorrelateConfigError, SeverityWeights};
pub use links::Link;
pub use risk::RISK_MAX;
pub use suppress::Mute;

use actors::AlertActors;
use alerts::{AlertTable, KnownAlert};
use apiwatch_core::{ActorId, Alert, Incident, Severity};
use incidents::{IncidentTable, Member};
use links::LinkGraph;
use risk::RiskTable;
use suppress::{Mutes, Suppressor};

/// What an alert did to an incident.
#[derive(Clone, Debug, PartialEq)]
pub enum IncidentChange {
    /// The alert opened this incident.
    Opened(Incident),
    /// The alert joined (or, as an update, grew within) this incident.
    Updated(Incident),
}

impl IncidentChange {
    /// The incident as it now is.
    pub fn incident(&self) -> &Incident {
        match self {
            IncidentChange::Opened(i) | IncidentChange::Updated(i) => i,
        }
    }
}

/// An actor and its risk after an alert.
#[derive(Clone, Debug, PartialEq)]
pub struct ActorRisk {
    /// The actor.
    pub actor: ActorId,
    /// Its risk (0-100) at the alert's event time.
    pub risk: f64,
}

/// What correlation made of one alert.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// The alert's id.
    pub alert_id: String,
    /// False when the id was known: the alert grew, it is not a new one.
    pub is_new: bool,
    /// The incident it opened or joined, in full.
    pub incident: Option<IncidentChange>,
    /// Whether to notify anyone of it.
    pub notify: bool,
    /// True when suppression alone withheld the notification.
    pub suppressed: bool,
    /// True when a mute matched.
    pub muted: bool,
    /// The id of the mute that matched.
    pub mute_id: Option<String>,
    /// Every actor of the alert, sorted, with its risk after the alert.
    pub actors: Vec<ActorRisk>,
    /// Links this alert made, sorted.
    pub links_added: Vec<Link>,
}

/// Counters of correlation, each limit with what it refused or evicted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CorrelateStats {
    /// Alerts observed with an id not known.
    pub alerts_new: u64,
    /// Alerts observed with a known id.
    pub alerts_updated: u64,
    /// Incidents opened.
    pub incidents_opened: u64,
    /// Alerts folded into an existing incident (updates included).
    pub incidents_updated: u64,
    /// Observations that notify.
    pub notified: u64,
    /// New alerts whose notification suppression withheld.
    pub suppressed: u64,
    /// Observations a mute matched.
    pub muted: u64,
    /// Links made.
    pub links_added: u64,
    /// Links refused because an actor had `links_per_actor_max` links.
    pub links_refused_per_actor: u64,
    /// Links evicted by `links_max`.
    pub links_evicted: u64,
    /// Links expired after `link_ttl_ms`.
    pub links_expired: u64,
    /// Actors evicted by `actors_max`.
    pub actors_evicted: u64,
    /// Actors forgotten once their risk decayed to nothing.
    pub actors_expired: u64,
    /// Recent alerts dropped by `recent_alerts_per_actor_max`.
    pub recent_alerts_dropped: u64,
    /// Alert ids evicted by `alerts_max` (a later update of one counts as new).
    pub alerts_evicted: u64,
    /// Alert ids forgotten after `alert_ttl_ms`.
    pub alerts_expired: u64,
    /// Incidents evicted by `incidents_max`.
    pub incidents_evicted: u64,
    /// Incidents forgotten after `incident_idle_ms` without alerts.
    pub incidents_expired: u64,
    /// Alert ids not listed in an incident because of `incident_alert_ids_max`.
    pub incident_alert_ids_dropped: u64,
    /// Actors not listed in an incident because of `incident_actors_max`.
    pub incident_actors_dropped: u64,
    /// Suppression entries evicted by `suppress_keys_max`.
    pub suppress_keys_evicted: u64,
    /// Mutes refused by `mutes_max`.
    pub mutes_refused: u64,
    /// Mutes dropped once ended.
    pub mutes_expired: u64,
}

/// Turns alerts into incidents; see the module documentation.
pub struct Correlator {
    config: CorrelateConfig,
    /// The latest event time seen; tables expire against it.
    now_ms: i64,
    alerts: AlertTable,
    risk: RiskTable,
    links: LinkGraph,
    incidents: IncidentTable,
    mutes: Mutes,
    suppress: Suppressor,
    /// The longest suppression window of any rule.
    suppress_window_max_ms: i64,
    counts: CorrelateStats,
}

impl Correlator {
    /// A correlator with no history; the settings are checked first.
    pub fn new(config: CorrelateConfig) -> Result<Correlator, CorrelateConfigError> {
        config.validate()?;
        let c = &config;
        Ok(Correlator {
            now_ms: i64::MIN,
            alerts: AlertTable::new(c.alerts_max, c.alert_ttl_ms),
            risk: RiskTable::new(c.half_life_ms, c.actors_max, c.recent_alerts_per_actor_max),
            links: LinkGraph::new(c.link_ttl_ms, c.links_max, c.links_per_actor_max),
            incidents: IncidentTable::new(
                c.incident_idle_ms,
                c.incidents_max,
                c.incident_alert_ids_max,
                c.incident_actors_max,
            ),
            mutes: Mutes::new(c.mutes_max),
            suppress: Suppressor::new(c.suppress_keys_max),
            suppress_window_max_ms: c
                .suppress_ms_by_rule
                .values()
                .copied()
                .fold(c.suppress_ms, i64::max),
            counts: CorrelateStats::default(),
            config,
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &CorrelateConfig {
        &self.config
    }

    /// The latest event time seen (`i64::MIN` before any alert).
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    fn advance(&mut self, at_ms: i64) {
        if at_ms <= self.now_ms {
            return;
        }
        self.now_ms = at_ms;
        self.alerts.prune(at_ms);
        self.risk.prune(at_ms);
        self.links.prune(at_ms);
        self.incidents.prune(at_ms);
        self.mutes.prune(at_ms);
        self.suppress.prune(at_ms, self.suppress_window_max_ms);
    }

    /// Correlates one alert (new, or a known id that grew).
    pub fn observe(&mut self, alert: &Alert) -> Observation {
        let at_ms = alert.detected_at_ms.max(alert.last_seen_ms);
        self.advance(at_ms);
        let actors = AlertActors::of(alert, at_ms);

        let mut links_added = Vec::new();
        for (link_ms, group) in &actors.together {
            for (i, x) in group.iter().enumerate() {
                for y in &group[i + 1..] {
                    links_added.extend(self.links.link(x, y, *link_ms, self.now_ms));
                }
            }
        }
        links_added.sort();

        let known = self.alerts.get(&alert.id).cloned();
        let is_new = known.is_none();
        if is_new {
            let weight = self.config.weights.of(alert.severity);
            for a in &actors.blamed {
                self.risk.add(a, weight, at_ms, &alert.id);
            }
        }
        let risks: Vec<ActorRisk> = actors
            .all
            .iter()
            .map(|a| ActorRisk { actor: a.clone(), risk: self.risk.risk(a, at_ms) })
            .collect();
        let risk_max = risks.iter().map(|r| r.risk).fold(0.0, f64::max);
        let blamed_risk_max =
            actors.blamed.iter().map(|a| self.risk.risk(a, at_ms)).fold(0.0, f64::max);

        let member = Member {
            id: &alert.id,
            rule: &alert.rule,
            severity: alert.severity,
            first_seen_ms: alert.first_seen_ms,
            blamed: &actors.blamed,
            all: &actors.all,
            risk: risk_max,
        };
        let current = known
            .as_ref()
            .and_then(|k| k.incident.clone())
            .filter(|id| self.incidents.foldable(id, at_ms));
        let target = current.or_else(|| {
            let mut candidates = actors.blamed.clone();
            for a in &actors.blamed {
                candidates.extend(self.links.neighbours(a).cloned());
            }
            candidates.sort();
            candidates.dedup();
            self.incidents.find(&candidates, at_ms)
        });
        let change = if let Some(id) = target {
            self.counts.incidents_updated += 1;
            Some(IncidentChange::Updated(self.incidents.fold(&id, &member, at_ms)))
        } else if alert.severity == Severity::Critical
            || blamed_risk_max >= self.config.risk_threshold
        {
            self.counts.incidents_opened += 1;
            Some(IncidentChange::Opened(self.open(alert, &actors, &member, at_ms)))
        } else {
            None
        };

        let incident_id = match &change {
            Some(c) => Some(c.incident().id.clone()),
            None => known.as_ref().and_then(|k| k.incident.clone()),
        };
        self.alerts.put(
            &alert.id,
            KnownAlert {
                rule: alert.rule.clone(),
                severity: alert.severity,
                first_seen_ms: alert.first_seen_ms,
                at_ms: known.as_ref().map_or(at_ms, |k| k.at_ms.max(at_ms)),
                blamed: actors.blamed.clone(),
                all: actors.all.clone(),
                incident: incident_id,
            },
        );

        let mute_id = self.mutes.matching(&alert.rule, &actors.all, at_ms).map(|m| m.id.clone());
        let muted = mute_id.is_some();
        let opened = matches!(change, Some(IncidentChange::Opened(_)));
        let primary = actors.primary();
        let suppressed = is_new
            && !muted
            && !opened
            && self.suppress.within(
                &alert.rule,
                &primary,
                at_ms,
                self.config.suppress_ms_for(&alert.rule),
            );
        let notify = !muted && (opened || (is_new && !suppressed));
        if notify {
            self.suppress.record(&alert.rule, &primary, at_ms);
        }

        let c = &mut self.counts;
        if is_new {
            c.alerts_new += 1;
        } else {
            c.alerts_updated += 1;
        }
        c.notified += u64::from(notify);
        c.suppressed += u64::from(suppressed);
        c.muted += u64::from(muted);
        c.links_added += links_added.len() as u64;

        Observation {
            alert_id: alert.id.clone(),
            is_new,
            incident: change,
            notify,
            suppressed,
            muted,
            mute_id,
            actors: risks,
            links_added,
        }
    }

    /// Opens an incident for `alert`, with the recent alerts of its blamed actors that are
    /// in no incident yet (they built the risk that opened it).
    fn open(
        &mut self,
        alert: &Alert,
        actors: &AlertActors,
        member: &Member,
        at_ms: i64,
    ) -> Incident {
        let mut earlier_ids: Vec<(i64, String)> = Vec::new();
        for a in &actors.blamed {
            earlier_ids.extend(self.risk.recent(a, at_ms).cloned());
        }
        earlier_ids.sort();
        earlier_ids.dedup_by(|x, y| x.1 == y.1);
        let earlier_known: Vec<(String, KnownAlert)> = earlier_ids
            .into_iter()
            .filter(|(_, id)| *id != alert.id)
            .filter_map(|(_, id)| self.alerts.get(&id).cloned().map(|k| (id, k)))
            .filter(|(_, k)| k.incident.as_ref().is_none_or(|i| self.incidents.get(i).is_none()))
            .collect();
        let earlier: Vec<Member> = earlier_known
            .iter()
            .map(|(id, k)| Member {
                id,
                rule: &k.rule,
                severity: k.severity,
                first_seen_ms: k.first_seen_ms,
                blamed: &k.blamed,
                all: &k.all,
                risk: 0.0,
            })
            .collect();
        let who =
            actors.blamed.first().map_or_else(|| "unknown actor".to_string(), |a| a.to_string());
        let title = format!("{} — {who}", alert.title);
        let incident = self.incidents.open(title, member, alert.detected_at_ms, &earlier, at_ms);
        for (id, _) in &earlier_known {
            self.alerts.set_incident(id, &incident.id);
        }
        incident
    }

    /// The risk (0-100) of an actor at `at_ms`; 0 for an actor not tracked.
    pub fn risk(&self, actor: &ActorId, at_ms: i64) -> f64 {
        self.risk.risk(actor, at_ms)
    }

    /// The actors linked to `actor`, sorted.
    pub fn linked(&self, actor: &ActorId) -> Vec<ActorId> {
        self.links.neighbours(actor).cloned().collect()
    }

    /// An incident still kept (open, or closed and not yet idle).
    pub fn incident(&self, id: &str) -> Option<&Incident> {
        self.incidents.get(id)
    }

    /// Every incident kept, by id.
    pub fn incidents(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.iter()
    }

    /// Whether an incident is closed; `None` if it is not kept.
    pub fn is_closed(&self, id: &str) -> Option<bool> {
        self.incidents.is_closed(id)
    }

    /// An analyst closed the incident (resolved or false positive): nothing folds into it
    /// any more, and later alerts of its actors open a new one. False if unknown or closed.
    pub fn close_incident(&mut self, id: &str) -> bool {
        self.incidents.close(id)
    }

    /// Undoes [`Correlator::close_incident`]. False if unknown or not closed.
    pub fn reopen_incident(&mut self, id: &str) -> bool {
        self.incidents.reopen(id)
    }

    /// Adds or replaces a mute; false (and counted) when `mutes_max` mutes are kept.
    pub fn add_mute(&mut self, mute: Mute) -> bool {
        self.mutes.add(mute)
    }

    /// Removes a mute; false if none has this id.
    pub fn remove_mute(&mut self, id: &str) -> bool {
        self.mutes.remove(id)
    }

    /// The counters so far.
    pub fn stats(&self) -> CorrelateStats {
        CorrelateStats {
            links_refused_per_actor: self.links.refused_per_actor,
            links_evicted: self.links.evicted,
            links_expired: self.links.expired,
            actors_evicted: self.risk.evicted,
            actors_expired: self.risk.expired,
            recent_alerts_dropped: self.risk.recent_dropped,
            alerts_evicted: self.alerts.evicted,
            alerts_expired: self.alerts.expired,
            incidents_evicted: self.incidents.evicted,
            incidents_expired: self.incidents.expired,
            incident_alert_ids_dropped: self.incidents.alert_ids_dropped,
            incident_actors_dropped: self.incidents.actors_dropped,
            suppress_keys_evicted: self.suppress.evicted,
            mutes_refused: self.mutes.refused,
            mutes_expired: self.mutes.expired,
            ..self.counts
        }
    }

    /// Sizes of the tables, for metrics: (actors, links, alerts, incidents, mutes,
    /// suppression entries).
    pub fn sizes(&self) -> TableSizes {
        TableSizes {
            actors: self.risk.len(),
            links: self.links.len(),
            alerts: self.alerts.len(),
            incidents: self.incidents.len(),
            mutes: self.mutes.len(),
            suppress_keys: self.suppress.len(),
        }
    }
}

/// How many entries each table holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableSizes {
    /// Actors with a risk.
    pub actors: usize,
    /// Links between actors.
    pub links: usize,
    /// Alert ids remembered.
    pub alerts: usize,
    /// Incidents kept.
    pub incidents: usize,
    /// Mutes kept.
    pub mutes: usize,
    /// (rule, actor) suppression entries.
    pub suppress_keys: usize,
}
