//! # outdial-http
//!
//! The axum router: thin handlers over the engine, and the server loop that runs it.
//! - `POST /webhooks/twilio/status?attempt={id}`: Twilio status callbacks. The
//!   `X-Twilio-Signature` header is checked against the configured public URL (never the
//!   `Host` header) before anything is parsed or stored: unsigned or forged → 403, over the
//!   size bounds → 413, malformed → 400; a valid callback is applied and answered 200 at
//!   once. The work done before authentication is bounded: see the `twilio` module.
//! - `/api/v1/…`: the admin API, behind `Authorization: Bearer <api key>` (401 otherwise);
//!   kill switches, jobs and alerts are described in the `safety` module.
//! - `GET /healthz`: liveness, no authentication.
//!
//! Every request body is at most [`guard::MAX_BODY_BYTES`] (64 KiB) and read within the body
//! read timeout; refused requests are counted ([`guard::Rejections`], shown in
//! `GET /api/v1/status` as `rejected_requests`) and their warning lines rate-limited.
//! [`server::serve`] adds header, idle and request timeouts, a connection limit and a bounded
//! graceful shutdown ([`HttpLimits`]).

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use outdial_core::{AttemptId, LeadId};
use outdial_engine::{Engine, EngineError, DIALER_REASON_SETTING};
use outdial_store::{Attempt, EventRecord, Lead, StatusCounts, StoreError};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub mod guard;
mod safety;
pub mod server;
mod twilio;

#[cfg(test)]
mod shapes_tests;

use guard::{LimitedBody, RejectionCounts, RejectionKind, Rejections};
pub use server::HttpLimits;

/// Longest `reason` accepted by `POST /api/v1/dialer/{start,stop}` and the kill-switch API,
/// in characters (400 beyond): it is stored, shown in every status answer and alert.
pub const MAX_REASON_CHARS: usize = 500;

/// Shared state of the router.
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Twilio auth token used to verify `X-Twilio-Signature`.
    pub twilio_auth_token: SecretString,
    /// Public base URL as Twilio reaches this server (no trailing slash); signatures are
    /// computed over it plus the request's path and query.
    pub public_url: String,
    /// Accepted admin API keys.
    pub api_keys: Arc<Vec<SecretString>>,
    /// Timeouts and limits (the router uses the body read and request timeouts).
    pub limits: HttpLimits,
    /// Counters and log throttles of refused requests.
    pub rejections: Arc<Rejections>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("public_url", &self.public_url)
            .field("limits", &self.limits)
            .field(
                "api_keys",
                &format_args!("[{} redacted]", self.api_keys.len()),
            )
            .finish_non_exhaustive()
    }
}

/// The router with every route; handlers that do not answer within
/// `state.limits.request_timeout` are answered 503.
pub fn router(state: AppState) -> Router {
    let request_timeout = tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::SERVICE_UNAVAILABLE,
        state.limits.request_timeout,
    );
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            outdial_providers::twilio::webhook::STATUS_CALLBACK_PATH,
            post(twilio::status_callback),
        )
        .route("/api/v1/status", get(status))
        .route("/api/v1/dialer/start", post(dialer_start))
        .route("/api/v1/dialer/stop", post(dialer_stop))
        .route("/api/v1/leads/{id}", get(lead_detail))
        .route("/api/v1/leads/{id}/explain", get(lead_explain))
        .route("/api/v1/compliance/check", get(compliance_check))
        .route(
            "/api/v1/attempts/{id}/disposition",
            post(attempt_disposition),
        )
        .route("/api/v1/killswitch", get(safety::killswitch_status))
        .route("/api/v1/killswitch/trip", post(safety::killswitch_trip))
        .route("/api/v1/killswitch/resume", post(safety::killswitch_resume))
        .route("/api/v1/jobs", get(safety::jobs_list))
        .route("/api/v1/jobs/{id}/requeue", post(safety::job_requeue))
        .route("/api/v1/alerts", get(safety::alerts_list))
        .layer(request_timeout)
        .with_state(state)
}

/// An API error: a status and a message safe to show; the cause is logged once, here.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Store(StoreError::NotFound(what)) => {
                ApiError::new(StatusCode::NOT_FOUND, format!("not found: {what}"))
            }
            EngineError::UnknownDisposition(label) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("unknown disposition '{label}'"),
            ),
            EngineError::Conflict(what) => ApiError::new(StatusCode::CONFLICT, what),
            // Nothing of the request was saved (a full disk, a lost database): say so, and
            // let the sender retry (Twilio, a CRM, an operator's script).
            EngineError::Store(StoreError::Unavailable(cause)) => {
                tracing::error!(error = %cause, "storage unavailable; the request was not saved");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage unavailable: nothing was saved; retry later",
                )
            }
            other => {
                tracing::error!(error = %other, "request failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        EngineError::Store(e).into()
    }
}

