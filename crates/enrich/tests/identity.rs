//! Identity from the `authorization` header: JWT claims and Basic users.

mod common;

use apiwatch_core::EventData;
use apiwatch_enrich::{EnrichConfig, EnrichWorker};
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{with_headers, worker};

/// A signed-looking JWT around `claims`; the signature is never checked, so it is filler.
fn jwt(claims: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims);
    format!("{header}.{payload}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk")
}

fn enrich_with(w: &mut EnrichWorker, authorization: &str) -> EventData {
    let mut ev = with_headers(&[("authorization", authorization)]);
    w.enrich(&mut ev);
    ev
}

fn enrich(authorization: &str) -> EventData {
    enrich_with(&mut worker(&EnrichConfig::default()), authorization)
}

#[test]
fn jwt_claims_fill_user_token_and_consumer() {
    let token =
        jwt(r#"{"iss":"https://id.example.com/","sub":"user-8841","aud":"orders","exp":1900000000,
            "jti":"4b1f6e0c-77aa-4f57-a7a3-c1d5bd1e0001","azp":"mobile-app",
            "roles":["admin","billing"],"scope":"orders:read orders:write"}"#);
    let ev = enrich(&format!("Bearer {token}"));
    assert_eq!(ev.user_id.as_deref(), Some("user-8841"));
    assert_eq!(ev.user_name.as_deref(), Some("user-8841"));
    assert_eq!(ev.token_id.as_deref(), Some("4b1f6e0c-77aa-4f57-a7a3-c1d5bd1e0001"));
    assert_eq!(ev.token_issuer.as_deref(), Some("https://id.example.com/"));
    assert_eq!(ev.consumer.as_deref(), Some("mobile-app"));
    assert_eq!(ev.user_roles, ["admin", "billing", "orders:read", "orders:write"]);
    // The token is nowhere but in the header it came in.
    let dump = format!("{ev:?}");
    assert_eq!(dump.matches(&token).count(), 1, "{dump}");
    assert_eq!(ev.header("authorization"), Some(format!("Bearer {token}").as_str()));
}

