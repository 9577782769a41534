//! Custom access-log formats: an nginx `log_format` or Apache `LogFormat` pattern compiled
//! once into literal and variable segments, then matched against each line left to right.
//!
//! A variable ends where the next literal text of the pattern starts, so two variables need
//! text between them (times, which have a fixed width, are the exception). Well-known
//! variables fill ECS fields; `$http_<name>` / `%{Name}i` fill request headers,
//! `$cookie_<name>` / `%{name}C` the `cookie` header, and any other variable a label named
//! after it. When a pattern sets a field twice (`$request` and `$request_uri`), the later
//! variable wins. The pattern is taken literally: nginx patterns have no escapes; Apache
//! patterns may be pasted with httpd.conf's `\"`, `\\` and `\t`.

use super::text::clock;
use super::text::request::{
    apply_path_and_query, apply_request, apply_target, version_of_protocol,
};
use super::text::unescape::LineText;
use super::text::{addr, number};
use super::{set_forwarded_for, set_peer, DATASET};
use crate::{DecodeError, Decoder, FormatError};
use apiwatch_core::EventData;
use memchr::memmem::Finder;

/// Longest pattern accepted; real formats are a few hundred bytes.
const PATTERN_BYTES_MAX: usize = 8 * 1024;

/// Decoder of a custom `log_format` / `LogFormat`.
pub struct LogFormatDecoder {
    name: String,
    segments: Vec<Segment>,
}

enum Segment {
    Literal {
        /// Boxed: a finder is large, and most segments are variables.
        finder: Box<Finder<'static>>,
        /// The variable next to this text, named in errors about it.
        near: &'static str,
    },
    Variable(Variable),
}

struct Variable {
    target: Target,
    /// The variable as errors name it (`status`, `%>s`, `http_*` for any header).
    name: &'static str,
    /// Width in bytes when the value always has one (times), else `None`.
    width: Option<usize>,
    /// The value may be a list written with `, ` or ` : ` (X-Forwarded-For, upstream
    /// times), so a literal space after it is not its end when a separator is around it.
    list: bool,
}

/// Where a variable's value goes.
#[derive(Clone, Debug, PartialEq)]
enum Target {
    Client,
    ClientPort,
    User,
    TimeLocal,
    TimeBracketed,
    TimeIso8601,
    EpochSeconds,
    EpochMillis,
    EpochMicros,
    Request,
    Method,
    RequestUri,
    Path,
    Query,
    /// Apache `%q`: the query with its `?`, or nothing.
    QueryWithMark,
    Protocol,
    Status,
    ResponseBytes,
    RequestBytes,
    DurationSeconds,
    DurationMillis,
    DurationMicros,
    Referrer,
    UserAgent,
    ForwardedFor,
    Domain,
    Header(String),
    Cookie(String),
    Label(String),
    Ignore,
}

impl LogFormatDecoder {
    /// Compiles a pattern. nginx syntax (`$remote_addr`) is used when the pattern has a `$`
    /// variable, Apache syntax (`%h`) otherwise.
    pub fn compile(name: &str, pattern: &str) -> Result<Self, FormatError> {
        let err = |reason: String| FormatError { name: name.to_string(), reason };
        if pattern.len() > PATTERN_BYTES_MAX {
            return Err(err(format!("the pattern is longer than {PATTERN_BYTES_MAX} bytes")));
        }
        let pieces = if has_nginx_variable(pattern.as_bytes()) {
            parse_nginx(pattern.as_bytes())
        } else {
            parse_apache(pattern.as_bytes())
        }
        .map_err(err)?;
        let segments = build_segments(pieces).map_err(err)?;
        Ok(LogFormatDecoder { name: name.to_string(), segments })
    }
}

