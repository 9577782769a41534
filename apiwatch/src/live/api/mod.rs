//! The REST API on the service's HTTP server: alerts, incidents, decisions, rules, actors,
//! security metrics, the audit trail, tokens, the live stream (SSE), CrowdSec's bouncer
//! endpoints, and `/v1/openapi.json` describing all of it.
//!
//! Every handler starts by asking `auth::require` who calls; reads go straight to the state
//! database on a blocking thread, changes go through the responder (`live::respond`), which
//! writes the audit trail.

// Helpers return `Result<_, Response>`: the error is the answer to send, built once per
// refused request, never on a hot path, so its size does not matter.
#![allow(clippy::result_large_err)]

/// The value of a `Result<T, Response>`, or an early return of the response.
macro_rules! ok {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(response) => return response,
        }
    };
}

pub mod auth;
mod crowdsec;
mod read;
mod rules;
pub mod session;
mod stream;
mod traffic;
mod write;

use super::respond::Responder;
use auth::error;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

#[derive(Clone)]
pub struct ApiState {
    pub responder: Arc<Responder>,
    /// The configuration's administrator token, if set.
    pub config_token: Option<String>,
    /// The rules running now (replaced on reload).
    pub rules: Arc<RwLock<Option<apiwatch_detect::RuleSet>>>,
    /// Per bouncer token: the last decision change it was sent (`/v1/decisions/stream`).
    pub bouncer_seen: Arc<Mutex<HashMap<String, i64>>>,
    /// Dashboard sessions signed in with a token.
    pub sessions: Arc<session::Sessions>,
    /// Traffic by minute (the processing thread counts, the dashboard reads).
    pub rollup: super::rollup::SharedRollup,
    /// Each source's health (the processing thread notes, the dashboard reads).
    pub health: super::source_health::SharedHealth,
    /// Attack origins by minute (the processing thread counts, the dashboard's map reads).
    pub geo: super::geo_map::SharedGeoMap,
    pub now_ms: fn() -> i64,
    /// Turns true when the service stops: long-lived answers (the live stream) end then, so
    /// the server's graceful shutdown does not wait on them.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// Items a list returns by default, and at most.
pub const PAGE_DEFAULT: u32 = 50;
pub const PAGE_MAX: u32 = 1000;

/// The peer address (axum gives it when the server is built with connect info).
pub type Peer = ConnectInfo<SocketAddr>;

/// Runs a state-database read on a blocking thread; errors become 500 (logged, not shown).
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, apiwatch_state::StateError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "state database");
            Err(error(StatusCode::INTERNAL_SERVER_ERROR, "the state database failed"))
        }
        Err(_) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, "the request failed")),
    }
}

/// The routes of the API; merged into the service's router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/alerts", get(read::alerts))
        .route("/v1/alerts/{id}", get(read::alert))
        .route("/v1/incidents", get(read::incidents))
        .route("/v1/incidents/{id}", get(read::incident).patch(write::incident))
        .route("/v1/decisions", get(read::decisions).post(write::add_decision))
        .route("/v1/decisions/stream", get(crowdsec::stream))
        .route("/v1/decisions/{id}", get(read::decision).delete(write::lift_decision))
        .route("/v1/decisions/{id}/{change}", post(write::change_decision))
        .route("/v1/rules", get(rules::rules))
        .route("/v1/actors/{id}", get(read::actor))
        .route("/v1/metrics/security", get(read::security_metrics))
        .route("/v1/metrics/traffic", get(traffic::traffic))
        .route("/v1/metrics/geo", get(traffic::geo))
        .route("/v1/sources", get(traffic::sources))
        .route("/v1/mutes", get(read::mutes).post(write::add_mute))
        .route("/v1/mutes/{id}", axum::routing::delete(write::delete_mute))
        .route("/v1/allowlist", get(read::allowlist).post(write::add_allow))
        .route("/v1/allowlist/{id}", axum::routing::delete(write::delete_allow))
        .route("/v1/tokens", get(read::tokens).post(write::create_token))
        .route("/v1/tokens/{id}", axum::routing::delete(write::revoke_token))
        .route("/v1/audit", get(read::audit))
        .route("/v1/stream", get(stream::sse))
        .route(
            "/v1/session",
            get(session::current).post(session::sign_in).delete(session::sign_out),
        )
        .with_state(state)
}

/// The OpenAPI 3.1 document of this API (`docs/openapi.json`, checked against the routes by
/// a test).
pub const OPENAPI_JSON: &str = include_str!("../../../../docs/openapi.json");

async fn openapi() -> Response {
    use axum::response::IntoResponse;
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

/// Every route the service answers under `/v1`, as (method, path): the router above, plus
/// ingest and search (`live/http.rs`). The OpenAPI document must list exactly these.
#[cfg(test)]
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/openapi.json"),
    ("get", "/v1/alerts"),
    ("get", "/v1/alerts/{id}"),
    ("get", "/v1/incidents"),
    ("get", "/v1/incidents/{id}"),
    ("patch", "/v1/incidents/{id}"),
    ("get", "/v1/decisions"),
    ("post", "/v1/decisions"),
    ("get", "/v1/decisions/stream"),
    ("get", "/v1/decisions/{id}"),
    ("delete", "/v1/decisions/{id}"),
    ("post", "/v1/decisions/{id}/{change}"),
    ("get", "/v1/rules"),
    ("get", "/v1/actors/{id}"),
    ("get", "/v1/metrics/security"),
    ("get", "/v1/metrics/traffic"),
    ("get", "/v1/metrics/geo"),
    ("get", "/v1/sources"),
    ("get", "/v1/mutes"),
    ("post", "/v1/mutes"),
    ("delete", "/v1/mutes/{id}"),
    ("get", "/v1/allowlist"),
    ("post", "/v1/allowlist"),
    ("delete", "/v1/allowlist/{id}"),
    ("get", "/v1/tokens"),
    ("post", "/v1/tokens"),
    ("delete", "/v1/tokens/{id}"),
    ("get", "/v1/audit"),
    ("get", "/v1/stream"),
    ("get", "/v1/session"),
    ("post", "/v1/session"),
    ("delete", "/v1/session"),
    ("get", "/v1/events/search"),
    ("post", "/v1/ingest"),
];

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_lists_exactly_the_routes() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI_JSON).unwrap();
        let mut listed: Vec<(String, String)> = Vec::new();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for method in ops.as_object().unwrap().keys() {
                listed.push((method.clone(), path.clone()));
            }
        }
        let mut routes: Vec<(String, String)> =
            super::ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
        listed.sort();
        routes.sort();
        assert_eq!(listed, routes);
        assert_eq!(doc["openapi"], "3.1.0");
    }
}
