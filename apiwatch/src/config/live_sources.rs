//! The `sources:` list of the configuration: one raw entry per source, validated into a
//! `SourceSpec` (its type's own keys, a name, a format, and how long it may stay silent).

use super::live::{
    socket, ReadFrom, Secret, SourceKind, SourceSpec, INGEST_BODY_BYTES_DEFAULT,
    INGEST_BODY_BYTES_MAX, SILENT_AFTER_MS_DEFAULT, SILENT_AFTER_MS_MIN, TOKEN_CHARS_MIN,
};
use super::units::{parse_duration_ms, parse_size_bytes};
use super::{Problems, Text};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSource {
    #[serde(rename = "type")]
    kind: Text,
    name: Option<Text>,
    format: Option<Text>,
    include: Option<Vec<Text>>,
    exclude: Option<Vec<Text>>,
    read_from: Option<Text>,
    udp: Option<Text>,
    tcp: Option<Text>,
    token: Option<Text>,
    max_body: Option<Text>,
    silent_after: Option<Text>,
}

/// Keys each source type accepts besides `type`, `name`, `format` and `silent_after`.
fn allowed_keys(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "file" => &["include", "exclude", "read_from"],
        "syslog" => &["udp", "tcp"],
        "http" => &["token", "max_body"],
        "stdin" => &[],
        _ => return None,
    })
}

pub(super) fn source(
    src: RawSource,
    index: usize,
    file: &Path,
    p: &mut Problems,
) -> Option<SourceSpec> {
    let kind = p.text(&src.kind, "sources.type")?;
    let Some(allowed) = allowed_keys(&kind) else {
        p.at(file, &src.kind, "sources.type", "expected file, syslog, http or stdin");
        return None;
    };
    let present: [(&str, Option<&Text>); 7] = [
        ("include", src.include.as_ref().and_then(|v| v.first())),
        ("exclude", src.exclude.as_ref().and_then(|v| v.first())),
        ("read_from", src.read_from.as_ref()),
        ("udp", src.udp.as_ref()),
        ("tcp", src.tcp.as_ref()),
        ("token", src.token.as_ref()),
        ("max_body", src.max_body.as_ref()),
    ];
    let mut ok = true;
    for (key, at) in present {
        if let Some(at) = at.filter(|_| !allowed.contains(&key)) {
            p.at(file, at, &format!("sources.{key}"), &format!("not a key of a {kind} source"));
            ok = false;
        }
    }
    let name = match &src.name {
        Some(t) => p.text(t, "sources.name")?,
        None => format!("{kind}-{}", index + 1),
    };
    let format = src.format.as_ref().and_then(|t| p.text(t, "sources.format"));
    let silent_after_ms = match &src.silent_after {
        None => Some(SILENT_AFTER_MS_DEFAULT),
        Some(t) => match silent_after(t, file, p) {
            Some(v) => v,
            None => {
                ok = false;
                None
            }
        },
    };
    let kind = match kind.as_str() {
        "file" => {
            let list = |v: Option<Vec<Text>>, key: &str, p: &mut Problems| -> Vec<String> {
                v.unwrap_or_default().iter().filter_map(|t| p.text(t, key)).collect()
            };
            let include = list(src.include, "sources.include", p);
            if include.is_empty() {
                p.at(
                    file,
                    &src.kind,
                    "sources.include",
                    "a file source needs at least one path or glob in `include`",
                );
                ok = false;
            }
            let exclude = list(src.exclude, "sources.exclude", p);
            for pat in include.iter().chain(&exclude) {
                if let Err(e) = glob::Pattern::new(pat) {
                    p.at(file, &src.kind, "sources.include", &format!("`{pat}`: {e}"));
                    ok = false;
                }
            }
            let read_from =
                match src.read_from.as_ref().map(|t| (t, p.text(t, "sources.read_from"))) {
                    None => ReadFrom::Beginning,
                    Some((_, Some(v))) if v == "beginning" => ReadFrom::Beginning,
                    Some((_, Some(v))) if v == "end" => ReadFrom::End,
                    Some((t, _)) => {
                        p.at(file, t, "sources.read_from", "expected beginning or end");
                        ReadFrom::Beginning
                    }
                };
            SourceKind::File { include, exclude, read_from }
        }
        "syslog" => {
            let addr = |t: &Option<Text>, key: &str, p: &mut Problems| {
                t.as_ref().and_then(|t| p.text(t, key).and_then(|v| socket(&v, t, key, file, p)))
            };
            let udp = addr(&src.udp, "sources.udp", p);
            let tcp = addr(&src.tcp, "sources.tcp", p);
            if src.udp.is_none() && src.tcp.is_none() {
                p.at(file, &src.kind, "sources", "a syslog source needs `udp`, `tcp` or both");
                ok = false;
            }
            SourceKind::Syslog { udp, tcp }
        }
        "http" => {
            let token = match &src.token {
                Some(t) => p.text(t, "sources.token").unwrap_or_default(),
                None => String::new(),
            };
            if token.len() < TOKEN_CHARS_MIN {
                let at = src.token.as_ref().unwrap_or(&src.kind);
                p.at(file, at, "sources.token", &format!("an http source needs a `token` of at least {TOKEN_CHARS_MIN} characters (use ${{ENV}} to keep it out of the file)"));
                ok = false;
            }
            let mut max_body_bytes = INGEST_BODY_BYTES_DEFAULT;
            if let Some(t) = &src.max_body {
                match p.text(t, "sources.max_body").map(|v| parse_size_bytes(&v)) {
                    Some(Ok(v)) if v > 0 && v <= INGEST_BODY_BYTES_MAX => max_body_bytes = v,
                    Some(Ok(_)) => p.at(
                        file,
                        t,
                        "sources.max_body",
                        &format!("must be between 1 byte and {} MiB", INGEST_BODY_BYTES_MAX >> 20),
                    ),
                    Some(Err(e)) => p.at(file, t, "sources.max_body", &e),
                    None => {}
                }
            }
            SourceKind::Http { token: Secret(token), max_body_bytes }
        }
        _ => SourceKind::Stdin,
    };
    ok.then_some(SourceSpec { name, format, kind, silent_after_ms })
}

