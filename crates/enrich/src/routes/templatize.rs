//! Route templates without an API description: path segments that are identifiers become
//! `{id}`, so that `/users/12345/orders/9f8b2c1e-…` and `/users/7/orders/…` share one route.

use super::percent::decode_path;

/// Opaque tokens shorter than this stay literal: short mixed segments are names (`v1`,
/// `oauth2`, `s3`), long ones are keys and hashes.
const OPAQUE_TOKEN_BYTES_MIN: usize = 20;
/// Hex strings of this length and more are hashes and ids (a 64-bit id in hex is 16).
const HEX_ID_BYTES_MIN: usize = 16;
/// Numbers written with separators (dates, phone and card-like numbers) need this many digits
/// to count as an identifier, so that versions (`1.2.3`) stay literal.
const SEPARATED_NUMBER_DIGITS_MIN: usize = 6;

/// The route template of a request path: query and fragment dropped, trailing slash folded,
/// identifier segments replaced by `{id}`. Words, versions and file names stay as they are.
pub fn templatize_path(path: &str) -> String {
    templatize_request_path(super::request_path(path))
}

/// [`templatize_path`] of a path that [`super::request_path`] has already cut out of its
/// target (reading it again would give the same path).
pub(crate) fn templatize_request_path(path: &str) -> String {
    let path = super::trim_trailing_slash(path);
    if path.is_empty() {
        return "/".to_string();
    }
    let mut out = String::with_capacity(path.len());
    // Split by hand: segments are short, and `str::split` pays a searcher's setup for each.
    let mut start = 0;
    for (i, b) in path.bytes().enumerate().chain([(path.len(), b'/')]) {
        if b != b'/' {
            continue;
        }
        let segment = &path[start..i];
        out.push_str(if is_identifier(segment) { "{id}" } else { segment });
        if i < path.len() {
            out.push('/');
        }
        start = i + 1;
    }
    out
}

/// Byte classes of path segments, as bits: one pass over a segment ORs its bytes' classes
/// together, and each kind of identifier below is tried only when the segment has no byte
/// outside the classes that kind allows.
mod class {
    pub(super) const DIGIT: u16 = 1;
    /// `a`-`f` and `A`-`F`.
    pub(super) const HEX_LETTER: u16 = 1 << 1;
    /// The other ASCII letters.
    pub(super) const LETTER: u16 = 1 << 2;
    pub(super) const DOT: u16 = 1 << 3;
    pub(super) const COLON: u16 = 1 << 4;
    pub(super) const DASH: u16 = 1 << 5;
    pub(super) const UNDERSCORE: u16 = 1 << 6;
    pub(super) const PLUS: u16 = 1 << 7;
    pub(super) const EQUALS: u16 = 1 << 8;
    pub(super) const TILDE: u16 = 1 << 9;
    pub(super) const COMMA: u16 = 1 << 10;
    pub(super) const SPACE: u16 = 1 << 11;
    pub(super) const AT: u16 = 1 << 12;
    pub(super) const PERCENT: u16 = 1 << 13;
    /// Anything else, including every byte of a non-ASCII character.
    pub(super) const OTHER: u16 = 1 << 14;

    pub(super) const TABLE: [u16; 256] = {
        let mut t = [OTHER; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            t[b] = match c {
                b'0'..=b'9' => DIGIT,
                b'a'..=b'f' | b'A'..=b'F' => HEX_LETTER,
                b'g'..=b'z' | b'G'..=b'Z' => LETTER,
                b'.' => DOT,
                b':' => COLON,
                b'-' => DASH,
                b'_' => UNDERSCORE,
                b'+' => PLUS,
                b'=' => EQUALS,
                b'~' => TILDE,
                b',' => COMMA,
                b' ' => SPACE,
                b'@' => AT,
                b'%' => PERCENT,
                _ => OTHER,
            };
            b += 1;
        }
        t
    };

    /// The classes present in `s`.
    pub(super) fn of(s: &str) -> u16 {
        s.bytes().fold(0, |seen, b| seen | TABLE[usize::from(b)])
    }

    /// Whether every byte of a segment with classes `seen` is in `allowed`.
    pub(super) fn only(seen: u16, allowed: u16) -> bool {
        seen & !allowed == 0
    }
}

