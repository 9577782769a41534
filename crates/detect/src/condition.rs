//! Conditions (`where`, `matching`, `steps[].where`): compiled once from the rule's YAML into
//! native matchers, evaluated per event without interpreting any text of the rule.
//!
//! A field is resolved to a [`Field`] at load time; literal lists become small vectors or hash
//! sets, prefix and substring lists Aho-Corasick automata, regular expression lists one
//! `RegexSet`, networks sorted integer ranges. The entries of a condition are ordered cheapest
//! first (all must hold, so the order changes cost, not meaning).

use crate::injection::{AttackClass, AttackSet, InjectionDetector};
use crate::load::{suggest, Cx};
use crate::yaml::{Node, Yaml};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Anchored, Input, StartKind};
use apiwatch_core::{EventData, Field, UaClass, Value};
use hashbrown::{DefaultHashBuilder, HashSet};
use std::hash::BuildHasher;
use std::net::IpAddr;

/// Tests at least this costly are shared between rules (remembered per event); cheaper ones
/// cost less to run again than to look up.
const SHARED_COST_MIN: u32 = 4;

/// Above this many literals a list is a hash set (or an automaton) instead of a scan.
const SMALL_LIST_MAX: usize = 8;

/// A compiled condition.
#[derive(Clone, Debug)]
pub(crate) enum Cond {
    /// No condition (a rule without `where`).
    True,
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    Field(Field, Test),
    /// A field test whose result is remembered for the event under `id`: the same test in
    /// several rules (a login-path regex, `event.outcome: failure`) runs once per event.
    Shared(u32, Field, Test),
    /// `request: {attack: [...]}`: anywhere the client controls.
    RequestAttack(AttackSet),
}

/// A compiled matcher on one field's value.
#[derive(Clone, Debug)]
pub(crate) enum Test {
    Exists(bool),
    Not(Box<Test>),
    All(Vec<Test>),
    IntEq(Vec<i64>),
    /// Inclusive bounds.
    Range(i64, i64),
    StrEq(StrSet),
    Prefix(Affixes),
    Suffix(Affixes),
    Contains(AhoCorasick),
    Regex(Box<RegexList>),
    Cidr(IpRanges),
    IpEq(Vec<IpAddr>),
    NetEq(Vec<(IpAddr, u8)>),
    Attack(AttackSet),
}

/// Per-event scratch space and caches, reused across events and rules.
#[derive(Default)]
pub(crate) struct EvalCache {
    /// Text of a non-string value (an address, a number) for string matchers.
    scratch: String,
    /// Lower-cased text for case-insensitive set lookups.
    lower: String,
    /// Lower-cased bytes for case-insensitive suffix lookups.
    lower_bytes: Vec<u8>,
    /// Classes already looked for in the request, and those found.
    request: (AttackSet, AttackSet),
    /// Every class the rules evaluated with this cache look for in requests: the first rule
    /// that needs a request scan scans for all of them, so an event is decoded once.
    pub request_all: AttackSet,
    /// The same per field, for `field: {attack: ...}`.
    fields: Vec<(Field, AttackSet, AttackSet)>,
    /// Results of shared tests: (event epoch, result) by test id.
    memo: Vec<(u32, bool)>,
    /// Changes with every event, so that `memo` never needs clearing.
    epoch: u32,
    /// Injection results of repeated request values, across events.
    values: crate::injection::ValueMemo,
    /// Results of costly shared tests by value, across events.
    verdicts: Verdicts,
    /// The last value hashed for `verdicts` in this event: (epoch, address, length, hash).
    /// Several tests on one field (two regular expressions on the path) hash it once.
    last_hash: (u32, usize, usize, u64),
}

impl EvalCache {
    /// Takes the current event's request scan as done: `scanned` looked for, `found` found.
    pub fn set_request_scan(&mut self, scanned: AttackSet, found: AttackSet) {
        self.request = (scanned, found);
    }

    /// The current event's request scan so far: (classes looked for, classes found).
    pub fn request_scan(&self) -> (AttackSet, AttackSet) {
        self.request
    }

    /// Forgets the previous event's injection results.
    pub fn next_event(&mut self) {
        self.request = (AttackSet::EMPTY, AttackSet::EMPTY);
        self.fields.clear();
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            // Wrapped: old entries could look current.
            self.memo.iter_mut().for_each(|m| *m = (0, false));
            self.last_hash = (0, 0, 0, 0);
            self.epoch = 1;
        }
    }
}

impl Cond {
    /// Whether the event satisfies the condition.
    ///
    /// Most nodes a rule visits are field tests; they are answered here, inline, and only the
    /// other nodes go through a call, so that a visit costs a few instructions rather than a
    /// function's frame.
    #[inline(always)]
    pub fn eval(&self, ev: &EventData, det: &InjectionDetector, cache: &mut EvalCache) -> bool {
        match self {
            Cond::Field(f, t) => t.eval(f, ev.get(f), det, cache),
            Cond::True => true,
            // Every `request` test of an event after the first reads the first one's scan.
            Cond::RequestAttack(wanted) if wanted.difference(cache.request.0).is_empty() => {
                !cache.request.1.intersection(*wanted).is_empty()
            }
            _ => self.eval_node(ev, det, cache),
        }
    }

    #[inline(never)]
    fn eval_node(&self, ev: &EventData, det: &InjectionDetector, cache: &mut EvalCache) -> bool {
        match self {
            Cond::All(cs) => cs.iter().all(|c| c.eval(ev, det, cache)),
            Cond::Any(cs) => cs.iter().any(|c| c.eval(ev, det, cache)),
            Cond::Not(c) => !c.eval(ev, det, cache),
            Cond::Shared(id, f, t) => eval_shared(*id, f, t, ev, det, cache),
            Cond::RequestAttack(wanted) => eval_request(*wanted, ev, det, cache),
            Cond::True | Cond::Field(..) => self.eval(ev, det, cache),
        }
    }

    /// Every class the condition may look for in requests (`request: {attack: ...}`).
    pub fn request_classes(&self) -> AttackSet {
        match self {
            Cond::True | Cond::Field(..) | Cond::Shared(..) => AttackSet::EMPTY,
            Cond::All(cs) | Cond::Any(cs) => {
                cs.iter().fold(AttackSet::EMPTY, |a, c| a.union(c.request_classes()))
            }
            Cond::Not(c) => c.request_classes(),
            Cond::RequestAttack(s) => *s,
        }
    }

