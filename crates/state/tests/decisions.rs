//! Decisions: storage, filters, status changes, expiry and the change stream.

mod common;

use apiwatch_core::{Action, DecisionOrigin, DecisionStatus, ScopeKind};
use apiwatch_state::{DecisionFilter, OriginKind, Paging, StateError};
use common::decision;

#[test]
fn a_decision_reads_back_with_its_new_id() {
    let (_dir, state, _path) = common::fresh();
    let mut d = decision(Action::Block, ScopeKind::Ip, "10.0.0.1", DecisionStatus::Active, 1_000);
    d.id = 999; // ignored
    d.incident_id = Some("inc".into());
    d.outcome = Some("ok".into());
    let id = state.insert_decision(&d).unwrap();
    assert_ne!(id, 999);
    let back = state.decision(id).unwrap().unwrap();
    assert_eq!(back, apiwatch_core::Decision { id, ..d.clone() });
    let mut person = d.clone();
    person.origin = DecisionOrigin::Person("ann".into());
    let id2 = state.insert_decision(&person).unwrap();
    assert_eq!(state.decision(id2).unwrap().unwrap().origin, DecisionOrigin::Person("ann".into()));
    assert_eq!(state.decision(12_345).unwrap(), None);
    let meta = state.decision_meta(id).unwrap().unwrap();
    assert_eq!(meta.status_by, None);
    assert!(meta.change_seq > 0);
}

#[test]
fn filters_and_paging() {
    let (_dir, state, _path) = common::fresh();
    let a = state
        .insert_decision(&decision(
            Action::Block,
            ScopeKind::Ip,
            "10.0.0.1",
            DecisionStatus::Active,
            1,
        ))
        .unwrap();
    let b = state
        .insert_decision(&decision(
            Action::Lock,
            ScopeKind::User,
            "zed",
            DecisionStatus::Proposed,
            2,
        ))
        .unwrap();
    let mut by_person =
        decision(Action::Throttle, ScopeKind::Ip, "10.0.0.1", DecisionStatus::Lifted, 3);
    by_person.origin = DecisionOrigin::Person("ann".into());
    by_person.alert_id = Some("a9".into());
    let c = state.insert_decision(&by_person).unwrap();
    let ids = |f: DecisionFilter| -> Vec<i64> {
        state.list_decisions(&f).unwrap().items.into_iter().map(|d| d.id).collect()
    };
    assert_eq!(ids(DecisionFilter::default()), [c, b, a]);
    assert_eq!(
        ids(DecisionFilter { status: Some(DecisionStatus::Proposed), ..Default::default() }),
        [b]
    );
    assert_eq!(ids(DecisionFilter { scope: Some(ScopeKind::Ip), ..Default::default() }), [c, a]);
    assert_eq!(ids(DecisionFilter { value: Some("zed".into()), ..Default::default() }), [b]);
    assert_eq!(ids(DecisionFilter { action: Some(Action::Throttle), ..Default::default() }), [c]);
    assert_eq!(ids(DecisionFilter { origin: Some(OriginKind::Person), ..Default::default() }), [c]);
    assert_eq!(
        ids(DecisionFilter { origin: Some(OriginKind::Rule), ..Default::default() }),
        [b, a]
    );
    assert_eq!(ids(DecisionFilter { alert_id: Some("a9".into()), ..Default::default() }), [c]);
    let page = state
        .list_decisions(&DecisionFilter {
            paging: Paging { limit: 1, offset: 1 },
            ..Default::default()
        })
        .unwrap();
    assert_eq!((page.total, page.items.len(), page.items[0].id), (3, 1, b));
}

#[test]
fn status_changes_outcomes_and_lookups() {
    let (_dir, state, _path) = common::fresh();
    let p = state
        .insert_decision(&decision(
            Action::Block,
            ScopeKind::Ip,
            "10.0.0.1",
            DecisionStatus::Proposed,
            1_000,
        ))
        .unwrap();
    // A proposal is what a new identical decision would duplicate.
    let open = state.open_decision_for(Action::Block, ScopeKind::Ip, "10.0.0.1", 2_000).unwrap();
    assert_eq!(open.map(|d| d.id), Some(p));
    assert_eq!(
        state.open_decision_for(Action::Throttle, ScopeKind::Ip, "10.0.0.1", 2_000).unwrap(),
        None
    );
    assert!(state.active_decisions_for(ScopeKind::Ip, "10.0.0.1", 2_000).unwrap().is_empty());

    let approved = state.update_decision_status(p, DecisionStatus::Active, 50_000, "ann").unwrap();
    assert_eq!((approved.status, approved.expires_at_ms), (DecisionStatus::Active, 50_000));
    assert_eq!(state.decision_meta(p).unwrap().unwrap().status_by.as_deref(), Some("ann"));
    assert_eq!(state.active_decisions_for(ScopeKind::Ip, "10.0.0.1", 2_000).unwrap().len(), 1);
    assert!(state.active_decisions_for(ScopeKind::Ip, "10.0.0.2", 2_000).unwrap().is_empty());
    // Past its end it is no longer active, even before expiry marks it.
    assert!(state.active_decisions_for(ScopeKind::Ip, "10.0.0.1", 50_000).unwrap().is_empty());
    assert_eq!(
        state.open_decision_for(Action::Block, ScopeKind::Ip, "10.0.0.1", 60_000).unwrap(),
        None
    );

    state.set_decision_outcome(p, "webhook: 200").unwrap();
    assert_eq!(state.decision(p).unwrap().unwrap().outcome.as_deref(), Some("webhook: 200"));

    let err = state.update_decision_status(777, DecisionStatus::Lifted, 0, "ann").unwrap_err();
    assert!(matches!(err, StateError::NotFound { what: "decision", .. }), "{err}");
    assert!(err.to_string().contains("777"), "{err}");
    assert!(matches!(state.set_decision_outcome(777, "x"), Err(StateError::NotFound { .. })));
}

