//! Admin API of the durable jobs:
//! - `GET /api/v1/jobs?state=pending|running|done|dead&limit=N` (default 50, most 500):
//!   jobs ([`JobResponse`]), newest first, and counts by state;
//! - `POST /api/v1/jobs/{id}/requeue`: a dead job runs again (404 unknown, 409 if it is
//!   not dead).

use crate::extract::{ApiKey, ApiQuery, PathId};
use crate::openapi::ErrorBody;
use crate::routes::ListQuery;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use outdial_store::{Job, JobId, JobState};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The job routes.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(jobs_list))
        .routes(routes!(job_requeue))
}

/// Answer of `GET /api/v1/jobs`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobList {
    /// Jobs by state (`pending`, `running`, `done`, `dead`).
    pub counts: BTreeMap<String, u64>,
    /// The jobs, newest first.
    pub jobs: Vec<JobResponse>,
}

/// Answer of `POST /api/v1/jobs/{id}/requeue`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobRequeued {
    /// The job's id.
    pub job: i64,
    /// `pending`.
    pub state: &'static str,
}

/// The path of the job routes.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by `PathId`; here for the description
struct JobPath {
    /// The job's id.
    #[param(example = 1)]
    id: i64,
}

/// A durable job as the API shows it. Times are UTC.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Job)]
pub struct JobResponse {
    /// Row id.
    pub id: i64,
    /// Handler name (`alert.email`, `attempt.concluded`, …).
    pub kind: String,
    /// JSON payload of ids, as text.
    pub payload: String,
    /// `pending`, `running`, `done` or `dead`.
    pub state: &'static str,
    /// How many times a worker has claimed it.
    pub attempts: u32,
    /// Earliest next run.
    pub run_at: DateTime<Utc>,
    /// While `running`: when the claim expires.
    pub locked_until: Option<DateTime<Utc>>,
    /// Last error's code (`smtp-550`, `http-503`, …).
    pub error_code: Option<String>,
    /// Last error's message.
    pub error_message: Option<String>,
    /// Enqueued at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

impl From<Job> for JobResponse {
    fn from(j: Job) -> Self {
        JobResponse {
            id: j.id.0,
            kind: j.kind,
            payload: j.payload,
            state: j.state.as_str(),
            attempts: j.attempts,
            run_at: j.run_at,
            locked_until: j.locked_until,
            error_code: j.error_code,
            error_message: j.error_message,
            created_at: j.created_at,
            updated_at: j.updated_at,
        }
    }
}

/// Jobs, newest first, and counts by state.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", params(ListQuery),
    responses(
        (status = 200, description = "The jobs", body = JobList),
        (status = 400, description = "A malformed query or an unknown state", body = ErrorBody),
    ))]
async fn jobs_list(
    _key: ApiKey,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<JobList>, ApiError> {
    let job_state = match q.state.as_deref() {
        None => None,
        Some(s) => Some(JobState::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "query 'state': '{s}' is not one of pending, running, done, dead"
            ))
        })?),
    };
    let store = state.engine.store();
    let jobs: Vec<JobResponse> = store
        .jobs(job_state, q.limit())
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let counts = store.job_counts().await?;
    Ok(Json(JobList { counts, jobs }))
}

/// A dead job runs again.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/requeue", tag = "jobs", params(JobPath),
    responses(
        (status = 200, description = "Requeued", body = JobRequeued),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "The job is not dead", body = ErrorBody),
    ))]
async fn job_requeue(
    _key: ApiKey,
    State(state): State<AppState>,
    PathId(id): PathId<JobId>,
) -> Result<Json<JobRequeued>, ApiError> {
    requeue_dead(&state, id).await?;
    Ok(Json(JobRequeued {
        job: id.0,
        state: "pending",
    }))
}

/// Puts dead job `id` back to `pending`, to run now: 404 for an unknown job, 409 for a job
/// that is not dead (the API's and the dashboard's requeue).
pub(crate) async fn requeue_dead(state: &AppState, id: JobId) -> Result<(), ApiError> {
    let store = state.engine.store();
    if store.job(id).await?.is_none() {
        return Err(ApiError::not_found(format!("not found: job {id}")));
    }
    let now = state.engine.clock().now();
    if !store.requeue_job(id, now).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("job {id} is not dead; only dead jobs are requeued"),
        ));
    }
    Ok(())
}
