//! What correlation is tuned by: thresholds, decay, link lifetime, suppression and the
//! maximum size of every table it keeps.

use apiwatch_core::Severity;
use std::collections::BTreeMap;

const HOUR_MS: i64 = 3_600_000;

/// Risk added to each blamed actor by one new alert, per severity (0-100 scale).
#[derive(Clone, Debug, PartialEq)]
pub struct SeverityWeights {
    /// Default 5: twelve oddities within an hour still stay below the threshold.
    pub low: f64,
    /// Default 15: four within an hour reach 60.
    pub medium: f64,
    /// Default 35: two within an hour reach 60.
    pub high: f64,
    /// Default 100: a critical alert opens an incident by itself anyway.
    pub critical: f64,
}

impl Default for SeverityWeights {
    fn default() -> SeverityWeights {
        SeverityWeights { low: 5.0, medium: 15.0, high: 35.0, critical: 100.0 }
    }
}

impl SeverityWeights {
    /// The weight of one alert of this severity.
    pub fn of(&self, severity: Severity) -> f64 {
        match severity {
            Severity::Low => self.low,
            Severity::Medium => self.medium,
            Severity::High => self.high,
            Severity::Critical => self.critical,
        }
    }
}

/// Correlation settings; every duration is event time.
#[derive(Clone, Debug, PartialEq)]
pub struct CorrelateConfig {
    /// Risk added per new alert, by severity.
    pub weights: SeverityWeights,
    /// Risk halves after this much event time without alerts (default 1 h).
    pub half_life_ms: i64,
    /// Risk (0-100) at which an actor's alerts open an incident (default 60).
    pub risk_threshold: f64,
    /// A link between two actors lasts this long after the last event showing them together
    /// (default 24 h).
    pub link_ttl_ms: i64,
    /// Most links kept; the oldest goes first (default 200,000: about 40 MB at worst).
    pub links_max: usize,
    /// Most actors one actor links to (default 16). Beyond it the actor is shared (an office
    /// NAT, a carrier gateway, a service account) and links no further, so that it cannot
    /// fold unrelated people into one incident.
    pub links_per_actor_max: usize,
    /// Most actors whose risk is tracked; the lowest risk goes first (default 100,000).
    pub actors_max: usize,
    /// Most recent alerts remembered per actor, to put the alerts that built up its risk in
    /// the incident they lead to (default 16: at medium weight, four reach the threshold).
    pub recent_alerts_per_actor_max: usize,
    /// Most alert ids remembered, to tell an update from a new alert (default 100,000).
    pub alerts_max: usize,
    /// An alert id not seen for this long is forgotten (default 24 h); rules' windows are
    /// far shorter, so a live alert is not updated after it.
    pub alert_ttl_ms: i64,
    /// An incident without a new alert for this long is not folded into any more
    /// (default 24 h).
    pub incident_idle_ms: i64,
    /// Most incidents kept foldable; the least recently updated goes first (default 10,000).
    pub incidents_max: usize,
    /// Most alert ids listed in one incident; later ones still fold, unlisted (default 1,000).
    pub incident_alert_ids_max: usize,
    /// Most actors listed in one incident (default 256).
    pub incident_actors_max: usize,
    /// The same rule for the same actor notifies at most once in this long (default 1 h).
    pub suppress_ms: i64,
    /// Per-rule suppression windows, by rule id, replacing `suppress_ms`.
    pub suppress_ms_by_rule: BTreeMap<String, i64>,
    /// Most (rule, actor) pairs remembered for suppression; the oldest goes first
    /// (default 100,000).
    pub suppress_keys_max: usize,
    /// Most mutes at once; more are refused (default 10,000).
    pub mutes_max: usize,
}

impl Default for CorrelateConfig {
    fn default() -> CorrelateConfig {
        CorrelateConfig {
            weights: SeverityWeights::default(),
            half_life_ms: HOUR_MS,
            risk_threshold: 60.0,
            link_ttl_ms: 24 * HOUR_MS,
            links_max: 200_000,
            links_per_actor_max: 16,
            actors_max: 100_000,
            recent_alerts_per_actor_max: 16,
            alerts_max: 100_000,
            alert_ttl_ms: 24 * HOUR_MS,
            incident_idle_ms: 24 * HOUR_MS,
            incidents_max: 10_000,
            incident_alert_ids_max: 1_000,
            incident_actors_max: 256,
            suppress_ms: HOUR_MS,
            suppress_ms_by_rule: BTreeMap::new(),
            suppress_keys_max: 100_000,
            mutes_max: 10_000,
        }
    }
}

/// Every problem found in a [`CorrelateConfig`], reported together.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("correlation settings: {}", .problems.join("; "))]
pub struct CorrelateConfigError {
    /// One line per problem, naming the setting.
    pub problems: Vec<String>,
}

impl CorrelateConfig {
    /// The suppression window of a rule.
    pub fn suppress_ms_for(&self, rule: &str) -> i64 {
        self.suppress_ms_by_rule.get(rule).copied().unwrap_or(self.suppress_ms)
    }

    /// Checks every setting, reporting all problems at once.
    pub fn validate(&self) -> Result<(), CorrelateConfigError> {
        let mut problems = Vec::new();
        let w = &self.weights;
        for (name, v) in
            [("low", w.low), ("medium", w.medium), ("high", w.high), ("critical", w.critical)]
        {
            if !(v.is_finite() && v >= 0.0) {
                problems.push(format!("weights.{name}: {v} is not a number >= 0"));
            }
        }
        if !(self.risk_threshold > 0.0 && self.risk_threshold <= 100.0) {
            problems.push(format!("risk_threshold: {} is not in (0, 100]", self.risk_threshold));
        }
        for (name, v) in [
            ("half_life_ms", self.half_life_ms),
            ("link_ttl_ms", self.link_ttl_ms),
            ("alert_ttl_ms", self.alert_ttl_ms),
            ("incident_idle_ms", self.incident_idle_ms),
        ] {
            if v <= 0 {
                problems.push(format!("{name}: {v} must be > 0"));
            }
        }
        if self.suppress_ms < 0 {
            problems.push(format!("suppress_ms: {} must be >= 0", self.suppress_ms));
        }
        for (rule, v) in &self.suppress_ms_by_rule {
            if *v < 0 {
                problems.push(format!("suppress_ms_by_rule.{rule}: {v} must be >= 0"));
            }
        }
        for (name, v) in [
            ("links_max", self.links_max),
            ("links_per_actor_max", self.links_per_actor_max),
            ("actors_max", self.actors_max),
            ("recent_alerts_per_actor_max", self.recent_alerts_per_actor_max),
            ("alerts_max", self.alerts_max),
            ("incidents_max", self.incidents_max),
            ("incident_alert_ids_max", self.incident_alert_ids_max),
            ("incident_actors_max", self.incident_actors_max),
            ("suppress_keys_max", self.suppress_keys_max),
            ("mutes_max", self.mutes_max),
        ] {
            if v == 0 {
                problems.push(format!("{name}: must be > 0"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CorrelateConfigError { problems })
        }
    }
}