    /// A rough relative cost, to order the entries of a condition.
    fn cost(&self) -> u32 {
        match self {
            Cond::True => 0,
            Cond::All(cs) | Cond::Any(cs) => cs.iter().map(Cond::cost).sum(),
            Cond::Not(c) => c.cost(),
            Cond::Field(f, t) | Cond::Shared(_, f, t) => {
                t.cost() + u32::from(matches!(f, Field::Header(_) | Field::Label(_)))
            }
            Cond::RequestAttack(_) => 400,
        }
    }
}

/// A shared test: its result is remembered for the event under `id`, and, for a costly test
/// of a short text value, across events for that value (paths and routes repeat, and a regular
/// expression costs hundreds of instructions where a lookup costs tens).
#[inline(never)]
fn eval_shared(
    id: u32,
    f: &Field,
    t: &Test,
    ev: &EventData,
    det: &InjectionDetector,
    cache: &mut EvalCache,
) -> bool {
    let slot = id as usize;
    if let Some(&(epoch, result)) = cache.memo.get(slot) {
        if epoch == cache.epoch {
            return result;
        }
    }
    let v = ev.get(f);
    let result = match v {
        Value::Str(s) if t.is_costly() && s.len() <= VERDICT_VALUE_BYTES_MAX => {
            // The event does not change while it is evaluated: the same text at the same
            // address within one epoch is the same value.
            let value_hash = match cache.last_hash {
                (epoch, at, len, h)
                    if epoch == cache.epoch && at == s.as_ptr() as usize && len == s.len() =>
                {
                    h
                }
                _ => {
                    let h = cache.verdicts.hash_value(s);
                    cache.last_hash = (cache.epoch, s.as_ptr() as usize, s.len(), h);
                    h
                }
            };
            let hash = Verdicts::hash_of(id, value_hash);
            match cache.verdicts.get(hash, id, s) {
                Some(result) => result,
                None => {
                    let result = t.eval(f, v, det, cache);
                    cache.verdicts.put(hash, id, s, result);
                    result
                }
            }
        }
        v => t.eval(f, v, det, cache),
    };
    if slot >= cache.memo.len() {
        cache.memo.resize(slot + 1, (0, false));
    }
    cache.memo[slot] = (cache.epoch, result);
    result
}

/// Longest value whose results of costly tests are remembered across events, in bytes.
const VERDICT_VALUE_BYTES_MAX: usize = 256;

/// Sets of [`Verdicts`] (a power of two), of [`VERDICT_WAYS`] entries each: 8 192 entries
/// in all, each holding its value's text (at most [`VERDICT_VALUE_BYTES_MAX`] bytes).
const VERDICT_SETS_COUNT: usize = 4_096;

/// Entries per set of [`Verdicts`].
const VERDICT_WAYS: usize = 2;

/// One remembered (test, value) result.
#[derive(Default)]
struct Verdict {
    /// The entry hash ([`Verdicts::hash_of`]), compared before the text.
    hash: u64,
    id: u32,
    result: bool,
    filled: bool,
    /// Reused from one value to the next, so that storing a result seldom allocates.
    value: String,
}

/// Results of costly shared tests by (test id, value), across events: a set-associative
/// table, the set chosen by hash, the least recently used entry of a set replaced. A hit
/// compares the full hash, the id and the text, so a result is only ever that of its own
/// test on its own value. The hasher is seeded at random per process (the values are client
/// text); nothing depends on which entries are kept.
#[derive(Default)]
struct Verdicts {
    /// `VERDICT_WAYS` entries per set, the most recently used first; allocated with the
    /// first result.
    entries: Vec<Verdict>,
    hasher: DefaultHashBuilder,
    /// Results dropped to make room.
    replaced: u64,
}

impl Verdicts {
    fn hash_value(&self, value: &str) -> u64 {
        self.hasher.hash_one(value)
    }

    /// The entry hash of test `id` on a value hashing to `value_hash`: the id spread over
    /// every bit, so that tests on one value take different places.
    fn hash_of(id: u32, value_hash: u64) -> u64 {
        value_hash ^ u64::from(id).wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    /// The first entry of the set of `hash`.
    fn set_of(hash: u64) -> usize {
        (hash as usize & (VERDICT_SETS_COUNT - 1)) * VERDICT_WAYS
    }

    fn get(&mut self, hash: u64, id: u32, value: &str) -> Option<bool> {
        let at = Verdicts::set_of(hash);
        let set = self.entries.get_mut(at..at + VERDICT_WAYS)?;
        let way = set.iter().position(|e| {
            e.hash == hash && e.filled && e.id == id && crate::keytable::same_text(&e.value, value)
        })?;
        let result = set[way].result;
        // Most recently used first.
        set[..=way].rotate_right(1);
        Some(result)
    }

    fn put(&mut self, hash: u64, id: u32, value: &str, result: bool) {
        if self.entries.is_empty() {
            self.entries.resize_with(VERDICT_SETS_COUNT * VERDICT_WAYS, Verdict::default);
        }
        let at = Verdicts::set_of(hash);
        let set = &mut self.entries[at..at + VERDICT_WAYS];
        // The least recently used entry becomes the first, its text buffer reused.
        set.rotate_right(1);
        let e = &mut set[0];
        if e.filled {
            self.replaced += 1;
        }
        e.hash = hash;
        e.id = id;
        e.result = result;
        e.filled = true;
        e.value.clear();
        e.value.push_str(value);
    }
}

/// `request: {attack: wanted}`: the first such test of an event scans the request for every
/// class the cache's rules look for; the others read that result.
#[inline(never)]
fn eval_request(
    wanted: AttackSet,
    ev: &EventData,
    det: &InjectionDetector,
    cache: &mut EvalCache,
) -> bool {
    let (scanned, found) = cache.request;
    let found = if wanted.difference(scanned).is_empty() {
        found
    } else {
        let missing = cache.request_all.union(wanted).difference(scanned);
        let found = found.union(det.scan_request_memo(ev, missing, &mut cache.values));
        cache.request = (scanned.union(missing), found);
        found
    };
    !found.intersection(wanted).is_empty()
}

impl Test {
    /// Whether the field's value `v` passes. The common matchers on their usual value types
    /// are answered inline; everything else goes through [`Test::eval_general`].
    #[inline(always)]
    pub(crate) fn eval(
        &self,
        f: &Field,
        v: Value<'_>,
        det: &InjectionDetector,
        cache: &mut EvalCache,
    ) -> bool {
        match (self, v) {
            (Test::Exists(want), v) => v.is_absent() != *want,
            (Test::IntEq(list), Value::Int(i)) => list.contains(&i),
            (Test::Range(lo, hi), Value::Int(i)) => *lo <= i && i <= *hi,
            (Test::StrEq(set), Value::Str(s)) => set.contains(s, &mut cache.lower),
            (Test::Not(_) | Test::All(_), _) => self.eval_general(f, v, det, cache),
            (_, Value::Absent) => false,
            _ => self.eval_general(f, v, det, cache),
        }
    }

