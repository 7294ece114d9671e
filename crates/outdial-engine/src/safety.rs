//! The safety monitor, kill switches and alerts.
//!
//! A kill switch stops every new call in its scope ([`KillScope::Global`] or one campaign)
//! until an operator resumes it; it is a row in the store, so it survives restarts and binds
//! every instance of a fleet. Calls already in flight are followed to their end as usual.
//!
//! [`Engine::monitor`] trips a switch when:
//! - the last `placement_failures` (default 3) create requests of a campaign, or of the whole
//!   dialer, failed (ambiguous outcome, HTTP 5xx, request not sent, a refusal that is not a bad
//!   number), counting only requests made since the switch last changed;
//! - webhooks fell silent while calls are in flight: at least `webhook_silence_min_calls`
//!   calls accepted by the provider more than `webhook_silence_s` ago (and within four times
//!   that) have heard no status callback, and no callback at all has arrived for
//!   `webhook_silence_s` (seconds, clock time) — the signature of a wrong public URL, a broken
//!   proxy or an expired certificate;
//! - the attempt log shows an anomaly: two calls to one number at once, or an attempt that a
//!   cap (per local day, total, rolling per number, Regulation F 7-in-7, minimum gap) forbade
//!   at the instant it was reserved. Such attempts are impossible by construction; seeing one
//!   means a bug or a manual edit, and dialing must stop until a person looks.
//!
//! The engine trips the global switch itself when the provider refuses the credentials
//! (the adapter classifies the refusal as [`PlaceError::Auth`](outdial_providers::PlaceError::Auth)).
//!
//! Each trip raises an alert: a stored record and one durable job per configured channel
//! (e-mail, chat), delivered by [`Engine::run_jobs`](crate::Engine::run_jobs). Only an
//! operator resumes ([`Engine::resume_kill_switch`], `outdial killswitch resume`,
//! `POST /api/v1/killswitch/resume`); the monitor never does.

use crate::{Engine, EngineError};
use chrono::{DateTime, Duration, Utc};
use outdial_core::schedule::{number_history_since, Block, LeadRules};
use outdial_core::{AttemptId, AttemptState, CampaignId, FailureKind};
use outdial_providers::stored_failure_kind;
use outdial_store::{Attempt, KillScope, KillSwitch, NewAlert};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// Thresholds of the safety monitor and the reconciler's bound. Durations are clock seconds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SafetyConfig {
    /// Consecutive failed create requests that trip the campaign's (and, across campaigns,
    /// the global) kill switch. Default 3. 0 disables the rule.
    pub placement_failures: u32,
    /// Webhook silence that trips the global switch while calls are in flight, seconds.
    /// Default 600. 0 disables the rule.
    pub webhook_silence_s: i64,
    /// Calls that must have gone unheard for the silence rule to trip. Default 3.
    pub webhook_silence_min_calls: u32,
    /// Slack added to ring timeout + longest call before the reconciler ends a call that is
    /// still live at the provider, seconds. Default 120.
    pub end_call_slack_s: i64,
    /// Whether the attempt log is scanned for cap and overlap anomalies. Default true.
    pub scan_anomalies: bool,
}

impl Default for SafetyConfig {
    fn default() -> Self {
        SafetyConfig {
            placement_failures: 3,
            webhook_silence_s: 600,
            webhook_silence_min_calls: 3,
            end_call_slack_s: 120,
            scan_anomalies: true,
        }
    }
}

/// The kill switches in force, as the dialer reads them before each call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KillSwitches {
    /// Every switch ever set (tripped or resumed), by scope.
    pub switches: Vec<KillSwitch>,
}

impl KillSwitches {
    /// The switch of `scope`, if ever set.
    pub fn get(&self, scope: KillScope) -> Option<&KillSwitch> {
        self.switches.iter().find(|s| s.scope == scope)
    }

    /// Whether the global switch is tripped.
    pub fn global_tripped(&self) -> bool {
        self.get(KillScope::Global).is_some_and(|s| s.tripped)
    }

