//! [`BlandClient`]: the [`Provider`] over Bland's v1 REST API.
//!
//! - create: `POST {api_base}/v1/calls` (JSON body, see [`create_body`]);
//! - fetch: `GET {api_base}/v1/calls/{call_id}`;
//! - list: `GET {api_base}/v1/calls?to_number=…&start_date=…&ascending=true&from=N&to=N+L&limit=L`,
//!   paging by index (see [`BlandClient::list_calls_to`]);
//! - end: `POST {api_base}/v1/calls/{call_id}/stop`, then a fetch.
//!
//! Every request carries `Authorization: <api key>` (no prefix) and, when configured,
//! `x-bland-org-id`. Sources: <https://docs.bland.ai/api-v1/post/calls>,
//! <https://docs.bland.ai/api-v1/get/calls-id>, <https://docs.bland.ai/api-v1/get/calls>,
//! <https://docs.bland.ai/api-v1/post/calls-id-stop>; facts and pitfalls in
//! `reference/bland.md` A1–A4, A6.
//!
//! **The HTTP status codes of Bland's errors are not documented** (bland.md A1); the table
//! follows awell's Bland extension (`extensions/bland/lib/errors.ts`: 401 bad key, 403
//! `ENTERPRISE_REQUIRED`, 422 validation; 408, 429, 5xx transient). Error bodies are
//! `{status:"error", message, errors:[{error, message}]}` or `{message}`, read leniently
//! ([`BlandErrorBody`]). How `place_call` failures are classified:
//!
//! | what happened | class | source |
//! |---|---|---|
//! | 2xx with `call_id` | success, `queued` | A1 success body |
//! | 2xx without `call_id` that says `status:"error"` | classified by its message like a 400 | inference: no call was queued |
//! | 2xx whose body cannot be read or holds no `call_id` | `Ambiguous` | inference |
//! | HTTP 429 | `RateLimited` (`Retry-After` when sent; none seen) | A6, awell |
//! | HTTP 401 | `Auth` | awell |
//! | a 4xx whose message names a plan limit (daily/hourly cap, concurrency, rate limit) | `RateLimited` | A6 (caps per plan; body undocumented) |
//! | HTTP 403 (`ENTERPRISE_REQUIRED`, entitlements) | `Rejected { Account }` | awell |
//! | HTTP 400/422 whose message or `errors` name `phone_number` | `Rejected { BadNumber }` | A1 validation errors |
//! | HTTP 408 | `Ambiguous` (the request may have been forwarded) | awell: transient |
//! | any other 4xx | `Rejected { Other }` | awell: 4xx non-retryable |
//! | HTTP 5xx, 1xx, 3xx (redirects are not followed) | `Ambiguous`, never re-posted | A1: no idempotency |
//! | connection refused, DNS or TLS failure, connect timeout | `NotSent` | |
//! | request timeout, reset, body read failure after sending | `Ambiguous` | A1 inference |
//! | a non-agent answer or options Bland does not take | `Unsupported`, nothing sent | [`super::campaign`] |
//!
//! The ids: [`create_body`] sends the attempt, lead and campaign of [`PlaceCall::context`] as
//! `metadata.{outdial_attempt_id, lead_id, campaign_id}`; Bland echoes `metadata` in the
//! webhook and call details. The `webhook` URL ([`Provider::status_callback_url`]) carries
//! the same attempt id in its query, so a webhook finds its attempt by either.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outdial_core::{AttemptId, CallStatus, ProviderCallId, E164};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};
use tracing::field::Empty;
use url::Url;

use super::call::{normalise_number, CallObject};
use super::campaign;
use crate::http::{build_client, join_path, parse_api_base, send_create, send_read, CreateAnswer};
use crate::{CallSnapshot, FetchError, PlaceCall, PlaceError, PlacedCall, Provider, RejectReason};

/// Bland's production REST base URL.
pub const DEFAULT_API_BASE: &str = "https://api.bland.ai";

/// Default timeout of one REST request (connect through reading the whole body).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Calls asked for per list request (`limit`, and the `from`/`to` index step). Bland's
/// default is 1,000; its maximum is undocumented (bland.md A3).
pub const LIST_PAGE_SIZE: u32 = 1000;