    #[inline(never)]
    fn eval_general(
        &self,
        f: &Field,
        v: Value<'_>,
        det: &InjectionDetector,
        cache: &mut EvalCache,
    ) -> bool {
        match self {
            Test::Exists(want) => v.is_absent() != *want,
            Test::Not(t) => !t.eval(f, v, det, cache),
            Test::All(ts) => ts.iter().all(|t| t.eval(f, v, det, cache)),
            _ => match v {
                Value::Absent => false,
                // A list field matches when any element does.
                Value::List(items) => {
                    items.iter().any(|s| self.atom(f, Value::Str(s), false, det, cache))
                }
                v => self.atom(f, v, true, det, cache),
            },
        }
    }

    /// One matcher on one present, non-list value. `cacheable`: the value is the field's
    /// whole value, so an injection result can be remembered for this event.
    fn atom(
        &self,
        f: &Field,
        v: Value<'_>,
        cacheable: bool,
        det: &InjectionDetector,
        cache: &mut EvalCache,
    ) -> bool {
        let EvalCache { scratch, lower, lower_bytes, fields, .. } = cache;
        match self {
            Test::IntEq(list) => v.as_i64().is_some_and(|i| list.contains(&i)),
            Test::Range(lo, hi) => v.as_i64().is_some_and(|i| *lo <= i && i <= *hi),
            Test::StrEq(set) => with_text(v, scratch, |s| set.contains(s, lower)),
            Test::Prefix(a) => with_text(v, scratch, |s| a.is_prefix(s.as_bytes())),
            Test::Suffix(a) => with_text(v, scratch, |s| a.is_suffix(s.as_bytes(), lower_bytes)),
            Test::Contains(ac) => with_text(v, scratch, |s| ac.is_match(s)),
            Test::Regex(r) => with_text(v, scratch, |s| r.is_match(s)),
            Test::Cidr(r) => ip_of(v).is_some_and(|ip| r.contains(ip)),
            Test::IpEq(list) => {
                ip_of(v).is_some_and(|ip| list.iter().any(|x| *x == ip.to_canonical()))
            }
            Test::NetEq(list) => match v {
                Value::Net(ip, len) => list.contains(&(ip, len)),
                Value::Str(s) => s
                    .parse::<ipnet::IpNet>()
                    .is_ok_and(|n| list.contains(&(n.trunc().addr(), n.prefix_len()))),
                _ => false,
            },
            Test::Attack(wanted) => {
                if cacheable {
                    if let Some((_, scanned, found)) = fields.iter().find(|(g, _, _)| g == f) {
                        if wanted.iter().all(|c| scanned.contains(c)) {
                            return !found.intersection(*wanted).is_empty();
                        }
                    }
                }
                let found = with_text(v, scratch, |s| det.scan_value(s, *wanted));
                if cacheable {
                    match fields.iter_mut().find(|(g, _, _)| g == f) {
                        Some(e) => {
                            e.1 = e.1.union(*wanted);
                            e.2 = e.2.union(found);
                        }
                        None => fields.push((f.clone(), *wanted, found)),
                    }
                }
                !found.is_empty()
            }
            Test::Exists(_) | Test::Not(_) | Test::All(_) => {
                debug_assert!(false, "handled by Test::eval");
                false
            }
        }
    }

    /// Whether a result is worth remembering per value across events (see [`eval_shared`]).
    fn is_costly(&self) -> bool {
        matches!(self, Test::Regex(_) | Test::Attack(_))
    }

    /// Whether the test is cheap and bounded enough to run once per event for every event,
    /// whichever rules the event reaches (see `engine::gate`): comparisons with a few literals,
    /// a set lookup, a range or a network search; never a scan of the value's text.
    pub(crate) fn is_cheap(&self) -> bool {
        match self {
            Test::Exists(_) | Test::Range(..) | Test::StrEq(_) | Test::Cidr(_) => true,
            Test::IntEq(l) => l.len() <= SMALL_LIST_MAX,
            Test::IpEq(l) => l.len() <= SMALL_LIST_MAX,
            Test::NetEq(l) => l.len() <= SMALL_LIST_MAX,
            Test::Not(t) => t.is_cheap(),
            Test::All(ts) => ts.iter().all(Test::is_cheap),
            Test::Prefix(_)
            | Test::Suffix(_)
            | Test::Contains(_)
            | Test::Regex(_)
            | Test::Attack(_) => false,
        }
    }

    /// Whether two cheap tests are the same matcher (so that they give the same result on
    /// every value). False for tests that are not cheap: they are never compared.
    pub(crate) fn same_as(&self, other: &Test) -> bool {
        match (self, other) {
            (Test::Exists(a), Test::Exists(b)) => a == b,
            (Test::Range(a, b), Test::Range(c, d)) => (a, b) == (c, d),
            (Test::IntEq(a), Test::IntEq(b)) => a == b,
            (Test::IpEq(a), Test::IpEq(b)) => a == b,
            (Test::NetEq(a), Test::NetEq(b)) => a == b,
            (Test::Cidr(a), Test::Cidr(b)) => a == b,
            (Test::StrEq(a), Test::StrEq(b)) => a.same_as(b),
            (Test::Not(a), Test::Not(b)) => a.same_as(b),
            (Test::All(a), Test::All(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_as(y))
            }
            _ => false,
        }
    }

    /// Whether the test can only hold for a present field.
    pub(crate) fn needs_presence(&self) -> bool {
        match self {
            Test::Exists(present) => *present,
            Test::Not(_) => false,
            Test::All(ts) => ts.iter().any(Test::needs_presence),
            _ => true,
        }
    }

