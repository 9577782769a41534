//! Alerts: upsert, read back, filters, paging and replay order.

mod common;

use apiwatch_core::{ActorId, ScopeKind, Severity};
use apiwatch_state::{AlertFilter, Paging, PAGE_LIMIT_MAX};
use common::alert;

#[test]
fn an_alert_reads_back_and_a_re_emitted_alert_replaces_it() {
    let (_dir, state, _path) = common::fresh();
    let mut a = alert("r", &[("source.ip", "10.0.0.1")], 1_000, Severity::Medium);
    state.upsert_alert(&a, Some("inc-1")).unwrap();
    assert_eq!(state.alert(&a.id).unwrap().as_ref(), Some(&a));
    // The same alert grown: same id, more hits, a higher severity.
    a.count = 40;
    a.last_seen_ms = 2_000;
    a.severity = Severity::High;
    state.upsert_alert(&a, None).unwrap();
    assert_eq!(state.alert(&a.id).unwrap().as_ref(), Some(&a));
    assert_eq!(state.list_alerts(&AlertFilter::default()).unwrap().total, 1);
    // Upserting without an incident keeps the link made before.
    assert_eq!(state.alert_incident(&a.id).unwrap().as_deref(), Some("inc-1"));
    let high = AlertFilter { severity_min: Some(Severity::High), ..Default::default() };
    assert_eq!(state.list_alerts(&high).unwrap().total, 1);
    assert_eq!(state.alert("missing").unwrap(), None);
}

#[test]
fn filters_narrow_the_list() {
    let (_dir, state, _path) = common::fresh();
    let a1 = alert("brute", &[("source.ip", "10.0.0.1")], 1_000, Severity::Low);
    // The user is second in group-by order; the actor filter still finds it.
    let a2 =
        alert("brute", &[("source.ip", "10.0.0.2"), ("user.name", "zed")], 2_000, Severity::High);
    let a3 = alert("bola", &[("user.name", "zed")], 3_000, Severity::Critical);
    let a4 = alert("scan", &[("url.path", "/x")], 4_000, Severity::Medium);
    state.upsert_alert(&a1, None).unwrap();
    state.upsert_alert(&a2, Some("inc-z")).unwrap();
    state.upsert_alert(&a3, Some("inc-z")).unwrap();
    state.upsert_alert(&a4, None).unwrap();
    let ids = |f: AlertFilter| -> Vec<String> {
        state.list_alerts(&f).unwrap().items.into_iter().map(|a| a.id).collect()
    };
    // Newest first.
    assert_eq!(
        ids(AlertFilter::default()),
        [a4.id.as_str(), a3.id.as_str(), a2.id.as_str(), a1.id.as_str()]
    );
    assert_eq!(
        ids(AlertFilter { rule: Some("brute".into()), ..Default::default() }),
        [a2.id.as_str(), a1.id.as_str()]
    );
    assert_eq!(
        ids(AlertFilter { severity_min: Some(Severity::High), ..Default::default() }),
        [a3.id.as_str(), a2.id.as_str()]
    );
    let zed = ActorId::new(ScopeKind::User, "zed");
    assert_eq!(
        ids(AlertFilter { actor: Some(zed), ..Default::default() }),
        [a3.id.as_str(), a2.id.as_str()]
    );
    let ip = ActorId::new(ScopeKind::Ip, "10.0.0.1");
    assert_eq!(ids(AlertFilter { actor: Some(ip), ..Default::default() }), [a1.id.as_str()]);
    assert_eq!(
        ids(AlertFilter { incident_id: Some("inc-z".into()), ..Default::default() }),
        [a3.id.as_str(), a2.id.as_str()]
    );
    assert_eq!(
        ids(AlertFilter { since_ms: Some(2_000), until_ms: Some(4_000), ..Default::default() }),
        [a3.id.as_str(), a2.id.as_str()]
    );
    assert_eq!(
        ids(AlertFilter {
            rule: Some("brute".into()),
            severity_min: Some(Severity::High),
            actor: Some(ActorId::new(ScopeKind::User, "zed")),
            ..Default::default()
        }),
        [a2.id.as_str()]
    );
}

#[test]
fn paging_walks_the_list_and_counts_the_total() {
    let (_dir, state, _path) = common::fresh();
    for i in 0..25 {
        let ip = format!("10.0.0.{i}");
        state.upsert_alert(&alert("r", &[("source.ip", &ip)], i, Severity::Low), None).unwrap();
    }
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let page = state
            .list_alerts(&AlertFilter {
                paging: Paging { limit: 10, offset },
                ..Default::default()
            })
            .unwrap();
        assert_eq!(page.total, 25);
        assert!(page.items.len() <= 10);
        seen.extend(page.items.iter().map(|a| a.detected_at_ms));
        if !page.has_more() {
            break;
        }
        offset += 10;
    }
    assert_eq!(seen, (0..25).rev().collect::<Vec<i64>>());
    // A limit over the maximum is capped; a zero limit still returns a row.
    let big = Paging { limit: PAGE_LIMIT_MAX + 5, offset: 0 };
    assert_eq!(
        state.list_alerts(&AlertFilter { paging: big, ..Default::default() }).unwrap().limit,
        PAGE_LIMIT_MAX
    );
    let zero = Paging { limit: 0, offset: 0 };
    assert_eq!(
        state.list_alerts(&AlertFilter { paging: zero, ..Default::default() }).unwrap().items.len(),
        1
    );
}

#[test]
fn alerts_in_order_replays_every_alert_by_time_then_id_across_batches() {
    let (_dir, state, _path) = common::fresh();
    let mut expected = Vec::new();
    // 600 alerts over 3 batches, several per millisecond, inserted out of order.
    for i in (0..600).rev() {
        let ip = format!("10.1.{}.{}", i / 256, i % 256);
        let a = alert("r", &[("source.ip", &ip)], 10_000 + i / 3, Severity::Low);
        state.upsert_alert(&a, None).unwrap();
        expected.push((a.detected_at_ms, a.id));
    }
    expected.sort();
    let got: Vec<(i64, String)> = state
        .alerts_in_order(0)
        .map(|a| a.map(|a| (a.detected_at_ms, a.id)))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(got, expected);
    // From a time on: inclusive.
    let from: Vec<i64> = state.alerts_in_order(10_150).map(|a| a.unwrap().detected_at_ms).collect();
    assert_eq!(from.len(), expected.iter().filter(|(t, _)| *t >= 10_150).count());
    assert_eq!(from.first(), Some(&10_150));
}

#[test]
fn alerts_are_counted_per_rule_in_a_window() {
    let (_dir, state, _path) = common::fresh();
    let mut grown = alert("brute", &[("source.ip", "10.0.0.1")], 1_000, Severity::Low);
    state.upsert_alert(&grown, None).unwrap();
    // Raised again as it grew: still one alert.
    grown.count = 9;
    state.upsert_alert(&grown, None).unwrap();
    for (rule, ip, at) in
        [("brute", "10.0.0.2", 2_000), ("bola", "10.0.0.3", 2_500), ("brute", "10.0.0.4", 3_000)]
    {
        state.upsert_alert(&alert(rule, &[("source.ip", ip)], at, Severity::Low), None).unwrap();
    }
    let counts = state.alert_counts_by_rule(1_000, 3_000).unwrap();
    assert_eq!(counts.into_iter().collect::<Vec<_>>(), [("bola".into(), 1), ("brute".into(), 2)]);
    assert_eq!(state.alert_counts_by_rule(3_000, 3_001).unwrap()["brute"], 1);
    assert!(state.alert_counts_by_rule(5_000, 9_000).unwrap().is_empty());
}
