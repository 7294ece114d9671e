//! Carrier configuration: account credentials, seed, outcome mix, faults and special numbers.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use crate::bland::BlandFake;

/// Everything that shapes one fake carrier.
///
/// Build it with struct-update syntax over [`CarrierConfig::default`]:
/// ```
/// use outdial_carrier::{CarrierConfig, FaultSpec};
/// let cfg = CarrierConfig {
///     seed: 7,
///     faults: "lose=0.1,duplicate=0.2".parse::<FaultSpec>().unwrap(),
///     always_busy: vec!["+15005550101".into()],
///     ..CarrierConfig::default()
/// };
/// assert_eq!(cfg.auth_token, CarrierConfig::default().auth_token);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CarrierConfig {
    /// Twilio account SID (`AC` + 32 hex) that must appear in the URL path and as the Basic-auth
    /// user name. Default [`DEFAULT_ACCOUNT_SID`].
    pub account_sid: String,
    /// Auth token: the Basic-auth password, and the HMAC-SHA1 key that signs every status
    /// callback (`X-Twilio-Signature`). Default [`DEFAULT_AUTH_TOKEN`].
    pub auth_token: String,
    /// Seed of every random choice. A call's outcome, timings, SID and callback faults depend
    /// only on `(seed, To, how many calls to that To were placed before it)`; a create request's
    /// faults (429, 5xx, ambiguous) only on `(seed, To, how many create requests for that To came
    /// before it)`. Default 0.
    pub seed: u64,
    /// Injected faults. Default: none.
    pub faults: FaultSpec,
    /// How placed calls end. Default [`OutcomeMix::default`].
    pub outcomes: OutcomeMix,
    /// E.164 numbers whose calls always end `busy` (after ringing).
    pub always_busy: Vec<String>,
    /// E.164 numbers whose calls are answered and then stay `in-progress` until ended through
    /// the API (`POST Calls/{Sid}.json` with `Status=completed`): until then no `completed`
    /// callback is sent and fetch keeps answering `in-progress`.
    pub never_ends: Vec<String>,
    /// Numbers refused at create time with Twilio error 21211 (no call placed, not in the ledger),
    /// even though they are well-formed E.164.
    pub invalid: Vec<String>,
    /// Account calls-per-second limit, in calls per *simulated* second. `None` = unlimited.
    /// Like Twilio, calls over the limit are accepted (201) and queued: they stay `queued`
    /// until their slot comes, and the create response's `queue_time` (ms) says how long.
    /// A create whose queueing would exceed 24 simulated hours is refused with 22005.
    pub cps: Option<f64>,
    /// The fake Bland served under `/v1/…` (see the crate docs, "Bland API"), with its
    /// credentials, caps and webhook behaviour. `None`: every `/v1/…` route answers 404.
    /// Default `Some(BlandFake::default())`.
    pub bland: Option<BlandFake>,
    /// Serve the Twilio-shaped API under `/2010-04-01/…`. `false`: those routes answer 404.
    /// Default true.
    pub serve_twilio: bool,
}

/// Default account SID of a [`CarrierConfig`].
pub const DEFAULT_ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
/// Default auth token of a [`CarrierConfig`].
pub const DEFAULT_AUTH_TOKEN: &str = "outdial-carrier-auth-token";

impl Default for CarrierConfig {
    fn default() -> Self {
        CarrierConfig {
            account_sid: DEFAULT_ACCOUNT_SID.to_string(),
            auth_token: DEFAULT_AUTH_TOKEN.to_string(),
            seed: 0,
            faults: FaultSpec::default(),
            outcomes: OutcomeMix::default(),
            always_busy: Vec::new(),
            never_ends: Vec::new(),
            invalid: Vec::new(),
            cps: None,
            bland: Some(BlandFake::default()),
            serve_twilio: true,
        }
    }
}

