//! What every event a query matches must carry, read off the compiled tree so that the event
//! store can skip whole segments: the actor keys its Bloom filters index, and a time range.
//!
//! Both answers are necessary conditions, never sufficient ones: when in doubt they say less
//! ("no guarantee"), because saying too much would make a search miss events.

use super::compile::{Comparison, Op};
use super::expr::Expr;
use super::matcher::{Matcher, Order};
use super::wildcard::Pattern;
use apiwatch_core::Field;
use std::net::IpAddr;

/// The fields whose exact values the store indexes per segment.
pub const ACTOR_KEY_FIELDS: &[Field] =
    &[Field::SourceIp, Field::UserName, Field::UserId, Field::TokenId, Field::ApiKeyId];

/// The most clauses a [`KeyNeed::AllOf`] keeps. An OR of ANDs multiplies clauses out; past
/// this the analysis keeps fewer (a weaker need, still a true one) rather than grow.
const CLAUSES_MAX: usize = 16;

/// The most keys one clause may list: more and the clause is dropped (a segment would pass
/// almost surely, and checking it would cost more than reading it). An OR of a few hundred
/// addresses, each in two forms, still fits.
const KEYS_PER_CLAUSE_MAX: usize = 1024;

/// One (field, value) pair, the value as [`apiwatch_core::Value::write_to`] writes it.
pub type ActorKey = (Field, String);

/// Actor keys that every event matching a query has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyNeed {
    /// Every matching event has at least one of these keys.
    AnyOf(Vec<ActorKey>),
    /// Every matching event has at least one key of each list (there are at least two).
    AllOf(Vec<Vec<ActorKey>>),
}

impl KeyNeed {
    /// Whether a segment may hold a matching event, given whether it may hold each key (a
    /// Bloom filter's answer): false only when some list has no key the segment may hold.
    pub fn may_match(&self, mut may_hold: impl FnMut(&Field, &str) -> bool) -> bool {
        let mut clause_holds = |keys: &[ActorKey]| keys.iter().any(|(f, v)| may_hold(f, v));
        match self {
            KeyNeed::AnyOf(keys) => clause_holds(keys),
            KeyNeed::AllOf(clauses) => clauses.iter().all(|c| clause_holds(c)),
        }
    }
}

/// A conjunction of clauses, each a disjunction of keys, sorted. No clauses: no guarantee.
type Cnf = Vec<Vec<ActorKey>>;

pub(crate) fn required_actor_keys(expr: &Expr) -> Option<KeyNeed> {
    let mut cnf = key_cnf(expr);
    match cnf.len() {
        0 => None,
        1 => cnf.pop().map(KeyNeed::AnyOf),
        _ => Some(KeyNeed::AllOf(cnf)),
    }
}

fn key_cnf(expr: &Expr) -> Cnf {
    match expr {
        Expr::Test(c) => {
            comparison_keys(c).map(|clause| simplify(vec![clause])).unwrap_or_default()
        }
        // NOT NOT x is x; any other negation promises no key.
        Expr::Not(inner) => match &**inner {
            Expr::Not(x) => key_cnf(x),
            _ => Cnf::new(),
        },
        Expr::All(parts) => simplify(parts.iter().flat_map(key_cnf).collect()),
        Expr::Any(parts) => {
            let mut per_part = Vec::with_capacity(parts.len());
            for p in parts {
                let cnf = key_cnf(p);
                // One part that promises nothing makes the whole OR promise nothing.
                if cnf.is_empty() {
                    return Cnf::new();
                }
                per_part.push(cnf);
            }
            let product = per_part.iter().try_fold(1usize, |n, cnf| n.checked_mul(cnf.len()));
            if product.is_none_or(|n| n > CLAUSES_MAX) {
                // Keep each part's smallest clause: a weaker promise per part, still true.
                for cnf in &mut per_part {
                    cnf.sort_by_key(Vec::len);
                    cnf.truncate(1);
                }
            }
            // A matching event meets one part, hence one clause of each choice's union.
            let mut out: Cnf = vec![Vec::new()];
            for cnf in &per_part {
                out = out
                    .iter()
                    .flat_map(|acc| cnf.iter().map(move |c| [acc.as_slice(), c].concat()))
                    .collect();
            }
            simplify(out)
        }
    }
}

