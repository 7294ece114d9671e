//! The outcome breakdown and the best-time heat map from aggregated rows: what a store
//! computes in SQL over millions of attempts, so that a report never holds them in memory.
//!
//! Each row keeps every column a figure's definition reads, so the figures are those of
//! [`outcome_breakdown`] and [`best_time`] on the same attempts: [`outcome_breakdown`] itself
//! runs on groups of one attempt ([`AttemptGroup::of`]); the best-time map reads 15-minute UTC
//! buckets ([`DialBucket`]), each inside one local hour of every zone (every zone's offset
//! and clock change falls on a multiple of 15 minutes).

use super::*;

/// Attempts in range that share every column their class and outcome figures read: one
/// aggregated row of a store (`Reports::outcome_groups`), or one attempt
/// ([`AttemptGroup::of`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptGroup {
    /// Their campaign (whose catalog flags their disposition).
    pub campaign_id: CampaignId,
    /// They have a placement time (the provider accepted them).
    pub placed: bool,
    /// They have an answer time.
    pub answered_at: bool,
    /// Their attempt number is above 1.
    pub redial: bool,
    /// Latest call status.
    pub call_status: Option<CallStatus>,
    /// Answering-machine detection's verdict.
    pub answered_by: Option<AnsweredBy>,
    /// The concluded disposition (`None`: pending).
    pub disposition: Option<Disposition>,
    /// How many attempts.
    pub attempts: u64,
    /// Seconds of talk time, summed over those that report one.
    pub talk_s: u64,
    /// How many report a talk time.
    pub talk_n: u64,
}

impl AttemptGroup {
    /// The group of one attempt.
    pub fn of(a: &AttemptFact) -> AttemptGroup {
        AttemptGroup {
            campaign_id: a.campaign_id,
            placed: a.placed_at.is_some(),
            answered_at: a.answered_at.is_some(),
            redial: a.number > 1,
            call_status: a.call_status,
            answered_by: a.answered_by,
            disposition: a.disposition.clone(),
            attempts: 1,
            talk_s: a.duration_s.map_or(0, u64::from),
            talk_n: u64::from(a.duration_s.is_some()),
        }
    }

    /// The columns that decide the group's class.
    pub fn columns(&self) -> ClassColumns<'_> {
        ClassColumns {
            placed: self.placed,
            answered_at: self.answered_at,
            call_status: self.call_status,
            answered_by: self.answered_by,
            disposition: self.disposition.as_ref(),
        }
    }
}

/// Leads in scope that share every column the outcome breakdown's lead figures read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadGroup {
    /// Their campaign.
    pub campaign_id: CampaignId,
    /// Their status now.
    pub status: LeadStatus,
    /// Why they are done (`None` unless done).
    pub status_reason: Option<String>,
    /// Disposition of their last concluded attempt (`None` unless done).
    pub disposition: Option<Disposition>,
    /// How many leads.
    pub leads: u64,
    /// Of those, imported in `[from, to)`.
    pub imported: u64,
}

/// A lead in scope and the instants (UTC) its dials were reserved at in a recent window:
/// what "reached the daily maximum today" reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadDials {
    /// The lead.
    pub lead: LeadFact,
    /// When its dials in the window were reserved, UTC.
    pub dials: Vec<DateTime<Utc>>,
}

/// The facts of an outcome breakdown, aggregated.
#[derive(Debug, Clone)]
pub struct OutcomeInput<'a> {
    /// What the report covers.
    pub query: &'a ReportQuery,
    /// Attempts in range, grouped.
    pub attempts: &'a [AttemptGroup],
    /// Leads in scope, grouped.
    pub leads: &'a [LeadGroup],
    /// Leads in scope with their dials reserved in the last 26 hours before `now` — at
    /// least those that may have reached their campaign's `max_per_local_day` (a lead with
    /// fewer dials in the window than its maximum may be left out).
    pub recent: &'a [LeadDials],
    /// Every campaign's settings.
    pub campaigns: &'a BTreeMap<CampaignId, CampaignSettings>,
    /// The instant the report is computed at, UTC.
    pub now: DateTime<Utc>,
}

