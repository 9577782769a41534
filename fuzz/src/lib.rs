//! The bodies of the fuzz targets as plain functions: `fuzz_targets/` hands them the fuzzer's
//! bytes, and the stable tests below replay the decoder cases through them, so a crash the
//! fuzzer finds can be kept as a test that needs no nightly toolchain.
#![forbid(unsafe_code)]

use apiwatch_parse::access::{AccessLogDecoder, LogFormatDecoder};
use apiwatch_parse::alb::AlbDecoder;
use apiwatch_parse::envoy::EnvoyDecoder;
use apiwatch_parse::Decoder;
use std::sync::OnceLock;

/// Formats every input is also decoded with, so that the fuzzer explores line shapes without
/// first having to find a pattern that compiles.
const FIXED_PATTERNS: [&str; 3] = [
    r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time "$http_x_forwarded_for" $host $http_authorization $cookie_session"#,
    r#"$time_iso8601 $msec $remote_addr $remote_port "$request_method $request_uri $server_protocol" $status $request_length $bytes_sent"#,
    r#"%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\" %D %{SESSIONID}C"#,
];

fn fixed_decoders() -> &'static [LogFormatDecoder] {
    static DECODERS: OnceLock<Vec<LogFormatDecoder>> = OnceLock::new();
    DECODERS.get_or_init(|| {
        FIXED_PATTERNS
            .iter()
            .map(|p| LogFormatDecoder::compile("fuzz", p).expect("fixed patterns compile"))
            .collect()
    })
}

/// Bytes into the nginx/Apache access-log decoder.
pub fn decode_access(data: &[u8]) {
    let _ = AccessLogDecoder::new().decode(data);
}

/// The input's first line is compiled as a pattern and the rest decoded with it; the whole
/// input is also decoded with each of [`FIXED_PATTERNS`].
pub fn decode_logformat(data: &[u8]) {
    let (pattern, line) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[..0]),
    };
    if let Ok(decoder) = LogFormatDecoder::compile("fuzz", &String::from_utf8_lossy(pattern)) {
        let _ = decoder.decode(line);
    }
    for decoder in fixed_decoders() {
        let _ = decoder.decode(data);
    }
}

/// Bytes into the Envoy access-log decoder.
pub fn decode_envoy(data: &[u8]) {
    let _ = EnvoyDecoder::new().decode(data);
}

/// Bytes into the AWS ALB access-log decoder.
pub fn decode_alb(data: &[u8]) {
    let _ = AlbDecoder::new().decode(data);
}

/// Bytes as rule files (split into files at NUL bytes) into the rule loader; a set that loads
/// then sees one event with most fields set, so that its compiled matchers run too.
pub fn rule_loader(data: &[u8]) {
    let sources: Vec<(String, String)> = data
        .split(|&b| b == 0)
        .take(4)
        .enumerate()
        .map(|(i, part)| (format!("fuzz{i}.yaml"), String::from_utf8_lossy(part).into_owned()))
        .collect();
    let Ok(set) = apiwatch_detect::RuleSet::from_sources(&sources) else { return };
    let event = serde_json::json!({
        "@timestamp": "2026-03-01T10:00:00Z", "source.ip": "203.0.113.7", "user.name": "alice",
        "user.roles": ["admin"], "url.path": "/admin/../etc/passwd", "url.query": "id=1%27%20or%201=1",
        "http.request.method": "POST", "http.response.status_code": 401, "event.outcome": "failure",
        "http.response.body.bytes": 1234, "source.geo.country_iso_code": "FR",
        "source.geo.location": {"lat": 48.8, "lon": 2.3}, "user_agent.original": "sqlmap/1.7",
        "http.request.headers.x-api-key": "k", "labels.tenant": "acme"
    });
    let data = apiwatch_core::ecs::from_ecs_json(&event).expect("a valid event");
    let event = apiwatch_core::redact::Redactor::new([7; 32]).redact(data);
    let mut engine = apiwatch_detect::Engine::new(
        std::sync::Arc::new(set),
        apiwatch_detect::Limits::default(),
        0,
        1,
    );
    let mut alerts = Vec::new();
    engine.process(&event, &mut alerts);
    engine.finish(&mut alerts);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every line of every decoder case, and every prefix of it (truncation is the commonest
    /// damage a log line suffers), through every target.
    #[test]
    fn decoder_cases_replay_through_every_target() {
        let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/parse/tests/cases");
        let mut lines = 0;
        for entry in std::fs::read_dir(&cases).expect("decoder cases exist") {
            let Ok(input) = std::fs::read(entry.expect("readable entry").path().join("input"))
            else {
                continue;
            };
            for line in input.split(|&b| b == b'\n') {
                lines += 1;
                // About 256 prefixes per line keeps the 64 KiB case quick.
                let step = (line.len() / 256).max(1);
                for end in (0..=line.len()).step_by(step) {
                    let prefix = &line[..end];
                    decode_access(prefix);
                    decode_logformat(prefix);
                    decode_envoy(prefix);
                    decode_alb(prefix);
                }
            }
        }
        assert!(lines > 50, "too few case lines found ({lines})");
    }

    /// Every built-in rule file, whole and truncated, through the rule loader target.
    #[test]
    fn rule_files_replay_through_the_loader() {
        fn walk(dir: &Path, out: &mut Vec<Vec<u8>>) {
            for entry in std::fs::read_dir(dir).expect("rules exist") {
                let path = entry.expect("readable entry").path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "yaml") {
                    out.push(std::fs::read(&path).expect("readable rule file"));
                }
            }
        }
        let mut files = Vec::new();
        walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/detect/rules"), &mut files);
        assert!(!files.is_empty());
        for text in &files {
            let step = (text.len() / 32).max(1);
            for end in (0..=text.len()).step_by(step) {
                rule_loader(&text[..end]);
            }
        }
    }

    #[test]
    fn odd_patterns_do_not_panic() {
        decode_logformat(
            b"$remote_addr [$time_local] $status\n192.0.2.1 [10/Oct/2000:13:55:36 +0000] 200",
        );
        decode_logformat(b"");
        decode_logformat(b"$\n");
        decode_logformat(b"%{\n%");
    }
}
