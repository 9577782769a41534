//! Starting and stopping: binds the listeners, starts the worker threads that serve them
//! (`worker.rs`), runs the background tasks (health probes, certificate checks, rate-limit key
//! cleanup) on the embedder's runtime, and drains at shutdown.

use crate::client_addr::TrustedProxies;
use crate::error::{StartError, TlsError};
use crate::hooks::Hooks;
use crate::pool::Pool;
use crate::proxy::Engine;
use crate::ratelimit::{RateLimits, RETAIN_INTERVAL_MS};
use crate::settings::Gateway;
use crate::stats::{GatewayStats, TargetHealth, Telemetry};
use crate::tls::TlsSource;
use crate::upstream::Routes;
use crate::worker;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpSocket;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;

/// A running gateway: its bound addresses, statistics, certificate reload and shutdown.
pub struct RunningGateway {
    engine: Arc<Engine>,
    local_addrs: Vec<SocketAddr>,
    tls: Vec<Arc<TlsSource>>,
    stop: watch::Sender<bool>,
    cut: watch::Sender<bool>,
    /// Closed once every worker thread has let go of its connections.
    workers_done: mpsc::Receiver<()>,
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
    /// Binds every listener and starts the worker threads that serve them. Must be called on
    /// a tokio runtime: the background tasks (health probes, certificate checks) run on it.
    pub async fn start(self, hooks: Arc<dyn Hooks>) -> Result<RunningGateway, StartError> {
        let mut tls_sources = Vec::new();
        let mut local_addrs = Vec::new();
        // Per worker, a socket of its own for each listener.
        let mut sockets: Vec<Vec<(TcpSocket, Option<Arc<TlsSource>>)>> =
            (0..self.workers).map(|_| Vec::new()).collect();
        for (index, spec) in self.listeners.iter().enumerate() {
            let tls = match &spec.tls {
                Some(files) => Some(Arc::new(TlsSource::load(files)?)),
                None => None,
            };
            let bind_error = |address, source| StartError::Bind { index, address, source };
            let local = free_address(spec.address).map_err(|e| bind_error(spec.address, e))?;
            for own in &mut sockets {
                own.push((reuseport_socket(local).map_err(|e| bind_error(local, e))?, tls.clone()));
            }
            tls_sources.extend(tls);
            local_addrs.push(local);
        }

        let telemetry = Arc::new(Telemetry::default());
        let engine = Arc::new(Engine {
            hooks,
            routes: Routes::new(&self.upstreams),
            limits: Arc::new(RateLimits::new(&self.rate_limits, self.rate_limit_keys_max)),
            telemetry: telemetry.clone(),
            trusted: TrustedProxies::new(self.trusted_proxies.clone()),
            settings: self,
        });

        let (stop, stop_rx) = watch::channel(false);
        let (cut, cut_rx) = watch::channel(false);
        let shared = worker::Shared {
            engine: engine.clone(),
            permits: Arc::new(Semaphore::new(engine.settings.max_connections)),
            stop: stop_rx,
            cut: cut_rx,
        };
        let (done, workers_done) = mpsc::channel(1);
        for (index, own) in sockets.into_iter().enumerate() {
            // On failure the stop and cut senders drop, which stops the workers already started.
            worker::spawn(index, own, &shared, done.clone())?;
        }

        let mut background = Vec::new();
        for upstream in &engine.routes.upstreams {
            if upstream.health.is_some() {
                background.push(tokio::spawn(crate::health::probe_forever(
                    upstream.clone(),
                    Pool::new(&engine.settings),
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
        Ok(RunningGateway {
            engine,
            local_addrs,
            tls: tls_sources,
            stop,
            cut,
            workers_done,
            background,
        })
    }
}

/// `address` with its port resolved (port 0 picks one), after checking that nothing holds it:
/// the workers' sockets share the address with `SO_REUSEPORT`, and would share it just as
/// quietly with another gateway left running there.
fn free_address(address: SocketAddr) -> std::io::Result<SocketAddr> {
    let probe = socket_for(address)?;
    probe.bind(address)?;
    probe.local_addr()
}

/// A TCP socket of `address`'s family that may bind while old connections linger in TIME_WAIT.
fn socket_for(address: SocketAddr) -> std::io::Result<TcpSocket> {
    let socket = if address.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    Ok(socket)
}

/// A socket bound to `address` that other workers' sockets may bind as well: the kernel
/// spreads new connections over them.
fn reuseport_socket(address: SocketAddr) -> std::io::Result<TcpSocket> {
    let socket = socket_for(address)?;
    socket.set_reuseport(true)?;
    socket.bind(address)?;
    Ok(socket)
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
        let mut workers_done = self.workers_done;
        let drained = tokio::time::timeout(deadline, workers_done.recv()).await.is_ok();
        if !drained {
            // Each worker drops its runtime, and with it every connection left.
            let _ = self.cut.send(true);
            let _ = workers_done.recv().await;
        }
        ShutdownReport { drained }
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
