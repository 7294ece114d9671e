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
    /// The rule's code, as serialised in the `rule` tag: `no_time_zone`, `federal_hours`,
    /// `outside_window`, `state`, `federal_holiday`, `blackout`, `daily_cap`, `total_cap`,
    /// `rolling_cap`, `seven_in_seven`, `min_gap`, `dnc`, `never_open`.
    pub fn rule(&self) -> &'static str {
        match self {
            Block::NoTimeZone => "no_time_zone",
            Block::FederalHours { .. } => "federal_hours",
            Block::OutsideWindow { .. } => "outside_window",
            Block::State { .. } => "state",
            Block::FederalHoliday { .. } => "federal_holiday",
            Block::Blackout { .. } => "blackout",
            Block::DailyCap { .. } => "daily_cap",
            Block::TotalCap { .. } => "total_cap",
            Block::RollingCap { .. } => "rolling_cap",
            Block::SevenInSeven { .. } => "seven_in_seven",
            Block::MinGap { .. } => "min_gap",
            Block::Dnc { .. } => "dnc",
            Block::NeverOpen => "never_open",
        }
    }

    /// Reads back the rule code and zone of a block's text (its `Display`, as the event log
    /// stores a deferral's reason): `("other", None)` for text no block writes.
    pub fn rule_of_text(text: &str) -> (&'static str, Option<String>) {
        let t = text.trim();
        let zone_after = |prefix: &str| {
            t.strip_prefix(prefix)
                .map(|rest| rest.split([':', ' ']).next().unwrap_or("").to_owned())
        };
        let prefixed: [(&str, &'static str); 6] = [
            (
                "outside federal calling hours (08:00-21:00) in ",
                "federal_hours",
            ),
            ("outside the calling window in ", "outside_window"),
            ("federal holiday in ", "federal_holiday"),
            ("daily cap reached in ", "daily_cap"),
            ("campaign blackout date ", "blackout"),
            ("total cap reached", "total_cap"),
        ];
        for (prefix, rule) in prefixed {
            if t.starts_with(prefix) {
                let zone = match rule {
                    "blackout" => t.rsplit(" in ").next().map(str::to_owned),
                    "total_cap" => None,
                    _ => zone_after(prefix),
                };
                return (rule, zone);
            }
        }
        if t.starts_with("no time zone known") {
            ("no_time_zone", None)
        } else if t.contains(" calls to this number in the last ") {
            ("rolling_cap", None)
        } else if t.contains(" of 7 calls in the last 7 days") {
            ("seven_in_seven", None)
        } else if t.starts_with("less than ") && t.contains(" since the last call") {
            ("min_gap", None)
        } else if t.starts_with("on do-not-call list") {
            ("dnc", None)
        } else if t.starts_with("no allowed instant within a year") {
            ("never_open", None)
        } else if let Some(zone) = t
            .strip_suffix(')')
            .and_then(|x| x.rsplit_once(" (in "))
            .map(|(_, z)| z.to_owned())
        {
            ("state", Some(zone))
        } else {
            ("other", None)
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::StateBlockReason;
    use chrono::Weekday;
    use chrono_tz::America::{Chicago, New_York};

    #[test]
    fn every_block_text_reads_back_as_its_rule_and_zone() {
        let state = StateBlock {
            state: "FL".into(),
            reason: StateBlockReason::NoCallsOnDay {
                weekday: Weekday::Sun,
            },
            source: "Fla. Stat. 501.616".into(),
        };
        let blocks = [
            (Block::NoTimeZone, None),
            (Block::FederalHours { zone: New_York }, Some(New_York)),
            (Block::OutsideWindow { zone: Chicago }, Some(Chicago)),
            (
                Block::State {
                    zone: New_York,
                    block: state,
                },
                Some(New_York),
            ),
            (
                Block::FederalHoliday {
                    zone: Chicago,
                    name: "Independence Day".into(),
                },
                Some(Chicago),
            ),
            (
                Block::Blackout {
                    zone: Chicago,
                    date: NaiveDate::from_ymd_opt(2026, 7, 3).unwrap(),
                },
                Some(Chicago),
            ),
            (
                Block::DailyCap {
                    zone: New_York,
                    count: 3,
                    limit: 3,
                },
                Some(New_York),
            ),
            (Block::TotalCap { count: 8, limit: 8 }, None),
            (
                Block::RollingCap {
                    count: 3,
                    limit: 3,
                    hours: 24,
                    source: "FL".into(),
                },
                None,
            ),
            (Block::SevenInSeven { count: 7 }, None),
            (
                Block::MinGap {
                    last: DateTime::parse_from_rfc3339("2026-01-05T15:00:00Z")
                        .unwrap()
                        .with_timezone(&Utc),
                    gap_min: 30,
                },
                None,
            ),
            (
                Block::Dnc {
                    lists: vec!["internal".into()],
                },
                None,
            ),
            (Block::NeverOpen, None),
        ];
        for (b, zone) in blocks {
            let tag = serde_json::to_value(&b).unwrap()["rule"].clone();
            assert_eq!(tag, b.rule(), "rule() is the serde tag");
            assert_eq!(
                Block::rule_of_text(&b.to_string()),
                (b.rule(), zone.map(|z| z.name().to_owned())),
                "{b}"
            );
        }
        assert_eq!(Block::rule_of_text("operator: hold"), ("other", None));
    }
}
