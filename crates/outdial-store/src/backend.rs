//! What both backends share that is not SQL of one dialect: the job claim's expiry, the jobs an
//! alert enqueues, a lead decision's columns, the event sources of the store's own events,
//! and the attempt-state lists their `IN (...)` clauses use, built from [`AttemptState`].
//! For backend crates; callers of the store have no use for it.

use crate::{AlertId, NewJob, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use outdial_core::schedule::LeadDecision;
use outdial_core::{AttemptState, LeadStatus};
use std::sync::LazyLock;

/// Event source of the job outbox's own events (`job.dead`).
pub const JOBS_SOURCE: &str = "jobs";

/// Event source of `alert.raised`.
pub const ALERTS_SOURCE: &str = "alerts";

/// When a job claimed at `now` for `lock_for` expires (UTC). Errors:
/// [`StoreError::InvalidArgument`]
/// when `lock_for` is not positive or the instant is out of range.
pub fn claim_until(now: DateTime<Utc>, lock_for: chrono::Duration) -> StoreResult<DateTime<Utc>> {
    if lock_for <= chrono::Duration::zero() {
        return Err(StoreError::InvalidArgument(format!(
            "job claims must last a positive time, got {lock_for}"
        )));
    }
    now.checked_add_signed(lock_for).ok_or_else(|| {
        StoreError::InvalidArgument(format!("job claim of {lock_for} is out of range"))
    })
}

/// The jobs an alert enqueues: one per channel (the job's kind), each carrying the alert's
/// id, due at once. Their dedupe keys make a channel listed twice notify once.
pub fn alert_jobs(id: AlertId, channels: &[&str], now: DateTime<Utc>) -> Vec<NewJob> {
    channels
        .iter()
        .map(|channel| NewJob {
            kind: (*channel).to_owned(),
            payload: serde_json::json!({ "alert_id": id.0 }).to_string(),
            run_at: now,
            dedupe_key: Some(format!("alert:{id}:{channel}")),
        })
        .collect()
}

/// What applying a lead decision writes to the lead: its status, its next attempt time (UTC;
/// `Some` only for a redial) and its status reason.
pub fn decision_columns(
    decision: &LeadDecision,
) -> (LeadStatus, Option<DateTime<Utc>>, Option<&str>) {
    match decision {
        LeadDecision::Redial { at } => (LeadStatus::Active, Some(*at), None),
        LeadDecision::Done { reason } => (LeadStatus::Done, None, Some(reason.as_str())),
        LeadDecision::Park { reason } => (LeadStatus::Paused, None, Some(reason.as_str())),
    }
}

/// A parenthesised SQL list of attempt-state names, `('reserved', 'placed', …)`, in
/// [`AttemptState::ALL`]'s order; displays as that text, for `format!("… IN {LIST}")`.
pub struct StateList(LazyLock<String>);

impl StateList {
    const fn of(build: fn() -> String) -> StateList {
        StateList(LazyLock::new(build))
    }
}

impl std::fmt::Display for StateList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn sql_list(keep: fn(AttemptState) -> bool) -> String {
    let names: Vec<String> = AttemptState::ALL
        .iter()
        .filter(|s| keep(**s))
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!("({})", names.join(", "))
}

/// Whether an attempt counts against the per-lead and per-number caps: every state but
/// `rejected` and `not-placed` (no call was made).
pub fn counts_against_caps(state: AttemptState) -> bool {
    !matches!(state, AttemptState::Rejected | AttemptState::NotPlaced)
}

/// The in-flight states ([`AttemptState::is_in_flight`]): an attempt in one blocks its number.
pub static IN_FLIGHT: StateList = StateList::of(|| sql_list(AttemptState::is_in_flight));

/// The final states ([`AttemptState::is_final`]).
pub static FINAL: StateList = StateList::of(|| sql_list(AttemptState::is_final));

/// The states that do not count against caps (`NOT IN` this list: [`counts_against_caps`]).
pub static NOT_COUNTED: StateList = StateList::of(|| sql_list(|s| !counts_against_caps(s)));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_lists_match_what_the_migrations_index() {
        // The partial unique index of the migrations (never edited) lists these states.
        assert_eq!(
            IN_FLIGHT.to_string(),
            "('reserved', 'placed', 'ringing', 'in-progress', 'unknown')"
        );
        assert_eq!(FINAL.to_string(), "('ended', 'rejected', 'not-placed')");
        assert_eq!(NOT_COUNTED.to_string(), "('rejected', 'not-placed')");
    }
}
