//! Plain-text tables for `-o human`. Cell text comes from the API, which carries
//! attacker-controlled values (paths, user names): every cell is escaped for the terminal.

use apiwatch_core::escape::for_terminal;

/// The longest a cell is shown (the JSON output has it whole).
const CELL_CHARS_MAX: usize = 60;

fn cell(s: &str) -> String {
    let s = for_terminal(s).into_owned();
    if s.chars().count() > CELL_CHARS_MAX {
        let cut: String = s.chars().take(CELL_CHARS_MAX - 1).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// A JSON value as a cell: strings bare, null as `-`, the rest as JSON.
pub fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Milliseconds since the epoch as RFC 3339 (`-` when absent).
pub fn time(v: &serde_json::Value) -> String {
    v.as_i64().map_or_else(|| text(v), apiwatch_core::time::format_rfc3339_ms)
}

/// Lays out rows under a header, columns as wide as their widest cell.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| cell(c)).collect()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let parts: Vec<String> =
            cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}", w = *w)).collect();
        parts.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    out += &line(
        widths
            .iter()
            .map(|w| "─".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    );
    for r in &rows {
        out += &line(r.iter().map(String::as_str).collect());
    }
    if rows.is_empty() {
        out += "(none)\n";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_escaped_and_aligned() {
        let t = render(
            &["ID", "VALUE"],
            &[vec!["1".into(), "a\x1b[31mb".into()], vec!["22".into(), "c".into()]],
        );
        assert!(!t.contains('\x1b'), "{t:?}");
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "ID  VALUE");
        assert!(lines[3].starts_with("22  c"));
        assert_eq!(render(&["X"], &[]).lines().last(), Some("(none)"));
    }
}
