//! Opening: migrations from an empty file, reopening, pragmas, a newer schema refused, use
//! from several threads.

mod common;

use apiwatch_core::Severity;
use apiwatch_state::{State, StateError, SCHEMA_VERSION};
use std::sync::Arc;

#[test]
fn an_empty_file_is_migrated_and_reopens_with_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    std::fs::write(&path, b"").unwrap();
    let state = State::open(&path).unwrap();
    assert_eq!(state.schema_version().unwrap(), SCHEMA_VERSION);
    let a = common::alert("r", &[("source.ip", "10.0.0.1")], 1_000, Severity::Low);
    state.upsert_alert(&a, None).unwrap();
    drop(state);
    let state = State::open(&path).unwrap();
    assert_eq!(state.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(state.alert(&a.id).unwrap(), Some(a));
}

#[test]
fn the_file_is_in_wal_mode_at_the_current_version() {
    let (_dir, state, path) = common::fresh();
    drop(state);
    // journal_mode is kept in the file; the per-connection pragmas are checked by a unit
    // test of `db.rs`.
    let raw = rusqlite::Connection::open(&path).unwrap();
    let mode: String = raw.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let version: u32 = raw.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn a_newer_schema_version_is_refused() {
    let (_dir, state, path) = common::fresh();
    drop(state);
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
    drop(raw);
    let err = State::open(&path).unwrap_err();
    match &err {
        StateError::NewerSchema { found, known, .. } => {
            assert_eq!((*found, *known), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected NewerSchema, got {other}"),
    }
    assert!(err.to_string().contains("newer than this apiwatch knows"), "{err}");
}

#[test]
fn a_file_that_is_not_a_database_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    let err = State::open(&path).unwrap_err();
    assert!(err.to_string().contains("state.db"), "{err}");
}

#[test]
fn several_threads_share_one_state() {
    let (_dir, state, _path) = common::fresh();
    let state = Arc::new(state);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let state = Arc::clone(&state);
            std::thread::spawn(move || {
                for i in 0..25 {
                    let ip = format!("10.0.{t}.{i}");
                    let a = common::alert("r", &[("source.ip", &ip)], i, Severity::Low);
                    state.upsert_alert(&a, None).unwrap();
                    assert!(state.alert(&a.id).unwrap().is_some());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let page = state.list_alerts(&Default::default()).unwrap();
    assert_eq!(page.total, 100);
}

#[test]
fn two_states_on_one_file_see_each_others_commits() {
    let (_dir, first, path) = common::fresh();
    let second = State::open(&path).unwrap();
    let a = common::alert("r", &[("user.name", "zed")], 5, Severity::High);
    first.upsert_alert(&a, None).unwrap();
    assert_eq!(second.alert(&a.id).unwrap(), Some(a));
}
