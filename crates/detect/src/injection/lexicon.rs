//! Word lists the detectors match against: OWASP CRS phrase lists (embedded from
//! `data/crs/`, see its SOURCES.md) and short curated lists of our own.

use std::collections::HashMap;

const UNIX_SHELL: &str = include_str!("../../data/crs/unix-shell.data");
const WINDOWS_POWERSHELL: &str = include_str!("../../data/crs/windows-powershell-commands.data");
const LFI_OS_FILES: &str = include_str!("../../data/crs/lfi-os-files.data");
const SSRF_NO_SCHEME: &str = include_str!("../../data/crs/ssrf-no-scheme.data");

/// The entries of a CRS `.data` file: one phrase a line, `#` comments, blank lines.
fn data_lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// How much a command name alone says about a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CommandKind {
    /// Rarely anything but a command (`wget`, `whoami`, `/bin/sh`): after a shell
    /// metacharacter it is enough.
    Distinctive,
    /// Also an everyday word (`more`, `time`, `set`): needs a shell-looking argument too, so
    /// that "…; more than that" stays prose.
    Word,
}

/// Command names that are everyday English words (or too short to mean anything alone).
/// After `;`, `|`, `&` they count only with an argument that looks like a shell's.
const WORD_COMMANDS: &[&str] = &[
    "ab",
    "alpine",
    "ar",
    "arch",
    "as",
    "ash",
    "at",
    "basename",
    "batch",
    "bridge",
    "call",
    "cancel",
    "cat",
    "cc",
    "chef",
    "cls",
    "color",
    "column",
    "comm",
    "command",
    "compress",
    "copy",
    "crash",
    "cut",
    "date",
    "del",
    "dialog",
    "diff",
    "dig",
    "dir",
    "du",
    "echo",
    "ed",
    "env",
    "eqn",
    "es",
    "esh",
    "ex",
    "exec",
    "exit",
    "expand",
    "expect",
    "fetch",
    "file",
    "filetest",
    "find",
    "finger",
    "fish",
    "flock",
    "fmt",
    "fold",
    "gem",
    "genie",
    "gimp",
    "git",
    "go",
    "hash",
    "head",
    "help",
    "highlight",
    "install",
    "ip",
    "java",
    "jobs",
    "join",
    "kill",
    "knife",
    "label",
    "last",
    "latex",
    "less",
    "links",
    "local",
    "look",
    "lp",
    "mail",
    "make",
    "man",
    "more",
    "mount",
    "move",
    "net",
    "nice",
    "nl",
    "node",
    "od",
    "pass",
    "paste",
    "patch",
    "path",
    "pause",
    "pax",
    "pg",
    "pic",
    "pico",
    "pip",
    "pr",
    "print",
    "pry",
    "rc",
    "red",
    "ren",
    "rename",
    "replace",
    "rev",
    "route",
    "ruby",
    "sash",
    "sched",
    "screen",
    "script",
    "service",
    "set",
    "sg",
    "shift",
    "shred",
    "sleep",
    "snap",
    "sort",
    "source",
    "split",
    "ss",
    "start",
    "strings",
    "su",
    "tac",
    "tail",
    "task",
    "tee",
    "tex",
    "time",
    "timeout",
    "title",
    "top",
    "touch",
    "trap",
    "tree",
    "type",
    "ul",
    "ver",
    "view",
    "vol",
    "w",
    "wall",
    "watch",
    "who",
    "wish",
    "yes",
    "zip",
];

/// Windows commands and reconnaissance tools the CRS lists leave out (they list PowerShell
/// cmdlets only) plus a few Unix ones attackers use for out-of-band checks.
const EXTRA_COMMANDS: &[&str] = &[
    "bitsadmin",
    "certutil",
    "cmd",
    "cscript",
    "getent",
    "ipconfig",
    "mshta",
    "msiexec",
    "net1",
    "netsh",
    "nslookup",
    "powershell",
    "pwsh",
    "reg",
    "regsvr32",
    "rundll32",
    "sc",
    "schtasks",
    "systeminfo",
    "taskkill",
    "tasklist",
    "wmic",
    "wscript",
];

/// Command names (lower-case, without a path) and how much each alone says, plus the name
/// prefixes the CRS list gives as families (`docker-`, `dpkg-`).
pub(crate) fn commands() -> (HashMap<Box<[u8]>, CommandKind>, Vec<&'static str>) {
    let mut map = HashMap::new();
    let mut prefixes = Vec::new();
    let unix = data_lines(UNIX_SHELL).filter_map(|l| {
        let name = l.strip_prefix("sbin/").or_else(|| l.strip_prefix("bin/"))?;
        Some(name.rsplit('/').next().unwrap_or(name))
    });
    let windows = data_lines(WINDOWS_POWERSHELL);
    for name in unix.chain(windows).chain(EXTRA_COMMANDS.iter().copied()) {
        if name.ends_with(['-', '_', '.']) {
            prefixes.push(name);
            continue;
        }
        map.insert(
            name.to_ascii_lowercase().into_bytes().into_boxed_slice(),
            CommandKind::Distinctive,
        );
    }
    for name in WORD_COMMANDS {
        map.insert(name.as_bytes().into(), CommandKind::Word);
    }
    (map, prefixes)
}

