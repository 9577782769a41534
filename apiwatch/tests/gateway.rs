//! Gateway mode, end to end through the binary: calls through the inline proxy are recorded
//! as events with the login account the body names, a brute force through it is detected and
//! the attacker's next request is refused within a second, lifting the decision lets it back
//! in, and secrets in headers and bodies never reach the store.

mod common;

use common::receiver::{Received, Receiver};
use common::service::{free_port, http, Service};
use common::{scratch, OutputText};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const ADMIN: &str = "admin-token-0123456789abcdef";
const PASSWORD: &str = "Hunter2-Very-Secret";
const BEARER: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";

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
    let dir = scratch("gateway-brute-force");
    let app = Receiver::start_with(upstream);
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let gw: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    std::fs::write(
        dir.join("apiwatch.yaml"),
        format!(
            "data_dir: data
listen: {addr}
api:
  token: ${{API_TOKEN}}
storage:
  commit_interval: 100ms
gateway:
  listeners: [{{address: \"{gw}\"}}]
  upstreams: [{{name: app, targets: [\"http://{}\"]}}]
decisions:
  mode: propose
  rules:
    auth-login-failures-from-address: enforce
",
            app.addr
        ),
    )
    .unwrap();
    let svc = Service::start(&dir, "apiwatch.yaml", Some(addr), &[("API_TOKEN", ADMIN)]);

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