#[test]
fn expiry_marks_only_active_decisions_past_their_end() {
    let (_dir, state, _path) = common::fresh();
    let mut short = decision(Action::Block, ScopeKind::Ip, "10.0.0.1", DecisionStatus::Active, 0);
    short.expires_at_ms = 1_000;
    let short = state.insert_decision(&short).unwrap();
    let long = state
        .insert_decision(&decision(
            Action::Block,
            ScopeKind::Ip,
            "10.0.0.2",
            DecisionStatus::Active,
            0,
        ))
        .unwrap();
    let mut proposal = decision(Action::Lock, ScopeKind::User, "zed", DecisionStatus::Proposed, 0);
    proposal.expires_at_ms = 500;
    let proposal = state.insert_decision(&proposal).unwrap();

    let active: Vec<i64> = state.active_decisions(500).unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(active, [short, long]);
    let expired = state.expire_decisions(1_000).unwrap();
    assert_eq!(
        expired.iter().map(|d| (d.id, d.status)).collect::<Vec<_>>(),
        [(short, DecisionStatus::Expired)]
    );
    assert_eq!(state.decision(proposal).unwrap().unwrap().status, DecisionStatus::Proposed);
    assert!(state.expire_decisions(1_000).unwrap().is_empty(), "once");
    let active: Vec<i64> =
        state.active_decisions(1_000).unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(active, [long]);
}

#[test]
fn the_change_stream_gives_what_to_enforce_and_what_to_stop() {
    let (_dir, state, _path) = common::fresh();
    let start = state.decision_changes_since(0).unwrap();
    assert_eq!(
        (start.active.len(), start.inactive.len(), start.latest_seq, start.more),
        (0, 0, 0, false)
    );

    let a = state
        .insert_decision(&decision(
            Action::Block,
            ScopeKind::Ip,
            "10.0.0.1",
            DecisionStatus::Active,
            0,
        ))
        .unwrap();
    let p = state
        .insert_decision(&decision(
            Action::Block,
            ScopeKind::Ip,
            "10.0.0.2",
            DecisionStatus::Proposed,
            0,
        ))
        .unwrap();
    let first = state.decision_changes_since(0).unwrap();
    assert_eq!(first.active.iter().map(|d| d.id).collect::<Vec<_>>(), [a]);
    assert!(first.inactive.is_empty(), "proposals are nobody's to enforce");
    assert_eq!(first.latest_seq, 2);

    // Nothing new: an empty answer with the same number.
    let again = state.decision_changes_since(first.latest_seq).unwrap();
    assert!(again.active.is_empty() && again.inactive.is_empty());
    assert_eq!(again.latest_seq, first.latest_seq);

    state.update_decision_status(a, DecisionStatus::Lifted, 10, "ann").unwrap();
    state.update_decision_status(p, DecisionStatus::Active, 99_000, "ann").unwrap();
    let next = state.decision_changes_since(first.latest_seq).unwrap();
    assert_eq!(next.active.iter().map(|d| d.id).collect::<Vec<_>>(), [p]);
    assert_eq!(
        next.inactive.iter().map(|d| (d.id, d.status)).collect::<Vec<_>>(),
        [(a, DecisionStatus::Lifted)]
    );
    assert_eq!(next.latest_seq, 4);

    state.expire_decisions(100_000).unwrap();
    let last = state.decision_changes_since(next.latest_seq).unwrap();
    assert_eq!(
        last.inactive.iter().map(|d| (d.id, d.status)).collect::<Vec<_>>(),
        [(p, DecisionStatus::Expired)]
    );
    assert!(last.latest_seq > next.latest_seq);
    // Sequence numbers only grow, and every decision carries its last one.
    let seq_a = state.decision_meta(a).unwrap().unwrap().change_seq;
    let seq_p = state.decision_meta(p).unwrap().unwrap().change_seq;
    assert!(seq_a < seq_p && seq_p == last.latest_seq);
}
