//! The event: one API call or one security-relevant application event.
//!
//! Decoders fill an [`EventData`]; enrichment adds to it; redaction turns it into an [`Event`],
//! the only form that detection, storage and output accept.

use std::net::IpAddr;
use std::sync::Arc;

/// Text of an event field: up to 24 bytes inline (methods, versions, routes, most paths and
/// names), longer on the heap, so that most fields cost no allocation.
pub type Text = compact_str::CompactString;

/// Where an event came from: the input (by index in the run) and its line (1-based).
/// Used for deterministic ordering of events with equal time and for error messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub input: u32,
    pub line: u64,
}

/// `event.outcome` in ECS terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Success,
    Failure,
    Unknown,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Unknown => "unknown",
        }
    }
    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            "unknown" => Some(Outcome::Unknown),
            _ => None,
        }
    }
}

/// The class of a user agent (`user_agent.class`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UaClass {
    Browser,
    MobileApp,
    /// HTTP libraries and command-line tools (curl, python-requests, Go-http-client, …).
    Library,
    /// Search-engine and well-known crawlers (Googlebot, bingbot, …).
    SearchBot,
    /// Security scanners and attack tools (sqlmap, nikto, nuclei, …).
    Scanner,
    /// Health checks and monitoring probes (kube-probe, ELB-HealthChecker, …).
    Monitor,
    /// Empty or `-`.
    Empty,
    Other,
}

impl UaClass {
    pub const ALL: [UaClass; 8] = [
        UaClass::Browser,
        UaClass::MobileApp,
        UaClass::Library,
        UaClass::SearchBot,
        UaClass::Scanner,
        UaClass::Monitor,
        UaClass::Empty,
        UaClass::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            UaClass::Browser => "browser",
            UaClass::MobileApp => "mobile-app",
            UaClass::Library => "library",
            UaClass::SearchBot => "search-bot",
            UaClass::Scanner => "scanner",
            UaClass::Monitor => "monitor",
            UaClass::Empty => "empty",
            UaClass::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<UaClass> {
        UaClass::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Location of an address (`source.geo.*`, `source.as.*`), shared between events of one
/// address through an `Arc` so that enrichment caches cost one pointer per event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Geo {
    pub country_iso_code: Option<String>,
    pub city_name: Option<String>,
    /// (latitude, longitude) in degrees.
    pub location: Option<(f64, f64)>,
    pub as_number: Option<u32>,
    pub as_organization: Option<String>,
}

/// The fields of an event, before or after redaction. Field names in comments are the ECS
/// names that rules, queries and JSON output use (see [`crate::field::Field`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventData {
    /// `@timestamp`, milliseconds since the Unix epoch (UTC).
    pub timestamp_ms: i64,
    /// `event.dataset`: the decoder that produced the event (`nginx.access`, `kong`, …).
    pub dataset: &'static str,
    /// `source.ip`: the client, after X-Forwarded-For resolution.
    pub source_ip: Option<IpAddr>,
    /// `source.port`.
    pub source_port: Option<u16>,
    /// `source.geo.*` and `source.as.*`.
    pub geo: Option<Arc<Geo>>,
    /// Raw X-Forwarded-For (or equivalent) as logged; resolved into `source_ip` by enrichment.
    pub forwarded_for: Option<Text>,
    /// `user.name`.
    pub user_name: Option<Text>,
    /// `user.id`.
    pub user_id: Option<Text>,
    /// `user.roles`.
    pub user_roles: Vec<String>,
    /// `token.id`: a JWT's `jti`, or the pseudonym of a bearer token. Never the token.
    pub token_id: Option<Text>,
    /// `token.issuer`: a JWT's `iss`.
    pub token_issuer: Option<Text>,
    /// `api_key.id`: pseudonym of an API key (or a gateway's key id). Never the key.
    pub api_key_id: Option<Text>,
    /// `consumer.name`: the API consumer (Kong consumer, API key owner, client id).
    pub consumer: Option<Text>,
    /// `session.id`: pseudonym of a session cookie.
    pub session_id: Option<Text>,
    /// `http.request.method`.
    pub http_method: Option<Text>,
    /// `http.version`.
    pub http_version: Option<Text>,
    /// `url.domain`: the Host the request was addressed to.
    pub url_domain: Option<Text>,
    /// `url.path`: the path as logged (percent-encoding kept).
    pub url_path: Option<Text>,
    /// `url.query`: the query string without `?` (percent-encoding kept).
    pub url_query: Option<Text>,
    /// `http.route`: the route template (`/users/{id}`).
    pub http_route: Option<Text>,
    /// `http.operation_id`: the OpenAPI operationId of the route, when known.
    pub operation_id: Option<Text>,
    /// `service.name`.
    pub service_name: Option<Text>,
    /// `http.response.status_code`.
    pub status_code: Option<u16>,
    /// `http.request.body.bytes` (or total request bytes when that is what the source logs).
    pub request_bytes: Option<u64>,
    /// `http.response.body.bytes`.
    pub response_bytes: Option<u64>,
    /// `http.response.records`: records returned, when the application logs it.
    pub response_records: Option<u64>,
    /// `event.duration` in nanoseconds (ECS unit).
    pub duration_ns: Option<u64>,
    /// `user_agent.original`.
    pub user_agent: Option<Text>,
    /// `user_agent.class`.
    pub user_agent_class: Option<UaClass>,
    /// `http.request.referrer`.
    pub referrer: Option<Text>,
    /// `event.action` (`user-login`, `role-change`, …).
    pub event_action: Option<Text>,
    /// `event.outcome`.
    pub event_outcome: Option<Outcome>,
    /// `http.request.headers.<name>`: request headers the source logged, names lower-case.
    pub headers: Vec<(String, String)>,
    /// `labels.<name>`: other source fields kept by a mapping, names as configured.
    pub labels: Vec<(String, String)>,
    /// Not a field: where the event came from.
    pub origin: Origin,
}

impl EventData {
    /// The first request header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
    /// The first label with this name.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A redacted event: the only event type detection, storage and output accept.
///
/// It can be built only by [`crate::redact::Redactor::redact`]; reading it is free
/// through `Deref<Target = EventData>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    data: EventData,
}

impl Event {
    /// Only the redactor seals events (module-private constructor, see `redact.rs`).
    pub(crate) fn sealed(data: EventData) -> Event {
        Event { data }
    }
    pub fn data(&self) -> &EventData {
        &self.data
    }
}

impl std::ops::Deref for Event {
    type Target = EventData;
    fn deref(&self) -> &EventData {
        &self.data
    }
}
