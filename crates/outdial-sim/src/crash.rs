//! Crashes at store and provider boundaries.
//!
//! [`CrashStore`] and [`CrashProvider`] wrap the real store and the fake provider. Both count
//! every operation through one [`CrashCtl`]; when the armed [`CrashPoint`] is reached the
//! engine "dies" before the operation (nothing happens) or after it (the operation took
//! effect, but the engine never sees the result). From then on every operation of that
//! engine fails without effect, exactly as if the process had been killed: store operations
//! with [`StoreError::InvalidArgument`]`("simulated crash")`, `place_call` with
//! [`PlaceError::NotSent`], fetch, list and end with [`FetchError::Unavailable`]. The
//! simulator then drops the engine, reopens the SQLite file and builds a new engine whose
//! decorators carry the next *generation*: a leftover task of the dead engine can never act
//! again, even after the flag is cleared.

use super::clock::SimClock;
use super::trace::Trace;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use outdial_core::schedule::LeadDecision;
use outdial_core::{
    AttemptId, CallEvent, CampaignId, CampaignSettings, Disposition, LeadId, NewLead,
    ProviderCallId, E164,
};
use outdial_providers::{CallSnapshot, FetchError, PlaceCall, PlaceError, PlacedCall, Provider};
use outdial_store::prelude::*;
use outdial_store::{
    AlertId, AlertRecord, Attempt, Campaign, DncEntry, DncScope, EventOutcome, EventRecord,
    InsertReport, Job, JobId, JobState, KillScope, KillSwitch, Lead, LeadPlacement, NewAlert,
    NewJob, Placement, RawEvent, StatusCounts, Store, StoreError, StoreResult,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

mod provider;
pub use provider::CrashProvider;

/// Before or after the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// The engine dies before the operation: it has no effect.
    Before,
    /// The operation takes effect, then the engine dies before seeing its result.
    After,
}

impl Phase {
    /// `before` or `after`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Before => "before",
            Phase::After => "after",
        }
    }
}

/// Store operations the engine performs, each a crash boundary (operations the engine does
/// not call yet are listed too: a crash armed on one is re-armed elsewhere after a while).
pub const STORE_BOUNDARIES: &[&str] = &[
    "campaign",
    "lead",
    "due_leads",
    "reschedule_lead",
    "park_lead",
    "lead_attempt_times",
    "phone_attempt_times",
    "reserve_attempt_capped",
    "reserve_pacing_slot",
    "try_acquire_lease",
    "attempt",
    "lead_attempts",
    "mark_placed",
    "mark_rejected",
    "mark_unknown",
    "mark_not_placed",
    "apply_call_event",
    "attempts_to_conclude",
    "conclude_attempt",
    "attempts_to_reconcile",
    "in_flight_count",
    "mark_reconciled",
    "dnc_check",
    "setting",
    "set_setting",
    "set_kill_switch",
    "kill_switches",
    "enqueue_job",
    "claim_jobs",
    "finish_job",
    "retry_job",
    "raise_alert",
    "recent_attempts",
    "latest_event_at",
];

/// Provider operations, each a crash boundary.
pub const PROVIDER_BOUNDARIES: &[&str] = &["place_call", "fetch_call", "list_calls_to", "end_call"];

/// Boundaries the engine crosses at most about once per call (or only on rare events: a
/// refused number, an ambiguous create, a kill-switch trip, a restart). Half the crashes aim
/// at these.
pub const RARE_BOUNDARIES: &[&str] = &[
    "campaign",
    "mark_placed",
    "mark_rejected",
    "mark_unknown",
    "mark_not_placed",
    "conclude_attempt",
    "reserve_attempt_capped",
    "reschedule_lead",
    "park_lead",
    "set_kill_switch",
    "raise_alert",
    "finish_job",
    "retry_job",
    "set_setting",
    "list_calls_to",
    "end_call",
    "place_call",
];

/// Where the next crash happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashPoint {
    /// Operation name (one of [`STORE_BOUNDARIES`] or [`PROVIDER_BOUNDARIES`]).
    pub op: &'static str,
    /// Before or after it.
    pub phase: Phase,
    /// Matching operations to let through first.
    pub skip: u32,
    /// Not before this true instant.
    pub not_before: DateTime<Utc>,
}

