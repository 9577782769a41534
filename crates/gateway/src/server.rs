//! Starting and stopping: binds the listeners, accepts connections (TLS where configured),
//! serves each with hyper (HTTP/1.1 with keep-alive and upgrades, HTTP/2), runs the background
//! tasks (health probes, certificate checks, rate-limit key cleanup), and drains at shutdown.

use crate::body::UpstreamBody;
use crate::client_addr::TrustedProxies;
use crate::context::ConnInfo;
use crate::error::{StartError, TlsError};
use crate::hooks::Hooks;
use crate::proxy::{handle, Engine};
use crate::ratelimit::{RateLimits, RETAIN_INTERVAL_MS};
use crate::settings::Gateway;
use crate::stats::{GatewayStats, TargetHealth, Telemetry};
use crate::tls::TlsSource;
use crate::upstream::Routes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

/// How long a TLS handshake may take: a client that connects and never speaks must not hold a
/// connection slot.
const TLS_HANDSHAKE_TIMEOUT_MS: u64 = 10_000;
/// How long a client may take to send a request's headers (slow-loris defence; HTTP/1.1).
const HEADER_READ_TIMEOUT_MS: u64 = 30_000;
/// Concurrent streams per HTTP/2 connection: one client cannot open unbounded calls.
const H2_STREAMS_PER_CONNECTION_MAX: u32 = 256;
/// Idle upstream connections kept per target: enough for bursts of keep-alive reuse, bounded
/// so a burst does not leave thousands of sockets open.
const UPSTREAM_IDLE_CONNECTIONS_PER_TARGET_MAX: usize = 256;
/// How long an idle upstream connection is kept; below common upstream keep-alive timeouts
/// (nginx 75 s), so the gateway closes first and never sends on a connection being closed.
const UPSTREAM_IDLE_TIMEOUT_MS: u64 = 60_000;

/// A running gateway: its bound addresses, statistics, certificate reload and shutdown.
pub struct RunningGateway {
    engine: Arc<Engine>,
    local_addrs: Vec<SocketAddr>,
    tls: Vec<Arc<TlsSource>>,
    stop: watch::Sender<bool>,
    listeners: Vec<JoinHandle<()>>,
    background: Vec<JoinHandle<()>>,
}

/// Reads a gateway's statistics from anywhere (a `/metrics` scrape), independent of the
/// `RunningGateway`'s lifetime.
#[derive(Clone)]
pub struct StatsHandle(std::sync::Weak<Engine>);

impl std::fmt::Debug for StatsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatsHandle")
    }
}

impl StatsHandle {
    /// The counters now, and every target's health; `None` once the gateway is gone.
    pub fn snapshot(&self) -> Option<GatewayStats> {
        self.0.upgrade().map(|engine| snapshot(&engine))
    }
}

/// The counters now, and every target's health.
fn snapshot(engine: &Engine) -> GatewayStats {
    let mut stats = engine.telemetry.snapshot();
    stats.rate_limit_keys = engine.limits.keys() as u64;
    stats.rate_limit_keys_overflowed = engine.limits.overflowed();
    stats.targets = engine
        .routes
        .upstreams
        .iter()
        .flat_map(|u| {
            u.targets.iter().map(|t| TargetHealth {
                upstream: u.name.clone(),
                target: t.authority.to_string(),
                healthy: t.healthy.load(Ordering::Relaxed),
            })
        })
        .collect();
    stats
}

/// What shutdown achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Every connection finished before the deadline (false: the rest were cut).
    pub drained: bool,
}

impl Gateway {
    /// Binds every listener and starts serving on the current tokio runtime.
    pub async fn start(self, hooks: Arc<dyn Hooks>) -> Result<RunningGateway, StartError> {
        let mut tls_sources = Vec::new();
        let mut bound = Vec::new();
        for (index, spec) in self.listeners.iter().enumerate() {
            let tls = match &spec.tls {
                Some(files) => Some(Arc::new(TlsSource::load(files)?)),
                None => None,
            };
            let listener = TcpListener::bind(spec.address)
                .await
                .map_err(|source| StartError::Bind { index, address: spec.address, source })?;
            let local = listener.local_addr().map_err(|source| StartError::Bind {
                index,
                address: spec.address,
                source,
            })?;
            tls_sources.extend(tls.clone());
            bound.push((listener, local, tls));
        }

        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_millis(self.connect_timeout_ms)));
        connector.set_nodelay(true);
        let client: Client<HttpConnector, UpstreamBody> = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_millis(UPSTREAM_IDLE_TIMEOUT_MS))
            .pool_max_idle_per_host(UPSTREAM_IDLE_CONNECTIONS_PER_TARGET_MAX)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        let telemetry = Arc::new(Telemetry::default());
        let engine = Arc::new(Engine {
            hooks,
            routes: Routes::new(&self.upstreams),
            limits: RateLimits::new(&self.rate_limits, self.rate_limit_keys_max),
            client,
            telemetry: telemetry.clone(),
            trusted: TrustedProxies::new(self.trusted_proxies.clone()),
            settings: self,
        });

        let (stop, stop_rx) = watch::channel(false);
        let permits = Arc::new(Semaphore::new(engine.settings.max_connections));
        let mut local_addrs = Vec::new();
        let mut listeners = Vec::new();
        for (listener, local, tls) in bound {
            local_addrs.push(local);
            listeners.push(tokio::spawn(accept_loop(
                engine.clone(),
                listener,
                tls,
                permits.clone(),
                stop_rx.clone(),
            )));
        }

        let mut background = Vec::new();
        for upstream in &engine.routes.upstreams {
            if upstream.health.is_some() {
                background.push(tokio::spawn(crate::health::probe_forever(
                    upstream.clone(),
                    engine.client.clone(),
                    telemetry.clone(),
                )));
            }
        }
        if !tls_sources.is_empty() {
            background.push(tokio::spawn(watch_certificates(
                tls_sources.clone(),
                engine.settings.tls_reload_check_ms,
                telemetry.clone(),
            )));
        }
        if !engine.limits.is_empty() {
            let engine = engine.clone();
            background.push(tokio::spawn(async move {
                let mut ticks = tokio::time::interval(Duration::from_millis(RETAIN_INTERVAL_MS));
                loop {
                    ticks.tick().await;
                    engine.limits.retain_recent();
                }
            }));
        }
        Ok(RunningGateway { engine, local_addrs, tls: tls_sources, stop, listeners, background })
    }
}

