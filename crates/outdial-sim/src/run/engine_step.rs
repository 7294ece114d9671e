//! What the engine does in one step: callbacks delivered as webhooks, `Engine::step_with`
//! (tick, maintenance, durable jobs) with the simulator's plan, traced from its report, and
//! the simulated operator resuming kill switches.

use super::*;
use outdial_engine::{Maintenance, MaintenanceReport, StepPlan, StepReport};
use outdial_providers::bland;
use outdial_providers::twilio::webhook;

impl World {
    /// One step of the engine while it is up: the restart after a crash, the callbacks due,
    /// then `Engine::step_with` with the simulator's plan (the tick when it can change
    /// anything, maintenance when it can find anything, on the engine's cadence), a second
    /// tick after maintenance that changed something, durable jobs, and the simulated
    /// operator.
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
        let maintenance = if self.maintenance_due(self.now()) {
            Maintenance::Auto
        } else {
            Maintenance::Skip
        };
        let (maintained, changed) = self
            .engine_step(StepPlan {
                tick: want_tick,
                maintenance,
                jobs: false,
            })
            .await;
        let jobs_due = self.next_job_at.is_some_and(|t| t <= self.now());
        self.engine_step(StepPlan {
            tick: changed,
            maintenance: Maintenance::Skip,
            jobs: want_tick || maintained || jobs_due,
        })
        .await;
        // Only maintenance (the monitor, the reconciler) trips switches.
        let resume_due = self.resume_at.values().any(|t| *t <= self.now());
        if self.engine.is_some() && (maintained || resume_due) {
            self.operate_kill_switches().await?;
        }
        self.maintained = maintained;
        Ok(())
    }

    /// One `Engine::step_with` under `plan` (nothing when no engine runs or the plan is
    /// empty), traced and settled phase by phase from its report; a crash stops the
    /// settling at the phase that saw it. Returns whether maintenance ran, and whether it
    /// changed an attempt (the reconciler advanced or resolved one) or tripped a kill switch.
    async fn engine_step(&mut self, plan: StepPlan) -> (bool, bool) {
        let empty = !plan.tick && !plan.jobs && plan.maintenance == Maintenance::Skip;
        let Some(engine) = self.engine.as_ref().filter(|_| !empty) else {
            return (false, false);
        };
        self.engine_ran = true;
        let StepReport {
            tick,
            maintenance,
            jobs,
        } = engine.step_with(self.clock.now(), plan).await;
        let maintained = maintenance.is_some();
        let mut changed = false;
        if let Some(r) = tick {
            self.trace_tick(&r);
            self.settle("tick", r).await;
            if self.engine.is_none() {
                return (maintained, changed);
            }
        }
        if let Some(m) = maintenance {
            match self.settle_maintenance(m).await {
                Some(c) => changed = c,
                None => return (maintained, changed),
            }
        }
        if let Some(r) = jobs {
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
        (maintained, changed)
    }

    fn trace_tick(&mut self, r: &Result<outdial_engine::TickReport, EngineError>) {
        let Ok(rep) = r else {
            return;
        };
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

    /// Traces and settles the maintenance part of a step: the lease, the reconciler, the
    /// safety monitor when it ran. Returns whether it changed an attempt or tripped a kill
    /// switch; `None` when a crash stopped the engine.
    async fn settle_maintenance(&mut self, m: MaintenanceReport) -> Option<bool> {
        let MaintenanceReport {
            lease,
            reconcile,
            monitor,
        } = m;
        let held = self.settle("maintenance lease", lease).await;
        // After each phase: `None` once a crash took the engine away.
        self.engine.as_ref()?;
        let mut changed = false;
        if let (Some(true), Some(r)) = (held, reconcile) {
            if let Ok(rep) = &r {
                if *rep != outdial_engine::ReconcileReport::default() {
                    let line = format!(
                        "reconcile: examined {} advanced {} not-placed {} errors {}",
                        rep.examined, rep.advanced, rep.not_placed, rep.errors
                    );
                    self.trace.line(self.now(), line);
                }
            }
            let rep = self.settle("reconcile", r).await;
            self.engine.as_ref()?;
            changed = rep.is_some_and(|rep| rep.advanced + rep.not_placed > 0);
        }
        if let Some(r) = monitor {
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
            self.engine.as_ref()?;
            changed |= tripped;
        }
        Some(changed)
    }

    /// Delivers one callback: its form body goes through the provider adapter's
    /// `verified_callback`, as in the HTTP handler (the signature is not computed: the
    /// simulator's provider is trusted), and the parsed event is ingested. Returns whether it
    /// ended an attempt.
    pub(super) async fn deliver(&mut self, d: Delivery) -> bool {
        if self.engine.is_none() {
            return false;
        }
        let body = d.body();
        let parsed = match d.wire {
            ProviderKind::Twilio => webhook::decode_form(body.as_bytes())
                .and_then(|params| webhook::verified_callback(&params, body.as_bytes(), self.now()))
                .map(|v| {
                    let raw = RawEvent {
                        source: v.source,
                        dedupe_key: v.dedupe_key,
                        payload: v.payload,
                    };
                    (v.callback.event, raw)
                })
                .map_err(|e| e.to_string()),
            ProviderKind::Bland => self.bland_event(&d, &body),
        };
        let (event, raw) = match parsed {
            Ok(v) => v,
            Err(e) => {
                self.violation(
                    "every callback the provider sends parses",
                    None,
                    format!("{body}: {e}"),
                );
                return false;
            }
        };
        let Some(engine) = self.engine.as_ref() else {
            return false;
        };
        self.stats.delivered += 1;
        self.engine_ran = true;
        let r = engine.ingest_call_event(d.attempt, &event, &raw).await;
        let now = self.now();
        let what = format!(
            "webhook {} #{} {}{}",
            d.event().call_id,
            d.event().sequence.unwrap_or(0),
            d.event().status.as_str(),
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
                Some(d.event().call_id.to_string()),
                format!(
                    "callback for {} (attempt {:?}) matched no attempt",
                    d.event().call_id,
                    d.attempt
                ),
            );
        }
        ended
    }

    /// A Bland post-call body as the HTTP route reads it: parsed, its metadata checked
    /// against the callback URL's attempt, a final status, the raw event keyed by call id
    /// and body hash. The error says which of these failed.
    fn bland_event(
        &self,
        d: &Delivery,
        body: &str,
    ) -> Result<(outdial_core::CallEvent, RawEvent), String> {
        let result = match bland::webhook::parse_call_webhook(body.as_bytes()) {
            Ok(bland::webhook::BlandCallback::Call(r)) => r,
            Ok(bland::webhook::BlandCallback::Event(_)) => {
                return Err("read as an event-stream item, not a post-call payload".into())
            }
            Err(e) => return Err(e.to_string()),
        };
        if let (Some(url), Some(meta)) = (d.attempt, result.attempt_id) {
            if url.0 != meta {
                return Err(format!(
                    "metadata attempt {meta} ≠ callback URL attempt {url}"
                ));
            }
        }
        let event = result
            .to_event(self.now())
            .ok_or_else(|| format!("status {} is not final", result.status.as_str()))?;
        let raw = RawEvent {
            source: bland::webhook::WEBHOOK_SOURCE.into(),
            dedupe_key: bland::webhook::dedupe_key(Some(&result.call_id), body.as_bytes()),
            payload: body.to_owned(),
        };
        Ok((event, raw))
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
