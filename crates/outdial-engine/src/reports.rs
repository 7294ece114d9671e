//! The report runner: reads a report's facts from the store, computes it with
//! `outdial_core::report`, and renders the one result four ways — JSON (admin API), CSV,
//! a text table (`outdial report`) and the rows a dashboard panel draws ([`ReportTable`]).
//!
//! Scope and definitions: see `outdial_core::report`. Every rendering prints the filters and
//! the formula of every rate ([`Report::formulas`]).

use chrono::{DateTime, Duration, Utc};
use outdial_core::report::{
    best_time_of, compliance, funnel, interval, kpis, least_daily_max, outcome_breakdown_of,
    AttemptCounts, AttemptFact, ComplianceEvents, EventFact, Formula, Granularity,
    HumanContactRule, LeadFact, OutcomeInput, Rate, ReportInput, ReportQuery, COMPLIANCE_FORMULAS,
    FUNNEL_FORMULAS, KPI_FORMULAS, OUTCOME_FORMULAS,
};
use outdial_core::{CampaignId, CampaignSettings, LeadId};
use outdial_store::{EventKind, Store, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;

/// Most attempts one report reads into memory (a range with more is refused: narrow it or
/// pick a campaign). At about 200 bytes a fact, 2,000,000 attempts hold about 400 MB.
/// `outcomes` and `best-time` read no attempt into memory (the store counts them in SQL) and
/// have no bound.
pub const MAX_REPORT_ATTEMPTS: usize = 2_000_000;

/// Rows read from the store per query.
const PAGE: u32 = 5_000;

/// The reports, by the name the CLI and the API take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ReportName {
    /// `outcomes`: the outcome breakdown.
    Outcomes,
    /// `kpis`: the KPIs with their definitions.
    Kpis,
    /// `hourly`: the interval report by local hour.
    Hourly,
    /// `daily`: the interval report by local day.
    Daily,
    /// `best-time`: human-contact rate by the lead's local weekday × hour.
    BestTime,
    /// `funnel`: the campaign funnel and per-pass rates.
    Funnel,
    /// `compliance`: deferrals and holds by rule, kill-switch trips, the most calls to one
    /// number, and calls outside any window (each checked against its limit).
    Compliance,
}

impl ReportName {
    /// Every report, in the order the CLI lists them.
    pub const ALL: [ReportName; 7] = [
        ReportName::Outcomes,
        ReportName::Kpis,
        ReportName::Hourly,
        ReportName::Daily,
        ReportName::BestTime,
        ReportName::Funnel,
        ReportName::Compliance,
    ];

    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportName::Outcomes => "outcomes",
            ReportName::Kpis => "kpis",
            ReportName::Hourly => "hourly",
            ReportName::Daily => "daily",
            ReportName::BestTime => "best-time",
            ReportName::Funnel => "funnel",
            ReportName::Compliance => "compliance",
        }
    }

    /// Reads a name.
    ///
    /// # Errors
    /// A message listing the names when `s` is none of them.
    pub fn parse(s: &str) -> Result<ReportName, String> {
        ReportName::ALL
            .into_iter()
            .find(|n| n.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = ReportName::ALL.iter().map(|n| n.as_str()).collect();
                format!("unknown report '{s}'; the reports are {}", names.join(", "))
            })
    }
}

/// Why a report could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// `from` is not before `to`.
    #[error("the range is empty: from ({from}) must be before to ({to})")]
    EmptyRange {
        /// Start.
        from: DateTime<Utc>,
        /// End.
        to: DateTime<Utc>,
    },
    /// More than [`MAX_REPORT_ATTEMPTS`] attempts in range.
    #[error(
        "more than {MAX_REPORT_ATTEMPTS} attempts in the range; narrow it or choose a campaign"
    )]
    TooLarge,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A computed report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Report {
    /// `outcomes`.
    Outcomes(outdial_core::report::OutcomeBreakdown),
    /// `kpis`.
    Kpis(Box<outdial_core::report::Kpis>),
    /// `hourly` and `daily`.
    Interval(outdial_core::report::Interval),
    /// `best-time`.
    BestTime(outdial_core::report::BestTime),
    /// `funnel`.
    Funnel(outdial_core::report::Funnel),
    /// `compliance`.
    Compliance(outdial_core::report::Compliance),
}

