//! Reports: figures an operator can trust, computed from the attempt log.
//!
//! Pure: the engine's report runner (`outdial-engine::reports`) reads the facts from the
//! store ([`AttemptFact`], [`LeadFact`]) and hands them here; every figure has one definition,
//! written once in this module and printed with the report ([`Formula`]).
//!
//! Scope of every report (see [`ReportQuery`]):
//! - **attempts in range**: attempts reserved in the half-open range `[from, to)` (UTC
//!   instants), of the campaign when one is given. A call's record in the store is one row
//!   whatever number of webhooks described it, so duplicate and replayed webhooks never change
//!   a figure;
//! - **leads in scope**: leads imported in the range, together with leads that have an
//!   attempt in range.
//!
//! Definitions (sources: `shared/reference/operations.md` §1.4; VICIdial's Lists Pass and
//! Dialer Inventory reports):
//! - a **dial** is an attempt the provider accepted (it has a placement time); an attempt
//!   reserved and then refused or never sent is *not placed* and is counted apart;
//! - **answered**: a dial answered by anything (person, machine, fax): it reached
//!   `in-progress`, or ended `completed`;
//! - **human contact**: an answered dial whose answering-machine detection said `human`, or
//!   whose disposition carries the campaign catalog's `human` flag;
//! - **machine**: an answered dial whose detection said machine or fax;
//! - **transferred**: disposition `TRANSFERRED`; **converted**: disposition `SALE`.
//!
//! Times: buckets are cut in the zone of [`ReportZone`]: a day is local midnight to local
//! midnight, so a day with a clock change has 23 or 25 hours and no day is repeated or lost;
//! an hour is a local hour, so the repeated hour of a November change is two buckets with
//! different UTC offsets.

use crate::schedule::{local_instant, whereabouts};
use crate::{
    AnsweredBy, AttemptId, AttemptState, CallStatus, CampaignId, CampaignSettings, Disposition,
    LeadId, LeadStatus, E164,
};
use chrono::{
    DateTime, Datelike, Duration, FixedOffset, LocalResult, NaiveDateTime, NaiveTime, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// One attempt as reports see it: the columns of the `attempts` row that figures use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptFact {
    /// The attempt.
    pub id: AttemptId,
    /// Its lead.
    pub lead_id: LeadId,
    /// Its campaign.
    pub campaign_id: CampaignId,
    /// The number called.
    pub phone: E164,
    /// 1 for a lead's first attempt, 2 for its first redial, …
    pub number: u32,
    /// Lifecycle state.
    pub state: AttemptState,
    /// Latest call status the provider reported.
    pub call_status: Option<CallStatus>,
    /// Answering-machine detection's verdict.
    pub answered_by: Option<AnsweredBy>,
    /// The concluded disposition.
    pub disposition: Option<Disposition>,
    /// When it was reserved, UTC: the instant that places it in a range and a bucket.
    pub reserved_at: DateTime<Utc>,
    /// When the provider accepted it, UTC (`None`: not placed).
    pub placed_at: Option<DateTime<Utc>>,
    /// When it was answered, UTC.
    pub answered_at: Option<DateTime<Utc>>,
    /// Talk time the provider reported, in seconds.
    pub duration_s: Option<u32>,
    /// What the provider charged, once it reported a price.
    pub price: Option<crate::CallPrice>,
}

/// One lead as reports see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadFact {
    /// The lead.
    pub id: LeadId,
    /// Its campaign.
    pub campaign_id: CampaignId,
    /// Its number (for its time zone when it has none of its own).
    pub phone: E164,
    /// The lead's own time zone, when the list gave one.
    pub time_zone: Option<Tz>,
    /// The lead's state or province, when the list gave one.
    pub state: Option<String>,
    /// Its status now.
    pub status: LeadStatus,
    /// Why it is done or paused.
    pub status_reason: Option<String>,
    /// Disposition of its last concluded attempt.
    pub disposition: Option<Disposition>,
    /// Attempts reserved so far, all time.
    pub attempt_count: u32,
    /// When it was imported, UTC.
    pub created_at: DateTime<Utc>,
}

