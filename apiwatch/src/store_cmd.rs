//! `check-config`, `verify`: the commands around the live service and its event store.

use crate::cli::{OutputFormat, VerifyArgs};
use crate::exit;
use anyhow::Context;
use std::path::Path;

/// Validates a configuration the way `run` would (sources, storage, rules, enrichment files)
/// without starting anything.
pub fn check_config(file: &Path) -> anyhow::Result<u8> {
    let (cfg, data_dir) = crate::live::check(file)?;
    let rules = crate::live::RulesPlan::new(&cfg).load()?;
    let enrich = crate::replay::enrich_config(&cfg, None, None, None);
    apiwatch_enrich::Enricher::build(&enrich).context("enrichment")?;
    crate::live::store_config(&data_dir, &cfg.live)?;
    let ids: Vec<&str> = rules.rules().iter().map(|r| r.id.as_str()).collect();
    if let Err(errs) = apiwatch_respond::decide::Policy::new(&cfg.live.decisions, &ids) {
        let lines: Vec<String> = errs.iter().map(|e| format!("{}: {e}", file.display())).collect();
        anyhow::bail!("{} problem(s) in the configuration:\n{}", lines.len(), lines.join("\n"));
    }
    if let Some(tls) = &cfg.live.tls {
        crate::live::tls_config(tls)?;
    }
    println!(
        "{}: valid ({} source(s), {} rule(s), data in {})",
        apiwatch_core::escape::for_terminal(&file.display().to_string()),
        cfg.live.sources.len(),
        rules.len(),
        apiwatch_core::escape::for_terminal(&data_dir.display().to_string()),
    );
    Ok(exit::OK)
}

/// Walks the store's chain and signatures; exit status 3 names the first problem.
pub fn verify(args: VerifyArgs) -> anyhow::Result<u8> {
    let report = apiwatch_store::verify(&args.data_dir)
        .map_err(|e| anyhow::anyhow!("cannot verify {}: {e}", args.data_dir.display()))?;
    let esc = |s: String| apiwatch_core::escape::for_terminal(&s).into_owned();
    match args.output {
        OutputFormat::Json => {
            let problem = report.problem.as_ref().map(|p| {
                serde_json::json!({
                    "kind": format!("{:?}", p.kind).to_lowercase(),
                    "path": p.path.display().to_string(),
                    "segment": p.segment_seq,
                    "block": p.block_index,
                    "offset_bytes": p.offset_bytes,
                    "detail": p.detail,
                })
            });
            let tail = report.uncommitted_tail.as_ref().map(|t| {
                serde_json::json!({"path": t.path.display().to_string(), "segment": t.segment_seq, "offset_bytes": t.offset_bytes, "bytes": t.bytes})
            });
            let out = serde_json::json!({
                "ok": report.is_ok(),
                "segments_checked": report.segments_checked,
                "blocks_checked": report.blocks_checked,
                "checkpoints_checked": report.checkpoints_checked,
                "records_committed": report.records_committed,
                "retention_entries": report.retention_entries,
                "first_segment": report.first_segment_seq,
                "last_segment": report.last_segment_seq,
                "uncommitted_tail": tail,
                "problem": problem,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        OutputFormat::Text => {
            println!(
                "{} segment(s), {} block(s), {} checkpoint(s), {} event(s) committed; {} segment(s) deleted by retention",
                report.segments_checked,
                report.blocks_checked,
                report.checkpoints_checked,
                report.records_committed,
                report.retention_entries
            );
            if let Some(t) = &report.uncommitted_tail {
                println!(
                    "note: {} byte(s) after the last checkpoint of segment {} ({}) were never committed",
                    t.bytes,
                    t.segment_seq,
                    esc(t.path.display().to_string())
                );
            }
            match &report.problem {
                None => println!("verified: the chain and every signature hold"),
                Some(p) => println!("TAMPERED: {}", esc(p.to_string())),
            }
        }
    }
    Ok(if report.is_ok() { exit::OK } else { exit::TAMPERED })
}