#[test]
fn roles_as_a_string_and_from_provider_specific_claims() {
    let ev = enrich(&format!("Bearer {}", jwt(r#"{"sub":"a","roles":"admin"}"#)));
    assert_eq!(ev.user_roles, ["admin"]);
    let ev = enrich(&format!("bearer {}", jwt(r#"{"sub":"b","role":["ops"],"groups":"staff"}"#)));
    assert_eq!(ev.user_roles, ["ops", "staff"]);
    let keycloak = r#"{"sub":"c","realm_access":{"roles":["offline_access","uma_authorization"]},"azp":"web"}"#;
    let ev = enrich(&format!("Bearer {}", jwt(keycloak)));
    assert_eq!(ev.user_roles, ["offline_access", "uma_authorization"]);
    let cognito = r#"{"sub":"d","cognito:groups":["admins","admins"],"client_id":"6abc","scope":"aws.cognito.signin.user.admin"}"#;
    let ev = enrich(&format!("Bearer {}", jwt(cognito)));
    assert_eq!(ev.user_roles, ["admins", "aws.cognito.signin.user.admin"]);
    assert_eq!(ev.consumer.as_deref(), Some("6abc"));
    // Non-string roles are skipped, not fatal.
    let ev = enrich(&format!("Bearer {}", jwt(r#"{"sub":"e","roles":[1,{"x":2},"reader"]}"#)));
    assert_eq!(ev.user_roles, ["reader"]);
}

#[test]
fn padded_payloads_are_read_too() {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
    let payload = URL_SAFE.encode(r#"{"sub":"padded"}"#);
    assert!(payload.ends_with('='), "the case needs padding: {payload}");
    let ev = enrich(&format!("Bearer {header}.{payload}.x"));
    assert_eq!(ev.user_id.as_deref(), Some("padded"));
}

#[test]
fn malformed_tokens_set_nothing_and_are_counted() {
    let mut w = worker(&EnrichConfig::default());
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#);
    let bad = [
        format!("Bearer {header}.!!!not-base64!!!.sig"),
        format!("Bearer {header}.{}.sig", URL_SAFE_NO_PAD.encode("not json")),
        format!("Bearer {header}.{}.sig", URL_SAFE_NO_PAD.encode("[\"sub\",\"x\"]")),
        format!("Bearer {header}.{}.sig", URL_SAFE_NO_PAD.encode("{\"sub\":\"trunc")),
    ];
    for auth in &bad {
        let ev = enrich_with(&mut w, auth);
        assert_eq!(
            (ev.user_name, ev.user_id, ev.token_id, ev.token_issuer, ev.consumer),
            (None, None, None, None, None),
            "{auth}"
        );
        assert!(ev.user_roles.is_empty());
    }
    assert_eq!(w.stats().jwt_malformed, bad.len() as u64);
    assert_eq!(w.stats().jwt_decoded, 0);
}

#[test]
fn opaque_bearer_tokens_are_left_for_redaction() {
    let mut w = worker(&EnrichConfig::default());
    let ev = enrich_with(&mut w, "Bearer 2YotnFZFEjr1zCsicMWpAA");
    assert_eq!((&ev.user_name, &ev.token_id), (&None, &None));
    assert_eq!(ev.header("authorization"), Some("Bearer 2YotnFZFEjr1zCsicMWpAA"));
    let s = w.stats();
    assert_eq!((s.jwt_decoded, s.jwt_malformed), (0, 0));
}

#[test]
fn basic_auth_gives_the_user_and_never_the_password() {
    let ev = enrich(&format!("Basic {}", STANDARD.encode("alice:correct horse battery staple")));
    assert_eq!(ev.user_name.as_deref(), Some("alice"));
    assert!(!format!("{:?}", ev.labels).contains("correct horse"));
    assert_eq!(ev.user_id, None);

    let mut w = worker(&EnrichConfig::default());
    for auth in ["Basic !!!", "Basic", &format!("Basic {}", STANDARD.encode("no-colon"))] {
        let ev = enrich_with(&mut w, auth);
        assert_eq!(ev.user_name, None, "{auth}");
    }
    assert_eq!(w.stats().basic_malformed, 2, "'Basic' without credentials is not a credential");
}

#[test]
fn fields_set_by_the_decoder_are_kept() {
    let mut w = worker(&EnrichConfig::default());
    let mut ev = with_headers(&[(
        "authorization",
        &format!("Bearer {}", jwt(r#"{"sub":"from-token","client_id":"c1","roles":["r"]}"#)),
    )]);
    ev.user_name = Some("logged-user".into());
    ev.consumer = Some("kong-consumer".into());
    ev.user_roles = vec!["app-role".into()];
    w.enrich(&mut ev);
    assert_eq!(ev.user_name.as_deref(), Some("logged-user"));
    assert_eq!(ev.user_id.as_deref(), Some("from-token"));
    assert_eq!(ev.consumer.as_deref(), Some("kong-consumer"));
    assert_eq!(ev.user_roles, ["app-role"]);
}

#[test]
fn oversized_headers_are_not_decoded() {
    let mut w = worker(&EnrichConfig::default());
    let big = jwt(&format!(r#"{{"sub":"big","pad":"{}"}}"#, "x".repeat(9000)));
    let ev = enrich_with(&mut w, &format!("Bearer {big}"));
    assert_eq!(ev.user_id, None);
    assert_eq!(w.stats().identity_headers_oversized, 1);
    let small = jwt(r#"{"sub":"small"}"#);
    let ev = enrich_with(&mut w, &format!("Bearer {small}"));
    assert_eq!(ev.user_id.as_deref(), Some("small"));
}

#[test]
fn a_repeated_token_is_served_from_the_cache_with_the_same_identity() {
    let claims = r#"{"sub":"user-1","jti":"j-1","iss":"https://id.example/","azp":"web",
        "roles":["admin"],"scope":"a b"}"#;
    let token = jwt(claims);
    // A second token with the same claims and another signature shares the entry.
    let resigned = format!("{}.b3RoZXItc2lnbmF0dXJl", token.rsplit_once('.').unwrap().0);
    let malformed = format!("Bearer x.{}.sig", URL_SAFE_NO_PAD.encode("not json"));
    let mut w = worker(&EnrichConfig::default());
    let first = enrich_with(&mut w, &format!("Bearer {token}"));
    for auth in [format!("Bearer {token}"), format!("bearer  {resigned} ")] {
        let again = enrich_with(&mut w, &auth);
        assert_eq!(
            (&again.user_name, &again.user_id, &again.token_id, &again.token_issuer),
            (&first.user_name, &first.user_id, &first.token_id, &first.token_issuer)
        );
        assert_eq!((&again.consumer, &again.user_roles), (&first.consumer, &first.user_roles));
    }
    assert_eq!(first.user_roles, ["admin", "a", "b"]);
    for _ in 0..2 {
        assert_eq!(enrich_with(&mut w, &malformed).user_id, None);
    }
    let s = w.stats();
    assert_eq!((s.jwt_decoded, s.jwt_malformed), (3, 2));
    assert_eq!((s.identity_cache.hits, s.identity_cache.misses), (3, 2));
    assert_eq!(s.identity_cache.entries, 2);
}

#[test]
fn a_full_identity_cache_is_cleared() {
    let mut cfg = EnrichConfig::default();
    cfg.limits.identity_cache_entries_max = 2;
    let mut w = worker(&cfg);
    for i in 0..5 {
        let ev = enrich_with(&mut w, &format!("Bearer {}", jwt(&format!(r#"{{"sub":"u{i}"}}"#))));
        assert_eq!(ev.user_id, (Some(format!("u{i}"))).map(Into::into));
    }
    let s = w.stats().identity_cache;
    assert_eq!((s.misses, s.clears, s.evictions, s.entries), (5, 2, 4, 1));
}
