//! Gateway mode, end to end through the binary: calls through the inline proxy are recorded
//! as events with the login account the body names, a brute force through it is detected and
//! the attacker's next request is refused within a second, lifting the decision lets it back
//! in, secrets in headers and bodies never reach the store, and calls the OpenAPI document does
//! not describe are alerted as shadow API or, with `shadow_api: reject`, refused.

mod common;

use common::receiver::{Received, Receiver};
use common::service::{free_port, http, Service};
use common::{check_with_promtool, scratch, OutputText};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const ADMIN: &str = "admin-token-0123456789abcdef";
const PASSWORD: &str = "Hunter2-Very-Secret";
const BEARER: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
/// A JWT whose payload says `{"sub":"mallory","jti":"j-1","roles":["user"]}`.
const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtYWxsb3J5IiwianRpIjoiai0xIiwicm9sZXMiOlsidXNlciJdfQ.c2lnbmF0dXJlLW5vdC1jaGVja2Vk";

/// The application behind the gateway: logins fail, lists answer three records.
fn upstream(r: &Received) -> (u16, String) {
    if r.path.ends_with("/login") {
        (401, r#"{"error":"invalid credentials"}"#.into())
    } else {
        (200, r#"[{"id":1},{"id":2},{"id":3}]"#.into())
    }
}

fn login(gw: SocketAddr) -> u16 {
    let body = format!(r#"{{"username":"alice","password":"{PASSWORD}"}}"#);
    let headers = [("Content-Type", "application/json"), ("Authorization", "Bearer ignored")];
    http(gw, "POST", "/api/login", &headers, body.as_bytes()).unwrap().0
}

fn api(addr: SocketAddr, method: &str, path: &str) -> serde_json::Value {
    let auth = format!("Bearer {ADMIN}");
    let (status, body) = http(addr, method, path, &[("Authorization", &auth)], b"").unwrap();
    assert_eq!(status, 200, "{method} {path}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn a_brute_force_through_the_gateway_is_refused_within_a_second() {
    let top =
        "decisions:\n  mode: propose\n  rules:\n    auth-login-failures-from-address: enforce\n";
    let (dir, _app, addr, gw, svc) = start("gateway-brute-force", &[], top, "");

    // Proxied and recorded: the list answers through the gateway.
    let (status, body) = http(
        gw,
        "GET",
        "/api/orders?page=1",
        &[("Authorization", &format!("Bearer {BEARER}"))],
        b"",
    )
    .unwrap();
    assert_eq!((status, body.as_str()), (200, r#"[{"id":1},{"id":2},{"id":3}]"#));

    // Forty failed logins from one address: `auth-login-failures-from-address` fires and its
    // block is enforced.
    for i in 0..40 {
        assert_eq!(login(gw), 401, "login {i} is proxied");
    }
    let t = Instant::now();
    let refused = loop {
        let status = login(gw);
        if status == 403 {
            break t.elapsed();
        }
        assert_eq!(status, 401);
        assert!(t.elapsed() < Duration::from_secs(10), "never refused");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(refused < Duration::from_secs(1), "refused only after {refused:?}");
    eprintln!(
        "the attacker's requests were refused {} ms after the 40th failure",
        refused.as_millis()
    );

    // The decision is listed; lifting it lets the client back in.
    let active = api(addr, "GET", "/v1/decisions?status=active");
    assert_eq!(active["items"][0]["value"], "127.0.0.1", "{active}");
    let id = active["items"][0]["id"].as_i64().unwrap();
    api(addr, "DELETE", &format!("/v1/decisions/{id}"));
    let t = Instant::now();
    loop {
        if login(gw) == 401 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(2), "still refused after the lift");
        std::thread::sleep(Duration::from_millis(20));
    }

    // The calls are events: the login account from the body, its outcome, the records a list
    // returned; neither the password nor the bearer token is in the store.
    // Events are searchable once stored and committed (a batch waits up to 10 ms, a commit
    // comes every 100 ms).
    let t = Instant::now();
    let found = loop {
        let found = api(addr, "GET", "/v1/events/search?q=user.name%3Dalice&limit=5");
        if found["events"][0].is_object() || t.elapsed() > Duration::from_secs(10) {
            break found;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let ev = &found["events"][0];
    assert_eq!(ev["event"]["action"], "user-login", "{found}");
    assert_eq!(ev["event"]["outcome"], "failure", "{found}");
    let lists = api(addr, "GET", "/v1/events/search?q=url.path%3D%2Fapi%2Forders");
    assert_eq!(lists["events"][0]["http"]["response"]["records"], 3, "{lists}");
    svc.stop();
    let mut stored = Vec::new();
    for e in std::fs::read_dir(dir.join("data/segments")).unwrap() {
        stored.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    let out = common::apiwatch(&dir, &["search", "--data-dir", "data", "--json"]);
    let text = out.stdout_text();
    assert!(text.lines().count() >= 42, "{}", out.stderr_text());
    for secret in [PASSWORD, BEARER] {
        assert!(!text.contains(secret), "a secret is in the stored events");
        assert!(!stored.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
}

/// The API description of the shadow-API test: orders can be listed and read, nothing else.
const ORDERS_API: &str = "openapi: 3.0.3
info: {title: orders, version: '1'}
paths:
  /api/orders:
    get: {operationId: listOrders, responses: {'200': {description: ok}}}
  /api/orders/{id}:
    get: {operationId: getOrder, responses: {'200': {description: ok}}}
";

/// Starts the service with the gateway in front of an upstream answering as `upstream` does,
/// the API behind an administrator's token, and commits every 100 ms. `files` are written
/// first; `top` is added to the configuration, `gateway` to its `gateway:` section.
fn start(
    name: &str,
    files: &[(&str, &str)],
    top: &str,
    gateway: &str,
) -> (std::path::PathBuf, Receiver, SocketAddr, SocketAddr, Service) {
    let dir = scratch(name);
    let app = Receiver::start_with(upstream);
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let gw: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
    let config = format!(
        "data_dir: data
listen: {addr}
api:
  token: ${{API_TOKEN}}
storage:
  commit_interval: 100ms
{top}gateway:
  listeners: [{{address: \"{gw}\"}}]
  upstreams: [{{name: app, targets: [\"http://{}\"]}}]
{gateway}",
        app.addr
    );
    std::fs::write(dir.join("apiwatch.yaml"), config).unwrap();
    let svc = Service::start(&dir, "apiwatch.yaml", Some(addr), &[("API_TOKEN", ADMIN)]);
    (dir, app, addr, gw, svc)
}

/// The service of the shadow-API tests, with `shadow_api: mode`.
fn shadow_service(
    name: &str,
    mode: &str,
) -> (std::path::PathBuf, Receiver, SocketAddr, SocketAddr, Service) {
    let gateway = format!("  shadow_api: {mode}\n");
    start(name, &[("api.yaml", ORDERS_API)], "openapi: api.yaml\n", &gateway)
}

/// Polls `GET path` on the API until `pred` holds on the answer (10 s at most).
fn api_until(
    addr: SocketAddr,
    path: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let t = Instant::now();
    loop {
        let v = api(addr, "GET", path);
        if pred(&v) {
            return v;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "{path}: never as expected: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn undocumented_endpoints_are_recorded_and_alerted_as_shadow_api() {
    let (_dir, app, addr, gw, svc) = shadow_service("gateway-shadow-record", "record");
    // A documented call, with a JWT: recorded with the route template and the caller.
    let auth = format!("Bearer {JWT}");
    assert_eq!(http(gw, "GET", "/api/orders/7", &[("Authorization", &auth)], b"").unwrap().0, 200);
    let found =
        api_until(addr, "/v1/events/search?q=user.name%3Dmallory", |v| v["events"][0].is_object());
    let ev = &found["events"][0];
    assert_eq!(ev["http"]["route"], "/api/orders/{id}", "{ev}");
    assert_eq!(ev["labels"]["gateway_outcome"], "proxied", "{ev}");
    assert!(!found.to_string().contains(JWT), "the token itself is not stored");
    // An old version still deployed answers: proxied (mode record), labelled, alerted once.
    for _ in 0..3 {
        assert_eq!(http(gw, "GET", "/api/v0/export", &[], b"").unwrap().0, 200);
    }
    app.wait_for(5, |r| r.path == "/api/v0/export");
    let alerts =
        api_until(addr, "/v1/alerts?rule=recon-shadow-api-endpoint", |v| v["items"][0].is_object());
    assert_eq!(alerts["items"].as_array().unwrap().len(), 1, "{alerts}");
    let found = api_until(addr, "/v1/events/search?q=labels.openapi.undocumented%3Dtrue", |v| {
        v["events"].as_array().is_some_and(|e| e.len() == 3)
    });
    assert_eq!(found["events"][0]["url"]["path"], "/api/v0/export", "{found}");
    svc.stop();
}

#[test]
fn with_shadow_api_reject_undocumented_calls_never_reach_the_upstream() {
    let (dir, app, addr, gw, svc) = shadow_service("gateway-shadow-reject", "reject");
    let call = |method: &str, path: &str| http(gw, method, path, &[], b"").unwrap();
    assert_eq!(call("GET", "/api/orders?page=2").0, 200);
    assert_eq!(call("GET", "/api/orders/7").0, 200);
    // A CORS preflight on a documented path goes through.
    assert_eq!(call("OPTIONS", "/api/orders/7").0, 200);
    let (status, body) = call("GET", "/api/v0/export");
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("not part of the documented API"), "{body}");
    assert_eq!(call("DELETE", "/api/orders/7").0, 405);
    // Dot segments are not resolved onto a documented template.
    assert_eq!(call("GET", "/api/orders/%2e%2e/admin").0, 404);
    assert!(
        !app.got.lock().unwrap().iter().any(|r| r.path.contains("v0") || r.method == "DELETE"),
        "a refused call reached the upstream"
    );
    // Refused calls are recorded, with their outcome.
    let found = api_until(addr, "/v1/events/search?q=labels.gateway_outcome%3Drejected", |v| {
        v["events"].as_array().is_some_and(|e| e.len() == 3)
    });
    let mut statuses: Vec<i64> = found["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["http"]["response"]["status_code"].as_i64().unwrap())
        .collect();
    statuses.sort();
    assert_eq!(statuses, [404, 404, 405], "{found}");
    // The gateway's own counters are on /metrics, in a form Prometheus accepts.
    let (_, metrics) = http(addr, "GET", "/metrics", &[], b"").unwrap();
    for line in [
        "apiwatch_gateway_calls_total{outcome=\"rejected\"} 3",
        "apiwatch_gateway_calls_total{outcome=\"proxied\"} 3",
        &format!("apiwatch_gateway_target_healthy{{upstream=\"app\",target=\"{}\"}} 1", app.addr),
    ] {
        assert!(metrics.lines().any(|l| l == line), "no `{line}` in:\n{metrics}");
    }
    check_with_promtool(&dir, &metrics);

    // The document grows (the endpoint is now on the inventory): the gateway follows the
    // enrichment reload, with no restart.
    let grown = format!(
        "{ORDERS_API}  /api/v0/export:\n    get: {{operationId: export, responses: {{'200': {{description: ok}}}}}}\n"
    );
    std::fs::write(dir.join("api.yaml"), grown).unwrap();
    let t = Instant::now();
    while call("GET", "/api/v0/export").0 != 200 {
        assert!(t.elapsed() < Duration::from_secs(10), "the reloaded document is not used");
        std::thread::sleep(Duration::from_millis(100));
    }
    svc.stop();
}
