//! Backfill (issue 11): turning a provider's log of calls an earlier system placed into
//! leads of a campaign that go on where that system stopped.
//!
//! 1. [`group_by_number`]: the logged calls of each number, oldest first.
//! 2. [`plan_number`] (pure): skip the number — already a lead of the campaign, finished (a
//!    call whose disposition is terminal in the campaign's catalog: `SALE`, `DNC`,
//!    `BAD_NUMBER`, …), on a do-not-call list, excluded by the operator, or with a call
//!    still live at the provider — or add it with its calls as history. Each call is
//!    concluded in turn with [`conclude_attempt`], the function the engine concludes its
//!    own attempts with (the provider's disposition tag, resolved by the catalog, as the
//!    requested disposition; otherwise the automatic one), so the lead's attempt count, its
//!    caps and its next due time follow the campaign's redial policy from its last call: a
//!    number called 8 times today is not due again today. A next time already past is moved
//!    to the first instant the rules allow from `now`.
//! 3. [`plan`] loads what each number needs from the store and plans every number;
//!    [`apply`] writes the additions with [`Leads::backfill_lead`](outdial_store::Leads)
//!    (one transaction per lead; a number that became a lead meanwhile is skipped, so a
//!    rerun adds nothing twice) and puts numbers whose calls ended with a do-not-call
//!    disposition on the internal DNC list.
//! 4. [`forecast`]: how many added leads are first due on each local day, and at most how
//!    many calls the policy and caps allow each day if no call is answered.
//!
//! All instants are UTC; days are the lead's local days (its first candidate zone).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use outdial_core::compliance::StateRules;
use outdial_core::disposition::DispositionCatalog;
use outdial_core::schedule::{
    conclude_attempt, decide_after_attempt, number_history_since, whereabouts, AttemptEnd,
    LeadDecision, LeadRules, Whereabouts,
};
use outdial_core::{CallStatus, CampaignSettings, Disposition, LeadContact, NewLead, E164};
use outdial_providers::LoggedCall;
use outdial_store::{Campaign, DncEntry, DncScope, PastAttempt, Store, StoreResult};
use serde::Serialize;

/// The event and DNC source of what a backfill writes.
pub const SOURCE: &str = outdial_store::BACKFILL_SOURCE;

/// Why a number of the log is not added.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum SkipReason {
    /// The campaign already has the number (a previous run, an import).
    AlreadyLead,
    /// A call ended with a terminal disposition (the code).
    Finished(Disposition),
    /// The number is on a do-not-call list that applies to the campaign.
    DncList,
    /// The number is in an exclude file.
    Excluded,
    /// A call to the number is still live at the provider: rerun later.
    CallInProgress,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::AlreadyLead => f.write_str("already a lead"),
            SkipReason::Finished(d) => write!(f, "finished: {d}"),
            SkipReason::DncList => f.write_str("on a DNC list"),
            SkipReason::Excluded => f.write_str("excluded"),
            SkipReason::CallInProgress => f.write_str("call still in progress"),
        }
    }
}

/// What the plan needs to know about one number beyond its logged calls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NumberFacts {
    /// The campaign already has the number.
    pub already_lead: bool,
    /// The do-not-call lists holding it for the campaign (their keys).
    pub dnc_lists: Vec<String>,
    /// It is in an exclude file.
    pub excluded: bool,
    /// Reservation instants of the number's stored attempts in any campaign since
    /// [`number_history_since`] (UTC).
    pub number_history: Vec<DateTime<Utc>>,
}

/// A number to add, with its past calls and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Addition {
    /// The lead (no contact data: the log has none).
    pub lead: NewLead,
    /// Its calls as concluded attempts, oldest first.
    pub past: Vec<PastAttempt>,
    /// Where it starts: redial at its next due time, done (limits reached) or paused.
    pub decision: LeadDecision,
    /// Where the lead may be (for the forecast's local days).
    pub whereabouts: Whereabouts,
}

/// The verdict on one number.
#[derive(Debug, Clone, PartialEq)]
pub enum NumberPlan {
    /// Not added, and why. `dnc_call` names the call whose disposition asks for the
    /// number to go on the internal DNC list, when one did.
    Skip {
        /// Why.
        reason: SkipReason,
        /// The provider call id of a call that ended with a DNC-flagged disposition.
        dnc_call: Option<String>,
    },
    /// Added.
    Add(Box<Addition>),
}

