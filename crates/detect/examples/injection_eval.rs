//! Measures the injection detector on the labelled corpora in `tests/data/injection/`:
//! recall per class and source, false positives on benign sets, and scanning speed.
//!
//! ```text
//! cargo run --release -p apiwatch-detect --example injection_eval [-- --misses]
//! ```
//!
//! `tests/injection_corpus.rs` includes this file and asserts floors on the same numbers, so
//! the table printed here is the one the test guards. `--misses` lists every payload missed
//! and every benign value flagged; `--probe VALUE…` prints the classes found in each value
//! (and what each class costs); `--log PATH…` scans combined-format access logs line by line.

#![allow(dead_code)] // Shared with tests/injection_corpus.rs, which uses only part of it.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use apiwatch_core::EventData;
use apiwatch_detect::injection::{AttackClass, AttackSet, InjectionDetector};

/// Where the copied corpora live.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/injection")
}

/// The full Apache log in the shared corpus checkout, when it sits next to the repository.
pub fn shared_apache_log() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/logs/elastic-examples/apache_logs")
}

/// Attack payloads from one source, all expected to show one of `classes`.
pub struct AttackCorpus {
    pub source: String,
    pub classes: AttackSet,
    pub payloads: Vec<Vec<u8>>,
}

/// How values of a benign set reach the detector.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BenignKind {
    /// A parameter value: `scan_value` for every class.
    Value,
    /// A request target (`/path?query`): `scan_request` with path and query.
    RequestTarget,
    /// A user agent: `scan_request` with only the user agent.
    UserAgent,
    /// A referrer: `scan_request` with only the referrer.
    Referrer,
}

/// Benign values from one source: any class found in them is a false positive.
pub struct BenignCorpus {
    pub source: String,
    pub kind: BenignKind,
    pub values: Vec<Vec<u8>>,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Payload lines of a libinjection data file: URL-encoded, `#` comments, blank lines skipped.
fn libinjection_lines(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let text = read(path)?;
    Ok(text
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
        .map(<[u8]>::to_vec)
        .collect())
}

/// Non-empty lines of a plain payload list (PayloadsAllTheThings, CRS, derived lists).
fn plain_lines(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let text = read(path)?;
    Ok(text
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.trim_ascii().is_empty())
        .map(<[u8]>::to_vec)
        .collect())
}

#[derive(serde::Deserialize)]
struct GotestwafCase {
    payload: Vec<String>,
    #[serde(default)]
    encoder: Vec<String>,
}

/// Percent-encodes everything but unreserved bytes, as GoTestWAF's `URL` encoder sends a
/// payload.
fn percent_encode(s: &[u8]) -> Vec<u8> {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out.into_bytes()
}

/// Payloads of GoTestWAF test-case files, URL-encoded when the case lists the `URL` encoder
/// (as GoTestWAF sends them), as written otherwise. `filter` keeps some payloads only.
fn gotestwaf(dir: &Path, files: &[&str], filter: fn(&str) -> bool) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for file in files {
        let path = dir.join("gotestwaf").join(file);
        let text =
            String::from_utf8(read(&path)?).map_err(|e| format!("{}: {e}", path.display()))?;
        // Three files write `"\'"` in double-quoted scalars; YAML 1.2 has no such escape, Go's
        // parser that GoTestWAF uses reads it as a quote, and so does this.
        let text = text.replace("\\'", "'");
        let case: GotestwafCase =
            serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let url = case.encoder.iter().any(|e| e == "URL");
        for p in case.payload.iter().filter(|p| filter(p)) {
            out.push(if url { percent_encode(p.as_bytes()) } else { p.as_bytes().to_vec() });
        }
    }
    Ok(out)
}

fn every(_: &str) -> bool {
    true
}

