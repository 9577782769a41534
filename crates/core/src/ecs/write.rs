//! The stored form of an event, written straight from it: the same bytes as
//! `serde_json::to_vec(&to_ecs_json(ev))`, without first building the `serde_json::Value`
//! tree (a map per level and a `String` per key, sorted on insertion). That tree took about
//! 40% of the decoding thread when every call through the gateway was stored.

use super::FORWARDED_FOR;
use crate::event::EventData;
use crate::field::{Field, FIXED_FIELDS};
use crate::time::write_rfc3339_ms;
use std::sync::OnceLock;

/// What a leaf of the ECS tree holds.
enum Leaf {
    Timestamp,
    Fixed(Field),
    Roles,
    Location,
    Headers,
    Labels,
}

enum Node {
    Leaf(Leaf),
    /// Children sorted by key, as `serde_json`'s map orders them.
    Object(Vec<(&'static str, Node)>),
}

/// Every key `to_ecs_json` may write, nested and sorted: built once.
fn tree() -> &'static [(&'static str, Node)] {
    static TREE: OnceLock<Vec<(&'static str, Node)>> = OnceLock::new();
    TREE.get_or_init(|| {
        let mut root = Vec::new();
        insert(&mut root, "@timestamp", Leaf::Timestamp);
        for (name, field) in FIXED_FIELDS {
            match field {
                Field::Timestamp | Field::SourceNetwork => {}
                Field::UserRoles => insert(&mut root, name, Leaf::Roles),
                f => insert(&mut root, name, Leaf::Fixed(f.clone())),
            }
        }
        insert(&mut root, "source.geo.location", Leaf::Location);
        insert(&mut root, "http.request.headers", Leaf::Headers);
        insert(&mut root, "labels", Leaf::Labels);
        sort(&mut root);
        root
    })
}

fn insert(level: &mut Vec<(&'static str, Node)>, path: &'static str, leaf: Leaf) {
    match path.split_once('.') {
        None => level.push((path, Node::Leaf(leaf))),
        Some((head, rest)) => {
            let at = match level.iter().position(|(k, _)| *k == head) {
                Some(at) => at,
                None => {
                    level.push((head, Node::Object(Vec::new())));
                    level.len() - 1
                }
            };
            match &mut level[at].1 {
                Node::Object(children) => insert(children, rest, leaf),
                Node::Leaf(_) => unreachable!("no ECS field is a prefix of another: {path}"),
            }
        }
    }
}

fn sort(level: &mut [(&'static str, Node)]) {
    level.sort_by(|a, b| a.0.cmp(b.0));
    for (_, node) in level {
        if let Node::Object(children) = node {
            sort(children);
        }
    }
}

/// Appends the event as nested ECS JSON to `out`.
pub fn write_ecs_json(ev: &EventData, out: &mut Vec<u8>) {
    write_object(tree(), ev, out);
}

/// Writes `{…}` with the children present; false (and nothing written) when none is.
fn write_object(children: &[(&'static str, Node)], ev: &EventData, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    out.push(b'{');
    let mut any = false;
    for (key, node) in children {
        let mark = out.len();
        if any {
            out.push(b',');
        }
        string(key, out);
        out.push(b':');
        let written = match node {
            Node::Object(grandchildren) => write_object(grandchildren, ev, out),
            Node::Leaf(leaf) => write_leaf(leaf, ev, out),
        };
        if written {
            any = true;
        } else {
            out.truncate(mark);
        }
    }
    if !any && start > 0 {
        out.truncate(start);
        return false;
    }
    out.push(b'}');
    true
}

fn write_leaf(leaf: &Leaf, ev: &EventData, out: &mut Vec<u8>) -> bool {
    match leaf {
        Leaf::Timestamp => {
            // Digits and punctuation: nothing to escape.
            out.push(b'"');
            write_rfc3339_ms(ev.timestamp_ms, out);
            out.push(b'"');
        }
        Leaf::Fixed(field) => match ev.get(field) {
            crate::Value::Absent => return false,
            crate::Value::Int(i) => number(i, out),
            crate::Value::Str(s) => string(s, out),
            other => string(&other.to_text().unwrap_or_default(), out),
        },
        Leaf::Roles => {
            if ev.user_roles.is_empty() {
                return false;
            }
            out.push(b'[');
            for (i, role) in ev.user_roles.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(role, out);
            }
            out.push(b']');
        }
        Leaf::Location => {
            let Some((lat, lon)) = ev.geo.as_ref().and_then(|g| g.location) else { return false };
            out.extend_from_slice(b"{\"lat\":");
            number(lat, out);
            out.extend_from_slice(b",\"lon\":");
            number(lon, out);
            out.push(b'}');
        }
        Leaf::Headers => {
            let xff = ev.forwarded_for.as_ref().filter(|_| ev.header(FORWARDED_FOR).is_none());
            let mut pairs: Vec<(&str, &str)> =
                ev.headers.iter().map(|(h, v)| (h.as_str(), v.as_str())).collect();
            pairs.extend(xff.map(|v| (FORWARDED_FOR, v.as_str())));
            return map(pairs, out);
        }
        Leaf::Labels => {
            return map(ev.labels.iter().map(|(l, v)| (l.as_str(), v.as_str())).collect(), out)
        }
    }
    true
}

/// A map of strings as `serde_json` writes one built by inserting `pairs` in order: sorted by
/// key, the last value of a repeated key winning. False (nothing written) when empty.
fn map(mut pairs: Vec<(&str, &str)>, out: &mut Vec<u8>) -> bool {
    if pairs.is_empty() {
        return false;
    }
    // Stable: of a repeated key, the last inserted stays last.
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    out.push(b'{');
    let mut first = true;
    for (i, (k, v)) in pairs.iter().enumerate() {
        if pairs.get(i + 1).is_some_and(|next| next.0 == *k) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        string(k, out);
        out.push(b':');
        string(v, out);
    }
    out.push(b'}');
    true
}

fn string(s: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(out, s).expect("a string serializes to memory");
}

fn number<N: serde::Serialize>(n: N, out: &mut Vec<u8>) {
    serde_json::to_writer(out, &n).expect("a number serializes to memory");
}