/// A piece of a parsed pattern, before the segments are built.
enum Piece {
    Literal(Vec<u8>),
    Variable { target: Target, name: &'static str, shown: String, column: usize },
}

fn has_nginx_variable(p: &[u8]) -> bool {
    p.windows(2)
        .any(|w| w[0] == b'$' && (w[1].is_ascii_alphabetic() || w[1] == b'_' || w[1] == b'{'))
}

fn push_literal(pieces: &mut Vec<Piece>, b: u8) {
    match pieces.last_mut() {
        Some(Piece::Literal(l)) => l.push(b),
        _ => pieces.push(Piece::Literal(vec![b])),
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn parse_nginx(p: &[u8]) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < p.len() {
        if p[i] != b'$' {
            push_literal(&mut pieces, p[i]);
            i += 1;
            continue;
        }
        let column = i + 1;
        let (name, next) = if p.get(i + 1) == Some(&b'{') {
            let close = memchr::memchr(b'}', &p[i + 2..])
                .ok_or_else(|| format!("`${{` at column {column} is not closed with `}}`"))?;
            (&p[i + 2..i + 2 + close], i + 3 + close)
        } else {
            let len = p[i + 1..].iter().take_while(|&&b| is_name_byte(b)).count();
            (&p[i + 1..i + 1 + len], i + 1 + len)
        };
        if name.is_empty() || !name.iter().all(|&b| is_name_byte(b)) {
            return Err(format!("`$` at column {column} is not followed by a variable name"));
        }
        // Names are ASCII by the check above.
        let name = String::from_utf8_lossy(name).into_owned();
        let (target, field) = nginx_variable(&name);
        pieces.push(Piece::Variable { target, name: field, shown: format!("${name}"), column });
        i = next;
    }
    Ok(pieces)
}

/// The target of an nginx variable, and the name errors give it.
fn nginx_variable(name: &str) -> (Target, &'static str) {
    let known = match name {
        "remote_addr" => Some((Target::Client, "remote_addr")),
        "remote_port" => Some((Target::ClientPort, "remote_port")),
        "remote_user" => Some((Target::User, "remote_user")),
        "time_local" => Some((Target::TimeLocal, "time_local")),
        "time_iso8601" => Some((Target::TimeIso8601, "time_iso8601")),
        "msec" => Some((Target::EpochSeconds, "msec")),
        "request" => Some((Target::Request, "request")),
        "request_method" => Some((Target::Method, "request_method")),
        "request_uri" => Some((Target::RequestUri, "request_uri")),
        "uri" => Some((Target::Path, "uri")),
        "document_uri" => Some((Target::Path, "document_uri")),
        "args" => Some((Target::Query, "args")),
        "query_string" => Some((Target::Query, "query_string")),
        "server_protocol" => Some((Target::Protocol, "server_protocol")),
        "status" => Some((Target::Status, "status")),
        "body_bytes_sent" => Some((Target::ResponseBytes, "body_bytes_sent")),
        "bytes_sent" => Some((Target::ResponseBytes, "bytes_sent")),
        "request_length" => Some((Target::RequestBytes, "request_length")),
        "request_time" => Some((Target::DurationSeconds, "request_time")),
        "http_referer" => Some((Target::Referrer, "http_referer")),
        "http_user_agent" => Some((Target::UserAgent, "http_user_agent")),
        "http_x_forwarded_for" => Some((Target::ForwardedFor, "http_x_forwarded_for")),
        "proxy_add_x_forwarded_for" => Some((Target::ForwardedFor, "proxy_add_x_forwarded_for")),
        "host" => Some((Target::Domain, "host")),
        "http_host" => Some((Target::Domain, "http_host")),
        "server_name" => Some((Target::Domain, "server_name")),
        _ => None,
    };
    if let Some(k) = known {
        return k;
    }
    if let Some(h) = name.strip_prefix("http_").filter(|h| !h.is_empty()) {
        return (Target::Header(h.to_ascii_lowercase().replace('_', "-")), "http_*");
    }
    if let Some(c) = name.strip_prefix("cookie_").filter(|c| !c.is_empty()) {
        return (Target::Cookie(c.to_string()), "cookie_*");
    }
    (Target::Label(name.to_string()), "log_format variable")
}

fn parse_apache(p: &[u8]) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let column = i + 1;
        match p[i] {
            b'\\' => {
                let b = match p.get(i + 1) {
                    Some(b'"') => b'"',
                    Some(b'\\') => b'\\',
                    Some(b't') => b'\t',
                    _ => return Err(format!("`\\` at column {column} starts an unknown escape")),
                };
                push_literal(&mut pieces, b);
                i += 2;
            }
            b'%' => {
                let mut j = i + 1;
                if p.get(j) == Some(&b'%') {
                    push_literal(&mut pieces, b'%');
                    i = j + 1;
                    continue;
                }
                // Modifiers: `<`/`>` (original or final request), `!400,501` status filters.
                while p
                    .get(j)
                    .is_some_and(|&b| matches!(b, b'<' | b'>' | b'!' | b',') || b.is_ascii_digit())
                {
                    j += 1;
                }
                let mut arg = None;
                if p.get(j) == Some(&b'{') {
                    let close = memchr::memchr(b'}', &p[j + 1..]).ok_or_else(|| {
                        format!("`%{{` at column {column} is not closed with `}}`")
                    })?;
                    arg = Some(String::from_utf8_lossy(&p[j + 1..j + 1 + close]).into_owned());
                    j += 2 + close;
                }
                let letter = *p.get(j).filter(|b| b.is_ascii_alphabetic()).ok_or_else(|| {
                    format!("`%` at column {column} is not followed by a directive")
                })?;
                let shown = String::from_utf8_lossy(&p[i..=j]).into_owned();
                let (target, name) = apache_directive(letter, arg.as_deref())
                    .map_err(|why| format!("`{shown}` at column {column}: {why}"))?;
                pieces.push(Piece::Variable { target, name, shown, column });
                i = j + 1;
            }
            b => {
                push_literal(&mut pieces, b);
                i += 1;
            }
        }
    }
    Ok(pieces)
}

