//! The loop: one step body, run forever on the clock.

use chrono::{DateTime, Duration, Utc};

use crate::{
    Engine, EngineError, JobsReport, MonitorReport, ReconcileReport, TickReport, MAINTENANCE_LEASE,
};

/// What one [`Engine::step`] did, phase by phase. Every error is also logged (and a storage
/// failure noted) by the step itself; the next step retries.
#[derive(Debug)]
pub struct StepReport {
    /// The tick.
    pub tick: Result<TickReport, EngineError>,
    /// Maintenance, when its cadence (`maintenance_every_s`) was due; `None` otherwise.
    pub maintenance: Option<MaintenanceReport>,
    /// The durable jobs (run on every instance; claims keep them exclusive).
    pub jobs: Result<JobsReport, EngineError>,
}

/// What the maintenance part of one [`Engine::step`] did.
#[derive(Debug)]
pub struct MaintenanceReport {
    /// Whether this instance holds the maintenance lease (`Ok(false)`: another does, and
    /// nothing else ran).
    pub lease: Result<bool, EngineError>,
    /// The reconciler, when the lease is held.
    pub reconcile: Option<Result<ReconcileReport, EngineError>>,
    /// The safety monitor, when the lease is held (it runs after the reconciler, whatever
    /// the reconciler's outcome).
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

    /// Whether maintenance is due at `now` (clock time): never run yet, or at least
    /// `maintenance_every_s` since the last time. Marks it as run when due.
    fn take_maintenance_turn(&self, now: DateTime<Utc>) -> bool {
        let mut last = self.last_maintenance.lock().expect("last maintenance");
        let due =
            last.is_none_or(|t| now - t >= Duration::seconds(self.config.maintenance_every_s));
        if due {
            *last = Some(now);
        }
        due
    }

    /// The one loop body, in this order:
    /// 1. [`Engine::tick`] at `now`;
    /// 2. when maintenance is due (every `maintenance_every_s` clock seconds, first at the
    ///    first step), read the clock again, take or renew the maintenance lease, and if this
    ///    instance holds it run [`Engine::reconcile`], then [`Engine::monitor`] (each at the
    ///    clock's reading when it starts);
    /// 3. [`Engine::run_jobs`] at the clock's reading.
    ///
    /// The later phases read the clock because a tick takes clock time (pacing waits).
    /// Errors are logged (storage failures noted, see [`Engine::note_error`]) and returned in
    /// the report, never fatal.
    pub async fn step(&self, now: DateTime<Utc>) -> StepReport {
        let tick = self.tick(now).await;
        match &tick {
            Ok(r) if *r != TickReport::default() => tracing::debug!(?r, "tick"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "scheduler tick failed"),
        }
        let now = self.clock.now();
        let maintenance = if self.take_maintenance_turn(now) {
            Some(self.maintain(now).await)
        } else {
            None
        };
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
        StepReport {
            tick,
            maintenance,
            jobs,
        }
    }

    /// Singleton maintenance: only the instance holding the lease reconciles and monitors.
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
        let monitor = self.monitor(self.clock.now()).await;
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
