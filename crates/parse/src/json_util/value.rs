//! Values read from a line: strings borrowed when unescaped, lenient scalars whose type the
//! decoder checks per field, objects read into a type or noted as something else, and the
//! ordered members of header and argument objects.

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use super::fields::header_name;

/// A string borrowed from the line when it has no escapes, owned otherwise.
pub(crate) struct CowStr<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = CowStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// Any JSON value, read leniently: the decoder decides what it accepts for each field, so that
/// a value of the wrong type is reported with the field's name instead of a serde message.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(Cow<'a, str>),
    List(Vec<Scalar<'a>>),
    /// An object, skipped: no field of the decoders is an object where a value is expected.
    Object,
}

/// Deepest nesting of arrays and objects read or skipped below any one value. sonic-rs skips
/// ignored values recursively with no depth limit (a 64 KiB line of `[` would overflow the
/// stack), so every container is read or skipped here, one counted level at a time. A debug
/// build uses up to 20 KiB of stack per level: 24 levels under a value, and the few levels of
/// the decoders above it, stay well inside the 2 MiB of a spawned thread. Log lines nest a
/// handful of levels.
pub(crate) const NESTING_DEPTH_MAX: u32 = 24;

/// The message of the serde error that stops a line nesting deeper than
/// [`NESTING_DEPTH_MAX`]; [`super::syntax_error`] turns it into its [`crate::DecodeError`].
pub(crate) const TOO_DEEP: &str = "JSON nests too deeply";

fn too_deep<E: de::Error>() -> E {
    E::custom(TOO_DEEP)
}

/// Skips one value of any kind, counting the levels below it (see [`NESTING_DEPTH_MAX`]).
/// Used instead of [`IgnoredAny`], whose skip in sonic-rs recurses without a limit.
#[derive(Clone, Copy, Default)]
pub(crate) struct Skip(
    /// Levels of containers already entered above the skipped value.
    pub u32,
);

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.0 >= NESTING_DEPTH_MAX {
            return Err(too_deep());
        }
        while seq.next_element_seed(Skip(self.0 + 1))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.0 >= NESTING_DEPTH_MAX {
            return Err(too_deep());
        }
        // Keys are strings: sonic-rs skips them without recursing.
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(Skip(self.0 + 1))?;
        }
        Ok(())
    }
}

/// Reads a [`Scalar`] with the levels of containers already entered above it.
pub(super) struct ScalarVisitor<'a> {
    depth: u32,
    marker: std::marker::PhantomData<&'a ()>,
}

impl ScalarVisitor<'_> {
    pub(super) fn at(depth: u32) -> Self {
        ScalarVisitor { depth, marker: std::marker::PhantomData }
    }
}

impl<'de: 'a, 'a> DeserializeSeed<'de> for ScalarVisitor<'a> {
    type Value = Scalar<'a>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Scalar<'a>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for ScalarVisitor<'a> {
    type Value = Scalar<'a>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(s)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if self.depth >= NESTING_DEPTH_MAX {
            return Err(too_deep());
        }
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ScalarVisitor::at(self.depth + 1))? {
            items.push(item);
        }
        Ok(Scalar::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Skip(self.depth).visit_map(map)?;
        Ok(Scalar::Object)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor::at(0))
    }
}

/// What text read from JSON is put into: `String` (headers, labels) or
/// [`apiwatch_core::Text`] (event fields).
pub(crate) trait TextOut: From<String> + for<'s> From<&'s str> {}
impl<T: From<String> + for<'s> From<&'s str>> TextOut for T {}

/// Why a value does not fit its field (the `reason` of a [`DecodeError`]).
pub(crate) type Unfit = &'static str;

impl<'a> Scalar<'a> {
    /// Null, and the placeholders access logs write for "no value" (`""` and `-`).
    pub(crate) fn is_absent(&self) -> bool {
        match self {
            Scalar::Null => true,
            Scalar::Str(s) => s.is_empty() || s == "-",
            _ => false,
        }
    }