/// Most list pages followed before [`BlandClient::list_calls_to`] gives up with
/// [`FetchError::Protocol`] (50,000 calls to one number: far beyond any real history).
pub const MAX_LIST_PAGES: usize = 50;

/// Header carrying the org id (needed by `GET /v1/calls/active`, bland.md A4).
pub const ORG_ID_HEADER: &str = "x-bland-org-id";

/// Metadata key carrying outdial's attempt id (echoed by Bland, bland.md A5).
pub const METADATA_ATTEMPT_KEY: &str = "outdial_attempt_id";

/// Metadata key carrying outdial's lead id.
pub const METADATA_LEAD_KEY: &str = "lead_id";

/// Metadata key carrying outdial's campaign id.
pub const METADATA_CAMPAIGN_KEY: &str = "campaign_id";

/// Longest provider message kept from a non-JSON error body, in characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// Connection settings for one Bland account. `Debug` never prints the API key.
#[derive(Clone)]
pub struct BlandConfig {
    /// API key, sent as `Authorization: <key>` (whitespace around it ignored; marked
    /// sensitive, so it is not logged with the headers).
    pub api_key: SecretString,
    /// REST base URL ([`DEFAULT_API_BASE`]; the fake Bland or a mock in tests). A trailing
    /// `/` is ignored.
    pub api_base: String,
    /// Timeout of one request, from connecting to reading the whole body; connecting alone
    /// is bounded by half of it (at most 10 s), so an unreachable host is `NotSent`.
    pub request_timeout: Duration,
    /// Org id, sent as `x-bland-org-id` when set.
    pub org_id: Option<String>,
}

impl BlandConfig {
    /// Settings for `api_key` with [`DEFAULT_API_BASE`], [`DEFAULT_REQUEST_TIMEOUT`], no org.
    pub fn new(api_key: SecretString) -> Self {
        Self {
            api_key,
            api_base: DEFAULT_API_BASE.to_owned(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            org_id: None,
        }
    }
}

impl fmt::Debug for BlandConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlandConfig")
            .field("api_key", &"[redacted]")
            .field("api_base", &self.api_base)
            .field("request_timeout", &self.request_timeout)
            .field("org_id", &self.org_id)
            .finish()
    }
}

/// Why a [`BlandClient`] could not be built. No variant carries the API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlandConfigError {
    /// The API key is empty.
    #[error("Bland API key is empty")]
    EmptyApiKey,
    /// The API key cannot be sent in a header (control characters, non-ASCII).
    #[error("Bland API key contains characters that cannot be sent in a header")]
    InvalidApiKey,
    /// The org id is empty or cannot be sent in a header.
    #[error("Bland org id '{0}' is empty or not a valid header value")]
    InvalidOrgId(String),
    /// The API base is not an absolute `http`/`https` URL without query, fragment or
    /// credentials.
    #[error("Bland API base is not usable: {0}")]
    InvalidApiBase(String),
    /// The request timeout is zero.
    #[error("Bland request timeout must be greater than zero")]
    ZeroTimeout,
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    HttpClient(String),
}

/// The Bland adapter. Cheap to clone; never retries a request itself.
#[derive(Clone)]
pub struct BlandClient {
    cfg: BlandConfig,
    base: Url,
    pub(crate) http: reqwest::Client,
    /// `limit` of a list request ([`LIST_PAGE_SIZE`]; smaller in tests).
    page_size: u32,
}

impl fmt::Debug for BlandClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlandClient")
            .field("api_base", &self.base.as_str())
            .field("org_id", &self.cfg.org_id)
            .field("request_timeout", &self.cfg.request_timeout)
            .finish_non_exhaustive()
    }
}

