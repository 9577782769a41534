//! `apiwatch demo --live`: the live service, run by `run`'s own code on a configuration
//! written from the flags, following two logs that a feeder thread keeps writing as a
//! gateway (nginx) and the application (ECS login events) would: the users' calls at `--rate`
//! a second, and the attack scenarios replayed one a minute, each compressed to under a
//! minute, round after round with fresh attacker addresses. Every line's event time is the
//! wall clock when it is written, so charts, source health and lag look as they would on a
//! real gateway.

use crate::cli::DemoArgs;
use crate::config::live::{Secret, TOKEN_CHARS_MIN};
use anyhow::Context;
use apiwatch_core::time::{format_rfc3339_ms, DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS};
use apiwatch_traffic::geo::{self, Prefix};
use apiwatch_traffic::rng::Rng;
use apiwatch_traffic::{
    daily_curve, write_ecs, write_nginx, Generator, Record, RecordKind, TrafficConfig,
};
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The simulated shop's seed: the same users in every run, and the attack rounds' victims
/// are these users (so a victim calls from the home the dashboard already knows).
const SEED: u64 = 42;
/// Registered users.
const USERS: u32 = 2_000;
/// Largest `--rate`: the feeder and the service share the machine with whoever watches.
const RATE_MAX: f64 = 5_000.0;
/// Simulated time of one generator of the users' traffic; the next starts where it ended.
const BENIGN_CHUNK_MS: i64 = DAY_MS;
/// Simulated time the attack scenarios are drawn from (then compressed; see [`PLAY_MS_MAX`]).
const ROUND_SOURCE_MS: i64 = 2 * HOUR_MS;
/// When the first attack starts after the feed does: the service has started by then.
const FIRST_ATTACK_DELAY_MS: i64 = 5 * SECOND_MS;
/// One scenario starts each slot ...
const SLOT_MS: i64 = MINUTE_MS;
/// ... and is played within this time: longer ones are compressed, the flood is cut.
const PLAY_MS_MAX: i64 = 40 * SECOND_MS;
/// How often the feeder writes.
const TICK: Duration = Duration::from_millis(100);
/// Traffic further behind the clock than this is skipped, not written in one burst (the
/// machine was suspended, or the feeder starved).
const CATCH_UP_MS_MAX: i64 = 5 * SECOND_MS;
/// What errors about the flags name as their place.
const FLAGS_PLACE: &str = "apiwatch demo --live flags";

/// The order scenarios come in within a round: those caught at once first. The slow
/// exfiltration (a record a minute for hours) is left out: it cannot be compressed.
const ORDER: &[&str] = &[
    "attack/sensitive-files",
    "attack/scanner",
    "attack/password-guessing",
    "attack/sqli",
    "attack/credential-stuffing",
    "attack/xss",
    "attack/bola",
    "attack/command-injection",
    "attack/password-spraying",
    "attack/jndi",
    "attack/forced-browsing",
    "attack/account-takeover",
    "attack/path-traversal",
    "attack/stolen-token",
    "attack/ssti",
    "attack/privilege-escalation",
    "attack/nosql-injection",
    "attack/admin-new-country",
    "attack/ssrf",
    "attack/flood",
    "attack/5xx-spike",
    "attack/bulk-exfiltration",
];

/// Which scenario's records are cut to [`PLAY_MS_MAX`] rather than compressed (a flood
/// compressed would be many times its rate).
const CUT_NOT_COMPRESSED: &str = "attack/flood";

pub fn run(args: DemoArgs) -> anyhow::Result<u8> {
    if !(args.rate > 0.0 && args.rate <= RATE_MAX) {
        anyhow::bail!("--rate must be above 0 and at most {RATE_MAX}");
    }
    let token = match args.token.clone() {
        Some(t) if t.len() >= TOKEN_CHARS_MIN => t,
        Some(_) => anyhow::bail!("--token must be at least {TOKEN_CHARS_MIN} characters"),
        None => random_token(),
    };
    let (dir, remove_at_exit) = match &args.dir {
        Some(d) => (std::path::absolute(d).context("--dir")?, false),
        None => (new_temp_dir()?, !args.keep),
    };
    let result = run_in(&args, &dir, token);
    if remove_at_exit {
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            eprintln!("cannot remove {}: {e}", dir.display());
        }
    } else {
        eprintln!("kept {}", dir.display());
    }
    result
}

