//! One call through the gateway: runs the phases (`phases/`) over a `Context`, sends the
//! request to the chosen target and streams both bodies through their taps.

use crate::body::{
    lock, BoxError, OnEnd, ResponseBody, Tap, TappedRequest, TappedResponse, UpstreamBody,
};
use crate::client_addr::TrustedProxies;
use crate::context::{ConnInfo, Context};
use crate::headers::{add_forwarding, remove_hop_by_hop, request_id, wants_upgrade};
use crate::hooks::Hooks;
use crate::pool::{Pool, PooledBody};
use crate::problem::problem;
use crate::ratelimit::RateLimits;
use crate::record::Outcome;
use crate::settings::Gateway;
use crate::stats::Telemetry;
use crate::upstream::Routes;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::uri::{Authority, PathAndQuery};
use http::{Method, Request, Response, StatusCode, Uri, Version};
use http_body::Body;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Targets one call may be sent to: the first, and others while each refuses the connection.
const UPSTREAM_TRIES_MAX: usize = 3;

/// What calls need: settings, the embedder's hooks, routes, limits. Each worker thread has an
/// engine of its own (`copy_for_worker`), sharing with the others only what must be shared
/// (health, rate limits, counters), so the reference counts a call clones are the worker's.
pub(crate) struct Engine {
    pub settings: Gateway,
    pub hooks: Arc<dyn Hooks>,
    pub routes: Routes,
    pub limits: Arc<RateLimits>,
    pub telemetry: Arc<Telemetry>,
    pub trusted: TrustedProxies,
}

impl Engine {
    pub fn copy_for_worker(&self) -> Engine {
        Engine {
            settings: self.settings.clone(),
            hooks: Arc::clone(&self.hooks),
            routes: self.routes.copy_for_worker(),
            limits: Arc::clone(&self.limits),
            telemetry: Arc::clone(&self.telemetry),
            trusted: self.trusted.clone(),
        }
    }
}

/// One worker thread's view: the shared engine, and the upstream connections the thread owns
/// (used from no other thread).
pub(crate) struct Worker {
    pub engine: Arc<Engine>,
    pub pool: Arc<Pool>,
}

/// Serves one request from a client.
pub(crate) async fn handle(
    worker: Arc<Worker>,
    conn: ConnInfo,
    mut request: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let engine = &worker.engine;
    let client_upgrade = (request.version() == Version::HTTP_11
        && wants_upgrade(request.headers()))
    .then(|| hyper::upgrade::on(&mut request));
    let (parts, body) = request.into_parts();
    let client_ip = engine.trusted.client_ip(conn.peer_ip, &parts.headers);
    let id = request_id(&parts.headers, &engine.settings.request_id_header);
    let mut ctx = Context::new(conn, client_ip, id, &parts);
    let request_tap = Arc::new(Mutex::new(Tap::new(engine.settings.body_inspect_bytes_max)));

    if let Some(answer) = engine.request_filter(&mut ctx, &parts) {
        return Ok(engine.respond(ctx, answer, request_tap));
    }
    let mut target = match engine.upstream_peer(&mut ctx) {
        Ok(t) => t,
        Err(answer) => return Ok(engine.respond(ctx, *answer, request_tap)),
    };
    // A call without a body that may be repeated can go to another target when its target
    // refuses the connection (nothing reached the upstream then).
    let repeatable = client_upgrade.is_none()
        && body.is_end_stream()
        && matches!(
            parts.method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::DELETE | Method::PUT
        );
    let mut upstream_request = engine.upstream_request(
        &ctx,
        parts,
        TappedRequest::new(body, request_tap.clone()).map_err(BoxError::from).boxed_unsync(),
        &target,
        client_upgrade.is_some(),
    );
    let wait = Duration::from_millis(engine.settings.upstream_response_header_timeout_ms);
    let mut tried = Vec::new();
    let (response, lease) = loop {
        match tokio::time::timeout(wait, worker.pool.send(&target, upstream_request)).await {
            Ok(Ok(sent)) => break sent,
            Ok(Err(e)) => {
                tracing::debug!(target = %target, error = %e, "upstream request failed");
                let again = match &ctx.upstream {
                    Some(upstream)
                        if repeatable && e.is_connect() && tried.len() + 1 < UPSTREAM_TRIES_MAX =>
                    {
                        tried.push(target.clone());
                        upstream.pick_target_except(&tried).map(|t| t.authority.clone())
                    }
                    _ => None,
                };
                if let Some(next) = again {
                    engine.telemetry.upstream_retried();
                    target = next;
                    let empty = http_body_util::Empty::new().map_err(|n| match n {}).boxed_unsync();
                    upstream_request =
                        engine.upstream_request(&ctx, ctx.request_parts(), empty, &target, false);
                    continue;
                }
                return Ok(engine.upstream_failed(ctx, request_tap, false));
            }
            Err(_) => return Ok(engine.upstream_failed(ctx, request_tap, true)),
        }
    };
    match client_upgrade {
        Some(client_upgrade) if response.status() == StatusCode::SWITCHING_PROTOCOLS => {
            Ok(crate::websocket::tunnel(engine.clone(), ctx, client_upgrade, response))
        }
        _ => {
            // After a 101 the connection speaks something else: it does not go back.
            let lease = (response.status() != StatusCode::SWITCHING_PROTOCOLS).then_some(lease);
            let response = response.map(|body| PooledBody::new(body, lease));
            Ok(engine.respond(ctx, response, request_tap))
        }
    }
}

