//! # outdial-engine
//!
//! The dialing loop, split into steps that tests drive one at a time:
//! - [`Engine::tick`]: concludes finished attempts (applies the redial policy), then claims
//!   due leads, checks every rule again at dial time, reserves an attempt (committed before
//!   the provider is asked), paces at the configured calls per second and concurrency, and
//!   places the call;
//! - [`Engine::ingest_call_event`]: applies a verified, parsed provider event (webhook);
//! - [`Engine::reconcile`]: asks the provider about attempts whose webhooks are late, and
//!   resolves attempts whose create outcome was ambiguous.
//!
//! [`Engine::run`] loops over these on the injected clock. Time comes only from the
//! [`Clock`]; the store and the providers are injected (design invariant 7).

pub mod enqueue;
pub mod explain;
pub mod jobs;
pub mod placement;
use placement::Placements;
pub mod safety;

pub use jobs::{JobError, JobHandler, JobsConfig, JobsReport};
pub use safety::{KillSwitches, MonitorReport, SafetyConfig};

use chrono::{DateTime, Duration, Utc};
use outdial_clock::Clock;
use outdial_core::compliance::StateRules;
use outdial_core::disposition::auto_disposition;
use outdial_core::schedule::{
    decide_after_attempt, whereabouts, Block, LeadDecision, LeadRules, Whereabouts,
};
use outdial_core::{AttemptId, AttemptState, CallEvent, CampaignId, Disposition, ProviderKind};
use outdial_providers::{FetchError, PlaceCall, Provider};
use outdial_store::{Attempt, Campaign, EventOutcome, Lead, RawEvent, Store, StoreError};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Name of the fleet-wide call pacer in the store.
pub const PACER_NAME: &str = "calls";
/// Name of the lease under which singleton maintenance (the reconciler) runs.
pub const MAINTENANCE_LEASE: &str = "maintenance";

/// Setting key of the dialer's persisted run state (`running` / `stopped`).
pub const DIALER_SETTING: &str = "dialer";
/// Setting key of the reason the dialer was last stopped.
pub const DIALER_REASON_SETTING: &str = "dialer_reason";

/// Engine settings. Durations are in simulated (clock) seconds unless said otherwise.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Public base URL of this outdial's HTTP server as the provider reaches it, without a
    /// trailing slash (`https://dialer.example.com`). Status callbacks go to
    /// `{public_url}/webhooks/twilio/status?attempt={id}`.
    pub public_url: String,
    /// Most calls placed per second (clock seconds), across campaigns. Twilio's default
    /// account limit is 1 (https://twilio.com/docs/glossary/cps).
    pub calls_per_second: f64,
    /// Most attempts in flight at once, across campaigns.
    pub max_concurrent: u32,
    /// Most leads claimed in one tick.
    pub claim_batch: u32,
    /// Delay before a lead whose call was not placed (429, connection refused) is tried
    /// again, seconds.
    pub not_placed_retry_s: i64,
    /// Age after which the reconciler first asks the provider about an in-flight attempt,
    /// and interval between asks, seconds.
    pub reconcile_after_s: i64,
    /// Age after which an `unknown` or stale `reserved` attempt with no call found at the
    /// provider is declared not placed, seconds.
    pub unknown_resolve_after_s: i64,
    /// The provider request timeout in real milliseconds. A `reserved` attempt younger than
    /// twice this (converted to clock time) may still have its create request under way in
    /// some instance, so the reconciler leaves it alone.
    pub request_timeout_real_ms: u64,
    /// A call is placed only if the rules also allow it this many seconds later, so that
    /// request latency or a short provider queue cannot push the call past a window's
    /// close. Default 120.
    pub window_margin_s: i64,
    /// State calling rules in force (built-in data, possibly merged with an operator file).
    pub state_rules: Arc<StateRules>,
    /// This instance's name, the holder of the maintenance lease.
    pub instance_id: String,
    /// Safety monitor thresholds and the reconciler's end-of-call slack.
    pub safety: SafetyConfig,
    /// Job kinds an alert is delivered through (`alert.email`, `alert.chat`): one durable
    /// job per kind per alert. Empty: alerts are stored and logged only.
    pub alert_channels: Vec<String>,
    /// Job kinds enqueued, with `{"attempt_id": N}`, in the transaction that concludes an
    /// attempt (post-call work such as `crm.attempt_concluded`). Empty: none.
    pub post_call_jobs: Vec<String>,
    /// Job runner settings.
    pub jobs: JobsConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            public_url: "http://127.0.0.1:8080".into(),
            calls_per_second: 1.0,
            max_concurrent: 10,
            claim_batch: 20,
            not_placed_retry_s: 60,
            reconcile_after_s: 120,
            unknown_resolve_after_s: 60,
            window_margin_s: 120,
            request_timeout_real_ms: 15_000,
            state_rules: Arc::new(StateRules::builtin()),
            instance_id: "outdial".into(),
            safety: SafetyConfig::default(),
            alert_channels: Vec::new(),
            post_call_jobs: Vec::new(),
            jobs: JobsConfig::default(),
        }
    }
}

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A disposition label that the campaign's catalog does not know.
    #[error("unknown disposition '{0}'")]
    UnknownDisposition(String),
    /// The request conflicts with the record's state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A campaign uses a provider this engine was not given.
    #[error("campaign {campaign} uses provider {provider:?}, which is not configured")]
    NoProvider {
        /// Campaign.
        campaign: CampaignId,
        /// Its provider.
        provider: ProviderKind,
    },
}

