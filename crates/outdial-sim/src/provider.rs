//! The in-process fake provider: places calls with a seeded plan, answers fetch, list and
//! end from its own truth at the world's time, keeps the ledger of every call it really
//! created, and schedules status callbacks with seeded faults (lost, duplicated, reordered,
//! delayed). The simulator delivers the callbacks to the engine.
//!
//! It speaks one provider's wire per run ([`ProviderProfile::wire`]): Twilio's form-encoded
//! status callbacks for every event, or Bland's post-call JSON webhook (the final event
//! only, sometimes followed 30–60 s later by a second delivery with a corrected
//! transcript, as Bland sends; `reference/bland.md` A5), with each provider's call ids and
//! refusals.
//!
//! Outcomes come from `outdial-carrier`'s shared outcome model
//! ([`outdial_carrier::outcome::draw_outcome`], with the simulator's own mix): answered by a
//! person or a machine, busy, no answer, failed; and two kinds of calls that never end on
//! their own, the simulator's faults: answered and never hung up (ended by `end_call` →
//! `completed`), and stuck in the provider's queue (ended by `end_call` → `canceled`).

mod stats;
mod wire;

pub use stats::ProviderStats;

use wire::uuid_like;
pub use wire::{bland_body, Delivery};

use super::clock::SimClock;
use super::trace::Trace;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use outdial_carrier::outcome::{draw_outcome, Answerer, FinalStatus, Forced, OutcomeInput};
use outdial_carrier::rng::keyed;
use outdial_carrier::{LedgerEntry, OutcomeMix};
use outdial_core::{
    AnsweredBy, AttemptId, CallEvent, CallStatus, ProviderCallId, ProviderKind, E164,
};
use outdial_providers::bland;
use outdial_providers::twilio::webhook::{self, StatusCallback};
use outdial_providers::{CallSnapshot, FetchError, PlaceCall, PlaceError, PlacedCall, Provider};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// What a call does, decided when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Answered by a person, then hung up.
    Human,
    /// Answered by a machine, then hung up.
    Machine,
    /// Busy.
    Busy,
    /// Not answered within the ring timeout.
    NoAnswer,
    /// Could not be completed.
    Failed,
    /// Answered and never hung up: only `end_call` ends it.
    NeverEnds,
    /// Stuck in the provider's queue: never rings, only `end_call` ends it (canceled).
    StuckQueued,
}

impl Outcome {
    /// Short name for the trace.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Human => "human",
            Outcome::Machine => "machine",
            Outcome::Busy => "busy",
            Outcome::NoAnswer => "no-answer",
            Outcome::Failed => "failed",
            Outcome::NeverEnds => "never-ends",
            Outcome::StuckQueued => "stuck-queued",
        }
    }
}

/// Probability that a Bland call's post-call webhook is followed by a second delivery.
pub const BLAND_SECOND_WEBHOOK: f64 = 0.3;

/// The fake provider's behaviour for one run. Probabilities are per request or per callback.
#[derive(Debug, Clone)]
pub struct ProviderProfile {
    /// Seed of every random draw.
    pub seed: u64,
    /// Whose wire protocol the provider speaks (callbacks, call ids, refusals), and the
    /// provider kind the engine registers it under.
    pub wire: ProviderKind,
    /// A status callback is never delivered.
    pub p_lose: f64,
    /// A status callback is delivered twice.
    pub p_duplicate: f64,
    /// A status callback arrives after the next one.
    pub p_reorder: f64,
    /// A status callback arrives seconds to minutes late.
    pub p_delay: f64,
    /// A create request is refused with HTTP 429 (no call).
    pub p_rate_limit: f64,
    /// A create request gets HTTP 500 and no call is created.
    pub p_server_error: f64,
    /// A create request creates the call but its response is lost (timeout).
    pub p_ambiguous_created: f64,
    /// A call is answered and never hung up.
    pub p_never_ends: f64,
    /// A call is stuck in the provider's queue.
    pub p_stuck_queued: f64,
    /// Numbers that are always busy.
    pub always_busy: BTreeSet<String>,
    /// Numbers the provider refuses as invalid (21211).
    pub invalid: BTreeSet<String>,
    /// Numbers whose answered calls never end.
    pub never_ends: BTreeSet<String>,
}