fn files_matching(dir: &Path, prefix: &str, skip: &[&str]) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.starts_with(prefix) && name.ends_with(".txt") && !skip.contains(&name)
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Every attack corpus, grouped by source as the table prints them.
pub fn attack_corpora(dir: &Path) -> Result<Vec<AttackCorpus>, String> {
    use AttackClass::*;
    let set = |classes: &[AttackClass]| classes.iter().copied().collect::<AttackSet>();
    let lib = dir.join("libinjection");
    let patt = dir.join("payloadsallthethings");
    let concat = |files: Vec<PathBuf>, reader: fn(&Path) -> Result<Vec<Vec<u8>>, String>| {
        files.iter().map(|f| reader(f)).collect::<Result<Vec<_>, _>>().map(|v| v.concat())
    };
    let patt_files = |names: &[&str]| names.iter().map(|n| patt.join(n)).collect::<Vec<_>>();
    let mut corpora = vec![
        AttackCorpus {
            source: "libinjection sqli-*.txt (forums 1/10)".into(),
            classes: set(&[Sqli]),
            payloads: concat(files_matching(&lib, "sqli-", &[])?, libinjection_lines)?,
        },
        AttackCorpus {
            source: "gotestwaf sqli (owasp, community)".into(),
            classes: set(&[Sqli]),
            payloads: gotestwaf(
                dir,
                &["owasp/sql-injection.yml", "community/community-sqli.yml"],
                every,
            )?,
        },
        AttackCorpus {
            source: "gotestwaf owasp-api (rest, soap, grpc, non-crud)".into(),
            classes: set(&[Sqli, Xss]),
            payloads: gotestwaf(
                dir,
                &[
                    "owasp-api/rest.yml",
                    "owasp-api/soap.yml",
                    "owasp-api/grpc.yml",
                    "owasp-api/non-crud.yml",
                ],
                every,
            )?,
        },
        AttackCorpus {
            source: "libinjection xss-*.txt".into(),
            classes: set(&[Xss]),
            payloads: concat(files_matching(&lib, "xss-", &[])?, libinjection_lines)?,
        },
        AttackCorpus {
            source: "gotestwaf xss (owasp, community)".into(),
            classes: set(&[Xss]),
            payloads: gotestwaf(
                dir,
                &["owasp/xss-scripting.yml", "community/community-xss.yml"],
                every,
            )?,
        },
        AttackCorpus {
            source: "gotestwaf rce, shell, ssi (owasp, community)".into(),
            classes: set(&[Cmdi]),
            payloads: gotestwaf(
                dir,
                &[
                    "owasp/rce.yml",
                    "owasp/rce-urlparam.yml",
                    "owasp/rce-urlpath.yml",
                    "owasp/shell-injection.yml",
                    "owasp/ss-include.yml",
                    "community/community-rce.yml",
                    "community/community-rce-rawrequests.yml",
                ],
                every,
            )?,
        },
        AttackCorpus {
            source: "patt Command_Injection (2 lists)".into(),
            classes: set(&[Cmdi]),
            payloads: concat(
                patt_files(&[
                    "Command_Injection-command_exec.txt",
                    "Command_Injection-command-execution-unix.txt",
                ]),
                plain_lines,
            )?,
        },
        AttackCorpus {
            source: "gotestwaf path-traversal, lfi".into(),
            classes: set(&[PathTraversal]),
            payloads: gotestwaf(
                dir,
                &[
                    "owasp/path-traversal.yml",
                    "community/community-lfi.yml",
                    "community/community-lfi-multipart.yml",
                ],
                every,
            )?,
        },
    ];
    for name in [
        "Directory_Traversal-directory_traversal.txt",
        "Directory_Traversal-deep_traversal.txt",
        "Directory_Traversal-traversals-8-deep-exotic-encoding.txt",
        "Directory_Traversal-dotdotpwn-sample.txt",
    ] {
        corpora.push(AttackCorpus {
            source: format!("patt {}", name.trim_end_matches(".txt")),
            classes: set(&[PathTraversal]),
            payloads: plain_lines(&patt.join(name))?,
        });
    }
    corpora.extend([
        AttackCorpus {
            source: "gotestwaf sst-injection".into(),
            classes: set(&[Ssti]),
            payloads: gotestwaf(dir, &["owasp/sst-injection.yml"], every)?,
        },
        AttackCorpus {
            source: "patt Server_Side_Template_Injection ssti.fuzz".into(),
            classes: set(&[Ssti]),
            payloads: plain_lines(&patt.join("Server_Side_Template_Injection-ssti.fuzz"))?,
        },
        AttackCorpus {
            source: "gotestwaf nosql-injection".into(),
            classes: set(&[Nosql]),
            payloads: gotestwaf(dir, &["owasp/nosql-injection.yml"], every)?,
        },
        AttackCorpus {
            source: "patt NoSQL_Injection (2 lists)".into(),
            classes: set(&[Nosql]),
            payloads: concat(
                patt_files(&["NoSQL_Injection-MongoDB.txt", "NoSQL_Injection-NoSQL.txt"]),
                plain_lines,
            )?,
        },
        AttackCorpus {
            source: "crs ssrf.data".into(),
            classes: set(&[Ssrf]),
            payloads: libinjection_lines(&dir.join("crs/ssrf.data"))?,
        },
        AttackCorpus {
            source: "gotestwaf user-agent (JNDI payloads)".into(),
            classes: set(&[Jndi]),
            payloads: gotestwaf(dir, &["community/community-user-agent.yml"], |p| {
                p.to_ascii_lowercase().contains("jndi")
            })?,
        },
        AttackCorpus {
            source: "gotestwaf crlf".into(),
            classes: set(&[Crlf]),
            payloads: gotestwaf(dir, &["owasp/crlf.yml"], every)?,
        },
    ]);
    Ok(corpora)
}

