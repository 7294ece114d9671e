//! `GET /api/v1/alerts?limit=N` (default 50, most 500): alerts ([`AlertResponse`]), newest
//! first.

use crate::extract::ApiKey;
use crate::routes::ListQuery;
use crate::{ApiError, AppState};
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use outdial_store::AlertRecord;
use serde::Serialize;

/// The alert route.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/alerts", get(alerts_list))
}

/// An alert as the API shows it.
#[derive(Debug, Clone, Serialize)]
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

async fn alerts_list(
    _key: ApiKey,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let alerts: Vec<AlertResponse> = state
        .engine
        .store()
        .alerts(q.limit())
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(serde_json::json!({ "alerts": alerts })))
}
