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
//! timeouts), and the decoder is meant to keep up with a busy gateway on one core. A fast
//! reader skips those members without parsing them; a line it cannot read with certainty
//! (malformed, a value of the wrong type, `\u` escapes) is read again by the full parser,
//! which reports the error.

use crate::json_util::{
    checked_text, domain_of_host, header_name, percent_encode_component, run_seed, split_target,
    split_url, syntax_error, Bail, CowStr, Fast, HeaderMap, Nested, Pairs, Scalar, Scanner, Skip,
    TextOut, Unfit,
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
        match read_fast(text, &mut log) {
            Ok(()) => log.finish(),
            // Malformed or unusual: the full parser gives the exact value or error.
            Err(Bail) => read_full(text)?.finish(),
        }
    }
}

/// Reads a line with the fast reader, which skips unused members (most of a Kong line)
/// without parsing them. Gives up on anything the full parser must judge, including every
/// value that does not fit its field.
fn read_fast<'de>(text: &'de str, log: &mut KongLog<'de>) -> Fast<()> {
    let mut sc = Scanner::new(text)?;
    sc.begin_object()?;
    log.fast_members(&mut sc, Kind::Top)?;
    sc.end()
}

/// Reads a line with sonic-rs's parser, reporting the first value that does not fit, or
/// where the JSON is wrong.
fn read_full(text: &str) -> Result<KongLog<'_>, DecodeError> {
    let mut log = KongLog::default();
    let parsed = run_seed(text, Section { log: &mut log, kind: Kind::Top });
    if let Some(e) = log.failure.take() {
        return Err(e);
    }
    parsed.map_err(|e| syntax_error(&e))?;
    Ok(log)
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
    /// The fast reader skipped `request.querystring` (the URI's query stands) or
    /// `route.paths` (the route is named): a later member that could undo that gives the
    /// line to the full parser.
    querystring_skipped: bool,
    route_paths_skipped: bool,
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

/// Where the value of a member goes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    Section(Kind),
    Value(Field),
    Headers,
    /// `request.querystring`: used only when the URI has no query.
    Querystring,
    /// `route.paths`: used only when the route has no name.
    RoutePaths,
    Skip,
}

/// The single values read from a Kong line.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Field {
    StartedAt,
    ClientIp,
    Workspace,
    Method,
    Uri,
    Url,
    RequestSize,
    RequestId,
    Status,
    ResponseSize,
    RequestLatency,
    RouteName,
    ServiceName,
    ConsumerId,
    ConsumerUsername,
    ConsumerCustomId,
    EntityId,
}

/// Where the member `key` of the object `kind` goes; members not listed are skipped. Keys are
/// told apart by length first, then compared as fixed-size arrays (a few word compares instead
/// of a `memcmp` call per candidate name): about 40 keys of each line come through here.
fn slot(kind: Kind, key: &[u8]) -> Slot {
    match kind {
        Kind::Top => match key.len() {
            5 if is(key, b"route") => Slot::Section(Kind::Route),
            7 if is(key, b"request") => Slot::Section(Kind::Request),
            7 if is(key, b"service") => Slot::Section(Kind::Service),
            8 if is(key, b"response") => Slot::Section(Kind::Response),
            8 if is(key, b"consumer") => Slot::Section(Kind::Consumer),
            9 if is(key, b"latencies") => Slot::Section(Kind::Latencies),
            9 if is(key, b"client_ip") => Slot::Value(Field::ClientIp),
            10 if is(key, b"started_at") => Slot::Value(Field::StartedAt),
            14 if is(key, b"workspace_name") => Slot::Value(Field::Workspace),
            20 if is(key, b"authenticated_entity") => Slot::Section(Kind::Entity),
            _ => Slot::Skip,
        },
        Kind::Request => match key.len() {
            2 if is(key, b"id") => Slot::Value(Field::RequestId),
            3 if is(key, b"uri") => Slot::Value(Field::Uri),
            3 if is(key, b"url") => Slot::Value(Field::Url),
            4 if is(key, b"size") => Slot::Value(Field::RequestSize),
            6 if is(key, b"method") => Slot::Value(Field::Method),
            7 if is(key, b"headers") => Slot::Headers,
            11 if is(key, b"querystring") => Slot::Querystring,
            _ => Slot::Skip,
        },
        Kind::Response => match key.len() {
            4 if is(key, b"size") => Slot::Value(Field::ResponseSize),
            6 if is(key, b"status") => Slot::Value(Field::Status),
            _ => Slot::Skip,
        },
        Kind::Latencies if is(key, b"request") => Slot::Value(Field::RequestLatency),
        Kind::Route if is(key, b"name") => Slot::Value(Field::RouteName),
        Kind::Route if is(key, b"paths") => Slot::RoutePaths,
        Kind::Service if is(key, b"name") => Slot::Value(Field::ServiceName),
        Kind::Consumer => match key.len() {
            2 if is(key, b"id") => Slot::Value(Field::ConsumerId),
            8 if is(key, b"username") => Slot::Value(Field::ConsumerUsername),
            9 if is(key, b"custom_id") => Slot::Value(Field::ConsumerCustomId),
            _ => Slot::Skip,
        },
        Kind::Entity if is(key, b"id") => Slot::Value(Field::EntityId),
        _ => Slot::Skip,
    }
}

