//! Any other JSON log through a field mapping from the configuration: which source path holds
//! each ECS field, where the time is and in which format.
//!
//! ```yaml
//! timestamp: { path: ts, format: unix_ms }
//! fields:
//!   source.ip: client.addr
//!   user.name: actor.login
//!   http.response.status_code: res.code
//!   http.request.headers.user-agent: req.ua
//!   labels.tenant: org.id
//! request: req.line      # optional: "GET /path?q HTTP/1.1"
//! url: req.url           # optional: a full URL
//! ```
//!
//! Source paths are dotted; the line may nest objects or dot its keys, or both. A target
//! `http.request.headers.*` or `labels.*` takes every member of the object at its path.

use crate::json_util::{
    intern, parse_clf_ms, set_field, split_request_line, split_url, strip_http_prefix, walk,
    FlatSink, GeoParts, Scalar,
};
use crate::{DecodeError, Decoder, FormatError};
use apiwatch_core::field::Field;
use apiwatch_core::time::parse_rfc3339_ms;
use apiwatch_core::EventData;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// How the time field is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestampFormat {
    /// `2026-11-23T20:31:00Z`, with optional fraction and offset.
    #[default]
    Rfc3339,
    /// Seconds since the epoch, a number (fractions kept to the millisecond) or a string.
    UnixS,
    /// Milliseconds since the epoch.
    UnixMs,
    /// Microseconds since the epoch.
    UnixUs,
    /// Common Log Format time, `10/Oct/2000:13:55:36 -0700`.
    Clf,
}

/// Where the time is and how it is written.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimestampSpec {
    pub path: String,
    #[serde(default)]
    pub format: TimestampFormat,
}

/// A JSON format defined in the configuration: ECS field names mapped to source paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonMapping {
    pub timestamp: TimestampSpec,
    /// (ECS field name, dotted source path), in the configured order.
    pub fields: Vec<(String, String)>,
    /// Path of a full request line (`GET /path?q HTTP/1.1`): method, path, query and version.
    pub request: Option<String>,
    /// Path of a full URL (`https://host/path?q`): domain, path and query.
    pub url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJsonMapping {
    timestamp: TimestampSpec,
    #[serde(default)]
    fields: OrderedFields,
    #[serde(default)]
    request: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

/// The `fields` map, kept in its written order so that headers and labels come out in it.
#[derive(Default)]
struct OrderedFields(Vec<(String, String)>);

impl<'de> Deserialize<'de> for OrderedFields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedFields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map from ECS field names to source paths")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    out.push((k, v));
                }
                Ok(OrderedFields(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for JsonMapping {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawJsonMapping::deserialize(d)?;
        Ok(JsonMapping {
            timestamp: raw.timestamp,
            fields: raw.fields.0,
            request: raw.request,
            url: raw.url,
        })
    }
}

/// What a source value is stored into.
#[derive(Clone, Debug)]
enum Target {
    Field(Field),
    Timestamp,
    RequestLine,
    Url,
}

/// A target with the source path that errors name.
#[derive(Clone, Debug)]
struct Slot {
    target: Target,
    place: &'static str,
}

/// Wildcard targets: every member of the object at a path.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Spread {
    Headers,
    Labels,
}

