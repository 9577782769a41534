//! A deterministic generator of realistic API traffic with attacks in it, and its ground truth.
//!
//! The traffic is that of a web shop's API behind a gateway: browsers and mobile apps of users
//! who live in one country, an office behind one NAT address, travellers, admins, partners
//! pulling exports at night, search-engine crawlers and health checks; and, when asked, the
//! attacks apiwatch exists to catch (see [`SCENARIOS`]). Every record carries its label, and
//! [`Generator::truth`] says for each attack who did it and when.
//!
//! Invariants:
//! - the output is a pure function of [`TrafficConfig`]: no clock, no global randomness — the
//!   same seed gives the same bytes on every machine;
//! - records come out in event-time order (streams are merged with a heap; ties go to the
//!   stream created first);
//! - client addresses come from real allocations per country ([`geo`]), so GeoIP answers what
//!   the generator meant.
//!
//! Used by `apiwatch demo`, `apiwatch bench` and the end-to-end tests.
#![forbid(unsafe_code)]

mod attacks;
mod benign;
pub mod data;
mod files;
mod gen;
pub mod geo;
pub mod record;
pub mod rng;
mod write;

pub use files::{generate_files, generate_files_with, Manifest, ManifestFile, Outputs};
pub use gen::{daily_curve, BenignEntry, Generator, TruthEntry};
pub use record::{Consumer, HttpRecord, LoginRecord, Record, RecordKind, Token};
pub use write::{write_ecs, write_kong, write_kong_compact, write_nginx};

use apiwatch_core::time::{civil_to_ms, MINUTE_MS};

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct TrafficConfig {
    pub seed: u64,
    /// Event time of the first record, milliseconds since the Unix epoch.
    pub start_ms: i64,
    pub duration_ms: i64,
    /// Registered users (at least 24 are simulated: some play fixed parts).
    pub users: u32,
    /// Mean rate of the users' own API calls (the benign background), per second, over a
    /// day; the hour of day shapes it (0.4× at 03:00 UTC, 1.6× at 15:00 UTC). Crawlers,
    /// health checks, partners and attacks come on top.
    pub requests_per_s: f64,
    /// Whether to add the attack scenarios.
    pub attacks: bool,
    /// For memory benchmarks: spread the background over this many client addresses (each
    /// call draws one at random, so a user's address no longer stays put).
    pub distinct_ips: Option<u32>,
}

impl Default for TrafficConfig {
    /// One day from Monday 2026-11-23 00:00 UTC, 2,000 users, 20 calls/s, with attacks.
    fn default() -> Self {
        TrafficConfig {
            seed: 1,
            start_ms: civil_to_ms(2026, 11, 23, 0, 0, 0, 0),
            duration_ms: 24 * 60 * MINUTE_MS,
            users: 2_000,
            requests_per_s: 20.0,
            attacks: true,
            distinct_ips: None,
        }
    }
}

impl TrafficConfig {
    /// A short run for demonstrations: 20 minutes from a Monday 08:00 UTC (the office is
    /// logging in), 500 users, 15 calls/s, every attack compressed into the window.
    pub fn demo(seed: u64) -> TrafficConfig {
        TrafficConfig {
            seed,
            start_ms: civil_to_ms(2026, 11, 23, 8, 0, 0, 0),
            duration_ms: 20 * MINUTE_MS,
            users: 500,
            requests_per_s: 15.0,
            attacks: true,
            distinct_ips: None,
        }
    }

    pub fn end_ms(&self) -> i64 {
        self.start_ms.saturating_add(self.duration_ms.max(0))
    }
}

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// nginx `combined` plus `$request_time` (API calls).
    NginxCombined,
    /// Kong's file-log JSON, one object a line (API calls).
    KongJson,
    /// Kong's JSON trimmed to about 1.5 KB a line (see [`write_kong_compact`]).
    KongCompact,
    /// The application's ECS login events, one object a line.
    EcsApp,
}

impl OutputFormat {
    pub const ALL: [OutputFormat; 4] = [
        OutputFormat::NginxCombined,
        OutputFormat::KongJson,
        OutputFormat::KongCompact,
        OutputFormat::EcsApp,
    ];

