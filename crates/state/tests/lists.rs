//! Mutes and the allow-list.

mod common;

use apiwatch_core::{ActorId, ScopeKind};
use apiwatch_state::StateError;

#[test]
fn mutes_list_until_they_expire_and_delete() {
    let (_dir, state, _path) = common::fresh();
    let zed = ActorId::parse("user:zed").unwrap();
    let forever = state.add_mute("brute", &zed, "load test account", "ann", 1_000, None).unwrap();
    let hour = state
        .add_mute(
            "bola",
            &ActorId::parse("ip:10.0.0.1").unwrap(),
            "scanner",
            "ann",
            1_000,
            Some(3_601_000),
        )
        .unwrap();
    let ids =
        |now| -> Vec<i64> { state.list_mutes(now).unwrap().into_iter().map(|m| m.id).collect() };
    assert_eq!(ids(2_000), [forever, hour]);
    assert_eq!(ids(3_601_000), [forever]);
    let m = &state.list_mutes(0).unwrap()[0];
    assert_eq!(
        (m.rule.as_str(), &m.actor, m.reason.as_str(), m.created_by.as_str()),
        ("brute", &zed, "load test account", "ann")
    );
    assert!(state.delete_mute(forever).unwrap());
    assert!(!state.delete_mute(forever).unwrap());
    assert_eq!(ids(2_000), [hour]);
}

#[test]
fn allow_entries_add_list_delete_and_refuse_duplicates() {
    let (_dir, state, _path) = common::fresh();
    let net = state.add_allow(ScopeKind::Range, "10.0.0.0/8", "office", "ann", 5).unwrap();
    let user = state.add_allow(ScopeKind::User, "monitor", "health checks", "ann", 6).unwrap();
    let list = state.list_allow().unwrap();
    assert_eq!(
        list.iter().map(|e| (e.id, e.scope, e.value.as_str())).collect::<Vec<_>>(),
        [(net, ScopeKind::Range, "10.0.0.0/8"), (user, ScopeKind::User, "monitor")]
    );
    assert_eq!(
        (list[0].reason.as_str(), list[0].created_by.as_str(), list[0].created_at_ms),
        ("office", "ann", 5)
    );
    let err = state.add_allow(ScopeKind::Range, "10.0.0.0/8", "again", "bob", 7).unwrap_err();
    assert!(matches!(err, StateError::Conflict { .. }), "{err}");
    assert!(err.to_string().contains("range:10.0.0.0/8"), "{err}");
    // The same value in another scope is another entry.
    state.add_allow(ScopeKind::Ip, "10.0.0.0/8", "odd but distinct", "bob", 7).unwrap();
    assert!(state.delete_allow(net).unwrap());
    assert!(!state.delete_allow(net).unwrap());
    assert_eq!(state.list_allow().unwrap().len(), 2);
}
