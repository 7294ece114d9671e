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
    let dial = a.placed_at.is_some();
    let answered = dial
        && (a.answered_at.is_some()
            || matches!(
                a.call_status,
                Some(CallStatus::InProgress | CallStatus::Completed)
            ));
    let flags = match (&a.disposition, settings) {
        (Some(d), Some(s)) => s.dispositions.flags(d),
        (Some(d), None) => crate::DispositionCatalog::default().flags(d),
        (None, _) => Default::default(),
    };
    let machine = answered && a.answered_by.is_some_and(|b| b.is_machine());
    let human = answered && !machine && (a.answered_by == Some(AnsweredBy::Human) || flags.human);
    let code = a.disposition.as_ref().map(|d| d.as_str());
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
    let reason = lead.status_reason.as_deref().unwrap_or("");
    if reason.starts_with("attempt limit reached") {
        return "attempt_limit";
    }
    if reason.contains("treated as BAD_NUMBER") {
        return "BAD_NUMBER";
    }
    match lead.disposition.as_ref().map(|d| d.as_str()) {
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
        match self.input.query.zone {
            ReportZone::Utc => Some(Tz::UTC),
            ReportZone::Zone(tz) => Some(tz),
            ReportZone::Campaign => Some(
                self.input
                    .query
                    .campaign
                    .and_then(|c| self.input.campaigns.get(&c))
                    .and_then(|s| s.fallback_time_zone)
                    .unwrap_or(Tz::UTC),
            ),
            ReportZone::Lead => None,
        }
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
    let q = ctx.input.query;
    Filters {
        from: q.from,
        to: q.to,
        campaign: q.campaign,
        zone: q.zone.name(),
        zone_used: ctx.fixed_zone().map(|z| z.name().to_owned()),
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
        self.reserved += 1;
        if !c.dial {
            self.not_placed += 1;
            return;
        }
        self.dials += 1;
        self.redials += u64::from(a.number > 1);
        self.answered += u64::from(c.answered);
        self.human += u64::from(c.human);
        self.machine += u64::from(c.machine);
        self.transferred += u64::from(c.transferred);
        self.converted += u64::from(c.converted);
        if c.answered {
            if let Some(d) = a.duration_s {
                self.talk_s += u64::from(d);
                self.talk_n += 1;
            }
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

/// The outcome breakdown of a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutcomeBreakdown {
    /// The filters.
    pub filters: Filters,
    /// Leads in scope.
    pub leads_in_scope: u64,
    /// Of those, imported in range.
    pub leads_imported: u64,
    /// Still being redialed (active, or dialing now).
    pub still_redialing: u64,
    /// Paused (DNC at import, no time zone, refused destination, operator…).
    pub paused: u64,
    /// Done, by reason: `SALE`, `DNC`, `BAD_NUMBER`, `other_terminal`, `attempt_limit`.
    pub done_by_reason: BTreeMap<&'static str, u64>,
    /// Leads in scope whose dials in their local today (their first zone) reached their
    /// campaign's `max_per_local_day`, at the report's `now`.
    pub reached_daily_max_today: u64,
    /// Attempts in range by class.
    pub attempts: AttemptCounts,
    /// Attempts in range by final (or latest) call status; `not_placed` for none.
    pub by_call_status: BTreeMap<String, u64>,
    /// Attempts in range by disposition; `pending` before conclusion.
    pub by_disposition: BTreeMap<String, u64>,
}

/// The outcome breakdown.
pub fn outcome_breakdown(input: &ReportInput<'_>) -> OutcomeBreakdown {
    let ctx = Ctx::new(input);
    let q = input.query;
    let mut out = OutcomeBreakdown {
        filters: filters(&ctx),
        leads_in_scope: input.leads.len() as u64,
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
        out.leads_imported += u64::from(l.created_at >= q.from && l.created_at < q.to);
        match l.status {
            LeadStatus::Active | LeadStatus::Dialing => out.still_redialing += 1,
            LeadStatus::Paused => out.paused += 1,
            LeadStatus::Done => *out.done_by_reason.entry(done_reason(l)).or_default() += 1,
        }
    }
    for a in input.attempts {
        out.attempts.add(a, ctx.class(a));
        let status = match (a.placed_at, a.call_status) {
            (None, _) => "not_placed".to_owned(),
            (Some(_), Some(s)) => s.as_str().to_owned(),
            (Some(_), None) => "queued".to_owned(),
        };
        *out.by_call_status.entry(status).or_default() += 1;
        let d = a
            .disposition
            .as_ref()
            .map_or("pending", |d| d.as_str())
            .to_owned();
        *out.by_disposition.entry(d).or_default() += 1;
    }
    // Dials today in each lead's first zone, against its campaign's daily maximum.
    let mut today: HashMap<LeadId, u32> = HashMap::new();
    for a in input.recent.iter().filter(|a| a.placed_at.is_some()) {
        let tz = ctx.lead_zone(a);
        if a.reserved_at.with_timezone(&tz).date_naive()
            == input.now.with_timezone(&tz).date_naive()
        {
            *today.entry(a.lead_id).or_default() += 1;
        }
    }
    out.reached_daily_max_today = input
        .leads
        .iter()
        .filter(|l| {
            let max = input
                .campaigns
                .get(&l.campaign_id)
                .map_or(u32::MAX, |s| s.redial.max_per_local_day);
            today.get(&l.id).is_some_and(|n| *n >= max)
        })
        .count() as u64;
    out
}

/// The outcome breakdown's definitions.
pub const OUTCOME_FORMULAS: &[Formula] = &[
    Formula {
        name: "leads in scope",
        formula: "leads imported in [from, to) + leads with an attempt reserved in [from, to)",
    },
    Formula {
        name: "redials",
        formula: "dials in range whose attempt number is above 1 (never negative)",
    },
    Formula {
        name: "reached daily max today",
        formula: "leads in scope with dials today (lead's local day) >= campaign max_per_local_day",
    },
];

/// The KPIs of a range, each with its parts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpis {
    /// The filters.
    pub filters: Filters,
    /// Answered ÷ dials.
    pub connect_rate: Rate,
    /// Human contacts ÷ dials.
    pub contact_rate: Rate,
    /// Leads with a human contact in range ÷ leads in scope.
    pub lead_contact_rate: Rate,
    /// Transferred ÷ human contacts.
    pub transfer_rate: Rate,
    /// `SALE` ÷ human contacts.
    pub conversion_rate: Rate,
    /// Machine-answered ÷ answered.
    pub answering_machine_rate: Rate,
    /// Dials in range ÷ leads in scope.
    pub attempts_per_lead_mean: Option<f64>,
    /// Most dials in range to one lead.
    pub attempts_per_lead_max: u64,
    /// Leads in scope attempted at least once (all time) ÷ leads in scope.
    pub list_penetration: Rate,
    /// Σ talk seconds ÷ answered dials that report a talk time, in seconds.
    pub average_talk_time_s: Option<f64>,
    /// Cost per dial and per contact: `None` — outdial does not store providers' prices yet.
    pub cost_per_attempt: Option<f64>,
    /// See `cost_per_attempt`.
    pub cost_per_contact: Option<f64>,
    /// The attempt counts the rates are made of.
    pub attempts: AttemptCounts,
}

/// The KPIs' definitions, printed with every report that shows them.
pub const KPI_FORMULAS: &[Formula] = &[
    Formula {
        name: "connect rate",
        formula: "answered (person, machine or fax) / dials",
    },
    Formula {
        name: "contact rate",
        formula: "human-answered / dials",
    },
    Formula {
        name: "lead contact rate",
        formula: "leads with a human-answered dial in range / leads in scope",
    },
    Formula {
        name: "transfer rate",
        formula: "dials dispositioned TRANSFERRED / human-answered",
    },
    Formula {
        name: "conversion",
        formula: "dials dispositioned SALE / human-answered",
    },
    Formula {
        name: "answering-machine rate",
        formula: "machine- or fax-answered / answered",
    },
    Formula {
        name: "attempts per lead",
        formula: "dials in range / leads in scope (mean); most dials to one lead (max)",
    },
    Formula {
        name: "list penetration",
        formula: "leads in scope attempted at least once / leads in scope",
    },
    Formula {
        name: "average talk time",
        formula: "sum of talk seconds / answered dials with a talk time",
    },
    Formula {
        name: "cost",
        formula: "not reported: providers' prices are not stored yet",
    },
];

/// The KPIs.
pub fn kpis(input: &ReportInput<'_>) -> Kpis {
    let ctx = Ctx::new(input);
    let mut counts = AttemptCounts::default();
    let mut per_lead: HashMap<LeadId, u64> = HashMap::new();
    let mut contacted: HashSet<LeadId> = HashSet::new();
    for a in input.attempts {
        let c = ctx.class(a);
        counts.add(a, c);
        if c.dial {
            *per_lead.entry(a.lead_id).or_default() += 1;
        }
        if c.human {
            contacted.insert(a.lead_id);
        }
    }
    let leads = input.leads.len() as u64;
    let attempted = input.leads.iter().filter(|l| l.attempt_count > 0).count() as u64;
    Kpis {
        filters: filters(&ctx),
        connect_rate: counts.connect_rate(),
        contact_rate: counts.contact_rate(),
        lead_contact_rate: Rate::of(contacted.len() as u64, leads),
        transfer_rate: Rate::of(counts.transferred, counts.human),
        conversion_rate: Rate::of(counts.converted, counts.human),
        answering_machine_rate: Rate::of(counts.machine, counts.answered),
        attempts_per_lead_mean: (leads > 0)
            .then(|| (counts.dials as f64 / leads as f64 * 100.0).round() / 100.0),
        attempts_per_lead_max: per_lead.values().copied().max().unwrap_or(0),
        list_penetration: Rate::of(attempted, leads),
        average_talk_time_s: (counts.talk_n > 0)
            .then(|| (counts.talk_s as f64 / counts.talk_n as f64 * 10.0).round() / 10.0),
        cost_per_attempt: None,
        cost_per_contact: None,
        attempts: counts,
    }
}

/// One bucket of the interval report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalRow {
    /// The bucket's local start: `2026-03-08` for a day, `2026-03-08T02:00` for an hour.
    pub bucket: String,
    /// Its start as an instant with the zone's offset (`None` for lead-local buckets).
    pub start: Option<DateTime<FixedOffset>>,
    /// Its end (exclusive), with the offset then (`None` for lead-local buckets).
    pub end: Option<DateTime<FixedOffset>>,
    /// Its length in hours (23 or 25 on a clock-change day; `None` for lead-local buckets).
    pub hours: Option<f64>,
    /// The attempts in it.
    pub attempts: AttemptCounts,
    /// Answered ÷ dials.
    pub connect_rate: Rate,
    /// Human contacts ÷ dials.
    pub contact_rate: Rate,
}

