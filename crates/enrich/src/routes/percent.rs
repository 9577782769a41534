//! Percent-decoding of request paths for matching against OpenAPI templates.

use std::borrow::Cow;

/// Decodes `%XX` escapes. `%2F` stays encoded: a decoded slash would split one segment into two
/// and match a different route than the server saw. Invalid escapes are kept as they are, and
/// bytes that do not form UTF-8 become U+FFFD (such a path matches no template anyway).
pub(crate) fn decode_path(path: &str) -> Cow<'_, str> {
    if !path.contains('%') {
        return Cow::Borrowed(path);
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(h), Some(l)) =
                (bytes.get(i + 1).and_then(hex_value), bytes.get(i + 2).and_then(hex_value))
            {
                let b = h << 4 | l;
                if b == b'/' {
                    out.extend_from_slice(&bytes[i..i + 3]);
                } else {
                    out.push(b);
                }
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

fn hex_value(b: &u8) -> Option<u8> {
    (*b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode_except_slash_and_broken_ones() {
        assert_eq!(decode_path("/pets/caf%C3%A9"), "/pets/café");
        assert_eq!(decode_path("/a%2Fb/c%2fd"), "/a%2Fb/c%2fd");
        assert_eq!(decode_path("/x%zz/%4"), "/x%zz/%4");
        assert_eq!(decode_path("/%FF"), "/\u{fffd}");
        assert!(matches!(decode_path("/plain"), Cow::Borrowed(_)));
    }
}