fn run_in(args: &DemoArgs, dir: &Path, token: String) -> anyhow::Result<u8> {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("cannot create {}", logs.display()))?;
    let gateway_log = logs.join("gateway.log");
    let auth_log = logs.join("auth.jsonl");
    let geoip =
        args.geoip.clone().or_else(|| std::env::var_os("APIWATCH_GEOIP").map(PathBuf::from));
    let text = config_text(dir, &gateway_log, &auth_log, args.listen, geoip.as_deref());
    let place = Path::new(FLAGS_PLACE);
    let mut cfg = crate::config::parse(&text, place)?;
    // Set here rather than written into the text: the token appears nowhere but on stderr.
    cfg.live.api_token = Some(Secret(token.clone()));
    let (cfg, data_dir) = crate::live::check_loaded(cfg, place)?;

    let feeder = Feeder::new(args.rate, &gateway_log, &auth_log)?;
    let scenarios = feeder.plays.len();
    eprintln!(
        "apiwatch live demo: {} users' API calls a second (plus crawlers, health checks and \
         partners), and an attack a minute, the first in about {} s ({scenarios} scenarios a round, \
         then again from new addresses)",
        args.rate,
        FIRST_ATTACK_DELAY_MS / SECOND_MS,
    );
    eprintln!(
        "  logs followed: {} (nginx), {} (ECS login events)",
        gateway_log.display(),
        auth_log.display()
    );
    eprintln!("  data: {}", data_dir.display());
    if geoip.is_none() {
        eprintln!(
            "  (no GeoIP database: no countries on the map; give --geoip, or use scripts/demo --live)"
        );
    }
    eprintln!("\nopen http://{}/ and sign in with token {token}\n", args.listen);
    eprintln!("Ctrl-C stops.");

    let stop = Arc::new(AtomicBool::new(false));
    let feeding = {
        let stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("apiwatch-demo-feed".into())
            .spawn(move || feeder.run(&stop))?
    };
    let result = crate::live::run_checked(cfg, data_dir);
    stop.store(true, Ordering::Relaxed);
    match feeding.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("the traffic feed stopped: {e:#}"),
        Err(_) => eprintln!("the traffic feed panicked"),
    }
    result
}

/// The configuration the flags stand for, as `run` would read it from a file. Values are
/// written as JSON strings, which YAML reads as they are.
fn config_text(
    dir: &Path,
    gateway_log: &Path,
    auth_log: &Path,
    listen: SocketAddr,
    geoip: Option<&Path>,
) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let p = |p: &Path| q(&p.display().to_string());
    let mut text = format!(
        "data_dir: {}\nlisten: {}\nsources:\n  \
         - {{type: file, name: gateway, format: nginx, read_from: beginning, include: [{}]}}\n  \
         - {{type: file, name: auth, format: ecs, read_from: beginning, include: [{}]}}\n\
         alerts:\n  file: {}\n",
        p(&dir.join("data")),
        q(&listen.to_string()),
        p(gateway_log),
        p(auth_log),
        p(&dir.join("alerts.jsonl")),
    );
    if let Some(g) = geoip {
        text.push_str(&format!("geoip: {}\n", p(g)));
    }
    text
}

