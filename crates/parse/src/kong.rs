//! Kong's log serializer JSON, as the file-log, http-log and tcp-log plugins write it (Kong 2.x
//! and 3.x): one object per request with `request`, `response`, `latencies`, `route`,
//! `service`, `consumer` and `started_at`.
//!
//! Route and service names become `http.route` and `service.name`; the consumer becomes
//! `consumer.name`. Kong's `request.uri` is nginx's `$request_uri`, so path and query come
//! from it as the client sent them; the decoded `querystring` object is used only when the
//! URI carries no query.
//!
//! The line is read in one pass straight into the event (no intermediate structure): Kong
//! lines are about 2 KiB, most of it members that are only skipped (tries, response headers,
//! timeouts), and the decoder is meant to keep up with a busy gateway on one core.

use crate::json_util::{
    checked_text, domain_of_host, percent_encode_component, run_seed, split_target, split_url,
    syntax_error, CowStr, HeaderMap, Nested, Pairs, Scalar, Skip, Unfit,
};
use crate::{DecodeError, Decoder};
use apiwatch_core::EventData;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserializer;
use std::borrow::Cow;
use std::fmt;

/// `event.dataset` of Kong events.
pub const DATASET: &str = "kong";

/// Decodes Kong log serializer lines.
#[derive(Clone, Copy, Debug, Default)]
pub struct KongDecoder;

impl KongDecoder {
    pub fn new() -> Self {
        KongDecoder
    }
}

impl Decoder for KongDecoder {
    fn name(&self) -> &str {
        "kong"
    }

    fn decode(&self, line: &[u8]) -> Result<EventData, DecodeError> {
        let text = checked_text(line)?;
        let mut log = KongLog::default();
        let parsed = run_seed(text, Section { log: &mut log, kind: Kind::Top });
        if let Some(e) = log.failure.take() {
            return Err(e);
        }
        parsed.map_err(|e| syntax_error(&e))?;
        log.finish()
    }
}

/// What has been read of one line. Members that decide between each other (the URI and the
/// decoded query, a route's name and its paths, the consumer's names) wait here for `finish`.
#[derive(Default)]
struct KongLog<'de> {
    ev: EventData,
    /// The first value that did not fit its field; parsing stops there.
    failure: Option<DecodeError>,
    /// Whether the line has a `request` object, which every Kong log has.
    has_request: bool,
    started_at_ms: Option<i64>,
    url: Option<Cow<'de, str>>,
    /// Used only when the URI has no query.
    querystring: Option<Nested<Pairs<'de>>>,
    route_name: Option<String>,
    /// Used only when the route has no name.
    route_paths: Option<Scalar<'de>>,
    consumer_id: Option<String>,
    consumer_username: Option<String>,
    consumer_custom_id: Option<String>,
    authenticated_entity: Option<String>,
    request_id: Option<String>,
    workspace: Option<String>,
}

/// The objects of a Kong line whose members are read.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Top,
    Request,
    Response,
    Latencies,
    Route,
    Service,
    Consumer,
    Entity,
}

impl Kind {
    /// Levels of objects around the members of this one.
    fn depth(self) -> u32 {
        match self {
            Kind::Top => 0,
            _ => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Top => "line",
            Kind::Request => "request",
            Kind::Response => "response",
            Kind::Latencies => "latencies",
            Kind::Route => "route",
            Kind::Service => "service",
            Kind::Consumer => "consumer",
            Kind::Entity => "authenticated_entity",
        }
    }
}

/// Reads one object of the line into the [`KongLog`].
struct Section<'s, 'de> {
    log: &'s mut KongLog<'de>,
    kind: Kind,
}

impl<'de> DeserializeSeed<'de> for Section<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Section<'_, 'de> {
    fn not_object<E: de::Error>(self) -> Result<(), E> {
        let reason = match self.kind {
            Kind::Top => "expected a JSON object",
            _ => "expected an object",
        };
        Err(self.log.fail(self.kind.name(), reason))
    }
}

