//! A tick: conclude finished attempts, then claim due leads, check them again at dial
//! time, reserve, pace and send the create requests.

use chrono::{DateTime, Duration, Utc};
use outdial_core::schedule::{Block, LeadRules};
use outdial_providers::{CallContext, PlaceCall};
use outdial_store::{Attempt, Campaign, KillScope, Lead};
use serde::Serialize;
use std::collections::BTreeMap;

use crate::account_limits::provider_pacer_name;
use crate::metrics::DialResult;
use crate::placement::Placements;
use crate::{safety, Engine, EngineError, PACER_NAME};

/// What one [`Engine::tick`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    /// Attempts concluded (redial policy applied).
    pub concluded: u32,
    /// Calls the provider accepted.
    pub placed: u32,
    /// Calls refused for good (bad numbers).
    pub rejected: u32,
    /// Creates with an unknown outcome.
    pub ambiguous: u32,
    /// Calls not placed (rate limit, not sent, configuration errors).
    pub not_placed: u32,
    /// Leads moved because a rule blocked them at dial time.
    pub rescheduled: u32,
    /// Leads parked (no allowed instant).
    pub parked: u32,
}

/// How a claim round of [`Engine::tick`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    /// The claim came back full: more leads may be due.
    Full,
    /// Fewer leads were due than were asked for.
    Drained,
    /// No capacity, a storage fault or a clock behind the high water: no more rounds.
    Stop,
}

impl Engine {
    /// Time between two calls at the configured rate (clock time).
    fn pacing_interval(&self) -> Duration {
        let micros = (1_000_000.0 / self.config.calls_per_second.max(0.001)) as i64;
        Duration::microseconds(micros.max(1))
    }

    /// One scheduler step at `now`: conclude finished attempts, then dial due leads (if the
    /// dialer runs). Placement requests are awaited before returning.
    #[tracing::instrument(skip_all, fields(now = %now))]
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport, EngineError> {
        let res = self.tick_inner(now).await;
        if let Err(e) = &res {
            self.note_error(e);
        }
        res
    }

    async fn tick_inner(&self, now: DateTime<Utc>) -> Result<TickReport, EngineError> {
        let mut report = TickReport {
            concluded: self.conclude_pending(now).await?,
            ..TickReport::default()
        };
        // A storage failure stops new calls at once; the stop is made durable (a tripped
        // global kill switch) as soon as the store takes writes again.
        if !self.persist_storage_fault(now).await? {
            return Ok(report);
        }
        if !self.dialer_running().await? {
            return Ok(report);
        }
        let switches = self.kill_switches().await?;
        if switches.global_tripped() {
            return Ok(report);
        }
        let mut placements = Placements::default();
        let dialed = self
            .dial(now, &switches, &mut placements, &mut report)
            .await;
        // The requests run concurrently; every outcome is recorded (or left to the
        // reconciler) whatever happened to the rest of the tick. No transaction is open
        // meanwhile (invariant 2).
        let recorded = self
            .finish_placements(placements.drain_all(), &mut report)
            .await;
        dialed?;
        recorded?;
        report.concluded += self.conclude_pending(self.clock.now()).await?;
        Ok(report)
    }

    /// The dialing part of a tick: claim due leads, check, reserve, pace and send. Every
    /// create request started is pushed to `placements` before anything else can fail.
    async fn dial(
        &self,
        now: DateTime<Utc>,
        switches: &safety::KillSwitches,
        placements: &mut Placements,
        report: &mut TickReport,
    ) -> Result<(), EngineError> {
        // A clock that went backwards (an NTP step, a VM restored) would let calls out after a
        // window closed in true time: dial only once `now` is past every instant an attempt
        // was reserved at, here or in a previous run.
        let known = *self.high_water.lock().expect("high water");
        let high_water = match known {
            Some(t) => Some(t),
            None => self
                .store
                .recent_attempts(None, 1)
                .await?
                .first()
                .map(|a| a.reserved_at),
        };
        if let Some(hw) = high_water {
            *self.high_water.lock().expect("high water") = Some(hw);
            if now < hw {
                tracing::warn!(%now, high_water = %hw, "clock is behind the latest reservation; not dialing until it catches up");
                return Ok(());
            }
        }
        // Claim after claim while the last came back full, capacity remains and the round
        // budget lasts: the configured pace and concurrency are the ceiling, not a fixed
        // batch per tick.
        let started = std::time::Instant::now();
        let budget = std::time::Duration::from_millis(self.config.dial_budget_real_ms);
        loop {
            let round = self.dial_round(now, switches, placements, report).await?;
            if round != Round::Full || started.elapsed() >= budget {
                return Ok(());
            }
        }
    }