    /// Whether a call for `campaign` is stopped (global or campaign switch tripped).
    pub fn stops(&self, campaign: CampaignId) -> bool {
        self.global_tripped()
            || self
                .get(KillScope::Campaign(campaign))
                .is_some_and(|s| s.tripped)
    }

    /// When the switch of `scope` last changed (tripped or resumed), UTC.
    pub fn changed_at(&self, scope: KillScope) -> Option<DateTime<Utc>> {
        self.get(scope).map(|s| s.changed_at)
    }
}

/// What one [`Engine::monitor`] step found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MonitorReport {
    /// Switches tripped by this step (scope key, reason).
    pub tripped: Vec<(String, String)>,
    /// Attempts scanned for anomalies.
    pub scanned: u32,
}

/// Whether an attempt's create request counts as a failure for the consecutive-failure rule:
/// `Some(true)` failed, `Some(false)` succeeded, `None` neither (still reserved, or rate
/// limited — a rate limit is the provider pacing us, handled by retrying later).
pub fn placement_failed(a: &Attempt) -> Option<bool> {
    let kind = a.error_code.as_deref().and_then(stored_failure_kind);
    match a.state {
        AttemptState::Reserved => None,
        AttemptState::Unknown => Some(true),
        AttemptState::NotPlaced if kind == Some(FailureKind::RateLimited) => None,
        // A destination the account may not call says nothing about the provider's health:
        // the lead is parked instead; it neither counts nor resets the run of failures.
        AttemptState::NotPlaced if kind == Some(FailureKind::RefusedDestination) => None,
        AttemptState::NotPlaced => Some(true),
        // Only bad numbers are stored `rejected`: the number's fault, not the provider's.
        AttemptState::Rejected => Some(false),
        // Placed, ringing, in progress, ended: the provider accepted the call. An ended
        // attempt that was never placed (reconciled `unknown`) has no call id.
        _ => Some(a.call_id.is_none()),
    }
}

fn is_cap_block(b: &Block) -> bool {
    matches!(
        b,
        Block::DailyCap { .. }
            | Block::TotalCap { .. }
            | Block::RollingCap { .. }
            | Block::SevenInSeven { .. }
            | Block::MinGap { .. }
    )
}

/// The interval during which an attempt held (or may have held) a live call: from its
/// reservation to its end, open while in flight; `None` when no call ever existed.
fn call_interval(a: &Attempt) -> Option<(DateTime<Utc>, Option<DateTime<Utc>>)> {
    if a.state.is_in_flight() {
        return Some((a.placed_at.unwrap_or(a.reserved_at), None));
    }
    a.call_id.as_ref()?;
    Some((a.placed_at.unwrap_or(a.reserved_at), a.ended_at))
}

fn overlaps(
    a: (DateTime<Utc>, Option<DateTime<Utc>>),
    b: (DateTime<Utc>, Option<DateTime<Utc>>),
) -> bool {
    let a_before_b_ends = b.1.is_none_or(|end| a.0 < end);
    let b_before_a_ends = a.1.is_none_or(|end| b.0 < end);
    a_before_b_ends && b_before_a_ends
}

impl Engine {
    /// The kill switches as stored.
    pub async fn kill_switches(&self) -> Result<KillSwitches, EngineError> {
        Ok(KillSwitches {
            switches: self.store.kill_switches().await?,
        })
    }

