//! The configuration file: parsed into `Raw*` structs (unknown keys are errors), then
//! validated into [`Config`]. Every problem is reported at once with FILE:LINE:COLUMN.
//! String values may hold `${ENV}` references (secrets stay out of the file).
//!
//! One file serves both commands: `replay` reads the shared sections (formats, enrichment,
//! rules, limits); `run` also reads the live sections (`live.rs`).

pub mod live;
mod live_sources;
mod respond;
pub mod units;

use anyhow::{bail, Context};
use apiwatch_parse::CustomFormat;
pub use live::LiveSettings;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::path::{Path, PathBuf};

/// A string value with where it was written.
type Text = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    formats: Vec<RawFormat>,
    geoip: Option<Text>,
    asn: Option<Text>,
    openapi: Option<Text>,
    #[serde(default)]
    rules: Vec<Text>,
    #[serde(default)]
    with_builtin_rules: Option<bool>,
    #[serde(default)]
    trusted_proxies: Option<Vec<Text>>,
    #[serde(default)]
    limits: RawLimits,
    // The live sections (see live.rs).
    data_dir: Option<Text>,
    key_file: Option<Text>,
    #[serde(default)]
    sources: Vec<live_sources::RawSource>,
    storage: Option<live::RawStorage>,
    listen: Option<Text>,
    alerts: Option<live::RawAlerts>,
    log: Option<live::RawLog>,
    api: Option<live::RawApi>,
    state: Option<live::RawState>,
    correlate: Option<respond::RawSection>,
    decisions: Option<respond::RawSection>,
    notify: Option<respond::RawSection>,
    gateway: Option<respond::RawSection>,
    inspect: Option<respond::RawSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFormat {
    name: Spanned<String>,
    log_format: Option<Spanned<String>>,
    json: Option<Spanned<apiwatch_parse::mapping::JsonMapping>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_keys_per_rule: Option<Spanned<usize>>,
}

/// A validated configuration. Paths are resolved relative to the configuration file.
#[derive(Debug, Default)]
pub struct ReplayConfig {
    pub formats: Vec<CustomFormat>,
    pub geoip: Option<PathBuf>,
    pub asn: Option<PathBuf>,
    pub openapi: Option<PathBuf>,
    pub rules: Vec<PathBuf>,
    pub with_builtin_rules: bool,
    pub trusted_proxies: Option<Vec<ipnet::IpNet>>,
    pub max_keys_per_rule: Option<usize>,
    /// What only `run` reads.
    pub live: LiveSettings,
}

fn place(file: &Path, loc: &serde_saphyr::Location) -> String {
    format!("{}:{}:{}", file.display(), loc.line(), loc.column())
}

/// Problems found while validating, reported together.
struct Problems {
    file: PathBuf,
    list: Vec<String>,
}

impl Problems {
    /// The value with `${ENV}` expanded; a failed expansion is a problem at the value.
    fn text(&mut self, t: &Text, key: &str) -> Option<String> {
        match units::expand_env(&t.value) {
            Ok(v) => Some(v),
            Err(e) => {
                let file = self.file.clone();
                self.at(&file, t, key, &e);
                None
            }
        }
    }
    fn at(&mut self, file: &Path, t: &Text, key: &str, why: &str) {
        self.list.push(format!("{}: {key}: {why}", place(file, &t.referenced)));
    }
    fn plain(&mut self, s: String) {
        self.list.push(s);
    }
}

/// Reads and validates a configuration file.
pub fn load(file: &Path) -> anyhow::Result<ReplayConfig> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read configuration {}", file.display()))?;
    parse(&text, file)
}