/// Every benign corpus.
pub fn benign_corpora(dir: &Path) -> Result<Vec<BenignCorpus>, String> {
    let apache = dir.join("apache");
    Ok(vec![
        BenignCorpus {
            source: "libinjection false_positives.txt".into(),
            kind: BenignKind::Value,
            values: libinjection_lines(&dir.join("libinjection/false_positives.txt"))?,
        },
        BenignCorpus {
            source: "gotestwaf false-pos/texts.yml".into(),
            kind: BenignKind::Value,
            values: gotestwaf(dir, &["false-pos/texts.yml"], every)?,
        },
        BenignCorpus {
            source: "apache log request targets (distinct)".into(),
            kind: BenignKind::RequestTarget,
            values: plain_lines(&apache.join("request-targets.txt"))?,
        },
        BenignCorpus {
            source: "apache log referrers (distinct)".into(),
            kind: BenignKind::Referrer,
            values: plain_lines(&apache.join("referrers.txt"))?,
        },
        BenignCorpus {
            source: "apache log user agents (distinct)".into(),
            kind: BenignKind::UserAgent,
            values: plain_lines(&apache.join("user-agents.txt"))?,
        },
    ])
}

/// Detection counts for one attack corpus.
pub struct Recall {
    pub source: String,
    pub classes: AttackSet,
    pub payloads: usize,
    pub detected: usize,
    /// Payloads in which any class is found (a command-injection list holds template
    /// payloads, for instance).
    pub detected_any: usize,
    pub missed: Vec<Vec<u8>>,
    /// For SQLi and XSS corpora: payloads libinjection alone catches (on the percent-decoded
    /// payload) that the detector misses — what its prefilter loses. Should stay zero.
    pub lost_to_prefilter: Vec<Vec<u8>>,
}

impl Recall {
    pub fn percent(&self) -> f64 {
        percent(self.detected, self.payloads)
    }
}

/// False-positive counts for one benign corpus.
pub struct FalsePositives {
    pub source: String,
    pub values: usize,
    pub flagged: Vec<(Vec<u8>, AttackSet)>,
}

