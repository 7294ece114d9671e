//! The simulation loop of one seed.
//!
//! Event-driven virtual time: each step happens at the next interesting true instant (a
//! callback reaching outdial, a maintenance step while anything is in flight, the next due
//! lead, a harness fault, the end of a downtime, at most 15 minutes apart). A step delivers
//! the callbacks due, runs `Engine::tick`, and every few simulated seconds takes the
//! maintenance lease and runs `Engine::reconcile`, as `Engine::run` does. Then it checks what
//! changed. After the simulated days the dialer is stopped and the loop drains what is in
//! flight; then the end checks run (`checks::check_all` and the rest).

use super::clock::SimClock;
use super::crash::{
    CrashCtl, CrashPoint, CrashProvider, CrashStore, Phase, Sabotage, PROVIDER_BOUNDARIES,
    RARE_BOUNDARIES, STORE_BOUNDARIES,
};
use super::crm::{AlertHandler, Crm, PostCallHandler, ALERT_JOB, POST_CALL_JOB};
use super::provider::{Delivery, FakeProvider};
use super::rng::keyed;
use super::scenario::{Scenario, WorldEvent};
use super::trace::Trace;
use super::{SeedReport, SeedStats, SimConfig, Violation};
use crate::checks;
use anyhow::Context;
use chrono::{DateTime, Duration, TimeZone, Utc};
use outdial_carrier::LedgerEntry;
use outdial_clock::Clock;
use outdial_core::compliance::StateRules;
use outdial_core::disposition::auto_disposition;
use outdial_core::schedule::{whereabouts, LeadRules, Whereabouts};
use outdial_core::{AttemptId, AttemptState, LeadId, LeadStatus, ProviderKind};
use outdial_engine::{Engine, EngineConfig, EngineError};
use outdial_providers::Provider;
use outdial_store::{Attempt, Campaign, EventOutcome, KillScope, Lead, RawEvent, Store};
use outdial_store_sqlite::{OpenMode, SqliteStore};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Most violations kept per seed.
const MAX_VIOLATIONS: usize = 50;
/// Longest step when nothing else is scheduled.
const IDLE_STEP_S: i64 = 15 * 60;
/// A lead due this long (while the engine could have dialed it) is starved.
const STARVED_AFTER_S: i64 = 60 * 60;
/// Interval of the safety monitor (on maintenance steps), seconds.
const MONITOR_EVERY_S: i64 = 30;
/// A final attempt must be concluded within this much up-time.
const CONCLUDE_WITHIN_S: i64 = 120;

/// Runs one seed on its own current-thread runtime and its own SQLite file.
pub fn run_seed(seed: u64, cfg: &SimConfig) -> anyhow::Result<SeedReport> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime")?;
    rt.block_on(run_seed_async(seed, cfg))
}

fn temp_db(seed: u64) -> PathBuf {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tid = format!("{:?}", std::thread::current().id())
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>();
    dir.join(format!(
        "outdial-sim-{}-{tid}-{seed}-{nanos}.db",
        std::process::id()
    ))
}

/// Runs one seed on the current runtime (which must be a current-thread runtime for the run
/// to be deterministic).
pub async fn run_seed_async(seed: u64, cfg: &SimConfig) -> anyhow::Result<SeedReport> {
    let started = std::time::Instant::now();
    let sc = Scenario::draw(seed, cfg.leads, cfg.days, &cfg.faults);
    let path = temp_db(seed);
    let res = async {
        let mut w = World::setup(seed, cfg.clone(), sc, path.clone()).await?;
        w.run().await?;
        w.final_checks().await?;
        w.raw.close().await;
        Ok::<_, anyhow::Error>(w.report(started.elapsed()))
    }
    .await;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    res
}

fn far_future() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0)
        .single()
        .expect("valid")
}

fn fmt_d(d: Duration) -> String {
    let s = d.num_seconds();
    if s.abs() >= 3600 {
        format!("{}h{:02}m", s / 3600, (s.abs() % 3600) / 60)
    } else if s.abs() >= 60 {
        format!("{}m{:02}s", s / 60, s.abs() % 60)
    } else {
        format!("{}ms", d.num_milliseconds())
    }
}

struct World {
    seed: u64,
    cfg: SimConfig,
    sc: Scenario,
    clock: Arc<SimClock>,
    trace: Trace,
    provider: Arc<FakeProvider>,
    ctl: Arc<CrashCtl>,
    path: PathBuf,
    raw: Arc<SqliteStore>,
    engine: Option<Engine>,
    engine_cfg: EngineConfig,
    instance: u32,
    campaign: Campaign,
    rules: Arc<StateRules>,
    end: DateTime<Utc>,
    stats: SeedStats,
    violations: Vec<Violation>,
    tail: Vec<String>,
    reported: BTreeSet<String>,
    /// True intervals during which the engine could not act (down, frozen) or the provider's
    /// API was out: excluded from the time bounds.
    excluded: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    up_at: Option<DateTime<Utc>>,
    restart_pending: bool,
    next_maint: DateTime<Utc>,
    events: VecDeque<(DateTime<Utc>, WorldEvent)>,
    crash_rng: ChaCha8Rng,
    crashes_left: u32,
    rearms: u32,
    armed_patience: Duration,
    crash_points: BTreeSet<String>,
    // Incremental checks.
    checked_calls: usize,
    number_calls: BTreeMap<String, Vec<DateTime<Utc>>>,
    whereabouts: BTreeMap<String, Whereabouts>,
    last_created: Option<DateTime<Utc>>,
    unconcluded: BTreeMap<AttemptId, DateTime<Utc>>,
    /// Unconcluded attempts already reported: the loop no longer steps for them.
    stuck: BTreeSet<AttemptId>,
    /// Numbers put on the DNC list, and when (true time).
    dnc: BTreeMap<String, DateTime<Utc>>,
    last_blocked: DateTime<Utc>,
    in_flight: Vec<Attempt>,
    leads: Vec<Lead>,
    draining: bool,
    dialer_stopped: bool,
    drain_deadline: DateTime<Utc>,
    crm: Arc<Crm>,
    /// Tripped kill switches and when the simulated operator resumes them.
    resume_at: BTreeMap<KillScope, DateTime<Utc>>,
    /// Trips seen (scope key, changed_at) so each is counted once.
    trips_seen: BTreeSet<(String, DateTime<Utc>)>,
    kill_switch_tripped: bool,
    jobs_open: u64,
    /// Whether the current step ran maintenance.
    maintained: bool,
    next_monitor: DateTime<Utc>,
    /// The monitor keeps running until this instant after the last dialing activity.
    active_until: DateTime<Utc>,
    /// Whether the engine did anything in the current step.
    engine_ran: bool,
    /// When the next durable job can be claimed (true time), if any is open.
    next_job_at: Option<DateTime<Utc>>,
}

