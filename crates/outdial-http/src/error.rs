//! [`ApiError`]: the one error answer of the admin API, `{"error": "<message>"}` with a
//! status. The message is safe to show; an internal cause is logged once, here, and
//! answered `500 internal error` (a store that is unavailable: `503`, nothing was saved).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use outdial_engine::EngineError;
use outdial_store::StoreError;

/// An API error: a status and a message safe to show; the cause is logged once, here.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// An answer of `status` with `message` (shown to the client as it is).
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// `400 Bad Request` with `message`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// `404 Not Found` with `message`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// The status answered.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message, safe to show.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Store(StoreError::NotFound { entity, id }) => {
                ApiError::not_found(format!("not found: {entity} {id}"))
            }
            EngineError::UnknownDisposition(label) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("unknown disposition '{label}'"),
            ),
            EngineError::Conflict(what) => ApiError::new(StatusCode::CONFLICT, what),
            // Nothing of the request was saved (a full disk, a lost database): say so, and
            // let the sender retry (a provider, a CRM, an operator's script).
            EngineError::Store(StoreError::Unavailable { message: cause, .. }) => {
                tracing::error!(error = %cause, "storage unavailable; the request was not saved");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage unavailable: nothing was saved; retry later",
                )
            }
            other => {
                tracing::error!(error = %other, "request failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        EngineError::Store(e).into()
    }
}
