//! Invariant checks of a finished run, against the carrier's ledger (ground truth: the calls
//! really placed) and the store. Used by `outdial demo` and by the end-to-end tests.

use chrono::NaiveDate;
use chrono_tz::Tz;
use outdial_carrier::LedgerEntry;
use outdial_core::compliance::StateRules;
use outdial_core::schedule::{whereabouts, LeadRules};
use outdial_core::{AttemptId, LeadId, LeadStatus, Region, E164};
use outdial_store::{Attempt, Lead, Store};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

/// One checked rule: whether it holds, and what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Rule name.
    pub name: &'static str,
    /// Whether it holds.
    pub ok: bool,
    /// Figures or the first violations.
    pub detail: String,
}

/// All checks of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Each rule.
    pub checks: Vec<Check>,
}

impl CheckReport {
    /// True when every rule holds.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// One line per rule: `ok   name: detail` or `FAIL name: detail`.
    pub fn lines(&self) -> Vec<String> {
        self.checks
            .iter()
            .map(|c| {
                format!(
                    "{} {}: {}",
                    if c.ok { "ok  " } else { "FAIL" },
                    c.name,
                    c.detail
                )
            })
            .collect()
    }

    fn push(&mut self, name: &'static str, violations: &[String], ok_detail: String) {
        let ok = violations.is_empty();
        let detail = if ok {
            ok_detail
        } else {
            let mut d = format!("{} violation(s): ", violations.len());
            d.push_str(
                &violations
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            d
        };
        self.checks.push(Check { name, ok, detail });
    }
}

/// Every lead in the store.
pub async fn all_leads(store: &dyn Store) -> anyhow::Result<Vec<Lead>> {
    let mut out = Vec::new();
    let mut after = LeadId(0);
    loop {
        let page = store.leads_after(after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        out.extend(page);
    }
    Ok(out)
}

/// Every attempt in the store.
pub async fn all_attempts(store: &dyn Store) -> anyhow::Result<Vec<Attempt>> {
    let mut out = Vec::new();
    let mut after = AttemptId(0);
    loop {
        let page = store.attempts_after(after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        out.extend(page);
    }
    Ok(out)
}

/// Calls to one number must not overlap: each call must have ended before the next began.
pub fn overlapping_calls(ledger: &[LedgerEntry]) -> Vec<String> {
    let mut by_to: BTreeMap<&str, Vec<&LedgerEntry>> = BTreeMap::new();
    for e in ledger {
        by_to.entry(e.to.as_str()).or_default().push(e);
    }
    let mut out = Vec::new();
    for (to, mut calls) in by_to {
        calls.sort_by_key(|c| c.created_at);
        for pair in calls.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let ended_before = a.ended_at.is_some_and(|end| end <= b.created_at);
            if !ended_before {
                out.push(format!(
                    "{to}: {} ({} → {}) overlaps {} (created {})",
                    a.call_sid,
                    a.created_at,
                    a.ended_at.map_or("never".into(), |e| e.to_string()),
                    b.call_sid,
                    b.created_at
                ));
            }
        }
    }
    out
}

/// Most calls to one number within one local day of any of its candidate zones, checked
/// against `cap`. `zones_of` gives a number's candidate zones.
pub fn daily_cap_violations(
    ledger: &[LedgerEntry],
    zones_of: &HashMap<String, Vec<Tz>>,
    cap: u32,
) -> (Vec<String>, u32) {
    let mut counts: HashMap<(String, Tz, NaiveDate), u32> = HashMap::new();
    for e in ledger {
        for tz in zones_of.get(&e.to).map(Vec::as_slice).unwrap_or(&[]) {
            *counts
                .entry((
                    e.to.clone(),
                    *tz,
                    e.created_at.with_timezone(tz).date_naive(),
                ))
                .or_default() += 1;
        }
    }
    let max = counts.values().copied().max().unwrap_or(0);
    let out = counts
        .into_iter()
        .filter(|(_, n)| *n > cap)
        .map(|((to, tz, day), n)| format!("{to}: {n} calls on {day} in {tz} (cap {cap})"))
        .collect();
    (out, max)
}

/// Every check of a finished run.
pub async fn check_all(
    store: &dyn Store,
    ledger: &[LedgerEntry],
    state_rules: &StateRules,
) -> anyhow::Result<CheckReport> {
    let mut report = CheckReport::default();
    let leads = all_leads(store).await?;
    let attempts = all_attempts(store).await?;
    let campaigns: HashMap<_, _> = store
        .campaigns()
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();

    let overlaps = overlapping_calls(ledger);
    report.push(
        "no overlapping calls to one number",
        &overlaps,
        format!(
            "{} calls to {} numbers",
            ledger.len(),
            ledger.iter().map(|e| &e.to).collect::<HashSet<_>>().len()
        ),
    );

    let mut zones_of: HashMap<String, Vec<Tz>> = HashMap::new();
    let mut cap = u32::MAX;
    for l in &leads {
        let c = &campaigns[&l.campaign_id];
        cap = cap.min(c.settings.redial.max_per_local_day);
        // The zones the engine applies the caps in: the number's own zones (NPA-NXX) and
        // the lead's state's, or the explicit zone; the fallback only when there is none.
        let z = whereabouts(
            &l.phone,
            l.contact.time_zone,
            l.contact.state.as_deref(),
            c.settings.fallback_time_zone,
        )
        .zones;
        zones_of.entry(l.phone.to_string()).or_default().extend(z);
    }
    let (cap_violations, max_day) = daily_cap_violations(ledger, &zones_of, cap);
    report.push(
        "per-number calls per local day within the policy",
        &cap_violations,
        format!("most calls to one number in one local day: {max_day} (cap {cap})"),
    );

    // Every call must have been allowed by every rule (federal hours, campaign window, state
    // hours, holidays, blackout dates, daily and rolling caps, Regulation F, minimum gap) at
    // the instant the carrier created it, given the calls to that number before it.
    let mut rule_violations = Vec::new();
    let mut by_number: BTreeMap<&str, Vec<&LedgerEntry>> = BTreeMap::new();
    for e in ledger {
        by_number.entry(e.to.as_str()).or_default().push(e);
    }
    for (to, mut calls) in by_number {
        calls.sort_by_key(|c| c.created_at);
        let Some(lead) = leads.iter().find(|l| l.phone.as_str() == to) else {
            continue;
        };
        let campaign = &campaigns[&lead.campaign_id];
        let w = whereabouts(
            &lead.phone,
            lead.contact.time_zone,
            lead.contact.state.as_deref(),
            campaign.settings.fallback_time_zone,
        );
        for (i, call) in calls.iter().enumerate() {
            let earlier: Vec<_> = calls[..i].iter().map(|c| c.created_at).collect();
            let rules = LeadRules::new(&campaign.settings, state_rules, &w, &earlier, &earlier);
            for block in rules.blocks_at(call.created_at) {
                rule_violations.push(format!(
                    "{} to {to} at {}: {block}",
                    call.call_sid, call.created_at
                ));
            }
        }
    }
    report.push(
        "every call allowed by every rule (windows, state rules, caps) when placed",
        &rule_violations,
        format!(
            "{} calls checked against {} state rule sets",
            ledger.len(),
            state_rules.states.len()
        ),
    );

    let ledger_by_sid: HashMap<&str, &LedgerEntry> =
        ledger.iter().map(|e| (e.call_sid.as_str(), e)).collect();
    let mut not_final = Vec::new();
    let mut in_flight = 0;
    for a in &attempts {
        if a.state.is_final() {
            continue;
        }
        let proven = a
            .call_id
            .as_ref()
            .and_then(|id| ledger_by_sid.get(id.as_str()))
            .is_some_and(|e| e.ended_at.is_none());
        if proven {
            in_flight += 1;
        } else {
            not_final.push(format!(
                "attempt {} ({}) is {} with call {:?}",
                a.id,
                a.phone,
                a.state.as_str(),
                a.call_id.as_ref().map(|c| c.to_string())
            ));
        }
    }
    report.push(
        "every attempt final or provably in flight",
        &not_final,
        format!(
            "{} attempts, {in_flight} provably in flight at the carrier",
            attempts.len()
        ),
    );

    let known: HashSet<&str> = attempts
        .iter()
        .filter_map(|a| a.call_id.as_ref().map(|c| c.as_str()))
        .collect();
    let orphans: Vec<String> = ledger
        .iter()
        .filter(|e| !known.contains(e.call_sid.as_str()))
        .map(|e| format!("carrier call {} to {} has no attempt", e.call_sid, e.to))
        .collect();
    report.push(
        "no provider call without its attempt",
        &orphans,
        "every carrier call matches an attempt".into(),
    );

    let in_flight_leads: HashSet<LeadId> = attempts
        .iter()
        .filter(|a| !a.state.is_final() || a.concluded_at.is_none())
        .map(|a| a.lead_id)
        .collect();
    let mut lost = Vec::new();
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    for l in &leads {
        *by_status.entry(l.status.as_str()).or_default() += 1;
        let fine = match l.status {
            LeadStatus::Active => l.next_attempt_at.is_some(),
            LeadStatus::Dialing => in_flight_leads.contains(&l.id),
            LeadStatus::Done | LeadStatus::Paused => {
                l.status_reason.as_deref().is_some_and(|r| !r.is_empty())
            }
        };
        if !fine {
            lost.push(format!(
                "lead {} ({}) is {} without {}",
                l.id,
                l.phone,
                l.status.as_str(),
                if l.status == LeadStatus::Dialing {
                    "an attempt in flight"
                } else {
                    "a next time or a reason"
                }
            ));
        }
    }
    let mut summary = String::new();
    for (k, v) in &by_status {
        let _ = write!(summary, "{k} {v} ");
    }
    report.push("no lead lost", &lost, summary.trim_end().to_string());
    Ok(report)
}

/// The first `n` distinct valid numbers of a lead file (the demo marks them as the always-busy
/// and the never-ending number).
pub fn first_valid_numbers(path: &Path, n: usize) -> anyhow::Result<Vec<String>> {
    let file = std::fs::File::open(path)?;
    let reader = outdial_import::LeadReader::detect(file, Region::US, &path.display().to_string())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut out: Vec<String> = Vec::new();
    for row in reader.flatten() {
        let p: E164 = row.lead.phone;
        if !out.contains(&p.to_string()) {
            out.push(p.to_string());
        }
        if out.len() == n {
            break;
        }
    }
    Ok(out)
}