/// The zone days and hours are bucketed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportZone {
    /// UTC.
    Utc,
    /// The campaign's zone (its `fallback_time_zone`; UTC when it has none or when the
    /// report covers every campaign).
    Campaign,
    /// Each lead's own local time: its first candidate zone (its own zone, else its number's
    /// and state's, else the campaign's fallback; UTC when none is known). Buckets are local
    /// labels shared by leads in different zones.
    Lead,
    /// A named IANA zone.
    Zone(Tz),
}

impl ReportZone {
    /// Reads `campaign`, `lead`, `UTC` or an IANA zone name (`America/Chicago`).
    ///
    /// # Errors
    /// A message naming the value when it is none of these.
    pub fn parse(s: &str) -> Result<ReportZone, String> {
        match s.trim() {
            "campaign" => Ok(ReportZone::Campaign),
            "lead" => Ok(ReportZone::Lead),
            "UTC" | "utc" => Ok(ReportZone::Utc),
            other => other.parse::<Tz>().map(ReportZone::Zone).map_err(|_| {
                format!("'{other}' is not campaign, lead, UTC or an IANA time zone name")
            }),
        }
    }

    /// The name [`ReportZone::parse`] reads back.
    pub fn name(&self) -> String {
        match self {
            ReportZone::Utc => "UTC".into(),
            ReportZone::Campaign => "campaign".into(),
            ReportZone::Lead => "lead".into(),
            ReportZone::Zone(tz) => tz.name().into(),
        }
    }
}

/// Bucket size of the interval report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// Local hours.
    Hour,
    /// Local days.
    Day,
}

/// What a report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    /// Start of the range, inclusive, UTC.
    pub from: DateTime<Utc>,
    /// End of the range, exclusive, UTC.
    pub to: DateTime<Utc>,
    /// One campaign, or every campaign.
    pub campaign: Option<CampaignId>,
    /// The zone of days and hours.
    pub zone: ReportZone,
}

/// The facts of one report run and what they are read with.
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    /// What the report covers.
    pub query: &'a ReportQuery,
    /// Attempts in range.
    pub attempts: &'a [AttemptFact],
    /// Leads in scope.
    pub leads: &'a [LeadFact],
    /// Every campaign's settings (catalogs, fallback zones, caps).
    pub campaigns: &'a BTreeMap<CampaignId, CampaignSettings>,
    /// Attempts reserved in the last 26 hours before `now`, of the leads in scope (for
    /// "reached the daily maximum today").
    pub recent: &'a [AttemptFact],
    /// The instant the report is computed at, UTC.
    pub now: DateTime<Utc>,
}

/// A figure's definition, printed with the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Formula {
    /// The figure's name.
    pub name: &'static str,
    /// How it is computed.
    pub formula: &'static str,
}

/// A ratio with its parts; `value` is `None` when the denominator is 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// Numerator.
    pub numerator: u64,
    /// Denominator.
    pub denominator: u64,
    /// `numerator ÷ denominator`, between 0 and 1 (rounded to 4 decimals).
    pub value: Option<f64>,
}

impl Rate {
    /// `numerator ÷ denominator`.
    pub fn of(numerator: u64, denominator: u64) -> Rate {
        Rate {
            numerator,
            denominator,
            value: (denominator > 0)
                .then(|| (numerator as f64 / denominator as f64 * 10_000.0).round() / 10_000.0),
        }
    }

    /// The value as a percentage with one decimal, or `-` without a denominator.
    pub fn percent(&self) -> String {
        match self.value {
            Some(v) => format!("{:.1}%", v * 100.0),
            None => "-".into(),
        }
    }
}

/// How one attempt counts, by the module's definitions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttemptClass {
    /// Accepted by the provider.
    pub dial: bool,
    /// Answered by anything.
    pub answered: bool,
    /// Answered by a person.
    pub human: bool,
    /// Answered by a machine or a fax.
    pub machine: bool,
    /// Disposition `TRANSFERRED`.
    pub transferred: bool,
    /// Disposition `SALE`.
    pub converted: bool,
}

/// Classifies an attempt (see the module's definitions).
pub fn classify(a: &AttemptFact, settings: Option<&CampaignSettings>) -> AttemptClass {
    classify_columns(
        &ClassColumns {
            placed: a.placed_at.is_some(),
            answered_at: a.answered_at.is_some(),
            call_status: a.call_status,
            answered_by: a.answered_by,
            disposition: a.disposition.as_ref(),
        },
        settings,
    )
}

