//! The health of each source, for the dashboard: events taken per second over the last
//! minute, the newest event's time and how far behind the clock it is, when the source last
//! delivered, and whether it has gone silent (nothing for its `silent_after`). The processing
//! thread notes each event as it takes it, and asks on a timer which sources fell silent
//! (`newly_silent`: each silence is alerted on once); the API reads.

use serde::Serialize;
use std::sync::{Arc, Mutex};

/// A source that has delivered nothing for this long (or since the service started) is
/// silent, unless its configuration says otherwise (`silent_after`).
pub const SILENT_AFTER_MS_DEFAULT: i64 = crate::config::live::SILENT_AFTER_MS_DEFAULT;
/// The rule id of the alert raised when a source falls silent.
pub const SILENT_RULE: &str = "source-silent";
/// Seconds the rate is averaged over.
const RATE_WINDOW_S: usize = 60;

struct One {
    name: String,
    kind: &'static str,
    /// None: silence is not watched.
    silent_after_ms: Option<i64>,
    /// This silence was alerted on; cleared when the source delivers again.
    silence_alerted: bool,
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
    /// Nothing delivered for `silent_after_ms` (or since the service started); never when
    /// silence is not watched.
    pub silent: bool,
    /// This source's threshold; none when silence is not watched (`silent_after: off`).
    pub silent_after_ms: Option<i64>,
}

/// A source that has just fallen silent.
#[derive(Debug, PartialEq)]
pub struct Silence {
    pub name: String,
    pub kind: &'static str,
    pub last_delivered_ms: i64,
    pub silent_after_ms: i64,
}

impl SourceHealth {
    /// `sources`: each source's name, kind and silence threshold, in the order the pipeline
    /// numbers them.
    pub fn new(sources: Vec<(String, &'static str, Option<i64>)>, started_ms: i64) -> Self {
        let sources = sources
            .into_iter()
            .map(|(name, kind, silent_after_ms)| One {
                name,
                kind,
                silent_after_ms,
                silence_alerted: false,
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
        one.silence_alerted = false;
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
                    silent: one.silent_after_ms.is_some_and(|after| now_ms - heard >= after),
                    silent_after_ms: one.silent_after_ms,
                }
            })
            .collect()
    }
}

impl SourceHealth {
    /// The sources that delivered before and have now delivered nothing for their
    /// threshold, not yet alerted on; each is marked alerted until it delivers again. A
    /// source that never delivered is not alerted on: it may simply have nothing to say yet.
    pub fn newly_silent(&mut self, now_ms: i64) -> Vec<Silence> {
        let mut out = Vec::new();
        for one in &mut self.sources {
            let (Some(after), Some(last)) = (one.silent_after_ms, one.last_delivered_ms) else {
                continue;
            };
            if !one.silence_alerted && now_ms - last >= after {
                one.silence_alerted = true;
                out.push(Silence {
                    name: one.name.clone(),
                    kind: one.kind,
                    last_delivered_ms: last,
                    silent_after_ms: after,
                });
            }
        }
        out
    }
}

/// The alert raised for a silent source. Its times are wall time: silence is a fact of the
/// clock, not of any event. Its actor is the source (`observer.name`, which names no actor to
/// block or correlate on), so the alert's id differs per source and per silence.
pub fn silence_alert(s: &Silence, now_ms: i64) -> apiwatch_core::Alert {
    use apiwatch_core::time::format_duration_ms;
    let actor = vec![("observer.name".to_string(), s.name.clone())];
    apiwatch_core::Alert {
        id: apiwatch_core::Alert::make_id(SILENT_RULE, &actor, now_ms),
        rule: SILENT_RULE.to_string(),
        title: format!("Source {} went silent", s.name),
        severity: apiwatch_core::Severity::Medium,
        // Security logging and monitoring failures (OWASP Top 10 2021, A09): the API list
        // has no category for a monitor losing its input.
        owasp: "A09:2021".to_string(),
        attack: None,
        first_seen_ms: s.last_delivered_ms,
        last_seen_ms: now_ms,
        detected_at_ms: now_ms,
        actor,
        count: 1,
        summary: format!(
            "The {} source {} delivered nothing for {} (silent_after: {})",
            s.kind,
            s.name,
            format_duration_ms(now_ms - s.last_delivered_ms),
            format_duration_ms(s.silent_after_ms)
        ),
        evidence: Vec::new(),
        response: None,
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
        let ten = Some(SILENT_AFTER_MS_DEFAULT);
        let sources = vec![("edge".into(), "file", ten), ("app".into(), "http", ten)];
        let mut h = SourceHealth::new(sources, t0);
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
        let quiet = h.report(t0 + 59_500 + SILENT_AFTER_MS_DEFAULT);
        assert!(quiet[0].silent && quiet[1].silent);
        assert_eq!(quiet[0].silent_after_ms, ten);
        assert!(!h.report(t0 + 59_500 + SILENT_AFTER_MS_DEFAULT - 1)[0].silent);
    }

    #[test]
    fn an_unknown_source_is_ignored() {
        let mut h = SourceHealth::new(vec![("edge".into(), "file", None)], 0);
        h.observe(3, 0, 0);
        assert_eq!(h.report(0)[0].events_total, 0);
    }
}

#[cfg(test)]
mod silence_tests {
    use super::*;

    #[test]
    fn a_silence_is_alerted_once_and_again_only_after_the_source_delivered() {
        let t0 = 1_000_000;
        let sources = vec![
            ("edge".into(), "file", Some(2_000)),
            ("quiet".into(), "syslog", Some(2_000)),
            ("off".into(), "http", None),
        ];
        let mut h = SourceHealth::new(sources, t0);
        h.observe(0, t0, t0);
        h.observe(2, t0, t0);
        assert!(h.newly_silent(t0 + 1_999).is_empty());
        // "quiet" never delivered and "off" is not watched: only "edge".
        let s = h.newly_silent(t0 + 2_000);
        assert_eq!(
            s,
            [Silence {
                name: "edge".into(),
                kind: "file",
                last_delivered_ms: t0,
                silent_after_ms: 2_000
            }]
        );
        assert!(h.newly_silent(t0 + 60_000).is_empty(), "one alert per silence");
        assert!(h.report(t0 + 60_000)[0].silent);
        assert!(!h.report(t0 + 60_000)[2].silent);
        h.observe(0, t0 + 61_000, t0 + 61_000);
        assert!(h.newly_silent(t0 + 62_000).is_empty());
        assert_eq!(h.newly_silent(t0 + 63_000).len(), 1, "silent again");

        let a = silence_alert(&s[0], t0 + 2_000);
        assert_eq!((a.rule.as_str(), a.severity), (SILENT_RULE, apiwatch_core::Severity::Medium));
        assert_eq!(a.title, "Source edge went silent");
        assert_eq!(a.actor, [("observer.name".to_string(), "edge".to_string())]);
        assert_ne!(a.id, silence_alert(&s[0], t0 + 9_000).id);
    }
}
