//! Business dispositions reported for an attempt (call flow, agent, API).

use chrono::{DateTime, Utc};
use outdial_core::schedule::decide_after_attempt;
use outdial_core::AttemptId;
use outdial_store::StoreError;
use serde::Serialize;

use crate::{Engine, EngineError};

/// What [`Engine::set_disposition`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DispositionOutcome {
    /// Kept; applied when the attempt ends.
    Pending,
    /// Applied to the lead now.
    Applied,
}

impl Engine {
    /// Records a business disposition for an attempt (from the call flow, an agent or the
    /// API), with an optional callback time (UTC). The label is resolved through the
    /// campaign's catalog and aliases.
    ///
    /// Before the attempt is concluded the disposition is kept for conclusion to use
    /// ([`DispositionOutcome::Pending`], or [`DispositionOutcome::Applied`] if the attempt was
    /// final and is concluded at once). After, the lead's fate is decided again from this
    /// disposition, as long as this is the lead's latest attempt and no other is in flight.
    ///
    /// Errors: [`EngineError::UnknownDisposition`] for a label the catalog does not know;
    /// [`EngineError::Conflict`] when the lead has moved on; `NotFound` for a missing attempt.
    #[tracing::instrument(skip_all, fields(attempt = %id, label))]
    pub async fn set_disposition(
        &self,
        id: AttemptId,
        label: &str,
        callback_at: Option<DateTime<Utc>>,
        source: &str,
    ) -> Result<DispositionOutcome, EngineError> {
        let now = self.clock.now();
        let attempt = self
            .store
            .attempt(id)
            .await?
            .ok_or_else(|| StoreError::not_found("attempt", id))?;
        let campaign = self.campaign(attempt.campaign_id).await?;
        let disposition = campaign
            .settings
            .dispositions
            .resolve(label)
            .ok_or_else(|| EngineError::UnknownDisposition(label.to_owned()))?;
        if attempt.concluded_at.is_none()
            && self
                .store
                .request_disposition(id, &disposition, callback_at, source, now)
                .await?
        {
            if attempt.state.is_final() && self.conclude(id, now).await? {
                return Ok(DispositionOutcome::Applied);
            }
            return Ok(DispositionOutcome::Pending);
        }
        // Already concluded: decide the lead's fate again.
        let lead = self
            .store
            .lead(attempt.lead_id)
            .await?
            .ok_or_else(|| StoreError::not_found("lead", attempt.lead_id))?;
        let facts = self.lead_facts(&lead, &campaign, now).await?;
        let rules = self.rules(&campaign, &facts);
        let mut recent = self.earlier_dispositions(lead.id, id).await?;
        recent.push(disposition.clone());
        let ended = attempt.ended_at.unwrap_or(now).max(now);
        let decision = decide_after_attempt(
            &campaign.settings.dispositions,
            &rules,
            &disposition,
            &recent,
            ended,
            callback_at,
        );
        if !self
            .store
            .redispose_attempt(id, &disposition, callback_at, &decision, source, now)
            .await?
        {
            return Err(EngineError::Conflict(format!(
                "attempt {id} is not the lead's latest concluded attempt, or the lead is dialing"
            )));
        }
        self.honour_dnc(&campaign, &lead, &disposition, id, now)
            .await?;
        Ok(DispositionOutcome::Applied)
    }
}
