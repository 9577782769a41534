//! Benign traffic: the users' background, the office, travellers, admins, partners' nightly
//! pulls, crawlers and health checks.

use crate::data;
use crate::gen::{
    daily_curve, fill_login_http, is_weekday, Pending, Plan, Stream, User, World, PRODUCTS,
};
use crate::geo::{self, BINGBOT, CLUSTER, CRAWLER_COUNTRY, GOOGLEBOT};
use crate::record::{HttpRecord, LoginRecord, Record, Token, PARTNER_ACME, PARTNER_GLOBEX};
use crate::rng::Rng;
use crate::write::format_u64;
use apiwatch_core::time::{DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS};
use apiwatch_core::Outcome;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// Share of the background that searches (the flood is measured against it).
pub(crate) const SEARCH_SHARE: f64 = 0.04;
/// The route whose errors spike.
pub(crate) const SPIKE_ROUTE: &str = "/api/v1/products/{id}";

pub(crate) fn add_streams(w: &mut World, streams: &mut Vec<Box<dyn Stream>>) {
    let seed = w.cfg.seed;
    streams.push(Box::new(Background::new(w, Rng::derive(seed, "background"))));
    streams.push(Box::new(Office::new(w, Rng::derive(seed, "office"))));
    let (plan, away_ips) = travellers(w, Rng::derive(seed, "travellers"));
    streams.push(Box::new(plan.into_stream(w)));
    streams.push(Box::new(admins(w, Rng::derive(seed, "admins")).into_stream(w)));
    let acme = Acme::new(w, Rng::derive(seed, "acme"));
    let acme_ip = acme.ip;
    streams.push(Box::new(acme));
    let exfil = w.cfg.attacks.then(|| globex_exfil_window(w));
    streams.push(Box::new(globex_nights(w, Rng::derive(seed, "globex"), exfil).into_stream(w)));
    streams.push(Box::new(Crawlers::new(w, Rng::derive(seed, "crawlers"))));
    streams.push(Box::new(Health::new(w)));
    register_benign(w, &away_ips, acme_ip);
}

/// Registers who plays each benign part (see [`crate::BenignEntry`]).
fn register_benign(w: &mut World, away_ips: &[Ipv4Addr], acme_ip: Ipv4Addr) {
    use crate::gen::BenignEntry;
    let text = |ips: &mut dyn Iterator<Item = Ipv4Addr>| -> Vec<String> {
        ips.map(|ip| ip.to_string()).collect()
    };
    let net24 = |ip: Ipv4Addr| {
        let [a, b, c, _] = ip.octets();
        format!("{a}.{b}.{c}.0/24")
    };
    let names = |us: &[u32]| -> Vec<String> {
        us.iter().map(|&u| w.users[u as usize].name.to_string()).collect()
    };
    let home_ips = |us: &[u32]| -> Vec<String> {
        us.iter().flat_map(|&u| w.users[u as usize].ips).map(|ip| ip.to_string()).collect()
    };
    let office: Vec<u32> =
        w.cast.background.iter().copied().filter(|&u| w.users[u as usize].office).collect();
    // The background's users (the office's people too, out of office hours); those who play an
    // attack's victim or culprit for a while call as anyone else the rest of the time (the
    // slow pull's user has no traffic of their own).
    let mut users = w.cast.background.clone();
    users.extend([w.cast.bola, w.cast.privesc, w.cast.token_victim]);
    let mut entries = vec![
        BenignEntry::new(
            "benign/users",
            "people at home or on their phone's carrier, in their own country",
        )
        .actor("user.name", names(&users))
        .actor("source.ip", home_ips(&users)),
        BenignEntry::new(
            "benign/office",
            "the office's people behind its one NAT address, in office hours",
        )
        .actor("user.name", names(&office))
        .actor("source.ip", vec![w.office_ip.to_string()])
        .actor("source.network", vec![net24(w.office_ip)]),
        BenignEntry::new("benign/traveller", "users flying abroad and back (13-15 h flights)")
            .actor("user.name", names(&w.cast.travellers))
            .actor(
                "source.ip",
                home_ips(&w.cast.travellers)
                    .into_iter()
                    .chain(away_ips.iter().map(|ip| ip.to_string()))
                    .collect(),
            ),
        BenignEntry::new("benign/admin", "admins doing admin work from home")
            .actor("user.name", names(&w.cast.admins))
            .actor("source.ip", home_ips(&w.cast.admins)),
        BenignEntry::new("benign/batch", "partner-acme's nightly export, 02:00-03:00")
            .actor("user.name", vec![PARTNER_ACME.name.to_string()])
            .actor("consumer.name", vec![PARTNER_ACME.name.to_string()])
            .actor("source.ip", vec![acme_ip.to_string()])
            .actor("source.network", vec![net24(acme_ip)]),
        BenignEntry::new("benign/partner", "partner-globex's usual pull at 01:00")
            .actor("user.name", vec![PARTNER_GLOBEX.name.to_string()])
            .actor("consumer.name", vec![PARTNER_GLOBEX.name.to_string()])
            .actor("source.ip", vec![globex_ip(w).to_string()])
            .actor("source.network", vec![net24(globex_ip(w))]),
    ];
    let crawlers: Vec<Ipv4Addr> = (0..120)
        .map(|k| GOOGLEBOT.host(k * 31))
        .chain((0..40).map(|k| BINGBOT.host(k * 5)))
        .collect();
    entries.push(
        BenignEntry::new("benign/crawler", "Googlebot and bingbot")
            .actor("source.ip", text(&mut crawlers.iter().copied()))
            .actor("source.network", crawlers.iter().map(|&ip| net24(ip)).collect()),
    );
    entries.push(
        BenignEntry::new("benign/healthcheck", "kube-probe from three cluster nodes")
            .actor("source.ip", PROBE_ACTORS.iter().map(|s| s.to_string()).collect())
            .actor("source.network", PROBES.iter().map(|&p| net24(Ipv4Addr::from(p))).collect()),
    );
    for e in entries {
        w.register_benign(e);
    }
}

