//! `POST /webhooks/twilio/status?attempt={id}`: Twilio status callbacks, authenticated by
//! [`TwilioCallback`] (see [`crate::extract::callback`] for the bounded work before that),
//! turned into the stored raw event by [`webhook::verified_callback`], applied and answered
//! 200 at once; 400 for a malformed `attempt` id or callback fields, 503 when the store
//! failed (Twilio retries).

use crate::extract::TwilioCallback;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use outdial_core::AttemptId;
use outdial_providers::twilio::webhook;
use outdial_store::RawEvent;

/// The route's path: [`webhook::STATUS_CALLBACK_PATH`].
pub(crate) const PATH: &str = webhook::STATUS_CALLBACK_PATH;

/// The handler: see the module docs.
pub(crate) async fn status_callback(
    State(state): State<AppState>,
    callback: TwilioCallback,
) -> Response {
    let TwilioCallback {
        attempt,
        params,
        body,
        url,
    } = callback;
    // Authenticated from here on: Twilio's own malformed requests are logged as they come.
    let hint = match attempt.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(id)) => Some(AttemptId(id)),
        Some(Err(_)) => {
            tracing::warn!(%url, "Twilio webhook with a malformed attempt id rejected");
            return (StatusCode::BAD_REQUEST, "malformed attempt id").into_response();
        }
    };
    let now = state.engine.clock().now();
    let verified = match webhook::verified_callback(&params, &body, now) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "Twilio webhook with malformed fields rejected");
            return (StatusCode::BAD_REQUEST, format!("malformed callback: {e}")).into_response();
        }
    };
    let event = verified.callback.event;
    let raw = RawEvent {
        source: verified.source,
        dedupe_key: verified.dedupe_key,
        payload: verified.payload,
    };
    match state.engine.ingest_call_event(hint, &event, &raw).await {
        Ok(outcome) => {
            tracing::debug!(?outcome, "Twilio status callback applied");
            super::WebhookResult::of(&outcome).ok()
        }
        Err(e) => {
            // A store failure: answer 5xx so Twilio retries (its default is one retry).
            tracing::error!(error = %e, "Twilio status callback could not be stored");
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}