/// What [`Engine::set_disposition`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DispositionOutcome {
    /// Kept; applied when the attempt ends.
    Pending,
    /// Applied to the lead now.
    Applied,
}

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

/// What one [`Engine::reconcile`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// Attempts examined.
    pub examined: u32,
    /// Attempts whose state the provider's answer advanced.
    pub advanced: u32,
    /// Unknown/reserved attempts proven never placed.
    pub not_placed: u32,
    /// Calls ended through the provider because they outlived their bound.
    pub ended: u32,
    /// Provider errors.
    pub errors: u32,
}

/// What the rules need to know about one lead, loaded from the store.
#[derive(Debug, Clone, Serialize)]
pub struct LeadFacts {
    /// Candidate zones and states.
    pub whereabouts: Whereabouts,
    /// Start instants of the lead's attempts that count against caps (UTC).
    pub history: Vec<DateTime<Utc>>,
    /// Start instants of every attempt to the number in any campaign, last 8 days (UTC).
    pub number_history: Vec<DateTime<Utc>>,
}

/// The engine.
#[derive(Debug)]
pub struct Engine {
    store: Arc<dyn Store>,
    providers: HashMap<ProviderKind, Arc<dyn Provider>>,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    /// Attempts whose create request is under way in this process: the reconciler leaves
    /// them alone, since the request may still reach the provider.
    placing: Mutex<HashSet<AttemptId>>,
    campaigns: Mutex<BTreeMap<CampaignId, Campaign>>,
    /// Handlers of durable jobs, by kind.
    job_handlers: HashMap<String, Arc<dyn JobHandler>>,
    /// When this engine was built (clock time): the silence rule waits this long.
    started_at: DateTime<Utc>,
    /// Last attempt the anomaly scan looked at.
    anomaly_cursor: Mutex<Option<AttemptId>>,
    /// Latest reservation instant seen (loaded from the store at the first tick): no call is
    /// placed while the clock reads earlier.
    high_water: Mutex<Option<DateTime<Utc>>>,
    /// A storage failure seen by this process and not yet persisted as a tripped kill
    /// switch: no new call is placed meanwhile (see [`placement`]).
    storage_fault: Mutex<Option<String>>,
}

