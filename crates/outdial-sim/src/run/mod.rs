//! The simulation loop of one seed.
//!
//! Event-driven virtual time: each step happens at the next interesting true instant (a
//! callback reaching outdial, a maintenance step while anything is in flight, the next due
//! lead, a harness fault, the end of a downtime, at most 15 minutes apart). A step delivers
//! the callbacks due, then runs `Engine::step_with`: the tick when it can change anything,
//! maintenance (lease, reconciler, the safety monitor every 30 s) on the engine's cadence when
//! it can find anything, the durable jobs. Then it checks what changed. After the simulated days the dialer is stopped and the loop drains what is in
//! flight; then the end checks run (`checks::check_all` and the rest).

use super::clock::SimClock;
use super::crash::{
    CrashCtl, CrashPoint, CrashProvider, CrashStore, Phase, PROVIDER_BOUNDARIES, RARE_BOUNDARIES,
    STORE_BOUNDARIES,
};
use super::crm::{AlertHandler, Crm, PostCallHandler, ALERT_JOB, POST_CALL_JOB};
use super::provider::{Delivery, FakeProvider};
use super::scenario::{Scenario, WorldEvent};
use super::trace::Trace;
use super::{SeedReport, SeedStats, SimConfig, Violation};
use crate::checks;
use anyhow::Context;
use chrono::{DateTime, Duration, TimeZone, Utc};
use outdial_carrier::rng::keyed;
use outdial_carrier::LedgerEntry;
use outdial_clock::Clock;
use outdial_core::compliance::StateRules;
use outdial_core::disposition::auto_disposition;
use outdial_core::schedule::{whereabouts, LeadRules, Whereabouts};
use outdial_core::{AttemptId, AttemptState, LeadId, LeadStatus, ProviderKind};
use outdial_engine::{Engine, EngineConfig, EngineError};
use outdial_providers::Provider;
use outdial_store::prelude::*;
use outdial_store::{Attempt, Campaign, EventOutcome, KillScope, Lead, RawEvent};
use outdial_store_sqlite::{OpenMode, SqliteStore};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod engine_step;
mod faults;
mod invariants;

/// Most violations kept per seed.
const MAX_VIOLATIONS: usize = 50;
/// Longest step when nothing else is scheduled.
const IDLE_STEP_S: i64 = 15 * 60;
/// A lead due this long (while the engine could have dialed it) is starved.
const STARVED_AFTER_S: i64 = 60 * 60;
/// Interval of the safety monitor (on maintenance steps), seconds: the engine's
/// `monitor_every_s`.
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
    /// The run's settings (read again only by the `sabotage` feature).
    #[cfg_attr(not(feature = "sabotage"), allow(dead_code))]
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
                "seed {seed} start {} ({}) provider {} ring {}s max-call {}s window {}-{} redial {:?} per-day {} total {:?} caps {:?} holidays {}",
                now.to_rfc3339(),
                sc.start_kind,
                sc.campaign.provider,
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
        let placements =
            outdial_engine::enqueue::lead_placements(&*raw, &sc.leads, &campaign, &rules, now)
                .await?;
        for (lead, placement) in sc.leads.iter().zip(placements) {
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
            maintenance_every_s: sc.engine.maintenance_every_s,
            monitor_every_s: MONITOR_EVERY_S,
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
        let store = CrashStore::new(self.raw.clone(), self.ctl.clone(), generation);
        #[cfg(feature = "sabotage")]
        let store = store.with_sabotage(self.cfg.sabotage);
        let store: Arc<dyn Store> = Arc::new(store);
        let provider: Arc<dyn Provider> = Arc::new(CrashProvider::new(
            self.provider.clone(),
            self.ctl.clone(),
            generation,
        ));
        let mut cfg = self.engine_cfg.clone();
        cfg.instance_id = format!("sim-{}", self.instance);
        let providers = HashMap::from([(self.sc.provider.wire, provider)]);
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
                self.step_engine().await?;
            } else {
                while let Some(d) = self.provider.pop_due(now) {
                    self.stats.lost_down += 1;
                    self.trace.line(
                        now,
                        format!(
                            "webhook {} #{} {} lost: outdial is down",
                            d.event().call_id,
                            d.event().sequence.unwrap_or(0),
                            d.event().status.as_str()
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
                take(self.next_maint());
            }
            if let Some(t) = self.next_reconcile_at() {
                take(t.max(self.next_maint()));
            }
            if !self.in_flight.is_empty() || self.active_until > now {
                take(self.next_monitor().max(self.next_maint()));
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

    /// When the engine's next maintenance turn is due (true time): now when no engine runs
    /// or it never maintained (a new engine maintains at its first step).
    fn next_maint(&self) -> DateTime<Utc> {
        self.engine
            .as_ref()
            .and_then(Engine::next_maintenance_at)
            .map_or(self.now(), |t| self.clock.to_true(t))
    }

    /// When the engine's safety monitor is next due on a maintenance turn (true time), as
    /// [`World::next_maint`].
    fn next_monitor(&self) -> DateTime<Utc> {
        self.engine
            .as_ref()
            .and_then(Engine::next_monitor_at)
            .map_or(self.now(), |t| self.clock.to_true(t))
    }

    /// Whether the engine's maintenance (lease, reconciler, monitor) is due on its cadence
    /// and can do anything now.
    fn maintenance_due(&self, now: DateTime<Utc>) -> bool {
        if now < self.next_maint() {
            return false;
        }
        self.conclusions_pending()
            || self.next_reconcile_at().is_some_and(|t| t <= now)
            || (now >= self.next_monitor()
                && (!self.in_flight.is_empty() || self.active_until > now))
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
            provider: self.sc.campaign.provider,
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