impl FalsePositives {
    pub fn percent(&self) -> f64 {
        percent(self.flagged.len(), self.values)
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// A payload counts as detected when any of its corpus's classes is found.
pub fn measure_recall(detector: &InjectionDetector, corpus: &AttackCorpus) -> Recall {
    let missed: Vec<Vec<u8>> = corpus
        .payloads
        .iter()
        .filter(|p| detector.scan_bytes(p, corpus.classes).is_empty())
        .cloned()
        .collect();
    let libinjection = |p: &[u8]| {
        let decoded = percent_decode(p);
        (corpus.classes.contains(AttackClass::Sqli)
            && libinjectionrs::detect_sqli(&decoded).is_injection())
            || (corpus.classes.contains(AttackClass::Xss)
                && libinjectionrs::detect_xss(&decoded).is_injection())
    };
    let lost_to_prefilter = missed.iter().filter(|p| libinjection(p)).cloned().collect();
    let detected_any = corpus
        .payloads
        .iter()
        .filter(|p| !detector.scan_bytes(p, AttackSet::ALL).is_empty())
        .count();
    Recall {
        source: corpus.source.clone(),
        classes: corpus.classes,
        payloads: corpus.payloads.len(),
        detected: corpus.payloads.len() - missed.len(),
        detected_any,
        missed,
        lost_to_prefilter,
    }
}

/// `%HH` and `+` decoded once, as libinjection's own test harness feeds it.
fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match (s[i], s.get(i + 1).copied().and_then(hex), s.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The event a benign value becomes for `scan_request`.
fn benign_event(kind: BenignKind, value: &[u8]) -> EventData {
    let text = String::from_utf8_lossy(value).into_owned();
    let mut ev = EventData::default();
    match kind {
        BenignKind::Value => {}
        BenignKind::RequestTarget => match text.split_once('?') {
            Some((path, query)) => {
                ev.url_path = Some(path.into());
                ev.url_query = Some(query.into());
            }
            None => ev.url_path = Some(text.into()),
        },
        BenignKind::UserAgent => ev.user_agent = Some(text.into()),
        BenignKind::Referrer => ev.referrer = Some(text.into()),
    }
    ev
}

/// Any class found in a benign value is a false positive.
pub fn measure_false_positives(
    detector: &InjectionDetector,
    corpus: &BenignCorpus,
) -> FalsePositives {
    let flagged = corpus
        .values
        .iter()
        .filter_map(|v| {
            let found = match corpus.kind {
                BenignKind::Value => detector.scan_bytes(v, AttackSet::ALL),
                kind => detector.scan_request(&benign_event(kind, v), AttackSet::ALL),
            };
            (!found.is_empty()).then(|| (v.clone(), found))
        })
        .collect();
    FalsePositives { source: corpus.source.clone(), values: corpus.values.len(), flagged }
}

/// The recall table, one row per corpus and a total per class.
pub fn recall_table(rows: &[Recall]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:<58} {:>8} {:>8} {:>8} {:>9} {:>5}",
        "class", "source", "payloads", "detected", "recall", "any class", "lost"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<16} {:<58} {:>8} {:>8} {:>7.1}% {:>8.1}% {:>5}",
            r.classes.to_string(),
            r.source,
            r.payloads,
            r.detected,
            r.percent(),
            percent(r.detected_any, r.payloads),
            r.lost_to_prefilter.len()
        );
    }
    let _ = writeln!(out, "{:-<121}", "");
    for class in AttackClass::ALL {
        let of_class: Vec<&Recall> =
            rows.iter().filter(|r| r.classes == AttackSet::of(class)).collect();
        let payloads: usize = of_class.iter().map(|r| r.payloads).sum();
        let detected: usize = of_class.iter().map(|r| r.detected).sum();
        if payloads > 0 {
            let _ = writeln!(
                out,
                "{:<16} {:<58} {:>8} {:>8} {:>7.1}%",
                class.as_str(),
                "all sources",
                payloads,
                detected,
                percent(detected, payloads)
            );
        }
    }
    out
}

