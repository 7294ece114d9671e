//! `POST /api/v1/dialer/start` and `/stop`, with an optional `{"reason": "…"}` body (at most
//! [`crate::MAX_REASON_CHARS`] characters; unknown fields refused). Answers
//! `{"dialer": "running"|"stopped", "reason": "…"}`.

use crate::extract::{parse_json, ApiKey, JsonShape};
use crate::guard::LimitedBody;
use crate::routes::bounded_reason;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

/// The dialer routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/dialer/start", post(dialer_start))
        .route("/api/v1/dialer/stop", post(dialer_stop))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: Option<String>,
}

impl JsonShape for ReasonBody {
    const EXAMPLE: &'static str = r#"{"reason": "…"}"#;
}

async fn dialer_start(
    _key: ApiKey,
    State(state): State<AppState>,
    LimitedBody(body): LimitedBody,
) -> Result<Json<serde_json::Value>, ApiError> {
    set_dialer(&state, true, &body).await
}

async fn dialer_stop(
    _key: ApiKey,
    State(state): State<AppState>,
    LimitedBody(body): LimitedBody,
) -> Result<Json<serde_json::Value>, ApiError> {
    set_dialer(&state, false, &body).await
}

async fn set_dialer(
    state: &AppState,
    running: bool,
    body: &[u8],
) -> Result<Json<serde_json::Value>, ApiError> {
    // An empty body is no reason given.
    let reason = if body.is_empty() {
        None
    } else {
        parse_json::<ReasonBody>(body)?.reason
    };
    if let Some(r) = &reason {
        bounded_reason(r)?;
    }
    let reason = reason.unwrap_or_else(|| {
        format!(
            "{} through the API",
            if running { "started" } else { "stopped" }
        )
    });
    state
        .engine
        .set_dialer_running(running, &reason, "api")
        .await?;
    Ok(Json(
        serde_json::json!({ "dialer": if running { "running" } else { "stopped" }, "reason": reason }),
    ))
}