/// Decodes JSON lines through a [`JsonMapping`].
#[derive(Debug)]
pub struct MappedJsonDecoder {
    name: String,
    dataset: &'static str,
    format: TimestampFormat,
    timestamp_place: &'static str,
    /// Exact source paths and what each fills.
    slots: HashMap<Box<str>, Vec<Slot>>,
    /// Every proper prefix of a source path: the objects the walker enters.
    parents: HashSet<Box<str>>,
    /// Source paths whose members all become headers or labels.
    spreads: Vec<(Box<str>, Spread, &'static str)>,
}

/// Checks a dotted source path: non-empty segments.
fn valid_path(path: &str) -> bool {
    !path.is_empty() && path.split('.').all(|s| !s.is_empty())
}

impl MappedJsonDecoder {
    /// Validates the mapping; every problem is reported at once, each naming its field.
    pub fn new(name: &str, mapping: JsonMapping) -> Result<Self, FormatError> {
        let mut problems: Vec<String> = Vec::new();
        let mut slots: HashMap<Box<str>, Vec<Slot>> = HashMap::new();
        let mut spreads = Vec::new();
        let mut add = |path: &str, target: Target, problems: &mut Vec<String>, what: &str| {
            if !valid_path(path) {
                problems.push(format!("{what}: source path {path:?} is not a dotted path"));
                return;
            }
            slots.entry(path.into()).or_default().push(Slot { target, place: intern(path) });
        };
        add(&mapping.timestamp.path, Target::Timestamp, &mut problems, "timestamp");
        if let Some(p) = &mapping.request {
            add(p, Target::RequestLine, &mut problems, "request");
        }
        if let Some(p) = &mapping.url {
            add(p, Target::Url, &mut problems, "url");
        }
        for (ecs, path) in &mapping.fields {
            let spread = match ecs.as_str() {
                "http.request.headers.*" => Some(Spread::Headers),
                "labels.*" => Some(Spread::Labels),
                _ => None,
            };
            if let Some(spread) = spread {
                if valid_path(path) {
                    spreads.push((Box::<str>::from(path.as_str()), spread, intern(path)));
                } else {
                    problems.push(format!("{ecs}: source path {path:?} is not a dotted path"));
                }
                continue;
            }
            let field = match Field::parse(ecs) {
                None => {
                    problems.push(format!("{ecs}: not a field apiwatch knows"));
                    continue;
                }
                Some(Field::Timestamp) => {
                    problems.push(format!("{ecs}: set the time with `timestamp:`"));
                    continue;
                }
                Some(Field::Dataset) => {
                    problems.push(format!("{ecs}: the dataset is the format's name"));
                    continue;
                }
                Some(Field::SourceNetwork) => {
                    problems.push(format!("{ecs}: computed from source.ip; map that instead"));
                    continue;
                }
                Some(f) => f,
            };
            add(path, Target::Field(field), &mut problems, ecs);
        }
        if !problems.is_empty() {
            return Err(FormatError { name: name.to_owned(), reason: problems.join("; ") });
        }
        let mut parents = HashSet::new();
        for path in slots.keys().map(|p| &**p).chain(spreads.iter().map(|(p, _, _)| &**p)) {
            for (i, _) in path.match_indices('.') {
                parents.insert(Box::<str>::from(&path[..i]));
            }
        }
        Ok(MappedJsonDecoder {
            name: name.to_owned(),
            dataset: intern(name),
            format: mapping.timestamp.format,
            timestamp_place: intern(&mapping.timestamp.path),
            slots,
            parents,
            spreads,
        })
    }

    fn spread_at<'p>(&self, path: &'p str) -> Option<(&'p str, Spread, &'static str)> {
        self.spreads.iter().find_map(|(prefix, spread, place)| {
            let rest = path.strip_prefix(&**prefix)?.strip_prefix('.')?;
            Some((rest, *spread, *place))
        })
    }

    fn is_spread_root(&self, path: &str) -> bool {
        self.spreads.iter().any(|(p, _, _)| **p == *path)
    }
}

impl Decoder for MappedJsonDecoder {
    fn name(&self) -> &str {
        &self.name
    }

    fn decode(&self, line: &[u8]) -> Result<EventData, DecodeError> {
        let mut sink = MappedSink {
            decoder: self,
            ev: EventData::default(),
            geo: GeoParts::default(),
            timestamp_ms: None,
            request_line: None,
            url: None,
        };
        walk(line, &mut sink)?;
        let Some(timestamp_ms) = sink.timestamp_ms else {
            return Err(DecodeError::field(self.timestamp_place, "missing"));
        };
        // Fixed precedence, whatever the order of the keys on the line: a field mapped on its
        // own wins over the request line, which wins over the URL.
        if let Some((line, place)) = sink.request_line.take() {
            let bad = || DecodeError::field(place, "expected a request line");
            let (method, target, version) = split_request_line(&line).ok_or_else(bad)?;
            let url = split_url(target).ok_or_else(bad)?;
            let ev = &mut sink.ev;
            ev.http_method.get_or_insert_with(|| method.to_owned().into());
            if let Some(v) = version {
                ev.http_version
                    .get_or_insert_with(|| strip_http_prefix(apiwatch_core::Text::from(v)));
            }
            fill_url(ev, &url);
        }
        if let Some((url, place)) = sink.url.take() {
            let parts = split_url(&url).ok_or(DecodeError::field(place, "expected a URL"))?;
            fill_url(&mut sink.ev, &parts);
        }
        let mut ev = sink.ev;
        sink.geo.finish(&mut ev);
        ev.timestamp_ms = timestamp_ms;
        ev.dataset = self.dataset;
        Ok(ev)
    }
}