    /// The value as text; a list is joined with ", " (as HTTP joins repeated headers). As a
    /// [`apiwatch_core::Text`], a short string borrowed from the line costs no allocation.
    pub(crate) fn into_text<T: TextOut>(self) -> Result<Option<T>, Unfit> {
        if self.is_absent() {
            return Ok(None);
        }
        Ok(Some(match self {
            Scalar::Str(Cow::Borrowed(s)) => T::from(s),
            Scalar::Str(Cow::Owned(s)) => T::from(s),
            Scalar::List(items) => {
                let mut out = String::new();
                for item in items {
                    if let Some(t) = item.into_text::<String>()? {
                        if !out.is_empty() {
                            out.push_str(", ");
                        }
                        out.push_str(&t);
                    }
                }
                if out.is_empty() {
                    return Ok(None);
                }
                T::from(out)
            }
            other => T::from(other.scalar_text()?),
        }))
    }

    /// The value as one piece of text: a list of one value is that value, a longer list is
    /// refused (a user name or a path is one value).
    pub(crate) fn into_single_text<T: TextOut>(self) -> Result<Option<T>, Unfit> {
        match self {
            Scalar::List(mut items) => match items.len() {
                0 => Ok(None),
                1 => items.pop().map_or(Ok(None), Scalar::into_single_text),
                _ => Err("expected one value, found a list"),
            },
            other => other.into_text(),
        }
    }

    fn scalar_text(self) -> Result<String, Unfit> {
        Ok(match self {
            Scalar::Null => String::new(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::UInt(u) => u.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Str(s) => s.into_owned(),
            Scalar::List(_) => return Err("expected one value, found a list"),
            Scalar::Object => return Err("expected a value, found an object"),
        })
    }

    /// The value as a non-negative integer: a JSON number (a fraction is cut off) or a string
    /// holding one.
    pub(crate) fn to_u64(&self) -> Result<Option<u64>, Unfit> {
        if self.is_absent() {
            return Ok(None);
        }
        const NOT: Unfit = "expected a non-negative number";
        let v = match self {
            Scalar::UInt(u) => *u,
            Scalar::Int(i) => u64::try_from(*i).map_err(|_| NOT)?,
            Scalar::Float(f) => float_to_u64(*f).ok_or(NOT)?,
            Scalar::Str(s) => {
                let s = s.trim();
                match s.parse::<u64>() {
                    Ok(u) => u,
                    Err(_) => s.parse::<f64>().ok().and_then(float_to_u64).ok_or(NOT)?,
                }
            }
            _ => return Err(NOT),
        };
        Ok(Some(v))
    }

    /// The value as a number, fractions kept (epoch seconds, latencies).
    pub(crate) fn to_f64(&self) -> Result<Option<f64>, Unfit> {
        if self.is_absent() {
            return Ok(None);
        }
        const NOT: Unfit = "expected a number";
        let v = match self {
            Scalar::UInt(u) => *u as f64,
            Scalar::Int(i) => *i as f64,
            Scalar::Float(f) => *f,
            Scalar::Str(s) => s.trim().parse::<f64>().map_err(|_| NOT)?,
            _ => return Err(NOT),
        };
        if v.is_finite() {
            Ok(Some(v))
        } else {
            Err(NOT)
        }
    }

    pub(crate) fn to_u16(&self, reason: Unfit) -> Result<Option<u16>, Unfit> {
        match self.to_u64()? {
            None => Ok(None),
            Some(v) => u16::try_from(v).map(Some).map_err(|_| reason),
        }
    }

    pub(crate) fn to_ip(&self) -> Result<Option<IpAddr>, Unfit> {
        match self {
            _ if self.is_absent() => Ok(None),
            Scalar::Str(s) => parse_ip(s).map(Some).ok_or("expected an IP address"),
            _ => Err("expected an IP address"),
        }
    }
}

/// A dotted IPv4 address, as most client addresses are written, read in one pass: four
/// decimal octets of one to three digits, no leading zeros, none above 255, nothing around
/// them. `None` for anything else, which the standard parser then reads or refuses: so this
/// reads exactly the addresses the standard parser reads to the same value, only faster.
fn plain_ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut value: u32 = 0;
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() || i - start == 3 {
                break;
            }
            value = value * 10 + u32::from(c - b'0');
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || (digits > 1 && b[start] == b'0') {
            return None;
        }
        *octet = u8::try_from(value).ok()?;
    }
    (i == b.len()).then_some(Ipv4Addr::from(octets))
}

fn float_to_u64(f: f64) -> Option<u64> {
    // 1.8e19 is just below u64::MAX; larger values would saturate silently.
    (0.0..1.8e19).contains(&f).then_some(f as u64)
}

