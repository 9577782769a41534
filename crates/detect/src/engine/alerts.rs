//! The alert lifecycle of one rule: an alert opens when the rule fires for an actor, collects
//! later hits of that actor while `detected_at + suppress` has not passed, and is closed and
//! emitted when the watermark passes that deadline (or at the end of the input).

use crate::rule::Rule;
use crate::template::{capture_text, Facts, RenderInput};
use apiwatch_core::alert::EVIDENCE_MAX;
use apiwatch_core::ecs::write_ecs_json;
use apiwatch_core::{Alert, Event, ProposedResponse};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// Separates group_by values in a key. A value holding it has it replaced (see `build_key`).
pub(crate) const KEY_SEPARATOR: char = '\u{1f}';

/// What a kind decided about one event (or one closed bucket).
pub(crate) enum Outcome {
    /// Nothing for this rule.
    None,
    /// Not a firing, but counts for an open alert of the actor.
    Hit,
    /// The rule fires: opens an alert, or adds `hit_count` to the open one.
    Fire(Box<Fire>),
}

/// A firing.
pub(crate) struct Fire {
    /// The first contributing event's time.
    pub first_seen_ms: i64,
    /// The last contributing event's time.
    pub last_seen_ms: i64,
    /// `count` of a new alert.
    pub count: u64,
    /// Added to the count of an alert that is already open.
    pub hit_count: u64,
    pub facts: Facts,
    /// An earlier contributing event to show before the detecting one.
    pub early: Option<Box<Event>>,
}

impl Fire {
    /// A firing on one event.
    pub fn at(t_ms: i64) -> Fire {
        Fire {
            first_seen_ms: t_ms,
            last_seen_ms: t_ms,
            count: 1,
            hit_count: 1,
            facts: Facts::default(),
            early: None,
        }
    }
}

#[derive(Clone)]
struct OpenAlert {
    seq: u64,
    /// The count when the alert was raised at opening (live mode), so that closing emits it
    /// again only if it grew.
    raised_count: Option<u64>,
    detected_at_ms: i64,
    first_seen_ms: i64,
    last_seen_ms: i64,
    count: u64,
    /// ECS JSON text (a third of the memory of parsed JSON; parsed back when emitted).
    evidence: Vec<Box<str>>,
    facts: Facts,
    captured: Vec<Option<String>>,
}

/// The open alerts of one rule.
#[derive(Default)]
pub(crate) struct OpenAlerts {
    by_key: HashMap<Box<str>, OpenAlert>,
    /// (deadline, opening sequence number, key): closes in deadline order, ties in opening
    /// order.
    deadlines: BinaryHeap<Reverse<(i64, u64, Box<str>)>>,
    next_seq: u64,
    /// Alerts emitted.
    pub emitted: u64,
    /// Alerts closed early because `max_open` were open.
    pub closed_early: u64,
    /// Live mode: an alert is emitted as soon as it opens, and again when it closes only if
    /// later hits were added (same id: consumers update it).
    pub raise_on_open: bool,
}

impl OpenAlerts {
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// The earliest deadline.
    pub fn next_deadline_ms(&self) -> Option<i64> {
        self.deadlines.peek().map(|Reverse((d, _, _))| *d)
    }