    fn cost(&self) -> u32 {
        match self {
            Test::Exists(_) => 1,
            Test::IntEq(_) | Test::Range(..) | Test::IpEq(_) | Test::NetEq(_) => 2,
            Test::Cidr(_) | Test::StrEq(_) => 3,
            Test::Prefix(_) | Test::Suffix(_) => 4,
            Test::Contains(_) => 8,
            Test::Regex(_) => 20,
            Test::Attack(_) => 300,
            Test::Not(t) => t.cost(),
            Test::All(ts) => ts.iter().map(Test::cost).sum(),
        }
    }
}

/// Calls `f` with the value as text (formatting numbers and addresses into `scratch`).
fn with_text<R>(v: Value<'_>, scratch: &mut String, f: impl FnOnce(&str) -> R) -> R {
    match v {
        Value::Str(s) => f(s),
        other => {
            scratch.clear();
            other.write_to(scratch);
            f(scratch)
        }
    }
}

fn ip_of(v: Value<'_>) -> Option<IpAddr> {
    match v {
        Value::Ip(ip) => Some(ip),
        Value::Net(ip, _) => Some(ip),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A set of strings, exact or ASCII case-insensitive.
#[derive(Clone, Debug)]
pub(crate) struct StrSet {
    /// Lower-cased when `ignore_case`.
    small: Vec<Box<str>>,
    large: Option<HashSet<Box<str>>>,
    ignore_case: bool,
}

impl StrSet {
    fn new(items: Vec<String>, ignore_case: bool) -> StrSet {
        let mut items: Vec<Box<str>> = items
            .into_iter()
            .map(|s| if ignore_case { s.to_ascii_lowercase() } else { s }.into_boxed_str())
            .collect();
        items.sort();
        items.dedup();
        if items.len() > SMALL_LIST_MAX {
            StrSet { small: Vec::new(), large: Some(items.into_iter().collect()), ignore_case }
        } else {
            StrSet { small: items, large: None, ignore_case }
        }
    }

    /// The same strings, compared the same way.
    fn same_as(&self, other: &StrSet) -> bool {
        self.ignore_case == other.ignore_case
            && self.small == other.small
            && self.large == other.large
    }

    #[inline]
    fn contains(&self, s: &str, lower: &mut String) -> bool {
        match (&self.large, self.ignore_case) {
            (None, false) => self.small.iter().any(|x| x.as_bytes() == s.as_bytes()),
            _ => self.contains_general(s, lower),
        }
    }

    #[inline(never)]
    fn contains_general(&self, s: &str, lower: &mut String) -> bool {
        match (&self.large, self.ignore_case) {
            (None, false) => self.small.iter().any(|x| &**x == s),
            (None, true) => self.small.iter().any(|x| x.eq_ignore_ascii_case(s)),
            (Some(set), false) => set.contains(s),
            (Some(set), true) => {
                lower.clear();
                lower.push_str(s);
                lower.make_ascii_lowercase();
                set.contains(lower.as_str())
            }
        }
    }
}

/// Prefixes or suffixes, exact or ASCII case-insensitive.
#[derive(Clone, Debug)]
pub(crate) struct Affixes {
    /// Lower-cased when `ignore_case`.
    small: Vec<Box<[u8]>>,
    /// Many prefixes: one anchored automaton.
    automaton: Option<AhoCorasick>,
    /// Many suffixes: the sets of suffixes of each length.
    by_len: Vec<(usize, HashSet<Box<[u8]>>)>,
    ignore_case: bool,
}

impl Affixes {
    fn new(items: Vec<String>, ignore_case: bool, prefix: bool) -> Affixes {
        let mut pats: Vec<Box<[u8]>> = items
            .into_iter()
            .map(|s| {
                let s = if ignore_case { s.to_ascii_lowercase() } else { s };
                s.into_bytes().into_boxed_slice()
            })
            .collect();
        pats.sort();
        pats.dedup();
        let mut a = Affixes { small: Vec::new(), automaton: None, by_len: Vec::new(), ignore_case };
        if pats.len() <= SMALL_LIST_MAX {
            a.small = pats;
        } else if prefix {
            a.automaton = Some(
                AhoCorasickBuilder::new()
                    .start_kind(StartKind::Anchored)
                    .ascii_case_insensitive(ignore_case)
                    .build(&pats)
                    .expect("literal patterns always build"),
            );
        } else {
            for p in pats {
                match a.by_len.iter_mut().find(|(l, _)| *l == p.len()) {
                    Some((_, set)) => {
                        set.insert(p);
                    }
                    None => a.by_len.push((p.len(), HashSet::from([p]))),
                }
            }
            a.by_len.sort_by_key(|(l, _)| *l);
        }
        a
    }

    fn eq(&self, a: &[u8], b: &[u8]) -> bool {
        if self.ignore_case {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    }

    fn is_prefix(&self, s: &[u8]) -> bool {
        if let Some(ac) = &self.automaton {
            return ac.find(Input::new(s).anchored(Anchored::Yes)).is_some();
        }
        self.small.iter().any(|p| s.len() >= p.len() && self.eq(&s[..p.len()], p))
    }

    fn is_suffix(&self, s: &[u8], buf: &mut Vec<u8>) -> bool {
        if self.by_len.is_empty() {
            return self
                .small
                .iter()
                .any(|p| s.len() >= p.len() && self.eq(&s[s.len() - p.len()..], p));
        }
        for (len, set) in &self.by_len {
            if *len > s.len() {
                break;
            }
            let tail = &s[s.len() - len..];
            let hit = if self.ignore_case {
                buf.clear();
                buf.extend(tail.iter().map(u8::to_ascii_lowercase));
                set.contains(buf.as_slice())
            } else {
                set.contains(tail)
            };
            if hit {
                return true;
            }
        }
        false
    }
}

/// Regular expressions: one `Regex` or a `RegexSet`.
#[derive(Clone, Debug)]
pub(crate) enum RegexList {
    One(regex::Regex),
    Set(regex::RegexSet),
}

impl RegexList {
    fn is_match(&self, s: &str) -> bool {
        match self {
            RegexList::One(r) => r.is_match(s),
            RegexList::Set(r) => r.is_match(s),
        }
    }
}

/// Address ranges, sorted and merged, for binary search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct IpRanges {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl IpRanges {
    pub fn new(nets: &[ipnet::IpNet]) -> IpRanges {
        let mut r = IpRanges::default();
        for n in nets {
            match n {
                ipnet::IpNet::V4(n) => r.v4.push((n.network().into(), n.broadcast().into())),
                ipnet::IpNet::V6(n) => r.v6.push((n.network().into(), n.broadcast().into())),
            }
        }
        fn merge<T: Ord + Copy>(v: &mut Vec<(T, T)>) {
            v.sort();
            let mut out: Vec<(T, T)> = Vec::with_capacity(v.len());
            for &(a, b) in v.iter() {
                match out.last_mut() {
                    Some(last) if a <= last.1 => last.1 = last.1.max(b),
                    _ => out.push((a, b)),
                }
            }
            *v = out;
        }
        merge(&mut r.v4);
        merge(&mut r.v6);
        r
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        fn find<T: Ord + Copy>(v: &[(T, T)], x: T) -> bool {
            let i = v.partition_point(|(a, _)| *a <= x);
            i > 0 && x <= v[i - 1].1
        }
        match ip.to_canonical() {
            IpAddr::V4(a) => find(&self.v4, u32::from(a)),
            IpAddr::V6(a) => find(&self.v6, u128::from(a)),
        }
    }
}

/// What kind of values a field holds, for checking literals at load time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldType {
    Str,
    Int,
    Ip,
    Net,
    /// A string with a fixed set of values.
    Enum(&'static [&'static str]),
}

const OUTCOMES: &[&str] = &["success", "failure", "unknown"];
const UA_CLASSES: &[&str] =
    &["browser", "mobile-app", "library", "search-bot", "scanner", "monitor", "empty", "other"];

fn field_type(f: &Field) -> FieldType {
    debug_assert_eq!(UA_CLASSES.len(), UaClass::ALL.len());
    match f {
        Field::Timestamp
        | Field::SourcePort
        | Field::AsNumber
        | Field::StatusCode
        | Field::RequestBytes
        | Field::ResponseBytes
        | Field::ResponseRecords
        | Field::DurationNs => FieldType::Int,
        Field::SourceIp => FieldType::Ip,
        Field::SourceNetwork => FieldType::Net,
        Field::EventOutcome => FieldType::Enum(OUTCOMES),
        Field::UserAgentClass => FieldType::Enum(UA_CLASSES),
        _ => FieldType::Str,
    }
}

/// Whether a field holds numbers (labels may, as text), so that it can be summed.
pub(crate) fn is_numeric_field(f: &Field) -> bool {
    (field_type(f) == FieldType::Int && *f != Field::Timestamp) || matches!(f, Field::Label(_))
}

/// Resolves a field name, reporting unknown names with the closest known ones.
pub(crate) fn parse_field(cx: &mut Cx, node: &Node, path: &str) -> Option<Field> {
    let Some(name) = node.as_str() else {
        cx.err(node.loc, path, format!("expected a field name, found {}", node.type_name()));
        return None;
    };
    if let Some(f) = Field::parse(name) {
        return Some(f);
    }
    if name == "source.geo.location" {
        cx.err(
            node.loc,
            path,
            "source.geo.location cannot be matched or grouped on (velocity rules read it)",
        );
        return None;
    }
    let mut known: Vec<&str> = Field::known_names().collect();
    known.extend(["http.request.headers.<name>", "labels.<name>"]);
    cx.err(node.loc, path, format!("unknown field `{name}`{}", suggest(name, &known)));
    None
}

/// Compiles a condition mapping.
pub(crate) fn compile(cx: &mut Cx, node: &Node, path: &str) -> Option<Cond> {
    let Yaml::Map(entries) = &node.value else {
        cx.err(
            node.loc,
            path,
            format!(
                "expected a condition (a mapping of field names to matchers), found {}",
                node.type_name()
            ),
        );
        return None;
    };
    if entries.is_empty() {
        cx.err(node.loc, path, "an empty condition; leave the key out to match every event");
        return None;
    }
    let mut parts = Vec::new();
    let mut ok = true;
    for (k, v) in entries {
        let Some(key) = k.as_str() else {
            cx.err(k.loc, path, format!("expected a field name, found {}", k.type_name()));
            ok = false;
            continue;
        };
        let sub = format!("{path}.{key}");
        let part = match key {
            "any" | "all" => {
                let Yaml::Seq(items) = &v.value else {
                    cx.err(
                        v.loc,
                        &sub,
                        format!("expected a list of conditions, found {}", v.type_name()),
                    );
                    ok = false;
                    continue;
                };
                if items.is_empty() {
                    cx.err(v.loc, &sub, "expected at least one condition");
                    ok = false;
                    continue;
                }
                let mut cs = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match compile(cx, item, &format!("{sub}[{i}]")) {
                        Some(c) => cs.push(c),
                        None => ok = false,
                    }
                }
                if key == "any" {
                    Cond::Any(cs)
                } else {
                    Cond::All(cs)
                }
            }
            "not" => match compile(cx, v, &sub) {
                Some(c) => Cond::Not(Box::new(c)),
                None => {
                    ok = false;
                    continue;
                }
            },
            "request" => match request_attack(cx, v, &sub) {
                Some(set) => Cond::RequestAttack(set),
                None => {
                    ok = false;
                    continue;
                }
            },
            _ => {
                let Some(field) = parse_field(cx, k, &sub) else {
                    ok = false;
                    continue;
                };
                match test(cx, &field, v, &sub) {
                    Some(t) if t.cost() >= SHARED_COST_MIN => {
                        let id = cx.shared_id(&field, v);
                        Cond::Shared(id, field, t)
                    }
                    Some(t) => Cond::Field(field, t),
                    None => {
                        ok = false;
                        continue;
                    }
                }
            }
        };
        parts.push(part);
    }
    if !ok {
        return None;
    }
    Some(all_of(parts))
}

