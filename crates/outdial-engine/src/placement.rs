//! Recording what a create request came back with, and what a storage failure does to dialing.
//!
//! A tick sends its create requests concurrently ([`Placements`]); each answer is recorded
//! on its own, so a store error or a panic in one never loses another's outcome:
//! - recorded: the attempt moves to `placed`, `rejected`, `not-placed` or `unknown`;
//! - not recorded (the store failed): the attempt stays `reserved` without a call id and
//!   leaves this process's in-flight placement set, so the reconciler resolves it by listing
//!   the provider's calls to the number after the request bound (design invariant 12);
//! - the request task panicked: an ambiguous outcome (`unknown`), never a panic of the loop.
//!
//! How a refusal is acted on is decided by its [`RejectReason`], never by a provider code;
//! the attempt stores the [`FailureKind`] name as its
//! `error_code`, and the provider's own code and message as its `error_message`.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use outdial_core::FailureKind;
use outdial_providers::{PlaceError, PlacedCall, RejectReason};
use outdial_store::{Attempt, KillScope, Placement, StoreError};

use crate::{Engine, EngineError, TickReport};

/// The failure kind stored for a create that failed with `e`; `None` for an ambiguous
/// outcome, which is stored as `unknown`.
pub fn failure_kind(e: &PlaceError) -> Option<FailureKind> {
    Some(match e {
        PlaceError::Rejected { reason, .. } => match reason {
            RejectReason::BadNumber => FailureKind::BadNumber,
            RejectReason::Destination => FailureKind::RefusedDestination,
            RejectReason::Account => FailureKind::RefusedAccount,
            RejectReason::Other => FailureKind::Refused,
        },
        PlaceError::RateLimited { .. } => FailureKind::RateLimited,
        PlaceError::NotSent { .. } => FailureKind::NotSent,
        PlaceError::Unsupported { .. } => FailureKind::Refused,
        PlaceError::Auth { .. } => FailureKind::Auth,
        PlaceError::Ambiguous { .. } => return None,
    })
}

type Answer = Result<PlacedCall, PlaceError>;

/// The create requests of one tick that are under way: each attempt with the task sending
/// its request.
#[derive(Default)]
pub(crate) struct Placements {
    tasks: Vec<(Attempt, tokio::task::JoinHandle<Answer>)>,
}

impl Placements {
    /// Starts the create request of `attempt`.
    pub(crate) fn start(
        &mut self,
        attempt: Attempt,
        request: impl Future<Output = Answer> + Send + 'static,
    ) {
        self.tasks.push((attempt, tokio::spawn(request)));
    }

    /// Removes and returns the requests whose answer is back.
    pub(crate) fn take_finished(&mut self) -> Vec<(Attempt, tokio::task::JoinHandle<Answer>)> {
        let (done, pending) = std::mem::take(&mut self.tasks)
            .into_iter()
            .partition(|(_, h)| h.is_finished());
        self.tasks = pending;
        done
    }

    /// Removes and returns every request.
    pub(crate) fn drain_all(&mut self) -> Vec<(Attempt, tokio::task::JoinHandle<Answer>)> {
        std::mem::take(&mut self.tasks)
    }
}

enum PlacementKind {
    Placed,
    Rejected,
    Ambiguous,
    NotPlaced,
}

