//! The compiled query: a tree of AND, OR, NOT over typed comparisons, and how it reads back
//! as text (in a form [`super::Query::parse`] reads again to the same tree).

use super::compile::{Comparison, Op};
use apiwatch_core::EventData;
use std::fmt;

#[derive(Clone, Debug)]
pub(crate) enum Expr {
    /// AND of the parts; no parts matches every event.
    All(Vec<Expr>),
    Any(Vec<Expr>),
    Not(Box<Expr>),
    Test(Comparison),
}

impl Expr {
    /// AND of `parts`, with nested ANDs flattened (a chain of ANDs must not deepen the tree:
    /// depth is what the parser bounds).
    pub(crate) fn all(parts: Vec<Expr>) -> Expr {
        Self::flat(parts, Expr::All, |e| match e {
            Expr::All(v) => Ok(v),
            other => Err(other),
        })
    }

    /// OR of `parts`, flattened likewise.
    pub(crate) fn any(parts: Vec<Expr>) -> Expr {
        Self::flat(parts, Expr::Any, |e| match e {
            Expr::Any(v) => Ok(v),
            other => Err(other),
        })
    }

    fn flat(
        parts: Vec<Expr>,
        make: fn(Vec<Expr>) -> Expr,
        open: fn(Expr) -> Result<Vec<Expr>, Expr>,
    ) -> Expr {
        let mut out = Vec::with_capacity(parts.len());
        for p in parts {
            match open(p) {
                Ok(inner) => out.extend(inner),
                Err(single) => out.push(single),
            }
        }
        if out.len() == 1 {
            out.pop().expect("one part")
        } else {
            make(out)
        }
    }

    pub(crate) fn matches(&self, ev: &EventData) -> bool {
        match self {
            Expr::All(parts) => parts.iter().all(|p| p.matches(ev)),
            Expr::Any(parts) => parts.iter().any(|p| p.matches(ev)),
            Expr::Not(inner) => !inner.matches(ev),
            Expr::Test(c) => c.matches(ev),
        }
    }
}

/// Whether a value can be written bare: the reader takes a bare value up to whitespace or a
/// `)` that closes no `(` of its own, and reads a leading `"` as a quote. Bare `AND` and `OR`
/// are refused after whitespace, so they are quoted too.
fn reads_back_bare(text: &str) -> bool {
    let mut open = 0usize;
    for c in text.chars() {
        match c {
            c if c.is_whitespace() => return false,
            '"' | '\\' => return false,
            '(' => open += 1,
            ')' if open == 0 => return false,
            ')' => open -= 1,
            _ => {}
        }
    }
    !text.is_empty() && !text.eq_ignore_ascii_case("and") && !text.eq_ignore_ascii_case("or")
}

fn write_value(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    if reads_back_bare(text) {
        return f.write_str(text);
    }
    f.write_str("\"")?;
    for c in text.chars() {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.field.name();
        if self.op == Op::Exists {
            return write!(f, "{name} EXISTS");
        }
        write!(f, "{name}{}", self.op.as_str())?;
        write_value(f, &self.text)
    }
}

impl fmt::Display for Expr {
    /// The fewest parentheses precedence needs (NOT > AND > OR).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn join(
            f: &mut fmt::Formatter<'_>,
            parts: &[Expr],
            sep: &str,
            wrap_any: bool,
        ) -> fmt::Result {
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                match p {
                    Expr::Any(_) | Expr::All(_) if wrap_any => write!(f, "({p})")?,
                    _ => write!(f, "{p}")?,
                }
            }
            Ok(())
        }
        match self {
            Expr::All(parts) => join(f, parts, " AND ", true),
            Expr::Any(parts) => join(f, parts, " OR ", false),
            Expr::Not(inner) => match **inner {
                Expr::All(_) | Expr::Any(_) => write!(f, "NOT ({inner})"),
                _ => write!(f, "NOT {inner}"),
            },
            Expr::Test(c) => write!(f, "{c}"),
        }
    }
}
