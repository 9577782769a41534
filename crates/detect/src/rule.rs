//! Compiled rules: what validation proved, in the form the engine runs.

use crate::condition::{Cond, IpRanges};
use crate::error::LoadErrors;
use crate::injection::InjectionDetector;
use crate::template::Template;
use apiwatch_core::{EventData, Field, ResponseAction, Severity, UaClass};
use std::sync::Arc;

/// What `rules list` shows about a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleInfo {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub severity: Severity,
    /// `API2:2023`.
    pub owasp: String,
    /// ATT&CK technique, when the rule names one.
    pub attack: Option<String>,
    /// `match`, `threshold`, `distinct`, `ratio`, `sequence`, `new_value`, `velocity`,
    /// `baseline`.
    pub kind: &'static str,
    /// ECS names of the actor fields.
    pub group_by: Vec<String>,
    /// The file the rule came from, as named in the sources.
    pub file: String,
    /// The line of the rule's first key.
    pub line: u32,
    /// Number of `tests.fire` and `tests.quiet` cases.
    pub fire_cases: usize,
    pub quiet_cases: usize,
}

/// The kinds, in documentation order.
pub const KINDS: &[&str] =
    &["match", "threshold", "distinct", "ratio", "sequence", "new_value", "velocity", "baseline"];

/// A step of a sequence.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub cond: Cond,
    pub min_count: u32,
}

/// Baseline parameters.
#[derive(Clone, Debug)]
pub(crate) struct BaselineSpec {
    /// `None`: the value is the event count; `Some(f)`: the sum of `f`.
    pub sum: Option<Field>,
    pub bucket_ms: i64,
    pub factor: f64,
    pub min_value: f64,
    pub learn_buckets: u32,
    pub sustained_buckets: u32,
    pub alpha: f64,
    pub by_hour_of_day: bool,
    pub forget_ms: i64,
}

/// The kind and its parameters.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Match,
    Threshold {
        window_ms: i64,
        min_count: u32,
    },
    Distinct {
        field: Field,
        window_ms: i64,
        min_distinct: u32,
    },
    Ratio {
        matching: Cond,
        window_ms: i64,
        min_ratio: f64,
        min_events: u32,
    },
    Sequence {
        steps: Vec<Step>,
        within_ms: i64,
    },
    NewValue {
        field: Field,
        learn_ms: i64,
        min_key_events: u32,
        max_values_per_key: u32,
        forget_ms: i64,
    },
    Velocity {
        max_speed_kmh: f64,
        min_distance_km: f64,
        concurrent_window_ms: Option<i64>,
    },
    Baseline(Box<BaselineSpec>),
}

/// Half of the Earth's circumference: no two places are farther apart.
pub(crate) const EARTH_HALF_CIRCUMFERENCE_KM: f64 = 20_037.5;

impl Kind {
    /// The window a summary's `{window}` shows, if the kind has one.
    pub fn window_ms(&self) -> Option<i64> {
        match self {
            Kind::Match => None,
            Kind::Threshold { window_ms, .. }
            | Kind::Distinct { window_ms, .. }
            | Kind::Ratio { window_ms, .. } => Some(*window_ms),
            Kind::Sequence { within_ms, .. } => Some(*within_ms),
            Kind::NewValue { learn_ms, .. } => Some(*learn_ms),
            Kind::Velocity { concurrent_window_ms, .. } => *concurrent_window_ms,
            Kind::Baseline(b) => Some(b.bucket_ms),
        }
    }

    /// How long an actor's state stays useful after its last event: the key expires then.
    pub fn key_ttl_ms(&self) -> i64 {
        match self {
            Kind::Match => 0,
            Kind::Threshold { window_ms, .. }
            | Kind::Distinct { window_ms, .. }
            | Kind::Ratio { window_ms, .. } => *window_ms,
            Kind::Sequence { within_ms, .. } => *within_ms,
            Kind::NewValue { forget_ms, .. } => *forget_ms,
            Kind::Velocity { max_speed_kmh, concurrent_window_ms, .. } => {
                // After this long any move is possible at max_speed_kmh.
                let travel_ms = (EARTH_HALF_CIRCUMFERENCE_KM / max_speed_kmh * 3_600_000.0)
                    .min(30.0 * 86_400_000.0) as i64;
                travel_ms.max(concurrent_window_ms.unwrap_or(0)).max(1)
            }
            Kind::Baseline(b) => b.forget_ms,
        }
    }
}

/// A proposed response.
#[derive(Clone, Debug)]
pub(crate) struct ResponseSpec {
    pub action: ResponseAction,
    /// Position of the scope field in `group_by`.
    pub scope_index: usize,
    pub duration_ms: i64,
}

