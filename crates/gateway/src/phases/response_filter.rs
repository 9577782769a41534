//! Phase 4, `response_filter`: the response's headers on their way to the client, proxied or
//! answered by the gateway. Hop-by-hop fields go (except on a 101, whose `Upgrade` and
//! `Connection` are the answer), the request id and the `RateLimit-*` fields
//! (draft-ietf-httpapi-ratelimit-headers) are added, and status and content type are noted.

use crate::context::Context;
use crate::headers::remove_hop_by_hop;
use crate::proxy::Engine;
use http::header::{self, HeaderName, HeaderValue};
use http::response::Parts;
use http::StatusCode;

const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

impl Engine {
    pub(crate) fn response_filter(&self, ctx: &mut Context, parts: &mut Parts) {
        if parts.status != StatusCode::SWITCHING_PROTOCOLS {
            remove_hop_by_hop(&mut parts.headers);
        }
        if let Some(v) = &ctx.request_id_value {
            parts.headers.insert(self.settings.request_id_header.clone(), v.clone());
        }
        if let Some(rate) = ctx.rate_status {
            parts.headers.insert(RATELIMIT_LIMIT, HeaderValue::from(rate.limit));
            parts.headers.insert(RATELIMIT_REMAINING, HeaderValue::from(rate.remaining));
            parts.headers.insert(RATELIMIT_RESET, HeaderValue::from(rate.reset_s));
        }
        ctx.status = parts.status;
        let text = |name| {
            parts.headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_string)
        };
        ctx.response_content_type = text(header::CONTENT_TYPE);
        ctx.response_content_encoding = text(header::CONTENT_ENCODING);
    }
}
