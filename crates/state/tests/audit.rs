//! The audit trail: appended, listed, append-only in the database, and hash-chained.

mod common;

use apiwatch_state::{AuditEntry, AuditFilter, Role, State, StateError};
use serde_json::json;

fn entry(at_ms: i64, who: &str, action: &str, target: &str) -> AuditEntry {
    AuditEntry {
        at_ms,
        who: who.into(),
        role: Some(Role::Analyst),
        from: Some("192.0.2.10".into()),
        action: action.into(),
        target: target.into(),
        detail: json!({"reason": "ticket 42", "n": 1}),
    }
}

fn filled() -> (tempfile::TempDir, State, std::path::PathBuf) {
    let (dir, state, path) = common::fresh();
    state.audit(&entry(1_000, "ann", "decision.approve", "decision:1")).unwrap();
    state.audit(&entry(2_000, "bob", "incident.resolve", "incident:i1")).unwrap();
    let mut system = entry(3_000, "expiry", "decision.expire", "decision:1");
    system.role = None;
    system.from = None;
    state.audit(&system).unwrap();
    state.audit(&entry(4_000, "ann", "token.create", "token:edge")).unwrap();
    (dir, state, path)
}

#[test]
fn entries_list_newest_first_with_filters() {
    let (_dir, state, _path) = filled();
    let all = state.list_audit(&AuditFilter::default()).unwrap();
    assert_eq!(all.total, 4);
    assert_eq!(all.items.iter().map(|r| r.id).collect::<Vec<_>>(), [4, 3, 2, 1]);
    assert_eq!(all.items[3].entry, entry(1_000, "ann", "decision.approve", "decision:1"));
    assert_eq!((all.items[1].entry.role, all.items[1].entry.from.as_deref()), (None, None));
    let ids = |f: AuditFilter| -> Vec<i64> {
        state.list_audit(&f).unwrap().items.into_iter().map(|r| r.id).collect()
    };
    assert_eq!(ids(AuditFilter { who: Some("ann".into()), ..Default::default() }), [4, 1]);
    assert_eq!(
        ids(AuditFilter { action: Some("decision.expire".into()), ..Default::default() }),
        [3]
    );
    assert_eq!(
        ids(AuditFilter { since_ms: Some(2_000), until_ms: Some(4_000), ..Default::default() }),
        [3, 2]
    );
    let json = serde_json::to_value(&all.items[0]).unwrap();
    assert_eq!((json["id"].as_i64(), json["action"].as_str()), (Some(4), Some("token.create")));
    assert_eq!(state.verify_audit().unwrap(), 4);
}

#[test]
fn the_database_refuses_updates_and_deletes_of_the_audit_trail() {
    let (_dir, state, path) = filled();
    let raw = rusqlite::Connection::open(&path).unwrap();
    let update = raw.execute("UPDATE audit SET who = 'mallory' WHERE id = 2", []).unwrap_err();
    assert!(update.to_string().contains("append-only"), "{update}");
    let delete = raw.execute("DELETE FROM audit WHERE id = 2", []).unwrap_err();
    assert!(delete.to_string().contains("append-only"), "{delete}");
    let delete_all = raw.execute("DELETE FROM audit", []).unwrap_err();
    assert!(delete_all.to_string().contains("append-only"), "{delete_all}");
    assert_eq!(state.verify_audit().unwrap(), 4);
}

#[test]
fn verify_finds_an_entry_edited_with_the_trigger_dropped() {
    let (_dir, state, path) = filled();
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch(
        "DROP TRIGGER audit_no_update;
         UPDATE audit SET detail_json = '{\"reason\":\"nothing to see\"}' WHERE id = 2;",
    )
    .unwrap();
    let err = state.verify_audit().unwrap_err();
    assert!(matches!(err, StateError::AuditChain { id: 2, .. }), "{err}");
    assert!(err.to_string().contains("entry 2"), "{err}");
}

#[test]
fn verify_finds_an_edit_whose_own_hash_was_recomputed() {
    // Editing entry 2 and giving it any hash breaks entry 3, whose hash covers entry 2's.
    let (_dir, state, path) = filled();
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch(
        "DROP TRIGGER audit_no_update;
         UPDATE audit SET who = 'mallory', hash = zeroblob(32) WHERE id = 2;",
    )
    .unwrap();
    let err = state.verify_audit().unwrap_err();
    assert!(matches!(err, StateError::AuditChain { id: 2, .. }), "{err}");
}

#[test]
fn verify_finds_a_removed_entry() {
    let (_dir, state, path) = filled();
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id = 2;").unwrap();
    let err = state.verify_audit().unwrap_err();
    assert!(matches!(err, StateError::AuditChain { id: 3, .. }), "{err}");
}

#[test]
fn verify_walks_a_trail_longer_than_one_batch() {
    let (_dir, state, _path) = common::fresh();
    assert_eq!(state.verify_audit().unwrap(), 0);
    for i in 0..1_050 {
        state.audit(&entry(i, "ann", "incident.note", "incident:i1")).unwrap();
    }
    assert_eq!(state.verify_audit().unwrap(), 1_050);
}
