//! `POST /webhooks/twilio/status?attempt={id}`: Twilio status callbacks.
//!
//! The work done before a request is authenticated is bounded, in this order:
//! 1. the `X-Twilio-Signature` header must be present and well formed (28 characters of
//!    base64), else 403 before the body is read at all;
//! 2. the body is read within the body read timeout and at most 64 KiB ([`LimitedBody`]);
//! 3. at most 256 fields ([`webhook::decode_form`]; 413 beyond), decoded, and the signature
//!    verified over the configured public URL in O(n log n) — on the blocking pool
//!    (`spawn_blocking`), so that even this bounded hashing never holds an async worker that
//!    `/healthz`, the admin API or the dialer loop need.
//!
//! Each refusal is counted and logged through [`crate::guard::Rejections`].

use crate::guard::{LimitedBody, RejectionKind};
use crate::AppState;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use outdial_core::AttemptId;
use outdial_providers::twilio::{signature, webhook};
use outdial_store::RawEvent;
use secrecy::ExposeSecret;
use serde::Deserialize;

/// Extractor: a present, well-formed `X-Twilio-Signature` header (not yet verified). Its
/// rejection (403) comes before the body is read.
#[derive(Debug)]
pub struct TwilioSignature(pub String);

impl FromRequestParts<AppState> for TwilioSignature {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get("x-twilio-signature");
        let Some(sig) = header.and_then(|v| v.to_str().ok()) else {
            state.rejections.record(
                RejectionKind::BadSignature,
                "Twilio webhook without X-Twilio-Signature rejected",
                parts.uri.path(),
            );
            return Err((StatusCode::FORBIDDEN, "missing signature").into_response());
        };
        if !signature::is_well_formed(sig) {
            state.rejections.record(
                RejectionKind::BadSignature,
                "Twilio webhook with a malformed X-Twilio-Signature rejected",
                parts.uri.path(),
            );
            return Err((StatusCode::FORBIDDEN, "malformed signature").into_response());
        }
        Ok(TwilioSignature(sig.to_owned()))
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct StatusQuery {
    attempt: Option<String>,
}

/// Why an unauthenticated webhook body was refused before it reached the engine.
enum Refused {
    TooLarge,
    Malformed,
    BadSignature,
}

/// Decodes the form and verifies the signature (CPU work, bounded by the limits above).
fn decode_and_verify(
    auth_token: &str,
    url: &str,
    body: &[u8],
    sig: &str,
) -> Result<Vec<(String, String)>, Refused> {
    let params = match webhook::decode_form(body) {
        Ok(p) => p,
        Err(webhook::WebhookError::TooLarge(_) | webhook::WebhookError::TooManyFields) => {
            return Err(Refused::TooLarge)
        }
        Err(_) => return Err(Refused::Malformed),
    };
    if signature::verify_form(auth_token, url, &params, sig) {
        Ok(params)
    } else {
        Err(Refused::BadSignature)
    }
}

/// The handler: see the module docs.
pub(crate) async fn status_callback(
    State(state): State<AppState>,
    TwilioSignature(sig): TwilioSignature,
    uri: Uri,
    Query(q): Query<StatusQuery>,
    LimitedBody(body): LimitedBody,
) -> Response {
    let path_and_query = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    let url = format!("{}{}", state.public_url, path_and_query);
    let token = state.twilio_auth_token.clone();
    let checked = {
        let (url, body) = (url.clone(), body.clone());
        tokio::task::spawn_blocking(move || {
            decode_and_verify(token.expose_secret(), &url, &body, &sig)
        })
        .await
    };
    let params = match checked {
        Ok(Ok(p)) => p,
        Ok(Err(Refused::TooLarge)) => {
            state.rejections.record(
                RejectionKind::TooLarge,
                "Twilio webhook with too many form fields rejected",
                uri.path(),
            );
            return (StatusCode::PAYLOAD_TOO_LARGE, "too many form fields").into_response();
        }
        Ok(Err(Refused::Malformed)) => {
            state.rejections.record(
                RejectionKind::Malformed,
                "Twilio webhook with a malformed form body rejected",
                uri.path(),
            );
            return (StatusCode::BAD_REQUEST, "malformed form body").into_response();
        }
        Ok(Err(Refused::BadSignature)) => {
            state.rejections.record(
                RejectionKind::BadSignature,
                "Twilio webhook with an invalid signature rejected",
                &url,
            );
            return (StatusCode::FORBIDDEN, "invalid signature").into_response();
        }
        Err(e) => {
            tracing::error!(error = %e, "Twilio webhook verification task failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    // Authenticated from here on: Twilio's own malformed requests are logged as they come.
    let hint = match q.attempt.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(id)) => Some(AttemptId(id)),
        Some(Err(_)) => {
            tracing::warn!(%url, "Twilio webhook with a malformed attempt id rejected");
            return (StatusCode::BAD_REQUEST, "malformed attempt id").into_response();
        }
    };
    let now = state.engine.clock().now();
    let parsed = match webhook::parse_status_callback(&params, now) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "Twilio webhook with malformed fields rejected");
            return (StatusCode::BAD_REQUEST, format!("malformed callback: {e}")).into_response();
        }
    };
    let event = parsed.event;
    let raw = RawEvent {
        source: webhook::WEBHOOK_SOURCE.into(),
        dedupe_key: webhook::dedupe_key(&event),
        payload: String::from_utf8_lossy(&body).into_owned(),
    };
    match state.engine.ingest_call_event(hint, &event, &raw).await {
        Ok(outcome) => {
            tracing::debug!(?outcome, "Twilio status callback applied");
            StatusCode::OK.into_response()
        }
        Err(e) => {
            // A store failure: answer 5xx so Twilio retries (its default is one retry).
            tracing::error!(error = %e, "Twilio status callback could not be stored");
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}
