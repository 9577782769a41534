//! Path traversal: parent segments that climb above where the path starts (`../../x`, with
//! `..\`, `....//`, `..;/`, `.%00.` and Unicode slashes), UNC paths to administrative shares,
//! and operating-system files named from a root (`/etc/passwd`, `c:\boot.ini`, from the CRS
//! list). A relative link that stays inside its root (`docs/guide/../intro.md`) is fine.

use aho_corasick::{AhoCorasick, MatchKind};

use super::prefilter::{byte, Trigger};

/// Trigger words that make a value a candidate when its bytes alone do not.
pub(crate) const TRIGGERS: &[Trigger] = &[Trigger::Path, Trigger::SystemFile];

/// Every trigger word holds a dot or a slash.
pub(crate) const TRIGGER_BYTES: u32 = byte::DOT | byte::SLASH;

/// The path-traversal detector (system file list compiled once).
pub(crate) struct Traversal {
    system_files: AhoCorasick,
}

impl Traversal {
    pub(crate) fn new(system_files: &[String]) -> Traversal {
        let system_files = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(system_files)
            .expect("the system file names are valid patterns");
        Traversal { system_files }
    }

    /// Non-ASCII bytes may spell dots and slashes (`．`, `∕`, `∖`), a backslash is a Windows
    /// separator the trigger words (written with `/`) miss, and control bytes split dots
    /// (`.%00.`); everything else needs a trigger word (see [`TRIGGERS`]).
    pub(crate) fn candidate_by_bytes(kinds: u32) -> bool {
        kinds & (byte::HIGH | byte::BACKSLASH) != 0
            || (kinds & byte::CONTROL != 0 && kinds & byte::DOT != 0)
    }

    /// Whether the decoded value climbs above its root or names an OS file.
    pub(crate) fn detect(&self, v: &[u8]) -> bool {
        let path = normalize(v);
        climbs_above_root(&path) || is_admin_share(&path) || self.names_system_file(&path)
    }

    fn names_system_file(&self, path: &[u8]) -> bool {
        let path = canonical(path);
        self.system_files.find_overlapping_iter(&path).any(|m| {
            let entry_ends_open = !path[m.end() - 1].is_ascii_alphanumeric();
            let before_ok = m.start() == 0 || matches!(path[m.start() - 1], b'/' | b'~' | b':');
            let after_ok = entry_ends_open
                || path
                    .get(m.end())
                    .is_none_or(|b| !b.is_ascii_alphanumeric() && *b != b'-' && *b != b'_');
            before_ok && after_ok
        })
    }
}

/// The value with every spelling of `.`, `/` and `\` made ASCII, and `\` made `/`.
fn normalize(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        let rest = &v[i..];
        let (b, len) = if let Some(b) = unicode_separator(rest) {
            (Some(b), 3)
        } else if rest.len() >= 4 && rest[..2].eq_ignore_ascii_case(b"0x") {
            // Scanners spell separators as hex text (`..0x2f`); harmless unless something
            // decodes them, but a certain sign of a probe.
            match &rest[2..4] {
                b"2e" | b"2E" => (Some(b'.'), 4),
                b"2f" | b"2F" | b"5c" | b"5C" => (Some(b'/'), 4),
                _ => (Some(rest[0]), 1),
            }
        } else {
            match rest[0] {
                b'\\' => (Some(b'/'), 1),
                // A lone overlong lead byte (`%c0.`): lenient decoders drop it.
                0xC0 | 0xC1 => (None, 1),
                b => (Some(b), 1),
            }
        };
        if let Some(b) = b {
            out.push(b);
        }
        i += len;
    }
    out
}

/// Three-byte UTF-8 characters that stand for `.`, `/` or `\` in lenient normalisers:
/// fullwidth forms, division and set-minus slashes, the fraction slash, small reverse solidus.
fn unicode_separator(s: &[u8]) -> Option<u8> {
    match s.get(..3)? {
        [0xEF, 0xBC, 0x8E] => Some(b'.'),
        [0xEF, 0xBC, 0x8F] | [0xE2, 0x88, 0x95] | [0xE2, 0x81, 0x84] => Some(b'/'),
        [0xEF, 0xBC, 0xBC] | [0xE2, 0x88, 0x96] | [0xEF, 0xB9, 0xA8] => Some(b'/'),
        _ => None,
    }
}