/// Several conditions that must all hold, cheapest first.
pub(crate) fn all_of(mut parts: Vec<Cond>) -> Cond {
    // Flatten nested `all`, then order by cost (stable, so equal costs keep file order).
    let mut flat = Vec::with_capacity(parts.len());
    for p in parts.drain(..) {
        match p {
            Cond::All(inner) => flat.extend(inner),
            Cond::True => {}
            other => flat.push(other),
        }
    }
    flat.sort_by_key(Cond::cost);
    match flat.len() {
        0 => Cond::True,
        1 => flat.pop().expect("one element"),
        _ => Cond::All(flat),
    }
}

fn request_attack(cx: &mut Cx, v: &Node, path: &str) -> Option<AttackSet> {
    let Yaml::Map(entries) = &v.value else {
        cx.err(v.loc, path, format!("expected {{attack: [classes]}}, found {}", v.type_name()));
        return None;
    };
    let mut set = None;
    for (k, val) in entries {
        match k.as_str() {
            Some("attack") => set = attack_set(cx, val, &format!("{path}.attack")),
            Some(other) => {
                cx.err(
                    k.loc,
                    path,
                    format!("unknown key `{other}`; `request` takes only `attack`"),
                );
                return None;
            }
            None => {
                cx.err(k.loc, path, "expected `attack`");
                return None;
            }
        }
    }
    if set.is_none() && entries.is_empty() {
        cx.err(v.loc, path, "missing `attack`");
    }
    set
}

