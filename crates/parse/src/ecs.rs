//! Elastic Common Schema JSON lines, as Filebeat, Logstash and the ecs-logging libraries write
//! them: keys nested (`{"source":{"ip":…}}`), dotted (`"source.ip"`) or both in one line.
//!
//! Every field apiwatch knows by its ECS name is read, plus the usual stand-ins when the
//! preferred field is missing: `client.ip` or `source.address` for `source.ip`, `url.original`
//! or `url.full` for path and query, `http.response.bytes` for the body size.

use crate::json_util::{
    header_name, parse_ip, set_field, split_url, walk, FlatSink, GeoParts, Scalar,
};
use crate::{DecodeError, Decoder};
use apiwatch_core::field::{Field, FIXED_FIELDS};
use apiwatch_core::time::parse_rfc3339_ms;
use apiwatch_core::{EventData, Text};
use std::net::IpAddr;

/// `event.dataset` of ECS events whose own dataset is missing or not one apiwatch knows.
pub const DATASET: &str = "ecs";

/// Datasets kept as they are: what apiwatch's decoders and the Elastic integrations of the same
/// sources write. `event.dataset` is a static name, so other values fall back to [`DATASET`].
const KNOWN_DATASETS: &[&str] = &[
    "nginx.access",
    "apache.access",
    "kong",
    "aws.apigateway_logs",
    "aws.elb_logs",
    "envoyproxy.log",
    "traefik.access",
    "haproxy.log",
    "iis.access",
];

/// Decodes ECS JSON lines.
#[derive(Clone, Copy, Debug, Default)]
pub struct EcsDecoder;

impl EcsDecoder {
    pub fn new() -> Self {
        EcsDecoder
    }
}

impl Decoder for EcsDecoder {
    fn name(&self) -> &str {
        "ecs"
    }

    fn decode(&self, line: &[u8]) -> Result<EventData, DecodeError> {
        let mut sink = EcsSink::default();
        walk(line, &mut sink)?;
        sink.finish()
    }
}

/// Objects walked into: the parents of the fields read, and the open-ended header and label
/// maps. Anything else (host, agent, log, ecs, …) is skipped unparsed.
fn is_parent(path: &str) -> bool {
    matches!(
        path,
        "source"
            | "source.geo"
            | "source.geo.location"
            | "source.as"
            | "source.as.organization"
            | "client"
            | "user"
            | "user_agent"
            | "http"
            | "http.request"
            | "http.request.body"
            | "http.request.headers"
            | "http.response"
            | "http.response.body"
            | "url"
            | "event"
            | "service"
            | "token"
            | "api_key"
            | "consumer"
            | "session"
            | "labels"
    ) || path.starts_with("http.request.headers.")
        || path.starts_with("labels.")
}

/// Fields read besides [`FIXED_FIELDS`]: stand-ins used when the preferred field is missing.
fn is_stand_in(path: &str) -> bool {
    matches!(
        path,
        "client.ip"
            | "client.port"
            | "source.address"
            | "url.original"
            | "url.full"
            | "http.request.bytes"
            | "http.response.bytes"
            | "source.geo.location.lat"
            | "source.geo.location.lon"
    )
}

fn fixed_field(path: &str) -> Option<(&'static str, &'static Field)> {
    FIXED_FIELDS.iter().find(|(n, _)| *n == path).map(|(n, f)| (*n, f))
}

#[derive(Default)]
struct EcsSink {
    ev: EventData,
    geo: GeoParts,
    timestamp_ms: Option<i64>,
    dataset: Option<&'static str>,
    client_ip: Option<IpAddr>,
    client_port: Option<u16>,
    source_address: Option<IpAddr>,
    url_original: Option<String>,
    url_full: Option<String>,
    request_total_bytes: Option<u64>,
    response_total_bytes: Option<u64>,
    lat: Option<f64>,
    lon: Option<f64>,
}

impl<'de> FlatSink<'de> for EcsSink {
    fn wants(&self, path: &str) -> bool {
        path == "@timestamp"
            || is_parent(path)
            || is_stand_in(path)
            || FIXED_FIELDS.iter().any(|(n, _)| *n == path)
    }

    fn descends(&self, path: &str) -> bool {
        is_parent(path)
    }

