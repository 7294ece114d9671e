//! Lead intake: leads handed over one request at a time (a CRM's new lead, a morning's
//! batch; `POST /api/v1/campaigns/{campaign}/leads`), idempotent by external id and by
//! number, placed by the same rules as `outdial import` ([`lead_placements`]).

use crate::enqueue::lead_placements;
use chrono::{DateTime, Utc};
use outdial_core::compliance::StateRules;
use outdial_core::{LeadId, NewLead};
use outdial_store::{Campaign, Lead, LeadPlacement, Store, StoreResult};
use serde::Serialize;
use std::collections::HashMap;

/// Leads per store transaction (as `outdial import`).
pub const INTAKE_BATCH: usize = 1000;

/// How a lead handed to [`intake`] was found to be one the campaign already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// A lead of the campaign has the same `external_id` (checked first).
    ExternalId,
    /// A lead of the campaign has the same number.
    Phone,
}

/// What became of one lead handed to [`intake`], in the order given.
#[derive(Debug, Clone, PartialEq)]
pub enum IntakeResult {
    /// Added to the campaign: the lead as stored (active with its first due time, or paused
    /// with the reason: on a Do-Not-Call list, no time zone, no allowed instant).
    Inserted(Box<Lead>),
    /// The campaign already had it (stored earlier, or earlier in the same call); nothing
    /// was changed: the existing lead keeps its number, contact data and schedule.
    Duplicate {
        /// The lead it matched.
        lead_id: LeadId,
        /// What matched.
        matched_by: MatchedBy,
    },
}

/// Adds `leads` to `campaign`, skipping those it already has, and says what became of each
/// (one [`IntakeResult`] per lead, in order). A lead is a duplicate when a lead of the
/// campaign (stored, or earlier in `leads`) has the same `external_id`, or else the same
/// number; so the same call made twice changes nothing the second time. New leads are
/// placed by [`lead_placements`] (Do-Not-Call lists, time zone, calling windows, caps: the
/// placement of `outdial import`) at `now` (UTC), [`INTAKE_BATCH`] at a time, and inserted
/// [`INTAKE_BATCH`] per store transaction.
///
/// Two calls racing with the same external id but different numbers may both insert (the
/// external id is not a unique key); the number is (one lead per number and campaign).
///
/// Errors: the store's. The batches committed before the failure stay; calling again with
/// the same leads inserts only the rest.
pub async fn intake(
    store: &dyn Store,
    campaign: &Campaign,
    leads: &[NewLead],
    state_rules: &StateRules,
    now: DateTime<Utc>,
) -> StoreResult<Vec<IntakeResult>> {
    /// Where each lead's answer comes from while the request is worked through.
    enum Pending {
        Known(IntakeResult),
        /// To insert: index into `new`.
        New(usize),
        /// The same as an earlier lead of the request (index into `leads`).
        SameAs(usize, MatchedBy),
    }
    let mut by_external_id: HashMap<&str, usize> = HashMap::new();
    let mut by_phone: HashMap<&str, usize> = HashMap::new();
    let mut pending = Vec::with_capacity(leads.len());
    let mut new: Vec<NewLead> = Vec::new();
    for (i, lead) in leads.iter().enumerate() {
        let external_id = lead.contact.external_id.as_deref();
        if let Some(earlier) = external_id.and_then(|x| by_external_id.get(x)) {
            pending.push(Pending::SameAs(*earlier, MatchedBy::ExternalId));
            continue;
        }
        if let Some(earlier) = by_phone.get(lead.phone.as_str()) {
            pending.push(Pending::SameAs(*earlier, MatchedBy::Phone));
            continue;
        }
        if let Some(x) = external_id {
            by_external_id.insert(x, i);
            if let Some(found) = store.leads_by_external_id(campaign.id, x).await?.first() {
                pending.push(Pending::Known(IntakeResult::Duplicate {
                    lead_id: found.id,
                    matched_by: MatchedBy::ExternalId,
                }));
                continue;
            }
        }
        by_phone.insert(lead.phone.as_str(), i);
        if let Some(found) = stored_lead(store, campaign, lead).await? {
            pending.push(Pending::Known(IntakeResult::Duplicate {
                lead_id: found.id,
                matched_by: MatchedBy::Phone,
            }));
            continue;
        }
        pending.push(Pending::New(new.len()));
        new.push(lead.clone());
    }
    for chunk in new.chunks(INTAKE_BATCH) {
        let placements = lead_placements(store, chunk, campaign, state_rules, now).await?;
        let rows: Vec<(NewLead, LeadPlacement)> = chunk.iter().cloned().zip(placements).collect();
        store.insert_leads(campaign.id, &rows, now).await?;
    }
    let mut results: Vec<IntakeResult> = Vec::with_capacity(leads.len());
    for p in pending {
        let result = match p {
            Pending::Known(r) => r,
            Pending::New(n) => {
                let lead = &new[n];
                // Inserted now, or (a racing request) just before: either way it is there.
                let stored = stored_lead(store, campaign, lead).await?.ok_or_else(|| {
                    outdial_store::StoreError::Corrupt(format!(
                        "lead {} of campaign {} is missing after its insert",
                        lead.phone, campaign.id
                    ))
                })?;
                IntakeResult::Inserted(Box::new(stored))
            }
            Pending::SameAs(earlier, matched_by) => IntakeResult::Duplicate {
                lead_id: match &results[earlier] {
                    IntakeResult::Inserted(l) => l.id,
                    IntakeResult::Duplicate { lead_id, .. } => *lead_id,
                },
                matched_by,
            },
        };
        results.push(result);
    }
    Ok(results)
}

/// The campaign's lead with `lead`'s number, if any.
async fn stored_lead(
    store: &dyn Store,
    campaign: &Campaign,
    lead: &NewLead,
) -> StoreResult<Option<Lead>> {
    Ok(store
        .leads_by_phone(&lead.phone)
        .await?
        .into_iter()
        .find(|l| l.campaign_id == campaign.id))
}