impl World {
    async fn setup(
        seed: u64,
        cfg: SimConfig,
        sc: Scenario,
        path: PathBuf,
    ) -> anyhow::Result<World> {
        let trace = Trace::new(cfg.keep_trace);
        let clock = Arc::new(SimClock::new(sc.start));
        let provider = Arc::new(FakeProvider::new(
            sc.provider.clone(),
            clock.clone(),
            trace.clone(),
        ));
        let ctl = Arc::new(CrashCtl::new(clock.clone(), trace.clone()));
        let raw = Arc::new(
            SqliteStore::open(&path, OpenMode::CreateIfMissing)
                .await
                .with_context(|| format!("creating {}", path.display()))?,
        );
        let rules = Arc::new(StateRules::builtin());
        let now = sc.start;
        let campaign = raw.create_campaign("sim", &sc.campaign, now).await?;
        trace.line(
            now,
            format!(
                "seed {seed} start {} ({}) ring {}s max-call {}s window {}-{} redial {:?} per-day {} total {:?} caps {:?} holidays {}",
                now.to_rfc3339(),
                sc.start_kind,
                sc.campaign.ring_timeout_s,
                sc.campaign.max_call_length_s,
                sc.campaign.calling_window.start,
                sc.campaign.calling_window.end,
                sc.campaign.redial.intervals_min,
                sc.campaign.redial.max_per_local_day,
                sc.campaign.redial.max_total,
                sc.campaign.caps,
                sc.campaign.no_calls_on_federal_holidays,
            ),
        );
        let p = &sc.provider;
        trace.line(
            now,
            format!(
                "engine cps {} max-concurrent {} reconcile-after {}s maintenance every {}s; provider lose {:.3} dup {:.3} reorder {:.3} delay {:.3} 429 {:.3} 5xx {:.3} ambiguous {:.3} never-ends {:.3} stuck {:.3} busy {:?} invalid {:?} endless {:?}; crashes {}; world {:?}",
                sc.engine.calls_per_second,
                sc.engine.max_concurrent,
                sc.engine.reconcile_after_s,
                sc.engine.maintenance_every_s,
                p.p_lose,
                p.p_duplicate,
                p.p_reorder,
                p.p_delay,
                p.p_rate_limit,
                p.p_server_error,
                p.p_ambiguous_created,
                p.p_never_ends,
                p.p_stuck_queued,
                p.always_busy,
                p.invalid,
                p.never_ends,
                sc.crashes,
                sc.events,
            ),
        );
        let mut batch = Vec::new();
        let mut wh = BTreeMap::new();
        for lead in &sc.leads {
            let placement = outdial_engine::enqueue::lead_placement(&*raw, lead, &campaign, &rules, now).await?;
            let w = whereabouts(
                &lead.phone,
                lead.contact.time_zone,
                lead.contact.state.as_deref(),
                sc.campaign.fallback_time_zone,
            );
            trace.line(
                now,
                format!(
                    "lead {} state {:?} tz {:?} zones {:?} → {:?}",
                    lead.phone,
                    lead.contact.state,
                    lead.contact.time_zone.map(|t| t.name()),
                    w.zones.iter().map(|z| z.name()).collect::<Vec<_>>(),
                    placement
                ),
            );
            wh.insert(lead.phone.to_string(), w);
            batch.push((lead.clone(), placement));
        }
        let inserted = raw.insert_leads(campaign.id, &batch, now).await?;
        let engine_cfg = EngineConfig {
            public_url: "https://sim.outdial.test".into(),
            calls_per_second: sc.engine.calls_per_second,
            max_concurrent: sc.engine.max_concurrent,
            claim_batch: 20,
            not_placed_retry_s: 60,
            reconcile_after_s: sc.engine.reconcile_after_s,
            unknown_resolve_after_s: 60,
            request_timeout_real_ms: 15_000,
            window_margin_s: 120,
            state_rules: rules.clone(),
            instance_id: "sim-0".into(),
            alert_channels: vec![ALERT_JOB.into()],
            post_call_jobs: vec![POST_CALL_JOB.into()],
            ..EngineConfig::default()
        };
        let end = sc.start + Duration::days(i64::from(cfg.days.max(1)));
        let mut w = World {
            seed,
            crash_rng: keyed(seed, "crashes", "", 0),
            crashes_left: sc.crashes,
            events: sc.events.iter().cloned().collect(),
            cfg,
            clock,
            trace,
            provider,
            ctl,
            path,
            raw,
            engine: None,
            engine_cfg,
            instance: 0,
            campaign,
            rules,
            end,
            stats: SeedStats {
                leads: inserted.inserted,
                ..SeedStats::default()
            },
            violations: Vec::new(),
            tail: Vec::new(),
            reported: BTreeSet::new(),
            excluded: Vec::new(),
            up_at: None,
            restart_pending: false,
            next_maint: now,
            rearms: 0,
            armed_patience: Duration::hours(3),
            crash_points: BTreeSet::new(),
            checked_calls: 0,
            number_calls: BTreeMap::new(),
            whereabouts: wh,
            last_created: None,
            unconcluded: BTreeMap::new(),
            stuck: BTreeSet::new(),
            dnc: BTreeMap::new(),
            last_blocked: now,
            in_flight: Vec::new(),
            leads: Vec::new(),
            draining: false,
            dialer_stopped: false,
            drain_deadline: end,
            crm: Crm::new(seed, 0.1),
            resume_at: BTreeMap::new(),
            trips_seen: BTreeSet::new(),
            kill_switch_tripped: false,
            jobs_open: 0,
            maintained: false,
            next_monitor: now,
            active_until: now,
            engine_ran: false,
            next_job_at: None,
            sc,
        };
        w.build_engine();
        w.arm_next_crash(now);
        Ok(w)
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.true_now()
    }

