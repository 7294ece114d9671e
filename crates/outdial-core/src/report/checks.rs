//! The compliance report: deferrals and holds by rule, kill-switch trips, and the calls
//! checked against the windows and caps.

use super::*;

/// One event the compliance report reads: a deferral (`lead.rescheduled`), a hold by the
/// rules (`lead.paused` from the scheduler) or a kill-switch trip (`kill_switch.tripped`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFact {
    /// When it was recorded, UTC.
    pub at: DateTime<Utc>,
    /// Its lead, if any.
    pub lead_id: Option<LeadId>,
    /// Who wrote it (`scheduler`, `operator`, `operator:api`, `safety`, …).
    pub source: String,
    /// Its text: the blocks' reasons joined by `; `, or a kill switch's JSON detail.
    pub detail: String,
}

/// The events of a compliance report's range.
#[derive(Debug, Clone, Default)]
pub struct ComplianceEvents {
    /// `lead.rescheduled`: a lead due but blocked at dial time, moved to its next allowed
    /// instant.
    pub deferred: Vec<EventFact>,
    /// `lead.paused`: a lead held (by the rules: source `scheduler`; or by an operator).
    pub held: Vec<EventFact>,
    /// `kill_switch.tripped`.
    pub kill_switch_trips: Vec<EventFact>,
}

/// One compliance check: a measured figure against its limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComplianceCheck {
    /// What is checked.
    pub name: &'static str,
    /// The figure measured.
    pub value: u64,
    /// The most allowed (`None`: no limit configured).
    pub limit: Option<u64>,
    /// `value <= limit` (true without a limit).
    pub ok: bool,
}

/// The compliance report of a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Compliance {
    /// The filters.
    pub filters: Filters,
    /// Deferrals by rule (each rule of a deferral counted once): `outside_window`,
    /// `federal_hours`, `state`, `daily_cap`, `rolling_cap`, `dnc`, …
    pub deferred_by_rule: BTreeMap<String, u64>,
    /// Deferrals by calling-hours rule and zone: `outside_window America/Chicago`.
    pub deferred_by_zone: BTreeMap<String, u64>,
    /// Leads held by the rules (paused by the scheduler), by rule.
    pub held_by_rule: BTreeMap<String, u64>,
    /// Leads paused by an operator.
    pub held_by_operator: u64,
    /// Kill-switch trips in range (every scope: trips are not tied to a lead).
    pub kill_switch_trips: u64,
    /// The trips: when, and the stored detail (scope and reason).
    pub kill_switch_trip_details: Vec<(DateTime<Utc>, String)>,
    /// Most dials to one number in one local day (the lead's first zone).
    pub max_calls_one_number_local_day: u64,
    /// Most dials to one number in any rolling 24 hours.
    pub max_calls_one_number_24h: u64,
    /// Dials placed when the campaign's calling window was closed in one of the lead's
    /// candidate zones (must be 0).
    pub calls_outside_window: u64,
    /// Dials placed outside the federal 08:00–21:00 local hours in one of the lead's
    /// candidate zones (47 CFR 64.1200(c)(1); must be 0).
    pub calls_outside_federal_hours: u64,
    /// Dials to a lead with no known zone (must be 0).
    pub calls_without_zone: u64,
    /// The checks: each figure against its limit.
    pub checks: Vec<ComplianceCheck>,
}

/// The compliance report's definitions.
pub const COMPLIANCE_FORMULAS: &[Formula] = &[
    Formula {
        name: "deferred",
        formula: "lead.rescheduled events in range: a due lead blocked at dial time, by each rule it gave",
    },
    Formula {
        name: "max calls to one number",
        formula: "dials to one number in one local day (lead's first zone) / in any rolling 24 h, over the dials in range",
    },
    Formula {
        name: "calls outside window",
        formula: "dials whose reservation instant is outside the campaign window, or 08:00-21:00, in any of the lead's candidate zones",
    },
];

/// The reason of an event's detail: the `reason` of a JSON detail (`lead.rescheduled` stores
/// `{"next_attempt_at": …, "reason": …}`), else the detail itself.
fn reason_text(detail: &str) -> String {
    serde_json::from_str::<serde_json::Value>(detail)
        .ok()
        .and_then(|v| v.get("reason")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| detail.to_owned())
}

