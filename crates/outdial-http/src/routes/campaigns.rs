//! Admin API of campaigns and lead intake. `{campaign}` is a campaign's id or its name;
//! an unknown one is 404.
//! - `GET /api/v1/campaigns`: every campaign ([`CampaignResponse`]), by id;
//! - `POST /api/v1/campaigns` with `{"name": "…", "settings": {…}}` (the settings JSON of
//!   `outdial campaign create --settings`): creates a campaign, with the CLI's validation
//!   (`outdial_providers::check_campaign`: 422 naming the field); 409 when the name exists;
//! - `GET /api/v1/campaigns/{campaign}`: one campaign;
//! - `PUT /api/v1/campaigns/{campaign}/settings` with the settings JSON: replaces them, with
//!   the same validation; this process's engine reads them at its next tick (another
//!   instance of a fleet when it next loads the campaign);
//! - `POST /api/v1/campaigns/{campaign}/pause` and `/resume`: stops or restarts dialing its
//!   leads (leads keep their schedule);
//! - `POST /api/v1/campaigns/{campaign}/leads`: lead intake, see [`IntakeResponse`].

use crate::extract::{parse_json, ApiKey, JsonBody, JsonShape};
use crate::guard::read_body_up_to;
use crate::openapi::{ErrorBody, LeadStatusSchema, MatchedBySchema};
use crate::{ApiError, AppState};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use outdial_core::{CampaignId, CampaignSettings, LeadId, LeadStatus, NewLead};
use outdial_engine::intake::{intake, IntakeResult, MatchedBy};
use outdial_import::{lead_from_fields, Field, RowError};
use outdial_store::{Campaign, StoreError};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Most leads in one intake request.
pub const MAX_INTAKE_LEADS: usize = 10_000;

/// Largest intake request body, in bytes (8 MiB: 10,000 leads of about 800 bytes of JSON).
/// Larger: 413.
pub const MAX_INTAKE_BODY_BYTES: usize = 8 * 1024 * 1024;

/// The campaign routes.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(one))
        .routes(routes!(update_settings))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(take_leads))
}

/// The path of the routes of one campaign.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by `Path<String>`; here for the description
pub(crate) struct CampaignPath {
    /// The campaign's id (digits) or name.
    #[param(example = "schemathesis")]
    campaign: String,
}

/// A campaign as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Campaign)]
pub struct CampaignResponse {
    /// Id.
    #[schema(value_type = i64)]
    pub id: CampaignId,
    /// Unique name.
    pub name: String,
    /// Whether its leads are dialed (`false`: paused).
    pub active: bool,
    /// Creation time, UTC.
    pub created_at: DateTime<Utc>,
    /// Its settings (the JSON of `outdial campaign create --settings`).
    #[schema(value_type = Object)]
    pub settings: CampaignSettings,
}

impl From<Campaign> for CampaignResponse {
    fn from(c: Campaign) -> Self {
        CampaignResponse {
            id: c.id,
            name: c.name,
            active: c.active,
            created_at: c.created_at,
            settings: c.settings,
        }
    }
}

/// The campaign `{campaign}` names: an id (digits) or a name. Errors: 404.
pub(crate) async fn resolve_campaign(state: &AppState, text: &str) -> Result<Campaign, ApiError> {
    outdial_store::campaign_by_id_or_name(state.engine.store().as_ref(), text)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("not found: campaign '{text}'")))
}

/// Every campaign, by id.
#[utoipa::path(get, operation_id = "campaign_list", path = "/api/v1/campaigns", tag = "campaigns",
    responses((status = 200, description = "Every campaign", body = Vec<CampaignResponse>)))]
async fn list(
    _key: ApiKey,
    State(state): State<AppState>,
) -> Result<Json<Vec<CampaignResponse>>, ApiError> {
    let all = state.engine.store().campaigns().await?;
    Ok(Json(all.into_iter().map(Into::into).collect()))
}

/// One campaign.
#[utoipa::path(get, operation_id = "campaign_get", path = "/api/v1/campaigns/{campaign}", tag = "campaigns",
    params(CampaignPath),
    responses(
        (status = 200, description = "The campaign", body = CampaignResponse),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
async fn one(
    _key: ApiKey,
    State(state): State<AppState>,
    Path(campaign): Path<String>,
) -> Result<Json<CampaignResponse>, ApiError> {
    Ok(Json(resolve_campaign(&state, &campaign).await?.into()))
}

/// Body of `POST /api/v1/campaigns`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// Unique name: 1 to 200 characters, not a number.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// The settings JSON of `outdial campaign create --settings`.
    #[schema(value_type = Object,
        example = json!({"caller_id": "+15005550006", "answer": {"kind": "flow_url", "url": "https://example.com/flow"}}))]
    pub settings: CampaignSettings,
}