/// Whether `key` is `name`, compared as an array of known length.
#[inline(always)]
fn is<const N: usize>(key: &[u8], name: &[u8; N]) -> bool {
    key.len() == N && key.first_chunk::<N>() == Some(name)
}

/// The value as one piece of text, or the field's error.
fn text<T: TextOut>(value: Scalar<'_>, field: &'static str) -> Result<Option<T>, DecodeError> {
    value.into_single_text().map_err(|r| DecodeError::field(field, r))
}

fn number(value: Scalar<'_>, field: &'static str) -> Result<Option<u64>, DecodeError> {
    value.to_u64().map_err(|r| DecodeError::field(field, r))
}

impl<'de> KongLog<'de> {
    /// Records why a value does not fit and returns the error that stops parsing.
    fn fail<E: de::Error>(&mut self, field: &'static str, reason: Unfit) -> E {
        self.stop(DecodeError::field(field, reason))
    }

    fn stop<E: de::Error>(&mut self, e: DecodeError) -> E {
        self.failure = Some(e);
        E::custom("field")
    }

    /// Stores one single value, converted to its field's type.
    fn store(&mut self, field: Field, value: Scalar<'de>) -> Result<(), DecodeError> {
        match field {
            Field::StartedAt => {
                self.started_at_ms = match value.to_f64() {
                    Ok(None) => None,
                    // Kong writes integer milliseconds; a fraction would be sub-millisecond.
                    Ok(Some(ms)) if ms.abs() < 9.0e15 => Some(ms as i64),
                    _ => return Err(DecodeError::field("started_at", "expected milliseconds")),
                };
            }
            Field::ClientIp => {
                self.ev.source_ip =
                    value.to_ip().map_err(|r| DecodeError::field("client_ip", r))?;
            }
            Field::Workspace => self.workspace = text(value, "workspace_name")?,
            Field::Method => self.ev.http_method = text(value, "request.method")?,
            Field::Uri => match value {
                Scalar::Str(uri) => {
                    let (path, query) = split_target(&uri);
                    self.ev.url_path =
                        ((!path.is_empty()).then(|| path.to_owned())).map(Into::into);
                    self.ev.url_query = query.map(Into::into);
                }
                Scalar::Null => {}
                _ => return Err(DecodeError::field("request.uri", "expected a string")),
            },
            Field::Url => match value {
                Scalar::Str(url) => self.url = Some(url),
                Scalar::Null => {}
                _ => return Err(DecodeError::field("request.url", "expected a string")),
            },
            Field::RequestSize => self.ev.request_bytes = number(value, "request.size")?,
            Field::RequestId => self.request_id = text(value, "request.id")?,
            Field::Status => {
                self.ev.status_code = value
                    .to_u16("status code out of range")
                    .map_err(|r| DecodeError::field("response.status", r))?;
            }
            Field::ResponseSize => self.ev.response_bytes = number(value, "response.size")?,
            Field::RequestLatency => {
                let ms = value.to_f64().map_err(|r| DecodeError::field("latencies.request", r))?;
                self.ev.duration_ns = ms.and_then(ms_to_ns);
            }
            Field::RouteName => self.route_name = text(value, "route.name")?,
            Field::ServiceName => self.ev.service_name = text(value, "service.name")?,
            Field::ConsumerId => self.consumer_id = text(value, "consumer.id")?,
            Field::ConsumerUsername => {
                self.consumer_username = text(value, "consumer.username")?;
            }
            Field::ConsumerCustomId => {
                self.consumer_custom_id = text(value, "consumer.custom_id")?;
            }
            Field::EntityId => {
                self.authenticated_entity = text(value, "authenticated_entity.id")?;
            }
        }
        Ok(())
    }