/// The calls of each number, oldest first (ties by call id).
pub fn group_by_number(calls: &[LoggedCall]) -> BTreeMap<E164, Vec<&LoggedCall>> {
    let mut by: BTreeMap<E164, Vec<&LoggedCall>> = BTreeMap::new();
    for c in calls {
        by.entry(c.to.clone()).or_default().push(c);
    }
    for v in by.values_mut() {
        v.sort_by(|a, b| (a.created_at, &a.call_id).cmp(&(b.created_at, &b.call_id)));
    }
    by
}

/// A logged call as a past attempt without its disposition: its final status (a call left
/// non-final past the campaign's longest attempt span is taken as `failed`, as the engine's
/// bound would end it), and its end (the provider's, else its start plus its duration, never
/// before its start). `None`: still live.
fn ended_call(
    c: &LoggedCall,
    settings: &CampaignSettings,
    now: DateTime<Utc>,
) -> Option<(CallStatus, DateTime<Utc>)> {
    let by_duration = c.created_at + Duration::seconds(i64::from(c.duration_s.unwrap_or(0)));
    let ended = c.ended_at.unwrap_or(by_duration).max(c.created_at);
    if c.status.is_final() {
        return Some((c.status, ended));
    }
    let span = Duration::seconds(settings.max_attempt_span_s() as i64);
    (c.created_at + span <= now).then_some((CallStatus::Failed, ended))
}

/// Plans one number from its calls (oldest first; at least one) and `facts`, at `now`
/// (UTC), under the campaign's settings and the state rules (see the module docs).
pub fn plan_number(
    settings: &CampaignSettings,
    state_rules: &StateRules,
    calls: &[&LoggedCall],
    facts: &NumberFacts,
    now: DateTime<Utc>,
) -> NumberPlan {
    let skip = |reason| NumberPlan::Skip {
        reason,
        dnc_call: None,
    };
    // No calls: nothing to go on from (a caller's mistake; `group_by_number` never does it).
    let Some(first) = calls.first() else {
        return skip(SkipReason::Excluded);
    };
    if facts.already_lead {
        return skip(SkipReason::AlreadyLead);
    }
    let phone = first.to.clone();
    let w = whereabouts(&phone, None, None, settings.fallback_time_zone);
    let catalog: &DispositionCatalog = &settings.dispositions;
    let history: Vec<DateTime<Utc>> = calls.iter().map(|c| c.created_at).collect();
    // The number's stored attempts and these calls; an instant equal to one of these calls
    // is that call, stored by an earlier backfill into another campaign.
    let mut number_history: Vec<DateTime<Utc>> = facts
        .number_history
        .iter()
        .copied()
        .filter(|t| !history.contains(t))
        .chain(history.iter().copied())
        .collect();
    number_history.sort();
    let mut past: Vec<PastAttempt> = Vec::with_capacity(calls.len());
    let mut dispositions: Vec<Disposition> = Vec::with_capacity(calls.len());
    let mut decision = None;
    let mut terminal: Option<(Disposition, &LoggedCall)> = None;
    for (i, c) in calls.iter().enumerate() {
        let Some((status, ended)) = ended_call(c, settings, now) else {
            return skip(SkipReason::CallInProgress);
        };
        let requested = c
            .disposition_tag
            .as_deref()
            .and_then(|t| catalog.resolve(t));
        let rules = LeadRules::new(settings, state_rules, &w, &history[..=i], &number_history);
        let end = if c.bad_number {
            AttemptEnd::BadNumber
        } else {
            AttemptEnd::Call {
                status,
                answered_by: c.answered_by,
                requested: requested.as_ref(),
                ended,
                callback_at: None,
            }
        };
        let (d, dec) = conclude_attempt(catalog, &rules, end, &dispositions, ended);
        let flags = catalog.flags(&d);
        if flags.terminal && terminal.as_ref().is_none_or(|(t, _)| flags.dnc && *t != d) {
            terminal = Some((d.clone(), c));
        }
        past.push(PastAttempt {
            call_id: c.call_id.clone(),
            started_at: c.created_at,
            answered_at: match (status, c.duration_s) {
                (CallStatus::Completed, Some(s)) => {
                    Some((ended - Duration::seconds(i64::from(s))).max(c.created_at))
                }
                _ => None,
            },
            ended_at: ended,
            status,
            answered_by: c.answered_by,
            duration_s: c.duration_s,
            disposition: d.clone(),
        });
        dispositions.push(d);
        decision = Some(dec);
    }
    if let Some((d, c)) = terminal {
        let dnc_call = catalog.flags(&d).dnc.then(|| c.call_id.to_string());
        return NumberPlan::Skip {
            reason: SkipReason::Finished(d),
            dnc_call,
        };
    }
    if !facts.dnc_lists.is_empty() {
        return skip(SkipReason::DncList);
    }
    if facts.excluded {
        return skip(SkipReason::Excluded);
    }
    let rules = LeadRules::new(settings, state_rules, &w, &history, &number_history);
    let decision = match decision.expect("at least one call") {
        LeadDecision::Redial { at } if at < now => match rules.next_allowed(now) {
            Ok(at) => LeadDecision::Redial { at },
            Err(b) => LeadDecision::Park {
                reason: b.to_string(),
            },
        },
        d => d,
    };
    NumberPlan::Add(Box::new(Addition {
        lead: NewLead {
            phone,
            contact: LeadContact::default(),
        },
        past,
        decision,
        whereabouts: w,
    }))
}

