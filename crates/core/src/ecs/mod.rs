//! Events as Elastic Common Schema JSON: the nested form written in alert evidence and read
//! from rule test cases (both dotted keys `"source.ip"` and nested objects are accepted).

use crate::event::{EventData, Geo, Outcome, UaClass};
use crate::field::{Field, FIXED_FIELDS};
use crate::time::{format_rfc3339_ms, parse_rfc3339_ms};
use serde_json::{Map, Value as Json};
use std::sync::Arc;
use thiserror::Error;

mod write;
pub use write::write_ecs_json;

/// Why a JSON object is not a usable ECS event.
#[derive(Debug, Error, PartialEq)]
pub enum EcsError {
    #[error("field `{field}`: {reason}")]
    Field { field: String, reason: String },
    #[error("an event must be a JSON object")]
    NotAnObject,
}

fn insert_path(root: &mut Map<String, Json>, path: &str, v: Json) {
    let mut parts = path.split('.').peekable();
    let mut cur = root;
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(p.to_string(), v);
            return;
        }
        // Look up before inserting: most levels (`http`, `source`, …) exist already, and
        // `entry` would allocate the key for every field of every stored event.
        if !cur.get(p).is_some_and(Json::is_object) {
            cur.insert(p.to_string(), Json::Object(Map::new()));
        }
        cur = cur.get_mut(p).and_then(Json::as_object_mut).expect("an object is there");
    }
}

/// The event as nested ECS JSON. Absent fields are left out; keys come out in a fixed order.
/// The request header carrying the proxy chain, kept in `EventData::forwarded_for`.
const FORWARDED_FOR: &str = "x-forwarded-for";

pub fn to_ecs_json(ev: &EventData) -> Json {
    let mut root = Map::new();
    root.insert("@timestamp".into(), Json::String(format_rfc3339_ms(ev.timestamp_ms)));
    for (name, field) in FIXED_FIELDS {
        match field {
            Field::Timestamp | Field::SourceNetwork => continue,
            Field::UserRoles => {
                if !ev.user_roles.is_empty() {
                    insert_path(&mut root, name, ev.user_roles.clone().into());
                }
                continue;
            }
            _ => {}
        }
        match ev.get(field) {
            crate::Value::Absent => {}
            crate::Value::Int(i) => insert_path(&mut root, name, i.into()),
            other => insert_path(&mut root, name, other.to_text().unwrap_or_default().into()),
        }
    }
    if let Some((lat, lon)) = ev.geo.as_ref().and_then(|g| g.location) {
        insert_path(&mut root, "source.geo.location", serde_json::json!({"lat": lat, "lon": lon}));
    }
    // ECS has no field of its own for the raw X-Forwarded-For: it is a request header (which
    // decoders of JSON logs keep as well).
    let xff = ev.forwarded_for.as_ref().filter(|_| ev.header(FORWARDED_FOR).is_none());
    if !ev.headers.is_empty() || xff.is_some() {
        // One map, filled directly: a header name is one key, even with a dot in it.
        let mut headers = Map::new();
        for (h, v) in &ev.headers {
            headers.insert(h.clone(), v.as_str().into());
        }
        if let Some(xff) = xff {
            headers.insert(FORWARDED_FOR.into(), xff.as_str().into());
        }
        insert_path(&mut root, "http.request.headers", Json::Object(headers));
    }
    for (l, v) in &ev.labels {
        let labels = root.entry("labels").or_insert_with(|| Json::Object(Map::new()));
        if let Some(m) = labels.as_object_mut() {
            m.insert(l.clone(), v.clone().into());
        }
    }
    Json::Object(root)
}

/// Flattens nested objects into dotted keys (`{"source":{"ip":…}}` → `source.ip`).
fn flatten<'a>(prefix: &str, obj: &'a Map<String, Json>, out: &mut Vec<(String, &'a Json)>) {
    for (k, v) in obj {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            // Objects that are values of their own: headers and labels are maps of strings,
            // a location is {lat, lon}.
            Json::Object(m) if key != "source.geo.location" => flatten(&key, m, out),
            _ => out.push((key, v)),
        }
    }
}

