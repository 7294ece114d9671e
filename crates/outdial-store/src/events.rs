//! The event log: its record and the [`EventLog`] sub-trait.

use crate::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outdial_core::{AttemptId, LeadId};
use serde::Serialize;

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

/// The append-only event log: what is appended outside a state change, and a lead's timeline. Part of [`Store`]; every time is a UTC instant passed in by the caller (`now`).
#[async_trait]
pub trait EventLog: Send + Sync {
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
}