/// Extractor: the request carries `Authorization: Bearer <key>` with a configured key.
#[derive(Debug)]
pub struct ApiKey;

impl FromRequestParts<AppState> for ApiKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let given = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(given) = given else {
            state.rejections.record(
                RejectionKind::BadApiKey,
                "API request without a bearer key rejected",
                parts.uri.path(),
            );
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing bearer API key",
            ));
        };
        let ok = state.api_keys.iter().any(|k| {
            let k = k.expose_secret().as_bytes();
            k.len() == given.len() && subtle::ConstantTimeEq::ct_eq(k, given.as_bytes()).into()
        });
        if ok {
            Ok(ApiKey)
        } else {
            state.rejections.record(
                RejectionKind::BadApiKey,
                "API request with an unknown key rejected",
                parts.uri.path(),
            );
            Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown API key"))
        }
    }
}

/// Body of `GET /api/v1/status`.
#[derive(Debug, Serialize, Deserialize)]
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
    /// Every count.
    pub counts: serde_json::Value,
    /// Kill switches that are tripped (scope keys: `global`, `campaign:3`).
    pub kill_switches_tripped: Vec<String>,
    /// Durable jobs by state (`pending`, `running`, `done`, `dead`).
    pub jobs: std::collections::BTreeMap<String, u64>,
    /// Requests refused since this process started, by kind.
    #[serde(default)]
    pub rejected_requests: RejectionCounts,
}

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
    let counts: StatusCounts = state.engine.store().status_counts(now, midnight).await?;
    let running = state.engine.dialer_running().await?;
    Ok(Json(StatusResponse {
        dialer: if running { "running" } else { "stopped" }.into(),
        dialer_reason: state.engine.store().setting(DIALER_REASON_SETTING).await?,
        now,
        leads_due: counts.leads_due,
        attempts_in_flight: counts.attempts_in_flight,
        calls_today: counts.attempts_since,
        counts: serde_json::to_value(&counts).unwrap_or_default(),
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: Option<String>,
}

/// Refuses a reason over [`MAX_REASON_CHARS`] (400).
pub(crate) fn bounded_reason(reason: &str) -> Result<(), ApiError> {
    let chars = reason.chars().count();
    if chars > MAX_REASON_CHARS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("field 'reason' has {chars} characters; at most {MAX_REASON_CHARS}"),
        ));
    }
    Ok(())
}

async fn dialer_start(
    _key: ApiKey,
    State(state): State<AppState>,
    LimitedBody(body): LimitedBody,
) -> Result<Json<serde_json::Value>, ApiError> {
    set_dialer(&state, true, &body).await
}

async fn dialer_stop(
    _key: ApiKey,
    State(state): State<AppState>,
    LimitedBody(body): LimitedBody,
) -> Result<Json<serde_json::Value>, ApiError> {
    set_dialer(&state, false, &body).await
}

async fn set_dialer(
    state: &AppState,
    running: bool,
    body: &[u8],
) -> Result<Json<serde_json::Value>, ApiError> {
    let reason = if body.is_empty() {
        None
    } else {
        serde_json::from_slice::<ReasonBody>(body)
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("body must be JSON like {{\"reason\": \"…\"}}: {e}"),
                )
            })?
            .reason
    };
    if let Some(r) = &reason {
        bounded_reason(r)?;
    }
    let reason = reason.unwrap_or_else(|| {
        format!(
            "{} through the API",
            if running { "started" } else { "stopped" }
        )
    });
    state
        .engine
        .set_dialer_running(running, &reason, "api")
        .await?;
    Ok(Json(
        serde_json::json!({ "dialer": if running { "running" } else { "stopped" }, "reason": reason }),
    ))
}

/// Body of `GET /api/v1/leads/{id}`.
#[derive(Debug, Serialize)]
pub struct LeadDetail {
    /// The lead.
    pub lead: Lead,
    /// Its attempts, oldest first.
    pub attempts: Vec<Attempt>,
    /// Its event timeline, oldest first.
    pub events: Vec<EventRecord>,
}

