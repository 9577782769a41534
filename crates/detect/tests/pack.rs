//! The built-in rule pack: every file is listed, loads without errors, every rule ships cases
//! that must fire and cases that must stay quiet, and all of those cases pass.

use apiwatch_core::redact::Redactor;
use apiwatch_detect::pack::builtin_sources;
use apiwatch_detect::{run_rule_tests, RuleSet};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every `*.yaml` / `*.yml` file under `dir`, as paths relative to the crate (`rules/…`).
fn yaml_files(crate_dir: &Path, dir: &Path, out: &mut BTreeSet<String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path: PathBuf = entry.expect("a readable directory entry").path();
        if path.is_dir() {
            yaml_files(crate_dir, &path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let rel = path.strip_prefix(crate_dir).expect("under the crate");
            out.insert(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

fn owned_sources() -> Vec<(String, String)> {
    builtin_sources().into_iter().map(|(n, t)| (n.to_string(), t.to_string())).collect()
}

fn load_pack() -> RuleSet {
    match RuleSet::from_sources(&owned_sources()) {
        Ok(set) => set,
        Err(e) => panic!("the built-in pack did not load:\n{e}"),
    }
}

#[test]
fn every_rule_file_is_listed_in_the_pack() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut on_disk = BTreeSet::new();
    yaml_files(crate_dir, &crate_dir.join("rules"), &mut on_disk);
    let listed: BTreeSet<String> = builtin_sources().iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(listed.len(), builtin_sources().len(), "a file is listed twice in pack.rs");
    let missing: Vec<_> = on_disk.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&on_disk).collect();
    assert!(missing.is_empty(), "rule files not listed in src/pack.rs: {missing:?}");
    assert!(stale.is_empty(), "src/pack.rs lists files that do not exist: {stale:?}");
}

#[test]
fn pack_loads_without_errors() {
    let set = load_pack();
    assert!(set.len() >= 30, "only {} rules loaded", set.len());
    let ids: BTreeSet<&str> = set.rules().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), set.len(), "duplicate rule ids");
    assert_eq!(RuleSet::builtin().len(), set.len(), "RuleSet::builtin() is not the pack");
}

#[test]
fn every_rule_has_fire_and_quiet_cases() {
    let set = load_pack();
    let problems: Vec<String> = set
        .rules()
        .iter()
        .filter(|r| r.fire_cases == 0 || r.quiet_cases == 0)
        .map(|r| format!("{}: {} fire and {} quiet cases", r.id, r.fire_cases, r.quiet_cases))
        .collect();
    assert!(problems.is_empty(), "every rule needs both kinds of case:\n{}", problems.join("\n"));
}

#[test]
fn every_rule_case_passes() {
    let set = load_pack();
    let report = run_rule_tests(&set, &Redactor::new([7; 32]));
    let failures: Vec<String> = report
        .rules
        .iter()
        .flat_map(|r| r.cases.iter().filter(|c| !c.passed).map(move |c| (r, c)))
        .map(|(r, c)| {
            format!("{} ({}) [{}] {}\n    {}", r.rule, r.file, c.expect, c.name, c.detail)
        })
        .collect();
    assert!(
        failures.is_empty() && report.all_passed(),
        "{} rule case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