/// The provider's truth about one call.
#[derive(Debug, Clone)]
pub struct CallTruth {
    /// Call SID.
    pub sid: String,
    /// Called number.
    pub to: String,
    /// Attempt id of its callback URL.
    pub attempt: Option<AttemptId>,
    /// Planned outcome.
    pub outcome: Outcome,
    /// Creation instant (true time).
    pub created_at: DateTime<Utc>,
    /// Final status, once ended.
    pub final_status: Option<CallStatus>,
    /// Who answered, when answered.
    pub answered_by: Option<AnsweredBy>,
    /// Whether `end_call` ended it.
    pub ended_by_api: bool,
}

#[derive(Debug, Clone)]
struct Call {
    sid: String,
    to: String,
    from: String,
    created_at: DateTime<Utc>,
    attempt: Option<AttemptId>,
    outcome: Outcome,
    initiated_at: Option<DateTime<Utc>>,
    ringing_at: Option<DateTime<Utc>>,
    answered_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    final_status: Option<CallStatus>,
    answered_by: Option<AnsweredBy>,
    /// Callback events planned, in firing order: (status, instant).
    events: Vec<(CallStatus, DateTime<Utc>)>,
    ended_by_api: bool,
    /// Callbacks drawn so far (their fault stream position).
    callback_draws: u64,
}

impl Call {
    fn status_at(&self, now: DateTime<Utc>) -> CallStatus {
        let past = |t: Option<DateTime<Utc>>| t.is_some_and(|t| t <= now);
        if past(self.ended_at) {
            self.final_status.unwrap_or(CallStatus::Completed)
        } else if past(self.answered_at) {
            CallStatus::InProgress
        } else if past(self.ringing_at) {
            CallStatus::Ringing
        } else {
            // Twilio's REST status is `queued` until the call rings (`initiated` exists only
            // in callbacks).
            CallStatus::Queued
        }
    }

    fn duration_at(&self, end: DateTime<Utc>) -> u32 {
        self.answered_at
            .filter(|a| *a <= end)
            .map_or(0, |a| (end - a).num_seconds().max(0) as u32)
    }

    fn snapshot(&self, now: DateTime<Utc>, wire: ProviderKind) -> CallSnapshot {
        let status = self.status_at(now);
        let ended = self.ended_at.filter(|e| *e <= now);
        CallSnapshot {
            // Bland echoes the metadata outdial sent (the attempt id); Twilio keeps no tag.
            attempt: self.attempt.filter(|_| wire == ProviderKind::Bland),
            call_id: ProviderCallId::parse(&self.sid).expect("valid sid"),
            to: self.to.clone(),
            status,
            created_at: Some(self.created_at),
            start_time: self.initiated_at.filter(|t| *t <= now),
            end_time: ended,
            duration_s: ended.map(|e| self.duration_at(e)),
            answered_by: self.answered_at.filter(|a| *a <= now).and(self.answered_by),
            price: None,
        }
    }

