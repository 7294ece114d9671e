//! The provider-neutral outcome model of one outbound call: from a keyed random stream
//! ([`crate::rng`]), an [`OutcomeMix`] and what the request asked for, a seeded plan of the
//! call — when it starts, rings, is answered and ends, how it ends (final status and SIP
//! code), who answered (a person or a machine) and how long it talked.
//!
//! Shared by the fake carrier (`sim::plan_call`, which adds Twilio's answering-machine
//! wording) and the simulator's fake provider (`outdial-sim`), so that a fake of another
//! provider can reuse it. Each fake keeps its own faults (lost, duplicated or reordered
//! callbacks, ambiguous creates, calls stuck in a queue) and its own wire format.

use crate::config::OutcomeMix;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FinalStatus {
    /// Answered, then hung up (or ended through the API after it was answered).
    Completed,
    /// The line was busy.
    Busy,
    /// Not answered within the ring timeout.
    NoAnswer,
    /// Could not be completed (never rang).
    Failed,
    /// Ended through the API before it was answered.
    Canceled,
}

impl FinalStatus {
    /// The status word: `completed`, `busy`, `no-answer`, `failed`, `canceled` (the call
    /// status words outdial and Twilio share).
    pub fn as_str(self) -> &'static str {
        match self {
            FinalStatus::Completed => "completed",
            FinalStatus::Busy => "busy",
            FinalStatus::NoAnswer => "no-answer",
            FinalStatus::Failed => "failed",
            FinalStatus::Canceled => "canceled",
        }
    }

    /// The SIP response code of the call's end ([`sip_response_code`]).
    pub fn sip_code(self) -> u16 {
        sip_response_code(self.as_str()).expect("a final status")
    }
}

/// The SIP response code of a call's final status, by its status word (`completed`, `busy`,
/// `no-answer`, `failed`, `canceled`); `None` for a status that is not final. Shared by the
/// carrier and the simulator's fake provider.
pub fn sip_response_code(final_status: &str) -> Option<u16> {
    Some(match final_status {
        "completed" => 200,
        "busy" => 486,
        "no-answer" => 487,
        "failed" => 500,
        // 487 Request Terminated: the caller gave up (RFC 3261 §21.4.26).
        "canceled" => 487,
        _ => return None,
    })
}

/// Who answered a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Answerer {
    /// A person.
    Human,
    /// A machine (voicemail). How a provider reports it (at the greeting's start, after the
    /// beep) is the provider's wording, chosen by each fake.
    Machine,
}

/// A per-number override of the drawn outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forced {
    /// The drawn outcome.
    None,
    /// Always busy (after ringing).
    Busy,
    /// Answered (by a person, unless a machine was drawn) and never hung up: only an end
    /// request through the provider's API ends it.
    NeverEnds,
}

/// What the request asked for that shapes the plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutcomeInput {
    /// When the call leaves the provider's queue (simulated UTC).
    pub dial_at: DateTime<Utc>,
    /// Ring timeout, seconds, counted from the call's start.
    pub ring_timeout_s: u32,
    /// Longest call, seconds of talk.
    pub time_limit_s: u32,
    /// A per-number override.
    pub forced: Forced,
}

/// The plan of one call, decided when it is created. All instants are simulated UTC.
#[derive(Debug, Clone, PartialEq)]
pub struct CallOutcome {
    /// When dialing starts (50–500 ms after `dial_at`).
    pub initiated_at: DateTime<Utc>,
    /// When it starts ringing (1–3 s later); `None` for a failed call.
    pub ringing_at: Option<DateTime<Utc>>,
    /// When it is answered, if it is.
    pub answered_at: Option<DateTime<Utc>>,
    /// When it ends; `None` only for a call that never ends ([`Forced::NeverEnds`]).
    pub ended_at: Option<DateTime<Utc>>,
    /// How it ends; `None` only for a call that never ends.
    pub final_status: Option<FinalStatus>,
    /// Who answered, when answered.
    pub answerer: Option<Answerer>,
    /// Seconds between answer and end (0 when not answered or never ending).
    pub talk_s: u64,
}

impl CallOutcome {
    /// The SIP response code of the call's end, once it has one.
    pub fn sip_code(&self) -> Option<u16> {
        self.final_status.map(FinalStatus::sip_code)
    }
}

