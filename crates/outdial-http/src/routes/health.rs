//! `GET /healthz`: liveness, no authentication; answers `ok`.

use crate::AppState;
use axum::routing::get;
use axum::Router;

/// The health route.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(|| async { "ok" }))
}
