//! [`PathId`]: typed numeric ids in the path.

use crate::{ApiError, AppState};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use outdial_core::{AttemptId, LeadId};
use outdial_store::JobId;

/// An id type that appears as `{id}` in a route's path.
pub trait PathIdKind: Sized + Send {
    /// The parameter's name in error messages: `lead`, `attempt`, `job`.
    const NAME: &'static str;
    /// The id of a parsed number.
    fn from_number(n: i64) -> Self;
}

impl PathIdKind for LeadId {
    const NAME: &'static str = "lead";
    fn from_number(n: i64) -> Self {
        LeadId(n)
    }
}

impl PathIdKind for AttemptId {
    const NAME: &'static str = "attempt";
    fn from_number(n: i64) -> Self {
        AttemptId(n)
    }
}

impl PathIdKind for JobId {
    const NAME: &'static str = "job";
    fn from_number(n: i64) -> Self {
        JobId(n)
    }
}

/// Extractor: the route's single path parameter parsed as a `T` id (a decimal `i64`).
/// Rejection: 400 `{NAME} id must be a number, got '{text}'`.
#[derive(Debug, Clone, Copy)]
pub struct PathId<T>(pub T);

impl<T: PathIdKind> FromRequestParts<AppState> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let bad = |text: &str| {
            ApiError::bad_request(format!("{} id must be a number, got '{text}'", T::NAME))
        };
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| bad(&e.body_text()))?;
        text.parse::<i64>()
            .map(|n| PathId(T::from_number(n)))
            .map_err(|_| bad(&text))
    }
}
