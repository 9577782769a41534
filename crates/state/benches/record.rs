//! How fast the state database records what the response thread gives it: `ALERTS` (default
//! 5,000) alerts with three evidence events each, stored one transaction (one fsync) each as the
//! service does, then the same number of re-emissions (updates), decisions, and a list of the
//! newest alerts for one actor. Prints operations per second and the file's size.
//!
//! `ALERTS=5000 cargo bench -p apiwatch-state --bench record`

use apiwatch_core::{
    Action, ActorId, Alert, Decision, DecisionOrigin, DecisionStatus, ScopeKind, Severity,
};
use apiwatch_state::{AlertFilter, Paging, State};
use std::time::Instant;

fn alert(i: u64, count: u64) -> Alert {
    let ip = format!("203.0.{}.{}", (i / 250) % 250, i % 250);
    let evidence = (0..3)
        .map(|k| {
            serde_json::json!({
                "@timestamp": "2026-11-24T10:00:00.000Z",
                "source": {"ip": ip, "geo": {"country_iso_code": "NL"}},
                "user": {"name": format!("user{}", (i + k) % 997)},
                "http": {"request": {"method": "GET"}, "response": {"status_code": 404}},
                "url": {"path": format!("/.env.{k}")},
                "user_agent": {"original": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"},
            })
        })
        .collect();
    let detected_at_ms = 1_790_000_000_000 + i as i64 * 1000;
    let actor = vec![("source.ip".to_string(), ip)];
    Alert {
        id: Alert::make_id("recon-sensitive-file-probe", &actor, detected_at_ms),
        rule: "recon-sensitive-file-probe".into(),
        title: "Probing for sensitive files and admin consoles".into(),
        severity: Severity::Medium,
        owasp: "API8:2023".into(),
        attack: Some("T1595.003".into()),
        first_seen_ms: detected_at_ms - 5000,
        last_seen_ms: detected_at_ms,
        detected_at_ms,
        actor,
        count,
        summary: "probed 3 sensitive paths within 10m".into(),
        evidence,
        response: None,
    }
}

fn report(what: &str, n: u64, t: Instant) {
    let s = t.elapsed().as_secs_f64();
    println!("{what:<28} {n:>7} in {s:6.2} s  {:>9.0}/s", n as f64 / s);
}

fn main() {
    let n: u64 = std::env::var("ALERTS").ok().and_then(|v| v.parse().ok()).unwrap_or(5_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let state = State::open(dir.path().join("state.db")).expect("the database opens");
    let t = Instant::now();
    for i in 0..n {
        state.upsert_alert(&alert(i, 3), None).expect("stored");
    }
    report("alerts (insert, 1 fsync each)", n, t);
    let t = Instant::now();
    for i in 0..n {
        state.upsert_alert(&alert(i, 9), None).expect("updated");
    }
    report("alerts (re-emitted, update)", n, t);
    let t = Instant::now();
    for i in 0..n {
        let d = Decision {
            id: 0,
            action: Action::Block,
            scope: ScopeKind::Ip,
            value: format!("203.0.{}.{}", (i / 250) % 250, i % 250),
            duration_ms: 3_600_000,
            origin: DecisionOrigin::Rule("recon-sensitive-file-probe".into()),
            reason: "bench".into(),
            status: DecisionStatus::Active,
            created_at_ms: 1_790_000_000_000,
            expires_at_ms: 1_790_003_600_000,
            alert_id: None,
            incident_id: None,
            outcome: None,
        };
        state.insert_decision(&d).expect("stored");
    }
    report("decisions (insert)", n, t);
    let t = Instant::now();
    let lookups = 1000;
    for i in 0..lookups {
        let filter = AlertFilter {
            actor: Some(ActorId::new(ScopeKind::Ip, format!("203.0.0.{}", i % 250))),
            paging: Paging { limit: 50, offset: 0 },
            ..Default::default()
        };
        state.list_alerts(&filter).expect("listed");
    }
    report("alerts of one actor (list)", lookups, t);
    let bytes: u64 = std::fs::read_dir(dir.path())
        .expect("listed")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!("database and WAL: {:.1} MiB", bytes as f64 / (1 << 20) as f64);
}
