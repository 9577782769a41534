//! Counts by minute of event time over the last day, oldest first: the ring the traffic
//! roll-up (`rollup.rs`) and the threat map (`geo_map.rs`) keep their minutes in. The minutes
//! counted into are noted, so that only those are saved as they change (`traffic_saved.rs`).

use std::collections::{BTreeSet, VecDeque};

/// Minutes kept, back from the newest minute counted into.
pub const MINUTES_KEPT: usize = 24 * 60;

/// The minutes kept, oldest first, each a `T` (its counts).
pub struct Minutes<T> {
    /// Minute number (event time / 60 s) of `minutes[0]`.
    first_minute: i64,
    minutes: VecDeque<T>,
    /// Minutes counted into since they were last taken to be saved.
    changed: BTreeSet<i64>,
}

impl<T> Default for Minutes<T> {
    fn default() -> Self {
        Minutes { first_minute: 0, minutes: VecDeque::new(), changed: BTreeSet::new() }
    }
}

impl<T: Default> Minutes<T> {
    /// The minute's counts, made room for and noted as changed (to be saved); none when it is
    /// older than the minutes kept.
    pub fn get_mut_noting(&mut self, minute: i64) -> Option<&mut T> {
        // Events come nearly in order: the last minute marked is the usual one.
        if self.changed.last() != Some(&minute) {
            self.changed.insert(minute);
        }
        self.make_room(minute)
    }

    /// The minute's counts, made room for; none when it is older than the minutes kept. Not
    /// noted as changed: for minutes read back from where they were saved.
    pub fn make_room(&mut self, minute: i64) -> Option<&mut T> {
        let kept = MINUTES_KEPT as i64;
        if self.minutes.is_empty() || minute >= self.first_minute + kept + kept {
            // The first event, or one past a gap longer than what is kept: start afresh.
            self.minutes.clear();
            self.first_minute = minute;
        }
        if minute < self.first_minute {
            return None;
        }
        while minute >= self.first_minute + self.minutes.len() as i64 {
            self.minutes.push_back(T::default());
        }
        while self.minutes.len() > MINUTES_KEPT {
            self.minutes.pop_front();
            self.first_minute += 1;
        }
        let index = usize::try_from(minute - self.first_minute).ok()?;
        self.minutes.get_mut(index)
    }

    /// Puts back minutes saved by [`Minutes::save_changed`] (oldest first), each read as `S`
    /// and turned into counts by `from_saved`; returns how many could not be read.
    pub fn restore<S: serde::de::DeserializeOwned>(
        &mut self,
        saved: &[(i64, String)],
        mut from_saved: impl FnMut(S) -> T,
    ) -> usize {
        let mut unreadable = 0;
        for (minute, text) in saved {
            let Ok(s) = serde_json::from_str::<S>(text) else {
                unreadable += 1;
                continue;
            };
            let counts = from_saved(s);
            if let Some(m) = self.make_room(*minute) {
                *m = counts;
            }
        }
        unreadable
    }
}

impl<T> Minutes<T> {
    /// Minute number of the oldest minute kept.
    pub fn first_minute(&self) -> i64 {
        self.first_minute
    }

    /// One past the newest minute kept.
    pub fn end_minute(&self) -> i64 {
        self.first_minute + self.minutes.len() as i64
    }

    /// The minute's counts, when it is kept.
    pub fn get(&self, minute: i64) -> Option<&T> {
        usize::try_from(minute - self.first_minute).ok().and_then(|i| self.minutes.get(i))
    }

    /// The minutes counted into since the last call, kept ones only, as (minute number, JSON
    /// of `to_saved`) to save; and the first minute kept (older saved minutes may go).
    pub fn save_changed<S: serde::Serialize>(
        &mut self,
        to_saved: impl Fn(&T) -> S,
    ) -> (Vec<(i64, String)>, i64) {
        let out = self
            .take_changed()
            .map(|(minute, m)| {
                (minute, serde_json::to_string(&to_saved(m)).expect("numbers and text"))
            })
            .collect();
        (out, self.first_minute())
    }

