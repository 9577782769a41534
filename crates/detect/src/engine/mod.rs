//! The engine: feeds events through the rules of one shard, keeps each rule's per-actor state,
//! and opens, extends and closes alerts as event time (the watermark) advances.
//!
//! The watermark is the latest event time seen; it never goes back. Everything time-driven —
//! closing alerts, expiring actors whose state has left the window, judging baseline buckets —
//! happens when the watermark passes a rule's next due time, checked once per event against
//! the earliest of them, and only then rule by rule.
//!
//! An event visits only the rules whose gates admit it (module `gate`): cheap tests of the rules'
//! filters are answered once per event for all of them, into a mask, and the rules a mask admits
//! are remembered per mask, so that the rules an event does not concern cost nothing.

mod alerts;
mod baseline;
mod gate;
mod new_value;
mod prescan;
mod sequence;
mod velocity;
mod window;

use crate::condition::{Cond, EvalCache};
use crate::keytable::{Key, KeyHasher, KeyTable};
use crate::rule::{Kind, Rule, RuleSet};
use alerts::{Fire, OpenAlerts, Outcome, KEY_SEPARATOR};
use apiwatch_core::{Alert, Event, EventData, Field, Value};
use std::hash::BuildHasher;
use std::sync::Arc;

pub use prescan::{Prescan, Prescanner};

/// Bounds on the engine's memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Actors tracked per rule (a rule's `max_keys` overrides it). When full, the actor seen
    /// least recently is evicted and counted.
    pub max_keys_per_rule: usize,
    /// Alerts open at once per rule; beyond, the one closest to its deadline is emitted early.
    pub max_open_alerts_per_rule: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        // 200 000 actors: a busy API's distinct addresses over an hour, at ~100-200 bytes of
        // state each per rule. 20 000 open alerts: each holds up to five events of evidence
        // (a few KiB), so a rule firing for a whole botnet stays within ~100 MiB.
        Limits { max_keys_per_rule: 200_000, max_open_alerts_per_rule: 20_000 }
    }
}

/// Counters of one rule in one engine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleStats {
    pub rule: String,
    /// Events that passed the allow-lists, `where` and had every group_by field.
    pub events_matched: u64,
    /// Actors with state now.
    pub live_keys: u64,
    /// The most actors held at once.
    pub peak_keys: u64,
    /// Actors evicted because the rule's table was full.
    pub evictions: u64,
    /// Alerts emitted.
    pub alerts: u64,
    /// Alerts open now.
    pub open_alerts: u64,
    /// Alerts emitted before their deadline because too many were open.
    pub alerts_closed_early: u64,
}

/// Counters of one engine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub events: u64,
    /// Events older than the watermark when they arrived (processed all the same).
    pub late_events: u64,
    /// Per rule of this shard, in rule order.
    pub rules: Vec<RuleStats>,
}

impl EngineStats {
    pub fn evictions(&self) -> u64 {
        self.rules.iter().map(|r| r.evictions).sum()
    }
    pub fn live_keys(&self) -> u64 {
        self.rules.iter().map(|r| r.live_keys).sum()
    }
    pub fn peak_keys(&self) -> u64 {
        self.rules.iter().map(|r| r.peak_keys).sum()
    }
    pub fn alerts(&self) -> u64 {
        self.rules.iter().map(|r| r.alerts).sum()
    }
}

enum KindState {
    Match,
    Threshold(KeyTable<window::ThresholdState>),
    Distinct(KeyTable<window::DistinctState>),
    Ratio(KeyTable<window::RatioState>),
    Sequence(KeyTable<sequence::SequenceState>),
    NewValue(KeyTable<new_value::NewValueState>),
    Velocity(KeyTable<velocity::VelocityState>),
    Baseline(Box<baseline::BaselineRuntime>),
}

impl KindState {
    fn new(kind: &Kind, max_keys: usize, hasher: &KeyHasher) -> KindState {
        fn table<S: Default>(max_keys: usize, hasher: &KeyHasher) -> KeyTable<S> {
            KeyTable::with_hasher(max_keys, hasher.clone())
        }
        match kind {
            Kind::Match => KindState::Match,
            Kind::Threshold { .. } => KindState::Threshold(table(max_keys, hasher)),
            Kind::Distinct { .. } => KindState::Distinct(table(max_keys, hasher)),
            Kind::Ratio { .. } => KindState::Ratio(table(max_keys, hasher)),
            Kind::Sequence { .. } => KindState::Sequence(table(max_keys, hasher)),
            Kind::NewValue { .. } => KindState::NewValue(table(max_keys, hasher)),
            Kind::Velocity { .. } => KindState::Velocity(table(max_keys, hasher)),
            Kind::Baseline(_) => KindState::Baseline(Box::new(baseline::BaselineRuntime::new(
                max_keys,
                hasher.clone(),
            ))),
        }
    }

