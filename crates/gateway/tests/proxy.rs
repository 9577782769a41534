//! Calls through the gateway to real upstreams: intact requests, keep-alive reuse, HTTP/2
//! clients, forwarding fields and client addresses, request ids, routing, health checks.

mod common;

use apiwatch_gateway::Outcome;
use common::*;
use http::{Request, Version};
use std::time::Duration;

fn one_upstream(url: &str, extra: &str) -> String {
    format!(
        "listeners: [{{address: '127.0.0.1:0'}}]\nupstreams:\n  - name: api\n    targets: ['{url}']\n{extra}"
    )
}

#[tokio::test]
async fn a_call_reaches_the_upstream_intact_and_is_recorded() {
    let up = upstream("api").await;
    let hooks = Recorder::new();
    let gw = gateway(&one_upstream(&up.url(), ""), hooks.clone()).await;
    let req = Request::post(format!("http://{}/v1/items/7?sort=desc&q=a%20b", gw.local_addrs()[0]))
        .header("content-type", "application/json")
        .header("x-custom", "kept")
        .header("authorization", "Bearer secret")
        .body(full(r#"{"name":"widget"}"#))
        .unwrap();
    let (status, headers, body) = send(&client(), req).await;
    assert_eq!(status, 200);
    let echo = json(&body);
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/v1/items/7");
    assert_eq!(echo["query"], "sort=desc&q=a%20b");
    assert_eq!(echo["body"], r#"{"name":"widget"}"#);
    assert_eq!(echo["headers"]["x-custom"], "kept");
    assert_eq!(echo["headers"]["authorization"], "Bearer secret");
    assert_eq!(echo["headers"]["x-forwarded-for"], "127.0.0.1");
    assert_eq!(echo["headers"]["x-forwarded-proto"], "http");
    assert!(echo["headers"]["forwarded"]
        .as_str()
        .unwrap()
        .starts_with("for=127.0.0.1;proto=http;host="));
    // A generated request id goes up and comes back.
    let id = echo["headers"]["x-request-id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    assert_eq!(headers["x-request-id"], id.as_str());
    // The upstream's hop-by-hop fields stop at the gateway.
    assert!(!headers.contains_key("x-upstream-hop"));

    let records = hooks.wait_for(1).await;
    let r = &records[0];
    assert_eq!(r.request_id, id);
    assert_eq!(r.outcome, Outcome::Proxied);
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v1/items/7");
    assert_eq!(r.query.as_deref(), Some("sort=desc&q=a%20b"));
    assert_eq!(r.status, 200);
    assert_eq!(r.request_bytes, 17);
    assert_eq!(&r.request_body.bytes[..], br#"{"name":"widget"}"#);
    assert!(!r.request_body.truncated);
    assert_eq!(r.response_bytes, body.len() as u64);
    assert_eq!(r.response_body.bytes, body);
    assert_eq!(r.response_content_type.as_deref(), Some("application/json"));
    assert_eq!(r.request_headers["authorization"], "Bearer secret");
    assert_eq!(r.upstream.as_deref(), Some("api"));
    assert_eq!(r.version, Version::HTTP_11);
    assert_eq!(r.client_ip.to_string(), "127.0.0.1");
    assert_eq!(gw.stats().calls(Outcome::Proxied), 1);
}

#[tokio::test]
async fn keep_alive_reuses_upstream_connections() {
    let up = upstream("api").await;
    let gw = gateway(&one_upstream(&up.url(), ""), Recorder::new()).await;
    let c = client();
    for i in 0..20 {
        let req =
            Request::get(format!("http://{}/n/{i}", gw.local_addrs()[0])).body(full("")).unwrap();
        assert_eq!(send(&c, req).await.0, 200);
    }
    assert_eq!(up.connections.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(gw.stats().connections_accepted, 1);
}

#[tokio::test]
async fn an_http2_client_is_served() {
    let up = upstream("api").await;
    let hooks = Recorder::new();
    let gw = gateway(&one_upstream(&up.url(), ""), hooks.clone()).await;
    let c = h2_client();
    let req = Request::put(format!("http://{}/h2/path?x=1", gw.local_addrs()[0]))
        .header("cookie", "a=1")
        .body(full("over h2"))
        .unwrap();
    let (status, _, body) = send(&c, req).await;
    assert_eq!(status, 200);
    let echo = json(&body);
    assert_eq!(echo["method"], "PUT");
    assert_eq!(echo["path"], "/h2/path");
    assert_eq!(echo["body"], "over h2");
    assert_eq!(echo["version"], "HTTP/1.1");
    assert_eq!(echo["headers"]["host"], gw.local_addrs()[0].to_string());
    let records = hooks.wait_for(1).await;
    assert_eq!(records[0].version, Version::HTTP_2);
    assert_eq!(records[0].request_bytes, 7);
}

#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_trusted_proxies() {
    let up = upstream("api").await;
    let hooks = Recorder::new();
    let untrusted =
        gateway(&one_upstream(&up.url(), "trusted_proxies: ['10.0.0.0/8']"), hooks.clone()).await;
    let (_, _, body) = get(&untrusted, "/", &[("x-forwarded-for", "6.6.6.6")]).await;
    assert_eq!(json(&body)["headers"]["x-forwarded-for"], "6.6.6.6, 127.0.0.1");
    assert_eq!(hooks.wait_for(1).await[0].client_ip.to_string(), "127.0.0.1");

    let hooks = Recorder::new();
    let trusted = gateway(
        &one_upstream(&up.url(), "trusted_proxies: ['127.0.0.1/32', '10.0.0.0/8']"),
        hooks.clone(),
    )
    .await;
    get(&trusted, "/", &[("x-forwarded-for", "6.6.6.6, 5.5.5.5, 10.1.1.1")]).await;
    let r = &hooks.wait_for(1).await[0];
    assert_eq!(r.client_ip.to_string(), "5.5.5.5");
    assert_eq!(r.peer_ip.to_string(), "127.0.0.1");
}

#[tokio::test]
async fn a_sane_request_id_is_passed_on_and_a_bad_one_replaced() {
    let up = upstream("api").await;
    let gw =
        gateway(&one_upstream(&up.url(), "request_id_header: x-correlation-id"), Recorder::new())
            .await;
    let (_, headers, body) = get(&gw, "/", &[("x-correlation-id", "abc-123")]).await;
    assert_eq!(json(&body)["headers"]["x-correlation-id"], "abc-123");
    assert_eq!(headers["x-correlation-id"], "abc-123");
    let (_, _, body) = get(&gw, "/", &[("x-correlation-id", &"z".repeat(200))]).await;
    assert_eq!(json(&body)["headers"]["x-correlation-id"].as_str().unwrap().len(), 32);
}

#[tokio::test]
async fn calls_go_to_the_most_specific_upstream() {
    let (default, api, admin) =
        (upstream("default").await, upstream("api").await, upstream("admin").await);
    let yaml = format!(
        "listeners: [{{address: '127.0.0.1:0'}}]
upstreams:
  - {{name: default, targets: ['{}']}}
  - {{name: api, targets: ['{}'], path_prefix: /api}}
  - {{name: admin, targets: ['{}'], host: admin.example.com}}
",
        default.url(),
        api.url(),
        admin.url()
    );
    let gw = gateway(&yaml, Recorder::new()).await;
    let which = |body: bytes::Bytes| json(&body)["upstream"].as_str().unwrap().to_string();
    assert_eq!(which(get(&gw, "/", &[]).await.2), "default");
    assert_eq!(which(get(&gw, "/api/users", &[]).await.2), "api");
    assert_eq!(which(get(&gw, "/apis", &[]).await.2), "default");
    assert_eq!(
        which(get(&gw, "/api/users", &[("host", "Admin.example.com:8080")]).await.2),
        "admin"
    );
}

/// Waits (up to 5 s) until the targets' health is `expected`.
async fn wait_for_health(gw: &apiwatch_gateway::RunningGateway, expected: &[bool]) {
    for _ in 0..500 {
        let health: Vec<bool> = gw.stats().targets.iter().map(|t| t.healthy).collect();
        if health == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("targets never reached health {expected:?}");
}

#[tokio::test]
async fn a_failing_target_is_skipped_and_all_down_is_502() {
    let (a, b) = (upstream("a").await, upstream("b").await);
    let yaml = format!(
        "listeners: [{{address: '127.0.0.1:0'}}]
upstreams:
  - name: api
    targets: ['{}', '{}']
    health_check: {{path: /healthz, interval: 100ms, timeout: 500ms}}
",
        a.url(),
        b.url()
    );
    let hooks = Recorder::new();
    let gw = gateway(&yaml, hooks.clone()).await;
    b.healthy.store(false, std::sync::atomic::Ordering::SeqCst);
    wait_for_health(&gw, &[true, false]).await;
    for _ in 0..6 {
        let (status, _, body) = get(&gw, "/", &[]).await;
        assert_eq!(status, 200);
        assert_eq!(json(&body)["upstream"], "a");
    }
    let health: Vec<bool> = gw.stats().targets.iter().map(|t| t.healthy).collect();
    assert_eq!(health, [true, false]);

    a.kill();
    wait_for_health(&gw, &[false, false]).await;
    let (status, headers, body) = get(&gw, "/", &[]).await;
    assert_eq!(status, 502);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(json(&body)["status"], 502);
    let records = hooks.wait_for(7).await;
    assert_eq!(records[6].outcome, Outcome::UpstreamError);
    assert_eq!(gw.stats().calls(Outcome::UpstreamError), 1);
}

#[tokio::test]
async fn an_unreachable_upstream_is_502_and_counted() {
    // A port nobody listens on: bind one and let it go.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let gw = gateway(&one_upstream(&format!("http://{addr}"), ""), Recorder::new()).await;
    let (status, _, _) = get(&gw, "/", &[]).await;
    assert_eq!(status, 502);
    assert_eq!(gw.stats().upstream_errors, 1);
}

#[tokio::test]
async fn a_refused_connection_sends_a_bodiless_call_to_the_next_target() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let alive = upstream("alive").await;
    let yaml = format!(
        "listeners: [{{address: '127.0.0.1:0'}}]\nupstreams:\n  - {{name: api, targets: ['http://{dead}', '{}']}}\nworkers: 1\n",
        alive.url()
    );
    let gw = gateway(&yaml, Recorder::new()).await;
    // Round robin (one worker: one rotation) starts at the dead target every other call; each
    // is sent on.
    for _ in 0..4 {
        let (status, _, body) = get(&gw, "/items?page=2", &[]).await;
        assert_eq!(status, 200);
        assert_eq!(json(&body)["upstream"], "alive");
        assert_eq!(json(&body)["query"], "page=2");
    }
    assert_eq!(gw.stats().upstream_retries, 2);
    assert_eq!(gw.stats().upstream_errors, 0);
    // A call with a body is not repeated: it may have been half sent elsewhere another time,
    // and its body is gone.
    let post = Request::post(format!("http://{}/items", gw.local_addrs()[0]))
        .header("content-type", "application/json")
        .body(full("{}"))
        .unwrap();
    let (status, _, _) = send(&client(), post).await;
    assert_eq!(status, 502);
    assert_eq!(gw.stats().upstream_retries, 2);
    assert_eq!(gw.stats().upstream_errors, 1);
}

#[tokio::test]
async fn shutdown_stops_accepting_and_drains() {
    let up = upstream("api").await;
    let gw = gateway(&one_upstream(&up.url(), ""), Recorder::new()).await;
    let addr = gw.local_addrs()[0];
    assert_eq!(get(&gw, "/", &[]).await.0, 200);
    let report = gw.shutdown(Duration::from_secs(5)).await;
    assert!(report.drained);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn shutdown_waits_for_calls_in_flight_until_its_deadline() {
    let up = upstream("api").await;
    let gw = gateway(&one_upstream(&up.url(), "workers: 2"), Recorder::new()).await;
    let addr = gw.local_addrs()[0];
    let fetch = |ms: u64| {
        let req = Request::get(format!("http://{addr}/slow?ms={ms}")).body(full("")).unwrap();
        tokio::spawn(async move { client().request(req).await.map(|r| r.status()) })
    };
    // Finishes within the deadline: answered in full.
    let short = fetch(300);
    // Still waiting for the upstream when the deadline passes: its connection is cut.
    let long = fetch(5_000);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let report = gw.shutdown(Duration::from_millis(1_000)).await;
    assert!(!report.drained);
    assert!(started.elapsed() < Duration::from_millis(3_000), "{:?}", started.elapsed());
    assert_eq!(short.await.unwrap().unwrap(), 200);
    assert!(long.await.unwrap().is_err());
}

#[tokio::test]
async fn an_upstream_slow_to_answer_is_504() {
    let up = upstream("api").await;
    let hooks = Recorder::new();
    let gw = gateway(
        &one_upstream(&up.url(), "timeouts: {upstream_response_header: 200ms}"),
        hooks.clone(),
    )
    .await;
    let (status, _, body) = get(&gw, "/slow?ms=2000", &[]).await;
    assert_eq!(status, 504);
    assert_eq!(json(&body)["title"], "Gateway Timeout");
    assert_eq!(get(&gw, "/slow?ms=10", &[]).await.0, 200);
    assert_eq!(hooks.wait_for(1).await[0].outcome, Outcome::UpstreamError);
    assert_eq!(gw.stats().upstream_timeouts, 1);
}

#[tokio::test]
async fn connections_beyond_max_connections_wait_for_a_free_slot() {
    let up = upstream("api").await;
    let gw = gateway(&one_upstream(&up.url(), "max_connections: 1"), Recorder::new()).await;
    let addr = gw.local_addrs()[0];
    let open = |addr| async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (sender, conn) =
            hyper::client::conn::http1::handshake::<_, Body>(hyper_util::rt::TokioIo::new(tcp))
                .await
                .unwrap();
        (sender, tokio::spawn(conn))
    };
    let request = || Request::get("/").header("host", "gw").body(full("")).unwrap();
    let (mut first, first_conn) = open(addr).await;
    assert_eq!(first.send_request(request()).await.unwrap().status(), 200);
    let (mut second, _second_conn) = open(addr).await;
    let waiting =
        tokio::spawn(async move { second.send_request(request()).await.unwrap().status() });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "a second connection was served beyond max_connections");
    drop(first);
    first_conn.abort();
    let status = tokio::time::timeout(Duration::from_secs(5), waiting).await.unwrap().unwrap();
    assert_eq!(status, 200);
}
