//! Health probes: each target of an upstream with a `health_check` gets `GET path` every
//! interval; a failed probe takes it out of rotation until a probe succeeds again.

use crate::pool::{Pool, PooledBody};
use crate::stats::Telemetry;
use crate::upstream::Upstream;
use http::uri::Authority;
use http_body_util::{BodyExt, Empty};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Probes `upstream`'s targets forever (the task is aborted at shutdown).
pub(crate) async fn probe_forever(
    upstream: Arc<Upstream>,
    pool: Arc<Pool>,
    telemetry: Arc<Telemetry>,
) {
    let Some(check) = upstream.health.clone() else { return };
    let mut ticks = tokio::time::interval(Duration::from_millis(check.interval_ms));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        for target in &upstream.targets {
            let healthy = probe(&pool, &target.authority, &check.path, check.timeout_ms).await;
            let was = target.healthy.swap(healthy, Ordering::Relaxed);
            if was != healthy {
                telemetry.health_changed();
                tracing::warn!(
                    upstream = %upstream.name,
                    target = %target.authority,
                    healthy,
                    "upstream target health changed"
                );
            }
        }
    }
}

/// A 2xx or 3xx answer within the timeout is healthy.
async fn probe(pool: &Arc<Pool>, target: &Authority, path: &str, timeout_ms: u64) -> bool {
    let Ok(request) = http::Request::get(path)
        .header(http::header::HOST, target.as_str())
        .header(http::header::USER_AGENT, "apiwatch-gateway health check")
        .body(Empty::new().map_err(|never| match never {}).boxed_unsync())
    else {
        return false;
    };
    let answer = tokio::time::timeout(Duration::from_millis(timeout_ms), async {
        let (response, lease) = pool.send(target, request).await.ok()?;
        let ok = response.status().is_success() || response.status().is_redirection();
        // Read the body so the connection goes back to the pool.
        PooledBody::new(response.into_body(), Some(lease)).collect().await.ok()?;
        Some(ok)
    })
    .await;
    matches!(answer, Ok(Some(true)))
}
