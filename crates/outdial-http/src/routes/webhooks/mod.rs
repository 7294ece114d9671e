//! Provider callbacks, one module a provider, each mounted here from the path constant its
//! provider module declares (Twilio: [`outdial_providers::twilio::webhook::STATUS_CALLBACK_PATH`],
//! Bland: [`outdial_providers::bland::webhook::STATUS_CALLBACK_PATH`]).
//!
//! Every callback is counted in `outdial_webhooks_total{provider, result}` and timed in
//! `outdial_webhook_handle_duration_seconds{provider}` ([`outdial_engine::Metrics`]), from
//! the first extractor to the answer: the handler names what applying it did
//! ([`WebhookResult`] on its response); a refusal before that is named from its status
//! (403 `bad_signature`, 404 `not_configured`, 408 `body_timeout`, 413 `too_large`, other
//! 4xx `malformed`, 5xx `store_error`), and a 2xx without a name is `ignored` (an event
//! the provider sends that changes nothing by design).

use crate::AppState;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use outdial_core::ProviderKind;
use outdial_store::EventOutcome;

mod bland;
mod twilio;

/// The callback routes of every provider.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            twilio::PATH,
            post(|state: State<AppState>, req: Request| {
                counted(ProviderKind::Twilio, twilio::status_callback, state, req)
            }),
        )
        .route(
            bland::PATH,
            post(|state: State<AppState>, req: Request| {
                counted(ProviderKind::Bland, bland::call_webhook, state, req)
            }),
        )
}

/// What applying a webhook did, as counted in `outdial_webhooks_total`: set by the handler
/// on its response (a response extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WebhookResult(pub(crate) &'static str);

impl WebhookResult {
    /// The result of applying an event: `applied`, `duplicate`, `stale`, `late` or
    /// `unknown_call`.
    pub(crate) fn of(outcome: &EventOutcome) -> WebhookResult {
        WebhookResult(match outcome {
            EventOutcome::Applied { .. } => "applied",
            EventOutcome::Duplicate => "duplicate",
            EventOutcome::Stale { .. } => "stale",
            EventOutcome::Late { .. } => "late",
            EventOutcome::UnknownCall => "unknown_call",
        })
    }

    /// A 200 answer carrying this result.
    pub(crate) fn ok(self) -> Response {
        let mut res = StatusCode::OK.into_response();
        res.extensions_mut().insert(self);
        res
    }
}

/// The result of an answer that carries no [`WebhookResult`], from its status.
fn by_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::FORBIDDEN => "bad_signature",
        StatusCode::NOT_FOUND => "not_configured",
        StatusCode::REQUEST_TIMEOUT => "body_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        s if s.is_client_error() => "malformed",
        s if s.is_server_error() => "store_error",
        _ => "ignored",
    }
}

/// Runs `handler` on `req`, then counts and times the webhook (see the module docs).
async fn counted<H, T>(
    provider: ProviderKind,
    handler: H,
    State(state): State<AppState>,
    req: Request,
) -> Response
where
    H: Handler<T, AppState>,
{
    let started = std::time::Instant::now();
    let metrics = state.engine.metrics().clone();
    let res = handler.call(req, state).await;
    let result = res
        .extensions()
        .get::<WebhookResult>()
        .map_or_else(|| by_status(res.status()), |r| r.0);
    metrics.webhook(provider.as_str(), result, Some(started.elapsed()));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_named_from_their_status() {
        assert_eq!(by_status(StatusCode::FORBIDDEN), "bad_signature");
        assert_eq!(by_status(StatusCode::PAYLOAD_TOO_LARGE), "too_large");
        assert_eq!(by_status(StatusCode::BAD_REQUEST), "malformed");
        assert_eq!(by_status(StatusCode::SERVICE_UNAVAILABLE), "store_error");
        assert_eq!(by_status(StatusCode::OK), "ignored");
    }
}
