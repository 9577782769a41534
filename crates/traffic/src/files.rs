//! Writing a generated run to files.

use crate::gen::{BenignEntry, Generator, TruthEntry};
use crate::record::{Record, RecordKind};
use crate::{write_ecs, write_kong, write_kong_compact, write_nginx, OutputFormat, TrafficConfig};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Which files to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outputs {
    /// `gateway.log`: nginx combined + `$request_time`.
    pub gateway: bool,
    /// `kong.jsonl`: the same calls as Kong logs them.
    pub kong: bool,
    /// `kong-compact.jsonl`: the same calls as a trimmed Kong log (about 1.5 KB a line).
    pub kong_compact: bool,
    /// `auth.jsonl`: the application's ECS login events.
    pub auth: bool,
}

impl Default for Outputs {
    fn default() -> Self {
        Outputs { gateway: true, kong: true, kong_compact: false, auth: true }
    }
}

/// One file written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestFile {
    pub path: PathBuf,
    /// apiwatch's format name (`nginx`, `kong`, `ecs`), or `truth` or `benign`.
    pub format: &'static str,
    pub lines: u64,
    pub bytes: u64,
}

/// What [`generate_files`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    pub files: Vec<ManifestFile>,
    pub records: u64,
    pub http_records: u64,
    pub login_records: u64,
    /// Records labelled `attack/…`.
    pub attack_records: u64,
    /// Event time of the first and last records (`None` when nothing was generated).
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// The ground truth, also in `truth.jsonl`.
    pub truth: Vec<TruthEntry>,
    /// Who plays the benign parts, also in `benign.jsonl`.
    pub benign: Vec<BenignEntry>,
}

impl Manifest {
    /// The file written in a format.
    pub fn file(&self, format: OutputFormat) -> Option<&ManifestFile> {
        let name = format.file_name();
        self.files.iter().find(|f| f.path.file_name().and_then(|n| n.to_str()) == Some(name))
    }
}

/// Flush buffers at this size.
const FLUSH_BYTES: usize = 256 * 1024;

/// A line writer: [`write_nginx`], [`write_kong`] or [`write_ecs`].
type WriteFn = fn(&Record, &mut Vec<u8>);

struct Sink {
    file: File,
    buf: Vec<u8>,
    lines: u64,
    bytes: u64,
}

impl Sink {
    fn create(path: &Path) -> io::Result<Sink> {
        Ok(Sink {
            file: File::create(path)?,
            buf: Vec::with_capacity(FLUSH_BYTES + 4096),
            lines: 0,
            bytes: 0,
        })
    }
    fn write(&mut self, rec: &Record, f: WriteFn) -> io::Result<()> {
        let before = self.buf.len();
        f(rec, &mut self.buf);
        if self.buf.len() > before {
            self.lines += 1;
        }
        if self.buf.len() >= FLUSH_BYTES {
            self.flush()?;
        }
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.write_all(&self.buf)?;
        self.bytes += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

/// Generates a run into `dir` (created if missing): `gateway.log` (nginx), `kong.jsonl`,
/// `auth.jsonl` (ECS login events), `truth.jsonl` (one line per attack scenario) and
/// `benign.jsonl` (one line per benign part: who plays it).
pub fn generate_files(cfg: &TrafficConfig, dir: &Path) -> io::Result<Manifest> {
    generate_files_with(cfg, dir, Outputs::default())
}

/// [`generate_files`], choosing the log files; `truth.jsonl` and `benign.jsonl` are always
/// written.
pub fn generate_files_with(
    cfg: &TrafficConfig,
    dir: &Path,
    outputs: Outputs,
) -> io::Result<Manifest> {
    std::fs::create_dir_all(dir)?;
    let mut sinks: Vec<(OutputFormat, Sink, WriteFn)> = Vec::new();
    for (on, format, f) in [
        (outputs.gateway, OutputFormat::NginxCombined, write_nginx as WriteFn),
        (outputs.kong, OutputFormat::KongJson, write_kong),
        (outputs.kong_compact, OutputFormat::KongCompact, write_kong_compact),
        (outputs.auth, OutputFormat::EcsApp, write_ecs),
    ] {
        if on {
            sinks.push((format, Sink::create(&dir.join(format.file_name()))?, f));
        }
    }
    let mut gen = Generator::new(cfg);
    let mut rec = Record::default();
    let (mut http, mut login, mut attack) = (0u64, 0u64, 0u64);
    let (mut first, mut last) = (None, None);
    while gen.next_into(&mut rec) {
        match rec.kind {
            RecordKind::Http(_) => http += 1,
            RecordKind::Login(_) => login += 1,
        }
        attack += u64::from(rec.is_attack());
        first.get_or_insert(rec.ts_ms);
        last = Some(rec.ts_ms);
        for (_, sink, f) in &mut sinks {
            sink.write(&rec, *f)?;
        }
    }
    let mut files = Vec::new();
    for (format, mut sink, _) in sinks {
        sink.flush()?;
        files.push(ManifestFile {
            path: dir.join(format.file_name()),
            format: format.format_name(),
            lines: sink.lines,
            bytes: sink.bytes,
        });
    }
    let truth = gen.truth();
    let mut text = String::new();
    for t in &truth {
        text.push_str(&t.to_json().to_string());
        text.push('\n');
    }
    let truth_path = dir.join("truth.jsonl");
    std::fs::write(&truth_path, &text)?;
    files.push(ManifestFile {
        path: truth_path,
        format: "truth",
        lines: truth.len() as u64,
        bytes: text.len() as u64,
    });
    let benign = gen.benign_actors().to_vec();
    let mut text = String::new();
    for b in &benign {
        text.push_str(&b.to_json().to_string());
        text.push('\n');
    }
    let benign_path = dir.join("benign.jsonl");
    std::fs::write(&benign_path, &text)?;
    files.push(ManifestFile {
        path: benign_path,
        format: "benign",
        lines: benign.len() as u64,
        bytes: text.len() as u64,
    });
    Ok(Manifest {
        files,
        records: http + login,
        http_records: http,
        login_records: login,
        attack_records: attack,
        first_ms: first,
        last_ms: last,
        truth,
        benign,
    })
}