/// Appends a decimal number to a `String`.
pub(crate) fn push_num(s: &mut String, v: u64) {
    let mut buf = [0u8; 20];
    for &d in format_u64(&mut buf, v) {
        s.push(char::from(d));
    }
}

/// A page number as people use them: half the time the first, then fewer and fewer.
fn page(rng: &mut Rng) -> u64 {
    let x = rng.next_u32();
    1 + u64::from((x & 0xff).trailing_ones().min(7))
}

/// A product id: a few are popular, most are not (u³ puts a fifth of views on the first 1%).
fn product_id(rng: &mut Rng) -> u64 {
    let u = rng.unit();
    1 + ((u * u * u * PRODUCTS as f64) as u64).min(PRODUCTS - 1)
}

/// One ordinary call of a signed-in user. Returns whether it was hit by the error spike.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fill_user_call(
    rng: &mut Rng,
    user: &User,
    token: Option<Arc<Token>>,
    ip: Ipv4Addr,
    cc: &'static str,
    h: &mut HttpRecord,
    in_spike: bool,
) -> bool {
    h.client_ip = ip;
    h.country = cc;
    h.user_agent = user.ua;
    h.status = 200;
    let r = rng.below(1000);
    let is_static = r >= 850 && !user.app;
    let r = if r >= 850 && user.app { 300 + (r - 850) * 2 } else { r };
    if is_static {
        let (path, size) = *rng.pick(data::STATIC_ASSETS);
        h.uri.push_str(path);
        if rng.chance(0.3) {
            h.status = 304;
            h.response_bytes = 0;
        } else {
            h.response_bytes = size;
        }
        h.upstream_ms = 0;
        h.duration_ms = 1 + rng.below(4) as u32;
        h.referrer = data::REFERRERS[0];
        return false;
    }
    let (base_ms, mut spiked) = match r {
        0..300 => {
            h.uri.push_str("/api/v1/products?page=");
            push_num(&mut h.uri, page(rng));
            h.route = "/api/v1/products";
            h.response_bytes = 8_000 + rng.below(16_000);
            (35, false)
        }
        300..600 => {
            h.uri.push_str("/api/v1/products/");
            push_num(&mut h.uri, product_id(rng));
            h.route = "/api/v1/products/{id}";
            if rng.chance(0.008) {
                h.status = 404;
                h.response_bytes = 52;
            } else {
                h.response_bytes = 1_200 + rng.below(2_200);
            }
            (12, in_spike)
        }
        600..640 => {
            h.uri.push_str("/api/v1/search?q=");
            let term = *rng.pick(data::SEARCH_TERMS);
            h.uri.push_str(term);
            h.route = "/api/v1/search";
            h.response_bytes = 4_000 + rng.below(12_000);
            (80, false)
        }
        640..700 => {
            h.uri.push_str("/api/v1/users/");
            push_num(&mut h.uri, user.id);
            h.route = "/api/v1/users/{id}";
            h.response_bytes = 520 + rng.below(200);
            (8, false)
        }
        700..740 => {
            h.uri.push_str("/api/v1/orders?page=1");
            h.route = "/api/v1/orders";
            h.response_bytes = 300 + u64::from(user.orders) * 420;
            (25, false)
        }
        740..800 if user.orders > 0 => {
            h.uri.push_str("/api/v1/orders/");
            push_num(&mut h.uri, user.first_order + rng.below(u64::from(user.orders)));
            h.route = "/api/v1/orders/{id}";
            h.response_bytes = 900 + rng.below(1_100);
            (18, false)
        }
        740..800 => {
            h.uri.push_str("/api/v1/cart");
            h.route = "/api/v1/cart";
            h.response_bytes = 200 + rng.below(1_500);
            (10, false)
        }
        800..815 => {
            h.method = "POST";
            h.uri.push_str("/api/v1/orders");
            h.route = "/api/v1/orders";
            h.request_bytes = 180 + rng.below(400) as u32;
            if rng.chance(0.03) {
                h.status = 422;
                h.response_bytes = 140;
            } else {
                h.status = 201;
                h.response_bytes = 1_100 + rng.below(600);
            }
            (120, false)
        }
        _ => {
            h.uri.push_str("/api/v1/cart");
            h.route = "/api/v1/cart";
            h.response_bytes = 200 + rng.below(1_500);
            (10, false)
        }
    };
    if spiked {
        spiked = rng.chance(0.45);
    }
    h.upstream_ms = (base_ms / 2 + rng.below(base_ms) + rng.below(base_ms) / 2) as u32;
    if spiked {
        h.status = *rng.pick(&[500, 502, 503, 503]);
        h.response_bytes = if h.status == 500 { 97 } else { 150 + rng.below(30) };
        h.upstream_ms = if h.status == 500 { 200 + rng.below(800) as u32 } else { 1 };
    } else if rng.below(2_000) == 0 {
        h.status = *rng.pick(&[500, 502, 503, 504]);
        h.response_bytes = 150;
    }
    h.duration_ms = h.upstream_ms + rng.below(3) as u32;
    if let Some(t) = token {
        h.user = Some(t.sub.clone());
        h.token = Some(t);
    }
    if !user.app {
        h.referrer = if rng.chance(0.8) { data::REFERRERS[1] } else { data::REFERRERS[0] };
    }
    spiked
}

