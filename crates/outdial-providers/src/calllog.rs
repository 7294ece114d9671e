//! A provider's log of outbound calls, read for `outdial backfill` (issue 11): the calls an
//! earlier system placed through the same account, so outdial can take over its leads where
//! it stopped. The [`CallLog`] trait is provider-neutral; each adapter implements it
//! (`bland::log`, `twilio::log`) and maps its list endpoint onto [`LoggedCall`]s.
//!
//! Both adapters read the log in fixed windows of UTC days, follow each window's pages,
//! deduplicate by call id (a call seen in two windows or on two pages counts once), keep the
//! calls created in `[since, until)`, and honour rate limits: an HTTP 429 waits for
//! `Retry-After` (seconds), else an exponential delay from [`RetryPolicy::first_delay`] up to
//! [`RetryPolicy::max_delay`], and asks again, at most [`RetryPolicy::max_retries`] times in a
//! row. Every other failure ends the fetch with a [`FetchError`] naming the window.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use outdial_core::{AnsweredBy, CallStatus, ProviderCallId, ProviderKind, E164};
use reqwest::StatusCode;

use crate::http::{error_chain, retry_after_seconds};
use crate::FetchError;

/// One outbound call of a provider's log, in outdial's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedCall {
    /// The provider's call id.
    pub call_id: ProviderCallId,
    /// The called number, normalised to E.164.
    pub to: E164,
    /// The caller id as the provider reports it (not validated).
    pub from: Option<String>,
    /// When the provider created the call, UTC.
    pub created_at: DateTime<Utc>,
    /// When the call ended, UTC, when the provider says (or its start plus its duration).
    pub ended_at: Option<DateTime<Utc>>,
    /// The call's status (final for a finished call).
    pub status: CallStatus,
    /// Answering-machine detection result, when known.
    pub answered_by: Option<AnsweredBy>,
    /// Call length, seconds, when final.
    pub duration_s: Option<u32>,
    /// A business outcome the provider recorded for the call (Bland's `disposition_tag`),
    /// as given; the campaign's disposition catalog resolves it.
    pub disposition_tag: Option<String>,
    /// The provider says the number itself is invalid (the call could not be placed to it).
    pub bad_number: bool,
}

/// What to read, and how patiently.
#[derive(Debug, Clone, PartialEq)]
pub struct LogQuery {
    /// Earliest creation instant kept (inclusive), UTC.
    pub since: DateTime<Utc>,
    /// Latest creation instant kept (exclusive), UTC.
    pub until: DateTime<Utc>,
    /// Calls asked for per request (default 1,000: Bland's default `limit`, Twilio's largest
    /// `PageSize`).
    pub page_size: u32,
    /// How rate limits are waited out.
    pub retry: RetryPolicy,
}

impl LogQuery {
    /// Calls created in `[since, until)` (UTC), 1,000 per request, [`RetryPolicy::default`].
    pub fn new(since: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        Self {
            since,
            until,
            page_size: 1000,
            retry: RetryPolicy::default(),
        }
    }
}

/// How an HTTP 429 is waited out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Most retries of one request in a row before the fetch fails with
    /// [`FetchError::RateLimited`]. Default 10.
    pub max_retries: u32,
    /// First delay without `Retry-After`; doubled after each retry. Default 1 s.
    pub first_delay: Duration,
    /// Longest delay, also for `Retry-After`. Default 60 s.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 10,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// How far a fetch has come, reported after each page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogProgress {
    /// Windows (UTC days) read completely.
    pub windows_done: u32,
    /// Windows to read.
    pub windows_total: u32,
    /// Distinct calls kept so far.
    pub calls: u64,
    /// Requests sent so far (retries included).
    pub requests: u64,
}

/// What a fetch read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogFetch {
    /// Distinct outbound calls created in `[since, until)`, oldest first.
    pub calls: Vec<LoggedCall>,
    /// Distinct inbound calls left out.
    pub inbound: u64,
    /// Items left out because they could not be used (no call id, no creation time, a
    /// called number that is not a phone number, an unknown status), each logged; counted
    /// per appearance (an item seen in two windows counts twice).
    pub unusable: u64,
    /// Requests sent (retries included).
    pub requests: u64,
    /// Requests answered HTTP 429 (and retried).
    pub rate_limited: u64,
}

/// A provider's log of outbound calls.
#[async_trait]
pub trait CallLog: Send + Sync + std::fmt::Debug {
    /// Which provider this is.
    fn provider(&self) -> ProviderKind;

