//! The state-rules layer of the compliance engine: pure, data-driven decisions about US state
//! calling rules stricter than the federal ones.
//!
//! - [`rules`]: the versioned data file (`data/state-rules.toml`, embedded) with one entry per
//!   state — calling hours per weekday, Sunday and holiday bans, the rolling 24-hour cap per
//!   number — each citing its `source`; operator overrides are merged on top.
//! - [`holidays`]: US federal holidays computed from 5 U.S.C. § 6103, with the observed-date
//!   rule.
//! - This module: the evaluation API the engine calls — [`state_blocks`], [`next_state_open`],
//!   [`rolling_cap`] — and the federal baseline [`FEDERAL_HOURS`].
//!
//! **Time.** Every function here takes the called party's **local wall-clock time**
//! ([`NaiveDateTime`], no zone, never UTC). The caller converts the UTC instant into each
//! candidate time zone of the lead (see [`crate::schedule::candidate_zones`]) and asks once
//! per zone; a call is allowed only if it is allowed in every zone. Nothing here reads a clock.
//!
//! **Scope.** These functions answer for the *state* rules only. The federal hours
//! ([`FEDERAL_HOURS`]), campaign windows, blackout dates, DNC lists and the counting of
//! attempts for caps are applied by the caller on top. A state with no entry in the rules has
//! no state restriction.
//!
//! The data is a starting point that counsel must confirm (see the header of the data file).

pub mod holidays;
pub mod rules;

use std::fmt;

use chrono::{Datelike, Duration, NaiveDateTime, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

pub use holidays::{federal_holidays, is_federal_holiday, observed_date};
pub use rules::{DayHours, HolidayRule, RuleFileError, StateRule, StateRules, WeekHours};

/// Federal calling hours, every day: 08:00 (inclusive) to 21:00 (exclusive) in the called
/// party's local time. Always applies, with or without a state rule. Source:
/// [`FEDERAL_HOURS_SOURCE`].
pub const FEDERAL_HOURS: DayHours = DayHours::Window {
    start: hm(8, 0),
    end: hm(21, 0),
};

/// Source of [`FEDERAL_HOURS`]: the TCPA rule and the Telemarketing Sales Rule.
pub const FEDERAL_HOURS_SOURCE: &str = "47 CFR 64.1200(c)(1); TSR 16 CFR 310.4(c)";

/// The window, in hours, of every state's rolling per-number cap
/// ([`StateRule::max_calls_per_24h_per_number`]).
pub const ROLLING_CAP_HOURS: u32 = 24;

/// How many days after the given one [`next_state_open`] searches.
pub const NEXT_OPEN_SEARCH_DAYS: i64 = 14;

const fn hm(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(t) => t,
        None => panic!("invalid constant time"),
    }
}

/// A state rule that blocks a call at a local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateBlock {
    /// The state code (`"FL"`), as found in the rules.
    pub state: String,
    /// Which rule blocks.
    pub reason: StateBlockReason,
    /// The rule's source (statute / URL) from the data file: [`StateRule::source`], or
    /// [`StateRule::holiday_source`] for a holiday.
    pub source: String,
}

/// Why a state rule blocks a call. Times are the called party's local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum StateBlockReason {
    /// The local time is outside the state's hours for that weekday.
    OutsideHours {
        /// The local weekday.
        weekday: Weekday,
        /// Local opening time that day (inclusive).
        start: NaiveTime,
        /// Local closing time that day (exclusive).
        end: NaiveTime,
    },
    /// The state allows no calls at all on this weekday (e.g. the Sunday ban).
    NoCallsOnDay {
        /// The local weekday.
        weekday: Weekday,
    },
    /// The local date is a holiday on which the state bans calls.
    StateHoliday {
        /// The holiday's name.
        name: String,
    },
}

impl fmt::Display for StateBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = &self.state;
        match &self.reason {
            StateBlockReason::OutsideHours {
                weekday,
                start,
                end,
            } => write!(
                f,
                "{state}: outside state calling hours ({weekday} {}–{} local)",
                start.format("%H:%M"),
                end.format("%H:%M")
            )?,
            StateBlockReason::NoCallsOnDay { weekday } => {
                write!(f, "{state}: no calls on {weekday}")?
            }
            StateBlockReason::StateHoliday { name } => {
                write!(f, "{state}: no calls on a state holiday ({name})")?
            }
        }
        write!(f, " [{}]", self.source)
    }
}