/// The target of an Apache `%` directive, and the name errors give it.
fn apache_directive(letter: u8, arg: Option<&str>) -> Result<(Target, &'static str), &'static str> {
    let header = |h: &str| match h.to_ascii_lowercase().as_str() {
        "referer" => (Target::Referrer, "%{Referer}i"),
        "user-agent" => (Target::UserAgent, "%{User-Agent}i"),
        "x-forwarded-for" => (Target::ForwardedFor, "%{X-Forwarded-For}i"),
        "host" => (Target::Domain, "%{Host}i"),
        "cookie" => (Target::Header("cookie".to_string()), "%{Cookie}i"),
        other => (Target::Header(other.to_string()), "%{…}i"),
    };
    Ok(match (letter, arg) {
        (b'h' | b'a', None) => (Target::Client, if letter == b'h' { "%h" } else { "%a" }),
        (b'a', Some("c")) => (Target::Label("peer_address".to_string()), "%{c}a"),
        (b'h', Some("c")) => (Target::Label("peer_host".to_string()), "%{c}h"),
        (b'A', None) => (Target::Label("server_address".to_string()), "%A"),
        (b'l', None) => (Target::Ignore, "%l"),
        (b'u', None) => (Target::User, "%u"),
        (b't', None) => (Target::TimeBracketed, "%t"),
        (b't', Some("sec")) => (Target::EpochSeconds, "%{sec}t"),
        (b't', Some("msec")) => (Target::EpochMillis, "%{msec}t"),
        (b't', Some("usec")) => (Target::EpochMicros, "%{usec}t"),
        (b't', Some(_)) => {
            return Err("only %t, %{sec}t, %{msec}t and %{usec}t times are supported")
        }
        (b'r', None) => (Target::Request, "%r"),
        (b'm', None) => (Target::Method, "%m"),
        (b'U', None) => (Target::Path, "%U"),
        (b'q', None) => (Target::QueryWithMark, "%q"),
        (b'H', None) => (Target::Protocol, "%H"),
        (b's', None) => (Target::Status, "%s"),
        (b'b' | b'B', None) => (Target::ResponseBytes, if letter == b'b' { "%b" } else { "%B" }),
        (b'O', None) => (Target::ResponseBytes, "%O"),
        (b'I', None) => (Target::RequestBytes, "%I"),
        (b'S', None) => (Target::Label("bytes_transferred".to_string()), "%S"),
        (b'D', None) | (b'T', Some("us")) => (Target::DurationMicros, "%D"),
        (b'T', None) | (b'T', Some("s")) => (Target::DurationSeconds, "%T"),
        (b'T', Some("ms")) => (Target::DurationMillis, "%{ms}T"),
        (b'v', None) => (Target::Domain, "%v"),
        (b'V', None) => (Target::Domain, "%V"),
        (b'p', None | Some("canonical") | Some("local")) => {
            (Target::Label("server_port".to_string()), "%p")
        }
        (b'p', Some("remote")) => (Target::ClientPort, "%{remote}p"),
        (b'P', _) => (Target::Label("pid".to_string()), "%P"),
        (b'i', Some(h)) if !h.is_empty() => header(h),
        (b'C', Some(c)) if !c.is_empty() => (Target::Cookie(c.to_string()), "%{…}C"),
        (b'o', Some(h)) if !h.is_empty() => {
            (Target::Label(format!("response_header.{}", h.to_ascii_lowercase())), "%{…}o")
        }
        (b'e', Some(e)) if !e.is_empty() => (Target::Label(format!("env.{e}")), "%{…}e"),
        (b'n', Some(n)) if !n.is_empty() => (Target::Label(format!("note.{n}")), "%{…}n"),
        (b'X', None) => (Target::Label("connection_status".to_string()), "%X"),
        (b'k', None) => (Target::Label("keepalive_requests".to_string()), "%k"),
        (b'L', None) => (Target::Label("log_id".to_string()), "%L"),
        (b'R', None) => (Target::Label("handler".to_string()), "%R"),
        (b'f', None) => (Target::Label("filename".to_string()), "%f"),
        (b'i' | b'C' | b'o' | b'e' | b'n', _) => return Err("this directive needs a {name}"),
        _ => return Err("unknown or unsupported directive"),
    })
}

/// Fixed widths of time values, which lets them sit next to another variable.
fn width_of(target: &Target) -> Option<usize> {
    match target {
        Target::TimeLocal => Some(clock::CLF_TIME_BYTES),
        Target::TimeBracketed => Some(clock::CLF_TIME_BYTES + 2),
        // `2000-10-10T13:55:36-07:00`: nginx always writes the offset with a colon.
        Target::TimeIso8601 => Some(25),
        _ => None,
    }
}

fn is_list(target: &Target) -> bool {
    match target {
        Target::ForwardedFor => true,
        Target::Label(l) => l.starts_with("upstream_"),
        _ => false,
    }
}

fn build_segments(mut pieces: Vec<Piece>) -> Result<Vec<Segment>, String> {
    if !pieces.iter().any(|p| matches!(p, Piece::Variable { .. })) {
        return Err("the pattern has no variables".to_string());
    }
    demote_duplicates(&mut pieces);
    for w in pieces.windows(2) {
        if let [Piece::Variable { target, shown: a, .. }, Piece::Variable { shown: b, column, .. }] =
            w
        {
            if width_of(target).is_none() {
                return Err(format!(
                    "`{b}` at column {column} follows `{a}` with no text between them, so where \
                     `{a}` ends cannot be told"
                ));
            }
        }
    }
    let name_at = |i: usize| match pieces.get(i) {
        Some(Piece::Variable { name, .. }) => Some(*name),
        _ => None,
    };
    let mut segments = Vec::with_capacity(pieces.len());
    for (i, piece) in pieces.iter().enumerate() {
        segments.push(match piece {
            Piece::Literal(bytes) => Segment::Literal {
                near: i
                    .checked_sub(1)
                    .and_then(name_at)
                    .or_else(|| name_at(i + 1))
                    .unwrap_or("log_format"),
                finder: Box::new(Finder::new(bytes).into_owned()),
            },
            Piece::Variable { target, name, .. } => Segment::Variable(Variable {
                width: width_of(target),
                list: is_list(target),
                target: target.clone(),
                name,
            }),
        });
    }
    Ok(segments)
}

/// Where a pattern has two sources for one field, the weaker one becomes a label:
/// `$host`/`%V` (the request's Host) over `$server_name`/`%v` (the configured name), the body
/// byte count over the count with headers.
fn demote_duplicates(pieces: &mut [Piece]) {
    let has = |pieces: &[Piece], names: &[&str]| {
        pieces
            .iter()
            .any(|p| matches!(p, Piece::Variable { shown, .. } if names.contains(&shown.as_str())))
    };
    let request_host = has(pieces, &["$host", "$http_host", "%V", "%{Host}i"]);
    let body_bytes = has(pieces, &["$body_bytes_sent", "%b", "%B"]);
    for p in pieces.iter_mut() {
        if let Piece::Variable { target, shown, .. } = p {
            let label = match shown.as_str() {
                "$server_name" | "%v" if request_host => "server_name",
                "$bytes_sent" if body_bytes => "bytes_sent",
                "%O" if body_bytes => "bytes_sent",
                _ => continue,
            };
            *target = Target::Label(label.to_string());
        }
    }
}

impl Decoder for LogFormatDecoder {
    fn name(&self) -> &str {
        &self.name
    }

    fn decode(&self, line: &[u8]) -> Result<EventData, DecodeError> {
        let line = super::text::trim_line_end(line);
        let mut ev = EventData { dataset: DATASET, ..EventData::default() };
        let t = LineText::new(line);
        let mut pos = 0;
        let mut last_name = "log_format";
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal { finder, near } => {
                    if !line[pos..].starts_with(finder.needle()) {
                        return Err(DecodeError::at(
                            pos + 1,
                            near,
                            "the line does not have the format's text here",
                        ));
                    }
                    pos += finder.needle().len();
                }
                Segment::Variable(var) => {
                    let end = match (var.width, self.segments.get(i + 1)) {
                        (Some(w), _) => pos + w,
                        (None, Some(Segment::Literal { finder, .. })) => {
                            find_end(line, pos, finder, var.list).ok_or(DecodeError::at(
                                pos + 1,
                                var.name,
                                "the text that follows this variable in the format is missing",
                            ))?
                        }
                        // Compilation refuses a variable followed by a variable.
                        (None, _) => line.len(),
                    };
                    let value = line.get(pos..end).ok_or(DecodeError::at(
                        pos + 1,
                        var.name,
                        "the line ends inside this variable",
                    ))?;
                    apply(var, &t, value, pos + 1, &mut ev)?;
                    pos = end;
                    last_name = var.name;
                }
            }
        }
        if pos != line.len() {
            return Err(DecodeError::at(
                pos + 1,
                last_name,
                "the line goes on after the format ends",
            ));
        }
        Ok(ev)
    }
}

