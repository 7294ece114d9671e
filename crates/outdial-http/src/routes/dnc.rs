//! Admin API of the Do-Not-Call lists (the `outdial dnc` commands over HTTP). A list is
//! named by `list`: `internal` (the default: every campaign), `national` (the registry's
//! numbers), or a campaign's own list by `campaign` (an id or name; 404 when unknown).
//! Numbers are read as `outdial dnc` reads them (without a country code, in the configured
//! default region); 400 for one that is not a number.
//! - `POST /api/v1/dnc` with `{"phone": "…", "campaign": "…", "list": "…", "reason": "…"}`:
//!   puts the number on the list (source `api`); idempotent: a listed number keeps its
//!   entry. Answers `added` and the list's entry ([`DncAnswer`]);
//! - `POST /api/v1/dnc/remove` with `{"phone": "…", "campaign": "…", "list": "…"}`: takes it
//!   off that list (the other lists keep theirs); `removed` says whether it was on it;
//! - `GET /api/v1/dnc/check?phone=…&campaign=…`: every entry that blocks calling the number
//!   (for the campaign, when given): empty when it may be called. Write `+` as `%2B` in a
//!   query string.
//!
//! Each change is in the event log (`dnc.added`, `dnc.removed`), like the CLI's.

use crate::extract::{ApiKey, ApiQuery, JsonBody, JsonShape};
use crate::openapi::ErrorBody;
use crate::routes::bounded_reason;
use crate::routes::campaigns::resolve_campaign;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use outdial_core::{CampaignId, E164};
use outdial_store::{DncEntry, DncScope};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The DNC routes.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add))
        .routes(routes!(remove))
        .routes(routes!(check))
}

/// A list entry as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = DncEntry)]
pub struct DncEntryResponse {
    /// The number, E.164.
    #[schema(value_type = String)]
    pub phone: E164,
    /// The list: `internal`, `national` or `campaign:{id}`.
    pub list: String,
    /// Where the entry came from: `api`, `operator`, `disposition`, `import:FILE`.
    pub source: String,
    /// Why, when given.
    pub reason: Option<String>,
    /// When the number was put on the list, UTC.
    pub added_at: DateTime<Utc>,
}

impl From<DncEntry> for DncEntryResponse {
    fn from(e: DncEntry) -> Self {
        DncEntryResponse {
            phone: e.phone,
            list: e.scope.as_key(),
            source: e.source,
            reason: e.reason,
            added_at: e.added_at,
        }
    }
}

/// Answer of `POST /api/v1/dnc` and `POST /api/v1/dnc/remove`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DncAnswer {
    /// The number, E.164.
    #[schema(value_type = String)]
    pub phone: E164,
    /// The list: `internal`, `national` or `campaign:{id}`.
    pub list: String,
    /// Add: whether the number was newly put on the list (`false`: it was on it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added: Option<bool>,
    /// Remove: whether it was on the list and is now off it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<bool>,
    /// Add: the list's entry for the number (the earlier one when it was listed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<DncEntryResponse>,
}

/// Body of `POST /api/v1/dnc` and `POST /api/v1/dnc/remove` (`reason`: add only).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DncChangeBody {
    /// The number (without a country code: in the configured default region).
    #[schema(example = "+12125550101")]
    pub phone: String,
    /// A campaign (id or name): its own list.
    pub campaign: Option<String>,
    /// `internal` (default), `national` or `campaign` (with `campaign`).
    pub list: Option<String>,
    /// Add: why (at most 500 characters).
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

impl JsonShape for DncChangeBody {
    const EXAMPLE: &'static str =
        r#"{"phone": "+14155550123", "list": "internal", "reason": "asked not to be called"}"#;
}

fn parse_phone(state: &AppState, raw: &str) -> Result<E164, ApiError> {
    E164::parse(raw, state.default_region)
        .map_err(|e| ApiError::bad_request(format!("field 'phone' ('{raw}') is not a number: {e}")))
}

/// The list a body names. Errors: 400 for an unknown `list` or one that contradicts
/// `campaign`; 404 for an unknown campaign.
async fn scope_of(
    state: &AppState,
    list: Option<&str>,
    campaign: Option<&str>,
) -> Result<DncScope, ApiError> {
    match (list, campaign) {
        (None | Some("campaign"), Some(c)) => {
            Ok(DncScope::Campaign(resolve_campaign(state, c).await?.id))
        }
        (Some("campaign"), None) => Err(ApiError::bad_request(
            "field 'list' is 'campaign': name the campaign in 'campaign'",
        )),
        (None | Some("internal"), None) => Ok(DncScope::Internal),
        (Some("national"), None) => Ok(DncScope::National),
        (Some(other), _) => Err(ApiError::bad_request(format!(
            "field 'list' is '{other}'; use internal, national or campaign (with 'campaign'), \
             or give only 'campaign'"
        ))),
    }
}