impl CarrierConfig {
    /// Checks the configuration: non-empty credentials, a usable outcome mix, a CPS that is a
    /// finite positive number, the Bland settings ([`BlandFake::validate`]). Returns a message
    /// naming the bad field.
    pub fn validate(&self) -> Result<(), String> {
        if self.account_sid.is_empty() {
            return Err("account_sid must not be empty".into());
        }
        if self.auth_token.is_empty() {
            return Err("auth_token must not be empty".into());
        }
        if let Some(cps) = self.cps {
            if !(cps.is_finite() && cps > 0.0) {
                return Err(format!("cps must be a finite number > 0, got {cps}"));
            }
        }
        if let Some(b) = &self.bland {
            b.validate()?;
        }
        self.outcomes.validate()
    }
}

/// Relative weights of the ways a placed call ends, plus the timing ranges used.
///
/// Weights are relative (they need not sum to 100); at least one must be non-zero.
/// Parse one from a string with [`FromStr`]:
/// `human=35,machine=15,busy=20,no-answer=25,failed=5,duration=10..300,ring=3..20`
/// (every key optional; ranges are whole seconds, inclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeMix {
    /// Answered by a person: `in-progress`, then `completed`. `AnsweredBy=human` when
    /// machine detection was requested.
    pub answered_human: u32,
    /// Answered by voicemail: `in-progress`, then `completed`. `AnsweredBy=machine_start`
    /// (`machine_end_beep` with `MachineDetection=DetectMessageEnd`) when machine detection was
    /// requested; no `answered_by` otherwise, as at Twilio.
    pub answered_machine: u32,
    /// Rings, then ends `busy` a few (2–5) seconds later, SIP 486.
    pub busy: u32,
    /// Rings until the request's `Timeout` (default 60 s, counted from `initiated`), then ends
    /// `no-answer`, SIP 487.
    pub no_answer: u32,
    /// Ends `failed` 1–3 s after `initiated`, without ringing, SIP 500.
    pub failed: u32,
    /// How long an answered call lasts, whole seconds, inclusive. Capped by the request's
    /// `TimeLimit`. Default `10..=300`.
    pub answered_duration_s: RangeInclusive<u32>,
    /// How long an answered call rings before it is answered, whole seconds, inclusive.
    /// A call whose ring time reaches the request's `Timeout` ends `no-answer` instead.
    /// Default `3..=20`.
    pub ring_time_s: RangeInclusive<u32>,
}

impl Default for OutcomeMix {
    fn default() -> Self {
        OutcomeMix {
            answered_human: 35,
            answered_machine: 15,
            busy: 20,
            no_answer: 25,
            failed: 5,
            answered_duration_s: 10..=300,
            ring_time_s: 3..=20,
        }
    }
}

impl OutcomeMix {
    /// Sum of the five weights.
    pub fn total_weight(&self) -> u64 {
        [
            self.answered_human,
            self.answered_machine,
            self.busy,
            self.no_answer,
            self.failed,
        ]
        .iter()
        .map(|w| u64::from(*w))
        .sum()
    }

    /// Checks that some weight is non-zero and that both ranges are non-empty.
    pub fn validate(&self) -> Result<(), String> {
        if self.total_weight() == 0 {
            return Err("outcome mix: all weights are zero".into());
        }
        if self.answered_duration_s.is_empty() {
            return Err(format!(
                "outcome mix: answered duration range {:?} is empty",
                self.answered_duration_s
            ));
        }
        if self.ring_time_s.is_empty() {
            return Err(format!(
                "outcome mix: ring time range {:?} is empty",
                self.ring_time_s
            ));
        }
        Ok(())
    }
}

/// A bad [`OutcomeMix`] string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("outcome mix: {0}")]
pub struct OutcomeMixError(pub String);

impl FromStr for OutcomeMix {
    type Err = OutcomeMixError;

