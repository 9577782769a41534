//! Links between actors seen in one event (the address a token came from, the user behind
//! a token), each with the event time it was last seen and a lifetime of `link_ttl_ms`.
//!
//! A shared actor (an office NAT, a carrier gateway) would link everyone behind it; one actor
//! links to at most `links_per_actor_max` others, and a link beyond that is refused and
//! counted. Links already made stay until they expire, which frees room again: an address
//! stays linked to the first people seen behind it, a bounded mistake, rather than folding
//! all of them together for as long as it is busy.

use apiwatch_core::ActorId;
use std::collections::{BTreeMap, BTreeSet};

/// A link between two actors, as reported when made.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Link {
    /// The smaller actor of the two.
    pub a: ActorId,
    /// The larger actor of the two.
    pub b: ActorId,
    /// Event time of the event that showed them together.
    pub at_ms: i64,
}

/// The link graph, capped at `links_max` links (the oldest is evicted first).
pub(crate) struct LinkGraph {
    links: BTreeMap<(ActorId, ActorId), i64>,
    by_time: BTreeSet<(i64, ActorId, ActorId)>,
    neighbours: BTreeMap<ActorId, BTreeSet<ActorId>>,
    ttl_ms: i64,
    links_max: usize,
    per_actor_max: usize,
    pub refused_per_actor: u64,
    pub evicted: u64,
    pub expired: u64,
}

impl LinkGraph {
    pub fn new(ttl_ms: i64, links_max: usize, per_actor_max: usize) -> LinkGraph {
        LinkGraph {
            links: BTreeMap::new(),
            by_time: BTreeSet::new(),
            neighbours: BTreeMap::new(),
            ttl_ms,
            links_max,
            per_actor_max,
            refused_per_actor: 0,
            evicted: 0,
            expired: 0,
        }
    }

    fn degree(&self, a: &ActorId) -> usize {
        self.neighbours.get(a).map_or(0, BTreeSet::len)
    }

    /// Links `x` and `y` as seen at `at_ms`; returns the link when it is new. A link already
    /// expired at `now_ms` is not made.
    pub fn link(&mut self, x: &ActorId, y: &ActorId, at_ms: i64, now_ms: i64) -> Option<Link> {
        if x == y || at_ms.saturating_add(self.ttl_ms) <= now_ms {
            return None;
        }
        let (a, b) = if x < y { (x.clone(), y.clone()) } else { (y.clone(), x.clone()) };
        if let Some(seen_ms) = self.links.get_mut(&(a.clone(), b.clone())) {
            if at_ms > *seen_ms {
                self.by_time.remove(&(*seen_ms, a.clone(), b.clone()));
                *seen_ms = at_ms;
                self.by_time.insert((at_ms, a, b));
            }
            return None;
        }
        if self.degree(&a) >= self.per_actor_max || self.degree(&b) >= self.per_actor_max {
            self.refused_per_actor += 1;
            return None;
        }
        if self.links.len() >= self.links_max {
            if let Some((_, oa, ob)) = self.by_time.pop_first() {
                self.unlink(&oa, &ob);
                self.evicted += 1;
            }
        }
        self.links.insert((a.clone(), b.clone()), at_ms);
        self.by_time.insert((at_ms, a.clone(), b.clone()));
        self.neighbours.entry(a.clone()).or_default().insert(b.clone());
        self.neighbours.entry(b.clone()).or_default().insert(a.clone());
        debug_assert_eq!(self.links.len(), self.by_time.len());
        Some(Link { a, b, at_ms })
    }

    /// Removes a link whose time entry is already gone.
    fn unlink(&mut self, a: &ActorId, b: &ActorId) {
        self.links.remove(&(a.clone(), b.clone()));
        for (x, y) in [(a, b), (b, a)] {
            if let Some(set) = self.neighbours.get_mut(x) {
                set.remove(y);
                if set.is_empty() {
                    self.neighbours.remove(x);
                }
            }
        }
    }

    /// The actors linked to `actor`, sorted.
    pub fn neighbours(&self, actor: &ActorId) -> impl Iterator<Item = &ActorId> {
        self.neighbours.get(actor).into_iter().flatten()
    }

    /// Drops links last seen `link_ttl_ms` or more before `now_ms`.
    pub fn prune(&mut self, now_ms: i64) {
        while let Some((seen_ms, _, _)) = self.by_time.first() {
            if seen_ms.saturating_add(self.ttl_ms) > now_ms {
                break;
            }
            let (_, a, b) = self.by_time.pop_first().expect("just seen");
            self.unlink(&a, &b);
            self.expired += 1;
        }
    }

    /// How many links are kept.
    pub fn len(&self) -> usize {
        self.links.len()
    }
}
