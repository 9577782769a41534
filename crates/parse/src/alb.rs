//! AWS Application Load Balancer access logs: space-separated fields, some quoted, in the
//! order AWS documents:
//!
//! ```text
//! type time elb client:port target:port request_processing_time target_processing_time
//! response_processing_time elb_status_code target_status_code received_bytes sent_bytes
//! "request" "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" "domain_name"
//! "chosen_cert_arn" matched_rule_priority request_creation_time "actions_executed"
//! "redirect_url" "error_reason" "target:port_list" "target_status_code_list"
//! "classification" "classification_reason" conn_trace_id
//! ```
//!
//! Everything after `target_group_arn` was added over the years and is optional; fields AWS
//! appends later are ignored. `received_bytes` and `sent_bytes` count headers too (ALB logs
//! no body sizes); `event.duration` is the sum of the three processing times, absent when
//! any is `-1` (no target was reached, so the sum would mean nothing).

use crate::access::text::cursor::Cursor;
use crate::access::text::request::apply_request;
use crate::access::text::unescape::LineText;
use crate::access::text::{addr, clock, is_dash, number, trim_line_end};
use crate::{DecodeError, Decoder};
use apiwatch_core::EventData;

/// `event.dataset` of ALB events.
pub const DATASET: &str = "aws.alb";

/// The `type` values AWS documents for ALB requests.
const TYPES: [&[u8]; 6] = [b"http", b"https", b"h2", b"grpcs", b"ws", b"wss"];

/// Decoder of AWS Application Load Balancer access logs (`aws-alb`).
#[derive(Clone, Debug, Default)]
pub struct AlbDecoder {
    _private: (),
}

impl AlbDecoder {
    /// The decoder; it keeps no state between lines.
    pub fn new() -> Self {
        AlbDecoder { _private: () }
    }
}

impl Decoder for AlbDecoder {
    fn name(&self) -> &str {
        "aws-alb"
    }

    fn decode(&self, line: &[u8]) -> Result<EventData, DecodeError> {
        decode_line(trim_line_end(line))
    }
}

/// A field read from the line, with its 1-based column.
struct Field<'a> {
    raw: &'a [u8],
    column: usize,
}

struct Fields<'a> {
    c: Cursor<'a>,
    first: bool,
}