fn attack_set(cx: &mut Cx, v: &Node, path: &str) -> Option<AttackSet> {
    let items = string_list(cx, v, path)?;
    let mut set = AttackSet::EMPTY;
    let mut ok = true;
    for (s, loc) in items {
        match AttackClass::parse(&s) {
            Some(c) => set.insert(c),
            None => {
                let names: Vec<&str> = AttackClass::ALL.iter().map(|c| c.as_str()).collect();
                cx.err(
                    loc,
                    path,
                    format!("unknown attack class `{s}`; known: {}", names.join(", ")),
                );
                ok = false;
            }
        }
    }
    if ok && set.is_empty() {
        cx.err(v.loc, path, "expected at least one attack class");
        return None;
    }
    ok.then_some(set)
}

/// A scalar or a list of scalars, as strings with their places.
pub(crate) fn string_list(
    cx: &mut Cx,
    v: &Node,
    path: &str,
) -> Option<Vec<(String, crate::yaml::Loc)>> {
    let one = |n: &Node| -> Option<String> {
        match &n.value {
            Yaml::Str(s) => Some(s.clone()),
            Yaml::Int(i) => Some(i.to_string()),
            Yaml::Float(f) => Some(f.to_string()),
            Yaml::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    };
    match &v.value {
        Yaml::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            let mut ok = true;
            for (i, it) in items.iter().enumerate() {
                match one(it) {
                    Some(s) => out.push((s, it.loc)),
                    None => {
                        cx.err(
                            it.loc,
                            &format!("{path}[{i}]"),
                            format!("expected a string, found {}", it.type_name()),
                        );
                        ok = false;
                    }
                }
            }
            if ok && out.is_empty() {
                cx.err(v.loc, path, "expected at least one value");
                return None;
            }
            ok.then_some(out)
        }
        _ => match one(v) {
            Some(s) => Some(vec![(s, v.loc)]),
            None => {
                cx.err(
                    v.loc,
                    path,
                    format!("expected a string or a list of strings, found {}", v.type_name()),
                );
                None
            }
        },
    }
}

const OPERATORS: &[&str] = &[
    "equals",
    "iequals",
    "prefix",
    "iprefix",
    "suffix",
    "isuffix",
    "contains",
    "icontains",
    "regex",
    "cidr",
    "gte",
    "gt",
    "lte",
    "lt",
    "exists",
    "not",
    "attack",
];

/// Compiles the matcher of one field.
fn test(cx: &mut Cx, field: &Field, v: &Node, path: &str) -> Option<Test> {
    match &v.value {
        Yaml::Null => {
            cx.err(v.loc, path, "expected a value, a list or a mapping of matchers (use {exists: false} for a missing field)");
            None
        }
        Yaml::Map(entries) => {
            if entries.is_empty() {
                cx.err(v.loc, path, "expected at least one matcher");
                return None;
            }
            let mut tests = Vec::new();
            let (mut lo, mut hi): (Option<i64>, Option<i64>) = (None, None);
            let mut ok = true;
            for (k, val) in entries {
                let Some(op) = k.as_str() else {
                    cx.err(
                        k.loc,
                        path,
                        format!("expected a matcher name, found {}", k.type_name()),
                    );
                    ok = false;
                    continue;
                };
                let sub = format!("{path}.{op}");
                let t = match op {
                    "gte" | "gt" | "lte" | "lt" => {
                        if matches!(field_type(field), FieldType::Ip | FieldType::Net) {
                            cx.err(
                                k.loc,
                                &sub,
                                format!(
                                    "{} holds addresses, not numbers; use `cidr`",
                                    field.name()
                                ),
                            );
                            ok = false;
                            continue;
                        }
                        let Some(n) = integer(cx, val, &sub) else {
                            ok = false;
                            continue;
                        };
                        match op {
                            "gte" => lo = Some(lo.map_or(n, |l| l.max(n))),
                            "gt" => match n.checked_add(1) {
                                Some(m) => lo = Some(lo.map_or(m, |l| l.max(m))),
                                None => hi = Some(i64::MIN),
                            },
                            "lte" => hi = Some(hi.map_or(n, |h| h.min(n))),
                            _ => match n.checked_sub(1) {
                                Some(m) => hi = Some(hi.map_or(m, |h| h.min(m))),
                                None => lo = Some(i64::MAX),
                            },
                        }
                        continue;
                    }
                    "exists" => match val.value {
                        Yaml::Bool(b) => Test::Exists(b),
                        _ => {
                            cx.err(
                                val.loc,
                                &sub,
                                format!("expected true or false, found {}", val.type_name()),
                            );
                            ok = false;
                            continue;
                        }
                    },
                    "not" => match test(cx, field, val, &sub) {
                        Some(t) => Test::Not(Box::new(t)),
                        None => {
                            ok = false;
                            continue;
                        }
                    },
                    "equals" => match equals(cx, field, val, &sub) {
                        Some(t) => t,
                        None => {
                            ok = false;
                            continue;
                        }
                    },
                    "attack" => {
                        if matches!(
                            field_type(field),
                            FieldType::Int | FieldType::Ip | FieldType::Net
                        ) {
                            cx.err(
                                k.loc,
                                &sub,
                                format!("{} cannot carry an injection", field.name()),
                            );
                            ok = false;
                            continue;
                        }
                        match attack_set(cx, val, &sub) {
                            Some(s) => Test::Attack(s),
                            None => {
                                ok = false;
                                continue;
                            }
                        }
                    }
                    "cidr" => match cidr(cx, field, val, &sub) {
                        Some(t) => t,
                        None => {
                            ok = false;
                            continue;
                        }
                    },
                    "regex" => match regex_list(cx, val, &sub) {
                        Some(t) => t,
                        None => {
                            ok = false;
                            continue;
                        }
                    },
                    "iequals" | "prefix" | "iprefix" | "suffix" | "isuffix" | "contains"
                    | "icontains" => {
                        let Some(items) = string_list(cx, val, &sub) else {
                            ok = false;
                            continue;
                        };
                        let items: Vec<String> = items.into_iter().map(|(s, _)| s).collect();
                        if items.iter().any(String::is_empty) && op != "iequals" {
                            cx.err(val.loc, &sub, "an empty string matches everything; remove it");
                            ok = false;
                            continue;
                        }
                        match op {
                            "iequals" => Test::StrEq(StrSet::new(items, true)),
                            "prefix" => Test::Prefix(Affixes::new(items, false, true)),
                            "iprefix" => Test::Prefix(Affixes::new(items, true, true)),
                            "suffix" => Test::Suffix(Affixes::new(items, false, false)),
                            "isuffix" => Test::Suffix(Affixes::new(items, true, false)),
                            _ => Test::Contains(
                                AhoCorasickBuilder::new()
                                    .ascii_case_insensitive(op == "icontains")
                                    .build(&items)
                                    .expect("literal patterns always build"),
                            ),
                        }
                    }
                    other => {
                        cx.err(
                            k.loc,
                            &sub,
                            format!("unknown matcher `{other}`{}", suggest(other, OPERATORS)),
                        );
                        ok = false;
                        continue;
                    }
                };
                tests.push(t);
            }
            if lo.is_some() || hi.is_some() {
                tests.push(Test::Range(lo.unwrap_or(i64::MIN), hi.unwrap_or(i64::MAX)));
            }
            if !ok {
                return None;
            }
            tests.sort_by_key(Test::cost);
            Some(if tests.len() == 1 { tests.pop().expect("one") } else { Test::All(tests) })
        }
        _ => equals(cx, field, v, path),
    }
}

