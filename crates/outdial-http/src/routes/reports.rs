//! `GET /api/v1/reports/{name}?from=…&to=…&campaign=…&tz=…&format=json|csv`: a report from
//! the attempt log (`outdial_engine::reports`; `name` is `outcomes`, `kpis`, `hourly`,
//! `daily`, `best-time`, `funnel` or `compliance`).
//!
//! `from` (required) and `to` (default: now) are RFC 3339 instants or dates (local midnight
//! in the report's zone); the range is half-open. `campaign` is an id or name (default: every
//! campaign); `tz` is `campaign` (default), `lead`, `UTC` or an IANA zone. `format=json`
//! (default) answers the report's JSON with its filters and formulas; `format=csv` answers
//! RFC 4180 CSV (`text/csv`, as an attachment `NAME.csv`) with the columns documented on
//! `outdial_engine::reports::Report::table`.
//!
//! Errors: 400 naming the query field (unknown report, bad bound, empty range, unknown zone
//! or format), 404 for an unknown campaign, 422 for a range with more attempts than
//! `MAX_REPORT_ATTEMPTS`, 503 when the store fails.

use crate::extract::{ApiKey, ApiQuery};
use crate::openapi::{ErrorBody, ReportNameSchema};
use crate::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use outdial_core::report::{ReportQuery, ReportZone};
use outdial_engine::reports::{
    range_bound, run_report, zone_of_dates, Report, ReportError, ReportName,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The report route.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(report))
}

/// Query of `GET /api/v1/reports/{name}`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Start, inclusive: RFC 3339 or a date (required: 400 without it).
    #[param(required = true, example = "2026-01-01")]
    pub from: Option<String>,
    /// End, exclusive: RFC 3339 or a date (default: now).
    pub to: Option<String>,
    /// A campaign's id or name.
    pub campaign: Option<String>,
    /// `campaign`, `lead`, `UTC` or an IANA zone.
    pub tz: Option<String>,
    /// `json` or `csv`.
    pub format: Option<String>,
}

/// A report from the attempt log: JSON with its filters and formulas, or RFC 4180 CSV.
#[utoipa::path(get, path = "/api/v1/reports/{name}", tag = "reports",
    params(
        ("name" = inline(ReportNameSchema), Path, description = "The report"),
        ReportParams,
    ),
    responses(
        (status = 200, description = "The report: JSON, or CSV (as an attachment) with \
            `format=csv`",
            content(
                (Object = "application/json"),
                (String = "text/csv"),
            )),
        (status = 400, description = "A bad query, naming the field", body = ErrorBody),
        (status = 404, description = "No such report or campaign", body = ErrorBody),
        (status = 422, description = "More attempts in the range than a report reads",
            body = ErrorBody),
    ))]
async fn report(
    _key: ApiKey,
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let csv = match p.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "query 'format' ('{other}') must be json or csv"
            )))
        }
    };
    let report = build_report(&state, &name, &p).await?;
    if csv {
        return Ok(csv_answer(&report));
    }
    Ok(Json(report.to_json()).into_response())
}

/// Runs report `name` with the query `p` (its `format` is not read): the API's and the
/// dashboard's report. Errors as in the module docs.
pub(crate) async fn build_report(
    state: &AppState,
    name: &str,
    p: &ReportParams,
) -> Result<Report, ApiError> {
    let name = ReportName::parse(name).map_err(ApiError::not_found)?;
    let zone = ReportZone::parse(p.tz.as_deref().unwrap_or("campaign"))
        .map_err(|e| ApiError::bad_request(format!("query 'tz': {e}")))?;
    let campaign = match &p.campaign {
        Some(c) => Some(crate::routes::campaigns::resolve_campaign(state, c).await?),
        None => None,
    };
    let tz = zone_of_dates(zone, campaign.as_ref().map(|c| &c.settings));
    let now = state.engine.clock().now();
    let from = p
        .from
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("query 'from' is required"))
        .and_then(|f| {
            range_bound(f, tz).map_err(|e| ApiError::bad_request(format!("query 'from': {e}")))
        })?;
    let to = match p.to.as_deref() {
        Some(t) => {
            range_bound(t, tz).map_err(|e| ApiError::bad_request(format!("query 'to': {e}")))?
        }
        None => now,
    };
    let query = ReportQuery {
        from,
        to,
        campaign: campaign.map(|c| c.id),
        zone,
    };
    match run_report(state.engine.store().as_ref(), name, &query, now).await {
        Ok(r) => Ok(r),
        Err(ReportError::Store(e)) => Err(e.into()),
        Err(e @ ReportError::EmptyRange { .. }) => Err(ApiError::bad_request(e.to_string())),
        Err(e @ ReportError::TooLarge) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            e.to_string(),
        )),
    }
}

/// The report as RFC 4180 CSV, an attachment `NAME.csv`.
pub(crate) fn csv_answer(report: &Report) -> Response {
    let body = report.table().to_csv();
    let disposition = format!("attachment; filename=\"{}.csv\"", report.name());
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}
