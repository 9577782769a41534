//! Answers the gateway gives itself, as RFC 9457 problem details (`application/problem+json`),
//! each carrying the request id so a client's report can be matched with the record.

use crate::body::{full, ResponseBody};
use http::{header, HeaderValue, Response, StatusCode};

/// A problem answer with `detail` and the request id.
pub(crate) fn problem(
    status: StatusCode,
    detail: &str,
    request_id: &str,
) -> Response<ResponseBody> {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "request_id": request_id,
    });
    let mut response = Response::new(full(body.to_string().into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A problem answer with `Retry-After` (429, 503).
pub(crate) fn problem_retry(
    status: StatusCode,
    detail: &str,
    request_id: &str,
    retry_after_s: u64,
) -> Response<ResponseBody> {
    let mut response = problem(status, detail, request_id);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
    response
}
