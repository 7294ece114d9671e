//! # outdial-http
//!
//! The axum router: thin handlers over the engine, and the server loop that runs it.
//! - `POST /webhooks/{provider}/…`: each provider's status callbacks, one route per adapter
//!   (mounted in [`routes::webhooks`] from the adapter's path). The provider's signature
//!   header is checked against the configured public URL (never the `Host` header) before
//!   anything is parsed or stored: unsigned or forged → 403, over the size bounds → 413,
//!   malformed → 400; a valid callback is applied and answered 200 at once. The work done
//!   before authentication is bounded: see [`extract::callback`].
//! - `/api/v1/…`: the admin API, behind `Authorization: Bearer <api key>` (401 otherwise);
//!   one module an area in [`routes`].
//! - `GET /healthz`: liveness, no authentication.
//! - `GET /api/v1/openapi.json`: the admin API's OpenAPI 3.1 description, no authentication
//!   ([`openapi`]).
//!
//! Layout: [`state`] ([`AppState`]), [`error`] ([`ApiError`], the one error answer),
//! [`extract`] (API key, verified provider callback, typed path ids, JSON bodies),
//! [`routes`] (handlers and their answer types), [`guard`] (bounded bodies, refusal
//! counts), [`server`] (the accept loop), [`openapi`] (the description, from the handlers).
//!
//! Every request body is at most [`guard::MAX_BODY_BYTES`] (64 KiB) and read within the body
//! read timeout; refused requests are counted ([`guard::Rejections`], shown in
//! `GET /api/v1/status` as `rejected_requests`) and their warning lines rate-limited.
//! [`server::serve`] adds header, idle and request timeouts, a connection limit and a bounded
//! graceful shutdown ([`HttpLimits`]).

use axum::http::StatusCode;
use axum::Router;

pub mod dashboard;
pub mod error;
pub mod extract;
pub mod guard;
pub mod openapi;
pub mod routes;
pub mod server;
pub mod state;

pub use error::ApiError;
pub use extract::ApiKey;
pub use routes::leads::LeadDetail;
pub use routes::status::StatusResponse;
pub use server::HttpLimits;
pub use state::AppState;

/// Longest `reason` accepted by `POST /api/v1/dialer/{start,stop}` and the kill-switch API,
/// in characters (400 beyond): it is stored, shown in every status answer and alert.
pub const MAX_REASON_CHARS: usize = 500;

/// The router with every route; handlers that do not answer within
/// `state.limits.request_timeout` are answered 503.
pub fn router(state: AppState) -> Router {
    let request_timeout = tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::SERVICE_UNAVAILABLE,
        state.limits.request_timeout,
    );
    routes::all()
        .merge(dashboard::routes())
        .layer(request_timeout)
        .with_state(state)
}