/// Whether a (raw, possibly percent-encoded) segment is an identifier.
fn is_identifier(segment: &str) -> bool {
    use class::*;
    if segment.is_empty() {
        return false;
    }
    let mut seen = class::of(segment);
    let decoded = if seen & PERCENT != 0 {
        let decoded = decode_path(segment);
        seen = class::of(&decoded);
        decoded
    } else {
        std::borrow::Cow::Borrowed(segment)
    };
    let s = decoded.as_ref();
    let letters = HEX_LETTER | LETTER;
    only(seen, DIGIT)
        || (only(seen, DIGIT | HEX_LETTER | DASH) && is_uuid(s))
        || (s.len() >= HEX_ID_BYTES_MIN && only(seen, DIGIT | HEX_LETTER))
        || (seen & AT != 0 && is_email(s))
        || (could_be_ip(seen) && s.parse::<std::net::IpAddr>().is_ok())
        || (only(seen, DIGIT | PLUS | DASH | UNDERSCORE | DOT | COLON | COMMA | SPACE)
            && is_separated_number(s))
        || (s.len() >= OPAQUE_TOKEN_BYTES_MIN
            && only(seen, DIGIT | letters | DASH | UNDERSCORE | PLUS | EQUALS | DOT | TILDE)
            && seen & DIGIT != 0
            && seen & letters != 0
            && is_opaque_token(s))
}

/// Whether a segment with classes `seen` has only the characters of a textual IP address (hex
/// digits, `.` and `:`) and at least one separator. Every address the standard parser accepts
/// passes; words fail here, before the parser's far costlier attempt.
fn could_be_ip(seen: u16) -> bool {
    use class::*;
    only(seen, DIGIT | HEX_LETTER | DOT | COLON) && seen & (DOT | COLON) != 0
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else { return false };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"._%+-!#$&'*=?^`{|}~".contains(&b));
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    local_ok && domain_ok
}

/// `2024-01-15`, `+1-555-123-4567`, `4111 1111 1111 1111`, `12.345.678`: digits with separators.
fn is_separated_number(s: &str) -> bool {
    let body = s.strip_prefix('+').unwrap_or(s);
    let mut digits = 0;
    let mut separators = 0;
    for b in body.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'-' | b'_' | b'.' | b':' | b',' | b' ' => separators += 1,
            _ => return false,
        }
    }
    separators > 0
        && digits >= SEPARATED_NUMBER_DIGITS_MIN
        && body.starts_with(|c: char| c.is_ascii_digit())
}

/// Long base64/base64url-ish tokens mixing letters and digits (keys, encoded ids, JWT parts),
/// but not file names: `report-2024-annual.pdf` keeps its extension and stays literal.
fn is_opaque_token(s: &str) -> bool {
    if s.len() < OPAQUE_TOKEN_BYTES_MIN || has_file_extension(s) {
        return false;
    }
    let mut digit = false;
    let mut letter = false;
    for b in s.bytes() {
        match b {
            b'0'..=b'9' => digit = true,
            b'a'..=b'z' | b'A'..=b'Z' => letter = true,
            b'-' | b'_' | b'+' | b'=' | b'.' | b'~' => {}
            _ => return false,
        }
    }
    digit && letter
}