    /// Leads to claim in one round: the room left under `max_concurrent`, and at least
    /// `claim_batch`, up to what the pace lets out in one round budget
    /// (`calls_per_second × dial_budget_real_ms`, converted to clock time); at most 10,000.
    fn claim_size(&self, capacity: u64) -> u32 {
        let budget_s = self.config.dial_budget_real_ms as f64 / 1000.0 * self.clock.speed();
        let by_pace = (self.config.calls_per_second * budget_s).ceil().max(0.0) as u64;
        let wanted = by_pace.max(u64::from(self.config.claim_batch)).min(10_000);
        capacity.min(wanted) as u32
    }

    /// One claim of due leads and the dialing of each: checked, reserved, paced and sent.
    async fn dial_round(
        &self,
        now: DateTime<Utc>,
        switches: &safety::KillSwitches,
        placements: &mut Placements,
        report: &mut TickReport,
    ) -> Result<Round, EngineError> {
        let in_flight = self.store.in_flight_count().await?;
        let capacity = u64::from(self.config.max_concurrent).saturating_sub(in_flight);
        if capacity == 0 {
            return Ok(Round::Stop);
        }
        let limit = self.claim_size(capacity);
        // Provider accounts at a plan limit: their leads are not claimed (they stay due).
        let mut gates = self.account_gates(now).await?;
        let excluded = gates.excluded();
        let due = if excluded.is_empty() {
            self.store.due_leads(now, limit).await?
        } else {
            self.store.due_leads_outside(now, limit, &excluded).await?
        };
        let full = due.len() >= limit as usize;
        for lead in due {
            if switches.stops(lead.campaign_id) {
                continue;
            }
            let campaign = self.campaign(lead.campaign_id).await?;
            let provider_kind = campaign.settings.provider;
            if gates.is_full(provider_kind) {
                // Filled during this tick: the lead waits, untouched.
                continue;
            }
            let facts = self.lead_facts(&lead, &campaign, now).await?;
            let rules = self.rules(&campaign, &facts);
            // Rules at claim time: a blocked lead is moved, not dialed.
            if self.hold_if_blocked(&lead, &rules, now, report).await? {
                continue;
            }
            // Record placements already back, so an accepted call leaves `reserved` within
            // about one pacing interval (less for the reconciler after a crash).
            self.finish_placements(placements.take_finished(), report)
                .await?;
            // The pacer lives in the store, so every instance together keeps the rate.
            // Ask for the slot at the current time, not the tick's start: a slot in the past
            // would let calls burst to catch up.
            let slot = self
                .store
                .reserve_pacing_slot(PACER_NAME, self.pacing_interval(), self.clock.now())
                .await?;
            let wait = self.clock.real_delay_until(slot);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            // The provider account's own rate, fleet-wide, on top of the global one.
            if let Some(interval) = self
                .provider_limits(provider_kind)
                .and_then(|l| l.pacing_interval())
            {
                let slot = self
                    .store
                    .reserve_pacing_slot(
                        &provider_pacer_name(provider_kind),
                        interval,
                        self.clock.now(),
                    )
                    .await?;
                let wait = self.clock.real_delay_until(slot);
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
            }
            // Dial-time check: the same rules again at the instant of dialing (invariant 6).
            let dial_now = self.clock.now();
            if self
                .hold_if_blocked(&lead, &rules, dial_now, report)
                .await?
            {
                continue;
            }
            // A switch tripped meanwhile (by another instance or the monitor) stops the call.
            if self.kill_switches().await?.stops(lead.campaign_id) {
                continue;
            }
            let lists = self.dnc_lists(&lead).await?;
            if !lists.is_empty() {
                let reason = Block::Dnc { lists }.to_string();
                self.store.park_lead(lead.id, &reason, dial_now).await?;
                report.parked += 1;
                continue;
            }
            if self.storage_fault().is_some() {
                return Ok(Round::Stop);
            }
            if self
                .high_water
                .lock()
                .expect("high water")
                .is_some_and(|hw| dial_now < hw)
            {
                return Ok(Round::Stop);
            }
            // A campaign whose provider this engine was not given cannot place a call: its
            // kill switch trips (with an alert) before anything is reserved, and the other
            // campaigns' leads go on.
            let Some(provider) = self.providers.get(&campaign.settings.provider).cloned() else {
                let e = EngineError::NoProvider {
                    campaign: campaign.id,
                    provider: campaign.settings.provider,
                };
                self.trip_kill_switch(
                    KillScope::Campaign(campaign.id),
                    &e.to_string(),
                    "engine:no-provider",
                    &BTreeMap::new(),
                )
                .await?;
                continue;
            };
            let reserved = match gates.caps(provider_kind, campaign.id, dial_now) {
                None => {
                    self.store
                        .reserve_attempt_capped(lead.id, dial_now, self.config.max_concurrent)
                        .await?
                }
                Some(caps) => {
                    let r = self
                        .store
                        .reserve_attempt_within(
                            lead.id,
                            dial_now,
                            self.config.max_concurrent,
                            &caps,
                        )
                        .await?;
                    // Reserved or refused (the account's limit, or the number in flight):
                    // see how much room is left before the next lead of this account.
                    self.remeasure(&mut gates, provider_kind, dial_now).await?;
                    r
                }
            };
            let Some(attempt) = reserved else {
                continue;
            };
            {
                let mut hw = self.high_water.lock().expect("high water");
                *hw = Some(hw.map_or(attempt.reserved_at, |t| t.max(attempt.reserved_at)));
            }
            self.placing.lock().expect("placing set").insert(attempt.id);
            let req = PlaceCall {
                to: lead.phone.clone(),
                from: campaign.settings.caller_id.clone(),
                answer: campaign.settings.answer.clone(),
                machine: campaign.settings.machine.clone(),
                options: campaign.settings.provider_options.clone(),
                status_callback: provider.status_callback_url(&self.config.public_url, attempt.id),
                ring_timeout_s: campaign.settings.ring_timeout_s,
                time_limit_s: campaign.settings.max_call_length_s,
                context: call_context(&attempt, &lead, &campaign),
            };
            let metrics = self.metrics.clone();
            placements.start(attempt, async move {
                let started = std::time::Instant::now();
                let answer = provider.place_call(&req).await;
                metrics.provider_request(provider_kind, "create", started.elapsed());
                metrics.dial_request(provider_kind, DialResult::of(&answer));
                answer
            });
        }
        Ok(if full { Round::Full } else { Round::Drained })
    }