/// The interval report: the attempt figures per local hour or day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interval {
    /// The filters.
    pub filters: Filters,
    /// Hours or days.
    pub granularity: Granularity,
    /// One row per bucket, in time order. In a fixed zone every bucket of the range is
    /// listed, empty or not (the first and last are cut at `from` and `to`); lead-local
    /// buckets run from the first to the last with an attempt.
    pub rows: Vec<IntervalRow>,
}

/// The local start of the bucket holding local time `t`.
fn bucket_start(t: NaiveDateTime, g: Granularity) -> NaiveDateTime {
    match g {
        Granularity::Day => t.date().and_time(NaiveTime::MIN),
        Granularity::Hour => t
            .date()
            .and_time(NaiveTime::from_hms_opt(t.hour(), 0, 0).expect("valid hour")),
    }
}

fn bucket_label(t: NaiveDateTime, g: Granularity) -> String {
    match g {
        Granularity::Day => t.format("%Y-%m-%d").to_string(),
        Granularity::Hour => t.format("%Y-%m-%dT%H:00").to_string(),
    }
}

/// The instant a fixed-zone bucket holding `at` ends: the next local day's or hour's start;
/// for an hour repeated by a fall-back change, the end of the first occurrence.
fn bucket_end(tz: Tz, at: DateTime<Utc>, g: Granularity) -> DateTime<Utc> {
    let local = at.with_timezone(&tz).naive_local();
    let start = bucket_start(local, g);
    let next = match g {
        Granularity::Day => start + Duration::days(1),
        Granularity::Hour => start + Duration::hours(1),
    };
    let end = local_instant(tz, next.date(), next.time());
    if g == Granularity::Hour {
        if let LocalResult::Ambiguous(a, b) = tz.from_local_datetime(&start) {
            // A repeated local hour (fall back): its first occurrence ends where the second
            // begins.
            let second = a.with_timezone(&Utc).max(b.with_timezone(&Utc));
            if at < second {
                return second;
            }
        }
    }
    end
}