    /// Trips a kill switch and, when it was not already tripped, raises an alert on every
    /// configured channel. `source` is `monitor:<rule>`, `engine` or `operator:<name>`;
    /// `counts` go into the alert. Returns whether the switch changed.
    pub async fn trip_kill_switch(
        &self,
        scope: KillScope,
        reason: &str,
        source: &str,
        counts: &BTreeMap<String, u64>,
    ) -> Result<bool, EngineError> {
        let now = self.clock.now();
        if !self
            .store
            .set_kill_switch(scope, true, reason, source, now)
            .await?
        {
            return Ok(false);
        }
        tracing::error!(scope = %scope.as_key(), reason, source, "kill switch tripped: no new calls in this scope");
        self.metrics.kill_switch_trip(&scope.as_key(), source);
        let in_flight = self.store.in_flight_count().await?;
        let mut body = format!(
            "outdial stopped placing calls ({scope}) at {now} UTC.\n\nReason: {reason}\nTripped by: {source}\n\nCounts:\n  calls in flight (followed to their end as usual): {in_flight}\n",
            scope = scope.as_key(),
            now = now.format("%Y-%m-%d %H:%M:%S"),
        );
        for (k, v) in counts {
            body.push_str(&format!("  {k}: {v}\n"));
        }
        let campaign_flag = match scope {
            KillScope::Global => String::new(),
            KillScope::Campaign(c) => format!(" --campaign {}", c.0),
        };
        body.push_str(&format!(
            "\nWhat to do: find and fix the cause (provider status and credentials, the public \
             URL that receives status callbacks, the attempt log: `outdial export attempts`), \
             then resume with `outdial killswitch resume{campaign_flag} --reason \"...\"` or \
             POST /api/v1/killswitch/resume. Until then no call is placed in this scope.\n"
        ));
        self.raise_alert(NewAlert {
            kind: "kill_switch.tripped".into(),
            scope: scope.as_key(),
            subject: format!("outdial kill switch tripped ({}): {reason}", scope.as_key()),
            body,
            dedupe_key: Some(format!(
                "kill_switch.tripped:{}:{}",
                scope.as_key(),
                now.timestamp_micros()
            )),
        })
        .await?;
        Ok(true)
    }

    /// Operator action: resumes a kill switch. Returns whether it changed (false: it was not
    /// tripped). The monitor never calls this.
    pub async fn resume_kill_switch(
        &self,
        scope: KillScope,
        reason: &str,
        source: &str,
    ) -> Result<bool, EngineError> {
        let now = self.clock.now();
        let changed = self
            .store
            .set_kill_switch(scope, false, reason, source, now)
            .await?;
        if changed {
            tracing::warn!(scope = %scope.as_key(), reason, source, "kill switch resumed by an operator");
        }
        Ok(changed)
    }

    /// Stores an alert and enqueues its delivery on every configured channel. Returns
    /// `false` when an alert with the same dedupe key was raised before.
    pub async fn raise_alert(&self, alert: NewAlert) -> Result<bool, EngineError> {
        let channels: Vec<&str> = self
            .config
            .alert_channels
            .iter()
            .map(String::as_str)
            .collect();
        let raised = self
            .store
            .raise_alert(&alert, &channels, self.clock.now())
            .await?;
        if raised.is_some() {
            tracing::warn!(kind = %alert.kind, scope = %alert.scope, subject = %alert.subject, "alert raised");
        }
        Ok(raised.is_some())
    }

    /// One safety-monitor step at `now`: the consecutive-failure rule (global and per active
    /// campaign), the webhook-silence rule and the anomaly scan of attempts reserved since the
    /// last step. Trips switches (and alerts) as the module docs describe.
    pub async fn monitor(&self, now: DateTime<Utc>) -> Result<MonitorReport, EngineError> {
        let mut report = MonitorReport::default();
        let switches = self.kill_switches().await?;
        let safety = &self.config.safety;
        if safety.placement_failures > 0 {
            let mut scopes = vec![KillScope::Global];
            for c in self.store.campaigns().await? {
                if c.active {
                    scopes.push(KillScope::Campaign(c.id));
                }
            }
            for scope in scopes {
                if switches.get(scope).is_some_and(|s| s.tripped) {
                    continue;
                }
                let campaign = match scope {
                    KillScope::Global => None,
                    KillScope::Campaign(c) => Some(c),
                };
                let since = switches.changed_at(scope);
                let recent = self
                    .store
                    .recent_attempts(campaign, safety.placement_failures * 4 + 20)
                    .await?;
                let outcomes: Vec<(&Attempt, bool)> = recent
                    .iter()
                    .filter(|a| since.is_none_or(|t| a.reserved_at > t))
                    .filter_map(|a| placement_failed(a).map(|f| (a, f)))
                    .take(safety.placement_failures as usize)
                    .collect();
                if outcomes.len() == safety.placement_failures as usize
                    && outcomes.iter().all(|(_, f)| *f)
                {
                    let codes: Vec<String> = outcomes
                        .iter()
                        .map(|(a, _)| {
                            format!(
                                "attempt {} {}: {}",
                                a.id,
                                a.state.as_str(),
                                a.error_code.as_deref().unwrap_or("-")
                            )
                        })
                        .collect();
                    let reason = format!(
                        "{} consecutive placement failures ({})",
                        outcomes.len(),
                        codes.join("; ")
                    );
                    let counts = BTreeMap::from([(
                        "consecutive placement failures".to_string(),
                        outcomes.len() as u64,
                    )]);
                    if self
                        .trip_kill_switch(scope, &reason, "monitor:placement-failures", &counts)
                        .await?
                    {
                        report.tripped.push((scope.as_key(), reason));
                    }
                }
            }
        }
        if safety.webhook_silence_s > 0 && !switches.global_tripped() {
            self.check_webhook_silence(now, &switches, &mut report)
                .await?;
        }
        if safety.scan_anomalies {
            self.scan_anomalies(now, &mut report).await?;
        }
        Ok(report)
    }

