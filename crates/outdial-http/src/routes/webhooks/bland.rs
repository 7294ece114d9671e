//! `POST /webhooks/bland/call?attempt={id}`: Bland's post-call webhooks
//! (<https://docs.bland.ai/tutorials/webhook-signing>, `reference/bland.md` A5).
//!
//! The work done before a request is authenticated is bounded, in this order:
//! 1. no signing secret configured → 404 (the route is not served), before anything is read;
//! 2. the `X-Webhook-Signature` header must be present and hex, else 403 before the body is
//!    read;
//! 3. the query is read (`?attempt=`; 400 when it is not a number);
//! 4. the body is read within the body read timeout and at most
//!    [`webhook::MAX_BODY_BYTES`] (256 KiB: a post-call payload carries the transcript);
//! 5. the HMAC-SHA256 of the raw body is checked in constant time on the blocking pool; 403
//!    when it does not match.
//!
//! Then: malformed JSON → 400; a payload whose `metadata.outdial_attempt_id` disagrees with
//! the URL's attempt → 400; nothing is changed in any of these cases. A final post-call
//! payload is applied through the engine with the raw body as the stored event (dedupe key:
//! call id + SHA-256 of the body, so a retried or replayed identical body changes nothing, and
//! the second, corrected-transcript POST is its own event) and answered 200; 503 when the
//! store failed (Bland may retry on an error). Event-stream items and non-final payloads are
//! answered 200 and change nothing.
//!
//! A final payload's `disposition_tag` is the call's business outcome: it goes to
//! [`Engine::ingest_call_result`](outdial_engine::Engine::ingest_call_result), which resolves
//! it through the campaign's disposition catalog (codes and aliases) and records it before
//! the final status is applied, so the attempt concludes with it. A tag the catalog does not
//! know is answered 200 like any other payload (the call concludes by its status; the tag
//! stays in the stored raw event); `answered_by: voicemail` keeps `VOICEMAIL`. The other
//! post-call facts (`transferred_to`, `summary`, `recording_url`, `price` in USD,
//! `call_ended_by`) are kept in the stored raw event; the attempt has no column for them.

use crate::guard::{read_body_up_to, RejectionKind};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use outdial_core::AttemptId;
use outdial_providers::bland::webhook::{self, BlandCallback};
use outdial_store::RawEvent;
use secrecy::ExposeSecret;
use serde::Deserialize;

/// The route's path: [`webhook::STATUS_CALLBACK_PATH`].
pub(crate) const PATH: &str = webhook::STATUS_CALLBACK_PATH;

#[derive(Debug, Deserialize)]
pub(crate) struct CallQuery {
    attempt: Option<String>,
}

/// The handler: see the module docs.
pub(crate) async fn call_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CallQuery>,
    req: axum::extract::Request,
) -> Response {
    let path = req.uri().path().to_owned();
    let Some(secret) = state.bland_webhook_secret.clone() else {
        return (
            StatusCode::NOT_FOUND,
            "no Bland webhook signing secret is configured",
        )
            .into_response();
    };
    let sig = headers
        .get(webhook::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_owned());
    let well_formed = sig.as_deref().is_some_and(|s| {
        !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_hexdigit())
    });
    let Some(sig) = sig.filter(|_| well_formed) else {
        state.rejections.record(
            RejectionKind::BadSignature,
            "Bland webhook without a well-formed X-Webhook-Signature rejected",
            &path,
        );
        return (StatusCode::FORBIDDEN, "missing or malformed signature").into_response();
    };
    let hint = match q.attempt.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(id)) => Some(AttemptId(id)),
        Some(Err(_)) => return (StatusCode::BAD_REQUEST, "malformed attempt id").into_response(),
    };
    let body = match read_body_up_to(req, &state, webhook::MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(refusal) => return refusal,
    };
    let verified = {
        let body = body.clone();
        tokio::task::spawn_blocking(move || {
            webhook::verify_signature(secret.expose_secret(), &body, &sig)
        })
        .await
    };
    match verified {
        Ok(true) => {}
        Ok(false) => {
            state.rejections.record(
                RejectionKind::BadSignature,
                "Bland webhook with an invalid signature rejected",
                &path,
            );
            return (StatusCode::FORBIDDEN, "invalid signature").into_response();
        }
        Err(e) => {
            tracing::error!(error = %e, "Bland webhook verification task failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    }
    // Authenticated from here on.
    let callback = match webhook::parse_call_webhook(&body) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "Bland webhook with a malformed body rejected");
            return (StatusCode::BAD_REQUEST, format!("malformed webhook: {e}")).into_response();
        }
    };
    let result = match &callback {
        BlandCallback::Call(result) => result,
        BlandCallback::Event(e) => {
            tracing::debug!(call_id = ?e.call_id, "Bland event-stream item received; nothing to apply");
            return StatusCode::OK.into_response();
        }
    };
    if let (Some(hint), Some(meta)) = (hint, result.attempt_id) {
        if hint.0 != meta {
            tracing::warn!(url_attempt = hint.0, metadata_attempt = meta, call_id = %result.call_id.as_str(),
                "Bland webhook whose metadata disagrees with its URL rejected");
            return (
                StatusCode::BAD_REQUEST,
                "metadata.outdial_attempt_id disagrees with the callback URL's attempt",
            )
                .into_response();
        }
    }
    let hint = hint.or(result.attempt_id.map(AttemptId));
    let now = state.engine.clock().now();
    let Some(event) = result.to_event(now) else {
        tracing::debug!(call_id = %result.call_id.as_str(), status = result.status.as_str(),
            "Bland webhook with a status that is not final; nothing to apply");
        return StatusCode::OK.into_response();
    };
    let raw = RawEvent {
        source: webhook::WEBHOOK_SOURCE.into(),
        dedupe_key: webhook::dedupe_key(Some(&result.call_id), &body),
        payload: String::from_utf8_lossy(&body).into_owned(),
    };
    let tag = result
        .disposition_tag
        .as_deref()
        .filter(|t| !t.trim().is_empty());
    match state
        .engine
        .ingest_call_result(hint, &event, &raw, tag)
        .await
    {
        Ok(outcome) => {
            let price = result
                .price
                .and_then(|p| outdial_core::CallPrice::from_amount(p, "USD"));
            if let Err(e) = state
                .engine
                .record_price(&outcome.event, price.as_ref())
                .await
            {
                // The call is applied: a retry of this webhook would be a duplicate and
                // change nothing, so a 503 would not bring the price back. Logged.
                tracing::error!(error = %e, "Bland webhook applied, its price could not be stored");
            }
            tracing::debug!(
                event = ?outcome.event,
                disposition = ?outcome.disposition,
                disposition_tag = tag,
                transferred_to = result.transferred_to.as_deref(),
                call_ended_by = result.call_ended_by.as_deref(),
                price_usd = result.price,
                "Bland webhook applied"
            );
            super::WebhookResult::of(&outcome.event).ok()
        }
        Err(e) => {
            tracing::error!(error = %e, "Bland webhook could not be stored");
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}
