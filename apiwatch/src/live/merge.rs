//! Live sources merged by event time before anything is stored or detected, so that a
//! service catching up on two logs' backlogs (or a gateway log and an application log)
//! stores and detects events in time order, as a replay would, and a later replay of the
//! store reproduces the live alerts.
//!
//! Each source keeps a queue; the earliest head event goes first (ties: source, then line).
//! A source with an empty queue holds the others back only while it may still deliver an
//! earlier event: its latest event is older than the candidate, and it delivered within
//! `wait` (within `backlog_wait` when its last batch said more was waiting to be read: a
//! backlog is being read, and the next batch may be slow to decode). Sources are assumed to be in time order each (a log file is); one that is not
//! only makes its own events late, which detection tolerates. Markers (read positions,
//! ingest replies) leave a queue as soon as every event before them in it has.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub enum Entry<E, M> {
    Event { ts_ms: i64, line: u64, event: E },
    Marker(M),
}

struct Lane<E, M> {
    queue: VecDeque<Entry<E, M>>,
    events: usize,
    /// The latest event time this source delivered.
    last_ts_ms: Option<i64>,
    last_arrival: Option<Instant>,
    /// The last batch said the source had more to read.
    more: bool,
}

pub struct Merger<E, M> {
    lanes: Vec<Lane<E, M>>,
    events: usize,
    wait: Duration,
    backlog_wait: Duration,
    /// Events held at most; past it, order gives way to memory.
    events_max: usize,
}

impl<E, M> Merger<E, M> {
    /// Every source is waited for after `start` too (for `backlog_wait` when
    /// `starts_with_backlog` says so: a file about to deliver its first batch): at start-up, one
    /// source's backlog must not run ahead before the others had a chance to deliver theirs.
    pub fn new(
        starts_with_backlog: &[bool],
        wait: Duration,
        backlog_wait: Duration,
        events_max: usize,
        start: Instant,
    ) -> Merger<E, M> {
        assert!(events_max > 0 && backlog_wait >= wait);
        let lanes = starts_with_backlog
            .iter()
            .map(|&more| Lane {
                queue: VecDeque::new(),
                events: 0,
                last_ts_ms: None,
                last_arrival: Some(start),
                more,
            })
            .collect();
        Merger { lanes, events: 0, wait, backlog_wait, events_max }
    }

    fn wait_of(&self, lane: &Lane<E, M>) -> Duration {
        if lane.more {
            self.backlog_wait
        } else {
            self.wait
        }
    }

    /// Adds a batch that arrived from `source` at `now`; `more`: the source had more to read.
    pub fn push(
        &mut self,
        source: usize,
        entries: impl IntoIterator<Item = Entry<E, M>>,
        more: bool,
        now: Instant,
    ) {
        let lane = &mut self.lanes[source];
        lane.last_arrival = Some(now);
        lane.more = more;
        for e in entries {
            if let Entry::Event { ts_ms, .. } = &e {
                lane.last_ts_ms = Some(lane.last_ts_ms.map_or(*ts_ms, |l| l.max(*ts_ms)));
                lane.events += 1;
                self.events += 1;
            }
            lane.queue.push_back(e);
        }
    }

    pub fn events_held(&self) -> usize {
        self.events
    }

