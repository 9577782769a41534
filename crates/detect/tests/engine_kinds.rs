//! Each kind of rule, firing and staying quiet, at its boundaries.

mod engine_util;

use apiwatch_core::Alert;
use apiwatch_detect::{Engine, Limits};
use engine_util::*;
use serde_json::json;
use std::sync::Arc;

fn failure(user: &str) -> serde_json::Value {
    json!({"event.action": "user-login", "event.outcome": "failure", "user.name": user, "source.ip": "192.0.2.1"})
}

fn threshold_rule() -> String {
    header("login-burst", "threshold")
        + "where: {event.outcome: failure}\ngroup_by: [user.name]\nwindow: 1m\nmin_count: 5\nsuppress: 10m\n"
        + "summary: \"{count} failures for {user.name} in {window}\"\n"
}

#[test]
fn threshold_exactly_min_count_within_the_window_fires() {
    let set = rules(&threshold_rule());
    let events: Vec<_> =
        [0, 15 * S, 30 * S, 45 * S, 60 * S - 1].iter().map(|t| ev(*t, failure("alice"))).collect();
    let alerts = run(&set, &events);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    assert_eq!(a.detected_at_ms, t0() + 60 * S - 1);
    assert_eq!(a.first_seen_ms, t0());
    assert_eq!(a.count, 5);
    assert_eq!(a.summary, "5 failures for alice in 1m");
    assert_eq!(a.actor, vec![("user.name".to_string(), "alice".to_string())]);
    // The event at half the threshold, then the detecting one.
    assert_eq!(a.evidence.len(), 2);
    assert_eq!(a.evidence[0]["@timestamp"], "2026-03-01T00:00:30.000Z");
    assert_eq!(a.id, Alert::make_id("login-burst", &a.actor, a.detected_at_ms));
}

#[test]
fn threshold_events_exactly_a_window_apart_do_not_fire() {
    let set = rules(&threshold_rule());
    let events: Vec<_> =
        [0, 15 * S, 30 * S, 45 * S, 60 * S].iter().map(|t| ev(*t, failure("alice"))).collect();
    assert!(run(&set, &events).is_empty());
}

#[test]
fn threshold_other_actors_and_other_events_do_not_count() {
    let set = rules(&threshold_rule());
    let mut events = Vec::new();
    for i in 0..4 {
        events.push(ev(i * S, failure("alice")));
        events.push(ev(i * S, failure("bob")));
        events.push(ev(i * S, json!({"event.outcome": "success", "user.name": "alice"})));
    }
    // No user name: skipped by the rule.
    events.push(ev(5 * S, json!({"event.outcome": "failure"})));
    assert!(run(&set, &events).is_empty());
}

#[test]
fn threshold_suppression_extends_then_reopens() {
    let set = rules(&threshold_rule());
    let mut events = Vec::new();
    for burst in [0, 5 * M, 20 * M] {
        for i in 0..5 {
            events.push(ev(burst + i * S, failure("alice")));
        }
    }
    let alerts = run(&set, &events);
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    // The second burst came within 10m of the first alert: it added to it.
    assert_eq!((alerts[0].count, alerts[0].detected_at_ms), (10, t0() + 4 * S));
    assert_eq!(alerts[0].last_seen_ms, t0() + 5 * M + 4 * S);
    assert_eq!(alerts[0].evidence.len(), 5);
    // The third came after suppression ended: a new alert.
    assert_eq!((alerts[1].count, alerts[1].detected_at_ms), (5, t0() + 20 * M + 4 * S));
    assert_ne!(alerts[0].id, alerts[1].id);
}