/// The fewest dials in the 26 hours before `now` with which a lead of any of `campaigns`
/// can have reached its daily maximum (at least 1: a lead without a dial never has).
pub fn least_daily_max(campaigns: &BTreeMap<CampaignId, CampaignSettings>) -> u32 {
    campaigns
        .values()
        .map(|s| s.redial.max_per_local_day)
        .min()
        .unwrap_or(1)
        .max(1)
}

/// The outcome breakdown from aggregated rows (the figures of [`outcome_breakdown`]).
pub fn outcome_breakdown_of(input: &OutcomeInput<'_>) -> OutcomeBreakdown {
    let mut out = OutcomeBreakdown {
        filters: filters_of(input.query, input.campaigns),
        leads_in_scope: 0,
        leads_imported: 0,
        still_redialing: 0,
        paused: 0,
        done_by_reason: [
            "SALE",
            "DNC",
            "BAD_NUMBER",
            "other_terminal",
            "attempt_limit",
        ]
        .into_iter()
        .map(|k| (k, 0))
        .collect(),
        reached_daily_max_today: 0,
        attempts: AttemptCounts::default(),
        by_call_status: BTreeMap::new(),
        by_disposition: BTreeMap::new(),
    };
    for l in input.leads {
        out.leads_in_scope += l.leads;
        out.leads_imported += l.imported;
        match l.status {
            LeadStatus::Active | LeadStatus::Dialing => out.still_redialing += l.leads,
            LeadStatus::Paused => out.paused += l.leads,
            LeadStatus::Done => {
                let reason = done_reason_of(l.status_reason.as_deref(), l.disposition.as_ref());
                *out.done_by_reason.entry(reason).or_default() += l.leads;
            }
        }
    }
    for g in input.attempts {
        let class = classify_columns(&g.columns(), input.campaigns.get(&g.campaign_id));
        out.attempts
            .add_n(g.attempts, g.redial, (g.talk_s, g.talk_n), class);
        let status = match (g.placed, g.call_status) {
            (false, _) => "not_placed".to_owned(),
            (true, Some(s)) => s.as_str().to_owned(),
            (true, None) => "queued".to_owned(),
        };
        *out.by_call_status.entry(status).or_default() += g.attempts;
        let d = g
            .disposition
            .as_ref()
            .map_or("pending", |d| d.as_str())
            .to_owned();
        *out.by_disposition.entry(d).or_default() += g.attempts;
    }
    // Dials today in each lead's first zone, against its campaign's daily maximum.
    out.reached_daily_max_today = input
        .recent
        .iter()
        .filter(|r| {
            let settings = input.campaigns.get(&r.lead.campaign_id);
            let max = settings.map_or(u32::MAX, |s| s.redial.max_per_local_day);
            let tz = lead_zone(&r.lead, settings);
            let today = input.now.with_timezone(&tz).date_naive();
            let n = r
                .dials
                .iter()
                .filter(|t| t.with_timezone(&tz).date_naive() == today)
                .count();
            n > 0 && n as u64 >= u64::from(max)
        })
        .count() as u64;
    out
}

/// What makes a dial a *human contact* (see the module's definitions), spelled out for a
/// store that counts contacts in SQL (`Reports::dial_buckets`): a placed attempt is answered
/// when it has an answer time or one of [`HumanContactRule::answered_statuses`]; an answered
/// dial is a contact unless detection said one of [`HumanContactRule::machine_answers`],
/// when detection said [`HumanContactRule::human_answer`] or its disposition is one its
/// campaign's catalog flags `human`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HumanContactRule {
    /// Call status values (`CallStatus::as_str`) that make a placed attempt answered.
    pub answered_statuses: Vec<&'static str>,
    /// Detection values (`AnsweredBy::as_str`, with the aliases `AnsweredBy::parse` reads)
    /// that say machine or fax.
    pub machine_answers: Vec<&'static str>,
    /// The detection value that says a person.
    pub human_answer: &'static str,
    /// Per campaign, the disposition codes its catalog flags `human`.
    pub human_dispositions: BTreeMap<CampaignId, Vec<String>>,
    /// The default catalog's, for a campaign without settings.
    pub default_human_dispositions: Vec<String>,
}

