//! Envoy access logs in Envoy's default text format, and Istio's longer default.
//!
//! Envoy's default:
//!
//! ```text
//! [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"
//! %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
//! %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
//! "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"
//! ```
//!
//! Istio inserts `%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
//! "%UPSTREAM_TRANSPORT_FAILURE_REASON%"` after the flags and appends `%UPSTREAM_CLUSTER%
//! %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
//! %REQUESTED_SERVER_NAME% %ROUTE_NAME%`; the two are told apart by the field after the
//! flags (a byte count in Envoy's format, a word in Istio's). Fields appended to Envoy's
//! default (newer deployments add `%UPSTREAM_CLUSTER%` and others) are ignored.
//!
//! Envoy's default format logs no client address. The client is then the first
//! X-Forwarded-For entry, with the raw header kept in `forwarded_for`; Istio's
//! `%DOWNSTREAM_REMOTE_ADDRESS%` (Envoy's own resolution of the client) wins when present.

use crate::access::text::cursor::Cursor;
use crate::access::text::request::apply_request;
use crate::access::text::unescape::LineText;
use crate::access::text::{addr, clock, is_dash, number, trim_line_end};
use crate::{DecodeError, Decoder};
use apiwatch_core::EventData;

/// `event.dataset` of Envoy events.
pub const DATASET: &str = "envoy.access";

/// Decoder of Envoy's (and Istio's) default access-log format (`envoy`).
#[derive(Clone, Debug, Default)]
pub struct EnvoyDecoder {
    _private: (),
}

impl EnvoyDecoder {
    /// The decoder; it keeps no state between lines.
    pub fn new() -> Self {
        EnvoyDecoder { _private: () }
    }
}

impl Decoder for EnvoyDecoder {
    fn name(&self) -> &str {
        "envoy"
    }

    fn decode(&self, line: &[u8]) -> Result<EventData, DecodeError> {
        decode_line(trim_line_end(line))
    }
}

/// Reads fields in order, naming each in errors as Envoy's format does.
struct Fields<'a> {
    c: Cursor<'a>,
}

impl<'a> Fields<'a> {
    /// The next space-separated bare field.
    fn bare(&mut self, name: &'static str) -> Result<(&'a [u8], usize), DecodeError> {
        self.space(name)?;
        let column = self.c.column();
        let raw = self.c.bare();
        if raw.is_empty() {
            return Err(DecodeError::at(column, name, "the field is empty"));
        }
        Ok((raw, column))
    }

