//! Injection detector on the copied corpora (`tests/data/injection/`, see its SOURCES.md):
//! recall per class and source and false positives on benign sets must not fall below the
//! floors measured when the detector was written.
//!
//! The measurement is `examples/injection_eval.rs` itself (included below), so this test and
//! `cargo run --release -p apiwatch-detect --example injection_eval` report the same numbers.
//! `cargo test -p apiwatch-detect --test injection_corpus -- --nocapture` prints the tables.

#[path = "../examples/injection_eval.rs"]
mod injection_eval;

use apiwatch_detect::injection::InjectionDetector;
use injection_eval::{
    attack_corpora, benign_corpora, data_dir, false_positive_table, measure_false_positives,
    measure_recall, recall_table, FalsePositives, Recall,
};

/// Recall floors in percent per source, a little below what was measured (in the comment),
/// so that a regression fails while a small corpus may lose one payload at most.
const RECALL_FLOORS: &[(&str, f64)] = &[
    ("libinjection sqli-*.txt (forums 1/10)", 99.0), // 99.3
    ("gotestwaf sqli (owasp, community)", 85.0),     // 100 (7 payloads)
    ("gotestwaf owasp-api (rest, soap, grpc, non-crud)", 93.0), // 100 (16)
    ("libinjection xss-*.txt", 99.5),                // 100
    ("gotestwaf xss (owasp, community)", 96.0),      // 98.1 (54)
    ("gotestwaf rce, shell, ssi (owasp, community)", 90.0), // 95.0 (20)
    ("patt Command_Injection (2 lists)", 86.0),      // 87.8
    ("gotestwaf path-traversal, lfi", 83.0),         // 100 (6)
    ("patt Directory_Traversal-directory_traversal", 90.0), // 91.4
    ("patt Directory_Traversal-deep_traversal", 93.0), // 94.1
    ("patt Directory_Traversal-traversals-8-deep-exotic-encoding", 95.0), // 95.9
    ("patt Directory_Traversal-dotdotpwn-sample", 68.5), // 69.8
    ("gotestwaf sst-injection", 66.0),               // 100 (3)
    ("patt Server_Side_Template_Injection ssti.fuzz", 98.0), // 99.1
    ("gotestwaf nosql-injection", 80.0),             // 100 (5)
    ("patt NoSQL_Injection (2 lists)", 95.0),        // 97.8
    ("crs ssrf.data", 99.0),                         // 100
    ("gotestwaf user-agent (JNDI payloads)", 100.0), // 100 (1)
    ("gotestwaf crlf", 85.0),                        // 100 (7)
];

/// Most values flagged per benign source (measured in the comment). The libinjection file
/// holds inputs that were once SQLi false positives of libinjection; most still are for its
/// fingerprints, which the detector uses as they are.
const FALSE_POSITIVE_CEILINGS: &[(&str, usize)] = &[
    ("libinjection false_positives.txt", 20), // 19 of 421 (all from libinjection)
    ("gotestwaf false-pos/texts.yml", 0),     // 0 of 47
    ("apache log request targets (distinct)", 0), // 0 of 1498
    ("apache log referrers (distinct)", 0),   // 0 of 627
    ("apache log user agents (distinct)", 0), // 0 of 557
];

fn measure() -> (Vec<Recall>, Vec<FalsePositives>) {
    let dir = data_dir();
    let detector = InjectionDetector::new();
    let attacks = attack_corpora(&dir).unwrap_or_else(|e| panic!("loading attack corpora: {e}"));
    let benign = benign_corpora(&dir).unwrap_or_else(|e| panic!("loading benign corpora: {e}"));
    let recall = attacks.iter().map(|c| measure_recall(&detector, c)).collect();
    let fps = benign.iter().map(|c| measure_false_positives(&detector, c)).collect();
    (recall, fps)
}

#[test]
fn recall_and_false_positives_hold_their_floors() {
    let (recall, fps) = measure();
    println!("{}", recall_table(&recall));
    println!("{}", false_positive_table(&fps));

    let mut failures = Vec::new();
    for (source, floor) in RECALL_FLOORS {
        match recall.iter().find(|r| r.source == *source) {
            Some(r) if r.percent() < *floor => failures.push(format!(
                "{source}: recall {:.1}% below its floor {floor}% ({} missed, e.g. {:?})",
                r.percent(),
                r.missed.len(),
                r.missed.first().map(|m| String::from_utf8_lossy(m).into_owned())
            )),
            Some(_) => {}
            None => failures.push(format!("{source}: no such corpus")),
        }
    }
    assert_eq!(recall.len(), RECALL_FLOORS.len(), "every corpus has a floor");
    for (source, ceiling) in FALSE_POSITIVE_CEILINGS {
        match fps.iter().find(|f| f.source == *source) {
            Some(f) if f.flagged.len() > *ceiling => failures.push(format!(
                "{source}: {} values flagged, more than {ceiling}: {:?}",
                f.flagged.len(),
                f.flagged
                    .iter()
                    .take(5)
                    .map(|(v, found)| format!("{found}: {}", String::from_utf8_lossy(v)))
                    .collect::<Vec<_>>()
            )),
            Some(_) => {}
            None => failures.push(format!("{source}: no such corpus")),
        }
    }
    assert_eq!(fps.len(), FALSE_POSITIVE_CEILINGS.len(), "every benign corpus has a ceiling");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// libinjection on its own catches some inputs; the prefilter in front of it must not throw
/// them away (it exists to skip ordinary values, not payloads).
#[test]
fn prefilter_loses_nothing_libinjection_catches() {
    let (recall, _) = measure();
    let lost: Vec<String> = recall
        .iter()
        .flat_map(|r| r.lost_to_prefilter.iter().map(|p| String::from_utf8_lossy(p).into_owned()))
        .collect();
    assert!(lost.is_empty(), "lost to the prefilter: {lost:?}");
}
