//! `apiwatch demo --live`: the live service on traffic generated as it goes. Within a minute
//! of start the API shows alerts (the first scenario's script payload among them), requests in
//! the current minute and both followed logs delivering; SIGTERM stops it with status 0 and
//! removes its temporary folder. The token is printed once, on stderr, and nowhere else.
//!
//! GeoIP: the GeoLite2-City database named by `APIWATCH_GEOLITE2_CITY` (scripts/test sets
//! it), when set; the countries of the traffic are then checked too.

mod common;

use common::scratch;
use common::service::{free_port, http, now_ms};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "demo-live-test-token-5f3a9c";
/// The user agent the sensitive-file prober sends twice at the start of its sweep.
const XSS_USER_AGENT: &str = "<img src=x onerror=alert(document.domain)>";

/// The demo's process, killed if the test fails before stopping it.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(addr: SocketAddr, path: &str) -> serde_json::Value {
    let auth = format!("Bearer {TOKEN}");
    let (status, body) = http(addr, "GET", path, &[("Authorization", &auth)], b"").unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn the_live_demo_feeds_the_service_until_sigterm() {
    let dir = scratch("demo-live");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let listen = addr.to_string();
    let geoip = std::env::var("APIWATCH_GEOLITE2_CITY").ok().filter(|p| !p.is_empty());
    let mut args = vec!["demo", "--live", "--listen", &listen, "--token", TOKEN, "--rate", "100"];
    match &geoip {
        Some(path) => args.extend(["--geoip", path]),
        None => eprintln!("APIWATCH_GEOLITE2_CITY is not set: countries are not checked"),
    }
    let (out_path, err_path) = (dir.join("demo.out"), dir.join("demo.err"));
    let child = Command::new(env!("CARGO_BIN_EXE_apiwatch"))
        .args(&args)
        .current_dir(&dir)
        .env_remove("APIWATCH_GEOIP")
        .env_remove("APIWATCH_DEMO_TOKEN")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("apiwatch runs");
    let mut demo = Demo(child);
    let stderr = || std::fs::read_to_string(&err_path).unwrap_or_default();

    let started = Instant::now();
    loop {
        if let Ok((200, _)) = http(addr, "GET", "/health", &[], b"") {
            break;
        }
        if let Ok(Some(status)) = demo.0.try_wait() {
            panic!("apiwatch demo --live exited with {status}:\n{}", stderr());
        }
        assert!(started.elapsed() < Duration::from_secs(30), "not ready in 30 s:\n{}", stderr());
        std::thread::sleep(Duration::from_millis(100));
    }

    // Alerts, this minute's traffic and both sources delivering, within a minute.
    let deadline = started + Duration::from_secs(60);
    let (mut alerts, mut this_minute, mut delivering) = (false, false, false);
    let mut last = String::new();
    while !(alerts && this_minute && delivering) {
        assert!(
            Instant::now() < deadline,
            "within 60 s: alerts {alerts}, requests this minute {this_minute}, sources \
             delivering {delivering}\n{last}\n{}",
            stderr()
        );
        std::thread::sleep(Duration::from_millis(500));
        let a = get(addr, "/v1/alerts?limit=100");
        let items = a["items"].as_array().unwrap();
        // The first scenario's script payload, sent as a user agent, is caught, and the
        // alert's evidence holds it (as data: showing it as text is the dashboard's part).
        alerts = items
            .iter()
            .any(|x| x["rule"] == "injection-xss" && x.to_string().contains(XSS_USER_AGENT));
        let t = get(addr, "/v1/metrics/traffic?since=5m&step=1m");
        let minute = now_ms() / 60_000 * 60_000;
        let points = t["points"].as_array().unwrap();
        this_minute = points
            .iter()
            .any(|p| p["t_ms"].as_i64() == Some(minute) && p["requests"].as_u64() > Some(0));
        if geoip.is_some() {
            this_minute &= t["countries"].as_array().unwrap().len() >= 5;
        }
        let s = get(addr, "/v1/sources");
        let sources = s["items"].as_array().unwrap();
        delivering = sources.len() == 2
            && sources.iter().all(|src| {
                src["events_total"].as_u64() > Some(0)
                    && src["silent"] == false
                    && src["lag_ms"].as_i64().is_some_and(|lag| lag < 10_000)
            });
        last = format!("alerts: {a}\ntraffic: {t}\nsources: {s}");
    }

    std::process::Command::new("kill").args(["-TERM", &demo.0.id().to_string()]).status().unwrap();
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = demo.0.try_wait().unwrap() {
            break status;
        }
        assert!(stopping.elapsed() < Duration::from_secs(30), "no exit in 30 s:\n{}", stderr());
        std::thread::sleep(Duration::from_millis(50));
    };
    let err = stderr();
    assert!(status.success(), "exit {status}:\n{err}");

    let url = format!("open http://{addr}/ and sign in with token {TOKEN}");
    assert!(err.contains(&url), "{err}");
    let out = std::fs::read_to_string(&out_path).unwrap();
    assert!(out.contains("attack/sensitive-files"), "the attacks are announced:\n{out}");
    assert_eq!(
        err.matches(TOKEN).count() + out.matches(TOKEN).count(),
        1,
        "the token is printed once and logged nowhere:\n{err}"
    );
    // The temporary folder (logs, events, state database) is gone.
    let data = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("data: "))
        .map(PathBuf::from)
        .expect("the data folder is named");
    let folder = data.parent().unwrap();
    assert!(folder.starts_with(std::env::temp_dir()), "{}", folder.display());
    assert!(!folder.exists(), "{} was left behind", folder.display());
}
