//! [`TwilioClient`]: the [`Provider`] over Twilio's 2010-04-01 REST API (Calls resource).
//!
//! - create: `POST {api_base}/2010-04-01/Accounts/{AccountSid}/Calls.json` (form body, 201 JSON);
//! - fetch: `GET {api_base}/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`;
//! - list: `GET {api_base}/2010-04-01/Accounts/{AccountSid}/Calls.json?To=…&StartTime>=…`,
//!   following `next_page_uri`;
//! - end: `POST {api_base}/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json` with
//!   `Status=canceled` or `Status=completed` (see [`TwilioClient::end_call`]).
//!
//! All requests use HTTP Basic auth (account SID, auth token). Sources: twilio-oai
//! `spec/json/twilio_api_v2010.json` (operations `CreateCall`, `FetchCall`, `ListCall`,
//! `UpdateCall`) and
//! <https://www.twilio.com/docs/voice/api/call-resource>. Error bodies are Twilio's
//! `{code, message, more_info, status}` (twilio-go `client/error.go`); RFC 9457 problem bodies
//! (`type`, `title`, `detail`, `status`, no `code`) are accepted too and classified by HTTP
//! status alone.
//!
//! How failures of `place_call` are classified (see [`PlaceError`]):
//!
//! | what happened | class |
//! |---|---|
//! | 2xx with a body holding `sid` | success |
//! | 2xx whose body cannot be read or holds no `sid` | `Ambiguous` (a call may exist) |
//! | HTTP 429, or code 20429 on a 4xx | `RateLimited` (with `Retry-After` seconds) |
//! | HTTP 401/403, or code 20003 on a 4xx | `Auth` |
//! | HTTP 408 | `Ambiguous` (a gateway timed out; the request may have been forwarded) |
//! | HTTP 400 with code 22005 (call queue full) or 10004 (call concurrency limit) | `RateLimited` |
//! | any other 4xx (21211, 21214, 21217, 21210, 21215, 21216, …) | `Rejected`, with the reason from [`reject_reason`] |
//! | HTTP 5xx, 1xx or 3xx (redirects are not followed) | `Ambiguous` |
//! | connection refused, DNS or TLS failure, connect timeout, bad URL | `NotSent` |
//! | request timeout, connection reset, body read failure after sending | `Ambiguous` |

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outdial_core::{AnsweredBy, AttemptId, CallStatus, FailureKind, ProviderCallId, E164};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use tracing::field::Empty;
use url::Url;

use crate::http::{
    build_client, error_chain, join_path, parse_api_base, send_create, send_read, u64_of,
    CreateAnswer,
};
use crate::{CallSnapshot, FetchError, PlaceCall, PlaceError, PlacedCall, Provider, RejectReason};

/// Twilio's production REST base URL.
pub const DEFAULT_API_BASE: &str = "https://api.twilio.com";

/// Default timeout of one REST request (connect through reading the whole body).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The four call progress events requested on every call (`StatusCallbackEvent`, sent as four
/// repeated form fields).
pub const STATUS_CALLBACK_EVENTS: [&str; 4] = ["initiated", "ringing", "answered", "completed"];

/// Most list pages followed before [`TwilioClient::list_calls_to`] gives up with
/// [`FetchError::Protocol`] (at 1,000 calls a page, far beyond any real number's history).
pub const MAX_LIST_PAGES: usize = 50;

/// Longest provider message kept from an error body that is not Twilio JSON, in characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// Twilio error 21220, "Invalid call state for operation": the update does not apply to the
/// call's current state (<https://www.twilio.com/docs/errors/21220>).
pub const ERROR_INVALID_CALL_STATE: u32 = 21220;

/// Connection settings for one Twilio account.
///
/// `Debug` never prints the auth token (it is a [`SecretString`]).
#[derive(Clone, Debug)]
pub struct TwilioConfig {
    /// REST base URL, scheme and host (and optionally a path prefix), no trailing query:
    /// [`DEFAULT_API_BASE`] in production, the fake carrier or a mock in tests. A trailing
    /// `/` is ignored.
    pub api_base: String,
    /// Account SID, `AC` + 32 hex digits; the Basic-auth user name.
    pub account_sid: String,
    /// Primary auth token; the Basic-auth password.
    pub auth_token: SecretString,
    /// Timeout of one REST request, from connecting to reading the whole response body.
    /// Connecting alone is bounded by half of it (at most 10 s), so a host that cannot be
    /// reached yields [`PlaceError::NotSent`] rather than `Ambiguous`.
    pub request_timeout: Duration,
}