/// Allow-lists, checked before anything else.
#[derive(Clone, Debug, Default)]
pub(crate) struct Allow {
    pub networks: IpRanges,
    pub users: Vec<Box<str>>,
    /// Bit `i` set: `UaClass::ALL[i]` is allowed.
    pub ua_classes: u16,
}

impl Allow {
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty() && self.users.is_empty() && self.ua_classes == 0
    }

    /// Whether the event is allow-listed.
    pub fn allows(&self, ev: &EventData) -> bool {
        if self.ua_classes != 0 {
            if let Some(c) = ev.user_agent_class {
                if self.ua_classes & ua_bit(c) != 0 {
                    return true;
                }
            }
        }
        if !self.networks.is_empty() {
            if let Some(ip) = ev.source_ip {
                if self.networks.contains(ip) {
                    return true;
                }
            }
        }
        if !self.users.is_empty() {
            if let Some(u) = &ev.user_name {
                if self.users.iter().any(|x| **x == **u) {
                    return true;
                }
            }
        }
        false
    }
}

pub(crate) fn ua_bit(c: UaClass) -> u16 {
    let i = UaClass::ALL.iter().position(|x| *x == c).expect("every class is in ALL");
    1 << i
}

/// One case of a rule's `tests`.
#[derive(Clone, Debug)]
pub(crate) struct TestCase {
    pub name: String,
    /// `true` for `fire`, `false` for `quiet`.
    pub fire: bool,
    pub events: Vec<TestEvents>,
}

/// Events of a test case, as written.
#[derive(Clone, Debug)]
pub(crate) enum TestEvents {
    One(Box<EventData>),
    Repeat { count: u32, every_ms: i64, event: serde_json::Value, has_index: bool },
}

/// A compiled rule.
#[derive(Clone, Debug)]
pub(crate) struct Rule {
    pub info: RuleInfo,
    pub filter: Cond,
    pub allow: Allow,
    pub group_by: Vec<Field>,
    pub suppress_ms: i64,
    pub response: Option<ResponseSpec>,
    pub summary: Template,
    pub max_keys: Option<usize>,
    pub kind: Kind,
    pub tests: Vec<TestCase>,
}

pub(crate) struct RuleSetInner {
    pub rules: Vec<Rule>,
    pub infos: Vec<RuleInfo>,
    /// One detector for every rule: its automata are built once.
    pub detector: InjectionDetector,
}

/// Compiled rules, cheap to clone and share between threads.
#[derive(Clone)]
pub struct RuleSet {
    pub(crate) inner: Arc<RuleSetInner>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet").field("rules", &self.inner.infos.len()).finish()
    }
}

impl RuleSet {
    /// Parses, validates and compiles rule files given as (file name, YAML text). Returns
    /// every error found, each `FILE:LINE:COLUMN: key.path: message`.
    pub fn from_sources(sources: &[(String, String)]) -> Result<RuleSet, LoadErrors> {
        // The injection detectors do not depend on the rules: they build while the rules load.
        let (rules, detector) = std::thread::scope(|s| {
            let detector = s.spawn(InjectionDetector::new);
            let rules = crate::load::load(sources);
            (rules, detector.join().expect("building the injection detectors does not panic"))
        });
        Ok(RuleSet::with_detector(rules?, detector))
    }

    pub(crate) fn from_rules(rules: Vec<Rule>) -> RuleSet {
        RuleSet::with_detector(rules, InjectionDetector::new())
    }

    fn with_detector(rules: Vec<Rule>, detector: InjectionDetector) -> RuleSet {
        let infos = rules.iter().map(|r| r.info.clone()).collect();
        RuleSet { inner: Arc::new(RuleSetInner { rules, infos, detector }) }
    }

    /// The built-in pack. Panics only if the pack itself is broken (a test guards it).
    pub fn builtin() -> RuleSet {
        let sources: Vec<(String, String)> = crate::pack::builtin_sources()
            .into_iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        match RuleSet::from_sources(&sources) {
            Ok(set) => set,
            Err(e) => panic!("the built-in rule pack does not load:\n{e}"),
        }
    }

    /// The rules, in load order.
    pub fn rules(&self) -> &[RuleInfo] {
        &self.inner.infos
    }

    pub fn len(&self) -> usize {
        self.inner.infos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.infos.is_empty()
    }

    /// A set holding only the rules whose ids are given (unknown ids are ignored).
    pub fn only(&self, ids: &[&str]) -> RuleSet {
        let rules = self
            .inner
            .rules
            .iter()
            .filter(|r| ids.contains(&r.info.id.as_str()))
            .cloned()
            .collect();
        RuleSet::from_rules(rules)
    }
}
