//! `GET /api/v1/leads/{id}` (the lead, its attempts and its event timeline: [`LeadDetail`]),
//! `GET /api/v1/leads/{id}/explain` (why it is or is not due; 404 for an unknown lead) and
//! `GET /api/v1/leads?phone=…` or `?external_id=…&campaign=…` (search: [`LeadSearch`]).
//!
//! The answer types ([`LeadResponse`], [`AttemptResponse`], [`EventResponse`]) are the
//! API's own, built from the store's records field by field: a column renamed in the store
//! changes a `From` impl here, never the JSON.

use crate::extract::{ApiKey, ApiQuery, JsonBody, JsonShape, PathId};
use crate::openapi::{
    AnsweredBySchema, AttemptStateSchema, CallStatusSchema, ErrorBody, LeadContactSchema,
    LeadStatusSchema,
};
use crate::routes::required_reason;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use outdial_core::{
    AnsweredBy, AttemptId, AttemptState, CallStatus, CampaignId, Disposition, LeadContact, LeadId,
    LeadStatus, ProviderCallId, E164,
};
use outdial_store::{Attempt, EventRecord, Lead, OperatorLeadChange};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The lead routes.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(lead_detail))
        .routes(routes!(lead_explain))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(remove))
}

/// A lead as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Lead)]
pub struct LeadResponse {
    /// Id.
    #[schema(value_type = i64)]
    pub id: LeadId,
    /// Campaign.
    #[schema(value_type = i64)]
    pub campaign_id: CampaignId,
    /// Number to call, E.164.
    #[schema(value_type = String, example = "+14155550123")]
    pub phone: E164,
    /// Contact data (absent fields left out).
    #[schema(value_type = LeadContactSchema)]
    pub contact: LeadContact,
    /// Lifecycle state: `active`, `dialing`, `done`, `paused`.
    #[schema(value_type = LeadStatusSchema)]
    pub status: LeadStatus,
    /// When an `active` lead is next due, UTC.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the lead is `done` or `paused`, or why it was last rescheduled.
    pub status_reason: Option<String>,
    /// Disposition of the last concluded attempt.
    #[schema(value_type = Option<String>)]
    pub disposition: Option<Disposition>,
    /// Attempts reserved so far.
    pub attempt_count: u32,
    /// Insert time, UTC.
    pub created_at: DateTime<Utc>,
    /// Last change, UTC.
    pub updated_at: DateTime<Utc>,
}

