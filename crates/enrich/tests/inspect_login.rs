//! Login attempts: the account named by JSON and form bodies, nested and dotted fields, OAuth
//! client credentials, outcomes, and the password never appearing in any output.

use apiwatch_enrich::inspect::{
    FailureFieldConfig, InspectConfig, Inspection, Inspector, LoginOutcome, RequestView,
    ResponseView,
};

const JSON: Option<&str> = Some("application/json");
const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
const PASSWORD: &str = "Hunter2-Secret!";

fn inspect_with(cfg: &InspectConfig, req: RequestView<'_>, resp: ResponseView<'_>) -> Inspection {
    let out = Inspector::build(cfg).unwrap().inspect(&req, &resp);
    // Whatever the case, the password is nowhere in the result.
    assert!(!format!("{out:?}").contains(PASSWORD), "{out:?}");
    out
}

fn login(path: &str, content_type: Option<&str>, body: &str, status: u16) -> Inspection {
    let req = RequestView {
        method: "POST",
        path,
        content_type,
        body: body.as_bytes(),
        ..Default::default()
    };
    let resp = ResponseView { status, content_type: JSON, body: b"{}", ..Default::default() };
    inspect_with(&InspectConfig::default(), req, resp)
}

#[test]
fn accounts_from_json_and_form_bodies() {
    let p = PASSWORD;
    // (path, content type, body, expected account)
    let cases: &[(&str, Option<&str>, String, Option<&str>)] = &[
        (
            "/api/v1/login",
            JSON,
            format!(r#"{{"username":"alice","password":"{p}"}}"#),
            Some("alice"),
        ),
        (
            "/login",
            JSON,
            format!(r#"{{"password":"{p}","email":"bob@example.com"}}"#),
            Some("bob@example.com"),
        ),
        (
            "/auth",
            JSON,
            format!(r#"{{"user":{{"email":"carol@example.com","password":"{p}"}}}}"#),
            Some("carol@example.com"),
        ),
        (
            "/graphql/signin",
            JSON,
            format!(r#"{{"query":"mutation","variables":{{"login":"dave","pass":"{p}"}}}}"#),
            Some("dave"),
        ),
        (
            "/v2/sessions/",
            JSON,
            format!(r#"{{"account": 1234567, "pin": "{p}"}}"#),
            Some("1234567"),
        ),
        (
            "/sign-in",
            JSON,
            format!(r#"{{"user_name":"  \u00e9ve  ","password":"{p}"}}"#),
            Some("\u{e9}ve"),
        ),
        (
            "/login",
            JSON,
            format!(r#"{{"username":"","email":"fallback@example.com","password":"{p}"}}"#),
            Some("fallback@example.com"),
        ),
        ("/login", JSON, format!(r#"{{"password":"{p}"}}"#), None),
        ("/login", FORM, format!("username=erin+smith&password={p}"), Some("erin smith")),
        (
            "/login",
            FORM,
            format!("password={p}&email=frank%40example.com"),
            Some("frank@example.com"),
        ),
        ("/login", None, format!("user=gina&password={p}"), Some("gina")),
        ("/login", None, format!(r#"{{"user":"hank","password":"{p}"}}"#), Some("hank")),
        // OAuth: client credentials name the client; the password grant names the user.
        (
            "/oauth/token",
            FORM,
            format!("grant_type=client_credentials&client_id=svc-billing&client_secret={p}"),
            Some("svc-billing"),
        ),
        (
            "/oauth/token",
            FORM,
            format!("grant_type=password&client_id=web&username=ivy&password={p}"),
            Some("ivy"),
        ),
        (
            "/token",
            JSON,
            format!(
                r#"{{"grant_type":"client_credentials","client_id":"cli","client_secret":"{p}"}}"#
            ),
            Some("cli"),
        ),
        // Not login routes, or not the login method.
        ("/api/v1/users", JSON, r#"{"username":"alice"}"#.to_string(), None),
        ("/login/help", JSON, r#"{"username":"alice"}"#.to_string(), None),
        // Not a body that can be read.
        ("/login", Some("text/plain"), "username=alice".to_string(), None),
        ("/login", JSON, r#"["username","alice"]"#.to_string(), None),
    ];
    for (path, ct, body, want) in cases {
        let got = login(path, *ct, body, 200).login.map(|l| l.account);
        assert_eq!(got.as_deref(), *want, "{path} {body}");
    }
    let get = RequestView {
        method: "GET",
        path: "/login",
        content_type: JSON,
        body: br#"{"username":"a"}"#,
        ..Default::default()
    };
    assert_eq!(inspect_with(&InspectConfig::default(), get, ResponseView::default()).login, None);
}

#[test]
fn top_level_fields_win_over_nested_ones_and_dotted_paths_are_exact() {
    let body = r#"{"meta":{"username":"nested"},"username":"top"}"#;
    assert_eq!(login("/login", JSON, body, 200).login.unwrap().account, "top");
    let mut cfg = InspectConfig::default();
    cfg.login.account_fields = vec!["credentials.username".into()];
    let body = format!(
        r#"{{"username":"decoy","credentials":{{"username":"real","password":"{PASSWORD}"}}}}"#
    );
    let req = RequestView {
        method: "POST",
        path: "/login",
        content_type: JSON,
        body: body.as_bytes(),
        ..Default::default()
    };
    let out = inspect_with(&cfg, req, ResponseView { status: 200, ..Default::default() });
    assert_eq!(out.login.unwrap().account, "real");
}

#[test]
fn outcomes_by_status_and_failure_fields() {
    let body = r#"{"username":"alice","password":"x"}"#;
    for (status, want) in [
        (200, LoginOutcome::Success),
        (204, LoginOutcome::Success),
        (401, LoginOutcome::Failure),
        (403, LoginOutcome::Failure),
        (302, LoginOutcome::Unknown),
        (429, LoginOutcome::Unknown),
        (500, LoginOutcome::Unknown),
    ] {
        assert_eq!(login("/login", JSON, body, status).login.unwrap().outcome, want, "{status}");
    }
    let mut cfg = InspectConfig::default();
    cfg.login.failure_when = vec![
        FailureFieldConfig { field: "success".into(), equals: false.into() },
        FailureFieldConfig { field: "result.status".into(), equals: "denied".into() },
    ];
    for (resp_body, want) in [
        (r#"{"success": false, "error": "bad password"}"#, LoginOutcome::Failure),
        (r#"{"success": true}"#, LoginOutcome::Success),
        (r#"{"result": {"status": "denied"}}"#, LoginOutcome::Failure),
        (r#"{"result": {"status": "ok"}}"#, LoginOutcome::Success),
        ("<html>success: false</html>", LoginOutcome::Success),
    ] {
        let req = RequestView {
            method: "POST",
            path: "/login",
            content_type: JSON,
            body: body.as_bytes(),
            ..Default::default()
        };
        let resp = ResponseView {
            status: 200,
            content_type: None,
            body: resp_body.as_bytes(),
            ..Default::default()
        };
        assert_eq!(inspect_with(&cfg, req, resp).login.unwrap().outcome, want, "{resp_body}");
    }
}

#[test]
fn cut_compressed_and_oversized_bodies() {
    // The account before the cut is read; a form field the cut may have shortened is not.
    let req = RequestView {
        method: "POST",
        path: "/login",
        content_type: JSON,
        body: br#"{"username":"alice","pass"#,
        truncated: true,
        ..Default::default()
    };
    assert_eq!(
        inspect_with(&InspectConfig::default(), req, ResponseView::default())
            .login
            .unwrap()
            .account,
        "alice"
    );
    let req = RequestView {
        method: "POST",
        path: "/login",
        content_type: FORM,
        body: b"password=x&username=ali",
        truncated: true,
        ..Default::default()
    };
    assert_eq!(inspect_with(&InspectConfig::default(), req, ResponseView::default()).login, None);
    let req = RequestView {
        method: "POST",
        path: "/login",
        content_type: JSON,
        body: br#"{"username":"alice"}"#,
        compressed: true,
        ..Default::default()
    };
    let out = inspect_with(&InspectConfig::default(), req, ResponseView::default());
    assert_eq!(out.login, None);
    assert!(out.skipped.request_compressed);
    let long = format!(r#"{{"username":"{}"}}"#, "é".repeat(300));
    let req = RequestView {
        method: "POST",
        path: "/login",
        content_type: JSON,
        body: long.as_bytes(),
        ..Default::default()
    };
    let account = inspect_with(&InspectConfig::default(), req, ResponseView::default())
        .login
        .unwrap()
        .account;
    assert_eq!(account.len(), 256);
}

#[test]
fn secret_fields_are_refused_as_account_fields() {
    let mut cfg = InspectConfig::default();
    cfg.login.account_fields =
        vec!["username".into(), "password".into(), "auth.client_secret".into(), "a..b".into()];
    let err = Inspector::build(&cfg).unwrap_err();
    let at: Vec<_> = err.problems.iter().map(|p| p.at.as_str()).collect();
    assert_eq!(
        at,
        ["login.account_fields[1]", "login.account_fields[2]", "login.account_fields[3]"]
    );
}