    /// The next space-separated quoted field's raw content.
    fn quoted(&mut self, name: &'static str) -> Result<&'a [u8], DecodeError> {
        self.space(name)?;
        let column = self.c.column();
        if self.c.peek() != Some(b'"') {
            return Err(DecodeError::at(column, name, "expected a quoted field"));
        }
        self.c.quoted().ok_or(DecodeError::at(column, name, "the quoted field is not closed"))
    }

    fn space(&mut self, name: &'static str) -> Result<(), DecodeError> {
        if self.c.eat(b' ') {
            Ok(())
        } else if self.c.at_end() {
            Err(DecodeError::at(self.c.column(), name, "the line ends before this field"))
        } else {
            Err(DecodeError::at(self.c.column(), name, "expected a space before this field"))
        }
    }

    fn count(&mut self, name: &'static str) -> Result<Option<u64>, DecodeError> {
        let (raw, column) = self.bare(name)?;
        if is_dash(raw) {
            return Ok(None);
        }
        number::count(raw).map(Some).ok_or(DecodeError::at(
            column,
            name,
            "expected a number or `-`",
        ))
    }
}

fn decode_line(line: &[u8]) -> Result<EventData, DecodeError> {
    let close = match line.first() {
        Some(b'[') => memchr::memchr(b']', line),
        _ => None,
    }
    .ok_or(DecodeError::at(1, "START_TIME", "expected the start time in brackets"))?;
    let timestamp_ms = clock::rfc3339_ms(&line[1..close]).ok_or(DecodeError::at(
        2,
        "START_TIME",
        "expected an RFC 3339 time like 2016-04-15T20:17:00.310Z",
    ))?;
    let mut ev = EventData { timestamp_ms, dataset: DATASET, ..EventData::default() };
    let t = LineText::new(line);
    let mut f = Fields { c: Cursor::at(line, close + 1) };

    let request = f.quoted("REQ(:METHOD)")?;
    apply_request(&mut ev, &t, request);

    let (code, column) = f.bare("RESPONSE_CODE")?;
    let code = number::status(code).ok_or(DecodeError::at(
        column,
        "RESPONSE_CODE",
        "expected a status code",
    ))?;
    // 0: Envoy sent no response (the client went away first); there is no status to record.
    ev.status_code = (code != 0).then_some(code);

    let (flags, _) = f.bare("RESPONSE_FLAGS")?;
    push_label(&t, &mut ev, "response_flags", flags);

    let (next, column) = f.bare("BYTES_RECEIVED")?;
    let istio = !next.iter().all(u8::is_ascii_digit);
    let received = if istio {
        push_label(&t, &mut ev, "response_code_details", next);
        let (termination, _) = f.bare("CONNECTION_TERMINATION_DETAILS")?;
        push_label(&t, &mut ev, "connection_termination_details", termination);
        let reason = f.quoted("UPSTREAM_TRANSPORT_FAILURE_REASON")?;
        push_label(&t, &mut ev, "upstream_transport_failure_reason", reason);
        f.count("BYTES_RECEIVED")?
    } else {
        number::count(next).map(Some).ok_or(DecodeError::at(
            column,
            "BYTES_RECEIVED",
            "expected a number",
        ))?
    };
    ev.request_bytes = received;
    ev.response_bytes = f.count("BYTES_SENT")?;
    ev.duration_ns = f.count("DURATION")?.and_then(|ms| ms.checked_mul(1_000_000));
    let (service_time, _) = f.bare("RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)")?;
    push_label(&t, &mut ev, "upstream_service_time_ms", service_time);

    let forwarded_for = f.quoted("REQ(X-FORWARDED-FOR)")?;
    ev.forwarded_for = t.opt_text(forwarded_for);
    ev.user_agent = t.opt_text(f.quoted("REQ(USER-AGENT)")?);
    if let Some(id) = t.opt_text(f.quoted("REQ(X-REQUEST-ID)")?) {
        ev.headers.push(("x-request-id".to_string(), id.to_string()));
    }
    let authority = f.quoted("REQ(:AUTHORITY)")?;
    if !is_dash(authority) {
        ev.url_domain = t.opt_text(addr::host_of_authority(authority));
    }
    push_label(&t, &mut ev, "upstream_host", f.quoted("UPSTREAM_HOST")?);

    if istio {
        read_istio_tail(&mut f, &t, &mut ev)?;
    }
    if ev.source_ip.is_none() {
        let first = forwarded_for.split(|&b| b == b',').next().unwrap_or_default();
        ev.source_ip = addr::ip(first.trim_ascii());
    }
    Ok(ev)
}

/// Istio's appended fields; each may be missing (older Istio releases log fewer).
fn read_istio_tail(
    f: &mut Fields<'_>,
    t: &LineText<'_>,
    ev: &mut EventData,
) -> Result<(), DecodeError> {
    const TAIL: [&str; 6] = [
        "UPSTREAM_CLUSTER",
        "UPSTREAM_LOCAL_ADDRESS",
        "DOWNSTREAM_LOCAL_ADDRESS",
        "DOWNSTREAM_REMOTE_ADDRESS",
        "REQUESTED_SERVER_NAME",
        "ROUTE_NAME",
    ];
    for name in TAIL {
        if f.c.at_end() {
            break;
        }
        let (raw, _) = f.bare(name)?;
        match name {
            "DOWNSTREAM_REMOTE_ADDRESS" => match addr::ip_and_port(raw) {
                Some((ip, port)) => {
                    ev.source_ip = Some(ip);
                    ev.source_port = Some(port);
                }
                None => ev.source_ip = addr::ip(raw),
            },
            "UPSTREAM_CLUSTER" => push_label(t, ev, "upstream_cluster", raw),
            "REQUESTED_SERVER_NAME" => push_label(t, ev, "requested_server_name", raw),
            "ROUTE_NAME" => push_label(t, ev, "route_name", raw),
            _ => {}
        }
    }
    Ok(())
}

fn push_label(t: &LineText<'_>, ev: &mut EventData, name: &str, raw: &[u8]) {
    if let Some(v) = t.opt_text(raw) {
        ev.labels.push((name.to_string(), v.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DOCS_EXAMPLE: &str = r#"[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80""#;

    #[test]
    fn documented_example() {
        let ev = EnvoyDecoder::new().decode(DOCS_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(ev.timestamp_ms, 1_460_751_420_310);
        assert_eq!(ev.http_method.as_deref(), Some("POST"));
        assert_eq!(ev.url_path.as_deref(), Some("/api/v1/locations"));
        assert_eq!(ev.http_version.as_deref(), Some("2"));
        assert_eq!(ev.status_code, Some(204));
        assert_eq!((ev.request_bytes, ev.response_bytes), (Some(154), Some(0)));
        assert_eq!(ev.duration_ns, Some(226_000_000));
        assert_eq!(ev.label("upstream_service_time_ms"), Some("100"));
        assert_eq!(ev.source_ip, Some("10.0.35.28".parse().unwrap()));
        assert_eq!(ev.forwarded_for.as_deref(), Some("10.0.35.28"));
        assert_eq!(ev.user_agent.as_deref(), Some("nsq2http"));
        assert_eq!(ev.header("x-request-id"), Some("cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2"));
        assert_eq!(ev.url_domain.as_deref(), Some("locations"));
        assert_eq!(ev.label("upstream_host"), Some("tcp://10.0.2.1:80"));
    }

    #[test]
    fn extra_trailing_fields_are_tolerated() {
        let line = format!("{DOCS_EXAMPLE} outbound|80||svc.local 10.0.0.1:5000");
        let ev = EnvoyDecoder::new().decode(line.as_bytes()).unwrap();
        assert_eq!(ev.label("upstream_cluster"), None);
        assert_eq!(ev.status_code, Some(204));
    }

    #[test]
    fn truncated_line_names_the_missing_field() {
        let cut = &DOCS_EXAMPLE[..DOCS_EXAMPLE.find(" \"nsq2http\"").unwrap()];
        let e = EnvoyDecoder::new().decode(cut.as_bytes()).unwrap_err();
        assert_eq!(e.to_string(), "column 92, REQ(USER-AGENT): the line ends before this field");
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(line in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = EnvoyDecoder::new().decode(&line);
        }

        #[test]
        fn damaged_lines_never_panic(cut in 0usize..200, at in 0usize..200,
            byte in prop::sample::select(b" \"\\[]-x0".to_vec())) {
            let mut line = DOCS_EXAMPLE.as_bytes().to_vec();
            if at < line.len() {
                line[at] = byte;
            }
            line.truncate(cut);
            let _ = EnvoyDecoder::new().decode(&line);
        }
    }
}