impl TwilioConfig {
    /// Settings for `account_sid` with [`DEFAULT_API_BASE`] and [`DEFAULT_REQUEST_TIMEOUT`].
    pub fn new(account_sid: impl Into<String>, auth_token: SecretString) -> Self {
        Self {
            api_base: DEFAULT_API_BASE.to_owned(),
            account_sid: account_sid.into(),
            auth_token,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// Why a [`TwilioClient`] could not be built from a [`TwilioConfig`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwilioConfigError {
    /// The account SID does not match `^AC[0-9a-fA-F]{32}$`.
    #[error("Twilio account SID '{0}' is not AC followed by 32 hex digits")]
    InvalidAccountSid(String),
    /// The API base is not an absolute `http`/`https` URL without query or fragment.
    #[error("Twilio API base '{api_base}' is not usable: {reason}")]
    InvalidApiBase {
        /// The configured value.
        api_base: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request timeout is zero.
    #[error("Twilio request timeout must be greater than zero")]
    ZeroTimeout,
    /// The HTTP client could not be built (TLS back-end initialisation).
    #[error("HTTP client: {0}")]
    HttpClient(String),
}

/// True when `sid` matches `^AC[0-9a-fA-F]{32}$` (twilio-oai `AccountSid` pattern).
pub fn is_valid_account_sid(sid: &str) -> bool {
    sid.len() == 34 && sid.starts_with("AC") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The Twilio adapter: places, fetches and lists calls of one account over the REST API.
///
/// Cheap to clone (the HTTP connection pool is shared). Never retries a request itself:
/// retry policy belongs to the engine, which knows whether a retry is safe.
#[derive(Clone)]
pub struct TwilioClient {
    cfg: TwilioConfig,
    base: Url,
    http: reqwest::Client,
}

impl fmt::Debug for TwilioClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioClient")
            .field("api_base", &self.base.as_str())
            .field("account_sid", &self.cfg.account_sid)
            .field("request_timeout", &self.cfg.request_timeout)
            .finish_non_exhaustive()
    }
}

impl TwilioClient {
    /// Validates `cfg` and builds the client (redirects are never followed).
    ///
    /// Errors: [`TwilioConfigError::InvalidAccountSid`], [`TwilioConfigError::InvalidApiBase`],
    /// [`TwilioConfigError::ZeroTimeout`], [`TwilioConfigError::HttpClient`].
    pub fn new(cfg: TwilioConfig) -> Result<Self, TwilioConfigError> {
        if !is_valid_account_sid(&cfg.account_sid) {
            return Err(TwilioConfigError::InvalidAccountSid(cfg.account_sid));
        }
        if cfg.request_timeout.is_zero() {
            return Err(TwilioConfigError::ZeroTimeout);
        }
        let bad_base = |reason: &str| TwilioConfigError::InvalidApiBase {
            api_base: cfg.api_base.clone(),
            reason: reason.to_owned(),
        };
        let base = parse_api_base(&cfg.api_base).map_err(|e| bad_base(&e))?;
        let http = build_client(cfg.request_timeout, HeaderMap::new())
            .map_err(TwilioConfigError::HttpClient)?;
        Ok(Self { cfg, base, http })
    }

    /// The settings this client was built from.
    pub fn config(&self) -> &TwilioConfig {
        &self.cfg
    }

    /// `{api_base}/2010-04-01/Accounts/{sid}/` followed by `tail` (each element one path
    /// segment, percent-encoded as needed).
    pub(crate) fn endpoint(&self, tail: &[&str]) -> Url {
        let prefix = ["2010-04-01", "Accounts", self.cfg.account_sid.as_str()];
        let segments: Vec<&str> = prefix.iter().chain(tail).copied().collect();
        join_path(&self.base, &segments)
    }

    pub(crate) fn get(&self, url: Url) -> reqwest::RequestBuilder {
        self.http.get(url).basic_auth(
            &self.cfg.account_sid,
            Some(self.cfg.auth_token.expose_secret()),
        )
    }

    /// One GET of a list page: the parsed page, or the classified failure.
    async fn get_page(&self, url: Url) -> Result<CallPage, FetchError> {
        let (status, body) = self.get_json(url).await?;
        if status.is_success() {
            let page: CallPage = serde_json::from_slice(&body)
                .map_err(|e| FetchError::Protocol(format!("list page is not a call page: {e}")))?;
            return Ok(page);
        }
        match fetch_failure(status, &body) {
            // A 404 on the list endpoint says nothing about calls: it is a wrong URL or account.
            FetchError::NotFound => Err(FetchError::Protocol(format!(
                "list endpoint answered HTTP 404: {}",
                TwilioErrorBody::parse(&body).describe(status)
            ))),
            other => Err(other),
        }
    }

    /// Sends a GET and reads the whole body; transport failures become `Unavailable`.
    async fn get_json(&self, url: Url) -> Result<(StatusCode, Vec<u8>), FetchError> {
        send_read(self.get(url))
            .await
            .inspect_err(|e| tracing::warn!(error = %e, "Twilio GET failed"))
    }
}

/// The `Status` of a call update (twilio-oai `call_enum_update_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndStatus {
    /// Hangs up a queued or ringing call; does not affect a call in progress.
    Canceled,
    /// Hangs up the call, even in progress.
    Completed,
}

impl EndStatus {
    fn as_str(self) -> &'static str {
        match self {
            EndStatus::Canceled => "canceled",
            EndStatus::Completed => "completed",
        }
    }
}

