//! Call simulation: deterministic randomness, each call's timeline, and its status at an instant.
//!
//! A call's whole future is decided when it is created ([`CallPlan`]); its status at any
//! simulated instant is a pure function of the plan and that instant, so fetch, list, the
//! ledger and the callbacks can never disagree.

use crate::config::OutcomeMix;
use crate::outcome::{draw_outcome, Answerer, OutcomeInput};
pub(crate) use crate::outcome::{FinalStatus, Forced};
use crate::rng::{fnv1a, FNV_OFFSET_BASIS};
use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a random stream is used for; part of the stream's key so streams are independent.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    /// A placed call's SID, outcome and timings.
    Outcome,
    /// A placed call's status-callback faults.
    CallbackFaults,
    /// A create request's faults (429, 5xx, ambiguous).
    RequestFaults,
    /// A placed Bland call's Bland-only draws (disposition tag, second webhook, …).
    BlandExtras,
}

/// A random generator keyed by `(seed, stream, to, n)`: independent of arrival order and of
/// everything else happening on the carrier.
pub(crate) fn rng_for(seed: u64, stream: Stream, to: &str, n: u64) -> ChaCha8Rng {
    let mut h = FNV_OFFSET_BASIS;
    h = fnv1a(&seed.to_le_bytes(), h);
    h = fnv1a(&[stream as u8, 0xff], h);
    h = fnv1a(to.as_bytes(), h);
    h = fnv1a(&[0xff], h);
    h = fnv1a(&n.to_le_bytes(), h);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&h.to_le_bytes());
    seed_bytes[8..16].copy_from_slice(&seed.to_le_bytes());
    seed_bytes[16..24].copy_from_slice(&n.to_le_bytes());
    seed_bytes[24] = stream as u8;
    ChaCha8Rng::from_seed(seed_bytes)
}

/// What the create request asked for that shapes the timeline.
#[derive(Debug, Clone)]
pub(crate) struct PlanInput<'a> {
    /// When the call leaves the CPS queue (simulated).
    pub dial_at: DateTime<Utc>,
    /// Ring timeout, seconds (`Timeout`).
    pub timeout_s: u32,
    /// Longest call, seconds (`TimeLimit`).
    pub time_limit_s: u32,
    /// `MachineDetection` value if AMD applies (not overridden by `SendDigits`).
    pub machine_detection: Option<&'a str>,
    pub forced: Forced,
}

/// A call's timeline, decided at creation. All instants are simulated UTC.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CallPlan {
    pub initiated_at: DateTime<Utc>,
    pub ringing_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    /// `None` only for calls that never end.
    pub ended_at: Option<DateTime<Utc>>,
    pub final_status: Option<FinalStatus>,
    /// `answered_by` value, when machine detection was requested and the call was answered.
    pub answered_by: Option<&'static str>,
    /// Seconds between answer and end (0 when not answered).
    pub duration_s: u64,
    /// No status callback at all: the call was canceled through the API before it left the
    /// queue (Twilio: "If the call is canceled while still in `queued` status, no status
    /// callbacks are fired").
    pub silent: bool,
}

/// The SID of a call: `CA` + 32 lowercase hex, drawn from the call's outcome stream.
pub(crate) fn draw_sid(rng: &mut ChaCha8Rng) -> String {
    let a: u128 = rng.gen();
    format!("CA{a:032x}")
}

/// Draws a call's timeline: the shared outcome model ([`draw_outcome`]) with Twilio's
/// answering-machine wording (`answered_by` only when machine detection was requested:
/// `human`, `machine_end_beep` with `DetectMessageEnd`, else `machine_start`).
pub(crate) fn plan_call(rng: &mut ChaCha8Rng, mix: &OutcomeMix, input: &PlanInput<'_>) -> CallPlan {
    let o = draw_outcome(
        rng,
        mix,
        &OutcomeInput {
            dial_at: input.dial_at,
            ring_timeout_s: input.timeout_s,
            time_limit_s: input.time_limit_s,
            forced: input.forced,
        },
    );
    let answered_by = o.answerer.and_then(|who| {
        input.machine_detection.map(|md| match (who, md) {
            (Answerer::Human, _) => "human",
            (Answerer::Machine, "DetectMessageEnd") => "machine_end_beep",
            (Answerer::Machine, _) => "machine_start",
        })
    });
    CallPlan {
        initiated_at: o.initiated_at,
        ringing_at: o.ringing_at,
        answered_at: o.answered_at,
        ended_at: o.ended_at,
        final_status: o.final_status,
        answered_by,
        duration_s: o.talk_s,
        silent: false,
    }
}

/// Where a call stands at an instant.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Snapshot {
    /// REST `status`: `queued` (also while `initiated`: not in Twilio's REST enum), `ringing`,
    /// `in-progress`, or the final status.
    pub status: &'static str,
    pub start_time: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    pub final_status: Option<FinalStatus>,
    /// Latest event at or before the instant (or creation).
    pub updated: DateTime<Utc>,
}

impl CallPlan {
    /// The plan of a call ended through the API at `at` (the call is not final at `at`):
    /// answered by then → `completed` with the talk time so far; otherwise `canceled`, and
    /// silent (no callbacks) when `at` comes before dialing started (`initiated`). Events
    /// planned after `at` are dropped.
    pub(crate) fn ended_by_request(&self, at: DateTime<Utc>) -> CallPlan {
        let before = |t: Option<DateTime<Utc>>| t.filter(|t| *t <= at);
        let answered_at = before(self.answered_at);
        let (final_status, duration_s) = match answered_at {
            Some(a) => (
                FinalStatus::Completed,
                u64::try_from((at - a).num_seconds()).unwrap_or(0),
            ),
            None => (FinalStatus::Canceled, 0),
        };
        CallPlan {
            initiated_at: self.initiated_at,
            ringing_at: before(self.ringing_at),
            answered_at,
            ended_at: Some(at),
            final_status: Some(final_status),
            answered_by: answered_at.and(self.answered_by),
            duration_s,
            silent: at < self.initiated_at,
        }
    }

