//! Route templates from OpenAPI 3.0 (YAML) and 3.1 (JSON) documents, and by folding ids.

mod common;

use apiwatch_core::EventData;
use apiwatch_enrich::{EnrichConfig, EnrichError, EnrichWorker, Enricher};
use common::{data, worker};
use std::path::PathBuf;

fn api(file: &str) -> EnrichWorker {
    worker(&EnrichConfig { openapi: Some(data(file)), ..EnrichConfig::default() })
}

fn route(w: &mut EnrichWorker, method: &str, path: &str) -> EventData {
    let mut ev = EventData {
        http_method: Some(method.into()),
        url_path: Some(path.into()),
        ..EventData::default()
    };
    w.enrich(&mut ev);
    ev
}

/// (method, documented path as logged, expected route, expected operationId)
type Case = (&'static str, &'static str, &'static str, Option<&'static str>);

fn check(w: &mut EnrichWorker, cases: &[Case]) {
    for &(method, path, want_route, want_op) in cases {
        let ev = route(w, method, path);
        assert_eq!(ev.http_route.as_deref(), Some(want_route), "{method} {path}");
        assert_eq!(ev.operation_id.as_deref(), want_op, "{method} {path}");
        assert_eq!(ev.label("openapi.undocumented"), None, "{method} {path}");
    }
}

#[test]
fn openapi_30_yaml_routes_with_base_paths_and_parameters() {
    let mut w = api("petstore-3.0.yaml");
    check(
        &mut w,
        &[
            ("GET", "/api/v1/pets", "/pets", Some("listPets")),
            ("POST", "/api/v1/pets/", "/pets", Some("createPet")),
            ("GET", "/api/v1/pets?limit=10&api_key=abc", "/pets", Some("listPets")),
            ("GET", "/api/v1/pets/42", "/pets/{petId}", Some("showPetById")),
            ("delete", "/api/v1/pets/42", "/pets/{petId}", Some("deletePet")),
            // A static segment wins over the parameter.
            ("GET", "/api/v1/pets/mine", "/pets/mine", Some("listMyPets")),
            // Two parameters.
            (
                "GET",
                "/api/v1/owners/7/pets/42",
                "/owners/{ownerId}/pets/{petId}",
                Some("getOwnerPet"),
            ),
            (
                "PUT",
                "/api/v1/owners/ann/pets/rex/",
                "/owners/{ownerId}/pets/{petId}",
                Some("updateOwnerPet"),
            ),
            // Percent-encoded parameters are decoded before matching.
            ("GET", "/api/v1/pets/caf%C3%A9", "/pets/{petId}", Some("showPetById")),
            // Two parameters in one segment (matchit refuses it; the segment matcher takes it).
            ("GET", "/api/v1/files/report.pdf", "/files/{name}.{ext}", Some("downloadFile")),
            // Gateways that strip the base path log the bare route.
            ("GET", "/pets/42", "/pets/{petId}", Some("showPetById")),
            // An absolute-form target from a forward proxy.
            (
                "GET",
                "http://petstore.example.com/api/v1/pets/9",
                "/pets/{petId}",
                Some("showPetById"),
            ),
            // Documented path, no operationId.
            ("GET", "/api/v1/health", "/health", None),
            // HEAD falls back to GET.
            ("HEAD", "/api/v1/pets", "/pets", Some("listPets")),
        ],
    );
    let s = w.stats();
    assert_eq!((s.routes_documented, s.routes_undocumented), (14, 0));
}