/// Reads the facts of `query` from the store and computes report `name` at `now` (UTC).
///
/// `outcomes` and `best-time` read the store's aggregated rows (`Reports::outcome_groups`,
/// `lead_scope_groups`, `leads_with_recent_dials`, `dial_buckets`): a few thousand rows
/// whatever the range holds. The others read every attempt and lead in scope.
///
/// # Errors
/// [`ReportError::EmptyRange`] when `from >= to`, [`ReportError::TooLarge`] beyond
/// [`MAX_REPORT_ATTEMPTS`] (never for `outcomes` and `best-time`), [`ReportError::Store`]
/// when a read fails.
pub async fn run_report(
    store: &dyn Store,
    name: ReportName,
    query: &ReportQuery,
    now: DateTime<Utc>,
) -> Result<Report, ReportError> {
    if query.from >= query.to {
        return Err(ReportError::EmptyRange {
            from: query.from,
            to: query.to,
        });
    }
    let campaigns: BTreeMap<CampaignId, CampaignSettings> = store
        .campaigns()
        .await?
        .into_iter()
        .map(|c| (c.id, c.settings))
        .collect();
    match name {
        ReportName::Outcomes => return outcomes(store, query, &campaigns, now).await,
        ReportName::BestTime => {
            let rule = HumanContactRule::new(&campaigns);
            let buckets = store
                .dial_buckets(query.campaign, query.from, query.to, &rule)
                .await?;
            return Ok(Report::BestTime(best_time_of(query, &campaigns, &buckets)));
        }
        _ => {}
    }
    let attempts = read_attempts(store, query.campaign, query.from, query.to).await?;
    let mut leads: Vec<LeadFact> = Vec::new();
    let mut after = LeadId(0);
    loop {
        let page = store
            .leads_in_report_scope(query.campaign, query.from, query.to, after, PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        leads.extend(page.iter().map(|l| l.report_fact()));
    }
    let input = ReportInput {
        query,
        attempts: &attempts,
        leads: &leads,
        campaigns: &campaigns,
        recent: &[],
        now,
    };
    Ok(match name {
        ReportName::Outcomes | ReportName::BestTime => unreachable!("answered above"),
        ReportName::Kpis => Report::Kpis(Box::new(kpis(&input))),
        ReportName::Hourly => Report::Interval(interval(&input, Granularity::Hour)),
        ReportName::Daily => Report::Interval(interval(&input, Granularity::Day)),
        ReportName::Funnel => Report::Funnel(funnel(&input)),
        ReportName::Compliance => {
            let events = ComplianceEvents {
                deferred: read_events(store, EventKind::LeadRescheduled, query.campaign, query)
                    .await?,
                held: read_events(store, EventKind::LeadPaused, query.campaign, query).await?,
                // Trips are not tied to a lead: every scope's, whatever the campaign.
                kill_switch_trips: read_events(store, EventKind::KillSwitchTripped, None, query)
                    .await?,
            };
            Report::Compliance(compliance(&input, &events))
        }
    })
}

/// The outcome breakdown from the store's aggregated rows: attempts counted by class, leads
/// in scope by status, and the dials of the last 26 hours of the leads that may have reached
/// their daily maximum.
async fn outcomes(
    store: &dyn Store,
    query: &ReportQuery,
    campaigns: &BTreeMap<CampaignId, CampaignSettings>,
    now: DateTime<Utc>,
) -> Result<Report, ReportError> {
    let (c, from, to) = (query.campaign, query.from, query.to);
    let attempts = store.outcome_groups(c, from, to).await?;
    let leads = store.lead_scope_groups(c, from, to).await?;
    let recent = store
        .leads_with_recent_dials(
            c,
            from,
            to,
            now - Duration::hours(26),
            now,
            least_daily_max(campaigns),
        )
        .await?;
    Ok(Report::Outcomes(outcome_breakdown_of(&OutcomeInput {
        query,
        attempts: &attempts,
        leads: &leads,
        recent: &recent,
        campaigns,
        now,
    })))
}

async fn read_events(
    store: &dyn Store,
    kind: EventKind,
    campaign: Option<CampaignId>,
    query: &ReportQuery,
) -> Result<Vec<EventFact>, ReportError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .events_between(kind.as_str(), campaign, query.from, query.to, after, PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some((last.at, last.id));
        out.extend(page.into_iter().map(|e| EventFact {
            at: e.at,
            lead_id: e.lead_id,
            source: e.source,
            detail: e.detail,
        }));
        if out.len() > MAX_REPORT_ATTEMPTS {
            return Err(ReportError::TooLarge);
        }
    }
    Ok(out)
}

