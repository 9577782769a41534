//! Field paths: the ECS names rules and mappings use, resolved once into [`Field`] so that
//! reading a field on the hot path is a `match`, not a string lookup.

use crate::event::EventData;
use std::net::IpAddr;

/// A field of an event, by its ECS name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    Timestamp,
    Dataset,
    SourceIp,
    SourcePort,
    /// `source.network`: the client's /24 (IPv4) or /48 (IPv6) network, computed.
    SourceNetwork,
    CountryIsoCode,
    CityName,
    AsNumber,
    AsOrganization,
    UserName,
    UserId,
    UserRoles,
    TokenId,
    TokenIssuer,
    ApiKeyId,
    Consumer,
    SessionId,
    HttpMethod,
    HttpVersion,
    UrlDomain,
    UrlPath,
    UrlQuery,
    HttpRoute,
    OperationId,
    ServiceName,
    StatusCode,
    RequestBytes,
    ResponseBytes,
    ResponseRecords,
    DurationNs,
    UserAgent,
    UserAgentClass,
    Referrer,
    EventAction,
    EventOutcome,
    /// `http.request.headers.<name>` (name lower-case).
    Header(Box<str>),
    /// `labels.<name>`.
    Label(Box<str>),
}

/// Fixed fields with their ECS names, in the order they are documented.
pub const FIXED_FIELDS: &[(&str, Field)] = &[
    ("@timestamp", Field::Timestamp),
    ("event.dataset", Field::Dataset),
    ("source.ip", Field::SourceIp),
    ("source.port", Field::SourcePort),
    ("source.network", Field::SourceNetwork),
    ("source.geo.country_iso_code", Field::CountryIsoCode),
    ("source.geo.city_name", Field::CityName),
    ("source.as.number", Field::AsNumber),
    ("source.as.organization.name", Field::AsOrganization),
    ("user.name", Field::UserName),
    ("user.id", Field::UserId),
    ("user.roles", Field::UserRoles),
    ("token.id", Field::TokenId),
    ("token.issuer", Field::TokenIssuer),
    ("api_key.id", Field::ApiKeyId),
    ("consumer.name", Field::Consumer),
    ("session.id", Field::SessionId),
    ("http.request.method", Field::HttpMethod),
    ("http.version", Field::HttpVersion),
    ("url.domain", Field::UrlDomain),
    ("url.path", Field::UrlPath),
    ("url.query", Field::UrlQuery),
    ("http.route", Field::HttpRoute),
    ("http.operation_id", Field::OperationId),
    ("service.name", Field::ServiceName),
    ("http.response.status_code", Field::StatusCode),
    ("http.request.body.bytes", Field::RequestBytes),
    ("http.response.body.bytes", Field::ResponseBytes),
    ("http.response.records", Field::ResponseRecords),
    ("event.duration", Field::DurationNs),
    ("user_agent.original", Field::UserAgent),
    ("user_agent.class", Field::UserAgentClass),
    ("http.request.referrer", Field::Referrer),
    ("event.action", Field::EventAction),
    ("event.outcome", Field::EventOutcome),
];

const HEADER_PREFIX: &str = "http.request.headers.";
const LABEL_PREFIX: &str = "labels.";

impl Field {
    /// Resolves an ECS field name; `None` for a name apiwatch does not know.
    pub fn parse(name: &str) -> Option<Field> {
        if let Some((_, f)) = FIXED_FIELDS.iter().find(|(n, _)| *n == name) {
            return Some(f.clone());
        }
        if let Some(h) = name.strip_prefix(HEADER_PREFIX) {
            if !h.is_empty() {
                return Some(Field::Header(h.to_ascii_lowercase().into()));
            }
        }
        if let Some(l) = name.strip_prefix(LABEL_PREFIX) {
            if !l.is_empty() {
                return Some(Field::Label(l.into()));
            }
        }
        None
    }

    /// The ECS name of this field.
    pub fn name(&self) -> String {
        match self {
            Field::Header(h) => format!("{HEADER_PREFIX}{h}"),
            Field::Label(l) => format!("{LABEL_PREFIX}{l}"),
            f => FIXED_FIELDS
                .iter()
                .find(|(_, g)| g == f)
                .map(|(n, _)| (*n).to_string())
                .expect("every fixed field is listed in FIXED_FIELDS"),
        }
    }

