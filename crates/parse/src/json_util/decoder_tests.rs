//! Tests of the four JSON decoders together: detection tells them apart, none panics on any
//! input, and no error message repeats what the line held.

use crate::apigw::ApiGatewayDecoder;
use crate::ecs::EcsDecoder;
use crate::kong::KongDecoder;
use crate::mapping::{JsonMapping, MappedJsonDecoder};
use crate::{builtin, detect_format, Decoder, DetectSample, BUILTIN_FORMATS};
use proptest::prelude::*;

const KONG_LINES: &str = include_str!("../../tests/data/json/kong/kong-file-log.ndjson");
const KONG_EDGE: &str = include_str!("../../tests/cases/kong-edge/input");
const ECS_LINES: &str = include_str!("../../tests/cases/ecs-app-events/input");
const FILEBEAT_LINES: &str = include_str!("../../tests/cases/ecs-filebeat-nginx/input");
const APIGW_REST: &str = include_str!("../../tests/cases/apigw-rest-template/input");
const APIGW_HTTP: &str = include_str!("../../tests/cases/apigw-http-template/input");
const APIGW_CUSTOM: &str = include_str!("../../tests/cases/apigw-custom/input");

/// A credential planted in malformed lines: no error message may repeat it.
const SECRET: &str = "sk_live_PLANTED_SECRET_4242";

fn mapped() -> MappedJsonDecoder {
    let mapping: JsonMapping = serde_json::from_str(
        r#"{"timestamp":{"path":"ts","format":"unix_ms"},"request":"req.line","url":"req.url",
        "fields":{"source.ip":"client.addr","user.name":"actor.login","http.response.status_code":"res.code",
        "http.request.headers.*":"req.headers","labels.*":"meta","event.outcome":"result"}}"#,
    )
    .expect("a valid mapping");
    MappedJsonDecoder::new("app", mapping).expect("a valid mapping")
}

fn json_decoders() -> Vec<Box<dyn Decoder>> {
    vec![
        Box::new(KongDecoder::new()),
        Box::new(EcsDecoder::new()),
        Box::new(ApiGatewayDecoder::new()),
        Box::new(mapped()),
    ]
}

fn lines(text: &str) -> Vec<&[u8]> {
    text.lines().filter(|l| !l.trim().is_empty()).map(str::as_bytes).collect()
}

fn detected(text: &str) -> Option<String> {
    let decoders: Vec<Box<dyn Decoder>> =
        BUILTIN_FORMATS.iter().map(|n| builtin(n).expect("every built-in builds")).collect();
    let refs: Vec<&dyn Decoder> = decoders.iter().map(|d| d.as_ref()).collect();
    let sample = DetectSample { lines: lines(text) };
    detect_format(&sample, &refs).map(|i| BUILTIN_FORMATS[i].to_string())
}

#[test]
fn detection_tells_the_json_formats_apart() {
    assert_eq!(detected(KONG_LINES).as_deref(), Some("kong"));
    assert_eq!(detected(ECS_LINES).as_deref(), Some("ecs"));
    assert_eq!(detected(FILEBEAT_LINES).as_deref(), Some("ecs"));
    assert_eq!(detected(APIGW_REST).as_deref(), Some("aws-apigw"));
    assert_eq!(detected(APIGW_HTTP).as_deref(), Some("aws-apigw"));
    assert_eq!(detected(APIGW_CUSTOM).as_deref(), Some("aws-apigw"));
}

#[test]
fn each_json_decoder_refuses_the_others_lines() {
    let samples: [(&str, &[&str]); 3] = [
        ("kong", &[KONG_LINES]),
        ("ecs", &[ECS_LINES, FILEBEAT_LINES]),
        ("aws-apigw", &[APIGW_REST, APIGW_HTTP, APIGW_CUSTOM]),
    ];
    for (own, texts) in samples {
        for other in ["kong", "ecs", "aws-apigw"].into_iter().filter(|n| *n != own) {
            let decoder = builtin(other).expect("built-in");
            for line in texts.iter().flat_map(|t| lines(t)) {
                assert!(
                    decoder.decode(line).is_err(),
                    "`{other}` decoded a `{own}` line: {}",
                    String::from_utf8_lossy(line)
                );
            }
        }
    }
}

