//! Shared pieces of the JSON decoders: checking and parsing a line with sonic-rs into
//! borrowed values ([`value`]), a walker that flattens nested and dotted keys into paths
//! ([`walk`]), the conversions from JSON values to event fields ([`fields`]) and the text
//! formats found inside values: URLs, request lines, CLF times ([`text`]). Decoders that read
//! a few members of long lines read them first with a fast reader ([`scan`]) and fall back to
//! the full parser on anything it does not read with certainty.
//!
//! Errors built here name the field and never carry a value: sonic-rs's own error messages
//! quote the input around the error, so they are mapped to fixed reasons and never shown.

#[cfg(test)]
mod decoder_tests;
mod fields;
mod scan;
mod text;
mod value;
mod walk;

pub(crate) use fields::{header_name, set_field, strip_http_prefix, GeoParts};
pub(crate) use scan::{Bail, Fast, Scanner};
pub(crate) use text::{
    domain_of_host, parse_clf_ms, percent_encode_component, split_request_line, split_target,
    split_url, UrlParts,
};
pub(crate) use value::{parse_ip, CowStr, HeaderMap, Nested, Pairs, Scalar, Skip, TextOut, Unfit};

use value::TOO_DEEP;
pub(crate) use walk::{walk, FlatSink};

use crate::DecodeError;
use serde::de::DeserializeSeed;
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

/// The line as text, checked before sonic-rs sees it: sonic-rs hands out borrowed strings
/// before it reports invalid UTF-8.
pub(crate) fn checked_text(line: &[u8]) -> Result<&str, DecodeError> {
    // The SIMD check is several times faster on ~1 KB lines; only a failure, rare, takes the
    // standard one again for the place of the first bad byte.
    if let Ok(text) = simdutf8::basic::from_utf8(line) {
        return Ok(text);
    }
    std::str::from_utf8(line)
        .map_err(|e| DecodeError::at(e.valid_up_to() + 1, "line", "not valid UTF-8"))
}

/// A sonic-rs error as a [`DecodeError`]: its place, never its text (which quotes the input).
pub(crate) fn syntax_error(e: &sonic_rs::Error) -> DecodeError {
    let reason = if e.is_unmatched_type() && e.to_string().starts_with(TOO_DEEP) {
        // Only inspected, never shown: the text goes on to quote the input.
        TOO_DEEP
    } else if e.is_eof() {
        "JSON ends too early"
    } else if e.is_syntax() {
        "not valid JSON"
    } else {
        // A key given twice, or a value of an unexpected shape at the top level.
        "unexpected JSON structure"
    };
    DecodeError::at(e.offset() + 1, "line", reason)
}

/// Runs `seed` over the JSON text of a line, requiring nothing after the value. A decoder
/// whose seed records its own errors checks those before mapping the sonic-rs error.
pub(crate) fn run_seed<'de, S: DeserializeSeed<'de>>(
    text: &'de str,
    seed: S,
) -> Result<S::Value, sonic_rs::Error> {
    let mut de = sonic_rs::Deserializer::from_str(text);
    let value = seed.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// A `&'static str` for a name from the configuration (a format's name, a mapped path), so
/// that events and errors can carry it without a copy. Each distinct name is stored once for
/// the life of the process: names come from configuration files, not from log lines, so the
/// set stays as small as the configuration.
pub(crate) fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&known) = names.get(name) {
        return known;
    }
    let stored: &'static str = Box::leak(name.into());
    names.insert(stored);
    stored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_refused_with_its_column() {
        let e = checked_text(b"{\"a\":\"\xff\"}").unwrap_err();
        assert_eq!(e.column, Some(7));
    }

    proptest::proptest! {
        /// The SIMD check accepts exactly what the standard one accepts, and a refusal names
        /// the standard one's place.
        #[test]
        fn utf8_check_agrees_with_std(line in crate::test_bytes::utf8_edge_lines()) {
            match (checked_text(&line), std::str::from_utf8(&line)) {
                (Ok(a), Ok(b)) => proptest::prop_assert_eq!(a, b),
                (Err(a), Err(b)) => proptest::prop_assert_eq!(a.column, Some(b.valid_up_to() + 1)),
                (a, b) => proptest::prop_assert!(false, "{a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn interned_names_are_shared() {
        let a = intern("my-format");
        let b = intern(&String::from("my-format"));
        assert!(std::ptr::eq(a, b));
    }
}
