//! Records returned: top-level arrays, the default places (`data`, `items`, `hits.hits`, …),
//! configured places per route, count fields, cut bodies (a lower bound) and non-JSON bodies.

use apiwatch_enrich::inspect::{
    InspectConfig, Inspector, RecordCount, RecordsRouteConfig, RequestView, ResponseView,
};

fn records_with(
    cfg: &InspectConfig,
    path: &str,
    ct: Option<&str>,
    body: &str,
    truncated: bool,
) -> Option<RecordCount> {
    let req = RequestView { method: "GET", path, ..Default::default() };
    let resp = ResponseView {
        status: 200,
        content_type: ct,
        body: body.as_bytes(),
        truncated,
        ..Default::default()
    };
    Inspector::build(cfg).unwrap().inspect(&req, &resp).records
}

fn records(body: &str) -> Option<RecordCount> {
    records_with(&InspectConfig::default(), "/api/things", Some("application/json"), body, false)
}

fn exact(count: u64) -> Option<RecordCount> {
    Some(RecordCount { count, lower_bound: false })
}

#[test]
fn default_places() {
    let cases: &[(&str, Option<RecordCount>)] = &[
        (r#"[{"id":1},{"id":2},{"id":3}]"#, exact(3)),
        ("[]", exact(0)),
        (" [1, \"two\", null, [4], {\"five\": [5]}] ", exact(5)),
        (r#"{"data":[{"id":1},{"id":2}],"meta":{"total":500}}"#, exact(2)),
        (r#"{"meta":{"items":[1]},"items":[1,2,3,4]}"#, exact(4)),
        (r#"{"results":[1],"data":[1,2]}"#, exact(2)),
        (r#"{"data":{"id":1},"records":[1,2,3]}"#, exact(3)),
        (
            r#"{"took":3,"hits":{"total":{"value":1000},"hits":[{"_id":"a"},{"_id":"b"}]}}"#,
            exact(2),
        ),
        (r#"{"id":1,"name":"one"}"#, None),
        (r#"{"total": 40, "count": 20}"#, None),
        ("42", None),
        (r#""text""#, None),
        ("[1,2,", None),
        (r#"{"data":[1,2"#, None),
    ];
    for (body, want) in cases {
        assert_eq!(records(body), *want, "{body}");
    }
}

#[test]
fn cut_bodies_give_a_lower_bound_of_complete_elements() {
    let full: String = format!(
        "[{}]",
        (0..1000)
            .map(|i| format!(r#"{{"id":{i},"name":"user {i}"}}"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    let cut = &full[..full.len() / 2];
    let complete = cut.matches('}').count() as u64;
    let got =
        records_with(&InspectConfig::default(), "/u", Some("application/json"), cut, true).unwrap();
    assert_eq!(got, RecordCount { count: complete, lower_bound: true });
    let wrapped = format!(r#"{{"data":{full}}}"#);
    let got = records_with(
        &InspectConfig::default(),
        "/u",
        Some("application/json"),
        &wrapped[..5000],
        true,
    )
    .unwrap();
    assert!(got.lower_bound && got.count > 0 && got.count < 1000, "{got:?}");
    // A body handed in longer than the limit is cut there.
    let cfg = InspectConfig { body_bytes_max: 1000, ..InspectConfig::default() };
    let got = records_with(&cfg, "/u", Some("application/json"), &full, false).unwrap();
    assert!(got.lower_bound && got.count < 1000, "{got:?}");
}

#[test]
fn configured_routes_and_count_fields() {
    let mut cfg = InspectConfig::default();
    cfg.records.routes = vec![
        RecordsRouteConfig {
            method: "GET".into(),
            path: "/api/v1/users".into(),
            array_path: Some("payload.users".into()),
            count_field: None,
        },
        RecordsRouteConfig {
            method: "*".into(),
            path: "/search/{index}".into(),
            array_path: None,
            count_field: Some("page.size".into()),
        },
    ];
    let body = r#"{"data":[1],"payload":{"users":[{"id":1},{"id":2},{"id":3}]}}"#;
    assert_eq!(
        records_with(&cfg, "/api/v1/users?page=2", Some("application/json"), body, false),
        exact(3)
    );
    // Other routes keep the defaults.
    assert_eq!(
        records_with(&cfg, "/api/v1/orders", Some("application/json"), body, false),
        exact(1)
    );
    let body = r#"{"page":{"size":25,"total":900},"rows":"…"}"#;
    assert_eq!(
        records_with(&cfg, "/search/people", Some("application/json"), body, false),
        exact(25)
    );
    // An array beats a count field: the count is of records in this response.
    cfg.records.count_fields = vec!["total".into()];
    assert_eq!(
        records_with(&cfg, "/x", Some("application/json"), r#"{"total":900,"items":[1,2]}"#, false),
        exact(2)
    );
    assert_eq!(
        records_with(&cfg, "/x", Some("application/json"), r#"{"total":900}"#, false),
        exact(900)
    );
}

#[test]
fn non_json_and_unsuccessful_responses_have_no_count() {
    let cfg = InspectConfig::default();
    assert_eq!(records_with(&cfg, "/x", Some("text/html"), "[1,2,3]", false), None);
    assert_eq!(records_with(&cfg, "/x", Some("text/csv"), "a,b\n1,2\n", false), None);
    assert_eq!(records_with(&cfg, "/x", None, "[1,2,3]", false), exact(3));
    let req = RequestView { method: "GET", path: "/x", ..Default::default() };
    let resp = ResponseView {
        status: 404,
        content_type: Some("application/json"),
        body: b"[1]",
        ..Default::default()
    };
    assert_eq!(Inspector::build(&cfg).unwrap().inspect(&req, &resp).records, None);
    let resp = ResponseView {
        status: 200,
        content_type: Some("application/json"),
        body: b"[1]",
        compressed: true,
        ..Default::default()
    };
    assert_eq!(Inspector::build(&cfg).unwrap().inspect(&req, &resp).records, None);
}