/// Why one update request did not return a call.
#[derive(Debug)]
enum UpdateFailure {
    /// 4xx with code 21220: the update does not apply to the call's state (it was answered
    /// or ended meanwhile).
    InvalidState(String),
    /// Anything else, classified as for a fetch.
    Other(FetchError),
}

impl TwilioClient {
    /// One `POST Calls/{Sid}.json` with `Status=…`: the call resource Twilio answers with.
    async fn post_status(
        &self,
        call_id: &ProviderCallId,
        status: EndStatus,
    ) -> Result<CallSnapshot, UpdateFailure> {
        let url = self.endpoint(&["Calls", &format!("{}.json", call_id.as_str())]);
        let resp = self
            .http
            .post(url)
            .basic_auth(
                &self.cfg.account_sid,
                Some(self.cfg.auth_token.expose_secret()),
            )
            .form(&[("Status", status.as_str())])
            .send()
            .await
            .map_err(|e| {
                let msg = error_chain(&e);
                tracing::warn!(error = %msg, status = status.as_str(), "Twilio update call failed");
                UpdateFailure::Other(FetchError::Unavailable(msg))
            })?;
        let http = resp.status();
        let body = resp.bytes().await.map_err(|e| {
            UpdateFailure::Other(FetchError::Unavailable(format!(
                "reading the response body: {}",
                error_chain(&e)
            )))
        })?;
        if http.is_success() {
            let call: CallResource = serde_json::from_slice(&body).map_err(|e| {
                UpdateFailure::Other(FetchError::Protocol(format!("not a call resource: {e}")))
            })?;
            return call.into_snapshot().map_err(UpdateFailure::Other);
        }
        let err = TwilioErrorBody::parse(&body);
        if http.is_client_error() && err.code == Some(ERROR_INVALID_CALL_STATE) {
            return Err(UpdateFailure::InvalidState(err.describe(http)));
        }
        Err(UpdateFailure::Other(fetch_failure(http, &body)))
    }

    /// After a 21220 answer to `Status=completed`: the call most likely ended meanwhile, so
    /// fetch it; a final status is the answer, anything else is a protocol error.
    async fn refetch_after_invalid_state(
        &self,
        call_id: &ProviderCallId,
        message: &str,
    ) -> Result<CallSnapshot, FetchError> {
        let snap = self.fetch_call(call_id).await?;
        if snap.status.is_final() {
            Ok(snap)
        } else {
            Err(FetchError::Protocol(format!(
                "Twilio refused to complete call {} ({message}) yet reports it {}",
                call_id.as_str(),
                snap.status.as_str()
            )))
        }
    }
}

