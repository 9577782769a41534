//! The response side of `apiwatch run`, end to end through the binary: alerts stored and
//! folded into incidents, rule decisions served to a real CrowdSec bouncer (Debian's
//! `crowdsec-custom-bouncer`) and lifted through the CLI, the application webhook, signed
//! notifications, the live stream, token roles, the audit trail, and HTTPS.

mod common;

use common::receiver::Receiver;
use common::service::{free_port, http, nginx_line_at, now_ms, Service};
use common::{apiwatch, scratch, OutputText};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

const ADMIN: &str = "admin-token-0123456789abcdef";
const PROBE_IP: &str = "203.0.113.66";

fn append(path: &Path, lines: &[String]) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    f.write_all((lines.join("\n") + "\n").as_bytes()).unwrap();
}

/// A sweep for sensitive files from one address: `recon-sensitive-file-probe` fires (medium,
/// proposes a six-hour block of the address).
fn probe_lines(ip: &str) -> Vec<String> {
    let t = now_ms();
    ["/.env", "/.git/config", "/wp-config.php.bak", "/backup.sql", "/server-status"]
        .iter()
        .enumerate()
        .map(|(i, p)| nginx_line_at(t + i as i64 * 1000, ip, &format!("GET {p}"), 404))
        .collect()
}

/// A configuration with a followed log, the API, one rule enforcing its decisions, a risk
/// threshold low enough for one medium alert to open an incident, and a webhook channel and
/// an application webhook pointing at `hook`.
fn config(listen: SocketAddr, hook: SocketAddr, extra: &str) -> String {
    format!(
        "data_dir: data
listen: {listen}
api:
  token: ${{API_TOKEN}}
storage:
  commit_interval: 100ms
sources:
  - type: file
    name: gateway
    format: nginx
    include: [logs/access.log]
correlate:
  risk_threshold: 10
decisions:
  mode: propose
  rules:
    recon-sensitive-file-probe: enforce
  allow:
    - {{scope: range, value: 198.51.100.0/24, reason: office}}
  application:
    url: http://{hook}/apiwatch/decisions
    secret: ${{APP_SECRET}}
notify:
  channels:
    - name: hook
      type: webhook
      url: http://{hook}/notify
      secret: ${{HOOK_SECRET}}
  routes:
    - channels: [hook]
{extra}"
    )
}

const APP_SECRET: &str = "app-secret-0123456789";
const HOOK_SECRET: &str = "hook-secret-0123456789";

fn envs() -> Vec<(&'static str, &'static str)> {
    vec![("API_TOKEN", ADMIN), ("APP_SECRET", APP_SECRET), ("HOOK_SECRET", HOOK_SECRET)]
}

fn get_json(addr: SocketAddr, path: &str, token: &str) -> serde_json::Value {
    let auth = format!("Bearer {token}");
    let (status, body) = http(addr, "GET", path, &[("Authorization", &auth)], b"").unwrap();
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Makes a token locally with the CLI (as an operator does before starting bouncers).
fn make_token(dir: &Path, name: &str, role: &str) -> String {
    let out = common::service::run_with_env(
        dir,
        &["tokens", "create", "-c", "apiwatch.yaml", "--name", name, "--role", role, "-o", "json"],
        &envs(),
    );
    assert!(out.status.success(), "{}", out.stderr_text());
    let v: serde_json::Value = serde_json::from_str(out.stdout_text().trim()).unwrap();
    v["token"].as_str().unwrap().to_string()
}

/// A child process stopped when the test ends, passed or failed.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The custom bouncer's binary, or why the test cannot run.
fn custom_bouncer() -> Option<&'static str> {
    let bin = "/usr/bin/crowdsec-custom-bouncer";
    if Path::new(bin).exists() {
        return Some(bin);
    }
    if std::env::var("APIWATCH_SKIP_CROWDSEC").as_deref() == Ok("1") {
        eprintln!("skipped: {bin} is not installed and APIWATCH_SKIP_CROWDSEC=1");
        return None;
    }
    panic!("{bin} is missing: `apt-get install crowdsec-custom-bouncer` (scripts/test does it), or set APIWATCH_SKIP_CROWDSEC=1 to skip");
}

