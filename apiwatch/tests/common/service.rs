//! A running `apiwatch run` for tests: started on a configuration, waited for until ready,
//! stopped with SIGTERM or killed with SIGKILL; plus a minimal HTTP/1.1 client for its
//! endpoints (requests on loopback only).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A loopback port free at the time of asking, and never handed out before in this test
/// process: the kernel may give a just-closed port again, and two sources of one service
/// asked for in a row must not get the same one (a flaky `Address already in use`).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

pub struct Service {
    pub child: Child,
    pub dir: PathBuf,
    pub addr: Option<SocketAddr>,
    pub stderr_path: PathBuf,
}

impl Service {
    /// Starts `apiwatch run -c config` in `dir`, its stderr kept in `dir/service-N.err`.
    /// With `addr`, waits until `/health` says ready.
    pub fn start(
        dir: &Path,
        config: &str,
        addr: Option<SocketAddr>,
        envs: &[(&str, &str)],
    ) -> Service {
        let n = std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("service-"))
            .count();
        let stderr_path = dir.join(format!("service-{n}.err"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_apiwatch"));
        cmd.args(["run", "-c", config])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).unwrap());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("apiwatch runs");
        let mut s = Service { child, dir: dir.to_path_buf(), addr, stderr_path };
        if let Some(a) = addr {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Ok((200, _)) = http(a, "GET", "/health", &[], b"") {
                    break;
                }
                if let Ok(Some(status)) = s.child.try_wait() {
                    panic!("apiwatch run exited with {status}:\n{}", s.stderr());
                }
                assert!(Instant::now() < deadline, "not ready within 30 s:\n{}", s.stderr());
                std::thread::sleep(Duration::from_millis(50));
            }
        } else {
            std::thread::sleep(Duration::from_millis(500));
        }
        s
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "apiwatch run exited with {status}:\n{}", self.stderr());
                return self.stderr();
            }
            assert!(
                Instant::now() < deadline,
                "no exit within 30 s of SIGTERM:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to store, commit or clean up.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn signal(&self, sig: &str) {
        Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request; returns the status and the body.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    http_with_head(addr, method, path, headers, body).map(|(status, _, body)| (status, body))
}

/// One HTTP/1.1 request; returns the status, the response head (status line and fields) and
/// the body.
pub fn http_with_head(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    // A refused request may be answered before the whole body is sent.
    let _ = s.write_all(body);
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("no status line in {text:?}"))
    })?;
    let (head, body) = match text.find("\r\n\r\n") {
        Some(i) => (text[..i].to_string(), decode_chunked_if_needed(&text[..i], &text[i + 4..])),
        None => (text.clone(), String::new()),
    };
    Ok((status, head, body))
}

fn decode_chunked_if_needed(head: &str, body: &str) -> String {
    if !head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        return body.to_string();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some(nl) = rest.find("\r\n") {
        let Ok(n) = usize::from_str_radix(rest[..nl].trim(), 16) else { break };
        if n == 0 {
            break;
        }
        let start = nl + 2;
        out.push_str(&rest[start..(start + n).min(rest.len())]);
        rest = &rest[(start + n + 2).min(rest.len())..];
    }
    out
}

/// Wall-clock ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// An nginx combined line stamped at `ts_ms` (second precision, as nginx writes).
pub fn nginx_line_at(ts_ms: i64, ip: &str, request: &str, status: u16) -> String {
    let secs = ts_ms / 1000;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{ip} - - [{d:02}/{}/{y}:{:02}:{:02}:{:02} +0000] \"{request} HTTP/1.1\" {status} 512 \"-\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0\"",
        MONTHS[(m - 1) as usize],
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Runs apiwatch in `dir` with extra environment variables.
pub fn run_with_env(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_apiwatch"));
    c.args(args).current_dir(dir).stdin(Stdio::null());
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().expect("apiwatch runs")
}
