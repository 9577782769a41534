//! Keep-alive connections to upstream targets, one pool per worker thread. A call borrows an
//! idle connection to its target (the most recently used: the likeliest still open) or opens
//! one; the connection goes back when the response body has been read to its end.
//!
//! Written over hyper's `client::conn::http1` in place of hyper-util's pooled client, which
//! spawns a task per call to wait for the connection to be ready again and hashes the target
//! on every checkout: a tenth of a worker's time at full load.

use crate::body::UpstreamBody;
use crate::settings::Gateway;
use bytes::Bytes;
use http::uri::Authority;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// Idle connections kept per target and worker: enough for bursts of keep-alive reuse,
/// bounded so a burst does not leave thousands of sockets open.
const IDLE_CONNECTIONS_PER_TARGET_MAX: usize = 256;
/// How long an idle connection is kept; below common upstream keep-alive timeouts (nginx
/// 75 s), so the gateway closes first and seldom sends on a connection being closed.
const IDLE_TIMEOUT_MS: u64 = 60_000;

type Sender = http1::SendRequest<UpstreamBody>;

/// One worker's connections. Only that worker's tasks use it, so its lock is never contended.
pub(crate) struct Pool {
    /// Idle connections by target, oldest first. Targets are few: a list beats a hash.
    idle: Mutex<Vec<(Authority, VecDeque<Idle>)>>,
    connect_timeout: Duration,
}

struct Idle {
    sender: Sender,
    since: Instant,
}

/// A connection lent to one call; `release` gives it back.
pub(crate) struct Lease {
    sender: Sender,
    target: Authority,
    pool: Arc<Pool>,
    /// Taken from the idle list rather than opened for this call.
    reused: bool,
}

/// Why a call got no response from its target.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpstreamError {
    #[error("cannot connect to {target}: {source}")]
    Connect { target: Authority, source: std::io::Error },
    #[error("cannot connect to {target}: no answer within {timeout_ms} ms")]
    ConnectTimeout { target: Authority, timeout_ms: u128 },
    #[error("upstream exchange failed: {0}")]
    Http(#[from] hyper::Error),
}

impl UpstreamError {
    /// Nothing reached the upstream: the call may go to another target.
    pub fn is_connect(&self) -> bool {
        matches!(self, UpstreamError::Connect { .. } | UpstreamError::ConnectTimeout { .. })
    }
}

impl Pool {
    pub fn new(settings: &Gateway) -> Arc<Pool> {
        Pool::with_connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
    }

    fn with_connect_timeout(connect_timeout: Duration) -> Arc<Pool> {
        Arc::new(Pool { idle: Mutex::new(Vec::new()), connect_timeout })
    }

    /// Sends `request` (origin-form URI, `Host` set) to `target`. A request that a reused
    /// connection did not take (the upstream closed it while it was idle; nothing was sent)
    /// goes again on another connection.
    pub async fn send(
        self: &Arc<Self>,
        target: &Authority,
        mut request: Request<UpstreamBody>,
    ) -> Result<(Response<Incoming>, Lease), UpstreamError> {
        loop {
            let mut lease = self.checkout(target).await?;
            match lease.sender.try_send_request(request).await {
                Ok(response) => return Ok((response, lease)),
                Err(mut failed) => match failed.take_message() {
                    // Each turn uses up an idle connection, so this ends on a new one.
                    Some(unsent) if lease.reused => request = unsent,
                    _ => return Err(failed.into_error().into()),
                },
            }
        }
    }

    async fn checkout(self: &Arc<Self>, target: &Authority) -> Result<Lease, UpstreamError> {
        while let Some(mut idle) = self.take_idle(target) {
            // Released when its last response ended; its connection task may not have run
            // since, so it can still be finishing that exchange. A closed one answers Err.
            if idle.sender.is_ready() || idle.sender.ready().await.is_ok() {
                return Ok(self.lease(idle.sender, target, true));
            }
        }
        self.connect(target).await
    }

    fn take_idle(&self, target: &Authority) -> Option<Idle> {
        let mut all = lock(&self.idle);
        let (_, idle) = all.iter_mut().find(|(t, _)| t == target)?;
        let now = Instant::now();
        while let Some(newest) = idle.pop_back() {
            if now.duration_since(newest.since) < Duration::from_millis(IDLE_TIMEOUT_MS)
                && !newest.sender.is_closed()
            {
                return Some(newest);
            }
            // Anything older than a stale connection is staler.
            if !newest.sender.is_closed() {
                idle.clear();
            }
        }
        None
    }

