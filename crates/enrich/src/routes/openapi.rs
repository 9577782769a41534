//! Reads the parts of an OpenAPI 3.0/3.1 document that routing needs: server base paths, path
//! templates and each operation's `operationId`.
//!
//! The document is parsed into a `serde_json::Value` (YAML through serde-saphyr) and read by
//! hand rather than through a typed OpenAPI crate: routing needs three fields, a typed model
//! would reject real documents over schema details that do not matter here (and 3.0 and 3.1
//! need different crates), and problems can be reported with their place in the document.

use crate::error::EnrichError;
use crate::OpenApiProblem;
use serde_json::{Map, Value};
use std::path::Path;

/// Larger documents are refused; the biggest public API descriptions are a few MiB.
const DOCUMENT_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// `$ref` chains between path items longer than this are treated as a loop.
const REF_DEPTH_MAX: usize = 8;

/// The HTTP methods an OpenAPI 3.0/3.1 path item can describe.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// What routing keeps of a document.
#[derive(Debug, Default)]
pub(crate) struct ApiDocument {
    /// Server base paths without trailing slash, longest first; never empty strings.
    pub base_paths: Vec<String>,
    pub paths: Vec<PathItem>,
    pub warnings: Vec<OpenApiProblem>,
}

#[derive(Debug)]
pub(crate) struct PathItem {
    pub template: String,
    pub operations: Vec<Operation>,
}

#[derive(Debug)]
pub(crate) struct Operation {
    /// Upper case: `GET`, `POST`, …
    pub method: &'static str,
    pub operation_id: Option<String>,
}

impl PathItem {
    /// The operation for a request method. HEAD falls back to GET, as servers answer HEAD with
    /// the GET handler when no HEAD operation is declared.
    pub(crate) fn operation(&self, method: &str) -> Option<&Operation> {
        let find = |m: &str| self.operations.iter().find(|op| op.method.eq_ignore_ascii_case(m));
        find(method)
            .or_else(|| if method.eq_ignore_ascii_case("HEAD") { find("GET") } else { None })
    }
}

/// Reads and checks the document at `path`.
pub(crate) fn load(path: &Path) -> Result<ApiDocument, EnrichError> {
    let read_err = |reason| EnrichError::OpenApiRead { path: path.to_path_buf(), reason };
    let bytes = std::fs::metadata(path).map_err(read_err)?.len();
    if bytes > DOCUMENT_BYTES_MAX {
        return Err(EnrichError::OpenApiTooLarge {
            path: path.to_path_buf(),
            bytes,
            bytes_max: DOCUMENT_BYTES_MAX,
        });
    }
    let text = std::fs::read_to_string(path).map_err(read_err)?;
    let value = parse_text(path, &text)?;
    from_value(&value)
        .map_err(|problems| EnrichError::OpenApiInvalid { path: path.to_path_buf(), problems })
}

/// JSON by extension or by its first character; YAML otherwise.
fn parse_text(path: &Path, text: &str) -> Result<Value, EnrichError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let json =
        ext == "json" || (ext != "yaml" && ext != "yml" && text.trim_start().starts_with('{'));
    let syntax = |format, message: String| EnrichError::OpenApiSyntax {
        path: path.to_path_buf(),
        format,
        message,
    };
    if json {
        serde_json::from_str(text).map_err(|e| syntax("JSON", e.to_string()))
    } else {
        serde_saphyr::from_str(text).map_err(|e| syntax("YAML", e.to_string()))
    }
}