impl BlandClient {
    /// Validates `cfg` and builds the client (the key is marked sensitive in the header).
    pub fn new(cfg: BlandConfig) -> Result<Self, BlandConfigError> {
        let key = cfg.api_key.expose_secret().trim();
        if key.is_empty() {
            return Err(BlandConfigError::EmptyApiKey);
        }
        let mut auth = HeaderValue::from_str(key).map_err(|_| BlandConfigError::InvalidApiKey)?;
        auth.set_sensitive(true);
        if cfg.request_timeout.is_zero() {
            return Err(BlandConfigError::ZeroTimeout);
        }
        let base = parse_api_base(&cfg.api_base).map_err(BlandConfigError::InvalidApiBase)?;
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        if let Some(org) = &cfg.org_id {
            let v = HeaderValue::from_str(org.trim())
                .ok()
                .filter(|_| !org.trim().is_empty())
                .ok_or_else(|| BlandConfigError::InvalidOrgId(org.clone()))?;
            headers.insert(HeaderName::from_static(ORG_ID_HEADER), v);
        }
        let http =
            build_client(cfg.request_timeout, headers).map_err(BlandConfigError::HttpClient)?;
        Ok(Self {
            cfg,
            base,
            http,
            page_size: LIST_PAGE_SIZE,
        })
    }

    /// The settings this client was built from.
    pub fn config(&self) -> &BlandConfig {
        &self.cfg
    }

    /// `{api_base}/v1/` followed by `tail` (each element one percent-encoded segment).
    pub(crate) fn endpoint(&self, tail: &[&str]) -> Url {
        let segments: Vec<&str> = std::iter::once("v1").chain(tail.iter().copied()).collect();
        join_path(&self.base, &segments)
    }

    /// Sends a request and reads the whole body; transport failures become `Unavailable`.
    async fn send_read(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, Vec<u8>), FetchError> {
        send_read(req)
            .await
            .inspect_err(|e| tracing::warn!(error = %e, "Bland request failed"))
    }

    /// One list page: the call objects of `{calls:[…]}` or a bare array.
    async fn list_page(&self, url: Url) -> Result<Vec<Map<String, Value>>, FetchError> {
        let (status, body) = self.send_read(self.http.get(url)).await?;
        if !status.is_success() {
            return Err(match fetch_failure(status, &body) {
                FetchError::NotFound => FetchError::Protocol(format!(
                    "list endpoint answered HTTP 404: {}",
                    BlandErrorBody::parse(&body).describe(status)
                )),
                other => other,
            });
        }
        super::log::list_items(&body)
    }
}

/// The attempt id in the `attempt` query parameter of a status-callback URL.
pub fn attempt_from_callback(status_callback: &str) -> Option<i64> {
    let url = Url::parse(status_callback).ok()?;
    let v = url.query_pairs().find(|(k, _)| k == "attempt")?.1;
    v.trim().parse().ok()
}

/// The `POST /v1/calls` body (see [`super::campaign`] for the field mapping): `phone_number`,
/// `from`, the script fields, `voice`, `first_sentence`, `wait_for_greeting`, `record`,
/// `max_duration` (minutes, from `time_limit_s`), `answered_by_enabled`, `voicemail`,
/// `webhook` (= `status_callback`), then from [`PlaceCall::context`]:
/// - `metadata`: `{outdial_attempt_id, lead_id, campaign_id}` (numbers), echoed by Bland in
///   the webhook and call details (bland.md A5);
/// - `request_data`: the lead's contact fields that are set, each a string, under
///   [`REQUEST_DATA_FIELDS`]' names (`first_name`, `last_name`, `external_id`, `city`,
///   `state`, `postal_code`, `email`, `time_zone` as an IANA name); the agent's prompt reads
///   them as `{{first_name}}` …. The lead's free-form `comments` are operator notes, not
///   sent. An object even when empty;
/// - `dispositions`: the campaign's disposition codes (the agent tags the call with one,
///   returned as `disposition_tag`), only when there are any;
///
/// then `options`. `ring_timeout_s` and the campaign name have no Bland field.
/// [`PlaceError::Unsupported`] for a non-agent answer or options Bland does not take.
pub fn create_body(req: &PlaceCall) -> Result<Map<String, Value>, PlaceError> {
    let unsupported = |message| PlaceError::Unsupported { message };
    let agent = campaign::agent(&req.answer).map_err(unsupported)?;
    campaign::check_options(&req.options).map_err(unsupported)?;
    let mut body = Map::new();
    body.insert("phone_number".into(), json!(req.to.as_str()));
    body.insert("from".into(), json!(req.from.as_str()));
    for (k, v) in campaign::script_fields(&agent.script) {
        body.insert(k.into(), v);
    }
    if let Some(v) = &agent.voice {
        body.insert("voice".into(), json!(v));
    }
    if let Some(s) = &agent.first_sentence {
        body.insert("first_sentence".into(), json!(s));
    }
    body.insert("wait_for_greeting".into(), json!(agent.wait_for_greeting));
    body.insert("record".into(), json!(agent.record));
    body.insert(
        "max_duration".into(),
        json!(campaign::max_duration_minutes(req.time_limit_s)),
    );
    body.insert(
        "answered_by_enabled".into(),
        json!(campaign::answered_by_enabled(&req.machine)),
    );
    body.insert("voicemail".into(), campaign::voicemail(&req.machine));
    body.insert("webhook".into(), json!(req.status_callback));
    let ctx = &req.context;
    body.insert(
        "metadata".into(),
        json!({
            METADATA_ATTEMPT_KEY: ctx.attempt.0,
            METADATA_LEAD_KEY: ctx.lead.0,
            METADATA_CAMPAIGN_KEY: ctx.campaign.0,
        }),
    );
    body.insert(
        "request_data".into(),
        Value::Object(request_data(&ctx.contact)),
    );
    if !ctx.dispositions.is_empty() {
        body.insert("dispositions".into(), json!(ctx.dispositions));
    }
    for (k, v) in &req.options {
        body.insert(k.clone(), v.clone());
    }
    Ok(body)
}