#[async_trait]
impl Provider for TwilioClient {
    /// Ends a live call; see [`Provider::end_call`].
    ///
    /// 1. `GET Calls/{Sid}.json`; a final call is returned as it is (no update is sent).
    /// 2. `POST Calls/{Sid}.json` with `Status=canceled` when the call is `queued`, `initiated`
    ///    or `ringing`, with `Status=completed` when it is `in-progress`. Twilio: "Specifying
    ///    canceled will attempt to hangup calls that are queued or ringing but not affect
    ///    calls already in progress. Specifying completed will attempt to hang up a call even
    ///    if it's already in progress"
    ///    (<https://www.twilio.com/docs/api/rest/change-call-state>,
    ///    <https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource>; twilio-oai
    ///    `UpdateCall`, `call_enum_update_status`).
    /// 3. If the cancel did not apply because the call was answered in between (the answer
    ///    still says `in-progress`, or Twilio refuses with 21220), one more POST with
    ///    `Status=completed`. If `completed` is refused with 21220 (the call ended meanwhile),
    ///    the call is fetched again and returned when final.
    ///
    /// Returns the call resource of the last answer (normally final: `canceled` or
    /// `completed`). Errors as for [`Provider::fetch_call`]: `NotFound` (404), `RateLimited`,
    /// `Auth`, `Unavailable` (transport, 5xx: the end may or may not have happened; asking
    /// again is safe), `Protocol`.
    #[tracing::instrument(
        name = "twilio.end_call",
        skip_all,
        fields(call_sid = %call_id.as_str(), before = Empty, after = Empty)
    )]
    async fn end_call(&self, call_id: &ProviderCallId) -> Result<CallSnapshot, FetchError> {
        let current = self.fetch_call(call_id).await?;
        let span = tracing::Span::current();
        span.record("before", current.status.as_str());
        if current.status.is_final() {
            span.record("after", current.status.as_str());
            return Ok(current);
        }
        let first = if current.status == CallStatus::InProgress {
            EndStatus::Completed
        } else {
            EndStatus::Canceled
        };
        let ended = match (first, self.post_status(call_id, first).await) {
            (EndStatus::Canceled, Ok(snap)) if snap.status == CallStatus::InProgress => {
                tracing::info!("call answered before the cancel; completing it");
                self.complete_after_cancel(call_id).await
            }
            (EndStatus::Canceled, Err(UpdateFailure::InvalidState(msg))) => {
                tracing::info!(reason = %msg, "cancel refused; completing the call");
                self.complete_after_cancel(call_id).await
            }
            (_, Ok(snap)) => Ok(snap),
            (EndStatus::Completed, Err(UpdateFailure::InvalidState(msg))) => {
                self.refetch_after_invalid_state(call_id, &msg).await
            }
            (_, Err(UpdateFailure::Other(e))) => Err(e),
        };
        match &ended {
            Ok(snap) => {
                span.record("after", snap.status.as_str());
                tracing::info!(status = snap.status.as_str(), "Twilio ended the call");
            }
            Err(e) => tracing::warn!(error = %e, "Twilio end call failed"),
        }
        ended
    }

    #[tracing::instrument(
        name = "twilio.place_call",
        skip_all,
        fields(to = %req.to.as_str(), from = %req.from.as_str(), call_sid = Empty, http_status = Empty)
    )]
    async fn place_call(&self, req: &PlaceCall) -> Result<PlacedCall, PlaceError> {
        let url = self.endpoint(&["Calls.json"]);
        let form = place_form(req).inspect_err(|e| tracing::warn!(error = %e, "not sent"))?;
        let req = self
            .http
            .post(url)
            .basic_auth(
                &self.cfg.account_sid,
                Some(self.cfg.auth_token.expose_secret()),
            )
            .form(&form);
        let CreateAnswer {
            status,
            retry_after_s,
            body,
        } = send_create(req).await.inspect_err(|err| match err {
            PlaceError::Ambiguous { .. } => {
                tracing::warn!(error = %err, "Twilio create call outcome unknown")
            }
            _ => tracing::warn!(error = %err, "Twilio create call failed in transport"),
        })?;
        tracing::Span::current().record("http_status", status.as_u16());
        if status.is_success() {
            let placed = parse_created(&body).map_err(|why| PlaceError::Ambiguous {
                message: format!("HTTP {status} with an unusable body ({why}); a call may exist"),
            });
            match &placed {
                Ok(p) => {
                    tracing::Span::current().record("call_sid", p.call_id.as_str());
                    if p.queue_time_ms.is_some_and(|q| q > 0) {
                        tracing::warn!(
                            queue_time_ms = p.queue_time_ms,
                            "Twilio queued the call: account CPS exceeded"
                        );
                    }
                    tracing::info!(status = p.status.as_str(), "Twilio accepted the call");
                }
                Err(e) => tracing::warn!(error = %e, "Twilio create call outcome unknown"),
            }
            return placed;
        }
        let err = classify_place_failure(status, &body, retry_after_s);
        tracing::warn!(error = %err, "Twilio create call failed");
        Err(err)
    }

    #[tracing::instrument(
        name = "twilio.fetch_call",
        skip_all,
        fields(call_sid = %call_id.as_str(), http_status = Empty)
    )]
    async fn fetch_call(&self, call_id: &ProviderCallId) -> Result<CallSnapshot, FetchError> {
        let url = self.endpoint(&["Calls", &format!("{}.json", call_id.as_str())]);
        let (status, body) = self.get_json(url).await?;
        tracing::Span::current().record("http_status", status.as_u16());
        if status.is_success() {
            let call: CallResource = serde_json::from_slice(&body)
                .map_err(|e| FetchError::Protocol(format!("not a call resource: {e}")))?;
            return call.into_snapshot();
        }
        let err = fetch_failure(status, &body);
        if err != FetchError::NotFound {
            tracing::warn!(error = %err, "Twilio fetch call failed");
        }
        Err(err)
    }

    #[tracing::instrument(
        name = "twilio.list_calls_to",
        skip_all,
        fields(to = %to.as_str(), since = %since.to_rfc3339(), pages = Empty, calls = Empty)
    )]
    async fn list_calls_to(
        &self,
        to: &E164,
        since: DateTime<Utc>,
    ) -> Result<Vec<CallSnapshot>, FetchError> {
        let mut url = self.endpoint(&["Calls.json"]);
        url.query_pairs_mut()
            .append_pair("To", to.as_str())
            .append_pair("StartTime>", &since.format("%Y-%m-%d").to_string())
            .append_pair("PageSize", "1000");
        let mut out = Vec::new();
        let mut pages = 0usize;
        let mut next = Some(url);
        while let Some(url) = next.take() {
            if pages == MAX_LIST_PAGES {
                return Err(FetchError::Protocol(format!(
                    "more than {MAX_LIST_PAGES} list pages for one number"
                )));
            }
            pages += 1;
            let page = self.get_page(url).await?;
            for call in page.calls {
                let snap = call.into_snapshot()?;
                // `StartTime>` filters by day; keep calls created at or after `since`, and
                // any call whose creation time is unknown (it may be the one sought).
                if snap.created_at.is_none_or(|c| c >= since) {
                    out.push(snap);
                }
            }
            next = match page.next_page_uri.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(uri) => Some(self.next_page_url(uri)?),
            };
        }
        let span = tracing::Span::current();
        span.record("pages", pages);
        span.record("calls", out.len());
        Ok(out)
    }

    /// `{public_url}/webhooks/twilio/status?attempt={id}`
    /// ([`webhook::status_callback_url`](super::webhook::status_callback_url)).
    fn status_callback_url(&self, public_url: &str, attempt: AttemptId) -> String {
        super::webhook::status_callback_url(public_url, attempt.0)
    }

    /// [`webhook::WEBHOOK_SOURCE`](super::webhook::WEBHOOK_SOURCE).
    fn webhook_source(&self) -> &'static str {
        super::webhook::WEBHOOK_SOURCE
    }
}