async fn lead_detail(
    _key: ApiKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<LeadDetail>, ApiError> {
    let id: i64 = id.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("lead id must be a number, got '{id}'"),
        )
    })?;
    let store = state.engine.store();
    let lead = store
        .lead(LeadId(id))
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no lead {id}")))?;
    let attempts = store.lead_attempts(lead.id).await?;
    let events = store.lead_events(lead.id).await?;
    Ok(Json(LeadDetail {
        lead,
        attempts,
        events,
    }))
}

/// Query of `GET /api/v1/compliance/check`.
#[derive(Debug, Deserialize)]
pub struct CheckQuery {
    /// The number (any format the default region reads; E.164 preferred).
    pub phone: String,
    /// Two-letter state, if known.
    pub state: Option<String>,
    /// Explicit IANA zone.
    pub tz: Option<String>,
    /// Instant, RFC 3339; default now (clock time).
    pub at: Option<String>,
    /// Campaign name whose settings and lists apply.
    pub campaign: Option<String>,
}

async fn compliance_check(
    _key: ApiKey,
    State(state): State<AppState>,
    Query(q): Query<CheckQuery>,
) -> Result<Json<outdial_engine::explain::Verdict>, ApiError> {
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, m);
    let phone = outdial_core::E164::parse(&q.phone, outdial_core::Region::US)
        .map_err(|e| bad(format!("phone: {e}")))?;
    let tz =
        q.tz.as_deref()
            .map(|t| {
                t.parse::<chrono_tz::Tz>()
                    .map_err(|_| bad(format!("tz: '{t}' is not an IANA time zone")))
            })
            .transpose()?;
    let at = match q.at.as_deref() {
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map_err(|e| bad(format!("at: '{s}' is not RFC 3339: {e}")))?
            .with_timezone(&Utc),
        None => state.engine.clock().now(),
    };
    let campaign = match q.campaign.as_deref() {
        Some(name) => Some(
            state
                .engine
                .store()
                .campaign_by_name(name)
                .await?
                .ok_or_else(|| {
                    ApiError::new(StatusCode::NOT_FOUND, format!("no campaign named '{name}'"))
                })?,
        ),
        None => None,
    };
    let v = state
        .engine
        .compliance_check(
            &phone,
            q.state.as_deref(),
            tz,
            at,
            campaign.as_ref(),
            &outdial_engine::explain::default_check_settings(),
        )
        .await?;
    Ok(Json(v))
}

async fn lead_explain(
    _key: ApiKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<outdial_engine::explain::LeadExplanation>, ApiError> {
    let id: i64 = id.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("lead id must be a number, got '{id}'"),
        )
    })?;
    let lead = state
        .engine
        .store()
        .lead(LeadId(id))
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no lead {id}")))?;
    let now = state.engine.clock().now();
    Ok(Json(state.engine.explain_lead(lead, now).await?))
}

/// Body of `POST /api/v1/attempts/{id}/disposition`.
#[derive(Debug, Deserialize)]
pub struct DispositionBody {
    /// Disposition code or alias (`SALE`, `transfer`, `CALLBACK`, a Bland `disposition_tag`).
    pub disposition: String,
    /// Requested callback time, RFC 3339 (with `CALLBACK`).
    pub callback_at: Option<String>,
}

async fn attempt_disposition(
    _key: ApiKey,
    State(state): State<AppState>,
    Path(id): Path<String>,
    LimitedBody(body): LimitedBody,
) -> Result<Json<serde_json::Value>, ApiError> {
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, m);
    let id: i64 = id
        .parse()
        .map_err(|_| bad(format!("attempt id must be a number, got '{id}'")))?;
    let body: DispositionBody = serde_json::from_slice(&body)
        .map_err(|e| bad(format!("body must be JSON like {{\"disposition\": \"CALLBACK\", \"callback_at\": \"2026-01-06T15:00:00Z\"}}: {e}")))?;
    let callback_at = body
        .callback_at
        .as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|e| bad(format!("callback_at: '{s}' is not RFC 3339: {e}")))
        })
        .transpose()?;
    let outcome = state
        .engine
        .set_disposition(AttemptId(id), &body.disposition, callback_at, "api")
        .await?;
    let attempt = state.engine.store().attempt(AttemptId(id)).await?;
    let lead = match &attempt {
        Some(a) => state.engine.store().lead(a.lead_id).await?,
        None => None,
    };
    Ok(Json(
        serde_json::json!({ "outcome": outcome, "attempt": attempt, "lead": lead }),
    ))
}