/// Login attempts in flight (a failure, then the retry a few seconds later).
pub(crate) enum Deferred {
    Attempt { user: u32, ip: Ipv4Addr, cc: &'static str, ok: bool, office: bool },
    Event { login: Box<LoginRecord>, office: bool },
}

/// Schedules a login with `failures` mistyped passwords before it.
#[allow(clippy::too_many_arguments)]
fn schedule_login(
    pending: &mut Pending<Deferred>,
    rng: &mut Rng,
    ts: i64,
    user: u32,
    ip: Ipv4Addr,
    cc: &'static str,
    office: bool,
    failures: u32,
) {
    let mut t = ts;
    for _ in 0..failures {
        pending.push(t, Deferred::Attempt { user, ip, cc, ok: false, office });
        t += rng.range(4 * SECOND_MS, 20 * SECOND_MS);
    }
    pending.push(t, Deferred::Attempt { user, ip, cc, ok: true, office });
}

fn label(office: bool) -> &'static str {
    if office {
        "benign/office"
    } else {
        "benign/users"
    }
}

/// Emits one deferred login item.
fn emit_deferred(
    w: &mut World,
    rng: &mut Rng,
    pending: &mut Pending<Deferred>,
    ts: i64,
    d: Deferred,
    rec: &mut Record,
) {
    rec.ts_ms = ts;
    match d {
        Deferred::Attempt { user, ip, cc, ok, office } => {
            let u = user as usize;
            let token = ok.then(|| {
                let t = w.new_token(u, ts, rng, crate::gen::TOKEN_LIFETIME_MS);
                w.users[u].token = Some(t.clone());
                t
            });
            let usr = &w.users[u];
            let h = rec.begin_http();
            fill_login_http(rng, h, ip, cc, usr.ua, ok);
            rec.scenario = label(office);
            rec.actor.clear();
            rec.actor.push_str(&usr.name);
            let login = LoginRecord {
                user: usr.name.clone(),
                user_id: Some(usr.id),
                source_ip: ip,
                country: cc,
                outcome: if ok { Outcome::Success } else { Outcome::Failure },
                reason: (!ok).then_some("invalid password"),
                user_agent: usr.ua,
                token,
            };
            pending.push(ts, Deferred::Event { login: Box::new(login), office });
        }
        Deferred::Event { login, office } => {
            rec.scenario = label(office);
            rec.actor.clear();
            rec.actor.push_str(&login.user);
            rec.kind = crate::record::RecordKind::Login(*login);
        }
    }
}

/// A user's visit: a run of calls from one address.
#[derive(Clone, Copy)]
struct Session {
    user: u32,
    ip: Ipv4Addr,
    cc: &'static str,
    office: bool,
    calls_left: u32,
}

/// Mean calls in a session.
const SESSION_CALLS_MEAN: u64 = 15;
/// Share of new sessions that begin with a login (the others reuse a token).
const SESSION_LOGIN_SHARE: f64 = 0.15;

/// The users' own calls: a Poisson process shaped by the daily curve, dealt to a set of
/// concurrent sessions (each call goes to a random live session; an ended session is
/// replaced by a new visit of a user drawn by activity). Sessions keep a user's calls
/// together in time and address, as real visits do, and keep the working set small.
struct Background {
    rng: Rng,
    next_ms: f64,
    /// Mean calls per millisecond.
    rate_per_ms: f64,
    /// (minute, curve) cache.
    curve: (i64, f64),
    /// Users, each as many times as their activity weight.
    tickets: Vec<u32>,
    sessions: Vec<Session>,
    pending: Pending<Deferred>,
    spike: Option<(i64, i64)>,
    end_ms: i64,
}

