//! Worker threads, the way nginx runs its workers: each thread has its own single-threaded
//! tokio runtime, its own socket on every listening address (`SO_REUSEPORT`: the kernel spreads
//! new connections evenly over the workers) and its own pool of upstream connections. A call is served from accept to record on one
//! thread, so no call wakes another thread or moves its state between cores; on a loaded
//! machine those wake-ups and context switches cost more than the proxying itself.

use crate::context::ConnInfo;
use crate::error::StartError;
use crate::pool::Pool;
use crate::proxy::{handle, Engine, Worker};
use crate::tls::TlsSource;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;

/// How long a TLS handshake may take: a client that connects and never speaks must not hold a
/// connection slot.
const TLS_HANDSHAKE_TIMEOUT_MS: u64 = 10_000;
/// How long a client may take to send a request's headers (slow-loris defence; HTTP/1.1).
const HEADER_READ_TIMEOUT_MS: u64 = 30_000;
/// Concurrent streams per HTTP/2 connection: one client cannot open unbounded calls.
const H2_STREAMS_PER_CONNECTION_MAX: u32 = 256;

/// What every worker is given.
pub(crate) struct Shared {
    pub engine: Arc<Engine>,
    /// Connection slots of all workers together (`max_connections`).
    pub permits: Arc<Semaphore>,
    /// Turns true at shutdown: stop accepting, finish the calls in flight.
    pub stop: watch::Receiver<bool>,
    /// Turns true when the drain deadline has passed: cut every connection.
    pub cut: watch::Receiver<bool>,
}

/// How many connections may wait in each worker's accept queue.
const LISTEN_BACKLOG: u32 = 1024;

/// Starts worker `index` on its bound sockets (one per listener, in configuration order, with
/// the listener's TLS). Its thread holds `done` until it has let go of every connection.
pub(crate) fn spawn(
    index: usize,
    sockets: Vec<(TcpSocket, Option<Arc<TlsSource>>)>,
    shared: &Shared,
    done: mpsc::Sender<()>,
) -> Result<(), StartError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(StartError::Worker)?;
    // Registered with this worker's reactor, which only its own thread drives.
    let listeners =
        {
            let _entered = runtime.enter();
            let mut listeners = Vec::with_capacity(sockets.len());
            for (listener_index, (socket, tls)) in sockets.into_iter().enumerate() {
                let address = socket.local_addr().unwrap_or_else(|_| ([0, 0, 0, 0], 0).into());
                let listener = socket.listen(LISTEN_BACKLOG).map_err(|source| {
                    StartError::Bind { index: listener_index, address, source }
                })?;
                listeners.push((listener, tls));
            }
            listeners
        };
    let engine = Arc::new(shared.engine.copy_for_worker());
    let permits = shared.permits.clone();
    let stop = shared.stop.clone();
    let mut cut = shared.cut.clone();
    std::thread::Builder::new()
        .name(format!("gateway-{index}"))
        .spawn(move || {
            runtime.block_on(async move {
                let pool = Pool::new(&engine.settings);
                let worker = Arc::new(Worker { engine, pool });
                let mut loops = JoinSet::new();
                for (listener, tls) in listeners {
                    let worker = worker.clone();
                    loops.spawn(accept_loop(worker, listener, tls, permits.clone(), stop.clone()));
                }
                tokio::select! {
                    _ = async { while loops.join_next().await.is_some() {} } => {}
                    // Also when the gateway is dropped without a shutdown.
                    _ = cut.wait_for(|c| *c) => {}
                }
            });
            // Dropping the runtime drops every task left: connections past the deadline and
            // WebSocket tunnels.
            drop(runtime);
            drop(done);
        })
        .map_err(StartError::Worker)?;
    Ok(())
}

/// Accepts connections until `stop`, then waits for those open to finish.
async fn accept_loop(
    worker: Arc<Worker>,
    listener: TcpListener,
    tls: Option<Arc<TlsSource>>,
    permits: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let scheme = if tls.is_some() { "https" } else { "http" };
    loop {
        // Accepted before its slot is taken: a worker waiting for a connection must not hold
        // a slot while a connection waits in another worker's queue (the kernel picks the
        // worker). So at most one connection per worker waits, accepted, for a slot.
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => break,
        };
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
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
        let worker = worker.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        connections.spawn(async move {
            let _permit = permit;
            // Counted closed on drop, so connections cut at shutdown are counted too.
            let telemetry = worker.engine.telemetry.clone();
            let _open = telemetry.connection_opened();
            match tls {
                None => serve(worker, info, tcp, watcher).await,
                Some(tls) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(tls.current());
                    let handshake = Duration::from_millis(TLS_HANDSHAKE_TIMEOUT_MS);
                    match tokio::time::timeout(handshake, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => serve(worker, info, stream, watcher).await,
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
    worker: Arc<Worker>,
    info: ConnInfo,
    stream: S,
    watcher: hyper_util::server::graceful::Watcher,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| handle(worker.clone(), info, request));
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
