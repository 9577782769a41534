//! The JWT claims identity needs, read leniently and without copying what is not needed.
//!
//! A typed, borrowing reader instead of a `serde_json::Value`: unknown claims are skipped
//! without allocating, strings without escapes are borrowed from the decoded payload, and a
//! claim of an unexpected type (a numeric `sub`, an object where a list was expected) is
//! ignored on its own instead of failing the whole token.

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// Roles kept per token; more than this in one token is not a role list worth grouping by.
pub(crate) const ROLES_MAX: usize = 64;

/// The claims enrichment reads; every one is optional.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Claims<'a> {
    #[serde(borrow)]
    pub sub: Ident<'a>,
    #[serde(borrow)]
    pub jti: Ident<'a>,
    #[serde(borrow)]
    pub iss: Ident<'a>,
    #[serde(borrow)]
    pub client_id: Ident<'a>,
    #[serde(borrow)]
    pub azp: Ident<'a>,
    #[serde(borrow)]
    pub roles: RoleList<'a>,
    #[serde(borrow)]
    pub role: RoleList<'a>,
    #[serde(borrow)]
    pub groups: RoleList<'a>,
    #[serde(borrow, rename = "cognito:groups")]
    pub cognito_groups: RoleList<'a>,
    #[serde(borrow)]
    pub realm_access: RealmAccess<'a>,
    #[serde(borrow)]
    pub scope: RoleList<'a>,
    #[serde(borrow)]
    pub scp: RoleList<'a>,
}

/// A claim used as an identifier.
#[derive(Debug, Default, PartialEq)]
pub(crate) enum Ident<'a> {
    #[default]
    Absent,
    Text(Cow<'a, str>),
    /// Some issuers use numeric subjects; the number as written.
    Number(String),
}

impl Ident<'_> {
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Ident::Absent => None,
            Ident::Text(s) => Some(s),
            Ident::Number(n) => Some(n),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Ident<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IdentVisitor(PhantomData))
    }
}

struct IdentVisitor<'a>(PhantomData<Ident<'a>>);

impl<'de: 'a, 'a> Visitor<'de> for IdentVisitor<'a> {
    type Value = Ident<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Ident::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Ident::Text(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Ident::Text(Cow::Owned(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Ident::Number(v.to_string()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Ident::Number(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Ident::Number(v.to_string()))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Ident::Absent)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Ident::Absent)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Ident::Absent)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Ident::Absent)
    }
}

/// A role claim: one string or a list of strings (other elements are skipped), at most
/// [`ROLES_MAX`] kept.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct RoleList<'a>(pub Vec<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for RoleList<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RoleListVisitor(PhantomData))
    }
}

struct RoleListVisitor<'a>(PhantomData<RoleList<'a>>);

impl<'de: 'a, 'a> Visitor<'de> for RoleListVisitor<'a> {
    type Value = RoleList<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a list of strings")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element::<Ident<'a>>()? {
            if let (Ident::Text(s), true) = (item, out.len() < ROLES_MAX) {
                out.push(s);
            }
        }
        Ok(RoleList(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        IdentVisitor(PhantomData).visit_map(map).map(|_| RoleList::default())
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(RoleList(vec![Cow::Borrowed(v)]))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(RoleList(vec![Cow::Owned(v.to_string())]))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(RoleList(vec![Cow::Owned(v)]))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(RoleList::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(RoleList::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(RoleList::default())
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(RoleList::default())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(RoleList::default())
    }
}

/// Keycloak's `realm_access`: a mapping whose `roles` is a role list; anything else is
/// ignored.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct RealmAccess<'a> {
    pub roles: RoleList<'a>,
}

impl<'de: 'a, 'a> Deserialize<'de> for RealmAccess<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RealmAccessVisitor(PhantomData))
    }
}

struct RealmAccessVisitor<'a>(PhantomData<RealmAccess<'a>>);

impl<'de: 'a, 'a> Visitor<'de> for RealmAccessVisitor<'a> {
    type Value = RealmAccess<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = RealmAccess::default();
        while let Some(key) = map.next_key::<Ident<'a>>()? {
            if key.text() == Some("roles") {
                out.roles = map.next_value()?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IdentVisitor(PhantomData).visit_seq(seq).map(|_| RealmAccess::default())
    }
    fn visit_borrowed_str<E>(self, _: &'de str) -> Result<Self::Value, E> {
        Ok(RealmAccess::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(RealmAccess::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(RealmAccess::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(RealmAccess::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(RealmAccess::default())
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(RealmAccess::default())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(RealmAccess::default())
    }
}

/// Reads the claims of a decoded JWT payload; `None` unless it is a JSON object.
pub(crate) fn parse(payload: &[u8]) -> Option<Claims<'_>> {
    // A derived struct reader would also accept a JSON array positionally; claims are an object.
    if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    serde_json::from_slice(payload).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unexpected_types_are_skipped_one_by_one() {
        let c = parse(
            br#"{"sub":42,"jti":{"x":[1,2]},"iss":null,"azp":true,"roles":[1,"a",{"b":2},["c"],"d"],
                "role":{"x":1},"realm_access":"admin","scope":7,"extra":{"deep":[[[1]]]}}"#,
        )
        .unwrap();
        assert_eq!(c.sub, Ident::Number("42".into()));
        assert_eq!((c.jti.text(), c.iss.text(), c.azp.text()), (None, None, None));
        assert_eq!(c.roles.0, ["a", "d"]);
        assert!(c.role.0.is_empty() && c.realm_access.roles.0.is_empty() && c.scope.0.is_empty());
    }

    #[test]
    fn escaped_strings_are_read_and_plain_ones_borrowed() {
        let c = parse(br#"{"sub":"a\u00e9b","iss":"plain"}"#).unwrap();
        assert_eq!(c.sub.text(), Some("a\u{e9}b"));
        assert!(matches!(c.iss, Ident::Text(Cow::Borrowed("plain"))));
    }

    #[test]
    fn only_objects_are_claims() {
        assert!(parse(br#"["sub","x"]"#).is_none());
        assert!(parse(b"  \"sub\"").is_none());
        assert!(parse(b"{\"sub\":\"trunc").is_none());
        assert!(parse(br#"{"sub":"a","sub":"b"}"#).is_none(), "duplicate claims are ambiguous");
        assert!(parse(b" {}").is_some());
    }

    #[test]
    fn role_lists_are_capped() {
        let many: Vec<String> = (0..200).map(|i| format!("\"r{i}\"")).collect();
        let json = format!("{{\"roles\":[{}]}}", many.join(","));
        assert_eq!(parse(json.as_bytes()).unwrap().roles.0.len(), ROLES_MAX);
    }
}
