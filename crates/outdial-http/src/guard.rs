//! What stands between an unauthenticated sender and the server's work:
//! - [`LimitedBody`]: the request body, read only after the extractors before it (API key,
//!   webhook signature header) passed, at most [`MAX_BODY_BYTES`] (413 beyond, before reading
//!   when `Content-Length` says so) and within [`crate::HttpLimits::body_read_timeout`] in
//!   total (408 after it: a client dribbling a body cannot hold a request open);
//! - [`Rejections`]: counts of refused requests by kind, shown in `GET /api/v1/status`, and
//!   their warning lines, rate-limited to one per kind every [`LOG_INTERVAL`] with the number
//!   of lines left out, so that a flood of bad requests cannot flood the log.

use crate::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Largest request body accepted on any route, in bytes: the largest provider callback
/// bound ([`outdial_providers::MAX_CALLBACK_BODY_BYTES`], 64 KiB); the admin API's JSON
/// bodies are far smaller.
pub const MAX_BODY_BYTES: usize = outdial_providers::MAX_CALLBACK_BODY_BYTES;

/// At most one warning line per rejection kind in this interval (10 s); the next line says
/// how many were left out.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The kinds of refused requests that are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// A webhook without a valid provider signature header (missing, malformed or wrong):
    /// 403.
    BadSignature,
    /// An admin API request without a configured bearer key: 401.
    BadApiKey,
    /// A body over [`MAX_BODY_BYTES`] or a webhook over its field limit: 413.
    TooLarge,
    /// A body not received within the body read timeout: 408.
    BodyTimeout,
    /// An unauthenticated webhook body that is not a form: 400.
    Malformed,
}

