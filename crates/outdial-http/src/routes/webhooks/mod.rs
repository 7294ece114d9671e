//! Provider callbacks, one module a provider, each mounted here from the path constant its
//! provider module declares (Twilio: [`outdial_providers::twilio::webhook::STATUS_CALLBACK_PATH`],
//! Bland: [`outdial_providers::bland::webhook::STATUS_CALLBACK_PATH`]).

use crate::AppState;
use axum::routing::post;
use axum::Router;

mod bland;
mod twilio;

/// The callback routes of every provider.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(twilio::PATH, post(twilio::status_callback))
        .route(bland::PATH, post(bland::call_webhook))
}
