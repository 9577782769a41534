//! Syslog listeners: RFC 5424 and RFC 3164 messages over UDP (a datagram each) and TCP
//! (octet-counted or newline-framed, detected per connection). The message's payload is the
//! line the source's decoder reads (nginx's `access_log syslog:` sends its log line there).
//!
//! TCP is slowed, not dropped: a connection is not read while the pipeline's queue is full.
//! UDP cannot be slowed: what the kernel drops while the socket is not read is read from
//! `/proc/net/udp` and counted.

use super::feed::{Feed, Mark, BATCH_LINES_MAX};
use super::metrics::Metrics;
use apiwatch_source::syslog::framing::{datagram_message, Framer, Framing};
use apiwatch_source::syslog::{parse, ReceiveContext};
use crossbeam_channel::{Sender, TrySendError};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

/// Largest syslog message read (UDP datagrams are at most 64 KiB anyway).
const MESSAGE_BYTES_MAX: usize = 64 * 1024;
/// Connections one TCP listener serves at once.
const TCP_CONNECTIONS_MAX: usize = 256;
/// How long a batch of UDP messages gathers before it is sent.
const UDP_BATCH_WAIT: Duration = Duration::from_millis(20);
/// How often the kernel's drop count of a UDP socket is read.
const UDP_DROPS_INTERVAL: Duration = Duration::from_secs(2);
/// Pause between tries when the pipeline's queue is full.
const FULL_QUEUE_RETRY: Duration = Duration::from_millis(5);

/// The line for one syslog message: its payload, or the whole message when it is not syslog
/// (counted as unparsed by the decoder if it is nothing else either).
fn payload(message: &[u8]) -> Vec<u8> {
    let now = super::now_ms();
    match parse(message, &ReceiveContext::utc(now)) {
        Ok(m) => m.msg.to_vec(),
        Err(_) => message.to_vec(),
    }
}

/// Sends a batch, waiting (without blocking the runtime) while the queue is full. False when
/// the service is stopping.
async fn send(
    feed: &Sender<Feed>,
    source: usize,
    lines: Vec<Vec<u8>>,
    stop: &watch::Receiver<bool>,
) -> bool {
    let mut f = Feed::Lines { source, lines, mark: Mark::None, ack: None };
    loop {
        match feed.try_send(f) {
            Ok(()) => return true,
            Err(TrySendError::Full(back)) => {
                if *stop.borrow() {
                    return false;
                }
                f = back;
                tokio::time::sleep(FULL_QUEUE_RETRY).await;
            }
            Err(TrySendError::Disconnected(_)) => return false,
        }
    }
}

pub async fn udp(
    addr: SocketAddr,
    source: usize,
    name: String,
    feed: Sender<Feed>,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let socket = tokio::net::UdpSocket::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("syslog: cannot bind udp {addr}: {e}"))?;
    let port = socket.local_addr()?.port();
    tracing::info!(%addr, source = %name, "syslog over UDP");
    Ok(tokio::spawn(async move {
        let mut buf = vec![0u8; MESSAGE_BYTES_MAX];
        let mut lines = Vec::new();
        let mut stop_rx = stop.clone();
        let mut drops_seen = kernel_udp_drops(port).unwrap_or(0);
        let mut drops_tick = tokio::time::interval(UDP_DROPS_INTERVAL);
        loop {
            let flush = tokio::time::sleep(UDP_BATCH_WAIT);
            let stopping = tokio::select! {
                r = socket.recv_from(&mut buf) => {
                    match r {
                        Ok((n, _)) => lines.push(payload(datagram_message(&buf[..n]))),
                        Err(e) => tracing::warn!(error = %e, "syslog udp receive"),
                    }
                    if lines.len() < BATCH_LINES_MAX {
                        continue;
                    }
                    false
                }
                _ = flush, if !lines.is_empty() => false,
                _ = drops_tick.tick() => {
                    if let Some(d) = kernel_udp_drops(port) {
                        if d > drops_seen {
                            metrics.dropped(&name, "udp_buffer_full", d - drops_seen);
                        }
                        drops_seen = d;
                    }
                    continue;
                }
                r = stop_rx.wait_for(|s| *s) => {
                    drop(r);
                    true
                }
            };
            if !lines.is_empty() && !send(&feed, source, std::mem::take(&mut lines), &stop).await {
                return;
            }
            if stopping {
                return;
            }
        }
    }))
}

/// Datagrams the kernel dropped on the UDP socket bound to `port` (its receive buffer was
/// full), from `/proc/net/udp` and `/proc/net/udp6`; `None` where those cannot be read.
fn kernel_udp_drops(port: u16) -> Option<u64> {
    let mut total = None;
    let hex_port = format!(":{port:04X}");
    for file in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.get(1).is_some_and(|local| local.ends_with(&hex_port)) {
                let drops: u64 = cols.last().and_then(|d| d.parse().ok()).unwrap_or(0);
                total = Some(total.unwrap_or(0) + drops);
            }
        }
    }
    total
}

pub async fn tcp(
    addr: SocketAddr,
    source: usize,
    name: String,
    feed: Sender<Feed>,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("syslog: cannot bind tcp {addr}: {e}"))?;
    tracing::info!(%addr, source = %name, "syslog over TCP");
    let slots = Arc::new(tokio::sync::Semaphore::new(TCP_CONNECTIONS_MAX));
    Ok(tokio::spawn(async move {
        let mut stop_rx = stop.clone();
        let mut conns = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                r = listener.accept() => {
                    let Ok((stream, peer)) = r else { continue };
                    let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                        metrics.dropped(&name, "tcp_connections_full", 1);
                        continue;
                    };
                    let (feed, metrics, name, stop) = (feed.clone(), Arc::clone(&metrics), name.clone(), stop.clone());
                    conns.spawn(async move {
                        connection(stream, source, &name, &feed, &metrics, stop).await;
                        tracing::debug!(%peer, "syslog connection closed");
                        drop(permit);
                    });
                }
                _ = stop_rx.wait_for(|s| *s) => break,
            }
        }
        while conns.join_next().await.is_some() {}
    }))
}

async fn connection(
    mut stream: tokio::net::TcpStream,
    source: usize,
    name: &str,
    feed: &Sender<Feed>,
    metrics: &Metrics,
    stop: watch::Receiver<bool>,
) {
    let mut framer = Framer::new(Framing::Auto, MESSAGE_BYTES_MAX);
    let mut buf = vec![0u8; 64 * 1024];
    let mut stop_rx = stop.clone();
    let mut oversize_seen = 0;
    loop {
        let n = tokio::select! {
            r = stream.read(&mut buf) => match r {
                Ok(0) | Err(_) => 0,
                Ok(n) => n,
            },
            r = stop_rx.wait_for(|s| *s) => {
                drop(r);
                0
            }
        };
        let mut lines = Vec::new();
        if n == 0 {
            framer.finish(|frame| lines.push(payload(frame)));
        } else if let Err(e) = framer.feed(&buf[..n], |frame| lines.push(payload(frame))) {
            tracing::warn!(source = %name, error = %e, "syslog framing; closing the connection");
            metrics.dropped(name, "tcp_framing_error", 1);
            return;
        }
        let oversize = framer.stats().oversize_frames;
        if oversize > oversize_seen {
            metrics.dropped(name, "message_too_long", oversize - oversize_seen);
            oversize_seen = oversize;
        }
        for chunk in lines.chunks(BATCH_LINES_MAX) {
            if !send(feed, source, chunk.to_vec(), &stop).await {
                return;
            }
        }
        if n == 0 {
            return;
        }
    }
}
