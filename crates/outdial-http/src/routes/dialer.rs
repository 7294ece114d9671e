//! `POST /api/v1/dialer/start` and `/stop`, with an optional `{"reason": "…"}` body (at most
//! [`crate::MAX_REASON_CHARS`] characters; unknown fields refused). Answers
//! `{"dialer": "running"|"stopped", "reason": "…"}`.
//!
//! `GET /api/v1/dialer/blocked?campaign=ID&limit=N`: why it is not dialing — the leads that
//! are not being called now, counted by reason, with the first lead ids of each
//! ([`outdial_engine::NotDialing`]; `limit` leads looked at, default 10,000, at most
//! 100,000; 400 for a malformed query).

use crate::extract::{parse_json, ApiKey, JsonShape};
use crate::guard::LimitedBody;
use crate::routes::bounded_reason;
use crate::{ApiError, AppState};
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

/// The dialer routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/dialer/start", post(dialer_start))
        .route("/api/v1/dialer/stop", post(dialer_stop))
        .route("/api/v1/dialer/blocked", get(dialer_blocked))
}

/// Query of `GET /api/v1/dialer/blocked`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockedQuery {
    campaign: Option<i64>,
    limit: Option<u32>,
}

async fn dialer_blocked(
    _key: ApiKey,
    State(state): State<AppState>,
    Query(q): Query<BlockedQuery>,
) -> Result<Json<outdial_engine::NotDialing>, ApiError> {
    let now = state.engine.clock().now();
    let limit = q.limit.unwrap_or(10_000).clamp(1, 100_000);
    let campaign = q.campaign.map(outdial_core::CampaignId);
    Ok(Json(state.engine.not_dialing(now, campaign, limit).await?))
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
