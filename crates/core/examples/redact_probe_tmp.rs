use apiwatch_core::redact::Redactor;
use std::hint::black_box;
use std::time::Instant;
fn main() {
    let r = Redactor::new([1; 32]);
    let samples = [
        "GET", "1.1", "/api/v1/orders/12345/items", "page=2&limit=50&sort=-created_at",
        "https://shop.example.com/orders?page=1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ];
    for s in samples {
        let n = 1_000_000;
        let t = Instant::now();
        for _ in 0..n { black_box(r.redact_text(black_box(s))); }
        println!("{:>8.1} ns  {s}", t.elapsed().as_nanos() as f64 / n as f64);
    }
    let n = 1_000_000;
    let t = Instant::now();
    let mut v = 0u64;
    for i in 0..n { let s = format!("{i}"); v += s.len() as u64; black_box(&s); }
    println!("{:>8.1} ns  alloc+format baseline {v}", t.elapsed().as_nanos() as f64 / n as f64);
}
