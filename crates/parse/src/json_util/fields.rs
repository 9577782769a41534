//! From JSON values to event fields: the conversion each field's type needs, with errors that
//! name the source field.

use super::value::{Scalar, Unfit};
use crate::DecodeError;
use apiwatch_core::event::{EventData, Geo, Outcome, UaClass};
use apiwatch_core::field::Field;
use std::sync::Arc;

/// Collects `source.geo.*` and `source.as.*` values until the event is complete.
#[derive(Default)]
pub(crate) struct GeoParts {
    geo: Option<Geo>,
}

impl GeoParts {
    pub(crate) fn get(&mut self) -> &mut Geo {
        self.geo.get_or_insert_with(Geo::default)
    }
    pub(crate) fn finish(self, ev: &mut EventData) {
        if let Some(g) = self.geo {
            ev.geo = Some(Arc::new(g));
        }
    }
}

/// Stores `value` into `field` of the event, converting it to the field's type. `place` names
/// the source field in errors. Absent values (null, "", "-") leave the field unset.
pub(crate) fn set_field(
    ev: &mut EventData,
    geo: &mut GeoParts,
    field: &Field,
    value: Scalar<'_>,
    place: &'static str,
) -> Result<(), DecodeError> {
    if value.is_absent() {
        return Ok(());
    }
    let bad = |reason: Unfit| DecodeError::field(place, reason);
    let text = |v: Scalar<'_>| v.into_single_text().map_err(bad);
    match field {
        // The time, the dataset and the network are never copied from a value: callers read
        // the time with its format, the dataset is the decoder's, the network is computed.
        Field::Timestamp | Field::Dataset | Field::SourceNetwork => {}
        Field::SourceIp => ev.source_ip = value.to_ip().map_err(bad)?,
        Field::SourcePort => ev.source_port = value.to_u16("port out of range").map_err(bad)?,
        Field::CountryIsoCode => geo.get().country_iso_code = text(value)?,
        Field::CityName => geo.get().city_name = text(value)?,
        Field::AsNumber => {
            geo.get().as_number = match value.to_u64().map_err(bad)? {
                Some(n) => Some(u32::try_from(n).map_err(|_| bad("AS number out of range"))?),
                None => None,
            }
        }
        Field::AsOrganization => geo.get().as_organization = text(value)?,
        Field::UserName => ev.user_name = text(value)?,
        Field::UserId => ev.user_id = text(value)?,
        Field::UserRoles => {
            ev.user_roles = match value {
                Scalar::List(items) => {
                    let mut roles = Vec::with_capacity(items.len());
                    for item in items {
                        roles.extend(item.into_single_text().map_err(bad)?);
                    }
                    roles
                }
                one => text(one)?.into_iter().collect(),
            }
        }
        Field::TokenId => ev.token_id = text(value)?,
        Field::TokenIssuer => ev.token_issuer = text(value)?,
        Field::ApiKeyId => ev.api_key_id = text(value)?,
        Field::Consumer => ev.consumer = text(value)?,
        Field::SessionId => ev.session_id = text(value)?,
        Field::HttpMethod => ev.http_method = text(value)?,
        Field::HttpVersion => ev.http_version = text(value)?.map(strip_http_prefix),
        Field::UrlDomain => ev.url_domain = text(value)?,
        Field::UrlPath => ev.url_path = text(value)?,
        Field::UrlQuery => ev.url_query = text(value)?,
        Field::HttpRoute => ev.http_route = text(value)?,
        Field::OperationId => ev.operation_id = text(value)?,
        Field::ServiceName => ev.service_name = text(value)?,
        Field::StatusCode => {
            ev.status_code = value.to_u16("status code out of range").map_err(bad)?
        }
        Field::RequestBytes => ev.request_bytes = value.to_u64().map_err(bad)?,
        Field::ResponseBytes => ev.response_bytes = value.to_u64().map_err(bad)?,
        Field::ResponseRecords => ev.response_records = value.to_u64().map_err(bad)?,
        Field::DurationNs => ev.duration_ns = value.to_u64().map_err(bad)?,
        Field::UserAgent => ev.user_agent = text(value)?,
        Field::UserAgentClass => {
            ev.user_agent_class = match text(value)? {
                Some(c) => Some(UaClass::parse(&c).ok_or_else(|| bad("unknown user-agent class"))?),
                None => None,
            }
        }
        Field::Referrer => ev.referrer = text(value)?,
        Field::EventAction => ev.event_action = text(value)?,
        Field::EventOutcome => {
            ev.event_outcome = match text(value)? {
                Some(o) => Some(
                    parse_outcome(&o).ok_or_else(|| bad("expected success, failure or unknown"))?,
                ),
                None => None,
            }
        }
        Field::Header(name) => {
            if let Some(v) = value.into_text().map_err(bad)? {
                ev.headers.push((name.to_string(), v));
            }
        }
        Field::Label(name) => {
            if let Some(v) = value.into_text().map_err(bad)? {
                ev.labels.push((name.to_string(), v));
            }
        }
    }
    Ok(())
}

/// `event.outcome`, case-insensitively (some loggers write `FAILURE`).
pub(crate) fn parse_outcome(s: &str) -> Option<Outcome> {
    [Outcome::Success, Outcome::Failure, Outcome::Unknown]
        .into_iter()
        .find(|o| o.as_str().eq_ignore_ascii_case(s))
}

/// `HTTP/1.1` → `1.1`: ECS `http.version` carries the number only.
pub(crate) fn strip_http_prefix(v: String) -> String {
    match v.strip_prefix("HTTP/") {
        Some(n) => n.to_string(),
        None => v,
    }
}

/// A header name as `http.request.headers.<name>` keeps it: lower-case.
pub(crate) fn header_name(name: &str) -> String {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        name.to_ascii_lowercase()
    } else {
        name.to_owned()
    }
}