fn integer(cx: &mut Cx, v: &Node, path: &str) -> Option<i64> {
    match &v.value {
        Yaml::Int(i) => Some(*i),
        Yaml::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Some(*f as i64),
        _ => {
            cx.err(v.loc, path, format!("expected an integer, found {}", v.type_name()));
            None
        }
    }
}

/// `field: value`, `field: [a, b]` or `{equals: ...}`.
fn equals(cx: &mut Cx, field: &Field, v: &Node, path: &str) -> Option<Test> {
    if let Yaml::Map(_) = v.value {
        cx.err(v.loc, path, "expected a value or a list of values");
        return None;
    }
    let items: Vec<&Node> = match &v.value {
        Yaml::Seq(items) => items.iter().collect(),
        _ => vec![v],
    };
    if items.is_empty() {
        cx.err(v.loc, path, "expected at least one value");
        return None;
    }
    let ty = field_type(field);
    let mut ints = Vec::new();
    let mut strs = Vec::new();
    let mut ips = Vec::new();
    let mut nets = Vec::new();
    let mut ok = true;
    for it in items {
        let text = match &it.value {
            Yaml::Str(s) => s.clone(),
            Yaml::Int(i) => i.to_string(),
            Yaml::Bool(b) => b.to_string(),
            Yaml::Float(f) => f.to_string(),
            _ => {
                cx.err(it.loc, path, format!("expected a value, found {}", it.type_name()));
                ok = false;
                continue;
            }
        };
        match ty {
            FieldType::Int => match text.trim().parse::<i64>() {
                Ok(i) => ints.push(i),
                Err(_) => {
                    cx.err(
                        it.loc,
                        path,
                        format!("`{text}` is not an integer, and {} holds integers", field.name()),
                    );
                    ok = false;
                }
            },
            FieldType::Ip => match text.trim().parse::<IpAddr>() {
                Ok(ip) => ips.push(ip.to_canonical()),
                Err(_) => {
                    let hint =
                        if text.contains('/') { "; use {cidr: ...} for networks" } else { "" };
                    cx.err(it.loc, path, format!("`{text}` is not an IP address{hint}"));
                    ok = false;
                }
            },
            FieldType::Net => match text.trim().parse::<ipnet::IpNet>() {
                Ok(n) => nets.push((n.trunc().addr(), n.prefix_len())),
                Err(_) => {
                    cx.err(it.loc, path, format!("`{text}` is not a network like 203.0.113.0/24"));
                    ok = false;
                }
            },
            FieldType::Enum(values) => {
                if values.contains(&text.as_str()) {
                    strs.push(text);
                } else {
                    cx.err(
                        it.loc,
                        path,
                        format!(
                            "`{text}` never matches: {} is one of {}",
                            field.name(),
                            values.join(", ")
                        ),
                    );
                    ok = false;
                }
            }
            FieldType::Str => strs.push(text),
        }
    }
    if !ok {
        return None;
    }
    Some(match ty {
        FieldType::Int => {
            ints.sort_unstable();
            ints.dedup();
            Test::IntEq(ints)
        }
        FieldType::Ip => {
            ips.sort();
            ips.dedup();
            Test::IpEq(ips)
        }
        FieldType::Net => Test::NetEq(nets),
        _ => Test::StrEq(StrSet::new(strs, false)),
    })
}

/// Parses addresses and networks (`192.0.2.7`, `10.0.0.0/8`), reporting each bad one.
pub(crate) fn networks(cx: &mut Cx, v: &Node, path: &str) -> Option<Vec<ipnet::IpNet>> {
    let items = string_list(cx, v, path)?;
    let mut out = Vec::new();
    let mut ok = true;
    for (s, loc) in items {
        let t = s.trim();
        if let Ok(n) = t.parse::<ipnet::IpNet>() {
            out.push(n);
        } else if let Ok(ip) = t.parse::<IpAddr>() {
            out.push(ipnet::IpNet::from(ip));
        } else {
            cx.err(loc, path, format!("`{s}` is not an address or a CIDR network like 10.0.0.0/8"));
            ok = false;
        }
    }
    ok.then_some(out)
}

fn cidr(cx: &mut Cx, field: &Field, v: &Node, path: &str) -> Option<Test> {
    if field_type(field) == FieldType::Int || matches!(field_type(field), FieldType::Enum(_)) {
        cx.err(v.loc, path, format!("{} does not hold addresses", field.name()));
        return None;
    }
    let nets = networks(cx, v, path)?;
    Some(Test::Cidr(IpRanges::new(&nets)))
}