fn campaign_of(scope: DncScope) -> Option<CampaignId> {
    match scope {
        DncScope::Campaign(id) => Some(id),
        DncScope::Internal | DncScope::National => None,
    }
}

/// Puts a number on a list (source `api`); a listed number keeps its entry.
#[utoipa::path(post, operation_id = "dnc_add", path = "/api/v1/dnc", tag = "dnc", request_body = DncChangeBody,
    responses(
        (status = 200, description = "`added` and the list's entry", body = DncAnswer),
        (status = 400, description = "Not JSON of the body's shape, not a number, an unknown \
            list, or a reason over 500 characters", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
async fn add(
    _key: ApiKey,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<DncChangeBody>,
) -> Result<Json<DncAnswer>, ApiError> {
    let phone = parse_phone(&state, &body.phone)?;
    let reason = body
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if let Some(r) = &reason {
        bounded_reason(r)?;
    }
    let scope = scope_of(&state, body.list.as_deref(), body.campaign.as_deref()).await?;
    let store = state.engine.store();
    let now = state.engine.clock().now();
    let entry = DncEntry {
        phone: phone.clone(),
        scope,
        source: "api".into(),
        reason,
        added_at: now,
    };
    let added = store.dnc_add(&[entry], now).await? == 1;
    let entry = store
        .dnc_check(&phone, campaign_of(scope))
        .await?
        .into_iter()
        .find(|e| e.scope == scope)
        .map(Into::into);
    Ok(Json(DncAnswer {
        phone,
        list: scope.as_key(),
        added: Some(added),
        removed: None,
        entry,
    }))
}

/// Takes a number off a list (the other lists keep theirs).
#[utoipa::path(post, operation_id = "dnc_remove", path = "/api/v1/dnc/remove", tag = "dnc", request_body = DncChangeBody,
    responses(
        (status = 200, description = "`removed`: whether it was on the list", body = DncAnswer),
        (status = 400, description = "Not JSON of the body's shape, not a number, or an \
            unknown list", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
async fn remove(
    _key: ApiKey,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<DncChangeBody>,
) -> Result<Json<DncAnswer>, ApiError> {
    let phone = parse_phone(&state, &body.phone)?;
    let scope = scope_of(&state, body.list.as_deref(), body.campaign.as_deref()).await?;
    let now = state.engine.clock().now();
    let removed = state.engine.store().dnc_remove(&phone, &scope, now).await?;
    Ok(Json(DncAnswer {
        phone,
        list: scope.as_key(),
        added: None,
        removed: Some(removed),
        entry: None,
    }))
}

/// Query of `GET /api/v1/dnc/check`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DncCheckQuery {
    /// The number.
    #[param(example = "+12125550101")]
    pub phone: String,
    /// A campaign (id or name) whose own list also counts.
    pub campaign: Option<String>,
}

/// Answer of `GET /api/v1/dnc/check`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DncCheckAnswer {
    /// The number, E.164.
    #[schema(value_type = String)]
    pub phone: E164,
    /// `false` when an entry blocks it.
    pub callable: bool,
    /// The entries that block it, by list.
    pub entries: Vec<DncEntryResponse>,
}

/// Every entry that blocks calling a number: empty when it may be called.
#[utoipa::path(get, operation_id = "dnc_check", path = "/api/v1/dnc/check", tag = "dnc", params(DncCheckQuery),
    responses(
        (status = 200, description = "The entries that block it", body = DncCheckAnswer),
        (status = 400, description = "A malformed query or not a number", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
async fn check(
    _key: ApiKey,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DncCheckQuery>,
) -> Result<Json<DncCheckAnswer>, ApiError> {
    let phone = parse_phone(&state, &q.phone)?;
    let campaign = match &q.campaign {
        Some(c) => Some(resolve_campaign(&state, c).await?.id),
        None => None,
    };
    let entries: Vec<DncEntryResponse> = state
        .engine
        .store()
        .dnc_check(&phone, campaign)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(DncCheckAnswer {
        phone,
        callable: entries.is_empty(),
        entries,
    }))
}
