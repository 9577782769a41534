//! The service's HTTP side: `/health`, `/metrics`, `POST /v1/ingest` and
//! `GET /v1/events/search`.
//!
//! Ingest answers only once the events are durable in the store (the commit that carries
//! them returned), 413 past the source's size limit, 429 when the pipeline's queue is full,
//! 401 without a valid token. The token names the source: each `http` source has its own.

use super::api::auth::{error, same_secret};
use super::feed::{Feed, IngestReceipt, Mark, BATCH_LINES_MAX};
use super::metrics::Metrics;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use crossbeam_channel::{Sender, TrySendError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// One HTTP ingest source.
#[derive(Clone)]
pub struct IngestSource {
    pub index: usize,
    pub name: String,
    pub token: String,
    pub max_body_bytes: u64,
}

/// Where searches read.
#[derive(Clone)]
pub struct SearchAccess {
    pub data_dir: std::path::PathBuf,
    pub encryption_key: Option<[u8; 32]>,
}

#[derive(Clone)]
pub struct HttpState {
    pub metrics: Arc<Metrics>,
    pub feed: Sender<Feed>,
    pub ingest: Arc<Vec<IngestSource>>,
    /// False until the pipeline runs, and again once shutdown begins.
    pub ready: Arc<AtomicBool>,
    pub search: Arc<SearchAccess>,
    /// Who may do what (tokens and roles).
    pub api: super::api::ApiState,
}

/// Events one search returns by default, and at most.
const SEARCH_EVENTS_DEFAULT: u64 = 100;
const SEARCH_EVENTS_MAX: u64 = 10_000;

#[derive(serde::Deserialize)]
pub struct SearchParams {
    /// The filter (the same language as `apiwatch search`).
    #[serde(default)]
    q: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<u64>,
    count_by: Option<String>,
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        // Each source's own limit is applied (and counted) once the token says which source
        // the request is for, instead of by axum's default limit.
        .route("/v1/ingest", post(ingest).layer(DefaultBodyLimit::disable()))
        .route("/v1/events/search", get(search))
        .with_state(state)
}

async fn health(State(st): State<HttpState>) -> Response {
    if st.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, axum::Json(serde_json::json!({"status": "ok", "ready": true})))
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "ok", "ready": false})),
        )
            .into_response()
    }
}

/// OpenMetrics when the scraper asks for it, Prometheus' classic text format otherwise.
async fn metrics(State(st): State<HttpState>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if accept.contains("application/openmetrics-text") {
        (
            [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
            st.metrics.render_openmetrics(),
        )
            .into_response()
    } else {
        ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], st.metrics.render())
            .into_response()
    }
}

/// Splits a body into one line per event: NDJSON as it is, a JSON array element by element.
pub fn split_body(body: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let items: Vec<&serde_json::value::RawValue> = serde_json::from_slice(body)
            .map_err(|e| format!("the body is not a JSON array: {e}"))?;
        return Ok(items.iter().map(|v| v.get().as_bytes().to_vec()).collect());
    }
    Ok(body
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .map(<[u8]>::to_vec)
        .collect())
}

fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
}

/// `GET /v1/events/search?q=…&since=…&until=…&limit=…&count_by=…`: stored events as ECS
/// JSON, or the top values of a field. Reads the store on a blocking thread.
async fn search(
    State(st): State<HttpState>,
    peer: super::api::Peer,
    headers: HeaderMap,
    axum::extract::Query(params): axum::extract::Query<SearchParams>,
) -> Response {
    use super::api::auth::{require, Need};
    if let Err(r) = require(&st.api, &headers, peer.0, Need::Search).await {
        return r;
    }
    let access = Arc::clone(&st.search);
    let result = tokio::task::spawn_blocking(move || run_search(&access, &params)).await;
    match result {
        Ok(Ok(body)) => (StatusCode::OK, axum::Json(body)).into_response(),
        Ok(Err(SearchFailure::Request(e))) => error(StatusCode::BAD_REQUEST, &e),
        Ok(Err(SearchFailure::Store(e))) => error(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "the search failed"),
    }
}

enum SearchFailure {
    /// The request is wrong (a filter, a time, a field): 400.
    Request(String),
    /// The store could not be read: 500.
    Store(String),
}