/// Reads a parsed document; every problem found is returned, not only the first.
pub(crate) fn from_value(root: &Value) -> Result<ApiDocument, Vec<OpenApiProblem>> {
    let mut problems = Vec::new();
    let mut doc = ApiDocument::default();
    let mut problem = |at: String, message: &str| {
        problems.push(OpenApiProblem { at, message: message.to_string() })
    };
    let Some(obj) = root.as_object() else {
        problem("$".into(), "expected a mapping at the top level");
        return Err(problems);
    };
    if obj.contains_key("swagger") {
        problem(
            "swagger".into(),
            "Swagger 2.0 is not supported; convert the document to OpenAPI 3",
        );
        return Err(problems);
    }
    let version = obj.get("openapi").and_then(Value::as_str).unwrap_or("");
    let is_31 = version.starts_with("3.1");
    if !(version.starts_with("3.0") || is_31) {
        problem("openapi".into(), "expected an OpenAPI version 3.0.x or 3.1.x");
    }
    match obj.get("servers") {
        None => {}
        Some(Value::Array(servers)) => {
            for (i, server) in servers.iter().enumerate() {
                match server.get("url").and_then(Value::as_str) {
                    Some(url) => match base_path(url, server.get("variables")) {
                        Some(base) if !base.is_empty() && !doc.base_paths.contains(&base) => {
                            doc.base_paths.push(base)
                        }
                        Some(_) => {}
                        None => doc.warnings.push(OpenApiProblem {
                            at: format!("servers[{i}].url"),
                            message:
                                "has a variable without a default; its base path is not stripped"
                                    .into(),
                        }),
                    },
                    None => problem(format!("servers[{i}].url"), "expected a string"),
                }
            }
        }
        Some(_) => problem("servers".into(), "expected a list"),
    }
    doc.base_paths.sort_by_key(|b| std::cmp::Reverse(b.len()));
    match obj.get("paths") {
        Some(Value::Object(paths)) => {
            for (template, item) in paths {
                let at = format!("paths['{template}']");
                if !template.starts_with('/') {
                    problem(at, "a path template must start with '/'");
                    continue;
                }
                let item = match resolve_ref(root, item, 0) {
                    Ok(item) => item,
                    Err(Unresolved::External(r)) => {
                        doc.warnings.push(OpenApiProblem {
                            at: format!("{at}.$ref"),
                            message: format!("'{r}' is in another file, which is not read; the route is known but not its operations"),
                        });
                        doc.paths
                            .push(PathItem { template: template.clone(), operations: Vec::new() });
                        continue;
                    }
                    Err(Unresolved::Missing(r)) => {
                        problem(
                            format!("{at}.$ref"),
                            &format!("'{r}' does not point into this document"),
                        );
                        continue;
                    }
                };
                let Some(item) = item.as_object() else {
                    problem(at, "expected a path item (a mapping)");
                    continue;
                };
                let operations = operations(item, &at, &mut problem);
                doc.paths.push(PathItem { template: template.clone(), operations });
            }
        }
        // OpenAPI 3.1 documents may describe only webhooks.
        None if is_31 => {}
        None => problem("paths".into(), "missing; OpenAPI 3.0 requires it"),
        Some(_) => problem("paths".into(), "expected a mapping of path templates"),
    }
    if problems.is_empty() {
        Ok(doc)
    } else {
        Err(problems)
    }
}

fn operations(
    item: &Map<String, Value>,
    at: &str,
    problem: &mut impl FnMut(String, &str),
) -> Vec<Operation> {
    let mut out = Vec::new();
    for method in METHODS {
        let Some(op) = item.get(method) else { continue };
        let at = format!("{at}.{method}");
        let Some(op) = op.as_object() else {
            problem(at, "expected an operation (a mapping)");
            continue;
        };
        let operation_id = match op.get("operationId") {
            None => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(_) => {
                problem(format!("{at}.operationId"), "expected a string");
                continue;
            }
        };
        let method = match method {
            "get" => "GET",
            "put" => "PUT",
            "post" => "POST",
            "delete" => "DELETE",
            "options" => "OPTIONS",
            "head" => "HEAD",
            "patch" => "PATCH",
            _ => "TRACE",
        };
        out.push(Operation { method, operation_id });
    }
    out
}

enum Unresolved<'a> {
    External(&'a str),
    Missing(&'a str),
}

/// Follows a path item's local `$ref` (`#/components/pathItems/…`, 3.1).
fn resolve_ref<'a>(
    root: &'a Value,
    item: &'a Value,
    depth: usize,
) -> Result<&'a Value, Unresolved<'a>> {
    let Some(reference) = item.get("$ref").and_then(Value::as_str) else { return Ok(item) };
    let Some(pointer) = reference.strip_prefix('#') else {
        return Err(Unresolved::External(reference));
    };
    if depth >= REF_DEPTH_MAX {
        return Err(Unresolved::Missing(reference));
    }
    match root.pointer(pointer) {
        Some(target) => resolve_ref(root, target, depth + 1),
        None => Err(Unresolved::Missing(reference)),
    }
}

