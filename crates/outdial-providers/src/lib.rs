//! # outdial-providers
//!
//! One [`Provider`] trait for placing, fetching and listing calls, with an adapter per
//! provider. Wire formats (form fields, JSON shapes, error codes, signatures) stay inside
//! this crate; the rest of outdial sees [`outdial_core::CallEvent`]s and classified errors.
//! Adapters: [`twilio`] (call flows over Programmable Voice) and [`bland`] (AI agents over
//! Bland's v1 API; library only so far, not yet wired into the engine or HTTP routes).
//!
//! Failure classes, as the engine must treat them (design invariant 3):
//! - [`PlaceError::Rejected`]: refused for good, no call exists (Twilio 4xx such as 21211),
//!   with a [`RejectReason`] saying whether the refusal is about the number, the
//!   destination, the account, or none of these;
//! - [`PlaceError::RateLimited`]: not processed, safe to try later (HTTP 429 / 20429);
//! - [`PlaceError::NotSent`]: the request never reached the provider (connection refused);
//! - [`PlaceError::Auth`]: credentials refused (HTTP 401 / 20003): no call, dialing must stop;
//! - [`PlaceError::Ambiguous`]: a call may exist (timeout, reset, 5xx): never re-posted.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outdial_core::{
    AnswerBehaviour, AnsweredBy, AttemptId, CallEvent, CallStatus, CampaignId, CampaignSettings,
    FailureKind, LeadContact, LeadId, MachineHandling, ProviderCallId, ProviderKind, E164,
};

pub mod bland;
pub mod calllog;
mod http;
#[cfg(test)]
mod test_server;
pub mod twilio;

pub use calllog::{CallLog, LogFetch, LogProgress, LogQuery, LoggedCall, RetryPolicy};

/// A request to place one call.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceCall {
    /// Called number.
    pub to: E164,
    /// Caller id.
    pub from: E164,
    /// What happens on answer (the campaign's [`CampaignSettings::answer`]).
    pub answer: AnswerBehaviour,
    /// Answering-machine handling (the campaign's [`CampaignSettings::machine`]).
    pub machine: MachineHandling,
    /// The campaign's provider-only parameters ([`CampaignSettings::provider_options`]).
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Absolute URL for status callbacks (carries outdial's attempt id in its query).
    pub status_callback: String,
    /// Ring timeout, seconds (Twilio `Timeout`).
    pub ring_timeout_s: u32,
    /// Longest call, seconds (Twilio `TimeLimit`).
    pub time_limit_s: u32,
    /// Who is called and why: the attempt, the lead and its contact data, the campaign and
    /// the disposition labels it accepts. An adapter sends what its provider can use (Bland:
    /// `request_data`, `metadata`, `dispositions`); one that has no use for it ignores it
    /// (Twilio: its form is the same with or without it).
    pub context: CallContext,
}

/// The business context of one call, for providers whose call flow can use it (an AI agent
/// that greets the lead by name and tags the outcome).
#[derive(Debug, Clone, PartialEq)]
pub struct CallContext {
    /// The attempt this call is (also carried in the status-callback URL).
    pub attempt: AttemptId,
    /// The lead called.
    pub lead: LeadId,
    /// The lead's campaign.
    pub campaign: CampaignId,
    /// The campaign's name (empty when not known).
    pub campaign_name: String,
    /// The lead's contact data as stored (names, city, state, postal code, e-mail, external
    /// id, explicit time zone, comments). Leads have no free-form custom fields yet; when
    /// they do, they belong here.
    pub contact: LeadContact,
    /// The disposition labels the campaign's catalog accepts for a call's outcome: every
    /// catalog **code** (upper case, in code order), no aliases. Each code resolves to
    /// itself, so an outcome tagged with one of them maps to exactly one entry; aliases exist
    /// to normalise labels from elsewhere (a provider's own tags, a CRM) and would only offer
    /// the agent several names for one outcome. Empty: the campaign accepts none.
    pub dispositions: Vec<String>,
}

impl CallContext {
    /// A context naming the attempt, lead and campaign, with no campaign name, no contact
    /// data and no disposition labels.
    pub fn new(attempt: AttemptId, lead: LeadId, campaign: CampaignId) -> CallContext {
        CallContext {
            attempt,
            lead,
            campaign,
            campaign_name: String::new(),
            contact: LeadContact::default(),
            dispositions: Vec::new(),
        }
    }
}

/// The provider accepted a call.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedCall {
    /// The provider's call id.
    pub call_id: ProviderCallId,
    /// Status in the create response (normally `queued`).
    pub status: CallStatus,
    /// Twilio `queue_time` in milliseconds: > 0 means the account's CPS is exceeded.
    pub queue_time_ms: Option<u64>,
}

