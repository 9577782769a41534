//! The sections of `apiwatch run` that answer what detection found: `state` (the SQLite
//! database), `correlate`, `decisions`, `notify`, and the API's TLS. The typed configs of
//! `correlate`, `decisions` and `notify` belong to the crates that run them; here they are read
//! as YAML values, `${ENV}` is expanded in every string (webhook URLs and keys stay out of the
//! file), and they are handed to those crates' own validation, whose errors name key paths.

use super::units::expand_env;
use super::{place, Problems};
use serde::de::DeserializeOwned;
use serde_saphyr::Spanned;
use std::path::Path;

/// A section read as a plain value, with where it starts.
pub(super) type RawSection = Spanned<serde_json::Value>;

/// Expands `${ENV}` in every string of `v`; the first failure is returned with its key path.
fn expand_all(v: &mut serde_json::Value, path: &str) -> Result<(), String> {
    match v {
        serde_json::Value::String(s) => {
            *s = expand_env(s).map_err(|e| format!("{path}: {e}"))?;
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_all(item, &format!("{path}[{i}]"))?;
            }
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                expand_all(item, &format!("{path}.{k}"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Reads section `key` into its typed config; problems go to `p`, placed at the section.
pub(super) fn section<T: DeserializeOwned + Default>(
    raw: Option<RawSection>,
    key: &str,
    file: &Path,
    p: &mut Problems,
) -> T {
    let Some(raw) = raw else { return T::default() };
    let at = place(file, &raw.referenced);
    let mut value = raw.value;
    if value.is_null() {
        return T::default();
    }
    if let Err(e) = expand_all(&mut value, key) {
        p.plain(format!("{at}: {e}"));
        return T::default();
    }
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(t) => t,
        Err(e) => {
            let inner = e.path().to_string();
            let path = if inner == "." { key.to_string() } else { format!("{key}.{inner}") };
            p.plain(format!("{at}: {path}: {}", e.inner()));
            T::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_references_expand_everywhere_and_errors_name_the_key() {
        std::env::set_var("APIWATCH_TEST_HOOK", "https://hooks.example/abc");
        let mut v = serde_json::json!({"channels": [{"url": "${APIWATCH_TEST_HOOK}"}]});
        expand_all(&mut v, "notify").unwrap();
        assert_eq!(v["channels"][0]["url"], "https://hooks.example/abc");
        let mut bad = serde_json::json!({"channels": [{"url": "${NOT A NAME}"}]});
        let e = expand_all(&mut bad, "notify").unwrap_err();
        assert!(e.starts_with("notify.channels[0].url:"), "{e}");
    }
}

/// `correlate:` as written; durations as text (`1h`). What is not set keeps its default.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCorrelate {
    /// Risk (0-100) at which an actor's alerts open an incident.
    risk_threshold: Option<f64>,
    /// Risk halves after this much time without alerts.
    half_life: Option<String>,
    /// Risk added per new alert, by severity.
    weights: Option<RawWeights>,
    /// How long two actors seen together stay linked.
    link_ttl: Option<String>,
    /// How long an incident without new alerts is still folded into.
    incident_idle: Option<String>,
    /// The same rule for the same actor notifies at most once in this long.
    suppress: Option<String>,
    /// Per rule id.
    #[serde(default)]
    suppress_by_rule: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeights {
    low: Option<f64>,
    medium: Option<f64>,
    high: Option<f64>,
    critical: Option<f64>,
}

impl RawCorrelate {
    /// The correlation settings, or every problem, each naming its key.
    pub fn validate(self) -> Result<apiwatch_detect::correlate::CorrelateConfig, Vec<String>> {
        let mut c = apiwatch_detect::correlate::CorrelateConfig::default();
        let mut problems = Vec::new();
        let mut duration = |key: &str, v: &Option<String>, out: &mut i64| {
            if let Some(text) = v {
                match super::units::parse_duration_ms(text) {
                    Ok(ms) if ms > 0 => *out = ms,
                    Ok(_) => problems.push(format!("correlate.{key}: must be longer than zero")),
                    Err(e) => problems.push(format!("correlate.{key}: {e}")),
                }
            }
        };
        duration("half_life", &self.half_life, &mut c.half_life_ms);
        duration("link_ttl", &self.link_ttl, &mut c.link_ttl_ms);
        duration("incident_idle", &self.incident_idle, &mut c.incident_idle_ms);
        duration("suppress", &self.suppress, &mut c.suppress_ms);
        for (rule, text) in &self.suppress_by_rule {
            let mut ms = 0;
            duration(&format!("suppress_by_rule.{rule}"), &Some(text.clone()), &mut ms);
            if ms > 0 {
                c.suppress_ms_by_rule.insert(rule.clone(), ms);
            }
        }
        if let Some(t) = self.risk_threshold {
            c.risk_threshold = t;
        }
        if let Some(w) = self.weights {
            let cw = &mut c.weights;
            for (v, out) in [
                (w.low, &mut cw.low),
                (w.medium, &mut cw.medium),
                (w.high, &mut cw.high),
                (w.critical, &mut cw.critical),
            ] {
                if let Some(v) = v {
                    *out = v;
                }
            }
        }
        if let Err(e) = c.validate() {
            problems.extend(e.problems.iter().map(|p| format!("correlate.{p}")));
        }
        if problems.is_empty() {
            Ok(c)
        } else {
            Err(problems)
        }
    }
}
