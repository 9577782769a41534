//! Any bytes in any body, with any content type and status, never make inspection panic, and
//! what it returns stays within what the bytes allow. The record count is held to a slow,
//! obviously correct model on generated JSON arrays and their prefixes.

use apiwatch_enrich::inspect::{
    InspectConfig, Inspector, NationalIdConfig, RecordCount, RequestView, ResponseView,
};
use proptest::prelude::*;
use std::sync::OnceLock;

fn inspector() -> &'static Inspector {
    static I: OnceLock<Inspector> = OnceLock::new();
    I.get_or_init(|| {
        let mut cfg = InspectConfig::default();
        cfg.login.account_fields.push("credentials.username".into());
        cfg.records.count_fields = vec!["count".into()];
        cfg.exposure.national_ids =
            vec![NationalIdConfig { name: "digits".into(), pattern: r"\d{9}".into() }];
        Inspector::build(&cfg).unwrap()
    })
}

/// Bodies: random bytes, and strings built from the bytes the readers care about, so that
/// near-valid JSON, forms and numbers are common.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        "[\\[\\]{}\",:\\\\ a-z0-9.@+%&=\\-]{0,300}".prop_map(String::into_bytes),
        r#"\{"(username|data|items|hits|credentials|count)":[\[{"a-z0-9,:\]} \\]{0,200}"#
            .prop_map(String::into_bytes),
        "[0-9 \\-A-Z@.a-z]{0,200}".prop_map(String::into_bytes),
    ]
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json".to_string())),
        Just(Some("application/x-www-form-urlencoded".to_string())),
        Just(Some("text/plain".to_string())),
        any::<String>().prop_map(Some),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_exchanges_never_panic(
        req_body in body(), resp_body in body(),
        req_ct in content_type(), resp_ct in content_type(),
        path in prop_oneof![Just("/login".to_string()), Just("/oauth/token".to_string()), any::<String>()],
        status in prop_oneof![Just(200u16), Just(401u16), any::<u16>()],
        flags in any::<[bool; 3]>(),
    ) {
        let req = RequestView {
            method: "POST", path: &path, content_type: req_ct.as_deref(), body: &req_body,
            truncated: flags[0], compressed: false,
        };
        let resp = ResponseView {
            status, content_type: resp_ct.as_deref(), body: &resp_body,
            truncated: flags[1], compressed: flags[2],
        };
        let out = inspector().inspect(&req, &resp);
        if let Some(login) = &out.login {
            prop_assert!(!login.account.is_empty() && login.account.len() <= 256);
        }
        if let Some(records) = out.records {
            prop_assert!(!flags[2]);
            // A count field may say anything; an array's count is bounded by its bytes.
            prop_assert!(records.count <= resp_body.len() as u64 || resp_body.windows(5).any(|w| w == b"count"));
        }
        if flags[2] {
            prop_assert!(out.exposure.is_empty() && !out.many_emails);
        }
    }

    #[test]
    fn record_counts_match_a_model(values in proptest::collection::vec(json_value(), 0..40), cut in any::<prop::sample::Index>()) {
        let text = serde_json::to_string(&values).unwrap();
        let req = RequestView { method: "GET", path: "/x", ..Default::default() };
        let whole = ResponseView { status: 200, content_type: Some("application/json"), body: text.as_bytes(), ..Default::default() };
        prop_assert_eq!(
            inspector().inspect(&req, &whole).records,
            Some(RecordCount { count: values.len() as u64, lower_bound: false })
        );
        // A prefix counts the elements whose text ends inside it (followed by `,` or `]`, or a
        // closing bracket or quote as its last byte).
        let at = cut.index(text.len());
        let prefix = &text.as_bytes()[..at];
        let cut_view = ResponseView { body: prefix, truncated: true, ..whole };
        let got = inspector().inspect(&req, &cut_view).records;
        if at == 0 {
            prop_assert_eq!(got, None);
        } else {
            let mut ends = Vec::new();
            let mut offset = 1;
            for v in &values {
                offset += serde_json::to_string(v).unwrap().len();
                ends.push(offset);
                offset += 1;
            }
            let model = values.iter().zip(&ends).filter(|(v, &end)| {
                let self_closing = matches!(v, serde_json::Value::String(_) | serde_json::Value::Array(_) | serde_json::Value::Object(_));
                end < at || (end == at && self_closing)
            }).count() as u64;
            prop_assert_eq!(got, Some(RecordCount { count: model, lower_bound: true }));
        }
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{json, Value};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-z\"\\\\\\]\\[{}, ]{0,10}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
