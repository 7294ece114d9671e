//! [`TwilioCallback`]: a Twilio status callback, authenticated.
//!
//! The work done before a request is authenticated is bounded, in this order:
//! 1. the `X-Twilio-Signature` header must be present and well formed (28 characters of
//!    base64), else 403 before the body is read at all;
//! 2. the query is read (`?attempt=`; axum's 400 when it does not decode);
//! 3. the body is read within the body read timeout and at most 64 KiB ([`LimitedBody`]);
//! 4. at most 256 fields ([`webhook::decode_form`]; 413 beyond), decoded, and the signature
//!    verified over the configured public URL in O(n log n) — on the blocking pool
//!    (`spawn_blocking`), so that even this bounded hashing never holds an async worker that
//!    `/healthz`, the admin API or the dialer loop need.
//!
//! Each refusal is counted and logged through [`crate::guard::Rejections`].

use crate::guard::{LimitedBody, RejectionKind};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use outdial_providers::twilio::{signature, webhook};
use secrecy::ExposeSecret;
use serde::Deserialize;

/// Extractor: a Twilio status callback whose signature verified. Rejections (plain text):
/// 403 missing, malformed or invalid signature; 413 too large or too many fields; 408 body
/// not received in time; 400 malformed form body; 500 if the verification task failed.
#[derive(Debug)]
pub struct TwilioCallback {
    /// The `attempt` query parameter as sent (not yet parsed).
    pub attempt: Option<String>,
    /// The decoded form fields, in body order.
    pub params: Vec<(String, String)>,
    /// The body as received.
    pub body: Bytes,
    /// The URL the signature was verified over: the public URL plus path and query.
    pub url: String,
}

#[derive(Debug, Deserialize)]
struct StatusQuery {
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

/// Step 1: a present, well-formed `X-Twilio-Signature` header (not yet verified).
fn signature_header(req: &Request, state: &AppState) -> Result<String, (StatusCode, &'static str)> {
    let header = req.headers().get("x-twilio-signature");
    let Some(sig) = header.and_then(|v| v.to_str().ok()) else {
        state.rejections.record(
            RejectionKind::BadSignature,
            "Twilio webhook without X-Twilio-Signature rejected",
            req.uri().path(),
        );
        return Err((StatusCode::FORBIDDEN, "missing signature"));
    };
    if !signature::is_well_formed(sig) {
        state.rejections.record(
            RejectionKind::BadSignature,
            "Twilio webhook with a malformed X-Twilio-Signature rejected",
            req.uri().path(),
        );
        return Err((StatusCode::FORBIDDEN, "malformed signature"));
    }
    Ok(sig.to_owned())
}

impl FromRequest<AppState> for TwilioCallback {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        // Without a Twilio account there is nothing to verify against: the route is absent.
        let Some(token) = state.twilio_auth_token.clone() else {
            return Err((StatusCode::NOT_FOUND, "no Twilio account is configured").into_response());
        };
        let sig = signature_header(&req, state).map_err(IntoResponse::into_response)?;
        let (mut parts, body) = req.into_parts();
        let Query(q) = Query::<StatusQuery>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let uri = parts.uri.clone();
        let LimitedBody(body) =
            LimitedBody::from_request(Request::from_parts(parts, body), state).await?;
        let path_and_query = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
        let url = format!("{}{}", state.public_url, path_and_query);
        let checked = {
            let (url, body) = (url.clone(), body.clone());
            tokio::task::spawn_blocking(move || {
                decode_and_verify(token.expose_secret(), &url, &body, &sig)
            })
            .await
        };
        let refused = |kind, what, detail: &str, answer: (StatusCode, &'static str)| {
            state.rejections.record(kind, what, detail);
            answer.into_response()
        };
        match checked {
            Ok(Ok(params)) => Ok(TwilioCallback {
                attempt: q.attempt,
                params,
                body,
                url,
            }),
            Ok(Err(Refused::TooLarge)) => Err(refused(
                RejectionKind::TooLarge,
                "Twilio webhook with too many form fields rejected",
                uri.path(),
                (StatusCode::PAYLOAD_TOO_LARGE, "too many form fields"),
            )),
            Ok(Err(Refused::Malformed)) => Err(refused(
                RejectionKind::Malformed,
                "Twilio webhook with a malformed form body rejected",
                uri.path(),
                (StatusCode::BAD_REQUEST, "malformed form body"),
            )),
            Ok(Err(Refused::BadSignature)) => Err(refused(
                RejectionKind::BadSignature,
                "Twilio webhook with an invalid signature rejected",
                &url,
                (StatusCode::FORBIDDEN, "invalid signature"),
            )),
            Err(e) => {
                tracing::error!(error = %e, "Twilio webhook verification task failed");
                Err((StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response())
            }
        }
    }
}