impl RunningGateway {
    /// The bound address of each listener, in configuration order (port 0 resolved).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// A snapshot of the counters and of every target's health.
    pub fn stats(&self) -> GatewayStats {
        snapshot(&self.engine)
    }

    /// A handle that reads the statistics, for a metrics exporter. It does not keep the
    /// gateway (nor the embedder's hooks) alive: once the gateway is gone it reads nothing.
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle(Arc::downgrade(&self.engine))
    }

    /// Reloads every listener's certificate and key now. A listener whose files do not load
    /// keeps its current certificate; the errors are returned.
    pub fn reload_tls(&self) -> Result<(), Vec<TlsError>> {
        let errors: Vec<TlsError> = self
            .tls
            .iter()
            .filter_map(|source| {
                let result = source.reload();
                self.engine.telemetry.tls_reloaded(result.is_ok());
                result.err()
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Stops accepting, lets calls in flight finish until `deadline`, then cuts the rest.
    /// WebSocket tunnels already open are not waited for.
    pub async fn shutdown(self, deadline: Duration) -> ShutdownReport {
        let _ = self.stop.send(true);
        for task in &self.background {
            task.abort();
        }
        let mut listeners = self.listeners;
        let drained = tokio::time::timeout(deadline, async {
            for task in &mut listeners {
                let _ = task.await;
            }
        })
        .await
        .is_ok();
        if !drained {
            // Dropping an accept loop drops its connection set, which aborts every connection.
            for task in &listeners {
                task.abort();
            }
        }
        ShutdownReport { drained }
    }
}

/// Accepts connections until `stop`, then waits for those open to finish.
async fn accept_loop(
    engine: Arc<Engine>,
    listener: TcpListener,
    tls: Option<Arc<TlsSource>>,
    permits: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let scheme = if tls.is_some() { "https" } else { "http" };
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.wait_for(|s| *s) => break,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => break,
        };
        // Reap finished connections so the set holds only live ones.
        while connections.try_join_next().is_some() {}
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let info = ConnInfo { peer_ip: peer.ip(), scheme };
        let engine = engine.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        connections.spawn(async move {
            let _permit = permit;
            // Counted closed on drop, so connections cut at shutdown are counted too.
            let _open = engine.telemetry.connection_opened();
            match tls {
                None => serve(engine.clone(), info, tcp, watcher).await,
                Some(tls) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(tls.current());
                    let handshake = Duration::from_millis(TLS_HANDSHAKE_TIMEOUT_MS);
                    match tokio::time::timeout(handshake, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => serve(engine.clone(), info, stream, watcher).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    // Connections still in their TLS handshake were not watched yet.
    connections.shutdown().await;
}

/// Serves one connection: HTTP/1.1 (keep-alive, upgrades) or HTTP/2, whichever the client
/// speaks.
async fn serve<S>(
    engine: Arc<Engine>,
    info: ConnInfo,
    stream: S,
    watcher: hyper_util::server::graceful::Watcher,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| handle(engine.clone(), info, request));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(HEADER_READ_TIMEOUT_MS))
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new()).max_concurrent_streams(H2_STREAMS_PER_CONNECTION_MAX);
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(connection.into_owned()).await {
        tracing::debug!(peer = %info.peer_ip, error = %e, "connection ended with an error");
    }
}

/// Reloads certificates whose files changed, every `check_ms`.
async fn watch_certificates(
    sources: Vec<Arc<TlsSource>>,
    check_ms: u64,
    telemetry: Arc<Telemetry>,
) {
    let mut ticks = tokio::time::interval(Duration::from_millis(check_ms));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        for source in &sources {
            match source.reload_if_changed() {
                Ok(false) => {}
                Ok(true) => {
                    telemetry.tls_reloaded(true);
                    tracing::info!("TLS certificate reloaded");
                }
                Err(e) => {
                    telemetry.tls_reloaded(false);
                    tracing::warn!(error = %e, "TLS certificate reload failed; the old one stays");
                }
            }
        }
    }
}