#[test]
fn undocumented_paths_and_methods_are_labelled() {
    let mut w = api("petstore-3.0.yaml");
    let ev = route(&mut w, "GET", "/api/v1/admin/users/12345/export");
    assert_eq!(ev.http_route.as_deref(), Some("/api/v1/admin/users/{id}/export"));
    assert_eq!(ev.operation_id, None);
    assert_eq!(ev.label("openapi.undocumented"), Some("true"));
    // One segment too many is another path.
    let ev = route(&mut w, "GET", "/api/v1/pets/42/toys");
    assert_eq!(ev.label("openapi.undocumented"), Some("true"));
    assert_eq!(ev.http_route.as_deref(), Some("/api/v1/pets/{id}/toys"));
    // A documented path with a method the document does not list.
    let ev = route(&mut w, "PATCH", "/api/v1/pets/42");
    assert_eq!(ev.http_route.as_deref(), Some("/pets/{petId}"));
    assert_eq!(ev.operation_id, None);
    assert_eq!(ev.label("openapi.undocumented"), None);
    assert_eq!(ev.label("openapi.undocumented_method"), Some("true"));
    let s = w.stats();
    assert_eq!((s.routes_documented, s.routes_undocumented, s.methods_undocumented), (1, 2, 1));
}

#[test]
fn openapi_31_json_with_server_variables_and_path_item_refs() {
    let mut w = api("orders-3.1.json");
    check(
        &mut w,
        &[
            ("GET", "/v2/orders", "/orders", Some("listOrders")),
            ("POST", "/v2/orders", "/orders", Some("createOrder")),
            ("GET", "/v2/orders/ord_81723", "/orders/{orderId}", Some("getOrder")),
            ("PATCH", "/v2/orders/ord_81723", "/orders/{orderId}", Some("updateOrder")),
            (
                "GET",
                "/v2/customers/c-1/orders/o-2/items/3",
                "/customers/{customerId}/orders/{orderId}/items/{itemId}",
                Some("getOrderItem"),
            ),
        ],
    );
    // The base path must end at a segment boundary: /v22 is not /v2 + /2.
    let ev = route(&mut w, "GET", "/v22/orders");
    assert_eq!(ev.label("openapi.undocumented"), Some("true"));
}

#[test]
fn a_route_set_by_the_decoder_is_kept() {
    let mut w = api("petstore-3.0.yaml");
    let mut ev = EventData {
        url_path: Some("/api/v1/pets/1".into()),
        http_route: Some("pets-route".into()),
        ..EventData::default()
    };
    w.enrich(&mut ev);
    assert_eq!(ev.http_route.as_deref(), Some("pets-route"));
    assert_eq!(ev.operation_id, None);
}

#[test]
fn without_a_document_ids_are_folded_and_cached() {
    let mut w = worker(&EnrichConfig::default());
    let cases = [
        (
            "/api/v1/users/12345/orders/9f8b2c1e-4d3a-4b8e-9c1f-2a3b4c5d6e7f",
            "/api/v1/users/{id}/orders/{id}",
        ),
        (
            "/api/v1/users/12345/orders/9f8b2c1e-4d3a-4b8e-9c1f-2a3b4c5d6e7f",
            "/api/v1/users/{id}/orders/{id}",
        ),
        ("/wp-login.php?redirect_to=x", "/wp-login.php"),
        (
            "/v2/accounts/jane.doe%40example.com/keys/AKIAIOSFODNN7EXAMPLE1",
            "/v2/accounts/{id}/keys/{id}",
        ),
    ];
    for (path, want) in cases {
        let ev = route(&mut w, "GET", path);
        assert_eq!(ev.http_route.as_deref(), Some(want), "{path}");
        assert_eq!(ev.label("openapi.undocumented"), None, "no document, no label");
    }
    let s = w.stats().route_cache;
    assert_eq!((s.hits, s.misses), (1, 3));
}

#[test]
fn long_paths_are_routed_but_not_cached() {
    let mut cfg = EnrichConfig::default();
    cfg.limits.cache_key_bytes_max = 32;
    let mut w = worker(&cfg);
    let long = format!("/search/{}/page/2", "q".repeat(64));
    let ev = route(&mut w, "GET", &long);
    assert_eq!(
        ev.http_route.as_deref(),
        Some(format!("/search/{}/page/{{id}}", "q".repeat(64)).as_str())
    );
    let s = w.stats().route_cache;
    assert_eq!((s.uncacheable, s.entries), (1, 0));
}