/// The plan of a whole log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackfillPlan {
    /// Calls in the log (distinct, outbound).
    pub calls: u64,
    /// Distinct numbers called.
    pub numbers: u64,
    /// Numbers skipped, by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Numbers to add.
    pub additions: Vec<Addition>,
    /// Numbers skipped for a DNC-flagged disposition, with the call that carried it: they go
    /// on the internal DNC list (47 CFR 64.1200(d)(3): honour a do-not-call request).
    pub dnc_requests: Vec<(E164, String)>,
}

/// Loads each number's facts (is it a lead of the campaign, which DNC lists hold it, its
/// stored attempts since [`number_history_since`]`(now)`) and plans it with
/// [`plan_number`]. `excluded` holds the numbers of the exclude files; `progress(done,
/// total)` is called after each number. Errors only when the store fails.
pub async fn plan(
    store: &dyn Store,
    campaign: &Campaign,
    state_rules: &StateRules,
    calls: &[LoggedCall],
    excluded: &HashSet<E164>,
    now: DateTime<Utc>,
    progress: &mut dyn FnMut(u64, u64),
) -> StoreResult<BackfillPlan> {
    let groups = group_by_number(calls);
    let total = groups.len() as u64;
    let mut out = BackfillPlan {
        calls: calls.len() as u64,
        numbers: total,
        ..BackfillPlan::default()
    };
    for (i, (phone, group)) in groups.iter().enumerate() {
        let already_lead = store
            .leads_by_phone(phone)
            .await?
            .iter()
            .any(|l| l.campaign_id == campaign.id);
        let mut facts = NumberFacts {
            already_lead,
            excluded: excluded.contains(phone),
            ..NumberFacts::default()
        };
        if !already_lead {
            facts.dnc_lists = store
                .dnc_check(phone, Some(campaign.id))
                .await?
                .into_iter()
                .map(|e| e.scope.as_key())
                .collect();
            facts.number_history = store
                .phone_attempt_times(phone, number_history_since(now))
                .await?;
        }
        match plan_number(&campaign.settings, state_rules, group, &facts, now) {
            NumberPlan::Skip { reason, dnc_call } => {
                if let Some(call) = dnc_call {
                    out.dnc_requests.push((phone.clone(), call));
                }
                *out.skipped.entry(reason).or_default() += 1;
            }
            NumberPlan::Add(a) => out.additions.push(*a),
        }
        progress(i as u64 + 1, total);
    }
    Ok(out)
}

/// What [`apply`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// Leads added.
    pub added: u64,
    /// Of them: active (due later), done (limits reached), paused.
    pub active: u64,
    /// Added done.
    pub done: u64,
    /// Added paused.
    pub paused: u64,
    /// Past attempts stored.
    pub attempts: u64,
    /// Past calls left out because their call id was already stored.
    pub known_calls: u64,
    /// Additions skipped because the number had become a lead of the campaign meanwhile.
    pub already_lead: u64,
    /// Numbers put on the internal DNC list (new entries).
    pub dnc_added: u64,
}