    /// (live, peak, evictions, oldest last-seen time) of the actor table.
    fn table_stats(&self) -> (usize, usize, u64, Option<i64>) {
        fn of<S: Default>(t: &KeyTable<S>) -> (usize, usize, u64, Option<i64>) {
            (t.len(), t.peak, t.evictions, t.oldest_seen_ms())
        }
        match self {
            KindState::Match => (0, 0, 0, None),
            KindState::Threshold(t) => of(t),
            KindState::Distinct(t) => of(t),
            KindState::Ratio(t) => of(t),
            KindState::Sequence(t) => of(t),
            KindState::NewValue(t) => of(t),
            KindState::Velocity(t) => of(t),
            KindState::Baseline(b) => of(&b.table),
        }
    }

    fn expire(&mut self, cutoff_ms: i64) {
        match self {
            KindState::Match => {}
            KindState::Threshold(t) => drop(t.expire(cutoff_ms)),
            KindState::Distinct(t) => drop(t.expire(cutoff_ms)),
            KindState::Ratio(t) => drop(t.expire(cutoff_ms)),
            KindState::Sequence(t) => drop(t.expire(cutoff_ms)),
            KindState::NewValue(t) => drop(t.expire(cutoff_ms)),
            KindState::Velocity(t) => drop(t.expire(cutoff_ms)),
            KindState::Baseline(b) => drop(b.table.expire(cutoff_ms)),
        }
    }
}

/// One rule's runtime in an engine.
struct RuleRuntime {
    index: usize,
    /// Index of the rule's group_by list in the engine's key cache.
    group: usize,
    /// The rule's filter without the tests its gate answers.
    filter: Cond,
    has_allow: bool,
    state: KindState,
    alerts: OpenAlerts,
    ttl_ms: i64,
    max_open: usize,
    events_matched: u64,
    /// The watermark at or after which housekeeping has something to do.
    next_due_ms: i64,
}

/// Evaluates the rules of one shard over a stream of events.
pub struct Engine {
    rules: Arc<RuleSet>,
    runtimes: Vec<RuleRuntime>,
    watermark_ms: i64,
    events: u64,
    late_events: u64,
    /// The distinct group_by lists of the shard's rules, and each one's key for the current
    /// event (built at most once per event, shared by rules grouping alike).
    keys: Vec<KeyCache>,
    /// Hashes keys for every table of the engine (so a key is hashed once per event).
    hasher: KeyHasher,
    /// Cheap tests answered once per event, and what each rule (in `runtimes` order) needs of
    /// them.
    atoms: gate::Atoms,
    gates: Vec<gate::Gate>,
    /// The rules each mask admits, found without visiting the others.
    admission: gate::Admission,
    /// Every rule (positions in `runtimes`), as a set like the admitted ones.
    every: Vec<u64>,
    /// At most the earliest `next_due_ms` of the rules: until the watermark reaches it, no
    /// rule has housekeeping to do.
    due_min_ms: i64,
    scratch: String,
    cache: EvalCache,
    /// Text of addresses recently written into keys.
    ipv4_texts: Ipv4Texts,
}

impl Engine {
    /// An engine evaluating the rules whose index % shard_count == shard_index (so N threads
    /// can split the rules; every shard sees every event).
    pub fn new(
        rules: Arc<RuleSet>,
        limits: Limits,
        shard_index: usize,
        shard_count: usize,
    ) -> Engine {
        assert!(
            shard_count >= 1 && shard_index < shard_count,
            "shard {shard_index} of {shard_count}"
        );
        let indices: Vec<usize> =
            (0..rules.len()).filter(|i| i % shard_count == shard_index).collect();
        Engine::with_rules(rules, &limits, &indices)
    }

