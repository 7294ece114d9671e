//! Harness faults of a seed: arming crashes at store and provider boundaries, the restart
//! after a crash, and the world's scheduled events (clock jumps, outages, blackouts, DNC).

use super::*;

impl World {
    /// Arms the next crash at a random boundary, some time from now.
    pub(super) fn arm_next_crash(&mut self, now: DateTime<Utc>) {
        if self.crashes_left == 0 || self.draining {
            self.ctl.disarm();
            return;
        }
        self.crashes_left -= 1;
        self.arm_random(now);
    }

    pub(super) fn arm_random(&mut self, now: DateTime<Utc>) {
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
    pub(super) fn maybe_rearm(&mut self, now: DateTime<Utc>) {
        if let Some(p) = self.ctl.armed() {
            if now > p.not_before + self.armed_patience && self.rearms < 10 {
                self.rearms += 1;
                self.arm_random(now);
            }
        }
    }

    /// Handles the outcome of an engine call: a crash (restart pending) or an unexpected
    /// error (a violation).
    pub(super) async fn settle<T>(&mut self, what: &str, r: Result<T, EngineError>) -> Option<T> {
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

    pub(super) async fn on_crash(&mut self) {
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

    pub(super) async fn restart(&mut self) -> anyhow::Result<()> {
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

    pub(super) async fn apply_world_event(&mut self, ev: WorldEvent) -> anyhow::Result<()> {
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
    pub(super) async fn opt_out(&mut self, phone: String) -> anyhow::Result<()> {
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
}
