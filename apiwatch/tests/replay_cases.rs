//! Alert-diff cases: each folder under `tests/cases/` is replayed through the built-in pack by
//! the real binary and its alerts are compared byte for byte with the folder's
//! `expected-alerts.jsonl`.
//!
//! A case folder holds:
//! - `input*`: the input files, replayed together in name order (gzip and zstd are read
//!   directly; the format is detected);
//! - `args` (optional): extra `apiwatch replay` arguments, one per line (blank lines and lines
//!   starting with `#` are skipped). `{root}` stands for the workspace, `{case}` for the case
//!   folder and `{geoip}` for the GeoLite2-City database named by `APIWATCH_GEOLITE2_CITY`; a
//!   case that needs `{geoip}` is skipped (and says so) when that is not set;
//! - `pseudonym.key`: the 32-byte key pseudonyms are derived from, so that they are stable;
//! - `expected-alerts.jsonl`: the alerts, as `--alerts-out` writes them;
//! - anything else (`README.md`: what the case holds and why its alerts are right; the run's
//!   ground truth) is not read.
//!
//! `UPDATE_EXPECT=1 cargo test -p apiwatch --test replay_cases` rewrites the expected alerts;
//! review the diff before committing it.

mod common;

use common::{apiwatch, scratch, OutputText};
use std::path::{Path, PathBuf};

/// Committed inputs stay small.
const INPUT_BYTES_MAX: u64 = 1024 * 1024;
const EXPECTED: &str = "expected-alerts.jsonl";
const KEY: &str = "pseudonym.key";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_path_buf()
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("cases")
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    v.sort();
    v
}

fn cases() -> Vec<PathBuf> {
    sorted_entries(&cases_dir()).into_iter().filter(|p| p.is_dir()).collect()
}

fn name_of(p: &Path) -> String {
    p.file_name().expect("a file name").to_string_lossy().into_owned()
}

fn inputs(case: &Path) -> Vec<PathBuf> {
    sorted_entries(case)
        .into_iter()
        .filter(|p| p.is_file() && name_of(p).starts_with("input"))
        .collect()
}

/// The case's extra arguments with placeholders filled in; `Err` names what is missing.
fn args(case: &Path, geoip: Option<&str>) -> Result<Vec<String>, String> {
    let Ok(text) = std::fs::read_to_string(case.join("args")) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if line.contains("{geoip}") && geoip.is_none() {
            return Err("APIWATCH_GEOLITE2_CITY is not set".into());
        }
        out.push(
            line.replace("{root}", workspace().to_str().unwrap())
                .replace("{case}", case.to_str().unwrap())
                .replace("{geoip}", geoip.unwrap_or("")),
        );
    }
    Ok(out)
}

/// One line per alert that differs: rule, actor, detection time and count.
fn brief(line: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(v) => format!(
            "{} {} detected {} count {}",
            v["rule"].as_str().unwrap_or("?"),
            v["actor"],
            v["detected_at"].as_str().unwrap_or("?"),
            v["count"]
        ),
        Err(_) => format!("(not JSON) {}", line.chars().take(120).collect::<String>()),
    }
}

fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let mut out = format!("{} alert(s) expected, {} produced", e.len(), a.len());
    let gone: Vec<&&str> = e.iter().filter(|l| !a.contains(l)).collect();
    let new: Vec<&&str> = a.iter().filter(|l| !e.contains(l)).collect();
    for l in gone.iter().take(10) {
        out.push_str(&format!("\n    - {}", brief(l)));
    }
    for l in new.iter().take(10) {
        out.push_str(&format!("\n    + {}", brief(l)));
    }
    if gone.is_empty() && new.is_empty() {
        out.push_str("\n    (the same alerts in another order, or other line endings)");
    }
    out
}

#[test]
fn every_case_is_complete_and_small() {
    let all = cases();
    assert!(!all.is_empty(), "no cases under {}", cases_dir().display());
    for case in &all {
        let name = name_of(case);
        let ins = inputs(case);
        let external = std::fs::read_to_string(case.join("args")).unwrap_or_default();
        assert!(
            !ins.is_empty() || external.contains("{root}"),
            "{name}: no input* file and no input named in args"
        );
        for p in &ins {
            let len = std::fs::metadata(p).unwrap().len();
            assert!(len <= INPUT_BYTES_MAX, "{name}: {} is {len} bytes (compress it)", name_of(p));
        }
        let key = std::fs::metadata(case.join(KEY)).map(|m| m.len());
        assert_eq!(key.ok(), Some(32), "{name}: {KEY} must hold 32 bytes");
        assert!(case.join(EXPECTED).is_file(), "{name}: no {EXPECTED}");
    }
}

#[test]
fn replayed_alerts_match_the_expected_ones() {
    let update = std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1");
    let geoip = std::env::var("APIWATCH_GEOLITE2_CITY").ok().filter(|p| !p.is_empty());
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in cases() {
        let name = name_of(&case);
        let extra = match args(&case, geoip.as_deref()) {
            Ok(a) => a,
            Err(why) => {
                eprintln!("case {name}: skipped ({why}; scripts/test sets it)");
                continue;
            }
        };
        let dir = scratch(&format!("case-{name}"));
        let alerts = dir.join("alerts.jsonl");
        let mut argv: Vec<String> = vec!["replay".into()];
        argv.extend(inputs(&case).iter().map(|p| p.to_str().unwrap().to_string()));
        argv.extend(extra);
        for a in [
            "--key-file",
            case.join(KEY).to_str().unwrap(),
            "--alerts-out",
            alerts.to_str().unwrap(),
            "--no-progress",
        ] {
            argv.push(a.to_string());
        }
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = apiwatch(&dir, &argv);
        ran += 1;
        if out.status.code() != Some(0) {
            failures.push(format!(
                "{name}: replay exited with {:?}\n{}",
                out.status.code(),
                out.stderr_text()
            ));
            continue;
        }
        let actual = std::fs::read_to_string(&alerts).unwrap_or_default();
        let expected_path = case.join(EXPECTED);
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if actual == expected {
            continue;
        }
        if update {
            std::fs::write(&expected_path, &actual).unwrap();
            eprintln!("case {name}: {} rewritten", expected_path.display());
        } else {
            failures.push(format!("{name}: {}", diff(&expected, &actual)));
        }
    }
    assert!(ran > 0, "no case ran");
    assert!(
        failures.is_empty(),
        "{} case(s) differ (UPDATE_EXPECT=1 cargo test -p apiwatch --test replay_cases \
         rewrites them; review the diff):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