    fn build_engine(&mut self) {
        let generation = self.ctl.generation();
        let store: Arc<dyn Store> = Arc::new(CrashStore::new(
            self.raw.clone(),
            self.ctl.clone(),
            generation,
            self.cfg.sabotage,
        ));
        let provider: Arc<dyn Provider> = Arc::new(CrashProvider::new(
            self.provider.clone(),
            self.ctl.clone(),
            generation,
        ));
        let mut cfg = self.engine_cfg.clone();
        cfg.instance_id = format!("sim-{}", self.instance);
        let providers = HashMap::from([(ProviderKind::Twilio, provider)]);
        self.engine = Some(
            Engine::new(store, providers, self.clock.clone(), cfg)
                .with_job_handler(POST_CALL_JOB, Arc::new(PostCallHandler(self.crm.clone())))
                .with_job_handler(ALERT_JOB, Arc::new(AlertHandler(self.crm.clone()))),
        );
    }

    fn violation(&mut self, check: &str, key: Option<String>, detail: String) {
        if let Some(k) = key {
            if !self.reported.insert(format!("{check}|{k}")) {
                return;
            }
        }
        let now = self.now();
        self.trace.line(now, format!("VIOLATION {check}: {detail}"));
        if self.violations.is_empty() {
            self.tail = self.trace.tail(30);
        }
        if self.violations.len() < MAX_VIOLATIONS {
            self.violations.push(Violation {
                check: check.to_string(),
                detail,
                at: now,
            });
        }
    }

    /// Arms the next crash at a random boundary, some time from now.
    fn arm_next_crash(&mut self, now: DateTime<Utc>) {
        if self.crashes_left == 0 || self.draining {
            self.ctl.disarm();
            return;
        }
        self.crashes_left -= 1;
        self.arm_random(now);
    }

    fn arm_random(&mut self, now: DateTime<Utc>) {
        let r = &mut self.crash_rng;
        // Half the crashes target the boundaries the engine crosses rarely (once per call or
        // less), so that a few hundred seeds cover them too; those wait longer for their
        // operation and never skip an occurrence.
        let rare = r.gen_bool(0.5);
        let op = if rare {
            RARE_BOUNDARIES.choose(r).copied().expect("non-empty")
        } else if r.gen_bool(0.3) {
            // The create is the most interesting provider boundary.
            if r.gen_bool(0.6) {
                "place_call"
            } else {
                PROVIDER_BOUNDARIES.choose(r).copied().expect("non-empty")
            }
        } else {
            STORE_BOUNDARIES.choose(r).copied().expect("non-empty")
        };
        let phase = if r.gen_bool(0.5) {
            Phase::Before
        } else {
            Phase::After
        };
        let skip = if rare { 0 } else { r.gen_range(0..=3) };
        let not_before = now + Duration::seconds(r.gen_range(0..6 * 3600));
        self.armed_patience = Duration::hours(if rare { 12 } else { 3 });
        self.trace.line(
            now,
            format!(
                "crash armed: {} {op} (skip {skip}) not before {}",
                phase.as_str(),
                not_before.to_rfc3339()
            ),
        );
        self.ctl.arm(CrashPoint {
            op,
            phase,
            skip,
            not_before,
        });
    }

    /// A crash armed on an operation the engine has not performed for a while (3 hours, 12
    /// for a rare one) moves elsewhere (at most 10 times per seed).
    fn maybe_rearm(&mut self, now: DateTime<Utc>) {
        if let Some(p) = self.ctl.armed() {
            if now > p.not_before + self.armed_patience && self.rearms < 10 {
                self.rearms += 1;
                self.arm_random(now);
            }
        }
    }