fn run_search(
    access: &SearchAccess,
    params: &SearchParams,
) -> Result<serde_json::Value, SearchFailure> {
    use crate::search_cmd::{parse_filters, scan_events, time_range, Tally};
    let bad = |e: anyhow::Error| SearchFailure::Request(format!("{e:#}"));
    let (from_ms, to_ms) = time_range(
        params.since.as_deref(),
        params.until.as_deref(),
        super::now_ms(),
        ("since", "until"),
    )
    .map_err(bad)?;
    let filters: Vec<String> = params.q.iter().filter(|q| !q.trim().is_empty()).cloned().collect();
    let query = parse_filters(&filters).map_err(bad)?;
    let count_by =
        match &params.count_by {
            Some(name) => Some(apiwatch_core::field::Field::parse(name).ok_or_else(|| {
                SearchFailure::Request(format!("count_by: `{name}` is not a field"))
            })?),
            None => None,
        };
    let limit = params.limit.unwrap_or(SEARCH_EVENTS_DEFAULT).clamp(1, SEARCH_EVENTS_MAX);
    let mut reader = apiwatch_store::Reader::open(&access.data_dir, access.encryption_key)
        .map_err(|e| SearchFailure::Store(e.to_string()))?;
    let mut events = Vec::new();
    let mut tally = Tally::default();
    let stats = scan_events(&mut reader, &query, from_ms, to_ms, |ev| {
        if let Some(f) = &count_by {
            tally.add(&ev, f);
            return std::ops::ControlFlow::Continue(());
        }
        events.push(apiwatch_core::ecs::to_ecs_json(&ev));
        if events.len() as u64 >= limit {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    })
    .map_err(|e| SearchFailure::Store(format!("{e:#}")))?;
    let scan = serde_json::json!({
        "segments": stats.segments_total,
        "segments_read": stats.segments_read,
        "segments_skipped_by_time": stats.segments_skipped_by_time,
        "segments_skipped_by_actor": stats.segments_skipped_by_key,
        "blocks_read": stats.blocks_read,
    });
    if count_by.is_some() {
        let counts: Vec<_> = tally
            .top(limit as usize)
            .into_iter()
            .map(|(v, n)| serde_json::json!({"value": v, "count": n}))
            .collect();
        return Ok(serde_json::json!({"counts": counts, "scan": scan}));
    }
    Ok(serde_json::json!({"events": events, "scan": scan}))
}

async fn ingest(
    State(st): State<HttpState>,
    peer: super::api::Peer,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let token = bearer(&headers);
    let own = st.ingest.iter().find(|s| same_secret(s.token.as_bytes(), token.as_bytes()));
    // An `agent` token (or an administrator's) sends to the first http source.
    let src = match (own, st.ingest.first()) {
        (Some(s), _) => s,
        (None, Some(first)) => {
            use super::api::auth::{require, Need};
            if let Err(r) = require(&st.api, &headers, peer.0, Need::Ingest).await {
                return r;
            }
            first
        }
        (None, None) => {
            return error(StatusCode::NOT_FOUND, "no http source is configured");
        }
    };
    let limit = usize::try_from(src.max_body_bytes).unwrap_or(usize::MAX);
    let body: Bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            st.metrics.dropped(&src.name, "body_too_large", 1);
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is larger than {} bytes", src.max_body_bytes),
            );
        }
    };
    if !st.ready.load(Ordering::Relaxed) {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the service is starting or stopping");
    }
    let lines = match split_body(&body) {
        Ok(l) => l,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let mut waits = Vec::new();
    let mut chunks = lines.into_iter().peekable();
    while chunks.peek().is_some() {
        let batch: Vec<Vec<u8>> = chunks.by_ref().take(BATCH_LINES_MAX).collect();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let feed = Feed::Lines { source: src.index, lines: batch, mark: Mark::None, ack: Some(tx) };
        match st.feed.try_send(feed) {
            Ok(()) => waits.push(rx),
            Err(TrySendError::Full(_)) => {
                // Batches already queued are stored all the same; the client retries the
                // request, and ingest is at-least-once for a request refused part-way.
                st.metrics.dropped(&src.name, "queue_full", 1);
                return error(StatusCode::TOO_MANY_REQUESTS, "the pipeline is full; retry later");
            }
            Err(TrySendError::Disconnected(_)) => {
                return error(StatusCode::SERVICE_UNAVAILABLE, "the service is stopping");
            }
        }
    }
    let mut total = IngestReceipt { accepted: 0, unparsed: 0 };
    for w in waits {
        match w.await {
            Ok(Ok(r)) => {
                total.accepted += r.accepted;
                total.unparsed += r.unparsed;
            }
            Ok(Err(e)) => return error(StatusCode::SERVICE_UNAVAILABLE, &e),
            Err(_) => {
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the service stopped before storing the events",
                )
            }
        }
    }
    (StatusCode::OK, axum::Json(total)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_split_into_events() {
        assert_eq!(
            split_body(b"{\"a\":1}\n\n{\"b\":2}\r\n").unwrap(),
            vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]
        );
        assert_eq!(
            split_body(b" [ {\"a\":1}, {\"b\":[2,3]} ]").unwrap(),
            vec![b"{\"a\":1}".to_vec(), b"{\"b\":[2,3]}".to_vec()]
        );
        assert!(split_body(b"[{\"a\":1},").is_err());
        assert!(split_body(b"").unwrap().is_empty());
    }
}
