//! Redaction cost per event: typical nginx access events with no secrets (the common case,
//! which should cost no allocation), and events that carry a bearer token and a secret query
//! parameter.
//!
//! `cargo run --release -p apiwatch-core --example redact_throughput [events]`

use apiwatch_core::redact::Redactor;
use apiwatch_core::EventData;
use std::hint::black_box;
use std::time::Instant;

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "curl/8.5.0",
    "okhttp/4.12.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
];

/// What the nginx `combined` decoder fills, with the variety of a real log.
fn typical(i: usize) -> EventData {
    EventData {
        timestamp_ms: 1_767_225_600_000 + i as i64,
        dataset: "nginx.access",
        source_ip: Some(format!("203.0.113.{}", i % 250).parse().expect("an address")),
        http_method: Some(if matches!(i % 5, 0) { "POST" } else { "GET" }.into()),
        http_version: Some("1.1".into()),
        url_path: Some(format!("/api/v1/orders/{}/items", 10_000 + i % 5_000).into()),
        url_query: (matches!(i % 3, 0)
            .then(|| format!("page={}&limit=50&sort=-created_at", i % 20)))
        .map(Into::into),
        status_code: Some(200),
        response_bytes: Some(512 + (i % 1000) as u64),
        referrer: matches!(i % 2, 0).then(|| "https://shop.example.com/orders?page=1".into()),
        user_agent: Some(USER_AGENTS[i % USER_AGENTS.len()].into()),
        ..EventData::default()
    }
}

fn with_secrets(i: usize) -> EventData {
    let mut ev = typical(i);
    ev.headers.push(("authorization".into(), format!("Bearer opaque-token-{i}")));
    ev.url_query = Some(format!("page=2&api_key=k-{i}").into());
    ev
}

/// Events per timed batch: small enough to stay in cache, so that the figure is redaction's
/// cost and not memory traffic from building millions of events.
const BATCH_EVENTS: usize = 1024;

fn measure(name: &str, r: &Redactor, events: usize, make: fn(usize) -> EventData) {
    let template: Vec<EventData> = (0..BATCH_EVENTS).map(make).collect();
    let mut out = Vec::with_capacity(BATCH_EVENTS);
    let mut elapsed = std::time::Duration::ZERO;
    let rounds = events.div_ceil(BATCH_EVENTS);
    for _ in 0..rounds {
        let batch = template.clone();
        let start = Instant::now();
        for ev in batch {
            out.push(r.redact(black_box(ev)));
        }
        elapsed += start.elapsed();
        black_box(&out);
        out.clear();
    }
    let n = rounds * BATCH_EVENTS;
    println!(
        "{name:<22} {n:>9} events  {:>7.1} ns/event  {:>6.2} M events/s",
        elapsed.as_nanos() as f64 / n as f64,
        n as f64 / elapsed.as_secs_f64() / 1e6,
    );
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let r = Redactor::new([42; 32]);
    if std::env::args().nth(2).as_deref() == Some("typical") {
        // Typical events only (for instruction counts under callgrind).
        measure("typical (no secrets)", &r, n, typical);
        return;
    }
    // Warm-up: builds the shape automaton, faults in the pages.
    measure("warm-up", &r, n / 10, typical);
    // What the harness itself costs: the same events moved through without redaction.
    let template: Vec<EventData> = (0..BATCH_EVENTS).map(typical).collect();
    let mut moved = Vec::with_capacity(BATCH_EVENTS);
    let mut elapsed = std::time::Duration::ZERO;
    let rounds = n.div_ceil(BATCH_EVENTS);
    for _ in 0..rounds {
        let batch = template.clone();
        let start = Instant::now();
        for ev in batch {
            moved.push(black_box(ev));
        }
        elapsed += start.elapsed();
        black_box(&moved);
        moved.clear();
    }
    println!(
        "{:<22} {:>9} events  {:>7.1} ns/event",
        "harness (move only)",
        rounds * BATCH_EVENTS,
        elapsed.as_nanos() as f64 / (rounds * BATCH_EVENTS) as f64
    );
    for _ in 0..3 {
        measure("typical (no secrets)", &r, n, typical);
    }
    measure("bearer + api_key", &r, n, with_secrets);
}