/// The columns of an attempt that decide its [`AttemptClass`]: what [`classify`] reads of
/// an [`AttemptFact`], and what a store's aggregated rows keep ([`AttemptGroup`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassColumns<'a> {
    /// It has a placement time (the provider accepted it).
    pub placed: bool,
    /// It has an answer time.
    pub answered_at: bool,
    /// Latest call status.
    pub call_status: Option<CallStatus>,
    /// Answering-machine detection's verdict.
    pub answered_by: Option<AnsweredBy>,
    /// The concluded disposition.
    pub disposition: Option<&'a Disposition>,
}

/// The call statuses that make a dial *answered* even without an answer time.
pub const ANSWERED_STATUSES: [CallStatus; 2] = [CallStatus::InProgress, CallStatus::Completed];

/// Classifies an attempt by the columns that decide its class (the one definition behind
/// [`classify`]).
pub fn classify_columns(a: &ClassColumns<'_>, settings: Option<&CampaignSettings>) -> AttemptClass {
    let dial = a.placed;
    let answered = dial
        && (a.answered_at
            || a.call_status
                .is_some_and(|s| ANSWERED_STATUSES.contains(&s)));
    let flags = match (a.disposition, settings) {
        (Some(d), Some(s)) => s.dispositions.flags(d),
        (Some(d), None) => crate::DispositionCatalog::default().flags(d),
        (None, _) => Default::default(),
    };
    let machine = answered && a.answered_by.is_some_and(|b| b.is_machine());
    let human = answered && !machine && (a.answered_by == Some(AnsweredBy::Human) || flags.human);
    let code = a.disposition.map(|d| d.as_str());
    AttemptClass {
        dial,
        answered,
        human,
        machine,
        transferred: dial && code == Some("TRANSFERRED"),
        converted: dial && code == Some("SALE"),
    }
}

/// Why a done lead is done, as the outcome breakdown counts it.
pub fn done_reason(lead: &LeadFact) -> &'static str {
    done_reason_of(lead.status_reason.as_deref(), lead.disposition.as_ref())
}

/// Why a done lead is done, from its `status_reason` and the disposition of its last
/// concluded attempt (the one definition behind [`done_reason`]).
pub fn done_reason_of(
    status_reason: Option<&str>,
    disposition: Option<&Disposition>,
) -> &'static str {
    let reason = status_reason.unwrap_or("");
    if reason.starts_with("attempt limit reached") {
        return "attempt_limit";
    }
    if reason.contains("treated as BAD_NUMBER") {
        return "BAD_NUMBER";
    }
    match disposition.map(|d| d.as_str()) {
        Some("SALE") => "SALE",
        Some("DNC") => "DNC",
        Some("BAD_NUMBER") => "BAD_NUMBER",
        _ => "other_terminal",
    }
}

/// A lead's local zone for lead-local bucketing: its first candidate zone, else UTC.
pub fn lead_zone(lead: &LeadFact, settings: Option<&CampaignSettings>) -> Tz {
    let fallback = settings.and_then(|s| s.fallback_time_zone);
    whereabouts(&lead.phone, lead.time_zone, lead.state.as_deref(), fallback)
        .zones
        .first()
        .copied()
        .unwrap_or(Tz::UTC)
}

/// Per-report context: the settings and zones looked up once.
struct Ctx<'a> {
    input: &'a ReportInput<'a>,
    zones: HashMap<LeadId, Tz>,
}

impl<'a> Ctx<'a> {
    fn new(input: &'a ReportInput<'a>) -> Ctx<'a> {
        let zones = input
            .leads
            .iter()
            .map(|l| (l.id, lead_zone(l, input.campaigns.get(&l.campaign_id))))
            .collect();
        Ctx { input, zones }
    }

    fn class(&self, a: &AttemptFact) -> AttemptClass {
        classify(a, self.input.campaigns.get(&a.campaign_id))
    }

    fn lead_zone(&self, a: &AttemptFact) -> Tz {
        let fallback = self
            .input
            .campaigns
            .get(&a.campaign_id)
            .and_then(|s| s.fallback_time_zone)
            .unwrap_or(Tz::UTC);
        self.zones.get(&a.lead_id).copied().unwrap_or(fallback)
    }

    /// The zone an attempt's instant is read in; `None` for lead-local labels.
    fn fixed_zone(&self) -> Option<Tz> {
        fixed_zone(self.input.query, self.input.campaigns)
    }
}

