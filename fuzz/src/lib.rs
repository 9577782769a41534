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
