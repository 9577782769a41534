//! Runs the `tests:` section of rules: each case's events, redacted like real input, through
//! that rule alone; a `fire` case passes when the rule raises at least one alert, a `quiet`
//! case when it raises none.

use crate::engine::{Engine, Limits};
use crate::load::substitute_index;
use crate::rule::{RuleSet, TestEvents};
use apiwatch_core::ecs::from_ecs_json;
use apiwatch_core::redact::Redactor;
use apiwatch_core::time::format_rfc3339_ms;
use apiwatch_core::{Alert, EventData};
use std::fmt;
use std::sync::Arc;

/// The outcome of one case.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseResult {
    pub name: String,
    /// `fire` or `quiet`.
    pub expect: &'static str,
    pub passed: bool,
    /// What fired or did not.
    pub detail: String,
}

/// The cases of one rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleTestResult {
    pub rule: String,
    pub file: String,
    pub cases: Vec<CaseResult>,
}

/// Every rule's cases.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleTestReport {
    pub rules: Vec<RuleTestResult>,
}

impl RuleTestReport {
    pub fn passed(&self) -> usize {
        self.cases().filter(|c| c.passed).count()
    }

    pub fn failed(&self) -> usize {
        self.cases().filter(|c| !c.passed).count()
    }

    /// True when no case failed.
    pub fn all_passed(&self) -> bool {
        self.failed() == 0
    }

    /// Rules without any case.
    pub fn untested(&self) -> Vec<&str> {
        self.rules.iter().filter(|r| r.cases.is_empty()).map(|r| r.rule.as_str()).collect()
    }

    fn cases(&self) -> impl Iterator<Item = &CaseResult> {
        self.rules.iter().flat_map(|r| r.cases.iter())
    }

    /// The report as JSON (`-o json`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "passed": self.passed(),
            "failed": self.failed(),
            "rules": self.rules.iter().map(|r| serde_json::json!({
                "rule": r.rule,
                "file": r.file,
                "cases": r.cases.iter().map(|c| serde_json::json!({
                    "name": c.name, "expect": c.expect, "passed": c.passed, "detail": c.detail,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}

impl fmt::Display for RuleTestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use apiwatch_core::escape::for_terminal;
        for r in &self.rules {
            for c in &r.cases {
                let mark = if c.passed { "ok  " } else { "FAIL" };
                writeln!(f, "{mark} {} [{}] {}", r.rule, c.expect, for_terminal(&c.name))?;
                if !c.passed {
                    writeln!(f, "       {}", for_terminal(&c.detail))?;
                }
            }
        }
        let untested = self.untested();
        if !untested.is_empty() {
            writeln!(f, "rules without test cases: {}", untested.join(", "))?;
        }
        writeln!(f, "rule cases: {} passed, {} failed", self.passed(), self.failed())
    }
}

/// Runs every rule's test cases.
pub fn run_rule_tests(set: &RuleSet, redactor: &Redactor) -> RuleTestReport {
    let shared = Arc::new(set.clone());
    let mut report = RuleTestReport::default();
    for (index, rule) in set.inner.rules.iter().enumerate() {
        let mut cases = Vec::new();
        for case in &rule.tests {
            let expect = if case.fire { "fire" } else { "quiet" };
            let (passed, detail) = match expand(&case.events) {
                Err(e) => (false, e),
                Ok(events) => {
                    let mut engine =
                        Engine::with_rules(Arc::clone(&shared), &Limits::default(), &[index]);
                    let mut alerts = Vec::new();
                    for data in events {
                        engine.process(&redactor.redact(data), &mut alerts);
                    }
                    engine.finish(&mut alerts);
                    let stats = engine.stats();
                    let matched = stats.rules.first().map_or(0, |r| r.events_matched);
                    judge(case.fire, &alerts, stats.events, matched)
                }
            };
            cases.push(CaseResult { name: case.name.clone(), expect, passed, detail });
        }
        report.rules.push(RuleTestResult {
            rule: rule.info.id.clone(),
            file: rule.info.file.clone(),
            cases,
        });
    }
    report
}

fn judge(fire: bool, alerts: &[Alert], events: u64, matched: u64) -> (bool, String) {
    let first = alerts.iter().min_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let what = first.map(|a| {
        format!(
            "{} alert(s), the first detected at {}: {}",
            alerts.len(),
            format_rfc3339_ms(a.detected_at_ms),
            a.summary
        )
    });
    match (fire, what) {
        (true, Some(w)) => (true, format!("fired: {w}")),
        (true, None) => (
            false,
            format!("did not fire: {events} events fed, {matched} passed the allow-lists, `where` and group_by"),
        ),
        (false, None) => (true, format!("quiet: {events} events fed, {matched} matched")),
        (false, Some(w)) => (false, format!("fired: {w}")),
    }
}

/// The events of a case, with `repeat` expanded.
fn expand(items: &[TestEvents]) -> Result<Vec<EventData>, String> {
    let mut out = Vec::new();
    for item in items {
        match item {
            TestEvents::One(ev) => out.push((**ev).clone()),
            TestEvents::Repeat { count, every_ms, event, has_index } => {
                let fixed = if *has_index {
                    None
                } else {
                    Some(from_ecs_json(event).map_err(|e| format!("event: {e}"))?)
                };
                for i in 0..u64::from(*count) {
                    let mut ev = match &fixed {
                        Some(ev) => ev.clone(),
                        None => from_ecs_json(&substitute_index(event, i))
                            .map_err(|e| format!("copy {i} of a repeated event: {e}"))?,
                    };
                    ev.timestamp_ms += i as i64 * every_ms;
                    out.push(ev);
                }
            }
        }
    }
    Ok(out)
}
