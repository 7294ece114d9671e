//! [`JsonBody`]: JSON request bodies, every parse failure answered in one shape.
//!
//! Not axum's `Json`: that one insists on `Content-Type: application/json` and reads the
//! body its own way, and scripts send these bodies without the header. Bodies are read
//! through [`LimitedBody`] (size bound, read timeout) like every other body.

use crate::guard::LimitedBody;
use crate::{ApiError, AppState};
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// A request body type, with the example shown when a body does not parse.
pub trait JsonShape: DeserializeOwned {
    /// An example of a valid body, for the 400 message (`{"reason": "…"}`).
    const EXAMPLE: &'static str;
}

/// Parses `body` as a `T`. Errors: 400 `body must be JSON like {EXAMPLE}: {serde error}`.
pub fn parse_json<T: JsonShape>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("body must be JSON like {}: {e}", T::EXAMPLE)))
}

/// Extractor: the body, read by [`LimitedBody`] (its 408/413 rejections) and parsed by
/// [`parse_json`] (400).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: JsonShape> FromRequest<AppState> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let LimitedBody(body) = LimitedBody::from_request(req, state).await?;
        parse_json(&body)
            .map(JsonBody)
            .map_err(IntoResponse::into_response)
    }
}