    pub(crate) fn with_rules(rules: Arc<RuleSet>, limits: &Limits, indices: &[usize]) -> Engine {
        let mut keys: Vec<KeyCache> = Vec::new();
        let hasher = KeyHasher::default();
        let mut atoms = gate::Atoms::default();
        let mut gates = Vec::with_capacity(indices.len());
        let runtimes = indices
            .iter()
            .map(|&index| {
                let rule = &rules.inner.rules[index];
                let max_keys = rule.max_keys.unwrap_or(limits.max_keys_per_rule).max(1);
                let group = match keys.iter().position(|k| k.group_by == rule.group_by) {
                    Some(g) => g,
                    None => {
                        keys.push(KeyCache {
                            group_by: rule.group_by.clone(),
                            event: u64::MAX,
                            present: false,
                            text: String::with_capacity(64),
                            hash: 0,
                        });
                        keys.len() - 1
                    }
                };
                let (gate, filter) = gate::compile(&rule.filter, &rule.group_by, &mut atoms);
                gates.push(gate);
                RuleRuntime {
                    index,
                    group,
                    filter,
                    has_allow: !rule.allow.is_empty(),
                    state: KindState::new(&rule.kind, max_keys, &hasher),
                    alerts: OpenAlerts::default(),
                    ttl_ms: rule.kind.key_ttl_ms(),
                    max_open: limits.max_open_alerts_per_rule.max(1),
                    events_matched: 0,
                    next_due_ms: i64::MAX,
                }
            })
            .collect();
        let mut cache = EvalCache::default();
        cache.request_all = prescan::request_classes_of(&rules, indices);
        let admission = gate::Admission::new(gates.len());
        let every = gate::every_rule(gates.len());
        Engine {
            rules,
            runtimes,
            watermark_ms: i64::MIN,
            events: 0,
            late_events: 0,
            keys,
            hasher,
            atoms,
            gates,
            admission,
            every,
            due_min_ms: i64::MAX,
            scratch: String::with_capacity(64),
            cache,
            ipv4_texts: Ipv4Texts::default(),
        }
    }

    /// Live mode: each alert is emitted the moment its rule fires, and emitted again (same
    /// id, updated count, span and evidence) when it closes if more hits came meanwhile.
    /// Replays leave it off: an alert then comes out once, complete, when it closes.
    pub fn raise_on_open(&mut self, on: bool) {
        for rt in &mut self.runtimes {
            rt.alerts.raise_on_open = on;
        }
    }

    /// The latest event time seen (`i64::MIN` before the first event).
    pub fn watermark_ms(&self) -> i64 {
        self.watermark_ms
    }

    /// Feeds one event. Events should come in event-time order; small disorder is tolerated
    /// (a late event is judged against the windows its actors have reached).
    pub fn process(&mut self, ev: &Event, out: &mut Vec<Alert>) {
        self.process_prescanned(ev, Prescan::NONE, out);
    }

