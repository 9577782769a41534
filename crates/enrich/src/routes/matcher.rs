//! Matching request paths against OpenAPI path templates: a `matchit` radix tree for the
//! templates it accepts, and a plain segment matcher for the few it rejects (two parameters in
//! one segment, `/files/{name}.{ext}`; unbalanced braces).

use super::trim_trailing_slash;
use crate::OpenApiProblem;
use std::collections::HashMap;

/// Templates by index, ready for lookups.
pub(crate) struct RouteMatcher {
    router: matchit::Router<u32>,
    fallback: Vec<(Vec<Vec<Piece>>, u32)>,
}

/// Part of one template segment.
#[derive(Debug, PartialEq, Eq)]
enum Piece {
    Literal(Box<str>),
    /// A `{name}`: one or more characters, no `/`.
    Param,
}

impl RouteMatcher {
    /// Takes templates in the order of the document's `paths` map (sorted by serde_json, so
    /// the outcome does not depend on how the file was written); their position is the value
    /// a lookup returns. Returns warnings for templates that can never match because an
    /// earlier one covers the same paths (`/pets` and `/pets/`, `/pets/{id}` and `/pets/{petId}`).
    pub(crate) fn new<'a>(
        templates: impl Iterator<Item = &'a str>,
    ) -> (RouteMatcher, Vec<OpenApiProblem>) {
        let mut router = matchit::Router::new();
        let mut fallback = Vec::new();
        let mut warnings = Vec::new();
        let mut inserted: HashMap<String, &str> = HashMap::new();
        for (i, template) in templates.enumerate() {
            let Ok(index) = u32::try_from(i) else { break };
            let normalized = trim_trailing_slash(template);
            let Some(route) = matchit_route(normalized) else {
                fallback.push((pattern(normalized), index));
                continue;
            };
            match router.insert(route.clone(), index) {
                Ok(()) => {
                    inserted.insert(route, template);
                }
                Err(matchit::InsertError::Conflict { with }) => {
                    let earlier = inserted.get(&with).copied().unwrap_or(with.as_str());
                    warnings.push(OpenApiProblem {
                        at: format!("paths['{template}']"),
                        message: format!(
                            "matches the same requests as '{earlier}'; they are attributed to that one"
                        ),
                    });
                }
                // Shapes the radix tree does not support; the segment matcher handles them.
                Err(_) => fallback.push((pattern(normalized), index)),
            }
        }
        (RouteMatcher { router, fallback }, warnings)
    }

    /// The index of the template a (decoded, slash-trimmed) path matches.
    pub(crate) fn find(&self, path: &str) -> Option<u32> {
        if let Ok(m) = self.router.at(path) {
            return Some(*m.value);
        }
        // Among fallback templates, the one with the most literal text is the most specific.
        self.fallback
            .iter()
            .filter(|(segments, _)| pattern_matches(segments, path))
            .max_by_key(|(segments, index)| (literal_len(segments), std::cmp::Reverse(*index)))
            .map(|(_, index)| *index)
    }
}

/// The template in `matchit` syntax, parameters renamed by position (`{p0}`, `{p1}`) so that
/// names matchit treats specially (`{*rest}`, `{}`) cannot change the meaning. `None` when the
/// braces do not pair up.
fn matchit_route(template: &str) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut n = 0;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return None;
        }
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find(['{', '}'])?;
        if after.as_bytes()[close] == b'{' {
            return None;
        }
        out.push_str(&format!("{{p{n}}}"));
        n += 1;
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// A template as segments of pieces; unbalanced braces are taken literally.
fn pattern(template: &str) -> Vec<Vec<Piece>> {
    template.split('/').map(segment_pieces).collect()
}

fn segment_pieces(segment: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = segment;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else { break };
        if open > 0 {
            pieces.push(Piece::Literal(rest[..open].into()));
        }
        pieces.push(Piece::Param);
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Literal(rest.into()));
    }
    pieces
}

fn literal_len(segments: &[Vec<Piece>]) -> usize {
    segments
        .iter()
        .flatten()
        .map(|p| match p {
            Piece::Literal(l) => l.len(),
            Piece::Param => 0,
        })
        .sum()
}

fn pattern_matches(segments: &[Vec<Piece>], path: &str) -> bool {
    let mut parts = path.split('/');
    for pieces in segments {
        match parts.next() {
            Some(part) if segment_matches(pieces, part.as_bytes()) => {}
            _ => return false,
        }
    }
    parts.next().is_none()
}

