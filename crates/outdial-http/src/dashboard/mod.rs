//! The live dashboard at `/dashboard`: server-rendered HTML (maud, escaped by construction),
//! htmx 2 and its SSE extension vendored in `assets/` (no Node build, no CDN), inline SVG
//! charts, one Server-Sent Events stream.
//!
//! Pages (each needs a session, [`session`]; without one: 303 to `/dashboard/login`):
//! - `/dashboard`: overview — dialer, kill switches (trip and resume, a reason required),
//!   calls in flight, calls per minute over the last hour, due now and in the next hour,
//!   provider health, the latest alerts and "why is it not dialing" (counts by reason with
//!   links to the leads behind them). Its live part is re-rendered on the server every
//!   [`overview::LIVE_EVERY`] and pushed on `/dashboard/live` (event `overview`);
//!   without JavaScript the page reloads itself every 4 s;
//! - `/dashboard/campaigns`: state, lead counts, pause and resume, settings (read-only);
//! - `/dashboard/leads/{id}`: contact data, activity timeline (UTC and the lead's local
//!   time) and `explain`; `/dashboard/leads?ids=1,2,…` lists leads;
//! - `/dashboard/reports`: the reports of [`outdial_engine::reports`] as tables (the same
//!   [`outdial_engine::reports::ReportTable`] the CSV is written from), the best-time heat
//!   map and the funnel drawn in SVG, each with its CSV download
//!   (`/dashboard/reports/{name}.csv`);
//! - `/dashboard/jobs`: durable jobs (dead letters with requeue) and alerts.
//!
//! Every figure comes from the same engine and store reads as the JSON admin API.
//! Every page answers `Cache-Control: no-store`, `X-Frame-Options: DENY` and a
//! `Content-Security-Policy` allowing scripts from this server only.

use crate::{ApiError, AppState};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{html, Markup, PreEscaped, DOCTYPE};

pub mod assets;
pub mod overview;
pub mod pages;
pub mod reports;
pub mod session;
pub mod svg;

pub use session::{Session, Sessions};

/// The dashboard's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/dashboard/login",
            get(pages::login_form).post(pages::login),
        )
        .route("/dashboard/logout", post(pages::logout))
        .route("/dashboard", get(overview::page))
        .route("/dashboard/live", get(overview::live))
        .route("/dashboard/killswitch", post(overview::killswitch))
        .route("/dashboard/dialer", post(overview::dialer))
        .route("/dashboard/blocked", get(pages::blocked))
        .route("/dashboard/campaigns", get(pages::campaigns))
        .route(
            "/dashboard/campaigns/{id}/{action}",
            post(pages::campaign_action),
        )
        .route("/dashboard/leads", get(pages::leads))
        .route("/dashboard/leads/{id}", get(pages::lead))
        .route("/dashboard/jobs", get(pages::jobs))
        .route("/dashboard/jobs/{id}/requeue", post(pages::requeue))
        .route("/dashboard/reports", get(reports::page))
        .route("/dashboard/reports/{file}", get(reports::csv))
        .route("/dashboard/assets/{file}", get(assets::asset))
}

/// The `Content-Security-Policy` of every page: scripts, connections and forms to this
/// server only; inline styles allowed (htmx adds its indicator style).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// An HTML answer with the dashboard's headers.
pub(crate) fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut res = (status, markup).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    res
}

/// A page of the dashboard: the menu, the title and `body`.
pub(crate) fn page(title: &str, session: Option<&Session>, body: Markup) -> Response {
    html_response(
        StatusCode::OK,
        shell(title, session, body, /* live: */ false),
    )
}

/// The document around a page's body; `live` adds the 4-second reload for browsers
/// without JavaScript.
pub(crate) fn shell(title: &str, session: Option<&Session>, body: Markup, live: bool) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · outdial" }
                @if live { noscript { meta http-equiv="refresh" content="4"; } }
                style { (PreEscaped(STYLE)) }
                script src=(assets::HTMX_PATH) {}
                script src=(assets::SSE_PATH) {}
            }
            body {
                @if let Some(s) = session {
                    nav {
                        strong { "outdial" }
                        a href="/dashboard" { "Overview" }
                        a href="/dashboard/campaigns" { "Campaigns" }
                        a href="/dashboard/reports" { "Reports" }
                        a href="/dashboard/jobs" { "Jobs & alerts" }
                        form.inline method="post" action="/dashboard/logout" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#222}\
nav{background:#1f2937;color:#fff;padding:.5em 1em;display:flex;gap:1em;align-items:center}\
nav a{color:#cbd5e1}main{padding:1em}table{border-collapse:collapse;margin:.5em 0}\
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;font-size:.9em}\
th{background:#f3f4f6}.tiles{display:flex;flex-wrap:wrap;gap:.8em}\
.tile{border:1px solid #ccc;border-radius:6px;padding:.5em .8em;min-width:9em}\
.tile b{display:block;font-size:1.6em}.bad{color:#b91c1c}.ok{color:#15803d}\
form.inline{display:inline}.err{background:#fee2e2;padding:.5em}code{font-size:.85em}\
#timeline td:first-child,#attempts td:nth-child(2){white-space:nowrap}\
#timeline td:last-child{word-break:break-all;max-width:60em}";

/// A failed dashboard request, rendered as a page with the API's message and status.
#[derive(Debug)]
pub struct Failed(pub ApiError);

impl From<ApiError> for Failed {
    fn from(e: ApiError) -> Self {
        Failed(e)
    }
}

impl From<outdial_engine::EngineError> for Failed {
    fn from(e: outdial_engine::EngineError) -> Self {
        Failed(e.into())
    }
}

impl From<outdial_store::StoreError> for Failed {
    fn from(e: outdial_store::StoreError) -> Self {
        Failed(e.into())
    }
}

impl IntoResponse for Failed {
    fn into_response(self) -> Response {
        let status = self.0.status();
        html_response(
            status,
            shell(
                status.canonical_reason().unwrap_or("Error"),
                None,
                html! {
                    p.err { (self.0.message()) }
                    p { a href="/dashboard" { "Back to the dashboard" } }
                },
                false,
            ),
        )
    }
}

/// `at` in UTC and, when `zone` is given, in that zone: `2026-01-05 13:00:00 UTC (08:00:00
/// EST)`.
pub(crate) fn when(at: DateTime<Utc>, zone: Option<Tz>) -> String {
    let utc = at.format("%Y-%m-%d %H:%M:%S UTC");
    match zone {
        Some(z) => format!(
            "{utc} ({})",
            at.with_timezone(&z).format("%Y-%m-%d %H:%M:%S %Z")
        ),
        None => utc.to_string(),
    }
}

/// Reads a form body (`application/x-www-form-urlencoded`) into `T`.
///
/// # Errors
/// 400 naming what could not be read.
pub(crate) fn form<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_urlencoded::from_bytes(body)
        .map_err(|e| ApiError::bad_request(format!("the form could not be read: {e}")))
}