/// The names under which [`create_body`] sends a lead's contact fields in `request_data`.
pub const REQUEST_DATA_FIELDS: [&str; 8] = [
    "first_name",
    "last_name",
    "external_id",
    "city",
    "state",
    "postal_code",
    "email",
    "time_zone",
];

/// The lead's contact fields that are set, as [`REQUEST_DATA_FIELDS`] names them.
fn request_data(c: &outdial_core::LeadContact) -> Map<String, Value> {
    let tz = c.time_zone.map(|z| z.name().to_owned());
    let values = [
        &c.first_name,
        &c.last_name,
        &c.external_id,
        &c.city,
        &c.state,
        &c.postal_code,
        &c.email,
        &tz,
    ];
    REQUEST_DATA_FIELDS
        .iter()
        .zip(values)
        .filter_map(|(k, v)| Some(((*k).to_owned(), json!(v.as_deref()?))))
        .collect()
}

#[async_trait]
impl Provider for BlandClient {
    #[tracing::instrument(
        name = "bland.place_call",
        skip_all,
        fields(to = %req.to.as_str(), from = %req.from.as_str(), call_id = Empty, http_status = Empty)
    )]
    async fn place_call(&self, req: &PlaceCall) -> Result<PlacedCall, PlaceError> {
        let body = create_body(req).inspect_err(|e| tracing::warn!(error = %e, "not sent"))?;
        let req = self.http.post(self.endpoint(&["calls"])).json(&body);
        let CreateAnswer {
            status,
            retry_after_s,
            body: bytes,
        } = send_create(req).await.inspect_err(
            |err| tracing::warn!(error = %err, "Bland create call failed before an answer was read"),
        )?;
        tracing::Span::current().record("http_status", status.as_u16());
        let result = if status.is_success() {
            parse_created(status, &bytes, retry_after_s)
        } else {
            Err(classify_place_failure(status, &bytes, retry_after_s))
        };
        match &result {
            Ok(p) => {
                tracing::Span::current().record("call_id", p.call_id.as_str());
                tracing::info!("Bland queued the call");
            }
            Err(e) => tracing::warn!(error = %e, "Bland create call failed"),
        }
        result
    }

    #[tracing::instrument(
        name = "bland.fetch_call",
        skip_all,
        fields(call_id = %call_id.as_str(), http_status = Empty)
    )]
    async fn fetch_call(&self, call_id: &ProviderCallId) -> Result<CallSnapshot, FetchError> {
        let url = self.endpoint(&["calls", call_id.as_str()]);
        let (status, body) = self.send_read(self.http.get(url)).await?;
        tracing::Span::current().record("http_status", status.as_u16());
        if !status.is_success() {
            let err = fetch_failure(status, &body);
            if err != FetchError::NotFound {
                tracing::warn!(error = %err, "Bland fetch call failed");
            }
            return Err(err);
        }
        let map = match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => m,
            Ok(other) => return Err(FetchError::Protocol(format!("call details are {other}"))),
            Err(e) => {
                return Err(FetchError::Protocol(format!(
                    "call details are not JSON: {e}"
                )))
            }
        };
        let obj = CallObject::from_map(&map);
        if obj.call_id.is_none() && map.get("status").and_then(Value::as_str) == Some("error") {
            // A 2xx error body: Bland says the call does not exist (e.g. "not found").
            let err = BlandErrorBody::from_map(&map);
            return Err(if err.text().to_ascii_lowercase().contains("not found") {
                FetchError::NotFound
            } else {
                FetchError::Protocol(err.describe(status))
            });
        }
        obj.into_snapshot()
            .ok_or_else(|| FetchError::Protocol("call details without a usable call_id".into()))
    }

    /// Every call to `to` created at or after `since`.
    ///
    /// `to_number` is sent in E.164 (with `+`); whether Bland matches it against numbers it
    /// stored without `+1` is unverified, so the number is also checked here after
    /// normalising each call's `to`.
    ///
    /// Bland's list has no cursor and ignores `page` (bland.md A3), and its default
    /// newest-first order shifts every index as calls arrive. So: `to_number` = `to`,
    /// `start_date` = the day before `since` (UTC; the boundary and time zone of
    /// `start_date` are undocumented), `ascending=true`, and index windows
    /// `from=N&to=N+L&limit=L` (L = [`LIST_PAGE_SIZE`]) until a page is short. Calls are
    /// deduplicated by `call_id` (a shifted or inclusive window repeats one), kept when `to`
    /// (normalised to E.164) is the number asked for, `created_at` is at or after `since`
    /// (or unknown), and the call carries outdial's `metadata.outdial_attempt_id` (every call
    /// outdial creates does; one without is another system's and never ours), given back in
    /// [`CallSnapshot::attempt`] so the reconciler matches an ambiguous create to its own
    /// call. More than [`MAX_LIST_PAGES`] pages is [`FetchError::Protocol`].
    #[tracing::instrument(
        name = "bland.list_calls_to",
        skip_all,
        fields(to = %to.as_str(), since = %since.to_rfc3339(), pages = Empty, calls = Empty)
    )]
    async fn list_calls_to(
        &self,
        to: &E164,
        since: DateTime<Utc>,
    ) -> Result<Vec<CallSnapshot>, FetchError> {
        let start_date = (since - chrono::Duration::days(1))
            .format("%Y-%m-%d")
            .to_string();
        let limit = u64::from(self.page_size);
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut pages = 0usize;
        loop {
            if pages == MAX_LIST_PAGES {
                return Err(FetchError::Protocol(format!(
                    "more than {MAX_LIST_PAGES} list pages for one number"
                )));
            }
            let from = pages as u64 * limit;
            let mut url = self.endpoint(&["calls"]);
            url.query_pairs_mut()
                .append_pair("to_number", to.as_str())
                .append_pair("start_date", &start_date)
                .append_pair("ascending", "true")
                .append_pair("from", &from.to_string())
                .append_pair("to", &(from + limit).to_string())
                .append_pair("limit", &limit.to_string());
            pages += 1;
            let items = self.list_page(url).await?;
            let short = (items.len() as u64) < limit;
            for item in items {
                let Some(snap) = CallObject::from_map(&item).into_snapshot() else {
                    tracing::warn!("list item without a usable call_id skipped");
                    continue;
                };
                // Every call outdial creates carries its attempt in `metadata`: one without
                // it is another system's (an old dialer still running, a manual call) and
                // is never offered to the reconciler as ours.
                let ours = snap.attempt.is_some();
                if !ours {
                    tracing::debug!(call_id = %snap.call_id.as_str(), "listed call without outdial metadata skipped");
                }
                let wanted = ours
                    && normalise_number(&snap.to) == to.as_str()
                    && snap.created_at.is_none_or(|c| c >= since);
                if wanted && seen.insert(snap.call_id.clone()) {
                    out.push(snap);
                }
            }
            if short {
                break;
            }
        }
        let span = tracing::Span::current();
        span.record("pages", pages);
        span.record("calls", out.len());
        Ok(out)
    }

    /// Ends a live call: a final call is returned as it is; otherwise
    /// `POST /v1/calls/{id}/stop` (which also cancels a queued or scheduled call), then a
    /// fetch whose snapshot is returned (Bland may take a moment to report it final). A stop
    /// refused with an error body ("SID not found for the given c_id.": the call ended in
    /// between) is followed by the same fetch; it must then be final, else
    /// [`FetchError::Protocol`].
    #[tracing::instrument(
        name = "bland.end_call",
        skip_all,
        fields(call_id = %call_id.as_str(), before = Empty, after = Empty)
    )]
    async fn end_call(&self, call_id: &ProviderCallId) -> Result<CallSnapshot, FetchError> {
        let current = self.fetch_call(call_id).await?;
        let span = tracing::Span::current();
        span.record("before", current.status.as_str());
        if current.status.is_final() {
            span.record("after", current.status.as_str());
            return Ok(current);
        }
        let url = self.endpoint(&["calls", call_id.as_str(), "stop"]);
        let (status, body) = self.send_read(self.http.post(url)).await?;
        let refused = match fetch_failure_or_ok(status, &body) {
            Ok(()) => None,
            Err(FetchError::NotFound | FetchError::Protocol(_)) => {
                Some(BlandErrorBody::parse(&body).describe(status))
            }
            Err(e) => return Err(e),
        };
        let after = self.fetch_call(call_id).await?;
        span.record("after", after.status.as_str());
        match refused {
            Some(msg) if !after.status.is_final() => Err(FetchError::Protocol(format!(
                "Bland refused to stop call {} ({msg}) yet reports it {}",
                call_id.as_str(),
                after.status.as_str()
            ))),
            _ => {
                tracing::info!(status = after.status.as_str(), "Bland stopped the call");
                Ok(after)
            }
        }
    }

    /// `{public_url}/webhooks/bland/call?attempt={id}`
    /// ([`webhook::status_callback_url`](super::webhook::status_callback_url)).
    fn status_callback_url(&self, public_url: &str, attempt: AttemptId) -> String {
        super::webhook::status_callback_url(public_url, attempt.0)
    }

    /// [`webhook::WEBHOOK_SOURCE`](super::webhook::WEBHOOK_SOURCE).
    fn webhook_source(&self) -> &'static str {
        super::webhook::WEBHOOK_SOURCE
    }
}

