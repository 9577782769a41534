//! Every attack is in the truth with its actor and looks like what it claims; benign traffic
//! does not look like an attack.

mod common;

use apiwatch_traffic::{generate_files, Generator, Record, TrafficConfig, TruthEntry, SCENARIOS};
use common::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

fn attacks_of(recs: &[Record], scenario: &str) -> Vec<Record> {
    recs.iter().filter(|r| r.scenario == scenario).cloned().collect()
}

fn entry<'a>(truth: &'a [TruthEntry], scenario: &str) -> &'a TruthEntry {
    truth
        .iter()
        .find(|t| t.scenario == scenario)
        .unwrap_or_else(|| panic!("{scenario} missing from the truth"))
}

fn check_truth_matches_records(cfg: &TrafficConfig) {
    let mut gen = Generator::new(cfg);
    let recs: Vec<Record> = (&mut gen).collect();
    let truth = gen.truth();
    let attack_names: Vec<&str> =
        SCENARIOS.iter().map(|s| s.name).filter(|n| n.starts_with("attack/")).collect();
    for name in &attack_names {
        let t = entry(&truth, name);
        let mine = attacks_of(&recs, name);
        assert!(!mine.is_empty(), "{name}: no records");
        assert_eq!(t.records(), mine.len() as u64, "{name}: count");
        assert_eq!(t.first_ms, mine[0].ts_ms, "{name}: first");
        assert_eq!(t.last_ms, mine[mine.len() - 1].ts_ms, "{name}: last");
        assert!(!t.family.is_empty() && t.owasp.starts_with("API"), "{name}");
        assert!(!t.actor.is_empty(), "{name}: no actor");
        // The actor's values appear in the scenario's records.
        let ips: HashSet<String> = mine
            .iter()
            .map(|r| {
                r.http()
                    .map(|h| h.client_ip)
                    .or(r.login().map(|l| l.source_ip))
                    .unwrap()
                    .to_string()
            })
            .collect();
        for v in t.actor_values("source.ip") {
            assert!(ips.contains(v), "{name}: truth address {v} not in its records");
        }
        for v in t.actor_values("user.name") {
            let found = mine.iter().any(|r| {
                r.http().and_then(|h| h.user.as_deref()) == Some(v.as_str())
                    || r.login().is_some_and(|l| &*l.user == v.as_str())
            });
            assert!(found, "{name}: truth user {v} not in its records");
        }
        for v in t.actor_values("token.id") {
            assert!(
                mine.iter()
                    .any(|r| r.http().and_then(|h| h.token.as_ref()).is_some_and(|t| &t.jti == v)),
                "{name}: jti"
            );
        }
        // Its records' actor field names a truth value.
        let values: HashSet<&str> =
            t.actor.iter().flat_map(|(_, v)| v.iter().map(String::as_str)).collect();
        assert!(
            mine.iter().all(|r| values.contains(r.actor.as_str())),
            "{name}: a record's actor is not in the truth"
        );
    }
    assert_eq!(truth.len(), attack_names.len());
}

#[test]
fn every_attack_is_in_the_truth_short_run() {
    check_truth_matches_records(&TrafficConfig::demo(5));
}

#[test]
fn every_attack_is_in_the_truth_long_run() {
    check_truth_matches_records(&three_days(5));
}

#[test]
fn no_attacks_no_truth() {
    let cfg = TrafficConfig { attacks: false, ..TrafficConfig::demo(5) };
    let mut gen = Generator::new(&cfg);
    assert!(gen.by_ref().all(|r| !r.is_attack()));
    assert!(gen.truth().is_empty());
}

