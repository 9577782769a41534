//! Turns one `field op value` into a typed [`Comparison`], checking the value against what the
//! field holds: addresses, integers, times, durations, a fixed set of words, or text.

use super::error::QueryError;
use super::matcher::{canonical_net, Matcher, Order};
use super::wildcard::Pattern;
use apiwatch_core::time::{parse_duration_ms, parse_rfc3339_ms};
use apiwatch_core::{EventData, Field, Outcome, UaClass};
use ipnet::IpNet;
use std::net::IpAddr;

/// The compiled size one `~=` expression may take. The `regex` default is 10 MiB; a search
/// holds its query for the whole scan, and no hunting pattern needs more than a fraction.
pub const REGEX_SIZE_MAX: usize = 1 << 20;

const NS_PER_MS: i64 = 1_000_000;

/// The operator of a comparison, as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Regex,
    Exists,
}

impl Op {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Regex => "~=",
            Op::Exists => "EXISTS",
        }
    }

    fn order(self) -> Option<Order> {
        match self {
            Op::Gt => Some(Order::Gt),
            Op::Ge => Some(Order::Ge),
            Op::Lt => Some(Order::Lt),
            Op::Le => Some(Order::Le),
            _ => None,
        }
    }
}

/// One compiled `field op value`.
#[derive(Clone, Debug)]
pub(crate) struct Comparison {
    pub(crate) field: Field,
    pub(crate) op: Op,
    /// The value as written (quotes and their escapes removed), for display.
    pub(crate) text: Box<str>,
    /// For `!=`, the matcher of `=`, whose answer is inverted.
    pub(crate) matcher: Matcher,
}

impl Comparison {
    #[inline]
    pub(crate) fn matches(&self, ev: &EventData) -> bool {
        let hit = self.matcher.matches(ev.get(&self.field));
        hit != (self.op == Op::Ne)
    }
}

/// What a field holds, which decides how its values are read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `@timestamp`: RFC 3339 or milliseconds since the epoch.
    Time,
    /// `event.duration`: nanoseconds, or a number with a unit (`500ms`).
    Duration,
    Integer,
    Address,
    Network,
    /// Text from a fixed vocabulary (`event.outcome`, `user_agent.class`).
    Word(&'static [&'static str]),
    /// Headers and labels: text, which may hold a number (`labels.latency_ms>=500`).
    OpenText,
    Text,
}

const OUTCOMES: &[&str] = &["success", "failure", "unknown"];
const UA_CLASSES: &[&str] =
    &["browser", "mobile-app", "library", "search-bot", "scanner", "monitor", "empty", "other"];

fn kind(field: &Field) -> Kind {
    debug_assert!(OUTCOMES.iter().all(|o| Outcome::parse(o).is_some()));
    debug_assert!(UA_CLASSES.iter().all(|c| UaClass::parse(c).is_some()));
    debug_assert_eq!(UA_CLASSES.len(), UaClass::ALL.len());
    match field {
        Field::Timestamp => Kind::Time,
        Field::DurationNs => Kind::Duration,
        Field::SourcePort
        | Field::AsNumber
        | Field::StatusCode
        | Field::RequestBytes
        | Field::ResponseBytes
        | Field::ResponseRecords => Kind::Integer,
        Field::SourceIp => Kind::Address,
        Field::SourceNetwork => Kind::Network,
        Field::EventOutcome => Kind::Word(OUTCOMES),
        Field::UserAgentClass => Kind::Word(UA_CLASSES),
        Field::Header(_) | Field::Label(_) => Kind::OpenText,
        _ => Kind::Text,
    }
}

/// Where the parts of a comparison start, for errors.
pub(crate) struct Columns {
    pub(crate) op: usize,
    pub(crate) value: usize,
}