    /// Reads the value of `key` in the object `kind` with the full parser.
    fn member<A: MapAccess<'de>>(
        &mut self,
        kind: Kind,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match slot(kind, key.as_bytes()) {
            Slot::Section(inner) => map.next_value_seed(Section { log: self, kind: inner })?,
            Slot::Value(field) => {
                let value = map.next_value::<Scalar<'de>>()?;
                if let Err(e) = self.store(field, value) {
                    return Err(self.stop(e));
                }
            }
            Slot::Headers => {
                let headers = map.next_value::<HeaderMap>()?;
                if let Some(unfit) = headers.unfit {
                    return Err(self.fail("request.headers", unfit));
                }
                self.ev.headers = headers.items;
            }
            Slot::Querystring => self.querystring = map.next_value()?,
            Slot::RoutePaths => self.route_paths = map.next_value()?,
            Slot::Skip => map.next_value_seed(Skip(kind.depth() + 1))?,
        }
        Ok(())
    }

    /// Reads the members of the object `kind`, entered last, with the fast reader. Reads each
    /// value as [`KongLog::member`] does; gives up on any value that does not fit.
    fn fast_members(&mut self, sc: &mut Scanner<'de>, kind: Kind) -> Fast<()> {
        while let Some(key) = sc.next_key_bytes()? {
            match slot(kind, key) {
                Slot::Section(inner) => {
                    // A null section is an absent one; anything else but an object does not fit.
                    if !sc.null()? {
                        sc.begin_object()?;
                        if inner == Kind::Request {
                            self.has_request = true;
                        }
                        self.fast_members(sc, inner)?;
                    }
                }
                Slot::Value(field) => {
                    // A second URI or route name could bring back a member skipped as unused.
                    if (field == Field::Uri && self.querystring_skipped)
                        || (field == Field::RouteName && self.route_paths_skipped)
                    {
                        return Err(Bail);
                    }
                    let value = sc.scalar()?;
                    self.store(field, value).map_err(|_| Bail)?;
                }
                Slot::Headers => {
                    if sc.null()? {
                        self.ev.headers = Vec::new();
                    } else {
                        sc.begin_object()?;
                        let mut items = Vec::with_capacity(8);
                        while let Some(name) = sc.next_key()? {
                            // Header values are strings: those are read as `into_text` reads
                            // them, without its call.
                            let value = match sc.scalar()? {
                                Scalar::Str(s) => {
                                    (!s.is_empty() && s != "-").then(|| s.into_owned())
                                }
                                other => other.into_text().map_err(|_| Bail)?,
                            };
                            if let Some(value) = value {
                                items.push((header_name(name), value));
                            }
                        }
                        self.ev.headers = items;
                    }
                }
                // Kong writes the URI before the decoded arguments: once the URI's path and query
                // are known, `finish` has no use for the arguments, which are skipped unread.
                Slot::Querystring if self.ev.url_query.is_some() && self.ev.url_path.is_some() => {
                    sc.skip_value()?;
                    self.querystring_skipped = true;
                }
                Slot::Querystring => {
                    self.querystring = match sc.peek()? {
                        b'n' => {
                            sc.null()?;
                            None
                        }
                        b'{' => {
                            sc.begin_object()?;
                            let mut args = Vec::new();
                            while let Some(name) = sc.next_key()? {
                                args.push((Cow::Borrowed(name), sc.scalar()?));
                            }
                            Some(Nested::Object(Pairs(args)))
                        }
                        _ => {
                            sc.skip_value()?;
                            Some(Nested::NotObject)
                        }
                    };
                }
                // A named route's paths are not used (Kong writes the name first).
                Slot::RoutePaths if self.route_name.is_some() => {
                    sc.skip_value()?;
                    self.route_paths_skipped = true;
                }
                Slot::RoutePaths => {
                    self.route_paths = if sc.null()? { None } else { Some(sc.scalar()?) };
                }
                Slot::Skip => sc.skip_value()?,
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<EventData, DecodeError> {
        // Detection tries every decoder on a sample: a JSON line without Kong's shape must
        // fail here rather than become an event of empty fields.
        if !self.has_request {
            return Err(DecodeError::field("request", "missing: not a Kong log object"));
        }
        let Some(timestamp_ms) = self.started_at_ms else {
            return Err(DecodeError::field("started_at", "missing"));
        };
        // Completed in place and moved out once: the event is large.
        let ev = &mut self.ev;
        ev.timestamp_ms = timestamp_ms;
        ev.dataset = DATASET;
        for (name, value) in &ev.headers {
            match name.as_str() {
                // The Host header is the domain the client asked for.
                "host" => ev.url_domain = Some(domain_of_host(value).to_owned().into()),
                "user-agent" => ev.user_agent = Some(value.clone().into()),
                "referer" => ev.referrer = Some(value.clone().into()),
                _ => {}
            }
        }
        // The URL repeats what the URI and the Host header say; it fills what they left out.
        if ev.url_path.is_none() || ev.url_domain.is_none() {
            if let Some(url) = self.url.as_deref().filter(|u| !u.is_empty()) {
                let parts =
                    split_url(url).ok_or(DecodeError::field("request.url", "expected a URL"))?;
                if ev.url_path.is_none() {
                    ev.url_path = parts.path.map(Into::into);
                    ev.url_query = parts.query.map(Into::into);
                }
                if ev.url_domain.is_none() {
                    ev.url_domain = parts.domain.map(Into::into);
                }
            }
        }
        if ev.url_query.is_none() {
            const FIELD: &str = "request.querystring";
            match self.querystring {
                Some(Nested::Object(args)) => {
                    ev.url_query = (rebuild_query(args)
                        .map_err(|r| DecodeError::field(FIELD, r))?)
                    .map(Into::into);
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
            (Some(name), _) => Some(name.clone().into()),
            (None, Some(paths)) => single_path(paths).map(Into::into),
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
        let count = labels.iter().filter(|&&l| l).count();
        if ev.labels.is_empty() {
            ev.labels = Vec::with_capacity(count);
        } else {
            ev.labels.reserve(count);
        }
        if let Some(name) = self.route_name {
            ev.labels.push(("kong.route".into(), name));
        }
        ev.consumer = (self
            .consumer_username
            .or(self.consumer_custom_id)
            .or_else(|| self.consumer_id.clone()))
        .map(Into::into);
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
        Ok(self.ev)
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
                    if let Some(t) = other.into_single_text::<String>()? {
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
    use proptest::prelude::*;

    const FILE_LOG: &str = include_str!("../tests/data/json/kong/kong-file-log.ndjson");
    const DOCS: &str = include_str!("../tests/cases/kong-docs-samples/input");
    const EDGE: &str = include_str!("../tests/cases/kong-edge/input");
    const DETECT: &str = include_str!("../tests/cases/kong-detect/input");

    /// The line decoded by the full parser alone.
    fn decode_full(text: &str) -> Result<EventData, DecodeError> {
        read_full(text)?.finish()
    }

    /// The line decoded by the fast reader alone, `None` when it gives up.
    fn decode_fast(text: &str) -> Option<Result<EventData, DecodeError>> {
        let mut log = KongLog::default();
        read_fast(text, &mut log).ok().map(|()| log.finish())
    }

    /// Lines that exercise every member read, with values of each shape a Kong line holds.
    fn sample_lines() -> Vec<String> {
        let mut lines: Vec<String> = [FILE_LOG, DOCS, EDGE, DETECT]
            .iter()
            .flat_map(|t| t.lines())
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        lines.push(
            r#"{"request":{"id":"r1","method":"GET","uri":"/a\/b?x=1","url":"http://h:1/p","size":"12","querystring":{"k":["a","b"],"f":true,"o":{"x":1},"n":null,"z":-1.5},"headers":{"Host":"h:1","X-List":["a",["b"],null,""],"x-num":7,"x-neg":-3,"x-f":0.25,"x-t":true,"x-esc":"a\"b\\c\td","x-nul":null}},"response":{"status":"404","size":1.0},"latencies":{"request":0.5},"route":{"paths":"/one"},"service":{"name":["svc"]},"consumer":{"custom_id":"c","id":"i"},"authenticated_entity":{"id":"e"},"started_at":1700000000000.0,"client_ip":"[2001:db8::1]","workspace_name":"default","tries":[{"a":[1,[2,{"b":{}}]]},[],{}],"x":[true,false,null,-0,0.0,12345678901234567890]} "#
                .to_owned(),
        );
        lines
    }

    /// Every member read, as a plain table: what [`slot`] must answer.
    const MEMBERS: &[(Kind, &str, Slot)] = &[
        (Kind::Top, "request", Slot::Section(Kind::Request)),
        (Kind::Top, "response", Slot::Section(Kind::Response)),
        (Kind::Top, "latencies", Slot::Section(Kind::Latencies)),
        (Kind::Top, "route", Slot::Section(Kind::Route)),
        (Kind::Top, "service", Slot::Section(Kind::Service)),
        (Kind::Top, "consumer", Slot::Section(Kind::Consumer)),
        (Kind::Top, "authenticated_entity", Slot::Section(Kind::Entity)),
        (Kind::Top, "started_at", Slot::Value(Field::StartedAt)),
        (Kind::Top, "client_ip", Slot::Value(Field::ClientIp)),
        (Kind::Top, "workspace_name", Slot::Value(Field::Workspace)),
        (Kind::Request, "method", Slot::Value(Field::Method)),
        (Kind::Request, "uri", Slot::Value(Field::Uri)),
        (Kind::Request, "url", Slot::Value(Field::Url)),
        (Kind::Request, "querystring", Slot::Querystring),
        (Kind::Request, "size", Slot::Value(Field::RequestSize)),
        (Kind::Request, "headers", Slot::Headers),
        (Kind::Request, "id", Slot::Value(Field::RequestId)),
        (Kind::Response, "status", Slot::Value(Field::Status)),
        (Kind::Response, "size", Slot::Value(Field::ResponseSize)),
        (Kind::Latencies, "request", Slot::Value(Field::RequestLatency)),
        (Kind::Route, "name", Slot::Value(Field::RouteName)),
        (Kind::Route, "paths", Slot::RoutePaths),
        (Kind::Service, "name", Slot::Value(Field::ServiceName)),
        (Kind::Consumer, "id", Slot::Value(Field::ConsumerId)),
        (Kind::Consumer, "username", Slot::Value(Field::ConsumerUsername)),
        (Kind::Consumer, "custom_id", Slot::Value(Field::ConsumerCustomId)),
        (Kind::Entity, "id", Slot::Value(Field::EntityId)),
    ];

    const KINDS: [Kind; 8] = [
        Kind::Top,
        Kind::Request,
        Kind::Response,
        Kind::Latencies,
        Kind::Route,
        Kind::Service,
        Kind::Consumer,
        Kind::Entity,
    ];

    fn slot_in_table(kind: Kind, key: &[u8]) -> Slot {
        MEMBERS
            .iter()
            .find(|(k, name, _)| *k == kind && name.as_bytes() == key)
            .map_or(Slot::Skip, |&(_, _, slot)| slot)
    }

    #[test]
    fn each_member_goes_to_its_slot_in_every_object() {
        for kind in KINDS {
            for &(_, name, _) in MEMBERS {
                let name = name.as_bytes();
                assert_eq!(slot(kind, name), slot_in_table(kind, name), "{kind:?} {name:?}");
                // Near misses: a byte changed, dropped or added, at either end or inside.
                for at in 0..name.len() {
                    let mut changed = name.to_vec();
                    changed[at] ^= 0x20;
                    assert_eq!(slot(kind, &changed), Slot::Skip, "{kind:?} {changed:?}");
                    let mut dropped = name.to_vec();
                    dropped.remove(at);
                    assert_eq!(slot(kind, &dropped), slot_in_table(kind, &dropped));
                }
                for extra in [&b"x"[..], b"\\"] {
                    let longer = [name, extra].concat();
                    assert_eq!(slot(kind, &longer), slot_in_table(kind, &longer));
                    let longer = [extra, name].concat();
                    assert_eq!(slot(kind, &longer), slot_in_table(kind, &longer));
                }
            }
            assert_eq!(slot(kind, b""), Slot::Skip);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// Any key, mostly made of the letters of the names read, goes where the table says.
        #[test]
        fn any_key_goes_where_the_table_says(key in "[a-z_]{0,21}", kind in 0usize..8) {
            let kind = KINDS[kind];
            prop_assert_eq!(slot(kind, key.as_bytes()), slot_in_table(kind, key.as_bytes()), "{}", key);
        }
    }

    #[test]
    fn the_fast_reader_reads_real_kong_lines() {
        // Lines the fast reader must take, or the decoder is as slow as the full parser.
        let real: Vec<String> =
            [FILE_LOG, DOCS].iter().flat_map(|t| t.lines()).map(str::to_owned).collect();
        assert!(real.len() >= 4);
        for line in real.iter().chain(sample_lines().last()) {
            let fast = decode_fast(line).expect("the fast reader gives up on a plain Kong line");
            assert_eq!(fast, decode_full(line), "{line}");
        }
    }

    #[test]
    fn both_readers_agree_on_the_sample_lines() {
        for line in sample_lines() {
            let full = decode_full(&line);
            if let Some(fast) = decode_fast(&line) {
                assert_eq!(fast, full, "{line}");
            }
            assert_eq!(decode(&line), full, "{line}");
        }
    }

    /// Pieces spliced into sample lines: tokens the fast reader must read exactly as the full
    /// parser does, or give up on.
    fn piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "\\u0041",
            "\\",
            "\\n",
            "\"",
            ",",
            ":",
            "{",
            "}",
            "[",
            "]",
            "null",
            "true",
            "1e3",
            "-0",
            "0.5",
            "01",
            "-",
            " ",
            "\t",
            "\u{1}",
            "é",
            "[]",
            "{}",
            r#""request""#,
            r#""started_at":1,"#,
            r#""headers":{"a":{}},"#,
            r#""uri":7,"#,
            r#""status":1e999,"#,
            r#""size":-1,"#,
            r#""querystring":"q","#,
            r#""paths":["/a","/b"],"#,
            "99999999999999999999",
        ])
    }

    /// Short runs of tokens, keys the decoder reads among them: mostly invalid, in every way a
    /// token can be out of place.
    fn token_soup() -> impl Strategy<Value = String> {
        let token = prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            r#""method""#,
            r#""headers""#,
            r#""paths""#,
            r#""querystring""#,
            r#""k""#,
            r#""GET""#,
            "1",
            "null",
            "true",
        ]);
        prop::collection::vec(token, 0..10).prop_map(|tokens| tokens.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// Token runs in each object the decoder reads member by member: whatever the fast
        /// reader reads, the full parser reads to the same event or error.
        #[test]
        fn the_fast_reader_reads_objects_as_the_full_parser(soup in token_soup(), place in 0usize..6) {
            let line = match place {
                0 => format!(r#"{{"started_at":1,"request":{{}},{soup}}}"#),
                1 => format!(r#"{{"request":{{{soup}}},"started_at":1}}"#),
                2 => format!(r#"{{"request":{{"headers":{{{soup}}}}},"started_at":1}}"#),
                3 => format!(r#"{{"request":{{"querystring":{{{soup}}}}},"started_at":1}}"#),
                4 => format!(r#"{{"request":{{}},"route":{{"paths":[{soup}]}},"started_at":1}}"#),
                _ => format!(r#"{{"request":{{"method":{soup}}},"started_at":1}}"#),
            };
            let full = decode_full(&line);
            if let Some(fast) = decode_fast(&line) {
                prop_assert_eq!(fast, full.clone(), "{}", line);
            }
            prop_assert_eq!(decode(&line), full, "{}", line);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        /// Whenever the fast reader reads a line, the event or error is the full parser's; and
        /// the decoder's answer is always the full parser's.
        #[test]
        fn the_fast_reader_agrees_with_the_full_parser(
            which in any::<prop::sample::Index>(),
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), any::<bool>(), 0u8..3, piece()),
                1..4,
            ),
        ) {
            let lines = sample_lines();
            let mut line = lines[which.index(lines.len())].clone();
            for (at, structural, op, piece) in edits {
                // Half of the edits land on a structural byte, where the JSON breaks in the
                // ways a reader must notice.
                let marks: Vec<usize> = line.match_indices(['{', '}', '[', ']', ',', ':', '"']).map(|(i, _)| i).collect();
                let mut at = if structural && !marks.is_empty() {
                    marks[at.index(marks.len())]
                } else {
                    at.index(line.len() + 1)
                };
                while !line.is_char_boundary(at) {
                    at -= 1;
                }
                match op {
                    0 => line.insert_str(at, piece),
                    1 => {
                        let mut end = (at + piece.len()).min(line.len());
                        while !line.is_char_boundary(end) {
                            end -= 1;
                        }
                        line.replace_range(at..end, piece);
                    }
                    _ => {
                        let mut end = (at + 1).min(line.len());
                        while !line.is_char_boundary(end) {
                            end += 1;
                        }
                        line.replace_range(at..end, "");
                    }
                }
            }
            let full = decode_full(&line);
            if let Some(fast) = decode_fast(&line) {
                prop_assert_eq!(fast, full.clone(), "{}", line);
            }
            prop_assert_eq!(decode(&line), full, "{}", line);
        }
    }

    fn decode(line: &str) -> Result<EventData, DecodeError> {
        KongDecoder::new().decode(line.as_bytes())
    }

    #[test]
    fn members_skipped_as_unused_are_read_when_a_later_member_needs_them() {
        for line in [
            // The arguments, skipped while the URI had a query, are the query of the second.
            r#"{"request":{"uri":"/a?x=1","querystring":{"y":"2"},"uri":"/b"},"started_at":1}"#,
            r#"{"request":{"uri":"/a?x=1","querystring":"bad","uri":"/b"},"started_at":1}"#,
            r#"{"request":{"uri":"/a?x=1","querystring":{"y":"2"},"uri":"/b?z=3"},"started_at":1}"#,
            // Without a path, the URL may replace the query: the arguments are read.
            r#"{"request":{"uri":"?x=1","url":"http://h/p","querystring":{"y":"2"}},"started_at":1}"#,
            r#"{"request":{"uri":"/a?x=1","querystring":"bad"},"started_at":1}"#,
            // The paths, skipped while the route had a name, serve when the name goes.
            r#"{"request":{},"route":{"name":"r","paths":["/p"],"name":null},"started_at":1}"#,
            r#"{"request":{},"route":{"name":"r","paths":["/p"],"name":"s"},"started_at":1}"#,
            r#"{"request":{},"route":{"name":"r","paths":{"x":[1]}},"started_at":1}"#,
            r#"{"request":{},"route":{"paths":["/p"],"name":"r"},"started_at":1}"#,
        ] {
            let full = decode_full(line);
            if let Some(fast) = decode_fast(line) {
                assert_eq!(fast, full, "{line}");
            }
            assert_eq!(decode(line), full, "{line}");
        }
        let ev = decode(
            r#"{"request":{"uri":"/a?x=1","querystring":{"y":"2"},"uri":"/b"},"started_at":1}"#,
        )
        .unwrap();
        assert_eq!(ev.url_query.as_deref(), Some("y=2"));
        let ev = decode(
            r#"{"request":{},"route":{"name":"r","paths":["/p"],"name":null},"started_at":1}"#,
        )
        .unwrap();
        assert_eq!(ev.http_route.as_deref(), Some("/p"));
        // Kong's own order: both skipped by the fast reader, to the full parser's event.
        let line = r#"{"request":{"uri":"/a?x=1","querystring":{"x":"1"}},"route":{"name":"r","paths":["/a"]},"started_at":1}"#;
        assert_eq!(decode_fast(line), Some(decode_full(line)));
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
