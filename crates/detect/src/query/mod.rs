//! The filter language of `apiwatch search`: what an analyst types to pick stored events.
//!
//! ```text
//! source.ip=10.0.0.0/8 AND http.response.status_code>=500
//! (source.geo.country_iso_code=RU OR source.geo.country_iso_code=CN) AND NOT user.name=svc-*
//! http.request.headers.user-agent~=(?i)sqlmap
//! ```
//!
//! Grammar (keywords in any case; precedence NOT > AND > OR):
//!
//! ```text
//! query      = or
//! or         = and { "OR" and }
//! and        = unary { "AND" unary }
//! unary      = "NOT" unary | "(" or ")" | comparison
//! comparison = field ( "=" | "!=" | ">" | ">=" | "<" | "<=" | "~=" ) value | field "EXISTS"
//! value      = '"' { char | '\"' | '\\' } '"' | bare
//! ```
//!
//! A field is any ECS name [`Field::parse`] knows (`http.request.headers.<name>`,
//! `labels.<name>` included). A bare value runs up to whitespace or to a `)` that closes no
//! `(` of the value's own, so `~=(?i)sqlmap` needs no quotes; a bare `AND` or `OR` after
//! whitespace is taken for a missing value (quote it to mean the word). In quotes, `\"` and
//! `\\` are escapes and other backslashes are kept. Conditions are joined explicitly: two
//! conditions side by side are an error, not an implicit AND.
//!
//! Meaning:
//! - `source.ip=` takes an address or a CIDR network and tests containment; `source.network=`
//!   (the client's /24 or /48) matches networks that overlap the one given. IPv4-mapped IPv6
//!   addresses are their IPv4 selves.
//! - On text, `=` matches the whole value, case-sensitive; `*` is any run of characters and
//!   `?` one character (`\*`, `\?`, `\\` for the characters themselves). `user.name=*` is
//!   `user.name EXISTS`. On `event.outcome` and `user_agent.class`, a value outside their
//!   vocabulary is an error.
//! - On integer fields (status, ports, bytes, records, AS number) values are numbers and
//!   `>`, `>=`, `<`, `<=` compare numerically; `=` with a wildcard matches the decimal text
//!   (`http.response.status_code=5??`). `event.duration` is in nanoseconds, or a number with a
//!   unit (`event.duration>2s`). `@timestamp` takes RFC 3339 or milliseconds since the epoch.
//!   Headers and labels are text that may be compared as numbers; other text fields refuse
//!   ordering operators.
//! - `~=` is a regex (`regex` crate syntax, size-limited) found anywhere in the value's text;
//!   anchor it with `^…$` to match the whole.
//! - On a list (`user.roles`) a test holds when it holds for any element.
//! - An absent field fails `=`, ordering, `~=` and `EXISTS`, and passes `!=`: `f!=v` is
//!   exactly `NOT f=v`.
//!
//! A query is compiled once into typed matchers; [`Query::matches`] parses nothing.

mod compile;
mod error;
mod expr;
mod matcher;
mod needs;
mod parse;
mod wildcard;

pub use compile::REGEX_SIZE_MAX;
pub use error::{QueryError, QUERY_BYTES_MAX, QUERY_DEPTH_MAX};
pub use needs::{ActorKey, KeyNeed, TimeBounds, ACTOR_KEY_FIELDS};

use apiwatch_core::{EventData, Field};
use expr::Expr;
use std::fmt;
use std::str::FromStr;

/// A compiled filter.
#[derive(Clone, Debug)]
pub struct Query {
    root: Expr,
}

impl Query {
    /// Reads and compiles a filter; an error says what is wrong and at which column.
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        parse::parse(text).map(|root| Query { root })
    }

    /// The AND of several filters (the CLI's filter arguments); none matches every event.
    pub fn and_all(queries: Vec<Query>) -> Query {
        Query { root: Expr::all(queries.into_iter().map(|q| q.root).collect()) }
    }

    /// Whether the event passes the filter.
    #[inline]
    pub fn matches(&self, ev: &EventData) -> bool {
        self.root.matches(ev)
    }

    /// Actor keys (exact `source.ip`, `user.name`, `user.id`, `token.id`, `api_key.id`
    /// values) that every matching event has, for skipping segments by their Bloom filters;
    /// `None` when the query promises none. See [`KeyNeed::may_match`].
    pub fn required_actor_keys(&self) -> Option<KeyNeed> {
        needs::required_actor_keys(&self.root)
    }

    /// The event times the query's `@timestamp` conditions allow ([`TimeBounds::ALL`] when
    /// they set no bound, empty when they contradict each other).
    pub fn time_bounds(&self) -> TimeBounds {
        needs::time_bounds(&self.root)
    }

    /// Whether the filter is a match-all (an empty [`Query::and_all`]).
    pub fn is_match_all(&self) -> bool {
        matches!(&self.root, Expr::All(parts) if parts.is_empty())
    }

    /// The fields the filter reads, each once, in order of first use.
    pub fn fields(&self) -> Vec<Field> {
        fn walk(e: &Expr, out: &mut Vec<Field>) {
            match e {
                Expr::All(parts) | Expr::Any(parts) => parts.iter().for_each(|p| walk(p, out)),
                Expr::Not(inner) => walk(inner, out),
                Expr::Test(c) => {
                    if !out.contains(&c.field) {
                        out.push(c.field.clone());
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }
}

impl FromStr for Query {
    type Err = QueryError;
    fn from_str(s: &str) -> Result<Query, QueryError> {
        Query::parse(s)
    }
}

impl fmt::Display for Query {
    /// The filter in canonical form (field names as ECS spells them, fewest parentheses,
    /// quotes only where needed), which parses back to the same filter. A match-all is empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)
    }
}