/// Compiles `field op text`; `text` is ignored for `EXISTS`.
pub(crate) fn compile(
    field: Field,
    op: Op,
    text: &str,
    at: Columns,
) -> Result<Comparison, QueryError> {
    let bad_value = |message: String| QueryError::new(at.value, message);
    let kind = kind(&field);
    let matcher = match op {
        Op::Exists => Matcher::Present,
        Op::Regex => Matcher::Regex(Box::new(regex(text).map_err(bad_value)?)),
        Op::Gt | Op::Ge | Op::Lt | Op::Le => {
            let order = op.order().expect("an ordering operator");
            let n = match kind {
                Kind::Time => time(text),
                Kind::Duration => duration_ns(text),
                Kind::Integer | Kind::OpenText => integer(text, &field),
                Kind::Address | Kind::Network => {
                    return Err(QueryError::new(
                        at.op,
                        format!(
                            "`{}` compares numbers, and {} holds addresses; \
                             use = with a network like 10.0.0.0/8 for a range",
                            op.as_str(),
                            field.name()
                        ),
                    ))
                }
                Kind::Word(_) | Kind::Text => {
                    return Err(QueryError::new(
                        at.op,
                        format!(
                            "`{}` compares numbers, and {} holds text",
                            op.as_str(),
                            field.name()
                        ),
                    ))
                }
            }
            .map_err(bad_value)?;
            Matcher::Number(order, n)
        }
        Op::Eq | Op::Ne => match kind {
            Kind::Time => Matcher::Number(Order::Eq, time(text).map_err(bad_value)?),
            Kind::Duration if !has_wildcard(text) => {
                Matcher::Number(Order::Eq, duration_ns(text).map_err(bad_value)?)
            }
            Kind::Integer if !has_wildcard(text) => {
                Matcher::Number(Order::Eq, integer(text, &field).map_err(bad_value)?)
            }
            // `http.response.status_code=5??`: the decimal text against the pattern.
            Kind::Integer | Kind::Duration => Matcher::Text(Pattern::new(text)),
            Kind::Address => Matcher::IpIn(network(text).map_err(bad_value)?),
            Kind::Network => Matcher::NetOverlaps(network(text).map_err(bad_value)?),
            Kind::Word(words) => {
                let pattern = Pattern::new(text);
                if let Some(exact) = pattern.exact() {
                    if !words.contains(&exact) {
                        return Err(bad_value(format!(
                            "`{exact}` never matches: {} is one of {}",
                            field.name(),
                            words.join(", ")
                        )));
                    }
                }
                Matcher::Text(pattern)
            }
            Kind::OpenText | Kind::Text => Matcher::Text(Pattern::new(text)),
        },
    };
    Ok(Comparison { field, op, text: text.into(), matcher })
}

/// Whether `=` on text treats the value as a pattern (an unescaped `*` or `?`).
fn has_wildcard(text: &str) -> bool {
    Pattern::new(text).exact().is_none()
}

fn integer(text: &str, field: &Field) -> Result<i64, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not an integer, and {} holds integers", field.name()))
}

fn time(text: &str) -> Result<i64, String> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    parse_rfc3339_ms(text).map_err(|_| {
        format!(
            "`{text}` is not a time: expected RFC 3339 like 2026-11-23T20:31:00Z, \
             or milliseconds since the epoch"
        )
    })
}

fn duration_ns(text: &str) -> Result<i64, String> {
    let err = || {
        format!(
            "`{text}` is not a duration: expected nanoseconds, or a number with a unit \
             like 500ms or 2s"
        )
    };
    if let Ok(ns) = text.parse::<i64>() {
        return Ok(ns);
    }
    parse_duration_ms(text).ok().and_then(|ms| ms.checked_mul(NS_PER_MS)).ok_or_else(err)
}

fn network(text: &str) -> Result<IpNet, String> {
    let net = match text.parse::<IpNet>() {
        Ok(n) => n.trunc(),
        Err(_) => match text.parse::<IpAddr>() {
            Ok(ip) => IpNet::from(ip),
            Err(_) => {
                return Err(format!("`{text}` is not an address or a CIDR network like 10.0.0.0/8"))
            }
        },
    };
    Ok(canonical_net(net))
}

fn regex(text: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(text)
        .size_limit(REGEX_SIZE_MAX)
        .dfa_size_limit(REGEX_SIZE_MAX)
        .build()
        .map_err(|e| format!("invalid regular expression: {}", last_line(&e.to_string())))
}

/// The last non-empty line of a regex error (its first lines draw the pattern with a caret).
fn last_line(s: &str) -> String {
    let line = s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}