#[test]
fn alerts_close_when_event_time_passes_their_deadline() {
    let set = rules(&threshold_rule());
    let mut engine = Engine::new(Arc::clone(&set), Limits::default(), 0, 1);
    let mut out = Vec::new();
    for i in 0..5 {
        engine.process(&ev(i * S, failure("alice")), &mut out);
    }
    assert!(out.is_empty(), "open until suppress has passed");
    engine.process(&ev(10 * M + 3 * S, failure("bob")), &mut out);
    assert!(out.is_empty(), "deadline is detected_at (4s) + 10m");
    engine.process(&ev(10 * M + 4 * S, failure("bob")), &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn eviction_is_counted_at_a_tiny_max_keys() {
    let set = rules(&threshold_rule());
    let events: Vec<_> = ["a", "b", "c", "a", "d"]
        .iter()
        .enumerate()
        .map(|(i, u)| ev(i as i64 * S, failure(u)))
        .collect();
    let limits = Limits { max_keys_per_rule: 2, ..Limits::default() };
    let (_, stats) = run_with(&set, limits, &events);
    let r = &stats.rules[0];
    // c evicts a, a evicts b, d evicts c.
    assert_eq!((r.evictions, r.live_keys, r.peak_keys), (3, 2, 2));
    assert_eq!(stats.evictions(), 3);
}

#[test]
fn a_rule_max_keys_overrides_the_engine_limit() {
    let set = rules(&(threshold_rule() + "max_keys: 1\n"));
    let events: Vec<_> = ["a", "b"].iter().map(|u| ev(0, failure(u))).collect();
    let (_, stats) = run_with(&set, Limits::default(), &events);
    assert_eq!(stats.rules[0].evictions, 1);
}

#[test]
fn expiry_keeps_memory_flat() {
    let set = rules(&threshold_rule());
    let mut engine = Engine::new(Arc::clone(&set), Limits::default(), 0, 1);
    let mut out = Vec::new();
    for round in 0..5 {
        for u in 0..1000 {
            engine
                .process(&ev(round * 10 * M + u * 10, failure(&format!("r{round}u{u}"))), &mut out);
        }
        // Live actors never exceed one round's, as earlier rounds left the window.
        assert_eq!(engine.stats().rules[0].live_keys, 1000, "round {round}");
    }
    engine.process(&ev(60 * M, failure("late-comer")), &mut out);
    let r = &engine.stats().rules[0];
    assert_eq!((r.live_keys, r.peak_keys), (1, 1000));
}

#[test]
fn disorder_is_tolerated_and_the_watermark_never_goes_back() {
    let set = rules(&threshold_rule());
    let mut engine = Engine::new(Arc::clone(&set), Limits::default(), 0, 1);
    let mut out = Vec::new();
    let mut wm = i64::MIN;
    for t in [3 * S, S, 4 * S, 0, 2 * S, -10 * M, 90 * S] {
        engine.process(&ev(t, failure("alice")), &mut out);
        assert!(engine.watermark_ms() >= wm);
        wm = engine.watermark_ms();
    }
    engine.finish(&mut out);
    assert_eq!(out.len(), 1, "{out:#?}");
    // Fired on the fifth event (at 2s), the oldest of the window being 0s; the late event
    // (-10m) and the next one (90s) count for the open alert.
    assert_eq!((out[0].detected_at_ms, out[0].first_seen_ms), (t0() + 2 * S, t0()));
    assert_eq!(out[0].count, 7);
    assert_eq!(engine.stats().late_events, 4);
}

#[test]
fn match_fires_once_per_suppress_period() {
    let set = rules(
        &(header("env-probe", "match") + "where: {url.path: {prefix: /.env}}\nsuppress: 10m\n"),
    );
    let probe = |t| ev(t, json!({"source.ip": "198.51.100.7", "url.path": "/.env.bak"}));
    let events = vec![
        probe(0),
        probe(M),
        ev(2 * M, json!({"source.ip": "198.51.100.7", "url.path": "/"})),
        probe(3 * M),
        probe(15 * M),
    ];
    let alerts = run(&set, &events);
    assert_eq!(alerts.len(), 2);
    assert_eq!((alerts[0].count, alerts[0].last_seen_ms), (3, t0() + 3 * M));
    assert_eq!(alerts[0].summary, "3 matching events from source.ip 198.51.100.7");
    assert_eq!(alerts[1].count, 1);
}

/// Rules whose regular expression lists are the same text share one build; each still
/// matches on its own, and a rule with a different list is not given the shared one.
#[test]
fn rules_with_the_same_regex_list_each_match() {
    let login = "where: {url.path: {regex: ['(?i)/login/?$', '^/api/token$']}}\n";
    let logout = "where: {url.path: {regex: ['(?i)/logout/?$', '^/api/token$']}}\n";
    // A file holding a list of rules: each rule's lines indented under its `- `.
    let item = |text: String| format!("- {}", text.trim_end().replace('\n', "\n  ")) + "\n";
    let set = rules(
        &(item(header("login-a", "match") + login)
            + &item(header("login-b", "match") + login)
            + &item(header("logout", "match") + logout)),
    );
    let path = |t, p: &str| ev(t, json!({"source.ip": "198.51.100.7", "url.path": p}));
    let fired = |p: &str| {
        let mut ids: Vec<String> = run(&set, &[path(0, p)]).into_iter().map(|a| a.rule).collect();
        ids.sort();
        ids
    };
    assert_eq!(fired("/LOGIN/"), ["login-a", "login-b"]);
    assert_eq!(fired("/api/token"), ["login-a", "login-b", "logout"]);
    assert_eq!(fired("/logout"), ["logout"]);
    assert!(fired("/api/token/x").is_empty());
}

#[test]
fn allow_lists_are_applied_first() {
    let set = rules(
        &(header("any-request", "match")
            + "allow:\n  networks: [10.0.0.0/8, 192.0.2.7]\n  users: [healthcheck]\n  user_agent_classes: [monitor]\n"),
    );
    let events = vec![
        ev(0, json!({"source.ip": "10.1.2.3"})),
        ev(0, json!({"source.ip": "192.0.2.7"})),
        ev(0, json!({"source.ip": "192.0.2.8", "user.name": "healthcheck"})),
        ev(0, json!({"source.ip": "192.0.2.9", "user_agent.class": "monitor"})),
        ev(0, json!({"source.ip": "192.0.2.10", "user_agent.class": "browser"})),
    ];
    let alerts = run(&set, &events);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].actor[0].1, "192.0.2.10");
}

