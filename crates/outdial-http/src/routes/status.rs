//! `GET /api/v1/status`: the dialer's position, due and in-flight counts, tripped kill
//! switches, job counts and refused requests ([`StatusResponse`]).

use crate::extract::ApiKey;
use crate::guard::RejectionCounts;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use outdial_engine::DIALER_REASON_SETTING;
use outdial_store::StatusCounts;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The status route.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(status))
}

/// Body of `GET /api/v1/status`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusResponse {
    /// `running` or `stopped`.
    pub dialer: String,
    /// Why the dialer was last started or stopped.
    pub dialer_reason: Option<String>,
    /// Clock time of the answer, UTC.
    pub now: DateTime<Utc>,
    /// Active leads due now.
    pub leads_due: u64,
    /// Attempts in flight.
    pub attempts_in_flight: u64,
    /// Attempts reserved since 00:00 UTC of `now`.
    pub calls_today: u64,
    /// Every count (keys sorted).
    #[schema(value_type = CountsResponse)]
    pub counts: serde_json::Value,
    /// Kill switches that are tripped (scope keys: `global`, `campaign:3`).
    pub kill_switches_tripped: Vec<String>,
    /// Durable jobs by state (`pending`, `running`, `done`, `dead`).
    pub jobs: BTreeMap<String, u64>,
    /// Requests refused since this process started, by kind.
    #[serde(default)]
    pub rejected_requests: RejectionCounts,
}

/// The `counts` of `StatusResponse`, the API's own names for the store's counts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CountsResponse {
    /// Leads by status name.
    pub leads_by_status: BTreeMap<String, u64>,
    /// Active leads whose next attempt time has come.
    pub leads_due: u64,
    /// Attempts not yet final.
    pub attempts_in_flight: u64,
    /// Attempts reserved since 00:00 UTC.
    pub attempts_since: u64,
    /// Attempts by state.
    pub attempts_by_state: BTreeMap<String, u64>,
    /// Concluded attempts by disposition.
    pub attempts_by_disposition: BTreeMap<String, u64>,
    /// Ended attempts by final call status.
    pub attempts_by_call_status: BTreeMap<String, u64>,
}

impl From<StatusCounts> for CountsResponse {
    fn from(c: StatusCounts) -> Self {
        CountsResponse {
            leads_by_status: c.leads_by_status,
            leads_due: c.leads_due,
            attempts_in_flight: c.attempts_in_flight,
            attempts_since: c.attempts_since,
            attempts_by_state: c.attempts_by_state,
            attempts_by_disposition: c.attempts_by_disposition,
            attempts_by_call_status: c.attempts_by_call_status,
        }
    }
}

/// The dialer's position, due and in-flight counts, tripped kill switches, job counts and
/// refused requests.
#[utoipa::path(get, path = "/api/v1/status", tag = "status",
    responses((status = 200, description = "The status", body = StatusResponse)))]
async fn status(
    _key: ApiKey,
    State(state): State<AppState>,
) -> Result<Json<StatusResponse>, ApiError> {
    let now = state.engine.clock().now();
    let midnight = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("valid")
        .and_utc();
    let counts = state.engine.store().status_counts(now, midnight).await?;
    let running = state.engine.dialer_running().await?;
    Ok(Json(StatusResponse {
        dialer: if running { "running" } else { "stopped" }.into(),
        dialer_reason: state.engine.store().setting(DIALER_REASON_SETTING).await?,
        now,
        leads_due: counts.leads_due,
        attempts_in_flight: counts.attempts_in_flight,
        calls_today: counts.attempts_since,
        counts: serde_json::to_value(CountsResponse::from(counts)).unwrap_or_default(),
        kill_switches_tripped: state
            .engine
            .kill_switches()
            .await?
            .switches
            .iter()
            .filter(|s| s.tripped)
            .map(|s| s.scope.as_key())
            .collect(),
        jobs: state.engine.store().job_counts().await?,
        rejected_requests: state.rejections.counts(),
    }))
}
