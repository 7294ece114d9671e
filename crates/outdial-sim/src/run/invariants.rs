//! The invariants checked after every step ([`World::check_step`]) and at the end
//! ([`World::final_checks`]), with the time bounds they allow.

use super::*;

impl World {
    /// Longest an attempt with a call may stay unfinished (up-time): the call's own span
    /// (ring timeout + 5 s + longest call), the engine's end-of-call slack, two
    /// reconciler rounds (the first ask may come just before the call outlives its bound; an
    /// ambiguous create is linked one round late), two maintenance intervals, and 60 s for the
    /// maintenance lease a crashed instance still holds.
    pub(super) fn call_bound(&self) -> Duration {
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
    pub(super) fn unknown_bound(&self) -> Duration {
        Duration::seconds(
            self.sc.engine.reconcile_after_s.max(60) + 2 * self.sc.engine.maintenance_every_s + 90,
        )
    }

    /// Time within `[from, to]` during which the engine or the provider could not act.
    pub(super) fn excluded_within(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
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
    pub(super) async fn check_step(&mut self) -> anyhow::Result<()> {
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
                Some(w) => {
                    LeadRules::new(&self.campaign.settings, &self.rules, w, &earlier, &earlier)
                        .blocks_at(created)
                        .into_iter()
                        .map(|b| b.to_string())
                        .collect::<Vec<_>>()
                }
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
    pub(super) async fn final_checks(&mut self) -> anyhow::Result<()> {
        let now = self.now();
        #[allow(unused_mut)] // only the `sabotage` feature adds to it
        let mut ledger: Vec<LedgerEntry> = self.provider.ledger(now);
        #[cfg(feature = "sabotage")]
        if self.cfg.sabotage == Some(crate::Sabotage::OverlappingLedgerEntry) {
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
        s.second_webhooks = ps.second_webhooks;
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
}