/// The keys an event matching this one comparison has (one of), when it promises any.
fn comparison_keys(c: &Comparison) -> Option<Vec<ActorKey>> {
    if c.op != Op::Eq || !ACTOR_KEY_FIELDS.contains(&c.field) {
        return None;
    }
    match &c.matcher {
        Matcher::IpIn(net) if net.prefix_len() == net.max_prefix_len() => {
            let ip = net.addr();
            let mut keys = vec![(c.field.clone(), ip.to_string())];
            // The matcher takes `::ffff:192.0.2.1` for `192.0.2.1`; the store indexes the
            // address as the log wrote it, so both forms must be looked for.
            if let IpAddr::V4(v4) = ip {
                keys.push((c.field.clone(), v4.to_ipv6_mapped().to_string()));
            }
            Some(keys)
        }
        // An empty value may not be indexed at all: promise nothing about it.
        Matcher::Text(Pattern::Exact(text)) if !text.is_empty() => {
            Some(vec![(c.field.clone(), text.to_string())])
        }
        _ => None,
    }
}

fn rank(field: &Field) -> usize {
    ACTOR_KEY_FIELDS.iter().position(|f| f == field).unwrap_or(usize::MAX)
}

/// Sorts, removes duplicates and clauses implied by smaller ones (a clause holding all the
/// keys of another says less), and drops what exceeds the limits (dropping a clause of a
/// conjunction only weakens it).
fn simplify(mut cnf: Cnf) -> Cnf {
    for clause in &mut cnf {
        clause.sort_by(|a, b| (rank(&a.0), &a.1).cmp(&(rank(&b.0), &b.1)));
        clause.dedup();
    }
    cnf.retain(|c| !c.is_empty() && c.len() <= KEYS_PER_CLAUSE_MAX);
    cnf.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| key_order(a, b)));
    cnf.dedup();
    let mut kept: Cnf = Vec::with_capacity(cnf.len());
    for clause in cnf {
        if !kept.iter().any(|k| k.iter().all(|key| clause.contains(key))) {
            kept.push(clause);
        }
    }
    kept.truncate(CLAUSES_MAX);
    kept
}

fn key_order(a: &[ActorKey], b: &[ActorKey]) -> std::cmp::Ordering {
    let view = |c: &[ActorKey]| c.iter().map(|(f, v)| (rank(f), v.clone())).collect::<Vec<_>>();
    view(a).cmp(&view(b))
}

/// The event times a query can match: from `from_ms` to `to_ms`, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeBounds {
    pub from_ms: i64,
    pub to_ms: i64,
}

impl TimeBounds {
    /// Any time.
    pub const ALL: TimeBounds = TimeBounds { from_ms: i64::MIN, to_ms: i64::MAX };
    /// No time: the query's time conditions contradict each other.
    pub const NONE: TimeBounds = TimeBounds { from_ms: i64::MAX, to_ms: i64::MIN };

    pub fn is_empty(&self) -> bool {
        self.from_ms > self.to_ms
    }

    pub fn is_unbounded(&self) -> bool {
        *self == TimeBounds::ALL
    }

    pub fn contains(&self, ts_ms: i64) -> bool {
        self.from_ms <= ts_ms && ts_ms <= self.to_ms
    }

    /// Whether events from `from_ms` to `to_ms` (included) may match.
    pub fn overlaps(&self, from_ms: i64, to_ms: i64) -> bool {
        !self.is_empty() && self.from_ms <= to_ms && from_ms <= self.to_ms
    }

    fn intersect(self, other: TimeBounds) -> TimeBounds {
        let t = TimeBounds {
            from_ms: self.from_ms.max(other.from_ms),
            to_ms: self.to_ms.min(other.to_ms),
        };
        if t.is_empty() {
            TimeBounds::NONE
        } else {
            t
        }
    }