/// What a refusal of a create request is about, as the adapter classifies the provider's
/// code. The engine acts on the reason, never on a provider code:
///
/// | reason | engine action |
/// |---|---|
/// | [`BadNumber`](RejectReason::BadNumber) | attempt `rejected`, lead ends `BAD_NUMBER` |
/// | [`Destination`](RejectReason::Destination) | attempt `not-placed`, lead parked with the reason (an operator changes the account's permissions, then resumes the lead) |
/// | [`Account`](RejectReason::Account) | attempt `not-placed`, the global kill switch trips: every call would fail the same way |
/// | [`Other`](RejectReason::Other) | attempt `not-placed`, lead retried later; counts toward the consecutive-failure rule of the safety monitor |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// The number itself is invalid or cannot be reached.
    BadNumber,
    /// This number or destination may not be called from this account (geographic
    /// permissions, a blocked or high-risk destination).
    Destination,
    /// The account cannot place calls at all (suspended, caller id not verified or not
    /// owned, trial restrictions).
    Account,
    /// Any other refusal (a malformed request, an unknown code).
    Other,
}

impl RejectReason {
    /// The stable name stored as an attempt's failure kind (`bad-number`, `destination`,
    /// `account`, `other`).
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::BadNumber => "bad-number",
            RejectReason::Destination => "destination",
            RejectReason::Account => "account",
            RejectReason::Other => "other",
        }
    }
}

/// Why a call was not (or may not have been) placed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlaceError {
    /// Refused for good; no call exists. `code` is the provider's error code (21211, …),
    /// kept for display; `reason` is what the engine acts on.
    #[error("provider rejected the call (HTTP {http_status}, code {code:?}, {}): {message}", reason.as_str())]
    Rejected {
        /// What the refusal is about.
        reason: RejectReason,
        /// HTTP status.
        http_status: u16,
        /// Provider error code.
        code: Option<u32>,
        /// Provider message.
        message: String,
    },
    /// Not processed because of a rate limit; safe to try later.
    #[error("provider rate-limited the request (code {code:?}): {message}")]
    RateLimited {
        /// Provider error code (20429).
        code: Option<u32>,
        /// Provider message.
        message: String,
        /// `Retry-After`, seconds, when given.
        retry_after_s: Option<u64>,
    },
    /// The request never reached the provider (connection refused, DNS failure).
    #[error("request not sent: {message}")]
    NotSent {
        /// Transport error.
        message: String,
    },
    /// Credentials refused: no call was placed, and none will be until an operator acts.
    #[error("provider refused the credentials (HTTP {http_status}, code {code:?}): {message}")]
    Auth {
        /// HTTP status (401 or 403).
        http_status: u16,
        /// Provider error code (20003).
        code: Option<u32>,
        /// Provider message.
        message: String,
    },
    /// The request asks for something this adapter cannot carry out (settings its
    /// [`check_campaign`] refuses, such as an AI-agent answer sent to a flow provider).
    /// Nothing was sent; no call exists.
    #[error("not sent: the provider cannot carry out this request: {message}")]
    Unsupported {
        /// What cannot be carried out, naming the setting.
        message: String,
    },
    /// The outcome is unknown: a call may exist. The attempt becomes `unknown`.
    #[error("outcome unknown: {message}")]
    Ambiguous {
        /// What happened (timeout, reset, HTTP 5xx).
        message: String,
    },
}

/// What the provider says a call is now (fetch and list).
#[derive(Debug, Clone, PartialEq)]
pub struct CallSnapshot {
    /// Provider call id.
    pub call_id: ProviderCallId,
    /// Called number as the provider reports it.
    pub to: String,
    /// Current status.
    pub status: CallStatus,
    /// When the provider created the call (Twilio `date_created`), UTC.
    pub created_at: Option<DateTime<Utc>>,
    /// When it was answered / started (Twilio `start_time`), UTC.
    pub start_time: Option<DateTime<Utc>>,
    /// When it ended (Twilio `end_time`), UTC.
    pub end_time: Option<DateTime<Utc>>,
    /// Duration in seconds, when final.
    pub duration_s: Option<u32>,
    /// Answering-machine detection result.
    pub answered_by: Option<AnsweredBy>,
    /// The outdial attempt the provider's record of the call names, for providers that echo
    /// what outdial sent with the create (Bland's `metadata.outdial_attempt_id`); `None` when
    /// the provider keeps no such tag (Twilio: the attempt rides only in the callback URL).
    /// The reconciler never matches a call tagged with another attempt to an ambiguous one.
    pub attempt: Option<AttemptId>,
    /// What the provider charged for the call, once it says (Twilio fills `price` some time
    /// after the call ends; Bland's call object carries `price` in USD).
    pub price: Option<outdial_core::CallPrice>,
}

