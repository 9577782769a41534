//! RFC 5424: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID PARAM="VALUE"...] MSG`,
//! with `-` for an absent field.

use std::borrow::Cow;

use super::cursor::Cursor;
use super::timestamp::rfc3339_ms;
use super::{SdElement, SdParam, SyslogError, SyslogFormat, SyslogMessage};

/// Field lengths from RFC 5424 section 6: longer ones are errors, which also bounds what a
/// hostile sender can make us keep.
const HOSTNAME_BYTES_MAX: usize = 255;
const APP_NAME_BYTES_MAX: usize = 48;
const PROC_ID_BYTES_MAX: usize = 128;
const MSG_ID_BYTES_MAX: usize = 32;
const SD_NAME_BYTES_MAX: usize = 32;

/// Most structured data parameters in one message, over all its elements: real senders
/// write a handful, and each one is an allocation.
pub const SD_PARAMS_MAX: usize = 256;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Whether `input` is RFC 5424: a PRI followed by version `1` and a space.
pub fn is_rfc5424(input: &[u8]) -> bool {
    let Some(close) = input.iter().take(5).position(|&b| b == b'>') else { return false };
    input.first() == Some(&b'<') && input[close + 1..].starts_with(b"1 ")
}

/// Parses an RFC 5424 message.
pub fn parse(input: &[u8]) -> Result<SyslogMessage<'_>, SyslogError> {
    let mut cursor = Cursor::new(input);
    let (facility, severity) = cursor.pri()?;
    let at = cursor.at;
    if cursor.digits(1, "the version 1")? != 1 || cursor.peek().is_some_and(|b| b.is_ascii_digit())
    {
        return Err(cursor.error_at(at, "the version 1"));
    }
    cursor.expect(b' ', "a space after the version")?;
    let timestamp_ms = if cursor.peek() == Some(b'-') && cursor.peek_at(1) == Some(b' ') {
        cursor.at += 1;
        None
    } else {
        Some(rfc3339_ms(&mut cursor)?)
    };
    cursor.expect(b' ', "a space after the timestamp")?;
    let hostname = header_field(
        &mut cursor,
        HOSTNAME_BYTES_MAX,
        "a hostname or '-'",
        "a space: hostnames are at most 255 characters",
    )?;
    cursor.expect(b' ', "a space after the hostname")?;
    let app_name = header_field(
        &mut cursor,
        APP_NAME_BYTES_MAX,
        "an app name or '-'",
        "a space: app names are at most 48 characters",
    )?;
    cursor.expect(b' ', "a space after the app name")?;
    let proc_id = header_field(
        &mut cursor,
        PROC_ID_BYTES_MAX,
        "a process id or '-'",
        "a space: process ids are at most 128 characters",
    )?;
    cursor.expect(b' ', "a space after the process id")?;
    let msg_id = header_field(
        &mut cursor,
        MSG_ID_BYTES_MAX,
        "a message id or '-'",
        "a space: message ids are at most 32 characters",
    )?;
    cursor.expect(b' ', "a space after the message id")?;
    let structured_data = structured_data(&mut cursor)?;
    let msg = if cursor.at_end() {
        &[][..]
    } else {
        cursor.expect(b' ', "a space before the message")?;
        let rest = cursor.rest();
        rest.strip_prefix(UTF8_BOM).unwrap_or(rest)
    };
    Ok(SyslogMessage {
        format: SyslogFormat::Rfc5424,
        facility,
        severity,
        timestamp_ms,
        hostname,
        app_name,
        proc_id,
        msg_id,
        structured_data,
        msg,
    })
}

/// 1 to `max` printable ASCII characters; `-` alone is absent.
fn header_field<'a>(
    cursor: &mut Cursor<'a>,
    max: usize,
    expected: &'static str,
    too_long: &'static str,
) -> Result<Option<&'a str>, SyslogError> {
    let start = cursor.at;
    let field = cursor.take_until(|b| !(33..=126).contains(&b));
    if field.is_empty() {
        return Err(cursor.error(expected));
    }
    if field.len() > max {
        return Err(cursor.error_at(start + max, too_long));
    }
    // Printable ASCII is UTF-8.
    let field = std::str::from_utf8(field).unwrap();
    Ok((field != "-").then_some(field))
}

