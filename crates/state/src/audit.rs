//! The audit trail: who did what, from where, to what. Append-only twice over: triggers
//! refuse UPDATE and DELETE, and every entry's hash covers the previous entry's hash, so an
//! edit made with the triggers dropped is found by [`State::verify_audit`]. Removing the
//! newest entries leaves a valid shorter chain; only a copy of the last hash kept elsewhere
//! would show that.

use crate::codec::{corrupt, parse_text};
use crate::error::{sql, sql_op, Result, StateError};
use crate::page::{List, Page, Paging, Where};
use crate::tokens::Role;
use crate::State;
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// One thing someone did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    pub at_ms: i64,
    /// The token's name, or the system's component (`expiry`, `rule:<id>`).
    pub who: String,
    /// The token's role; `None` for the system itself.
    pub role: Option<Role>,
    /// The client's address; `None` for the CLI and the system.
    pub from: Option<String>,
    /// What was done (`decision.approve`, `token.create`).
    pub action: String,
    /// What it was done to (`decision:42`, `incident:9f…`).
    pub target: String,
    pub detail: serde_json::Value,
}

/// A stored entry with its id.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

/// Which entries to list; every field set narrows the list. Newest first.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// `at_ms >= since_ms`.
    pub since_ms: Option<i64>,
    /// `at_ms < until_ms`.
    pub until_ms: Option<i64>,
    pub who: Option<String>,
    pub action: Option<String>,
    pub paging: Paging,
}

/// Entries checked per lock by [`State::verify_audit`], so other threads get their turn.
const VERIFY_BATCH_MAX: i64 = 1_000;

/// The hash before the first entry.
const GENESIS: [u8; 32] = [0; 32];

/// The fields as stored, which is what the hash covers.
struct Stored<'a> {
    id: i64,
    at_ms: i64,
    who: &'a str,
    role: Option<&'a str>,
    client: Option<&'a str>,
    action: &'a str,
    target: &'a str,
    detail_json: &'a str,
}

/// SHA-256 of the previous hash and the entry, every text length-prefixed so that no two
/// different entries encode alike.
fn chain_hash(prev: &[u8; 32], e: &Stored<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(e.id.to_be_bytes());
    h.update(e.at_ms.to_be_bytes());
    let mut text = |t: Option<&str>| match t {
        None => h.update([0u8]),
        Some(t) => {
            h.update([1u8]);
            h.update((t.len() as u64).to_be_bytes());
            h.update(t.as_bytes());
        }
    };
    text(Some(e.who));
    text(e.role);
    text(e.client);
    text(Some(e.action));
    text(Some(e.target));
    text(Some(e.detail_json));
    h.finalize().into()
}

fn read_record(row: &Row<'_>, op: &'static str) -> Result<AuditRecord> {
    let id: i64 = row.get(0).map_err(sql_op(op))?;
    let e = || sql(op, id);
    let role: Option<String> = row.get(3).map_err(e())?;
    let detail: String = row.get(7).map_err(e())?;
    Ok(AuditRecord {
        id,
        entry: AuditEntry {
            at_ms: row.get(1).map_err(e())?,
            who: row.get(2).map_err(e())?,
            role: role
                .map(|r| parse_text(&r, Role::parse, op, &id.to_string(), "role"))
                .transpose()?,
            from: row.get(4).map_err(e())?,
            action: row.get(5).map_err(e())?,
            target: row.get(6).map_err(e())?,
            detail: serde_json::from_str(&detail)
                .map_err(|err| corrupt(op, id, format!("detail_json: {err}")))?,
        },
    })
}

