//! Retro-hunting: `apiwatch replay --store DATA_DIR --since … --until …` runs the rules of
//! this replay (new or changed ones) over stored events, in the order they were stored —
//! the order the live service saw them — so the alerts are those the rules would have raised
//! had they been running then.

use crate::cli::ReplayArgs;
use crate::pipeline::{InputReport, RunOutput};
use crate::replay::{print_summary, write_alerts, ReplayPlan};
use crate::summary::Summary;
use crate::{exit, key};
use apiwatch_core::redact::Redactor;
use apiwatch_detect::Engine;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub fn run(
    args: &ReplayArgs,
    plan: ReplayPlan,
    dir: &Path,
    started: Instant,
) -> anyhow::Result<u8> {
    let (from_ms, to_ms) = crate::search_cmd::time_range(
        args.since.as_deref(),
        args.until.as_deref(),
        crate::live::now_ms(),
        ("--since", "--until"),
    )?;
    let encryption = match &args.config {
        Some(c) => {
            crate::live::encryption_key(crate::config::load(c)?.live.storage.encryption.as_ref())?
        }
        None => None,
    };
    // Stored events were redacted when stored; redacting again leaves pseudonyms as they
    // are, and is what makes an `Event` (the type detection takes) out of stored data.
    let redactor = Redactor::new(key::load_or_create(&plan.key_file)?);
    let rules = Arc::new(plan.rules);
    let mut engine = Engine::new(Arc::clone(&rules), plan.limits.clone(), 0, 1);
    let mut reader = apiwatch_store::Reader::open(dir, encryption)
        .map_err(|e| anyhow::anyhow!("event store in {}: {e}", dir.display()))?;
    let mut alerts = Vec::new();
    let mut report = InputReport {
        display: format!("store:{}", dir.display()),
        format: "ecs".to_string(),
        compression: "zstd",
        ..Default::default()
    };
    let mut failed: Option<anyhow::Error> = None;
    reader
        .scan(from_ms, to_ms, None, |_, record| {
            report.lines += 1;
            match crate::search_cmd::read_stored(record) {
                Ok(mut d) => {
                    d.origin = apiwatch_core::Origin { input: 0, line: report.lines };
                    let ev = redactor.redact(d);
                    report.events += 1;
                    let ts = ev.timestamp_ms;
                    report.first_event_ms = Some(report.first_event_ms.map_or(ts, |f| f.min(ts)));
                    report.last_event_ms = Some(report.last_event_ms.map_or(ts, |l| l.max(ts)));
                    engine.process(&ev, &mut alerts);
                    ControlFlow::Continue(())
                }
                Err(e) => {
                    failed =
                        Some(e.context(format!("stored event {} is not readable", report.lines)));
                    ControlFlow::Break(())
                }
            }
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(e) = failed {
        return Err(e);
    }
    engine.finish(&mut alerts);
    alerts.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    if let Some(path) = &args.alerts_out {
        write_alerts(path, &alerts)?;
    }
    let events = report.events;
    let output =
        RunOutput { inputs: vec![report], alerts, engine_stats: vec![engine.stats()], events };
    let summary = Summary::build(&output, &rules, started.elapsed());
    print_summary(&summary, args.output)?;
    Ok(exit::OK)
}
