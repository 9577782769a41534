//! The core crates' boundaries hold by themselves: their manifests may not name the runtime,
//! network or storage crates that would let I/O or a clock into them.

use std::path::Path;

/// Crates that must stay pure, and what they may never depend on.
const PURE_CRATES: &[&str] = &["core", "parse", "detect", "enrich"];
const FORBIDDEN: &[&str] =
    &["tokio", "hyper", "axum", "reqwest", "rusqlite", "async-nats", "mio", "chrono"];

/// Crates that do file I/O but stay synchronous (the service wires them to its runtime), and
/// the runtime and network crates they may not use.
const SYNC_CRATES: &[&str] = &["store", "source", "state"];
const RUNTIMES: &[&str] = &["tokio", "hyper", "axum", "reqwest", "async-nats", "mio"];

#[test]
fn core_crates_do_not_depend_on_io_runtimes() {
    check_manifests(PURE_CRATES, FORBIDDEN);
}

#[test]
fn store_and_sources_do_not_depend_on_a_runtime() {
    check_manifests(SYNC_CRATES, RUNTIMES);
}

fn check_manifests(crates: &[&str], forbidden: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut violations = Vec::new();
    for krate in crates {
        let manifest = root.join("crates").join(krate).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)
            .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
        for line in text.lines() {
            let name = line.split(['=', '.', ' ']).next().unwrap_or("").trim();
            if forbidden.contains(&name) {
                violations.push(format!("crates/{krate}/Cargo.toml: `{}`", line.trim()));
            }
        }
    }
    assert!(violations.is_empty(), "forbidden dependencies:\n{}", violations.join("\n"));
}

#[test]
fn detect_and_core_read_no_clock_and_do_no_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut violations = Vec::new();
    for krate in ["core", "detect"] {
        let dir = root.join("crates").join(krate).join("src");
        scan(&dir, &mut |path, text| {
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for needle in [
                    "SystemTime::now",
                    "Instant::now",
                    "std::fs::",
                    "std::net::TcpStream",
                    "thread::spawn",
                ] {
                    if code.contains(needle) {
                        violations.push(format!("{}:{}: {needle}", path.display(), n + 1));
                    }
                }
            }
        });
    }
    assert!(violations.is_empty(), "I/O or clock in a pure crate:\n{}", violations.join("\n"));
}

fn scan(dir: &Path, f: &mut dyn FnMut(&Path, &str)) {
    for e in std::fs::read_dir(dir).expect("source folder exists") {
        let p = e.expect("readable entry").path();
        if p.is_dir() {
            scan(&p, f);
        } else if p.extension().is_some_and(|x| x == "rs") {
            f(&p, &std::fs::read_to_string(&p).expect("readable source"));
        }
    }
}
