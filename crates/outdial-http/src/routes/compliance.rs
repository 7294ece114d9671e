//! `GET /api/v1/compliance/check?phone=…&state=&tz=&at=&campaign=`: whether a number may be
//! called at an instant, and why ([`outdial_engine::explain::Verdict`]). 400 for a bad
//! phone, zone or instant; 404 for an unknown campaign.

use crate::extract::{ApiKey, ApiQuery};
use crate::openapi::ErrorBody;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The compliance route.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(compliance_check))
}

/// Query of `GET /api/v1/compliance/check`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery {
    /// The number (any format the default region reads; E.164 preferred; `+` as `%2B`).
    #[param(example = "+12125550101")]
    pub phone: String,
    /// Two-letter state, if known.
    pub state: Option<String>,
    /// Explicit IANA zone.
    pub tz: Option<String>,
    /// Instant, RFC 3339; default now (clock time).
    #[param(format = DateTime)]
    pub at: Option<String>,
    /// Campaign name whose settings and lists apply.
    pub campaign: Option<String>,
}

/// Whether a number may be called at an instant, and why.
#[utoipa::path(get, path = "/api/v1/compliance/check", tag = "compliance", params(CheckQuery),
    responses(
        (status = 200, description = "The verdict", body = Object,
            content_type = "application/json"),
        (status = 400, description = "A malformed query, or a bad phone, zone or instant",
            body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
async fn compliance_check(
    _key: ApiKey,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CheckQuery>,
) -> Result<Json<outdial_engine::explain::Verdict>, ApiError> {
    let bad = ApiError::bad_request;
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
                .ok_or_else(|| ApiError::not_found(format!("no campaign named '{name}'")))?,
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
