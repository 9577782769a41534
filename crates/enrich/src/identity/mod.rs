//! Who called, from the `authorization` header: JWT claims (read, not verified) and the user of
//! Basic credentials.
//!
//! Claims are not verified because enrichment has no keys and needs none: the identity is a
//! label for grouping and investigation, and a forged token is itself worth seeing under the
//! name it claims. The token and the password are never copied; API keys are left to
//! redaction. Fields a decoder already set (a Kong consumer, a logged user) are kept.

mod claims;

use crate::stats::EnrichStats;
use apiwatch_core::EventData;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use claims::{Claims, RoleList};

/// JWTs use base64url without padding (RFC 7515); some issuers pad anyway, and a few use the
/// standard alphabet, so both alphabets are accepted with or without padding.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);

/// A single claim value longer than this is not an identifier; it is ignored.
const CLAIM_BYTES_MAX: usize = 512;

/// What the `authorization` header holds, decoded out of the event so it can be written to.
enum Credentials {
    /// The decoded payload of a JWT (`None`: not base64).
    Jwt(Option<Vec<u8>>),
    /// The user of Basic credentials (`None`: not `base64(user:password)`).
    Basic(Option<String>),
}

/// Reads identity from the event's `authorization` header.
pub(crate) fn apply(ev: &mut EventData, header_bytes_max: usize, stats: &mut EnrichStats) {
    let Some(value) = ev.header("authorization") else { return };
    if value.len() > header_bytes_max {
        stats.identity_headers_oversized += 1;
        return;
    }
    let Some((scheme, credentials)) = value.trim().split_once(char::is_whitespace) else { return };
    let credentials = credentials.trim();
    let found = if scheme.eq_ignore_ascii_case("bearer") {
        // Opaque (non-JWT) tokens are left for redaction to pseudonymise.
        let Some(payload) = jwt_payload(credentials) else { return };
        Credentials::Jwt(decode_payload(payload))
    } else if scheme.eq_ignore_ascii_case("basic") {
        Credentials::Basic(basic_user(credentials))
    } else {
        return;
    };
    match found {
        Credentials::Jwt(bytes) => match bytes.as_deref().and_then(claims::parse) {
            Some(claims) => {
                stats.jwt_decoded += 1;
                apply_claims(ev, &claims);
            }
            None => stats.jwt_malformed += 1,
        },
        Credentials::Basic(Some(user)) => {
            stats.basic_decoded += 1;
            if ev.user_name.is_none() && !user.is_empty() {
                ev.user_name = Some(user);
            }
        }
        Credentials::Basic(None) => stats.basic_malformed += 1,
    }
}

/// The payload part of a compact JWS (`header.payload.signature`); `None` for opaque tokens,
/// which redaction turns into a pseudonym. Encrypted JWTs (five parts) carry no readable claims.
fn jwt_payload(token: &str) -> Option<&str> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    (parts.next().is_none() && !payload.is_empty()).then_some(payload)
}

fn decode_payload(payload: &str) -> Option<Vec<u8>> {
    URL_SAFE.decode(payload).or_else(|_| STANDARD.decode(payload)).ok()
}

/// A claim as an identifier; empty and over-long values are not identifiers.
fn claim_text(claim: &claims::Ident<'_>) -> Option<String> {
    claim.text().filter(|s| !s.is_empty() && s.len() <= CLAIM_BYTES_MAX).map(str::to_string)
}

fn apply_claims(ev: &mut EventData, claims: &Claims<'_>) {
    if let Some(sub) = claim_text(&claims.sub) {
        if ev.user_name.is_none() {
            ev.user_name = Some(sub.clone());
        }
        if ev.user_id.is_none() {
            ev.user_id = Some(sub);
        }
    }
    if ev.token_id.is_none() {
        ev.token_id = claim_text(&claims.jti);
    }
    if ev.token_issuer.is_none() {
        ev.token_issuer = claim_text(&claims.iss);
    }
    if ev.consumer.is_none() {
        ev.consumer = claim_text(&claims.client_id).or_else(|| claim_text(&claims.azp));
    }
    if ev.user_roles.is_empty() {
        ev.user_roles = roles(claims);
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
        assert_eq!(claim_text(&claims::Ident::Number("42".into())), Some("42".to_string()));
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
