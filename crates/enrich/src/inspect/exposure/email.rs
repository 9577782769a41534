//! E-mail addresses: a local part, `@`, and a domain of at least two labels whose last is
//! alphabetic. Asset names such as `logo@2x.png` are not addresses.

use memchr::memchr_iter;

/// Longest local part (RFC 5321).
const LOCAL_BYTES_MAX: usize = 64;
/// Longest domain (RFC 1035).
const DOMAIN_BYTES_MAX: usize = 253;
/// Endings that make `name@2x.png` look like an address: image and asset file names.
const FILE_ENDINGS: &[&str] = &["png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "css", "js"];

fn local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn domain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// Calls `found` with each address in `body` (the bytes of the address, for counting
/// distinct ones; never kept).
pub(super) fn for_each(body: &[u8], mut found: impl FnMut(&[u8])) {
    let mut after_last = 0;
    for at in memchr_iter(b'@', body) {
        if at < after_last {
            continue;
        }
        if let Some((start, end)) = address_around(body, at) {
            found(&body[start..end]);
            after_last = end;
        }
    }
}

/// The bounds of the address whose `@` is at `at`, if it is one.
fn address_around(body: &[u8], at: usize) -> Option<(usize, usize)> {
    let floor = at.saturating_sub(LOCAL_BYTES_MAX + 1);
    let mut start = at;
    while start > floor && local_byte(body[start - 1]) {
        start -= 1;
    }
    if start == at || (start == floor && floor > 0 && local_byte(body[floor - 1])) {
        return None;
    }
    if at - start > LOCAL_BYTES_MAX || body[start] == b'.' || body[at - 1] == b'.' {
        return None;
    }
    let ceiling = (at + 1 + DOMAIN_BYTES_MAX).min(body.len());
    let mut end = at + 1;
    while end < ceiling && domain_byte(body[end]) {
        end += 1;
    }
    if end < body.len() && domain_byte(body[end]) {
        return None;
    }
    // A sentence may end right after an address.
    while end > at + 1 && matches!(body[end - 1], b'.' | b'-') {
        end -= 1;
    }
    let domain = std::str::from_utf8(&body[at + 1..end]).ok()?;
    let mut labels = domain.split('.');
    let tld = labels.next_back()?;
    let valid_labels =
        domain.split('.').all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
    let is_file = FILE_ENDINGS.iter().any(|e| tld.eq_ignore_ascii_case(e));
    let ok = labels.next().is_some()
        && valid_labels
        && tld.len() >= 2
        && tld.bytes().all(|b| b.is_ascii_alphabetic())
        && !is_file;
    ok.then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each(text.as_bytes(), |a| out.push(String::from_utf8_lossy(a).into_owned()));
        out
    }

    #[test]
    fn addresses_found_and_lookalikes_refused() {
        assert_eq!(
            all(r#"{"a":"Jane.Doe+x@mail.example.co.uk","b":"bob@example.com."}"#),
            ["Jane.Doe+x@mail.example.co.uk", "bob@example.com"]
        );
        for not in [
            "logo@2x.png",
            "@type",
            "a@b",
            "a@localhost",
            "x@1.2.3.4",
            ".a@b.com",
            "a@-b.com",
            "a@b..com",
        ] {
            assert!(all(not).is_empty(), "{not}");
        }
    }
}