impl From<Lead> for LeadResponse {
    fn from(l: Lead) -> Self {
        LeadResponse {
            id: l.id,
            campaign_id: l.campaign_id,
            phone: l.phone,
            contact: l.contact,
            status: l.status,
            next_attempt_at: l.next_attempt_at,
            status_reason: l.status_reason,
            disposition: l.disposition,
            attempt_count: l.attempt_count,
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

/// An attempt (one dial of one lead) as the API shows it. Times are UTC.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Attempt)]
pub struct AttemptResponse {
    /// Id.
    #[schema(value_type = i64)]
    pub id: AttemptId,
    /// Lead.
    #[schema(value_type = i64)]
    pub lead_id: LeadId,
    /// Campaign.
    #[schema(value_type = i64)]
    pub campaign_id: CampaignId,
    /// Number dialed, E.164.
    #[schema(value_type = String)]
    pub phone: E164,
    /// 1-based attempt number of the lead.
    pub number: u32,
    /// Lifecycle state (`reserved`, `placed`, …, `not-placed`).
    #[schema(value_type = AttemptStateSchema)]
    pub state: AttemptState,
    /// Provider call id, once known.
    #[schema(value_type = Option<String>)]
    pub call_id: Option<ProviderCallId>,
    /// Last applied provider call status.
    #[schema(value_type = Option<CallStatusSchema>)]
    pub call_status: Option<CallStatus>,
    /// Highest provider sequence number seen while in flight (informational).
    pub last_sequence: Option<u32>,
    /// Reservation time.
    pub reserved_at: DateTime<Utc>,
    /// When the provider accepted the call.
    pub placed_at: Option<DateTime<Utc>>,
    /// When the call was answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// When the call or attempt ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Call length, seconds.
    pub duration_s: Option<u32>,
    /// Answering-machine detection result.
    #[schema(value_type = Option<AnsweredBySchema>)]
    pub answered_by: Option<AnsweredBy>,
    /// SIP response code of the final event.
    pub sip_response_code: Option<u16>,
    /// Business outcome, once concluded.
    #[schema(value_type = Option<String>)]
    pub disposition: Option<Disposition>,
    /// Provider error code or transport error class.
    pub error_code: Option<String>,
    /// Human-readable error.
    pub error_message: Option<String>,
    /// When the redial policy was applied after this attempt.
    pub concluded_at: Option<DateTime<Utc>>,
    /// When the reconciler last asked the provider about it.
    pub reconciled_at: Option<DateTime<Utc>>,
    /// A disposition reported before conclusion (used instead of the automatic one).
    #[schema(value_type = Option<String>)]
    pub requested_disposition: Option<Disposition>,
    /// The callback time requested with it.
    pub callback_at: Option<DateTime<Utc>>,
}

impl From<Attempt> for AttemptResponse {
    fn from(a: Attempt) -> Self {
        AttemptResponse {
            id: a.id,
            lead_id: a.lead_id,
            campaign_id: a.campaign_id,
            phone: a.phone,
            number: a.number,
            state: a.state,
            call_id: a.call_id,
            call_status: a.call_status,
            last_sequence: a.last_sequence,
            reserved_at: a.reserved_at,
            placed_at: a.placed_at,
            answered_at: a.answered_at,
            ended_at: a.ended_at,
            duration_s: a.duration_s,
            answered_by: a.answered_by,
            sip_response_code: a.sip_response_code,
            disposition: a.disposition,
            error_code: a.error_code,
            error_message: a.error_message,
            concluded_at: a.concluded_at,
            reconciled_at: a.reconciled_at,
            requested_disposition: a.requested_disposition,
            callback_at: a.callback_at,
        }
    }
}

/// An entry of a lead's event timeline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Event)]
pub struct EventResponse {
    /// Id (increasing).
    pub id: i64,
    /// When it was recorded, UTC.
    pub at: DateTime<Utc>,
    /// Lead concerned.
    #[schema(value_type = Option<i64>)]
    pub lead_id: Option<LeadId>,
    /// Attempt concerned.
    #[schema(value_type = Option<i64>)]
    pub attempt_id: Option<AttemptId>,
    /// What happened: `attempt.reserved`, `webhook`, `lead.rescheduled`, ….
    pub kind: String,
    /// Who caused it: `scheduler`, a provider's webhook source, `reconciler`, `operator`, ….
    pub source: String,
    /// Details (JSON or the raw payload), as text.
    pub detail: String,
}

impl From<EventRecord> for EventResponse {
    fn from(e: EventRecord) -> Self {
        EventResponse {
            id: e.id,
            at: e.at,
            lead_id: e.lead_id,
            attempt_id: e.attempt_id,
            kind: e.kind,
            source: e.source,
            detail: e.detail,
        }
    }
}

/// Body of `GET /api/v1/leads/{id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LeadDetail {
    /// The lead.
    pub lead: LeadResponse,
    /// Its attempts, oldest first.
    pub attempts: Vec<AttemptResponse>,
    /// Its event timeline, oldest first.
    pub events: Vec<EventResponse>,
}

/// The lead `id`, or 404 `no lead {id}`.
async fn find_lead(state: &AppState, id: LeadId) -> Result<Lead, ApiError> {
    state
        .engine
        .store()
        .lead(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no lead {}", id.0)))
}

/// The lead, its attempts and its event timeline.
#[utoipa::path(get, operation_id = "lead_get", path = "/api/v1/leads/{id}", tag = "leads", params(LeadPath),
    responses(
        (status = 200, description = "The lead", body = LeadDetail),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 404, description = "No such lead", body = ErrorBody),
    ))]
