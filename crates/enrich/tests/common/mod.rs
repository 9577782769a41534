//! Helpers shared by the integration tests: test data paths and one-call enrichment.
#![allow(dead_code)]

use apiwatch_core::EventData;
use apiwatch_enrich::{EnrichConfig, EnrichWorker, Enricher};
use std::path::PathBuf;
use std::sync::Arc;

/// A file under `tests/data/`.
pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// A worker over an enricher built from `cfg`; panics (the test fails) if building fails.
pub fn worker(cfg: &EnrichConfig) -> EnrichWorker {
    Arc::new(Enricher::build(cfg).expect("enricher builds")).worker()
}

/// An event with the given request headers (names lower-case, as decoders store them).
pub fn with_headers(headers: &[(&str, &str)]) -> EventData {
    EventData {
        headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        ..EventData::default()
    }
}