#[test]
fn errors_never_repeat_a_planted_secret() {
    let malformed = [
        // Truncated inside the secret, after it, and in an escape.
        format!(r#"{{"request":{{"headers":{{"authorization":"Bearer {SECRET}"#),
        format!(r#"{{"request":{{"headers":{{"authorization":"Bearer {SECRET}"}}"#),
        format!(r#"{{"@timestamp":"2024-01-01T00:00:00Z","token":"{SECRET}\u12"}}"#),
        // The secret where a typed value belongs, for every decoder's typed fields.
        format!(r#"{{"request":{{}},"started_at":"{SECRET}"}}"#),
        format!(r#"{{"request":{{"size":"{SECRET}"}},"started_at":1}}"#),
        format!(r#"{{"request":{{}},"started_at":1,"latencies":{{"request":"{SECRET}"}}}}"#),
        format!(r#"{{"request":{{"uri":["{SECRET}"]}},"started_at":1}}"#),
        format!(r#"{{"request":{{"querystring":"{SECRET}"}},"started_at":1}}"#),
        format!(r#"{{"@timestamp":"{SECRET}"}}"#),
        format!(r#"{{"@timestamp":1,"source.port":"{SECRET}"}}"#),
        format!(r#"{{"@timestamp":1,"user_agent":{{"class":"{SECRET}"}}}}"#),
        format!(r#"{{"@timestamp":1,"user.name":["{SECRET}","x"]}}"#),
        format!(r#"{{"@timestamp":1,"source.geo.location":{{"lat":"{SECRET}"}}}}"#),
        format!(r#"{{"requestId":"r","httpMethod":"GET","requestTimeEpoch":"{SECRET}"}}"#),
        format!(
            r#"{{"requestId":"r","httpMethod":"GET","requestTime":1,"responseLatency":"{SECRET}"}}"#
        ),
        format!(r#"{{"ts":"{SECRET}"}}"#),
        format!(r#"{{"ts":1,"req":{{"line":"{SECRET}"}}}}"#),
        format!(r#"{{"ts":1,"req":{{"url":"{SECRET}"}}}}"#),
        format!(r#"{{"ts":1,"result":"{SECRET}"}}"#),
        // Not JSON at all, or JSON with the secret in a key.
        SECRET.to_string(),
        format!("GET /?key={SECRET} HTTP/1.1"),
        format!(r#"{{"{SECRET}":1"#),
        format!(r#"{{"a":1}} {SECRET}"#),
    ];
    let mut refused = 0;
    for line in &malformed {
        for decoder in json_decoders() {
            if let Err(e) = decoder.decode(line.as_bytes()) {
                refused += 1;
                let shown = e.to_string();
                assert!(
                    !shown.contains("PLANTED") && !shown.contains("sk_live"),
                    "`{}` error repeats the line: {shown}",
                    decoder.name()
                );
            }
        }
    }
    // Most of those lines must be refused by most decoders, or the test tests nothing.
    assert!(refused > malformed.len() * 3, "only {refused} refusals");
}

/// Nesting up to the limit decodes, whether the deep value is skipped, walked or mapped, without
/// exhausting a test thread's stack; deeper nesting, up to a whole line of `[`, is refused.
#[test]
fn nesting_up_to_the_limit_is_fine() {
    let limit = super::value::NESTING_DEPTH_MAX as usize;
    let deep = |levels: usize| {
        let inner = format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
        format!(
            r#"{{"request":{{"x":{inner}}},"started_at":1,"@timestamp":1,"requestId":"r","httpMethod":"GET","requestTimeEpoch":1,"ts":1,"labels":{{"x":{inner}}},"meta":{inner}}}"#
        )
    };
    // The deepest value sits two objects down.
    let fits = deep(limit - 2);
    for decoder in json_decoders() {
        assert!(decoder.decode(fits.as_bytes()).is_ok(), "{}", decoder.name());
        for line in
            [deep(limit), "[".repeat(60_000), format!("{{\"a\":{}", "{\"a\":".repeat(20_000))]
        {
            let e = decoder.decode(line.as_bytes()).unwrap_err();
            assert_eq!(e.reason, "JSON nests too deeply", "{}", decoder.name());
        }
    }
}

/// JSON values built from the keys the decoders read, so that random documents reach their
/// field conversions rather than stopping at the first unknown key.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let key = prop::sample::select(vec![
        "request",
        "response",
        "started_at",
        "client_ip",
        "headers",
        "uri",
        "url",
        "status",
        "size",
        "querystring",
        "route",
        "paths",
        "name",
        "consumer",
        "latencies",
        "method",
        "@timestamp",
        "source",
        "ip",
        "source.ip",
        "user",
        "roles",
        "http",
        "labels",
        "event",
        "outcome",
        "url.original",
        "requestId",
        "httpMethod",
        "routeKey",
        "requestTime",
        "identity",
        "sourceIp",
        "authorizer",
        "claims",
        "ts",
        "client",
        "addr",
        "req",
        "line",
        "meta",
        "result",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e20f64..1e20).prop_map(Value::from),
        "[ -~]{0,24}".prop_map(Value::String),
        prop::sample::select(vec![
            "192.0.2.1",
            "2001:db8::1",
            "-",
            "",
            "GET / HTTP/1.1",
            "/a?b=1",
            "https://h/p?q",
            "2024-01-01T00:00:00Z",
            "09/Apr/2015:12:34:56 +0000",
            "GET /pets/{id}",
            "failure",
        ])
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8).prop_map(|members| {
                Value::Object(members.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #[test]
    fn random_bytes_never_panic(line in prop::collection::vec(any::<u8>(), 0..600)) {
        for decoder in json_decoders() {
            let _ = decoder.decode(&line);
        }
    }

    #[test]
    fn random_json_never_panics(value in json_value(), cut in 0usize..400) {
        let text = value.to_string();
        let truncated = &text.as_bytes()[..cut.min(text.len())];
        for decoder in json_decoders() {
            let _ = decoder.decode(text.as_bytes());
            if let Err(e) = decoder.decode(truncated) {
                // A column, when given, points into the line.
                prop_assert!(e.column.unwrap_or(0) <= truncated.len() + 1);
            }
        }
    }

    #[test]
    fn a_truncated_kong_line_never_leaks(cut in 0usize..2000, at in 0usize..2000) {
        let kong = lines(KONG_EDGE)[0];
        let at = at.min(kong.len());
        let mut line = kong[..at].to_vec();
        line.extend_from_slice(SECRET.as_bytes());
        line.extend_from_slice(&kong[at..]);
        line.truncate(cut.min(line.len()));
        for decoder in json_decoders() {
            if let Err(e) = decoder.decode(&line) {
                prop_assert!(!e.to_string().contains("PLANTED"), "{}", e);
            }
        }
    }
}
