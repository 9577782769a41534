//! Sliding-window kinds: threshold, distinct and ratio.
//!
//! An event at time `s` is inside the window at time `now` when `now - s < window` (so two
//! events exactly `window` apart are never in one window). `now` is the actor's latest event
//! time, so a late event is judged against the window its actor has already reached.

use super::alerts::{Fire, Outcome};
use crate::keytable::{Key, KeyTable};
use crate::template::Facts;
use apiwatch_core::Event;
use std::collections::VecDeque;

/// Event times, oldest first, as 32-bit millisecond offsets from a base (a window is at most
/// 30 days, well within 2^32 ms), keeping only the newest `cap`.
#[derive(Default)]
pub(crate) struct Stamps {
    base_ms: i64,
    q: VecDeque<u32>,
}

impl Stamps {
    pub fn len(&self) -> usize {
        self.q.len()
    }

    pub fn clear(&mut self) {
        self.q = VecDeque::new();
    }

    pub fn front_ms(&self) -> Option<i64> {
        self.q.front().map(|o| self.base_ms + i64::from(*o))
    }

    pub fn back_ms(&self) -> Option<i64> {
        self.q.back().map(|o| self.base_ms + i64::from(*o))
    }

    /// Drops times at or before `cutoff_ms`.
    pub fn prune(&mut self, cutoff_ms: i64) {
        while self.front_ms().is_some_and(|f| f <= cutoff_ms) {
            self.q.pop_front();
        }
        if self.q.is_empty() && self.q.capacity() > 16 {
            self.q = VecDeque::new();
        }
    }

    /// Inserts `t_ms` in order, then keeps the newest `cap` times.
    pub fn insert(&mut self, t_ms: i64, cap: usize) {
        if self.q.is_empty() {
            self.base_ms = t_ms;
        }
        if t_ms < self.base_ms {
            // A late event older than every kept time: move the base back.
            let shift = self.base_ms - t_ms;
            while self.back_ms().is_some_and(|b| b - t_ms > i64::from(u32::MAX)) {
                self.q.pop_back();
            }
            let shift32 = u32::try_from(shift).unwrap_or(u32::MAX);
            for o in self.q.iter_mut() {
                *o = o.saturating_add(shift32);
            }
            self.base_ms = t_ms;
        }
        if t_ms - self.base_ms > i64::from(u32::MAX) {
            // Rebase on the oldest kept time; drop times too old to share a base with t.
            while self.front_ms().is_some_and(|f| t_ms - f > i64::from(u32::MAX)) {
                self.q.pop_front();
            }
            let new_base = self.front_ms().unwrap_or(t_ms);
            let delta = u32::try_from(new_base - self.base_ms).unwrap_or(0);
            for o in self.q.iter_mut() {
                *o -= delta;
            }
            self.base_ms = new_base;
        }
        let off = u32::try_from(t_ms - self.base_ms).expect("rebased to fit");
        let mut pos = self.q.len();
        while pos > 0 && self.q[pos - 1] > off {
            pos -= 1;
        }
        self.q.insert(pos, off);
        while self.q.len() > cap {
            self.q.pop_front();
        }
    }
}

/// An event kept as evidence of the start of a burst: taken when the actor's count reaches half
/// of what fires (and at least 2), so only actors well on their way to firing hold one.
fn early_snapshot(
    slot: &mut Option<Box<Event>>,
    ev: &Event,
    n: usize,
    fire_at: usize,
    cutoff_ms: i64,
) {
    let half = fire_at.div_ceil(2);
    if n == half && half >= 2 && slot.as_ref().is_none_or(|e| e.timestamp_ms <= cutoff_ms) {
        *slot = Some(Box::new(ev.clone()));
    }
}

fn take_early(slot: &mut Option<Box<Event>>, cutoff_ms: i64) -> Option<Box<Event>> {
    slot.take().filter(|e| e.timestamp_ms > cutoff_ms)
}

/// Threshold state of one actor.
#[derive(Default)]
pub(crate) struct ThresholdState {
    stamps: Stamps,
    early: Option<Box<Event>>,
}

pub(crate) fn threshold(
    table: &mut KeyTable<ThresholdState>,
    key: Key<'_>,
    ev: &Event,
    window_ms: i64,
    min_count: u32,
) -> Outcome {
    let t = ev.timestamp_ms;
    let (i, _) = table.touch_or_insert(key, t);
    let st = &mut table.slot_mut(i).state;
    let now = st.stamps.back_ms().map_or(t, |b| b.max(t));
    let cutoff = now - window_ms;
    st.stamps.prune(cutoff);
    if t <= cutoff {
        // Late and outside the actor's window: counts only for an open alert.
        return Outcome::Hit;
    }
    let cap = min_count as usize;
    st.stamps.insert(t, cap);
    let n = st.stamps.len();
    early_snapshot(&mut st.early, ev, n, cap, cutoff);
    if n < cap {
        return Outcome::Hit;
    }
    let first = st.stamps.front_ms().unwrap_or(t);
    let early = take_early(&mut st.early, cutoff);
    Outcome::Fire(Box::new(Fire {
        first_seen_ms: first,
        last_seen_ms: now,
        count: n as u64,
        hit_count: 1,
        facts: Facts::default(),
        early,
    }))
}

/// Distinct state of one actor: for each of the newest `min_distinct` values, its hash and
/// the first and last time it was seen in the window.
#[derive(Default)]
pub(crate) struct DistinctState {
    values: Vec<(u64, i64, i64)>,
    newest_ms: i64,
    early: Option<Box<Event>>,
}

