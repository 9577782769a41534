//! `apiwatch gateway`: the live service with the inline proxy in front of one API, from flags
//! (`--upstream` and a few more) or from a configuration file with a `gateway:` section. The
//! flags are turned into the configuration text `run` would read, so they are validated by
//! the same code and a running flag set can be written out as a file (`--print-config`).

use crate::cli::GatewayArgs;
use std::path::Path;

/// What errors about the flags name as their place.
const FLAGS_PLACE: &str = "apiwatch gateway flags";

pub fn run(args: GatewayArgs) -> anyhow::Result<u8> {
    let (cfg, data_dir) = match &args.config {
        Some(file) => {
            let checked = crate::live::check(file)?;
            if checked.0.live.gateway.is_none() {
                anyhow::bail!(
                    "{}: no `gateway:` section (`apiwatch run` runs a configuration without one)",
                    file.display()
                );
            }
            checked
        }
        None => {
            let text = config_text(&args);
            if args.print_config {
                print!("{text}");
                return Ok(crate::exit::OK);
            }
            let place = Path::new(FLAGS_PLACE);
            crate::live::check_loaded(crate::config::parse(&text, place)?, place)?
        }
    };
    crate::live::run_checked(cfg, data_dir)
}

/// The configuration the flags stand for. Values are written as JSON strings, which YAML
/// reads as they are (no flag value can change the document's structure).
fn config_text(a: &GatewayArgs) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let targets: Vec<String> = a.upstream.iter().map(|u| q(u)).collect();
    let mut text = format!(
        "data_dir: {}\nlisten: {}\ngateway:\n  listeners: [{{address: {}}}]\n  upstreams: [{{name: {}, targets: [{}]}}]\n",
        q(&a.data_dir.display().to_string()),
        q(&a.api),
        q(&a.listen),
        q(&a.name),
        targets.join(", "),
    );
    if a.reject_undocumented {
        text.push_str("  shadow_api: reject\n");
    }
    if let Some(doc) = &a.openapi {
        text.push_str(&format!("openapi: {}\n", q(&doc.display().to_string())));
    }
    if a.enforce {
        text.push_str("decisions:\n  mode: enforce\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(line: &[&str]) -> GatewayArgs {
        match crate::cli::Cli::try_parse_from(line).unwrap().command {
            crate::cli::Command::Gateway(a) => a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn flags_become_a_configuration_run_would_accept() {
        let a = args(&[
            "apiwatch",
            "gateway",
            "--upstream",
            "http://127.0.0.1:8000",
            "--upstream",
            "http://127.0.0.1:8001",
            "--openapi",
            "api.yaml",
            "--reject-undocumented",
            "--enforce",
        ]);
        let text = config_text(&a);
        let cfg = crate::config::parse(&text, Path::new(FLAGS_PLACE)).unwrap();
        let g = cfg.live.gateway.as_ref().unwrap();
        assert_eq!(g.upstreams[0].targets.len(), 2);
        assert_eq!(g.listeners[0].address, "127.0.0.1:8080");
        assert_eq!(g.shadow_api, apiwatch_gateway::ShadowApi::Reject);
        assert!(cfg.openapi.is_some());
        crate::live::check_loaded(cfg, Path::new(FLAGS_PLACE)).unwrap();
    }

    #[test]
    fn a_value_cannot_inject_configuration() {
        let a =
            args(&["apiwatch", "gateway", "--upstream", "http://x:1\"]}]\nopenapi: /etc/passwd"]);
        // Read as one (bad) target: no `openapi` key appeared.
        let err = crate::config::parse(&config_text(&a), Path::new(FLAGS_PLACE)).unwrap_err();
        let err = err.to_string();
        assert!(err.contains("apiwatch gateway flags: gateway.upstreams[0].targets[0]"), "{err}");
        assert!(err.contains("is not a URL"), "{err}");
    }

    #[test]
    fn reject_without_a_document_is_refused() {
        let line = ["apiwatch", "gateway", "--upstream", "http://127.0.0.1:1"];
        let with_reject = [&line[..], &["--reject-undocumented"]].concat();
        assert!(crate::cli::Cli::try_parse_from(with_reject).is_err(), "the flags say it");
        let mut a = args(&line);
        a.reject_undocumented = true;
        let cfg = crate::config::parse(&config_text(&a), Path::new(FLAGS_PLACE)).unwrap();
        let err = crate::live::check_loaded(cfg, Path::new(FLAGS_PLACE)).unwrap_err();
        assert!(err.to_string().contains("needs `openapi:`"), "{err:#}");
    }
}