impl Engine {
    /// The answer when no target answered: 502, or 504 when the wait for headers ran out.
    fn upstream_failed(
        self: &Arc<Self>,
        mut ctx: Context,
        request_tap: Arc<Mutex<Tap>>,
        timed_out: bool,
    ) -> Response<ResponseBody> {
        self.telemetry.upstream_failed(timed_out);
        ctx.outcome = Outcome::UpstreamError;
        let (status, detail) = if timed_out {
            (StatusCode::GATEWAY_TIMEOUT, "the upstream did not answer in time")
        } else {
            (StatusCode::BAD_GATEWAY, "the upstream could not be reached")
        };
        let answer = problem(status, detail, &ctx.request_id);
        self.respond(ctx, answer, request_tap)
    }

    /// The client's request rewritten for `target`: absolute URI, HTTP/1.1, hop-by-hop fields
    /// out, forwarding fields and the request id in.
    fn upstream_request(
        &self,
        ctx: &Context,
        mut parts: http::request::Parts,
        body: UpstreamBody,
        target: &Authority,
        upgrade: bool,
    ) -> Request<UpstreamBody> {
        // Origin form (`/path?query`), the client's path and query as parsed.
        let path_and_query = std::mem::take(&mut parts.uri)
            .into_parts()
            .path_and_query
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        parts.uri = Uri::from(path_and_query);
        parts.version = Version::HTTP_11;
        let upgrade_to = parts.headers.get(header::UPGRADE).cloned();
        remove_hop_by_hop(&mut parts.headers);
        if let (true, Some(protocol)) = (upgrade, upgrade_to) {
            parts.headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            parts.headers.insert(header::UPGRADE, protocol);
        }
        join_cookies(&mut parts.headers);
        // HTTP/2 clients name the host in `:authority`; HTTP/1.1 needs it in `Host` (an
        // HTTP/1.0 client may have named none: then the target's).
        if !parts.headers.contains_key(header::HOST) {
            let host = if ctx.authority.is_empty() { target.as_str() } else { &ctx.authority };
            if let Ok(v) = HeaderValue::from_str(host) {
                parts.headers.insert(header::HOST, v);
            }
        }
        add_forwarding(&mut parts.headers, ctx.peer_ip, ctx.scheme, &ctx.authority);
        if let Some(v) = &ctx.request_id_value {
            parts.headers.insert(self.settings.request_id_header.clone(), v.clone());
        }
        Request::from_parts(parts, body)
    }

    /// Sends `response` to the client through `response_filter`; `logging` runs when its body
    /// has gone through.
    pub(crate) fn respond<B>(
        self: &Arc<Self>,
        mut ctx: Context,
        response: Response<B>,
        request_tap: Arc<Mutex<Tap>>,
    ) -> Response<ResponseBody>
    where
        B: Body<Data = Bytes> + Unpin + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let (mut parts, body) = response.into_parts();
        self.response_filter(&mut ctx, &mut parts);
        let engine = self.clone();
        let on_end: OnEnd = Box::new(move |response_tap| {
            let request_tap = lock(&request_tap);
            engine.logging(ctx, &request_tap, &response_tap);
        });
        let body = TappedResponse::new(body, self.settings.body_inspect_bytes_max, on_end);
        Response::from_parts(parts, body.boxed_unsync())
    }
}

/// HTTP/2 clients may split `Cookie` into several fields; HTTP/1.1 wants one (RFC 9113
/// §8.2.3), joined with `; `.
fn join_cookies(headers: &mut http::HeaderMap) {
    if headers.get_all(header::COOKIE).iter().nth(1).is_none() {
        return;
    }
    let joined: Vec<&[u8]> = headers.get_all(header::COOKIE).iter().map(|v| v.as_bytes()).collect();
    if let Ok(v) = HeaderValue::from_bytes(&joined.join(&b"; "[..])) {
        headers.insert(header::COOKIE, v);
    }
}