#[test]
fn response_scope_takes_the_actor_value() {
    let set = rules(
        &(header("resp", "match")
            + "group_by: [user.name, source.ip]\nresponse: {action: lock, scope: user.name, duration: 1h}\n"),
    );
    let alerts = run(&set, &[ev(0, json!({"source.ip": "192.0.2.1", "user.name": "alice"}))]);
    let r = alerts[0].response.as_ref().unwrap();
    assert_eq!(
        (r.scope_field.as_str(), r.scope_value.as_str(), r.duration_ms),
        ("user.name", "alice", H)
    );
}

fn distinct_rule() -> String {
    header("path-walk", "distinct")
        + "where: {http.response.status_code: 404}\nfield: url.path\nwindow: 1m\nmin_distinct: 3\nsuppress: 1h\n"
}

fn not_found(t: i64, path: &str) -> apiwatch_core::Event {
    ev(t, json!({"source.ip": "203.0.113.5", "url.path": path, "http.response.status_code": 404}))
}

#[test]
fn distinct_fires_on_distinct_values_within_the_window() {
    let set = rules(&distinct_rule());
    let alerts = run(
        &set,
        &[
            not_found(0, "/a"),
            not_found(10 * S, "/a"),
            not_found(20 * S, "/b"),
            not_found(30 * S, "/c"),
            not_found(40 * S, "/c"),
            not_found(50 * S, "/d"),
        ],
    );
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!((a.detected_at_ms, a.first_seen_ms), (t0() + 30 * S, t0()));
    // Three distinct at firing, then /d was new; the repeated /c was not.
    assert_eq!(a.count, 4);
    assert_eq!(a.summary, "3 distinct values from source.ip 203.0.113.5 within 1m");
}

#[test]
fn distinct_repeats_and_values_outside_the_window_do_not_count() {
    let set = rules(&distinct_rule());
    assert!(run(
        &set,
        &[not_found(0, "/a"), not_found(S, "/a"), not_found(2 * S, "/b"), not_found(3 * S, "/b")]
    )
    .is_empty());
    assert!(run(&set, &[not_found(0, "/a"), not_found(30 * S, "/b"), not_found(60 * S, "/c")])
        .is_empty());
}

fn ratio_rule() -> String {
    header("login-fail-share", "ratio")
        + "where: {url.path: {prefix: /login}}\nmatching: {http.response.status_code: 401}\n"
        + "window: 10m\nmin_ratio: 0.8\nmin_events: 10\n"
}

