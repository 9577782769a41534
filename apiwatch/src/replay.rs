//! `apiwatch replay`: arguments and configuration validated into a run, inputs opened and their
//! formats detected, the pipeline run, alerts written and the summary printed.

use crate::cli::{OutputFormat, ReplayArgs};
use crate::config::{self, ReplayConfig};
use crate::formats::Formats;
use crate::input::{self, Chunker, InputSpec};
use crate::pipeline::{self, PreparedInput, RunSettings};
use crate::summary::Summary;
use crate::{exit, key, rules_cmd};
use anyhow::Context;
use apiwatch_core::escape::for_terminal;
use apiwatch_core::redact::Redactor;
use apiwatch_parse::detect::DETECT_LINES_MAX;
use apiwatch_parse::{CustomFormat, Decoder};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything a replay needs, validated.
pub struct ReplayPlan {
    pub inputs: Vec<InputSpec>,
    pub custom_formats: Vec<CustomFormat>,
    /// Built while the rules compiled; its error is reported after the key's, as if built
    /// in turn.
    pub enricher: Result<apiwatch_enrich::Enricher, apiwatch_enrich::EnrichError>,
    pub rules: apiwatch_detect::RuleSet,
    pub limits: apiwatch_detect::Limits,
    pub threads: usize,
    pub key_file: PathBuf,
}