/// A 2xx create response: `call_id` → queued; a readable `status:"error"` body without
/// `call_id` → classified as a 400 refusal; anything else → `Ambiguous`.
fn parse_created(
    status: StatusCode,
    body: &[u8],
    retry_after_s: Option<u64>,
) -> Result<PlacedCall, PlaceError> {
    let map = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        _ => {
            return Err(PlaceError::Ambiguous {
                message: format!("HTTP {status} with an unreadable body; a call may exist"),
            })
        }
    };
    if let Some(id) = map
        .get("call_id")
        .and_then(Value::as_str)
        .and_then(ProviderCallId::parse)
    {
        return Ok(PlacedCall {
            call_id: id,
            status: CallStatus::Queued,
            queue_time_ms: None,
        });
    }
    if map.get("status").and_then(Value::as_str) == Some("error") {
        return Err(classify_place_failure(
            StatusCode::BAD_REQUEST,
            body,
            retry_after_s,
        ));
    }
    Err(PlaceError::Ambiguous {
        message: format!("HTTP {status} without a call_id; a call may exist"),
    })
}

/// True when a refusal's text names a plan limit: a daily or hourly cap, concurrency, a
/// rate limit (bland.md A6; the exact wording is undocumented).
pub fn is_plan_limit(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    [
        "rate limit",
        "rate-limit",
        "too many",
        "concurren",
        "daily limit",
        "hourly limit",
        "daily cap",
        "hourly cap",
        "calls per day",
        "calls per hour",
        "limit reached",
        "limit exceeded",
    ]
    .iter()
    .any(|p| t.contains(p))
}

