//! The sequence kind: steps in order, the whole sequence within `within`.
//!
//! The first step is a sliding count (like a threshold over `within`): it is complete when its
//! newest `min_count` events are less than `within` apart. An event of the second step while the
//! first is complete starts an attempt, anchored at the oldest of those events; each later step
//! counts its events; an event of a step other than the current one (or the first) is ignored.
//! The attempt fires when the last step completes less than `within` after its anchor, and is
//! abandoned once `within` has passed since it. After firing, the actor starts over.

use super::alerts::{Fire, Outcome};
use super::window::Stamps;
use crate::condition::EvalCache;
use crate::injection::InjectionDetector;
use crate::keytable::{Key, KeyTable};
use crate::rule::Step;
use apiwatch_core::Event;

#[derive(Clone, Copy)]
struct Attempt {
    /// The step being counted (1..steps.len()).
    step: u8,
    count: u32,
    start_ms: i64,
    /// Events of the attempt so far, first step included.
    total: u64,
}

/// Sequence state of one actor.
#[derive(Default)]
pub(crate) struct SequenceState {
    first: Stamps,
    attempt: Option<Attempt>,
}

pub(crate) fn sequence(
    table: &mut KeyTable<SequenceState>,
    key: Key<'_>,
    ev: &Event,
    steps: &[Step],
    within_ms: i64,
    det: &InjectionDetector,
    cache: &mut EvalCache,
) -> Outcome {
    let t = ev.timestamp_ms;
    // Which steps the event matches, evaluated lazily and at most once each.
    let mut matches: [Option<bool>; 8] = [None; 8];
    let mut is = |k: usize, cache: &mut EvalCache| -> bool {
        *matches[k].get_or_insert_with(|| steps[k].cond.eval(ev, det, cache))
    };
    // Touch the table only for events of some step, so that other events cost no state.
    let i = match table.find(key) {
        Some(i) => {
            table.touch(i, t);
            i
        }
        None => {
            if !is(0, cache) {
                return Outcome::None;
            }
            table.touch_or_insert(key, t).0
        }
    };
    let st = &mut table.slot_mut(i).state;
    if st.attempt.is_some_and(|a| t - a.start_ms >= within_ms) {
        st.attempt = None;
    }
    let first_min = steps[0].min_count as usize;
    if st.attempt.is_none() {
        let now = st.first.back_ms().map_or(t, |b| b.max(t));
        st.first.prune(now - within_ms);
        let complete = st.first.len() >= first_min;
        if complete && is(1, cache) {
            let start = st.first.front_ms().unwrap_or(t);
            st.attempt =
                Some(Attempt { step: 1, count: 0, start_ms: start, total: first_min as u64 });
        } else if is(0, cache) {
            if t > now - within_ms {
                st.first.insert(t, first_min);
            }
            return Outcome::Hit;
        } else {
            return Outcome::None;
        }
    }
    let a = st.attempt.as_mut().expect("an attempt is under way");
    let k = a.step as usize;
    if is(k, cache) {
        a.count += 1;
        a.total += 1;
        if a.count >= steps[k].min_count {
            a.step += 1;
            a.count = 0;
            if a.step as usize == steps.len() {
                let fire = Fire {
                    first_seen_ms: a.start_ms,
                    last_seen_ms: t,
                    count: a.total,
                    hit_count: 1,
                    facts: Default::default(),
                    early: None,
                };
                st.attempt = None;
                st.first.clear();
                return Outcome::Fire(Box::new(fire));
            }
        }
        return Outcome::Hit;
    }
    if is(0, cache) {
        let now = st.first.back_ms().map_or(t, |b| b.max(t));
        if t > now - within_ms {
            st.first.insert(t, first_min);
        }
        return Outcome::Hit;
    }
    // A later step's event that is not the current step still counts for an open alert.
    if (1..steps.len()).any(|j| j != k && is(j, cache)) {
        return Outcome::Hit;
    }
    Outcome::None
}