    fn hull(self, other: TimeBounds) -> TimeBounds {
        match (self.is_empty(), other.is_empty()) {
            (true, _) => other,
            (_, true) => self,
            _ => TimeBounds {
                from_ms: self.from_ms.min(other.from_ms),
                to_ms: self.to_ms.max(other.to_ms),
            },
        }
    }

    fn of(order: Order, n: i64) -> TimeBounds {
        let from = |from_ms: Option<i64>| {
            from_ms.map_or(TimeBounds::NONE, |from_ms| TimeBounds { from_ms, to_ms: i64::MAX })
        };
        let to = |to_ms: Option<i64>| {
            to_ms.map_or(TimeBounds::NONE, |to_ms| TimeBounds { from_ms: i64::MIN, to_ms })
        };
        match order {
            Order::Eq => TimeBounds { from_ms: n, to_ms: n },
            Order::Gt => from(n.checked_add(1)),
            Order::Ge => from(Some(n)),
            Order::Lt => to(n.checked_sub(1)),
            Order::Le => to(Some(n)),
        }
    }
}

pub(crate) fn time_bounds(expr: &Expr) -> TimeBounds {
    match expr {
        Expr::Test(c) => timestamp_test(c, false),
        // `@timestamp` is on every event, so a negated comparison is the opposite one.
        Expr::Not(inner) => match &**inner {
            Expr::Not(x) => time_bounds(x),
            Expr::Test(c) => timestamp_test(c, true),
            _ => TimeBounds::ALL,
        },
        Expr::All(parts) => {
            parts.iter().map(time_bounds).fold(TimeBounds::ALL, TimeBounds::intersect)
        }
        Expr::Any(parts) => parts.iter().map(time_bounds).fold(TimeBounds::NONE, TimeBounds::hull),
    }
}

fn timestamp_test(c: &Comparison, negated: bool) -> TimeBounds {
    let Matcher::Number(order, n) = c.matcher else { return TimeBounds::ALL };
    if c.field != Field::Timestamp {
        return TimeBounds::ALL;
    }
    // `!=` is a negated `=`.
    let negated = negated != (c.op == Op::Ne);
    let order = if negated {
        match order {
            // Everything but one instant: no bound worth keeping.
            Order::Eq => return TimeBounds::ALL,
            Order::Gt => Order::Le,
            Order::Ge => Order::Lt,
            Order::Lt => Order::Ge,
            Order::Le => Order::Gt,
        }
    } else {
        order
    };
    TimeBounds::of(order, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(field: Field, value: &str) -> ActorKey {
        (field, value.to_string())
    }

    #[test]
    fn simplify_absorbs_larger_clauses_and_orders_keys() {
        let a = key(Field::UserName, "a");
        let b = key(Field::UserName, "b");
        let ip = key(Field::SourceIp, "192.0.2.1");
        let cnf = simplify(vec![
            vec![b.clone(), a.clone()],
            vec![a.clone()],
            vec![ip.clone(), a.clone(), a.clone()],
        ]);
        assert_eq!(cnf, vec![vec![a.clone()]]);
        let cnf = simplify(vec![vec![b.clone(), ip.clone()], vec![a.clone(), b.clone()]]);
        assert_eq!(cnf, vec![vec![ip, b.clone()], vec![a, b]]);
    }

    #[test]
    fn oversized_clauses_and_surplus_clauses_are_dropped() {
        let many: Vec<ActorKey> =
            (0..=KEYS_PER_CLAUSE_MAX).map(|i| key(Field::UserId, &i.to_string())).collect();
        let small = vec![key(Field::UserName, "a")];
        assert_eq!(simplify(vec![many, small.clone()]), vec![small]);
        let clauses: Cnf =
            (0..CLAUSES_MAX + 5).map(|i| vec![key(Field::UserId, &i.to_string())]).collect();
        assert_eq!(simplify(clauses).len(), CLAUSES_MAX);
    }
}
