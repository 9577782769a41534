//! Replacements found in one string, merged and applied at once so that the string is copied
//! only when something in it changes, and at most once.

/// What a replacement hides (for [`super::RedactionCounts`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Found {
    /// A value under a secret name (header, parameter, cookie, label, `name=value`).
    Named,
    /// A JSON Web Token.
    Jwt,
    /// A payment card number.
    Card,
    /// A secret key of a well-known shape (`AKIA…`, `sk_live_…`, a private key block).
    KeyShape,
    /// A percent-encoded value whose decoded text held secrets (counted when decoded).
    Nested,
}

/// One replacement of `start..end` (byte offsets on ASCII boundaries).
#[derive(Debug)]
pub(super) struct Edit {
    pub start: usize,
    pub end: usize,
    /// Lower first when two edits start together: name-aware finds beat shape finds, so that
    /// `token=eyJ…` gives the same `tok_` pseudonym as the same token in a header.
    pub priority: u8,
    pub found: Found,
    /// The pseudonym kind, used again when this edit must be widened over an overlapping one.
    pub kind: Option<&'static str>,
    pub replacement: String,
}

/// Edits from a name (query pass, headers) go before edits from the free-text scan.
pub(super) const PRIORITY_NAMED: u8 = 0;
pub(super) const PRIORITY_TEXT_NAMED: u8 = 1;
pub(super) const PRIORITY_SHAPE: u8 = 2;

/// Every pseudonym prefix the redactor writes; text of the form `<kind>_<16 hex>` is taken
/// for a pseudonym and left alone, which makes redaction idempotent.
pub(super) const KINDS: &[&str] =
    &["tok", "pwd", "key", "jwt", "card", "ses", "sig", "sec", "code", "ck", "cred"];

/// The longest of [`KINDS`].
const KIND_BYTES_MAX: usize = {
    let mut max = 0;
    let mut i = 0;
    while i < KINDS.len() {
        if KINDS[i].len() > max {
            max = KINDS[i].len();
        }
        i += 1;
    }
    max
};

/// Hex digits in a pseudonym: 64 bits of the HMAC, enough that two secrets of one
/// installation do not share a pseudonym in practice, short enough to read.
pub(super) const PSEUDONYM_HEX_DIGITS: usize = 16;

/// Whether `s` is exactly a pseudonym this redactor could have written.
pub(super) fn is_pseudonym(s: &[u8]) -> bool {
    // A credential (a JWT of hundreds of bytes) is told apart by its length alone, without a
    // search for `_` through it.
    if s.len() > KIND_BYTES_MAX + 1 + PSEUDONYM_HEX_DIGITS {
        return false;
    }
    let Some(us) = memchr::memchr(b'_', s) else { return false };
    let (kind, hex) = (&s[..us], &s[us + 1..]);
    hex.len() == PSEUDONYM_HEX_DIGITS
        && hex.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        && KINDS.iter().any(|k| k.as_bytes() == kind)
}

/// Whether `s` is one or more pseudonyms glued together: what an earlier pass leaves where
/// secrets stood side by side (`key_…tok_…`).
pub(super) fn is_pseudonyms(mut s: &[u8]) -> bool {
    while let Some(us) = memchr::memchr(b'_', s) {
        match pseudonym_at(s, us) {
            Some((0, end)) => s = &s[end..],
            _ => return false,
        }
        if s.is_empty() {
            return true;
        }
    }
    false
}

/// The pseudonym whose `_` is at `underscore`, as `start..end`, if there is one (glued to
/// text before or after it or not).
pub(super) fn pseudonym_at(b: &[u8], underscore: usize) -> Option<(usize, usize)> {
    let end = underscore + 1 + PSEUDONYM_HEX_DIGITS;
    if end > b.len()
        || !b[underscore + 1..end].iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let kind = KINDS.iter().find(|k| b[..underscore].ends_with(k.as_bytes()))?;
    Some((underscore - kind.len(), end))
}

