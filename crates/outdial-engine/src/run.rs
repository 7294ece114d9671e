//! The loop: one step body, run forever on the clock.

use chrono::{DateTime, Duration, Utc};

use crate::{
    Engine, EngineError, JobsReport, MonitorReport, ReconcileReport, TickReport, MAINTENANCE_LEASE,
};

/// Which phases one [`Engine::step_with`] runs. The default plan runs every phase as
/// [`Engine::step`] does: the tick, maintenance when its cadence is due, the jobs. A driver
/// that decides itself when a phase can change anything (the simulator) turns phases off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepPlan {
    /// Run [`Engine::tick`] at `now`. Default `true`.
    pub tick: bool,
    /// Whether singleton maintenance (lease, reconciler, safety monitor) runs. Default
    /// [`Maintenance::Auto`].
    pub maintenance: Maintenance,
    /// Run [`Engine::run_jobs`]. Default `true`.
    pub jobs: bool,
}

impl Default for StepPlan {
    fn default() -> Self {
        StepPlan {
            tick: true,
            maintenance: Maintenance::Auto,
            jobs: true,
        }
    }
}

/// Whether one [`Engine::step_with`] runs singleton maintenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Maintenance {
    /// When its cadence is due: never run yet by this engine, or at least
    /// `maintenance_every_s` clock seconds since the last turn.
    #[default]
    Auto,
    /// Now, whatever the cadence; the turn counts as the last one for [`Maintenance::Auto`].
    Force,
    /// Not in this step; the cadence is left as it is.
    Skip,
}

/// What one [`Engine::step`] or [`Engine::step_with`] did, phase by phase. Every error is
/// also logged (and a storage failure noted) by the step itself; the next step retries.
#[derive(Debug)]
pub struct StepReport {
    /// The tick; `None` when the plan left it out.
    pub tick: Option<Result<TickReport, EngineError>>,
    /// Maintenance, when it ran (its cadence, `maintenance_every_s`, was due, or the plan
    /// forced it); `None` otherwise.
    pub maintenance: Option<MaintenanceReport>,
    /// The durable jobs (run on every instance; claims keep them exclusive); `None` when
    /// the plan left them out.
    pub jobs: Option<Result<JobsReport, EngineError>>,
}

impl StepReport {
    /// Whether the safety monitor ran in this step (with whatever result).
    pub fn monitor_ran(&self) -> bool {
        self.maintenance
            .as_ref()
            .is_some_and(|m| m.monitor.is_some())
    }
}

/// What the maintenance part of one step did.
#[derive(Debug)]
pub struct MaintenanceReport {
    /// Whether this instance holds the maintenance lease (`Ok(false)`: another does, and
    /// nothing else ran).
    pub lease: Result<bool, EngineError>,
    /// The reconciler, when the lease is held.
    pub reconcile: Option<Result<ReconcileReport, EngineError>>,
    /// The safety monitor, when the lease is held and its cadence (`monitor_every_s` clock
    /// seconds since it last started, first on the first turn) is due; `None`: it did not
    /// run. It runs after the reconciler, whatever the reconciler's outcome.
    pub monitor: Option<Result<MonitorReport, EngineError>>,
}

impl Engine {
    /// Takes or renews the maintenance lease for this instance. The lease lasts 30 real
    /// seconds (converted to clock time), renewed every few seconds by [`Engine::run`].
    pub async fn hold_maintenance_lease(&self, now: DateTime<Utc>) -> Result<bool, EngineError> {
        let ttl = Duration::milliseconds((30_000.0 * self.clock.speed()) as i64);
        Ok(self
            .store
            .try_acquire_lease(MAINTENANCE_LEASE, &self.config.instance_id, ttl, now)
            .await?)
    }

    /// When maintenance is next due under [`Maintenance::Auto`] (clock time): the last turn
    /// plus `maintenance_every_s`; `None` when this engine never maintained (due at once).
    pub fn next_maintenance_at(&self) -> Option<DateTime<Utc>> {
        let last = *self.last_maintenance.lock().expect("last maintenance");
        last.map(|t| t + Duration::seconds(self.config.maintenance_every_s))
    }

    /// When the safety monitor is next due on a maintenance turn (clock time): its last
    /// start plus `monitor_every_s`; `None` when this engine never ran it (due on the next
    /// turn).
    pub fn next_monitor_at(&self) -> Option<DateTime<Utc>> {
        let last = *self.last_monitor.lock().expect("last monitor");
        last.map(|t| t + Duration::seconds(self.config.monitor_every_s))
    }