    /// All names accepted by [`Field::parse`] for fixed fields (for error messages).
    pub fn known_names() -> impl Iterator<Item = &'static str> {
        FIXED_FIELDS.iter().map(|(n, _)| *n)
    }
}

/// A field's value on one event, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Absent,
    Str(&'a str),
    Int(i64),
    Ip(IpAddr),
    /// The network of an address: the address masked to `prefix_len` bits.
    Net(IpAddr, u8),
    List(&'a [String]),
}

impl Value<'_> {
    #[inline]
    pub fn is_absent(&self) -> bool {
        matches!(self, Value::Absent)
    }
    /// Appends the value as text (for group keys, distinct values and output).
    /// Returns false when the value is absent (and appends nothing).
    pub fn write_to(&self, out: &mut String) -> bool {
        use std::fmt::Write;
        match self {
            Value::Absent => return false,
            Value::Str(s) => out.push_str(s),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Ip(ip) => {
                let _ = write!(out, "{ip}");
            }
            Value::Net(ip, len) => {
                let _ = write!(out, "{ip}/{len}");
            }
            Value::List(l) => {
                for (i, s) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(s);
                }
            }
        }
        true
    }
    /// The value as text, `None` when absent.
    pub fn to_text(&self) -> Option<String> {
        let mut s = String::new();
        self.write_to(&mut s).then_some(s)
    }
    /// The value as an integer when it is one (or a string holding one).
    #[inline]
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Str(s) => s.parse().ok(),
            _ => None,
        }
    }
}

/// The network (/24 for IPv4, /48 for IPv6) an address belongs to.
pub fn network_of(ip: IpAddr) -> (IpAddr, u8) {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            (IpAddr::V4([o[0], o[1], o[2], 0].into()), 24)
        }
        IpAddr::V6(v6) => {
            let mut s = v6.segments();
            s[3..].iter_mut().for_each(|x| *x = 0);
            (IpAddr::V6(s.into()), 48)
        }
    }
}

fn opt_str(s: &Option<crate::Text>) -> Value<'_> {
    s.as_deref().map_or(Value::Absent, Value::Str)
}

fn opt_int<T: Into<i64> + Copy>(n: Option<T>) -> Value<'static> {
    n.map_or(Value::Absent, |n| Value::Int(n.into()))
}

