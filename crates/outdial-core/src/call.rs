//! Call status (the provider's lifecycle) and the attempt state machine (outdial's).
//!
//! Status values follow the common voice-API call lifecycle (each provider adapter maps its
//! own wire values onto them and cites its source). The final set is
//! {`completed`, `busy`, `no-answer`, `failed`, `canceled`}; status callbacks may also carry
//! `initiated`.
//!
//! The state machine is monotonic: every status has a rank, an event applies only when it
//! moves the attempt to a higher rank, and a final state never changes again. Duplicated and
//! reordered webhooks are therefore harmless (design invariant 5).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::ProviderCallId;

/// The provider's status of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallStatus {
    /// Accepted and waiting in the provider's queue (providers queue calls over the account's rate).
    Queued,
    /// The provider took the call from its queue and started dialing (status callbacks only).
    Initiated,
    /// The called phone is ringing.
    Ringing,
    /// Answered, in progress.
    InProgress,
    /// Final: answered and ended normally (includes answering machines).
    Completed,
    /// Final: busy signal.
    Busy,
    /// Final: not answered within the ring timeout, or rejected.
    NoAnswer,
    /// Final: could not be completed as dialed.
    Failed,
    /// Final: canceled through the API while queued or ringing.
    Canceled,
}

impl CallStatus {
    /// All nine values, in lifecycle order.
    pub const ALL: [CallStatus; 9] = [
        CallStatus::Queued,
        CallStatus::Initiated,
        CallStatus::Ringing,
        CallStatus::InProgress,
        CallStatus::Completed,
        CallStatus::Busy,
        CallStatus::NoAnswer,
        CallStatus::Failed,
        CallStatus::Canceled,
    ];

    /// Parses the canonical value (`queued`, `initiated`, `ringing`, `in-progress`, `completed`,
    /// `busy`, `no-answer`, `failed`, `canceled`). Returns `None` for anything else.
    pub fn parse(s: &str) -> Option<CallStatus> {
        Some(match s {
            "queued" => CallStatus::Queued,
            "initiated" => CallStatus::Initiated,
            "ringing" => CallStatus::Ringing,
            "in-progress" => CallStatus::InProgress,
            "completed" => CallStatus::Completed,
            "busy" => CallStatus::Busy,
            "no-answer" => CallStatus::NoAnswer,
            "failed" => CallStatus::Failed,
            "canceled" => CallStatus::Canceled,
            _ => return None,
        })
    }

    /// The canonical value (see [`CallStatus::parse`]).
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Queued => "queued",
            CallStatus::Initiated => "initiated",
            CallStatus::Ringing => "ringing",
            CallStatus::InProgress => "in-progress",
            CallStatus::Completed => "completed",
            CallStatus::Busy => "busy",
            CallStatus::NoAnswer => "no-answer",
            CallStatus::Failed => "failed",
            CallStatus::Canceled => "canceled",
        }
    }

    /// True for the five statuses that end a call.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CallStatus::Completed
                | CallStatus::Busy
                | CallStatus::NoAnswer
                | CallStatus::Failed
                | CallStatus::Canceled
        )
    }

    /// The attempt state this status moves an attempt to.
    pub fn attempt_state(self) -> AttemptState {
        match self {
            CallStatus::Queued | CallStatus::Initiated => AttemptState::Placed,
            CallStatus::Ringing => AttemptState::Ringing,
            CallStatus::InProgress => AttemptState::InProgress,
            _ => AttemptState::Ended,
        }
    }
}

/// What answered a call, from answering-machine detection (each adapter maps its provider's
/// result onto these values and cites its source).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnsweredBy {
    /// A person.
    Human,
    /// A machine, detected at the start of its greeting (`machine_start`).
    MachineStart,
    /// A machine, greeting ended with a beep.
    MachineEndBeep,
    /// A machine, greeting ended in silence.
    MachineEndSilence,
    /// A machine, greeting ended otherwise.
    MachineEndOther,
    /// A fax machine.
    Fax,
    /// Detection could not decide.
    Unknown,
}

impl AnsweredBy {
    /// Parses the canonical value; anything unrecognised (including `machine`, used by old docs)
    /// maps to the closest value, and an empty string to `None`.
    pub fn parse(s: &str) -> Option<AnsweredBy> {
        Some(match s {
            "" => return None,
            "human" => AnsweredBy::Human,
            "machine_start" | "machine" | "voicemail" => AnsweredBy::MachineStart,
            "machine_end_beep" => AnsweredBy::MachineEndBeep,
            "machine_end_silence" => AnsweredBy::MachineEndSilence,
            "machine_end_other" => AnsweredBy::MachineEndOther,
            "fax" => AnsweredBy::Fax,
            _ => AnsweredBy::Unknown,
        })
    }