    /// [`Engine::process`], given the event's request scan (see [`Prescanner`]).
    pub fn process_prescanned(&mut self, ev: &Event, pre: Prescan, out: &mut Vec<Alert>) {
        let t = ev.timestamp_ms;
        self.events += 1;
        if t < self.watermark_ms {
            self.late_events += 1;
        } else {
            self.watermark_ms = t;
        }
        let wm = self.watermark_ms;
        self.cache.next_event();
        self.cache.set_request_scan(pre.scanned, pre.found);
        let Engine {
            rules,
            runtimes,
            events,
            keys,
            hasher,
            atoms,
            gates,
            admission,
            every,
            due_min_ms,
            scratch,
            cache,
            ipv4_texts,
            ..
        } = self;
        let set = &**rules;
        let det = &set.inner.detector;
        let mask = atoms.eval(ev, det, cache);
        let admitted = admission.admitted(mask, gates);
        // When some rule's housekeeping may be due, every rule is walked (housekeeping first,
        // as before any event of the rule's); otherwise only the admitted ones, in rule order.
        let due = wm >= *due_min_ms;
        let walk: &[u64] = if due { every } else { admitted };
        for (w, &word) in walk.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let pos = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let rt = &mut runtimes[pos];
                let rule = &set.inner.rules[rt.index];
                if due {
                    if wm >= rt.next_due_ms {
                        rt.housekeeping(rule, wm, false, out);
                    }
                    if admitted[w] & (1 << (pos % 64)) == 0 {
                        continue;
                    }
                }
                if rt.has_allow && rule.allow.allows(ev) {
                    continue;
                }
                if !rt.filter.eval(ev, det, cache) {
                    continue;
                }
                let key = &mut keys[rt.group];
                if key.event != *events {
                    key.event = *events;
                    key.present = build_key(&key.group_by, ev, &mut key.text, ipv4_texts);
                    if key.present {
                        key.hash = hasher.key(&key.text).hash();
                    }
                }
                if !key.present {
                    continue;
                }
                rt.events_matched += 1;
                let key = Key::with_hash(&key.text, key.hash);
                rt.on_event(rule, ev, key, det, cache, scratch, out);
                *due_min_ms = (*due_min_ms).min(rt.next_due_ms);
            }
        }
        if due {
            // Housekeeping moved due times later: find the earliest again.
            *due_min_ms = runtimes.iter().map(|rt| rt.next_due_ms).min().unwrap_or(i64::MAX);
        }
    }

    /// End of input: judges baseline buckets under way and closes every open alert.
    pub fn finish(&mut self, out: &mut Vec<Alert>) {
        let set = &*self.rules;
        let wm = self.watermark_ms;
        for rt in &mut self.runtimes {
            let rule = &set.inner.rules[rt.index];
            rt.housekeeping(rule, wm, true, out);
            rt.alerts.close_all(rule, out);
            rt.next_due_ms = i64::MAX;
        }
    }

    /// Counters per rule.
    pub fn stats(&self) -> EngineStats {
        let set = &*self.rules;
        EngineStats {
            events: self.events,
            late_events: self.late_events,
            rules: self
                .runtimes
                .iter()
                .map(|rt| {
                    let (live, peak, evictions, _) = rt.state.table_stats();
                    RuleStats {
                        rule: set.inner.rules[rt.index].info.id.clone(),
                        events_matched: rt.events_matched,
                        live_keys: live as u64,
                        peak_keys: peak as u64,
                        evictions,
                        alerts: rt.alerts.emitted,
                        open_alerts: rt.alerts.len() as u64,
                        alerts_closed_early: rt.alerts.closed_early,
                    }
                })
                .collect(),
        }
    }
}

impl RuleRuntime {
    #[allow(clippy::too_many_arguments)]
    fn on_event(
        &mut self,
        rule: &Rule,
        ev: &Event,
        key: Key<'_>,
        det: &crate::injection::InjectionDetector,
        cache: &mut EvalCache,
        scratch: &mut String,
        out: &mut Vec<Alert>,
    ) {
        let t = ev.timestamp_ms;
        let outcome = match (&mut self.state, &rule.kind) {
            (KindState::Match, _) => Outcome::Fire(Box::new(Fire::at(t))),
            (KindState::Threshold(table), Kind::Threshold { window_ms, min_count }) => {
                window::threshold(table, key, ev, *window_ms, *min_count)
            }
            (KindState::Distinct(table), Kind::Distinct { field, window_ms, min_distinct }) => {
                let Some(h) = value_hash(ev.get(field), scratch) else { return };
                window::distinct(table, key, ev, h, *window_ms, *min_distinct)
            }
            (
                KindState::Ratio(table),
                Kind::Ratio { matching, window_ms, min_ratio, min_events },
            ) => {
                let matched = matching.eval(ev, det, cache);
                window::ratio(table, key, t, matched, *window_ms, *min_ratio, *min_events)
            }
            (KindState::Sequence(table), Kind::Sequence { steps, within_ms }) => {
                sequence::sequence(table, key, ev, steps, *within_ms, det, cache)
            }
            (
                KindState::NewValue(table),
                Kind::NewValue { field, learn_ms, min_key_events, max_values_per_key, .. },
            ) => {
                let v = ev.get(field);
                let Some(h) = value_hash(v, scratch) else { return };
                let show = !matches!(field, Field::Header(_) | Field::UrlQuery);
                new_value::new_value(
                    table,
                    key,
                    t,
                    v,
                    h,
                    *learn_ms,
                    *min_key_events,
                    *max_values_per_key,
                    show,
                )
            }
            (
                KindState::Velocity(table),
                Kind::Velocity { max_speed_kmh, min_distance_km, concurrent_window_ms },
            ) => velocity::velocity(
                table,
                key,
                ev,
                *max_speed_kmh,
                *min_distance_km,
                *concurrent_window_ms,
            ),
            (KindState::Baseline(b), Kind::Baseline(spec)) => {
                let value = match &spec.sum {
                    None => 1.0,
                    Some(f) => match ev.get(f).as_i64() {
                        Some(v) => v as f64,
                        None => return,
                    },
                };
                if let Some((fire, at)) = b.on_event(spec, key, ev, value) {
                    self.alerts.apply(
                        rule,
                        key.text,
                        Outcome::Fire(fire),
                        None,
                        at,
                        self.max_open,
                        out,
                    );
                    self.update_due(rule);
                } else {
                    // Without a firing, the due time can only have come earlier through a
                    // bucket opened or an actor entering an empty table (otherwise the oldest
                    // actor stays or gets younger). A due time too early costs a visit that
                    // finds nothing to do, one too late would delay housekeeping: the due time
                    // stays at most the exact one, without recomputing it every event.
                    let mut due = self.next_due_ms.min(b.next_close_ms);
                    if self.ttl_ms > 0 {
                        due = due.min(t.saturating_add(self.ttl_ms));
                    }
                    self.next_due_ms = due;
                }
                return;
            }
            _ => unreachable!("a rule's state matches its kind"),
        };
        let fired = matches!(outcome, Outcome::Fire(_));
        self.alerts.apply(rule, key.text, outcome, Some(ev), t, self.max_open, out);
        if fired || self.next_due_ms == i64::MAX {
            self.update_due(rule);
        }
    }