struct MappedSink<'d> {
    decoder: &'d MappedJsonDecoder,
    ev: EventData,
    geo: GeoParts,
    timestamp_ms: Option<i64>,
    /// The request line and the URL with their source paths, applied once the line is read.
    request_line: Option<(String, &'static str)>,
    url: Option<(String, &'static str)>,
}

impl<'de> FlatSink<'de> for MappedSink<'_> {
    fn wants(&self, path: &str) -> bool {
        let d = self.decoder;
        d.slots.contains_key(path)
            || d.parents.contains(path)
            || d.is_spread_root(path)
            || d.spread_at(path).is_some()
    }

    fn descends(&self, path: &str) -> bool {
        let d = self.decoder;
        d.parents.contains(path) || d.is_spread_root(path) || d.spread_at(path).is_some()
    }

    fn leaf(&mut self, path: &str, value: Scalar<'de>) -> Result<(), DecodeError> {
        if let Some((name, spread, place)) = self.decoder.spread_at(path) {
            if let Some(v) = value.clone().into_text().map_err(|r| DecodeError::field(place, r))? {
                let list = match spread {
                    Spread::Headers => &mut self.ev.headers,
                    Spread::Labels => &mut self.ev.labels,
                };
                let name = match spread {
                    Spread::Headers => name.to_ascii_lowercase(),
                    Spread::Labels => name.to_owned(),
                };
                list.push((name, v));
            }
        }
        let Some(slots) = self.decoder.slots.get(path) else { return Ok(()) };
        // One source path may fill several fields; only then is the value copied.
        let (last, rest) = slots.split_last().expect("a slot list is never empty");
        for slot in rest {
            self.apply(slot, value.clone())?;
        }
        self.apply(last, value)
    }
}

impl MappedSink<'_> {
    fn apply(&mut self, slot: &Slot, value: Scalar<'_>) -> Result<(), DecodeError> {
        let place = slot.place;
        let bad = |reason: &'static str| DecodeError::field(place, reason);
        match &slot.target {
            Target::Field(f) => set_field(&mut self.ev, &mut self.geo, f, value, place)?,
            Target::Timestamp => {
                if !value.is_absent() {
                    self.timestamp_ms = Some(timestamp(&value, self.decoder.format).map_err(bad)?);
                }
            }
            Target::RequestLine => {
                if let Some(line) = value.into_single_text().map_err(bad)? {
                    self.request_line = Some((line, place));
                }
            }
            Target::Url => {
                if let Some(url) = value.into_single_text().map_err(bad)? {
                    self.url = Some((url, place));
                }
            }
        }
        Ok(())
    }
}

/// Fills path, query and domain from a URL where a mapped field has not set them already.
fn fill_url(ev: &mut EventData, url: &crate::json_util::UrlParts<'_>) {
    if ev.url_path.is_none() {
        ev.url_path = url.path.map(Into::into);
    }
    if ev.url_query.is_none() {
        ev.url_query = url.query.map(Into::into);
    }
    if ev.url_domain.is_none() {
        ev.url_domain = url.domain.map(Into::into);
    }
}