impl TwilioClient {
    /// The single retry of [`TwilioClient::end_call`]: `Status=completed` after a cancel that
    /// did not apply.
    async fn complete_after_cancel(
        &self,
        call_id: &ProviderCallId,
    ) -> Result<CallSnapshot, FetchError> {
        match self.post_status(call_id, EndStatus::Completed).await {
            Ok(snap) => Ok(snap),
            Err(UpdateFailure::InvalidState(msg)) => {
                self.refetch_after_invalid_state(call_id, &msg).await
            }
            Err(UpdateFailure::Other(e)) => Err(e),
        }
    }

    /// `next_page_uri` is a path (and query) relative to the API base.
    pub(crate) fn next_page_url(&self, uri: &str) -> Result<Url, FetchError> {
        if !uri.starts_with('/') || uri.starts_with("//") {
            return Err(FetchError::Protocol(format!(
                "next_page_uri '{uri}' is not a path relative to the API base"
            )));
        }
        let joined = format!("{}{}", self.base.as_str().trim_end_matches('/'), uri);
        Url::parse(&joined).map_err(|e| FetchError::Protocol(format!("next_page_uri '{uri}': {e}")))
    }
}

/// The create-call form: `To`, `From`, `Url` or `Twiml`, `StatusCallback`,
/// `StatusCallbackMethod=POST`, four `StatusCallbackEvent`s, `Timeout`, `TimeLimit`,
/// optional `DetectionMode`. [`PlaceError::Unsupported`] when the campaign's settings ask
/// for what Twilio cannot do (see [`super::campaign::check`]).
fn place_form(req: &PlaceCall) -> Result<Vec<(&'static str, String)>, PlaceError> {
    let mut form: Vec<(&'static str, String)> = vec![
        ("To", req.to.as_str().to_owned()),
        ("From", req.from.as_str().to_owned()),
    ];
    let unsupported = |message| PlaceError::Unsupported { message };
    form.push(super::campaign::answer_field(&req.answer).map_err(unsupported)?);
    super::campaign::check_options(&req.options).map_err(unsupported)?;
    form.push(("StatusCallback", req.status_callback.clone()));
    form.push(("StatusCallbackMethod", "POST".to_owned()));
    for ev in STATUS_CALLBACK_EVENTS {
        form.push(("StatusCallbackEvent", ev.to_owned()));
    }
    form.push(("Timeout", req.ring_timeout_s.to_string()));
    form.push(("TimeLimit", req.time_limit_s.to_string()));
    if let Some(md) = super::campaign::machine_detection(&req.machine).map_err(unsupported)? {
        form.push(("DetectionMode", md.to_owned()));
    }
    Ok(form)
}