fn temp_doc(name: &str, text: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn build_err(path: PathBuf) -> String {
    let cfg = EnrichConfig { openapi: Some(path), ..EnrichConfig::default() };
    Enricher::build(&cfg).unwrap_err().to_string()
}

#[test]
fn document_errors_name_the_file_and_the_place() {
    let path = temp_doc(
        "bad-ops.yaml",
        "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      operationId: [x]\n  b: {}\n",
    );
    let err = build_err(path.clone());
    assert!(err.starts_with(&path.display().to_string()), "{err}");
    assert!(err.contains("at paths['/a'].get.operationId: expected a string"), "{err}");
    assert!(err.contains("at paths['b']: a path template must start with '/'"), "{err}");

    let path = temp_doc("broken.yaml", "openapi: 3.0.0\npaths: [unclosed\n");
    let err = build_err(path.clone());
    assert!(err.starts_with(&format!("{}: not valid YAML", path.display())), "{err}");

    let path = temp_doc("broken.json", "{\"openapi\": \"3.1.0\",\n \"paths\": {,}}");
    let err = build_err(path.clone());
    assert!(err.starts_with(&format!("{}: not valid JSON", path.display())), "{err}");
    assert!(err.contains("line 2"), "{err}");

    let path = temp_doc("swagger.json", r#"{"swagger": "2.0", "paths": {}}"#);
    assert!(build_err(path).contains("at swagger: Swagger 2.0 is not supported"));

    let missing = data("no-such-api.yaml");
    let cfg = EnrichConfig { openapi: Some(missing.clone()), ..EnrichConfig::default() };
    let err = Enricher::build(&cfg).unwrap_err();
    assert!(matches!(err, EnrichError::OpenApiRead { .. }));
    assert!(err.to_string().starts_with(&missing.display().to_string()));
}

#[test]
fn duplicate_routes_are_warned_about_not_fatal() {
    let path = temp_doc(
        "dup.yaml",
        "openapi: 3.1.0\npaths:\n  /a/{x}:\n    get: {operationId: one}\n  /a/{y}/:\n    get: {operationId: two}\n",
    );
    let cfg = EnrichConfig { openapi: Some(path), ..EnrichConfig::default() };
    let e = Enricher::build(&cfg).unwrap();
    let warnings = e.openapi_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].at, "paths['/a/{y}/']");
}

#[test]
fn documentation_answers_the_shadow_api_question() {
    use apiwatch_enrich::Documentation::*;
    let cfg = EnrichConfig { openapi: Some(data("petstore-3.0.yaml")), ..EnrichConfig::default() };
    let e = Enricher::build(&cfg).unwrap();
    let cases = [
        ("GET", "/api/v1/pets?limit=3", Documented),
        ("GET", "/pets/42", Documented),
        ("HEAD", "/api/v1/pets", Documented),
        // A CORS preflight on a documented path.
        ("OPTIONS", "/api/v1/pets/42", Documented),
        ("PATCH", "/api/v1/pets", UndocumentedMethod),
        ("GET", "/api/v1/internal/debug", UndocumentedRoute),
        ("OPTIONS", "/api/v1/internal/debug", UndocumentedRoute),
        ("GET", "/api/v1/pets/42/../../admin", UndocumentedRoute),
        // Dot segments, even percent-encoded and even when they would land on a template.
        ("GET", "/api/v1/pets/%2e%2e/pets", UndocumentedRoute),
        ("GET", "/api/v1/pets/./42", UndocumentedRoute),
    ];
    for (method, target, want) in cases {
        assert_eq!(e.documentation(method, target), want, "{method} {target}");
    }
    let none = Enricher::build(&EnrichConfig::default()).unwrap();
    assert_eq!(none.documentation("GET", "/anything"), NoDocument);
}