impl JsonShape for CreateBody {
    const EXAMPLE: &'static str = r#"{"name": "spring", "settings": {"caller_id": "+15005550006", "answer": {"kind": "flow_url", "url": "https://…"}}}"#;
}

impl JsonShape for CampaignSettings {
    const EXAMPLE: &'static str =
        r#"{"caller_id": "+15005550006", "answer": {"kind": "flow_url", "url": "https://…"}}"#;
}

/// The CLI's check of campaign settings: 422 naming the field.
fn checked(settings: &CampaignSettings) -> Result<(), ApiError> {
    outdial_providers::check_campaign(settings).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("campaign settings: {e}"),
        )
    })
}

/// Creates a campaign, with the CLI's validation.
#[utoipa::path(post, operation_id = "campaign_create", path = "/api/v1/campaigns", tag = "campaigns",
    request_body = CreateBody,
    responses(
        (status = 201, description = "Created", body = CampaignResponse),
        (status = 400, description = "Not JSON of the body's shape, or a bad name",
            body = ErrorBody),
        (status = 409, description = "A campaign of that name exists", body = ErrorBody),
        (status = 422, description = "Invalid settings, naming the field", body = ErrorBody),
    ))]
async fn create(
    _key: ApiKey,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<CampaignResponse>), ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.parse::<i64>().is_ok() {
        return Err(ApiError::bad_request(
            "field 'name' must be 1 to 200 characters and not a number (a number names a \
             campaign by id)",
        ));
    }
    checked(&body.settings)?;
    let now = state.engine.clock().now();
    match state
        .engine
        .store()
        .create_campaign(name, &body.settings, now)
        .await
    {
        Ok(c) => Ok((StatusCode::CREATED, Json(c.into()))),
        Err(StoreError::Conflict(_)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("a campaign named '{name}' exists"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Replaces a campaign's settings, with the same validation as its creation.
#[utoipa::path(put, operation_id = "campaign_settings", path = "/api/v1/campaigns/{campaign}/settings", tag = "campaigns",
    params(CampaignPath),
    request_body(content = Object, description = "The settings JSON",
        content_type = "application/json",
        example = json!({"caller_id": "+15005550006", "answer": {"kind": "flow_url", "url": "https://example.com/flow"}})),
    responses(
        (status = 200, description = "The campaign", body = CampaignResponse),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 422, description = "Invalid settings, naming the field", body = ErrorBody),
    ))]
async fn update_settings(
    _key: ApiKey,
    State(state): State<AppState>,
    Path(campaign): Path<String>,
    JsonBody(settings): JsonBody<CampaignSettings>,
) -> Result<Json<CampaignResponse>, ApiError> {
    let c = resolve_campaign(&state, &campaign).await?;
    checked(&settings)?;
    set_campaign(&state, c, Some(settings), None).await
}