    fn leaf(&mut self, path: &str, value: Scalar<'de>) -> Result<(), DecodeError> {
        if let Some(name) = path.strip_prefix("http.request.headers.") {
            let value =
                value.into_text::<String>().map_err(|r| field("http.request.headers", r))?;
            if let Some(v) = value {
                let name = header_name(name);
                // The proxy chain also has a field of its own (read by the trusted-proxy
                // step); the header stays, since it is scanned like any other.
                if name == "x-forwarded-for" {
                    self.ev.forwarded_for = Some(Text::from(v.as_str()));
                }
                self.ev.headers.push((name, v));
            }
            return Ok(());
        }
        if let Some(name) = path.strip_prefix("labels.") {
            if let Some(v) = value.into_text().map_err(|r| field("labels", r))? {
                self.ev.labels.push((name.to_owned(), v));
            }
            return Ok(());
        }
        match path {
            "@timestamp" => self.timestamp_ms = timestamp(&value)?,
            "event.dataset" => {
                let name =
                    value.into_single_text::<Text>().map_err(|r| field("event.dataset", r))?;
                self.dataset = name.and_then(|n| KNOWN_DATASETS.iter().copied().find(|k| *k == n));
            }
            "client.ip" => self.client_ip = value.to_ip().map_err(|r| field("client.ip", r))?,
            "client.port" => {
                self.client_port =
                    value.to_u16("port out of range").map_err(|r| field("client.port", r))?
            }
            // An address may be a host name; only an IP stands in for source.ip.
            "source.address" => {
                if let Scalar::Str(s) = &value {
                    self.source_address = parse_ip(s);
                }
            }
            "url.original" => {
                self.url_original =
                    value.into_single_text().map_err(|r| field("url.original", r))?
            }
            "url.full" => {
                self.url_full = value.into_single_text().map_err(|r| field("url.full", r))?
            }
            "http.request.bytes" => {
                self.request_total_bytes =
                    value.to_u64().map_err(|r| field("http.request.bytes", r))?
            }
            "http.response.bytes" => {
                self.response_total_bytes =
                    value.to_u64().map_err(|r| field("http.response.bytes", r))?
            }
            "source.geo.location.lat" => {
                self.lat = value.to_f64().map_err(|r| field("source.geo.location", r))?
            }
            "source.geo.location.lon" => {
                self.lon = value.to_f64().map_err(|r| field("source.geo.location", r))?
            }
            _ => {
                if let Some((name, f)) = fixed_field(path) {
                    set_field(&mut self.ev, &mut self.geo, f, value, name)?;
                }
            }
        }
        Ok(())
    }
}

fn field(name: &'static str, reason: &'static str) -> DecodeError {
    DecodeError::field(name, reason)
}

/// `@timestamp`: RFC 3339 text, or milliseconds since the epoch as a number.
fn timestamp(value: &Scalar<'_>) -> Result<Option<i64>, DecodeError> {
    const NOT: &str = "expected an RFC 3339 time or epoch milliseconds";
    match value {
        Scalar::Str(s) => parse_rfc3339_ms(s).map(Some).map_err(|_| field("@timestamp", NOT)),
        Scalar::Int(i) => Ok(Some(*i)),
        Scalar::UInt(u) => i64::try_from(*u).map(Some).map_err(|_| field("@timestamp", NOT)),
        Scalar::Float(f) if f.is_finite() && f.abs() < 9.0e15 => Ok(Some(*f as i64)),
        _ => Err(field("@timestamp", NOT)),
    }
}

