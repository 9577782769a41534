//! Phase 2, `upstream_peer`: the target the call goes to, the next healthy one of the route's
//! upstream. No upstream for the host and path, or none of its targets healthy: 502.

use crate::body::ResponseBody;
use crate::context::Context;
use crate::problem::problem;
use crate::proxy::Engine;
use crate::record::Outcome;
use http::uri::Authority;
use http::{Response, StatusCode};

impl Engine {
    pub(crate) fn upstream_peer(
        &self,
        ctx: &mut Context,
    ) -> Result<Authority, Box<Response<ResponseBody>>> {
        let Some(upstream) = &ctx.upstream else {
            ctx.outcome = Outcome::UpstreamError;
            return Err(Box::new(problem(
                StatusCode::BAD_GATEWAY,
                "no upstream serves this host and path",
                &ctx.request_id,
            )));
        };
        match upstream.pick_target() {
            Some(target) => Ok(target.authority.clone()),
            None => {
                ctx.outcome = Outcome::UpstreamError;
                Err(Box::new(problem(
                    StatusCode::BAD_GATEWAY,
                    &format!("no healthy target for upstream `{}`", upstream.name),
                    &ctx.request_id,
                )))
            }
        }
    }
}