    /// Handles the outcome of an engine call: a crash (restart pending) or an unexpected
    /// error (a violation).
    async fn settle<T>(&mut self, what: &str, r: Result<T, EngineError>) -> Option<T> {
        if self.ctl.is_dead() {
            self.on_crash().await;
            return None;
        }
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.violation(
                    "the engine fails only when it crashes",
                    None,
                    format!("{what}: {e}"),
                );
                None
            }
        }
    }

    async fn on_crash(&mut self) {
        let now = self.now();
        if let Some((op, phase)) = self.ctl.take_fired() {
            self.crash_points.insert(format!("{} {op}", phase.as_str()));
        }
        self.stats.crashes += 1;
        self.engine = None;
        // Let leftover tasks of the dead engine run out: they can no longer act.
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
        let delay = Duration::milliseconds(self.crash_rng.gen_range(0..=20_000));
        let up = now + delay;
        self.up_at = Some(self.up_at.map_or(up, |t| t.max(up)));
        self.restart_pending = true;
        self.excluded.push((now, up));
        self.trace
            .line(now, format!("engine down; restart in {}", fmt_d(delay)));
    }

    async fn restart(&mut self) -> anyhow::Result<()> {
        let now = self.now();
        self.raw.close().await;
        self.raw = Arc::new(
            SqliteStore::open(&self.path, OpenMode::MustExist)
                .await
                .context("reopening the store after a crash")?,
        );
        self.ctl.revive();
        self.instance += 1;
        self.build_engine();
        self.restart_pending = false;
        self.trace.line(
            now,
            format!("restart: instance sim-{} reopened the store", self.instance),
        );
        self.arm_next_crash(now);
        Ok(())
    }

    async fn apply_world_event(&mut self, ev: WorldEvent) -> anyhow::Result<()> {
        let now = self.now();
        match ev {
            WorldEvent::DoNotCall(phone) => self.opt_out(phone).await?,
            WorldEvent::Pause(d) => {
                self.stats.clock_jumps += 1;
                let until = now + d;
                self.up_at = Some(self.up_at.map_or(until, |t| t.max(until)));
                self.excluded.push((now, until));
                self.trace.line(
                    now,
                    format!("clock jumps forward {}: the engine is frozen", fmt_d(d)),
                );
            }
            WorldEvent::ClockBack(d) => {
                self.stats.clock_back += 1;
                self.clock.step_engine_clock(-d);
                self.trace
                    .line(now, format!("engine clock steps back {}", fmt_d(d)));
            }
            WorldEvent::WebhookBlackout(d) => {
                self.provider.arm_blackout(d);
                self.trace.line(
                    now,
                    format!(
                        "webhook blackout of {} armed (begins with the next create)",
                        fmt_d(d)
                    ),
                );
            }
            WorldEvent::Outage(d) => {
                self.provider.arm_outage(d);
                self.trace.line(
                    now,
                    format!(
                        "provider outage of {} armed (begins with the next create)",
                        fmt_d(d)
                    ),
                );
            }
        }
        Ok(())
    }

    /// The called party opts out: an operator puts the number on the internal DNC list.
    async fn opt_out(&mut self, phone: String) -> anyhow::Result<()> {
        let now = self.now();
        let e164 = outdial_core::E164::from_stored(&phone).map_err(|e| anyhow::anyhow!("{e}"))?;
        self.raw
            .dnc_add(
                &[outdial_store::DncEntry {
                    phone: e164,
                    scope: outdial_store::DncScope::Internal,
                    source: "operator".into(),
                    reason: Some("the called party asked not to be called (simulated)".into()),
                    added_at: self.clock.now(),
                }],
                self.clock.now(),
            )
            .await?;
        self.dnc.insert(phone.clone(), now);
        self.trace.line(
            now,
            format!("operator puts {phone} on the internal DNC list"),
        );
        Ok(())
    }

    /// Delivers one callback. Returns whether it ended an attempt.
    async fn deliver(&mut self, d: Delivery) -> bool {
        let raw = RawEvent {
            source: outdial_providers::twilio::webhook::WEBHOOK_SOURCE.into(),
            dedupe_key: d.dedupe_key(),
            payload: d.payload.clone(),
        };
        let Some(engine) = self.engine.as_ref() else {
            return false;
        };
        self.stats.delivered += 1;
        self.engine_ran = true;
        let r = engine.ingest_call_event(d.attempt, &d.event, &raw).await;
        let now = self.now();
        let what = format!(
            "webhook {} #{} {}{}",
            d.event.call_id,
            d.event.sequence.unwrap_or(0),
            d.event.status.as_str(),
            if d.duplicate { " (copy)" } else { "" }
        );
        let line = match &r {
            Ok(EventOutcome::Applied { from, attempt }) => format!(
                "{what} → attempt {} {}→{}",
                attempt.id,
                from.as_str(),
                attempt.state.as_str()
            ),
            Ok(EventOutcome::Duplicate) => format!("{what} → duplicate"),
            Ok(EventOutcome::Stale { attempt_id }) => {
                format!("{what} → stale for attempt {attempt_id}")
            }
            Ok(EventOutcome::Late { attempt_id }) => {
                format!("{what} → late for ended attempt {attempt_id}")
            }
            Ok(EventOutcome::UnknownCall) => format!("{what} → unknown call"),
            Err(e) => format!("{what} → error {e}"),
        };
        self.trace.line(now, line);
        let ended =
            matches!(&r, Ok(EventOutcome::Applied { attempt, .. }) if attempt.state.is_final());
        if let Some(EventOutcome::UnknownCall) = self.settle(&what, r).await {
            // The attempt id rides in the callback URL: an event whose attempt cannot be
            // found is a lost link.
            self.violation(
                "no provider call without its attempt",
                Some(d.event.call_id.to_string()),
                format!(
                    "callback for {} (attempt {:?}) matched no attempt",
                    d.event.call_id, d.attempt
                ),
            );
        }
        ended
    }

    async fn tick(&mut self) {
        let Some(engine) = self.engine.as_ref() else {
            return;
        };
        let now_e = self.clock.now();
        self.engine_ran = true;
        let r = engine.tick(now_e).await;
        if let Ok(rep) = &r {
            if rep.placed + rep.ambiguous + rep.not_placed + rep.rejected > 0 {
                self.active_until = self.now() + Duration::seconds(2 * MONITOR_EVERY_S);
            }
            if *rep != outdial_engine::TickReport::default() {
                let line = format!(
                    "tick: concluded {} placed {} rejected {} ambiguous {} not-placed {} rescheduled {} parked {}",
                    rep.concluded,
                    rep.placed,
                    rep.rejected,
                    rep.ambiguous,
                    rep.not_placed,
                    rep.rescheduled,
                    rep.parked
                );
                self.trace.line(self.now(), line);
            }
        }
        self.settle("tick", r).await;
    }

    /// One maintenance step: the lease, the reconciler, the safety monitor (every 30 s).
    /// Returns whether it changed an attempt or a kill switch.
    async fn maintain(&mut self) -> bool {
        let Some(engine) = self.engine.as_ref() else {
            return false;
        };
        let now_e = self.clock.now();
        self.engine_ran = true;
        self.next_maint = self.now() + Duration::seconds(self.sc.engine.maintenance_every_s);
        let r = engine.hold_maintenance_lease(now_e).await;
        let Some(held) = self.settle("maintenance lease", r).await else {
            return false;
        };
        if !held {
            return false;
        }
        let Some(engine) = self.engine.as_ref() else {
            return false;
        };
        let r = engine.reconcile(now_e).await;
        if let Ok(rep) = &r {
            if *rep != outdial_engine::ReconcileReport::default() {
                let line = format!(
                    "reconcile: examined {} advanced {} not-placed {} errors {}",
                    rep.examined, rep.advanced, rep.not_placed, rep.errors
                );
                self.trace.line(self.now(), line);
            }
        }
        let Some(rep) = self.settle("reconcile", r).await else {
            return false;
        };
        let changed = rep.advanced + rep.not_placed > 0;
        if self.now() < self.next_monitor {
            return changed;
        }
        self.next_monitor = self.now() + Duration::seconds(MONITOR_EVERY_S);
        let Some(engine) = self.engine.as_ref() else {
            return changed;
        };
        let r = engine.monitor(self.clock.now()).await;
        if let Ok(rep) = &r {
            for (scope, reason) in &rep.tripped {
                self.trace
                    .line(self.now(), format!("monitor trips {scope}: {reason}"));
            }
        }
        let tripped = self
            .settle("monitor", r)
            .await
            .is_some_and(|rep| !rep.tripped.is_empty());
        changed || tripped
    }

    async fn run_jobs(&mut self) {
        let Some(engine) = self.engine.as_ref() else {
            return;
        };
        self.engine_ran = true;
        let r = engine.run_jobs(self.clock.now()).await;
        if let Ok(rep) = &r {
            if *rep != outdial_engine::JobsReport::default() {
                let line = format!(
                    "jobs: done {} retried {} dead {}",
                    rep.done, rep.retried, rep.dead
                );
                self.trace.line(self.now(), line);
            }
        }
        self.settle("jobs", r).await;
    }

    /// The simulated operator: notices tripped kill switches (counts them, checks why) and
    /// resumes each after a seeded delay of 10 to 60 minutes.
    async fn operate_kill_switches(&mut self) -> anyhow::Result<()> {
        let now = self.now();
        let switches = self.raw.kill_switches().await?;
        self.kill_switch_tripped = switches.iter().any(|s| s.tripped);
        for s in &switches {
            if !s.tripped {
                self.resume_at.remove(&s.scope);
                continue;
            }
            if self.trips_seen.insert((s.scope.as_key(), s.changed_at)) {
                self.stats.kill_switch_trips += 1;
                let delay = Duration::seconds(self.crash_rng.gen_range(600..=3600));
                self.resume_at.insert(s.scope, now + delay);
                self.trace.line(
                    now,
                    format!(
                        "kill switch {} tripped by {}: {}; the operator resumes it in {}",
                        s.scope.as_key(),
                        s.source,
                        s.reason,
                        fmt_d(delay)
                    ),
                );
                if s.source == "monitor:anomaly" {
                    self.violation(
                        "the safety monitor finds no anomaly in the attempt log",
                        None,
                        format!("{} tripped: {}", s.scope.as_key(), s.reason),
                    );
                }
            }
        }
        let due: Vec<KillScope> = self
            .resume_at
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(s, _)| *s)
            .collect();
        for scope in due {
            let Some(engine) = self.engine.as_ref() else {
                return Ok(());
            };
            let r = engine
                .resume_kill_switch(scope, "simulated operator: cause checked", "operator:sim")
                .await;
            if self.settle("resume kill switch", r).await.is_some() {
                self.resume_at.remove(&scope);
                self.trace
                    .line(self.now(), format!("operator resumes {}", scope.as_key()));
            } else {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn run(&mut self) -> anyhow::Result<()> {
        loop {
            let now = self.now();
            self.stats.steps += 1;
            self.engine_ran = false;
            while self.events.front().is_some_and(|(t, _)| *t <= now) {
                let (_, ev) = self.events.pop_front().expect("checked");
                self.apply_world_event(ev).await?;
            }
            if !self.draining {
                self.maybe_rearm(now);
            }
            let up = self.up_at.is_none_or(|t| t <= now);
            if up {
                self.up_at = None;
                // The loop ticks as `Engine::run` would whenever a tick can change anything:
                // when a lead is due, after a call ended (capacity, redials), after a restart,
                // while a final attempt waits for its conclusion, and after a maintenance step
                // that changed an attempt.
                let engine_now = self.clock.now();
                let mut want_tick = self.stats.steps == 1
                    || self.conclusions_pending()
                    || self.leads.iter().any(|l| {
                        l.status == LeadStatus::Active
                            && l.next_attempt_at.is_some_and(|t| t <= engine_now)
                    });
                if self.restart_pending {
                    self.restart().await?;
                    want_tick = true;
                }
                while self.engine.is_some() {
                    let Some(d) = self.provider.pop_due(self.now()) else {
                        break;
                    };
                    want_tick |= self.deliver(d).await;
                }
                if self.draining && !self.dialer_stopped {
                    if let Some(engine) = self.engine.as_ref() {
                        let r = engine
                            .set_dialer_running(false, "simulation finished", "simulator")
                            .await;
                        if self.settle("stop dialer", r).await.is_some() {
                            self.dialer_stopped = true;
                            self.trace.line(self.now(), "dialer stopped; draining");
                        }
                    }
                }
                if self.engine.is_some() && want_tick {
                    self.tick().await;
                }
                let mut maintained = false;
                if self.engine.is_some() && self.maintenance_due(self.now()) {
                    if self.maintain().await {
                        self.tick().await;
                    }
                    maintained = true;
                }
                let jobs_due = self.next_job_at.is_some_and(|t| t <= self.now());
                if self.engine.is_some() && (want_tick || maintained || jobs_due) {
                    self.run_jobs().await;
                }
                // Only maintenance (the monitor, the reconciler) trips switches.
                let resume_due = self.resume_at.values().any(|t| *t <= self.now());
                if self.engine.is_some() && (maintained || resume_due) {
                    self.operate_kill_switches().await?;
                }
                self.maintained = maintained;
            } else {
                while let Some(d) = self.provider.pop_due(now) {
                    self.stats.lost_down += 1;
                    self.trace.line(
                        now,
                        format!(
                            "webhook {} #{} {} lost: outdial is down",
                            d.event.call_id,
                            d.event.sequence.unwrap_or(0),
                            d.event.status.as_str()
                        ),
                    );
                }
            }
            self.check_step().await?;
            let now = self.now();
            if !self.draining && now >= self.end {
                self.start_drain(now);
            }
            if self.draining
                && ((self.dialer_stopped
                    && self.in_flight.is_empty()
                    && !self.conclusions_pending()
                    && self.jobs_open == 0
                    && self.up_at.is_none())
                    || now >= self.drain_deadline)
            {
                return Ok(());
            }
            let next = self.next_instant(now);
            self.clock.advance_to(next);
        }
    }

    fn start_drain(&mut self, now: DateTime<Utc>) {
        self.draining = true;
        self.crashes_left = 0;
        self.ctl.disarm();
        self.events.clear();
        self.provider.end_outages(now);
        let bound = self.call_bound().max(self.unknown_bound());
        self.drain_deadline = now + bound + Duration::minutes(30);
        self.trace.line(
            now,
            format!(
                "end of the simulated days; draining until {} at the latest",
                self.drain_deadline.to_rfc3339()
            ),
        );
    }

    fn next_instant(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let mut next = now + Duration::seconds(IDLE_STEP_S);
        let mut take = |t: DateTime<Utc>| {
            if t < next {
                next = t;
            }
        };
        if let Some(t) = self.provider.next_delivery_at() {
            take(t);
        }
        if let Some((t, _)) = self.events.front() {
            take(*t);
        }
        if let Some(t) = self.up_at {
            take(t);
        }
        // Down or frozen: nothing happens until it is back but callbacks being lost.
        let down = self.up_at.is_some_and(|t| t > now);
        if !down {
            if self.conclusions_pending() {
                take(self.next_maint);
            }
            if let Some(t) = self.next_reconcile_at() {
                take(t.max(self.next_maint));
            }
            if !self.in_flight.is_empty() || self.active_until > now {
                take(self.next_monitor.max(self.next_maint));
            }
        }
        if down {
            return next.max(now + Duration::milliseconds(1));
        }
        for t in self.resume_at.values() {
            take(*t);
        }
        if let Some(t) = self.next_job_at {
            take(t.max(now + Duration::seconds(1)));
        }
        if !self.draining {
            take(self.end);
            let offset = self.clock.offset();
            for l in &self.leads {
                if l.status != LeadStatus::Active {
                    continue;
                }
                if let Some(at) = l.next_attempt_at {
                    let t = at - offset;
                    // Due already: waiting for capacity or a kill switch; look again shortly.
                    let full = self.in_flight.len() as u32 >= self.sc.engine.max_concurrent;
                    take(if t > now {
                        t
                    } else if full || self.kill_switch_tripped {
                        now + Duration::seconds(30)
                    } else {
                        now + Duration::seconds(1)
                    });
                }
            }
        } else {
            take(self.drain_deadline);
        }
        next.max(now + Duration::milliseconds(1))
    }

    /// The first true instant at which the reconciler has something to look at: an attempt
    /// in flight for `reconcile_after_s` and not asked about for as long. (The engine would
    /// run the reconciler every few seconds; steps in which it can find nothing are skipped.)
    fn next_reconcile_at(&self) -> Option<DateTime<Utc>> {
        let ra = Duration::seconds(self.sc.engine.reconcile_after_s);
        let offset = self.clock.offset();
        self.in_flight
            .iter()
            .map(|a| {
                let base = a
                    .reconciled_at
                    .map_or(a.reserved_at, |r| r.max(a.reserved_at));
                base + ra + Duration::milliseconds(1) - offset
            })
            .min()
    }

    /// Whether final attempts wait for their conclusion (not counting those already
    /// reported as stuck).
    fn conclusions_pending(&self) -> bool {
        self.unconcluded.keys().any(|id| !self.stuck.contains(id))
    }

    /// Whether a maintenance step (lease, reconciler, monitor) can do anything now.
    fn maintenance_due(&self, now: DateTime<Utc>) -> bool {
        if now < self.next_maint {
            return false;
        }
        self.conclusions_pending()
            || self.next_reconcile_at().is_some_and(|t| t <= now)
            || (now >= self.next_monitor && (!self.in_flight.is_empty() || self.active_until > now))
    }

    /// Longest an attempt with a call may stay unfinished (up-time): the call's own span
    /// (ring timeout + 5 s + longest call), the engine's end-of-call slack, two
    /// reconciler rounds (the first ask may come just before the call outlives its bound; an
    /// ambiguous create is linked one round late), two maintenance intervals, and 60 s for the
    /// maintenance lease a crashed instance still holds.
    fn call_bound(&self) -> Duration {
        let span = self.sc.campaign.max_attempt_span_s() as i64;
        Duration::seconds(
            span + self.engine_cfg.safety.end_call_slack_s
                + 2 * self.sc.engine.reconcile_after_s
                + 2 * self.sc.engine.maintenance_every_s
                + 60,
        )
    }

    /// Longest an attempt may stay `reserved` or `unknown` without a call id (up-time): the
    /// reconciler's age (at least the 60 s during which a create may still be under way), two
    /// maintenance intervals, and 90 s of slack (the lease a crashed instance still holds).
    fn unknown_bound(&self) -> Duration {
        Duration::seconds(
            self.sc.engine.reconcile_after_s.max(60) + 2 * self.sc.engine.maintenance_every_s + 90,
        )
    }

    /// Time within `[from, to]` during which the engine or the provider could not act.
    fn excluded_within(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        // Merge overlapping intervals first so that nothing is counted twice.
        let mut iv: Vec<_> = self
            .excluded
            .iter()
            .chain(self.provider.outages().iter())
            .map(|(a, b)| ((*a).max(from), (*b).min(to)))
            .filter(|(a, b)| a < b)
            .collect();
        iv.sort();
        let mut total = Duration::zero();
        let mut cur: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
        for (a, b) in iv {
            match cur {
                Some((ca, cb)) if a <= cb => cur = Some((ca, cb.max(b))),
                Some((ca, cb)) => {
                    total += cb - ca;
                    cur = Some((a, b));
                }
                None => cur = Some((a, b)),
            }
        }
        if let Some((ca, cb)) = cur {
            total += cb - ca;
        }
        total
    }

    /// The cheap checks after every step: only what changed.
    async fn check_step(&mut self) -> anyhow::Result<()> {
        let now = self.now();
        let now_e = self.clock.now();
        for v in self.provider.take_violations() {
            self.violation("no overlapping calls to one number", None, v);
        }
        // New calls: allowed by every rule at their creation, and paced.
        let new_calls = self.provider.created_since(self.checked_calls);
        self.checked_calls += new_calls.len();
        let interval = Duration::microseconds(
            (1_000_000.0 / self.sc.engine.calls_per_second.max(0.001)) as i64,
        );
        for (sid, to, created) in new_calls {
            self.stats.calls += 1;
            if let Some(prev) = self.last_created {
                if created - prev < interval - Duration::milliseconds(1) {
                    self.violation(
                        "calls placed at most at the configured calls per second",
                        None,
                        format!(
                            "{sid} created {} after the previous call (interval {})",
                            fmt_d(created - prev),
                            fmt_d(interval)
                        ),
                    );
                }
            }
            self.last_created = Some(created);
            if let Some(at) = self.dnc.get(&to).filter(|at| created >= **at) {
                self.violation(
                    "no call to a number on a Do-Not-Call list",
                    None,
                    format!("{sid} to {to} created at {created}, on the DNC list since {at}"),
                );
            }
            let earlier = self.number_calls.entry(to.clone()).or_default().clone();
            let blocks = match self.whereabouts.get(&to) {
                Some(w) => LeadRules {
                    campaign: &self.campaign.settings,
                    state_rules: &self.rules,
                    whereabouts: w,
                    history: &earlier,
                    number_history: &earlier,
                    slack: Duration::zero(),
                }
                .blocks_at(created)
                .into_iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>(),
                None => vec!["the number is not a lead's".into()],
            };
            if !blocks.is_empty() {
                self.violation(
                    "every call allowed by every rule (windows, state rules, caps) when placed",
                    None,
                    format!("{sid} to {to} at {}: {}", created, blocks.join("; ")),
                );
            }
            self.number_calls.entry(to).or_default().push(created);
        }

        // Attempts in flight: each within its bound.
        let in_flight = self
            .raw
            .attempts_to_reconcile(far_future(), far_future(), 100_000)
            .await?;
        let call_bound = self.call_bound();
        let unknown_bound = self.unknown_bound();
        let offset = self.clock.offset();
        for a in &in_flight {
            let age = now_e - a.reserved_at;
            let since = (a.reserved_at - offset).min(now);
            let up_age = age - self.excluded_within(since, now);
            let (bound, what) = match (a.state, &a.call_id) {
                (AttemptState::Reserved | AttemptState::Unknown, None) => {
                    (unknown_bound, "resolved (reserved/unknown)")
                }
                _ => (call_bound, "final"),
            };
            if up_age > bound {
                let detail = format!(
                    "attempt {} ({}, lead {}) is {} with call {:?} after {} of up-time (bound {}: ring timeout + max call length + reconcile slack)",
                    a.id,
                    a.phone,
                    a.lead_id,
                    a.state.as_str(),
                    a.call_id.as_ref().map(|c| c.to_string()),
                    fmt_d(up_age),
                    fmt_d(bound)
                );
                self.violation(
                    &format!("every attempt {what} within its bound"),
                    Some(a.id.to_string()),
                    detail,
                );
            }
        }
        self.in_flight = in_flight;

        // Final attempts concluded promptly (durable work picked up after crashes); looked
        // at on maintenance steps.
        if self.maintained || self.draining {
            let ids = self.raw.attempts_to_conclude(1000).await?;
            let ids: BTreeSet<AttemptId> = ids.into_iter().collect();
            self.unconcluded.retain(|id, _| ids.contains(id));
            for id in ids {
                let first = *self.unconcluded.entry(id).or_insert(now);
                let up = (now - first) - self.excluded_within(first, now);
                if up > Duration::seconds(CONCLUDE_WITHIN_S) {
                    self.stuck.insert(id);
                    self.violation(
                        "every final attempt concluded (redial policy applied)",
                        Some(id.to_string()),
                        format!(
                            "attempt {id} is final but not concluded after {} of up-time",
                            fmt_d(up)
                        ),
                    );
                }
            }
        }

        // Leads: none lost, none starved.
        let leads = checks::all_leads(&*self.raw).await?;
        let busy_leads: BTreeSet<LeadId> = self.in_flight.iter().map(|a| a.lead_id).collect();
        let down = self.up_at.is_some_and(|t| t > now)
            || self.engine.is_none()
            || self.kill_switch_tripped;
        let full = self.in_flight.len() as u32 >= self.sc.engine.max_concurrent;
        if down || full || self.draining {
            self.last_blocked = now;
        }
        let mut dialing_unexplained = Vec::new();
        for l in &leads {
            match l.status {
                LeadStatus::Active => {
                    let Some(at) = l.next_attempt_at else {
                        dialing_unexplained.push((l.id, "active without a next attempt time"));
                        continue;
                    };
                    let t = at - offset;
                    if t + Duration::seconds(STARVED_AFTER_S) < now
                        && self.last_blocked + Duration::seconds(STARVED_AFTER_S) < now
                    {
                        self.violation(
                            "no lead lost",
                            Some(format!("starved {} {}", l.id, at)),
                            format!(
                                "lead {} ({}) due since {} was not dialed though outdial was up with spare capacity",
                                l.id, l.phone, at
                            ),
                        );
                    }
                }
                LeadStatus::Done | LeadStatus::Paused => {
                    if l.status_reason.as_deref().is_none_or(str::is_empty) {
                        dialing_unexplained.push((l.id, "done or paused without a reason"));
                    }
                }
                LeadStatus::Dialing => {
                    if !busy_leads.contains(&l.id) {
                        dialing_unexplained.push((l.id, "dialing"));
                    }
                }
            }
        }
        if !dialing_unexplained.is_empty() {
            // A dialing lead whose attempt is final but not yet concluded is fine (the
            // conclusion check bounds it).
            let pending = self.raw.attempts_to_conclude(1000).await?;
            let mut pending_leads = BTreeSet::new();
            for id in pending {
                if let Some(a) = self.raw.attempt(id).await? {
                    pending_leads.insert(a.lead_id);
                }
            }
            for (id, what) in dialing_unexplained {
                if what == "dialing" && pending_leads.contains(&id) {
                    continue;
                }
                self.violation(
                    "no lead lost",
                    Some(format!("{id} {what}")),
                    format!("lead {id} is {what} without an attempt in flight"),
                );
            }
        }
        self.leads = leads;
        // Durable jobs still open (retries waiting for their backoff, claims of a dead
        // engine waiting to expire): when the next can be claimed.
        if self.engine_ran || self.jobs_open > 0 {
            let counts = self.raw.job_counts().await?;
            self.jobs_open = counts.get("pending").copied().unwrap_or(0)
                + counts.get("running").copied().unwrap_or(0);
            self.next_job_at = None;
            if self.jobs_open > 0 {
                let mut next: Option<DateTime<Utc>> = None;
                for state in [
                    outdial_store::JobState::Pending,
                    outdial_store::JobState::Running,
                ] {
                    for j in self.raw.jobs(Some(state), 10_000).await? {
                        let at = match state {
                            outdial_store::JobState::Running => {
                                j.locked_until.unwrap_or(j.run_at) + Duration::milliseconds(1)
                            }
                            _ => j.run_at,
                        } - offset;
                        next = Some(next.map_or(at, |n| n.min(at)));
                    }
                }
                self.next_job_at = next;
            }
        }
        Ok(())
    }

    /// The end checks: `checks::check_all`, then every final status handled.
    async fn final_checks(&mut self) -> anyhow::Result<()> {
        let now = self.now();
        let mut ledger: Vec<LedgerEntry> = self.provider.ledger(now);
        if self.cfg.sabotage == Some(Sabotage::OverlappingLedgerEntry) {
            if let Some(first) = ledger.first().cloned() {
                ledger.push(LedgerEntry {
                    call_sid: format!("CA{:032x}", 0xbad_u128),
                    created_at: first.created_at + Duration::seconds(1),
                    ended_at: Some(first.created_at + Duration::seconds(60)),
                    final_status: Some("completed".into()),
                    ..first
                });
            }
        }
        let report = checks::check_all(&*self.raw, &ledger, &self.rules).await?;
        for c in report.checks {
            self.trace.line(
                now,
                format!(
                    "check {} {}: {}",
                    if c.ok { "ok" } else { "FAIL" },
                    c.name,
                    c.detail
                ),
            );
            if !c.ok {
                self.violation(c.name, None, c.detail);
            }
        }
        let attempts = checks::all_attempts(&*self.raw).await?;
        self.stats.attempts = attempts.len() as u64;
        let by_call: BTreeMap<&str, &Attempt> = attempts
            .iter()
            .filter_map(|a| a.call_id.as_ref().map(|c| (c.as_str(), a)))
            .collect();
        let mut problems = Vec::new();
        for t in self.provider.truths(now) {
            let Some(a) = by_call.get(t.sid.as_str()) else {
                continue; // check_all reports calls without attempts
            };
            match t.final_status {
                Some(fs) => {
                    let expected = auto_disposition(fs, t.answered_by);
                    if a.state != AttemptState::Ended || a.call_status != Some(fs) {
                        problems.push(format!(
                            "call {} ended {} but attempt {} is {} with status {:?}",
                            t.sid,
                            fs.as_str(),
                            a.id,
                            a.state.as_str(),
                            a.call_status.map(|s| s.as_str())
                        ));
                    } else if a.concluded_at.is_none() {
                        problems.push(format!(
                            "call {} ended {} but attempt {} was never concluded",
                            t.sid,
                            fs.as_str(),
                            a.id
                        ));
                    } else if a.disposition != expected {
                        problems.push(format!(
                            "call {} ended {} (answered by {:?}) but attempt {} has disposition {:?}, expected {:?}",
                            t.sid,
                            fs.as_str(),
                            t.answered_by.map(|b| b.as_str()),
                            a.id,
                            a.disposition.as_ref().map(|d| d.to_string()),
                            expected.as_ref().map(|d| d.to_string())
                        ));
                    }
                }
                None => {
                    if a.state.is_final() {
                        problems.push(format!(
                            "attempt {} is {} ({:?}) but its call {} is live at the provider",
                            a.id,
                            a.state.as_str(),
                            a.call_status.map(|s| s.as_str()),
                            t.sid
                        ));
                    }
                }
            }
        }
        for a in &attempts {
            if a.state.is_final() && a.concluded_at.is_none() {
                problems.push(format!(
                    "attempt {} is {} but was never concluded",
                    a.id,
                    a.state.as_str()
                ));
            }
        }
        for p in problems {
            self.violation(
                "every final status handled (attempt ended, concluded, sane disposition)",
                None,
                p,
            );
        }
        // Durable jobs: every concluded attempt's post-call work reached the CRM, every
        // alert was delivered, nothing dead-lettered or left behind.
        let crm = self.crm.post_call();
        for a in &attempts {
            if a.concluded_at.is_some() && !crm.contains_key(&a.id) {
                self.violation(
                    "durable jobs: post-call work of every concluded attempt delivered",
                    None,
                    format!(
                        "attempt {} concluded at {:?}, but its post-call job never reached the CRM",
                        a.id, a.concluded_at
                    ),
                );
            }
        }
        let delivered = self.crm.alerts();
        for al in self.raw.alerts(10_000).await? {
            if !delivered.contains_key(&al.id.0) {
                self.violation(
                    "durable jobs: every alert delivered",
                    None,
                    format!(
                        "alert {} ({}) raised at {} was never delivered",
                        al.id, al.kind, al.raised_at
                    ),
                );
            }
        }
        let counts = self.raw.job_counts().await?;
        for state in ["pending", "running", "dead"] {
            if let Some(n) = counts.get(state).filter(|n| **n > 0) {
                let jobs = self
                    .raw
                    .jobs(outdial_store::JobState::parse(state), 5)
                    .await?;
                self.violation(
                    "durable jobs: none dead or left behind",
                    None,
                    format!(
                        "{n} job(s) {state} at the end, e.g. {}",
                        jobs.iter()
                            .map(|j| format!(
                                "{} {} {} ({:?} {:?})",
                                j.id, j.kind, j.payload, j.error_code, j.error_message
                            ))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                );
            }
        }
        let ps = self.provider.stats();
        let s = &mut self.stats;
        s.callbacks = ps.callbacks;
        s.lost = ps.lost;
        s.duplicated = ps.duplicated;
        s.reordered = ps.reordered;
        s.delayed = ps.delayed;
        s.ambiguous_created = ps.ambiguous_created;
        s.server_errors = ps.server_errors;
        s.rate_limited = ps.rate_limited;
        s.rejected = ps.rejected;
        s.outage_requests = ps.outage_requests;
        s.outages = ps.outages;
        s.blackouts = ps.blackouts;
        s.never_ending = ps.never_ending;
        s.ended_by_api = ps.ended_by_api;
        s.operations = self.ctl.ops();
        self.trace.line(
            now,
            format!("engine operations by name: {:?}", self.ctl.ops_by_name()),
        );
        self.trace.line(
            now,
            format!(
                "end: {} steps, {} calls, {} attempts, {} crashes, {} violations",
                self.stats.steps,
                self.stats.calls,
                self.stats.attempts,
                self.stats.crashes,
                self.violations.len()
            ),
        );
        Ok(())
    }

    fn report(&self, elapsed: std::time::Duration) -> SeedReport {
        let mut final_statuses = BTreeMap::new();
        for t in self.provider.truths(self.now()) {
            if let Some(fs) = t.final_status {
                *final_statuses.entry(fs.as_str().to_string()).or_default() += 1;
            }
        }
        SeedReport {
            seed: self.seed,
            start: self.sc.start,
            start_kind: self.sc.start_kind,
            stats: self.stats.clone(),
            final_statuses,
            crash_points: self.crash_points.clone(),
            violations: self.violations.clone(),
            trace_hash: self.trace.hash(),
            trace_lines: self.trace.len(),
            trace_tail: if self.violations.is_empty() {
                Vec::new()
            } else {
                self.tail.clone()
            },
            trace: self.trace.all(),
            elapsed,
        }
    }
}