    /// The call's state at simulated instant `now`; `created_at` is the creation instant.
    /// Nothing planned after the end counts (a call canceled before `initiated`).
    pub(crate) fn at(&self, created_at: DateTime<Utc>, now: DateTime<Utc>) -> Snapshot {
        let past = |t: Option<DateTime<Utc>>| {
            t.filter(|t| *t <= now && self.ended_at.is_none_or(|end| *t <= end))
        };
        let start_time = past(Some(self.initiated_at));
        let ringing = past(self.ringing_at);
        let answered = past(self.answered_at);
        let ended = past(self.ended_at);
        let status = if ended.is_some() {
            self.final_status
                .map(FinalStatus::as_str)
                .unwrap_or("completed")
        } else if answered.is_some() {
            "in-progress"
        } else if ringing.is_some() {
            "ringing"
        } else {
            "queued"
        };
        let updated = [start_time, ringing, answered, ended]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(created_at)
            .max(created_at);
        Snapshot {
            status,
            start_time,
            answered_at: answered,
            end_time: ended,
            final_status: ended.and(self.final_status),
            updated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use outdial_testkit::t0;

    fn input(forced: Forced) -> PlanInput<'static> {
        PlanInput {
            dial_at: t0(),
            timeout_s: 60,
            time_limit_s: 14_400,
            machine_detection: Some("Enable"),
            forced,
        }
    }

    #[test]
    fn same_key_same_plan() {
        let mix = OutcomeMix::default();
        for n in 0..50 {
            let a = plan_call(
                &mut rng_for(9, Stream::Outcome, "+15551230000", n),
                &mix,
                &input(Forced::None),
            );
            let b = plan_call(
                &mut rng_for(9, Stream::Outcome, "+15551230000", n),
                &mix,
                &input(Forced::None),
            );
            assert_eq!(a, b);
        }
        let s1 = draw_sid(&mut rng_for(1, Stream::Outcome, "+1", 0));
        let s2 = draw_sid(&mut rng_for(1, Stream::Outcome, "+1", 1));
        assert_ne!(s1, s2);
        assert_eq!(s1.len(), 34);
    }

    #[test]
    fn forced_outcomes_and_timeline_order() {
        let mix = OutcomeMix::default();
        for n in 0..30 {
            let busy = plan_call(
                &mut rng_for(3, Stream::Outcome, "+1", n),
                &mix,
                &input(Forced::Busy),
            );
            assert_eq!(busy.final_status, Some(FinalStatus::Busy));
            let never = plan_call(
                &mut rng_for(3, Stream::Outcome, "+1", n),
                &mix,
                &input(Forced::NeverEnds),
            );
            assert!(never.answered_at.is_some() && never.ended_at.is_none());
            let p = plan_call(
                &mut rng_for(3, Stream::Outcome, "+1", n),
                &mix,
                &input(Forced::None),
            );
            let end = p.ended_at.unwrap();
            assert!(p.initiated_at < end);
            if let Some(r) = p.ringing_at {
                assert!(p.initiated_at < r && r < end);
            }
            if let Some(a) = p.answered_at {
                assert!(a <= end);
                assert!(p.answered_by.is_some());
                assert_eq!((end - a).num_seconds() as u64, p.duration_s);
            }
            let snap = p.at(t0(), end);
            assert_eq!(snap.status, p.final_status.unwrap().as_str());
            assert_eq!(p.at(t0(), t0()).status, "queued");
        }
    }

    #[test]
    fn ending_by_request_truncates_the_timeline() {
        let mix = OutcomeMix::default();
        let never = plan_call(
            &mut rng_for(3, Stream::Outcome, "+1", 0),
            &mix,
            &input(Forced::NeverEnds),
        );
        let answered = never.answered_at.unwrap();
        let end = answered + Duration::seconds(3600);
        let done = never.ended_by_request(end);
        assert_eq!(done.final_status, Some(FinalStatus::Completed));
        assert_eq!(done.duration_s, 3600);
        assert!(!done.silent);
        let snap = done.at(t0(), end + Duration::days(1));
        assert_eq!(snap.status, "completed");
        assert_eq!(snap.end_time, Some(end));
        assert_eq!(snap.answered_at, Some(answered));

        // Ringing, not answered yet: canceled, the answer never happens.
        let ringing = never.ringing_at.unwrap() + Duration::milliseconds(1);
        let canceled = never.ended_by_request(ringing);
        assert_eq!(canceled.final_status, Some(FinalStatus::Canceled));
        assert_eq!((canceled.answered_at, canceled.answered_by), (None, None));
        assert_eq!(canceled.duration_s, 0);
        assert!(!canceled.silent);
        let snap = canceled.at(t0(), answered + Duration::days(1));
        assert_eq!((snap.status, snap.answered_at), ("canceled", None));

        // Before dialing: canceled silently, never started.
        let early = never.ended_by_request(t0());
        assert!(early.silent);
        assert_eq!(early.ringing_at, None);
        let snap = early.at(t0(), answered + Duration::days(1));
        assert_eq!((snap.status, snap.start_time), ("canceled", None));
    }
}