/// A deliberate defect, for proving that the checks catch what they claim to. Only with the
/// `sabotage` feature (tests), so the release binary holds no planted bug.
#[cfg(feature = "sabotage")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sabotage {
    /// The store reports every conclusion of this attempt as done without writing it.
    NeverConclude(AttemptId),
    /// A call overlapping another call to the same number is added to the ledger at the end.
    OverlappingLedgerEntry,
}

/// Whether an operation proceeds normally or kills the engine once done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Proceed.
    Pass,
    /// Proceed, then die before returning the result.
    CrashAfter,
}

#[derive(Debug)]
struct CtlState {
    dead: bool,
    generation: u64,
    armed: Option<CrashPoint>,
    ops: u64,
    by_op: BTreeMap<&'static str, u64>,
    fired: Option<(&'static str, Phase)>,
}

/// The shared crash switch of one simulated run.
#[derive(Debug)]
pub struct CrashCtl {
    clock: Arc<SimClock>,
    trace: Trace,
    state: Mutex<CtlState>,
}

impl CrashCtl {
    /// A live switch, generation 0, nothing armed.
    pub fn new(clock: Arc<SimClock>, trace: Trace) -> CrashCtl {
        CrashCtl {
            clock,
            trace,
            state: Mutex::new(CtlState {
                dead: false,
                generation: 0,
                armed: None,
                ops: 0,
                by_op: BTreeMap::new(),
                fired: None,
            }),
        }
    }

    /// The current generation (the live engine's decorators carry it).
    pub fn generation(&self) -> u64 {
        self.state.lock().expect("crash lock").generation
    }

    /// Whether an engine of generation `generation` may still act.
    pub fn alive(&self, generation: u64) -> bool {
        let g = self.state.lock().expect("crash lock");
        !g.dead && g.generation == generation
    }

    /// Whether the current engine died.
    pub fn is_dead(&self) -> bool {
        self.state.lock().expect("crash lock").dead
    }

    /// Operations counted so far.
    pub fn ops(&self) -> u64 {
        self.state.lock().expect("crash lock").ops
    }

    /// Operations counted so far, by name.
    pub fn ops_by_name(&self) -> BTreeMap<&'static str, u64> {
        self.state.lock().expect("crash lock").by_op.clone()
    }

    /// Arms the next crash (replacing any armed one).
    pub fn arm(&self, point: CrashPoint) {
        self.state.lock().expect("crash lock").armed = Some(point);
    }

    /// The armed crash, if any.
    pub fn armed(&self) -> Option<CrashPoint> {
        self.state.lock().expect("crash lock").armed.clone()
    }

    /// Disarms.
    pub fn disarm(&self) {
        self.state.lock().expect("crash lock").armed = None;
    }

    /// The crash that fired since the last call, if any.
    pub fn take_fired(&self) -> Option<(&'static str, Phase)> {
        self.state.lock().expect("crash lock").fired.take()
    }

    /// Clears the dead flag and starts the next generation (after a restart).
    pub fn revive(&self) -> u64 {
        let mut g = self.state.lock().expect("crash lock");
        g.dead = false;
        g.generation += 1;
        g.generation
    }

    fn die(&self, g: &mut CtlState, op: &'static str, phase: Phase) {
        g.dead = true;
        g.armed = None;
        g.fired = Some((op, phase));
        self.trace.line(
            self.clock.true_now(),
            format!("CRASH {} {op} (operation #{})", phase.as_str(), g.ops),
        );
    }

