//! # outdial-store
//!
//! The [`Store`] trait: everything outdial keeps, in domain terms. Backends
//! (`outdial-store-sqlite`, later `outdial-store-postgres`) hold their own SQL and migrations
//! and run the same [`conformance`] suite (feature `conformance`).
//!
//! Rules every backend follows:
//! - every state change is a guarded update (`… WHERE id = ? AND state = ?`), so a lost
//!   race changes nothing and reports `false` / `None`;
//! - an attempt row is committed before the provider is called; no transaction is held across
//!   a provider call (the trait offers no way to do so);
//! - at most one in-flight attempt per phone number is enforced by the database itself;
//! - every state change and every raw webhook is written to the append-only event log in the
//!   same transaction as its effect;
//! - timestamps are UTC with microsecond precision (sub-microsecond parts are truncated).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outdial_core::schedule::LeadDecision;
use outdial_core::{
    AnsweredBy, AttemptId, AttemptState, CallEvent, CallStatus, CampaignId, CampaignSettings,
    Disposition, LeadContact, LeadId, LeadStatus, NewLead, ProviderCallId, E164,
};
use serde::Serialize;
use std::collections::BTreeMap;

#[cfg(feature = "conformance")]
pub mod conformance;

/// Errors of any backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A uniqueness rule refused the write (duplicate campaign name, …).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database was migrated by a newer outdial; this build refuses to run on it.
    #[error(
        "the database schema is newer than this build of outdial knows ({0}); upgrade outdial"
    )]
    SchemaTooNew(String),
    /// A stored value could not be read back (corruption or a manual edit).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The database could not be opened or a statement failed.
    #[error("database error: {0}")]
    Backend(String),
}

/// Result alias.
pub type StoreResult<T> = Result<T, StoreError>;

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Campaign {
    /// Id.
    pub id: CampaignId,
    /// Unique name.
    pub name: String,
    /// Settings.
    pub settings: CampaignSettings,
    /// Whether its leads are dialed.
    pub active: bool,
    /// Creation time, UTC.
    pub created_at: DateTime<Utc>,
}

/// A lead as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lead {
    /// Id.
    pub id: LeadId,
    /// Campaign.
    pub campaign_id: CampaignId,
    /// Number to call.
    pub phone: E164,
    /// Contact data.
    pub contact: LeadContact,
    /// Lifecycle state.
    pub status: LeadStatus,
    /// When an `active` lead is next due (UTC); `None` otherwise.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why a lead is `done` or `paused`, or why it was last rescheduled.
    pub status_reason: Option<String>,
    /// Disposition of the last concluded attempt.
    pub disposition: Option<Disposition>,
    /// Attempts reserved so far.
    pub attempt_count: u32,
    /// Insert time, UTC.
    pub created_at: DateTime<Utc>,
    /// Last change, UTC.
    pub updated_at: DateTime<Utc>,
}

/// An attempt (one dial of one lead) as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    /// Id.
    pub id: AttemptId,
    /// Lead.
    pub lead_id: LeadId,
    /// Campaign.
    pub campaign_id: CampaignId,
    /// Number dialed.
    pub phone: E164,
    /// 1-based attempt number of the lead.
    pub number: u32,
    /// Lifecycle state.
    pub state: AttemptState,
    /// Provider call id, once known.
    pub call_id: Option<ProviderCallId>,
    /// Last applied provider call status.
    pub call_status: Option<CallStatus>,
    /// Highest provider sequence number seen.
    pub last_sequence: Option<u32>,
    /// Reservation time (row committed before the provider call), UTC.
    pub reserved_at: DateTime<Utc>,
    /// When the provider accepted the call, UTC.
    pub placed_at: Option<DateTime<Utc>>,
    /// When the call was answered, UTC.
    pub answered_at: Option<DateTime<Utc>>,
    /// When the call or attempt ended, UTC.
    pub ended_at: Option<DateTime<Utc>>,
    /// Call length, seconds.
    pub duration_s: Option<u32>,
    /// Answering-machine detection result.
    pub answered_by: Option<AnsweredBy>,
    /// SIP response code of the final event.
    pub sip_response_code: Option<u16>,
    /// Business outcome, once concluded.
    pub disposition: Option<Disposition>,
    /// Provider error code (rejections) or transport error class.
    pub error_code: Option<String>,
    /// Human-readable error.
    pub error_message: Option<String>,
    /// When the redial policy was applied to the lead after this attempt, UTC.
    pub concluded_at: Option<DateTime<Utc>>,
    /// When the reconciler last asked the provider about this attempt, UTC.
    pub reconciled_at: Option<DateTime<Utc>>,
}

