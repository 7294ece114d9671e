//! The event log: its record and the [`EventLog`] sub-trait.

use crate::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outdial_core::{AttemptId, AttemptState, LeadId};
use serde::Serialize;

/// What an event of the log records: the stored `kind` column ([`EventKind::as_str`]).
/// Every kind the store writes itself is here, so both backends write the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// An attempt entered a state: `attempt.reserved`, `attempt.placed`, `attempt.ringing`,
    /// `attempt.in-progress`, `attempt.unknown`, `attempt.ended`, `attempt.rejected`,
    /// `attempt.not-placed`.
    Attempt(AttemptState),
    /// A business disposition was requested for an attempt: `attempt.disposition`.
    AttemptDisposition,
    /// A raw provider event matched to an attempt: `webhook`.
    Webhook,
    /// A raw provider event no attempt matches: `webhook.unmatched`.
    WebhookUnmatched,
    /// A lead's next attempt moved: `lead.rescheduled`.
    LeadRescheduled,
    /// A lead was paused: `lead.paused`.
    LeadPaused,
    /// An operator resumed a paused lead: `lead.resumed`.
    LeadResumed,
    /// An operator removed a lead from dialing (its history kept): `lead.removed`.
    LeadRemoved,
    /// The redial policy was applied after an attempt: `lead.concluded`.
    LeadConcluded,
    /// A concluded attempt was re-disposed: `lead.redisposed`.
    LeadRedisposed,
    /// Numbers were put on a Do-Not-Call list: `dnc.added`.
    DncAdded,
    /// A number was taken off a list: `dnc.removed`.
    DncRemoved,
    /// A kill switch was tripped: `kill_switch.tripped`.
    KillSwitchTripped,
    /// A kill switch was resumed: `kill_switch.resumed`.
    KillSwitchResumed,
    /// A job became a dead letter: `job.dead`.
    JobDead,
    /// An alert was raised: `alert.raised`.
    AlertRaised,
    /// A setting was persisted: `setting`.
    Setting,
    /// The reconciler asked the provider to end a call: `call.end_requested`.
    CallEndRequested,
}

impl EventKind {
    /// Every kind, attempt states in [`AttemptState::ALL`]'s order first.
    pub fn all() -> impl Iterator<Item = EventKind> {
        AttemptState::ALL
            .into_iter()
            .map(EventKind::Attempt)
            .chain([
                EventKind::AttemptDisposition,
                EventKind::Webhook,
                EventKind::WebhookUnmatched,
                EventKind::LeadRescheduled,
                EventKind::LeadPaused,
                EventKind::LeadResumed,
                EventKind::LeadRemoved,
                EventKind::LeadConcluded,
                EventKind::LeadRedisposed,
                EventKind::DncAdded,
                EventKind::DncRemoved,
                EventKind::KillSwitchTripped,
                EventKind::KillSwitchResumed,
                EventKind::JobDead,
                EventKind::AlertRaised,
                EventKind::Setting,
                EventKind::CallEndRequested,
            ])
    }

    /// The stored name (see each variant).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Attempt(state) => match state {
                AttemptState::Reserved => "attempt.reserved",
                AttemptState::Placed => "attempt.placed",
                AttemptState::Ringing => "attempt.ringing",
                AttemptState::InProgress => "attempt.in-progress",
                AttemptState::Unknown => "attempt.unknown",
                AttemptState::Ended => "attempt.ended",
                AttemptState::Rejected => "attempt.rejected",
                AttemptState::NotPlaced => "attempt.not-placed",
            },
            EventKind::AttemptDisposition => "attempt.disposition",
            EventKind::Webhook => "webhook",
            EventKind::WebhookUnmatched => "webhook.unmatched",
            EventKind::LeadRescheduled => "lead.rescheduled",
            EventKind::LeadPaused => "lead.paused",
            EventKind::LeadResumed => "lead.resumed",
            EventKind::LeadRemoved => "lead.removed",
            EventKind::LeadConcluded => "lead.concluded",
            EventKind::LeadRedisposed => "lead.redisposed",
            EventKind::DncAdded => "dnc.added",
            EventKind::DncRemoved => "dnc.removed",
            EventKind::KillSwitchTripped => "kill_switch.tripped",
            EventKind::KillSwitchResumed => "kill_switch.resumed",
            EventKind::JobDead => "job.dead",
            EventKind::AlertRaised => "alert.raised",
            EventKind::Setting => "setting",
            EventKind::CallEndRequested => "call.end_requested",
        }
    }

    /// Reads a stored name back; `None` for a kind outdial does not write (an operator's
    /// own, through [`EventLog::record_event`]).
    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::all().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// Who caused it: `scheduler`, a provider's webhook source, `reconciler`, `operator`, ….
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kinds_round_trip_and_attempt_kinds_follow_state_names() {
        let all: Vec<_> = EventKind::all().collect();
        let names: std::collections::BTreeSet<_> = all.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), all.len(), "names are distinct");
        for k in all {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        for s in AttemptState::ALL {
            assert_eq!(
                EventKind::Attempt(s).as_str(),
                format!("attempt.{}", s.as_str())
            );
        }
        assert_eq!(EventKind::parse("attempt.bogus"), None);
    }
}
