//! An HTTP receiver on loopback for webhook tests: records every request (path, headers,
//! body) and answers 200. Plain std threads, so tests need no runtime.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

pub struct Receiver {
    pub addr: SocketAddr,
    pub got: Arc<Mutex<Vec<Received>>>,
}

/// How a receiver answers a request: status and JSON body.
pub type Answer = fn(&Received) -> (u16, String);

impl Receiver {
    pub fn start() -> Receiver {
        Receiver::start_with(|_| (200, "{}".to_string()))
    }

    /// A receiver that answers each request as `answer` says (an upstream for a gateway).
    pub fn start_with(answer: Answer) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let sink = Arc::clone(&got);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let sink = Arc::clone(&sink);
                std::thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let mut parts = line.split_whitespace();
                        let method = parts.next().unwrap_or("").to_string();
                        let path = parts.next().unwrap_or("").to_string();
                        let mut headers = HashMap::new();
                        loop {
                            let mut h = String::new();
                            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                                return;
                            }
                            let h = h.trim_end();
                            if h.is_empty() {
                                break;
                            }
                            if let Some((k, v)) = h.split_once(':') {
                                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                            }
                        }
                        let n: usize =
                            headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                        let mut body = vec![0u8; n];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        let r = Received {
                            method,
                            path,
                            headers,
                            body: String::from_utf8_lossy(&body).into_owned(),
                        };
                        let (status, text) = answer(&r);
                        sink.lock().unwrap().push(r);
                        let _ = conn.write_all(
                            format!(
                                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\ncontent-type: application/json\r\n\r\n{text}",
                                text.len()
                            )
                            .as_bytes(),
                        );
                    }
                });
            }
        });
        Receiver { addr, got }
    }

    /// Waits until a request matching `pred` arrives; panics with what came after `secs`.
    pub fn wait_for(&self, secs: u64, pred: impl Fn(&Received) -> bool) -> Received {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(r) = self.got.lock().unwrap().iter().find(|r| pred(r)) {
                return r.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no matching request within {secs} s; received: {:#?}",
                self.got.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
