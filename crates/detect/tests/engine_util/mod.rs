//! Helpers shared by the engine and model tests: rules from YAML text, events from ECS JSON,
//! and a run of events through an engine.
#![allow(dead_code)]

use apiwatch_core::ecs::from_ecs_json;
use apiwatch_core::redact::Redactor;
use apiwatch_core::time::{parse_rfc3339_ms, HOUR_MS, MINUTE_MS, SECOND_MS};
use apiwatch_core::{Alert, Event};
use apiwatch_detect::{Engine, EngineStats, Limits, RuleSet};
use serde_json::Value as Json;
use std::sync::Arc;

pub const S: i64 = SECOND_MS;
pub const M: i64 = MINUTE_MS;
pub const H: i64 = HOUR_MS;

/// 2026-03-01T00:00:00Z: the time tests count from.
pub fn t0() -> i64 {
    parse_rfc3339_ms("2026-03-01T00:00:00Z").unwrap()
}

/// Compiles one rule file, panicking with the errors.
pub fn rules(yaml: &str) -> Arc<RuleSet> {
    match RuleSet::from_sources(&[("test.yaml".to_string(), yaml.to_string())]) {
        Ok(s) => Arc::new(s),
        Err(e) => panic!("rules do not load:\n{e}"),
    }
}

/// An event at `t0() + offset_ms` with the given ECS fields.
pub fn ev(offset_ms: i64, fields: Json) -> Event {
    let mut obj = fields.as_object().cloned().unwrap_or_default();
    obj.insert("@timestamp".into(), Json::from(t0() + offset_ms));
    let data = from_ecs_json(&Json::Object(obj)).expect("a valid test event");
    Redactor::new([7; 32]).redact(data)
}

/// Runs events through one engine (all rules), returns the alerts sorted as the binary sorts
/// them, and the stats.
pub fn run_with(set: &Arc<RuleSet>, limits: Limits, events: &[Event]) -> (Vec<Alert>, EngineStats) {
    let mut engine = Engine::new(Arc::clone(set), limits, 0, 1);
    let mut out = Vec::new();
    for e in events {
        engine.process(e, &mut out);
    }
    engine.finish(&mut out);
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    (out, engine.stats())
}

pub fn run(set: &Arc<RuleSet>, events: &[Event]) -> Vec<Alert> {
    run_with(set, Limits::default(), events).0
}

/// The same events through `shards` engines, alerts merged and sorted, as JSON lines.
pub fn run_sharded(set: &Arc<RuleSet>, shards: usize, events: &[Event]) -> Vec<String> {
    let mut all = Vec::new();
    for shard in 0..shards {
        let mut engine = Engine::new(Arc::clone(set), Limits::default(), shard, shards);
        for e in events {
            engine.process(e, &mut all);
        }
        engine.finish(&mut all);
    }
    all.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    all.iter().map(Alert::to_json_line).collect()
}

/// A rule file header with the common keys.
pub fn header(id: &str, kind: &str) -> String {
    format!("id: {id}\ntitle: Test rule {id}\nseverity: high\nowasp: API2:2023\nkind: {kind}\n")
}
