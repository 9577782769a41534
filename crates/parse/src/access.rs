//! nginx and Apache access logs: one hand-written scanner for the common and combined
//! families and their usual additions, and [`LogFormatDecoder`] for any `log_format`.
//!
//! What [`AccessLogDecoder`] reads, in order (fields in brackets are optional):
//!
//! ```text
//! [vhost[:port]] ["xff" | xff, list] client ident user [time] "request" status bytes
//!     ["referer" "user-agent"] [request_time] [upstream_response_time] ["x-forwarded-for"]
//! ```
//!
//! and mod_ssl's `[time] client protocol cipher "request" bytes`. Every variant produces the
//! dataset `http.access`: nginx and Apache write the same lines, so the line cannot say which
//! server wrote it.

// The shared text helpers live under `src/text/`; they are declared here because this module
// is the first text decoder and `lib.rs` lists only decoders.
#[path = "text/mod.rs"]
pub(crate) mod text;

mod logformat;

pub use logformat::LogFormatDecoder;

use crate::{DecodeError, Decoder};
use apiwatch_core::EventData;
use memchr::memchr_iter;
use std::net::{IpAddr, Ipv4Addr};
use text::clock::{clf_time_ms, CLF_TIME_BYTES};
use text::cursor::Cursor;
use text::unescape::LineText;
use text::{addr, number, request};

/// `event.dataset` of every access-log event.
pub const DATASET: &str = "http.access";

/// Label holding a client that is not an IP address (a hostname when `HostnameLookups` is on,
/// `unix:` for a Unix-socket peer).
pub const CLIENT_ADDRESS_LABEL: &str = "client.address";

/// Fields before the time: vhost, X-Forwarded-For, client, ident, user.
const HEAD_FIELDS_MAX: usize = 5;

/// Fields after the byte count that are looked at; later ones are ignored.
const TRAILING_FIELDS_MAX: usize = 8;

/// Decoder of nginx and Apache access logs (`nginx`, `apache`, `combined`, `common`).
#[derive(Clone, Debug, Default)]
pub struct AccessLogDecoder {
    _private: (),
}

impl AccessLogDecoder {
    /// The decoder; it keeps no state between lines.
    pub fn new() -> Self {
        AccessLogDecoder { _private: () }
    }
}

impl Decoder for AccessLogDecoder {
    fn name(&self) -> &str {
        "nginx"
    }

    fn decode(&self, line: &[u8]) -> Result<EventData, DecodeError> {
        let line = text::trim_line_end(line);
        if line.first() == Some(&b'[') {
            decode_ssl_request(line)
        } else {
            decode_common(line)
        }
    }
}

/// A field of the part before the time: a bare word, a bare comma list, or a quoted string.
#[derive(Clone, Copy, Default)]
struct HeadField {
    start: usize,
    end: usize,
    quoted: bool,
    list: bool,
}

impl HeadField {
    fn bytes<'a>(&self, line: &'a [u8]) -> &'a [u8] {
        &line[self.start..self.end]
    }
}

fn decode_common(line: &[u8]) -> Result<EventData, DecodeError> {
    let mut ev = EventData { dataset: DATASET, ..EventData::default() };
    fill_common(line, &mut ev)?;
    Ok(ev)
}

fn fill_common(line: &[u8], ev: &mut EventData) -> Result<(), DecodeError> {
    let (open, t) = match plain_start(line) {
        Some(start) => {
            // From the user on: most of the text of the line is here (request, referer, user
            // agent), and quoted fields are searched for backslashes anyway (the user has
            // none), so this part is only checked for UTF-8, and each field without a
            // backslash is read through `t.unescaped()`.
            let t = LineText::utf8_checked(&line[start.user..]);
            ev.timestamp_ms = start.timestamp_ms;
            ev.source_ip = Some(IpAddr::V4(start.client));
            ev.user_name = t.unescaped().opt_text(&line[start.user..start.open - 1]);
            (start.open, t)
        }
        None => {
            let (open, timestamp_ms) = find_time(line)?;
            ev.timestamp_ms = timestamp_ms;
            let t = LineText::new(line);
            // `find_time` only accepts a `[` preceded by a space, so `open >= 1`.
            if !read_plain_head(line, &t, open - 1, ev) {
                read_head(line, &t, open - 1, ev)?;
            }
            (open, t)
        }
    };

    let mut c = Cursor::at(line, open + CLF_TIME_BYTES + 2);
    expect_space(&mut c, "request")?;
    let request_column = c.column();
    if c.peek() != Some(b'"') {
        return Err(DecodeError::at(request_column, "request", "expected a quoted request line"));
    }
    let (raw_request, escaped) = c.quoted_field().ok_or(DecodeError::at(
        request_column,
        "request",
        "the quoted request line is not closed",
    ))?;
    request::apply_request(ev, &field_text(&t, escaped), raw_request);

    expect_space(&mut c, "status")?;
    let status_column = c.column();
    // The usual status, three digits and a space, read in place; anything else (`-`, a
    // short or bad code, the end of the line) takes the general reading below.
    if let Some(code) = c.three_digits_then_space() {
        ev.status_code = Some(code);
    } else {
        let status = c.bare();
        if !text::is_dash(status) {
            ev.status_code = Some(number::status(status).ok_or(DecodeError::at(
                status_column,
                "status",
                "expected a status code of up to 3 digits or `-`",
            ))?);
        }
    }

    expect_space(&mut c, "body_bytes_sent")?;
    let bytes_column = c.column();
    // The usual count read in place, as for the status.
    if let Some(count) = c.count_then_space() {
        ev.response_bytes = Some(count);
    } else {
        let bytes = c.bare();
        if !text::is_dash(bytes) {
            ev.response_bytes = Some(number::count(bytes).ok_or(DecodeError::at(
                bytes_column,
                "body_bytes_sent",
                "expected a byte count or `-`",
            ))?);
        }
    }

    read_trailing(&mut c, &t, ev)
}