/// Where a newly inserted lead starts.
#[derive(Debug, Clone, PartialEq)]
pub enum LeadPlacement {
    /// Active, first due at this instant (UTC).
    Active(DateTime<Utc>),
    /// Paused with a reason (for example: no time zone can be determined).
    Paused(String),
}

/// Result of inserting a batch of leads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InsertReport {
    /// Rows inserted.
    pub inserted: u64,
    /// Rows skipped because the campaign already has the number (including earlier rows of
    /// the same batch).
    pub duplicates: u64,
}

/// A raw provider event as received, kept in the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    /// Where it came from: `twilio-webhook`, `reconciler`, ….
    pub source: String,
    /// Key that identifies a duplicate delivery (provider, call id, sequence, status).
    pub dedupe_key: String,
    /// The body as received (form-encoded or JSON text).
    pub payload: String,
}

/// What applying a provider event did.
#[derive(Debug, Clone, PartialEq)]
pub enum EventOutcome {
    /// The attempt moved from `from` to `attempt.state`.
    Applied {
        /// State before.
        from: AttemptState,
        /// The attempt after the change.
        attempt: Box<Attempt>,
    },
    /// The same event was seen before; nothing changed.
    Duplicate,
    /// The event was recorded but is not ahead of the attempt's state (late or reordered).
    Stale {
        /// The attempt it belongs to.
        attempt_id: AttemptId,
    },
    /// No attempt matches the call id (nor the attempt hint). Recorded, nothing changed.
    UnknownCall,
}

/// An entry of the append-only event log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRecord {
    /// Id (increasing).
    pub id: i64,
    /// When it was recorded, UTC.
    pub at: DateTime<Utc>,
    /// Lead concerned.
    pub lead_id: Option<LeadId>,
    /// Attempt concerned.
    pub attempt_id: Option<AttemptId>,
    /// What happened: `attempt.reserved`, `attempt.placed`, `webhook`, `lead.rescheduled`, ….
    pub kind: String,
    /// Who caused it: `scheduler`, `twilio-webhook`, `reconciler`, `operator`, ….
    pub source: String,
    /// Details (JSON or the raw payload).
    pub detail: String,
}

/// Counts for the status endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    /// Leads by status name.
    pub leads_by_status: BTreeMap<String, u64>,
    /// Active leads whose next attempt time has come.
    pub leads_due: u64,
    /// Attempts not yet final.
    pub attempts_in_flight: u64,
    /// Attempts reserved since the given instant.
    pub attempts_since: u64,
    /// Attempts by state.
    pub attempts_by_state: BTreeMap<String, u64>,
    /// Concluded attempts by disposition.
    pub attempts_by_disposition: BTreeMap<String, u64>,
    /// Ended attempts by final call status.
    pub attempts_by_call_status: BTreeMap<String, u64>,
}

/// Fields written when the provider accepted a call.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Provider call id.
    pub call_id: ProviderCallId,
    /// Status in the create response.
    pub status: CallStatus,
}