/// An administrator's token: 256 random bits, base64url, with the prefix of the service's
/// own tokens (secret scanners know it).
fn random_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the system's random number generator");
    format!("aw_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// A new folder only this user reads (stored events hold addresses and user names).
fn new_temp_dir() -> anyhow::Result<PathBuf> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("the system's random number generator");
    let name =
        format!("apiwatch-live-demo-{}-{:08x}", std::process::id(), u32::from_le_bytes(bytes));
    let dir = std::env::temp_dir().join(name);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// The users' traffic from `start_ms` for a day. The rate is scaled by the hour's activity so
/// that the feed starts at `rate` calls a second; it then follows the day (busier in the
/// afternoon, UTC).
fn benign_config(start_ms: i64, rate: f64) -> TrafficConfig {
    TrafficConfig {
        seed: SEED,
        start_ms,
        duration_ms: BENIGN_CHUNK_MS,
        users: USERS,
        requests_per_s: rate / daily_curve(start_ms),
        attacks: false,
        distinct_ips: None,
    }
}

/// One scenario's records, with their times as offsets from its start.
struct Play {
    scenario: &'static str,
    records: Vec<(i64, Record)>,
}

/// The attack scenarios of one generated run, each compressed to [`PLAY_MS_MAX`], and the
/// addresses that are not the attackers' (users, the office, partners, crawlers: kept as
/// they are when a round gives the attackers new ones).
fn attack_plays() -> (Vec<Play>, HashSet<Ipv4Addr>) {
    let cfg = TrafficConfig {
        seed: SEED,
        duration_ms: ROUND_SOURCE_MS,
        users: USERS,
        requests_per_s: 1.0,
        attacks: true,
        ..TrafficConfig::default()
    };
    let mut gen = Generator::new(&cfg);
    let benign: HashSet<Ipv4Addr> = gen
        .benign_actors()
        .iter()
        .flat_map(|b| b.actor_values("source.ip"))
        .filter_map(|ip| ip.parse().ok())
        .collect();
    let records: Vec<Record> = gen.by_ref().collect();
    let truth = gen.truth();
    let mut plays = Vec::new();
    for &name in ORDER {
        let Some(t) = truth.iter().find(|t| t.scenario == name) else { continue };
        let stolen = t.actor_values("token.id");
        let mine: Vec<&Record> = records
            .iter()
            .filter(|r| {
                r.scenario == name
                    // The stolen token's owner, using it at home around the theft.
                    || (!stolen.is_empty()
                        && r.ts_ms >= t.first_ms - 5 * MINUTE_MS
                        && r.ts_ms <= t.last_ms + 5 * MINUTE_MS
                        && r.http().and_then(|h| h.token.as_ref()).is_some_and(|k| stolen.contains(&k.jti)))
            })
            .collect();
        let (Some(first), Some(last)) = (mine.first(), mine.last()) else { continue };
        let (first, span) = (first.ts_ms, (last.ts_ms - first.ts_ms).max(1));
        let mut play = Play { scenario: t.scenario, records: Vec::with_capacity(mine.len()) };
        for r in mine {
            let offset = r.ts_ms - first;
            let offset = if name == CUT_NOT_COMPRESSED {
                if offset >= PLAY_MS_MAX {
                    break;
                }
                offset
            } else if span > PLAY_MS_MAX {
                (i128::from(offset) * i128::from(PLAY_MS_MAX) / i128::from(span)) as i64
            } else {
                offset
            };
            play.records.push((offset, r.clone()));
        }
        plays.push(play);
    }
    (plays, benign)
}

/// Gives a round's attackers new addresses: each of their /24 networks becomes another /24 of
/// the same country (so a flood from one network stays one network), the host part kept.
struct Readdress<'a> {
    rng: Rng,
    keep: &'a HashSet<Ipv4Addr>,
    nets: HashMap<[u8; 3], Prefix>,
}

impl Readdress<'_> {
    fn addr(&mut self, ip: Ipv4Addr, cc: &str) -> Ipv4Addr {
        if self.keep.contains(&ip) || !geo::COUNTRY_PREFIXES.iter().any(|(c, _)| *c == cc) {
            return ip;
        }
        let [a, b, c, host] = ip.octets();
        let rng = &mut self.rng;
        let net = *self.nets.entry([a, b, c]).or_insert_with(|| geo::random_net24(rng, cc));
        Ipv4Addr::from(net.base() | u32::from(host))
    }

    fn record(&mut self, rec: &mut Record) {
        match &mut rec.kind {
            RecordKind::Http(h) => h.client_ip = self.addr(h.client_ip, h.country),
            RecordKind::Login(l) => l.source_ip = self.addr(l.source_ip, l.country),
        }
    }
}