impl HumanContactRule {
    /// The rule under `campaigns`' catalogs.
    pub fn new(campaigns: &BTreeMap<CampaignId, CampaignSettings>) -> HumanContactRule {
        let human = |c: &crate::DispositionCatalog| -> Vec<String> {
            c.entries
                .keys()
                .filter(|d| c.flags(d).human)
                .map(|d| d.as_str().to_owned())
                .collect()
        };
        let machine = [
            AnsweredBy::MachineStart,
            AnsweredBy::MachineEndBeep,
            AnsweredBy::MachineEndSilence,
            AnsweredBy::MachineEndOther,
            AnsweredBy::Fax,
        ];
        debug_assert!(machine.iter().all(|m| m.is_machine()));
        let mut machine_answers: Vec<&'static str> = machine.iter().map(|m| m.as_str()).collect();
        machine_answers.extend(["machine", "voicemail"]);
        HumanContactRule {
            answered_statuses: ANSWERED_STATUSES.iter().map(|s| s.as_str()).collect(),
            machine_answers,
            human_answer: AnsweredBy::Human.as_str(),
            human_dispositions: campaigns
                .iter()
                .map(|(id, s)| (*id, human(&s.dispositions)))
                .collect(),
            default_human_dispositions: human(&crate::DispositionCatalog::default()),
        }
    }
}

/// Dials of leads that share a zone's inputs, reserved in one 15-minute UTC bucket: one
/// aggregated row of `Reports::dial_buckets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialBucket {
    /// The leads' campaign (for its fallback zone).
    pub campaign_id: CampaignId,
    /// A number of the leads: every lead of the row has a number with the same first seven
    /// digits, all a zone lookup by number reads.
    pub phone: E164,
    /// The leads' own time zone.
    pub time_zone: Option<Tz>,
    /// The leads' state or province.
    pub state: Option<String>,
    /// The bucket's start, UTC, on a quarter hour.
    pub start: DateTime<Utc>,
    /// Dials in the bucket.
    pub dials: u64,
    /// Of those, human contacts.
    pub human: u64,
}

/// What a bucket's first zone depends on: campaign, number, the lead's own zone and state.
type ZoneKey<'a> = (CampaignId, &'a str, Option<Tz>, Option<&'a str>);

/// The best-time heat map from 15-minute buckets (the cells of [`best_time`]): each bucket's
/// start read in its leads' first zone gives the local weekday and hour of every dial in it.
pub fn best_time_of(
    query: &ReportQuery,
    campaigns: &BTreeMap<CampaignId, CampaignSettings>,
    buckets: &[DialBucket],
) -> BestTime {
    let mut cells: BTreeMap<(u32, u32), (u64, u64)> = BTreeMap::new();
    let mut zones: HashMap<ZoneKey<'_>, Tz> = HashMap::new();
    for b in buckets {
        let tz = *zones
            .entry((
                b.campaign_id,
                b.phone.as_str(),
                b.time_zone,
                b.state.as_deref(),
            ))
            .or_insert_with(|| {
                let fallback = campaigns
                    .get(&b.campaign_id)
                    .and_then(|s| s.fallback_time_zone);
                whereabouts(&b.phone, b.time_zone, b.state.as_deref(), fallback)
                    .zones
                    .first()
                    .copied()
                    .unwrap_or(Tz::UTC)
            });
        let local = b.start.with_timezone(&tz);
        let cell = cells
            .entry((local.weekday().num_days_from_monday(), local.hour()))
            .or_default();
        cell.0 += b.dials;
        cell.1 += b.human;
    }
    BestTime {
        filters: filters_of(query, campaigns),
        cells: best_time_cells(cells),
    }
}
