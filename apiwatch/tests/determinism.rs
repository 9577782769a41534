//! The same inputs give byte-identical alerts on every run and on any number of threads.

mod common;

use common::{apiwatch, scratch, OutputText};

#[test]
fn alerts_are_byte_identical_across_runs_and_thread_counts() {
    let dir = scratch("determinism");
    let traffic = dir.join("traffic");
    let out = apiwatch(
        &dir,
        &[
            "generate",
            "--dir",
            traffic.to_str().unwrap(),
            "--hours",
            "3",
            "--rate",
            "5",
            "--seed",
            "3",
            "--formats",
            "nginx,ecs",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let mut outputs = Vec::new();
    for (run, threads) in [("a", "1"), ("b", "1"), ("c", "2"), ("d", "5")] {
        let alerts = dir.join(format!("alerts-{run}.jsonl"));
        let out = apiwatch(
            &dir,
            &[
                "replay",
                traffic.join("gateway.log").to_str().unwrap(),
                traffic.join("auth.jsonl").to_str().unwrap(),
                "--threads",
                threads,
                "--alerts-out",
                alerts.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
        outputs.push((threads, std::fs::read(&alerts).unwrap()));
    }
    let (_, first) = &outputs[0];
    assert!(first.len() > 100, "the generated attacks raise alerts");
    for (threads, bytes) in &outputs[1..] {
        assert!(bytes == first, "alerts differ with --threads {threads}");
    }
}
