//! A real HTTP server on 127.0.0.1 that records what it receives, checks webhook signatures
//! the way a receiver should (HMAC over "<timestamp>.<body>", timestamp within 5 minutes), and
//! can be told to fail.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// A request as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    /// Path → how many more requests answer 500 (`u32::MAX`: always).
    failures: HashMap<String, u32>,
    /// Path → the signing secret whose signature the path requires.
    secrets: HashMap<String, String>,
}

#[derive(Clone, Default)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    pub addr: Option<SocketAddr>,
}

/// How far a signed timestamp may be from now: a captured request replayed later is refused.
const SIGNATURE_AGE_MAX_S: i64 = 300;

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver =
            Receiver { addr: Some(listener.local_addr().unwrap()), ..Receiver::default() };
        let app = axum::Router::new().fallback(handle).with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr.unwrap())
    }

    /// The next `count` requests to `path` answer 500 (`u32::MAX`: all of them).
    pub fn fail(&self, path: &str, count: u32) {
        self.inner.lock().unwrap().failures.insert(path.to_string(), count);
    }

    /// Requests to `path` must carry a valid signature with `secret`, else 401.
    pub fn require_signature(&self, path: &str, secret: &str) {
        self.inner.lock().unwrap().secrets.insert(path.to_string(), secret.to_string());
    }

    pub fn received(&self, path: &str) -> Vec<Received> {
        self.inner.lock().unwrap().received.iter().filter(|r| r.path == path).cloned().collect()
    }

    pub fn accepted(&self, path: &str) -> Vec<Received> {
        self.received(path).into_iter().filter(|r| r.status < 300).collect()
    }
}

async fn handle(
    State(receiver): State<Receiver>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let path = uri.path().to_string();
    let mut inner = receiver.inner.lock().unwrap();
    let status = if let Some(remaining) = inner.failures.get_mut(&path).filter(|r| **r > 0) {
        if *remaining != u32::MAX {
            *remaining -= 1;
        }
        StatusCode::INTERNAL_SERVER_ERROR
    } else if let Some(secret) = inner.secrets.get(&path) {
        if signature_valid(secret, &headers, &body) {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        }
    } else {
        StatusCode::OK
    };
    inner.received.push(Received { path, headers, body: body.to_vec(), status: status.as_u16() });
    status
}

/// The check a webhook receiver makes: a fresh timestamp, and the HMAC of "<timestamp>.<body>"
/// compared in constant time.
pub fn signature_valid(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(timestamp) = headers.get("x-apiwatch-timestamp").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(signature) = headers.get("x-apiwatch-signature").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Ok(ts) = timestamp.parse::<i64>() else { return false };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        as i64;
    if (now - ts).abs() > SIGNATURE_AGE_MAX_S {
        return false;
    }
    let Some(hex) = signature.strip_prefix("sha256=") else { return false };
    let Some(given) = decode_hex(hex) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok().filter(|p| p.len() == 2)?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}