    /// Called before operation `op` of an engine of `generation`. `None` when that engine
    /// is dead (or dies now, before the operation).
    pub fn enter(&self, generation: u64, op: &'static str) -> Option<Gate> {
        let mut g = self.state.lock().expect("crash lock");
        if g.dead || g.generation != generation {
            return None;
        }
        g.ops += 1;
        *g.by_op.entry(op).or_default() += 1;
        let now = self.clock.true_now();
        let hit = match g.armed.as_mut() {
            Some(p) if p.op == op && now >= p.not_before => {
                if p.skip > 0 {
                    p.skip -= 1;
                    None
                } else {
                    Some(p.phase)
                }
            }
            _ => None,
        };
        match hit {
            Some(Phase::Before) => {
                self.die(&mut g, op, Phase::Before);
                None
            }
            Some(Phase::After) => {
                g.armed = None;
                Some(Gate::CrashAfter)
            }
            None => Some(Gate::Pass),
        }
    }

    /// Kills the engine after operation `op` took effect.
    pub fn crash_after(&self, op: &'static str) {
        let mut g = self.state.lock().expect("crash lock");
        if !g.dead {
            self.die(&mut g, op, Phase::After);
        }
    }
}

fn crashed() -> StoreError {
    StoreError::InvalidArgument("simulated crash".into())
}

/// The store as a crashing engine sees it.
#[derive(Debug)]
pub struct CrashStore {
    inner: Arc<dyn Store>,
    ctl: Arc<CrashCtl>,
    generation: u64,
    #[cfg(feature = "sabotage")]
    sabotage: Option<Sabotage>,
}

impl CrashStore {
    /// Wraps `inner` for the engine of `generation`.
    pub fn new(inner: Arc<dyn Store>, ctl: Arc<CrashCtl>, generation: u64) -> CrashStore {
        CrashStore {
            inner,
            ctl,
            generation,
            #[cfg(feature = "sabotage")]
            sabotage: None,
        }
    }

    /// The same store with a deliberate defect (tests only).
    #[cfg(feature = "sabotage")]
    pub fn with_sabotage(mut self, sabotage: Option<Sabotage>) -> CrashStore {
        self.sabotage = sabotage;
        self
    }
}

macro_rules! guard {
    ($s:ident, $op:literal, $call:expr) => {{
        let gate = $s.ctl.enter($s.generation, $op).ok_or_else(crashed)?;
        let r = $call.await;
        if gate == Gate::CrashAfter {
            $s.ctl.crash_after($op);
        }
        if !$s.ctl.alive($s.generation) {
            return Err(crashed());
        }
        r
    }};
}

