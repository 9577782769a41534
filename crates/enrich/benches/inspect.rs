//! Throughput of body inspection: a 64 KiB JSON array response (records and exposure scan)
//! and a JSON login request. Prints MB/s; run with
//! `cargo bench -p apiwatch-enrich --bench inspect`.

use apiwatch_enrich::inspect::{InspectConfig, Inspector, RequestView, ResponseView};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// How long each case runs.
const RUN_TIME: Duration = Duration::from_secs(2);
/// Bytes captured by the gateway by default.
const CAPTURE_BYTES: usize = 64 * 1024;

fn main() {
    let inspector = Inspector::build(&InspectConfig::default()).unwrap();

    let mut users = String::from("{\"data\":[");
    let mut i = 0;
    while users.len() < CAPTURE_BYTES * 2 {
        if i > 0 {
            users.push(',');
        }
        users.push_str(&format!(
            r#"{{"id":{i},"uuid":"550e8400-e29b-41d4-a716-{i:012}","name":"User Number {i}","email":"user{i}@example.com","phone":"+1 415 555 {p:04}","created_at":"2024-01-15T10:30:00.{i:03}Z","balance":{i}.25,"tags":["a","b"],"address":{{"city":"Springfield","zip":"{z:05}"}}}}"#,
            p = i % 10_000,
            z = i % 100_000
        ));
        i += 1;
    }
    let body = &users.as_bytes()[..CAPTURE_BYTES];
    let req = RequestView { method: "GET", path: "/api/v1/users", ..Default::default() };
    let resp = ResponseView {
        status: 200,
        content_type: Some("application/json"),
        body,
        truncated: true,
        ..Default::default()
    };
    let out = inspector.inspect(&req, &resp);
    println!("64 KiB array response: {:?} records, exposure {:?}", out.records, out.exposure);
    run("64 KiB JSON array response", body.len(), || {
        black_box(inspector.inspect(black_box(&req), black_box(&resp)));
    });

    let login_body = br#"{"client_id":"web-app","credentials":{"username":"alice@example.com","password":"correct horse battery staple"},"remember_me":true,"device":{"id":"8f14e45f-ceea-467f-a0e6-1a2b3c4d5e6f","platform":"ios"}}"#;
    let req = RequestView {
        method: "POST",
        path: "/api/v1/auth/login",
        content_type: Some("application/json"),
        body: login_body,
        ..Default::default()
    };
    let resp = ResponseView {
        status: 401,
        content_type: Some("application/json"),
        body: br#"{"error":"invalid_grant"}"#,
        ..Default::default()
    };
    println!("login: {:?}", inspector.inspect(&req, &resp).login.map(|l| l.outcome));
    run("JSON login request (+ small response)", login_body.len(), || {
        black_box(inspector.inspect(black_box(&req), black_box(&resp)));
    });
}

fn run(name: &str, bytes: usize, mut f: impl FnMut()) {
    for _ in 0..100 {
        f();
    }
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < RUN_TIME {
        for _ in 0..64 {
            f();
        }
        rounds += 64;
    }
    let secs = start.elapsed().as_secs_f64();
    let per_call_us = secs / rounds as f64 * 1e6;
    let mb_per_s = bytes as f64 * rounds as f64 / secs / 1e6;
    println!("{name}: {bytes} bytes, {per_call_us:.2} µs per call, {mb_per_s:.0} MB/s");
}