impl<'a> Fields<'a> {
    /// The next field, quoted or bare as the format says; `None` at the end of the line.
    fn next(&mut self, name: &'static str, quoted: bool) -> Result<Option<Field<'a>>, DecodeError> {
        if self.c.at_end() {
            return Ok(None);
        }
        if !self.first && !self.c.eat(b' ') {
            return Err(DecodeError::at(
                self.c.column(),
                name,
                "expected a space before this field",
            ));
        }
        self.first = false;
        let column = self.c.column();
        let raw = if quoted {
            if self.c.peek() != Some(b'"') {
                return Err(DecodeError::at(column, name, "expected a quoted field"));
            }
            self.c.quoted().ok_or(DecodeError::at(
                column,
                name,
                "the quoted field is not closed",
            ))?
        } else {
            let raw = self.c.bare();
            if raw.is_empty() {
                return Err(DecodeError::at(column, name, "the field is empty"));
            }
            raw
        };
        Ok(Some(Field { raw, column }))
    }

    /// A field every ALB log line has.
    fn required(&mut self, name: &'static str, quoted: bool) -> Result<Field<'a>, DecodeError> {
        let column = self.c.column();
        self.next(name, quoted)?.ok_or(DecodeError::at(
            column,
            name,
            "the line ends before this field",
        ))
    }
}

fn decode_line(line: &[u8]) -> Result<EventData, DecodeError> {
    let mut f = Fields { c: Cursor::new(line), first: true };
    let kind = f.required("type", false)?;
    if !TYPES.contains(&kind.raw) {
        return Err(DecodeError::at(1, "type", "expected http, https, h2, grpcs, ws or wss"));
    }
    let time = f.required("time", false)?;
    let timestamp_ms = clock::rfc3339_ms(time.raw).ok_or(DecodeError::at(
        time.column,
        "time",
        "expected a time like 2018-07-02T22:23:00.186641Z",
    ))?;
    let mut ev = EventData { timestamp_ms, dataset: DATASET, ..EventData::default() };
    let t = LineText::new(line);
    push_label(&t, &mut ev, "type", kind.raw);
    push_label(&t, &mut ev, "elb", f.required("elb", false)?.raw);

    let client = f.required("client:port", false)?;
    if !is_dash(client.raw) {
        let (ip, port) = addr::ip_and_port(client.raw).ok_or(DecodeError::at(
            client.column,
            "client:port",
            "expected an address and port",
        ))?;
        ev.source_ip = Some(ip);
        ev.source_port = Some(port);
    }
    push_label(&t, &mut ev, "target", f.required("target:port", false)?.raw);

    let mut total_ns = Some(0u64);
    for name in ["request_processing_time", "target_processing_time", "response_processing_time"] {
        let t = f.required(name, false)?;
        let ns = if t.raw == b"-1" {
            None
        } else {
            Some(number::seconds_to_ns(t.raw).ok_or(DecodeError::at(
                t.column,
                name,
                "expected seconds or -1",
            ))?)
        };
        total_ns = total_ns.zip(ns).and_then(|(a, b)| a.checked_add(b));
    }
    ev.duration_ns = total_ns;

    let status = f.required("elb_status_code", false)?;
    if !is_dash(status.raw) {
        ev.status_code = Some(number::status(status.raw).ok_or(DecodeError::at(
            status.column,
            "elb_status_code",
            "expected a status code or `-`",
        ))?);
    }
    push_label(&t, &mut ev, "target_status_code", f.required("target_status_code", false)?.raw);
    ev.request_bytes = count(f.required("received_bytes", false)?, "received_bytes")?;
    ev.response_bytes = count(f.required("sent_bytes", false)?, "sent_bytes")?;
    apply_request(&mut ev, &t, f.required("request", true)?.raw);
    ev.user_agent = t.opt_text(f.required("user_agent", true)?.raw);
    push_label(&t, &mut ev, "ssl_cipher", f.required("ssl_cipher", false)?.raw);
    push_label(&t, &mut ev, "ssl_protocol", f.required("ssl_protocol", false)?.raw);
    push_label(&t, &mut ev, "target_group_arn", f.required("target_group_arn", false)?.raw);

    // Optional fields, in order; the line may end after any of them.
    const OPTIONAL: [(&str, bool); 13] = [
        ("trace_id", true),
        ("domain_name", true),
        ("chosen_cert_arn", true),
        ("matched_rule_priority", false),
        ("request_creation_time", false),
        ("actions_executed", true),
        ("redirect_url", true),
        ("error_reason", true),
        ("target:port_list", true),
        ("target_status_code_list", true),
        ("classification", true),
        ("classification_reason", true),
        ("conn_trace_id", false),
    ];
    for (name, quoted) in OPTIONAL {
        let Some(field) = f.next(name, quoted)? else { break };
        match name {
            "trace_id" => {
                if let Some(v) = t.opt_text(field.raw) {
                    ev.headers.push(("x-amzn-trace-id".to_string(), v.to_string()));
                }
            }
            // The TLS SNI; `url.domain` comes from the request line.
            "domain_name" => push_label(&t, &mut ev, "domain_name", field.raw),
            "actions_executed"
            | "redirect_url"
            | "error_reason"
            | "classification"
            | "classification_reason"
            | "conn_trace_id" => push_label(&t, &mut ev, name, field.raw),
            // The rest repeat other fields or describe the certificate and rule chosen.
            _ => {}
        }
    }
    // Fields after conn_trace_id (transformed_host, …) are not read.
    Ok(ev)
}

fn count(field: Field<'_>, name: &'static str) -> Result<Option<u64>, DecodeError> {
    if is_dash(field.raw) {
        return Ok(None);
    }
    number::count(field.raw).map(Some).ok_or(DecodeError::at(
        field.column,
        name,
        "expected a byte count or `-`",
    ))
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

    /// The HTTP example entry from AWS's ALB access-log documentation.
    const DOCS_HTTP: &str = r#"http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90"#;

    #[test]
    fn documented_http_example() {
        let ev = AlbDecoder::new().decode(DOCS_HTTP.as_bytes()).unwrap();
        assert_eq!(ev.timestamp_ms, 1_530_570_180_186);
        assert_eq!(ev.source_ip, Some("192.168.131.39".parse().unwrap()));
        assert_eq!(ev.source_port, Some(2817));
        assert_eq!(ev.duration_ns, Some(1_000_000));
        assert_eq!(ev.status_code, Some(200));
        assert_eq!((ev.request_bytes, ev.response_bytes), (Some(34), Some(366)));
        assert_eq!(ev.http_method.as_deref(), Some("GET"));
        assert_eq!(ev.url_domain.as_deref(), Some("www.example.com"));
        assert_eq!(ev.url_path.as_deref(), Some("/"));
        assert_eq!(ev.url_query, None);
        assert_eq!(ev.http_version.as_deref(), Some("1.1"));
        assert_eq!(ev.user_agent.as_deref(), Some("curl/7.46.0"));
        assert_eq!(ev.header("x-amzn-trace-id"), Some("Root=1-58337262-36d228ad5d99923122bbe354"));
        assert_eq!(ev.label("conn_trace_id"), Some("TID_1234abcd5678ef90"));
        assert_eq!(ev.label("ssl_cipher"), None);
    }

    #[test]
    fn other_formats_are_refused() {
        // A Classic Load Balancer line starts with the time, an NLB line with `tls 2.0`.
        let clb = br#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -"#;
        assert_eq!(
            AlbDecoder::new().decode(clb).unwrap_err().to_string(),
            "column 1, type: expected http, https, h2, grpcs, ws or wss"
        );
        let cut = &DOCS_HTTP[..DOCS_HTTP.find(" \"curl").unwrap()];
        assert_eq!(
            AlbDecoder::new().decode(cut.as_bytes()).unwrap_err().to_string(),
            "column 177, user_agent: the line ends before this field"
        );
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(line in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = AlbDecoder::new().decode(&line);
        }

        #[test]
        fn damaged_lines_never_panic(cut in 0usize..420, at in 0usize..420,
            byte in prop::sample::select(b" \"\\:-x0".to_vec())) {
            let mut line = DOCS_HTTP.as_bytes().to_vec();
            if at < line.len() {
                line[at] = byte;
            }
            line.truncate(cut);
            let _ = AlbDecoder::new().decode(&line);
        }
    }
}