#[async_trait]
impl Campaigns for CrashStore {
    async fn create_campaign(
        &self,
        name: &str,
        settings: &CampaignSettings,
        now: DateTime<Utc>,
    ) -> StoreResult<Campaign> {
        guard!(
            self,
            "create_campaign",
            self.inner.create_campaign(name, settings, now)
        )
    }
    async fn update_campaign(
        &self,
        id: CampaignId,
        settings: &CampaignSettings,
        active: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Campaign> {
        guard!(
            self,
            "update_campaign",
            self.inner.update_campaign(id, settings, active, now)
        )
    }
    async fn campaign(&self, id: CampaignId) -> StoreResult<Campaign> {
        guard!(self, "campaign", self.inner.campaign(id))
    }
    async fn campaign_by_name(&self, name: &str) -> StoreResult<Option<Campaign>> {
        guard!(self, "campaign_by_name", self.inner.campaign_by_name(name))
    }
    async fn campaigns(&self) -> StoreResult<Vec<Campaign>> {
        guard!(self, "campaigns", self.inner.campaigns())
    }
}

#[async_trait]
impl Leads for CrashStore {
    async fn insert_leads(
        &self,
        campaign_id: CampaignId,
        leads: &[(NewLead, LeadPlacement)],
        now: DateTime<Utc>,
    ) -> StoreResult<InsertReport> {
        guard!(
            self,
            "insert_leads",
            self.inner.insert_leads(campaign_id, leads, now)
        )
    }
    async fn lead(&self, id: LeadId) -> StoreResult<Option<Lead>> {
        guard!(self, "lead", self.inner.lead(id))
    }
    async fn leads_after(&self, after: LeadId, limit: u32) -> StoreResult<Vec<Lead>> {
        guard!(self, "leads_after", self.inner.leads_after(after, limit))
    }
    async fn leads_by_phone(&self, phone: &E164) -> StoreResult<Vec<Lead>> {
        guard!(self, "leads_by_phone", self.inner.leads_by_phone(phone))
    }
    async fn leads_by_external_id(
        &self,
        campaign: CampaignId,
        external_id: &str,
    ) -> StoreResult<Vec<Lead>> {
        guard!(
            self,
            "leads_by_external_id",
            self.inner.leads_by_external_id(campaign, external_id)
        )
    }
    async fn due_leads(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Lead>> {
        guard!(self, "due_leads", self.inner.due_leads(now, limit))
    }
    async fn reschedule_lead(
        &self,
        id: LeadId,
        at: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        guard!(
            self,
            "reschedule_lead",
            self.inner.reschedule_lead(id, at, reason, now)
        )
    }
    async fn park_lead(&self, id: LeadId, reason: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        guard!(self, "park_lead", self.inner.park_lead(id, reason, now))
    }
    async fn change_lead_by_operator(
        &self,
        id: LeadId,
        change: outdial_store::OperatorLeadChange,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        guard!(
            self,
            "change_lead_by_operator",
            self.inner.change_lead_by_operator(id, change, reason, now)
        )
    }
    async fn lead_attempt_times(&self, id: LeadId) -> StoreResult<Vec<DateTime<Utc>>> {
        guard!(
            self,
            "lead_attempt_times",
            self.inner.lead_attempt_times(id)
        )
    }
    async fn phone_attempt_times(
        &self,
        phone: &E164,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<DateTime<Utc>>> {
        guard!(
            self,
            "phone_attempt_times",
            self.inner.phone_attempt_times(phone, since)
        )
    }
    async fn phone_attempt_times_many(
        &self,
        phones: &[E164],
        since: DateTime<Utc>,
    ) -> StoreResult<HashMap<E164, Vec<DateTime<Utc>>>> {
        guard!(
            self,
            "phone_attempt_times_many",
            self.inner.phone_attempt_times_many(phones, since)
        )
    }
    async fn backfill_lead(
        &self,
        campaign_id: CampaignId,
        lead: &NewLead,
        past: &[outdial_store::PastAttempt],
        decision: &outdial_core::schedule::LeadDecision,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<outdial_store::BackfilledLead>> {
        guard!(
            self,
            "backfill_lead",
            self.inner
                .backfill_lead(campaign_id, lead, past, decision, now)
        )
    }
}

#[async_trait]
impl Attempts for CrashStore {
    async fn reserve_attempt(
        &self,
        lead_id: LeadId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Attempt>> {
        guard!(
            self,
            "reserve_attempt",
            self.inner.reserve_attempt(lead_id, now)
        )
    }
    async fn reserve_attempt_capped(
        &self,
        lead_id: LeadId,
        now: DateTime<Utc>,
        max_in_flight: u32,
    ) -> StoreResult<Option<Attempt>> {
        guard!(
            self,
            "reserve_attempt_capped",
            self.inner
                .reserve_attempt_capped(lead_id, now, max_in_flight)
        )
    }
    async fn attempt(&self, id: AttemptId) -> StoreResult<Option<Attempt>> {
        guard!(self, "attempt", self.inner.attempt(id))
    }
    async fn lead_attempts(&self, lead_id: LeadId) -> StoreResult<Vec<Attempt>> {
        guard!(self, "lead_attempts", self.inner.lead_attempts(lead_id))
    }
    async fn mark_placed(
        &self,
        id: AttemptId,
        placement: &Placement,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        guard!(
            self,
            "mark_placed",
            self.inner.mark_placed(id, placement, now)
        )
    }
    async fn mark_rejected(
        &self,
        id: AttemptId,
        code: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        guard!(
            self,
            "mark_rejected",
            self.inner.mark_rejected(id, code, message, now)
        )
    }
    async fn mark_unknown(
        &self,
        id: AttemptId,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        guard!(
            self,
            "mark_unknown",
            self.inner.mark_unknown(id, message, now)
        )
    }
    async fn mark_not_placed(
        &self,
        id: AttemptId,
        code: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        guard!(
            self,
            "mark_not_placed",
            self.inner.mark_not_placed(id, code, message, now)
        )
    }
    async fn apply_call_event(
        &self,
        attempt_hint: Option<AttemptId>,
        event: &CallEvent,
        raw: &RawEvent,
        now: DateTime<Utc>,
    ) -> StoreResult<EventOutcome> {
        guard!(
            self,
            "apply_call_event",
            self.inner.apply_call_event(attempt_hint, event, raw, now)
        )
    }
    async fn request_disposition(
        &self,
        id: AttemptId,
        disposition: &Disposition,
        callback_at: Option<DateTime<Utc>>,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        guard!(
            self,
            "request_disposition",
            self.inner
                .request_disposition(id, disposition, callback_at, source, now)
        )
    }
    async fn redispose_attempt(
        &self,
        id: AttemptId,
        disposition: &Disposition,
        callback_at: Option<DateTime<Utc>>,
        decision: &LeadDecision,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        guard!(
            self,
            "redispose_attempt",
            self.inner
                .redispose_attempt(id, disposition, callback_at, decision, source, now)
        )
    }
    async fn attempts_to_conclude(&self, limit: u32) -> StoreResult<Vec<AttemptId>> {
        guard!(
            self,
            "attempts_to_conclude",
            self.inner.attempts_to_conclude(limit)
        )
    }
    async fn conclude_attempt(
        &self,
        id: AttemptId,
        disposition: &Disposition,
        decision: &LeadDecision,
        follow_up: &[NewJob],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        #[cfg(feature = "sabotage")]
        if self.sabotage == Some(Sabotage::NeverConclude(id)) {
            // The deliberate defect: claim the conclusion, write nothing.
            return guard!(self, "conclude_attempt", async { Ok(true) });
        }
        guard!(
            self,
            "conclude_attempt",
            self.inner
                .conclude_attempt(id, disposition, decision, follow_up, now)
        )
    }
    async fn attempts_to_reconcile(
        &self,
        reserved_before: DateTime<Utc>,
        reconciled_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Attempt>> {
        guard!(
            self,
            "attempts_to_reconcile",
            self.inner
                .attempts_to_reconcile(reserved_before, reconciled_before, limit)
        )
    }
    async fn in_flight_count(&self) -> StoreResult<u64> {
        guard!(self, "in_flight_count", self.inner.in_flight_count())
    }
    async fn mark_reconciled(&self, id: AttemptId, now: DateTime<Utc>) -> StoreResult<()> {
        guard!(self, "mark_reconciled", self.inner.mark_reconciled(id, now))
    }
    async fn record_attempt_price(
        &self,
        id: AttemptId,
        price: &outdial_core::CallPrice,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        guard!(
            self,
            "record_attempt_price",
            self.inner.record_attempt_price(id, price, now)
        )
    }
}

#[async_trait]
impl EventLog for CrashStore {
    async fn record_event(
        &self,
        lead_id: Option<LeadId>,
        attempt_id: Option<AttemptId>,
        kind: &str,
        source: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        guard!(
            self,
            "record_event",
            self.inner
                .record_event(lead_id, attempt_id, kind, source, detail, now)
        )
    }
    async fn lead_events(&self, lead_id: LeadId) -> StoreResult<Vec<EventRecord>> {
        guard!(self, "lead_events", self.inner.lead_events(lead_id))
    }
}

#[async_trait]
impl DncLists for CrashStore {
    async fn dnc_add(&self, entries: &[DncEntry], now: DateTime<Utc>) -> StoreResult<u64> {
        guard!(self, "dnc_add", self.inner.dnc_add(entries, now))
    }
    async fn dnc_remove(
        &self,
        phone: &E164,
        scope: &DncScope,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        guard!(self, "dnc_remove", self.inner.dnc_remove(phone, scope, now))
    }
    async fn dnc_check(
        &self,
        phone: &E164,
        campaign: Option<CampaignId>,
    ) -> StoreResult<Vec<DncEntry>> {
        guard!(self, "dnc_check", self.inner.dnc_check(phone, campaign))
    }
    async fn dnc_check_many(
        &self,
        phones: &[E164],
        campaign: Option<CampaignId>,
    ) -> StoreResult<HashMap<E164, Vec<DncEntry>>> {
        guard!(
            self,
            "dnc_check_many",
            self.inner.dnc_check_many(phones, campaign)
        )
    }
    async fn dnc_count(&self) -> StoreResult<BTreeMap<String, u64>> {
        guard!(self, "dnc_count", self.inner.dnc_count())
    }
}

#[async_trait]
impl Safety for CrashStore {
    async fn set_kill_switch(
        &self,
        scope: KillScope,
        tripped: bool,
        reason: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        guard!(
            self,
            "set_kill_switch",
            self.inner
                .set_kill_switch(scope, tripped, reason, source, now)
        )
    }
    async fn kill_switches(&self) -> StoreResult<Vec<KillSwitch>> {
        guard!(self, "kill_switches", self.inner.kill_switches())
    }
    async fn raise_alert(
        &self,
        alert: &NewAlert,
        channels: &[&str],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AlertId>> {
        guard!(
            self,
            "raise_alert",
            self.inner.raise_alert(alert, channels, now)
        )
    }
    async fn alert(&self, id: AlertId) -> StoreResult<Option<AlertRecord>> {
        guard!(self, "alert", self.inner.alert(id))
    }
    async fn alerts(&self, limit: u32) -> StoreResult<Vec<AlertRecord>> {
        guard!(self, "alerts", self.inner.alerts(limit))
    }
}

#[async_trait]
impl Jobs for CrashStore {
    async fn enqueue_job(&self, job: &NewJob, now: DateTime<Utc>) -> StoreResult<Option<JobId>> {
        guard!(self, "enqueue_job", self.inner.enqueue_job(job, now))
    }
    async fn claim_jobs(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lock_for: chrono::Duration,
        limit: u32,
    ) -> StoreResult<Vec<Job>> {
        guard!(
            self,
            "claim_jobs",
            self.inner.claim_jobs(worker, now, lock_for, limit)
        )
    }
    async fn finish_job(&self, id: JobId, now: DateTime<Utc>) -> StoreResult<bool> {
        guard!(self, "finish_job", self.inner.finish_job(id, now))
    }
    async fn retry_job(
        &self,
        id: JobId,
        run_at: DateTime<Utc>,
        error_code: &str,
        error_message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        guard!(
            self,
            "retry_job",
            self.inner
                .retry_job(id, run_at, error_code, error_message, now)
        )
    }
    async fn dead_letter_job(
        &self,
        id: JobId,
        error_code: &str,
        error_message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        guard!(
            self,
            "dead_letter_job",
            self.inner
                .dead_letter_job(id, error_code, error_message, now)
        )
    }
    async fn requeue_job(&self, id: JobId, now: DateTime<Utc>) -> StoreResult<bool> {
        guard!(self, "requeue_job", self.inner.requeue_job(id, now))
    }
    async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        guard!(self, "job", self.inner.job(id))
    }
    async fn jobs(&self, state: Option<JobState>, limit: u32) -> StoreResult<Vec<Job>> {
        guard!(self, "jobs", self.inner.jobs(state, limit))
    }
    async fn job_counts(&self) -> StoreResult<BTreeMap<String, u64>> {
        guard!(self, "job_counts", self.inner.job_counts())
    }
}

#[async_trait]
impl Coordination for CrashStore {
    async fn reserve_pacing_slot(
        &self,
        name: &str,
        interval: chrono::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<DateTime<Utc>> {
        guard!(
            self,
            "reserve_pacing_slot",
            self.inner.reserve_pacing_slot(name, interval, now)
        )
    }
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        guard!(
            self,
            "try_acquire_lease",
            self.inner.try_acquire_lease(name, holder, ttl, now)
        )
    }
    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        guard!(self, "setting", self.inner.setting(key))
    }
    async fn set_setting(
        &self,
        key: &str,
        value: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        guard!(
            self,
            "set_setting",
            self.inner.set_setting(key, value, source, now)
        )
    }
    async fn close(&self) {
        // The simulator closes the real store itself when it restarts the engine.
    }
}

// After `guard!`, which they use.
mod account_limits;
mod reports;