/// Roots under which every CRS "OS file" entry is a system file no web request should name.
/// The rest of the list (`package.json`, `config.py`, `go.mod`, …) names application files
/// that are legitimate in many APIs' paths, so it is left out.
pub(crate) const SYSTEM_FILE_ROOTS: &[&str] = &[
    "etc/",
    "proc/",
    "windows/",
    "winnt/",
    "system32/",
    "boot/grub",
    "var/log",
    "var/run/utmp",
    "var/mail",
    "var/spool",
    "root/",
    ".ssh/",
    ".bash_",
    ".htpasswd",
    "boot.ini",
    "win.ini",
    "system.ini",
];

/// Operating-system files for path traversal (lower-case, relative to a root: `etc/passwd`).
pub(crate) fn system_files() -> Vec<String> {
    let mut files: Vec<String> = data_lines(LFI_OS_FILES)
        .map(|l| l.trim_start_matches('/').to_ascii_lowercase())
        .filter(|l| SYSTEM_FILE_ROOTS.iter().any(|root| l.starts_with(root)))
        // A bare system directory (`proc/`) is too broad; its entries name the sensitive parts.
        .filter(|l| {
            !["etc/", "proc/", "root/", "windows/", "winnt/", "system32/"].contains(&l.as_str())
        })
        .collect();
    files.sort();
    files.dedup();
    files
}

/// Loopback, container and cloud-metadata host names (lower-case), from the CRS list plus the
/// metadata names of the major clouds.
pub(crate) fn internal_hosts() -> Vec<String> {
    let crs = data_lines(SSRF_NO_SCHEME).map(|l| l.trim_end_matches('/').to_ascii_lowercase());
    let clouds = [
        "metadata.google.internal",
        "metadata",
        "instance-data",
        "rancher-metadata",
        "metadata.packet.net",
        "metadata.azure.internal",
    ];
    let mut hosts: Vec<String> = crs.chain(clouds.iter().map(|s| s.to_string())).collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// SQL words that are rarely anything else: one of them is enough to tokenize a value as SQL.
pub(crate) const SQL_SIGNATURE_WORDS: &[&str] = &[
    "union",
    "select",
    "waitfor",
    "benchmark",
    "pg_sleep",
    "having",
    "information_schema",
    "outfile",
    "dumpfile",
    "load_file",
    "extractvalue",
    "updatexml",
    "xp_cmdshell",
    "xor",
    "rlike",
    "regexp",
    "ifnull",
    "concat",
];

/// SQL words whose presence (as whole words) makes a value worth tokenizing as SQL when it has
/// no quote or comment: two of them, or one with an operator (see `prefilter.rs`). Everyday
/// words that appear in every user agent (`like`, `version`) are left out; the measurement in
/// `tests/injection_corpus.rs` checks nothing libinjection catches is lost by this prefilter.
pub(crate) const SQL_KEYWORDS: &[&str] = &[
    "insert",
    "update",
    "delete",
    "drop",
    "create",
    "alter",
    "truncate",
    "exec",
    "execute",
    "declare",
    "delay",
    "sleep",
    "where",
    "from",
    "limit",
    "offset",
    "order",
    "group",
    "by",
    "into",
    "and",
    "or",
    "not",
    "null",
    "true",
    "false",
    "is",
    "case",
    "when",
    "between",
    "sounds",
    "div",
    "mod",
    "procedure",
    "binary",
    "values",
    "if",
    "iif",
    "char",
    "shutdown",
    "for",
    "unknown",
];

/// Markers worth a closer look for cross-site scripting when a value has no `<`.
pub(crate) const XSS_TOKENS: &[&str] = &[
    "javascript",
    "vbscript",
    "java",
    "script",
    "alert",
    "confirm",
    "prompt",
    "eval",
    "document",
    "window",
    "fromcharcode",
    "constructor",
    "atob",
    "settimeout",
    "setinterval",
    "expression",
    "srcdoc",
    "data:",
    "&#",
    "&lt",
    "&gt",
    "&quot",
    "&colon",
    "&lpar",
    "&tab",
    "&newline",
    "&equals",
];

/// Markers of JavaScript injected into a MongoDB query (besides `$` operators).
pub(crate) const NOSQL_TOKENS: &[&str] = &[
    "db.",
    "this.",
    "while",
    "sleep(",
    "return",
    "new date",
    "emit(",
    "mapreduce",
    "||",
    "&&",
    "function(",
];

/// Markers of path tricks: parent segments, hex-spelled separators, UNC paths. (Padding like
/// `/etc/./passwd` or `//etc//passwd` still holds a system-file root, and `//` is in every URL,
/// so neither is a marker.)
pub(crate) const PATH_TOKENS: &[&str] = &["..", "0x2e", "0x2f", "0x5c", "\\\\"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_load() {
        let (commands, prefixes) = commands();
        assert_eq!(commands.get(&b"wget"[..]), Some(&CommandKind::Distinctive));
        assert_eq!(commands.get(&b"get-content"[..]), Some(&CommandKind::Distinctive));
        assert_eq!(commands.get(&b"more"[..]), Some(&CommandKind::Word));
        assert!(prefixes.contains(&"docker-"));
        let files = system_files();
        assert!(files.iter().any(|f| f == "etc/passwd") && files.iter().any(|f| f == "boot.ini"));
        assert!(!files.iter().any(|f| f == "package.json" || f == "proc/"));
        let hosts = internal_hosts();
        assert!(hosts.iter().any(|h| h == "localhost") && hosts.iter().any(|h| h == "lvh.me"));
    }
}