impl Background {
    fn new(w: &World, mut rng: Rng) -> Background {
        let mut tickets = Vec::new();
        for &u in &w.cast.background {
            // Activity: most users now and then, a few every day all day.
            let weight = 1u32 << rng.below(4);
            tickets.extend(std::iter::repeat_n(u, weight as usize));
        }
        let rate_per_ms = (w.cfg.requests_per_s.max(0.0)) / 1000.0;
        let next_ms = if rate_per_ms > 0.0 { w.start_ms as f64 } else { f64::INFINITY };
        // About one call per live session every 30 s, at most 1,024 live sessions (beyond
        // that, sessions get busier rather than more numerous: it keeps the working set in cache).
        let live = (w.cfg.requests_per_s * 30.0).clamp(8.0, 1024.0) as usize;
        let idle =
            Session { user: 0, ip: Ipv4Addr::UNSPECIFIED, cc: "", office: false, calls_left: 0 };
        Background {
            rng,
            next_ms,
            rate_per_ms,
            curve: (i64::MIN, 1.0),
            tickets,
            sessions: vec![idle; live],
            pending: Pending::new(),
            spike: w.cfg.attacks.then(|| spike_window(w)),
            end_ms: w.end_ms,
        }
    }

    fn next_arrival(&self) -> Option<i64> {
        (self.next_ms < self.end_ms as f64).then_some(self.next_ms as i64)
    }
}

impl Stream for Background {
    fn peek(&self) -> Option<i64> {
        match (self.next_arrival(), self.pending.peek_ts()) {
            (Some(a), Some(p)) => Some(a.min(p)),
            (a, p) => a.or(p),
        }
    }

    fn emit(&mut self, w: &mut World, rec: &mut Record) {
        loop {
            let arrival = self.next_arrival();
            if let Some(p) = self.pending.peek_ts() {
                if arrival.is_none_or(|a| p <= a) {
                    let (ts, d) = self.pending.pop().expect("peeked");
                    emit_deferred(w, &mut self.rng, &mut self.pending, ts, d, rec);
                    return;
                }
            }
            let ts = arrival.expect("peek promised a record");
            let minute = ts.div_euclid(MINUTE_MS);
            if self.curve.0 != minute {
                self.curve = (minute, daily_curve(ts));
            }
            self.next_ms += self.rng.exp1() / (self.rate_per_ms * self.curve.1);
            let rng = &mut self.rng;
            let slot = rng.below(self.sessions.len() as u64) as usize;
            let mut s = self.sessions[slot];
            if s.calls_left == 0 {
                // A new visit.
                let u = self.tickets[rng.below(self.tickets.len() as u64) as usize];
                let (ip, cc, office) = w.user_addr(u as usize, ts, rng);
                s = Session {
                    user: u,
                    ip,
                    cc,
                    office,
                    calls_left: 1 + rng.below(2 * SESSION_CALLS_MEAN - 1) as u32,
                };
                self.sessions[slot] = s;
                let user = &w.users[u as usize];
                // A token about to expire means a new login; none yet means one from before the run.
                let stale = user.token.as_ref().is_some_and(|t| t.expires_at_ms <= ts + HOUR_MS);
                if stale || rng.chance(SESSION_LOGIN_SHARE) {
                    // People mistype now and then: 3% once, 0.5% twice.
                    let failures = match rng.below(1000) {
                        0..5 => 2,
                        5..35 => 1,
                        _ => 0,
                    };
                    schedule_login(&mut self.pending, rng, ts, u, ip, cc, office, failures);
                    continue;
                }
            }
            self.sessions[slot].calls_left -= 1;
            let u = s.user as usize;
            let (ip, cc) = match w.cfg.distinct_ips {
                Some(n) if n > 0 => w.pool.addr(rng.below(u64::from(n))),
                _ => (s.ip, s.cc),
            };
            let token = w.token(u, ts, rng);
            let in_spike = self.spike.is_some_and(|(a, b)| ts >= a && ts < b);
            let user = &w.users[u];
            rec.ts_ms = ts;
            let h = rec.begin_http();
            let spiked = fill_user_call(rng, user, Some(token), ip, cc, h, in_spike);
            rec.actor.clear();
            if spiked {
                rec.scenario = "attack/5xx-spike";
                rec.actor.push_str(SPIKE_ROUTE);
            } else {
                rec.scenario = label(s.office);
                rec.actor.push_str(&user.name);
            }
            return;
        }
    }
}