/// The false-positive table.
pub fn false_positive_table(rows: &[FalsePositives]) -> String {
    let mut out = String::new();
    let _ =
        writeln!(out, "{:<58} {:>8} {:>8} {:>8}", "benign source", "values", "flagged", "fp rate");
    for r in rows {
        let _ = writeln!(
            out,
            "{:<58} {:>8} {:>8} {:>7.2}%",
            r.source,
            r.values,
            r.flagged.len(),
            r.percent()
        );
    }
    out
}

/// Ordinary API traffic for the speed measurement: paths, parameter values, a user agent.
pub const BENIGN_API_VALUES: &[&str] = &[
    "/api/v1/users/123/orders",
    "/api/v1/users/123/orders?page=2&sort=desc",
    "/api/v2/products/sku-88213/reviews",
    "/v1/accounts/acct_1J2k3L/invoices/in_9Zx8",
    "/healthz",
    "/graphql",
    "2",
    "desc",
    "created_at",
    "2024-05-17T10:05:03Z",
    "john.doe@example.com",
    "en-US",
    "550e8400-e29b-41d4-a716-446655440000",
    "rock and roll",
    "/static/js/app.3f9a1c.js",
    "application/json",
];

/// Best of several timed trials, in seconds per call: the machine may be busy, and the least
/// disturbed trial is the closest to the code's own cost.
fn best_seconds_per_call(calls_per_trial: usize, mut trial: impl FnMut()) -> f64 {
    /// Trials per measurement.
    const TRIALS: usize = 7;
    (0..TRIALS)
        .map(|_| {
            let start = Instant::now();
            trial();
            start.elapsed().as_secs_f64() / calls_per_trial as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// Values per second of `scan_value` (all classes) over [`BENIGN_API_VALUES`].
pub fn benign_values_per_second(detector: &InjectionDetector, rounds: usize) -> f64 {
    let mut found = 0usize;
    let seconds = best_seconds_per_call(rounds * BENIGN_API_VALUES.len(), || {
        for _ in 0..rounds {
            for v in BENIGN_API_VALUES {
                found += detector.scan_value(std::hint::black_box(v), AttackSet::ALL).len();
            }
        }
    });
    assert_eq!(found, 0, "the benign API values are benign");
    1.0 / seconds
}

/// One combined-format line's request target, referrer and user agent.
fn apache_fields(line: &str) -> Option<(String, String, String)> {
    let quoted: Vec<&str> = line.split('"').collect();
    // `… "GET /x HTTP/1.1" 200 12 "referrer" "agent"` splits into 7 parts.
    if quoted.len() < 7 {
        return None;
    }
    let target = quoted[1].split(' ').nth(1).unwrap_or(quoted[1]).to_string();
    Some((target, quoted[3].to_string(), quoted[5].to_string()))
}

/// Events of a combined-format log (request target, referrer, user agent), parsed before
/// timing so that the rate is the detector's.
fn combined_log_events(bytes: &[u8]) -> Vec<(String, EventData)> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .filter_map(|line| {
            let (target, referrer, agent) = apache_fields(line)?;
            let mut ev = benign_event(BenignKind::RequestTarget, target.as_bytes());
            ev.referrer = (referrer != "-").then_some(referrer.into());
            ev.user_agent = (agent != "-").then_some(agent.into());
            Some((line.to_string(), ev))
        })
        .collect()
}

/// `scan_request` over every line of a combined-format log: lines flagged and requests/s.
fn print_combined_log(detector: &InjectionDetector, name: &str, bytes: &[u8], show_all: bool) {
    let events = combined_log_events(bytes);
    let flagged: Vec<(&String, AttackSet)> = events
        .iter()
        .map(|(line, ev)| (line, detector.scan_request(ev, AttackSet::ALL)))
        .filter(|(_, found)| !found.is_empty())
        .collect();
    let seconds = best_seconds_per_call(events.len(), || {
        for (_, ev) in &events {
            std::hint::black_box(detector.scan_request(ev, AttackSet::ALL));
        }
    });
    println!(
        "{name}, scan_request per line: {} lines, {} flagged ({:.2}%), {:.0} requests/s",
        events.len(),
        flagged.len(),
        percent(flagged.len(), events.len()),
        1.0 / seconds
    );
    for (line, found) in flagged.iter().take(if show_all { usize::MAX } else { 5 }) {
        println!("  flagged {found}: {line}");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let detector = InjectionDetector::new();
    // `--probe VALUE…`: the classes found in each value, to see why something is flagged.
    if args.first().is_some_and(|a| a == "--probe") {
        for value in &args[1..] {
            let rounds = 20_000;
            let ns = 1e9
                * best_seconds_per_call(rounds, || {
                    for _ in 0..rounds {
                        std::hint::black_box(
                            detector.scan_value(std::hint::black_box(value), AttackSet::ALL),
                        );
                    }
                });
            println!("{} {value:?} ({ns:.0} ns)", detector.scan_value(value, AttackSet::ALL));
            let mut per_class = String::new();
            for class in AttackClass::ALL {
                let ns = 1e9
                    * best_seconds_per_call(rounds, || {
                        for _ in 0..rounds {
                            std::hint::black_box(
                                detector.scan_value(std::hint::black_box(value), class.into()),
                            );
                        }
                    });
                let _ = write!(per_class, " {class} {ns:.0}");
            }
            println!("   ns per class:{per_class}");
        }
        return;
    }
    // `--log PATH`: scan a combined-format access log of one's own.
    if args.first().is_some_and(|a| a == "--log") {
        for path in &args[1..] {
            match fs::read(path) {
                Ok(bytes) => print_combined_log(&detector, path, &bytes, true),
                Err(e) => println!("{path}: {e}"),
            }
        }
        return;
    }
    let show_misses = args.iter().any(|a| a == "--misses");
    let dir = data_dir();
    let attacks = attack_corpora(&dir).unwrap_or_else(|e| panic!("loading attack corpora: {e}"));
    let benign = benign_corpora(&dir).unwrap_or_else(|e| panic!("loading benign corpora: {e}"));

    let recall: Vec<Recall> = attacks.iter().map(|c| measure_recall(&detector, c)).collect();
    println!("{}", recall_table(&recall));
    let fps: Vec<FalsePositives> =
        benign.iter().map(|c| measure_false_positives(&detector, c)).collect();
    println!("{}", false_positive_table(&fps));

    let log = shared_apache_log();
    match fs::read(&log) {
        Ok(bytes) => print_combined_log(&detector, "full apache log", &bytes, show_misses),
        Err(e) => println!("full apache log skipped: {} not readable ({e})", log.display()),
    }

    let per_second = benign_values_per_second(&detector, 30_000);
    println!(
        "scan_value on benign API values (all classes): {:.2} M values/s ({:.0} ns/value)",
        per_second / 1e6,
        1e9 / per_second
    );
    let ev = benign_event(BenignKind::RequestTarget, b"/api/v1/users/123/orders?page=2&sort=desc");
    let rounds = 100_000;
    let ns = 1e9
        * best_seconds_per_call(rounds, || {
            for _ in 0..rounds {
                std::hint::black_box(
                    detector.scan_request(std::hint::black_box(&ev), AttackSet::ALL),
                );
            }
        });
    println!("scan_request on /api/v1/users/123/orders?page=2&sort=desc: {ns:.0} ns/request");

    if show_misses {
        for r in &recall {
            for m in &r.missed {
                let lost =
                    if r.lost_to_prefilter.contains(m) { " (lost to the prefilter)" } else { "" };
                println!(
                    "missed [{}] {}{lost}: {}",
                    r.classes,
                    r.source,
                    String::from_utf8_lossy(m)
                );
            }
        }
        for f in &fps {
            for (v, found) in &f.flagged {
                println!("flagged {found} [{}]: {}", f.source, String::from_utf8_lossy(v));
            }
        }
    }
}