impl<'de> Visitor<'de> for Section<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.kind == Kind::Request {
            self.log.has_request = true;
        }
        while let Some(CowStr(key)) = map.next_key::<CowStr<'de>>()? {
            self.log.member(self.kind, &key, &mut map)?;
        }
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        // A null section (`"consumer": null`) is an absent one; a null line is not a log.
        if self.kind == Kind::Top {
            return self.not_object();
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        Skip(self.kind.depth()).visit_seq(&mut seq)?;
        self.not_object()
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_object()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_object()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_object()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_object()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_object()
    }
}

impl<'de> KongLog<'de> {
    /// Records why a value does not fit and returns the error that stops parsing.
    fn fail<E: de::Error>(&mut self, field: &'static str, reason: Unfit) -> E {
        self.failure = Some(DecodeError::field(field, reason));
        E::custom(field)
    }

    fn text<A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        field: &'static str,
    ) -> Result<Option<String>, A::Error> {
        let value = map.next_value::<Scalar<'de>>()?;
        value.into_single_text().map_err(|r| self.fail(field, r))
    }

    fn number<A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        field: &'static str,
    ) -> Result<Option<u64>, A::Error> {
        let value = map.next_value::<Scalar<'de>>()?;
        value.to_u64().map_err(|r| self.fail(field, r))
    }

    fn section<A: MapAccess<'de>>(&mut self, map: &mut A, kind: Kind) -> Result<(), A::Error> {
        map.next_value_seed(Section { log: self, kind })
    }

    /// Reads the value of `key` in the object `kind`; members not listed are skipped.
    fn member<A: MapAccess<'de>>(
        &mut self,
        kind: Kind,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match (kind, key) {
            (Kind::Top, "request") => self.section(map, Kind::Request)?,
            (Kind::Top, "response") => self.section(map, Kind::Response)?,
            (Kind::Top, "latencies") => self.section(map, Kind::Latencies)?,
            (Kind::Top, "route") => self.section(map, Kind::Route)?,
            (Kind::Top, "service") => self.section(map, Kind::Service)?,
            (Kind::Top, "consumer") => self.section(map, Kind::Consumer)?,
            (Kind::Top, "authenticated_entity") => self.section(map, Kind::Entity)?,
            (Kind::Top, "started_at") => {
                let value = map.next_value::<Scalar<'de>>()?;
                self.started_at_ms = match value.to_f64() {
                    Ok(None) => None,
                    // Kong writes integer milliseconds; a fraction would be sub-millisecond.
                    Ok(Some(ms)) if ms.abs() < 9.0e15 => Some(ms as i64),
                    _ => return Err(self.fail("started_at", "expected milliseconds")),
                };
            }
            (Kind::Top, "client_ip") => {
                let value = map.next_value::<Scalar<'de>>()?;
                self.ev.source_ip = value.to_ip().map_err(|r| self.fail("client_ip", r))?;
            }
            (Kind::Top, "workspace_name") => self.workspace = self.text(map, "workspace_name")?,
            (Kind::Request, "method") => self.ev.http_method = self.text(map, "request.method")?,
            (Kind::Request, "uri") => {
                let value = map.next_value::<Scalar<'de>>()?;
                match value {
                    Scalar::Str(uri) => {
                        let (path, query) = split_target(&uri);
                        self.ev.url_path = (!path.is_empty()).then(|| path.to_owned());
                        self.ev.url_query = query.map(str::to_owned);
                    }
                    Scalar::Null => {}
                    _ => return Err(self.fail("request.uri", "expected a string")),
                }
            }
            (Kind::Request, "url") => match map.next_value::<Scalar<'de>>()? {
                Scalar::Str(url) => self.url = Some(url),
                Scalar::Null => {}
                _ => return Err(self.fail("request.url", "expected a string")),
            },
            (Kind::Request, "querystring") => self.querystring = map.next_value()?,
            (Kind::Request, "size") => self.ev.request_bytes = self.number(map, "request.size")?,
            (Kind::Request, "headers") => {
                let headers = map.next_value::<HeaderMap>()?;
                if let Some(unfit) = headers.unfit {
                    return Err(self.fail("request.headers", unfit));
                }
                self.ev.headers = headers.items;
            }
            (Kind::Request, "id") => self.request_id = self.text(map, "request.id")?,
            (Kind::Response, "status") => {
                let value = map.next_value::<Scalar<'de>>()?;
                self.ev.status_code = value
                    .to_u16("status code out of range")
                    .map_err(|r| self.fail("response.status", r))?;
            }
            (Kind::Response, "size") => {
                self.ev.response_bytes = self.number(map, "response.size")?;
            }
            (Kind::Latencies, "request") => {
                let value = map.next_value::<Scalar<'de>>()?;
                let ms = value.to_f64().map_err(|r| self.fail("latencies.request", r))?;
                self.ev.duration_ns = ms.and_then(ms_to_ns);
            }
            (Kind::Route, "name") => self.route_name = self.text(map, "route.name")?,
            (Kind::Route, "paths") => self.route_paths = map.next_value()?,
            (Kind::Service, "name") => self.ev.service_name = self.text(map, "service.name")?,
            (Kind::Consumer, "id") => self.consumer_id = self.text(map, "consumer.id")?,
            (Kind::Consumer, "username") => {
                self.consumer_username = self.text(map, "consumer.username")?;
            }
            (Kind::Consumer, "custom_id") => {
                self.consumer_custom_id = self.text(map, "consumer.custom_id")?;
            }
            (Kind::Entity, "id") => {
                self.authenticated_entity = self.text(map, "authenticated_entity.id")?;
            }
            _ => map.next_value_seed(Skip(kind.depth() + 1))?,
        }
        Ok(())
    }

    fn finish(self) -> Result<EventData, DecodeError> {
        // Detection tries every decoder on a sample: a JSON line without Kong's shape must
        // fail here rather than become an event of empty fields.
        if !self.has_request {
            return Err(DecodeError::field("request", "missing: not a Kong log object"));
        }
        let Some(timestamp_ms) = self.started_at_ms else {
            return Err(DecodeError::field("started_at", "missing"));
        };
        let mut ev = self.ev;
        ev.timestamp_ms = timestamp_ms;
        ev.dataset = DATASET;
        for (name, value) in &ev.headers {
            match name.as_str() {
                // The Host header is the domain the client asked for.
                "host" => ev.url_domain = Some(domain_of_host(value).to_owned()),
                "user-agent" => ev.user_agent = Some(value.clone()),
                "referer" => ev.referrer = Some(value.clone()),
                _ => {}
            }
        }
        // The URL repeats what the URI and the Host header say; it fills what they left out.
        if ev.url_path.is_none() || ev.url_domain.is_none() {
            if let Some(url) = self.url.as_deref().filter(|u| !u.is_empty()) {
                let parts =
                    split_url(url).ok_or(DecodeError::field("request.url", "expected a URL"))?;
                if ev.url_path.is_none() {
                    ev.url_path = parts.path.map(str::to_owned);
                    ev.url_query = parts.query.map(str::to_owned);
                }
                if ev.url_domain.is_none() {
                    ev.url_domain = parts.domain.map(str::to_owned);
                }
            }
        }
        if ev.url_query.is_none() {
            const FIELD: &str = "request.querystring";
            match self.querystring {
                Some(Nested::Object(args)) => {
                    ev.url_query = rebuild_query(args).map_err(|r| DecodeError::field(FIELD, r))?;
                }
                Some(Nested::NotObject) => {
                    return Err(DecodeError::field(FIELD, "expected an object"))
                }
                None => {}
            }
        }
        // A route's name is what Kong users group traffic by; without one, its single path
        // prefix serves. Several paths name no one route template.
        ev.http_route = match (&self.route_name, self.route_paths) {
            (Some(name), _) => Some(name.clone()),
            (None, Some(paths)) => single_path(paths),
            (None, None) => None,
        };
        // One allocation for all the labels below.
        let labels = [
            self.route_name.is_some(),
            self.consumer_id.is_some(),
            self.authenticated_entity.is_some(),
            self.request_id.is_some(),
            self.workspace.is_some(),
        ];
        ev.labels.reserve(labels.iter().filter(|&&l| l).count());
        if let Some(name) = self.route_name {
            ev.labels.push(("kong.route".into(), name));
        }
        ev.consumer =
            self.consumer_username.or(self.consumer_custom_id).or_else(|| self.consumer_id.clone());
        // A Kong consumer is the client application (often one OAuth client shared by every
        // user of an app), not a person: it is the actor `consumer.name`, and `user.name` is
        // left to the authenticated identity (a JWT's `sub`, read by enrichment). Taking the
        // consumer as the user made every user of `shop-web` one "user" travelling the world.
        if let Some(id) = self.consumer_id {
            ev.labels.push(("kong.consumer_id".into(), id));
        }
        // The credential that authenticated the request: not the user, but what a leaked key
        // shares across addresses.
        if let Some(id) = self.authenticated_entity {
            ev.labels.push(("kong.authenticated_entity".into(), id));
        }
        if let Some(id) = self.request_id {
            ev.labels.push(("kong.request_id".into(), id));
        }
        if let Some(ws) = self.workspace {
            ev.labels.push(("kong.workspace".into(), ws));
        }
        Ok(ev)
    }
}

