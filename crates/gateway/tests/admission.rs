//! Admission: the embedder's verdicts (block, throttle, reject), fail-closed and fail-open,
//! and the gateway's own rate limits.

mod common;

use apiwatch_gateway::{Admission, Outcome, RateKeys, Verdict};
use common::*;
use http::Request;
use std::net::IpAddr;
use std::sync::atomic::Ordering;

fn config(url: &str, extra: &str) -> String {
    format!("listeners: [{{address: '127.0.0.1:0'}}]\nupstreams: [{{name: api, targets: ['{url}']}}]\n{extra}")
}

/// Admission by path: `/blocked`, `/throttled`, `/undocumented` get verdicts, the rest passes.
fn by_path() -> std::sync::Arc<Recorder> {
    Recorder::with_admit(|_, parts| {
        let verdict = match parts.uri.path() {
            "/blocked" => Verdict::Block { reason: "address on the block list".into() },
            "/throttled" => Verdict::Throttle { retry_after_s: 30, reason: "slow down".into() },
            "/undocumented" => {
                Verdict::Reject { status: 404, reason: "not in the API description".into() }
            }
            "/bad-status" => Verdict::Reject { status: 99, reason: "odd".into() },
            _ => Verdict::Allow,
        };
        Admission { verdict, rate_keys: RateKeys::default() }
    })
}

#[tokio::test]
async fn a_blocked_call_gets_403_problem_json_and_never_reaches_the_upstream() {
    let up = upstream("api").await;
    let hooks = by_path();
    let gw = gateway(&config(&up.url(), ""), hooks.clone()).await;
    let (status, headers, body) = get(&gw, "/blocked", &[("x-request-id", "req-1")]).await;
    assert_eq!(status, 403);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(
        json(&body),
        serde_json::json!({
            "type": "about:blank", "title": "Forbidden", "status": 403,
            "detail": "address on the block list", "request_id": "req-1"
        })
    );
    assert_eq!(up.connections.load(Ordering::SeqCst), 0);
    let r = &hooks.wait_for(1).await[0];
    assert_eq!(r.outcome, Outcome::Blocked);
    assert_eq!(r.status, 403);
    assert_eq!(gw.stats().calls(Outcome::Blocked), 1);
}

#[tokio::test]
async fn a_throttled_call_gets_429_with_retry_after() {
    let up = upstream("api").await;
    let hooks = by_path();
    let gw = gateway(&config(&up.url(), ""), hooks.clone()).await;
    let (status, headers, body) = get(&gw, "/throttled", &[]).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "30");
    assert_eq!(json(&body)["detail"], "slow down");
    assert_eq!(hooks.wait_for(1).await[0].outcome, Outcome::Throttled);
}

#[tokio::test]
async fn a_rejected_call_gets_the_status_asked_for() {
    let up = upstream("api").await;
    let hooks = by_path();
    let gw = gateway(&config(&up.url(), ""), hooks.clone()).await;
    let (status, _, body) = get(&gw, "/undocumented", &[]).await;
    assert_eq!(status, 404);
    assert_eq!(json(&body)["title"], "Not Found");
    // A status that is not an error is not sent as asked: 403.
    assert_eq!(get(&gw, "/bad-status", &[]).await.0, 403);
    assert_eq!(get(&gw, "/fine", &[]).await.0, 200);
    let records = hooks.wait_for(3).await;
    assert_eq!(records[0].outcome, Outcome::Rejected);
}

#[tokio::test]
async fn fail_closed_answers_503_while_the_embedder_is_not_ready() {
    let up = upstream("api").await;
    let hooks = Recorder::new();
    let gw = gateway(&config(&up.url(), "fail_mode: closed"), hooks.clone()).await;
    hooks.ready.store(false, Ordering::SeqCst);
    let (status, headers, _) = get(&gw, "/", &[]).await;
    assert_eq!(status, 503);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(up.connections.load(Ordering::SeqCst), 0);
    hooks.ready.store(true, Ordering::SeqCst);
    assert_eq!(get(&gw, "/", &[]).await.0, 200);
    let s = gw.stats();
    assert_eq!(s.calls(Outcome::FailClosed), 1);
    assert_eq!(s.calls(Outcome::Proxied), 1);
}

