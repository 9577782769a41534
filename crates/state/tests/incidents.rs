//! Incidents: correlation's upserts beside the analyst's triage, notes and filters.

mod common;

use apiwatch_core::{ActorId, IncidentStatus, Severity};
use apiwatch_state::{IncidentFilter, Paging, StateError, Verdict};
use common::incident;

#[test]
fn a_new_incident_is_open_and_upserts_never_touch_the_triage() {
    let (_dir, state, _path) = common::fresh();
    let mut inc = incident("i1", &["ip:10.0.0.1", "user:zed"], &["bola", "brute"], 100_000);
    state.upsert_incident(&inc).unwrap();
    let got = state.incident("i1").unwrap().unwrap();
    assert_eq!(got.incident, inc);
    assert_eq!(got.triage.status, IncidentStatus::Open);
    assert_eq!(got.triage.assignee, None);

    state.set_incident_status("i1", IncidentStatus::Acknowledged, "ann", 101_000).unwrap();
    state.assign_incident("i1", Some("ann")).unwrap();
    state.set_verdict("i1", Some(&Verdict::Other("pen test by the red team".into()))).unwrap();
    // Correlation grows the incident: a new alert, a new actor, a higher severity.
    inc.alert_ids.push("i1-a2".into());
    inc.actors.push(ActorId::parse("user:amy").unwrap());
    inc.severity = Severity::Critical;
    inc.updated_at_ms = 102_000;
    state.upsert_incident(&inc).unwrap();
    let got = state.incident("i1").unwrap().unwrap();
    assert_eq!(got.incident, inc);
    assert_eq!(got.triage.status, IncidentStatus::Acknowledged);
    assert_eq!(got.triage.status_by.as_deref(), Some("ann"));
    assert_eq!(got.triage.assignee.as_deref(), Some("ann"));
    assert_eq!(got.triage.verdict, Some(Verdict::Other("pen test by the red team".into())));
    assert_eq!(got.triage.acknowledged_at_ms, Some(101_000));
    // The new actor is searchable.
    let amy = IncidentFilter { actor: ActorId::parse("user:amy"), ..Default::default() };
    assert_eq!(state.list_incidents(&amy).unwrap().total, 1);
    assert!(state.incident("missing").unwrap().is_none());
}