/// True when a validation refusal names the called number's field, `phone_number`.
pub fn names_phone_number(err: &BlandErrorBody) -> bool {
    err.text().to_ascii_lowercase().contains("phone_number")
}

/// Classifies a non-2xx create response (see the module table).
fn classify_place_failure(
    status: StatusCode,
    body: &[u8],
    retry_after_s: Option<u64>,
) -> PlaceError {
    let err = BlandErrorBody::parse(body);
    let http = status.as_u16();
    let message = err.describe(status);
    let rejected = |reason| PlaceError::Rejected {
        reason,
        http_status: http,
        code: None,
        message: message.clone(),
    };
    match http {
        429 => PlaceError::RateLimited {
            code: None,
            message,
            retry_after_s,
        },
        401 => PlaceError::Auth {
            http_status: http,
            code: None,
            message,
        },
        400..=499 if is_plan_limit(&err.text()) => PlaceError::RateLimited {
            code: None,
            message,
            retry_after_s,
        },
        403 => rejected(RejectReason::Account),
        400 | 422 if names_phone_number(&err) => rejected(RejectReason::BadNumber),
        408 => PlaceError::Ambiguous {
            message: format!("HTTP 408: {message}"),
        },
        400..=499 => rejected(RejectReason::Other),
        _ => PlaceError::Ambiguous {
            message: format!("HTTP {http}: {message}"),
        },
    }
}

