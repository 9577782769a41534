//! `apiwatch generate` (traffic with attacks in it, and its ground truth) and `apiwatch demo`
//! (generate, replay, and compare what was caught with what was done; `--live` runs the live
//! service on traffic generated as it goes, in `demo_live.rs`).

use crate::cli::{DemoArgs, GenerateArgs, OutputFormat, ReplayArgs};
use anyhow::Context;
use apiwatch_core::escape::for_terminal;
use apiwatch_core::time::{format_rfc3339_ms, parse_rfc3339_ms, HOUR_MS};
use apiwatch_traffic::{generate_files_with, Outputs, TrafficConfig, TruthEntry};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn outputs(formats: &str) -> anyhow::Result<Outputs> {
    let mut o = Outputs { gateway: false, kong: false, kong_compact: false, auth: false };
    for f in formats.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        match f {
            "nginx" => o.gateway = true,
            "kong" => o.kong = true,
            "kong-compact" => o.kong_compact = true,
            "ecs" => o.auth = true,
            other => {
                anyhow::bail!(
                    "--formats: unknown format `{other}` (expected nginx, kong, kong-compact, ecs)"
                )
            }
        }
    }
    Ok(o)
}

fn config(
    hours: u32,
    rate: f64,
    users: u32,
    seed: u64,
    attacks: bool,
    distinct_ips: Option<u32>,
) -> anyhow::Result<TrafficConfig> {
    if hours == 0 || !(rate > 0.0 && rate.is_finite()) || users == 0 {
        anyhow::bail!("--hours, --rate and --users must be positive");
    }
    Ok(TrafficConfig {
        seed,
        duration_ms: i64::from(hours) * HOUR_MS,
        users,
        requests_per_s: rate,
        attacks,
        distinct_ips,
        ..TrafficConfig::default()
    })
}

pub fn generate(args: GenerateArgs) -> anyhow::Result<u8> {
    let cfg =
        config(args.hours, args.rate, args.users, args.seed, !args.no_attacks, args.distinct_ips)?;
    let manifest = generate_files_with(&cfg, &args.dir, outputs(&args.formats)?)
        .with_context(|| format!("cannot write traffic into {}", args.dir.display()))?;
    for f in &manifest.files {
        eprintln!("{}  {} lines  {} bytes  ({})", f.path.display(), f.lines, f.bytes, f.format);
    }
    eprintln!(
        "{} attack scenarios, {} attack records",
        manifest.truth.len(),
        manifest.attack_records
    );
    Ok(crate::exit::OK)
}

/// Does an alert name the scenario's actor, within (or shortly after) its time? Application-
/// wide actors (the login action, a route) are named by alerts on other attacks too, so the
/// alert's span must overlap the scenario's, give or take an hour (baselines report at a
/// bucket's end).
fn caught_by<'a>(t: &TruthEntry, alerts: &'a [serde_json::Value]) -> BTreeSet<&'a str> {
    let mut rules = BTreeSet::new();
    let time = |v: &serde_json::Value| v.as_str().and_then(|s| parse_rfc3339_ms(s).ok());
    for a in alerts {
        let names_actor = a["actor"].as_object().is_some_and(|actor| {
            actor.iter().any(|(k, v)| {
                t.actor.iter().any(|(f, vals)| {
                    f == k && v.as_str().is_some_and(|v| vals.iter().any(|x| x == v))
                })
            })
        });
        let in_time = match (time(&a["first_seen"]), time(&a["last_seen"])) {
            (Some(first), Some(last)) => {
                first <= t.last_ms + HOUR_MS && last >= t.first_ms - HOUR_MS
            }
            _ => true,
        };
        if names_actor && in_time {
            rules.insert(a["rule"].as_str().unwrap_or("?"));
        }
    }
    rules
}

pub fn run(args: DemoArgs) -> anyhow::Result<u8> {
    if args.live {
        return crate::demo_live::run(args);
    }
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("apiwatch-demo-{}", std::process::id()))
    });
    // Three calls a second on average: enough for every scenario's shape, small files.
    let cfg = config(args.hours, 3.0, 1_000, 42, true, None)?;
    println!(
        "Generating {} hours of API traffic with attacks in it into {} ...",
        args.hours,
        dir.display()
    );
    let manifest = generate_files_with(
        &cfg,
        &dir,
        Outputs { gateway: true, kong: false, kong_compact: false, auth: true },
    )?;
    let geoip =
        args.geoip.clone().or_else(|| std::env::var_os("APIWATCH_GEOIP").map(PathBuf::from));
    if geoip.is_none() {
        println!("(no GeoIP database: travel and new-country rules cannot see countries; scripts/demo installs one)");
    }
    let alerts_path = dir.join("alerts.jsonl");
    let replay = ReplayArgs {
        inputs: vec![path_arg(&dir, "gateway.log"), path_arg(&dir, "auth.jsonl")],
        config: None,
        geoip,
        asn: None,
        openapi: None,
        rules: Vec::new(),
        with_builtin: false,
        alerts_out: Some(alerts_path.clone()),
        output: OutputFormat::Text,
        threads: None,
        key_file: None,
        no_progress: false,
        store: None,
        since: None,
        until: None,
    };
    println!(
        "Replaying: apiwatch replay {} {} --alerts-out {}\n",
        replay.inputs[0],
        replay.inputs[1],
        alerts_path.display()
    );
    let status = crate::replay::run(replay)?;
    let alerts: Vec<serde_json::Value> = std::fs::read_to_string(&alerts_path)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("reading back the alerts")?;

    println!("\nWhat was done, and what apiwatch said about it:");
    let mut caught = 0;
    for t in &manifest.truth {
        let rules = caught_by(t, &alerts);
        if !rules.is_empty() {
            caught += 1;
        }
        let verdict = if rules.is_empty() {
            "MISSED".to_string()
        } else {
            rules.into_iter().collect::<Vec<_>>().join(", ")
        };
        println!(
            "  {:<30} {}  {:<40}  {}",
            t.scenario,
            format_rfc3339_ms(t.first_ms),
            for_terminal(&actor_text(t)),
            verdict
        );
    }
    println!(
        "\n{caught} of {} attack scenarios caught; {} alerts in all.",
        manifest.truth.len(),
        alerts.len()
    );
    if let Some(first) =
        alerts.iter().find(|a| a["severity"] == "critical").or_else(|| alerts.first())
    {
        println!("\nOne alert, as written to {}:", alerts_path.display());
        let mut shown = first.clone();
        if let Some(ev) = shown["evidence"].as_array_mut() {
            ev.truncate(1);
        }
        println!("{}", serde_json::to_string_pretty(&shown)?);
    }
    Ok(status)
}

fn path_arg(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

fn actor_text(t: &TruthEntry) -> String {
    t.actor
        .iter()
        .map(|(k, v)| {
            let shown: Vec<&str> = v.iter().take(2).map(String::as_str).collect();
            let more = if v.len() > 2 { format!(" +{}", v.len() - 2) } else { String::new() };
            format!("{k}={}{more}", shown.join(","))
        })
        .collect::<Vec<_>>()
        .join(" ")
}
