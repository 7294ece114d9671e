//! Concluding final attempts: the disposition, the redial decision, DNC and post-call jobs.

use chrono::{DateTime, Duration, Utc};
use outdial_core::schedule::{conclude_attempt, AttemptEnd};
use outdial_core::{AttemptId, AttemptState, CallStatus, Disposition, FailureKind, LeadId};
use outdial_providers::stored_failure_kind;
use outdial_store::{Attempt, Campaign, Lead, StoreError};

use crate::{Engine, EngineError};

impl Engine {
    /// Concludes every final attempt whose lead is not yet updated. Returns how many.
    pub async fn conclude_pending(&self, now: DateTime<Utc>) -> Result<u32, EngineError> {
        let mut n = 0;
        loop {
            let ids = self.store.attempts_to_conclude(200).await?;
            if ids.is_empty() {
                return Ok(n);
            }
            let batch = ids.len();
            for id in ids {
                if self.conclude(id, now).await? {
                    n += 1;
                }
            }
            if batch < 200 {
                return Ok(n);
            }
        }
    }

    /// Applies the redial policy to the lead of a final attempt. Returns `false` if the
    /// attempt is not final or already concluded.
    #[tracing::instrument(skip_all, fields(attempt = %id))]
    pub async fn conclude(&self, id: AttemptId, now: DateTime<Utc>) -> Result<bool, EngineError> {
        let Some(attempt) = self.store.attempt(id).await? else {
            return Ok(false);
        };
        if !attempt.state.is_final() || attempt.concluded_at.is_some() {
            return Ok(false);
        }
        let Some(lead) = self.store.lead(attempt.lead_id).await? else {
            return Err(StoreError::not_found("lead", attempt.lead_id).into());
        };
        let campaign = self.campaign(lead.campaign_id).await?;
        let facts = self.lead_facts(&lead, &campaign, now).await?;
        let rules = self.rules(&campaign, &facts);
        let earlier = self.earlier_dispositions(lead.id, id).await?;
        let end = match attempt.state {
            AttemptState::Ended => AttemptEnd::Call {
                status: attempt.call_status.unwrap_or(CallStatus::Failed),
                answered_by: attempt.answered_by,
                requested: attempt.requested_disposition.as_ref(),
                // The redial interval runs from the instant outdial learned the call ended, on
                // its own clock: a provider's end time (skewed, or before the reservation)
                // informs reports but never shortens a gap. `now` is that instant (the final
                // event concludes at once) or later (concluded after a restart): never earlier.
                ended: now.max(attempt.ended_at.unwrap_or(now)),
                callback_at: attempt.callback_at,
            },
            AttemptState::Rejected => AttemptEnd::BadNumber,
            AttemptState::NotPlaced
                if attempt.error_code.as_deref().and_then(stored_failure_kind)
                    == Some(FailureKind::RefusedDestination) =>
            {
                AttemptEnd::RefusedDestination {
                    message: attempt.error_message.as_deref(),
                }
            }
            _ => AttemptEnd::NotPlaced {
                earliest: now + Duration::seconds(self.config.not_placed_retry_s),
            },
        };
        let (disposition, decision) =
            conclude_attempt(&campaign.settings.dispositions, &rules, end, &earlier, now);
        tracing::debug!(disposition = %disposition, ?decision, "attempt concluded");
        self.honour_dnc(&campaign, &lead, &disposition, id, now)
            .await?;
        let concluded = self
            .store
            .conclude_attempt(
                id,
                &disposition,
                &decision,
                &self.follow_up_jobs(id, now),
                now,
            )
            .await?;
        if concluded && attempt.state == AttemptState::Ended {
            // Counted once per attempt: only the conclusion that committed counts it.
            self.metrics.call_outcome(
                campaign.settings.provider,
                attempt.call_status.unwrap_or(CallStatus::Failed),
                attempt.answered_by,
            );
            self.apply_late_request(&attempt, &disposition).await?;
        }
        Ok(concluded)
    }

    /// A business disposition requested after `read` was taken and before the conclusion
    /// committed (an agent's tag in a webhook, or the API, racing the reconciler's or another
    /// delivery's conclusion) passed the request's guard (not concluded yet) but was not used:
    /// the lead was decided from `concluded_with`. Decides it again from the request, as a
    /// request arriving after the conclusion is ([`Engine::set_disposition`]); a lead that
    /// has moved on meanwhile keeps its fate (logged).
    async fn apply_late_request(
        &self,
        read: &Attempt,
        concluded_with: &Disposition,
    ) -> Result<(), EngineError> {
        let Some(stored) = self.store.attempt(read.id).await? else {
            return Ok(());
        };
        let Some(late) = stored.requested_disposition.as_ref() else {
            return Ok(());
        };
        if read.requested_disposition.as_ref() == Some(late) || late == concluded_with {
            return Ok(());
        }
        let redispose = self.set_disposition(read.id, late.as_str(), stored.callback_at, "engine");
        match Box::pin(redispose).await {
            Ok(_) => Ok(()),
            Err(EngineError::Conflict(why)) => {
                tracing::warn!(%why, disposition = %late,
                    "a disposition requested while the attempt was concluded was not applied: the lead has moved on");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// The dispositions of the lead's attempts other than `except`, oldest first.
    pub(crate) async fn earlier_dispositions(
        &self,
        lead: LeadId,
        except: AttemptId,
    ) -> Result<Vec<Disposition>, EngineError> {
        Ok(self
            .store
            .lead_attempts(lead)
            .await?
            .into_iter()
            .filter(|a| a.id != except)
            .filter_map(|a| a.disposition)
            .collect())
    }

    /// The post-call jobs of an attempt (one per configured kind), carrying its id only.
    fn follow_up_jobs(&self, id: AttemptId, now: DateTime<Utc>) -> Vec<outdial_store::NewJob> {
        self.config
            .post_call_jobs
            .iter()
            .map(|kind| outdial_store::NewJob {
                kind: kind.clone(),
                payload: format!("{{\"attempt_id\":{}}}", id.0),
                run_at: now,
                dedupe_key: Some(format!("{kind}:{}", id.0)),
            })
            .collect()
    }

    /// A DNC disposition puts the number on the internal list at once, for every campaign
    /// (47 CFR 64.1200(d)(3): honour a do-not-call request).
    pub(crate) async fn honour_dnc(
        &self,
        campaign: &Campaign,
        lead: &Lead,
        disposition: &Disposition,
        attempt: AttemptId,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        if campaign.settings.dispositions.flags(disposition).dnc {
            let entry = outdial_store::DncEntry {
                phone: lead.phone.clone(),
                scope: outdial_store::DncScope::Internal,
                source: "disposition".into(),
                reason: Some(format!("disposition {disposition} on attempt {attempt}")),
                added_at: now,
            };
            self.store.dnc_add(&[entry], now).await?;
        }
        Ok(())
    }
}