fn text(field: &str, v: &Json) -> Result<String, EcsError> {
    match v {
        Json::String(s) => Ok(s.clone()),
        Json::Number(n) => Ok(n.to_string()),
        Json::Bool(b) => Ok(b.to_string()),
        _ => Err(EcsError::Field { field: field.into(), reason: "expected a string".into() }),
    }
}

fn unsigned(field: &str, v: &Json) -> Result<u64, EcsError> {
    match v {
        Json::Number(n) => n.as_u64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| EcsError::Field {
        field: field.into(),
        reason: "expected a non-negative integer".into(),
    })
}

/// Reads an event from ECS JSON (nested or dotted keys). Unknown keys are errors, so that a
/// misspelt field in a rule test case fails loudly instead of silently testing nothing.
pub fn from_ecs_json(v: &Json) -> Result<EventData, EcsError> {
    let obj = v.as_object().ok_or(EcsError::NotAnObject)?;
    let mut flat = Vec::new();
    flatten("", obj, &mut flat);
    let mut ev = EventData::default();
    let mut geo = Geo::default();
    let mut has_geo = false;
    for (key, val) in flat {
        let bad = |reason: &str| EcsError::Field { field: key.clone(), reason: reason.into() };
        if key == "source.geo.location" {
            let lat =
                val.get("lat").and_then(Json::as_f64).ok_or_else(|| bad("expected {lat, lon}"))?;
            let lon =
                val.get("lon").and_then(Json::as_f64).ok_or_else(|| bad("expected {lat, lon}"))?;
            geo.location = Some((lat, lon));
            has_geo = true;
            continue;
        }
        let field = Field::parse(&key).ok_or_else(|| bad("not a field apiwatch knows"))?;
        match field {
            Field::Timestamp => {
                ev.timestamp_ms = match val {
                    Json::Number(n) => n.as_i64().ok_or_else(|| bad("expected milliseconds"))?,
                    Json::String(s) => parse_rfc3339_ms(s).map_err(|e| bad(&e.to_string()))?,
                    _ => return Err(bad("expected an RFC 3339 time")),
                }
            }
            Field::Dataset => {
                // Datasets are static names chosen by decoders; a test case may only name one
                // of the known ones, leaked once per distinct name otherwise.
                ev.dataset = Box::leak(text(&key, val)?.into_boxed_str());
            }
            Field::SourceIp => {
                ev.source_ip =
                    Some(text(&key, val)?.parse().map_err(|_| bad("expected an IP address"))?)
            }
            Field::SourcePort => {
                ev.source_port = Some(
                    u16::try_from(unsigned(&key, val)?).map_err(|_| bad("port out of range"))?,
                )
            }
            Field::SourceNetwork => return Err(bad("computed from source.ip; set that instead")),
            Field::CountryIsoCode => {
                geo.country_iso_code = Some(text(&key, val)?);
                has_geo = true;
            }
            Field::CityName => {
                geo.city_name = Some(text(&key, val)?);
                has_geo = true;
            }
            Field::AsNumber => {
                geo.as_number =
                    Some(u32::try_from(unsigned(&key, val)?).map_err(|_| bad("ASN out of range"))?);
                has_geo = true;
            }
            Field::AsOrganization => {
                geo.as_organization = Some(text(&key, val)?);
                has_geo = true;
            }
            Field::UserName => ev.user_name = Some(text(&key, val)?.into()),
            Field::UserId => ev.user_id = Some(text(&key, val)?.into()),
            Field::UserRoles => {
                ev.user_roles = match val {
                    Json::Array(a) => a.iter().map(|r| text(&key, r)).collect::<Result<_, _>>()?,
                    other => vec![text(&key, other)?],
                }
            }
            Field::TokenId => ev.token_id = Some(text(&key, val)?.into()),
            Field::TokenIssuer => ev.token_issuer = Some(text(&key, val)?.into()),
            Field::ApiKeyId => ev.api_key_id = Some(text(&key, val)?.into()),
            Field::Consumer => ev.consumer = Some(text(&key, val)?.into()),
            Field::SessionId => ev.session_id = Some(text(&key, val)?.into()),
            Field::HttpMethod => ev.http_method = Some(text(&key, val)?.into()),
            Field::HttpVersion => ev.http_version = Some(text(&key, val)?.into()),
            Field::UrlDomain => ev.url_domain = Some(text(&key, val)?.into()),
            Field::UrlPath => ev.url_path = Some(text(&key, val)?.into()),
            Field::UrlQuery => ev.url_query = Some(text(&key, val)?.into()),
            Field::HttpRoute => ev.http_route = Some(text(&key, val)?.into()),
            Field::OperationId => ev.operation_id = Some(text(&key, val)?.into()),
            Field::ServiceName => ev.service_name = Some(text(&key, val)?.into()),
            Field::StatusCode => {
                ev.status_code = Some(
                    u16::try_from(unsigned(&key, val)?).map_err(|_| bad("status out of range"))?,
                )
            }
            Field::RequestBytes => ev.request_bytes = Some(unsigned(&key, val)?),
            Field::ResponseBytes => ev.response_bytes = Some(unsigned(&key, val)?),
            Field::ResponseRecords => ev.response_records = Some(unsigned(&key, val)?),
            Field::DurationNs => ev.duration_ns = Some(unsigned(&key, val)?),
            Field::UserAgent => ev.user_agent = Some(text(&key, val)?.into()),
            Field::UserAgentClass => {
                ev.user_agent_class = Some(
                    UaClass::parse(&text(&key, val)?)
                        .ok_or_else(|| bad("unknown user-agent class"))?,
                )
            }
            Field::Referrer => ev.referrer = Some(text(&key, val)?.into()),
            Field::EventAction => ev.event_action = Some(text(&key, val)?.into()),
            Field::EventOutcome => {
                ev.event_outcome = Some(
                    Outcome::parse(&text(&key, val)?)
                        .ok_or_else(|| bad("expected success, failure or unknown"))?,
                )
            }
            Field::Header(h) => {
                let v = text(&key, val)?;
                if h.eq_ignore_ascii_case(FORWARDED_FOR) {
                    ev.forwarded_for = Some(v.clone().into());
                }
                ev.headers.push((h.to_string(), v));
            }
            Field::Label(l) => ev.labels.push((l.to_string(), text(&key, val)?)),
        }
    }
    if has_geo {
        ev.geo = Some(Arc::new(geo));
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_and_dotted_keys_read_the_same() {
        let a = from_ecs_json(
            &json!({"@timestamp": "2026-01-01T00:00:00Z", "source": {"ip": "192.0.2.1"},
            "user.name": "alice", "http": {"response": {"status_code": 401}}}),
        )
        .unwrap();
        let b =
            from_ecs_json(&json!({"@timestamp": "2026-01-01T00:00:00Z", "source.ip": "192.0.2.1",
            "user": {"name": "alice"}, "http.response.status_code": "401"}))
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.status_code, Some(401));
    }

    #[test]
    fn round_trip_through_json() {
        let ev = from_ecs_json(&json!({"@timestamp": "2026-01-01T00:00:00.250Z", "source.ip": "2001:db8::1",
            "source.geo.country_iso_code": "SE", "source.geo.location": {"lat": 59.3, "lon": 18.1},
            "user.roles": ["admin", "ops"], "http.request.headers.x-api-key": "k_abc",
            "http.request.headers.x-forwarded-for": "198.51.100.7, 10.0.0.2",
            "labels": {"tenant": "acme"}, "event.outcome": "failure", "user_agent.class": "scanner"})).unwrap();
        assert_eq!(ev.forwarded_for.as_deref(), Some("198.51.100.7, 10.0.0.2"));
        assert_eq!(ev.header("x-forwarded-for"), Some("198.51.100.7, 10.0.0.2"));
        assert_eq!(from_ecs_json(&to_ecs_json(&ev)).unwrap(), ev);
    }

    #[test]
    fn unknown_fields_are_named_in_the_error() {
        let e = from_ecs_json(&json!({"user.nmae": "x"})).unwrap_err();
        assert!(e.to_string().contains("user.nmae"), "{e}");
    }
}