    /// Parses `human=35,machine=15,busy=20,no-answer=25,failed=5,duration=10..300,ring=3..20`.
    /// Keys not given keep their default.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut mix = OutcomeMix::default();
        for (key, value) in split_pairs(s).map_err(OutcomeMixError)? {
            let weight = || {
                value.parse::<u32>().map_err(|_| {
                    OutcomeMixError(format!(
                        "{key}={value}: expected a non-negative integer weight"
                    ))
                })
            };
            let range = || -> Result<RangeInclusive<u32>, OutcomeMixError> {
                let bad = || {
                    OutcomeMixError(format!(
                        "{key}={value}: expected a range of whole seconds like 10..300"
                    ))
                };
                let (lo, hi) = value.split_once("..").ok_or_else(bad)?;
                let hi = hi.strip_prefix('=').unwrap_or(hi);
                let lo: u32 = lo.trim().parse().map_err(|_| bad())?;
                let hi: u32 = hi.trim().parse().map_err(|_| bad())?;
                if lo > hi {
                    return Err(bad());
                }
                Ok(lo..=hi)
            };
            match key {
                "human" => mix.answered_human = weight()?,
                "machine" => mix.answered_machine = weight()?,
                "busy" => mix.busy = weight()?,
                "no-answer" | "no_answer" => mix.no_answer = weight()?,
                "failed" => mix.failed = weight()?,
                "duration" => mix.answered_duration_s = range()?,
                "ring" => mix.ring_time_s = range()?,
                other => {
                    return Err(OutcomeMixError(format!(
                        "unknown key `{other}` (expected human, machine, busy, no-answer, failed, duration, ring)"
                    )))
                }
            }
        }
        mix.validate().map_err(OutcomeMixError)?;
        Ok(mix)
    }
}

/// Faults the carrier injects. All probabilities are in `0..=1`; each is drawn independently.
///
/// Parse one with [`FromStr`] from a comma-separated list, every key optional, the empty string
/// meaning no faults:
/// `lose=0.3,duplicate=0.2,reorder=0.2,delay=5s,ambiguous=0.05,error5xx=0.02,rate429=0.02`.
/// [`fmt::Display`] writes the same syntax back.
///
/// Status-callback faults (per callback):
/// - `lose`: the callback is never sent (its `SequenceNumber` is still used up);
/// - `duplicate`: the callback is sent twice, back to back;
/// - `reorder`: the callback is held back and sent right after the call's next callback
///   (the last callback of a call cannot be held back);
/// - `delay`: each callback waits an extra uniformly random `0..delay` of *simulated* time.
///
/// Create-request faults (per `POST Calls.json` that passed authentication):
/// - `rate429`: HTTP 429 with Twilio code 20429; no call placed;
/// - `error5xx`: HTTP 500 (code 20500); no call placed;
/// - `ambiguous`: the call **is** placed (ledger, callbacks, fetch and list all see it) but
///   the response is the same HTTP 500 as `error5xx`, so the client cannot tell which.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaultSpec {
    /// Probability that a status callback is never sent.
    pub lose: f64,
    /// Probability that a status callback is sent twice.
    pub duplicate: f64,
    /// Probability that a status callback is held back until after the call's next one.
    pub reorder: f64,
    /// Upper bound of the extra random delay (simulated time) of each status callback.
    pub delay: Duration,
    /// Probability that a create places the call but answers HTTP 500.
    pub ambiguous: f64,
    /// Probability that a create answers HTTP 500 without placing the call.
    pub error5xx: f64,
    /// Probability that a create answers HTTP 429 (code 20429) without placing the call.
    pub rate429: f64,
}

impl FaultSpec {
    /// No faults at all.
    pub fn none() -> Self {
        FaultSpec::default()
    }

    /// True when no fault can happen.
    pub fn is_none(&self) -> bool {
        *self == FaultSpec::default()
    }
}