/// Where a variable's value ends: the first occurrence of the next literal that is not
/// escaped by a backslash (Apache's `\"`) and, for lists, not a `, ` or ` : ` separator.
fn find_end(line: &[u8], start: usize, next: &Finder<'_>, list: bool) -> Option<usize> {
    let mut from = start;
    loop {
        let at = from + next.find(&line[from..])?;
        let backslashes = line[start..at].iter().rev().take_while(|&&b| b == b'\\').count();
        let separator = list
            && (line[start..at].ends_with(b",")
                || line[start..at].ends_with(b" :")
                || line[at..].starts_with(b" : "));
        if backslashes % 2 == 0 && !separator {
            return Some(at);
        }
        from = at + 1;
    }
}

fn apply(
    var: &Variable,
    t: &LineText<'_>,
    value: &[u8],
    column: usize,
    ev: &mut EventData,
) -> Result<(), DecodeError> {
    if value.is_empty() || value == b"-" {
        return Ok(());
    }
    let bad = |reason: &'static str| DecodeError::at(column, var.name, reason);
    match &var.target {
        Target::Client => match memchr::memrchr(b',', value) {
            // `$proxy_add_x_forwarded_for` in the client's place: the peer comes last.
            Some(comma) => {
                set_forwarded_for(t, value[..comma].trim_ascii(), ev);
                set_peer(t, value[comma + 1..].trim_ascii(), ev);
            }
            None => set_peer(t, value, ev),
        },
        Target::ClientPort => {
            ev.source_port = Some(
                number::count(value)
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or(bad("expected a port number"))?,
            )
        }
        Target::User => ev.user_name = Some(t.text(value)),
        Target::TimeLocal => {
            ev.timestamp_ms = clock::clf_time_ms(value)
                .ok_or(bad("expected a time like 10/Oct/2000:13:55:36 -0700"))?
        }
        Target::TimeBracketed => {
            ev.timestamp_ms = value
                .strip_prefix(b"[")
                .and_then(|v| v.strip_suffix(b"]"))
                .and_then(clock::clf_time_ms)
                .ok_or(bad("expected a time like [10/Oct/2000:13:55:36 -0700]"))?
        }
        Target::TimeIso8601 => {
            ev.timestamp_ms = clock::rfc3339_ms(value)
                .ok_or(bad("expected a time like 2000-10-10T13:55:36-07:00"))?
        }
        Target::EpochSeconds => {
            ev.timestamp_ms = clock::epoch_seconds_ms(value).ok_or(bad("expected epoch seconds"))?
        }
        Target::EpochMillis => {
            ev.timestamp_ms =
                clock::epoch_millis_ms(value).ok_or(bad("expected epoch milliseconds"))?
        }
        Target::EpochMicros => {
            ev.timestamp_ms =
                clock::epoch_micros_ms(value).ok_or(bad("expected epoch microseconds"))?
        }
        Target::Request => apply_request(ev, t, value),
        Target::Method => ev.http_method = Some(t.text(value)),
        Target::RequestUri => apply_target(ev, t, false, value),
        Target::Path => ev.url_path = Some(t.text(value)),
        Target::Query => ev.url_query = Some(t.text(value)),
        Target::QueryWithMark => apply_path_and_query(ev, t, value),
        Target::Protocol => ev.http_version = version_of_protocol(t, value),
        Target::Status => {
            ev.status_code =
                Some(number::status(value).ok_or(bad("expected a status code of up to 3 digits"))?)
        }
        Target::ResponseBytes => {
            ev.response_bytes = Some(number::count(value).ok_or(bad("expected a byte count"))?)
        }
        Target::RequestBytes => {
            ev.request_bytes = Some(number::count(value).ok_or(bad("expected a byte count"))?)
        }
        Target::DurationSeconds => {
            ev.duration_ns = Some(number::seconds_to_ns(value).ok_or(bad("expected seconds"))?)
        }
        Target::DurationMillis => {
            ev.duration_ns = Some(number::millis_to_ns(value).ok_or(bad("expected milliseconds"))?)
        }
        Target::DurationMicros => {
            ev.duration_ns = Some(number::micros_to_ns(value).ok_or(bad("expected microseconds"))?)
        }
        Target::Referrer => ev.referrer = t.opt_text(value),
        Target::UserAgent => ev.user_agent = t.opt_text(value),
        Target::ForwardedFor => set_forwarded_for(t, value, ev),
        Target::Domain => ev.url_domain = Some(t.text(addr::host_of_authority(value))),
        Target::Header(name) => ev.headers.push((name.clone(), t.text(value).to_string())),
        Target::Cookie(name) => {
            ev.headers.push(("cookie".to_string(), format!("{name}={}", t.text(value))))
        }
        Target::Label(name) => ev.labels.push((name.clone(), t.text(value).to_string())),
        Target::Ignore => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAIN: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time "$http_x_forwarded_for" $host $request_id $http_authorization"#;

    fn compile(p: &str) -> LogFormatDecoder {
        LogFormatDecoder::compile("t", p).unwrap_or_else(|e| panic!("{e}"))
    }

    fn compile_error(p: &str) -> String {
        LogFormatDecoder::compile("t", p).err().expect("should not compile").to_string()
    }

    #[test]
    fn nginx_main_format_with_additions() {
        let d = compile(MAIN);
        let ev = d
            .decode(br#"192.0.2.7 - bob [10/Oct/2000:13:55:36 -0700] "GET /x?y=1 HTTP/1.1" 200 5 "-" "curl/8" 0.120 0.100, 0.020 "198.51.100.1, 10.0.0.2" api.example.com 7f3a Bearer abc.def"#)
            .unwrap();
        assert_eq!(ev.source_ip, Some("192.0.2.7".parse().unwrap()));
        assert_eq!(ev.user_name.as_deref(), Some("bob"));
        assert_eq!(ev.timestamp_ms, 971_211_336_000);
        assert_eq!(ev.url_path.as_deref(), Some("/x"));
        assert_eq!(ev.status_code, Some(200));
        assert_eq!(ev.user_agent.as_deref(), Some("curl/8"));
        assert_eq!(ev.duration_ns, Some(120_000_000));
        assert_eq!(ev.label("upstream_response_time"), Some("0.100, 0.020"));
        assert_eq!(ev.forwarded_for.as_deref(), Some("198.51.100.1, 10.0.0.2"));
        assert_eq!(ev.url_domain.as_deref(), Some("api.example.com"));
        assert_eq!(ev.label("request_id"), Some("7f3a"));
        assert_eq!(ev.header("authorization"), Some("Bearer abc.def"));
    }

    #[test]
    fn apache_log_format() {
        let d = compile(
            r#"%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\" %D %{SESSION}C"#,
        );
        let ev = d
            .decode(br#"www.example.com:443 192.0.2.8 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 302 310 "-" "Mozilla \"x\"" 1500 abc"#)
            .unwrap();
        assert_eq!(ev.url_domain.as_deref(), Some("www.example.com"));
        assert_eq!(ev.label("server_port"), Some("443"));
        assert_eq!(ev.status_code, Some(302));
        assert_eq!(ev.response_bytes, Some(310));
        assert_eq!(ev.user_agent.as_deref(), Some("Mozilla \"x\""));
        assert_eq!(ev.duration_ns, Some(1_500_000));
        assert_eq!(ev.header("cookie"), Some("SESSION=abc"));
    }

    #[test]
    fn compile_errors_name_the_variable_and_column() {
        assert_eq!(
            compile_error("$remote_addr$status"),
            "format `t`: `$status` at column 13 follows `$remote_addr` with no text between them, \
             so where `$remote_addr` ends cannot be told"
        );
        assert_eq!(
            compile_error("a $ b $x"),
            "format `t`: `$` at column 3 is not followed by a variable name"
        );
        assert_eq!(
            compile_error("${host x"),
            "format `t`: `${` at column 1 is not closed with `}`"
        );
        assert_eq!(
            compile_error("%h %Z"),
            "format `t`: `%Z` at column 4: unknown or unsupported directive"
        );
        assert_eq!(
            compile_error("%h %{x}"),
            "format `t`: `%` at column 4 is not followed by a directive"
        );
        assert_eq!(compile_error("%h %{%d/%b}t"), "format `t`: `%{%d/%b}t` at column 4: only %t, %{sec}t, %{msec}t and %{usec}t times are supported");
        assert_eq!(compile_error("just text"), "format `t`: the pattern has no variables");
        // A fixed-width time may touch the next variable.
        compile("[$time_local]$status");
    }

    #[test]
    fn decode_errors_name_the_variable() {
        let d = compile(r#"$remote_addr [$time_local] "$request" $status"#);
        let e = d
            .decode(br#"192.0.2.1 [10/Oct/2000:13:55:36 +0000] "GET /secret HTTP/1.1" abc"#)
            .unwrap_err();
        assert_eq!(e.to_string(), "column 63, status: expected a status code of up to 3 digits");
        let e = d.decode(br#"192.0.2.1 [10/Oct/2000:13:55:36 +0000] "GET /secret"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "column 41, request: the text that follows this variable in the format is missing"
        );
        let e = d.decode(b"192.0.2.1 [10/Oct").unwrap_err();
        assert_eq!(e.to_string(), "column 12, time_local: the line ends inside this variable");
        let e =
            d.decode(br#"192.0.2.1 [10/Oct/2000:13:55:36 +0000] "GET /" 200 more"#).unwrap_err();
        assert_eq!(e.to_string(), "column 48, status: expected a status code of up to 3 digits");
    }

    #[test]
    fn precedence_between_duplicate_sources() {
        let d = compile("$server_name $host $bytes_sent $body_bytes_sent");
        let ev = d.decode(b"default a.example 900 800").unwrap();
        assert_eq!(ev.url_domain.as_deref(), Some("a.example"));
        assert_eq!(ev.label("server_name"), Some("default"));
        assert_eq!(ev.response_bytes, Some(800));
        assert_eq!(ev.label("bytes_sent"), Some("900"));
    }

    proptest! {
        #[test]
        fn random_lines_never_panic(line in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = compile(MAIN).decode(&line);
            let _ = compile("[$time_local]$status $time_iso8601 $msec").decode(&line);
        }

        #[test]
        fn random_patterns_never_panic(p in "[-$%{}a-z_ \\\\\"\\[\\]<>!0-9]{0,40}") {
            if let Ok(d) = LogFormatDecoder::compile("p", &p) {
                let _ = d.decode(b"192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] \"GET / HTTP/1.1\" 200 1");
            }
        }
    }
}
