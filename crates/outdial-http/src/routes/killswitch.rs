//! Admin API of the kill switches:
//! - `GET /api/v1/killswitch`: every switch ([`SwitchResponse`]: `scope`, `tripped`,
//!   `reason`, `source`, `changed_at` UTC) and whether dialing is stopped globally;
//! - `POST /api/v1/killswitch/trip` and `/resume` with `{"reason": "…", "campaign": "name or
//!   id"}` (`campaign` absent: the global switch). `reason` is required (400 without it)
//!   and at most [`crate::MAX_REASON_CHARS`] characters; unknown fields are refused (400);
//!   an unknown campaign is 404. Answers the switch's position and whether it changed.

use crate::extract::{ApiKey, JsonBody, JsonShape};
use crate::openapi::ErrorBody;
use crate::routes::required_reason;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use outdial_core::CampaignId;
use outdial_store::{KillScope, KillSwitch};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The kill-switch routes.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(killswitch_status))
        .routes(routes!(killswitch_trip))
        .routes(routes!(killswitch_resume))
}

/// A kill switch as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = KillSwitch)]
pub struct SwitchResponse {
    /// Scope key: `global` or `campaign:{id}`.
    pub scope: String,
    /// `true`: no call is placed in the scope until an operator resumes.
    pub tripped: bool,
    /// Why it was last tripped or resumed.
    pub reason: String,
    /// Who changed it: `monitor:<rule>`, `operator:<name>` or `api`.
    pub source: String,
    /// When it last changed, UTC.
    pub changed_at: DateTime<Utc>,
}

impl From<KillSwitch> for SwitchResponse {
    fn from(s: KillSwitch) -> Self {
        SwitchResponse {
            scope: s.scope.as_key(),
            tripped: s.tripped,
            reason: s.reason,
            source: s.source,
            changed_at: s.changed_at,
        }
    }
}

/// Body of `POST /api/v1/killswitch/trip` and `/resume`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchBody {
    /// Why (required: 400 without it).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 500)]
    pub reason: Option<String>,
    /// The campaign's id or name; absent: the global switch.
    #[schema(value_type = Option<CampaignRef>)]
    pub campaign: Option<serde_json::Value>,
}

/// A campaign named by its id or its name.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // a schema only: the body reads a JSON value
pub enum CampaignRef {
    /// Its id.
    Id(i64),
    /// Its name (or its id as digits).
    Name(String),
}

/// Answer of `GET /api/v1/killswitch`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SwitchList {
    /// Whether dialing is stopped globally.
    pub global_tripped: bool,
    /// Every switch.
    pub switches: Vec<SwitchResponse>,
}

/// The answers of `POST /api/v1/killswitch/trip` and `/resume`.
#[derive(Debug, utoipa::IntoResponses)]
// A description only, never built: the handlers answer `Json` or `ApiError`.
#[allow(dead_code, clippy::large_enum_variant)]
pub enum SwitchAnswers {
    /// The switch's position
    #[response(status = 200)]
    Changed(SwitchChange),
    /// Not JSON of the body's shape, no reason or one over 500 characters, or a bad campaign
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No such campaign
    #[response(status = 404)]
    NotFound(ErrorBody),
}

/// Answer of `POST /api/v1/killswitch/trip` and `/resume`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SwitchChange {
    /// Scope key: `global` or `campaign:{id}`.
    pub scope: String,
    /// The switch's position now.
    pub tripped: bool,
    /// Whether this request changed it.
    pub changed: bool,
    /// The reason given.
    pub reason: String,
}

impl JsonShape for SwitchBody {
    const EXAMPLE: &'static str = r#"{"reason": "…", "campaign": "name"}"#;
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
            return Err(ApiError::bad_request(
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
        None => Err(ApiError::not_found(format!("not found: campaign '{text}'"))),
    }
}

/// The required, bounded reason and the scope of a trip or resume body.
async fn switch_request(
    state: &AppState,
    body: SwitchBody,
) -> Result<(String, KillScope), ApiError> {
    let reason = required_reason(body.reason, "the event log and the alert")?;
    let scope = campaign_scope(state, body.campaign).await?;
    Ok((reason, scope))
}

/// Every switch, and whether dialing is stopped globally.
#[utoipa::path(get, path = "/api/v1/killswitch", tag = "killswitch",
    responses((status = 200, description = "Every switch", body = SwitchList)))]
async fn killswitch_status(
    _key: ApiKey,
    State(state): State<AppState>,
) -> Result<Json<SwitchList>, ApiError> {
    let switches = state.engine.kill_switches().await?;
    let global_tripped = switches.global_tripped();
    let switches: Vec<SwitchResponse> = switches.switches.into_iter().map(Into::into).collect();
    Ok(Json(SwitchList {
        global_tripped,
        switches,
    }))
}

/// Trips a switch: no call is placed in its scope until resumed.
#[utoipa::path(post, path = "/api/v1/killswitch/trip", tag = "killswitch",
    request_body = SwitchBody, responses(SwitchAnswers))]
async fn killswitch_trip(
    _key: ApiKey,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SwitchBody>,
) -> Result<Json<SwitchChange>, ApiError> {
    let (reason, scope) = switch_request(&state, body).await?;
    let changed = state
        .engine
        .trip_kill_switch(scope, &reason, "operator:api", &Default::default())
        .await?;
    Ok(switch_answer(scope, true, changed, reason))
}

/// Resumes a tripped switch.
#[utoipa::path(post, path = "/api/v1/killswitch/resume", tag = "killswitch",
    request_body = SwitchBody, responses(SwitchAnswers))]
async fn killswitch_resume(
    _key: ApiKey,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SwitchBody>,
) -> Result<Json<SwitchChange>, ApiError> {
    let (reason, scope) = switch_request(&state, body).await?;
    let changed = state
        .engine
        .resume_kill_switch(scope, &reason, "operator:api")
        .await?;
    Ok(switch_answer(scope, false, changed, reason))
}

/// The answer of a trip or resume: the switch's position and whether this request changed it.
fn switch_answer(
    scope: KillScope,
    tripped: bool,
    changed: bool,
    reason: String,
) -> Json<SwitchChange> {
    Json(SwitchChange {
        scope: scope.as_key(),
        tripped,
        changed,
        reason,
    })
}
