//! The end-of-run summary (text for people, JSON with `-o json`) and the progress bar.
//!
//! Every value that came from an event is attacker-controlled: the text form escapes it with
//! `for_terminal`; the JSON form relies on JSON string escaping.

use crate::pipeline::RunOutput;
use apiwatch_core::escape::for_terminal;
use apiwatch_core::time::format_rfc3339_ms;
use apiwatch_core::{Alert, Severity};
use apiwatch_detect::RuleSet;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Actors shown in the summary.
const TOP_ACTORS_MAX: usize = 10;

#[derive(Debug, Serialize)]
pub struct InputSummary {
    pub input: String,
    pub format: String,
    pub compression: String,
    pub lines: u64,
    pub events: u64,
    pub unparsed: u64,
    pub unparsed_examples: Vec<UnparsedLine>,
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct UnparsedLine {
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct RuleCount {
    pub rule: String,
    pub title: String,
    pub severity: String,
    pub alerts: u64,
    pub events: u64,
}

#[derive(Debug, Serialize)]
pub struct ActorSummary {
    pub actor: BTreeMap<String, String>,
    pub alerts: u64,
    pub max_severity: String,
    pub rules: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub events: u64,
    pub elapsed_ms: u64,
    pub events_per_s: u64,
    pub peak_memory_bytes: Option<u64>,
    pub inputs: Vec<InputSummary>,
    pub alerts: u64,
    pub alerts_by_severity: BTreeMap<String, u64>,
    pub alerts_by_rule: Vec<RuleCount>,
    pub top_actors: Vec<ActorSummary>,
    pub evicted_keys: u64,
}

/// Peak resident memory of this process (VmHWM), on Linux.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

impl Summary {
    pub fn build(out: &RunOutput, rules: &RuleSet, elapsed: Duration) -> Summary {
        let inputs = out
            .inputs
            .iter()
            .map(|i| InputSummary {
                input: i.display.clone(),
                format: i.format.clone(),
                compression: i.compression.to_string(),
                lines: i.lines,
                events: i.events,
                unparsed: i.unparsed,
                unparsed_examples: i
                    .unparsed_examples
                    .iter()
                    .map(|(line, reason)| UnparsedLine { line: *line, reason: reason.clone() })
                    .collect(),
                first_event: i.first_event_ms.map(format_rfc3339_ms),
                last_event: i.last_event_ms.map(format_rfc3339_ms),
                error: i.read_error.clone(),
            })
            .collect();
        let mut by_sev: BTreeMap<String, u64> = BTreeMap::new();
        for s in Severity::ALL {
            by_sev.insert(s.as_str().to_string(), 0);
        }
        let mut by_rule: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for a in &out.alerts {
            *by_sev.entry(a.severity.as_str().to_string()).or_default() += 1;
            let e = by_rule.entry(&a.rule).or_default();
            e.0 += 1;
            e.1 += a.count;
        }
        let info: BTreeMap<&str, _> = rules.rules().iter().map(|r| (r.id.as_str(), r)).collect();
        let mut alerts_by_rule: Vec<RuleCount> = by_rule
            .into_iter()
            .map(|(rule, (alerts, events))| RuleCount {
                rule: rule.to_string(),
                title: info.get(rule).map(|r| r.title.clone()).unwrap_or_default(),
                severity: info
                    .get(rule)
                    .map(|r| r.severity.as_str().to_string())
                    .unwrap_or_default(),
                alerts,
                events,
            })
            .collect();
        alerts_by_rule.sort_by(|a, b| b.alerts.cmp(&a.alerts).then_with(|| a.rule.cmp(&b.rule)));
        let elapsed_ms = elapsed.as_millis() as u64;
        Summary {
            events: out.events,
            elapsed_ms,
            events_per_s: (out.events as f64 / elapsed.as_secs_f64().max(1e-6)) as u64,
            peak_memory_bytes: peak_memory_bytes(),
            inputs,
            alerts: out.alerts.len() as u64,
            alerts_by_severity: by_sev,
            alerts_by_rule,
            top_actors: top_actors(&out.alerts),
            evicted_keys: out.engine_stats.iter().map(|s| s.evictions()).sum(),
        }
    }

    pub fn add_failed_input(&mut self, display: &str, why: &str) {
        self.inputs.push(InputSummary {
            input: display.to_string(),
            format: String::new(),
            compression: String::new(),
            lines: 0,
            events: 0,
            unparsed: 0,
            unparsed_examples: Vec::new(),
            first_event: None,
            last_event: None,
            error: Some(why.to_string()),
        });
    }

    pub fn write_text(&self, w: &mut impl Write) -> io::Result<()> {
        let secs = self.elapsed_ms as f64 / 1000.0;
        writeln!(
            w,
            "Replayed {} events in {secs:.2} s ({} events/s).",
            self.events, self.events_per_s
        )?;
        if let Some(m) = self.peak_memory_bytes {
            writeln!(w, "Peak memory: {:.1} MiB.", m as f64 / (1024.0 * 1024.0))?;
        }
        writeln!(w, "\nInputs:")?;
        for i in &self.inputs {
            let t = |s: &str| for_terminal(s).into_owned();
            write!(
                w,
                "  {}  format={} events={} unparsed={}",
                t(&i.input),
                t(&i.format),
                i.events,
                i.unparsed
            )?;
            if let (Some(a), Some(b)) = (&i.first_event, &i.last_event) {
                write!(w, "  {a} .. {b}")?;
            }
            writeln!(w)?;
            for u in &i.unparsed_examples {
                writeln!(w, "      line {}: {}", u.line, t(&u.reason))?;
            }
            if let Some(e) = &i.error {
                writeln!(w, "      error: {}", t(e))?;
            }
        }
        let sev = |s: &str| self.alerts_by_severity.get(s).copied().unwrap_or(0);
        writeln!(
            w,
            "\nAlerts: {} (critical {}, high {}, medium {}, low {})",
            self.alerts,
            sev("critical"),
            sev("high"),
            sev("medium"),
            sev("low")
        )?;
        for r in &self.alerts_by_rule {
            writeln!(
                w,
                "  {:>5}  {:<8}  {}  {}",
                r.alerts,
                r.severity,
                r.rule,
                for_terminal(&r.title)
            )?;
        }
        if !self.top_actors.is_empty() {
            writeln!(w, "\nTop actors:")?;
            for a in &self.top_actors {
                let actor: Vec<String> =
                    a.actor.iter().map(|(k, v)| format!("{k}={}", for_terminal(v))).collect();
                writeln!(
                    w,
                    "  {:>5} alerts  max {:<8}  {}  [{}]",
                    a.alerts,
                    a.max_severity,
                    actor.join(" "),
                    a.rules.join(", ")
                )?;
            }
        }
        if self.evicted_keys > 0 {
            writeln!(w, "\nTracked keys evicted at the per-rule cap: {}", self.evicted_keys)?;
        }
        Ok(())
    }
}

/// Actors ranked by alerts, then by the worst severity. An actor is one (field, value) pair
/// of an alert's group-by values, so that `source.ip=…` seen by several rules adds up.
fn top_actors(alerts: &[Alert]) -> Vec<ActorSummary> {
    let mut by_actor: BTreeMap<(String, String), (u64, Severity, Vec<String>)> = BTreeMap::new();
    for a in alerts {
        for (k, v) in &a.actor {
            let e =
                by_actor.entry((k.clone(), v.clone())).or_insert((0, Severity::Low, Vec::new()));
            e.0 += 1;
            e.1 = e.1.max(a.severity);
            if !e.2.contains(&a.rule) {
                e.2.push(a.rule.clone());
            }
        }
    }
    let mut v: Vec<_> = by_actor.into_iter().collect();
    v.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(b.1 .1.cmp(&a.1 .1)).then(a.0.cmp(&b.0)));
    v.into_iter()
        .take(TOP_ACTORS_MAX)
        .map(|((k, val), (n, sev, mut rules))| {
            rules.sort();
            ActorSummary {
                actor: BTreeMap::from([(k, val)]),
                alerts: n,
                max_severity: sev.as_str().to_string(),
                rules,
            }
        })
        .collect()
}

/// Draws the progress bar on stderr until `finished`: bytes read, events/s and, when the
/// total size is known, the ETA.
pub fn progress_loop(
    total_bytes: Option<u64>,
    counters: Vec<Arc<AtomicU64>>,
    events_done: Arc<AtomicU64>,
    finished: Arc<AtomicBool>,
) {
    use indicatif::{ProgressBar, ProgressStyle};
    let bar = match total_bytes {
        Some(t) => ProgressBar::new(t).with_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} ETA {eta}",
            )
            .expect("template is valid"),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bytes} {msg}")
                .expect("template is valid"),
        ),
    };
    let start = Instant::now();
    while !finished.load(Ordering::Relaxed) {
        let read: u64 = counters.iter().map(|c| c.load(Ordering::Relaxed)).sum();
        let events = events_done.load(Ordering::Relaxed);
        let rate = events as f64 / start.elapsed().as_secs_f64().max(1e-3);
        bar.set_position(read);
        bar.set_message(format!("{events} events, {rate:.0} events/s"));
        std::thread::sleep(crate::replay::PROGRESS_TICK);
    }
    bar.finish_and_clear();
}