fn login(t: i64, status: u16) -> apiwatch_core::Event {
    ev(
        t,
        json!({"source.ip": "203.0.113.9", "url.path": "/login", "http.response.status_code": status}),
    )
}

#[test]
fn ratio_fires_when_the_share_and_the_volume_are_reached() {
    let set = rules(&ratio_rule());
    let mut events: Vec<_> = (0..9).map(|i| login(i * S, 401)).collect();
    events.push(login(9 * S, 200));
    let alerts = run(&set, &events);
    assert_eq!(alerts.len(), 1);
    assert_eq!((alerts[0].detected_at_ms, alerts[0].count), (t0() + 9 * S, 9));
    assert_eq!(
        alerts[0].summary,
        "9 of 10 events from source.ip 203.0.113.9 matched (90%) within 10m"
    );
}

#[test]
fn ratio_stays_quiet_below_the_share_or_the_volume() {
    let set = rules(&ratio_rule());
    let half: Vec<_> = (0..20).map(|i| login(i * S, if i % 2 == 0 { 401 } else { 200 })).collect();
    assert!(run(&set, &half).is_empty());
    let few: Vec<_> = (0..9).map(|i| login(i * S, 401)).collect();
    assert!(run(&set, &few).is_empty());
    // Ten failures, but spread so that no ten slices hold them all.
    let spread: Vec<_> = (0..10).map(|i| login(i * 2 * M, 401)).collect();
    assert!(run(&set, &spread).is_empty());
}

fn sequence_rule() -> String {
    header("takeover", "sequence")
        + "group_by: [user.name]\nwithin: 5m\nsteps:\n"
        + "  - {where: {event.outcome: failure}, min_count: 3}\n"
        + "  - where: {event.outcome: success}\n"
}

fn login_outcome(t: i64, outcome: &str) -> apiwatch_core::Event {
    ev(t, json!({"event.action": "user-login", "event.outcome": outcome, "user.name": "alice"}))
}

#[test]
fn sequence_fires_on_failures_then_success_within() {
    let set = rules(&sequence_rule());
    let events = vec![
        login_outcome(0, "failure"),
        login_outcome(10 * S, "failure"),
        login_outcome(20 * S, "failure"),
        login_outcome(30 * S, "success"),
    ];
    let alerts = run(&set, &events);
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (alerts[0].first_seen_ms, alerts[0].detected_at_ms, alerts[0].count),
        (t0(), t0() + 30 * S, 4)
    );
}

#[test]
fn sequence_needs_order_and_time() {
    let set = rules(&sequence_rule());
    // Success first.
    let events = vec![
        login_outcome(0, "success"),
        login_outcome(S, "failure"),
        login_outcome(2 * S, "failure"),
        login_outcome(3 * S, "failure"),
    ];
    assert!(run(&set, &events).is_empty());
    // Failures too spread out for the success to complete the sequence within 5m.
    let events = vec![
        login_outcome(0, "failure"),
        login_outcome(2 * M, "failure"),
        login_outcome(4 * M, "failure"),
        login_outcome(6 * M, "success"),
    ];
    assert!(run(&set, &events).is_empty());
    // More failures keep the first step sliding: the last three are within 5m of the success.
    let mut events = events[..3].to_vec();
    events.extend([
        login_outcome(5 * M, "failure"),
        login_outcome(5 * M + 30 * S, "failure"),
        login_outcome(6 * M, "success"),
    ]);
    let alerts = run(&set, &events);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].first_seen_ms, t0() + 4 * M);
}

#[test]
fn sequence_of_three_steps_in_order() {
    let set = rules(
        &(header("abc", "sequence")
            + "group_by: [user.name]\nwithin: 1h\nsteps:\n  - where: {event.action: a}\n  - where: {event.action: b}\n  - where: {event.action: c}\n"),
    );
    let act = |t, a: &str| ev(t, json!({"event.action": a, "user.name": "u"}));
    assert!(run(&set, &[act(0, "a"), act(M, "c"), act(2 * M, "b")]).is_empty());
    assert_eq!(run(&set, &[act(0, "a"), act(M, "c"), act(2 * M, "b"), act(3 * M, "c")]).len(), 1);
}