#[test]
fn status_changes_record_acknowledgement_closing_and_reopening() {
    let (_dir, state, _path) = common::fresh();
    state.upsert_incident(&incident("i1", &["ip:10.0.0.1"], &["r"], 1_000)).unwrap();
    let triage = || state.incident("i1").unwrap().unwrap().triage;
    // Closing an open incident acknowledges it too.
    state.set_incident_status("i1", IncidentStatus::Resolved, "bob", 5_000).unwrap();
    let t = triage();
    assert_eq!(
        (t.status, t.acknowledged_at_ms, t.resolved_at_ms),
        (IncidentStatus::Resolved, Some(5_000), Some(5_000))
    );
    // Relabelled a false positive later: the closing time is the first one.
    state.set_incident_status("i1", IncidentStatus::FalsePositive, "bob", 9_000).unwrap();
    assert_eq!(triage().resolved_at_ms, Some(5_000));
    // Reopened: no longer closed, still acknowledged.
    state.set_incident_status("i1", IncidentStatus::Open, "bob", 10_000).unwrap();
    let t = triage();
    assert_eq!(
        (t.status, t.acknowledged_at_ms, t.resolved_at_ms),
        (IncidentStatus::Open, Some(5_000), None)
    );
    let err = state.set_incident_status("nope", IncidentStatus::Resolved, "bob", 1).unwrap_err();
    assert!(matches!(err, StateError::NotFound { what: "incident", .. }), "{err}");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn verdicts_assignment_and_notes() {
    let (_dir, state, _path) = common::fresh();
    state.upsert_incident(&incident("i1", &["ip:10.0.0.1"], &["r"], 1_000)).unwrap();
    for v in [Verdict::TruePositive, Verdict::FalsePositive, Verdict::Benign] {
        state.set_verdict("i1", Some(&v)).unwrap();
        assert_eq!(state.incident("i1").unwrap().unwrap().triage.verdict, Some(v.clone()));
        assert_eq!(Verdict::parse(v.as_str()), v);
    }
    state.set_verdict("i1", None).unwrap();
    assert_eq!(state.incident("i1").unwrap().unwrap().triage.verdict, None);
    state.assign_incident("i1", Some("ann")).unwrap();
    state.assign_incident("i1", None).unwrap();
    assert_eq!(state.incident("i1").unwrap().unwrap().triage.assignee, None);

    let n2 = state.add_note("i1", "bob", 3_000, "blocked at the edge").unwrap();
    let n1 = state.add_note("i1", "ann", 2_000, "looks like credential stuffing").unwrap();
    let notes = state.incident("i1").unwrap().unwrap().notes;
    assert_eq!(notes.iter().map(|n| n.id).collect::<Vec<_>>(), [n1, n2], "oldest first");
    assert_eq!(notes[0].author, "ann");
    assert_eq!(notes[0].text, "looks like credential stuffing");

    assert!(matches!(state.add_note("nope", "a", 1, "t"), Err(StateError::NotFound { .. })));
    assert!(matches!(state.assign_incident("nope", Some("a")), Err(StateError::NotFound { .. })));
    assert!(matches!(state.set_verdict("nope", None), Err(StateError::NotFound { .. })));
    let long = "x".repeat(apiwatch_state::TEXT_BYTES_MAX + 1);
    assert!(matches!(state.add_note("i1", "a", 1, &long), Err(StateError::Invalid { .. })));
}

#[test]
fn filters_and_paging() {
    let (_dir, state, _path) = common::fresh();
    let mut low = incident("i1", &["ip:10.0.0.1"], &["scan"], 1_000);
    low.severity = Severity::Low;
    state.upsert_incident(&low).unwrap();
    state.upsert_incident(&incident("i2", &["user:zed"], &["bola", "brute"], 2_000)).unwrap();
    state
        .upsert_incident(&incident("i3", &["user:zed", "ip:10.0.0.2"], &["brute"], 3_000))
        .unwrap();
    state.set_incident_status("i3", IncidentStatus::Resolved, "ann", 4_000).unwrap();
    state.assign_incident("i2", Some("ann")).unwrap();
    let ids = |f: IncidentFilter| -> Vec<String> {
        state.list_incidents(&f).unwrap().items.into_iter().map(|r| r.incident.id).collect()
    };
    assert_eq!(ids(IncidentFilter::default()), ["i3", "i2", "i1"]);
    assert_eq!(
        ids(IncidentFilter { status: Some(IncidentStatus::Open), ..Default::default() }),
        ["i2", "i1"]
    );
    assert_eq!(
        ids(IncidentFilter { severity_min: Some(Severity::High), ..Default::default() }),
        ["i3", "i2"]
    );
    assert_eq!(
        ids(IncidentFilter { actor: ActorId::parse("user:zed"), ..Default::default() }),
        ["i3", "i2"]
    );
    assert_eq!(ids(IncidentFilter { rule: Some("bola".into()), ..Default::default() }), ["i2"]);
    assert_eq!(ids(IncidentFilter { assignee: Some("ann".into()), ..Default::default() }), ["i2"]);
    assert_eq!(
        ids(IncidentFilter { since_ms: Some(1_500), until_ms: Some(3_000), ..Default::default() }),
        ["i2"]
    );
    let page = state
        .list_incidents(&IncidentFilter {
            paging: Paging { limit: 2, offset: 2 },
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].incident.id, "i1");
    assert_eq!(page.items[0].triage.status, IncidentStatus::Open);
}