/// A segment as path normalisers see it: NUL and control bytes dropped, `;parameters` cut
/// (`..;/` passes Tomcat), surrounding blanks trimmed.
fn clean_segment(seg: &[u8]) -> Vec<u8> {
    let seg = match memchr::memchr(b';', seg) {
        Some(i) => &seg[..i],
        None => seg,
    };
    let cleaned: Vec<u8> = seg.iter().copied().filter(|&b| b > 0x1F && b != 0x7F).collect();
    let trimmed = cleaned.trim_ascii();
    trimmed.to_vec()
}

/// Whether some prefix of the path has more parent segments than named ones. A segment of
/// two dots or more counts as a parent (`....//` survives filters that delete `../`).
fn climbs_above_root(path: &[u8]) -> bool {
    // Dots split by a NUL or control byte (`.%00.`) still make a parent once cleaned.
    if memchr::memmem::find(path, b"..").is_none() && !path.iter().any(|&b| b < 0x20) {
        return false;
    }
    let mut depth: i64 = 0;
    for seg in path.split(|&b| b == b'/') {
        let seg = clean_segment(seg);
        if seg.is_empty() || seg == b"." {
            continue;
        }
        if seg.len() >= 2 && seg.iter().all(|&b| b == b'.') {
            depth -= 1;
            if depth < 0 {
                return true;
            }
        } else {
            depth += 1;
        }
    }
    false
}

/// `\\host\c$\…` (after normalisation `//host/c$/…`): a Windows administrative share.
fn is_admin_share(path: &[u8]) -> bool {
    let Some(rest) = path.strip_prefix(b"//") else { return false };
    let mut parts = rest.split(|&b| b == b'/');
    let host = parts.next().unwrap_or_default();
    let share = parts.next().unwrap_or_default();
    let drive = share.len() == 2 && share[0].is_ascii_alphabetic() && share[1] == b'$';
    !host.is_empty() && (drive || share.eq_ignore_ascii_case(b"admin$"))
}

/// The path with `.` and empty segments dropped (`/etc/./passwd` → `/etc/passwd`), so that the
/// system file list matches however the path is padded.
fn canonical(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    if path.first() == Some(&b'/') {
        out.push(b'/');
    }
    for seg in path.split(|&b| b == b'/') {
        if seg.is_empty() || seg == b"." {
            continue;
        }
        if out.last().is_some_and(|&b| b != b'/') {
            out.push(b'/');
        }
        out.extend_from_slice(seg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::injection::decode::url_decode;
    use crate::injection::lexicon;

    fn traversal(s: &str) -> bool {
        let t = Traversal::new(&lexicon::system_files());
        t.detect(&url_decode(s.as_bytes()))
    }

    #[test]
    fn climbing_and_system_files() {
        for v in [
            "../../etc/passwd",
            "/static/img/../../etc/passwd",
            "..\\..\\boot.ini",
            "%2e%2e%2f%2e%2e%2f",
            "..%c0%af..%c0%af",
            "%C0%AE%C0%AE%C0%AF%C0%AE%C0%AE%C0%AFetc%C0%AFpasswd",
            "....//....//x",
            "..;/..;/x",
            ".%00./.%00./x",
            "%uff0e%uff0e/%uff0e%uff0e/x",
            "..%u2216..%u2216x",
            "..0x2f..0x2fx",
            "/etc/passwd",
            "file:///etc/./passwd",
            "c:\\windows\\win.ini",
            "\\\\::1\\c$\\users\\default\\ntuser.dat",
            "/proc/self/environ",
            "~/.ssh/id_rsa",
            ".%00.\\.%00.\\etc\\passwd",
        ] {
            assert!(traversal(v), "{v}");
        }
    }

    #[test]
    fn staying_inside_the_root() {
        for v in [
            "/api/v1/users/123/orders",
            "docs/guide/../intro.md",
            "/presentations/logstash/../images/a.png",
            "Wait... what..",
            "http://example.com/a/../b",
            "/blog/etc/apt-guide",
            "/package.json",
            "v1.2..v1.3",
        ] {
            assert!(!traversal(v), "{v}");
        }
    }
}