impl Engine {
    /// An engine over `store`, placing calls through `providers`, reading time from `clock`.
    pub fn new(
        store: Arc<dyn Store>,
        providers: HashMap<ProviderKind, Arc<dyn Provider>>,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Engine {
        let started_at = clock.now();
        Engine {
            store,
            providers,
            clock,
            config,
            placing: Mutex::new(HashSet::new()),
            campaigns: Mutex::new(BTreeMap::new()),
            job_handlers: HashMap::new(),
            started_at,
            anomaly_cursor: Mutex::new(None),
            high_water: Mutex::new(None),
            storage_fault: Mutex::new(None),
        }
    }

    /// Registers the handler of a durable job kind (replacing any earlier one).
    pub fn with_job_handler(mut self, kind: &str, handler: Arc<dyn JobHandler>) -> Engine {
        self.job_handlers.insert(kind.to_owned(), handler);
        self
    }

    /// Time between two calls at the configured rate (clock time).
    fn pacing_interval(&self) -> Duration {
        let micros = (1_000_000.0 / self.config.calls_per_second.max(0.001)) as i64;
        Duration::microseconds(micros.max(1))
    }

    /// Takes or renews the maintenance lease for this instance. The lease lasts 30 real
    /// seconds (converted to clock time), renewed every few seconds by [`Engine::run`].
    pub async fn hold_maintenance_lease(&self, now: DateTime<Utc>) -> Result<bool, EngineError> {
        let ttl = Duration::milliseconds((30_000.0 * self.clock.speed()) as i64);
        Ok(self
            .store
            .try_acquire_lease(MAINTENANCE_LEASE, &self.config.instance_id, ttl, now)
            .await?)
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// A campaign by id, cached.
    pub async fn campaign(&self, id: CampaignId) -> Result<Campaign, EngineError> {
        if let Some(c) = self.campaigns.lock().expect("campaign cache").get(&id) {
            return Ok(c.clone());
        }
        let c = self.store.campaign(id).await?;
        self.campaigns
            .lock()
            .expect("campaign cache")
            .insert(id, c.clone());
        Ok(c)
    }

    /// Drops cached campaign settings (after an operator changes a campaign).
    pub fn forget_campaigns(&self) {
        self.campaigns.lock().expect("campaign cache").clear();
    }

    /// Whether the dialer is running (persisted; default running).
    pub async fn dialer_running(&self) -> Result<bool, EngineError> {
        Ok(self.store.setting(DIALER_SETTING).await?.as_deref() != Some("stopped"))
    }

    /// Starts or stops dialing, persistently, with a reason recorded in the event log.
    pub async fn set_dialer_running(
        &self,
        running: bool,
        reason: &str,
        source: &str,
    ) -> Result<(), EngineError> {
        let now = self.clock.now();
        self.store
            .set_setting(
                DIALER_SETTING,
                if running { "running" } else { "stopped" },
                source,
                now,
            )
            .await?;
        self.store
            .set_setting(DIALER_REASON_SETTING, reason, source, now)
            .await?;
        if running {
            tracing::info!(reason, source, "dialer started");
        } else {
            tracing::warn!(reason, source, "dialer stopped");
        }
        Ok(())
    }

    /// Loads what the rules need to know about a lead: where it may be, its attempts, and
    /// the number's attempts in every campaign over the last 8 days.
    pub async fn lead_facts(
        &self,
        lead: &Lead,
        campaign: &Campaign,
        now: DateTime<Utc>,
    ) -> Result<LeadFacts, EngineError> {
        Ok(LeadFacts {
            whereabouts: whereabouts(
                &lead.phone,
                lead.contact.time_zone,
                lead.contact.state.as_deref(),
                campaign.settings.fallback_time_zone,
            ),
            history: self.store.lead_attempt_times(lead.id).await?,
            number_history: self
                .store
                .phone_attempt_times(&lead.phone, now - Duration::days(8))
                .await?,
        })
    }

    /// The rules for a lead, over facts loaded by [`Engine::lead_facts`].
    pub fn rules<'a>(&'a self, campaign: &'a Campaign, facts: &'a LeadFacts) -> LeadRules<'a> {
        LeadRules {
            campaign: &campaign.settings,
            state_rules: &self.config.state_rules,
            whereabouts: &facts.whereabouts,
            history: &facts.history,
            number_history: &facts.number_history,
            slack: Duration::seconds(self.config.window_margin_s),
        }
    }

    /// The do-not-call lists that hold the lead's number for its campaign (empty: none).
    pub async fn dnc_lists(&self, lead: &Lead) -> Result<Vec<String>, EngineError> {
        Ok(self
            .store
            .dnc_check(&lead.phone, Some(lead.campaign_id))
            .await?
            .into_iter()
            .map(|e| e.scope.as_key())
            .collect())
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
        let in_flight = self.store.in_flight_count().await?;
        let capacity = u64::from(self.config.max_concurrent).saturating_sub(in_flight);
        if capacity == 0 {
            return Ok(());
        }
        let limit = capacity.min(u64::from(self.config.claim_batch)) as u32;
        let due = self.store.due_leads(now, limit).await?;
        for lead in due {
            if switches.stops(lead.campaign_id) {
                continue;
            }
            let campaign = self.campaign(lead.campaign_id).await?;
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
                break;
            }
            if self
                .high_water
                .lock()
                .expect("high water")
                .is_some_and(|hw| dial_now < hw)
            {
                break;
            }
            let Some(attempt) = self
                .store
                .reserve_attempt_capped(lead.id, dial_now, self.config.max_concurrent)
                .await?
            else {
                continue;
            };
            {
                let mut hw = self.high_water.lock().expect("high water");
                *hw = Some(hw.map_or(attempt.reserved_at, |t| t.max(attempt.reserved_at)));
            }
            let provider = self
                .providers
                .get(&campaign.settings.provider)
                .cloned()
                .ok_or(EngineError::NoProvider {
                    campaign: campaign.id,
                    provider: campaign.settings.provider,
                })?;
            self.placing.lock().expect("placing set").insert(attempt.id);
            let req = PlaceCall {
                to: lead.phone.clone(),
                from: campaign.settings.caller_id.clone(),
                answer: campaign.settings.answer.clone(),
                status_callback: outdial_providers::twilio::webhook::status_callback_url(
                    &self.config.public_url,
                    attempt.id.0,
                ),
                ring_timeout_s: campaign.settings.ring_timeout_s,
                time_limit_s: campaign.settings.max_call_length_s,
                machine_detection: campaign.settings.machine_detection.clone(),
            };
            placements.start(attempt, async move { provider.place_call(&req).await });
        }
        Ok(())
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

