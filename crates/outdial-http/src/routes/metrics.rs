//! `GET /metrics`: Prometheus metrics in the OpenMetrics text format
//! (`application/openmetrics-text; version=1.0.0`).
//!
//! Two kinds of figures (naming: <https://prometheus.io/docs/practices/naming/>):
//! - this process's counters and histograms ([`outdial_engine::Metrics`]: create requests
//!   by result, call outcomes, provider request time, webhooks by result and handling time,
//!   reconciler actions, kill-switch trips, job runs and alert deliveries), and its refused
//!   requests by kind (`outdial_http_rejections_total`);
//! - facts of the store, read at scrape time (shared by every instance of a fleet, so a
//!   fleet-wide figure is any one instance's, not the sum): `outdial_attempts_in_flight`
//!   by state, `outdial_leads` by status, `outdial_leads_due`, `outdial_leads_blocked` by
//!   reason ([`outdial_engine::blocked`]), `outdial_kill_switch_engaged`
//!   by scope kind, `outdial_jobs` by state, `outdial_dialer_running`, and
//!   `outdial_build_info` (the version).
//!
//! No label holds a phone number, lead, attempt or call id. Access: the admin API key
//! (`Authorization: Bearer …`, 401 otherwise), unless the peer's address is in one of the
//! networks of [`AppState::metrics_anonymous_from`]. 503 when the store cannot be read.

use crate::extract::ApiKey;
use crate::{ApiError, AppState};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;

/// The OpenMetrics content type the encoder writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// One label, `name="value"`, for the scrape-time families.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

/// Leads looked at for `outdial_leads_blocked` per scrape.
const BLOCKED_SCAN_LIMIT: u32 = 10_000;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabel {
    scope: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

/// Access: a peer in an anonymous network, or the API key.
struct Scraper;

impl FromRequestParts<AppState> for Scraper {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        if peer.is_some_and(|ip| state.metrics_anonymous_from.iter().any(|n| n.contains(&ip))) {
            return Ok(Scraper);
        }
        ApiKey::from_request_parts(parts, state).await?;
        Ok(Scraper)
    }
}

fn u64_gauge(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

async fn metrics(_who: Scraper, State(state): State<AppState>) -> Result<Response, ApiError> {
    let engine = &state.engine;
    let store = engine.store();
    let now = engine.clock().now();
    let counts = store.status_counts(now, now).await?;
    let switches = engine.kill_switches().await?;
    let jobs = store.job_counts().await?;
    let running = engine.dialer_running().await?;

    let mut registry = Registry::default();
    engine.metrics().register(&mut registry);

    let rejections = Family::<KindLabel, Counter>::default();
    let r = state.rejections.counts();
    for (kind, n) in [
        ("bad_signature", r.bad_signature),
        ("bad_api_key", r.bad_api_key),
        ("too_large", r.too_large),
        ("body_timeout", r.body_timeout),
        ("malformed", r.malformed),
    ] {
        rejections.get_or_create(&KindLabel { kind }).inc_by(n);
    }
    registry.register(
        "outdial_http_rejections",
        "Requests this process refused before handling them, by kind",
        rejections,
    );

    let in_flight = Family::<StateLabel, Gauge>::default();
    for (s, n) in &counts.attempts_by_state {
        if IN_FLIGHT_STATES.contains(&s.as_str()) {
            in_flight
                .get_or_create(&StateLabel { state: s.clone() })
                .set(u64_gauge(*n));
        }
    }
    registry.register(
        "outdial_attempts_in_flight",
        "Attempts not yet final, by state",
        in_flight,
    );

    let leads = Family::<StatusLabel, Gauge>::default();
    for (s, n) in &counts.leads_by_status {
        leads
            .get_or_create(&StatusLabel { status: s.clone() })
            .set(u64_gauge(*n));
    }
    registry.register("outdial_leads", "Leads by status", leads);

    let due = Gauge::<i64>::default();
    due.set(u64_gauge(counts.leads_due));
    registry.register(
        "outdial_leads_due",
        "Active leads of active campaigns whose next attempt time has come",
        due,
    );

    let engaged = Family::<ScopeLabel, Gauge>::default();
    let global = switches
        .switches
        .iter()
        .any(|s| s.tripped && s.scope.as_key() == "global");
    let campaigns = switches
        .switches
        .iter()
        .filter(|s| s.tripped && s.scope.as_key() != "global")
        .count();
    engaged
        .get_or_create(&ScopeLabel { scope: "global" })
        .set(i64::from(global));
    engaged
        .get_or_create(&ScopeLabel { scope: "campaign" })
        .set(i64::try_from(campaigns).unwrap_or(i64::MAX));
    registry.register(
        "outdial_kill_switch_engaged",
        "Kill switches tripped now: the global one (0 or 1), and how many campaigns' are",
        engaged,
    );

    let blocked = Family::<ReasonLabel, Gauge>::default();
    let nd = engine.not_dialing(now, None, BLOCKED_SCAN_LIMIT).await?;
    for r in &nd.reasons {
        blocked
            .get_or_create(&ReasonLabel {
                reason: r.reason.clone(),
            })
            .set(u64_gauge(r.count));
    }
    registry.register(
        "outdial_leads_blocked",
        "Leads not being dialed now, by reason (the leads with the lowest ids, at most 10,000)",
        blocked,
    );

    let job_gauge = Family::<StateLabel, Gauge>::default();
    for (s, n) in &jobs {
        job_gauge
            .get_or_create(&StateLabel { state: s.clone() })
            .set(u64_gauge(*n));
    }
    registry.register("outdial_jobs", "Durable jobs by state", job_gauge);

    let dialer = Gauge::<i64>::default();
    dialer.set(i64::from(running));
    registry.register(
        "outdial_dialer_running",
        "Whether the dialer is running (1) or stopped (0)",
        dialer,
    );

    registry.register(
        "outdial_build",
        "Build information",
        Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
    );

    let mut body = String::new();
    encode(&mut body, &registry).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding the metrics failed: {e}"),
        )
    })?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response())
}

/// The attempt states that are in flight (the store's names).
const IN_FLIGHT_STATES: [&str; 5] = ["reserved", "placed", "ringing", "in-progress", "unknown"];
