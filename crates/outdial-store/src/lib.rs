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
#[cfg(feature = "conformance")]
pub mod small_fs;

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
    /// The storage cannot take writes or cannot be reached: the disk is full, an I/O error,
    /// a read-only file system, a lost connection. Nothing of the failed operation was
    /// committed. The engine stops new calls when it sees this (design invariant: a failed
    /// write is never reported as success).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The database holds tables but not outdial's migration table (`_sqlx_migrations`): it
    /// belongs to something else (a mistyped path or URL, most likely). Nothing was changed.
    /// The message names the database and says how to proceed; opening it anyway takes
    /// [`ForeignDatabase::Adopt`].
    #[error("{0}")]
    ForeignDatabase(String),
}

/// What opening a store does with a database that already holds tables but has no outdial
/// migration table (`_sqlx_migrations`), i.e. one outdial did not create.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForeignDatabase {
    /// Refuse it with [`StoreError::ForeignDatabase`], writing nothing to it (the default).
    #[default]
    Refuse,
    /// Add outdial's tables to it anyway: the operator asked for it explicitly.
    Adopt,
}

/// The message of [`StoreError::ForeignDatabase`] for the database `what` (a file path or a
/// database name), whose first few tables are `tables`. One wording for every backend.
pub fn foreign_database_message(what: &str, tables: &[String]) -> String {
    format!(
        "{what} is not an outdial database: it already holds tables ({}) but no outdial \
         migration table (_sqlx_migrations), and outdial refuses to add its own tables to it. \
         Point outdial at a new or an outdial database instead (check the path or URL for a \
         typo); to add outdial's tables to this database anyway, pass --adopt-database to \
         `outdial serve` or `outdial campaign create`",
        tables.join(", ")
    )
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
    /// Highest provider sequence number seen while the attempt was in flight. Informational
    /// (shown to operators): events are ordered by call status rank
    /// ([`AttemptState::advance`]), never by this number, so an outlandish value from the
    /// provider cannot hold back or reorder later events.
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
    /// A business disposition reported for the attempt (by the call flow, an agent or the
    /// API) before it was concluded; conclusion uses it instead of the automatic one.
    pub requested_disposition: Option<Disposition>,
    /// The callback time requested with it, UTC.
    pub callback_at: Option<DateTime<Utc>>,
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
    /// The event was recorded but is not ahead of the attempt's state (reordered: `ringing`
    /// after `in-progress`). The attempt is still in flight; only facts it did not have yet
    /// (`answered_by`, the highest sequence number) were added.
    Stale {
        /// The attempt it belongs to.
        attempt_id: AttemptId,
    },
    /// The attempt had already ended (a final state: `ended`, `rejected`, `not-placed`,
    /// concluded or not): the raw event was recorded (and deduplicated), and nothing of the
    /// attempt changed. Once final, an attempt's facts change only through an explicit
    /// re-disposition ([`Store::redispose_attempt`]).
    Late {
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

/// Which Do-Not-Call list an entry belongs to.
///
/// Stored as a text key ([`DncScope::as_key`]): `internal`, `national`, or `campaign:{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DncScope {
    /// The company-specific (internal) list: applies to every campaign.
    Internal,
    /// The national registry (the US National DNC Registry's data files): applies to every
    /// campaign.
    National,
    /// One campaign's own list: applies to that campaign only.
    Campaign(CampaignId),
}

impl DncScope {
    /// The stored key: `internal`, `national` or `campaign:{id}`.
    pub fn as_key(&self) -> String {
        match self {
            DncScope::Internal => "internal".to_owned(),
            DncScope::National => "national".to_owned(),
            DncScope::Campaign(id) => format!("campaign:{id}"),
        }
    }

    /// Reads a stored key back; `None` for anything [`DncScope::as_key`] does not produce
    /// (the campaign id must be written exactly as `as_key` writes it: `campaign:007` is
    /// refused).
    pub fn parse(key: &str) -> Option<DncScope> {
        match key {
            "internal" => Some(DncScope::Internal),
            "national" => Some(DncScope::National),
            other => {
                let id = other.strip_prefix("campaign:")?;
                let n: i64 = id.parse().ok()?;
                (n.to_string() == id).then_some(DncScope::Campaign(CampaignId(n)))
            }
        }
    }

    /// Whether an entry of this scope blocks calls made for `campaign` (`None`: a call
    /// outside any campaign, blocked by the internal and national lists only).
    pub fn applies_to(&self, campaign: Option<CampaignId>) -> bool {
        match self {
            DncScope::Internal | DncScope::National => true,
            DncScope::Campaign(id) => campaign == Some(*id),
        }
    }
}

impl std::fmt::Display for DncScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_key())
    }
}