    /// Concludes every final attempt whose lead is not yet updated. Returns how many.
    pub async fn conclude_pending(&self, now: DateTime<Utc>) -> Result<u32, EngineError> {
        let mut n = 0;
        loop {
            let ids = self.store.attempts_to_conclude(200).await?;
            if ids.is_empty() {
                return Ok(n);
            }
            let batch = ids.len();
            for id in ids {
                if self.conclude(id, now).await? {
                    n += 1;
                }
            }
            if batch < 200 {
                return Ok(n);
            }
        }
    }

    /// Applies the redial policy to the lead of a final attempt. Returns `false` if the
    /// attempt is not final or already concluded.
    #[tracing::instrument(skip_all, fields(attempt = %id))]
    pub async fn conclude(&self, id: AttemptId, now: DateTime<Utc>) -> Result<bool, EngineError> {
        let Some(attempt) = self.store.attempt(id).await? else {
            return Ok(false);
        };
        if !attempt.state.is_final() || attempt.concluded_at.is_some() {
            return Ok(false);
        }
        let Some(lead) = self.store.lead(attempt.lead_id).await? else {
            return Err(StoreError::NotFound(format!("lead {}", attempt.lead_id)).into());
        };
        let campaign = self.campaign(lead.campaign_id).await?;
        let facts = self.lead_facts(&lead, &campaign, now).await?;
        let rules = self.rules(&campaign, &facts);
        let mut recent: Vec<Disposition> = self
            .store
            .lead_attempts(lead.id)
            .await?
            .into_iter()
            .filter(|a| a.id != id)
            .filter_map(|a| a.disposition)
            .collect();
        let (disposition, decision) = match attempt.state {
            AttemptState::Ended => {
                let status = attempt
                    .call_status
                    .unwrap_or(outdial_core::CallStatus::Failed);
                // A business disposition reported during the call wins over the automatic one.
                let d = attempt
                    .requested_disposition
                    .clone()
                    .or_else(|| auto_disposition(status, attempt.answered_by))
                    .unwrap_or_else(|| Disposition::normalise("FAILED").expect("valid code"));
                // The redial interval runs from the instant outdial learned the call ended, on
                // its own clock: a provider's end time (skewed, or before the reservation)
                // informs reports but never shortens a gap. `now` is that instant (the final
                // event concludes at once) or later (concluded after a restart): never earlier.
                let ended = now.max(attempt.ended_at.unwrap_or(now));
                recent.push(d.clone());
                let decision = decide_after_attempt(
                    &campaign.settings.dispositions,
                    &rules,
                    &d,
                    &recent,
                    ended,
                    attempt.callback_at,
                );
                (d, decision)
            }
            AttemptState::Rejected => {
                let d = Disposition::bad_number();
                recent.push(d.clone());
                let decision = decide_after_attempt(
                    &campaign.settings.dispositions,
                    &rules,
                    &d,
                    &recent,
                    now,
                    None,
                );
                (d, decision)
            }
            AttemptState::NotPlaced
                if attempt.error_code.as_deref()
                    == Some(placement::FAILURE_REFUSED_DESTINATION) =>
            {
                // The provider refuses this destination from this account: no retry helps
                // until an operator changes the account's permissions.
                let d = Disposition::normalise("NOT_PLACED").expect("valid code");
                let reason = format!(
                    "the provider refuses calls to this destination: {}",
                    attempt.error_message.as_deref().unwrap_or("no message")
                );
                (d, LeadDecision::Park { reason })
            }
            _ => {
                let d = Disposition::normalise("NOT_PLACED").expect("valid code");
                let earliest = now + Duration::seconds(self.config.not_placed_retry_s);
                let decision = match rules.next_allowed(earliest) {
                    Ok(at) => LeadDecision::Redial { at },
                    Err(b) => LeadDecision::Park {
                        reason: b.to_string(),
                    },
                };
                (d, decision)
            }
        };
        tracing::debug!(disposition = %disposition, ?decision, "attempt concluded");
        self.honour_dnc(&campaign, &lead, &disposition, id, now)
            .await?;
        Ok(self
            .store
            .conclude_attempt(
                id,
                &disposition,
                &decision,
                &self.follow_up_jobs(id, now),
                now,
            )
            .await?)
    }

