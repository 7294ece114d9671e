//! What the rules need to know about a lead, loaded from the store, and the rules over it.

use chrono::{DateTime, Duration, Utc};
use outdial_core::schedule::{number_history_since, whereabouts, LeadRules, Whereabouts};
use outdial_store::{Campaign, Lead};
use serde::Serialize;

use crate::{Engine, EngineError};

/// What the rules need to know about one lead, loaded from the store.
#[derive(Debug, Clone, Serialize)]
pub struct LeadFacts {
    /// Candidate zones and states.
    pub whereabouts: Whereabouts,
    /// Start instants of the lead's attempts that count against caps (UTC).
    pub history: Vec<DateTime<Utc>>,
    /// Start instants of every attempt to the number in any campaign since
    /// [`number_history_since`] (UTC).
    pub number_history: Vec<DateTime<Utc>>,
}

impl Engine {
    /// Loads what the rules need to know about a lead: where it may be, its attempts, and
    /// the number's attempts in every campaign since [`number_history_since`].
    pub async fn lead_facts(
        &self,
        lead: &Lead,
        campaign: &Campaign,
        now: DateTime<Utc>,
    ) -> Result<LeadFacts, EngineError> {
        Ok(LeadFacts {
            whereabouts: whereabouts(
                &lead.phone,
                lead.contact.time_zone,
                lead.contact.state.as_deref(),
                campaign.settings.fallback_time_zone,
            ),
            history: self.store.lead_attempt_times(lead.id).await?,
            number_history: self
                .store
                .phone_attempt_times(&lead.phone, number_history_since(now))
                .await?,
        })
    }

    /// The rules for a lead, over facts loaded by [`Engine::lead_facts`].
    pub fn rules<'a>(&'a self, campaign: &'a Campaign, facts: &'a LeadFacts) -> LeadRules<'a> {
        LeadRules::new(
            &campaign.settings,
            &self.config.state_rules,
            &facts.whereabouts,
            &facts.history,
            &facts.number_history,
        )
        .with_slack(Duration::seconds(self.config.window_margin_s))
    }

    /// The do-not-call lists that hold the lead's number for its campaign (empty: none).
    pub async fn dnc_lists(&self, lead: &Lead) -> Result<Vec<String>, EngineError> {
        Ok(self
            .store
            .dnc_check(&lead.phone, Some(lead.campaign_id))
            .await?
            .into_iter()
            .map(|e| e.scope.as_key())
            .collect())
    }
}
