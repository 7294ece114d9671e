//! The reconciler: asks the provider about attempts whose webhooks are late, ends calls
//! that outlived their bound, and resolves attempts whose create outcome was ambiguous.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use outdial_core::{AttemptState, FailureKind, ProviderKind};
use outdial_providers::{FetchError, Provider};
use outdial_store::{Attempt, Campaign, EventOutcome, RawEvent, StoreError};
use serde::Serialize;

use crate::{Engine, EngineError};

/// What one [`Engine::reconcile`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// Attempts examined.
    pub examined: u32,
    /// Attempts whose state the provider's answer advanced.
    pub advanced: u32,
    /// Unknown/reserved attempts proven never placed.
    pub not_placed: u32,
    /// Calls ended through the provider because they outlived their bound.
    pub ended: u32,
    /// Provider errors.
    pub errors: u32,
}

impl Engine {
    /// One reconciler step at `now`: for in-flight attempts older than
    /// `reconcile_after_s` (and not asked about for as long), fetch the call from the
    /// provider and apply what it says; resolve `unknown` and stale `reserved` attempts by
    /// listing the provider's calls to the number.
    #[tracing::instrument(skip_all, fields(now = %now))]
    pub async fn reconcile(&self, now: DateTime<Utc>) -> Result<ReconcileReport, EngineError> {
        let mut report = ReconcileReport::default();
        let mut last_error: Option<String> = None;
        let age = Duration::seconds(self.config.reconcile_after_s);
        // A `reserved` attempt's create request may still be under way, in this process or in
        // another instance: leave it alone until the request must have ended (its timeout,
        // which is real time, converted to clock time), and at least `unknown_resolve_after_s`
        // (default 60 s). After that it is resolved by listing, without waiting for `age`.
        let request_bound = Duration::milliseconds(
            (self.config.request_timeout_real_ms as f64 * 2.0 * self.clock.speed()) as i64,
        )
        .max(Duration::seconds(self.config.unknown_resolve_after_s));
        let candidates = self
            .store
            .attempts_to_reconcile(now - age.min(request_bound), now - age, 100)
            .await?;
        for attempt in candidates {
            let placing_here = self
                .placing
                .lock()
                .expect("placing set")
                .contains(&attempt.id);
            let maybe_placing = attempt.state == AttemptState::Reserved
                && now - attempt.reserved_at < request_bound;
            // Calls the provider accepted are first asked about at `age`.
            let too_young = attempt.call_id.is_some() && now - attempt.reserved_at < age;
            if placing_here || maybe_placing || too_young {
                continue;
            }
            report.examined += 1;
            let campaign = self.campaign(attempt.campaign_id).await?;
            let Some(provider) = self.providers.get(&campaign.settings.provider).cloned() else {
                continue;
            };
            let res = match &attempt.call_id {
                Some(call_id) => {
                    self.reconcile_by_id(&*provider, &campaign, &attempt, call_id, now)
                        .await
                }
                None => {
                    self.reconcile_by_list(&*provider, campaign.settings.provider, &attempt, now)
                        .await
                }
            };
            match res {
                Ok(Resolution::Advanced) => report.advanced += 1,
                Ok(Resolution::Ended) => {
                    report.advanced += 1;
                    report.ended += 1;
                }
                Ok(Resolution::NotPlaced) => report.not_placed += 1,
                Ok(Resolution::Unchanged) => {}
                Err(ReconcileFailure::Store(e)) => return Err(e),
                Err(ReconcileFailure::Provider(e)) => {
                    report.errors += 1;
                    tracing::warn!(attempt = %attempt.id, error = %e, "reconciler could not reach the provider; the attempt stays blocked");
                    if let FetchError::Auth(m) = &e {
                        self.trip_kill_switch(
                            outdial_store::KillScope::Global,
                            &format!("provider refused the credentials: {m}"),
                            "engine:provider-auth",
                            &BTreeMap::new(),
                        )
                        .await?;
                    }
                    last_error = Some(e.to_string());
                }
            }
            self.store.mark_reconciled(attempt.id, now).await?;
        }
        if let Some(error) = last_error {
            let in_flight = self.store.in_flight_count().await?;
            // One alert per hour at most while the provider stays unreachable.
            self.raise_alert(outdial_store::NewAlert {
                kind: "provider.unreachable".into(),
                scope: "global".into(),
                subject: format!(
                    "outdial cannot reach the provider: {} attempt(s) stay blocked",
                    report.errors
                ),
                body: format!(
                    "The reconciler could not ask the provider about {errors} of {examined} \
                     attempt(s) at {now} UTC. Last error: {error}\n\nCounts:\n  attempts \
                     the provider could not be asked about: {errors}\n  attempts in flight \
                     (each blocks its number and counts against caps until resolved): \
                     {in_flight}\n\nWhat to do: check the provider's status page, the \
                     network path and the credentials. Nothing is redialed while its attempt \
                     is unresolved; the reconciler keeps asking every {every} s.\n",
                    errors = report.errors,
                    examined = report.examined,
                    now = now.format("%Y-%m-%d %H:%M:%S"),
                    every = self.config.reconcile_after_s,
                ),
                dedupe_key: Some(format!(
                    "provider.unreachable:{}",
                    now.format("%Y-%m-%dT%H")
                )),
            })
            .await?;
        }
        let m = &self.metrics;
        m.reconciler_action("advanced", report.advanced);
        m.reconciler_action("not_placed", report.not_placed);
        m.reconciler_action("ended", report.ended);
        m.reconciler_action("error", report.errors);
        self.conclude_pending(now).await?;
        Ok(report)
    }

