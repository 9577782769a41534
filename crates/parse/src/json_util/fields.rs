//! From JSON values to event fields: the conversion each field's type needs, with errors that
//! name the source field.

use super::value::{Scalar, Unfit};
use crate::DecodeError;
use apiwatch_core::event::{EventData, Geo, Outcome, Text, UaClass};
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
    let text = |v: Scalar<'_>| v.into_single_text::<Text>().map_err(bad);
    match field {
        // The time, the dataset and the network are never copied from a value: callers read
        // the time with its format, the dataset is the decoder's, the network is computed.
        Field::Timestamp | Field::Dataset | Field::SourceNetwork => {}
        Field::SourceIp => ev.source_ip = value.to_ip().map_err(bad)?,
        Field::SourcePort => ev.source_port = value.to_u16("port out of range").map_err(bad)?,
        Field::CountryIsoCode => geo.get().country_iso_code = text(value)?.map(Into::into),
        Field::CityName => geo.get().city_name = text(value)?.map(Into::into),
        Field::AsNumber => {
            geo.get().as_number = match value.to_u64().map_err(bad)? {
                Some(n) => Some(u32::try_from(n).map_err(|_| bad("AS number out of range"))?),
                None => None,
            }
        }
        Field::AsOrganization => geo.get().as_organization = text(value)?.map(Into::into),
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
                one => text(one)?.into_iter().map(String::from).collect(),
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
pub(crate) fn strip_http_prefix(v: Text) -> Text {
    match v.strip_prefix("HTTP/") {
        Some(n) => Text::from(n),
        None => v,
    }
}

/// A header name as `http.request.headers.<name>` keeps it: lower-case.
pub(crate) fn header_name(name: &str) -> String {
    if has_ascii_uppercase(name.as_bytes()) {
        name.to_ascii_lowercase()
    } else {
        name.to_owned()
    }
}

/// Whether any byte is an ASCII capital letter. A word at a time: most header names are
/// already lowercase, and are copied as they are once this says so.
fn has_ascii_uppercase(b: &[u8]) -> bool {
    let words = b.chunks_exact(8);
    let rest = words.remainder();
    for word in words {
        let mut w = [0; 8];
        w.copy_from_slice(word);
        if capital_letters(u64::from_le_bytes(w)) != 0 {
            return true;
        }
    }
    rest.iter().any(u8::is_ascii_uppercase)
}

/// The high bit set in each byte of `w` that is an ASCII capital letter, exactly. Each byte
/// is compared below its high bit, where neither sum can carry or borrow into the next byte;
/// bytes with their high bit set (non-ASCII) are masked out.
#[inline]
fn capital_letters(w: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let low = w & (ONES * 0x7f);
    // High bit of `127 + ('Z' + 1) - low` set when low <= 'Z'; of `low + 127 - ('A' - 1)`
    // when low >= 'A'.
    let at_most_z = (ONES * (127 + u64::from(b'Z') + 1)) - low;
    let at_least_a = low + ONES * (127 - (u64::from(b'A') - 1));
    at_most_z & at_least_a & !w & HIGH
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// The capitals found a word at a time are those found a byte at a time, whatever the
        /// bytes (letters, their neighbours `@ [ ` { `, non-ASCII ones) and the length.
        #[test]
        fn capitals_are_found_as_by_a_byte_loop(
            bytes in prop::collection::vec(prop_oneof![
                b'A'..=b'Z',
                b'a'..=b'z',
                prop::sample::select(vec![b'@', b'[', b'`', b'{', b'-', 0xc1, 0xda, 0xe1, 0xff]),
                any::<u8>(),
            ], 0..40),
        ) {
            let expected = bytes.iter().any(u8::is_ascii_uppercase);
            prop_assert_eq!(has_ascii_uppercase(&bytes), expected, "{:?}", bytes);
            for word in bytes.chunks_exact(8) {
                let w = u64::from_le_bytes(word.try_into().unwrap());
                let high: Vec<bool> = (0..8).map(|i| capital_letters(w) >> (8 * i + 7) & 1 == 1).collect();
                let each: Vec<bool> = word.iter().map(u8::is_ascii_uppercase).collect();
                prop_assert_eq!(high, each, "{:?}", word);
            }
        }
    }

    #[test]
    fn header_names_are_lowercased() {
        assert_eq!(header_name("X-Forwarded-For"), "x-forwarded-for");
        assert_eq!(header_name("x-forwarded-forZ"), "x-forwarded-forz");
        assert_eq!(header_name("user-agent"), "user-agent");
        assert_eq!(header_name("ÀÉ-Host"), "ÀÉ-host");
    }
}