    fn ledger_entry(&self, now: DateTime<Utc>) -> LedgerEntry {
        let ended = self.ended_at.filter(|e| *e <= now);
        LedgerEntry {
            call_sid: self.sid.clone(),
            to: self.to.clone(),
            from: self.from.clone(),
            created_at: self.created_at,
            answered_at: self.answered_at.filter(|a| *a <= now),
            ended_at: ended,
            final_status: ended.and(self.final_status).map(|s| s.as_str().to_string()),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    calls: BTreeMap<String, Call>,
    /// SIDs in creation order.
    order: Vec<String>,
    requests_to: BTreeMap<String, u64>,
    calls_to: BTreeMap<String, u64>,
    deliveries: BTreeMap<(DateTime<Utc>, u64), Delivery>,
    next_delivery: u64,
    /// An outage waiting for the next create request, and its length.
    outage_armed: Option<Duration>,
    /// Outage windows `[start, end)`, true time.
    outages: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// A webhook blackout waiting for the next create request, and its length.
    blackout_armed: Option<Duration>,
    /// Windows `[start, end)` in which every callback fired is lost (outdial's public URL is
    /// broken), true time.
    blackouts: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    stats: ProviderStats,
    violations: Vec<String>,
}

/// The fake provider. Implements [`Provider`]; the simulator drives its callbacks.
#[derive(Debug)]
pub struct FakeProvider {
    profile: ProviderProfile,
    clock: Arc<SimClock>,
    trace: Trace,
    state: Mutex<State>,
}

fn parse_attempt(url: &str) -> Option<AttemptId> {
    let q = url.split_once('?')?.1;
    q.split('&')
        .find_map(|kv| kv.strip_prefix("attempt="))
        .and_then(|v| v.parse().ok())
        .map(AttemptId)
}

/// The simulator's outcome mix for the shared model: human 25, machine 20, busy 15,
/// no-answer 25, failed 8; answered after 2–50 s of ringing; 5–420 s of talk.
fn outcome_mix() -> OutcomeMix {
    OutcomeMix {
        answered_human: 25,
        answered_machine: 20,
        busy: 15,
        no_answer: 25,
        failed: 8,
        answered_duration_s: 5..=420,
        ring_time_s: 2..=49,
    }
}

/// outdial's call status for a final status of the outcome model.
fn call_status(s: FinalStatus) -> CallStatus {
    match s {
        FinalStatus::Completed => CallStatus::Completed,
        FinalStatus::Busy => CallStatus::Busy,
        FinalStatus::NoAnswer => CallStatus::NoAnswer,
        FinalStatus::Failed => CallStatus::Failed,
        FinalStatus::Canceled => CallStatus::Canceled,
    }
}

fn ms(rng: &mut impl Rng, lo: i64, hi: i64) -> Duration {
    Duration::milliseconds(rng.gen_range(lo..=hi))
}

impl FakeProvider {
    /// A provider with no calls.
    pub fn new(profile: ProviderProfile, clock: Arc<SimClock>, trace: Trace) -> FakeProvider {
        FakeProvider {
            profile,
            clock,
            trace,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("provider lock")
    }

    /// Arms an outage of the provider's API lasting `d`, beginning with the next create
    /// request: creates get 5xx (a call may or may not be created), fetch, list and end
    /// fail.
    pub fn arm_outage(&self, d: Duration) {
        self.lock().outage_armed = Some(d);
    }

    /// Arms a webhook blackout lasting `d`, beginning with the next create request: every
    /// callback fired meanwhile is lost (a broken public URL, proxy or certificate).
    pub fn arm_blackout(&self, d: Duration) {
        self.lock().blackout_armed = Some(d);
    }

    /// Ends every outage at `now` and disarms any armed one.
    pub fn end_outages(&self, now: DateTime<Utc>) {
        let mut g = self.lock();
        g.outage_armed = None;
        g.blackout_armed = None;
        for w in g.blackouts.iter_mut() {
            if w.1 > now {
                w.1 = now.max(w.0);
            }
        }
        for w in g.outages.iter_mut() {
            if w.1 > now {
                w.1 = now.max(w.0);
            }
        }
    }

    /// Outage windows so far, `[start, end)`, true time.
    pub fn outages(&self) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.lock().outages.clone()
    }

    fn out(g: &State, now: DateTime<Utc>) -> bool {
        g.outages.iter().any(|(a, b)| *a <= now && now < *b)
    }

    /// When the next callback reaches outdial, if any is on its way.
    pub fn next_delivery_at(&self) -> Option<DateTime<Utc>> {
        self.lock().deliveries.keys().next().map(|(t, _)| *t)
    }

    /// Takes the next callback due at or before `now`.
    pub fn pop_due(&self, now: DateTime<Utc>) -> Option<Delivery> {
        let mut g = self.lock();
        let key = *g.deliveries.keys().next()?;
        if key.0 > now {
            return None;
        }
        g.deliveries.remove(&key)
    }

    /// Counters.
    pub fn stats(&self) -> ProviderStats {
        self.lock().stats.clone()
    }

    /// Calls not ended at `now`.
    pub fn live_calls(&self, now: DateTime<Utc>) -> usize {
        self.lock()
            .calls
            .values()
            .filter(|c| c.ended_at.is_none_or(|e| e > now))
            .count()
    }

    /// The ledger at `now`: every call created, in creation order.
    pub fn ledger(&self, now: DateTime<Utc>) -> Vec<LedgerEntry> {
        let g = self.lock();
        g.order
            .iter()
            .map(|sid| g.calls[sid].ledger_entry(now))
            .collect()
    }

    /// `(sid, to, created_at)` of the calls created after the first `idx`, in creation order.
    pub fn created_since(&self, idx: usize) -> Vec<(String, String, DateTime<Utc>)> {
        let g = self.lock();
        g.order
            .iter()
            .skip(idx)
            .map(|sid| {
                let c = &g.calls[sid];
                (c.sid.clone(), c.to.clone(), c.created_at)
            })
            .collect()
    }

    /// The truth about every call at `now`, in creation order.
    pub fn truths(&self, now: DateTime<Utc>) -> Vec<CallTruth> {
        let g = self.lock();
        g.order
            .iter()
            .map(|sid| {
                let c = &g.calls[sid];
                let ended = c.ended_at.is_some_and(|e| e <= now);
                CallTruth {
                    sid: c.sid.clone(),
                    to: c.to.clone(),
                    attempt: c.attempt,
                    outcome: c.outcome,
                    created_at: c.created_at,
                    final_status: if ended { c.final_status } else { None },
                    answered_by: c.answered_at.filter(|a| *a <= now).and(c.answered_by),
                    ended_by_api: c.ended_by_api,
                }
            })
            .collect()
    }

    /// Violations the provider saw itself (a call created while another call to the same
    /// number was live), taken.
    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().violations)
    }

