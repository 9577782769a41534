//! The API's changes. Each handler names the caller, then hands the change to the responder
//! (on a blocking thread: it writes SQLite), which checks the role, applies it and audits it.

use super::auth::{error, Caller};
use super::ApiState;
use crate::live::respond::{ActionError, DecisionInput, IncidentChange};
use apiwatch_core::{ActorId, ScopeKind};
use apiwatch_respond::decide::Change;
use apiwatch_state::{Role, StateError};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

/// Answers a change: 200 with its result, or the status its error calls for.
async fn apply<T: serde::Serialize + Send + 'static>(
    st: &ApiState,
    f: impl FnOnce(&crate::live::respond::Responder) -> Result<T, ActionError> + Send + 'static,
) -> Response {
    let r = Arc::clone(&st.responder);
    match tokio::task::spawn_blocking(move || f(&r)).await {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(e)) => {
            let status = match &e {
                ActionError::Forbidden(_) => StatusCode::FORBIDDEN,
                ActionError::NotFound(_) => StatusCode::NOT_FOUND,
                ActionError::Invalid(_) => StatusCode::BAD_REQUEST,
                // What the request asked for is wrong (an empty name, a name taken): say so.
                ActionError::State(StateError::NotFound { .. }) => StatusCode::NOT_FOUND,
                ActionError::State(StateError::Conflict { .. }) => StatusCode::CONFLICT,
                ActionError::State(StateError::Invalid { .. }) => StatusCode::BAD_REQUEST,
                ActionError::State(err) => {
                    tracing::error!(error = %err, "state database");
                    return error(StatusCode::INTERNAL_SERVER_ERROR, "the state database failed");
                }
            };
            error(status, &e.to_string())
        }
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "the change failed"),
    }
}

/// A body that is not the expected JSON is a 400 naming the problem, not axum's default 422.
fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(bytes)
        .map_err(|e| error(StatusCode::BAD_REQUEST, &format!("request body: {e}")))
}

pub async fn incident(
    Caller { st, who: w }: Caller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Response {
    let change: IncidentChange = ok!(body(&bytes));
    apply(&st, move |r| r.change_incident(&id, &change, &w)).await
}

pub async fn add_decision(Caller { st, who: w }: Caller, bytes: axum::body::Bytes) -> Response {
    let input: DecisionInput = ok!(body(&bytes));
    apply(&st, move |r| r.add_decision(&input, &w)).await
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Extension {
    /// `2h`: how much later the decision ends.
    by: Option<String>,
}

/// `POST /v1/decisions/{id}/approve|reject|extend|lift`.
pub async fn change_decision(
    Caller { st, who: w }: Caller,
    Path((id, change)): Path<(i64, String)>,
    bytes: axum::body::Bytes,
) -> Response {
    let change = match change.as_str() {
        "approve" => Change::Approve,
        "reject" => Change::Reject,
        "lift" => Change::Lift,
        "extend" => {
            let ext: Extension =
                if bytes.is_empty() { Extension::default() } else { ok!(body(&bytes)) };
            let Some(by) = ext.by else {
                return error(StatusCode::BAD_REQUEST, "extend needs {\"by\": \"2h\"}");
            };
            match apiwatch_core::time::parse_duration_ms(&by) {
                Ok(by_ms) => Change::Extend { by_ms },
                Err(e) => return error(StatusCode::BAD_REQUEST, &format!("by: {e}")),
            }
        }
        other => {
            return error(
                StatusCode::NOT_FOUND,
                &format!("{other:?}: expected approve, reject, extend or lift"),
            )
        }
    };
    apply(&st, move |r| r.change_decision(id, change, &w)).await
}

/// `DELETE /v1/decisions/{id}`: lifts it.
pub async fn lift_decision(Caller { st, who: w }: Caller, Path(id): Path<i64>) -> Response {
    apply(&st, move |r| r.change_decision(id, Change::Lift, &w)).await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MuteInput {
    rule: String,
    actor: ActorId,
    reason: String,
    /// `24h`: how long from now.
    duration: String,
}

pub async fn add_mute(Caller { st, who: w }: Caller, bytes: axum::body::Bytes) -> Response {
    let m: MuteInput = ok!(body(&bytes));
    let Ok(ms) = apiwatch_core::time::parse_duration_ms(&m.duration) else {
        return error(StatusCode::BAD_REQUEST, "duration: expected 30m, 24h, 7d");
    };
    let until = (st.now_ms)().saturating_add(ms);
    apply(&st, move |r| {
        r.add_mute(&m.rule, &m.actor, &m.reason, until, &w).map(|id| serde_json::json!({"id": id}))
    })
    .await
}

pub async fn delete_mute(Caller { st, who: w }: Caller, Path(id): Path<i64>) -> Response {
    apply(&st, move |r| r.delete_mute(id, &w).map(|()| serde_json::json!({"deleted": id}))).await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowInput {
    scope: ScopeKind,
    value: String,
    reason: String,
}

pub async fn add_allow(Caller { st, who: w }: Caller, bytes: axum::body::Bytes) -> Response {
    let a: AllowInput = ok!(body(&bytes));
    apply(&st, move |r| {
        r.add_allow(a.scope, &a.value, &a.reason, &w).map(|id| serde_json::json!({"id": id}))
    })
    .await
}

pub async fn delete_allow(Caller { st, who: w }: Caller, Path(id): Path<i64>) -> Response {
    apply(&st, move |r| r.delete_allow(id, &w).map(|()| serde_json::json!({"deleted": id}))).await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenInput {
    name: String,
    role: String,
}

/// `POST /v1/tokens`: the secret is in this answer and nowhere else, ever.
pub async fn create_token(Caller { st, who: w }: Caller, bytes: axum::body::Bytes) -> Response {
    let t: TokenInput = ok!(body(&bytes));
    let Some(role) = Role::parse(&t.role) else {
        return error(StatusCode::BAD_REQUEST, "role: admin, analyst, viewer, agent or bouncer");
    };
    apply(&st, move |r| {
        r.create_token(&t.name, role, &w).map(|(id, secret)| serde_json::json!({"id": id, "name": t.name, "role": role.as_str(), "token": secret}))
    })
    .await
}

pub async fn revoke_token(Caller { st, who: w }: Caller, Path(id): Path<i64>) -> Response {
    apply(&st, move |r| r.revoke_token(id, &w).map(|()| serde_json::json!({"revoked": id}))).await
}
