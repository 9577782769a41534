//! A channel credential (signing key, password, routing key, token, a URL that embeds one).
//!
//! Its `Debug` and `Display` print `***`, and it has no `Serialize`, so a secret reaches logs,
//! errors and the dead-letter file only if code asks for it by name with [`Secret::expose`].

use serde::Deserialize;
use std::fmt;

/// A string that never prints itself.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The credential itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Replaces a channel's secrets in text that came from elsewhere (a library's error message may
/// quote a URL or a server's reply), before it is logged or dead-lettered.
#[derive(Clone, Default)]
pub(crate) struct Scrubber {
    secrets: Vec<String>,
}

/// Shorter values are not scrubbed: replacing every `a` in a message would only garble it, and a
/// credential that short is not worth hiding.
const SCRUB_LEN_MIN_BYTES: usize = 4;

impl Scrubber {
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Scrubber {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .map(|s| s.expose().to_string())
            .filter(|s| s.len() >= SCRUB_LEN_MIN_BYTES)
            .collect();
        // Longest first, so a secret that contains another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Scrubber { secrets }
    }

    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2-signing-key");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{:?}", Some(&s)), "Some(***)");
        assert_eq!(s.expose(), "hunter2-signing-key");
    }

    #[test]
    fn deserializes_from_a_plain_string() {
        let s: Secret = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(s.expose(), "abc");
    }

    #[test]
    fn scrubber_replaces_every_secret_longest_first() {
        let a = Secret::new("https://hooks.example/T1/B2/XYZ");
        let b = Secret::new("XYZ");
        let c = Secret::new("T1/B2");
        let sc = Scrubber::new([&a, &b, &c]);
        assert_eq!(
            sc.scrub("error sending to https://hooks.example/T1/B2/XYZ (T1/B2)"),
            "error sending to *** (***)"
        );
    }
}