    /// Closes due alerts, expires idle actors, judges ended baseline buckets.
    fn housekeeping(&mut self, rule: &Rule, wm: i64, finish: bool, out: &mut Vec<Alert>) {
        self.alerts.close_due(rule, wm, out);
        if !finish && self.ttl_ms > 0 {
            self.state.expire(wm.saturating_sub(self.ttl_ms));
        }
        if let (KindState::Baseline(b), Kind::Baseline(spec)) = (&mut self.state, &rule.kind) {
            let alerts = &mut self.alerts;
            let max_open = self.max_open;
            b.sweep(spec, wm, finish, &mut |key, fire, at| {
                // The bucket's evidence is the firing's own (`early`).
                alerts.apply(rule, key, Outcome::Fire(Box::new(fire)), None, at, max_open, out);
            });
            self.alerts.close_due(rule, wm, out);
        }
        self.update_due(rule);
    }

    fn update_due(&mut self, _rule: &Rule) {
        let mut due = self.alerts.next_deadline_ms().unwrap_or(i64::MAX);
        if self.ttl_ms > 0 {
            if let (_, _, _, Some(oldest)) = self.state.table_stats() {
                due = due.min(oldest.saturating_add(self.ttl_ms));
            }
        }
        if let KindState::Baseline(b) = &self.state {
            due = due.min(b.next_close_ms);
        }
        self.next_due_ms = due;
    }
}

/// One group_by list's key for the current event.
struct KeyCache {
    group_by: Vec<Field>,
    /// The event (engine event count) the key was built for.
    event: u64,
    present: bool,
    text: String,
    /// The hash of `text` for the engine's tables.
    hash: u64,
}

/// Slots of [`Ipv4Texts`] (a power of two): about 40 bytes each.
const IPV4_TEXT_SLOTS_COUNT: usize = 1024;

/// The text of IPv4 addresses recently written into keys, direct-mapped by address: clients
/// repeat, and copying a remembered text costs a fraction of formatting it again.
struct Ipv4Texts {
    /// (address, its text); an empty text marks a slot never filled.
    slots: Box<[(u32, String)]>,
}

impl Default for Ipv4Texts {
    fn default() -> Ipv4Texts {
        Ipv4Texts { slots: vec![(0, String::new()); IPV4_TEXT_SLOTS_COUNT].into_boxed_slice() }
    }
}

impl Ipv4Texts {
    /// Appends the text of `ip` (the same as its `Display`).
    #[inline]
    fn write(&mut self, ip: std::net::Ipv4Addr, buf: &mut String) {
        let bits = u32::from(ip);
        // Multiplicative hashing: the top bits depend on every octet.
        let i = (bits.wrapping_mul(0x9e37_79b1) >> (32 - IPV4_TEXT_SLOTS_COUNT.trailing_zeros()))
            as usize;
        let (at, text) = &mut self.slots[i];
        if *at != bits || text.is_empty() {
            text.clear();
            v4_text(ip, text);
            *at = bits;
        }
        buf.push_str(text);
    }
}