/// The 5xx spike's window (shared by the background, which makes it, and the truth).
pub(crate) fn spike_window(w: &World) -> (i64, i64) {
    let mut rng = Rng::derive(w.cfg.seed, "5xx-spike");
    let (start, span) = w.place(&mut rng, 20 * MINUTE_MS);
    (start, start + span)
}

/// The office: on working days its people sign in between 08:00 and 09:30 from the NAT
/// address; about one in twenty mistypes their password once.
struct Office {
    rng: Rng,
    pending: Pending<Deferred>,
    next_day: i64,
    end_ms: i64,
    start_ms: i64,
    members: Vec<u32>,
}

impl Office {
    fn new(w: &World, rng: Rng) -> Office {
        let members =
            w.cast.background.iter().copied().filter(|&u| w.users[u as usize].office).collect();
        let mut o = Office {
            rng,
            pending: Pending::new(),
            next_day: w.start_ms.div_euclid(DAY_MS),
            end_ms: w.end_ms,
            start_ms: w.start_ms,
            members,
        };
        o.plan(w.office_ip);
        o
    }

    /// Plans days until one has logins inside the run.
    fn plan(&mut self, ip: Ipv4Addr) {
        while self.pending.is_empty() && self.next_day * DAY_MS < self.end_ms {
            let day = self.next_day * DAY_MS;
            self.next_day += 1;
            if !is_weekday(day) {
                continue;
            }
            for &u in &self.members {
                let ts = day + 8 * HOUR_MS + self.rng.range(0, 90 * MINUTE_MS);
                let failures = u32::from(self.rng.chance(0.05));
                if ts >= self.start_ms {
                    schedule_login(
                        &mut self.pending,
                        &mut self.rng,
                        ts,
                        u,
                        ip,
                        "GB",
                        true,
                        failures,
                    );
                }
            }
        }
    }
}

impl Stream for Office {
    fn peek(&self) -> Option<i64> {
        self.pending.peek_ts()
    }
    fn emit(&mut self, w: &mut World, rec: &mut Record) {
        let (ts, d) = self.pending.pop().expect("peeked");
        emit_deferred(w, &mut self.rng, &mut self.pending, ts, d, rec);
        self.plan(w.office_ip);
    }
}

/// Plans a user's ordinary activity from `from` to `to` at one address: a login first, a new
/// one every 8 hours, calls at `per_hour` (shaped by the daily curve). Returns the tokens
/// issued with their times.
#[allow(clippy::too_many_arguments)]
pub(crate) fn plan_user_activity(
    w: &World,
    rng: &mut Rng,
    plan: &mut Plan,
    u: usize,
    from: i64,
    to: i64,
    ip: Ipv4Addr,
    cc: &'static str,
    per_hour: f64,
    scenario: &'static str,
) -> Vec<(i64, Arc<Token>)> {
    let user = &w.users[u];
    let mut tokens = Vec::new();
    let mut t = from as f64;
    let mut relogin = from;
    loop {
        let ts = t as i64;
        if ts >= to || ts >= w.end_ms {
            break;
        }
        if ts >= relogin {
            let tok = w.new_token(u, ts, rng, crate::gen::TOKEN_LIFETIME_MS);
            plan.login_attempt(
                rng,
                ts,
                scenario,
                &user.name,
                &user.name,
                Some(user.id),
                ip,
                cc,
                user.ua,
                Some(tok.clone()),
            );
            tokens.push((ts, tok));
            relogin = ts + 8 * HOUR_MS;
        } else {
            let mut h = HttpRecord::default();
            let tok = tokens.last().map(|(_, t)| t.clone());
            fill_user_call(rng, user, tok, ip, cc, &mut h, false);
            plan.http(ts, scenario, &user.name, h);
        }
        t += rng.exp1() * HOUR_MS as f64 / (per_hour * daily_curve(ts));
    }
    tokens
}

/// The token valid at a time, from a [`plan_user_activity`] timeline.
pub(crate) fn token_at(tokens: &[(i64, Arc<Token>)], ts: i64) -> Option<Arc<Token>> {
    tokens.iter().rev().find(|(t, _)| *t <= ts).map(|(_, t)| t.clone())
}

/// How long a traveller is away from the API between two countries: at least 13 hours
/// (airports, the flight, a night's sleep), and for the longest trips the time an airliner
/// takes between the farthest places GeoIP may put the two addresses (at 800 km/h, plus two
/// hours on the ground), so that no benign journey is faster than a plane; up to two hours
/// more at random.
fn journey_ms(rng: &mut Rng, farthest_km: u32) -> i64 {
    let flight = (f64::from(farthest_km) / 800.0 + 2.0) * HOUR_MS as f64;
    let min = (13 * HOUR_MS).max(flight as i64);
    rng.range(min, min + 2 * HOUR_MS)
}

