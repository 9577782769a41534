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
    let path = super::trim_trailing_slash(super::request_path(path));
    if path.is_empty() {
        return "/".to_string();
    }
    let mut out = String::with_capacity(path.len());
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(if is_identifier(segment) { "{id}" } else { segment });
    }
    out
}

/// Whether a (raw, possibly percent-encoded) segment is an identifier.
fn is_identifier(segment: &str) -> bool {
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

    #[test]
    fn uuid_needs_its_exact_shape() {
        assert!(is_uuid("9f8b2c1e-4d3a-4b8e-9c1f-2a3b4c5d6e7f"));
        assert!(!is_uuid("9f8b2c1e-4d3a-4b8e-9c1f-2a3b4c5d6e7g"));
        assert!(!is_uuid("9f8b2c1e4d3a-4b8e-9c1f-2a3b4c5d6e7f0"));
    }
}