/// Stops dialing the campaign's leads (they keep their schedule).
#[utoipa::path(post, operation_id = "campaign_pause", path = "/api/v1/campaigns/{campaign}/pause", tag = "campaigns",
    params(CampaignPath),
    responses(
        (status = 200, description = "The campaign", body = CampaignResponse),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
async fn pause(
    _key: ApiKey,
    State(state): State<AppState>,
    Path(campaign): Path<String>,
) -> Result<Json<CampaignResponse>, ApiError> {
    let c = resolve_campaign(&state, &campaign).await?;
    set_campaign(&state, c, None, Some(false)).await
}

/// Dials the campaign's leads again.
#[utoipa::path(post, operation_id = "campaign_resume", path = "/api/v1/campaigns/{campaign}/resume", tag = "campaigns",
    params(CampaignPath),
    responses(
        (status = 200, description = "The campaign", body = CampaignResponse),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
async fn resume(
    _key: ApiKey,
    State(state): State<AppState>,
    Path(campaign): Path<String>,
) -> Result<Json<CampaignResponse>, ApiError> {
    let c = resolve_campaign(&state, &campaign).await?;
    set_campaign(&state, c, None, Some(true)).await
}

/// Stores a campaign's new settings or state and drops the engine's cached copy.
pub(crate) async fn set_campaign(
    state: &AppState,
    c: Campaign,
    settings: Option<CampaignSettings>,
    active: Option<bool>,
) -> Result<Json<CampaignResponse>, ApiError> {
    let now = state.engine.clock().now();
    let settings = settings.unwrap_or(c.settings);
    let updated = state
        .engine
        .store()
        .update_campaign(c.id, &settings, active.unwrap_or(c.active), now)
        .await?;
    state.engine.forget_campaigns();
    Ok(Json(updated.into()))
}

/// Body of `POST /api/v1/campaigns/{campaign}/leads`: see the answer, `IntakeResponse`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeBody {
    /// 1 to 10,000 lead objects: lead fields (`phone` required) with string or number
    /// values.
    #[schema(value_type = Vec<Object>, min_items = 1, max_items = 10000)]
    pub leads: Vec<serde_json::Map<String, serde_json::Value>>,
}

impl JsonShape for IntakeBody {
    const EXAMPLE: &'static str =
        r#"{"leads": [{"phone": "+14155550123", "external_id": "crm-1", "first_name": "Ada"}]}"#;
}

/// The answer of `POST /api/v1/campaigns/{campaign}/leads`.
///
/// The body is `{"leads": [{…}, …]}`, 1 to 10,000 objects (`MAX_INTAKE_LEADS`; 400
/// otherwise), at most 8 MiB (`MAX_INTAKE_BODY_BYTES`; 413 beyond). Each object's keys are lead fields, named
/// as in a CSV list's header (`phone` (required), `phone_code`, `external_id`,
/// `first_name`, `last_name`, `city`, `state`, `postal_code`, `email`, `time_zone`,
/// `comments`, or their aliases such as `zip` and `timezone`), with string or number
/// values (`null`: absent). Each lead is read with the normalisation of `outdial import`,
/// deduplicated by external id and then by number (against the campaign and earlier leads
/// of the request), and placed by the import's rules (DNC lists, time zone, calling
/// windows, caps; a lead that may not be called is stored paused with the reason). A
/// repeated request changes nothing. A lead that cannot be read is reported in `errors` and
/// the others are taken.
///
/// 200 with this answer once every taken lead is committed. 503 when the store fails: the
/// leads of the batches committed before stay, and the same request again adds only the
/// rest.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IntakeResponse {
    /// The campaign's id.
    #[schema(value_type = i64)]
    pub campaign_id: CampaignId,
    /// Leads in the request.
    pub received: usize,
    /// Leads added.
    pub inserted: usize,
    /// Of those added, the ones stored paused (`status_reason` says why).
    pub paused: usize,
    /// Leads the campaign had already (nothing changed).
    pub duplicates: usize,
    /// Leads refused (see `errors`).
    pub rejected: usize,
    /// One entry per lead of the request, in order.
    pub leads: Vec<IntakeRow>,
    /// The refused leads: which field and why.
    pub errors: Vec<IntakeError>,
}

/// What became of one lead of an intake request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IntakeRow {
    /// The lead's position in the request's `leads` array, from 0.
    pub index: usize,
    /// `inserted`, `duplicate` or `rejected`.
    pub result: &'static str,
    /// The lead's id (the new lead, or the one it duplicates); absent when rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub lead_id: Option<LeadId>,
    /// For a duplicate: `external_id` or `phone`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<MatchedBySchema>)]
    pub matched_by: Option<MatchedBy>,
    /// For a new lead: `active` or `paused`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<LeadStatusSchema>)]
    pub status: Option<LeadStatus>,
    /// For a new active lead: when it is first due, UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// For a new paused lead: why (for example `dnc:internal`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
}

/// A refused lead of an intake request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IntakeError {
    /// The lead's position in the request's `leads` array, from 0.
    pub index: usize,
    /// The field at fault, as the request names it; absent when the lead as a whole is.
    pub field: Option<String>,
    /// The value at fault (cut to 80 characters).
    pub value: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl From<RowError> for IntakeError {
    fn from(e: RowError) -> Self {
        IntakeError {
            index: e.row as usize,
            field: e.field,
            value: e.value,
            reason: e.reason,
        }
    }
}

/// One lead object of the request read as a lead, by [`lead_from_fields`].
fn read_lead(
    index: usize,
    object: &serde_json::Map<String, serde_json::Value>,
    region: outdial_core::Region,
) -> Result<NewLead, RowError> {
    let row = index as u64;
    let mut fields: Vec<(Field, &str, String)> = Vec::with_capacity(object.len());
    for (key, value) in object {
        let Some(field) = Field::from_header(key) else {
            return Err(RowError::field(
                row,
                key.as_str(),
                None,
                "not a lead field (phone, phone_code, external_id, first_name, last_name, \
                 city, state, postal_code, email, time_zone, comments)",
            ));
        };
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(RowError::field(
                    row,
                    key.as_str(),
                    Some(&other.to_string()),
                    "must be a string or a number",
                ))
            }
        };
        fields.push((field, key.as_str(), text));
    }
    let borrowed: Vec<(Field, &str, &str)> = fields
        .iter()
        .map(|(f, name, value)| (*f, *name, value.as_str()))
        .collect();
    lead_from_fields(row, &borrowed, region)
}