/// Twilio codes that refuse the called number itself: the lead ends `BAD_NUMBER`.
/// Sources: <https://www.twilio.com/docs/api/errors/21211> (invalid 'To'), `/21214` ('To'
/// cannot be reached), `/21217` (number does not appear valid), `/13224` (Twilio does not
/// support calling this number or it is invalid).
pub const BAD_NUMBER_CODES: [u32; 4] = [21211, 21214, 21217, 13224];

/// Twilio codes that refuse one destination from this account: the lead is parked with the
/// reason. Sources: <https://support.twilio.com/hc/en-us/articles/223180228> (geographic
/// permissions surface as 21215, 32205 or 13227),
/// <https://support.twilio.com/hc/en-us/articles/49801363547675> (21216, number blocked:
/// high-risk destination or regulatory).
pub const DESTINATION_CODES: [u32; 4] = [21215, 32205, 13227, 21216];

/// Twilio codes that refuse the account itself, whatever number is called: the global kill
/// switch trips. Sources: <https://www.twilio.com/docs/api/errors/21210> ('From' not a Twilio
/// number or verified caller id); 21212 (invalid 'From'), 21219 (trial account: 'To' not
/// verified), 20005 (account not active), 20003 (authentication) are widely used and listed
/// as unverified in `shared/reference/telephony-apis.md`.
pub const ACCOUNT_CODES: [u32; 5] = [21210, 21212, 21219, 20005, 20003];

/// Twilio codes of a 4xx that mean "not now" rather than "no": the call queue is full
/// (<https://twilio.com/docs/api/errors/22005>) or the call concurrency cap is reached
/// (<https://www.twilio.com/docs/api/errors/10004>). Handled like a 429: retried later.
pub const TRY_LATER_CODES: [u32; 2] = [22005, 10004];

