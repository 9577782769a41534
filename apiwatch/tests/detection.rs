//! End to end: three generated days of a shop's API traffic with every attack scenario in it,
//! replayed through the built-in rule pack by the real binary. Every attack must be caught by
//! an alert naming its actor during the attack, and no alert may name anyone who plays a
//! benign part (the office NAT address, travellers, admins, partners' nightly pulls, crawlers,
//! health checks, ordinary users) outside an attack: a false positive is a bug.
//!
//! The ground truth comes from the generator itself: `truth.jsonl` (each attack, its actor
//! fields and its time span) and `benign.jsonl` (who plays each benign part), written next to
//! the logs by `apiwatch generate`.
//!
//! GeoIP: the path of a GeoLite2-City database comes from `APIWATCH_GEOLITE2_CITY`
//! (`scripts/test` sets it). Without it the replay sees no countries, and the scenarios whose
//! only signal is where they come from are not checked (the false-positive checks still run).
//! `APIWATCH_DETECTION_SEED` replays another seed (default 11).

mod common;

use apiwatch_core::time::parse_rfc3339_ms;
use common::{apiwatch, scratch, OutputText};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Three days: enough history for the baselines (a route's two days of five-minute buckets,
/// a partner's two nights), small enough for a debug build (about 500 000 events).
const HOURS: &str = "72";
const RATE: &str = "1.5";
const USERS: &str = "400";
const DEFAULT_SEED: &str = "11";

/// Scenarios whose only signal is where they come from: without GeoIP they cannot be caught.
const GEO_SCENARIOS: &[&str] = &["attack/stolen-token", "attack/admin-new-country"];

/// An alert is attributed to an attack when its span overlaps the attack's, give or take
/// this much (baselines report at a bucket's end, velocity from the previous location).
const SLACK_MS: i64 = 3_600_000;

/// A truth or benign entry: a label, its actor fields and values, and (for attacks) a span.
struct Entry {
    scenario: String,
    actor: BTreeMap<String, BTreeSet<String>>,
    span: Option<(i64, i64)>,
}

impl Entry {
    fn from_json(v: &Value) -> Entry {
        let actor = v["actor"]
            .as_object()
            .expect("an actor object")
            .iter()
            .map(|(k, vals)| {
                let vals = vals
                    .as_array()
                    .expect("a list of values")
                    .iter()
                    .map(|x| x.as_str().expect("a string value").to_string())
                    .collect();
                (k.clone(), vals)
            })
            .collect();
        let span = match (v["first_ms"].as_i64(), v["last_ms"].as_i64()) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        };
        Entry { scenario: v["scenario"].as_str().expect("a scenario").to_string(), actor, span }
    }

    /// Does the alert's actor name one of this entry's actor values?
    fn named_by(&self, alert: &Alert) -> bool {
        alert.actor.iter().any(|(k, v)| self.actor.get(k).is_some_and(|vals| vals.contains(v)))
    }

    /// Does the alert name this attack's actor during the attack?
    fn caught_by(&self, alert: &Alert) -> bool {
        let (first, last) = self.span.expect("an attack has a span");
        self.named_by(alert)
            && alert.first_ms <= last + SLACK_MS
            && alert.last_ms >= first - SLACK_MS
    }
}

struct Alert {
    rule: String,
    actor: Vec<(String, String)>,
    first_ms: i64,
    last_ms: i64,
    summary: String,
}

impl Alert {
    fn from_json(v: &Value) -> Alert {
        let actor = v["actor"]
            .as_object()
            .expect("an actor object")
            .iter()
            .map(|(k, x)| (k.clone(), x.as_str().map_or_else(|| x.to_string(), str::to_string)))
            .collect();
        Alert {
            rule: v["rule"].as_str().expect("a rule").to_string(),
            actor,
            first_ms: ms(&v["first_seen"]),
            last_ms: ms(&v["last_seen"]),
            summary: v["summary"].as_str().unwrap_or("").to_string(),
        }
    }

    fn describe(&self) -> String {
        let actor: Vec<String> = self.actor.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{} [{}] {}", self.rule, actor.join(" "), self.summary)
    }
}

