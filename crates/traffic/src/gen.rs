//! The generator: a world of users, scenario streams, and a heap that merges them in time.

use crate::geo::{self, AddressPool};
use crate::record::{
    Consumer, HttpRecord, LoginRecord, Record, RecordKind, Token, SHOP_MOBILE, SHOP_WEB,
};
use crate::rng::Rng;
use crate::{data, TrafficConfig};
use apiwatch_core::time::{format_rfc3339_ms, DAY_MS, HOUR_MS};
use apiwatch_core::Outcome;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

pub(crate) const USER_ROLES: &[&str] = &["user"];
pub(crate) const ADMIN_ROLES: &[&str] = &["user", "admin"];
/// How long a login's token lives.
pub(crate) const TOKEN_LIFETIME_MS: i64 = 12 * HOUR_MS;
/// Fewest users simulated: some play fixed parts (travellers, admins, attack actors).
pub(crate) const USERS_MIN: u32 = 24;
/// Orders belong to users; ids start here.
pub(crate) const FIRST_ORDER_ID: u64 = 100_000;
/// Products in the catalogue (ids 1..=PRODUCTS).
pub(crate) const PRODUCTS: u64 = 5_000;

/// A registered user.
pub(crate) struct User {
    pub name: Arc<str>,
    pub id: u64,
    pub country: &'static str,
    /// Home address, and a second one (mobile carrier) in the same country.
    pub ips: [Ipv4Addr; 2],
    pub ua: &'static str,
    pub app: bool,
    pub office: bool,
    pub roles: &'static [&'static str],
    pub first_order: u64,
    pub orders: u32,
    /// The token of the latest login (background users).
    pub token: Option<Arc<Token>>,
}

impl User {
    pub fn client(&self) -> &'static Consumer {
        if self.app {
            &SHOP_MOBILE
        } else {
            &SHOP_WEB
        }
    }
}

/// Which users play which part.
pub(crate) struct Cast {
    pub travellers: Vec<u32>,
    pub admins: Vec<u32>,
    pub bola: u32,
    pub privesc: u32,
    pub slow_pull: u32,
    pub token_victim: u32,
    /// Users of the background (the office's included).
    pub background: Vec<u32>,
}

/// Shared state of the simulation.
pub(crate) struct World {
    pub cfg: TrafficConfig,
    pub start_ms: i64,
    pub end_ms: i64,
    pub users: Vec<User>,
    pub cast: Cast,
    pub office_ip: Ipv4Addr,
    pub pool: AddressPool,
    /// One past the last order id.
    pub orders_end: u64,
    pub truth: Vec<TruthEntry>,
    pub benign: Vec<BenignEntry>,
}

/// Working day (Monday to Friday) of an event time.
pub(crate) fn is_weekday(ts_ms: i64) -> bool {
    // 1970-01-01 was a Thursday.
    (ts_ms.div_euclid(DAY_MS) + 3).rem_euclid(7) < 5
}

/// The office works 08:00–18:00 UTC (London in winter) on working days.
pub(crate) fn office_hours(ts_ms: i64) -> bool {
    let h = ts_ms.rem_euclid(DAY_MS) / HOUR_MS;
    is_weekday(ts_ms) && (8..18).contains(&h)
}

/// Relative activity at a time of day: 0.4 at 03:00 UTC, 1.6 at 15:00 UTC, mean 1.
pub fn daily_curve(ts_ms: i64) -> f64 {
    let h = ts_ms.rem_euclid(DAY_MS) as f64 / HOUR_MS as f64;
    1.0 + 0.6 * ((h - 15.0) * std::f64::consts::TAU / 24.0).cos()
}