impl CallSnapshot {
    /// The snapshot as a call event (no sequence number), stamped `end_time`, else `now`.
    pub fn to_event(&self, now: DateTime<Utc>) -> CallEvent {
        CallEvent {
            call_id: self.call_id.clone(),
            status: self.status,
            sequence: None,
            at: self.end_time.unwrap_or(now),
            duration_s: self.duration_s,
            answered_by: self.answered_by,
            sip_response_code: None,
        }
    }
}

/// Why a fetch or list failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    /// The provider has no such call (HTTP 404 / 20404).
    #[error("no such call")]
    NotFound,
    /// Rate-limited; try later.
    #[error("rate-limited: {0}")]
    RateLimited(String),
    /// Credentials refused.
    #[error("credentials refused: {0}")]
    Auth(String),
    /// Transport failure or 5xx.
    #[error("provider unreachable: {0}")]
    Unavailable(String),
    /// The response could not be understood.
    #[error("unexpected response: {0}")]
    Protocol(String),
}

/// A voice provider as the engine uses it.
#[async_trait]
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// Places a call. See [`PlaceError`] for how each failure must be treated.
    async fn place_call(&self, req: &PlaceCall) -> Result<PlacedCall, PlaceError>;

    /// The provider's current view of one call.
    async fn fetch_call(&self, call_id: &ProviderCallId) -> Result<CallSnapshot, FetchError>;

    /// Every call to `to` created at or after `since` (UTC), following pagination. Used to
    /// resolve attempts whose create outcome was ambiguous.
    async fn list_calls_to(
        &self,
        to: &E164,
        since: DateTime<Utc>,
    ) -> Result<Vec<CallSnapshot>, FetchError>;

    /// Ends a call that has outlived its bound (ring timeout + longest call + slack): hangs
    /// it up if it is in progress, cancels it if it is still queued or ringing. Returns the
    /// provider's view afterwards (normally a final status, which the caller applies like a
    /// webhook). A call already final is left alone and returned as it is.
    /// Twilio: `POST /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json` with
    /// `Status=completed` or `Status=canceled`
    /// (<https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource>).
    async fn end_call(&self, call_id: &ProviderCallId) -> Result<CallSnapshot, FetchError>;

    /// The absolute status-callback URL for one attempt, under outdial's public base URL
    /// `public_url` (no trailing slash); it carries the attempt id, so the provider's webhook
    /// route can find the attempt. Each adapter owns its route.
    fn status_callback_url(&self, public_url: &str, attempt: AttemptId) -> String;

    /// The `source` stored with every raw event that came from this provider's webhooks;
    /// the webhook-silence monitor watches the sources of every configured provider.
    fn webhook_source(&self) -> &'static str;
}

/// Largest callback body of the adapters whose webhook routes are mounted, in bytes
/// ([`twilio::webhook::MAX_BODY_BYTES`]). The HTTP layer reads no more than this on any route;
/// each adapter then applies its own bound. The Bland route is not mounted yet: when it is,
/// its larger bound ([`bland::webhook::MAX_BODY_BYTES`], 256 KiB) applies to that route only,
/// and the admin API keeps this one.
pub const MAX_CALLBACK_BODY_BYTES: usize = twilio::webhook::MAX_BODY_BYTES;

/// Checks a campaign's settings for its provider, after the provider-neutral
/// [`CampaignSettings::validate`]: which answer behaviours and machine handling the provider
/// carries out, its ranges, and its [`CampaignSettings::provider_options`]. Errors name the
/// field and the provider.
pub fn check_campaign(settings: &CampaignSettings) -> Result<(), String> {
    settings.validate()?;
    match settings.provider {
        ProviderKind::Twilio => twilio::campaign::check(settings),
        ProviderKind::Bland => bland::campaign::check(settings),
    }
}

/// The failure kind of an attempt's stored `error_code`: a [`FailureKind`] name, or a raw
/// provider code that versions before failure kinds stored (a Twilio rate limit, `429` or
/// `20429`, is [`FailureKind::RateLimited`]). `None`: neither (no code, or one no adapter
/// knows).
pub fn stored_failure_kind(code: &str) -> Option<FailureKind> {
    FailureKind::parse(code).or_else(|| twilio::client::legacy_failure_kind(code))
}