/// Validates configuration text read from `file` (named in errors, and the base of relative
/// paths).
pub fn parse(text: &str, file: &Path) -> anyhow::Result<ReplayConfig> {
    let raw: RawConfig = serde_saphyr::from_str(text).map_err(|e| {
        let at =
            e.location().map(|l| place(file, &l)).unwrap_or_else(|| file.display().to_string());
        anyhow::anyhow!("{at}: {e}")
    })?;
    let base = file.parent().unwrap_or(Path::new("."));
    let resolve = |p: &str| {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let mut p = Problems { file: file.to_path_buf(), list: Vec::new() };
    let path = |t: Option<Text>, key: &str, p: &mut Problems| {
        t.and_then(|t| p.text(&t, key)).map(|v| resolve(&v))
    };
    let mut cfg = ReplayConfig {
        geoip: path(raw.geoip, "geoip", &mut p),
        asn: path(raw.asn, "asn", &mut p),
        openapi: path(raw.openapi, "openapi", &mut p),
        with_builtin_rules: raw.with_builtin_rules.unwrap_or(false),
        max_keys_per_rule: raw.limits.max_keys_per_rule.as_ref().map(|m| m.value),
        ..Default::default()
    };
    for r in raw.rules {
        if let Some(d) = path(Some(r), "rules", &mut p) {
            cfg.rules.push(d);
        }
    }
    if let Some(m) = &raw.limits.max_keys_per_rule {
        if m.value == 0 {
            p.plain(format!(
                "{}: limits.max_keys_per_rule: must be at least 1",
                place(file, &m.referenced)
            ));
        }
    }
    if let Some(proxies) = raw.trusted_proxies {
        let mut nets = Vec::new();
        for t in proxies {
            match p.text(&t, "trusted_proxies").map(|v| parse_net(&v)) {
                Some(Some(n)) => nets.push(n),
                Some(None) => {
                    p.at(file, &t, "trusted_proxies", "expected an address or CIDR network")
                }
                None => {}
            }
        }
        cfg.trusted_proxies = Some(nets);
    }
    for f in raw.formats {
        let at = place(file, &f.name.referenced);
        let name = f.name.value.clone();
        if apiwatch_parse::builtin(&name).is_some() {
            p.plain(format!("{at}: formats.name: `{name}` is a built-in format name"));
            continue;
        }
        let custom = match (f.log_format, f.json) {
            (Some(pat), None) => CustomFormat::LogFormat { name, pattern: pat.value },
            (None, Some(m)) => CustomFormat::Json { name, mapping: m.value },
            _ => {
                p.plain(format!("{at}: formats: give exactly one of `log_format` or `json`"));
                continue;
            }
        };
        if let Err(e) = apiwatch_parse::build_custom(&custom) {
            p.plain(format!("{at}: formats: {e}"));
            continue;
        }
        cfg.formats.push(custom);
    }
    let raw_live = live::RawLive {
        data_dir: raw.data_dir,
        key_file: raw.key_file,
        sources: raw.sources,
        storage: raw.storage,
        listen: raw.listen,
        alerts: raw.alerts,
        log: raw.log,
        api: raw.api,
    };
    cfg.live = live::validate(raw_live, file, &resolve, &mut p);
    cfg.live.state_path =
        raw.state.and_then(|s| s.path).and_then(|t| p.text(&t, "state.path")).map(|v| resolve(&v));
    cfg.live.decisions = respond::section(raw.decisions, "decisions", file, &mut p);
    let correlate: respond::RawCorrelate =
        respond::section(raw.correlate, "correlate", file, &mut p);
    match correlate.validate() {
        Ok(c) => cfg.live.correlate = c,
        Err(problems) => {
            for problem in problems {
                p.plain(format!("{}: {problem}", file.display()));
            }
        }
    }
    cfg.live.notify = respond::section(raw.notify, "notify", file, &mut p);
    cfg.live.gateway = respond::section(raw.gateway, "gateway", file, &mut p);
    cfg.live.inspect = respond::section(raw.inspect, "inspect", file, &mut p);
    if let Some(g) = &cfg.live.gateway {
        if let Err(errs) = g.validate() {
            for e in errs {
                p.plain(format!("{}: gateway.{}: {}", file.display(), e.path, e.message));
            }
        }
        if cfg.live.sources.iter().any(|s| s.name == live::GATEWAY_SOURCE) {
            p.plain(format!(
                "{}: sources: `{}` names the gateway's calls; give the source another name",
                file.display(),
                live::GATEWAY_SOURCE
            ));
        }
        cfg.live.sources.push(live::SourceSpec {
            name: live::GATEWAY_SOURCE.to_string(),
            format: None,
            kind: live::SourceKind::Gateway,
            silent_after_ms: Some(live::SILENT_AFTER_MS_DEFAULT),
        });
    }
    if let Err(e) = apiwatch_enrich::inspect::Inspector::build(&cfg.live.inspect) {
        p.plain(format!("{}: inspect: {e}", file.display()));
    }
    for s in &cfg.live.sources {
        if let Some(f) = &s.format {
            let known =
                apiwatch_parse::builtin(f).is_some() || cfg.formats.iter().any(|c| c.name() == f);
            if !known {
                p.plain(format!(
                    "{}: sources: source `{}` names format `{f}`, which is neither built in nor in `formats`",
                    file.display(),
                    s.name
                ));
            }
        }
    }
    if !p.list.is_empty() {
        bail!("{} problem(s) in the configuration:\n{}", p.list.len(), p.list.join("\n"));
    }
    Ok(cfg)
}

/// Parses `192.0.2.7` or `192.0.2.0/24` (a bare address is a /32 or /128).
pub fn parse_net(s: &str) -> Option<ipnet::IpNet> {
    s.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}