    /// The latest instant any configured provider's webhook delivered an event (each
    /// provider names its event source), `None` if none ever did.
    async fn latest_webhook_at(&self) -> Result<Option<DateTime<Utc>>, EngineError> {
        let sources: std::collections::BTreeSet<&'static str> = self
            .providers
            .values()
            .map(|p| p.webhook_source())
            .collect();
        let mut latest = None;
        for source in sources {
            latest = latest.max(self.store.latest_event_at(source).await?);
        }
        Ok(latest)
    }

    async fn check_webhook_silence(
        &self,
        now: DateTime<Utc>,
        switches: &KillSwitches,
        report: &mut MonitorReport,
    ) -> Result<(), EngineError> {
        let safety = &self.config.safety;
        let silence = Duration::seconds(safety.webhook_silence_s);
        // A process that just started has not been listening long enough to judge.
        if now - self.started_at < silence {
            return Ok(());
        }
        let last = self.latest_webhook_at().await?;
        if last.is_some_and(|t| now - t < silence) {
            return Ok(());
        }
        let resumed = switches.changed_at(KillScope::Global);
        let unheard: Vec<Attempt> = self
            .store
            .recent_attempts(None, 200)
            .await?
            .into_iter()
            .filter(|a| a.call_id.is_some())
            .filter_map(|a| a.placed_at.map(|p| (p, a)))
            .filter(|(p, _)| {
                last.is_none_or(|l| *p > l)
                    && resumed.is_none_or(|r| *p > r)
                    && *p <= now - silence
                    && *p >= now - silence * 4
            })
            .map(|(_, a)| a)
            .collect();
        if unheard.len() < safety.webhook_silence_min_calls as usize {
            return Ok(());
        }
        let reason = format!(
            "no status callback for {} s while {} calls accepted by the provider went unheard \
             (last callback: {})",
            safety.webhook_silence_s,
            unheard.len(),
            last.map_or("never".to_string(), |t| t.to_rfc3339())
        );
        let counts = BTreeMap::from([("calls unheard".to_string(), unheard.len() as u64)]);
        if self
            .trip_kill_switch(
                KillScope::Global,
                &reason,
                "monitor:webhook-silence",
                &counts,
            )
            .await?
        {
            report.tripped.push((KillScope::Global.as_key(), reason));
        }
        Ok(())
    }