/// What outdial keeps. All times are UTC instants passed in by the caller (`now`): a backend
/// never reads the clock for domain data.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    // ---- campaigns ----

    /// Creates a campaign. Errors: [`StoreError::Conflict`] if the name exists.
    async fn create_campaign(
        &self,
        name: &str,
        settings: &CampaignSettings,
        now: DateTime<Utc>,
    ) -> StoreResult<Campaign>;

    /// Replaces a campaign's settings. Errors: [`StoreError::NotFound`].
    async fn update_campaign(
        &self,
        id: CampaignId,
        settings: &CampaignSettings,
        active: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Campaign>;

    /// A campaign by id. Errors: [`StoreError::NotFound`].
    async fn campaign(&self, id: CampaignId) -> StoreResult<Campaign>;

    /// A campaign by name, if any.
    async fn campaign_by_name(&self, name: &str) -> StoreResult<Option<Campaign>>;

    /// Every campaign, by id.
    async fn campaigns(&self) -> StoreResult<Vec<Campaign>>;

    // ---- leads ----

    /// Inserts leads into a campaign in one transaction, skipping numbers the campaign
    /// already has.
    async fn insert_leads(
        &self,
        campaign_id: CampaignId,
        leads: &[(NewLead, LeadPlacement)],
        now: DateTime<Utc>,
    ) -> StoreResult<InsertReport>;

    /// A lead by id, if any.
    async fn lead(&self, id: LeadId) -> StoreResult<Option<Lead>>;

    /// Leads with id greater than `after`, at most `limit`, by id (for exports and checks).
    async fn leads_after(&self, after: LeadId, limit: u32) -> StoreResult<Vec<Lead>>;

    /// Every lead with this number, in any campaign.
    async fn leads_by_phone(&self, phone: &E164) -> StoreResult<Vec<Lead>>;

    /// Active leads of active campaigns due at `now`, earliest first, at most `limit`.
    async fn due_leads(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Lead>>;

    /// Moves an active lead's next attempt time (the rules blocked it at dial time) and
    /// records why. Guarded: returns `false` if the lead is no longer active.
    async fn reschedule_lead(
        &self,
        id: LeadId,
        at: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Pauses an active lead with a reason. Guarded like [`Store::reschedule_lead`].
    async fn park_lead(&self, id: LeadId, reason: &str, now: DateTime<Utc>) -> StoreResult<bool>;

    /// Reservation instants (UTC) of the lead's attempts that count against caps: all but
    /// `rejected` and `not-placed`.
    async fn lead_attempt_times(&self, id: LeadId) -> StoreResult<Vec<DateTime<Utc>>>;

    // ---- attempts ----

    /// Reserves an attempt for a due lead: in one transaction, inserts the attempt as
    /// `reserved` and marks the lead `dialing`. Guarded: returns `None` when the lead is not
    /// active and due at `now`, or when the number already has an attempt in flight (in any
    /// campaign; the database's partial unique index decides).
    async fn reserve_attempt(
        &self,
        lead_id: LeadId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Attempt>>;

    /// An attempt by id, if any.
    async fn attempt(&self, id: AttemptId) -> StoreResult<Option<Attempt>>;

    /// Every attempt of a lead, in order.
    async fn lead_attempts(&self, lead_id: LeadId) -> StoreResult<Vec<Attempt>>;

    /// `reserved`/`unknown` → `placed` with the provider's call id. Returns `false` when the
    /// attempt had moved on (a webhook may have got there first; the call id is still stored
    /// if missing).
    async fn mark_placed(
        &self,
        id: AttemptId,
        placement: &Placement,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// `reserved` → `rejected` (no call exists), with the provider's code and message.
    async fn mark_rejected(
        &self,
        id: AttemptId,
        code: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// `reserved` → `unknown` (the create's outcome is ambiguous).
    async fn mark_unknown(
        &self,
        id: AttemptId,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// `reserved`/`unknown` → `not-placed` (proven: no call exists).
    async fn mark_not_placed(
        &self,
        id: AttemptId,
        code: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Applies a provider event to its attempt, found by call id or else by `attempt_hint`
    /// (whose call id must be empty or equal). Records the raw event in the same
    /// transaction. Idempotent and order-independent: see [`EventOutcome`].
    async fn apply_call_event(
        &self,
        attempt_hint: Option<AttemptId>,
        event: &CallEvent,
        raw: &RawEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<EventOutcome>;

    /// Final attempts whose lead has not yet been updated, oldest first.
    async fn attempts_to_conclude(&self, limit: u32) -> StoreResult<Vec<AttemptId>>;

    /// Sets the attempt's disposition and applies `decision` to its lead, in one transaction.
    /// Guarded: returns `false` if the attempt is not final or was already concluded.
    async fn conclude_attempt(
        &self,
        id: AttemptId,
        disposition: &Disposition,
        decision: &LeadDecision,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// In-flight attempts reserved before `reserved_before` and not reconciled since
    /// `reconciled_before` (or never), oldest first.
    async fn attempts_to_reconcile(
        &self,
        reserved_before: DateTime<Utc>,
        reconciled_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Attempt>>;

    /// Number of attempts in flight (any state that blocks a number), across campaigns.
    async fn in_flight_count(&self) -> StoreResult<u64>;

    /// Notes that the reconciler asked the provider about an attempt at `now`.
    async fn mark_reconciled(&self, id: AttemptId, now: DateTime<Utc>) -> StoreResult<()>;

    /// Attempts with id greater than `after`, at most `limit`, by id (for streaming exports).
    async fn attempts_after(&self, after: AttemptId, limit: u32) -> StoreResult<Vec<Attempt>>;

    // ---- events, status, settings ----

    /// Appends an event not tied to a state change in this store (operator actions, …).
    async fn record_event(
        &self,
        lead_id: Option<LeadId>,
        attempt_id: Option<AttemptId>,
        kind: &str,
        source: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// A lead's event timeline (events of the lead and of its attempts), oldest first.
    async fn lead_events(&self, lead_id: LeadId) -> StoreResult<Vec<EventRecord>>;

    /// Counts for the status endpoint; `since` bounds [`StatusCounts::attempts_since`].
    async fn status_counts(
        &self,
        now: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> StoreResult<StatusCounts>;

    /// A persisted setting, if set.
    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;

    /// Persists a setting (and records an event of kind `setting`).
    async fn set_setting(
        &self,
        key: &str,
        value: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// Truncates an instant to whole microseconds, the precision every backend keeps.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}