async fn lead_detail(
    _key: ApiKey,
    State(state): State<AppState>,
    PathId(id): PathId<LeadId>,
) -> Result<Json<LeadDetail>, ApiError> {
    let lead = find_lead(&state, id).await?;
    let store = state.engine.store();
    let attempts = store.lead_attempts(lead.id).await?;
    let events = store.lead_events(lead.id).await?;
    Ok(Json(LeadDetail {
        lead: lead.into(),
        attempts: attempts.into_iter().map(Into::into).collect(),
        events: events.into_iter().map(Into::into).collect(),
    }))
}

/// Why the lead is or is not due.
#[utoipa::path(get, operation_id = "lead_explain", path = "/api/v1/leads/{id}/explain", tag = "leads", params(LeadPath),
    responses(
        (status = 200, description = "The explanation", body = Object,
            content_type = "application/json"),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 404, description = "No such lead", body = ErrorBody),
    ))]
async fn lead_explain(
    _key: ApiKey,
    State(state): State<AppState>,
    PathId(id): PathId<LeadId>,
) -> Result<Json<outdial_engine::explain::LeadExplanation>, ApiError> {
    let lead = find_lead(&state, id).await?;
    let now = state.engine.clock().now();
    Ok(Json(state.engine.explain_lead(lead, now).await?))
}

/// Query of `GET /api/v1/leads`: exactly one of `phone` (any form `outdial import` reads,
/// without a country code read in the configured default region) and `external_id`;
/// `campaign` (an id or name) narrows a phone search and is required with `external_id`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LeadSearch {
    /// The number (write `+` as `%2B`).
    #[param(example = "+12125550101")]
    pub phone: Option<String>,
    /// The outside id (a CRM's).
    pub external_id: Option<String>,
    /// The campaign, by id or name.
    pub campaign: Option<String>,
}

/// The leads found, by id; 400 for a query without exactly one of `phone` and
/// `external_id`, an invalid number, or `external_id` without `campaign`; 404 for an
/// unknown campaign.
#[utoipa::path(get, operation_id = "lead_search", path = "/api/v1/leads", tag = "leads", params(LeadSearch),
    responses(
        (status = 200, description = "The leads found, by id", body = Vec<LeadResponse>),
        (status = 400, description = "Not exactly one of `phone` and `external_id`, an \
            invalid number, or `external_id` without `campaign`", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
async fn search(
    _key: ApiKey,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<LeadSearch>,
) -> Result<Json<Vec<LeadResponse>>, ApiError> {
    let campaign = match &q.campaign {
        Some(c) => Some(crate::routes::campaigns::resolve_campaign(&state, c).await?),
        None => None,
    };
    let store = state.engine.store();
    let found = match (&q.phone, &q.external_id) {
        (Some(phone), None) => {
            let e164 = E164::parse(phone, state.default_region).map_err(|e| {
                ApiError::bad_request(format!("query 'phone' ('{phone}') is not a number: {e}"))
            })?;
            store
                .leads_by_phone(&e164)
                .await?
                .into_iter()
                .filter(|l| campaign.as_ref().is_none_or(|c| c.id == l.campaign_id))
                .collect()
        }
        (None, Some(external_id)) => {
            let c = campaign.ok_or_else(|| {
                ApiError::bad_request("query 'external_id' needs 'campaign' (an id or name)")
            })?;
            store.leads_by_external_id(c.id, external_id).await?
        }
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of the queries 'phone' and 'external_id'",
            ))
        }
    };
    Ok(Json(found.into_iter().map(Into::into).collect()))
}

/// Body of `POST /api/v1/leads/{id}/pause`, `…/resume` and `…/remove`: `{"reason": "…"}`
/// (required, at most 500 characters; kept as the lead's `status_reason` and in its
/// timeline as an `operator` event).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadChangeBody {
    /// Why (required: 400 without it).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 500)]
    pub reason: Option<String>,
}