    /// Scans attempts reserved since the last scan (at start: the latest 200) for overlaps
    /// and cap violations.
    async fn scan_anomalies(
        &self,
        now: DateTime<Utc>,
        report: &mut MonitorReport,
    ) -> Result<(), EngineError> {
        let cursor = *self.anomaly_cursor.lock().expect("anomaly cursor");
        let batch: Vec<Attempt> = match cursor {
            Some(after) => self.store.attempts_after(after, 200).await?,
            None => {
                let mut latest = self.store.recent_attempts(None, 200).await?;
                latest.reverse();
                latest
            }
        };
        let mut seen_phones = HashSet::new();
        let mut last_id = cursor;
        for a in &batch {
            // Only attempts whose create request is over (a reserved one may still become a
            // call; it is looked at again next time).
            if a.state == AttemptState::Reserved {
                break;
            }
            last_id = Some(a.id);
            report.scanned += 1;
            if let Some(anomaly) = self.attempt_anomaly(a, now, &mut seen_phones).await? {
                let (scope, rule) = anomaly;
                let reason = format!("attempt log anomaly on attempt {}: {rule}", a.id);
                let counts = BTreeMap::from([("anomalous attempt id".to_string(), a.id.0 as u64)]);
                if self
                    .trip_kill_switch(scope, &reason, "monitor:anomaly", &counts)
                    .await?
                {
                    report.tripped.push((scope.as_key(), reason));
                }
            }
        }
        *self.anomaly_cursor.lock().expect("anomaly cursor") = last_id.or(cursor);
        Ok(())
    }

    async fn attempt_anomaly(
        &self,
        a: &Attempt,
        now: DateTime<Utc>,
        seen_phones: &mut HashSet<String>,
    ) -> Result<Option<(KillScope, String)>, EngineError> {
        // Overlap: any other attempt to the number whose call interval meets this one's.
        if let Some(mine) = call_interval(a) {
            if seen_phones.insert(a.phone.to_string()) {
                let mut others: Vec<Attempt> = Vec::new();
                for lead in self.store.leads_by_phone(&a.phone).await? {
                    others.extend(self.store.lead_attempts(lead.id).await?);
                }
                for b in others.iter().filter(|b| b.id != a.id) {
                    if let Some(theirs) = call_interval(b) {
                        if overlaps(mine, theirs) {
                            let scope = if b.campaign_id == a.campaign_id {
                                KillScope::Campaign(a.campaign_id)
                            } else {
                                KillScope::Global
                            };
                            return Ok(Some((
                                scope,
                                format!(
                                    "two calls to {} at once (attempts {} and {})",
                                    a.phone, b.id, a.id
                                ),
                            )));
                        }
                    }
                }
            }
        }
        // Caps: would the caps have allowed this attempt at the instant it was reserved?
        if a.call_id.is_none() && !a.state.is_in_flight() {
            return Ok(None);
        }
        let Some(lead) = self.store.lead(a.lead_id).await? else {
            return Ok(None);
        };
        let campaign = self.campaign(lead.campaign_id).await?;
        let mut facts = self.lead_facts(&lead, &campaign, now).await?;
        let before = |t: &DateTime<Utc>| *t < a.reserved_at;
        facts.history.retain(before);
        facts.number_history = self
            .store
            .phone_attempt_times(&a.phone, number_history_since(a.reserved_at))
            .await?
            .into_iter()
            .filter(before)
            .collect();
        let rules: LeadRules<'_> = self.rules(&campaign, &facts);
        let caps: Vec<String> = rules
            .blocks_at(a.reserved_at)
            .into_iter()
            .filter(is_cap_block)
            .map(|b| b.to_string())
            .collect();
        if caps.is_empty() {
            return Ok(None);
        }
        Ok(Some((
            KillScope::Campaign(a.campaign_id),
            format!(
                "placed although a cap forbade it at {}: {}",
                a.reserved_at.to_rfc3339(),
                caps.join("; ")
            ),
        )))
    }

    /// The attempt the anomaly scan has reached (for status pages and tests).
    pub fn anomaly_cursor(&self) -> Option<AttemptId> {
        *self.anomaly_cursor.lock().expect("anomaly cursor")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn intervals_overlap_when_they_share_an_instant() {
        assert!(overlaps((t(0), Some(t(10))), (t(5), Some(t(20)))));
        assert!(overlaps((t(0), None), (t(100), Some(t(200)))));
        assert!(!overlaps((t(0), Some(t(10))), (t(10), Some(t(20)))));
        assert!(!overlaps((t(20), None), (t(0), Some(t(10)))));
        assert!(overlaps((t(20), None), (t(0), None)));
    }
}
