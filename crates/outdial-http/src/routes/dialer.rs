//! `POST /api/v1/dialer/start` and `/stop`, with an optional `{"reason": "…"}` body (at most
//! [`crate::MAX_REASON_CHARS`] characters; unknown fields refused). Answers
//! `{"dialer": "running"|"stopped", "reason": "…"}`.
//!
//! `GET /api/v1/dialer/blocked?campaign=ID&limit=N`: why it is not dialing — the leads that
//! are not being called now, counted by reason, with the first lead ids of each
//! ([`outdial_engine::NotDialing`]; `limit` leads looked at, default 10,000, at most
//! 100,000; 400 for a malformed query).

use crate::extract::{parse_json, ApiKey, ApiQuery, JsonShape};
use crate::guard::LimitedBody;
use crate::openapi::ErrorBody;
use crate::routes::bounded_reason;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The dialer routes.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(dialer_start))
        .routes(routes!(dialer_stop))
        .routes(routes!(dialer_blocked))
}

/// Query of `GET /api/v1/dialer/blocked`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct BlockedQuery {
    /// Only this campaign's leads (its id).
    campaign: Option<i64>,
    /// Leads looked at (default 10,000, clamped to 1 to 100,000).
    limit: Option<u32>,
}

/// Why it is not dialing: the leads that are not being called now, counted by reason, with
/// the first lead ids of each.
#[utoipa::path(get, path = "/api/v1/dialer/blocked", tag = "dialer", params(BlockedQuery),
    responses(
        (status = 200, description = "Leads not being called, by reason",
            body = Object, content_type = "application/json"),
        (status = 400, description = "A malformed query", body = ErrorBody),
    ))]
async fn dialer_blocked(
    _key: ApiKey,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<BlockedQuery>,
) -> Result<Json<outdial_engine::NotDialing>, ApiError> {
    let now = state.engine.clock().now();
    let limit = q.limit.unwrap_or(10_000).clamp(1, 100_000);
    let campaign = q.campaign.map(outdial_core::CampaignId);
    Ok(Json(state.engine.not_dialing(now, campaign, limit).await?))
}

/// Body of `POST /api/v1/dialer/start` and `/stop` (optional: an empty body is no reason).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why (at most 500 characters); default `started through the API` or `stopped …`.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// The answers of `POST /api/v1/dialer/start` and `/stop`.
#[derive(Debug, utoipa::IntoResponses)]
// A description only, never built: the handlers answer `Json` or `ApiError`.
#[allow(dead_code, clippy::large_enum_variant)]
pub enum DialerAnswers {
    /// The dialer's position
    #[response(status = 200)]
    Set(DialerAnswer),
    /// Not JSON of the body's shape, or a reason over 500 characters
    #[response(status = 400)]
    BadRequest(ErrorBody),
}

/// Answer of `POST /api/v1/dialer/start` and `/stop`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DialerAnswer {
    /// `running` or `stopped`.
    pub dialer: &'static str,
    /// The reason stored.
    pub reason: String,
}

impl JsonShape for ReasonBody {
    const EXAMPLE: &'static str = r#"{"reason": "…"}"#;
}

/// Starts the dialer.
#[utoipa::path(post, path = "/api/v1/dialer/start", tag = "dialer",
    request_body(content = Option<ReasonBody>, description = "Why (optional)"),
    responses(DialerAnswers))]
async fn dialer_start(
    _key: ApiKey,
    State(state): State<AppState>,
    LimitedBody(body): LimitedBody,
) -> Result<Json<DialerAnswer>, ApiError> {
    set_dialer(&state, true, &body).await
}

/// Stops the dialer (calls in flight go on).
#[utoipa::path(post, path = "/api/v1/dialer/stop", tag = "dialer",
    request_body(content = Option<ReasonBody>, description = "Why (optional)"),
    responses(DialerAnswers))]
async fn dialer_stop(
    _key: ApiKey,
    State(state): State<AppState>,
    LimitedBody(body): LimitedBody,
) -> Result<Json<DialerAnswer>, ApiError> {
    set_dialer(&state, false, &body).await
}

async fn set_dialer(
    state: &AppState,
    running: bool,
    body: &[u8],
) -> Result<Json<DialerAnswer>, ApiError> {
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
    Ok(Json(DialerAnswer {
        dialer: if running { "running" } else { "stopped" },
        reason,
    }))
}
