//! `webhook`: POST the notification as JSON, or a rendered template as the body (an SMS
//! provider's form or JSON API), signed like Stripe's and Slack's webhooks so a receiver can
//! check it and refuse replays:
//! `X-Apiwatch-Timestamp: <unix seconds>` and
//! `X-Apiwatch-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.

use super::{http, BuildContext};
use crate::notify::error::DeliveryError;
use crate::notify::secret::Secret;
use crate::notify::template::{verbatim, Template};
use crate::notify::{wall_ms, Notification};
use hmac::{Hmac, Mac};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use sha2::Sha256;
use std::time::Duration;

pub(crate) const SIGNATURE_HEADER: &str = "X-Apiwatch-Signature";
pub(crate) const TIMESTAMP_HEADER: &str = "X-Apiwatch-Timestamp";

pub(crate) struct Webhook {
    http: reqwest::Client,
    url: reqwest::Url,
    secret: Option<Secret>,
    headers: HeaderMap,
    template: Option<Template>,
}

impl Webhook {
    pub(crate) fn build(ctx: &mut BuildContext<'_>) -> Option<Webhook> {
        let url = ctx.http_url("webhook", None);
        let template = ctx.template("template", ctx.raw.template.as_ref());
        let mut headers = HeaderMap::new();
        let default_type = if ctx.raw.template.is_some() {
            "text/plain; charset=utf-8"
        } else {
            "application/json"
        };
        let content_type = ctx.raw.content_type.as_deref().unwrap_or(default_type);
        match HeaderValue::from_str(content_type) {
            Ok(v) => {
                headers.insert(CONTENT_TYPE, v);
            }
            Err(_) => ctx.invalid("content_type", "not a valid header value"),
        }
        for (name, value) in ctx.raw.headers.iter().flatten() {
            let parsed_name = HeaderName::from_bytes(name.as_bytes());
            let parsed_value = HeaderValue::from_str(value.expose());
            match (parsed_name, parsed_value) {
                (Ok(n), Ok(mut v)) => {
                    // Kept out of the client's Debug output, like the secret it may be.
                    v.set_sensitive(true);
                    headers.insert(n, v);
                }
                (Err(_), _) => ctx.invalid(&format!("headers.{name}"), "not a valid header name"),
                (_, Err(_)) => ctx.invalid(&format!("headers.{name}"), "not a valid header value"),
            }
        }
        if ctx.raw.secret.as_ref().is_some_and(|s| s.expose().is_empty()) {
            ctx.invalid("secret", "empty");
        }
        Some(Webhook {
            http: ctx.http.clone(),
            url: url?,
            secret: ctx.raw.secret.clone(),
            headers,
            template: template.ok()?,
        })
    }

    pub(crate) async fn deliver(
        &mut self,
        n: &Notification,
        timeout: Duration,
    ) -> Result<(), DeliveryError> {
        let body = match &self.template {
            Some(t) => t.render(n, verbatim).into_bytes(),
            None => serde_json::to_vec(n).map_err(|e| DeliveryError::permanent(e.to_string()))?,
        };
        let mut request = self.http.post(self.url.clone()).headers(self.headers.clone());
        if let Some(secret) = &self.secret {
            // Signed at each attempt, so a retry carries a fresh timestamp.
            let timestamp = (wall_ms() / 1000).to_string();
            let mut signature = HeaderValue::from_str(&sign(secret, &timestamp, &body))
                .map_err(|e| DeliveryError::permanent(e.to_string()))?;
            signature.set_sensitive(true);
            request =
                request.header(TIMESTAMP_HEADER, timestamp).header(SIGNATURE_HEADER, signature);
        }
        http::post(request.body(body), timeout).await
    }
}

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub(crate) fn sign(secret: &Secret, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_the_hmac_of_timestamp_dot_body_in_lower_hex() {
        let expected = {
            let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec-test").unwrap();
            mac.update(b"1700000000.{\"a\":1}");
            let hex: String =
                mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256={hex}")
        };
        assert_eq!(sign(&Secret::new("whsec-test"), "1700000000", b"{\"a\":1}"), expected);
    }
}
