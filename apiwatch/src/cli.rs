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
    /// Run the live monitor: follow sources, store every event, detect and alert.
    Run(RunArgs),
    /// Run the live monitor as an inline gateway in front of an API: every call forwarded,
    /// recorded, inspected and checked against decisions.
    Gateway(GatewayArgs),
    /// Validate a configuration file and exit (0 when valid).
    CheckConfig {
        /// The configuration file.
        file: PathBuf,
    },
    /// Check the event store's hash chain and signatures; name the first block altered,
    /// removed or reordered.
    Verify(VerifyArgs),
    /// Search stored events by time range and filters (`source.ip=10.0.0.0/8 AND
    /// http.response.status_code>=500`).
    Search(SearchArgs),
    /// Decisions (block, throttle, lock, revoke, step-up) over the service's API.
    #[command(subcommand)]
    Decisions(crate::client::DecisionsCommand),
    /// Alerts over the service's API.
    #[command(subcommand)]
    Alerts(crate::client::AlertsCommand),
    /// Incidents over the service's API.
    #[command(subcommand)]
    Incidents(crate::client::IncidentsCommand),
    /// API tokens: create one locally, list or revoke over the API.
    #[command(subcommand)]
    Tokens(crate::client::TokensCommand),
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Filters, ANDed: FIELD=VALUE (CIDR, wildcards * ?), !=, >, >=, <, <=, ~= (regex),
    /// FIELD EXISTS, joined with AND, OR, NOT and parentheses.
    #[arg(value_name = "FILTER")]
    pub filters: Vec<String>,
    /// The configuration of the service (its `data_dir` and storage encryption key).
    #[arg(long, short = 'c', value_name = "FILE", required_unless_present = "data_dir")]
    pub config: Option<PathBuf>,
    /// The data directory, when not taken from --config (unencrypted stores only).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// From: RFC 3339, epoch ms, or a duration back from now (2h, 7d).
    #[arg(long)]
    pub since: Option<String>,
    /// Until (same forms as --since).
    #[arg(long)]
    pub until: Option<String>,
    /// Print events as ECS JSON Lines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Count events by a field's values, most frequent first.
    #[arg(long, value_name = "FIELD")]
    pub count_by: Option<String>,
    /// Events (or, with --count-by, values; default 20) shown at most.
    #[arg(long)]
    pub limit: Option<u64>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Configuration file (sources, storage, rules, enrichment, listen address).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
}

#[derive(Debug, Args)]
pub struct GatewayArgs {
    /// A configuration file with a `gateway:` section (as `run` takes), instead of the flags.
    #[arg(long, short = 'c', value_name = "FILE", conflicts_with = "upstream")]
    pub config: Option<PathBuf>,
    /// Where calls go: `http://host:port`; repeat it for several instances of the API.
    #[arg(long, value_name = "URL", required_unless_present = "config")]
    pub upstream: Vec<String>,
    /// Where clients connect.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Where the service's own API, `/health` and `/metrics` listen (loopback unless TLS is
    /// configured in a file).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
    pub api: String,
    /// Where events, alerts and decisions are kept.
    #[arg(long, value_name = "DIR", default_value = "apiwatch-data")]
    pub data_dir: PathBuf,
    /// The API's OpenAPI document: routes named by their templates, undocumented calls
    /// labelled (shadow API).
    #[arg(long, value_name = "FILE")]
    pub openapi: Option<PathBuf>,
    /// Refuse calls the OpenAPI document does not describe (404, or 405 for a method).
    #[arg(long, requires = "openapi")]
    pub reject_undocumented: bool,
    /// Enforce every rule's decision at once (default: proposed, waiting for an administrator).
    #[arg(long)]
    pub enforce: bool,
    /// The upstream's name in events and metrics.
    #[arg(long, value_name = "NAME", default_value = "api")]
    pub name: String,
    /// Print the configuration the flags stand for, and exit (a start for a file).
    #[arg(long)]
    pub print_config: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The data directory (`data_dir` of the configuration).
    #[arg(value_name = "DATA_DIR")]
    pub data_dir: PathBuf,
    /// Report format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
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
    #[arg(required_unless_present = "store", value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Replay events from an event store instead (its data directory; an encrypted store
    /// needs --config): run new or changed rules over stored history.
    #[arg(long, value_name = "DATA_DIR", conflicts_with = "inputs")]
    pub store: Option<PathBuf>,
    /// With --store: events from this time (RFC 3339, epoch ms, or a duration back from now).
    #[arg(long, requires = "store")]
    pub since: Option<String>,
    /// With --store: events until this time.
    #[arg(long, requires = "store")]
    pub until: Option<String>,
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
    /// Where to keep the generated files (default: a temporary folder); with --live, the
    /// followed logs, the event store and the state database (a folder named here is kept).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// MaxMind City database (default: the GeoLite2 database of the `maxminddb-geolite2`
    /// Python package when installed).
    #[arg(long, value_name = "MMDB")]
    pub geoip: Option<PathBuf>,
    /// Run the live service instead, fed with generated traffic as it happens, and watch it
    /// in the web dashboard (Ctrl-C stops it).
    #[arg(long)]
    pub live: bool,
    /// With --live: where the API and the dashboard listen.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", requires = "live")]
    pub listen: std::net::SocketAddr,
    /// With --live: the administrator's API token (default: a random one, printed at start).
    #[arg(long, value_name = "TOKEN", env = "APIWATCH_DEMO_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// With --live: the users' API calls per second (crawlers, health checks, partners and
    /// attacks come on top).
    #[arg(long, value_name = "N", default_value_t = 50.0, requires = "live")]
    pub rate: f64,
    /// With --live: keep the temporary folder (events, state database, logs) at exit.
    #[arg(long, requires = "live")]
    pub keep: bool,
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
        Command::Run(args) => crate::live::run(&args.config),
        Command::Gateway(args) => crate::gateway_cmd::run(args),
        Command::CheckConfig { file } => crate::store_cmd::check_config(&file),
        Command::Verify(args) => crate::store_cmd::verify(args),
        Command::Search(args) => crate::search_cmd::run(args),
        Command::Decisions(c) => crate::client::decisions(c),
        Command::Alerts(c) => crate::client::alerts(c),
        Command::Incidents(c) => crate::client::incidents(c),
        Command::Tokens(c) => crate::client::tokens(c),
    }
}