/// How to read a field with or without a backslash in it.
fn field_text<'a>(t: &LineText<'a>, escaped: bool) -> LineText<'a> {
    if escaped {
        *t
    } else {
        t.unescaped()
    }
}

/// The start of the usual line, `a.b.c.d ident user [time]`, read in one pass.
struct PlainStart {
    client: Ipv4Addr,
    /// Index of the first byte of the user field.
    user: usize,
    /// Index of the `[` that opens the time.
    open: usize,
    timestamp_ms: i64,
}

/// Reads `a.b.c.d ident user [time]` with single spaces, neither `ident` nor `user` empty,
/// holding `"`, `,`, `[` or a backslash or starting with `:`, and a valid time. On such a
/// line [`find_time`] finds this `[` (no `[` comes before it) and [`read_plain_head`] reads
/// the same IPv4 client and user; both are done here in a single scan. `None` for anything
/// else, which takes the general path.
fn plain_start(line: &[u8]) -> Option<PlainStart> {
    let (client, len) = addr::ipv4_prefix(line)?;
    if line.get(len) != Some(&b' ') {
        return None;
    }
    let ident = len + 1;
    let user = ident + plain_word_len(line.get(ident..)?)? + 1;
    let open = user + plain_word_len(line.get(user..)?)? + 1;
    if line.get(open) != Some(&b'[') {
        return None;
    }
    let close = open + CLF_TIME_BYTES + 1;
    if line.get(close) != Some(&b']') {
        return None;
    }
    let timestamp_ms = clf_time_ms(&line[open + 1..close])?;
    Some(PlainStart { client, user, open, timestamp_ms })
}

/// Length of the word at the start of `rest`, which a space must end: not empty, not
/// starting with `:`, without `"`, `,` or `[`, nor a backslash (so that the user name is
/// known to need no unescaping).
fn plain_word_len(rest: &[u8]) -> Option<usize> {
    if matches!(rest.first(), None | Some(b' ' | b':')) {
        return None;
    }
    let end = rest.iter().position(|&b| PLAIN_WORD_STOP[usize::from(b)])?;
    (rest[end] == b' ').then_some(end)
}

