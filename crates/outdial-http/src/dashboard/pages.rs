//! The dashboard's other pages: login, "why is it not dialing" in full, campaigns, leads,
//! jobs and alerts, and their forms.

use super::overview::{bad_action, blocked_summary};
use super::session::{log_in, log_out, login_token, Session};
use super::{form, html_response, page, shell, when, Failed};
use crate::guard::LimitedBody;
use crate::routes::campaigns::resolve_campaign;
use crate::{ApiError, AppState};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use chrono_tz::Tz;
use maud::{html, Markup};
use outdial_core::LeadId;
use outdial_store::{JobId, JobState};
use serde::Deserialize;

/// Most leads listed by `/dashboard/leads?ids=…`.
const MAX_LISTED_LEADS: usize = 200;

/// `GET /dashboard/login`.
pub(crate) async fn login_form(State(state): State<AppState>, jar: CookieJar) -> Response {
    let (jar, token) = login_token(&state, jar);
    let body = html! {
        form method="post" action="/dashboard/login" #login {
            input type="hidden" name="token" value=(token);
            label { "Admin API key " input type="password" name="key" #key autocomplete="current-password" required; }
            " "
            button type="submit" #login-submit { "Log in" }
        }
        p { small { "The key is one of the config's admin API keys; the session ends with the browser or after 12 hours." } }
    };
    (
        jar,
        html_response(StatusCode::OK, shell("Log in", None, body, false)),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    token: String,
}

/// `POST /dashboard/login`: 303 to the overview with a session cookie; 401 for an unknown
/// key, 403 for a form that did not come from the login page.
pub(crate) async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    LimitedBody(body): LimitedBody,
) -> Result<Response, Failed> {
    let f: LoginForm = form(&body)?;
    let jar = log_in(&state, jar, &f.key, &f.token)?;
    Ok((jar, Redirect::to("/dashboard")).into_response())
}

/// `POST /dashboard/logout`.
pub(crate) async fn logout(
    session: Session,
    State(state): State<AppState>,
    jar: CookieJar,
    LimitedBody(body): LimitedBody,
) -> Result<Response, Failed> {
    let _: serde::de::IgnoredAny = session.checked_form(&body)?;
    Ok((log_out(&state, jar), Redirect::to("/dashboard/login")).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct BlockedQuery {
    campaign: Option<String>,
}

/// `GET /dashboard/blocked?campaign=…`: every reason, up to 100,000 leads looked at.
pub(crate) async fn blocked(
    session: Session,
    State(state): State<AppState>,
    Query(q): Query<BlockedQuery>,
) -> Result<Response, Failed> {
    let campaign = match q.campaign.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(resolve_campaign(&state, c).await?.id),
    };
    let now = state.engine.clock().now();
    let b = state.engine.not_dialing(now, campaign, 100_000).await?;
    let body = html! {
        p { "At " (when(now, None)) ". Each count links to its first leads." }
        (blocked_summary(&b))
        p { small { "Reasons: see GET /api/v1/dialer/blocked (the same figures as JSON)." } }
    };
    Ok(page("Why is it not dialing", Some(&session), body))
}

/// `GET /dashboard/campaigns`.
pub(crate) async fn campaigns(
    session: Session,
    State(state): State<AppState>,
) -> Result<Response, Failed> {
    let store = state.engine.store();
    let now = state.engine.clock().now();
    let all = store.campaigns().await?;
    let counts = store.status_counts(now, now).await?;
    let statuses: Vec<&str> = outdial_core::LeadStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    let body = html! {
        table #campaigns {
            tr { th { "id" } th { "name" } th { "state" } th { "provider" }
                 @for s in &statuses { th { (s) } }
                 th { "" } }
            @for c in &all {
                @let mine = counts.leads_by_campaign.get(&c.id.0);
                tr {
                    td { (c.id.0) }
                    td { (c.name) }
                    td { @if c.active { span.ok { "active" } } @else { span.bad { "paused" } } }
                    td { (c.settings.provider.as_str()) }
                    @for s in &statuses {
                        td { (mine.and_then(|m| m.get(*s)).copied().unwrap_or(0)) }
                    }
                    td {
                        form.inline method="post" action={ "/dashboard/campaigns/" (c.id.0) "/" (if c.active { "pause" } else { "resume" }) } {
                            input type="hidden" name="csrf" value=(session.csrf);
                            button type="submit" { @if c.active { "Stop" } @else { "Start" } }
                        }
                        " "
                        a href={ "/dashboard/blocked?campaign=" (c.id.0) } { "why not dialing" }
                    }
                }
            }
        }
        h2 { "Settings (read-only; change them with PUT /api/v1/campaigns/{id}/settings)" }
        @for c in &all {
            details {
                summary { (c.name) }
                pre { (serde_json::to_string_pretty(&c.settings).unwrap_or_default()) }
            }
        }
    };
    Ok(page("Campaigns", Some(&session), body))
}

