//! The sections only `apiwatch run` reads: where data lives, the sources to watch, storage,
//! the listen address, alert output and logging. `replay` accepts the same file and ignores
//! them, so one file configures both.

use super::live_sources::{source, RawSource};
use super::units::{parse_duration_ms, parse_size_bytes};
use super::{Problems, Text};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// How long a source may deliver nothing before it is alerted on as silent, by default.
pub const SILENT_AFTER_MS_DEFAULT: i64 = 10 * 60_000;
/// The shortest `silent_after`: silence is checked once a second.
pub const SILENT_AFTER_MS_MIN: i64 = 1_000;
/// Sources one service may run.
pub const SOURCES_MAX: usize = 64;
/// Shortest token accepted (ingest and API): guessing must not be practical.
pub const TOKEN_CHARS_MIN: usize = 16;
/// Largest HTTP ingest request accepted by default.
pub const INGEST_BODY_BYTES_DEFAULT: u64 = 10 << 20;
/// Largest HTTP ingest request that may be configured.
pub const INGEST_BODY_BYTES_MAX: u64 = 256 << 20;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStorage {
    segment_max_size: Option<Text>,
    segment_max_age: Option<Text>,
    commit_interval: Option<Text>,
    retention: Option<RawRetention>,
    encryption: Option<RawEncryption>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    max_age: Option<Text>,
    max_size: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEncryption {
    key_file: Option<Text>,
    key_env: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerts {
    file: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApi {
    token: Option<Text>,
    tls: Option<RawTls>,
    /// Listen on a non-loopback address without TLS (behind a TLS-terminating proxy).
    allow_plaintext: Option<bool>,
    /// The address people reach the service at, for links in notifications.
    public_url: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: Text,
    key: Text,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawState {
    pub path: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLog {
    level: Option<Text>,
    format: Option<Text>,
}

/// The run-only sections as they were read.
#[derive(Debug, Default)]
pub(super) struct RawLive {
    pub data_dir: Option<Text>,
    pub key_file: Option<Text>,
    pub sources: Vec<RawSource>,
    pub storage: Option<RawStorage>,
    pub listen: Option<Text>,
    pub alerts: Option<RawAlerts>,
    pub log: Option<RawLog>,
    pub api: Option<RawApi>,
}

/// A value that must not be shown: its `Debug` prints a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(****)")
    }
}

/// Where a followed file with no remembered position starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFrom {
    Beginning,
    End,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SourceKind {
    File {
        include: Vec<String>,
        exclude: Vec<String>,
        read_from: ReadFrom,
    },
    Syslog {
        udp: Option<SocketAddr>,
        tcp: Option<SocketAddr>,
    },
    Http {
        token: Secret,
        max_body_bytes: u64,
    },
    Stdin,
    /// The calls through the inline gateway (`gateway:`), recorded without log text.
    Gateway,
}

impl SourceKind {
    /// `file`, `syslog`, `http`, `stdin` or `gateway`, as the configuration's `type`.
    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::File { .. } => "file",
            SourceKind::Syslog { .. } => "syslog",
            SourceKind::Http { .. } => "http",
            SourceKind::Stdin => "stdin",
            SourceKind::Gateway => "gateway",
        }
    }
}

/// The name of the source the gateway's calls come from.
pub const GATEWAY_SOURCE: &str = "gateway";

#[derive(Clone, Debug, PartialEq)]
pub struct SourceSpec {
    /// Unique among the sources; names the source in metrics, logs and stored positions.
    pub name: String,
    /// A format name (built-in or from `formats`); detected from the first lines when absent.
    pub format: Option<String>,
    pub kind: SourceKind,
    /// How long the source may deliver nothing before it is alerted on as silent; none when
    /// silence is not watched (`silent_after: off`).
    pub silent_after_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EncryptionKey {
    File(PathBuf),
    Env(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct StorageSettings {
    pub segment_bytes_max: u64,
    pub segment_age_max_ms: i64,
    pub commit_interval_ms: i64,
    pub retention_age_max_ms: Option<i64>,
    pub retention_bytes_max: Option<u64>,
    pub encryption: Option<EncryptionKey>,
}

impl Default for StorageSettings {
    /// Segments of 8 MiB (about 150,000 nginx events): a search for one actor reads only the
    /// segments whose summary may hold it, so smaller segments answer faster (0.7 s for one
    /// address among 10 M events here, against 3.5 s with 256 MiB segments).
    fn default() -> Self {
        StorageSettings {
            segment_bytes_max: 8 << 20,
            segment_age_max_ms: 3_600_000,
            commit_interval_ms: 200,
            retention_age_max_ms: None,
            retention_bytes_max: None,
            encryption: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug)]
pub struct LiveSettings {
    pub data_dir: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub sources: Vec<SourceSpec>,
    pub storage: StorageSettings,
    pub listen: Option<SocketAddr>,
    pub alerts_file: Option<PathBuf>,
    pub log_level: String,
    pub log_format: LogFormat,
    /// A bearer token from the configuration with the `admin` role (tokens made with
    /// `apiwatch tokens create` live, hashed, in the state database).
    pub api_token: Option<Secret>,
    /// Certificate and key (PEM) of the HTTP server; plain HTTP without them.
    pub tls: Option<TlsFiles>,
    /// Whether plain HTTP may listen on an address other than loopback.
    pub allow_plaintext: bool,
    pub public_url: Option<String>,
    /// The state database (alerts, incidents, decisions, tokens, audit); `<data_dir>/state.db`
    /// by default.
    pub state_path: Option<PathBuf>,
    pub correlate: apiwatch_detect::correlate::CorrelateConfig,
    pub decisions: apiwatch_respond::decide::PolicyConfig,
    pub notify: apiwatch_respond::notify::NotifyConfig,
    /// The inline gateway, when configured.
    pub gateway: Option<apiwatch_gateway::GatewayConfig>,
    /// What the gateway's request and response bodies are inspected for.
    pub inspect: apiwatch_enrich::inspect::InspectConfig,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Default for LiveSettings {
    fn default() -> Self {
        LiveSettings {
            data_dir: None,
            key_file: None,
            sources: Vec::new(),
            storage: StorageSettings::default(),
            listen: None,
            alerts_file: None,
            log_level: "info".to_string(),
            log_format: LogFormat::Text,
            api_token: None,
            tls: None,
            allow_plaintext: false,
            public_url: None,
            state_path: None,
            correlate: Default::default(),
            decisions: Default::default(),
            notify: Default::default(),
            gateway: None,
            inspect: Default::default(),
        }
    }
}

/// Validates the run-only sections; problems are added to `p`.
pub(super) fn validate(
    raw: RawLive,
    file: &Path,
    resolve: &dyn Fn(&str) -> PathBuf,
    p: &mut Problems,
) -> LiveSettings {
    let mut s = LiveSettings {
        data_dir: raw.data_dir.and_then(|t| p.text(&t, "data_dir")).map(|d| resolve(&d)),
        key_file: raw.key_file.and_then(|t| p.text(&t, "key_file")).map(|d| resolve(&d)),
        ..Default::default()
    };
    if let Some(t) = raw.listen {
        s.listen = p.text(&t, "listen").and_then(|v| socket(&v, &t, "listen", file, p));
    }
    let mut api = raw.api.unwrap_or_default();
    if let Some(tls) = api.tls.take() {
        let cert = p.text(&tls.cert, "api.tls.cert").map(|v| resolve(&v));
        let key = p.text(&tls.key, "api.tls.key").map(|v| resolve(&v));
        if let (Some(cert), Some(key)) = (cert, key) {
            s.tls = Some(TlsFiles { cert, key });
        }
    }
    s.allow_plaintext = api.allow_plaintext.unwrap_or(false);
    s.public_url = api.public_url.take().and_then(|t| p.text(&t, "api.public_url"));
    if let (Some(addr), None, false) = (s.listen, &s.tls, s.allow_plaintext) {
        if !addr.ip().is_loopback() {
            p.plain(format!(
                "{}: listen: {addr} is not a loopback address and `api.tls` is not set: configure a certificate, or set `api.allow_plaintext: true` if a TLS proxy stands in front",
                file.display()
            ));
        }
    }
    if let Some(t) = api.token {
        match p.text(&t, "api.token") {
            Some(v) if v.len() >= TOKEN_CHARS_MIN => s.api_token = Some(Secret(v)),
            Some(_) => p.at(file, &t, "api.token", &format!("must be at least {TOKEN_CHARS_MIN} characters (use ${{ENV}} to keep it out of the file)")),
            None => {}
        }
        if s.listen.is_none() {
            p.at(
                file,
                &t,
                "api.token",
                "the API needs `listen` (the address the HTTP server binds)",
            );
        }
    }
    if let Some(a) = raw.alerts {
        s.alerts_file = a.file.and_then(|t| p.text(&t, "alerts.file")).map(|f| resolve(&f));
    }
    if let Some(l) = raw.log {
        if let Some(t) = l.level {
            if let Some(v) = p.text(&t, "log.level") {
                if ["error", "warn", "info", "debug", "trace"].contains(&v.as_str()) {
                    s.log_level = v;
                } else {
                    p.at(file, &t, "log.level", "expected error, warn, info, debug or trace");
                }
            }
        }
        if let Some(t) = l.format {
            match p.text(&t, "log.format").as_deref() {
                Some("text") => s.log_format = LogFormat::Text,
                Some("json") => s.log_format = LogFormat::Json,
                Some(_) => p.at(file, &t, "log.format", "expected text or json"),
                None => {}
            }
        }
    }
    if let Some(st) = raw.storage {
        storage(st, file, resolve, p, &mut s.storage);
    }
    if raw.sources.len() > SOURCES_MAX {
        p.plain(format!("{}: sources: at most {SOURCES_MAX} sources", file.display()));
    }
    for (i, src) in raw.sources.into_iter().enumerate() {
        if let Some(spec) = source(src, i, file, p) {
            if s.sources.iter().any(|o| o.name == spec.name) {
                p.plain(format!(
                    "{}: sources: two sources are named `{}`",
                    file.display(),
                    spec.name
                ));
            }
            s.sources.push(spec);
        }
    }
    s
}

pub(super) fn socket(
    v: &str,
    t: &Text,
    key: &str,
    file: &Path,
    p: &mut Problems,
) -> Option<SocketAddr> {
    match v.parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            p.at(file, t, key, "expected an address and port such as 127.0.0.1:8080");
            None
        }
    }
}

fn storage(
    st: RawStorage,
    file: &Path,
    resolve: &dyn Fn(&str) -> PathBuf,
    p: &mut Problems,
    out: &mut StorageSettings,
) {
    let size = |t: Option<Text>, key: &str, p: &mut Problems| -> Option<u64> {
        let t = t?;
        let v = p.text(&t, key)?;
        parse_size_bytes(&v).map_err(|e| p.at(file, &t, key, &e)).ok()
    };
    if let Some(v) = size(st.segment_max_size, "storage.segment_max_size", p) {
        out.segment_bytes_max = v;
    }
    let retention = st.retention.unwrap_or_default();
    out.retention_bytes_max = size(retention.max_size, "storage.retention.max_size", p);
    let duration = |t: Option<Text>, key: &str, p: &mut Problems| -> Option<i64> {
        let t = t?;
        let v = p.text(&t, key)?;
        match parse_duration_ms(&v) {
            Ok(0) => {
                p.at(file, &t, key, "must be longer than zero");
                None
            }
            Ok(ms) => Some(ms),
            Err(e) => {
                p.at(file, &t, key, &e);
                None
            }
        }
    };
    if let Some(v) = duration(st.segment_max_age, "storage.segment_max_age", p) {
        out.segment_age_max_ms = v;
    }
    if let Some(v) = duration(st.commit_interval, "storage.commit_interval", p) {
        out.commit_interval_ms = v;
    }
    out.retention_age_max_ms = duration(retention.max_age, "storage.retention.max_age", p);
    if let Some(e) = st.encryption {
        out.encryption = match (e.key_file, e.key_env) {
            (Some(f), None) => {
                p.text(&f, "storage.encryption.key_file").map(|v| EncryptionKey::File(resolve(&v)))
            }
            (None, Some(n)) => p.text(&n, "storage.encryption.key_env").map(EncryptionKey::Env),
            _ => {
                p.plain(format!(
                    "{}: storage.encryption: give exactly one of `key_file` or `key_env`",
                    file.display()
                ));
                None
            }
        };
    }
}