impl World {
    pub fn new(cfg: &TrafficConfig) -> World {
        let mut rng = Rng::derive(cfg.seed, "users");
        let n = cfg.users.max(USERS_MIN);
        let mut names = HashSet::with_capacity(n as usize);
        let mut users = Vec::with_capacity(n as usize);
        let mut next_order = FIRST_ORDER_ID;
        for i in 0..n {
            let first = rng.pick(data::FIRST_NAMES);
            let last = rng.pick(data::LAST_NAMES);
            let mut name = format!("{first}.{last}");
            let mut k = 1;
            while names.contains(&name) {
                k += 1;
                name = format!("{first}.{last}{k}");
            }
            names.insert(name.clone());
            let country = geo::random_user_country(&mut rng);
            let app = rng.chance(0.35);
            let ua = if app { *rng.pick(data::APP_UAS) } else { *rng.pick(data::BROWSER_UAS) };
            let orders = rng.below(13) as u32;
            users.push(User {
                name: Arc::from(name),
                id: 10_000 + u64::from(i),
                country,
                ips: [geo::random_addr(&mut rng, country), geo::random_addr(&mut rng, country)],
                ua,
                app,
                office: false,
                roles: USER_ROLES,
                first_order: next_order,
                orders,
                token: None,
            });
            next_order += u64::from(orders);
        }
        // Parts: shuffle, then deal.
        let mut order: Vec<u32> = (0..n).collect();
        rng.shuffle(&mut order);
        let mut deal = order.into_iter();
        let mut take = |k: usize| -> Vec<u32> { deal.by_ref().take(k).collect() };
        let travellers = take(3);
        let admins = take(3);
        let solo = take(4);
        let rest = take(usize::MAX);
        let office_n = 150.min(rest.len() / 2);
        let office_ip = geo::random_addr(&mut rng, "GB");
        for &u in &admins {
            users[u as usize].roles = ADMIN_ROLES;
            users[u as usize].app = false;
            users[u as usize].ua = data::BROWSER_UAS[0];
        }
        for &u in &rest[..office_n] {
            let user = &mut users[u as usize];
            user.office = true;
            user.country = "GB";
            user.ips = [geo::random_addr(&mut rng, "GB"), geo::random_addr(&mut rng, "GB")];
        }
        let mut background = rest;
        background.sort_unstable();
        let cast = Cast {
            travellers,
            admins,
            bola: solo[0],
            privesc: solo[1],
            slow_pull: solo[2],
            token_victim: solo[3],
            background,
        };
        World {
            cfg: cfg.clone(),
            start_ms: cfg.start_ms,
            end_ms: cfg.end_ms(),
            users,
            cast,
            office_ip,
            pool: AddressPool::new(),
            orders_end: next_order,
            truth: Vec::new(),
            benign: Vec::new(),
        }
    }

    pub fn duration_ms(&self) -> i64 {
        self.end_ms - self.start_ms
    }

    /// Where a user calls from at a time: the office's NAT address in office hours, else
    /// home (or the phone's carrier for app users). Returns whether it is the office.
    pub fn user_addr(&self, u: usize, ts_ms: i64, rng: &mut Rng) -> (Ipv4Addr, &'static str, bool) {
        let user = &self.users[u];
        if user.office && office_hours(ts_ms) {
            return (self.office_ip, "GB", true);
        }
        let ip = if user.app && rng.chance(0.4) { user.ips[1] } else { user.ips[0] };
        (ip, user.country, false)
    }

    /// The user's current token, issued (as by a refresh) when missing or expired.
    pub fn token(&mut self, u: usize, ts_ms: i64, rng: &mut Rng) -> Arc<Token> {
        let user = &self.users[u];
        if let Some(t) = &user.token {
            if t.expires_at_ms > ts_ms {
                return t.clone();
            }
        }
        let iat = ts_ms - rng.range(0, 4 * HOUR_MS);
        let t = Arc::new(Token::issue(
            rng,
            &user.name,
            user.id,
            user.roles,
            user.client(),
            iat,
            TOKEN_LIFETIME_MS,
        ));
        self.users[u].token = Some(t.clone());
        t
    }

    /// A fresh token for a user (a login).
    pub fn new_token(&self, u: usize, ts_ms: i64, rng: &mut Rng, lifetime_ms: i64) -> Arc<Token> {
        let user = &self.users[u];
        Arc::new(Token::issue(
            rng,
            &user.name,
            user.id,
            user.roles,
            user.client(),
            ts_ms,
            lifetime_ms,
        ))
    }

    /// Where an attack of natural length `natural_ms` goes: inside the last three quarters of
    /// the run (the first quarter is left for baselines), compressed to at most half the run.
    pub fn place(&self, rng: &mut Rng, natural_ms: i64) -> (i64, i64) {
        let d = self.duration_ms().max(4);
        let span = natural_ms.min(d / 2).max(1);
        let lo = self.start_ms + d / 4;
        let hi = (self.end_ms - span - 1).max(lo);
        (rng.range(lo, hi), span)
    }

