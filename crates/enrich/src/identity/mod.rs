//! Who called, from the `authorization` header: JWT claims (read, not verified) and the user of
//! Basic credentials.
//!
//! Claims are not verified because enrichment has no keys and needs none: the identity is a
//! label for grouping and investigation, and a forged token is itself worth seeing under the
//! name it claims. The token and the password are never copied; API keys are left to
//! redaction. Fields a decoder already set (a Kong consumer, a logged user) are kept.

mod claims;

use crate::cache::BoundedCache;
use crate::stats::EnrichStats;
use apiwatch_core::EventData;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use claims::{Claims, RoleList};
use std::sync::Arc;

/// JWTs use base64url without padding (RFC 7515); some issuers pad anyway, and a few use the
/// standard alphabet, so both alphabets are accepted with or without padding.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);

/// A single claim value longer than this is not an identifier; it is ignored.
const CLAIM_BYTES_MAX: usize = 512;

/// Longest JWT payload (its base64 text) whose identity a worker remembers. Real payloads are
/// a few hundred bytes; longer ones are decoded every time, so that the cache stays within
/// `identity_cache_entries_max` times this.
const JWT_PAYLOAD_CACHE_BYTES_MAX: usize = 2 * 1024;

/// What the claims of one JWT payload give an event, worked out once per distinct payload:
/// a token is sent with every request of a session, and decoding it (base64, then JSON) costs
/// more than the rest of enrichment.
#[derive(Debug)]
pub(crate) struct JwtIdentity {
    user: Option<apiwatch_core::Text>,
    token_id: Option<apiwatch_core::Text>,
    issuer: Option<apiwatch_core::Text>,
    consumer: Option<apiwatch_core::Text>,
    roles: Vec<String>,
}

/// A worker's memo of payload text to identity (`None`: not a JSON object). Keyed by the
/// payload alone: the header and the signature, which make a token usable, are never kept.
pub(crate) type IdentityCache = BoundedCache<Box<str>, Option<Arc<JwtIdentity>>>;

/// Reads identity from the event's `authorization` header.
pub(crate) fn apply(
    ev: &mut EventData,
    header_bytes_max: usize,
    cache: &mut IdentityCache,
    stats: &mut EnrichStats,
) {
    let Some(value) = ev.header("authorization") else { return };
    if value.len() > header_bytes_max {
        stats.identity_headers_oversized += 1;
        return;
    }
    let Some((scheme, credentials)) = value.trim().split_once(char::is_whitespace) else { return };
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        // Opaque (non-JWT) tokens are left for redaction to pseudonymise.
        let Some(payload) = jwt_payload(credentials) else { return };
        let identity = if payload.len() <= JWT_PAYLOAD_CACHE_BYTES_MAX {
            match cache.get(payload) {
                Some(hit) => hit,
                None => {
                    let found = jwt_identity(payload).map(Arc::new);
                    cache.insert(payload.into(), found.clone());
                    found
                }
            }
        } else {
            cache.count_uncacheable();
            jwt_identity(payload).map(Arc::new)
        };
        match identity {
            Some(identity) => {
                stats.jwt_decoded += 1;
                apply_identity(ev, &identity);
            }
            None => stats.jwt_malformed += 1,
        }
    } else if scheme.eq_ignore_ascii_case("basic") {
        // Not cached: the credentials hold the password.
        match basic_user(credentials) {
            Some(user) => {
                stats.basic_decoded += 1;
                if ev.user_name.is_none() && !user.is_empty() {
                    ev.user_name = Some(user.into());
                }
            }
            None => stats.basic_malformed += 1,
        }
    }
}

/// The identity in a JWT payload; `None` when it is not base64 of a JSON object.
fn jwt_identity(payload: &str) -> Option<JwtIdentity> {
    let bytes = decode_payload(payload)?;
    let claims = claims::parse(&bytes)?;
    Some(JwtIdentity {
        user: claim_text(&claims.sub),
        token_id: claim_text(&claims.jti),
        issuer: claim_text(&claims.iss),
        consumer: claim_text(&claims.client_id).or_else(|| claim_text(&claims.azp)),
        roles: roles(&claims),
    })
}

/// The payload part of a compact JWS (`header.payload.signature`); `None` for opaque tokens,
/// which redaction turns into a pseudonym. Encrypted JWTs (five parts) carry no readable claims.
fn jwt_payload(token: &str) -> Option<&str> {
    // memchr rather than `split('.')`: the signature alone is hundreds of bytes, and `str`'s
    // searcher costs several times more per byte.
    let bytes = token.as_bytes();
    let first = memchr::memchr(b'.', bytes)?;
    let second = first + 1 + memchr::memchr(b'.', &bytes[first + 1..])?;
    let payload = &token[first + 1..second];
    let no_more_parts = memchr::memchr(b'.', &bytes[second + 1..]).is_none();
    (no_more_parts && !payload.is_empty()).then_some(payload)
}

fn decode_payload(payload: &str) -> Option<Vec<u8>> {
    URL_SAFE.decode(payload).or_else(|_| STANDARD.decode(payload)).ok()
}