pub fn plan(args: &ReplayArgs) -> anyhow::Result<ReplayPlan> {
    let cfg = match &args.config {
        Some(f) => config::load(f)?,
        None => ReplayConfig::default(),
    };
    let custom_formats = cfg.formats.clone();
    let is_format = |f: &str| {
        apiwatch_parse::builtin(f).is_some() || custom_formats.iter().any(|c| c.name() == f)
    };
    let inputs: Vec<InputSpec> = args
        .inputs
        .iter()
        .enumerate()
        .map(|(i, a)| input::parse_arg(i as u32, a, is_format))
        .collect();
    if inputs.iter().filter(|i| i.path.is_none()).count() > 1 {
        anyhow::bail!("stdin (`-`) can be given only once");
    }
    let enrich = enrich_config(&cfg, args.geoip.clone(), args.asn.clone(), args.openapi.clone());
    let mut rule_dirs = args.rules.clone();
    rule_dirs.extend(cfg.rules);
    let with_builtin = rule_dirs.is_empty() || args.with_builtin || cfg.with_builtin_rules;
    // The GeoIP databases are read whole (tens of MB) while the rules compile (YAML, regexes,
    // the injection detectors): start-up takes the longer of the two, not their sum.
    let (rules, enricher) = std::thread::scope(|s| {
        let enricher = s.spawn(|| apiwatch_enrich::Enricher::build(&enrich));
        let rules = rules_cmd::load_rules(&rule_dirs, with_builtin);
        (rules, enricher.join().expect("building the enricher does not panic"))
    });
    let rules = rules?;
    let mut limits = apiwatch_detect::Limits::default();
    if let Some(m) = cfg.max_keys_per_rule {
        limits.max_keys_per_rule = m;
    }
    let threads = match args.threads {
        Some(0) => anyhow::bail!("--threads must be at least 1"),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    Ok(ReplayPlan {
        inputs,
        custom_formats,
        enricher,
        rules,
        limits,
        threads,
        key_file: args.key_file.clone().unwrap_or_else(key::default_path),
    })
}

/// Enrichment settings from the configuration; command-line paths take precedence.
pub fn enrich_config(
    cfg: &ReplayConfig,
    geoip: Option<PathBuf>,
    asn: Option<PathBuf>,
    openapi: Option<PathBuf>,
) -> apiwatch_enrich::EnrichConfig {
    let mut enrich = apiwatch_enrich::EnrichConfig {
        geoip_city: geoip.or_else(|| cfg.geoip.clone()),
        geoip_asn: asn.or_else(|| cfg.asn.clone()),
        openapi: openapi.or_else(|| cfg.openapi.clone()),
        ..Default::default()
    };
    if let Some(p) = &cfg.trusted_proxies {
        enrich.trusted_proxies = p.clone();
    }
    enrich
}

/// Why an input could not be used; reported, then the run goes on with the others.
struct InputFailure {
    display: String,
    why: String,
}

fn prepare(spec: InputSpec, formats: &Formats) -> Result<PreparedInput, InputFailure> {
    let fail = |why: String| InputFailure { display: spec.display.clone(), why };
    let read_bytes = Arc::new(AtomicU64::new(0));
    let opened = input::open(&spec, Arc::clone(&read_bytes))
        .map_err(|e| fail(format!("cannot open: {e}")))?;
    let mut chunker = Chunker::new(opened.reader);
    let mut first_chunks = Vec::new();
    // Read until there are enough lines to recognise the format (or the input ends).
    let mut sample_lines = 0usize;
    while sample_lines < DETECT_LINES_MAX {
        match chunker.next_chunk() {
            Ok(Some(c)) => {
                sample_lines += input::lines(&c).count();
                first_chunks.push(c);
            }
            Ok(None) => break,
            Err(e) => return Err(fail(format!("cannot read: {e}"))),
        }
    }
    let (format, decoder): (String, Arc<dyn Decoder>) = match &spec.format {
        Some(name) => {
            formats.named(name).expect("FORMAT: prefixes are checked against known names")
        }
        None => {
            let lines: Vec<&[u8]> = first_chunks
                .iter()
                .flat_map(|c| input::lines(c).map(|(_, l)| l))
                .take(DETECT_LINES_MAX)
                .collect();
            if lines.is_empty() {
                // An empty input: nothing to decode, any decoder will do.
                ("empty".to_string(), formats.first())
            } else {
                match formats.detect(lines) {
                    Some(found) => found,
                    None => {
                        return Err(fail(format!(
                            "no known format decodes its first lines (tried {}); name one with FORMAT:PATH",
                            formats.names().join(", ")
                        )))
                    }
                }
            }
        }
    };
    Ok(PreparedInput {
        spec,
        decoder,
        format,
        compression: opened.compression,
        size_bytes: opened.size_bytes,
        chunker,
        first_chunks,
        read_bytes,
    })
}

/// Runs a replay; returns the exit status.
pub fn run(args: ReplayArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let plan = plan(&args)?;
    if let Some(dir) = &args.store {
        return crate::retro::run(&args, plan, dir, started);
    }
    let key = key::load_or_create(&plan.key_file)?;
    let redactor = Redactor::new(key);
    let enricher = Arc::new(plan.enricher.context("enrichment")?);
    let formats = Formats::new(&plan.custom_formats);

    let mut prepared = Vec::new();
    let mut failures = Vec::new();
    for spec in plan.inputs.clone() {
        match prepare(spec, &formats) {
            Ok(p) => prepared.push(p),
            Err(f) => failures.push(f),
        }
    }
    for f in &failures {
        eprintln!("error: input {}: {}", for_terminal(&f.display), for_terminal(&f.why));
    }

    let total_bytes: Option<u64> = prepared.iter().map(|p| p.size_bytes).sum();
    let counters: Vec<Arc<AtomicU64>> =
        prepared.iter().map(|p| Arc::clone(&p.read_bytes)).collect();
    let events_done = Arc::new(AtomicU64::new(0));
    let show_progress = !args.no_progress && std::io::stderr().is_terminal();
    let finished = Arc::new(AtomicBool::new(false));
    let progress = show_progress.then(|| {
        let (events_done, finished) = (Arc::clone(&events_done), Arc::clone(&finished));
        std::thread::spawn(move || {
            crate::summary::progress_loop(total_bytes, counters, events_done, finished)
        })
    });

    let threads = plan.threads;
    // Decoders also run the request scans, so a shard's share of the work per event is about
    // half (measured on 2 cores: one shard takes ~50% of the CPU time, each of the 2 decoders
    // ~21%; a second shard adds ~10% of total CPU, as each pays its own per-event checks):
    // half as many shards as decoders.
    let shards = (threads / 2).max(1);
    let rules = Arc::new(plan.rules);
    let settings = RunSettings {
        enricher,
        redactor,
        rules: Arc::clone(&rules),
        limits: plan.limits.clone(),
        workers_per_input: threads,
        shards,
    };
    let output = pipeline::run(prepared, settings, events_done);
    finished.store(true, Ordering::Relaxed);
    if let Some(p) = progress {
        let _ = p.join();
    }

    if let Some(path) = &args.alerts_out {
        write_alerts(path, &output.alerts)?;
    }
    let mut summary = Summary::build(&output, &rules, started.elapsed());
    for f in &failures {
        summary.add_failed_input(&f.display, &f.why);
    }
    print_summary(&summary, args.output)?;
    let input_failed = !failures.is_empty() || output.inputs.iter().any(|i| i.read_error.is_some());
    Ok(if input_failed { exit::INPUT } else { exit::OK })
}

/// Writes the summary in the chosen format.
pub fn print_summary(summary: &Summary, output: OutputFormat) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, summary)?;
            writeln!(out)?;
        }
        OutputFormat::Text => summary.write_text(&mut out)?,
    }
    Ok(())
}

pub fn write_alerts(path: &std::path::Path, alerts: &[apiwatch_core::Alert]) -> anyhow::Result<()> {
    let f =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    for a in alerts {
        writeln!(w, "{}", a.to_json_line())?;
    }
    w.flush().with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// How often the progress line redraws.
pub const PROGRESS_TICK: Duration = Duration::from_millis(200);