    /// Where an attack that is judged against a learnt normal goes (a flood against the
    /// route's usual rate): inside the last quarter of the run, so that three quarters of it
    /// are history; compressed to at most a quarter of the run.
    pub fn place_late(&self, rng: &mut Rng, natural_ms: i64) -> (i64, i64) {
        let d = self.duration_ms().max(4);
        let span = natural_ms.min(d / 4).max(1);
        let lo = self.start_ms + d * 3 / 4;
        let hi = (self.end_ms - span - 1).max(lo);
        (rng.range(lo, hi), span)
    }

    pub fn register(&mut self, entry: TruthEntry) {
        debug_assert!(crate::scenario(entry.scenario).is_some(), "{}", entry.scenario);
        self.truth.push(entry);
    }

    pub fn register_benign(&mut self, entry: BenignEntry) {
        debug_assert!(
            crate::scenario(entry.scenario).is_some_and(|s| s.family.is_empty()),
            "{}",
            entry.scenario
        );
        self.benign.push(entry);
    }
}

/// A source of records in time order.
pub(crate) trait Stream: Send {
    /// Time of the next record, `None` when done.
    fn peek(&self) -> Option<i64>;
    /// Fills `rec` with the record at [`Stream::peek`]'s time and advances.
    fn emit(&mut self, w: &mut World, rec: &mut Record);
}

/// A min-heap of timed items; equal times come out in insertion order.
pub(crate) struct Pending<T> {
    heap: BinaryHeap<Item<T>>,
    seq: u64,
}

struct Item<T> {
    ts: i64,
    seq: u64,
    value: T,
}

impl<T> PartialEq for Item<T> {
    fn eq(&self, o: &Self) -> bool {
        (self.ts, self.seq) == (o.ts, o.seq)
    }
}
impl<T> Eq for Item<T> {}
impl<T> PartialOrd for Item<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Item<T> {
    fn cmp(&self, o: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        (o.ts, o.seq).cmp(&(self.ts, self.seq))
    }
}