    fn create_call(&self, g: &mut State, req: &PlaceCall, now: DateTime<Utc>) -> String {
        let to = req.to.as_str().to_string();
        let n = {
            let c = g.calls_to.entry(to.clone()).or_default();
            *c += 1;
            *c
        };
        let mut rng = keyed(self.profile.seed, "call", &to, n);
        let id = rng.gen::<u128>();
        let sid = match self.profile.wire {
            ProviderKind::Twilio => format!("CA{id:032x}"),
            ProviderKind::Bland => uuid_like(id),
        };
        // The simulator's own draws first, then the shared outcome model: every value is
        // drawn in a fixed order, whatever the outcome.
        let never_roll: f64 = rng.gen();
        let machine_kind: u8 = rng.gen_range(0..3);
        let p = &self.profile;
        let always_busy = p.always_busy.contains(&to);
        let stuck = !always_busy && never_roll < p.p_stuck_queued;
        let forced = if always_busy {
            Forced::Busy
        } else if p.never_ends.contains(&to) || never_roll < p.p_stuck_queued + p.p_never_ends {
            Forced::NeverEnds
        } else {
            Forced::None
        };
        let plan = draw_outcome(
            &mut rng,
            &outcome_mix(),
            &OutcomeInput {
                dial_at: now,
                ring_timeout_s: req.ring_timeout_s,
                time_limit_s: req.time_limit_s,
                forced,
            },
        );
        let machine = match machine_kind {
            0 => AnsweredBy::MachineStart,
            1 => AnsweredBy::MachineEndBeep,
            _ => AnsweredBy::MachineEndSilence,
        };
        let outcome = match (stuck, plan.final_status, plan.answerer) {
            (true, _, _) => Outcome::StuckQueued,
            (false, None, _) => Outcome::NeverEnds,
            (false, Some(FinalStatus::Completed), Some(Answerer::Machine)) => Outcome::Machine,
            (false, Some(FinalStatus::Completed), _) => Outcome::Human,
            (false, Some(FinalStatus::Busy), _) => Outcome::Busy,
            (false, Some(FinalStatus::NoAnswer), _) => Outcome::NoAnswer,
            (false, Some(FinalStatus::Failed | FinalStatus::Canceled), _) => Outcome::Failed,
        };
        let mut call = Call {
            sid: sid.clone(),
            to: to.clone(),
            from: req.from.as_str().to_string(),
            created_at: now,
            attempt: parse_attempt(&req.status_callback),
            outcome,
            initiated_at: Some(plan.initiated_at),
            ringing_at: plan.ringing_at,
            answered_at: plan.answered_at,
            ended_at: plan.ended_at,
            final_status: plan.final_status.map(call_status),
            answered_by: plan.answerer.map(|who| match who {
                Answerer::Human => AnsweredBy::Human,
                Answerer::Machine => machine,
            }),
            events: Vec::new(),
            ended_by_api: false,
            callback_draws: 0,
        };
        if stuck {
            // Stuck in the provider's queue: never dials, never rings, until `end_call`.
            call.initiated_at = None;
            call.ringing_at = None;
            call.answered_at = None;
            call.answered_by = None;
            call.ended_at = None;
            call.final_status = None;
        }
        if matches!(call.outcome, Outcome::NeverEnds | Outcome::StuckQueued) {
            g.stats.never_ending += 1;
        }
        let mut events = Vec::new();
        if let Some(t) = call.initiated_at {
            events.push((CallStatus::Initiated, t));
        }
        if let Some(t) = call.ringing_at {
            events.push((CallStatus::Ringing, t));
        }
        if let Some(t) = call.answered_at {
            events.push((CallStatus::InProgress, t));
        }
        if let (Some(t), Some(s)) = (call.ended_at, call.final_status) {
            events.push((s, t));
        }
        call.events = events;
        // Overlap: the previous call to this number must have ended.
        if let Some(prev) = g
            .order
            .iter()
            .rev()
            .map(|s| &g.calls[s])
            .find(|c| c.to == to)
        {
            if prev.ended_at.is_none_or(|e| e > now) {
                g.violations.push(format!(
                    "call {sid} to {to} created at {now} while {} (attempt {:?}) is live",
                    prev.sid, prev.attempt
                ));
            }
        }
        self.trace.line(
            now,
            format!(
                "provider create {sid} to {to} attempt {} plan {} end {}",
                call.attempt.map_or("-".into(), |a| a.to_string()),
                call.outcome.as_str(),
                call.ended_at.map_or("never".into(), |e| format!(
                    "+{}ms",
                    (e - now).num_milliseconds()
                ))
            ),
        );
        let n_events = call.events.len();
        g.stats.calls += 1;
        g.order.push(sid.clone());
        g.calls.insert(sid.clone(), call);
        for i in 0..n_events {
            self.schedule_callback(g, &sid, i);
        }
        sid
    }

