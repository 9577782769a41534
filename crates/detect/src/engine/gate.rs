//! The gate: cheap conditions every rule of a shard needs, answered once per event.
//!
//! Most events concern few rules: a rule on failed logins has nothing to do with an nginx
//! line without `event.action`, one on 404s nothing with a 200. At load time each rule's
//! filter and group_by yield necessary conditions on single fields: the field is present, or
//! a cheap test on it (a status code list, a method, a range) holds, or does not. The shard's
//! distinct tests of this kind (its atoms, at most [`ATOMS_MAX`]) are run once per event, each
//! field read once, into a bit mask; a rule whose requirements the mask does not meet is not
//! visited. The tests a rule's filter holds as top-level entries are left out of the filter
//! the rule then runs, as the mask has answered them. A `request: {attack: ...}` test has an
//! atom too, answered from the request scan the event came with: clear when that scan looked
//! for the test's classes and found none (the test is then false), set otherwise; such an atom
//! only rules events out, and the test stays in the filter.
//!
//! Per field, presence tests are constant bits once the value is known present or absent, and
//! the bits of the other tests are remembered for the last few integer or short text values
//! (status codes and methods recur): the tests are pure functions of the value.
//!
//! Soundness: a requirement is derived only where the condition cannot hold without it (an
//! entry of a conjunction, or one of the alternatives of an `any`, each with its own
//! requirements), and an atom is the very test of the filter, run by the same code on the
//! same value. Conditions are pure functions of the event, so answering some of them earlier,
//! or once for several rules, changes no result.

use crate::condition::{all_of, Cond, EvalCache, Test};
use crate::injection::{AttackSet, InjectionDetector};
use apiwatch_core::{EventData, Field, Value};

/// Atoms per shard: the bits of the mask. Tests beyond stay in the rules' filters.
pub(super) const ATOMS_MAX: usize = 64;

/// Alternatives of one `any` holding above this many make no requirement (each costs a test
/// per event for the rule).
const ALTERNATIVES_MAX: usize = 8;

/// The shard's atoms, grouped by field so that each field is read once per event.
#[derive(Default)]
pub(super) struct Atoms {
    /// Each field with its tests and their bits.
    by_field: Vec<(Field, Vec<(u32, Test)>)>,
    /// `request: {attack: ...}` tests and their bits. Such a bit means "may hold": it is clear
    /// only when the event's request scan (given before the rules run) looked for every class
    /// of the test and found none of them, which is when the test is false.
    requests: Vec<(u32, AttackSet)>,
    count: usize,
    /// `by_field` arranged for evaluation; rebuilt when atoms were added since.
    plan: Vec<FieldPlan>,
}

/// Values remembered per field with the bits of its tests (status codes and methods recur).
const VALUE_MEMO_ENTRIES_COUNT: usize = 4;

/// Longest text remembered by [`FieldPlan`], in bytes.
const MEMO_TEXT_BYTES_MAX: usize = 16;

/// A value as remembered by [`FieldPlan`]: an integer, or a short text as its length and two
/// words (see [`MemoKey::of`]), which compare in a few instructions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MemoKey {
    Int(i64),
    Text(u8, u64, u64),
}

impl MemoKey {
    #[inline]
    fn of(v: Value<'_>) -> Option<MemoKey> {
        match v {
            Value::Int(i) => Some(MemoKey::Int(i)),
            Value::Str(s) if s.len() <= MEMO_TEXT_BYTES_MAX => {
                let b = s.as_bytes();
                let n = b.len();
                // Read as words rather than copied into an array (a copy of a length known only
                // at run time is a library call). Of the same length, two texts give the same
                // words exactly when they are equal: from 8 bytes on, the first and the last
                // eight (overlapping below 16) cover every byte; below, the bytes are packed.
                let (lo, hi) = if n >= 8 {
                    let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8"));
                    (word(0), word(n - 8))
                } else {
                    (b.iter().fold(0u64, |w, &x| w << 8 | u64::from(x)), 0)
                };
                Some(MemoKey::Text(n as u8, lo, hi))
            }
            _ => None,
        }
    }
}