fn new_value_rule() -> String {
    header("new-country", "new_value")
        + "group_by: [user.name]\nfield: source.geo.country_iso_code\nlearn: 1d\nmin_key_events: 3\nsuppress: 1d\n"
        + "summary: \"{user.name} from {value} ({source.geo.country_iso_code})\"\n"
}

fn from_country(t: i64, country: &str) -> apiwatch_core::Event {
    ev(t, json!({"user.name": "alice", "source.geo.country_iso_code": country}))
}

#[test]
fn new_value_fires_after_learning_once_per_value() {
    let set = rules(&new_value_rule());
    let mut events: Vec<_> = (0..8).map(|i| from_country(i * 6 * H, "FR")).collect();
    events.extend([
        from_country(49 * H, "DE"),
        from_country(50 * H, "DE"),
        from_country(51 * H, "US"),
    ]);
    let alerts = run(&set, &events);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!((alerts[0].detected_at_ms, alerts[0].count), (t0() + 49 * H, 2));
    assert_eq!(alerts[0].summary, "alice from DE (DE)");
}

#[test]
fn new_value_learns_during_the_learning_period() {
    let set = rules(&new_value_rule());
    let mut events: Vec<_> = (0..8).map(|i| from_country(i * 6 * H, "FR")).collect();
    events.insert(2, from_country(12 * H + 1, "DE"));
    events.push(from_country(60 * H, "DE"));
    assert!(run(&set, &events).is_empty());
    // Too few events before the new value.
    let events =
        vec![from_country(0, "FR"), from_country(30 * H, "FR"), from_country(31 * H, "DE")];
    assert!(run(&set, &events).is_empty());
}

fn velocity_rule(extra: &str) -> String {
    header("travel", "velocity")
        + "group_by: [user.name]\nmax_speed_kmh: 1000\nmin_distance_km: 500\n"
        + extra
}

fn at_place(t: i64, lat: f64, lon: f64, country: &str) -> apiwatch_core::Event {
    ev(
        t,
        json!({"user.name": "alice", "source.geo.location": {"lat": lat, "lon": lon}, "source.geo.country_iso_code": country}),
    )
}

#[test]
fn velocity_paris_to_new_york() {
    let set = rules(&velocity_rule(""));
    let paris = |t| at_place(t, 48.8566, 2.3522, "FR");
    let new_york = |t| at_place(t, 40.7128, -74.0060, "US");
    let alerts = run(&set, &[paris(0), new_york(H)]);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].first_seen_ms, t0());
    assert!(alerts[0].summary.starts_with("user.name alice moved 583"), "{}", alerts[0].summary);
    assert!(run(&set, &[paris(0), new_york(10 * H)]).is_empty());
    // Short hops are not judged, however fast.
    assert!(run(&set, &[paris(0), at_place(60 * S, 48.1, 2.0, "FR")]).is_empty());
}

#[test]
fn velocity_two_countries_within_the_concurrent_window() {
    let set = rules(&velocity_rule(
        "concurrent_window: 5m\nsummary: \"{from_country} then {to_country}\"\n",
    ));
    let country =
        |t, c: &str| ev(t, json!({"user.name": "alice", "source.geo.country_iso_code": c}));
    let alerts = run(&set, &[country(0, "FR"), country(2 * M, "DE")]);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].summary, "FR then DE");
    assert!(run(&set, &[country(0, "FR"), country(6 * M, "DE")]).is_empty());
}

fn baseline_rule(extra: &str) -> String {
    header("volume", "baseline")
        + "group_by: [service.name]\nvalue: count\nbucket: 1h\nfactor: 5\nmin_value: 100\nlearn_buckets: 24\nsuppress: 1h\n"
        + extra
}

/// `per_hour[h]` requests spread evenly over hour `h` for service `svc`.
fn hourly(svc: &str, per_hour: &[u32]) -> Vec<apiwatch_core::Event> {
    let mut out = Vec::new();
    for (h, n) in per_hour.iter().enumerate() {
        for i in 0..*n {
            out.push(ev(
                h as i64 * H + i64::from(i) * H / i64::from(*n),
                json!({"service.name": svc, "source.ip": "192.0.2.1"}),
            ));
        }
    }
    out
}

