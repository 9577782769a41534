//! Redaction: the only way to make an [`Event`]. Secrets become keyed pseudonyms.
//!
//! (Initial version: header pseudonyms only. The full pass — query parameters, JSON fields,
//! JWTs and card numbers anywhere in strings — is being written.)

use crate::event::{Event, EventData};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Holds the per-installation key that pseudonyms are derived from.
#[derive(Clone)]
pub struct Redactor {
    key: [u8; 32],
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor { key: <hidden> }")
    }
}

impl Redactor {
    pub fn new(key: [u8; 32]) -> Redactor {
        Redactor { key }
    }

    /// A stable pseudonym for a secret of a kind (`tok`, `key`, `pwd`, …): the same secret
    /// under the same key always gives the same pseudonym; without the key it reveals nothing.
    pub fn pseudonym(&self, kind: &str, secret: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(secret.as_bytes());
        let d = mac.finalize().into_bytes();
        let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("{kind}_{hex}")
    }

    /// Redacts an event and seals it.
    pub fn redact(&self, mut data: EventData) -> Event {
        for (name, value) in &mut data.headers {
            if matches!(
                name.as_str(),
                "authorization" | "cookie" | "x-api-key" | "proxy-authorization"
            ) {
                *value = self.pseudonym("hdr", value);
            }
        }
        Event::sealed(data)
    }
}