/// Bytes that end a word of [`plain_word_len`], as a table: the test runs on every byte of
/// `ident user` on every line.
const PLAIN_WORD_STOP: [bool; 256] = {
    let mut t = [false; 256];
    t[b' ' as usize] = true;
    t[b'"' as usize] = true;
    t[b',' as usize] = true;
    t[b'[' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Finds `[dd/Mon/yyyy:hh:mm:ss +zzzz]` after a space: the anchor of the line. Returns the
/// index of `[` and the time. Brackets elsewhere (an IPv6 vhost) are skipped.
fn find_time(line: &[u8]) -> Result<(usize, i64), DecodeError> {
    let mut first_bracket = None;
    for open in memchr_iter(b'[', line) {
        first_bracket.get_or_insert(open);
        if open == 0 || line[open - 1] != b' ' {
            continue;
        }
        let close = open + CLF_TIME_BYTES + 1;
        if line.get(close) != Some(&b']') {
            continue;
        }
        if let Some(ms) = clf_time_ms(&line[open + 1..close]) {
            return Ok((open, ms));
        }
    }
    Err(match first_bracket {
        Some(open) => DecodeError::at(
            open + 1,
            "time_local",
            "expected a time like [10/Oct/2000:13:55:36 -0700]",
        ),
        None => DecodeError::field("time_local", "no [time] field in the line"),
    })
}

fn expect_space(c: &mut Cursor<'_>, field: &'static str) -> Result<(), DecodeError> {
    if c.eat(b' ') {
        Ok(())
    } else if c.at_end() {
        Err(DecodeError::at(c.column(), field, "the line ends before this field"))
    } else {
        Err(DecodeError::at(c.column(), field, "expected a space before this field"))
    }
}

/// Splits the part before the time into fields.
fn head_fields(
    line: &[u8],
    end: usize,
) -> Result<([HeadField; HEAD_FIELDS_MAX], usize), DecodeError> {
    let head = &line[..end];
    let mut c = Cursor::new(head);
    let mut fields = [HeadField::default(); HEAD_FIELDS_MAX];
    let mut n = 0;
    loop {
        c.skip_spaces();
        if c.at_end() {
            break;
        }
        if n == HEAD_FIELDS_MAX {
            return Err(DecodeError::at(
                c.column(),
                "remote_addr",
                "too many fields before the time for a common or combined log line",
            ));
        }
        let start = c.pos();
        let field = if c.peek() == Some(b'"') {
            let content = c.quoted().ok_or(DecodeError::at(
                start + 1,
                "http_x_forwarded_for",
                "the quoted field is not closed",
            ))?;
            HeadField {
                start: start + 1,
                end: start + 1 + content.len(),
                quoted: true,
                list: false,
            }
        } else {
            let list = c.bare_list();
            let list_flag = list.contains(&b',');
            HeadField { start, end: start + list.len(), quoted: false, list: list_flag }
        };
        fields[n] = field;
        n += 1;
    }
    Ok((fields, n))
}

/// Reads the part before the time when it is the plain `client ident user`: three fields
/// between single spaces, none quoted, a list or starting with `:`, so that [`read_head`]
/// would read them the same way. Returns `false`, having set nothing, for any other head.
fn read_plain_head(line: &[u8], t: &LineText<'_>, end: usize, ev: &mut EventData) -> bool {
    let head = &line[..end];
    // Most clients are IPv4 addresses: read one in place, so that only `ident user` is left
    // to scan for separators.
    // The address is read from the whole line, so that the reader's window is rarely short;
    // it stops at the space that ends the head at the latest, and must end before it.
    let (client_v4, scan_from) = match addr::ipv4_prefix(line) {
        Some((ip, len)) if len < end && line[len] == b' ' => (Some(ip), len + 1),
        _ => (None, 0),
    };
    let mut spaces = [0; 2];
    let mut n = 0;
    if client_v4.is_some() {
        spaces[0] = scan_from - 1;
        n = 1;
    }
    for (i, &b) in head.iter().enumerate().skip(scan_from) {
        match b {
            b' ' => {
                if n == spaces.len() {
                    return false;
                }
                spaces[n] = i;
                n += 1;
            }
            b'"' | b',' => return false,
            _ => {}
        }
    }
    let [sp1, sp2] = spaces;
    if n != 2 || sp1 == 0 || sp2 == sp1 + 1 || sp2 + 1 == end {
        return false;
    }
    if [0, sp1 + 1, sp2 + 1].iter().any(|&s| head[s] == b':') {
        return false;
    }
    match client_v4 {
        Some(ip) => ev.source_ip = Some(IpAddr::V4(ip)),
        None => set_peer(t, &head[..sp1], ev),
    }
    ev.user_name = t.opt_text(&head[sp2 + 1..]);
    true
}

/// Reads vhost, X-Forwarded-For, client and user from the part before the time.
fn read_head(
    line: &[u8],
    t: &LineText<'_>,
    end: usize,
    ev: &mut EventData,
) -> Result<(), DecodeError> {
    let (fields, n) = head_fields(line, end)?;
    if n < 3 {
        return Err(DecodeError::at(
            1,
            "remote_addr",
            "expected `client ident user` before the time",
        ));
    }
    let user = fields[n - 1];
    // fields[n - 2] is the RFC 1413 ident, which no server fills any more.
    if !user.quoted {
        ev.user_name = t.opt_text(user.bytes(line));
    }
    match &fields[..n - 2] {
        [client] => set_client(line, t, client, ev),
        [first, client] => {
            if first.quoted || (first.list && !client.list) {
                set_forwarded_for(t, first.bytes(line), ev);
            } else {
                set_vhost(t, first.bytes(line), ev);
            }
            set_client(line, t, client, ev);
        }
        [vhost, forwarded, client] => {
            set_vhost(t, vhost.bytes(line), ev);
            set_forwarded_for(t, forwarded.bytes(line), ev);
            set_client(line, t, client, ev);
        }
        _ => {
            return Err(DecodeError::at(
                fields[0].start + 1,
                "remote_addr",
                "too many fields before the time for a common or combined log line",
            ))
        }
    }
    Ok(())
}

/// `url.domain` from a virtual-host field. The port (`example.com:443`) is the server's
/// listening port, which ECS's `url.domain` does not carry; it is dropped.
fn set_vhost(t: &LineText<'_>, raw: &[u8], ev: &mut EventData) {
    let host = addr::host_of_authority(raw);
    if !host.is_empty() && !text::is_dash(host) {
        ev.url_domain = Some(t.text(host));
    }
}

fn set_forwarded_for(t: &LineText<'_>, raw: &[u8], ev: &mut EventData) {
    if let Some(v) = t.opt_text(raw) {
        ev.forwarded_for = Some(v);
    }
}

/// The client field. A list (`10.0.0.2, 10.0.0.1, 127.0.0.1`, what nginx's
/// `$proxy_add_x_forwarded_for` writes) ends with the peer: the peer becomes `source.ip`
/// and the entries before it are the X-Forwarded-For the peer sent, which enrichment
/// resolves against its trusted proxies.
fn set_client(line: &[u8], t: &LineText<'_>, field: &HeadField, ev: &mut EventData) {
    let raw = field.bytes(line);
    let peer = match raw.iter().rposition(|&b| b == b',') {
        Some(comma) if field.list => {
            if ev.forwarded_for.is_none() {
                set_forwarded_for(t, raw[..comma].trim_ascii(), ev);
            }
            raw[comma + 1..].trim_ascii()
        }
        _ => raw,
    };
    set_peer(t, peer, ev);
}

/// `source.ip` from an address, or the `client.address` label for anything else.
fn set_peer(t: &LineText<'_>, raw: &[u8], ev: &mut EventData) {
    if raw.is_empty() || text::is_dash(raw) {
        return;
    }
    match addr::ip(raw) {
        Some(ip) => ev.source_ip = Some(ip),
        None => ev.labels.push((CLIENT_ADDRESS_LABEL.to_string(), t.text(raw).to_string())),
    }
}

/// One field after the byte count.
#[derive(Clone, Copy)]
struct TrailingField<'a> {
    raw: &'a [u8],
    quoted: bool,
    /// A quoted field that holds a backslash.
    escaped: bool,
}

/// Reads what follows the byte count: referer and user agent (combined), then nginx's
/// `$request_time`, `$upstream_response_time` and a quoted X-Forwarded-For, in any order.
/// Other appended fields are ignored: their meaning cannot be told from the line (a
/// `log_format` says it; see [`LogFormatDecoder`]).
///
/// Fields are applied as they are read; a field that cannot be read fails the whole line,
/// so what was applied before it is never seen.
fn read_trailing(
    c: &mut Cursor<'_>,
    t: &LineText<'_>,
    ev: &mut EventData,
) -> Result<(), DecodeError> {
    if read_usual_trailing(c, t, ev) {
        return Ok(());
    }
    let mut appended = AppendedFields::default();
    let Some(first) = next_trailing(c, 0)? else {
        return Ok(());
    };
    let mut n = 1;
    if first.quoted {
        match next_trailing(c, 1)? {
            Some(second) if second.quoted => {
                ev.referrer = field_text(t, first.escaped).opt_text(first.raw);
                ev.user_agent = field_text(t, second.escaped).opt_text(second.raw);
            }
            Some(second) => {
                appended.apply(first, t, ev);
                appended.apply(second, t, ev);
            }
            None => {
                appended.apply(first, t, ev);
                return Ok(());
            }
        }
        n = 2;
    } else {
        appended.apply(first, t, ev);
    }
    while n < TRAILING_FIELDS_MAX {
        let Some(field) = next_trailing(c, n)? else {
            break;
        };
        appended.apply(field, t, ev);
        n += 1;
    }
    Ok(())
}

/// Reads the usual ending, ` "referer" "user agent"` then up to
/// [`USUAL_TIMES_MAX`] bare fields of digits, dots and dashes (`0.123 0.120`), each after a
/// single space, to the end of the line, as [`read_trailing`] reads it. Returns `false`,
/// having set nothing and left the cursor where it was, for any other ending.
///
/// Neither quoted field may hold a backslash, and each must close at its first quote: that
/// is where [`Cursor::quoted_field`] closes it too, and the bare fields cannot be lists, so
/// the general reading finds the same fields; this one spares its per-field steps (space
/// runs, list and colon look-ahead, the field-by-field state) on almost every line.
fn read_usual_trailing(c: &mut Cursor<'_>, t: &LineText<'_>, ev: &mut EventData) -> bool {
    let line = c.line();
    let start = c.pos();
    let Some(referer_end) = usual_quoted_end(line, start) else {
        return false;
    };
    let Some(agent_end) = usual_quoted_end(line, referer_end + 1) else {
        return false;
    };
    let mut bare = [&line[..0]; USUAL_TIMES_MAX];
    let mut n = 0;
    let mut i = agent_end + 1;
    while i < line.len() {
        // A space, then a non-empty field of time bytes ended by a space or the line end.
        if n == USUAL_TIMES_MAX || line[i] != b' ' {
            return false;
        }
        let field_start = i + 1;
        let len =
            line[field_start..].iter().take_while(|&&b| USUAL_TIME_BYTES[usize::from(b)]).count();
        let field_end = field_start + len;
        if len == 0 || !matches!(line.get(field_end), None | Some(b' ')) {
            return false;
        }
        bare[n] = &line[field_start..field_end];
        n += 1;
        i = field_end;
    }
    let u = t.unescaped();
    ev.referrer = u.opt_text(&line[start + 2..referer_end]);
    ev.user_agent = u.opt_text(&line[referer_end + 3..agent_end]);
    let mut appended = AppendedFields::default();
    for raw in &bare[..n] {
        appended.apply(TrailingField { raw, quoted: false, escaped: false }, t, ev);
    }
    c.set_pos(line.len());
    true
}

/// Bare fields after the user agent that [`read_usual_trailing`] reads; a line with more
/// takes the general path.
const USUAL_TIMES_MAX: usize = 2;

/// Bytes of the bare fields [`read_usual_trailing`] reads: those of nginx's times and of the
/// `-` placeholder. None is a comma or a colon, so such a field is never part of a list.
const USUAL_TIME_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = b'0';
    while b <= b'9' {
        t[b as usize] = true;
        b += 1;
    }
    t[b'.' as usize] = true;
    t[b'-' as usize] = true;
    t
};

