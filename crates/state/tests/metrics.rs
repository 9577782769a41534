//! Security KPIs: counts, mean time to detect and respond, false-positive rate.

mod common;

use apiwatch_core::IncidentStatus;
use common::incident;

#[test]
fn kpis_overall_and_per_rule() {
    let (_dir, state, _path) = common::fresh();
    // first_event_ms is opened_at_ms - 10 s for every incident: MTTD 10 000 ms.
    state.upsert_incident(&incident("i1", &["ip:10.0.0.1"], &["brute"], 100_000)).unwrap();
    state.upsert_incident(&incident("i2", &["ip:10.0.0.2"], &["bola", "brute"], 200_000)).unwrap();
    state.upsert_incident(&incident("i3", &["ip:10.0.0.3"], &["bola"], 300_000)).unwrap();
    // Outside the range.
    state.upsert_incident(&incident("i4", &["ip:10.0.0.4"], &["brute"], 900_000)).unwrap();
    state.set_incident_status("i1", IncidentStatus::Resolved, "ann", 160_000).unwrap(); // 60 s
    state.set_incident_status("i2", IncidentStatus::FalsePositive, "ann", 220_000).unwrap(); // 20 s
    state.set_incident_status("i3", IncidentStatus::Acknowledged, "ann", 301_000).unwrap();
    state.set_incident_status("i4", IncidentStatus::FalsePositive, "ann", 901_000).unwrap();

    let m = state.security_metrics(0, 500_000).unwrap();
    assert_eq!(m.overall.incidents, 3);
    assert_eq!(m.overall.closed, 2);
    assert_eq!(m.overall.false_positives, 1);
    assert_eq!(m.overall.mean_time_to_detect_ms, Some(10_000.0));
    assert_eq!(m.overall.mean_time_to_respond_ms, Some(40_000.0));
    assert_eq!(m.overall.false_positive_rate, Some(0.5));

    let rules: Vec<&str> = m.per_rule.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(rules, ["bola", "brute"]);
    let bola = &m.per_rule[0].kpis;
    assert_eq!((bola.incidents, bola.closed, bola.false_positives), (2, 1, 1));
    assert_eq!(bola.mean_time_to_respond_ms, Some(20_000.0));
    assert_eq!(bola.false_positive_rate, Some(1.0));
    let brute = &m.per_rule[1].kpis;
    assert_eq!((brute.incidents, brute.closed, brute.false_positives), (2, 2, 1));
    assert_eq!(brute.mean_time_to_respond_ms, Some(40_000.0));

    // Serialises flat per rule, for the API.
    let json = serde_json::to_value(&m).unwrap();
    assert_eq!(json["per_rule"][0]["rule"], "bola");
    assert_eq!(json["per_rule"][0]["incidents"], 2);

    let empty = state.security_metrics(2_000_000, 3_000_000).unwrap();
    assert_eq!(empty.overall.incidents, 0);
    assert_eq!(empty.overall.mean_time_to_detect_ms, None);
    assert_eq!(empty.overall.false_positive_rate, None);
    assert!(empty.per_rule.is_empty());
}
