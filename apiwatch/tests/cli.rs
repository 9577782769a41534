//! The replay command as a user runs it: exit statuses, inputs (files, stdin, gzip, zstd,
//! FORMAT:PATH), unparsed lines, the summary in text and JSON.

mod common;

use common::{apiwatch, nginx_line, scratch, OutputText};
use std::io::Write;

#[test]
fn a_clean_run_exits_zero_and_counts_events() {
    let dir = scratch("clean-run");
    let log = dir.join("access.log");
    let lines: String = (0..50)
        .map(|i| nginx_line("198.51.100.7", i, "GET /api/v1/products?page=2", 200) + "\n")
        .collect();
    std::fs::write(&log, lines).unwrap();
    let out = apiwatch(&dir, &["replay", log.to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["events"], 50);
    assert_eq!(summary["inputs"][0]["format"], "nginx");
    assert_eq!(summary["inputs"][0]["unparsed"], 0);
}

#[test]
fn bad_usage_exits_one() {
    let dir = scratch("bad-usage");
    let out = apiwatch(&dir, &["replay"]);
    assert_eq!(out.status.code(), Some(1));
    let out = apiwatch(&dir, &["replay", "--threads", "0", "x.log"]);
    assert_eq!(out.status.code(), Some(1));
    let out = apiwatch(&dir, &["frobnicate"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_missing_input_exits_two_and_the_others_are_still_replayed() {
    let dir = scratch("missing-input");
    let log = dir.join("ok.log");
    std::fs::write(&log, nginx_line("198.51.100.7", 0, "GET / ", 200) + "\n").unwrap();
    let out =
        apiwatch(&dir, &["replay", "/nonexistent/nope.log", log.to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["events"], 1);
    assert!(out.stderr_text().contains("/nonexistent/nope.log"));
}

#[test]
fn malformed_lines_are_counted_with_their_line_numbers_and_never_end_the_run() {
    let dir = scratch("malformed");
    let log = dir.join("mixed.log");
    let mut text = String::new();
    for i in 0..20 {
        if i % 5 == 3 {
            text.push_str("this is not an access log line at all\n");
        } else {
            text.push_str(&(nginx_line("203.0.113.9", i, "GET /a", 200) + "\n"));
        }
    }
    std::fs::write(&log, text).unwrap();
    let out = apiwatch(&dir, &["replay", log.to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["events"], 16);
    assert_eq!(s["inputs"][0]["unparsed"], 4);
    let lines: Vec<u64> = s["inputs"][0]["unparsed_examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![4, 9, 14, 19]);
}

#[test]
fn gzip_zstd_stdin_and_named_formats_read_the_same_events() {
    let dir = scratch("compression");
    let text: String = (0..30).map(|i| nginx_line("192.0.2.44", i, "GET /x", 404) + "\n").collect();
    let plain = dir.join("a.log");
    std::fs::write(&plain, &text).unwrap();
    let gz = dir.join("a.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
    let zst = dir.join("a.log.zst");
    std::fs::write(&zst, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
    for (arg, compression) in [
        (gz.to_str().unwrap().to_string(), "gzip"),
        (zst.to_str().unwrap().to_string(), "zstd"),
        (format!("nginx:{}", plain.display()), "none"),
    ] {
        let out = apiwatch(&dir, &["replay", &arg, "-o", "json"]);
        assert_eq!(out.status.code(), Some(0), "{arg}: {}", out.stderr_text());
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(s["events"], 30, "{arg}");
        assert_eq!(s["inputs"][0]["compression"], compression, "{arg}");
    }
    let out = common::apiwatch_stdin(&dir, &["replay", "-", "-o", "json"], text.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["events"], 30);
}

#[test]
fn an_unrecognisable_input_is_an_input_error() {
    let dir = scratch("unknown-format");
    let f = dir.join("notes.txt");
    std::fs::write(&f, "dear diary\nnothing happened today\n").unwrap();
    let out = apiwatch(&dir, &["replay", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stderr_text().contains("FORMAT:PATH"), "{}", out.stderr_text());
}

#[test]
fn inputs_are_merged_by_event_time() {
    let dir = scratch("merge");
    let a = dir.join("a.log");
    let b = dir.join("b.log");
    std::fs::write(
        &a,
        (0..10).map(|i| nginx_line("192.0.2.1", i * 2, "GET /a", 200) + "\n").collect::<String>(),
    )
    .unwrap();
    std::fs::write(
        &b,
        (0..10)
            .map(|i| nginx_line("192.0.2.2", i * 2 + 1, "GET /b", 200) + "\n")
            .collect::<String>(),
    )
    .unwrap();
    let out = apiwatch(&dir, &["replay", a.to_str().unwrap(), b.to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["events"], 20);
    assert_eq!(s["inputs"][0]["first_event"], "2026-03-02T10:00:00.000Z");
    assert_eq!(s["inputs"][1]["first_event"], "2026-03-02T10:00:01.000Z");
}
