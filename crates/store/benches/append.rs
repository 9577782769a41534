//! Append throughput: `RECORDS` (default 1,000,000) realistic ~600-byte ECS JSON records,
//! a commit every 8192, with and without encryption. Prints records/s, MB/s, bytes on disk
//! and the compression ratio.
//!
//! `RECORDS=1000000 cargo bench -p apiwatch-store --bench append`

use std::time::Instant;

use apiwatch_store::{Store, StoreConfig};

const COMMIT_EVERY_RECORDS: u64 = 8192;

/// A small deterministic generator of varied API events (xorshift).
struct Events {
    state: u64,
    buffer: String,
}

const PATHS: &[&str] = &[
    "/api/v1/users",
    "/api/v1/orders",
    "/api/v1/login",
    "/api/v1/products/search",
    "/api/v2/accounts/balance",
    "/api/v1/cart/items",
    "/health",
    "/api/v1/payments",
];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "okhttp/4.12.0",
    "python-requests/2.32.3",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
];
const METHODS: &[&str] = &["GET", "GET", "GET", "POST", "PUT", "DELETE"];
const STATUSES: &[u16] = &[200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 429, 500];

impl Events {
    fn next_u64(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }

    /// One event: its time, client address and user, and its JSON in `self.buffer`.
    fn next(&mut self, i: u64) -> (i64, String, String) {
        use std::fmt::Write;
        let ts_ms = 1_767_225_600_000 + (i as i64) * 3;
        let r = self.next_u64();
        let ip =
            format!("{}.{}.{}.{}", 10 + r % 3, (r >> 8) % 256, (r >> 16) % 64, (r >> 24) % 256);
        let user = format!("user{}", (r >> 32) % 5000);
        let path = *self.pick(PATHS);
        let agent = *self.pick(AGENTS);
        let method = *self.pick(METHODS);
        let status = *self.pick(STATUSES);
        let bytes = self.next_u64() % 50_000;
        let duration = self.next_u64() % 900_000_000;
        let request_id = self.next_u64();
        self.buffer.clear();
        write!(
            self.buffer,
            r#"{{"@timestamp":"2026-01-01T00:00:{:02}.{:03}Z","event":{{"kind":"event","category":["web"],"duration":{duration},"outcome":"{}"}},"source":{{"ip":"{ip}","port":{},"geo":{{"country_iso_code":"DE"}}}},"user":{{"name":"{user}"}},"http":{{"request":{{"method":"{method}","id":"{request_id:016x}"}},"response":{{"status_code":{status},"body":{{"bytes":{bytes}}}}},"version":"1.1"}},"url":{{"path":"{path}/{}","query":"page={}&limit=50"}},"user_agent":{{"original":"{agent}"}},"observer":{{"vendor":"nginx","hostname":"gw-{}"}}}}"#,
            (i / 1000) % 60,
            i % 1000,
            if status < 400 { "success" } else { "failure" },
            1024 + r % 60000,
            (r >> 40) % 100_000,
            r % 20,
            i % 4,
        )
        .expect("writing to a String");
        (ts_ms, ip, user)
    }
}

fn run(records: u64, encryption_key: Option<[u8; 32]>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = StoreConfig::new(dir.path());
    config.encryption_key = encryption_key;
    let (mut store, _) = Store::open(config, 0).expect("open");
    let mut events = Events { state: 0x9e37_79b9_7f4a_7c15, buffer: String::new() };
    let mut raw_bytes = 0u64;
    let started = Instant::now();
    for i in 0..records {
        let (ts_ms, ip, user) = events.next(i);
        raw_bytes += events.buffer.len() as u64;
        store
            .append(ts_ms, &[ip.as_bytes(), user.as_bytes()], events.buffer.as_bytes())
            .expect("append");
        if (i + 1) % COMMIT_EVERY_RECORDS == 0 {
            store.commit(&(i + 1).to_le_bytes(), ts_ms).expect("commit");
        }
    }
    store.commit(&records.to_le_bytes(), 0).expect("commit");
    let elapsed = started.elapsed().as_secs_f64();
    let stats = store.stats();
    store.close().expect("close");
    println!(
        "{:<10} {records} records, avg {} B: {:.0} records/s, {:.1} MB/s raw, {} bytes on disk ({} segments), compression {:.1}x",
        if encryption_key.is_some() { "encrypted" } else { "plain" },
        raw_bytes / records.max(1),
        records as f64 / elapsed,
        raw_bytes as f64 / elapsed / 1e6,
        stats.bytes_on_disk,
        stats.segments,
        raw_bytes as f64 / stats.bytes_on_disk as f64,
    );
}

fn main() {
    let records = std::env::var("RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    run(records, None);
    run(records, Some([0x5a; 32]));
}
