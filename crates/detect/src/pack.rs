//! The built-in rule pack: the YAML files under `crates/detect/rules/`, compiled into the
//! binary. They are written in the same language users write (see `docs/rules.md`), and each
//! carries its own fire and quiet test cases (`apiwatch rules test`).
//!
//! A plain list rather than a build script, so that adding a rule is one visible line; the
//! `pack` integration test fails when a file under `rules/` is missing here.

/// Pairs each path (relative to the crate) with the file's text, read at compile time.
macro_rules! pack_files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../", $path)))),*]
    };
}

/// Every file of the built-in pack, as (name, YAML text), in path order.
const SOURCES: &[(&str, &str)] = pack_files![
    "rules/abuse/bulk-bytes-api-key.yaml",
    "rules/abuse/bulk-bytes-consumer.yaml",
    "rules/abuse/bulk-daily-step-up.yaml",
    "rules/abuse/bulk-records-user.yaml",
    "rules/abuse/network-flood.yaml",
    "rules/abuse/new-sensitive-endpoint.yaml",
    "rules/abuse/route-flood.yaml",
    "rules/abuse/server-errors-route.yaml",
    "rules/abuse/server-errors-service.yaml",
    "rules/access/admin-denied-non-admin.yaml",
    "rules/access/bola-denied-walk.yaml",
    "rules/access/bola-object-walk-address.yaml",
    "rules/access/bola-object-walk.yaml",
    "rules/auth/account-takeover.yaml",
    "rules/auth/credential-stuffing-many-accounts.yaml",
    "rules/auth/gateway-login-failure-ratio.yaml",
    "rules/auth/gateway-login-failures-baseline.yaml",
    "rules/auth/login-failure-ratio.yaml",
    "rules/auth/login-failures-baseline.yaml",
    "rules/auth/login-failures-from-address.yaml",
    "rules/auth/password-guessing-user.yaml",
    "rules/identity/admin-new-country.yaml",
    "rules/identity/token-impossible-travel.yaml",
    "rules/identity/user-impossible-travel.yaml",
    "rules/injection/command.yaml",
    "rules/injection/crlf.yaml",
    "rules/injection/jndi.yaml",
    "rules/injection/nosql.yaml",
    "rules/injection/path-traversal.yaml",
    "rules/injection/sqli.yaml",
    "rules/injection/ssrf.yaml",
    "rules/injection/template.yaml",
    "rules/injection/xss.yaml",
    "rules/recon/forced-browsing.yaml",
    "rules/recon/scanner-user-agent.yaml",
    "rules/recon/sensitive-file-exposed.yaml",
    "rules/recon/sensitive-file-probe.yaml",
    "rules/recon/shadow-api-endpoint.yaml",
];

/// The files of the built-in pack as (file name such as `rules/auth/account-takeover.yaml`,
/// YAML text), for `RuleSet::from_sources`.
pub fn builtin_sources() -> Vec<(&'static str, &'static str)> {
    SOURCES.to_vec()
}
