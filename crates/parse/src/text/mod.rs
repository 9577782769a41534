//! Pieces shared by the text (non-JSON) decoders: a cursor over space-separated and quoted
//! fields, unescaping, times, numbers, addresses and the HTTP request line.
//!
//! Everything here works on bytes and returns `Option` or a value: none of it can panic on
//! any input, which is what lets every decoder promise the same.

pub(crate) mod addr;
pub(crate) mod clock;
pub(crate) mod cursor;
pub(crate) mod number;
pub(crate) mod request;
pub(crate) mod unescape;

/// The line without a trailing carriage return: readers split on `\n`, and files written on
/// Windows or by syslog relays keep the `\r`.
pub(crate) fn trim_line_end(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// True for the placeholder servers write for an empty value.
pub(crate) fn is_dash(raw: &[u8]) -> bool {
    raw == b"-"
}
