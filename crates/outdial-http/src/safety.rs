//! Admin API of the kill switches, durable jobs and alerts:
//! - `GET /api/v1/killswitch`: every switch (`scope`, `tripped`, `reason`, `source`,
//!   `changed_at` UTC) and whether dialing is stopped globally;
//! - `POST /api/v1/killswitch/trip` and `/resume` with `{"reason": "…", "campaign": "name or
//!   id"}` (`campaign` absent: the global switch). `reason` is required (400 without it)
//!   and at most [`crate::MAX_REASON_CHARS`] characters; unknown fields are refused (400);
//!   an unknown campaign is 404. Answers the switch's position and whether it changed;
//! - `GET /api/v1/jobs?state=pending|running|done|dead&limit=N` (default 50, most 500): jobs,
//!   newest first, and counts by state; `POST /api/v1/jobs/{id}/requeue`: a dead job runs
//!   again (409 if it is not dead);
//! - `GET /api/v1/alerts?limit=N`: alerts, newest first.

use crate::guard::LimitedBody;
use crate::{ApiError, ApiKey, AppState};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use outdial_core::CampaignId;
use outdial_store::{JobId, JobState, KillScope};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SwitchBody {
    reason: Option<String>,
    campaign: Option<serde_json::Value>,
}

/// Resolves a campaign given by id (number or digits) or name.
async fn campaign_scope(
    state: &AppState,
    campaign: Option<serde_json::Value>,
) -> Result<KillScope, ApiError> {
    let Some(c) = campaign else {
        return Ok(KillScope::Global);
    };
    let store = state.engine.store();
    let text = match &c {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "field 'campaign' must be a campaign id or name",
            ))
        }
    };
    if let Ok(id) = text.parse::<i64>() {
        let found = store.campaign(CampaignId(id)).await?;
        return Ok(KillScope::Campaign(found.id));
    }
    match store.campaign_by_name(&text).await? {
        Some(found) => Ok(KillScope::Campaign(found.id)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("not found: campaign '{text}'"),
        )),
    }
}

fn parse_switch_body(body: &[u8]) -> Result<(String, Option<serde_json::Value>), ApiError> {
    let parsed: SwitchBody = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("body must be JSON like {{\"reason\": \"…\", \"campaign\": \"name\"}}: {e}"),
        )
    })?;
    let reason = parsed
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "field 'reason' is required: say why, it goes into the event log and the alert",
            )
        })?;
    crate::bounded_reason(&reason)?;
    Ok((reason, parsed.campaign))
}

pub(crate) async fn killswitch_status(
    _key: ApiKey,
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let switches = state.engine.kill_switches().await?;
    Ok(Json(serde_json::json!({
        "global_tripped": switches.global_tripped(),
        "switches": switches.switches,
    })))
}

pub(crate) async fn killswitch_trip(
    _key: ApiKey,
    State(state): State<AppState>,
    LimitedBody(body): LimitedBody,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (reason, campaign) = parse_switch_body(&body)?;
    let scope = campaign_scope(&state, campaign).await?;
    let changed = state
        .engine
        .trip_kill_switch(scope, &reason, "operator:api", &Default::default())
        .await?;
    Ok(Json(serde_json::json!({
        "scope": scope.as_key(), "tripped": true, "changed": changed, "reason": reason,
    })))
}

pub(crate) async fn killswitch_resume(
    _key: ApiKey,
    State(state): State<AppState>,
    LimitedBody(body): LimitedBody,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (reason, campaign) = parse_switch_body(&body)?;
    let scope = campaign_scope(&state, campaign).await?;
    let changed = state
        .engine
        .resume_kill_switch(scope, &reason, "operator:api")
        .await?;
    Ok(Json(serde_json::json!({
        "scope": scope.as_key(), "tripped": false, "changed": changed, "reason": reason,
    })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    state: Option<String>,
    limit: Option<u32>,
}

pub(crate) async fn jobs_list(
    _key: ApiKey,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let job_state = match q.state.as_deref() {
        None => None,
        Some(s) => Some(JobState::parse(s).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("query 'state': '{s}' is not one of pending, running, done, dead"),
            )
        })?),
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let store = state.engine.store();
    let jobs = store.jobs(job_state, limit).await?;
    let counts = store.job_counts().await?;
    Ok(Json(serde_json::json!({ "counts": counts, "jobs": jobs })))
}

pub(crate) async fn job_requeue(
    _key: ApiKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = id
        .parse::<i64>()
        .map(JobId)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, format!("'{id}' is not a job id")))?;
    let store = state.engine.store();
    if store.job(id).await?.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("not found: job {id}"),
        ));
    }
    let now = state.engine.clock().now();
    if !store.requeue_job(id, now).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("job {id} is not dead; only dead jobs are requeued"),
        ));
    }
    Ok(Json(serde_json::json!({ "job": id.0, "state": "pending" })))
}

pub(crate) async fn alerts_list(
    _key: ApiKey,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let alerts = state.engine.store().alerts(limit).await?;
    Ok(Json(serde_json::json!({ "alerts": alerts })))
}