    /// Whether maintenance runs at `now` (clock time) under `plan`: for
    /// [`Maintenance::Auto`], never run yet or at least `maintenance_every_s` since the last
    /// turn. Marks the turn as taken when it runs.
    fn take_maintenance_turn(&self, plan: Maintenance, now: DateTime<Utc>) -> bool {
        let mut last = self.last_maintenance.lock().expect("last maintenance");
        let due = match plan {
            Maintenance::Skip => false,
            Maintenance::Force => true,
            Maintenance::Auto => {
                last.is_none_or(|t| now - t >= Duration::seconds(self.config.maintenance_every_s))
            }
        };
        if due {
            *last = Some(now);
        }
        due
    }

    /// Whether the safety monitor is due at `now` (clock time): never run yet by this
    /// engine, or at least `monitor_every_s` since it last started. Marks it as run when due.
    fn take_monitor_turn(&self, now: DateTime<Utc>) -> bool {
        let mut last = self.last_monitor.lock().expect("last monitor");
        let due = last.is_none_or(|t| now - t >= Duration::seconds(self.config.monitor_every_s));
        if due {
            *last = Some(now);
        }
        due
    }

    /// The one loop body: [`Engine::step_with`] under the default [`StepPlan`] (every phase,
    /// maintenance on its cadence).
    pub async fn step(&self, now: DateTime<Utc>) -> StepReport {
        self.step_with(now, StepPlan::default()).await
    }

    /// One step under `plan`, in this order (each phase only when the plan has it):
    /// 1. [`Engine::tick`] at `now`;
    /// 2. maintenance, when due (see [`Maintenance`]; on its own cadence every
    ///    `maintenance_every_s` clock seconds, first at the first step): read the clock
    ///    again, take or renew the maintenance lease, and if this instance holds it run
    ///    [`Engine::reconcile`], then, when due (every `monitor_every_s` clock seconds, first
    ///    on the first turn), [`Engine::monitor`] (each at the clock's reading when it
    ///    starts);
    /// 3. [`Engine::run_jobs`] at the clock's reading.
    ///
    /// The later phases read the clock because a tick takes clock time (pacing waits).
    /// Errors are logged (storage failures noted, see [`Engine::note_error`]) and returned in
    /// the report, never fatal.
    pub async fn step_with(&self, now: DateTime<Utc>, plan: StepPlan) -> StepReport {
        let tick = if plan.tick {
            let tick = self.tick(now).await;
            match &tick {
                Ok(r) if *r != TickReport::default() => tracing::debug!(?r, "tick"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "scheduler tick failed"),
            }
            Some(tick)
        } else {
            None
        };
        let now = self.clock.now();
        let maintenance = if self.take_maintenance_turn(plan.maintenance, now) {
            Some(self.maintain(now).await)
        } else {
            None
        };
        let jobs = if plan.jobs {
            // Durable jobs run on every instance; claims keep them exclusive.
            let jobs = self.run_jobs(self.clock.now()).await;
            match &jobs {
                Ok(r) if *r != JobsReport::default() => tracing::debug!(?r, "jobs"),
                Ok(_) => {}
                Err(e) => {
                    self.note_error(e);
                    tracing::error!(error = %e, "job runner step failed")
                }
            }
            Some(jobs)
        } else {
            None
        };
        StepReport {
            tick,
            maintenance,
            jobs,
        }
    }

    /// Singleton maintenance: only the instance holding the lease reconciles and, when due,
    /// monitors.
    async fn maintain(&self, now: DateTime<Utc>) -> MaintenanceReport {
        let lease = self.hold_maintenance_lease(now).await;
        let mut report = MaintenanceReport {
            lease,
            reconcile: None,
            monitor: None,
        };
        match &report.lease {
            Ok(true) => {}
            Ok(false) => return report,
            Err(e) => {
                tracing::error!(error = %e, "maintenance lease failed");
                return report;
            }
        }
        let reconcile = self.reconcile(now).await;
        if let Err(e) = &reconcile {
            self.note_error(e);
            tracing::error!(error = %e, "reconciler step failed");
        }
        report.reconcile = Some(reconcile);
        let now = self.clock.now();
        if !self.take_monitor_turn(now) {
            return report;
        }
        let monitor = self.monitor(now).await;
        match &monitor {
            Ok(r) if !r.tripped.is_empty() => {
                tracing::error!(tripped = ?r.tripped, "safety monitor tripped kill switches")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "safety monitor step failed"),
        }
        report.monitor = Some(monitor);
        report
    }

    /// Runs [`Engine::step`] forever on the clock, every `interval` of real time, until
    /// `shutdown` resolves. Errors are logged, never fatal: the next step retries.
    pub async fn run(
        self: std::sync::Arc<Self>,
        interval: std::time::Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            self.step(self.clock.now()).await;
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
