//! Helpers shared by the integration tests.
#![allow(dead_code)]

use apiwatch_traffic::{Generator, Record, TrafficConfig};
use std::path::PathBuf;

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Three days with everything in it, small enough for debug builds.
pub fn three_days(seed: u64) -> TrafficConfig {
    TrafficConfig {
        seed,
        duration_ms: 3 * DAY_MS,
        users: 400,
        requests_per_s: 1.5,
        ..TrafficConfig::default()
    }
}

pub fn collect(cfg: &TrafficConfig) -> Vec<Record> {
    Generator::new(cfg).collect()
}

/// A fresh empty directory under the system's temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apiwatch-traffic-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
