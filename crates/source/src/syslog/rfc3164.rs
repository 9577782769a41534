//! RFC 3164 (BSD syslog): `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[pid]: MSG`, and the variants
//! real senders write: no PRI (syslog files), no hostname (`nginx ... nohostname`, local
//! sockets), an RFC 3339 timestamp (rsyslog's high-precision formats), no tag.
//!
//! Anything after the PRI that is not a timestamp is all message (RFC 3164 section 4.3.3);
//! a word after the timestamp is a hostname unless it ends in `:`, which makes it the tag.

use super::cursor::Cursor;
use super::timestamp::{bsd_ms, rfc3339_ms, starts_bsd};
use super::{
    ReceiveContext, SyslogError, SyslogFormat, SyslogMessage, DEFAULT_FACILITY, DEFAULT_SEVERITY,
};

const HOSTNAME_BYTES_MAX: usize = 255;
/// RFC 3164 says 32; daemons' names run longer (`systemd-networkd-wait-online`), so the RFC
/// 5424 APP-NAME limit is used.
const TAG_BYTES_MAX: usize = 48;
const PID_BYTES_MAX: usize = 128;

/// Parses a BSD syslog message; `context` supplies the year and zone its timestamp omits.
pub fn parse<'a>(
    input: &'a [u8],
    context: &ReceiveContext,
) -> Result<SyslogMessage<'a>, SyslogError> {
    let mut cursor = Cursor::new(input);
    let (facility, severity) = if cursor.peek() == Some(b'<') {
        cursor.pri()?
    } else {
        (DEFAULT_FACILITY, DEFAULT_SEVERITY)
    };
    let timestamp_ms = if starts_bsd(&cursor) {
        Some(bsd_ms(&mut cursor, context)?)
    } else if starts_rfc3339(&cursor) {
        Some(rfc3339_ms(&mut cursor)?)
    } else {
        None
    };
    let mut hostname = None;
    if timestamp_ms.is_some() && !cursor.at_end() {
        cursor.expect(b' ', "a space after the timestamp")?;
        if !next_word_is_tag(&cursor) {
            hostname = Some(host(&mut cursor)?);
            if !cursor.at_end() {
                cursor.expect(b' ', "a space after the hostname")?;
            }
        }
    }
    let (app_name, proc_id) = tag(&mut cursor).unwrap_or((None, None));
    Ok(SyslogMessage {
        format: SyslogFormat::Rfc3164,
        facility,
        severity,
        timestamp_ms,
        hostname,
        app_name,
        proc_id,
        msg_id: None,
        structured_data: Vec::new(),
        msg: cursor.rest(),
    })
}

/// `YYYY-`: rsyslog's RFC 3339 timestamps in a BSD message.
fn starts_rfc3339(cursor: &Cursor<'_>) -> bool {
    let rest = cursor.rest();
    rest.len() > 4 && rest[..4].iter().all(u8::is_ascii_digit) && rest[4] == b'-'
}

fn next_word_is_tag(cursor: &Cursor<'_>) -> bool {
    let rest = cursor.rest();
    let word = &rest[..memchr::memchr(b' ', rest).unwrap_or(rest.len())];
    word.ends_with(b":")
}

fn host<'a>(cursor: &mut Cursor<'a>) -> Result<&'a str, SyslogError> {
    let start = cursor.at;
    let word = cursor.take_until(|b| b == b' ');
    if word.is_empty() {
        return Err(cursor.error("a hostname"));
    }
    if word.len() > HOSTNAME_BYTES_MAX {
        return Err(
            cursor.error_at(start + HOSTNAME_BYTES_MAX, "a space: hostnames are at most 255 bytes")
        );
    }
    std::str::from_utf8(word)
        .map_err(|e| cursor.error_at(start + e.valid_up_to(), "UTF-8 in the hostname"))
}

/// `TAG:` or `TAG[pid]:` and the one space after it; leaves the cursor where it was and
/// returns `None` when the message does not start with one.
fn tag<'a>(cursor: &mut Cursor<'a>) -> Option<(Option<&'a str>, Option<&'a str>)> {
    let start = cursor.at;
    let found = tag_at(cursor);
    if found.is_none() {
        cursor.at = start;
    }
    found
}

fn tag_at<'a>(cursor: &mut Cursor<'a>) -> Option<(Option<&'a str>, Option<&'a str>)> {
    let name = cursor.take_until(|b| matches!(b, b' ' | b':' | b'[') || !(33..=126).contains(&b));
    if name.is_empty() || name.len() > TAG_BYTES_MAX {
        return None;
    }
    let mut pid = None;
    if cursor.eat(b'[') {
        let id = cursor.take_until(|b| b == b']' || !(33..=126).contains(&b));
        if id.is_empty() || id.len() > PID_BYTES_MAX || !cursor.eat(b']') {
            return None;
        }
        pid = Some(std::str::from_utf8(id).ok()?);
    }
    if !cursor.eat(b':') {
        return None;
    }
    cursor.eat(b' ');
    Some((Some(std::str::from_utf8(name).ok()?), pid))
}