impl State {
    /// Appends an entry to the audit trail; returns its id.
    pub fn audit(&self, entry: &AuditEntry) -> Result<i64> {
        const OP: &str = "audit";
        let detail_json = entry.detail.to_string();
        self.write(OP, |tx| {
            let last: Option<(i64, Vec<u8>)> = tx
                .query_row("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(sql_op(OP))?;
            let (id, prev) = match last {
                None => (1, GENESIS),
                Some((last_id, hash)) => {
                    let prev: [u8; 32] = hash
                        .try_into()
                        .map_err(|_| corrupt(OP, last_id, "hash is not 32 bytes"))?;
                    (last_id + 1, prev)
                }
            };
            let stored = Stored {
                id,
                at_ms: entry.at_ms,
                who: &entry.who,
                role: entry.role.map(Role::as_str),
                client: entry.from.as_deref(),
                action: &entry.action,
                target: &entry.target,
                detail_json: &detail_json,
            };
            let hash = chain_hash(&prev, &stored);
            tx.prepare_cached(
                "INSERT INTO audit (id, at_ms, who, role, client, action, target, detail_json, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    id,
                    stored.at_ms,
                    stored.who,
                    stored.role,
                    stored.client,
                    stored.action,
                    stored.target,
                    stored.detail_json,
                    &hash[..],
                ])
            })
            .map_err(sql(OP, id))?;
            Ok(id)
        })
    }

    /// One page of the entries matching `filter`, newest first.
    pub fn list_audit(&self, filter: &AuditFilter) -> Result<Page<AuditRecord>> {
        const OP: &str = "list_audit";
        let mut w = Where::default();
        if let Some(since) = filter.since_ms {
            w.and("at_ms >= ?", since);
        }
        if let Some(until) = filter.until_ms {
            w.and("at_ms < ?", until);
        }
        if let Some(who) = &filter.who {
            w.and("who = ?", who.clone());
        }
        if let Some(action) = &filter.action {
            w.and("action = ?", action.clone());
        }
        let conn = self.lock();
        w.page(
            &conn,
            &List {
                op: OP,
                select: "SELECT id, at_ms, who, role, client, action, target, detail_json",
                from: "audit",
                order: "ORDER BY id DESC",
            },
            filter.paging,
            |row| read_record(row, OP),
        )
    }

    /// Checks the hash chain of the whole trail; returns the number of entries, or the
    /// first entry that is not as it was written.
    pub fn verify_audit(&self) -> Result<u64> {
        const OP: &str = "verify_audit";
        let mut prev = GENESIS;
        let mut last_id = 0i64;
        let mut count = 0u64;
        loop {
            let conn = self.lock();
            let mut st = conn
                .prepare_cached(
                    "SELECT id, at_ms, who, role, client, action, target, detail_json, hash
                     FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2",
                )
                .map_err(sql_op(OP))?;
            let mut rows = st.query(params![last_id, VERIFY_BATCH_MAX]).map_err(sql_op(OP))?;
            let mut in_batch = 0;
            while let Some(r) = rows.next().map_err(sql_op(OP))? {
                in_batch += 1;
                let id: i64 = r.get(0).map_err(sql_op(OP))?;
                let e = || sql(OP, id);
                if id != last_id + 1 {
                    return Err(StateError::AuditChain {
                        id,
                        reason: "follows a gap: the entries before it were removed",
                    });
                }
                let (who, role, client, action, target, detail_json): (
                    String,
                    Option<String>,
                    Option<String>,
                    String,
                    String,
                    String,
                ) = (
                    r.get(2).map_err(e())?,
                    r.get(3).map_err(e())?,
                    r.get(4).map_err(e())?,
                    r.get(5).map_err(e())?,
                    r.get(6).map_err(e())?,
                    r.get(7).map_err(e())?,
                );
                let stored = Stored {
                    id,
                    at_ms: r.get(1).map_err(e())?,
                    who: &who,
                    role: role.as_deref(),
                    client: client.as_deref(),
                    action: &action,
                    target: &target,
                    detail_json: &detail_json,
                };
                let hash: Vec<u8> = r.get(8).map_err(e())?;
                let expected = chain_hash(&prev, &stored);
                if hash[..] != expected[..] {
                    return Err(StateError::AuditChain {
                        id,
                        reason: "does not match its hash: it, or the entry before it, was changed",
                    });
                }
                prev = expected;
                last_id = id;
                count += 1;
            }
            if in_batch < VERIFY_BATCH_MAX {
                return Ok(count);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored<'a>(who: &'a str, role: Option<&'a str>, client: Option<&'a str>) -> Stored<'a> {
        Stored { id: 1, at_ms: 2, who, role, client, action: "a", target: "t", detail_json: "{}" }
    }

    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        let base = chain_hash(&GENESIS, &stored("ab", None, None));
        assert_ne!(base, chain_hash(&GENESIS, &stored("a", Some("b"), None)));
        assert_ne!(base, chain_hash(&GENESIS, &stored("ab", Some(""), None)));
        assert_ne!(
            chain_hash(&GENESIS, &stored("ab", Some("x"), None)),
            chain_hash(&GENESIS, &stored("ab", None, Some("x")))
        );
        assert_ne!(
            base,
            chain_hash(&[1; 32], &stored("ab", None, None)),
            "the previous hash counts"
        );
    }
}
