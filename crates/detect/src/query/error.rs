//! Errors of the search filter language, each placed at a column of the query, and the limits
//! that bound what a query may ask of the parser.

use thiserror::Error;

/// The longest query accepted, in bytes. A filter is typed by a person or written by a script;
/// 4 KiB holds a list of a few hundred addresses, and bounds the work of compiling one.
pub const QUERY_BYTES_MAX: usize = 4096;

/// The deepest nesting of parentheses and `NOT`s. The parser, the matcher and the analyses
/// recurse once per level, so a hostile query must not reach the end of the stack; no filter
/// written by hand comes near 32.
pub const QUERY_DEPTH_MAX: usize = 32;

/// Why a query was refused, and where: `column` counts characters from 1.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    /// 1-based, in characters (one past the last character for "expected more").
    pub column: usize,
    pub message: String,
}

impl QueryError {
    pub(crate) fn new(column: usize, message: impl Into<String>) -> QueryError {
        QueryError { column, message: message.into() }
    }

    /// The query, a caret under the column and the message, on three lines, for a terminal.
    ///
    /// Control characters of the query are shown as `?` (one column each, so that the caret
    /// stays under its character and no escape sequence reaches the terminal).
    pub fn render(&self, query: &str) -> String {
        let shown: String = query
            .chars()
            .map(|c| match c {
                '\t' => ' ',
                c if c.is_control() => '?',
                c => c,
            })
            .collect();
        let pad = " ".repeat(self.column.saturating_sub(1));
        format!("{shown}\n{pad}^\n{self}")
    }
}
