//! The request scan for injection attacks, run before detection: in the decoding workers, where
//! the event's text is still in the cache of the core that wrote it and several workers share
//! the load, rather than in a detection shard, which sees every event in turn.
//!
//! The result is a pure function of the event (the memo only saves work), so an engine given
//! a prescan answers every `request: {attack: ...}` test exactly as it would have by scanning.

use crate::injection::{AttackSet, ValueMemo};
use crate::rule::{Kind, RuleSet};
use apiwatch_core::EventData;
use std::sync::Arc;

/// What a request scan looked for and what it found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prescan {
    pub(crate) scanned: AttackSet,
    pub(crate) found: AttackSet,
}

impl Prescan {
    /// Nothing looked for: the engine scans for itself when a rule asks.
    pub const NONE: Prescan = Prescan { scanned: AttackSet::EMPTY, found: AttackSet::EMPTY };

    /// The classes found (of those looked for).
    pub fn found(&self) -> AttackSet {
        self.found
    }
}

/// Scans events' requests for every attack class the rule set's `request` tests ask about; one
/// per thread (it remembers the results of repeated values).
pub struct Prescanner {
    rules: Arc<RuleSet>,
    classes: AttackSet,
    memo: ValueMemo,
}

impl Prescanner {
    pub fn new(rules: Arc<RuleSet>) -> Prescanner {
        let classes = request_classes(&rules);
        Prescanner { rules, classes, memo: ValueMemo::default() }
    }

    /// The classes found in the event's request, of those any rule asks about.
    pub fn scan(&mut self, ev: &EventData) -> Prescan {
        if self.classes.is_empty() {
            return Prescan::NONE;
        }
        let found = self.rules.inner.detector.scan_request_memo(ev, self.classes, &mut self.memo);
        Prescan { scanned: self.classes, found }
    }
}

/// Every class that the `request` tests of the rules at `indices` look for.
pub(crate) fn request_classes_of(rules: &RuleSet, indices: &[usize]) -> AttackSet {
    let mut all = AttackSet::EMPTY;
    for &i in indices {
        let rule = &rules.inner.rules[i];
        let mut classes = rule.filter.request_classes();
        match &rule.kind {
            Kind::Ratio { matching, .. } => classes = classes.union(matching.request_classes()),
            Kind::Sequence { steps, .. } => {
                for s in steps {
                    classes = classes.union(s.cond.request_classes());
                }
            }
            _ => {}
        }
        all = all.union(classes);
    }
    all
}

fn request_classes(rules: &RuleSet) -> AttackSet {
    let indices: Vec<usize> = (0..rules.inner.rules.len()).collect();
    request_classes_of(rules, &indices)
}