    /// The canonical value (see [`AnsweredBy::parse`]).
    pub fn as_str(self) -> &'static str {
        match self {
            AnsweredBy::Human => "human",
            AnsweredBy::MachineStart => "machine_start",
            AnsweredBy::MachineEndBeep => "machine_end_beep",
            AnsweredBy::MachineEndSilence => "machine_end_silence",
            AnsweredBy::MachineEndOther => "machine_end_other",
            AnsweredBy::Fax => "fax",
            AnsweredBy::Unknown => "unknown",
        }
    }

    /// True for answering machines and fax machines.
    pub fn is_machine(self) -> bool {
        !matches!(self, AnsweredBy::Human | AnsweredBy::Unknown)
    }
}

/// outdial's lifecycle of one attempt (design notes, "Lifecycles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttemptState {
    /// The row is committed; the provider has not been asked yet (or the answer is not stored yet).
    Reserved,
    /// The provider accepted the call; its call id is stored.
    Placed,
    /// The called phone rings.
    Ringing,
    /// The call was answered.
    InProgress,
    /// Final: the call ended with a final call status.
    Ended,
    /// Final: the provider refused the call for good (invalid number, …); no call exists.
    Rejected,
    /// The create request's outcome is ambiguous (timeout, reset, 5xx): a call may exist.
    /// Blocks the number and counts against caps until the reconciler resolves it.
    Unknown,
    /// Final: the provider proved that no call exists for this attempt (or a request was
    /// refused before processing, such as HTTP 429).
    NotPlaced,
}

impl AttemptState {
    /// Every state.
    pub const ALL: [AttemptState; 8] = [
        AttemptState::Reserved,
        AttemptState::Placed,
        AttemptState::Ringing,
        AttemptState::InProgress,
        AttemptState::Ended,
        AttemptState::Rejected,
        AttemptState::Unknown,
        AttemptState::NotPlaced,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptState::Reserved => "reserved",
            AttemptState::Placed => "placed",
            AttemptState::Ringing => "ringing",
            AttemptState::InProgress => "in-progress",
            AttemptState::Ended => "ended",
            AttemptState::Rejected => "rejected",
            AttemptState::Unknown => "unknown",
            AttemptState::NotPlaced => "not-placed",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<AttemptState> {
        AttemptState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// True while a call may exist or be about to exist: such an attempt blocks its number.
    pub fn is_in_flight(self) -> bool {
        !self.is_final()
    }

    /// True for `ended`, `rejected` and `not-placed`.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            AttemptState::Ended | AttemptState::Rejected | AttemptState::NotPlaced
        )
    }

    /// Progress rank used to keep transitions monotonic.
    fn rank(self) -> u8 {
        match self {
            AttemptState::Reserved | AttemptState::Unknown => 0,
            AttemptState::Placed => 1,
            AttemptState::Ringing => 2,
            AttemptState::InProgress => 3,
            AttemptState::Ended | AttemptState::Rejected | AttemptState::NotPlaced => 4,
        }
    }

    /// The state after the provider reports `status`, or `None` when the report changes
    /// nothing: it is not ahead of the current state, or the attempt is already final.
    ///
    /// This one function makes webhooks order-independent: `completed` before `ringing` ends
    /// the attempt, and the late `ringing` is then ignored.
    pub fn advance(self, status: CallStatus) -> Option<AttemptState> {
        if self.is_final() {
            return None;
        }
        let next = status.attempt_state();
        (next.rank() > self.rank()).then_some(next)
    }
}

/// One report of a call's progress, from a webhook or from the reconciler's fetch, already
/// parsed out of the provider's wire format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallEvent {
    /// The provider's id of the call.
    pub call_id: ProviderCallId,
    /// The status reported.
    pub status: CallStatus,
    /// The provider's 0-based order in which events were fired, when it sends one.
    pub sequence: Option<u32>,
    /// When the event happened (the provider's timestamp), UTC; the receive time when absent.
    pub at: DateTime<Utc>,
    /// Call length in seconds, on final events.
    pub duration_s: Option<u32>,
    /// Answering-machine detection result, when present.
    pub answered_by: Option<AnsweredBy>,
    /// SIP response code, on final events.
    pub sip_response_code: Option<u16>,
}

/// What a provider charged for one call: `micros` millionths of `unit` (an ISO 4217 code,
/// such as `USD`), never negative.
///
/// Each provider adapter reads its provider's price field into it (where the figure comes
/// from, and in what sign and unit, is documented there; the reference notes on each
/// provider give the wire fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallPrice {
    /// Millionths of `unit`.
    pub micros: i64,
    /// ISO 4217 currency code, upper case.
    pub unit: String,
}