/// A bad [`FaultSpec`] string. The message names the offending key and value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultSpecError {
    /// A key that is not one of the known fault names.
    #[error("fault spec: unknown key `{key}` (expected lose, duplicate, reorder, delay, ambiguous, error5xx, rate429)")]
    UnknownKey {
        /// The key as written.
        key: String,
    },
    /// An item without `=value`, or with an empty key or value.
    #[error("fault spec: `{item}` is not of the form key=value")]
    Malformed {
        /// The item as written.
        item: String,
    },
    /// The same key given twice.
    #[error("fault spec: key `{key}` given more than once")]
    Duplicate {
        /// The repeated key.
        key: String,
    },
    /// A probability that is not a number in `0..=1`.
    #[error("fault spec: {key}={value}: expected a probability between 0 and 1")]
    BadProbability {
        /// The key.
        key: String,
        /// The value as written.
        value: String,
    },
    /// A delay that humantime cannot parse (e.g. `5s`, `250ms`, `1m`).
    #[error("fault spec: {key}={value}: expected a duration like 5s or 250ms ({reason})")]
    BadDuration {
        /// The key.
        key: String,
        /// The value as written.
        value: String,
        /// humantime's explanation.
        reason: String,
    },
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut spec = FaultSpec::default();
        let mut seen: Vec<String> = Vec::new();
        for item in s.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let Some((key, value)) = item.split_once('=') else {
                return Err(FaultSpecError::Malformed { item: item.into() });
            };
            let (key, value) = (key.trim(), value.trim());
            if key.is_empty() || value.is_empty() {
                return Err(FaultSpecError::Malformed { item: item.into() });
            }
            if seen.iter().any(|k| k == key) {
                return Err(FaultSpecError::Duplicate { key: key.into() });
            }
            let prob = || -> Result<f64, FaultSpecError> {
                match value.parse::<f64>() {
                    Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
                    _ => Err(FaultSpecError::BadProbability {
                        key: key.into(),
                        value: value.into(),
                    }),
                }
            };
            match key {
                "lose" => spec.lose = prob()?,
                "duplicate" => spec.duplicate = prob()?,
                "reorder" => spec.reorder = prob()?,
                "ambiguous" => spec.ambiguous = prob()?,
                "error5xx" => spec.error5xx = prob()?,
                "rate429" => spec.rate429 = prob()?,
                "delay" => {
                    spec.delay = humantime::parse_duration(value).map_err(|e| {
                        FaultSpecError::BadDuration {
                            key: key.into(),
                            value: value.into(),
                            reason: e.to_string(),
                        }
                    })?
                }
                other => return Err(FaultSpecError::UnknownKey { key: other.into() }),
            }
            seen.push(key.to_string());
        }
        Ok(spec)
    }
}

impl fmt::Display for FaultSpec {
    /// Writes the non-zero faults in the [`FromStr`] syntax (empty string for no faults).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        for (k, p) in [
            ("lose", self.lose),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
        ] {
            if p > 0.0 {
                parts.push(format!("{k}={p}"));
            }
        }
        if !self.delay.is_zero() {
            parts.push(format!("delay={}", humantime::format_duration(self.delay)));
        }
        for (k, p) in [
            ("ambiguous", self.ambiguous),
            ("error5xx", self.error5xx),
            ("rate429", self.rate429),
        ] {
            if p > 0.0 {
                parts.push(format!("{k}={p}"));
            }
        }
        f.write_str(&parts.join(","))
    }
}