#[test]
fn truth_file_has_one_line_per_attack() {
    let dir = temp_dir("truth");
    let m = generate_files(&TrafficConfig::demo(9), &dir).unwrap();
    let text = std::fs::read_to_string(dir.join("truth.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), m.truth.len());
    for v in &lines {
        let name = v["scenario"].as_str().unwrap();
        assert!(name.starts_with("attack/"));
        assert!(
            v["family"].is_string()
                && v["actor"].is_object()
                && v["first"].is_string()
                && v["last"].is_string()
        );
        assert!(v["records"].as_u64().unwrap() > 0);
        assert!(v["actor"]
            .as_object()
            .unwrap()
            .values()
            .all(|a| a.as_array().is_some_and(|a| !a.is_empty())));
    }
    assert!(lines.iter().any(|v| v["scenario"] == "attack/credential-stuffing"
        && v["actor"]["source.ip"].as_array().unwrap().len() == 400));
    for f in &m.files {
        assert_eq!(std::fs::metadata(&f.path).unwrap().len(), f.bytes, "{}", f.path.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Logins of a scenario: (user, ip, success).
fn logins(recs: &[Record]) -> Vec<(String, String, bool)> {
    recs.iter()
        .filter_map(|r| r.login())
        .map(|l| {
            (
                l.user.to_string(),
                l.source_ip.to_string(),
                l.outcome == apiwatch_core::Outcome::Success,
            )
        })
        .collect()
}

#[test]
fn attacks_have_their_shape() {
    let cfg = three_days(13);
    let recs = collect(&cfg);

    let g = logins(&attacks_of(&recs, "attack/password-guessing"));
    assert_eq!(g.len(), 60);
    assert!(g.iter().all(|(u, _, ok)| !ok && *u == g[0].0));
    assert!(g.iter().map(|(_, ip, _)| ip).collect::<HashSet<_>>().len() <= 2);
    let span = attacks_of(&recs, "attack/password-guessing");
    assert!(span[span.len() - 1].ts_ms - span[0].ts_ms <= 10 * MINUTE_MS);

    let s = logins(&attacks_of(&recs, "attack/password-spraying"));
    assert_eq!(s.len(), 80);
    assert_eq!(s.iter().map(|(u, _, _)| u).collect::<HashSet<_>>().len(), 80);
    assert_eq!(s.iter().map(|(_, ip, _)| ip).collect::<HashSet<_>>().len(), 1);
    assert!(s.iter().all(|(_, _, ok)| !ok));

    let c = logins(&attacks_of(&recs, "attack/credential-stuffing"));
    let ips: HashSet<_> = c.iter().map(|(_, ip, _)| ip).collect();
    let users: HashSet<_> = c.iter().map(|(u, _, _)| u).collect();
    let ok = c.iter().filter(|(_, _, ok)| *ok).count();
    assert_eq!(ips.len(), 400);
    assert!((550..=620).contains(&users.len()), "{} names", users.len());
    assert!((2..=10).contains(&ok), "{ok} successes");
    let mut per_ip: HashMap<&String, u32> = HashMap::new();
    for (_, ip, _) in &c {
        *per_ip.entry(ip).or_default() += 1;
    }
    assert!(per_ip.values().all(|n| (1..=2).contains(n)));

    let a = logins(&attacks_of(&recs, "attack/account-takeover"));
    assert_eq!(a.len(), 26);
    assert!(a[..25].iter().all(|(_, _, ok)| !ok) && a[25].2);

    let b = attacks_of(&recs, "attack/bola");
    let denied = b.iter().filter(|r| matches!(r.http().unwrap().status, 403 | 404)).count();
    assert_eq!(b.len(), 300);
    assert!(denied >= 240, "{denied} of 300 denied");
    let ids: BTreeSet<&str> = b.iter().map(|r| r.http().unwrap().uri.as_str()).collect();
    assert_eq!(ids.len(), 300);
    assert!(b[299].ts_ms - b[0].ts_ms <= 15 * MINUTE_MS);

    let p = attacks_of(&recs, "attack/privilege-escalation");
    assert_eq!(p.len(), 30);
    assert!(p.iter().all(|r| r.http().unwrap().status == 403 && r.http().unwrap().token.is_some()));

    let f = attacks_of(&recs, "attack/forced-browsing");
    assert_eq!(f.len(), 300);
    assert!(f.iter().filter(|r| r.http().unwrap().status == 404).count() > 240);

    let sensitive: HashSet<String> = attacks_of(&recs, "attack/sensitive-files")
        .iter()
        .map(|r| r.http().unwrap().path().to_string())
        .collect();
    for p in ["/.env", "/.git/config", "/backup.zip", "/actuator/env", "/wp-admin/", "/phpmyadmin/"]
    {
        assert!(sensitive.contains(p), "{p} not probed");
    }
    assert!(attacks_of(&recs, "attack/scanner").iter().all(|r| r
        .http()
        .unwrap()
        .user_agent
        .contains("Nikto")));
    assert!(attacks_of(&recs, "attack/sqli").iter().any(|r| r
        .http()
        .unwrap()
        .user_agent
        .starts_with("sqlmap/")));
    assert!(attacks_of(&recs, "attack/jndi").iter().any(|r| r
        .http()
        .unwrap()
        .user_agent
        .contains("${jndi:")));
    assert!(attacks_of(&recs, "attack/nosql-injection").iter().any(|r| r
        .http()
        .unwrap()
        .uri
        .contains("user%5B%24ne%5D=x")));
    assert!(attacks_of(&recs, "attack/ssrf").iter().any(|r| r
        .http()
        .unwrap()
        .uri
        .contains("169.254.169.254")));

    // Stolen token: one jti from two countries within minutes.
    let st = attacks_of(&recs, "attack/stolen-token");
    let jti = st[0].http().unwrap().token.as_ref().unwrap().jti.clone();
    let thief_cc = st[0].http().unwrap().country;
    let owner_uses: Vec<i64> = recs
        .iter()
        .filter(|r| !r.is_attack())
        .filter_map(|r| {
            r.http()
                .filter(|h| h.token.as_ref().is_some_and(|t| t.jti == jti))
                .map(|h| (r.ts_ms, h.country))
        })
        .filter(|(_, cc)| *cc != thief_cc)
        .map(|(ts, _)| ts)
        .collect();
    assert!(
        owner_uses.iter().any(|&t| (t - st[0].ts_ms).abs() < 15 * MINUTE_MS),
        "owner not using the token near the theft"
    );

    // Admin from a new country: that country never seen for the admin before.
    let an = attacks_of(&recs, "attack/admin-new-country");
    let admin = an[0].actor.clone();
    let new_cc = an[0].login().map(|l| l.country).or(an[0].http().map(|h| h.country)).unwrap();
    assert!(an.iter().any(|r| r
        .http()
        .is_some_and(|h| h.method == "POST" && h.uri.starts_with("/api/v1/admin/"))));
    let seen_before = recs
        .iter()
        .filter(|r| r.ts_ms < an[0].ts_ms && r.actor == admin)
        .any(|r| r.http().is_some_and(|h| h.country == new_cc));
    assert!(!seen_before);

    // Flood: 20x the search route's usual rate, from one /24.
    let fl = attacks_of(&recs, "attack/flood");
    let (s0, s1) = (fl[0].ts_ms, fl[fl.len() - 1].ts_ms);
    let nets: HashSet<String> = fl
        .iter()
        .map(|r| {
            let o = r.http().unwrap().client_ip.octets();
            format!("{}.{}.{}", o[0], o[1], o[2])
        })
        .collect();
    assert_eq!(nets.len(), 1);
    let usual = recs
        .iter()
        .filter(|r| {
            !r.is_attack()
                && r.http().is_some_and(|h| h.route == "/api/v1/search")
                && (r.ts_ms - s0).abs() < 3 * HOUR_MS
        })
        .count() as f64
        / (6.0 * 3600.0);
    let flood = fl.len() as f64 / ((s1 - s0) as f64 / 1000.0);
    assert!(flood > 10.0 * usual, "flood {flood:.2}/s vs usual {usual:.3}/s");

    // 5xx spike on one route.
    let sp = attacks_of(&recs, "attack/5xx-spike");
    assert!(sp.len() >= 10);
    assert!(sp
        .iter()
        .all(|r| r.http().unwrap().status >= 500
            && r.http().unwrap().route == "/api/v1/products/{id}"));

    // Bulk exfiltration: 50x partner-globex's usual nightly volume.
    let bytes = |rs: &[&Record]| rs.iter().map(|r| r.http().unwrap().response_bytes).sum::<u64>();
    let ex: Vec<&Record> =
        recs.iter().filter(|r| r.scenario == "attack/bulk-exfiltration").collect();
    let usual: Vec<&Record> = recs.iter().filter(|r| r.scenario == "benign/partner").collect();
    let nights = usual.iter().map(|r| r.ts_ms / DAY_MS).collect::<HashSet<_>>().len() as u64;
    assert!(nights >= 2);
    let per_night = bytes(&usual) / nights;
    assert!((800_000..1_300_000).contains(&per_night), "{per_night} bytes a night");
    assert!(bytes(&ex) > 40 * per_night);
    let h = (ex[0].ts_ms.rem_euclid(DAY_MS)) / HOUR_MS;
    assert!((0..4).contains(&h), "exfiltration at {h}h");

    // Slow pull: one a minute for the whole run, one token.
    let sl = attacks_of(&recs, "attack/slow-exfiltration");
    assert!((sl.len() as i64 - cfg.duration_ms / MINUTE_MS).abs() <= 2, "{} pulls", sl.len());
    assert_eq!(
        sl.iter()
            .map(|r| r.http().unwrap().token.as_ref().unwrap().jti.clone())
            .collect::<HashSet<_>>()
            .len(),
        1
    );
}

#[test]
fn benign_traffic_has_its_shape() {
    let cfg = TrafficConfig { attacks: false, ..three_days(17) };
    let recs = collect(&cfg);

    // The office: one address, ~150 people signing in each working morning, ~5% mistype.
    let office: Vec<&Record> = recs.iter().filter(|r| r.scenario == "benign/office").collect();
    let office_ips: HashSet<_> =
        office.iter().filter_map(|r| r.http()).map(|h| h.client_ip).collect();
    assert_eq!(office_ips.len(), 1);
    let day0 = cfg.start_ms / DAY_MS;
    let mut by_day: BTreeMap<i64, (HashSet<String>, u32)> = BTreeMap::new();
    for r in &office {
        let morning =
            (8 * HOUR_MS..9 * HOUR_MS + 35 * MINUTE_MS).contains(&r.ts_ms.rem_euclid(DAY_MS));
        if let (Some(l), true) = (r.login(), morning) {
            let e = by_day.entry(r.ts_ms / DAY_MS - day0).or_default();
            if l.outcome == apiwatch_core::Outcome::Success {
                e.0.insert(l.user.to_string());
            } else {
                e.1 += 1;
            }
        }
    }
    assert_eq!(by_day.len(), 3, "Monday to Wednesday");
    for (users, failures) in by_day.values() {
        assert_eq!(users.len(), 150);
        assert!((1..=25).contains(failures), "{failures} failures");
    }

    // Nobody benign changes country faster than a plane, nor shares a token across countries.
    let mut last: HashMap<String, (i64, &str)> = HashMap::new();
    let mut jti_cc: HashMap<String, &str> = HashMap::new();
    let mut travelled = 0;
    for r in &recs {
        let (user, cc, jti) = match (&r.kind, r.http()) {
            (_, Some(h)) => (
                h.user.as_deref().map(str::to_string),
                h.country,
                h.token.as_ref().map(|t| t.jti.clone()),
            ),
            _ => continue,
        };
        let (Some(user), false) = (user, cc.is_empty()) else { continue };
        if let Some(j) = jti {
            let prev = jti_cc.entry(j).or_insert(cc);
            assert_eq!(*prev, cc, "a benign token used from two countries ({user})");
        }
        if let Some((t, prev)) = last.insert(user.clone(), (r.ts_ms, cc)) {
            if prev != cc {
                assert!(
                    r.ts_ms - t >= 10 * HOUR_MS,
                    "{user}: {prev} to {cc} in {} min",
                    (r.ts_ms - t) / MINUTE_MS
                );
                travelled += 1;
            }
        }
    }
    assert!(travelled >= 3, "{travelled} journeys");

    // Partner batch: every night 02:00-03:00, steady.
    let batch: Vec<&Record> = recs.iter().filter(|r| r.scenario == "benign/batch").collect();
    assert!(batch.iter().all(|r| (r.ts_ms.rem_euclid(DAY_MS)) / HOUR_MS == 2));
    assert!((3 * 1150..=3 * 1210).contains(&batch.len()), "{} pages", batch.len());
    assert!(batch.iter().all(|r| r
        .http()
        .unwrap()
        .consumer
        .is_some_and(|c| c.name == "partner-acme")));

    // Crawlers from Googlebot's range, some 404s.
    let crawl: Vec<&Record> = recs.iter().filter(|r| r.scenario == "benign/crawler").collect();
    let google = crawl
        .iter()
        .filter(|r| r.http().unwrap().user_agent.contains("Googlebot"))
        .collect::<Vec<_>>();
    assert!(google.iter().all(|r| {
        let o = r.http().unwrap().client_ip.octets();
        o[0] == 66 && o[1] == 249 && (64..96).contains(&o[2])
    }));
    assert!(crawl.iter().any(|r| r.http().unwrap().status == 404));

    // Health checks every 10 s from each of three private addresses.
    let health: Vec<&Record> = recs.iter().filter(|r| r.scenario == "benign/healthcheck").collect();
    assert_eq!(health.len() as i64, 3 * cfg.duration_ms / 10_000);
    assert!(health.iter().all(|r| {
        let h = r.http().unwrap();
        h.uri == "/healthz" && h.user_agent == "kube-probe/1.29" && h.client_ip.octets()[0] == 10
    }));

    // Real user agents; mistyped logins are rare and followed by a success.
    let fails = recs
        .iter()
        .filter_map(|r| r.login())
        .filter(|l| l.outcome != apiwatch_core::Outcome::Success)
        .count();
    let oks = recs
        .iter()
        .filter_map(|r| r.login())
        .filter(|l| l.outcome == apiwatch_core::Outcome::Success)
        .count();
    assert!(fails * 5 < oks, "{fails} failed logins for {oks} successes");
}

#[test]
fn distinct_ips_spreads_the_background() {
    let cfg = TrafficConfig {
        distinct_ips: Some(50_000),
        attacks: false,
        requests_per_s: 200.0,
        duration_ms: 10 * MINUTE_MS,
        ..TrafficConfig::demo(1)
    };
    let calls: Vec<_> = Generator::new(&cfg)
        .filter(|r| matches!(r.scenario, "benign/users" | "benign/office"))
        .filter_map(|r| r.http().filter(|h| h.route != "/api/v1/auth/login").map(|h| h.client_ip))
        .collect();
    let ips: HashSet<_> = calls.iter().collect();
    // n draws from N addresses hit N(1 - e^(-n/N)) of them.
    let (n, big_n) = (calls.len() as f64, 50_000f64);
    let expected = big_n * (1.0 - (-n / big_n).exp());
    assert!(
        ips.len() as f64 > 0.95 * expected,
        "{} addresses for {n} calls, expected {expected:.0}",
        ips.len()
    );
}

#[test]
fn benign_actors_name_every_benign_record() {
    let cfg = three_days(19);
    let mut gen = Generator::new(&cfg);
    let benign = gen.benign_actors().to_vec();
    let recs: Vec<Record> = gen.by_ref().collect();
    let truth = gen.truth();
    // Every benign part is described, and every benign record's address and user are named
    // by the entries of its own part.
    for s in SCENARIOS.iter().filter(|s| s.family.is_empty()) {
        assert!(benign.iter().any(|b| b.scenario == s.name), "{} has no benign entry", s.name);
    }
    let named = |scenario: &str, field: &str, value: &str| {
        benign
            .iter()
            .filter(|b| b.scenario == scenario)
            .any(|b| b.actor_values(field).iter().any(|v| v == value))
    };
    for r in recs.iter().filter(|r| !r.is_attack()) {
        let (ip, user) = match (r.http(), r.login()) {
            (Some(h), _) => (h.client_ip, h.user.as_deref().map(str::to_string)),
            (_, Some(l)) => (l.source_ip, Some(l.user.to_string())),
            _ => unreachable!("a record is a call or a login"),
        };
        assert!(named(r.scenario, "source.ip", &ip.to_string()), "{}: {ip}", r.scenario);
        if let Some(u) = user {
            assert!(named(r.scenario, "user.name", &u), "{}: {u}", r.scenario);
        }
    }
    // No attack address is benign; the users an attack picks are ordinary users otherwise.
    let benign_ips: HashSet<&String> =
        benign.iter().flat_map(|b| b.actor_values("source.ip")).collect();
    for t in &truth {
        if t.scenario == "attack/bulk-exfiltration" {
            continue; // partner-globex's own address, on the night it pulls too much
        }
        for ip in t.actor_values("source.ip") {
            if ["attack/bola", "attack/privilege-escalation"].contains(&t.scenario) {
                continue; // the culprit calls from home
            }
            assert!(!benign_ips.contains(ip), "{}: {ip} is also benign", t.scenario);
        }
    }
}
