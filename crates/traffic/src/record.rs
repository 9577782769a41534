//! What the generator emits: one API call as a gateway sees it, or one login as the
//! application logs it, with its ground-truth label.

use crate::rng::Rng;
use apiwatch_core::Outcome;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::fmt::Write;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// One generated record, in event time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    /// Event time, milliseconds since the Unix epoch (UTC).
    pub ts_ms: i64,
    pub kind: RecordKind,
    /// The ground-truth label: `benign/<what>` or `attack/<scenario>`.
    pub scenario: &'static str,
    /// Who is behind it: a user name, a consumer, an address or a network — for attacks the
    /// value the truth file names.
    pub actor: String,
}

impl Record {
    pub fn is_attack(&self) -> bool {
        self.scenario.starts_with("attack/")
    }
    pub fn http(&self) -> Option<&HttpRecord> {
        match &self.kind {
            RecordKind::Http(h) => Some(h),
            RecordKind::Login(_) => None,
        }
    }
    pub fn login(&self) -> Option<&LoginRecord> {
        match &self.kind {
            RecordKind::Login(l) => Some(l),
            RecordKind::Http(_) => None,
        }
    }
    /// Turns the record into a cleared HTTP record, keeping its buffers when it was one.
    pub(crate) fn begin_http(&mut self) -> &mut HttpRecord {
        if !matches!(self.kind, RecordKind::Http(_)) {
            self.kind = RecordKind::Http(HttpRecord::default());
        }
        match &mut self.kind {
            RecordKind::Http(h) => {
                h.reset();
                h
            }
            RecordKind::Login(_) => unreachable!("just made an HTTP record"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum RecordKind {
    /// An API call, as the gateway (nginx, Kong) logs it.
    Http(HttpRecord),
    /// A login attempt, as the application logs it (ECS).
    Login(LoginRecord),
}

impl Default for RecordKind {
    fn default() -> Self {
        RecordKind::Http(HttpRecord::default())
    }
}

/// An API call.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRecord {
    pub client_ip: Ipv4Addr,
    /// The country the generator meant `client_ip` to be in (`""` for private addresses):
    /// what a GeoIP lookup should answer.
    pub country: &'static str,
    pub method: &'static str,
    /// Path and query as sent on the request line (percent-encoding kept).
    pub uri: String,
    /// The route template the call matches (`/api/v1/orders/{id}`), `""` when none does.
    pub route: &'static str,
    pub status: u16,
    pub request_bytes: u32,
    pub response_bytes: u64,
    /// Total request time as the gateway measures it.
    pub duration_ms: u32,
    /// Time spent in the upstream service (part of `duration_ms`).
    pub upstream_ms: u32,
    pub user_agent: &'static str,
    /// `Referer`, `""` when absent.
    pub referrer: &'static str,
    /// The authenticated principal: a JWT's `sub`, or an API key's consumer. Written as
    /// nginx's `$remote_user`.
    pub user: Option<Arc<str>>,
    /// The bearer token (Kong's output carries it in `request.headers.authorization`).
    pub token: Option<Arc<Token>>,
    /// The API key's consumer, for key-authenticated partners.
    pub consumer: Option<&'static Consumer>,
    /// Other request headers (names lower-case), as only header-logging gateways show them.
    pub extra_headers: Vec<(&'static str, &'static str)>,
}

impl Default for HttpRecord {
    fn default() -> Self {
        HttpRecord {
            client_ip: Ipv4Addr::UNSPECIFIED,
            country: "",
            method: "GET",
            uri: String::new(),
            route: "",
            status: 200,
            request_bytes: 0,
            response_bytes: 0,
            duration_ms: 0,
            upstream_ms: 0,
            user_agent: "",
            referrer: "",
            user: None,
            token: None,
            consumer: None,
            extra_headers: Vec::new(),
        }
    }
}

impl HttpRecord {
    /// Back to the defaults, keeping the buffers' capacity.
    fn reset(&mut self) {
        let mut uri = std::mem::take(&mut self.uri);
        let mut extra_headers = std::mem::take(&mut self.extra_headers);
        uri.clear();
        extra_headers.clear();
        *self = HttpRecord { uri, extra_headers, ..HttpRecord::default() };
    }
    /// The path part of `uri`.
    pub fn path(&self) -> &str {
        self.uri.split_once('?').map_or(&self.uri, |(p, _)| p)
    }
    /// The query part of `uri`, without `?`.
    pub fn query(&self) -> Option<&str> {
        self.uri.split_once('?').map(|(_, q)| q)
    }
}

/// A login attempt as the application logs it.
#[derive(Clone, Debug, PartialEq)]
pub struct LoginRecord {
    /// The user name tried (it may not exist).
    pub user: Arc<str>,
    /// The user's id when the name exists.
    pub user_id: Option<u64>,
    pub source_ip: Ipv4Addr,
    pub country: &'static str,
    pub outcome: Outcome,
    /// Why it failed (`invalid password`, `unknown user`).
    pub reason: Option<&'static str>,
    pub user_agent: &'static str,
    /// The token issued on success.
    pub token: Option<Arc<Token>>,
}

/// A bearer token (a JWT whose claims are real and whose signature is filler).
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub jti: String,
    pub sub: Arc<str>,
    pub user_id: u64,
    pub roles: &'static [&'static str],
    /// The OAuth client the token was issued to; Kong maps it to a consumer.
    pub client: &'static Consumer,
    pub issued_at_ms: i64,
    pub expires_at_ms: i64,
    /// The encoded JWT (`header.payload.signature`).
    pub jwt: String,
}

pub const ISSUER: &str = "https://auth.shop.example";

impl Token {
    /// Issues a token with a fresh `jti`.
    pub fn issue(
        rng: &mut Rng,
        sub: &Arc<str>,
        user_id: u64,
        roles: &'static [&'static str],
        client: &'static Consumer,
        issued_at_ms: i64,
        lifetime_ms: i64,
    ) -> Token {
        let jti = uuid(rng);
        let expires_at_ms = issued_at_ms + lifetime_ms;
        let mut payload = String::with_capacity(256);
        let _ = write!(payload, r#"{{"iss":"{ISSUER}","sub":"{sub}","uid":{user_id},"roles":["#);
        for (i, r) in roles.iter().enumerate() {
            if i > 0 {
                payload.push(',');
            }
            let _ = write!(payload, "\"{r}\"");
        }
        let _ = write!(
            payload,
            r#"],"client_id":"{}","iat":{},"exp":{},"jti":"{jti}"}}"#,
            client.name,
            issued_at_ms.div_euclid(1000),
            expires_at_ms.div_euclid(1000)
        );
        // RS256 signatures are 256 bytes; these are filler (nothing here verifies them).
        let mut sig = [0u8; 256];
        for chunk in sig.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        let mut jwt = String::with_capacity(600);
        jwt.push_str(JWT_HEADER_B64);
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(payload.as_bytes(), &mut jwt);
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(sig, &mut jwt);
        Token { jti, sub: sub.clone(), user_id, roles, client, issued_at_ms, expires_at_ms, jwt }
    }
}

/// base64url of `{"alg":"RS256","typ":"JWT","kid":"shop-2026-11"}`.
const JWT_HEADER_B64: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InNob3AtMjAyNi0xMSJ9";

/// A random version-4 UUID in its text form.
pub fn uuid(rng: &mut Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// An API consumer as Kong knows it.
#[derive(Debug, PartialEq, Eq)]
pub struct Consumer {
    pub name: &'static str,
    pub id: &'static str,
    /// The API key (partners) or the JWT credential key (first-party apps).
    pub key: &'static str,
    pub credential_id: &'static str,
    pub created_at_s: i64,
}

pub const SHOP_WEB: Consumer = Consumer {
    name: "shop-web",
    id: "4f0b6b1e-6d0e-4c9a-9a53-0c1f2d7e8a11",
    key: "https://auth.shop.example",
    credential_id: "9d7c3f0a-2b44-4e1f-8c55-3e2a1b9c0d21",
    created_at_s: 1_735_689_600,
};
pub const SHOP_MOBILE: Consumer = Consumer {
    name: "shop-mobile",
    id: "a2c4e6f8-1b3d-4f5a-8c7e-9d0b2a4c6e31",
    key: "https://auth.shop.example",
    credential_id: "b1d3f5a7-9c2e-4a6b-8d0f-1e3a5c7b9d41",
    created_at_s: 1_735_689_600,
};
pub const PARTNER_ACME: Consumer = Consumer {
    name: "partner-acme",
    id: "c3e5a7b9-2d4f-4b6a-9c8e-0f1a3b5d7e51",
    key: "acme_live_7Hq2kP9xVb3mN8wR4tY6uZ1c",
    credential_id: "d4f6b8c0-3e5a-4c7b-8d9f-1a2b4c6d8e61",
    created_at_s: 1_704_067_200,
};
pub const PARTNER_GLOBEX: Consumer = Consumer {
    name: "partner-globex",
    id: "e5a7c9d1-4f6b-4d8c-9e0a-2b3c5d7e9f71",
    key: "glbx_prod_Q4r8T2w6Y0u3I7o1P5a9S2d6",
    credential_id: "f6b8d0e2-5a7c-4e9d-8f1b-3c4d6e8f0a81",
    created_at_s: 1_717_200_000,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_claims_decode() {
        let mut rng = Rng::new(1);
        let t = Token::issue(
            &mut rng,
            &Arc::from("alice.smith"),
            42,
            &["user"],
            &SHOP_WEB,
            1_000_000,
            3_600_000,
        );
        let parts: Vec<&str> = t.jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = URL_SAFE_NO_PAD.decode(parts[0]).unwrap();
        assert_eq!(header, br#"{"alg":"RS256","typ":"JWT","kid":"shop-2026-11"}"#);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["sub"], "alice.smith");
        assert_eq!(claims["jti"], t.jti.as_str());
        assert_eq!(claims["exp"], 4600);
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 256);
    }

    #[test]
    fn uuid_shape() {
        let u = uuid(&mut Rng::new(9));
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
