//! Attempts: the records, the stored instants of a call event, and the [`Attempts`] sub-trait.

use crate::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outdial_core::schedule::LeadDecision;
use outdial_core::{
    AnsweredBy, AttemptId, AttemptState, CallEvent, CallStatus, CampaignId, Disposition, LeadId,
    ProviderCallId, E164,
};
use serde::Serialize;

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
    /// What the provider charged for the call, once it reported a price
    /// ([`Attempts::record_attempt_price`]).
    pub price: Option<outdial_core::CallPrice>,
}

/// A raw provider event as received, kept in the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    /// Where it came from: a provider's webhook source, `reconciler`, ….
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
    /// re-disposition ([`Store::redispose_attempt`]), and its price is added once the
    /// provider reports one ([`Attempts::record_attempt_price`]).
    Late {
        /// The attempt it belongs to.
        attempt_id: AttemptId,
    },
    /// No attempt matches the call id (nor the attempt hint). Recorded, nothing changed.
    UnknownCall,
}

impl EventOutcome {
    /// The attempt the event belongs to (`None` for a duplicate or an unknown call).
    pub fn attempt_id(&self) -> Option<AttemptId> {
        match self {
            EventOutcome::Applied { attempt, .. } => Some(attempt.id),
            EventOutcome::Stale { attempt_id } | EventOutcome::Late { attempt_id } => {
                Some(*attempt_id)
            }
            EventOutcome::Duplicate | EventOutcome::UnknownCall => None,
        }
    }
}

/// Fields written when the provider accepted a call.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Provider call id.
    pub call_id: ProviderCallId,
    /// Status in the create response.
    pub status: CallStatus,
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

/// Attempts: reserve, place, apply provider events, conclude and reconcile. Part of [`Store`]; every time is a UTC instant passed in by the caller (`now`).
#[async_trait]
pub trait Attempts: Send + Sync {
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

    /// Records what the provider charged for attempt `id`'s call, unless a price is already
    /// recorded (the first price reported wins; a repeated report changes nothing). Answers
    /// whether this call recorded it; `false` also for an unknown attempt.
    async fn record_attempt_price(
        &self,
        id: AttemptId,
        price: &outdial_core::CallPrice,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}
