//! The phases of a call, in order, each over the call's `Context` (in the manner of Pingora's
//! `ProxyHttp`):
//!
//! 1. `request_filter` (admission): may answer the call itself (403, 429, 503, …);
//! 2. `upstream_peer`: chooses the target, or answers 502;
//! 3. the request goes up and the response headers come back (`proxy.rs`);
//! 4. `response_filter`: rewrites the response's headers;
//! 5. `logging`: when the response body has gone through (or the client left), builds the
//!    `CallRecord` and hands it to the embedder.
//!
//! Reading one phase's file tells everything that phase may do.

mod logging;
mod request_filter;
mod response_filter;
mod upstream_peer;
