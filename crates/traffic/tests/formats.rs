//! The lines look like the real thing.

mod common;

use apiwatch_traffic::{
    write_ecs, write_kong, write_kong_compact, write_nginx, Generator, Record, RecordKind,
    TrafficConfig,
};
use regex::Regex;
use serde_json::Value;

fn demo_records() -> Vec<Record> {
    Generator::new(&TrafficConfig::demo(21)).collect()
}

#[test]
fn nginx_lines_are_combined_plus_request_time() {
    // $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
    // "$http_referer" "$http_user_agent" $request_time
    let re = Regex::new(
        r#"^(\d{1,3}(?:\.\d{1,3}){3}) - (\S+) \[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000)\] "([A-Z]+) (/[^" ]*) HTTP/1\.1" (\d{3}) (\d+) "([^"]*)" "([^"]*)" (\d+\.\d{3})$"#,
    )
    .unwrap();
    let mut buf = Vec::new();
    let mut lines = 0;
    for rec in demo_records() {
        buf.clear();
        write_nginx(&rec, &mut buf);
        let Some(h) = rec.http() else {
            assert!(buf.is_empty(), "nginx wrote a login event");
            continue;
        };
        let line = std::str::from_utf8(&buf).expect("ASCII");
        let line = line.strip_suffix('\n').expect("one line");
        assert!(!line.contains('\n'));
        let c = re.captures(line).unwrap_or_else(|| panic!("not a combined line: {line}"));
        assert_eq!(&c[1], h.client_ip.to_string());
        assert_eq!(&c[4], h.method);
        assert_eq!(c[6].parse::<u16>().unwrap(), h.status);
        match (&h.user, &c[2]) {
            (Some(u), got) => assert_eq!(got, &**u),
            (None, got) => assert_eq!(got, "-"),
        }
        if h.token.is_some() {
            assert_ne!(&c[2], "-", "an authenticated call without $remote_user: {line}");
        }
        lines += 1;
    }
    assert!(lines > 10_000);
    // A known line, whole.
    let mut rec =
        Record { ts_ms: 1_795_465_860_123, scenario: "benign/users", ..Record::default() };
    if let RecordKind::Http(h) = &mut rec.kind {
        h.client_ip = "81.2.69.160".parse().unwrap();
        h.uri = "/api/v1/search?q=x\"y".into();
        h.status = 200;
        h.response_bytes = 512;
        h.duration_ms = 1_042;
        h.user_agent = "curl/8.5.0";
        h.user = Some("alice".into());
    }
    buf.clear();
    write_nginx(&rec, &mut buf);
    assert_eq!(
        String::from_utf8(buf.clone()).unwrap(),
        "81.2.69.160 - alice [23/Nov/2026:20:31:00 +0000] \"GET /api/v1/search?q=x\\x22y HTTP/1.1\" 200 512 \"-\" \"curl/8.5.0\" 1.042\n"
    );
}

#[test]
fn kong_lines_are_json_with_kongs_fields() {
    let bytes_per_line = check_kong_lines(write_kong);
    assert!(bytes_per_line > 2_000, "full lines carry route and service objects: {bytes_per_line}");
}

#[test]
fn trimmed_kong_lines_have_the_same_fields_in_about_a_kilobyte() {
    let bytes_per_line = check_kong_lines(write_kong_compact);
    assert!((800..1_600).contains(&bytes_per_line), "{bytes_per_line} bytes a line");
}

