//! The reader of the filter language: recursive descent over the query's characters, each
//! error placed at the character it is about. The grammar is in the module documentation of
//! [`super`].

use super::compile::{compile, Columns, Op};
use super::error::{QueryError, QUERY_BYTES_MAX, QUERY_DEPTH_MAX};
use super::expr::Expr;
use crate::load::suggest;
use apiwatch_core::Field;

/// Characters that end a field name: operators, parentheses and quotes.
const FIELD_END: &[char] = &['=', '!', '<', '>', '~', '(', ')', '"'];

/// Reads a whole query.
pub(crate) fn parse(text: &str) -> Result<Expr, QueryError> {
    if text.len() > QUERY_BYTES_MAX {
        let mut cut = QUERY_BYTES_MAX;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        return Err(QueryError::new(
            text[..cut].chars().count() + 1,
            format!("the query is longer than {QUERY_BYTES_MAX} bytes"),
        ));
    }
    let mut p = Parser { chars: text.chars().collect(), pos: 0, depth: 0 };
    p.skip_whitespace();
    if p.at_end() {
        return Err(QueryError::new(1, "the query is empty"));
    }
    let expr = p.or_expr(None)?;
    p.skip_whitespace();
    match p.peek() {
        None => Ok(expr),
        Some(')') => Err(QueryError::new(p.column(), "unmatched ')'")),
        Some(_) => Err(QueryError::new(p.column(), "expected AND, OR or the end of the query")),
    }
}