pub(crate) fn distinct(
    table: &mut KeyTable<DistinctState>,
    key: Key<'_>,
    ev: &Event,
    value_hash: u64,
    window_ms: i64,
    min_distinct: u32,
) -> Outcome {
    let t = ev.timestamp_ms;
    let (i, new_key) = table.touch_or_insert(key, t);
    let st = &mut table.slot_mut(i).state;
    if new_key {
        st.newest_ms = t;
    }
    st.newest_ms = st.newest_ms.max(t);
    let cutoff = st.newest_ms - window_ms;
    st.values.retain(|(_, _, last)| *last > cutoff);
    if t <= cutoff {
        return Outcome::None;
    }
    let cap = min_distinct as usize;
    let is_new = match st.values.iter().position(|(h, _, _)| *h == value_hash) {
        Some(j) => {
            let e = &mut st.values[j];
            e.1 = e.1.min(t);
            e.2 = e.2.max(t);
            false
        }
        None if st.values.len() < cap => {
            st.values.push((value_hash, t, t));
            true
        }
        None => {
            // Full: the new value replaces the one seen least recently, unless that was seen
            // later than this (late) event.
            let (j, oldest) = st
                .values
                .iter()
                .enumerate()
                .min_by_key(|(_, (_, _, last))| *last)
                .map(|(j, e)| (j, e.2))
                .expect("full means not empty");
            if oldest <= t {
                st.values[j] = (value_hash, t, t);
                true
            } else {
                false
            }
        }
    };
    if !is_new {
        return Outcome::None;
    }
    let n = st.values.len();
    early_snapshot(&mut st.early, ev, n, cap, cutoff);
    if n < cap {
        return Outcome::Hit;
    }
    let first = st.values.iter().map(|(_, f, _)| *f).min().unwrap_or(t);
    let early = take_early(&mut st.early, cutoff);
    Outcome::Fire(Box::new(Fire {
        first_seen_ms: first,
        last_seen_ms: st.newest_ms,
        count: n as u64,
        hit_count: 1,
        facts: Facts { distinct: n as u64, ..Facts::default() },
        early,
    }))
}

/// Ratio slices: the window is counted in ten slices of a tenth of it.
pub(crate) const RATIO_SLICES: i64 = 10;

#[derive(Clone, Copy)]
struct Slice {
    num: i64,
    total: u32,
    matching: u32,
    first_ms: i64,
}

/// Ratio state of one actor: the non-empty slices of the window, oldest first.
#[derive(Default)]
pub(crate) struct RatioState {
    slices: Vec<Slice>,
    /// Sums over `slices`.
    total: u64,
    matching: u64,
}

pub(crate) fn ratio(
    table: &mut KeyTable<RatioState>,
    key: Key<'_>,
    t: i64,
    matched: bool,
    window_ms: i64,
    min_ratio: f64,
    min_events: u32,
) -> Outcome {
    let slice_ms = window_ms / RATIO_SLICES;
    let s = t.div_euclid(slice_ms);
    let (i, _) = table.touch_or_insert(key, t);
    let st = &mut table.slot_mut(i).state;
    let cur = st.slices.last().map_or(s, |l| l.num.max(s));
    let stale = cur - RATIO_SLICES;
    if st.slices.first().is_some_and(|x| x.num <= stale) {
        let keep_from = st.slices.partition_point(|x| x.num <= stale);
        for x in st.slices.drain(..keep_from) {
            st.total -= u64::from(x.total);
            st.matching -= u64::from(x.matching);
        }
    }
    if s <= stale {
        return if matched { Outcome::Hit } else { Outcome::None };
    }
    let m = u32::from(matched);
    // Most events fall in the newest slice.
    let j = match st.slices.last() {
        Some(x) if x.num == s => Ok(st.slices.len() - 1),
        _ => st.slices.binary_search_by_key(&s, |x| x.num),
    };
    match j {
        Ok(j) => {
            let x = &mut st.slices[j];
            x.total += 1;
            x.matching += m;
            x.first_ms = x.first_ms.min(t);
        }
        Err(j) => st.slices.insert(j, Slice { num: s, total: 1, matching: m, first_ms: t }),
    }
    st.total += 1;
    st.matching += u64::from(m);
    let (total, matching) = (st.total, st.matching);
    debug_assert_eq!(total, st.slices.iter().map(|x| u64::from(x.total)).sum::<u64>());
    if total >= u64::from(min_events) && matching as f64 >= min_ratio * total as f64 && matching > 0
    {
        let first = st.slices.first().map_or(t, |x| x.first_ms);
        return Outcome::Fire(Box::new(Fire {
            first_seen_ms: first,
            last_seen_ms: t,
            count: matching,
            hit_count: u64::from(m),
            facts: Facts { total, matching, ..Facts::default() },
            early: None,
        }));
    }
    if matched {
        Outcome::Hit
    } else {
        Outcome::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_keep_order_and_cap() {
        let mut s = Stamps::default();
        for t in [100, 300, 200, 50, 400] {
            s.insert(t, 3);
        }
        assert_eq!((s.front_ms(), s.back_ms(), s.len()), (Some(200), Some(400), 3));
        s.prune(250);
        assert_eq!((s.front_ms(), s.len()), (Some(300), 2));
        // Far apart in time: rebased without overflow.
        let mut s = Stamps::default();
        s.insert(0, 5);
        s.insert(10_000_000_000, 5);
        assert_eq!(s.back_ms(), Some(10_000_000_000));
        assert_eq!(s.len(), 1);
    }
}