/// Writes the traffic into the followed files as time goes by.
struct Feeder {
    rate: f64,
    benign: Generator,
    /// The users' next record, when the current generator has one.
    benign_next: Option<Record>,
    plays: Vec<Play>,
    keep: HashSet<Ipv4Addr>,
    round: u64,
    /// When the next round starts.
    next_round_ms: i64,
    /// The current round's records and announcements, in time order.
    attacks: VecDeque<(i64, Record)>,
    said: VecDeque<(i64, String)>,
    gateway: std::fs::File,
    auth: std::fs::File,
    gateway_buf: Vec<u8>,
    auth_buf: Vec<u8>,
}

fn append(path: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

impl Feeder {
    fn new(rate: f64, gateway_log: &Path, auth_log: &Path) -> anyhow::Result<Feeder> {
        let now = crate::live::now_ms();
        let (plays, keep) = attack_plays();
        let mut benign = Generator::new(&benign_config(now, rate));
        let benign_next = benign.next_record();
        Ok(Feeder {
            rate,
            benign,
            benign_next,
            plays,
            keep,
            round: 0,
            next_round_ms: now + FIRST_ATTACK_DELAY_MS,
            attacks: VecDeque::new(),
            said: VecDeque::new(),
            gateway: append(gateway_log)?,
            auth: append(auth_log)?,
            gateway_buf: Vec::new(),
            auth_buf: Vec::new(),
        })
    }

    fn run(mut self, stop: &AtomicBool) -> anyhow::Result<()> {
        while !stop.load(Ordering::Relaxed) {
            let now = crate::live::now_ms();
            if now >= self.next_round_ms {
                self.schedule_round();
            }
            self.users_due(now);
            while self.attacks.front().is_some_and(|(due, _)| *due <= now) {
                let (_, mut rec) = self.attacks.pop_front().expect("a front");
                rec.ts_ms = now;
                write_nginx(&rec, &mut self.gateway_buf);
                write_ecs(&rec, &mut self.auth_buf);
            }
            while self.said.front().is_some_and(|(due, _)| *due <= now) {
                let (_, text) = self.said.pop_front().expect("a front");
                let time = format_rfc3339_ms(now);
                // A closed stdout (piped into `head`) must not stop the feed.
                let _ = writeln!(std::io::stdout().lock(), "{}  {text}", &time[11..19]);
            }
            for (file, buf) in
                [(&mut self.gateway, &mut self.gateway_buf), (&mut self.auth, &mut self.auth_buf)]
            {
                if !buf.is_empty() {
                    file.write_all(buf).context("writing the generated logs")?;
                    buf.clear();
                }
            }
            std::thread::sleep(TICK);
        }
        Ok(())
    }

    /// Writes the users' records whose time has come, stamped with the clock.
    fn users_due(&mut self, now: i64) {
        loop {
            let Some(rec) = self.benign_next.as_mut() else {
                // A day of simulated traffic ended: the next day starts where it ended.
                let end = self.benign.config().end_ms();
                self.benign = Generator::new(&benign_config(end, self.rate));
                self.benign_next = self.benign.next_record();
                if self.benign_next.is_none() {
                    return;
                }
                continue;
            };
            if rec.ts_ms > now {
                return;
            }
            if now - rec.ts_ms <= CATCH_UP_MS_MAX {
                rec.ts_ms = now;
                write_nginx(rec, &mut self.gateway_buf);
                write_ecs(rec, &mut self.auth_buf);
            }
            if !self.benign.next_into(rec) {
                self.benign_next = None;
            }
        }
    }

    /// Queues the next round of attacks, from `next_round_ms` on, one scenario a slot, with
    /// new attacker addresses.
    fn schedule_round(&mut self) {
        let start = self.next_round_ms;
        let mut readdress = Readdress {
            rng: Rng::derive(SEED, &format!("live-demo-round-{}", self.round)),
            keep: &self.keep,
            nets: HashMap::new(),
        };
        let mut queued = Vec::new();
        for (i, play) in self.plays.iter().enumerate() {
            let slot = start + i as i64 * SLOT_MS;
            let (mut addresses, mut known) = (HashSet::new(), HashSet::new());
            let mut first = None;
            for (offset, rec) in &play.records {
                let mut rec = rec.clone();
                readdress.record(&mut rec);
                let (ip, cc) = match &rec.kind {
                    RecordKind::Http(h) => (h.client_ip, h.country),
                    RecordKind::Login(l) => (l.source_ip, l.country),
                };
                if rec.scenario == play.scenario && !self.keep.contains(&ip) {
                    addresses.insert(ip);
                    first.get_or_insert((ip, cc));
                } else if rec.scenario == play.scenario {
                    known.insert(ip);
                }
                queued.push((slot + offset, rec));
            }
            let from = match (addresses.len(), first) {
                (1, Some((ip, cc))) => format!("from {ip} ({cc})"),
                (0, _) if known.len() == 1 => "from a known address".to_string(),
                (0, _) => format!("from {} known addresses", known.len()),
                (n, _) => format!("from {n} addresses"),
            };
            self.said.push_back((
                slot,
                format!(
                    "round {}: {:<28} {from}, {} records",
                    self.round + 1,
                    play.scenario,
                    play.records.len()
                ),
            ));
        }
        queued.sort_by_key(|(due, _)| *due);
        self.attacks.extend(queued);
        self.round += 1;
        self.next_round_ms = start + self.plays.len().max(1) as i64 * SLOT_MS;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_but_the_slow_pull_is_played_compressed() {
        let (plays, keep) = attack_plays();
        let names: Vec<&str> = plays.iter().map(|p| p.scenario).collect();
        assert_eq!(names, ORDER, "every scenario in the order given");
        for p in &plays {
            let last = p.records.last().unwrap().0;
            assert!((0..PLAY_MS_MAX + 1).contains(&last), "{}: {last} ms", p.scenario);
            assert!(p.records.windows(2).all(|w| w[0].0 <= w[1].0), "{}: order", p.scenario);
        }
        // The first scenario carries the script payload as a user agent, at its start.
        let first = &plays[0].records[0].1;
        assert_eq!(
            first.http().map(|h| h.user_agent),
            Some(apiwatch_traffic::data::XSS_USER_AGENT)
        );
        // The stolen token's owner plays along, from home.
        let stolen = plays.iter().find(|p| p.scenario == "attack/stolen-token").unwrap();
        assert!(stolen.records.iter().any(|(_, r)| !r.is_attack()));
        assert!(!keep.is_empty());
    }

    #[test]
    fn rounds_give_attackers_new_addresses_in_their_country() {
        let (plays, keep) = attack_plays();
        let scanner = &plays.iter().find(|p| p.scenario == "attack/scanner").unwrap().records;
        let addr = |round: u64| {
            let mut r = Readdress {
                rng: Rng::derive(SEED, &format!("live-demo-round-{round}")),
                keep: &keep,
                nets: HashMap::new(),
            };
            let mut rec = scanner[0].1.clone();
            r.record(&mut rec);
            rec.http().unwrap().client_ip
        };
        let (a, b) = (addr(0), addr(1));
        assert_ne!(a, b);
        for ip in [a, b] {
            assert_eq!(geo::country_of(ip), Some(scanner[0].1.http().unwrap().country));
        }
    }

    #[test]
    fn the_configuration_is_one_run_accepts() {
        let dir = Path::new("/tmp/demo \"x\"\nopenapi: /etc/passwd");
        let text = config_text(
            dir,
            &dir.join("logs/gateway.log"),
            &dir.join("logs/auth.jsonl"),
            "127.0.0.1:8080".parse().unwrap(),
            Some(Path::new("/geo/City.mmdb")),
        );
        let cfg = crate::config::parse(&text, Path::new(FLAGS_PLACE)).unwrap();
        assert!(cfg.openapi.is_none(), "a path cannot add keys");
        assert_eq!(cfg.live.sources.len(), 2);
        assert_eq!(cfg.geoip.as_deref(), Some(Path::new("/geo/City.mmdb")));
        crate::live::check_loaded(cfg, Path::new(FLAGS_PLACE)).unwrap();
    }
}
