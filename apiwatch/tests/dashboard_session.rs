//! What the dashboard asks of the service, through the binary. Sign-in: a token opens a
//! session cookie (HttpOnly, Secure, SameSite=Strict) that reads like the token; a change made
//! with the cookie needs its CSRF token; revoking the token or signing out ends the session;
//! the cookie's value is never logged or stored. Traffic: the charts' counts by minute, the
//! threat map's countries and attacking networks, each source's health, a source that goes
//! silent alerted on once, and each rule's fire counts.

mod common;

use common::scratch;
use common::service::{
    free_port, http, http_with_head, nginx_line_at, now_ms, run_with_env, Service,
};
use std::io::Write;
use std::net::SocketAddr;

const ADMIN: &str = "admin-token-0123456789abcdef";

fn config(listen: SocketAddr) -> String {
    format!(
        "data_dir: data\nlisten: {listen}\napi:\n  token: ${{API_TOKEN}}\n\
         sources:\n  - {{type: file, name: gateway, format: nginx, include: [logs/access.log]}}\n"
    )
}

/// A scratch directory with a configuration (one followed log, the API on a free port).
fn prepare(name: &str) -> (std::path::PathBuf, SocketAddr) {
    let dir = scratch(name);
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    std::fs::write(dir.join("apiwatch.yaml"), config(addr)).unwrap();
    (dir, addr)
}

fn start(dir: &std::path::Path, addr: SocketAddr) -> Service {
    Service::start(dir, "apiwatch.yaml", Some(addr), &[("API_TOKEN", ADMIN)])
}

