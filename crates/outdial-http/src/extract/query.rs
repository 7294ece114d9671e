//! [`ApiQuery`]: a query string read into a type, every failure answered in the
//! [`ApiError`] shape.

use crate::ApiError;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// Extractor: the query string deserialized as a `T` (axum's `Query`). Rejection: 400
/// `query: {what is wrong}` as JSON, like every other error of the admin API (axum's own
/// rejection is plain text).
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| ApiError::bad_request(format!("query: {}", e.body_text())))
    }
}
