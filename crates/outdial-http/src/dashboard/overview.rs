//! The overview (`GET /dashboard`), its live stream (`GET /dashboard/live`) and its forms
//! (`POST /dashboard/killswitch`, `POST /dashboard/dialer`).
//!
//! The live part ([`live_fragment`]) is rendered on the server from the store and the
//! engine — the same reads as `GET /api/v1/status`, `GET /api/v1/dialer/blocked` and
//! `GET /api/v1/alerts` — and pushed as the SSE event `overview` every [`LIVE_EVERY`];
//! htmx swaps it into the page.

use super::session::Session;
use super::{html_response, shell, svg, when, Failed};
use crate::guard::LimitedBody;
use crate::routes::required_reason;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use maud::{html, Markup};
use outdial_core::AttemptId;
use outdial_core::ProviderKind;
use outdial_engine::metrics::{DialLabels, DialResult};
use outdial_engine::DIALER_REASON_SETTING;
use outdial_store::KillScope;
use serde::Deserialize;
use std::convert::Infallible;

/// How often the live part is pushed: every 2 s (the industry's live screen polls every
/// 4 s: `reference/operations.md` §1.1).
pub const LIVE_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Leads "why is it not dialing" looks at on the overview (the full page looks at more).
const BLOCKED_SCAN: u32 = 10_000;

/// Most attempts read for the calls-per-minute chart (beyond it the chart says so).
const PER_MINUTE_READ: usize = 20_000;

/// `GET /dashboard`.
pub(crate) async fn page(
    session: Session,
    State(state): State<AppState>,
) -> Result<Response, Failed> {
    let live = live_fragment(&state).await?;
    let campaigns = state.engine.store().campaigns().await?;
    let body = html! {
        div hx-ext="sse" sse-connect="/dashboard/live" {
            div #live sse-swap="overview" { (live) }
        }
        h2 { "Kill switch" }
        form method="post" action="/dashboard/killswitch" #killswitch-form {
            input type="hidden" name="csrf" value=(session.csrf);
            label { "Scope " select name="campaign" #killswitch-scope {
                option value="" { "every campaign (global)" }
                @for c in &campaigns { option value=(c.id.0) { "campaign " (c.name) } }
            } }
            " "
            label { "Reason (required) " input type="text" name="reason" #killswitch-reason required size="40"; }
            " "
            button type="submit" name="action" value="trip" #trip { "Trip" }
            " "
            button type="submit" name="action" value="resume" #resume { "Resume" }
        }
        h2 { "Dialer" }
        form method="post" action="/dashboard/dialer" {
            input type="hidden" name="csrf" value=(session.csrf);
            label { "Reason " input type="text" name="reason" size="40"; }
            " "
            button type="submit" name="action" value="start" { "Start" }
            " "
            button type="submit" name="action" value="stop" { "Stop" }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        shell("Overview", Some(&session), body, true),
    ))
}

