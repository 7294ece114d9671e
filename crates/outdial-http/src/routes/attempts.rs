//! `POST /api/v1/attempts/{id}/disposition` with `{"disposition": "CALLBACK", "callback_at":
//! "2026-01-06T15:00:00Z"}`: records a business disposition for an attempt (applied now, or
//! when the attempt ends). Answers `{"outcome": "pending"|"applied", "attempt": …, "lead":
//! …}` ([`AttemptResponse`], [`LeadResponse`]); 400 for a bad body or time, 404 for an
//! unknown attempt, 422 for an unknown disposition.

use crate::extract::{ApiKey, JsonBody, JsonShape, PathId};
use crate::routes::leads::{AttemptResponse, LeadResponse};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use outdial_core::AttemptId;
use serde::Deserialize;

/// The attempt routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/attempts/{id}/disposition",
        post(attempt_disposition),
    )
}

/// Body of `POST /api/v1/attempts/{id}/disposition`.
#[derive(Debug, Deserialize)]
pub struct DispositionBody {
    /// Disposition code or alias (`SALE`, `transfer`, `CALLBACK`, a provider's disposition tag).
    pub disposition: String,
    /// Requested callback time, RFC 3339 (with `CALLBACK`).
    pub callback_at: Option<String>,
}

impl JsonShape for DispositionBody {
    const EXAMPLE: &'static str =
        r#"{"disposition": "CALLBACK", "callback_at": "2026-01-06T15:00:00Z"}"#;
}

async fn attempt_disposition(
    _key: ApiKey,
    State(state): State<AppState>,
    PathId(id): PathId<AttemptId>,
    JsonBody(body): JsonBody<DispositionBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let callback_at = body
        .callback_at
        .as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|e| {
                    ApiError::bad_request(format!("callback_at: '{s}' is not RFC 3339: {e}"))
                })
        })
        .transpose()?;
    let outcome = state
        .engine
        .set_disposition(id, &body.disposition, callback_at, "api")
        .await?;
    let attempt = state.engine.store().attempt(id).await?;
    let lead = match &attempt {
        Some(a) => state.engine.store().lead(a.lead_id).await?,
        None => None,
    };
    Ok(Json(serde_json::json!({
        "outcome": outcome,
        "attempt": attempt.map(AttemptResponse::from),
        "lead": lead.map(LeadResponse::from),
    })))
}
