//! Phase 1, `request_filter`: admission. In order: the embedder's readiness (`fail_mode`),
//! its verdict (`Hooks::admit`), the route, then the rate limits. Returns an answer when the
//! call stops here; the call's outcome is set either way.

use crate::body::ResponseBody;
use crate::context::Context;
use crate::hooks::Verdict;
use crate::problem::{problem, problem_retry};
use crate::proxy::Engine;
use crate::record::Outcome;
use crate::settings::FailMode;
use http::request::Parts;
use http::{Response, StatusCode};

impl Engine {
    pub(crate) fn request_filter(
        &self,
        ctx: &mut Context,
        parts: &Parts,
    ) -> Option<Response<ResponseBody>> {
        if !self.hooks.ready() {
            match self.settings.fail_mode {
                FailMode::Closed => {
                    ctx.outcome = Outcome::FailClosed;
                    return Some(problem_retry(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the gateway cannot record calls right now",
                        &ctx.request_id,
                        1,
                    ));
                }
                FailMode::Open => self.telemetry.proceeded_while_overloaded(),
            }
        }
        let admission = self.hooks.admit(ctx.client_ip, parts);
        ctx.rate_keys = admission.rate_keys;
        match admission.verdict {
            Verdict::Allow => {}
            Verdict::Block { reason } => {
                ctx.outcome = Outcome::Blocked;
                return Some(problem(StatusCode::FORBIDDEN, &reason, &ctx.request_id));
            }
            Verdict::Throttle { retry_after_s, reason } => {
                ctx.outcome = Outcome::Throttled;
                return Some(problem_retry(
                    StatusCode::TOO_MANY_REQUESTS,
                    &reason,
                    &ctx.request_id,
                    retry_after_s,
                ));
            }
            Verdict::Reject { status, reason } => {
                ctx.outcome = Outcome::Rejected;
                let status = StatusCode::from_u16(status)
                    .ok()
                    .filter(|s| s.is_client_error() || s.is_server_error())
                    .unwrap_or(StatusCode::FORBIDDEN);
                return Some(problem(status, &reason, &ctx.request_id));
            }
        }
        // Routing is pure and cheap; it comes before the limits because `scope: route`
        // counts per upstream.
        ctx.upstream = self.routes.select(&ctx.host, &ctx.path).cloned();
        if self.limits.is_empty() {
            return None;
        }
        let upstream_name = ctx.upstream.as_ref().map(|u| u.name.as_str());
        match self.limits.check(ctx.client_ip, &ctx.rate_keys, &ctx.path, upstream_name) {
            Ok(status) => {
                ctx.rate_status = status;
                None
            }
            Err(exceeded) => {
                ctx.outcome = Outcome::RateLimited;
                ctx.rate_status = Some(exceeded.status);
                Some(problem_retry(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate limit exceeded",
                    &ctx.request_id,
                    exceeded.retry_after_s,
                ))
            }
        }
    }
}
