//! Test fixtures: a real upstream (hyper, on 127.0.0.1), a recording `Hooks`, a gateway
//! started from YAML, and a client.
#![allow(dead_code)]

use apiwatch_gateway::{Admission, CallRecord, GatewayConfig, Hooks, Overloaded, RunningGateway};
use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

pub type Body = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// A running test upstream.
pub struct Upstream {
    pub addr: SocketAddr,
    pub name: &'static str,
    /// Connections accepted.
    pub connections: Arc<AtomicUsize>,
    /// Whether `/healthz` answers 200 (else 503).
    pub healthy: Arc<AtomicBool>,
    /// Request body bytes read by `/upload`.
    pub uploaded: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// Stops accepting and closes every open connection.
    pub fn kill(&self) {
        self.task.abort();
    }
}

/// Starts an upstream named `name`:
/// - `/healthz`: 200 or 503 as `healthy` says;
/// - `/slow?ms=N`: answers after N ms;
/// - `/upload`: reads the body as it comes, answers the byte count;
/// - `/download?bytes=N`: streams N bytes in 64 KiB chunks;
/// - anything else: JSON echo of name, method, path, query, headers and body.
pub async fn upstream(name: &'static str) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let healthy = Arc::new(AtomicBool::new(true));
    let uploaded = Arc::new(AtomicU64::new(0));
    let (c, h, u) = (connections.clone(), healthy.clone(), uploaded.clone());
    let task = tokio::spawn(async move {
        // Connections live in this task's set: killing the upstream closes them too.
        let mut open = tokio::task::JoinSet::new();
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            c.fetch_add(1, Ordering::SeqCst);
            let (h, u) = (h.clone(), u.clone());
            while open.try_join_next().is_some() {}
            open.spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let (h, u) = (h.clone(), u.clone());
                    async move { Ok::<_, Infallible>(answer(name, req, &h, &u).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    Upstream { addr, name, connections, healthy, uploaded, task }
}

async fn answer(
    name: &str,
    req: Request<Incoming>,
    healthy: &AtomicBool,
    uploaded: &AtomicU64,
) -> Response<Body> {
    let path = req.uri().path().to_string();
    if path == "/healthz" {
        let status = if healthy.load(Ordering::SeqCst) { 200 } else { 503 };
        return Response::builder().status(status).body(full("")).unwrap();
    }
    if path == "/slow" {
        let ms: u64 =
            req.uri().query().and_then(|q| q.strip_prefix("ms=")).unwrap().parse().unwrap();
        tokio::time::sleep(Duration::from_millis(ms)).await;
        return Response::new(full("late"));
    }
    if path == "/upload" {
        let mut body = req.into_body();
        let mut n = 0u64;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                n += data.len() as u64;
            }
        }
        uploaded.store(n, Ordering::SeqCst);
        return Response::new(full(&n.to_string()));
    }
    if path == "/download" {
        let n: u64 =
            req.uri().query().and_then(|q| q.strip_prefix("bytes=")).unwrap().parse().unwrap();
        return Response::builder()
            .header("content-type", "application/octet-stream")
            .body(generated(n))
            .unwrap();
    }
    let (parts, body) = req.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let headers: serde_json::Map<String, serde_json::Value> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").into()))
        .collect();
    let echo = serde_json::json!({
        "upstream": name,
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "version": format!("{:?}", parts.version),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    });
    Response::builder()
        .header("content-type", "application/json")
        .header("connection", "x-upstream-hop")
        .header("x-upstream-hop", "must not reach the client")
        .body(full(&echo.to_string()))
        .unwrap()
}

pub fn full(s: &str) -> Body {
    Full::new(Bytes::copy_from_slice(s.as_bytes())).map_err(|n| match n {}).boxed_unsync()
}

/// A body of `n` bytes made 64 KiB at a time, never held whole.
pub fn generated(n: u64) -> Body {
    const CHUNK: u64 = 64 * 1024;
    let chunk = Bytes::from(vec![b'x'; CHUNK as usize]);
    let stream = futures_util::stream::unfold(0u64, move |sent| {
        let chunk = chunk.clone();
        async move {
            if sent >= n {
                return None;
            }
            let len = CHUNK.min(n - sent);
            let frame: Result<Frame<Bytes>, Box<dyn std::error::Error + Send + Sync>> =
                Ok(Frame::data(chunk.slice(..len as usize)));
            Some((frame, sent + len))
        }
    });
    StreamBody::new(stream).boxed_unsync()
}

type AdmitFn = dyn Fn(IpAddr, &Parts) -> Admission + Send + Sync;

/// Hooks that keep every record and answer admission with a closure.
pub struct Recorder {
    pub records: Mutex<Vec<CallRecord>>,
    pub ready: AtomicBool,
    pub overloaded: AtomicBool,
    admit: Box<AdmitFn>,
}

impl Recorder {
    pub fn new() -> Arc<Self> {
        Self::with_admit(|_, _| Admission::allow())
    }

    pub fn with_admit(
        admit: impl Fn(IpAddr, &Parts) -> Admission + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Recorder {
            records: Mutex::new(Vec::new()),
            ready: AtomicBool::new(true),
            overloaded: AtomicBool::new(false),
            admit: Box::new(admit),
        })
    }

    /// Waits until `n` records arrived (records are handed over when a body ends, which may
    /// be just after the client read it) and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<CallRecord> {
        for _ in 0..500 {
            {
                let records = self.records.lock().unwrap();
                if records.len() >= n {
                    return records.clone();
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("expected {n} records, got {}", self.records.lock().unwrap().len());
    }
}

impl Hooks for Recorder {
    fn admit(&self, client_ip: IpAddr, req: &Parts) -> Admission {
        (self.admit)(client_ip, req)
    }
    fn ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
    fn record(&self, call: CallRecord) -> Result<(), Overloaded> {
        if self.overloaded.load(Ordering::SeqCst) {
            return Err(Overloaded);
        }
        self.records.lock().unwrap().push(call);
        Ok(())
    }
}

/// Starts a gateway from YAML.
pub async fn gateway(yaml: &str, hooks: Arc<dyn Hooks>) -> RunningGateway {
    let config: GatewayConfig = serde_saphyr::from_str(yaml).unwrap();
    let gateway = config.validate().unwrap_or_else(|e| panic!("{e:?}"));
    gateway.start(hooks).await.unwrap()
}

/// A pooled HTTP/1.1 client.
pub fn client() -> Client<HttpConnector, Body> {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// A client speaking HTTP/2 with prior knowledge.
pub fn h2_client() -> Client<HttpConnector, Body> {
    Client::builder(TokioExecutor::new()).http2_only(true).build(HttpConnector::new())
}

/// Sends `req` and reads the whole answer.
pub async fn send(
    client: &Client<HttpConnector, Body>,
    req: Request<Body>,
) -> (StatusCode, http::HeaderMap, Bytes) {
    let response = client.request(req).await.unwrap();
    let (parts, body) = response.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes())
}

/// A GET of `path` through `gateway` with the given extra headers.
pub async fn get(
    gateway: &RunningGateway,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, http::HeaderMap, Bytes) {
    let mut req = Request::get(format!("http://{}{path}", gateway.local_addrs()[0]));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    send(&client(), req.body(full("")).unwrap()).await
}

pub fn json(body: &Bytes) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}