fn has_file_extension(s: &str) -> bool {
    match s.rsplit_once('.') {
        Some((stem, ext)) => {
            !stem.is_empty()
                && (1..=5).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric())
                && ext.bytes().any(|b| b.is_ascii_alphabetic())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_fold_and_names_stay() {
        let cases = [
            (
                "/api/v1/users/12345/orders/9f8b2c1e-4d3a-4b8e-9c1f-2a3b4c5d6e7f",
                "/api/v1/users/{id}/orders/{id}",
            ),
            ("/api/v2/items/42?expand=true&api_key=s3cr3t", "/api/v2/items/{id}"),
            ("/index.php", "/index.php"),
            ("/static/js/jquery-3.6.0.min.js", "/static/js/jquery-3.6.0.min.js"),
            ("/files/annual-report-2024-final.pdf", "/files/annual-report-2024-final.pdf"),
            ("/commits/3f786850e387550fdab836ed7e6dc881de23001b", "/commits/{id}"),
            ("/objects/00000000DEADBEEF", "/objects/{id}"),
            ("/users/alice%40example.com/profile", "/users/{id}/profile"),
            ("/users/bob@example.org", "/users/{id}"),
            ("/reports/2024-01-15/summary", "/reports/{id}/summary"),
            ("/phones/+1-555-123-4567", "/phones/{id}"),
            ("/ip/203.0.113.9", "/ip/{id}"),
            ("/ip/2001:db8::1", "/ip/{id}"),
            ("/releases/1.2.3", "/releases/1.2.3"),
            ("/keys/sk_live_4eC39HqLyjWDarjtT1zdp7dc", "/keys/{id}"),
            ("/t/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig123", "/t/{id}"),
            ("/customers/cus_9s6XKzkNRiz8i3", "/customers/cus_9s6XKzkNRiz8i3"),
            ("/oauth2/token", "/oauth2/token"),
            ("/users/42/", "/users/{id}"),
            ("/", "/"),
            ("", "/"),
            ("https://api.example.com/v1/pets/7?x=1", "/v1/pets/{id}"),
            ("/a//b/7", "/a//b/{id}"),
            ("/search/all words here", "/search/all words here"),
        ];
        for (path, want) in cases {
            assert_eq!(templatize_path(path), want, "{path}");
        }
    }

    /// The definition the class prefilters must agree with: every kind tried on every segment.
    fn is_identifier_by_definition(segment: &str) -> bool {
        if segment.is_empty() {
            return false;
        }
        let decoded = decode_path(segment);
        let s = decoded.as_ref();
        s.bytes().all(|b| b.is_ascii_digit())
            || is_uuid(s)
            || (s.len() >= HEX_ID_BYTES_MIN && s.bytes().all(|b| b.is_ascii_hexdigit()))
            || is_email(s)
            || s.parse::<std::net::IpAddr>().is_ok()
            || is_separated_number(s)
            || is_opaque_token(s)
    }

    fn templatize_by_definition(path: &str) -> String {
        let path = crate::routes::trim_trailing_slash(crate::routes::request_path(path));
        if path.is_empty() {
            return "/".to_string();
        }
        let segments: Vec<&str> = path
            .split('/')
            .map(|s| if is_identifier_by_definition(s) { "{id}" } else { s })
            .collect();
        segments.join("/")
    }

    proptest::proptest! {
        #[test]
        fn prefilters_agree_with_the_definition(
            segment in proptest::prop_oneof![
                "[0-9a-fA-Fg-zG-Z.:+=~_, @%/é-]{0,40}",
                "[0-9a-zA-Z_=~.+-]{15,30}",
                "[0-9 .:,_+-]{3,20}",
                "[a-z0-9.%]{1,8}@[a-z0-9.-]{1,10}",
                "[0-9a-fA-F%]{10,20}",
                "[0-9a-f:.]{2,20}",
            ],
            v4: u32,
            v6: u128,
            uuid: u128,
        ) {
            let uuid = format!("{uuid:032x}");
            let uuid = format!("{}-{}-{}-{}-{}", &uuid[..8], &uuid[8..12], &uuid[12..16], &uuid[16..20], &uuid[20..]);
            let v4 = std::net::Ipv4Addr::from(v4).to_string();
            let v6 = std::net::Ipv6Addr::from(v6).to_string();
            for s in [segment.as_str(), &uuid, &v4, &v6, &format!("{v4}%3A1"), &format!("a%40{v4}.com")] {
                proptest::prop_assert_eq!(is_identifier(s), is_identifier_by_definition(s), "{}", s);
            }
            let path = format!("/{segment}/{v4}/x/{uuid}");
            proptest::prop_assert_eq!(templatize_path(&segment), templatize_by_definition(&segment));
            proptest::prop_assert_eq!(templatize_path(&path), templatize_by_definition(&path));
        }
    }

    /// What `request_path` must return, without its shortcut for origin-form paths.
    fn request_path_by_definition(target: &str) -> &str {
        let path = target.split(['?', '#']).next().unwrap_or(target);
        let lower = path.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let after_scheme = &path[path.find("://").map_or(0, |i| i + 3)..];
            return after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
        }
        path
    }

    proptest::proptest! {
        /// Request paths read as the definition reads them, and reading one again changes
        /// nothing: route resolution relies on that to template a path without re-reading it.
        #[test]
        fn request_paths_read_once_suffice(
            target in "(/|https?://|HTTP://|/http://|h)[a-z/?#:.]{0,12}",
        ) {
            let path = crate::routes::request_path(&target);
            proptest::prop_assert_eq!(path, request_path_by_definition(&target));
            proptest::prop_assert_eq!(crate::routes::request_path(path), path);
            proptest::prop_assert_eq!(templatize_request_path(path), templatize_path(&target));
        }
    }

    #[test]
    fn uuid_needs_its_exact_shape() {
        assert!(is_uuid("9f8b2c1e-4d3a-4b8e-9c1f-2a3b4c5d6e7f"));
        assert!(!is_uuid("9f8b2c1e-4d3a-4b8e-9c1f-2a3b4c5d6e7g"));
        assert!(!is_uuid("9f8b2c1e4d3a-4b8e-9c1f-2a3b4c5d6e7f0"));
    }
}