/// Matches one segment. Each parameter takes at least one byte; literals between parameters
/// are placed at their left-most possible position, which is optimal when every wildcard
/// accepts any run of characters, so there is no backtracking and the cost is linear.
fn segment_matches(pieces: &[Piece], segment: &[u8]) -> bool {
    let mut pieces = pieces;
    let mut s = segment;
    if let Some(Piece::Literal(l)) = pieces.first() {
        let Some(rest) = s.strip_prefix(l.as_bytes()) else { return false };
        s = rest;
        pieces = &pieces[1..];
    }
    if pieces.is_empty() {
        return s.is_empty();
    }
    if let Some(Piece::Literal(l)) = pieces.last() {
        let Some(rest) = s.strip_suffix(l.as_bytes()) else { return false };
        s = rest;
        pieces = &pieces[..pieces.len() - 1];
    }
    let mut pos = 0;
    let mut pending_params = 0;
    for piece in pieces {
        match piece {
            Piece::Param => pending_params += 1,
            Piece::Literal(l) => {
                pos += pending_params;
                pending_params = 0;
                let Some(found) = s.get(pos..).and_then(|hay| find(hay, l.as_bytes())) else {
                    return false;
                };
                pos += found + l.len();
            }
        }
    }
    s.len() >= pos + pending_params
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(templates: &[&str]) -> (RouteMatcher, Vec<OpenApiProblem>) {
        RouteMatcher::new(templates.iter().copied())
    }

    #[test]
    fn params_are_renamed_by_position_and_bad_braces_refused() {
        assert_eq!(matchit_route("/a/{id}/b/{*x}").as_deref(), Some("/a/{p0}/b/{p1}"));
        assert_eq!(matchit_route("/a/{}").as_deref(), Some("/a/{p0}"));
        assert_eq!(matchit_route("/a/{b"), None);
        assert_eq!(matchit_route("/a/b}"), None);
        assert_eq!(matchit_route("/a/{{b}}"), None);
    }

    #[test]
    fn static_segments_win_over_parameters() {
        let (m, w) = matcher(&["/users/{id}", "/users/me", "/users/{id}/orders/{orderId}"]);
        assert!(w.is_empty());
        assert_eq!(m.find("/users/42"), Some(0));
        assert_eq!(m.find("/users/me"), Some(1));
        assert_eq!(m.find("/users/42/orders/7"), Some(2));
        assert_eq!(m.find("/users/42/7"), None);
        assert_eq!(m.find("/users"), None);
    }

    #[test]
    fn two_params_in_one_segment_use_the_segment_matcher() {
        let (m, _) =
            matcher(&["/files/{name}.{ext}", "/files/{name}.tar.{ext}", "/files/{id}/raw"]);
        assert!(m.router.at("/files/a.b").is_err(), "matchit must have refused the template");
        assert_eq!(m.find("/files/report.pdf"), Some(0));
        assert_eq!(m.find("/files/backup.tar.gz"), Some(1));
        assert_eq!(m.find("/files/.pdf"), None);
        assert_eq!(m.find("/files/report."), None);
        assert_eq!(m.find("/files/9/raw"), Some(2));
    }

    #[test]
    fn duplicates_after_folding_are_reported() {
        let (m, w) = matcher(&["/pets/{id}", "/pets/{petId}/", "/pets", "/pets/"]);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].at.contains("/pets/{petId}/") && w[0].message.contains("'/pets/{id}'"),
            "{w:?}"
        );
        assert_eq!(m.find("/pets/1"), Some(0));
        assert_eq!(m.find("/pets"), Some(2));
    }

    #[test]
    fn segment_matching_needs_one_byte_per_param_and_exact_literals() {
        let pieces = segment_pieces("{a}-{b}-v{c}");
        assert!(segment_matches(&pieces, b"x-y-v1"));
        assert!(segment_matches(&pieces, b"x-y-z-v1"));
        assert!(!segment_matches(&pieces, b"x--v1"));
        assert!(!segment_matches(&pieces, b"x-y-v"));
        assert!(segment_matches(&segment_pieces("pre{a}{b}"), b"pre12"));
        assert!(!segment_matches(&segment_pieces("pre{a}{b}"), b"pre1"));
        assert!(segment_matches(&segment_pieces("a{b"), b"a{b"));
    }
}