/// The interval report.
pub fn interval(input: &ReportInput<'_>, granularity: Granularity) -> Interval {
    let ctx = Ctx::new(input);
    let q = input.query;
    let mut rows = Vec::new();
    if let Some(tz) = ctx.fixed_zone() {
        // Walk the range bucket by bucket: each boundary an instant, so nothing repeats.
        let mut bounds = Vec::new();
        let mut t = q.from;
        while t < q.to {
            let end = bucket_end(tz, t, granularity).min(q.to);
            bounds.push((t, end));
            t = end;
        }
        let mut counts = vec![AttemptCounts::default(); bounds.len()];
        for a in input.attempts {
            let i = bounds.partition_point(|(_, end)| *end <= a.reserved_at);
            if let Some(c) = counts.get_mut(i) {
                if bounds[i].0 <= a.reserved_at {
                    c.add(a, ctx.class(a));
                }
            }
        }
        for ((start, end), c) in bounds.into_iter().zip(counts) {
            let ls = start.with_timezone(&tz);
            let le = end.with_timezone(&tz);
            rows.push(IntervalRow {
                bucket: bucket_label(ls.naive_local(), granularity),
                start: Some(ls.fixed_offset()),
                end: Some(le.fixed_offset()),
                hours: Some((end - start).num_seconds() as f64 / 3600.0),
                connect_rate: c.connect_rate(),
                contact_rate: c.contact_rate(),
                attempts: c,
            });
        }
    } else {
        let mut by_label: BTreeMap<NaiveDateTime, AttemptCounts> = BTreeMap::new();
        for a in input.attempts {
            let local = a.reserved_at.with_timezone(&ctx.lead_zone(a)).naive_local();
            by_label
                .entry(bucket_start(local, granularity))
                .or_default()
                .add(a, ctx.class(a));
        }
        if let (Some(first), Some(last)) = (
            by_label.keys().next().copied(),
            by_label.keys().next_back().copied(),
        ) {
            let step = match granularity {
                Granularity::Day => Duration::days(1),
                Granularity::Hour => Duration::hours(1),
            };
            let mut t = first;
            while t <= last {
                let c = by_label.get(&t).copied().unwrap_or_default();
                rows.push(IntervalRow {
                    bucket: bucket_label(t, granularity),
                    start: None,
                    end: None,
                    hours: None,
                    connect_rate: c.connect_rate(),
                    contact_rate: c.contact_rate(),
                    attempts: c,
                });
                t += step;
            }
        }
    }
    Interval {
        filters: filters(&ctx),
        granularity,
        rows,
    }
}

