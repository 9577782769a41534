//! The same events in the same order give the same alerts, whatever the number of shards.

mod engine_util;

use engine_util::*;
use serde_json::json;

/// A small deterministic generator (64-bit LCG), so that the traffic is the same every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 =
            self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// Mixed traffic over three hours: browsing, 404 walks, logins, travel, downloads.
fn traffic(n: usize) -> Vec<apiwatch_core::Event> {
    let mut r = Lcg(42);
    let places =
        [("FR", 48.85, 2.35), ("US", 40.71, -74.0), ("JP", 35.68, 139.69), ("DE", 52.52, 13.40)];
    let mut t = 0;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        t += r.next(4_000) as i64;
        let ip = format!("203.0.{}.{}", r.next(3), r.next(20));
        let user = format!("user{}", r.next(8));
        let (cc, lat, lon) = places[if r.next(10) == 0 {
            r.next(4) as usize
        } else {
            (user.len() + r.next(2) as usize) % 2
        }];
        let status = [200, 200, 404, 500][r.next(4) as usize];
        let e = match r.next(10) {
            0..=3 => {
                json!({"source.ip": ip, "url.path": format!("/api/items/{}", r.next(50)), "http.response.status_code": status,
                            "http.response.body.bytes": r.next(5_000) * if r.next(50) == 0 { 100 } else { 1 }})
            }
            4 => {
                json!({"source.ip": ip, "url.path": format!("/admin/{}", r.next(3)), "http.response.status_code": 403})
            }
            5 | 6 => {
                json!({"source.ip": ip, "url.path": format!("/x{}", r.next(100)), "http.response.status_code": 404})
            }
            _ => {
                json!({"source.ip": ip, "event.action": "user-login", "event.outcome": if r.next(3) == 0 { "success" } else { "failure" },
                        "user.name": user, "source.geo.country_iso_code": cc, "source.geo.location": {"lat": lat, "lon": lon}})
            }
        };
        out.push(ev(t, e));
    }
    out
}

#[test]
fn one_shard_and_three_shards_give_identical_alerts() {
    let set = rules(include_str!("engine_data/all_kinds.yaml"));
    let events = traffic(6_000);
    let one = run_sharded(&set, 1, &events);
    let three = run_sharded(&set, 3, &events);
    let kinds: std::collections::BTreeSet<String> = one
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["rule"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(kinds.len() >= 6, "the traffic makes most rules fire: {kinds:?}");
    assert_eq!(one, three);
    assert_eq!(one, run_sharded(&set, 1, &events), "and the same again");
}

#[test]
fn the_builtin_pack_is_deterministic_across_shards() {
    let set = std::sync::Arc::new(apiwatch_detect::RuleSet::builtin());
    let events = traffic(3_000);
    assert_eq!(run_sharded(&set, 1, &events), run_sharded(&set, 3, &events));
}