/// Travellers: home, then a long flight ([`journey_ms`]: 13–15 h without a call, longer for
/// the longest trips), then calls from abroad after a new login; back home after two days when
/// the run is long enough.
fn travellers(w: &World, mut rng: Rng) -> (Plan, Vec<Ipv4Addr>) {
    let mut plan = Plan::new();
    let mut away = Vec::new();
    let d = w.duration_ms();
    for &u in &w.cast.travellers {
        let u = u as usize;
        let home = w.users[u].country;
        let (abroad, farthest_km) = geo::destination(home);
        let home_ip = w.users[u].ips[0];
        let away_ip = geo::random_addr(&mut rng, abroad);
        if d < 20 * HOUR_MS {
            plan_user_activity(
                w,
                &mut rng,
                &mut plan,
                u,
                w.start_ms,
                w.end_ms,
                home_ip,
                home,
                6.0,
                "benign/traveller",
            );
            continue;
        }
        away.push(away_ip);
        let depart = w.start_ms + rng.range(d / 8, d / 3);
        let arrive = depart + journey_ms(&mut rng, farthest_km);
        let back = arrive + 2 * DAY_MS;
        let land_home = back + journey_ms(&mut rng, farthest_km);
        plan_user_activity(
            w,
            &mut rng,
            &mut plan,
            u,
            w.start_ms,
            depart,
            home_ip,
            home,
            6.0,
            "benign/traveller",
        );
        plan_user_activity(
            w,
            &mut rng,
            &mut plan,
            u,
            arrive,
            back,
            away_ip,
            abroad,
            6.0,
            "benign/traveller",
        );
        plan_user_activity(
            w,
            &mut rng,
            &mut plan,
            u,
            land_home,
            w.end_ms,
            home_ip,
            home,
            6.0,
            "benign/traveller",
        );
    }
    (plan, away)
}

/// Admins: ordinary use plus admin work (listing users, reading config, now and then
/// creating a user or changing roles), always from home.
fn admins(w: &World, mut rng: Rng) -> Plan {
    let mut plan = Plan::new();
    for &u in &w.cast.admins {
        let u = u as usize;
        let (ip, cc) = (w.users[u].ips[0], w.users[u].country);
        let tokens = plan_user_activity(
            w,
            &mut rng,
            &mut plan,
            u,
            w.start_ms,
            w.end_ms,
            ip,
            cc,
            8.0,
            "benign/admin",
        );
        let mut t = w.start_ms as f64 + rng.unit() * HOUR_MS as f64 / 4.0;
        while (t as i64) < w.end_ms {
            let ts = t as i64;
            t += rng.exp1() * HOUR_MS as f64 / (3.0 * daily_curve(ts));
            let Some(token) = token_at(&tokens, ts) else { continue };
            let mut h = admin_call(&mut rng, ip, cc, w.users[u].ua);
            h.user = Some(token.sub.clone());
            h.token = Some(token);
            plan.http(ts, "benign/admin", &w.users[u].name, h);
        }
    }
    plan
}

/// One admin call that succeeds.
pub(crate) fn admin_call(
    rng: &mut Rng,
    ip: Ipv4Addr,
    cc: &'static str,
    ua: &'static str,
) -> HttpRecord {
    let mut h = HttpRecord { client_ip: ip, country: cc, user_agent: ua, ..HttpRecord::default() };
    match rng.below(10) {
        0..5 => {
            h.uri.push_str("/api/v1/admin/users?page=");
            push_num(&mut h.uri, 1 + rng.below(5));
            h.route = "/api/v1/admin/users";
            h.response_bytes = 6_000 + rng.below(6_000);
        }
        5..8 => {
            h.uri.push_str("/api/v1/admin/config");
            h.route = "/api/v1/admin/config";
            h.response_bytes = 2_400 + rng.below(300);
        }
        8 => {
            h.method = "POST";
            h.uri.push_str("/api/v1/admin/users");
            h.route = "/api/v1/admin/users";
            h.status = 201;
            h.request_bytes = 160 + rng.below(80) as u32;
            h.response_bytes = 610 + rng.below(60);
        }
        _ => {
            h.method = "PUT";
            h.uri.push_str("/api/v1/admin/users/");
            push_num(&mut h.uri, 10_000 + rng.below(2_000));
            h.uri.push_str("/roles");
            h.route = "/api/v1/admin/users/{id}/roles";
            h.request_bytes = 40 + rng.below(30) as u32;
            h.response_bytes = 180;
        }
    }
    h.upstream_ms = 20 + rng.below(60) as u32;
    h.duration_ms = h.upstream_ms + 1;
    h.referrer = "https://admin.shop.example/";
    h
}

/// partner-acme's nightly export: 02:00–03:00 UTC, one page every 3 seconds.
struct Acme {
    rng: Rng,
    ts: i64,
    page: u64,
    night_end: i64,
    end_ms: i64,
    ip: Ipv4Addr,
    user: Arc<str>,
}

