//! Enqueue-time placement of new leads, shared by `outdial import`, `outdial demo`, the
//! admin API's intake and the simulator: the same rules the engine checks again at dial time.

use chrono::{DateTime, Utc};
use outdial_core::compliance::StateRules;
use outdial_core::schedule::{number_history_since, whereabouts, Admission, LeadRules};
use outdial_core::{NewLead, E164};
use outdial_store::{Campaign, DncEntry, LeadPlacement, Store, StoreResult};

/// Where a new lead starts: active at the first instant every rule allows, or paused with
/// the reason (no time zone, on a do-not-call list, no allowed instant). The enqueue-time
/// check; the engine checks again at dial time. `now` is UTC; the number's attempts of the
/// last 8 days count against its caps. Errors only when the store fails.
///
/// Two store look-ups per lead: for more than one lead, [`lead_placements`] gives the same
/// answers with two look-ups per batch.
pub async fn lead_placement(
    store: &dyn Store,
    lead: &NewLead,
    campaign: &Campaign,
    state_rules: &StateRules,
    now: DateTime<Utc>,
) -> StoreResult<LeadPlacement> {
    let lists = store.dnc_check(&lead.phone, Some(campaign.id)).await?;
    let number_history = if lists.is_empty() {
        store
            .phone_attempt_times(&lead.phone, number_history_since(now))
            .await?
    } else {
        Vec::new()
    };
    Ok(admit(
        lead,
        &lists,
        &number_history,
        campaign,
        state_rules,
        now,
    ))
}

/// [`lead_placement`] of each of `leads`, in order (one [`LeadPlacement`] per lead, equal to
/// what [`lead_placement`] gives it), with the store read in batches: one
/// [`outdial_store::DncLists::dnc_check_many`] for every number, then one
/// [`outdial_store::Leads::phone_attempt_times_many`] for the numbers no list blocks. Leads
/// may share a number (each gets the same answer). `now` is UTC. Errors only when the
/// store fails; then nothing is placed.
pub async fn lead_placements(
    store: &dyn Store,
    leads: &[NewLead],
    campaign: &Campaign,
    state_rules: &StateRules,
    now: DateTime<Utc>,
) -> StoreResult<Vec<LeadPlacement>> {
    if leads.is_empty() {
        return Ok(Vec::new());
    }
    let phones: Vec<E164> = leads.iter().map(|l| l.phone.clone()).collect();
    let listed = store.dnc_check_many(&phones, Some(campaign.id)).await?;
    // Only the numbers no list blocks have their history read (as `lead_placement` did).
    let free: Vec<E164> = phones
        .into_iter()
        .filter(|p| !listed.contains_key(p))
        .collect();
    let histories = if free.is_empty() {
        Default::default()
    } else {
        store
            .phone_attempt_times_many(&free, number_history_since(now))
            .await?
    };
    let placements = leads
        .iter()
        .map(|lead| {
            let lists = listed.get(&lead.phone).map_or(&[][..], Vec::as_slice);
            let history = histories.get(&lead.phone).map_or(&[][..], Vec::as_slice);
            admit(lead, lists, history, campaign, state_rules, now)
        })
        .collect();
    Ok(placements)
}

/// The placement of `lead` given the list entries that block its number (`lists`) and its
/// number's recent attempt times (`number_history`, read only when `lists` is empty).
fn admit(
    lead: &NewLead,
    lists: &[DncEntry],
    number_history: &[DateTime<Utc>],
    campaign: &Campaign,
    state_rules: &StateRules,
    now: DateTime<Utc>,
) -> LeadPlacement {
    let lists: Vec<String> = lists.iter().map(|e| e.scope.as_key()).collect();
    let admission = match Admission::from_dnc(lists) {
        Some(paused) => paused,
        None => {
            let w = whereabouts(
                &lead.phone,
                lead.contact.time_zone,
                lead.contact.state.as_deref(),
                campaign.settings.fallback_time_zone,
            );
            let rules = LeadRules::new(&campaign.settings, state_rules, &w, &[], number_history);
            Admission::from_rules(&rules, now)
        }
    };
    match admission {
        Admission::Active(at) => LeadPlacement::Active(at),
        Admission::Paused(reason) => LeadPlacement::Paused(reason),
    }
}