    /// Schedules the `i`-th planned callback of call `sid`, with faults.
    fn schedule_callback(&self, g: &mut State, sid: &str, i: usize) {
        let wire = self.profile.wire;
        if wire == ProviderKind::Bland && !g.calls[sid].events[i].0.is_final() {
            // Bland sends one post-call webhook, no progress callbacks.
            return;
        }
        let call = g.calls.get_mut(sid).expect("call exists");
        call.callback_draws += 1;
        let mut rng = keyed(self.profile.seed, "callback", sid, call.callback_draws);
        let (status, at) = call.events[i];
        let next_at = call.events.get(i + 1).map(|e| e.1);
        let p = &self.profile;
        let (lose, delay, reorder, dup): (f64, f64, f64, f64) =
            (rng.gen(), rng.gen(), rng.gen(), rng.gen());
        let latency = ms(&mut rng, 20, 400);
        let delay_by = if rng.gen_bool(0.1) {
            ms(&mut rng, 60_000, 900_000)
        } else {
            ms(&mut rng, 1_000, 120_000)
        };
        let reorder_by = ms(&mut rng, 500, 10_000);
        let dup_after = ms(&mut rng, 100, 60_000);
        // Bland's second post-call delivery (corrected transcript), 30–60 s later; drawn
        // last so the draws before it are the same for either wire.
        let (second_roll, second_after): (f64, Duration) =
            (rng.gen(), ms(&mut rng, 30_000, 60_000));
        let event = CallEvent {
            call_id: ProviderCallId::parse(sid).expect("valid sid"),
            status,
            sequence: (wire == ProviderKind::Twilio).then_some(i as u32),
            at,
            duration_s: status.is_final().then(|| call.duration_at(at)),
            answered_by: if matches!(status, CallStatus::InProgress | CallStatus::Completed) {
                call.answered_by
            } else {
                None
            },
            sip_response_code: outdial_carrier::sip_response_code(status.as_str()),
        };
        let callback = StatusCallback {
            event,
            account_sid: outdial_carrier::DEFAULT_ACCOUNT_SID.to_owned(),
            to: call.to.clone(),
            from: call.from.clone(),
        };
        let attempt = call.attempt;
        g.stats.callbacks += 1;
        let blackout = g.blackouts.iter().any(|(a, b)| *a <= at && at < *b);
        if lose < p.p_lose || blackout {
            g.stats.lost += 1;
            self.trace.line(
                at,
                format!("provider loses callback {sid} #{i} {}", status.as_str()),
            );
            return;
        }
        let mut deliver_at = at + latency;
        if delay < p.p_delay {
            g.stats.delayed += 1;
            deliver_at += delay_by;
        }
        if reorder < p.p_reorder {
            if let Some(next) = next_at {
                g.stats.reordered += 1;
                deliver_at = deliver_at.max(next + reorder_by);
            }
        }
        let delivery = Delivery {
            deliver_at,
            event_at: at,
            attempt,
            callback,
            duplicate: false,
            wire,
            second: false,
        };
        if wire == ProviderKind::Bland && second_roll < BLAND_SECOND_WEBHOOK {
            g.stats.second_webhooks += 1;
            let mut later = delivery.clone();
            later.second = true;
            later.deliver_at = at + second_after;
            if reorder < p.p_reorder {
                // Reordered: the corrected payload arrives first.
                g.stats.reordered += 1;
                later.deliver_at = deliver_at;
                deliver_at = at + second_after;
            }
            let k = g.next_delivery;
            g.next_delivery += 1;
            g.deliveries.insert((later.deliver_at, k), later);
        }
        let delivery = Delivery {
            deliver_at,
            ..delivery
        };
        if dup < p.p_duplicate {
            g.stats.duplicated += 1;
            let mut copy = delivery.clone();
            copy.duplicate = true;
            copy.deliver_at = deliver_at + dup_after;
            let k = g.next_delivery;
            g.next_delivery += 1;
            g.deliveries.insert((copy.deliver_at, k), copy);
        }
        let k = g.next_delivery;
        g.next_delivery += 1;
        g.deliveries.insert((deliver_at, k), delivery);
    }
}

