//! Dashboard sign-in: a browser signs in once with an API token and gets a session cookie
//! (`HttpOnly`, `SameSite=Strict`, `Secure`) and a CSRF token. The session acts with the
//! token's name and role, and ends when the token is revoked, after an hour unused, or after
//! twelve hours. Changes made with the cookie must carry the CSRF token in `X-CSRF-Token`
//! (`csrf_guard`); requests with a bearer token or `X-Api-Key` need none, as browsers never add
//! those on their own.
//!
//! `Secure` is always set: the service serves plain HTTP on loopback only, which browsers
//! count as a secure origin.

use super::auth::{error, presented, same_secret};
use super::ApiState;
use apiwatch_core::time::{HOUR_MS, MINUTE_MS};
use apiwatch_state::Role;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// The session cookie's name.
pub const COOKIE: &str = "apiwatch_session";
/// The field a change made with the session cookie must carry its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Sessions held at once; the least recently used goes when a new one would exceed it.
pub const SESSIONS_MAX: usize = 10_000;
/// A session unused for this long ends.
pub const SESSION_IDLE_MS: i64 = HOUR_MS;
/// A session ends this long after sign-in, used or not.
pub const SESSION_LIFETIME_MS: i64 = 12 * HOUR_MS;
/// How often a session's last use is written back (a read per request, a write per minute).
const LAST_USE_RESOLUTION_MS: i64 = MINUTE_MS;

/// One signed-in browser.
#[derive(Clone, Debug)]
pub struct Session {
    /// The token signed in with; none for the configuration's administrator token.
    pub token_id: Option<i64>,
    pub name: String,
    pub role: Role,
    pub csrf: String,
    started_ms: i64,
    used_ms: i64,
}

/// The open sessions, by the SHA-256 of their cookie value (the value itself is kept nowhere).
#[derive(Default)]
pub struct Sessions {
    by_key: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    /// Opens a session; returns the cookie value and the session.
    pub fn start(
        &self,
        token_id: Option<i64>,
        name: &str,
        role: Role,
        now_ms: i64,
    ) -> (String, Session) {
        let id = random_text();
        let session = Session {
            token_id,
            name: name.to_string(),
            role,
            csrf: random_text(),
            started_ms: now_ms,
            used_ms: now_ms,
        };
        let mut all = self.lock();
        if all.len() >= SESSIONS_MAX {
            all.retain(|_, s| live(s, now_ms));
        }
        if all.len() >= SESSIONS_MAX {
            let oldest = all.iter().min_by_key(|(_, s)| s.used_ms).map(|(k, _)| *k);
            if let Some(k) = oldest {
                all.remove(&k);
            }
        }
        all.insert(key(&id), session.clone());
        (id, session)
    }

    /// The session a cookie value opens, if it is still live; notes its use.
    pub fn get(&self, cookie_value: &str, now_ms: i64) -> Option<Session> {
        let k = key(cookie_value);
        let mut all = self.lock();
        let session = all.get_mut(&k)?;
        if !live(session, now_ms) {
            all.remove(&k);
            return None;
        }
        if now_ms - session.used_ms >= LAST_USE_RESOLUTION_MS {
            session.used_ms = now_ms;
        }
        Some(session.clone())
    }

    /// Ends the session a cookie value opens, if any.
    pub fn end(&self, cookie_value: &str) {
        self.lock().remove(&key(cookie_value));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        crate::live::lock(&self.by_key)
    }
}

fn live(s: &Session, now_ms: i64) -> bool {
    now_ms - s.used_ms < SESSION_IDLE_MS && now_ms - s.started_ms < SESSION_LIFETIME_MS
}

fn key(cookie_value: &str) -> [u8; 32] {
    Sha256::digest(cookie_value.as_bytes()).into()
}

/// 256 random bits, URL-safe base64.
fn random_text() -> String {
    let mut bytes = [0u8; 32];
    // Without an entropy source there is no safe session to give: stop rather than guess.
    getrandom::fill(&mut bytes).expect("the system's random number generator");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The session cookie's value in a request, if it has one.
pub fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .filter(|v| !v.is_empty())
}

