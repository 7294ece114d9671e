//! Provider callbacks, one module a provider, each mounted here from the path constant its
//! provider module declares (Twilio: [`outdial_providers::twilio::webhook::STATUS_CALLBACK_PATH`]).
//! A second provider's route (`POST /webhooks/bland/...`) is one more `.route` line here and
//! one more module beside `twilio`.

use crate::AppState;
use axum::routing::post;
use axum::Router;

mod twilio;

/// The callback routes of every provider.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(twilio::PATH, post(twilio::status_callback))
}
