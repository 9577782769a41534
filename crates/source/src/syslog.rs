//! Syslog messages: RFC 5424, RFC 3164 (BSD) and the variants real senders write, parsed from
//! one message's bytes; and the framing that cuts a TCP stream into messages (RFC 6587).
//!
//! Parsing is pure: no clock is read. A BSD timestamp has no year and no zone, so the
//! receiver's time and zone are passed in ([`ReceiveContext`]). The message body is given as
//! the exact bytes the sender wrote (an nginx or JSON log line, for nginx's `access_log
//! syslog:`), for the decoders to read.

use std::borrow::Cow;

use thiserror::Error;

mod cursor;
pub mod framing;
pub mod rfc3164;
pub mod rfc5424;
mod timestamp;

pub use framing::{datagram_message, Framer, FramerStats, Framing, FramingError};

/// Facility and severity of a message without a PRI part (RFC 3164 section 4.3.3): user.notice.
pub const DEFAULT_FACILITY: u8 = 1;
pub const DEFAULT_SEVERITY: u8 = 5;

/// Which grammar a message was read with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyslogFormat {
    Rfc5424,
    /// RFC 3164 and its common variants (no PRI, no hostname, an ISO timestamp).
    Rfc3164,
}

/// One syslog message; text fields borrow from the bytes it was parsed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogMessage<'a> {
    pub format: SyslogFormat,
    /// 0–23 (`kern` … `local7`).
    pub facility: u8,
    /// 0–7 (`emerg` … `debug`).
    pub severity: u8,
    /// Milliseconds since the Unix epoch, UTC; `None` when the message has none (NILVALUE).
    pub timestamp_ms: Option<i64>,
    pub hostname: Option<&'a str>,
    /// RFC 5424 APP-NAME, or the RFC 3164 TAG (`sshd`, `nginx`).
    pub app_name: Option<&'a str>,
    /// RFC 5424 PROCID, or the pid in an RFC 3164 `TAG[pid]:`.
    pub proc_id: Option<&'a str>,
    pub msg_id: Option<&'a str>,
    pub structured_data: Vec<SdElement<'a>>,
    /// The message body, exactly as sent (an RFC 5424 UTF-8 BOM removed).
    pub msg: &'a [u8],
}

/// An RFC 5424 structured data element: `[id name="value" ...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SdElement<'a> {
    pub id: &'a str,
    pub params: Vec<SdParam<'a>>,
}

/// A structured data parameter; the value has its escapes (`\"`, `\\`, `\]`) resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SdParam<'a> {
    pub name: &'a str,
    pub value: Cow<'a, str>,
}

/// Why a message could not be read: the 1-based byte column and what was expected there.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
#[error("column {column}: expected {expected}")]
pub struct SyslogError {
    pub column: usize,
    pub expected: &'static str,
}

/// What the receiver knows that a BSD timestamp leaves out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiveContext {
    /// When the message was received, in milliseconds since the Unix epoch: the year of a BSD
    /// timestamp is the one that puts it nearest to this, and not more than a day after it.
    pub now_ms: i64,
    /// The senders' offset from UTC, in seconds, for timestamps without a zone.
    pub local_offset_s: i32,
}

impl ReceiveContext {
    /// Received at `now_ms`, senders on UTC.
    pub fn utc(now_ms: i64) -> ReceiveContext {
        ReceiveContext { now_ms, local_offset_s: 0 }
    }
}

/// Parses one message, RFC 5424 when it says version 1 after its PRI, RFC 3164 otherwise.
pub fn parse<'a>(
    input: &'a [u8],
    context: &ReceiveContext,
) -> Result<SyslogMessage<'a>, SyslogError> {
    if rfc5424::is_rfc5424(input) {
        rfc5424::parse(input)
    } else {
        rfc3164::parse(input, context)
    }
}