/// The failure kind of a raw Twilio code that versions before [`FailureKind`] stored as an
/// attempt's `error_code`: the rate limits `429` (HTTP) and `20429` are
/// [`FailureKind::RateLimited`]; anything else is `None`.
pub fn legacy_failure_kind(code: &str) -> Option<FailureKind> {
    matches!(code, "429" | "20429").then_some(FailureKind::RateLimited)
}

/// What a Twilio refusal code is about (see [`RejectReason`]); an unknown or missing code is
/// [`RejectReason::Other`].
pub fn reject_reason(code: Option<u32>) -> RejectReason {
    match code {
        Some(c) if BAD_NUMBER_CODES.contains(&c) => RejectReason::BadNumber,
        Some(c) if DESTINATION_CODES.contains(&c) => RejectReason::Destination,
        Some(c) if ACCOUNT_CODES.contains(&c) => RejectReason::Account,
        _ => RejectReason::Other,
    }
}

/// Classifies a non-2xx create response (see the module table).
fn classify_place_failure(
    status: StatusCode,
    body: &[u8],
    retry_after_s: Option<u64>,
) -> PlaceError {
    let err = TwilioErrorBody::parse(body);
    let http = status.as_u16();
    let code = err.code;
    let message = err.describe(status);
    let client_error = status.is_client_error();
    let try_later = code.is_some_and(|c| c == 20429 || TRY_LATER_CODES.contains(&c));
    if http == 429 || (client_error && try_later) {
        PlaceError::RateLimited {
            code,
            message,
            retry_after_s,
        }
    } else if status.is_server_error() {
        PlaceError::Ambiguous {
            message: format!("HTTP {http}: {message}"),
        }
    } else if http == 401 || http == 403 || (client_error && code == Some(20003)) {
        PlaceError::Auth {
            http_status: http,
            code,
            message,
        }
    } else if http == 408 {
        PlaceError::Ambiguous {
            message: format!("HTTP 408: {message}"),
        }
    } else if client_error {
        PlaceError::Rejected {
            reason: reject_reason(code),
            http_status: http,
            code,
            message,
        }
    } else {
        PlaceError::Ambiguous {
            message: format!("unexpected HTTP {http}: {message}"),
        }
    }
}

/// Classifies a non-2xx fetch/list response.
pub(crate) fn fetch_failure(status: StatusCode, body: &[u8]) -> FetchError {
    let err = TwilioErrorBody::parse(body);
    let message = err.describe(status);
    let http = status.as_u16();
    match (http, err.code) {
        (404, _) => FetchError::NotFound,
        (429, _) | (400..=499, Some(20429)) => FetchError::RateLimited(message),
        (401 | 403, _) | (400..=499, Some(20003)) => FetchError::Auth(message),
        (500..=599, _) => FetchError::Unavailable(format!("HTTP {http}: {message}")),
        _ => FetchError::Protocol(format!("HTTP {http}: {message}")),
    }
}

/// Twilio's error body (`{code, message, more_info, status}`), or an RFC 9457 problem
/// (`{type, title, detail, status}`), or anything else (kept as text).
#[derive(Debug, Default, PartialEq)]
struct TwilioErrorBody {
    code: Option<u32>,
    message: Option<String>,
    more_info: Option<String>,
}

impl TwilioErrorBody {
    fn parse(body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => {
                let str_field = |k: &str| {
                    map.get(k)
                        .and_then(Value::as_str)
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                };
                Self {
                    code: map
                        .get("code")
                        .and_then(u64_of)
                        .and_then(|c| c.try_into().ok()),
                    message: str_field("message")
                        .or_else(|| str_field("detail"))
                        .or_else(|| str_field("title")),
                    more_info: str_field("more_info").or_else(|| str_field("type")),
                }
            }
            _ if text.is_empty() => Self::default(),
            _ => Self {
                message: Some(text.chars().take(MAX_MESSAGE_CHARS).collect()),
                ..Self::default()
            },
        }
    }

    /// The message for a `PlaceError`/`FetchError`: the provider's words, else the reason
    /// phrase of `status`; `more_info` appended when given.
    fn describe(&self, status: StatusCode) -> String {
        let base = self
            .message
            .clone()
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("no message").to_owned());
        match &self.more_info {
            Some(info) => format!("{base} ({info})"),
            None => base,
        }
    }
}

