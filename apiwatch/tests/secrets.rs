//! Secrets planted in every input format never reach any output: alerts (with evidence),
//! the text and JSON summaries, or error messages.

mod common;

use common::{apiwatch, scratch, OutputText};

/// A JWT whose payload says `{"sub":"mallory","jti":"j-1","roles":["user"]}`.
const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtYWxsb3J5IiwianRpIjoiai0xIiwicm9sZXMiOlsidXNlciJdfQ.c2lnbmF0dXJlLW5vdC1jaGVja2Vk";
const API_KEY: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const PASSWORD: &str = "Tr0ub4dor&3xyz";
const CARD: &str = "4539578763621486";
const COOKIE: &str = "s3ss10n-c00k1e-v4lue-9f8e7d";
const BASIC: &str = "YWxpY2U6aHVudGVyMg=="; // alice:hunter2

fn secrets() -> Vec<&'static str> {
    vec![JWT, API_KEY, PASSWORD, CARD, COOKIE, BASIC, "hunter2", "c2lnbmF0dXJlLW5vdC1jaGVja2Vk"]
}

/// A rule that fires for every address, so that every event can appear as evidence.
const EVERY_EVENT_RULE: &str = r#"
id: every-event
title: Every event
severity: low
owasp: API8:2023
kind: match
group_by: [source.ip]
suppress: 1h
tests:
  fire:
    - name: any event
      events: [{"@timestamp": "2026-03-02T10:00:00Z", "source.ip": "192.0.2.1"}]
  quiet:
    - name: no address, no actor
      events: [{"@timestamp": "2026-03-02T10:00:00Z", "user.name": "x"}]
"#;

fn inputs() -> Vec<(&'static str, String)> {
    let nginx = format!(
        "198.51.100.1 - - [02/Mar/2026:10:00:00 +0000] \"GET /api/v1/reset/{JWT}?token={API_KEY}&password={PASSWORD}&card={CARD} HTTP/1.1\" 200 12 \"https://example.com/?api_key={API_KEY}\" \"curl/8.0 {JWT}\"\n\
         198.51.100.2 - - [02/Mar/2026:10:00:01 +0000] \"POST /login?pwd={PASSWORD} HTTP/1.1\" 401 12 \"-\" \"Mozilla/5.0\"\n\
         198.51.100.3 - - [02/Mar/2026:10:00:02 +0000] \"GET /broken?token={API_KEY} HTTP/1.1\" notastatus\n"
    );
    let kong = format!(
        concat!(
            r#"{{"started_at":1772445600000,"client_ip":"198.51.100.11","latencies":{{"request":12,"kong":1,"proxy":10}},"#,
            r#""request":{{"method":"GET","uri":"/api/v1/orders/7?api_key={key}","url":"http://api.example.com/api/v1/orders/7?api_key={key}","size":120,"#,
            r#""querystring":{{"api_key":"{key}"}},"headers":{{"authorization":"Bearer {jwt}","x-api-key":"{key}","cookie":"session={cookie}","host":"api.example.com","user-agent":"okhttp/4.12"}}}},"#,
            r#""response":{{"status":200,"size":800,"headers":{{"set-cookie":"session={cookie}"}}}},"route":{{"name":"orders"}},"service":{{"name":"orders-svc"}}}}"#,
            "\n",
            r#"{{"started_at":1772445601000,"client_ip":"198.51.100.12","request":{{"method":"GET","uri":"/x","headers":{{"authorization":"Basic {basic}"}}}},"response":{{"status":401}}}}"#,
            "\n"
        ),
        key = API_KEY,
        jwt = JWT,
        cookie = COOKIE,
        basic = BASIC
    );
    let ecs = format!(
        concat!(
            r#"{{"@timestamp":"2026-03-02T10:00:03Z","event":{{"action":"user-login","outcome":"failure"}},"user":{{"name":"alice"}},"source":{{"ip":"198.51.100.21"}},"url":{{"path":"/login","query":"password={pwd}&card={card}"}},"http":{{"request":{{"headers":{{"authorization":"Bearer {jwt}"}}}}}}}}"#,
            "\n",
            r#"{{"@timestamp":"2026-03-02T10:00:04Z","message":"user typed {pwd}","source":{{"ip":"198.51.100.22"}},"labels":{{"api_token":"{key}","note":"card {card}"}}}}"#,
            "\n"
        ),
        pwd = PASSWORD,
        card = CARD,
        jwt = JWT,
        key = API_KEY
    );
    let apigw = format!(
        concat!(
            r#"{{"requestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef","ip":"198.51.100.31","requestTime":"02/Mar/2026:10:00:05 +0000","requestTimeEpoch":1772445605000,"#,
            r#""httpMethod":"GET","resourcePath":"/pets/{{petId}}","path":"/pets/7?token={key}","status":"200","protocol":"HTTP/1.1","responseLength":"42","userAgent":"curl/8 {jwt}"}}"#,
            "\n"
        ),
        key = API_KEY,
        jwt = JWT
    );
    let alb = format!(
        "https 2026-03-02T10:00:06.000000Z app/my-lb/50dc6c495c0c9188 198.51.100.41:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 \"GET https://api.example.com:443/v1/items?access_token={API_KEY}&card={CARD} HTTP/1.1\" \"curl/8.0 {JWT}\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 \"Root=1-58337262-36d228ad5d99923122bbe354\" \"api.example.com\" \"-\" 0 2026-03-02T10:00:05.999000Z \"forward\" \"-\" \"-\" \"10.0.0.1:80\" \"200\" \"-\" \"-\"\n"
    );
    let envoy = format!(
        "[2026-03-02T10:00:07.000Z] \"GET /v1/items?secret={PASSWORD}&token={API_KEY} HTTP/1.1\" 200 - 0 42 3 2 \"198.51.100.51\" \"curl/8.0 {JWT}\" \"a7f1c2d3-1111-2222-3333-444455556666\" \"api.example.com\" \"10.0.0.9:8080\"\n"
    );
    vec![
        ("nginx.log", nginx),
        ("kong.jsonl", kong),
        ("ecs.jsonl", ecs),
        ("apigw.jsonl", apigw),
        ("alb.log", alb),
        ("envoy.log", envoy),
    ]
}