/// Checks every demo call's line; returns the mean line length in bytes.
fn check_kong_lines(write: fn(&Record, &mut Vec<u8>)) -> usize {
    let mut buf = Vec::new();
    let (mut consumers, mut bearer, mut n, mut bytes) = (0, 0, 0, 0);
    for rec in demo_records() {
        buf.clear();
        write(&rec, &mut buf);
        bytes += buf.len();
        let Some(h) = rec.http() else {
            assert!(buf.is_empty());
            continue;
        };
        let v: Value = serde_json::from_slice(&buf)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&buf)));
        assert_eq!(v["request"]["method"], h.method);
        assert_eq!(v["request"]["uri"], h.uri.as_str());
        assert!(v["request"]["headers"].is_object());
        assert_eq!(v["request"]["headers"]["user-agent"], h.user_agent);
        assert_eq!(v["response"]["status"], h.status);
        assert_eq!(v["started_at"], rec.ts_ms);
        assert_eq!(v["client_ip"], h.client_ip.to_string());
        assert_eq!(v["latencies"]["request"], h.duration_ms);
        assert!(v["latencies"]["proxy"].is_u64() && v["latencies"]["kong"].is_u64());
        assert!(v["route"]["name"].is_string() && v["service"]["name"].is_string());
        if let Some(t) = &h.token {
            let auth = v["request"]["headers"]["authorization"].as_str().expect("authorization");
            assert_eq!(auth, format!("Bearer {}", t.jwt));
            assert!(v["consumer"]["username"].is_string());
            bearer += 1;
        }
        if let Some(c) = h.consumer {
            assert_eq!(v["consumer"]["username"], c.name);
            assert_eq!(v["request"]["headers"]["apikey"], c.key);
            consumers += 1;
        }
        if h.token.is_none() && h.consumer.is_none() {
            assert!(v.get("consumer").is_none(), "anonymous call with a consumer");
        }
        n += 1;
    }
    assert!(n > 10_000 && bearer > 1_000, "{n} lines, {bearer} with a bearer token");
    // The demo runs from 08:00: no partner pulls. A night has them.
    let night = TrafficConfig {
        start_ms: TrafficConfig::default().start_ms,
        duration_ms: 4 * 3_600_000,
        ..TrafficConfig::demo(1)
    };
    for rec in Generator::new(&night).filter(|r| r.scenario == "benign/batch").take(5) {
        buf.clear();
        write(&rec, &mut buf);
        let v: Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["consumer"]["username"], "partner-acme");
        consumers += 1;
    }
    assert!(consumers >= 5);
    bytes / n
}

#[test]
fn kong_decodes_query_strings_like_kong() {
    let recs = demo_records();
    let rec = recs
        .iter()
        .find(|r| {
            r.http().is_some_and(|h| h.uri == "/api/v1/products?id=1%27%20OR%20%271%27%3D%271")
        })
        .expect("the SQLi probe");
    let mut buf = Vec::new();
    write_kong(rec, &mut buf);
    let v: Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(v["request"]["querystring"]["id"], "1' OR '1'='1");
}

#[test]
fn ecs_lines_are_login_events() {
    let mut buf = Vec::new();
    let (mut ok, mut failed) = (0, 0);
    for rec in demo_records() {
        buf.clear();
        write_ecs(&rec, &mut buf);
        let Some(l) = rec.login() else {
            assert!(buf.is_empty(), "ECS wrote an API call");
            continue;
        };
        let v: Value = serde_json::from_slice(&buf).unwrap();
        let ts = v["@timestamp"].as_str().unwrap();
        assert_eq!(apiwatch_core::time::parse_rfc3339_ms(ts), Ok(rec.ts_ms));
        assert_eq!(v["event"]["action"], "user-login");
        assert_eq!(v["event"]["category"][0], "authentication");
        assert_eq!(v["event"]["outcome"], l.outcome.as_str());
        assert_eq!(v["user"]["name"], &*l.user);
        assert_eq!(v["source"]["ip"], l.source_ip.to_string());
        assert_eq!(v["user_agent"]["original"], l.user_agent);
        match l.outcome {
            apiwatch_core::Outcome::Success => {
                assert_eq!(v["token"]["id"], l.token.as_ref().unwrap().jti.as_str());
                ok += 1;
            }
            _ => {
                assert!(v["event"]["reason"].is_string());
                failed += 1;
            }
        }
    }
    assert!(ok > 100 && failed > 100, "{ok} successes, {failed} failures");
}
