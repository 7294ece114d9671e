//! [`ApiKey`]: the admin API's authentication.

use crate::guard::RejectionKind;
use crate::{ApiError, AppState};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use secrecy::ExposeSecret;

/// Extractor: the request carries `Authorization: Bearer <key>` with a configured key
/// (compared in constant time). Rejection: 401 `missing bearer API key` or `unknown API
/// key`, counted as [`RejectionKind::BadApiKey`].
#[derive(Debug)]
pub struct ApiKey;

impl FromRequestParts<AppState> for ApiKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let given = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(given) = given else {
            state.rejections.record(
                RejectionKind::BadApiKey,
                "API request without a bearer key rejected",
                parts.uri.path(),
            );
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing bearer API key",
            ));
        };
        let ok = state.api_keys.iter().any(|k| {
            let k = k.expose_secret().as_bytes();
            k.len() == given.len() && subtle::ConstantTimeEq::ct_eq(k, given.as_bytes()).into()
        });
        if ok {
            Ok(ApiKey)
        } else {
            state.rejections.record(
                RejectionKind::BadApiKey,
                "API request with an unknown key rejected",
                parts.uri.path(),
            );
            Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown API key"))
        }
    }
}