fn assert_clean(what: &str, text: &str) {
    for s in secrets() {
        assert!(!text.contains(s), "{what} contains the secret {s:?}:\n{text}");
    }
}

#[test]
fn no_output_contains_a_planted_secret() {
    let dir = scratch("secrets");
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("every-event.yaml"), EVERY_EVENT_RULE).unwrap();
    let mut args: Vec<String> = vec!["replay".into()];
    for (name, text) in inputs() {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        args.push(p.display().to_string());
    }
    let alerts = dir.join("alerts.jsonl");
    args.extend([
        "--rules".into(),
        rules.display().to_string(),
        "--alerts-out".into(),
        alerts.display().to_string(),
    ]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();

    let text_run = apiwatch(&dir, &argv);
    let mut json_argv = argv.clone();
    json_argv.extend(["-o", "json"]);
    let json_run = apiwatch(&dir, &json_argv);
    let alerts_text = std::fs::read_to_string(&alerts).unwrap();

    // Every input decoded (but the one broken nginx line), and every address alerted, so the
    // evidence really holds every event.
    let summary: serde_json::Value =
        serde_json::from_slice(&json_run.stdout).expect("JSON summary");
    for input in summary["inputs"].as_array().unwrap() {
        assert!(input["events"].as_u64().unwrap() >= 1, "input decoded nothing: {input}");
    }
    assert_eq!(summary["inputs"][0]["unparsed"], 1, "{summary}");
    assert_eq!(
        alerts_text.lines().count() as u64,
        summary["events"].as_u64().unwrap(),
        "one alert per address"
    );

    assert_clean("the alerts", &alerts_text);
    assert_clean("the text summary", &text_run.stdout_text());
    assert_clean("stderr", &text_run.stderr_text());
    assert_clean("the JSON summary", &json_run.stdout_text());
    assert_clean("stderr (JSON run)", &json_run.stderr_text());

    // The same token seen twice gets the same pseudonym: it is still usable as an actor.
    let alerts: Vec<serde_json::Value> =
        alerts_text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kong_alert = alerts
        .iter()
        .find(|a| a["actor"]["source.ip"] == "198.51.100.11")
        .expect("kong event alerted");
    let ev = &kong_alert["evidence"][0];
    assert_eq!(ev["user"]["name"], "mallory", "JWT claims read before redaction: {ev}");
    assert_eq!(ev["token"]["id"], "j-1", "{ev}");
    assert!(ev["api_key"]["id"].as_str().is_some_and(|k| k.starts_with("key_")), "{ev}");
}