#[tokio::test]
async fn fail_open_lets_calls_through_and_counts_lost_records() {
    let up = upstream("api").await;
    let hooks = Recorder::new();
    let gw = gateway(&config(&up.url(), "fail_mode: open"), hooks.clone()).await;
    hooks.ready.store(false, Ordering::SeqCst);
    hooks.overloaded.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        assert_eq!(get(&gw, "/", &[]).await.0, 200);
    }
    // Records are handed over as the response body ends, just after the client has it.
    for _ in 0..100 {
        if gw.stats().records_dropped_overloaded == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let s = gw.stats();
    assert_eq!(s.records_dropped_overloaded, 3);
    assert_eq!(s.fail_open_calls, 3);
    assert_eq!(s.calls(Outcome::Proxied), 3);
}

#[tokio::test]
async fn twenty_concurrent_clients_get_exactly_the_burst_through() {
    let up = upstream("api").await;
    // Everyone arrives from 127.0.0.1; the client address comes from X-Forwarded-For, which
    // this gateway believes of its loopback peer.
    let hooks = Recorder::new();
    let gw = gateway(
        &config(
            &up.url(),
            "trusted_proxies: ['127.0.0.1']\nrate_limits: [{scope: address, per_minute: 60, burst: 10}]",
        ),
        hooks.clone(),
    )
    .await;
    let addr = gw.local_addrs()[0];
    let calls = (0..20).map(|_| {
        tokio::spawn(async move {
            // One client (and connection) each.
            let req = Request::get(format!("http://{addr}/"))
                .header("x-forwarded-for", "203.0.113.9")
                .body(full(""))
                .unwrap();
            let (status, headers, _) = send(&client(), req).await;
            (status.as_u16(), headers)
        })
    });
    let mut passed = 0;
    let mut limited = 0;
    for call in calls {
        let (status, headers) = call.await.unwrap();
        assert_eq!(headers["ratelimit-limit"], "10");
        match status {
            200 => passed += 1,
            429 => {
                limited += 1;
                assert_eq!(headers["ratelimit-remaining"], "0");
                let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
                assert!((1..=2).contains(&retry), "retry-after {retry}");
                assert!(headers.contains_key("ratelimit-reset"));
            }
            other => panic!("status {other}"),
        }
    }
    assert_eq!((passed, limited), (10, 10));
    assert_eq!(gw.stats().calls(Outcome::RateLimited), 10);

    // Another address has its own bucket.
    let (status, headers, _) = get(&gw, "/", &[("x-forwarded-for", "198.51.100.1")]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["ratelimit-remaining"], "9");
    let records = hooks.wait_for(21).await;
    let other =
        records.iter().find(|r| r.client_ip == "198.51.100.1".parse::<IpAddr>().unwrap()).unwrap();
    assert_eq!(other.outcome, Outcome::Proxied);
}

#[tokio::test]
async fn user_limits_count_per_user_the_embedder_names() {
    let up = upstream("api").await;
    let hooks = Recorder::with_admit(|_, parts| Admission {
        verdict: Verdict::Allow,
        rate_keys: RateKeys {
            user: parts.headers.get("x-user").map(|v| v.to_str().unwrap().to_string()),
            consumer: None,
        },
    });
    let gw = gateway(
        &config(
            &up.url(),
            "rate_limits: [{scope: user, route_prefix: /login, per_minute: 1, burst: 2}]",
        ),
        hooks,
    )
    .await;
    for expected in [200, 200, 429] {
        assert_eq!(get(&gw, "/login", &[("x-user", "alice")]).await.0, expected);
    }
    assert_eq!(get(&gw, "/login", &[("x-user", "bob")]).await.0, 200);
    // Outside the route, and without a user, the limit does not apply.
    assert_eq!(get(&gw, "/other", &[("x-user", "alice")]).await.0, 200);
    let (status, headers, _) = get(&gw, "/login", &[]).await;
    assert_eq!(status, 200);
    assert!(!headers.contains_key("ratelimit-limit"));
}
