//! Who is calling: a token from `Authorization: Bearer …` or, as CrowdSec's bouncers send it,
//! `X-Api-Key: …`. Tokens live hashed in the state database with a role; the configuration's
//! `api.token`, if set, is an administrator's. The role decides what a request may do.

use super::ApiState;
use crate::live::respond::Who;
use apiwatch_state::Role;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

/// Compares in time independent of where the first difference is.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token a request carries, if any.
pub fn presented(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

pub fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({"error": message}))).into_response()
}

/// The caller, or the 401 to answer: by the token the request carries or, without one, by
/// its dashboard session cookie.
pub async fn caller(st: &ApiState, headers: &HeaderMap, peer: SocketAddr) -> Result<Who, Response> {
    match presented(headers) {
        Some(token) => by_token(st, token, peer).await.map(|(who, _)| who),
        None => match super::session::cookie(headers) {
            Some(value) => by_session(st, value, peer).await,
            None => Err(unauthorized()),
        },
    }
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "a valid API token is required (Authorization: Bearer ... or X-Api-Key: ...)",
    )
}

/// Who a token belongs to, and its id (none for the configuration's token). Looks the token up
/// on a blocking thread (SQLite).
pub async fn by_token(
    st: &ApiState,
    token: &str,
    peer: SocketAddr,
) -> Result<(Who, Option<i64>), Response> {
    let from = peer.ip().to_string();
    if let Some(admin) = &st.config_token {
        if same_secret(admin.as_bytes(), token.as_bytes()) {
            return Ok((Who { name: "config".into(), role: Role::Admin, from }, None));
        }
    }
    let state = std::sync::Arc::clone(&st.responder.state);
    let token = token.to_string();
    let now = (st.now_ms)();
    match tokio::task::spawn_blocking(move || state.authenticate(&token, now)).await {
        Ok(Ok(Some(t))) => Ok((Who { name: t.name, role: t.role, from }, Some(t.id))),
        Ok(Ok(None)) => Err(unauthorized()),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "token lookup failed");
            Err(error(StatusCode::INTERNAL_SERVER_ERROR, "the token could not be checked"))
        }
        Err(_) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, "the token could not be checked")),
    }
}

/// Who a dashboard session belongs to, while the session lives and its token still exists.
async fn by_session(st: &ApiState, value: &str, peer: SocketAddr) -> Result<Who, Response> {
    let ended = || error(StatusCode::UNAUTHORIZED, "the session has ended: sign in again");
    let Some(session) = st.sessions.get(value, (st.now_ms)()) else { return Err(ended()) };
    if let Some(id) = session.token_id {
        let state = std::sync::Arc::clone(&st.responder.state);
        match tokio::task::spawn_blocking(move || state.token_by_id(id)).await {
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None)) => {
                // Revoked: the session goes with it.
                st.sessions.end(value);
                return Err(ended());
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "token lookup failed");
                return Err(error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the session could not be checked",
                ));
            }
            Err(_) => {
                return Err(error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the session could not be checked",
                ))
            }
        }
    }
    Ok(Who { name: session.name, role: session.role, from: peer.ip().to_string() })
}

/// What each role may do, by the kind of request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Read alerts, incidents, decisions, rules, actors, metrics, the stream.
    Read,
    /// Read the audit trail and tokens' names.
    ReadAudit,
    /// Search stored events.
    Search,
    /// Send events.
    Ingest,
    /// The CrowdSec bouncer endpoints.
    Bouncer,
}

pub fn allows(role: Role, need: Need) -> bool {
    use Role::*;
    match need {
        Need::Read | Need::Search => matches!(role, Admin | Analyst | Viewer),
        Need::ReadAudit => matches!(role, Admin | Analyst),
        Need::Ingest => matches!(role, Admin | Agent),
        Need::Bouncer => matches!(role, Admin | Bouncer),
    }
}

/// The caller if its role allows `need`; 401 or 403 otherwise.
pub async fn require(
    st: &ApiState,
    headers: &HeaderMap,
    peer: SocketAddr,
    need: Need,
) -> Result<Who, Response> {
    let who = caller(st, headers, peer).await?;
    if allows(who.role, need) {
        Ok(who)
    } else {
        Err(error(
            StatusCode::FORBIDDEN,
            &format!("the {} role may not do this", who.role.as_str()),
        ))
    }
}

/// Extractors that authenticate a request before its handler runs: `Reader` (role may read),
/// `Auditor` (may read the audit trail and tokens) and `Caller` (any valid token; the
/// responder checks the role of each change). They come first in a handler's arguments, so a
/// request without a valid token is 401 whatever else is wrong with it.
pub struct Reader(pub ApiState);

/// See [`Reader`].
pub struct Auditor(pub ApiState);

/// See [`Reader`]: the state, and who is calling.
pub struct Caller {
    pub st: ApiState,
    pub who: Who,
}

async fn peer_of(parts: &mut Parts, st: &ApiState) -> Result<SocketAddr, Response> {
    let peer = super::Peer::from_request_parts(parts, st).await.map_err(|r| r.into_response())?;
    Ok(peer.0)
}

/// The extractor of a role check: `$name` holds the state once the caller may do `$need`.
macro_rules! needs {
    ($name:ident, $need:expr) => {
        impl FromRequestParts<ApiState> for $name {
            type Rejection = Response;
            async fn from_request_parts(
                parts: &mut Parts,
                st: &ApiState,
            ) -> Result<Self, Response> {
                let peer = peer_of(parts, st).await?;
                require(st, &parts.headers, peer, $need).await?;
                Ok($name(st.clone()))
            }
        }
    };
}
needs!(Reader, Need::Read);
needs!(Auditor, Need::ReadAudit);

impl FromRequestParts<ApiState> for Caller {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, st: &ApiState) -> Result<Self, Response> {
        let peer = peer_of(parts, st).await?;
        let who = caller(st, &parts.headers, peer).await?;
        Ok(Caller { st: st.clone(), who })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_allow_what_the_issue_says() {
        use Role::*;
        let table = [
            (Admin, [true, true, true, true, true]),
            (Analyst, [true, true, true, false, false]),
            (Viewer, [true, false, true, false, false]),
            (Agent, [false, false, false, true, false]),
            (Bouncer, [false, false, false, false, true]),
        ];
        for (role, want) in table {
            let got = [Need::Read, Need::ReadAudit, Need::Search, Need::Ingest, Need::Bouncer]
                .map(|n| allows(role, n));
            assert_eq!(got, want, "{role:?}");
        }
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abcdefgh", b"abcdefgh"));
        assert!(!same_secret(b"abcdefgh", b"abcdefgX"));
        assert!(!same_secret(b"abc", b"abcd"));
    }

    #[test]
    fn tokens_come_from_bearer_or_x_api_key() {
        let mut h = HeaderMap::new();
        assert_eq!(presented(&h), None);
        h.insert("x-api-key", "k1".parse().unwrap());
        assert_eq!(presented(&h), Some("k1"));
        h.insert(header::AUTHORIZATION, "Bearer t2".parse().unwrap());
        assert_eq!(presented(&h), Some("t2"));
    }
}
