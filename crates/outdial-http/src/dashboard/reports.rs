//! `GET /dashboard/reports?name=…&from=…&to=…&campaign=…&tz=…`: a report as the table
//! its CSV is written from, with its filters and formulas, the best-time heat map and the
//! funnel drawn; `GET /dashboard/reports/{name}.csv?…` downloads the same CSV as
//! `GET /api/v1/reports/{name}?format=csv` (one code path: `routes::reports`).
//! The query fields are the API's (`routes::reports::ReportParams`); without `from` the
//! form opens on the last 7 days.

use super::session::Session;
use super::{page as render_page, Failed};
use crate::routes::reports::{build_report, csv_answer, ReportParams};
use crate::{ApiError, AppState};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::Duration;
use maud::html;
use outdial_engine::reports::{Report, ReportName};
use serde::{Deserialize, Serialize};

/// The page's query.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct PageQuery {
    #[serde(default, skip_serializing)]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    campaign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tz: Option<String>,
}

impl PageQuery {
    /// The API's query of the same report; empty fields count as absent.
    fn params(&self) -> ReportParams {
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        ReportParams {
            from: given(&self.from),
            to: given(&self.to),
            campaign: given(&self.campaign),
            tz: given(&self.tz),
            format: None,
        }
    }
}

/// `GET /dashboard/reports`.
pub(crate) async fn page(
    session: Session,
    State(state): State<AppState>,
    Query(mut q): Query<PageQuery>,
) -> Result<Response, Failed> {
    let today = state.engine.clock().now().date_naive();
    if q.from.as_deref().is_none_or(|f| f.trim().is_empty()) {
        q.from = Some((today - Duration::days(7)).to_string());
    }
    let name = q.name.clone().unwrap_or_else(|| "outcomes".into());
    let report = build_report(&state, &name, &q.params()).await?;
    let table = report.table();
    let link = serde_urlencoded::to_string(&q).unwrap_or_default();
    let body = html! {
        form method="get" action="/dashboard/reports" #report-form {
            label { "Report " select name="name" {
                @for n in ReportName::ALL { option value=(n.as_str()) selected[n.as_str() == name] { (n.as_str()) } }
            } }
            " "
            label { "From " input type="text" name="from" value=(q.from.as_deref().unwrap_or("")) size="24"; }
            " "
            label { "To " input type="text" name="to" value=(q.to.as_deref().unwrap_or("")) size="24" placeholder="now"; }
            " "
            label { "Campaign " input type="text" name="campaign" value=(q.campaign.as_deref().unwrap_or("")) size="10" placeholder="every"; }
            " "
            label { "Zone " input type="text" name="tz" value=(q.tz.as_deref().unwrap_or("")) size="14" placeholder="campaign"; }
            " "
            button type="submit" { "Show" }
        }
        p { a #csv-link href={ "/dashboard/reports/" (table.name) ".csv?" (link) } download { "Download CSV" } }
        h2 { (table.name) }
        ul #report-filters { @for f in &table.filters { li { (f) } } }
        @match &report {
            Report::BestTime(b) => { (super::svg::heat_map(b)) }
            Report::Funnel(f) => { (super::svg::funnel(f)) }
            _ => {}
        }
        table #report {
            tr { @for c in &table.columns { th { (c) } } }
            @for row in &table.rows { tr { @for cell in row { td { (cell) } } } }
        }
        h3 { "Formulas" }
        ul #report-formulas { @for f in &table.formulas { li { (f) } } }
    };
    Ok(render_page("Reports", Some(&session), body))
}

/// `GET /dashboard/reports/{name}.csv?…`.
pub(crate) async fn csv(
    _session: Session,
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, Failed> {
    let name = file
        .strip_suffix(".csv")
        .ok_or_else(|| ApiError::not_found(format!("no report file '{file}'")))?;
    let report = build_report(&state, name, &q.params()).await?;
    Ok(csv_answer(&report))
}