#[async_trait]
impl Provider for FakeProvider {
    fn status_callback_url(&self, public_url: &str, attempt: AttemptId) -> String {
        match self.profile.wire {
            ProviderKind::Twilio => webhook::status_callback_url(public_url, attempt.0),
            ProviderKind::Bland => bland::webhook::status_callback_url(public_url, attempt.0),
        }
    }

    fn webhook_source(&self) -> &'static str {
        match self.profile.wire {
            ProviderKind::Twilio => webhook::WEBHOOK_SOURCE,
            ProviderKind::Bland => bland::webhook::WEBHOOK_SOURCE,
        }
    }

    async fn place_call(&self, req: &PlaceCall) -> Result<PlacedCall, PlaceError> {
        let now = self.clock.true_now();
        let to = req.to.as_str().to_string();
        let mut g = self.lock();
        g.stats.requests += 1;
        let n = {
            let c = g.requests_to.entry(to.clone()).or_default();
            *c += 1;
            *c
        };
        let mut rng = keyed(self.profile.seed, "request", &to, n);
        let (roll, created_roll): (f64, f64) = (rng.gen(), rng.gen());
        let p = &self.profile;
        if let Some(d) = g.blackout_armed.take() {
            g.blackouts.push((now, now + d));
            g.stats.blackouts += 1;
            self.trace.line(
                now,
                format!("webhook blackout begins, for {}s", d.num_seconds()),
            );
        }
        if let Some(d) = g.outage_armed.take() {
            g.outages.push((now, now + d));
            g.stats.outages += 1;
            self.trace.line(
                now,
                format!("provider outage begins, for {}s", d.num_seconds()),
            );
        }
        if Self::out(&g, now) {
            g.stats.outage_requests += 1;
            // Mostly refused before processing; sometimes the call is created anyway.
            let created = created_roll < 0.25;
            let sid = created.then(|| self.create_call(&mut g, req, now));
            self.trace.line(
                now,
                format!(
                    "provider 503 (outage) to {to}, call {}",
                    sid.as_deref().unwrap_or("not created")
                ),
            );
            return Err(PlaceError::Ambiguous {
                message: "HTTP 503 from the provider".into(),
            });
        }
        if p.invalid.contains(&to) {
            g.stats.rejected += 1;
            self.trace
                .line(now, format!("provider rejects {to}: 21211"));
            return Err(match p.wire {
                ProviderKind::Twilio => PlaceError::Rejected {
                    reason: outdial_providers::RejectReason::BadNumber,
                    http_status: 400,
                    code: Some(21211),
                    message: format!("The 'To' number {to} is not a valid phone number."),
                },
                ProviderKind::Bland => PlaceError::Rejected {
                    reason: outdial_providers::RejectReason::BadNumber,
                    http_status: 400,
                    code: None,
                    message: format!("phone_number: invalid phone number {to}"),
                },
            });
        }
        if roll < p.p_rate_limit {
            g.stats.rate_limited += 1;
            self.trace.line(now, format!("provider 429 to {to}"));
            return Err(match p.wire {
                ProviderKind::Twilio => PlaceError::RateLimited {
                    code: Some(20429),
                    message: "Too Many Requests".into(),
                    retry_after_s: Some(1),
                },
                // Bland sends no Retry-After (bland.md A6).
                ProviderKind::Bland => PlaceError::RateLimited {
                    code: None,
                    message: "Too many requests: hourly call limit reached".into(),
                    retry_after_s: None,
                },
            });
        }
        if roll < p.p_rate_limit + p.p_server_error {
            g.stats.server_errors += 1;
            self.trace
                .line(now, format!("provider 500 to {to}, call not created"));
            return Err(PlaceError::Ambiguous {
                message: "HTTP 500 from the provider".into(),
            });
        }
        let sid = self.create_call(&mut g, req, now);
        if roll < p.p_rate_limit + p.p_server_error + p.p_ambiguous_created {
            g.stats.ambiguous_created += 1;
            self.trace.line(
                now,
                format!("provider created {sid} but the response is lost (timeout)"),
            );
            return Err(PlaceError::Ambiguous {
                message: "request timed out after it was sent".into(),
            });
        }
        Ok(PlacedCall {
            call_id: ProviderCallId::parse(&sid).expect("valid sid"),
            status: CallStatus::Queued,
            queue_time_ms: None,
        })
    }

    async fn fetch_call(&self, call_id: &ProviderCallId) -> Result<CallSnapshot, FetchError> {
        let now = self.clock.true_now();
        let mut g = self.lock();
        g.stats.api_reads += 1;
        if Self::out(&g, now) {
            return Err(FetchError::Unavailable("HTTP 503 (outage)".into()));
        }
        let snap = g
            .calls
            .get(call_id.as_str())
            .map(|c| c.snapshot(now, self.profile.wire))
            .ok_or(FetchError::NotFound)?;
        self.trace.line(
            now,
            format!("provider fetch {call_id} → {}", snap.status.as_str()),
        );
        Ok(snap)
    }

    async fn list_calls_to(
        &self,
        to: &E164,
        since: DateTime<Utc>,
    ) -> Result<Vec<CallSnapshot>, FetchError> {
        let now = self.clock.true_now();
        let mut g = self.lock();
        g.stats.api_reads += 1;
        if Self::out(&g, now) {
            return Err(FetchError::Unavailable("HTTP 503 (outage)".into()));
        }
        let out: Vec<CallSnapshot> = g
            .order
            .iter()
            .map(|s| &g.calls[s])
            .filter(|c| c.to == to.as_str() && c.created_at >= since)
            .map(|c| c.snapshot(now, self.profile.wire))
            .collect();
        self.trace.line(
            now,
            format!(
                "provider list {to} since {} → [{}]",
                since.format("%H:%M:%S%.3f"),
                out.iter()
                    .map(|s| format!("{} {}", s.call_id, s.status.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        Ok(out)
    }

    async fn end_call(&self, call_id: &ProviderCallId) -> Result<CallSnapshot, FetchError> {
        let now = self.clock.true_now();
        let mut g = self.lock();
        g.stats.api_reads += 1;
        if Self::out(&g, now) {
            return Err(FetchError::Unavailable("HTTP 503 (outage)".into()));
        }
        let sid = call_id.as_str().to_string();
        let wire = self.profile.wire;
        let Some(call) = g.calls.get_mut(&sid) else {
            return Err(FetchError::NotFound);
        };
        if call.ended_at.is_some_and(|e| e <= now) {
            let snap = call.snapshot(now, wire);
            self.trace.line(
                now,
                format!("provider end {sid}: already {}", snap.status.as_str()),
            );
            return Ok(snap);
        }
        let status = if call.answered_at.is_some_and(|a| a <= now) {
            CallStatus::Completed
        } else {
            CallStatus::Canceled
        };
        call.ended_at = Some(now);
        call.final_status = Some(status);
        call.ended_by_api = true;
        if call.answered_at.is_some_and(|a| a > now) {
            call.answered_at = None;
            call.answered_by = None;
        }
        if call.ringing_at.is_some_and(|r| r > now) {
            call.ringing_at = None;
        }
        // Callbacks not yet fired never will be; the final one fires now.
        call.events.retain(|(_, t)| *t <= now);
        call.events.push((status, now));
        let i = call.events.len() - 1;
        let snap = call.snapshot(now, wire);
        g.deliveries
            .retain(|_, d| d.event().call_id.as_str() != sid || d.event_at <= now);
        g.stats.ended_by_api += 1;
        self.trace
            .line(now, format!("provider end {sid} → {}", status.as_str()));
        self.schedule_callback(&mut g, &sid, i);
        Ok(snap)
    }
}