/// Every state rule of `state` that blocks a call at local time `local` in that state; empty
/// means the state's own rules allow it (the federal hours still apply: see
/// [`federal_hours_allow`]).
///
/// `state` is a two-letter code in any case; a state without an entry returns no block.
/// Checked, in this order: the weekday's hours ([`StateBlockReason::NoCallsOnDay`] when the
/// day has no calls, else [`StateBlockReason::OutsideHours`]), then the holiday ban
/// ([`StateBlockReason::StateHoliday`], matching a holiday's actual or observed date as its
/// [`HolidayRule`] says). Each block carries the rule's source.
pub fn state_blocks(rules: &StateRules, state: &str, local: NaiveDateTime) -> Vec<StateBlock> {
    let Some((code, rule)) = lookup(rules, state) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let weekday = local.weekday();
    match rule.hours.get(weekday) {
        Some(DayHours::Closed) => out.push(StateBlock {
            state: code.to_owned(),
            reason: StateBlockReason::NoCallsOnDay { weekday },
            source: rule.source.clone(),
        }),
        Some(&DayHours::Window { start, end })
            if !(start <= local.time() && local.time() < end) =>
        {
            out.push(StateBlock {
                state: code.to_owned(),
                reason: StateBlockReason::OutsideHours {
                    weekday,
                    start,
                    end,
                },
                source: rule.source.clone(),
            })
        }
        _ => {}
    }
    if let Some(name) = rule.banned_holiday(local.date()) {
        out.push(StateBlock {
            state: code.to_owned(),
            reason: StateBlockReason::StateHoliday { name },
            source: rule.holiday_source().to_owned(),
        });
    }
    out
}

/// The state's rolling cap per phone number as `(max calls, window in hours)` — today always
/// a 24-hour window ([`ROLLING_CAP_HOURS`]) — or `None` when the state sets none.
///
/// The caller counts every attempt to the number (across campaigns, including in-flight and
/// unknown ones) that started within the window before the candidate dial; the call is
/// allowed while that count is below `max`. When [`StateRule::cap_counts_texts`] is set, text
/// messages to the number count too.
pub fn rolling_cap(rules: &StateRules, state: &str) -> Option<(u32, u32)> {
    let (_, rule) = lookup(rules, state)?;
    rule.max_calls_per_24h_per_number
        .map(|max| (max, ROLLING_CAP_HOURS))
}

/// The earliest local time `>= local` at which the state's own rules (weekday hours, no-call
/// days, holidays) allow a call — exactly the first time for which [`state_blocks`] is empty.
///
/// Searches the day of `local` and the [`NEXT_OPEN_SEARCH_DAYS`] days after it; `None` when
/// no day in that span allows a call. A state without an entry returns `Some(local)`. A day
/// without state hours opens at local midnight: apply the federal hours and campaign windows
/// on top. Local time only: converting the result to UTC (DST gaps and repeats) is the
/// caller's job.
pub fn next_state_open(
    rules: &StateRules,
    state: &str,
    local: NaiveDateTime,
) -> Option<NaiveDateTime> {
    let Some((_, rule)) = lookup(rules, state) else {
        return Some(local);
    };
    (0..=NEXT_OPEN_SEARCH_DAYS).find_map(|offset| {
        let date = local.date() + Duration::days(offset);
        let earliest = if offset == 0 {
            local
        } else {
            date.and_time(NaiveTime::MIN)
        };
        if rule.banned_holiday(date).is_some() {
            return None;
        }
        match rule.hours.get(date.weekday()) {
            None => Some(earliest),
            Some(DayHours::Closed) => None,
            Some(&DayHours::Window { start, end }) => {
                (earliest.time() < end).then(|| earliest.max(date.and_time(start)))
            }
        }
    })
}

/// True when local time `local` is inside the federal calling hours ([`FEDERAL_HOURS`]).
pub fn federal_hours_allow(local: NaiveDateTime) -> bool {
    FEDERAL_HOURS.allows(local.time())
}

fn lookup<'r>(rules: &'r StateRules, state: &str) -> Option<(&'r str, &'r StateRule)> {
    let code = state.trim().to_ascii_uppercase();
    rules
        .states
        .get_key_value(code.as_str())
        .map(|(k, v)| (k.as_str(), v))
}

#[cfg(test)]
mod tests;