/// Refuses a change (any method but GET, HEAD, OPTIONS) authenticated by the session cookie
/// alone unless `X-CSRF-Token` matches the session's.
pub async fn csrf_guard(State(st): State<ApiState>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || presented(request.headers()).is_some() {
        return next.run(request).await;
    }
    if let Some(value) = cookie(request.headers()) {
        let sent = request.headers().get(CSRF_HEADER).map(HeaderValue::as_bytes);
        let session = st.sessions.get(value, (st.now_ms)());
        let matches = match (&session, sent) {
            (Some(s), Some(sent)) => same_secret(s.csrf.as_bytes(), sent),
            _ => false,
        };
        // A dead session is left to the handler, which answers 401.
        if session.is_some() && !matches {
            return error(
                StatusCode::FORBIDDEN,
                "a change made with the session cookie needs its X-CSRF-Token",
            );
        }
    }
    next.run(request).await
}

fn set_cookie(value: &str, max_age_s: i64) -> HeaderValue {
    let text =
        format!("{COOKIE}={value}; Path=/; Max-Age={max_age_s}; HttpOnly; Secure; SameSite=Strict");
    // Base64url and fixed text.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn described(s: &Session) -> serde_json::Value {
    serde_json::json!({"name": s.name, "role": s.role.as_str(), "csrf": s.csrf})
}

/// The sign-in request.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    token: String,
}

/// `POST /v1/session`: signs in with an API token.
pub async fn sign_in(
    State(st): State<ApiState>,
    peer: super::Peer,
    body: Result<axum::Json<SignIn>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let axum::Json(SignIn { token }) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    let (who, token_id) = match super::auth::by_token(&st, token.trim(), peer.0).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (value, session) = st.sessions.start(token_id, &who.name, who.role, (st.now_ms)());
    let mut response = axum::Json(described(&session)).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&value, SESSION_LIFETIME_MS / 1000));
    response
}

/// `GET /v1/session`: who the session cookie signs in, with its CSRF token.
pub async fn current(State(st): State<ApiState>, headers: HeaderMap) -> Response {
    match cookie(&headers).and_then(|v| st.sessions.get(v, (st.now_ms)())) {
        Some(s) => axum::Json(described(&s)).into_response(),
        None => error(StatusCode::UNAUTHORIZED, "not signed in"),
    }
}

/// `DELETE /v1/session`: signs out (the CSRF token is checked by `csrf_guard`).
pub async fn sign_out(State(st): State<ApiState>, headers: HeaderMap) -> Response {
    if let Some(v) = cookie(&headers) {
        st.sessions.end(v);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, set_cookie("", 0));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_ends_when_unused_or_old_and_the_cookie_is_never_kept() {
        let sessions = Sessions::default();
        let (value, s) = sessions.start(Some(7), "ann", Role::Analyst, 0);
        assert_eq!(value.len(), 43);
        assert_ne!(value, s.csrf);
        assert_eq!(sessions.get(&value, SESSION_IDLE_MS - 1).unwrap().name, "ann");
        // Used just now, so still live past the first idle hour.
        assert!(sessions.get(&value, 2 * SESSION_IDLE_MS - 2).is_some());
        assert!(sessions.get(&value, 4 * SESSION_IDLE_MS).is_none());
        assert!(sessions.get(&value, 0).is_none(), "removed once dead");

        let (value, _) = sessions.start(None, "config", Role::Admin, 0);
        let mut t = 0;
        while t + SESSION_IDLE_MS / 2 < SESSION_LIFETIME_MS {
            t += SESSION_IDLE_MS / 2;
            assert!(sessions.get(&value, t).is_some());
        }
        assert!(sessions.get(&value, SESSION_LIFETIME_MS).is_none());
        assert!(sessions.get("not-a-session", 0).is_none());
    }

    #[test]
    fn sessions_are_bounded_and_the_least_recently_used_goes() {
        let sessions = Sessions::default();
        let (first, _) = sessions.start(None, "a", Role::Viewer, 0);
        let (second, _) = sessions.start(None, "b", Role::Viewer, 1);
        for i in 0..SESSIONS_MAX - 2 {
            sessions.start(None, "c", Role::Viewer, 2 + i as i64 % 1000);
        }
        assert_eq!(sessions.lock().len(), SESSIONS_MAX);
        sessions.start(None, "d", Role::Viewer, 2_000);
        assert_eq!(sessions.lock().len(), SESSIONS_MAX);
        assert!(sessions.get(&first, 2_000).is_none());
        assert!(sessions.get(&second, 2_000).is_some());
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, "a=1; apiwatch_sessionx=no".parse().unwrap());
        assert_eq!(cookie(&h), None);
        h.append(header::COOKIE, "b=2;  apiwatch_session=abc ; c=3".parse().unwrap());
        assert_eq!(cookie(&h), Some("abc"));
        let text = set_cookie("abc", 60).to_str().unwrap().to_string();
        for part in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age=60"] {
            assert!(text.contains(part), "{text}");
        }
    }
}