/// Writes the plan: each addition in its own transaction
/// ([`Leads::backfill_lead`](outdial_store::Leads::backfill_lead)), then the DNC requests
/// on the internal list. `progress(done, total)` after each lead. A store failure stops it
/// with the error; what was committed before stays, and a rerun skips it.
pub async fn apply(
    store: &dyn Store,
    campaign: &Campaign,
    plan: &BackfillPlan,
    now: DateTime<Utc>,
    progress: &mut dyn FnMut(u64, u64),
) -> StoreResult<ApplyReport> {
    let mut r = ApplyReport::default();
    let total = plan.additions.len() as u64;
    for (i, a) in plan.additions.iter().enumerate() {
        match store
            .backfill_lead(campaign.id, &a.lead, &a.past, &a.decision, now)
            .await?
        {
            Some(b) => {
                r.added += 1;
                r.attempts += u64::from(b.attempts);
                r.known_calls += u64::from(b.known_calls);
                match a.decision {
                    LeadDecision::Redial { .. } => r.active += 1,
                    LeadDecision::Done { .. } => r.done += 1,
                    LeadDecision::Park { .. } => r.paused += 1,
                }
            }
            None => r.already_lead += 1,
        }
        progress(i as u64 + 1, total);
    }
    let entries: Vec<DncEntry> = plan
        .dnc_requests
        .iter()
        .map(|(phone, call)| DncEntry {
            phone: phone.clone(),
            scope: DncScope::Internal,
            source: SOURCE.into(),
            reason: Some(format!("do-not-call disposition on provider call {call}")),
            added_at: now,
        })
        .collect();
    if !entries.is_empty() {
        r.dnc_added = store.dnc_add(&entries, now).await?;
    }
    Ok(r)
}

/// One local day of the forecast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayForecast {
    /// The local date (of each lead's first candidate zone).
    pub day: NaiveDate,
    /// Added leads whose next attempt falls on this day.
    pub due: u64,
    /// Most calls the redial policy and caps allow on this day if no call is answered.
    pub calls_at_most: u64,
}

/// For the `days` local days from today (each lead's own), how many `additions` are first
/// due on each, and at most how many calls each day holds if every call ends `NO_ANSWER`:
/// each lead is redialed with [`decide_after_attempt`] over its history, so daily caps,
/// gaps, windows and the policy's intervals bound it. Done and paused leads are never due.
pub fn forecast(
    settings: &CampaignSettings,
    state_rules: &StateRules,
    additions: &[Addition],
    now: DateTime<Utc>,
    days: u32,
) -> Vec<DayForecast> {
    let no_answer = Disposition::normalise("NO_ANSWER").expect("valid code");
    let mut by_day: BTreeMap<NaiveDate, (u64, u64)> = BTreeMap::new();
    let mut base: Option<NaiveDate> = None;
    for a in additions {
        let LeadDecision::Redial { at } = a.decision else {
            continue;
        };
        let Some(&zone) = a.whereabouts.zones.first() else {
            continue;
        };
        let today = now.with_timezone(&zone).date_naive();
        base = Some(base.map_or(today, |b| b.min(today)));
        let last_day = today + Duration::days(i64::from(days.max(1)) - 1);
        let day_of = |t: DateTime<Utc>| t.with_timezone(&zone).date_naive();
        let mut history: Vec<DateTime<Utc>> = a.past.iter().map(|p| p.started_at).collect();
        let mut recent: Vec<Disposition> = a.past.iter().map(|p| p.disposition.clone()).collect();
        let mut next = Some(at);
        let mut first = true;
        while let Some(t) = next.filter(|t| day_of(*t) <= last_day) {
            let day = day_of(t);
            if day >= today {
                let e = by_day.entry(day).or_default();
                e.0 += u64::from(first);
                e.1 += 1;
            }
            first = false;
            history.push(t);
            recent.push(no_answer.clone());
            let rules = LeadRules::new(settings, state_rules, &a.whereabouts, &history, &history);
            next = match decide_after_attempt(
                &settings.dispositions,
                &rules,
                &no_answer,
                &recent,
                t,
                None,
            ) {
                LeadDecision::Redial { at } if at > t => Some(at),
                _ => None,
            };
        }
    }
    let Some(base) = base else {
        return Vec::new();
    };
    (0..days.max(1))
        .map(|i| {
            let day = base + Duration::days(i64::from(i));
            let (due, calls) = by_day.get(&day).copied().unwrap_or_default();
            DayForecast {
                day,
                due,
                calls_at_most: calls,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