/// A claim as an identifier; empty and over-long values are not identifiers.
fn claim_text(claim: &claims::Ident<'_>) -> Option<apiwatch_core::Text> {
    claim.text().filter(|s| !s.is_empty() && s.len() <= CLAIM_BYTES_MAX).map(Into::into)
}

/// Fills the identity fields a decoder left empty.
fn apply_identity(ev: &mut EventData, identity: &JwtIdentity) {
    if let Some(sub) = &identity.user {
        if ev.user_name.is_none() {
            ev.user_name = Some(sub.clone());
        }
        if ev.user_id.is_none() {
            ev.user_id = Some(sub.clone());
        }
    }
    if ev.token_id.is_none() {
        ev.token_id.clone_from(&identity.token_id);
    }
    if ev.token_issuer.is_none() {
        ev.token_issuer.clone_from(&identity.issuer);
    }
    if ev.consumer.is_none() {
        ev.consumer.clone_from(&identity.consumer);
    }
    if ev.user_roles.is_empty() {
        ev.user_roles.clone_from(&identity.roles);
    }
}

/// Roles from the claims identity providers use: `roles`, `role`, `groups` (generic, Okta,
/// Azure AD), `cognito:groups` (AWS Cognito), `realm_access.roles` (Keycloak), and
/// `scope`/`scp` (OAuth scopes, space-separated). Order of first appearance, no duplicates.
fn roles(claims: &Claims<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |s: &str| {
        let s = s.trim();
        let fits = !s.is_empty() && s.len() <= CLAIM_BYTES_MAX && out.len() < claims::ROLES_MAX;
        if fits && !out.iter().any(|r| r == s) {
            out.push(s.to_string());
        }
    };
    let named: [&RoleList<'_>; 5] = [
        &claims.roles,
        &claims.role,
        &claims.groups,
        &claims.cognito_groups,
        &claims.realm_access.roles,
    ];
    for list in named {
        list.0.iter().for_each(|r| add(r));
    }
    for list in [&claims.scope, &claims.scp] {
        list.0.iter().flat_map(|s| s.split_ascii_whitespace()).for_each(&mut add);
    }
    out
}

/// The user of Basic credentials (`base64(user:password)`); the password is dropped here.
fn basic_user(credentials: &str) -> Option<String> {
    let bytes = STANDARD.decode(credentials).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let (user, _password) = text.split_once(':')?;
    (user.len() <= CLAIM_BYTES_MAX).then(|| user.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_three_part_tokens_are_jwts() {
        assert_eq!(jwt_payload("a.b.c"), Some("b"));
        assert_eq!(jwt_payload("a.b"), None);
        assert_eq!(jwt_payload("a.b.c.d.e"), None);
        assert_eq!(jwt_payload("a..c"), None);
        assert_eq!(jwt_payload("opaque-token"), None);
        assert_eq!(jwt_payload("a.b."), Some("b"));
        assert_eq!(jwt_payload(".b.c"), Some("b"));
        assert_eq!(jwt_payload("a.b.c."), None);
    }

    #[test]
    fn the_payload_is_the_middle_of_exactly_three_parts() {
        // Every arrangement of dots and letters up to six bytes, against a split on dots.
        for len in 0..=6u32 {
            for bits in 0..(1u32 << len) {
                let token: String =
                    (0..len).map(|i| if (bits >> i) & 1 == 1 { '.' } else { 'x' }).collect();
                let parts: Vec<&str> = token.split('.').collect();
                let expected = match parts[..] {
                    [_, middle, _] if !middle.is_empty() => Some(middle),
                    _ => None,
                };
                assert_eq!(jwt_payload(&token), expected, "{token}");
            }
        }
    }

    #[test]
    fn padding_and_the_standard_alphabet_are_tolerated() {
        // These bytes encode to '-' and '_' in base64url and to '+' and '/' in base64.
        let json = "{\"sub\":\"\u{fc}?>\u{ff}\"}";
        let url = base64::engine::general_purpose::URL_SAFE.encode(json);
        let std = base64::engine::general_purpose::STANDARD.encode(json);
        assert!(url.ends_with('=') && url.contains(['-', '_']), "{url}");
        for payload in [url.trim_end_matches('='), url.as_str(), std.as_str()] {
            let bytes = decode_payload(payload).unwrap();
            let claims = claims::parse(&bytes).unwrap();
            assert_eq!(claims.sub.text(), Some("\u{fc}?>\u{ff}"));
        }
    }

    #[test]
    fn empty_and_over_long_claims_are_not_identifiers() {
        assert_eq!(claim_text(&claims::Ident::Number("42".into())), Some("42".into()));
        assert_eq!(claim_text(&claims::Ident::Absent), None);
        assert_eq!(claim_text(&claims::Ident::Text("".into())), None);
        assert_eq!(claim_text(&claims::Ident::Text("x".repeat(600).into())), None);
    }

    #[test]
    fn basic_without_a_colon_is_malformed() {
        let b = base64::engine::general_purpose::STANDARD.encode("alice");
        assert_eq!(basic_user(&b), None);
        let b = base64::engine::general_purpose::STANDARD.encode("alice:s3cr:et");
        assert_eq!(basic_user(&b).as_deref(), Some("alice"));
    }
}