/// Parses an address as logs write it: plain, or IPv6 in brackets (`[2001:db8::1]`).
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    if let Some(v4) = plain_ipv4(s.as_bytes()) {
        return Some(IpAddr::V4(v4));
    }
    let s = s.trim();
    let s = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(s);
    s.parse().ok()
}

/// A JSON object read into `T`, or a note that the value was something else.
pub(crate) enum Nested<T> {
    Object(T),
    NotObject,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Nested<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Nested<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Nested::Object)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                Skip(0).visit_seq(&mut seq)?;
                Ok(Nested::NotObject)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Nested::NotObject)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Nested::NotObject)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Nested::NotObject)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Nested::NotObject)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Nested::NotObject)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Nested::NotObject)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// The members of a JSON object in their order (headers, query arguments).
pub(crate) struct Pairs<'a>(pub Vec<(Cow<'a, str>, Scalar<'a>)>);

impl<'de: 'a, 'a> Deserialize<'de> for Pairs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Pairs<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                // Grown as needed: most query objects are empty (`{}`) or hold a few arguments.
                let mut items = Vec::new();
                while let Some((CowStr(k), v)) = map.next_entry::<CowStr<'a>, Scalar<'a>>()? {
                    items.push((k, v));
                }
                Ok(Pairs(items))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Request headers, read straight into the event's form: names lower-case, values as text
/// (a list, as Kong writes a repeated header, joined with ", ").
#[derive(Default)]
pub(crate) struct HeaderMap {
    pub items: Vec<(String, String)>,
    /// Set when a value was an object: the caller reports it under its field name.
    pub unfit: Option<Unfit>,
}

impl<'de> Deserialize<'de> for HeaderMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HeaderMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = HeaderMap {
                    items: Vec::with_capacity(map.size_hint().unwrap_or(8).min(64)),
                    unfit: None,
                };
                while let Some(CowStr(name)) = map.next_key::<CowStr<'de>>()? {
                    match map.next_value::<Scalar<'de>>()?.into_text() {
                        Ok(Some(value)) => out.items.push((header_name(&name), value)),
                        Ok(None) => {}
                        Err(unfit) => out.unfit = Some(unfit),
                    }
                }
                Ok(out)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                Skip(0).visit_seq(&mut seq)?;
                Ok(HeaderMap { items: Vec::new(), unfit: Some("expected an object") })
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(HeaderMap::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(HeaderMap { items: Vec::new(), unfit: Some("expected an object") })
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(HeaderMap { items: Vec::new(), unfit: Some("expected an object") })
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(HeaderMap { items: Vec::new(), unfit: Some("expected an object") })
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(HeaderMap { items: Vec::new(), unfit: Some("expected an object") })
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(HeaderMap { items: Vec::new(), unfit: Some("expected an object") })
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// [`parse_ip`] without its IPv4 fast path: the standard parser alone.
    fn parse_ip_by_std(s: &str) -> Option<IpAddr> {
        let s = s.trim();
        let s = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(s);
        s.parse().ok()
    }

    #[test]
    fn addresses_read_as_the_standard_parser_reads_them() {
        for s in [
            "73.0.65.31",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "1.2.3.299",
            "01.2.3.4",
            "1.2.3.00",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.4 ",
            " 1.2.3.4",
            "1..2.3",
            "1.2.3.",
            ".1.2.3",
            "1000.1.1.1",
            "1.2.3.0400",
            "1.2.3.25a",
            "[1.2.3.4]",
            "2001:db8::1",
            "::ffff:1.2.3.4",
            "",
            "-1.2.3.4",
            "+1.2.3.4",
        ] {
            assert_eq!(parse_ip(s), parse_ip_by_std(s), "{s:?}");
        }
        assert_eq!(plain_ipv4(b"73.0.65.31"), Some(Ipv4Addr::new(73, 0, 65, 31)));
        assert_eq!(plain_ipv4(b"01.2.3.4"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// Digits and dots in any arrangement, near-addresses and other address text: read
        /// to the same address, or refused, as the standard parser does.
        #[test]
        fn address_text_reads_as_by_the_standard_parser(
            s in "[0-9.]{0,18}|[0-9]{1,4}(\\.[0-9]{1,4}){3}|[0-9 .:a-f\\[\\]]{0,20}",
        ) {
            prop_assert_eq!(parse_ip(&s), parse_ip_by_std(&s), "{:?}", s);
        }
    }
}
