//! `apiwatch rules list|test`, and loading rule folders for replay.

use crate::cli::{OutputFormat, RulesCommand};
use crate::exit;
use anyhow::Context;
use apiwatch_core::escape::for_terminal;
use apiwatch_core::redact::Redactor;
use apiwatch_detect::RuleSet;
use std::path::{Path, PathBuf};

/// Collects `*.yaml` / `*.yml` files under a folder (recursively, sorted for determinism).
fn rule_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read rule folder {}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            rule_files(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
    Ok(())
}

/// Loads rules from folders (or single files), optionally with the built-in pack; reports
/// every error of every file at once.
pub fn load_rules(dirs: &[PathBuf], with_builtin: bool) -> anyhow::Result<RuleSet> {
    let mut sources: Vec<(String, String)> = Vec::new();
    if with_builtin {
        sources.extend(
            apiwatch_detect::pack::builtin_sources()
                .into_iter()
                .map(|(n, t)| (n.to_string(), t.to_string())),
        );
    }
    for d in dirs {
        let mut files = Vec::new();
        if d.is_file() {
            files.push(d.clone());
        } else {
            rule_files(d, &mut files)?;
        }
        if files.is_empty() {
            anyhow::bail!("no rule files (*.yaml) in {}", d.display());
        }
        for f in files {
            let text = std::fs::read_to_string(&f)
                .with_context(|| format!("cannot read {}", f.display()))?;
            sources.push((f.display().to_string(), text));
        }
    }
    RuleSet::from_sources(&sources).map_err(|e| anyhow::anyhow!("rules did not load:\n{e}"))
}

pub fn run(cmd: RulesCommand) -> anyhow::Result<u8> {
    match cmd {
        RulesCommand::List { dir, output } => {
            let set = load(dir)?;
            match output {
                OutputFormat::Json => {
                    let rows: Vec<serde_json::Value> = set
                        .rules()
                        .iter()
                        .map(|r| {
                            serde_json::json!({"id": r.id, "title": r.title, "severity": r.severity.as_str(),
                                "kind": r.kind, "owasp": r.owasp, "attack": r.attack, "group_by": r.group_by,
                                "file": r.file})
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&rows)?);
                }
                OutputFormat::Text => {
                    for r in set.rules() {
                        println!(
                            "{:<40} {:<9} {:<9} {:<10} {}",
                            r.id,
                            r.kind,
                            r.severity.as_str(),
                            r.owasp,
                            for_terminal(&r.title)
                        );
                    }
                    println!("{} rules", set.len());
                }
            }
            Ok(exit::OK)
        }
        RulesCommand::Test { dir, output } => {
            let set = load(dir)?;
            // Test cases run with a fixed key: they are fixtures, not real secrets.
            let report = apiwatch_detect::run_rule_tests(&set, &Redactor::new([7; 32]));
            match output {
                OutputFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&report.to_json())?)
                }
                OutputFormat::Text => print!("{}", report),
            }
            Ok(if report.all_passed() { exit::OK } else { exit::USAGE })
        }
    }
}

fn load(dir: Option<PathBuf>) -> anyhow::Result<RuleSet> {
    match dir {
        Some(d) => load_rules(&[d], false),
        None => Ok(RuleSet::builtin()),
    }
}
