//! `kill -9` while writing: every change the writer saw committed is there after reopening,
//! and the file passes SQLite's integrity check.
//!
//! The writer is this test binary run again with `CRASH_CHILD_DB` set: the `crash_child`
//! test then writes in a loop, printing each id once its commit has returned.

#![cfg(unix)]

mod common;

use apiwatch_core::{Action, DecisionStatus, ScopeKind, Severity};
use apiwatch_state::{AuditEntry, State};
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CHILD_DB: &str = "CRASH_CHILD_DB";
const CHILD_ROUND: &str = "CRASH_CHILD_ROUND";

/// How long a writer runs if nobody kills it (its parent died): it must not outlive a run.
const CHILD_LIFETIME_MS: u128 = 30_000;

/// The writer. Does nothing in an ordinary test run.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_DB) else { return };
    let round: i64 = std::env::var(CHILD_ROUND).unwrap().parse().unwrap();
    let state = State::open(&path).unwrap();
    let started = Instant::now();
    let mut i = 0i64;
    while started.elapsed().as_millis() < CHILD_LIFETIME_MS {
        let ip = format!("10.{round}.{}.{}", i / 256 % 256, i % 256);
        let d = common::decision(Action::Block, ScopeKind::Ip, &ip, DecisionStatus::Active, i);
        let id = state.insert_decision(&d).unwrap();
        println!("committed decision {id}");
        let a = common::alert("r", &[("source.ip", &ip)], round * 1_000_000 + i, Severity::High);
        state.upsert_alert(&a, Some("inc")).unwrap();
        println!("committed alert {}", a.id);
        let audit = AuditEntry {
            at_ms: i,
            who: "writer".into(),
            role: None,
            from: None,
            action: "decision.create".into(),
            target: format!("decision:{id}"),
            detail: serde_json::json!({"round": round}),
        };
        let audit_id = state.audit(&audit).unwrap();
        println!("committed audit {audit_id}");
        i += 1;
    }
}

fn random_below(n: u32) -> u32 {
    getrandom::u32().unwrap() % n
}

#[test]
fn every_reported_commit_survives_kill_9() {
    let (dir, state, path) = common::fresh();
    drop(state);
    let exe = std::env::current_exe().unwrap();
    let mut decisions = Vec::new();
    let mut alerts = Vec::new();
    let mut audit_max = 0i64;
    for round in 0..6 {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_DB, &path)
            .env(CHILD_ROUND, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The harness's "test crash_child ... " has no line end: the first report
                // follows it on the same line.
                if let Some(at) = line.find("committed ") {
                    let _ = tx.send(());
                    lines.push(line[at..].to_string());
                }
            }
            lines
        });
        // Kill at a random moment once the writer is writing: after 1 to 60 commits
        // plus 0 to 49 ms, so some kills land inside a commit.
        let wait_commits = 1 + random_below(60);
        for _ in 0..wait_commits {
            rx.recv_timeout(Duration::from_secs(20)).expect("the writer commits");
        }
        std::thread::sleep(Duration::from_millis(random_below(50).into()));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "the writer was killed while writing");
        for line in reader.join().unwrap() {
            let mut words = line.split_whitespace().skip(1);
            match (words.next(), words.next()) {
                (Some("decision"), Some(id)) => decisions.push(id.parse::<i64>().unwrap()),
                (Some("alert"), Some(id)) => alerts.push(id.to_string()),
                (Some("audit"), Some(id)) => audit_max = audit_max.max(id.parse().unwrap()),
                _ => panic!("unexpected line {line:?}"),
            }
        }
    }
    assert!(decisions.len() >= 6 && !alerts.is_empty());
    eprintln!(
        "{} decisions, {} alerts, {audit_max} audit entries reported",
        decisions.len(),
        alerts.len()
    );

    let state = State::open(&path).unwrap();
    for id in &decisions {
        assert!(state.decision(*id).unwrap().is_some(), "decision {id} reported committed, lost");
    }
    for id in &alerts {
        assert!(state.alert(id).unwrap().is_some(), "alert {id} reported committed, lost");
    }
    let audited = state.verify_audit().unwrap();
    assert!(audited as i64 >= audit_max, "audit: {audited} entries, {audit_max} reported");
    drop(state);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let check: String = raw.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let fk: Option<String> = raw.query_row("PRAGMA foreign_key_check", [], |r| r.get(0)).ok();
    assert_eq!(fk, None, "foreign keys hold");
    drop(dir);
}