/// For ` "text"` at `at` (one space, then a quoted field), the index of the closing quote,
/// when the content holds no backslash and its first quote is followed by a space or the end
/// of the line; `None` otherwise.
#[inline]
fn usual_quoted_end(line: &[u8], at: usize) -> Option<usize> {
    if line.get(at..at + 2)? != b" \"" {
        return None;
    }
    let content = at + 2;
    let end = content + memchr::memchr2(b'"', b'\\', &line[content..])?;
    (line[end] == b'"' && matches!(line.get(end + 1), None | Some(b' '))).then_some(end)
}

/// The trailing field at the cursor, `index` fields after the byte count, or `None` at the
/// end of the line (trailing spaces included).
fn next_trailing<'a>(
    c: &mut Cursor<'a>,
    index: usize,
) -> Result<Option<TrailingField<'a>>, DecodeError> {
    let before = c.pos();
    c.skip_spaces();
    if c.at_end() {
        return Ok(None);
    }
    if c.pos() == before {
        return Err(DecodeError::at(c.column(), trailing_name(index), "expected a space here"));
    }
    let column = c.column();
    let field = if c.peek() == Some(b'"') {
        let (raw, escaped) = c.quoted_field().ok_or(DecodeError::at(
            column,
            trailing_name(index),
            "the quoted field is not closed",
        ))?;
        TrailingField { raw, quoted: true, escaped }
    } else {
        TrailingField { raw: c.bare_list(), quoted: false, escaped: false }
    };
    Ok(Some(field))
}