/// Classifies a non-2xx fetch, list or stop response.
pub(crate) fn fetch_failure(status: StatusCode, body: &[u8]) -> FetchError {
    let message = BlandErrorBody::parse(body).describe(status);
    match status.as_u16() {
        404 => FetchError::NotFound,
        429 => FetchError::RateLimited(message),
        401 | 403 => FetchError::Auth(message),
        http @ 500..=599 => FetchError::Unavailable(format!("HTTP {http}: {message}")),
        http => FetchError::Protocol(format!("HTTP {http}: {message}")),
    }
}

/// A stop answer: `Ok` for a 2xx that does not say `status:"error"`, else the failure.
fn fetch_failure_or_ok(status: StatusCode, body: &[u8]) -> Result<(), FetchError> {
    if !status.is_success() {
        return Err(fetch_failure(status, body));
    }
    let err = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        v.get("status")
            .and_then(Value::as_str)
            .map(|s| s == "error")
    });
    match err {
        Some(true) => Err(FetchError::Protocol(
            BlandErrorBody::parse(body).describe(status),
        )),
        _ => Ok(()),
    }
}

/// A Bland error body, read leniently: `message` (or `error`), and the `errors` list
/// (`[{error, message}]`, or strings).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BlandErrorBody {
    /// Top-level `message` (or `error` when it is a string).
    pub message: Option<String>,
    /// Each entry of `errors` as `error: message` (or the string given).
    pub errors: Vec<String>,
}

impl BlandErrorBody {
    /// Reads any body: JSON as above, other text kept (at most 300 characters) as message.
    pub fn parse(body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Self::from_map(&map),
            _ if text.is_empty() => Self::default(),
            _ => Self {
                message: Some(text.chars().take(MAX_MESSAGE_CHARS).collect()),
                errors: Vec::new(),
            },
        }
    }

    fn from_map(map: &Map<String, Value>) -> Self {
        use super::call::str_field;
        let errors = match map.get("errors") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|e| match e {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(o) => {
                        let parts: Vec<String> = ["error", "field", "message"]
                            .iter()
                            .filter_map(|k| str_field(o, k))
                            .collect();
                        (!parts.is_empty()).then(|| parts.join(": "))
                    }
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        Self {
            message: str_field(map, "message").or_else(|| str_field(map, "error")),
            errors,
        }
    }

    /// The message and every entry of `errors`, `; `-separated.
    pub fn text(&self) -> String {
        self.message
            .iter()
            .chain(&self.errors)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// [`Self::text`], or the reason phrase of `status` when the body said nothing.
    pub fn describe(&self, status: StatusCode) -> String {
        let t = self.text();
        if t.is_empty() {
            status.canonical_reason().unwrap_or("no message").to_owned()
        } else {
            t
        }
    }
}

#[cfg(test)]
mod tests;