struct Parser {
    chars: Vec<char>,
    /// Index of the next character; its column is `pos + 1`.
    pos: usize,
    /// Open parentheses and NOTs around the position.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn column(&self) -> usize {
        self.pos + 1
    }

    fn skip_whitespace(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Takes `word` (any case) when it stands alone: followed by the end, whitespace or a
    /// parenthesis, so that a field or value merely starting with it is not mistaken for it.
    fn keyword(&mut self, word: &str) -> bool {
        let n = word.chars().count();
        let Some(candidate) = self.chars.get(self.pos..self.pos + n) else { return false };
        let same = candidate.iter().zip(word.chars()).all(|(a, b)| a.eq_ignore_ascii_case(&b));
        let bounded = match self.chars.get(self.pos + n) {
            None => true,
            Some(c) => c.is_whitespace() || *c == '(' || *c == ')',
        };
        if same && bounded {
            self.pos += n;
        }
        same && bounded
    }

    /// Enters a parenthesis or a NOT that starts at `column`.
    fn descend(&mut self, column: usize) -> Result<(), QueryError> {
        if self.depth >= QUERY_DEPTH_MAX {
            return Err(QueryError::new(
                column,
                format!("parentheses and NOTs are nested deeper than {QUERY_DEPTH_MAX} levels"),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    /// `and_expr (OR and_expr)*`; `after` names the keyword before it, for errors.
    fn or_expr(&mut self, after: Option<&'static str>) -> Result<Expr, QueryError> {
        let mut parts = vec![self.and_expr(after)?];
        loop {
            self.skip_whitespace();
            if !self.keyword("OR") {
                return Ok(Expr::any(parts));
            }
            parts.push(self.and_expr(Some("OR"))?);
        }
    }

    /// `unary (AND unary)*`.
    fn and_expr(&mut self, after: Option<&'static str>) -> Result<Expr, QueryError> {
        let mut parts = vec![self.unary(after)?];
        loop {
            self.skip_whitespace();
            if !self.keyword("AND") {
                return Ok(Expr::all(parts));
            }
            parts.push(self.unary(Some("AND"))?);
        }
    }

    /// `NOT unary | '(' or_expr ')' | comparison`.
    fn unary(&mut self, after: Option<&'static str>) -> Result<Expr, QueryError> {
        self.skip_whitespace();
        let start = self.column();
        if self.keyword("NOT") {
            self.descend(start)?;
            let inner = self.unary(Some("NOT"))?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.peek() == Some('(') {
            self.descend(start)?;
            self.pos += 1;
            let inner = self.or_expr(Some("("))?;
            self.skip_whitespace();
            return match self.peek() {
                Some(')') => {
                    self.pos += 1;
                    self.depth -= 1;
                    Ok(inner)
                }
                None => Err(QueryError::new(start, "unclosed '('")),
                Some(_) => Err(QueryError::new(self.column(), "expected AND, OR or ')'")),
            };
        }
        self.comparison(after)
    }

    /// `field op value | field EXISTS`.
    fn comparison(&mut self, after: Option<&'static str>) -> Result<Expr, QueryError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| !c.is_whitespace() && !FIELD_END.contains(&c)) {
            self.pos += 1;
        }
        if self.pos == start {
            let message = match (self.peek(), after) {
                (None | Some(')'), Some(word)) => format!("expected a condition after '{word}'"),
                (None | Some(')'), None) => "expected a condition".to_string(),
                (Some(c), _) => format!("expected a field name, found '{c}'"),
            };
            return Err(QueryError::new(self.column(), message));
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        let field = resolve_field(&name).map_err(|m| QueryError::new(start + 1, m))?;
        self.skip_whitespace();
        let op_column = self.column();
        let op = self.operator().ok_or_else(|| {
            QueryError::new(
                op_column,
                format!("expected an operator (=, !=, <, <=, >, >=, ~=) or EXISTS after {name}"),
            )
        })?;
        if op == Op::Exists {
            let at = Columns { op: op_column, value: op_column };
            return Ok(Expr::Test(compile(field, op, "", at)?));
        }
        let spaced = self.skip_whitespace();
        let value_column = self.column();
        let value = self.value(op, spaced)?;
        let at = Columns { op: op_column, value: value_column };
        Ok(Expr::Test(compile(field, op, &value, at)?))
    }

    fn operator(&mut self) -> Option<Op> {
        let two = |a: char, b: char| self.chars.get(self.pos..self.pos + 2) == Some(&[a, b]);
        let (op, len) = if two('!', '=') {
            (Op::Ne, 2)
        } else if two('>', '=') {
            (Op::Ge, 2)
        } else if two('<', '=') {
            (Op::Le, 2)
        } else if two('~', '=') {
            (Op::Regex, 2)
        } else {
            match self.peek() {
                Some('=') => (Op::Eq, 1),
                Some('>') => (Op::Gt, 1),
                Some('<') => (Op::Lt, 1),
                _ => return self.keyword("EXISTS").then_some(Op::Exists),
            }
        };
        self.pos += len;
        Some(op)
    }

    /// A quoted or bare value. `spaced`: whitespace came between the operator and here.
    fn value(&mut self, op: Op, spaced: bool) -> Result<String, QueryError> {
        let missing =
            |column| QueryError::new(column, format!("expected a value after '{}'", op.as_str()));
        if self.peek() == Some('"') {
            return self.quoted();
        }
        let start = self.pos;
        let mut open = 0usize;
        while let Some(c) = self.peek() {
            match c {
                c if c.is_whitespace() => break,
                ')' if open == 0 => break,
                ')' => open -= 1,
                '(' => open += 1,
                _ => {}
            }
            self.pos += 1;
        }
        let value: String = self.chars[start..self.pos].iter().collect();
        // `user.name= AND x=1` is a forgotten value, not a user named AND: the word must be
        // quoted to be a value when it stands apart.
        let keyword = value.eq_ignore_ascii_case("and") || value.eq_ignore_ascii_case("or");
        if value.is_empty() || (spaced && keyword) {
            return Err(missing(start + 1));
        }
        Ok(value)
    }

    /// A value in double quotes: `\"` and `\\` are escapes, other backslashes stay as they
    /// are (so a regex like `"\d+"` needs no doubling).
    fn quoted(&mut self) -> Result<String, QueryError> {
        let open_column = self.column();
        self.pos += 1;
        let mut out = String::new();
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '"' => return Ok(out),
                '\\' => match self.peek() {
                    Some(e @ ('"' | '\\')) => {
                        out.push(e);
                        self.pos += 1;
                    }
                    _ => out.push('\\'),
                },
                c => out.push(c),
            }
        }
        Err(QueryError::new(open_column, "unclosed quote"))
    }
}

/// The field of an ECS name, or a message naming the closest known names.
fn resolve_field(name: &str) -> Result<Field, String> {
    if let Some(field) = Field::parse(name) {
        return Ok(field);
    }
    let mut known: Vec<&str> = Field::known_names().collect();
    known.extend(["http.request.headers.<name>", "labels.<name>"]);
    let hint = suggest(name, &known);
    let hint =
        if hint.is_empty() { format!("; known fields are {}", known.join(", ")) } else { hint };
    Err(format!("unknown field `{name}`{hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column_of(text: &str) -> usize {
        parse(text).expect_err(text).column
    }

    #[test]
    fn keywords_stand_alone() {
        assert!(parse("NOT(user.name=a)").is_ok());
        assert!(parse("user.name=a AND(user.id=b)").is_ok());
        assert!(parse("(user.name=a)OR(user.id=b)").is_ok());
        assert!(parse("user.name EXISTS)").is_err());
        assert!(parse("(user.name EXISTS)").is_ok());
        // A word that merely starts like a keyword is not one.
        assert_eq!(column_of("NOTuser.name=a"), 1);
        assert_eq!(column_of("user.name=a ANDuser.id=b"), 13);
        assert_eq!(column_of("user.name EXISTSx"), 11);
        // ...and a keyword right after an operator is a value.
        assert!(parse("user.name=NOT").is_ok());
        assert!(parse("user.name=or").is_ok());
        assert_eq!(column_of("user.name= or"), 12);
    }

    #[test]
    fn whitespace_of_any_kind_separates() {
        assert!(parse("\tuser.name=a\nAND\u{a0}user.id=b  ").is_ok());
        assert!(parse(" ( user.name = a ) ").is_ok());
    }

    #[test]
    fn long_queries_are_cut_at_a_character() {
        // Two-byte characters: the byte limit falls inside one.
        let text = format!("user.name={}", "é".repeat(QUERY_BYTES_MAX));
        let err = parse(&text).unwrap_err();
        assert_eq!(err.column, 10 + (QUERY_BYTES_MAX - 10) / 2 + 1);
    }
}