impl<T> Pending<T> {
    pub fn new() -> Self {
        Pending { heap: BinaryHeap::new(), seq: 0 }
    }
    pub fn push(&mut self, ts: i64, value: T) {
        self.seq += 1;
        self.heap.push(Item { ts, seq: self.seq, value });
    }
    pub fn peek_ts(&self) -> Option<i64> {
        self.heap.peek().map(|i| i.ts)
    }
    pub fn pop(&mut self) -> Option<(i64, T)> {
        self.heap.pop().map(|i| (i.ts, i.value))
    }
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// Records planned ahead (small scenarios), kept in time order.
pub(crate) struct Plan {
    recs: Vec<Record>,
}

impl Plan {
    pub fn new() -> Plan {
        Plan { recs: Vec::new() }
    }
    pub fn http(&mut self, ts_ms: i64, scenario: &'static str, actor: &str, h: HttpRecord) {
        self.recs.push(Record { ts_ms, kind: RecordKind::Http(h), scenario, actor: actor.into() });
    }
    pub fn login(&mut self, ts_ms: i64, scenario: &'static str, actor: &str, l: LoginRecord) {
        self.recs.push(Record { ts_ms, kind: RecordKind::Login(l), scenario, actor: actor.into() });
    }
    /// A login attempt as both the gateway (`POST /api/v1/auth/login`) and the application
    /// see it.
    #[allow(clippy::too_many_arguments)]
    pub fn login_attempt(
        &mut self,
        rng: &mut Rng,
        ts_ms: i64,
        scenario: &'static str,
        actor: &str,
        who: &Arc<str>,
        user_id: Option<u64>,
        ip: Ipv4Addr,
        cc: &'static str,
        ua: &'static str,
        token: Option<Arc<Token>>,
    ) {
        let ok = token.is_some();
        let mut h = HttpRecord::default();
        fill_login_http(rng, &mut h, ip, cc, ua, ok);
        self.http(ts_ms, scenario, actor, h);
        let reason = if ok {
            None
        } else if user_id.is_some() {
            Some("invalid password")
        } else {
            Some("unknown user")
        };
        self.login(
            ts_ms,
            scenario,
            actor,
            LoginRecord {
                user: who.clone(),
                user_id,
                source_ip: ip,
                country: cc,
                outcome: if ok { Outcome::Success } else { Outcome::Failure },
                reason,
                user_agent: ua,
                token,
            },
        );
    }
    /// The records inside the run, in time order (stable: equal times keep plan order).
    pub fn into_stream(mut self, w: &World) -> Planned {
        self.recs.retain(|r| r.ts_ms >= w.start_ms && r.ts_ms < w.end_ms);
        self.recs.sort_by_key(|r| r.ts_ms);
        Planned { recs: self.recs, next: 0 }
    }
}

/// Fills the gateway's view of a login call.
pub(crate) fn fill_login_http(
    rng: &mut Rng,
    h: &mut HttpRecord,
    ip: Ipv4Addr,
    cc: &'static str,
    ua: &'static str,
    ok: bool,
) {
    h.client_ip = ip;
    h.country = cc;
    h.method = "POST";
    h.uri.push_str("/api/v1/auth/login");
    h.route = "/api/v1/auth/login";
    h.status = if ok { 200 } else { 401 };
    h.request_bytes = 48 + rng.below(40) as u32;
    h.response_bytes = if ok { 1_380 + rng.below(60) } else { 61 };
    h.upstream_ms = 70 + rng.below(160) as u32;
    h.duration_ms = h.upstream_ms + 1 + rng.below(3) as u32;
    h.user_agent = ua;
}

/// A [`Plan`] being played.
pub(crate) struct Planned {
    recs: Vec<Record>,
    next: usize,
}

impl Stream for Planned {
    fn peek(&self) -> Option<i64> {
        self.recs.get(self.next).map(|r| r.ts_ms)
    }
    fn emit(&mut self, _w: &mut World, rec: &mut Record) {
        *rec = std::mem::take(&mut self.recs[self.next]);
        self.next += 1;
    }
}

/// One attack scenario in the ground truth.
#[derive(Clone, Debug, PartialEq)]
pub struct TruthEntry {
    pub scenario: &'static str,
    pub family: &'static str,
    pub owasp: &'static str,
    pub technique: Option<&'static str>,
    pub description: String,
    /// Actor fields (ECS names) and their values: who a detection should name.
    pub actor: Vec<(&'static str, Vec<String>)>,
    /// Event times of the scenario's first and last records.
    pub first_ms: i64,
    pub last_ms: i64,
    /// Records emitted: API calls and login events.
    pub http_records: u64,
    pub login_records: u64,
}

impl TruthEntry {
    pub(crate) fn new(scenario: &'static str, description: String) -> TruthEntry {
        let s = crate::scenario(scenario).expect("a known scenario");
        TruthEntry {
            scenario,
            family: s.family,
            owasp: s.owasp,
            technique: s.technique,
            description,
            actor: Vec::new(),
            first_ms: i64::MAX,
            last_ms: i64::MIN,
            http_records: 0,
            login_records: 0,
        }
    }
    pub(crate) fn actor(mut self, field: &'static str, values: Vec<String>) -> TruthEntry {
        self.actor.push((field, values));
        self
    }
    pub fn records(&self) -> u64 {
        self.http_records + self.login_records
    }
    /// The values of one actor field.
    pub fn actor_values(&self, field: &str) -> &[String] {
        self.actor.iter().find(|(f, _)| *f == field).map_or(&[], |(_, v)| v)
    }
    /// One JSON object (the line of `truth.jsonl`).
    pub fn to_json(&self) -> serde_json::Value {
        let actor: serde_json::Map<String, serde_json::Value> =
            self.actor.iter().map(|(k, v)| ((*k).to_string(), serde_json::json!(v))).collect();
        serde_json::json!({
            "scenario": self.scenario,
            "family": self.family,
            "owasp": self.owasp,
            "attack": self.technique,
            "actor": actor,
            "first": format_rfc3339_ms(self.first_ms),
            "last": format_rfc3339_ms(self.last_ms),
            "first_ms": self.first_ms,
            "last_ms": self.last_ms,
            "records": self.records(),
            "http_records": self.http_records,
            "login_records": self.login_records,
            "description": self.description,
        })
    }
}

/// One part of the benign traffic and who plays it (ECS actor fields and their values).
///
/// A detection that names one of these values is a false positive, unless the value is also an
/// attack's actor in [`TruthEntry`] and the detection falls in that attack's time: the users
/// an attack picks (the account guessed at, the token stolen, the admin whose account signs in
/// from abroad) are ordinary users the rest of the time, and partner-globex pulls its usual
/// night every other night.
#[derive(Clone, Debug, PartialEq)]
pub struct BenignEntry {
    pub scenario: &'static str,
    pub description: String,
    pub actor: Vec<(&'static str, Vec<String>)>,
}

impl BenignEntry {
    pub(crate) fn new(scenario: &'static str, description: impl Into<String>) -> BenignEntry {
        BenignEntry { scenario, description: description.into(), actor: Vec::new() }
    }
    pub(crate) fn actor(mut self, field: &'static str, mut values: Vec<String>) -> BenignEntry {
        values.sort_unstable();
        values.dedup();
        if !values.is_empty() {
            self.actor.push((field, values));
        }
        self
    }
    /// The values of one actor field.
    pub fn actor_values(&self, field: &str) -> &[String] {
        self.actor.iter().find(|(f, _)| *f == field).map_or(&[], |(_, v)| v)
    }
    /// One JSON object (the line of `benign.jsonl`).
    pub fn to_json(&self) -> serde_json::Value {
        let actor: serde_json::Map<String, serde_json::Value> =
            self.actor.iter().map(|(k, v)| ((*k).to_string(), serde_json::json!(v))).collect();
        serde_json::json!({
            "scenario": self.scenario,
            "actor": actor,
            "description": self.description,
        })
    }
}

/// Generates the traffic of a [`TrafficConfig`], one record at a time, in event-time order.
pub struct Generator {
    world: World,
    streams: Vec<Box<dyn Stream>>,
    heap: BinaryHeap<Reverse<(i64, u32)>>,
    emitted: u64,
}

impl Generator {
    pub fn new(cfg: &TrafficConfig) -> Generator {
        let mut world = World::new(cfg);
        let mut streams: Vec<Box<dyn Stream>> = Vec::new();
        crate::benign::add_streams(&mut world, &mut streams);
        if cfg.attacks {
            crate::attacks::add_streams(&mut world, &mut streams);
        }
        let mut heap = BinaryHeap::with_capacity(streams.len());
        for (i, s) in streams.iter().enumerate() {
            if let Some(ts) = s.peek() {
                if ts < world.end_ms {
                    heap.push(Reverse((ts, i as u32)));
                }
            }
        }
        Generator { world, streams, heap, emitted: 0 }
    }

