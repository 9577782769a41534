//! API tokens: random secrets shown once at creation; the database keeps only their
//! SHA-256. A secret of 256 random bits cannot be guessed or brute-forced from its hash, so
//! it needs no slow password hash (which exists to protect low-entropy passwords), and an
//! exact hash lets each request be authenticated by one indexed lookup.

use crate::codec::{parse_text, TEXT_BYTES_MAX};
use crate::error::{is_unique_violation, sql, sql_op, Result, StateError};
use crate::State;
use base64::Engine;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a token may do; the service maps roles to endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, tokens and configuration included.
    Admin,
    /// Triage incidents, decide, mute.
    Analyst,
    /// Read only.
    Viewer,
    /// Sends events (ingest).
    Agent,
    /// Polls decisions (a CrowdSec bouncer).
    Bouncer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] =
        [Role::Admin, Role::Analyst, Role::Viewer, Role::Agent, Role::Bouncer];
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Viewer => "viewer",
            Role::Agent => "agent",
            Role::Bouncer => "bouncer",
        }
    }
    /// Reads a name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A token's secret, as shown to its owner once. Its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl TokenSecret {
    /// The secret text (`aw_` and 43 base64url characters), to show once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSecret(..)")
    }
}

/// Who an authenticated token belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub role: Role,
}

/// A token as listed: never its secret or hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenListing {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub created_at_ms: i64,
    pub last_used_ms: Option<i64>,
}

/// The secret's prefix: it makes a leaked secret recognisable to secret scanners.
pub const TOKEN_PREFIX: &str = "aw_";

/// Random bytes per secret: 256 bits, 43 base64url characters.
const SECRET_RANDOM_BYTES: usize = 32;

/// The longest token name: names are labels, shown in lists and the audit trail.
pub const TOKEN_NAME_BYTES_MAX: usize = 128;

/// How stale `last_used_ms` may get: writing it at every request would cost a synced
/// commit per request; a minute's precision is enough to tell unused tokens.
pub const LAST_USED_RESOLUTION_MS: i64 = 60_000;

fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn new_secret() -> Result<TokenSecret> {
    let mut bytes = [0u8; SECRET_RANDOM_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| StateError::Random { op: "create_token", reason: e.to_string() })?;
    Ok(TokenSecret(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )))
}

impl State {
    /// Creates a token; returns its id and its secret, which is not stored and cannot be
    /// shown again. Names are unique.
    pub fn create_token(
        &self,
        name: &str,
        role: Role,
        created_at_ms: i64,
    ) -> Result<(i64, TokenSecret)> {
        const OP: &str = "create_token";
        if name.is_empty() || name.len() > TOKEN_NAME_BYTES_MAX {
            return Err(StateError::Invalid {
                op: OP,
                reason: format!("a token name has 1 to {TOKEN_NAME_BYTES_MAX} bytes"),
            });
        }
        let secret = new_secret()?;
        let hash = secret_hash(secret.expose());
        let id = self.write(OP, |tx| {
            tx.execute(
                "INSERT INTO api_tokens (name, role, secret_sha256, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4)",
                params![name, role.as_str(), &hash[..], created_at_ms],
            )
            .map_err(|e| {
                if is_unique_violation(&e) && e.to_string().contains("api_tokens.name") {
                    StateError::Conflict { op: OP, what: "token", key: name.to_string() }
                } else {
                    sql(OP, name)(e)
                }
            })?;
            Ok(tx.last_insert_rowid())
        })?;
        Ok((id, secret))
    }

    /// The token a secret belongs to, if any; records its use at `now_ms`.
    pub fn authenticate(&self, secret: &str, now_ms: i64) -> Result<Option<TokenInfo>> {
        const OP: &str = "authenticate";
        let well_formed = secret.len() <= TEXT_BYTES_MAX && secret.starts_with(TOKEN_PREFIX);
        if !well_formed {
            return Ok(None);
        }
        // The lookup compares hashes, not secrets: timing tells an attacker about the hash
        // of their guess, which says nothing about any stored secret.
        let hash = secret_hash(secret);
        let conn = self.lock();
        let found: Option<(i64, String, String, Option<i64>)> = conn
            .prepare_cached(
                "SELECT id, name, role, last_used_ms FROM api_tokens WHERE secret_sha256 = ?1",
            )
            .and_then(|mut st| {
                st.query_row([&hash[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .optional()
            })
            .map_err(sql_op(OP))?;
        let Some((id, name, role, last_used_ms)) = found else {
            return Ok(None);
        };
        let role = parse_text(&role, Role::parse, OP, &id.to_string(), "role")?;
        if last_used_ms.is_none_or(|t| now_ms - t >= LAST_USED_RESOLUTION_MS) {
            conn.execute(
                "UPDATE api_tokens SET last_used_ms = ?2 WHERE id = ?1",
                params![id, now_ms],
            )
            .map_err(sql(OP, id))?;
        }
        Ok(Some(TokenInfo { id, name, role }))
    }

    /// The token with this id, if it still exists (ids are never reused): a dashboard session
    /// lives only as long as the token it was opened with.
    pub fn token_by_id(&self, id: i64) -> Result<Option<TokenInfo>> {
        const OP: &str = "token_by_id";
        let conn = self.lock();
        let found: Option<(String, String)> = conn
            .prepare_cached("SELECT name, role FROM api_tokens WHERE id = ?1")
            .and_then(|mut st| st.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
            .map_err(sql_op(OP))?;
        let Some((name, role)) = found else { return Ok(None) };
        let role = parse_text(&role, Role::parse, OP, &id.to_string(), "role")?;
        Ok(Some(TokenInfo { id, name, role }))
    }

    /// Every token, oldest first, without secrets or hashes.
    pub fn list_tokens(&self) -> Result<Vec<TokenListing>> {
        const OP: &str = "list_tokens";
        let query =
            "SELECT id, name, role, created_at_ms, last_used_ms FROM api_tokens ORDER BY id";
        self.list_by_id(OP, query, [], |r, id| {
            let e = || sql(OP, id);
            let role: String = r.get(2).map_err(e())?;
            Ok(TokenListing {
                id,
                name: r.get(1).map_err(e())?,
                role: parse_text(&role, Role::parse, OP, &id.to_string(), "role")?,
                created_at_ms: r.get(3).map_err(e())?,
                last_used_ms: r.get(4).map_err(e())?,
            })
        })
    }

    /// Deletes a token, so its secret no longer authenticates; `false` when there was none.
    pub fn revoke_token(&self, id: i64) -> Result<bool> {
        self.delete_row("revoke_token", "api_tokens", id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_base64url_of_256_random_bits() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        let body = &a.expose()[TOKEN_PREFIX.len()..];
        assert!(a.expose().starts_with(TOKEN_PREFIX));
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).unwrap();
        assert_eq!(bytes.len(), SECRET_RANDOM_BYTES);
        assert_eq!(format!("{a:?}"), "TokenSecret(..)");
    }
}
