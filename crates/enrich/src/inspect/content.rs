//! What a body is, from its content type, or from its first bytes when there is none.

/// The kinds of body inspection distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BodyKind {
    /// JSON (`application/json`, `*/*+json`, `text/json`, NDJSON not included).
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// Other text: HTML, XML, CSV, plain text, JavaScript, NDJSON.
    Text,
    /// Anything else (images, archives, protobuf, PDF, octet streams): not inspected.
    Binary,
}

/// Bytes looked at to guess an untyped body: a NUL among them means binary.
const SNIFF_BYTES_MAX: usize = 512;

/// Classifies a body by its content type, sniffing the first bytes when there is none.
pub(super) fn classify(content_type: Option<&str>, body: &[u8]) -> BodyKind {
    let Some(ct) = content_type.map(str::trim).filter(|c| !c.is_empty()) else {
        return sniff(body);
    };
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let (top, sub) = essence.split_once('/').unwrap_or((essence.as_str(), ""));
    match (top, sub) {
        ("application" | "text", "json") => BodyKind::Json,
        (_, s) if s.ends_with("+json") => BodyKind::Json,
        ("application", "x-www-form-urlencoded") => BodyKind::Form,
        ("text", _) => BodyKind::Text,
        (_, s) if s == "xml" || s.ends_with("+xml") => BodyKind::Text,
        ("application", "javascript" | "ecmascript" | "x-ndjson" | "csv" | "graphql") => {
            BodyKind::Text
        }
        _ => BodyKind::Binary,
    }
}

fn sniff(body: &[u8]) -> BodyKind {
    let head = &body[..body.len().min(SNIFF_BYTES_MAX)];
    if head.contains(&0) {
        return BodyKind::Binary;
    }
    match super::json::first_byte(body) {
        Some(b'{' | b'[') => BodyKind::Json,
        _ => BodyKind::Text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_and_sniffing() {
        let cases = [
            (Some("application/json; charset=utf-8"), "", BodyKind::Json),
            (Some("application/vnd.api+json"), "", BodyKind::Json),
            (Some("Application/X-WWW-Form-Urlencoded"), "", BodyKind::Form),
            (Some("text/csv"), "", BodyKind::Text),
            (Some("application/problem+xml"), "", BodyKind::Text),
            (Some("image/png"), "", BodyKind::Binary),
            (Some("application/octet-stream"), "", BodyKind::Binary),
            (None, " [1]", BodyKind::Json),
            (None, "a=b", BodyKind::Text),
            (None, "a\0b", BodyKind::Binary),
        ];
        for (ct, body, want) in cases {
            assert_eq!(classify(ct, body.as_bytes()), want, "{ct:?} {body:?}");
        }
    }
}