impl Acme {
    fn new(w: &World, mut rng: Rng) -> Acme {
        let ip = geo::random_addr(&mut rng, "US");
        let mut a = Acme {
            rng,
            ts: 0,
            page: 1,
            night_end: 0,
            end_ms: w.end_ms,
            ip,
            user: Arc::from(PARTNER_ACME.name),
        };
        let mut day = w.start_ms.div_euclid(DAY_MS);
        loop {
            let (s, e) = (day * DAY_MS + 2 * HOUR_MS, day * DAY_MS + 3 * HOUR_MS);
            if e > w.start_ms {
                a.ts = s + a.rng.range(0, 5 * SECOND_MS);
                a.night_end = e;
                // Joining a night already under way: skip its earlier pages.
                while a.ts < w.start_ms {
                    a.ts += 3 * SECOND_MS;
                    a.page += 1;
                }
                break;
            }
            day += 1;
        }
        a
    }
}

impl Stream for Acme {
    fn peek(&self) -> Option<i64> {
        (self.ts < self.end_ms).then_some(self.ts)
    }
    fn emit(&mut self, _w: &mut World, rec: &mut Record) {
        rec.ts_ms = self.ts;
        rec.scenario = "benign/batch";
        rec.actor.clear();
        rec.actor.push_str(PARTNER_ACME.name);
        let h = rec.begin_http();
        h.client_ip = self.ip;
        h.country = "US";
        h.uri.push_str("/api/v1/export/orders?page=");
        push_num(&mut h.uri, self.page);
        h.uri.push_str("&per_page=500");
        h.route = "/api/v1/export/orders";
        h.response_bytes = 230_000 + self.rng.below(40_000);
        h.upstream_ms = 150 + self.rng.below(250) as u32;
        h.duration_ms = h.upstream_ms + 2;
        h.user_agent = data::ACME_UA;
        h.user = Some(self.user.clone());
        h.consumer = Some(&PARTNER_ACME);
        self.page += 1;
        self.ts += 3 * SECOND_MS + self.rng.range(-200, 200);
        if self.ts >= self.night_end {
            let next_night = self.night_end - 3 * HOUR_MS + DAY_MS + 2 * HOUR_MS;
            self.ts = next_night + self.rng.range(0, 5 * SECOND_MS);
            self.night_end = next_night + HOUR_MS;
            self.page = 1;
        }
    }
}

/// The fixed address partner-globex pulls from.
pub(crate) fn globex_ip(w: &World) -> Ipv4Addr {
    geo::random_addr(&mut Rng::derive(w.cfg.seed, "globex-ip"), "NL")
}

/// The night partner-globex pulls 50 times its usual volume: the last 01:00 after the run's
/// first quarter (left for baselines), or, when there is none, a window placed like the other
/// attacks. Returns the start and the span.
pub(crate) fn globex_exfil_window(w: &World) -> (i64, i64) {
    let mut rng = Rng::derive(w.cfg.seed, "globex-exfil");
    let span = 2 * HOUR_MS;
    let mut day = (w.end_ms - span).div_euclid(DAY_MS);
    let earliest = w.start_ms + w.duration_ms() / 4;
    loop {
        let s = day * DAY_MS + HOUR_MS;
        if s < earliest {
            break;
        }
        if s + span <= w.end_ms {
            return (s + rng.range(0, 5 * MINUTE_MS), span);
        }
        day -= 1;
    }
    w.place(&mut rng, span)
}

/// partner-globex's usual pull: ten pages of about 100 kB each at 01:00 UTC (about 1 MB a
/// day); the exfiltration night is left to the attack.
fn globex_nights(w: &World, mut rng: Rng, exfil: Option<(i64, i64)>) -> Plan {
    let mut plan = Plan::new();
    let ip = globex_ip(w);
    let user: Arc<str> = Arc::from(PARTNER_GLOBEX.name);
    let mut day = w.start_ms.div_euclid(DAY_MS);
    while day * DAY_MS < w.end_ms {
        let mut ts = day * DAY_MS + HOUR_MS + rng.range(0, 10 * MINUTE_MS);
        day += 1;
        if exfil.is_some_and(|(s, span)| ts + 10 * 30 * SECOND_MS > s && ts < s + span) {
            continue;
        }
        for page in 1..=10 {
            plan.http(
                ts,
                "benign/partner",
                PARTNER_GLOBEX.name,
                globex_call(&mut rng, ip, &user, page),
            );
            ts += rng.range(15 * SECOND_MS, 30 * SECOND_MS);
        }
    }
    plan
}

pub(crate) fn globex_call(rng: &mut Rng, ip: Ipv4Addr, user: &Arc<str>, page: u64) -> HttpRecord {
    let mut h = HttpRecord {
        client_ip: ip,
        country: "NL",
        user_agent: data::GO_HTTP_UA,
        ..HttpRecord::default()
    };
    h.uri.push_str("/api/v1/export/orders?page=");
    push_num(&mut h.uri, page);
    h.uri.push_str("&per_page=200");
    h.route = "/api/v1/export/orders";
    h.response_bytes = 95_000 + rng.below(15_000);
    h.upstream_ms = 90 + rng.below(120) as u32;
    h.duration_ms = h.upstream_ms + 2;
    h.user = Some(user.clone());
    h.consumer = Some(&PARTNER_GLOBEX);
    h
}