/// Appends the text of an IPv4 address, without `fmt`.
fn v4_text(ip: std::net::Ipv4Addr, buf: &mut String) {
    // Written on the stack and appended at once: one capacity check, not one per digit.
    let mut text = [0u8; 15];
    let mut n = 0;
    for (i, o) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            text[n] = b'.';
            n += 1;
        }
        if o >= 100 {
            text[n] = b'0' + o / 100;
            n += 1;
        }
        if o >= 10 {
            text[n] = b'0' + o / 10 % 10;
            n += 1;
        }
        text[n] = b'0' + o % 10;
        n += 1;
    }
    buf.push_str(std::str::from_utf8(&text[..n]).expect("digits and dots"));
}

/// Appends a value as text, formatting addresses and numbers without `fmt` (which costs more
/// than the rest of a rule on the hot path). The text is the same as `Value::write_to`'s.
fn write_value(v: Value<'_>, buf: &mut String, ipv4: &mut Ipv4Texts) -> bool {
    fn u8_text(n: u8, buf: &mut String) {
        if n >= 100 {
            buf.push((b'0' + n / 100) as char);
        }
        if n >= 10 {
            buf.push((b'0' + n / 10 % 10) as char);
        }
        buf.push((b'0' + n % 10) as char);
    }
    match v {
        Value::Str(s) => buf.push_str(s),
        Value::Ip(std::net::IpAddr::V4(ip)) => ipv4.write(ip, buf),
        Value::Net(std::net::IpAddr::V4(ip), len) => {
            ipv4.write(ip, buf);
            buf.push('/');
            u8_text(len, buf);
        }
        other => return other.write_to(buf),
    }
    true
}

/// Writes the actor key (group_by values separated by U+001F) into `buf`. False when a value
/// is missing or empty: such events are skipped by the rule.
fn build_key(group_by: &[Field], ev: &EventData, buf: &mut String, ipv4: &mut Ipv4Texts) -> bool {
    buf.clear();
    for (i, f) in group_by.iter().enumerate() {
        if i > 0 {
            buf.push(KEY_SEPARATOR);
        }
        let start = buf.len();
        let v = ev.get(f);
        if !write_value(v, buf, ipv4) || buf.len() == start {
            return false;
        }
        // Only text can hold the separator (addresses and numbers cannot).
        if matches!(v, Value::Str(_) | Value::List(_)) && buf.as_bytes()[start..].contains(&0x1f) {
            // Keeps two values from forging one key with a separator of their own.
            let v = buf[start..].replace(KEY_SEPARATOR, "\u{fffd}");
            buf.truncate(start);
            buf.push_str(&v);
        }
    }
    true
}

const VALUE_HASH: foldhash::quality::FixedState =
    foldhash::quality::FixedState::with_seed(0x6170_6977_6174_6368);

/// A deterministic 64-bit hash of a value's text; `None` when absent or empty.
fn value_hash(v: Value<'_>, scratch: &mut String) -> Option<u64> {
    let text: &str = match v {
        Value::Absent => return None,
        Value::Str(s) => s,
        other => {
            scratch.clear();
            other.write_to(scratch);
            scratch
        }
    };
    if text.is_empty() {
        return None;
    }
    // A fixed seed (unlike a map's random one): the same value hashes the same in every shard
    // and every run of this build.
    Some(VALUE_HASH.hash_one(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key text of addresses and networks is `Value::write_to`'s, whether formatted anew
    /// or remembered (addresses repeat, and many share a slot of the small table).
    #[test]
    fn write_value_formats_like_write_to() {
        let mut x = 0x9e37_79b9u32;
        let mut values: Vec<std::net::Ipv4Addr> =
            ["0.0.0.0", "255.255.255.255", "10.0.0.1", "100.20.3.99", "9.99.199.200"]
                .iter()
                .map(|s| s.parse().unwrap())
                .collect();
        for _ in 0..5_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            values.push(x.into());
        }
        // Addresses seen again, near and far apart, after others took their slots.
        let again: Vec<_> = values.iter().step_by(3).copied().collect();
        values.extend(again);
        values.extend_from_within(..64);
        let mut texts = Ipv4Texts::default();
        for ip in values {
            for v in [Value::Ip(ip.into()), Value::Net(ip.into(), ip.octets()[3] % 33)] {
                let (mut fast, mut slow) = (String::from("k"), String::from("k"));
                assert!(write_value(v, &mut fast, &mut texts));
                assert!(v.write_to(&mut slow));
                assert_eq!(fast, slow);
            }
        }
    }
}
