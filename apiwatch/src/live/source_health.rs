//! The health of each source, for the dashboard: events taken per second over the last
//! minute, the newest event's time and how far behind the clock it is, when the source last
//! delivered, and whether it has gone silent (nothing for `SILENT_AFTER_MS`). The processing
//! thread notes each event as it takes it; the API reads.

use apiwatch_core::time::MINUTE_MS;
use serde::Serialize;
use std::sync::{Arc, Mutex};

/// A source that has delivered nothing for this long (or since the service started) is
/// silent.
pub const SILENT_AFTER_MS: i64 = 10 * MINUTE_MS;
/// Seconds the rate is averaged over.
const RATE_WINDOW_S: usize = 60;

struct One {
    name: String,
    kind: &'static str,
    events: u64,
    newest_event_ms: Option<i64>,
    last_delivered_ms: Option<i64>,
    /// Events per second of wall time, a ring indexed by the second modulo its length.
    per_second: [u32; RATE_WINDOW_S],
    /// The newest second counted in `per_second`.
    second: i64,
}

/// Every source's health, in the order of the configuration's sources.
pub struct SourceHealth {
    started_ms: i64,
    sources: Vec<One>,
}

/// `SourceHealth` shared by the processing thread and the API.
pub type SharedHealth = Arc<Mutex<SourceHealth>>;

/// One source's health, as the API shows it.
#[derive(Debug, Serialize, PartialEq)]
pub struct Report {
    pub name: String,
    /// `file`, `syslog`, `http`, `stdin` or `gateway`.
    pub kind: &'static str,
    pub events_total: u64,
    /// Events taken per second, averaged over the last minute.
    pub events_per_second: f64,
    /// Event time of the newest event taken.
    pub newest_event_ms: Option<i64>,
    /// How far the newest event's time is behind the clock (a backlog being read, or a
    /// source that lags); none before the first event.
    pub lag_ms: Option<i64>,
    /// Wall time the source last delivered an event.
    pub last_delivered_ms: Option<i64>,
    /// Nothing delivered for `SILENT_AFTER_MS` (or since the service started).
    pub silent: bool,
}

impl SourceHealth {
    /// `sources`: each source's name and kind, in the order the pipeline numbers them.
    pub fn new(sources: Vec<(String, &'static str)>, started_ms: i64) -> Self {
        let sources = sources
            .into_iter()
            .map(|(name, kind)| One {
                name,
                kind,
                events: 0,
                newest_event_ms: None,
                last_delivered_ms: None,
                per_second: [0; RATE_WINDOW_S],
                second: 0,
            })
            .collect();
        SourceHealth { started_ms, sources }
    }

    /// Notes one event from source `index`, taken at wall time `now_ms`.
    pub fn observe(&mut self, index: usize, event_ms: i64, now_ms: i64) {
        let Some(one) = self.sources.get_mut(index) else { return };
        one.events += 1;
        one.newest_event_ms = Some(one.newest_event_ms.map_or(event_ms, |t| t.max(event_ms)));
        one.last_delivered_ms = Some(now_ms);
        let second = now_ms.div_euclid(1_000);
        if second > one.second {
            if second - one.second >= RATE_WINDOW_S as i64 {
                one.per_second = [0; RATE_WINDOW_S];
            } else {
                for s in one.second + 1..=second {
                    one.per_second[slot(s)] = 0;
                }
            }
            one.second = second;
        }
        // A clock stepped back counts into the newest second.
        let at = slot(one.second);
        one.per_second[at] = one.per_second[at].saturating_add(1);
    }

    pub fn report(&self, now_ms: i64) -> Vec<Report> {
        let now_s = now_ms.div_euclid(1_000);
        self.sources
            .iter()
            .map(|one| {
                let oldest =
                    (now_s - RATE_WINDOW_S as i64 + 1).max(one.second - RATE_WINDOW_S as i64 + 1);
                let counted: u64 =
                    (oldest..=one.second).map(|s| u64::from(one.per_second[slot(s)])).sum();
                let heard = one.last_delivered_ms.unwrap_or(self.started_ms);
                Report {
                    name: one.name.clone(),
                    kind: one.kind,
                    events_total: one.events,
                    events_per_second: counted as f64 / RATE_WINDOW_S as f64,
                    newest_event_ms: one.newest_event_ms,
                    lag_ms: one.newest_event_ms.map(|t| (now_ms - t).max(0)),
                    last_delivered_ms: one.last_delivered_ms,
                    silent: now_ms - heard >= SILENT_AFTER_MS,
                }
            })
            .collect()
    }
}

fn slot(second: i64) -> usize {
    second.rem_euclid(RATE_WINDOW_S as i64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_lag_and_silence() {
        let t0 = 1_000_000_000;
        let mut h = SourceHealth::new(vec![("edge".into(), "file"), ("app".into(), "http")], t0);
        for i in 0..120 {
            // Two events a second for a minute, each event time 5 s behind the clock.
            let now = t0 + i * 500;
            h.observe(0, now - 5_000, now);
        }
        let now = t0 + 60_000;
        let r = h.report(now);
        assert_eq!(r[0].events_total, 120);
        assert!((r[0].events_per_second - 2.0).abs() < 0.05, "{}", r[0].events_per_second);
        assert_eq!(r[0].lag_ms, Some(now - (t0 + 119 * 500 - 5_000)));
        assert!(!r[0].silent);
        assert_eq!((r[1].events_total, r[1].lag_ms, r[1].silent), (0, None, false));

        // A minute later the rate is back to nothing; ten minutes on, both are silent.
        let later = h.report(now + 61_000);
        assert_eq!(later[0].events_per_second, 0.0);
        let quiet = h.report(t0 + 59_500 + SILENT_AFTER_MS);
        assert!(quiet[0].silent && quiet[1].silent);
        assert!(!h.report(t0 + 59_500 + SILENT_AFTER_MS - 1)[0].silent);
    }

    #[test]
    fn an_unknown_source_is_ignored() {
        let mut h = SourceHealth::new(vec![("edge".into(), "file")], 0);
        h.observe(3, 0, 0);
        assert_eq!(h.report(0)[0].events_total, 0);
    }
}
