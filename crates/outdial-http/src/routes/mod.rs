//! The routes, one module an area; [`crate::router`] merges them.
//! - [`webhooks`]: provider callbacks, one route a provider, each mounted from its adapter's path constant;
//! - [`health`]: `GET /healthz`;
//! - [`status`]: `GET /api/v1/status`;
//! - [`dialer`]: `POST /api/v1/dialer/{start,stop}`, `GET /api/v1/dialer/blocked`;
//! - [`leads`]: `GET /api/v1/leads/{id}` and `/explain`, `GET /api/v1/leads?phone=|external_id=` (search),
//!   `POST /api/v1/leads/{id}/pause`, `…/resume`, `…/remove`;
//! - [`campaigns`]: `GET`/`POST /api/v1/campaigns`, `GET /api/v1/campaigns/{campaign}`, `PUT …/settings`,
//!   `POST …/pause`, `…/resume`, and lead intake `POST …/leads`;
//! - [`dnc`]: `POST /api/v1/dnc`, `POST /api/v1/dnc/remove`, `GET /api/v1/dnc/check`;
//! - [`attempts`]: `POST /api/v1/attempts/{id}/disposition`;
//! - [`compliance`]: `GET /api/v1/compliance/check`;
//! - [`killswitch`]: `GET /api/v1/killswitch`, `POST …/trip`, `…/resume`;
//! - [`jobs`]: `GET /api/v1/jobs`, `POST /api/v1/jobs/{id}/requeue`;
//! - [`alerts`]: `GET /api/v1/alerts`;
//! - [`reports`]: `GET /api/v1/reports/{name}` (JSON or `format=csv`);
//! - [`metrics`]: `GET /metrics` (Prometheus).
//!
//! Every answer body is a type of these modules, built from the store's records field by
//! field (`routes/shapes_tests.rs` pins their JSON).
//!
//! The admin modules register their handlers through utoipa-axum's `routes!` only, each
//! handler with its `#[utoipa::path]`: [`admin`] builds the router and its OpenAPI
//! description ([`crate::openapi`]) from the same list.

use crate::{ApiError, AppState, MAX_REASON_CHARS};
use axum::Router;
use serde::Deserialize;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub mod alerts;
pub mod attempts;
pub mod campaigns;
pub mod compliance;
pub mod dialer;
pub mod dnc;
pub mod health;
pub mod jobs;
pub mod killswitch;
pub mod leads;
pub mod metrics;
pub mod reports;
pub mod status;
pub mod webhooks;

#[cfg(test)]
mod shapes_tests;

/// Every route.
pub(crate) fn all() -> Router<AppState> {
    let (admin, spec) = admin();
    Router::new()
        .merge(health::routes())
        .merge(webhooks::routes())
        .merge(admin)
        .merge(crate::openapi::route(spec))
        .merge(metrics::routes())
}

/// The admin API's routes and their OpenAPI description, built from the same `routes!`
/// lists (the shared responses added: [`crate::openapi::add_shared_responses`]).
pub(crate) fn admin() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut spec) = OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .merge(status::routes())
        .merge(dialer::routes())
        .merge(leads::routes())
        .merge(campaigns::routes())
        .merge(dnc::routes())
        .merge(compliance::routes())
        .merge(attempts::routes())
        .merge(killswitch::routes())
        .merge(jobs::routes())
        .merge(alerts::routes())
        .merge(reports::routes())
        .split_for_parts();
    crate::openapi::add_shared_responses(&mut spec);
    (router, spec)
}

/// The trimmed, non-empty reason of an operator's request, at most [`MAX_REASON_CHARS`]
/// (400 otherwise; `goes_into` says where the reason is kept, for the message).
pub(crate) fn required_reason(reason: Option<String>, goes_into: &str) -> Result<String, ApiError> {
    let reason = reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "field 'reason' is required: say why, it goes into {goes_into}"
            ))
        })?;
    bounded_reason(&reason)?;
    Ok(reason)
}

/// Refuses a reason over [`MAX_REASON_CHARS`] (400).
pub(crate) fn bounded_reason(reason: &str) -> Result<(), ApiError> {
    let chars = reason.chars().count();
    if chars > MAX_REASON_CHARS {
        return Err(ApiError::bad_request(format!(
            "field 'reason' has {chars} characters; at most {MAX_REASON_CHARS}"
        )));
    }
    Ok(())
}

/// Query of the job and alert lists: `?state=…&limit=N`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Jobs only: `pending`, `running`, `done` or `dead`.
    pub(crate) state: Option<String>,
    /// At most this many, newest first (default 50, clamped to 1 to 500).
    limit: Option<u32>,
}

impl ListQuery {
    /// `limit`: default 50, clamped to 1..=500.
    pub(crate) fn limit(&self) -> u32 {
        self.limit.unwrap_or(50).clamp(1, 500)
    }
}
