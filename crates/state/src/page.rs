//! Paging of list results, and the WHERE clause builder the list filters share.

use rusqlite::types::Value;
use serde::Serialize;

/// The most rows one list call returns, so a request cannot make the service build an
/// unbounded answer; callers page on with `offset`.
pub const PAGE_LIMIT_MAX: u32 = 1_000;

/// The page size when a filter leaves it at its default.
pub const PAGE_LIMIT_DEFAULT: u32 = 100;

/// Which slice of a list to return: `limit` rows (at most [`PAGE_LIMIT_MAX`]) after skipping
/// `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    pub limit: u32,
    pub offset: u64,
}

impl Default for Paging {
    fn default() -> Paging {
        Paging { limit: PAGE_LIMIT_DEFAULT, offset: 0 }
    }
}

impl Paging {
    /// The limit actually applied: at least 1, at most [`PAGE_LIMIT_MAX`].
    pub fn limit_applied(self) -> u32 {
        self.limit.clamp(1, PAGE_LIMIT_MAX)
    }
}

/// One page of a list, with the number of rows matching the filter in all pages.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub offset: u64,
    pub limit: u32,
}

impl<T> Page<T> {
    /// Whether rows remain after this page.
    pub fn has_more(&self) -> bool {
        self.offset + (self.items.len() as u64) < self.total
    }
}

/// The fixed parts of a list query: the operation's name, the select list (`SELECT a, b`),
/// the table, and the ORDER BY clause.
pub(crate) struct List {
    pub(crate) op: &'static str,
    pub(crate) select: &'static str,
    pub(crate) from: &'static str,
    pub(crate) order: &'static str,
}

/// Conditions joined with AND, and their parameters in order.
#[derive(Default)]
pub(crate) struct Where {
    clauses: Vec<&'static str>,
    params: Vec<Value>,
}

impl Where {
    /// Adds a condition with one `?` and its value.
    pub(crate) fn and(&mut self, clause: &'static str, value: impl Into<Value>) {
        self.clauses.push(clause);
        self.params.push(value.into());
    }

    /// `WHERE ...`, or nothing when there is no condition.
    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    pub(crate) fn params(&self) -> &[Value] {
        &self.params
    }

    /// Runs the count and the page query of a list.
    pub(crate) fn page<T>(
        &self,
        conn: &rusqlite::Connection,
        list: &List,
        paging: Paging,
        mut read: impl FnMut(&rusqlite::Row<'_>) -> crate::Result<T>,
    ) -> crate::Result<Page<T>> {
        let List { op, select, from, order } = *list;
        let filter = self.sql();
        let total: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM {from} {filter}"),
                rusqlite::params_from_iter(self.params()),
                |r| r.get(0),
            )
            .map_err(crate::error::sql_op(op))?;
        let limit = paging.limit_applied();
        let mut params = self.params.clone();
        params.push(Value::Integer(limit.into()));
        params.push(Value::Integer(i64::try_from(paging.offset).unwrap_or(i64::MAX)));
        let mut stmt = conn
            .prepare(&format!("{select} FROM {from} {filter} {order} LIMIT ? OFFSET ?"))
            .map_err(crate::error::sql_op(op))?;
        let mut rows =
            stmt.query(rusqlite::params_from_iter(params)).map_err(crate::error::sql_op(op))?;
        let mut items = Vec::new();
        while let Some(row) = rows.next().map_err(crate::error::sql_op(op))? {
            items.push(read(row)?);
        }
        Ok(Page { items, total: total as u64, offset: paging.offset, limit })
    }
}