/// `silent_after`: a duration of a second at least, or `0`/`off` for never; `None` when the
/// value is refused (the problem is added to `p`).
fn silent_after(t: &Text, file: &Path, p: &mut Problems) -> Option<Option<i64>> {
    const KEY: &str = "sources.silent_after";
    let v = p.text(t, KEY)?;
    if v.trim() == "off" || v.trim() == "0" {
        return Some(None);
    }
    match parse_duration_ms(&v) {
        Ok(ms) if ms >= SILENT_AFTER_MS_MIN => Some(Some(ms)),
        Ok(_) => {
            p.at(file, t, KEY, "must be at least 1s (silence is checked each second), or 0/off to watch no silence");
            None
        }
        Err(e) => {
            p.at(file, t, KEY, &format!("{e}; or 0/off to watch no silence"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn sources(yaml: &str) -> anyhow::Result<Vec<Option<i64>>> {
        let cfg = super::super::parse(yaml, Path::new("/etc/apiwatch.yaml"))?;
        Ok(cfg.live.sources.iter().map(|s| s.silent_after_ms).collect())
    }

    #[test]
    fn silent_after_defaults_to_ten_minutes_and_takes_durations_or_off() {
        let yaml = "sources:\n  - {type: stdin}\n  - {type: syslog, udp: '127.0.0.1:5514', silent_after: 2s}\n  - {type: syslog, name: b, tcp: '127.0.0.1:5515', silent_after: 'off'}\n  - {type: syslog, name: c, tcp: '127.0.0.1:5516', silent_after: '0'}\n";
        assert_eq!(sources(yaml).unwrap(), [Some(600_000), Some(2_000), None, None]);
    }

    #[test]
    fn a_bad_silent_after_is_refused_with_its_place_and_key() {
        for (value, why) in [("10", "give a unit"), ("500ms", "at least 1s"), ("soon", "duration")]
        {
            let yaml = format!("sources:\n  - {{type: stdin, silent_after: '{value}'}}\n");
            let e = format!("{:#}", sources(&yaml).unwrap_err());
            assert!(e.contains("apiwatch.yaml:2:") && e.contains("sources.silent_after"), "{e}");
            assert!(e.contains(why), "{value}: {e}");
        }
    }
}