/// Draws a call's plan from `rng` (a stream keyed by the call, see [`crate::rng`]): the
/// outcome by the weights of `mix` (or `input.forced`), the ring time (`mix.ring_time_s`
/// plus up to a second; reaching the ring timeout makes an answered call `no-answer`), the
/// talk time (`mix.answered_duration_s`, capped by `input.time_limit_s`), busy 2–5 s after
/// ringing starts, failed 1–3 s after dialing starts. Every value is drawn in a fixed order
/// whatever the outcome, so a stream stays aligned.
pub fn draw_outcome(rng: &mut impl Rng, mix: &OutcomeMix, input: &OutcomeInput) -> CallOutcome {
    let initiated_ms: i64 = rng.gen_range(50..=500);
    let ring_delay_ms: i64 = rng.gen_range(1_000..=3_000);
    let roll: u64 = rng.gen_range(0..mix.total_weight().max(1));
    let ring_ms: i64 =
        i64::from(rng.gen_range(mix.ring_time_s.clone())) * 1000 + rng.gen_range(0..1000);
    let talk_s: u64 = u64::from(rng.gen_range(mix.answered_duration_s.clone()));
    let busy_after_ms: i64 = rng.gen_range(2_000..=5_000);
    let fail_after_ms: i64 = rng.gen_range(1_000..=3_000);

    let weights = [
        mix.answered_human,
        mix.answered_machine,
        mix.busy,
        mix.no_answer,
        mix.failed,
    ];
    let mut acc = 0u64;
    let mut pick = 0usize;
    for (i, w) in weights.iter().enumerate() {
        acc += u64::from(*w);
        if roll < acc {
            pick = i;
            break;
        }
    }
    let pick = match input.forced {
        Forced::Busy => 2,
        Forced::NeverEnds if pick >= 2 => 0,
        _ => pick,
    };

    let initiated_at = input.dial_at + Duration::milliseconds(initiated_ms);
    let ringing_at = initiated_at + Duration::milliseconds(ring_delay_ms);
    let timeout = Duration::seconds(i64::from(input.ring_timeout_s));
    let no_answer_at = std::cmp::max(initiated_at + timeout, ringing_at + Duration::seconds(1));
    let mut plan = CallOutcome {
        initiated_at,
        ringing_at: Some(ringing_at),
        answered_at: None,
        ended_at: None,
        final_status: None,
        answerer: None,
        talk_s: 0,
    };
    match pick {
        0 | 1 => {
            let answered_at = ringing_at + Duration::milliseconds(ring_ms);
            if answered_at >= initiated_at + timeout && input.forced != Forced::NeverEnds {
                plan.ended_at = Some(no_answer_at);
                plan.final_status = Some(FinalStatus::NoAnswer);
                return plan;
            }
            plan.answered_at = Some(answered_at);
            plan.answerer = Some(if pick == 0 {
                Answerer::Human
            } else {
                Answerer::Machine
            });
            if input.forced == Forced::NeverEnds {
                return plan;
            }
            let talk = talk_s.min(u64::from(input.time_limit_s));
            plan.talk_s = talk;
            plan.ended_at = Some(answered_at + Duration::seconds(talk as i64));
            plan.final_status = Some(FinalStatus::Completed);
        }
        2 => {
            plan.ended_at = Some(ringing_at + Duration::milliseconds(busy_after_ms));
            plan.final_status = Some(FinalStatus::Busy);
        }
        3 => {
            plan.ended_at = Some(no_answer_at);
            plan.final_status = Some(FinalStatus::NoAnswer);
        }
        _ => {
            plan.ringing_at = None;
            plan.ended_at = Some(initiated_at + Duration::milliseconds(fail_after_ms));
            plan.final_status = Some(FinalStatus::Failed);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::keyed;
    use outdial_testkit::t0;

    fn input(forced: Forced) -> OutcomeInput {
        OutcomeInput {
            dial_at: t0(),
            ring_timeout_s: 60,
            time_limit_s: 14_400,
            forced,
        }
    }

    #[test]
    fn plans_are_ordered_and_consistent() {
        let mix = OutcomeMix::default();
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..200 {
            let p = draw_outcome(&mut keyed(5, "call", "+1", n), &mix, &input(Forced::None));
            assert_eq!(
                p,
                draw_outcome(&mut keyed(5, "call", "+1", n), &mix, &input(Forced::None))
            );
            let end = p.ended_at.expect("ends");
            let status = p.final_status.expect("final");
            seen.insert(status);
            assert!(p.initiated_at > t0() && p.initiated_at < end);
            assert_eq!(p.answered_at.is_some(), p.answerer.is_some());
            assert_eq!(status == FinalStatus::Completed, p.answered_at.is_some());
            assert_eq!(status == FinalStatus::Failed, p.ringing_at.is_none());
            if let Some(a) = p.answered_at {
                assert_eq!((end - a).num_seconds() as u64, p.talk_s);
            }
            assert_eq!(p.sip_code(), sip_response_code(status.as_str()));
        }
        assert_eq!(seen.len(), 4, "every drawn final status occurs: {seen:?}");
    }

    #[test]
    fn forced_outcomes_win() {
        let mix = OutcomeMix::default();
        for n in 0..30 {
            let busy = draw_outcome(&mut keyed(3, "call", "+1", n), &mix, &input(Forced::Busy));
            assert_eq!(busy.final_status, Some(FinalStatus::Busy));
            let never = draw_outcome(
                &mut keyed(3, "call", "+1", n),
                &mix,
                &input(Forced::NeverEnds),
            );
            assert!(never.answered_at.is_some() && never.ended_at.is_none());
            assert_eq!((never.final_status, never.sip_code()), (None, None));
        }
    }
}
