//! The baseline kind: per actor, an exponentially weighted mean and deviation of the value of
//! each bucket in which the actor was active; a bucket far above them fires.
//!
//! Buckets are aligned on the epoch (`floor(t / bucket)`). A bucket is judged when the
//! watermark passes its end (or at the end of the input, as it stands), not when the actor's
//! next event comes, so an actor that falls silent after a burst is still judged: each rule
//! keeps the list of actors with a bucket under way and sweeps it when event time passes the
//! earliest end.

use super::alerts::Fire;
use crate::keytable::{Key, KeyHasher, KeyTable};
use crate::rule::BaselineSpec;
use crate::template::Facts;
use apiwatch_core::time::{hour_of_day, HOUR_MS};
use apiwatch_core::Event;

/// Mean and deviation of bucket values.
#[derive(Clone, Copy, Default)]
struct Model {
    n: u32,
    mean: f64,
    dev: f64,
}

impl Model {
    /// Learns one bucket value: plain averages while `n` is small, then exponentially
    /// weighted with `alpha`.
    fn learn(&mut self, x: f64, alpha: f64) {
        self.n = self.n.saturating_add(1);
        if self.n == 1 {
            self.mean = x;
            self.dev = 0.0;
            return;
        }
        let a = alpha.max(1.0 / f64::from(self.n));
        self.dev = (1.0 - a) * self.dev + a * (x - self.mean).abs();
        self.mean = (1.0 - a) * self.mean + a * x;
    }

    fn threshold(&self, factor: f64) -> f64 {
        self.mean + factor * self.dev.max(self.mean * 0.1)
    }
}

/// Baseline state of one actor.
pub(crate) struct BaselineState {
    /// The bucket under way (valid while `open`).
    bucket: i64,
    open: bool,
    value: f64,
    events: u64,
    first_ms: i64,
    last_ms: i64,
    /// The threshold the bucket under way will be judged against (NaN: not judged).
    threshold: f64,
    mean: f64,
    /// The event that took the bucket over its threshold, as evidence.
    sample: Option<Box<Event>>,
    model: Model,
    hours: Option<Box<[Model; 24]>>,
    last_closed: i64,
    streak: u32,
    streak_first_ms: i64,
    streak_events: u64,
}

impl Default for BaselineState {
    fn default() -> BaselineState {
        BaselineState {
            bucket: 0,
            open: false,
            value: 0.0,
            events: 0,
            first_ms: 0,
            last_ms: 0,
            threshold: f64::NAN,
            mean: 0.0,
            sample: None,
            model: Model::default(),
            hours: None,
            last_closed: i64::MIN,
            streak: 0,
            streak_first_ms: 0,
            streak_events: 0,
        }
    }
}

/// A baseline rule's actors and its sweep list.
pub(crate) struct BaselineRuntime {
    pub table: KeyTable<BaselineState>,
    /// Slots that started a bucket since the last sweep (may repeat; checked on sweep).
    pending: Vec<u32>,
    /// The earliest end of a bucket under way, `i64::MAX` when none.
    pub next_close_ms: i64,
}

impl BaselineRuntime {
    pub fn new(max_keys: usize, hasher: KeyHasher) -> BaselineRuntime {
        BaselineRuntime {
            table: KeyTable::with_hasher(max_keys, hasher),
            pending: Vec::new(),
            next_close_ms: i64::MAX,
        }
    }

    /// Adds one event's value to its actor's bucket. Returns a firing only in the rare case
    /// where a bucket under way was not swept yet (it is then judged first). The firing comes
    /// boxed: the result of every event then fits in registers, where an unboxed one was
    /// copied out on each call, firing or not.
    pub fn on_event(
        &mut self,
        spec: &BaselineSpec,
        key: Key<'_>,
        ev: &Event,
        value: f64,
    ) -> Option<(Box<Fire>, i64)> {
        let t = ev.timestamp_ms;
        let b = t.div_euclid(spec.bucket_ms);
        let (i, _) = self.table.touch_or_insert(key, t);
        let st = &mut self.table.slot_mut(i).state;
        let mut fired = None;
        if st.open && b > st.bucket {
            let end = (st.bucket + 1) * spec.bucket_ms;
            fired = close(st, spec, end).map(|f| (Box::new(f), end));
        }
        if st.open && b < st.bucket || !st.open && b <= st.last_closed {
            // A late event of a bucket already judged.
            return fired;
        }
        if !st.open {
            st.bucket = b;
            st.open = true;
            st.value = 0.0;
            st.events = 0;
            st.first_ms = t;
            st.last_ms = t;
            st.sample = None;
            let (judged, threshold, mean) = judge(st, spec, b);
            st.threshold = if judged { threshold } else { f64::NAN };
            st.mean = mean;
            self.pending.push(i);
            self.next_close_ms = self.next_close_ms.min((b + 1) * spec.bucket_ms);
        }
        st.value += value;
        st.events += 1;
        st.first_ms = st.first_ms.min(t);
        st.last_ms = st.last_ms.max(t);
        if st.sample.is_none() && st.value > st.threshold && st.value >= spec.min_value {
            st.sample = Some(Box::new(ev.clone()));
        }
        fired
    }