impl Engine {
    /// Awaits each request and records its outcome. A failure to record one is logged and
    /// does not stop the others; the first such error is returned once all are done.
    pub(crate) async fn finish_placements(
        &self,
        tasks: Vec<(Attempt, tokio::task::JoinHandle<Answer>)>,
        report: &mut TickReport,
    ) -> Result<(), EngineError> {
        let mut first_error = None;
        for (attempt, handle) in tasks {
            let answer = handle.await.unwrap_or_else(|e| {
                tracing::error!(attempt = %attempt.id, error = %e, "create request task failed; its outcome is unknown");
                Err(PlaceError::Ambiguous {
                    message: format!("the create request task failed: {e}"),
                })
            });
            let outcome = self.record_placement(&attempt, answer).await;
            // Recorded or not, this process no longer sends it: from here on the reconciler
            // may resolve it (a `reserved` attempt without call id is listed after the
            // request bound).
            self.placing
                .lock()
                .expect("placing set")
                .remove(&attempt.id);
            match outcome {
                Ok(PlacementKind::Placed) => report.placed += 1,
                Ok(PlacementKind::Rejected) => report.rejected += 1,
                Ok(PlacementKind::Ambiguous) => report.ambiguous += 1,
                Ok(PlacementKind::NotPlaced) => report.not_placed += 1,
                Err(e) => {
                    tracing::error!(attempt = %attempt.id, error = %e, "could not record a placement; the reconciler will resolve the attempt");
                    self.note_error(&e);
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    #[tracing::instrument(skip_all, fields(attempt = %attempt.id, lead = %attempt.lead_id))]
    async fn record_placement(
        &self,
        attempt: &Attempt,
        res: Answer,
    ) -> Result<PlacementKind, EngineError> {
        let now = self.clock.now();
        let e = match res {
            Ok(placed) => {
                if let Some(q) = placed.queue_time_ms.filter(|q| *q > 0) {
                    tracing::warn!(
                        queue_time_ms = q,
                        "provider queued the call: calls per second above the account's limit"
                    );
                }
                self.store
                    .mark_placed(
                        attempt.id,
                        &Placement {
                            call_id: placed.call_id,
                            status: placed.status,
                        },
                        now,
                    )
                    .await?;
                return Ok(PlacementKind::Placed);
            }
            Err(e) => e,
        };
        let Some(kind) = failure_kind(&e) else {
            tracing::warn!(error = %e, "create outcome unknown; the attempt blocks the number until reconciled");
            self.store
                .mark_unknown(attempt.id, &e.to_string(), now)
                .await?;
            return Ok(PlacementKind::Ambiguous);
        };
        let message = e.to_string();
        if kind == FailureKind::BadNumber {
            tracing::info!(error = %e, "provider rejected the number");
            self.store
                .mark_rejected(attempt.id, kind.as_str(), &message, now)
                .await?;
            return Ok(PlacementKind::Rejected);
        }
        self.store
            .mark_not_placed(attempt.id, kind.as_str(), &message, now)
            .await?;
        match kind {
            FailureKind::Auth | FailureKind::RefusedAccount => {
                // Every further call would fail the same way: dialing stops until an
                // operator acts.
                tracing::error!(error = %e, "provider refused the account; tripping the kill switch");
                let source = if kind == FailureKind::Auth {
                    "engine:provider-auth"
                } else {
                    "engine:provider-refusal"
                };
                self.trip_kill_switch(
                    KillScope::Global,
                    &format!("provider refused a call: {e}"),
                    source,
                    &BTreeMap::from([("attempt refused".to_string(), attempt.id.0 as u64)]),
                )
                .await?;
            }
            FailureKind::RefusedDestination => {
                tracing::warn!(error = %e, "provider refuses this destination; the lead is parked");
            }
            _ => tracing::warn!(error = %e, "call not placed; the lead is retried later"),
        }
        Ok(PlacementKind::NotPlaced)
    }

    /// The storage failure that stopped dialing in this process and is not yet recorded as
    /// a tripped kill switch, if any.
    pub fn storage_fault(&self) -> Option<String> {
        self.storage_fault.lock().expect("storage fault").clone()
    }

    /// Notes `e` if it says the store cannot take writes ([`StoreError::Unavailable`]):
    /// from then on this process places no new call until the stop is persisted.
    pub fn note_error(&self, e: &EngineError) {
        if let EngineError::Store(StoreError::Unavailable { message: m, .. }) = e {
            let mut fault = self.storage_fault.lock().expect("storage fault");
            if fault.is_none() {
                tracing::error!(error = %m, "storage failure: no new calls until the disk or database is fixed and an operator resumes the kill switch");
                *fault = Some(m.clone());
            }
        }
    }

    /// Makes a noted storage failure durable: trips the global kill switch (which raises an
    /// alert) once the store takes writes again. Returns `true` when no storage failure is
    /// pending, so dialing may go on; `false` while the stop is not yet persisted.
    pub(crate) async fn persist_storage_fault(
        &self,
        now: DateTime<Utc>,
    ) -> Result<bool, EngineError> {
        let Some(fault) = self.storage_fault() else {
            return Ok(true);
        };
        let reason = format!(
            "storage failure at {} UTC: {fault}. Calls placed meanwhile may have reached the \
             provider without being recorded; the reconciler links them. Free the disk or \
             fix the database, check `outdial killswitch status`, then resume",
            now.format("%Y-%m-%d %H:%M:%S")
        );
        self.trip_kill_switch(
            KillScope::Global,
            &reason,
            "engine:storage",
            &BTreeMap::new(),
        )
        .await?;
        *self.storage_fault.lock().expect("storage fault") = None;
        Ok(false)
    }
}