async fn read_attempts(
    store: &dyn Store,
    campaign: Option<CampaignId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<AttemptFact>, ReportError> {
    let mut out: Vec<AttemptFact> = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .attempts_reserved_between(campaign, from, to, after, PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some((last.reserved_at, last.id));
        out.extend(page.iter().map(|a| a.report_fact()));
        if out.len() > MAX_REPORT_ATTEMPTS {
            return Err(ReportError::TooLarge);
        }
    }
    Ok(out)
}

/// Reads a range bound: an RFC 3339 instant (`2026-03-08T05:00:00Z`,
/// `2026-03-08T00:00:00-05:00`) or a date (`2026-03-08`), read as local midnight in `tz`
/// (the first valid instant of the day where a clock change skips midnight).
///
/// # Errors
/// A message naming the value when it is neither.
pub fn range_bound(s: &str, tz: chrono_tz::Tz) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| outdial_core::schedule::local_instant(tz, d, chrono::NaiveTime::MIN))
        .map_err(|_| {
            format!("'{s}' is neither an RFC 3339 instant (2026-03-08T05:00:00Z) nor a date (2026-03-08)")
        })
}

/// The zone a date bound (`2026-03-08`) is read in for `zone`: the named zone, the
/// campaign's fallback zone for `campaign`, else UTC (`lead` reads dates in UTC).
pub fn zone_of_dates(
    zone: outdial_core::report::ReportZone,
    campaign: Option<&CampaignSettings>,
) -> chrono_tz::Tz {
    use outdial_core::report::ReportZone;
    match zone {
        ReportZone::Zone(tz) => tz,
        ReportZone::Campaign => campaign
            .and_then(|c| c.fallback_time_zone)
            .unwrap_or(chrono_tz::Tz::UTC),
        ReportZone::Utc | ReportZone::Lead => chrono_tz::Tz::UTC,
    }
}

/// A report as one table: what the CSV, the text table and a dashboard panel show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportTable {
    /// The report's name.
    pub name: &'static str,
    /// Filter lines (`from: …`, `to: …`, `campaign: …`, `zone: …`).
    pub filters: Vec<String>,
    /// `name = formula` lines.
    pub formulas: Vec<String>,
    /// Column names, in the documented order.
    pub columns: Vec<&'static str>,
    /// Rows; each as long as `columns`. An absent value is empty.
    pub rows: Vec<Vec<String>>,
}