/// An alert's time in epoch milliseconds.
fn ms(v: &Value) -> i64 {
    let s = v.as_str().expect("a time");
    parse_rfc3339_ms(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn json_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

#[test]
fn the_builtin_pack_catches_every_attack_and_spares_benign_actors() {
    let dir = scratch("detection");
    let seed = std::env::var("APIWATCH_DETECTION_SEED").unwrap_or_else(|_| DEFAULT_SEED.into());
    let traffic = dir.join("traffic");
    let traffic_arg = traffic.to_str().unwrap();
    let out = apiwatch(
        &dir,
        &[
            "generate",
            "--dir",
            traffic_arg,
            "--hours",
            HOURS,
            "--rate",
            RATE,
            "--users",
            USERS,
            "--seed",
            &seed,
            "--formats",
            "nginx,ecs",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "generate failed:\n{}", out.stderr_text());

    let geoip = std::env::var("APIWATCH_GEOLITE2_CITY").ok().filter(|p| !p.is_empty());
    let alerts_path = dir.join("alerts.jsonl");
    let gateway = traffic.join("gateway.log");
    let auth = traffic.join("auth.jsonl");
    let mut args = vec![
        "replay",
        gateway.to_str().unwrap(),
        auth.to_str().unwrap(),
        "--alerts-out",
        alerts_path.to_str().unwrap(),
        "--no-progress",
    ];
    match &geoip {
        Some(path) => {
            assert!(Path::new(path).is_file(), "APIWATCH_GEOLITE2_CITY={path} is not a file");
            args.extend(["--geoip", path]);
        }
        None => eprintln!(
            "APIWATCH_GEOLITE2_CITY is not set: replaying without GeoIP, so {} are not checked \
             (scripts/test sets it; scripts/setup-geoip prints the path)",
            GEO_SCENARIOS.join(" and ")
        ),
    }
    let out = apiwatch(&dir, &args);
    assert_eq!(out.status.code(), Some(0), "replay failed:\n{}", out.stderr_text());

    let truth: Vec<Entry> =
        json_lines(&traffic.join("truth.jsonl")).iter().map(Entry::from_json).collect();
    let benign: Vec<Entry> =
        json_lines(&traffic.join("benign.jsonl")).iter().map(Entry::from_json).collect();
    let alerts: Vec<Alert> = json_lines(&alerts_path).iter().map(Alert::from_json).collect();

    // The truth holds every attack the generator knows, and the benign parts are all there.
    let attacks: BTreeSet<&str> = apiwatch_traffic::SCENARIOS
        .iter()
        .map(|s| s.name)
        .filter(|n| n.starts_with("attack/"))
        .collect();
    let in_truth: BTreeSet<&str> = truth.iter().map(|t| t.scenario.as_str()).collect();
    assert_eq!(in_truth, attacks, "the run does not hold every attack scenario");
    let parts: BTreeSet<&str> = benign.iter().map(|b| b.scenario.as_str()).collect();
    for part in apiwatch_traffic::SCENARIOS.iter().map(|s| s.name) {
        assert!(
            part.starts_with("attack/") || parts.contains(part),
            "benign.jsonl does not say who plays {part}"
        );
    }

    // Which rules caught each attack; which alerts are nobody's attack.
    let mut caught: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut attributed = vec![false; alerts.len()];
    for t in &truth {
        let rules = caught.entry(t.scenario.as_str()).or_default();
        for (i, a) in alerts.iter().enumerate() {
            if t.caught_by(a) {
                rules.insert(a.rule.as_str());
                attributed[i] = true;
            }
        }
    }
    let mut false_positives = Vec::new();
    let mut unexplained = Vec::new();
    for (a, _) in alerts.iter().zip(&attributed).filter(|(_, done)| !**done) {
        let parts: Vec<&str> =
            benign.iter().filter(|b| b.named_by(a)).map(|b| b.scenario.as_str()).collect();
        if parts.is_empty() {
            unexplained.push(a.describe());
        } else {
            false_positives.push(format!("{} (plays {})", a.describe(), parts.join(", ")));
        }
    }

    println!("{} alerts; attack scenario and the rules that caught it:", alerts.len());
    for t in &truth {
        let rules = &caught[t.scenario.as_str()];
        let verdict =
            if rules.is_empty() && geoip.is_none() && GEO_SCENARIOS.contains(&&*t.scenario) {
                "(not checked without GeoIP)".to_string()
            } else if rules.is_empty() {
                "MISSED".to_string()
            } else {
                rules.iter().copied().collect::<Vec<_>>().join(", ")
            };
        println!("  {:<30} {verdict}", t.scenario);
    }

    let missed: Vec<&str> = truth
        .iter()
        .map(|t| t.scenario.as_str())
        .filter(|s| caught[s].is_empty())
        .filter(|s| geoip.is_some() || !GEO_SCENARIOS.contains(s))
        .collect();
    let mut problems = Vec::new();
    if !missed.is_empty() {
        problems.push(format!("attacks not caught: {}", missed.join(", ")));
    }
    if !false_positives.is_empty() {
        problems.push(format!(
            "{} alert(s) on benign actors:\n    {}",
            false_positives.len(),
            false_positives.join("\n    ")
        ));
    }
    if !unexplained.is_empty() {
        problems.push(format!(
            "{} alert(s) naming neither an attack (in its time) nor a benign actor:\n    {}",
            unexplained.len(),
            unexplained.join("\n    ")
        ));
    }
    assert!(
        problems.is_empty(),
        "seed {seed}, {}:\n{}",
        if geoip.is_some() { "with GeoIP" } else { "without GeoIP" },
        problems.join("\n")
    );
}
