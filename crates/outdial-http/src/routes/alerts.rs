//! `GET /api/v1/alerts?limit=N` (default 50, most 500): alerts ([`AlertResponse`]), newest
//! first.

use crate::extract::{ApiKey, ApiQuery};
use crate::openapi::ErrorBody;
use crate::routes::ListQuery;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use outdial_store::AlertRecord;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The alert route.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(alerts_list))
}

/// Answer of `GET /api/v1/alerts`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertList {
    /// The alerts, newest first.
    pub alerts: Vec<AlertResponse>,
}

/// An alert as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Alert)]
pub struct AlertResponse {
    /// Row id.
    pub id: i64,
    /// Stable code (`kill_switch.tripped`, `provider.unreachable`, …).
    pub kind: String,
    /// Scope it concerns (`global`, `campaign:3`).
    pub scope: String,
    /// One line.
    pub subject: String,
    /// Plain text: the reason, the counts, and what to do.
    pub body: String,
    /// Raised at, UTC.
    pub raised_at: DateTime<Utc>,
}

impl From<AlertRecord> for AlertResponse {
    fn from(a: AlertRecord) -> Self {
        AlertResponse {
            id: a.id.0,
            kind: a.kind,
            scope: a.scope,
            subject: a.subject,
            body: a.body,
            raised_at: a.raised_at,
        }
    }
}

/// Alerts, newest first (`state` is not read).
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(ListQuery),
    responses(
        (status = 200, description = "The alerts", body = AlertList),
        (status = 400, description = "A malformed query", body = ErrorBody),
    ))]
async fn alerts_list(
    _key: ApiKey,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<AlertList>, ApiError> {
    let alerts: Vec<AlertResponse> = state
        .engine
        .store()
        .alerts(q.limit())
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(AlertList { alerts }))
}
