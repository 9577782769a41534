//! Fewer notifications: the same rule for the same actor notifies once per `suppress_ms`,
//! and an analyst's mute silences a rule for an actor until a given event time.

use apiwatch_core::ActorId;
use std::collections::{BTreeMap, BTreeSet};

/// Silences one rule for one actor until `until_ms` (event time, exclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mute {
    /// The analyst's id for it, used to remove it.
    pub id: String,
    /// The rule it silences.
    pub rule: String,
    /// It applies to alerts having this actor (blamed or in evidence).
    pub actor: ActorId,
    /// Alerts whose event time is at or after this are no longer silenced.
    pub until_ms: i64,
}

/// Mutes by id, with an index by (rule, actor); at most `mutes_max`, more are refused.
pub(crate) struct Mutes {
    by_id: BTreeMap<String, Mute>,
    by_key: BTreeMap<(String, ActorId), BTreeSet<String>>,
    by_until: BTreeSet<(i64, String)>,
    mutes_max: usize,
    pub refused: u64,
    pub expired: u64,
}

impl Mutes {
    pub fn new(mutes_max: usize) -> Mutes {
        Mutes {
            by_id: BTreeMap::new(),
            by_key: BTreeMap::new(),
            by_until: BTreeSet::new(),
            mutes_max,
            refused: 0,
            expired: 0,
        }
    }

    /// Adds or replaces a mute; false (and counted) when the table is full.
    pub fn add(&mut self, mute: Mute) -> bool {
        if !self.by_id.contains_key(&mute.id) && self.by_id.len() >= self.mutes_max {
            self.refused += 1;
            return false;
        }
        self.remove(&mute.id);
        self.by_key
            .entry((mute.rule.clone(), mute.actor.clone()))
            .or_default()
            .insert(mute.id.clone());
        self.by_until.insert((mute.until_ms, mute.id.clone()));
        self.by_id.insert(mute.id.clone(), mute);
        true
    }

    /// Removes a mute; false if there was none with this id.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(m) = self.by_id.remove(id) else { return false };
        self.by_until.remove(&(m.until_ms, m.id));
        let key = (m.rule, m.actor);
        if let Some(ids) = self.by_key.get_mut(&key) {
            ids.remove(id);
            if ids.is_empty() {
                self.by_key.remove(&key);
            }
        }
        true
    }

    /// The first mute (by id) silencing `rule` for any of `actors` at `at_ms`.
    pub fn matching(&self, rule: &str, actors: &[ActorId], at_ms: i64) -> Option<&Mute> {
        actors
            .iter()
            .filter_map(|a| self.by_key.get(&(rule.to_string(), a.clone())))
            .flatten()
            .map(|id| &self.by_id[id])
            .filter(|m| at_ms < m.until_ms)
            .min_by(|x, y| x.id.cmp(&y.id))
    }

    /// Drops mutes that ended at or before `now_ms`.
    pub fn prune(&mut self, now_ms: i64) {
        while let Some((until_ms, id)) = self.by_until.first().cloned() {
            if until_ms > now_ms {
                break;
            }
            self.remove(&id);
            self.expired += 1;
        }
    }

    /// How many mutes are kept.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }
}

/// When each (rule, primary actor) last notified; at most `suppress_keys_max` pairs, the
/// oldest forgotten first.
pub(crate) struct Suppressor {
    last_ms: BTreeMap<(String, String), i64>,
    by_time: BTreeSet<(i64, String, String)>,
    keys_max: usize,
    pub evicted: u64,
}

impl Suppressor {
    pub fn new(keys_max: usize) -> Suppressor {
        Suppressor { last_ms: BTreeMap::new(), by_time: BTreeSet::new(), keys_max, evicted: 0 }
    }

    /// Whether `rule` for `actor` notified less than `window_ms` before `at_ms`.
    pub fn within(&self, rule: &str, actor: &str, at_ms: i64, window_ms: i64) -> bool {
        self.last_ms
            .get(&(rule.to_string(), actor.to_string()))
            .is_some_and(|last| at_ms.saturating_sub(*last) < window_ms)
    }

    /// Records a notification of `rule` for `actor` at `at_ms`.
    pub fn record(&mut self, rule: &str, actor: &str, at_ms: i64) {
        let key = (rule.to_string(), actor.to_string());
        match self.last_ms.get(&key).copied() {
            Some(last) => {
                if at_ms <= last {
                    return;
                }
                self.by_time.remove(&(last, key.0.clone(), key.1.clone()));
            }
            None => {
                if self.last_ms.len() >= self.keys_max {
                    if let Some((_, r, a)) = self.by_time.pop_first() {
                        self.last_ms.remove(&(r, a));
                        self.evicted += 1;
                    }
                }
            }
        }
        self.by_time.insert((at_ms, key.0.clone(), key.1.clone()));
        self.last_ms.insert(key, at_ms);
        debug_assert_eq!(self.last_ms.len(), self.by_time.len());
    }

    /// Forgets notifications older than `window_ms` (the longest window) at `now_ms`.
    pub fn prune(&mut self, now_ms: i64, window_ms: i64) {
        while let Some((last, _, _)) = self.by_time.first() {
            if now_ms.saturating_sub(*last) < window_ms {
                break;
            }
            let (_, r, a) = self.by_time.pop_first().expect("just seen");
            self.last_ms.remove(&(r, a));
        }
    }

    /// How many pairs are remembered.
    pub fn len(&self) -> usize {
        self.last_ms.len()
    }
}