fn opt_u64(n: Option<u64>) -> Value<'static> {
    n.map_or(Value::Absent, |n| Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

impl EventData {
    /// Reads one field.
    ///
    /// The fields read on every event (plain members of the event) are read here; the others
    /// (geolocation, the computed network, headers, labels) in [`EventData::get_other`], so
    /// that this function stays small enough to need no stack frame of its own: rules read
    /// dozens of fields per event.
    #[inline]
    pub fn get(&self, field: &Field) -> Value<'_> {
        match field {
            Field::Timestamp => Value::Int(self.timestamp_ms),
            Field::SourceIp => self.source_ip.map_or(Value::Absent, Value::Ip),
            Field::SourcePort => opt_int(self.source_port),
            Field::UserName => opt_str(&self.user_name),
            Field::UserId => opt_str(&self.user_id),
            Field::UserRoles => {
                if self.user_roles.is_empty() {
                    Value::Absent
                } else {
                    Value::List(&self.user_roles)
                }
            }
            Field::TokenId => opt_str(&self.token_id),
            Field::TokenIssuer => opt_str(&self.token_issuer),
            Field::ApiKeyId => opt_str(&self.api_key_id),
            Field::Consumer => opt_str(&self.consumer),
            Field::SessionId => opt_str(&self.session_id),
            Field::HttpMethod => opt_str(&self.http_method),
            Field::HttpVersion => opt_str(&self.http_version),
            Field::UrlDomain => opt_str(&self.url_domain),
            Field::UrlPath => opt_str(&self.url_path),
            Field::UrlQuery => opt_str(&self.url_query),
            Field::HttpRoute => opt_str(&self.http_route),
            Field::OperationId => opt_str(&self.operation_id),
            Field::ServiceName => opt_str(&self.service_name),
            Field::StatusCode => opt_int(self.status_code),
            Field::RequestBytes => opt_u64(self.request_bytes),
            Field::ResponseBytes => opt_u64(self.response_bytes),
            Field::ResponseRecords => opt_u64(self.response_records),
            Field::DurationNs => opt_u64(self.duration_ns),
            Field::UserAgent => opt_str(&self.user_agent),
            Field::UserAgentClass => {
                self.user_agent_class.map_or(Value::Absent, |c| Value::Str(c.as_str()))
            }
            Field::Referrer => opt_str(&self.referrer),
            Field::EventAction => opt_str(&self.event_action),
            Field::EventOutcome => {
                self.event_outcome.map_or(Value::Absent, |o| Value::Str(o.as_str()))
            }
            Field::Dataset
            | Field::SourceNetwork
            | Field::CountryIsoCode
            | Field::CityName
            | Field::AsNumber
            | Field::AsOrganization
            | Field::Header(_)
            | Field::Label(_) => self.get_other(field),
        }
    }

    /// Whether a field has a value: the same as `!self.get(field).is_absent()`, without
    /// building the value (rules' gates ask it of a dozen fields per event, and the computed
    /// network needs no computing to be known present).
    #[inline]
    pub fn has(&self, field: &Field) -> bool {
        match field {
            Field::Timestamp => true,
            Field::SourceIp | Field::SourceNetwork => self.source_ip.is_some(),
            Field::SourcePort => self.source_port.is_some(),
            Field::UserName => self.user_name.is_some(),
            Field::UserId => self.user_id.is_some(),
            Field::UserRoles => !self.user_roles.is_empty(),
            Field::TokenId => self.token_id.is_some(),
            Field::TokenIssuer => self.token_issuer.is_some(),
            Field::ApiKeyId => self.api_key_id.is_some(),
            Field::Consumer => self.consumer.is_some(),
            Field::SessionId => self.session_id.is_some(),
            Field::HttpMethod => self.http_method.is_some(),
            Field::HttpVersion => self.http_version.is_some(),
            Field::UrlDomain => self.url_domain.is_some(),
            Field::UrlPath => self.url_path.is_some(),
            Field::UrlQuery => self.url_query.is_some(),
            Field::HttpRoute => self.http_route.is_some(),
            Field::OperationId => self.operation_id.is_some(),
            Field::ServiceName => self.service_name.is_some(),
            Field::StatusCode => self.status_code.is_some(),
            Field::RequestBytes => self.request_bytes.is_some(),
            Field::ResponseBytes => self.response_bytes.is_some(),
            Field::ResponseRecords => self.response_records.is_some(),
            Field::DurationNs => self.duration_ns.is_some(),
            Field::UserAgent => self.user_agent.is_some(),
            Field::UserAgentClass => self.user_agent_class.is_some(),
            Field::Referrer => self.referrer.is_some(),
            Field::EventAction => self.event_action.is_some(),
            Field::EventOutcome => self.event_outcome.is_some(),
            Field::Dataset
            | Field::CountryIsoCode
            | Field::CityName
            | Field::AsNumber
            | Field::AsOrganization
            | Field::Header(_)
            | Field::Label(_) => !self.get_other(field).is_absent(),
        }
    }

    /// The fields [`EventData::get`] does not read itself.
    #[inline(never)]
    fn get_other(&self, field: &Field) -> Value<'_> {
        let geo = self.geo.as_deref();
        match field {
            Field::Dataset => {
                if self.dataset.is_empty() {
                    Value::Absent
                } else {
                    Value::Str(self.dataset)
                }
            }
            Field::SourceNetwork => self.source_ip.map_or(Value::Absent, |ip| {
                let (net, len) = network_of(ip);
                Value::Net(net, len)
            }),
            Field::CountryIsoCode => {
                geo.and_then(|g| g.country_iso_code.as_deref()).map_or(Value::Absent, Value::Str)
            }
            Field::CityName => {
                geo.and_then(|g| g.city_name.as_deref()).map_or(Value::Absent, Value::Str)
            }
            Field::AsNumber => opt_int(geo.and_then(|g| g.as_number)),
            Field::AsOrganization => {
                geo.and_then(|g| g.as_organization.as_deref()).map_or(Value::Absent, Value::Str)
            }
            Field::Header(h) => self.header(h).map_or(Value::Absent, Value::Str),
            Field::Label(l) => self.label(l).map_or(Value::Absent, Value::Str),
            other => self.get(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixed_name_round_trips() {
        for (name, field) in FIXED_FIELDS {
            assert_eq!(Field::parse(name).as_ref(), Some(field));
            assert_eq!(&field.name(), name);
        }
        assert_eq!(
            Field::parse("http.request.headers.X-Api-Key"),
            Some(Field::Header("x-api-key".into()))
        );
        assert_eq!(Field::parse("labels.tenant"), Some(Field::Label("tenant".into())));
        assert_eq!(Field::parse("no.such.field"), None);
    }

    /// `has` says present exactly when `get` gives a value, for every field, on events with
    /// every field set, with none, and with empty values.
    #[test]
    fn has_agrees_with_get() {
        let full = EventData {
            source_ip: Some("203.0.113.77".parse().unwrap()),
            source_port: Some(443),
            user_name: Some("alice".into()),
            user_id: Some(String::new().into()),
            user_roles: vec!["admin".into()],
            token_id: Some("t".into()),
            token_issuer: Some("i".into()),
            api_key_id: Some("k".into()),
            consumer: Some("c".into()),
            session_id: Some("s".into()),
            http_method: Some("GET".into()),
            http_version: Some("1.1".into()),
            url_domain: Some("example.org".into()),
            url_path: Some("/".into()),
            url_query: Some("a=1".into()),
            http_route: Some("/".into()),
            operation_id: Some("op".into()),
            service_name: Some("svc".into()),
            status_code: Some(200),
            request_bytes: Some(1),
            response_bytes: Some(u64::MAX),
            response_records: Some(0),
            duration_ns: Some(5),
            user_agent: Some("curl/8".into()),
            user_agent_class: Some(crate::UaClass::Browser),
            referrer: Some("-".into()),
            event_action: Some("login".into()),
            event_outcome: Some(crate::Outcome::Failure),
            dataset: "nginx.access",
            headers: vec![("x-tenant".into(), String::new())],
            labels: vec![("env".into(), "prod".into())],
            geo: Some(std::sync::Arc::new(crate::Geo {
                country_iso_code: Some("FR".into()),
                city_name: Some("Paris".into()),
                location: Some((48.8, 2.3)),
                as_number: Some(3215),
                as_organization: Some("Orange".into()),
            })),
            ..Default::default()
        };
        let empty = EventData { dataset: "", ..Default::default() };
        let empty_geo = EventData {
            geo: Some(std::sync::Arc::new(crate::Geo::default())),
            ..Default::default()
        };
        let mut fields: Vec<Field> = FIXED_FIELDS.iter().map(|(_, f)| f.clone()).collect();
        fields.extend([
            Field::Header("x-tenant".into()),
            Field::Header("x-other".into()),
            Field::Label("env".into()),
            Field::Label("zone".into()),
        ]);
        let (mut present, mut absent) = (0, 0);
        for ev in [&full, &empty, &empty_geo] {
            for f in &fields {
                let has = !ev.get(f).is_absent();
                assert_eq!(ev.has(f), has, "{f:?}");
                if has {
                    present += 1;
                } else {
                    absent += 1;
                }
            }
        }
        assert!(present > 30 && absent > 60, "{present} {absent}");
    }

    #[test]
    fn source_network_masks_the_host_part() {
        let ev =
            EventData { source_ip: Some("203.0.113.77".parse().unwrap()), ..Default::default() };
        assert_eq!(ev.get(&Field::SourceNetwork).to_text().unwrap(), "203.0.113.0/24");
        let ev = EventData {
            source_ip: Some("2001:db8:1:2:3::1".parse().unwrap()),
            ..Default::default()
        };
        assert_eq!(ev.get(&Field::SourceNetwork).to_text().unwrap(), "2001:db8:1::/48");
    }
}