/// Milliseconds since the epoch from a time value in `format`.
fn timestamp(value: &Scalar<'_>, format: TimestampFormat) -> Result<i64, &'static str> {
    let scaled = |per_ms: f64| -> Result<i64, &'static str> {
        let n = value.to_f64().map_err(|_| "expected a number")?.ok_or("expected a number")?;
        let ms = n / per_ms;
        if ms.is_finite() && ms.abs() < 9.0e15 {
            Ok(ms.floor() as i64)
        } else {
            Err("time out of range")
        }
    };
    match format {
        TimestampFormat::Rfc3339 => match value {
            Scalar::Str(s) => parse_rfc3339_ms(s).map_err(|_| "expected an RFC 3339 time"),
            _ => Err("expected an RFC 3339 time"),
        },
        TimestampFormat::Clf => match value {
            Scalar::Str(s) => {
                parse_clf_ms(s).ok_or("expected a time like 10/Oct/2000:13:55:36 -0700")
            }
            _ => Err("expected a time like 10/Oct/2000:13:55:36 -0700"),
        },
        // Integers are exact; only fractions go through floating point.
        TimestampFormat::UnixMs => match value {
            Scalar::Int(i) => Ok(*i),
            Scalar::UInt(u) => i64::try_from(*u).map_err(|_| "time out of range"),
            _ => scaled(1.0),
        },
        TimestampFormat::UnixS => match value {
            Scalar::Int(i) => i.checked_mul(1000).ok_or("time out of range"),
            Scalar::UInt(u) => {
                i64::try_from(*u).ok().and_then(|s| s.checked_mul(1000)).ok_or("time out of range")
            }
            _ => scaled(0.001),
        },
        TimestampFormat::UnixUs => match value {
            Scalar::Int(i) => Ok(i.div_euclid(1000)),
            Scalar::UInt(u) => i64::try_from(u / 1000).map_err(|_| "time out of range"),
            _ => scaled(1000.0),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(json: &str) -> JsonMapping {
        serde_json::from_str(json).unwrap()
    }

    fn decoder(json: &str) -> MappedJsonDecoder {
        MappedJsonDecoder::new("myapp", mapping(json)).unwrap()
    }

    #[test]
    fn the_documented_example_decodes() {
        let d = decoder(
            r#"{"timestamp":{"path":"ts","format":"unix_ms"},"fields":{"source.ip":"client.addr","user.name":"actor.login","http.response.status_code":"res.code","url.path":"req.path"}}"#,
        );
        let ev = d
            .decode(br#"{"ts":1700000000000,"client":{"addr":"192.0.2.4"},"actor.login":"alice","res":{"code":403},"req":{"path":"/admin"}}"#)
            .unwrap();
        assert_eq!(ev.timestamp_ms, 1_700_000_000_000);
        assert_eq!(ev.dataset, "myapp");
        assert_eq!(ev.source_ip, Some("192.0.2.4".parse().unwrap()));
        assert_eq!(ev.user_name.as_deref(), Some("alice"));
        assert_eq!(ev.status_code, Some(403));
        assert_eq!(ev.url_path.as_deref(), Some("/admin"));
        assert_eq!(d.name(), "myapp");
    }

    #[test]
    fn request_line_url_headers_and_labels() {
        let d = decoder(
            r#"{"timestamp":{"path":"time","format":"clf"},"request":"r","url":"u","fields":{"http.request.headers.X-Request-Id":"rid","labels.tenant":"t","http.request.headers.*":"hdrs","labels.*":"meta"}}"#,
        );
        let ev = d
            .decode(br#"{"time":"10/Oct/2000:13:55:36 -0700","r":"POST /api/login?next=%2F HTTP/2.0","u":"https://api.example.com/ignored","rid":"abc","t":"acme","hdrs":{"User-Agent":"curl/8"},"meta":{"region":"eu"}}"#)
            .unwrap();
        assert_eq!(ev.http_method.as_deref(), Some("POST"));
        assert_eq!(ev.url_path.as_deref(), Some("/api/login"));
        assert_eq!(ev.url_query.as_deref(), Some("next=%2F"));
        assert_eq!(ev.http_version.as_deref(), Some("2.0"));
        assert_eq!(ev.url_domain.as_deref(), Some("api.example.com"));
        assert_eq!(ev.header("x-request-id"), Some("abc"));
        assert_eq!(ev.header("user-agent"), Some("curl/8"));
        assert_eq!(ev.label("tenant"), Some("acme"));
        assert_eq!(ev.label("region"), Some("eu"));
    }

    #[test]
    fn every_time_format() {
        for (format, value, want) in [
            ("rfc3339", r#""2000-10-10T20:55:36.5Z""#, 971_211_336_500),
            ("unix_s", "971211336", 971_211_336_000),
            ("unix_s", "971211336.25", 971_211_336_250),
            ("unix_s", r#""971211336""#, 971_211_336_000),
            ("unix_ms", "971211336500", 971_211_336_500),
            ("unix_us", "971211336500123", 971_211_336_500),
            ("clf", r#""10/Oct/2000:13:55:36 -0700""#, 971_211_336_000),
        ] {
            let d = decoder(&format!(r#"{{"timestamp":{{"path":"t","format":"{format}"}}}}"#));
            let ev = d.decode(format!(r#"{{"t":{value}}}"#).as_bytes()).unwrap();
            assert_eq!(ev.timestamp_ms, want, "{format} {value}");
        }
    }

    #[test]
    fn validation_reports_every_problem_with_its_field() {
        let e = MappedJsonDecoder::new(
            "bad",
            mapping(
                r#"{"timestamp":{"path":"ts"},"fields":{"user.nmae":"a","@timestamp":"b","source.ip":"c..d","event.dataset":"e"}}"#,
            ),
        )
        .unwrap_err();
        for part in ["user.nmae", "@timestamp", "source.ip", "event.dataset"] {
            assert!(e.reason.contains(part), "{e}");
        }
        assert!(serde_json::from_str::<JsonMapping>(r#"{"timestamp":{"path":"t"},"feilds":{}}"#)
            .is_err());
        assert!(serde_json::from_str::<JsonMapping>(
            r#"{"timestamp":{"path":"t","format":"unix_ns"}}"#
        )
        .is_err());
    }

    #[test]
    fn a_line_without_the_time_names_its_path() {
        let d = decoder(r#"{"timestamp":{"path":"meta.ts"},"fields":{"user.name":"u"}}"#);
        let e = d.decode(br#"{"u":"alice"}"#).unwrap_err();
        assert_eq!(e.field, "meta.ts");
        let e = d.decode(br#"{"meta":{"ts":"soon"}}"#).unwrap_err();
        assert_eq!(e.field, "meta.ts");
    }

    #[test]
    fn one_path_may_fill_several_fields() {
        let d = decoder(
            r#"{"timestamp":{"path":"ts"},"fields":{"user.name":"who","consumer.name":"who"}}"#,
        );
        let ev = d.decode(br#"{"ts":"2024-01-01T00:00:00Z","who":"alice"}"#).unwrap();
        assert_eq!(ev.user_name.as_deref(), Some("alice"));
        assert_eq!(ev.consumer.as_deref(), Some("alice"));
    }
}