    /// The longest a call may stay live before the reconciler ends it: ring timeout +
    /// longest call + `end_call_slack_s`, from its placement.
    pub fn call_bound(&self, campaign: &Campaign) -> Duration {
        Duration::seconds(
            i64::from(campaign.settings.ring_timeout_s)
                + i64::from(campaign.settings.max_call_length_s)
                + self.config.safety.end_call_slack_s,
        )
    }

    async fn apply_snapshot(
        &self,
        attempt: &Attempt,
        snap: &outdial_providers::CallSnapshot,
        now: DateTime<Utc>,
    ) -> Result<Resolution, EngineError> {
        let event = snap.to_event(now);
        let raw = RawEvent {
            source: "reconciler".into(),
            dedupe_key: format!("reconcile:{}:{}", snap.call_id, snap.status.as_str()),
            payload: format!(
                "{{\"call_id\":\"{}\",\"status\":\"{}\",\"duration_s\":{}}}",
                snap.call_id,
                snap.status.as_str(),
                snap.duration_s
                    .map_or("null".to_string(), |d| d.to_string())
            ),
        };
        let outcome = self
            .store
            .apply_call_event(Some(attempt.id), &event, &raw, now)
            .await?;
        self.record_price(&outcome, snap.price.as_ref()).await?;
        Ok(match outcome {
            EventOutcome::Applied { .. } => Resolution::Advanced,
            _ => Resolution::Unchanged,
        })
    }

    async fn reconcile_by_id(
        &self,
        provider: &dyn Provider,
        campaign: &Campaign,
        attempt: &Attempt,
        call_id: &outdial_core::ProviderCallId,
        now: DateTime<Utc>,
    ) -> Result<Resolution, ReconcileFailure> {
        let kind = campaign.settings.provider;
        let started = std::time::Instant::now();
        let fetched = provider.fetch_call(call_id).await;
        self.metrics
            .provider_request(kind, "fetch", started.elapsed());
        match fetched {
            Ok(snap) if !snap.status.is_final() => {
                // From the reservation: our own clock's instant (placed_at may be the
                // provider's event time, and the two clocks may disagree).
                if now - attempt.reserved_at <= self.call_bound(campaign) {
                    return Ok(self.apply_snapshot(attempt, &snap, now).await?);
                }
                // Outlived its bound (a stuck call, a TimeLimit the provider ignored): end it.
                tracing::warn!(attempt = %attempt.id, %call_id, status = snap.status.as_str(), "call outlived ring timeout + longest call + slack; ending it");
                let started = std::time::Instant::now();
                let ended = provider.end_call(call_id).await;
                self.metrics
                    .provider_request(kind, "hangup", started.elapsed());
                let ended = ended.map_err(ReconcileFailure::Provider)?;
                self.store
                    .record_event(
                        Some(attempt.lead_id),
                        Some(attempt.id),
                        "call.end_requested",
                        "reconciler",
                        &format!(
                            "{{\"call_id\":\"{}\",\"was\":\"{}\",\"now\":\"{}\"}}",
                            call_id.as_str(),
                            snap.status.as_str(),
                            ended.status.as_str()
                        ),
                        now,
                    )
                    .await?;
                match self.apply_snapshot(attempt, &ended, now).await? {
                    Resolution::Advanced if ended.status.is_final() => Ok(Resolution::Ended),
                    r => Ok(r),
                }
            }
            Ok(snap) => Ok(self.apply_snapshot(attempt, &snap, now).await?),
            Err(FetchError::NotFound) => {
                tracing::warn!(attempt = %attempt.id, %call_id, "provider does not know a call it accepted; will ask again");
                Ok(Resolution::Unchanged)
            }
            Err(e) => Err(ReconcileFailure::Provider(e)),
        }
    }

