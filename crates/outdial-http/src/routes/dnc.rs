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

use crate::extract::{ApiKey, JsonBody, JsonShape};
use crate::routes::bounded_reason;
use crate::routes::campaigns::resolve_campaign;
use crate::{ApiError, AppState};
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use outdial_core::{CampaignId, E164};
use outdial_store::{DncEntry, DncScope};
use serde::{Deserialize, Serialize};

/// The DNC routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/dnc", post(add))
        .route("/api/v1/dnc/remove", post(remove))
        .route("/api/v1/dnc/check", get(check))
}

/// A list entry as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DncEntryResponse {
    /// The number, E.164.
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
#[derive(Debug, Clone, Serialize)]
pub struct DncAnswer {
    /// The number, E.164.
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    phone: String,
    campaign: Option<String>,
    list: Option<String>,
    reason: Option<String>,
}

impl JsonShape for ChangeBody {
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

async fn add(
    _key: ApiKey,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ChangeBody>,
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

async fn remove(
    _key: ApiKey,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ChangeBody>,
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DncCheckQuery {
    /// The number.
    pub phone: String,
    /// A campaign (id or name) whose own list also counts.
    pub campaign: Option<String>,
}

/// Answer of `GET /api/v1/dnc/check`.
#[derive(Debug, Clone, Serialize)]
pub struct DncCheckAnswer {
    /// The number, E.164.
    pub phone: E164,
    /// `false` when an entry blocks it.
    pub callable: bool,
    /// The entries that block it, by list.
    pub entries: Vec<DncEntryResponse>,
}

async fn check(
    _key: ApiKey,
    State(state): State<AppState>,
    Query(q): Query<DncCheckQuery>,
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
