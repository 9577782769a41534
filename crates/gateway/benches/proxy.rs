//! Throughput and latency added by the gateway: an upstream and the gateway in one process, a
//! hyper client driving N requests at a given concurrency, first straight to the upstream,
//! then through the gateway, so the figures are compared within one run on the same machine.
//!
//! `cargo bench -p apiwatch-gateway --bench proxy -- [requests] [concurrency] [body_bytes]`
//! (defaults 20000, 32, 256).

use apiwatch_gateway::{CallRecord, GatewayConfig, Hooks, Overloaded};
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Takes records and counts them, as a cheap embedder would (its queue push).
struct CountingHooks(AtomicU64);

impl Hooks for CountingHooks {
    fn record(&self, call: CallRecord) -> Result<(), Overloaded> {
        std::hint::black_box(call);
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

async fn upstream(body_bytes: usize) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = Bytes::from(vec![b'x'; body_bytes]);
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let _ = tcp.set_nodelay(true);
            let body = body.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| {
                    let body = body.clone();
                    async move {
                        let response = http::Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(body))
                            .unwrap();
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

struct Run {
    requests_per_s: f64,
    p50_us: u64,
    p99_us: u64,
}

async fn drive(addr: std::net::SocketAddr, requests: usize, concurrency: usize) -> Run {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Body> =
        Client::builder(TokioExecutor::new()).pool_max_idle_per_host(concurrency).build(connector);
    let uri: http::Uri = format!("http://{addr}/v1/items?limit=10").parse().unwrap();
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (client, uri) = (client.clone(), uri.clone());
            let n = requests / concurrency + usize::from(w < requests % concurrency);
            tokio::spawn(async move {
                let mut latencies_us = Vec::with_capacity(n);
                for _ in 0..n {
                    let t = Instant::now();
                    let req = http::Request::get(uri.clone())
                        .header("authorization", "Bearer abc.def.ghi")
                        .header("user-agent", "bench")
                        .body(Full::new(Bytes::new()).boxed_unsync())
                        .unwrap();
                    let response = client.request(req).await.unwrap();
                    assert_eq!(response.status(), 200);
                    response.into_body().collect().await.unwrap();
                    latencies_us.push(t.elapsed().as_micros() as u64);
                }
                latencies_us
            })
        })
        .collect();
    let mut all = Vec::with_capacity(requests);
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort_unstable();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Run {
        requests_per_s: all.len() as f64 / elapsed.as_secs_f64(),
        p50_us: at(0.50),
        p99_us: at(0.99),
    }
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let requests = args.first().copied().unwrap_or(20_000);
    let concurrency = args.get(1).copied().unwrap_or(32).max(1);
    let body_bytes = args.get(2).copied().unwrap_or(256);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let up = upstream(body_bytes).await;
        let yaml = format!(
            "listeners: [{{address: '127.0.0.1:0'}}]
upstreams: [{{name: api, targets: ['http://{up}']}}]
rate_limits: [{{scope: address, per_minute: 100000000, burst: 1000000}}]
"
        );
        let config: GatewayConfig = serde_saphyr::from_str(&yaml).unwrap();
        let hooks = Arc::new(CountingHooks(AtomicU64::new(0)));
        let gateway = config.validate().unwrap().start(hooks.clone()).await.unwrap();
        let through = gateway.local_addrs()[0];
        // Warm-up: connections, pools, allocator.
        drive(up, 2_000.min(requests), concurrency).await;
        drive(through, 2_000.min(requests), concurrency).await;

        println!(
            "{requests} requests, concurrency {concurrency}, {body_bytes}-byte answers, {} worker threads",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let direct = drive(up, requests, concurrency).await;
        let proxied = drive(through, requests, concurrency).await;
        for (name, r) in [("direct", &direct), ("gateway", &proxied)] {
            println!(
                "{name:>8}: {:>9.0} requests/s  p50 {:>6} µs  p99 {:>6} µs",
                r.requests_per_s, r.p50_us, r.p99_us
            );
        }
        println!(
            "   added: p50 {} µs, p99 {} µs; throughput {:.0}% of direct; records {}",
            proxied.p50_us as i64 - direct.p50_us as i64,
            proxied.p99_us as i64 - direct.p99_us as i64,
            100.0 * proxied.requests_per_s / direct.requests_per_s,
            hooks.0.load(Ordering::Relaxed)
        );
        gateway.shutdown(Duration::from_secs(5)).await;
    });
}