    /// The minutes noted as changed since the last call, oldest first, kept ones only (those
    /// gone since were counted into for nothing), with their counts.
    pub fn take_changed(&mut self) -> impl Iterator<Item = (i64, &T)> + '_ {
        let changed = std::mem::take(&mut self.changed);
        let this = &*self;
        changed.into_iter().filter_map(move |minute| Some((minute, this.get(minute)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEPT: i64 = MINUTES_KEPT as i64;

    fn count(m: &mut Minutes<u64>, minute: i64) -> bool {
        m.get_mut_noting(minute).map(|n| *n += 1).is_some()
    }

    fn taken(m: &mut Minutes<u64>) -> Vec<(i64, u64)> {
        m.take_changed().map(|(minute, n)| (minute, *n)).collect()
    }

    #[test]
    fn the_first_minute_and_one_past_a_long_gap_start_afresh() {
        let mut m = Minutes::default();
        assert_eq!(m.get(0), None);
        assert!(count(&mut m, 100));
        assert_eq!((m.first_minute(), m.end_minute(), m.get(100)), (100, 101, Some(&1)));
        // Short of twice the minutes kept from the first: the minutes between are kept empty.
        assert!(count(&mut m, 100 + 2 * KEPT - 1));
        assert_eq!((m.first_minute(), m.end_minute()), (100 + KEPT, 100 + 2 * KEPT));
        assert_eq!(m.get(100 + KEPT), Some(&0));
        // Twice the minutes kept past the first: start afresh instead of filling the gap.
        let far = m.first_minute() + 2 * KEPT;
        assert!(count(&mut m, far));
        assert_eq!((m.first_minute(), m.end_minute(), m.get(far)), (far, far + 1, Some(&1)));
        assert_eq!(m.get(far - 1), None);
    }

    #[test]
    fn a_minute_older_than_those_kept_is_refused() {
        let mut m = Minutes::default();
        assert!(count(&mut m, 50));
        assert!(!count(&mut m, 49));
        assert!(m.make_room(49).is_none());
        assert_eq!((m.first_minute(), m.end_minute(), m.get(49)), (50, 51, None));
        assert_eq!(taken(&mut m), [(50, 1)]);
    }

    #[test]
    fn at_most_the_minutes_kept_are_kept() {
        let mut m = Minutes::default();
        assert!(count(&mut m, 0));
        assert!(count(&mut m, KEPT - 1));
        assert_eq!((m.first_minute(), m.end_minute(), m.get(0)), (0, KEPT, Some(&1)));
        assert!(count(&mut m, KEPT));
        assert_eq!((m.first_minute(), m.end_minute()), (1, KEPT + 1));
        assert_eq!((m.get(0), m.get(KEPT), m.get(KEPT + 1)), (None, Some(&1), None));
        assert!(!count(&mut m, 0));
    }

    #[test]
    fn changed_minutes_are_taken_once_in_order_kept_ones_only() {
        let mut m = Minutes::default();
        for minute in [10, 12, 12, 11, 12] {
            assert!(count(&mut m, minute));
        }
        // Made room for, not counted into: not to be saved again.
        *m.make_room(13).unwrap() = 7;
        assert_eq!(taken(&mut m), [(10, 1), (11, 1), (12, 3)]);
        assert!(taken(&mut m).is_empty(), "taken once");
        assert!(count(&mut m, 11));
        assert_eq!(taken(&mut m), [(11, 2)]);
        // A minute gone before it is taken is not taken.
        assert!(count(&mut m, 10));
        assert!(count(&mut m, 10 + KEPT + 1));
        assert_eq!(m.first_minute(), 12);
        assert_eq!(taken(&mut m), [(10 + KEPT + 1, 1)]);
    }
}
