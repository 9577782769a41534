//! Phase 5, `logging`: the call is over (response body through, client gone, or tunnel
//! closed). Builds the `CallRecord` from the context and the bodies' taps, counts the outcome,
//! and hands the record to the embedder; a refused record is counted, never retried (the
//! embedder's queue is full, and this task must not wait).

use crate::body::Tap;
use crate::context::Context;
use crate::proxy::Engine;
use crate::record::CallRecord;

impl Engine {
    pub(crate) fn logging(&self, ctx: Context, request: &Tap, response: &Tap) {
        self.telemetry.call_ended(ctx.outcome);
        let record = CallRecord {
            request_id: ctx.request_id,
            start_ms: ctx.start_ms,
            duration_us: ctx.started.elapsed().as_micros() as u64,
            client_ip: ctx.client_ip,
            peer_ip: ctx.peer_ip,
            method: ctx.method,
            scheme: ctx.scheme,
            host: ctx.host,
            path: ctx.path,
            query: ctx.query,
            version: ctx.version,
            request_headers: ctx.request_headers,
            status: ctx.status,
            request_bytes: request.bytes(),
            response_bytes: response.bytes(),
            response_content_type: ctx.response_content_type,
            response_content_encoding: ctx.response_content_encoding,
            request_body: request.prefix(),
            response_body: response.prefix(),
            upstream: ctx.upstream.map(|u| u.name.clone()),
            outcome: ctx.outcome,
        };
        if self.hooks.record(record).is_err() {
            self.telemetry.record_dropped();
        }
    }
}
