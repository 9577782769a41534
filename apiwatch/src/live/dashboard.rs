//! The web dashboard's files, built from `dashboard/` (npm, esbuild) into
//! `apiwatch/assets/dashboard/` and embedded here at compile time: nothing is loaded from
//! elsewhere at run time. Every answer carries a strict Content-Security-Policy (scripts and
//! styles from this origin only, no inline script, no framing), so a payload from an event
//! that slipped into the page as markup still could not run.

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

const INDEX_HTML: &str = include_str!("../../assets/dashboard/index.html");
const APP_JS: &str = include_str!("../../assets/dashboard/app.js");
const APP_CSS: &str = include_str!("../../assets/dashboard/app.css");
/// The notices of the packages bundled into `app.js` (their licences ask that they travel
/// with every copy).
const LICENSES_TXT: &str = include_str!("../../assets/dashboard/licenses.txt");

/// What the page may load and do: its own scripts, styles and API, nothing else.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { file("text/html; charset=utf-8", INDEX_HTML) }))
        .route("/assets/app.js", get(|| async { file("text/javascript; charset=utf-8", APP_JS) }))
        .route("/assets/app.css", get(|| async { file("text/css; charset=utf-8", APP_CSS) }))
        .route(
            "/assets/licenses.txt",
            get(|| async { file("text/plain; charset=utf-8", LICENSES_TXT) }),
        )
}

fn file(content_type: &'static str, body: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        // The names are fixed: a new build must be fetched again, not taken from a cache.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ];
    (headers, body).into_response()
}
