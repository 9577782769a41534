//! A YAML document as a tree whose every node knows its line and column.
//!
//! serde-saphyr parses (with its budget: depth, nodes and alias expansion are bounded); a
//! small visitor keeps the location of each node through `Spanned`. The loader then walks the
//! tree itself, so that it can report every problem of a file at once, each where it is,
//! instead of stopping at the first field serde could not fit into a struct.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// A place in a file: 1-based line and column (characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Loc {
    pub line: u32,
    pub column: u32,
}

/// One node of the tree.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub loc: Loc,
    pub value: Yaml,
}

/// What a node holds. Plain scalars are typed by YAML 1.2's core schema (`yes` stays a
/// string, so that Norway's `NO` is a country code); quoted scalars are always strings.
#[derive(Clone, Debug)]
pub(crate) enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// A short name of the node's type, for "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Yaml::Null => "nothing",
            Yaml::Bool(_) => "a boolean",
            Yaml::Int(_) => "an integer",
            Yaml::Float(_) => "a number",
            Yaml::Str(_) => "a string",
            Yaml::Seq(_) => "a list",
            Yaml::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Yaml::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The node as JSON (test-case events are written as YAML flow mappings).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Yaml::Null => J::Null,
            Yaml::Bool(b) => J::Bool(*b),
            Yaml::Int(i) => J::from(*i),
            Yaml::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Yaml::Str(s) => J::String(s.clone()),
            Yaml::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Yaml::Map(entries) => {
                let mut m = serde_json::Map::new();
                for (k, v) in entries {
                    let key = match &k.value {
                        Yaml::Str(s) => s.clone(),
                        Yaml::Int(i) => i.to_string(),
                        Yaml::Bool(b) => b.to_string(),
                        Yaml::Float(f) => f.to_string(),
                        _ => continue,
                    };
                    m.insert(key, v.to_json());
                }
                J::Object(m)
            }
        }
    }
}

/// The tree as serde hands it over: every child wrapped in `Spanned`.
enum SpannedYaml {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<SpannedYaml>>),
    Map(Vec<(Spanned<SpannedYaml>, Spanned<SpannedYaml>)>),
}

impl<'de> Deserialize<'de> for SpannedYaml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SpannedYaml, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SpannedYaml;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E>(self) -> Result<SpannedYaml, E> {
                Ok(SpannedYaml::Null)
            }
            fn visit_none<E>(self) -> Result<SpannedYaml, E> {
                Ok(SpannedYaml::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<SpannedYaml, D::Error> {
                SpannedYaml::deserialize(d)
            }
            fn visit_bool<E>(self, v: bool) -> Result<SpannedYaml, E> {
                Ok(SpannedYaml::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<SpannedYaml, E> {
                Ok(SpannedYaml::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<SpannedYaml, E> {
                Ok(i64::try_from(v).map_or(SpannedYaml::Float(v as f64), SpannedYaml::Int))
            }
            fn visit_i128<E>(self, v: i128) -> Result<SpannedYaml, E> {
                Ok(i64::try_from(v).map_or(SpannedYaml::Float(v as f64), SpannedYaml::Int))
            }
            fn visit_u128<E>(self, v: u128) -> Result<SpannedYaml, E> {
                Ok(i64::try_from(v).map_or(SpannedYaml::Float(v as f64), SpannedYaml::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<SpannedYaml, E> {
                Ok(SpannedYaml::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<SpannedYaml, E> {
                Ok(SpannedYaml::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<SpannedYaml, E> {
                Ok(SpannedYaml::Str(v))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<SpannedYaml, E> {
                Ok(SpannedYaml::Str(String::from_utf8_lossy(v).into_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<SpannedYaml, A::Error> {
                let mut items = Vec::new();
                while let Some(x) = a.next_element()? {
                    items.push(x);
                }
                Ok(SpannedYaml::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<SpannedYaml, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = a.next_key()? {
                    let v = a.next_value()?;
                    entries.push((k, v));
                }
                Ok(SpannedYaml::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

fn loc_of(s: &Spanned<SpannedYaml>) -> Loc {
    Loc { line: s.referenced.line() as u32, column: s.referenced.column() as u32 }
}

fn convert(s: Spanned<SpannedYaml>) -> Node {
    let loc = loc_of(&s);
    let value = match s.value {
        SpannedYaml::Null => Yaml::Null,
        SpannedYaml::Bool(b) => Yaml::Bool(b),
        SpannedYaml::Int(i) => Yaml::Int(i),
        SpannedYaml::Float(f) => Yaml::Float(f),
        SpannedYaml::Str(s) => Yaml::Str(s),
        SpannedYaml::Seq(items) => Yaml::Seq(items.into_iter().map(convert).collect()),
        SpannedYaml::Map(entries) => {
            Yaml::Map(entries.into_iter().map(|(k, v)| (convert(k), convert(v))).collect())
        }
    };
    Node { loc, value }
}

/// A file that is not YAML: where and why.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub loc: Loc,
    pub message: String,
}

/// Parses one YAML document into a located tree.
pub(crate) fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut options = serde_saphyr::options::Options::default();
    options.with_snippet = false;
    // YAML 1.2 booleans only: `no`, `on`, `y` stay strings (country codes, user names).
    options.strict_booleans = true;
    match serde_saphyr::from_str_with_options::<Spanned<SpannedYaml>>(text, options) {
        Ok(root) => Ok(convert(root)),
        Err(e) => {
            let loc = e.location().map_or(Loc { line: 1, column: 1 }, |l| Loc {
                line: (l.line() as u32).max(1),
                column: (l.column() as u32).max(1),
            });
            let full = e.to_string();
            // The message ends with its place, which the caller prints in front instead.
            let message = match full.rfind(" at line ") {
                Some(i) => full[..i].to_string(),
                None => full,
            };
            Err(SyntaxError { loc, message: first_line(&message) })
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_carry_their_place() {
        let n = parse("id: x\nwhere:\n  url.path: {prefix: [/a, '/b']}\n  code: 401\n").unwrap();
        let Yaml::Map(entries) = &n.value else { panic!("a map") };
        assert_eq!(entries[1].0.loc, Loc { line: 2, column: 1 });
        let Yaml::Map(inner) = &entries[1].1.value else { panic!("a map") };
        assert_eq!(inner[1].0.loc, Loc { line: 4, column: 3 });
        assert!(matches!(inner[1].1.value, Yaml::Int(401)));
    }

    #[test]
    fn syntax_errors_have_a_place_and_a_short_message() {
        let e = parse("a: [1, 2\nb: c: d\n").unwrap_err();
        assert_eq!(e.loc, Loc { line: 2, column: 2 });
        assert!(!e.message.contains("line"), "{}", e.message);
    }

    #[test]
    fn norway_is_a_string() {
        let n = parse("c: [NO, no, yes]\n").unwrap();
        let Yaml::Map(entries) = &n.value else { panic!() };
        let Yaml::Seq(items) = &entries[0].1.value else { panic!() };
        assert!(items.iter().all(|i| i.as_str().is_some()));
    }
}