/// What the fields after referer and user agent have said so far: the first quoted one is
/// the X-Forwarded-For, the first bare one the request time and the second the upstream
/// times.
#[derive(Default)]
struct AppendedFields {
    seen_forwarded_for: bool,
    bare_seen: u8,
}

impl AppendedFields {
    fn apply(&mut self, f: TrailingField<'_>, t: &LineText<'_>, ev: &mut EventData) {
        if f.quoted {
            if !self.seen_forwarded_for {
                self.seen_forwarded_for = true;
                // An explicit X-Forwarded-For field says more than a client list.
                if let Some(v) = field_text(t, f.escaped).opt_text(f.raw) {
                    ev.forwarded_for = Some(v);
                }
            }
            return;
        }
        match self.bare_seen {
            0 if text::is_dash(f.raw) => self.bare_seen += 1,
            0 => {
                if let Some(ns) = number::fractional_seconds_to_ns(f.raw) {
                    ev.duration_ns = Some(ns);
                    self.bare_seen += 1;
                }
            }
            1 => {
                if !text::is_dash(f.raw) && is_upstream_times(f.raw) {
                    ev.labels
                        .push(("upstream_response_time".to_string(), t.text(f.raw).to_string()));
                }
                self.bare_seen += 1;
            }
            _ => {}
        }
    }
}

/// `0.004`, `0.004, 0.002 : 0.001`, `-` entries: what nginx writes for upstream times.
fn is_upstream_times(raw: &[u8]) -> bool {
    raw.iter().all(|&b| b.is_ascii_digit() || matches!(b, b'.' | b',' | b' ' | b':' | b'-'))
}