/// `-`, or one or more `[ID NAME="VALUE" ...]`.
fn structured_data<'a>(cursor: &mut Cursor<'a>) -> Result<Vec<SdElement<'a>>, SyslogError> {
    if cursor.eat(b'-') {
        return Ok(Vec::new());
    }
    if cursor.peek() != Some(b'[') {
        return Err(cursor.error("'[' or '-' for structured data"));
    }
    let mut elements = Vec::new();
    let mut params_total = 0;
    while cursor.eat(b'[') {
        let id = sd_name(cursor, "a structured data id")?;
        let mut params = Vec::new();
        while cursor.eat(b' ') {
            if params_total == SD_PARAMS_MAX {
                return Err(cursor.error("']': at most 256 structured data parameters"));
            }
            let name = sd_name(cursor, "a parameter name")?;
            cursor.expect(b'=', "'=' after the parameter name")?;
            cursor.expect(b'"', "'\"' starting the parameter value")?;
            let value = param_value(cursor)?;
            params.push(SdParam { name, value });
            params_total += 1;
        }
        cursor.expect(b']', "' ' or ']' after a structured data element")?;
        elements.push(SdElement { id, params });
    }
    Ok(elements)
}

/// 1 to 32 printable ASCII characters except `=`, space, `]` and `"`.
fn sd_name<'a>(cursor: &mut Cursor<'a>, expected: &'static str) -> Result<&'a str, SyslogError> {
    let start = cursor.at;
    let name = cursor.take_until(|b| !(33..=126).contains(&b) || matches!(b, b'=' | b']' | b'"'));
    if name.is_empty() {
        return Err(cursor.error(expected));
    }
    if name.len() > SD_NAME_BYTES_MAX {
        return Err(cursor.error_at(start + SD_NAME_BYTES_MAX, "a name of at most 32 characters"));
    }
    Ok(std::str::from_utf8(name).unwrap())
}

/// A value up to its closing quote (consumed), with `\"`, `\\` and `\]` resolved; any other
/// backslash is kept as it is (RFC 5424 section 6.3.3).
fn param_value<'a>(cursor: &mut Cursor<'a>) -> Result<Cow<'a, str>, SyslogError> {
    let start = cursor.at;
    let mut unescaped: Option<Vec<u8>> = None;
    let mut copied_to = start;
    loop {
        match cursor.peek() {
            None => return Err(cursor.error("'\"' closing the parameter value")),
            Some(b'"') => break,
            Some(b'\\') if matches!(cursor.peek_at(1), Some(b'"' | b'\\' | b']')) => {
                let out = unescaped.get_or_insert_with(Vec::new);
                out.extend_from_slice(&cursor.input[copied_to..cursor.at]);
                out.push(cursor.input[cursor.at + 1]);
                cursor.at += 2;
                copied_to = cursor.at;
            }
            Some(_) => cursor.at += 1,
        }
    }
    let raw = &cursor.input[start..cursor.at];
    let value = match unescaped {
        None => Cow::Borrowed(checked_utf8(cursor, raw, start)?),
        Some(mut out) => {
            out.extend_from_slice(&cursor.input[copied_to..cursor.at]);
            checked_utf8(cursor, raw, start)?;
            Cow::Owned(String::from_utf8(out).expect("escapes removed from UTF-8 leave UTF-8"))
        }
    };
    cursor.at += 1;
    Ok(value)
}

fn checked_utf8<'a>(
    cursor: &Cursor<'a>,
    raw: &'a [u8],
    start: usize,
) -> Result<&'a str, SyslogError> {
    std::str::from_utf8(raw)
        .map_err(|e| cursor.error_at(start + e.valid_up_to(), "UTF-8 in the parameter value"))
}