    /// The next entry that may go, with its source; `None` when empty or waiting for a
    /// source (see [`Merger::wait_hint`]). With `force`, nothing is waited for.
    pub fn next(&mut self, now: Instant, force: bool) -> Option<(usize, Entry<E, M>)> {
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            if matches!(lane.queue.front(), Some(Entry::Marker(_))) {
                return lane.queue.pop_front().map(|e| (i, e));
            }
        }
        let mut best: Option<(i64, usize, u64)> = None;
        for (i, lane) in self.lanes.iter().enumerate() {
            if let Some(Entry::Event { ts_ms, line, .. }) = lane.queue.front() {
                let k = (*ts_ms, i, *line);
                if best.is_none_or(|b| k < b) {
                    best = Some(k);
                }
            }
        }
        let (ts_ms, i, _) = best?;
        if !force && self.events <= self.events_max && self.blocked(ts_ms, now) {
            return None;
        }
        let lane = &mut self.lanes[i];
        let e = lane.queue.pop_front();
        lane.events -= 1;
        self.events -= 1;
        e.map(|e| (i, e))
    }

    /// Whether an empty source may still deliver an event earlier than `ts_ms`.
    fn blocked(&self, ts_ms: i64, now: Instant) -> bool {
        self.lanes.iter().any(|l| {
            l.queue.is_empty()
                && l.last_arrival
                    .is_some_and(|a| now.saturating_duration_since(a) < self.wait_of(l))
                && l.last_ts_ms.is_none_or(|last| last < ts_ms)
        })
    }

    /// How long until a source being waited for stops being waited for.
    pub fn wait_hint(&self, now: Instant) -> Option<Duration> {
        self.lanes
            .iter()
            .filter(|l| l.queue.is_empty())
            .filter_map(|l| l.last_arrival.map(|a| (a, self.wait_of(l))))
            .map(|(a, wait)| wait.saturating_sub(now.saturating_duration_since(a)))
            .filter(|d| !d.is_zero())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type M = Merger<&'static str, &'static str>;

    fn ev(ts_ms: i64, line: u64, event: &'static str) -> Entry<&'static str, &'static str> {
        Entry::Event { ts_ms, line, event }
    }

    fn drain(m: &mut M, now: Instant, force: bool) -> Vec<&'static str> {
        let mut out = Vec::new();
        while let Some((_, e)) = m.next(now, force) {
            out.push(match e {
                Entry::Event { event, .. } => event,
                Entry::Marker(m) => m,
            });
        }
        out
    }

    #[test]
    fn two_backlogs_come_out_in_time_order_with_markers_after_their_events() {
        let t = Instant::now();
        let mut m =
            M::new(&[false; 2], Duration::from_millis(250), Duration::from_millis(250), 1000, t);
        m.push(0, [ev(10, 1, "a10"), ev(30, 2, "a30"), Entry::Marker("a-read")], false, t);
        m.push(1, [ev(20, 1, "b20"), ev(40, 2, "b40")], false, t);
        // b40 waits: source 0 is empty, delivered just now, and its latest event is older.
        assert_eq!(drain(&mut m, t, false), ["a10", "b20", "a30", "a-read"]);
        m.push(0, [ev(50, 3, "a50")], false, t);
        assert_eq!(drain(&mut m, t, false), ["b40"]);
        assert_eq!(m.wait_hint(t), Some(Duration::from_millis(250)));
        // Once source 1 has been quiet for `wait`, source 0 goes on alone.
        assert_eq!(drain(&mut m, t + Duration::from_millis(300), false), ["a50"]);
    }

    #[test]
    fn a_quiet_source_holds_nothing_back_and_older_events_pass_a_newer_one() {
        let start = Instant::now();
        let t = start + Duration::from_millis(300);
        let mut m = M::new(
            &[false; 3],
            Duration::from_millis(250),
            Duration::from_millis(250),
            1000,
            start,
        );
        // Source 2 has not delivered since start-up, 300 ms ago: not waited for.
        m.push(1, [ev(100, 1, "live")], false, t);
        m.push(0, [ev(5, 1, "old1"), ev(6, 2, "old2")], false, t);
        // Backlog events older than the live source's latest go first; the live event then
        // waits for the backlog's source, which just delivered and may hold more before it.
        assert_eq!(drain(&mut m, t, false), ["old1", "old2"]);
        assert_eq!(drain(&mut m, t + Duration::from_millis(250), false), ["live"]);
    }

    #[test]
    fn a_source_reading_a_backlog_is_waited_for_longer() {
        let t = Instant::now();
        let mut m =
            M::new(&[false; 2], Duration::from_millis(250), Duration::from_secs(10), 1000, t);
        m.push(0, [ev(10, 1, "a10")], true, t);
        m.push(1, [ev(20, 1, "b20"), ev(30, 2, "b30")], false, t);
        assert_eq!(drain(&mut m, t, false), ["a10"]);
        // Source 0 said more was there: a slow next batch is still waited for at 1 s ...
        assert!(m.next(t + Duration::from_secs(1), false).is_none());
        m.push(0, [ev(25, 2, "a25")], false, t + Duration::from_secs(1));
        assert_eq!(drain(&mut m, t + Duration::from_secs(1), false), ["b20", "a25"]);
        // ... and once it has caught up, only for `wait`.
        assert_eq!(drain(&mut m, t + Duration::from_millis(1300), false), ["b30"]);
    }

    #[test]
    fn at_start_up_every_source_is_waited_for() {
        let t = Instant::now();
        let mut m =
            M::new(&[false; 2], Duration::from_millis(250), Duration::from_millis(250), 1000, t);
        m.push(1, [ev(50, 1, "b50")], false, t);
        assert!(m.next(t, false).is_none());
        m.push(0, [ev(10, 1, "a10")], false, t);
        assert_eq!(drain(&mut m, t, false), ["a10"]);
        assert_eq!(drain(&mut m, t + Duration::from_millis(260), false), ["b50"]);
    }

    #[test]
    fn ties_go_by_source_then_line_and_force_or_a_full_buffer_waits_for_nobody() {
        let t = Instant::now();
        let mut m = M::new(&[false; 2], Duration::from_secs(60), Duration::from_secs(60), 2, t);
        m.push(1, [ev(7, 1, "b")], false, t);
        m.push(0, [ev(7, 9, "a")], false, t);
        assert_eq!(drain(&mut m, t, false), ["a", "b"]);
        m.push(0, [ev(8, 10, "x")], false, t);
        m.push(1, [ev(1, 2, "y")], false, t);
        m.push(1, [ev(9, 3, "z")], false, t);
        // Three held, more than two: order by what is held, without waiting.
        assert_eq!(drain(&mut m, t, false), ["y", "x"]);
        assert_eq!(drain(&mut m, t, true), ["z"]);
        assert_eq!(m.events_held(), 0);
    }
}