    pub fn config(&self) -> &TrafficConfig {
        &self.world.cfg
    }

    /// Records emitted so far.
    pub fn emitted(&self) -> u64 {
        self.emitted
    }

    /// The next record, reusing `rec`'s buffers; `false` at the end.
    pub fn next_into(&mut self, rec: &mut Record) -> bool {
        {
            let Some(mut top) = self.heap.peek_mut() else {
                return false;
            };
            let Reverse((ts, idx)) = *top;
            let stream = &mut self.streams[idx as usize];
            stream.emit(&mut self.world, rec);
            debug_assert_eq!(rec.ts_ms, ts, "stream {idx} emitted off its peek");
            match stream.peek() {
                Some(next) if next < self.world.end_ms => {
                    debug_assert!(next >= ts, "stream {idx} went back in time");
                    // Replacing the top sifts it down once: cheaper than pop and push.
                    *top = Reverse((next, idx));
                }
                _ => {
                    std::collections::binary_heap::PeekMut::pop(top);
                }
            }
        }
        self.emitted += 1;
        if rec.scenario.as_bytes().first() == Some(&b'a') {
            self.track(rec);
        }
        true
    }

    /// The next record, `None` at the end.
    pub fn next_record(&mut self) -> Option<Record> {
        let mut rec = Record::default();
        self.next_into(&mut rec).then_some(rec)
    }

    fn track(&mut self, rec: &Record) {
        if let Some(t) = self.world.truth.iter_mut().find(|t| t.scenario == rec.scenario) {
            t.first_ms = t.first_ms.min(rec.ts_ms);
            t.last_ms = t.last_ms.max(rec.ts_ms);
            match rec.kind {
                RecordKind::Http(_) => t.http_records += 1,
                RecordKind::Login(_) => t.login_records += 1,
            }
        }
    }

    /// Who plays each part of the benign traffic (see [`BenignEntry`]); known from the start.
    pub fn benign_actors(&self) -> &[BenignEntry] {
        &self.world.benign
    }

    /// The attack scenarios that have emitted records so far, in the order they were set up:
    /// after the last record, the complete ground truth.
    pub fn truth(&self) -> Vec<TruthEntry> {
        self.world.truth.iter().filter(|t| t.records() > 0).cloned().collect()
    }
}

impl Iterator for Generator {
    type Item = Record;
    fn next(&mut self) -> Option<Record> {
        self.next_record()
    }
}