/// Values that are already masked by the application (`****`, `[FILTERED]`): nothing to hide,
/// and a pseudonym of them would suggest there was.
pub(super) fn is_masked(s: &[u8]) -> bool {
    (!s.is_empty() && s.iter().all(|&c| c == b'*'))
        || [&b"[filtered]"[..], b"[redacted]", b"<redacted>", b"redacted"]
            .iter()
            .any(|m| s.eq_ignore_ascii_case(m))
}

/// Sorts `edits`, folds overlapping ones into one (the union becomes one pseudonym, so that no
/// byte of either secret survives), and applies them to `s`. `pseudonym` makes the union's
/// replacement. Returns the new string and the edits kept.
pub(super) fn apply(
    s: &str,
    mut edits: Vec<Edit>,
    mut pseudonym: impl FnMut(&str, &[u8]) -> String,
) -> (String, Vec<Edit>) {
    edits.sort_by_key(|e| (e.start, e.priority));
    let mut kept: Vec<Edit> = Vec::with_capacity(edits.len());
    for e in edits {
        debug_assert!(e.start < e.end && e.end <= s.len(), "edit {e:?} outside {}", s.len());
        if let Some(last) = kept.last_mut() {
            if e.start < last.end {
                if e.end > last.end {
                    let kind = last.kind.unwrap_or("sec");
                    last.end = e.end;
                    last.kind = Some(kind);
                    last.replacement = pseudonym(kind, &s.as_bytes()[last.start..last.end]);
                }
                continue;
            }
        }
        kept.push(e);
    }
    let grown: usize = kept.iter().map(|e| e.replacement.len()).sum();
    let mut out = String::with_capacity(s.len() + grown);
    let mut at = 0;
    for e in &kept {
        out.push_str(&s[at..e.start]);
        out.push_str(&e.replacement);
        at = e.end;
    }
    out.push_str(&s[at..]);
    (out, kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonym_shape() {
        assert!(is_pseudonym(b"tok_0123456789abcdef"));
        assert!(is_pseudonym(b"card_0123456789abcdef"));
        assert!(!is_pseudonym(b"tok_0123456789abcde"));
        assert!(!is_pseudonym(b"tok_0123456789ABCDEF"));
        assert!(!is_pseudonym(b"foo_0123456789abcdef"));
        assert!(!is_pseudonym(b"tok_0123456789abcdef0"));
        // Every kind, the longest too, passes the length test; one byte more does not.
        for kind in KINDS {
            let p = format!("{kind}_0123456789abcdef");
            assert!(is_pseudonym(p.as_bytes()), "{p}");
            assert!(!is_pseudonym(format!("{p}0").as_bytes()), "{p}");
            assert!(!is_pseudonym(format!("x{p}").as_bytes()), "{p}");
        }
        assert!(!is_pseudonym(format!("tok_{}", "a".repeat(600)).as_bytes()));
        assert!(is_pseudonyms(b"key_0123456789abcdeftok_0123456789abcdef"));
        assert!(is_pseudonyms(b"tok_0123456789abcdef"));
        assert!(!is_pseudonyms(b"tok_0123456789abcdefx"));
        assert!(!is_pseudonyms(b"xtok_0123456789abcdef"));
        assert!(!is_pseudonyms(b""));
    }

    #[test]
    fn overlapping_edits_become_one() {
        let edit = |start, end, priority| Edit {
            start,
            end,
            priority,
            found: Found::Named,
            kind: Some("tok"),
            replacement: format!("<{start}-{end}>"),
        };
        let (out, kept) = apply(
            "0123456789",
            vec![edit(5, 7, 1), edit(1, 3, 0), edit(1, 2, 1), edit(2, 4, 1)],
            |k, b| format!("{k}:{}", String::from_utf8_lossy(b)),
        );
        assert_eq!(out, "0tok:1234<5-7>789");
        assert_eq!(kept.len(), 2);
    }
}
