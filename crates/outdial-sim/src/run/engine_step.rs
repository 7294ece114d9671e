//! What the engine does in one step: callbacks delivered as webhooks, `Engine::tick`,
//! maintenance (lease, reconciler, safety monitor), durable jobs, and the simulated operator
//! resuming kill switches.

use super::*;

impl World {
    /// One step of the engine while it is up: the restart after a crash, the callbacks due,
    /// `Engine::tick` when it can change anything, maintenance when due, durable jobs and the
    /// simulated operator. The simulator's whole engine loop body, in one place.
    // r10: replace with Engine::step
    pub(super) async fn step_engine(&mut self) -> anyhow::Result<()> {
        self.up_at = None;
        // The loop ticks as `Engine::run` would whenever a tick can change anything:
        // when a lead is due, after a call ended (capacity, redials), after a restart,
        // while a final attempt waits for its conclusion, and after a maintenance step
        // that changed an attempt.
        let engine_now = self.clock.now();
        let mut want_tick = self.stats.steps == 1
            || self.conclusions_pending()
            || self.leads.iter().any(|l| {
                l.status == LeadStatus::Active && l.next_attempt_at.is_some_and(|t| t <= engine_now)
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
        Ok(())
    }

    /// Delivers one callback. Returns whether it ended an attempt.
    pub(super) async fn deliver(&mut self, d: Delivery) -> bool {
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

    pub(super) async fn tick(&mut self) {
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
    pub(super) async fn maintain(&mut self) -> bool {
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

    pub(super) async fn run_jobs(&mut self) {
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
    pub(super) async fn operate_kill_switches(&mut self) -> anyhow::Result<()> {
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
}
