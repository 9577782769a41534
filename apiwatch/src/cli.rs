//! Command-line arguments, validated into typed settings before anything runs.

use crate::exit;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// API security monitoring: replay gateway and application logs into alerts.
#[derive(Debug, Parser)]
#[command(name = "apiwatch", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay log files through decoding, enrichment, redaction and detection.
    Replay(ReplayArgs),
    /// List or test detection rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Generate traffic with attacks in it, replay it and show what was caught.
    Demo(DemoArgs),
    /// Write generated traffic (nginx, Kong and application logs, plus the ground truth).
    Generate(GenerateArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Inputs: paths, `-` for stdin, or FORMAT:PATH to name the format (gzip and zstd are read
    /// directly).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Configuration file (formats, enrichment, rules, limits).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// MaxMind City or Country database.
    #[arg(long, value_name = "MMDB")]
    pub geoip: Option<PathBuf>,
    /// MaxMind ASN database.
    #[arg(long, value_name = "MMDB")]
    pub asn: Option<PathBuf>,
    /// OpenAPI document (JSON or YAML) for route templates and operation ids.
    #[arg(long, value_name = "FILE")]
    pub openapi: Option<PathBuf>,
    /// Rule folders (replace the built-in pack unless --with-builtin).
    #[arg(long, value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Also load the built-in pack when --rules is given.
    #[arg(long)]
    pub with_builtin: bool,
    /// Write alerts here as JSON Lines.
    #[arg(long, value_name = "FILE")]
    pub alerts_out: Option<PathBuf>,
    /// Summary format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Worker threads (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// File holding the installation's pseudonym key (created when missing).
    #[arg(long, value_name = "FILE", env = "APIWATCH_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// Never draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Show the rules (the built-in pack, or DIR).
    List {
        dir: Option<PathBuf>,
        #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Run every rule's own test cases (the built-in pack, or DIR).
    Test {
        dir: Option<PathBuf>,
        #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Hours of traffic to generate (three days give the baselines enough history to catch
    /// floods and bulk pulls).
    #[arg(long, default_value_t = 72)]
    pub hours: u32,
    /// Where to keep the generated files (default: a temporary folder).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// MaxMind City database (default: the GeoLite2 database of the `maxminddb-geolite2`
    /// Python package when installed).
    #[arg(long, value_name = "MMDB")]
    pub geoip: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Hours of traffic.
    #[arg(long, default_value_t = 24)]
    pub hours: u32,
    /// Benign requests per second (on average over the day).
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Number of users.
    #[arg(long, default_value_t = 2000)]
    pub users: u32,
    /// Spread benign traffic over this many distinct addresses (memory benchmarks).
    #[arg(long)]
    pub distinct_ips: Option<u32>,
    /// Leave attacks out.
    #[arg(long)]
    pub no_attacks: bool,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Which logs to write: nginx (gateway.log), kong (kong.jsonl), kong-compact
    /// (kong-compact.jsonl: Kong's log trimmed to about 1.5 KB a line), ecs (auth.jsonl).
    #[arg(long, default_value = "nginx,kong,ecs")]
    pub formats: String,
}

/// Parses arguments; on failure prints clap's message and returns the exit status (usage
/// errors are status 1, as documented; `--help` and `--version` are 0).
pub fn parse() -> Result<Cli, u8> {
    Cli::try_parse().map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            exit::USAGE
        } else {
            exit::OK
        }
    })
}

pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Replay(args) => crate::replay::run(args),
        Command::Rules(cmd) => crate::rules_cmd::run(cmd),
        Command::Demo(args) => crate::demo::run(args),
        Command::Generate(args) => crate::demo::generate(args),
    }
}