/// `GET /dashboard/live`: the SSE stream of the live part.
pub(crate) async fn live(
    _session: Session,
    State(state): State<AppState>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let ticks = tokio::time::interval(LIVE_EVERY);
    let stream = futures_util::stream::unfold((state, ticks), |(state, mut ticks)| async move {
        ticks.tick().await;
        let markup = match live_fragment(&state).await {
            Ok(m) => m,
            Err(e) => html! { p.err { "The live figures could not be read: " (e.0.message()) } },
        };
        let event = Event::default()
            .event("overview")
            .data(markup.into_string());
        Some((Ok(event), (state, ticks)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// The live part of the overview at the engine's clock.
pub(crate) async fn live_fragment(state: &AppState) -> Result<Markup, Failed> {
    let engine = &state.engine;
    let store = engine.store();
    let now = engine.clock().now();
    let midnight = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists in UTC")
        .and_utc();
    let counts = store.status_counts(now, midnight).await?;
    let due_within_hour = store
        .status_counts(now + Duration::hours(1), midnight)
        .await?
        .leads_due;
    let running = engine.dialer_running().await?;
    let dialer_reason = store.setting(DIALER_REASON_SETTING).await?;
    let switches = engine.kill_switches().await?;
    let alerts = store.alerts(5).await?;
    let blocked = engine.not_dialing(now, None, BLOCKED_SCAN).await?;
    let (per_minute, truncated) = calls_per_minute(state, now).await?;
    let unknown = counts
        .attempts_by_state
        .get("unknown")
        .copied()
        .unwrap_or(0);
    let tripped: Vec<_> = switches.switches.iter().filter(|s| s.tripped).collect();
    Ok(html! {
        p { "At " (when(now, None)) }
        div.tiles {
            div.tile #dialer-state {
                "Dialer"
                @if running { b.ok { "running" } } @else { b.bad { "stopped" } }
                @if let Some(r) = &dialer_reason { small { (r) } }
            }
            div.tile #kill-state {
                "Kill switches"
                @if tripped.is_empty() { b.ok { "none tripped" } }
                @else { b.bad { (tripped.len()) " tripped" } }
                @for s in &tripped { small { (scope_name(s.scope)) ": " (s.reason) } br; }
            }
            div.tile { "Calls in flight" b #in-flight { (counts.attempts_in_flight) } }
            div.tile { "Calls today (UTC)" b #calls-today { (counts.attempts_since) } }
            div.tile { "Due now" b #due-now { (counts.leads_due) } }
            div.tile { "Due within the hour" b #due-hour { (due_within_hour) } }
            div.tile { "Unknown outcomes waiting" b #unknown-outcomes { (unknown) } }
        }
        h2 { "Calls per minute, last hour" }
        (svg::sparkline(&per_minute))
        @if truncated { p { small { "(the first " (PER_MINUTE_READ) " attempts of the hour)" } } }
        h2 { "Provider health (since this process started)" }
        table #provider-health {
            tr { th { "provider" } th { "accepted" } th { "rejected" } th { "not sent" } th { "throttled" } th { "unknown outcome" } }
            @for p in ProviderKind::ALL {
                tr {
                    td { (p.as_str()) }
                    @for r in [DialResult::Accepted, DialResult::Rejected, DialResult::Transient, DialResult::RateLimited, DialResult::UnknownOutcome] {
                        td { (dial_count(state, p, r)) }
                    }
                }
            }
        }
        h2 { "Why is it not dialing" }
        (blocked_summary(&blocked))
        p { a href="/dashboard/blocked" { "Every reason with its leads" } }
        h2 { "Latest alerts" }
        @if alerts.is_empty() { p { "None." } }
        ul {
            @for a in &alerts {
                li { (when(a.raised_at, None)) " · " code { (a.kind) } " · " (a.subject) }
            }
        }
    })
}

/// Create requests of `provider` answered `result`, counted since the process started.
fn dial_count(state: &AppState, provider: ProviderKind, result: DialResult) -> u64 {
    state
        .engine
        .metrics()
        .dial_requests
        .get_or_create(&DialLabels {
            provider: provider.as_str(),
            result: result.as_str(),
        })
        .get()
}

/// A kill switch's scope in words.
pub(crate) fn scope_name(scope: KillScope) -> String {
    match scope {
        KillScope::Global => "global".into(),
        KillScope::Campaign(c) => format!("campaign {}", c.0),
    }
}

/// Attempts reserved in each of the last 60 minutes (oldest first), and whether the read
/// stopped at [`PER_MINUTE_READ`].
async fn calls_per_minute(
    state: &AppState,
    now: DateTime<Utc>,
) -> Result<(Vec<u64>, bool), Failed> {
    let from = now - Duration::hours(1);
    let mut minutes = vec![0u64; 60];
    let mut after: Option<(DateTime<Utc>, AttemptId)> = None;
    let mut read = 0usize;
    loop {
        let page = state
            .engine
            .store()
            .attempts_reserved_between(None, from, now, after, 5_000)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some((last.reserved_at, last.id));
        for a in &page {
            let minute = ((a.reserved_at - from).num_seconds() / 60).clamp(0, 59);
            minutes[minute as usize] += 1;
        }
        read += page.len();
        if page.len() < 5_000 {
            break;
        }
        if read >= PER_MINUTE_READ {
            return Ok((minutes, true));
        }
    }
    Ok((minutes, false))
}

/// The "why is it not dialing" counts as a table, each count linking to its leads.
pub(crate) fn blocked_summary(b: &outdial_engine::NotDialing) -> Markup {
    html! {
        @if !b.dialer_running { p.bad #blocked-dialer { "The dialer is stopped: nothing is placed." } }
        @if let Some(r) = &b.global_kill_switch { p.bad #blocked-kill { "The global kill switch is tripped: " (r) } }
        p { "Calls in flight " (b.attempts_in_flight) " of at most " (b.max_concurrent)
            ". Leads looked at: " (b.leads_scanned) @if b.truncated { " (stopped at the limit)" } "." }
        table #blocked {
            tr { th { "reason" } th { "leads" } th { "by zone" } th { "next due (UTC)" } th { "example" } }
            @for r in &b.reasons {
                tr data-reason=(r.reason) {
                    td { code { (r.reason) } }
                    td { a href={ "/dashboard/leads?ids=" (lead_ids(&r.leads)) } { (r.count) } }
                    td { @for (z, n) in &r.by_zone { (z) ": " (n) br; } }
                    td { @if let Some(t) = r.next_due_at { (when(t, None)) } }
                    td { @if let Some(e) = &r.example { small { (e) } } }
                }
            }
        }
    }
}

/// Lead ids joined by commas, for a link.
fn lead_ids(ids: &[outdial_core::LeadId]) -> String {
    ids.iter()
        .map(|l| l.0.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The kill-switch and dialer forms.
#[derive(Debug, Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    campaign: String,
    #[serde(default)]
    reason: String,
}

/// `POST /dashboard/killswitch`: `action` `trip` or `resume`, `campaign` an id or name
/// (empty: global), `reason` required. 303 back to the overview.
pub(crate) async fn killswitch(
    session: Session,
    State(state): State<AppState>,
    LimitedBody(body): LimitedBody,
) -> Result<Response, Failed> {
    let f: ActionForm = session.checked_form(&body)?;
    let reason = required_reason(Some(f.reason), "the event log and the alert")?;
    let scope = match f.campaign.trim() {
        "" => KillScope::Global,
        c => KillScope::Campaign(
            crate::routes::campaigns::resolve_campaign(&state, c)
                .await?
                .id,
        ),
    };
    let engine = &state.engine;
    match f.action.as_str() {
        "trip" => {
            engine
                .trip_kill_switch(scope, &reason, "operator:dashboard", &Default::default())
                .await?
        }
        "resume" => {
            engine
                .resume_kill_switch(scope, &reason, "operator:dashboard")
                .await?
        }
        other => return Err(bad_action(other, "trip or resume")),
    };
    Ok(Redirect::to("/dashboard").into_response())
}

/// `POST /dashboard/dialer`: `action` `start` or `stop`, an optional `reason`. 303 back.
pub(crate) async fn dialer(
    session: Session,
    State(state): State<AppState>,
    LimitedBody(body): LimitedBody,
) -> Result<Response, Failed> {
    let f: ActionForm = session.checked_form(&body)?;
    let running = match f.action.as_str() {
        "start" => true,
        "stop" => false,
        other => return Err(bad_action(other, "start or stop")),
    };
    let reason = match f.reason.trim() {
        "" => format!(
            "{} from the dashboard",
            if running { "started" } else { "stopped" }
        ),
        r => {
            crate::routes::bounded_reason(r)?;
            r.to_owned()
        }
    };
    state
        .engine
        .set_dialer_running(running, &reason, "dashboard")
        .await?;
    Ok(Redirect::to("/dashboard").into_response())
}

/// 400 for a form's unknown `action`.
pub(crate) fn bad_action(given: &str, expected: &str) -> Failed {
    Failed(ApiError::bad_request(format!(
        "field 'action' ('{given}') must be {expected}"
    )))
}
