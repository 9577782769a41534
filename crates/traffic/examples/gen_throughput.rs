//! Measures how fast the generator produces nginx lines on one core.
//!
//! `cargo run --release -p apiwatch-traffic --example gen_throughput -- [LINES] [CALLS_PER_S] [OUT]`
//!
//! Defaults: 5,000,000 lines at 5,000 calls/s of background from 2,000 users, written to a
//! sink (OUT may be a file path to include the cost of writing it). Rates are given against
//! wall time and against the thread's CPU time (Linux), which a busy machine disturbs less.

use apiwatch_traffic::{write_kong, write_nginx, Generator, Record, TrafficConfig};
use std::io::Write;
use std::time::Instant;

/// This thread's CPU time in seconds (user + system), when the platform tells.
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Runs `f`, returning its result and (wall seconds, CPU seconds).
fn timed<T>(f: impl FnOnce() -> T) -> (T, (f64, Option<f64>)) {
    let (c0, t0) = (cpu_secs(), Instant::now());
    let r = f();
    let wall = t0.elapsed().as_secs_f64();
    (r, (wall, cpu_secs().zip(c0).map(|(a, b)| a - b)))
}

fn rate(n: u64, (wall, cpu): (f64, Option<f64>)) -> String {
    let mut s = format!("{:.2} M/s wall ({wall:.2}s)", n as f64 / wall / 1e6);
    if let Some(c) = cpu.filter(|c| *c > 0.05) {
        s.push_str(&format!(", {:.2} M/s CPU ({c:.2}s)", n as f64 / c / 1e6));
    }
    s
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let lines: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5_000_000);
    let calls_per_s: f64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5_000.0);
    let mut out: Box<dyn Write> = match args.get(3) {
        Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => Box::new(std::io::sink()),
    };
    let cfg = TrafficConfig {
        seed: 42,
        duration_ms: 30 * 86_400_000,
        users: 2_000,
        requests_per_s: calls_per_s,
        ..TrafficConfig::default()
    };

    // Generator and nginx writer together: what `apiwatch bench` waits on.
    let mut rec = Record::default();
    let mut buf = Vec::with_capacity(1 << 17);
    let (mut n, mut bytes) = (0u64, 0u64);
    let (io, t) = timed(|| -> std::io::Result<()> {
        let mut gen = Generator::new(&cfg);
        while n < lines && gen.next_into(&mut rec) {
            let before = buf.len();
            write_nginx(&rec, &mut buf);
            n += u64::from(buf.len() > before);
            if buf.len() >= 1 << 17 {
                bytes += buf.len() as u64;
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        bytes += buf.len() as u64;
        out.write_all(&buf)?;
        out.flush()
    });
    io?;
    println!("generator + nginx: {n} lines, {:.0} MB: {}", bytes as f64 / 1e6, rate(n, t));

    // The generator alone.
    let mut g = 0u64;
    let ((), t) = timed(|| {
        let mut gen = Generator::new(&cfg);
        while g < lines && gen.next_into(&mut rec) {
            g += 1;
        }
    });
    println!("generator alone:   {g} records: {}", rate(g, t));

    // The nginx writer alone, over records made beforehand.
    let recs: Vec<Record> = Generator::new(&cfg).take(200_000).collect();
    let mut w = 0u64;
    let ((), t) = timed(|| {
        for _ in 0..10 {
            for r in &recs {
                buf.clear();
                write_nginx(r, &mut buf);
                w += 1;
            }
        }
    });
    println!("nginx writer alone: {w} lines: {}", rate(w, t));

    // Kong JSON for comparison (a tenth of the lines; its lines carry the JWT).
    let (mut k, mut kbytes) = (0u64, 0u64);
    let ((), t) = timed(|| {
        let mut gen = Generator::new(&cfg);
        while k < lines / 10 && gen.next_into(&mut rec) {
            buf.clear();
            write_kong(&rec, &mut buf);
            kbytes += buf.len() as u64;
            k += u64::from(!buf.is_empty());
        }
    });
    println!("generator + kong:  {k} lines, {:.0} MB: {}", kbytes as f64 / 1e6, rate(k, t));
    Ok(())
}
