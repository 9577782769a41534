//! Risk per actor: raised by each new alert by its severity's weight, halved every
//! `half_life_ms` of event time, capped at 100; with the few recent alerts that built it.

use apiwatch_core::ActorId;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The most risk an actor can have.
pub const RISK_MAX: f64 = 100.0;

/// Below this an actor's risk is forgotten: it no longer changes what correlation decides.
const RISK_FLOOR: f64 = 0.01;

/// An alert older than this many half-lives has lost more than 15/16 of its weight: it no
/// longer explains an actor's risk, so it does not join the incident that risk opens.
const RECENT_HALF_LIVES: i64 = 4;

struct ActorState {
    risk: f64,
    at_ms: i64,
    /// (event time, alert id), oldest first.
    recent: VecDeque<(i64, String)>,
}

/// Orders actors by risk at any common instant: all risks decay at the same rate, so
/// `log2(risk) + at_ms / half_life_ms` sorts them as their current risks do.
#[derive(Clone, Copy, PartialEq)]
struct Score(f64);

impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Score) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Score {
    fn cmp(&self, other: &Score) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// The actor table, capped at `actors_max`: the lowest risk is evicted first.
pub(crate) struct RiskTable {
    actors: BTreeMap<ActorId, ActorState>,
    by_score: BTreeSet<(Score, ActorId)>,
    half_life_ms: i64,
    actors_max: usize,
    recent_max: usize,
    pub evicted: u64,
    pub expired: u64,
    pub recent_dropped: u64,
}

impl RiskTable {
    pub fn new(half_life_ms: i64, actors_max: usize, recent_max: usize) -> RiskTable {
        RiskTable {
            actors: BTreeMap::new(),
            by_score: BTreeSet::new(),
            half_life_ms,
            actors_max,
            recent_max,
            evicted: 0,
            expired: 0,
            recent_dropped: 0,
        }
    }

    /// How far back an alert still counts as having built an actor's risk.
    pub fn horizon_ms(&self) -> i64 {
        self.half_life_ms.saturating_mul(RECENT_HALF_LIVES)
    }

    fn score(&self, s: &ActorState) -> Score {
        if s.risk > 0.0 {
            Score(s.risk.log2() + s.at_ms as f64 / self.half_life_ms as f64)
        } else {
            Score(f64::NEG_INFINITY)
        }
    }

    fn decayed(&self, s: &ActorState, at_ms: i64) -> f64 {
        if at_ms <= s.at_ms {
            return s.risk;
        }
        let half_lives = (at_ms - s.at_ms) as f64 / self.half_life_ms as f64;
        s.risk * 0.5f64.powf(half_lives)
    }

    /// The actor's risk at `at_ms` (0 for an unknown actor); an instant before its last
    /// alert gives the risk at that alert.
    pub fn risk(&self, actor: &ActorId, at_ms: i64) -> f64 {
        self.actors.get(actor).map_or(0.0, |s| self.decayed(s, at_ms))
    }

    /// Adds one alert's weight at `at_ms`; returns the new risk.
    pub fn add(&mut self, actor: &ActorId, weight: f64, at_ms: i64, alert_id: &str) -> f64 {
        if !self.actors.contains_key(actor) && self.actors.len() >= self.actors_max {
            if let Some((_, lowest)) = self.by_score.pop_first() {
                self.actors.remove(&lowest);
                self.evicted += 1;
            }
        }
        let mut state = match self.actors.remove(actor) {
            Some(s) => {
                self.by_score.remove(&(self.score(&s), actor.clone()));
                s
            }
            None => ActorState { risk: 0.0, at_ms, recent: VecDeque::new() },
        };
        state.risk = (self.decayed(&state, at_ms) + weight).min(RISK_MAX);
        state.at_ms = state.at_ms.max(at_ms);
        if state.recent.len() >= self.recent_max {
            state.recent.pop_front();
            self.recent_dropped += 1;
        }
        state.recent.push_back((at_ms, alert_id.to_string()));
        let risk = state.risk;
        self.by_score.insert((self.score(&state), actor.clone()));
        self.actors.insert(actor.clone(), state);
        debug_assert_eq!(self.actors.len(), self.by_score.len());
        risk
    }

    /// The alerts of `actor` within the horizon before `at_ms`, oldest first.
    pub fn recent(&self, actor: &ActorId, at_ms: i64) -> impl Iterator<Item = &(i64, String)> {
        let since_ms = at_ms.saturating_sub(self.horizon_ms());
        self.actors
            .get(actor)
            .into_iter()
            .flat_map(move |s| s.recent.iter().filter(move |(t, _)| *t >= since_ms))
    }

    /// Forgets actors whose risk at `now_ms` has decayed below the floor.
    pub fn prune(&mut self, now_ms: i64) {
        while let Some((_, actor)) = self.by_score.first() {
            let state = &self.actors[actor];
            if self.decayed(state, now_ms) >= RISK_FLOOR {
                break;
            }
            let (_, actor) = self.by_score.pop_first().expect("just seen");
            self.actors.remove(&actor);
            self.expired += 1;
        }
    }

    /// How many actors are tracked.
    pub fn len(&self) -> usize {
        self.actors.len()
    }
}
