//! API tokens: creation, authentication, listing, revocation; the secret never stored.

mod common;

use apiwatch_state::{Role, StateError, LAST_USED_RESOLUTION_MS, TOKEN_PREFIX};

#[test]
fn a_token_authenticates_until_revoked() {
    let (_dir, state, _path) = common::fresh();
    let (id, secret) = state.create_token("ci-agent", Role::Agent, 1_000).unwrap();
    let text = secret.expose();
    assert!(text.starts_with(TOKEN_PREFIX));
    assert_eq!(text.len(), TOKEN_PREFIX.len() + 43);
    assert!(text[TOKEN_PREFIX.len()..]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));

    let who = state.authenticate(text, 5_000).unwrap().unwrap();
    assert_eq!((who.id, who.name.as_str(), who.role), (id, "ci-agent", Role::Agent));
    assert_eq!(state.list_tokens().unwrap()[0].last_used_ms, Some(5_000));
    // Within the resolution the use is not written again; past it, it is.
    state.authenticate(text, 5_000 + LAST_USED_RESOLUTION_MS - 1).unwrap().unwrap();
    assert_eq!(state.list_tokens().unwrap()[0].last_used_ms, Some(5_000));
    state.authenticate(text, 5_000 + LAST_USED_RESOLUTION_MS).unwrap().unwrap();
    assert_eq!(state.list_tokens().unwrap()[0].last_used_ms, Some(5_000 + LAST_USED_RESOLUTION_MS));

    // Near misses do not authenticate.
    let mut wrong = text.to_string();
    wrong.pop();
    wrong.push(if text.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(state.authenticate(&wrong, 6_000).unwrap(), None);
    assert_eq!(state.authenticate(&text[TOKEN_PREFIX.len()..], 6_000).unwrap(), None);
    assert_eq!(state.authenticate("", 6_000).unwrap(), None);

    let by_id = state.token_by_id(id).unwrap().unwrap();
    assert_eq!((by_id.name.as_str(), by_id.role), ("ci-agent", Role::Agent));
    assert!(state.revoke_token(id).unwrap());
    assert!(!state.revoke_token(id).unwrap());
    assert_eq!(state.authenticate(text, 7_000).unwrap(), None);
    assert_eq!(state.token_by_id(id).unwrap(), None);
    // Ids are not reused: a session opened with the revoked token stays dead.
    let (next, _) = state.create_token("ci-agent-2", Role::Agent, 8_000).unwrap();
    assert!(next > id);
}

#[test]
fn names_are_unique_and_lists_show_no_secret() {
    let (_dir, state, _path) = common::fresh();
    let (a, secret_a) = state.create_token("ann", Role::Admin, 1).unwrap();
    let (b, secret_b) = state.create_token("edge", Role::Bouncer, 2).unwrap();
    assert_ne!(secret_a.expose(), secret_b.expose());
    let err = state.create_token("ann", Role::Viewer, 3).unwrap_err();
    assert!(matches!(err, StateError::Conflict { what: "token", .. }), "{err}");
    assert!(matches!(state.create_token("", Role::Viewer, 3), Err(StateError::Invalid { .. })));
    let list = state.list_tokens().unwrap();
    assert_eq!(
        list.iter().map(|t| (t.id, t.name.as_str(), t.role)).collect::<Vec<_>>(),
        [(a, "ann", Role::Admin), (b, "edge", Role::Bouncer)]
    );
    let json = serde_json::to_string(&list).unwrap();
    assert!(!json.contains(secret_a.expose()) && !json.contains("sha256"), "{json}");
    // Debug output hides the secret.
    assert!(!format!("{secret_a:?}").contains(secret_a.expose()));
}

#[test]
fn roles_read_back_from_their_names() {
    for role in Role::ALL {
        assert_eq!(Role::parse(role.as_str()), Some(role));
        assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
    }
    assert_eq!(Role::parse("root"), None);
}

#[test]
fn the_secret_is_nowhere_in_the_database_files() {
    let (dir, state, _path) = common::fresh();
    let (_, secret) = state.create_token("ann", Role::Admin, 1).unwrap();
    state.authenticate(secret.expose(), 2).unwrap().unwrap();
    let before_close = files_containing(dir.path(), secret.expose().as_bytes());
    drop(state);
    let after_close = files_containing(dir.path(), secret.expose().as_bytes());
    assert!(before_close.is_empty(), "secret found in {before_close:?}");
    assert!(after_close.is_empty(), "secret found in {after_close:?}");
    // The check itself works: the token's name is in the files.
    assert!(!files_containing(dir.path(), b"ann").is_empty());
}

/// The files of `dir` (database, WAL, shared memory) whose bytes contain `needle`.
fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let bytes = std::fs::read(p).unwrap();
            bytes.windows(needle.len()).any(|w| w == needle)
        })
        .map(|p| p.display().to_string())
        .collect()
}