impl RejectionKind {
    const ALL: [RejectionKind; 5] = [
        RejectionKind::BadSignature,
        RejectionKind::BadApiKey,
        RejectionKind::TooLarge,
        RejectionKind::BodyTimeout,
        RejectionKind::Malformed,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// Counts of refused requests since start, by kind (the `rejected_requests` object of
/// `GET /api/v1/status`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RejectionCounts {
    /// Webhooks refused for a missing, malformed or wrong signature (403).
    pub bad_signature: u64,
    /// Admin API requests refused for a missing or unknown API key (401).
    pub bad_api_key: u64,
    /// Requests refused for a body over the size or field limit (413).
    pub too_large: u64,
    /// Requests whose body did not arrive within the body read timeout (408).
    pub body_timeout: u64,
    /// Unauthenticated webhook bodies that are not a form (400).
    pub malformed: u64,
}

/// A rate limit on log lines: at most one per `interval`; counts what it refuses. Lock-free
/// (two atomics): a flood of rejected requests contends on nothing but these words.
#[derive(Debug)]
pub struct LogThrottle {
    interval_ms: u64,
    /// Milliseconds since `origin` before which no line is written.
    next_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl LogThrottle {
    /// A throttle letting one line through per `interval`, the first at once.
    pub fn new(interval: Duration) -> Self {
        LogThrottle {
            interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            next_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// At `now_ms` (monotonic milliseconds from any fixed origin): `Some(n)` when a line may
    /// be written, `n` being the lines refused since the last one; `None` (counted) otherwise.
    pub fn allow_at(&self, now_ms: u64) -> Option<u64> {
        let next = self.next_ms.load(Ordering::Relaxed);
        if now_ms >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now_ms.saturating_add(self.interval_ms),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// Counters and log throttles of refused requests, shared by every request.
#[derive(Debug)]
pub struct Rejections {
    origin: Instant,
    counts: [AtomicU64; 5],
    throttles: [LogThrottle; 5],
}

impl Default for Rejections {
    fn default() -> Self {
        Rejections {
            origin: Instant::now(),
            counts: Default::default(),
            throttles: std::array::from_fn(|_| LogThrottle::new(LOG_INTERVAL)),
        }
    }
}

impl Rejections {
    /// Counts a refused request of `kind` and writes its warning line, `what` (a fixed
    /// description) and `detail` (path, reason), unless the kind's throttle holds it back.
    pub fn record(&self, kind: RejectionKind, what: &'static str, detail: &str) {
        self.counts[kind.index()].fetch_add(1, Ordering::Relaxed);
        let now_ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        if let Some(suppressed) = self.throttles[kind.index()].allow_at(now_ms) {
            tracing::warn!(
                %detail,
                suppressed,
                "{what} (at most one such line every {}s; `suppressed` were left out since the last)",
                LOG_INTERVAL.as_secs()
            );
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> RejectionCounts {
        let [bad_signature, bad_api_key, too_large, body_timeout, malformed] =
            RejectionKind::ALL.map(|k| self.counts[k.index()].load(Ordering::Relaxed));
        RejectionCounts {
            bad_signature,
            bad_api_key,
            too_large,
            body_timeout,
            malformed,
        }
    }
}

/// Extractor: the whole request body, bounded in size ([`MAX_BODY_BYTES`]) and in reading
/// time (`HttpLimits::body_read_timeout`, from the first poll to the last byte). Put it last,
/// after the authentication extractors, so that an unauthenticated request's body is never
/// read. Rejections: 413 (too large), 408 (too slow), 400 (the body broke off); each counted.
#[derive(Debug)]
pub struct LimitedBody(pub Bytes);

impl FromRequest<AppState> for LimitedBody {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        read_body_up_to(req, state, MAX_BODY_BYTES)
            .await
            .map(LimitedBody)
    }
}

/// Reads the body as [`LimitedBody`] does, but with a bound of `max` bytes: for a provider
/// route whose callbacks may be larger than [`MAX_BODY_BYTES`] (each adapter's own bound).
/// A refusal closes the connection.
pub(crate) async fn read_body_up_to(
    req: Request,
    state: &AppState,
    max: usize,
) -> Result<Bytes, Response> {
    // The rest of the body is not read: the connection cannot carry another request.
    read_limited(req, state, max).await.map_err(|e| {
        let mut response = e.into_response();
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        response
    })
}

/// Reads the body within the limits (at most `max` bytes); see [`LimitedBody`].
async fn read_limited(req: Request, state: &AppState, max: usize) -> Result<Bytes, ApiError> {
    let path = req.uri().path().to_owned();
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        state.rejections.record(
            RejectionKind::TooLarge,
            "request with a body over the size limit rejected",
            &path,
        );
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is over the limit of {max} bytes"),
        )
    };
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let limited = http_body_util::Limited::new(req.into_body(), max);
    match tokio::time::timeout(state.limits.body_read_timeout, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_large())
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, %path, "request body could not be read");
            Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "request body could not be read",
            ))
        }
        Err(_elapsed) => {
            state.rejections.record(
                RejectionKind::BodyTimeout,
                "request whose body was not received in time rejected",
                &path,
            );
            Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "request body not received within {} s",
                    state.limits.body_read_timeout.as_secs_f64()
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_lets_one_line_through_per_interval_and_counts_the_rest() {
        let t = LogThrottle::new(Duration::from_secs(10));
        assert_eq!(t.allow_at(5), Some(0));
        assert_eq!(t.allow_at(6), None);
        assert_eq!(t.allow_at(9_999), None);
        assert_eq!(t.allow_at(10_004), None);
        assert_eq!(t.allow_at(10_005), Some(3));
        assert_eq!(t.allow_at(10_006), None);
        assert_eq!(t.allow_at(60_000), Some(1));
    }

    #[test]
    fn rejections_are_counted_by_kind() {
        let r = Rejections::default();
        for _ in 0..3 {
            r.record(RejectionKind::BadSignature, "x", "/p");
        }
        r.record(RejectionKind::TooLarge, "x", "/p");
        assert_eq!(
            r.counts(),
            RejectionCounts {
                bad_signature: 3,
                too_large: 1,
                ..RejectionCounts::default()
            }
        );
    }
}