fn rate(r: &Rate) -> String {
    r.value.map(|v| format!("{v:.4}")).unwrap_or_default()
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

const COUNT_NAMES: [&str; 10] = [
    "reserved",
    "dials",
    "not_placed",
    "answered",
    "human",
    "machine",
    "transferred",
    "converted",
    "redials",
    "talk_s",
];

fn counts(c: &AttemptCounts) -> [u64; 10] {
    [
        c.reserved,
        c.dials,
        c.not_placed,
        c.answered,
        c.human,
        c.machine,
        c.transferred,
        c.converted,
        c.redials,
        c.talk_s,
    ]
}

impl Report {
    /// The report's name.
    pub fn name(&self) -> &'static str {
        match self {
            Report::Outcomes(_) => ReportName::Outcomes.as_str(),
            Report::Kpis(_) => ReportName::Kpis.as_str(),
            Report::Interval(i) => match i.granularity {
                Granularity::Hour => ReportName::Hourly.as_str(),
                Granularity::Day => ReportName::Daily.as_str(),
            },
            Report::BestTime(_) => ReportName::BestTime.as_str(),
            Report::Funnel(_) => ReportName::Funnel.as_str(),
            Report::Compliance(_) => ReportName::Compliance.as_str(),
        }
    }

    /// The definition of every figure the report shows.
    pub fn formulas(&self) -> Vec<Formula> {
        let kpi = |names: &[&str]| -> Vec<Formula> {
            KPI_FORMULAS
                .iter()
                .filter(|f| names.contains(&f.name))
                .cloned()
                .collect()
        };
        match self {
            Report::Outcomes(_) => OUTCOME_FORMULAS.to_vec(),
            Report::Kpis(_) => KPI_FORMULAS.to_vec(),
            Report::Interval(_) => kpi(&["connect rate", "contact rate"]),
            Report::BestTime(_) => vec![Formula {
                name: "human rate",
                formula: "human-answered / dials, by the lead's local weekday and hour \
                          (informs; never widens a calling window)",
            }],
            Report::Funnel(_) => FUNNEL_FORMULAS.to_vec(),
            Report::Compliance(_) => COMPLIANCE_FORMULAS.to_vec(),
        }
    }

    /// The report as JSON: `{"report": name, "formulas": [...], ...the report's fields}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("reports serialise");
        if let Some(map) = v.as_object_mut() {
            map.insert("report".into(), self.name().into());
            map.insert(
                "formulas".into(),
                serde_json::to_value(self.formulas()).expect("formulas serialise"),
            );
        }
        v
    }

    fn filters(&self) -> &outdial_core::report::Filters {
        match self {
            Report::Outcomes(r) => &r.filters,
            Report::Kpis(r) => &r.filters,
            Report::Interval(r) => &r.filters,
            Report::BestTime(r) => &r.filters,
            Report::Funnel(r) => &r.filters,
            Report::Compliance(r) => &r.filters,
        }
    }

    /// The report as one table. Column orders:
    /// - `outcomes`: `section, name, count` (sections `leads`, `done`, `attempts`,
    ///   `call_status`, `disposition`);
    /// - `kpis`: `kpi, value, numerator, denominator, formula`;
    /// - `hourly`, `daily`: `bucket, start, end, hours, reserved, dials, not_placed, answered,
    ///   human, machine, transferred, converted, redials, talk_s, connect_rate, contact_rate`;
    /// - `best-time`: `weekday, hour, dials, human, human_rate`;
    /// - `funnel`: `section, name, count, answered, human, rate` (sections `stage` with the
    ///   rate of the previous stage, `leads`, `pass` with the pass's contact rate);
    /// - `compliance`: `section, name, value, limit, ok` (sections `check` with its limit and
    ///   `true`/`false`, `deferred`, `deferred_zone`, `held`, `kill_switch` with each trip's
    ///   instant and detail).
    ///
    /// Rates are fractions with 4 decimals; times RFC 3339 with the zone's offset.
    pub fn table(&self) -> ReportTable {
        let f = self.filters();
        let filters = vec![
            format!("from: {} (inclusive)", f.from.to_rfc3339()),
            format!("to: {} (exclusive)", f.to.to_rfc3339()),
            format!(
                "campaign: {}",
                f.campaign.map_or("all".to_string(), |c| c.to_string())
            ),
            format!(
                "zone: {}{}",
                f.zone,
                f.zone_used
                    .as_ref()
                    .filter(|z| **z != f.zone)
                    .map(|z| format!(" ({z})"))
                    .unwrap_or_default()
            ),
        ];
        let formulas = self
            .formulas()
            .iter()
            .map(|x| format!("{} = {}", x.name, x.formula))
            .collect();
        let (columns, rows) = match self {
            Report::Outcomes(o) => {
                let mut rows = Vec::new();
                let mut push = |s: &str, n: &str, v: u64| {
                    rows.push(vec![s.to_string(), n.to_string(), v.to_string()])
                };
                push("leads", "in_scope", o.leads_in_scope);
                push("leads", "imported", o.leads_imported);
                push("leads", "still_redialing", o.still_redialing);
                push("leads", "paused", o.paused);
                push(
                    "leads",
                    "reached_daily_max_today",
                    o.reached_daily_max_today,
                );
                for (k, v) in &o.done_by_reason {
                    push("done", k, *v);
                }
                for (k, v) in COUNT_NAMES.iter().zip(counts(&o.attempts)) {
                    push("attempts", k, v);
                }
                for (k, v) in &o.by_call_status {
                    push("call_status", k, *v);
                }
                for (k, v) in &o.by_disposition {
                    push("disposition", k, *v);
                }
                (vec!["section", "name", "count"], rows)
            }
            Report::Kpis(k) => {
                let r = |name: &str, x: &Rate| {
                    vec![
                        name.to_string(),
                        rate(x),
                        x.numerator.to_string(),
                        x.denominator.to_string(),
                        formula(name),
                    ]
                };
                let rows = vec![
                    r("connect rate", &k.connect_rate),
                    r("contact rate", &k.contact_rate),
                    r("lead contact rate", &k.lead_contact_rate),
                    r("transfer rate", &k.transfer_rate),
                    r("conversion", &k.conversion_rate),
                    r("answering-machine rate", &k.answering_machine_rate),
                    r("list penetration", &k.list_penetration),
                    vec![
                        "attempts per lead (mean)".into(),
                        opt(k.attempts_per_lead_mean),
                        k.attempts.dials.to_string(),
                        String::new(),
                        formula("attempts per lead"),
                    ],
                    vec![
                        "attempts per lead (max)".into(),
                        k.attempts_per_lead_max.to_string(),
                        String::new(),
                        String::new(),
                        formula("attempts per lead"),
                    ],
                    vec![
                        "average talk time (s)".into(),
                        opt(k.average_talk_time_s),
                        k.attempts.talk_s.to_string(),
                        k.attempts.talk_n.to_string(),
                        formula("average talk time"),
                    ],
                    r("priced dials", &k.priced_dials),
                    vec![
                        "cost per attempt".into(),
                        opt(k.cost_per_attempt),
                        opt(k.cost_total),
                        k.priced_dials.numerator.to_string(),
                        cost_formula(k),
                    ],
                    vec![
                        "cost per contact".into(),
                        opt(k.cost_per_contact),
                        opt(k.cost_total),
                        k.priced_contacts.to_string(),
                        cost_formula(k),
                    ],
                ];
                (
                    vec!["kpi", "value", "numerator", "denominator", "formula"],
                    rows,
                )
            }
            Report::Interval(i) => {
                let mut columns = vec!["bucket", "start", "end", "hours"];
                columns.extend(COUNT_NAMES);
                columns.extend(["connect_rate", "contact_rate"]);
                let rows = i
                    .rows
                    .iter()
                    .map(|r| {
                        let mut row = vec![
                            r.bucket.clone(),
                            opt(r.start.map(|t| t.to_rfc3339())),
                            opt(r.end.map(|t| t.to_rfc3339())),
                            opt(r.hours),
                        ];
                        row.extend(counts(&r.attempts).iter().map(u64::to_string));
                        row.push(rate(&r.connect_rate));
                        row.push(rate(&r.contact_rate));
                        row
                    })
                    .collect();
                (columns, rows)
            }
            Report::BestTime(b) => (
                vec!["weekday", "hour", "dials", "human", "human_rate"],
                b.cells
                    .iter()
                    .map(|c| {
                        vec![
                            c.weekday.to_string(),
                            c.hour.to_string(),
                            c.dials.to_string(),
                            c.human.to_string(),
                            rate(&c.human_rate),
                        ]
                    })
                    .collect(),
            ),
            Report::Funnel(fu) => {
                let mut rows: Vec<Vec<String>> = fu
                    .stages
                    .iter()
                    .map(|s| {
                        vec![
                            "stage".into(),
                            s.stage.into(),
                            s.leads.to_string(),
                            String::new(),
                            String::new(),
                            rate(&s.of_previous),
                        ]
                    })
                    .collect();
                for (n, v) in [("exhausted", fu.exhausted), ("pending", fu.pending)] {
                    rows.push(vec![
                        "leads".into(),
                        n.into(),
                        v.to_string(),
                        String::new(),
                        String::new(),
                        String::new(),
                    ]);
                }
                for p in &fu.passes {
                    rows.push(vec![
                        "pass".into(),
                        p.pass.clone(),
                        p.dials.to_string(),
                        p.answered.to_string(),
                        p.human.to_string(),
                        rate(&p.contact_rate),
                    ]);
                }
                (
                    vec!["section", "name", "count", "answered", "human", "rate"],
                    rows,
                )
            }
            Report::Compliance(c) => {
                let mut rows: Vec<Vec<String>> = c
                    .checks
                    .iter()
                    .map(|k| {
                        vec![
                            "check".into(),
                            k.name.into(),
                            k.value.to_string(),
                            opt(k.limit),
                            k.ok.to_string(),
                        ]
                    })
                    .collect();
                let mut counted = |section: &str, map: &BTreeMap<String, u64>| {
                    for (k, v) in map {
                        rows.push(vec![
                            section.into(),
                            k.clone(),
                            v.to_string(),
                            String::new(),
                            String::new(),
                        ]);
                    }
                };
                counted("deferred", &c.deferred_by_rule);
                counted("deferred_zone", &c.deferred_by_zone);
                counted("held", &c.held_by_rule);
                rows.push(vec![
                    "held".into(),
                    "operator".into(),
                    c.held_by_operator.to_string(),
                    String::new(),
                    String::new(),
                ]);
                rows.push(vec![
                    "kill_switch".into(),
                    "trips".into(),
                    c.kill_switch_trips.to_string(),
                    String::new(),
                    String::new(),
                ]);
                for (at, detail) in &c.kill_switch_trip_details {
                    rows.push(vec![
                        "kill_switch".into(),
                        at.to_rfc3339(),
                        detail.clone(),
                        String::new(),
                        String::new(),
                    ]);
                }
                (vec!["section", "name", "value", "limit", "ok"], rows)
            }
        };
        ReportTable {
            name: self.name(),
            filters,
            formulas,
            columns,
            rows,
        }
    }
}