fn regex_list(cx: &mut Cx, v: &Node, path: &str) -> Option<Test> {
    let items = string_list(cx, v, path)?;
    // Each item is only parsed here (with the settings `regex` uses), for an error at its own
    // line and column: a full build of every item on top of the combined one below was most of
    // the rule pack's start-up cost.
    let mut ok = true;
    for (pat, loc) in &items {
        if let Err(e) = regex_syntax::ParserBuilder::new().build().parse(pat) {
            cx.err(
                *loc,
                path,
                format!("invalid regular expression: {}", last_line(&e.to_string())),
            );
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    let pats: Vec<&str> = items.iter().map(|(s, _)| s.as_str()).collect();
    // One alternation is several times faster than a `RegexSet` for "does any match" (the set
    // tracks which one); inline flags stay inside each pattern's group. Patterns that cannot
    // share one expression (the same group name twice) fall back to a set.
    let alternation = pats.iter().map(|p| format!("(?:{p})")).collect::<Vec<_>>().join("|");
    if let Some(list) = cx.built_regex(&alternation) {
        return Some(Test::Regex(Box::new(list)));
    }
    let list = match regex::RegexBuilder::new(&alternation).size_limit(REGEX_SIZE_MAX).build() {
        Ok(r) => RegexList::One(r),
        Err(_) => match regex::RegexSetBuilder::new(&pats).size_limit(REGEX_SIZE_MAX).build() {
            Ok(s) => RegexList::Set(s),
            Err(e) => {
                // Only now build items one by one, to blame an item too large on its own.
                let mut blamed = false;
                for (pat, loc) in &items {
                    let one = regex::RegexBuilder::new(pat).size_limit(REGEX_SIZE_MAX).build();
                    if let Err(e) = one {
                        cx.err(
                            *loc,
                            path,
                            format!("invalid regular expression: {}", regex_error(&e)),
                        );
                        blamed = true;
                    }
                }
                if !blamed {
                    cx.err(
                        v.loc,
                        path,
                        format!(
                            "these regular expressions together are too large: {}",
                            regex_error(&e)
                        ),
                    );
                }
                return None;
            }
        },
    };
    if let RegexList::One(_) = list {
        // Only the combined expression is fully defined by the combined pattern.
        cx.keep_regex(alternation, &list);
    }
    Some(Test::Regex(Box::new(list)))
}

/// The compiled size one rule's regular expressions may take (the `regex` default is 10 MiB
/// per expression; a rule pack is loaded into every shard's memory once, so keep it lean).
const REGEX_SIZE_MAX: usize = 4 << 20;

/// The last non-empty line of a regex error (its first lines draw the pattern with a caret).
fn regex_error(e: &regex::Error) -> String {
    last_line(&e.to_string())
}

/// The last non-empty line of an error text, without its `error: ` prefix.
fn last_line(s: &str) -> String {
    let line = s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_match() {
        let nets: Vec<ipnet::IpNet> =
            ["10.0.0.0/8", "10.1.0.0/16", "192.0.2.7/32", "2001:db8::/32"]
                .iter()
                .map(|s| s.parse().unwrap())
                .collect();
        let r = IpRanges::new(&nets);
        assert!(r.contains("10.200.1.1".parse().unwrap()));
        assert!(r.contains("192.0.2.7".parse().unwrap()));
        assert!(!r.contains("192.0.2.8".parse().unwrap()));
        assert!(r.contains("::ffff:10.0.0.1".parse().unwrap()));
        assert!(r.contains("2001:db8::5".parse().unwrap()));
        assert!(!r.contains("2001:db9::5".parse().unwrap()));
    }

    #[test]
    fn verdicts_remember_per_test_and_value_and_stay_bounded() {
        let mut v = Verdicts::default();
        fn hash(v: &Verdicts, id: u32, s: &str) -> u64 {
            Verdicts::hash_of(id, v.hash_value(s))
        }
        let h = hash(&v, 1, "/login");
        assert_eq!(v.get(h, 1, "/login"), None, "empty");
        v.put(h, 1, "/login", true);
        assert_eq!(v.get(h, 1, "/login"), Some(true));
        assert_eq!(v.get(hash(&v, 2, "/login"), 2, "/login"), None, "another test");
        assert_eq!(v.get(hash(&v, 1, "/logout"), 1, "/logout"), None, "another value");
        // The same hash, another test or another text (a collision): not the result.
        assert_eq!(v.get(h, 2, "/login"), None);
        assert_eq!(v.get(h, 1, "/logim"), None);
        let total = VERDICT_SETS_COUNT * VERDICT_WAYS;
        for i in 0..total * 2 {
            let s = format!("/p/{i}");
            v.put(hash(&v, 3, &s), 3, &s, i % 3 == 0);
        }
        assert_eq!(v.entries.len(), total);
        assert!(v.replaced >= total as u64, "{}", v.replaced);
        // What is still held is right; the most recent values are mostly held.
        let mut held = 0;
        for i in 0..total * 2 {
            let s = format!("/p/{i}");
            if let Some(r) = v.get(hash(&v, 3, &s), 3, &s) {
                assert_eq!(r, i % 3 == 0, "{s}");
                held += 1;
            }
        }
        assert!(held > total / 2 && held <= total, "{held}");
    }

    /// Shared costly tests remembered by value give the results of running them, over values
    /// that recur and values that push each other out, several tests per value.
    #[test]
    fn remembered_verdicts_agree_with_the_tests() {
        let mut v = Verdicts::default();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let truth = |id: u32, s: &str| (s.len() as u32 + id).is_multiple_of(3);
        let (mut hits, mut misses) = (0, 0);
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let id = (x % 4) as u32;
            let s = format!("/api/{}", (x >> 8) % 20_000 % ((x >> 40) % 20_000 + 1));
            let h = Verdicts::hash_of(id, v.hash_value(&s));
            match v.get(h, id, &s) {
                Some(r) => {
                    assert_eq!(r, truth(id, &s), "{id} {s}");
                    hits += 1;
                }
                None => {
                    v.put(h, id, &s, truth(id, &s));
                    misses += 1;
                }
            }
        }
        assert!(hits > 10_000 && misses > 10_000, "{hits} {misses}");
    }

    #[test]
    fn affixes_small_and_large() {
        let many: Vec<String> = (0..20).map(|i| format!("/p{i}")).collect();
        let p = Affixes::new(many.clone(), false, true);
        assert!(p.is_prefix(b"/p13/x"));
        assert!(!p.is_prefix(b"x/p13"));
        let s = Affixes::new(many.iter().map(|m| m.to_uppercase()).collect(), true, false);
        let mut lower = Vec::new();
        assert!(s.is_suffix(b"/x/p7", &mut lower));
        assert!(!s.is_suffix(b"/p7/x", &mut lower));
        let small = Affixes::new(vec![".PHP".into()], true, false);
        assert!(small.is_suffix(b"/index.php", &mut lower));
    }
}
