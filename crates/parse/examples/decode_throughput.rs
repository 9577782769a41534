//! Throughput of the access-log decoders on synthetic combined-format lines held in memory
//! (no I/O): `cargo run --release -p apiwatch-parse --example decode_throughput [lines]`.
//!
//! Prints lines per second on one core for [`AccessLogDecoder`] and, for comparison, for a
//! [`LogFormatDecoder`] compiled from the same combined format: per second of wall time, and
//! per second of the thread's CPU time, which stays meaningful when the machine is busy.

use apiwatch_parse::access::{AccessLogDecoder, LogFormatDecoder};
use apiwatch_parse::Decoder;
use std::hint::black_box;
use std::time::Instant;

const COMBINED: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;

const PATHS: [&str; 6] = [
    "/",
    "/api/v1/users/1842/orders?page=2&limit=50",
    "/static/js/app.3f9c2a.js",
    "/login",
    "/search?q=running%20shoes&sort=price",
    "/wp-login.php",
];
const AGENTS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "curl/8.4.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "python-requests/2.31.0",
];
const METHODS: [&str; 3] = ["GET", "POST", "GET"];
const STATUSES: [u16; 5] = [200, 200, 304, 404, 401];

/// A deterministic mix of realistic combined lines (about 200 bytes each).
fn synthetic_lines(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let referer = if i % 3 == 0 { "-" } else { "https://shop.example.com/" };
            format!(
                r#"198.51.{}.{} - - [{:02}/Nov/2026:{:02}:{:02}:{:02} +0100] "{} {} HTTP/1.1" {} {} "{}" "{}""#,
                i % 200,
                i % 250 + 1,
                i % 28 + 1,
                i % 24,
                i % 60,
                (i / 60) % 60,
                METHODS[i % METHODS.len()],
                PATHS[i % PATHS.len()],
                STATUSES[i % STATUSES.len()],
                (i * 37) % 50_000,
                referer,
                AGENTS[i % AGENTS.len()],
            )
            .into_bytes()
        })
        .collect()
}

/// This thread's time on a CPU in nanoseconds (Linux), which, unlike wall time, does not grow
/// while other processes hold the cores: figures stay comparable on a busy machine.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// Lines per second of wall time and of CPU time (when known), best of `rounds` rounds.
fn measure(decoder: &dyn Decoder, lines: &[Vec<u8>], rounds: usize) -> (f64, Option<f64>) {
    let mut best_wall_s = f64::MAX;
    let mut best_cpu_s: Option<f64> = None;
    for _ in 0..rounds {
        let cpu_start = thread_cpu_ns();
        let start = Instant::now();
        let mut failed = 0usize;
        for line in lines {
            match decoder.decode(line) {
                Ok(ev) => {
                    black_box(ev);
                }
                Err(_) => failed += 1,
            }
        }
        let wall_s = start.elapsed().as_secs_f64();
        assert_eq!(failed, 0, "synthetic lines must all decode");
        best_wall_s = best_wall_s.min(wall_s);
        if let (Some(a), Some(b)) = (cpu_start, thread_cpu_ns()) {
            let cpu_s = b.saturating_sub(a) as f64 / 1e9;
            best_cpu_s = Some(best_cpu_s.map_or(cpu_s, |best| best.min(cpu_s)));
        }
    }
    let n = lines.len() as f64;
    (n / best_wall_s, best_cpu_s.map(|s| n / s))
}

fn report(name: &str, (wall, cpu): (f64, Option<f64>), bytes_per_line: f64) {
    let cpu = cpu.map_or_else(String::new, |c| format!("  ({:.2} M lines/s of CPU time)", c / 1e6));
    println!(
        "{name:<28} {:>6.2} M lines/s  {:>5.0} MB/s{cpu}",
        wall / 1e6,
        wall * bytes_per_line / 1e6
    );
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let lines = synthetic_lines(n);
    let bytes: usize = lines.iter().map(Vec::len).sum();
    println!("{n} synthetic combined lines, {:.1} MB, best of 3 rounds", bytes as f64 / 1e6);
    let bytes_per_line = bytes as f64 / n as f64;
    report("AccessLogDecoder:", measure(&AccessLogDecoder::new(), &lines, 3), bytes_per_line);
    let custom = LogFormatDecoder::compile("combined", COMBINED).expect("combined compiles");
    report("LogFormatDecoder (combined):", measure(&custom, &lines, 3), bytes_per_line);
}