/// One field's atoms, arranged so that an event costs as little as possible: the presence
/// tests are constant bits once the value is known present or absent, and the other tests
/// (pure functions of the value) are run only for a present value, with their bits
/// remembered for the last few values when they are worth it.
struct FieldPlan {
    field: Field,
    /// Bits of `exists: true` tests (set for a present value).
    if_present: u64,
    /// Bits of every test on an absent value.
    if_absent: u64,
    /// The tests other than presence.
    tests: Vec<(u32, Test)>,
    /// Whether `tests` cost more than a lookup in `memo` (several, or a text comparison).
    memoized: bool,
    /// (value, bits of `tests`) for recent values; `None` marks an empty entry.
    memo: [Option<(MemoKey, u64)>; VALUE_MEMO_ENTRIES_COUNT],
    /// The entry of `memo` to replace next.
    next: usize,
}

impl FieldPlan {
    fn new(
        field: &Field,
        tests: &[(u32, Test)],
        det: &InjectionDetector,
        cache: &mut EvalCache,
    ) -> FieldPlan {
        let mut if_present = 0;
        let mut rest = Vec::new();
        for (bit, t) in tests {
            match t {
                Test::Exists(true) => if_present |= 1 << bit,
                // Never holds for a present value.
                Test::Exists(false) => {}
                t => rest.push((*bit, t.clone())),
            }
        }
        let memoized = rest.len() >= 2 || rest.iter().any(|(_, t)| matches!(t, Test::StrEq(_)));
        FieldPlan {
            field: field.clone(),
            if_present,
            if_absent: bits_of(tests, field, Value::Absent, det, cache),
            tests: rest,
            memoized,
            memo: [None; VALUE_MEMO_ENTRIES_COUNT],
            next: 0,
        }
    }

    /// The bits of `tests` on the present value `v`.
    #[inline]
    fn bits(&mut self, v: Value<'_>, det: &InjectionDetector, cache: &mut EvalCache) -> u64 {
        let key = if self.memoized { MemoKey::of(v) } else { None };
        let Some(key) = key else {
            return bits_of(&self.tests, &self.field, v, det, cache);
        };
        if let Some((_, bits)) = self.memo.iter().flatten().find(|(k, _)| *k == key) {
            return *bits;
        }
        let bits = bits_of(&self.tests, &self.field, v, det, cache);
        self.memo[self.next] = Some((key, bits));
        self.next = (self.next + 1) % VALUE_MEMO_ENTRIES_COUNT;
        bits
    }
}

/// The bits of the tests that hold on `v`.
#[inline]
fn bits_of(
    tests: &[(u32, Test)],
    f: &Field,
    v: Value<'_>,
    det: &InjectionDetector,
    cache: &mut EvalCache,
) -> u64 {
    let mut mask = 0;
    for (bit, t) in tests {
        if t.eval(f, v, det, cache) {
            mask |= 1 << bit;
        }
    }
    mask
}

impl Atoms {
    /// The bit of the test `t` on `f`, shared with any rule using the same test; `None` when
    /// every bit is taken.
    fn bit(&mut self, f: &Field, t: &Test) -> Option<u64> {
        debug_assert!(t.is_cheap());
        let i = match self.by_field.iter().position(|(g, _)| g == f) {
            Some(i) => i,
            None => {
                if self.count >= ATOMS_MAX {
                    return None;
                }
                self.by_field.push((f.clone(), Vec::new()));
                self.by_field.len() - 1
            }
        };
        let tests = &mut self.by_field[i].1;
        if let Some((bit, _)) = tests.iter().find(|(_, u)| u.same_as(t)) {
            return Some(1 << bit);
        }
        if self.count >= ATOMS_MAX {
            return None;
        }
        let bit = u32::try_from(self.count).expect("fewer than 64 atoms");
        self.count += 1;
        tests.push((bit, t.clone()));
        self.plan.clear();
        Some(1 << bit)
    }