fn trailing_name(index: usize) -> &'static str {
    match index {
        0 => "http_referer",
        1 => "http_user_agent",
        _ => "appended field",
    }
}

/// mod_ssl's `ssl_request_log`: `[time] client protocol cipher "request" bytes`.
fn decode_ssl_request(line: &[u8]) -> Result<EventData, DecodeError> {
    let close = CLF_TIME_BYTES + 1;
    let timestamp_ms = match line.get(close) {
        Some(b']') => clf_time_ms(&line[1..close]),
        _ => None,
    }
    .ok_or(DecodeError::at(1, "time", "expected a time like [10/Oct/2000:13:55:36 -0700]"))?;
    let mut ev = EventData { timestamp_ms, dataset: DATASET, ..EventData::default() };
    let t = LineText::new(line);
    let mut c = Cursor::at(line, close + 1);
    expect_space(&mut c, "remote_addr")?;
    set_peer(&t, c.bare(), &mut ev);
    for label in ["ssl_protocol", "ssl_cipher"] {
        expect_space(&mut c, label)?;
        if let Some(v) = t.opt_text(c.bare()) {
            ev.labels.push((label.to_string(), v.to_string()));
        }
    }
    expect_space(&mut c, "request")?;
    let request_column = c.column();
    let raw_request = c.quoted().ok_or(DecodeError::at(
        request_column,
        "request",
        "expected a quoted request line",
    ))?;
    request::apply_request(&mut ev, &t, raw_request);
    expect_space(&mut c, "bytes")?;
    let bytes_column = c.column();
    let bytes = c.bare();
    if !text::is_dash(bytes) {
        ev.response_bytes = Some(number::count(bytes).ok_or(DecodeError::at(
            bytes_column,
            "bytes",
            "expected a byte count or `-`",
        ))?);
    }
    if !c.at_end() {
        return Err(DecodeError::at(c.column(), "bytes", "unexpected text after the byte count"));
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiwatch_core::time::format_rfc3339_ms;
    use proptest::prelude::*;

    fn decode(line: &str) -> EventData {
        AccessLogDecoder::new().decode(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn error(line: &[u8]) -> String {
        AccessLogDecoder::new().decode(line).unwrap_err().to_string()
    }

    #[test]
    fn combined_line_fills_every_field() {
        let ev = decode(
            r#"203.0.113.9 - alice [10/Oct/2000:13:55:36 -0700] "GET /a?b=c HTTP/1.1" 200 2326 "http://r.example/" "curl/8.0""#,
        );
        assert_eq!(format_rfc3339_ms(ev.timestamp_ms), "2000-10-10T20:55:36.000Z");
        assert_eq!(ev.dataset, "http.access");
        assert_eq!(ev.source_ip, Some("203.0.113.9".parse().unwrap()));
        assert_eq!(ev.user_name.as_deref(), Some("alice"));
        assert_eq!(ev.http_method.as_deref(), Some("GET"));
        assert_eq!(ev.url_path.as_deref(), Some("/a"));
        assert_eq!(ev.url_query.as_deref(), Some("b=c"));
        assert_eq!(ev.http_version.as_deref(), Some("1.1"));
        assert_eq!(ev.status_code, Some(200));
        assert_eq!(ev.response_bytes, Some(2326));
        assert_eq!(ev.referrer.as_deref(), Some("http://r.example/"));
        assert_eq!(ev.user_agent.as_deref(), Some("curl/8.0"));
    }

    #[test]
    fn nginx_additions_are_read() {
        let ev = decode(
            r#"api.example.com:443 2001:db8::7 - - [10/Oct/2000:13:55:36 +0000] "POST /login HTTP/2.0" 401 12 "-" "python-requests/2.31" 0.250 0.248, 0.001 "198.51.100.4, 10.0.0.1""#,
        );
        assert_eq!(ev.url_domain.as_deref(), Some("api.example.com"));
        assert_eq!(ev.source_ip, Some("2001:db8::7".parse().unwrap()));
        assert_eq!(ev.referrer, None);
        assert_eq!(ev.duration_ns, Some(250_000_000));
        assert_eq!(ev.label("upstream_response_time"), Some("0.248, 0.001"));
        assert_eq!(ev.forwarded_for.as_deref(), Some("198.51.100.4, 10.0.0.1"));
    }

    #[test]
    fn escapes_in_quoted_fields_are_decoded() {
        let ev = decode(
            r#"192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET /\x22q HTTP/1.1" 200 1 "-" "a \"b\" caf\xC3\xA9 \xFF""#,
        );
        assert_eq!(ev.url_path.as_deref(), Some("/\"q"));
        assert_eq!(ev.user_agent.as_deref(), Some("a \"b\" café \u{FFFD}"));
    }

    #[test]
    fn errors_name_the_place_and_never_the_content() {
        let secret = "Bearer-s3cr3t-token";
        let line = format!(
            r#"192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET /?t={secret} HTTP/1.1" 2x0 1"#
        );
        let e = error(line.as_bytes());
        assert_eq!(e, "column 83, status: expected a status code of up to 3 digits or `-`");
        assert!(!e.contains(secret));
        let line = format!(r#"192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET /?t={secret}"#);
        let e = error(line.as_bytes());
        assert_eq!(e, "column 44, request: the quoted request line is not closed");
        assert_eq!(error(b"hello world"), "time_local: no [time] field in the line");
        assert_eq!(
            error(b"a - - [yesterday] \"GET / HTTP/1.1\" 200 1"),
            "column 7, time_local: expected a time like [10/Oct/2000:13:55:36 -0700]"
        );
        assert_eq!(
            error(b"- - [10/Oct/2000:13:55:36 +0000] \"GET / HTTP/1.1\" 200 1"),
            "column 1, remote_addr: expected `client ident user` before the time"
        );
    }

    #[test]
    fn ssl_request_log() {
        let ev = decode(
            r#"[16/Oct/2019:11:53:47 +0200] 81.2.69.143 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 "GET /appl?x=1 HTTP/1.1" -"#,
        );
        assert_eq!(ev.source_ip, Some("81.2.69.143".parse().unwrap()));
        assert_eq!(ev.label("ssl_protocol"), Some("TLSv1.2"));
        assert_eq!(ev.url_query.as_deref(), Some("x=1"));
        assert_eq!((ev.status_code, ev.response_bytes), (None, None));
    }

    /// The line start as the general path reads it: [`find_time`], then [`read_plain_head`].
    fn start_by_general_path(line: &[u8]) -> Option<(usize, i64, EventData)> {
        let (open, ms) = find_time(line).ok()?;
        let mut ev = EventData::default();
        read_plain_head(line, &LineText::new(line), open - 1, &mut ev).then_some((open, ms, ev))
    }

    /// What follows the byte count, read as the fields were before they were applied as they
    /// are read: all of them first, then referer and agent, then the rest in order.
    fn trailing_by_definition(line: &[u8]) -> Result<EventData, DecodeError> {
        let t = LineText::new(line);
        let mut c = Cursor::new(line);
        let mut fields = Vec::new();
        while fields.len() < TRAILING_FIELDS_MAX {
            match next_trailing(&mut c, fields.len())? {
                Some(f) => fields.push(f),
                None => break,
            }
        }
        let mut ev = EventData::default();
        let rest = match &fields[..] {
            [referer, agent, rest @ ..] if referer.quoted && agent.quoted => {
                ev.referrer = t.opt_text(referer.raw);
                ev.user_agent = t.opt_text(agent.raw);
                rest
            }
            _ => &fields[..],
        };
        let mut appended = AppendedFields::default();
        for f in rest {
            let f = TrailingField { escaped: f.raw.contains(&b'\\'), ..*f };
            appended.apply(f, &t, &mut ev);
        }
        Ok(ev)
    }

    fn trailing(line: &[u8]) -> Result<EventData, DecodeError> {
        let mut ev = EventData::default();
        read_trailing(&mut Cursor::new(line), &LineText::utf8_checked(line), &mut ev)?;
        Ok(ev)
    }

    #[test]
    fn the_plain_start_is_the_general_paths_reading() {
        let lines: [&[u8]; 14] = [
            b"10.1.2.3 - alice [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1",
            b"10.1.2.3 - - [10/Oct/2000:13:55:36 -0700] x",
            b"10.1.2.3 - a\\x41b [10/Oct/2000:13:55:36 -0700] x",
            b"10.1.2.3 - :x [10/Oct/2000:13:55:36 -0700] x",
            b"10.1.2.3  - - [10/Oct/2000:13:55:36 -0700] x",
            b"10.1.2.3 - a,b [10/Oct/2000:13:55:36 -0700] x",
            b"10.1.2.3 - a[b [10/Oct/2000:13:55:36 -0700] x",
            b"10.1.2.3 - [10/Oct/2000:13:55:36 -0700] [10/Oct/2000:13:55:36 -0700] x",
            b"10.1.2.3 - - [99/Oct/2000:13:55:36 -0700] [10/Oct/2000:13:55:36 -0700] x",
            b"10.1.2.3 - - [10/Oct/2000:13:55:36 -0700 x",
            b"010.1.2.3 - - [10/Oct/2000:13:55:36 -0700] x",
            b"10.1.2.3:80 - - [10/Oct/2000:13:55:36 -0700] x",
            b"10.1.2.3 - caf\xc3\xa9 [10/Oct/2000:13:55:36 -0700] x",
            b"10.1.2.3 - - - [10/Oct/2000:13:55:36 -0700] x",
        ];
        let mut read = 0;
        for line in lines {
            let Some(start) = plain_start(line) else { continue };
            read += 1;
            let (open, ms, ev) = start_by_general_path(line).expect("the general path reads it");
            assert_eq!((start.open, start.timestamp_ms), (open, ms));
            assert_eq!(Some(IpAddr::V4(start.client)), ev.source_ip);
            let user = LineText::new(line).opt_text(&line[start.user..start.open - 1]);
            assert_eq!(user, ev.user_name);
        }
        assert_eq!(read, 3, "the plain lines above are read on the plain path");
    }

    #[test]
    fn trailing_fields_escape_and_order() {
        let ev = trailing(br#" "http://r/" "a \"b\" \x41" 0.5 - "1.2.3.4""#).unwrap();
        assert_eq!(ev.referrer.as_deref(), Some("http://r/"));
        assert_eq!(ev.user_agent.as_deref(), Some(r#"a "b" A"#));
        assert_eq!(ev.duration_ns, Some(500_000_000));
        assert_eq!(ev.forwarded_for.as_deref(), Some("1.2.3.4"));
        let ev = trailing(br#" "\x31.2.3.4" 0.5"#).unwrap();
        assert_eq!((ev.forwarded_for.as_deref(), ev.user_agent), (Some("1.2.3.4"), None));
    }

    proptest! {
        /// Fields applied as they are read say what reading them all first said, errors
        /// included.
        #[test]
        fn trailing_fields_read_as_the_definition(
            parts in proptest::collection::vec(
                prop::sample::select(vec![
                    " ", "  ", "\"-\"", "\"a b\"", "\"x\\\"y\"", "\"\\x41\"", "-", "0.004",
                    "0.1,", ":", "7", "\"", "\"1.2.3.4, 10.0.0.1\"", "caf\u{e9}", "\\",
                ]),
                0..14,
            ),
        ) {
            let line = parts.concat();
            let got = trailing(line.as_bytes()).map_err(|e| e.to_string());
            let expected = trailing_by_definition(line.as_bytes()).map_err(|e| e.to_string());
            prop_assert_eq!(got, expected);
        }

        /// The usual ending read in one step says what the field-by-field reading says, and
        /// is taken on the usual endings themselves.
        #[test]
        fn usual_trailing_reads_as_the_definition(
            referer in prop::sample::select(vec!["-", "", "http://r.example/a?b=c", "a\"b", "x\\y", "a\" b"]),
            agent in prop::sample::select(vec!["curl/8.0", "Mozilla/5.0 (X11) caf\u{e9}", "-", "\\x41", "a\"b", "\""]),
            tail in proptest::collection::vec(
                prop::sample::select(vec![
                    " ", " 0.004", " -", " 12", " 0.1,", " :", " 0.002 : 0.001", " \"1.2.3.4\"", " x", "  0.5", " .", " 1.2.3",
                ]),
                0..5,
            ),
        ) {
            let line = format!(" \"{referer}\" \"{agent}\"{}", tail.concat());
            let line = line.as_bytes();
            let t = LineText::utf8_checked(line);
            let mut c = Cursor::new(line);
            let mut ev = EventData::default();
            if read_usual_trailing(&mut c, &t, &mut ev) {
                prop_assert!(c.at_end());
                let expected = trailing_by_definition(line).map_err(|e| e.to_string());
                prop_assert_eq!(Ok(ev), expected);
            } else {
                prop_assert_eq!(c.pos(), 0);
                prop_assert_eq!(ev, EventData::default());
                let plain_quotes = !referer.contains(['"', '\\']) && !agent.contains(['"', '\\']);
                let usual_tail = tail.len() <= USUAL_TIMES_MAX
                    && tail.iter().all(|f| [" 0.004", " -", " 12", " .", " 1.2.3"].contains(f));
                prop_assert!(!(plain_quotes && usual_tail), "a usual ending was not taken");
            }
        }

        #[test]
        fn random_bytes_never_panic(line in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = AccessLogDecoder::new().decode(&line);
        }

        #[test]
        fn damaged_lines_never_panic(
            cut in 0usize..220,
            at in 0usize..220,
            byte in prop::sample::select(b" \"\\[],-:x0".to_vec()),
        ) {
            let mut line = br#"example.com:80 "10.5.1.2, 10.0.0.1" 10.2.1.185 - bob [22/Jan/2016:13:18:29 +0000] "GET /a?q=\x22 HTTP/1.1" 200 25507 "-" "Amazon \"CloudFront\"" 0.001 0.002, 0.003 "1.2.3.4""#.to_vec();
            if at < line.len() {
                line[at] = byte;
            }
            line.truncate(cut);
            let _ = AccessLogDecoder::new().decode(&line);
        }
    }
}
