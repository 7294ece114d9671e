//! "Why is it not dialing": the leads that could be called and are not, counted by reason.
//!
//! [`Engine::not_dialing`] walks the leads (by id, at most a given number, so the work is
//! bounded) and puts each lead that is not done and not in flight under one reason — the
//! first that holds, in this order:
//! - `paused` / `dnc`: the lead is paused (`dnc` when it was paused because its number is on
//!   a do-not-call list: its status reason is the DNC rule's own text);
//! - `campaign_stopped`: its campaign is not active;
//! - `kill_switch_campaign`: its campaign's kill switch is tripped;
//! - a rule of [`LeadRules::blocks_at`] that blocks a call now, by its rule name
//!   (`outside_window`, `federal_hours`, `state`, `federal_holiday`, `blackout`,
//!   `daily_cap`, `total_cap`, `rolling_cap`, `seven_in_seven`, `min_gap`, `dnc`,
//!   `no_time_zone`, `never_open`), with the zone for the rules that have one;
//! - `redial_interval`: nothing blocks it now, but its next attempt time (the redial
//!   policy's interval) has not come;
//! - `due`: it is due now and waits for a turn — the concurrency cap, the pacing, a
//!   provider's limits; [`NotDialing::attempts_in_flight`] against
//!   [`NotDialing::max_concurrent`] says whether the cap is what binds.
//!
//! What stops every lead at once is reported beside the counts, not per lead: the dialer
//! stopped, the global kill switch tripped. The rules are the ones the tick checks
//! (`window_margin_s` included), evaluated at the instant asked about.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use outdial_core::schedule::{Block, LeadRules};
use outdial_core::{CampaignId, LeadId, LeadStatus};
use outdial_store::{KillScope, Lead};
use serde::Serialize;

use crate::{Engine, EngineError};

/// How many lead ids each reason lists ([`BlockedReason::leads`]).
pub const SAMPLE_LEADS: usize = 50;

/// The leads under one reason.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BlockedReason {
    /// The reason's name (see the module docs).
    pub reason: String,
    /// How many leads.
    pub count: u64,
    /// The same by IANA zone, for the rules that name one (the calling window, federal
    /// hours, state rules, holidays, blackouts, the daily cap); empty otherwise.
    pub by_zone: BTreeMap<String, u64>,
    /// The earliest next attempt time among them (UTC), when they have one.
    pub next_due_at: Option<DateTime<Utc>>,
    /// The first [`SAMPLE_LEADS`] of them, by id (links to the leads behind the count).
    pub leads: Vec<LeadId>,
    /// One of them's reason in words (the rule's own message), for the first lead.
    pub example: Option<String>,
}

/// The answer of [`Engine::not_dialing`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotDialing {
    /// The instant evaluated, UTC.
    pub at: DateTime<Utc>,
    /// Whether the dialer runs (`false`: nothing is placed, whatever the counts).
    pub dialer_running: bool,
    /// The global kill switch's reason when it is tripped (nothing is placed).
    pub global_kill_switch: Option<String>,
    /// Attempts in flight now.
    pub attempts_in_flight: u64,
    /// The configured cap on attempts in flight.
    pub max_concurrent: u32,
    /// Leads looked at.
    pub leads_scanned: u64,
    /// Whether the scan stopped at its limit before the last lead (the counts cover the
    /// leads with the lowest ids).
    pub truncated: bool,
    /// The reasons, most leads first.
    pub reasons: Vec<BlockedReason>,
}