impl Serialize for DncScope {
    /// Serialises as the stored key ([`DncScope::as_key`]).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_key())
    }
}

/// One number on one Do-Not-Call list. A list holds a number at most once: `(scope, phone)`
/// is the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DncEntry {
    /// The number, E.164.
    pub phone: E164,
    /// The list.
    pub scope: DncScope,
    /// Where the entry came from (free text): `disposition` (a call ended with a DNC
    /// disposition), `operator` (added by hand), `import:FILE` (a list file).
    pub source: String,
    /// Why, when known (the called party's words, a ticket number, …).
    pub reason: Option<String>,
    /// When the number was put on the list, UTC.
    pub added_at: DateTime<Utc>,
}

/// Where a kill switch applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub enum KillScope {
    /// Every campaign: no call is placed anywhere.
    Global,
    /// One campaign.
    Campaign(CampaignId),
}

impl KillScope {
    /// Stable key: `global` or `campaign:{id}`.
    pub fn as_key(&self) -> String {
        match self {
            KillScope::Global => "global".into(),
            KillScope::Campaign(c) => format!("campaign:{}", c.0),
        }
    }

    /// Parses [`KillScope::as_key`]'s form; `None` for anything else.
    pub fn parse(key: &str) -> Option<KillScope> {
        if key == "global" {
            return Some(KillScope::Global);
        }
        let digits = key.strip_prefix("campaign:")?;
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return None;
        }
        digits
            .parse()
            .ok()
            .map(|n| KillScope::Campaign(CampaignId(n)))
    }
}

impl From<KillScope> for String {
    fn from(s: KillScope) -> String {
        s.as_key()
    }
}

/// A kill switch as stored: its scope, whether it is tripped, and who changed it last, why
/// and when (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KillSwitch {
    /// Scope.
    pub scope: KillScope,
    /// `true`: no call is placed in the scope until an operator resumes.
    pub tripped: bool,
    /// Why it was last tripped or resumed (readable sentence).
    pub reason: String,
    /// Who changed it: `monitor:<rule>` for the safety monitor, `operator:<name>` or `api`.
    pub source: String,
    /// When it last changed, UTC.
    pub changed_at: DateTime<Utc>,
}

/// Identifier of a durable job (row id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct JobId(pub i64);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a job is in its life: `pending` (waits for `run_at`) → `running` (claimed by a
/// worker until `locked_until`) → `done`, or back to `pending` for a retry, or `dead` (a
/// dead letter, kept with its error until an operator requeues it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for its `run_at`.
    Pending,
    /// Claimed by a worker.
    Running,
    /// Finished.
    Done,
    /// Dead letter.
    Dead,
}