    /// Reschedules (or parks) `lead` if a rule blocks it at `at` or `window_margin_s` later.
    /// Returns `true` when the lead was held.
    async fn hold_if_blocked(
        &self,
        lead: &Lead,
        rules: &LeadRules<'_>,
        at: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<bool, EngineError> {
        let probes = [at, at + Duration::seconds(self.config.window_margin_s)];
        let Some((probe, blocks)) = probes
            .into_iter()
            .map(|p| (p, rules.blocks_at(p)))
            .find(|(_, b)| !b.is_empty())
        else {
            return Ok(false);
        };
        let reason = blocks
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        match rules.next_allowed(probe) {
            Ok(next) => {
                self.store
                    .reschedule_lead(lead.id, next.max(at), &reason, at)
                    .await?;
                report.rescheduled += 1;
            }
            Err(block) => {
                self.store
                    .park_lead(lead.id, &block.to_string(), at)
                    .await?;
                report.parked += 1;
            }
        }
        Ok(true)
    }
}

/// The business context sent with the create request of `attempt`: its ids, the campaign's
/// name, the lead's contact data, and every code of the campaign's disposition catalog (in
/// code order, no aliases; see [`CallContext::dispositions`]).
pub fn call_context(attempt: &Attempt, lead: &Lead, campaign: &Campaign) -> CallContext {
    CallContext {
        attempt: attempt.id,
        lead: lead.id,
        campaign: campaign.id,
        campaign_name: campaign.name.clone(),
        contact: lead.contact.clone(),
        dispositions: campaign
            .settings
            .dispositions
            .entries
            .keys()
            .map(|d| d.as_str().to_owned())
            .collect(),
    }
}