impl EcsSink {
    fn finish(self) -> Result<EventData, DecodeError> {
        let Some(timestamp_ms) = self.timestamp_ms else {
            // Detection tries every decoder: JSON without @timestamp is not ECS.
            return Err(field("@timestamp", "missing: not an ECS document"));
        };
        let mut ev = self.ev;
        ev.timestamp_ms = timestamp_ms;
        ev.dataset = self.dataset.unwrap_or(DATASET);
        if ev.source_ip.is_none() {
            ev.source_ip = self.source_address.or(self.client_ip);
            if ev.source_port.is_none() && self.source_address.is_none() {
                ev.source_port = self.client_port;
            }
        }
        if ev.url_path.is_none() {
            // url.original is the request target as sent; url.full adds scheme and host.
            let url = self.url_original.as_deref().or(self.url_full.as_deref());
            if let Some(parts) = url.and_then(split_url) {
                ev.url_path = parts.path.map(Into::into);
                if ev.url_query.is_none() {
                    ev.url_query = parts.query.map(Into::into);
                }
                if ev.url_domain.is_none() {
                    ev.url_domain = parts.domain.map(Into::into);
                }
            }
        }
        if ev.url_domain.is_none() {
            if let Some(parts) = self.url_full.as_deref().and_then(split_url) {
                ev.url_domain = parts.domain.map(Into::into);
            }
        }
        ev.request_bytes = ev.request_bytes.or(self.request_total_bytes);
        ev.response_bytes = ev.response_bytes.or(self.response_total_bytes);
        let mut geo = self.geo;
        if let (Some(lat), Some(lon)) = (self.lat, self.lon) {
            geo.get().location = Some((lat, lon));
        }
        geo.finish(&mut ev);
        Ok(ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiwatch_core::Outcome;

    fn decode(line: &str) -> Result<EventData, DecodeError> {
        EcsDecoder::new().decode(line.as_bytes())
    }

    #[test]
    fn nested_dotted_and_mixed_keys_read_the_same() {
        let a = decode(
            r#"{"@timestamp":"2024-05-02T09:14:33.123Z","source":{"ip":"203.0.113.9"},"user":{"name":"alice"},"http":{"response":{"status_code":401}}}"#,
        )
        .unwrap();
        let b = decode(
            r#"{"@timestamp":"2024-05-02T09:14:33.123Z","source.ip":"203.0.113.9","user.name":"alice","http.response.status_code":401}"#,
        )
        .unwrap();
        let c = decode(
            r#"{"@timestamp":"2024-05-02T09:14:33.123Z","source":{"ip":"203.0.113.9"},"user.name":"alice","http":{"response.status_code":"401"}}"#,
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.status_code, Some(401));
        assert_eq!(a.dataset, "ecs");
    }

    #[test]
    fn the_forwarded_for_header_is_the_proxy_chain() {
        let ev = decode(
            r#"{"@timestamp":"2024-05-02T09:14:33Z","source.ip":"10.0.0.2","http":{"request":{"headers":{"X-Forwarded-For":"198.51.100.7, 10.0.0.1","accept":"*/*"}}}}"#,
        )
        .unwrap();
        assert_eq!(ev.forwarded_for.as_deref(), Some("198.51.100.7, 10.0.0.1"));
        assert_eq!(ev.header("x-forwarded-for"), Some("198.51.100.7, 10.0.0.1"));
    }

    #[test]
    fn an_application_login_event_decodes() {
        let ev = decode(
            r#"{"@timestamp":"2024-05-02T09:14:33.123Z","log.level":"warn","message":"login failed","event":{"action":"user-login","outcome":"failure","category":["authentication"]},"user":{"name":"alice","roles":["admin","ops"]},"source":{"ip":"198.51.100.23"},"ecs.version":"1.6.0"}"#,
        )
        .unwrap();
        assert_eq!(ev.event_action.as_deref(), Some("user-login"));
        assert_eq!(ev.event_outcome, Some(Outcome::Failure));
        assert_eq!(ev.user_roles, vec!["admin".to_string(), "ops".to_string()]);
        assert_eq!(ev.source_ip, Some("198.51.100.23".parse().unwrap()));
    }

    #[test]
    fn stand_ins_fill_missing_fields() {
        let ev = decode(
            r#"{"@timestamp":1714641273123,"client":{"ip":"192.0.2.1","port":5555},"url":{"original":"/a/b?c=1"},"http":{"response":{"bytes":900}}}"#,
        )
        .unwrap();
        assert_eq!(ev.timestamp_ms, 1_714_641_273_123);
        assert_eq!(ev.source_ip, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(ev.source_port, Some(5555));
        assert_eq!(ev.url_path.as_deref(), Some("/a/b"));
        assert_eq!(ev.url_query.as_deref(), Some("c=1"));
        assert_eq!(ev.response_bytes, Some(900));
        let ev = decode(
            r#"{"@timestamp":"2024-05-02T09:14:33Z","url.full":"https://api.example.com/v1/x?y=2"}"#,
        )
        .unwrap();
        assert_eq!(ev.url_domain.as_deref(), Some("api.example.com"));
        assert_eq!(ev.url_path.as_deref(), Some("/v1/x"));
    }

    #[test]
    fn headers_labels_and_geo() {
        let ev = decode(
            r#"{"@timestamp":"2024-05-02T09:14:33Z","http.request.headers":{"X-Api-Key":"k1","accept":["a","b"]},"labels":{"tenant":"acme","shard":3},"source":{"geo":{"country_iso_code":"SE","location":{"lat":59.3,"lon":18.1}},"as":{"number":64500,"organization":{"name":"Example"}}}}"#,
        )
        .unwrap();
        assert_eq!(ev.header("x-api-key"), Some("k1"));
        assert_eq!(ev.header("accept"), Some("a, b"));
        assert_eq!(ev.label("tenant"), Some("acme"));
        assert_eq!(ev.label("shard"), Some("3"));
        let geo = ev.geo.as_deref().unwrap();
        assert_eq!(geo.country_iso_code.as_deref(), Some("SE"));
        assert_eq!(geo.location, Some((59.3, 18.1)));
        assert_eq!(geo.as_number, Some(64500));
        assert_eq!(geo.as_organization.as_deref(), Some("Example"));
    }

    #[test]
    fn known_datasets_are_kept() {
        let ev = decode(r#"{"@timestamp":"2024-05-02T09:14:33Z","event.dataset":"nginx.access"}"#)
            .unwrap();
        assert_eq!(ev.dataset, "nginx.access");
        let ev = decode(r#"{"@timestamp":"2024-05-02T09:14:33Z","event.dataset":"myapp.audit"}"#)
            .unwrap();
        assert_eq!(ev.dataset, "ecs");
    }

    #[test]
    fn json_without_timestamp_is_not_ecs() {
        let e = decode(r#"{"source":{"ip":"192.0.2.1"}}"#).unwrap_err();
        assert_eq!(e.field, "@timestamp");
        assert!(decode(r#"{"@timestamp":"last tuesday"}"#).is_err());
        assert!(decode(r#""2024-05-02T09:14:33Z""#).is_err());
    }

    #[test]
    fn wrong_values_name_the_field() {
        let e =
            decode(r#"{"@timestamp":"2024-05-02T09:14:33Z","source":{"ip":{"v":1}}}"#).unwrap_err();
        assert_eq!(e.field, "source.ip");
        let e =
            decode(r#"{"@timestamp":"2024-05-02T09:14:33Z","event.outcome":"maybe"}"#).unwrap_err();
        assert_eq!(e.field, "event.outcome");
    }
}
