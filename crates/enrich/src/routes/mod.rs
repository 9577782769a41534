//! Route templates: which API route a path belongs to (`/users/{id}`), from the OpenAPI
//! document when there is one, by folding identifiers otherwise.

pub(crate) mod matcher;
pub(crate) mod openapi;
pub(crate) mod percent;
pub mod templatize;

use crate::error::EnrichError;
use crate::stats::EnrichStats;
use crate::OpenApiProblem;
use apiwatch_core::EventData;
use std::path::Path;

/// The route of a path, as remembered by a worker's cache.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RouteEntry {
    pub template: Box<str>,
    /// Index of the OpenAPI path item, `None` for a path the document does not have.
    pub path_item: Option<u32>,
}

/// The routes of an OpenAPI document, ready for matching.
pub(crate) struct ApiRoutes {
    doc: openapi::ApiDocument,
    matcher: matcher::RouteMatcher,
    warnings: Vec<OpenApiProblem>,
}

impl ApiRoutes {
    pub(crate) fn load(path: &Path) -> Result<Self, EnrichError> {
        let doc = openapi::load(path)?;
        Ok(Self::from_document(doc))
    }

    pub(crate) fn from_document(doc: openapi::ApiDocument) -> Self {
        let (matcher, mut warnings) =
            matcher::RouteMatcher::new(doc.paths.iter().map(|p| p.template.as_str()));
        warnings.splice(0..0, doc.warnings.iter().cloned());
        ApiRoutes { doc, matcher, warnings }
    }

    pub(crate) fn path_count(&self) -> usize {
        self.doc.paths.len()
    }

    pub(crate) fn warnings(&self) -> &[OpenApiProblem] {
        &self.warnings
    }

    /// The path item a request path belongs to. Tried with each server base path stripped
    /// (longest first), then as it is, because gateways differ in whether they log the prefix.
    fn find(&self, path: &str) -> Option<u32> {
        let decoded = percent::decode_path(path);
        let trimmed = trim_trailing_slash(&decoded);
        for base in &self.doc.base_paths {
            let Some(rest) = trimmed.strip_prefix(base.as_str()) else { continue };
            let rest = if rest.is_empty() { "/" } else { rest };
            if !rest.starts_with('/') {
                continue;
            }
            if let Some(i) = self.matcher.find(rest) {
                return Some(i);
            }
        }
        self.matcher.find(trimmed)
    }

    /// Whether the document describes `method` on `target` (a request target, query allowed).
    /// A CORS preflight (`OPTIONS`) on a documented path counts as documented: browsers send
    /// it before any cross-origin call and documents rarely list it.
    /// A path with a dot segment (`..`, also percent-encoded) is undocumented whatever it
    /// would resolve to: templates never hold one, and the upstream may resolve it elsewhere.
    pub(crate) fn documentation(&self, method: &str, target: &str) -> crate::Documentation {
        let path = request_path(target);
        let dot_segment =
            percent::decode_path(path).split(['/', '\\']).any(|s| s == "." || s == "..");
        let Some(i) = self.find(path).filter(|_| !dot_segment) else {
            return crate::Documentation::UndocumentedRoute;
        };
        let item = &self.doc.paths[i as usize];
        if method.eq_ignore_ascii_case("OPTIONS") || item.operation(method).is_some() {
            crate::Documentation::Documented
        } else {
            crate::Documentation::UndocumentedMethod
        }
    }

    /// Sets the operation id and the documentation labels of an event whose route is known.
    pub(crate) fn annotate(&self, ev: &mut EventData, entry: &RouteEntry, stats: &mut EnrichStats) {
        let Some(i) = entry.path_item else {
            stats.routes_undocumented += 1;
            ev.labels.push(("openapi.undocumented".to_string(), "true".to_string()));
            return;
        };
        stats.routes_documented += 1;
        let Some(item) = self.doc.paths.get(i as usize) else { return };
        let Some(method) = ev.http_method.as_deref() else { return };
        match item.operation(method) {
            Some(op) => {
                if ev.operation_id.is_none() {
                    ev.operation_id = op.operation_id.clone().map(Into::into);
                }
            }
            None => {
                stats.methods_undocumented += 1;
                ev.labels.push(("openapi.undocumented_method".to_string(), "true".to_string()));
            }
        }
    }
}

/// The route of a path (as [`request_path`] gives it): the document's template when it has
/// the path, the folded path otherwise.
pub(crate) fn resolve(api: Option<&ApiRoutes>, path: &str) -> RouteEntry {
    if let Some(api) = api {
        if let Some(i) = api.find(path) {
            let template = api.doc.paths[i as usize].template.as_str().into();
            return RouteEntry { template, path_item: Some(i) };
        }
    }
    RouteEntry { template: templatize::templatize_request_path(path).into(), path_item: None }
}

/// The path of a request target: without query string or fragment, and without scheme and
/// host when a proxy logged the absolute form (`GET http://host/path`).
pub(crate) fn request_path(target: &str) -> &str {
    let path = match memchr::memchr2(b'?', b'#', target.as_bytes()) {
        Some(i) => &target[..i],
        None => target,
    };
    // The origin form (`/path`), which servers log for nearly every request, has no scheme:
    // this runs for every event, and the two prefix tests below cost as much as the search.
    if path.as_bytes().first() == Some(&b'/') {
        return path;
    }
    let lower_prefix = |p: &str| path.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    if lower_prefix("http://") || lower_prefix("https://") {
        let after_scheme = &path[path.find("://").map_or(0, |i| i + 3)..];
        return after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    }
    path
}

pub(crate) fn trim_trailing_slash(path: &str) -> &str {
    let t = path.trim_end_matches('/');
    if t.is_empty() && path.starts_with('/') {
        "/"
    } else {
        t
    }
}
