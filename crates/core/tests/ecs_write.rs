//! The direct ECS writer against the reference: `serde_json` over `to_ecs_json`. Stored
//! events must stay byte for byte what they were, whatever the event holds.

use apiwatch_core::ecs::{to_ecs_json, write_ecs_json};
use apiwatch_core::event::{Geo, Outcome, UaClass};
use apiwatch_core::EventData;
use proptest::prelude::*;
use std::sync::Arc;

/// Text of every kind JSON has to escape: quotes, backslashes, control characters, non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9._-]{0,12}",
        any::<String>(),
        Just("x-forwarded-for".to_string()),
        Just("\"\\\u{0}\u{1f}\u{7f}é😀".to_string()),
    ]
}

fn opt<T: std::fmt::Debug>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    prop::option::of(s)
}

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    // Few distinct names, so repeated names (the last one wins) come up often.
    prop::collection::vec((prop_oneof!["[a-c]", text()], text()), 0..6)
}

prop_compose! {
    fn geo()(
        country in opt(text()), city in opt(text()),
        location in opt((prop_oneof![any::<f64>(), Just(f64::NAN), Just(0.1)], any::<f64>())),
        asn in opt(any::<u32>()), org in opt(text()),
    ) -> Geo {
        Geo { country_iso_code: country, city_name: city, location, as_number: asn, as_organization: org }
    }
}

prop_compose! {
    fn texts()(v in prop::collection::vec(opt(text()), 16)) -> Vec<Option<String>> { v }
}

prop_compose! {
    fn event()(
        timestamp_ms in -10_000_000_000_000i64..10_000_000_000_000,
        ip in opt(any::<std::net::IpAddr>()), port in opt(any::<u16>()),
        geo in opt(geo()), xff in opt(text()), roles in prop::collection::vec(text(), 0..3),
        t in texts(),
        status in opt(any::<u16>()), sizes in prop::collection::vec(opt(any::<u64>()), 4),
        class in opt(prop_oneof![Just(UaClass::Browser), Just(UaClass::Scanner)]),
        outcome in opt(prop_oneof![Just(Outcome::Success), Just(Outcome::Failure)]),
        headers in pairs(), labels in pairs(),
    ) -> EventData {
        let s = |i: usize| t[i].clone().map(Into::into);
        EventData {
            timestamp_ms,
            dataset: "test",
            source_ip: ip,
            source_port: port,
            geo: geo.map(Arc::new),
            forwarded_for: xff.map(Into::into),
            user_name: s(0), user_id: s(1), user_roles: roles, token_id: s(2),
            token_issuer: s(3), api_key_id: s(4), consumer: s(5), session_id: s(6),
            http_method: s(7), http_version: s(8), url_domain: s(9), url_path: s(10),
            url_query: s(11), http_route: s(12), operation_id: s(13), service_name: s(14),
            status_code: status,
            request_bytes: sizes[0], response_bytes: sizes[1], response_records: sizes[2],
            duration_ns: sizes[3],
            user_agent: s(15), user_agent_class: class, referrer: s(0), event_action: s(3),
            event_outcome: outcome,
            headers, labels,
            ..EventData::default()
        }
    }
}

fn reference(ev: &EventData) -> String {
    serde_json::to_string(&to_ecs_json(ev)).unwrap()
}

fn direct(ev: &EventData) -> String {
    let mut out = Vec::new();
    write_ecs_json(ev, &mut out);
    String::from_utf8(out).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]
    #[test]
    fn the_direct_writer_writes_what_serde_json_writes(ev in event()) {
        prop_assert_eq!(direct(&ev), reference(&ev));
    }
}

#[test]
fn an_empty_event_is_its_timestamp_and_dataset() {
    let ev = EventData { dataset: "test", ..EventData::default() };
    assert_eq!(
        direct(&ev),
        r#"{"@timestamp":"1970-01-01T00:00:00.000Z","event":{"dataset":"test"}}"#
    );
    assert_eq!(direct(&ev), reference(&ev));
}

#[test]
fn a_repeated_header_keeps_its_last_value_and_xff_does_not_replace_a_logged_one() {
    let ev = EventData {
        dataset: "test",
        forwarded_for: Some("203.0.113.9".into()),
        headers: vec![
            ("x-forwarded-for".into(), "198.51.100.7".into()),
            ("accept".into(), "a".into()),
            ("accept".into(), "b".into()),
        ],
        ..EventData::default()
    };
    let out = direct(&ev);
    assert!(out.contains(r#""headers":{"accept":"b","x-forwarded-for":"198.51.100.7"}"#), "{out}");
    assert_eq!(out, reference(&ev));
}