/// Splits `k=v,k=v` into trimmed pairs; skips empty items.
fn split_pairs(s: &str) -> Result<Vec<(&str, &str)>, String> {
    let mut out = Vec::new();
    for item in s.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        match item.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
                out.push((k.trim(), v.trim()))
            }
            _ => return Err(format!("`{item}` is not of the form key=value")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_fault_spec_parses() {
        let f: FaultSpec =
            "lose=0.3,duplicate=0.2,reorder=0.2,delay=5s,ambiguous=0.05,error5xx=0.02,rate429=0.02"
                .parse()
                .unwrap();
        assert_eq!(f.lose, 0.3);
        assert_eq!(f.duplicate, 0.2);
        assert_eq!(f.reorder, 0.2);
        assert_eq!(f.delay, Duration::from_secs(5));
        assert_eq!(f.ambiguous, 0.05);
        assert_eq!(f.error5xx, 0.02);
        assert_eq!(f.rate429, 0.02);
        // Display round-trips.
        assert_eq!(f.to_string().parse::<FaultSpec>().unwrap(), f);
    }

    #[test]
    fn empty_and_partial_specs() {
        assert!("".parse::<FaultSpec>().unwrap().is_none());
        assert!("  ".parse::<FaultSpec>().unwrap().is_none());
        let f: FaultSpec = " lose = 1 , delay=250ms ,".parse().unwrap();
        assert_eq!(f.lose, 1.0);
        assert_eq!(f.delay, Duration::from_millis(250));
        assert_eq!(f.duplicate, 0.0);
        assert_eq!(FaultSpec::none().to_string(), "");
        assert_eq!("rate429=0".parse::<FaultSpec>().unwrap(), FaultSpec::none());
    }

    #[test]
    fn bad_fault_specs_name_the_key_and_value() {
        let e = "lose=1.5".parse::<FaultSpec>().unwrap_err();
        assert!(
            matches!(e, FaultSpecError::BadProbability { ref key, ref value } if key == "lose" && value == "1.5")
        );
        assert!(e.to_string().contains("lose=1.5"), "{e}");

        let e = "duplicate=-0.1".parse::<FaultSpec>().unwrap_err();
        assert!(e.to_string().contains("duplicate=-0.1"), "{e}");

        let e = "reorder=often".parse::<FaultSpec>().unwrap_err();
        assert!(e.to_string().contains("reorder=often"), "{e}");

        let e = "ambiguous=NaN".parse::<FaultSpec>().unwrap_err();
        assert!(matches!(e, FaultSpecError::BadProbability { .. }));

        let e = "delay=soon".parse::<FaultSpec>().unwrap_err();
        assert!(matches!(e, FaultSpecError::BadDuration { ref key, .. } if key == "delay"));
        assert!(e.to_string().contains("delay=soon"), "{e}");

        let e = "explode=0.1".parse::<FaultSpec>().unwrap_err();
        assert_eq!(
            e,
            FaultSpecError::UnknownKey {
                key: "explode".into()
            }
        );
        assert!(e.to_string().contains("`explode`"));

        let e = "lose".parse::<FaultSpec>().unwrap_err();
        assert!(matches!(e, FaultSpecError::Malformed { .. }), "{e}");
        let e = "lose=".parse::<FaultSpec>().unwrap_err();
        assert!(matches!(e, FaultSpecError::Malformed { .. }), "{e}");

        let e = "lose=0.1,lose=0.2".parse::<FaultSpec>().unwrap_err();
        assert_eq!(e, FaultSpecError::Duplicate { key: "lose".into() });
    }

    #[test]
    fn outcome_mix_parses_and_validates() {
        let m: OutcomeMix = "human=1,machine=0,busy=0,no-answer=0,failed=0,duration=5..7,ring=1..2"
            .parse()
            .unwrap();
        assert_eq!(m.answered_human, 1);
        assert_eq!(m.total_weight(), 1);
        assert_eq!(m.answered_duration_s, 5..=7);
        assert_eq!(m.ring_time_s, 1..=2);
        assert_eq!("".parse::<OutcomeMix>().unwrap(), OutcomeMix::default());
        assert!("human=0,machine=0,busy=0,no-answer=0,failed=0"
            .parse::<OutcomeMix>()
            .is_err());
        assert!("duration=9..3".parse::<OutcomeMix>().is_err());
        assert!("human=x".parse::<OutcomeMix>().is_err());
        assert!("nobody=1".parse::<OutcomeMix>().is_err());
    }

    #[test]
    fn config_validation() {
        assert!(CarrierConfig::default().validate().is_ok());
        let bad = CarrierConfig {
            cps: Some(0.0),
            ..CarrierConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("cps"));
    }
}