    /// The post-call jobs of an attempt (one per configured kind), carrying its id only.
    fn follow_up_jobs(&self, id: AttemptId, now: DateTime<Utc>) -> Vec<outdial_store::NewJob> {
        self.config
            .post_call_jobs
            .iter()
            .map(|kind| outdial_store::NewJob {
                kind: kind.clone(),
                payload: format!("{{\"attempt_id\":{}}}", id.0),
                run_at: now,
                dedupe_key: Some(format!("{kind}:{}", id.0)),
            })
            .collect()
    }

    /// A DNC disposition puts the number on the internal list at once, for every campaign
    /// (47 CFR 64.1200(d)(3): honour a do-not-call request).
    async fn honour_dnc(
        &self,
        campaign: &Campaign,
        lead: &Lead,
        disposition: &Disposition,
        attempt: AttemptId,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        if campaign.settings.dispositions.flags(disposition).dnc {
            let entry = outdial_store::DncEntry {
                phone: lead.phone.clone(),
                scope: outdial_store::DncScope::Internal,
                source: "disposition".into(),
                reason: Some(format!("disposition {disposition} on attempt {attempt}")),
                added_at: now,
            };
            self.store.dnc_add(&[entry], now).await?;
        }
        Ok(())
    }

    /// Records a business disposition for an attempt (from the call flow, an agent or the
    /// API), with an optional callback time (UTC). The label is resolved through the
    /// campaign's catalog and aliases.
    ///
    /// Before the attempt is concluded the disposition is kept for conclusion to use
    /// ([`DispositionOutcome::Pending`], or [`DispositionOutcome::Applied`] if the attempt was
    /// final and is concluded at once). After, the lead's fate is decided again from this
    /// disposition, as long as this is the lead's latest attempt and no other is in flight.
    ///
    /// Errors: [`EngineError::UnknownDisposition`] for a label the catalog does not know;
    /// [`EngineError::Conflict`] when the lead has moved on; `NotFound` for a missing attempt.
    #[tracing::instrument(skip_all, fields(attempt = %id, label))]
    pub async fn set_disposition(
        &self,
        id: AttemptId,
        label: &str,
        callback_at: Option<DateTime<Utc>>,
        source: &str,
    ) -> Result<DispositionOutcome, EngineError> {
        let now = self.clock.now();
        let attempt = self
            .store
            .attempt(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("attempt {id}")))?;
        let campaign = self.campaign(attempt.campaign_id).await?;
        let disposition = campaign
            .settings
            .dispositions
            .resolve(label)
            .ok_or_else(|| EngineError::UnknownDisposition(label.to_owned()))?;
        if attempt.concluded_at.is_none()
            && self
                .store
                .request_disposition(id, &disposition, callback_at, source, now)
                .await?
        {
            if attempt.state.is_final() && self.conclude(id, now).await? {
                return Ok(DispositionOutcome::Applied);
            }
            return Ok(DispositionOutcome::Pending);
        }
        // Already concluded: decide the lead's fate again.
        let lead = self
            .store
            .lead(attempt.lead_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("lead {}", attempt.lead_id)))?;
        let facts = self.lead_facts(&lead, &campaign, now).await?;
        let rules = self.rules(&campaign, &facts);
        let mut recent: Vec<Disposition> = self
            .store
            .lead_attempts(lead.id)
            .await?
            .into_iter()
            .filter(|a| a.id != id)
            .filter_map(|a| a.disposition)
            .collect();
        recent.push(disposition.clone());
        let ended = attempt.ended_at.unwrap_or(now).max(now);
        let decision = decide_after_attempt(
            &campaign.settings.dispositions,
            &rules,
            &disposition,
            &recent,
            ended,
            callback_at,
        );
        if !self
            .store
            .redispose_attempt(id, &disposition, callback_at, &decision, source, now)
            .await?
        {
            return Err(EngineError::Conflict(format!(
                "attempt {id} is not the lead's latest concluded attempt, or the lead is dialing"
            )));
        }
        self.honour_dnc(&campaign, &lead, &disposition, id, now)
            .await?;
        Ok(DispositionOutcome::Applied)
    }

    /// Applies a verified, parsed provider event. `attempt_hint` is the attempt id carried
    /// in the callback URL; `raw` is the payload as received, stored in the same transaction.
    /// A final event concludes the attempt at once.
    #[tracing::instrument(skip_all, fields(call_id = %event.call_id, status = event.status.as_str()))]
    pub async fn ingest_call_event(
        &self,
        attempt_hint: Option<AttemptId>,
        event: &CallEvent,
        raw: &RawEvent,
    ) -> Result<EventOutcome, EngineError> {
        let now = self.clock.now();
        let outcome = match self
            .store
            .apply_call_event(attempt_hint, event, raw, now)
            .await
        {
            Ok(o) => o,
            Err(e) => {
                let e = EngineError::Store(e);
                self.note_error(&e);
                return Err(e);
            }
        };
        match &outcome {
            EventOutcome::Applied { attempt, .. } if attempt.state.is_final() => {
                self.conclude(attempt.id, now).await?;
            }
            EventOutcome::UnknownCall => {
                tracing::warn!(
                    "event for a call outdial has no attempt for; recorded, nothing changed"
                );
            }
            _ => {}
        }
        Ok(outcome)
    }

    /// One reconciler step at `now`: for in-flight attempts older than
    /// `reconcile_after_s` (and not asked about for as long), fetch the call from the
    /// provider and apply what it says; resolve `unknown` and stale `reserved` attempts by
    /// listing the provider's calls to the number.
    #[tracing::instrument(skip_all, fields(now = %now))]
    pub async fn reconcile(&self, now: DateTime<Utc>) -> Result<ReconcileReport, EngineError> {
        let mut report = ReconcileReport::default();
        let mut last_error: Option<String> = None;
        let age = Duration::seconds(self.config.reconcile_after_s);
        // A `reserved` attempt's create request may still be under way, in this process or in
        // another instance: leave it alone until the request must have ended (its timeout,
        // which is real time, converted to clock time), and at least `unknown_resolve_after_s`
        // (default 60 s). After that it is resolved by listing, without waiting for `age`.
        let request_bound = Duration::milliseconds(
            (self.config.request_timeout_real_ms as f64 * 2.0 * self.clock.speed()) as i64,
        )
        .max(Duration::seconds(self.config.unknown_resolve_after_s));
        let candidates = self
            .store
            .attempts_to_reconcile(now - age.min(request_bound), now - age, 100)
            .await?;
        for attempt in candidates {
            let placing_here = self
                .placing
                .lock()
                .expect("placing set")
                .contains(&attempt.id);
            let maybe_placing = attempt.state == AttemptState::Reserved
                && now - attempt.reserved_at < request_bound;
            // Calls the provider accepted are first asked about at `age`.
            let too_young = attempt.call_id.is_some() && now - attempt.reserved_at < age;
            if placing_here || maybe_placing || too_young {
                continue;
            }
            report.examined += 1;
            let campaign = self.campaign(attempt.campaign_id).await?;
            let Some(provider) = self.providers.get(&campaign.settings.provider).cloned() else {
                continue;
            };
            let res = match &attempt.call_id {
                Some(call_id) => {
                    self.reconcile_by_id(&*provider, &campaign, &attempt, call_id, now)
                        .await
                }
                None => self.reconcile_by_list(&*provider, &attempt, now).await,
            };
            match res {
                Ok(Resolution::Advanced) => report.advanced += 1,
                Ok(Resolution::Ended) => {
                    report.advanced += 1;
                    report.ended += 1;
                }
                Ok(Resolution::NotPlaced) => report.not_placed += 1,
                Ok(Resolution::Unchanged) => {}
                Err(ReconcileFailure::Store(e)) => return Err(e),
                Err(ReconcileFailure::Provider(e)) => {
                    report.errors += 1;
                    tracing::warn!(attempt = %attempt.id, error = %e, "reconciler could not reach the provider; the attempt stays blocked");
                    if let FetchError::Auth(m) = &e {
                        self.trip_kill_switch(
                            outdial_store::KillScope::Global,
                            &format!("provider refused the credentials: {m}"),
                            "engine:provider-auth",
                            &BTreeMap::new(),
                        )
                        .await?;
                    }
                    last_error = Some(e.to_string());
                }
            }
            self.store.mark_reconciled(attempt.id, now).await?;
        }
        if let Some(error) = last_error {
            let in_flight = self.store.in_flight_count().await?;
            // One alert per hour at most while the provider stays unreachable.
            self.raise_alert(outdial_store::NewAlert {
                kind: "provider.unreachable".into(),
                scope: "global".into(),
                subject: format!(
                    "outdial cannot reach the provider: {} attempt(s) stay blocked",
                    report.errors
                ),
                body: format!(
                    "The reconciler could not ask the provider about {errors} of {examined} \
                     attempt(s) at {now} UTC. Last error: {error}\n\nCounts:\n  attempts \
                     the provider could not be asked about: {errors}\n  attempts in flight \
                     (each blocks its number and counts against caps until resolved): \
                     {in_flight}\n\nWhat to do: check the provider's status page, the \
                     network path and the credentials. Nothing is redialed while its attempt \
                     is unresolved; the reconciler keeps asking every {every} s.\n",
                    errors = report.errors,
                    examined = report.examined,
                    now = now.format("%Y-%m-%d %H:%M:%S"),
                    every = self.config.reconcile_after_s,
                ),
                dedupe_key: Some(format!(
                    "provider.unreachable:{}",
                    now.format("%Y-%m-%dT%H")
                )),
            })
            .await?;
        }
        self.conclude_pending(now).await?;
        Ok(report)
    }

    /// The longest a call may stay live before the reconciler ends it: ring timeout +
    /// longest call + `end_call_slack_s`, from its placement.
    pub fn call_bound(&self, campaign: &Campaign) -> Duration {
        Duration::seconds(
            i64::from(campaign.settings.ring_timeout_s)
                + i64::from(campaign.settings.max_call_length_s)
                + self.config.safety.end_call_slack_s,
        )
    }

    async fn apply_snapshot(
        &self,
        attempt: &Attempt,
        snap: &outdial_providers::CallSnapshot,
        now: DateTime<Utc>,
    ) -> Result<Resolution, EngineError> {
        let event = snap.to_event(now);
        let raw = RawEvent {
            source: "reconciler".into(),
            dedupe_key: format!("reconcile:{}:{}", snap.call_id, snap.status.as_str()),
            payload: format!(
                "{{\"call_id\":\"{}\",\"status\":\"{}\",\"duration_s\":{}}}",
                snap.call_id,
                snap.status.as_str(),
                snap.duration_s
                    .map_or("null".to_string(), |d| d.to_string())
            ),
        };
        let outcome = self
            .store
            .apply_call_event(Some(attempt.id), &event, &raw, now)
            .await?;
        Ok(match outcome {
            EventOutcome::Applied { .. } => Resolution::Advanced,
            _ => Resolution::Unchanged,
        })
    }

    async fn reconcile_by_id(
        &self,
        provider: &dyn Provider,
        campaign: &Campaign,
        attempt: &Attempt,
        call_id: &outdial_core::ProviderCallId,
        now: DateTime<Utc>,
    ) -> Result<Resolution, ReconcileFailure> {
        match provider.fetch_call(call_id).await {
            Ok(snap) if !snap.status.is_final() => {
                // From the reservation: our own clock's instant (placed_at may be the
                // provider's event time, and the two clocks may disagree).
                if now - attempt.reserved_at <= self.call_bound(campaign) {
                    return Ok(self.apply_snapshot(attempt, &snap, now).await?);
                }
                // Outlived its bound (a stuck call, a TimeLimit the provider ignored): end it.
                tracing::warn!(attempt = %attempt.id, %call_id, status = snap.status.as_str(), "call outlived ring timeout + longest call + slack; ending it");
                let ended = provider
                    .end_call(call_id)
                    .await
                    .map_err(ReconcileFailure::Provider)?;
                self.store
                    .record_event(
                        Some(attempt.lead_id),
                        Some(attempt.id),
                        "call.end_requested",
                        "reconciler",
                        &format!(
                            "{{\"call_id\":\"{}\",\"was\":\"{}\",\"now\":\"{}\"}}",
                            call_id.as_str(),
                            snap.status.as_str(),
                            ended.status.as_str()
                        ),
                        now,
                    )
                    .await?;
                match self.apply_snapshot(attempt, &ended, now).await? {
                    Resolution::Advanced if ended.status.is_final() => Ok(Resolution::Ended),
                    r => Ok(r),
                }
            }
            Ok(snap) => Ok(self.apply_snapshot(attempt, &snap, now).await?),
            Err(FetchError::NotFound) => {
                tracing::warn!(attempt = %attempt.id, %call_id, "provider does not know a call it accepted; will ask again");
                Ok(Resolution::Unchanged)
            }
            Err(e) => Err(ReconcileFailure::Provider(e)),
        }
    }

    async fn reconcile_by_list(
        &self,
        provider: &dyn Provider,
        attempt: &Attempt,
        now: DateTime<Utc>,
    ) -> Result<Resolution, ReconcileFailure> {
        let since = attempt.reserved_at - Duration::seconds(2);
        let calls = provider
            .list_calls_to(&attempt.phone, since)
            .await
            .map_err(ReconcileFailure::Provider)?;
        for snap in calls {
            if snap.created_at.is_some_and(|c| c < since) {
                continue;
            }
            let owned = self
                .store
                .apply_call_event(
                    Some(attempt.id),
                    &snap.to_event(now),
                    &RawEvent {
                        source: "reconciler".into(),
                        dedupe_key: format!("reconcile:{}:{}", snap.call_id, snap.status.as_str()),
                        payload: format!(
                            "{{\"call_id\":\"{}\",\"status\":\"{}\",\"matched_by\":\"list\"}}",
                            snap.call_id,
                            snap.status.as_str()
                        ),
                    },
                    now,
                )
                .await?;
            match owned {
                EventOutcome::Applied { attempt: a, .. } if a.id == attempt.id => {
                    return Ok(Resolution::Advanced)
                }
                EventOutcome::Stale { attempt_id } | EventOutcome::Late { attempt_id }
                    if attempt_id == attempt.id =>
                {
                    return Ok(Resolution::Unchanged)
                }
                _ => continue,
            }
        }
        let age = now - attempt.reserved_at;
        if age >= Duration::seconds(self.config.unknown_resolve_after_s) {
            let ok = self
                .store
                .mark_not_placed(
                    attempt.id,
                    "no-call-found",
                    "the provider lists no call to this number since the reservation",
                    now,
                )
                .await?;
            if ok {
                return Ok(Resolution::NotPlaced);
            }
        }
        Ok(Resolution::Unchanged)
    }

    /// Runs tick and reconcile forever on the clock, every `interval` of real time, until
    /// `shutdown` resolves. Errors are logged, never fatal: the next step retries.
    pub async fn run(
        self: Arc<Self>,
        interval: std::time::Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut last_reconcile: Option<DateTime<Utc>> = None;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let now = self.clock.now();
            match self.tick(now).await {
                Ok(r) if r != TickReport::default() => tracing::debug!(?r, "tick"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "scheduler tick failed"),
            }
            let now = self.clock.now();
            let due = last_reconcile.is_none_or(|t| now - t >= Duration::seconds(5));
            if due {
                last_reconcile = Some(now);
                // Singleton maintenance: only the instance holding the lease reconciles.
                match self.hold_maintenance_lease(now).await {
                    Ok(true) => {
                        if let Err(e) = self.reconcile(now).await {
                            self.note_error(&e);
                            tracing::error!(error = %e, "reconciler step failed");
                        }
                        match self.monitor(self.clock.now()).await {
                            Ok(r) if !r.tripped.is_empty() => {
                                tracing::error!(tripped = ?r.tripped, "safety monitor tripped kill switches")
                            }
                            Ok(_) => {}
                            Err(e) => tracing::error!(error = %e, "safety monitor step failed"),
                        }
                    }
                    Ok(false) => {}
                    Err(e) => tracing::error!(error = %e, "maintenance lease failed"),
                }
            }
            // Durable jobs run on every instance; claims keep them exclusive.
            match self.run_jobs(self.clock.now()).await {
                Ok(r) if r != JobsReport::default() => tracing::debug!(?r, "jobs"),
                Ok(_) => {}
                Err(e) => {
                    self.note_error(&e);
                    tracing::error!(error = %e, "job runner step failed")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

enum Resolution {
    Advanced,
    Ended,
    NotPlaced,
    Unchanged,
}

#[derive(Debug, thiserror::Error)]
enum ReconcileFailure {
    #[error(transparent)]
    Store(#[from] EngineError),
    #[error("provider: {0}")]
    Provider(FetchError),
}

impl From<StoreError> for ReconcileFailure {
    fn from(e: StoreError) -> Self {
        ReconcileFailure::Store(EngineError::Store(e))
    }
}