/// Googlebot and bingbot walking product pages around the clock; some pages are gone.
struct Crawlers {
    rng: Rng,
    next_ms: f64,
    rate_per_ms: f64,
    end_ms: i64,
}

impl Crawlers {
    fn new(w: &World, rng: Rng) -> Crawlers {
        let per_s = (w.cfg.requests_per_s * 0.005).max(0.02);
        Crawlers { rng, next_ms: w.start_ms as f64, rate_per_ms: per_s / 1000.0, end_ms: w.end_ms }
    }
}

impl Stream for Crawlers {
    fn peek(&self) -> Option<i64> {
        (self.next_ms < self.end_ms as f64).then_some(self.next_ms as i64)
    }
    fn emit(&mut self, _w: &mut World, rec: &mut Record) {
        let rng = &mut self.rng;
        rec.ts_ms = self.next_ms as i64;
        self.next_ms += rng.exp1() / self.rate_per_ms;
        rec.scenario = "benign/crawler";
        let h = rec.begin_http();
        if rng.chance(0.85) {
            h.client_ip = GOOGLEBOT.host((rng.below(120) * 31) as u32);
            h.user_agent = *rng.pick(data::GOOGLEBOT_UAS);
        } else {
            h.client_ip = BINGBOT.host(rng.below(40) as u32 * 5);
            h.user_agent = data::BINGBOT_UA;
        }
        h.country = CRAWLER_COUNTRY;
        match rng.below(100) {
            0..70 => {
                let id = 1 + rng.below(PRODUCTS + PRODUCTS / 12);
                h.uri.push_str("/products/");
                push_num(&mut h.uri, id);
                h.route = "/products/{id}";
                if id > PRODUCTS {
                    h.status = 404;
                    h.response_bytes = 4_210;
                } else {
                    h.response_bytes = 28_000 + rng.below(17_000);
                }
            }
            70..80 => {
                h.uri.push_str("/products?page=");
                push_num(&mut h.uri, 1 + rng.below(200));
                h.route = "/products";
                h.response_bytes = 41_000 + rng.below(9_000);
            }
            80..85 => {
                h.uri.push_str("/robots.txt");
                h.response_bytes = 312;
            }
            85..90 => {
                h.uri.push_str("/sitemap.xml");
                h.response_bytes = 182_400;
            }
            _ => {
                h.uri.push_str("/api/v1/products/");
                push_num(&mut h.uri, 1 + rng.below(PRODUCTS));
                h.route = "/api/v1/products/{id}";
                h.response_bytes = 1_200 + rng.below(2_200);
            }
        }
        h.upstream_ms = 10 + rng.below(60) as u32;
        h.duration_ms = h.upstream_ms + 1;
        let ip = h.client_ip;
        rec.actor.clear();
        use std::fmt::Write;
        let _ = write!(rec.actor, "{ip}");
    }
}

/// kube-probe on /healthz every 10 seconds from each of three nodes.
struct Health {
    n: i64,
    t0: i64,
    end_ms: i64,
}

const PROBES: [[u8; 4]; 3] = [[10, 0, 1, 11], [10, 0, 2, 12], [10, 0, 3, 13]];
const PROBE_ACTORS: [&str; 3] = ["10.0.1.11", "10.0.2.12", "10.0.3.13"];

impl Health {
    fn new(w: &World) -> Health {
        debug_assert!(PROBES.iter().all(|p| CLUSTER.contains(Ipv4Addr::from(*p))));
        Health { n: 0, t0: w.start_ms + 1_234, end_ms: w.end_ms }
    }
    fn ts(&self) -> i64 {
        self.t0 + (self.n / 3) * 10 * SECOND_MS + (self.n % 3) * 3_333
    }
}

impl Stream for Health {
    fn peek(&self) -> Option<i64> {
        let ts = self.ts();
        (ts < self.end_ms).then_some(ts)
    }
    fn emit(&mut self, _w: &mut World, rec: &mut Record) {
        let probe = (self.n % 3) as usize;
        rec.ts_ms = self.ts();
        self.n += 1;
        rec.scenario = "benign/healthcheck";
        rec.actor.clear();
        rec.actor.push_str(PROBE_ACTORS[probe]);
        let h = rec.begin_http();
        h.client_ip = Ipv4Addr::from(PROBES[probe]);
        h.uri.push_str("/healthz");
        h.route = "/healthz";
        h.status = 200;
        h.response_bytes = 2;
        h.upstream_ms = 1;
        h.duration_ms = 1 + (self.n % 2) as u32;
        h.user_agent = data::KUBE_PROBE_UA;
    }
}
