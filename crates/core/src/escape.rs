//! Escaping attacker-controlled text for people: terminals and log lines.
//!
//! Every field of an event may come from an attacker. Anything printed for a person goes
//! through [`for_terminal`], so ANSI escapes, carriage returns and line breaks inside a user
//! agent cannot forge, recolour or hide lines.

use std::borrow::Cow;
use std::fmt::Write;

/// Replaces control characters (C0, DEL, C1) and bidirectional overrides with visible
/// escapes (`\x1b`, `\n`, `\u{202e}`); leaves everything else as is.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs_escape(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        || c == '\\'
}

#[cfg(test)]
mod tests {
    use super::for_terminal;

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(for_terminal("curl/8.0"), "curl/8.0");
        assert_eq!(for_terminal("a\x1b[31mred\nforged line\r"), "a\\x1b[31mred\\nforged line\\r");
        assert_eq!(for_terminal("\u{202e}gnp.exe"), "\\u{202e}gnp.exe");
        // A literal backslash is escaped too, so `\n` typed by an attacker cannot pass for an
        // escaped newline.
        assert_eq!(for_terminal("a\\nb"), "a\\\\nb");
    }
}