    /// The bit of the request test for `wanted`, shared like field tests; `None` when every bit
    /// is taken.
    fn request_bit(&mut self, wanted: AttackSet) -> Option<u64> {
        if let Some((bit, _)) = self.requests.iter().find(|(_, w)| *w == wanted) {
            return Some(1 << bit);
        }
        if self.count >= ATOMS_MAX {
            return None;
        }
        let bit = u32::try_from(self.count).expect("fewer than 64 atoms");
        self.count += 1;
        self.requests.push((bit, wanted));
        Some(1 << bit)
    }

    /// The bit of a test already registered.
    fn find(&self, f: &Field, t: &Test) -> Option<u64> {
        let (_, tests) = self.by_field.iter().find(|(g, _)| g == f)?;
        tests.iter().find(|(_, u)| u.same_as(t)).map(|(bit, _)| 1 << bit)
    }

    fn presence(&mut self, f: &Field) -> Option<u64> {
        self.bit(f, &Test::Exists(true))
    }

    /// The event's mask: bit `b` set when atom `b` holds.
    #[inline]
    pub fn eval(&mut self, ev: &EventData, det: &InjectionDetector, cache: &mut EvalCache) -> u64 {
        if self.plan.len() != self.by_field.len() {
            self.plan = self
                .by_field
                .iter()
                .map(|(f, tests)| FieldPlan::new(f, tests, det, cache))
                .collect();
        }
        let mut mask = 0u64;
        for p in &mut self.plan {
            if p.tests.is_empty() {
                // Presence alone: no value to build.
                mask |= if ev.has(&p.field) { p.if_present } else { p.if_absent };
                continue;
            }
            mask |= match ev.get(&p.field) {
                Value::Absent => p.if_absent,
                v => p.if_present | p.bits(v, det, cache),
            };
        }
        if !self.requests.is_empty() {
            let (scanned, found) = cache.request_scan();
            for (bit, wanted) in &self.requests {
                if !wanted.difference(scanned).is_empty() || !found.intersection(*wanted).is_empty()
                {
                    mask |= 1 << bit;
                }
            }
        }
        mask
    }
}

/// Atoms that must hold (`all`) and atoms that must not (`none`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Req {
    all: u64,
    none: u64,
}

impl Req {
    #[inline]
    fn admits(self, mask: u64) -> bool {
        mask & self.all == self.all && mask & self.none == 0
    }

    fn is_empty(self) -> bool {
        self.all == 0 && self.none == 0
    }
}

/// What one rule needs of an event's mask.
#[derive(Debug, Default)]
pub(super) struct Gate {
    req: Req,
    /// One list per `any` of the filter's conjunction: at least one alternative must be met.
    any: Option<Box<[Box<[Req]>]>>,
}

impl Gate {
    /// Whether an event with this mask may pass the rule's filter and have its key.
    #[inline]
    pub fn admits(&self, mask: u64) -> bool {
        self.req.admits(mask)
            && self
                .any
                .as_deref()
                .is_none_or(|groups| groups.iter().all(|alts| alts.iter().any(|r| r.admits(mask))))
    }
}

/// Masks remembered with the rules they admit (a power of two). Events fall into few kinds
/// (an nginx line with or without a user, a 2xx or a 4xx, a GET or a POST), so a few dozen
/// masks recur.
const ADMITTED_SLOTS_COUNT: usize = 64;

/// The rules (by position) an event's mask admits, remembered per mask: finding them costs a
/// lookup instead of a test of every rule's gate. A gate's answer depends on the mask alone.
#[derive(Debug)]
pub(super) struct Admission {
    /// Words of 64 rules in a set.
    words: usize,
    /// Per slot: the mask whose admitted rules the slot holds (`None`: empty slot).
    masks: Box<[Option<u64>]>,
    /// Per slot, `words` words: the admitted rules, bit `i % 64` of word `i / 64` for rule `i`.
    sets: Box<[u64]>,
}