/// The answers of `POST /api/v1/leads/{id}/pause`, `…/resume` and `…/remove`.
#[derive(Debug, utoipa::IntoResponses)]
// A description only, never built: the handlers answer `Json` or `ApiError`.
#[allow(dead_code, clippy::large_enum_variant)]
pub enum LeadChangeAnswers {
    /// The lead
    #[response(status = 200)]
    Changed(LeadResponse),
    /// The id is not a number, or no reason or one over 500 characters
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No such lead
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The lead's status does not allow it
    #[response(status = 409)]
    Conflict(ErrorBody),
}

/// The path of the lead routes.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by `PathId`; here for the description
pub(crate) struct LeadPath {
    /// The lead's id.
    #[param(example = 1)]
    id: i64,
}

impl JsonShape for LeadChangeBody {
    const EXAMPLE: &'static str = r#"{"reason": "asked to be called next month"}"#;
}

/// An operator's change of a lead: pause (`active` → `paused`), resume (`paused` →
/// `active`, due now; the dialer's rules still decide when it is called) or remove (`active`
/// or `paused` → `done`, its history kept). Answers the lead ([`LeadResponse`]); 404 for an
/// unknown lead; 409 when the lead's status does not allow the change (a `dialing` lead has
/// a call in flight: retry once it ends).
async fn change(
    state: &AppState,
    id: LeadId,
    change: OperatorLeadChange,
    body: LeadChangeBody,
) -> Result<Json<LeadResponse>, ApiError> {
    let reason = required_reason(body.reason, "the lead's timeline")?;
    let lead = find_lead(state, id).await?;
    let now = state.engine.clock().now();
    let stored = format!("operator: {reason}");
    let store = state.engine.store();
    if !store
        .change_lead_by_operator(id, change, &stored, now)
        .await?
    {
        let current = store.lead(id).await?.unwrap_or(lead);
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "lead {} is {}: {} applies to a lead that is {}",
                id.0,
                current.status.as_str(),
                match change {
                    OperatorLeadChange::Pause => "pause",
                    OperatorLeadChange::Resume => "resume",
                    OperatorLeadChange::Remove => "remove",
                },
                change.from_statuses().join(" or ")
            ),
        ));
    }
    let lead = find_lead(state, id).await?;
    Ok(Json(lead.into()))
}

/// Pauses an `active` lead.
#[utoipa::path(post, operation_id = "lead_pause", path = "/api/v1/leads/{id}/pause", tag = "leads", params(LeadPath),
    request_body = LeadChangeBody, responses(LeadChangeAnswers))]
async fn pause(
    _key: ApiKey,
    State(state): State<AppState>,
    PathId(id): PathId<LeadId>,
    JsonBody(body): JsonBody<LeadChangeBody>,
) -> Result<Json<LeadResponse>, ApiError> {
    change(&state, id, OperatorLeadChange::Pause, body).await
}

/// Resumes a `paused` lead (due now).
#[utoipa::path(post, operation_id = "lead_resume", path = "/api/v1/leads/{id}/resume", tag = "leads", params(LeadPath),
    request_body = LeadChangeBody, responses(LeadChangeAnswers))]
async fn resume(
    _key: ApiKey,
    State(state): State<AppState>,
    PathId(id): PathId<LeadId>,
    JsonBody(body): JsonBody<LeadChangeBody>,
) -> Result<Json<LeadResponse>, ApiError> {
    change(&state, id, OperatorLeadChange::Resume, body).await
}

/// Removes an `active` or `paused` lead (`done`, its history kept).
#[utoipa::path(post, operation_id = "lead_remove", path = "/api/v1/leads/{id}/remove", tag = "leads", params(LeadPath),
    request_body = LeadChangeBody, responses(LeadChangeAnswers))]
async fn remove(
    _key: ApiKey,
    State(state): State<AppState>,
    PathId(id): PathId<LeadId>,
    JsonBody(body): JsonBody<LeadChangeBody>,
) -> Result<Json<LeadResponse>, ApiError> {
    change(&state, id, OperatorLeadChange::Remove, body).await
}