/// The path part of a server URL, with server variables replaced by their defaults:
/// `https://api.example.com/v1/` → `/v1`, `/api/v3` → `/api/v3`, `https://x.org` → ``.
/// `None` when a variable in the path has no default.
pub(crate) fn base_path(url: &str, variables: Option<&Value>) -> Option<String> {
    let mut expanded = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}')?;
        expanded.push_str(&rest[..open]);
        let name = &rest[open + 1..close];
        let default = variables?.get(name)?.get("default")?.as_str()?;
        expanded.push_str(default);
        rest = &rest[close + 1..];
    }
    expanded.push_str(rest);
    let without_query = super::request_path(&expanded);
    let path = match without_query.find("://") {
        // `request_path` strips http(s); other schemes (ws, wss) the same way.
        Some(i) => without_query[i + 3..].find('/').map_or("", |j| &without_query[i + 3 + j..]),
        None if without_query.starts_with("//") => {
            without_query[2..].find('/').map_or("", |j| &without_query[2 + j..])
        }
        None => without_query,
    };
    let path = path.trim_end_matches('/');
    Some(if path.is_empty() || path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_urls_give_base_paths() {
        let vars = json!({"basePath": {"default": "v2"}, "host": {"default": "api.example.com"}});
        let cases = [
            ("https://api.example.com/v1/", Some("/v1")),
            ("https://api.example.com", Some("")),
            ("/api/v3", Some("/api/v3")),
            ("v1", Some("/v1")),
            ("//cdn.example.com/base", Some("/base")),
            ("https://{host}/{basePath}", Some("/v2")),
            ("wss://stream.example.com/ws?x=1", Some("/ws")),
            ("https://x.org/{missing}", None),
        ];
        for (url, want) in cases {
            assert_eq!(base_path(url, Some(&vars)).as_deref(), want, "{url}");
        }
    }

    #[test]
    fn every_problem_is_reported_with_its_place() {
        let doc = json!({
            "openapi": "2.5",
            "servers": [{"url": 7}],
            "paths": {
                "pets": {},
                "/a": {"get": {"operationId": 5}, "post": "nope"},
                "/b": {"$ref": "#/components/pathItems/missing"}
            }
        });
        let problems = from_value(&doc).unwrap_err();
        // Paths come in key order (serde_json's map is sorted), not document order.
        let places: Vec<&str> = problems.iter().map(|p| p.at.as_str()).collect();
        assert_eq!(
            places,
            [
                "openapi",
                "servers[0].url",
                "paths['/a'].get.operationId",
                "paths['/a'].post",
                "paths['/b'].$ref",
                "paths['pets']",
            ]
        );
    }

    #[test]
    fn swagger_two_is_named_as_such() {
        let problems = from_value(&json!({"swagger": "2.0", "paths": {}})).unwrap_err();
        assert_eq!(problems[0].at, "swagger");
    }

    #[test]
    fn path_item_refs_resolve_locally_and_external_ones_keep_the_route() {
        let doc = json!({
            "openapi": "3.1.0",
            "paths": {
                "/a": {"$ref": "#/components/pathItems/A"},
                "/b": {"$ref": "other.yaml#/B"}
            },
            "components": {"pathItems": {"A": {"get": {"operationId": "getA"}}}}
        });
        let d = from_value(&doc).unwrap();
        assert_eq!(d.paths[0].operation("GET").unwrap().operation_id.as_deref(), Some("getA"));
        assert_eq!(d.paths[0].operation("head").unwrap().operation_id.as_deref(), Some("getA"));
        assert!(d.paths[1].operations.is_empty());
        assert_eq!(d.warnings.len(), 1);
        assert_eq!(d.warnings[0].at, "paths['/b'].$ref");
    }

    #[test]
    fn a_ref_loop_is_reported_not_followed_forever() {
        let doc = json!({
            "openapi": "3.1.0",
            "paths": {"/a": {"$ref": "#/x"}},
            "x": {"$ref": "#/x"}
        });
        let problems = from_value(&doc).unwrap_err();
        assert_eq!(problems[0].at, "paths['/a'].$ref");
    }

    #[test]
    fn webhook_only_31_documents_are_fine_but_30_needs_paths() {
        assert!(from_value(&json!({"openapi": "3.1.0", "webhooks": {}})).is_ok());
        assert_eq!(from_value(&json!({"openapi": "3.0.3"})).unwrap_err()[0].at, "paths");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics_the_loader(text in "\\PC{0,300}") {
            let path = Path::new("arbitrary.yaml");
            if let Ok(v) = parse_text(path, &text) {
                let _ = from_value(&v);
            }
            let _ = parse_text(Path::new("arbitrary.json"), &text);
            let _ = base_path(&text, None);
        }
    }
}