impl Admission {
    /// An empty memo for `rules` rules.
    pub fn new(rules: usize) -> Admission {
        let words = rules.div_ceil(64).max(1);
        Admission {
            words,
            masks: vec![None; ADMITTED_SLOTS_COUNT].into_boxed_slice(),
            sets: vec![0; ADMITTED_SLOTS_COUNT * words].into_boxed_slice(),
        }
    }

    /// The rules whose gates (`gates`, always the same list) admit `mask`.
    #[inline]
    pub fn admitted(&mut self, mask: u64, gates: &[Gate]) -> &[u64] {
        // Multiplicative hashing: the top bits depend on every bit of the mask.
        let slot = (mask.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            >> (64 - ADMITTED_SLOTS_COUNT.trailing_zeros())) as usize;
        let set = &mut self.sets[slot * self.words..(slot + 1) * self.words];
        if self.masks[slot] != Some(mask) {
            admitted_by_gates(mask, gates, set);
            self.masks[slot] = Some(mask);
        }
        set
    }
}

/// Fills `set` with the rules whose gates admit `mask`, asking each gate.
#[inline(never)]
fn admitted_by_gates(mask: u64, gates: &[Gate], set: &mut [u64]) {
    set.fill(0);
    for (i, g) in gates.iter().enumerate() {
        if g.admits(mask) {
            set[i / 64] |= 1 << (i % 64);
        }
    }
}

/// Every one of `rules` rules, as a set like [`Admission::admitted`]'s.
pub(super) fn every_rule(rules: usize) -> Vec<u64> {
    let mut set = vec![0; rules.div_ceil(64).max(1)];
    for i in 0..rules {
        set[i / 64] |= 1 << (i % 64);
    }
    set
}

/// Derives a rule's gate from its filter and group_by, registering atoms; returns the gate and
/// the filter left to run once the gate has admitted an event.
pub(super) fn compile(filter: &Cond, group_by: &[Field], atoms: &mut Atoms) -> (Gate, Cond) {
    let mut req = Req::default();
    for f in group_by {
        // A key needs every group_by value.
        if let Some(b) = atoms.presence(f) {
            req.all |= b;
        }
    }
    let mut groups = Vec::new();
    necessary(filter, atoms, &mut req, Some(&mut groups));
    let conjuncts: Vec<Cond> = match filter {
        Cond::All(cs) => cs.clone(),
        other => vec![other.clone()],
    };
    // A conjunct answered by an atom the gate requires needs no second evaluation.
    let rest = conjuncts.into_iter().filter(|c| !answered(c, atoms, req)).collect();
    let gate = Gate { req, any: (!groups.is_empty()).then(|| groups.into_boxed_slice()) };
    (gate, all_of(rest))
}

/// Whether the gate's requirement `req` alone decides `c`.
fn answered(c: &Cond, atoms: &Atoms, req: Req) -> bool {
    match c {
        Cond::Field(f, t) | Cond::Shared(_, f, t) if t.is_cheap() => {
            atoms.find(f, t).is_some_and(|b| req.all & b != 0)
        }
        Cond::Not(inner) => match &**inner {
            Cond::Field(f, t) | Cond::Shared(_, f, t) if t.is_cheap() => {
                atoms.find(f, t).is_some_and(|b| req.none & b != 0)
            }
            _ => false,
        },
        _ => false,
    }
}