/// The zone a report's instants are read in; `None` for lead-local labels.
fn fixed_zone(q: &ReportQuery, campaigns: &BTreeMap<CampaignId, CampaignSettings>) -> Option<Tz> {
    match q.zone {
        ReportZone::Utc => Some(Tz::UTC),
        ReportZone::Zone(tz) => Some(tz),
        ReportZone::Campaign => Some(
            q.campaign
                .and_then(|c| campaigns.get(&c))
                .and_then(|s| s.fallback_time_zone)
                .unwrap_or(Tz::UTC),
        ),
        ReportZone::Lead => None,
    }
}

/// The header every report prints: its filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Filters {
    /// Start of the range, inclusive, UTC.
    pub from: DateTime<Utc>,
    /// End of the range, exclusive, UTC.
    pub to: DateTime<Utc>,
    /// The campaign, or `None` for every campaign.
    pub campaign: Option<CampaignId>,
    /// The zone of days and hours (`UTC`, `campaign`, `lead` or an IANA name).
    pub zone: String,
    /// The zone actually used for `campaign` (or `UTC`); `None` for `lead`.
    pub zone_used: Option<String>,
}

fn filters(ctx: &Ctx<'_>) -> Filters {
    filters_of(ctx.input.query, ctx.input.campaigns)
}

fn filters_of(q: &ReportQuery, campaigns: &BTreeMap<CampaignId, CampaignSettings>) -> Filters {
    Filters {
        from: q.from,
        to: q.to,
        campaign: q.campaign,
        zone: q.zone.name(),
        zone_used: fixed_zone(q, campaigns).map(|z| z.name().to_owned()),
    }
}

/// Attempts by class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AttemptCounts {
    /// Attempts reserved in range.
    pub reserved: u64,
    /// Of those, dials (accepted by the provider).
    pub dials: u64,
    /// Reserved but not placed (refused, never sent, or outcome unknown).
    pub not_placed: u64,
    /// Dials answered by anything.
    pub answered: u64,
    /// Dials answered by a person.
    pub human: u64,
    /// Dials answered by a machine or fax.
    pub machine: u64,
    /// Dials transferred.
    pub transferred: u64,
    /// Dials converted (`SALE`).
    pub converted: u64,
    /// Redials: dials whose attempt number is above 1.
    pub redials: u64,
    /// Seconds of talk time over answered dials that report one.
    pub talk_s: u64,
    /// Answered dials that report a talk time.
    pub talk_n: u64,
}

impl AttemptCounts {
    fn add(&mut self, a: &AttemptFact, c: AttemptClass) {
        let talk = a.duration_s.map_or((0, 0), |d| (u64::from(d), 1));
        self.add_n(1, a.number > 1, talk, c);
    }

    /// Adds `n` attempts of class `c` (redials when `redial`), reporting `talk.0` seconds of
    /// talk time over `talk.1` of them.
    fn add_n(&mut self, n: u64, redial: bool, talk: (u64, u64), c: AttemptClass) {
        self.reserved += n;
        if !c.dial {
            self.not_placed += n;
            return;
        }
        let count = |b: bool| if b { n } else { 0 };
        self.dials += n;
        self.redials += count(redial);
        self.answered += count(c.answered);
        self.human += count(c.human);
        self.machine += count(c.machine);
        self.transferred += count(c.transferred);
        self.converted += count(c.converted);
        if c.answered {
            self.talk_s += talk.0;
            self.talk_n += talk.1;
        }
    }

    /// Answered ÷ dials.
    pub fn connect_rate(&self) -> Rate {
        Rate::of(self.answered, self.dials)
    }

    /// Human contacts ÷ dials.
    pub fn contact_rate(&self) -> Rate {
        Rate::of(self.human, self.dials)
    }
}

mod buckets;
mod checks;
mod figures;
mod groups;

pub use buckets::*;
pub use checks::*;
pub use figures::*;
pub use groups::*;

#[cfg(test)]
mod tests;
