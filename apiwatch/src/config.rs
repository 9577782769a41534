//! The replay configuration file: parsed into `Raw*` structs (unknown keys are errors), then
//! validated into [`ReplayConfig`]. Every problem is reported at once with FILE:LINE:COLUMN.

use anyhow::{bail, Context};
use apiwatch_parse::CustomFormat;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    formats: Vec<RawFormat>,
    geoip: Option<Spanned<PathBuf>>,
    asn: Option<Spanned<PathBuf>>,
    openapi: Option<Spanned<PathBuf>>,
    #[serde(default)]
    rules: Vec<Spanned<PathBuf>>,
    #[serde(default)]
    with_builtin_rules: Option<bool>,
    #[serde(default)]
    trusted_proxies: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    limits: RawLimits,
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
}

fn place(file: &Path, loc: &serde_saphyr::Location) -> String {
    format!("{}:{}:{}", file.display(), loc.line(), loc.column())
}

/// Reads and validates a configuration file.
pub fn load(file: &Path) -> anyhow::Result<ReplayConfig> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read configuration {}", file.display()))?;
    let raw: RawConfig = serde_saphyr::from_str(&text).map_err(|e| {
        let at =
            e.location().map(|l| place(file, &l)).unwrap_or_else(|| file.display().to_string());
        anyhow::anyhow!("{at}: {e}")
    })?;
    let base = file.parent().unwrap_or(Path::new("."));
    let resolve = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
    let mut errors = Vec::new();
    let mut cfg = ReplayConfig {
        geoip: raw.geoip.map(|p| resolve(&p.value)),
        asn: raw.asn.map(|p| resolve(&p.value)),
        openapi: raw.openapi.map(|p| resolve(&p.value)),
        rules: raw.rules.iter().map(|p| resolve(&p.value)).collect(),
        with_builtin_rules: raw.with_builtin_rules.unwrap_or(false),
        max_keys_per_rule: raw.limits.max_keys_per_rule.as_ref().map(|m| m.value),
        ..Default::default()
    };
    if let Some(m) = &raw.limits.max_keys_per_rule {
        if m.value == 0 {
            errors.push(format!(
                "{}: limits.max_keys_per_rule: must be at least 1",
                place(file, &m.referenced)
            ));
        }
    }
    if let Some(proxies) = raw.trusted_proxies {
        let mut nets = Vec::new();
        for p in proxies {
            match parse_net(&p.value) {
                Some(n) => nets.push(n),
                None => errors.push(format!(
                    "{}: trusted_proxies: expected an address or CIDR network",
                    place(file, &p.referenced)
                )),
            }
        }
        cfg.trusted_proxies = Some(nets);
    }
    for f in raw.formats {
        let at = place(file, &f.name.referenced);
        let name = f.name.value.clone();
        if apiwatch_parse::builtin(&name).is_some() {
            errors.push(format!("{at}: formats.name: `{name}` is a built-in format name"));
            continue;
        }
        let custom = match (f.log_format, f.json) {
            (Some(p), None) => CustomFormat::LogFormat { name, pattern: p.value },
            (None, Some(m)) => CustomFormat::Json { name, mapping: m.value },
            _ => {
                errors.push(format!("{at}: formats: give exactly one of `log_format` or `json`"));
                continue;
            }
        };
        if let Err(e) = apiwatch_parse::build_custom(&custom) {
            errors.push(format!("{at}: formats: {e}"));
            continue;
        }
        cfg.formats.push(custom);
    }
    if !errors.is_empty() {
        bail!("{} problem(s) in the configuration:\n{}", errors.len(), errors.join("\n"));
    }
    Ok(cfg)
}

/// Parses `192.0.2.7` or `192.0.2.0/24` (a bare address is a /32 or /128).
pub fn parse_net(s: &str) -> Option<ipnet::IpNet> {
    s.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}
