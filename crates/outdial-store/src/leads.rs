//! Leads: the records and the [`Leads`] sub-trait.

use crate::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outdial_core::{CampaignId, Disposition, LeadContact, LeadId, LeadStatus, NewLead, E164};
use serde::Serialize;
use std::collections::HashMap;

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

/// Where a newly inserted lead starts.
#[derive(Debug, Clone, PartialEq)]
pub enum LeadPlacement {
    /// Active, first due at this instant (UTC).
    Active(DateTime<Utc>),
    /// Paused with a reason (for example: no time zone can be determined).
    Paused(String),
}

/// What an operator may do to a lead ([`Leads::change_lead_by_operator`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorLeadChange {
    /// `active` → `paused`: not dialed until resumed.
    Pause,
    /// `paused` → `active`, due at `now` (the dialer's rules still decide when it is called).
    Resume,
    /// `active` or `paused` → `done`: never dialed again; its attempts and events are kept.
    Remove,
}

impl OperatorLeadChange {
    /// The statuses the change applies to, as stored.
    pub fn from_statuses(self) -> &'static [&'static str] {
        match self {
            OperatorLeadChange::Pause => &["active"],
            OperatorLeadChange::Resume => &["paused"],
            OperatorLeadChange::Remove => &["active", "paused"],
        }
    }

    /// The status it sets, as stored.
    pub fn to_status(self) -> &'static str {
        match self {
            OperatorLeadChange::Pause => "paused",
            OperatorLeadChange::Resume => "active",
            OperatorLeadChange::Remove => "done",
        }
    }

    /// The event it records.
    pub fn event(self) -> EventKind {
        match self {
            OperatorLeadChange::Pause => EventKind::LeadPaused,
            OperatorLeadChange::Resume => EventKind::LeadResumed,
            OperatorLeadChange::Remove => EventKind::LeadRemoved,
        }
    }
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

/// Leads: insert, look up, the due queue, and the lead side of scheduling. Part of [`Store`]; every time is a UTC instant passed in by the caller (`now`).
#[async_trait]
pub trait Leads: Send + Sync {
    /// Inserts leads into a campaign in one transaction, skipping numbers the campaign
    /// already has. The SQLite backend holds the database's write lock for the whole call,
    /// and other writers (`serve`'s webhooks, in another process) wait for it: import large
    /// files in batches (`outdial import` passes 10,000 rows, a few hundred milliseconds).
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

    /// The leads of `campaign` whose contact's `external_id` (a CRM's or an earlier list's
    /// id) is exactly `external_id`, by id (indexed: migration 0006).
    async fn leads_by_external_id(
        &self,
        campaign: CampaignId,
        external_id: &str,
    ) -> StoreResult<Vec<Lead>>;

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

    /// An operator's change of a lead ([`OperatorLeadChange`]), with the operator's reason
    /// stored as the lead's `status_reason` and in an event from source `operator`
    /// (`lead.paused`, `lead.resumed`, `lead.removed`) in the same transaction. Guarded:
    /// returns `false`, writing nothing, when the lead is missing or not in a status the
    /// change applies to (a `dialing` lead has a call in flight and is never changed).
    async fn change_lead_by_operator(
        &self,
        id: LeadId,
        change: OperatorLeadChange,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

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

    /// [`Leads::phone_attempt_times`] for many numbers at once (an import's batch), in one
    /// or a few statements: each number of `phones` with at least one attempt reserved at or
    /// after `since` (UTC, inclusive) that counts against caps maps to those reservation
    /// instants (UTC, microsecond precision as stored), earliest first: exactly what
    /// `phone_attempt_times(phone, since)` returns. A number without such an attempt is
    /// absent, so `get(phone)` is `None` exactly when `phone_attempt_times` would return an
    /// empty list. `phones` may be empty (an empty map), may repeat a number, and may be of
    /// any length (a backend splits it as it needs). Errors: [`StoreError::Unavailable`],
    /// [`StoreError::Corrupt`].
    async fn phone_attempt_times_many(
        &self,
        phones: &[E164],
        since: DateTime<Utc>,
    ) -> StoreResult<HashMap<E164, Vec<DateTime<Utc>>>>;

    /// Adds a lead with the calls another system already made to its number (issue 11,
    /// `outdial backfill`), in one transaction: the lead as `decision` says (active with its
    /// next attempt time, done or paused with the reason), with `disposition` the last past
    /// attempt's; each past attempt, oldest first, as a concluded `ended` attempt numbered
    /// 1, 2, … with its real times (so caps and the redial policy go on from the last
    /// call), leaving out a call id already stored; and events from
    /// [`BACKFILL_SOURCE`]. Returns `None`, writing nothing, when the campaign already has
    /// the number (so a rerun adds nothing twice). Errors: [`StoreError::InvalidArgument`]
    /// for a past attempt that is not final or ends before it starts.
    async fn backfill_lead(
        &self,
        campaign_id: CampaignId,
        lead: &NewLead,
        past: &[PastAttempt],
        decision: &outdial_core::schedule::LeadDecision,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<BackfilledLead>>;
}