/// The cost formula with the currency the figures are in (or why there is none).
fn cost_formula(k: &outdial_core::report::Kpis) -> String {
    let currency = match (&k.cost_currency, k.priced_dials.numerator) {
        (Some(c), _) => c.clone(),
        (None, 0) => "no dial has a price yet".into(),
        (None, _) => "prices in more than one currency: not added".into(),
    };
    format!("{} ({currency})", formula("cost"))
}

fn formula(name: &str) -> String {
    KPI_FORMULAS
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.formula.to_string())
        .unwrap_or_default()
}

/// A CSV field that a spreadsheet would read as a formula (it begins with `=`, `+`, `-`,
/// `@`, a tab or a carriage return) gets a leading `'`, so it is shown as text (OWASP, "CSV
/// Injection": <https://owasp.org/www-community/attacks/CSV_Injection>).
pub fn neutralise_formula(field: &str) -> std::borrow::Cow<'_, str> {
    match field.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{field}").into(),
        _ => field.into(),
    }
}

impl ReportTable {
    /// RFC 4180 CSV (UTF-8, CRLF line ends, a header row of [`ReportTable::columns`]), every
    /// field passed through [`neutralise_formula`]. The filters and formulas are not in the
    /// CSV (they are in the JSON and the text table).
    pub fn to_csv(&self) -> String {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        w.write_record(&self.columns).expect("writing to memory");
        for row in &self.rows {
            w.write_record(row.iter().map(|f| neutralise_formula(f).into_owned()))
                .expect("writing to memory");
        }
        String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 in, UTF-8 out")
    }

