//! Fuzz target: JSON field mappings. The input's first line names source paths (separated by
//! spaces) for a mapping built from it, and the rest is decoded with that mapping; the whole
//! input is also decoded with fixed mappings that cover every time format and target kind, so
//! that the fuzzer explores lines without first having to find a valid mapping.
#![no_main]

use apiwatch_parse::mapping::{JsonMapping, MappedJsonDecoder, TimestampFormat, TimestampSpec};
use apiwatch_parse::Decoder;
use std::sync::OnceLock;

/// ECS targets the first line's paths are given to, in turn.
const TARGETS: [&str; 8] = [
    "source.ip",
    "user.name",
    "http.response.status_code",
    "user.roles",
    "http.request.headers.*",
    "labels.*",
    "event.outcome",
    "source.geo.country_iso_code",
];

const FORMATS: [TimestampFormat; 5] = [
    TimestampFormat::Rfc3339,
    TimestampFormat::UnixS,
    TimestampFormat::UnixMs,
    TimestampFormat::UnixUs,
    TimestampFormat::Clf,
];

fn mapping(format: TimestampFormat, paths: &[&str]) -> JsonMapping {
    JsonMapping {
        timestamp: TimestampSpec { path: "ts".into(), format },
        fields: paths
            .iter()
            .zip(TARGETS.iter().cycle())
            .map(|(path, target)| (target.to_string(), path.to_string()))
            .collect(),
        request: Some("req.line".into()),
        url: Some("req.url".into()),
    }
}

fn fixed() -> &'static [MappedJsonDecoder] {
    static DECODERS: OnceLock<Vec<MappedJsonDecoder>> = OnceLock::new();
    DECODERS.get_or_init(|| {
        let paths = ["client.addr", "actor", "res.code", "roles", "headers", "meta", "result"];
        FORMATS
            .iter()
            .map(|f| MappedJsonDecoder::new("fuzz", mapping(*f, &paths)).expect("valid mapping"))
            .collect()
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (first, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[..0]),
    };
    let first = String::from_utf8_lossy(first);
    let paths: Vec<&str> = first.split(' ').take(TARGETS.len()).collect();
    let format = FORMATS[data.len() % FORMATS.len()];
    if let Ok(decoder) = MappedJsonDecoder::new("fuzz", mapping(format, &paths)) {
        let _ = decoder.decode(rest);
    }
    for decoder in fixed() {
        let _ = decoder.decode(data);
    }
});
