//! Method and path patterns naming routes: `*` for any characters, `{name}` for one segment.
//! The gateway may hand a concrete path or a route template; both match the same patterns.

use super::error::Problems;

/// Wildcards allowed in one pattern; real route patterns use one or two.
pub(super) const PATTERN_WILDCARDS_MAX: usize = 4;
/// Longest pattern accepted.
pub(super) const PATTERN_BYTES_MAX: usize = 512;
/// Request paths longer than this match no pattern: no route is that long, and the bound keeps
/// matching cheap on hostile paths.
pub(super) const PATH_BYTES_MAX: usize = 2048;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    /// Lower-case literal bytes.
    Literal(Vec<u8>),
    /// Any run of bytes, possibly empty.
    Star,
    /// One non-empty segment (no `/`).
    Segment,
}

/// A compiled method and path pattern.
#[derive(Clone, Debug)]
pub(super) struct RoutePattern {
    /// Upper-case method, `None` for any.
    method: Option<String>,
    pieces: Vec<Piece>,
}

impl RoutePattern {
    /// Validates a pattern; problems go to `problems` under `at`.
    pub(super) fn compile(
        method: &str,
        path: &str,
        at: &str,
        problems: &mut Problems,
    ) -> Option<RoutePattern> {
        let before = problems.0.len();
        let method = method.trim();
        let method = if method == "*" {
            None
        } else if !method.is_empty() && method.bytes().all(|b| b.is_ascii_alphabetic()) {
            Some(method.to_ascii_uppercase())
        } else {
            problems
                .push(format!("{at}.method"), format!("{method:?} is not an HTTP method or `*`"));
            None
        };
        let path_at = format!("{at}.path");
        if path.len() > PATTERN_BYTES_MAX {
            problems.push(&path_at, format!("longer than {PATTERN_BYTES_MAX} bytes"));
        }
        if !(path.starts_with('/') || path.starts_with('*')) {
            problems.push(&path_at, format!("{path:?} must start with `/` or `*`"));
        }
        if path.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'?') {
            problems.push(&path_at, format!("{path:?} holds spaces, control characters or `?`"));
        }
        let pieces = parse_pieces(path).unwrap_or_else(|message| {
            problems.push(&path_at, message);
            Vec::new()
        });
        let wildcards = pieces.iter().filter(|p| !matches!(p, Piece::Literal(_))).count();
        if wildcards > PATTERN_WILDCARDS_MAX {
            problems.push(&path_at, format!("more than {PATTERN_WILDCARDS_MAX} wildcards"));
        }
        (problems.0.len() == before).then_some(RoutePattern { method, pieces })
    }

    /// Whether a request with this method and path (query allowed) is on the route.
    pub(super) fn matches(&self, method: &str, path: &str) -> bool {
        if let Some(m) = &self.method {
            if !m.eq_ignore_ascii_case(method) {
                return false;
            }
        }
        let path = normalise_path(path);
        path.len() <= PATH_BYTES_MAX && match_pieces(&self.pieces, path.as_bytes())
    }
}

/// The path without its query or fragment, and without a trailing slash (a root stays `/`).
fn normalise_path(path: &str) -> &str {
    let path = path.split(['?', '#']).next().unwrap_or("");
    match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    }
}

fn parse_pieces(pattern: &str) -> Result<Vec<Piece>, String> {
    let pattern = normalise_path(pattern);
    let mut pieces = Vec::new();
    let mut literal = Vec::new();
    let mut rest = pattern.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        match b {
            b'*' => {
                flush(&mut literal, &mut pieces);
                // `**` means the same as `*`; one piece keeps the backtracking bounded.
                if pieces.last() != Some(&Piece::Star) {
                    pieces.push(Piece::Star);
                }
                rest = tail;
            }
            b'{' => {
                let Some(close) = tail.iter().position(|&c| c == b'}') else {
                    return Err(format!("{pattern:?} has an unclosed `{{`"));
                };
                let name = &tail[..close];
                if name.is_empty() || name.contains(&b'/') || name.contains(&b'{') {
                    return Err(format!("{pattern:?} has an empty or malformed `{{name}}`"));
                }
                flush(&mut literal, &mut pieces);
                pieces.push(Piece::Segment);
                rest = &tail[close + 1..];
            }
            b'}' => return Err(format!("{pattern:?} has a `}}` without `{{`")),
            _ => {
                literal.push(b.to_ascii_lowercase());
                rest = tail;
            }
        }
    }
    flush(&mut literal, &mut pieces);
    Ok(pieces)
}

fn flush(literal: &mut Vec<u8>, pieces: &mut Vec<Piece>) {
    if !literal.is_empty() {
        pieces.push(Piece::Literal(std::mem::take(literal)));
    }
}

/// Matches by tracking every path offset each piece can end at, so the work is bounded by the
/// path length times the pattern length whatever the wildcards (backtracking at each `*` would
/// be exponential in their number on hostile paths). A path that is itself a template (`{id}`
/// in it) matches a `{name}` piece like any segment.
fn match_pieces(pieces: &[Piece], path: &[u8]) -> bool {
    let n = path.len();
    let mut reach = vec![false; n + 1];
    reach[0] = true;
    let mut next = vec![false; n + 1];
    for piece in pieces {
        next.fill(false);
        match piece {
            Piece::Literal(lit) => {
                for i in (0..n.saturating_sub(lit.len() - 1)).filter(|&i| reach[i]) {
                    next[i + lit.len()] = path[i..i + lit.len()].eq_ignore_ascii_case(lit);
                }
            }
            Piece::Star => {
                let mut seen = false;
                for (i, slot) in next.iter_mut().enumerate() {
                    seen |= reach[i];
                    *slot = seen;
                }
            }
            Piece::Segment => {
                // Reachable start within the current segment (reset at each `/`).
                let mut open = false;
                for i in 0..n {
                    if path[i] == b'/' {
                        open = false;
                        continue;
                    }
                    open |= reach[i];
                    next[i + 1] = open;
                }
            }
        }
        std::mem::swap(&mut reach, &mut next);
    }
    reach[n]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(method: &str, path: &str) -> RoutePattern {
        let mut problems = Problems::default();
        let p = RoutePattern::compile(method, path, "p", &mut problems);
        assert!(problems.0.is_empty(), "{:?}", problems.0);
        p.unwrap()
    }

    #[test]
    fn wildcards_segments_case_query_and_trailing_slash() {
        let p = pattern("POST", "*/login");
        assert!(p.matches("post", "/api/v1/Login/?next=/x"));
        assert!(p.matches("POST", "/login"));
        assert!(!p.matches("GET", "/login"));
        assert!(!p.matches("POST", "/login/help"));
        let p = pattern("*", "/users/{id}/orders");
        assert!(p.matches("GET", "/users/42/orders"));
        assert!(p.matches("GET", "/users/{id}/orders"));
        assert!(!p.matches("GET", "/users//orders"));
        assert!(!p.matches("GET", "/users/4/2/orders"));
    }

    #[test]
    fn bad_patterns_are_reported_with_their_key() {
        let mut problems = Problems::default();
        assert!(
            RoutePattern::compile("P OST", "login{", "login.routes[3]", &mut problems).is_none()
        );
        let at: Vec<_> = problems.0.iter().map(|p| p.at.as_str()).collect();
        assert_eq!(at, ["login.routes[3].method", "login.routes[3].path", "login.routes[3].path"]);
        let mut problems = Problems::default();
        assert!(RoutePattern::compile("*", "/*a*b*c*d*e", "r", &mut problems).is_none());
    }
}
