//! Writes a generated run to a directory and prints the manifest.
//!
//! `cargo run --release -p apiwatch-traffic --example gen_files -- DIR [demo|day|SEED]`

use apiwatch_traffic::{generate_files, TrafficConfig};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).map_or("traffic-out", String::as_str));
    let cfg = match args.get(2).map(String::as_str) {
        Some("day") | None => TrafficConfig::default(),
        Some("demo") => TrafficConfig::demo(1),
        Some(seed) => TrafficConfig {
            seed: seed.parse().expect("demo, day or a seed"),
            ..TrafficConfig::default()
        },
    };
    let m = generate_files(&cfg, &dir)?;
    for f in &m.files {
        println!(
            "{:<40} {:>6} {:>10} lines {:>12} bytes",
            f.path.display(),
            f.format,
            f.lines,
            f.bytes
        );
    }
    println!(
        "{} records ({} attack), {} attack scenarios",
        m.records,
        m.attack_records,
        m.truth.len()
    );
    Ok(())
}
