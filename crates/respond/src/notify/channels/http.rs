//! One POST and what its outcome means for retrying, shared by the HTTP channels.

use crate::notify::error::DeliveryError;
use std::time::Duration;

/// Sends the request. 2xx is delivered; 408, 429 and 5xx, timeouts and connection errors may
/// pass on a later try; any other answer (a 400, a 403 for a revoked key, a redirect, which is
/// not followed as it would carry a signed body elsewhere) will not.
pub(crate) async fn post(
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<(), DeliveryError> {
    match request.timeout(timeout).send().await {
        Ok(response) => {
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let message = format!("HTTP {status}");
            if status.as_u16() == 408 || status.as_u16() == 429 || status.is_server_error() {
                Err(DeliveryError::retry(message))
            } else {
                Err(DeliveryError::permanent(message))
            }
        }
        Err(e) if e.is_builder() => Err(DeliveryError::permanent(describe(e))),
        Err(e) => Err(DeliveryError::retry(describe(e))),
    }
}

/// The error and its causes, without the URL (which may hold a credential).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A JSON body with its content type (reqwest's `json` feature would add nothing else).
pub(crate) fn json(
    request: reqwest::RequestBuilder,
    body: &serde_json::Value,
) -> reqwest::RequestBuilder {
    request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_string())
}
