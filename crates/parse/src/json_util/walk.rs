//! A walker over one JSON object that hands each wanted value to a sink under its dotted path,
//! so that nested objects, dotted keys and mixtures of both read the same.

use super::value::{CowStr, Scalar, ScalarVisitor, Skip};
use super::{checked_text, run_seed, syntax_error};
use crate::DecodeError;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserializer;
use std::borrow::Cow;
use std::fmt;

/// Deepest object the walker descends into; deeper objects are skipped (never a log field).
const WALK_DEPTH_MAX: u32 = 8;

/// Receives the values of a JSON object walked by [`walk`], each under its dotted path from
/// the root, whether the source nests objects (`{"source":{"ip":…}}`), dots its keys
/// (`"source.ip"`) or mixes both.
pub(crate) trait FlatSink<'de> {
    /// Whether the value at `path` is read at all; unwanted values are skipped unparsed.
    fn wants(&self, path: &str) -> bool;
    /// Whether an object at a wanted `path` is walked into; otherwise it reaches
    /// [`FlatSink::leaf`] as [`Scalar::Object`].
    fn descends(&self, path: &str) -> bool;
    /// One value (a scalar or a list) at `path`.
    fn leaf(&mut self, path: &str, value: Scalar<'de>) -> Result<(), DecodeError>;
}

/// Walks the JSON object on `line`, handing every wanted value to `sink`.
pub(crate) fn walk<'de, S: FlatSink<'de>>(
    line: &'de [u8],
    sink: &mut S,
) -> Result<(), DecodeError> {
    let text = checked_text(line)?;
    let mut path = String::with_capacity(64);
    let mut failure = None;
    let walked = run_seed(text, Walk { sink, path: &mut path, failure: &mut failure, depth: 0 });
    match (walked, failure) {
        (_, Some(e)) => Err(e),
        (Ok(()), None) => Ok(()),
        (Err(e), None) => Err(syntax_error(&e)),
    }
}

struct Walk<'s, S> {
    sink: &'s mut S,
    path: &'s mut String,
    /// The sink's own error, kept aside: a serde error can carry only text, and that text would
    /// be replaced by the fixed reasons of [`syntax_error`].
    failure: &'s mut Option<DecodeError>,
    depth: u32,
}

impl<'de, S: FlatSink<'de>> Walk<'_, S> {
    fn leaf<E: de::Error>(self, value: Scalar<'de>) -> Result<(), E> {
        if self.depth == 0 {
            *self.failure = Some(DecodeError::field("line", "expected a JSON object"));
            return Err(E::custom("not an object"));
        }
        self.sink.leaf(self.path, value).map_err(|e| {
            *self.failure = Some(e);
            E::custom("field")
        })
    }
}

impl<'de, S: FlatSink<'de>> DeserializeSeed<'de> for Walk<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: FlatSink<'de>> Visitor<'de> for Walk<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.leaf(Scalar::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.leaf(Scalar::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.leaf(Scalar::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.leaf(Scalar::UInt(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.leaf(Scalar::Float(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<(), E> {
        self.leaf(Scalar::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.leaf(Scalar::Str(Cow::Owned(s.to_owned())))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let list = ScalarVisitor::at(self.depth).visit_seq(seq)?;
        self.leaf(list)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let root = self.depth == 0;
        if !root && (self.depth >= WALK_DEPTH_MAX || !self.sink.descends(self.path)) {
            Skip(self.depth).visit_map(&mut map)?;
            return self.leaf(Scalar::Object);
        }
        while let Some(CowStr(key)) = map.next_key::<CowStr<'de>>()? {
            let len = self.path.len();
            if !root {
                self.path.push('.');
            }
            self.path.push_str(&key);
            if self.sink.wants(self.path) {
                map.next_value_seed(Walk {
                    sink: &mut *self.sink,
                    path: &mut *self.path,
                    failure: &mut *self.failure,
                    depth: self.depth + 1,
                })?;
            } else {
                map.next_value_seed(Skip(self.depth + 1))?;
            }
            self.path.truncate(len);
        }
        Ok(())
    }
}
