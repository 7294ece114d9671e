//! Why a lead may not be dialed at an instant, with each rule's source.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::compliance::StateBlock;

use super::{FEDERAL_HOURS_SOURCE, REG_F_SOURCE};

/// Why a lead may not be dialed at an instant. [`Block::source`] names the rule's source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Block {
    /// No candidate time zone: no explicit zone, no zone for the number or the state, and
    /// the campaign sets no fallback zone.
    NoTimeZone,
    /// Outside the federal hours (08:00–21:00) in this zone.
    FederalHours {
        /// The zone.
        zone: Tz,
    },
    /// Outside the campaign's calling window in this zone.
    OutsideWindow {
        /// The zone whose window is closed.
        zone: Tz,
    },
    /// A state rule blocks the call in this zone's local time.
    State {
        /// The zone whose local time was checked.
        zone: Tz,
        /// The state rule.
        block: StateBlock,
    },
    /// A US federal holiday and the campaign does not call on them.
    FederalHoliday {
        /// The zone whose local date is the holiday.
        zone: Tz,
        /// The holiday.
        name: String,
    },
    /// A campaign blackout date.
    Blackout {
        /// The zone whose local date is blacked out.
        zone: Tz,
        /// The date.
        date: NaiveDate,
    },
    /// The per-local-day cap is reached in this zone's day.
    DailyCap {
        /// The zone whose local day is full.
        zone: Tz,
        /// Attempts already in that local day.
        count: u32,
        /// The cap.
        limit: u32,
    },
    /// The total cap is reached.
    TotalCap {
        /// Attempts so far.
        count: u32,
        /// The cap.
        limit: u32,
    },
    /// A rolling cap on the number (state or campaign) is reached.
    RollingCap {
        /// Calls to the number within the window.
        count: u32,
        /// The cap.
        limit: u32,
        /// The window, hours.
        hours: u32,
        /// Where the cap comes from.
        source: String,
    },
    /// Regulation F's 7 calls in 7 days is reached for this lead.
    SevenInSeven {
        /// Calls in the last 7 days.
        count: u32,
    },
    /// Too soon after the last call to the number.
    MinGap {
        /// The last call, UTC.
        last: DateTime<Utc>,
        /// The gap, minutes.
        gap_min: u32,
    },
    /// The number is on a do-not-call list.
    Dnc {
        /// Which lists.
        lists: Vec<String>,
    },
    /// No allowed instant within a year (a window that never opens, rules that never agree).
    NeverOpen,
}

impl Block {
    /// Where the rule comes from (statute, data file entry, campaign setting).
    pub fn source(&self) -> String {
        match self {
            Block::NoTimeZone => {
                "outdial: a lead is dialed only when its local time is known".into()
            }
            Block::FederalHours { .. } => FEDERAL_HOURS_SOURCE.into(),
            Block::OutsideWindow { .. } => "campaign calling_window".into(),
            Block::State { block, .. } => block.source.clone(),
            Block::FederalHoliday { .. } => {
                "campaign no_calls_on_federal_holidays; 5 U.S.C. 6103".into()
            }
            Block::Blackout { .. } => "campaign blackout_dates".into(),
            Block::DailyCap { .. } => "campaign redial.max_per_local_day".into(),
            Block::TotalCap { .. } => "campaign redial.max_total".into(),
            Block::RollingCap { source, .. } => source.clone(),
            Block::SevenInSeven { .. } => REG_F_SOURCE.into(),
            Block::MinGap { .. } => "campaign caps.min_gap_min".into(),
            Block::Dnc { .. } => "do-not-call lists (47 CFR 64.1200(c)(2), (d))".into(),
            Block::NeverOpen => "outdial: search horizon of 366 days".into(),
        }
    }
}

impl std::fmt::Display for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Block::NoTimeZone => f.write_str("no time zone known for the lead (no explicit zone, no zone for the number or state, no campaign fallback)"),
            Block::FederalHours { zone } => write!(f, "outside federal calling hours (08:00-21:00) in {zone}"),
            Block::OutsideWindow { zone } => write!(f, "outside the calling window in {zone}"),
            Block::State { zone, block } => write!(f, "{block} (in {zone})"),
            Block::FederalHoliday { zone, name } => write!(f, "federal holiday in {zone}: {name}"),
            Block::Blackout { zone, date } => write!(f, "campaign blackout date {date} in {zone}"),
            Block::DailyCap { zone, count, limit } => {
                write!(f, "daily cap reached in {zone}: {count} of {limit} attempts this local day")
            }
            Block::TotalCap { count, limit } => write!(f, "total cap reached: {count} of {limit} attempts"),
            Block::RollingCap { count, limit, hours, source } => {
                write!(f, "{count} of {limit} calls to this number in the last {hours} h ({source})")
            }
            Block::SevenInSeven { count } => write!(f, "{count} of 7 calls in the last 7 days (Regulation F)"),
            Block::MinGap { last, gap_min } => write!(f, "less than {gap_min} min since the last call to this number at {last}"),
            Block::Dnc { lists } => write!(f, "on do-not-call list(s): {}", lists.join(", ")),
            Block::NeverOpen => f.write_str("no allowed instant within a year"),
        }
    }
}