/// Adds to `req` what must hold for `c` to hold. `groups`: where an `any` of the conjunction
/// puts its alternatives (`None` inside an alternative, where only plain requirements count).
fn necessary(c: &Cond, atoms: &mut Atoms, req: &mut Req, groups: Option<&mut Vec<Box<[Req]>>>) {
    match c {
        Cond::Field(f, t) | Cond::Shared(_, f, t) => {
            let bit = if t.is_cheap() { atoms.bit(f, t) } else { None };
            match bit {
                Some(b) => req.all |= b,
                None if t.needs_presence() => {
                    if let Some(b) = atoms.presence(f) {
                        req.all |= b;
                    }
                }
                None => {}
            }
        }
        Cond::Not(inner) => {
            if let Cond::Field(f, t) | Cond::Shared(_, f, t) = &**inner {
                if t.is_cheap() {
                    if let Some(b) = atoms.bit(f, t) {
                        req.none |= b;
                    }
                }
            }
        }
        Cond::All(cs) => match groups {
            Some(groups) => {
                for c in cs {
                    necessary(c, atoms, req, Some(groups));
                }
            }
            None => cs.iter().for_each(|c| necessary(c, atoms, req, None)),
        },
        Cond::Any(cs) => {
            let Some(groups) = groups else { return };
            if cs.len() > ALTERNATIVES_MAX {
                return;
            }
            let mut alts = Vec::with_capacity(cs.len());
            for c in cs {
                let mut r = Req::default();
                necessary(c, atoms, &mut r, None);
                if r.is_empty() {
                    // An alternative that needs nothing: the `any` needs nothing.
                    return;
                }
                alts.push(r);
            }
            if let [only] = alts[..] {
                req.all |= only.all;
                req.none |= only.none;
            } else {
                groups.push(alts.into_boxed_slice());
            }
        }
        Cond::RequestAttack(wanted) => {
            // Its bit is only "may hold": a requirement, never an answer (see `answered`).
            if let Some(b) = atoms.request_bit(*wanted) {
                req.all |= b;
            }
        }
        Cond::True => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::RuleSet;
    use apiwatch_core::{Outcome, UaClass};

    /// Rules whose filters use every shape the gate reads: lists, ranges, negations, absence,
    /// alternatives (nested too), list fields, headers and labels, string matchers on numbers.
    const RULES: &str = r#"
- {id: t-status, title: t, severity: low, owasp: API1:2023, kind: match,
   where: {http.response.status_code: [401, 403], http.request.method: POST}}
- {id: t-range-not, title: t, severity: low, owasp: API1:2023, kind: match, group_by: [user.name],
   where: {http.response.status_code: {gte: 400, lt: 500, not: {equals: 404}}, not: {event.outcome: failure}}}
- {id: t-absent, title: t, severity: low, owasp: API1:2023, kind: match,
   where: {user.name: {exists: false}, http.route: {contains: ["{"]}}}
- {id: t-any, title: t, severity: low, owasp: API1:2023, kind: match,
   where: {any: [{event.action: [login, logon], event.outcome: failure},
                 {http.request.method: POST, url.path: {regex: '/login$'}},
                 {any: [{http.response.status_code: 500}, {user.roles: admin}]}]}}
- {id: t-any-open, title: t, severity: low, owasp: API1:2023, kind: match,
   where: {any: [{http.response.status_code: 200}, {not: {http.request.method: GET}}]}}
- {id: t-not-all, title: t, severity: low, owasp: API1:2023, kind: match,
   where: {not: {http.request.method: GET, http.response.status_code: 200}}}
- {id: t-roles, title: t, severity: low, owasp: API1:2023, kind: match, group_by: [user.name, http.route],
   where: {user.roles: [admin, root], http.response.status_code: {not: {gte: 500}}}}
- {id: t-header, title: t, severity: low, owasp: API1:2023, kind: match,
   where: {http.request.headers.x-tenant: [a, b], labels.env: {iequals: PROD}}}
- {id: t-text-on-int, title: t, severity: low, owasp: API1:2023, kind: match,
   where: {http.response.status_code: {iequals: ["404"]}, source.ip: {cidr: [10.0.0.0/8]}}}
- {id: t-attack, title: t, severity: low, owasp: API1:2023, kind: match,
   where: {request: {attack: [sqli]}, http.response.status_code: 200, not: {user_agent.class: monitor}}}
- {id: t-none, title: t, severity: low, owasp: API1:2023, kind: match, group_by: [source.network]}
"#;

    /// A small deterministic generator (xorshift), so that failures reproduce.
    struct Gen(u64);
    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[(self.next() % items.len() as u64) as usize]
        }
        fn maybe(&mut self, items: &[&str]) -> Option<String> {
            (!self.next().is_multiple_of(4)).then(|| self.pick(items).to_string())
        }
    }

    fn event(g: &mut Gen) -> EventData {
        let mut ev = EventData {
            timestamp_ms: 1_700_000_000_000,
            source_ip: g
                .maybe(&["10.1.2.3", "192.0.2.7", "2001:db8::1"])
                .map(|s| s.parse().unwrap()),
            user_name: g.maybe(&["alice", "bob", ""]).map(Into::into),
            user_roles: match g.next() % 3 {
                0 => Vec::new(),
                1 => vec!["admin".into()],
                _ => vec!["user".into(), "root".into()],
            },
            http_method: g.maybe(&["GET", "POST", "HEAD", "get"]).map(Into::into),
            url_path: g.maybe(&["/login", "/api/v1/users/7", "/x?id=1' OR '1'='1"]).map(Into::into),
            url_query: g
                .maybe(&["id=1' union select password from users--", "page=2"])
                .map(Into::into),
            http_route: g.maybe(&["/api/v1/users/{id}", "/login"]).map(Into::into),
            status_code: [None, Some(200), Some(401), Some(403), Some(404), Some(500), Some(503)]
                [(g.next() % 7) as usize],
            event_action: g.maybe(&["login", "logon", "logout"]).map(Into::into),
            event_outcome: *g.pick(&[None, Some(Outcome::Failure), Some(Outcome::Success)]),
            user_agent_class: *g.pick(&[None, Some(UaClass::Monitor), Some(UaClass::Browser)]),
            ..Default::default()
        };
        if g.next().is_multiple_of(2) {
            ev.headers.push(("x-tenant".into(), g.pick(&["a", "c"]).to_string()));
        }
        if g.next().is_multiple_of(2) {
            ev.labels.push(("env".into(), g.pick(&["prod", "Prod", "dev"]).to_string()));
        }
        ev
    }

    /// The gate and the remaining filter decide exactly as the whole filter does, for the
    /// test rules and the built-in pack, on varied events.
    #[test]
    fn gate_and_rest_agree_with_the_filter() {
        let own = RuleSet::from_sources(&[("t.yaml".into(), RULES.into())]).expect("rules load");
        for set in [own, RuleSet::builtin()] {
            let rules = &set.inner.rules;
            let det = &set.inner.detector;
            let mut atoms = Atoms::default();
            let compiled: Vec<(Gate, Cond)> =
                rules.iter().map(|r| compile(&r.filter, &r.group_by, &mut atoms)).collect();
            let mut cache = EvalCache::default();
            let mut g = Gen(0x9e37_79b9_7f4a_7c15);
            let (mut admitted, mut refused) = (0, 0);
            let indices: Vec<usize> = (0..rules.len()).collect();
            let classes = super::super::prescan::request_classes_of(&set, &indices);
            let mut memo = crate::injection::ValueMemo::default();
            let (mut scanned, mut found) = (0, 0);
            for _ in 0..3_000 {
                let ev = event(&mut g);
                cache.next_event();
                // Half the events come with their request scan, as from the decoding workers.
                if g.next().is_multiple_of(2) {
                    let attacks = det.scan_request_memo(&ev, classes, &mut memo);
                    cache.set_request_scan(classes, attacks);
                    scanned += 1;
                    found += usize::from(!attacks.is_empty());
                }
                let mask = atoms.eval(&ev, det, &mut cache);
                for (rule, (gate, rest)) in rules.iter().zip(&compiled) {
                    let keyed = rule.group_by.iter().all(|f| !ev.get(f).is_absent());
                    let whole = keyed && rule.filter.eval(&ev, det, &mut cache);
                    let admits = gate.admits(mask);
                    let gated = keyed && admits && rest.eval(&ev, det, &mut cache);
                    assert_eq!(gated, whole, "rule {} on {ev:?}", rule.info.id);
                    if admits {
                        admitted += 1;
                    } else {
                        refused += 1;
                    }
                }
            }
            // Both ways are exercised, and scans that found attacks and scans that did not.
            assert!(admitted > 1_000 && refused > 1_000, "{admitted} {refused}");
            assert!(found > 100 && scanned - found > 100, "{scanned} {found}");
        }
    }

    /// The remembered admitted rules are exactly those whose gates admit the mask, for rule
    /// sets of one and of several words, on masks from varied events (which recur) and on
    /// random masks (which evict each other).
    #[test]
    fn admission_agrees_with_the_gates() {
        let own = RuleSet::from_sources(&[("t.yaml".into(), RULES.into())]).expect("rules load");
        for set in [own, RuleSet::builtin()] {
            let rules = &set.inner.rules;
            let det = &set.inner.detector;
            let mut atoms = Atoms::default();
            let once: Vec<Gate> =
                rules.iter().map(|r| compile(&r.filter, &r.group_by, &mut atoms).0).collect();
            // The same gates repeated past 64 rules, so that sets span several words.
            let mut gates = Vec::new();
            for _ in 0..3 {
                gates.extend(rules.iter().map(|r| compile(&r.filter, &r.group_by, &mut atoms).0));
            }
            for gates in [once, gates] {
                let mut memo = Admission::new(gates.len());
                let every = every_rule(gates.len());
                let mut cache = EvalCache::default();
                let mut g = Gen(0x2545_f491_4f6c_dd1d);
                let (mut admitted, mut refused) = (0, 0);
                for n in 0..6_000 {
                    let mask = if n % 3 == 0 {
                        g.next() & g.next()
                    } else {
                        cache.next_event();
                        atoms.eval(&event(&mut g), det, &mut cache)
                    };
                    let set = memo.admitted(mask, &gates);
                    assert_eq!(set.len(), every.len());
                    for (pos, gate) in gates.iter().enumerate() {
                        let listed = set[pos / 64] & (1 << (pos % 64)) != 0;
                        assert_eq!(listed, gate.admits(mask), "rule {pos} mask {mask:#x}");
                        if listed {
                            admitted += 1;
                        } else {
                            refused += 1;
                        }
                    }
                    // Nothing beyond the rules.
                    assert!(set.iter().zip(&every).all(|(x, e)| x & !e == 0));
                }
                assert!(admitted > 1_000 && refused > 1_000, "{admitted} {refused}");
            }
        }
    }

    /// The mask from the plan (constant presence bits, remembered values) is the one each
    /// atom's test gives on its own, over events whose values recur and push each other out of
    /// the memo, and after atoms are added between events.
    #[test]
    fn planned_mask_agrees_with_each_test() {
        let own = RuleSet::from_sources(&[("t.yaml".into(), RULES.into())]).expect("rules load");
        for set in [own, RuleSet::builtin()] {
            let det = &set.inner.detector;
            let mut atoms = Atoms::default();
            let mut cache = EvalCache::default();
            let mut g = Gen(0x6c8e_9cf5_7093_2bd1);
            let (mut set_bits, mut clear_bits) = (0u64, 0u64);
            for (n, rule) in set.inner.rules.iter().enumerate() {
                compile(&rule.filter, &rule.group_by, &mut atoms);
                // A few events after each rule, so that plans are rebuilt as atoms come.
                for _ in 0..if n + 1 == set.inner.rules.len() { 4_000 } else { 20 } {
                    let mut ev = event(&mut g);
                    // Status codes and methods beyond the memo's entries, and long texts.
                    match g.next() % 4 {
                        0 => ev.status_code = Some(200 + (g.next() % 12) as u16 * 50),
                        1 => ev.http_method = Some("PROPFIND-ABCDEFGHIJKLM".into()),
                        2 => ev.response_bytes = Some(g.next() % 3),
                        _ => {}
                    }
                    cache.next_event();
                    let mask = atoms.eval(&ev, det, &mut cache);
                    let mut plain = 0u64;
                    for (f, tests) in &atoms.by_field {
                        for (bit, t) in tests {
                            if t.eval(f, ev.get(f), det, &mut cache) {
                                plain |= 1 << bit;
                            }
                        }
                    }
                    let fields: u64 = atoms
                        .by_field
                        .iter()
                        .flat_map(|(_, tests)| tests.iter().map(|(b, _)| 1u64 << b))
                        .sum();
                    assert_eq!(mask & fields, plain, "{ev:?}");
                    set_bits |= plain;
                    clear_bits |= !plain & fields;
                }
            }
            // Many atoms were seen both holding and not.
            let both = (set_bits & clear_bits).count_ones();
            assert!(both >= 12, "{both}: {set_bits:#x} {clear_bits:#x}");
        }
    }

    /// Two short texts have the same memo key exactly when they are equal, at every length and
    /// wherever they differ; integers and texts never share one; long texts have none.
    #[test]
    fn memo_keys_tell_texts_apart() {
        let base = "GETPOSTabcdefghi0123";
        let mut texts: Vec<String> = Vec::new();
        for n in 0..=MEMO_TEXT_BYTES_MAX {
            let t = &base[..n];
            texts.push(t.to_string());
            for at in 0..n {
                let mut b = t.as_bytes().to_vec();
                b[at] = 0;
                texts.push(String::from_utf8(b).unwrap());
            }
            texts.push(format!("{}\0", &base[..n.saturating_sub(1)]));
        }
        for a in &texts {
            let ka = MemoKey::of(Value::Str(a)).expect("short text");
            for b in &texts {
                assert_eq!(ka == MemoKey::of(Value::Str(b)).unwrap(), a == b, "{a:?} {b:?}");
            }
            assert!(MemoKey::of(Value::Int(0)) != Some(ka));
        }
        assert!(MemoKey::of(Value::Str(&base[..MEMO_TEXT_BYTES_MAX + 1])).is_none());
    }

    #[test]
    fn answered_tests_leave_the_filter() {
        let set = RuleSet::from_sources(&[("t.yaml".into(), RULES.into())]).expect("rules load");
        let mut atoms = Atoms::default();
        let rest: Vec<Cond> =
            set.inner.rules.iter().map(|r| compile(&r.filter, &r.group_by, &mut atoms).1).collect();
        // t-status: both tests answered by the gate.
        assert!(matches!(rest[0], Cond::True), "{:?}", rest[0]);
        // t-absent: the absence is answered, the substring test stays.
        assert!(matches!(rest[2], Cond::Shared(_, Field::HttpRoute, _)), "{:?}", rest[2]);
        // t-any: alternatives are required of the mask but still evaluated.
        assert!(matches!(rest[3], Cond::Any(_)), "{:?}", rest[3]);
    }

    #[test]
    fn atoms_are_shared_and_bounded() {
        let mut atoms = Atoms::default();
        let a = atoms.bit(&Field::StatusCode, &Test::Range(500, 599));
        let b = atoms.bit(&Field::StatusCode, &Test::Range(500, 599));
        assert_eq!(a, b);
        assert_ne!(a, atoms.bit(&Field::StatusCode, &Test::Range(400, 499)));
        for i in 0..ATOMS_MAX as i64 {
            atoms.bit(&Field::StatusCode, &Test::Range(i, i));
        }
        assert_eq!(atoms.count, ATOMS_MAX);
        assert_eq!(atoms.bit(&Field::UrlPath, &Test::Exists(true)), None);
        assert_eq!(atoms.bit(&Field::StatusCode, &Test::Range(500, 599)), a);
    }
}
