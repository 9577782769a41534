//! Helpers shared by the binary's integration tests.
#![allow(dead_code)]

pub mod receiver;
pub mod service;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A fresh folder for one test under the target directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("apiwatch-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub trait OutputText {
    fn stdout_text(&self) -> String;
    fn stderr_text(&self) -> String;
}

impl OutputText for Output {
    fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_apiwatch"));
    c.args(args).current_dir(dir).env("APIWATCH_KEY_FILE", dir.join("pseudonym.key"));
    c
}

/// Runs apiwatch in `dir` with a key file of its own.
pub fn apiwatch(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).stdin(Stdio::null()).output().expect("apiwatch runs")
}

/// Runs apiwatch with bytes on stdin.
pub fn apiwatch_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut child = command(dir, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("apiwatch runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// An nginx combined line at 2026-03-02T10:00:00Z + `second` seconds.
pub fn nginx_line(ip: &str, second: u32, request: &str, status: u16) -> String {
    let (m, s) = (second / 60, second % 60);
    let (h, m) = (10 + m / 60, m % 60);
    format!(
        "{ip} - - [02/Mar/2026:{h:02}:{m:02}:{s:02} +0000] \"{} HTTP/1.1\" {status} 512 \"-\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0\"",
        request.trim_end()
    )
}

/// Checks the metrics text with Prometheus' own linter when it is installed (the test
/// command installs it); says so when it is not.
pub fn check_with_promtool(dir: &Path, metrics: &str) {
    let Ok(status) = std::process::Command::new("promtool").arg("--version").output() else {
        eprintln!(
            "SKIPPED promtool check: promtool is not installed (Debian package `prometheus`)"
        );
        return;
    };
    assert!(status.status.success());
    let path = dir.join("metrics.txt");
    std::fs::write(&path, metrics).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("promtool check metrics < {}", path.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics:\n{}{}",
        out.stdout_text(),
        out.stderr_text()
    );
}
