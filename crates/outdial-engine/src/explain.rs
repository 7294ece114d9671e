//! Why a number may or may not be dialed, and when: the answers behind
//! `outdial compliance check`, `outdial explain` and their admin API routes.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use outdial_core::schedule::{number_history_since, whereabouts, Block, LeadRules, Whereabouts};
use outdial_core::{CampaignSettings, LeadStatus, E164};
use outdial_store::{Attempt, Campaign, Lead};
use serde::Serialize;

use crate::{Engine, EngineError, LeadFacts};

/// One blocking rule, with where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// Rule name (`federal_hours`, `state`, `rolling_cap`, `dnc`, …).
    pub rule: String,
    /// What blocks, in words.
    pub message: String,
    /// Statute, data-file entry or campaign setting.
    pub source: String,
}

impl From<&Block> for Reason {
    fn from(b: &Block) -> Self {
        let rule = serde_json::to_value(b)
            .ok()
            .and_then(|v| v.get("rule").and_then(|r| r.as_str()).map(str::to_owned))
            .unwrap_or_default();
        Reason {
            rule,
            message: b.to_string(),
            source: b.source(),
        }
    }
}

/// The verdict for dialing a number at an instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The number (E.164).
    pub phone: String,
    /// The instant asked about, UTC.
    pub at: DateTime<Utc>,
    /// Whether a call may be placed at `at`.
    pub allowed: bool,
    /// Candidate IANA zones.
    pub zones: Vec<Tz>,
    /// Candidate states.
    pub states: Vec<String>,
    /// Where the zones came from.
    pub zone_source: String,
    /// Every blocking rule at `at` (empty when allowed).
    pub reasons: Vec<Reason>,
    /// The earliest instant at or after `at` when every rule allows a call (RFC 3339 UTC),
    /// or `None` when no such instant exists within a year or the number is on a DNC list.
    pub next_allowed_at: Option<DateTime<Utc>>,
    /// The campaign whose settings were applied, if any.
    pub campaign: Option<String>,
}

/// One cap: how many calls count against it now, and its limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapStatus {
    /// Which cap.
    pub cap: String,
    /// Calls counted now.
    pub count: u32,
    /// The limit.
    pub limit: u32,
    /// Where it comes from.
    pub source: String,
}

/// A lead's state, history, caps and next dial, for operators.
#[derive(Debug, Clone, Serialize)]
pub struct LeadExplanation {
    /// The lead.
    pub lead: Lead,
    /// Its campaign's name.
    pub campaign: String,
    /// The provider that places its campaign's calls (and so its attempts': a campaign
    /// names one provider).
    pub provider: outdial_core::ProviderKind,
    /// Its attempts, oldest first.
    pub attempts: Vec<Attempt>,
    /// Every cap with its current count.
    pub caps: Vec<CapStatus>,
    /// The rules' verdict now.
    pub now: Verdict,
    /// When and why it will (or will not) be dialed next, in words.
    pub next: String,
}

/// Settings used by a compliance check that names no campaign: federal hours every day,
/// default caps and redial policy, no fallback zone.
pub fn default_check_settings() -> CampaignSettings {
    CampaignSettings::new(
        E164::from_stored("+15005550006").expect("valid E.164"),
        outdial_core::AnswerBehaviour::inline("<Response/>"),
    )
}

/// Evaluates the rules (and DNC lists) for `phone` at `at`.
pub fn verdict(
    phone: &E164,
    settings: &CampaignSettings,
    campaign: Option<&str>,
    state_rules: &outdial_core::compliance::StateRules,
    facts: &LeadFacts,
    dnc_lists: Vec<String>,
    at: DateTime<Utc>,
) -> Verdict {
    let rules = LeadRules::new(
        settings,
        state_rules,
        &facts.whereabouts,
        &facts.history,
        &facts.number_history,
    );
    let mut blocks = rules.blocks_at(at);
    let dnc = !dnc_lists.is_empty();
    if dnc {
        blocks.push(Block::Dnc { lists: dnc_lists });
    }
    let next_allowed_at = if dnc {
        None
    } else {
        rules.next_allowed(at).ok()
    };
    Verdict {
        phone: phone.to_string(),
        at,
        allowed: blocks.is_empty(),
        zones: facts.whereabouts.zones.clone(),
        states: facts.whereabouts.states.clone(),
        zone_source: facts.whereabouts.zone_source.clone(),
        reasons: blocks.iter().map(Reason::from).collect(),
        next_allowed_at,
        campaign: campaign.map(str::to_owned),
    }
}