    /// Judges every bucket that ended at or before `watermark_ms` (all of them when
    /// `finish`), calling `emit(key, fire, detected_at_ms)` for each firing, in sweep order.
    pub fn sweep(
        &mut self,
        spec: &BaselineSpec,
        watermark_ms: i64,
        finish: bool,
        emit: &mut dyn FnMut(&str, Fire, i64),
    ) {
        if !finish && watermark_ms < self.next_close_ms {
            return;
        }
        let mut next = i64::MAX;
        let pending = std::mem::take(&mut self.pending);
        let mut keep = Vec::new();
        for i in pending {
            if !self.table.is_live(i) {
                continue;
            }
            let slot = self.table.slot_mut(i);
            let st = &mut slot.state;
            if !st.open {
                continue;
            }
            let end = (st.bucket + 1) * spec.bucket_ms;
            if end <= watermark_ms || finish {
                let detected_at =
                    if end <= watermark_ms { end } else { watermark_ms.max(st.last_ms) };
                if let Some(f) = close(st, spec, detected_at) {
                    let key = slot.key().to_string();
                    emit(&key, f, detected_at);
                }
            } else {
                next = next.min(end);
                keep.push(i);
            }
        }
        self.pending = keep;
        self.next_close_ms = next;
    }
}

/// Whether a bucket starting `b` is judged, against which threshold, and the mean used.
fn judge(st: &BaselineState, spec: &BaselineSpec, b: i64) -> (bool, f64, f64) {
    if st.model.n < spec.learn_buckets {
        return (false, f64::NAN, st.model.mean);
    }
    if !spec.by_hour_of_day {
        return (true, st.model.threshold(spec.factor), st.model.mean);
    }
    let hour = hour_of_day(b * spec.bucket_ms) as usize;
    let need = spec.learn_buckets.div_ceil(24).max(1);
    match &st.hours {
        Some(h) if h[hour].n >= need => (true, h[hour].threshold(spec.factor), h[hour].mean),
        _ => (false, f64::NAN, st.model.mean),
    }
}

/// Judges and learns the bucket under way; a firing when it completes a streak of
/// `sustained_buckets` buckets above their thresholds.
fn close(st: &mut BaselineState, spec: &BaselineSpec, _detected_at: i64) -> Option<Fire> {
    debug_assert!(st.open);
    st.open = false;
    let b = st.bucket;
    let v = st.value;
    let threshold = st.threshold;
    let exceeds = !threshold.is_nan() && v > threshold && v >= spec.min_value;
    if exceeds {
        if st.streak > 0 && st.last_closed == b - 1 {
            st.streak += 1;
        } else {
            st.streak = 1;
            st.streak_first_ms = st.first_ms;
            st.streak_events = 0;
        }
        st.streak_events += st.events;
    } else {
        st.streak = 0;
    }
    // A bucket above its threshold is learnt as the threshold, so that one burst does not
    // teach the baseline that bursts are normal, while a lasting change is learnt over time.
    let learnt = if exceeds { threshold } else { v };
    st.model.learn(learnt, spec.alpha);
    if spec.by_hour_of_day {
        debug_assert_eq!(HOUR_MS % spec.bucket_ms, 0);
        let hour = hour_of_day(b * spec.bucket_ms) as usize;
        st.hours.get_or_insert_with(|| Box::new([Model::default(); 24]))[hour]
            .learn(learnt, spec.alpha);
    }
    st.last_closed = b;
    let sample = st.sample.take();
    if !(exceeds && st.streak >= spec.sustained_buckets) {
        return None;
    }
    Some(Fire {
        first_seen_ms: st.streak_first_ms,
        last_seen_ms: st.last_ms,
        count: st.streak_events,
        hit_count: st.events,
        facts: Facts { value: Some(number_text(v)), mean: st.mean, threshold, ..Facts::default() },
        early: sample,
    })
}

fn number_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_warms_up_then_weights() {
        let mut m = Model::default();
        for x in [100.0, 100.0, 100.0, 100.0] {
            m.learn(x, 0.1);
        }
        assert_eq!(m.mean, 100.0);
        assert_eq!(m.dev, 0.0);
        assert_eq!(m.threshold(5.0), 150.0);
        m.learn(200.0, 0.2);
        assert!((m.mean - 120.0).abs() < 1e-9);
    }
}