/// One cell of the best-time heat map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BestTimeCell {
    /// The lead's local weekday (`Mon` … `Sun`).
    pub weekday: &'static str,
    /// The lead's local hour, 0–23.
    pub hour: u32,
    /// Dials in the cell.
    pub dials: u64,
    /// Human contacts in the cell.
    pub human: u64,
    /// Human contacts ÷ dials.
    pub human_rate: Rate,
}

/// The best-time-to-call heat map: human-contact rate by the lead's local weekday × hour.
/// It informs; it never widens a calling window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BestTime {
    /// The filters (the zone does not apply: cells are always lead-local).
    pub filters: Filters,
    /// Cells with at least one dial, Monday first, by hour.
    pub cells: Vec<BestTimeCell>,
}

fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "Mon",
        Weekday::Tue => "Tue",
        Weekday::Wed => "Wed",
        Weekday::Thu => "Thu",
        Weekday::Fri => "Fri",
        Weekday::Sat => "Sat",
        Weekday::Sun => "Sun",
    }
}

/// The best-time heat map.
pub fn best_time(input: &ReportInput<'_>) -> BestTime {
    let ctx = Ctx::new(input);
    let mut cells: BTreeMap<(u32, u32), (u64, u64)> = BTreeMap::new();
    for a in input.attempts {
        let c = ctx.class(a);
        if !c.dial {
            continue;
        }
        let local = a.reserved_at.with_timezone(&ctx.lead_zone(a));
        let cell = cells
            .entry((local.weekday().num_days_from_monday(), local.hour()))
            .or_default();
        cell.0 += 1;
        cell.1 += u64::from(c.human);
    }
    BestTime {
        filters: filters(&ctx),
        cells: cells
            .into_iter()
            .map(|((d, h), (dials, human))| BestTimeCell {
                weekday: weekday_name(
                    Weekday::try_from(d as u8).expect("num_days_from_monday is 0..7"),
                ),
                hour: h,
                dials,
                human,
                human_rate: Rate::of(human, dials),
            })
            .collect(),
    }
}