    /// Appends the record's line in this format (nothing when the source would not log it).
    pub fn write(self, rec: &Record, out: &mut Vec<u8>) {
        match self {
            OutputFormat::NginxCombined => write_nginx(rec, out),
            OutputFormat::KongJson => write_kong(rec, out),
            OutputFormat::KongCompact => write_kong_compact(rec, out),
            OutputFormat::EcsApp => write_ecs(rec, out),
        }
    }

    /// The file [`generate_files`] writes it to.
    pub fn file_name(self) -> &'static str {
        match self {
            OutputFormat::NginxCombined => "gateway.log",
            OutputFormat::KongJson => "kong.jsonl",
            OutputFormat::KongCompact => "kong-compact.jsonl",
            OutputFormat::EcsApp => "auth.jsonl",
        }
    }

    /// apiwatch's name for the format (`FORMAT:PATH`).
    pub fn format_name(self) -> &'static str {
        match self {
            OutputFormat::NginxCombined => "nginx",
            OutputFormat::KongJson | OutputFormat::KongCompact => "kong",
            OutputFormat::EcsApp => "ecs",
        }
    }
}

/// A scenario: its label, the rule family expected to catch it, and where it fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scenario {
    pub name: &'static str,
    /// The detection family that should fire (`credential-stuffing`, `bola`, …); `""` for
    /// benign traffic.
    pub family: &'static str,
    /// OWASP API Security Top 10 2023 category.
    pub owasp: &'static str,
    /// MITRE ATT&CK technique, when one fits.
    pub technique: Option<&'static str>,
}

const fn sc(
    name: &'static str,
    family: &'static str,
    owasp: &'static str,
    technique: Option<&'static str>,
) -> Scenario {
    Scenario { name, family, owasp, technique }
}

/// Every label the generator uses, benign first.
pub const SCENARIOS: &[Scenario] = &[
    sc("benign/users", "", "", None),
    sc("benign/office", "", "", None),
    sc("benign/traveller", "", "", None),
    sc("benign/admin", "", "", None),
    sc("benign/batch", "", "", None),
    sc("benign/partner", "", "", None),
    sc("benign/crawler", "", "", None),
    sc("benign/healthcheck", "", "", None),
    sc("attack/password-guessing", "brute-force", "API2:2023", Some("T1110.001")),
    sc("attack/password-spraying", "password-spraying", "API2:2023", Some("T1110.003")),
    sc("attack/credential-stuffing", "credential-stuffing", "API2:2023", Some("T1110.004")),
    sc("attack/account-takeover", "account-takeover", "API2:2023", Some("T1110")),
    sc("attack/scanner", "scanner", "API8:2023", Some("T1595.002")),
    sc("attack/sensitive-files", "sensitive-file-probe", "API8:2023", Some("T1595.003")),
    sc("attack/forced-browsing", "forced-browsing", "API9:2023", Some("T1595.003")),
    sc("attack/sqli", "sqli", "API8:2023", Some("T1190")),
    sc("attack/xss", "xss", "API8:2023", Some("T1190")),
    sc("attack/command-injection", "command-injection", "API8:2023", Some("T1190")),
    sc("attack/path-traversal", "path-traversal", "API8:2023", Some("T1190")),
    sc("attack/ssti", "ssti", "API8:2023", Some("T1190")),
    sc("attack/nosql-injection", "nosql-injection", "API8:2023", Some("T1190")),
    sc("attack/ssrf", "ssrf", "API7:2023", Some("T1190")),
    sc("attack/jndi", "jndi-injection", "API8:2023", Some("T1190")),
    sc("attack/bola", "bola", "API1:2023", Some("T1213")),
    sc("attack/privilege-escalation", "privilege-escalation", "API5:2023", Some("T1078")),
    sc("attack/stolen-token", "token-reuse", "API2:2023", Some("T1550.001")),
    sc("attack/admin-new-country", "admin-new-country", "API2:2023", Some("T1078")),
    sc("attack/flood", "rate-flood", "API4:2023", Some("T1499.003")),
    sc("attack/5xx-spike", "error-spike", "API4:2023", None),
    sc("attack/bulk-exfiltration", "bulk-exfiltration", "API3:2023", Some("T1567")),
    sc("attack/slow-exfiltration", "slow-exfiltration", "API3:2023", Some("T1119")),
];

/// The scenario of a label.
pub fn scenario(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}