impl CallPrice {
    /// The price of `amount` (its absolute value: some providers report a charge as negative) in
    /// `unit`, rounded to a millionth; `None` for an amount that is not finite or beyond
    /// 10^12, or a unit that is not three ASCII letters.
    pub fn from_amount(amount: f64, unit: &str) -> Option<CallPrice> {
        let unit = unit.trim().to_ascii_uppercase();
        if !amount.is_finite()
            || amount.abs() > 1e12
            || unit.len() != 3
            || !unit.bytes().all(|b| b.is_ascii_uppercase())
        {
            return None;
        }
        Some(CallPrice {
            micros: (amount.abs() * 1e6).round() as i64,
            unit,
        })
    }

    /// A price read back from storage: both parts, or none.
    pub fn from_columns(micros: Option<i64>, unit: Option<String>) -> Option<CallPrice> {
        Some(CallPrice {
            micros: micros?,
            unit: unit?,
        })
    }

    /// The amount in `unit`.
    pub fn amount(&self) -> f64 {
        self.micros as f64 / 1e6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_positive_millionths_of_a_currency() {
        let p = CallPrice::from_amount(-0.03, "usd").unwrap();
        assert_eq!(
            p,
            CallPrice {
                micros: 30_000,
                unit: "USD".into()
            }
        );
        assert_eq!(p.amount(), 0.03);
        assert_eq!(CallPrice::from_amount(0.036, "USD").unwrap().micros, 36_000);
        assert_eq!(CallPrice::from_amount(f64::NAN, "USD"), None);
        assert_eq!(CallPrice::from_amount(1.0, "US"), None);
        assert_eq!(CallPrice::from_amount(1.0, "U$D"), None);
    }

    #[test]
    fn status_round_trips_and_finals() {
        for s in CallStatus::ALL {
            assert_eq!(CallStatus::parse(s.as_str()), Some(s));
        }
        let finals: Vec<_> = CallStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(finals.len(), 5);
        assert_eq!(CallStatus::parse("answered"), None);
    }

    #[test]
    fn every_final_status_ends_the_attempt() {
        for s in CallStatus::ALL.into_iter().filter(|s| s.is_final()) {
            for from in [
                AttemptState::Reserved,
                AttemptState::Unknown,
                AttemptState::Placed,
                AttemptState::Ringing,
                AttemptState::InProgress,
            ] {
                assert_eq!(
                    from.advance(s),
                    Some(AttemptState::Ended),
                    "{from:?} + {s:?}"
                );
            }
        }
    }

    #[test]
    fn final_never_reverts_and_duplicates_change_nothing() {
        for final_state in [
            AttemptState::Ended,
            AttemptState::Rejected,
            AttemptState::NotPlaced,
        ] {
            for s in CallStatus::ALL {
                assert_eq!(final_state.advance(s), None);
            }
        }
        assert_eq!(AttemptState::Ringing.advance(CallStatus::Ringing), None);
        assert_eq!(AttemptState::InProgress.advance(CallStatus::Ringing), None);
        assert_eq!(
            AttemptState::Placed.advance(CallStatus::InProgress),
            Some(AttemptState::InProgress)
        );
    }

    /// Any permutation of a call's events (with duplicates) ends in the state of its
    /// final event, exactly as the in-order sequence does.
    #[test]
    fn order_independent_over_all_permutations() {
        let events = [
            CallStatus::Initiated,
            CallStatus::Ringing,
            CallStatus::InProgress,
            CallStatus::Completed,
            CallStatus::Ringing,
        ];
        let mut idx: Vec<usize> = (0..events.len()).collect();
        let mut count = 0;
        permute(&mut idx, 0, &mut |order| {
            let mut st = AttemptState::Reserved;
            for &i in order {
                if let Some(n) = st.advance(events[i]) {
                    st = n;
                }
            }
            assert_eq!(st, AttemptState::Ended);
            count += 1;
        });
        assert_eq!(count, 120);
    }

    fn permute(v: &mut Vec<usize>, k: usize, f: &mut dyn FnMut(&[usize])) {
        if k == v.len() {
            f(v);
            return;
        }
        for i in k..v.len() {
            v.swap(k, i);
            permute(v, k + 1, f);
            v.swap(k, i);
        }
    }

    #[test]
    fn answered_by_machine_flags() {
        assert!(AnsweredBy::parse("machine_end_beep").unwrap().is_machine());
        assert!(!AnsweredBy::parse("human").unwrap().is_machine());
        assert_eq!(AnsweredBy::parse(""), None);
        assert_eq!(AnsweredBy::parse("weird"), Some(AnsweredBy::Unknown));
    }

    #[test]
    fn attempt_state_names_round_trip() {
        for s in AttemptState::ALL {
            assert_eq!(AttemptState::parse(s.as_str()), Some(s));
        }
    }
}
