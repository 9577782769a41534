//! The output is a pure function of the configuration, in event-time order.

mod common;

use apiwatch_traffic::{generate_files, scenario, Generator, Record, TrafficConfig};
use common::*;

fn files(cfg: &TrafficConfig, name: &str) -> Vec<(String, Vec<u8>)> {
    let dir = temp_dir(name);
    generate_files(cfg, &dir).expect("generate");
    let out = ["gateway.log", "kong.jsonl", "auth.jsonl", "truth.jsonl"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(dir.join(f)).expect("read")))
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let cfg = TrafficConfig::demo(7);
    let a = files(&cfg, "det-a");
    let b = files(&cfg, "det-b");
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(!x.is_empty(), "{name} is empty");
        assert!(x == y, "{name} differs between two runs of the same seed");
    }
    let c = files(&TrafficConfig { seed: 8, ..cfg }, "det-c");
    assert_ne!(a[0].1, c[0].1, "another seed gives the same gateway.log");
}

#[test]
fn records_come_in_time_order_inside_the_run() {
    for cfg in [TrafficConfig::demo(3), three_days(3)] {
        let mut gen = Generator::new(&cfg);
        let mut rec = Record::default();
        let mut last = i64::MIN;
        let mut n = 0u64;
        while gen.next_into(&mut rec) {
            assert!(rec.ts_ms >= last, "record {n} at {} after {last}", rec.ts_ms);
            assert!(
                rec.ts_ms >= cfg.start_ms && rec.ts_ms < cfg.end_ms(),
                "record {n} outside the run"
            );
            assert!(scenario(rec.scenario).is_some(), "unknown label {}", rec.scenario);
            last = rec.ts_ms;
            n += 1;
        }
        assert!(n > 10_000, "only {n} records");
    }
}

#[test]
fn next_record_and_next_into_agree() {
    let cfg = TrafficConfig { duration_ms: 30 * MINUTE_MS, ..TrafficConfig::demo(11) };
    let a: Vec<Record> = Generator::new(&cfg).collect();
    let mut gen = Generator::new(&cfg);
    let mut rec = Record::default();
    let mut i = 0;
    while gen.next_into(&mut rec) {
        assert_eq!(rec, a[i], "record {i}");
        i += 1;
    }
    assert_eq!(i, a.len());
}

#[test]
fn rate_follows_the_configuration_and_the_day() {
    let cfg = TrafficConfig { attacks: false, ..three_days(5) };
    let recs = collect(&cfg);
    let users: Vec<&Record> = recs
        .iter()
        .filter(|r| matches!(r.scenario, "benign/users" | "benign/office") && r.http().is_some())
        .collect();
    let per_s = users.len() as f64 / (cfg.duration_ms as f64 / 1000.0);
    assert!(
        (per_s / cfg.requests_per_s - 1.0).abs() < 0.2,
        "background at {per_s:.2}/s for {}",
        cfg.requests_per_s
    );
    // More by day than by night.
    let hour = |r: &&Record| (r.ts_ms.rem_euclid(DAY_MS) / HOUR_MS) as usize;
    let mut by_hour = [0u32; 24];
    for r in &users {
        by_hour[hour(r)] += 1;
    }
    assert!(by_hour[15] > 2 * by_hour[3], "15h {} vs 03h {}", by_hour[15], by_hour[3]);
    assert!(recs.iter().all(|r| !r.is_attack()), "attack records with attacks off");
}

#[test]
fn odd_configurations_do_not_panic() {
    let base = TrafficConfig::demo(1);
    for cfg in [
        TrafficConfig { duration_ms: 0, ..base.clone() },
        TrafficConfig { duration_ms: 1, ..base.clone() },
        TrafficConfig { duration_ms: MINUTE_MS, ..base.clone() },
        TrafficConfig { users: 0, ..base.clone() },
        TrafficConfig { users: 1, requests_per_s: 0.0, ..base.clone() },
        TrafficConfig { requests_per_s: -5.0, distinct_ips: Some(0), ..base.clone() },
        TrafficConfig {
            start_ms: 0,
            duration_ms: 2 * HOUR_MS,
            requests_per_s: 0.5,
            ..base.clone()
        },
    ] {
        let mut gen = Generator::new(&cfg);
        let mut last = i64::MIN;
        for r in gen.by_ref() {
            assert!(r.ts_ms >= last && r.ts_ms >= cfg.start_ms && r.ts_ms < cfg.end_ms());
            last = r.ts_ms;
        }
        let _ = gen.truth();
    }
}

#[test]
fn the_generator_can_move_to_another_thread() {
    fn send<T: Send>(_: &T) {}
    send(&Generator::new(&TrafficConfig::demo(1)));
}
