//! `POST /api/v1/attempts/{id}/disposition` with `{"disposition": "CALLBACK", "callback_at":
//! "2026-01-06T15:00:00Z"}`: records a business disposition for an attempt (applied now, or
//! when the attempt ends). Answers `{"outcome": "pending"|"applied", "attempt": …, "lead":
//! …}` ([`AttemptResponse`], [`LeadResponse`]); 400 for a bad body or time, 404 for an
//! unknown attempt, 422 for an unknown disposition.

use crate::extract::{ApiKey, JsonBody, JsonShape, PathId};
use crate::openapi::{DispositionOutcomeSchema, ErrorBody};
use crate::routes::leads::{AttemptResponse, LeadResponse};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use outdial_core::AttemptId;
use outdial_engine::DispositionOutcome;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The attempt routes.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(attempt_disposition))
}

/// Answer of `POST /api/v1/attempts/{id}/disposition`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DispositionAnswer {
    /// `pending` (applied when the attempt ends) or `applied`.
    #[schema(value_type = DispositionOutcomeSchema)]
    pub outcome: DispositionOutcome,
    /// The attempt after the change.
    pub attempt: Option<AttemptResponse>,
    /// Its lead after the change.
    pub lead: Option<LeadResponse>,
}

/// The path of the attempt routes.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by `PathId`; here for the description
struct AttemptPath {
    /// The attempt's id.
    #[param(example = 1)]
    id: i64,
}

/// Body of `POST /api/v1/attempts/{id}/disposition`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DispositionBody {
    /// Disposition code or alias (`SALE`, `transfer`, `CALLBACK`, a provider's disposition tag).
    #[schema(example = "CALLBACK")]
    pub disposition: String,
    /// Requested callback time, RFC 3339 (with `CALLBACK`).
    #[schema(format = DateTime)]
    pub callback_at: Option<String>,
}

impl JsonShape for DispositionBody {
    const EXAMPLE: &'static str =
        r#"{"disposition": "CALLBACK", "callback_at": "2026-01-06T15:00:00Z"}"#;
}

/// Records a business disposition for an attempt (applied now, or when the attempt ends).
#[utoipa::path(post, path = "/api/v1/attempts/{id}/disposition", tag = "attempts",
    params(AttemptPath), request_body = DispositionBody,
    responses(
        (status = 200, description = "Recorded", body = DispositionAnswer),
        (status = 400, description = "The id is not a number, not JSON of the body's shape, \
            or `callback_at` not RFC 3339", body = ErrorBody),
        (status = 404, description = "No such attempt", body = ErrorBody),
        (status = 422, description = "Unknown disposition", body = ErrorBody),
    ))]
async fn attempt_disposition(
    _key: ApiKey,
    State(state): State<AppState>,
    PathId(id): PathId<AttemptId>,
    JsonBody(body): JsonBody<DispositionBody>,
) -> Result<Json<DispositionAnswer>, ApiError> {
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
    Ok(Json(DispositionAnswer {
        outcome,
        attempt: attempt.map(AttemptResponse::from),
        lead: lead.map(LeadResponse::from),
    }))
}