    async fn reconcile_by_list(
        &self,
        provider: &dyn Provider,
        kind: ProviderKind,
        attempt: &Attempt,
        now: DateTime<Utc>,
    ) -> Result<Resolution, ReconcileFailure> {
        let since = attempt.reserved_at - Duration::seconds(2);
        let started = std::time::Instant::now();
        let calls = provider.list_calls_to(&attempt.phone, since).await;
        self.metrics
            .provider_request(kind, "list", started.elapsed());
        let calls = calls.map_err(ReconcileFailure::Provider)?;
        for snap in calls {
            if snap.created_at.is_some_and(|c| c < since) {
                continue;
            }
            // A call the provider tags with another attempt (a provider that echoes our metadata) is
            // never this one's, even if no attempt owns it yet.
            if snap.attempt.is_some_and(|a| a != attempt.id) {
                tracing::debug!(call_id = %snap.call_id, tagged = %snap.attempt.map_or(0, |a| a.0),
                    attempt = %attempt.id, "listed call tagged with another attempt skipped");
                continue;
            }
            let owned = self
                .store
                .apply_call_event(
                    Some(attempt.id),
                    &snap.to_event(now),
                    &RawEvent {
                        source: "reconciler".into(),
                        dedupe_key: format!("reconcile:{}:{}", snap.call_id, snap.status.as_str()),
                        payload: format!(
                            "{{\"call_id\":\"{}\",\"status\":\"{}\",\"matched_by\":\"list\"}}",
                            snap.call_id,
                            snap.status.as_str()
                        ),
                    },
                    now,
                )
                .await?;
            self.record_price(&owned, snap.price.as_ref()).await?;
            match owned {
                EventOutcome::Applied { attempt: a, .. } if a.id == attempt.id => {
                    return Ok(Resolution::Advanced)
                }
                EventOutcome::Stale { attempt_id } | EventOutcome::Late { attempt_id }
                    if attempt_id == attempt.id =>
                {
                    return Ok(Resolution::Unchanged)
                }
                _ => continue,
            }
        }
        let age = now - attempt.reserved_at;
        if age >= Duration::seconds(self.config.unknown_resolve_after_s) {
            let ok = self
                .store
                .mark_not_placed(
                    attempt.id,
                    FailureKind::NoCallFound.as_str(),
                    "the provider lists no call to this number since the reservation",
                    now,
                )
                .await?;
            if ok {
                return Ok(Resolution::NotPlaced);
            }
        }
        Ok(Resolution::Unchanged)
    }
}

enum Resolution {
    Advanced,
    Ended,
    NotPlaced,
    Unchanged,
}

#[derive(Debug, thiserror::Error)]
enum ReconcileFailure {
    #[error(transparent)]
    Store(#[from] EngineError),
    #[error("provider: {0}")]
    Provider(FetchError),
}

impl From<StoreError> for ReconcileFailure {
    fn from(e: StoreError) -> Self {
        ReconcileFailure::Store(EngineError::Store(e))
    }
}
