//! The inspection configuration: a YAML example reads into the defaults' types and builds,
//! and every problem of a bad one is reported with its key path.

use apiwatch_enrich::inspect::{InspectConfig, Inspector, LoginOutcome, RequestView, ResponseView};

const EXAMPLE: &str = r#"
body_bytes_max: 65536
login:
  routes:
    - {method: POST, path: "*/login"}
    - {method: POST, path: "/api/v1/oauth/token"}
    - {path: "/tenants/{tenant}/signin"}
  account_fields: [username, email, client_id, credentials.username]
  failure_when:
    - {field: success, equals: false}
    - {field: error.code, equals: "INVALID_CREDENTIALS"}
  body_bytes_max: 16384
  account_bytes_max: 256
records:
  array_paths: [data, items, results, records, hits.hits]
  count_fields: []
  routes:
    - {method: GET, path: "/api/v1/users", array_path: payload.users}
    - {path: "/search/*", count_field: page.size}
exposure:
  card_numbers: true
  us_ssn: true
  iban: true
  emails: true
  many_emails_min: 20
  national_ids:
    - {name: uk_nino, pattern: '\b[A-CEGHJ-PR-TW-Z]{2}\d{6}[A-D]\b'}
"#;

#[test]
fn yaml_example_builds_and_applies() {
    let cfg: InspectConfig = serde_saphyr::from_str(EXAMPLE).unwrap();
    let inspector = Inspector::build(&cfg).unwrap();
    let req = RequestView {
        method: "PUT",
        path: "/tenants/acme/signin",
        content_type: Some("application/json"),
        body: br#"{"credentials":{"username":"ann","password":"x"}}"#,
        ..Default::default()
    };
    let resp = ResponseView {
        status: 200,
        content_type: Some("application/json"),
        body: br#"{"error":{"code":"INVALID_CREDENTIALS"}}"#,
        ..Default::default()
    };
    let login = inspector.inspect(&req, &resp).login.unwrap();
    assert_eq!((login.account.as_str(), login.outcome), ("ann", LoginOutcome::Failure));
    let empty: InspectConfig = serde_saphyr::from_str("{}").unwrap();
    assert_eq!(empty, InspectConfig::default());
    Inspector::build(&InspectConfig::default()).unwrap();
}

#[test]
fn unknown_keys_are_refused_when_read() {
    let err =
        serde_saphyr::from_str::<InspectConfig>("login:\n  acount_fields: [user]\n").unwrap_err();
    assert!(err.to_string().contains("acount_fields"), "{err}");
}

#[test]
fn every_problem_is_reported_with_its_key_path() {
    let yaml = r#"
body_bytes_max: 0
login:
  routes: [{method: "PO ST", path: "login"}, {path: "/a/{id"}]
  account_fields: [username, user.password]
  failure_when: [{field: ok, equals: [1]}]
  account_bytes_max: 0
records:
  array_paths: ["data.", items]
  routes: [{path: /x}]
exposure:
  many_emails_min: 0
  national_ids: [{name: email, pattern: '\d+'}, {name: "bad name", pattern: '('}]
"#;
    let cfg: InspectConfig = serde_saphyr::from_str(yaml).unwrap();
    let err = Inspector::build(&cfg).unwrap_err();
    let at: Vec<_> = err.problems.iter().map(|p| p.at.as_str()).collect();
    assert_eq!(
        at,
        [
            "body_bytes_max",
            "login.routes[0].method",
            "login.routes[0].path",
            "login.routes[1].path",
            "login.account_fields[1]",
            "login.failure_when[0].equals",
            "login.account_bytes_max",
            "records.array_paths[0]",
            "records.routes[0]",
            "exposure.many_emails_min",
            "exposure.national_ids[0].name",
            "exposure.national_ids[1].name",
            "exposure.national_ids[1].pattern",
        ],
        "{err}"
    );
    assert!(
        err.to_string().contains("login.account_fields[1]: \"user.password\" names a secret"),
        "{err}"
    );
}