/// Lead intake: see the answer, `IntakeResponse`.
#[utoipa::path(post, operation_id = "campaign_intake", path = "/api/v1/campaigns/{campaign}/leads", tag = "campaigns",
    params(CampaignPath),
    request_body = IntakeBody,
    responses(
        (status = 200, description = "Every taken lead is committed", body = IntakeResponse),
        (status = 400, description = "Not JSON of the body's shape, or not 1 to 10,000 leads",
            body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 413, description = "The body is over 8 MiB", body = ErrorBody),
        (status = 503, description = "Storage unavailable: the leads of the batches \
            committed before stay; send the same request again", body = ErrorBody),
    ))]
async fn take_leads(
    _key: ApiKey,
    State(state): State<AppState>,
    Path(campaign): Path<String>,
    req: Request,
) -> Result<Json<IntakeResponse>, axum::response::Response> {
    use axum::response::IntoResponse;
    let c = resolve_campaign(&state, &campaign)
        .await
        .map_err(IntoResponse::into_response)?;
    let body = read_body_up_to(req, &state, MAX_INTAKE_BODY_BYTES).await?;
    let body: IntakeBody = parse_json(&body).map_err(IntoResponse::into_response)?;
    let received = body.leads.len();
    if received == 0 || received > MAX_INTAKE_LEADS {
        return Err(ApiError::bad_request(format!(
            "field 'leads' holds {received} leads; send 1 to {MAX_INTAKE_LEADS} a request"
        ))
        .into_response());
    }
    let mut errors = Vec::new();
    let mut taken: Vec<(usize, NewLead)> = Vec::with_capacity(received);
    for (i, object) in body.leads.iter().enumerate() {
        match read_lead(i, object, state.default_region) {
            Ok(lead) => taken.push((i, lead)),
            Err(e) => errors.push(IntakeError::from(e)),
        }
    }
    drop(body);
    let leads: Vec<NewLead> = taken.iter().map(|(_, l)| l.clone()).collect();
    let now = state.engine.clock().now();
    let results = intake(
        state.engine.store().as_ref(),
        &c,
        &leads,
        &state.engine.config().state_rules,
        now,
    )
    .await
    .map_err(|e| intake_failed(e).into_response())?;

    let mut rows: Vec<IntakeRow> = errors
        .iter()
        .map(|e| IntakeRow {
            index: e.index,
            result: "rejected",
            lead_id: None,
            matched_by: None,
            status: None,
            next_attempt_at: None,
            status_reason: None,
        })
        .collect();
    let (mut inserted, mut paused, mut duplicates) = (0, 0, 0);
    for ((index, _), result) in taken.iter().zip(results) {
        rows.push(match result {
            IntakeResult::Inserted(lead) => {
                inserted += 1;
                if lead.status == LeadStatus::Paused {
                    paused += 1;
                }
                IntakeRow {
                    index: *index,
                    result: "inserted",
                    lead_id: Some(lead.id),
                    matched_by: None,
                    status: Some(lead.status),
                    next_attempt_at: lead.next_attempt_at,
                    status_reason: (lead.status == LeadStatus::Paused)
                        .then_some(lead.status_reason)
                        .flatten(),
                }
            }
            IntakeResult::Duplicate {
                lead_id,
                matched_by,
            } => {
                duplicates += 1;
                IntakeRow {
                    index: *index,
                    result: "duplicate",
                    lead_id: Some(lead_id),
                    matched_by: Some(matched_by),
                    status: None,
                    next_attempt_at: None,
                    status_reason: None,
                }
            }
        });
    }
    rows.sort_by_key(|r| r.index);
    Ok(Json(IntakeResponse {
        campaign_id: c.id,
        received,
        inserted,
        paused,
        duplicates,
        rejected: errors.len(),
        leads: rows,
        errors,
    }))
}

/// A store failure part-way through an intake: earlier batches may be committed.
fn intake_failed(e: StoreError) -> ApiError {
    match e {
        StoreError::Unavailable { message, .. } => {
            tracing::error!(error = %message, "storage unavailable during lead intake");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage unavailable: some leads of the request may have been saved; send \
                 the same request again once the store takes writes (leads already saved are \
                 skipped as duplicates)",
            )
        }
        other => other.into(),
    }
}