/// The rule name and zone of a block.
fn block_key(b: &Block) -> (String, Option<String>) {
    let rule = serde_json::to_value(b)
        .ok()
        .and_then(|v| v.get("rule").and_then(|r| r.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "rule".into());
    let zone = match b {
        Block::FederalHours { zone }
        | Block::OutsideWindow { zone }
        | Block::State { zone, .. }
        | Block::FederalHoliday { zone, .. }
        | Block::Blackout { zone, .. }
        | Block::DailyCap { zone, .. } => Some(zone.name().to_string()),
        _ => None,
    };
    (rule, zone)
}

/// Whether a paused lead's status reason is the DNC rule's ([`Block::Dnc`]'s text).
fn paused_for_dnc(lead: &Lead) -> bool {
    let dnc = Block::Dnc { lists: Vec::new() }.to_string();
    let prefix = dnc.trim_end_matches([' ', ':']);
    lead.status_reason
        .as_deref()
        .is_some_and(|r| r.starts_with(prefix))
}

impl Engine {
    /// Counts the leads that are not being dialed at `now` by reason (see the module
    /// docs), looking at most at `limit` leads (by id), only `campaign`'s when given.
    ///
    /// Cost: two reads of attempt times per active lead looked at. Errors: the store's.
    pub async fn not_dialing(
        &self,
        now: DateTime<Utc>,
        campaign: Option<CampaignId>,
        limit: u32,
    ) -> Result<NotDialing, EngineError> {
        let switches = self.kill_switches().await?;
        let tripped = |scope: KillScope| switches.get(scope).filter(|s| s.tripped);
        let mut reasons: BTreeMap<String, BlockedReason> = BTreeMap::new();
        let mut scanned = 0u64;
        let mut truncated = false;
        let mut after = LeadId(0);
        'pages: loop {
            let page = self.store.leads_after(after, 500).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for lead in page {
                if campaign.is_some_and(|c| c != lead.campaign_id) {
                    continue;
                }
                if scanned >= u64::from(limit) {
                    truncated = true;
                    break 'pages;
                }
                scanned += 1;
                let found = match lead.status {
                    LeadStatus::Done | LeadStatus::Dialing => None,
                    LeadStatus::Paused => Some((
                        if paused_for_dnc(&lead) {
                            "dnc"
                        } else {
                            "paused"
                        }
                        .to_string(),
                        None,
                        lead.status_reason.clone(),
                    )),
                    LeadStatus::Active => self.active_lead_reason(&lead, now, &switches).await?,
                };
                let Some((reason, zone, example)) = found else {
                    continue;
                };
                let r = reasons
                    .entry(reason.clone())
                    .or_insert_with(|| BlockedReason {
                        reason,
                        example,
                        ..BlockedReason::default()
                    });
                r.count += 1;
                if let Some(z) = zone {
                    *r.by_zone.entry(z).or_default() += 1;
                }
                if let Some(next) = lead.next_attempt_at {
                    r.next_due_at = Some(r.next_due_at.map_or(next, |t| t.min(next)));
                }
                if r.leads.len() < SAMPLE_LEADS {
                    r.leads.push(lead.id);
                }
            }
        }
        let mut reasons: Vec<BlockedReason> = reasons.into_values().collect();
        reasons.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
        Ok(NotDialing {
            at: now,
            dialer_running: self.dialer_running().await?,
            global_kill_switch: tripped(KillScope::Global).map(|s| s.reason.clone()),
            attempts_in_flight: self.store.in_flight_count().await?,
            max_concurrent: self.config.max_concurrent,
            leads_scanned: scanned,
            truncated,
            reasons,
        })
    }

    /// The reason an active lead is not dialed now: (name, zone, words).
    async fn active_lead_reason(
        &self,
        lead: &Lead,
        now: DateTime<Utc>,
        switches: &crate::KillSwitches,
    ) -> Result<Option<(String, Option<String>, Option<String>)>, EngineError> {
        let campaign = self.campaign(lead.campaign_id).await?;
        if !campaign.active {
            return Ok(Some(("campaign_stopped".into(), None, None)));
        }
        if let Some(s) = switches
            .get(KillScope::Campaign(campaign.id))
            .filter(|s| s.tripped)
        {
            return Ok(Some((
                "kill_switch_campaign".into(),
                None,
                Some(s.reason.clone()),
            )));
        }
        let facts = self.lead_facts(lead, &campaign, now).await?;
        let rules: LeadRules<'_> = self.rules(&campaign, &facts);
        if let Some(b) = rules.blocks_at(now).first() {
            let (rule, zone) = block_key(b);
            return Ok(Some((rule, zone, Some(b.to_string()))));
        }
        Ok(Some(match lead.next_attempt_at {
            Some(next) if next > now => ("redial_interval".into(), None, None),
            _ => ("due".into(), None, None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_keyed_by_its_rule_name_and_zone() {
        let (rule, zone) = block_key(&Block::OutsideWindow {
            zone: chrono_tz::America::Chicago,
        });
        assert_eq!(rule, "outside_window");
        assert_eq!(zone.as_deref(), Some("America/Chicago"));
        let (rule, zone) = block_key(&Block::NoTimeZone);
        assert_eq!((rule.as_str(), zone), ("no_time_zone", None));
    }
}