impl Engine {
    /// The verdict for dialing `phone` at `at` under `campaign` (or default settings), with
    /// an explicit zone or state if given, the number's history across campaigns and the DNC
    /// lists.
    pub async fn compliance_check(
        &self,
        phone: &E164,
        state: Option<&str>,
        tz: Option<Tz>,
        at: DateTime<Utc>,
        campaign: Option<&Campaign>,
        defaults: &CampaignSettings,
    ) -> Result<Verdict, EngineError> {
        let settings = campaign.map_or(defaults, |c| &c.settings);
        let w: Whereabouts = whereabouts(phone, tz, state, settings.fallback_time_zone);
        let number_history = self
            .store
            .phone_attempt_times(phone, number_history_since(at))
            .await?;
        let facts = LeadFacts {
            whereabouts: w,
            history: Vec::new(),
            number_history,
        };
        let lists = self
            .store
            .dnc_check(phone, campaign.map(|c| c.id))
            .await?
            .into_iter()
            .map(|e| e.scope.as_key())
            .collect();
        Ok(verdict(
            phone,
            settings,
            campaign.map(|c| c.name.as_str()),
            &self.config.state_rules,
            &facts,
            lists,
            at,
        ))
    }

    /// Explains a lead at `now`: its state, attempts, every cap's count and limit, the
    /// rules' verdict, and when and why it will (or will not) be dialed next.
    pub async fn explain_lead(
        &self,
        lead: Lead,
        now: DateTime<Utc>,
    ) -> Result<LeadExplanation, EngineError> {
        let campaign = self.campaign(lead.campaign_id).await?;
        let facts = self.lead_facts(&lead, &campaign, now).await?;
        let lists = self.dnc_lists(&lead).await?;
        let v = verdict(
            &lead.phone,
            &campaign.settings,
            Some(&campaign.name),
            &self.config.state_rules,
            &facts,
            lists,
            now,
        );
        let rules = self.rules(&campaign, &facts);
        let mut caps = Vec::new();
        let policy = &campaign.settings.redial;
        for zone in &facts.whereabouts.zones {
            let day = now.with_timezone(zone).date_naive();
            let count = facts
                .history
                .iter()
                .filter(|h| h.with_timezone(zone).date_naive() == day)
                .count() as u32;
            caps.push(CapStatus {
                cap: format!("attempts this local day in {zone}"),
                count,
                limit: policy.max_per_local_day,
                source: "campaign redial.max_per_local_day".into(),
            });
        }
        if let Some(limit) = policy.max_total {
            caps.push(CapStatus {
                cap: "attempts in total".into(),
                count: facts.history.len() as u32,
                limit,
                source: "campaign redial.max_total".into(),
            });
        }
        for st in &facts.whereabouts.states {
            if let Some((limit, hours)) =
                outdial_core::compliance::rolling_cap(&self.config.state_rules, st)
            {
                let count = facts
                    .number_history
                    .iter()
                    .filter(|h| **h > now - Duration::hours(i64::from(hours)) && **h <= now)
                    .count() as u32;
                let source = self
                    .config
                    .state_rules
                    .get(st)
                    .map_or(String::new(), |r| r.source.clone());
                caps.push(CapStatus {
                    cap: format!("calls to the number in {hours} h ({st})"),
                    count,
                    limit,
                    source,
                });
            }
        }
        if let Some(limit) = campaign.settings.caps.per_number_24h {
            let count = facts
                .number_history
                .iter()
                .filter(|h| **h > now - Duration::hours(24) && **h <= now)
                .count() as u32;
            caps.push(CapStatus {
                cap: "calls to the number in 24 h (campaign)".into(),
                count,
                limit,
                source: "campaign caps.per_number_24h".into(),
            });
        }
        if campaign.settings.caps.reg_f_7_in_7 {
            let count = facts
                .history
                .iter()
                .filter(|h| **h > now - Duration::days(7) && **h <= now)
                .count() as u32;
            caps.push(CapStatus {
                cap: "calls in 7 days (Regulation F)".into(),
                count,
                limit: 7,
                source: outdial_core::schedule::REG_F_SOURCE.into(),
            });
        }
        let next = match lead.status {
            LeadStatus::Done => format!(
                "not dialed again: done ({})",
                lead.status_reason.clone().unwrap_or_default()
            ),
            LeadStatus::Paused => format!(
                "not dialed until resumed: paused ({})",
                lead.status_reason.clone().unwrap_or_default()
            ),
            LeadStatus::Dialing => {
                "an attempt is in flight; the redial policy decides after it ends".into()
            }
            LeadStatus::Active => {
                let due = lead.next_attempt_at.unwrap_or(now).max(now);
                match (
                    v.reasons.iter().any(|r| r.rule == "dnc"),
                    rules.next_allowed(due),
                ) {
                    (true, _) => "will not be dialed: the number is on a do-not-call list".into(),
                    (false, Ok(t)) if t == due => format!(
                        "due at {} ({}); the rules allow it then",
                        due.to_rfc3339(),
                        lead.status_reason
                            .clone()
                            .unwrap_or_else(|| "redial policy".into())
                    ),
                    (false, Ok(t)) => format!(
                        "due at {}, but the rules move it to {}",
                        due.to_rfc3339(),
                        t.to_rfc3339()
                    ),
                    (false, Err(b)) => format!("will not be dialed: {b}"),
                }
            }
        };
        let attempts = self.store.lead_attempts(lead.id).await?;
        Ok(LeadExplanation {
            lead,
            campaign: campaign.name,
            provider: campaign.settings.provider,
            attempts,
            caps,
            now: v,
            next,
        })
    }
}