/// The blocks of a joined reason: split at `; ` outside brackets (a state rule's `[source]`
/// may itself hold `; `).
fn split_reasons(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    let bytes = text.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'[' | b'(' => depth += 1,
            b']' | b')' => depth -= 1,
            b';' if depth == 0 && bytes.get(i + 1) == Some(&b' ') => {
                out.push(&text[start..i]);
                start = i + 2;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// The compliance report. `events` are the range's events of the campaign (or all).
pub fn compliance(input: &ReportInput<'_>, events: &ComplianceEvents) -> Compliance {
    let ctx = Ctx::new(input);
    let mut deferred_by_rule: BTreeMap<String, u64> = BTreeMap::new();
    let mut deferred_by_zone: BTreeMap<String, u64> = BTreeMap::new();
    for e in &events.deferred {
        let mut rules: Vec<(&str, Option<String>)> = split_reasons(&reason_text(&e.detail))
            .into_iter()
            .map(crate::schedule::Block::rule_of_text)
            .collect();
        rules.sort();
        rules.dedup();
        let mut counted: HashSet<&str> = HashSet::new();
        for (rule, zone) in rules {
            if counted.insert(rule) {
                *deferred_by_rule.entry(rule.to_owned()).or_default() += 1;
            }
            if let (Some(z), "outside_window" | "federal_hours" | "state") = (zone, rule) {
                *deferred_by_zone.entry(format!("{rule} {z}")).or_default() += 1;
            }
        }
    }
    let mut held_by_rule: BTreeMap<String, u64> = BTreeMap::new();
    let mut held_by_operator = 0;
    for e in &events.held {
        if e.source.starts_with("operator") {
            held_by_operator += 1;
        } else {
            let (rule, _) = crate::schedule::Block::rule_of_text(&reason_text(&e.detail));
            *held_by_rule.entry(rule.to_owned()).or_default() += 1;
        }
    }
    // Calls per number: by local day and in rolling 24 h.
    let leads: HashMap<LeadId, &LeadFact> = input.leads.iter().map(|l| (l.id, l)).collect();
    let mut per_number: HashMap<&E164, Vec<DateTime<Utc>>> = HashMap::new();
    let mut per_day: HashMap<(&E164, chrono::NaiveDate), u64> = HashMap::new();
    let (mut outside_window, mut outside_federal, mut without_zone) = (0, 0, 0);
    let federal = crate::schedule::CallingWindow::federal();
    for a in input.attempts.iter().filter(|a| a.placed_at.is_some()) {
        per_number.entry(&a.phone).or_default().push(a.reserved_at);
        let day = a.reserved_at.with_timezone(&ctx.lead_zone(a)).date_naive();
        *per_day.entry((&a.phone, day)).or_default() += 1;
        let settings = input.campaigns.get(&a.campaign_id);
        let zones = match leads.get(&a.lead_id) {
            Some(l) => {
                whereabouts(
                    &l.phone,
                    l.time_zone,
                    l.state.as_deref(),
                    settings.and_then(|s| s.fallback_time_zone),
                )
                .zones
            }
            None => Vec::new(),
        };
        if zones.is_empty() {
            without_zone += 1;
            continue;
        }
        if let Some(s) = settings {
            if zones
                .iter()
                .any(|z| !s.calling_window.contains(a.reserved_at, *z))
            {
                outside_window += 1;
            }
        }
        if zones.iter().any(|z| !federal.contains(a.reserved_at, *z)) {
            outside_federal += 1;
        }
    }
    let mut max_24h = 0u64;
    for times in per_number.values_mut() {
        times.sort();
        let mut start = 0;
        for end in 0..times.len() {
            while times[end] - times[start] >= Duration::hours(24) {
                start += 1;
            }
            max_24h = max_24h.max((end - start + 1) as u64);
        }
    }
    let max_day = per_day.values().copied().max().unwrap_or(0);
    // The limits of the campaign (or the strictest over all campaigns).
    let scoped: Vec<&CampaignSettings> = match input.query.campaign {
        Some(c) => input.campaigns.get(&c).into_iter().collect(),
        None => input.campaigns.values().collect(),
    };
    let day_limit = scoped
        .iter()
        .map(|s| u64::from(s.redial.max_per_local_day))
        .min();
    let rolling_limit = scoped
        .iter()
        .filter_map(|s| s.caps.per_number_24h.map(u64::from))
        .min();
    let check = |name, value: u64, limit: Option<u64>| ComplianceCheck {
        name,
        value,
        limit,
        ok: limit.is_none_or(|l| value <= l),
    };
    let checks = vec![
        check("calls outside any window", outside_window, Some(0)),
        check("calls outside federal hours", outside_federal, Some(0)),
        check("calls to a lead without a time zone", without_zone, Some(0)),
        check("max calls to one number in a local day", max_day, day_limit),
        check("max calls to one number in 24 h", max_24h, rolling_limit),
    ];
    Compliance {
        filters: filters(&ctx),
        deferred_by_rule,
        deferred_by_zone,
        held_by_rule,
        held_by_operator,
        kill_switch_trips: events.kill_switch_trips.len() as u64,
        kill_switch_trip_details: events
            .kill_switch_trips
            .iter()
            .map(|e| (e.at, e.detail.clone()))
            .collect(),
        max_calls_one_number_local_day: max_day,
        max_calls_one_number_24h: max_24h,
        calls_outside_window: outside_window,
        calls_outside_federal_hours: outside_federal,
        calls_without_zone: without_zone,
        checks,
    }
}
