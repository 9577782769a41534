//! The dashboard's traffic reads, all from what the processing thread counts in memory:
//! traffic by minute (`rollup.rs`), the threat map's countries and attacking networks
//! (`geo_map.rs`), and each source's health (`source_health.rs`).

use super::auth::{error, Reader};
use super::read::Window;
use super::ApiState;
use apiwatch_core::time::HOUR_MS;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// `[since_ms, until_ms)` from a query's `since` and `until` (RFC 3339 or a duration back
/// from now); until now and `default_ms` long when not given.
pub fn period(
    st: &ApiState,
    since: Option<String>,
    until: Option<String>,
    default_ms: i64,
) -> Result<(i64, i64), Response> {
    let now = (st.now_ms)();
    let b = Window { limit: None, offset: None, since, until }.bounds(now)?;
    let until_ms = b.until_ms.unwrap_or(now);
    let since_ms = b.since_ms.unwrap_or(until_ms - default_ms);
    if since_ms >= until_ms {
        return Err(error(StatusCode::BAD_REQUEST, "since: must be before until"));
    }
    Ok((since_ms, until_ms))
}

/// The query of `GET /v1/metrics/traffic`.
#[derive(serde::Deserialize)]
pub struct TrafficQuery {
    /// RFC 3339 or a duration back from now; default the last hour.
    since: Option<String>,
    until: Option<String>,
    /// A duration (`1m`, `5m`, `1h`); default: the period in at most 120 steps.
    step: Option<String>,
}

/// Steps a series has by default.
const TRAFFIC_STEPS_DEFAULT: i64 = 120;

/// Traffic by step over a period of event time (the last day at most) and requests per
/// country, from the processing thread's roll-up.
pub async fn traffic(Reader(st): Reader, Query(q): Query<TrafficQuery>) -> Response {
    let (since_ms, until_ms) = ok!(period(&st, q.since, q.until, HOUR_MS));
    let step_ms = match q.step.as_deref() {
        Some(text) => match apiwatch_core::time::parse_duration_ms(text) {
            Ok(ms) if ms >= apiwatch_core::time::MINUTE_MS => ms,
            Ok(_) => return error(StatusCode::BAD_REQUEST, "step: one minute at least"),
            Err(e) => return error(StatusCode::BAD_REQUEST, &format!("step: {e}")),
        },
        None => ((until_ms - since_ms) / TRAFFIC_STEPS_DEFAULT).max(apiwatch_core::time::MINUTE_MS),
    };
    let rollup = crate::live::lock(&st.rollup);
    Json(serde_json::json!({
        "since_ms": since_ms,
        "until_ms": until_ms,
        "step_ms": step_ms / apiwatch_core::time::MINUTE_MS * apiwatch_core::time::MINUTE_MS,
        "points": rollup.series(since_ms, until_ms, step_ms),
        "countries": rollup.countries(since_ms, until_ms),
        "late_events": rollup.too_old(),
    }))
    .into_response()
}

/// The query of `GET /v1/metrics/geo`.
#[derive(serde::Deserialize)]
pub struct GeoQuery {
    /// RFC 3339 or a duration back from now; default the last hour.
    since: Option<String>,
    until: Option<String>,
}

/// The threat map: requests and alerts per country, and the networks alerts came from.
pub async fn geo(Reader(st): Reader, Query(q): Query<GeoQuery>) -> Response {
    let (since_ms, until_ms) = ok!(period(&st, q.since, q.until, HOUR_MS));
    let mut requests: Vec<(String, u64)> = Vec::new();
    {
        let rollup = crate::live::lock(&st.rollup);
        let total = rollup.requests(since_ms, until_ms);
        let mut placed = 0u64;
        for c in rollup.countries(since_ms, until_ms) {
            placed += c.requests;
            requests.push((c.country, c.requests));
        }
        // Requests without a country (no GeoIP database, or an address it does not place).
        if total > placed {
            requests.push((crate::live::geo_map::UNKNOWN_COUNTRY.to_string(), total - placed));
        }
    }
    let map = crate::live::lock(&st.geo);
    Json(serde_json::json!({
        "since_ms": since_ms,
        "until_ms": until_ms,
        "countries": map.countries(since_ms, until_ms, &requests),
        "networks": map.networks(since_ms, until_ms),
    }))
    .into_response()
}

/// Each source's health: rate, lag, last delivery, silence (each with its own threshold).
pub async fn sources(Reader(st): Reader) -> Response {
    let items = crate::live::lock(&st.health).report((st.now_ms)());
    Json(serde_json::json!({
        "items": items,
        // The default threshold; each item carries its own.
        "silent_after_ms": crate::live::source_health::SILENT_AFTER_MS_DEFAULT,
    }))
    .into_response()
}
