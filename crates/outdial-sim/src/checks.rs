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

/// Most calls to one lead within one local day of any of its candidate zones, checked
/// against its campaign's `max_per_local_day` (the design's cap "per lead per local day";
/// the caps across campaigns are per number per rolling 24 h, checked with the other rules).
/// `lead_of` maps a ledger call's SID to its lead's label (the number and the campaign), its
/// candidate zones and its cap (a call in no lead is left out: another check reports it).
pub fn daily_cap_violations(
    ledger: &[LedgerEntry],
    lead_of: &HashMap<&str, (String, Vec<Tz>, u32)>,
) -> (Vec<String>, u32) {
    let mut counts: HashMap<(String, Tz, NaiveDate), (u32, u32)> = HashMap::new();
    for e in ledger {
        let Some((label, zones, cap)) = lead_of.get(e.call_sid.as_str()) else {
            continue;
        };
        for tz in zones {
            let day = e.created_at.with_timezone(tz).date_naive();
            let n = counts.entry((label.clone(), *tz, day)).or_insert((0, *cap));
            n.0 += 1;
        }
    }
    let max = counts.values().map(|(n, _)| *n).max().unwrap_or(0);
    let mut out: Vec<String> = counts
        .into_iter()
        .filter(|(_, (n, cap))| n > cap)
        .map(|((lead, tz, day), (n, cap))| {
            format!("{lead}: {n} calls on {day} in {tz} (cap {cap})")
        })
        .collect();
    out.sort();
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

    // Each call's lead: through its attempt; a call with no attempt (reported by its own
    // check below) is still checked against the rules, as a call of its number's first lead.
    let lead_by_id: HashMap<_, _> = leads.iter().map(|l| (l.id, l)).collect();
    let mut lead_by_phone: HashMap<&str, &Lead> = HashMap::new();
    for l in &leads {
        lead_by_phone.entry(l.phone.as_str()).or_insert(l);
    }
    let by_attempt: HashMap<&str, &Lead> = attempts
        .iter()
        .filter_map(|a| Some((a.call_id.as_ref()?.as_str(), *lead_by_id.get(&a.lead_id)?)))
        .collect();
    let lead_of_call: HashMap<&str, &Lead> = ledger
        .iter()
        .filter_map(|e| {
            let sid = e.call_sid.as_str();
            let lead = by_attempt
                .get(sid)
                .or_else(|| lead_by_phone.get(e.to.as_str()))?;
            Some((sid, *lead))
        })
        .collect();
    // The zones the engine applies the caps in: the number's own zones (NPA-NXX) and the
    // lead's state's, or the explicit zone; the fallback only when there is none.
    let whereabouts_of = |l: &Lead| {
        let c = &campaigns[&l.campaign_id];
        whereabouts(
            &l.phone,
            l.contact.time_zone,
            l.contact.state.as_deref(),
            c.settings.fallback_time_zone,
        )
    };
    let cap_of_call: HashMap<&str, (String, Vec<Tz>, u32)> = lead_of_call
        .iter()
        .map(|(sid, l)| {
            let c = &campaigns[&l.campaign_id];
            (
                *sid,
                (
                    format!("{} (lead {}, campaign '{}')", l.phone, l.id, c.name),
                    whereabouts_of(l).zones,
                    c.settings.redial.max_per_local_day,
                ),
            )
        })
        .collect();
    let cap = leads
        .iter()
        .map(|l| campaigns[&l.campaign_id].settings.redial.max_per_local_day)
        .max()
        .unwrap_or(0);
    let (cap_violations, max_day) = daily_cap_violations(ledger, &cap_of_call);
    report.push(
        "per-lead calls per local day within the policy",
        &cap_violations,
        format!("most calls to one lead in one local day: {max_day} (cap {cap})"),
    );

    // Every call must have been allowed by every rule (federal hours, campaign window, state
    // hours, holidays, blackout dates, daily and rolling caps, Regulation F, minimum gap) at
    // the instant the carrier created it, given the calls before it: its lead's (the caps per
    // lead) and its number's in every campaign (the caps per number).
    let mut rule_violations = Vec::new();
    let mut by_number: BTreeMap<&str, Vec<&LedgerEntry>> = BTreeMap::new();
    for e in ledger {
        by_number.entry(e.to.as_str()).or_default().push(e);
    }
    for (to, mut calls) in by_number {
        calls.sort_by_key(|c| c.created_at);
        for (i, call) in calls.iter().enumerate() {
            let Some(lead) = lead_of_call.get(call.call_sid.as_str()) else {
                continue;
            };
            let campaign = &campaigns[&lead.campaign_id];
            let w = whereabouts_of(lead);
            let number_earlier: Vec<_> = calls[..i].iter().map(|c| c.created_at).collect();
            let lead_earlier: Vec<_> = calls[..i]
                .iter()
                .filter(|c| {
                    lead_of_call
                        .get(c.call_sid.as_str())
                        .is_some_and(|l| l.id == lead.id)
                })
                .map(|c| c.created_at)
                .collect();
            let rules = LeadRules::new(
                &campaign.settings,
                state_rules,
                &w,
                &lead_earlier,
                &number_earlier,
            );
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    fn call(sid: &str, minutes: i64) -> LedgerEntry {
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 14, 0, 0).unwrap() + Duration::minutes(minutes);
        LedgerEntry {
            call_sid: sid.into(),
            to: "+12125550101".into(),
            from: "+15005550006".into(),
            created_at: t,
            answered_at: None,
            ended_at: Some(t + Duration::seconds(30)),
            final_status: Some("busy".into()),
        }
    }

    #[test]
    fn the_daily_cap_is_counted_per_lead_not_per_number() {
        let ny = vec![chrono_tz::America::New_York];
        // One number, a lead in each of two campaigns, 8 calls each on one local day.
        let mut ledger = Vec::new();
        let mut lead_of = HashMap::new();
        let sids: Vec<String> = (0..17).map(|i| format!("c{i}")).collect();
        for (i, sid) in sids.iter().enumerate().take(16) {
            ledger.push(call(sid, i as i64 * 20));
        }
        for (i, sid) in sids.iter().enumerate().take(16) {
            let label = if i % 2 == 0 { "lead 1" } else { "lead 2" };
            lead_of.insert(sid.as_str(), (label.to_owned(), ny.clone(), 8));
        }
        let (violations, max) = daily_cap_violations(&ledger, &lead_of);
        assert!(violations.is_empty(), "{violations:?}");
        assert_eq!(max, 8);
        // A ninth call for one of them breaks its cap.
        ledger.push(call(&sids[16], 400));
        lead_of.insert(sids[16].as_str(), ("lead 1".into(), ny, 8));
        let (violations, max) = daily_cap_violations(&ledger, &lead_of);
        assert_eq!(max, 9);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(
            violations[0].starts_with("lead 1: 9 calls on 2026-01-05"),
            "{violations:?}"
        );
    }
}