/// One stage of the campaign funnel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStage {
    /// `imported`, `eligible`, `attempted`, `answered`, `human`, `converted`.
    pub stage: &'static str,
    /// Leads that reached it.
    pub leads: u64,
    /// ÷ the previous stage's leads.
    pub of_previous: Rate,
}

/// One pass of the funnel: the 1st, 2nd, … attempt of each lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelPass {
    /// `1` … `5`, then `6+`.
    pub pass: String,
    /// Dials of that pass in range.
    pub dials: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Of those, human contacts.
    pub human: u64,
    /// Human contacts ÷ dials.
    pub contact_rate: Rate,
    /// `SALE` ÷ human contacts.
    pub conversion_rate: Rate,
}

/// The campaign funnel over the leads in scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Funnel {
    /// The filters.
    pub filters: Filters,
    /// imported → eligible → attempted → answered → human → converted.
    pub stages: Vec<FunnelStage>,
    /// Done by the attempt limit.
    pub exhausted: u64,
    /// Still to be dialed (active or dialing).
    pub pending: u64,
    /// Per-pass rates.
    pub passes: Vec<FunnelPass>,
}

/// The funnel's definitions.
pub const FUNNEL_FORMULAS: &[Formula] = &[
    Formula {
        name: "imported",
        formula: "leads in scope",
    },
    Formula {
        name: "eligible",
        formula: "leads in scope not held before a first attempt (DNC, no time zone, bad number at import)",
    },
    Formula {
        name: "attempted",
        formula: "leads with at least one attempt (all time)",
    },
    Formula {
        name: "answered / human / converted",
        formula: "leads with an answered / human-answered / SALE dial in range",
    },
    Formula {
        name: "pass N contact rate",
        formula: "human-answered / dials, over each lead's Nth attempt in range",
    },
];

/// The campaign funnel.
pub fn funnel(input: &ReportInput<'_>) -> Funnel {
    let ctx = Ctx::new(input);
    let mut answered: HashSet<LeadId> = HashSet::new();
    let mut human: HashSet<LeadId> = HashSet::new();
    let mut converted: HashSet<LeadId> = HashSet::new();
    let mut passes: BTreeMap<u32, (AttemptCounts, u64)> = BTreeMap::new();
    for a in input.attempts {
        let c = ctx.class(a);
        if c.answered {
            answered.insert(a.lead_id);
        }
        if c.human {
            human.insert(a.lead_id);
        }
        if c.converted {
            converted.insert(a.lead_id);
        }
        if c.dial {
            passes.entry(a.number.clamp(1, 6)).or_default().0.add(a, c);
        }
    }
    let imported = input.leads.len() as u64;
    let eligible = input
        .leads
        .iter()
        .filter(|l| l.attempt_count > 0 || matches!(l.status, LeadStatus::Active))
        .count() as u64;
    let attempted = input.leads.iter().filter(|l| l.attempt_count > 0).count() as u64;
    let counts = [
        ("imported", imported),
        ("eligible", eligible),
        ("attempted", attempted),
        ("answered", answered.len() as u64),
        ("human", human.len() as u64),
        ("converted", converted.len() as u64),
    ];
    let mut stages = Vec::new();
    let mut previous = None;
    for (stage, leads) in counts {
        stages.push(FunnelStage {
            stage,
            leads,
            of_previous: Rate::of(leads, previous.unwrap_or(leads)),
        });
        previous = Some(leads);
    }
    Funnel {
        filters: filters(&ctx),
        stages,
        exhausted: input
            .leads
            .iter()
            .filter(|l| l.status == LeadStatus::Done && done_reason(l) == "attempt_limit")
            .count() as u64,
        pending: input
            .leads
            .iter()
            .filter(|l| matches!(l.status, LeadStatus::Active | LeadStatus::Dialing))
            .count() as u64,
        passes: passes
            .into_iter()
            .map(|(n, (c, _))| FunnelPass {
                pass: if n >= 6 { "6+".into() } else { n.to_string() },
                dials: c.dials,
                answered: c.answered,
                human: c.human,
                contact_rate: c.contact_rate(),
                conversion_rate: Rate::of(c.converted, c.human),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests;