/// `POST /dashboard/campaigns/{id}/pause|resume`. 303 back to the campaigns.
pub(crate) async fn campaign_action(
    session: Session,
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    LimitedBody(body): LimitedBody,
) -> Result<Response, Failed> {
    let _: serde::de::IgnoredAny = session.checked_form(&body)?;
    let active = match action.as_str() {
        "pause" => false,
        "resume" => true,
        other => return Err(bad_action(other, "pause or resume")),
    };
    let c = resolve_campaign(&state, &id).await?;
    let _updated = crate::routes::campaigns::set_campaign(&state, c, None, Some(active)).await?;
    Ok(Redirect::to("/dashboard/campaigns").into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct LeadsQuery {
    ids: Option<String>,
}

/// `GET /dashboard/leads?ids=1,2,…`: at most [`MAX_LISTED_LEADS`] leads.
pub(crate) async fn leads(
    session: Session,
    State(state): State<AppState>,
    Query(q): Query<LeadsQuery>,
) -> Result<Response, Failed> {
    let mut ids = Vec::new();
    for part in q.ids.as_deref().unwrap_or("").split(',').map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let id = part.parse::<i64>().map_err(|_| {
            ApiError::bad_request(format!("query 'ids': '{part}' is not a lead id"))
        })?;
        ids.push(LeadId(id));
        if ids.len() >= MAX_LISTED_LEADS {
            break;
        }
    }
    let store = state.engine.store();
    let mut found = Vec::new();
    for id in ids {
        if let Some(l) = store.lead(id).await? {
            found.push(l);
        }
    }
    let body = html! {
        table #leads {
            tr { th { "id" } th { "phone" } th { "name" } th { "status" } th { "reason" } th { "next attempt (UTC)" } th { "attempts" } }
            @for l in &found {
                tr {
                    td { a href={ "/dashboard/leads/" (l.id.0) } { (l.id.0) } }
                    td { (l.phone.as_str()) }
                    td { (l.contact.first_name.as_deref().unwrap_or("")) " " (l.contact.last_name.as_deref().unwrap_or("")) }
                    td { (l.status.as_str()) }
                    td { (l.status_reason.as_deref().unwrap_or("")) }
                    td { @if let Some(t) = l.next_attempt_at { (when(t, None)) } }
                    td { (l.attempt_count) }
                }
            }
        }
    };
    Ok(page("Leads", Some(&session), body))
}

