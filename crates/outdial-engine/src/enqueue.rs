//! Enqueue-time placement of a new lead, shared by `outdial import`, `outdial demo` and the
//! simulator: the same rules the engine checks again at dial time.

use chrono::{DateTime, Utc};
use outdial_core::compliance::StateRules;
use outdial_core::schedule::{number_history_since, whereabouts, Admission, LeadRules};
use outdial_core::NewLead;
use outdial_store::{Campaign, LeadPlacement, Store, StoreResult};

/// Where a new lead starts: active at the first instant every rule allows, or paused with
/// the reason (no time zone, on a do-not-call list, no allowed instant). The enqueue-time
/// check; the engine checks again at dial time. `now` is UTC; the number's attempts of the
/// last 8 days count against its caps. Errors only when the store fails.
pub async fn lead_placement(
    store: &dyn Store,
    lead: &NewLead,
    campaign: &Campaign,
    state_rules: &StateRules,
    now: DateTime<Utc>,
) -> StoreResult<LeadPlacement> {
    let lists: Vec<String> = store
        .dnc_check(&lead.phone, Some(campaign.id))
        .await?
        .into_iter()
        .map(|e| e.scope.as_key())
        .collect();
    let admission = match Admission::from_dnc(lists) {
        Some(paused) => paused,
        None => {
            let w = whereabouts(
                &lead.phone,
                lead.contact.time_zone,
                lead.contact.state.as_deref(),
                campaign.settings.fallback_time_zone,
            );
            let number_history = store
                .phone_attempt_times(&lead.phone, number_history_since(now))
                .await?;
            let rules = LeadRules::new(&campaign.settings, state_rules, &w, &[], &number_history);
            Admission::from_rules(&rules, now)
        }
    };
    Ok(match admission {
        Admission::Active(at) => LeadPlacement::Active(at),
        Admission::Paused(reason) => LeadPlacement::Paused(reason),
    })
}
