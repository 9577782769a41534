//! How vocabulary values are written into columns and read back.

use crate::error::StateError;
use apiwatch_core::Severity;

/// A severity's rank (low 0 .. critical 3), so "at least" is a comparison in SQL.
pub(crate) fn severity_rank(severity: Severity) -> i64 {
    Severity::ALL.iter().position(|s| *s == severity).expect("every severity is in ALL") as i64
}

/// Reads a rank back.
pub(crate) fn severity_of_rank(
    rank: i64,
    op: &'static str,
    key: &str,
) -> Result<Severity, StateError> {
    usize::try_from(rank)
        .ok()
        .and_then(|i| Severity::ALL.get(i).copied())
        .ok_or_else(|| corrupt(op, key, format!("severity rank {rank}")))
}

/// A stored value that does not read back.
pub(crate) fn corrupt(op: &'static str, key: impl ToString, reason: impl ToString) -> StateError {
    StateError::Corrupt { op, key: key.to_string(), reason: reason.to_string() }
}

/// Reads an enum stored as its `as_str` text.
pub(crate) fn parse_text<T>(
    text: &str,
    parse: impl FnOnce(&str) -> Option<T>,
    op: &'static str,
    key: &str,
    column: &str,
) -> Result<T, StateError> {
    parse(text).ok_or_else(|| corrupt(op, key, format!("{column} {text:?}")))
}

/// Checks a free-text argument against its length limit.
pub(crate) fn check_len(
    op: &'static str,
    what: &str,
    text: &str,
    bytes_max: usize,
) -> Result<(), StateError> {
    if text.len() > bytes_max {
        return Err(StateError::Invalid {
            op,
            reason: format!("{what} is {} bytes, over the {bytes_max}-byte limit", text.len()),
        });
    }
    Ok(())
}

/// The most bytes of free text (a reason, a note, a verdict) the database keeps per field:
/// enough for a paragraph of notes, small enough that a client cannot grow it without bound.
pub const TEXT_BYTES_MAX: usize = 16 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_ranks_keep_the_order_and_read_back() {
        let ranks: Vec<i64> = Severity::ALL.iter().map(|s| severity_rank(*s)).collect();
        assert_eq!(ranks, [0, 1, 2, 3]);
        for s in Severity::ALL {
            assert_eq!(severity_of_rank(severity_rank(s), "t", "k").unwrap(), s);
        }
        assert!(severity_of_rank(4, "t", "k").is_err());
        assert!(severity_of_rank(-1, "t", "k").is_err());
    }
}
