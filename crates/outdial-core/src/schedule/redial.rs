//! The redial policy (delays by disposition and attempt number, repeat limits) and the
//! decision taken on a lead once an attempt is concluded.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::disposition::{Disposition, DispositionCatalog};

use super::{Block, LeadRules};

/// A delay that applies to some dispositions on some attempt numbers (Convoso-style
/// workflow dialing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedialRule {
    /// Dispositions the rule applies to.
    pub dispositions: Vec<Disposition>,
    /// First attempt number (1-based, of the attempt just ended) the rule applies to.
    #[serde(default = "one")]
    pub from_attempt: u32,
    /// Last attempt number it applies to; `None` for no end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_attempt: Option<u32>,
    /// Delay before the next attempt, minutes.
    pub delay_min: u32,
}

fn one() -> u32 {
    1
}

/// What to do when the same no-contact outcome repeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RepeatAction {
    /// End the lead as `BAD_NUMBER`.
    BadNumber,
    /// Wait this many days before the next attempt.
    ParkDays {
        /// Days.
        days: u32,
    },
}

/// A rule for numbers that are busy or fail again and again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepeatLimit {
    /// Dispositions that count (default `BUSY`, `FAILED`).
    pub dispositions: Vec<Disposition>,
    /// How many in a row (the last attempts of the lead) trigger the action.
    pub in_a_row: u32,
    /// The action.
    #[serde(flatten)]
    pub action: RepeatAction,
}

/// The redial policy of a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedialPolicy {
    /// Progressive intervals in minutes: the n-th attempt (1-based) waits `intervals_min[n-1]`
    /// minutes after the previous attempt ended; past the end of the list the last value
    /// repeats. Default `[0, 2, 5, 10, 30, 60, 120]`.
    pub intervals_min: Vec<u32>,
    /// Most attempts per lead per local day (every candidate zone's day). Default 8.
    pub max_per_local_day: u32,
    /// Most attempts per lead in total; `None` redials until a terminal disposition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_total: Option<u32>,
    /// Delays per (disposition, attempt-number range); the first matching rule wins over
    /// `intervals_min`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RedialRule>,
    /// Rule for repeated busy / failed outcomes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_limit: Option<RepeatLimit>,
}

impl Default for RedialPolicy {
    fn default() -> Self {
        RedialPolicy {
            intervals_min: vec![0, 2, 5, 10, 30, 60, 120],
            max_per_local_day: 8,
            max_total: None,
            rules: Vec::new(),
            repeat_limit: None,
        }
    }
}

impl RedialPolicy {
    /// Errors when the interval list is empty, a cap is zero, or a rule is inconsistent.
    pub fn validate(&self) -> Result<(), String> {
        if self.intervals_min.is_empty() {
            return Err("redial.intervals_min is empty".into());
        }
        if self.max_per_local_day == 0 {
            return Err("redial.max_per_local_day must be at least 1".into());
        }
        if self.max_total == Some(0) {
            return Err("redial.max_total must be at least 1 when set".into());
        }
        for (i, r) in self.rules.iter().enumerate() {
            if r.dispositions.is_empty() {
                return Err(format!("redial.rules[{i}] lists no disposition"));
            }
            if r.from_attempt == 0 || r.to_attempt.is_some_and(|t| t < r.from_attempt) {
                return Err(format!(
                    "redial.rules[{i}]: attempts must be 1-based and from <= to"
                ));
            }
        }
        if let Some(r) = &self.repeat_limit {
            if r.in_a_row < 2 || r.dispositions.is_empty() {
                return Err(
                    "redial.repeat_limit needs in_a_row >= 2 and at least one disposition".into(),
                );
            }
        }
        Ok(())
    }

    /// Delay before attempt number `n` (1-based; `n = 1` is the first dial) by the
    /// progressive intervals.
    pub fn delay_before(&self, n: u32) -> Duration {
        let idx = (n.max(1) - 1) as usize;
        let minutes = self
            .intervals_min
            .get(idx)
            .or(self.intervals_min.last())
            .copied()
            .unwrap_or(0);
        Duration::minutes(i64::from(minutes))
    }

    /// Delay after attempt number `ended` (1-based) ended with `disposition`: the first
    /// matching [`RedialRule`], else the progressive interval before attempt `ended + 1`.
    pub fn delay_after(&self, ended: u32, disposition: &Disposition) -> Duration {
        self.rules
            .iter()
            .find(|r| {
                r.dispositions.contains(disposition)
                    && ended >= r.from_attempt
                    && r.to_attempt.is_none_or(|t| ended <= t)
            })
            .map_or_else(
                || self.delay_before(ended + 1),
                |r| Duration::minutes(i64::from(r.delay_min)),
            )
    }
}

/// What becomes of a lead once an attempt is concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum LeadDecision {
    /// Dial again at `at` (UTC).
    Redial {
        /// Next attempt time.
        at: DateTime<Utc>,
    },
    /// Finished for good.
    Done {
        /// Why, for operators.
        reason: String,
    },
    /// Not dialable until an operator acts (no time zone, window never opens).
    Park {
        /// Why, for operators.
        reason: String,
    },
}

/// Decides a lead's fate after an attempt ended with `disposition` at `ended_at`.
///
/// `rules.history` must already include the attempt just concluded; `recent` lists the
/// dispositions of the lead's attempts, newest last, including this one (for the repeat
/// rule). `callback_at`, when the disposition asks for a callback, is honoured, or moved to
/// the next allowed instant. Terminal dispositions end the lead; reaching `max_total` ends
/// it; a repeat limit ends or parks it; otherwise the next attempt waits the policy's delay
/// and then the first instant every rule allows.
pub fn decide_after_attempt(
    catalog: &DispositionCatalog,
    rules: &LeadRules<'_>,
    disposition: &Disposition,
    recent: &[Disposition],
    ended_at: DateTime<Utc>,
    callback_at: Option<DateTime<Utc>>,
) -> LeadDecision {
    let flags = catalog.flags(disposition);
    if flags.terminal {
        return LeadDecision::Done {
            reason: format!("terminal disposition {disposition}"),
        };
    }
    let policy = &rules.campaign.redial;
    let attempts = rules.history.len() as u32;
    let mut earliest = match callback_at.filter(|_| flags.callback) {
        Some(cb) => cb.max(ended_at),
        None => ended_at + policy.delay_after(attempts.max(1), disposition),
    };
    if let Some(limit) = &policy.repeat_limit {
        let n = limit.in_a_row as usize;
        let repeated = recent.len() >= n
            && recent[recent.len() - n..]
                .iter()
                .all(|d| limit.dispositions.contains(d));
        if repeated {
            match limit.action {
                RepeatAction::BadNumber => {
                    return LeadDecision::Done {
                        reason: format!(
                            "{n} attempts in a row ended {disposition}: treated as BAD_NUMBER"
                        ),
                    }
                }
                RepeatAction::ParkDays { days } => {
                    earliest = earliest.max(ended_at + Duration::days(i64::from(days)));
                }
            }
        }
    }
    match rules.next_allowed(earliest) {
        Ok(at) => LeadDecision::Redial { at },
        Err(Block::TotalCap { count, limit }) => LeadDecision::Done {
            reason: format!(
                "attempt limit reached ({count} of {limit}), last disposition {disposition}"
            ),
        },
        Err(block) => LeadDecision::Park {
            reason: block.to_string(),
        },
    }
}
