//! Backfill: the records of [`Leads::backfill_lead`](crate::Leads::backfill_lead), which adds a
//! lead together with the calls another system already made to its number.

use chrono::{DateTime, Utc};
use outdial_core::{AnsweredBy, CallStatus, Disposition, LeadId, ProviderCallId};
use serde::Serialize;

/// The event source of everything [`Leads::backfill_lead`](crate::Leads::backfill_lead)
/// writes (`lead.created`, `attempt.ended`, `lead.concluded`): it marks a lead and its
/// attempts as backfilled from a provider's call log rather than dialed by outdial.
pub const BACKFILL_SOURCE: &str = "backfill";

/// One call another system made to a lead's number, stored as a concluded attempt in state
/// `ended` (it counts against every cap, like any attempt that reached the provider).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PastAttempt {
    /// The provider's call id. Attempts are keyed by it: a call id already stored (in any
    /// campaign) is never inserted again.
    pub call_id: ProviderCallId,
    /// When the provider created the call, UTC: stored as the attempt's reservation and
    /// placement instant, which caps and gaps count.
    pub started_at: DateTime<Utc>,
    /// When the call was answered, UTC, when known.
    pub answered_at: Option<DateTime<Utc>>,
    /// When the call ended, UTC (at or after `started_at`).
    pub ended_at: DateTime<Utc>,
    /// Its final call status (one of the five final values).
    pub status: CallStatus,
    /// Answering-machine detection result, when known.
    pub answered_by: Option<AnsweredBy>,
    /// Call length, seconds, when known.
    pub duration_s: Option<u32>,
    /// The attempt's disposition (as conclusion would give it).
    pub disposition: Disposition,
}

/// What [`Leads::backfill_lead`](crate::Leads::backfill_lead) stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BackfilledLead {
    /// The new lead.
    pub lead_id: LeadId,
    /// Attempts inserted (the lead's `attempt_count`).
    pub attempts: u32,
    /// Past attempts left out because their call id was already stored (for another lead).
    pub known_calls: u32,
}

/// Checks the past attempts of a backfill: each final, ending at or after it started.
/// Errors name the call id; backends call it before writing anything.
pub fn check_past_attempts(past: &[PastAttempt]) -> Result<(), crate::StoreError> {
    for p in past {
        if !p.status.is_final() {
            return Err(crate::StoreError::InvalidArgument(format!(
                "past call {} has status {}, not a final one",
                p.call_id,
                p.status.as_str()
            )));
        }
        if p.ended_at < p.started_at {
            return Err(crate::StoreError::InvalidArgument(format!(
                "past call {} ends before it starts",
                p.call_id
            )));
        }
    }
    Ok(())
}
