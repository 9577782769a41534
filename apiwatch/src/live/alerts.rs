//! Where alerts go as they are raised: a JSON Lines file (flushed per alert, so a reader
//! tailing it sees each alert at once), the log, the metrics, and the response thread
//! (state database, correlation, decisions, notifications).

use super::metrics::{AlertLabel, Metrics, RuleLabel};
use apiwatch_core::Alert;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

pub struct AlertSink {
    file: Option<std::fs::File>,
    metrics: Arc<Metrics>,
    respond: Option<Responding>,
    /// Alerts handed to the response thread so far.
    sent: u64,
}

/// The response thread's queue, and its count of alerts handled (stored in the state
/// database), which `wait_recorded` compares with what was sent.
pub struct Responding {
    pub queue: crossbeam_channel::Sender<Alert>,
    pub handled: Arc<std::sync::atomic::AtomicU64>,
}

/// How long a store commit waits for the response thread to record the alerts before it.
const RECORD_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl AlertSink {
    pub fn open(
        path: Option<&Path>,
        metrics: Arc<Metrics>,
        respond: Option<Responding>,
    ) -> anyhow::Result<AlertSink> {
        let file =
            match path {
                Some(p) => {
                    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(dir)?;
                    }
                    Some(std::fs::OpenOptions::new().create(true).append(true).open(p).map_err(
                        |e| anyhow::anyhow!("cannot open alerts file {}: {e}", p.display()),
                    )?)
                }
                None => None,
            };
        Ok(AlertSink { file, metrics, respond, sent: 0 })
    }

    /// Writes out and clears `alerts`; `now_ms` is the wall clock, for the detection lag.
    pub fn emit(&mut self, alerts: &mut Vec<Alert>, now_ms: i64) {
        for a in alerts.drain(..) {
            let lag_s = (now_ms - a.last_seen_ms).max(0) as f64 / 1000.0;
            self.metrics.detection_lag.observe(lag_s);
            self.metrics
                .alerts
                .get_or_create(&AlertLabel {
                    rule: a.rule.clone(),
                    severity: a.severity.as_str().to_string(),
                })
                .inc();
            let actor: Vec<String> = a.actor.iter().map(|(k, v)| format!("{k}={v}")).collect();
            // Alert text comes from redacted events; escaping keeps control characters from
            // forging log lines.
            tracing::warn!(
                rule = %a.rule,
                severity = a.severity.as_str(),
                actor = %apiwatch_core::escape::for_terminal(&actor.join(" ")),
                count = a.count,
                summary = %apiwatch_core::escape::for_terminal(&a.summary),
                "alert"
            );
            if let Some(f) = &mut self.file {
                if let Err(e) = writeln!(f, "{}", a.to_json_line()) {
                    tracing::error!(error = %e, "cannot write an alert to the alerts file");
                }
            }
            // Blocks when the response thread is behind: alerts are never dropped.
            if let Some(r) = &self.respond {
                if r.queue.send(a).is_err() {
                    tracing::error!("the response thread is gone; alerts reach the file only");
                    self.respond = None;
                } else {
                    self.sent += 1;
                }
            }
        }
    }

    /// Waits until the response thread has recorded every alert sent so far, so that a store
    /// commit (after which the events before it are never read again) never leaves their
    /// alerts only in memory. Bounded: a stuck response thread is logged, not waited for.
    pub fn wait_recorded(&self) {
        let Some(r) = &self.respond else { return };
        let deadline = std::time::Instant::now() + RECORD_WAIT;
        while r.handled.load(std::sync::atomic::Ordering::Acquire) < self.sent {
            if std::time::Instant::now() > deadline {
                tracing::warn!("the response thread is behind; committing without waiting");
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Counts what each rule matched, from the engine's counters (deltas since the last call).
    pub fn note_rule_stats(&self, stats: &apiwatch_detect::EngineStats, last: &mut Vec<u64>) {
        last.resize(stats.rules.len(), 0);
        for (r, prev) in stats.rules.iter().zip(last.iter_mut()) {
            let delta = r.events_matched.saturating_sub(*prev);
            if delta > 0 {
                self.metrics
                    .rule_events
                    .get_or_create(&RuleLabel { rule: r.rule.clone() })
                    .inc_by(delta);
            }
            *prev = r.events_matched;
        }
    }
}