/// The fields of Twilio's `api.v2010.account.call` that outdial reads. Nearly all nullable.
#[derive(Debug, Deserialize)]
struct CallResource {
    sid: Option<String>,
    to: Option<String>,
    status: Option<String>,
    date_created: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    /// String of seconds (`"15"`), empty or null until final.
    duration: Option<Value>,
    answered_by: Option<String>,
    /// String of milliseconds.
    queue_time: Option<Value>,
    /// Decimal string, negative for a charge (`"-0.03000"`); null until Twilio has priced
    /// the call, some time after it ended.
    price: Option<Value>,
    /// ISO 4217 currency of `price` (`USD`).
    price_unit: Option<String>,
}

/// One page of `GET Calls.json`.
#[derive(Debug, Deserialize)]
struct CallPage {
    calls: Vec<CallResource>,
    next_page_uri: Option<String>,
}

/// The 2xx create response: `sid` is required; an absent or unknown `status` is taken as
/// `queued` (the call exists either way).
fn parse_created(body: &[u8]) -> Result<PlacedCall, String> {
    let call: CallResource =
        serde_json::from_slice(body).map_err(|e| format!("not a call resource: {e}"))?;
    let sid = call.sid.as_deref().unwrap_or_default();
    let call_id = ProviderCallId::parse(sid).ok_or_else(|| format!("no usable sid ('{sid}')"))?;
    let status = match call.status.as_deref().and_then(CallStatus::parse) {
        Some(s) => s,
        None => {
            tracing::warn!(status = ?call.status, "create response has no known status; assuming queued");
            CallStatus::Queued
        }
    };
    Ok(PlacedCall {
        call_id,
        status,
        queue_time_ms: call.queue_time.as_ref().and_then(u64_of),
    })
}

impl CallResource {
    fn into_snapshot(self) -> Result<CallSnapshot, FetchError> {
        let sid = self.sid.as_deref().unwrap_or_default();
        let call_id = ProviderCallId::parse(sid)
            .ok_or_else(|| FetchError::Protocol(format!("call without a usable sid ('{sid}')")))?;
        let status_raw = self.status.as_deref().unwrap_or_default();
        let status = CallStatus::parse(status_raw).ok_or_else(|| {
            FetchError::Protocol(format!("call {sid}: unknown status '{status_raw}'"))
        })?;
        let duration_s =
            match &self.duration {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(v) => Some(u64_of(v).and_then(|d| u32::try_from(d).ok()).ok_or_else(
                    || FetchError::Protocol(format!("call {sid}: bad duration {v}")),
                )?),
            };
        Ok(CallSnapshot {
            attempt: None,
            call_id,
            to: self.to.unwrap_or_default(),
            status,
            created_at: parse_twilio_date(self.date_created.as_deref(), sid, "date_created")?,
            start_time: parse_twilio_date(self.start_time.as_deref(), sid, "start_time")?,
            end_time: parse_twilio_date(self.end_time.as_deref(), sid, "end_time")?,
            duration_s,
            answered_by: self.answered_by.as_deref().and_then(AnsweredBy::parse),
            price: price_of(self.price.as_ref(), self.price_unit.as_deref()),
        })
    }
}

/// A call's `price` and `price_unit` (`"-0.03000"`, `"USD"`): `None` while either is null
/// or unreadable.
fn price_of(price: Option<&Value>, unit: Option<&str>) -> Option<outdial_core::CallPrice> {
    let amount = match price? {
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        v => v.as_f64()?,
    };
    outdial_core::CallPrice::from_amount(amount, unit?)
}

/// A nullable Twilio date: RFC 2822 (`Tue, 31 Aug 2010 20:36:28 +0000`), also RFC 3339.
pub(crate) fn parse_twilio_date(
    raw: Option<&str>,
    sid: &str,
    field: &str,
) -> Result<Option<DateTime<Utc>>, FetchError> {
    let Some(s) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    DateTime::parse_from_rfc2822(s)
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .map(|d| Some(d.with_timezone(&Utc)))
        .map_err(|_| FetchError::Protocol(format!("call {sid}: {field} '{s}' is not a date")))
}

#[cfg(test)]
mod tests;