/// The only path of a route, when it has exactly one.
fn single_path(paths: Scalar<'_>) -> Option<String> {
    match paths {
        Scalar::List(mut items) if items.len() == 1 => items.pop()?.into_text().ok().flatten(),
        Scalar::Str(s) if !s.is_empty() => Some(s.into_owned()),
        _ => None,
    }
}

fn ms_to_ns(ms: f64) -> Option<u64> {
    let ns = ms * 1e6;
    (0.0..1.8e19).contains(&ns).then_some(ns as u64)
}

/// Rebuilds a query string from Kong's decoded `querystring` object, in key order: a flag
/// argument (`true`) is written bare, a repeated one (a list) once per value.
fn rebuild_query(args: Pairs<'_>) -> Result<Option<String>, Unfit> {
    let mut out = String::new();
    for (key, value) in args.0 {
        let values = match value {
            Scalar::List(items) => items,
            one => vec![one],
        };
        for v in values {
            if v == Scalar::Bool(false) {
                continue;
            }
            if !out.is_empty() {
                out.push('&');
            }
            percent_encode_component(&key, &mut out);
            match v {
                Scalar::Bool(_) | Scalar::Null => {}
                other => {
                    out.push('=');
                    if let Some(t) = other.into_single_text()? {
                        percent_encode_component(&t, &mut out);
                    }
                }
            }
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(line: &str) -> Result<EventData, DecodeError> {
        KongDecoder::new().decode(line.as_bytes())
    }

    #[test]
    fn a_minimal_line_decodes() {
        let ev = decode(
            r#"{"request":{"method":"POST","uri":"/login?next=%2Fhome","headers":{"Host":"api.example.com:8443","user-agent":"curl/8.5.0","x-multi":["a","b"]},"size":312},"response":{"status":401,"size":97},"latencies":{"request":12},"client_ip":"2001:db8::7","started_at":1700000000123,"route":{"name":"login"},"service":{"name":"auth"},"consumer":{"username":"alice","id":"c1"}}"#,
        )
        .unwrap();
        assert_eq!(ev.timestamp_ms, 1_700_000_000_123);
        assert_eq!(ev.dataset, "kong");
        assert_eq!(ev.source_ip, Some("2001:db8::7".parse().unwrap()));
        assert_eq!(ev.http_method.as_deref(), Some("POST"));
        assert_eq!(ev.url_path.as_deref(), Some("/login"));
        assert_eq!(ev.url_query.as_deref(), Some("next=%2Fhome"));
        assert_eq!(ev.url_domain.as_deref(), Some("api.example.com"));
        assert_eq!(ev.user_agent.as_deref(), Some("curl/8.5.0"));
        assert_eq!(ev.header("host"), Some("api.example.com:8443"));
        assert_eq!(ev.header("x-multi"), Some("a, b"));
        assert_eq!(ev.status_code, Some(401));
        assert_eq!(ev.request_bytes, Some(312));
        assert_eq!(ev.response_bytes, Some(97));
        assert_eq!(ev.duration_ns, Some(12_000_000));
        assert_eq!(ev.http_route.as_deref(), Some("login"));
        assert_eq!(ev.label("kong.route"), Some("login"));
        assert_eq!(ev.service_name.as_deref(), Some("auth"));
        assert_eq!(ev.consumer.as_deref(), Some("alice"));
        assert_eq!(ev.user_name, None, "a consumer is an application, not a user");
        assert_eq!(ev.label("kong.consumer_id"), Some("c1"));
    }

    #[test]
    fn query_is_rebuilt_from_querystring_when_the_uri_has_none() {
        let ev = decode(
            r#"{"request":{"uri":"/s","querystring":{"q":"a b&c","flag":true,"off":false,"tag":["x","y"]}},"started_at":1}"#,
        )
        .unwrap();
        assert_eq!(ev.url_query.as_deref(), Some("q=a%20b%26c&flag&tag=x&tag=y"));
        let ev =
            decode(r#"{"request":{"uri":"/s?raw=1","querystring":{"raw":"1"}},"started_at":1}"#)
                .unwrap();
        assert_eq!(ev.url_query.as_deref(), Some("raw=1"));
    }

    #[test]
    fn the_url_fills_what_uri_and_host_leave_out() {
        let ev =
            decode(r#"{"request":{"url":"https://api.example.com:8443/a?b=1"},"started_at":1}"#)
                .unwrap();
        assert_eq!(ev.url_domain.as_deref(), Some("api.example.com"));
        assert_eq!(ev.url_path.as_deref(), Some("/a"));
        assert_eq!(ev.url_query.as_deref(), Some("b=1"));
    }

    #[test]
    fn non_kong_json_is_refused() {
        for line in [
            r#"{"@timestamp":"2024-01-01T00:00:00Z","message":"hi"}"#,
            r#"{"requestId":"x","httpMethod":"GET"}"#,
            r#"{"request":{"method":"GET"}}"#,
            r#"{"request":"GET / HTTP/1.1","started_at":1}"#,
            r#"[1,2]"#,
            r#"null"#,
            r#"{"request":{"method":"GET"},"started_at":"yesterday"}"#,
        ] {
            assert!(decode(line).is_err(), "{line}");
        }
        assert_eq!(decode(r#"{"started_at":1}"#).unwrap_err().field, "request");
        assert_eq!(decode(r#"{"request":{}}"#).unwrap_err().field, "started_at");
        assert_eq!(decode(r#"{"request":[],"started_at":1}"#).unwrap_err().field, "request");
        assert_eq!(decode(r#"{"request":null,"started_at":1}"#).unwrap_err().field, "request");
    }

    #[test]
    fn a_route_without_a_name_uses_its_only_path() {
        let ev = decode(r#"{"request":{},"started_at":1,"route":{"paths":["/log"]}}"#).unwrap();
        assert_eq!(ev.http_route.as_deref(), Some("/log"));
        assert_eq!(ev.label("kong.route"), None);
        let ev = decode(r#"{"request":{},"started_at":1,"route":{"paths":["/a","/b"]}}"#).unwrap();
        assert_eq!(ev.http_route, None);
    }

    #[test]
    fn null_sections_are_absent() {
        let ev = decode(r#"{"request":{},"started_at":1,"consumer":null,"route":null}"#).unwrap();
        assert_eq!(ev.consumer, None);
    }

    #[test]
    fn wrong_types_name_the_field() {
        let e =
            decode(r#"{"request":{},"started_at":1,"response":{"status":"teapot"}}"#).unwrap_err();
        assert_eq!(e.field, "response.status");
        let e = decode(r#"{"request":{},"started_at":1,"client_ip":"nope"}"#).unwrap_err();
        assert_eq!(e.field, "client_ip");
        let e = decode(r#"{"request":{"headers":{"a":{"b":1}}},"started_at":1}"#).unwrap_err();
        assert_eq!(e.field, "request.headers");
        let e = decode(r#"{"request":{"querystring":"x"},"started_at":1}"#).unwrap_err();
        assert_eq!(e.field, "request.querystring");
    }
}