impl JobState {
    /// Stored form: `pending`, `running`, `done`, `dead`.
    pub fn as_str(&self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    /// Parses [`JobState::as_str`]'s form.
    pub fn parse(s: &str) -> Option<JobState> {
        Some(match s {
            "pending" => JobState::Pending,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "dead" => JobState::Dead,
            _ => return None,
        })
    }
}

/// A job to enqueue. Its payload carries ids only (`{"attempt_id": 12}`,
/// `{"alert_id": 3}`): the handler loads the records when it runs, so a retried job never
/// acts on stale copies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewJob {
    /// Handler name (`alert.email`, `alert.chat`, `attempt.concluded`, …).
    pub kind: String,
    /// JSON object of ids.
    pub payload: String,
    /// Earliest run time, UTC.
    pub run_at: DateTime<Utc>,
    /// When set, a second job with the same key is not enqueued.
    pub dedupe_key: Option<String>,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Job {
    /// Row id.
    pub id: JobId,
    /// Handler name.
    pub kind: String,
    /// JSON payload of ids, as enqueued (never rewritten).
    pub payload: String,
    /// State.
    pub state: JobState,
    /// How many times a worker has claimed it.
    pub attempts: u32,
    /// Earliest next run, UTC.
    pub run_at: DateTime<Utc>,
    /// While `running`: when the claim expires and another worker may take it, UTC.
    pub locked_until: Option<DateTime<Utc>>,
    /// Last error's code (`smtp-550`, `http-503`, `bad_payload`, `unknown_kind`, …).
    pub error_code: Option<String>,
    /// Last error's message.
    pub error_message: Option<String>,
    /// Enqueued at, UTC.
    pub created_at: DateTime<Utc>,
    /// Last changed at, UTC.
    pub updated_at: DateTime<Utc>,
}

/// Identifier of an alert (row id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AlertId(pub i64);

impl std::fmt::Display for AlertId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An alert to raise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewAlert {
    /// What happened, as a stable code (`kill_switch.tripped`, `provider.unreachable`, …).
    pub kind: String,
    /// Scope it concerns (`global`, `campaign:3`).
    pub scope: String,
    /// One line.
    pub subject: String,
    /// Plain text: the reason, the counts, and what to do.
    pub body: String,
    /// When set, a second alert with the same key is not raised (and no job is enqueued).
    pub dedupe_key: Option<String>,
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertRecord {
    /// Row id.
    pub id: AlertId,
    /// Stable code.
    pub kind: String,
    /// Scope.
    pub scope: String,
    /// One line.
    pub subject: String,
    /// Plain text.
    pub body: String,
    /// Raised at, UTC.
    pub raised_at: DateTime<Utc>,
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
    /// already has. The SQLite backend holds the database's write lock for the whole call,
    /// and other writers (`serve`'s webhooks, in another process) wait for it: import large
    /// files in batches (`outdial import` passes 1,000 rows, tens of milliseconds).
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

    /// Active leads of active campaigns due at `now`, earliest first, at most `limit`. Leads of
    /// a campaign whose kill switch is tripped are left out (so they cannot crowd out the
    /// leads of other campaigns); the global switch is the caller's to check.
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

    /// Reservation instants (UTC) of every attempt to `phone`, in any campaign, reserved at
    /// or after `since`, that counts against caps (all states but `rejected` and
    /// `not-placed`, the rule of [`Store::lead_attempt_times`]), earliest first. Feeds the
    /// per-number caps across campaigns (for example 3 calls per rolling 24 h).
    async fn phone_attempt_times(
        &self,
        phone: &E164,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<DateTime<Utc>>>;

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

    /// [`Store::reserve_attempt`], and also `None` when `max_in_flight` attempts are already
    /// in flight across the fleet (every campaign, every instance): the check and the insert
    /// are atomic, so instances sharing the database never exceed the cap together.
    async fn reserve_attempt_capped(
        &self,
        lead_id: LeadId,
        now: DateTime<Utc>,
        max_in_flight: u32,
    ) -> StoreResult<Option<Attempt>>;

    /// Takes the next slot of the fleet-wide pacer `name`: returns the instant (UTC, at or
    /// after `now`) at which the caller may act, and moves the pacer on by `interval`, so
    /// that every instance together acts at most once per `interval`.
    async fn reserve_pacing_slot(
        &self,
        name: &str,
        interval: chrono::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<DateTime<Utc>>;

    /// Takes or renews the lease `name` for `holder` until `now + ttl`. Returns `true` when
    /// `holder` holds it afterwards (it was free, expired, or already `holder`'s); `false`,
    /// changing nothing, while another holder's lease runs. Singleton maintenance (the
    /// reconciler) runs only under the lease. Errors: [`StoreError::Backend`] when `ttl` is
    /// not positive.
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Closes the connections (SQLite checkpoints its WAL).
    async fn close(&self);

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
    /// transaction. Idempotent and order-independent: see [`EventOutcome`]. An event for an
    /// attempt already in a final state changes nothing of it ([`EventOutcome::Late`]).
    async fn apply_call_event(
        &self,
        attempt_hint: Option<AttemptId>,
        event: &CallEvent,
        raw: &RawEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<EventOutcome>;

    /// Records a business disposition (and callback time) reported for an attempt that is not
    /// yet concluded, for conclusion to use. Guarded: returns `false` (nothing written) when
    /// the attempt is missing or already concluded. Records an event `attempt.disposition`.
    async fn request_disposition(
        &self,
        id: AttemptId,
        disposition: &Disposition,
        callback_at: Option<DateTime<Utc>>,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Replaces the disposition of an already concluded attempt and applies the new
    /// `decision` to its lead, in one transaction. Guarded: returns `false` when the attempt
    /// is not concluded, is not the lead's latest attempt, or the lead is `dialing`.
    async fn redispose_attempt(
        &self,
        id: AttemptId,
        disposition: &Disposition,
        callback_at: Option<DateTime<Utc>>,
        decision: &LeadDecision,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Final attempts whose lead has not yet been updated, oldest first.
    async fn attempts_to_conclude(&self, limit: u32) -> StoreResult<Vec<AttemptId>>;

    /// Sets the attempt's disposition, applies `decision` to its lead and enqueues
    /// `follow_up` jobs (post-call work: CRM notifications, …), in one transaction, so
    /// post-call work is never lost nor done for an attempt that was not concluded.
    /// Guarded: returns `false` (nothing written) if the attempt is not final or was already
    /// concluded.
    async fn conclude_attempt(
        &self,
        id: AttemptId,
        disposition: &Disposition,
        decision: &LeadDecision,
        follow_up: &[NewJob],
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

    // ---- do-not-call lists ----

    /// Puts numbers on Do-Not-Call lists, in one transaction. Idempotent: an entry whose
    /// `(scope, phone)` is already listed (stored earlier, or earlier in the same batch) is
    /// skipped and the stored entry keeps its original source, reason and time. Returns how
    /// many entries were newly added.
    ///
    /// Each call records `dnc.added` in the event log in the same transaction: one event
    /// naming the entry when `entries` holds one entry, one summary event (counts by scope and
    /// source) for a larger batch; nothing when nothing was added. Callers importing large
    /// files (a national registry download holds millions of numbers) pass batches of a few
    /// thousand entries (the CLI uses 5,000) so a transaction stays short.
    ///
    /// `now` is the event time; each entry's own `added_at` is stored as given.
    /// Errors: [`StoreError::Backend`].
    async fn dnc_add(&self, entries: &[DncEntry], now: DateTime<Utc>) -> StoreResult<u64>;

    /// Takes `phone` off one list. Returns `false` when it was not on that list (nothing
    /// changes). A removal records a `dnc.removed` event (source `operator`, with the removed
    /// entry's details) in the same transaction. Errors: [`StoreError::Backend`].
    async fn dnc_remove(
        &self,
        phone: &E164,
        scope: &DncScope,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Every list entry that blocks calling `phone` for `campaign`: the internal and national
    /// lists' entries, and `campaign`'s own list's entry (`None`: no campaign list is
    /// consulted). Empty when the number may be called. Ordered by scope key.
    /// Errors: [`StoreError::Backend`], [`StoreError::Corrupt`].
    async fn dnc_check(
        &self,
        phone: &E164,
        campaign: Option<CampaignId>,
    ) -> StoreResult<Vec<DncEntry>>;

    /// Numbers listed, by scope key ([`DncScope::as_key`]); scopes with no entry are absent.
    /// Errors: [`StoreError::Backend`].
    async fn dnc_count(&self) -> StoreResult<BTreeMap<String, u64>>;

    // ---- kill switches ----

    /// Trips (`tripped = true`) or resumes a kill switch, recording `kill_switch.tripped` /
    /// `kill_switch.resumed` in the event log in the same transaction. Returns `false` (and
    /// changes nothing) when the switch is already in that position, so a monitor that trips
    /// again and again records and alerts once. Errors: [`StoreError::Backend`].
    async fn set_kill_switch(
        &self,
        scope: KillScope,
        tripped: bool,
        reason: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Every kill switch ever set, by scope key. A scope never set is not tripped.
    async fn kill_switches(&self) -> StoreResult<Vec<KillSwitch>>;

    // ---- durable jobs and alerts ----

    /// Enqueues a job. Returns its id, or `None` when a job with the same `dedupe_key`
    /// exists (in any state). Errors: [`StoreError::Backend`].
    async fn enqueue_job(&self, job: &NewJob, now: DateTime<Utc>) -> StoreResult<Option<JobId>>;

    /// Claims up to `limit` jobs for `worker`: `pending` jobs with `run_at <= now`, and
    /// `running` jobs whose claim expired (`locked_until < now`: their worker died), oldest
    /// `run_at` first. Each becomes `running` with `attempts + 1` and `locked_until = now +
    /// lock_for`. Exclusive: two workers never hold the same job at once.
    async fn claim_jobs(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lock_for: chrono::Duration,
        limit: u32,
    ) -> StoreResult<Vec<Job>>;

    /// `running` → `done`. Guarded: `false` if the job is not running.
    async fn finish_job(&self, id: JobId, now: DateTime<Utc>) -> StoreResult<bool>;

    /// `running` → `pending` at `run_at`, keeping the error. Guarded: `false` if not running.
    async fn retry_job(
        &self,
        id: JobId,
        run_at: DateTime<Utc>,
        error_code: &str,
        error_message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// `running` (or `pending`) → `dead`, with the error, and a `job.dead` event. Guarded:
    /// `false` if the job is done or already dead.
    async fn dead_letter_job(
        &self,
        id: JobId,
        error_code: &str,
        error_message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Operator action: `dead` → `pending` now, attempts reset to 0, error kept. Guarded:
    /// `false` if the job is not dead.
    async fn requeue_job(&self, id: JobId, now: DateTime<Utc>) -> StoreResult<bool>;

    /// One job.
    async fn job(&self, id: JobId) -> StoreResult<Option<Job>>;

    /// Jobs in `state` (every state: `None`), newest first, at most `limit`.
    async fn jobs(&self, state: Option<JobState>, limit: u32) -> StoreResult<Vec<Job>>;

    /// Number of jobs by state ([`JobState::as_str`]); states with none are absent.
    async fn job_counts(&self) -> StoreResult<BTreeMap<String, u64>>;

    /// Raises an alert: stores it and enqueues one job per channel (`kind` = the channel,
    /// payload `{"alert_id": N}`, `run_at = now`), with an `alert.raised` event, in one
    /// transaction. Returns `None` (nothing written) when an alert with the same
    /// `dedupe_key` exists. Errors: [`StoreError::Backend`].
    async fn raise_alert(
        &self,
        alert: &NewAlert,
        channels: &[&str],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AlertId>>;

    /// One alert.
    async fn alert(&self, id: AlertId) -> StoreResult<Option<AlertRecord>>;

    /// Alerts, newest first, at most `limit`.
    async fn alerts(&self, limit: u32) -> StoreResult<Vec<AlertRecord>>;

    // ---- what the safety monitor reads ----

    /// The latest attempts by id, newest first, at most `limit`; only `campaign`'s when
    /// given. Attempts still `reserved` are included (the caller skips them).
    async fn recent_attempts(
        &self,
        campaign: Option<CampaignId>,
        limit: u32,
    ) -> StoreResult<Vec<Attempt>>;

    /// When the newest event from `source` (for example `twilio-webhook`) was recorded, UTC;
    /// `None` if there is none.
    async fn latest_event_at(&self, source: &str) -> StoreResult<Option<DateTime<Utc>>>;

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

/// The instants of a call event as stored: provider times clamped into `[reserved_at, now]`
/// (outdial's own clock), so no stored instant lies before the attempt's reservation or in
/// the future. A provider's clock may be skewed or its event time may be wrong (an end
/// reported before the call was reserved); what outdial stores for reports stays
/// plausible, and nothing measures a gap from it (the redial interval runs from when
/// outdial heard the event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTimes {
    /// The event's instant (placement, answer or end), clamped, UTC.
    pub at: DateTime<Utc>,
    /// When the call was answered, if the event says: the event instant of `in-progress`,
    /// or `completed`'s instant minus its duration; clamped, UTC.
    pub answered_at: Option<DateTime<Utc>>,
    /// The provider's own instant when it had to be clamped (the event detail records it).
    pub clamped_from: Option<DateTime<Utc>>,
}

impl EventTimes {
    /// Derives the stored instants of `event` for an attempt reserved at `reserved_at`,
    /// applied at `now`.
    pub fn of(event: &CallEvent, reserved_at: DateTime<Utc>, now: DateTime<Utc>) -> EventTimes {
        let clamp = |t: DateTime<Utc>| t.max(reserved_at).min(now.max(reserved_at));
        let at = clamp(event.at);
        let answered_at = match (event.status, event.duration_s) {
            (CallStatus::InProgress, _) => Some(at),
            (CallStatus::Completed, Some(d)) => {
                Some(clamp(at - chrono::Duration::seconds(i64::from(d))))
            }
            _ => None,
        };
        EventTimes {
            at,
            answered_at,
            clamped_from: (at != event.at).then_some(event.at),
        }
    }
}

/// Truncates an instant to whole microseconds, the precision every backend keeps.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dnc_scope_keys_round_trip() {
        for scope in [
            DncScope::Internal,
            DncScope::National,
            DncScope::Campaign(CampaignId(42)),
        ] {
            assert_eq!(DncScope::parse(&scope.as_key()), Some(scope));
        }
        assert_eq!(DncScope::Campaign(CampaignId(7)).as_key(), "campaign:7");
        for bad in [
            "",
            "Internal",
            "campaign:",
            "campaign:007",
            "campaign:x",
            "campaign:+7",
        ] {
            assert_eq!(DncScope::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            serde_json::to_string(&DncScope::Campaign(CampaignId(3))).unwrap(),
            "\"campaign:3\""
        );
    }

    #[test]
    fn dnc_scope_applies_to() {
        let a = Some(CampaignId(1));
        let b = Some(CampaignId(2));
        assert!(DncScope::Internal.applies_to(a) && DncScope::Internal.applies_to(None));
        assert!(DncScope::National.applies_to(b) && DncScope::National.applies_to(None));
        assert!(DncScope::Campaign(CampaignId(1)).applies_to(a));
        assert!(!DncScope::Campaign(CampaignId(1)).applies_to(b));
        assert!(!DncScope::Campaign(CampaignId(1)).applies_to(None));
    }
}
