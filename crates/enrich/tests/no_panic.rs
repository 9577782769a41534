//! Any string in any field must not panic enrichment, with every part enabled.

mod common;

use apiwatch_core::EventData;
use apiwatch_enrich::{EnrichConfig, EnrichWorker, Enricher};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::data;
use proptest::prelude::*;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

fn enricher() -> Arc<Enricher> {
    static E: OnceLock<Arc<Enricher>> = OnceLock::new();
    E.get_or_init(|| {
        let cfg = EnrichConfig {
            geoip_city: Some(data("GeoIP2-City-Test.mmdb")),
            geoip_asn: Some(data("GeoLite2-ASN-Test.mmdb")),
            openapi: Some(data("petstore-3.0.yaml")),
            ..EnrichConfig::default()
        };
        Arc::new(Enricher::build(&cfg).unwrap())
    })
    .clone()
}

/// Strings from all of Unicode, and strings built from the characters each parser cares
/// about, so that near-valid inputs (almost an address, almost a token) are common.
fn text(near: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), proptest::string::string_regex(near).unwrap()]
}

fn authorization() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(Bearer|bearer|Basic|basic) [A-Za-z0-9+/=._-]{0,80}",
        // A JWT whose payload is arbitrary (often JSON-looking) text.
        ("[{}\\[\\]\":,a-z0-9 ]{0,60}", any::<String>()).prop_map(|(a, b)| {
            format!("Bearer e30.{}.{}", URL_SAFE_NO_PAD.encode(a), URL_SAFE_NO_PAD.encode(b))
        }),
    ]
}

fn event() -> impl Strategy<Value = EventData> {
    (
        (
            proptest::option::of(any::<IpAddr>()),
            proptest::option::of(text("[0-9a-f:.,\\[\\]\" %unkow=;-]{0,60}")),
        ),
        (authorization(), text("[0-9a-f:.,\\[\\]\" =;for]{0,60}"), text("[0-9.:a-f\\[\\]]{0,40}")),
        (
            proptest::option::of(text("[A-Za-z/{}%0-9._@?#:-]{0,80}")),
            proptest::option::of(any::<String>()),
        ),
        (
            proptest::option::of(text("[A-Za-z/();:.0-9 ${}-]{0,80}")),
            proptest::collection::vec((text("[a-z-]{1,16}"), any::<String>()), 0..4),
        ),
    )
        .prop_map(|((ip, xff), (auth, fwd, real), (path, method), (agent, extra))| {
            let mut headers = vec![
                ("authorization".to_string(), auth),
                ("forwarded".to_string(), fwd),
                ("x-real-ip".to_string(), real),
            ];
            headers.extend(extra);
            EventData {
                source_ip: ip,
                forwarded_for: xff.map(Into::into),
                url_path: path.map(Into::into),
                http_method: method.map(Into::into),
                user_agent: agent.map(Into::into),
                headers,
                ..EventData::default()
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn arbitrary_events_never_panic(events in proptest::collection::vec(event(), 1..8)) {
        let mut w: EnrichWorker = enricher().worker();
        for mut ev in events {
            w.enrich(&mut ev);
            // Whatever the input, the agent class is always set.
            prop_assert!(ev.user_agent_class.is_some());
            // A route is derived from every path.
            prop_assert_eq!(ev.http_route.is_some(), ev.url_path.is_some());
        }
    }
}
