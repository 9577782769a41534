//! `application/x-www-form-urlencoded` bodies: finds a field by name, decoding `%XX` and `+`.

use std::borrow::Cow;

/// The decoded value of the first field whose decoded name is `name`. When the body was cut,
/// its last field may be cut too and is not believed.
pub(super) fn field<'a>(body: &'a [u8], name: &str, truncated: bool) -> Option<Cow<'a, str>> {
    let mut pairs = body.split(|&b| b == b'&').peekable();
    while let Some(pair) = pairs.next() {
        if truncated && pairs.peek().is_none() {
            return None;
        }
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        if decode(key).as_deref() == Some(name) {
            return decode(value);
        }
    }
    None
}

/// Percent-decodes with `+` as space; `None` when the result is not UTF-8. A `%` not followed
/// by two hex digits is kept as it is, as browsers and most servers do.
pub(super) fn decode(raw: &[u8]) -> Option<Cow<'_, str>> {
    if !raw.iter().any(|&b| b == b'%' || b == b'+') {
        return std::str::from_utf8(raw).ok().map(Cow::Borrowed);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let digit = |k: usize| raw.get(k).copied().and_then(hex);
                if let (Some(high), Some(low)) = (digit(i + 1), digit(i + 2)) {
                    out.push(high * 16 + low);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

use apiwatch_core::bytes::hex_value as hex;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_and_plus_and_skips_cut_fields() {
        let body = b"grant_type=password&user%5Fname=j%C3%A9r%C3%B4me+d&password=p%26w";
        assert_eq!(field(body, "user_name", false).as_deref(), Some("j\u{e9}r\u{f4}me d"));
        assert_eq!(field(body, "password", false).as_deref(), Some("p&w"));
        assert_eq!(field(body, "password", true), None);
        assert_eq!(field(b"a=%zz%4", "a", false).as_deref(), Some("%zz%4"));
        assert_eq!(field(b"a=%ff", "a", false), None);
        assert_eq!(decode(b"%41%"), Some(Cow::Owned("A%".into())));
    }
}