fn make_token(dir: &std::path::Path, name: &str, role: &str) -> String {
    let args =
        ["tokens", "create", "-c", "apiwatch.yaml", "--name", name, "--role", role, "-o", "json"];
    let out = run_with_env(dir, &args, &[("API_TOKEN", ADMIN)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["token"].as_str().unwrap().to_string()
}

/// Signs in; returns the cookie's value and the CSRF token.
fn sign_in(addr: SocketAddr, token: &str) -> (String, String) {
    let body = serde_json::json!({ "token": token }).to_string();
    let (status, head, body) = http_with_head(
        addr,
        "POST",
        "/v1/session",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let set_cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .unwrap_or_else(|| panic!("no cookie in {head}"));
    for part in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    let value = set_cookie.split(';').next().unwrap().strip_prefix("apiwatch_session=").unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    (value.to_string(), v["csrf"].as_str().unwrap().to_string())
}

#[test]
fn a_session_acts_as_its_token_and_changes_need_the_csrf_token() {
    let (dir, addr) = prepare("dashboard-session");
    let analyst = make_token(&dir, "alice", "analyst");
    let svc = start(&dir, addr);

    let wrong = serde_json::json!({ "token": "aw_not-a-real-token" }).to_string();
    let json = [("Content-Type", "application/json")];
    assert_eq!(http(addr, "POST", "/v1/session", &json, wrong.as_bytes()).unwrap().0, 401);
    assert_eq!(http(addr, "POST", "/v1/session", &json, b"{\"tok\": 1}").unwrap().0, 400);

    let (session, csrf) = sign_in(addr, &analyst);
    let cookie = format!("apiwatch_session={session}");
    fn headers<'a>(cookie: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut h = vec![("Cookie", cookie), ("Content-Type", "application/json")];
        h.extend_from_slice(extra);
        h
    }
    let (status, body) = http(addr, "GET", "/v1/session", &headers(&cookie, &[]), b"").unwrap();
    assert_eq!(status, 200, "{body}");
    let me: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((me["name"].as_str(), me["role"].as_str()), (Some("alice"), Some("analyst")));
    assert_eq!(http(addr, "GET", "/v1/alerts", &headers(&cookie, &[]), b"").unwrap().0, 200);
    // The token's role still holds: an analyst may not make tokens.
    let (status, body) = http(
        addr,
        "POST",
        "/v1/tokens",
        &headers(&cookie, &[("X-CSRF-Token", &csrf)]),
        br#"{"name":"x","role":"admin"}"#,
    )
    .unwrap();
    assert_eq!(status, 403, "{body}");

    let block = br#"{"action":"block","scope":"ip","value":"192.0.2.7","duration":"1h","reason":"from the dashboard"}"#;
    let (status, body) =
        http(addr, "POST", "/v1/decisions", &headers(&cookie, &[]), block).unwrap();
    assert_eq!(status, 403, "no CSRF token: {body}");
    assert!(body.contains("X-CSRF-Token"), "{body}");
    let (status, _) = http(
        addr,
        "POST",
        "/v1/decisions",
        &headers(&cookie, &[("X-CSRF-Token", "forged")]),
        block,
    )
    .unwrap();
    assert_eq!(status, 403, "a wrong CSRF token");
    let (status, body) =
        http(addr, "POST", "/v1/decisions", &headers(&cookie, &[("X-CSRF-Token", &csrf)]), block)
            .unwrap();
    assert_eq!(status, 200, "{body}");
    // Audited under the token's name.
    let auth = format!("Bearer {ADMIN}");
    let (_, audit) = http(addr, "GET", "/v1/audit", &[("Authorization", &auth)], b"").unwrap();
    assert!(audit.contains("\"alice\""), "{audit}");

    // Signing out needs the CSRF token too, and ends the session.
    assert_eq!(http(addr, "DELETE", "/v1/session", &headers(&cookie, &[]), b"").unwrap().0, 403);
    let (status, head, _) = http_with_head(
        addr,
        "DELETE",
        "/v1/session",
        &headers(&cookie, &[("X-CSRF-Token", &csrf)]),
        b"",
    )
    .unwrap();
    assert_eq!(status, 204);
    assert!(head.to_ascii_lowercase().contains("max-age=0"), "{head}");
    assert_eq!(http(addr, "GET", "/v1/alerts", &headers(&cookie, &[]), b"").unwrap().0, 401);

    // Revoking the token ends every session opened with it.
    let (session, _) = sign_in(addr, &analyst);
    let cookie2 = format!("apiwatch_session={session}");
    assert_eq!(http(addr, "GET", "/v1/alerts", &[("Cookie", &cookie2)], b"").unwrap().0, 200);
    let (_, tokens) = http(addr, "GET", "/v1/tokens", &[("Authorization", &auth)], b"").unwrap();
    let tokens: serde_json::Value = serde_json::from_str(&tokens).unwrap();
    let id = tokens["items"]
        .as_array()
        .or(tokens.as_array())
        .unwrap()
        .iter()
        .find(|t| t["name"] == "alice")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let path = format!("/v1/tokens/{id}");
    assert_eq!(http(addr, "DELETE", &path, &[("Authorization", &auth)], b"").unwrap().0, 200);
    let (status, body) = http(addr, "GET", "/v1/alerts", &[("Cookie", &cookie2)], b"").unwrap();
    assert_eq!(status, 401, "{body}");

    let log = svc.stop();
    let db = std::fs::read(dir.join("data/state.db")).unwrap();
    for secret in [session.as_str(), csrf.as_str(), analyst.as_str()] {
        assert!(!log.contains(secret), "a session secret reached the log");
        assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()), "stored");
    }
}