    /// A text table for a terminal: the report's name, its filters and formulas, then the
    /// columns aligned.
    pub fn to_text(&self) -> String {
        let mut out = format!("report: {}\n", self.name);
        for f in &self.filters {
            out.push_str(&format!("{f}\n"));
        }
        for f in &self.formulas {
            out.push_str(&format!("  {f}\n"));
        }
        out.push('\n');
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let mut s = String::new();
            for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
                if i > 0 {
                    s.push_str("  ");
                }
                s.push_str(&format!("{cell:<w$}"));
            }
            s.trim_end().to_string() + "\n"
        };
        out.push_str(&line(self.columns.clone()));
        for row in &self.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_fields_are_neutralised() {
        assert_eq!(
            neutralise_formula("=HYPERLINK(\"x\")"),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(neutralise_formula("+1"), "'+1");
        assert_eq!(neutralise_formula("-2"), "'-2");
        assert_eq!(neutralise_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise_formula("SALE"), "SALE");
        let t = ReportTable {
            name: "x",
            filters: vec![],
            formulas: vec![],
            columns: vec!["a", "b"],
            rows: vec![vec!["=1+1".into(), "say \"hi\", then".into()]],
        };
        assert_eq!(t.to_csv(), "a,b\r\n'=1+1,\"say \"\"hi\"\", then\"\r\n");
    }

    #[test]
    fn bounds_read_instants_and_local_dates() {
        let ny = chrono_tz::America::New_York;
        assert_eq!(
            range_bound("2026-03-08", ny).unwrap().to_rfc3339(),
            "2026-03-08T05:00:00+00:00"
        );
        assert_eq!(
            range_bound("2026-03-09", ny).unwrap().to_rfc3339(),
            "2026-03-09T04:00:00+00:00"
        );
        assert_eq!(
            range_bound("2026-03-08T00:00:00-05:00", chrono_tz::Tz::UTC).unwrap(),
            range_bound("2026-03-08", ny).unwrap()
        );
        assert!(range_bound("yesterday", ny)
            .unwrap_err()
            .contains("yesterday"));
    }

    #[test]
    fn names_round_trip_and_unknown_names_list_the_reports() {
        for n in ReportName::ALL {
            assert_eq!(ReportName::parse(n.as_str()), Ok(n));
        }
        let e = ReportName::parse("sales").unwrap_err();
        assert!(e.contains("outcomes") && e.contains("best-time"), "{e}");
    }
}