    /// Applies an outcome for the actor `key`. `ev` is the event it came from (evidence and
    /// summary fields); `at_ms` the time of the hit or firing.
    #[allow(clippy::too_many_arguments)]
    pub fn apply(
        &mut self,
        rule: &Rule,
        key: &str,
        outcome: Outcome,
        ev: Option<&Event>,
        at_ms: i64,
        max_open: usize,
        out: &mut Vec<Alert>,
    ) {
        match outcome {
            Outcome::None => {}
            Outcome::Hit => {
                if let Some(a) = self.get_mut(key) {
                    a.add_hit(at_ms, 1, ev);
                }
            }
            Outcome::Fire(fire) => {
                if let Some(a) = self.get_mut(key) {
                    a.add_hit(
                        fire.last_seen_ms.max(at_ms),
                        fire.hit_count,
                        ev.or(fire.early.as_deref()),
                    );
                    return;
                }
                if self.by_key.len() >= max_open {
                    // Bounded memory: the alert closest to its deadline is emitted now.
                    self.close_next(rule, out);
                    self.closed_early += 1;
                }
                let Fire { first_seen_ms, last_seen_ms, count, facts, early, .. } = *fire;
                let mut evidence = Vec::with_capacity(2);
                if let Some(e) = &early {
                    evidence.push(evidence_text(e));
                }
                if let Some(e) = ev {
                    evidence.push(evidence_text(e));
                }
                let source = ev.or(early.as_deref());
                let captured = rule
                    .summary
                    .captures
                    .iter()
                    .map(|f| source.and_then(|e| capture_text(e.get(f))))
                    .collect();
                let seq = self.next_seq;
                self.next_seq += 1;
                let deadline = at_ms.saturating_add(rule.suppress_ms);
                self.deadlines.push(Reverse((deadline, seq, key.into())));
                let mut open = OpenAlert {
                    seq,
                    raised_count: None,
                    detected_at_ms: at_ms,
                    first_seen_ms: first_seen_ms.min(at_ms),
                    last_seen_ms: last_seen_ms.max(first_seen_ms),
                    count,
                    evidence,
                    facts,
                    captured,
                };
                if self.raise_on_open {
                    open.raised_count = Some(open.count);
                    out.push(render(rule, key, open.clone()));
                    self.emitted += 1;
                }
                self.by_key.insert(key.into(), open);
            }
        }
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut OpenAlert> {
        if self.by_key.is_empty() {
            return None;
        }
        self.by_key.get_mut(key)
    }

    /// Closes every alert whose deadline is at or before `watermark_ms`.
    pub fn close_due(&mut self, rule: &Rule, watermark_ms: i64, out: &mut Vec<Alert>) {
        while self.next_deadline_ms().is_some_and(|d| d <= watermark_ms) {
            self.close_next(rule, out);
        }
    }

    /// Closes every alert (end of input).
    pub fn close_all(&mut self, rule: &Rule, out: &mut Vec<Alert>) {
        while !self.deadlines.is_empty() {
            self.close_next(rule, out);
        }
    }

    fn close_next(&mut self, rule: &Rule, out: &mut Vec<Alert>) {
        let Some(Reverse((_, seq, key))) = self.deadlines.pop() else { return };
        let Some(a) = self.by_key.get(&key) else { return };
        if a.seq != seq {
            return;
        }
        let a = self.by_key.remove(&key).expect("just found");
        if a.raised_count.is_some_and(|c| c == a.count) {
            // Raised at opening and nothing was added since.
            return;
        }
        out.push(render(rule, &key, a));
        self.emitted += 1;
    }
}

impl OpenAlert {
    fn add_hit(&mut self, at_ms: i64, n: u64, ev: Option<&Event>) {
        if n == 0 {
            return;
        }
        self.count += n;
        self.last_seen_ms = self.last_seen_ms.max(at_ms);
        if let Some(e) = ev {
            if self.evidence.len() < EVIDENCE_MAX {
                self.evidence.push(evidence_text(e));
            }
        }
    }
}

fn evidence_text(e: &Event) -> Box<str> {
    let mut out = Vec::with_capacity(512);
    write_ecs_json(e, &mut out);
    String::from_utf8(out).expect("JSON is UTF-8").into_boxed_str()
}

/// The actor's (field, value) pairs from its key.
pub(crate) fn actor_of(rule: &Rule, key: &str) -> Vec<(String, String)> {
    rule.info.group_by.iter().cloned().zip(key.split(KEY_SEPARATOR).map(str::to_string)).collect()
}

fn render(rule: &Rule, key: &str, a: OpenAlert) -> Alert {
    let actor = actor_of(rule, key);
    let summary = rule.summary.render(&RenderInput {
        count: a.count,
        window_ms: rule.kind.window_ms(),
        actor: &actor,
        facts: &a.facts,
        captured: &a.captured,
    });
    let response = rule.response.as_ref().map(|r| ProposedResponse {
        action: r.action,
        scope_field: actor[r.scope_index].0.clone(),
        scope_value: actor[r.scope_index].1.clone(),
        duration_ms: r.duration_ms,
    });
    Alert {
        id: Alert::make_id(&rule.info.id, &actor, a.detected_at_ms),
        rule: rule.info.id.clone(),
        title: rule.info.title.clone(),
        severity: rule.info.severity,
        owasp: rule.info.owasp.clone(),
        attack: rule.info.attack.clone(),
        first_seen_ms: a.first_seen_ms,
        last_seen_ms: a.last_seen_ms,
        detected_at_ms: a.detected_at_ms,
        actor,
        count: a.count,
        summary,
        evidence: a
            .evidence
            .iter()
            .map(|t| serde_json::from_str(t).expect("evidence is JSON we wrote"))
            .collect(),
        response,
    }
}