    async fn connect(self: &Arc<Self>, target: &Authority) -> Result<Lease, UpstreamError> {
        // `[::1]` is a host in an authority, `::1` an address to connect to.
        let host = target.host().trim_start_matches('[').trim_end_matches(']');
        let port = target.port_u16().unwrap_or(80);
        let stream = match tokio::time::timeout(
            self.connect_timeout,
            TcpStream::connect((host, port)),
        )
        .await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(source)) => {
                return Err(UpstreamError::Connect { target: target.clone(), source })
            }
            Err(_) => {
                return Err(UpstreamError::ConnectTimeout {
                    target: target.clone(),
                    timeout_ms: self.connect_timeout.as_millis(),
                })
            }
        };
        // Requests and responses are written whole; waiting to coalesce only adds latency.
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::Builder::new().handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Upgrades let a 101 answer become a WebSocket tunnel.
            if let Err(e) = connection.with_upgrades().await {
                tracing::debug!(error = %e, "upstream connection ended");
            }
        });
        Ok(self.lease(sender, target, false))
    }

    fn lease(self: &Arc<Self>, sender: Sender, target: &Authority, reused: bool) -> Lease {
        Lease { sender, target: target.clone(), pool: self.clone(), reused }
    }

    /// Idle connections held, all targets together.
    #[cfg(test)]
    fn idle_count(&self) -> usize {
        lock(&self.idle).iter().map(|(_, idle)| idle.len()).sum()
    }
}

impl Lease {
    /// Gives the connection back: its response has been read to the end.
    fn release(self) {
        if self.sender.is_closed() {
            return;
        }
        let mut all = lock(&self.pool.idle);
        let index = match all.iter().position(|(t, _)| *t == self.target) {
            Some(i) => i,
            None => {
                all.push((self.target, VecDeque::new()));
                all.len() - 1
            }
        };
        let idle = &mut all[index].1;
        let now = Instant::now();
        while idle.len() >= IDLE_CONNECTIONS_PER_TARGET_MAX
            || idle.front().is_some_and(|oldest| {
                now.duration_since(oldest.since) >= Duration::from_millis(IDLE_TIMEOUT_MS)
            })
        {
            idle.pop_front();
        }
        idle.push_back(Idle { sender: self.sender, since: now });
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding it; the list stays sound if something did.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A response body that gives its connection back when read to the end. A body dropped before
/// its end takes its connection with it: what is left unread makes it unusable.
pub(crate) struct PooledBody {
    inner: Incoming,
    lease: Option<Lease>,
}

impl PooledBody {
    pub fn new(inner: Incoming, lease: Option<Lease>) -> Self {
        PooledBody { inner, lease }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            if let Some(lease) = self.lease.take() {
                lease.release();
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        // A body known to be empty (HEAD, 204, 304, `Content-Length: 0`) is not read at all.
        if let Some(lease) = self.lease.take() {
            if self.inner.is_end_stream() {
                lease.release();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Empty};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn pool() -> Arc<Pool> {
        Pool::with_connect_timeout(Duration::from_secs(5))
    }

    fn get(target: &Authority) -> Request<UpstreamBody> {
        Request::get("/")
            .header(http::header::HOST, target.as_str())
            .body(Empty::new().map_err(|n| match n {}).boxed_unsync())
            .unwrap()
    }

    /// An upstream that answers every request on a connection with a two-byte body, counting
    /// connections, and closes each connection after `per_connection` answers.
    async fn upstream(per_connection: usize) -> (Authority, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target: Authority = listener.local_addr().unwrap().to_string().parse().unwrap();
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    for _ in 0..per_connection {
                        let mut got = Vec::new();
                        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                            match s.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => got.extend_from_slice(&buf[..n]),
                            }
                        }
                        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if s.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (target, connections)
    }

    async fn read_all(response: Response<Incoming>, lease: Lease) -> Bytes {
        PooledBody::new(response.into_body(), Some(lease)).collect().await.unwrap().to_bytes()
    }

    #[tokio::test]
    async fn a_connection_read_to_its_end_is_used_again() {
        let (target, connections) = upstream(usize::MAX).await;
        let pool = pool();
        for _ in 0..5 {
            let (response, lease) = pool.send(&target, get(&target)).await.unwrap();
            assert_eq!(read_all(response, lease).await, "ok");
        }
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(pool.idle_count(), 1);
    }

    #[tokio::test]
    async fn a_body_dropped_before_its_end_takes_its_connection_along() {
        let (target, connections) = upstream(usize::MAX).await;
        let pool = pool();
        let (response, lease) = pool.send(&target, get(&target)).await.unwrap();
        drop(PooledBody::new(response.into_body(), Some(lease)));
        assert_eq!(pool.idle_count(), 0);
        let (response, lease) = pool.send(&target, get(&target)).await.unwrap();
        assert_eq!(read_all(response, lease).await, "ok");
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_connection_the_upstream_closed_while_idle_is_replaced() {
        let (target, connections) = upstream(1).await;
        let pool = pool();
        for _ in 0..3 {
            let (response, lease) = pool.send(&target, get(&target)).await.unwrap();
            assert_eq!(read_all(response, lease).await, "ok");
            // Let the closing reach the idle connection, or not: both must work.
            tokio::task::yield_now().await;
        }
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let target: Authority = listener.local_addr().unwrap().to_string().parse().unwrap();
        drop(listener);
        let pool = pool();
        let e = pool.send(&target, get(&target)).await.err().unwrap();
        assert!(e.is_connect(), "{e}");
        assert!(e.to_string().contains(target.as_str()), "{e}");
    }
}