/// `GET /dashboard/leads/{id}`: contact, timeline and `explain`.
pub(crate) async fn lead(
    session: Session,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, Failed> {
    let store = state.engine.store();
    let lead = store
        .lead(LeadId(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no lead {id}")))?;
    let events = store.lead_events(lead.id).await?;
    let now = state.engine.clock().now();
    let explained = state.engine.explain_lead(lead.clone(), now).await?;
    // Local times in the lead's first candidate zone (all of them are listed below).
    let zone: Option<Tz> = explained.now.zones.first().copied();
    let c = &lead.contact;
    let body = html! {
        h2 { "Contact" }
        table #contact {
            tr { th { "phone" } td { (lead.phone.as_str()) } }
            tr { th { "campaign" } td { (explained.campaign) " (" (lead.campaign_id.0) ")" } }
            tr { th { "name" } td { (c.first_name.as_deref().unwrap_or("")) " " (c.last_name.as_deref().unwrap_or("")) } }
            tr { th { "external id" } td { (c.external_id.as_deref().unwrap_or("")) } }
            tr { th { "email" } td { (c.email.as_deref().unwrap_or("")) } }
            tr { th { "place" } td { (c.city.as_deref().unwrap_or("")) " " (c.state.as_deref().unwrap_or("")) " " (c.postal_code.as_deref().unwrap_or("")) } }
            tr { th { "zones" } td { (explained.now.zones.iter().map(|z| z.name()).collect::<Vec<_>>().join(", ")) " (" (explained.now.zone_source) ")" } }
            tr { th { "status" } td #lead-status { (lead.status.as_str()) @if let Some(r) = &lead.status_reason { " — " (r) } } }
            tr { th { "disposition" } td { (lead.disposition.as_ref().map(|d| d.to_string()).unwrap_or_default()) } }
            tr { th { "attempts" } td { (lead.attempt_count) } }
        }
        h2 { "Explain" }
        p #explain-next { (explained.next) }
        @if explained.now.allowed { p.ok { "A call is allowed now." } }
        @else {
            ul #explain-reasons {
                @for r in &explained.now.reasons { li { code { (r.rule) } " " (r.message) " " small { "(" (r.source) ")" } } }
            }
        }
        table {
            tr { th { "cap" } th { "count" } th { "limit" } th { "source" } }
            @for cap in &explained.caps { tr { td { (cap.cap) } td { (cap.count) } td { (cap.limit) } td { (cap.source) } } }
        }
        h2 { "Attempts" }
        table #attempts {
            tr { th { "#" } th { "reserved" } th { "state" } th { "call status" } th { "disposition" } th { "call id" } }
            @for a in &explained.attempts {
                tr {
                    td { (a.number) }
                    td { (when(a.reserved_at, zone)) }
                    td { (a.state.as_str()) }
                    td { (a.call_status.map(|s| s.as_str()).unwrap_or("")) }
                    td { (a.disposition.as_ref().map(|d| d.to_string()).unwrap_or_default()) }
                    td { code { (a.call_id.as_ref().map(|c| c.as_str()).unwrap_or("")) } }
                }
            }
        }
        h2 { "Timeline" }
        table #timeline {
            tr { th { "when (UTC and the lead's local time)" } th { "event" } th { "source" } th { "detail" } }
            @for e in &events {
                tr { td { (when(e.at, zone)) } td { code { (e.kind) } } td { (e.source) } td { small { (e.detail) } } }
            }
        }
    };
    Ok(page(&format!("Lead {id}"), Some(&session), body))
}

/// `GET /dashboard/jobs`: dead letters first, then the latest jobs, and the latest alerts.
pub(crate) async fn jobs(
    session: Session,
    State(state): State<AppState>,
) -> Result<Response, Failed> {
    let store = state.engine.store();
    let counts = store.job_counts().await?;
    let dead = store.jobs(Some(JobState::Dead), 100).await?;
    let latest = store.jobs(None, 50).await?;
    let alerts = store.alerts(50).await?;
    let job_row = |j: &outdial_store::Job, requeue: bool| -> Markup {
        html! {
            tr {
                td { (j.id.0) } td { code { (j.kind) } } td { (j.state.as_str()) } td { (j.attempts) }
                td { (when(j.run_at, None)) }
                td { (j.error_code.as_deref().unwrap_or("")) " " small { (j.error_message.as_deref().unwrap_or("")) } }
                td {
                    @if requeue {
                        form.inline method="post" action={ "/dashboard/jobs/" (j.id.0) "/requeue" } {
                            input type="hidden" name="csrf" value=(session.csrf);
                            button type="submit" { "Requeue" }
                        }
                    }
                }
            }
        }
    };
    let head = html! { tr { th { "id" } th { "kind" } th { "state" } th { "runs" } th { "run at" } th { "error" } th { "" } } };
    let body = html! {
        p { @for (k, v) in &counts { (k) ": " b { (v) } " " } }
        h2 { "Dead letters" }
        @if dead.is_empty() { p { "None." } }
        @else { table #dead-jobs { (head) @for j in &dead { (job_row(j, true)) } } }
        h2 { "Latest jobs" }
        table #jobs { (head) @for j in &latest { (job_row(j, false)) } }
        h2 { "Alerts" }
        table #alerts {
            tr { th { "raised" } th { "kind" } th { "scope" } th { "subject" } th { "body" } }
            @for a in &alerts {
                tr { td { (when(a.raised_at, None)) } td { code { (a.kind) } } td { (a.scope) } td { (a.subject) } td { small { (a.body) } } }
            }
        }
    };
    Ok(page("Jobs & alerts", Some(&session), body))
}

/// `POST /dashboard/jobs/{id}/requeue`. 303 back to the jobs.
pub(crate) async fn requeue(
    session: Session,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    LimitedBody(body): LimitedBody,
) -> Result<Response, Failed> {
    let _: serde::de::IgnoredAny = session.checked_form(&body)?;
    crate::routes::jobs::requeue_dead(&state, JobId(id)).await?;
    Ok(Redirect::to("/dashboard/jobs").into_response())
}
