//! Traffic minutes: saved, replaced, pruned, read back per kind, and kept across a reopen.

mod common;

use apiwatch_state::State;

#[test]
fn traffic_minutes_are_replaced_pruned_and_kept_per_kind() {
    let (_dir, state, path) = common::fresh();
    let m = |minute: i64, data: &str| (minute, data.to_string());
    state.save_traffic_minutes("rollup", &[m(10, "a"), m(11, "b")], 0).unwrap();
    state.save_traffic_minutes("geo", &[m(11, "g")], 0).unwrap();
    // A minute counted again (late events) replaces what was saved; older minutes go.
    state.save_traffic_minutes("rollup", &[m(11, "b2"), m(12, "c")], 11).unwrap();
    assert_eq!(state.traffic_minutes("rollup", 0).unwrap(), [m(11, "b2"), m(12, "c")]);
    assert_eq!(state.traffic_minutes("rollup", 12).unwrap(), [m(12, "c")]);
    assert_eq!(state.traffic_minutes("geo", 0).unwrap(), [m(11, "g")], "pruning is per kind");
    drop(state);
    let state = State::open(&path).unwrap();
    assert_eq!(state.traffic_minutes("rollup", 0).unwrap().len(), 2);
    assert!(state.traffic_minutes("other", 0).unwrap().is_empty());
}

#[test]
fn a_version_1_database_gains_the_table_and_keeps_its_rows() {
    let (_dir, state, path) = common::fresh();
    let a = common::alert("r", &[("source.ip", "10.0.0.1")], 1_000, apiwatch_core::Severity::Low);
    state.upsert_alert(&a, None).unwrap();
    drop(state);
    // What version 1 wrote: no traffic table.
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch("DROP TABLE traffic_minutes; PRAGMA user_version = 1;").unwrap();
    drop(raw);
    let state = State::open(&path).unwrap();
    assert_eq!(state.schema_version().unwrap(), apiwatch_state::SCHEMA_VERSION);
    assert_eq!(state.alert(&a.id).unwrap(), Some(a));
    state.save_traffic_minutes("rollup", &[(1, "x".into())], 0).unwrap();
}