/// A rule's block reaches a real CrowdSec bouncer through the Local API endpoints, and
/// lifting it (with the CLI) removes it there; the incident, the application call for the
/// decision, the signed notification and the audit trail are checked on the way.
#[test]
fn a_rule_decision_reaches_a_crowdsec_bouncer_and_lifting_removes_it() {
    let Some(bouncer_bin) = custom_bouncer() else { return };
    let dir = scratch("respond-crowdsec");
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let hook = Receiver::start();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    std::fs::write(dir.join("apiwatch.yaml"), config(addr, hook.addr, "")).unwrap();
    let bouncer_key = make_token(&dir, "firewall", "bouncer");
    let svc = Service::start(&dir, "apiwatch.yaml", Some(addr), &envs());

    // The bouncer: its script appends each call (`add IP SECONDS REASON JSON`, `del …`).
    let calls = dir.join("bouncer-calls.txt");
    let script = dir.join("bouncer.sh");
    std::fs::write(&script, format!("#!/bin/sh\necho \"$@\" >> {}\n", calls.display())).unwrap();
    std::process::Command::new("chmod").args(["+x", script.to_str().unwrap()]).status().unwrap();
    let bouncer_cfg = dir.join("bouncer.yaml");
    std::fs::write(
        &bouncer_cfg,
        format!(
            "bin_path: {}\nfeed_via_stdin: false\ntotal_retries: 0\nscenarios_containing: []\nscenarios_not_containing: []\norigins: []\npiddir: {}\nupdate_frequency: 1s\ncache_retention_duration: 1s\ndaemonize: false\nlog_mode: stdout\nlog_level: info\napi_url: http://{addr}/\napi_key: {bouncer_key}\nprometheus:\n  enabled: false\n  listen_addr: 127.0.0.1\n  listen_port: {}\n",
            script.display(),
            dir.display(),
            free_port()
        ),
    )
    .unwrap();
    let bouncer_log = std::fs::File::create(dir.join("bouncer.log")).unwrap();
    let bouncer = Stopped(
        std::process::Command::new(bouncer_bin)
            .args(["-c", bouncer_cfg.to_str().unwrap()])
            .stdout(bouncer_log.try_clone().unwrap())
            .stderr(bouncer_log)
            .spawn()
            .unwrap(),
    );
    let bouncer_calls = || std::fs::read_to_string(&calls).unwrap_or_default();

    append(&dir.join("logs/access.log"), &probe_lines(PROBE_IP));
    let added = wait_for(30, "the bouncer adds the block", || {
        bouncer_calls()
            .lines()
            .find(|l| l.starts_with(&format!("add {PROBE_IP} ")))
            .map(String::from)
    });
    // `add IP SECONDS REASON JSON`: the rule asks for six hours.
    let secs: i64 = added.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!((21_500..=21_600).contains(&secs), "{added}");

    let decisions = get_json(addr, "/v1/decisions?status=active", ADMIN);
    let d = &decisions["items"][0];
    assert_eq!(d["value"], PROBE_IP, "{decisions}");
    assert_eq!(d["origin"]["name"], "recon-sensitive-file-probe");
    let incident_id = d["incident_id"].as_str().expect("the decision names its incident");

    // The incident folds the alert; its timeline carries the evidence.
    let inc = get_json(addr, &format!("/v1/incidents/{incident_id}"), ADMIN);
    assert_eq!(inc["triage"]["status"], "open", "{inc}");
    assert_eq!(inc["timeline"][0]["rule"], "recon-sensitive-file-probe", "{inc}");
    assert!(inc["incident"]["actors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == &format!("ip:{PROBE_IP}")));

    // Lifting with the CLI (cscli style) removes it from the bouncer.
    let out = common::service::run_with_env(
        &dir,
        &[
            "decisions",
            "delete",
            "--ip",
            PROBE_IP,
            "--url",
            &format!("http://{addr}"),
            "--token",
            ADMIN,
        ],
        &[],
    );
    assert!(out.status.success(), "{}", out.stderr_text());
    assert!(out.stdout_text().contains("lifted"), "{}", out.stdout_text());
    wait_for(30, "the bouncer deletes the block", || {
        bouncer_calls().lines().any(|l| l.starts_with(&format!("del {PROBE_IP} "))).then_some(())
    });
    drop(bouncer);

    // The office network is allow-listed: its sweep is an alert, never a decision.
    let office = "198.51.100.7";
    append(&dir.join("logs/access.log"), &probe_lines(office));
    wait_for(30, "the office's alert is stored", || {
        let a = get_json(addr, &format!("/v1/alerts?actor=ip:{office}"), ADMIN);
        (a["total"] == 1).then_some(())
    });
    // The decision would be made right after the alert is stored: give it the time.
    std::thread::sleep(Duration::from_millis(500));
    let d = get_json(addr, &format!("/v1/decisions?scope=ip&value={office}"), ADMIN);
    assert_eq!(d["total"], 0, "an allow-listed address got a decision: {d}");

    // Live mode: nothing active on the address any more.
    let (status, body) = http(
        addr,
        "GET",
        &format!("/v1/decisions?ip={PROBE_IP}"),
        &[("X-Api-Key", &bouncer_key)],
        b"",
    )
    .unwrap();
    assert_eq!((status, body.as_str()), (200, "null"));

    // The signed notification of the incident reached the webhook.
    let n = hook.wait_for(10, |r| r.path == "/notify" && r.body.contains("incident_opened"));
    let ts = n.headers["x-apiwatch-timestamp"].clone();
    let want = hmac_hex(HOOK_SECRET, &format!("{ts}.{}", n.body));
    assert_eq!(n.headers["x-apiwatch-signature"], format!("sha256={want}"));

    // The audit trail names who lifted what, from where.
    let audit = get_json(addr, "/v1/audit?action=decision.lift", ADMIN);
    let entry = &audit["items"][0];
    assert_eq!(
        (entry["who"].as_str(), entry["from"].as_str()),
        (Some("config"), Some("127.0.0.1")),
        "{audit}"
    );

    let log = svc.stop();
    for secret in [ADMIN, APP_SECRET, HOOK_SECRET, bouncer_key.as_str()] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
}

fn hmac_hex(key: &str, text: &str) -> String {
    // A tiny HMAC-SHA256 via openssl keeps the tests free of crypto crates.
    let out = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", key])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(text.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&out.stdout).rsplit(' ').next().unwrap().trim().to_string()
}

/// Roles decide what a token may do; tokens are stored as hashes; every change is audited;
/// a person's block is served to bouncers and a lock goes to the application's webhook.
#[test]
fn roles_limit_what_each_token_may_do_and_changes_are_audited() {
    let dir = scratch("respond-roles");
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let hook = Receiver::start();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    std::fs::write(dir.join("apiwatch.yaml"), config(addr, hook.addr, "")).unwrap();
    let viewer = make_token(&dir, "dashboard", "viewer");
    let analyst = make_token(&dir, "alice", "analyst");
    let bouncer = make_token(&dir, "nginx-bouncer", "bouncer");
    let agent = make_token(&dir, "shipper", "agent");
    let svc = Service::start(&dir, "apiwatch.yaml", Some(addr), &envs());
    let call = |method: &str, path: &str, token: &str, body: &str| {
        let auth = format!("Bearer {token}");
        http(
            addr,
            method,
            path,
            &[("Authorization", &auth), ("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .unwrap()
    };
    let block = r#"{"action":"block","scope":"ip","value":"192.0.2.99","duration":"2h","reason":"manual test"}"#;
    assert_eq!(call("GET", "/v1/alerts", "aw_not-a-real-token", "").0, 401);
    assert_eq!(call("GET", "/v1/alerts", &viewer, "").0, 200);
    assert_eq!(call("POST", "/v1/decisions", &viewer, block).0, 403);
    assert_eq!(call("GET", "/v1/alerts", &bouncer, "").0, 403);
    assert_eq!(call("GET", "/v1/alerts", &agent, "").0, 403);
    assert_eq!(call("GET", "/v1/audit", &viewer, "").0, 403);
    assert_eq!(call("POST", "/v1/tokens", &analyst, r#"{"name":"x","role":"admin"}"#).0, 403);

    // Only an administrator enforces at once; anyone may ask for approval instead; an
    // incident named must exist.
    let enforce = block.replace(r#""reason""#, r#""mode":"enforce","reason""#);
    assert_eq!(call("POST", "/v1/decisions", &analyst, &enforce).0, 403);
    let propose = block
        .replace("192.0.2.99", "192.0.2.98")
        .replace(r#""reason""#, r#""mode":"propose","reason""#);
    let (status, body) = call("POST", "/v1/decisions", ADMIN, &propose);
    assert_eq!(
        (status, serde_json::from_str::<serde_json::Value>(&body).unwrap()["status"].as_str()),
        (200, Some("proposed")),
        "{body}"
    );
    let linked = block.replace(r#""reason""#, r#""incident_id":"inc-none","reason""#);
    let (status, body) = call("POST", "/v1/decisions", ADMIN, &linked);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("incident_id"), "{body}");

    // An analyst's decision waits; an administrator approves it; the bouncer then sees it.
    let (status, body) = call("POST", "/v1/decisions", &analyst, block);
    assert_eq!(status, 200, "{body}");
    let d: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(d["status"], "proposed");
    let id = d["id"].as_i64().unwrap();
    let (_, stream) = call("GET", "/v1/decisions/stream?startup=true", &bouncer, "");
    assert!(!stream.contains("192.0.2.99"), "a proposal is not enforced: {stream}");
    assert_eq!(call("POST", &format!("/v1/decisions/{id}/approve"), &analyst, "").0, 403);
    let (status, body) = call("POST", &format!("/v1/decisions/{id}/approve"), ADMIN, "");
    assert_eq!(status, 200, "{body}");
    let (_, stream) = call("GET", "/v1/decisions/stream", &bouncer, "");
    let s: serde_json::Value = serde_json::from_str(&stream).unwrap();
    assert_eq!(s["new"][0]["value"], "192.0.2.99", "{stream}");
    assert_eq!(s["new"][0]["type"], "ban");
    assert_eq!(s["new"][0]["scenario"], "manual");
    let (_, again) = call("GET", "/v1/decisions/stream", &bouncer, "");
    assert_eq!(again, r#"{"new":[],"deleted":[]}"#, "a change is sent once");
    // Live mode (a bouncer asking per request) sees it at once, in CrowdSec's shape.
    let (status, live) =
        http(addr, "GET", "/v1/decisions?ip=192.0.2.99", &[("X-Api-Key", &bouncer)], b"").unwrap();
    assert_eq!(status, 200);
    let live: serde_json::Value = serde_json::from_str(&live).unwrap();
    assert_eq!(
        (live[0]["value"].as_str(), live[0]["type"].as_str()),
        (Some("192.0.2.99"), Some("ban"))
    );
    // An administrator pushes its end an hour later, with the CLI.
    let before = get_json(addr, &format!("/v1/decisions/{id}"), ADMIN)["expires_at_ms"].as_i64();
    let url = format!("http://{addr}");
    let args =
        ["decisions", "extend", &id.to_string(), "--by", "1h", "--url", &url, "--token", ADMIN];
    let out = common::service::run_with_env(&dir, &args, &[]);
    assert!(out.status.success(), "{}", out.stderr_text());
    let after = get_json(addr, &format!("/v1/decisions/{id}"), ADMIN)["expires_at_ms"].as_i64();
    assert_eq!(after, before.map(|b| b + 3_600_000));

    // A lock is the application's to carry out: its webhook is called, signed.
    let lock =
        r#"{"action":"lock","scope":"user","value":"mallory","duration":"1h","reason":"stolen"}"#;
    let (status, body) = call("POST", "/v1/decisions", ADMIN, lock);
    assert_eq!(status, 200, "{body}");
    let app = hook.wait_for(10, |r| r.path == "/apiwatch/decisions" && r.body.contains("mallory"));
    let ts = app.headers["x-apiwatch-timestamp"].clone();
    assert_eq!(
        app.headers["x-apiwatch-signature"],
        format!("sha256={}", hmac_hex(APP_SECRET, &format!("{ts}.{}", app.body)))
    );
    let lock_id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"].as_i64().unwrap();
    wait_for(10, "the application's answer is recorded", || {
        let d = get_json(addr, &format!("/v1/decisions/{lock_id}"), ADMIN);
        d["outcome"].as_str().filter(|o| o.starts_with("done")).map(|_| ())
    });

    // Audit: who, what, from where; and nobody can change it through the API.
    let audit = get_json(addr, "/v1/audit", ADMIN);
    let actions: Vec<&str> =
        audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for want in ["decision.add", "decision.approve", "token.create"] {
        assert!(actions.contains(&want), "{want} missing from {actions:?}");
    }
    assert_eq!(call("DELETE", "/v1/audit", ADMIN, "").0, 405);

    let svc_log = svc.stop();
    let db = std::fs::read(dir.join("data/state.db")).unwrap();
    for secret in [viewer.as_str(), analyst.as_str(), bouncer.as_str(), agent.as_str(), ADMIN] {
        assert!(!contains(&db, secret.as_bytes()), "a token's secret is stored");
        assert!(!svc_log.contains(secret), "a token's secret reached the log");
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// `GET /v1/stream` sends each new alert, incident and decision as a server-sent event.
#[test]
fn the_live_stream_sends_alerts_incidents_and_decisions() {
    let dir = scratch("respond-stream");
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let hook = Receiver::start();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    std::fs::write(dir.join("apiwatch.yaml"), config(addr, hook.addr, "")).unwrap();
    let svc = Service::start(&dir, "apiwatch.yaml", Some(addr), &envs());
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.contains("200"), "{status}");
    append(&dir.join("logs/access.log"), &probe_lines("203.0.113.77"));
    let mut seen = std::collections::BTreeSet::new();
    let mut kind = String::new();
    let mut alert_names_incident = false;
    let deadline = Instant::now() + Duration::from_secs(30);
    while (seen.len() < 3 || !alert_names_incident) && Instant::now() < deadline {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if let Some(k) = line.trim().strip_prefix("event: ") {
            kind = k.to_string();
            seen.insert(kind.clone());
        } else if kind == "alert" && line.starts_with("data: ") {
            alert_names_incident |= line.contains(r#""incident_id":"inc-"#);
        }
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["alert", "decision", "incident"]);
    assert!(alert_names_incident, "an alert on the stream names the incident it joined");
    drop(reader);
    let mut rest = Vec::new();
    let _ = s.set_read_timeout(Some(Duration::from_millis(10)));
    let _ = s.read_to_end(&mut rest);
    svc.stop();
}

/// With a certificate, the API is served over HTTPS (rustls); without one, a non-loopback
/// listen address is refused unless plain HTTP is explicitly allowed.
#[test]
fn https_when_a_certificate_is_set_and_no_plain_http_off_loopback() {
    let dir = scratch("respond-tls");
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let hook = Receiver::start();
    let bad = config("0.0.0.0:8443".parse().unwrap(), hook.addr, "");
    std::fs::write(dir.join("apiwatch.yaml"), &bad).unwrap();
    let out = apiwatch(&dir, &["check-config", "apiwatch.yaml"]);
    assert!(!out.status.success());
    assert!(out.stderr_text().contains("api.tls"), "{}", out.stderr_text());

    // A private CA and a server certificate it signed (rustls refuses a self-signed
    // certificate that is its own CA as an end entity).
    let openssl = |args: &[&str]| {
        let out =
            std::process::Command::new("openssl").args(args).current_dir(&dir).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let ca_args = ["-days", "2", "-subj", "/CN=test CA", "-keyout", "ca.key", "-out", "ca.pem"];
    openssl(&[&["req", "-x509"][..], &ec, &ca_args].concat());
    let csr_args = ["-subj", "/CN=localhost", "-keyout", "key.pem", "-out", "server.csr"];
    openssl(&[&["req"][..], &ec, &csr_args].concat());
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "cert.pem",
    ]);
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let cfg = config(addr, hook.addr, "")
        .replace("api:\n", "api:\n  tls: {cert: cert.pem, key: key.pem}\n");
    std::fs::write(dir.join("apiwatch.yaml"), cfg).unwrap();
    let svc = Service::start(&dir, "apiwatch.yaml", None, &envs());
    let url = format!("https://localhost:{}", addr.port());
    let out = wait_for(30, "the HTTPS API answers", || {
        let out = common::service::run_with_env(
            &dir,
            &[
                "alerts",
                "list",
                "--url",
                &url,
                "--token",
                ADMIN,
                "--ca-file",
                "ca.pem",
                "-o",
                "json",
            ],
            &[],
        );
        out.status.success().then_some(out)
    });
    let v: serde_json::Value = serde_json::from_str(&out.stdout_text()).unwrap();
    assert_eq!(v["total"], 0);
    // Plain HTTP to the TLS port gets nothing.
    assert!(http(addr, "GET", "/health", &[], b"").is_err());
    svc.stop();
}

/// An nginx line from `ip` by sqlmap: `recon-scanner-user-agent` fires (medium, its own rule,
/// so not suppressed by an earlier alert of another rule about the same address).
fn sqlmap_line(ip: &str) -> String {
    nginx_line_at(now_ms(), ip, "GET /api/v1/search?q=1", 200).replace(
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        "sqlmap/1.7.4#stable (https://sqlmap.org)",
    )
}

fn cli(dir: &Path, addr: SocketAddr, args: &[&str]) -> serde_json::Value {
    let url = format!("http://{addr}");
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--url", &url, "--token", ADMIN, "-o", "json"]);
    let out = common::service::run_with_env(dir, &all, &[]);
    assert!(out.status.success(), "{args:?}: {}", out.stderr_text());
    serde_json::from_str(&out.stdout_text()).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// An analyst works an incident through the CLI; the KPIs follow; after a restart the
/// incident is still resolved and a new alert about its address opens a new incident (the
/// correlation rebuilt from the database closes it where it was closed); a mute silences a
/// rule for one address without hiding its alerts.
#[test]
fn incidents_are_worked_through_the_cli_and_survive_a_restart() {
    let dir = scratch("respond-incidents");
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let hook = Receiver::start();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    std::fs::write(dir.join("apiwatch.yaml"), config(addr, hook.addr, "")).unwrap();
    let log = dir.join("logs/access.log");
    let svc = Service::start(&dir, "apiwatch.yaml", Some(addr), &envs());
    let ip = "203.0.113.90";
    append(&log, &probe_lines(ip));
    let list = wait_for(30, "an incident opens", || {
        let v = cli(&dir, addr, &["incidents", "list"]);
        (v["total"] == 1).then_some(v)
    });
    let id = list["items"][0]["incident"]["id"].as_str().unwrap().to_string();
    let v = cli(&dir, addr, &["incidents", "resolve", &id, "--note", "blocked at the edge"]);
    assert_eq!(v["triage"]["status"], "resolved", "{v}");
    let kpi = get_json(addr, "/v1/metrics/security", ADMIN);
    assert_eq!(kpi["overall"]["incidents"], 1, "{kpi}");
    assert_eq!(kpi["overall"]["closed"], 1, "{kpi}");
    assert!(kpi["overall"]["mean_time_to_respond_ms"].as_f64().is_some(), "{kpi}");
    let metrics = wait_for(15, "the KPIs reach /metrics", || {
        let (_, m) = http(addr, "GET", "/metrics", &[], b"").unwrap();
        m.contains("apiwatch_security_incidents{rule=\"all\"} 1").then_some(m)
    });
    assert!(metrics.contains("apiwatch_security_mttr_seconds{rule=\"all\"}"), "{metrics}");
    svc.stop();

    let svc = Service::start(&dir, "apiwatch.yaml", Some(addr), &envs());
    let shown = cli(&dir, addr, &["incidents", "show", &id]);
    assert_eq!(shown["triage"]["status"], "resolved");
    assert_eq!(shown["notes"][0]["text"], "blocked at the edge", "{shown}");
    // A mute on another address for the scanner rule.
    let (status, body) = http(
        addr,
        "POST",
        "/v1/mutes",
        &[("Authorization", &format!("Bearer {ADMIN}"))],
        br#"{"rule":"recon-scanner-user-agent","actor":"ip:203.0.113.91","reason":"our own scan","duration":"1h"}"#,
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    append(&log, &[sqlmap_line(ip), sqlmap_line("203.0.113.91")]);
    let list = wait_for(30, "a second incident opens", || {
        let v = cli(&dir, addr, &["incidents", "list"]);
        (v["total"] == 3).then_some(v)
    });
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["incident"]["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id.as_str()));
    let actor = get_json(addr, &format!("/v1/actors/ip:{ip}"), ADMIN);
    assert_eq!(actor["timeline"].as_array().unwrap().len(), 2, "{actor}");
    assert!(actor["risk"].as_f64().unwrap() > 0.0, "{actor}");
    // The muted address's alert is stored, but nobody was told of it.
    let alerts = get_json(addr, "/v1/alerts?actor=ip:203.0.113.91", ADMIN);
    assert_eq!(alerts["total"], 1, "{alerts}");
    hook.wait_for(10, |r| r.body.contains("\"kind\":\"alert\"") && r.body.contains(ip));
    std::thread::sleep(Duration::from_millis(500));
    let told: Vec<_> = hook
        .got
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.body.contains("\"kind\":\"alert\"") && r.body.contains("203.0.113.91"))
        .cloned()
        .collect();
    assert!(told.is_empty(), "a muted alert was notified: {told:?}");
    svc.stop();
}

/// `kill -9` right after alerts are raised: on restart, the state database holds every one of
/// them (committed events' alerts are recorded before their commit; the others are detected
/// again from the lines read anew), and it is consistent.
#[test]
fn alerts_survive_kill_9_of_the_service() {
    let dir = scratch("respond-kill9");
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let hook = Receiver::start();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let cfg = config(addr, hook.addr, "alerts:\n  file: alerts.jsonl\n");
    std::fs::write(dir.join("apiwatch.yaml"), cfg).unwrap();
    let svc = Service::start(&dir, "apiwatch.yaml", Some(addr), &envs());
    let ips: Vec<String> = (1..=5).map(|i| format!("203.0.113.{}", 100 + i)).collect();
    let lines: Vec<String> = ips.iter().flat_map(|ip| probe_lines(ip)).collect();
    append(&dir.join("logs/access.log"), &lines);
    wait_for(30, "five alerts in the alerts file", || {
        let text = std::fs::read_to_string(dir.join("alerts.jsonl")).unwrap_or_default();
        (text.lines().count() >= 5).then_some(())
    });
    svc.kill9();
    let svc = Service::start(&dir, "apiwatch.yaml", Some(addr), &envs());
    let found = wait_for(30, "the five alerts after the restart", || {
        let a = get_json(addr, "/v1/alerts?rule=recon-sensitive-file-probe", ADMIN);
        (a["total"] == 5).then_some(a)
    });
    for ip in &ips {
        assert!(found.to_string().contains(ip.as_str()), "{ip} missing: {found}");
    }
    let d = get_json(addr, "/v1/decisions?status=active", ADMIN);
    assert_eq!(d["total"], 5, "one block per address, none repeated: {d}");
    svc.stop();
}
