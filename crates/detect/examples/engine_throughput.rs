//! Engine throughput on one thread: synthetic API traffic (100 000 addresses, a mix of routes,
//! statuses, logins, geolocated users and a few injection attempts) through the built-in rule
//! pack, or through the rule files given as arguments.
//!
//!     cargo run --release -p apiwatch-detect --example engine_throughput \
//!         [-- [--addresses=N] EVENTS [RULE.yaml ...]]
//!
//! Prints events per second (detection only: events are generated outside the timed part, in
//! chunks, so that memory holds one chunk), live and peak actors, alerts and peak memory.
//! `SKIP_DETECTION=1` generates the events without detecting (to measure the generator).

use apiwatch_core::redact::Redactor;
use apiwatch_core::{Event, EventData, Geo, Outcome, UaClass};
use apiwatch_detect::{Engine, Limits, RuleSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

const USERS: u32 = 20_000;
const CHUNK: usize = 100_000;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 =
            self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

struct Traffic {
    rng: Lcg,
    addresses: u32,
    t_ms: i64,
    geos: Vec<Arc<Geo>>,
    routes: Vec<(&'static str, &'static str)>,
    redactor: Redactor,
}

impl Traffic {
    fn new(addresses: u32) -> Traffic {
        let place = |cc: &str, lat: f64, lon: f64, asn: u32| {
            Arc::new(Geo {
                country_iso_code: Some(cc.to_string()),
                city_name: None,
                location: Some((lat, lon)),
                as_number: Some(asn),
                as_organization: None,
            })
        };
        Traffic {
            rng: Lcg(7),
            addresses,
            // 2026-03-01T00:00:00Z
            t_ms: 1_772_323_200_000,
            geos: vec![
                place("US", 40.7, -74.0, 7922),
                place("FR", 48.9, 2.35, 3215),
                place("DE", 52.5, 13.4, 3320),
                place("JP", 35.7, 139.7, 2516),
                place("BR", -23.5, -46.6, 28573),
            ],
            routes: vec![
                ("/api/v1/orders/{id}", "/api/v1/orders/"),
                ("/api/v1/users/{id}", "/api/v1/users/"),
                ("/api/v1/products", "/api/v1/products"),
                ("/api/v1/cart", "/api/v1/cart"),
                ("/api/v1/search", "/api/v1/search"),
                ("/api/v1/invoices/{id}", "/api/v1/invoices/"),
                ("/health", "/health"),
            ],
            redactor: Redactor::new([7; 32]),
        }
    }

    fn event(&mut self) -> Event {
        let r = &mut self.rng;
        // ~280 events a second of event time.
        self.t_ms += r.next(8) as i64;
        let addr = r.next(u64::from(self.addresses)) as u32;
        let ip = IpAddr::V4(Ipv4Addr::from(0xCB00_0000 | (addr * 7 % 0x00FF_FFFF)));
        let geo = Arc::clone(&self.geos[(addr % 97 % 5) as usize]);
        let mut ev = EventData {
            timestamp_ms: self.t_ms,
            dataset: "nginx.access",
            source_ip: Some(ip),
            geo: Some(geo),
            service_name: Some("shop".into()),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".into()),
            user_agent_class: Some(if r.next(50) == 0 {
                UaClass::Monitor
            } else {
                UaClass::Browser
            }),
            http_version: Some("1.1".into()),
            ..EventData::default()
        };
        match r.next(20) {
            0..=1 => {
                // Logins.
                let u = r.next(u64::from(USERS));
                let user = format!("user{u}");
                // A user logs in from home: the place of the user, not of the address.
                ev.geo = Some(Arc::clone(&self.geos[(u % 5) as usize]));
                let ok = r.next(4) != 0;
                ev.http_method = Some("POST".into());
                ev.url_path = Some("/api/v1/auth/login".into());
                ev.http_route = Some("/api/v1/auth/login".into());
                ev.status_code = Some(if ok { 200 } else { 401 });
                ev.user_name = Some(user.into());
                ev.event_action = Some("user-login".into());
                ev.event_outcome = Some(if ok { Outcome::Success } else { Outcome::Failure });
            }
            2 => {
                // Probing for files that do not exist.
                ev.http_method = Some("GET".into());
                ev.url_path = Some(format!("/static/{}.js", r.next(5_000)).into());
                ev.status_code = Some(404);
            }
            _ => {
                let (route, prefix) = self.routes[r.next(self.routes.len() as u64) as usize];
                let path = if prefix.ends_with('/') {
                    format!("{prefix}{}", r.next(100_000))
                } else {
                    prefix.to_string()
                };
                ev.http_method = Some(if r.next(5) == 0 { "POST" } else { "GET" }.into());
                ev.url_path = Some(path.into());
                ev.http_route = Some(route.into());
                ev.url_query = match r.next(1_000) {
                    0 => Some("q=1%27%20OR%20%271%27%3D%271".into()),
                    1 => Some("file=../../../../etc/passwd".into()),
                    2..=300 => Some(format!("page={}&sort=price", r.next(20)).into()),
                    _ => None,
                };
                ev.status_code =
                    Some([200, 200, 200, 200, 200, 201, 304, 403, 404, 500][r.next(10) as usize]);
                ev.response_bytes = Some(r.next(20_000));
                if r.next(3) == 0 {
                    let u = r.next(u64::from(USERS));
                    ev.geo = Some(Arc::clone(&self.geos[(u % 5) as usize]));
                    ev.user_name = Some(format!("user{u}").into());
                    ev.token_id =
                        Some(format!("tok_{:08x}", u * 2_654_435_761 % 0xFFFF_FFFF).into());
                    ev.user_roles = vec!["customer".into()];
                }
                ev.headers = vec![("accept".into(), "application/json".into())];
            }
        }
        self.redactor.redact(ev)
    }
}

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let mut addresses = 100_000;
    let mut args = std::env::args().skip(1).filter(|a| match a.strip_prefix("--addresses=") {
        Some(n) => {
            addresses = n.parse().expect("--addresses=N takes a number");
            false
        }
        None => true,
    });
    let total: usize = args.next().map_or(2_000_000, |a| a.parse().expect("EVENTS is a number"));
    let files: Vec<String> = args.collect();
    println!("traffic: {total} events over {addresses} addresses");
    let (set, which) = if files.is_empty() {
        (RuleSet::builtin(), "the built-in pack".to_string())
    } else {
        let sources: Vec<(String, String)> = files
            .iter()
            .map(|f| (f.clone(), std::fs::read_to_string(f).expect("a readable rule file")))
            .collect();
        (RuleSet::from_sources(&sources).unwrap_or_else(|e| panic!("{e}")), files.join(", "))
    };
    println!("rules: {} ({which})", set.len());
    let mut engine = Engine::new(Arc::new(set), Limits::default(), 0, 1);
    let mut traffic = Traffic::new(addresses);
    let mut alerts = Vec::new();
    let mut busy = Duration::ZERO;
    let mut done = 0;
    let mut chunk = Vec::with_capacity(CHUNK);
    while done < total {
        chunk.clear();
        chunk.extend((0..CHUNK.min(total - done)).map(|_| traffic.event()));
        let start = Instant::now();
        if std::env::var_os("SKIP_DETECTION").is_none() {
            for ev in &chunk {
                engine.process(ev, &mut alerts);
            }
        }
        busy += start.elapsed();
        done += chunk.len();
    }
    let start = Instant::now();
    engine.finish(&mut alerts);
    busy += start.elapsed();
    let stats = engine.stats();
    println!(
        "events: {total} in {:.2}s of detection: {:.0} events/s on one thread",
        busy.as_secs_f64(),
        total as f64 / busy.as_secs_f64()
    );
    println!(
        "actors: {} live at the end, {} at peak (sum over rules); evictions: {}; alerts: {}",
        stats.live_keys(),
        stats.peak_keys(),
        stats.evictions(),
        alerts.len()
    );
    if let Some(kib) = peak_rss_kib() {
        println!(
            "peak memory: {:.0} MiB (whole process, one chunk of events included)",
            kib as f64 / 1024.0
        );
    }
    let mut by_rule: Vec<_> = stats.rules.iter().filter(|r| r.events_matched > 0).collect();
    by_rule.sort_by_key(|r| std::cmp::Reverse(r.events_matched));
    for r in by_rule.iter().take(12) {
        println!(
            "  {:<44} matched {:>8}  peak actors {:>7}  alerts {:>5}",
            r.rule, r.events_matched, r.peak_keys, r.alerts
        );
    }
}