#[test]
fn baseline_steady_then_tenfold_fires() {
    let set = rules(&baseline_rule("summary: \"{value} requests in {window}, usual {mean}\"\n"));
    let mut per_hour = vec![100; 72];
    per_hour.push(1000);
    let mut events = hourly("orders", &per_hour);
    // The next hour's first event ends the burst's bucket.
    events.push(ev(73 * H, json!({"service.name": "orders"})));
    let alerts = run(&set, &events);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    assert_eq!((a.detected_at_ms, a.first_seen_ms, a.count), (t0() + 73 * H, t0() + 72 * H, 1000));
    assert_eq!(a.summary, "1000 requests in 1h, usual 100");
    assert_eq!(
        a.evidence.len(),
        1,
        "the event that took the bucket over: {:?}",
        a.evidence.iter().map(|e| e["@timestamp"].clone()).collect::<Vec<_>>()
    );
}

#[test]
fn baseline_buckets_under_way_are_judged_at_the_end_of_the_input() {
    let set = rules(&baseline_rule(""));
    let mut per_hour = vec![100; 30];
    per_hour.push(1000);
    let alerts = run(&set, &hourly("orders", &per_hour));
    assert_eq!(alerts.len(), 1);
    // Detected at the last event, the bucket not having ended.
    assert_eq!(alerts[0].detected_at_ms, t0() + 31 * H - H / 1000);
}

#[test]
fn baseline_slow_rise_stays_quiet() {
    let set = rules(&baseline_rule(""));
    let per_hour: Vec<u32> = (0..96).map(|h| (100.0 * 1.03f64.powi(h)).round() as u32).collect();
    let alerts = run(&set, &hourly("orders", &per_hour));
    assert!(alerts.is_empty(), "{alerts:#?}");
}

#[test]
fn baseline_by_hour_of_day_learns_a_nightly_batch() {
    let mut per_hour = Vec::new();
    for _day in 0..5 {
        for h in 0..24 {
            per_hour.push(if h == 2 { 2000 } else { 100 });
        }
    }
    let events = hourly("orders", &per_hour);
    let by_hour = rules(&baseline_rule("by_hour_of_day: true\n"));
    assert!(run(&by_hour, &events).is_empty());
    let flat = rules(&baseline_rule(""));
    let alerts = run(&flat, &events);
    assert!(!alerts.is_empty());
    assert_eq!(alerts[0].detected_at_ms, t0() + 27 * H, "the second night's batch");
}

#[test]
fn baseline_judges_a_silent_actor_when_event_time_passes_its_bucket() {
    let set = rules(&baseline_rule(""));
    let mut a = hourly("a", &[100; 30]);
    // A burst in hour 30, then service a falls silent.
    a.extend((0..1000).map(|i| ev(30 * H + i * 600, json!({"service.name": "a"}))));
    let mut b: Vec<_> = (0..40 * 6).map(|i| ev(i * 10 * M, json!({"service.name": "b"}))).collect();
    let mut events = Vec::new();
    events.append(&mut a);
    events.append(&mut b);
    events.sort_by_key(|e| e.timestamp_ms);
    let mut engine = Engine::new(set, Limits::default(), 0, 1);
    let mut out = Vec::new();
    for e in &events {
        engine.process(e, &mut out);
    }
    assert_eq!(out.len(), 1, "judged and closed before the end of the input");
    assert_eq!(out[0].detected_at_ms, t0() + 31 * H);
    assert_eq!(out[0].actor[0].1, "a");
}

#[test]
fn open_alerts_are_bounded() {
    let set = rules(&(header("any-request", "match") + "suppress: 1h\n"));
    let events: Vec<_> =
        (0..3).map(|i| ev(i * S, json!({"source.ip": format!("192.0.2.{i}")}))).collect();
    let limits = Limits { max_open_alerts_per_rule: 2, ..Limits::default() };
    let (alerts, stats) = run_with(&set, limits, &events);
    assert_eq!(alerts.len(), 3, "the first was emitted early to make room, none lost");
    assert_eq!(stats.rules[0].alerts_closed_early, 1);
}