#[test]
fn traffic_is_counted_by_minute_for_the_charts() {
    let (dir, addr) = prepare("dashboard-traffic");
    let svc = start(&dir, addr);
    let now = now_ms();
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("logs/access.log"))
        .unwrap();
    // 30 calls two minutes ago, 12 of them failing; 5 a minute ago.
    for i in 0..35 {
        let (at, status) = match i {
            0..18 => (now - 120_000, 200),
            18..30 => (now - 120_000, 502),
            _ => (now - 60_000, 404),
        };
        writeln!(log, "{}", nginx_line_at(at, "198.51.100.9", "GET /api/items", status)).unwrap();
    }
    drop(log);
    let auth = format!("Bearer {ADMIN}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let traffic = loop {
        let (status, body) = http(
            addr,
            "GET",
            "/v1/metrics/traffic?since=10m&step=1m",
            &[("Authorization", &auth)],
            b"",
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let total: u64 =
            v["points"].as_array().unwrap().iter().map(|p| p["requests"].as_u64().unwrap()).sum();
        if total == 35 {
            break v;
        }
        assert!(std::time::Instant::now() < deadline, "not all counted: {body}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(traffic["step_ms"], 60_000);
    let sum = |field: &str| -> u64 {
        traffic["points"].as_array().unwrap().iter().map(|p| p[field].as_u64().unwrap()).sum()
    };
    assert_eq!((sum("status_2xx"), sum("status_4xx"), sum("status_5xx")), (18, 5, 12));
    let busiest = traffic["points"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|p| p["requests"].as_u64())
        .unwrap();
    assert_eq!(busiest["requests"], 30);
    // nginx's combined format carries no duration.
    assert!(busiest["latency_p99_ms"].is_null(), "{busiest}");

    // The source's health: what it delivered, how far behind the clock, not silent.
    let (status, body) =
        http(addr, "GET", "/v1/sources", &[("Authorization", &auth)], b"").unwrap();
    assert_eq!(status, 200, "{body}");
    let sources: serde_json::Value = serde_json::from_str(&body).unwrap();
    let edge = &sources["items"][0];
    assert_eq!((edge["name"].as_str(), edge["kind"].as_str()), (Some("gateway"), Some("file")));
    assert_eq!(edge["events_total"], 35, "{body}");
    assert_eq!(edge["silent"], false, "{body}");
    assert!(edge["lag_ms"].as_i64().unwrap() >= 59_000, "{body}");
    assert!(edge["events_per_second"].as_f64().unwrap() > 0.0, "{body}");

    let (status, _) =
        http(addr, "GET", "/v1/metrics/traffic?step=10s", &[("Authorization", &auth)], b"")
            .unwrap();
    assert_eq!(status, 400);
    let (status, _) = http(addr, "GET", "/v1/metrics/traffic", &[], b"").unwrap();
    assert_eq!(status, 401);

    // A restart keeps the counts: the minutes were saved in the state database.
    svc.stop();
    let svc = start(&dir, addr);
    let same_period = format!(
        "/v1/metrics/traffic?since={}&until={}&step=1m",
        traffic["since_ms"], traffic["until_ms"]
    );
    let (status, body) = http(addr, "GET", &same_period, &[("Authorization", &auth)], b"").unwrap();
    assert_eq!(status, 200, "{body}");
    let again: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(again["points"], traffic["points"], "{body}");
    assert_eq!(again["countries"], traffic["countries"]);
    svc.stop();
}

#[test]
fn the_dashboard_is_served_from_the_binary_with_a_strict_policy() {
    let (dir, addr) = prepare("dashboard-files");
    let svc = start(&dir, addr);
    let built = |name: &str| {
        std::fs::read_to_string(format!("{}/assets/dashboard/{name}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
    };
    for (path, file, content_type) in [
        ("/", "index.html", "text/html"),
        ("/assets/app.js", "app.js", "text/javascript"),
        ("/assets/app.css", "app.css", "text/css"),
        ("/assets/licenses.txt", "licenses.txt", "text/plain"),
    ] {
        let (status, head, body) = http_with_head(addr, "GET", path, &[], b"").unwrap();
        assert_eq!(status, 200, "{path}");
        assert_eq!(body, built(file), "{path} is not the built file");
        let head = head.to_ascii_lowercase();
        assert!(head.contains(&format!("content-type: {content_type}")), "{head}");
        for want in [
            "content-security-policy: default-src 'none'; script-src 'self'; style-src 'self';",
            "frame-ancestors 'none'",
            "x-content-type-options: nosniff",
            "referrer-policy: no-referrer",
        ] {
            assert!(head.contains(want), "{path}: {want} missing from {head}");
        }
    }
    // Every package the bundle is built from travels with its licence.
    let package: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/../dashboard/package.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let notices = built("licenses.txt");
    for (name, version) in package["dependencies"].as_object().unwrap() {
        let named = format!("\n{name} {} (", version.as_str().unwrap());
        assert!(notices.contains(&named), "licenses.txt lacks {name}");
    }
    // Scripts come only from files the policy allows: no inline script in the page.
    let index = built("index.html");
    assert_eq!(
        index.matches("<script").count(),
        index.matches("<script type=\"module\" src=").count()
    );
    // Nothing is loaded from elsewhere: the only absolute URLs are XML namespace names
    // (SVG, MathML), which name and load nothing.
    for file in ["index.html", "app.js", "app.css"] {
        let text = built(file).replace("http://www.w3.org/", "");
        assert!(
            !text.contains("https://") && !text.contains("http://"),
            "{file} names another origin"
        );
    }
    svc.stop();
}

const SQLI: &str =
    "GET /api/v1/products?id=1%27%20UNION%20SELECT%20username%2Cpassword%20FROM%20users--%20-";

/// GET with the administrator's token; the body as JSON.
fn get_json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let auth = format!("Bearer {ADMIN}");
    let (status, body) = http(addr, "GET", path, &[("Authorization", &auth)], b"").unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Asks `path` until `done` holds (20 s at most); returns the last answer.
fn wait_for(
    addr: SocketAddr,
    path: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let v = get_json(addr, path);
        if done(&v) {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "{path}: not yet: {v}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

fn append_lines(dir: &std::path::Path, lines: &[String]) {
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("logs/access.log"))
        .unwrap();
    for l in lines {
        writeln!(log, "{l}").unwrap();
    }
}

#[test]
fn the_threat_map_counts_countries_and_attacking_networks_and_rules_count_their_alerts() {
    let (dir, addr) = prepare("dashboard-geo");
    // MaxMind's test databases: 89.160.20.130 is in Sweden, AS29518 (Bredband2 AB);
    // 81.2.69.142 in Britain with no AS; 192.0.2.1 is in neither.
    let data = format!("{}/../crates/enrich/tests/data", env!("CARGO_MANIFEST_DIR"));
    // A risk threshold so low that the alert opens an incident.
    let text = format!(
        "geoip: {data}/GeoLite2-City-Test.mmdb\nasn: {data}/GeoLite2-ASN-Test.mmdb\n\
         correlate:\n  risk_threshold: 1\n{}",
        config(addr)
    );
    std::fs::write(dir.join("apiwatch.yaml"), text).unwrap();
    let svc = start(&dir, addr);
    let now = now_ms();
    let mut lines: Vec<String> =
        (0..3).map(|_| nginx_line_at(now, "89.160.20.130", SQLI, 500)).collect();
    lines.extend((0..5).map(|_| nginx_line_at(now, "81.2.69.142", "GET /api/items", 200)));
    lines.extend((0..2).map(|_| nginx_line_at(now, "192.0.2.1", "GET /api/items", 200)));
    append_lines(&dir, &lines);

    let geo = wait_for(addr, "/v1/metrics/geo?since=10m", |v| {
        v["networks"].as_array().is_some_and(|n| !n.is_empty())
            && v["countries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["requests"].as_u64().unwrap())
                .sum::<u64>()
                == 10
    });
    assert!(geo["until_ms"].as_i64().unwrap() - geo["since_ms"].as_i64().unwrap() == 600_000);
    let country = |code: &str| -> (u64, u64) {
        let c = geo["countries"].as_array().unwrap().iter().find(|c| c["country"] == code);
        let c = c.unwrap_or_else(|| panic!("no {code} in {geo}"));
        (c["requests"].as_u64().unwrap(), c["alerts"].as_u64().unwrap())
    };
    assert_eq!(geo["countries"][0]["country"], "GB", "most requests first: {geo}");
    assert_eq!(country("GB"), (5, 0));
    assert_eq!(country("SE"), (3, 1));
    assert_eq!(country("??"), (2, 0));
    assert_eq!(
        geo["networks"],
        serde_json::json!([{
            "network": "AS29518 Bredband2 AB", "asn": 29518, "org": "Bredband2 AB",
            "alerts": 1, "requests": 3, "addresses": 1, "countries": ["SE"],
        }]),
        "{geo}"
    );
    // An hour ago nothing happened.
    let earlier = get_json(addr, "/v1/metrics/geo?since=2h&until=1h");
    assert_eq!(earlier["networks"], serde_json::json!([]));

    // The rule that fired counts its alert and its incident; once the incident is closed as
    // a false positive, its rate is known. The other rules count nothing.
    let auth = format!("Bearer {ADMIN}");
    let incidents = wait_for(addr, "/v1/incidents?rule=injection-sqli", |v| v["total"] == 1);
    let sqli_rule = |rules: &serde_json::Value| -> serde_json::Value {
        rules["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "injection-sqli")
            .unwrap()
            .clone()
    };
    let sqli = sqli_rule(&get_json(addr, "/v1/rules"));
    assert_eq!((sqli["fired"].as_u64(), sqli["incidents"].as_u64()), (Some(1), Some(1)), "{sqli}");
    assert_eq!(sqli["false_positives"], 0, "{sqli}");
    assert!(sqli["false_positive_rate"].is_null(), "nothing closed yet: {sqli}");
    let path =
        format!("/v1/incidents/{}", incidents["items"][0]["incident"]["id"].as_str().unwrap());
    let closed = http(
        addr,
        "PATCH",
        &path,
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        br#"{"status":"false_positive"}"#,
    )
    .unwrap();
    assert_eq!(closed.0, 200, "{}", closed.1);
    let rules = get_json(addr, "/v1/rules");
    let sqli = sqli_rule(&rules);
    assert_eq!(
        (sqli["false_positives"].as_u64(), sqli["false_positive_rate"].as_f64()),
        (Some(1), Some(1.0)),
        "{sqli}"
    );
    let items = rules["items"].as_array().unwrap();
    let quiet = items.iter().find(|r| r["id"] != "injection-sqli").unwrap();
    assert_eq!((quiet["fired"].as_u64(), quiet["incidents"].as_u64()), (Some(0), Some(0)));
    assert!(quiet["false_positive_rate"].is_null(), "{quiet}");
    assert_eq!(
        rules["until_ms"].as_i64().unwrap() - rules["since_ms"].as_i64().unwrap(),
        86_400_000
    );
    let old = get_json(addr, "/v1/rules?since=3h&until=2h");
    let sqli = old["items"].as_array().unwrap().iter().find(|r| r["id"] == "injection-sqli");
    assert_eq!(sqli.unwrap()["fired"], 0);

    let bad =
        http(addr, "GET", "/v1/metrics/geo?since=1h&until=2h", &[("Authorization", &auth)], b"");
    assert_eq!(bad.unwrap().0, 400);
    let bad = http(addr, "GET", "/v1/rules?since=yesterday", &[("Authorization", &auth)], b"");
    assert_eq!(bad.unwrap().0, 400);
    assert_eq!(http(addr, "GET", "/v1/metrics/geo", &[], b"").unwrap().0, 401);

    // A restart keeps the map.
    svc.stop();
    let svc = start(&dir, addr);
    let again = get_json(
        addr,
        &format!("/v1/metrics/geo?since={}&until={}", geo["since_ms"], geo["until_ms"]),
    );
    assert_eq!(again["countries"], geo["countries"], "{again}");
    assert_eq!(again["networks"], geo["networks"], "{again}");
    svc.stop();
}

#[test]
fn a_source_that_goes_silent_is_alerted_on_once_per_silence() {
    let (dir, addr) = prepare("dashboard-silent");
    let text = config(addr)
        .replace("include: [logs/access.log]}", "include: [logs/access.log], silent_after: 2s}");
    std::fs::write(dir.join("apiwatch.yaml"), &text).unwrap();
    let svc = start(&dir, addr);
    let silent_alerts = "/v1/alerts?rule=source-silent";
    // Nothing delivered yet: not alerted on, however long it stays so.
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    assert_eq!(get_json(addr, silent_alerts)["total"], 0);

    append_lines(&dir, &[nginx_line_at(now_ms(), "198.51.100.9", "GET /api/items", 200)]);
    let sources = wait_for(addr, "/v1/sources", |v| v["items"][0]["events_total"] == 1);
    assert_eq!(sources["items"][0]["silent_after_ms"], 2_000);
    assert_eq!(sources["items"][0]["silent"], false);
    // No event at all arrives after this one; the check runs on a timer.
    let alerts = wait_for(addr, silent_alerts, |v| v["total"] == 1);
    let a = &alerts["items"][0];
    assert_eq!(
        (a["severity"].as_str(), a["title"].as_str()),
        (Some("medium"), Some("Source gateway went silent"))
    );
    assert_eq!(a["actor"], serde_json::json!({"observer.name": "gateway"}));
    assert_eq!(get_json(addr, "/v1/sources")["items"][0]["silent"], true);
    // Still silent: no second alert.
    std::thread::sleep(std::time::Duration::from_millis(3_000));
    assert_eq!(get_json(addr, silent_alerts)["total"], 1);

    // It delivers, then falls silent again: one more.
    append_lines(&dir, &[nginx_line_at(now_ms(), "198.51.100.9", "GET /api/items", 200)]);
    wait_for(addr, "/v1/sources", |v| v["items"][0]["events_total"] == 2);
    wait_for(addr, silent_alerts, |v| v["total"] == 2);
    let log = svc.stop();
    assert!(log.contains("source-silent"), "the alert is logged: {log}");
}