    /// Every outbound call created in `[query.since, query.until)`, deduplicated by call id;
    /// `progress` is called after each page. Errors: rate limits past
    /// [`RetryPolicy::max_retries`] ([`FetchError::RateLimited`]), refused credentials
    /// ([`FetchError::Auth`]), an unreachable provider or a 5xx ([`FetchError::Unavailable`]),
    /// an answer that cannot be read ([`FetchError::Protocol`]); each message names the
    /// window.
    async fn fetch_log(
        &self,
        query: &LogQuery,
        progress: &(dyn Fn(LogProgress) + Send + Sync),
    ) -> Result<LogFetch, FetchError>;
}

/// The UTC days from `first` through `last`, inclusive (empty when `last < first`).
pub(crate) fn days(first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
    first.iter_days().take_while(|d| *d <= last).collect()
}

/// The same error with `context` in front of its message.
pub(crate) fn with_context(e: FetchError, context: &str) -> FetchError {
    match e {
        FetchError::NotFound => FetchError::Protocol(format!("{context}: not found")),
        FetchError::RateLimited(m) => FetchError::RateLimited(format!("{context}: {m}")),
        FetchError::Auth(m) => FetchError::Auth(format!("{context}: {m}")),
        FetchError::Unavailable(m) => FetchError::Unavailable(format!("{context}: {m}")),
        FetchError::Protocol(m) => FetchError::Protocol(format!("{context}: {m}")),
    }
}

/// Accumulates a fetch: deduplication, the `[since, until)` filter, the counters.
#[derive(Debug)]
pub(crate) struct Collector {
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    seen: HashSet<ProviderCallId>,
    inbound: HashSet<String>,
    pub(crate) out: LogFetch,
}

/// Why an item of a list page was left out.
#[derive(Debug)]
pub(crate) enum Skip {
    /// An inbound call, with its call id.
    Inbound(String),
    /// Unusable, with what is wrong.
    Unusable(String),
}

impl Collector {
    pub(crate) fn new(query: &LogQuery) -> Self {
        Self {
            since: query.since,
            until: query.until,
            seen: HashSet::new(),
            inbound: HashSet::new(),
            out: LogFetch::default(),
        }
    }

    /// Adds one item of a page: kept when new and created in `[since, until)`.
    pub(crate) fn push(&mut self, item: Result<LoggedCall, Skip>) {
        match item {
            Ok(c) => {
                if c.created_at >= self.since
                    && c.created_at < self.until
                    && self.seen.insert(c.call_id.clone())
                {
                    self.out.calls.push(c);
                }
            }
            Err(Skip::Inbound(id)) => {
                if self.inbound.insert(id) {
                    self.out.inbound += 1;
                }
            }
            Err(Skip::Unusable(why)) => {
                tracing::warn!(why = %why, "call log item left out");
                self.out.unusable += 1;
            }
        }
    }

    pub(crate) fn progress(&self, windows_done: usize, windows_total: usize) -> LogProgress {
        LogProgress {
            windows_done: windows_done as u32,
            windows_total: windows_total as u32,
            calls: self.out.calls.len() as u64,
            requests: self.out.requests,
        }
    }

    /// The fetch, oldest call first (ties by call id).
    pub(crate) fn finish(mut self) -> LogFetch {
        self.out
            .calls
            .sort_by(|a, b| (a.created_at, &a.call_id).cmp(&(b.created_at, &b.call_id)));
        self.out
    }

    /// Sends `make()` until it is not rate-limited (see [`RetryPolicy`]); returns the body of
    /// a 2xx answer, or `classify(status, body)` for any other.
    pub(crate) async fn get(
        &mut self,
        make: impl Fn() -> reqwest::RequestBuilder,
        retry: &RetryPolicy,
        classify: impl Fn(StatusCode, &[u8]) -> FetchError,
    ) -> Result<Vec<u8>, FetchError> {
        let mut retries = 0u32;
        loop {
            self.out.requests += 1;
            let resp = make()
                .send()
                .await
                .map_err(|e| FetchError::Unavailable(error_chain(&e)))?;
            let status = resp.status();
            let retry_after = retry_after_seconds(resp.headers());
            let body = resp.bytes().await.map_err(|e| {
                FetchError::Unavailable(format!("reading the response body: {}", error_chain(&e)))
            })?;
            if status.is_success() {
                return Ok(body.to_vec());
            }
            let err = classify(status, &body);
            if !matches!(err, FetchError::RateLimited(_)) {
                return Err(err);
            }
            self.out.rate_limited += 1;
            if retries >= retry.max_retries {
                return Err(FetchError::RateLimited(format!(
                    "still rate-limited after {retries} retries: {err}"
                )));
            }
            let delay = match retry_after {
                Some(s) => Duration::from_secs(s),
                None => retry.first_delay.saturating_mul(1 << retries.min(20)),
            }
            .min(retry.max_delay);
            retries += 1;
            tracing::info!(
                delay_ms = delay.as_millis() as u64,
                retries,
                "call log rate-limited; waiting"
            );
            tokio::time::sleep(delay).await;
        }
    }
}
